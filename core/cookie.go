package core

import (
	"fmt"
	"strings"
	"time"

	"luaproxy/core/config"
)

// Cookie-based persistence (manual 4.2 "cookie", 5.2 server "cookie"): a
// request carrying the backend's cookie with a server's value goes to that
// server; the response gets the cookie as the mode says. The steps follow
// HAProxy 2.6's http_manage_client_side_cookies (request, after the
// http-request rules), http_manage_server_side_cookies and the insertion
// in http_process_res_common (response, after the http-response rules).

// The cookie modes.
const (
	ckRewrite = 1 + iota // the server's own cookie value is rewritten
	ckInsert             // the proxy adds its own cookie
	ckPrefix             // the server value prefixes the application's cookie
)

// cookieConf is a proxy's "cookie" line.
type cookieConf struct {
	Name string
	Mode int // ckRewrite (the default), ckInsert or ckPrefix
	// Indirect removes the cookie from requests (insert mode) and the
	// server's one from responses to a request that had it.
	Indirect, NoCache, PostOnly, Preserve, HTTPOnly, Secure, Dynamic bool
	// Domain is the "domain" values as HAProxy joins them: "a; domain=b".
	Domain string
	// MaxIdle and MaxLife are parsed, not applied (no date in the cookie).
	MaxIdle, MaxLife time.Duration
	// Attrs is the "attr" values joined with "; ".
	Attrs string
}

// Request cookie states (TX_CK_*), as the 3rd character of %tsc prints
// them, and response ones (TX_SCK_*), the 4th.
const (
	ckNone, ckInvalid, ckDown, ckValid, ckExpired, ckOld, ckUnused      = 'N', 'I', 'D', 'V', 'E', 'O', 'U'
	sckNone, sckFound, sckDeleted, sckInserted, sckReplaced, sckUpdated = 'N', 'P', 'D', 'I', 'R', 'U'
)

// cookieTxn is a transaction's cookie persistence state.
type cookieTxn struct {
	ck, sck byte    // the states above; 0 before the backend's cookie step
	srv     *Server // the server the request's cookie designated (SF_DIRECT)
	// cacheable is TX_CACHEABLE: a cache might keep the response.
	cacheable bool
}

// parseCookie parses "cookie <name> [options]".
func (e *Engine) parseCookie(px *Proxy, l config.Line) error {
	args := l.Args
	if px.Kind != "defaults" && px.Cap&CapBE == 0 {
		e.warn(l.Warnf("'%s' ignored because %s '%s' has no backend capability.", args[0], px.Kind, px.Name))
		return nil
	}
	if len(args) < 2 || args[1] == "" {
		return l.Errorf("'%s' expects <cookie_name> as argument.", args[0])
	}
	// HAProxy compat: some messages have no space before the colon.
	tight := func(format string, a ...any) error {
		return &config.Error{File: l.File, Msg: fmt.Sprintf("parsing [%s:%d]: ", l.File, l.Num) + fmt.Sprintf(format, a...)}
	}
	c := &cookieConf{Name: args[1]}
	var modes int
	var attrs []string
	for i := 2; i < len(args); i++ {
		switch a := args[i]; a {
		case "rewrite":
			c.Mode, modes = ckRewrite, modes|1
		case "insert":
			c.Mode, modes = ckInsert, modes|2
		case "prefix":
			c.Mode, modes = ckPrefix, modes|4
		case "indirect":
			c.Indirect = true
		case "nocache":
			c.NoCache = true
		case "postonly":
			c.PostOnly = true
		case "preserve":
			c.Preserve = true
		case "httponly":
			c.HTTPOnly = true
		case "secure":
			c.Secure = true
		case "dynamic":
			c.Dynamic = true
			e.warn(l.Warnf("'cookie' : option 'dynamic' is not supported yet and is ignored."))
		case "domain":
			if i+1 >= len(args) || args[i+1] == "" {
				return tight("'domain' expects <domain> as argument.")
			}
			i++
			d := args[i]
			if !strings.Contains(d, ".") {
				e.warn(&config.Error{File: l.File, Warning: true, Level: config.LevelWarning,
					Msg: fmt.Sprintf("parsing [%s:%d]: domain '%s' contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3).", l.File, l.Num, d)})
			}
			if c.Domain != "" {
				d = c.Domain + "; domain=" + d
			}
			c.Domain = d
		case "maxidle", "maxlife":
			if i+1 >= len(args) || args[i+1] == "" {
				what := "idletime"
				if a == "maxlife" {
					what = "lifetime"
				}
				return tight("'%s' expects <%s> in seconds as argument.", a, what)
			}
			i++
			d, err := config.ParseTime(args[i], time.Second)
			if err != nil {
				bad := args[i]
				if j := strings.IndexFunc(bad, func(r rune) bool { return r < '0' || r > '9' }); j >= 0 {
					bad = bad[j : j+1]
				}
				return tight("unexpected character '%s' in argument to <%s>.", bad, a)
			}
			if a == "maxidle" {
				c.MaxIdle = d
			} else {
				c.MaxLife = d
			}
			if d > 0 {
				e.warn(l.Warnf("'cookie' : option '%s' is not supported yet and is ignored.", a))
			}
		case "attr":
			if i+1 >= len(args) || args[i+1] == "" {
				return tight("'attr' expects <value> as argument.")
			}
			i++
			for _, r := range []byte(args[i]) {
				if r < 0x20 || r == 0x7f || r == ';' {
					return tight("character '%%x%02X' is not permitted in attribute value.", r)
				}
			}
			attrs = append(attrs, args[i])
		default:
			return l.Errorf("'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.")
		}
	}
	c.Attrs = strings.Join(attrs, "; ")
	if modes&1 != 0 && c.Indirect {
		return l.Errorf("cookie 'rewrite' and 'indirect' modes are incompatible.")
	}
	if modes&(modes-1) != 0 {
		return l.Errorf("cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.")
	}
	if c.Mode == 0 {
		c.Mode = ckRewrite
	}
	if c.Preserve && c.Mode != ckInsert && !c.Indirect {
		return l.Errorf("cookie 'preserve' requires at least 'insert' or 'indirect'.")
	}
	px.cookie = c
	return nil
}

