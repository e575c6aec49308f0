//go:build lua53

package test

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cryptHash returns the crypt(3) hash of pw made by "openssl passwd
// -<alg>", or fallback (made the same way) when openssl is missing.
func cryptHash(t *testing.T, alg, pw, fallback string) string {
	out, err := exec.Command("openssl", "passwd", "-"+alg, pw).Output()
	if err != nil {
		t.Logf("openssl passwd -%s: %v: using a stored hash", alg, err)
		return fallback
	}
	return strings.TrimSpace(string(out))
}

// TestAuthDiff checks userlists, http-request auth and the http_auth*
// fetches against HAProxy: each hash format, wrong passwords, unknown
// users, group ACLs and the 401 challenge. (A user without a password is
// left out: HAProxy 2.6.12 crashes checking it; luaproxy matches no
// password, see core's TestUserlist.)
func TestAuthDiff(t *testing.T) {
	const cfg = `
global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
userlist L
    group admin users alice
    group ops
    group none
    user alice password "${H1}"
    user bob password "${H5}" groups ops
    user carol password "${H6}"
    user dave insecure-password pw groups ops,none
    user erin password '$2y$05$notsupportedbyeither'
    user gina password '$2b$04$7pbOGkv9obsnUUzdoW0eYOPVZ.dpLuBxgf3brPe2plUFPBD7GdntO'
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    acl ok http_auth(L)
    acl grp http_auth_group(L) admin ops
    http-request auth realm Gimme if { path_beg /a } !ok
    http-request auth if { path_beg /noreal } !ok
    http-request auth realm "two words" if { path_beg /g } !grp
    http-request return status 200 content-type text/plain lf-string "u=%[http_auth_user] p=%[http_auth_pass] t=%[http_auth_type] g=%[http_auth_group(L)] ok=%[http_auth(L)]" if { path_beg /a } || { path_beg /g } || { path_beg /noreal }
    http-request return status 200 content-type text/plain lf-string "t=%[http_auth_type] b=%[http_auth_bearer] u=%[http_auth_user]" if { path /info }
    default_backend be
backend be
    acl ok http_auth(L)
    http-request auth realm B if { path_beg /b } !ok
    server s1 "${ORIGIN}"
`
	env := map[string]string{
		"H1": cryptHash(t, "1", "secret1", "$1$LvoqRrM/$fMl7bAS7J4W8sb9MDufFk/"),
		"H5": cryptHash(t, "5", "secret5", "$5$JXuoogb3MjNXnP8V$lIMCKHwAleRWpXmPwJoK2lVwC6kwlyro.WikH2EQKD0"),
		"H6": cryptHash(t, "6", "secret6", "$6$qHSw.YOFVoeF5DGR$/yfdI3wRwR97UKEsaWjCGBmSBEg3X8DuD0MuVW5xN9hhmKjcfzrg/R8mBEp1QkWLWjNddukl19/5EkUeljGYP."),
	}
	impls := startImpls(t, cfg, func(string) map[string]string {
		m := map[string]string{"ORIGIN": echoOrigin(t)}
		for k, v := range env {
			m[k] = v
		}
		return m
	})
	basic := func(up string) string {
		return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(up)) + "\r\n"
	}
	cases := []struct{ name, path, hdr string }{
		{"no credentials", "/a", ""},
		{"md5", "/a", basic("alice:secret1")},
		{"sha256", "/a", basic("bob:secret5")},
		{"sha512", "/a", basic("carol:secret6")},
		{"insecure", "/a", basic("dave:pw")},
		{"wrong password md5", "/a", basic("alice:secret5")},
		{"wrong password sha512", "/a", basic("carol:x")},
		{"wrong insecure", "/a", basic("dave:PW")},
		{"unknown user", "/a", basic("zed:pw")},
		{"unsupported hash", "/a", basic("erin:x")},
		{"bcrypt", "/a", basic("gina:pwb")},
		{"wrong bcrypt", "/a", basic("gina:pwc")},
		{"empty password", "/a", basic("alice:")},
		{"no colon", "/a", basic("alice")},
		{"bad base64", "/a", "Authorization: Basic !!!\r\n"},
		{"lower scheme", "/a", "Authorization: basic " + base64.StdEncoding.EncodeToString([]byte("alice:secret1")) + "\r\n"},
		{"default realm", "/noreal", ""},
		{"group by group line", "/g", basic("alice:secret1")},
		{"group by user line", "/g", basic("bob:secret5")},
		{"group two groups", "/g", basic("dave:pw")},
		{"no group", "/g", basic("carol:secret6")},
		{"group wrong password", "/g", basic("bob:x")},
		{"backend realm", "/b", ""},
		{"backend ok", "/b", basic("alice:secret1")},
		{"info basic", "/info", basic("u:p:q")},
		{"info bearer", "/info", "Authorization: Bearer tok123\r\n"},
		{"info digest", "/info", "Authorization: Digest username=\"x\"\r\n"},
		{"info none", "/info", ""},
	}
	diffCases(t, impls, func(im *impl, i int) string {
		c := cases[i]
		return rawRequest(t, im.addr, "GET "+c.path+" HTTP/1.1\r\nHost: t\r\n"+c.hdr+"Connection: close\r\n\r\n").String()
	}, len(cases), func(i int) string { return cases[i].name })
}

