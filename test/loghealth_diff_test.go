//go:build lua53

package test

import (
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// statusOrigin answers every request with the status it holds (200 to
// begin with), for health checks whose result a test changes.
func statusOrigin(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	st := &atomic.Int64{}
	st.Store(200)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(st.Load()))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), st
}

// TestLogHealthChecksDiff: with "option log-health-checks" every change
// of a check's status or of the server's health is logged at notice
// ("Health check for server be/s1 failed, reason: ..., status: 2/3
// UP."), and the UP/DOWN lines lose their reason, as HAProxy 2.6 does.
// be1/s1 goes from passing to a 503 and back, be2/b1 (a backup) is
// refused, be3/s3 (weight 0) passes as DRAIN.
func TestLogHealthChecksDiff(t *testing.T) {
	cfg := `
global
   log "${LOGADDR}" local0
defaults
   mode http
   log global
   timeout client 5s
   timeout server 5s
   timeout connect 3s
   timeout check 3s
   option log-health-checks
frontend fe
   bind "127.0.0.1:${FE_PORT}"
   default_backend be1
backend be1
   option httpchk GET /
   server s1 "${ORIGIN}" check inter 200ms
backend be2
   server b1 "${CLOSED}" backup check inter 200ms
backend be3
   option httpchk GET /
   server s3 "${ORIGIN3}" check inter 200ms weight 0
`
	sinks := map[string]*syslogSink{}
	status := map[string]*atomic.Int64{}
	impls := startImpls(t, cfg, func(impl string) map[string]string {
		s := newSyslogSink(t, "<")
		sinks[impl] = s
		o, st := statusOrigin(t)
		status[impl] = st
		o3, _ := statusOrigin(t)
		return map[string]string{"LOGADDR": s.addr, "ORIGIN": o, "ORIGIN3": o3, "CLOSED": closedAddr(t)}
	})
	dur := regexp.MustCompile(`check duration: \d+ms`)
	// lines returns the health lines received, without the syslog
	// header, check durations made equal.
	lines := func(im *impl) []string {
		var out []string
		for _, l := range sinks[im.name].snapshot() {
			i := strings.Index(l, "]: ")
			if i < 0 || !strings.Contains(l, "be1") && !strings.Contains(l, "be2") && !strings.Contains(l, "be3") {
				continue
			}
			out = append(out, l[:strings.Index(l, ">")+1]+" "+dur.ReplaceAllString(l[i+3:], "check duration: Nms"))
		}
		return out
	}
	waitFor := func(im *impl, want string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, l := range lines(im) {
				if strings.Contains(l, want) {
					return
				}
			}
		}
		t.Fatalf("%s: no line with %q in:\n%s", im.name, want, strings.Join(lines(im), "\n"))
	}
	got := map[string]string{}
	for _, im := range impls {
		waitFor(im, "Health check for server be1/s1 succeeded")
		waitFor(im, "Backup Server be2/b1 is DOWN")
		waitFor(im, "Health check for server be3/s3 succeeded")
		status[im.name].Store(503)
		waitFor(im, "Server be1/s1 is DOWN")
		status[im.name].Store(200)
		waitFor(im, "Server be1/s1 is UP")
		time.Sleep(300 * time.Millisecond) // nothing more may come
		// one server's lines in order; servers may interleave
		var b strings.Builder
		for _, srv := range []string{"be1", "be2", "be3"} {
			for _, l := range lines(im) {
				if strings.Contains(l, srv) {
					b.WriteString(l + "\n")
				}
			}
		}
		got[im.name] = b.String()
	}
	want := `<133> Health check for server be1/s1 succeeded, reason: Layer7 check passed, code: 200, check duration: Nms, status: 3/3 UP.
<133> Health check for server be1/s1 failed, reason: Layer7 wrong status, code: 503, info: "Service Unavailable", check duration: Nms, status: 2/3 UP.
<133> Health check for server be1/s1 failed, reason: Layer7 wrong status, code: 503, info: "Service Unavailable", check duration: Nms, status: 1/3 UP.
<133> Health check for server be1/s1 failed, reason: Layer7 wrong status, code: 503, info: "Service Unavailable", check duration: Nms, status: 0/2 DOWN.
<129> Server be1/s1 is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.
<128> backend be1 has no server available!
<133> Health check for server be1/s1 succeeded, reason: Layer7 check passed, code: 200, check duration: Nms, status: 1/2 DOWN.
<133> Health check for server be1/s1 succeeded, reason: Layer7 check passed, code: 200, check duration: Nms, status: 3/3 UP.
<133> Server be1/s1 is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.
<133> Health check for backup server be2/b1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms, status: 0/2 DOWN.
<129> Backup Server be2/b1 is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.
<128> backend be2 has no server available!
<133> Health check for server be3/s3 succeeded, reason: Layer7 check passed, code: 200, check duration: Nms, status: 3/3 DRAIN.
`
	for name, g := range got {
		if g != want {
			t.Errorf("%s's health lines:\n%s\nwant:\n%s", name, g, want)
		}
	}
	if h, ok := got["haproxy"]; ok && h != got["luaproxy"] {
		t.Errorf("luaproxy and haproxy differ:\n--- luaproxy\n%s--- haproxy\n%s", got["luaproxy"], h)
	}
}
