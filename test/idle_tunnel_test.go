package test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// lineEcho writes every line of c back; with head, a request head (an
// upgrade) is read first and answered with head.
func lineEcho(head string) func(c net.Conn) {
	return func(c net.Conn) {
		br := bufio.NewReaderSize(c, 256)
		if head != "" {
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if line == "\r\n" {
					break
				}
			}
			if _, err := c.Write([]byte(head)); err != nil {
				return
			}
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if _, err := c.Write([]byte(line)); err != nil {
				return
			}
		}
	}
}

// idleHeapPerConn opens n connections with open, each past one exchange,
// and returns the Go heap they added each (the test's origin and client
// sides included: ~4.5 KiB).
func idleHeapPerConn(t *testing.T, n int, open func() net.Conn) int64 {
	t.Helper()
	heap := func() int64 {
		h, _ := memInUse()
		return h
	}
	open().Close() // the pools
	time.Sleep(50 * time.Millisecond)
	h0 := heap()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		conns = append(conns, open())
	}
	time.Sleep(100 * time.Millisecond) // every direction back to its wait
	return (heap() - h0) / int64(n)
}

// echoLine sends "ping" on c and checks that it comes back.
func echoLine(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("echo %q, %v", line, err)
	}
}

// TestIdleTCPForwardHoldsNoBuffer: a forwarded TCP connection waiting for
// either side holds no buffer (netio.Forward borrows them from the
// engine's pool while data is in them), as HAProxy's idle connections
// hold none: one 16 KiB buffer per direction was kept for the whole
// connection (40 KiB of heap each in this test then, 7.3 KiB now).
func TestIdleTCPForwardHoldsNoBuffer(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 200 connections")
	}
	origin := serveConns(t, lineEcho(""))
	p := startProxy(t, fmt.Sprintf(`
defaults
    mode tcp
    timeout client 30s
    timeout server 30s
    timeout connect 5s
listen li
    bind 127.0.0.1:0
    server o1 %s
`, origin), nil)
	per := idleHeapPerConn(t, 200, func() net.Conn {
		c := must(net.Dial("tcp", p.addr(0)))
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		echoLine(t, c, bufio.NewReaderSize(c, 64))
		return c
	})
	t.Logf("idle forwarded TCP connections: %d bytes of heap each", per)
	if per > 24<<10 {
		t.Errorf("an idle forwarded TCP connection takes %d bytes of heap: its buffers are kept", per)
	}
}

// TestWebSocketTunnel: an HTTP Upgrade answered 101 by the server turns
// the connection into a tunnel both ways (HAProxy's WebSocket support);
// a quiet one holds no buffer, neither the HTTP layer's (client and
// server side) nor the forwarding's: 92 KiB of heap each in this test
// when they were kept, 11 KiB now.
func TestWebSocketTunnel(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 200 connections")
	}
	origin := serveConns(t, lineEcho("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"))
	p := startProxy(t, fmt.Sprintf(`
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 5s
    timeout tunnel 1h
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server o1 %s
`, origin), nil)
	upgrade := func() net.Conn {
		c := must(net.Dial("tcp", p.addr(0)))
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReaderSize(c, 64)
		head, err := readHead(br)
		if err != nil || !strings.HasPrefix(head, "HTTP/1.1 101") {
			t.Fatalf("upgrade: %q, %v", head, err)
		}
		echoLine(t, c, br)
		echoLine(t, c, br)
		return c
	}
	per := idleHeapPerConn(t, 200, upgrade)
	t.Logf("idle WebSocket tunnels: %d bytes of heap each", per)
	if per > 24<<10 {
		t.Errorf("an idle WebSocket tunnel takes %d bytes of heap: buffers are kept", per)
	}
}
