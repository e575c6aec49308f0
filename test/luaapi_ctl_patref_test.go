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

// Patref:event_sub reports the changes to one reference, made by Lua or
// the runtime API, in order, with no event data; a subscription filtered
// on PAT_REF_ADD sees only those, and unsub() ends one.
func TestLuaPatrefEventSub(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	p := startProxy(t, `
global
   lua-load {dir}/p.lua {dir}/m.map
   stats socket `+sock+` level admin
listen l
   mode http
   bind 127.0.0.1:0
   http-request set-header x-m %[path,map({dir}/m.map,none)]
   http-request return status 200 hdr x-m %[req.hdr(x-m)]
listen svc
   bind 127.0.0.1:0
   tcp-request content use-service lua.events
`, map[string]string{"m.map": "/a A\n", "p.lua": `
local mapname = ...
local all, adds, other = {}, {}, {}
core.register_init(function()
  local ref = assert(core.get_patref(mapname), "no patref")
  ref:event_sub({"PAT_REF"}, function(event, data, sub, when)
    all[#all+1] = event .. ":" .. tostring(data) .. ":" .. math.type(when)
  end)
  ref:event_sub({"PAT_REF_ADD"}, function(event) adds[#adds+1] = event end)
  local s = ref:event_sub({"PAT_REF_DEL", "PAT_REF_SET"}, function(event, data, sub)
    other[#other+1] = event
    sub:unsub()
  end)
  local ok, err = pcall(core.event_sub, {"PAT_REF_ADD"}, function() end)
  other.err = err
end)
core.register_service("events", "tcp", function(applet)
  applet:send(table.concat(all, " ") .. "\n" .. table.concat(adds, " ") .. "\n" .. table.concat(other, " ") .. "\n" .. tostring(other.err) .. "\n")
end)
`})
	name := ""
	for _, f := range strings.Fields(unixExchange(t, sock, "show map")) {
		if f = strings.Trim(f, "()'"); strings.HasSuffix(f, "/m.map") {
			name = f
		}
	}
	if name == "" {
		t.Fatal("no m.map in show map")
	}
	for _, cmd := range []string{
		"add map " + name + " /b B",
		"set map " + name + " /b BB",
		"del map " + name + " /b",
		"add map " + name + " /c C",
		"clear map " + name,
	} {
		unixExchange(t, sock, cmd)
	}
	ver := strings.Fields(unixExchange(t, sock, "prepare map "+name))
	if len(ver) == 0 {
		t.Fatal("prepare map: no version")
	}
	v := ver[len(ver)-1]
	unixExchange(t, sock, "add map @"+v+" "+name+" /d D")
	unixExchange(t, sock, "commit map @"+v+" "+name)

	want := "PAT_REF_ADD:nil:integer PAT_REF_SET:nil:integer PAT_REF_DEL:nil:integer PAT_REF_ADD:nil:integer PAT_REF_CLEAR:nil:integer PAT_REF_COMMIT:nil:integer\n" +
		"PAT_REF_ADD PAT_REF_ADD\n" +
		"PAT_REF_SET\n" +
		"event_sub: 'PAT_REF_ADD' events can only be subscribed per pattern reference, with Patref:event_sub()\n"
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = exchange(t, p.addr(1), "", false, 5*time.Second); got == want {
			return
		}
	}
	t.Errorf("got:\n%s\nwant:\n%s", got, want)
}
