//go:build lua53

package test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"luaproxy/core"
)

// luaFilterScript declares the filters of TestLuaFilters. "trace" logs
// every callback (the sequence was checked against HAProxy 2.6.12 with the
// same script, its origin being a Lua service), adds a header in both
// directions, rewrites the request and response bodies, and returns
// filter.ERROR where the request asks for it (x-fail).
const luaFilterScript = `
T = {}
T.id = "trace"
T.flags = filter.FLT_CFG_FL_HTX
T.__index = T
function T:new()
  core.Info("trace new " .. self.args[1])
  return setmetatable({}, T)
end
local function dir(c) if c:is_resp() then return "res" else return "req" end end
function T:start_analyze(txn, chn)
  core.Info("trace start_analyze " .. dir(chn))
  filter.register_data_filter(self, chn)
end
function T:end_analyze(txn, chn) core.Info("trace end_analyze " .. dir(chn)) end
function T:http_headers(txn, msg)
  local d = dir(msg.channel)
  core.Info("trace http_headers " .. d)
  msg:add_header("x-flt-" .. d, "1")
  if d == "req" then
    local h = msg:get_headers()["x-fail"]
    txn:set_var("txn.fail", h and h[0] or "")
  end
  if txn:get_var("txn.fail") == d then return filter.ERROR end
  return filter.CONTINUE
end
function T:http_payload(txn, msg)
  local d = dir(msg.channel)
  local b = msg:body()
  core.Info("trace http_payload " .. d .. " " .. tostring(b and #b) .. " eom=" .. tostring(msg:eom()))
  if b and #b > 0 then msg:set("<" .. string.upper(b) .. ">") end
end
function T:http_end(txn, msg)
  core.Info("trace http_end " .. dir(msg.channel))
  return filter.CONTINUE
end
core.register_filter("trace", T, function(flt, args) flt.args = args return flt end)

-- headers only: no data filter, so no http_payload nor http_end
H = {flags = filter.FLT_CFG_FL_HTX}
H.__index = H
function H:new() return setmetatable({}, H) end
function H:http_headers(txn, msg) core.Info("hdr http_headers " .. tostring(msg:is_resp())) end
function H:http_end(txn, msg) core.Info("hdr http_end") end
core.register_filter("hdr", H, function(flt, args) return flt end)

-- no FLT_CFG_FL_HTX: not attached to HTTP streams
N = {}
N.__index = N
function N:new() core.Info("nohtx new") return setmetatable({}, N) end
core.register_filter("nohtx", N, function(flt, args) return flt end)

-- the origin of the "svc" frontend: it shows what it received
core.register_service("svc", "http", function(applet)
  local b = applet:receive() or ""
  applet:set_status(200)
  applet:add_header("x-seen", tostring(applet.headers["x-flt-req"] and applet.headers["x-flt-req"][0]) .. "/" .. b)
  applet:start_response()
  applet:send("hello ")
  applet:send("service")
end)
`

const luaFilterCfg = `
global
   lua-load {dir}/f.lua
defaults
   mode http
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend trace
   bind 127.0.0.1:0
   filter lua.trace one two
   default_backend be
frontend plain
   bind 127.0.0.1:0
   filter lua.hdr
   filter lua.nohtx
   default_backend be
backend be
   server o {origin}
`

