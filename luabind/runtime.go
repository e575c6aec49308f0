//go:build lua53

package luabind

import (
	"fmt"
	"os"
	"time"

	"luaproxy/core"
	"luaproxy/luabind/vm"
)

// Settings are the tune.lua.* keywords.
type Settings struct {
	MaxMem         int64         // tune.lua.maxmem (bytes; 0 = none)
	ForcedYield    int           // tune.lua.forced-yield (0 = 10000)
	SessionTimeout time.Duration // actions, fetches, converters (default 4s)
	ServiceTimeout time.Duration // services (default 4s)
	TaskTimeout    time.Duration // tasks (default none)
	BurstTimeout   time.Duration // one resume (default none here)
	// BoolSamples is tune.lua.bool-sample-conversion normal: boolean
	// samples reach Lua as booleans, not as 0/1 (HAProxy 2.6, pre-3.1-bug).
	BoolSamples bool
	boolSet     bool // the keyword was given
}

// Runtime is the Lua side of one engine.
type Runtime struct {
	e        *core.Engine
	Settings Settings
	shared   *LState   // state 0: lua-load
	threads  []*LState // states 1..n: lua-load-per-thread
	loads    []loadDirective
	prepends []prependPath // lua-prepend-path, applied to every state
	started  bool          // the scheduler runs: register_task starts tasks at once
	patterns patternStore  // maps and ACL files for core.add_acl and friends; nil = none
}

type loadDirective struct {
	file      string
	args      []string
	perThread bool
}

const extKey = "lua"

// runtimeOf returns the engine's Lua runtime, creating it on first use.
func runtimeOf(e *core.Engine) *Runtime {
	if rt, ok := e.Ext[extKey].(*Runtime); ok {
		return rt
	}
	rt := &Runtime{e: e, Settings: Settings{SessionTimeout: 4 * time.Second, ServiceTimeout: 4 * time.Second}}
	e.Ext[extKey] = rt
	return rt
}

// LState is one Lua state with what scripts registered in it.
type LState struct {
	*vm.State
	rt       *Runtime
	id       int // HAProxy's state-id: 0 shared, 1..n per thread
	actions  map[string]*registered
	services map[string]*registered
	fetches  map[string]*registered
	convs    map[string]*registered
	inits    []vm.Ref
	tasks    []taskSpec
	// spare is an ended action's or fetch's invocation, for the next one
	// (see recycle). Under the state's lock.
	spare *txnInvocation
}

// registered is a function registered by core.register_*.
type registered struct {
	name   string
	fn     vm.Ref
	nbArgs int
	kinds  map[string]bool // actions: "tcp-req", "http-req", ...
	mode   string          // services: "tcp" or "http"
}

type taskSpec struct {
	fn   vm.Ref
	args []vm.Ref
}

func (rt *Runtime) newState(id int) (*LState, error) {
	st, err := vm.NewState(vm.Options{
		MaxMem:      rt.Settings.MaxMem,
		ForcedYield: rt.Settings.ForcedYield,
		Warn:        func(msg string) { rt.e.Log.Warning("%s", msg) },
	})
	if err != nil {
		return nil, err
	}
	ls := &LState{State: st, rt: rt, id: id,
		actions: map[string]*registered{}, services: map[string]*registered{},
		fetches: map[string]*registered{}, convs: map[string]*registered{}}
	st.Lock()
	err = installCore(ls)
	st.Unlock()
	if err != nil {
		return nil, err
	}
	for _, p := range rt.prepends {
		if err := ls.prependPath(p); err != nil {
			return nil, err
		}
	}
	return ls, nil
}

// sharedState returns state 0, creating it on first use.
func (rt *Runtime) sharedState() (*LState, error) {
	if rt.shared == nil {
		ls, err := rt.newState(0)
		if err != nil {
			return nil, err
		}
		rt.shared = ls
	}
	return rt.shared, nil
}

// threadStates returns the per-thread states, creating them on first use.
func (rt *Runtime) threadStates() ([]*LState, error) {
	if rt.threads == nil {
		for i := 0; i < rt.e.Threads; i++ {
			ls, err := rt.newState(i + 1)
			if err != nil {
				return nil, err
			}
			rt.threads = append(rt.threads, ls)
		}
	}
	return rt.threads, nil
}

// lookup finds the state and registration for name on the stream's thread:
// the shared state first, then the thread's own state.
func (rt *Runtime) lookup(thread int, pick func(*LState) *registered) (*LState, *registered) {
	if rt.shared != nil {
		if r := pick(rt.shared); r != nil {
			return rt.shared, r
		}
	}
	if len(rt.threads) > 0 {
		ls := rt.threads[thread%len(rt.threads)]
		if r := pick(ls); r != nil {
			return ls, r
		}
	}
	return nil, nil
}

// anyState reports whether name is registered in some state (config checks).
func (rt *Runtime) anyState(pick func(*LState) *registered) *registered {
	if rt.shared != nil {
		if r := pick(rt.shared); r != nil {
			return r
		}
	}
	for _, ls := range rt.threads {
		if r := pick(ls); r != nil {
			return r
		}
	}
	return nil
}

func (rt *Runtime) allStates() []*LState {
	var out []*LState
	if rt.shared != nil {
		out = append(out, rt.shared)
	}
	return append(out, rt.threads...)
}

// loadFile runs a lua-load file's body in ls with args as "...".
func (ls *LState) loadFile(file string, args []string) error {
	code, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("error in Lua file '%s': cannot open %s: %v", file, file, unwrapPathErr(err))
	}
	if err := ls.runChunk(code, "@"+file, args); err != nil {
		if le, ok := err.(loadError); ok {
			return fmt.Errorf("error in Lua file '%s': %s", file, le.err)
		}
		return err
	}
	return nil
}

// loadError is a chunk that does not compile.
type loadError struct{ err error }

func (e loadError) Error() string { return e.err.Error() }

// runChunk runs code (named name in messages) in the body context, with
// args as its "...".
func (ls *LState) runChunk(code []byte, name string, args []string) error {
	ls.Lock()
	defer ls.Unlock()
	co, err := ls.NewCo(vm.CoOptions{YieldAllowed: true})
	if err != nil {
		return err
	}
	defer co.Close()
	if err := co.Load(code, name); err != nil {
		return loadError{err}
	}
	for _, a := range args {
		co.PushString(a)
	}
	co.Data = &invocation{ctx: ctxBody, ls: ls}
	switch out := ls.drive(co); out {
	case vm.OK:
		return nil
	case vm.Failed:
		return fmt.Errorf("Lua runtime error: %s", co.Err().Message)
	default:
		return fmt.Errorf("Lua runtime error: %s", out)
	}
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		if pe.Err.Error() == "no such file or directory" {
			return fmt.Errorf("No such file or directory")
		}
		return pe.Err
	}
	return err
}
