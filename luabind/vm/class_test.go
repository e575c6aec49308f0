//go:build lua53

package vm

import (
	"strings"
	"sync"
	"testing"
)

// testObj is the Go value behind the test classes.
type testObj struct {
	name string
	vars map[string]string
}

func objGetVar(o *testObj, c *Call) (int, error) {
	k, err := c.String(2)
	if err != nil {
		return 0, err
	}
	c.PushString(o.vars[k])
	return 1, nil
}

func objSetVar(o *testObj, c *Call) (int, error) {
	k, err := c.String(2)
	if err != nil {
		return 0, err
	}
	v, err := c.String(3)
	if err != nil {
		return 0, err
	}
	o.vars[k] = v
	return 0, nil
}

// testObjClass is request-scoped, like TXN: Co.Close invalidates it.
var testObjClass = &Class[*testObj]{
	Name: "TestObj",
	Methods: []Method[*testObj]{
		{Name: "get_var", Fn: objGetVar},
		{Name: "set_var", Fn: objSetVar},
		{Name: "boom", Fn: func(o *testObj, c *Call) (int, error) { panic("kaboom " + o.name) }},
		// wait yields and resumes itself, returning the object's name.
		{Name: "wait", Fn: func(o *testObj, c *Call) (int, error) {
			return c.Yield(nil, func(c *Call) (int, error) {
				c.PushString(o.name)
				return 1, nil
			})
		}},
	},
	Deprecated: []Method[*testObj]{{Name: "old_get", Fn: objGetVar}},
	Fields: []Method[*testObj]{{Name: "name", Fn: func(o *testObj, c *Call) (int, error) {
		c.PushString(o.name)
		return 1, nil
	}}, {Name: "other", Fn: func(o *testObj, c *Call) (int, error) {
		// an object of another class over the same value, as txn.f is
		otherObjClass.Push(&c.Pusher, o)
		return 1, nil
	}}},
	Views: []View[*testObj]{{Name: "view", Class: viewObjClass}},
	Meta: []Method[*testObj]{{Name: "__len", Fn: func(o *testObj, c *Call) (int, error) {
		c.PushInteger(int64(len(o.vars)))
		return 1, nil
	}}},
}

// viewObjClass objects are views of TestObj objects (obj.view), or its own.
var viewObjClass = &Class[*testObj]{
	Name:    "ViewObj",
	Methods: []Method[*testObj]{{Name: "get_var", Fn: objGetVar}},
}

// lentObjClass objects are lent by their invocation's thread, as TXNs are.
var lentObjClass = &Class[*testObj]{
	Name:    "LentObj",
	Methods: []Method[*testObj]{{Name: "get_var", Fn: objGetVar}},
	Fields:  testObjClass.Fields[:1], // name
	Lent:    true,
}

var otherObjClass = &Class[*testObj]{
	Name:    "OtherObj",
	Methods: []Method[*testObj]{{Name: "get_var", Fn: objGetVar}},
}

// ownedObjClass objects live as long as Lua keeps them.
var ownedObjClass = &Class[*testObj]{
	Name: "OwnedObj",
	Methods: []Method[*testObj]{{Name: "get_name", Fn: func(o *testObj, c *Call) (int, error) {
		c.PushString(o.name)
		return 1, nil
	}}},
	Owned: true,
}

var classFuncs = map[string]*Function{
	"newowned": NewFunction("newowned", func(c *Call) (int, error) {
		name, err := c.String(1)
		if err != nil {
			return 0, err
		}
		ownedObjClass.Push(&c.Pusher, &testObj{name: name})
		return 1, nil
	}),
	"newlent": NewFunction("newlent", func(c *Call) (int, error) {
		lentObjClass.Push(&c.Pusher, &testObj{name: "lent", vars: map[string]string{"x": "L"}})
		return 1, nil
	}),
	"newother": NewFunction("newother", func(c *Call) (int, error) {
		otherObjClass.Push(&c.Pusher, &testObj{name: "other", vars: map[string]string{}})
		return 1, nil
	}),
	// objname(o) reads a TestObj argument with Class.Check.
	"objname": NewFunction("objname", func(c *Call) (int, error) {
		o, err := testObjClass.Check(c, 1)
		if err != nil {
			return 0, err
		}
		c.PushString(o.name)
		return 1, nil
	}),
}

