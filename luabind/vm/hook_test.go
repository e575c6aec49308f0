//go:build lua53

package vm

import (
	"strings"
	"testing"
	"time"
)

// TestHookNestedCoroutines: with a forced yield every 100 instructions, a
// script driving its own coroutines (wrap, resume, nested two deep) receives
// exactly the values its coroutines yield, never a forced yield, while the
// host sees many forced yields of the root coroutine.
func TestHookNestedCoroutines(t *testing.T) {
	st := newBoundaryState(t, Options{ForcedYield: 100})
	co := start(t, st, CoOptions{YieldAllowed: true}, `
		local function work(n) local x = 0 for j = 1, n do x = x + j end return x end
		local seen = 0
		for round = 1, 20 do
			if work(2000) ~= 2001000 then error("root work") end -- forced yields of the root
			local gen = coroutine.wrap(function()
				for i = 1, 50 do coroutine.yield(i, work(1000)) end
				return "done"
			end)
			for i = 1, 50 do
				local a, b = gen()
				if a ~= i or b ~= 500500 then error("wrap: got " .. tostring(a) .. ", " .. tostring(b) .. " at " .. i) end
				seen = seen + 1
			end
			if gen() ~= "done" then error("wrap: no done") end

			-- two levels: outer yields what inner yields, plus its own count
			local outer = coroutine.create(function()
				local inner = coroutine.create(function()
					for i = 1, 20 do coroutine.yield("in", i, work(200)) end
					return "inner done"
				end)
				local k = 0
				while true do
					local ok, tag, i, x = coroutine.resume(inner)
					if not ok then error(tag) end
					if coroutine.status(inner) == "dead" then coroutine.yield("end", tag) break end
					k = k + 1
					if tag ~= "in" or i ~= k or x ~= 20100 then error("inner: " .. tostring(tag) .. " " .. tostring(i)) end
					coroutine.yield("out", k, work(300))
				end
				return "outer done"
			end)
			for k = 1, 20 do
				local ok, tag, i, x = coroutine.resume(outer)
				if not ok or tag ~= "out" or i ~= k or x ~= 45150 then
					error("outer: " .. tostring(ok) .. " " .. tostring(tag) .. " " .. tostring(i) .. " " .. tostring(x))
				end
				seen = seen + 1
			end
			local ok, tag, v = coroutine.resume(outer)
			if not ok or tag ~= "end" or v ~= "inner done" then error("outer end: " .. tostring(tag) .. " " .. tostring(v)) end
			ok, v = coroutine.resume(outer)
			if not ok or v ~= "outer done" or coroutine.status(outer) ~= "dead" then error("outer done: " .. tostring(v)) end
		end
		return seen`)
	defer closeCo(st, co)
	out, stats := drive(st, co)
	if out != OK {
		t.Fatalf("outcome %v: %v\n%s", out, co.Err(), tracebackOf(co))
	}
	wantResults(t, results(st, co), int64(20*70))
	t.Logf("host saw %d forced yields, %d Lua yields, %d Go yields", stats.forced, stats.lua, stats.goYields)
	if stats.forced < 100 {
		t.Errorf("host saw %d forced yields, want many", stats.forced)
	}
	if stats.lua != 0 || stats.goYields != 0 {
		t.Errorf("host saw %d Lua and %d Go yields of the script's own coroutines", stats.lua, stats.goYields)
	}
}

// timeoutCase is a script that must be killed by the budget (or burst).
type timeoutCase struct {
	name string
	opts CoOptions
	code string
	// want lists the acceptable outcomes; Failed must carry "execution timeout".
	want []Outcome
}

