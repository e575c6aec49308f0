//go:build lua53

package luabind

import (
	"errors"
	"sort"

	"luaproxy/core/pattern"
	"luaproxy/luabind/vm"
)

// Patref is the Lua "Patref" class (core.get_patref()): a script's handle
// on a pattern reference (a map or ACL file), shared with the runtime
// API's map and ACL commands. prepare() starts a private version that
// add/set/del edit until commit() swaps it in atomically or giveup()
// drops it.
type Patref struct {
	ref     *pattern.Ref
	pending []pattern.Entry // the prepared version; nil when none
	prep    bool
}

var patrefClass = declareClass(&vm.Class[*Patref]{
	Name: "Patref",
	Methods: []vm.Method[*Patref]{
		{Name: "get_name", Fn: (*Patref).luaGetName},
		{Name: "is_map", Fn: (*Patref).luaIsMap},
		{Name: "purge", Fn: (*Patref).luaPurge},
		{Name: "prepare", Fn: (*Patref).luaPrepare},
		{Name: "commit", Fn: (*Patref).luaCommit},
		{Name: "giveup", Fn: (*Patref).luaGiveup},
		{Name: "add", Fn: (*Patref).luaAdd},
		{Name: "add_bulk", Fn: (*Patref).luaAddBulk},
		{Name: "del", Fn: (*Patref).luaDel},
		{Name: "set", Fn: (*Patref).luaSet},
		{Name: "event_sub", Fn: (*Patref).luaEventSub},
	},
	Owned: true,
})

// luaCoreGetPatref implements core.get_patref(name): the Patref of the
// reference name (a file name as written in the configuration), or nil.
// It never yields.
func luaCoreGetPatref(c *vm.Call) (int, error) {
	name, err := c.String(1)
	if err != nil {
		return 0, err
	}
	ref, ok := pattern.Lookup(name)
	if !ok {
		c.PushNil()
		return 1, nil
	}
	patrefClass.Push(&c.Pusher, &Patref{ref: ref})
	return 1, nil
}

// luaGetName implements Patref.get_name(ref). It never yields.
func (p *Patref) luaGetName(c *vm.Call) (int, error) {
	c.PushString(p.ref.Name)
	return 1, nil
}

// luaIsMap implements Patref.is_map(ref). It never yields.
func (p *Patref) luaIsMap(c *vm.Call) (int, error) {
	c.PushBool(p.ref.IsMap)
	return 1, nil
}

// luaPurge implements Patref.purge(ref): removes every live entry at once
// (no commit needed). It never yields.
func (p *Patref) luaPurge(c *vm.Call) (int, error) {
	p.ref.Clear()
	return 0, nil
}

// luaPrepare implements Patref.prepare(ref): a new, empty pending version.
// It never yields.
func (p *Patref) luaPrepare(c *vm.Call) (int, error) {
	p.pending, p.prep = nil, true
	return 0, nil
}

// luaCommit implements Patref.commit(ref): the pending version replaces
// the live one atomically. It returns true, or nil and an error. It never
// yields.
func (p *Patref) luaCommit(c *vm.Call) (int, error) {
	if !p.prep {
		return pushFail(c, "no pending version to commit (call prepare() first)")
	}
	err := p.ref.Replace(p.pending)
	p.pending, p.prep = nil, false
	if err != nil {
		return pushFail(c, err.Error())
	}
	c.PushBool(true)
	return 1, nil
}

// luaGiveup implements Patref.giveup(ref): drops the pending version. It
// never yields.
func (p *Patref) luaGiveup(c *vm.Call) (int, error) {
	p.pending, p.prep = nil, false
	return 0, nil
}

func pushFail(c *vm.Call, msg string) (int, error) {
	c.PushNil()
	c.PushString(msg)
	return 2, nil
}

func (p *Patref) add(key, value string) error {
	if p.prep {
		p.pending = append(p.pending, pattern.Entry{Key: key, Value: value})
		return nil
	}
	return p.ref.Add(key, value)
}

// luaAdd implements Patref.add(ref, key[, value]): true, or nil and an
// error. It never yields.
func (p *Patref) luaAdd(c *vm.Call) (int, error) {
	key, err := c.String(2)
	if err != nil {
		return 0, err
	}
	value, err := c.OptString(3, "")
	if err != nil {
		return 0, err
	}
	if p.ref.IsMap && c.IsNoneOrNil(3) {
		return 0, c.ArgError(3, "string expected, got no value")
	}
	if err := p.add(key, value); err != nil {
		return pushFail(c, err.Error())
	}
	c.PushBool(true)
	return 1, nil
}

// luaAddBulk implements Patref.add_bulk(ref, table): for an ACL the
// table's values are keys; for a map its key/value pairs. It returns true,
// or nil and an error (entries before the failing one stay). It never
// yields.
func (p *Patref) luaAddBulk(c *vm.Call) (int, error) {
	if err := c.CheckType(2, vm.TypeTable); err != nil {
		return 0, err
	}
	tbl, _ := c.Value(2).(map[any]any)
	type kv struct{ k, v string }
	var list []kv
	for k, v := range tbl {
		vs, ok := v.(string)
		if !ok {
			return 0, c.ArgError(2, "table of strings expected")
		}
		if p.ref.IsMap {
			ks, ok := k.(string)
			if !ok {
				return 0, c.ArgError(2, "table of string pairs expected")
			}
			list = append(list, kv{ks, vs})
		} else {
			list = append(list, kv{vs, ""})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].k < list[j].k }) // deterministic order
	for _, e := range list {
		if err := p.add(e.k, e.v); err != nil {
			return pushFail(c, err.Error())
		}
	}
	c.PushBool(true)
	return 1, nil
}

// luaDel implements Patref.del(ref, key): removes every entry with key;
// true if there was one. It never yields.
func (p *Patref) luaDel(c *vm.Call) (int, error) {
	key, err := c.String(2)
	if err != nil {
		return 0, err
	}
	n := 0
	if p.prep {
		kept := p.pending[:0]
		for _, e := range p.pending {
			if e.Key == key {
				n++
				continue
			}
			kept = append(kept, e)
		}
		p.pending = kept
	} else {
		n = p.ref.Del(key)
	}
	c.PushBool(n > 0)
	return 1, nil
}

var errNoEntry = errors.New("entry not found")

// luaSet implements Patref.set(ref, key, value[, force]): sets the value
// of every entry with key, adding one with force. It returns true, or nil
// and an error. It never yields.
func (p *Patref) luaSet(c *vm.Call) (int, error) {
	key, err := c.String(2)
	if err != nil {
		return 0, err
	}
	value, err := c.String(3)
	if err != nil {
		return 0, err
	}
	force := c.Bool(4)
	n := 0
	if p.prep {
		for i := range p.pending {
			if p.pending[i].Key == key {
				p.pending[i].Value = value
				n++
			}
		}
	} else if n, err = p.ref.Set(key, value); err != nil {
		return pushFail(c, err.Error())
	}
	if n == 0 {
		if !force {
			return pushFail(c, errNoEntry.Error())
		}
		if err := p.add(key, value); err != nil {
			return pushFail(c, err.Error())
		}
	}
	c.PushBool(true)
	return 1, nil
}
