//go:build lua53

package luabind

import (
	"fmt"

	"luaproxy/core"
	"luaproxy/luabind/vm"
)

// runInits runs the functions of core.register_init, in order, after the
// configuration is parsed (HAProxy's init context). An error stops start-up.
func runInits(e *core.Engine) error {
	rt, ok := e.Ext[extKey].(*Runtime)
	if !ok {
		return nil
	}
	for _, ls := range rt.allStates() {
		for _, fn := range ls.inits {
			if err := ls.runInit(fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ls *LState) runInit(fn vm.Ref) error {
	ls.Lock()
	defer ls.Unlock()
	co, err := ls.start(&invocation{ctx: ctxInit, name: "init"}, fn)
	if err != nil {
		return err
	}
	defer co.Close()
	if out := ls.drive(co); out != vm.OK {
		return fmt.Errorf("Lua init: %s.", failure(ls, co, out))
	}
	return nil
}

// startTasks starts the tasks registered in the body and init contexts.
func startTasks(e *core.Engine) {
	rt, ok := e.Ext[extKey].(*Runtime)
	if !ok {
		return
	}
	rt.started = true
	for _, ls := range rt.allStates() {
		for _, t := range ls.tasks {
			go ls.runTask(t)
		}
		ls.tasks = nil
	}
}

// runTask runs a task to its end on its own goroutine.
func (ls *LState) runTask(t taskSpec) {
	ls.Lock()
	defer ls.Unlock()
	co, err := ls.start(&invocation{ctx: ctxTask, name: "task"}, t.fn)
	// a task runs once: its function and arguments are on the coroutine's
	// stack now (or never will be), their anchors can go
	defer func() {
		ls.Unref(t.fn)
		for _, a := range t.args {
			ls.Unref(a)
		}
	}()
	if err != nil {
		sendErr(ls, nil, "Lua task: %v.", err)
		return
	}
	defer co.Close()
	for _, a := range t.args {
		co.PushRef(a)
	}
	if out := ls.drive(co); out != vm.OK {
		alertFailure(ls, nil, "Lua task", co, out)
	}
}
