//go:build lua53

package luabind

import (
	"strconv"
	"strings"

	"luaproxy/core"
	"luaproxy/luabind/vm"
)

// serverClass is the Lua "Server" class: a server of a backend, acting on
// the engine's live object (as the runtime API's "set server" does).
var serverClass = declareClass(&vm.Class[*core.Server]{Name: "Server", Owned: true})

// The methods are set in init: get_proxy and event_sub push objects whose
// code refers back to the class.
func init() {
	serverClass.Methods = []vm.Method[*core.Server]{
		{Name: "get_name", Fn: srvString(func(s *core.Server) string { return s.Name })},
		{Name: "get_puid", Fn: srvString(func(s *core.Server) string { return strconv.Itoa(s.ID) })},
		{Name: "get_rid", Fn: srvInt(func(s *core.Server) int64 { return int64(s.RID) })},
		{Name: "is_draining", Fn: srvBool((*core.Server).Draining)},
		{Name: "is_backup", Fn: srvBool(func(s *core.Server) bool { return s.Backup })},
		{Name: "is_dynamic", Fn: srvBool((*core.Server).IsDynamic)},
		{Name: "get_cur_sess", Fn: srvInt(func(s *core.Server) int64 { return s.Conns.Load() })},
		// luaproxy queues streams per backend, not per server
		{Name: "get_pend_conn", Fn: srvInt(func(s *core.Server) int64 { return 0 })},
		{Name: "set_maxconn", Fn: luaServerSetMaxConn},
		{Name: "get_maxconn", Fn: srvInt(func(s *core.Server) int64 { return int64(s.MaxConn) })},
		{Name: "set_weight", Fn: luaServerSetWeight},
		{Name: "get_weight", Fn: srvInt(func(s *core.Server) int64 { return int64(s.Weight()) })},
		{Name: "set_addr", Fn: luaServerSetAddr},
		{Name: "get_addr", Fn: luaServerGetAddr},
		{Name: "get_stats", Fn: luaServerGetStats},
		{Name: "get_proxy", Fn: luaServerGetProxy},
		{Name: "shut_sess", Fn: srvDo((*core.Server).ShutdownSessions)},
		{Name: "set_drain", Fn: srvDo((*core.Server).SetDrain)},
		{Name: "set_maint", Fn: srvDo((*core.Server).SetMaint)},
		{Name: "set_ready", Fn: srvDo((*core.Server).SetReady)},
		{Name: "check_enable", Fn: srvDo(func(s *core.Server) { _ = s.EnableHealthCheck() })},
		{Name: "check_disable", Fn: srvDo((*core.Server).DisableHealthCheck)},
		{Name: "check_force_up", Fn: srvDo(func(s *core.Server) { s.ForceHealth(core.StateRunning, "LUA") })},
		{Name: "check_force_nolb", Fn: srvDo(func(s *core.Server) { s.ForceHealth(core.StateStopping, "LUA") })},
		{Name: "check_force_down", Fn: srvDo(func(s *core.Server) { s.ForceHealth(core.StateStopped, "LUA") })},
		// luaproxy has no agent checks: the agent_* methods are accepted
		// and do nothing, as HAProxy's on a server without "agent-check".
		{Name: "agent_enable", Fn: srvDo(func(*core.Server) {})},
		{Name: "agent_disable", Fn: srvDo(func(*core.Server) {})},
		{Name: "agent_force_up", Fn: srvDo(func(*core.Server) {})},
		{Name: "agent_force_down", Fn: srvDo(func(*core.Server) {})},
		{Name: "tracking", Fn: luaServerTracking},
		{Name: "get_trackers", Fn: luaServerGetTrackers},
		{Name: "event_sub", Fn: luaServerEventSub},
	}
	serverClass.Fields = []vm.Method[*core.Server]{
		{Name: "name", Fn: srvString(func(s *core.Server) string { return s.Name })},
		{Name: "puid", Fn: srvString(func(s *core.Server) string { return strconv.Itoa(s.ID) })},
	}
}

