//go:build lua53

package test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSystemdNotifyAndReload runs luaproxy as Debian's haproxy.service
// does (-Ws, Type=notify, reloaded with SIGUSR2 to the main pid): it
// reports READY=1 with its pid; on SIGUSR2 it reports RELOADING=1 and
// starts a new process on the same command line, which reads the new
// configuration and takes over, named as the main pid; a reload whose
// configuration is broken leaves the running process serving (READY=1
// again). -Ws was only warned about before.
func TestSystemdNotifyAndReload(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	msgs := make(chan string, 16)
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := notify.Read(b)
			if err != nil {
				return
			}
			msgs <- string(b[:n])
		}
	}()
	next := func(want string) string {
		t.Helper()
		select {
		case m := <-msgs:
			if !strings.Contains(m, want) {
				t.Fatalf("notification %q, want %q", m, want)
			}
			return m
		case <-time.After(15 * time.Second):
			t.Fatalf("no %q notification", want)
		}
		return ""
	}
	port := strconv.Itoa(freePort(t))
	cfgPath := filepath.Join(dir, "p.cfg")
	write := func(body string) {
		cfg := "defaults\n   mode http\n   timeout client 5s\n   timeout server 5s\n   timeout connect 5s\n" +
			"frontend f\n   bind 127.0.0.1:" + port + "\n   http-request return status 200 content-type text/plain string " + body + "\n"
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	get := func() string {
		return bodyOf(exchange(t, "127.0.0.1:"+port, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false, 5*time.Second))
	}
	write("one")
	cmd := exec.Command(binPath, "-Ws", "-f", cfgPath)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if m := next("READY=1"); !strings.Contains(m, "MAINPID="+strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("first notification %q lacks MAINPID=%d", m, cmd.Process.Pid)
	}
	if got := get(); got != "one" {
		t.Fatalf("got %q", got)
	}
	// a broken configuration: the reload fails, the process goes on
	if err := os.WriteFile(cfgPath, []byte("frontend f\n   bind\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGUSR2)
	next("RELOADING=1")
	next("READY=1")
	if got := get(); got != "one" {
		t.Fatalf("after a failed reload: got %q", got)
	}
	// a good one: the new process takes over and becomes the main one
	write("two")
	_ = cmd.Process.Signal(syscall.SIGUSR2)
	next("RELOADING=1")
	m := next("MAINPID=")
	pid, _ := strconv.Atoi(regexp.MustCompile(`MAINPID=(\d+)`).FindStringSubmatch(m)[1])
	if pid == cmd.Process.Pid || !strings.Contains(m, "READY=1") {
		t.Fatalf("takeover notification %q", m)
	}
	defer func() { _ = syscall.Kill(pid, syscall.SIGKILL) }()
	if err := cmd.Wait(); err != nil {
		t.Errorf("the old process: %v", err)
	}
	if got := get(); got != "two" {
		t.Errorf("after the reload: got %q", got)
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
}