// cookieActive returns be's cookie setting when it applies (HTTP mode).
func cookieActive(be *Proxy) *cookieConf {
	if be == nil || be.Mode != "http" {
		return nil
	}
	return be.cookie
}

// cookieRequest looks the backend's cookie up in the request's Cookie
// headers, returns the server it designates (nil: load balancing) and
// removes from the request what the mode says (the "srv~" prefix; the
// whole cookie with insert indirect).
func (s *Stream) cookieRequest(be *Proxy, tx *HTTPTxn) *Server {
	c := cookieActive(be)
	if c == nil {
		return nil
	}
	tx.ck.ck, tx.ck.sck = ckNone, sckNone
	req := &tx.Req
	var assigned *Server
	for hi := 0; hi < len(req.Headers); hi++ {
		h := &req.Headers[hi]
		if !strings.EqualFold(h.Name, "Cookie") {
			continue
		}
		parts := strings.Split(h.Value, ";")
		kept := parts[:0]
		changed := false
		for _, p := range parts {
			name, val, _ := strings.Cut(p, "=")
			if strings.TrimSpace(name) != c.Name {
				kept = append(kept, p)
				continue
			}
			val = strings.TrimSpace(val)
			delim := len(val)
			sep := byte('|')
			if c.Mode == ckPrefix {
				sep = '~'
			}
			if i := strings.IndexByte(val, sep); i >= 0 {
				delim = i
			}
			// HAProxy compat: once a cookie designated a server, the
			// next ones are not looked at (the state stays).
			if id := val[:delim]; assigned == nil {
				found := cookieServer(be, id, tx)
				if found == nil && tx.ck.ck != ckDown && tx.ck.ck != ckExpired && tx.ck.ck != ckOld {
					tx.ck.ck = ckInvalid
				}
				assigned = found
			}
			switch {
			case c.Mode == ckPrefix && delim < len(val):
				eq := strings.IndexByte(p, '=')
				rest := strings.TrimLeft(p[eq+1:], " \t")
				p = p[:len(p)-len(rest)] + rest[delim+1:]
				kept = append(kept, p)
				changed = true
			case c.Mode == ckInsert && c.Indirect:
				changed = true
			default:
				kept = append(kept, p)
			}
		}
		if !changed {
			continue
		}
		if len(kept) == 0 {
			req.Headers = append(req.Headers[:hi], req.Headers[hi+1:]...)
			hi--
			continue
		}
		h.Value = strings.TrimLeft(strings.Join(kept, ";"), " \t")
	}
	tx.ck.srv = assigned
	return assigned
}

// cookieServer returns the server of be whose cookie is id, when it is
// up or "option persist" is set, and records the cookie's state. An
// empty id designates none.
func cookieServer(be *Proxy, id string, tx *HTTPTxn) *Server {
	if id == "" {
		return nil
	}
	for _, srv := range be.servers() {
		if srv.Cookie == "" || srv.Cookie != id {
			continue
		}
		up := srv.IsUp()
		if up || be.Options.Persist {
			tx.ck.ck = ckDown
			if up {
				tx.ck.ck = ckValid
			}
			return srv
		}
		tx.ck.ck = ckDown // and a later server may have the same cookie
	}
	return nil
}

