package core

import (
	"strings"
	"testing"

	"luaproxy/core/config"
)

// TestMoreProxyKeywordErrors checks the parse errors of the keywords of
// proxy_more.go against HAProxy 2.6.12's texts (haproxy -c).
func TestMoreProxyKeywordErrors(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"errorloc 503", "parsing [t.cfg:4] : errorloc : expects <status_code> and <url> as arguments."},
		{"errorloc302 999 http://x", "parsing [t.cfg:4] : errorloc302 : status code '999' not handled."},
		{"id 0", "parsing [t.cfg:4]: custom id has to be > 0."},
		{"id x", "parsing [t.cfg:4]: custom id has to be > 0."},
		{"server-template s 0 127.0.0.1:80", "parsing [t.cfg:4] : Wrong server-template number or range arg '0'."},
		{"server-template s 3-1 127.0.0.1:80", "parsing [t.cfg:4] : Wrong server-template number or range arg '3-1'."},
		{"server-template s 2", "parsing [t.cfg:4] : 'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments."},
		{"http-send-name-header", "parsing [t.cfg:4] : 'http-send-name-header' requires a header string."},
	} {
		if err := loadConfigError(t, "defaults\n    mode http\nbackend b\n    "+c.line+"\n"); !strings.Contains(err, c.want) {
			t.Errorf("%q: want %q, got:\n%s", c.line, c.want, err)
		}
	}
	// accepted as HAProxy accepts them
	for _, line := range []string{"fullconn x", "fullconn 100", "description a b c", "server-template s 1-3 127.0.0.1:80 check"} {
		if _, log := loadEngine(t, "defaults\n    mode http\nbackend b\n    "+line+"\n"); strings.Contains(log.String(), "ALERT") {
			t.Errorf("%q: unexpected error:\n%s", line, log.String())
		}
	}
}

// loadConfigError loads cfg, which must fail, and returns its errors.
func loadConfigError(t *testing.T, cfg string) string {
	t.Helper()
	c, err := config.Parse("t.cfg", []byte(cfg))
	if err != nil {
		return err.Error()
	}
	if err := New(NewLogger(&syncBuf{})).Load(c); err != nil {
		return err.Error()
	}
	t.Errorf("%q loaded", cfg)
	return ""
}
