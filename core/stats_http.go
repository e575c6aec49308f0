package core

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"luaproxy/core/config"
	"luaproxy/netio/h1"
)

// The HTTP statistics page ("stats enable", "stats uri" ...), HAProxy
// 2.6's stats applet: a GET, HEAD or POST whose path (the URI from its
// path on, query included) starts with the stats URI is answered by the
// proxy, after the http-request rules of the proxy that has stats
// enabled (the frontend's, else the backend's once chosen). It counts as
// intercepted when the frontend's settings chose it, and is logged with
// "<STATS>" as the server, "LR" as the termination state.
//
// Modifiers follow the URI: ";csv" (the "show stat" CSV, text/plain),
// ";up" (only servers that are up), ";no-maint", ";norefresh" (no
// Refresh header), ";st=<code>" (the outcome of an admin action, shown
// on the page). Any "stats" keyword enables the page, as in HAProxy; a
// "defaults" section's stats apply to every proxy after it.
//
// "stats admin if <cond>" allows the page's POST actions (form fields
// "b", the backend's name; "s", each server; "action": ready, drain,
// maint, dhlth, ehlth, hrunn, hnolb, hdown, shutdown); they are answered
// with a 303 to "<uri>;st=<code>" (DONE, PART, NONE, ERRP, DENY without
// admin rights). The agent actions are not done (no agent checks):
// "st=NONE". Not done either: "stats http-request", the JSON output.

// statsDefaultURI is HAProxy's STATS_DEFAULT_URI.
const statsDefaultURI = "/haproxy?stats"

// statsDefaultRealm is STATS_DEFAULT_REALM.
const statsDefaultRealm = "HAProxy Statistics"

// statsConfig is a proxy's "stats" settings.
type statsConfig struct {
	uri                string
	realm              string   // "" : statsDefaultRealm
	auth               []string // "user:password", in order
	refresh            int      // seconds; 0: no Refresh header
	scope              []string // proxy names; empty: all
	hideVer            bool
	legends            bool
	node               string // "stats show-node" name; showNode set
	desc               string
	showNode, showDesc bool
	admin              []condRule // "stats admin if|unless <cond>"
}

func (c *statsConfig) clone() *statsConfig {
	d := *c
	d.auth = append([]string(nil), c.auth...)
	d.scope = append([]string(nil), c.scope...)
	d.admin = append([]condRule(nil), c.admin...)
	return &d
}

// parseProxyStats handles the "stats" keywords of a proxy section.
func (e *Engine) parseProxyStats(px *Proxy, l config.Line) error {
	args := l.Args
	if len(args) < 2 {
		return l.Errorf("'stats' expects 'admin', 'auth', 'enable', 'hide-version', 'http-request', 'realm', 'refresh', 'scope', 'show-desc', 'show-legends', 'show-node' or 'uri'.")
	}
	if px.stats == nil {
		px.stats = &statsConfig{uri: statsDefaultURI}
	}
	c := px.stats
	switch args[1] {
	case "enable":
	case "uri":
		if len(args) < 3 {
			return l.Errorf("'uri' needs an URI prefix.")
		}
		c.uri = args[2]
	case "realm":
		if len(args) < 3 {
			return l.Errorf("'realm' needs an realm name.")
		}
		c.realm = args[2]
	case "auth":
		if len(args) < 3 || !strings.Contains(args[2], ":") {
			return l.Errorf("'auth' needs a user:password account.")
		}
		c.auth = append(c.auth, args[2])
	case "refresh":
		if len(args) < 3 {
			return l.Errorf("'refresh' needs a positive interval in seconds.")
		}
		d, err := config.ParseTime(args[2], time.Second)
		if err != nil {
			return l.Errorf("'refresh' : %v", err)
		}
		c.refresh = int(d / time.Second)
	case "scope":
		if len(args) < 3 {
			return l.Errorf("'scope' needs a proxy name.")
		}
		c.scope = append(c.scope, args[2])
	case "hide-version":
		c.hideVer = true
	case "show-legends":
		c.legends = true
	case "show-node":
		c.showNode = true
		if len(args) > 2 {
			c.node = args[2]
		}
	case "show-desc":
		c.showDesc = true
		c.desc = strings.Join(args[2:], " ")
	case "admin":
		if px.Kind == "defaults" {
			return l.Errorf("'stats admin' not allowed in 'defaults' section.")
		}
		if len(args) < 3 || (args[2] != "if" && args[2] != "unless") {
			return l.Errorf("'stats admin' requires either 'if' or 'unless' followed by a condition.")
		}
		cond, err := e.parseCond(px, args[2:], l)
		if err != nil {
			return err
		}
		c.admin = append(c.admin, cond)
	case "http-request":
		return l.Errorf("'stats http-request' is not supported yet.")
	case "socket", "bind-process", "timeout", "maxconn":
		return l.Errorf("'stats %s' is only allowed in 'global' section.", args[1])
	default:
		return l.Errorf("'stats' expects 'admin', 'auth', 'enable', 'hide-version', 'http-request', 'realm', 'refresh', 'scope', 'show-desc', 'show-legends', 'show-node' or 'uri'.")
	}
	return nil
}

