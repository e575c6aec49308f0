package netio_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"luaproxy/netio"
)

// listen parses s and listens on it, closing the listener when the test ends.
func listen(t *testing.T, s string, opts netio.ListenOptions) net.Listener {
	t.Helper()
	a, err := netio.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := netio.Listen(a, opts)
	if err != nil {
		t.Fatalf("Listen(%s): %v", s, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// roundTrip dials ln and checks that a message goes through an accepted
// connection and back.
func roundTrip(t *testing.T, ln net.Listener) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(c, c)
		errc <- err
	}()
	c, err := net.DialTimeout(ln.Addr().Network(), ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %v: %v", ln.Addr(), err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	closeWrite(t, c)
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "ping" {
		t.Fatalf("echo = %q, %v; want \"ping\"", got, err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server: %v", err)
	}
}

func closeWrite(t *testing.T, c net.Conn) {
	t.Helper()
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
}

func sockoptInt(t *testing.T, c syscall.Conn, level, opt int) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	rc.Control(func(fd uintptr) { v, serr = unix.GetsockoptInt(int(fd), level, opt) })
	if serr != nil {
		t.Fatal(serr)
	}
	return v
}

func TestListenTCP4(t *testing.T) {
	ln := listen(t, "127.0.0.1:0", netio.ListenOptions{})
	tl := ln.(*net.TCPListener)
	if v := sockoptInt(t, tl, unix.SOL_SOCKET, unix.SO_REUSEPORT); v != 1 {
		t.Errorf("SO_REUSEPORT = %d; want 1", v)
	}
	if v := sockoptInt(t, tl, unix.SOL_SOCKET, unix.SO_REUSEADDR); v != 1 {
		t.Errorf("SO_REUSEADDR = %d; want 1", v)
	}
	roundTrip(t, ln)
}

func TestListenNoReusePort(t *testing.T) {
	ln := listen(t, "127.0.0.1:0", netio.ListenOptions{NoReusePort: true})
	if v := sockoptInt(t, ln.(*net.TCPListener), unix.SOL_SOCKET, unix.SO_REUSEPORT); v != 0 {
		t.Errorf("SO_REUSEPORT = %d; want 0", v)
	}
	a, _ := netio.ParseAddr(ln.Addr().String())
	if ln2, err := netio.Listen(a, netio.ListenOptions{NoReusePort: true}); err == nil {
		ln2.Close()
		t.Fatal("second listener on the same port succeeded without SO_REUSEPORT")
	} else if !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("second listener: %v; want address already in use", err)
	}
}

func TestListenReusePort(t *testing.T) {
	ln1 := listen(t, "127.0.0.1:0", netio.ListenOptions{})
	ln2 := listen(t, ln1.Addr().String(), netio.ListenOptions{})
	if ln1.Addr().String() != ln2.Addr().String() {
		t.Fatalf("addresses differ: %v, %v", ln1.Addr(), ln2.Addr())
	}
	// The kernel spreads connections over both; each must be served.
	for _, ln := range []net.Listener{ln1, ln2} {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				io.WriteString(c, "hello")
				c.Close()
			}
		}()
	}
	for i := 0; i < 20; i++ {
		c, err := net.DialTimeout("tcp", ln1.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(b) != "hello" {
			t.Fatalf("connection %d: %q, %v", i, b, err)
		}
	}
}

func TestListenTCP6(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Skip("no IPv6 on loopback")
	}
	ln := listen(t, "[::1]:0", netio.ListenOptions{})
	if ln.Addr().(*net.TCPAddr).IP.To4() != nil {
		t.Fatalf("Addr = %v; want an IPv6 address", ln.Addr())
	}
	roundTrip(t, ln)
}

func TestListenIPv6WildcardDualStack(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Skip("no IPv6 on loopback")
	}
	ln := listen(t, ":::0", netio.ListenOptions{})
	if v := sockoptInt(t, ln.(*net.TCPListener), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); v != 0 {
		t.Errorf("IPV6_V6ONLY = %d; want 0", v)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, host := range []string{"127.0.0.1", "::1"} {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 5*time.Second)
		if err != nil {
			t.Fatalf("dial %s: %v", host, err)
		}
		c.Close()
	}

	v6 := listen(t, ":::0", netio.ListenOptions{V6Only: true})
	if v := sockoptInt(t, v6.(*net.TCPListener), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); v != 1 {
		t.Errorf("with V6Only, IPV6_V6ONLY = %d; want 1", v)
	}
}

