//go:build lua53

package test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// alertRe extracts what an ALERT line says after its location.
var alertRe = regexp.MustCompile(`parsing \[[^\]]*\] : (.*)`)

// checkConfig runs "<bin> -c -f" on cfg and returns whether the file was
// valid and the first alert's message.
func checkConfig(t *testing.T, bin, cfg string) (bool, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput()
	msg := ""
	if m := alertRe.FindSubmatch(out); m != nil {
		msg = string(m[1])
	}
	return err == nil, msg
}

// TestRuleFormatPlaceDiff checks where HAProxy 2.6 lets an http rule's
// log-format use a fetch: a request fetch in an http-response or
// http-after-response format (set-header, replace-value, return, redirect,
// set-var-fmt), or a response fetch in an http-request one, makes the
// configuration invalid with the same message in luaproxy as in haproxy,
// in a frontend and in a backend; fetches that work there are accepted.
func TestRuleFormatPlaceDiff(t *testing.T) {
	haproxy, _ := exec.LookPath("haproxy")
	rules := []string{
		`http-response set-header x-path "<%[path]>"`,
		`http-response set-header x-host %[req.hdr(host)]`,
		`http-response add-header x-url %[url]`,
		`http-response replace-value x-a (.*) %[pathq]`,
		`http-response return status 200 content-type text/plain lf-string %[path]`,
		`http-response return status 200 hdr x %[base]`,
		`http-response set-var-fmt(txn.x) %[path,lower]`,
		`http-after-response set-header x-url "<%[url]>"`,
		`http-after-response set-header x-ver %[req.ver]`,
		`http-request set-header x-srv %[res.hdr(server)]`,
		`http-request redirect location %[res.hdr(a)]`,
		`http-request set-path %[status]`,
		`http-response set-header x-body %[req.body]`,
		`http-request set-header x-len %[res.body_len]`,
		// Accepted: fetches that remain usable there.
		`http-response set-header x-meth %[method]`,
		`http-response set-header x-cap %[capture.req.method]`,
		`http-response set-header x-var %[var(txn.p)]`,
		`http-response set-header x-src %[src]`,
		`http-response set-header x-srv %[res.hdr(server)]`,
		`http-after-response set-header x-st %[status]`,
		`http-request set-header x-path %[path]`,
		`http-request set-header x-len %[req.body_len]`,
		`http-response set-header x-body %[res.body]`,
	}
	for _, rule := range rules {
		for _, where := range []string{"frontend", "backend"} {
			cfg := "defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n" +
				"frontend fe\n    bind 127.0.0.1:8\n    default_backend be\n"
			if where == "frontend" {
				cfg += "    " + rule + "\n"
			}
			cfg += "backend be\n    server s1 127.0.0.1:1\n"
			if where == "backend" {
				cfg += "    " + rule + "\n"
			}
			gotOK, got := checkConfig(t, binPath, cfg)
			if haproxy == "" {
				continue
			}
			wantOK, want := checkConfig(t, haproxy, cfg)
			if gotOK != wantOK || got != want {
				t.Errorf("%s in a %s:\nluaproxy valid=%v %q\nhaproxy  valid=%v %q", rule, where, gotOK, got, wantOK, want)
			}
		}
	}
}

// TestResponseMethodDiff: once the request is forwarded HAProxy keeps only
// the method's number, so %[method] in a response format renders known
// methods and nothing for the others, in http-response and
// http-after-response alike.
func TestResponseMethodDiff(t *testing.T) {
	cfg := `
global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    http-response set-header x-meth "<%[method]>"
    http-response set-header x-capm "<%[capture.req.method]>"
    http-after-response set-header xa-meth "<%[method]>"
    default_backend be
backend be
    http-response set-header xb-meth "<%[method]>"
    server s1 "${ORIGIN}"
`
	impls := startImpls(t, cfg, func(string) map[string]string {
		return map[string]string{"ORIGIN": namedOrigin(t, "s1")}
	})
	results := map[string]string{}
	for _, im := range impls {
		var b strings.Builder
		for _, m := range []string{"GET", "POST", "PURGE", "get", "BREW"} {
			req, err := http.NewRequest(m, "http://"+im.addr+"/a/b?q=1", nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", im.name, m, err)
			}
			res.Body.Close()
			for _, h := range []string{"X-Meth", "X-Capm", "Xb-Meth", "Xa-Meth"} {
				b.WriteString(m + " " + h + ": " + res.Header.Get(h) + "\n")
			}
		}
		results[im.name] = b.String()
	}
	lp := results["luaproxy"]
	if !strings.Contains(lp, "PURGE X-Meth: <>\n") || !strings.Contains(lp, "GET X-Meth: <GET>\n") {
		t.Errorf("luaproxy:\n%s", lp)
	}
	if h, ok := results["haproxy"]; ok && h != lp {
		t.Errorf("luaproxy and haproxy differ\n--- luaproxy\n%s--- haproxy\n%s", lp, h)
	}
}
