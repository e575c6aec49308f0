//go:build lua53

package vm

/*
#include "lrt.h"
*/
import "C"

import (
	"encoding/binary"
	"sync"
	"unsafe"
)

// Deferral makes a write-only method cheaper to call. When a call passes
// every check C can make, C queues it instead of calling Go, and the
// state applies the queue, in order, before it next runs Go code that
// could see the effect: when the coroutine returns or yields to Go, and
// before any other Go function Lua calls. Lua sees no difference but the
// cost: a queued call is ~100 instructions of C, a call into Go ~900 of
// cgo machinery before the method's own work.
//
// C queues a call when it is made on the root thread of an invocation
// whose mask (Co.AllowDeferred) has the Guard bit, on the object the
// invocation allowed, with exactly Args arguments after it, all strings.
// Every other call is an ordinary call of the method's Fn, which must
// then do what Apply does, and raise what Apply cannot: Apply cannot
// fail, so the host only sets a mask bit when every such call would
// succeed.
type Deferral[T any] struct {
	Args  int    // string arguments after the object
	Guard uint32 // the mask bit the call needs
	// Apply does the call, with the object and the arguments; the state
	// is held. The strings may be kept, unless Transient.
	Apply func(T, []string)
	// ReturnsLen: the call returns the length in bytes of its last
	// argument (an integer), as a send does.
	ReturnsLen bool
	// Transient: the strings Apply gets are valid during the call only
	// (they are not copied: data sent once, not names used again).
	Transient bool
}

// deferred is a registered Deferral, by slot.
type deferred struct {
	nargs     int
	transient bool
	apply     func(v any, args []string)
}

var (
	deferMu  sync.Mutex
	deferTab [C.LRT_NDEFER]deferred
	deferN   int
)

// registerDeferred lets C queue the calls of f as d says. It reports false
// when it cannot (every slot taken): the method then always goes through
// Go, as any other.
func registerDeferred[T any](f *Function, d *Deferral[T]) bool {
	deferMu.Lock()
	defer deferMu.Unlock()
	if deferN >= len(deferTab) || d.Args < 0 || d.Args > C.LRT_MAXARGS-1 {
		return false
	}
	slot := deferN
	deferN++
	apply := d.Apply
	deferTab[slot] = deferred{nargs: d.Args, transient: d.Transient, apply: func(v any, args []string) { apply(v.(T), args) }}
	retlen := 0
	if d.ReturnsLen && d.Args > 0 {
		retlen = 1
	}
	C.lrt_set_deferred(C.int(slot), C.int64_t(f.id), C.int(d.Args+1), C.uint32_t(d.Guard), C.int(retlen))
	return true
}

// AllowDeferred lets C queue the deferred calls on the object of handle h
// (Class.Push's result) whose Guard bit is in mask, until the coroutine
// is closed.
func (co *Co) AllowDeferred(h int64, mask uint32) {
	co.c.defer_handle = C.int64_t(h)
	co.c.defer_mask = C.uint32_t(mask)
}

// applyDeferred applies the calls C queued, in order. It runs before Go
// code Lua can observe: see Deferral.
func (st *State) applyDeferred() {
	vm := st.vm
	n := int(vm.dqlen)
	if n == 0 {
		return
	}
	q := unsafe.Slice((*byte)(unsafe.Pointer(vm.dq)), n)
	// Emptied first: applying never calls Lua, so nothing is queued
	// meanwhile and q stays as it is.
	vm.dqlen = 0
	args := st.deferArgs[:0]
	for off := 0; off+16 <= n; {
		size := int(binary.LittleEndian.Uint32(q[off:]))
		slot := int(binary.LittleEndian.Uint32(q[off+4:]))
		h := int64(binary.LittleEndian.Uint64(q[off+8:]))
		if size < 16 || off+size > n || slot >= len(deferTab) {
			break // never: C writes what this reads
		}
		rec := q[off+16 : off+size]
		args = args[:0]
		for len(rec) >= 4 {
			l := int(binary.LittleEndian.Uint32(rec))
			if 4+l > len(rec) {
				break
			}
			if b := rec[4 : 4+l]; deferTab[slot].transient {
				args = append(args, unsafe.String(unsafe.SliceData(b), l))
			} else {
				args = append(args, st.strs.get(b))
			}
			rec = rec[4+l:]
		}
		if v, _, ok := st.objs.get(h); ok && len(args) == deferTab[slot].nargs {
			deferTab[slot].apply(v, args)
			st.deferApplied++
		}
		off += size
	}
	clear(args)
	st.deferArgs = args[:0]
}

// DeferredApplied counts the queued calls the state applied (for tests).
func (st *State) DeferredApplied() uint64 { return st.deferApplied }