// TestTimeout runs endless scripts under a 50 ms budget (or burst) and
// checks they end, with the expected outcome, in reasonable time. Each runs
// in its own state, closed only if the script ended: a stuck script keeps
// its goroutine and lock.
func TestTimeout(t *testing.T) {
	budget := CoOptions{Budget: 50 * time.Millisecond, YieldAllowed: true}
	cases := []timeoutCase{
		{"loop", budget, `while true do end`, []Outcome{Timeout}},
		{"loop in pcall in loop", budget, `while true do pcall(function() while true do end end) end`, []Outcome{Timeout}},
		{"loop in xpcall", budget, `xpcall(function() while true do end end, debug.traceback) return "escaped"`, []Outcome{Timeout}},
		{"go calls in loop", budget, `while true do noop() pcall(goerr) end`, []Outcome{Timeout}},
		// In a script's coroutine the hook cannot yield the root: it raises,
		// which ends the inner coroutine; the next root hook kills.
		{"script coroutine, wrap", budget, `coroutine.wrap(function() while true do end end)()`, []Outcome{Failed, Timeout}},
		{"script coroutine, resume in loop", budget,
			`while true do coroutine.resume(coroutine.create(function() while true do end end)) end`, []Outcome{Timeout}},
		// Not yieldable: the hook raises "execution timeout".
		{"sort comparator", budget, `table.sort({3, 1, 2, 5, 4}, function(a, b) while true do end end)`, []Outcome{Failed}},
		{"sort comparator, caught, then loop", budget,
			`pcall(table.sort, {3, 1, 2, 5, 4}, function(a, b) while true do end end) while true do end`, []Outcome{Timeout}},
		// The escapes: every later hook would land inside the same
		// non-yieldable call again; after the first timeout the hook runs
		// on every instruction, so the root's next one kills.
		{"sort comparator, caught in loop", budget,
			`while true do pcall(table.sort, {3, 1, 2, 5, 4}, function(a, b) while true do end end) end`, []Outcome{Timeout}},
		{"gsub callback, caught in loop", budget,
			`while true do pcall(string.gsub, "abc", ".", function() while true do end end) end`, []Outcome{Timeout}},
		{"pcall loop inside comparator", budget,
			`table.sort({3, 1, 2, 5, 4}, function(a, b) while true do pcall(function() while true do end end) end end)`,
			[]Outcome{Failed, Timeout}},
		// Burst: one resume running too long. A coroutine that may not yield
		// (fetch, converter) runs in one resume.
		{"burst, yield not allowed", CoOptions{Burst: 50 * time.Millisecond}, `while true do end`, []Outcome{BurstTimeout}},
		{"budget, yield not allowed", CoOptions{Budget: 50 * time.Millisecond}, `while true do end`, []Outcome{Timeout}},
		{"burst, sort comparator, caught in loop", CoOptions{Burst: 50 * time.Millisecond, YieldAllowed: true},
			`while true do pcall(table.sort, {3, 1, 2, 5, 4}, function(a, b) while true do end end) end`, []Outcome{BurstTimeout}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { testTimeout(t, tc) })
	}
}

func testTimeout(t *testing.T, tc timeoutCase) {
	st := newBareState(t, Options{ForcedYield: 1000})
	co := start(t, st, tc.opts, tc.code)
	var out Outcome
	began := time.Now()
	if !withDeadline(5*time.Second, func() { out, _ = drive(st, co) }) {
		t.Fatalf("still running after 5 s: not killed (state leaked)")
	}
	took := time.Since(began)
	defer st.Close()
	defer checkBalanced(t, st)
	msg := ""
	if co.Err() != nil {
		msg = co.Err().Message
	}
	closeCo(st, co)
	t.Logf("%v %q after %v", out, msg, took.Round(time.Millisecond))
	ok := false
	for _, w := range tc.want {
		ok = ok || out == w
	}
	if !ok {
		t.Errorf("outcome %v (%q), want one of %v", out, msg, tc.want)
	}
	if out == Failed && !strings.Contains(msg, "execution timeout") {
		t.Errorf("failed with %q, want execution timeout", msg)
	}
	if took < 50*time.Millisecond {
		t.Errorf("killed after %v, before its 50 ms", took)
	}
	if limit := 50*time.Millisecond + time.Second; took > limit {
		t.Errorf("killed after %v, want < %v", took, limit)
	}
	// The state serves the next invocation (possibly on the pooled
	// coroutine), with the configured period again: 1e5 iterations are
	// ~3e5 instructions, ~300 forced yields at a period of 1000.
	co2 := start(t, st, CoOptions{YieldAllowed: true}, `local x = 0 for i = 1, 1e5 do x = x + i end return x`)
	out2, stats := drive(st, co2)
	if out2 != OK || stats.forced > 1000 {
		t.Errorf("next invocation: %v, %d forced yields", out2, stats.forced)
	}
	closeCo(st, co2)
}

