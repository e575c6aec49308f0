//go:build lua53

package test

import (
	"strings"
	"testing"
	"time"
)

// luaReqScript is the request-side API as users write it: Lua fetches and
// converters used in sample expressions (the architecture document's
// my-hash example), txn.f/sf/c/sc, variables, Reply and txn:done(reply).
// The expected answers below were produced by HAProxy 2.6.12 with the
// same script and configuration.
const luaReqScript = `
core.register_fetches("d", function(txn) txn:done() return "after" end)
core.register_action("r", {"http-req"}, function(txn)
  local r = txn:reply()
  local out = {}
  local function add(k, v) out[#out+1] = k .. "=" .. type(v) .. ":" .. tostring(v) end
  add("ss", r:set_status(404)) add("reason", r.reason) add("ah", r:add_header("a", "b")) add("dh", r:del_header("a")) add("sb", r:set_body("x"))
  add("ss2", select(2, pcall(r.set_status, r, "abc")))
  add("rs", pcall(txn.reply, txn, "str"))
  add("ll", txn:set_loglevel(core.debug))
  add("mt", type(r.set_status) == "function")
  r.status = 202
  r.headers["x-y"] = {"z"}
  r.body = table.concat(out, "\n") .. "\n"
  txn:done(r)
end)
core.register_fetches("my-hash", function(txn, salt)
  return txn.sc:sdbm(salt .. txn.sf:req_fhdr("host") .. txn.sf:path() .. txn.sf:src(), 1)
end)
core.register_fetches("args", function(txn, ...)
  local t = {...}
  return #t .. ":" .. table.concat(t, ",")
end)
core.register_fetches("num", function(txn) return 42 end)
core.register_fetches("bool", function(txn) return true end)
core.register_fetches("boom", function(txn) error("boom") end)
core.register_fetches("nothing", function(txn) end)
core.register_converters("up", function(s, a) return s:upper() .. (a or "") end)
core.register_converters("typ", function(s) return type(s) end)
local function show(v) return type(v) .. ":" .. tostring(v) end
core.register_action("probe", {"http-req"}, function(txn)
  local out = {}
  local function add(k, v) out[#out+1] = k .. "=" .. show(v) end
  add("f.req_fhdr", txn.f:req_fhdr("host"))
  add("f.nohdr", txn.f:req_fhdr("x-none"))
  add("sf.nohdr", txn.sf:req_fhdr("x-none"))
  add("f.path", txn.f:path())
  add("f.method", txn.f:method())
  add("f.dst_port", txn.f:dst_port())
  add("sf.dst_port", txn.sf:dst_port())
  add("f.src", txn.f:src())
  add("f.always_true", txn.f:always_true())
  add("sf.always_true", txn.sf:always_true())
  add("f.int", txn.f:int(7))
  add("f.str", txn.f:str("abc"))
  add("c.lower", txn.c:lower("ABC"))
  add("c.sdbm", txn.c:sdbm("abc"))
  add("sc.sdbm", txn.sc:sdbm("abc"))
  add("c.bool", txn.c:bool(3))
  add("c.ipmask", txn.c:ipmask("10.1.2.3", 8))
  add("c.lower_num", txn.c:lower(12))
  add("c.hex", txn.c:hex("AB"))
  add("c.json", txn.c:json([[a"b]], "utf8"))
  add("c.fail", txn.c:json_query("{}", "$.x"))
  add("sc.fail", txn.sc:json_query("{}", "$.x"))
  add("set", txn:set_var("txn.a", 12))
  add("get", txn:get_var("txn.a"))
  add("setb", txn:set_var("txn.b", true))
  add("getb", txn:get_var("txn.b"))
  add("sets", txn:set_var("req.s", "str"))
  add("gets", txn:get_var("req.s"))
  add("ifx", txn:set_var("txn.zz", 1, true))
  add("getzz", txn:get_var("txn.zz"))
  add("ifx2", txn:set_var("txn.a", 13, true))
  add("geta", txn:get_var("txn.a"))
  add("bad", txn:set_var("nope", 1))
  add("getbad", txn:get_var("nope"))
  add("unset", txn:unset_var("txn.a"))
  add("unset2", txn:unset_var("txn.a"))
  add("afterunset", txn:get_var("txn.a"))
  add("proc", txn:set_var("proc.p", "pv"))
  add("getproc", txn:get_var("proc.p"))
  add("sess", txn:set_var("sess.s", 1.5))
  add("getsess", txn:get_var("sess.s"))
  add("reply", (tostring(txn:reply()):gsub("0x%x+", "ADDR")))
  local r = txn:reply{status=400, headers={["x-a"]={"1","2"}}, body="b"}
  add("r.status", r.status) add("r.reason", r.reason) add("r.body", r.body) add("r.h", r.headers["x-a"][2])
  txn:set_var("txn.out", table.concat(out, "\n"))
end)
core.register_action("deny", {"http-req"}, function(txn)
  local r = txn:reply({status = 403})
  r:add_header("content-type", "text/plain")
  r:add_header("x-multi", "a")
  r:add_header("x-multi", "b")
  r:set_body("denied by lua\n")
  r:set_status(418, "Teapot")
  txn:done(r)
end)
`

