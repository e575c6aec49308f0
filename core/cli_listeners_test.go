package core

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// "disable frontend" stops accepting (new connections are refused, as
// HAProxy's paused TCP listener refuses them) and "enable frontend" takes
// connections again on the same port. (The port must be given: a
// listener on port 0 loses its ephemeral port when paused.)
func TestCLIPauseResumeFrontend(t *testing.T) {
	back := newTCPServer(t, "back")
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := free.Addr().(*net.TCPAddr).Port
	free.Close()
	e, _, dir := startCLIEngine(t, fmt.Sprintf(`
global
    stats socket @SOCK@ level admin
listen li
    bind 127.0.0.1:%d
    timeout connect 1s
    server s1 %s
`, port, back.addr))
	sock := filepath.Join(dir, "admin.sock")
	addr := e.Addrs()[0].String()
	if got := fetch(t, addr); got != "back" {
		t.Fatalf("before: %q", got)
	}
	if got := cliExchange(t, sock, "disable frontend li\n"); got != "\n" {
		t.Fatalf("disable: %q", got)
	}
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		c.Close()
		t.Fatal("a paused frontend accepted a connection")
	}
	if got := cliExchange(t, sock, "show stat -1 1 -1\n"); !strings.Contains(got, "\nli,FRONTEND,") || !strings.Contains(got, ",PAUSED,") {
		t.Errorf("status: %q", got)
	}
	if got := cliExchange(t, sock, "enable frontend li\n"); got != "\n" {
		t.Fatalf("enable: %q", got)
	}
	if got := fetch(t, addr); got != "back" {
		t.Fatalf("after: %q", got)
	}
}

// Stopping drains the listeners: the connections waiting in a listener's
// accept queue when the engine stops are served, not reset (a reload with
// -sf relies on it). A paused unix listener lets them queue up first.
func TestRuntimeStopDrainsAcceptQueue(t *testing.T) {
	back := newTCPServer(t, "back")
	path := filepath.Join(t.TempDir(), "li.sock")
	e, _ := loadEngine(t, fmt.Sprintf(`
listen li
    bind %s
    timeout connect 1s
    server s1 %s
`, path, back.addr))
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	if err := e.PauseFrontend(e.Frontend("li")); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var conns []net.Conn
	for range n {
		c, err := net.DialTimeout("unix", path, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if got := e.Frontend("li").Total.Load(); got != 0 {
		t.Fatalf("%d connections accepted while paused", got)
	}
	e.Stop()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			if b, err := io.ReadAll(c); err != nil || string(b) != "back" {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	e.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d queued connections were not served", failed.Load(), n)
	}
}

// Soft stop and SIGHUP log HAProxy 2.6's lines.
func TestRuntimeSoftStopAndDumpLines(t *testing.T) {
	e, log := startEngine(t, `
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.1:9
    server s2 127.0.0.1:9 backup disabled
listen li
    bind 127.0.0.1:0
    server s1 127.0.0.1:9
`)
	e.Backend("li").FindServer("s1").SetMaint()
	e.DumpServerStates()
	e.SoftStop()
	e.Wait()
	want := []string{
		"WARNING: Server li/s1 is going DOWN for maintenance. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
		"ALERT: backend 'li' has no server available!",
		"WARNING: SIGHUP received, dumping servers states.",
		"WARNING: SIGHUP: Proxy fe has no servers. Conn: act(FE+BE): 0+0, 0 pend (0 unass), tot(FE+BE): 0+0.",
		"WARNING: SIGHUP: Server be/s1 is UP. Conn: 0 act, 0 pend, 0 tot.",
		"WARNING: SIGHUP: Server be/s2 is MAINT. Conn: 0 act, 0 pend, 0 tot.",
		"WARNING: SIGHUP: Proxy be has 1 active servers and 0 backup servers available. Conn: act(FE+BE): 0+0, 0 pend (0 unass), tot(FE+BE): 0+0.",
		"WARNING: SIGHUP: Server li/s1 is MAINT. Conn: 0 act, 0 pend, 0 tot.",
		"WARNING: SIGHUP: Proxy li has no server available ! Conn: act(FE+BE): 0+0, 0 pend (0 unass), tot(FE+BE): 0+0.",
		"WARNING: Proxy fe stopped (cumulated conns: FE: 0, BE: 0).",
		"WARNING: Proxy be stopped (cumulated conns: FE: 0, BE: 0).",
		"WARNING: Proxy li stopped (cumulated conns: FE: 0, BE: 0).",
	}
	if got := procLines(log.String()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
