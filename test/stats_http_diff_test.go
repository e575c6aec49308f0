//go:build lua53

package test

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statsFetch sends one request and returns what is compared of a stats
// page: status, headers (date aside), framing, and for a CSV its header
// line, each row's proxy and server names and column count; for HTML
// whether it is a page.
func statsFetch(t *testing.T, addr, method, uri, version string, hdrs ...string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + uri + " " + version + "\r\nHost: t\r\n"
	if version == "HTTP/1.1" {
		req += "Connection: close\r\n"
	}
	body := ""
	for _, h := range hdrs {
		if b, ok := strings.CutPrefix(h, "BODY="); ok {
			body = b
			continue
		}
		req += h + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"+body); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return "error: " + err.Error()
	}
	defer res.Body.Close()
	var names []string
	for k := range res.Header {
		if k != "Date" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out := res.Proto + " " + res.Status + "\n"
	for _, k := range names {
		out += strings.ToLower(k) + ": " + strings.Join(res.Header[k], ", ") + "\n"
	}
	out += "transfer-encoding: " + strings.Join(res.TransferEncoding, ",") + "\n"
	data, _ := io.ReadAll(res.Body)
	body = string(data)
	switch ct := res.Header.Get("Content-Type"); {
	case ct == "text/plain" && strings.HasPrefix(body, "# "):
		lines := strings.Split(body, "\n")
		out += lines[0] + "\n"
		for _, l := range lines[1:] {
			if l == "" {
				out += "(empty line)\n"
				continue
			}
			f := strings.Split(l, ",")
			out += f[0] + "/" + f[1] + " " + f[17] + " " + strconv.Itoa(len(f)) + " columns\n"
		}
	case ct == "text/html" && res.StatusCode == 200:
		out += "html page: " + strings.TrimSpace(body[:min(len(body), 60)]) + "\n"
	default:
		out += body
	}
	return out
}

// postForm is the headers and body of an admin action.
func postForm(form string) []string {
	return []string{"Content-Type: application/x-www-form-urlencoded", "Content-Length: " + strconv.Itoa(len(form)), "BODY=" + form}
}

// TestStatsPageDiff compares the HTTP statistics page of luaproxy and
// HAProxy 2.6: which requests it answers, its authentication, headers,
// the CSV's columns and rows, and the log line.
func TestStatsPageDiff(t *testing.T) {
	const cfg = `
global
    nbthread 1
defaults
    mode http
    log "${SYSLOG}" local0
    log-format "MARK %HU %f %b/%s %ST %ts %Tw/%Tc"
    timeout client 10s
    timeout server 10s
    timeout connect 5s
listen st
    bind "127.0.0.1:${FE_PORT}"
    stats enable
    stats uri /st
    stats realm My\ Realm
    stats auth admin:pw
    stats auth u2:p2
    stats refresh 10s
    server s1 "${ORIGIN}"
listen plain
    bind "127.0.0.1:${FE_PORT1}"
    stats enable
    server s1 "${ORIGIN}"
frontend fe2
    bind "127.0.0.1:${FE_PORT2}"
    default_backend be_st
backend be_st
    stats uri /mystats
    stats scope fe2
    stats scope be_st
    stats show-legends
    stats hide-version
    stats admin if TRUE
    server s2 "${ORIGIN}"
    server s3 "${ORIGIN}" disabled
`
	origin := echoOrigin(t)
	sinks := map[string]*syslogSink{}
	impls := startImplsN(t, cfg, 3, func(name string) map[string]string {
		sinks[name] = newSyslogSink(t, "MARK ")
		return map[string]string{"ORIGIN": origin, "SYSLOG": sinks[name].addr}
	})
	auth := func(up string) string { return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(up)) }
	type tc struct {
		fe             int
		method, uri, v string
		hdrs           []string
	}
	cases := []tc{
		{0, "GET", "/st", "HTTP/1.1", nil},
		{0, "GET", "/st?bad", "HTTP/1.1", []string{auth("admin:nope")}},
		{0, "GET", "/st?ok", "HTTP/1.1", []string{auth("admin:pw")}},
		{0, "GET", "/st;csv", "HTTP/1.1", []string{auth("u2:p2")}},
		{0, "GET", "/st;norefresh", "HTTP/1.1", []string{auth("admin:pw")}},
		{0, "GET", "/st;up;csv", "HTTP/1.0", []string{auth("admin:pw")}},
		{0, "HEAD", "/st;head", "HTTP/1.1", []string{auth("admin:pw")}},
		{0, "GET", "/stx", "HTTP/1.1", []string{auth("admin:pw")}},
		{0, "GET", "http://t/st;abs", "HTTP/1.1", []string{auth("admin:pw")}},
		{0, "GET", "/other", "HTTP/1.1", nil},
		{0, "PUT", "/st;put", "HTTP/1.1", []string{auth("admin:pw"), "Content-Length: 0"}},
		{0, "POST", "/st;post", "HTTP/1.1", []string{auth("admin:pw"), "Content-Length: 0"}},
		{2, "POST", "/mystats;a1", "HTTP/1.1", postForm("b=be_st&s=s2&action=maint")},
		{2, "GET", "/mystats;csv;up;after-maint", "HTTP/1.1", nil},
		{2, "POST", "/mystats;a2", "HTTP/1.1", postForm("b=be_st&s=s2&s=nope&action=ready")},
		{2, "POST", "/mystats;a3", "HTTP/1.1", postForm("b=nope&s=s2&action=ready")},
		{2, "POST", "/mystats;a4", "HTTP/1.1", postForm("b=be_st&s=s2&action=bogus")},
		{2, "POST", "/mystats;a5", "HTTP/1.1", postForm("b=be_st&s=s2")},
		{2, "GET", "/mystats;st=DONE", "HTTP/1.1", nil},
		{2, "POST", "/mystats;a6", "HTTP/1.1", postForm("b=be_st&s=s2&action=hdown")},
		{2, "GET", "/mystats;csv;after-hdown", "HTTP/1.1", nil},
		{2, "POST", "/mystats;a7", "HTTP/1.1", postForm("b=be_st&s=s2&action=hrunn")},
		{2, "POST", "/mystats;a8", "HTTP/1.1", postForm("b=be_st&s=s2&action=hnolb")},
		{2, "GET", "/mystats;csv;after-hnolb", "HTTP/1.1", nil},
		{2, "POST", "/mystats;a9", "HTTP/1.1", postForm("b=be_st&s=s2&action=dhlth")},
		{2, "POST", "/mystats;a10", "HTTP/1.1", postForm("b=be_st&s=s2&action=shutdown")},
		{2, "POST", "/mystats;a11", "HTTP/1.1", postForm("b=be_st&s=s2&action=hrunn")},
		{1, "GET", "/haproxy?stats", "HTTP/1.1", nil},
		{1, "GET", "/haproxy?stats;csv", "HTTP/1.1", nil},
		{1, "GET", "/haproxy?statsx;csv;norefresh", "HTTP/1.1", nil},
		{1, "GET", "/haproxy", "HTTP/1.1", nil},
		{2, "GET", "/mystats", "HTTP/1.1", nil},
		{2, "GET", "/mystats;csv", "HTTP/1.1", nil},
		{2, "GET", "/mystats;csv;up", "HTTP/1.1", nil},
		{2, "GET", "/mystats/x", "HTTP/1.1", nil},
		{2, "GET", "/nostats", "HTTP/1.1", nil},
	}
	results := map[string][]string{}
	for _, im := range impls {
		var keys []string
		for _, c := range cases {
			results[im.name] = append(results[im.name], statsFetch(t, im.addrs[c.fe], c.method, c.uri, c.v, c.hdrs...))
			keys = append(keys, c.uri)
		}
		var lines []string
		for _, l := range sinks[im.name].waitKeys(keys...) {
			switch {
			case strings.Contains(l, "<BADREQ>"):
				// startHAProxy's readiness probe: an empty connection
				continue
			case !strings.Contains(l, "<STATS>"):
				// the timers of a forwarded request vary by a millisecond
				l = l[:strings.LastIndexByte(l, ' ')]
			}
			lines = append(lines, l)
		}
		sort.Strings(lines)
		results[im.name] = append(results[im.name], strings.Join(lines, "\n"))
	}
	hp, ok := results["haproxy"]
	if !ok {
		return
	}
	for i, g := range results["luaproxy"] {
		name := "log lines"
		if i < len(cases) {
			c := cases[i]
			name = c.method + " " + c.uri + " " + c.v
		}
		if w := hp[i]; g != w {
			t.Errorf("%s: luaproxy and haproxy differ\n--- luaproxy\n%s\n--- haproxy\n%s", name, g, w)
		}
	}
}