const luaReqCfg = `
global
   lua-load {dir}/req.lua
defaults
   mode http
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend f
   bind 127.0.0.1:0
   http-request lua.deny if { path /deny }
   http-request lua.r if { path /r }
   http-request return status 200 content-type text/plain lf-string "d=%[lua.d]\n" if { path /d }
   http-request lua.probe if { path /probe }
   http-request return status 200 content-type text/plain lf-string "%[var(txn.out)]\n" if { path /probe }
   http-request return status 200 content-type text/plain lf-string "hash=%[lua.my-hash(salt)] args=%[lua.args(a,b)] noargs=%[lua.args] num=%[lua.num] bool=%[lua.bool] boom=%[lua.boom] nothing=%[lua.nothing] up=%[req.hdr(host),lua.up] up2=%[req.hdr(host),lua.up(X)] typ=%[lua.num,lua.typ] numadd=%[lua.num,add(1)]\n"
`

// httpBody sends one request and returns the response body.
func httpGet(t *testing.T, addr, path string) string {
	t.Helper()
	return exchange(t, addr, "GET "+path+" HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n", false, 5*time.Second)
}

func bodyOf(resp string) string {
	if i := strings.Index(resp, "\r\n\r\n"); i >= 0 {
		return resp[i+4:]
	}
	return resp
}

func TestLuaReqFetchesInSampleExpressions(t *testing.T) {
	p := startProxy(t, luaReqCfg, map[string]string{"req.lua": luaReqScript})
	// HAProxy 2.6.12, same request.
	want := "hash=4189679035 args=2:a,b noargs=0: num=42 bool=1 boom= nothing= up=EXAMPLE.COM up2=EXAMPLE.COMX typ=string numadd=43\n"
	if got := bodyOf(httpGet(t, p.addr(0), "/x")); got != want {
		t.Errorf("got  %q\nwant %q\nlog:\n%s", got, want, p.log)
	}
	p.waitLog(t, "Lua sample-fetch 'boom': [state-id 0] runtime error: ", 2*time.Second)
}

func TestLuaReqTXNFetchesConvertersVars(t *testing.T) {
	p := startProxy(t, luaReqCfg, map[string]string{"req.lua": luaReqScript})
	got := strings.ReplaceAll(bodyOf(httpGet(t, p.addr(0), "/probe")), "%0A", "\n")
	want := strings.ReplaceAll(luaReqProbeWant, "{port}", p.addr(0)[strings.LastIndex(p.addr(0), ":")+1:])
	if got != want {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("line %d: got %q, want (HAProxy 2.6) %q", i+1, g, w)
			}
		}
		t.Logf("log:\n%s", p.log)
	}
}

func TestLuaReqReplyDone(t *testing.T) {
	p := startProxy(t, luaReqCfg, map[string]string{"req.lua": luaReqScript})
	got := httpGet(t, p.addr(0), "/deny")
	for _, w := range []string{"HTTP/1.1 418 Teapot\r\n", "x-multi: a\r\nx-multi: b\r\n", "content-type: text/plain\r\n", "content-length: 14\r\n", "\r\n\r\ndenied by lua\n"} {
		if !strings.Contains(got, w) {
			t.Errorf("response lacks %q:\n%s\nlog:\n%s", w, got, p.log)
		}
	}
}

// luaReqProbeWant is HAProxy 2.6.12's answer to /probe (port replaced).
const luaReqProbeWant = `f.req_fhdr=string:example.com
f.nohdr=nil:nil
sf.nohdr=string:
f.path=string:/probe
f.method=string:GET
f.dst_port=number:{port}
sf.dst_port=string:{port}
f.src=string:127.0.0.1
f.always_true=number:1
sf.always_true=string:1
f.int=number:7
f.str=string:abc
c.lower=string:abc
c.sdbm=number:807794786
sc.sdbm=string:807794786
c.bool=number:1
c.ipmask=string:10.0.0.0
c.lower_num=string:12
c.hex=string:4142
c.json=string:a\"b
c.fail=nil:nil
sc.fail=string:
set=boolean:true
get=number:12
setb=boolean:true
getb=number:1
sets=boolean:true
gets=string:str
ifx=boolean:true
getzz=number:1
ifx2=boolean:true
geta=number:13
bad=boolean:false
getbad=nil:nil
unset=boolean:true
unset2=boolean:true
afterunset=nil:nil
proc=boolean:true
getproc=string:pv
sess=boolean:true
getsess=number:0
reply=string:table: ADDR
r.status=number:400
r.reason=string:Bad Request
r.body=string:b
r.h=string:2
`

// TestLuaReqReplyFields: a Reply's fields, assignable by the script, and
// the methods' results; a fetch ending with txn:done(). HAProxy 2.6.12
// gives the same (as luaL_argerror, ss2 names a pcall'd method '?').
func TestLuaReqReplyFields(t *testing.T) {
	p := startProxy(t, luaReqCfg, map[string]string{"req.lua": luaReqScript})
	got := httpGet(t, p.addr(0), "/r")
	want := "HTTP/1.1 202 Not Found\r\n"
	body := "ss=boolean:true\nreason=string:Not Found\nah=boolean:true\ndh=boolean:true\nsb=boolean:true\n" +
		"ss2=string:bad argument #2 to '?' (number expected, got string)\nrs=boolean:true\nll=nil:nil\nmt=boolean:true\n"
	if !strings.HasPrefix(got, want) || !strings.Contains(got, "\r\nx-y: z\r\n") || bodyOf(got) != body {
		t.Errorf("got:\n%s\nwant %q ... x-y: z ... %q\nlog:\n%s", got, want, body, p.log)
	}
	if got := bodyOf(httpGet(t, p.addr(0), "/d")); got != "d=0\n" {
		t.Errorf("fetch ending with txn:done(): got %q, want (HAProxy 2.6) \"d=0\\n\"", got)
	}
}
