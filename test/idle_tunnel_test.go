package test

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"luaproxy/core"
)

// lineEcho writes every line of c back.
func lineEcho(c net.Conn) { echoLines(c, bufio.NewReaderSize(c, 256)) }

func echoLines(c net.Conn, br *bufio.Reader) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := c.Write([]byte(line)); err != nil {
			return
		}
	}
}

// upgradeEcho answers the requests on c "ok" until one asks for an
// upgrade, which it answers 101 (a WebSocket's handshake) before it
// writes every line back.
func upgradeEcho(c net.Conn) {
	br := bufio.NewReaderSize(c, 256)
	for {
		upgrade := false
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
			upgrade = upgrade || strings.HasPrefix(strings.ToLower(line), "upgrade:")
		}
		if !upgrade {
			if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")); err != nil {
				return
			}
			continue
		}
		if _, err := c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")); err != nil {
			return
		}
		echoLines(c, br)
		return
	}
}

// idleMemPerConn opens n connections with open, each past one exchange,
// and returns the Go heap and goroutine stacks they added each (the
// test's origin and client sides included: ~4.5 KiB of heap, a goroutine
// with a 4 KiB stack).
func idleMemPerConn(t *testing.T, n int, open func() net.Conn) (heap, stack int64) {
	t.Helper()
	open().Close() // the pools
	time.Sleep(50 * time.Millisecond)
	h0, s0 := memInUse()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		conns = append(conns, open())
	}
	time.Sleep(100 * time.Millisecond) // every direction back to its wait
	h1, s1 := memInUse()
	return (h1 - h0) / int64(n), (s1 - s0) / int64(n)
}

// tcpEchoProxy starts a TCP-mode proxy, with the listen section's extra
// lines, in front of a line echo.
func tcpEchoProxy(t *testing.T, extra string) *proxy {
	t.Helper()
	origin := serveConns(t, lineEcho)
	return startProxy(t, fmt.Sprintf(`
defaults
    mode tcp
    timeout client 30s
    timeout server 30s
    timeout connect 5s
listen li
    bind 127.0.0.1:0%s
    server o1 %s
`, extra, origin), nil)
}

// openEchoed opens a connection to p's first listener and has one line
// echoed through it.
func openEchoed(t *testing.T, p *proxy) net.Conn { return dialProxy(t, p, echoLine) }

// dialProxy connects to p's first listener and takes the connection past
// its first exchange with talk.
func dialProxy(t *testing.T, p *proxy, talk func(*testing.T, net.Conn, *bufio.Reader)) net.Conn {
	t.Helper()
	c := must(net.Dial("tcp", p.addr(0)))
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	talk(t, c, bufio.NewReaderSize(c, 64))
	return c
}

// echoLine sends "ping" on c and checks that it comes back.
func echoLine(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("echo %q, %v", line, err)
	}
}

// TestIdleTCPForwardHoldsNoBuffer: a forwarded TCP connection waiting for
// either side holds no buffer (netio.Forward borrows them from the
// engine's pool while data is in them), as HAProxy's idle connections
// hold none: one 16 KiB buffer per direction was kept for the whole
// connection (40 KiB of heap each in this test then, 7.3 KiB now).
func TestIdleTCPForwardHoldsNoBuffer(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 200 connections")
	}
	p := tcpEchoProxy(t, "")
	per, stack := idleMemPerConn(t, 200, func() net.Conn { return openEchoed(t, p) })
	t.Logf("idle forwarded TCP connections: %d bytes of heap, %d of goroutine stacks each", per, stack)
	if per > 24<<10 {
		t.Errorf("an idle forwarded TCP connection takes %d bytes of heap: its buffers are kept", per)
	}
}

// wsProxy starts an HTTP proxy, with the frontend's extra lines, in
// front of an upgradeEcho server (setup: see startProxyWith).
func wsProxy(t *testing.T, extra string, setup func(*core.Engine)) *proxy {
	t.Helper()
	origin := serveConns(t, upgradeEcho)
	return startProxyWith(t, fmt.Sprintf(`
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 5s
    timeout tunnel 1h
frontend fe
    bind 127.0.0.1:0%s
    default_backend be
backend be
    server o1 %s
`, extra, origin), nil, setup)
}

