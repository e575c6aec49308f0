//go:build lua53

package test

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Proxy, Server and Listener objects act on the engine's live objects.
func TestLuaProxyServerListener(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/p.lua
listen svc
   bind 127.0.0.1:0
   tcp-request content use-service lua.report
frontend fe
   mode http
   bind 127.0.0.1:0
   bind 127.0.0.1:0
   default_backend be
backend be
   mode http
   server s1 127.0.0.1:8001 weight 10
   server s2 127.0.0.1:8002 backup
`, map[string]string{"p.lua": `
local function all(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  return table.concat(t, ",", 1, t.n)
end
core.register_service("report", "tcp", function(applet)
  local r = {}
  local function add(s) r[#r+1] = s end
  local be = core.backends["be"]
  add(all(be.name, be:get_name(), be:get_cap(), be:get_mode(), be.uuid == be:get_uuid(), type(be.uuid)))
  add(all(core.frontends["fe"]:get_cap(), core.proxies["svc"]:get_cap(), core.backends["fe"], core.frontends["be"], core.proxies["nope"]))
  local names = {}
  for name, px in pairs(core.proxies) do names[#names+1] = name .. "=" .. px:get_name() end
  add(table.concat(names, " "))
  names = {}
  for name in pairs(core.backends) do names[#names+1] = name end
  add(table.concat(names, " ") .. " #" .. #core.frontends)
  local s1, s2 = be.servers["s1"], be.servers.s2
  add(all(s1:get_name(), s1.name, s1:get_puid(), s2:get_puid(), type(s1:get_rid()), s1:get_addr(), s1:get_proxy():get_name()))
  add(all(s1:is_backup(), s2:is_backup(), s1:is_dynamic(), s1:is_draining(), s1:get_cur_sess(), s1:get_pend_conn()))
  add(all(s1:get_weight(), s1:set_weight("5"), s1:get_weight(), s1:set_weight("bad")))
  add(all(s1:set_maxconn(20), s1:get_maxconn()))
  s1:set_drain()
  add(all(s1:is_draining(), s1:get_stats().status))
  s1:set_maint()
  add(all(s1:get_stats().status, be:get_srv_act(), be:get_srv_bck()))
  s1:set_ready()
  add(all(s1:get_stats().status, be:get_srv_act(), be:get_srv_bck()))
  s1:check_force_down()
  add(all(s1:get_stats().status, be:get_srv_act()))
  s1:check_force_up()
  add(all(s1:get_stats().status, be:get_srv_act()))
  add(all(s1:set_addr("127.0.0.2", 8003), s1:get_addr()))
  s1:agent_enable() s1:agent_force_up() s1:agent_force_down() s1:agent_disable()
  add(all(s1:tracking(), #s1:get_trackers()))
  local st = be:get_stats()
  add(all(st.pxname, st.svname, st.status, math.type(st.weight)))
  local sst = s1:get_stats()
  add(all(sst.pxname, sst.svname, sst.weight))
  local fst = core.frontends["fe"]:get_stats()
  add(all(fst.pxname, fst.svname))
  local ls = {}
  for name, l in pairs(core.frontends["fe"].listeners) do ls[#ls+1] = name .. ":" .. l:get_stats().svname end
  table.sort(ls)
  add(table.concat(ls, " "))
  add(all(tostring(be), tostring(s1), core.proxies.be.stktable))
  add(all(pcall(function() core.backends.x = 1 end)))
  applet:send(table.concat(r, "\n") .. "\n")
end)
`})
	got := exchange(t, p.addr(0), "", true, 5*time.Second)
	want := strings.Join([]string{
		"be,be,backend,http,true,string",
		"frontend,proxy,nil,nil,nil",
		"svc=svc fe=fe be=be",
		"svc be #2",
		"s1,s1,1,2,number,127.0.0.1:8001,be",
		"false,true,false,false,0,0",
		"10,nil,5,Empty weight string empty or preceded by garbage",
		"nil,20",
		"true,DRAIN",
		"MAINT,0,1",
		"no check,1,1",
		"DOWN,0",
		"no check,1",
		"IP changed from '127.0.0.1' to '127.0.0.2', port changed from '8001' to '8003' by 'Lua script',127.0.0.2:8003",
		"nil,0",
		"be,BACKEND,UP,integer",
		"be,s1,5",
		"fe,FRONTEND",
		"sock-1:sock-1 sock-2:sock-2",
		"Proxy,Server,nil",
	}, "\n")
	if !strings.HasPrefix(got, want+"\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(got, "read-only") {
		t.Errorf("write to core.backends: %q", got[strings.LastIndex(got[:len(got)-1], "\n")+1:])
	}
}

// core.backends is lazy: 30,000 backends add no Lua memory at start, and a
// lookup or an iteration reaches any of them.
func TestLuaProxyListLazy(t *testing.T) {
	heap := func(n int) (float64, string) {
		var b strings.Builder
		b.WriteString("global\n   lua-load {dir}/m.lua\nlisten svc\n   bind 127.0.0.1:0\n   tcp-request content use-service lua.mem\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "backend b%d\n   server s 127.0.0.1:%d\n", i, 1000+i%1000)
		}
		p := startProxy(t, b.String(), map[string]string{"m.lua": `
collectgarbage() collectgarbage()
start_kb = collectgarbage("count")
core.register_service("mem", "tcp", function(applet)
  local px = core.backends["b` + strconv.Itoa(n-1) + `"]
  local n = 0
  for _ in pairs(core.backends) do n = n + 1 end
  applet:send(string.format("%.1f %s %s %d", start_kb, px:get_name(), px.servers.s:get_name(), n))
end)
`})
		out := exchange(t, p.addr(0), "", true, 30*time.Second)
		f := strings.Fields(out)
		if len(f) != 4 {
			t.Fatalf("%d backends: %q", n, out)
		}
		kb, _ := strconv.ParseFloat(f[0], 64)
		return kb, strings.Join(f[1:], " ")
	}
	small, out := heap(10)
	if out != "b9 s 11" { // and the listen section
		t.Errorf("10 backends: %q", out)
	}
	large, out := heap(30000)
	if out != "b29999 s 30001" {
		t.Errorf("30000 backends: %q", out)
	}
	if large-small > 1 {
		t.Errorf("Lua heap at start: %.1f KB with 10 backends, %.1f KB with 30000: the list is not lazy", small, large)
	}
	t.Logf("Lua heap after the body: %.1f KB (10 backends), %.1f KB (30000 backends)", small, large)
}

// An echo health-check target that can be stopped and restarted on the
// same port.
type checkTarget struct {
	t    *testing.T
	addr string
	ln   net.Listener
}

func newCheckTarget(t *testing.T) *checkTarget {
	ct := &checkTarget{t: t}
	ct.start("127.0.0.1:0")
	ct.addr = ct.ln.Addr().String()
	t.Cleanup(func() { ct.ln.Close() })
	return ct
}

func (ct *checkTarget) start(addr string) {
	var err error
	for i := 0; i < 50; i++ {
		if ct.ln, err = net.Listen("tcp4", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		ct.t.Fatal(err)
	}
	go func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}(ct.ln)
}

// A server whose health check fails then passes again gives SERVER_DOWN
// then SERVER_UP, in order, with the server's data; "add server" and "del
// server" on the runtime API give SERVER_ADD and SERVER_DEL.
func TestLuaEventSubServerEvents(t *testing.T) {
	ct := newCheckTarget(t)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	p := startProxy(t, `
global
   lua-load {dir}/e.lua
   stats socket `+sock+` level admin
backend be
   server s1 `+ct.addr+` check inter 50 rise 1 fall 1
   server s2 `+ct.addr+`
`, map[string]string{"e.lua": `
local function fmt(e, d, when)
  local ref = d.reference and d.reference:get_name() or "-"
  return string.format("EV %s name=%s puid=%s rid=%s px=%s pxid=%s ref=%s when=%s",
    e, d.name, tostring(d.puid), tostring(d.rid), d.proxy_name, tostring(d.proxy_uuid), ref, tostring(math.abs(os.time() - when) < 5))
end
core.event_sub({"SERVER_UP", "SERVER_DOWN", "SERVER_ADD", "SERVER_DEL"}, function(e, d, sub, when)
  core.msleep(1) -- callbacks may yield, and still run in order
  core.Info(fmt(e, d, when))
end)
core.event_sub({"SERVER_STATE"}, function(e, d, sub, when)
  local s = d.state
  core.Info(string.format("ST %s %s->%s admin=%s check=%s", d.name, s.old_state, s.new_state, tostring(s.admin), s.check and s.check.result or "-"))
end)
core.register_init(function()
  core.backends.be.servers.s2:event_sub({"SERVER_ADMIN"}, function(e, d, sub)
    core.Info(string.format("ADM %s %s [%s] -> [%s]", e, d.name, table.concat(d.admin.old_admin, " "), table.concat(d.admin.new_admin, " ")))
    sub:unsub()
  end)
end)
`})
	time.Sleep(200 * time.Millisecond) // a few passing checks: no event
	ct.ln.Close()
	p.waitLog(t, "EV SERVER_DOWN name=s1", 5*time.Second)
	ct.start(ct.addr)
	log := p.waitLog(t, "EV SERVER_UP name=s1", 5*time.Second)
	down := strings.Index(log, "EV SERVER_DOWN name=s1 puid=1 rid=0 px=be pxid=")
	up := strings.Index(log, "EV SERVER_UP name=s1 puid=1 rid=0 px=be pxid=")
	if down < 0 || up < 0 || up < down {
		t.Fatalf("want SERVER_DOWN then SERVER_UP with the server's data:\n%s", log)
	}
	if !strings.Contains(log, "ref=s1 when=true") {
		t.Errorf("reference or when missing:\n%s", log)
	}
	p.waitLog(t, "ST s1 RUNNING->STOPPED admin=false check=FAILED", time.Second)
	p.waitLog(t, "ST s1 STOPPED->RUNNING admin=false check=PASSED", time.Second)

	// runtime API
	if out := unixExchange(t, sock, "add server be/s3 127.0.0.1:1"); !strings.Contains(out, "New server registered.") {
		t.Fatalf("add server: %q", out)
	}
	p.waitLog(t, "EV SERVER_ADD name=s3 puid=3", 5*time.Second)
	if out := unixExchange(t, sock, "del server be/s3"); !strings.Contains(out, "Server deleted.") {
		t.Fatalf("del server: %q", out)
	}
	p.waitLog(t, "EV SERVER_DEL name=s3 puid=3", 5*time.Second)
	if strings.Contains(p.log.String(), "EV SERVER_DEL name=s3 puid=3 rid=0 px=be pxid=2 ref=s3") {
		t.Errorf("SERVER_DEL carries a reference")
	}

	// Server.event_sub only sees its server; unsub stops it
	unixExchange(t, sock, "set server be/s1 state drain")
	unixExchange(t, sock, "set server be/s2 state drain")
	unixExchange(t, sock, "set server be/s2 state ready")
	p.waitLog(t, "ADM SERVER_ADMIN s2 [] -> [DRAIN FDRAIN]", 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	if n := strings.Count(p.log.String(), "ADM "); n != 1 {
		t.Errorf("per-server subscription: %d callbacks, want 1 (s1 filtered out, then unsubscribed):\n%s", n, p.log)
	}
}

// A callback slower than its events: the subscription pauses at 100
// unconsumed events with a warning, misses events, and resumes once it has
// caught up.
func TestLuaEventSubPausesWhenFlooded(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/e.lua
backend be
   server s1 127.0.0.1:1
`, map[string]string{"e.lua": `
seen = 0
core.event_sub({"SERVER_ADMIN"}, function(e, d)
  seen = seen + 1
  if seen == 1 then core.msleep(300) end
  core.Info("seen " .. seen .. " " .. table.concat(d.admin.new_admin, " "))
end)
`})
	s := p.e.Backend("be").FindServer("s1")
	for i := 0; i < 75; i++ { // 150 events
		s.SetDrain()
		s.SetReady()
	}
	p.waitLog(t, "pausing the subscription because the handler fails to keep up the pace (100 unconsumed events)", 5*time.Second)
	p.waitLog(t, "seen 100 ", 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	seen := strings.Count(p.log.String(), ") : seen ")
	if seen < 100 || seen > 101 {
		t.Fatalf("%d events delivered of 150, want the 100 queued (+1 being handled):\n%s", seen, p.log)
	}
	// caught up: the subscription works again
	s.SetDrain()
	p.waitLog(t, fmt.Sprintf("seen %d DRAIN FDRAIN", seen+1), 5*time.Second)
}
