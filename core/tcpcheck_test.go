package core

import (
	"io"
	"strings"
	"testing"
)

func loadConfig(t *testing.T, cfg string) (*Engine, error) {
	t.Helper()
	cf, err := configParse(cfg)
	if err != nil {
		return nil, err
	}
	e := New(NewLogger(io.Discard))
	return e, e.Load(cf)
}

const checkDefaults = "defaults\n    mode tcp\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n"

// TestUseServerUnknown checks the error for a use-server rule naming no
// server of its section, as haproxy -c prints it.
func TestUseServerUnknown(t *testing.T) {
	for _, c := range []struct{ sect, want string }{
		{"backend b", "backend 'b' : unable to find server 'nope' referenced in a 'use-server' rule."},
		{"listen b\n    bind 127.0.0.1:0", "proxy 'b' : unable to find server 'nope' referenced in a 'use-server' rule."},
	} {
		_, err := loadConfig(t, checkDefaults+c.sect+"\n    use-server nope if TRUE\n    server s1 127.0.0.1:1\n")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.sect, err, c.want)
		}
	}
	_, err := loadConfig(t, checkDefaults+"    use-server s1 if TRUE\nbackend b\n    server s1 127.0.0.1:1\n")
	if err == nil || !strings.Contains(err.Error(), "'use-server' not allowed in 'defaults' section.") {
		t.Errorf("defaults: got %v", err)
	}
}

// TestTCPCheckInherit checks that a section inherits the tcp-check rules
// of its defaults unless it declares its own, which replace them, and
// that option redis-check builds HAProxy's PING/+PONG rules.
func TestTCPCheckInherit(t *testing.T) {
	e, err := loadConfig(t, checkDefaults+`    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG
backend inherits
    server s1 127.0.0.1:1 check
backend own
    tcp-check send-binary 0102
    server s1 127.0.0.1:1 check
backend redis
    option redis-check
    server s1 127.0.0.1:1 check
backend http
    option httpchk
    server s1 127.0.0.1:1 check
`)
	if err != nil {
		t.Fatal(err)
	}
	steps := func(name string) string {
		px := e.Backend(name)
		if !px.Options.TCPChk || px.TCPCheck == nil {
			return "none"
		}
		var b []string
		for _, r := range px.TCPCheck.Rules {
			b = append(b, string(r.Data)+string(r.Pattern))
		}
		return strings.Join(b, "|")
	}
	for name, want := range map[string]string{
		"inherits": "PING\r\n|+PONG",
		"own":      "\x01\x02",
		"redis":    "*1\r\n$4\r\nPING\r\n|+PONG\r\n",
		"http":     "none",
	} {
		if got := steps(name); got != want {
			t.Errorf("%s: rules %q, want %q", name, got, want)
		}
	}
}
