//go:build lua53

package test

import (
	"strings"
	"testing"
	"time"
)

// luaAPICoreScript uses the core functions, Regex and Concat in the body,
// an action and a TCP service, as users write them.
const luaAPICoreScript = `-- A service and an action written as users write them, using the core
-- functions, Regex and Concat. Its output is compared with HAProxy 2.6's.
local body = core.concat()
body:add("body:")

-- compiled once in the body, as the reference recommends
local ok, reqline = Regex.new("^([A-Z]+) (/[^ ?]*)(?:\\?(\\S*))? HTTP/(\\d\\.\\d)\r?$", true)
body:add(" regex=" .. tostring(ok))
local bad, why = Regex.new("(unclosed", true)
body:add(" bad=" .. tostring(bad) .. " why=" .. why:gsub(", erroffset=%d+", ""))
local nets = {}
for _, n in ipairs(core.tokenize("10.0.0.0/8, 192.168.0.0/16,,::1/128", ", ", true)) do
  nets[#nets + 1] = core.parse_addr(n)
end
body:add(" nets=" .. #nets)
body:add(" done=" .. tostring(pcall(core.done)))
core.msleep(1)
core.yield()

local actions = {}
core.register_action("ctx", {"tcp-req"}, function(txn)
  local c = core.concat()
  c:add("action:")
  core.set_nice(10)
  core.yield()
  core.msleep(1)
  c:add(" slept")
  c:add(" date=" .. tostring(core.http_date("Sunday, 06-Nov-94 08:49:37 GMT")))
  actions[#actions + 1] = c:dump()
  core.done()
  actions[#actions + 1] = "not reached"
end)

core.register_service("api", "tcp", function(applet)
  local out = core.concat()
  out:add(body:dump() .. "\n")
  for _, a in ipairs(actions) do out:add(a .. "\n") end
  local line = applet:getline()
  local matched, m = reqline:match(line)
  out:add("request: " .. tostring(matched))
  for i = 1, #m do out:add(" [" .. i .. "]=" .. m[i]) end
  out:add("\n")
  local q = core.tokenize(m[4] or "", "&")
  for _, kv in ipairs(q) do
    local p = core.tokenize(kv, "=")
    out:add("  param " .. p[1] .. "=" .. (p[2] or "") .. "\n")
  end
  while true do
    local h = applet:getline()
    if h == "" or h == "\r\n" or h == "\n" then break end
    local _, hm = Regex.new("^([^:]+):\\s*(.*?)\\s*$", true)
    local _, kv = hm:match(h)
    local name, value = kv[2]:lower(), kv[3]
    if name == "date" then
      out:add("  date " .. tostring(core.http_date(value)) .. " imf=" .. tostring(core.imf_date(value)) ..
        " asctime=" .. tostring(core.asctime_date(value)) .. "\n")
    elseif name == "x-forwarded-for" then
      local a = core.parse_addr(value)
      local hit = {}
      for i, n in ipairs(nets) do hit[#hit + 1] = tostring(core.match_addr(a, n)) end
      out:add("  xff " .. tostring(a ~= nil) .. " " .. table.concat(hit, ",") .. "\n")
    end
  end
  local info = core.get_info()
  out:add("info " .. info.Name .. " " .. math.type(info.Pid) .. " " .. type(info.Uptime) .. "\n")
  applet:send(out:dump())
end)
`

// luaAPICoreWant is what HAProxy 2.6.12 sent back for the same
// configuration, script and request (tcp mode, "use-service lua.api").
const luaAPICoreWant = "body: regex=true bad=false why=regex '(unclosed' is invalid (error=missing closing parenthesis) nets=3 done=true\n" +
	"action: slept date=784111777\n" +
	"request: true [1]=GET /search?q=lua&page=2 HTTP/1.1\r [2]=GET [3]=/search [4]=q=lua&page=2 [5]=1.1\n" +
	"  param q=lua\n" +
	"  param page=2\n" +
	"  date 784111777 imf=nil asctime=784111777\n" +
	"  xff true false,true,false\n" +
	"info HAProxy integer string\n"

func TestLuaAPICoreFunctions(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/api.lua
defaults
   mode tcp
   timeout client 5s
listen a
   bind 127.0.0.1:0
   tcp-request inspect-delay 1s
   tcp-request content lua.ctx
   tcp-request content use-service lua.api
`, map[string]string{"api.lua": luaAPICoreScript})
	req := "GET /search?q=lua&page=2 HTTP/1.1\r\nHost: x\r\nDate: Sun Nov  6 08:49:37 1994\r\nX-Forwarded-For: 192.168.1.7\r\n\r\n"
	got := exchange(t, p.addr(0), req, false, 5*time.Second)
	if got != luaAPICoreWant {
		t.Fatalf("got:\n%s\nwant (HAProxy 2.6):\n%s\nlog:\n%s", got, luaAPICoreWant, p.log)
	}
	if strings.Contains(p.log.String(), "runtime error") {
		t.Fatalf("log:\n%s", p.log)
	}
}
