package core

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawOrigin answers every request on a keep-alive connection with a fixed
// small response, without parsing more than the head's end.
func rawOrigin(b testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkHTTPProxy measures one keep-alive request/response through an
// HTTP frontend to a loopback origin (client, proxy and origin in one
// process: compare allocs/op, and ns/op between runs of the same machine).
func BenchmarkHTTPProxy(b *testing.B) {
	origin := rawOrigin(b)
	e, _ := loadEngine(b, fmt.Sprintf(`
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:0
    http-request set-header X-Forwarded-Proto http
    default_backend be
backend be
    server s1 %s
`, origin))
	if err := e.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Stop() })
	c, err := net.Dial("tcp", e.Addrs()[0].String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	req := []byte("GET /bench HTTP/1.1\r\nHost: bench\r\nUser-Agent: luaproxy-bench\r\nAccept: */*\r\n\r\n")
	br := bufio.NewReader(c)
	read := func() {
		// status line, headers, 5-byte body
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if line == "\r\n" {
				break
			}
		}
		if _, err := io.ReadFull(br, make([]byte, 5)); err != nil {
			b.Fatal(err)
		}
	}
	c.Write(req)
	read()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		read()
	}
}

var _ = strings.Contains