// finishStats checks the proxy's stats settings once the configuration
// is loaded.
func (e *Engine) finishStats(px *Proxy) error {
	c := px.stats
	if c == nil || px.Kind == "defaults" {
		return nil
	}
	if px.Mode != "http" {
		e.Log.Warning("config : 'stats' statement ignored for proxy '%s' as it requires HTTP mode.", px.Name)
		px.stats = nil
		return nil
	}
	for _, name := range c.scope {
		if name == "." {
			continue
		}
		found := false
		for _, p := range e.Proxies {
			found = found || p.Name == name
		}
		if !found {
			return fmt.Errorf("Proxy '%s': unable to find proxy '%s' for 'stats scope'.", px.Name, name)
		}
	}
	return nil
}

// statsMatch reports whether px's statistics page answers the request.
func statsMatch(px *Proxy, req *h1.Message) bool {
	c := px.stats
	if c == nil || px.Mode != "http" {
		return false
	}
	if req.Method != "GET" && req.Method != "HEAD" && req.Method != "POST" {
		return false
	}
	uri := req.URI
	if strings.HasPrefix(c.uri, "/") {
		uri = uriFromPath(uri)
	}
	return strings.HasPrefix(uri, c.uri)
}

// uriFromPath returns an absolute URI's part from its path on.
func uriFromPath(uri string) string {
	if strings.HasPrefix(uri, "/") || uri == "*" {
		return uri
	}
	if i := strings.Index(uri, "://"); i >= 0 {
		rest := uri[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			return rest[j:]
		}
		return ""
	}
	return uri
}

// statsFlags are the page's modifiers.
type statsFlags struct {
	csv, up, noMaint, noRefresh, admin bool
	st                                 string
}

