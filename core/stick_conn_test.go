package core

import (
	"net"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestTrackConnectionAndSession tracks entries from "tcp-request
// connection" and "tcp-request session" rules: the counters count the
// connection, the session and each request of the keep-alive connection,
// later rules see them (a connection rule rejects on them), and the
// runtime API shows them. Expected values: HAProxy 2.6.12 on the same
// configuration.
func TestTrackConnectionAndSession(t *testing.T) {
	e, _, dir := startCLIEngine(t, `
global
    stats socket @SOCK@ level admin
defaults
    mode http
    timeout client 5s
frontend f
    bind 127.0.0.1:0
    stick-table type ip size 10 expire 60s store conn_cnt,conn_cur,conn_rate(10s),sess_cnt,sess_rate(10s),http_req_cnt,gpc0
    tcp-request connection track-sc0 src
    tcp-request connection sc-inc-gpc0(0)
    tcp-request connection reject if { sc0_get_gpc0 gt 3 }
    tcp-request session track-sc1 src table t2
    tcp-request session sc-inc-gpc0(1) if { sc0_conn_cnt eq 1 }
    http-request return status 200 content-type text/plain lf-string "c=%[sc0_conn_cnt] cur=%[sc0_conn_cur] s=%[sc0_sess_cnt] r=%[sc0_http_req_cnt] g=%[sc0_get_gpc0] t1=%[sc1_tracked] s1=%[sc1_sess_cnt] c1=%[sc1_conn_cnt] g1=%[sc1_get_gpc0] r1=%[sc1_http_req_cnt]"
backend t2
    stick-table type ip size 10 expire 60s store conn_cnt,sess_cnt,gpc0,http_req_cnt
`)
	sock := filepath.Join(dir, "admin.sock")
	addr := e.Addrs()[0].String()
	fe := e.Proxies[0]
	closed := func() { waitFor(t, "the connection to end", func() bool { return fe.Conns.Load() == 0 }) }
	want := [][]string{
		{"c=1 cur=1 s=1 r=1 g=1 t1=1 s1=1 c1=1 g1=1 r1=1", "c=1 cur=1 s=1 r=2 g=1 t1=1 s1=1 c1=1 g1=1 r1=2"},
		{"c=2 cur=1 s=2 r=3 g=2 t1=1 s1=2 c1=2 g1=1 r1=3", "c=2 cur=1 s=2 r=4 g=2 t1=1 s1=2 c1=2 g1=1 r1=4"},
		{"c=3 cur=1 s=3 r=5 g=3 t1=1 s1=3 c1=3 g1=1 r1=5"},
	}
	for _, w := range want {
		paths := make([]string, len(w))
		for i := range paths {
			paths[i] = "/"
		}
		got := keepAlive(t, addr, paths...)
		for i := range w {
			if got[i] != w[i] {
				t.Errorf("got %q, want %q", got[i], w[i])
			}
		}
		closed()
	}
	// The fourth connection is rejected by the connection rule.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Errorf("rejected connection read %d bytes", n)
	}
	c.Close()
	closed()
	addrRE := regexp.MustCompile(`0x[0-9a-f]+:`)
	expRE := regexp.MustCompile(`exp=[0-9]+`)
	norm := func(s string) string { return expRE.ReplaceAllString(addrRE.ReplaceAllString(s, "0x:"), "exp=X") }
	for _, c := range []struct{ cmd, want string }{
		{"show table f", "# table: f, type: ip, size:10, used:1\n0x: key=127.0.0.1 use=0 exp=X gpc0=4 conn_cnt=4 conn_rate(10000)=4 conn_cur=0 sess_cnt=3 sess_rate(10000)=3 http_req_cnt=5\n\n"},
		{"show table t2", "# table: t2, type: ip, size:10, used:1\n0x: key=127.0.0.1 use=0 exp=X gpc0=1 conn_cnt=3 sess_cnt=3 http_req_cnt=5\n\n"},
	} {
		if got := norm(cliExchange(t, sock, c.cmd+"\n")); got != c.want {
			t.Errorf("%s:\ngot  %q\nwant %q", c.cmd, got, c.want)
		}
	}
}
