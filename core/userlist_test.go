package core

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadMessages loads cfg (after a "defaults" section in mode http, file
// "t.cfg") and returns its errors and the log's warnings.
func loadMessages(t *testing.T, cfg string) (errs, warns string, e *Engine) {
	t.Helper()
	cf, err := configParse("defaults\n    mode http\n" + cfg)
	if err != nil {
		return err.Error(), "", nil
	}
	var log bytes.Buffer
	e = New(NewLogger(&log))
	if err := e.Load(cf); err != nil {
		errs = err.Error()
	}
	return errs, log.String(), e
}

// TestUserlistConfigErrors checks the messages of bad userlist,
// http-errors, monitor and errorfiles lines: HAProxy 2.6.12's (haproxy -c).
func TestUserlistConfigErrors(t *testing.T) {
	dir := t.TempDir()
	f503 := filepath.Join(dir, "503.http")
	if err := os.WriteFile(f503, []byte("HTTP/1.0 503 Service Unavailable\r\n\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cfg, err, warn string
	}{
		{cfg: "userlist L\n    user\n", err: "parsing [t.cfg:4]: 'user' expects <name> as arguments."},
		{cfg: "userlist L\n    user x foo bar\n", err: "parsing [t.cfg:4]: 'user' only supports 'password', 'insecure-password' and 'groups' options."},
		{cfg: "userlist L\n    user x insecure-password a\n    user x insecure-password b\n", warn: "parsing [t.cfg:5]: ignoring duplicated user 'x' in userlist 'L'."},
		{cfg: "userlist L\n    group g\n    group g\n", warn: "parsing [t.cfg:5]: ignoring duplicated group 'g' in userlist 'L'."},
		{cfg: "userlist L\n    group\n", err: "parsing [t.cfg:4]: 'group' expects <name> as arguments."},
		{cfg: "userlist L\n    group g users nosuch\n", err: "userlist 'L': no such user 'nosuch' specified in group 'g'"},
		{cfg: "userlist L\n    user u insecure-password a groups nosuch\n", err: "userlist 'L': no such group 'nosuch' specified in user 'u'"},
		{cfg: "userlist L\n    group g foo\n", err: "parsing [t.cfg:4]: 'group' only supports 'users' option."},
		{cfg: "userlist L\n    foo\n", err: "parsing [t.cfg:4]: unknown keyword 'foo' in 'users' section"},
		{cfg: "userlist L\nuserlist L\n", warn: "parsing [t.cfg:4]: ignoring duplicated userlist 'L'."},
		{cfg: "userlist L\n    user u password $9$x\n", warn: "luaproxy cannot check the password hash of user 'u'"},
		{cfg: "frontend f\n    monitor-uri\n", err: "parsing [t.cfg:4] : 'monitor-uri' expects an URI."},
		{cfg: "frontend f\n    monitor-uri /a /b\n", err: "parsing [t.cfg:4] : 'monitor-uri' cannot handle unexpected argument '/b'."},
		{cfg: "frontend f\n    monitor fail\n", err: "parsing [t.cfg:4] : 'monitor fail' requires either 'if' or 'unless' followed by a condition."},
		{cfg: "frontend f\n    monitor fail foo\n", err: "parsing [t.cfg:4] : 'monitor fail' requires either 'if' or 'unless' followed by a condition."},
		{cfg: "frontend f\n    monitor foo\n", err: "parsing [t.cfg:4] : 'monitor' only supports 'fail'."},
		{cfg: "    monitor fail if TRUE\n", err: "parsing [t.cfg:3] : 'monitor' not allowed in 'defaults' section."},
		{cfg: "backend b\n    monitor-uri /x\n", warn: "parsing [t.cfg:4] : 'monitor-uri' ignored because backend 'b' has no frontend capability."},
		{cfg: "backend b\n    monitor fail if TRUE\n", warn: "parsing [t.cfg:4] : 'monitor' ignored because backend 'b' has no frontend capability."},
		{cfg: "frontend f\n    errorfiles nosuch\n", err: "proxy 'f': unknown http-errors section 'nosuch' (at t.cfg:4)."},
		{cfg: "frontend f\n    errorfiles\n", err: "parsing [t.cfg:4] : errorfiles : expects <name> as argument."},
		{cfg: "http-errors\n", err: "parsing [t.cfg:3] : missing name for http-errors section."},
		{cfg: "http-errors e\n    errorfile 999 " + f503 + "\n", err: "parsing [t.cfg:4] : errorfile : status code '999' not handled."},
		{cfg: "http-errors e\n    errorfile 503\n", err: "parsing [t.cfg:4] : errorfile: expects <status_code> and <file> as arguments."},
		{cfg: "http-errors e\n    errorfile 503 /nonexist\n", err: "parsing [t.cfg:4] : errorfile : error opening file '/nonexist'."},
		{cfg: "http-errors e\n    foo\n", err: "parsing [t.cfg:4] : unknown keyword 'foo' in 'http-errors' section"},
		{cfg: "http-errors e\nhttp-errors e\n", err: "parsing [t.cfg:4]: http-errors section 'e' already exists (declared at t.cfg:3)."},
		{cfg: "http-errors e\n    errorfile 503 " + f503 + "\nfrontend f\n    errorfiles e 404\n", warn: "config: proxy 'f' : status '404' not declared in http-errors section 'e' (at t.cfg:6)."},
		{cfg: "frontend f\n    errorloc 403\n", err: "parsing [t.cfg:4] : errorloc : expects <status_code> and <url> as arguments."},
		{cfg: "frontend f\n    errorloc303 999 /x\n", err: "parsing [t.cfg:4] : errorloc303 : status code '999' not handled."},
		{cfg: "frontend f\n    http-error\n", err: "parsing [t.cfg:4] : http-error : expects at least a <status> as arguments.\n"},
		{cfg: "frontend f\n    http-error status\n", err: "parsing [t.cfg:4] : http-error : 'status' expects <status_code> as argument"},
		{cfg: "frontend f\n    http-error status 999\n", err: "parsing [t.cfg:4] : http-error : Unexpected status code '999'"},
		{cfg: "frontend f\n    http-error status 200 foo\n", err: "parsing [t.cfg:4] : http-error : unknown keyword 'foo'."},
		{cfg: "frontend f\n    http-error status 418\n", err: "parsing [t.cfg:4] : http-error: status code '418' not handled."},
		{cfg: "frontend f\n    http-error status 503 string x\n", err: "parsing [t.cfg:4] : http-error : a content type must be defined when non-empty payload is configured"},
		{cfg: "frontend f\n    http-request return status 503 errorfiles nosuch\n", err: "Proxy 'f': unknown http-errors section 'nosuch' referenced by an http reply ."},
		{cfg: "http-errors e\nfrontend f\n    http-request return status 500 errorfiles e\n", warn: "Proxy 'f': status '500' referenced by an http reply not declared in http-errors section 'e'."},
		{cfg: "frontend f\n    acl a http_auth(nosuch)\n    http-request deny if a\n", err: "parsing [t.cfg:4]: unable to find userlist 'nosuch' referenced in arg 1 of ACL keyword 'http_auth' in proxy 'f'."},
		{cfg: "frontend f\n    http-request deny if { http_auth(nosuch) }\n", err: "parsing [t.cfg:4]: unable to find userlist 'nosuch' referenced in arg 1 of ACL keyword 'http_auth' in proxy 'f'."},
		{cfg: "frontend f\n    http-request set-header x %[http_auth(nosuch)]\n", err: "parsing [t.cfg:4]: unable to find userlist 'nosuch' referenced in arg 1 of sample fetch keyword 'http_auth' in http-request expression in proxy 'f'."},
		{cfg: "userlist L\nbackend f\n    acl a http_auth(L)\n    acl b http_auth(M)\n", err: "parsing [t.cfg:6]: unable to find userlist 'M' referenced in arg 1 of ACL keyword 'http_auth' in proxy 'f'."},
	}
	for _, c := range cases {
		errs, warns, _ := loadMessages(t, c.cfg)
		if c.err != "" && !strings.Contains(errs, c.err) {
			t.Errorf("%q:\n got errors %q\nwant %q", c.cfg, errs, c.err)
		}
		if c.err == "" && errs != "" {
			t.Errorf("%q: unexpected errors %q", c.cfg, errs)
		}
		if c.warn != "" && !strings.Contains(warns, c.warn) {
			t.Errorf("%q:\n got warnings %q\nwant %q", c.cfg, warns, c.warn)
		}
	}
}

// TestUserlist checks the userlist API: lookups, groups from both sides,
// each hash format and the users no password matches.
func TestUserlist(t *testing.T) {
	errs, _, e := loadMessages(t, `userlist L
    group admin users alice,bob
    group ops
    user alice password $1$LvoqRrM/$fMl7bAS7J4W8sb9MDufFk/
    user bob password $5$JXuoogb3MjNXnP8V$lIMCKHwAleRWpXmPwJoK2lVwC6kwlyro.WikH2EQKD0 groups ops
    user carol password $6$qHSw.YOFVoeF5DGR$/yfdI3wRwR97UKEsaWjCGBmSBEg3X8DuD0MuVW5xN9hhmKjcfzrg/R8mBEp1QkWLWjNddukl19/5EkUeljGYP.
    user dave insecure-password pw
    user erin
    user frank password $6$rounds=1000$salt$
    user gina password $2b$04$7pbOGkv9obsnUUzdoW0eYOPVZ.dpLuBxgf3brPe2plUFPBD7GdntO
`)
	if errs != "" {
		t.Fatal(errs)
	}
	ul := e.Userlist("L")
	if ul == nil || e.Userlist("M") != nil {
		t.Fatal("Userlist lookup")
	}
	checks := []struct {
		user, pass string
		want       bool
	}{
		{"alice", "secret1", true}, {"alice", "secret5", false},
		{"bob", "secret5", true}, {"bob", "", false},
		{"carol", "secret6", true}, {"carol", "secret6 ", false},
		{"dave", "pw", true}, {"dave", "pW", false},
		{"gina", "pwb", true}, {"gina", "pwB", false},
		{"erin", "", false}, {"frank", "x", false}, {"zed", "", false},
	}
	for _, c := range checks {
		if got := ul.Check(c.user, c.pass); got != c.want {
			t.Errorf("Check(%q, %q) = %v, want %v", c.user, c.pass, got, c.want)
		}
	}
	groups := []struct {
		user, group string
		want        bool
	}{
		{"alice", "admin", true}, {"bob", "admin", true}, {"bob", "ops", true},
		{"alice", "ops", false}, {"carol", "admin", false}, {"zed", "admin", false},
	}
	for _, g := range groups {
		if got := ul.InGroup(g.user, g.group); got != g.want {
			t.Errorf("InGroup(%q, %q) = %v, want %v", g.user, g.group, got, g.want)
		}
	}
}
