//go:build lua53

package test

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// luaFinalScript has an action that always yields, one that returns
// nothing, one that returns act.CONTINUE, and one that yields once for
// 300 ms.
const luaFinalScript = `
core.register_action("yield", {"http-req"}, function(txn)
  core.Info("yield called")
  return act.YIELD
end)
core.register_action("none", {"http-req"}, function(txn)
  txn:set_var("txn.none", 1)
end)
core.register_action("cont", {"http-req"}, function(txn)
  return act.CONTINUE
end)
core.register_action("once", {"http-req"}, function(txn)
  if txn:get_var("txn.once") then return act.CONTINUE end
  txn:set_var("txn.once", 1)
  act.wake_time(300)
  return act.YIELD
end)
`

// TestLuaWaitAbortRunsFinalRulesLikeHAProxy: when the client closes while
// a Lua action yields, HAProxy 2.6 runs the rules once more in a final
// mode: the yielding action is told "aborting Lua processing on expired
// timeout" (an alert, and an err line in the proxy's syslog), the
// remaining rules run (an action returning nothing gets the same message,
// one returning act.CONTINUE does not), the backend is chosen, and the
// stream ends without connecting: "be2/<NOSRV>", CR--, its TR counting
// the wait. luaproxy used to end the stream at once, logged as "f/<NOSRV>"
// with TR 0, and sent Lua errors to stderr only.
func TestLuaWaitAbortRunsFinalRulesLikeHAProxy(t *testing.T) {
	var srvConns atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			srvConns.Add(1)
			c.Close()
		}
	}()
	cfg := `
global
   lua-load {dir}/f.lua
defaults
   mode http
   log {LOG} local0
   option httplog
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend f
   bind 127.0.0.1:0
   http-request lua.yield
   http-request lua.none
   http-request lua.cont
   use_backend be2 if { var(txn.none) -m int 1 }
   default_backend be
backend be
   server o 127.0.0.1:1
backend be2
   server o ` + ln.Addr().String() + `
`
	files := map[string]string{"f.lua": luaFinalScript}
	logLine := regexp.MustCompile(`\] f be2/<NOSRV> (\d+)/-1/-1/-1/(\d+) -1 0 - - CR-- .*"POST / HTTP/1\.1"$`)
	run := func(t *testing.T, addr string, log *syncBuffer, sink *syslogSink) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
		time.Sleep(400 * time.Millisecond)
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if resp, err := io.ReadAll(c); err != nil || len(resp) != 0 {
			t.Errorf("want a close without a response, got %q, %v", resp, err)
		}
		want := []string{
			"<131>", "Lua function 'yield': aborting Lua processing on expired timeout.",
			"<131>", "Lua function 'none': aborting Lua processing on expired timeout.",
		}
		var line []string
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			got := sink.snapshot()
			line = nil
			for _, l := range got {
				if m := logLine.FindStringSubmatch(l); m != nil {
					line = m
				}
			}
			if line != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		got := sink.snapshot()
		all := strings.Join(got, "\n")
		for i := 0; i < len(want); i += 2 {
			if !containsLine(got, want[i], want[i+1]) {
				t.Errorf("syslog lacks %s%s: %q", want[i], want[i+1], got)
			}
		}
		if strings.Contains(all, "'cont'") {
			t.Errorf("an action returning act.CONTINUE was told it yields: %q", got)
		}
		if line == nil {
			t.Fatalf("no be2/<NOSRV> CR-- line: %q", got)
		}
		if tr, _ := strconv.Atoi(line[1]); tr < 300 {
			t.Errorf("TR = %d, want the wait counted (>= 300)", tr)
		}
		if n := srvConns.Load(); n != 0 {
			t.Errorf("%d connections to the backend's server, want none", n)
		}
		const alert = "Lua function 'yield': aborting Lua processing on expired timeout."
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(log.String(), alert) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond) // stderr may come after the syslog line
		}
		if s := log.String(); !strings.Contains(s, alert) {
			t.Errorf("stderr lacks the alert: %q", s)
		}
	}
	t.Run("luaproxy", func(t *testing.T) {
		sink := newSyslogSink(t, "<")
		p := startProxy(t, strings.Replace(cfg, "{LOG}", sink.addr, 1), files)
		run(t, p.addr(0), p.log, sink)
	})
	t.Run("haproxy", func(t *testing.T) {
		sink := newSyslogSink(t, "<")
		addr, log := runHAProxyLog(t, strings.Replace(cfg, "{LOG}", sink.addr, 1), files)
		run(t, addr, log, sink)
	})
}

// containsLine reports whether a line of lines starts with pri and
// contains msg.
func containsLine(lines []string, pri, msg string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, pri) && strings.Contains(l, msg) {
			return true
		}
	}
	return false
}

// TestLogTRCountsRuleWaitsLikeHAProxy: HAProxy's TR ends with the
// request's analysis (its rules, which may wait), not with its head.
// luaproxy logged 0 for a request a Lua action held for 300 ms.
func TestLogTRCountsRuleWaitsLikeHAProxy(t *testing.T) {
	o := newCountingOrigin(t)
	cfg := `
global
   lua-load {dir}/f.lua
defaults
   mode http
   log {LOG} local0
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend f
   bind 127.0.0.1:0
   log-format "LOG %HP TR=%TR Ta=%Ta"
   http-request lua.once
   http-request return status 200 content-type text/plain string ok if { path /local }
   default_backend be
backend be
   server o ` + o.addr + `
`
	files := map[string]string{"f.lua": luaFinalScript}
	tr := regexp.MustCompile(`^LOG (\S+) TR=(\d+) Ta=(\d+)$`)
	run := func(t *testing.T, addr string, sink *syslogSink) {
		for _, path := range []string{"/local", "/fwd"} {
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("%s: status %d", path, resp.StatusCode)
			}
		}
		got := map[string]int{}
		deadline := time.Now().Add(5 * time.Second)
		for len(got) < 2 && time.Now().Before(deadline) {
			for _, l := range sink.snapshot() {
				if m := tr.FindStringSubmatch(l); m != nil {
					got[m[1]], _ = strconv.Atoi(m[2])
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		for _, path := range []string{"/local", "/fwd"} {
			v, ok := got[path]
			if !ok {
				t.Errorf("%s: no log line: %q", path, sink.snapshot())
			} else if v < 250 {
				t.Errorf("%s: TR = %d, want the 300 ms wait counted", path, v)
			}
		}
	}
	t.Run("luaproxy", func(t *testing.T) {
		sink := newSyslogSink(t, "LOG ")
		p := startProxy(t, strings.Replace(cfg, "{LOG}", sink.addr, 1), files)
		run(t, p.addr(0), sink)
	})
	t.Run("haproxy", func(t *testing.T) {
		sink := newSyslogSink(t, "LOG ")
		addr, _ := runHAProxyLog(t, strings.Replace(cfg, "{LOG}", sink.addr, 1), files)
		run(t, addr, sink)
	})
}
