package core

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// httpBody GETs url on a new connection and returns the trimmed body.
func httpBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	return strings.TrimSpace(string(b))
}

// TestStickArraysLikeHAProxy runs the gpc/gpt/gpc_rate arrays through
// actions, fetches, converters and the runtime API; the expected answers
// are HAProxy 2.6.12's on the same configuration (table_inc_gpc* and
// table_clr_gpc* are 3.x, checked on their own below).
func TestStickArraysLikeHAProxy(t *testing.T) {
	e, _, dir := startCLIEngine(t, `
global
    stats socket @SOCK@ level admin
defaults
    mode http
    timeout client 5s
frontend f
    bind 127.0.0.1:0
    stick-table type ip size 10 expire 60s store gpc(3),gpt(2),gpc_rate(2,10s)
    http-request track-sc0 src
    http-request sc-inc-gpc(1,0)
    http-request sc-inc-gpc(0,0) if { path /x }
    http-request sc-set-gpt(1,0) 42
    http-request return status 200 content-type text/plain lf-string "g1=%[sc_get_gpc(1,0)] gr=%[sc_gpc_rate(1,0)] gt=%[sc_get_gpt(1,0)] t=%[src,table_gpc(1,f)] tr=%[src,table_gpc_rate(1,f)] tt=%[src,table_gpt(1,f)] expd=%[str(1.2.3.4),table_expire(f,77)] srcg=%[src_get_gpc(1,f)] srcgt=%[src_get_gpt(1,f)] srci=%[src_inc_gpc(1,f)] srcc=%[src_clr_gpc(0,f)] srcr=%[src_gpc_rate(1,f)] sci=%[sc_inc_gpc(0,0)] scc=%[sc_clr_gpc(0,0)] sci1=%[sc_inc_gpc(2,0)] gpcbad=%[sc_get_gpc(5,0)] x"
frontend legacy
    bind 127.0.0.1:0
    stick-table type ip size 10 expire 60s store gpc(2),gpt(1),gpc_rate(2,10s)
    http-request track-sc0 src
    http-request sc-inc-gpc0(0)
    http-request sc-set-gpt0(0) 9
    http-request return status 200 content-type text/plain lf-string "g0=%[sc0_get_gpc0] i1=%[sc0_inc_gpc1] g1=%[sc_get_gpc(1,0)] r0=%[sc0_gpc0_rate] r1=%[sc0_gpc1_rate] t0=%[sc0_get_gpt0] tg=%[src,table_gpc0(legacy)] tr=%[src,table_gpc1_rate(legacy)] tgt=%[src,table_gpt0(legacy)] c0=%[sc0_clr_gpc0] bad=%[sc_get_gpc(2,0)] badt=%[sc_get_gpt(1,0)] x"
frontend conv3x
    bind 127.0.0.1:0
    stick-table type string size 10 store gpc(2),gpc0_rate(10s)
    http-request return status 200 content-type text/plain lf-string "i=%[str(k),table_inc_gpc(1)] i2=%[str(k),table_inc_gpc(1)] c=%[str(k),table_clr_gpc(1)] c2=%[str(k),table_clr_gpc(1)] l0=%[str(k),table_inc_gpc0] l1=%[str(k),table_inc_gpc1(conv3x)] lc=%[str(k),table_clr_gpc0] g=%[str(k),table_gpc(0)] out=%[str(k),table_gpc(7)] exp=%[str(k),table_expire] nokey=%[str(z),table_idle]"
`)
	sock := filepath.Join(dir, "admin.sock")
	f, legacy, conv3x := "http://"+e.Addrs()[0].String(), "http://"+e.Addrs()[1].String(), "http://"+e.Addrs()[2].String()
	checks := []struct{ url, want string }{
		{f + "/x", "g1=1 gr=1 gt=42 t=1 tr=1 tt=42 expd=77 srcg=1 srcgt=42 srci=2 srcc=1 srcr=2 sci=1 scc=1 sci1=1 gpcbad= x"},
		{f + "/", "g1=3 gr=3 gt=42 t=3 tr=3 tt=42 expd=77 srcg=3 srcgt=42 srci=4 srcc=0 srcr=4 sci=1 scc=1 sci1=2 gpcbad= x"},
		{legacy + "/", "g0=1 i1=1 g1=1 r0=1 r1=1 t0=9 tg=1 tr=1 tgt=9 c0=1 bad= badt= x"},
		{legacy + "/", "g0=1 i1=2 g1=2 r0=2 r1=2 t0=9 tg=1 tr=2 tgt=9 c0=1 bad= badt= x"},
		// 3.x converters: inc/clr create the entry; gpc0 lives in gpc(0)
		// here, its rate is the table's own gpc0_rate.
		{conv3x + "/", "i=1 i2=2 c=2 c2=0 l0=1 l1=1 lc=1 g=0 out=0 exp=0 nokey="},
	}
	for _, c := range checks {
		if got := httpBody(t, c.url); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.url, got, c.want)
		}
	}
	addrRE := regexp.MustCompile(`0x[0-9a-f]+:`)
	expRE := regexp.MustCompile(`exp=[0-9]+`)
	norm := func(s string) string { return expRE.ReplaceAllString(addrRE.ReplaceAllString(s, "0x:"), "exp=X") }
	cli := []struct{ cmd, want string }{
		{"show table legacy", "# table: legacy, type: ip, size:10, used:1\n0x: key=127.0.0.1 use=0 exp=X gpt0=9 gpc0=0 gpc1=2 gpc0_rate(10000)=2 gpc1_rate(10000)=2\n\n"},
		{"set table legacy key 127.0.0.1 data.gpt 5 data.gpc_rate 3", "\n"},
		{"show table legacy", "# table: legacy, type: ip, size:10, used:1\n0x: key=127.0.0.1 use=0 exp=X gpt0=5 gpc0=0 gpc1=2 gpc0_rate(10000)=3 gpc1_rate(10000)=2\n\n"},
		{"show table f", "# table: f, type: ip, size:10, used:1\n0x: key=127.0.0.1 use=0 exp=X gpt0=0 gpt1=42 gpc0=0 gpc1=4 gpc2=2 gpc0_rate(10000)=3 gpc1_rate(10000)=4\n\n"},
	}
	for _, c := range cli {
		// use=0 once the streams that tracked the entry have ended, which
		// may come a moment after their responses
		got := norm(cliExchange(t, sock, c.cmd+"\n"))
		for deadline := time.Now().Add(10 * time.Second); got != c.want && strings.HasPrefix(c.cmd, "show") && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			got = norm(cliExchange(t, sock, c.cmd+"\n"))
		}
		if got != c.want {
			t.Errorf("%s:\ngot  %q\nwant %q", c.cmd, got, c.want)
		}
	}
}

func TestStickArraysConfigErrors(t *testing.T) {
	for _, c := range []struct{ rule, want string }{
		{"http-request sc-inc-gpc(100,0)", "invalid gpc index '100'"},
		// HAProxy 2.6 names the whole keyword
		{"http-request sc-inc-gpc(1,3)", "invalid stick table track ID 'sc-inc-gpc(1,3)'. The max allowed ID is 2."},
		// HAProxy 2.6 reads a missing value as 0 (strtol("")): valid
		{"http-request sc-set-gpt(1,0) foo(", "unknown fetch method 'foo'"},
		{"http-request set-var(txn.x) sc_get_gpc(100,0)", "invalid array index 100"},
	} {
		cfg, err := configParse("frontend f\n bind 127.0.0.1:0\n stick-table type ip size 1 store gpc(2)\n " + c.rule + "\n")
		if err == nil {
			err = New(NewLogger(&syncBuf{})).Load(cfg)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.rule, err, c.want)
		}
	}
}
