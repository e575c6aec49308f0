//go:build lua53

package test

import (
	"net"
	"strings"
	"testing"
	"time"
)

// logLevelScript sets the stream's log level from the request: the path
// in HTTP mode, the first line in TCP mode.
const logLevelScript = `
local levels = {debug = core.debug, err = core.err, silent = core.silent}
core.register_action("llh", {"http-req"}, function(txn)
  local l = levels[txn.sf:path():sub(2)]
  if l then txn:set_loglevel(l) end
end)
core.register_action("llt", {"tcp-req"}, function(txn)
  local l = levels[txn.req:line():match("^(%a+)")]
  if l then txn:set_loglevel(l) end
end)
core.register_service("ok", "http", function(applet)
  applet:set_status(200)
  applet:add_header("content-length", "2")
  applet:start_response()
  applet:send("ok")
end)
`

const logLevelCfg = `
global
   lua-load {dir}/ll.lua
defaults
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend h
   mode http
   bind 127.0.0.1:0
   log {sink} local0
   log-format "http %HU"
   http-request lua.llh
   http-request use-service lua.ok
frontend t
   mode tcp
   bind 127.0.0.1:0
   log {sink} local0
   log-format "tcp"
   tcp-request inspect-delay 5s
   tcp-request content lua.llt if { req.len gt 0 }
   tcp-request content reject
`

// TestLuaSetLoglevel checks that txn:set_loglevel changes the syslog
// severity of the stream's log line (PRI = local0*8 + level) and that
// core.silent drops it. A silenced request is followed by a logged one
// on the same socket: the next datagram must be the logged one.
func TestLuaSetLoglevel(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := strings.ReplaceAll(logLevelCfg, "{sink}", pc.LocalAddr().String())
	p := startProxy(t, cfg, map[string]string{"ll.lua": logLevelScript})
	next := func() string {
		t.Helper()
		buf := make([]byte, 4096)
		_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no log line: %v", err)
		}
		return string(buf[:n])
	}
	for _, c := range []struct{ req, pri, msg string }{
		{"none", "<134>", "http /none"}, // local0.info, the default
		{"debug", "<135>", "http /debug"},
		{"err", "<131>", "http /err"},
		{"silent", "", ""},
		{"after", "<134>", "http /after"},
	} {
		got := exchange(t, p.addr(0), "GET /"+c.req+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false, 5*time.Second)
		if !strings.HasSuffix(got, "ok") {
			t.Fatalf("%s: %q", c.req, got)
		}
		if c.pri == "" {
			continue
		}
		if line := next(); !strings.HasPrefix(line, c.pri) || !strings.Contains(line, c.msg) {
			t.Errorf("%s: log line %q, want PRI %s and %q", c.req, line, c.pri, c.msg)
		}
	}
	for _, c := range []struct{ req, pri string }{
		{"debug", "<135>"}, {"silent", ""}, {"none", "<134>"},
	} {
		exchange(t, p.addr(1), c.req+"\n", false, 5*time.Second)
		if c.pri == "" {
			continue
		}
		if line := next(); !strings.HasPrefix(line, c.pri) || !strings.HasSuffix(strings.TrimSpace(line), "tcp") {
			t.Errorf("tcp %s: log line %q, want PRI %s", c.req, line, c.pri)
		}
	}
}
