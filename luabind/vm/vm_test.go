//go:build lua53

package vm

import (
	"math"
	"strings"
	"testing"
	"time"
)

// newTestState returns a state with a few Go functions as globals.
func newTestState(t testing.TB, opts Options) *State {
	t.Helper()
	st, err := NewState(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	st.Lock()
	defer st.Unlock()
	for name, f := range testFuncs {
		if err := st.SetGlobal(name, func(p *Pusher) { p.PushFunction(f) }); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

var testFuncs = map[string]*Function{
	"noop": NewFunction("noop", func(c *Call) (int, error) { return 0, nil }),
	"add": NewFunction("add", func(c *Call) (int, error) {
		a, err := c.Integer(1)
		if err != nil {
			return 0, err
		}
		b, err := c.Integer(2)
		if err != nil {
			return 0, err
		}
		c.PushInteger(a + b)
		return 1, nil
	}),
	"concat": NewFunction("concat", func(c *Call) (int, error) {
		a, err := c.Bytes(1)
		if err != nil {
			return 0, err
		}
		b, err := c.Bytes(2)
		if err != nil {
			return 0, err
		}
		c.PushString(string(a) + string(b))
		return 1, nil
	}),
	"goerr": NewFunction("goerr", func(c *Call) (int, error) {
		return 0, errorString("go says no")
	}),
	"gopanic": NewFunction("gopanic", func(c *Call) (int, error) {
		panic("oops")
	}),
	"sleep": NewFunction("sleep", func(c *Call) (int, error) {
		ms, err := c.Integer(1)
		if err != nil {
			return 0, err
		}
		return c.Yield(func() { time.Sleep(time.Duration(ms) * time.Millisecond) }, func(c *Call) (int, error) {
			c.PushString("slept")
			return 1, nil
		})
	}),
	"recv": NewFunction("recv", func(c *Call) (int, error) {
		// yields; the host pushes the data as resume values
		return c.Yield(nil, func(c *Call) (int, error) {
			var sb strings.Builder
			for i := 1; i <= c.Top(); i++ {
				s, _ := c.String(i)
				sb.WriteString(s)
			}
			c.PushString(sb.String())
			return 1, nil
		})
	}),
	// results(n) returns n integers 1..n (pushed in place by C, past the
	// LUA_MINSTACK slots a C function is given).
	"results": NewFunction("results", func(c *Call) (int, error) {
		n, err := c.Integer(1)
		if err != nil {
			return 0, err
		}
		for i := int64(1); i <= n; i++ {
			c.PushInteger(i)
		}
		return int(n), nil
	}),
	// mixed() returns scalars, then values that allocate, then scalars again.
	"mixed": NewFunction("mixed", func(c *Call) (int, error) {
		c.PushInteger(-7)
		c.PushNumber(2.5)
		c.PushBool(true)
		c.PushNil()
		c.PushString("s")
		c.NewTable(1, 0)
		c.PushInteger(9)
		c.SetIndex(1)
		c.PushBool(false)
		c.PushNumber(math.Copysign(0, -1))
		return 8, nil
	}),
	// conv(x) returns x through Integer, Number and Bytes ("error" when refused).
	"conv": NewFunction("conv", func(c *Call) (int, error) {
		if v, err := c.Integer(1); err != nil {
			c.PushString("error")
		} else {
			c.PushInteger(v)
		}
		if v, err := c.Number(1); err != nil {
			c.PushString("error")
		} else {
			c.PushNumber(v)
		}
		if v, err := c.Bytes(1); err != nil {
			c.PushString("error")
		} else {
			c.PushBytes(v)
		}
		return 3, nil
	}),
	"mkt": NewFunction("mkt", func(c *Call) (int, error) {
		c.NewTable(0, 2)
		c.FieldString("a", "x")
		c.FieldInteger("b", 2)
		c.NewTable(2, 0)
		c.PushString("one")
		c.SetIndex(1)
		c.PushString("two")
		c.SetIndex(2)
		return 2, nil
	}),
}

type errorString string

func (e errorString) Error() string { return string(e) }

// run runs code as an invocation to completion, as a host driver would:
// forced and Lua yields resume at once, Go yields run their wait first.
func run(t testing.TB, st *State, o CoOptions, code string, args ...string) (*Co, Outcome) {
	t.Helper()
	anyArgs := make([]any, len(args))
	for i, a := range args {
		anyArgs[i] = a
	}
	co := start(t, st, o, code, anyArgs...)
	out, _ := drive(st, co)
	return co, out
}

func runOK(t testing.TB, st *State, code string) []any {
	t.Helper()
	co, out := run(t, st, CoOptions{YieldAllowed: true}, code)
	if out != OK {
		t.Fatalf("outcome %v: %v\n%s", out, co.Err(), tracebackOf(co))
	}
	st.Lock()
	defer st.Unlock()
	var res []any
	for i := 1; i <= co.NResults(); i++ {
		res = append(res, co.ResultValue(i))
	}
	co.Close()
	return res
}

func tracebackOf(co *Co) string {
	if co.Err() != nil {
		return co.Err().Traceback
	}
	return ""
}

func TestBasics(t *testing.T) {
	st := newTestState(t, Options{})
	got := runOK(t, st, `return add(2, 3), concat("ab", 12), concat(1.5, "x"), type(pcall), mkt()`)
	want := []any{int64(5), "ab12", "1.5x", "function"}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("result %d = %#v, want %#v", i+1, got[i], w)
		}
	}
	tb, ok := got[4].(map[any]any)
	if !ok || tb["a"] != "x" || tb["b"] != int64(2) {
		t.Errorf("table = %#v", got[4])
	}
	arr, _ := got[5].(map[any]any)
	if arr[int64(1)] != "one" || arr[int64(2)] != "two" {
		t.Errorf("array = %#v", got[5])
	}
}

func TestArgErrors(t *testing.T) {
	st := newTestState(t, Options{})
	cases := []struct{ code, want string }{
		{`add(1)`, "test:1: bad argument #2 to 'add' (number expected, got no value)"},
		{`add(1, {})`, "test:1: bad argument #2 to 'add' (number expected, got table)"},
		{`add(1, 1.5)`, "test:1: bad argument #2 to 'add' (number has no integer representation)"},
		{`goerr()`, "test:1: go says no"},
		{`gopanic()`, "test:1: go panic: oops"},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			co, out := run(t, st, CoOptions{YieldAllowed: true}, tc.code)
			if out != Failed || co.Err().Message != tc.want {
				t.Fatalf("got %v %q, want %q", out, co.Err(), tc.want)
			}
			st.Lock()
			co.Close()
			st.Unlock()
		})
	}
}

