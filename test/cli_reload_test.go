//go:build lua53

package test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The command line of the binary: -v/-vv, -cc, -D with -p, -sf takeover,
// signals.

func TestCLIVersion(t *testing.T) {
	out, err := exec.Command(binPath, "-v").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(out), "\n")
	if !regexp.MustCompile(`^luaproxy version \S+( \d{4}/\d\d/\d\d)? - HAProxy 2\.6 compatible$`).MatchString(lines[0]) ||
		!strings.HasPrefix(lines[1], "Running on: Linux ") {
		t.Errorf("-v:\n%s", out)
	}
	out, err = exec.Command(binPath, "-vv").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^luaproxy version \S+`,
		`(?m)^Feature list : .*\+LUA( |$)`,
		`(?m)^Feature list : .*-OPENSSL( |$)`,
		`(?m)^Built with Lua version : Lua 5\.3\.\d+$`,
		`(?m)^Built with Go version : go1\.\d+`,
		`(?m)^  LDFLAGS = ` + regexp.QuoteMeta(os.Getenv("GO_LDFLAGS")) + `$`,
	} {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("-vv does not match %s:\n%s", re, out)
		}
	}
}

// -cc evaluates a .if condition: exit 0 if true, 1 if false, 2 (with
// HAProxy's message) when it cannot be evaluated.
func TestCLICondition(t *testing.T) {
	cases := []struct {
		cond string
		code int
		out  string
	}{
		{"version_atleast(2.4)", 0, ""},
		{"version_atleast(3.4)", 1, ""},
		{"version_before(3.0)", 0, ""},
		{"feature(LUA)", 0, ""},
		{"feature(OPENSSL)", 1, ""},
		{"defined(LP_CC_TEST) && streq(\"$LP_CC_TEST\",yes)", 0, ""},
		{"defined(LP_CC_UNSET)", 1, ""},
		{"", 1, ""},
		{"foo(", 2, "config : Failed to evaluate condition: unparsable conditional expression 'foo('"},
	}
	for _, tc := range cases {
		cmd := exec.Command(binPath, "-cc", tc.cond)
		cmd.Env = append(os.Environ(), "LP_CC_TEST=yes")
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(string(out), tc.out) {
			t.Errorf("-cc %q: exit %d, want %d; output %q", tc.cond, code, tc.code, out)
		}
	}
}

// freePort returns a loopback port nobody listens on (luaproxy's pause and
// takeover need the port to be given, as in real configurations).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// echoServer answers each connection with the line it received, then
// closes.
func echoServer(t *testing.T) string { return echoServerPrefixed(t, "") }

// alive reports whether pid runs (a zombie, not yet reaped by its new
// parent, does not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return pid
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unixExchange sends a runtime API command and returns the answer.
func unixExchange(t *testing.T, path, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", path, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	_, _ = io.WriteString(c, cmd+"\n")
	_ = c.(*net.UnixConn).CloseWrite()
	b, _ := io.ReadAll(c)
	return string(b)
}

// A daemon (-D -p) is replaced by a second one with -sf while a client
// keeps exchanging with it: no exchange fails, the old process finishes
// and exits, the pid file and the stats socket belong to the new one.
func TestCLIDaemonTakeover(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	sock := filepath.Join(dir, "admin.sock")
	pidfile := filepath.Join(dir, "luaproxy.pid")
	cfgPath := filepath.Join(dir, "reload.cfg")
	cfg := fmt.Sprintf(`
global
    stats socket %s level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen li
    bind 127.0.0.1:%d
    server s1 %s