func TestLuaFilters(t *testing.T) {
	// Bodies are chunked both ways: the filter changes their length,
	// which a content-length message cannot take (HAProxy compat, see
	// TestLuaFilterKeepsResponseLength).
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("x-seen", r.Header.Get("x-flt-req")+"/"+string(b))
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "hello origin")
	}))
	defer origin.Close()
	cfg := strings.Replace(luaFilterCfg, "{origin}", strings.TrimPrefix(origin.URL, "http://"), 1)
	p := startProxy(t, cfg, map[string]string{"f.lua": luaFilterScript})

	traceLines := func() []string {
		var out []string
		for _, m := range regexp.MustCompile(`(?m)(trace|hdr|nohtx) [a-z_]+( [a-z]+)?`).FindAllString(p.log.String(), -1) {
			out = append(out, m)
		}
		return out
	}
	seq := []string{"trace new one", "trace start_analyze req", "trace http_headers req", "trace http_payload req",
		"trace http_end req", "trace start_analyze res", "trace http_headers res", "trace http_payload res",
		"trace http_end res", "trace end_analyze req", "trace end_analyze res"}

	t.Run("headers-body-order", func(t *testing.T) {
		// two requests on one connection: one filter instance each
		req := "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
			"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
		got := exchange(t, p.addr(0), req, false, 5*time.Second)
		if n := strings.Count(got, "HTTP/1.1 200"); n != 2 {
			t.Fatalf("want 2 responses, got:\n%s", got)
		}
		for _, want := range []string{"x-flt-res: 1", "X-Seen: 1/\r\n", "X-Seen: 1/<ABC>", "Transfer-Encoding: chunked\r\n", "\r\ne\r\n<HELLO ORIGIN>\r\n0\r\n"} {
			if !strings.Contains(got, want) {
				t.Errorf("response lacks %q:\n%s", want, got)
			}
		}
		p.waitLog(t, "trace end_analyze res", 2*time.Second)
		time.Sleep(50 * time.Millisecond)
		lines := traceLines()
		want := append(append([]string(nil), seq...), seq...)
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("callbacks:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		// HAProxy compat: for a request without a body HAProxy's
		// http_msg:body() is nil; luaproxy's HTTPMessage.body gives ""
		// (http_message.go treats only a buffered body as complete).
		if !strings.Contains(p.log.String(), "trace http_payload req 0 eom=true") ||
			!strings.Contains(p.log.String(), "trace http_payload req 3 eom=true") {
			t.Errorf("payload lines:\n%s", p.log)
		}
	})

	t.Run("error-request", func(t *testing.T) {
		got := exchange(t, p.addr(0), "GET / HTTP/1.1\r\nHost: x\r\nx-fail: req\r\n\r\n", false, 5*time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 400") || !strings.Contains(got, "connection: close") {
			t.Errorf("got:\n%s", got)
		}
	})

	t.Run("error-response", func(t *testing.T) {
		// HAProxy 2.6.12: the client connection is closed, no response
		got := exchange(t, p.addr(0), "GET / HTTP/1.1\r\nHost: x\r\nx-fail: res\r\n\r\n", false, 5*time.Second)
		if got != "" {
			t.Errorf("got:\n%s", got)
		}
	})

	t.Run("headers-only-and-no-htx", func(t *testing.T) {
		got := exchange(t, p.addr(1), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false, 5*time.Second)
		if !strings.Contains(got, "hello origin") {
			t.Fatalf("got:\n%s", got)
		}
		log := p.waitLog(t, "hdr http_headers true", 2*time.Second)
		if !strings.Contains(log, "hdr http_headers false") || strings.Contains(log, "hdr http_end") || strings.Contains(log, "nohtx new") {
			t.Errorf("log:\n%s", log)
		}
	})

	if strings.Contains(p.log.String(), "runtime error") {
		t.Errorf("log:\n%s", p.log)
	}
}

// luaUpperScript uppercases the bodies of both directions piece by piece
// and logs, at http_end, how many pieces it saw, the largest, and
// whether eom was set on the last one only.
const luaUpperScript = `
U = {flags = filter.FLT_CFG_FL_HTX}
U.__index = U
function U:new() return setmetatable({n = 0, max = 0, eoms = 0, bytes = 0}, U) end
function U:start_analyze(txn, chn) filter.register_data_filter(self, chn) end
function U:http_payload(txn, msg)
  local b = msg:body()
  if msg:input() ~= (b and #b or 0) then core.Info("upper input mismatch") end
  self.n = self.n + 1
  if b then
    self.max = math.max(self.max, #b)
    self.bytes = self.bytes + #b
    msg:set(b:upper())
  end
  if msg:eom() then self.eoms = self.eoms + 1 end
end
function U:http_end(txn, msg)
  local d = msg.channel:is_resp() and "res" or "req"
  core.Info(string.format("upper %s pieces>1=%s max=%d bytes=%d eoms=%d", d, tostring(self.n > 1), self.max, self.bytes, self.eoms))
  self.n, self.max, self.eoms, self.bytes = 0, 0, 0, 0
end
core.register_filter("upper", U, function(flt, args) return flt end)
`

