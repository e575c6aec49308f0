//go:build lua53

package luabind

import (
	"sync"
	"time"

	"luaproxy/core"
	"luaproxy/core/config"
	"luaproxy/luabind/vm"
)

// Lua filters: core.register_filter(name, Flt, func) in a script, then
// "filter lua.<name> [args]" in a proxy. At the filter line, func(Flt,
// args) runs once per Lua state and returns the filter's configuration
// object (nil: the filter is ignored). For every stream (HTTP: request)
// the object's new() creates the instance whose callbacks (start_analyze,
// end_analyze, http_headers, http_payload, http_end, tcp_payload) the
// engine calls; a callback the instance does not have is skipped. As in
// HAProxy 2.6, a filter whose Flt.flags lack filter.FLT_CFG_FL_HTX is not
// attached to HTTP streams.

func init() {
	core.RegisterFilter("lua.", parseLuaFilter)
}

// fltCfgFlHTX is filter.FLT_CFG_FL_HTX (HAProxy's FLT_CFG_FL_HTX).
const fltCfgFlHTX = 0x00000001

// The filter.* return codes.
const (
	fltWait     = 0
	fltContinue = 1
	fltError    = -1
)

// filterInitCode calls the registered function: it returns the
// configuration object and Flt.flags.
const filterInitCode = `local cls, fn, args = ...
local flags = cls.flags
return fn(cls, args), flags`

// filterCallCode calls method m of object o: false when o has no such
// method, else true and what the method returned.
const filterCallCode = `return function(o, m, ...)
	local f = o[m]
	if type(f) ~= "function" then return false end
	return true, f(o, ...)
end`

// registeredFilter is a core.register_filter of one state.
type registeredFilter struct {
	class, fn vm.Ref
}

// filterRegs are the registered filters by state and name. It is kept
// here rather than in LState so that filters stay in this file; entries
// are written in body context (state locked) and read at configuration.
var (
	filterRegsMu sync.Mutex
	filterRegs   = map[*LState]map[string]*registeredFilter{}
)

// filterReg returns the filter registered as name in ls, or nil.
func filterReg(ls *LState, name string) *registeredFilter {
	filterRegsMu.Lock()
	defer filterRegsMu.Unlock()
	return filterRegs[ls][name]
}

