package core

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"luaproxy/core/config"
)

// lineOf returns the 1-based line of cfg holding substr.
func lineOf(t *testing.T, cfg, substr string) int {
	t.Helper()
	for i, l := range strings.Split(cfg, "\n") {
		if strings.Contains(l, substr) {
			return i + 1
		}
	}
	t.Fatalf("%q not in the configuration", substr)
	return 0
}

// TestLastRuleAndEntities checks last_rule_file/line and last_entity
// (the last rule with a final verdict, as HAProxy 2.6.12 logs them: any
// final verdict, none for rules that only continue), and waiting_entity (the rule a failed stream was waiting in).
func TestLastRuleAndEntities(t *testing.T) {
	sink := newUDPLogSink(t)
	org := helloOrigin(t)
	cfg := `
defaults
    mode http
    log ` + sink.addr() + ` format raw local0
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:0
    log-format "%HP lr=%[last_rule_file]:%[last_rule_line] le=%[last_entity] we=%[waiting_entity] %ST"
    http-request wait-for-body time 100ms if { path /body }
    http-request set-header x-a b
    http-request allow if { path /allow }
    http-request redirect location /x if { path /redir }
    http-request return status 201 if { path /ret }
    http-request deny if { path /deny }
    default_backend be
backend be
    server s1 ` + org + `
`
	e, _ := startEngine(t, cfg)
	addr := e.Addrs()[0].String()
	for _, p := range []string{"/allow", "/redir", "/ret", "/deny", "/none"} {
		get(t, addr, p)
	}
	// A body that never comes: wait-for-body times out (408, "cR").
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /body HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n")
	rule := func(s string) string { return "t.cfg:" + strconv.Itoa(lineOf(t, cfg, s)) }
	lr := func(s string) string {
		r := rule(s)
		return "lr=" + r + " le=" + r
	}
	want := []string{
		"/allow " + lr("allow if") + " we=- 200",
		"/redir " + lr("redirect") + " we=- 302",
		"/ret " + lr("return status") + " we=- 201",
		"/deny " + lr("deny if") + " we=- 403",
		"/none lr=-:- le=- we=- 200",
		"/body " + lr("wait-for-body") + " we=" + rule("wait-for-body") + " 408",
	}
	got := sink.wait(t, len(want))
	for i, w := range want {
		if got[i] != w {
			t.Errorf("log %d:\n got %s\nwant %s", i, got[i], w)
		}
	}
}

// TestTaskCalls checks cpu_calls, cpu_ns_* and lat_ns_*: counted per
// request, the running call in cpu_calls only (as HAProxy does), a new
// call after each wait (for the server's connect and response), and the
// averages exactly the totals divided by the calls. The times are only
// measured under "profiling.tasks on"; by default they are 0, as 2.6
// reports them ("auto" stays off on a machine that keeps up).
func TestTaskCalls(t *testing.T) {
	org := helloOrigin(t)
	for _, prof := range []string{"", "profiling.tasks auto", "profiling.tasks on"} {
		t.Run(prof, func(t *testing.T) {
			e, _ := startEngine(t, `
global
    `+prof+`
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:0
    http-request return status 200 content-type text/plain lf-string "calls=%[cpu_calls] cpu=%[cpu_ns_tot] lat=%[lat_ns_tot]" if { path /local }
    http-after-response set-header x-t "calls=%[cpu_calls] cpu=%[cpu_ns_tot] avg=%[cpu_ns_avg] lat=%[lat_ns_tot] lavg=%[lat_ns_avg]"
    default_backend be
backend be
    server s1 `+org+`
`)
			addr := e.Addrs()[0].String()
			got := keepAlive(t, addr, "/local", "/local")
			for i, g := range got {
				if g != "calls=1 cpu=0 lat=0" {
					t.Errorf("local answer %d: %q, want calls=1 cpu=0 lat=0", i, g)
				}
			}
			res := get(t, addr, "/")
			m := regexp.MustCompile(`x-t: calls=(\d+) cpu=(\d+) avg=(\d+) lat=(\d+) lavg=(\d+)`).FindStringSubmatch(res)
			if m == nil {
				t.Fatalf("no x-t header in %q", res)
			}
			calls, cpu, avg, lat, lavg := atoi(m[1]), atoi(m[2]), atoi(m[3]), atoi(m[4]), atoi(m[5])
			// request, connected, response received
			if calls != 3 {
				t.Errorf("cpu_calls = %d, want 3", calls)
			}
			profiled := prof == "profiling.tasks on"
			if profiled && (cpu <= 0 || avg != cpu/calls || lavg != lat/calls) || !profiled && (cpu != 0 || lat != 0 || avg != 0) {
				t.Errorf("cpu_ns_tot=%d cpu_ns_avg=%d lat_ns_tot=%d lat_ns_avg=%d calls=%d", cpu, avg, lat, lavg, calls)
			}
		})
	}
}

