//go:build lua53

package luabind

import (
	"fmt"

	"luaproxy/luabind/vm"
)

// failure formats how an invocation ended badly, in HAProxy's words:
// "[state-id 0] runtime error: t.lua:1: boom from [C]: in global 'error', ...".
func failure(ls *LState, co *vm.Co, out vm.Outcome) string {
	switch out {
	case vm.Timeout:
		return "execution timeout"
	case vm.BurstTimeout:
		return "burst timeout"
	case vm.NoMemory:
		return "out of memory error"
	case vm.YieldNotAllowed:
		return "yield not allowed"
	}
	e := co.Err()
	if e == nil {
		return fmt.Sprintf("[state-id %d] unknown runtime error", ls.id)
	}
	return fmt.Sprintf("[state-id %d] runtime error: %s from %s", ls.id, e.Message, e.Where)
}

// alertFailure logs an ended invocation as HAProxy does: "<what>: <failure>.".
func alertFailure(ls *LState, what string, co *vm.Co, out vm.Outcome) {
	ls.rt.e.Log.Alert("%s: %s.", what, failure(ls, co, out))
}
