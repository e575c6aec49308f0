//go:build lua53

package luabind

import (
	"errors"
	"luaproxy/core"
	"luaproxy/core/config"
	"luaproxy/luabind/vm"
	"sync/atomic"
	"time"
)

// luaAction is a rule action running a Lua function with a TXN.
type luaAction struct {
	rt     *Runtime
	name   string      // as registered ("hello" for lua.hello)
	px     *core.Proxy // whose rule it is: its errors go to its logs
	global vm.Ref      // the early "lua <function>" form: the global function
	args   []string    // arguments from the configuration
	res    bool        // in a response rule set: response input wakes it
	// shared is the function's registration in the shared state, found
	// by the first request (every lua-load has run by then, and a
	// registration only happens while a file loads).
	shared atomic.Pointer[registered]
}

// parseLuaAction handles "lua.<name> [args...]".
func parseLuaAction(e *core.Engine, px *core.Proxy, rs core.RuleSet, args []string, l config.Line) (core.Action, int, error) {
	rt := runtimeOf(e)
	name := args[0][len("lua."):]
	r := rt.anyState(func(ls *LState) *registered { return ls.actions[name] })
	if r == nil {
		return nil, 0, core.ErrUnknownAction // reported as HAProxy does
	}
	if !r.kinds[ruleKind(rs)] {
		return nil, 0, l.Errorf("'%s' : action 'lua.%s' is not registered for '%s'.", rs, name, ruleKind(rs))
	}
	n := 1 + r.nbArgs
	if len(args) < n {
		return nil, 0, l.Errorf("'%s lua.%s' expects %d arguments.", rs, name, r.nbArgs)
	}
	return &luaAction{rt: rt, name: name, px: px, args: args[1:n], res: isResponse(rs)}, n, nil
}

// parseLegacyAction handles "lua <function>", the first API document's form:
// the function is a global of the shared state, called with the TXN.
func parseLegacyAction(e *core.Engine, px *core.Proxy, rs core.RuleSet, args []string, l config.Line) (core.Action, int, error) {
	if len(args) < 2 {
		return nil, 0, l.Errorf("'%s lua' expects a function name.", rs)
	}
	rt := runtimeOf(e)
	ls := rt.shared
	if ls == nil {
		return nil, 0, l.Errorf("'%s lua %s' : no Lua file is loaded (lua-load).", rs, args[1])
	}
	ls.Lock()
	fn, ok := ls.globalFunction(args[1])
	ls.Unlock()
	if !ok {
		return nil, 0, l.Errorf("'%s lua' : Lua function '%s' not found.", rs, args[1])
	}
	return &luaAction{rt: rt, name: args[1], px: px, global: fn, res: isResponse(rs)}, 2, nil
}

// isResponse reports whether rs is a rule set of the response.
func isResponse(rs core.RuleSet) bool {
	return rs == core.HTTPResponse || rs == core.TCPResponseContent || rs == core.HTTPAfterResponse
}

// Do runs the action on s's goroutine. Errors are logged and the stream
// goes on (HAProxy's fail-open).
//
// An action answering act.YIELD runs again each time the stream is
// woken (core.Stream.WaitWake): at act:wake_time(), on data of its
// channel (the request's, the response's in a response rule set), on the
// close of that data's producer. HAProxy compat: the client's close runs
// it once more; still yielding, it is told so and, in HTTP, the rules go
// on in a final mode before the stream ends without a response
// (core.Stream.AbortAfterRules); a TCP stream ends at once. The server's
// close runs it once more too, and then only its wake time does. In TCP
// rules the inspect-delay (for the request, else timeout client) ends the
// wait and the rules go on; a tcp-response rule without an inspect-delay
// does not wait.
func (a *luaAction) Do(s *core.Stream) core.Verdict {
	ls, fn := a.resolve(s)
	if ls == nil {
		return core.Continue
	}
	on := core.WakeOnRequest
	if a.res {
		on = core.WakeOnResponse
	}
	deadline, final := s.YieldDeadline(a.res)
	for closed := s.RulesFinal(); ; {
		v, again := a.run(s, ls, fn)
		if !again {
			return v
		}
		if final {
			return core.Continue
		}
		if closed && !a.res {
			if !s.AbortAfterRules() {
				return abortYield(s)
			}
			sendErr(ls, a.px, "Lua function '%s': aborting Lua processing on expired timeout.", a.name)
			return core.Continue
		}
		d := dataOf(s)
		wait := d.wakeTime
		d.wakeTime = 0
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return core.Continue
			}
			if wait <= 0 || wait > left {
				wait = left
			}
		}
		switch s.WaitWake(wait, on) {
		case core.WakeStop:
			return abortYield(s)
		case core.WakeEOF:
			closed = true
		}
	}
}

// abortYield ends a stream whose action still yields when nothing more
// can wake it; HAProxy closes and logs it (CR, core.Stream.AbortWait).
func abortYield(s *core.Stream) core.Verdict {
	s.AbortWait()
	return core.Reject
}

