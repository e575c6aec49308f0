//go:build lua53

package luabind

import (
	"strconv"
	"sync"

	"luaproxy/core"
	"luaproxy/luabind/vm"
)

// coreAttr is a non-function entry of the core table, pushed when a state
// is created.
type coreAttr struct {
	name string
	push func(ls *LState, p *vm.Pusher)
}

// coreAttrs are core.proxies, core.backends and core.frontends: lazily
// indexed views of the engine's proxies.
var coreAttrs = []coreAttr{
	{"proxies", pushProxyList(listAll)},
	{"backends", pushProxyList(listBackends)},
	{"frontends", pushProxyList(listFrontends)},
}

// listKind selects the proxies of a proxyList.
type listKind int

const (
	listAll listKind = iota
	listBackends
	listFrontends
)

// proxyList is the value of core.proxies, core.backends or core.frontends:
// a table whose __index looks a proxy up in the engine's own index and
// creates its Proxy object on access, so that a configuration with 300k
// backends costs nothing in Lua at start (HAProxy 2.8's lazy proxy list).
// pairs() walks the engine's proxies in configuration order.
type proxyList struct {
	e    *core.Engine
	kind listKind

	once  sync.Once
	names []string       // iteration order, built on first pairs()
	pos   map[string]int // name -> index in names
}

var proxyListClass = &vm.Class[*proxyList]{
	Name: "ProxyList", // not an API class: a table as seen by scripts
	Meta: []vm.Method[*proxyList]{
		{Name: "__index", Fn: (*proxyList).luaIndex},
		{Name: "__pairs", Fn: (*proxyList).luaPairs},
		{Name: "__len", Fn: (*proxyList).luaLen},
		{Name: "__newindex", Fn: (*proxyList).luaNewIndex},
	},
	Owned: true,
}

func pushProxyList(kind listKind) func(ls *LState, p *vm.Pusher) {
	return func(ls *LState, p *vm.Pusher) {
		proxyListClass.Push(p, &proxyList{e: ls.rt.e, kind: kind})
	}
}

// lookup returns the proxy named name in the list (nil if none). HAProxy
// compat: in core.proxies a backend hides a frontend of the same name.
func (pl *proxyList) lookup(name string) *core.Proxy {
	switch pl.kind {
	case listBackends:
		return pl.e.Backend(name)
	case listFrontends:
		return pl.e.Frontend(name)
	}
	if px := pl.e.Backend(name); px != nil {
		return px
	}
	return pl.e.Frontend(name)
}

// index builds the iteration order (Go memory only).
func (pl *proxyList) index() {
	pl.once.Do(func() {
		pl.pos = map[string]int{}
		for _, px := range pl.e.Proxies {
			ok := false
			switch pl.kind {
			case listBackends:
				ok = px.Cap&core.CapBE != 0
			case listFrontends:
				ok = px.Cap&core.CapFE != 0
			default:
				ok = px.Cap&(core.CapFE|core.CapBE) != 0
			}
			if _, dup := pl.pos[px.Name]; ok && !dup {
				pl.pos[px.Name] = len(pl.names)
				pl.names = append(pl.names, px.Name)
			}
		}
	})
}

// luaIndex implements list[name]: a new Proxy object, or nil. It never
// yields.
func (pl *proxyList) luaIndex(c *vm.Call) (int, error) {
	if c.Type(2) != vm.TypeString {
		c.PushNil()
		return 1, nil
	}
	name, _ := c.String(2)
	px := pl.lookup(name)
	if px == nil {
		c.PushNil()
		return 1, nil
	}
	proxyClass.Push(&c.Pusher, px)
	return 1, nil
}

// proxyListNext is the iterator of pairs(list) (set in init: it pushes
// Proxy objects, whose class refers back to the list).
var proxyListNext *vm.Function

func init() { proxyListNext = vm.NewFunction("ProxyList.next", luaProxyListNext) }

// luaProxyListNext is next(list, name) over the engine's proxies. It never
// yields.
func luaProxyListNext(c *vm.Call) (int, error) {
	pl, err := proxyListClass.Check(c, 1)
	if err != nil {
		return 0, err
	}
	pl.index()
	i := 0
	if c.Type(2) == vm.TypeString {
		name, _ := c.String(2)
		p, ok := pl.pos[name]
		if !ok {
			return 0, c.ArgError(2, "invalid key to 'next'")
		}
		i = p + 1
	}
	for ; i < len(pl.names); i++ {
		if px := pl.lookup(pl.names[i]); px != nil {
			c.PushString(pl.names[i])
			proxyClass.Push(&c.Pusher, px)
			return 2, nil
		}
	}
	c.PushNil()
	return 1, nil
}

