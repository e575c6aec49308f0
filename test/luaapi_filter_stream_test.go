//go:build lua53

package test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wireRequest is a request as an origin received it, head and body bytes
// as they came on the wire.
type wireRequest struct {
	head textproto.MIMEHeader
	line string
	body []byte
}

// startRawOrigin runs an HTTP/1 origin that keeps each request's raw
// framing (content-length or chunks as sent) and answers "ok". A body
// shorter than its content-length is kept as far as it came within 2s.
func startRawOrigin(t *testing.T) (string, <-chan wireRequest) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got := make(chan wireRequest, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				tr := textproto.NewReader(bufio.NewReader(c))
				line, err := tr.ReadLine()
				if err != nil {
					return
				}
				h, _ := tr.ReadMIMEHeader()
				rr := wireRequest{head: h, line: line}
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				switch {
				case strings.EqualFold(h.Get("Transfer-Encoding"), "chunked"):
					for !bytes.HasSuffix(rr.body, []byte("\r\n0\r\n\r\n")) {
						b, err := tr.R.ReadByte()
						if err != nil {
							break
						}
						rr.body = append(rr.body, b)
					}
				case h.Get("Content-Length") != "":
					n, _ := strconv.Atoi(h.Get("Content-Length"))
					rr.body = make([]byte, n)
					k, _ := io.ReadFull(tr.R, rr.body)
					rr.body = rr.body[:k]
				}
				got <- rr
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			}()
		}
	}()
	return l.Addr().String(), got
}

// TestLuaFilterStreamedHTTP10Request covers a regression: an HTTP/1.0
// request body larger than a buffer, filtered as it streams, went to the
// server chunked, which an HTTP/1.0 server cannot read. HAProxy 2.6 keeps
// the request's content-length (the filter keeps the length), and answers
// a 500 when the filter changes the length.
func TestLuaFilterStreamedHTTP10Request(t *testing.T) {
	origin, got := startRawOrigin(t)
	cfg := `
global
   lua-load {dir}/u.lua
defaults
   mode http
   timeout client 10s
   timeout server 10s
   timeout connect 5s
frontend f
   bind 127.0.0.1:0
   filter lua.upper
   default_backend be
backend be
   server o ` + origin + "\n"
	grow := strings.Replace(luaUpperScript, "msg:set(b:upper())", `msg:set(b:upper() .. (msg:eom() and "+" or ""))`, 1)
	body := strings.Repeat("abcdefghi\n", 5000)
	req := fmt.Sprintf("POST /x HTTP/1.0\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	drain := func() {
		for len(got) > 0 {
			<-got
		}
	}
	run := func(t *testing.T, addr string, grown bool) {
		drain()
		resp := exchange(t, addr, req, false, 10*time.Second)
		var rr wireRequest
		select {
		case rr = <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("the origin got no request; response %q", resp)
		}
		if rr.line != "POST /x HTTP/1.0" || rr.head.Get("Transfer-Encoding") != "" || rr.head.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("request at the origin: %q %v", rr.line, rr.head)
		}
		if grown {
			if !strings.HasPrefix(resp, "HTTP/1.1 500 ") {
				t.Errorf("response: %q", resp)
			}
			return
		}
		if string(rr.body) != strings.ToUpper(body) {
			t.Errorf("body at the origin: %d bytes, uppercased=%v", len(rr.body), string(rr.body) == strings.ToUpper(string(rr.body)))
		}
		if !strings.HasPrefix(resp, "HTTP/1.1 200 ") || !strings.HasSuffix(resp, "OK") {
			t.Errorf("response: %q", resp)
		}
	}
	for _, grown := range []bool{false, true} {
		files := map[string]string{"u.lua": luaUpperScript}
		name := "same-length"
		if grown {
			files["u.lua"], name = grow, "longer"
		}
		t.Run(name, func(t *testing.T) {
			t.Run("luaproxy", func(t *testing.T) {
				p := startProxy(t, cfg, files)
				run(t, p.addr(0), grown)
			})
			t.Run("haproxy", func(t *testing.T) {
				addr, _ := runHAProxyLog(t, cfg, files)
				run(t, addr, grown)
			})
		})
	}
}
