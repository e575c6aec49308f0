//go:build lua53

package luabind

import (
	"fmt"

	"luaproxy/luabind/vm"
)

// Concat is the Lua "Concat" class (core.concat()): a string builder. The
// bytes live in a Go slice that grows by doubling, so n calls to add cost
// O(total length), where Lua's ".." in a loop copies the whole string each
// time.
//
// HAProxy keeps its buffer in Lua memory, counted by tune.lua.maxmem; here
// it is Go memory, so add refuses to grow one buffer past what maxmem still
// leaves to the state (the total of several buffers is not counted).
type Concat struct {
	buf []byte
}

var concatClass = declareClass(&vm.Class[*Concat]{
	Name: "Concat",
	Methods: []vm.Method[*Concat]{
		{Name: "add", Fn: (*Concat).luaAdd},
		{Name: "dump", Fn: (*Concat).luaDump},
	},
	Meta: []vm.Method[*Concat]{
		{Name: "__tostring", Fn: (*Concat).luaToString},
	},
	Owned: true, // lives as long as the script keeps it
})

// luaCoreConcat implements core.concat(): a new, empty Concat object.
// Arguments are ignored, as in HAProxy. It never yields.
func luaCoreConcat(c *vm.Call) (int, error) {
	concatClass.Push(&c.Pusher, &Concat{})
	return 1, nil
}

// luaAdd implements Concat.add(concat, string): appends string (a number
// is converted, as luaL_checklstring does). It returns nothing. It never
// yields.
func (cc *Concat) luaAdd(c *vm.Call) (int, error) {
	s, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	if need := len(cc.buf) + len(s); need > cap(cc.buf) {
		if ls := lsOf(c); ls != nil && ls.rt.Settings.MaxMem > 0 && int64(need)+ls.MemUsed() > ls.rt.Settings.MaxMem {
			return 0, vm.RawError("not enough memory")
		}
	}
	cc.buf = append(cc.buf, s...)
	return 0, nil
}

// luaDump implements Concat.dump(concat): the string built so far. It never
// yields.
func (cc *Concat) luaDump(c *vm.Call) (int, error) {
	c.PushBytes(cc.buf)
	return 1, nil
}

// luaToString implements tostring(concat): "Concat object: 0x...", the
// shape of HAProxy's (the address is the Go object's).
func (cc *Concat) luaToString(c *vm.Call) (int, error) {
	c.PushString(fmt.Sprintf("Concat object: %p", cc))
	return 1, nil
}
