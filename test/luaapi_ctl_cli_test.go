//go:build lua53

package test

import (
	"path/filepath"
	"strings"
	"testing"
)

// core.register_cli adds a runtime API command: the function gets an
// AppletTCP and the command's words; help lists its usage.
func TestLuaRegisterCLI(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	startProxy(t, `
global
   lua-load {dir}/c.lua
   stats socket `+sock+` level admin
`, map[string]string{"c.lua": `
core.register_cli({"show", "lua", "hello"}, "show lua hello [name]             : say hello", function(applet, ...)
  local args = table.pack(...)
  local t = {}
  for i = 1, args.n do t[#t+1] = tostring(args[i]) end
  applet:send("hello " .. table.concat(t, ",") .. "\n")
  local body = applet:receive()
  if body and #body > 0 then applet:send("payload=" .. body .. "\n") end
end)
core.register_cli({"lua", "fail"}, "lua fail : raise", function(applet) error("boom") end)
`})
	if got := unixExchange(t, sock, "show lua hello world"); got != "hello show,lua,hello,world\n\n" {
		t.Errorf("command: %q", got)
	}
	if got := unixExchange(t, sock, "show lua hello <<\nline1\nline2\n"); got != "hello show,lua,hello\npayload=line1\nline2\n\n" {
		t.Errorf("payload: %q", got)
	}
	if got := unixExchange(t, sock, "help"); !strings.Contains(got, "show lua hello [name]             : say hello\n") {
		t.Errorf("help lacks the usage:\n%s", got)
	}
	if got := unixExchange(t, sock, "lua fail"); !strings.Contains(got, "boom") {
		t.Errorf("error: %q", got)
	}
}
