//go:build lua53

package test

import (
	"strings"
	"testing"
	"time"
)

// luaReqMsgScript uses txn.http_req in an http-request action. HAProxy
// 2.6 builds txn.http_req/http_res only for filters: in an action they
// are nil, and a script that tests for them leaves the request alone.
// HTTPMessage itself is covered in a filter by the http_message case
// (testdata/luaapi) and in luabind/http_message_test.go.
const luaReqMsgScript = `
core.register_action("msg", {"http-req"}, function(txn)
  local m = txn.http_req
  if m == nil then
    txn:set_var("txn.out", "http_req=nil http_res=" .. tostring(txn.http_res))
    return
  end
  local out = {}
  local function add(k, v) out[#out+1] = k .. "=" .. tostring(v) end
  local st = m:get_stline()
  add("stline", st.method .. " " .. st.uri .. " " .. st.version)
  add("host", m:get_headers()["host"][0])
  add("orig", txn.f["req.fhdr"](txn.f, "host")) -- original names too (luaproxy only)
  add("is_resp", m:is_resp())
  add("res_status", pcall(m.set_status, m, 201))
  m:add_header("x-a", "1")
  m:add_header("x-a", "2")
  m:set_header("x-b", "b")
  m:del_header("x-del")
  m:rep_header("x-rep", "^(.*)-old$", "\\1-new")
  m:set_method("PUT")
  m:set_path("/new")
  m:set_query("q=1")
  add("chan", tostring(m.channel))
  add("res", tostring(txn.http_res))
  txn:set_var("txn.out", table.concat(out, " "))
end)
`

const luaReqMsgCfg = `
global
   lua-load {dir}/msg.lua
defaults
   mode http
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend f
   bind 127.0.0.1:0
   http-request lua.msg
   http-request return status 200 content-type text/plain lf-string "%[var(txn.out)]|%[req.fhdr(x-a)]|%[req.hdr(x-b)]|%[req.hdr(x-del)]|%[req.hdr(x-rep)]|%[method] %[path] %[query]\n"
`

func TestLuaReqHTTPMessage(t *testing.T) {
	p := startProxy(t, luaReqMsgCfg, map[string]string{"msg.lua": luaReqMsgScript})
	req := "POST /old?x=y HTTP/1.1\r\nHost: example.com\r\nX-Del: d\r\nX-Rep: v-old\r\nContent-Length: 6\r\nConnection: close\r\n\r\nabcdef"
	got := bodyOf(exchange(t, p.addr(0), req, false, 5*time.Second))
	want := "http_req=nil http_res=nil|||d|v-old|POST /old x=y\n"
	if got != want {
		t.Errorf("got  %q\nwant %q\nlog:\n%s", got, want, p.log)
	}
	if strings.Contains(p.log.String(), "runtime error") {
		t.Errorf("log:\n%s", p.log)
	}
}