`, sock, port, echoServer(t))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	launch := daemonLauncher(t, cfgPath, pidfile)

	old := launch()
	if !alive(old) {
		t.Fatalf("daemon %d is not running", old)
	}
	if got := unixExchange(t, sock, "show info"); !strings.Contains(got, "\nPid: "+strconv.Itoa(old)+"\n") {
		t.Fatalf("show info of the first daemon:\n%s", got)
	}

	// The load: short exchanges, one after the other, until stopped.
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var ok, failed atomic.Int64
	var errMu sync.Mutex
	var errs []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			msg := fmt.Sprintf("ping %d\n", i)
			got, err := func() (string, error) {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					return "", err
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(c, msg); err != nil {
					return "", err
				}
				b, err := io.ReadAll(c)
				return string(b), err
			}()
			if err != nil || got != msg {
				failed.Add(1)
				errMu.Lock()
				errs = append(errs, fmt.Sprintf("exchange %d: %q %v", i, got, err))
				errMu.Unlock()
				continue
			}
			ok.Add(1)
		}
	}()
	waitUntil(t, "exchanges with the first daemon", func() bool { return ok.Load() >= 50 })

	newPid := launch("-sf", strconv.Itoa(old))
	if newPid == old {
		t.Fatal("the pid file still names the old process")
	}
	waitUntil(t, "the old process to exit", func() bool { return !alive(old) })
	before := ok.Load()
	waitUntil(t, "exchanges with the new daemon", func() bool { return ok.Load() >= before+50 })
	close(stop)
	<-done

	if failed.Load() != 0 {
		t.Fatalf("%d of %d exchanges failed across the takeover:\n%s", failed.Load(), ok.Load()+failed.Load(), strings.Join(errs, "\n"))
	}
	t.Logf("%d exchanges, none failed", ok.Load())
	if got := unixExchange(t, sock, "show info"); !strings.Contains(got, "\nPid: "+strconv.Itoa(newPid)+"\n") {
		t.Fatalf("show info after the takeover:\n%s", got)
	}
	if err := syscall.Kill(newPid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the new process to exit on SIGTERM", func() bool { return !alive(newPid) })
}

// A daemon that cannot start reports on the terminal and the launcher
// exits non-zero.
func TestCLIDaemonStartFailure(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "bad.cfg")
	if err := os.WriteFile(cfgPath, []byte("global\n    stats socket /nonexistent/dir/x.sock\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binPath, "-D", "-f", cfgPath).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v", err)
	}
	if !regexp.MustCompile(`\[ALERT\] +\(\d+\) : Binding \[.*bad\.cfg:2\] for frontend GLOBAL: cannot bind UNIX socket \(no such file or directory\) \[/nonexistent/dir/x\.sock\]`).Match(out) {
		t.Fatalf("output:\n%s", out)
	}
}

// In the foreground: -p writes the pid, SIGHUP dumps the servers' states,
// SIGUSR1 stops softly with HAProxy's lines, exit 0.
func TestCLISignals(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "p.pid")
	cfgPath := filepath.Join(dir, "sig.cfg")
	cfg := fmt.Sprintf("listen li\n    mode tcp\n    bind 127.0.0.1:%d\n    server s1 127.0.0.1:9\n", freePort(t))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "-db", "-p", pidfile, "-f", cfgPath)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	waitUntil(t, "the pid file", func() bool {
		b, err := os.ReadFile(pidfile)
		return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(cmd.Process.Pid)
	})
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, "the SIGHUP dump", func() bool {
		return strings.Contains(stderr.String(), "SIGHUP: Proxy li has 1 active servers and 0 backup servers available.")
	})
	_ = cmd.Process.Signal(syscall.SIGUSR1)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("exit after SIGUSR1: %v\n%s", err, stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGUSR1")
	}
	for _, want := range []string{
		"SIGHUP received, dumping servers states.",
		"SIGHUP: Server li/s1 is UP. Conn: 0 act, 0 pend, 0 tot.",
		"Proxy li stopped (cumulated conns: FE: 0, BE: 0).",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr has no %q:\n%s", want, stderr)
		}
	}
}

// daemonLauncher returns a function starting luaproxy -D on cfgPath (with
// extra flags such as -sf) and returning the daemon's pid; every daemon it
// started still alive at the end of the test gets SIGTERM.
func daemonLauncher(t *testing.T, cfgPath, pidfile string) func(extra ...string) int {
	var pids []int
	t.Cleanup(func() {
		for _, pid := range pids {
			if alive(pid) {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	})
	return func(extra ...string) int {
		t.Helper()
		args := append([]string{"-D", "-p", pidfile, "-f", cfgPath}, extra...)
		out, err := exec.Command(binPath, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("luaproxy %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		pid := readPid(t, pidfile)
		pids = append(pids, pid)
		return pid
	}
}
