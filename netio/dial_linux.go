//go:build linux && (amd64 || arm64)

package netio

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"
)

func dialTCP(ap netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	c, pending, err := startTCP(ap)
	if errors.Is(err, errors.ErrUnsupported) {
		return dialStd(ap, timeout) // scoped addresses and errors: as Go does them
	}
	if err != nil {
		return nil, err
	}
	if pending {
		if err := c.WaitConnected(deadline); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

func startTCP(ap netip.AddrPort) (*FileConn, bool, error) {
	addr := ap.Addr().Unmap()
	if !addr.IsValid() || addr.Zone() != "" || ap.Port() == 0 {
		return nil, false, errors.ErrUnsupported
	}
	family := syscall.AF_INET6
	if addr.Is4() {
		family = syscall.AF_INET
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, false, os.NewSyscallError("socket", err)
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	pending := false
	switch err := connect(fd, addr, ap.Port()); err {
	case 0, syscall.EISCONN:
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		// to a local address the handshake is usually over already
		pending = !hasPeer(uintptr(fd))
	default:
		_ = syscall.Close(fd)
		return nil, false, os.NewSyscallError("connect", err)
	}
	f := os.NewFile(uintptr(fd), "tcp") // non-blocking: served by the poller
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, false, err
	}
	return &FileConn{f: f, rc: rc, raddr: netip.AddrPortFrom(addr, ap.Port())}, pending, nil
}

// sendNow sends what fd's buffer takes of p without waiting (the error
// is the errno).
func sendNow(fd uintptr, p []byte) (int, error) {
	sent := 0
	for sent < len(p) {
		n, err := rawIO(syscall.SYS_SENDTO, fd, p[sent:], syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return sent, nil
		case err != nil:
			return sent, err
		}
		sent += n
	}
	return sent, nil
}

// WaitConnected waits until the pending connect ends: connected when the
// socket has a peer, failed when SO_ERROR says so, else not yet (the
// poller may wake up spuriously). The state is read before the first
// wait too: the poller's write readiness is reset when the wait starts,
// and a connection established meanwhile would not signal again.
func (c *FileConn) WaitConnected(deadline time.Time) error {
	if !deadline.IsZero() {
		if err := c.f.SetWriteDeadline(deadline); err != nil {
			return err
		}
	}
	c.ctlErr = nil
	err := c.rc.Write(c.connected)
	cerr := c.ctlErr
	if cerr == nil {
		cerr = err
	}
	if cerr == nil && !deadline.IsZero() {
		cerr = c.f.SetWriteDeadline(time.Time{})
	}
	return cerr
}

// connected is WaitConnected's test, on the socket fd: true when the
// connect ended, with its error in ctlErr.
func (c *FileConn) connected(fd uintptr) bool {
	if hasPeer(fd) {
		return true
	}
	n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err != nil {
		c.ctlErr = os.NewSyscallError("getsockopt", err)
		return true
	}
	switch e := syscall.Errno(n); e {
	case 0, syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		return false
	case syscall.EISCONN:
		return true
	default:
		c.ctlErr = os.NewSyscallError("connect", e)
		return true
	}
}

// connect starts connecting fd to addr:port (syscall.Connect without its
// allocated address).
func connect(fd int, addr netip.Addr, port uint16) syscall.Errno {
	var p unsafe.Pointer
	var n uintptr
	var sa4 syscall.RawSockaddrInet4
	var sa6 syscall.RawSockaddrInet6
	if addr.Is4() {
		sa4.Family, sa4.Addr = syscall.AF_INET, addr.As4()
		putPort(&sa4.Port, port)
		p, n = unsafe.Pointer(&sa4), unsafe.Sizeof(sa4)
	} else {
		sa6.Family, sa6.Addr = syscall.AF_INET6, addr.As16()
		putPort(&sa6.Port, port)
		p, n = unsafe.Pointer(&sa6), unsafe.Sizeof(sa6)
	}
	_, _, e := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(p), n)
	return e
}

// putPort stores port in network byte order.
func putPort(dst *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(port>>8), byte(port)
}

// hasPeer tells whether the socket is connected (getpeername succeeds).
func hasPeer(fd uintptr) bool {
	var rsa syscall.RawSockaddrAny
	n := uint32(unsafe.Sizeof(rsa))
	_, _, e := syscall.RawSyscall(syscall.SYS_GETPEERNAME, fd, uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)))
	return e == 0
}