// serveStats answers the request with px's statistics page and reports
// whether the client connection may go on.
func (hc *HTTPConn) serveStats(tx *HTTPTxn, px *Proxy) bool {
	s := hc.s
	c := px.stats
	x := extOf(s)
	x.applet = "<STATS>"
	x.setTerm('L', 'R')
	// HAProxy compat: the applet counts as queued and connected at once
	// (%Tw and %Tc are 0)
	now := s.now()
	x.queueAt, x.connAt = now, now
	if px == s.Frontend {
		// HAProxy compat: an applet counts as intercepted when the
		// frontend's own rules chose it
		s.Frontend.Intercepted.Add(1)
	}
	if s.Backend == nil {
		s.Backend = px
	}
	req := &tx.Req
	if len(c.auth) > 0 && !statsAuthorized(c, req) {
		realm := c.realm
		if realm == "" {
			realm = statsDefaultRealm
		}
		r := px.ErrorReply(401)
		if r.Raw == nil {
			r.Headers = append(r.Headers, h1.Header{Name: "www-authenticate", Value: `Basic realm="` + realm + `"`})
			tx.Res = h1.Message{IsResponse: true, Version: "HTTP/1.1", Status: 401, Headers: r.Headers,
				ContentLength: int64(len(r.Body))}
		}
		// HAProxy 2.6 compat: the 401 of "stats auth" is logged as 400
		// (the stats applet's transaction ends on its abort path).
		ok := hc.sendReply(tx, r)
		tx.Status = 400
		s.logHTTP(tx)
		return ok
	}
	var f statsFlags
	rest := uriFromPath(req.URI)
	if strings.HasPrefix(c.uri, "/") {
		rest = strings.TrimPrefix(rest, c.uri)
	} else {
		rest = strings.TrimPrefix(req.URI, c.uri)
	}
	for _, m := range strings.Split(rest, ";")[1:] {
		switch {
		case m == "up":
			f.up = true
		case m == "no-maint":
			f.noMaint = true
		case m == "norefresh":
			f.noRefresh = true
		case m == "csv":
			f.csv = true
		case strings.HasPrefix(m, "st="):
			f.st = m[3:]
		}
	}
	for _, a := range c.admin {
		if a.ok(s) {
			f.admin = true
			break
		}
	}
	if req.Method == "POST" {
		return hc.statsPost(tx, px, f)
	}
	var body bytes.Buffer
	if f.csv {
		hc.s.Engine.statsCSV(&body, c, f)
	} else {
		hc.s.Engine.statsHTML(&body, px, f)
	}
	hdrs := []h1.Header{{Name: "cache-control", Value: "no-cache"}}
	if f.csv {
		hdrs = append(hdrs, h1.Header{Name: "content-type", Value: "text/plain"})
	} else {
		hdrs = append(hdrs, h1.Header{Name: "content-type", Value: "text/html"})
	}
	if c.refresh > 0 && !f.noRefresh {
		hdrs = append(hdrs, h1.Header{Name: "refresh", Value: strconv.Itoa(c.refresh)})
	}
	var b []byte
	if req.Method == "HEAD" {
		b = nil
	} else {
		b = body.Bytes()
	}
	return hc.sendStatsResponse(tx, 200, "OK", hdrs, b)
}

// sendStatsResponse sends the stats applet's response: always chunked,
// as HAProxy's HTX output of an applet is (even to an HTTP/1.0 client).
func (hc *HTTPConn) sendStatsResponse(tx *HTTPTxn, status int, reason string, hdrs []h1.Header, body []byte) bool {
	s := hc.s
	req := &tx.Req
	keep := req.KeepAlive() && !s.Frontend.Options.HTTPClose && !s.Engine.Stopping()
	if !keep {
		tx.closeClient = true
	}
	res := &tx.Res
	*res = h1.Message{IsResponse: true, Version: "HTTP/1.1", Status: status, Reason: reason,
		Headers: append(res.Headers[:0], hdrs...), ContentLength: -1, Framing: h1.FramingChunked}
	tx.Status = status
	s.runAfterResponse(tx)
	// HAProxy compat: a redirect has an empty body, a HEAD gets no
	// framing at all, anything else is chunked.
	bodyless := status == 303 || req.Method == "HEAD"
	switch {
	case bodyless && !keep:
		res.Add("connection", "close")
	case bodyless:
	case !keep && req.Version == "HTTP/1.0":
		res.Add("connection", "close")
		res.Add("transfer-encoding", "chunked")
	case !keep:
		res.Add("transfer-encoding", "chunked")
		res.Add("connection", "close")
	default:
		res.Add("transfer-encoding", "chunked")
	}
	hc.dl.setWrite(s.Frontend.Timeouts.Client)
	out := h1.AppendHead(hc.buf[:0], res)
	if !bodyless {
		if len(body) > 0 {
			out = h1.AppendChunk(out, body)
		}
		out = h1.AppendLastChunk(out, nil)
	}
	hc.buf = out[:0]
	res.ContentLength = int64(len(body))
	if status == 200 {
		tx.srvTime = max(s.now().Sub(tx.start), 1)
	}
	_, err := hc.bw.Write(out)
	if err != nil {
		tx.closeClient = true
	}
	return hc.FinishService(status, tx.closeClient)
}