// newClassState returns a state with the class test functions, and a
// warnings log.
func newClassState(t *testing.T) (*State, func() []string) {
	var mu sync.Mutex
	var warns []string
	st := newBoundaryState(t, Options{Warn: func(msg string) {
		mu.Lock()
		warns = append(warns, msg)
		mu.Unlock()
	}})
	setFuncs(t, st, classFuncs)
	return st, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), warns...)
	}
}

// runObj runs code with a new TestObj as its argument, to completion.
func runObj(t *testing.T, st *State, o *testObj, code string) (*Co, Outcome) {
	t.Helper()
	co := start(t, st, CoOptions{YieldAllowed: true}, code)
	st.Lock()
	testObjClass.Push(&co.Pusher, o)
	st.Unlock()
	out, _ := drive(st, co)
	return co, out
}

// runObjs runs code with objects of class cl as its arguments, to
// completion, and returns its results.
func runObjs(t *testing.T, st *State, cl *Class[*testObj], code string, objs ...*testObj) []any {
	t.Helper()
	co := start(t, st, CoOptions{YieldAllowed: true}, code)
	st.Lock()
	for _, o := range objs {
		cl.Push(&co.Pusher, o)
	}
	st.Unlock()
	defer closeCo(st, co)
	if out, _ := drive(st, co); out != OK {
		t.Fatalf("outcome %v: %v", out, co.Err())
	}
	return results(st, co)
}

func runObjOK(t *testing.T, st *State, o *testObj, code string) []any {
	t.Helper()
	co, out := runObj(t, st, o, code)
	defer closeCo(st, co)
	if out != OK {
		t.Fatalf("outcome %v: %v\n%s", out, co.Err(), tracebackOf(co))
	}
	return results(st, co)
}

// TestClassObjects: methods, lazily built fields, metamethods, tostring, a
// method that yields and resumes itself, and Lua-style errors for a wrong
// self or a wrong argument.
func TestClassObjects(t *testing.T) {
	st, warns := newClassState(t)
	obj := &testObj{name: "obj1", vars: map[string]string{"x": "42"}}
	res := runObjOK(t, st, obj, `
		local o = ...
		o:set_var("y", "7")
		return tostring(o), o:get_var("x"), o.name, rawget(o, "name"), #o, o:get_var("y"), o:wait(), objname(o)`)
	wantResults(t, res, "TestObj", "42", "obj1", "obj1", int64(2), "7", "obj1", "obj1")

	res = runObjOK(t, st, obj, `
		local o = ...
		local other = newother()
		local fake = {get = o.get_var}
		local function try(f, ...) local ok, e = pcall(f, ...) return e end
		return
			try(function() return o.get_var({}, "x") end),
			try(function() return o.get_var(5, "x") end),
			try(function() return o.get_var(other, "x") end),
			try(function() return fake:get("x") end),
			try(function() return o:get_var() end),
			try(function() return o:set_var("k", {}) end),
			try(function() return objname(other) end),
			tostring(other), other:get_var("nope")`)
	want := []string{
		"bad argument #1 to 'get_var' ((null))",
		"bad argument #1 to 'get_var' ((null))",
		"bad argument #1 to 'get_var' ((null))",
		"calling 'get' on bad self ((null))",
		"bad argument #1 to 'get_var' (string expected, got no value)",
		"bad argument #2 to 'set_var' (string expected, got table)",
		"bad argument #1 to 'objname' ((null))",
	}
	for i, w := range want {
		if got, _ := res[i].(string); !strings.HasPrefix(got, "test:") || !strings.HasSuffix(got, ": "+w) {
			t.Errorf("error %d = %q, want test:N: %s", i+1, got, w)
		}
	}
	if res[7] != "OtherObj" || res[8] != "" {
		t.Errorf("other object: %v %v", res[7], res[8])
	}

	// A deprecated method works and warns once per state.
	res = runObjOK(t, st, obj, `local o = ... return o:old_get("x"), o:old_get("x")`)
	wantResults(t, res, "42", "42")
	n := 0
	for _, w := range warns() {
		if strings.Contains(w, "TestObj:old_get() is deprecated") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d deprecation warnings, want 1: %q", n, warns())
	}
}

