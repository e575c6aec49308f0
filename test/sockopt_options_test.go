//go:build lua53

package test

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestTCPKeepAliveAndNoLingerOptions covers options that were accepted
// and ignored: "option clitcpka"/"srvtcpka" set SO_KEEPALIVE on the
// client and server sockets, "option nolinger" SO_LINGER 0 (a close
// resets, no TIME_WAIT). Without them, as in HAProxy, neither: server
// connections used to get Go's default keep-alive. The proxy runs in the
// test's process, so its sockets are found in /proc/self/fd.
func TestTCPKeepAliveAndNoLingerOptions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	cfg := `
defaults
   mode tcp
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend plain
   bind 127.0.0.1:0
   default_backend plain
backend plain
   server o ` + ln.Addr().String() + `
frontend ka
   bind 127.0.0.1:0
   option clitcpka
   option nolinger
   default_backend ka
backend ka
   option srvtcpka
   option nolinger
   server o ` + ln.Addr().String() + `
`
	p := startProxy(t, cfg, nil)
	for i, want := range []bool{false, true} {
		c, err := net.Dial("tcp", p.addr(i))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var srv net.Conn
		select {
		case srv = <-conns:
		case <-time.After(5 * time.Second):
			t.Fatal("no connection to the origin")
		}
		defer srv.Close()
		// the proxy's sockets: the one the client reached, the one
		// that reached the origin
		for side, peer := range map[string]net.Conn{"client": c, "server": srv} {
			fd := socketFD(t, peer.RemoteAddr().String(), peer.LocalAddr().String())
			ka, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
			if err != nil {
				t.Fatal(err)
			}
			l, err := unix.GetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER)
			if err != nil {
				t.Fatal(err)
			}
			noLinger := l.Onoff == 1 && l.Linger == 0
			if (ka != 0) != want || noLinger != want {
				t.Errorf("frontend %d, %s side: SO_KEEPALIVE %d, SO_LINGER %+v; want them set: %v", i, side, ka, *l, want)
			}
		}
	}
}

// socketFD returns the descriptor, in this process, of the TCP socket
// local->remote (IPv4).
func socketFD(t *testing.T, local, remote string) int {
	t.Helper()
	hex := func(addr string) string {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		ip := a.IP.To4()
		return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], a.Port)
	}
	l, r := hex(local), hex(remote)
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skip("no /proc/net/tcp")
	}
	inode := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 9 && f[1] == l && f[2] == r {
			inode = f[9]
		}
	}
	if inode == "" {
		t.Fatalf("socket %s -> %s not found", local, remote)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if link, _ := os.Readlink("/proc/self/fd/" + e.Name()); link == "socket:["+inode+"]" {
			fd, _ := strconv.Atoi(e.Name())
			return fd
		}
	}
	t.Fatalf("no descriptor for socket %s -> %s", local, remote)
	return -1
}
