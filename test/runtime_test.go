package test

import (
	"net"
	"os"
	"os/exec"
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
	awake := idleSwitches(t, nil)
	asleep := idleSwitches(t, []string{"GODEBUG=schedtrace=0"})
	t.Logf("thread switches of an idle proxy in 500 ms: %d with the default, %d with GODEBUG=schedtrace=0", awake, asleep)
	if awake < 10 {
		t.Errorf("an idle proxy switched threads %d times in 500 ms, want >= 10 (the monitor thread polling every 10 ms)", awake)
	}
	if asleep*2 > awake {
		t.Errorf("GODEBUG=schedtrace=0: %d thread switches, want well under the default's %d", asleep, awake)
	}
}

// idleSwitches starts luaproxy with env added and returns how many times
// its threads switched out during 500 ms without any traffic.
func idleSwitches(t *testing.T, env []string) int {
	t.Helper()
	addr := freeAddr(t)
	path := filepath.Join(t.TempDir(), "p.cfg")
	cfg := "listen idle\n  mode tcp\n  bind " + addr + "\n  tcp-request content reject\n"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "-f", path)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = &syncBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy did not start: %v\n%s", err, cmd.Stderr)
		}
	}
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
