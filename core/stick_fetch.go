package core

import (
	"fmt"

	"luaproxy/core/sample"
	"luaproxy/core/stktable"
)

// The stick-table fetches (sc_*, sc<N>_*, src_*: manual 7.3.3) and
// converters (table_*, in_table: 7.3.1).

// stickRead is how one counter fetch reads an entry; ok false: no sample.
type stickRead func(t *stickTable, e *stktable.Entry) (int64, bool)

func readType(d stktable.DataType) stickRead {
	return func(t *stickTable, e *stktable.Entry) (int64, bool) { return t.Read(e, d) }
}

func readKB(d stktable.DataType) stickRead {
	return func(t *stickTable, e *stktable.Entry) (int64, bool) {
		v, ok := t.Read(e, d)
		return v >> 10, ok
	}
}

func incGPC(cnt, rate stktable.DataType) stickRead {
	return func(t *stickTable, e *stktable.Entry) (int64, bool) {
		if !t.Stores(cnt) && !t.Stores(rate) {
			return 0, false
		}
		t.Add(e, 1, rate)
		return t.Add(e, 1, cnt), true
	}
}

func clrGPC(cnt stktable.DataType) stickRead {
	return func(t *stickTable, e *stktable.Entry) (int64, bool) { return t.Swap(e, cnt, 0) }
}

func readTrackers(t *stickTable, e *stktable.Entry) (int64, bool) { return int64(t.Refs(e)), true }

// stickCounterFetches are the names shared by sc_*, sc<N>_* and src_*
// (with "get_" for the gpc/gpt readers), with their readers.
var stickCounterFetches = []struct {
	name  string
	read  stickRead
	write bool // may create the entry (src_inc_gpc0)
}{
	{"bytes_in_rate", readType(stktable.BytesInRate), false},
	{"bytes_out_rate", readType(stktable.BytesOutRate), false},
	{"clr_gpc0", clrGPC(stktable.GPC0), true},
	{"clr_gpc1", clrGPC(stktable.GPC1), true},
	{"conn_cnt", readType(stktable.ConnCnt), false},
	{"conn_cur", readType(stktable.ConnCur), false},
	{"conn_rate", readType(stktable.ConnRate), false},
	{"get_gpc0", readType(stktable.GPC0), false},
	{"get_gpc1", readType(stktable.GPC1), false},
	{"get_gpt0", readType(stktable.GPT0), false},
	{"gpc0_rate", readType(stktable.GPC0Rate), false},
	{"gpc1_rate", readType(stktable.GPC1Rate), false},
	{"http_err_cnt", readType(stktable.HTTPErrCnt), false},
	{"http_err_rate", readType(stktable.HTTPErrRate), false},
	{"http_fail_cnt", readType(stktable.HTTPFailCnt), false},
	{"http_fail_rate", readType(stktable.HTTPFailRate), false},
	{"http_req_cnt", readType(stktable.HTTPReqCnt), false},
	{"http_req_rate", readType(stktable.HTTPReqRate), false},
	{"inc_gpc0", incGPC(stktable.GPC0, stktable.GPC0Rate), true},
	{"inc_gpc1", incGPC(stktable.GPC1, stktable.GPC1Rate), true},
	{"kbytes_in", readKB(stktable.BytesInCnt), false},
	{"kbytes_out", readKB(stktable.BytesOutCnt), false},
	{"sess_cnt", readType(stktable.SessCnt), false},
	{"sess_rate", readType(stktable.SessRate), false},
	{"trackers", readTrackers, false},
}

// scEntry returns the table and entry a sticky counter designates: the
// tracked one, or the same key looked up in the table given as argument.
func scEntry(ctx *sample.Ctx, idx int, tblArg []sample.Arg) (*stickTable, *stktable.Entry) {
	te := tracked(streamOf(ctx), idx)
	if te == nil {
		return nil, nil
	}
	if len(tblArg) > 0 {
		if t, ok := tblArg[0].Ref.(*stickTable); ok && t != te.t {
			if t.Type != te.t.Type || t.KeyLen != te.t.KeyLen {
				return t, nil
			}
			return t, t.Lookup(te.e.Key())
		}
	}
	return te.t, te.e
}

// srcEntry returns the table argument (default: the current proxy's) and
// the entry of the client's address in it; with create, the entry is
// created and touched.
func srcEntry(ctx *sample.Ctx, a []sample.Arg, create bool) (*stickTable, *stktable.Entry) {
	t := tableArg(ctx, a)
	if t == nil || !ctx.Src.IsValid() {
		return t, nil
	}
	k, ok := t.IPKey(ctx.Src.Addr())
	if !ok {
		return t, nil
	}
	if create {
		e, _ := t.Get(k)
		return t, e
	}
	return t, t.Lookup(k)
}

// tableArg returns the table named by an optional argument, else the
// one of the stream's frontend (the proxy evaluating the rule), else of
// its backend.
func tableArg(ctx *sample.Ctx, a []sample.Arg) *stickTable {
	if len(a) > 0 {
		if t, ok := a[0].Ref.(*stickTable); ok {
			return t
		}
	}
	s := streamOf(ctx)
	if s == nil {
		return nil
	}
	for _, px := range []*Proxy{s.Frontend, s.Backend} {
		if px != nil {
			if t := s.Engine.stickTable(px.Name); t != nil {
				return t
			}
		}
	}
	return nil
}

