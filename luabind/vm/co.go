//go:build lua53

package vm

/*
#include "lrt.h"
*/
import "C"

import (
	"errors"
	"strconv"
	"time"
)

// CoOptions configure an invocation's coroutine.
type CoOptions struct {
	// Budget is the Lua-time budget (tune.lua.session-timeout and friends);
	// 0 = none.
	Budget time.Duration
	// Burst limits one resume (tune.lua.burst-timeout); 0 = none.
	Burst time.Duration
	// YieldAllowed is false for fetches and converters: the hook then only
	// checks the budget, and any yield ends the invocation.
	YieldAllowed bool
	// CachedResults says the caller reads, after a Resume that returns
	// OK, only NResults, ResultInteger(1) and the last result's type,
	// number and truth: the coroutine is then reset within that Resume,
	// which saves Close a call into C (the other accessors panic).
	CachedResults bool
}

// Co is the root coroutine of one invocation (action, service, task, fetch,
// converter, body). Push the function and its arguments, then Resume until
// it no longer yields, then Close.
type Co struct {
	Pusher
	// Data is the host's context for the invocation (read by Go functions
	// through Call.Co().Data).
	Data any

	c       *C.lrt_co
	id      int64
	opstart C.size_t
	started bool
	cont    Func
	wait    func()
	resolve func(*Pusher) bool // YieldResolved's
	handles []int64
	err     *Error
	// collect are the conditions for a full GC cycle at Close
	// (CollectOnClose).
	collect []func() bool
	// results says the stack is as the last Resume left it: c.nres and
	// c.res1 describe it (NResults and ResultInteger(1) without a call).
	results bool
	// reset says the last Resume finished and reset the thread
	// (CachedResults): only the caches describe the results.
	reset bool
}

func (st *State) coByID(id int64) *Co {
	if id <= 0 || int(id) > len(st.cos) {
		return nil
	}
	return st.cos[id-1]
}

// NewCo returns a coroutine ready to receive a function and its arguments.
func (st *State) NewCo(o CoOptions) (*Co, error) {
	var co *Co
	if n := len(st.pool); n > 0 {
		co = st.pool[n-1]
		st.pool = st.pool[:n-1]
	} else {
		c := C.lrt_co_new(st.vm)
		if c == nil {
			return nil, errors.New("not enough memory")
		}
		co = &Co{c: c}
	}
	if n := len(st.freeCos); n > 0 {
		co.id = st.freeCos[n-1]
		st.freeCos = st.freeCos[:n-1]
		st.cos[co.id-1] = co
	} else {
		st.cos = append(st.cos, co)
		co.id = int64(len(st.cos))
	}
	co.c.id = C.int64_t(co.id)
	co.c.budget_ns = C.int64_t(o.Budget)
	co.c.burst_ns = C.int64_t(o.Burst)
	co.c.used_ns = 0
	co.c.yield_allowed = 0
	if o.YieldAllowed {
		co.c.yield_allowed = 1
	}
	co.c.defer_mask = 0
	co.c.reset_on_ok = 0
	if o.CachedResults {
		co.c.reset_on_ok = 1
	}
	co.reset = false
	co.Pusher = Pusher{st: st, co: co}
	co.opstart = st.vm.opslen
	co.started = false
	co.results = false
	co.err = nil
	return co, nil
}

// Load compiles a chunk and pushes it as the function to run. name is the
// chunk name used in messages ("@file" for a file, as luaL_loadfile does).
func (co *Co) Load(code []byte, name string) error {
	if len(code) == 0 {
		code = []byte{'\n'}
	}
	co.results = false
	cname := C.CString(name)
	defer freeC(cname)
	st := C.lrt_load(co.st.vm, co.c.L, (*C.char)(unsafePtr(&code[0])), C.size_t(len(code)), cname)
	if st != C.LUA_OK {
		msg, _ := stack{co.c.L}.str(-1)
		C.lua_settop(co.c.L, -2)
		return &Error{Outcome: Failed, Message: msg}
	}
	return nil
}

