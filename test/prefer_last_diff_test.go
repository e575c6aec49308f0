//go:build lua53

package test

import (
	"fmt"
	"strings"
	"testing"
)

// TestPreferLastServerDiff checks "option prefer-last-server": the
// requests of one client connection stay on the server of the connection
// its session holds instead of following round robin. As in HAProxy 2.6,
// only private connections (http-reuse never) stay with a session, so the
// option changes nothing with http-reuse safe, nor with a hash-based
// algorithm. Round robin's starting point may differ between the two
// implementations, so each backend is summed up as the number of servers
// used and of server changes between consecutive requests.
func TestPreferLastServerDiff(t *testing.T) {
	backends := []struct{ name, lines string }{
		{"never_plain", "http-reuse never"},
		{"never_pref", "http-reuse never\n    option prefer-last-server"},
		{"safe_pref", "http-reuse safe\n    option prefer-last-server"},
		{"never_pref_uri", "http-reuse never\n    option prefer-last-server\n    balance uri"},
		{"never_pref_lc", "http-reuse never\n    option prefer-last-server\n    balance leastconn"},
		{"never_nopref", ""}, // after a defaults that enables it
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
    use_backend %[req.hdr(x-be)]
`)
	servers := "    server s1 \"${O_s1}\"\n    server s2 \"${O_s2}\"\n    server s3 \"${O_s3}\"\n"
	for _, b := range backends {
		if b.lines == "" {
			cfg.WriteString("defaults\n    mode http\n    timeout client 30s\n    timeout server 30s\n" +
				"    timeout connect 10s\n    option prefer-last-server\n    http-reuse never\n")
			fmt.Fprintf(&cfg, "backend %s\n    no option prefer-last-server\n%s", b.name, servers)
			continue
		}
		fmt.Fprintf(&cfg, "backend %s\n    %s\n%s", b.name, b.lines, servers)
	}
	impls := startImpls(t, cfg.String(), func(string) map[string]string {
		env := map[string]string{}
		for _, n := range []string{"s1", "s2", "s3"} {
			env["O_"+n] = namedOrigin(t, n)
		}
		return env
	})
	results := map[string]string{}
	for _, im := range impls {
		res := map[string]string{}
		for _, b := range backends {
			c := dialKA(t, im.addr)
			used := map[string]bool{}
			changes, last := 0, ""
			for i := range 9 {
				st, body := c.get(fmt.Sprintf("/p%d", i), "X-Be: "+b.name)
				if st != 200 {
					t.Fatalf("%s %s: %d %q", im.name, b.name, st, body)
				}
				if last != "" && body != last {
					changes++
				}
				used[body], last = true, body
			}
			c.c.Close()
			res[b.name] = fmt.Sprintf("servers=%d changes=%d", len(used), changes)
		}
		results[im.name] = diffTable(res)
	}
	lp := results["luaproxy"]
	for _, want := range []string{"never_pref = servers=1 changes=0", "never_plain = servers=3 changes=8", "never_nopref = servers=3 changes=8"} {
		if !strings.Contains(lp, want+"\n") {
			t.Errorf("luaproxy: want %q in\n%s", want, lp)
		}
	}
	if h, ok := results["haproxy"]; ok && h != lp {
		t.Errorf("luaproxy and haproxy differ\n--- luaproxy\n%s--- haproxy\n%s", lp, h)
	}
}