// luaRegisterFilter implements core.register_filter(name, Flt, func). It
// is allowed in body context only and never yields.
func luaRegisterFilter(c *vm.Call) (int, error) {
	if err := bodyOnly(c, "register_filter"); err != nil {
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
	class, err := c.Ref(2)
	if err != nil {
		return 0, err
	}
	fn, err := c.Ref(3)
	if err != nil {
		return 0, err
	}
	ls := lsOf(c)
	filterRegsMu.Lock()
	defer filterRegsMu.Unlock()
	m := filterRegs[ls]
	if m == nil {
		m = map[string]*registeredFilter{}
		filterRegs[ls] = m
	}
	if old := m[name]; old != nil {
		ls.Unref(old.class)
		ls.Unref(old.fn)
	}
	m[name] = &registeredFilter{class: class, fn: fn}
	return 0, nil
}

// luaFilter is one "filter lua.<name>" line.
type luaFilter struct {
	rt   *Runtime
	name string
	// per state: the configuration object, whether it filters HTTP, and
	// the method trampoline (filterCallCode)
	states map[*LState]*filterConf
}

type filterConf struct {
	obj, call vm.Ref
	htx       bool
}

// parseLuaFilter handles "filter lua.<name> [args...]".
func parseLuaFilter(e *core.Engine, px *core.Proxy, name string, args []string, l config.Line) (core.Filter, error) {
	rt := runtimeOf(e)
	short := name[len("lua."):]
	f := &luaFilter{rt: rt, name: short, states: map[*LState]*filterConf{}}
	found := false
	for _, ls := range rt.allStates() {
		reg := filterReg(ls, short)
		if reg == nil {
			continue
		}
		found = true
		fc, err := ls.initFilter(short, reg, args)
		if err != nil {
			return nil, l.Errorf("'filter %s' : %v", name, err)
		}
		if fc != nil {
			f.states[ls] = fc
		}
	}
	if !found {
		return nil, l.Errorf("'filter' : unknown Lua filter '%s'.", name)
	}
	return f, nil
}

// initFilter runs the registered function of a filter line; nil when it
// returned nil (the filter is ignored in this state).
func (ls *LState) initFilter(name string, reg *registeredFilter, args []string) (*filterConf, error) {
	ls.Lock()
	defer ls.Unlock()
	co, err := ls.NewCo(vm.CoOptions{YieldAllowed: false})
	if err != nil {
		return nil, err
	}
	defer co.Close()
	co.Data = &invocation{ctx: ctxInit, name: name, ls: ls}
	if err := co.Load([]byte(filterInitCode), "=filter"); err != nil {
		return nil, err
	}
	co.PushRef(reg.class)
	co.PushRef(reg.fn)
	co.NewTable(len(args), 0)
	for i, a := range args {
		co.PushString(a)
		co.SetIndex(int64(i + 1))
	}
	if out := co.Resume(); out != vm.OK {
		return nil, failureError(ls, co, out)
	}
	if co.ResultType(1) != vm.TypeTable {
		return nil, nil
	}
	flags, _ := co.ResultInteger(2)
	fc := &filterConf{obj: co.RefResult(1), htx: flags&fltCfgFlHTX != 0}
	call, err := ls.compileFunc(filterCallCode, "=filter-call")
	if err != nil {
		ls.Unref(fc.obj)
		return nil, err
	}
	fc.call = call
	return fc, nil
}

// compileFunc runs code, which returns a function, and keeps that
// function. The caller holds the lock.
func (ls *LState) compileFunc(code, name string) (vm.Ref, error) {
	co, err := ls.NewCo(vm.CoOptions{})
	if err != nil {
		return 0, err
	}
	defer co.Close()
	if err := co.Load([]byte(code), name); err != nil {
		return 0, err
	}
	if out := co.Resume(); out != vm.OK {
		return 0, failureError(ls, co, out)
	}
	return co.RefResult(1), nil
}

// filterError is a Lua failure at configuration time.
type filterError string

func (e filterError) Error() string { return string(e) }

func failureError(ls *LState, co *vm.Co, out vm.Outcome) error {
	return filterError(failure(ls, co, out))
}

// Attach implements core.Filter: it calls the configuration object's
// new() and returns the instance, or nil when the filter ignores s.
func (f *luaFilter) Attach(s *core.Stream) core.FilterInstance {
	ls, fc := f.stateFor(s)
	if fc == nil || (s.HTTP != nil && !fc.htx) {
		return nil
	}
	fi := &filterInst{f: f, ls: ls, conf: fc, s: s}
	ls.Lock()
	defer ls.Unlock()
	co, ok := fi.invoke("new", fc.obj, nil)
	if co == nil {
		return nil
	}
	defer co.Close()
	if !ok || co.NResults() < 2 || co.ResultType(2) != vm.TypeTable {
		return nil
	}
	fi.obj = co.RefResult(2)
	return fi
}

// stateFor returns the state running the filter for s: the shared one,
// else s's thread's (lua-load-per-thread).
func (f *luaFilter) stateFor(s *core.Stream) (*LState, *filterConf) {
	if ls := f.rt.shared; ls != nil {
		if fc := f.states[ls]; fc != nil {
			return ls, fc
		}
	}
	if n := len(f.rt.threads); n > 0 {
		ls := f.rt.threads[s.Thread%n]
		return ls, f.states[ls]
	}
	return nil, nil
}

// filterInst is a Lua filter attached to one stream.
type filterInst struct {
	f    *luaFilter
	ls   *LState
	conf *filterConf
	s    *core.Stream
	obj  vm.Ref // the instance new() returned
	// data: a data filter is registered on the request [0], response [1]
	data [2]bool
	wake time.Duration
}

// invoke calls method of o with the TXN and what push adds. It returns
// the coroutine (nil when the call could not start; the caller closes it)
// and whether the method ran (false: missing, or a Lua error, alerted).
// The caller holds the state's lock.
func (fi *filterInst) invoke(method string, o vm.Ref, push func(co *vm.Co)) (*vm.Co, bool) {
	ls := fi.ls
	txn := &TXN{s: fi.s, ls: ls}
	iv := &invocation{ctx: ctxFilter, name: fi.f.name, s: fi.s, txn: txn, filter: fi}
	co, err := ls.start(iv, fi.conf.call)
	if err != nil {
		sendErr(ls, streamProxy(fi.s), "Lua filter '%s': %v.", fi.f.name, err)
		return nil, false
	}
	co.PushRef(o)
	co.PushString(method)
	if method != "new" {
		pushTXN(&co.Pusher, txn)
	}
	if push != nil {
		push(co)
	}
	if out := ls.drive(co); out != vm.OK {
		alertFailure(ls, streamProxy(fi.s), "Lua filter '"+fi.f.name+"'", co, out)
		return co, false
	}
	return co, co.NResults() >= 1 && co.ResultBool(1)
}

// callback runs a callback and maps its return value: CONTINUE when it
// returns nothing (or is missing), ERROR on a Lua error.
func (fi *filterInst) callback(method string, push func(co *vm.Co)) core.FilterResult {
	fi.ls.Lock()
	defer fi.ls.Unlock()
	co, ran := fi.invoke(method, fi.obj, push)
	if co == nil {
		return core.FilterError
	}
	defer co.Close()
	if !ran {
		if co.Err() != nil {
			return core.FilterError
		}
		return core.FilterContinue
	}
	if co.NResults() < 2 {
		return core.FilterContinue
	}
	switch v, _ := co.ResultInteger(2); {
	case co.ResultType(2) != vm.TypeNumber:
		return core.FilterContinue
	case v == fltWait:
		return core.FilterWait
	case v < 0:
		return core.FilterError
	}
	return core.FilterContinue
}

func (fi *filterInst) channel(res bool) func(co *vm.Co) {
	return func(co *vm.Co) {
		ch := fi.s.Req
		if res {
			ch = fi.s.Res
		}
		channelClass.Push(&co.Pusher, &Channel{ch: ch, s: fi.s, noWait: true})
	}
}

func (fi *filterInst) message(res bool, phase msgPhase) func(co *vm.Co) {
	return func(co *vm.Co) { httpMessageClass.Push(&co.Pusher, &HTTPMessage{s: fi.s, res: res, phase: phase}) }
}

// direction makes the stream's samples those of the callback's direction
// (HAProxy's txn dir: txn.http's res_* functions and response fetches
// work in response callbacks); the returned function restores it.
func (fi *filterInst) direction(res bool) func() {
	ctx := fi.s.SampleCtx()
	prev := ctx.Response
	ctx.Response = res
	return func() { ctx.Response = prev }
}

// StartAnalyze calls start_analyze(flt, txn, chn).
func (fi *filterInst) StartAnalyze(res bool) core.FilterResult {
	defer fi.direction(res)()
	return fi.callback("start_analyze", fi.channel(res))
}

// EndAnalyze calls end_analyze(flt, txn, chn).
func (fi *filterInst) EndAnalyze(res bool) core.FilterResult {
	defer fi.direction(res)()
	return fi.callback("end_analyze", fi.channel(res))
}

// HTTPHeaders calls http_headers(flt, txn, http_msg).
func (fi *filterInst) HTTPHeaders(res bool) core.FilterResult {
	defer fi.direction(res)()
	return fi.callback("http_headers", fi.message(res, phaseHeaders))
}

// HTTPPayload calls http_payload(flt, txn, http_msg) with a message whose
// body methods see the n bytes from off (the filter's window). It returns
// the bytes the filter passes on: those it forwarded with http_msg:forward,
// plus as many bytes of what is left of the window as the callback
// returned (filter.WAIT, 0: none, the rest being shown again with more
// data), all of them for filter.CONTINUE or no number.
//
// HAProxy 2.6.12 compat: filter.ERROR and a Lua error pass the window on
// as no number does (the request goes on). Unlike 2.6.12, which passes a
// single byte for filter.CONTINUE (1) and then stalls, CONTINUE passes
// everything.
func (fi *filterInst) HTTPPayload(res bool, off, n int) int {
	defer fi.direction(res)()
	w := &filterWindow{off: off, n: n}
	fi.ls.Lock()
	defer fi.ls.Unlock()
	co, ran := fi.invoke("http_payload", fi.obj, func(co *vm.Co) {
		httpMessageClass.Push(&co.Pusher, &HTTPMessage{s: fi.s, res: res, win: w, phase: phasePayload})
	})
	if co == nil {
		return off + n
	}
	defer co.Close()
	if ran && co.NResults() >= 2 && co.ResultType(2) == vm.TypeNumber {
		if v, _ := co.ResultInteger(2); v >= 0 && v != fltContinue {
			return w.fwd + int(min(v, int64(w.n)))
		}
	}
	return w.fwd + w.n
}

// HTTPEnd calls http_end(flt, txn, http_msg).
func (fi *filterInst) HTTPEnd(res bool) core.FilterResult {
	defer fi.direction(res)()
	return fi.callback("http_end", fi.message(res, phaseEnd))
}

// TCPPayload calls tcp_payload(flt, txn, chn) with a channel whose
// methods see the n bytes from off (the filter's window). It returns the
// bytes the filter passes on: those it forwarded with chn:forward, plus
// as many bytes of what is left of the window as the callback returned
// (filter.WAIT, 0: none; filter.CONTINUE, 1: one byte), all of them when
// it returned no number. A Lua error aborts the stream (-1).
//
// HAProxy 2.6.12 compat (checked with a tracing filter): a negative
// return, filter.ERROR included, passes the window on as no number does;
// a missing tcp_payload passes everything on.
func (fi *filterInst) TCPPayload(res bool, off, n int) int {
	defer fi.direction(res)()
	w := &filterWindow{off: off, n: n}
	ch := fi.s.Req
	if res {
		ch = fi.s.Res
	}
	fi.ls.Lock()
	defer fi.ls.Unlock()
	co, ran := fi.invoke("tcp_payload", fi.obj, func(co *vm.Co) {
		channelClass.Push(&co.Pusher, &Channel{ch: ch, s: fi.s, win: w, noWait: true})
	})
	if co == nil {
		return -1
	}
	defer co.Close()
	if !ran && co.Err() != nil {
		return -1
	}
	if ran && co.NResults() >= 2 && co.ResultType(2) == vm.TypeNumber {
		if v, _ := co.ResultInteger(2); v >= 0 {
			return w.fwd + int(min(v, int64(w.n)))
		}
	}
	return w.fwd + w.n
}

// DataFilter reports filter.register_data_filter on the channel.
func (fi *filterInst) DataFilter(res bool) bool { return fi.data[b2i(res)] }

// WakeTime is filter.wake_time's last value.
func (fi *filterInst) WakeTime() time.Duration { return fi.wake }

// Detach releases the instance.
func (fi *filterInst) Detach() {
	fi.ls.Lock()
	defer fi.ls.Unlock()
	if fi.obj > 0 {
		fi.ls.Unref(fi.obj)
		fi.obj = 0
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// filterFuncs are the functions of the filter table.
var filterFuncs = []coreFunc{
	{"register_data_filter", vm.NewFunction("filter.register_data_filter", filterDataFn(true))},
	{"unregister_data_filter", vm.NewFunction("filter.unregister_data_filter", filterDataFn(false))},
	{"wake_time", vm.NewFunction("filter.wake_time", luaFilterWakeTime)},
}

// installFilter builds the filter global: the return codes, the flag and
// the helper functions.
func installFilter(ls *LState) error {
	return ls.SetGlobal("filter", func(p *vm.Pusher) {
		p.NewTable(0, 8)
		p.FieldInteger("CONTINUE", fltContinue)
		p.FieldInteger("WAIT", fltWait)
		p.FieldInteger("ERROR", fltError)
		p.FieldInteger("FLT_CFG_FL_HTX", fltCfgFlHTX)
		for _, f := range filterFuncs {
			p.Field(f.name, func() { p.PushFunction(f.fn) })
		}
	})
}

// curFilter returns the filter instance whose callback is running.
func curFilter(c *vm.Call, fn string) (*filterInst, error) {
	if iv := inv(c); iv != nil && iv.filter != nil {
		return iv.filter, nil
	}
	return nil, filterError("filter." + fn + ": not available outside of filter context")
}

// filterDataFn implements filter.register_data_filter(flt, chn) and
// filter.unregister_data_filter(flt, chn). They never yield.
func filterDataFn(on bool) vm.Func {
	name := "unregister_data_filter"
	if on {
		name = "register_data_filter"
	}
	return func(c *vm.Call) (int, error) {
		if err := c.CheckType(1, vm.TypeTable); err != nil {
			return 0, err
		}
		ch, err := channelClass.Check(c, 2)
		if err != nil {
			return 0, err
		}
		fi, err := curFilter(c, name)
		if err != nil {
			return 0, err
		}
		fi.data[b2i(ch.ch.IsRes())] = on
		return 0, nil
	}
}

// luaFilterWakeTime implements filter.wake_time(milliseconds). It never
// yields.
func luaFilterWakeTime(c *vm.Call) (int, error) {
	ms, err := c.Integer(1)
	if err != nil {
		return 0, err
	}
	fi, err := curFilter(c, "wake_time")
	if err != nil {
		return 0, err
	}
	fi.wake = time.Duration(ms) * time.Millisecond
	return 0, nil
}