// statsAuthorized checks the request's Basic credentials against the
// "stats auth" accounts.
func statsAuthorized(c *statsConfig, req *h1.Message) bool {
	v, ok := req.Get("Authorization")
	if !ok {
		return false
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(v), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return false
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return false
	}
	for _, a := range c.auth {
		if a == string(dec) {
			return true
		}
	}
	return false
}

// statsInScope reports whether the page shows proxy p.
func statsInScope(c *statsConfig, owner, p *Proxy) bool {
	if len(c.scope) == 0 {
		return true
	}
	for _, n := range c.scope {
		if n == p.Name || n == "." && p == owner {
			return true
		}
	}
	return false
}

// statsRows calls fn with each line of the page, in "show stat" order.
func (e *Engine) statsRows(c *statsConfig, owner *Proxy, f statsFlags, fn func(px *Proxy, l statLine, srv *Server)) {
	now := time.Now()
	st := &e.cliState().stats
	for _, px := range e.Proxies {
		if !statsInScope(c, owner, px) {
			continue
		}
		if px.Cap&CapFE != 0 {
			fn(px, statsLegends(c, e.frontendStats(px)), nil)
		}
		if px.Cap&CapBE == 0 {
			continue
		}
		for _, s := range px.servers() {
			s.mu.Lock()
			maint, up := s.admin.InMaint(), s.state != StateStopped
			s.mu.Unlock()
			if (f.noMaint && maint) || (f.up && (maint || !up)) {
				continue
			}
			fn(px, statsLegends(c, e.serverStats(s, st, now)), s)
		}
		l := statsLegends(c, e.backendStats(px, st, now))
		if f.up || f.noMaint {
			px.statusWithCounts(l)
		}
		fn(px, l, nil)
	}
}

// statsLegends blanks what the page shows only with "stats
// show-legends" (HAProxy's STAT_SHLGNDS, which the CLI always has): the
// server's address and cookie, the backend's cookie and algorithm.
func statsLegends(c *statsConfig, l statLine) statLine {
	if !c.legends {
		for _, f := range [...]string{"addr", "cookie", "algo"} {
			l[statIndex[f]] = ""
		}
	}
	return l
}

// statsCSV writes the ";csv" page: "show stat"'s output.
func (e *Engine) statsCSV(b *bytes.Buffer, c *statsConfig, f statsFlags) {
	b.WriteString("# " + strings.Join(statFields, ",") + ",\n")
	e.statsRows(c, nil, f, func(_ *Proxy, l statLine, _ *Server) { b.WriteString(l.String()) })
}

// statsHTMLCols are the HTML table's columns: a group, its sub-columns
// and the CSV field each shows.
var statsHTMLCols = []struct {
	group string
	cols  [][2]string // title, field
}{
	{"Queue", [][2]string{{"Cur", "qcur"}, {"Max", "qmax"}, {"Limit", "qlimit"}}},
	{"Session rate", [][2]string{{"Cur", "rate"}, {"Max", "rate_max"}, {"Limit", "rate_lim"}}},
	{"Sessions", [][2]string{{"Cur", "scur"}, {"Max", "smax"}, {"Limit", "slim"}, {"Total", "stot"}, {"LbTot", "lbtot"}, {"Last", "lastsess"}}},
	{"Bytes", [][2]string{{"In", "bin"}, {"Out", "bout"}}},
	{"Denied", [][2]string{{"Req", "dreq"}, {"Resp", "dresp"}}},
	{"Errors", [][2]string{{"Req", "ereq"}, {"Conn", "econ"}, {"Resp", "eresp"}}},
	{"Warnings", [][2]string{{"Retr", "wretr"}, {"Redis", "wredis"}}},
	{"Server", [][2]string{{"Status", "status"}, {"LastChk", "check_status"}, {"Wght", "weight"}, {"Act", "act"}, {"Bck", "bck"}, {"Chk", "chkfail"}, {"Dwn", "chkdown"}, {"Dwntme", "downtime"}, {"Thrtle", "throttle"}}},
}

