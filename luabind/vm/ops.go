//go:build lua53

package vm

/*
#include "lrt.h"
*/
import "C"

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// Op codes understood by exec_ops in lrt.c. Go never pushes a value with a
// Lua API call that may allocate (and so run a GC step, a finalizer, and
// raise across Go frames): it appends ops to the state's C buffer, and C
// pushes them once Go has returned, or under lua_pcall for the host.
const (
	opNil        = 1
	opBool       = 2
	opInt        = 3
	opNum        = 4
	opStr        = 5
	opValue      = 6
	opRef        = 7
	opTable      = 8
	opRawSet     = 9
	opRawSetI    = 10
	opObject     = 11
	opFunc       = 12
	opPop        = 13
	opSetMeta    = 14
	opGlobals    = 15
	opRefTop     = 16
	opCFunc      = 17
	opSetMetaTop = 18
)

// C helpers reachable with opCFunc (index in lrt.c's cfuncs).
const (
	cfuncIndex    = 0
	cfuncTostring = 1
	cfuncGCHandle = 2
)

// Pusher appends values to push onto a Lua stack. It is embedded in Call
// (results of a Go function), Co (arguments of an invocation) and Builder
// (host set-up). Table helpers follow the Lua stack discipline: NewTable
// pushes a table, SetField/SetIndex pop the value pushed after it.
type Pusher struct {
	st *State
	co *Co // request-scoped objects pushed here are released with co
	n  int // net number of values pushed
}

// scope ties a request-scoped handle to the pusher's invocation; without one
// (host set-up) the object lives as long as the state.
func (p *Pusher) scope(h int64) {
	if p.co != nil {
		p.co.handles = append(p.co.handles, h)
	}
}

func (p *Pusher) buf(need int) []byte {
	vm := p.st.vm
	if int(vm.opscap)-int(vm.opslen) < need {
		if C.lrt_ops_grow(vm, C.size_t(need)) == 0 {
			panic("lua: out of memory growing the op buffer")
		}
	}
	all := unsafe.Slice((*byte)(unsafe.Pointer(vm.ops)), int(vm.opscap))
	return all[int(vm.opslen):]
}

func (p *Pusher) emit(_ []byte, used int) { p.st.vm.opslen += C.size_t(used) }

func (p *Pusher) op0(op byte, delta int) {
	b := p.buf(1)
	b[0] = op
	p.emit(b, 1)
	p.n += delta
}

func (p *Pusher) op32(op byte, v int32, delta int) {
	b := p.buf(5)
	b[0] = op
	binary.LittleEndian.PutUint32(b[1:], uint32(v))
	p.emit(b, 5)
	p.n += delta
}

func (p *Pusher) op64(op byte, v uint64, delta int) {
	b := p.buf(9)
	b[0] = op
	binary.LittleEndian.PutUint64(b[1:], v)
	p.emit(b, 9)
	p.n += delta
}

// PushNil pushes nil.
func (p *Pusher) PushNil() { p.op0(opNil, 1) }

// PushBool pushes a boolean.
func (p *Pusher) PushBool(v bool) {
	b := p.buf(2)
	b[0] = opBool
	b[1] = 0
	if v {
		b[1] = 1
	}
	p.emit(b, 2)
	p.n++
}

// PushInteger pushes a Lua integer.
func (p *Pusher) PushInteger(v int64) { p.op64(opInt, uint64(v), 1) }

// PushNumber pushes a Lua float.
func (p *Pusher) PushNumber(v float64) { p.op64(opNum, math.Float64bits(v), 1) }

// PushString pushes a copy of s.
func (p *Pusher) PushString(s string) {
	b := p.buf(5 + len(s))
	b[0] = opStr
	binary.LittleEndian.PutUint32(b[1:], uint32(len(s)))
	copy(b[5:], s)
	p.emit(b, 5+len(s))
	p.n++
}

// PushBytes pushes a copy of s as a Lua string.
func (p *Pusher) PushBytes(s []byte) { p.PushString(unsafe.String(unsafe.SliceData(s), len(s))) }

// PushValue pushes a copy of the value at stack index i of the running call.
func (p *Pusher) PushValue(i int) { p.op32(opValue, int32(i), 1) }

// PushRef pushes the value anchored by r.
func (p *Pusher) PushRef(r Ref) { p.op32(opRef, int32(r), 1) }

// NewTable pushes a new table with room for narr array and nrec hash items.
func (p *Pusher) NewTable(narr, nrec int) {
	b := p.buf(9)
	b[0] = opTable
	binary.LittleEndian.PutUint32(b[1:], uint32(narr))
	binary.LittleEndian.PutUint32(b[5:], uint32(nrec))
	p.emit(b, 9)
	p.n++
}

// rawSet pops a key and a value and stores t[key] = value in the table
// below them (lua_rawset). Field is the exported form.
func (p *Pusher) rawSet() { p.op0(opRawSet, -2) }

// Field pushes key k, then calls value to push the value, then stores it
// into the table on top (raw set).
func (p *Pusher) Field(k string, value func()) {
	p.PushString(k)
	value()
	p.rawSet()
}

// FieldString is Field with a string value.
func (p *Pusher) FieldString(k, v string) {
	p.PushString(k)
	p.PushString(v)
	p.rawSet()
}

// FieldInteger is Field with an integer value.
func (p *Pusher) FieldInteger(k string, v int64) {
	p.PushString(k)
	p.PushInteger(v)
	p.rawSet()
}

// SetIndex pops a value and stores it as t[i] in the table below it (raw).
func (p *Pusher) SetIndex(i int64) { p.op64(opRawSetI, uint64(i), -1) }

// Pop pops n values.
func (p *Pusher) Pop(n int) { p.op32(opPop, int32(n), -n) }

// PushFunction pushes a Go function as a Lua function.
func (p *Pusher) PushFunction(f *Function) { p.op64(opFunc, uint64(f.id), 1) }

// PushGlobals pushes the globals table _G.
func (p *Pusher) PushGlobals() { p.op0(opGlobals, 1) }

func (p *Pusher) setMetaRef(ref C.int) { p.op32(opSetMeta, int32(ref), 0) }

func (p *Pusher) setMetaTop() { p.op0(opSetMetaTop, -1) }

func (p *Pusher) refTop() { p.op0(opRefTop, -1) }

func (p *Pusher) cfunc(which byte, nup int) {
	b := p.buf(6)
	b[0] = opCFunc
	b[1] = which
	binary.LittleEndian.PutUint32(b[2:], uint32(nup))
	p.emit(b, 6)
	p.n += 1 - nup
}

// object pushes an object of a class: a table holding the handle h at
// [0], with room for the first fields to be cached without resizing it;
// lend is the class when the invocation's thread lends its objects
// (Class.Lent), else -1.
func (p *Pusher) object(classRef C.int, h int64, owned bool, fields int, lend int32) {
	b := p.buf(19)
	b[0] = opObject
	binary.LittleEndian.PutUint32(b[1:], uint32(classRef))
	binary.LittleEndian.PutUint64(b[5:], uint64(h))
	b[13] = 0
	if owned {
		b[13] = 1
	}
	b[14] = byte(fields)
	binary.LittleEndian.PutUint32(b[15:], uint32(lend))
	p.emit(b, 19)
	p.n++
}
