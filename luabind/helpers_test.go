//go:build lua53

package luabind

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"luaproxy/core"
	"luaproxy/luabind/vm"
)

// testLog is a log sink safe for concurrent writes.
type testLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// luaPrelude defines show(v) and try(f, ...) in test states. They print
// values exactly as the probe scripts run on HAProxy 2.6 did, so expected
// strings in tests are HAProxy's own output: "boolean:true, {1="a",2="b"}".
const luaPrelude = `
function show(v)
  local t = type(v)
  if t == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys+1] = tostring(k) end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do
      local val = v[k] ~= nil and v[k] or v[tonumber(k)]
      parts[#parts+1] = k .. "=" .. show(val)
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif t == "string" then
    return string.format("%q", v)
  end
  return t .. ":" .. tostring(v)
end
function try(f, ...)
  local r = table.pack(pcall(f, ...))
  local out = {}
  for i = 1, r.n do out[#out+1] = show(r[i]) end
  return table.concat(out, ", ")
end
`

// testState is a Lua state of a fresh runtime, with the prelude loaded.
type testState struct {
	t   testing.TB
	ls  *LState
	log *testLog
}

func newTestState(t testing.TB) *testState {
	t.Helper()
	log := &testLog{}
	e := core.New(core.NewLogger(log))
	rt := runtimeOf(e)
	ls, err := rt.newState(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ls.Close)
	ts := &testState{t: t, ls: ls, log: log}
	if _, err := ts.run(ctxBody, luaPrelude); err != nil {
		t.Fatalf("prelude: %v", err)
	}
	return ts
}

// run runs script as a function called in context ctx (a fetch or a
// converter cannot yield) and returns its first result as a string, or
// the failure.
func (ts *testState) run(ctx context, script string) (string, error) {
	ts.t.Helper()
	ls := ts.ls
	ls.Lock()
	defer ls.Unlock()
	co, err := ls.NewCo(vmOptions(ctx))
	if err != nil {
		return "", err
	}
	defer co.Close()
	if err := co.Load([]byte(script), "=test"); err != nil {
		return "", err
	}
	iv := &invocation{ctx: ctx, name: "test", ls: ls}
	co.Data = iv
	out := ls.drive(co)
	if out != vm.OK {
		return "", &runError{out: out, msg: failure(ls, co, out)}
	}
	if co.NResults() < 1 {
		return "", nil
	}
	switch co.ResultType(1) {
	case vm.TypeBoolean:
		return fmt.Sprint(co.ResultBool(1)), nil
	case vm.TypeNil:
		return "nil", nil
	}
	s, _ := co.ResultString(1)
	return s, nil
}

// sample runs script as a fetch or converter and converts its result.
func (ts *testState) sample(ctx context, script string) (luaSample, bool) {
	ts.t.Helper()
	ls := ts.ls
	ls.Lock()
	defer ls.Unlock()
	co, err := ls.NewCo(vmOptions(ctx))
	if err != nil {
		ts.t.Fatal(err)
	}
	defer co.Close()
	if err := co.Load([]byte(script), "=test"); err != nil {
		ts.t.Fatal(err)
	}
	iv := &invocation{ctx: ctx, name: "test", ls: ls}
	co.Data = iv
	return ls.finishSample(iv, co)
}

// vmOptions are the coroutine options of a context (fetches and
// converters cannot yield).
func vmOptions(ctx context) vm.CoOptions {
	return vm.CoOptions{YieldAllowed: ctx != ctxFetch && ctx != ctxConverter}
}

type runError struct {
	out vm.Outcome
	msg string
}

func (e *runError) Error() string { return e.msg }

// want runs script in ctx and compares its first result with want.
func (ts *testState) want(ctx context, script, want string) {
	ts.t.Helper()
	got, err := ts.run(ctx, script)
	if err != nil {
		ts.t.Errorf("%s: %s\n  failed: %v", ctx, script, err)
		return
	}
	if got != want {
		ts.t.Errorf("%s: %s\n   got: %s\n  want: %s", ctx, script, got, want)
	}
}

// luaCase is one table-test case: a Lua expression and its printed value.
type luaCase struct {
	lua  string // an expression, e.g. `try(core.tokenize, "a,b", ",")`
	want string
}

// runCases runs each case as "return <lua>" in ctx, as a subtest.
func runCases(t *testing.T, ctx context, cases []luaCase) {
	t.Helper()
	ts := newTestState(t)
	for _, tc := range cases {
		t.Run(tc.lua, func(t *testing.T) {
			ts.t = t
			ts.want(ctx, "return "+tc.lua, tc.want)
		})
	}
}

// allContexts is every context a script's code can run in.
var allContexts = []context{ctxBody, ctxInit, ctxTask, ctxAction, ctxService, ctxFetch, ctxConverter}