// TestLuaFilterLargeBody sends 1 MiB bodies both ways through a filter
// that uppercases them: http_payload gets them in pieces of at most
// tune.bufsize, and the edited pieces arrive whole and in order, in
// luaproxy as in HAProxy 2.6.
func TestLuaFilterLargeBody(t *testing.T) {
	const size = 1 << 20
	lower := bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz0123456789\n"), size/37+1)[:size]
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("x-req-ok", strconv.FormatBool(bytes.Equal(b, bytes.ToUpper(lower))))
		w.Header().Set("x-req-len", strconv.Itoa(len(b)))
		if r.URL.Path == "/length" {
			w.Header().Set("content-length", strconv.Itoa(size))
		}
		_, _ = w.Write(lower)
	}))
	defer origin.Close()
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
   server o ` + strings.TrimPrefix(origin.URL, "http://") + "\n"
	files := map[string]string{"u.lua": luaUpperScript}
	run := func(t *testing.T, addr string, log *syncBuffer) {
		for _, path := range []string{"/chunked", "/length"} {
			resp, err := http.Post("http://"+addr+path, "text/plain", bytes.NewReader(lower))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if ok, n := resp.Header.Get("x-req-ok"), resp.Header.Get("x-req-len"); ok != "true" {
				t.Errorf("%s: request body at the origin: uppercased=%s length=%s", path, ok, n)
			}
			if !bytes.Equal(body, bytes.ToUpper(lower)) {
				t.Errorf("%s: response body: %d bytes, uppercased=%v", path, len(body), bytes.Equal(bytes.ToUpper(body), body))
			}
		}
		// each direction of each request: several pieces, none larger
		// than tune.bufsize, all the bytes, eom on one piece
		waitFor(t, func() bool { return len(upperLine.FindAllString(log.String(), -1)) == 4 })
		for _, m := range upperLine.FindAllStringSubmatch(log.String(), -1) {
			if max, _ := strconv.Atoi(m[1]); max > core.DefaultBufSize || m[2] != strconv.Itoa(size) || m[3] != "1" {
				t.Errorf("%s: want pieces of at most %d bytes, %d bytes, one eom", m[0], core.DefaultBufSize, size)
			}
		}
	}
	t.Run("luaproxy", func(t *testing.T) {
		p := startProxy(t, cfg, files)
		run(t, p.addr(0), p.log)
		// as in HAProxy 2.6.12, one piece (the end of the chunked
		// request) has input() one byte past body(): its end-of-trailers
		// block
		if n := strings.Count(p.log.String(), "mismatch"); n != 1 {
			t.Errorf("%d mismatches, want 1; log:\n%s", n, p.log)
		}
	})
	t.Run("haproxy", func(t *testing.T) {
		addr, log := runHAProxyLog(t, cfg, files)
		run(t, addr, log)
	})
}

var upperLine = regexp.MustCompile(`upper (?:req|res) pieces>1=true max=(\d+) bytes=(\d+) eoms=(\d+)`)

// TestLuaFilterServiceAgainstHAProxy checks that filters see the request
// an HTTP service answers and the response it produces, with the same
// callbacks, headers and bodies as in HAProxy 2.6.
func TestLuaFilterServiceAgainstHAProxy(t *testing.T) {
	cfg := `
global
   lua-load {dir}/f.lua
defaults
   mode http
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend svc
   bind 127.0.0.1:0
   filter lua.trace one two
   http-request use-service lua.svc
`
	files := map[string]string{"f.lua": luaFilterScript}
	// HAProxy 2.6.12: the applet's response ends first
	seq := "trace new one\ntrace start_analyze req\ntrace http_headers req\ntrace http_payload req\n" +
		"trace http_end req\ntrace start_analyze res\ntrace http_headers res\ntrace http_payload res\n" +
		"trace http_end res\ntrace end_analyze res\ntrace end_analyze req"
	run := func(t *testing.T, addr string, log *syncBuffer) {
		from := len(log.String())
		raw := exchange(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", false, 5*time.Second)
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
		if err != nil {
			t.Fatalf("%v:\n%s", err, raw)
		}
		body, _ := io.ReadAll(resp.Body)
		// the service sees the head before http_headers(req) added
		// x-flt-req, and the body the filter rewrote
		if resp.StatusCode != 200 || resp.Header.Get("x-flt-res") != "1" || resp.Header.Get("x-seen") != "nil/<ABC>" || string(body) != "<HELLO SERVICE>" {
			t.Errorf("response:\n%s", raw)
		}
		waitFor(t, func() bool { return strings.Contains(log.String()[from:], "trace end_analyze req") })
		var lines []string
		for _, m := range regexp.MustCompile(`(?m)trace [a-z_]+( [a-z]+)?`).FindAllString(log.String()[from:], -1) {
			lines = append(lines, m)
		}
		if got := strings.Join(lines, "\n"); got != seq {
			t.Errorf("callbacks:\n%s\nwant:\n%s", got, seq)
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
