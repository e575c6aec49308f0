//go:build lua53

package test

import (
	"sort"
	"strings"
	"testing"
)

// TestLogBytesAsReceivedDiff: %U and %B count the request and the
// response as they came in, as HAProxy 2.6 counts its channels' input:
// headers the rules add or remove, and the connection header the proxy
// adds to a response, are not in them.
func TestLogBytesAsReceivedDiff(t *testing.T) {
	o := newCountingOrigin(t)
	sinks := map[string]*syslogSink{}
	for _, name := range []string{"luaproxy", "haproxy"} {
		sinks[name] = newSyslogSink(t, "LB ")
	}
	impls := startImpls(t, `
defaults
   mode http
   timeout client 10s
   timeout server 10s
   timeout connect 5s
   log "${LOGADDR}" local0
frontend fe
   bind "127.0.0.1:${FE_PORT}"
   log-format "LB %HP U=%U B=%B"
   http-request set-header X-Added aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa if { path /reqadd }
   http-request del-header X-Drop if { path /reqdel }
   http-response set-header X-Res bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb if { var(txn.p) -m str /resadd }
   http-request set-var(txn.p) path
   default_backend be
backend be
   server s1 "${ORIGIN}"
`, func(name string) map[string]string {
		return map[string]string{"ORIGIN": o.addr, "LOGADDR": sinks[name].addr}
	})
	paths := []string{"/plain", "/reqadd", "/reqdel", "/resadd", "/close"}
	got := map[string]string{}
	for _, im := range impls {
		c := dialKA(t, im.addr)
		for _, p := range paths {
			var hdrs []string
			switch p {
			case "/reqdel":
				hdrs = []string{"X-Drop: 0123456789"}
			case "/close":
				hdrs = []string{"Connection: close"}
			}
			if st, body := c.get(p, hdrs...); st != 200 {
				t.Fatalf("%s %s: %d %s", im.name, p, st, body)
			}
		}
		c.c.Close()
		lines := sinks[im.name].waitKeys(paths...)
		var kept []string
		for _, l := range lines {
			for _, p := range paths {
				if strings.HasPrefix(l, "LB "+p+" ") {
					kept = append(kept, l)
				}
			}
		}
		sort.Strings(kept)
		got[im.name] = strings.Join(kept, "\n")
	}
	lp := got["luaproxy"]
	// luaproxy alone: the rules' headers and the connection header are
	// not counted (/reqadd's path is one byte longer than /plain's)
	want := "LB /close U=43 B=121\nLB /plain U=43 B=121\nLB /reqadd U=44 B=121\nLB /reqdel U=60 B=121\nLB /resadd U=44 B=121"
	if lp != want {
		t.Errorf("luaproxy logged\n%s\nwant\n%s", lp, want)
	}
	if h, ok := got["haproxy"]; ok && h != lp {
		t.Errorf("bytes differ\n--- luaproxy\n%s\n--- haproxy\n%s", lp, h)
	}
}
