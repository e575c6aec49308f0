//go:build lua53

package vm

import "testing"

// TestResultCache checks that the results the last Resume noted (the
// first one as an integer, the last one whole) read as the stack does.
func TestResultCache(t *testing.T) {
	st := newTestState(t, Options{})
	for _, code := range []string{
		"return 7", "return -3.5", "return 2^63", "return '12'", "return ' 0x10 '", "return 'x'",
		"return ''", "return true", "return false", "return nil", "return {}", "return print",
		"return 1, 'two'", "return 'one', 2", "return 3, 4.0", "return 1, nil", "return 1, true",
		"return", "coroutine.yield(5, '6')",
	} {
		co := start(t, st, CoOptions{YieldAllowed: true}, code)
		st.Lock()
		co.Resume()
		n := co.NResults()
		if top := (stack{co.c.L}).top(); n != top {
			t.Errorf("%s: NResults %d, stack %d", code, n, top)
		}
		for i := 1; i <= n+1; i++ {
			s := stack{co.c.L}
			if got, want := co.ResultType(i), s.typ(i); got != want {
				t.Errorf("%s: type(%d) %v, want %v", code, i, got, want)
			}
			gi, gok := co.ResultInteger(i)
			wi, wok := s.integer(i)
			if gi != wi || gok != wok {
				t.Errorf("%s: integer(%d) %d %v, want %d %v", code, i, gi, gok, wi, wok)
			}
			gf, gfok := co.ResultNumber(i)
			wf, wfok := s.number(i)
			if gf != wf || gfok != wfok {
				t.Errorf("%s: number(%d) %v %v, want %v %v", code, i, gf, gfok, wf, wfok)
			}
			gs, gsok := co.ResultString(i)
			ws, wsok := s.str(i)
			if gs != ws || gsok != wsok {
				t.Errorf("%s: string(%d) %q %v, want %q %v", code, i, gs, gsok, ws, wsok)
			}
			if got, want := co.ResultBool(i), s.boolean(i); got != want {
				t.Errorf("%s: bool(%d) %v, want %v", code, i, got, want)
			}
		}
		co.Close()
		st.Unlock()
	}
}

// TestCachedResults: a coroutine run with CachedResults is reset by the
// Resume that finishes it: its first result as an integer (a string
// converted as lua_tointegerx does), the number of results and the last
// one's type stay readable, the stack does not, and the next invocation
// on the pooled thread starts empty.
func TestCachedResults(t *testing.T) {
	st := newTestState(t, Options{})
	for _, c := range []struct {
		code  string
		n     int
		first int64
		ok    bool
		last  Type
	}{
		{`return 3`, 1, 3, true, TypeNumber},
		{`return "7", "x"`, 2, 7, true, TypeString},
		{`return "x"`, 1, 0, false, TypeString},
		{`return`, 0, 0, false, TypeNone},
		{`return 2, {}`, 2, 2, true, TypeTable},
	} {
		co, out := run(t, st, CoOptions{CachedResults: true}, c.code)
		st.Lock()
		if out != OK {
			t.Fatalf("%s: %v %v", c.code, out, co.Err())
		}
		v, ok := co.ResultInteger(1)
		if n := co.NResults(); n != c.n || v != c.first || ok != c.ok || (c.n > 0 && co.ResultType(c.n) != c.last) {
			t.Errorf("%s: n=%d first=%d,%v last=%v", c.code, n, v, ok, co.ResultType(c.n))
		}
		co.results = false // NResults then asks the thread
		if top := co.NResults(); top != 0 {
			t.Errorf("%s: %d values left on the stack", c.code, top)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: ResultValue read an emptied stack", c.code)
				}
			}()
			co.ResultValue(1)
		}()
		co.Close()
		st.Unlock()
	}
}

// TestCachedResultsFreeViews: the reset within Resume frees the views an
// invocation was lent, whatever it returned (nothing, here): the next
// invocation on the pooled thread gets the same view back.
func TestCachedResultsFreeViews(t *testing.T) {
	st, _ := newClassState(t)
	obj := &testObj{name: "a", vars: map[string]string{"x": "A"}}
	for i := 0; i < 3; i++ {
		co := start(t, st, CoOptions{YieldAllowed: true, CachedResults: true}, `
			local o = ...
			local v = o.view
			seen = (seen or "") .. tostring(rawequal(v, last)) .. v:get_var("x") .. " "
			last = v`)
		st.Lock()
		testObjClass.Push(&co.Pusher, obj)
		st.Unlock()
		if out, _ := drive(st, co); out != OK {
			t.Fatal(out, co.Err())
		}
		closeCo(st, co)
	}
	res := runOK(t, st, `return seen`)
	wantResults(t, res, "falseA trueA trueA ")
}
