//go:build lua53

package test

import (
	"fmt"
	"strings"
	"testing"
)

// TestHTTPReuseDiff checks "http-reuse": how many server connections the
// origin accepts in scenarios of two client connections, per strategy,
// against the counts HAProxy's rules give (and HAProxy itself when it is
// installed). Each mode/scenario pair has its own backend and origin.
func TestHTTPReuseDiff(t *testing.T) {
	modes := []string{"never", "safe", "aggressive", "always"}
	// Each scenario drives client connections a and b (requests in order)
	// and names the server connections the origin should have accepted
	// for never, safe, aggressive, always.
	type step struct {
		client int // 0: a, 1: b
		path   string
	}
	scenarios := []struct {
		name  string
		steps []step
		want  [4]int64
	}{
		// b's first request may only reuse a's idle connection with "always".
		{"first-after-one", []step{{0, "/"}, {1, "/"}}, [4]int64{2, 2, 2, 1}},
		// a's connection served two requests (safe): "aggressive" reuses it too.
		{"first-after-two", []step{{0, "/"}, {0, "/"}, {1, "/"}}, [4]int64{2, 2, 1, 1}},
		// b's second request may reuse another session's idle connection,
		// but not with "never".
		{"second-request", []step{{0, "/"}, {1, "/local"}, {1, "/"}}, [4]int64{2, 1, 1, 1}},
		// a's connection is private after an NTLM challenge, b cannot have it;
		// a's next request gets it back.
		{"ntlm-private", []step{{0, "/ntlm"}, {1, "/"}, {0, "/"}}, [4]int64{2, 2, 2, 2}},
		// Several requests of one client: one connection in every mode.
		{"keep-alive", []step{{0, "/"}, {0, "/"}, {0, "/"}}, [4]int64{1, 1, 1, 1}},
	}
	var cfg strings.Builder
	cfg.WriteString(`
global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    http-request return status 200 content-type text/plain string local if { path /local }
    use_backend %[req.hdr(x-be)]
`)
	for _, m := range modes {
		for _, sc := range scenarios {
			name := m + "_" + sc.name
			fmt.Fprintf(&cfg, "backend %s\n    http-reuse %s\n    server s1 \"${O_%s}\"\n", name, m, strings.ReplaceAll(name, "-", "_"))
		}
	}
	origins := map[string]map[string]*countingOrigin{}
	impls := startImpls(t, cfg.String(), func(impl string) map[string]string {
		env := map[string]string{}
		origins[impl] = map[string]*countingOrigin{}
		for _, m := range modes {
			for _, sc := range scenarios {
				name := m + "_" + sc.name
				o := newCountingOrigin(t)
				origins[impl][name] = o
				env["O_"+strings.ReplaceAll(name, "-", "_")] = o.addr
			}
		}
		return env
	})
	results := map[string]map[string]int64{}
	for _, im := range impls {
		results[im.name] = map[string]int64{}
		for mi, m := range modes {
			for _, sc := range scenarios {
				name := m + "_" + sc.name
				cl := [2]*kaClient{dialKA(t, im.addr), dialKA(t, im.addr)}
				for i, st := range sc.steps {
					status, body := cl[st.client].get(st.path, "X-Be: "+name)
					if status == 0 || status >= 500 {
						t.Fatalf("%s %s step %d: %d %q", im.name, name, i, status, body)
					}
				}
				got := origins[im.name][name].accepted.Load()
				results[im.name][name] = got
				if im.name == "luaproxy" && got != sc.want[mi] {
					t.Errorf("luaproxy %s: origin accepted %d connections, want %d", name, got, sc.want[mi])
				}
				cl[0].c.Close()
				cl[1].c.Close()
			}
		}
	}
	if h, ok := results["haproxy"]; ok {
		t.Logf("haproxy's server connections:\n%s", diffTable(h))
		if g, w := diffTable(results["luaproxy"]), diffTable(h); g != w {
			t.Errorf("server connections differ\n--- luaproxy\n%s--- haproxy\n%s", g, w)
		}
	}
}

// TestHTTPReuseNeverClosesWithClient checks that with "http-reuse never"
// the server connection ends with the client connection that owns it.
func TestHTTPReuseNeverClosesWithClient(t *testing.T) {
	const cfg = `
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
    http-reuse never
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    default_backend be
backend be
    server s1 "${ORIGIN}"
`
	os := map[string]*countingOrigin{}
	impls := startImpls(t, cfg, func(impl string) map[string]string {
		os[impl] = newCountingOrigin(t)
		return map[string]string{"ORIGIN": os[impl].addr}
	})
	for _, im := range impls {
		o := os[im.name]
		c := dialKA(t, im.addr)
		if st, body := c.get("/"); st != 200 {
			t.Fatalf("%s: %d %q", im.name, st, body)
		}
		c.c.Close()
		waitUntil(t, im.name+": the server connection closed", func() bool { return o.closed.Load() == 1 })
	}
}