// Resume starts the coroutine (first call: the function and arguments
// pushed so far) or continues it after a yield (values pushed since are
// passed to the continuation).
func (co *Co) Resume() Outcome {
	st := co.st
	vm := st.vm
	nargs := co.n
	if !co.started {
		co.started = true
		nargs = -1 // the values above the function
	}
	co.n = 0
	co.results = false
	r := C.lrt_run_u(cAddr(vm), cAddr(co.c), co.opstart, C.int(nargs))
	if vm.dqlen != 0 {
		st.applyDeferred() // whatever the outcome: HAProxy applies at once
	}
	if r == C.LRT_ERR_PUSH {
		co.err = &Error{Outcome: Failed, Message: C.GoStringN(vm.out, C.int(vm.outlen))}
		return Failed
	}
	co.opstart = vm.opslen
	co.results = r == C.LUA_OK || r == C.LUA_YIELD
	switch r {
	case C.LUA_OK:
		co.reset = co.c.reset_on_ok != 0
		return OK
	case C.LUA_YIELD:
		switch Reason(co.c.reason) {
		case reasonTimeout:
			co.err = &Error{Outcome: Timeout, Message: "execution timeout"}
			return Timeout
		case reasonBurst:
			co.err = &Error{Outcome: BurstTimeout, Message: "burst timeout"}
			return BurstTimeout
		case ReasonForced:
			return Yield
		}
		if co.c.yield_allowed == 0 {
			co.err = &Error{Outcome: YieldNotAllowed, Message: "yield not allowed"}
			return YieldNotAllowed
		}
		return Yield
	case C.LUA_ERRMEM:
		co.err = &Error{Outcome: NoMemory, Message: "not enough memory"}
		return NoMemory
	default:
		// the HAProxy-style trace first: describing the error pops it
		C.lrt_hlua_traceback(vm, co.c.L)
		where := C.GoStringN(vm.out, C.int(vm.outlen))
		C.lrt_describe_error(vm, co.c.L, 1)
		full := C.GoStringN(vm.out, C.int(vm.outlen))
		co.err = splitTraceback(full)
		co.err.Where = where
		return Failed
	}
}

func splitTraceback(full string) *Error {
	const marker = "\nstack traceback:\n"
	for i := 0; i+len(marker) <= len(full); i++ {
		if full[i:i+len(marker)] == marker {
			return &Error{Outcome: Failed, Message: full[:i], Traceback: full[i+1:]}
		}
	}
	return &Error{Outcome: Failed, Message: full}
}

// CollectOnClose asks for a full garbage collection cycle when the
// coroutine is closed, if need then reports true. HAProxy does one after
// each Lua function that created a socket (the architecture document, "The
// garbage collector"): a socket the script no longer references is then
// closed at once rather than whenever the collector would have come to it.
// need tells whether there is such a socket to close (one the script
// closed itself needs no cycle).
func (co *Co) CollectOnClose(need func() bool) { co.collect = append(co.collect, need) }

// Reason says why the last Resume returned Yield.
func (co *Co) Reason() Reason { return Reason(co.c.reason) }

// TakeWait returns the wait function of the last Go yield (nil if none).
func (co *Co) TakeWait() func() {
	w := co.wait
	co.wait = nil
	return w
}

// Resolve makes the results of a function that yielded with
// YieldResolved, once its wait returned: it reports false when the
// function must wait again (call its wait again, then Resolve). After
// any other yield it reports true and pushes nothing.
func (co *Co) Resolve() bool {
	r := co.resolve
	if r == nil {
		return true
	}
	if !r(&co.Pusher) {
		return false
	}
	co.resolve = nil
	return true
}

// Err describes how the coroutine failed (nil after OK or Yield).
func (co *Co) Err() *Error { return co.err }

// Budget changes the Lua-time budget.
func (co *Co) SetBudget(d time.Duration) { co.c.budget_ns = C.int64_t(d) }

// NResults returns the number of values on the coroutine's stack (its
// results after OK, its yielded values after Yield).
func (co *Co) NResults() int {
	if co.results {
		return int(co.c.nres)
	}
	return int(C.lua_gettop(co.c.L))
}

// top says whether result i is the last one and the cache of the last
// Resume describes it.
func (co *Co) top(i int) bool { return co.results && i == int(co.c.nres) && i > 0 }

// stack returns the coroutine's stack, for the results the caches do
// not describe; a coroutine reset by its Resume has none left.
func (co *Co) stack() stack {
	if co.reset {
		panic("vm: a result read from the stack of a coroutine run with CachedResults")
	}
	return stack{co.c.L}
}

