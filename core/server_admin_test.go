package core

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

const adminConfig = `
global
    stats socket @SOCK@ level admin
defaults
    mode tcp
    timeout connect 1s
backend be
    server s1 127.0.0.1:9
    server s2 127.0.0.1:9
    server s3 127.0.0.1:9 backup
    server dis 127.0.0.1:9 disabled
backend b2
    server only 127.0.0.1:9
`

// procLines returns the process's log lines without the pid.
func procLines(log string) []string {
	re := regexp.MustCompile(`^\[([A-Z]+)\] +\(\d+\) : `)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		if l != "" {
			out = append(out, re.ReplaceAllString(l, "$1: "))
		}
	}
	return out
}

// Admin transitions log HAProxy 2.6's lines: this sequence and its lines
// were run on haproxy 2.6.12 with the same configuration, and its stderr
// is the expectation.
func TestServerAdminLogLines(t *testing.T) {
	_, log, dir := startCLIEngine(t, adminConfig)
	cmds := []string{
		"set server be/s2 health down", "set server be/s2 state maint", "set server be/s2 state ready",
		"set server be/dis state ready", "set server be/dis state maint", "set server be/s1 state maint",
		"set server be/s2 state maint", "set server b2/only state maint", "set server b2/only state drain",
		"set server b2/only state ready", "set server b2/only state drain", "set server be/s3 state drain",
		"set server be/s1 state ready", "set server be/s1 weight 0", "set server be/s1 weight 3",
		"set server be/s1 health down", "set server be/s1 health up", "set server be/s1 health stopping",
		"set server be/s1 health up", "set server be/s1 state maint", "set server be/s1 state maint",
		"set server be/s1 state drain", "set server be/s1 state drain", "set server be/s1 state ready",
		"set server be/s1 state ready",
	}
	sock := filepath.Join(dir, "admin.sock")
	for _, c := range cmds {
		if got := cliExchange(t, sock, c+"\n"); got != "\n" {
			t.Fatalf("%s: answered %q", c, got)
		}
	}
	want := []string{
		"WARNING: Server be/s2 is DOWN, changed from CLI. 1 active and 1 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
		"WARNING: Server be/s2 was DOWN and now enters maintenance.",
		"WARNING: Server be/s2 is UP/READY (leaving forced maintenance).",
		"WARNING: Server be/dis is UP/READY (leaving forced maintenance).",
		"WARNING: Server be/dis is going DOWN for maintenance. 2 active and 1 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
		"WARNING: Server be/s1 is going DOWN for maintenance. 1 active and 1 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
		"WARNING: Server be/s2 is going DOWN for maintenance. 0 active and 1 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.",
		"WARNING: Server b2/only is going DOWN for maintenance. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
		"ALERT: backend 'b2' has no server available!",
		"WARNING: Server b2/only is UP/DRAIN (leaving forced maintenance).",
		"WARNING: Server b2/only remains in forced drain mode.",
		"WARNING: Server b2/only is UP (leaving forced drain).",
		"WARNING: Server b2/only enters drain state. 0 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
		"ALERT: backend 'b2' has no server available!",
		"WARNING: Backup Server be/s3 enters drain state. 0 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
		"ALERT: backend 'be' has no server available!",
		"WARNING: Server be/s1 is UP/READY (leaving forced maintenance).",
		"ALERT: backend 'be' has no server available!",
		"WARNING: Server be/s1 is DOWN, changed from CLI. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
		"ALERT: backend 'be' has no server available!",
		"WARNING: Server be/s1 is UP, changed from CLI. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
		"WARNING: Server be/s1 is stopping, changed from CLI. 0 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
		"ALERT: backend 'be' has no server available!",
		"WARNING: Server be/s1 is UP, changed from CLI. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
		"WARNING: Server be/s1 is going DOWN for maintenance. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
		"ALERT: backend 'be' has no server available!",
		"WARNING: Server be/s1 is UP/DRAIN (leaving forced maintenance).",
		"WARNING: Server be/s1 remains in forced drain mode.",
		"WARNING: Server be/s1 is UP (leaving forced drain).",
	}
	got := procLines(log.String())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// evLog records events as text, in order.
type evLog struct {
	mu  sync.Mutex
	evs []string
}

func (l *evLog) add(ev *Event) {
	s := ev.Type.String() + " " + ev.ProxyName + "/" + ev.ServerName
	switch {
	case ev.Admin != nil:
		s += fmt.Sprintf(" %v->%v", ev.Admin.OldAdmin.Names(), ev.Admin.NewAdmin.Names())
	case ev.State != nil:
		s += fmt.Sprintf(" %s->%s cause=%q admin=%v", ev.State.OldState, ev.State.NewState, ev.State.Cause, ev.State.Admin)
	}
	if ev.Type&(EventServerAdd|EventServerDel) != 0 {
		s += fmt.Sprintf(" id=%d rid=%d", ev.ServerID, ev.ServerRID)
	}
	l.mu.Lock()
	l.evs = append(l.evs, s)
	l.mu.Unlock()
}

func (l *evLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.evs
	l.evs = nil
	return out
}

// Each admin change publishes SERVER_ADMIN; a change that stops or starts
// the server also publishes SERVER_DOWN/SERVER_UP and SERVER_STATE; add and
// del server publish SERVER_ADD and SERVER_DEL.
func TestServerAdminEvents(t *testing.T) {
	e, _, dir := startCLIEngine(t, adminConfig)
	sock := filepath.Join(dir, "admin.sock")
	rec := &evLog{}
	e.Events.Subscribe(EventServer, nil, rec.add)
	steps := []struct {
		cmd  string
		want []string
	}{
		{"set server be/s1 state maint", []string{
			"SERVER_ADMIN be/s1 []->[MAINT]",
			"SERVER_DOWN be/s1",
			`SERVER_STATE be/s1 RUNNING->STOPPED cause="" admin=true`}},
		{"set server be/s1 state maint", nil},
		{"set server be/s1 state drain", []string{
			"SERVER_ADMIN be/s1 [MAINT]->[MAINT DRAIN]",
			"SERVER_ADMIN be/s1 [MAINT DRAIN]->[DRAIN]",
			"SERVER_UP be/s1",
			`SERVER_STATE be/s1 STOPPED->RUNNING cause="" admin=true`}},
		{"set server be/s1 state ready", []string{"SERVER_ADMIN be/s1 [DRAIN]->[]"}},
		{"set server be/s2 health down", []string{
			"SERVER_DOWN be/s2",
			`SERVER_STATE be/s2 RUNNING->STOPPED cause="CLI" admin=false`}},
		{"set server be/s2 health stopping", []string{
			"SERVER_UP be/s2",
			`SERVER_STATE be/s2 STOPPED->STOPPING cause="CLI" admin=false`}},
		{"set server be/s2 health up", []string{
			`SERVER_STATE be/s2 STOPPING->RUNNING cause="CLI" admin=false`}},
		{"set server be/s2 weight 0", nil},
		{"enable server be/dis", []string{
			"SERVER_ADMIN be/dis [CMAINT]->[]",
			"SERVER_UP be/dis",
			`SERVER_STATE be/dis STOPPED->RUNNING cause="" admin=true`}},
		{"add server be/new 127.0.0.1:9", []string{"SERVER_ADD be/new id=5 rid=0"}},
		{"set server be/new state ready", []string{
			"SERVER_ADMIN be/new [MAINT]->[]",
			"SERVER_UP be/new",
			`SERVER_STATE be/new STOPPED->RUNNING cause="" admin=true`}},
		{"disable server be/new", []string{
			"SERVER_ADMIN be/new []->[MAINT]",
			"SERVER_DOWN be/new",
			`SERVER_STATE be/new RUNNING->STOPPED cause="" admin=true`}},
		{"del server be/new", []string{"SERVER_DEL be/new id=5 rid=0"}},
		{"add server be/new 127.0.0.1:9", []string{"SERVER_ADD be/new id=5 rid=1"}},
	}
	for _, st := range steps {
		cliExchange(t, sock, st.cmd+"\n")
		if got := rec.take(); strings.Join(got, "\n") != strings.Join(st.want, "\n") {
			t.Errorf("%s: events\n%s\nwant\n%s", st.cmd, strings.Join(got, "\n"), strings.Join(st.want, "\n"))
		}
	}
}

// The answers of the server commands, as HAProxy 2.6.12 gives them (each
// answer followed by the empty line HAProxy adds, or not, when HAProxy's
// message has no newline of its own).
func TestCLIServerAnswers(t *testing.T) {
	e, log, dir := startCLIEngine(t, cliBaseConfig+`
backend hc
    server c1 127.0.0.1:9 check inter 1h
`)
	sock := filepath.Join(dir, "admin.sock")
	cases := []struct{ in, want string }{
		{"get weight be/s2", "5 (initial 5)\n\n"},
		{"set weight be/s2 10;get weight be/s2", "\n10 (initial 5)\n\n"},
		{"set server be/s2 weight 50%;get weight be/s2", "\n2 (initial 5)\n\n"},
		{"set server be/s2 weight 300", "Absolute weight can only be between 0 and 256 inclusive.\n\n"},
		{"set server be/s2 weight -1", "Absolute weight can only be between 0 and 256 inclusive.\n\n"},
		{"set server be/s2 weight abc", "Empty weight string empty or preceded by garbage\n"},
		{"set server be/s2 weight 5x", "Trailing garbage in weight string\n"},
		{"set server be/s2 weight -5%", "Relative weight must be positive.\n\n"},
		{"set server be/s2 weight", "Require <weight> or <weight%>.\n\n"},
		{"set weight be/s2", "Require <weight> or <weight%>.\n\n"},
		{"set server st/a weight 5", "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n\n"},
		{"set server st/a weight 0;set server st/a weight 100%;get weight st/a", "\n\n3 (initial 3)\n\n"},
		{"get weight be/nope", "No such server.\n\n"},
		{"get weight nope/s1", "No such backend.\n\n"},
		{"get weight be", "Require 'backend/server'.\n\n"},
		{"get weight #3/#2", "2 (initial 5)\n\n"},
		{"set server be/s1 state bogus", "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"},
		{"set server be/s1 state", "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"},
		{"set server be/s1", "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n\n"},
		{"set server be/s1 health bogus", "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n\n"},
		{"set server be/nope state ready", "No such server.\n\n"},
		{"set server nope/x state ready", "No such backend.\n\n"},
		{"set server be state ready", "Require 'backend/server'.\n\n"},
		{"disable server be", "Require 'backend/server'.\n\n"},
		{"enable server be/nope", "No such server.\n\n"},
		{"set server be/s1 addr 127.0.0.2", "IP changed from '127.0.0.1' to '127.0.0.2' by 'stats socket command'\n\n"},
		{"set server be/s1 addr 127.0.0.1 port 41782", "IP changed from '127.0.0.2' to '127.0.0.1', port changed from '9' to '41782' by 'stats socket command'\n\n"},
		{"set server be/s1 addr 127.0.0.1", "no need to change the addr by 'stats socket command'\n\n"},
		{"set server be/s1 addr 127.0.0.1 port 41782", "no need to change the addr, no need to change the port by 'stats socket command'\n\n"},
		{"set server be/s1 addr 127.0.0.1 port abc", "no need to change the addr, problem converting port 'abc' to an int by 'stats socket command'\n\n"},
		{"set server be/s1 addr 127.0.0.1 port", "no need to change the addr, problem converting port '' to an int by 'stats socket command'\n\n"},
		{"set server be/s1 addr localhost", "Invalid addr 'localhost' by 'stats socket command'\n\n"},
		{"set server be/s1 addr", "set server <b>/<s> addr requires an address and optionally a port.\n\n"},
		{"set server be/s1 addr ::1;show servers state be", "IP changed from '127.0.0.1' to '::1' by 'stats socket command'\n\n"},
		{"set server be/s1 check-port 1", "health checks are not enabled on this server\n"},
		{"set server hc/c1 check-port", "set server <b>/<s> check-port requires a port.\n\n"},
		{"set server hc/c1 check-port abc", "provided port is not an integer\n"},
		{"set server hc/c1 check-port 99999", "provided port is invalid\n"},
		{"set server hc/c1 check-port 41781", "\n"},
		{"set server hc/c1 check-addr", "set server <b>/<s> check-addr requires an address and optionally a port.\n\n"},
		{"set server hc/c1 check-addr bogus", "invalid addr 'bogus'\n"},
		{"set server hc/c1 check-addr 127.0.0.1 port abc", "provided port is not an integer\n"},
		{"set server hc/c1 check-addr 127.0.0.1 port 70000", "provided port is invalid\n"},
		{"set server hc/c1 check-addr 127.0.0.2 port 41783", "\n"},
		{"set maxconn server be/s1 10", "\n"},
		{"set maxconn server be/s1", "Require <maxconn>.\n\n"},
		{"set maxconn server be/s1 abc", "maxconn string empty or preceded by garbage\n"},
		{"set maxconn server be/nope 10", "No such server.\n\n"},
		{"set maxconn server be", "Require 'backend/server'.\n\n"},
		{"shutdown sessions server be/s1", "\n"},
		{"shutdown sessions server be/nope", "No such server.\n\n"},
		{"enable health be/s2", "Health check was not configured on this server, cannot enable.\n\n"},
		{"enable health be/nope", "No such server.\n\n"},
		{"disable health hc/c1;enable health hc/c1", "\n\n"},
		{"add server be/s4 127.0.0.1:41782", "New server registered.\n\n"},
		{"add server be/s4 127.0.0.1:41782", "Already exists a server with the same name in backend.\n\n"},
		{"add server be/s5 127.0.0.1:41782 bogus", "unknown keyword 'bogus'.\n\n"},
		{"add server be/s7", "'server' expects <name> and <addr>[:<port>] as arguments.\n\n"},
		{"add server be", "Require 'backend/server'.\n"},
		{"add server nope/s1 1.2.3.4:5", "No such backend.\n"},
		{"add server st/x 127.0.0.1:41782", "Backend must use a dynamic load balancing to support dynamic servers.\n"},
		{"add server be/a2 127.0.0.1:41781 id 7", "New server registered.\n\n"},
		{"add server be/a3 127.0.0.1:41781 id 7", "'id' : custom id 7 already used at (null):0 ('server a2').\n\n"},
		{"del server be/s4", "Server deleted.\n"},
		{"del server be/s4", "No such server.\n"},
		{"del server be/s1", "Only servers in maintenance mode can be deleted.\n"},
		{"del server nope/x", "No such backend.\n"},
		{"del server be", "Require 'backend/server'.\n"},
		{"disable frontend", "A frontend name is expected.\n\n"},
		{"disable frontend nope", "No such frontend.\n\n"},
		{"disable frontend be", "No such frontend.\n\n"},
		{"disable frontend fe", "\n"},
		{"disable frontend fe", "All sockets are already disabled.\n\n"},
		{"enable frontend fe", "\n"},
		{"enable frontend fe", "All sockets are already enabled.\n\n"},
		{"get var", "Missing process-wide variable identifier.\n\n"},
		{"get var proc.nope", "Variable not found.\n\n"},
		{"get var foo", "Variable not found.\n\n"},
		{"show servers state nope", "Can't find backend.\n\n"},
	}
	for _, tc := range cases {
		got := cliExchange(t, sock, tc.in+"\n")
		if tc.in == "set server be/s1 addr ::1;show servers state be" {
			if !strings.HasPrefix(got, tc.want) || !strings.Contains(got, "\n3 be 1 s1 ::1 2 0 1 1 ") {
				t.Errorf("%q: got %q", tc.in, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("answer to %q:\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	if a := e.Backend("hc").FindServer("c1").Address(); a.Address != "127.0.0.1:9" {
		t.Errorf("c1 address changed: %v", a)
	}
	if n, a, p := e.Backend("hc").FindServer("c1").checkSettings(); n.Address != "127.0.0.1:9" || a != "127.0.0.2" || p != 41783 {
		t.Errorf("check target %v %s %d", n, a, p)
	}
	if s := e.Backend("be").FindServer("s1"); s.MaxConn != 10 {
		t.Errorf("maxconn %d", s.MaxConn)
	}
	got := procLines(log.String())
	for _, want := range []string{
		"NOTICE: CLI : 'server be/s4' : New server registered.",
		"ALERT: CLI : 'server be/s4' : Already exists a server with the same name in backend.",
		"ALERT: CLI : 'server be/s5' : unknown keyword 'bogus'.",
		"ALERT: CLI : 'server' expects <name> and <addr>[:<port>] as arguments.",
		"NOTICE: CLI : Server deleted.",
		"WARNING: Paused frontend fe.",
		"WARNING: Resumed frontend fe.",
	} {
		if !contains(got, want) {
			t.Errorf("log has no %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A server added at run time serves once ready and checked; deleted, it
// stops its checks, load balancing no longer picks it, and its id is free
// again (HAProxy takes the lowest free id).
func TestAdminAddDelServerLifecycle(t *testing.T) {
	srv := newTCPServer(t, "dyn")
	e, _, dir := startCLIEngine(t, `
global
    stats socket @SOCK@ level admin
backend be
    timeout connect 1s
    server s1 127.0.0.1:9
`)
	sock := filepath.Join(dir, "admin.sock")
	px := e.Backend("be")
	for _, c := range []string{
		"add server be/dyn " + srv.addr + " check inter 20ms",
		"enable health be/dyn",
		"set server be/dyn state ready",
		"set server be/s1 state maint",
	} {
		if got := cliExchange(t, sock, c+"\n"); got != "\n" && got != "New server registered.\n\n" {
			t.Fatalf("%s: %q", c, got)
		}
	}
	dyn := px.FindServer("dyn")
	if dyn == nil || dyn.ID != 2 || !dyn.CheckRunning() {
		t.Fatalf("dyn: %+v", dyn)
	}
	waitFor(t, "a check of dyn", func() bool { return dyn.LastCheck() != nil && dyn.LastCheck().Passed })
	if s, _, _ := px.pickServer(nil, nil); s != dyn {
		t.Fatalf("picked %v, want dyn", s)
	}
	for _, c := range []string{"set server be/dyn state maint", "del server be/dyn"} {
		cliExchange(t, sock, c+"\n")
	}
	if !dyn.Deleted() || dyn.CheckRunning() || px.FindServer("dyn") != nil {
		t.Fatalf("dyn after del: deleted=%v checks=%v", dyn.Deleted(), dyn.CheckRunning())
	}
	cliExchange(t, sock, "set server be/s1 state ready\n")
	for range 10 {
		if s, _, _ := px.pickServer(nil, nil); s != px.FindServer("s1") {
			t.Fatalf("picked %v after del", s)
		}
	}
	// the checks really stopped: no new connection reaches the server
	hits := srv.count()
	cliExchange(t, sock, "show info\n") // some time passes, 20ms checks would have run
	if got := cliExchange(t, sock, "add server be/again 127.0.0.1:9;show servers state be\n"); !strings.Contains(got, "\n2 be 2 again ") {
		t.Errorf("the free id 2 is not reused: %q", got)
	}
	if srv.count() > hits+1 {
		t.Errorf("checks went on after del server: %d -> %d", hits, srv.count())
	}
}
