package core

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// haproxyStatHeader is the first line of HAProxy 2.6.12's "show stat".
const haproxyStatHeader = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,"

// maskStat blanks the fields that depend on time, addresses and counters
// luaproxy does not keep, so that a line compares with HAProxy's.
func maskStat(line string, fields ...string) string {
	f := strings.Split(line, ",")
	for _, name := range append([]string{"slim", "lastchg", "downtime", "check_duration", "addr", "need_conn_est"}, fields...) {
		if i := statIndex[name]; i < len(f) && f[i] != "" {
			f[i] = "X"
		}
	}
	return strings.Join(f, ",")
}

// "show stat" lines compared with HAProxy 2.6.12's for the same
// configuration, TCP mode: a checked server up, unchecked ones, a backup,
// a "disabled" server and the backend with nothing usable.
func TestShowStatTCP(t *testing.T) {
	up := newTCPServer(t, "up")
	e, _, dir := startCLIEngine(t, fmt.Sprintf(`
global
    stats socket @SOCK@ level admin
defaults
    mode tcp
    timeout connect 1s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 %s check inter 50ms
    server s2 127.0.0.1:9 weight 5
    server s3 127.0.0.1:9 backup
listen li
    bind 127.0.0.1:0
    balance leastconn
    server a 127.0.0.1:9 disabled
`, up.addr))
	s1 := e.Backend("be").FindServer("s1")
	waitFor(t, "s1's first check", func() bool { c := s1.LastCheck(); return c != nil && c.Health == 4 })
	got := strings.Split(cliExchange(t, filepath.Join(dir, "admin.sock"), "show stat\n"), "\n")
	want := []string{
		haproxyStatHeader,
		"fe,FRONTEND,,,0,0,9984,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,,0,0,0,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,",
		"be,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,3,1,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,Layer4 check passed,,2,3,4,,,,127.0.0.1:41781,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,",
		"be,s2,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,5,1,0,,,1,,,1,3,2,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:41782,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,5,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,",
		"be,s3,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,0,1,,,1,,,1,3,3,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:41783,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,",
		"be,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,6,2,1,,0,1,0,,1,3,0,,0,,1,0,,0,,,,,,,,,,,,,,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,roundrobin,,,,,,,0,0,0,,,,,0,0,0,0,0,,,,,6,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,",
		"li,FRONTEND,,,0,0,9984,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,4,0,,,,0,0,0,0,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,,0,0,0,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,",
		"li,a,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,1,,,1,4,1,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:41781,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,",
		"li,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,DOWN,0,0,0,,0,1,1,,1,4,0,,0,,1,0,,0,,,,,,,,,,,,,,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,leastconn,,,,,,,0,0,0,,,,,0,0,0,0,0,,,,,0,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,",
		"", "",
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	if got[0] != want[0] {
		t.Errorf("header:\n got %s\nwant %s", got[0], want[0])
	}
	for i := 1; i < len(want); i++ {
		if g, w := maskStat(got[i]), maskStat(want[i]); g != w {
			t.Errorf("line %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

// The same in HTTP mode, with failing checks (HAProxy 2.6.12's lines for
// an httpchk answered by a non-HTTP server, and a refused connection).
func TestShowStatHTTPChecks(t *testing.T) {
	notHTTP := newTCPServer(t, "not http")
	closed := newTCPServer(t, "closed")
	closedAddr := closed.addr
	closed.stop()
	e, _, dir := startCLIEngine(t, fmt.Sprintf(`
global
    stats socket @SOCK@ level admin
defaults
    mode http
    timeout connect 1s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance first
    option httpchk
    server s1 %s check inter 50ms rise 3 fall 3
    server s2 %s check inter 50ms rise 2 fall 3 maxconn 20
    server s3 127.0.0.1:9 weight 0
`, notHTTP.addr, closedAddr))
	be := e.Backend("be")
	waitFor(t, "both servers down", func() bool {
		return be.FindServer("s1").State() == StateStopped && be.FindServer("s2").State() == StateStopped
	})
	got := strings.Split(cliExchange(t, filepath.Join(dir, "admin.sock"), "show stat -1 6 -1\n"), "\n")
	want := []string{
		haproxyStatHeader,
		"be,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,0,0,,1,3,1,,0,,2,0,,0,L7RSP,,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,Layer7 invalid response,,3,3,0,,,,127.0.0.1:41781,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,",
		"be,s2,0,0,0,0,20,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,0,0,,1,3,2,,0,,2,0,,0,L4CON,,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,2,3,0,,,,127.0.0.1:41799,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,",
		"be,s3,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,0,1,0,,,0,,,1,3,3,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:41781,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,0,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,",
		"be,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,DOWN,0,0,0,,1,0,0,,1,3,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,http,first,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,0,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,",
		"", "",
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := 1; i < len(want); i++ {
		if g, w := maskStat(got[i], "need_conn_est"), maskStat(want[i]); g != w {
			t.Errorf("line %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

// Server statuses in transition, drain, NOLB, as HAProxy's stats show them.
func TestServerStatusStrings(t *testing.T) {
	s := &Server{Check: CheckConfig{Rise: 2, Fall: 3}}
	cases := []struct {
		state    ServerState
		admin    AdminFlags
		health   int
		checking bool
		want     string
	}{
		{StateRunning, 0, 4, true, "UP"},
		{StateRunning, 0, 2, true, "UP 1/3"},
		{StateRunning, 0, 2, false, "no check"},
		{StateRunning, AdminDrain, 4, true, "DRAIN"},
		{StateRunning, AdminDrain, 3, true, "DRAIN 2/3"},
		{StateStopping, 0, 4, true, "NOLB"},
		{StateStopping, 0, 3, true, "NOLB 2/3"},
		{StateStopped, 0, 0, true, "DOWN"},
		{StateStopped, 0, 1, true, "DOWN 1/2"},
		{StateStopped, 0, 2, false, "DOWN"},
		{StateStopped, AdminMaint, 0, true, "MAINT"},
		{StateRunning, AdminCMaint, 2, false, "MAINT"},
	}
	for _, tc := range cases {
		if got := serverStatus(s, tc.state, tc.admin, tc.health, tc.checking); got != tc.want {
			t.Errorf("%v %v health %d checking %v: %q, want %q", tc.state, tc.admin.Names(), tc.health, tc.checking, got, tc.want)
		}
	}
}

// "show servers state" in HAProxy 2.6.12's format 1: the lines for the
// same configuration, and after maint/drain/add server.
func TestShowServersState(t *testing.T) {
	up := newTCPServer(t, "up")
	e, _, dir := startCLIEngine(t, fmt.Sprintf(`
global
    stats socket @SOCK@ level admin
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 %s check inter 50ms
    server s2 127.0.0.1:41782 weight 5
    server s3 127.0.0.1:41783 backup
listen li
    bind 127.0.0.1:0
    server a 127.0.0.1:41781 disabled
`, up.addr))
	sock := filepath.Join(dir, "admin.sock")
	s1 := e.Backend("be").FindServer("s1")
	waitFor(t, "s1's first check", func() bool { c := s1.LastCheck(); return c != nil && c.Health == 4 })
	port := up.addr[strings.LastIndexByte(up.addr, ':')+1:]
	header := "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"
	// srv_time_since_last_change (field 10) depends on time: masked.
	mask := func(s string) string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			f := strings.Split(l, " ")
			if len(f) == 25 {
				f[9] = "T"
			}
			out = append(out, strings.Join(f, " "))
		}
		return strings.Join(out, "\n")
	}
	steps := []struct{ cmd, want string }{
		{"show servers state", header +
			"3 be 1 s1 127.0.0.1 2 0 1 1 4 6 3 4 6 0 0 0 - " + port + " - 0 0 - - 0\n" +
			"3 be 2 s2 127.0.0.1 2 0 5 5 4 1 0 2 0 0 0 0 - 41782 - 0 0 - - 0\n" +
			"3 be 3 s3 127.0.0.1 2 0 1 1 4 1 0 2 0 0 0 0 - 41783 - 0 0 - - 0\n" +
			"4 li 1 a 127.0.0.1 0 5 1 1 4 1 0 0 8 0 0 0 - 41781 - 0 0 - - 0\n\n"},
		{"set server be/s1 state maint;show servers state be", "\n" + header +
			"3 be 1 s1 127.0.0.1 0 1 1 1 1 6 3 0 14 0 0 0 - " + port + " - 0 0 - - 0\n" +
			"3 be 2 s2 127.0.0.1 2 0 5 5 3 1 0 2 0 0 0 0 - 41782 - 0 0 - - 0\n" +
			"3 be 3 s3 127.0.0.1 2 0 1 1 3 1 0 2 0 0 0 0 - 41783 - 0 0 - - 0\n\n"},
		{"set server be/s2 state drain;add server be/s4 127.0.0.1:41782;add server be/a2 127.0.0.1:41781 id 7;add server be/a7 foo;show servers state be",
			"\nNew server registered.\n\nNew server registered.\n\nNew server registered.\n\n" + header +
				"3 be 1 s1 127.0.0.1 0 1 1 1 1 6 3 0 14 0 0 0 - " + port + " - 0 0 - - 0\n" +
				"3 be 2 s2 127.0.0.1 2 8 5 5 6 1 0 2 0 0 0 0 - 41782 - 0 0 - - 0\n" +
				"3 be 3 s3 127.0.0.1 2 0 1 1 3 1 0 2 0 0 0 0 - 41783 - 0 0 - - 0\n" +
				"3 be 4 s4 127.0.0.1 0 1 1 1 2 1 0 0 0 0 0 0 - 41782 - 0 0 - - 0\n" +
				"3 be 7 a2 127.0.0.1 0 1 1 1 0 1 0 0 0 0 0 1 - 41781 - 0 0 - - 0\n" +
				"3 be 5 a7 - 0 1 1 1 0 1 0 0 0 0 0 0 foo 0 - 0 0 - - 0\n\n"},
	}
	for _, st := range steps {
		if got := cliExchange(t, sock, st.cmd+"\n"); mask(got) != mask(st.want) {
			t.Errorf("%s:\n got %q\nwant %q", st.cmd, mask(got), mask(st.want))
		}
	}
}

// "show info": HAProxy 2.6's fields in its order; typed and json outputs.
func TestStatsShowInfo(t *testing.T) {
	e, _, dir := startCLIEngine(t, cliBaseConfig)
	sock := filepath.Join(dir, "admin.sock")
	names := []string{"Name", "Version", "Release_date", "Nbthread", "Nbproc", "Process_num", "Pid", "Uptime",
		"Uptime_sec", "Memmax_MB", "PoolAlloc_MB", "PoolUsed_MB", "PoolFailed", "Ulimit-n", "Maxsock", "Maxconn",
		"Hard_maxconn", "CurrConns", "CumConns", "CumReq", "MaxSslConns", "CurrSslConns", "CumSslConns", "Maxpipes",
		"PipesUsed", "PipesFree", "ConnRate", "ConnRateLimit", "MaxConnRate", "SessRate", "SessRateLimit",
		"MaxSessRate", "SslRate", "SslRateLimit", "MaxSslRate", "SslFrontendKeyRate", "SslFrontendMaxKeyRate",
		"SslFrontendSessionReuse_pct", "SslBackendKeyRate", "SslBackendMaxKeyRate", "SslCacheLookups",
		"SslCacheMisses", "CompressBpsIn", "CompressBpsOut", "CompressBpsRateLim", "Tasks", "Run_queue",
		"Idle_pct", "node", "Stopping", "Jobs", "Unstoppable Jobs", "Listeners", "ActivePeers", "ConnectedPeers",
		"DroppedLogs", "BusyPolling", "FailedResolutions", "TotalBytesOut", "TotalSplicdedBytesOut",
		"BytesOutRate", "DebugCommandsIssued", "CumRecvLogs", "Build info", "Memmax_bytes", "PoolAlloc_bytes",
		"PoolUsed_bytes", "Start_time_sec", "Tainted"}
	got := cliExchange(t, sock, "show info\n")
	lines := strings.Split(strings.TrimSuffix(got, "\n\n"), "\n")
	if len(lines) != len(names) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(names), got)
	}
	vals := map[string]string{}
	for i, l := range lines {
		k, v, ok := strings.Cut(l, ": ")
		if !ok || k != names[i] {
			t.Errorf("line %d: %q, want field %q", i, l, names[i])
		}
		vals[k] = v
	}
	if vals["Name"] != "luaproxy" || vals["Version"] != Version || vals["Nbthread"] != fmt.Sprint(e.Threads) ||
		vals["Listeners"] != "4" || vals["Process_num"] != "1" {
		t.Errorf("values: %v", vals)
	}
	typed := strings.Split(cliExchange(t, sock, "show info typed\n"), "\n")
	if typed[0] != "0.Name.1:POS:str:luaproxy" || typed[3] != fmt.Sprintf("3.Nbthread.1:CGS:u32:%d", e.Threads) ||
		!strings.HasPrefix(typed[45], "47.Tasks.1:MGP:u32:") {
		t.Errorf("typed: %q", typed[:4])
	}
	var js []struct {
		Field struct {
			Pos  int
			Name string
		}
		ProcessNum int
		Tags       struct{ Origin, Nature, Scope string }
		Value      struct {
			Type  string
			Value any
		}
	}
	if err := json.Unmarshal([]byte(cliExchange(t, sock, "show info json\n")), &js); err != nil {
		t.Fatal(err)
	}
	if len(js) != len(names) || js[0].Value.Value != "luaproxy" || js[0].Tags.Origin != "Product" ||
		js[0].Tags.Nature != "Output" || js[0].Tags.Scope != "Service" || js[17].Field.Name != "CurrConns" ||
		js[17].Value.Type != "u32" {
		t.Errorf("json: %+v", js[:1])
	}
}
