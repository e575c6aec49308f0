//go:build lua53

package test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCloseWithLastDataSeenAtOnce: a client whose last request (or line)
// and close arrive together is answered and closed at once, not at
// "timeout client". The client reads wait for the poller first when the
// kernel said the previous read left nothing (netio.WaitKnownEmpty): this
// is the case that wait must not miss. Each client first lets a read
// find its socket empty (the wait turns on then), then sends one
// exchange and waits for its answer, then sends the last one and closes.
func TestCloseWithLastDataSeenAtOnce(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/t.lua
defaults
   timeout client 30s
   timeout http-keep-alive 30s
frontend http
   mode http
   bind 127.0.0.1:0
   http-request return status 200 content-type text/plain string ok
listen echo
   mode tcp
   bind 127.0.0.1:0
   tcp-request content use-service lua.echo
`, map[string]string{"t.lua": `
core.register_service("echo", "tcp", function(applet)
   while true do
      local line = applet:getline()
      if line == nil or line == "" then
         break
      end
      applet:send(line)
   end
end)
`})
	const req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	cases := []struct {
		name, addr, first, wantFirst, last, wantLast string
	}{
		{"http", p.addr(0), req, "HTTP/1.1 200", req, "HTTP/1.1 200"},
		{"tcp service", p.addr(1), "one\n", "one\n", "two\n", "two\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 5; i++ {
				c, err := net.DialTimeout("tcp", tc.addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				time.Sleep(30 * time.Millisecond) // the proxy's first read finds nothing
				if _, err := io.WriteString(c, tc.first); err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(c)
				if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, tc.wantFirst) {
					t.Fatalf("first answer: %q %v", line, err)
				}
				if tc.name == "http" {
					drainHTTPResponse(t, br)
				}
				start := time.Now()
				if _, err := io.WriteString(c, tc.last); err != nil {
					t.Fatal(err)
				}
				_ = c.(*net.TCPConn).CloseWrite()
				rest, err := io.ReadAll(br)
				c.Close()
				if err != nil {
					t.Fatalf("after the close: %v (got %q in %v)", err, rest, time.Since(start))
				}
				if !strings.HasPrefix(string(rest), tc.wantLast) {
					t.Fatalf("last answer %q, want %q first", rest, tc.wantLast)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Fatalf("the connection closed %v after the client's close", d)
				}
			}
		})
	}
}

// drainHTTPResponse reads the rest of a response whose status line was
// read, up to its Content-Length body.
func drainHTTPResponse(t *testing.T, br *bufio.Reader) {
	t.Helper()
	n := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("headers: %v", err)
		}
		if line == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "content-length") {
			for _, ch := range strings.TrimSpace(v) {
				n = n*10 + int(ch-'0')
			}
		}
	}
	if _, err := io.ReadFull(br, make([]byte, n)); err != nil {
		t.Fatalf("body: %v", err)
	}
}

// TestAbortOnCloseWatchThenPipelined: with "option abortonclose", a
// watch waits on the client socket while the request is at the server;
// a next request arriving meanwhile wakes the watch, not the HTTP reader.
// The reader must not then wait for the poller (its last read left the
// socket empty): the next request is served at once, not at "timeout
// http-keep-alive".
func TestAbortOnCloseWatchThenPipelined(t *testing.T) {
	o := newHoldOrigin(t)
	p := startProxy(t, `
defaults
   mode http
   option abortonclose
   timeout client 30s
   timeout server 30s
   timeout connect 5s
   timeout http-keep-alive 30s
frontend fe
   bind 127.0.0.1:0
   default_backend be
backend be
   server s1 `+o.addr+`
`, nil)
	c, err := net.DialTimeout("tcp", p.addr(0), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	time.Sleep(30 * time.Millisecond) // the proxy's first read finds nothing
	if _, err := io.WriteString(c, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	o.waitPath(t, "/plain") // answered 200 ms later, the watch meanwhile
	if _, err := io.WriteString(c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	br := bufio.NewReader(c)
	for i, path := range []string{"/plain", "/next"} {
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("response %d (%s): %q %v after %v", i+1, path, line, err, time.Since(start))
		}
		drainHTTPResponse(t, br)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the pipelined request was answered after %v", d)
	}
}