// run runs the action once; again is set when it returned act.YIELD.
func (a *luaAction) run(s *core.Stream, ls *LState, fn vm.Ref) (core.Verdict, bool) {
	ls.Lock()
	defer ls.Unlock()
	iv := newTXNInvocation(ctxAction, a.name, s, ls)
	defer ls.recycle(iv) // after invoke closed the coroutine
	return a.invoke(s, ls, iv, fn)
}

// invoke runs the action's invocation iv. (Apart from run, whose defers
// would not be open-coded with this function's returns.)
func (a *luaAction) invoke(s *core.Stream, ls *LState, iv *invocation, fn vm.Ref) (core.Verdict, bool) {
	txn := iv.txn
	co, err := ls.start(iv, fn)
	if err != nil {
		sendErr(ls, a.px, "Lua function '%s': %v.", a.name, err)
		return core.Continue, false
	}
	defer co.Close()
	// txn.http's header writes may be queued by C (vm.Deferral)
	co.AllowDeferred(pushTXN(&co.Pusher, txn), deferMask(s))
	for _, arg := range a.args {
		co.PushString(arg)
	}
	out := ls.drive(co)
	if out != vm.OK {
		alertFailure(ls, a.px, "Lua function '"+a.name+"'", co, out)
		return core.Continue, false
	}
	if iv.txnDone {
		return core.Done, false
	}
	if v, ok := co.ResultInteger(1); ok && co.NResults() >= 1 && v == actYield {
		return core.Continue, true
	}
	if co.NResults() == 0 && s.RulesFinal() {
		// HAProxy 2.6 compat: in the final mode, the previous action's
		// act.YIELD is still on the shared Lua stack, and an action
		// returning nothing reads it as its own result.
		return core.Continue, true
	}
	return verdictOf(s, co), false
}

// actWakeTime implements act:wake_time(milliseconds): the delay before an
// action returning act.YIELD runs again. Action context only.
var actWakeTime = vm.NewFunction("act.wake_time", func(c *vm.Call) (int, error) {
	iv := inv(c)
	if iv == nil || iv.ctx != ctxAction || iv.s == nil {
		return 0, errors.New("'wake_time' is only available in actions")
	}
	// act.wake_time(ms) as HAProxy 2.6 needs it, or act:wake_time(ms) as
	// documented
	arg := 2
	if c.Top() == 1 {
		arg = 1
	}
	ms, err := c.Integer(arg)
	if err != nil {
		return 0, err
	}
	dataOf(iv.s).wakeTime = time.Duration(ms) * time.Millisecond
	return 0, nil
})

// resolve finds the function to run for s's thread.
func (a *luaAction) resolve(s *core.Stream) (*LState, vm.Ref) {
	if a.global > 0 {
		return a.rt.shared, a.global
	}
	if r := a.shared.Load(); r != nil {
		return a.rt.shared, r.fn
	}
	ls, r := a.rt.lookup(s.Thread, func(ls *LState) *registered { return ls.actions[a.name] })
	if ls == nil {
		return nil, 0
	}
	if ls == a.rt.shared {
		a.shared.Store(r)
	}
	return ls, r.fn
}

// verdictOf maps an action's return value (act.*) to the rule verdict.
// HAProxy compat: in HTTP rules act.DENY answers as "deny" does (403 to
// a request; to a response, the error page of its status), act.ERROR as
// an internal error (500), act.DONE ends the rule set as act.STOP does,
// and act.ABORT answers 503 to a request and ends the response's rules;
// in TCP rules all four close the connection.
func verdictOf(s *core.Stream, co *vm.Co) core.Verdict {
	if co.NResults() < 1 {
		return core.Continue
	}
	v, ok := co.ResultInteger(1)
	if !ok {
		return core.Continue
	}
	switch v {
	case actStop:
		return core.Stop
	case actDone:
		if s.HTTP != nil {
			return core.Stop
		}
		return core.Done
	case actDeny, actError:
		if s.HTTP == nil {
			return core.Reject
		}
		status := 500
		if v == actDeny {
			status = 403
			if s.SampleCtx().Response {
				// HAProxy 2.6 compat: nothing sets the status of a deny
				// in response rules, so the page is the one of the
				// response's status (200: "Service ready.")
				status = core.ErrorPageStatus(s.HTTP.Status)
			}
		}
		s.HTTP.Reply = s.Frontend.ErrorReply(status)
		return core.Done
	case actAbort:
		if s.HTTP != nil && s.SampleCtx().Response {
			return core.Stop // HAProxy compat: the response goes on as is
		}
		if s.HTTP != nil {
			// HAProxy compat: an abort without a response ends the
			// request's analysis before a backend is chosen; the stream
			// then finds no server in the frontend: 503.
			s.HTTP.Reply = s.Frontend.ErrorReply(503)
			return core.Done
		}
		return core.Reject
	}
	return core.Continue
}

// The act.* constants (HAProxy's enum act_return).
const (
	actContinue = iota
	actStop
	actYield
	actError
	actDone
	actDeny
	actAbort
	actInvalid
)
