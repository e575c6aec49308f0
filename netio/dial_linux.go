package netio

import (
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"
)

func dialTCP(ap netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	addr := ap.Addr().Unmap()
	if !addr.IsValid() || addr.Zone() != "" || ap.Port() == 0 {
		return dialStd(ap, timeout) // scoped addresses and errors: as Go does them
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	family := syscall.AF_INET6
	if addr.Is4() {
		family = syscall.AF_INET
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	pending := false
	switch err := connect(fd, addr, ap.Port()); err {
	case 0, syscall.EISCONN:
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		pending = true
	default:
		_ = syscall.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	f := os.NewFile(uintptr(fd), "tcp") // non-blocking: served by the poller
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	c := &FileConn{f: f, rc: rc, raddr: netip.AddrPortFrom(addr, ap.Port())}
	if pending {
		if err := c.waitConnected(deadline); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	return c, nil
}

// waitConnected waits until the pending connect ends: connected when the
// socket has a peer, failed when SO_ERROR says so, else not yet (the
// poller may wake up spuriously). The state is read before the first
// wait too: the poller's write readiness is reset when the wait starts,
// and a connection established meanwhile would not signal again.
func (c *FileConn) waitConnected(deadline time.Time) error {
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

// connected is waitConnected's test, on the socket fd: true when the
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
