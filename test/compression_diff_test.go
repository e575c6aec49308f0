//go:build lua53

package test

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// compOrigin is a raw HTTP/1.1 origin whose response the query string
// describes: st (status), ct (content-type, "-" for none), ce
// (content-encoding), cc (cache-control), etag, n (body size), mode
// ("cl", "chunked" or "close"). It echoes the Accept-Encoding it
// received in X-AE, and closes after each response.
func compOrigin(t *testing.T) string {
	return acceptLoop(t, "tcp", "127.0.0.1:0", serveCompOrigin).Addr().String()
}

func serveCompOrigin(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	q := req.URL.Query()
	get := func(k, def string) string {
		if v := q.Get(k); v != "" {
			return v
		}
		return def
	}
	st, _ := strconv.Atoi(get("st", "200"))
	n, _ := strconv.Atoi(get("n", "3000"))
	var body strings.Builder
	for i := 0; body.Len() < n; i++ {
		fmt.Fprintf(&body, "line %d of the response body, compressible text\n", i)
	}
	b := body.String()[:n]
	var h strings.Builder
	fmt.Fprintf(&h, "HTTP/1.1 %d %s\r\n", st, http.StatusText(st))
	if ct := get("ct", "text/plain"); ct != "-" {
		h.WriteString("Content-Type: " + ct + "\r\n")
	}
	for _, k := range []string{"ce:Content-Encoding", "cc:Cache-Control", "etag:ETag"} {
		key, name, _ := strings.Cut(k, ":")
		if v := q.Get(key); v != "" {
			h.WriteString(name + ": " + v + "\r\n")
		}
	}
	h.WriteString("X-AE: " + strings.Join(req.Header.Values("Accept-Encoding"), "|") + "\r\n")
	bodyless := st == 204 || st == 304 || req.Method == "HEAD"
	mode := get("mode", "cl")
	if st == 204 {
		// not done: luaproxy forwards the Content-Length of a 204,
		// which HAProxy drops
		mode = "close"
	}
	switch mode {
	case "cl":
		h.WriteString("Content-Length: " + strconv.Itoa(len(b)) + "\r\nConnection: close\r\n\r\n")
		if !bodyless {
			h.WriteString(b)
		}
	case "chunked":
		h.WriteString("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
		if !bodyless {
			for s := b; len(s) > 0; {
				k := min(len(s), 1000)
				fmt.Fprintf(&h, "%x\r\n%s\r\n", k, s[:k])
				s = s[k:]
			}
			h.WriteString("0\r\n\r\n")
		}
	case "close":
		h.WriteString("Connection: close\r\n\r\n")
		if !bodyless {
			h.WriteString(b)
		}
	}
	_, _ = io.WriteString(c, h.String())
}

// compFetch sends one request and returns what is compared of a
// response that may be compressed: the status, the headers, the
// framing, and the decoded body's size and first line.
func compFetch(t *testing.T, addr, method, uri, version string, hdrs ...string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + uri + " " + version + "\r\nHost: t\r\nConnection: close\r\n"
	for _, h := range hdrs {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return "error: " + err.Error()
	}
	defer res.Body.Close()
	var names []string
	for k := range res.Header {
		switch strings.ToLower(k) {
		case "date", "connection":
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	out := res.Proto + " " + res.Status + "\n"
	for _, k := range names {
		out += strings.ToLower(k) + ": " + strings.Join(res.Header[k], ", ") + "\n"
	}
	out += "transfer-encoding: " + strings.Join(res.TransferEncoding, ",") + "\n"
	var r io.Reader = res.Body
	switch res.Header.Get("Content-Encoding") {
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return out + "bad gzip: " + err.Error()
		}
		r = zr
	case "deflate":
		// HAProxy's "deflate" is zlib; "raw-deflate" answers the same
		// token with a raw stream: try zlib first.
		raw, _ := io.ReadAll(r)
		if zr, err := zlib.NewReader(strings.NewReader(string(raw))); err == nil {
			r = zr
		} else {
			r = flate.NewReader(strings.NewReader(string(raw)))
		}
	}
	body, err := io.ReadAll(r)
	if err != nil {
		out += "body error: " + err.Error() + "\n"
	}
	first, _, _ := strings.Cut(string(body), "\n")
	return out + fmt.Sprintf("body: %d bytes, %q\n", len(body), first)
}

// compFetchRaw returns the body of a GET.
func compFetchRaw(t *testing.T, addr, uri string) string {
	res, err := http.Get("http://" + addr + uri)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestCompressionDiff runs a matrix of requests and responses through
// HAProxy 2.6's and luaproxy's compression: whether a response is
// compressed, its headers, and the decoded body must agree.
func TestCompressionDiff(t *testing.T) {
	const cfg = `
global
    nbthread 1
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 5s
frontend fe0
    bind "127.0.0.1:${FE_PORT}"
    compression algo gzip
    compression type text/plain text/html
    default_backend be
listen l1
    bind "127.0.0.1:${FE_PORT1}"
    compression algo deflate gzip
    compression offload
    server s1 "${ORIGIN}"
frontend fe2
    bind "127.0.0.1:${FE_PORT2}"
    compression algo gzip
    compression type text/html
    default_backend be_comp
frontend fe3
    bind "127.0.0.1:${FE_PORT3}"
    filter compression
    compression algo identity raw-deflate
    default_backend be
backend be
    server s1 "${ORIGIN}"
backend be_comp
    compression algo raw-deflate
    compression type application/json
    server s1 "${ORIGIN}"
defaults comp
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 5s
    compression algo gzip
    compression offload
listen l4
    bind "127.0.0.1:${FE_PORT4}"
    server s1 "${ORIGIN}"
listen stats
    bind "127.0.0.1:${FE_PORT5}"
    stats uri /s
`
	origin := compOrigin(t)
	impls := startImplsN(t, cfg, 6, func(string) map[string]string { return map[string]string{"ORIGIN": origin} })
	type tc struct {
		fe             int
		method, uri, v string
		hdrs           []string
	}
	aes := []string{"", "gzip", "deflate", "GZIP", "gzip;q=0", "*", "deflate;q=0.5, gzip;q=0.8",
		"deflate, gzip", "identity", "br", "gzip; q=0.001", "x-gzip, deflate;q=1.0"}
	var cases []tc
	for fe := 0; fe < 5; fe++ {
		for _, ae := range aes {
			var h []string
			if ae != "" {
				h = []string{"Accept-Encoding: " + ae}
			}
			cases = append(cases, tc{fe, "GET", "/?x", "HTTP/1.1", h})
		}
	}
	gz := []string{"Accept-Encoding: gzip, deflate"}
	for fe := 0; fe < 5; fe++ {
		for _, q := range []string{
			"st=201", "st=203", "st=204", "st=206", "st=404", "st=500",
			"ce=br", "cc=no-transform", "cc=max-age%3D1%2C%20no-transform", "cc=public",
			"ct=text/html%3B%20charset%3Dutf-8", "ct=TEXT/PLAIN", "ct=application/json", "ct=-", "ct=multipart/mixed",
			"ct=text/plainx", "etag=%22abc%22", "etag=W/%22abc%22", "etag=abc",
			"mode=chunked", "mode=close", "n=0", "n=200000&mode=chunked", "n=70000",
		} {
			cases = append(cases, tc{fe, "GET", "/?" + q, "HTTP/1.1", gz})
		}
		cases = append(cases,
			tc{fe, "HEAD", "/?h", "HTTP/1.1", gz},
			tc{fe, "GET", "/?v10", "HTTP/1.0", gz},
			tc{fe, "GET", "/?ua", "HTTP/1.1", append([]string{"User-Agent: Mozilla/4.0 (compatible)"}, gz...)},
			tc{fe, "GET", "/?ua2", "HTTP/1.1", append([]string{"User-Agent: Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)"}, gz...)},
			tc{fe, "GET", "/?two", "HTTP/1.1", []string{"Accept-Encoding: br", "Accept-Encoding: gzip"}},
		)
	}
	results := map[string][]string{}
	for _, im := range impls {
		for _, c := range cases {
			results[im.name] = append(results[im.name], compFetch(t, im.addrs[c.fe], c.method, c.uri, c.v, c.hdrs...))
		}
	}
	// the compression counters: comp_in and comp_rsp (comp_out depends
	// on the encoder; comp_byp is not counted)
	for _, im := range impls {
		csv := compFetchRaw(t, im.addrs[5], "/s;csv")
		lines := strings.Split(csv, "\n")
		idx := map[string]int{}
		for i, f := range strings.Split(strings.TrimPrefix(lines[0], "# "), ",") {
			idx[f] = i
		}
		var rows []string
		for _, l := range lines[1:] {
			f := strings.Split(l, ",")
			if len(f) < 10 || f[0] == "stats" {
				continue
			}
			rows = append(rows, fmt.Sprintf("%s/%s comp_in=%s comp_rsp=%s", f[0], f[1], f[idx["comp_in"]], f[idx["comp_rsp"]]))
		}
		results[im.name] = append(results[im.name], strings.Join(rows, "\n"))
	}
	hp, ok := results["haproxy"]
	if !ok {
		return
	}
	if g, w := results["luaproxy"][len(cases)], hp[len(cases)]; g != w {
		t.Errorf("compression counters differ\n--- luaproxy\n%s\n--- haproxy\n%s", g, w)
	}
	for i, c := range cases {
		if g, w := results["luaproxy"][i], hp[i]; g != w {
			t.Errorf("fe%d %s %s %s %q: luaproxy and haproxy differ\n--- luaproxy\n%s--- haproxy\n%s", c.fe, c.method, c.uri, c.v, c.hdrs, g, w)
		}
	}
}

// TestCompressionStreamsDiff checks that a compressed body is streamed:
// what the server sent is delivered, compressed, before the server sends
// the rest (HAProxy and luaproxy both flush the encoder when the
// server's data runs dry).
func TestCompressionStreamsDiff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	release := make(chan struct{}, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				part := strings.Repeat("first part of the body\n", 200)
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(part), part)
				select {
				case <-release:
				case <-time.After(5 * time.Second):
				}
				rest := strings.Repeat("the rest\n", 100)
				fmt.Fprintf(c, "%x\r\n%s\r\n0\r\n\r\n", len(rest), rest)
			}()
		}
	}()
	const cfg = `
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 5s
listen l
    bind "127.0.0.1:${FE_PORT}"
    compression algo gzip
    server s1 "${ORIGIN}"
`
	impls := startImpls(t, cfg, func(string) map[string]string { return map[string]string{"ORIGIN": ln.Addr().String()} })
	for _, im := range impls {
		c, err := net.Dial("tcp", im.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", im.name, err)
		}
		start := time.Now()
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatalf("%s: %v", im.name, err)
		}
		line, err := bufio.NewReader(zr).ReadString('\n')
		if err != nil || line != "first part of the body\n" || time.Since(start) > 3*time.Second {
			t.Errorf("%s: first line %q, %v, after %v: not streamed", im.name, line, err, time.Since(start))
		}
		t.Logf("%s: first line after %v", im.name, time.Since(start))
		release <- struct{}{}
		c.Close()
	}
}