// srvString, srvInt, srvBool and srvDo make the getter and action
// families of the class. They never yield.
func srvString(get func(*core.Server) string) func(*core.Server, *vm.Call) (int, error) {
	return func(s *core.Server, c *vm.Call) (int, error) {
		c.PushString(get(s))
		return 1, nil
	}
}

func srvInt(get func(*core.Server) int64) func(*core.Server, *vm.Call) (int, error) {
	return func(s *core.Server, c *vm.Call) (int, error) {
		c.PushInteger(get(s))
		return 1, nil
	}
}

func srvBool(get func(*core.Server) bool) func(*core.Server, *vm.Call) (int, error) {
	return func(s *core.Server, c *vm.Call) (int, error) {
		c.PushBool(get(s))
		return 1, nil
	}
}

func srvDo(do func(*core.Server)) func(*core.Server, *vm.Call) (int, error) {
	return func(s *core.Server, c *vm.Call) (int, error) {
		do(s)
		return 0, nil
	}
}

// luaServerSetMaxConn implements Server.set_maxconn(sv, maxconn): maxconn
// is a string or number; it returns nil, or HAProxy's error text. It never
// yields.
func luaServerSetMaxConn(s *core.Server, c *vm.Call) (int, error) {
	v, err := c.String(2)
	if err != nil {
		return 0, err
	}
	n, perr := strconv.Atoi(strings.TrimSpace(v))
	if perr != nil || n < 0 {
		c.PushString("Integer value expected.")
		return 1, nil
	}
	s.SetMaxConn(n)
	c.PushNil()
	return 1, nil
}

// luaServerSetWeight implements Server.set_weight(sv, weight): "N" or
// "N%"; it returns nil, or HAProxy's error text. It never yields.
func luaServerSetWeight(s *core.Server, c *vm.Call) (int, error) {
	v, err := c.String(2)
	if err != nil {
		return 0, err
	}
	if err := s.SetWeight(v); err != nil {
		c.PushString(strings.TrimRight(err.Error(), "\n"))
		return 1, nil
	}
	c.PushNil()
	return 1, nil
}

// luaServerSetAddr implements Server.set_addr(sv, addr[, port]): it
// returns HAProxy's report of the change (or error), or nil when nothing
// was reported. It never yields.
func luaServerSetAddr(s *core.Server, c *vm.Call) (int, error) {
	addr, err := c.String(2)
	if err != nil {
		return 0, err
	}
	port, err := c.OptString(3, "")
	if err != nil {
		return 0, err
	}
	msg := strings.TrimRight(s.SetAddr(addr, port, "Lua script"), "\n")
	if msg == "" {
		c.PushNil()
	} else {
		c.PushString(msg)
	}
	return 1, nil
}

// luaServerGetAddr implements Server.get_addr(sv): "ip:port" (or the
// socket path). It never yields.
func luaServerGetAddr(s *core.Server, c *vm.Call) (int, error) {
	c.PushString(s.Address().String())
	return 1, nil
}

// luaServerGetStats implements Server.get_stats(sv): the server's "show
// stat" line keyed by HAProxy's stat names. It never yields.
func luaServerGetStats(s *core.Server, c *vm.Call) (int, error) {
	e := s.Proxy.Engine()
	if e == nil {
		c.NewTable(0, 0)
		return 1, nil
	}
	pushStats(c, e.ServerStats(s))
	return 1, nil
}

// luaServerGetProxy implements Server.get_proxy(sv): its backend. It
// never yields.
func luaServerGetProxy(s *core.Server, c *vm.Call) (int, error) {
	proxyClass.Push(&c.Pusher, s.Proxy)
	return 1, nil
}

// luaServerTracking implements Server.tracking(sv): nil, as luaproxy has no
// "track" keyword. It never yields.
func luaServerTracking(s *core.Server, c *vm.Call) (int, error) {
	c.PushNil()
	return 1, nil
}

// luaServerGetTrackers implements Server.get_trackers(sv): an empty array
// (no server tracks another). It never yields.
func luaServerGetTrackers(s *core.Server, c *vm.Call) (int, error) {
	c.NewTable(0, 0)
	return 1, nil
}
