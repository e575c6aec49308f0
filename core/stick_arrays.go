package core

import (
	"fmt"
	"strconv"
	"strings"

	"luaproxy/core/config"
	"luaproxy/core/sample"
	"luaproxy/core/stktable"
)

// The stick-table keywords working on one element of the gpc, gpt and
// gpc_rate arrays (HAProxy 2.5+): sc_get_gpc(<idx>,<sc>), src_inc_gpc(<idx>),
// table_gpc(<idx>), sc-inc-gpc(<idx>,<sc>), ... ; the converters that
// change entries (table_inc_gpc*, table_clr_gpc*), and the entry timers
// table_expire and table_idle.

// maxGPCIndex bounds the <idx> arguments (HAProxy: 0 to 99).
const maxGPCIndex = 100

// elemOp reads or changes element idx of an entry's array; ok false: the
// table does not store it.
type elemOp func(t *stickTable, e *stktable.Entry, idx int) (int64, bool)

func elemRead(d stktable.DataType) elemOp {
	return func(t *stickTable, e *stktable.Entry, idx int) (int64, bool) { return t.ReadElem(e, d, idx) }
}

// elemInc increments gpc[idx] and gpc_rate[idx], returning the counter.
func elemInc(t *stickTable, e *stktable.Entry, idx int) (int64, bool) {
	_, rok := t.AddElem(e, 1, idx, stktable.GPCRate)
	v, ok := t.AddElem(e, 1, idx, stktable.GPC)
	return v, ok || rok
}

// elemClr clears gpc[idx], returning its previous value.
func elemClr(t *stickTable, e *stktable.Entry, idx int) (int64, bool) {
	return t.SwapElem(e, stktable.GPC, idx, 0)
}

// checkGPCIndex validates an <idx> argument at position i.
func checkGPCIndex(args []sample.Arg, i int) error {
	if v := args[i].Int; v < 0 || v >= maxGPCIndex {
		return fmt.Errorf("invalid array index %d, must be between 0 and %d", v, maxGPCIndex-1)
	}
	return nil
}

// tableDefaultAt makes an omitted table argument at position i name the
// current proxy.
func tableDefaultAt(i int) func(args []sample.Arg, sc *sample.Scope) error {
	return func(args []sample.Arg, sc *sample.Scope) error {
		if len(args) > i && args[i].Str == "" && sc != nil {
			args[i].Str = sc.Proxy
		}
		return nil
	}
}

// keyEntry looks the input sample up in the table argument (default: the
// current proxy's); with create, a missing entry is created and touched.
func keyEntry(ctx *sample.Ctx, a []sample.Arg, in sample.Sample, create bool) (*stickTable, *stktable.Entry) {
	t := tableArg(ctx, a)
	if t == nil {
		return nil, nil
	}
	k, ok := t.keyOf(in)
	if !ok {
		return nil, nil
	}
	if create {
		e, _ := t.Get(k)
		return t, e
	}
	return t, t.Lookup(k)
}

