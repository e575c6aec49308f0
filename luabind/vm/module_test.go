//go:build lua53

package vm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRequireCJSON: Debian's lua-cjson loads from the default package.cpath
// (it takes the lua_* symbols from the liblua5.3.so this binary links).
func TestRequireCJSON(t *testing.T) {
	const so = "/usr/lib/x86_64-linux-gnu/lua/5.3/cjson.so"
	if _, err := os.Stat(so); err != nil {
		t.Skipf("lua-cjson not installed: %v", err)
	}
	st := newBoundaryState(t, Options{})
	res := runOK(t, st, `
		local cjson = require("cjson")
		local s = cjson.encode({a = 1, b = {1, 2, 3}, c = "x\"y"})
		local t = cjson.decode(s)
		local ok, e = pcall(cjson.decode, "{bad")
		return t.a, #t.b, t.b[3], t.c, ok, require("cjson") == cjson, cjson.encode(cjson.decode('[1,"two",true,null]'))`)
	wantResults(t, res, float64(1), int64(3), float64(3), `x"y`, false, true, `[1,"two",true,null]`) // cjson decodes numbers as floats
}

// TestRequireCModules builds cmodules/*.c into a temporary directory, as
// `make cmodules` does, and requires them; a missing module gives Lua's usual
// error.
func TestRequireCModules(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	flags, err := exec.Command("pkg-config", "--cflags", "lua5.3").Output()
	if err != nil {
		t.Skipf("pkg-config lua5.3: %v", err)
	}
	dir := t.TempDir()
	for _, name := range []string{"mymod", "concat"} {
		args := append([]string{"-O2", "-Wall", "-Wextra", "-fPIC", "-shared"}, strings.Fields(string(flags))...)
		args = append(args, "-o", filepath.Join(dir, name+".so"), filepath.Join("..", "..", "cmodules", name+".c"))
		if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", name, err, out)
		}
	}
	st := newBoundaryState(t, Options{MaxMem: 8 << 20})
	res := runOK(t, st, `
		package.cpath = "`+dir+`/?.so;" .. package.cpath
		local mymod = require("mymod") -- prints "Hello world"
		local concat = require("concat")
		local b = concat.new()
		for i = 1, 1000 do b:add("0123456789") end
		b:add(1, 2.5)
		local ok, e = pcall(function() return b:add({}) end)
		local ok2, e2 = pcall(require, "nope")
		return mymod, #b, b:dump():sub(-4), tostring(b) == b:dump(), ok, e, ok2, e2`)
	if len(res) != 8 {
		t.Fatalf("results %#v", res)
	}
	wantResults(t, res[:6], true, int64(10004), "12.5", true, false, "test:8: bad argument #1 to 'add' (string expected, got table)")
	msg, _ := res[7].(string)
	if res[6] != false || !strings.HasPrefix(msg, "module 'nope' not found:") || !strings.Contains(msg, "no file '"+dir+"/nope.so'") {
		t.Errorf("require('nope'): %v %q", res[6], msg)
	}

	// concat allocates through the state's allocator: the cap applies.
	res = runOK(t, st, `
		local b = require("concat").new()
		local ok, e = pcall(function() for i = 1, 1e6 do b:add(("x"):rep(1000)) end end)
		local n = #b
		b = nil collectgarbage()
		return ok, e, n > 1e6`)
	wantResults(t, res, false, "test:3: not enough memory", true) // raised by concat with luaL_error
}
