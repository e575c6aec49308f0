//go:build lua53

package test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echoLineOrigin echoes the lines of each connection; it counts the
// connections that sent something (so that a readiness probe is not
// counted).
func echoLineOrigin(t *testing.T) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	n := &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := br.Peek(1); err != nil {
					return
				}
				n.Add(1)
				_, _ = io.Copy(c, br)
			}()
		}
	}()
	return ln.Addr().String(), n
}

// lineConn is a client connection read line by line.
type lineConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialLine(t *testing.T, addr string) *lineConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	return &lineConn{c: c, br: bufio.NewReader(c)}
}

// send writes s and a newline.
func (l *lineConn) send(s string) { _, _ = io.WriteString(l.c, s+"\n") }

func (l *lineConn) line(t *testing.T) string {
	t.Helper()
	s, err := l.br.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, s)
	}
	return strings.TrimSpace(s)
}

// TestMaxConnDiff checks bind, frontend and global maxconn: with a limit
// of 2, a third connection waits in the listen queue (it is connected,
// and the proxy serves the other two) and is served once one closes.
// The same runs against haproxy when it is installed.
func TestMaxConnDiff(t *testing.T) {
	for _, c := range []struct{ name, global, fe, bind string }{
		{"bind", "", "", " maxconn 2"},
		{"frontend", "", "    maxconn 2\n", ""},
		{"global", "global\n    maxconn 2\n", "", ""},
		{"defaults", "", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			defaults := "defaults\n    mode tcp\n    timeout client 60s\n    timeout server 60s\n    timeout connect 10s\n"
			if c.name == "defaults" {
				defaults += "    maxconn 2\n"
			}
			cfg := c.global + defaults + "listen li\n    bind \"127.0.0.1:${FE_PORT}\"" + c.bind + "\n" + c.fe +
				"    server s1 \"${ORIGIN}\"\n"
			counts := map[string]*atomic.Int64{}
			impls := startImpls(t, cfg, func(impl string) map[string]string {
				addr, n := echoLineOrigin(t)
				counts[impl] = n
				return map[string]string{"ORIGIN": addr}
			})
			for _, im := range impls {
				n := counts[im.name]
				c1 := dialLine(t, im.addr)
				c1.send("c1")
				if got := c1.line(t); got != "c1" {
					t.Fatalf("%s: c1 got %q", im.name, got)
				}
				c2 := dialLine(t, im.addr)
				c2.send("c2")
				if got := c2.line(t); got != "c2" {
					t.Fatalf("%s: c2 got %q", im.name, got)
				}
				c3 := dialLine(t, im.addr) // connected by the kernel, queued
				c3.send("c3")
				// A round trip on c2 while c3 waits: the proxy is serving.
				c2.send("ping")
				if got := c2.line(t); got != "ping" {
					t.Fatalf("%s: c2 echo %q", im.name, got)
				}
				if got := n.Load(); got != 2 {
					t.Fatalf("%s: origin has %d connections while the third waits, want 2", im.name, got)
				}
				c1.c.Close()
				if got := c3.line(t); got != "c3" {
					t.Fatalf("%s: c3 got %q", im.name, got)
				}
				if got := n.Load(); got != 3 {
					t.Errorf("%s: origin has %d connections, want 3", im.name, got)
				}
				c2.c.Close()
				c3.c.Close()
			}
		})
	}
}
