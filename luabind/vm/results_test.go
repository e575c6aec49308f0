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
