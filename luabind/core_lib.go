//go:build lua53

package luabind

import (
	"fmt"
	"time"

	"luaproxy/core"
	"luaproxy/luabind/vm"
)

// coreFunc is one function of the core table.
type coreFunc struct {
	name string
	fn   *vm.Function
}

func newCoreFuncs(defs ...struct {
	name string
	fn   vm.Func
}) []coreFunc {
	out := make([]coreFunc, len(defs))
	for i, d := range defs {
		out[i] = coreFunc{d.name, vm.NewFunction("core."+d.name, d.fn)}
	}
	return out
}

type def = struct {
	name string
	fn   vm.Func
}

// coreFuncs are the functions of the core table, in the reference's order.
var coreFuncs = newCoreFuncs(
	def{"log", luaCoreLog},
	def{"Debug", coreLevel(core.LogDebug)},
	def{"Info", coreLevel(core.LogInfo)},
	def{"Warning", coreLevel(core.LogWarning)},
	def{"Alert", coreLevel(core.LogAlert)},
	def{"register_action", luaRegisterAction},
	def{"register_service", luaRegisterService},
	def{"register_filter", luaRegisterFilter},
	def{"register_init", luaRegisterInit},
	def{"register_task", luaRegisterTask},
	def{"register_fetches", luaRegisterFetches},
	def{"register_converters", luaRegisterConverters},
	def{"sleep", luaCoreSleep},
	def{"msleep", luaCoreMsleep},
	def{"yield", luaCoreYield},
	def{"wait", luaCoreWait},
	def{"done", luaCoreDone},
	def{"now", luaCoreNow},
	def{"http_date", coreDate(parseHTTPDate)},
	def{"imf_date", coreDate(parseIMFDate)},
	def{"rfc850_date", coreDate(parseRFC850Date)},
	def{"asctime_date", coreDate(parseASCTimeDate)},
	def{"concat", luaCoreConcat},
	def{"get_info", luaCoreGetInfo},
	def{"get_var", luaCoreGetVar},
	def{"set_nice", luaCoreSetNice},
	def{"parse_addr", luaCoreParseAddr},
	def{"match_addr", luaCoreMatchAddr},
	def{"tokenize", luaCoreTokenize},
	def{"add_acl", luaCoreAddACL},
	def{"del_acl", luaCoreDelACL},
	def{"set_map", luaCoreSetMap},
	def{"del_map", luaCoreDelMap},
	def{"tcp", luaCoreTCP},
	def{"httpclient", luaCoreHTTPClient},
	def{"event_sub", luaCoreEventSub},
	def{"queue", luaCoreQueue},
	def{"register_cli", luaRegisterCLI},
	def{"get_patref", luaCoreGetPatref},
)

// installCore builds the core, act and Regex globals in a new state.
func installCore(ls *LState) error {
	err := ls.SetGlobal("core", func(p *vm.Pusher) {
		p.NewTable(0, 32)
		for i, n := range core.LevelNames {
			p.FieldInteger(n, int64(i))
		}
		p.FieldInteger("silent", -1)
		p.FieldInteger("thread", int64(ls.id))
		for _, f := range coreFuncs {
			p.Field(f.name, func() { p.PushFunction(f.fn) })
		}
		for _, a := range coreAttrs {
			p.Field(a.name, func() { a.push(ls, p) })
		}
	})
	if err != nil {
		return err
	}
	err = ls.SetGlobal("act", func(p *vm.Pusher) {
		p.NewTable(0, 8)
		for i, n := range []string{"CONTINUE", "STOP", "YIELD", "ERROR", "DONE", "DENY", "ABORT", "INVALID"} {
			p.FieldInteger(n, int64(i))
		}
		p.Field("wake_time", func() { p.PushFunction(actWakeTime) })
	})
	if err != nil {
		return err
	}
	if err := installFilter(ls); err != nil {
		return err
	}
	if err := installReply(ls); err != nil {
		return err
	}
	if err := installMap(ls); err != nil {
		return err
	}
	return installRegex(ls)
}

