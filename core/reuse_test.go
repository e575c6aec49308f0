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
