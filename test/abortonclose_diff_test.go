//go:build lua53

package test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// holdOrigin is an HTTP/1.1 origin that records the paths it received.
// "/hold" is answered once release is closed, "/slow" never (the
// connection is kept until the proxy resets it or its deadline), "/plain"
// after 200 ms, anything else at once. Answers are "ok" with
// Connection: close.
type holdOrigin struct {
	addr    string
	release chan struct{}
	mu      sync.Mutex
	paths   []string
}

func newHoldOrigin(t *testing.T) *holdOrigin {
	t.Helper()
	o := &holdOrigin{release: make(chan struct{})}
	o.addr = serveConns(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if l == "\r\n" {
				break
			}
		}
		path := strings.Fields(line + " x")[1]
		o.mu.Lock()
		o.paths = append(o.paths, path)
		o.mu.Unlock()
		switch {
		case strings.Contains(path, "/hold"):
			select {
			case <-o.release:
			case <-time.After(30 * time.Second):
			}
		case strings.Contains(path, "/slow"):
			// until the proxy resets the connection (a FIN
			// only half-closes it)
			var b [1]byte
			for {
				if _, err := c.Read(b[:]); err == io.EOF {
					time.Sleep(10 * time.Millisecond)
				} else if err != nil {
					return
				}
			}
		case strings.Contains(path, "/plain"):
			time.Sleep(200 * time.Millisecond)
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	})
	return o
}

// got returns the paths received so far.
func (o *holdOrigin) got() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.paths...)
}

// waitPath waits until the origin received path.
func (o *holdOrigin) waitPath(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, p := range o.got() {
			if p == path {
				return
			}
		}
	}
	t.Fatalf("the origin did not get %s (got %v)", path, o.got())
}

