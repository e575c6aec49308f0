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

// TestHeadBeforeBody: a response head is forwarded without waiting for
// the body, as HAProxy does: a server that answers its head and sends
// the body later (an event stream, a slow computation) has the client
// see the head at once, with a Content-Length body and a chunked one.
func TestHeadBeforeBody(t *testing.T) {
	release := make(chan struct{})
	origin := serveConns(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		line, _ := br.ReadString('\n')
		for {
			l, err := br.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
		}
		if strings.Contains(line, "/chunked") {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
			<-release
			io.WriteString(c, "5\r\nlater\r\n0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
		<-release
		io.WriteString(c, "later")
	})
	p := startProxy(t, `
defaults
   mode http
   timeout client 30s
   timeout server 30s
   timeout connect 5s
frontend fe
   bind 127.0.0.1:0
   default_backend be
backend be
   server s1 `+origin+`
`, nil)
	defer close(release)
	for _, path := range []string{"/length", "/chunked"} {
		c, err := net.DialTimeout("tcp", p.addr(0), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("%s: the head did not come before the body: %q %v", path, line, err)
		}
	}
}
