package config_test

import (
	"reflect"
	"strings"
	"testing"

	"luaproxy/core/config"
)

// keptLines parses src and returns the first word after the keyword of
// every statement kept, in order.
func keptLines(t *testing.T, src string) []string {
	t.Helper()
	cfg, err := config.Parse("t.cfg", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var out []string
	for _, s := range cfg.Sections {
		for _, l := range s.Lines {
			out = append(out, l.Args[1])
		}
	}
	return out
}

func TestConditionalBlocks(t *testing.T) {
	withVersion(t, "2.6.0", map[string]bool{"LUA": true})
	t.Setenv("A", "1")
	t.Setenv("B", "0")
	t.Setenv("SSL", "yes")

	tests := []struct {
		name string
		body string
		want []string
	}{
		{"if true", ".if 1\nk a\n.endif\nk b", []string{"a", "b"}},
		{"if false", ".if 0\nk a\n.endif\nk b", []string{"b"}},
		{"empty condition is false", ".if\nk a\n.endif", nil},
		{"if else", ".if 0\nk a\n.else\nk b\n.endif", []string{"b"}},
		{"first true branch only", ".if 1\nk a\n.elif 1\nk b\n.else\nk c\n.endif", []string{"a"}},
		{"elif taken", ".if 0\nk a\n.elif 1\nk b\n.elif 1\nk c\n.else\nk d\n.endif", []string{"b"}},
		{"else taken", ".if 0\nk a\n.elif 0\nk b\n.else\nk c\n.endif", []string{"c"}},
		{"nested", ".if 1\nk a\n.if 0\nk b\n.else\nk c\n.endif\nk d\n.endif", []string{"a", "c", "d"}},
		{"nested in ignored block", ".if 0\n.if 1\nk a\n.else\nk b\n.endif\n.else\nk c\n.endif", []string{"c"}},
		{"ignored conditions are not evaluated", ".if 0\n.if junk(\n.elif more junk\n.endif\n.endif\nk a", []string{"a"}},
		{"ignored directives", ".if 0\n.alert \"never\"\n.unknown\nk a\n.endif", nil},
		{"environment", ".if \"${A}\"\nk a\n.endif\n.if \"$B\"\nk b\n.endif", []string{"a"}},
		{"words are joined", ".if streq(\"$SSL\", yes)\nk a\n.elif streq(\"$SSL\",yes)\nk b\n.endif", []string{"b"}},
		{"manual example", ".if feature(LUA) && (streq(\"$SSL\",yes) || streq(\"$X\",yes))\nk a\n.endif", []string{"a"}},
		{"version", ".if version_atleast(2.4-dev19)\nk a\n.endif\n.if version_before(2.6)\nk b\n.endif", []string{"a"}},
		{"comment after condition", ".if 1 # always\nk a\n.endif # done", []string{"a"}},
		{"section header in block", ".if 0\nbackend ignored\n.endif\nk a", []string{"a"}},
		{"setenv then defined", "  setenv C x\n.if defined(C)\nk a\n.endif", []string{"C", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := keptLines(t, "global\n"+tt.body+"\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("kept %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConditionalBlockErrors(t *testing.T) {
	tests := []struct {
		name string
		body string // after a "global" line: line numbers start at 2
		errs []string
	}{
		{"unparsable", ".if foo\n.endif", []string{"parsing [t.cfg:2] : unparsable conditional expression 'foo' in '.if' at position 1"}},
		{"elif unparsable", ".if 0\n.elif 1 &&\n.endif", []string{"parsing [t.cfg:3] : unparsable conditional expression '&&' in '.elif' at position 3"}},
		{"predicate arguments", ".if streq(a)\n.endif", []string{"parsing [t.cfg:2] : missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression in '.if' at position 8"}},
		{"lone elif", ".elif 1", []string{"parsing [t.cfg:2] : lone '.elif' with no matching '.if'."}},
		{"lone else", ".else", []string{"parsing [t.cfg:2] : lone '.else' with no matching '.if'."}},
		{"lone endif", "k a\n.endif\nk b", []string{"parsing [t.cfg:3] : lone '.endif' with no matching '.if'."}},
		{"elif after else", ".if 0\n.else\n.elif 1\n.endif", []string{"parsing [t.cfg:4] : '.elif' after '.else' is not permitted."}},
		{"else after else", ".if 0\n.else\n.else\n.endif", []string{"parsing [t.cfg:4] : '.else' after '.else' is not permitted."}},
		{"else with argument", ".if 0\n.else 1\n.endif", []string{"parsing [t.cfg:3] : Unexpected argument '1' for '.else'."}},
		{"endif with argument", ".if 0\n.endif x", []string{"parsing [t.cfg:3] : Unexpected argument 'x' for '.endif'."}},
		{"non-terminated", ".if 1\nk a\n.if 0\n.endif\nk b", []string{"parsing [t.cfg:6] : non-terminated '.if' block."}},
		{"too deep", strings.Repeat(".if 1\n", 130), []string{"parsing [t.cfg:129] : too many nested '.if', max is 128."}},
		{"tokenizing errors in ignored blocks", ".if 0\nk \"a\n.endif", []string{"parsing [t.cfg:3] : unmatched quote at position 3"}},
		{"alert", "k a\n.alert \"stop here\"\nk 'b\n", []string{"parsing [t.cfg:3] : 'stop here'."}},
		{"message with spaces", ".notice a b\n.warning \"a b\"", []string{"parsing [t.cfg:2] : Unexpected argument 'b' for '.notice'. Use quotes if the message should contain spaces."}},
		{"unknown directive", ".include x\nk a 'b", []string{"parsing [t.cfg:2] : unknown directive '.include'."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("t.cfg", []byte("global\n"+tt.body+"\n"))
			if got := errorList(t, err); !reflect.DeepEqual(got, tt.errs) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.errs)
			}
		})
	}
}

func TestMessageDirectives(t *testing.T) {
	src := `global
.diag "d1"
.notice "n1"
.warning "w1"
.if 0
.warning "hidden"
.endif
.warning
`
	cfg, err := config.Parse("t.cfg", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"DIAG parsing [t.cfg:2] : 'd1'.",
		"NOTICE parsing [t.cfg:3] : 'n1'.",
		"WARNING parsing [t.cfg:4] : 'w1'.",
		"WARNING parsing [t.cfg:8] : ''.",
	}
	if got := warningList(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
	for _, w := range cfg.Warnings {
		if !w.Warning {
			t.Errorf("%v: Warning not set", w)
		}
	}
}
