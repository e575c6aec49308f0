//go:build lua53

package luabind

import (
	"math"

	"luaproxy/luabind/vm"
)

// sampleKind is the HAProxy sample type a Lua value becomes.
type sampleKind int

const (
	sampleNone sampleKind = iota // no value: the fetch or converter fails
	sampleBool
	sampleSInt
	sampleStr
)

// luaSample is what a Lua fetch or converter returns, converted as the
// architecture document's table (and HAProxy's hlua_lua2smp) says:
//
//	Lua                    sample
//	number                 sint (a float without an integer value is 0)
//	boolean                bool
//	string                 str
//	nil, table, function,  bool (false)
//	userdata, thread
//
// A function that returns nothing gives no sample.
type luaSample struct {
	kind sampleKind
	num  int64 // bool (0/1) and sint
	str  string
}

// sampleOfNumber is lua_tointeger: integral floats convert, others are 0.
func sampleOfNumber(f float64) luaSample {
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return luaSample{kind: sampleSInt, num: int64(f)}
	}
	return luaSample{kind: sampleSInt}
}

// sampleOfResult converts result i of a finished coroutine.
func sampleOfResult(co *vm.Co, i int) luaSample {
	if i > co.NResults() {
		return luaSample{}
	}
	switch co.ResultType(i) {
	case vm.TypeNumber:
		if n, ok := co.ResultInteger(i); ok {
			return luaSample{kind: sampleSInt, num: n}
		}
		f, _ := co.ResultNumber(i)
		return sampleOfNumber(f)
	case vm.TypeBoolean:
		return boolSample(co.ResultBool(i))
	case vm.TypeString:
		s, _ := co.ResultString(i)
		return luaSample{kind: sampleStr, str: s}
	}
	return boolSample(false)
}

// sampleOfArg converts argument i of a call (core.done's data).
func sampleOfArg(c *vm.Call, i int) luaSample {
	switch c.Type(i) {
	case vm.TypeNumber:
		if n, err := c.Integer(i); err == nil {
			return luaSample{kind: sampleSInt, num: n}
		}
		f, _ := c.Number(i)
		return sampleOfNumber(f)
	case vm.TypeBoolean:
		return boolSample(c.Bool(i))
	case vm.TypeString:
		s, _ := c.String(i)
		return luaSample{kind: sampleStr, str: s}
	}
	return boolSample(false)
}

func boolSample(b bool) luaSample {
	if b {
		return luaSample{kind: sampleBool, num: 1}
	}
	return luaSample{kind: sampleBool}
}

// runSample runs a Lua fetch or converter (iv.ctx) registered as fn, with
// the arguments push pushes, to its end. ok is false when it failed (the
// failure is logged with HAProxy's words) or gave no value. The caller
// holds the lock.
func (ls *LState) runSample(iv *invocation, fn vm.Ref, push func(*vm.Pusher)) (luaSample, bool) {
	co, err := ls.start(iv, fn)
	if err != nil {
		sendErr(ls, streamProxy(iv.s), "%s: %v.", sampleWhat(iv), err)
		return luaSample{}, false
	}
	defer co.Close()
	if push != nil {
		push(&co.Pusher)
	}
	return ls.finishSample(iv, co)
}

// finishSample drives co, a fetch or converter, and converts its result.
func (ls *LState) finishSample(iv *invocation, co *vm.Co) (luaSample, bool) {
	out := ls.drive(co)
	switch {
	case out == vm.OK && iv.hasResult:
		return iv.result, true // core.done(data)
	case out == vm.OK:
		// HAProxy compat: the value on top of the stack, the last result
		smp := sampleOfResult(co, max(co.NResults(), 1))
		return smp, smp.kind != sampleNone
	case out == vm.YieldNotAllowed && iv.ctx == ctxConverter:
		sendErr(ls, streamProxy(iv.s), "%s: yield functions like core.tcp() or core.sleep() are not allowed.", sampleWhat(iv))
	default:
		alertFailure(ls, streamProxy(iv.s), sampleWhat(iv), co, out)
	}
	return luaSample{}, false
}

func sampleWhat(iv *invocation) string {
	if iv.ctx == ctxConverter {
		return "Lua converter '" + iv.name + "'"
	}
	return "Lua sample-fetch '" + iv.name + "'"
}