func init() {
	optTable := sample.Args(0, sample.ArgTable)
	tableDefault := func(args []sample.Arg, sc *sample.Scope) error {
		if len(args) > 0 && args[0].Str == "" && sc != nil {
			args[0].Str = sc.Proxy
		}
		return nil
	}
	intOf := func(v int64, ok bool) (sample.Sample, bool) {
		if !ok {
			return sample.Sample{}, false
		}
		return sample.Int(v), true
	}
	for _, f := range stickCounterFetches {
		f := f
		// sc<N>_<name>([table]) and sc_<name>(<ctr>[,table])
		for i := 0; i < maxStickCounters; i++ {
			i := i
			sample.RegisterFetch(&sample.Fetch{Name: fmt.Sprintf("sc%d_%s", i, f.name), Args: optTable,
				Out: sample.TypeSInt, Use: sample.UseIntrn, Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
					t, e := scEntry(ctx, i, a)
					if t == nil {
						return sample.Sample{}, false
					}
					if e == nil {
						return sample.Int(0), true
					}
					return intOf(f.read(t, e))
				}})
		}
		sample.RegisterFetch(&sample.Fetch{Name: "sc_" + f.name, Args: sample.Args(1, sample.ArgSInt, sample.ArgTable),
			Out: sample.TypeSInt, Use: sample.UseIntrn, Check: func(args []sample.Arg, _ *sample.Scope) error {
				if args[0].Int < 0 || args[0].Int >= maxStickCounters {
					return fmt.Errorf("invalid stick counter %d", args[0].Int)
				}
				return nil
			}, Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
				t, e := scEntry(ctx, int(a[0].Int), a[1:])
				if t == nil {
					return sample.Sample{}, false
				}
				if e == nil {
					return sample.Int(0), true
				}
				return intOf(f.read(t, e))
			}})
		if f.name == "trackers" {
			continue // there is no src_trackers
		}
		sample.RegisterFetch(&sample.Fetch{Name: "src_" + f.name, Args: optTable, Check: tableDefault,
			Out: sample.TypeSInt, Use: sample.UseL4Cli, Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
				t, e := srcEntry(ctx, a, f.write)
				if t == nil {
					return sample.Sample{}, false
				}
				if e == nil {
					return sample.Int(0), true
				}
				return intOf(f.read(t, e))
			}})
	}
	// src_updt_conn_cnt([table]): counts a connection for the client's
	// address and returns the new conn_cnt.
	sample.RegisterFetch(&sample.Fetch{Name: "src_updt_conn_cnt", Args: optTable, Check: tableDefault,
		Out: sample.TypeSInt, Use: sample.UseL4Cli, Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
			t, e := srcEntry(ctx, a, true)
			if t == nil || e == nil {
				return sample.Sample{}, false
			}
			t.Add(e, 1, stktable.ConnRate)
			return intOf(t.Add(e, 1, stktable.ConnCnt), t.Stores(stktable.ConnCnt))
		}})
	for i := 0; i < maxStickCounters; i++ {
		i := i
		sample.RegisterFetch(&sample.Fetch{Name: fmt.Sprintf("sc%d_tracked", i), Args: optTable,
			Out: sample.TypeBool, Use: sample.UseIntrn, Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
				return sample.Bool(tracked(streamOf(ctx), i) != nil), true
			}})
	}
	sample.RegisterFetch(&sample.Fetch{Name: "sc_tracked", Args: sample.Args(1, sample.ArgSInt, sample.ArgTable),
		Out: sample.TypeBool, Use: sample.UseIntrn, Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
			if a[0].Int < 0 || a[0].Int >= maxStickCounters {
				return sample.Sample{}, false
			}
			return sample.Bool(tracked(streamOf(ctx), int(a[0].Int)) != nil), true
		}})

	// table_<type>([table]) converters: the input is the key.
	convs := map[string]stickRead{"trackers": readTrackers, "kbytes_in": readKB(stktable.BytesInCnt),
		"kbytes_out": readKB(stktable.BytesOutCnt)}
	for d := stktable.DataType(0); d < stktable.NumDataTypes; d++ {
		if !d.IsArray() { // table_gpc(<idx>) ... are in stick_arrays.go
			convs[d.String()] = readType(d)
		}
	}
	for name, read := range convs {
		read := read
		sample.RegisterConverter(&sample.Converter{Name: "table_" + name, Args: optTable, Check: tableDefault,
			In: sample.TypeAny, Out: sample.TypeSInt, Fn: func(ctx *sample.Ctx, a []sample.Arg, in sample.Sample) (sample.Sample, bool) {
				t := tableArg(ctx, a)
				if t == nil {
					return sample.Sample{}, false
				}
				k, ok := t.keyOf(in)
				if !ok {
					return sample.Sample{}, false
				}
				e := t.Lookup(k)
				if e == nil {
					return sample.Int(0), true
				}
				return intOf(read(t, e))
			}})
	}
	sample.RegisterConverter(&sample.Converter{Name: "in_table", Args: optTable, Check: tableDefault,
		In: sample.TypeAny, Out: sample.TypeBool, Fn: func(ctx *sample.Ctx, a []sample.Arg, in sample.Sample) (sample.Sample, bool) {
			t := tableArg(ctx, a)
			return sample.Bool(t != nil && t.Contains(ctx, in)), true
		}})
}
