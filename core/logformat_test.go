package core

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// udpLogSink collects the lines sent to a loopback syslog target.
type udpLogSink struct {
	pc    net.PacketConn
	mu    sync.Mutex
	lines []string
}

func newUDPLogSink(t *testing.T) *udpLogSink {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &udpLogSink{pc: pc}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			u.mu.Lock()
			u.lines = append(u.lines, strings.TrimRight(string(buf[:n]), "\n"))
			u.mu.Unlock()
		}
	}()
	return u
}

func (u *udpLogSink) addr() string { return u.pc.LocalAddr().String() }

// wait returns the first n lines, waiting for them.
func (u *udpLogSink) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		u.mu.Lock()
		got := append([]string(nil), u.lines...)
		u.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d log lines, want %d: %q", len(got), n, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// helloOrigin is a loopback HTTP server answering "hello" (5 bytes).
func helloOrigin(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func rawGet(t *testing.T, addr, path, ua string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nConnection: close\r\n\r\n", path, addr, ua)
	_, _ = io.ReadAll(c)
}

// normLog hides what differs between runs and implementations: times,
// ports, byte counts.
var (
	reDate   = regexp.MustCompile(`\[\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d(\.\d{3}| \+0000)\]`)
	rePort   = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	reTimers = regexp.MustCompile(`\] (\S+) (\S+) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+) (\d+) \d+ `)
)

func normLog(s string) string {
	s = reDate.ReplaceAllString(s, "[D]")
	s = rePort.ReplaceAllString(s, "127.0.0.1:P")
	return reTimers.ReplaceAllStringFunc(s, func(m string) string {
		g := reTimers.FindStringSubmatch(m)
		tm := make([]string, 5)
		for i := range tm {
			tm[i] = g[3+i]
			if tm[i] != "-1" {
				tm[i] = "t"
			}
		}
		return fmt.Sprintf("] %s %s %s %s B ", g[1], g[2], strings.Join(tm, "/"), g[8])
	})
}

// TestHTTPLogLikeHAProxy checks option httplog lines against those HAProxy
// 2.6.12 wrote for the same requests (times, ports and sizes aside).
func TestHTTPLogLikeHAProxy(t *testing.T) {
	sink := newUDPLogSink(t)
	org := helloOrigin(t)
	e, _ := startEngine(t, `
defaults
    mode http
    log `+sink.addr()+` format raw local0
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend fe
    bind 127.0.0.1:0
    option httplog
    capture request header Host len 20
    http-request capture req.hdr(user-agent) len 10
    http-request deny if { path /deny }
    http-request redirect location /x if { path /red }
    http-request return status 200 content-type text/plain string ok if { path /ret }
    default_backend be
backend be
    retries 0
    server s1 `+org+`
    server s2 `+deadAddr(t)+`
`)
	addr := e.Addrs()[0].String()
	for _, p := range []string{"/deny", "/red", "/ret", "/", "/"} {
		rawGet(t, addr, p, "agent123456789")
	}
	got := sink.wait(t, 5)
	want := []string{
		`127.0.0.1:P [D] fe fe/<NOSRV> t/-1/-1/-1/t 403 B - - PR-- 1/1/0/0/0 0/0 {127.0.0.1:P|agent12345} "GET /deny HTTP/1.1"`,
		`127.0.0.1:P [D] fe fe/<NOSRV> t/-1/-1/-1/t 302 B - - LR-- 1/1/0/0/0 0/0 {127.0.0.1:P|agent12345} "GET /red HTTP/1.1"`,
		`127.0.0.1:P [D] fe fe/<NOSRV> t/-1/-1/-1/t 200 B - - LR-- 1/1/0/0/0 0/0 {127.0.0.1:P|agent12345} "GET /ret HTTP/1.1"`,
		`127.0.0.1:P [D] fe be/s1 t/t/t/t/t 200 B - - ---- 1/1/0/0/0 0/0 {127.0.0.1:P|agent12345} "GET / HTTP/1.1"`,
		// HAProxy names the server it failed to reach ("be/s2"): the
		// engine does not tell which one that was.
		`127.0.0.1:P [D] fe be/<NOSRV> t/t/-1/-1/t 503 B - - SC-- 1/1/0/0/0 0/0 {127.0.0.1:P|agent12345} "GET / HTTP/1.1"`,
	}
	for i, w := range want {
		if g := normLog(got[i]); g != w {
			t.Errorf("line %d:\n got %s\nwant %s\n raw %s", i, g, w, got[i])
		}
	}
}

// TestTCPAndCLFLogLikeHAProxy checks option tcplog and option httplog clf.
func TestTCPAndCLFLogLikeHAProxy(t *testing.T) {
	sink := newUDPLogSink(t)
	org := helloOrigin(t)
	e, _ := startEngine(t, `
defaults
    log `+sink.addr()+` format raw local0
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend ft
    mode tcp
    bind 127.0.0.1:0
    option tcplog
    default_backend bt
backend bt
    mode tcp
    server s1 `+org+`
frontend fc
    mode http
    bind 127.0.0.1:0
    option httplog clf
    default_backend be
backend be
    mode http
    server s1 `+org+`
`)
	rawGet(t, e.Addrs()[0].String(), "/", "x")
	got := sink.wait(t, 1)
	// HAProxy compat: in TCP mode %Tw is the queue time plus one (2.6
	// subtracts a request time of -1), so 1 on loopback.
	if g, w := rePort.ReplaceAllString(reDate.ReplaceAllString(got[0], "[D]"), "127.0.0.1:P"), `^127\.0\.0\.1:P \[D\] ft bt/s1 [1-9]\d*/\d+/\d+ \d+ -- 1/1/0/0/0 0/0$`; !regexp.MustCompile(w).MatchString(g) {
		t.Errorf("tcplog:\n got %s\nwant %s", g, w)
	}
	rawGet(t, e.Addrs()[1].String(), "/?a=b", "x")
	got = sink.wait(t, 2)
	w := `^127\.0\.0\.1 - - \[\d\d/\w+/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /\?a=b HTTP/1\.1" 200 \d+ "" "" \d+ \d{3} "fc" "be" "s1" \d+ 0 \d+ \d+ \d+ ---- 1 1 0 0 0 0 0 "" "" $` // Tc: a loaded host takes ms to connect
	if !regexp.MustCompile(w).MatchString(got[1]) {
		t.Errorf("clf:\n got %q\nwant %s", got[1], w)
	}
}

// TestLogFormatLikeHAProxy renders a log-format with options, sample
// expressions, missing values and "%{+Q}o", as HAProxy 2.6.12 did.
func TestLogFormatLikeHAProxy(t *testing.T) {
	sink := newUDPLogSink(t)
	e, _ := startEngine(t, `
defaults
    mode http
    log `+sink.addr()+` format raw local0
frontend fe
    bind 127.0.0.1:0
    log-format "%ci  %{+Q}HM %HU %HP %HQ %HV %ST %[var(txn.x)] %{+Q}[capture.req.hdr(0)] %b %s %tsc %{+Q}f %{+E}[capture.req.hdr(1)] x%[var(txn.nope)]y %{+Q}o %ft %ID %CC %{-Q}r"
    http-request capture req.hdr(x-q) len 10
    http-request capture req.hdr(x-e) len 10
    http-request set-var(txn.x) str(vx)
    http-request set-log-level silent if { path /silent }
    http-request return status 200 content-type text/plain string ok
`)
	addr := e.Addrs()[0].String()
	get(t, addr, "/silent")
	get(t, addr, "/p/a?b=c", "X-Q: q v\r\n", "X-E: a\"b]c\r\n")
	got := sink.wait(t, 1)
	want := `127.0.0.1 "GET" /p/a?b=c /p/a ?b=c HTTP/1.1 200 vx "q v" fe <NOSRV> LR-- "fe" a\"b\]c x-y "fe" "" "" GET /p/a?b=c HTTP/1.1`
	if got[0] != want {
		t.Errorf("log-format:\n got %s\nwant %s", got[0], want)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(sink.wait(t, 1)); n != 1 {
		t.Errorf("set-log-level silent: %d lines", n)
	}
}

// TestTCPLogDontLogNull checks that "option dontlognull" drops TCP
// sessions without data, and logs the others.
func TestTCPLogDontLogNull(t *testing.T) {
	sink := newUDPLogSink(t)
	org := helloOrigin(t)
	e, _ := startEngine(t, `
defaults
    mode tcp
    log `+sink.addr()+` format raw local0
    option tcplog
    option dontlognull
    timeout client 5s
    timeout server 5s
frontend ft
    bind 127.0.0.1:0
    default_backend bt
backend bt
    server s1 `+org+`
`)
	c, err := net.Dial("tcp", e.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	rawGet(t, e.Addrs()[0].String(), "/", "x")
	got := sink.wait(t, 1)
	time.Sleep(100 * time.Millisecond)
	got = sink.wait(t, 1)
	if len(got) != 1 || !strings.Contains(got[0], " ft bt/s1 ") || !strings.Contains(got[0], " -- ") {
		t.Errorf("dontlognull: %q", got)
	}
}

// TestTCPLogStatesLikeHAProxy checks the tcplog lines of a content
// reject, a connection reject (not logged) and a refused server, against
// HAProxy 2.6.12's ("f1 f1/<NOSRV> -1/-1/0 0 PR ...", nothing,
// "f3 b2/s9 1/-1/0 0 SC ...").
func TestTCPLogStatesLikeHAProxy(t *testing.T) {
	sink := newUDPLogSink(t)
	org := helloOrigin(t)
	e, _ := startEngine(t, `
defaults
    mode tcp
    log `+sink.addr()+` format raw local0
    option tcplog
    timeout client 2s
    timeout server 2s
    timeout connect 1s
frontend f1
    bind 127.0.0.1:0
    tcp-request content reject
    default_backend b1
frontend f2
    bind 127.0.0.1:0
    tcp-request connection reject
    default_backend b1
frontend f3
    bind 127.0.0.1:0
    default_backend b2
backend b1
    server s1 `+org+`
backend b2
    retries 0
    server s9 `+deadAddr(t)+`
`)
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", e.Addrs()[i].String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("hi\n"))
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = io.ReadAll(c)
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	got := sink.wait(t, 2)
	time.Sleep(100 * time.Millisecond)
	got = sink.wait(t, 2)
	for i, w := range []string{
		`^127\.0\.0\.1:\d+ \[[^]]+\] f1 f1/<NOSRV> -1/-1/\d+ 0 PR 1/1/0/0/0 0/0$`,
		// HAProxy names the server it could not reach (b2/s9)
		`^127\.0\.0\.1:\d+ \[[^]]+\] f3 b2/<NOSRV> \d+/-1/\d+ 0 SC 1/1/0/0/0 0/0$`,
	} {
		if i >= len(got) || !regexp.MustCompile(w).MatchString(got[i]) {
			t.Errorf("line %d: got %q, want %s", i, got, w)
		}
	}
	if len(got) != 2 {
		t.Errorf("got %d lines, want 2: %q", len(got), got)
	}
}
