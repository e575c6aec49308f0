//go:build lua53

package vm

import (
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// benchState returns a state for benchmarks (no hook unless asked).
func benchState(b *testing.B, forcedYield int) *State {
	b.Helper()
	st := newTestState(b, Options{ForcedYield: forcedYield})
	setFuncs(b, st, classFuncs)
	return st
}

// invokeN runs the anchored function fn(n) to completion (resuming forced
// yields at once) and returns how long it took. The lock must be held.
func invokeN(b *testing.B, st *State, fn Ref, n int) time.Duration {
	b.Helper()
	co, err := st.NewCo(CoOptions{YieldAllowed: true})
	if err != nil {
		b.Fatal(err)
	}
	co.PushRef(fn)
	co.PushInteger(int64(n))
	start := time.Now()
	out := co.Resume()
	for out == Yield {
		out = co.Resume()
	}
	d := time.Since(start)
	if out != OK {
		b.Fatalf("%v: %v", out, co.Err())
	}
	co.Close()
	return d
}

// benchLoop times b.N iterations of body inside one invocation, and reports
// ns/call: the same minus an empty loop's time.
func benchLoop(b *testing.B, body string) {
	st := benchState(b, -1)
	st.Lock()
	err := st.SetGlobal("obj", func(p *Pusher) {
		testObjClass.Push(p, &testObj{name: "obj", vars: map[string]string{"x": "1"}})
	})
	st.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	const locals = `local noop, add, concat, obj = noop, add, concat, obj `
	fn := refFunction(b, st, `return function(n) `+locals+`for i = 1, n do `+body+` end end`)
	empty := refFunction(b, st, `return function(n) `+locals+`for i = 1, n do end end`)
	st.Lock()
	defer st.Unlock()
	invokeN(b, st, fn, 1000) // warm up
	b.ReportAllocs()
	b.ResetTimer()
	d := invokeN(b, st, fn, b.N)
	b.StopTimer()
	e := invokeN(b, st, empty, b.N)
	b.ReportMetric(float64(d-e)/float64(b.N), "ns/call")
}

// BenchmarkLuaToGoNoop: Lua calls a Go function with no arguments and no
// results (the trampoline and the cgo callback alone).
func BenchmarkLuaToGoNoop(b *testing.B) { benchLoop(b, `noop()`) }

// BenchmarkLuaToGoAdd2: two integer arguments read from the C frame, one
// result pushed by C.
func BenchmarkLuaToGoAdd2(b *testing.B) { benchLoop(b, `add(i, 1)`) }

// BenchmarkLuaToGoConcat: two short strings in, one out.
func BenchmarkLuaToGoConcat(b *testing.B) { benchLoop(b, `concat("abc", "def")`) }

// BenchmarkLuaToGoMethod: a method call on a class object, the shape of
// every HAProxy API call (txn:get_var("x")): __index lookup, the object's
// handle and a string read from the C frame, one string result.
func BenchmarkLuaToGoMethod(b *testing.B) { benchLoop(b, `obj:get_var("x")`) }

// BenchmarkResumeYield: a resume from Go and the yield back, either a Lua
// coroutine.yield() or a Go function that yields and whose continuation
// receives the resume values (the socket:receive pattern).
func BenchmarkResumeYield(b *testing.B) {
	for _, bc := range []struct {
		name, code string
		push       bool
	}{
		{"lua", `while true do coroutine.yield() end`, false},
		{"go", `while true do recv() end`, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := benchState(b, -1)
			st.Lock()
			defer st.Unlock()
			co, err := st.NewCo(CoOptions{YieldAllowed: true})
			if err != nil {
				b.Fatal(err)
			}
			defer co.Close()
			if err := co.Load([]byte(bc.code), "=bench"); err != nil {
				b.Fatal(err)
			}
			if out := co.Resume(); out != Yield {
				b.Fatal(out, co.Err())
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if bc.push {
					co.PushString("x")
				}
				if out := co.Resume(); out != Yield {
					b.Fatal(out, co.Err())
				}
			}
		})
	}
}

// BenchmarkInvocation: one request's worth of Lua: a new coroutine, the
// action function (anchored in the registry), a TXN-like request-scoped
// object, a resume in which the action calls one method of the object, and
// Close. "bare" is the same without the object and the method call. The
// state has HAProxy's default hook (10,000 instructions).
func BenchmarkInvocation(b *testing.B) {
	for _, bc := range []struct {
		name, code string
		obj        bool
	}{
		{"txn", `return function(txn) return txn:get_var("x") end`, true},
		{"field", `return function(txn) return txn.other:get_var("x") end`, true},
		{"view", `return function(txn) return txn.view:get_var("x") end`, true},
		{"obj", `return function(txn) end`, true},
		{"bare", `return function() end`, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := benchState(b, 0)
			fn := refFunction(b, st, bc.code)
			txn := &testObj{name: "txn", vars: map[string]string{"x": "1"}}
			st.Lock()
			defer st.Unlock()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				co, err := st.NewCo(CoOptions{YieldAllowed: true})
				if err != nil {
					b.Fatal(err)
				}
				co.PushRef(fn)
				if bc.obj {
					testObjClass.Push(&co.Pusher, txn)
				}
				if out := co.Resume(); out != OK {
					b.Fatal(out, co.Err())
				}
				co.Close()
			}
		})
	}
}

// tightLoop is the study's forced-yield workload: 2 VM instructions per
// iteration.
const tightLoop = `local x = 0 for i = 1, n do x = x + i end`

// BenchmarkForcedYield runs tightLoop for b.N iterations with a forced yield
// every N instructions, the host resuming after each, and reports the rate
// in millions of iterations per second; "nohook" has no hook, and "lua5.3"
// is the bare interpreter (timed with os.clock inside it), the ceiling.
func BenchmarkForcedYield(b *testing.B) {
	for _, bc := range []struct {
		name   string
		period int
	}{
		{"10", 10}, {"100", 100}, {"1000", 1000}, {"10000", 10000}, {"1e6", 1000000}, {"nohook", -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := benchState(b, bc.period)
			fn := refFunction(b, st, `return function(n) `+tightLoop+` return x end`)
			st.Lock()
			defer st.Unlock()
			b.ReportAllocs()
			b.ResetTimer()
			d := invokeN(b, st, fn, b.N)
			b.ReportMetric(float64(b.N)/d.Seconds()/1e6, "Miter/s")
		})
	}
	b.Run("lua5.3", func(b *testing.B) {
		lua, err := exec.LookPath("lua5.3")
		if err != nil {
			b.Skip("no lua5.3 interpreter")
		}
		code := fmt.Sprintf(`local n = %d local t = os.clock() %s io.write(os.clock() - t)`, b.N, tightLoop)
		out, err := exec.Command(lua, "-e", code).Output()
		if err != nil {
			b.Fatal(err)
		}
		secs, err := strconv.ParseFloat(string(out), 64)
		if err != nil {
			b.Fatalf("%q: %v", out, err)
		}
		if secs <= 0 {
			secs = 1e-6 // below os.clock's resolution
		}
		b.ReportMetric(secs*1e9/float64(b.N), "ns/op")
		b.ReportMetric(float64(b.N)/secs/1e6, "Miter/s")
	})
}
