package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ListenOptions tunes [Listen]. The zero value is HAProxy's default
// behaviour.
type ListenOptions struct {
	// NoReusePort disables SO_REUSEPORT on TCP listeners, like HAProxy's
	// global "noreuseport". By default (false) SO_REUSEPORT is set, so
	// several listeners, in this process or another (a reloading process),
	// may bind the same address and port.
	NoReusePort bool

	// Backlog is the accept queue length passed to listen(2), like the
	// "backlog" bind option. Zero keeps the net package's default
	// (net.core.somaxconn). It applies to every kind of listener.
	Backlog int

	// Mode is the permission of a unix socket file, like the "mode" bind
	// option. Zero keeps the permission the umask gives. Other listeners
	// ignore it.
	Mode os.FileMode

	// V6Only restricts a TCP listener on an IPv6 address to IPv6, like the
	// "v6only" bind option. By default (false) IPV6_V6ONLY is cleared so
	// ":::80" also accepts IPv4 connections, as HAProxy does with Linux's
	// default net.ipv6.bindv6only=0.
	V6Only bool
}

// Listen opens a stream listener on a, which usually comes from [ParseAddr].
//
// TCP listeners set SO_REUSEADDR and, unless opts.NoReusePort, SO_REUSEPORT.
// Accepted connections have no TCP keep-alive (HAProxy enables it only with
// "option clitcpka") and MPTCP is off (HAProxy uses it only for "mptcp@").
//
// A unix socket is bound to a temporary name then renamed over the path, as
// HAProxy does: a stale socket left by a dead process, or the live socket of
// a process being replaced on reload, is swapped atomically. Listen refuses
// to replace a path that exists and is not a socket. The returned listener
// leaves the socket file in place when closed, since a newer process may have
// replaced it by then. Abstract sockets ('@' names) have no file.
//
// For "fd" the listener takes over the inherited socket a.FD, which must be a
// bound stream socket; if it is not yet listening, Listen calls listen(2) on
// it (HAProxy compat: "The fd must be bound and may or may not already be
// listening"). The listener owns a duplicate of the descriptor and a.FD is
// closed.
//
// Errors are *net.OpError values (Op "listen") wrapping the cause.
func Listen(a Addr, opts ListenOptions) (net.Listener, error) {
	var (
		ln  net.Listener
		err error
	)
	switch a.Net {
	case "tcp", "tcp4", "tcp6":
		ln, err = listenTCP(a, opts)
	case "unix":
		ln, err = listenUnix(a.Address, opts)
	case "fd":
		ln, err = listenFD(a.FD, opts)
	default:
		err = fmt.Errorf("unsupported network %q", a.Net)
	}
	if err != nil {
		var oe *net.OpError
		if !errors.As(err, &oe) {
			err = &net.OpError{Op: "listen", Net: a.Net, Addr: listenAddr(a), Err: err}
		}
		return nil, err
	}
	return ln, nil
}

// listenAddr is a net.Addr naming a for error messages.
type listenAddr Addr

func (a listenAddr) Network() string { return a.Net }
func (a listenAddr) String() string  { return Addr(a).String() }

func listenTCP(a Addr, opts ListenOptions) (net.Listener, error) {
	lc := net.ListenConfig{
		KeepAlive: -1,
		Control: func(network, _ string, c syscall.RawConn) error {
			return controlErr(c, func(fd int) error {
				if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
					return os.NewSyscallError("setsockopt SO_REUSEADDR", err)
				}
				if !opts.NoReusePort {
					if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
						return os.NewSyscallError("setsockopt SO_REUSEPORT", err)
					}
				}
				if network == "tcp6" {
					// The net package sets IPV6_V6ONLY for "tcp6"; HAProxy leaves
					// the system default, dual stack on Linux.
					if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolInt(opts.V6Only)); err != nil {
						return os.NewSyscallError("setsockopt IPV6_V6ONLY", err)
					}
				}
				return nil
			})
		},
	}
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), a.Net, a.Address)
	if err != nil {
		return nil, err
	}
	if err := setBacklog(ln.(*net.TCPListener), opts.Backlog); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// setBacklog calls listen(2) again with the requested backlog: Linux updates
