//go:build lua53

package vm

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Go functions used by the boundary tests, on top of vm_test.go's testFuncs.
var boundaryFuncs = map[string]*Function{
	// tid() returns the OS thread id running the call.
	"tid": NewFunction("tid", func(c *Call) (int, error) {
		c.PushInteger(int64(syscall.Gettid()))
		return 1, nil
	}),
	// strtable(n, size) returns a table of n distinct strings of about size bytes:
	// n pushes by C after Go returns, each of which may run a GC step.
	"strtable": NewFunction("strtable", func(c *Call) (int, error) {
		n, err := c.Integer(1)
		if err != nil {
			return 0, err
		}
		size, err := c.OptInteger(2, 16)
		if err != nil {
			return 0, err
		}
		pad := strings.Repeat("s", int(size))
		c.NewTable(int(n), 0)
		for i := int64(1); i <= n; i++ {
			c.PushString(fmt.Sprint(pad, i))
			c.SetIndex(i)
		}
		return 1, nil
	}),
	// panicafter() yields, and its continuation panics.
	"panicafter": NewFunction("panicafter", func(c *Call) (int, error) {
		return c.Yield(nil, func(c *Call) (int, error) { panic("after resume") })
	}),
	// baderr() returns an error whose Error method panics.
	"baderr": NewFunction("baderr", func(c *Call) (int, error) { return 0, panickyError{} }),
	// failafter() yields, and its continuation fails.
	"failafter": NewFunction("failafter", func(c *Call) (int, error) {
		return c.Yield(nil, func(c *Call) (int, error) {
			return 0, errorString("failed after resume")
		})
	}),
}

// newBoundaryState is newTestState plus boundaryFuncs, and checks at the end
// of the test that the state is balanced.
func newBoundaryState(t testing.TB, opts Options) *State {
	t.Helper()
	st := newTestState(t, opts)
	setFuncs(t, st, boundaryFuncs)
	t.Cleanup(func() { checkBalanced(t, st) }) // runs before newTestState's Close
	return st
}

func setFuncs(t testing.TB, st *State, funcs map[string]*Function) {
	t.Helper()
	st.Lock()
	defer st.Unlock()
	for name, f := range funcs {
		if err := st.SetGlobal(name, func(p *Pusher) { p.PushFunction(f) }); err != nil {
			t.Fatal(err)
		}
	}
}

// newBareState returns a state the caller must Close: tests that may leave a
// goroutine stuck in Lua (holding the lock) cannot let t.Cleanup close it.
func newBareState(t testing.TB, opts Options) *State {
	t.Helper()
	st, err := NewState(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, funcs := range []map[string]*Function{testFuncs, boundaryFuncs} {
		setFuncs(t, st, funcs)
	}
	return st
}

// checkBalanced fails unless the host side of st is at rest: main stack
// empty, no Go call in progress, no pending ops, memory cap enforced again,
// no invocation marked running.
func checkBalanced(t testing.TB, st *State) {
	t.Helper()
	st.Lock()
	defer st.Unlock()
	if st.vm == nil {
		return
	}
	if top := st.StackTop(); top != 0 {
		t.Errorf("main stack top = %d, want 0", top)
	}
	if st.depth != 0 {
		t.Errorf("Go call depth = %d, want 0", st.depth)
	}
	if st.vm.opslen != 0 {
		t.Errorf("%d bytes of ops left in the buffer", st.vm.opslen)
	}
	if st.vm.lenient != 0 {
		t.Errorf("lenient = %d, want 0 (memory cap not enforced)", st.vm.lenient)
	}
	if st.vm.running != nil {
		t.Errorf("vm.running still set")
	}
}

// closeCo closes co under the lock.
func closeCo(st *State, co *Co) {
	st.Lock()
	co.Close()
	st.Unlock()
}

// results returns the values left by an invocation, under the lock.
func results(st *State, co *Co) []any {
	st.Lock()
	defer st.Unlock()
	var res []any
	for i := 1; i <= co.NResults(); i++ {
		res = append(res, co.ResultValue(i))
	}
	return res
}

// wantResults compares results with want (Go values as ResultValue gives them).
func wantResults(t testing.TB, got []any, want ...any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d results %#v, want %#v", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d = %#v, want %#v", i+1, got[i], want[i])
		}
	}
}

// refFunction runs code, which must return a function, and anchors it.
func refFunction(t testing.TB, st *State, code string) Ref {
	t.Helper()
	co, out := run(t, st, CoOptions{YieldAllowed: true}, code)
	st.Lock()
	defer st.Unlock()
	if out != OK || co.ResultType(1) != TypeFunction {
		t.Fatalf("refFunction: %v %v", out, co.Err())
	}
	r := co.RefResult(1)
	co.Close()
	if r == NoRef {
		t.Fatal("refFunction: no ref")
	}
	return r
}

// driveStats counts what a driver saw while resuming an invocation.
type driveStats struct {
	forced, lua, goYields int
}

// drive resumes co until it stops yielding, as run does, counting yields.
// The lock must not be held.
func drive(st *State, co *Co) (Outcome, driveStats) {
	var s driveStats
	st.Lock()
	defer st.Unlock()
	for {
		out := co.Resume()
		if out != Yield {
			return out, s
		}
		switch co.Reason() {
		case ReasonForced:
			s.forced++
		case ReasonGo:
			s.goYields++
		default:
			s.lua++
		}
		w := co.TakeWait()
		for w != nil {
			st.Unlock()
			w()
			st.Lock()
			if co.Resolve() {
				break
			}
		}
		co.Resolve()
	}
}

// start makes an invocation of code, pushing args (strings and integers).
func start(t testing.TB, st *State, o CoOptions, code string, args ...any) *Co {
	t.Helper()
	st.Lock()
	defer st.Unlock()
	co, err := st.NewCo(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := co.Load([]byte(code), "=test"); err != nil {
		t.Fatalf("load: %v", err)
	}
	for _, a := range args {
		switch v := a.(type) {
		case string:
			co.PushString(v)
		case int:
			co.PushInteger(int64(v))
		default:
			t.Fatalf("start: unsupported argument %T", a)
		}
	}
	return co
}

// pcallDepth measures how deep pcall can nest in a fresh invocation: a state
// that leaked C levels (nCcalls) or CallInfos after errors would show less.
func pcallDepth(t testing.TB, st *State) int64 {
	t.Helper()
	res := runOK(t, st, `
		local function d(n)
			local ok, r = pcall(d, n + 1)
			if ok then return r end
			if not tostring(r):find("stack overflow", 1, true) then error("unexpected: " .. tostring(r)) end
			return n
		end
		return d(1)`)
	n, ok := res[0].(int64)
	if !ok || n < 100 {
		t.Fatalf("pcall depth probe = %#v", res)
	}
	return n
}

// memAfterGC returns the bytes Lua holds after two full collections.
func memAfterGC(st *State) int64 {
	st.Lock()
	defer st.Unlock()
	st.GC()
	st.GC()
	return st.MemUsed()
}

// withDeadline runs f in a goroutine and reports whether it ended within d.
// A stuck f keeps its goroutine (and any lock it holds) forever.
func withDeadline(d time.Duration, f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// panickyError is an error whose Error method panics: the panic happens
// after the Go function returned, while its verdict is being made.
type panickyError struct{}

func (panickyError) Error() string { panic("Error() panicked") }
