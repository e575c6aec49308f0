//go:build lua53

package test

import (
	"testing"
	"time"
)

// tune.lua.bool-sample-conversion: boolean samples reach Lua as integers
// by default (HAProxy 2.6, "pre-3.1-bug"), as booleans with "normal"; the
// keyword only counts before lua-load.
func TestLuaReqBoolSampleConversion(t *testing.T) {
	script := `
core.register_action("b", {"tcp-req"}, function(txn)
  local v = txn.f:always_true()
  txn:set_var("txn.x", 1)
  txn.res:send(type(v) .. ":" .. tostring(v) .. " " .. type(txn.c:bool(3)) .. " " .. math.type(txn:get_var("txn.x")) .. "\n")
  txn:done()
end)`
	for _, tc := range []struct{ name, before, after, want string }{
		{"default", "", "", "number:1 number integer\n"},
		{"normal", "   tune.lua.bool-sample-conversion normal\n", "", "boolean:true boolean integer\n"},
		{"pre-3.1-bug", "   tune.lua.bool-sample-conversion pre-3.1-bug\n", "", "number:1 number integer\n"},
		{"after lua-load", "", "   tune.lua.bool-sample-conversion normal\n", "number:1 number integer\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, "global\n"+tc.before+"   lua-load {dir}/b.lua\n"+tc.after+`
defaults
   mode tcp
   timeout client 5s
frontend f
   bind 127.0.0.1:0
   tcp-request content lua.b
`, map[string]string{"b.lua": script})
			if got := exchange(t, p.addr(0), "x", false, 5*time.Second); got != tc.want {
				t.Errorf("got %q, want %q\nlog:\n%s", got, tc.want, p.log)
			}
		})
	}
}
