//go:build lua53

package test

import (
	"strings"
	"testing"
	"time"
)

// register_init runs after parsing, register_task once serving starts, and
// lua-load-per-thread gives each thread its own state (core.thread 1..n).
func TestInitTaskPerThread(t *testing.T) {
	p := startProxy(t, `
global
   nbthread 2
   lua-load {dir}/shared.lua
   lua-load-per-thread {dir}/pt.lua
listen a
   bind 127.0.0.1:0
   tcp-request content use-service lua.report
listen b
   bind 127.0.0.1:0
   tcp-request content use-service lua.status
`, map[string]string{
		"shared.lua": `
core.register_service("status", "tcp", function(applet)
   applet:send(inited .. " " .. tostring(ticks > 0) .. " thread=" .. core.thread .. "\n")
end)
inited, ticks = "no", 0
core.register_init(function() inited = "yes" end)
core.register_task(function(step)
   while true do ticks = ticks + step; core.msleep(5) end
end, 1)
`,
		"pt.lua": `
core.register_service("report", "tcp", function(applet)
   applet:send("thread=" .. core.thread .. "\n")
end)
`,
	})
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		seen[exchange(t, p.addr(0), "", true, 5*time.Second)] = true
	}
	if !seen["thread=1\n"] || !seen["thread=2\n"] {
		t.Errorf("per-thread states: saw %v, want thread=1 and thread=2", seen)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := exchange(t, p.addr(1), "", true, 5*time.Second)
		if got == "yes true thread=0\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shared state: got %q, want init done, task ticking, core.thread 0", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Registering outside the body context fails as in HAProxy; the body may
// sleep; register_task in an action starts at once.
func TestContextRules(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/t.lua
listen a
   bind 127.0.0.1:0
   tcp-request content lua.late
   tcp-request content use-service lua.hello
`, map[string]string{"t.lua": `
core.msleep(1) -- the body context may wait
core.register_action("late", {"tcp-req"}, function(txn)
   local ok, err = pcall(core.register_service, "x", "tcp", function() end)
   txn.res:send(tostring(ok) .. " " .. tostring(err) .. "\n")
   core.register_task(function() core.Alert("task from action") end)
end)
core.register_service("hello", "tcp", function(applet) applet:send("hello\n") end)
`})
	got := exchange(t, p.addr(0), "", true, 5*time.Second)
	if !strings.HasPrefix(got, "false ") || !strings.Contains(got, "register_service: not available outside of body context") || !strings.HasSuffix(got, "hello\n") {
		t.Fatalf("got %q", got)
	}
	p.waitLog(t, "task from action", 5*time.Second)
}

// AppletTCP.receive with a timeout returns what arrived when it expires.
func TestAppletReceiveTimeout(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/t.lua
defaults
   timeout client 5s
listen a
   bind 127.0.0.1:0
   tcp-request content use-service lua.r
`, map[string]string{"t.lua": `
core.register_service("r", "tcp", function(applet)
   local got = applet:receive(10, 200)
   applet:send("got=" .. tostring(got) .. "\n")
end)
`})
	if got := exchange(t, p.addr(0), "ab", false, 5*time.Second); got != "got=ab\n" {
		t.Fatalf("got %q", got)
	}
}

// register_task passes up to 4 arguments of any type as they are (nil
// included), and refuses a fifth.
func TestRegisterTaskArgs(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/t.lua
listen a
   bind 127.0.0.1:0
   tcp-request content use-service lua.show
`, map[string]string{"t.lua": `
local got = "pending"
local tbl = {k = "v"}
core.register_task(function(...)
   local a, b, c, d = ...
   got = select("#", ...) .. " " .. a.k .. " " .. tostring(b) .. " " .. c() .. " " .. math.type(d) .. d
end, tbl, nil, function() return "fn" end, 42)
local ok, err = pcall(core.register_task, function() end, 1, 2, 3, 4, 5)
core.register_service("show", "tcp", function(applet)
   applet:send(got .. "|" .. tostring(ok) .. " " .. tostring(err) .. "\n")
end)
`})
	want := "4 v nil fn integer42|false 'register_task' accepts up to 4 arguments after the function\n"
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = exchange(t, p.addr(0), "", true, 5*time.Second); !strings.HasPrefix(got, "pending") {
			break
		}
	}
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// core.get_var reads the engine's proc variables: the ones set-var rules
// and TXN.set_var write.
func TestCoreGetVarSeesRules(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/v.lua
listen a
   bind 127.0.0.1:0
   tcp-request content set-var(proc.from_rule) str(rule)
   tcp-request content lua.setter
   tcp-request content use-service lua.show
`, map[string]string{"v.lua": `
core.register_action("setter", {"tcp-req"}, function(txn) txn:set_var("proc.from_txn", 7) end)
core.register_service("show", "tcp", function(applet)
   applet:send(tostring(core.get_var("proc.from_rule")) .. " " .. tostring(core.get_var("proc.from_txn")) .. "\n")
end)
`})
	if got := exchange(t, p.addr(0), "", true, 5*time.Second); got != "rule 7\n" {
		t.Errorf("got %q, want \"rule 7\\n\"", got)
	}
}
