//go:build lua53

package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cookieOrigin answers with its name and the Cookie headers it got
// ("name|c1#c2"); the query's sc values become Set-Cookie headers, cc
// Cache-Control and st the status.
func cookieOrigin(t *testing.T, name string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for _, v := range q["sc"] {
			w.Header().Add("Set-Cookie", v)
		}
		for _, v := range q["cc"] {
			w.Header().Add("Cache-Control", v)
		}
		st := 200
		if v := q.Get("st"); v != "" {
			st, _ = strconv.Atoi(v)
		}
		w.WriteHeader(st)
		_, _ = io.WriteString(w, name+"|"+strings.Join(r.Header["Cookie"], "#"))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestCookieDiff sends the same requests through backends of each cookie
// mode under luaproxy and haproxy 2.6: the server reached, the cookies it
// got, the Set-Cookie and Cache-Control headers the client got and the
// log's %tsc must be the same.
func TestCookieDiff(t *testing.T) {
	const cfg = `
global
    nbthread 1
defaults
    mode http
    balance first
    timeout client 30s
    timeout server 30s
    timeout connect 10s
    log "${LOGADDR}" local0
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    log-format "CK %HQ %b/%s %tsc"
    use_backend %[req.hdr(x-be)]
backend ins
    cookie SRV insert indirect nocache
    server s1 "${O_s1}" cookie a
    server s2 "${O_s2}" cookie b
    server s3 "${O_s3}" cookie c disabled
backend insp
    cookie SRV insert preserve postonly httponly secure domain .x.com domain y.com attr SameSite=Lax attr Foo
    server s1 "${O_s1}" cookie a
    server s2 "${O_s2}" cookie b
backend insnc
    cookie SRV insert
    server s1 "${O_s1}"
backend pfx
    cookie JS prefix
    server s1 "${O_s1}" cookie a
    server s2 "${O_s2}" cookie b
backend rw
    cookie JS rewrite
    server s1 "${O_s1}" cookie a
    server s2 "${O_s2}" cookie b
backend persist
    option persist
    cookie SRV insert
    server s1 "${O_s1}" cookie a
    server s2 "${O_s2}" cookie b disabled
backend redisp
    option redispatch
    timeout connect 100ms
    cookie SRV insert
    server s1 "${O_s1}" cookie a
    server s2 "${DEAD}" cookie b
backend dflt
    cookie SRV insert
    default-server cookie z disabled
    server s1 "${O_s1}" cookie a enabled
    server s2 "${O_s2}" enabled
    server s3 "${O_s3}"
`
	type req struct {
		be, method, query, cookie string
	}
	reqs := []req{
		{"ins", "GET", "", ""},
		{"ins", "GET", "", "SRV=b"},
		{"ins", "GET", "", "x=1; SRV=b; y=2"},
		{"ins", "GET", "", "SRV=b; x=1"},
		{"ins", "GET", "", "x=1;SRV=b"},
		{"ins", "GET", "", "SRV=zz"},
		{"ins", "GET", "", "SRV=c"},
		{"ins", "GET", "", "SRV="},
		{"ins", "GET", "", "SRV=a; SRV=b"},
		{"ins", "POST", "", ""},
		{"ins", "GET", "cc=public", ""},
		{"ins", "POST", "cc=public", ""},
		{"ins", "GET", "cc=no-cache", ""},
		{"ins", "GET", "st=302", ""},
		{"ins", "GET", "st=404", ""},
		{"ins", "GET", "sc=SRV%3Dfoo%3B+path%3D%2F&sc=other%3D1", ""},
		{"ins", "GET", "sc=SRV%3Dfoo", "SRV=b"},
		{"insp", "GET", "", ""},
		{"insp", "POST", "", ""},
		{"insp", "POST", "sc=SRV%3Dmine", ""},
		{"insp", "POST", "", "SRV=b"},
		{"insnc", "GET", "", ""},
		{"pfx", "GET", "", "JS=b~orig"},
		{"pfx", "GET", "", "JS=orig"},
		{"pfx", "GET", "sc=JS%3Dxyz%3B+path%3D%2F", ""},
		{"pfx", "GET", "sc=JS%3Dxyz", "JS=b~q"},
		{"rw", "GET", "sc=JS%3Dxyz%3B+path%3D%2F", ""},
		{"rw", "GET", "", "JS=b"},
		{"rw", "GET", "sc=JS%3Dxyz", "JS=b; other=2"},
		{"persist", "GET", "", "SRV=b"},
		{"persist", "GET", "", ""},
		{"redisp", "GET", "", "SRV=b"},
		{"dflt", "GET", "", ""},
		{"dflt", "GET", "", "SRV=z"},
	}
	sinks := map[string]*syslogSink{}
	impls := startImpls(t, cfg, func(impl string) map[string]string {
		sinks[impl] = newSyslogSink(t, "CK ")
		env := map[string]string{"LOGADDR": sinks[impl].addr, "DEAD": deadAddr(t)}
		for _, n := range []string{"s1", "s2", "s3"} {
			env["O_"+n] = cookieOrigin(t, n)
		}
		return env
	})
	results := map[string][]string{}
	for _, im := range impls {
		var keys []string
		for i, r := range reqs {
			q := "n=" + strconv.Itoa(i)
			if r.query != "" {
				q += "&" + r.query
			}
			keys = append(keys, "?"+q)
			results[im.name] = append(results[im.name], cookieExchange(t, im.addr, r.method, "/?"+q, r.be, r.cookie))
		}
		got := sinks[im.name].waitKeys(keys...)
		logs := map[string]string{}
		for _, l := range got {
			f := strings.Fields(l)
			if len(f) >= 4 {
				logs[f[1]] = f[2] + " " + f[3]
			}
		}
		for i, k := range keys {
			results[im.name][i] += " log=" + logs[k]
		}
	}
	h, ok := results["haproxy"]
	for i, r := range reqs {
		lp := results["luaproxy"][i]
		if !ok {
			t.Logf("%v: %s", r, lp)
			continue
		}
		if lp != h[i] {
			t.Errorf("%v:\n  luaproxy %s\n  haproxy  %s", r, lp, h[i])
		}
	}
}

// cookieExchange sends one request on a new connection and describes the
// response: status, body, Set-Cookie and Cache-Control headers.
func cookieExchange(t *testing.T, addr, method, path, be, cookie string) string {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	req := method + " " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Be: " + be + "\r\n"
	if cookie != "" {
		req += "Cookie: " + cookie + "\r\n"
	}
	if method == "POST" {
		req += "Content-Length: 0\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		return "error: " + err.Error()
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "error: " + err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return fmt.Sprintf("%d body=%q set-cookie=%q cache-control=%q", res.StatusCode, b,
		res.Header.Values("Set-Cookie"), res.Header.Values("Cache-Control"))
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}
