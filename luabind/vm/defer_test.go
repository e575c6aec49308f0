//go:build lua53

package vm

import (
	"strings"
	"testing"
)

// deferSlow counts the calls of DeferObj.put that went through Go.
var deferSlow int

// deferObjClass has a deferrable method, put(k, v), and get(k).
var deferObjClass = &Class[*testObj]{
	Name: "DeferObj",
	Methods: []Method[*testObj]{
		{Name: "put", Fn: func(o *testObj, c *Call) (int, error) {
			n, err := objSetVar(o, c)
			if err == nil {
				deferSlow++
			}
			return n, err
		}, Defer: &Deferral[*testObj]{Args: 2, Guard: 2, Apply: func(o *testObj, a []string) { o.vars[a[0]] = a[1] }}},
		{Name: "get", Fn: objGetVar},
		// send(data) appends data to vars.out and returns its length
		{Name: "send", Fn: func(o *testObj, c *Call) (int, error) {
			b, err := c.Bytes(2)
			if err != nil {
				return 0, err
			}
			deferSlow++
			o.vars["out"] += string(b)
			c.PushInteger(int64(len(b)))
			return 1, nil
		}, Defer: &Deferral[*testObj]{Args: 1, Guard: 4, ReturnsLen: true, Transient: true,
			Apply: func(o *testObj, a []string) { o.vars["out"] += strings.Clone(a[0]) }}},
	},
}

// runDeferred runs code with a new DeferObj (and an OtherObj) as its
// arguments, the deferred calls on the first allowed by mask.
func runDeferred(t *testing.T, st *State, mask uint32, code string) (*testObj, Outcome, []any, string) {
	t.Helper()
	o := &testObj{name: "d", vars: map[string]string{}}
	co := start(t, st, CoOptions{YieldAllowed: true}, code)
	st.Lock()
	co.AllowDeferred(deferObjClass.Push(&co.Pusher, o), mask)
	otherObjClass.Push(&co.Pusher, &testObj{name: "other", vars: map[string]string{}})
	st.Unlock()
	out, _ := drive(st, co)
	var res []any
	var msg string
	if out == OK {
		res = results(st, co)
	} else {
		msg = co.Err().Error()
	}
	closeCo(st, co)
	return o, out, res, msg
}

// TestDeferredCalls: a deferrable method's calls are queued by C when the
// invocation allows them, applied in order before any Go code runs, and
// go through Go, with its errors, in every other case.
func TestDeferredCalls(t *testing.T) {
	st, _ := newClassState(t)
	before, slow := st.DeferredApplied(), deferSlow

	// queued, and applied before the next Go call sees the object
	o, out, res, _ := runDeferred(t, st, 2, `local o = ... o:put("a", "1") local x = o:get("a") o:put("b", "2") o:put("a", "3") return x`)
	if out != OK || res[0] != "1" || o.vars["a"] != "3" || o.vars["b"] != "2" {
		t.Fatalf("outcome %v, results %v, vars %v", out, res, o.vars)
	}
	if got := st.DeferredApplied() - before; got != 3 || deferSlow != slow {
		t.Fatalf("applied %d queued calls and %d through Go, want 3 and 0", got, deferSlow-slow)
	}

	// an error after the calls: they still happened
	o, out, _, msg := runDeferred(t, st, 2, `local o = ... o:put("z", "9") error("late")`)
	if out != Failed || !strings.Contains(msg, "late") || o.vars["z"] != "9" {
		t.Fatalf("outcome %v (%s), vars %v", out, msg, o.vars)
	}

	// not allowed (mask), not strings, not the allowed object, not the
	// root thread: through Go, with Go's conversions and errors
	before, slow = st.DeferredApplied(), deferSlow
	o, out, _, _ = runDeferred(t, st, 1, `local o = ... o:put("m", "x")`)
	if out != OK || o.vars["m"] != "x" {
		t.Fatalf("mask without the guard bit: %v %v", out, o.vars)
	}
	o, out, _, _ = runDeferred(t, st, 2, `local o = ... o:put("n", 5) coroutine.wrap(function() o:put("c", "3") end)()`)
	if out != OK || o.vars["n"] != "5" || o.vars["c"] != "3" {
		t.Fatalf("number argument, nested coroutine: %v %v", out, o.vars)
	}
	if got := st.DeferredApplied() - before; got != 0 || deferSlow-slow != 3 {
		t.Fatalf("applied %d queued calls and %d through Go, want 0 and 3", got, deferSlow-slow)
	}
	_, out, res, _ = runDeferred(t, st, 2, `
		local o, other = ...
		local function try(f) local ok, e = pcall(f) return e end
		return try(function() o:put("k") end), try(function() o:put("k", {}) end),
			try(function() o.put(other, "k", "v") end)`)
	want := []string{
		"bad argument #2 to 'put' (string expected, got no value)", // a method call: Lua counts from self
		"bad argument #2 to 'put' (string expected, got table)",
		"bad argument #1 to 'put' ((null))",
	}
	if out != OK || len(res) != len(want) {
		t.Fatalf("outcome %v, results %v", out, res)
	}
	for i, w := range want {
		if got, _ := res[i].(string); !strings.HasPrefix(got, "test:") || !strings.HasSuffix(got, ": "+w) {
			t.Errorf("error %d = %q, want test:N: %s", i+1, got, w)
		}
	}
	if deferSlow-slow != 3 {
		t.Errorf("the refused calls changed the object")
	}
	// an extra argument: Go's call, which ignores it
	o, out, _, _ = runDeferred(t, st, 2, `local o = ... o:put("e", "1", "extra")`)
	if out != OK || o.vars["e"] != "1" || deferSlow-slow != 4 {
		t.Errorf("extra argument: %v %v, %d calls through Go", out, o.vars, deferSlow-slow)
	}
}

// TestDeferredSend: a queued call that returns its argument's length (a
// send) returns it to Lua as the call through Go does; its data, given to
// Apply without a copy, arrives in order.
func TestDeferredSend(t *testing.T) {
	st, _ := newClassState(t)
	code := `local o = ... local a = o:send("hello ") local b = o:send("") local c = o:send(string.rep("x", 100)) return a, b, c, o:get("out")`
	for _, mask := range []uint32{4, 0} {
		before, slow := st.DeferredApplied(), deferSlow
		o, out, res, msg := runDeferred(t, st, mask, code)
		want := "hello " + strings.Repeat("x", 100)
		if out != OK || len(res) != 4 || res[0] != int64(6) || res[1] != int64(0) || res[2] != int64(100) || res[3] != want || o.vars["out"] != want {
			t.Fatalf("mask %d: outcome %v (%s), results %v", mask, out, msg, res)
		}
		queued, viaGo := st.DeferredApplied()-before, deferSlow-slow
		if mask != 0 && (queued != 3 || viaGo != 0) || mask == 0 && (queued != 0 || viaGo != 3) {
			t.Errorf("mask %d: %d queued, %d through Go", mask, queued, viaGo)
		}
	}
}
