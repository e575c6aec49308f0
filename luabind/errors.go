//go:build lua53

package luabind

import (
	"fmt"

	"luaproxy/core"
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

// alertFailure logs an ended invocation as HAProxy does: "<what>:
// <failure>.", on stderr and to px's logs (sendErr).
func alertFailure(ls *LState, px *core.Proxy, what string, co *vm.Co, out vm.Outcome) {
	sendErr(ls, px, "%s: %s.", what, failure(ls, co, out))
}

// sendErr reports a script's error as HAProxy's SEND_ERR does: on stderr
// and, at level err, to px's log targets (nil: the global ones). px is
// the proxy whose rule or service ran the script.
func sendErr(ls *LState, px *core.Proxy, format string, a ...any) {
	ls.rt.e.SendErr(px, fmt.Sprintf(format, a...))
}

// streamProxy is the proxy HAProxy reports a stream's script errors to:
// its backend once chosen (s->be), else its frontend.
func streamProxy(s *core.Stream) *core.Proxy {
	if s == nil {
		return nil
	}
	if s.Backend != nil {
		return s.Backend
	}
	return s.Frontend
}