// TestAbortOnCloseDiff: with "option abortonclose", a
// client that shuts its side (a FIN, not a reset) while its request
// waits in the queue of a server at maxconn 1 has it aborted: the
// server never gets it, the client gets nothing, the log says CQ. Once
// the request went to the server, a FIN before the response head (with
// the request, or later) ends it as HAProxy 2.6's
// http_wait_for_response does: a 400, CH, the server connection reset.
// HAProxy 2.6 needs the option on both the frontend (which has it only
// from its defaults section) and the backend: with either alone, a
// half-closed client is served. luaproxy and
// HAProxy 2.6 must answer and log alike.
func TestAbortOnCloseDiff(t *testing.T) {
	cfg := `
defaults
   mode http
   timeout client 20s
   timeout server 20s
   timeout connect 5s
   timeout queue 20s
   log "${LOGADDR}" local0
   log-format "LF %HP %ST %B %tsc %Tw/%Tc/%Tr"
frontend noabort
   bind "127.0.0.1:${FE_PORT}"
   default_backend be
defaults
   mode http
   timeout client 20s
   timeout server 20s
   timeout connect 5s
   timeout queue 20s
   log "${LOGADDR}" local0
   log-format "LF %HP %ST %B %tsc %Tw/%Tc/%Tr"
   option abortonclose
frontend fe
   bind "127.0.0.1:${FE_PORT1}"
   use_backend plain if { path_beg /plain }
   use_backend slow if { path_beg /slow }
   default_backend be
backend be
   server s1 "${ORIGIN}" maxconn 1
backend slow
   server s1 "${ORIGIN}"
backend plain
   no option abortonclose
   server s1 "${ORIGIN}" maxconn 1
`
	sinks := map[string]*syslogSink{}
	origins := map[string]*holdOrigin{}
	impls := startImplsN(t, cfg, 2, func(impl string) map[string]string {
		sinks[impl] = newSyslogSink(t, "LF ")
		origins[impl] = newHoldOrigin(t)
		return map[string]string{"LOGADDR": sinks[impl].addr, "ORIGIN": origins[impl].addr}
	})
	timers := regexp.MustCompile(`(-?\d+)/(-?\d+)/(-?\d+)$`)
	class := func(v string) string {
		if v == "-1" {
			return v
		}
		return "N"
	}
	// send sends a request on a new connection, shuts the client's side
	// after before returns (at once when nil) and returns what came
	// back.
	send := func(addr, path string, before func()) string {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if before != nil {
			before()
		}
		_ = c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		return string(b)
	}
	status := func(res string) string {
		if res == "" {
			return "nothing"
		}
		return strings.SplitN(res, "\r\n", 2)[0]
	}
	got := map[string]string{}
	for _, im := range impls {
		o := origins[im.name]
		var b strings.Builder
		// /hold takes the server's only slot; /queued waits, then its
		// client shuts: aborted in the queue
		held := make(chan string, 1)
		go func() {
			c, err := net.DialTimeout("tcp", im.addrs[1], 10*time.Second)
			if err != nil {
				held <- err.Error()
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			_, _ = io.WriteString(c, "GET /hold HTTP/1.1\r\nHost: h\r\n\r\n")
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				held <- ""
				return
			}
			res.Body.Close()
			held <- res.Proto + " " + res.Status + "\r\n"
		}()
		o.waitPath(t, "/hold")
		b.WriteString("/queued: " + status(send(im.addrs[1], "/queued", func() { time.Sleep(300 * time.Millisecond) })) + "\n")
		sinks[im.name].waitKeys("/queued")
		close(o.release)
		b.WriteString("/hold: " + status(<-held) + "\n")
		// the FIN comes with the request: the server gets it, then the
		// client a 400
		b.WriteString("/slow: " + status(send(im.addrs[1], "/slow", nil)) + "\n")
		// the FIN comes while the server works on the request
		b.WriteString("/slow2: " + status(send(im.addrs[1], "/slow2", func() { o.waitPath(t, "/slow2") })) + "\n")
		// with the option on one side only, a half-closed client is
		// served: the frontend's (plain) or the backend's (noabort, a
		// frontend whose defaults section does not have it)
		b.WriteString("/plain: " + status(send(im.addrs[1], "/plain", nil)) + "\n")
		// (HAProxy's frontend without it may still see a FIN that comes
		// with the request: this one comes later)
		b.WriteString("/plain2: " + status(send(im.addrs[0], "/plain2", func() { o.waitPath(t, "/plain2") })) + "\n")
		lines := sinks[im.name].waitKeys("/queued", "/hold", "/slow", "/slow2", "/plain", "/plain2")
		sort.Strings(lines) // a stream's line may leave after the next one's
		for _, l := range lines {
			if strings.Contains(l, "<BADREQ>") {
				continue // haproxy's readiness probe (startHAProxy)
			}
			b.WriteString(timers.ReplaceAllStringFunc(l, func(m string) string {
				p := timers.FindStringSubmatch(m)
				return class(p[1]) + "/" + class(p[2]) + "/" + class(p[3])
			}) + "\n")
		}
		// the origin never got /queued; it got /slow, unless the reset
		// that aborts it came first (not checked)
		var paths []string
		for _, p := range o.got() {
			if p != "/slow" {
				paths = append(paths, p)
			}
		}
		b.WriteString("origin got: " + strings.Join(paths, " ") + "\n")
		got[im.name] = b.String()
	}
	want := `/queued: nothing
/hold: HTTP/1.1 200 OK
/slow: HTTP/1.1 400 Bad request
/slow2: HTTP/1.1 400 Bad request
/plain: HTTP/1.1 200 OK
/plain2: HTTP/1.1 200 OK
LF /hold 200 51 ---- N/N/N
LF /plain 200 51 ---- N/N/N
LF /plain2 200 51 ---- N/N/N
LF /queued -1 0 CQ-- N/-1/-1
LF /slow 400 206 CH-- N/N/-1
LF /slow2 400 206 CH-- N/N/-1
origin got: /hold /slow2 /plain /plain2
`
	for name, g := range got {
		if g != want {
			t.Errorf("%s:\n%s\nwant:\n%s", name, g, want)
		}
	}
	if h, ok := got["haproxy"]; ok && h != got["luaproxy"] {
		t.Errorf("luaproxy and haproxy differ:\n--- luaproxy\n%s--- haproxy\n%s", got["luaproxy"], h)
	}
}

