//go:build lua53

package test

import (
	"regexp"
	"testing"
	"time"
)

// luaReqTCPScript runs the TXN functions in TCP mode and in the sample
// contexts, including what they refuse there: txn.http is nil, txn:reply()
// fails, fetches and converters cannot yield. Expected values come from
// HAProxy 2.6.12 with the same script and configuration. (HTTP fetches
// on a TCP stream are left out: HAProxy parses the buffered payload as
// HTTP when it is there, which depends on timing; luaproxy's sample
// package does not.)
const luaReqTCPScript = `
local function show(v) return type(v) .. ":" .. tostring(v) end
core.register_fetches("sleepy", function(txn) core.msleep(1) return "x" end)
core.register_converters("sleepyc", function(s) core.msleep(1) return "x" end)
core.register_fetches("done", function(txn) txn:done() return "after" end)
core.register_fetches("donev", function(txn) core.done("dv") return "after" end)
core.register_action("probe", {"tcp-req"}, function(txn)
  local out = {}
  local function add(k, v) out[#out+1] = k .. "=" .. show(v) end
  add("http", txn.http)
  add("http_req", txn.http_req)
  add("f.src", txn.f:src())
  add("set", txn:set_var("txn.t", "v"))
  add("get", txn:get_var("txn.t"))
  add("reply", select(2, pcall(txn.reply, txn)))
  add("ll", pcall(txn.set_loglevel, txn, 9))
  add("ll2", select(2, pcall(txn.set_loglevel, txn, 9)))
  add("tos", txn:set_tos(0))
  add("prio", txn:set_priority_class(5000))
  add("sv", select(2, pcall(txn.set_var, txn, "txn.x")))
  add("gv", select(2, pcall(txn.get_var, txn)))
  add("conv_err", select(2, pcall(txn.c.ipmask, txn.c, "nope", 8)))
  add("fetch_err", select(2, pcall(txn.f.req_fhdr, txn.f, {})))
  add("nofetch", txn.f.no_such_fetch)
  txn.res:send(table.concat(out, "\n") .. "\n")
  txn:done()
end)
core.register_service("show", "tcp", function(applet)
  applet:send(tostring(applet:get_var("sess.out")) .. "\n")
end)
core.register_action("donereply", {"tcp-req"}, function(txn)
  txn:done(txn:reply{status=403, body="x"})
end)
`

const luaReqTCPCfg = `
global
   lua-load {dir}/tcp.lua
defaults
   mode tcp
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend f
   bind 127.0.0.1:0
   tcp-request inspect-delay 1s
   tcp-request content set-var(sess.samp) lua.sleepy
   tcp-request content set-var(sess.samp2) str(a),lua.sleepyc
   tcp-request content lua.probe
   tcp-request content use-service lua.show
`

// luaReqTCPWant is HAProxy 2.6.12's answer; "bad argument #n to 'f'" is
// normalised, the name of a function reached through pcall differing.
const luaReqTCPWant = `http=nil:nil
http_req=nil:nil
f.src=string:127.0.0.1
set=boolean:true
get=string:v
reply=string:txn object is not an HTTP transaction.
ll=boolean:false
ll2=string:bad argument #2 to '?' (Bad log level. It must be between 0 and 7)
tos=nil:nil
prio=nil:nil
sv=string:'set_var' needs between 3 and 4 arguments
gv=string:'get_var' needs 2 arguments
conv_err=string:error during the input argument casting
fetch_err=string:bad argument #2 to '?' (unable to duplicate string arg)
nofetch=nil:nil
`

var badArg = regexp.MustCompile(`bad argument #\d+ to '[^']*'`)

func TestLuaReqTCPMode(t *testing.T) {
	p := startProxy(t, luaReqTCPCfg, map[string]string{"tcp.lua": luaReqTCPScript})
	got := exchange(t, p.addr(0), "GET / HTTP/1.1\r\nHost: h\r\n\r\n", false, 5*time.Second)
	got = badArg.ReplaceAllString(got, "bad argument")
	want := badArg.ReplaceAllString(luaReqTCPWant, "bad argument")
	if got != want {
		t.Errorf("got:\n%s\nwant (HAProxy 2.6):\n%s\nlog:\n%s", got, want, p.log)
	}
	p.waitLog(t, "Lua sample-fetch 'sleepy': yield not allowed.", 2*time.Second)
	p.waitLog(t, "Lua converter 'sleepyc': yield functions like core.tcp() or core.sleep() are not allowed.", 2*time.Second)
}