// cookieResponse applies the backend's cookie to the response of srv
// (nil: none): the server's Set-Cookie of the same name is kept, removed
// or rewritten as the mode says, and insert mode adds the proxy's.
func (s *Stream) cookieResponse(be *Proxy, tx *HTTPTxn, srv *Server) {
	c := cookieActive(be)
	if c == nil || tx.ck.ck == 0 {
		return
	}
	res := &tx.Res
	direct := tx.ck.srv != nil && tx.ck.srv == srv
	kept := res.Headers[:0]
	for _, h := range res.Headers {
		if !strings.EqualFold(h.Name, "Set-Cookie") {
			kept = append(kept, h)
			continue
		}
		first, _, _ := strings.Cut(h.Value, ";")
		name, _, hasEq := strings.Cut(first, "=")
		if !hasEq || strings.TrimSpace(name) != c.Name {
			kept = append(kept, h)
			continue
		}
		tx.ck.sck = sckFound
		eq := strings.IndexByte(h.Value, '=') + 1
		for eq < len(h.Value) && (h.Value[eq] == ' ' || h.Value[eq] == '\t') {
			eq++
		}
		vend := len(first)
		for vend > eq && (first[vend-1] == ' ' || first[vend-1] == '\t') {
			vend--
		}
		switch {
		case c.Preserve:
		case srv != nil && c.Mode == ckInsert, direct && c.Indirect:
			tx.ck.sck = sckDeleted
			continue
		case srv != nil && srv.Cookie != "" && c.Mode == ckRewrite:
			h.Value = h.Value[:eq] + srv.Cookie + h.Value[vend:]
			tx.ck.sck = sckReplaced
		case srv != nil && srv.Cookie != "" && c.Mode == ckPrefix:
			h.Value = h.Value[:eq] + srv.Cookie + "~" + h.Value[eq:]
			tx.ck.sck = sckReplaced
		}
		kept = append(kept, h)
	}
	clear(res.Headers[len(kept):])
	res.Headers = kept
	if c.NoCache {
		tx.ck.cacheable = responseCacheable(tx)
	}
	if srv == nil || c.Mode != ckInsert || tx.ck.sck == sckFound && c.Preserve || direct ||
		c.PostOnly && tx.Req.Method != "POST" {
		return
	}
	var b strings.Builder
	if srv.Cookie == "" {
		b.WriteString(c.Name + "=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/")
	} else {
		b.WriteString(c.Name + "=" + srv.Cookie + "; path=/")
	}
	if c.Domain != "" {
		b.WriteString("; domain=" + c.Domain)
	}
	if c.HTTPOnly {
		b.WriteString("; HttpOnly")
	}
	if c.Secure {
		b.WriteString("; Secure")
	}
	if c.Attrs != "" {
		b.WriteString("; " + c.Attrs)
	}
	res.Add("Set-Cookie", b.String())
	tx.ck.sck = sckInserted
	if c.NoCache && tx.ck.cacheable {
		tx.ck.cacheable = false
		res.Add("Cache-control", "private")
	}
}

// responseCacheable is HAProxy's TX_CACHEABLE when "nocache" looks at
// it. HAProxy compat: 2.6.12 was seen never to add "Cache-control:
// private" (GET or POST, 200 or 404, with or without "Cache-Control:
// public" from the server: test/cookie_diff_test.go), so the response is
// never taken as cacheable here.
func responseCacheable(*HTTPTxn) bool { return false }

// cookieTermChars returns the 3rd and 4th characters of %tsc: the
// request's and the response's cookie states, "--" when the backend has
// no cookie.
func cookieTermChars(s *Stream) (byte, byte) {
	tx := s.HTTP
	if tx == nil || cookieActive(s.Backend) == nil || tx.ck.ck == 0 {
		if tx != nil && cookieActive(s.Backend) != nil {
			return ckNone, sckNone
		}
		return '-', '-'
	}
	ck := tx.ck.ck
	if ck == ckValid && s.fx.redispatched {
		// HAProxy compat: leaving the cookie's server for another
		// (option redispatch) marks the cookie as one of a DOWN server.
		ck = ckDown
	}
	return ck, tx.ck.sck
}

// checkCookie warns, as HAProxy does, that the cookie of a TCP backend
// and its servers' cookies are ignored.
func (e *Engine) checkCookie(px *Proxy) {
	if px.Mode == "http" {
		return
	}
	if px.cookie != nil {
		e.warn(&config.Error{Warning: true, Msg: fmt.Sprintf("cookie will be ignored for %s '%s' (needs 'mode http').", px.Kind, px.Name)})
	}
	for _, srv := range px.Servers {
		if srv.Cookie != "" {
			e.warn(&config.Error{Warning: true, Msg: fmt.Sprintf("%s '%s' : ignoring cookie for server '%s' as HTTP mode is disabled.", px.Kind, px.Name, srv.Name)})
		}
	}
}
