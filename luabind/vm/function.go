//go:build lua53

package vm

/*
#include "lrt.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
)

// Func is a Go function callable from Lua. It reads its arguments from c,
// pushes its results with c.Push*, and returns how many it pushed. A non-nil
// error is raised as a Lua error (by C, never from Go). It may instead return
// c.Yield(...).
type Func func(c *Call) (int, error)

// Function is a registered Func. Functions are registered once for the
// process (at package init) and shared by every state.
type Function struct {
	Name string
	fn   Func
	id   int64
}

var (
	funcMu  sync.Mutex
	funcTab atomic.Pointer[[]*Function] // copy-on-write: read lock-free by goCall
)

// NewFunction registers fn under name (used in messages) and returns it.
func NewFunction(name string, fn Func) *Function {
	funcMu.Lock()
	defer funcMu.Unlock()
	var cur []*Function
	if p := funcTab.Load(); p != nil {
		cur = *p
	}
	f := &Function{Name: name, fn: fn, id: int64(len(cur))}
	next := make([]*Function, len(cur)+1)
	copy(next, cur)
	next[len(cur)] = f
	funcTab.Store(&next)
	return f
}

func funcByID(id int64) *Function { return (*funcTab.Load())[id] }

// nTramp is the number of Go function ids with their own light C trampoline
// (lrt.c); later ones are pushed as a C closure holding the id.
const nTramp = C.LRT_NTRAMP
