//go:build lua53

package vm

/*
#include "lrt.h"
*/
import "C"

import (
	"fmt"
	"sync"
)

// Method is one Lua method of a class: Fn receives the object (argument 1,
// already checked) and the call.
type Method[T any] struct {
	Name string
	Fn   func(T, *Call) (int, error)
}

// Class describes a Lua class in HAProxy's object model: an object is a table
// whose [0] holds a handle to the Go value, with the class metatable giving
// its methods through __index and its name through __tostring.
type Class[T any] struct {
	Name string // as HAProxy spells it, e.g. "Channel"

	// Methods are called as obj:name(...); registration order is kept.
	Methods []Method[T]
	// Deprecated methods work like Methods and log a warning once per state.
	Deprecated []Method[T]
	// Fields are built on first access (obj.name) by Fn, which pushes one
	// value; the value is then cached in the object table.
	Fields []Method[T]
	// Meta are metamethods (__gc is reserved; __tostring defaults to Name).
	Meta []Method[T]
	// Guard, when set, runs before every method and may refuse the call.
	Guard func(T, *Call) error
	// Owned objects are kept alive by Lua: the Go value is released when the
	// Lua object is collected. Otherwise the host scopes the value to the
	// invocation that pushed it (Co.Close releases it).
	Owned bool

	once sync.Once
	idx  int32
}

// classDef is the non-generic view of a Class used when building states.
type classDef struct {
	name    string
	methods []fnEntry
	fields  []fnEntry
	meta    []fnEntry
	owned   bool
	hasTS   bool
}

type fnEntry struct {
	name string
	fn   *Function
}

var (
	classMu sync.Mutex
	classes []*classDef
)

// classCount is read by NewState under classMu.
func snapshotClasses() []*classDef {
	classMu.Lock()
	defer classMu.Unlock()
	return append([]*classDef(nil), classes...)
}

// register makes the class known to every state created afterwards. It is
// idempotent and called lazily by the first use of the class.
func (cl *Class[T]) register() {
	cl.once.Do(func() {
		d := &classDef{name: cl.Name, owned: cl.Owned}
		wrap := func(m Method[T], deprecated bool) *Function {
			name := cl.Name + "." + m.Name
			fn := m.Fn
			var warned sync.Map // per state id: warn once
			return NewFunction(name, func(c *Call) (int, error) {
				self, err := cl.check(c, 1, m.Name)
				if err != nil {
					return 0, err
				}
				if deprecated {
					if _, dup := warned.LoadOrStore(c.st.id, true); !dup {
						c.st.warnf("Lua: %s:%s() is deprecated", cl.Name, m.Name)
					}
				}
				if cl.Guard != nil {
					if err := cl.Guard(self, c); err != nil {
						return 0, err
					}
				}
				return fn(self, c)
			})
		}
		for _, m := range cl.Methods {
			d.methods = append(d.methods, fnEntry{m.Name, wrap(m, false)})
		}
		for _, m := range cl.Deprecated {
			d.methods = append(d.methods, fnEntry{m.Name, wrap(m, true)})
		}
		for _, m := range cl.Fields {
			d.fields = append(d.fields, fnEntry{m.Name, wrap(m, false)})
		}
		for _, m := range cl.Meta {
			if m.Name == "__tostring" {
				d.hasTS = true
			}
			d.meta = append(d.meta, fnEntry{m.Name, wrap(m, false)})
		}
		classMu.Lock()
		cl.idx = int32(len(classes))
		classes = append(classes, d)
		classMu.Unlock()
	})
}

// MethodNames lists the Lua names of the class's methods and fields (for
// the API manifest test).
func (cl *Class[T]) MethodNames() []string {
	var out []string
	for _, m := range cl.Methods {
		out = append(out, m.Name)
	}
	for _, m := range cl.Deprecated {
		out = append(out, m.Name)
	}
	for _, m := range cl.Fields {
		out = append(out, m.Name)
	}
	return out
}

// check returns the Go value of the object at index i.
func (cl *Class[T]) check(c *Call, i int, method string) (T, error) {
	var zero T
	h, ok := c.handle(i)
	if !ok {
		return zero, c.ArgError(i, fmt.Sprintf("%s expected, got %s", cl.Name, c.TypeName(i)))
	}
	v, idx, live := c.st.objs.get(h)
	if !live {
		return zero, fmt.Errorf("'%s': the %s object is no longer valid", method, cl.Name)
	}
	if idx != cl.idx {
		return zero, c.ArgError(i, fmt.Sprintf("%s expected, got %s", cl.Name, c.st.className(idx)))
	}
	return v.(T), nil
}

// Check returns the Go value of the object of class cl at argument i.
func (cl *Class[T]) Check(c *Call, i int) (T, error) {
	cl.register()
	return cl.check(c, i, "?")
}

// Push pushes a new Lua object of class cl wrapping v.
func (cl *Class[T]) Push(p *Pusher, v T) int64 {
	cl.register()
	st := p.st
	ref := st.classRef(cl.idx)
	h := st.objs.add(v, cl.idx)
	if !cl.Owned {
		p.scope(h)
	}
	p.object(ref, h, cl.Owned, min(len(cl.Fields), 3))
	return h
}

// buildClass emits the ops that build the metatable of d and anchor it.
func buildClass(b *Pusher, d *classDef) {
	b.NewTable(0, 4+len(d.meta))
	b.PushString("__index")
	b.NewTable(0, len(d.methods))
	for _, m := range d.methods {
		b.PushString(m.name)
		b.PushFunction(m.fn)
		b.rawSet()
	}
	if len(d.fields) > 0 {
		b.NewTable(0, len(d.fields))
		for _, m := range d.fields {
			b.PushString(m.name)
			b.PushFunction(m.fn)
			b.rawSet()
		}
		b.cfunc(cfuncIndex, 2)
	}
	b.rawSet()
	if !d.hasTS {
		b.PushString("__tostring")
		b.PushString(d.name)
		b.cfunc(cfuncTostring, 1)
		b.rawSet()
	}
	for _, m := range d.meta {
		b.PushString(m.name)
		b.PushFunction(m.fn)
		b.rawSet()
	}
	b.refTop()
}