// luaPairs implements pairs(list): the proxies by name, in configuration
// order. It never yields.
func (pl *proxyList) luaPairs(c *vm.Call) (int, error) {
	c.PushFunction(proxyListNext)
	c.PushValue(1)
	c.PushNil()
	return 3, nil
}

// luaLen implements #list: the number of proxies. It never yields.
func (pl *proxyList) luaLen(c *vm.Call) (int, error) {
	pl.index()
	c.PushInteger(int64(len(pl.names)))
	return 1, nil
}

// luaNewIndex refuses writes: the list mirrors the engine.
func (pl *proxyList) luaNewIndex(c *vm.Call) (int, error) {
	return 0, vm.RawError("the proxy list is read-only")
}

// proxyClass is the Lua "Proxy" class: a frontend, backend or listen
// section, acting on the engine's live object.
var proxyClass = declareClass(&vm.Class[*core.Proxy]{Name: "Proxy", Owned: true})

// The methods are set in init: they push Server objects, whose class
// pushes Proxy objects.
func init() {
	proxyClass.Methods = []vm.Method[*core.Proxy]{
		{Name: "get_name", Fn: luaProxyGetName},
		{Name: "get_uuid", Fn: luaProxyGetUUID},
		{Name: "pause", Fn: luaProxyPause},
		{Name: "resume", Fn: luaProxyResume},
		{Name: "stop", Fn: luaProxyStop},
		{Name: "shut_bcksess", Fn: luaProxyShutBckSess},
		{Name: "get_cap", Fn: luaProxyGetCap},
		{Name: "get_mode", Fn: luaProxyGetMode},
		{Name: "get_srv_act", Fn: luaProxyGetSrvAct},
		{Name: "get_srv_bck", Fn: luaProxyGetSrvBck},
		{Name: "get_stats", Fn: luaProxyGetStats},
	}
	proxyClass.Fields = []vm.Method[*core.Proxy]{
		{Name: "name", Fn: luaProxyGetName},
		{Name: "uuid", Fn: luaProxyGetUUID},
		{Name: "servers", Fn: luaProxyServers},
		{Name: "listeners", Fn: luaProxyListeners},
		{Name: "stktable", Fn: luaProxyStkTable},
	}
}

// luaProxyGetName implements Proxy.get_name(px) and Proxy.name. It never
// yields.
func luaProxyGetName(px *core.Proxy, c *vm.Call) (int, error) {
	c.PushString(px.Name)
	return 1, nil
}

// luaProxyGetUUID implements Proxy.get_uuid(px) and Proxy.uuid: the
// proxy's id as a string, as HAProxy returns it. It never yields.
func luaProxyGetUUID(px *core.Proxy, c *vm.Call) (int, error) {
	c.PushString(strconv.Itoa(px.ID))
	return 1, nil
}

// luaProxyServers implements Proxy.servers: a table of Server objects by
// name (empty for a frontend). It never yields.
func luaProxyServers(px *core.Proxy, c *vm.Call) (int, error) {
	srvs := px.ServerList()
	c.NewTable(0, len(srvs))
	for _, s := range srvs {
		c.Field(s.Name, func() { serverClass.Push(&c.Pusher, s) })
	}
	return 1, nil
}

// luaProxyListeners implements Proxy.listeners: a table of Listener
// objects by name ("sock-1", ...). It never yields.
func luaProxyListeners(px *core.Proxy, c *vm.Call) (int, error) {
	c.NewTable(0, len(px.Binds))
	if px.Cap&core.CapFE != 0 {
		for i := range px.Binds {
			l := &Listener{px: px, i: i}
			c.Field(core.ListenerName(i), func() { listenerClass.Push(&c.Pusher, l) })
		}
	}
	return 1, nil
}

// luaProxyStkTable implements Proxy.stktable: the proxy's StickTable, or
// nil when it has none. It never yields.
func luaProxyStkTable(px *core.Proxy, c *vm.Call) (int, error) {
	t := px.StickTable()
	if t == nil {
		c.PushNil()
		return 1, nil
	}
	stickTableClass.Push(&c.Pusher, &StickTable{t: t})
	return 1, nil
}

