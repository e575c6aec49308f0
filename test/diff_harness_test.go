//go:build lua53

package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// impl is one implementation under differential test: luaproxy
// (in-process) or haproxy (a child process).
type impl struct {
	name  string
	addr  string   // the first frontend's address
	addrs []string // every frontend's, for startImplsN
	lp    *proxy   // luaproxy's engine; nil for haproxy
}

// startImpls runs cfg under luaproxy and, when it is installed, under
// HAProxy 2.6. env returns the ${VAR} values of an implementation (its
// origins); FE_PORT is set by startImpls. The frontend must bind
// "127.0.0.1:${FE_PORT}" first.
func startImpls(t *testing.T, cfg string, env func(name string) map[string]string) []*impl {
	t.Helper()
	return startImplsN(t, cfg, 1, env)
}

// startImplsN is startImpls for n listeners, bound in file order to
// ${FE_PORT}, ${FE_PORT1}, ... ${FE_PORT<n-1>}.
func startImplsN(t *testing.T, cfg string, n int, env func(name string) map[string]string) []*impl {
	t.Helper()
	portVar := func(i int) string {
		if i == 0 {
			return "FE_PORT"
		}
		return "FE_PORT" + strconv.Itoa(i)
	}
	var out []*impl
	for k, v := range env("luaproxy") {
		t.Setenv(k, v)
	}
	for i := 0; i < n; i++ {
		t.Setenv(portVar(i), "0")
	}
	lp := startProxy(t, cfg, nil)
	li := &impl{name: "luaproxy", addr: lp.addr(0), lp: lp}
	for i := 0; i < n; i++ {
		li.addrs = append(li.addrs, lp.addr(i))
	}
	out = append(out, li)
	var henv []string
	for k, v := range env("haproxy") {
		henv = append(henv, k+"="+v)
	}
	var haddrs []string
	for i := 0; i < n; i++ {
		p := strconv.Itoa(freePort(t))
		henv = append(henv, portVar(i)+"="+p)
		haddrs = append(haddrs, "127.0.0.1:"+p)
	}
	if addr := startHAProxy(t, cfg, henv, strings.TrimPrefix(haddrs[0], "127.0.0.1:")); addr != "" {
		out = append(out, &impl{name: "haproxy", addr: addr, addrs: haddrs})
	} else {
		t.Log("haproxy not installed: luaproxy is checked alone")
	}
	return out
}

// syslogSink receives UDP syslog messages on loopback and keeps the
// part of each from marker on.
type syslogSink struct {
	addr   string
	marker string
	mu     sync.Mutex
	lines  []string
}

func newSyslogSink(t *testing.T, marker string) *syslogSink {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	s := &syslogSink{addr: pc.LocalAddr().String(), marker: marker}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			msg := strings.TrimRight(string(buf[:n]), "\n")
			if i := strings.Index(msg, marker); i >= 0 {
				s.mu.Lock()
				s.lines = append(s.lines, msg[i:])
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// snapshot returns the lines received so far.
func (s *syslogSink) snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// waitKeys waits until a line starting with marker+key arrived for every
// key, up to a generous deadline, and returns the lines received (the
// caller reports what is missing).
func (s *syslogSink) waitKeys(keys ...string) []string {
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		got := append([]string(nil), s.lines...)
		s.mu.Unlock()
		all := true
		for _, k := range keys {
			found := false
			for _, l := range got {
				if strings.HasPrefix(l, s.marker+k+" ") {
					found = true
					break
				}
			}
			all = all && found
		}
		if all || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countingOrigin is an HTTP/1.1 keep-alive origin that counts the
// connections it accepted and closed. "/ntlm" answers 401 asking for NTLM
// authentication; a path ending in "/slow" waits for release (counted in
// slow meanwhile); anything else answers "ok".
type countingOrigin struct {
	addr             string
	accepted, closed atomic.Int64
	slow             atomic.Int64
	release          chan struct{}
}

func newCountingOrigin(t *testing.T) *countingOrigin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &countingOrigin{addr: ln.Addr().String(), release: make(chan struct{})}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/ntlm":
				w.Header().Set("WWW-Authenticate", "NTLM")
				w.WriteHeader(401)
				return
			case strings.HasSuffix(r.URL.Path, "/delay"):
				time.Sleep(40 * time.Millisecond)
			case strings.HasSuffix(r.URL.Path, "/slow"):
				o.slow.Add(1)
				select {
				case <-o.release:
				case <-time.After(60 * time.Second):
				}
			}
			_, _ = io.WriteString(w, "ok")
		}),
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				o.accepted.Add(1)
			case http.StateClosed, http.StateHijacked:
				o.closed.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return o
}

// kaClient is a keep-alive HTTP/1.1 client connection.
type kaClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialKA(t *testing.T, addr string) *kaClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &kaClient{t: t, c: c, br: bufio.NewReader(c)}
}

// get sends a GET with the extra header lines hdrs and returns the status
// and body ("error: ..." when no response came).
func (k *kaClient) get(path string, hdrs ...string) (int, string) {
	_ = k.c.SetDeadline(time.Now().Add(30 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: t\r\n"
	for _, h := range hdrs {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(k.c, req+"\r\n"); err != nil {
		return 0, "error: " + err.Error()
	}
	res, err := http.ReadResponse(k.br, nil)
	if err != nil {
		return 0, "error: " + err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// diffTable renders name -> value lines for comparing results.
func diffTable[V any](m map[string]V) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, "%s = %v\n", k, m[k])
	}
	return b.String()
}