// ResultType returns the type of result i (1-based).
func (co *Co) ResultType(i int) Type {
	if co.top(i) {
		return Type(co.c.top_type)
	}
	return co.stack().typ(i)
}

// ResultString returns result i as a string (numbers formatted); ok is false
// for other types.
func (co *Co) ResultString(i int) (string, bool) {
	if co.top(i) && !co.reset {
		switch Type(co.c.top_type) {
		case TypeString: // a fetch's value: often the same on every request
			return co.st.strs.get(goBytes(co.c.top_str, co.c.top_len)), true
		case TypeNumber:
			if co.c.top_subint != 0 {
				return strconv.FormatInt(int64(co.c.top_int), 10), true
			}
			return FormatNumber(float64(co.c.top_num)), true
		}
		return "", false
	}
	return co.stack().str(i)
}

// ResultInteger returns result i as an integer.
func (co *Co) ResultInteger(i int) (int64, bool) {
	switch {
	case i == 1 && co.results && co.c.res1_str == 0:
		return int64(co.c.res1), co.c.res1_ok != 0
	case co.top(i) && Type(co.c.top_type) != TypeString:
		return int64(co.c.top_int), co.c.top_isint != 0
	}
	return co.stack().integer(i)
}

// ResultNumber returns result i as a float.
func (co *Co) ResultNumber(i int) (float64, bool) {
	if co.top(i) && Type(co.c.top_type) != TypeString {
		return float64(co.c.top_num), co.c.top_isnum != 0
	}
	return co.stack().number(i)
}

// ResultBool returns the truth of result i.
func (co *Co) ResultBool(i int) bool {
	if co.top(i) {
		return co.c.top_bool != 0
	}
	return co.stack().boolean(i)
}

// ResultValue converts result i to a Go value.
func (co *Co) ResultValue(i int) any { return co.stack().value(i, 8) }

// ResultObject returns the Go value of an object result of class cl.
func ResultObject[T any](co *Co, i int, cl *Class[T]) (T, bool) {
	var zero T
	L := co.stack().L
	if (stack{L}).typ(i) != TypeTable {
		return zero, false
	}
	var h int64
	switch Type(C.lua_rawgeti(L, C.int(i), 0)) {
	case TypeLightUserdata:
		h = int64(uintptr(C.lua_touserdata(L, -1)))
	case TypeUserdata:
		h = *(*int64)(C.lua_touserdata(L, -1))
	default:
		C.lua_settop(L, -2)
		return zero, false
	}
	C.lua_settop(L, -2)
	v, idx, ok := co.st.objs.get(h)
	if !ok || idx != cl.idx {
		return zero, false
	}
	t, ok := v.(T)
	return t, ok
}

// RefResult anchors result i in the registry.
func (co *Co) RefResult(i int) Ref {
	co.stack()
	co.results = false
	r := C.lrt_ref(co.st.vm, co.c.L, C.int(i))
	if r < 0 {
		return NoRef
	}
	return Ref(r)
}

// Close ends the invocation: request-scoped objects are invalidated, and a
// coroutine that finished normally is kept for reuse.
func (co *Co) Close() {
	st := co.st
	gc := false
	if len(co.collect) > 0 {
		for _, need := range co.collect {
			if gc = need(); gc {
				break
			}
		}
		clear(co.collect)
		co.collect = co.collect[:0]
	}
	co.close()
	if gc {
		st.GC() // after the reset: the stack no longer holds anything
	}
}

// close releases the coroutine's handles and thread (Close without the
// collection). A deferred GC in Close's loop made every Close pay a
// deferreturn.
func (co *Co) close() {
	st := co.st
	co.c.defer_mask = 0
	for _, h := range co.handles {
		st.objs.release(h)
	}
	co.handles = co.handles[:0]
	co.results = false
	co.cont = nil
	co.wait = nil
	co.resolve = nil
	co.Data = nil
	st.cos[co.id-1] = nil
	st.freeCos = append(st.freeCos, co.id)
	co.c.id = 0
	if (co.reset || C.lrt_co_reset_u(cAddr(co.c)) != 0) && len(st.pool) < 64 {
		st.pool = append(st.pool, co)
		return
	}
	C.lrt_co_free(st.vm, co.c)
	co.c = nil
}
