//go:build lua53

package luabind

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"luaproxy/core/pattern"
	"luaproxy/luabind/vm"
)

// Map is the Lua "Map" class: a map file looked up from Lua. It is built
// on core/pattern, so the reference is the one the configuration's map
// converters, the runtime API ("set map", "add map") and core.set_map
// modify.
type Map struct {
	expr *pattern.Expr
}

var mapClass = declareClass(&vm.Class[*Map]{
	Name: "Map",
	Methods: []vm.Method[*Map]{
		{Name: "lookup", Fn: mapLookup(false)},
		{Name: "slookup", Fn: mapLookup(true)},
	},
	Owned: true, // kept in upvalues across requests
})

// mapMethods are HAProxy's match methods in its numbering (enum
// PAT_MATCH_*): Map._str and friends are these integers.
var mapMethods = []struct {
	name  string
	match pattern.Match
}{
	{"found", pattern.MatchFound}, {"bool", pattern.MatchBool}, {"int", pattern.MatchInt},
	{"ip", pattern.MatchIP}, {"bin", pattern.MatchBin}, {"len", pattern.MatchLen},
	{"str", pattern.MatchStr}, {"beg", pattern.MatchBeg}, {"sub", pattern.MatchSub},
	{"dir", pattern.MatchDir}, {"dom", pattern.MatchDom}, {"end", pattern.MatchEnd},
	{"reg", pattern.MatchReg}, {"regm", pattern.MatchReg},
}

var mapNew = vm.NewFunction("Map.new", luaMapNew)

// installMap sets the global Map: new and the match constants, both
// "_str" and, HAProxy compat, the older "str" names.
func installMap(ls *LState) error {
	co, err := ls.NewCo(vm.CoOptions{})
	if err != nil {
		return err
	}
	defer co.Close()
	if err := co.Load([]byte("local M, proto = ... setmetatable(M, getmetatable(proto)) Map = M"), "=Map"); err != nil {
		return err
	}
	co.NewTable(0, 2*len(mapMethods)+1)
	co.Field("new", func() { co.PushFunction(mapNew) })
	for i, m := range mapMethods {
		co.FieldInteger("_"+m.name, int64(i))
		co.FieldInteger(m.name, int64(i))
	}
	mapClass.Push(&co.Pusher, &Map{}) // lends its metatable
	if out := co.Resume(); out != vm.OK {
		if e := co.Err(); e != nil {
			return errors.New(e.Message)
		}
		return errors.New(out.String())
	}
	return nil
}

// luaMapNew implements Map.new(file [, method]): the map file, loaded once
// per process and shared by name, indexed for method. It never yields.
func luaMapNew(c *vm.Call) (int, error) {
	file, err := c.String(1)
	if err != nil {
		return 0, err
	}
	method := int64(6) // HAProxy compat: Map._str without a method
	if c.Top() >= 2 {
		if method, err = c.Integer(2); err != nil {
			return 0, err
		}
	}
	if method < 0 || method >= int64(len(mapMethods)) {
		return 0, errors.New("'new' needs a valid match method.")
	}
	// HAProxy compat: its errors end with a period. (It also names the
	// faulty line of the file, which core/pattern does not report.)
	ref, err := pattern.Load(file, true)
	if err != nil {
		return 0, fmt.Errorf("'new': %v.", err)
	}
	expr, err := ref.GetExpr(mapMethods[method].match, false, pattern.OutStr)
	if err != nil {
		return 0, fmt.Errorf("'new': %v.", err)
	}
	mapClass.Push(&c.Pusher, &Map{expr: expr})
	return 1, nil
}

// mapLookup implements Map.lookup(map, str) (nil when nothing matches) and
// Map.slookup(map, str) ("" then). They never yield.
func mapLookup(str bool) func(*Map, *vm.Call) (int, error) {
	const name = "lookup" // HAProxy compat: slookup's errors say 'lookup' too
	return func(m *Map, c *vm.Call) (int, error) {
		if err := checkArgs(c, 2, name); err != nil {
			return 0, err
		}
		var e *pattern.Entry
		var ok bool
		if m.expr != nil && m.expr.Match == pattern.MatchInt {
			// HAProxy compat: an integer map takes an integer key
			// (luaL_checkinteger: "abc" is an argument error)
			n, err := c.Integer(2)
			if err != nil {
				return 0, err
			}
			e, ok = m.expr.MatchInt(n)
		} else {
			key, err := c.String(2)
			if err != nil {
				return 0, err
			}
			e, ok = m.match(key)
		}
		if ok {
			c.PushString(e.Value)
		} else if str {
			c.PushString("")
		} else {
			c.PushNil()
		}
		return 1, nil
	}
}

func (m *Map) match(key string) (*pattern.Entry, bool) {
	if m.expr == nil {
		return nil, false
	}
	switch m.expr.Match {
	case pattern.MatchInt:
		n, err := strconv.ParseInt(strings.TrimSpace(key), 10, 64)
		if err != nil {
			return nil, false
		}
		return m.expr.MatchInt(n)
	case pattern.MatchIP:
		a, err := netip.ParseAddr(key)
		if err != nil {
			return nil, false
		}
		return m.expr.MatchAddr(a)
	case pattern.MatchFound, pattern.MatchBool:
		return nil, false // no value to return for these methods
	}
	return m.expr.MatchString(key)
}
