//go:build lua53

package test

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// appletFilterScript traces a TCP filter around a TCP service: the
// filter uppercases what the client sends, puts "<" in front of what the
// service answers, and fails on a request holding "fail"; the service
// answers each line with "got:" and the line.
const appletFilterScript = `
local function dir(c) if c:is_resp() then return "res" else return "req" end end
local function show(v) return (tostring(v):gsub("\n", "\\n")) end
T = {}
T.__index = T
function T:new() return setmetatable({}, T) end
function T:start_analyze(txn, chn)
  core.Info("af start_analyze " .. dir(chn))
  filter.register_data_filter(self, chn)
end
function T:end_analyze(txn, chn) core.Info("af end_analyze " .. dir(chn)) end
function T:tcp_payload(txn, chn)
  local n = chn:input()
  if n == 0 then return end
  local d = chn:data()
  core.Info("af tcp_payload " .. dir(chn) .. " [" .. show(d) .. "]")
  if d:find("fail") then error("asked to fail") end
  if dir(chn) == "req" then chn:set(d:upper()) else chn:insert("<") end
end
core.register_filter("af", T, function(flt, args) return flt end)
-- waits for the first line, which the filter then sees before the service
core.register_action("line", {"tcp-req"}, function(txn) txn.req:line() end)
core.register_service("echo", "tcp", function(applet)
  while true do
    local l = applet:getline()
    core.Info("af applet got [" .. show(l) .. "]")
    if l == "" then break end
    applet:send("got:" .. l)
  end
end)
`

// TestLuaFilterTCPServiceAgainstHAProxy covers a regression: the
// tcp_payload of Lua filters did not run on the data a TCP service
// (tcp-request content use-service) exchanges with its client. As in
// HAProxy 2.6, the filters see the client's data before the service, and
// what the service sends before the client; start_analyze(res) comes
// before the service runs, end_analyze(req) when the client's data ends.
func TestLuaFilterTCPServiceAgainstHAProxy(t *testing.T) {
	cfg := `
global
   lua-load {dir}/a.lua
defaults
   mode tcp
   timeout client 5s
   timeout server 5s
   timeout connect 5s
listen l
   bind {bind}
   filter lua.af
   tcp-request content use-service lua.echo
listen buffered
   bind {bind1}
   filter lua.af
   tcp-request inspect-delay 5s
   tcp-request content lua.line
   tcp-request content use-service lua.echo
listen probe
   bind 127.0.0.1:0
   tcp-request content reject
`
	files := map[string]string{"a.lua": appletFilterScript}
	// HAProxy 2.6.12's sequence, its calls on no data left out
	seq := strings.Join([]string{
		"start_analyze req", "start_analyze res",
		`tcp_payload req [hello\n]`, `applet got [HELLO\n]`, `tcp_payload res [got:HELLO\n]`,
		`tcp_payload req [foo\n]`, `applet got [FOO\n]`, `tcp_payload res [got:FOO\n]`,
		"end_analyze req", "applet got []", "end_analyze res"}, "\n")
	trace := regexp.MustCompile(`af ([a-z_]+ (?:req|res|got)(?: \[[^\]]*\])?)`)
	// with the data buffered by the content rules first
	seqBuffered := strings.Replace(seq, "start_analyze res\ntcp_payload req [hello\\n]", "tcp_payload req [hello\\n]\nstart_analyze res", 1)
	dialog := func(t *testing.T, addr string, buffered bool) string {
		if !buffered {
			// HAProxy: data there before the service starts is
			// filtered before start_analyze(res); let it start
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			time.Sleep(200 * time.Millisecond)
			return tcpFilterDialogOn(t, c, []string{"hello\n", "foo\n"})
		}
		return tcpFilterDialog(t, addr, []string{"hello\n", "foo\n"})
	}
	run := func(t *testing.T, addr string, log *syncBuffer, buffered bool) {
		want := seq
		if buffered {
			want = seqBuffered
		}
		from := len(log.String())
		if got := dialog(t, addr, buffered); got != "<got:HELLO\n<got:FOO\n" {
			t.Errorf("the client got %q", got)
		}
		var lines []string
		waitFor(t, func() bool {
			lines = lines[:0]
			for _, m := range trace.FindAllStringSubmatch(log.String()[from:], -1) {
				lines = append(lines, m[1])
			}
			return strings.HasSuffix(strings.Join(lines, "\n"), "end_analyze res")
		})
		if got := strings.Join(lines, "\n"); got != want {
			t.Errorf("callbacks:\n%s\nwant:\n%s", got, want)
		}
	}
	// a failing filter aborts the stream: the service never sees the
	// line, the client gets nothing for it
	fail := func(t *testing.T, addr string, log *syncBuffer) {
		from := len(log.String())
		if got := exchange(t, addr, "ok\nfail\n", false, 5*time.Second); strings.Contains(got, "FAIL") {
			t.Errorf("failed line forwarded: %q", got)
		}
		if strings.Contains(log.String()[from:], "applet got [FAIL") {
			t.Errorf("the service read the failed line:\n%s", log.String()[from:])
		}
	}
	t.Run("luaproxy", func(t *testing.T) {
		p := startProxy(t, strings.NewReplacer("{bind}", "127.0.0.1:0", "{bind1}", "127.0.0.1:0").Replace(cfg), files)
		run(t, p.addr(0), p.log, false)
		run(t, p.addr(1), p.log, true)
		fail(t, p.addr(0), p.log)
	})
	t.Run("haproxy", func(t *testing.T) {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		addr1 := "127.0.0.1:" + strconv.Itoa(freePort(t))
		_, log := runHAProxyLog(t, strings.NewReplacer("{bind}", addr, "{bind1}", addr1).Replace(cfg), files)
		run(t, addr, log, false)
		run(t, addr1, log, true)
		fail(t, addr, log)
	})
}
