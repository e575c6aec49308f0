//go:build lua53

package test

import (
	"testing"
	"time"
)

// The core functions by context inside a running proxy: init and body run
// them without waiting (HAProxy has no Lua task there), a task waits with
// core.wait and ends with core.done, an action stops at core.done.
func TestLuaAPIContexts(t *testing.T) {
	p := startProxy(t, `
global
   nbthread 2
   lua-load {dir}/ctx.lua
defaults
   timeout client 5s
listen a
   bind 127.0.0.1:0
   tcp-request content lua.stop
   tcp-request content use-service lua.report
listen ticks
   bind 127.0.0.1:0
   tcp-request content use-service lua.ticks
`, map[string]string{"ctx.lua": `
local seen = {}
local function note(s) seen[#seen + 1] = s end
core.done()                 -- does nothing in the body
note("body")
core.register_init(function()
   core.msleep(10000)       -- returns at once in the init context
   core.done()
   note("init threads=" .. core.get_info().Nbthread)
end)
local ticks = 0
core.register_task(function()
   core.set_nice(-5)
   for i = 1, 3 do core.wait(5) ticks = ticks + 1 end
   core.done()
   ticks = 100
end)
core.register_action("stop", {"tcp-req"}, function(txn)
   local ok = pcall(core.sleep, "x")
   note("action pcall=" .. tostring(ok))
   core.done()
   note("not reached")
end)
core.register_service("report", "tcp", function(applet)
   applet:send(table.concat(seen, ",") .. "\n")
end)
core.register_service("ticks", "tcp", function(applet)
   applet:send(ticks .. "\n")
end)
`})
	// the task waits three times, then stops before setting 100
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := exchange(t, p.addr(1), "", true, 5*time.Second)
		if got == "3\n" {
			break
		}
		if got != "0\n" && got != "1\n" && got != "2\n" || time.Now().After(deadline) {
			t.Fatalf("ticks: got %q, want 3\nlog:\n%s", got, p.log)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, want := exchange(t, p.addr(0), "", true, 5*time.Second), "body,init threads=2,action pcall=false\n"; got != want {
		t.Fatalf("got %q, want %q\nlog:\n%s", got, want, p.log)
	}
}
