package netio

import (
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// DialTCP opens a TCP connection to ap, failing after timeout (0: no
// timeout but the kernel's). It is for connections opened at a high rate
// to an address already known, such as the Lua sockets' (core.tcp()):
// where net.Dialer parses and resolves the address again, builds a
// context with a deadline and a watcher for it, and asks the kernel for
// both addresses, about 11,000 instructions and 25 allocations a
// connection, DialTCP makes the socket, connects it and waits for the
// connection through the runtime's poller (os.NewFile on a non-blocking
// socket). The connection has no Nagle delay and no keep-alive probes,
// as net.Dialer{KeepAlive: -1} gives.
//
// Its connection is a *FileConn on Linux (amd64, arm64), a *net.TCPConn
// elsewhere.
func DialTCP(ap netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	return dialTCP(ap, timeout)
}

// StartTCP starts connecting to ap without waiting: pending tells that
// the connection is not established yet (WaitConnected waits for it).
// To a local address it usually is. The error is errors.ErrUnsupported
// where DialTCP would use net.Dialer (a scoped address, another
// platform).
func StartTCP(ap netip.AddrPort) (c *FileConn, pending bool, err error) { return startTCP(ap) }

// dialStd is the portable dial.
func dialStd(ap netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	return d.Dial("tcp", ap.String())
}

// FileConn is a connected TCP socket served by the runtime's poller
// through an *os.File: reads, writes and deadlines are the file's. Its
// errors are *os.PathError and *os.SyscallError rather than *net.OpError;
// timeouts match os.ErrDeadlineExceeded as net.Conn's do. Read, Write,
// Close and the deadlines may be called concurrently, as net.Conn's;
// CloseWrite, SetLinger, TryWrite and LocalAddr are for its owner, one
// call at a time.
type FileConn struct {
	f     *os.File
	rc    syscall.RawConn
	raddr netip.AddrPort
	laddr net.Addr // read when first asked
	// ctl runs ctlOp on the socket for control: made once, so that a
	// half-close or a linger change costs no allocation.
	ctl    func(fd uintptr)
	ctlOp  int
	ctlErr error
	ctlBuf []byte // ctlTryWrite's data
	ctlN   int    // and what was sent of it
	linger syscall.Linger
}

// The socket operations of control.
const (
	ctlShutdownWrite = iota
	ctlLinger
	ctlTryWrite
)

func (c *FileConn) Read(p []byte) (int, error)  { return c.f.Read(p) }
func (c *FileConn) Write(p []byte) (int, error) { return c.f.Write(p) }
func (c *FileConn) Close() error                { return c.f.Close() }

// SyscallConn gives the socket to the socket option functions.
func (c *FileConn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }

func (c *FileConn) SetDeadline(t time.Time) error      { return c.f.SetDeadline(t) }
func (c *FileConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *FileConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }

// RemoteAddr returns the address dialed, a *net.TCPAddr.
func (c *FileConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.raddr) }

// LocalAddr returns the socket's address, a *net.TCPAddr (empty when it
// cannot be read: the socket was closed before it was first asked).
func (c *FileConn) LocalAddr() net.Addr {
	if c.laddr == nil {
		var sa syscall.Sockaddr
		if c.rc.Control(func(fd uintptr) { sa, _ = syscall.Getsockname(int(fd)) }) != nil {
			return &net.TCPAddr{}
		}
		switch sa := sa.(type) {
		case *syscall.SockaddrInet4:
			c.laddr = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
		case *syscall.SockaddrInet6:
			c.laddr = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
		default:
			return &net.TCPAddr{}
		}
	}
	return c.laddr
}

// CloseWrite shuts the sending side down (a FIN after the data sent).
func (c *FileConn) CloseWrite() error { return c.control("shutdown", ctlShutdownWrite) }

// SetLinger is net.TCPConn's: sec < 0 closes in the background, 0
// resets the connection at close, > 0 waits that long for the data sent.
func (c *FileConn) SetLinger(sec int) error {
	c.linger = syscall.Linger{}
	if sec >= 0 {
		c.linger.Onoff, c.linger.Linger = 1, int32(sec)
	}
	return c.control("setsockopt", ctlLinger)
}

func (c *FileConn) control(name string, op int) error {
	if c.ctl == nil {
		c.ctl = c.runCtl
	}
	c.ctlOp, c.ctlErr = op, nil
	if err := c.rc.Control(c.ctl); err != nil {
		return err
	}
	return os.NewSyscallError(name, c.ctlErr)
}

func (c *FileConn) runCtl(fd uintptr) {
	switch c.ctlOp {
	case ctlShutdownWrite:
		c.ctlErr = syscall.Shutdown(int(fd), syscall.SHUT_WR)
	case ctlLinger:
		c.ctlErr = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &c.linger)
	case ctlTryWrite:
		c.ctlN, c.ctlErr = sendNow(fd, c.ctlBuf)
	}
}

// TryWrite writes what the socket's buffer takes of p now, without
// waiting: less than len(p) and no error when it is full. It is for a
// caller that must not block (a Lua call holding its state) and waits
// with Write for the rest.
func (c *FileConn) TryWrite(p []byte) (int, error) {
	c.ctlBuf, c.ctlN = p, 0
	err := c.control("write", ctlTryWrite)
	n := c.ctlN
	c.ctlBuf = nil
	return n, err
}