// the accept queue length of a listening socket, and the net package offers
// no other way to choose it.
func setBacklog(ln syscall.Conn, backlog int) error {
	if backlog <= 0 {
		return nil
	}
	c, err := ln.SyscallConn()
	if err != nil {
		return err
	}
	return controlErr(c, func(fd int) error {
		return os.NewSyscallError("listen", unix.Listen(fd, backlog))
	})
}

// unixListener is a unix listener whose Addr reports the name it was asked
// for: the final path of a socket bound under a temporary name then renamed,
// or the whole name of an abstract socket.
type unixListener struct {
	*net.UnixListener
	addr *net.UnixAddr
}

// Addr returns the socket path.
func (l *unixListener) Addr() net.Addr { return l.addr }

func listenUnix(path string, opts ListenOptions) (net.Listener, error) {
	addr := &net.UnixAddr{Name: path, Net: "unix"}
	if path[0] == '@' { // abstract: no file to replace or chmod
		ln, err := net.ListenUnix("unix", addr)
		if err != nil {
			return nil, err
		}
		if err := setBacklog(ln, opts.Backlog); err != nil {
			ln.Close()
			return nil, err
		}
		// The net package cuts an abstract name at its first NUL, which
		// loses the padding of HAProxy's "abns@" names.
		return &unixListener{UnixListener: ln, addr: addr}, nil
	}

	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() != os.ModeSocket {
		return nil, errors.New("file exists and is not a socket")
	}
	// HAProxy compat: bind "<path>.<pid>.tmp", then rename it over <path>.
	tmp := path + "." + strconv.Itoa(os.Getpid()) + ".tmp"
	if len(tmp) >= sunPathLen {
		// No room for the suffix: replace the old socket non-atomically.
		tmp = path
	}
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	if opts.Mode != 0 {
		if err := os.Chmod(tmp, opts.Mode.Perm()); err != nil {
			return fail(err)
		}
	}
	if err := setBacklog(ln, opts.Backlog); err != nil {
		return fail(err)
	}
	if tmp != path {
		if err := os.Rename(tmp, path); err != nil {
			return fail(err)
		}
	}
	return &unixListener{UnixListener: ln, addr: addr}, nil
}

func listenFD(fd int, opts ListenOptions) (net.Listener, error) {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	switch {
	case errors.Is(err, unix.ENOTSOCK):
		return nil, errors.New("not a socket")
	case err != nil:
		return nil, os.NewSyscallError("getsockopt SO_TYPE", err)
	case typ != unix.SOCK_STREAM:
		return nil, errors.New("not a stream socket")
	}
	listening, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return nil, os.NewSyscallError("getsockopt SO_ACCEPTCONN", err)
	}
	if listening == 0 {
		if !bound(fd) {
			return nil, errors.New("not bound")
		}
		backlog := opts.Backlog
		if backlog <= 0 {
			backlog = unix.SOMAXCONN
		}
		if err := unix.Listen(fd, backlog); err != nil {
			return nil, os.NewSyscallError("listen", err)
		}
	} else if opts.Backlog > 0 {
		if err := unix.Listen(fd, opts.Backlog); err != nil {
			return nil, os.NewSyscallError("listen", err)
		}
	}
	f := os.NewFile(uintptr(fd), "fd@"+strconv.Itoa(fd))
	defer f.Close()
	return net.FileListener(f)
}

// bound reports whether the socket fd has a local address.
func bound(fd int) bool {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return false
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return sa.Port != 0
	case *unix.SockaddrInet6:
		return sa.Port != 0
	case *unix.SockaddrUnix:
		return sa.Name != ""
	}
	return true
}

// controlErr runs fn on the descriptor of c and returns the first error.
func controlErr(c syscall.RawConn, fn func(fd int) error) error {
	var ferr error
	if err := c.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
