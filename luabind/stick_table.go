//go:build lua53

package luabind

import (
	"errors"
	"strings"

	"luaproxy/core/stktable"
	"luaproxy/luabind/vm"
)

// StickTable is the Lua "StickTable" class (Proxy.stktable): read access
// to a proxy's stick table.
type StickTable struct {
	t *stktable.Table
}

var stickTableClass = declareClass(&vm.Class[*StickTable]{
	Name: "StickTable",
	Methods: []vm.Method[*StickTable]{
		{Name: "info", Fn: (*StickTable).luaInfo},
		{Name: "lookup", Fn: (*StickTable).luaLookup},
		{Name: "dump", Fn: (*StickTable).luaDump},
	},
})

// luaInfo implements StickTable.info(): {type, length, size, used,
// nopurge, expire (ms), data = {type = period ms or -1}}. It never yields.
func (st *StickTable) luaInfo(c *vm.Call) (int, error) {
	t := st.t
	p := &c.Pusher
	p.NewTable(0, 7)
	p.FieldString("type", t.Type.String())
	length := int64(t.KeyLen)
	p.FieldInteger("length", length)
	p.FieldInteger("size", int64(t.Size))
	p.FieldInteger("used", int64(t.Len()))
	p.Field("nopurge", func() { p.PushBool(t.NoPurge) })
	p.FieldInteger("expire", t.Expire.Milliseconds())
	p.Field("data", func() {
		p.NewTable(0, len(t.Store))
		for _, d := range t.Store {
			period := int64(-1)
			if d.IsRate() {
				period = t.Periods[d].Milliseconds()
			}
			p.FieldInteger(dataName(d), period)
		}
	})
	return 1, nil
}

// dataName is the data type's name without its "(period)" part.
func dataName(d stktable.DataType) string {
	n := d.String()
	if i := strings.IndexByte(n, '('); i >= 0 {
		n = n[:i]
	}
	return n
}

func (st *StickTable) pushEntry(p *vm.Pusher, s stktable.Snapshot) {
	p.NewTable(0, len(st.t.Store)+1)
	p.FieldInteger("use", int64(s.Use))
	p.FieldInteger("expire", s.Exp)
	for _, d := range st.t.Store {
		p.FieldInteger(dataName(d), s.Values[d])
	}
}

// luaLookup implements StickTable.lookup(key): the entry's data (with
// "use" and "expire"), or nil. It never yields.
func (st *StickTable) luaLookup(c *vm.Call) (int, error) {
	key, err := c.String(2)
	if err != nil {
		return 0, err
	}
	k, err := st.t.ParseKey(key)
	if err != nil {
		c.PushNil()
		return 1, nil
	}
	for _, s := range st.t.Entries() {
		if s.Key == k {
			st.pushEntry(&c.Pusher, s)
			return 1, nil
		}
	}
	c.PushNil()
	return 1, nil
}

// stFilter is one {"data_type", "op", value} of dump's filter.
type stFilter struct {
	d  stktable.DataType
	op string
	v  int64
}

func (f stFilter) accept(s stktable.Snapshot) bool {
	x := s.Values[f.d]
	switch f.op {
	case "eq":
		return x == f.v
	case "ne":
		return x != f.v
	case "le":
		return x <= f.v
	case "lt":
		return x < f.v
	case "ge":
		return x >= f.v
	}
	return x > f.v // gt
}

// luaDump implements StickTable.dump([filter]): {key = entry data}, for
// the entries passing up to 4 {type, op, value} comparisons. It never
// yields.
func (st *StickTable) luaDump(c *vm.Call) (int, error) {
	var filters []stFilter
	if !c.IsNoneOrNil(2) {
		ft, ok := c.Value(2).(map[any]any)
		if !ok {
			return 0, c.ArgError(2, "table expected")
		}
		for i := int64(1); ; i++ {
			raw, ok := ft[i]
			if !ok {
				break
			}
			if i > 4 {
				return 0, errors.New("filter table too large, maximum is 4 entries")
			}
			f, ok := raw.(map[any]any)
			name, _ := f[int64(1)].(string)
			op, _ := f[int64(2)].(string)
			v, vok := f[int64(3)].(int64)
			d, dok := stktable.ParseDataType(name)
			if !ok || !dok || !vok || !st.t.Stores(d) {
				return 0, errors.New("invalid filter: expects {data type, operator, integer}")
			}
			switch op {
			case "eq", "ne", "le", "lt", "ge", "gt":
			default:
				return 0, errors.New("invalid filter operator '" + op + "'")
			}
			filters = append(filters, stFilter{d, op, v})
		}
	}
	entries := st.t.Entries()
	p := &c.Pusher
	p.NewTable(0, len(entries))
next:
	for _, s := range entries {
		for _, f := range filters {
			if !f.accept(s) {
				continue next
			}
		}
		p.Field(st.t.FormatKey(s.Key), func() { st.pushEntry(p, s) })
	}
	return 1, nil
}