// TestClassViews: obj.view is an object of the view class over the same
// Go value, made once and cached; the view class refuses other classes'
// objects, and its __index refuses a non-object.
func TestClassViews(t *testing.T) {
	st, _ := newClassState(t)
	obj := &testObj{name: "obj3", vars: map[string]string{"x": "9"}}
	res := runObjOK(t, st, obj, `
		local o = ...
		local v = o.view
		local function try(f, ...) local ok, e = pcall(f, ...) return e end
		return tostring(v), v:get_var("x"), rawequal(v, o.view), rawget(o, "view") == v,
			o.nope == nil, v.name == nil,
			try(function() return v.get_var(newother(), "x") end),
			try(function() return getmetatable(o).__index(5, "view") end)`)
	wantResults(t, res[:6], "ViewObj", "9", true, true, true, true)
	for i, w := range []string{
		"bad argument #1 to 'get_var' ((null))",
		"bad argument #1 to '__index' (table expected, got number)",
	} {
		if got, _ := res[6+i].(string); !strings.HasSuffix(got, w) {
			t.Errorf("error %d = %q, want ...%s", i+1, got, w)
		}
	}
}

// TestClassViewsLent: an invocation's root thread lends its view of a
// class to the first object asking in each invocation (no allocation per
// request); a second object of the class gets a view of its own, each
// view answers for its own object, and a view kept past its invocation
// fails cleanly (its handle is released) until it is lent again.
func TestClassViewsLent(t *testing.T) {
	st, _ := newClassState(t)
	run2 := func(a, b *testObj, code string) []any {
		t.Helper()
		return runObjs(t, st, testObjClass, code, a, b)
	}
	objA := &testObj{name: "a", vars: map[string]string{"x": "A"}}
	objB := &testObj{name: "b", vars: map[string]string{"x": "B"}}
	objC := &testObj{name: "c", vars: map[string]string{"x": "C"}}
	res := run2(objA, objB, `
		local a, b = ...
		local va, vb = a.view, b.view
		kept = va
		va.custom = "set by a script"
		return va:get_var("x"), vb:get_var("x"), rawequal(va, vb), rawequal(a.view, va), rawequal(b.view, vb)`)
	wantResults(t, res, "A", "B", false, true, true)
	// the kept view is lent again to the first asker: it now answers for c
	res = run2(objC, objA, `
		local c, a = ...
		local ok, e = pcall(kept.get_var, kept, "x")
		local vc, va = c.view, a.view
		return ok, vc:get_var("x"), va:get_var("x"), rawequal(vc, kept), kept:get_var("x"), vc.custom`)
	wantResults(t, res[1:], "C", "A", true, "C", nil)
	if res[0] != false {
		t.Errorf("a view kept past its invocation answered: %v", res[0])
	}
	// nested coroutines and tables without a handle still get fresh views
	res = runObjOK(t, st, objB, `
		local o = ...
		local co = coroutine.wrap(function() return o.view:get_var("x") end)
		return co(), o.view:get_var("x")`)
	wantResults(t, res, "B", "B")
}

// TestClassObjectsLent: an invocation's root thread lends the table of
// a Lent class's object to the first object pushed in each invocation:
// the next invocation's object is the same table, emptied of the fields
// the script set or the class cached, with its own handle and the class's
// metatable again; a second object in one invocation is a table of its own.
func TestClassObjectsLent(t *testing.T) {
	st, _ := newClassState(t)
	run := func(code string, objs ...*testObj) []any {
		t.Helper()
		return runObjs(t, st, lentObjClass, code, objs...)
	}
	objA := &testObj{name: "a", vars: map[string]string{"x": "A"}}
	objB := &testObj{name: "b", vars: map[string]string{"x": "B"}}
	objC := &testObj{name: "c", vars: map[string]string{"x": "C"}}
	res := run(`
		local a, b = ...
		a.custom, b.custom = "set by a script", "b's"
		kept = a
		local r = {rawequal(a, b), a.name, b.name, rawget(a, "name"), a:get_var("x"), b:get_var("x")}
		setmetatable(a, nil)
		return table.unpack(r)`, objA, objB)
	wantResults(t, res, false, "a", "b", "a", "A", "B")
	res = run(`
		local c = ...
		local fields = 0
		for k in pairs(c) do if k ~= 0 then fields = fields + 1 end end
		return rawequal(c, kept), fields, c.custom, c.name, c:get_var("x"), kept:get_var("x")`, objC)
	wantResults(t, res, true, int64(0), nil, "c", "C", "C")
	// an object pushed on a script's coroutine is its own
	res = runObjOK(t, st, objA, `
		local co = coroutine.wrap(function() return newlent() end)
		local o = co()
		return rawequal(o, kept), o:get_var("x")`)
	wantResults(t, res, false, "L")
}