// statsStatusMsg are the ";st=" outcomes of an admin action.
var statsStatusMsg = map[string]string{
	"DONE": "Action processed successfully.",
	"PART": "Action partially processed.",
	"NONE": "Nothing has changed.",
	"ERRP": "Action not processed because of invalid parameters.",
	"EXCD": "Action not processed : the buffer couldn't store all the data.",
	"DENY": "Action denied.",
	"IVAL": "Invalid requests (unsupported method or chunked encoded request).",
	"UNKN": "Unexpected result.",
}

// statsHTML writes the HTML page.
func (e *Engine) statsHTML(b *bytes.Buffer, owner *Proxy, f statsFlags) {
	c := owner.stats
	esc := html.EscapeString
	b.WriteString("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\"\n" +
		"\"http://www.w3.org/TR/html4/loose.dtd\">\n<html><head><title>Statistics Report for HAProxy</title>\n" +
		"<link rel=\"icon\" href=\"data:,\">\n<meta http-equiv=\"content-type\" content=\"text/html; charset=iso-8859-1\">\n" +
		"<style type=\"text/css\"><!--\nbody { font-family: arial, helvetica, sans-serif; font-size: 12px; font-weight: normal; color: black; background: white;}\n" +
		"th,td { font-size: 10px;}\nh1 { font-size: x-large; margin-bottom: 0.5em;}\n" +
		"table.tbl { border-collapse: collapse; border-style: none;}\ntable.tbl td, table.tbl th { text-align: right; border: 1px solid #aaa; white-space: nowrap; padding: 1px 2px;}\n" +
		"table.tbl th { background: #20a0ff; color: #000;}\ntr.frontend {background: #f0f0f0;}\ntr.backend {background: #e8e8d0;}\n" +
		"td.ac {text-align: center;} th.pxname {background: #b00040; color: #ffff40; text-align: left;}\n" +
		"tr.active_up {background: #c0ffc0;} tr.active_down {background: #ff9090;} tr.maintain {background: #c07820;} tr.draining {background: #20a0ff;}\n" +
		"-->\n</style></head>\n<body>\n")
	b.WriteString("<h1><a href=\"http://www.haproxy.org/\" style=\"text-decoration: none;\">HAProxy")
	if !c.hideVer {
		b.WriteString(" version " + esc(Version))
		if ReleaseDate != "" {
			b.WriteString(", released " + esc(ReleaseDate))
		}
	}
	b.WriteString("</a></h1>\n<h2>Statistics Report for pid " + strconv.Itoa(os.Getpid()))
	if c.showNode {
		node := c.node
		if node == "" {
			node, _ = os.Hostname()
		}
		b.WriteString(" on " + esc(node))
	}
	b.WriteString("</h2>\n")
	if c.showDesc && c.desc != "" {
		b.WriteString("<h2>" + esc(c.desc) + "</h2>\n")
	}
	b.WriteString("<hr width=\"100%\" class=\"hr\">\n<h3>&gt; General process information</h3>\n<p>")
	fmt.Fprintf(b, "pid = %d (process #1, nbproc = 1, nbthread = %d)<br>\nuptime = %s<br>\n",
		os.Getpid(), e.Threads, uptimeString())
	fmt.Fprintf(b, "maxconn = %d<br>\n", e.statMaxConn())
	b.WriteString("</p>\n")
	if c.legends {
		b.WriteString("<p><b>Legends:</b> active UP, active DOWN, active or backup DOWN for maintenance (MAINT), " +
			"active or backup SOFT STOPPED for maintenance (DRAIN).<br>\nNote: \"NOLB\"/\"DRAIN\" = UP with load-balancing disabled.</p>\n")
	}
	b.WriteString("<p><b>Display option:</b> ")
	base := esc(c.uri)
	if f.up {
		b.WriteString("<a href=\"" + base + "\">Show all servers</a> ")
	} else {
		b.WriteString("<a href=\"" + base + ";up\">Hide 'DOWN' servers</a> ")
	}
	if c.refresh > 0 {
		if f.noRefresh {
			b.WriteString("<a href=\"" + base + "\">Enable refresh</a> ")
		} else {
			b.WriteString("<a href=\"" + base + ";norefresh\">Disable refresh</a> ")
		}
	}
	b.WriteString("<a href=\"" + base + ";csv\">CSV export</a></p>\n")
	if f.st != "" {
		msg, ok := statsStatusMsg[f.st]
		if !ok {
			msg = statsStatusMsg["UNKN"]
		}
		b.WriteString("<p><b>[" + esc(f.st) + "]</b> " + esc(msg) + "</p>\n")
	}
	var cur *Proxy
	closeTable := func() {
		if cur == nil {
			return
		}
		b.WriteString("</table>\n")
		if f.admin && cur.Cap&CapBE != 0 && len(cur.Servers) > 0 {
			b.WriteString("Choose the action to perform on the checked servers : <select name=action>" +
				"<option value=\"\"></option><option value=\"ready\">Set state to READY</option>" +
				"<option value=\"drain\">Set state to DRAIN</option><option value=\"maint\">Set state to MAINT</option>" +
				"<option value=\"dhlth\">Health: disable checks</option><option value=\"ehlth\">Health: enable checks</option>" +
				"<option value=\"hrunn\">Health: force UP</option><option value=\"hnolb\">Health: force NOLB</option>" +
				"<option value=\"hdown\">Health: force DOWN</option><option value=\"shutdown\">Kill Sessions</option>" +
				"</select><input type=\"hidden\" name=\"b\" value=\"" + esc(cur.Name) + "\">" +
				"&nbsp;<input type=\"submit\" value=\"Apply\">\n")
		}
		if f.admin {
			b.WriteString("</form>")
		}
		b.WriteString("<p>\n")
	}
	e.statsRows(c, owner, f, func(px *Proxy, l statLine, srv *Server) {
		if px != cur {
			closeTable()
			cur = px
			if f.admin {
				b.WriteString("<form method=\"post\">")
			}
			fmt.Fprintf(b, "<table class=\"tbl\" width=\"100%%\">\n<tr class=\"titre\"><th class=\"pxname\" width=\"10%%\">"+
				"<a name=\"%s\"></a><a class=px href=\"#%s\">%s</a></th><th class=\"empty\" width=\"90%%\"></th></tr>\n</table>\n",
				esc(px.Name), esc(px.Name), esc(px.Name))
			b.WriteString("<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\">")
			if f.admin {
				b.WriteString("<th rowspan=2 width=1></th>")
			}
			b.WriteString("<th rowspan=2></th>")
			for _, g := range statsHTMLCols {
				fmt.Fprintf(b, "<th colspan=%d>%s</th>", len(g.cols), g.group)
			}
			b.WriteString("</tr>\n<tr class=\"titre\">")
			for _, g := range statsHTMLCols {
				for _, col := range g.cols {
					b.WriteString("<th>" + col[0] + "</th>")
				}
			}
			b.WriteString("</tr>\n")
		}
		name := l[statIndex["svname"]]
		class := "frontend"
		switch {
		case srv != nil:
			st := l[statIndex["status"]]
			switch {
			case strings.HasPrefix(st, "MAINT"):
				class = "maintain"
			case st == "DRAIN":
				class = "draining"
			case strings.HasPrefix(st, "DOWN"):
				class = "active_down"
			default:
				class = "active_up"
			}
		case name == "BACKEND":
			class = "backend"
		}
		b.WriteString("<tr class=\"" + class + "\">")
		if f.admin {
			if srv != nil {
				b.WriteString("<td><input type=\"checkbox\" name=\"s\" value=\"" + esc(name) + "\"></td>")
			} else {
				b.WriteString("<td></td>")
			}
		}
		label := name
		switch name {
		case "FRONTEND":
			label = "Frontend"
		case "BACKEND":
			label = "Backend"
		}
		b.WriteString("<td class=ac><a name=\"" + esc(px.Name+"/"+label) + "\"></a>" + esc(label) + "</td>")
		for _, g := range statsHTMLCols {
			for _, col := range g.cols {
				v := l[statIndex[col[1]]]
				if col[1] == "downtime" && v != "" {
					if n, err := strconv.Atoi(v); err == nil {
						v = (time.Duration(n) * time.Second).String()
					}
				}
				b.WriteString("<td>" + esc(v) + "</td>")
			}
		}
		b.WriteString("</tr>\n")
	})
	closeTable()
	b.WriteString("</body></html>\n")
}

