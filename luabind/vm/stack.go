//go:build lua53

package vm

/*
#include "lrt.h"
*/
import "C"

import (
	"math"
	"strconv"
	"strings"
	"unsafe"
)

// Type is a Lua type (LUA_T*).
type Type int

// Lua types.
const (
	TypeNone          Type = -1
	TypeNil           Type = 0
	TypeBoolean       Type = 1
	TypeLightUserdata Type = 2
	TypeNumber        Type = 3
	TypeString        Type = 4
	TypeTable         Type = 5
	TypeFunction      Type = 6
	TypeUserdata      Type = 7
	TypeThread        Type = 8
)

var typeNames = [...]string{"nil", "boolean", "userdata", "number", "string", "table", "function", "userdata", "thread"}

func (t Type) String() string {
	if t < 0 || int(t) >= len(typeNames) {
		return "no value"
	}
	return typeNames[t]
}

// stack reads values of a Lua stack with non-allocating API calls only
// (lua_tolstring is called on strings, never on numbers).
type stack struct{ L *C.lua_State }

func (s stack) top() int { return int(C.lua_gettop(s.L)) }

func (s stack) typ(i int) Type { return Type(C.lua_type(s.L, C.int(i))) }

func (s stack) str(i int) (string, bool) {
	switch s.typ(i) {
	case TypeString:
		var n C.size_t
		p := C.lua_tolstring(s.L, C.int(i), &n)
		return C.GoStringN(p, C.int(n)), true
	case TypeNumber:
		if C.lua_isinteger(s.L, C.int(i)) != 0 {
			return strconv.FormatInt(int64(C.lua_tointegerx(s.L, C.int(i), nil)), 10), true
		}
		return FormatNumber(float64(C.lua_tonumberx(s.L, C.int(i), nil))), true
	}
	return "", false
}

func (s stack) integer(i int) (int64, bool) {
	var ok C.int
	v := C.lua_tointegerx(s.L, C.int(i), &ok)
	return int64(v), ok != 0
}

func (s stack) number(i int) (float64, bool) {
	var ok C.int
	v := C.lua_tonumberx(s.L, C.int(i), &ok)
	return float64(v), ok != 0
}

func (s stack) boolean(i int) bool { return C.lua_toboolean(s.L, C.int(i)) != 0 }

// value converts the value at i into a Go value: nil, bool, int64, float64,
// string, or for tables map[any]any (depth-limited); other types become
// their type name.
func (s stack) value(i int, depth int) any {
	switch s.typ(i) {
	case TypeNil, TypeNone:
		return nil
	case TypeBoolean:
		return s.boolean(i)
	case TypeNumber:
		if C.lua_isinteger(s.L, C.int(i)) != 0 {
			v, _ := s.integer(i)
			return v
		}
		v, _ := s.number(i)
		return v
	case TypeString:
		v, _ := s.str(i)
		return v
	case TypeTable:
		if depth <= 0 || C.lua_checkstack(s.L, 3) == 0 {
			return map[any]any{}
		}
		if i < 0 {
			i = s.top() + i + 1
		}
		out := map[any]any{}
		C.lua_pushnil(s.L)
		for C.lua_next(s.L, C.int(i)) != 0 {
			k := s.value(-2, 0)
			if k != nil {
				out[k] = s.value(-1, depth-1)
			}
			C.lua_settop(s.L, -2) // pop the value, keep the key
		}
		return out
	default:
		return s.typ(i).String()
	}
}

// FormatNumber formats a Lua float as Lua 5.3 does ("%.14g", plus ".0" when
// it looks like an integer).
func FormatNumber(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', 14, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// parseNumber converts a string as lua_stringtonumber does (decimal and hex
// integers and floats, surrounding spaces allowed).
func parseNumber(s string) (int64, float64, bool, bool) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, 0, false, false
	}
	neg := false
	u := t
	if u[0] == '-' || u[0] == '+' {
		neg = u[0] == '-'
		u = u[1:]
	}
	if len(u) > 2 && (u[:2] == "0x" || u[:2] == "0X") {
		if v, err := strconv.ParseUint(u[2:], 16, 64); err == nil {
			if neg {
				return -int64(v), 0, true, true
			}
			return int64(v), 0, true, true
		}
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return 0, f, false, true
		}
		return 0, 0, false, false
	}
	if v, err := strconv.ParseInt(t, 10, 64); err == nil {
		return v, 0, true, true
	}
	if strings.ContainsAny(t, "nN") { // no "nan"/"inf" in Lua
		return 0, 0, false, false
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		return 0, f, false, true
	}
	return 0, 0, false, false
}

func goBytes(p *C.char, n C.size_t) []byte {
	if n == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}
