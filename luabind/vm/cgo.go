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
func goCall(f *C.lrt_frame) (r C.int) {
	st := stateByID(int64(f.sid))
	c := st.enter(f)
	defer st.leave(c, &r)
	n, err := funcByID(int64(f.fid)).fn(c)
	if err != nil {
		return c.verdict(err)
	}
	return C.int(n) // n < 0 only comes from Yield
}

//export goContinue
func goContinue(f *C.lrt_frame) (r C.int) {
	st := stateByID(int64(f.sid))
	c := st.enter(f)
	defer st.leave(c, &r)
	co := c.Pusher.co
	if co == nil || co.cont == nil {
		return c.verdict(fmt.Errorf("lua: resumed a coroutine with no pending continuation"))
	}
	k := co.cont
	co.cont = nil
	n, err := k(c)
	if err != nil {
		return c.verdict(err)
	}
	return C.int(n)
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