// statsPost runs an admin action posted to the page and answers with a
// 303 to the page, ";st=<outcome>" appended.
func (hc *HTTPConn) statsPost(tx *HTTPTxn, px *Proxy, f statsFlags) bool {
	code := "DENY"
	if f.admin {
		code = hc.statsAction(tx)
	}
	loc := px.stats.uri + ";st=" + code
	hdrs := []h1.Header{{Name: "cache-control", Value: "no-cache"}, {Name: "content-type", Value: "text/plain"},
		{Name: "content-length", Value: "0"}, {Name: "location", Value: loc}}
	return hc.sendStatsResponse(tx, 303, "See Other", hdrs, nil)
}

// statsAction applies the posted form; it returns the ";st=" code.
func (hc *HTTPConn) statsAction(tx *HTTPTxn) string {
	s := hc.s
	req := &tx.Req
	limit := s.Engine.BufSize
	if !req.BodyComplete {
		var err error
		s.taskBlock(func() { err = hc.br.BufferBody(req, limit) })
		if err != nil {
			return "EXCD"
		}
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return "ERRP"
	}
	bname, action := form.Get("b"), form.Get("action")
	if action == "" {
		return "NONE"
	}
	var be *Proxy
	for _, p := range s.Engine.Proxies {
		if p.Cap&CapBE != 0 && p.Name == bname {
			be = p
		}
	}
	if be == nil {
		return "ERRP"
	}
	// apply runs the action on a server and reports whether it counts
	// (HAProxy skips the health actions on a server without checks)
	var apply func(*Server) bool
	always := func(f func(*Server)) func(*Server) bool {
		return func(sv *Server) bool { f(sv); return true }
	}
	checked := func(sv *Server) bool {
		sv.mu.Lock()
		defer sv.mu.Unlock()
		return sv.Check.Enabled
	}
	switch action {
	case "ready":
		apply = always((*Server).SetReady)
	case "drain":
		apply = always((*Server).SetDrain)
	case "maint":
		apply = always((*Server).SetMaint)
	case "dhlth":
		apply = func(sv *Server) bool {
			if !checked(sv) {
				return false
			}
			sv.DisableHealthCheck()
			return true
		}
	case "ehlth":
		apply = func(sv *Server) bool { return checked(sv) && sv.EnableHealthCheck() == nil }
	case "hrunn":
		apply = always(func(sv *Server) { sv.ForceHealth(StateRunning, "STATS_WEB") })
	case "hnolb":
		apply = always(func(sv *Server) { sv.ForceHealth(StateStopping, "STATS_WEB") })
	case "hdown":
		apply = always(func(sv *Server) { sv.ForceHealth(StateStopped, "STATS_WEB") })
	case "shutdown":
		apply = always((*Server).ShutdownSessions)
	case "dagent", "eagent", "arunn", "adown":
		return "NONE" // not done: no agent checks
	default:
		return "ERRP"
	}
	total, altered := 0, 0
	for _, name := range form["s"] {
		srv := be.FindServer(name)
		if srv == nil {
			total++
			continue
		}
		if apply(srv) {
			total++
			altered++
		}
	}
	switch {
	case total == 0:
		return "NONE"
	case altered == 0:
		return "ERRP"
	case altered < total:
		return "PART"
	}
	return "DONE"
}

// uptimeString is the process uptime as HAProxy's page shows it.
func uptimeString() string {
	sec := int64(time.Since(processStart) / time.Second)
	return fmt.Sprintf("%dd %02dh%02dm%02ds", sec/86400, sec/3600%24, sec/60%60, sec%60)
}
