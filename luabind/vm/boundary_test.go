//go:build lua53

package vm

import (
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// stormN is the number of errors of each kind TestErrorStorm raises (about
// 4 s in all, 3 s under -race: the uncaught ones cost ~25 µs each, mostly
// luaL_traceback looking up global function names).
const stormN = 100000

// TestErrorStorm raises stormN Go errors and Go panics inside pcall in one
// chunk, then stormN uncaught ones (one invocation each), and checks that the
// state took no damage: same nested-pcall depth (a leaked C level or CallInfo
// per error would lower it, as golua's did), main stack empty, memory back
// near its baseline, and the state still runs code.
func TestErrorStorm(t *testing.T) {
	st := newBoundaryState(t, Options{})
	depth0 := pcallDepth(t, st)
	mem0 := memAfterGC(st)

	// Caught: direct pcall(goerr) has no position (pcall is a C caller),
	// pcall(function() goerr() end) gets the chunk's.
	res := runOK(t, st, fmt.Sprintf(`
		local n = %d
		local direct, wrapped = 0, 0
		local fns = {goerr, gopanic}
		local msgs = {"go says no", "go panic: oops"}
		for i = 1, n do
			local k = i %% 2 + 1
			local ok, e = pcall(fns[k])
			if ok or e ~= msgs[k] then error("direct " .. i .. ": " .. tostring(e)) end
			direct = direct + 1
			local line = debug.getinfo(1, "l").currentline; ok, e = pcall(function() return fns[k]() end)
			if ok or e ~= "test:" .. line .. ": " .. msgs[k] then error("wrapped " .. i .. ": " .. tostring(e)) end
			wrapped = wrapped + 1
		end
		return direct, wrapped`, stormN/2))
	wantResults(t, res, int64(stormN/2), int64(stormN/2))

	// Uncaught: each error ends its invocation.
	ref := refFunction(t, st, `return function(k) if k % 2 == 0 then goerr() else gopanic() end end`)
	if err := uncaughtStorm(st, ref); err != nil {
		t.Fatal(err)
	}
	st.Lock()
	st.Unref(ref)
	if top := st.StackTop(); top != 0 {
		t.Errorf("main stack top = %d after the uncaught errors", top)
	}
	st.Unlock()

	if d := pcallDepth(t, st); d != depth0 {
		t.Errorf("nested pcall depth %d -> %d", depth0, d)
	}
	mem := memAfterGC(st)
	t.Logf("pcall depth %d; Lua memory %d -> %d bytes", depth0, mem0, mem)
	if mem > mem0+64<<10 {
		t.Errorf("Lua memory %d -> %d bytes after the errors", mem0, mem)
	}
	wantResults(t, runOK(t, st, `return add(40, 2)`), int64(42))
}

// uncaughtStorm runs ref(i) for i < stormN, each in its own invocation, and
// checks that each fails with the Go error or panic.
func uncaughtStorm(st *State, ref Ref) error {
	st.Lock()
	defer st.Unlock()
	for i := 0; i < stormN; i++ {
		co, err := st.NewCo(CoOptions{YieldAllowed: true})
		if err != nil {
			return err
		}
		co.PushRef(ref)
		co.PushInteger(int64(i))
		out := co.Resume()
		var e Error
		if out == Failed && i%1000 < 2 { // a sample: building the message is the slow part of a check
			e = *co.Err()
		}
		co.Close()
		switch {
		case out != Failed:
			return fmt.Errorf("invocation %d: %v, want Failed", i, out)
		case e.Message == "":
			continue
		}
		want, fn := "test:1: go says no", "goerr"
		if i%2 == 1 {
			want, fn = "test:1: go panic: oops", "gopanic"
		}
		if e.Message != want || !strings.Contains(e.Traceback, "in function '"+fn+"'") {
			return fmt.Errorf("invocation %d: %q\n%s", i, e.Message, e.Traceback)
		}
	}
	return nil
}

// TestYieldResumeOtherGoroutine hands a coroutine between two goroutines,
// each locked to its OS thread: A starts it and runs the wait function of its
// Go yield, B takes the state lock and resumes it, then they alternate. The
// script sees the thread change, and the values B pushes on resume reach the
// Go continuation (recv).
func TestYieldResumeOtherGoroutine(t *testing.T) {
	st := newBoundaryState(t, Options{})
	rounds := 200
	if raceEnabled {
		rounds = 50
	}
	co := start(t, st, CoOptions{YieldAllowed: true}, `
		local rounds = ...
		local t0 = tid()
		local s = sleep(1)            -- A runs the wait, B resumes
		local t1 = tid()
		local d = recv()              -- B pushes "he", "llo"
		local acc, tids = {}, {}
		for i = 1, rounds do          -- alternate: odd resumes on A, even on B
			acc[i] = recv()
			tids[i] = tid()
		end
		return s, d, t0, t1, table.concat(acc), table.concat(tids, ",")`, rounds)

	type hop struct {
		co   *Co
		data string
	}
	toA, toB := make(chan hop), make(chan hop)
	quit := make(chan struct{})
	errc := make(chan error, 2)
	tids := make(chan int, 2)
	var final []any

	// resume resumes co with data as arguments (split in two pushes), and
	// returns the outcome; the lock is taken here, by the calling goroutine.
	resume := func(co *Co, data string) Outcome {
		st.Lock()
		defer st.Unlock()
		if data != "" {
			co.PushString(data[:len(data)/2])
			co.PushString(data[len(data)/2:])
		}
		return co.Resume()
	}
	send := func(out chan<- hop, h hop) bool {
		select {
		case out <- h:
			return true
		case <-quit:
			return false
		}
	}
	worker := func(name string, in <-chan hop, out chan<- hop, first bool) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- syscall.Gettid()
		if first {
			if o := resume(co, ""); o != Yield || co.Reason() != ReasonGo {
				errc <- fmt.Errorf("%s: first resume %v (reason %v): %v", name, o, co.Reason(), co.Err())
				return
			}
			st.Lock()
			w := co.TakeWait()
			st.Unlock()
			if w == nil {
				errc <- fmt.Errorf("%s: sleep yielded without a wait function", name)
				return
			}
			w() // the wait runs here, on A
			if !send(out, hop{co, ""}) {
				return
			}
		}
		for {
			var h hop
			select {
			case h = <-in:
			case <-quit:
				return
			}
			o := resume(h.co, h.data)
			switch {
			case o == OK:
				final = results(st, h.co)
				closeCo(st, h.co)
				errc <- nil
				return
			case o != Yield || h.co.Reason() != ReasonGo:
				errc <- fmt.Errorf("%s: resume %v: %v", name, o, h.co.Err())
				return
			}
			if !send(out, hop{h.co, "he" + "llo"}) {
				return
			}
		}
	}
	go worker("A", toA, toB, true)
	go worker("B", toB, toA, false)
	err := <-errc
	close(quit) // the other worker is waiting for its turn: let it go
	if err != nil {
		t.Fatal(err)
	}
	tidA, tidB := <-tids, <-tids
	if len(final) != 6 {
		t.Fatalf("results %#v", final)
	}
	if final[0] != "slept" || final[1] != "hello" || final[4] != strings.Repeat("hello", rounds) {
		t.Errorf("values: %#v", final[:5])
	}
	// t0 on the goroutine that started it, t1 on the other one.
	if final[2] == final[3] {
		t.Errorf("the script ran on one thread (%v) before and after the handover", final[2])
	}
	got := map[int64]bool{final[2].(int64): true, final[3].(int64): true}
	if !got[int64(tidA)] || !got[int64(tidB)] {
		t.Errorf("script threads %v %v, goroutine threads %d %d", final[2], final[3], tidA, tidB)
	}
	if n := len(strings.Split(final[5].(string), ",")); n != rounds {
		t.Errorf("%d rounds seen", n)
	}
}

