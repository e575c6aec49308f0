//go:build lua53

package vm

/*
#cgo pkg-config: lua5.3
// -fno-plt: lrt.c calls liblua through the GOT, one jump less per Lua API
// call (the trampoline makes several per argument).
#cgo CFLAGS: -fno-plt
#include "lrt.h"
*/
import "C"

import (
	"runtime/debug"
)

// The only Go functions C calls. Each recovers its own panics (State.call,
// goRelease): a Go panic never unwinds through a C frame, and a longjmp
// never crosses a Go frame (C acts on the verdict returned here).

//export goCall
func goCall(f *C.lrt_frame) C.int { return stateByID(int64(f.sid)).call(f, false) }

//export goContinue
func goContinue(f *C.lrt_frame) C.int { return stateByID(int64(f.sid)).call(f, true) }

// panicStack returns the panicking goroutine's stack for the warning, or nil
// when the state has no Warn sink: debug.Stack costs ~60 µs here, 40 times
// the rest of a caught error.
func panicStack(st *State) []byte {
	if st.opts.Warn == nil {
		return nil
	}
	return debug.Stack()
}

// goClassRef returns the registry reference of class idx's metatable in
// state sid, building it on first use (lrt_index, for a view), or -1 when
// it cannot be built.
//
//export goClassRef
func goClassRef(sid, idx C.int64_t) (ref C.int) {
	defer func() {
		if recover() != nil {
			ref = -1
		}
	}()
	return stateByID(int64(sid)).classRef(int32(idx))
}

//export goRelease
func goRelease(sid, h C.int64_t) {
	defer func() { _ = recover() }() // a finalizer must never raise into Lua from Go
	st := stateByID(int64(sid))
	st.objs.release(int64(h))
}
