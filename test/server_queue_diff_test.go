//go:build lua53

package test

import (
	"sort"
	"strings"
	"testing"
	"time"
)

// TestServerQueueDiff: the server a use-server rule or a hash designates
// is the one to use. With it at its maxconn, the next streams wait in its
// own queue while another server is free, are served by it in turn, and
// log their positions in that queue (%sq: 0, then 1, 2), as HAProxy 2.6
// does; "maxqueue" turns one more away with a 503 "SQ".
func TestServerQueueDiff(t *testing.T) {
	for _, c := range []struct{ name, rule string }{
		{"use-server", "    use-server s1 if TRUE\n"},
		{"balance-uri", "    balance uri\n"}, // "/hold" hashes to s1
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := `
global
    log "${LOGADDR}" local0
defaults
    mode http
    log global
    log-format "LOG %HP q=%bq/%sq srv=%s st=%ST ts=%ts"
    timeout client 30s
    timeout server 30s
    timeout connect 10s
    timeout queue 30s
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    default_backend be
backend be
` + c.rule + `    server s1 "${HELD}" maxconn 1 maxqueue 2
    server s2 "${FREE}"
`
			origins := map[string]*holdOrigin{}
			logs := map[string]*syslogSink{}
			impls := startImpls(t, cfg, func(impl string) map[string]string {
				held, free := newHoldOrigin(t), newHoldOrigin(t)
				close(free.release)
				origins[impl] = held
				logs[impl] = newSyslogSink(t, "LOG ")
				return map[string]string{"HELD": held.addr, "FREE": free.addr, "LOGADDR": logs[impl].addr}
			})
			for _, im := range impls {
				o := origins[im.name]
				done := make(chan string, 4)
				get := func() {
					done <- exchange(t, im.addr, "GET /hold HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false, 30*time.Second)
				}
				go get()
				waitUntil(t, "the first request at the held server", func() bool { return len(o.got()) == 1 })
				// three more: two wait in s1's queue, the one that finds
				// it full (maxqueue 2) gets a 503 at once
				go get()
				go get()
				go get()
				if got := <-done; !strings.HasPrefix(got, "HTTP/1.1 503") {
					t.Errorf("%s: the first answer while s1 holds: %q", im.name, got)
				}
				close(o.release)
				for i := 0; i < 3; i++ {
					if got := <-done; !strings.HasPrefix(got, "HTTP/1.1 200") {
						t.Errorf("%s: %q", im.name, got)
					}
				}
				lines := logs[im.name].waitKeys("/hold q=0/0 srv=s1 st=200", "/hold q=0/1 srv=s1 st=200", "/hold q=0/2 srv=s1 st=200", "/hold q=0/0 srv=s1 st=503")
				var held []string // haproxy also logs its readiness probe
				for _, l := range lines {
					if strings.HasPrefix(l, "LOG /hold") {
						held = append(held, l)
					}
				}
				lines = held
				sort.Strings(lines)
				want := []string{
					"LOG /hold q=0/0 srv=s1 st=200 ts=--",
					"LOG /hold q=0/0 srv=s1 st=503 ts=SQ",
					"LOG /hold q=0/1 srv=s1 st=200 ts=--",
					"LOG /hold q=0/2 srv=s1 st=200 ts=--",
				}
				if strings.Join(lines, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s: log lines\n%s\nwant\n%s", im.name, strings.Join(lines, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
}