// TestYieldAcrossPcall: a Go yield under pcall and xpcall, a Lua yield under
// pcall at the root, and an error returned by a continuation after a yield.
func TestYieldAcrossPcall(t *testing.T) {
	st := newBoundaryState(t, Options{})
	t.Run("pcall(sleep)", func(t *testing.T) {
		wantResults(t, runOK(t, st, `return pcall(sleep, 5)`), true, "slept")
	})
	t.Run("nested pcall", func(t *testing.T) {
		wantResults(t, runOK(t, st, `return pcall(pcall, function() return sleep(1), recv() end)`), true, true, "slept", "")
	})
	t.Run("xpcall traceback", func(t *testing.T) {
		res := runOK(t, st, `
			local ok1, v1 = xpcall(function() return sleep(1) end, debug.traceback)
			local ok2, v2 = xpcall(function() sleep(1) error("boom") end, debug.traceback)
			return ok1, v1, ok2, v2`)
		if res[0] != true || res[1] != "slept" || res[2] != false {
			t.Fatalf("results %#v", res)
		}
		msg := res[3].(string)
		if !strings.HasPrefix(msg, "test:3: boom\nstack traceback:") || !strings.Contains(msg, "in function 'xpcall'") {
			t.Errorf("traceback %q", msg)
		}
	})
	t.Run("continuation error", func(t *testing.T) {
		wantResults(t, runOK(t, st, `return pcall(failafter)`), false, "failed after resume")
	})
	t.Run("coroutine.yield in pcall at root", func(t *testing.T) {
		co := start(t, st, CoOptions{YieldAllowed: true}, `
			local ok, a, b = pcall(function() return coroutine.yield("y1", 2) end)
			return ok, a, b`)
		defer closeCo(st, co)
		st.Lock()
		out := co.Resume()
		if out != Yield || co.Reason() != ReasonLua {
			st.Unlock()
			t.Fatalf("resume: %v reason %v %v", out, co.Reason(), co.Err())
		}
		st.Unlock()
		wantResults(t, results(st, co), "y1", int64(2))
		st.Lock()
		co.PushString("back")
		co.PushInteger(7)
		out = co.Resume()
		st.Unlock()
		if out != OK {
			t.Fatalf("second resume: %v %v", out, co.Err())
		}
		wantResults(t, results(st, co), true, "back", int64(7))
	})
}

