package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"luaproxy/core"
)

// TestIdleKeepAliveMemory checks that a keep-alive client connection
// waiting for its next request holds no buffer: each of its 16 KiB read
// and write buffers goes back to the engine's pool while it waits, as
// HAProxy's do. Measured in-process after 300 such connections, each past
// one proxied request: the Go heap and goroutine stacks grown per
// connection (the test's own client side included), with the pools
// emptied by the collections before.
func TestIdleKeepAliveMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 300 connections")
	}
	p := okProxy(t)
	const n = 300
	one := func(c net.Conn, br *bufio.Reader) {
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := readHead(br); err != nil {
			t.Fatal(err)
		}
		if body, err := br.ReadString('\n'); err != nil || body != "ok\n" {
			t.Fatalf("body %q, %v", body, err)
		}
	}
	// warm up: the server connection, the pools, the proxy's first stream
	warm := must(net.Dial("tcp", p.addr(0)))
	one(warm, bufio.NewReader(warm))
	warm.Close()
	time.Sleep(50 * time.Millisecond)
	heap0, stack0 := memInUse()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c := must(net.Dial("tcp", p.addr(0)))
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		conns = append(conns, c)
		one(c, bufio.NewReaderSize(c, 64))
	}
	time.Sleep(100 * time.Millisecond) // every stream back to its wait
	heap1, stack1 := memInUse()
	heap, stack := (heap1-heap0)/n, (stack1-stack0)/n
	t.Logf("%d idle keep-alive connections: %d bytes of heap and %d of goroutine stack each", n, heap, stack)
	// One buffer held would be 16 KiB; the stream and the connection
	// take a few.
	if heap > 16<<10 {
		t.Errorf("an idle keep-alive connection takes %d bytes of heap: its buffers are not given back", heap)
	}
	// A waiting request loop's frames take under a quarter of a 16 KiB
	// stack, which the collections halve: 8 KiB (the race detector's
	// frames are larger).
	if stack > 12<<10 && !raceEnabled {
		t.Errorf("an idle keep-alive connection's goroutine keeps a %d-byte stack", stack)
	}
	if s := p.log.String(); strings.Contains(s, "panic") {
		t.Errorf("log: %s", s)
	}
}

// memInUse returns the Go heap and goroutine stacks in use, after the
// collections that empty the pools (a sync.Pool empties over two).
func memInUse() (heap, stack int64) {
	runtime.GC()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse), int64(ms.StackInuse)
}

// TestConnectionBuffersReused checks that a connection's buffers go back
// to the pool when it ends, for the next connection: a client that opens
// a connection per request allocates no 16 KiB buffer per connection.
func TestConnectionBuffersReused(t *testing.T) {
	p := okProxy(t)
	one := func() {
		c := must(net.Dial("tcp", p.addr(0)))
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(c)
		if err != nil || !strings.HasSuffix(string(out), "\r\n\r\nok\n") {
			t.Fatalf("response %q, %v", out, err)
		}
	}
	for i := 0; i < 20; i++ {
		one() // the pools, the server connection
	}
	const n = 200
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := 0; i < n; i++ {
		one()
	}
	runtime.ReadMemStats(&m1)
	per := (m1.TotalAlloc - m0.TotalAlloc) / n
	t.Logf("%d bytes allocated per connection (proxy and test client)", per)
	if per > 16<<10 {
		t.Errorf("%d bytes allocated per connection: its buffers are not reused", per)
	}
}

// okProxy starts an HTTP proxy in front of an origin that answers every
// request "ok".
func okProxy(t *testing.T) *proxy {
	t.Helper()
	return okProxyWith(t, "", nil)
}

// okProxyWith is okProxy with more frontend lines (timeouts) and an engine
// setup (see startProxyWith).
func okProxyWith(t *testing.T, feLines string, setup func(*core.Engine)) *proxy {
	t.Helper()
	origin := serveConns(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")); err != nil {
					return
				}
			}
		}
	})
	p := startProxyWith(t, fmt.Sprintf(`
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:0
    default_backend be
%s
backend be
    server o1 %s
`, feLines, origin), nil, setup)
	return p
}