// lsOf returns the LState of a call.
func lsOf(c *vm.Call) *LState {
	if iv := inv(c); iv != nil && iv.ls != nil {
		return iv.ls
	}
	return nil
}

// logMsg sends a script's log message: to stderr in HAProxy's format (no
// loggers are configured yet).
func logMsg(c *vm.Call, level int, msg string) {
	ls := lsOf(c)
	if ls == nil {
		return
	}
	ls.rt.e.Log.Level(level, msg)
}

// luaCoreLog implements core.log(loglevel, msg). It never yields.
func luaCoreLog(c *vm.Call) (int, error) {
	level, err := c.Integer(1)
	if err != nil {
		return 0, err
	}
	msg, err := c.String(2)
	if err != nil {
		return 0, err
	}
	if level < 0 || level > 7 { // HAProxy 2.6: core.silent is no level here
		return 0, c.ArgError(1, "Invalid loglevel.")
	}
	logMsg(c, int(level), msg)
	return 0, nil
}

// coreLevel implements core.Debug/Info/Warning/Alert(msg). They never yield.
func coreLevel(level int) vm.Func {
	return func(c *vm.Call) (int, error) {
		msg, err := c.String(1)
		if err != nil {
			return 0, err
		}
		logMsg(c, level, msg)
		return 0, nil
	}
}

// bodyOnly refuses register_* outside the body context, as HAProxy does.
func bodyOnly(c *vm.Call, fn string) error {
	if iv := inv(c); iv == nil || iv.ctx != ctxBody {
		return fmt.Errorf("%s: not available outside of body context", fn)
	}
	return nil
}

// luaRegisterAction implements core.register_action(name, actions, func [, nb_args]).
func luaRegisterAction(c *vm.Call) (int, error) {
	if err := bodyOnly(c, "register_action"); err != nil {
		return 0, err
	}
	name, err := c.String(1)
	if err != nil {
		return 0, err
	}
	if err := c.CheckType(2, vm.TypeTable); err != nil {
		return 0, err
	}
	if err := c.CheckType(3, vm.TypeFunction); err != nil {
		return 0, err
	}
	nb, err := c.OptInteger(4, 0)
	if err != nil {
		return 0, err
	}
	kinds := map[string]bool{}
	tbl, _ := c.Value(2).(map[any]any)
	for _, v := range tbl {
		s, ok := v.(string)
		if !ok {
			return 0, c.ArgError(2, "string expected in the table of actions")
		}
		switch s {
		case "tcp-req", "tcp-res", "http-req", "http-res", "http-after-res":
			kinds[s] = true
		default:
			return 0, fmt.Errorf("Lua action environment '%s' is unknown. 'tcp-req', 'tcp-res', 'http-req', 'http-res' or 'http-after-res' are expected.", s)
		}
	}
	ref, err := c.Ref(3)
	if err != nil {
		return 0, err
	}
	ls := lsOf(c)
	if old := ls.actions[name]; old != nil {
		ls.Unref(old.fn)
		warnTwice(ls, "action", name)
	}
	ls.actions[name] = &registered{name: name, fn: ref, nbArgs: int(nb), kinds: kinds}
	return 0, nil
}

// luaRegisterService implements core.register_service(name, mode, func).
func luaRegisterService(c *vm.Call) (int, error) {
	if err := bodyOnly(c, "register_service"); err != nil {
		return 0, err
	}
	name, err := c.String(1)
	if err != nil {
		return 0, err
	}
	mode, err := c.String(2)
	if err != nil {
		return 0, err
	}
	if mode != "tcp" && mode != "http" {
		return 0, fmt.Errorf("Lua service environment '%s' is unknown. 'tcp' or 'http' are expected.", mode)
	}
	if err := c.CheckType(3, vm.TypeFunction); err != nil {
		return 0, err
	}
	ref, err := c.Ref(3)
	if err != nil {
		return 0, err
	}
	ls := lsOf(c)
	if old := ls.services[name]; old != nil {
		ls.Unref(old.fn)
		warnTwice(ls, "service", name)
	}
	ls.services[name] = &registered{name: name, fn: ref, mode: mode}
	return 0, nil
}

