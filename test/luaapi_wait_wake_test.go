//go:build lua53

package test

import (
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// luaWaitScript has a filter whose callback named by its first argument
// answers filter.WAIT, and an action answering act.YIELD; both log each
// call with its number and set their wake time when one is given (0:
// none).
const luaWaitScript = `
W = {flags = filter.FLT_CFG_FL_HTX}
W.__index = W
function W:new() return setmetatable({n = 0, cb = self.cb, wt = self.wt}, W) end
local function cb(name)
  return function(self, txn, x)
    if name ~= self.cb or x:is_resp() then return end
    self.n = self.n + 1
    core.Info(string.format("waiting %s call %d", name, self.n))
    if self.wt > 0 then filter.wake_time(self.wt) end
    return filter.WAIT
  end
end
W.start_analyze, W.http_headers = cb("start_analyze"), cb("http_headers")
core.register_filter("wait", W, function(flt, args) flt.cb = args[1]; flt.wt = tonumber(args[2]); return flt end)

core.register_action("yield", {"http-req"}, function(txn, wt)
  local n = (txn:get_var("txn.n") or 0) + 1
  txn:set_var("txn.n", n)
  core.Info(string.format("waiting action call %d", n))
  -- HAProxy 2.6 compat: act:wake_time() fails there ("needs 1 arguments")
  if tonumber(wt) > 0 then act.wake_time(tonumber(wt)) end
  return act.YIELD
end, 1)
`

// TestLuaWaitWakesLikeHAProxy covers a regression: a filter callback
// answering filter.WAIT and an action answering act.YIELD were called
// again every 10 ms, the filter until a 30 s cap (then a 400), the action
// until the client timeout (then the request went on). HAProxy 2.6 calls
// them again only when the stream is woken: at their wake time, when
// request data or the client's close comes; none of the client, server
// or http-request timeouts ends the wait. A close while waiting calls
// them once more, then the stream ends without a response ("CR").
func TestLuaWaitWakesLikeHAProxy(t *testing.T) {
	const idle = 1500 * time.Millisecond
	cases := []struct {
		name, rule string
		post       bool // send a body in pieces, then close the sending side
		min, max   int  // how many calls
	}{
		{"http_headers/idle", "filter lua.wait http_headers 0", false, 1, 1},
		{"start_analyze/idle", "filter lua.wait start_analyze 0", false, 1, 1},
		{"action/idle", "http-request lua.yield 0", false, 1, 1},
		{"http_headers/wake_time", "filter lua.wait http_headers 200", false, 4, 9},
		{"action/wake_time", "http-request lua.yield 200", false, 4, 9},
		{"http_headers/data", "filter lua.wait http_headers 0", true, 3, 4},
		{"action/data", "http-request lua.yield 0", true, 3, 4},
	}
	calls := regexp.MustCompile(`waiting \w+ call (\d+)`)
	abortLine := regexp.MustCompile(`/<NOSRV> [-\d/]+ -1 \d+ - - CR-- .* "POST / HTTP/1\.1"$`)
	// sink, when set, must get the aborted request's log line ("CR--").
	run := func(t *testing.T, addr string, log *syncBuffer, sink *syslogSink, post bool, lo, hi int) {
		from := len(log.String())
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		if !post {
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		} else {
			_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
			for _, p := range []string{"cd", "ef"} {
				time.Sleep(300 * time.Millisecond)
				_, _ = io.WriteString(c, p)
			}
			time.Sleep(300 * time.Millisecond)
			_ = c.(*net.TCPConn).CloseWrite()
		}
		wait := idle
		if post {
			wait += 3 * time.Second
		}
		_ = c.SetReadDeadline(start.Add(wait))
		resp, err := io.ReadAll(c)
		var ne net.Error
		timedOut := err != nil && errors.As(err, &ne) && ne.Timeout()
		if post {
			if err != nil || len(resp) != 0 {
				t.Errorf("want a close without a response, got %q, %v", resp, err)
			}
		} else if !timedOut || len(resp) != 0 {
			t.Errorf("want no response while waiting, got %q, %v", resp, err)
		}
		n := 0
		for _, m := range calls.FindAllStringSubmatch(log.String()[from:], -1) {
			k, _ := strconv.Atoi(m[1])
			n = max(n, k)
		}
		if n < lo || n > hi {
			t.Errorf("%d calls, want %d to %d", n, lo, hi)
		}
		if post && sink != nil {
			// the log line of the aborted request (not haproxy's line for
			// its readiness probe, a "<BADREQ>" closed early: CR-- too)
			deadline := time.Now().Add(5 * time.Second)
			aborted := func() bool {
				for _, l := range sink.snapshot() {
					if abortLine.MatchString(l) {
						return true
					}
				}
				return false
			}
			for !aborted() && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if !aborted() {
				t.Errorf("no log line with CR--: %q", sink.snapshot())
			}
		}
	}
	for _, tc := range cases {
		cfg := `
global
   lua-load {dir}/w.lua
defaults
   mode http
   log {LOG} local0
   option httplog
   timeout client 500ms
   timeout server 500ms
   timeout http-request 500ms
   timeout connect 5s
frontend f
   bind 127.0.0.1:0
   ` + tc.rule + `
   default_backend be
backend be
   server o 127.0.0.1:1
`
		files := map[string]string{"w.lua": luaWaitScript}
		t.Run(tc.name, func(t *testing.T) {
			t.Run("luaproxy", func(t *testing.T) {
				sink := newSyslogSink(t, "127.0.0.1:")
				p := startProxy(t, strings.Replace(cfg, "{LOG}", sink.addr, 1), files)
				run(t, p.addr(0), p.log, sink, tc.post, tc.min, tc.max)
			})
			t.Run("haproxy", func(t *testing.T) {
				sink := newSyslogSink(t, "127.0.0.1:")
				addr, log := runHAProxyLog(t, strings.Replace(cfg, "{LOG}", sink.addr, 1), files)
				run(t, addr, log, sink, tc.post, tc.min, tc.max)
			})
		})
	}
}
