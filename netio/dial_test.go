package netio

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// echoListener echoes each connection's first read back once release is
// closed, then closes.
func echoListener(t *testing.T, release <-chan struct{}, read chan<- struct{}) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				n, _ := c.Read(buf)
				read <- struct{}{}
				<-release
				c.Write(buf[:n])
			}()
		}
	}()
	return netip.MustParseAddrPort(l.Addr().String())
}

// Many connections dialed at once all connect and carry their data: a
// connection established before the dialer waits for it is not missed.
func TestDialTCPConcurrent(t *testing.T) {
	const n = 500
	release, read := make(chan struct{}), make(chan struct{}, n)
	ap := echoListener(t, release, read)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := DialTCP(ap, 10*time.Second)
			if err != nil {
				errs <- err
				read <- struct{}{}
				return
			}
			defer c.Close()
			if _, err := c.Write([]byte("ping\n")); err != nil {
				errs <- err
				return
			}
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			b, err := io.ReadAll(c)
			if err != nil || string(b) != "ping\n" {
				errs <- errors.Join(errors.New("read "+string(b)), err)
			}
		}()
	}
	for i := 0; i < n; i++ {
		<-read
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// dialedPair dials a loopback listener with DialTCP and returns both ends,
// closed when the test ends.
func dialedPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := DialTCP(netip.MustParseAddrPort(l.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c, s
}

func TestDialTCPConn(t *testing.T) {
	c, s := dialedPair(t)
	if c.RemoteAddr().String() != s.LocalAddr().String() || c.LocalAddr().String() != s.RemoteAddr().String() {
		t.Errorf("addresses %v -> %v, server sees %v -> %v", c.LocalAddr(), c.RemoteAddr(), s.RemoteAddr(), s.LocalAddr())
	}
	if err := SetMark(c, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		t.Errorf("socket options: %v", err) // the socket is reachable through SyscallConn
	}
	// a read deadline is a timeout, as net.Conn's
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read past the deadline: %v", err)
	}
	// CloseWrite sends a FIN after the data; the server reads both
	c.Write([]byte("bye"))
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(s); string(b) != "bye" || err != nil {
		t.Errorf("server read %q %v", b, err)
	}
}

// A closed connection's local address is empty, not nil.
func TestDialTCPClosedLocalAddr(t *testing.T) {
	c, _ := dialedPair(t)
	c.Close()
	if a := c.LocalAddr(); a == nil || a.String() != ":0" {
		t.Errorf("closed connection's local address: %v", a)
	}
}

// SetLinger(0) makes the close a reset.
func TestDialTCPLingerReset(t *testing.T) {
	c, s := dialedPair(t)
	if err := c.(interface{ SetLinger(int) error }).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("server read after a reset: %v", err)
	}
}

func TestDialTCPRefused(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(l.Addr().String())
	l.Close()
	if c, err := DialTCP(ap, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial a closed port: %v %v", c, err)
	}
}
