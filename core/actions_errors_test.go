package core

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// ruleErrorCase is one line of testdata/rule_errors.txt.
type ruleErrorCase struct {
	where, rule, kind, msg string
}

func readRuleErrorCases(t *testing.T) []ruleErrorCase {
	t.Helper()
	b, err := os.ReadFile("testdata/rule_errors.txt")
	if err != nil {
		t.Fatal(err)
	}
	var cases []ruleErrorCase
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 {
			t.Fatalf("bad line %q", line)
		}
		cases = append(cases, ruleErrorCase{f[0], f[1], f[2], f[3]})
	}
	return cases
}

// ruleErrorConfig is the configuration of a case: the rule goes in
// frontend 'f' or backend 'b'.
func ruleErrorConfig(where, rule string) string {
	mode := "http"
	if where == "tcp" {
		mode = "tcp"
	}
	fe, be := "    "+rule+"\n", ""
	if where == "be" {
		fe, be = "", fe
	}
	if where == "listen" {
		return "defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n" +
			"listen f\n    bind 127.0.0.1:0\n    server s1 127.0.0.1:1\n" + fe
	}
	return "defaults\n    mode " + mode + "\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n" +
		"frontend f\n    bind 127.0.0.1:0\n    default_backend b\n" + fe +
		"backend b\n    server s1 127.0.0.1:1\n" + be
}

// locRe finds the location of an alert; what follows is the message.
var locRe = regexp.MustCompile(`parsing \[[^\]]*\]`)

// kwListRe matches the keyword list of an unknown-action message.
var kwListRe = regexp.MustCompile(`expects ('[^']*'(, | \.\.\. )?)+(, but got| in )`)

// sameKeywordSentence tells whether got is want with a shorter keyword
// list: the same sentence, and got's keywords in want's order without
// duplicates.
func sameKeywordSentence(got, want string) bool {
	norm := func(s string) string { return kwListRe.ReplaceAllString(s, "expects <list>$3") }
	if norm(got) != norm(want) {
		return false
	}
	list := func(s string) []string {
		return regexp.MustCompile(`'[^']*'`).FindAllString(kwListRe.FindString(s), -1)
	}
	w, seen := list(want), map[string]bool{}
	for _, k := range list(got) {
		if seen[k] {
			return false
		}
		seen[k] = true
		for len(w) > 0 && w[0] != k {
			w = w[1:]
		}
		if len(w) == 0 {
			return false
		}
	}
	return len(seen) > 0
}

// TestRuleParseErrors checks the message of each bad rule of
// testdata/rule_errors.txt against HAProxy 2.6.12's.
func TestRuleParseErrors(t *testing.T) {
	cases := readRuleErrorCases(t)
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		cf, err := configParse(ruleErrorConfig(c.where, c.rule))
		if err == nil {
			err = New(NewLogger(io.Discard)).Load(cf)
		}
		if c.kind == "valid" {
			if err != nil {
				t.Errorf("%s: HAProxy accepts it, got %v", c.rule, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted, want %q", c.rule, c.msg)
			continue
		}
		first, _, _ := strings.Cut(err.Error(), "\n")
		loc := locRe.FindStringIndex(first)
		if loc == nil {
			t.Errorf("%s: no location in %q", c.rule, first)
			continue
		}
		got := first[loc[1]:]
		switch c.kind {
		case "list":
			if !sameKeywordSentence(got, c.msg) {
				t.Errorf("%s:\n got %s\nwant %s", c.rule, got, c.msg)
			}
		default:
			if got != c.msg {
				t.Errorf("%s:\n got %s\nwant %s", c.rule, got, c.msg)
			}
		}
	}
}

// FuzzRuleParse checks that no rule line makes the parser panic.
func FuzzRuleParse(f *testing.F) {
	b, err := os.ReadFile("testdata/rule_errors.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if fs := strings.Split(line, "\t"); len(fs) == 4 && !strings.HasPrefix(line, "#") {
			f.Add(fs[0], fs[1])
		}
	}
	f.Fuzz(func(t *testing.T, where, rule string) {
		if strings.ContainsAny(rule, "\n\r") {
			return
		}
		cf, err := configParse(ruleErrorConfig(where, rule))
		if err == nil {
			_ = New(NewLogger(io.Discard)).Load(cf)
		}
	})
}