// diffCases runs n cases under every implementation and reports those
// whose results differ from haproxy's.
func diffCases(t *testing.T, impls []*impl, run func(im *impl, i int) string, n int, name func(int) string) {
	t.Helper()
	results := map[string][]string{}
	for _, im := range impls {
		for i := 0; i < n; i++ {
			results[im.name] = append(results[im.name], run(im, i))
		}
	}
	hp, ok := results["haproxy"]
	if !ok {
		return
	}
	for i := 0; i < n; i++ {
		if g, w := results["luaproxy"][i], hp[i]; g != w {
			t.Errorf("%s: luaproxy and haproxy differ\n--- luaproxy\n%s\n--- haproxy\n%s", name(i), g, w)
		}
	}
}

// TestMonitorDiff checks monitor-uri and monitor fail: the 200 and 503
// answers, their errorfiles, matching on the path, and that the
// http-request rules do not run first.
func TestMonitorDiff(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "200.http"), "HTTP/1.0 200 OK\r\nCache-Control: no-cache\r\nContent-Type: text/plain\r\n\r\nall good\n")
	const cfg = `
global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
    monitor-uri /inherited
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    monitor-uri /health
    monitor fail if { req.hdr(x-fail) 1 }
    monitor fail unless { req.hdr(x-up) -m found } || { path_end /health }
    http-request deny
    default_backend be
frontend fe2
    bind "127.0.0.1:${FE_PORT1}"
    errorfile 200 "${DIR}/200.http"
    http-request return status 404 content-type text/plain string nope
    default_backend be
frontend fe3
    bind "127.0.0.1:${FE_PORT2}"
    monitor-uri http://example.com/m
    http-request return status 404 content-type text/plain string nope
backend be
    server s1 "${ORIGIN}"
`
	impls := startImplsN(t, cfg, 3, func(string) map[string]string {
		return map[string]string{"ORIGIN": echoOrigin(t), "DIR": dir}
	})
	cases := []struct {
		name, req string
		fe        int
	}{
		{"monitor ok", "GET /health HTTP/1.1\r\nHost: t\r\n", 0},
		{"monitor with query", "GET /health?x=1 HTTP/1.1\r\nHost: t\r\n", 0},
		{"monitor absolute", "GET http://h/health HTTP/1.1\r\nHost: h\r\n", 0},
		{"monitor head", "HEAD /health HTTP/1.1\r\nHost: t\r\n", 0},
		{"monitor post", "POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab", 0},
		{"monitor fail if", "GET /health HTTP/1.1\r\nHost: t\r\nX-Fail: 1\r\n", 0},
		{"not monitor", "GET /healthz HTTP/1.1\r\nHost: t\r\n", 0},
		{"inherited", "GET /inherited HTTP/1.1\r\nHost: t\r\n", 1},
		{"errorfile 200", "GET /inherited HTTP/1.1\r\nHost: t\r\n", 1},
		{"absolute monitor uri", "GET http://example.com/m HTTP/1.1\r\nHost: example.com\r\n", 2},
		{"absolute monitor uri, origin form", "GET /m HTTP/1.1\r\nHost: example.com\r\n", 2},
	}
	diffCases(t, impls, func(im *impl, i int) string {
		c := cases[i]
		req := c.req
		if !strings.Contains(req, "\r\n\r\n") {
			req += "Connection: close\r\n\r\n"
		}
		return rawRequest(t, im.addrs[c.fe], req).String()
	}, len(cases), func(i int) string { return cases[i].name })
}