// TestForcedYieldPeriod: the host sees one forced yield per ForcedYield VM
// instructions (a numeric for loop runs 2 per iteration). Re-setting the hook
// on every resume made Lua skip every other hook (a period of 2N).
func TestForcedYieldPeriod(t *testing.T) {
	const iters = 200000
	code := `local x = 0 for i = 1, ... do x = x + i end return x`
	for _, period := range []int{100, 1000, 10000} {
		st := newBoundaryState(t, Options{ForcedYield: period})
		co := start(t, st, CoOptions{YieldAllowed: true}, code, iters)
		out, stats := drive(st, co)
		closeCo(st, co)
		want := 2 * iters / period
		if out != OK || stats.forced < want*95/100 || stats.forced > want*105/100 {
			t.Errorf("period %d: %v, %d forced yields, want ~%d", period, out, stats.forced, want)
		}
		// SetForcedYield applies from the next resume; -1 removes the hook.
		for _, p := range []int{5000, -1} {
			st.Lock()
			st.SetForcedYield(p)
			st.Unlock()
			co = start(t, st, CoOptions{YieldAllowed: true}, code, iters)
			out, stats = drive(st, co)
			closeCo(st, co)
			want := 0
			if p > 0 {
				want = 2 * iters / p
			}
			if out != OK || stats.forced < want*95/100 || stats.forced > want*105/100 {
				t.Errorf("period %d then %d: %v, %d forced yields, want ~%d", period, p, out, stats.forced, want)
			}
		}
	}
}

// TestYieldNotAllowed: in a coroutine that may not yield (fetch, converter),
// a Go yield or coroutine.yield ends the invocation with YieldNotAllowed, and
// the hook never forces a yield.
func TestYieldNotAllowed(t *testing.T) {
	st := newBoundaryState(t, Options{ForcedYield: 100})
	for _, code := range []string{`sleep(1) return "after"`, `coroutine.yield() return "after"`, `return pcall(sleep, 1)`} {
		co := start(t, st, CoOptions{}, code)
		st.Lock()
		out := co.Resume()
		e := co.Err()
		co.Close()
		st.Unlock()
		if out != YieldNotAllowed || e == nil || e.Message != "yield not allowed" {
			t.Errorf("%s: %v %v, want YieldNotAllowed", code, out, e)
		}
	}
	// 2e6 instructions at a period of 100: 20,000 hooks, no yield.
	co := start(t, st, CoOptions{}, `local x = 0 for i = 1, 1e6 do x = x + i end return x`)
	st.Lock()
	out := co.Resume()
	st.Unlock()
	if out != OK {
		t.Fatalf("loop: %v %v, want OK in one resume", out, co.Err())
	}
	wantResults(t, results(st, co), int64(500000500000))
	closeCo(st, co)
	wantResults(t, runOK(t, st, `return pcall(sleep, 1)`), true, "slept")
}

// TestForcedYieldFreshCount: each invocation starts a fresh instruction
// count, even on a pooled coroutine: short invocations are never
// interrupted by the count left over by earlier ones.
func TestForcedYieldFreshCount(t *testing.T) {
	st := newBoundaryState(t, Options{ForcedYield: 100})
	fn := refFunction(t, st, `return function(a) local x = a for i = 1, 10 do x = x + i end return x end`)
	st.Lock()
	defer st.Unlock()
	for i := 0; i < 2000; i++ {
		co, err := st.NewCo(CoOptions{YieldAllowed: true})
		if err != nil {
			t.Fatal(err)
		}
		co.PushRef(fn)
		co.PushInteger(int64(i))
		out, why := co.Resume(), co.Reason()
		co.Close()
		if out != OK {
			t.Fatalf("invocation %d: %v (reason %v), want OK in one resume", i, out, why)
		}
	}
}
