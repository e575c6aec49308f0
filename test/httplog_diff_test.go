//go:build lua53

package test

import (
	"net"
	"regexp"
	"strings"
	"testing"
)

// TestHTTPLogDiff compares "option httplog" and "option tcplog" lines of
// luaproxy and haproxy for the same exchanges, modulo dates, ports,
// process names and which timers are -1.
func TestHTTPLogDiff(t *testing.T) {
	const cfg = `
global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
    log "${LOGADDR}" local0
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    option httplog
    capture request header Host len 20
    capture response header Content-Type len 30
    http-request deny if { path /deny }
    http-request return status 200 content-type text/plain string ok if { path /local }
    http-request redirect location /new code 302 if { path /old }
    use_backend be_none if { path /none }
    default_backend be
listen tcp
    mode tcp
    bind "127.0.0.1:${FE_PORT1}"
    option tcplog
    server s1 "${TCPORIGIN}"
backend be
    server s1 "${ORIGIN}"
backend be_none
    server s1 "${ORIGIN}" disabled
`
	sinks := map[string]*syslogSink{}
	impls := startImplsN(t, cfg, 2, func(impl string) map[string]string {
		sinks[impl] = newSyslogSink(t, "127.0.0.1:")
		tcpOrigin, _ := echoLineOrigin(t)
		return map[string]string{"ORIGIN": namedOrigin(t, "origin"), "TCPORIGIN": tcpOrigin, "LOGADDR": sinks[impl].addr}
	})
	paths := []string{"/ok?a=1", "/deny", "/local", "/old", "/none"}
	timers := regexp.MustCompile(`(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+) `)
	tcpTimers := regexp.MustCompile(` (-?\d+)/(-?\d+)/(-?\d+) `)
	class := func(v string) string {
		if v == "-1" {
			return v
		}
		return "N"
	}
	normalize := func(l string) string {
		l = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(l, "127.0.0.1:P")
		l = regexp.MustCompile(`\[\d\d/\w+/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]`).ReplaceAllString(l, "[D]")
		if strings.Contains(l, " tcp ") || strings.Contains(l, " tcp/") {
			return tcpTimers.ReplaceAllStringFunc(l, func(m string) string {
				s := tcpTimers.FindStringSubmatch(m)
				return " " + class(s[1]) + "/" + class(s[2]) + "/" + class(s[3]) + " "
			})
		}
		return timers.ReplaceAllStringFunc(l, func(m string) string {
			s := timers.FindStringSubmatch(m)
			return class(s[1]) + "/" + class(s[2]) + "/" + class(s[3]) + "/" + class(s[4]) + "/" + class(s[5]) + " "
		})
	}
	results := map[string][]string{}
	for _, im := range impls {
		// haproxy logs startHAProxy's readiness probe (an empty
		// connection) too: one line more, dropped below.
		extra := 0
		if im.name == "haproxy" {
			extra = 1
		}
		sink := sinks[im.name]
		n := extra
		// One exchange at a time, its line awaited, keeps the order.
		next := func(what string) {
			n++
			waitUntil(t, im.name+" log of "+what, func() bool { return len(sink.snapshot()) >= n })
		}
		if c, err := net.Dial("tcp", im.addr); err == nil {
			c.Close() // an empty connection
			next("an empty connection")
		}
		for _, p := range paths {
			c := dialKA(t, im.addr)
			c.get(p)
			c.c.Close()
			next(p)
		}
		if im.lp != nil {
			// the TCP line counts the connections still open (%ac): the
			// HTTP ones end once they read their client's close, after
			// their lines (a slow host, -race, saw one of them there)
			fe := im.lp.e.Frontend("fe")
			waitUntil(t, "the HTTP connections' end", func() bool { return fe.Conns.Load() == 0 })
		}
		lc := dialLine(t, im.addrs[1])
		lc.send("x")
		lc.line(t)
		lc.c.Close()
		next("tcp")
		var norm []string
		for _, l := range sink.snapshot() {
			l = normalize(l)
			if extra > 0 && strings.Contains(l, `"<BADREQ>"`) {
				extra--
				continue
			}
			norm = append(norm, l)
		}
		results[im.name] = norm
	}
	t.Logf("luaproxy:\n%s", strings.Join(results["luaproxy"], "\n"))
	if h, ok := results["haproxy"]; ok {
		if g, w := strings.Join(results["luaproxy"], "\n"), strings.Join(h, "\n"); g != w {
			t.Errorf("logs differ\n--- luaproxy\n%s\n--- haproxy\n%s", g, w)
		}
	}
}
