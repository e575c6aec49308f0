//go:build lua53

package luabind

import (
	"runtime"
	"time"
	"unsafe"

	"luaproxy/core"
	"luaproxy/luabind/vm"
)

// context is HAProxy's Lua execution context of an invocation.
type context int

const (
	ctxBody context = iota
	ctxInit
	ctxTask
	ctxAction
	ctxFetch
	ctxConverter
	ctxService
	ctxFilter
)

var contextNames = [...]string{"body", "init", "task", "action", "sample-fetch", "converter", "service", "filter"}

func (c context) String() string { return contextNames[c] }

// invocation is the host context of one Lua call (vm.Co.Data).
type invocation struct {
	ctx    context
	name   string
	ls     *LState
	s      *core.Stream // nil in body, init, task
	txn    *TXN
	applet *AppletTCP
	// happlet is the AppletHTTP of an HTTP service.
	happlet *AppletHTTP
	// filter is the filter instance a filter callback runs for.
	filter *filterInst
	done   bool // core.done() / txn:done(): stop at the next yield
	// txnDone: txn:done() ended the stream (an action then answers
	// core.Done). Kept here, not with the stream: the action reads it
	// after each run, and the stream's Lua data is a cache miss away.
	txnDone bool
	// result is core.done()'s data in a fetch or converter (hasResult set).
	result    luaSample
	hasResult bool
	// wake ends a core.wait() early (see wakeUp); made on first use.
	wake chan struct{}
	// suspended: the invocation waited or yielded (see recycle)
	suspended bool
}

// txnInvocation is an invocation with its TXN object, made in one
// allocation: they live as long as each other.
type txnInvocation struct {
	iv  invocation
	txn TXN
}

// newTXNInvocation returns the invocation of a function run for stream
// s with a TXN object (an action, a fetch): the state's spare one when
// it has one (see recycle), else a new one.
func newTXNInvocation(ctx context, name string, s *core.Stream, ls *LState) *invocation {
	r := ls.spare
	if r != nil {
		ls.spare = nil // zeroed by recycle
	} else {
		r = new(txnInvocation)
	}
	r.txn.s, r.txn.ls = s, ls
	iv := &r.iv // fields set in place: a composite literal is built aside, then copied
	iv.ctx, iv.name, iv.s, iv.txn = ctx, name, s, &r.txn
	return iv
}

// recycle keeps iv, made by newTXNInvocation and now ended (its coroutine
// closed), as the state's spare, when nothing can still reach it: it ran
// to its end in one resume (no continuation or timer was left holding
// it) and nothing asked to wake it (Queue:alarm makes its wake channel).
// Lua only ever held its TXN through handles, released with the
// coroutine. An action or a fetch then allocates nothing of its own.
func (ls *LState) recycle(iv *invocation) {
	if ls.spare != nil || iv.suspended || iv.wake != nil || iv.txn == nil {
		return
	}
	r := (*txnInvocation)(unsafe.Pointer(iv)) // iv is the first field
	*r = txnInvocation{}                      // holds no stream while it waits
	ls.spare = r
}

// wakeChan returns the channel core.wait() listens on.
func (iv *invocation) wakeChan() chan struct{} {
	if iv.wake == nil {
		iv.wake = make(chan struct{}, 1)
	}
	return iv.wake
}

// wakeUp ends the invocation's core.wait(), now or, if it is not waiting,
// the next one (HAProxy's task_wakeup on a waiting Lua task). The caller
// holds the state's lock (a Lua call waking another invocation of the same
// state, like Queue:push); it never blocks.
func (iv *invocation) wakeUp() {
	select {
	case iv.wakeChan() <- struct{}{}:
	default:
	}
}

// stopInvocation ends the running invocation at once, as a multi-level
// return that pcall cannot catch: it yields, and the driver does not resume.
func stopInvocation(c *vm.Call) (int, error) {
	iv := inv(c)
	if iv == nil {
		return 0, nil
	}
	iv.done = true
	return c.Yield(nil, func(*vm.Call) (int, error) { return 0, nil })
}

// inv returns the invocation of the running call (nil outside any).
func inv(c *vm.Call) *invocation {
	if co := c.Co(); co != nil {
		if iv, ok := co.Data.(*invocation); ok {
			return iv
		}
	}
	return nil
}

// drive resumes co until it ends: after a forced yield the lock is released
// so that other streams run first; after a Go yield its wait runs outside
// the lock. The caller holds ls's lock, and holds it again on return.
func (ls *LState) drive(co *vm.Co) vm.Outcome {
	for {
		out := co.Resume()
		if iv, ok := co.Data.(*invocation); ok && iv.done && (out == vm.Yield || out == vm.YieldNotAllowed) {
			return vm.OK
		}
		if out != vm.Yield {
			return out
		}
		// The stream's task stops here and runs again once it has the
		// state back (cpu_calls, lat_ns_*): the wait for the lock is its
		// latency.
		var s *core.Stream
		if iv, ok := co.Data.(*invocation); ok {
			s = iv.s
			iv.suspended = true
		}
		switch co.Reason() {
		case vm.ReasonGo:
			if w := co.TakeWait(); w != nil {
				// a function that yielded to wait: until it has its
				// results (vm.Call.YieldResolved), or once
				// (vm.Call.Yield: its continuation decides)
				for {
					ls.Unlock()
					flushApplet(co)
					s.TaskWait()
					w()
					s.TaskWoken()
					ls.Lock()
					s.TaskRun()
					if co.Resolve() {
						break
					}
				}
				continue
			}
		}
		// forced yield, core.yield() or coroutine.yield(): let others run
		ls.Unlock()
		flushApplet(co)
		s.TaskWait()
		s.TaskWoken()
		runtime.Gosched()
		ls.Lock()
		s.TaskRun()
		co.Resolve()
	}
}

// flushApplet sends what a TCP service's applet:send queued, when its
// coroutine waits: outside the Lua lock (see AppletTCP.luaSend).
func flushApplet(co *vm.Co) {
	if iv, ok := co.Data.(*invocation); ok && iv.applet != nil {
		_ = iv.applet.io().Flush()
	}
}

// budget returns the Lua-time budget of a context.
func (rt *Runtime) budget(ctx context) time.Duration {
	switch ctx {
	case ctxAction, ctxFetch, ctxConverter, ctxFilter:
		return rt.Settings.SessionTimeout
	case ctxService:
		return rt.Settings.ServiceTimeout
	case ctxTask:
		return rt.Settings.TaskTimeout
	}
	return 0
}

// start prepares a coroutine running the function r with the given
// context; the caller pushes the arguments, then calls ls.drive.
func (ls *LState) start(iv *invocation, fn vm.Ref) (*vm.Co, error) {
	co, err := ls.NewCo(vm.CoOptions{
		Budget:       ls.rt.budget(iv.ctx),
		Burst:        ls.rt.Settings.BurstTimeout,
		YieldAllowed: iv.ctx != ctxFetch && iv.ctx != ctxConverter,
		// an action's verdict is its first result as an integer
		// (luaAction.run, verdictOf): nothing else is read
		CachedResults: iv.ctx == ctxAction,
	})
	if err != nil {
		return nil, err
	}
	iv.ls = ls
	co.Data = iv
	co.PushRef(fn)
	return co, nil
}