// TestYieldAcrossCBoundary: yields where a C function stands in between
// (table.sort comparator, gsub callback, __tostring called by tostring) fail
// with Lua's clean error, catchable by pcall, for Go and Lua yields alike.
// Yields that Lua 5.3 allows (metamethods called from Lua, iterators) work.
func TestYieldAcrossCBoundary(t *testing.T) {
	st := newBoundaryState(t, Options{})
	const boundary = "attempt to yield across a C-call boundary"
	for _, yield := range []string{"sleep(1)", "coroutine.yield()"} {
		for name, code := range map[string]string{
			"sort":       `return pcall(table.sort, {3, 1, 2}, function(a, b) YIELD return a < b end)`,
			"gsub":       `return pcall(string.gsub, "abc", ".", function(c) YIELD return c end)`,
			"__tostring": `return pcall(tostring, setmetatable({}, {__tostring = function() YIELD return "x" end}))`,
		} {
			t.Run(name+"/"+yield, func(t *testing.T) {
				res := runOK(t, st, strings.Replace(code, "YIELD", yield, 1))
				if len(res) != 2 || res[0] != false {
					t.Fatalf("results %#v", res)
				}
				if msg, _ := res[1].(string); !strings.HasSuffix(msg, boundary) {
					t.Errorf("error %q, want ...%q", msg, boundary)
				}
			})
		}
	}
	t.Run("allowed", func(t *testing.T) {
		res := runOK(t, st, `
			local mt = {
				__index = function(t, k) return sleep(1) .. k end,
				__lt = function(a, b) coroutine.yield() return sleep(1) == "slept" end,
			}
			local a, b = setmetatable({}, mt), setmetatable({}, mt)
			local function iter(_, i) if i < 3 then sleep(1) return i + 1 end end
			local n = 0
			for i in iter, nil, 0 do n = n + i end
			return a.x, a < b, n`)
		wantResults(t, res, "sleptx", true, int64(6))
	})
	t.Run("go yield in a script coroutine", func(t *testing.T) {
		res := runOK(t, st, `return coroutine.resume(coroutine.create(function() return sleep(1) end))`)
		if len(res) != 2 || res[0] != false || !strings.Contains(res[1].(string), "attempt to yield from a coroutine created by the script") {
			t.Fatalf("results %#v", res)
		}
	})
	t.Run("usable afterwards", func(t *testing.T) {
		wantResults(t, runOK(t, st, `return pcall(sleep, 1)`), true, "slept")
	})
}

