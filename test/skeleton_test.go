//go:build lua53

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The API document's first example, as written (scripts/hello_world.*).
func TestHelloWorldScript(t *testing.T) {
	lua := string(must(os.ReadFile(repoPath("scripts", "hello_world.lua"))))
	p := startProxy(t, `
global
   lua-load {dir}/hello_world.lua
listen proxy
   bind 127.0.0.1:0
   tcp-request content lua hello_world
`, map[string]string{"hello_world.lua": lua})
	if got := exchange(t, p.addr(0), "", true, 5*time.Second); got != "hello world\n" {
		t.Fatalf("got %q", got)
	}
}

// The current document's hello world: a TCP service with lua-load arguments.
func TestHelloServiceArgs(t *testing.T) {
	lua := string(must(os.ReadFile(repoPath("scripts", "hello_service.lua"))))
	p := startProxy(t, `
global
   lua-load {dir}/hello.lua "this is not an hello world"
listen proxy
   bind 127.0.0.1:0
   tcp-request inspect-delay 1s
   tcp-request content use-service lua.hello_world
`, map[string]string{"hello.lua": lua})
	if got := exchange(t, p.addr(0), "", true, 5*time.Second); got != "this is not an hello world\n" {
		t.Fatalf("got %q", got)
	}
}

func TestEchoServiceAndChannels(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/t.lua
defaults
   timeout client 5s
listen echo
   bind 127.0.0.1:0
   tcp-request content use-service lua.echo
listen chan
   bind 127.0.0.1:0
   tcp-request inspect-delay 2s
   tcp-request content lua.upper
   tcp-request content use-service lua.rest
`, map[string]string{"t.lua": `
core.register_service("echo", "tcp", function(applet)
   while true do
      local line = applet:getline()
      if line == "" then break end
      applet:send(line)
   end
end)
-- an action reading the first line from the request channel, answering it
-- upper-cased on the response channel, and leaving the rest for the service
core.register_action("upper", {"tcp-req"}, function(txn)
   local line = txn.req:getline()
   txn.res:send(string.upper(line))
   txn.req:append("[appended]")
end)
core.register_service("rest", "tcp", function(applet)
   applet:send("rest=" .. applet:receive() .. "\n")
end)
`})
	if got := exchange(t, p.addr(0), "one\ntwo\n", true, 5*time.Second); got != "one\ntwo\n" {
		t.Fatalf("echo: got %q", got)
	}
	if got := exchange(t, p.addr(1), "hello\nworld", true, 5*time.Second); got != "HELLO\nrest=world[appended]\n" {
		t.Fatalf("channels: got %q", got)
	}
}

func TestForwardToServer(t *testing.T) {
	origin := startProxy(t, `
global
   lua-load {dir}/o.lua
listen origin
   bind 127.0.0.1:0
   tcp-request content use-service lua.o
`, map[string]string{"o.lua": `core.register_service("o", "tcp", function(a) a:send("origin got " .. a:receive()) end)`})
	p := startProxy(t, `
global
   lua-load {dir}/p.lua
defaults
   mode tcp
   timeout connect 2s
   timeout client 5s
   timeout server 5s
frontend fe
   bind 127.0.0.1:0
   tcp-request inspect-delay 1s
   tcp-request content lua.prefix
   default_backend be
backend be
   server s1 `+origin.addr(0)+`
`, map[string]string{"p.lua": `core.register_action("prefix", {"tcp-req"}, function(txn) txn.req:send("[via lua] ") end)`})
	if got := exchange(t, p.addr(0), "ping", true, 5*time.Second); got != "origin got [via lua] ping" {
		t.Fatalf("got %q", got)
	}
}

// An action spinning forever is ended at tune.lua.session-timeout with
// HAProxy's message, and the proxy answers other connections meanwhile.
func TestRunawayActionTimeout(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"loop", `while true do end`},
		{"pcall-loop", `while true do pcall(function() while true do end end) end`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, `
global
   lua-load {dir}/t.lua
   tune.lua.session-timeout 1s
listen spin
   bind 127.0.0.1:0
   tcp-request content lua.spin
   tcp-request content use-service lua.hello
listen other
   bind 127.0.0.1:0
   tcp-request content use-service lua.hello
`, map[string]string{"t.lua": `
core.register_action("spin", {"tcp-req"}, function(txn) ` + tc.body + ` end)
core.register_service("hello", "tcp", function(applet) applet:send("hello\n") end)
`})
			start := time.Now()
			var wg sync.WaitGroup
			var spun string
			wg.Add(1)
			go func() {
				defer wg.Done()
				spun = exchange(t, p.addr(0), "", true, 20*time.Second)
			}()
			time.Sleep(100 * time.Millisecond) // the spinner is running
			answered := 0
			for time.Since(start) < 800*time.Millisecond {
				if exchange(t, p.addr(1), "", true, 5*time.Second) == "hello\n" {
					answered++
				}
			}
			wg.Wait()
			if answered == 0 {
				t.Fatal("no other connection was answered while the action spun")
			}
			// fail-open: after the timeout the stream goes on to the next rule
			if spun != "hello\n" {
				t.Errorf("spinning stream got %q, want the next rule's answer", spun)
			}
			p.waitLog(t, "Lua function 'spin': execution timeout.", 5*time.Second)
			t.Logf("answered %d other connections while the action spun; ended after %v", answered, time.Since(start).Round(time.Millisecond))
		})
	}
}

// A memory bomb fails at tune.lua.maxmem; the next connection is served.
func TestMemoryBomb(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/t.lua
   tune.lua.maxmem 32
   tune.lua.session-timeout 60s
listen bomb
   bind 127.0.0.1:0
   tcp-request inspect-delay 5s
   tcp-request content lua.bomb
   tcp-request content use-service lua.hello
`, map[string]string{"t.lua": `
core.register_action("bomb", {"tcp-req"}, function(txn)
   if txn.req:getline() ~= "bomb\n" then return end
   local t = {}
   local s = "x"
   for i = 1, 1e9 do s = s .. s .. i; t[i] = s end -- LUA_ERRMEM at the cap
end)
core.register_service("hello", "tcp", function(applet) applet:send("hello\n") end)
`})
	if got := exchange(t, p.addr(0), "bomb\n", true, 20*time.Second); got != "hello\n" {
		t.Fatalf("bomb stream: got %q", got)
	}
	p.waitLog(t, "Lua function 'bomb': out of memory error.", 5*time.Second)
	if got := exchange(t, p.addr(0), "calm\n", true, 5*time.Second); got != "hello\n" {
		t.Fatalf("next stream: got %q", got)
	}
}

