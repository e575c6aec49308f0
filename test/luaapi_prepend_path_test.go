//go:build lua53

package test

import (
	"strings"
	"testing"
	"time"

	"luaproxy/core"
	"luaproxy/core/config"
)

// lua-prepend-path puts its pattern in front of package.path (or cpath)
// of the shared state and of the per-thread states made after it (the
// per-thread script's require would fail otherwise); a later directive is
// searched first.
func TestLuaPrependPath(t *testing.T) {
	p := startProxy(t, `
global
   nbthread 2
   lua-prepend-path {dir}/lib/?/init.lua
   lua-prepend-path {dir}/lib/?.lua path
   lua-prepend-path {dir}/nolib/?.so cpath
   lua-load {dir}/main.lua
   lua-load-per-thread {dir}/thread.lua
listen l
   bind 127.0.0.1:0
   tcp-request content use-service lua.show
`, map[string]string{
		"lib/example.lua":  `return {name = "example"}`,
		"lib/pkg/init.lua": `return {name = "pkg"}`,
		"thread.lua":       `local ex = require("example")`,
		"main.lua": `
local ex, pkg = require("example"), require("pkg")
local function last2(s) return s:match("^[^;]*"):match("[^/]*/[^/]*$") end
core.register_service("show", "tcp", function(applet)
  applet:send(table.concat({ex.name, pkg.name, last2(package.path), last2(package.cpath)}, " ") .. "\n")
end)
`,
	})
	got := exchange(t, p.addr(0), "", true, 10*time.Second)
	if got != "example pkg lib/?.lua nolib/?.so\n" {
		t.Errorf("got %q", got)
	}
}

// Its errors are HAProxy's.
func TestLuaPrependPathErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"lua-prepend-path", "'lua-prepend-path' expects to receive a <path> as argument"},
		{"lua-prepend-path /x/?.lua lib", "'lua-prepend-path' expects <type> to either be 'path' or 'cpath'"},
		{"lua-prepend-path /x/?.lua path extra", "'lua-prepend-path' cannot handle unexpected argument 'extra'."},
	} {
		c, err := config.Parse("test.cfg", []byte("global\n   "+tc.line+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		err = core.New(core.NewLogger(&syncBuffer{})).Load(c)
		if err == nil || !strings.Contains(err.Error(), "parsing [test.cfg:2] : "+tc.want) {
			t.Errorf("%s: got %v, want %q", tc.line, err, tc.want)
		}
	}
}
