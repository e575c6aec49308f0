//go:build lua53

package test

import (
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestLogOptionsDiff covers options that luaproxy accepted and ignored:
// "option dontlog-normal" (only streams that failed are logged),
// "option log-separate-errors" (those at level err, <131>, the others at
// info, <134>) and "option http-ignore-probes" (a connection that sends
// nothing gets no 408 or 400 and no log line). The same requests go to
// luaproxy and HAProxy 2.6, whose syslog lines must agree.
func TestLogOptionsDiff(t *testing.T) {
	cfg := `
defaults
   mode http
   timeout client 5s
   timeout server 5s
   timeout connect 1s
   log "${LOGADDR}" local0
frontend normal
   bind "127.0.0.1:${FE_PORT}"
   option dontlog-normal
   log-format "LOG normal %HP %ST %ts"
   http-request return status 200 content-type text/plain string ok if { path /ok }
   http-request return status 503 content-type text/plain string no if { path /local503 }
   default_backend nosrv
frontend errors
   bind "127.0.0.1:${FE_PORT1}"
   option log-separate-errors
   log-format "LOG errors %HP %ST %ts"
   http-request return status 200 content-type text/plain string ok if { path /ok }
   http-request deny if { path /deny }
   default_backend nosrv
frontend probes
   bind "127.0.0.1:${FE_PORT2}"
   option http-ignore-probes
   timeout http-request 200ms
   log-format "LOG probes %HP %ST %ts"
   http-request return status 200 content-type text/plain string ok
backend nosrv
   server s1 127.0.0.1:1 disabled
`
	sinks := map[string]*syslogSink{}
	impls := startImplsN(t, cfg, 3, func(impl string) map[string]string {
		s := newSyslogSink(t, "<")
		sinks[impl] = s
		return map[string]string{"LOGADDR": s.addr}
	})
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			get := func(addr, path string) {
				exchange(t, addr, "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false, 5*time.Second)
			}
			get(im.addrs[0], "/ok")
			get(im.addrs[0], "/local503")
			get(im.addrs[0], "/nosrv")
			get(im.addrs[1], "/ok")
			get(im.addrs[1], "/deny")
			get(im.addrs[1], "/nosrv")
			// probes: one closes at once, one waits for the timeout;
			// neither gets anything; a real request is logged
			c, err := net.Dial("tcp", im.addrs[2])
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			c, err = net.Dial("tcp", im.addrs[2])
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			if b, _ := io.ReadAll(c); len(b) != 0 {
				t.Errorf("a probe got %q", b)
			}
			c.Close()
			get(im.addrs[2], "/real")
			want := []string{
				"<134>", "LOG normal /local503 503 LR",
				"<134>", "LOG normal /nosrv 503 SC",
				"<134>", "LOG errors /ok 200 LR",
				"<131>", "LOG errors /deny 403 PR",
				"<131>", "LOG errors /nosrv 503 SC",
				"<134>", "LOG probes /real 200 LR",
			}
			deadline := time.Now().Add(5 * time.Second)
			var got []string
			for {
				got = nil
				for _, l := range sinks[im.name].snapshot() {
					if i := strings.Index(l, "LOG "); i >= 0 {
						got = append(got, l[:5]+" "+l[i:])
					}
				}
				if len(got) >= len(want)/2 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond) // nothing more may come
			got = nil
			for _, l := range sinks[im.name].snapshot() {
				// not haproxy's readiness probe (startHAProxy)
				if i := strings.Index(l, "LOG "); i >= 0 && !strings.Contains(l, "LOG normal <BADREQ> 400 CR") {
					got = append(got, l[:5]+" "+l[i:])
				}
			}
			var exp []string
			for i := 0; i < len(want); i += 2 {
				exp = append(exp, want[i]+" "+want[i+1])
			}
			// a stream's line may leave after the next one's
			sort.Strings(got)
			sort.Strings(exp)
			if strings.Join(got, "\n") != strings.Join(exp, "\n") {
				t.Errorf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
			}
		})
	}
}
