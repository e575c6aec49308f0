//go:build lua53

package test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// luaLengthScript is a data filter on both channels that edits the body
// of the direction x-dir names ("req" or "res") as x-mode says: "none"
// leaves it, "set" uppercases each piece (same length), "grow" appends
// "X" at the end of the message, "shrink" removes the first byte.
const luaLengthScript = `
F = {flags = filter.FLT_CFG_FL_HTX}
F.__index = F
function F:new() return setmetatable({}, F) end
function F:start_analyze(txn, chn) filter.register_data_filter(self, chn) end
function F:http_headers(txn, msg)
  if msg.channel:is_resp() then return end
  local h = msg:get_headers()
  txn:set_var("txn.mode", h["x-mode"] and h["x-mode"][0] or "none")
  txn:set_var("txn.dir", h["x-dir"] and h["x-dir"][0] or "res")
end
function F:http_payload(txn, msg)
  local d = msg.channel:is_resp() and "res" or "req"
  if txn:get_var("txn.dir") ~= d then return end
  local mode, n = txn:get_var("txn.mode"), msg:input()
  if mode == "set" and n > 0 then
    msg:set(string.upper(msg:body(0, n)))
  elseif mode == "grow" and msg:eom() then
    msg:append("X")
  elseif mode == "shrink" and n > 0 and not self.cut then
    self.cut = true
    msg:remove(0, 1)
  end
end
core.register_filter("len", F, function(flt, args) return flt end)
`

// lengthBody is the body of n bytes the tests of the length filter send.
func lengthBody(n int) []byte {
	return bytes.Repeat([]byte("abcdefghi\n"), n/10+1)[:n]
}

// startFramingOrigin runs an origin that answers a body of 100000 bytes
// ("/big...") or 1000 bytes, chunked when the path contains "chunked",
// else with a content-length. Its x-req header tells how the request
// body came: "cl=<content-length> te=<transfer-encoding> len=<bytes>
// upper=<uppercased>"; a body shorter than its content-length is waited
// for 3s.
func startFramingOrigin(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveFraming(c)
		}
	}()
	return l.Addr().String()
}

func serveFraming(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return // short content-length body
	}
	info := fmt.Sprintf("cl=%s te=%s len=%d upper=%v", req.Header.Get("Content-Length"),
		strings.Join(req.TransferEncoding, ","), len(b), len(b) > 0 && bytes.Equal(b, bytes.ToUpper(b)))
	n := 1000
	if strings.HasPrefix(req.URL.Path, "/big") {
		n = 100000
	}
	body := lengthBody(n)
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 200 OK\r\nx-req: %s\r\n", info)
	if strings.Contains(req.URL.Path, "chunked") {
		out.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		for p := body; len(p) > 0; p = p[min(4000, len(p)):] {
			fmt.Fprintf(&out, "%x\r\n%s\r\n", min(4000, len(p)), p[:min(4000, len(p))])
		}
		out.WriteString("0\r\n\r\n")
	} else {
		fmt.Fprintf(&out, "Content-Length: %d\r\n\r\n%s", n, body)
	}
	_, _ = c.Write(out.Bytes())
}

// framing sums up a raw response: status, content-length and
// transfer-encoding headers, body length (dechunked) and whether the
// body was complete (a chunked one ends with its last chunk, a
// content-length one has all its bytes).
type framing struct {
	status, cl, te string
	body           []byte
	complete       bool
	xreq           string
}

func parseFraming(raw string) framing {
	var f framing
	head, rest, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		return f
	}
	lines := strings.Split(head, "\r\n")
	if st := strings.Fields(lines[0]); len(st) > 1 {
		f.status = st[1]
	}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		switch v = strings.TrimSpace(v); strings.ToLower(k) {
		case "content-length":
			f.cl = v
		case "transfer-encoding":
			f.te = v
		case "x-req":
			f.xreq = v
		}
	}
	if f.te == "" {
		f.body = []byte(rest)
		f.complete = f.cl != "" && f.cl == strconv.Itoa(len(rest))
		return f
	}
	for {
		sz, after, ok := strings.Cut(rest, "\r\n")
		n, err := strconv.ParseInt(sz, 16, 32)
		if !ok || err != nil || len(after) < int(n)+2 {
			return f
		}
		if n == 0 {
			f.complete = after == "\r\n"
			return f
		}
		f.body = append(f.body, after[:n]...)
		rest = after[n+2:]
	}
}

