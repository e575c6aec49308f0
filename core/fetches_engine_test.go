package core

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// keepAlive sends the requests for paths on one connection to addr and
// returns the bodies of the responses.
func keepAlive(t *testing.T, addr string, paths ...string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var out []string
	for _, p := range paths {
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nhost: x\r\n\r\n", p); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		out = append(out, strings.TrimSpace(string(b)))
	}
	return out
}

const fetchesEngineConfig = `
defaults
    mode http
    timeout client 5s
    timeout server 7s
    timeout connect 3s
    timeout tunnel 11s
frontend fe
    bind 127.0.0.1:0 name mybind
    unique-id-header X-Unique-ID
    http-request return status 200 content-type text/plain lf-string "uid=%[unique-id] fsr=%[fe_sess_rate] frr=%[fe_req_rate] defbe=%[fe_defbe] dconn=%[dst_conn] soname=%[so_name] fct=%[fe_client_timeout] pc=%[prio_class] po=%[prio_offset] hm=%[fc_http_major] bsr=%[be_sess_rate(be)] ssr=%[srv_sess_rate(be/s1)] sq=%[srv_queue(be/s1)] iw=%[srv_iweight(be/s1)] uw=%[srv_uweight(be/s1)] w=%[srv_weight(be/s1)] w3=%[srv_weight(be/s3)] bcf=%[be_conn_free(be)] scf=%[srv_conn_free(be/s1)] bcf2=%[be_conn_free(be2)] scf2=%[srv_conn_free(be2/s2)] rtt=%[fc_rtt,bool] fcerr=%[fc_err] fcerrs=%[fc_err_str]" if { path /a }
    use_backend be
frontend fe2
    bind 127.0.0.1:0
    unique-id-format %ci_%[txn.id32]
    http-request return status 200 content-type text/plain lf-string "uid=%[unique-id] id=%[txn.id32] hm=%[fc_http_major]"
backend be
    timeout server 9s
    http-request return status 200 content-type text/plain lf-string "bst=%[be_server_timeout] cst=%[cur_server_timeout] btt=%[be_tunnel_timeout] ctt=%[cur_tunnel_timeout] bsr=%[be_sess_rate] bcf=%[be_conn_free] defbe=%[fe_defbe]"
    server s1 127.0.0.1:1 weight 20
    server s3 127.0.0.1:1 weight 30
backend be2
    server s2 127.0.0.1:1 maxconn 10
`

