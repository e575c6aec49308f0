//go:build lua53

package test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"luaproxy/core"
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

// luaLinesScript holds the request body back until 3000 bytes or more
// are there (filter.WAIT), then uppercases and passes on whole lines only
// (returning their length), all of it at the end of the message. At
// http_end it logs whether it was called more than once, whether it
// waited, how many calls brought no new data, and its largest window.
const luaLinesScript = `
L = {flags = filter.FLT_CFG_FL_HTX}
L.__index = L
function L:new() return setmetatable({calls = 0, repeats = 0, waits = 0, maxwin = 0, held = 0}, L) end
function L:start_analyze(txn, chn) if not chn:is_resp() then filter.register_data_filter(self, chn) end end
function L:http_payload(txn, msg)
  local b = msg:body() or ""
  self.calls = self.calls + 1
  if #b <= self.held and not msg:eom() then self.repeats = self.repeats + 1 end
  self.maxwin = math.max(self.maxwin, #b)
  if msg:eom() then
    self.held = 0
    msg:set(b:upper())
    return
  end
  local i = b:match(".*\n()")
  if not i or #b < 3000 then
    self.held = #b
    self.waits = self.waits + 1
    return filter.WAIT
  end
  msg:set(b:sub(1, i - 1):upper(), 0, i - 1)
  self.held = #b - (i - 1)
  return i - 1
end
function L:http_end(txn, msg)
  core.Info(string.format("lines calls>1=%s waited=%s repeats=%d maxwin=%d", tostring(self.calls > 1), tostring(self.waits > 0), self.repeats, self.maxwin))
end
core.register_filter("lines", L, function(flt, args) return flt end)
`

// TestLuaFilterHTTPPayloadWait covers a regression: filter.WAIT from
// http_payload was served by calling the filter again after a sleep,
// with the same data. A filter that waits is now called again when more
// of the body came (or at its end), and sees what it held with the new
// data; what it passes on goes at once. The body (larger than a buffer)
// goes in small writes; the origin must get it uppercased, in luaproxy
// as in HAProxy 2.6, and luaproxy must never call the filter without new
// data, nor show it more than a buffer.
func TestLuaFilterHTTPPayloadWait(t *testing.T) {
	origin, got := startRawOrigin(t)
	cfg := `
global
   lua-load {dir}/l.lua
defaults
   mode http
   timeout client 10s
   timeout server 10s
   timeout connect 5s
frontend f
   bind 127.0.0.1:0
   filter lua.lines
   default_backend be
backend be
   server o ` + origin + "\n"
	files := map[string]string{"l.lua": luaLinesScript}
	body := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789\n", 1700) // 62900 bytes
	linesLog := regexp.MustCompile(`lines calls>1=(\w+) waited=(\w+) repeats=(\d+) maxwin=(\d+)`)
	run := func(t *testing.T, addr string, log *syncBuffer) []string {
		for len(got) > 0 {
			<-got
		}
		from := len(log.String())
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(body))
		for i := 0; i < len(body); i += 1000 {
			if _, err := io.WriteString(c, body[i:min(i+1000, len(body))]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		resp, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(resp), "HTTP/1.1 200") {
			t.Errorf("response: %q", resp)
		}
		select {
		case rr := <-got:
			if string(rr.body) != strings.ToUpper(body) || rr.head.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("the origin got %d bytes (content-length %s), uppercased=%v", len(rr.body), rr.head.Get("Content-Length"), string(rr.body) == strings.ToUpper(string(rr.body)))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the origin got no request")
		}
		var m []string
		waitFor(t, func() bool { m = linesLog.FindStringSubmatch(log.String()[from:]); return m != nil })
		if w, _ := strconv.Atoi(m[4]); m[1] != "true" || m[2] != "true" || w > core.DefaultBufSize {
			t.Errorf("%s: want several calls, some waiting, windows of at most %d bytes", m[0], core.DefaultBufSize)
		}
		return m
	}
	t.Run("luaproxy", func(t *testing.T) {
		p := startProxy(t, cfg, files)
		if m := run(t, p.addr(0), p.log); m[3] != "0" {
			t.Errorf("%s: the filter was called again without new data", m[0])
		}
	})
	t.Run("haproxy", func(t *testing.T) {
		addr, log := runHAProxyLog(t, cfg, files)
		run(t, addr, log)
	})
}

// TestLuaFilterHTTPPayloadHoldsABuffer checks that a filter that keeps
// answering filter.WAIT holds at most a buffer of a larger body: nothing
// of the body reaches the server, and the request ends when the server
// times out waiting for it (504), in luaproxy as in HAProxy 2.6.
func TestLuaFilterHTTPPayloadHoldsABuffer(t *testing.T) {
	origin, got := startRawOrigin(t)
	cfg := `
global
   lua-load {dir}/h.lua
defaults
   mode http
   timeout client 1s
   timeout server 1s
   timeout connect 5s
frontend f
   bind 127.0.0.1:0
   filter lua.hold
   default_backend be
backend be
   server o ` + origin + "\n"
	files := map[string]string{"h.lua": `
H = {flags = filter.FLT_CFG_FL_HTX}
H.__index = H
function H:new() return setmetatable({}, H) end
function H:start_analyze(txn, chn) if not chn:is_resp() then filter.register_data_filter(self, chn) end end
function H:http_payload(txn, msg) core.Info("hold window " .. #(msg:body() or "")) return filter.WAIT end
core.register_filter("hold", H, function(flt, args) return flt end)
`}
	body := strings.Repeat("x", 50000)
	req := fmt.Sprintf("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	window := regexp.MustCompile(`hold window (\d+)`)
	run := func(t *testing.T, addr string, log *syncBuffer) {
		for len(got) > 0 {
			<-got
		}
		from := len(log.String())
		if r := exchange(t, addr, req, false, 10*time.Second); !strings.HasPrefix(r, "HTTP/1.1 504 ") {
			t.Errorf("response: %q", r)
		}
		select {
		case rr := <-got:
			if len(rr.body) != 0 {
				t.Errorf("the origin got %d bytes of the body", len(rr.body))
			}
		case <-time.After(5 * time.Second):
			t.Errorf("the origin got no request head")
		}
		ws := window.FindAllStringSubmatch(log.String()[from:], -1)
		for _, w := range ws {
			if n, _ := strconv.Atoi(w[1]); n > core.DefaultBufSize || n == 0 {
				t.Errorf("%s: want a window of 1 to %d bytes", w[0], core.DefaultBufSize)
			}
		}
		if len(ws) == 0 {
			t.Errorf("http_payload was not called:\n%s", log.String()[from:])
		}
	}
	t.Run("luaproxy", func(t *testing.T) {
		p := startProxy(t, cfg, files)
		run(t, p.addr(0), p.log)
	})
	t.Run("haproxy", func(t *testing.T) {
		addr, log := runHAProxyLog(t, cfg, files)
		run(t, addr, log)
	})
}
