package config_test

import (
	"errors"
	"testing"

	"luaproxy/core/config"
)

// withVersion runs the test with config.Version and config.Features set.
func withVersion(t *testing.T, version string, features map[string]bool) {
	t.Helper()
	oldV, oldF := config.Version, config.Features
	config.Version, config.Features = version, features
	t.Cleanup(func() { config.Version, config.Features = oldV, oldF })
}

func TestEvalCondition(t *testing.T) {
	withVersion(t, "2.6.0", map[string]bool{"LUA": true, "OPENSSL": true})
	t.Setenv("SET", "yes")
	t.Setenv("EMPTY", "")

	tests := []struct {
		expr string
		want bool
	}{
		{"", false},
		{"0", false},
		{"1", true},
		{"42", true},
		{"-1", true},
		{"0x10", true},
		{"0x0", false},
		{"007", true},
		{" 1 ", true},
		{"!0", true},
		{"!1", false},
		{"!!1", true},
		{"! 1", false},
		{"(1)", true},
		{"( 0 )", false},
		{"!(0)", true},
		{"1 && 1", true},
		{"1 && 0", false},
		{"0 || 1", true},
		{"0 || 0", false},
		{"1&&0||1", true},
		{"0 || 1 && 0", false}, // && binds tighter: 0 || (1 && 0)
		{"1 || 0 && 0", true},  // 1 || (0 && 0)
		{"(1 || 0) && 0", false},
		{"defined(SET)", true},
		{"defined(EMPTY)", true},
		{"defined(NOPE_UNSET)", false},
		{"!defined(NOPE_UNSET)", true},
		{"defined", false}, // no parenthesis: one empty argument
		{"defined()", false},
		{"defined( SET )", false}, // spaces belong to the name
		{"feature(LUA)", true},
		{"feature(OPENSSL)", true},
		{"feature(QUIC)", false},
		{"feature(lua)", false},
		{"streq(a,a)", true},
		{"streq(a,b)", false},
		{"streq(a, a)", false}, // " a" differs from "a"
		{`streq("a,b",'a,b')`, true},
		{`streq(\"x\",'"x"')`, true},
		{"strneq(a,b)", true},
		{"strneq(a,a)", false},
		{"version_atleast(2.4)", true},
		{"version_atleast(2.6)", true},
		{"version_atleast(2.6.0)", true},
		{"version_atleast(2.6.1)", false},
		{"version_atleast(2.4-dev19)", true},
		{"version_atleast(2.6-dev1)", true},
		{"version_atleast(2.6-rc1)", true},
		{"version_atleast(3)", false},
		{"version_before(2.7)", true},
		{"version_before(2.6)", false},
		{"version_before(2.5.99)", false},
		{"version_atleast(junk)", true}, // HAProxy compat: unparsable compares as older
		{"version_before(junk)", false},
		{"feature(LUA) && (streq(yes,yes) || defined(NOPE_UNSET))", true},
		{"defined(SET) && !version_before(2.4) && feature(LUA)", true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := config.EvalCondition(tt.expr)
			if err != nil {
				t.Fatalf("EvalCondition(%q): %v", tt.expr, err)
			}
			if got != tt.want {
				t.Errorf("EvalCondition(%q) = %v, want %v", tt.expr, got, tt.want)
			}
		})
	}
}

func TestEvalConditionVersions(t *testing.T) {
	tests := []struct {
		current, expr string
		want          bool
	}{
		{"2.4-dev19", "version_atleast(2.4-dev18)", true},
		{"2.4-dev19", "version_atleast(2.4-dev20)", false},
		{"2.4-dev19", "version_before(2.4)", true},
		{"2.4-dev19", "version_before(2.4-rc1)", true},
		{"2.4-rc1", "version_before(2.4.0)", true},
		{"2.6.12-1234", "version_atleast(2.6.12)", true},
		{"2.6.12", "version_atleast(2.6.12-1)", false},
		{"2.6.12.1", "version_atleast(2.6.12)", true},
	}
	for _, tt := range tests {
		t.Run(tt.current+"/"+tt.expr, func(t *testing.T) {
			withVersion(t, tt.current, nil)
			got, err := config.EvalCondition(tt.expr)
			if err != nil || got != tt.want {
				t.Errorf("EvalCondition(%q) with Version %q = %v, %v; want %v", tt.expr, tt.current, got, err, tt.want)
			}
		})
	}
}

func TestEvalConditionErrors(t *testing.T) {
	tests := []struct {
		expr string
		msg  string
		pos  int
	}{
		{"foo", "unparsable conditional expression 'foo'", 1},
		{"!", "unparsable conditional expression '!'", 1},
		{"1 &&", "unparsable conditional expression '&&'", 3},
		{"1 ||", "unparsable conditional expression '1 ||'", 3},
		{"1 2", "unexpected character '2' at the end of conditional expression '1 2'", 3},
		{"1abc", "unexpected character 'a' at the end of conditional expression '1abc'", 2},
		{"08", "unexpected character '8' at the end of conditional expression '08'", 2},
		{"(1", "expected ')' after conditional expression '(1'", 1},
		{"()", "unparsable conditional expression ')'", 2},
		{`streq(a\,b,a)`, "expected ')' before ',a)' in argument 1 of predicate 'streq' used in conditional expression", 11}, // a backslash does not protect a comma
		{"(1 &&)", "unparsable conditional expression ')'", 6},
		{"defined (X)", "unexpected character '(' at the end of conditional expression 'defined (X)'", 9},
		{"streq(a)", "missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression", 8},
		{"streq", "missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression", 6},
		{"defined(A", "expected ')' in argument 1 of predicate 'defined' used in conditional expression", 10},
		{"defined(A,B)", "expected ')' before ',B)' in argument 1 of predicate 'defined' used in conditional expression", 10},
		{`streq(a,"b)`, "expected ')' in argument 1 of predicate 'streq' used in conditional expression", 12},
		{`defined(\`, `failed to parse '\' after '' as type 'string' at position 1 in argument 0 of predicate 'defined' used in conditional expression`, 9},
		{"Defined(X)", "unparsable conditional expression 'Defined(X)'", 1},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := config.EvalCondition(tt.expr)
			if err == nil {
				t.Fatalf("EvalCondition(%q) = %v, want error %q", tt.expr, got, tt.msg)
			}
			var ce *config.CondError
			if !errors.As(err, &ce) {
				t.Fatalf("error %#v is not a *CondError", err)
			}
			if ce.Msg != tt.msg || ce.Pos != tt.pos {
				t.Errorf("EvalCondition(%q) error = %q at %d, want %q at %d", tt.expr, ce.Msg, ce.Pos, tt.msg, tt.pos)
			}
		})
	}
}

func TestEvalConditionDepth(t *testing.T) {
	deep := ""
	for range 2000 {
		deep += "("
	}
	if _, err := config.EvalCondition(deep + "1"); err == nil {
		t.Fatal("2000 nested parentheses: want an error")
	}
	long := "1"
	for range 2000 {
		long += " && 1"
	}
	if _, err := config.EvalCondition(long); err == nil {
		t.Fatal("2000 chained terms: want an error, as in HAProxy")
	}
	ok := "1"
	for range 100 {
		ok += " && 1"
	}
	if v, err := config.EvalCondition(ok); err != nil || !v {
		t.Fatalf("100 chained terms = %v, %v; want true", v, err)
	}
}
