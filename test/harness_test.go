//go:build lua53

package test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"luaproxy/core"
	"luaproxy/core/config"
	_ "luaproxy/luabind"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proxy is a running engine.
type proxy struct {
	e   *core.Engine
	log *syncBuffer
	dir string // the directory of the files, "{dir}" in the configuration
}

// startProxy writes files (name -> content) into a temporary directory,
// replaces "{dir}" in the configuration by that directory, and starts it.
// Binds should use 127.0.0.1:0; addr(i) gives the i-th listener's address.
// Benchmarks pass their *testing.B: the engine stops and the directory
// goes when that run ends.
func startProxy(t testing.TB, cfg string, files map[string]string) *proxy {
	t.Helper()
	return startProxyWith(t, cfg, files, nil)
}

// startProxyWith is startProxy with setup called on the engine before it
// starts (engine settings no configuration line sets). With
// LUAPROXY_TEST_PARK_AFTER set (a duration), every engine parks its idle
// HTTP connections that soon (core/park.go): the whole package passes
// with 4ms, each test's keep-alive waits then going through the parking.
func startProxyWith(t testing.TB, cfg string, files map[string]string, setup func(*core.Engine)) *proxy {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg = strings.ReplaceAll(cfg, "{dir}", dir)
	c, err := config.Parse("test.cfg", []byte(cfg))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log := &syncBuffer{}
	e := core.New(core.NewLogger(log))
	if err := e.Load(c); err != nil {
		t.Fatalf("load: %v\nlog:\n%s", err, log)
	}
	if d, err := time.ParseDuration(os.Getenv("LUAPROXY_TEST_PARK_AFTER")); err == nil {
		e.ParkAfter = d // every test's connections park (a stress of park.go)
	}
	if setup != nil {
		setup(e)
	}
	if err := e.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(e.Stop)
	return &proxy{e: e, log: log, dir: dir}
}

func (p *proxy) addr(i int) string { return p.e.Addrs()[i].String() }

// exchange connects, sends in (then half-closes if close is set), and
// reads everything until the server closes or the deadline passes.
func exchange(t *testing.T, addr, in string, closeWrite bool, timeout time.Duration) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if in != "" {
		if _, err := io.WriteString(c, in); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if closeWrite {
		_ = c.(*net.TCPConn).CloseWrite()
	}
	out, _ := io.ReadAll(c)
	return string(out)
}

// waitLog waits until the log contains want.
func (p *proxy) waitLog(t *testing.T, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s := p.log.String(); strings.Contains(s, want) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("log does not contain %q:\n%s", want, p.log.String())
	return ""
}

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{".."}, parts...)...)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return v
}

// serveConns listens on a loopback port for the test's duration and runs
// serve on each connection in its own goroutine (the connection closed
// after it, with a 60 s deadline set before): the accept loop of the
// tests' small origins. It returns the address.
func serveConns(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	return acceptLoop(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(60 * time.Second))
		serve(c)
	}).Addr().String()
}

// acceptLoop listens on network/addr for the test's duration and runs
// serve on each connection in its own goroutine, closing the connection
// after it.
func acceptLoop(t *testing.T, network, addr string, serve func(c net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln
}
