//go:build lua53

package luabind

import (
	"net/netip"
	"strings"
	"testing"

	"luaproxy/core/sample"
)

// Expected values in these tables were printed by HAProxy 2.6.12 running
// the same expressions; TestAgainstHAProxy checks the tables against the
// installed haproxy.

var tokenizeCases = []luaCase{
	{`try(core.tokenize, "a,,b", ",")`, `boolean:true, {1="a",2="",3="b"}`},
	{`try(core.tokenize, "a,,b", ",", true)`, `boolean:true, {1="a",2="b"}`},
	{`try(core.tokenize, "", ",")`, `boolean:true, {1=""}`},
	{`try(core.tokenize, ",a,", ",", true)`, `boolean:true, {1="a"}`},
	{`try(core.tokenize, "abc", "")`, `boolean:true, {1="abc"}`},
	{`try(core.tokenize, "a b", " ", 1)`, `boolean:false, "bad argument #3 to '?' (boolean expected)"`},
	{`try(core.tokenize, "a b", " ", nil)`, `boolean:false, "bad argument #3 to '?' (boolean expected)"`},
	{`try(core.tokenize, 12345, 3)`, `boolean:true, {1="12",2="45"}`},
	{`try(core.tokenize, "a b")`, `boolean:false, "bad argument #2 to '?' (string expected, got no value)"`},
	{`try(core.tokenize, nil, ",")`, `boolean:false, "bad argument #1 to '?' (string expected, got nil)"`},
	{`try(core.tokenize, "a b", " ", false, "x")`, `boolean:true, {1="a",2="b"}`},
	{`try(core.tokenize, "a\0b,c", ",")`, `boolean:true, {1="a"}`},
	{`try(core.tokenize, "This function is useful, for tokenizing an entry.", "., ", true)`,
		`boolean:true, {1="This",2="function",3="is",4="useful",5="for",6="tokenizing",7="an",8="entry"}`},
	// a script as the reference writes it
	{`table.concat(core.tokenize("k1=v1;k2=v2", ";="), "|")`, `k1|v1|k2|v2`},
}

func TestCoreTokenize(t *testing.T) {
	for _, ctx := range []context{ctxBody, ctxAction, ctxFetch} {
		t.Run(ctx.String(), func(t *testing.T) { runCases(t, ctx, tokenizeCases) })
	}
}

var setNiceCases = []luaCase{
	{`try(core.set_nice, 0)`, `boolean:true`},
	{`try(core.set_nice, 1025)`, `boolean:true`}, // clamped, as HAProxy does
	{`try(core.set_nice, -1025)`, `boolean:true`},
	{`try(core.set_nice, "10")`, `boolean:true`},
	{`try(core.set_nice, "x")`, `boolean:false, "bad argument #1 to '?' (number expected, got string)"`},
	{`try(core.set_nice, 1.5)`, `boolean:false, "bad argument #1 to '?' (number has no integer representation)"`},
	{`try(core.set_nice)`, `boolean:false, "'set_nice' needs 1 arguments"`},
	{`try(core.set_nice, 1, 2)`, `boolean:false, "'set_nice' needs 1 arguments"`},
}

func TestCoreSetNice(t *testing.T) {
	for _, ctx := range []context{ctxBody, ctxInit, ctxAction, ctxTask, ctxFetch} {
		t.Run(ctx.String(), func(t *testing.T) { runCases(t, ctx, setNiceCases) })
	}
}

func TestCoreGetVar(t *testing.T) {
	ts := newTestState(t)
	pv := sample.ProcVars()
	pv.Set("str", sample.Sample{Type: sample.TypeStr, Str: "hello"})
	pv.Set("int", sample.Sample{Type: sample.TypeSInt, Int: 42})
	pv.Set("bool", sample.Sample{Type: sample.TypeBool, Int: 1})
	pv.Set("ip", sample.Sample{Type: sample.TypeIPv4, Addr: netip.MustParseAddr("10.0.0.1")})
	for _, ctx := range allContexts {
		for _, tc := range []luaCase{
			{`try(core.get_var, "proc.str")`, `boolean:true, "hello"`},
			{`try(core.get_var, "proc.int")`, `boolean:true, number:42`},
			{`try(core.get_var, "proc.bool")`, `boolean:true, number:1`}, // tune.lua.bool-sample-conversion pre-3.1-bug
			{`try(core.get_var, "proc.ip")`, `boolean:true, "10.0.0.1"`},
			{`try(core.get_var, "proc.unset")`, `boolean:true, nil:nil`},
			{`try(core.get_var, "txn.x")`, `boolean:false, "'get_var': Only 'proc.' scope allowed to be retrieved in 'core.get_var()'."`},
			{`try(core.get_var, "proc")`, `boolean:false, "'get_var': Only 'proc.' scope allowed to be retrieved in 'core.get_var()'."`},
			{`try(core.get_var)`, `boolean:false, "'get_var' needs 1 arguments"`},
			{`try(core.get_var, {})`, `boolean:false, "bad argument #1 to '?' (string expected, got table)"`},
		} {
			ts.want(ctx, "return "+tc.lua, tc.want)
		}
	}
}

