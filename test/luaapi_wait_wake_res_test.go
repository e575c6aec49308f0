//go:build lua53

package test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// luaWaitResScript is luaWaitScript for the response: its filter's
// callback named by the first argument answers filter.WAIT on the
// response (payload callbacks register a data filter on it), its action
// act.YIELD; each logs its calls, and sets its wake time when one is
// given (0: none).
const luaWaitResScript = `
W = {flags = filter.FLT_CFG_FL_HTX}
W.__index = W
function W:new() return setmetatable({n = 0, cb = self.cb, wt = self.wt}, W) end
function W:start_analyze(txn, chn)
  if chn:is_resp() and self.cb ~= "http_headers" then filter.register_data_filter(self, chn) end
end
local function cb(name)
  return function(self, txn, x)
    if name ~= self.cb or not x:is_resp() then return end
    self.n = self.n + 1
    core.Info(string.format("waiting %s call %d", name, self.n))
    if self.wt > 0 then filter.wake_time(self.wt) end
    return filter.WAIT
  end
end
W.http_headers, W.http_payload, W.tcp_payload = cb("http_headers"), cb("http_payload"), cb("tcp_payload")
core.register_filter("wait", W, function(flt, args) flt.cb = args[1]; flt.wt = tonumber(args[2]); return flt end)

core.register_action("yield", {"http-res", "tcp-res"}, function(txn, wt)
  local n = (txn:get_var("txn.n") or 0) + 1
  txn:set_var("txn.n", n)
  core.Info(string.format("waiting action call %d", n))
  if tonumber(wt) > 0 then act.wake_time(tonumber(wt)) end
  return act.YIELD
end, 1)
`

// resPieceOrigin reads the request's first line, then writes the pieces
// (each after its pause) and closes, unless hold: it then waits for the
// client to close.
func resPieceOrigin(t *testing.T, pieces []inspectPiece, hold bool) string {
	t.Helper()
	return scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(15 * time.Second))
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			return
		}
		for _, p := range pieces {
			time.Sleep(p.after)
			if _, err := io.WriteString(c, p.data); err != nil {
				return
			}
		}
		if hold {
			_, _ = c.Read(make([]byte, 1))
		}
	}).Addr().String()
}

// TestLuaResponseWaitWakesLikeHAProxy covers a regression: an action of
// a response rule set answering act.YIELD, and a filter's http_headers on
// the response answering filter.WAIT, were called again only at their
// wake time. HAProxy 2.6 calls them again when the stream is woken by the
// response too: its data, the server's close. The server's close calls a
// filter once more, then the client is closed without a response; an
// action is called once more and waits on (in TCP, for the tcp-response
// inspect-delay, without which a yield is not waited for at all). A
// tcp_payload holding data (filter.WAIT) is called again at its wake
// time, as data comes.
func TestLuaResponseWaitWakesLikeHAProxy(t *testing.T) {
	ms := time.Millisecond
	head := "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
	// the server's answer in pieces, then its close
	httpPieces := []inspectPiece{{0, head + "ab"}, {300 * ms, "cd"}, {300 * ms, "ef"}, {300 * ms, ""}}
	tcpPieces := []inspectPiece{{0, "ab"}, {300 * ms, "cd"}, {300 * ms, "ef"}, {300 * ms, ""}}
	cases := []struct {
		name, mode, rule string
		pieces           []inspectPiece
		hold             bool   // the server stays open after its pieces
		min, max         int    // how many calls
		closed           bool   // the client is closed before the end of the observation
		resp             string // what the client gets
	}{
		{"http/action/data", "http", "http-response lua.yield 0", httpPieces, false, 3, 5, false, ""},
		{"http/http_headers/data", "http", "filter lua.wait http_headers 0", httpPieces, false, 3, 5, true, ""},
		{"http/action/idle", "http", "http-response lua.yield 0", httpPieces[:1], true, 1, 1, false, ""},
		{"http/http_headers/idle", "http", "filter lua.wait http_headers 0", httpPieces[:1], true, 1, 1, false, ""},
		{"tcp/action/data", "tcp", "tcp-response inspect-delay 3s\n   tcp-response content lua.yield 0", tcpPieces, false, 4, 6, false, ""},
		{"tcp/action/idle", "tcp", "tcp-response inspect-delay 3s\n   tcp-response content lua.yield 0", tcpPieces[:1], true, 2, 2, false, ""},
		{"tcp/action/no inspect-delay", "tcp", "tcp-response content lua.yield 0", tcpPieces, false, 1, 1, true, "abcdef"},
		// a whole body held: called again at each wake time. HAProxy
		// forwards the head meanwhile, luaproxy filters the whole message
		// first (resp "*": not compared)
		{"http/http_payload/wake_time", "http", "filter lua.wait http_payload 200", []inspectPiece{{0, head + "abcdefghij"}}, true, 6, 15, false, "*"},
		// held data: called again at each wake time (every 200 ms)
		{"tcp/tcp_payload/wake_time", "tcp", "filter lua.wait tcp_payload 200", tcpPieces[:1], true, 6, 15, false, ""},
		{"tcp/tcp_payload/data", "tcp", "filter lua.wait tcp_payload 0", tcpPieces, false, 4, 6, true, ""},
	}
	calls := regexp.MustCompile(`waiting \w+ call (\d+)`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			origin := resPieceOrigin(t, tc.pieces, tc.hold)
			cfg := `
global
   lua-load {dir}/w.lua
defaults
   mode ` + tc.mode + `
   timeout client 10s
   timeout server 10s
   timeout connect 5s
listen f
   bind 127.0.0.1:0
   ` + tc.rule + `
   server o ` + origin + `
`
			files := map[string]string{"w.lua": luaWaitResScript}
			run := func(name, addr string, log *syncBuffer) {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				// the pieces take 0.9 s; the inspect-delay is 3 s
				_ = c.SetReadDeadline(time.Now().Add(2500 * ms))
				resp, err := io.ReadAll(c)
				var ne net.Error
				closed := err == nil || !errors.As(err, &ne) || !ne.Timeout()
				n := 0
				for _, m := range calls.FindAllStringSubmatch(log.String(), -1) {
					k, _ := strconv.Atoi(m[1])
					n = max(n, k)
				}
				if n < tc.min || n > tc.max {
					t.Errorf("%s: %d calls, want %d to %d", name, n, tc.min, tc.max)
				}
				if closed != tc.closed || string(resp) != tc.resp && tc.resp != "*" {
					t.Errorf("%s: got %q, closed %v (%v); want %q, closed %v", name, resp, closed, err, tc.resp, tc.closed)
				}
			}
			addr, log := runHAProxyLog(t, cfg, files)
			run("haproxy", addr, log)
			p := startProxy(t, cfg, files)
			run("luaproxy", p.addr(0), p.log)
		})
	}
}
