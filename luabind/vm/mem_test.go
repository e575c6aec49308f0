//go:build lua53

package vm

import (
	"strings"
	"testing"
)

// gcBomb defines mk(n), which leaves n tables whose __gc raises while gcboom
// is true, and the counter gcruns. Lua aborts a GC step (or a full
// collection) at the first finalizer that raises, so pending finalizers only
// drain, one per step, until gcboom is cleared.
const gcBomb = `
	gcruns, gcboom = 0, true
	local mt = {__gc = function() gcruns = gcruns + 1 if gcboom then error("gc boom") end end}
	function mk(n) for i = 1, n do setmetatable({}, mt) end end
`

// TestGCErrorDuringPush: finalizers that raise, run by GC steps while C
// pushes a Go function's results, while the host pushes arguments (to a
// fresh and to a suspended coroutine), and by State.GC. The error reaches the
// script as a catchable error (or the host as Failed); nothing crashes, and
// the state keeps working.
func TestGCErrorDuringPush(t *testing.T) {
	st := newBoundaryState(t, Options{})
	runOK(t, st, gcBomb)
	mem0 := memAfterGC(st)

	t.Run("go results", func(t *testing.T) {
		res := runOK(t, st, `
			local caught, other = 0, 0
			for round = 1, 300 do
				pcall(mk, 100)
				local ok, e = pcall(strtable, 200, 32)
				if not ok then
					if tostring(e):find("error in __gc metamethod (", 1, true) then caught = caught + 1 else other = other + 1 end
				elseif #e ~= 200 then
					error("short table")
				end
			end
			local ok = pcall(collectgarbage)
			return gcruns, caught, other`)
		t.Logf("finalizers run %v, errors caught from strtable's pushes %v, other %v", res[0], res[1], res[2])
		if res[1].(int64) == 0 || res[0].(int64) < res[1].(int64) || res[2] != int64(0) {
			t.Errorf("results %v: want finalizers run and __gc errors raised by strtable", res)
		}
	})

	t.Run("host pushes", func(t *testing.T) {
		failed := 0
		for round := 0; round < 20; round++ {
			runOK(t, st, `pcall(mk, 2000)`)
			// to a fresh coroutine
			co := start(t, st, CoOptions{YieldAllowed: true}, `return select("#", ...)`)
			st.Lock()
			for i := 0; i < 2000; i++ {
				co.PushString(strings.Repeat("a", 40) + string(rune('a'+i%26)))
			}
			out := co.Resume()
			failed += checkGCOutcome(t, co, out)
			co.Close()
			st.Unlock()

			// to a coroutine suspended in a Go yield
			co = start(t, st, CoOptions{YieldAllowed: true}, `pcall(mk, 2000) local s = recv() return #s`)
			st.Lock()
			if out := co.Resume(); out != Yield {
				st.Unlock()
				t.Fatalf("resume: %v %v", out, co.Err())
			}
			for i := 0; i < 2000; i++ {
				co.PushString(strings.Repeat("b", 40) + string(rune('a'+i%26)))
			}
			out = co.Resume()
			failed += checkGCOutcome(t, co, out)
			co.Close()
			st.Unlock()
		}
		t.Logf("%d of 40 host pushes failed with a __gc error", failed)
	})

	t.Run("State.GC", func(t *testing.T) {
		runOK(t, st, `pcall(mk, 5000)`)
		before := runOK(t, st, `return gcruns`)[0].(int64)
		st.Lock()
		for i := 0; i < 100; i++ {
			st.GC() // each stops at its first erroring finalizer
		}
		st.Unlock()
		res := runOK(t, st, `local ok, e = pcall(collectgarbage) return ok, e, gcruns, add(1, 2)`)
		if res[0] != false || !strings.Contains(res[1].(string), "error in __gc metamethod") || res[2].(int64) < before+100 {
			t.Errorf("after 100 State.GC: %v (finalizers run before: %d)", res, before)
		}
	})

	// Defused, the pending finalizers all run: memory is back near its start.
	runOK(t, st, `gcboom = false`)
	if mem := memAfterGC(st); mem > mem0+64<<10 {
		t.Errorf("Lua memory %d -> %d", mem0, mem)
	}
	wantResults(t, runOK(t, st, `return pcall(sleep, 1)`), true, "slept")
}

// checkGCOutcome accepts OK or a __gc error; it returns 1 for the latter.
func checkGCOutcome(t *testing.T, co *Co, out Outcome) int {
	t.Helper()
	switch {
	case out == OK:
		return 0
	case out == Failed && strings.Contains(co.Err().Message, "error in __gc metamethod"):
		return 1
	}
	t.Errorf("outcome %v %v", out, co.Err())
	return 0
}

