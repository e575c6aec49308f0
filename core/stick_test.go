package core

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const stickConfig = `
global
    stats socket @SOCK@ level admin
defaults
    mode http
    timeout client 5s
frontend fe
    bind 127.0.0.1:0
    stick-table type ip size 100k expire 30s store gpc0,conn_cnt,conn_cur,http_req_cnt,http_req_rate(10s),gpt0
    http-request track-sc0 src
    http-request sc-inc-gpc0(0)
    http-request sc-set-gpt0(0) 7
    http-request return status 200 content-type text/plain lf-string "c=%[sc0_conn_cnt] cur=%[sc0_conn_cur] r=%[sc0_http_req_cnt] g=%[sc0_get_gpc0] srcr=%[src_http_req_cnt] t=%[src,table_http_req_cnt] in=%[src,in_table(fe)] tr=%[sc0_tracked] trk1=%[sc1_tracked]"
backend bi
    stick-table type integer size 10
backend bs
    stick-table type string len 8 size 10 store gpc0
`

// TestStickTrackAndCLI compares with HAProxy 2.6.12 on the same config:
// the counters seen by fetches and the runtime API's answers.
func TestStickTrackAndCLI(t *testing.T) {
	e, _, dir := startCLIEngine(t, stickConfig)
	sock := filepath.Join(dir, "admin.sock")
	addr := e.Addrs()[0].String()
	want := []string{
		"c=1 cur=1 r=1 g=1 srcr=1 t=1 in=1 tr=1 trk1=0",
		"c=2 cur=1 r=2 g=2 srcr=2 t=2 in=1 tr=1 trk1=0",
	}
	for _, w := range want {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Request.Close = true
		if got := strings.TrimSpace(string(b)); got != w {
			t.Errorf("got %q, want %q", got, w)
		}
		http.DefaultClient.CloseIdleConnections()
		// the next connection must not overlap this one (cur would be 2)
		waitFor(t, "conn_cur released", func() bool {
			return strings.Contains(cliExchange(t, sock, "show table fe\n"), "conn_cur=0")
		})
	}
	addrRE := regexp.MustCompile(`0x[0-9a-f]+:`)
	expRE := regexp.MustCompile(`exp=[0-9]+`)
	norm := func(s string) string { return expRE.ReplaceAllString(addrRE.ReplaceAllString(s, "0x:"), "exp=X") }
	cases := []struct{ cmd, want string }{
		{"show table", "# table: bs, type: string, size:10, used:0\n# table: bi, type: integer, size:10, used:0\n# table: fe, type: ip, size:102400, used:1\n\n"},
		{"show table fe", "# table: fe, type: ip, size:102400, used:1\n0x: key=127.0.0.1 use=0 exp=X gpt0=7 gpc0=2 conn_cnt=2 conn_cur=0 http_req_cnt=2 http_req_rate(10000)=2\n\n"},
		{"show table nope", "No such table\n\n"},
		{"show table fe data.foo gt 1", "Filter entry #1: Unknown data type\n\n"},
		{"show table fe data.gpc0 zz 1", "Filter entry #1: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n\n"},
		{"show table fe data.gpc0 gt", "Filter entry #1: Require a valid integer value to compare against\n\n"},
		{"show table fe data.gpc0 gt 5", "# table: fe, type: ip, size:102400, used:1\n\n"},
		{"show table fe key 1.2.3.4", "\n"},
		{"show table bi key zz", "Invalid key\n\n"},
		{"set table fe key 1.2.3.4 data.gpc0 9 data.http_req_rate 4", "\n"},
		{"show table fe key 1.2.3.4", "# table: fe, type: ip, size:102400, used:2\n0x: key=1.2.3.4 use=0 exp=X gpt0=0 gpc0=9 conn_cnt=0 conn_cur=0 http_req_cnt=0 http_req_rate(10000)=4\n\n"},
		{"set table fe key 1.2.3.4 data.gpc0", "Require a valid integer value to store\n\n"},
		{"set table fe key 1.2.3.4 foo", "\"data.<type>\" followed by a value expected\n\n"},
		{"set table fe key", "Key value expected\n\n"},
		{"set table", "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n\n"},
		{"set table bi key 42 data.gpc0 5", "Data type not stored in this table\n\n"},
		{"set table bs key abcdefghijk data.gpc0 5", "\n"},
		{"show table bs", "# table: bs, type: string, size:10, used:1\n0x: key=abcdefgh use=0 exp=X gpc0=5\n\n"},
		{"clear table", "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n\n"},
		{"clear table fe data.gpc0 gt 5", "\n"},
		{"show table fe key 1.2.3.4", "\n"},
		{"clear table fe", "\n"},
		{"show table fe", "# table: fe, type: ip, size:102400, used:0\n\n"},
	}
	for _, c := range cases {
		if got := norm(cliExchange(t, sock, c.cmd+"\n")); got != c.want {
			t.Errorf("%s:\ngot  %q\nwant %q", c.cmd, got, c.want)
		}
	}
}
