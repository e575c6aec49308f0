package core

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"luaproxy/core/config"
)

// syncBuf is a goroutine-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// loadEngine parses and loads cfg (not started).
func loadEngine(t testing.TB, cfg string) (*Engine, *syncBuf) {
	t.Helper()
	c, err := config.Parse("t.cfg", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuf{}
	e := New(NewLogger(log))
	if err := e.Load(c); err != nil {
		t.Fatalf("load: %v", err)
	}
	return e, log
}

// startEngine loads and starts cfg; it stops with the test.
func startEngine(t *testing.T, cfg string) (*Engine, *syncBuf) {
	t.Helper()
	e, log := loadEngine(t, cfg)
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(); e.Wait() })
	return e, log
}

// tcpServer is a loopback server answering each connection with its name
// and closing; it can be stopped and restarted on the same port.
type tcpServer struct {
	name string
	addr string
	mu   sync.Mutex
	ln   net.Listener
	hits int
	// handle, when set, serves a connection instead of the name reply.
	handle func(net.Conn)
}

func newTCPServer(t *testing.T, name string) *tcpServer {
	t.Helper()
	s := &tcpServer{name: name}
	s.start(t, "127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *tcpServer) start(t *testing.T, addr string) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after a stop
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.ln, s.addr = ln, ln.Addr().String()
	s.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.hits++
			h := s.handle
			s.mu.Unlock()
			go func() {
				defer c.Close()
				if h != nil {
					h(c)
					return
				}
				_, _ = io.WriteString(c, s.name)
			}()
		}
	}()
}

func (s *tcpServer) setHandle(h func(net.Conn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handle = h
}

func (s *tcpServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		_ = s.ln.Close()
		s.ln = nil
	}
}

func (s *tcpServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

// fetch connects to addr and returns what the other side sends until close.
func fetch(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

func lines(s, substr string) int { return strings.Count(s, substr) }

func configParse(cfg string) (*config.Config, error) { return config.Parse("t.cfg", []byte(cfg)) }
