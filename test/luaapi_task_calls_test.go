//go:build lua53

package test

import (
	"strings"
	"testing"
	"time"
)

// A Lua action that sleeps ends the stream's task call and starts a new
// one when it resumes (cpu_calls counts it, as HAProxy's task does).
func TestLuaSleepIsATaskCall(t *testing.T) {
	p := startProxy(t, `
global
    lua-load {dir}/a.lua
defaults
    mode http
    timeout client 10s
frontend fe
    bind 127.0.0.1:0
    http-request set-var(txn.before) cpu_calls
    http-request lua.nap if { path /nap }
    http-request return status 200 content-type text/plain lf-string "before=%[var(txn.before)] after=%[cpu_calls]"
`, map[string]string{"a.lua": `
core.register_action("nap", {"http-req"}, function(txn)
  core.msleep(20)
end)
`})
	for _, c := range []struct{ path, want string }{
		{"/", "before=1 after=1"},
		{"/nap", "before=1 after=2"},
	} {
		got := exchange(t, p.addr(0), "GET "+c.path+" HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", false, 10*time.Second)
		if !strings.HasSuffix(got, c.want) {
			t.Errorf("%s: got %q, want a body %q", c.path, got, c.want)
		}
	}
}