// core.done() stops the invocation at once; in the body and init contexts
// it does nothing (HAProxy has no Lua task there).
func TestCoreDone(t *testing.T) {
	ts := newTestState(t)
	for _, ctx := range allContexts {
		got, err := ts.run(ctx, `reached = nil; core.done("v"); reached = true; return "after"`)
		if err != nil {
			t.Fatalf("%s: %v", ctx, err)
		}
		if runtimeContext(&invocation{ctx: ctx}) {
			if got != "" {
				t.Errorf("%s: core.done() did not stop: got %q", ctx, got)
			}
		} else if got != "after" {
			t.Errorf("%s: core.done() should do nothing here: got %q", ctx, got)
		}
	}
	// Through pcall and nested functions: a multi-level return.
	got, err := ts.run(ctxAction, `local function f() core.done() end; pcall(f); return "after pcall"`)
	if err != nil || got != "" {
		t.Errorf("core.done in pcall: got %q, %v; want the action stopped", got, err)
	}
}

// In a fetch or converter, core.done(data) gives the sample's value.
func TestCoreDoneResult(t *testing.T) {
	ts := newTestState(t)
	for _, tc := range []struct {
		script string
		want   luaSample
	}{
		{`core.done("done-value") return "not reached"`, luaSample{kind: sampleStr, str: "done-value"}},
		{`core.done(42)`, luaSample{kind: sampleSInt, num: 42}},
		{`core.done()`, luaSample{kind: sampleBool}},
		{`core.done({})`, luaSample{kind: sampleBool}},
		{`local ok = pcall(core.done, "pv") return "after"`, luaSample{kind: sampleStr, str: "pv"}},
	} {
		for _, ctx := range []context{ctxFetch, ctxConverter} {
			smp, ok := ts.sample(ctx, tc.script)
			if !ok || smp != tc.want {
				t.Errorf("%s: %s: got %+v, %v; want %+v", ctx, tc.script, smp, ok, tc.want)
			}
		}
	}
}

// The waiting functions by context: they wait in tasks, actions and
// services; return at once in the body and init contexts; in fetches and
// converters sleep and wait end the call with "yield not allowed" while
// core.yield() goes on, as HAProxy's control yields do.
func TestCoreWaitContexts(t *testing.T) {
	ts := newTestState(t)
	for _, fn := range []string{"core.sleep(0)", "core.msleep(1)", "core.wait(1)", "core.yield()"} {
		for _, ctx := range allContexts {
			got, err := ts.run(ctx, fn+` return "after"`)
			notAllowed := (ctx == ctxFetch || ctx == ctxConverter) && fn != "core.yield()"
			switch {
			case notAllowed:
				if err == nil || !strings.Contains(err.Error(), "yield not allowed") {
					t.Errorf("%s in %s: got %q, %v; want yield not allowed", fn, ctx, got, err)
				}
			case err != nil || got != "after":
				t.Errorf("%s in %s: got %q, %v; want after", fn, ctx, got, err)
			}
		}
	}
	runCases(t, ctxAction, []luaCase{
		{`try(core.sleep)`, `boolean:false, "'sleep' needs 1 arguments"`},
		{`try(core.msleep, 1, 2)`, `boolean:false, "'msleep' needs 1 arguments"`},
		{`try(core.msleep, "x")`, `boolean:false, "bad argument #1 to '?' (number expected, got string)"`},
		{`try(core.wait, "x")`, `boolean:false, "bad argument #1 to '?' (number expected, got string)"`},
		{`try(core.wait, nil == 1 and 0 or 0)`, `boolean:true`},
	})
}

// core.wait() without a delay sleeps until the invocation is woken.
func TestCoreWaitWake(t *testing.T) {
	ts := newTestState(t)
	ls := ts.ls
	ls.Lock()
	defer ls.Unlock()
	co, err := ls.NewCo(vmOptions(ctxTask))
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if err := co.Load([]byte(`core.wait() return "woken"`), "=test"); err != nil {
		t.Fatal(err)
	}
	iv := &invocation{ctx: ctxTask, ls: ls}
	co.Data = iv
	iv.wakeUp() // a wake-up before the wait is not lost
	if out := ls.drive(co); out.String() != "ok" {
		t.Fatalf("outcome %v", out)
	}
	if s, _ := co.ResultString(1); s != "woken" {
		t.Fatalf("got %q", s)
	}
}
