//go:build lua53

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ruleAlertRe extracts what the first ALERT with a location says after
// "parsing [file:line]": HAProxy writes ": " or " : " there, so the
// separator is kept.
var ruleAlertRe = regexp.MustCompile(`(?m)ALERT.*parsing \[[^\]]*\]( ?: .*)$`)

// ruleKwListRe matches the keyword list of an unknown-action message.
var ruleKwListRe = regexp.MustCompile(`expects ('[^']*'(, | \.\.\. )?)+(, but got| in )`)

// checkRule runs "<bin> -c -f" on cfg and returns whether the file was
// valid and the first located alert, from "parsing [...]" on.
func checkRule(t *testing.T, bin, cfg string) (bool, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "e.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput()
	msg := ""
	if m := ruleAlertRe.FindSubmatch(out); m != nil {
		msg = string(m[1])
	}
	return err == nil, msg
}

// TestRuleParseErrorsDiff runs the bad rules of
// core/testdata/rule_errors.txt through luaproxy -c and, when installed,
// haproxy -c: the messages must be the same, except for the keyword lists
// of unknown actions, where luaproxy lists the keywords it implements in
// HAProxy's order. The table's messages, HAProxy 2.6.12's, are checked
// too, so that a newer haproxy shows up as a difference with the table.
func TestRuleParseErrorsDiff(t *testing.T) {
	b, err := os.ReadFile("../core/testdata/rule_errors.txt")
	if err != nil {
		t.Fatal(err)
	}
	haproxy, _ := exec.LookPath("haproxy")
	norm := func(s string) string { return ruleKwListRe.ReplaceAllString(s, "expects <list>$3") }
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 {
			t.Fatalf("bad line %q", line)
		}
		where, rule, kind, want := f[0], f[1], f[2], f[3]
		mode, fe, be := "http", "    "+rule+"\n", ""
		if where == "tcp" {
			mode = "tcp"
		}
		if where == "be" {
			fe, be = "", fe
		}
		cfg := "defaults\n    mode " + mode + "\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n" +
			"listen f\n    bind 127.0.0.1:8\n    server s1 127.0.0.1:1\n" + fe
		if where != "listen" {
			cfg = "defaults\n    mode " + mode + "\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n" +
				"frontend f\n    bind 127.0.0.1:8\n    default_backend b\n" + fe +
				"backend b\n    server s1 127.0.0.1:1\n" + be
		}
		gotOK, got := checkRule(t, binPath, cfg)
		switch kind {
		case "valid":
			if !gotOK {
				t.Errorf("%s: luaproxy refuses it: %s", rule, got)
			}
		case "unsupported":
			if got != want {
				t.Errorf("%s:\nluaproxy %s\n   want %s", rule, got, want)
			}
		case "list":
			if norm(got) != norm(want) {
				t.Errorf("%s:\nluaproxy %s\n    want %s", rule, got, want)
			}
		default:
			if got != want {
				t.Errorf("%s:\nluaproxy %s\n    want %s", rule, got, want)
			}
		}
		if haproxy == "" || kind == "unsupported" {
			continue
		}
		n++
		hOK, h := checkRule(t, haproxy, cfg)
		switch {
		case hOK != gotOK:
			t.Errorf("%s: haproxy valid=%v %s\nluaproxy valid=%v %s", rule, hOK, h, gotOK, got)
		case kind == "list" && norm(h) != norm(got), kind != "list" && h != got:
			t.Errorf("%s:\nluaproxy %s\n haproxy %s", rule, got, h)
		case h != want && kind != "valid":
			t.Errorf("%s: haproxy differs from the table:\n haproxy %s\n   table %s", rule, h, want)
		}
	}
	if haproxy != "" {
		t.Logf("%d rules compared with %s", n, haproxy)
	}
}