// A runtime error is logged in HAProxy's words; the stream goes on.
func TestRuntimeErrorLog(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/t.lua
listen a
   bind 127.0.0.1:0
   tcp-request content lua.boom
   tcp-request content use-service lua.hello
`, map[string]string{"t.lua": `core.register_action("boom", {"tcp-req"}, function(txn) error("kaboom") end)
core.register_service("hello", "tcp", function(applet) applet:send("hello\n") end)
`})
	if got := exchange(t, p.addr(0), "", true, 5*time.Second); got != "hello\n" {
		t.Fatalf("got %q", got)
	}
	log := p.waitLog(t, "Lua function 'boom'", 5*time.Second)
	want := "Lua function 'boom': [state-id 0] runtime error: " + "%s:1: kaboom from [C]: in global 'error', %s:1: in function line 1."
	if !strings.Contains(log, "[ALERT]    (") || !strings.Contains(log, "runtime error: ") ||
		!strings.Contains(log, ":1: kaboom from [C]: in global 'error', ") || !strings.Contains(log, ":1: in function line 1.") {
		t.Fatalf("log line not in HAProxy's shape (%s):\n%s", want, log)
	}
}

// C modules load with require from a lua-load file.
func TestRequireCModules(t *testing.T) {
	mods := buildCModules(t)
	p := startProxy(t, `
global
   lua-load {dir}/t.lua
listen a
   bind 127.0.0.1:0
   tcp-request content use-service lua.mods
`, map[string]string{"t.lua": `
package.cpath = package.cpath .. ";` + mods + `/?.so"
local mymod = require("mymod")
local concat = require("concat")
local cjson = require("cjson")
core.register_service("mods", "tcp", function(applet)
   local b = concat.new()
   for i = 1, 3 do b:add("x", i) end
   applet:send(b:dump() .. " " .. cjson.encode({k = "v"}) .. "\n")
end)
`})
	if got := exchange(t, p.addr(0), "", true, 5*time.Second); got != `x1x2x3 {"k":"v"}`+"\n" {
		t.Fatalf("got %q", got)
	}
}

// buildCModules compiles cmodules/*.c into a temporary directory.
func buildCModules(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cflags, err := exec.Command("pkg-config", "--cflags", "lua5.3").Output()
	if err != nil {
		t.Skipf("pkg-config lua5.3: %v", err)
	}
	for _, m := range []string{"mymod", "concat"} {
		args := append([]string{"-O2", "-fPIC", "-shared"}, strings.Fields(string(cflags))...)
		args = append(args, "-o", filepath.Join(dir, m+".so"), repoPath("cmodules", m+".c"))
		if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
			t.Fatalf("cc %s: %v\n%s", m, err, out)
		}
	}
	return dir
}