func (f framing) String() string {
	return fmt.Sprintf("status=%s content-length=%q transfer-encoding=%q body=%d complete=%v x-req=%q",
		f.status, f.cl, f.te, len(f.body), f.complete, f.xreq)
}

// TestLuaFilterKeepsResponseLength covers a regression: a response body
// larger than a buffer, filtered as it streams, was sent chunked (or
// close-delimited to an HTTP/1.0 client) although it had a
// content-length, and a smaller one got the length the filters left.
// HAProxy 2.6 never changes the framing of a filtered message: the
// content-length stays; a body the filters made longer is cut where the
// H1 mux refuses it (nothing at all when it fits in a buffer) and the
// connection closes; a shorter one goes as it is under the original
// content-length. A chunked body stays chunked, edits included.
func TestLuaFilterKeepsResponseLength(t *testing.T) {
	origin := startFramingOrigin(t)
	cfg := lengthCfg(origin)
	files := map[string]string{"len.lua": luaLengthScript}
	big, small := lengthBody(100000), lengthBody(1000)
	upper := func(b []byte) []byte { return bytes.ToUpper(b) }
	cases := []struct {
		path, mode, version string
		cl, te              string
		body                []byte // nil: a cut body (a prefix of the origin's)
		empty               bool   // no response at all
	}{
		{path: "/big", mode: "none", cl: "100000", body: big},
		{path: "/big", mode: "none", version: "1.0", cl: "100000", body: big},
		{path: "/big", mode: "set", cl: "100000", body: upper(big)},
		{path: "/big", mode: "grow", cl: "100000"},
		{path: "/big", mode: "shrink", cl: "100000", body: big[1:]},
		{path: "/bigchunked", mode: "none", te: "chunked", body: big},
		{path: "/bigchunked", mode: "none", version: "1.0", te: "chunked", body: big},
		{path: "/bigchunked", mode: "grow", te: "chunked", body: append(big[:len(big):len(big)], 'X')},
		{path: "/bigchunked", mode: "shrink", te: "chunked", body: big[1:]},
		{path: "/small", mode: "set", cl: "1000", body: upper(small)},
		{path: "/small", mode: "grow", empty: true},
		{path: "/small", mode: "shrink", cl: "1000", body: small[1:]},
		{path: "/smallchunked", mode: "none", te: "chunked", body: small},
		{path: "/smallchunked", mode: "grow", te: "chunked", body: append(small[:len(small):len(small)], 'X')},
		{path: "/smallchunked", mode: "shrink", te: "chunked", body: small[1:]},
	}
	run := func(t *testing.T, addr string) {
		for _, c := range cases {
			v := c.version
			if v == "" {
				v = "1.1"
			}
			req := "GET " + c.path + " HTTP/" + v + "\r\nHost: x\r\nx-dir: res\r\nx-mode: " + c.mode + "\r\n"
			if v == "1.1" {
				req += "Connection: close\r\n"
			}
			raw := exchange(t, addr, req+"\r\n", false, 10*time.Second)
			f := parseFraming(raw)
			name := c.path + " " + c.mode + " HTTP/" + v
			if c.empty {
				if raw != "" {
					t.Errorf("%s: want no response, got %v", name, f)
				}
				continue
			}
			if f.status != "200" || f.cl != c.cl || f.te != c.te {
				t.Errorf("%s: got %v, want content-length=%q transfer-encoding=%q", name, f, c.cl, c.te)
				continue
			}
			switch {
			case c.body == nil:
				if len(f.body) >= len(big) || !bytes.HasPrefix(big, f.body) {
					t.Errorf("%s: want a cut body, got %v", name, f)
				}
			case !bytes.Equal(f.body, c.body):
				t.Errorf("%s: got %v, want a body of %d bytes", name, f, len(c.body))
			case c.te == "chunked" && !f.complete:
				t.Errorf("%s: no last chunk: %v", name, f)
			}
		}
	}
	t.Run("luaproxy", func(t *testing.T) {
		p := startProxy(t, cfg, files)
		run(t, p.addr(0))
	})
	t.Run("haproxy", func(t *testing.T) {
		addr, _ := runHAProxyLog(t, cfg, files)
		run(t, addr)
	})
}

