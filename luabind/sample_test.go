//go:build lua53

package luabind

import (
	"strings"
	"testing"
)

// The architecture document's table of Lua values returned by a converter
// or fetch, and what HAProxy 2.6.12 printed for each (%[lua.f(...)]).
func TestSampleConversion(t *testing.T) {
	ts := newTestState(t)
	for _, tc := range []struct {
		ret  string
		want luaSample
		ok   bool
	}{
		{`return 42`, luaSample{kind: sampleSInt, num: 42}, true},
		{`return 2.0`, luaSample{kind: sampleSInt, num: 2}, true},
		{`return 1.5`, luaSample{kind: sampleSInt}, true}, // HAProxy printed 0
		{`return 2^53`, luaSample{kind: sampleSInt, num: 1 << 53}, true},
		{`return true`, luaSample{kind: sampleBool, num: 1}, true},
		{`return false`, luaSample{kind: sampleBool}, true},
		{`return "str"`, luaSample{kind: sampleStr, str: "str"}, true},
		{`return nil`, luaSample{kind: sampleBool}, true},
		{`return {}`, luaSample{kind: sampleBool}, true},
		{`return print`, luaSample{kind: sampleBool}, true},
		{`return core.concat()`, luaSample{kind: sampleBool}, true},
		{`return coroutine.create(print)`, luaSample{kind: sampleBool}, true},
		{`return`, luaSample{}, false}, // HAProxy printed nothing: no sample
	} {
		for _, ctx := range []context{ctxFetch, ctxConverter} {
			got, ok := ts.sample(ctx, tc.ret)
			if got != tc.want || ok != tc.ok {
				t.Errorf("%s: %s: got %+v, %v; want %+v, %v", ctx, tc.ret, got, ok, tc.want, tc.ok)
			}
		}
	}
}

// Failures of fetches and converters are logged in HAProxy's words.
func TestSampleFailureLogs(t *testing.T) {
	ts := newTestState(t)
	for _, tc := range []struct {
		ctx    context
		script string
		log    string
	}{
		{ctxFetch, `core.msleep(1)`, "Lua sample-fetch 'test': yield not allowed."},
		{ctxConverter, `core.msleep(1)`, "Lua converter 'test': yield functions like core.tcp() or core.sleep() are not allowed."},
		{ctxFetch, `error("boom")`, "Lua sample-fetch 'test': [state-id 0] runtime error: test:1: boom from "},
		{ctxConverter, `error("boom")`, "Lua converter 'test': [state-id 0] runtime error: test:1: boom from "},
	} {
		if _, ok := ts.sample(tc.ctx, tc.script); ok {
			t.Errorf("%s: %s: succeeded", tc.ctx, tc.script)
		}
		if !strings.Contains(ts.log.String(), tc.log) {
			t.Errorf("%s: %s: log lacks %q:\n%s", tc.ctx, tc.script, tc.log, ts.log)
		}
	}
}