// openWebSocket upgrades a connection to p's first listener and has two
// lines echoed through the tunnel.
func openWebSocket(t *testing.T, p *proxy) net.Conn { return dialProxy(t, p, upgradeWebSocket) }

// upgradeWebSocket upgrades c and has two lines echoed through the tunnel.
func upgradeWebSocket(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	if _, err := c.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	head, err := readHead(br)
	if err != nil || !strings.HasPrefix(head, "HTTP/1.1 101") {
		t.Fatalf("upgrade: %q, %v", head, err)
	}
	echoLine(t, c, br)
	echoLine(t, c, br)
}

// TestWebSocketTunnel: an HTTP Upgrade answered 101 by the server turns
// the connection into a tunnel both ways (HAProxy's WebSocket support);
// a quiet one holds no buffer, neither the HTTP layer's (client and
// server side) nor the forwarding's: 92 KiB of heap each in this test
// when they were kept, 11 KiB now.
func TestWebSocketTunnel(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 200 connections")
	}
	p := wsProxy(t, "", nil)
	per, stack := idleMemPerConn(t, 200, func() net.Conn { return openWebSocket(t, p) })
	t.Logf("idle WebSocket tunnels: %d bytes of heap, %d of goroutine stacks each", per, stack)
	if per > 24<<10 {
		t.Errorf("an idle WebSocket tunnel takes %d bytes of heap: buffers are kept", per)
	}
}

// streamGoroutines counts the goroutines serving a stream (in
// Engine.serve, or a parked HTTP connection's serveParked) and the
// forwarding ones.
func streamGoroutines() (serving, forwarding int) {
	buf := make([]byte, 4<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	serving = strings.Count(stacks, "luaproxy/core.(*Engine).serve(") + strings.Count(stacks, "luaproxy/core.(*Engine).serveParked(")
	return serving, strings.Count(stacks, "luaproxy/netio.(*forwarder).run(")
}

// quietStreamGoroutines waits until an earlier test's streams ended
// (slowly under -race), and returns what is left.
func quietStreamGoroutines() (serving, forwarding int) {
	serving, forwarding = streamGoroutines()
	for deadline := time.Now().Add(20 * time.Second); (serving > 0 || forwarding > 0) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		serving, forwarding = streamGoroutines()
	}
	return serving, forwarding
}

// checkForwardedOnTheirOwn checks that n forwarded connections opened
// since quietStreamGoroutines returned serving0 and forwarding0 left no
// goroutine serving their streams, and wait on two forwarding ones each.
func checkForwardedOnTheirOwn(t *testing.T, n, serving0, forwarding0 int) {
	t.Helper()
	serving, forwarding := streamGoroutines()
	if got := serving - serving0; got > 0 {
		t.Errorf("%d goroutines still serving streams with %d connections forwarded, want 0", got, n)
	}
	if got := forwarding - forwarding0; got != 2*n {
		t.Errorf("%d goroutines forwarding %d connections, want %d", got, n, 2*n)
	}
}

// checkSoftStopWaits soft-stops p's engine and checks that it waits for
// conns, forwarded, and stops once their clients closed them.
func checkSoftStopWaits(t *testing.T, p *proxy, conns []net.Conn) {
	t.Helper()
	stopped := make(chan struct{})
	go func() {
		p.e.SoftStop()
		p.e.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("the engine stopped with connections still forwarded")
	case <-time.After(200 * time.Millisecond):
	}
	for _, c := range conns {
		c.Close()
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the engine did not stop once the forwarded connections ended")
	}
}

