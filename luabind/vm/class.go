//go:build lua53

package vm

/*
#include "lrt.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Method is one Lua method of a class: Fn receives the object (argument 1,
// already checked) and the call.
type Method[T any] struct {
	Name string
	Fn   func(T, *Call) (int, error)
	// Defer, when set, lets C queue the method's calls (see Deferral). Not
	// for a class with a Guard, nor for Deprecated, Fields or Meta.
	Defer *Deferral[T]
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
	// Views are fields whose value is an object of another class over the
	// same Go value, as txn.f is a Fetches over its TXN. C makes them on
	// first access, without a call into Go, and caches them like Fields.
	Views []View[T]
	// Meta are metamethods (__gc is reserved; __tostring defaults to Name).
	Meta []Method[T]
	// Guard, when set, runs before every method and may refuse the call.
	Guard func(T, *Call) error
	// Owned objects are kept alive by Lua: the Go value is released when the
	// Lua object is collected. Otherwise the host scopes the value to the
	// invocation that pushed it (Co.Close releases it).
	Owned bool
	// Lent objects, pushed once per invocation (a TXN, an applet), reuse
	// the table the invocation's thread gave its previous invocation,
	// emptied of every field, instead of a new one: no allocation and no
	// garbage per request. A script cannot tell, unless it keeps the
	// object past its invocation (it then sees a later one) or uses it as
	// a table key across invocations. Not for Owned classes.
	Lent bool

	once sync.Once
	idx  int32
	// bases are 1 + the indexes of the classes this one is a view of
	// (0: none): their objects' handles are accepted as this class's.
	bases [maxBases]atomic.Int32
}

// View is a field of a class whose value is an object of Class over the
// same Go value. A class is a view of at most maxBases other classes; it
// may also have objects of its own (Push).
type View[T any] struct {
	Name  string
	Class *Class[T]
}

// classDef is the non-generic view of a Class used when building states.
type classDef struct {
	name    string
	methods []fnEntry
	fields  []fnEntry
	views   []viewEntry
	meta    []fnEntry
	owned   bool
	hasTS   bool
}

type fnEntry struct {
	name string
	fn   *Function
}

type viewEntry struct {
	name string
	idx  int32 // the view's class
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
			f := wrap(m, false)
			if m.Defer != nil && cl.Guard == nil {
				registerDeferred(f, m.Defer)
			}
			d.methods = append(d.methods, fnEntry{m.Name, f})
		}
		for _, m := range cl.Deprecated {
			d.methods = append(d.methods, fnEntry{m.Name, wrap(m, true)})
		}
		for _, m := range cl.Fields {
			d.fields = append(d.fields, fnEntry{m.Name, wrap(m, false)})
		}
		for _, v := range cl.Views {
			v.Class.register()
			d.views = append(d.views, viewEntry{v.Name, v.Class.idx})
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
		for _, v := range cl.Views {
			v.Class.addBase(cl.idx)
		}
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
	for _, v := range cl.Views {
		out = append(out, v.Name)
	}
	return out
}

// check returns the Go value of the object at index i.
func (cl *Class[T]) check(c *Call, i int, method string) (T, error) {
	var zero T
	h, ok := c.handle(i)
	if !ok {
		// HAProxy compat: hlua_checkudata raises luaL_argerror with no
		// message, which Lua prints as "(null)"
		return zero, c.ArgError(i, "(null)")
	}
	v, idx, live := c.st.objs.get(h)
	if !live {
		return zero, fmt.Errorf("'%s': the %s object is no longer valid", method, cl.Name)
	}
	if idx != cl.idx && !cl.viewOf(idx) {
		return zero, c.ArgError(i, "(null)")
	}
	return v.(T), nil
}

// maxBases bounds the classes a class is a view of.
const maxBases = 4

// addBase makes cl a view of class idx. Called under classMu.
func (cl *Class[T]) addBase(idx int32) {
	for i := range cl.bases {
		switch cl.bases[i].Load() {
		case idx + 1:
			return
		case 0:
			cl.bases[i].Store(idx + 1)
			return
		}
	}
	panic("lua: class " + cl.Name + " is a view of too many classes")
}

// viewOf reports whether cl is a view of class idx.
func (cl *Class[T]) viewOf(idx int32) bool {
	for i := range cl.bases {
		switch cl.bases[i].Load() {
		case idx + 1:
			return true
		case 0:
			return false
		}
	}
	return false
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
	lend := int32(-1)
	if cl.Lent && !cl.Owned {
		lend = cl.idx
	}
	p.object(ref, h, cl.Owned, min(len(cl.Fields)+len(cl.Views), 3), lend)
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
	if len(d.fields)+len(d.views) > 0 {
		// name -> builder function, or the metatable of a view
		b.NewTable(0, len(d.fields)+len(d.views))
		for _, m := range d.fields {
			b.PushString(m.name)
			b.PushFunction(m.fn)
			b.rawSet()
		}
		for _, v := range d.views {
			// the view's class, whose metatable lrt_index builds on
			// first use (a script that never reads txn.f does not have
			// the Fetches methods in its heap, for each full GC to walk)
			b.PushString(v.name)
			b.PushInteger(int64(v.idx))
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
