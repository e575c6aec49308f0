//go:build lua53

package luabind

import (
	"strings"
	"testing"
)

const concatBuilt = `(function() local c = core.concat() c:add("ab") c:add(12) c:add(1.5) c:add("x", "y") return c end)()`

var concatCases = []luaCase{
	// HAProxy 2.6.12 printed these for the same calls
	{`try(function() local c = core.concat() return type(c), (tostring(c):gsub("0x%x+", "PTR")) end)`, `boolean:true, "table", "Concat object: PTR"`},
	{`try(core.concat().dump, ` + concatBuilt + `)`, `boolean:true, "ab121.5x"`},
	{`try(core.concat().add, core.concat(), nil)`, `boolean:false, "bad argument #2 to '?' (string expected, got nil)"`},
	{`try(core.concat().add, core.concat())`, `boolean:false, "bad argument #2 to '?' (string expected, got no value)"`},
	{`try(core.concat().add, core.concat(), {})`, `boolean:false, "bad argument #2 to '?' (string expected, got table)"`},
	{`try(core.concat().add, core.concat(), true)`, `boolean:false, "bad argument #2 to '?' (string expected, got boolean)"`},
	{`try(core.concat().dump, core.concat())`, `boolean:true, ""`},
	{`try(function() return core.concat(1):dump() end)`, `boolean:true, ""`}, // arguments are ignored
	// HAProxy words this "bad argument #1 to '?' ((null))"
	{`try(core.concat().add, "x", "y")`, `boolean:false, "bad argument #1 to '?' ((null))"`},
	// the reference's example
	{`(function() local c = core.concat() for i = 1, 20000 do c:add("#####") end return #c:dump() end)()`, `100000`},
}

func TestConcat(t *testing.T) {
	for _, ctx := range []context{ctxBody, ctxAction, ctxFetch} {
		t.Run(ctx.String(), func(t *testing.T) { runCases(t, ctx, concatCases) })
	}
}

// Building a large string in many pieces copies each byte a bounded number
// of times (append doubles), unlike ".." in a loop.
func TestConcatLinear(t *testing.T) {
	cc := &Concat{}
	piece := []byte(strings.Repeat("x", 5))
	allocs := testing.AllocsPerRun(1, func() {
		cc.buf = cc.buf[:0:0]
		for i := 0; i < 100000; i++ {
			cc.buf = append(cc.buf, piece...)
		}
	})
	if allocs > 64 {
		t.Fatalf("%v allocations for 100000 adds: growth is not geometric", allocs)
	}
}

// A buffer cannot grow past what tune.lua.maxmem leaves.
func TestConcatMaxMem(t *testing.T) {
	ts := newTestState(t)
	ts.ls.rt.Settings.MaxMem = ts.ls.MemUsed() + 1<<20
	got, err := ts.run(ctxAction, `local c = core.concat() local s = string.rep("x", 4096)
		return try(function() for i = 1, 1000 do c:add(s) end end)`)
	if err != nil || !strings.Contains(got, "not enough memory") {
		t.Fatalf("got %q, %v; want not enough memory", got, err)
	}
}

func BenchmarkConcatAdd(b *testing.B) {
	ts := newTestState(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = ts.run(ctxAction, `local c = core.concat() for i = 1, 1000 do c:add("#####") end return #c:dump()`)
	}
}
