//go:build lua53

package vm

/*
#include "lrt.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unsafe"
)

// Call is a Go function's view of one call from Lua: its arguments (1-based,
// as in Lua), and the results it pushes (the embedded Pusher). A Call is
// valid only until the Go function returns; strings from Bytes are views
// into Lua memory valid for the same time.
type Call struct {
	Pusher // Pusher.co is the invocation's root coroutine
	L      *C.lua_State
	f      *C.lrt_frame
}

// enter starts a call; State.call's deferred function ends it. The Call's
// fields are overwritten by the next enter (not cleared: it is on the hot
// path, and nothing reads them in between).
func (st *State) enter(f *C.lrt_frame) *Call {
	d := st.depth
	var c *Call
	if d < len(st.calls) {
		c = &st.calls[d] // its st is set once, by NewState
	} else {
		c = &Call{Pusher: Pusher{st: st}}
	}
	st.depth = d + 1
	c.Pusher.co, c.Pusher.n = st.coByID(int64(f.coid)), 0
	c.L, c.f = f.L, f
	return c
}

// call runs the Go function of frame f (its continuation when resumed) and
// returns the verdict for the trampoline. It is the hot path of every Lua ->
// Go call: recover runs only when the function did not return, because a
// deferred recover costs ~10 instructions of the ~45 its defer adds.
func (st *State) call(f *C.lrt_frame, resumed bool) (r C.int) {
	c := st.enter(f)
	returned := false
	defer func() {
		if !returned { // a panic (verdict included: an error's Error method may panic)
			if p := recover(); p != nil {
				r = c.panicked(p, panicStack(st))
			}
		}
		st.depth--
	}()
	if st.vm.dqlen != 0 {
		st.applyDeferred() // what Lua did before this call, first
	}
	var fn Func
	if resumed {
		fn = c.continuation()
	} else {
		fn = funcByID(int64(f.fid)).fn
	}
	if n, err := fn(c); err != nil {
		r = c.verdict(err)
	} else {
		r = C.int(n) // n < 0 only comes from Yield
	}
	returned = true
	return r
}

// continuation takes the pending continuation of the invocation, or returns
// a function that fails.
func (c *Call) continuation() Func {
	co := c.Pusher.co
	if co == nil || co.cont == nil {
		return func(*Call) (int, error) {
			return 0, errors.New("lua: resumed a coroutine with no pending continuation")
		}
	}
	k := co.cont
	co.cont = nil
	return k
}

// verdict turns a Go function's error into the trampoline's code.
func (c *Call) verdict(err error) C.int {
	var ae *argError
	var re *rawError
	switch {
	case errors.As(err, &ae):
		c.f.argerr = C.int32_t(ae.arg)
		c.PushString(ae.msg)
		return C.LRT_ARGERROR
	case errors.As(err, &re):
		c.PushString(re.msg)
		return C.LRT_RAISE
	default:
		c.PushString(err.Error())
		return C.LRT_RAISEWHERE
	}
}

func (c *Call) panicked(p any, stack []byte) C.int {
	c.st.vm.opslen = c.f.opstart // drop partial results
	c.st.warnf("go panic in a Lua call: %v\n%s", p, stack)
	c.PushString(fmt.Sprintf("go panic: %v", p))
	return C.LRT_RAISEWHERE
}

// State returns the state running the call.
func (c *Call) State() *State { return c.st }

// Co returns the invocation's root coroutine (nil outside any invocation).
func (c *Call) Co() *Co { return c.Pusher.co }

// Top returns the number of arguments.
func (c *Call) Top() int { return int(c.f.n) }

func (c *Call) arg(i int) *C.lrt_arg {
	if i >= 1 && i <= int(c.f.n) && i <= C.LRT_MAXARGS {
		return &c.f.a[i-1]
	}
	return nil
}

// Type returns the type of argument i (TypeNone past the last one).
func (c *Call) Type(i int) Type {
	if i < 1 || i > int(c.f.n) {
		return TypeNone
	}
	if a := c.arg(i); a != nil {
		return Type(a._type)
	}
	return (stack{c.L}).typ(i)
}

// TypeName returns Lua's name for the type of argument i ("no value" past the end).
func (c *Call) TypeName(i int) string { return c.Type(i).String() }

// IsNoneOrNil reports whether argument i is absent or nil.
func (c *Call) IsNoneOrNil(i int) bool { return c.Type(i) <= TypeNil }

// ArgError returns an error raised as Lua's "bad argument #i to 'f' (msg)".
func (c *Call) ArgError(i int, msg string) error { return &argError{arg: i, msg: msg} }

func (c *Call) typeError(i int, want string) error {
	return c.ArgError(i, want+" expected, got "+c.TypeName(i))
}

// Integer returns argument i as an integer, with luaL_checkinteger's rules.
func (c *Call) Integer(i int) (int64, error) {
	if a := c.arg(i); a != nil && a.flags&C.LRT_F_INT != 0 && a._type == C.LUA_TNUMBER {
		return int64(a.i), nil // the common case, inlined
	}
	return c.integer(i)
}

func (c *Call) integer(i int) (int64, error) {
	switch c.Type(i) {
	case TypeNumber:
		if a := c.arg(i); a != nil {
			if a.flags&C.LRT_F_INT != 0 {
				return int64(a.i), nil
			}
			return 0, c.ArgError(i, "number has no integer representation")
		}
		if v, ok := (stack{c.L}).integer(i); ok {
			return v, nil
		}
		return 0, c.ArgError(i, "number has no integer representation")
	case TypeString:
		s, _ := c.String(i)
		iv, f, isInt, ok := parseNumber(s)
		if ok && isInt {
			return iv, nil
		}
		if ok && f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return int64(f), nil
		}
		if ok {
			return 0, c.ArgError(i, "number has no integer representation")
		}
	}
	return 0, c.typeError(i, "number")
}

// OptInteger is Integer with a default for an absent or nil argument.
func (c *Call) OptInteger(i int, def int64) (int64, error) {
	if c.IsNoneOrNil(i) {
		return def, nil
	}
	return c.Integer(i)
}

// Number returns argument i as a float, with luaL_checknumber's rules.
func (c *Call) Number(i int) (float64, error) {
	switch c.Type(i) {
	case TypeNumber:
		if a := c.arg(i); a != nil {
			return float64(a.n), nil // exact, -0.0 included
		}
		v, _ := (stack{c.L}).number(i)
		return v, nil
	case TypeString:
		s, _ := c.String(i)
		iv, f, isInt, ok := parseNumber(s)
		if ok && isInt {
			return float64(iv), nil
		}
		if ok {
			return f, nil
		}
	}
	return 0, c.typeError(i, "number")
}

// Bytes returns argument i as a string (numbers are formatted), without
// copying a Lua string: the slice is valid until the Go function returns.
func (c *Call) Bytes(i int) ([]byte, error) {
	if a := c.arg(i); a != nil {
		switch Type(a._type) {
		case TypeString:
			return goBytes(a.s, a.len), nil
		case TypeNumber:
			if a.flags&C.LRT_F_INT != 0 && float64(a.i) == float64(a.n) {
				if isFloatArg(c, i) {
					return []byte(FormatNumber(float64(a.n))), nil
				}
				return strconv.AppendInt(nil, int64(a.i), 10), nil
			}
			return []byte(FormatNumber(float64(a.n))), nil
		}
		return nil, c.typeError(i, "string")
	}
	s, ok := (stack{c.L}).str(i)
	if !ok {
		return nil, c.typeError(i, "string")
	}
	return []byte(s), nil
}

// isFloatArg distinguishes 1.0 from 1 (both have an integer value).
func isFloatArg(c *Call, i int) bool { return C.lua_isinteger(c.L, C.int(i)) == 0 }

// String returns argument i as a Go string (numbers are formatted as Lua does).
func (c *Call) String(i int) (string, error) {
	if a := c.arg(i); a != nil && Type(a._type) == TypeString {
		return c.st.strs.get(goBytes(a.s, a.len)), nil
	}
	b, err := c.Bytes(i)
	return string(b), err
}

// OptString is String with a default for an absent or nil argument.
func (c *Call) OptString(i int, def string) (string, error) {
	if c.IsNoneOrNil(i) {
		return def, nil
	}
	return c.String(i)
}

// Bool returns the truth of argument i (nil, false and none are false).
func (c *Call) Bool(i int) bool {
	if a := c.arg(i); a != nil {
		switch Type(a._type) {
		case TypeNil:
			return false
		case TypeBoolean:
			return a.i != 0
		}
		return true
	}
	if i > int(c.f.n) {
		return false
	}
	return (stack{c.L}).boolean(i)
}

// Value converts argument i to a Go value (see stack.value).
func (c *Call) Value(i int) any { return (stack{c.L}).value(i, 8) }

// CheckType returns an argument error unless argument i has type t.
func (c *Call) CheckType(i int, t Type) error {
	if c.Type(i) != t {
		return c.typeError(i, t.String())
	}
	return nil
}

// Ref anchors argument i in the registry; release it with State.Unref.
func (c *Call) Ref(i int) (Ref, error) {
	r := C.lrt_ref(c.st.vm, c.L, C.int(i))
	if r == C.LUA_NOREF || r == C.LUA_REFNIL {
		if r == C.LUA_REFNIL {
			return NoRef, nil
		}
		return NoRef, errors.New("not enough memory")
	}
	return Ref(r), nil
}

// ToString converts argument i with luaL_tolstring (calls __tostring).
func (c *Call) ToString(i int) string {
	C.lrt_tostring(c.st.vm, c.L, C.int(i))
	return C.GoStringN(c.st.vm.out, C.int(c.st.vm.outlen))
}

func (c *Call) handle(i int) (int64, bool) {
	if a := c.arg(i); a != nil {
		return int64(a.i), Type(a._type) == TypeTable && a.flags&C.LRT_F_OBJ != 0
	}
	if i < 1 || i > int(c.f.n) || (stack{c.L}).typ(i) != TypeTable {
		return 0, false
	}
	switch Type(C.lua_rawgeti(c.L, C.int(i), 0)) {
	case TypeLightUserdata:
		h := int64(uintptr(C.lua_touserdata(c.L, -1)))
		C.lua_settop(c.L, -2)
		return h, true
	case TypeUserdata:
		p := C.lua_touserdata(c.L, -1)
		h := *(*int64)(unsafe.Pointer(p))
		C.lua_settop(c.L, -2)
		return h, true
	}
	C.lua_settop(c.L, -2)
	return 0, false
}

// CanYield reports whether the running function may yield: it runs in the
// invocation's own coroutine, the context allows waiting, and no C call
// (table.sort, gsub, a metamethod called from C) stands in between.
func (c *Call) CanYield() bool {
	co := c.Pusher.co
	return co != nil && co.c.yield_allowed != 0 && co.c.L == c.L && c.f.yieldable != 0
}

// Yield suspends the invocation. The host runs wait (outside the state
// lock; nil means "resume soon"), then resumes the coroutine, and k is
// called with the same arguments as this call plus any values the host
// pushed for the resume. It returns the verdict the Go function must return.
//
// In a fetch or converter the yield happens and the host ends the
// invocation with "yield not allowed", as HAProxy does.
func (c *Call) Yield(wait func(), k Func) (int, error) {
	co := c.Pusher.co
	if co == nil {
		return 0, errors.New("attempt to yield from outside a coroutine")
	}
	if co.c.L != c.L {
		return 0, errors.New("attempt to yield from a coroutine created by the script: call it from the action's own coroutine")
	}
	if c.f.yieldable == 0 {
		return 0, errors.New("attempt to yield across a C-call boundary")
	}
	co.cont = k
	co.wait = wait
	return int(C.LRT_YIELD), nil
}

// YieldResolved is Yield for a function whose results Go makes without
// Lua's help once it waited (a line, a block of data, nothing after a
// sleep): after wait returns, the host calls resolve (Co.Resolve), which
// pushes the results and reports true, or reports false to wait again.
// The coroutine resumes with those values as the function's results,
// without calling back into Go for a continuation: one cgo callback less
// per wait. resolve runs with the state locked, as a Go function does.
func (c *Call) YieldResolved(wait func(), resolve func(*Pusher) bool) (int, error) {
	if _, err := c.Yield(wait, nil); err != nil {
		return 0, err
	}
	c.Pusher.co.resolve = resolve
	return int(C.LRT_YIELD_RESOLVED), nil
}