// TestHTTPErrorsDiff checks http-errors sections, errorfiles, http-error
// and the errorfile(s) arguments of replies: which message each status
// gets, and the empty replies of "status" without payload.
func TestHTTPErrorsDiff(t *testing.T) {
	dir := t.TempDir()
	for code, text := range map[string]string{
		"503":  "HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html>custom 503</html>\n",
		"403":  "HTTP/1.0 403 Forbidden\r\nContent-Type: text/plain\r\nX-From: e403\r\n\r\ncustom403\n",
		"404":  "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\ncustom404\n",
		"401":  "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nlogin",
		"x404": "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\nother404\n",
	} {
		writeFile(t, filepath.Join(dir, code+".http"), text)
	}
	const cfg = `
global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
http-errors myerrs
    errorfile 503 "${DIR}/503.http"
    errorfile 403 "${DIR}/403.http"
    errorfile 404 "${DIR}/404.http"
    errorfile 401 "${DIR}/401.http"
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    errorfiles myerrs 403 401
    http-request deny if { path /deny }
    http-request deny deny_status 503 if { path /d503 }
    http-request deny deny_status 404 if { path /d404 }
    http-request deny status 404 if { path /s404 }
    http-request deny status 404 hdr x-a b if { path /s404h }
    http-request return status 503 errorfiles myerrs if { path /r503 }
    http-request return status 404 errorfile "${DIR}/x404.http" if { path /rf404 }
    http-request auth realm R if { path /auth }
    default_backend be_down
frontend fe2
    bind "127.0.0.1:${FE_PORT1}"
    errorfiles myerrs
    errorfile 404 "${DIR}/x404.http"
    http-error status 400 content-type text/plain string "my400" hdr x-a b
    http-error status 403
    http-request deny deny_status 503 if { path /d503 }
    http-request deny deny_status 404 if { path /d404 }
    http-request deny deny_status 400 if { path /d400 }
    http-request deny if { path /d403 }
    default_backend be_down
frontend fe3
    bind "127.0.0.1:${FE_PORT2}"
    errorfile 404 "${DIR}/x404.http"
    errorfiles myerrs
    http-error status 503 content-type text/plain file "${DIR}/404.http"
    http-request deny deny_status 404 if { path /d404 }
    default_backend be_down
frontend fe4
    bind "127.0.0.1:${FE_PORT3}"
    errorloc 403 http://example.com/denied
    errorloc303 404 /gone
    http-error status 410 content-type text/plain lf-string "gone %[path] %[req.hdr(x-a)]" hdr x-m "%[method]"
    http-request deny deny_status 410 if { path_beg /g410 }
    http-request deny if { path /fdeny }
    http-request deny deny_status 404 if { path /f404 }
    default_backend be_err
backend be_down
    server s1 127.0.0.1:1 disabled
backend be_err
    errorloc302 400 /bad
    errorfile 403 "${DIR}/403.http"
    errorfile 503 "${DIR}/503.http"
    errorfile 401 "${DIR}/401.http"
    http-request deny if { path /bdeny }
    http-request auth if { path /bauth }
    server s1 127.0.0.1:1 disabled
`
	impls := startImplsN(t, cfg, 4, func(string) map[string]string {
		return map[string]string{"DIR": dir}
	})
	cases := []struct {
		name, path string
		fe         int
	}{
		{"deny imported 403", "/deny", 0},
		{"deny_status 503 not imported", "/d503", 0},
		{"deny_status 404 not imported", "/d404", 0},
		{"status 404 is empty", "/s404", 0},
		{"status 404 with hdr", "/s404h", 0},
		{"return errorfiles", "/r503", 0},
		{"return errorfile", "/rf404", 0},
		{"auth with errorfile", "/auth", 0},
		{"no server", "/x", 0},
		{"all imported 503", "/d503", 1},
		{"errorfile after errorfiles", "/d404", 1},
		{"http-error string", "/d400", 1},
		{"http-error empty", "/d403", 1},
		{"no server all imported", "/x", 1},
		{"errorfiles after errorfile", "/d404", 2},
		{"http-error file", "/x", 2},
		{"frontend deny, backend errorfile", "/fdeny", 3},
		{"backend deny, backend errorfile", "/bdeny", 3},
		{"backend auth, backend errorfile", "/bauth", 3},
		{"no server, backend errorfile", "/x", 3},
		{"errorloc303", "/f404", 3},
		{"http-error lf-string", "/g410/x?q=1", 3},
	}
	diffCases(t, impls, func(im *impl, i int) string {
		c := cases[i]
		return rawRequest(t, im.addrs[c.fe], "GET "+c.path+" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").String()
	}, len(cases), func(i int) string { return cases[i].name })
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMonitorNotLogged checks that monitor requests, answered or failed,
// leave no log line while the other requests do.
func TestMonitorNotLogged(t *testing.T) {
	const cfg = `
global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    log "${LOGADDR}" local0
    log-format "ML %HU %ST"
    monitor-uri /health
    monitor fail if { req.hdr(x-fail) 1 }
    http-request return status 200 content-type text/plain string ok
`
	sinks := map[string]*syslogSink{}
	impls := startImpls(t, cfg, func(name string) map[string]string {
		sinks[name] = newSyslogSink(t, "ML ")
		return map[string]string{"LOGADDR": sinks[name].addr}
	})
	for _, im := range impls {
		rawRequest(t, im.addr, "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
		rawRequest(t, im.addr, "GET /health HTTP/1.1\r\nHost: t\r\nX-Fail: 1\r\nConnection: close\r\n\r\n")
		rawRequest(t, im.addr, "GET /other HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
		sinks[im.name].waitKeys("/other")
		time.Sleep(100 * time.Millisecond) // a late monitor line would show
		// (haproxy also logs the harness's start probe as <BADREQ>)
		logs := strings.Join(sinks[im.name].snapshot(), "\n")
		if !strings.Contains(logs, "ML /other 200") || strings.Contains(logs, "/health") {
			t.Errorf("%s logged:\n%s", im.name, logs)
		}
	}
}
