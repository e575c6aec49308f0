package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// freeAddr returns a loopback address with a free port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runBinary starts the built luaproxy on cfg and waits until addr accepts.
func runBinary(t *testing.T, cfg, addr string) *exec.Cmd {
	t.Helper()
	return runBinaryEnv(t, cfg, addr, nil)
}

// runBinaryEnv is runBinary with env added to the proxy's environment.
func runBinaryEnv(t *testing.T, cfg, addr string, env []string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "p.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "-f", path)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = &syncBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy did not start: %v\n%s", err, cmd.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// helloOrigin is a keep-alive HTTP origin answering "ok <path>".
func helloOrigin(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "ok "+r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), &hits
}

// Ten thousand keep-alive connections open at once through the proxy:
// every request on each is answered, none is lost.
func TestTenThousandKeepAliveConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const conns = 10000
	origin, _ := helloOrigin(t)
	addr := freeAddr(t)
	runBinary(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout queue 60s
frontend fe
    bind %s
    default_backend be
backend be
    server s1 %s maxconn 256
`, addr, origin), addr)

	cs := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	// Open every connection first, so that all are alive together.
	for i := 0; i < conns; i++ {
		var c net.Conn
		var err error
		for try := 0; try < 50; try++ {
			if c, err = net.DialTimeout("tcp", addr, 10*time.Second); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond) // accept queue full: retry
		}
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		_ = c.SetDeadline(time.Now().Add(3 * time.Minute))
		cs = append(cs, c)
	}
	var failed atomic.Int64
	var firstErr sync.Once
	round := func(n int) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 512)
		for i, c := range cs {
			wg.Add(1)
			sem <- struct{}{}
			go func(i int, c net.Conn) {
				defer wg.Done()
				defer func() { <-sem }()
				path := fmt.Sprintf("/c%d/r%d", i, n)
				_, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
				var body []byte
				if err == nil {
					var res *http.Response
					res, err = http.ReadResponse(bufio.NewReader(c), nil)
					if err == nil {
						body, err = io.ReadAll(res.Body)
					}
				}
				if err != nil || string(body) != "ok "+path {
					failed.Add(1)
					firstErr.Do(func() { t.Errorf("connection %d round %d: %v %q", i, n, err, body) })
				}
			}(i, c)
		}
		wg.Wait()
	}
	round(1)
	round(2)
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed", n, 2*conns)
	}
}

// A server killed under load: its requests are retried and redispatched
// to the other server as "retry-on all-retryable-errors" and "option
// redispatch" ask (no client sees an error), it goes DOWN after
// "fall" checks with HAProxy's log line, and comes back UP after "rise".
func TestServerKilledUnderLoad(t *testing.T) {
	a, hitsA := helloOrigin(t)
	// B is a server we can kill and restart on the same port.
	lnB, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bAddr := lnB.Addr().String()
	var hitsB atomic.Int64
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hitsB.Add(1)
		io.WriteString(w, "ok "+r.URL.Path)
	})
	srvB := &http.Server{Handler: handler}
	go srvB.Serve(lnB)

	p := startProxy(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 300ms
    timeout client 10s
    timeout server 10s
    retries 3
    retry-on all-retryable-errors
    option redispatch
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance roundrobin
    server a %s check inter 100ms rise 2 fall 2
    server b %s check inter 100ms rise 2 fall 2
`, a, bAddr), nil)
	addr := p.addr(0)

	stop := make(chan struct{})
	var failures, done atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: w%2 == 0}}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				res, err := cl.Get(fmt.Sprintf("http://%s/w%d/%d", addr, w, i))
				if err == nil {
					_, _ = io.ReadAll(res.Body)
					res.Body.Close()
				}
				if err != nil || res.StatusCode != 200 {
					failures.Add(1)
					if err == nil {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
					t.Logf("worker %d request %d: %v", w, i, err)
				}
				done.Add(1)
			}
		}(w)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("timed out waiting for %s\nlog:\n%s", what, p.log)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("traffic on both", func() bool { return hitsA.Load() > 20 && hitsB.Load() > 20 })
	srvB.Close() // kill b: its listener and connections
	waitFor("b DOWN", func() bool { return strings.Contains(p.log.String(), "Server be/b is DOWN") })
	before := done.Load()
	waitFor("more traffic", func() bool { return done.Load() > before+50 })

	lnB2, err := net.Listen("tcp", bAddr)
	if err != nil {
		t.Skipf("port of b not reusable: %v", err)
	}
	srvB2 := &http.Server{Handler: handler}
	go srvB2.Serve(lnB2)
	defer srvB2.Close()
	waitFor("b UP", func() bool { return strings.Contains(p.log.String(), "Server be/b is UP") })
	hb := hitsB.Load()
	waitFor("traffic back on b", func() bool { return hitsB.Load() > hb+20 })
	close(stop)
	wg.Wait()
	log := p.log.String()
	if !strings.Contains(log, "Server be/b is DOWN, reason: Layer4 connection problem, info: \"Connection refused\"") ||
		!strings.Contains(log, "1 active and 0 backup servers left.") ||
		!strings.Contains(log, "Server be/b is UP, reason: Layer4 check passed") {
		t.Errorf("log lines:\n%s", log)
	}
	if n := failures.Load(); n != 0 {
		t.Errorf("%d of %d requests failed while b was killed", n, done.Load())
	}
}
