package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkHTTPLuaAction measures a keep-alive request through an
// http-request Lua action (txn.f:req_fhdr, txn.http:req_set_header) in
// front of a loopback origin: the bench suite's action_proxy, in-process,
// for profiles and allocation counts.
func BenchmarkHTTPLuaAction(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
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
						c.Write(resp)
					}
				}
			}()
		}
	}()
	p := startProxy(b, fmt.Sprintf(`
global
    lua-load {dir}/action.lua
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:0
    http-request lua.tag_host
    default_backend origin
backend origin
    server o1 %s
`, ln.Addr()), map[string]string{"action.lua": `
core.register_action("tag_host", { "http-req" }, function(txn)
   local host = txn.f:req_fhdr("host") or ""
   txn.http:req_set_header("x-lua-host", "lua:" .. host)
end)`})
	defer p.e.Stop()
	c, err := net.Dial("tcp", p.addr(0))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	req := []byte("GET /bench HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: b\r\n\r\n")
	br := bufio.NewReader(c)
	one := func() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := readHead(br); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(br, make([]byte, 5)); err != nil {
			b.Fatal(err)
		}
	}
	one()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		one()
	}
}
