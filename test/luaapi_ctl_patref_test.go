//go:build lua53

package test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// core.get_patref edits the pattern references the configuration loaded,
// the ones the runtime API shows.
func TestLuaPatref(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	p := startProxy(t, `
global
   lua-load {dir}/p.lua
   stats socket `+sock+` level admin
listen l
   mode http
   bind 127.0.0.1:0
   http-request set-header x-m %[path,map({dir}/m.map,none)]
   http-request return status 200 hdr x-m %[req.hdr(x-m)]
listen svc
   bind 127.0.0.1:0
   tcp-request content use-service lua.edit
`, map[string]string{"m.map": "/a A\n/b B\n", "p.lua": `
local function all(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  return table.concat(t, ",", 1, t.n)
end
core.register_service("edit", "tcp", function(applet)
  local r = {}
  local ref = core.get_patref(applet:getline():gsub("\n", ""))
  r[#r+1] = all(ref:get_name():match("m.map$"), ref:is_map(), core.get_patref("nope"))
  r[#r+1] = all(ref:add("/c", "C"), ref:set("/a", "AA"), ref:set("/z", "Z"), ref:set("/y", "Y", true), ref:del("/b"), ref:del("/nope"))
  ref:prepare()
  r[#r+1] = all(ref:add("/p", "P"), ref:add_bulk({["/q"] = "Q", ["/r"] = "R"}), ref:del("/q"))
  r[#r+1] = all(ref:commit(), ref:commit())
  applet:send(table.concat(r, "\n") .. "\n")
end)
`})
	maps := unixExchange(t, sock, "show map")
	var name string
	for _, f := range strings.Fields(maps) {
		if f = strings.Trim(f, "()'"); strings.HasSuffix(f, "/m.map") {
			name = f
		}
	}
	if name == "" {
		t.Fatalf("show map: %q", maps)
	}
	got := exchange(t, p.addr(1), name+"\n", false, 5*time.Second)
	want := "m.map,true,nil\ntrue,true,nil,true,true,false\ntrue,true,true\ntrue,nil,no pending version to commit (call prepare() first)\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	show := unixExchange(t, sock, "show map "+name)
	var keys []string
	for _, line := range strings.Split(strings.TrimSpace(show), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			keys = append(keys, f[1]+"="+f[2])
		}
	}
	if strings.Join(keys, " ") != "/p=P /r=R" {
		t.Errorf("show map after commit: %q", show)
	}
}
