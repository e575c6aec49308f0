//go:build lua53

package vm

/*
#cgo pkg-config: lua5.3
#include "lrt.h"
*/
import "C"

import (
	"fmt"
	"runtime/debug"
)

// The only Go functions C calls. Each recovers its own panics: a Go panic
// never unwinds through a C frame, and a longjmp never crosses a Go frame
// (C acts on the verdict returned here).

//export goCall
func goCall(L *C.lua_State, sid, fid C.int64_t, f *C.lrt_frame) (r C.int) {
	st := stateByID(int64(sid))
	c := st.enter(L, f)
	defer func() {
		if p := recover(); p != nil {
			r = c.panicked(p, panicStack(st))
		}
		st.leave(c)
	}()
	fn := funcByID(int64(fid))
	return c.verdict(fn.fn(c))
}

//export goContinue
func goContinue(L *C.lua_State, sid C.int64_t, f *C.lrt_frame) (r C.int) {
	st := stateByID(int64(sid))
	c := st.enter(L, f)
	defer func() {
		if p := recover(); p != nil {
			r = c.panicked(p, panicStack(st))
		}
		st.leave(c)
	}()
	co := c.Pusher.co
	if co == nil || co.cont == nil {
		return c.verdict(0, fmt.Errorf("lua: resumed a coroutine with no pending continuation"))
	}
	k := co.cont
	co.cont = nil
	return c.verdict(k(c))
}

// panicStack returns the panicking goroutine's stack for the warning, or nil
// when the state has no Warn sink: debug.Stack costs ~60 µs here, 40 times
// the rest of a caught error.
func panicStack(st *State) []byte {
	if st.opts.Warn == nil {
		return nil
	}
	return debug.Stack()
}

//export goRelease
func goRelease(sid, h C.int64_t) {
	defer func() { _ = recover() }() // a finalizer must never raise into Lua from Go
	st := stateByID(int64(sid))
	st.objs.release(int64(h))
}
