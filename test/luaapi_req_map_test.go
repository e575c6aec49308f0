//go:build lua53

package test

import "testing"

// luaReqMapScript uses Map.new in the body and core.set_map/del_map in an
// action; the map converter of the configuration sees the same reference.
const luaReqMapScript = `
local dir = ...
local names = {}
for k, v in pairs(Map) do if type(v) == "number" then names[#names+1] = k .. "=" .. v end end
table.sort(names)
local consts = table.concat(names, " ")
local m = Map.new(dir .. "/m.map", Map._str)
local b = Map.new(dir .. "/m.map", Map._beg)
local ip = Map.new(dir .. "/ip.map", Map._ip)
core.register_fetches("mapt", function(txn)
  return consts .. " | " .. tostring(m:lookup("key1")) .. " " .. tostring(m:lookup("nokey")) .. " [" .. m:slookup("nokey") .. "] " ..
    tostring(b:lookup("abcdef")) .. " " .. tostring(ip:lookup("10.2.3.4")) .. " " .. tostring(ip:lookup("11.2.3.4")) .. " " .. tostring(ip:lookup("nope"))
end)
core.register_action("setm", {"http-req"}, function(txn)
  core.set_map(dir .. "/m.map", "key2", "v2")
  core.del_map(dir .. "/m.map", "key1")
end)
`

const luaReqMapCfg = `
global
   lua-load {dir}/m.lua {dir}
defaults
   mode http
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend f
   bind 127.0.0.1:0
   http-request lua.setm if { path /set }
   http-request return status 200 content-type text/plain lf-string "%[lua.mapt] conv=%[str(key2),map({dir}/m.map,none)]\n"
`

// luaReqMapWant is HAProxy 2.6.12's answer to /, /set, / in turn.
const luaReqMapWant = "_beg=7 _bin=4 _bool=1 _dir=9 _dom=10 _end=11 _found=0 _int=2 _ip=3 _len=5 _reg=12 _regm=13 _str=6 _sub=8 " +
	"beg=7 bin=4 bool=1 dir=9 dom=10 end=11 found=0 int=2 ip=3 len=5 reg=12 regm=13 str=6 sub=8 | "

func TestLuaReqMap(t *testing.T) {
	p := startProxy(t, luaReqMapCfg, map[string]string{
		"m.lua":  luaReqMapScript,
		"m.map":  "key1 v1\nabc vabc\n",
		"ip.map": "10.0.0.0/8 ten\n",
	})
	for i, want := range []string{
		"v1 nil [] vabc ten nil nil conv=none\n",
		"nil nil [] vabc ten nil nil conv=v2\n",
		"nil nil [] vabc ten nil nil conv=v2\n",
	} {
		path := "/"
		if i == 1 {
			path = "/set"
		}
		if got := bodyOf(httpGet(t, p.addr(0), path)); got != luaReqMapWant+want {
			t.Errorf("request %d: got %q\nwant %q\nlog:\n%s", i, got, luaReqMapWant+want, p.log)
		}
	}
}