// luaProxyPause implements Proxy.pause(px): the frontend's listeners stop
// accepting ("disable frontend"). It never yields.
func luaProxyPause(px *core.Proxy, c *vm.Call) (int, error) {
	if e := px.Engine(); e != nil && px.Cap&core.CapFE != 0 {
		_ = e.PauseFrontend(px)
	}
	return 0, nil
}

// luaProxyResume implements Proxy.resume(px) ("enable frontend"). It
// never yields.
func luaProxyResume(px *core.Proxy, c *vm.Call) (int, error) {
	if e := px.Engine(); e != nil && px.Cap&core.CapFE != 0 {
		_ = e.ResumeFrontend(px)
	}
	return 0, nil
}

// luaProxyStop implements Proxy.stop(px): the frontend stops accepting
// for good. luaproxy pauses it: its listeners stop accepting and new
// connections are refused, as after HAProxy's "shutdown frontend". It
// never yields.
func luaProxyStop(px *core.Proxy, c *vm.Call) (int, error) {
	return luaProxyPause(px, c)
}

// luaProxyShutBckSess implements Proxy.shut_bcksess(px): closes the
// sessions of the backup servers. It never yields.
func luaProxyShutBckSess(px *core.Proxy, c *vm.Call) (int, error) {
	for _, s := range px.ServerList() {
		if s.Backup {
			s.ShutdownSessions()
		}
	}
	return 0, nil
}

// luaProxyGetCap implements Proxy.get_cap(px): "frontend", "backend" or
// "proxy" (both). It never yields.
func luaProxyGetCap(px *core.Proxy, c *vm.Call) (int, error) {
	switch px.Cap & (core.CapFE | core.CapBE) {
	case core.CapFE:
		c.PushString("frontend")
	case core.CapBE:
		c.PushString("backend")
	default:
		c.PushString("proxy")
	}
	return 1, nil
}

// luaProxyGetMode implements Proxy.get_mode(px): "tcp" or "http". It
// never yields.
func luaProxyGetMode(px *core.Proxy, c *vm.Call) (int, error) {
	switch px.Mode {
	case "tcp", "http":
		c.PushString(px.Mode)
	default:
		c.PushString("unknown")
	}
	return 1, nil
}

// luaProxyGetSrvAct implements Proxy.get_srv_act(px): the active servers
// eligible for load balancing. It never yields.
func luaProxyGetSrvAct(px *core.Proxy, c *vm.Call) (int, error) {
	a, _ := px.UsableServers()
	c.PushInteger(int64(a))
	return 1, nil
}

// luaProxyGetSrvBck implements Proxy.get_srv_bck(px): the backup servers
// eligible for load balancing. It never yields.
func luaProxyGetSrvBck(px *core.Proxy, c *vm.Call) (int, error) {
	_, b := px.UsableServers()
	c.PushInteger(int64(b))
	return 1, nil
}

// luaProxyGetStats implements Proxy.get_stats(px): the "show stat" line
// of the proxy (its backend line when it has one) as a table keyed by
// HAProxy's stat names; numbers are integers. It never yields.
func luaProxyGetStats(px *core.Proxy, c *vm.Call) (int, error) {
	e := px.Engine()
	if e == nil {
		c.NewTable(0, 0)
		return 1, nil
	}
	pushStats(c, e.ProxyStats(px))
	return 1, nil
}

// pushStats pushes stat fields as a table: integers as integers, the rest
// as strings.
func pushStats(c *vm.Call, fields []core.StatField) {
	c.NewTable(0, len(fields))
	for _, f := range fields {
		if n, err := strconv.ParseInt(f.Value, 10, 64); err == nil {
			c.FieldInteger(f.Name, n)
		} else {
			c.FieldString(f.Name, f.Value)
		}
	}
}

// Listener is the Lua "Listener" class: one bind line of a frontend.
type Listener struct {
	px *core.Proxy
	i  int
}

var listenerClass = declareClass(&vm.Class[*Listener]{
	Name: "Listener",
	Methods: []vm.Method[*Listener]{
		{Name: "get_stats", Fn: (*Listener).luaGetStats},
	},
	Owned: true,
})

// luaGetStats implements Listener.get_stats(ls): the frontend's counters
// with the listener's name as svname (luaproxy does not count per
// listener). It never yields.
func (l *Listener) luaGetStats(c *vm.Call) (int, error) {
	e := l.px.Engine()
	var fields []core.StatField
	if e != nil {
		fields = e.FrontendStats(l.px)
	}
	for i := range fields {
		if fields[i].Name == "svname" {
			fields[i].Value = core.ListenerName(l.i)
		}
	}
	pushStats(c, fields)
	return 1, nil
}
