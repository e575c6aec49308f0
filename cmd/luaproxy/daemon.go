//go:build lua53

package main

import (
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// Daemon mode (-D, or "daemon" in the global section). Go cannot fork, so
// the launcher starts the same program again in a new session, with the
// same arguments and a pipe: the child loads the configuration and binds
// as a foreground process would, its errors going to the launcher's
// stderr; once serving it writes to the pipe and detaches its standard
// files (HAProxy's daemon does not report anything on the terminal
// after start-up). The launcher exits 0 when told, or with the child's
// status when the child dies first.

// daemonEnv carries the pipe's descriptor number to the child.
const daemonEnv = "LUAPROXY_DAEMON_READY_FD"

// daemonPipe is the child's end of the pipe, nil in other processes.
var daemonPipe *os.File

func inDaemonChild() bool {
	v, ok := os.LookupEnv(daemonEnv)
	if !ok {
		return false
	}
	// Lua scripts starting programs must not pass the marker on.
	os.Unsetenv(daemonEnv)
	if v == "3" {
		daemonPipe = os.NewFile(3, "daemon-ready")
	}
	return true
}

// daemonize starts the background process and returns the launcher's exit
// status.
func daemonize() int {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	r, w, err := os.Pipe()
	if err != nil {
		usage("cannot create a pipe: " + err.Error())
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		usage(err.Error())
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.Stdin = devnull
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{w} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		usage("cannot start the daemon: " + err.Error())
	}
	w.Close()
	devnull.Close()
	buf := make([]byte, 1)
	if n, _ := io.ReadFull(r, buf); n == 1 {
		// The child serves; it was released from our session by Setsid
		// and outlives us.
		_ = cmd.Process.Release()
		return 0
	}
	// The pipe closed without a word: the child failed to start.
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
	}
	return 1
}

// daemonReady releases the launcher and detaches the standard files; it
// does nothing in a foreground process.
func daemonReady() {
	if daemonPipe == nil {
		return
	}
	_, _ = daemonPipe.Write([]byte{1})
	daemonPipe.Close()
	daemonPipe = nil
	if f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
		for _, fd := range []int{0, 1, 2} {
			_ = unix.Dup2(int(f.Fd()), fd)
		}
		f.Close()
	}
}