func hasIPv6Loopback() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func TestListenBacklog(t *testing.T) {
	ln := listen(t, "127.0.0.1:0", netio.ListenOptions{Backlog: 7})
	// For a listening socket, Linux reports the backlog in tcpi_sacked.
	rc, _ := ln.(*net.TCPListener).SyscallConn()
	var info *unix.TCPInfo
	var err error
	rc.Control(func(fd uintptr) { info, err = unix.GetsockoptTCPInfo(int(fd), unix.SOL_TCP, unix.TCP_INFO) })
	if err != nil {
		t.Fatal(err)
	}
	if info.Sacked != 7 {
		t.Errorf("backlog = %d; want 7", info.Sacked)
	}
	roundTrip(t, ln)
}

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "front.sock")
	ln := listen(t, path, netio.ListenOptions{Mode: 0o600})
	if got := ln.Addr().String(); got != path {
		t.Errorf("Addr = %q; want %q", got, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v; want a socket with 0600", fi.Mode())
	}
	roundTrip(t, ln)
	if tmp, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

func TestListenUnixReplacesSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	// A stale socket: bound, then its listener closed without unlinking.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	old := listen(t, path, netio.ListenOptions{})
	// A live socket, as when a process reloads: the new one takes the path.
	ln := listen(t, path, netio.ListenOptions{})
	old.Close()
	roundTrip(t, ln)
}

func TestListenUnixRefusesRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := netio.Listen(netio.Addr{Net: "unix", Address: path}, netio.ListenOptions{})
	if err == nil || !strings.Contains(err.Error(), "listen unix "+path+": file exists and is not a socket") {
		t.Fatalf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Fatal("regular file was clobbered")
	}
}

func TestListenAbstract(t *testing.T) {
	for _, prefix := range []string{"abns@", "abnsz@"} {
		t.Run(prefix, func(t *testing.T) {
			name := "luaproxy-test-" + t.Name() + "-" + strconv.Itoa(os.Getpid())
			ln := listen(t, prefix+name, netio.ListenOptions{})
			roundTrip(t, ln)
		})
	}
}

func TestListenFD(t *testing.T) {
	orig, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	fd := dupFD(t, orig.(*net.TCPListener))
	ln := listen(t, "fd@"+strconv.Itoa(fd), netio.ListenOptions{})
	if ln.Addr().String() != orig.Addr().String() {
		t.Fatalf("Addr = %v; want %v", ln.Addr(), orig.Addr())
	}
	orig.Close() // the inherited copy keeps the socket open
	roundTrip(t, ln)
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
		t.Errorf("fd %d still open after Listen", fd)
	}
}

func TestListenFDBoundNotListening(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	ln := listen(t, "fd@"+strconv.Itoa(fd), netio.ListenOptions{})
	roundTrip(t, ln)
}

func TestListenFDErrors(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	unbound, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(unbound)
	dgram, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dgram)

	for _, tt := range []struct {
		name string
		fd   int
		want string
	}{
		{"pipe", int(r.Fd()), "listen fd fd@%d: not a socket"},
		{"unbound", unbound, "not bound"},
		{"dgram", dgram, "not a stream socket"},
		{"closed", 1 << 20, "bad file descriptor"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := netio.Listen(netio.Addr{Net: "fd", FD: tt.fd}, netio.ListenOptions{})
			want := tt.want
			if strings.Contains(want, "%d") {
				want = fmt.Sprintf(want, tt.fd)
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Listen(fd@%d) = %v; want error containing %q", tt.fd, err, want)
			}
		})
	}
}

// dupFD returns a duplicate of the listener's descriptor without switching
// the original to blocking mode as (*os.File).Fd would.
func dupFD(t *testing.T, c syscall.Conn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	var derr error
	rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) })
	if derr != nil {
		t.Fatal(derr)
	}
	return fd
}
