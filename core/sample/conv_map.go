package sample

import (
	"fmt"
	"strconv"

	"luaproxy/core/pattern"
)

// Map converters (manual 7.3.1 "map"): map_<match>_<output>(file[,default]).
// The reference is shared by file name with the runtime API and Lua.

func init() {
	matches := []struct {
		name  string
		match pattern.Match
		in    Type
		regm  bool
	}{
		{"str", pattern.MatchStr, TypeStr, false}, {"beg", pattern.MatchBeg, TypeStr, false},
		{"sub", pattern.MatchSub, TypeStr, false}, {"dir", pattern.MatchDir, TypeStr, false},
		{"dom", pattern.MatchDom, TypeStr, false}, {"end", pattern.MatchEnd, TypeStr, false},
		{"reg", pattern.MatchReg, TypeStr, false}, {"regm", pattern.MatchReg, TypeStr, true},
		{"int", pattern.MatchInt, TypeSInt, false}, {"ip", pattern.MatchIP, TypeAddr, false},
	}
	outs := []struct {
		name string
		out  pattern.Output
		typ  Type
	}{{"str", pattern.OutStr, TypeStr}, {"int", pattern.OutInt, TypeSInt}, {"ip", pattern.OutIP, TypeIPv4}}
	for _, m := range matches {
		for _, o := range outs {
			m, o := m, o
			name := "map_" + m.name + "_" + o.name
			c := &Converter{Name: name, Args: Args(1, ArgMap, ArgStr), In: m.in, Out: o.typ,
				Check: func(args []Arg, sc *Scope) error { return checkMap(args, m.match, o.out) },
				Fn: func(ctx *Ctx, a []Arg, in Sample) (Sample, bool) {
					return mapLookup(a, in, o.out, m.regm)
				}}
			RegisterConverter(c)
			if o.name == "str" {
				alias := *c
				alias.Name = "map_" + m.name
				RegisterConverter(&alias)
				if m.name == "str" {
					alias2 := *c
					alias2.Name = "map"
					RegisterConverter(&alias2)
				}
			}
		}
	}
}

// mapDefault is the parsed default value of a map converter.
type mapDefault struct {
	set bool
	smp Sample
}

func checkMap(args []Arg, m pattern.Match, out pattern.Output) error {
	ref, err := pattern.Load(args[0].Str, true)
	if err != nil {
		return err
	}
	px, err := ref.GetExpr(m, false, out)
	if err != nil {
		return err // it names the file and line
	}
	args[0].Ref = px
	def := &mapDefault{}
	if len(args) > 1 {
		v, err := mapValue(args[1].Str, out)
		if err != nil {
			return err
		}
		def.set, def.smp = true, v
	}
	if len(args) > 1 {
		args[1].Ref = def
	}
	return nil
}

// mapValue converts a map value (or default) to the output type.
func mapValue(v string, out pattern.Output) (Sample, error) {
	switch out {
	case pattern.OutInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Sample{}, fmt.Errorf("'%s' is not a number", v)
		}
		return Int(n), nil
	case pattern.OutIP:
		p, err := pattern.ParseIPPrefix(v)
		if err != nil {
			return Sample{}, err
		}
		return Addr(p.Addr()), nil
	}
	return Str(v), nil
}

func mapLookup(a []Arg, in Sample, out pattern.Output, regm bool) (Sample, bool) {
	px := a[0].Ref.(*pattern.Expr)
	var value string
	found := false
	if regm {
		if !Convert(&in, TypeStr) {
			return Sample{}, false
		}
		if e, re, ok := px.MatchRegex(in.Str); ok {
			m, err := re.FindRunesMatch(bytesToRunes(in.Str))
			if err == nil && m != nil {
				value, found = string(expandSubst(nil, e.Value, m)), true
			}
		}
	} else if e, ok := lookupPattern(px, in); ok {
		value, found = e.Value, true
	}
	if found {
		if out == pattern.OutStr {
			return Str(value), true
		}
		s, err := mapValue(value, out)
		return s, err == nil
	}
	if len(a) > 1 {
		if d, ok := a[1].Ref.(*mapDefault); ok && d.set {
			return d.smp, true
		}
	}
	return Sample{}, false
}
