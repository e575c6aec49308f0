//go:build lua53

package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"luaproxy/core"
	"luaproxy/core/config"
)

// A use-service naming a Lua service it cannot use fails in HAProxy
// 2.6.12's words (checked with haproxy -c), quirks included: the
// http-request errors are wrapped, the tcp-request ones are not.
func TestLuaServiceRuleErrors(t *testing.T) {
	dir := t.TempDir()
	lua := filepath.Join(dir, "s.lua")
	if err := os.WriteFile(lua, []byte(`
core.register_service("t", "tcp", function(a) end)
core.register_service("h", "http", function(a) end)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ mode, line, want string }{
		{"http", "http-request use-service lua.nope",
			"error detected in frontend 'f' while parsing 'http-request use-service' rule : 'lua.nope' unknown service name.."},
		{"http", "http-request use-service lua.t",
			"error detected in frontend 'f' while parsing 'http-request use-service' rule : Lua TCP services cannot be used on HTTP proxies."},
		{"tcp", "tcp-request content use-service lua.nope", "'content' unknown service name."},
		{"tcp", "tcp-request content use-service lua.h", "HTTP applets are forbidden from 'tcp-request' rulesets"},
		{"http", "tcp-request content use-service lua.h", "HTTP applets are forbidden from 'tcp-request' rulesets"},
		{"http", "tcp-request content use-service lua.t", "Lua TCP services cannot be used on HTTP proxies"},
	} {
		cfg := "global\n   lua-load " + lua + "\nfrontend f\n   mode " + tc.mode + "\n   bind 127.0.0.1:0\n   " + tc.line + "\n"
		c, err := config.Parse("test.cfg", []byte(cfg))
		if err != nil {
			t.Fatal(err)
		}
		err = core.New(core.NewLogger(&syncBuffer{})).Load(c)
		if err == nil || !strings.Contains(err.Error(), "parsing [test.cfg:6] : "+tc.want+"\n") && !strings.HasSuffix(err.Error(), "parsing [test.cfg:6] : "+tc.want) {
			t.Errorf("%s (mode %s):\n got %v\nwant %q", tc.line, tc.mode, err, tc.want)
		}
	}
}

// Registering a name twice warns as HAProxy 2.6.12 does; the last one wins.
func TestLuaRegisterTwiceWarns(t *testing.T) {
	dir := t.TempDir()
	lua := filepath.Join(dir, "dup.lua")
	if err := os.WriteFile(lua, []byte(`
for i = 1, 2 do
  core.register_action("a", {"http-req"}, function() end)
  core.register_service("s", "tcp", function() end)
  core.register_fetches("f", function() end)
  core.register_converters("c", function() end)
  core.register_cli({"x", "y"}, "usage", function() end)
end
`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse("test.cfg", []byte("global\n   lua-load "+lua+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	if err := core.New(core.NewLogger(out)).Load(c); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"action 'lua.a'", "service 'lua.s'", "sample-fetch 'lua.f'", "converter 'lua.c'", "CLI keyword 'lua.x y'"} {
		want := "config : Trying to register " + w + " more than once. This will become a hard error in version 2.5.\n"
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
}