// TestStatsInterceptedDiff compares the "intercepted" counter: HAProxy
// counts the requests the frontend answered itself with return,
// redirect or an applet (the stats page) it chose, not a deny, nor a
// stats page of a backend.
func TestStatsInterceptedDiff(t *testing.T) {
	const cfg = `
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 5s
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    http-request return status 200 if { path /ret }
    http-request redirect location /x if { path /redir }
    http-request deny if { path /deny }
    use_backend be_st if { path_beg /bst }
    default_backend be
backend be
    server s1 "${ORIGIN}"
backend be_st
    stats uri /bst
listen st
    bind "127.0.0.1:${FE_PORT1}"
    stats uri /s
`
	origin := echoOrigin(t)
	impls := startImplsN(t, cfg, 2, func(string) map[string]string { return map[string]string{"ORIGIN": origin} })
	results := map[string]string{}
	for _, im := range impls {
		for _, p := range []string{"/ret", "/redir", "/deny", "/bst", "/other", "/ret"} {
			statsFetch(t, im.addrs[0], "GET", p, "HTTP/1.1")
		}
		res, err := http.Get("http://" + im.addrs[1] + "/s;csv")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		lines := strings.Split(string(b), "\n")
		col := -1
		for i, f := range strings.Split(strings.TrimPrefix(lines[0], "# "), ",") {
			if f == "intercepted" {
				col = i
			}
		}
		for _, l := range lines[1:] {
			if f := strings.Split(l, ","); len(f) > col && f[1] == "FRONTEND" {
				results[im.name] += f[0] + " intercepted=" + f[col] + "\n"
			}
		}
	}
	if w, ok := results["haproxy"]; ok && results["luaproxy"] != w {
		t.Errorf("luaproxy:\n%shaproxy:\n%s", results["luaproxy"], w)
	}
}
