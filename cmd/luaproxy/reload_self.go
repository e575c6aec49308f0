package main

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Started by systemd with HAProxy's unit (-Ws, Type=notify, reloads as
// "kill -USR2 $MAINPID"), luaproxy tells systemd when it is ready, and
// reloads itself on SIGUSR2: it starts a new process on the same command
// line plus "-sf <its pid>", which reads the configuration again, binds
// beside it (SO_REUSEPORT) and sends it SIGUSR1 to finish its
// connections and leave; leaving, it names the new process systemd's
// main one. HAProxy does this with a master process; luaproxy has none.

// sdNotify sends state to systemd's notification socket, if there is
// one (NOTIFY_SOCKET).
func sdNotify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if strings.HasPrefix(path, "@") {
		path = "\x00" + path[1:] // an abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(state))
}

// startReload starts the process that replaces this one (see above); the
// channel is closed if it exits.
func startReload() (*os.Process, <-chan struct{}, error) {
	var args []string
	in := os.Args[1:]
	for i := 0; i < len(in); i++ {
		if in[i] == "-sf" || in[i] == "-st" {
			for i+1 < len(in) && !strings.HasPrefix(in[i+1], "-") {
				i++ // the pids of an earlier reload
			}
			continue
		}
		args = append(args, in[i])
	}
	args = append(args, "-sf", strconv.Itoa(os.Getpid()))
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	died := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(died)
	}()
	return cmd.Process, died, nil
}