// TestClassMethodPanic: a Go panic in a method becomes the Lua error
// "go panic: ...", catchable by pcall; uncaught, it fails the invocation.
// With a Warn sink, the panic and its Go stack are logged.
func TestClassMethodPanic(t *testing.T) {
	st, warns := newClassState(t)
	obj := &testObj{name: "obj2", vars: map[string]string{}}
	res := runObjOK(t, st, obj, `
		local o = ...
		local ok1, e1 = pcall(o.boom, o)
		local ok2, e2 = pcall(function() return o:boom() end)
		return ok1, e1, ok2, e2, o:get_var("none")`)
	wantResults(t, res, false, "go panic: kaboom obj2", false, "test:4: go panic: kaboom obj2", "")

	co, out := runObj(t, st, obj, `local o = ... o:boom()`)
	if out != Failed || co.Err().Message != "test:1: go panic: kaboom obj2" {
		t.Errorf("uncaught: %v %v", out, co.Err())
	}
	closeCo(st, co)
	w := warns()
	if len(w) != 3 || !strings.Contains(w[0], "go panic in a Lua call: kaboom obj2") || !strings.Contains(w[0], "goroutine ") {
		t.Errorf("warnings: %q", w)
	}
}

// TestClassScopedHandles: an object pushed for an invocation is invalid once
// the invocation is closed, even if a script kept it in a global and its
// handle slot was reused by a newer object.
func TestClassScopedHandles(t *testing.T) {
	st, _ := newClassState(t)
	base := st.LiveHandles()
	res := runObjOK(t, st, &testObj{name: "req1", vars: map[string]string{"x": "1"}}, `
		stash = ...
		return stash:get_var("x")`)
	wantResults(t, res, "1")
	if n := st.LiveHandles(); n != base {
		t.Errorf("live handles %d after Close, want %d", n, base)
	}
	const stale = "'get_var': the TestObj object is no longer valid"
	res = runOK(t, st, `
		local ok, e = pcall(function() return stash:get_var("x") end)
		local ok2, e2 = pcall(function() return stash.name end)
		return ok, e, ok2, e2, tostring(stash)`)
	wantResults(t, res, false, "test:2: "+stale, false, "'name': the TestObj object is no longer valid", "TestObj") // a field builder is called by __index (C): no position

	// A new object takes the freed slot (next generation): the stale handle
	// still does not reach it.
	res = runObjOK(t, st, &testObj{name: "req2", vars: map[string]string{"x": "2"}}, `
		local o = ...
		local ok, e = pcall(stash.get_var, stash, "x")
		return o:get_var("x"), ok, e`)
	wantResults(t, res, "2", false, stale)
	res = runOK(t, st, `stash = nil return true`)
	wantResults(t, res, true)
	if n := st.LiveHandles(); n != base {
		t.Errorf("live handles %d at the end, want %d", n, base)
	}
}

// TestClassOwnedHandles: objects owned by Lua release their Go value when
// collected.
func TestClassOwnedHandles(t *testing.T) {
	st, _ := newClassState(t)
	base := st.LiveHandles()
	res := runOK(t, st, `
		held = newowned("keep")
		for i = 1, 1000 do
			local o = newowned("o" .. i)
			if o:get_name() ~= "o" .. i then error("name " .. i) end
		end
		return held:get_name(), tostring(held)`)
	wantResults(t, res, "keep", "OwnedObj")
	if n := st.LiveHandles(); n <= base+1 {
		t.Logf("live handles %d before GC (some already collected)", n)
	}
	memAfterGC(st)
	if n := st.LiveHandles(); n != base+1 {
		t.Errorf("live handles %d after GC, want %d (the held one)", n, base+1)
	}
	wantResults(t, runOK(t, st, `local n = held:get_name() held = nil return n`), "keep")
	memAfterGC(st)
	if n := st.LiveHandles(); n != base {
		t.Errorf("live handles %d after GC, want %d", n, base)
	}
}