// warnTwice warns as HAProxy 2.6 does of a second registration of a name
// (the last one wins).
func warnTwice(ls *LState, kind, name string) {
	ls.rt.e.Log.Warning("config : Trying to register %s 'lua.%s' more than once. This will become a hard error in version 2.5.", kind, name)
}

// registerNamed registers a fetch or converter (kind, for the warning).
func registerNamed(c *vm.Call, fn, kind string, into func(*LState) map[string]*registered) (int, error) {
	if err := bodyOnly(c, fn); err != nil {
		return 0, err
	}
	name, err := c.String(1)
	if err != nil {
		return 0, err
	}
	if err := c.CheckType(2, vm.TypeFunction); err != nil {
		return 0, err
	}
	ref, err := c.Ref(2)
	if err != nil {
		return 0, err
	}
	m := into(lsOf(c))
	if old := m[name]; old != nil {
		lsOf(c).Unref(old.fn)
		warnTwice(lsOf(c), kind, name)
	}
	m[name] = &registered{name: name, fn: ref}
	return 0, nil
}

// luaRegisterFetches implements core.register_fetches(name, func).
func luaRegisterFetches(c *vm.Call) (int, error) {
	n, err := registerNamed(c, "register_fetches", "sample-fetch", func(ls *LState) map[string]*registered { return ls.fetches })
	if err == nil {
		name, _ := c.String(1)
		registerLuaFetch(name)
	}
	return n, err
}

// luaRegisterConverters implements core.register_converters(name, func).
func luaRegisterConverters(c *vm.Call) (int, error) {
	n, err := registerNamed(c, "register_converters", "converter", func(ls *LState) map[string]*registered { return ls.convs })
	if err == nil {
		name, _ := c.String(1)
		registerLuaConverter(name)
	}
	return n, err
}

// luaRegisterInit implements core.register_init(func).
func luaRegisterInit(c *vm.Call) (int, error) {
	if err := bodyOnly(c, "register_init"); err != nil {
		return 0, err
	}
	if err := c.CheckType(1, vm.TypeFunction); err != nil {
		return 0, err
	}
	ref, err := c.Ref(1)
	if err != nil {
		return 0, err
	}
	ls := lsOf(c)
	ls.inits = append(ls.inits, ref)
	return 0, nil
}

// luaRegisterTask implements core.register_task(func[, arg1..arg4]): in the
// body and init contexts the task starts with the scheduler; later, at once.
func luaRegisterTask(c *vm.Call) (int, error) {
	if err := c.CheckType(1, vm.TypeFunction); err != nil {
		return 0, err
	}
	if c.Top() > 5 {
		return 0, fmt.Errorf("'register_task' accepts up to 4 arguments after the function")
	}
	ls := lsOf(c)
	if ls == nil {
		return 0, fmt.Errorf("register_task: no Lua state")
	}
	spec := taskSpec{}
	var err error
	if spec.fn, err = c.Ref(1); err != nil {
		return 0, err
	}
	for i := 2; i <= c.Top(); i++ {
		r, err := c.Ref(i)
		if err != nil {
			return 0, err
		}
		spec.args = append(spec.args, r)
	}
	if iv := inv(c); iv != nil && (iv.ctx == ctxBody || iv.ctx == ctxInit) && !ls.rt.started {
		ls.tasks = append(ls.tasks, spec)
		return 0, nil
	}
	go ls.runTask(spec)
	return 0, nil
}

// luaCoreNow implements core.now(): {sec=..., usec=...}. It never yields.
func luaCoreNow(c *vm.Call) (int, error) {
	now := time.Now()
	c.NewTable(0, 2)
	c.FieldInteger("sec", now.Unix())
	c.FieldInteger("usec", int64(now.Nanosecond()/1000))
	return 1, nil
}
