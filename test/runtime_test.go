package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Makefile builds luaproxy with GODEBUG=schedtrace as a compile-time
// default (GO_LDFLAGS), which keeps the Go runtime's monitor thread from
// deep sleep: an idle proxy's monitor polls every 10 ms (about 50 thread
// switches in half a second) instead of sleeping until the next request's
// first system call wakes it. This checks that the setting reaches the
// runtime of the binary the tests run (a Go release that renamed the
// variable would drop it silently), and that the environment still wins.
func TestMonitorThreadStaysAwake(t *testing.T) {
	if !strings.Contains(os.Getenv("GO_LDFLAGS"), "schedtrace=") {
		t.Skip("GO_LDFLAGS has no schedtrace default: run through make test")
	}
	// A busy machine wakes the proxy too (a run under a loaded CI saw 34
	// against 54): up to three tries.
	var awake, asleep int
	for try := 0; try < 3; try++ {
		awake = idleSwitches(t, nil)
		asleep = idleSwitches(t, []string{"GODEBUG=schedtrace=0"})
		t.Logf("thread switches of an idle proxy in 500 ms: %d with the default, %d with GODEBUG=schedtrace=0", awake, asleep)
		if awake >= 10 && asleep*2 <= awake {
			break
		}
	}
	if awake < 10 {
		t.Errorf("an idle proxy switched threads %d times in 500 ms, want >= 10 (the monitor thread polling every 10 ms)", awake)
	}
	if asleep*2 > awake {
		t.Errorf("GODEBUG=schedtrace=0: %d thread switches, want well under the default's %d", asleep, awake)
	}
}