func init() {
	intOf := func(v int64, ok bool) (sample.Sample, bool) {
		if !ok {
			return sample.Sample{}, false
		}
		return sample.Int(v), true
	}
	fetches := []struct {
		name  string
		op    elemOp
		write bool
	}{
		{"get_gpc", elemRead(stktable.GPC), false},
		{"get_gpt", elemRead(stktable.GPT), false},
		{"gpc_rate", elemRead(stktable.GPCRate), false},
		{"inc_gpc", elemInc, true},
		{"clr_gpc", elemClr, true},
	}
	for _, f := range fetches {
		f := f
		// sc_<name>(<idx>,<sc>[,<table>]): the element of a tracked entry.
		sample.RegisterFetch(&sample.Fetch{Name: "sc_" + f.name, Args: sample.Args(2, sample.ArgSInt, sample.ArgSInt, sample.ArgTable),
			Out: sample.TypeSInt, Use: sample.UseIntrn, Check: func(args []sample.Arg, _ *sample.Scope) error {
				if args[1].Int < 0 || args[1].Int >= maxStickCounters {
					return fmt.Errorf("invalid stick counter %d", args[1].Int)
				}
				return checkGPCIndex(args, 0)
			}, Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
				t, e := scEntry(ctx, int(a[1].Int), a[2:])
				if t == nil {
					return sample.Sample{}, false
				}
				if e == nil {
					return sample.Int(0), true
				}
				return intOf(f.op(t, e, int(a[0].Int)))
			}})
		// src_<name>(<idx>[,<table>]): the element of the client's address.
		sample.RegisterFetch(&sample.Fetch{Name: "src_" + f.name, Args: sample.Args(1, sample.ArgSInt, sample.ArgTable),
			Out: sample.TypeSInt, Use: sample.UseL4Cli, Check: func(args []sample.Arg, sc *sample.Scope) error {
				if err := checkGPCIndex(args, 0); err != nil {
					return err
				}
				return tableDefaultAt(1)(args, sc)
			}, Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
				t, e := srcEntry(ctx, a[1:], f.write)
				if t == nil {
					return sample.Sample{}, false
				}
				if e == nil {
					return sample.Int(0), true
				}
				return intOf(f.op(t, e, int(a[0].Int)))
			}})
	}

	// table_<name>(<idx>[,<table>]) converters: the input is the key. A
	// missing entry or element reads as 0; inc and clr create the entry.
	convs := []struct {
		name  string
		op    elemOp
		write bool
	}{
		{"gpc", elemRead(stktable.GPC), false},
		{"gpt", elemRead(stktable.GPT), false},
		{"gpc_rate", elemRead(stktable.GPCRate), false},
		{"inc_gpc", elemInc, true},
		{"clr_gpc", elemClr, true},
	}
	for _, c := range convs {
		c := c
		sample.RegisterConverter(&sample.Converter{Name: "table_" + c.name, Args: sample.Args(1, sample.ArgSInt, sample.ArgTable),
			Check: func(args []sample.Arg, sc *sample.Scope) error {
				if err := checkGPCIndex(args, 0); err != nil {
					return err
				}
				return tableDefaultAt(1)(args, sc)
			}, In: sample.TypeAny, Out: sample.TypeSInt, Fn: func(ctx *sample.Ctx, a []sample.Arg, in sample.Sample) (sample.Sample, bool) {
				t, e := keyEntry(ctx, a[1:], in, c.write)
				if t == nil {
					return sample.Sample{}, false
				}
				if e == nil {
					return sample.Int(0), true
				}
				v, _ := c.op(t, e, int(a[0].Int))
				return sample.Int(v), true
			}})
	}

	// table_inc_gpc0/1 and table_clr_gpc0/1([<table>]) (3.x): the legacy
	// counters (or the gpc array's elements 0 and 1 replacing them).
	optTable := sample.Args(0, sample.ArgTable)
	for _, c := range []struct {
		name string
		op   stickRead
	}{
		{"inc_gpc0", incGPC(stktable.GPC0, stktable.GPC0Rate)},
		{"inc_gpc1", incGPC(stktable.GPC1, stktable.GPC1Rate)},
		{"clr_gpc0", clrGPC(stktable.GPC0)},
		{"clr_gpc1", clrGPC(stktable.GPC1)},
	} {
		c := c
		sample.RegisterConverter(&sample.Converter{Name: "table_" + c.name, Args: optTable, Check: tableDefaultAt(0),
			In: sample.TypeAny, Out: sample.TypeSInt, Fn: func(ctx *sample.Ctx, a []sample.Arg, in sample.Sample) (sample.Sample, bool) {
				t, e := keyEntry(ctx, a, in, true)
				if t == nil || e == nil {
					return sample.Sample{}, false
				}
				v, _ := c.op(t, e)
				return sample.Int(v), true
			}})
	}

	// table_expire and table_idle([<table>[,<default>]]): the entry's
	// remaining lifetime and the time since it was last touched, in ms;
	// a missing key fails unless a default is given.
	for _, c := range []struct {
		name string
		fn   func(t *stickTable, e *stktable.Entry) int64
	}{
		{"expire", func(t *stickTable, e *stktable.Entry) int64 { return t.Remaining(e) }},
		{"idle", func(t *stickTable, e *stktable.Entry) int64 {
			if t.Expire <= 0 {
				return 0
			}
			return t.Expire.Milliseconds() - t.Remaining(e)
		}},
	} {
		c := c
		sample.RegisterConverter(&sample.Converter{Name: "table_" + c.name, Args: sample.Args(0, sample.ArgTable, sample.ArgSInt),
			Check: tableDefaultAt(0), In: sample.TypeAny, Out: sample.TypeSInt,
			Fn: func(ctx *sample.Ctx, a []sample.Arg, in sample.Sample) (sample.Sample, bool) {
				t, e := keyEntry(ctx, a, in, false)
				if e == nil {
					if len(a) > 1 && a[1].Str != "" {
						return sample.Int(a[1].Int), true
					}
					return sample.Sample{}, false
				}
				return sample.Int(c.fn(t, e)), true
			}})
	}

	RegisterAction("sc-inc-gpc(", parseSCArray)
	RegisterAction("sc-set-gpt(", parseSCArray)
}

// parseSCArray parses "sc-inc-gpc(<idx>,<sc-id>)" and
// "sc-set-gpt(<idx>,<sc-id>) { <int> | <expr> }".
func parseSCArray(e *Engine, px *Proxy, rs RuleSet, args []string, l config.Line) (Action, int, error) {
	kw := args[0]
	name, inner, _ := strings.Cut(kw, "(")
	idxS, scS, ok := strings.Cut(strings.TrimSuffix(inner, ")"), ",")
	idx, err1 := strconv.Atoi(idxS)
	sc, err2 := strconv.Atoi(scS)
	// HAProxy's messages name the whole keyword and the array ("gpc" or
	// "gpt") in upper case
	arr := strings.ToUpper(name[len(name)-3:])
	switch {
	case !ok || err1 != nil:
		return nil, 0, ruleErrorf(px, rs, kw, l, "Missing %s ID '%s'. Expects %s(<%s ID>,<Track ID>)", strings.ToLower(arr), kw, name, arr)
	case !strings.HasSuffix(inner, ")") || err2 != nil:
		return nil, 0, ruleErrorf(px, rs, kw, l, "invalid stick table track ID '%s'. Expects %s(<%s ID>,<Track ID>)", kw, name, arr)
	case sc < 0 || sc >= maxStickCounters:
		return nil, 0, ruleErrorf(px, rs, kw, l, "invalid stick table track ID '%s'. The max allowed ID is %d", kw, maxStickCounters-1)
	case idx < 0 || idx >= maxGPCIndex:
		return nil, 0, ruleErrorf(px, rs, kw, l, "invalid gpc index '%s', the index must be between 0 and %d", idxS, maxGPCIndex-1)
	}
	if name == "sc-inc-gpc" {
		return ActionFunc(func(s *Stream) Verdict {
			if te := tracked(s, sc); te != nil {
				elemInc(te.t, te.e, idx)
			}
			return Continue
		}), 1, nil
	}
	return e.parseSetGPT(px, rs, args, l, sc, func(te *trackedEntry, v int64) {
		_ = te.t.SetElem(te.e, stktable.GPT, idx, v)
	})
}