// TestResults: results made only of scalars are pushed by C in place, the
// others from a copy; both kinds in one call keep their order.
func TestResults(t *testing.T) {
	st := newTestState(t, Options{})
	wantResults(t, runOK(t, st, `
		local a, b, c, d, e, f, g, h = mixed()
		return math.type(a), a, math.type(b), b, c, d, e, f[1], g, 1/h`),
		"integer", int64(-7), "float", 2.5, true, nil, "s", int64(9), false, math.Inf(-1))
	wantResults(t, runOK(t, st, `
		local t = table.pack(results(5000))
		local sum = 0
		for i = 1, t.n do sum = sum + t[i] end
		return t.n, sum, select("#", results(0))`), int64(5000), int64(5000*5001/2), int64(0))
}

// TestArgConversions compares Integer, Number and Bytes with Lua's own
// conversions (luaL_checkinteger through string.format("%d"), tonumber,
// tostring) on integers, floats with and without an integer value, -0.0 and
// numeric strings.
func TestArgConversions(t *testing.T) {
	st := newTestState(t, Options{})
	res := runOK(t, st, `
		local vals = {7, -7, 0, 2.0, 1.5, -0.0, 0.0, 2^53 + 1, math.maxinteger, math.mininteger,
			2^63, -2^63, 1e100, 1/0, -1/0, 0/0, "12", "0x10", "1e2", " 3 ", "2.5", "-0", "abc"}
		local function num(v) return math.type(v) and string.format("%a", v) or v end
		local bad = {}
		for k, x in ipairs(vals) do
			local gi, gn, gb = conv(x)
			local ok, li = pcall(string.format, "%d", x)
			local want = {ok and li or "error", num(tonumber(x)) or "error", tostring(x)}
			local got = {gi == "error" and gi or string.format("%d", gi), num(gn), gb}
			for j = 1, 3 do
				if got[j] ~= want[j] and got[j] == got[j] then
					bad[#bad + 1] = string.format("%s #%d: got %s, want %s", tostring(x), j, got[j], want[j])
				end
			end
		end
		return table.concat(bad, "; ")`)
	wantResults(t, res, "")
}