// Idle connections cost no CPU: an HTTP keep-alive after an answer, a new
// connection that sent nothing yet, a TCP connection forwarded to a server
// with nothing to say, a Lua TCP service waiting in applet:getline(), a
// request waiting for a long-polling server, a Lua action in core.msleep(). The engine's millisecond
// clock ticker does not run for them, so the proxy's threads sleep as when
// it has no connection at all. It used to run for them: about 1600 thread
// switches in 500 ms.
func TestIdleConnectionsDoNotWakeTheProxy(t *testing.T) {
	tcpSrv, tcpAccepted := silentServer(t)
	pollSrv, pollAccepted := silentServer(t)
	addr, tcpAddr, luaAddr, pollAddr, tarpitAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	lua := filepath.Join(t.TempDir(), "echo.lua")
	if err := os.WriteFile(lua, []byte(`core.register_service("echo", "tcp", function(applet)
   local line = applet:getline()
   while line ~= nil and line ~= "" do
      applet:send(line)
      line = applet:getline()
   end
end)
core.register_action("tarpit", { "http-req" }, function(txn) core.msleep(1500) end)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := "global\n  lua-load " + lua + "\n" +
		"defaults\n  mode http\n  timeout client 30s\n  timeout server 30s\n  timeout connect 5s\n" +
		"frontend fe\n  bind " + addr + "\n  http-request return status 200 content-type text/plain string ok\n" +
		"listen poll\n  bind " + pollAddr + "\n  server s1 " + pollSrv + "\n" +
		"frontend tarpit\n  bind " + tarpitAddr + "\n  http-request lua.tarpit\n" +
		"  http-request return status 200 content-type text/plain string ok\n" +
		"listen tcp\n  mode tcp\n  bind " + tcpAddr + "\n  server s1 " + tcpSrv + "\n" +
		"listen lua\n  mode tcp\n  bind " + luaAddr + "\n  tcp-request content use-service lua.echo\n"
	cmd := runBinaryEnv(t, cfg, addr, nil)
	pid := cmd.Process.Pid
	time.Sleep(200 * time.Millisecond)
	before := threadSwitches(t, pid)
	time.Sleep(500 * time.Millisecond)
	none := threadSwitches(t, pid) - before

	dial := func(addr string) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	send := func(c net.Conn, s string) {
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	ka, silent, tunnel, applet, poll, tarpit := dial(addr), dial(addr), dial(tcpAddr), dial(luaAddr), dial(pollAddr), dial(tarpitAddr)
	send(ka, get)
	kaBuf := bufio.NewReader(ka)
	if err := readOK(kaBuf); err != nil {
		t.Fatal(err)
	}
	send(poll, get)
	tcpServer, pollServer := accepted(t, tcpAccepted), accepted(t, pollAccepted)
	pollReq := bufio.NewReader(pollServer)
	if _, err := http.ReadRequest(pollReq); err != nil {
		t.Fatalf("the long-polling server's request: %v", err)
	}
	send(tarpit, get)
	time.Sleep(200 * time.Millisecond)
	before = threadSwitches(t, pid)
	time.Sleep(500 * time.Millisecond)
	idle := threadSwitches(t, pid) - before
	t.Logf("thread switches in 500 ms: %d without connections, %d with an idle keep-alive, a silent new connection, "+
		"an idle TCP one, an idle Lua service's, one waiting for a long-polling server and one in a Lua sleep", none, idle)
	if idle > none+150 {
		t.Errorf("idle connections: %d thread switches in 500 ms, without any %d: something ticks for them", idle, none)
	}
	// the keep-alive and the new connection park after a second (with no
	// goroutine of their own: core/parker_linux.go); nothing ticks either
	time.Sleep(1600 * time.Millisecond)
	before = threadSwitches(t, pid)
	time.Sleep(500 * time.Millisecond)
	parked := threadSwitches(t, pid) - before
	t.Logf("thread switches in 500 ms once the HTTP connections parked: %d", parked)
	if parked > none+150 {
		t.Errorf("parked connections: %d thread switches in 500 ms, without any connection %d: something ticks for them", parked, none)
	}

	// all are still served, the clock read again when their data came
	send(ka, get)
	send(silent, get)
	if err := readOK(kaBuf); err != nil {
		t.Errorf("keep-alive connection: %v", err)
	}
	if err := readOK(bufio.NewReader(silent)); err != nil {
		t.Errorf("new connection: %v", err)
	}
	if err := readOK(bufio.NewReader(tarpit)); err != nil {
		t.Errorf("after the Lua sleep: %v", err)
	}
	send(pollServer, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	if err := readOK(bufio.NewReader(poll)); err != nil {
		t.Errorf("long-polling server's answer: %v", err)
	}
	send(applet, "hello\n")
	_ = applet.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := bufio.NewReader(applet).ReadString('\n'); err != nil || line != "hello\n" {
		t.Errorf("Lua service: %q, %v", line, err)
	}
	send(tunnel, "ping")
	_ = tcpServer.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(io.LimitReader(tcpServer, 4)); err != nil || string(b) != "ping" {
		t.Errorf("TCP connection: the server got %q, %v", b, err)
	}
}

// silentServer listens on loopback and passes on its first connection,
// to which it says nothing.
func silentServer(t *testing.T) (string, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			ch <- c
		}
	}()
	return ln.Addr().String(), ch
}

// accepted returns the connection a silentServer accepted.
func accepted(t *testing.T, ch <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-ch:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not connect to the server")
		return nil
	}
}

// readOK reads a 200 answer with the body "ok".
func readOK(br *bufio.Reader) error {
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 || string(body) != "ok" {
		return fmt.Errorf("answer %d %q, %v", res.StatusCode, body, err)
	}
	return nil
}

// idleSwitches starts luaproxy with env added and returns how many times
// its threads switched out during 500 ms without any traffic.
func idleSwitches(t *testing.T, env []string) int {
	t.Helper()
	addr := freeAddr(t)
	cmd := runBinaryEnv(t, "listen idle\n  mode tcp\n  bind "+addr+"\n  tcp-request content reject\n", addr, env)
	time.Sleep(200 * time.Millisecond) // the rejected connection's work is done
	before := threadSwitches(t, cmd.Process.Pid)
	time.Sleep(500 * time.Millisecond)
	return threadSwitches(t, cmd.Process.Pid) - before
}

// threadSwitches sums the context switches of every thread of pid.
func threadSwitches(t *testing.T, pid int) int {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "status"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	n := 0
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 2 && strings.HasSuffix(f[0], "ctxt_switches:") {
				v, _ := strconv.Atoi(f[1])
				n += v
			}
		}
	}
	return n
}
