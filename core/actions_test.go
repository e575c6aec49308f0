package core

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// get sends one request on a new connection and returns the response.
func get(t *testing.T, addr, path string, hdrs ...string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", path, strings.Join(hdrs, ""))
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestVarActionsAndCaptures(t *testing.T) {
	org := helloOrigin(t)
	e, _ := startEngine(t, `
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend fe
    bind 127.0.0.1:0
    tcp-request connection set-var(sess.conn) str(c1)
    http-request set-var(txn.path) path
    http-request set-var(txn.path,ifnotexists) str(never)
    http-request set-var-fmt(txn.fmt) "%[var(txn.path)]-%[req.hdr(x-a)]"
    http-request set-var(req.tmp) str(r)
    http-request set-var(txn.gone) str(g)
    http-request unset-var(txn.gone)
    http-request capture req.hdr(x-a) len 3
    http-request set-dst-port int(81)
    http-request set-log-level silent
    http-request return status 200 content-type text/plain lf-string "%[var(txn.path)] %[var(txn.fmt)] %[var(sess.conn)] %[var(req.tmp)] %[var(txn.gone,none)] %[capture.req.hdr(0)] %[dst_port]" if { path_beg /vars }
    default_backend be
backend be
    http-response set-header x-path %[var(txn.path)]
    http-response set-header x-req %[var(req.tmp,cleared)]
    server s1 `+org+`
frontend rej
    bind 127.0.0.1:0
    tcp-request connection reject if { src 127.0.0.1 }
    default_backend be
`)
	addr := e.Addrs()[0].String()
	r := get(t, addr, "/vars", "X-A: abcdef\r\n")
	if !strings.HasSuffix(r, "\r\n\r\n/vars /vars-abcdef c1 r none abc 81") {
		t.Errorf("vars: %q", r)
	}
	r = get(t, addr, "/p")
	if !strings.Contains(strings.ToLower(r), "x-path: /p\r\n") || !strings.Contains(strings.ToLower(r), "x-req: cleared\r\n") {
		t.Errorf("response vars: %q", r)
	}
	if r := get(t, e.Addrs()[1].String(), "/"); r != "" {
		t.Errorf("tcp-request connection reject: got %q", r)
	}
}

func TestActionConfigErrors(t *testing.T) {
	for _, c := range []struct{ rule, want string }{
		{"http-request set-var(txn.x)", "error detected in frontend 'fe' while parsing 'http-request set-var(txn.x)' rule : missing fetch method."},
		{"http-request set-var(foo.x) str(a)", "invalid variable name 'foo.x'. A variable name must be start by its scope."},
		{"http-request set-var(txn.x,ifexist) str(a)", `rule : unknown condition "ifexist".`},
		{"http-request set-var(txn.x str(a)", "incomplete argument after action 'set-var(txn.x'."},
		{"http-request capture req.hdr(a)", "'http-request capture' rule : expects <expression> [ 'len' <length> | id <idx> ]."},
		{"http-request capture req.hdr(a) len x", "rule : length must be > 0."},
		{"http-request set-log-level foo", "expects exactly 1 argument (log level name or 'silent')."},
		{"http-request wait-for-body", "expects time <time> [ at-least <bytes> ]."},
		{"http-request set-var(txn.x) res.hdr(a)", "fetch method 'set-var(txn.x)' extracts information from 'HTTP response headers', none of which is available here."},
		{"tcp-response content accept", "tcp-response content is only allowed in 'backend' sections"},
		{"log-format %Z", "no such format variable 'Z'."},
		{`log-format "%ci %[req.hdr(x)]"`, "failed to parse log-format : sample fetch <req.hdr(x)]> may not be reliably used here because it needs 'HTTP request headers' which is not available here."},
		{"http-request del-header x-b -m foo", "error detected in frontend 'fe' while parsing 'http-request del-header' rule : -m with unsupported matching method 'foo'."},
	} {
		cfg := "defaults\n mode http\nfrontend fe\n bind 127.0.0.1:0\n " + c.rule + "\n"
		cf, err := configParse(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = New(NewLogger(io.Discard)).Load(cf)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.rule, err, c.want)
		}
	}
}

// TestUnappliedOptionsWarn: options luaproxy accepts without applying
// them say so at load time (they used to pass silently), "no option"
// and the options its I/O model makes moot do not.
func TestUnappliedOptionsWarn(t *testing.T) {
	for _, opt := range []string{"checkcache", "accept-invalid-http-request", "accept-invalid-http-response", "idle-close-on-response"} {
		_, log := loadEngine(t, "defaults\n    mode http\n    option "+opt+"\n")
		want := "parsing [t.cfg:3] : 'option " + opt + "' is not supported yet and is ignored"
		if !strings.Contains(log.String(), want) {
			t.Errorf("option %s: want %q, got:\n%s", opt, want, log.String())
		}
	}
	for _, line := range []string{"no option abortonclose", "option log-health-checks", "option logasap", "option abortonclose", "option http-no-delay", "option tcp-smart-accept", "option tcpka", "option nolinger"} {
		if _, log := loadEngine(t, "defaults\n    mode http\n    "+line+"\n"); strings.Contains(log.String(), "WARNING") {
			t.Errorf("%s: unexpected warning:\n%s", line, log.String())
		}
	}
	// HAProxy compat: each is ignored, with a warning, where it does not
	// apply (abortonclose reaches a frontend only from its defaults)
	for _, c := range []struct{ section, line, want string }{
		{"frontend fe", "option abortonclose", "'abortonclose' ignored because frontend 'fe' has no backend capability."},
		{"frontend fe", "no option abortonclose", "'abortonclose' ignored because frontend 'fe' has no backend capability."},
		{"frontend fe", "option log-health-checks", "'log-health-checks' ignored because frontend 'fe' has no backend capability."},
		{"backend be", "option logasap", "'logasap' ignored because backend 'be' has no frontend capability."},
	} {
		_, log := loadEngine(t, "defaults\n    mode http\n"+c.section+"\n    "+c.line+"\n")
		if want := "parsing [t.cfg:4] : " + c.want; !strings.Contains(log.String(), want) {
			t.Errorf("%s in %s: want %q, got:\n%s", c.line, c.section, want, log.String())
		}
	}
}