// TestLuaFilterKeepsRequestLength is TestLuaFilterKeepsResponseLength
// for request bodies, larger and smaller than a buffer. HAProxy 2.6: a
// content-length body keeps its length; when the filters make it
// longer the answer is a 500, when they make it shorter the server gets
// the shorter body under the original content-length and waits for the
// rest: a 504 once timeout server expires. A chunked body stays chunked,
// edits included.
func TestLuaFilterKeepsRequestLength(t *testing.T) {
	origin := startFramingOrigin(t)
	cfg := lengthCfg(origin)
	files := map[string]string{"len.lua": luaLengthScript}
	type result struct{ status, xreq string }
	cases := []struct {
		size    int
		chunked bool
		mode    string
		want    result
	}{
		{100000, false, "none", result{"200", "cl=100000 te= len=100000 upper=false"}},
		{100000, false, "set", result{"200", "cl=100000 te= len=100000 upper=true"}},
		{100000, false, "grow", result{"500", ""}},
		{100000, false, "shrink", result{"504", ""}},
		{100000, true, "none", result{"200", "cl= te=chunked len=100000 upper=false"}},
		{100000, true, "grow", result{"200", "cl= te=chunked len=100001 upper=false"}},
		{100000, true, "shrink", result{"200", "cl= te=chunked len=99999 upper=false"}},
		{1000, false, "set", result{"200", "cl=1000 te= len=1000 upper=true"}},
		{1000, false, "grow", result{"500", ""}},
		{1000, false, "shrink", result{"504", ""}},
		{1000, true, "none", result{"200", "cl= te=chunked len=1000 upper=false"}},
		{1000, true, "grow", result{"200", "cl= te=chunked len=1001 upper=false"}},
		{1000, true, "shrink", result{"200", "cl= te=chunked len=999 upper=false"}},
	}
	run := func(t *testing.T, addr string) {
		for _, c := range cases {
			body := lengthBody(c.size)
			req := "POST /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-dir: req\r\nx-mode: " + c.mode + "\r\n"
			if c.chunked {
				req += "Transfer-Encoding: chunked\r\n\r\n"
				for p := body; len(p) > 0; p = p[min(4000, len(p)):] {
					req += fmt.Sprintf("%x\r\n%s\r\n", min(4000, len(p)), p[:min(4000, len(p))])
				}
				req += "0\r\n\r\n"
			} else {
				req += fmt.Sprintf("Content-Length: %d\r\n\r\n%s", c.size, body)
			}
			f := parseFraming(exchange(t, addr, req, false, 10*time.Second))
			if got := (result{f.status, f.xreq}); got != c.want {
				t.Errorf("%d bytes chunked=%v %s: got %v, want %+v", c.size, c.chunked, c.mode, f, c.want)
			}
		}
	}
	t.Run("luaproxy", func(t *testing.T) {
		p := startProxy(t, cfg, files)
		run(t, p.addr(0))
	})
	t.Run("haproxy", func(t *testing.T) {
		addr, _ := runHAProxyLog(t, cfg, files)
		run(t, addr)
	})
}

// lengthCfg is the configuration of the length tests: the "len" filter
// in front of origin, timeout server 1s (the 504 of a short body).
func lengthCfg(origin string) string {
	return `
global
   lua-load {dir}/len.lua
defaults
   mode http
   timeout client 5s
   timeout server 1s
   timeout connect 5s
frontend f
   bind 127.0.0.1:0
   filter lua.len
   default_backend be
backend be
   server o ` + origin + "\n"
}
