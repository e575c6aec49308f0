//go:build lua53

package test

import (
	"strings"
	"testing"
	"time"
)

// core.queue(): a FIFO shared by the invocations of a state; pop_wait
// yields until an item arrives; alarm wakes a core.wait().
func TestLuaQueue(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/q.lua
listen l
   bind 127.0.0.1:0
   tcp-request content use-service lua.q
listen w
   bind 127.0.0.1:0
   tcp-request content use-service lua.alarm
`, map[string]string{"q.lua": `
local jobs, results = core.queue(), core.queue()
core.register_task(function()
  while true do
    local item = jobs:pop_wait()
    results:push(type(item) == "table" and ("t:" .. item.v) or tostring(item))
  end
end)
core.register_service("q", "tcp", function(applet)
  local q = core.queue()
  local r = {tostring(q:size()), tostring(q:pop()), tostring(q:push(1)), tostring(q:push("two")), tostring(q:push({3}))}
  r[#r+1] = tostring(q:size())
  r[#r+1] = tostring(q:pop()) .. tostring(q:pop()) .. tostring(q:pop()[1]) .. tostring(q:pop())
  r[#r+1] = tostring(pcall(q.push, q, nil))
  jobs:push("a") jobs:push({v = "b"}) jobs:push(3)
  local got = {}
  while #got < 3 do
    local x = results:pop()
    if x then got[#got+1] = x else core.msleep(5) end
  end
  r[#r+1] = table.concat(got, ",")
  applet:send(table.concat(r, " "))
end)
local wake = core.queue()
core.register_service("alarm", "tcp", function(applet)
  wake:alarm()
  core.register_task(function() core.msleep(50) wake:push("x") end)
  local t0 = core.now()
  core.wait(5000)
  local t1 = core.now()
  local ms = (t1.sec - t0.sec) * 1000 + (t1.usec - t0.usec) // 1000
  applet:send(tostring(wake:pop()) .. " " .. tostring(ms < 2000))
end)
`})
	got := exchange(t, p.addr(0), "", true, 5*time.Second)
	want := "0 nil true true true 3 1two3nil false a,t:b,3"
	if !strings.HasPrefix(got, "0 nil true true true 3 1two3nil false") || !strings.HasSuffix(got, "a,t:b,3") {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := exchange(t, p.addr(1), "", true, 10*time.Second); got != "x true" {
		t.Errorf("alarm: got %q", got)
	}
}

// An alarm set by an action that then ends without waiting must not wake
// a later invocation: HAProxy's alarm belongs to the task that set it.
// (An ended invocation is reused for the next one only when nothing can
// reach it any more; Queue:alarm keeps it from being reused.)
func TestLuaQueueAlarmOutlivesInvocation(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/a.lua
frontend f
   mode http
   bind 127.0.0.1:0
   http-request lua.arm if { path /arm }
   http-request lua.waiter if { path /wait }
   http-request return status 200 hdr x-waited %[var(txn.waited)]
`, map[string]string{"a.lua": `
local q = core.queue()
core.register_action("arm", {"http-req"}, function(txn) q:alarm() end)
core.register_action("waiter", {"http-req"}, function(txn)
  q:push("x")
  local t0 = core.now()
  core.wait(300)
  local t1 = core.now()
  local ms = (t1.sec - t0.sec) * 1000 + (t1.usec - t0.usec) // 1000
  txn:set_var("txn.waited", tostring(ms >= 250))
end)
`})
	req := "GET /arm HTTP/1.1\r\nHost: x\r\n\r\nGET /wait HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	got := exchange(t, p.addr(0), req, false, 5*time.Second)
	if n := strings.Count(got, "x-waited: true"); n != 1 {
		t.Errorf("the second action's core.wait was cut short by the first's alarm:\n%s", got)
	}
}
