//go:build lua53

package vm

/*
#include <stdlib.h>
#include "lrt.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	_ "github.com/aarzilli/golua/lua" // brings the lua53 link line; none of its run-time API is used
)

// Options configure a new State.
type Options struct {
	// MaxMem caps the bytes Lua may allocate (tune.lua.maxmem); 0 = no cap.
	MaxMem int64
	// ForcedYield is the count-hook period in VM instructions
	// (tune.lua.forced-yield); 0 = HAProxy's default 10000; < 0 = no hook.
	ForcedYield int
	// Warn receives one-line warnings (deprecated calls); nil = dropped.
	Warn func(msg string)
}

// State is one Lua state (HAProxy's "lua-load" state, or one per thread for
// lua-load-per-thread). All use of a State and its coroutines must be
// serialized by its lock: see Lock.
type State struct {
	mu   sync.Mutex
	id   int64
	vm   *C.lrt_vm
	opts Options

	objs      handles
	classRefs []C.int // per class index; 0 = not built yet
	cos       []*Co   // by Co.id-1
	freeCos   []int64
	pool      []*Co // finished coroutines kept for reuse

	calls [32]Call // reused Call values, indexed by nesting depth
	depth int

	strs strCache // Go copies of short string arguments (Call.String)

	// deferred calls (defer.go): the arguments of the one being applied,
	// and how many were
	deferArgs    []string
	deferApplied uint64
}

var (
	stateMu  sync.Mutex
	stateTab atomic.Pointer[[]*State]
)

func stateByID(id int64) *State { return (*stateTab.Load())[id] }

// NewState creates a Lua state with our allocator, the standard libraries
// (luaL_openlibs: pcall and xpcall included) and every registered class.
func NewState(opts Options) (*State, error) {
	st := &State{opts: opts}
	stateMu.Lock()
	var cur []*State
	if p := stateTab.Load(); p != nil {
		cur = *p
	}
	st.id = int64(len(cur))
	next := append(append([]*State(nil), cur...), st)
	stateTab.Store(&next)
	stateMu.Unlock()

	for i := range st.calls {
		st.calls[i].Pusher.st = st
	}
	st.vm = C.lrt_new(C.int64_t(st.id))
	if st.vm == nil {
		return nil, errors.New("lua: cannot create a state: out of memory")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.openLibs(); err != nil {
		return nil, err
	}
	hook := opts.ForcedYield
	if hook == 0 {
		hook = 10000
	}
	if hook < 0 {
		hook = 0
	}
	C.lrt_sethook_all(st.vm, C.int(hook))
	st.vm.limit = C.size_t(max(opts.MaxMem, 0))
	return st, nil
}

func (st *State) openLibs() error {
	// luaL_openlibs, run protected by lrt_openlibs.
	if C.lrt_openlibs(st.vm) != 0 {
		return errors.New("lua: cannot open the standard libraries")
	}
	b := st.builder()
	b.NewTable(0, 1)
	b.PushString("__gc")
	b.cfunc(cfuncGCHandle, 0)
	b.rawSet()
	b.refTop()
	refs, err := b.run()
	if err != nil {
		return err
	}
	st.vm.handle_mt = refs[0]
	return nil
}

// Lock acquires the state. Every method of State, Co and Pusher outside a
// Go function called by Lua requires it; inside such a function the caller
// already holds it.
func (st *State) Lock() { st.mu.Lock() }

// Unlock releases the state.
func (st *State) Unlock() { st.mu.Unlock() }

// TryLock tries to acquire the state without blocking.
func (st *State) TryLock() bool { return st.mu.TryLock() }

// Close frees the state. It must not be used afterwards.
func (st *State) Close() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.vm == nil {
		return
	}
	C.lrt_close(st.vm)
	st.vm = nil
	// the pooled coroutines' blocks (their threads went with the state)
	for _, co := range st.pool {
		C.free(unsafe.Pointer(co.c))
		co.c = nil
	}
	st.pool = nil
	stateMu.Lock()
	defer stateMu.Unlock()
	cur := *stateTab.Load()
	next := append([]*State(nil), cur...)
	next[st.id] = nil
	stateTab.Store(&next)
}

// ID is the state's process-wide number.
func (st *State) ID() int64 { return st.id }

// SetMaxMem changes the memory cap (0 = none).
func (st *State) SetMaxMem(n int64) { st.vm.limit = C.size_t(max(n, 0)) }

// SetForcedYield changes the count-hook period (0 = 10000, < 0 = no hook).
func (st *State) SetForcedYield(n int) {
	switch {
	case n == 0:
		n = 10000
	case n < 0:
		n = 0
	}
	C.lrt_sethook_all(st.vm, C.int(n))
}

// MemUsed returns the bytes currently allocated by Lua.
func (st *State) MemUsed() int64 { return int64(st.vm.used) }

// smallCacheMax bounds the allocator's cache of freed small blocks.
const smallCacheMax = C.LRT_CACHE_MAX

// MemPeak returns the highest MemUsed seen.
func (st *State) MemPeak() int64 { return int64(st.vm.peak) }

// GC runs a full garbage collection (finalizers run protected).
func (st *State) GC() {
	C.lrt_gc(st.vm, C.LUA_GCCOLLECT, 0)
	st.applyDeferred() // a finalizer may have queued calls
}

// StackTop returns the main thread's stack top (0 when balanced; for tests).
func (st *State) StackTop() int { return int(C.lua_gettop(st.vm.L)) }

// LiveHandles counts Go values currently reachable from Lua objects.
func (st *State) LiveHandles() int { return st.objs.live() }

func (st *State) warnf(format string, a ...any) {
	if st.opts.Warn != nil {
		st.opts.Warn(fmt.Sprintf(format, a...))
	}
}

// classRef returns the registry ref of class idx's metatable, building it
// in this state on first use.
func (st *State) classRef(idx int32) C.int {
	if int(idx) < len(st.classRefs) && st.classRefs[idx] != 0 {
		return st.classRefs[idx]
	}
	defs := snapshotClasses()
	for len(st.classRefs) < len(defs) {
		st.classRefs = append(st.classRefs, 0)
	}
	b := st.builder()
	buildClass(&b.Pusher, defs[idx])
	refs, err := b.run()
	if err != nil {
		panic("lua: cannot build class " + defs[idx].name + ": " + err.Error())
	}
	st.classRefs[idx] = refs[0]
	return refs[0]
}

func (st *State) className(idx int32) string {
	defs := snapshotClasses()
	if int(idx) < len(defs) {
		return defs[idx].name
	}
	return "?"
}

// Ref anchors a Lua value so that Go can keep it (e.g. a registered callback).
type Ref int32

// NoRef is the zero reference (LUA_NOREF).
const NoRef Ref = -2

// Unref releases r.
func (st *State) Unref(r Ref) {
	if r > 0 {
		C.lrt_unref(st.vm, C.int(r))
	}
}

// Builder runs ops on the main thread for the host's own set-up (globals,
// classes). Values left on the stack are discarded; refs taken with
// RefTop are returned by Run.
type Builder struct {
	Pusher
	start C.size_t
}

func (st *State) builder() *Builder {
	return &Builder{Pusher: Pusher{st: st}, start: st.vm.opslen}
}

func (b *Builder) run() ([]C.int, error) {
	vm := b.st.vm
	if C.lrt_push_ops(vm, vm.L, b.start) != C.LUA_OK {
		return nil, errors.New(C.GoStringN(vm.out, C.int(vm.outlen)))
	}
	n := int(vm.outlen) / 4
	refs := make([]C.int, n)
	if n > 0 {
		raw := unsafe.Slice((*int32)(unsafe.Pointer(vm.out)), n)
		for i := range raw {
			refs[i] = C.int(raw[i])
		}
	}
	return refs, nil
}

// SetGlobal sets the global name to the value pushed by value (host set-up;
// requires the lock).
func (st *State) SetGlobal(name string, value func(p *Pusher)) error {
	b := st.builder()
	b.PushGlobals()
	b.PushString(name)
	value(&b.Pusher)
	b.rawSet()
	_, err := b.run()
	return err
}