// TestFetchesEngineLikeHAProxy compares with what HAProxy 2.6.12 answers
// for the same configuration (ports aside). The rates are per second:
// the requests run well within one, but a second boundary may lower a
// rate by the previous second's share, so they are checked as ranges.
func TestFetchesEngineLikeHAProxy(t *testing.T) {
	e, _ := startEngine(t, fetchesEngineConfig)
	addr, addr2 := e.Addrs()[0].String(), e.Addrs()[1].String()
	rest := "defbe= dconn=1 soname=mybind fct=5000 pc=0 po=0 hm=1 bsr=0 ssr=0 sq=0 iw=20 uw=20 w=20 w3=30 bcf=-1 scf=-1 bcf2=10 scf2=10 rtt=0 fcerr=0 fcerrs=Success"
	rateRE := regexp.MustCompile(`^uid= fsr=(\d+) frr=(\d+) (.*)$`)
	check := func(got string, fsr, frr int) {
		t.Helper()
		m := rateRE.FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("got %q", got)
		}
		if m[3] != rest {
			t.Errorf("got  %q\nwant %q", m[3], rest)
		}
		for _, r := range []struct {
			name      string
			got, want int
		}{{"fe_sess_rate", atoi(m[1]), fsr}, {"fe_req_rate", atoi(m[2]), frr}} {
			if r.got > r.want || r.got < r.want-1 {
				t.Errorf("%s = %d, want %d (or one less)", r.name, r.got, r.want)
			}
		}
	}
	fe := e.Proxies[0]
	closed := func() { waitFor(t, "the connection to end", func() bool { return fe.Conns.Load() == 0 }) }
	got := keepAlive(t, addr, "/a")
	check(got[0], 1, 1)
	closed()
	got = keepAlive(t, addr, "/a", "/a")
	check(got[0], 2, 2)
	check(got[1], 2, 3)
	closed()
	got = keepAlive(t, addr, "/b")
	if w := "bst=9000 cst=0 btt=11000 ctt=0 bsr=1 bcf=-1 defbe="; got[0] != w {
		t.Errorf("backend: got %q, want %q", got[0], w)
	}
	// fe2: txn.id32 goes up with each request, also on one connection;
	// the unique id is generated once per request.
	got = keepAlive(t, addr2, "/", "/")
	re := regexp.MustCompile(`^uid=127\.0\.0\.1_(\d+) id=(\d+) hm=1$`)
	var ids []int
	for _, g := range got {
		m := re.FindStringSubmatch(g)
		if m == nil || m[1] != m[2] {
			t.Fatalf("got %q", g)
		}
		ids = append(ids, atoi(m[2]))
	}
	if ids[1] <= ids[0] {
		t.Errorf("txn.id32 %d then %d on one connection, want it to grow", ids[0], ids[1])
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// TestFetchesUniqueIDHeader checks that the unique id reaches the server
// in unique-id-header, and that defaults pass the format on.
func TestFetchesUniqueIDHeader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hdr=%s", r.Header.Get("X-Unique-ID"))
	}))
	defer srv.Close()
	e, _ := startEngine(t, `
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 3s
    unique-id-format id-%[txn.id32]
frontend fe
    bind 127.0.0.1:0
    unique-id-header X-Unique-ID
    http-response set-header x-uid %[unique-id]
    http-response set-header x-retries %[txn.conn_retries]/%[txn.redispatched]/%[bc_reused]/%[bc_http_major]
    default_backend be
backend be
    server s1 `+strings.TrimPrefix(srv.URL, "http://")+`
`)
	addr := e.Addrs()[0].String()
	for i := 0; i < 2; i++ {
		res, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		uid := res.Header.Get("x-uid")
		if !strings.HasPrefix(uid, "id-") || string(b) != "hdr="+uid {
			t.Errorf("body %q, x-uid %q: want the server to get the same unique id", b, uid)
		}
		want := "0/0/0/1"
		if i > 0 {
			want = "0/0/1/1" // the idle server connection was reused
		}
		if got := res.Header.Get("x-retries"); got != want {
			t.Errorf("request %d: conn_retries/redispatched/bc_reused/bc_http_major = %q, want %q", i, got, want)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestFetchesStickBytesAndSessions compares the stick-table counters
// filled at session start and stream end with HAProxy 2.6.12 on the same
// configuration: a TCP stream moving 5 bytes in and 10 out, then HTTP
// requests on a connection tracked by tcp-request connection rules.
// (HTTP byte counts differ: HAProxy counts its internal HTX sizes, here
// they are the bytes of the messages on the wire; they are checked
// against bytes_in/bytes_out of the previous request instead.)
func TestFetchesStickBytesAndSessions(t *testing.T) {
	echo := newTCPServer(t, "")
	echo.setHandle(func(c net.Conn) {
		b := make([]byte, 100)
		n, _ := c.Read(b)
		_, _ = c.Write(append([]byte("pong:"), b[:n]...))
	})
	e, _ := startEngine(t, `
defaults
    timeout client 5s
    timeout server 5s
    timeout connect 3s
frontend tcpfe
    mode tcp
    bind 127.0.0.1:0
    tcp-request connection track-sc0 src table st
    default_backend echo
backend echo
    mode tcp
    server e `+echo.addr+`
backend st
    stick-table type ip size 10 store bytes_out_rate(10s),sess_cnt,sess_rate(10s),bytes_in_rate(10s),conn_cnt
frontend hfe
    mode http
    bind 127.0.0.1:0
    stick-table type ip size 10 store bytes_in_rate(10s),bytes_out_rate(10s),sess_cnt,conn_cnt,http_req_cnt
    tcp-request connection track-sc0 src
    http-request return status 200 content-type text/plain lf-string "sess=%[sc0_sess_cnt] conn=%[sc0_conn_cnt] req=%[sc0_http_req_cnt] tin=%[src,table_bytes_in_rate(st)] tout=%[src,table_bytes_out_rate(st)] tsess=%[src,table_sess_cnt(st)] tsr=%[src,table_sess_rate(st)] tconn=%[src,table_conn_cnt(st)] in=%[sc0_bytes_in_rate] out=%[sc0_bytes_out_rate] bin=%[bytes_in] bout=%[bytes_out]"
`)
	tcpAddr, httpAddr := e.Addrs()[0].String(), e.Addrs()[1].String()
	c, err := net.Dial("tcp", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte("hello"))
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "pong:hello" {
		t.Fatalf("echo: %q", b)
	}
	tcpFE := e.Proxies[0]
	waitFor(t, "the TCP stream to end", func() bool { return tcpFE.Conns.Load() == 0 })
	want := []string{
		"sess=1 conn=1 req=1 tin=5 tout=10 tsess=1 tsr=1 tconn=1",
		"sess=1 conn=1 req=2 tin=5 tout=10 tsess=1 tsr=1 tconn=1",
		"sess=2 conn=2 req=3 tin=5 tout=10 tsess=1 tsr=1 tconn=1",
	}
	got := keepAlive(t, httpAddr, "/a", "/b")
	// the counters of a request are added once it was answered
	waitFor(t, "the HTTP connection to end", func() bool { return e.Proxies[3].Conns.Load() == 0 })
	got = append(got, keepAlive(t, httpAddr, "/c")...)
	bytesRE := regexp.MustCompile(` in=(\d+) out=(\d+) bin=(\d+) bout=(\d+)$`)
	var in, out, bin, bout [3]int
	for i, g := range got {
		m := bytesRE.FindStringSubmatch(g)
		if m == nil {
			t.Fatalf("got %q", g)
		}
		in[i], out[i], bin[i], bout[i] = atoi(m[1]), atoi(m[2]), atoi(m[3]), atoi(m[4])
		if g = g[:len(g)-len(m[0])]; g != want[i] {
			t.Errorf("request %d:\ngot  %q\nwant %q", i, g, want[i])
		}
	}
	// The three requests have the same size r; bytes_in counts those
	// of the connection up to the current one, the entry those finished.
	r := bin[0]
	if r == 0 || bin[1] != 2*r || bin[2] != r || in[0] != 0 || in[1] != r || in[2] != 2*r {
		t.Errorf("bytes in: bytes_in %v, sc0_bytes_in_rate %v", bin, in)
	}
	// bytes_out counts the responses sent before the current one.
	if bout[0] != 0 || bout[1] == 0 || out[1] != bout[1] || bout[2] != 0 || out[2] <= out[1] {
		t.Errorf("bytes out: bytes_out %v, sc0_bytes_out_rate %v", bout, out)
	}
}

// TestFetchesMisc runs the fetches and converters whose values are not
// compared with HAProxy (3.x keywords, or values that vary) through an
// HTTP frontend; each case is a regular expression for the output.
func TestFetchesMisc(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"%[fc_rtt(us)] %[fc_rttvar] %[fc_unacked] %[fc_retrans] %[fc_lost] %[fc_reordering]", `^\d+ \d+ 0 0 0 \d+$`},
		{"%[accept_date] %[request_date(ms)] %[accept_date(us)]", `^\d{10} \d{13} \d{16}$`},
		{"%[txn.sess_term_state] %[req.timer.tq] %[req.timer.hdr] %[req.timer.queue] %[fc.timer.handshake]", `^-- \d+ \d+ -1 0$`},
		{"%[be_connect_timeout] %[be_queue_timeout] %[cur_client_timeout] %[be_max_retries] %[cur_max_retries] %[fe_tarpit_timeout]", `^3000 3000 5000 3 3 3000$`},
		{"%[so_id] %[act_conn] %[fc_nb_streams] %[fc_rcvd_proxy] %[req.bytes_out] %[res.bytes_in]", `^7 \d+ 1 0 0 0$`},
		{"%[str(fe),fe_exists] %[str(be),fe_exists] %[str(be/s1),srv_is_up] %[str(be/s1),srv_queue] %[str(abcdef),capture-req(0)]-%[capture.req.hdr(0)]", `^1 0 1 0 abcdef-abc$`},
		{"%[str(be),nbsrv] %[str(nope),nbsrv]", `^1$`},
	}
	var rules strings.Builder
	for i, c := range cases {
		fmt.Fprintf(&rules, "    http-request return status 200 content-type text/plain lf-string \"%s\" if { path /%d }\n", c.expr, i)
	}
	e, _ := startEngine(t, `
defaults
    mode http
    timeout client 5s
    timeout connect 3s
frontend fe
    bind 127.0.0.1:0 id 7
    declare capture request len 3
`+rules.String()+`
backend be
    server s1 127.0.0.1:1
`)
	addr := e.Addrs()[0].String()
	for i, c := range cases {
		got := keepAlive(t, addr, fmt.Sprintf("/%d", i))[0]
		if !regexp.MustCompile(c.want).MatchString(got) {
			t.Errorf("%s = %q, want /%s/", c.expr, got, c.want)
		}
	}
}

