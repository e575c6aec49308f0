package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"luaproxy/core/config"
)

// errorList flattens the error returned by Parse into its messages, checking
// that each one is an *Error.
func errorList(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	var out []string
	for _, e := range list {
		var ce *config.Error
		if !errors.As(e, &ce) {
			t.Errorf("error %#v is not a *config.Error", e)
		}
		out = append(out, e.Error())
	}
	return out
}

func warningList(cfg *config.Config) []string {
	var out []string
	for _, w := range cfg.Warnings {
		out = append(out, w.Level+" "+w.Error())
	}
	return out
}

// dump renders sections and statements compactly: "kind name [from X]" then
// "  N: word|word|...".
func dump(cfg *config.Config) string {
	var b strings.Builder
	for _, s := range cfg.Sections {
		b.WriteString(s.Kind)
		if s.Name != "" {
			b.WriteString(" " + s.Name)
		}
		if s.From != "" {
			b.WriteString(" from " + s.From)
		}
		b.WriteString("\n")
		for _, l := range s.Lines {
			b.WriteString("  " + l.String() + ": " + strings.Join(l.Args, "|") + "\n")
		}
	}
	return b.String()
}

func TestParseSections(t *testing.T) {
	t.Setenv("PORT", "8080")
	src := `# leading comment
global#this is the global section
daemon#daemonize
    maxconn 100

defaults
  mode http
  timeout client 5s

    frontend         foo
mode             http   # or tcp
  bind "*:${PORT}"
  default_backend bar

backend bar
  server s1 127.0.0.1:80 check

userlist users
  user admin insecure-password secret

global
  nbthread 2
`
	cfg, err := config.Parse("t.cfg", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := `global
  t.cfg:3: daemon
  t.cfg:4: maxconn|100
defaults
  t.cfg:7: mode|http
  t.cfg:8: timeout|client|5s
frontend foo
  t.cfg:11: mode|http
  t.cfg:12: bind|*:8080
  t.cfg:13: default_backend|bar
backend bar
  t.cfg:16: server|s1|127.0.0.1:80|check
userlist users
  t.cfg:19: user|admin|insecure-password|secret
global
  t.cfg:22: nbthread|2
`
	if got := dump(cfg); got != want {
		t.Errorf("sections:\n%s\nwant:\n%s", got, want)
	}
	if h := cfg.Sections[2].Head; h.String() != "t.cfg:10" || !reflect.DeepEqual(h.Args, []string{"frontend", "foo"}) {
		t.Errorf("frontend head = %v %q", h, h.Args)
	}
	if n := len(cfg.ByKind("global")); n != 2 {
		t.Errorf("ByKind(global) = %d sections, want 2", n)
	}
	if !reflect.DeepEqual(cfg.Files, []string{"t.cfg"}) {
		t.Errorf("Files = %q", cfg.Files)
	}
	// A global section after proxies deserves a diagnostic only.
	if got := warningList(cfg); !reflect.DeepEqual(got, []string{"DIAG parsing [t.cfg:21] : global section detected after a non-global one, the prevalence of their statements is unspecified"}) {
		t.Errorf("warnings = %q", got)
	}
}

func TestParseDefaults(t *testing.T) {
	src := `defaults base
  mode http
defaults
  mode tcp
frontend f1
backend b1 from base
defaults tcp from base
listen l1
defaults from tcp
backend b2
`
	cfg, err := config.Parse("t.cfg", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	type inh struct{ kind, name, from, defaults string }
	var got []inh
	for _, s := range cfg.Sections {
		d := "-"
		if ds := s.Defaults(); ds != nil {
			d = ds.Head.String()
		}
		got = append(got, inh{s.Kind, s.Name, s.From, d})
	}
	want := []inh{
		{"defaults", "base", "", "-"},
		{"defaults", "", "", "-"},
		{"frontend", "f1", "", "t.cfg:3"},
		{"backend", "b1", "base", "t.cfg:1"},
		{"defaults", "tcp", "base", "t.cfg:1"},
		{"listen", "l1", "", "t.cfg:7"},
		{"defaults", "", "tcp", "t.cfg:7"},
		{"backend", "b2", "", "t.cfg:9"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inheritance:\n got %v\nwant %v", got, want)
	}
	// "tcp" is used implicitly by l1, then referenced by name.
	if w := warningList(cfg); len(w) != 1 || !strings.Contains(w[0], "parsing [t.cfg:9] : defaults section 'tcp' (declared at t.cfg:7) is explicitly referenced by another proxy and implicitly used here.") {
		t.Errorf("warnings = %q", w)
	}
}

func TestParseEnvInGlobal(t *testing.T) {
	t.Setenv("KEEP", "k")
	t.Setenv("DROP", "d")
	src := `global
  setenv A one
  presetenv A two
  presetenv B two
  setenv LIST "x y"
.if defined(A) && streq("$B",two)
  log "$A" "$B" "${LIST[*]}"
.endif
  unsetenv A
  log "${A-unset}" "$KEEP" "$DROP"
  resetenv KEEP B
  log "${KEEP}" "${DROP-gone}" "$B"
frontend f
  bind ":${A-80}"
`
	cfg, err := config.Parse("t.cfg", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := `global
  t.cfg:2: setenv|A|one
  t.cfg:3: presetenv|A|two
  t.cfg:4: presetenv|B|two
  t.cfg:5: setenv|LIST|x y
  t.cfg:7: log|one|two|x|y
  t.cfg:9: unsetenv|A
  t.cfg:10: log|unset|k|d
  t.cfg:11: resetenv|KEEP|B
  t.cfg:12: log|k|gone|two
frontend f
  t.cfg:14: bind|:80
`
	if got := dump(cfg); got != want {
		t.Errorf("sections:\n%s\nwant:\n%s", got, want)
	}
}

func TestParsePseudoVariables(t *testing.T) {
	src := `global
  log "${.FILE}:${.LINE}" "${.SECTION}"
backend "b${.LINE}"
  server "s${.LINE}" 127.0.0.1:80 "${.SECTION}"
`
	cfg, err := config.Parse("dir/t.cfg", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := `global
  dir/t.cfg:2: log|dir/t.cfg:2|global
backend b3
  dir/t.cfg:4: server|s4|127.0.0.1:80|b3
`
	if got := dump(cfg); got != want {
		t.Errorf("sections:\n%s\nwant:\n%s", got, want)
	}
}

func TestParseEmptyWords(t *testing.T) {
	src := `backend b
  server s1 1.2.3.4:80 "$NOPE_UNSET" weight 10
  "" ignored line
  "${NOPE_UNSET}" ignored too
  http-request set-header X-Empty ""
`
	cfg, err := config.Parse("t.cfg", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	lines := cfg.Sections[0].Lines
	if len(lines) != 2 {
		t.Fatalf("lines: %s", dump(cfg))
	}
	if got := lines[0].Args; !reflect.DeepEqual(got, []string{"server", "s1", "1.2.3.4:80", "", "weight", "10"}) {
		t.Errorf("Args = %q", got)
	}
	if got := lines[0].EffectiveArgs(); !reflect.DeepEqual(got, []string{"server", "s1", "1.2.3.4:80"}) {
		t.Errorf("EffectiveArgs = %q", got)
	}
	if got := lines[1].Args; !reflect.DeepEqual(got, []string{"http-request", "set-header", "X-Empty", ""}) {
		t.Errorf("Args = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		errs []string
	}{
		{"out of section", "daemon\nglobal\n",
			[]string{"parsing [t.cfg:1] : unknown keyword 'daemon' out of section."}},
		{"unmatched quote", "global\n  log \"abc\n  daemon 'x\n",
			[]string{"parsing [t.cfg:2] : unmatched quote at position 7", "parsing [t.cfg:3] : unmatched quote at position 10"}},
		{"bad hex", "global\n  a \\xZZ\n",
			[]string{"parsing [t.cfg:2] : truncated or invalid hexadecimal sequence at position 5"}},
		{"missing LF", "global\n  daemon",
			[]string{"parsing [t.cfg:2] : Missing LF on last line, file might have been truncated at position 9."}},
		{"stray NUL", "global\n  dae\x00mon\n  maxconn 1\n  other\n",
			[]string{"parsing [t.cfg:2] : Stray NUL character at position 6."}},
		{"NUL on last line", "global\n  dae\x00mon\n",
			[]string{"parsing [t.cfg:2] : Missing LF on last line, file might have been truncated at position 6."}},
		{"line too long", "global\n  x " + strings.Repeat("a", config.MaxLineLength) + "\n  daemon 'x\n",
			[]string{"parsing [t.cfg:2] : line too long (65540 bytes), the limit is 65536.", "parsing [t.cfg:3] : unmatched quote at position 10"}},
		{"global with argument", "global foo\n",
			[]string{"parsing [t.cfg:1] : 'global' cannot handle unexpected argument 'foo'."}},
		{"frontend without name", "frontend\n  mode http\nbackend b\n",
			[]string{"parsing [t.cfg:1] : 'frontend' expects an <id> argument"}},
		{"listen with empty name", "listen \"\" x\n",
			[]string{"parsing [t.cfg:1] : 'listen' expects an <id> argument"}},
		{"bad name", "backend a/b\nfrontend 'a b'\n",
			[]string{"parsing [t.cfg:1] : character '/' is not permitted in 'backend' name 'a/b'.",
				"parsing [t.cfg:2] : character ' ' is not permitted in 'frontend' name 'a b'."}},
		{"duplicate backend", "backend b\nbackend b\n",
			[]string{"parsing [t.cfg:2] : backend 'b' has the same name as backend 'b' declared at t.cfg:1."}},
		{"listen then frontend", "listen x\nfrontend x\nbackend x\n",
			[]string{"parsing [t.cfg:2] : frontend 'x' has the same name as listen 'x' declared at t.cfg:1.",
				"parsing [t.cfg:3] : backend 'x' has the same name as listen 'x' declared at t.cfg:1."}},
		{"backend then listen", "backend x\nlisten x\n",
			[]string{"parsing [t.cfg:2] : listen 'x' has the same name as backend 'x' declared at t.cfg:1."}},
		{"frontend with address", "frontend f :80\n",
			[]string{"parsing [t.cfg:1] : please use the 'bind' keyword for listening addresses."}},
		{"backend with extra argument", "defaults d\nbackend b x\nbackend c from\nbackend e from d x\n",
			[]string{"parsing [t.cfg:2] : 'backend' cannot handle unexpected argument 'x'.",
				"parsing [t.cfg:3] : 'backend' cannot handle unexpected argument 'from'.",
				"parsing [t.cfg:4] : 'backend' cannot handle unexpected argument 'x'."}},
		{"unknown defaults", "backend b from nope\n  server s 1.2.3.4:80\nbackend c\n",
			[]string{"parsing [t.cfg:1] : defaults section 'nope' not found for backend 'b'."}},
		{"unknown defaults for defaults", "defaults from nope\n",
			[]string{"parsing [t.cfg:1] : defaults section 'nope' not found for defaults ''."}},
		{"defaults must come first", "backend b from d\ndefaults d\n",
			[]string{"parsing [t.cfg:1] : defaults section 'd' not found for backend 'b'."}},
		{"ambiguous defaults", "defaults d\ndefaults d\nbackend b from d\n",
			[]string{"parsing [t.cfg:3] : ambiguous defaults section name 'd' referenced by backend 'b' exists at least at t.cfg:1 and t.cfg:2."}},
		{"bad defaults name", "defaults d/x\nbackend b from d/x\n",
			[]string{"parsing [t.cfg:2] : character '/' is not permitted in defaults section name 'd/x' when designated by its name (section found at t.cfg:1)."}},
		{"too many fatal errors", strings.Repeat("x\n", 60),
			append(repeat("parsing [t.cfg:%d] : unknown keyword 'x' out of section.", 50),
				"parsing [t.cfg:51] : too many fatal errors (50), stopping now.")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("t.cfg", []byte(tt.src))
			if cfg == nil {
				t.Fatal("Parse returned a nil *Config")
			}
			if got := errorList(t, err); !reflect.DeepEqual(got, tt.errs) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.errs)
			}
		})
	}
}

// repeat returns n messages built from format and the numbers 1 to n.
func repeat(format string, n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, strings.Replace(format, "%d", itoa(i), 1))
	}
	return out
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestParseSameNameDifferentKinds(t *testing.T) {
	src := "frontend www\nbackend www\ndefaults www\nuserlist www\npeers www\n"
	if _, err := config.Parse("t.cfg", []byte(src)); err != nil {
		t.Fatalf("a frontend and a backend may share a name: %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	l := config.Line{File: "a.cfg", Num: 12, Args: []string{"bind"}}
	if got := l.Errorf("'%s' needs an address", "bind").Error(); got != "parsing [a.cfg:12] : 'bind' needs an address" {
		t.Errorf("Errorf = %q", got)
	}
	w := l.Warnf("careful")
	if !w.Warning || w.Level != config.LevelWarning || w.Error() != "parsing [a.cfg:12] : careful" {
		t.Errorf("Warnf = %#v", w)
	}
	if e := l.Errorf("x"); e.Warning || e.Level != config.LevelAlert {
		t.Errorf("Errorf = %#v", e)
	}
	if got := (&config.Error{File: "x", Msg: "Could not open configuration file x : denied"}).Error(); got != "Could not open configuration file x : denied" {
		t.Errorf("file-level error = %q", got)
	}
	if l.String() != "a.cfg:12" {
		t.Errorf("String = %q", l.String())
	}
}

func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("global\n  maxconn 1000\ndefaults\n  mode http\n  timeout client 30s\n")
	for i := range 2000 {
		n := itoa(i + 1)
		sb.WriteString("backend be" + n + "\n  balance roundrobin\n  http-request set-header X-Backend \"be" + n + "\"\n")
		sb.WriteString("  server s1 10.0.0.1:80 check inter 2s\n  server s2 10.0.0.2:80 check inter 2s\n")
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := config.Parse("bench.cfg", data); err != nil {
			b.Fatal(err)
		}
	}
}