// TestMemoryCap: a script filling memory under a 16 MiB cap ends with
// NoMemory (or "not enough memory" under pcall), Go results past the cap fail
// the same way, and once the data is released the state serves new
// invocations, including the host's own chunk compiled at the cap.
func TestMemoryCap(t *testing.T) {
	const limit = 16 << 20
	st := newBoundaryState(t, Options{MaxMem: limit})
	mem0 := memAfterGC(st)
	fill := `t = {} for i = 1, 1e7 do t[#t + 1] = string.rep("x", 1000) .. i end`

	co, out := run(t, st, CoOptions{YieldAllowed: true}, fill)
	if out != NoMemory {
		t.Fatalf("outcome %v %v, want NoMemory", out, co.Err())
	}
	st.Lock()
	e := co.Err()
	co.Close()
	used, peak, refused := st.MemUsed(), st.MemPeak(), st.vm.refused
	st.Unlock()
	t.Logf("at the cap: used %d, peak %d, %d allocations refused", used, peak, refused)
	if e.Message != "not enough memory" || peak > limit || used < limit*9/10 || refused == 0 {
		t.Errorf("%q: used %d peak %d refused %d", e.Message, used, peak, refused)
	}
	// The host's chunk compiles at the cap (loading is lenient).
	res := runOK(t, st, `local n = #t t = nil return n`)
	n := res[0].(int64)
	if n < 14000 || n > 16400 {
		t.Errorf("%d strings stored under 16 MiB", n)
	}
	if mem := memAfterGC(st); mem > mem0+64<<10 {
		t.Errorf("Lua memory %d -> %d after release", mem0, mem)
	}

	res = runOK(t, st, `local t = {} local ok, e = pcall(function() `+strings.TrimPrefix(fill, "t = {} ")+` end)
		local n = #t t = nil collectgarbage() return ok, e, n > 14000`)
	wantResults(t, res, false, "not enough memory", true)

	// Go results are pushed by C after the Go function returns, under the cap.
	res = runOK(t, st, `local ok, e = pcall(strtable, 20000, 1000) return ok, e`)
	wantResults(t, res, false, "not enough memory")

	if mem := memAfterGC(st); mem > mem0+64<<10 {
		t.Errorf("Lua memory %d -> %d at the end", mem0, mem)
	}
	wantResults(t, runOK(t, st, `return add(1, 2), pcall(sleep, 1)`), int64(3), true, "slept")
}

var opsFuncs = map[string]*Function{
	// opslen() returns the bytes in the op buffer: 0 in a call from the
	// script's own code, where no other Go call is in progress.
	"opslen": NewFunction("opslen", func(c *Call) (int, error) {
		c.PushInteger(int64(c.st.vm.opslen))
		return 1, nil
	}),
	// tsmid(v) pushes "first", converts v with tostring (which may call Go
	// through __tostring), then pushes "second:" .. that.
	"tsmid": NewFunction("tsmid", func(c *Call) (int, error) {
		c.PushString("first")
		s := c.ToString(1)
		c.PushString("second:" + s)
		return 2, nil
	}),
}

// TestResultOpsAfterErrors: a Go function's results that fail to push
// (memory cap, __gc error) leave nothing behind in the op buffer. They used
// to stay there for good (the C buffer, not counted by MaxMem, grew by each
// failure: 100 MB per 20 failures of strtable(5000, 1000) under a 4 MiB cap),
// and could be run again as part of an enclosing Go call's results.
func TestResultOpsAfterErrors(t *testing.T) {
	st := newBoundaryState(t, Options{MaxMem: 4 << 20})
	setFuncs(t, st, opsFuncs)
	res := runOK(t, st, `
		local failed = 0
		for i = 1, 50 do
			local ok, e = pcall(strtable, 5000, 1000)
			if not ok and e == "not enough memory" then failed = failed + 1 end
			local n = opslen()
			if n ~= 0 then return failed, n end
		end
		return failed, opslen()`)
	wantResults(t, res, int64(50), int64(0))
	st.Lock()
	if st.vm.opscap > 16<<20 {
		t.Errorf("op buffer grew to %d bytes", st.vm.opscap)
	}
	st.Unlock()

	// The nested call's failed results must not become tsmid's. ToString
	// lifts the cap (host helper), so the nested failure is a __gc error.
	runOK(t, st, gcBomb+`gcboom = false`)
	res = runOK(t, st, `
		local v = setmetatable({}, {__tostring = function()
			gcboom = true -- armed only here: tsmid's own pushes must not fail
			for try = 1, 1000 do
				pcall(mk, 200)
				if not pcall(strtable, 2000, 100) then gcboom = false return "nested failed" end
			end
			gcboom = false
			return "nested never failed"
		end})
		return select("#", tsmid(v)), tsmid(v)`)
	wantResults(t, res, int64(2), "first", "second:nested failed")
}

// TestSmallBlockCache checks the allocator's cache of small blocks: the
// memory Lua counts comes back to where it was once the garbage is
// collected, the cache stays within its bound, and blocks that change
// class when resized (a table growing, a string buffer) keep their data.
func TestSmallBlockCache(t *testing.T) {
	st := newTestState(t, Options{})
	const code = `
		local keep = {}
		for i = 1, 20000 do
			local t = {i, tostring(i), x = i}
			if i % 100 == 0 then keep[#keep + 1] = t end
		end
		local grow = {}
		for i = 1, 300 do grow[i] = i * 3 end
		for i = 1, 300 do assert(grow[i] == i * 3) end
		for _, t in ipairs(keep) do assert(t[2] == tostring(t[1]) and t.x == t[1]) end
		return #keep`
	var used [2]int64
	for i := range used {
		co, out := run(t, st, CoOptions{}, code)
		if out != OK {
			t.Fatalf("run: %v %v", out, co.Err())
		}
		wantResults(t, results(st, co), int64(200))
		closeCo(st, co)
		st.Lock()
		st.GC()
		used[i] = st.MemUsed()
		st.Unlock()
	}
	// the first run's leftovers (a pooled coroutine's stack) stay
	if used[1] > used[0]+1024 {
		t.Errorf("Lua counts %d bytes after the second run, %d after the first", used[1], used[0])
	}
	st.Lock()
	defer st.Unlock()
	if c := int64(st.vm.cached); c == 0 || c > smallCacheMax {
		t.Errorf("%d bytes cached, want some and at most %d", c, smallCacheMax)
	}
}
