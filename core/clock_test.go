package core

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestClockFreshAfterLongBody checks that "timeout client" is an
// inactivity timeout during a body copy (a body coming a byte every
// 400 ms for 1.6 s passes a 1 s timeout), and that the engine's clock
// does not fall behind while a stream copies without waking up: the
// timeouts count from the last progress, not from the request head.
func TestClockFreshAfterLongBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		time.Sleep(300 * time.Millisecond)
		fmt.Fprintf(w, "got %d", len(b))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	e, _ := startEngine(t, `
defaults
    mode http
    timeout client 1s
    timeout server 1s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 `+ln.Addr().String()+`
`)
	c, err := net.DialTimeout("tcp", e.Addrs()[0].String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\n")
	for i := 0; i < 4; i++ {
		time.Sleep(400 * time.Millisecond)
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(b), "got 4") {
		t.Fatalf("%s %q, want 200 \"got 4\"", res.Status, b)
	}
}

// TestHalfClosedClient checks that a client that ends its side right
// after a request (nc -N) gets its response and the connection closes at
// once, not at the keep-alive timeout: the end of stream that came with
// the request's data is seen (netio.PollConn's reply wait is for server
// connections only).
func TestHalfClosedClient(t *testing.T) {
	org := helloOrigin(t)
	e, _ := startEngine(t, `
defaults
    mode http
    timeout client 60s
    timeout server 60s
    timeout connect 5s
    timeout http-keep-alive 60s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 `+org+`
`)
	c, err := net.DialTimeout("tcp", e.Addrs()[0].String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil || !strings.HasSuffix(string(b), "hello") {
		t.Fatalf("%q %v, want the response then the close", b, err)
	}
}