// TestAbortOnCloseTCPDiff: in TCP mode HAProxy 2.6 aborts a queued
// stream whose client shut its side (CQ, the server never sees it) when
// the client sent nothing, and, with "option abortonclose" on the
// backend alone, whatever it sent; without the option, what it sent is
// forwarded once a slot frees. The servers are at maxconn 1, held by
// another connection meanwhile.
func TestAbortOnCloseTCPDiff(t *testing.T) {
	cfg := `
defaults
   mode tcp
   timeout client 20s
   timeout server 20s
   timeout connect 5s
   timeout queue 20s
   log "${LOGADDR}" local0
   log-format "LT %ft %b %ts %Tc B=%B U=%U"
frontend probe
   # haproxy's readiness probe (startHAProxy) comes here, unlogged
   bind "127.0.0.1:${FE_PORT}"
   tcp-request connection reject
   default_backend keep
frontend abort
   bind "127.0.0.1:${FE_PORT1}"
   default_backend abort
frontend keep
   bind "127.0.0.1:${FE_PORT2}"
   default_backend keep
backend abort
   option abortonclose
   server s1 "${ORIGIN}" maxconn 1
backend keep
   server s1 "${ORIGIN}" maxconn 1
`
	sinks := map[string]*syslogSink{}
	counts := map[string]func() int64{}
	impls := startImplsN(t, cfg, 3, func(impl string) map[string]string {
		sinks[impl] = newSyslogSink(t, "LT ")
		o, n := echoLineOrigin(t)
		counts[impl] = n.Load
		return map[string]string{"LOGADDR": sinks[impl].addr, "ORIGIN": o}
	})
	// queued connects while a held connection has the server's slot,
	// sends data, shuts its side after 300 ms, then the held connection
	// ends; it returns what the queued one got
	queued := func(addr, data string) string {
		held := dialLine(t, addr)
		held.send("hold")
		if l := held.line(t); l != "hold" {
			t.Fatalf("held connection got %q", l)
		}
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if data != "" {
			_, _ = io.WriteString(c, data)
		}
		time.Sleep(300 * time.Millisecond)
		_ = c.(*net.TCPConn).CloseWrite()
		time.Sleep(100 * time.Millisecond)
		held.c.Close()
		b, _ := io.ReadAll(c)
		return strings.TrimSpace(string(b))
	}
	got := map[string]string{}
	for _, im := range impls {
		var b strings.Builder
		b.WriteString("abort, empty: " + queued(im.addrs[1], "") + "\n")
		b.WriteString("abort, data: " + queued(im.addrs[1], "hello\n") + "\n")
		b.WriteString("keep, empty: " + queued(im.addrs[2], "") + "\n")
		b.WriteString("keep, data: " + queued(im.addrs[2], "hello\n") + "\n")
		deadline := time.Now().Add(30 * time.Second)
		var lines []string
		for {
			lines = sinks[im.name].snapshot()
			if len(lines) >= 8 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // nothing more may come
		lines = nil
		for _, l := range sinks[im.name].snapshot() {
			lines = append(lines, regexp.MustCompile(` \d+ B=`).ReplaceAllString(l, " N B="))
		}
		sort.Strings(lines)
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
		// the held connections and the one served
		b.WriteString("server connections: " + strconv.FormatInt(counts[im.name](), 10) + "\n")
		got[im.name] = b.String()
	}
	want := `abort, empty: 
abort, data: 
keep, empty: 
keep, data: hello
LT abort abort -- N B=5 U=5
LT abort abort -- N B=5 U=5
LT abort abort CQ -1 B=0 U=0
LT abort abort CQ -1 B=0 U=6
LT keep keep -- N B=5 U=5
LT keep keep -- N B=5 U=5
LT keep keep -- N B=6 U=6
LT keep keep CQ -1 B=0 U=0
server connections: 5
`
	for name, g := range got {
		if g != want {
			t.Errorf("%s:\n%s\nwant:\n%s", name, g, want)
		}
	}
	if h, ok := got["haproxy"]; ok && h != got["luaproxy"] {
		t.Errorf("luaproxy and haproxy differ:\n--- luaproxy\n%s--- haproxy\n%s", got["luaproxy"], h)
	}
}
