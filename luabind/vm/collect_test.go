//go:build lua53

package vm

import "testing"

// CollectOnClose runs a full collection at Close only when one of its
// conditions holds then (a socket the script left open): the garbage of
// the invocation, unreachable but with the collector stopped, is
// finalized only in that case.
func TestCollectOnCloseCondition(t *testing.T) {
	st := newTestState(t, Options{})
	for _, need := range []bool{false, true} {
		runOK(t, st, `finalized = false collectgarbage("stop")`)
		co := start(t, st, CoOptions{YieldAllowed: true},
			`setmetatable({}, {__gc = function() finalized = true end})`)
		st.Lock()
		co.CollectOnClose(func() bool { return false })
		co.CollectOnClose(func() bool { return need })
		if out := co.Resume(); out != OK {
			t.Fatal(out, co.Err())
		}
		co.Close()
		st.Unlock()
		if got := runOK(t, st, `return finalized`); got[0] != need {
			t.Errorf("need %v: finalized %v", need, got[0])
		}
	}
}