// TestProfilingTasksErrors checks 2.6's messages for a bad
// "profiling.tasks" line.
func TestProfilingTasksErrors(t *testing.T) {
	for line, want := range map[string]string{
		"profiling.tasks bogus":   "'profiling.tasks' expects either 'on', 'auto', or 'off' but got 'bogus'.",
		"profiling.tasks":         "'profiling.tasks' expects either 'on', 'auto', or 'off' but got ''.",
		"profiling.tasks on lock": "'profiling.tasks' cannot handle unexpected argument 'lock'.",
	} {
		c, err := config.Parse("t.cfg", []byte("global\n    "+line+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		err = New(NewLogger(&syncBuf{})).Load(c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", line, err, want)
		}
	}
}

// TestConnFetches checks the connection fetches: error codes on both
// sides (bc_* only once a server connection exists, as in HAProxy 2.6),
// PROXY protocol TLVs (none: no accept-proxy), stream limits, glitches
// (not counted by HTTP/1), queue positions and server_status (a response
// fetch: an http-request format may not use it, as in HAProxy).
func TestConnFetches(t *testing.T) {
	org := helloOrigin(t)
	e, _ := startEngine(t, `
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:0
    http-request return status 200 content-type text/plain lf-string "fe=%[fc_err]/%[fc_err_str]/[%[fc_err_name]] be=%[bc_err]/%[bc_err_str] pp=%[fc_rcvd_proxy]/%[fc_pp_authority]/%[fc_pp_unique_id]/%[fc_pp_tlv(AUTHORITY)]/%[fc_pp_tlv(0x30)] lim=%[fc_settings_streams_limit]/%[bc_settings_streams_limit] gl=%[fc_glitches]/%[bc_glitches]" if { path /local }
    http-response set-status 202
    http-response set-header x-c "be=%[bc_err]/%[bc_err_str]/[%[bc_err_name]] lim=%[bc_settings_streams_limit] q=%[bc_be_queue]/%[bc_srv_queue] ss=%[server_status] st=%[status]"
    default_backend be
backend be
    server s1 `+org+`
`)
	addr := e.Addrs()[0].String()
	if got, want := keepAlive(t, addr, "/local")[0], "fe=0/Success/[] be=/ pp=0//// lim=1/ gl=/"; got != want {
		t.Errorf("local:\n got %q\nwant %q", got, want)
	}
	res := get(t, addr, "/")
	if want := "x-c: be=0/Success/[] lim=1 q=0/0 ss=200 st=202"; !strings.Contains(res, want) {
		t.Errorf("proxied: want %q in\n%s", want, res)
	}
	for _, bad := range []string{"fc_pp_tlv(256)", "fc_pp_tlv(FOO)"} {
		_, err := configParse("frontend f\n bind :0\n http-request set-var(txn.x) " + bad + "\n")
		if err == nil {
			e := New(NewLogger(&syncBuf{}))
			c, _ := configParse("frontend f\n bind 127.0.0.1:0\n http-request set-var(txn.x) " + bad + "\n")
			err = e.Load(c)
		}
		if err == nil || !strings.Contains(err.Error(), "TLV ID") {
			t.Errorf("%s: got %v, want an invalid TLV ID error", bad, err)
		}
	}
}
