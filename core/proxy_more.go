package core

import (
	"strconv"
	"strings"

	"luaproxy/core/config"
)

// Proxy keywords common in existing configurations that have a small,
// self-contained effect: the legacy "redirect" rules,
// "http-send-name-header", "server-template", and the informational
// "description", "fullconn" and "id".

// proxyMore holds their settings (Proxy.more).
type proxyMore struct {
	// redirects are the legacy "redirect" rules, run after the
	// http-request rules of their proxy (as HAProxy does).
	redirects []*httpRule
	// sendNameHdr is "http-send-name-header": the request sent to a
	// server carries the server's name in it.
	sendNameHdr string
	// description and fullconn are kept for the record (stats); fullconn
	// only matters with minconn, which luaproxy does not apply.
	description string
	fullconn    int
	// explicitID is the "id" keyword's value (0: numbered automatically).
	explicitID int
}

// parseMoreProxyKeyword handles the keywords above; false when kw is
// none of them.
func (e *Engine) parseMoreProxyKeyword(px *Proxy, l config.Line) (bool, error) {
	args := l.Args
	kw := args[0]
	isDefaults := px.Kind == "defaults"
	m := &px.more
	switch kw {
	case "redirect":
		if isDefaults {
			return true, l.Errorf("'%s' not allowed in 'defaults' section", kw)
		}
		// the same syntax as "http-request redirect"
		rl := l
		rl.Args = append([]string{"http-request"}, args...)
		rules := px.HTTPRules.req
		if err := e.parseHTTPRule(px, rl); err != nil {
			return true, err
		}
		r := px.HTTPRules.req[len(rules)]
		r.line = l
		px.HTTPRules.req = rules
		m.redirects = append(m.redirects, r)
	case "http-send-name-header":
		if !isDefaults && px.Cap&CapBE == 0 {
			e.warn(l.Warnf("'%s' ignored because %s '%s' has no backend capability.", kw, px.Kind, px.Name))
			return true, nil
		}
		if len(args) < 2 || args[1] == "" {
			return true, l.Errorf("'%s' requires a header string.", kw)
		}
		name := args[1]
		switch strings.ToLower(name) {
		case "host", "content-length", "transfer-encoding", "connection":
			return true, l.Errorf("The header name '%s' is not allowed.", name)
		}
		m.sendNameHdr = name
	case "server-template":
		return true, e.parseServerTemplate(px, l)
	case "description":
		m.description = strings.Join(args[1:], " ")
	case "fullconn":
		if len(args) != 2 {
			return true, l.Errorf("'%s' expects an integer argument.", kw)
		}
		m.fullconn = atol(args[1]) // HAProxy compat: atol, no error
	case "id":
		if isDefaults {
			return true, l.Errorf("'%s' not allowed in 'defaults' section", kw)
		}
		if len(args) != 2 {
			return true, l.TightErrorf("'%s' expects an integer argument.", kw)
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n <= 0 {
			return true, l.TightErrorf("custom id has to be > 0.")
		}
		m.explicitID = n
	default:
		return false, nil
	}
	return true, nil
}

// parseServerTemplate handles "server-template <prefix> <num | range>
// <fqdn>[:<port>] [params*]": servers <prefix>1..<prefix>N (or over the
// range) with one address and the same options, as HAProxy creates them
// for service discovery (luaproxy resolves the name when it connects).
func (e *Engine) parseServerTemplate(px *Proxy, l config.Line) error {
	args := l.Args
	if px.Kind == "defaults" || px.Cap&CapBE == 0 {
		return l.Errorf("'server-template' not allowed in '%s' section", px.Kind)
	}
	if len(args) < 4 {
		return l.Errorf("'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments.")
	}
	lo, hi := 1, 0
	if a, b, ok := strings.Cut(args[2], "-"); ok {
		x, err1 := strconv.Atoi(a)
		y, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || x < 1 || y < x {
			return l.Errorf("Wrong server-template number or range arg '%s'.", args[2])
		}
		lo, hi = x, y
	} else {
		n, err := strconv.Atoi(args[2])
		if err != nil || n < 1 {
			return l.Errorf("Wrong server-template number or range arg '%s'.", args[2])
		}
		hi = n
	}
	for i := lo; i <= hi; i++ {
		sl := l
		sl.Args = append([]string{"server", args[1] + strconv.Itoa(i)}, args[3:]...)
		srv, err := e.parseServer(px, sl)
		if err != nil {
			return err
		}
		px.Servers = append(px.Servers, srv)
	}
	return nil
}

// sendServerName sets the http-send-name-header of the server's backend
// on the request about to go to srv.
func sendServerName(tx *HTTPTxn, srv *Server) {
	name := srv.Proxy.more.sendNameHdr
	if name == "" {
		return
	}
	tx.Req.Del(name)
	tx.Req.Add(name, srv.Name)
}
