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