// TestCompressionServiceDiff compresses the responses of a Lua HTTP
// service as HAProxy 2.6 does (the compression filter sees an applet's
// response like a server's).
func TestCompressionServiceDiff(t *testing.T) {
	dir := t.TempDir()
	lua := `
core.register_service("svc", "http", function(applet)
    local q = applet.qs
    local body = string.rep("service body line, compressible\n", 300)
    if q:find("ct=") then applet:add_header("content-type", q:match("ct=([^&]*)")) else applet:add_header("content-type", "text/plain") end
    if q:find("st=") then applet:set_status(tonumber(q:match("st=(%d+)"))) end
    if q:find("cl") then applet:add_header("content-length", tostring(#body)) end
    if q:find("etag") then applet:add_header("etag", '"v1"') end
    applet:start_response()
    if applet.method ~= "HEAD" then
        applet:send(body:sub(1, 4000))
        applet:send(body:sub(4001))
    end
end)
`
	if err := os.WriteFile(filepath.Join(dir, "svc.lua"), []byte(lua), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `
global
    lua-load "` + filepath.Join(dir, "svc.lua") + `"
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 5s
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    compression algo gzip
    compression type text/plain
    http-request use-service lua.svc
`
	impls := startImpls(t, cfg, func(string) map[string]string { return nil })
	gz := []string{"Accept-Encoding: gzip"}
	// Not compared: a response without Content-Length, which HAProxy
	// 2.6.12 sends with "transfer-encoding: chunked" three times (checked
	// below for luaproxy alone), and HEAD, which HAProxy answers with
	// "transfer-encoding: chunked" and luaproxy's Lua services without.
	cases := []struct {
		method, uri, v string
		hdrs           []string
	}{
		{"GET", "/?cl", "HTTP/1.1", gz},
		{"GET", "/?cl&etag", "HTTP/1.1", gz},
		{"GET", "/?b", "HTTP/1.1", nil},
		{"GET", "/?ct=text/html", "HTTP/1.1", gz},
		{"GET", "/?st=404", "HTTP/1.1", gz},
		{"GET", "/?st=201&cl", "HTTP/1.1", gz},
		{"GET", "/?v10", "HTTP/1.0", gz},
	}
	want := "HTTP/1.1 200 OK\ncontent-encoding: gzip\ncontent-type: text/plain\nvary: Accept-Encoding\n" +
		"transfer-encoding: chunked\nbody: 9600 bytes, \"service body line, compressible\"\n"
	if got := compFetch(t, impls[0].addr, "GET", "/?a", "HTTP/1.1", gz...); got != want {
		t.Errorf("no content-length: got\n%s", got)
	}
	results := map[string][]string{}
	for _, im := range impls {
		for _, c := range cases {
			results[im.name] = append(results[im.name], compFetch(t, im.addr, c.method, c.uri, c.v, c.hdrs...))
		}
	}
	hp, ok := results["haproxy"]
	if !ok {
		return
	}
	for i, c := range cases {
		if g, w := results["luaproxy"][i], hp[i]; g != w {
			t.Errorf("%s %s %s %q: luaproxy and haproxy differ\n--- luaproxy\n%s--- haproxy\n%s", c.method, c.uri, c.v, c.hdrs, g, w)
		}
	}
}

// TestCompressionRuleOrderDiff checks where the compression decision
// sits among the response rules: what http-response and
// http-after-response rules see of it, and whether their edits change
// it.
func TestCompressionRuleOrderDiff(t *testing.T) {
	const cfg = `
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 5s
listen l
    bind "127.0.0.1:${FE_PORT}"
    compression algo gzip
    compression type text/plain
    http-response set-header x-seen-ce "%[res.hdr(content-encoding)]"
    http-response set-header x-seen-vary "%[res.hdr(vary)]"
    http-request set-var(txn.p) path
    http-response set-header cache-control no-transform if { var(txn.p) -m str /nt }
    http-response set-header content-type text/html if { var(txn.p) -m str /ct }
    http-response set-header content-type text/plain if { var(txn.p) -m str /ct2 }
    http-after-response set-header cache-control no-transform if { var(txn.p) -m str /ant }
    http-after-response set-header content-type text/html if { var(txn.p) -m str /act }
    http-after-response set-header x-after-ce "%[res.hdr(content-encoding)]"
    server s1 "${ORIGIN}"
`
	origin := compOrigin(t)
	impls := startImpls(t, cfg, func(string) map[string]string { return map[string]string{"ORIGIN": origin} })
	gz := []string{"Accept-Encoding: gzip"}
	paths := []string{"/plain", "/nt", "/ct", "/ct2?ct=text/html", "/ant", "/act"}
	results := map[string][]string{}
	for _, im := range impls {
		for _, p := range paths {
			results[im.name] = append(results[im.name], compFetch(t, im.addr, "GET", p, "HTTP/1.1", gz...))
		}
	}
	hp, ok := results["haproxy"]
	if !ok {
		return
	}
	for i, p := range paths {
		if g, w := results["luaproxy"][i], hp[i]; g != w {
			t.Errorf("%s: luaproxy and haproxy differ\n--- luaproxy\n%s--- haproxy\n%s", p, g, w)
		}
	}
}

// TestCompressionRequestRulesDiff: the request side is decided after
// the http-request rules, which see Accept-Encoding before "compression
// offload" removes it and may change it.
func TestCompressionRequestRulesDiff(t *testing.T) {
	const cfg = `
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 5s
listen l
    bind "127.0.0.1:${FE_PORT}"
    compression algo gzip
    compression offload
    http-request set-var(txn.ae) req.hdr(accept-encoding)
    http-request set-header accept-encoding gzip if { path /force }
    http-request del-header accept-encoding if { path /del }
    http-response set-header x-rule-ae "%[var(txn.ae)]"
    server s1 "${ORIGIN}"
`
	origin := compOrigin(t)
	impls := startImpls(t, cfg, func(string) map[string]string { return map[string]string{"ORIGIN": origin} })
	cases := []struct {
		path string
		hdrs []string
	}{
		{"/plain", []string{"Accept-Encoding: gzip"}},
		{"/force", nil},
		{"/del", []string{"Accept-Encoding: gzip"}},
	}
	results := map[string][]string{}
	for _, im := range impls {
		for _, c := range cases {
			results[im.name] = append(results[im.name], compFetch(t, im.addr, "GET", c.path, "HTTP/1.1", c.hdrs...))
		}
	}
	hp, ok := results["haproxy"]
	if !ok {
		return
	}
	for i, c := range cases {
		if g, w := results["luaproxy"][i], hp[i]; g != w {
			t.Errorf("%s: luaproxy and haproxy differ\n--- luaproxy\n%s--- haproxy\n%s", c.path, g, w)
		}
	}
}
