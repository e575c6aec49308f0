package core

import (
	"strings"
	"testing"

	"luaproxy/core/config"
)

func TestHTTPReuseConfig(t *testing.T) {
	e, log := loadEngine(t, `
defaults
    mode http
    http-reuse always
frontend fe
    bind 127.0.0.1:0
    http-reuse never
    default_backend be
backend be
    server s1 127.0.0.1:1
backend be2
    http-reuse never
    server s1 127.0.0.1:1
`)
	if got := e.backends["be"].Reuse; got != ReuseAlways {
		t.Errorf("be inherits %v, want always", got)
	}
	if got := e.backends["be2"].Reuse; got != ReuseNever {
		t.Errorf("be2: %v, want never", got)
	}
	if !strings.Contains(log.String(), "'http-reuse' ignored because frontend 'fe' has no backend capability.") {
		t.Errorf("no warning for the frontend:\n%s", log)
	}
	c, err := config.Parse("t.cfg", []byte("backend be\n    http-reuse sometimes\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := New(NewLogger(&syncBuf{})).Load(c); err == nil ||
		!strings.Contains(err.Error(), "'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.") {
		t.Errorf("bad mode: %v", err)
	}
}

// HAProxy refuses HTTP-only log-format variables in a TCP frontend, once
// the configuration is read (so with the file and line of the format).
func TestLogFormatHTTPOnlyInTCP(t *testing.T) {
	for _, c := range []struct {
		format, bad string
	}{
		{"%HP", "HP"}, {"%{+Q}HPO x", "HPO"}, {"%Ti/%Tw", "Ti"}, {"%r", "r"},
		{"%Tw/%Tc/%Tt %ts %rt", ""}, {"%%HP %[src]", ""},
	} {
		cfg := "defaults\n    log-format \"" + c.format + "\"\nlisten li\n    mode tcp\n    bind 127.0.0.1:0\n    server s 127.0.0.1:1\n"
		pc, err := config.Parse("t.cfg", []byte(cfg))
		if err != nil {
			t.Fatal(err)
		}
		err = New(NewLogger(&syncBuf{})).Load(pc)
		want := "Parsing [t.cfg:2]: failed to parse log-format : format variable '" + c.bad + "' is reserved for HTTP mode."
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%q: %v", c.format, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: %v, want %q", c.format, err, want)
		}
	}
}