func TestFetchesConfigErrors(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{`http-request return status 200 content-type text/plain lf-string "%[accept_date(h)]"`, "unexpected unit 'h'"},
		{`bind 127.0.0.1:0 foo`, "unsupported option 'foo'"},
		{`bind 127.0.0.1:0 id x`, "'id' : expects a positive integer"},
		{`unique-id-format`, "'unique-id-format' expects one argument"},
		{`unique-id-format %[nope]`, "failed to parse unique-id-format"},
	} {
		cfg, err := configParse("frontend fe\n    mode http\n    " + c.line + "\n")
		if err != nil {
			t.Fatal(err)
		}
		err = New(NewLogger(&syncBuf{})).Load(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.line, err, c.want)
		}
	}
}

// "stopping" and when(stopping) follow the stream's own engine: another
// engine of the same process that stopped does not make them true.
func TestStoppingIsPerEngine(t *testing.T) {
	const cfg = `
defaults
    mode http
    timeout client 5s
frontend fe
    bind 127.0.0.1:0
    http-request return status 200 content-type text/plain lf-string "stopping=%[stopping] when=%[str(yes),when(stopping)]"
`
	other, _ := loadEngine(t, cfg)
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	other.Stop()
	other.Wait()
	e, _ := startEngine(t, cfg)
	if got := get(t, e.Addrs()[0].String(), "/"); !strings.HasSuffix(got, "stopping=0 when=") {
		t.Errorf("a running engine: %q", got)
	}
}
