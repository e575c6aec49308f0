package netio

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNotSocket is returned by the socket option functions for a connection
// that has no socket underneath, such as an in-memory connection.
var ErrNotSocket = errors.New("connection has no socket")

// SetTOS sets the TOS field (DSCP and ECN bits, 0 to 255) of the packets c
// sends, like HAProxy's "set-tos" actions: IP_TOS on an IPv4 socket,
// IPV6_TCLASS on an IPv6 one, and IP_TOS on an IPv6 socket connected to an
// IPv4-mapped address. On TCP sockets Linux keeps control of the two ECN
// bits, so only the DSCP part (tos &^ 3) takes effect.
func SetTOS(c net.Conn, tos int) error {
	if tos < 0 || tos > 255 {
		return fmt.Errorf("netio: TOS %d out of range 0..255", tos)
	}
	return sockControl(c, "set TOS", func(fd int) error {
		level, opt, name, err := tosOption(fd)
		if err != nil {
			return err
		}
		return os.NewSyscallError("setsockopt "+name, unix.SetsockoptInt(fd, level, opt, tos))
	})
}

// GetTOS returns the TOS value that [SetTOS] sets.
func GetTOS(c net.Conn) (int, error) {
	var tos int
	err := sockControl(c, "get TOS", func(fd int) error {
		level, opt, name, err := tosOption(fd)
		if err != nil {
			return err
		}
		tos, err = unix.GetsockoptInt(fd, level, opt)
		return os.NewSyscallError("getsockopt "+name, err)
	})
	return tos, err
}

// tosOption returns the socket option carrying the TOS of fd's packets.
func tosOption(fd int) (level, opt int, name string, err error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, 0, "", os.NewSyscallError("getsockname", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return unix.IPPROTO_IP, unix.IP_TOS, "IP_TOS", nil
	case *unix.SockaddrInet6:
		// HAProxy compat: v4-mapped addresses send IPv4 packets, set IP_TOS.
		if isV4Mapped(sa.Addr) {
			return unix.IPPROTO_IP, unix.IP_TOS, "IP_TOS", nil
		}
		return unix.IPPROTO_IPV6, unix.IPV6_TCLASS, "IPV6_TCLASS", nil
	}
	return 0, 0, "", errors.New("not an IP socket")
}

func isV4Mapped(a [16]byte) bool {
	for _, b := range a[:10] {
		if b != 0 {
			return false
		}
	}
	return a[10] == 0xff && a[11] == 0xff
}

// SetMark sets the firewall mark (SO_MARK) of c's packets, like HAProxy's
// "set-mark" actions. It needs CAP_NET_ADMIN; without it the error wraps
// syscall.EPERM.
func SetMark(c net.Conn, mark int) error {
	if mark < 0 || int64(mark) > 0xffffffff {
		return fmt.Errorf("netio: mark %d out of range 0..0xffffffff", mark)
	}
	return sockControl(c, "set mark", func(fd int) error {
		return os.NewSyscallError("setsockopt SO_MARK", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, mark))
	})
}

// GetMark returns c's firewall mark (SO_MARK).
func GetMark(c net.Conn) (int, error) {
	var mark int
	err := sockControl(c, "get mark", func(fd int) error {
		var err error
		mark, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK)
		// The mark is a u32 read back through a C int.
		mark = int(uint32(mark))
		return os.NewSyscallError("getsockopt SO_MARK", err)
	})
	return mark, err
}

// sockControl runs fn on c's socket. Errors are *net.OpError values naming op.
func sockControl(c net.Conn, op string, fn func(fd int) error) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: ErrNotSocket}
	}
	rc, err := sc.SyscallConn()
	if err == nil {
		err = controlErr(rc, fn)
	}
	if err != nil {
		return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	return nil
}
