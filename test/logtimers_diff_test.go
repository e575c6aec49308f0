//go:build lua53

package test

import (
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// timerRe matches a timer field of the log lines below: name=value.
var timerRe = regexp.MustCompile(`\b(T[a-zA-Z]+)=(-?[0-9]+)`)

// timerClasses keeps of each timer whether it is -1 ("not reached") or a
// time (N), and checks that a time is not negative.
func timerClasses(t *testing.T, line string) string {
	return timerRe.ReplaceAllStringFunc(line, func(m string) string {
		sub := timerRe.FindStringSubmatch(m)
		v, _ := strconv.Atoi(sub[2])
		switch {
		case v == -1:
			return m
		case v < 0:
			t.Errorf("negative timer in %q", line)
		}
		return sub[1] + "=N"
	})
}

const timersFmt = `Th=%Th Ti=%Ti TR=%TR Tq=%Tq Tw=%Tw Tc=%Tc Tr=%Tr Td=%Td Ta=%Ta Tt=%Tt Tu=%Tu`

// tcpTimersFmt has the timers HAProxy allows in TCP mode.
const tcpTimersFmt = `Th=%Th Tw=%Tw Tc=%Tc Td=%Td Tt=%Tt`

// TestLogTimersDiff checks the %T timers of HTTP and TCP logs: which are
// -1 (step not reached) per scenario, as HAProxy prints them, and that
// they add up (Tt = Th+Ti+TR+Tw+Tc+Tr+Td over the valid ones).
func TestLogTimersDiff(t *testing.T) {
	cfg := `
global
    nbthread 1
    stats socket "${SOCK}" level admin
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 5s
    timeout queue 30s
    log "${LOGADDR}" local0
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    log-format "LOG %HP %ST %ts ` + timersFmt + ` bq=%bq"
    http-request return status 200 content-type text/plain string ok if { path /local }
    http-request deny if { path /deny }
    use_backend be_refused if { path_beg /refused }
    use_backend be_queue if { path_beg /queue }
    use_backend be_qtimeout if { path_beg /qt }
    use_backend be_nosrv if { path_beg /nosrv }
    use_backend be_timeout if { path_beg /timeout }
    default_backend be
listen partial
    bind "127.0.0.1:${FE_PORT1}"
    timeout http-request 100ms
    log-format "LOG partial%HP %ST %ts ` + timersFmt + `"
    server s1 "${ORIGIN}"
listen empty
    bind "127.0.0.1:${FE_PORT2}"
    timeout http-request 100ms
    log-format "LOG empty%HP %ST %ts ` + timersFmt + `"
    server s1 "${ORIGIN}"
listen tcp
    mode tcp
    bind "127.0.0.1:${FE_PORT3}"
    log-format "LOG tcp %ts ` + tcpTimersFmt + `"
    server s1 "${TCPORIGIN}"
listen tcp_refused
    mode tcp
    bind "127.0.0.1:${FE_PORT4}"
    log-format "LOG tcp-refused %ts ` + tcpTimersFmt + `"
    retries 0
    server s1 "${REFUSED}"
backend be
    server s1 "${ORIGIN}"
backend be_refused
    retries 0
    server s1 "${REFUSED}"
backend be_queue
    server s1 "${ORIGIN}" maxconn 1
backend be_qtimeout
    timeout queue 10ms
    server s1 "${ORIGIN}" maxconn 1
backend be_nosrv
    server s1 "${ORIGIN}" disabled
backend be_timeout
    timeout server 50ms
    server s1 "${ORIGIN}"
`
	type rig struct {
		o    *countingOrigin
		logs *syslogSink
		sock string
	}
	rigs := map[string]*rig{}
	dir := t.TempDir()
	impls := startImplsN(t, cfg, 5, func(impl string) map[string]string {
		r := &rig{o: newCountingOrigin(t), logs: newSyslogSink(t, "LOG "), sock: filepath.Join(dir, impl+".sock")}
		rigs[impl] = r
		tcpOrigin, _ := echoLineOrigin(t)
		return map[string]string{"ORIGIN": r.o.addr, "TCPORIGIN": tcpOrigin, "LOGADDR": r.logs.addr,
			"REFUSED": "127.0.0.1:" + strconv.Itoa(freePort(t)), "SOCK": r.sock}
	})
	results := map[string]map[string]string{}
	for _, im := range impls {
		r := rigs[im.name]
		// Simple exchanges, each on its own connection.
		for _, p := range []string{"/ok", "/local", "/deny", "/refused", "/nosrv"} {
			c := dialKA(t, im.addr)
			c.get(p)
			c.c.Close()
		}
		// Two requests on one connection: the second has no handshake.
		c := dialKA(t, im.addr)
		c.get("/ka1")
		c.get("/ka2")
		c.c.Close()
		// A malformed request.
		exchange(t, im.addr, "GET /bad HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", false, 30e9)
		// A server timeout (the origin holds /timeout/slow until released).
		c = dialKA(t, im.addr)
		c.get("/timeout/slow")
		c.c.Close()
		// A queue: /queue/slow holds the only slot, /queue/wait waits for it.
		holder := dialKA(t, im.addr)
		held := make(chan struct{})
		go func() { holder.get("/queue/slow"); close(held) }()
		waitUntil(t, "the slot holder at the origin", func() bool { return r.o.slow.Load() == 2 })
		waiter := dialKA(t, im.addr)
		waited := make(chan struct{})
		go func() { waiter.get("/queue/wait"); close(waited) }()
		waitUntil(t, "a queued request", func() bool { return backendQueue(t, r.sock, "be_queue") == 1 })
		// The queue of be_qtimeout times out.
		qholder := dialKA(t, im.addr)
		go func() { qholder.get("/qt/slow") }()
		waitUntil(t, "the qt slot holder at the origin", func() bool { return r.o.slow.Load() == 3 })
		c = dialKA(t, im.addr)
		if st, _ := c.get("/qt/wait"); st != 503 {
			t.Errorf("%s: queue timeout answered %d", im.name, st)
		}
		c.c.Close()
		close(r.o.release)
		<-held
		<-waited
		// TCP: a session, and a refused server connection.
		lc := dialLine(t, im.addrs[3])
		lc.send("x")
		lc.line(t)
		lc.c.Close()
		rc, err := net.Dial("tcp", im.addrs[4])
		if err == nil {
			_, _ = rc.Read(make([]byte, 1))
			rc.Close()
		}
		// Timeouts reading a partial request, and an empty connection.
		exchange(t, im.addrs[1], "GET / HTTP/1.1\r\n", false, 30e9)
		exchange(t, im.addrs[2], "", false, 30e9)
		lines := r.logs.waitKeys("/ok", "/local", "/deny", "/refused", "/nosrv", "/ka1", "/ka2",
			"/timeout/slow", "/queue/slow", "/queue/wait", "/qt/slow", "/qt/wait", "tcp", "tcp-refused",
			"<BADREQ>", "partial<BADREQ>", "empty<BADREQ>")
		res := map[string]string{}
		for _, l := range lines {
			f := strings.Fields(l)
			checkTimerSums(t, im.name, l)
			res[f[1]] = timerClasses(t, l)
		}
		results[im.name] = res
	}
	for _, im := range impls {
		t.Logf("%s:\n%s", im.name, diffTable(results[im.name]))
	}
	lp := results["luaproxy"]
	for _, want := range []string{
		"LOG /ok 200 -- Th=N Ti=N TR=N Tq=N Tw=N Tc=N Tr=N Td=N Ta=N Tt=N Tu=N bq=0",
		"LOG /local 200 LR Th=N Ti=N TR=N Tq=N Tw=-1 Tc=-1 Tr=-1 Td=-1 Ta=N Tt=N Tu=N bq=0",
		"LOG /refused 503 SC Th=N Ti=N TR=N Tq=N Tw=N Tc=-1 Tr=-1 Td=-1 Ta=N Tt=N Tu=N bq=0",
		"LOG /queue/wait 200 -- Th=N Ti=N TR=N Tq=N Tw=N Tc=N Tr=N Td=N Ta=N Tt=N Tu=N bq=1",
		"LOG /qt/wait 503 sQ Th=N Ti=N TR=N Tq=N Tw=N Tc=-1 Tr=-1 Td=-1 Ta=N Tt=N Tu=N bq=1",
		"LOG /timeout/slow 504 sH Th=N Ti=N TR=N Tq=N Tw=N Tc=N Tr=-1 Td=-1 Ta=N Tt=N Tu=N bq=0",
	} {
		if got := lp[strings.Fields(want)[1]]; got != want {
			t.Errorf("luaproxy logged\n  %s\nwant\n  %s", got, want)
		}
	}
	if h, ok := results["haproxy"]; ok {
		if g, w := diffTable(lp), diffTable(h); g != w {
			t.Errorf("log timers differ\n--- luaproxy\n%s--- haproxy\n%s", g, w)
		}
	}
}

// checkTimerSums checks, for an HTTP transaction that went through every
// step, Tt = Th+Ti+TR+Tw+Tc+Tr+Td, Tq = Th+Ti+TR and Ta = Tt-Th-Ti. (When a
// step is missing the time spent waiting for it counts in none: HAProxy's
// 504 shows Tr=-1 Td=-1 with Tt the server timeout.)
func checkTimerSums(t *testing.T, who, line string) {
	if strings.HasPrefix(line, "LOG tcp") || strings.Contains(line, "=-1") {
		return
	}
	v := map[string]int{}
	for _, m := range timerRe.FindAllStringSubmatch(line, -1) {
		v[m[1]], _ = strconv.Atoi(m[2])
	}
	if v["Tt"] != v["Th"]+v["Ti"]+v["TR"]+v["Tw"]+v["Tc"]+v["Tr"]+v["Td"] ||
		v["Tq"] != v["Th"]+v["Ti"]+v["TR"] || v["Ta"] != v["Tt"]-v["Th"]-v["Ti"] {
		t.Errorf("%s: timers do not add up: %s", who, line)
	}
}

// backendQueue returns a backend's current queue (qcur) from "show stat"
// on the stats socket.
func backendQueue(t *testing.T, sock, be string) int {
	out := unixExchange(t, sock, "show stat")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Split(l, ",")
		if len(f) > 2 && f[0] == be && f[1] == "BACKEND" {
			n, _ := strconv.Atoi(f[2])
			return n
		}
	}
	return -1
}