// TestForwardedTCPLeavesTheStreamGoroutine: once a TCP-mode stream is
// forwarded, the goroutine that ran its rules and its connect (and grew
// its stack for them) is gone: the two directions wait on goroutines of
// their own (netio.ForwardAsync), whose stacks start small, and the last
// of them ends the stream: its connection counts go back, its log line
// comes, a soft stop waits for it.
func TestForwardedTCPLeavesTheStreamGoroutine(t *testing.T) {
	logs := newSyslogSink(t, "fwd ")
	p := tcpEchoProxy(t, fmt.Sprintf(`
    log %s local0
    log-format "fwd end %%U %%B %%ts"`, logs.addr))
	serving0, forwarding0 := quietStreamGoroutines()
	const n = 20
	var conns []net.Conn
	for range n {
		c := openEchoed(t, p)
		defer c.Close()
		conns = append(conns, c)
	}
	checkForwardedOnTheirOwn(t, n, serving0, forwarding0)
	li := p.e.Frontend("li")
	srv := li.Servers[0]
	if got := li.Conns.Load(); got != n {
		t.Errorf("frontend counts %d connections, want %d", got, n)
	}
	if got, be := srv.Conns.Load(), li.BeConns.Load(); got != n || be != n {
		t.Errorf("server counts %d connections, backend %d, want %d", got, be, n)
	}

	// the client's close ends a stream: counts back, one log line
	conns[0].Close()
	if lines := logs.waitKeys("end"); len(lines) != 1 || lines[0] != "fwd end 5 5 --" {
		t.Errorf("log lines %q, want one with the forward's 5 bytes each way and no termination state", lines)
	}
	waitUntil(t, "the stream's end", func() bool { return li.Conns.Load() == n-1 && srv.Conns.Load() == n-1 && li.BeConns.Load() == n-1 })

	// a soft stop waits for the forwarded ones; their clients' close ends them
	checkSoftStopWaits(t, p, conns[1:])
}

// TestWebSocketTunnelLeavesTheStreamGoroutine: once a connection is
// upgraded, the goroutine that served it over HTTP (its stack grown deep
// by the request's call chain) is gone, as a forwarded TCP connection's
// is: the tunnel's directions wait on goroutines of their own, and the
// last of them ends the request and the stream as the call chain did:
// the server's and backend's counts go back, the log line comes, a soft
// stop waits for it. It holds for a connection that parked between two
// requests before its upgrade too.
func TestWebSocketTunnelLeavesTheStreamGoroutine(t *testing.T) {
	logs := newSyslogSink(t, "ws ")
	p := wsProxy(t, fmt.Sprintf(`
    log %s local0
    log-format "ws end %%ST %%U %%B %%ts %%b/%%s"`, logs.addr), parkQuickly)
	serving0, forwarding0 := quietStreamGoroutines()
	const n = 20
	var conns []net.Conn
	for range n - 1 {
		c := openWebSocket(t, p)
		defer c.Close()
		conns = append(conns, c)
	}
	// one upgrades after a request and a wait long enough to park
	c := dialProxy(t, p, func(t *testing.T, c net.Conn, br *bufio.Reader) {
		okRequest(t, c, br)
		time.Sleep(4 * parkAfter)
		upgradeWebSocket(t, c, br)
	})
	defer c.Close()
	conns = append(conns, c)
	checkForwardedOnTheirOwn(t, n, serving0, forwarding0)
	fe, be := p.e.Frontend("fe"), p.e.Backend("be")
	srv := be.Servers[0]
	if got := fe.Conns.Load(); got != n {
		t.Errorf("frontend counts %d connections, want %d", got, n)
	}
	if got, bc := srv.Conns.Load(), be.BeConns.Load(); got != n || bc != n {
		t.Errorf("server counts %d connections, backend %d, want %d", got, bc, n)
	}
	time.Sleep(100 * time.Millisecond)
	if lines := logs.snapshot(); len(lines) != 1 || !strings.HasPrefix(lines[0], "ws end 200 ") {
		t.Errorf("log lines %q before the tunnels ended, want the first request's", lines)
	}

	// the client's close ends a tunnel: counts back, its log line
	conns[0].Close()
	if lines := logs.waitKeys("end 101"); len(lines) != 2 || lines[1] != "ws end 101 137 132 -- be/o1" {
		t.Errorf("log lines %q, want the tunnel's after the first request's, with the bytes of its head and its lines", lines)
	}
	waitUntil(t, "the stream's end", func() bool { return fe.Conns.Load() == n-1 && srv.Conns.Load() == n-1 && be.BeConns.Load() == n-1 })
	checkSoftStopWaits(t, p, conns[1:])
}
