//go:build lua53

package vm

import "testing"

// TestYieldResolved: a function that yields with YieldResolved returns,
// once resumed, the values its resolver pushed, in a plain call and
// under pcall; a resolver that reports false makes the host wait again;
// no continuation runs (it would fail: there is none).
func TestYieldResolved(t *testing.T) {
	st := newBoundaryState(t, Options{})
	waits, resolves := 0, 0
	setFuncs(t, st, map[string]*Function{
		// readline() waits twice, then returns a line and the wait count
		"readline": NewFunction("readline", func(c *Call) (int, error) {
			need := waits + 2
			return c.YieldResolved(func() { waits++ }, func(p *Pusher) bool {
				resolves++
				if waits < need {
					return false
				}
				p.PushString("line\n")
				p.PushInteger(int64(waits))
				return true
			})
		}),
		// nap() waits once and returns nothing
		"nap": NewFunction("nap", func(c *Call) (int, error) {
			return c.YieldResolved(func() { waits++ }, func(*Pusher) bool { return true })
		}),
	})
	res := runOK(t, st, `
		local a, b = readline()
		local ok, c, d = pcall(readline)
		local n = select("#", nap())
		return a, b, ok, c, d, n`)
	wantResults(t, res, "line\n", int64(2), true, "line\n", int64(4), int64(0))
	if waits != 5 || resolves != 4 {
		t.Errorf("%d waits and %d resolutions of readline, want 5 and 4", waits, resolves)
	}
}

// TestYieldResolvedNotAllowed: where the invocation may not yield (a
// fetch), a resolved yield ends it as any yield does.
func TestYieldResolvedNotAllowed(t *testing.T) {
	st := newBoundaryState(t, Options{})
	setFuncs(t, st, map[string]*Function{
		"nap": NewFunction("nap", func(c *Call) (int, error) {
			return c.YieldResolved(func() {}, func(*Pusher) bool { return true })
		}),
	})
	co, out := run(t, st, CoOptions{}, `nap() return 1`)
	defer closeCo(st, co)
	if out != YieldNotAllowed {
		t.Fatalf("outcome %v (%v), want YieldNotAllowed", out, co.Err())
	}
}