// TestBalanceAfterEverything runs one of each boundary case in a single state
// and checks that the main stack, the handles and the host-side counters are
// back to rest (each test's state is also checked by newBoundaryState).
func TestBalanceAfterEverything(t *testing.T) {
	st, _ := newClassState(t)
	st.SetMaxMem(32 << 20)
	depth0 := pcallDepth(t, st)
	handles0 := st.LiveHandles()
	runOK(t, st, gcBomb+`gcboom = false`) // armed only inside the case below: pending bombs also fail Load
	for _, c := range []struct {
		code string
		o    CoOptions
		want Outcome
	}{
		{`for i = 1, 1000 do pcall(goerr) pcall(gopanic) end`, CoOptions{YieldAllowed: true}, OK},
		{`goerr()`, CoOptions{YieldAllowed: true}, Failed},
		{`return pcall(sleep, 1), xpcall(recv, debug.traceback)`, CoOptions{YieldAllowed: true}, OK},
		{`pcall(table.sort, {1, 2, 3}, function(a, b) sleep(1) end)`, CoOptions{YieldAllowed: true}, OK},
		{`sleep(1)`, CoOptions{}, YieldNotAllowed},
		{`while true do pcall(table.sort, {3, 1, 2}, function() while true do end end) end`, CoOptions{Budget: 20e6, YieldAllowed: true}, Timeout},
		{`while true do end`, CoOptions{Burst: 20e6}, BurstTimeout},
		{`t = {} while true do t[#t + 1] = ("x"):rep(1000) end`, CoOptions{YieldAllowed: true}, NoMemory},
		{`gcboom = true t = nil for i = 1, 20 do pcall(mk, 50) pcall(strtable, 100) end gcboom = false`, CoOptions{YieldAllowed: true}, OK},
		{`for i = 1, 100 do newowned("x") end held = newowned("y")`, CoOptions{YieldAllowed: true}, OK},
		{`local o = newother() stash = o o:nope()`, CoOptions{YieldAllowed: true}, Failed},
		{`held = nil stash = nil collectgarbage()`, CoOptions{YieldAllowed: true}, OK},
	} {
		co := start(t, st, c.o, c.code)
		out, _ := drive(st, co)
		if out != c.want {
			t.Errorf("%s: %v %v, want %v", c.code, out, co.Err(), c.want)
		}
		closeCo(st, co)
	}
	memAfterGC(st)
	if d := pcallDepth(t, st); d != depth0 {
		t.Errorf("nested pcall depth %d -> %d", depth0, d)
	}
	if n := st.LiveHandles(); n != handles0 {
		t.Errorf("live handles %d -> %d", handles0, n)
	}
	checkBalanced(t, st)
}

// TestFunctionPastTrampolineTable calls Go functions on both sides of the
// table of per-id trampolines (ids below nTramp are light C functions, later
// ones C closures holding their id): each must reach its own Go function,
// and errors and panics must be caught the same way.
func TestFunctionPastTrampolineTable(t *testing.T) {
	funcMu.Lock()
	n := len(*funcTab.Load())
	funcMu.Unlock()
	for ; n <= nTramp+1; n++ {
		id := int64(n)
		NewFunction(fmt.Sprintf("f%d", n), func(c *Call) (int, error) {
			switch {
			case c.Bool(1):
				panic("boom")
			case c.Top() > 0:
				return 0, errorString("no")
			}
			c.PushInteger(id)
			return 1, nil
		})
	}
	fns := *funcTab.Load()
	st := newBoundaryState(t, Options{})
	for _, id := range []int{nTramp - 1, nTramp, nTramp + 1} {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			setFuncs(t, st, map[string]*Function{"f": fns[id]})
			res := runOK(t, st, `
				local a = f()
				local ok1, e1 = pcall(f, false)
				local ok2, e2 = pcall(f, true)
				return a, ok1, e1, ok2, e2, f == f`)
			wantResults(t, res, int64(id), false, "no", false, "go panic: boom", true)
		})
	}
}

// TestPanicOutsideTheFunction: a panic while the verdict is made (an error
// whose Error method panics) or in a continuation (the goContinue path) is
// caught like one in the function itself.
func TestPanicOutsideTheFunction(t *testing.T) {
	st := newBoundaryState(t, Options{})
	wantResults(t, runOK(t, st, `return pcall(baderr)`), false, "go panic: Error() panicked")
	wantResults(t, runOK(t, st, `return pcall(panicafter)`), false, "go panic: after resume")
	co, out := run(t, st, CoOptions{YieldAllowed: true}, `panicafter()`)
	if out != Failed || co.Err().Message != "test:1: go panic: after resume" {
		t.Errorf("uncaught: %v %v", out, co.Err())
	}
	closeCo(st, co)
}
