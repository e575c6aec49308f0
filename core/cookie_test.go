package core

import (
	"strings"
	"testing"
)

// TestCookieConfigErrors checks the messages of HAProxy 2.6.12 ("haproxy
// -c") for "cookie", the server "cookie" and "default-server".
func TestCookieConfigErrors(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{"backend be\n    cookie\n", "parsing [t.cfg:2] : 'cookie' expects <cookie_name> as argument."},
		{"backend be\n    cookie SRV insert prefix\n", "parsing [t.cfg:2] : cookie 'rewrite', 'insert' and 'prefix' modes are incompatible."},
		{"backend be\n    cookie SRV insert indirect prefix\n", "parsing [t.cfg:2] : cookie 'rewrite', 'insert' and 'prefix' modes are incompatible."},
		{"backend be\n    cookie SRV rewrite indirect\n", "parsing [t.cfg:2] : cookie 'rewrite' and 'indirect' modes are incompatible."},
		{"backend be\n    cookie SRV preserve\n", "parsing [t.cfg:2] : cookie 'preserve' requires at least 'insert' or 'indirect'."},
		{"backend be\n    cookie SRV foo\n", "parsing [t.cfg:2] : 'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options."},
		{"backend be\n    cookie SRV domain\n", "parsing [t.cfg:2]: 'domain' expects <domain> as argument."},
		{"backend be\n    cookie SRV maxidle\n", "parsing [t.cfg:2]: 'maxidle' expects <idletime> in seconds as argument."},
		{"backend be\n    cookie SRV maxidle x\n", "parsing [t.cfg:2]: unexpected character 'x' in argument to <maxidle>."},
		{"backend be\n    cookie SRV attr\n", "parsing [t.cfg:2]: 'attr' expects <value> as argument."},
		{"backend be\n    cookie SRV attr \"a;b\"\n", "parsing [t.cfg:2]: character '%x3B' is not permitted in attribute value."},
		{"backend be\n    server s1 127.0.0.1:1 cookie\n", "[t.cfg:2] : 'server be/s1' : 'cookie' expects <value> as argument.."},
		{"backend be\n    default-server cookie\n", "[t.cfg:2] : 'cookie' expects <value> as argument.."},
		{"backend be\n    default-server id 3\n", "[t.cfg:2] : 'id' option is not accepted in default-server sections"},
		{"backend be\n    default-server hash-key addr\n", "[t.cfg:2] : unknown keyword 'hash-key'. Hint: no address was expected for this server."},
		{"backend be\n    default-server foo\n", "[t.cfg:2] : unknown keyword 'foo'. Hint: no address was expected for this server."},
		{"defaults\n    default-server weight 3 bogus\n", "[t.cfg:2] : unknown keyword 'bogus'. Hint: no address was expected for this server."},
		{"frontend fe\n    default-server weight 2\n", "parsing [t.cfg:2] : 'default-server' not allowed because frontend 'fe' has no backend capability."},
	} {
		cf, err := configParse(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = New(NewLogger(&syncBuf{})).Load(cf)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.cfg, err, c.want)
		}
	}
}

// TestCookieConfigWarnings checks HAProxy's warnings for cookies that
// cannot apply.
func TestCookieConfigWarnings(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{"frontend fe\n    cookie SRV insert\n", "parsing [t.cfg:2] : 'cookie' ignored because frontend 'fe' has no backend capability."},
		{"backend be\n    cookie SRV domain foo\n", "parsing [t.cfg:2]: domain 'foo' contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3)."},
		{"backend be\n    mode tcp\n    cookie SRV insert\n    server s1 127.0.0.1:1 cookie a\n", "cookie will be ignored for backend 'be' (needs 'mode http')."},
		{"backend be\n    mode tcp\n    cookie SRV insert\n    server s1 127.0.0.1:1 cookie a\n", "backend 'be' : ignoring cookie for server 's1' as HTTP mode is disabled."},
	} {
		cf, err := configParse(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		buf := &syncBuf{}
		if err := New(NewLogger(buf)).Load(cf); err != nil {
			t.Fatalf("%q: %v", c.cfg, err)
		}
		if !strings.Contains(buf.String(), c.want) {
			t.Errorf("%q: no warning %q in\n%s", c.cfg, c.want, buf.String())
		}
	}
}

// TestDefaultServer checks that default-server options reach the later
// server lines of the section, and a backend's from its defaults; the
// server's own options and the no-* forms override them.
func TestDefaultServer(t *testing.T) {
	cfg := `
defaults
    mode http
    default-server weight 7 check inter 3s
backend be
    default-server maxconn 5 backup disabled cookie z
    server s1 127.0.0.1:1 no-check no-backup enabled cookie a weight 2
    server s2 127.0.0.1:2
    default-server non-stick
    server s3 127.0.0.1:3 stick
    server s4 127.0.0.1:4
backend be2
    server t1 127.0.0.1:1
`
	e, _ := loadEngine(t, cfg)
	be := e.Backend("be")
	type want struct {
		weight, maxconn int
		check, backup   bool
		maint, nonStick bool
		cookie          string
	}
	got := func(s *Server) want {
		return want{s.Weight(), s.MaxConn, s.Check.Enabled, s.Backup, s.Admin().InMaint(), s.NonStick, s.Cookie}
	}
	for name, w := range map[string]want{
		"s1": {2, 5, false, false, false, false, "a"},
		"s2": {7, 5, true, true, true, false, "z"},
		"s3": {7, 5, true, true, true, false, "z"},
		"s4": {7, 5, true, true, true, true, "z"},
	} {
		s := be.FindServer(name)
		if g := got(s); g != w {
			t.Errorf("%s: got %+v, want %+v", name, g, w)
		}
		if s.Check.Inter.String() != "3s" {
			t.Errorf("%s: inter %v", name, s.Check.Inter)
		}
	}
	if g, w := got(e.Backend("be2").FindServer("t1")), (want{7, 0, true, false, false, false, ""}); g != w {
		t.Errorf("t1: got %+v, want %+v", g, w)
	}
}
