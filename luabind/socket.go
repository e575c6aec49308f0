//go:build lua53

package luabind

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"luaproxy/luabind/vm"
	"luaproxy/netio"
)

// socketDefaultTimeout is HAProxy's socket_proxy timeout (connect, client
// and server): 5 seconds until settimeout changes it.
const socketDefaultTimeout = 5 * time.Second

// Socket is the Lua "Socket" class (core.tcp()): a LuaSocket-compatible TCP
// client. Every blocking operation yields: the network wait runs in Go
// outside the state's lock, so the state keeps serving other invocations.
//
// The fields are touched by the owning call (state lock held) and by the
// wait it started (lock released); the two never overlap, as one
// invocation waits on one operation at a time.
type Socket struct {
	conn    net.Conn
	timeout time.Duration
	closed  bool   // closed by the script (settimeout then refuses)
	failed  bool   // connect failed: receives see a closed connection
	rbuf    []byte // received, not yet consumed: a window of buf
	// buf is the socket's read buffer, from socketBufs (nil before the
	// first read); reading says a read into it is in flight.
	buf     *[socketReadSize]byte
	reading bool
	rerr    error // last read error (io.EOF, timeout, ...)
	werr    error
	sent    int
	connErr error
}

var socketClass = declareClass(&vm.Class[*Socket]{
	Name: "Socket",
	Methods: []vm.Method[*Socket]{
		{Name: "close", Fn: (*Socket).luaClose},
		{Name: "connect", Fn: (*Socket).luaConnect},
		{Name: "connect_ssl", Fn: (*Socket).luaConnectSSL},
		{Name: "getpeername", Fn: (*Socket).luaGetPeerName},
		{Name: "getsockname", Fn: (*Socket).luaGetSockName},
		{Name: "receive", Fn: (*Socket).luaReceive},
		{Name: "send", Fn: (*Socket).luaSend},
		{Name: "setoption", Fn: (*Socket).luaSetOption},
		{Name: "settimeout", Fn: (*Socket).luaSetTimeout},
	},
	Meta: []vm.Method[*Socket]{
		{Name: "__tostring", Fn: (*Socket).luaToString},
	},
	Owned: true, // lives as long as the script keeps it; collected = closed
})

// luaToString implements tostring(socket): "HAProxy class Socket", as
// HAProxy 2.6 prints it. It never yields.
func (s *Socket) luaToString(c *vm.Call) (int, error) {
	c.PushString("HAProxy class Socket")
	return 1, nil
}

// Released closes the connection when the Lua object is collected
// (HAProxy: "Garbage-collected objects are automatically closed"). It runs
// inside the collector: the close (a TLS close_notify may write) goes on
// its own goroutine.
func (s *Socket) Released() {
	if conn := s.conn; conn != nil {
		s.conn = nil
		go closeSocket(conn)
	}
	s.dropBuf()
}

// closeSocket closes a socket's connection as HAProxy 2.6 does: its
// write side first (a FIN after the data sent), then with no lingering
// (SO_LINGER 0: a reset instead of TIME_WAIT). A proxy opening a socket
// per request would otherwise fill the ephemeral ports with TIME_WAIT
// connections, and each connect then searches longer for a free port:
// at 20k sockets a second, connect() took more CPU than all the rest.
//
// A TLS socket closes as TLS does (close_notify, then FIN): a peer would
// read a FIN before the close_notify as a truncated stream.
func closeSocket(conn net.Conn) {
	if tc, ok := conn.(tcpCloser); ok {
		_ = tc.CloseWrite()
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// tryWriter writes without waiting (*netio.FileConn).
type tryWriter interface {
	TryWrite(p []byte) (int, error)
}

// tcpCloser is a TCP connection's half-close and linger: *net.TCPConn's
// and *netio.FileConn's.
type tcpCloser interface {
	CloseWrite() error
	SetLinger(sec int) error
}

// luaCoreTCP implements core.tcp(): a new, unconnected Socket. It never
// yields. HAProxy compat: the body context has no socket pools yet.
func luaCoreTCP(c *vm.Call) (int, error) {
	if iv := inv(c); iv != nil && iv.ctx == ctxBody {
		return 0, errors.New("socket: uninitialized pools.")
	}
	sock := &Socket{timeout: socketDefaultTimeout}
	if co := c.Co(); co != nil {
		// a socket the script closed (or never connected) has nothing
		// for a collection to release
		co.CollectOnClose(func() bool { return sock.conn != nil })
	}
	socketClass.Push(&c.Pusher, sock)
	return 1, nil
}

// sockAddr is a parsed connect() destination.
type sockAddr struct {
	network string         // "tcp", "tcp4", "tcp6", "unix"
	addr    string         // host:port or path; "" when ap is set
	host    string         // the host as written (SNI), "" for unix
	ap      netip.AddrPort // the address when the host is an IP literal
}

// parseSockAddr parses connect()'s address [, port]: "1.2.3.4", "::1",
// "host:port", "[::1]:port", "ipv4@...", "ipv6@...", "unix@/path", "/path",
// "abns@name". ok is false when it cannot be parsed.
func parseSockAddr(address string, port int64, hasPort bool) (sockAddr, bool) {
	network := "tcp"
	switch {
	case strings.HasPrefix(address, "unix@"):
		return sockAddr{network: "unix", addr: address[len("unix@"):]}, len(address) > len("unix@")
	case strings.HasPrefix(address, "abns@"):
		return sockAddr{network: "unix", addr: "@" + address[len("abns@"):]}, len(address) > len("abns@")
	case strings.HasPrefix(address, "/"):
		return sockAddr{network: "unix", addr: address}, true
	case strings.HasPrefix(address, "ipv4@"):
		network, address = "tcp4", address[len("ipv4@"):]
	case strings.HasPrefix(address, "ipv6@"):
		network, address = "tcp6", address[len("ipv6@"):]
	case strings.Contains(address, "@"):
		return sockAddr{}, false // fd@, sockpair@, ...: not supported
	}
	host := address
	if !hasPort {
		h, p, err := net.SplitHostPort(address)
		if err != nil {
			return sockAddr{}, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return sockAddr{}, false
		}
		host, port = h, int64(n)
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if port < 1 || port > 65535 {
			return sockAddr{}, false
		}
	}
	if host == "" || !validHost(host) {
		return sockAddr{}, false
	}
	sa := sockAddr{network: network, host: host}
	if ip := net.ParseIP(host); ip != nil {
		if (network == "tcp4" && ip.To4() == nil) || (network == "tcp6" && ip.To4() != nil) {
			return sockAddr{}, false
		}
		if a, err := netip.ParseAddr(host); err == nil {
			sa.ap = netip.AddrPortFrom(a, uint16(port))
			return sa, true
		}
	}
	sa.addr = net.JoinHostPort(host, strconv.FormatInt(port, 10))
	return sa, true
}

// validHost accepts IP literals and host names (resolved at connect time,
// in Go, outside the state's lock).
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// luaConnect implements Socket.connect(socket, address[, port]). It returns
// 1, or nil and "Can't connect". An address it cannot parse raises
// HAProxy's error. It may yield.
func (s *Socket) luaConnect(c *vm.Call) (int, error) { return s.connect(c, false) }

// luaConnectSSL implements Socket.connect_ssl(socket, address[, port]):
// connect, then a TLS handshake with the host as SNI (unless it is an IP
// address). The server certificate is not verified, as HAProxy's Lua
// sockets ("ssl verify none"). It may yield.
func (s *Socket) luaConnectSSL(c *vm.Call) (int, error) { return s.connect(c, true) }

func (s *Socket) connect(c *vm.Call, useTLS bool) (int, error) {
	address, err := c.String(2)
	if err != nil {
		return 0, err
	}
	var port int64
	hasPort := !c.IsNoneOrNil(3)
	if hasPort {
		if port, err = c.Integer(3); err != nil {
			return 0, err
		}
	}
	sa, ok := parseSockAddr(address, port, hasPort)
	if !ok {
		return 0, fmt.Errorf("connect: cannot parse destination address '%s'", address)
	}
	if s.conn != nil || s.closed {
		return 0, errors.New("connect: the socket is already in use")
	}
	timeout := s.timeout
	if sa.ap.IsValid() && !useTLS {
		if n, done, err := s.startConnect(c, sa.ap, timeout); done {
			return n, err
		}
	}
	return c.Yield(func() {
		conn, err := dialSocket(sa, timeout)
		if err == nil && useTLS {
			cfg := &tls.Config{InsecureSkipVerify: true} // HAProxy compat: ssl verify none
			if net.ParseIP(sa.host) == nil && sa.host != "" {
				cfg.ServerName = sa.host
			}
			tc := tls.Client(conn, cfg)
			if timeout > 0 {
				_ = tc.SetDeadline(time.Now().Add(timeout))
			}
			if err = tc.Handshake(); err != nil {
				_ = conn.Close()
			} else {
				conn = tc
			}
		}
		s.conn, s.connErr = conn, err
	}, s.connected)
}

// startConnect connects to an IP address without yielding when the
// connection is established at once (a local server) or refused; done
// is false when it must yield and wait (or this platform has no such
// path): the socket is then left unconnected. HAProxy yields in connect()
// in every case; the script sees the same results either way.
func (s *Socket) startConnect(c *vm.Call, ap netip.AddrPort, timeout time.Duration) (int, bool, error) {
	if !c.CanYield() {
		return 0, false, nil // HAProxy compat: "yield not allowed", whatever the outcome
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	conn, pending, err := netio.StartTCP(ap)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return 0, false, nil
	case err != nil:
		s.failed = true
		c.PushNil()
		c.PushString("Can't connect")
		return 2, true, nil
	case !pending:
		s.conn = conn
		c.PushInteger(1)
		return 1, true, nil
	}
	n, err := c.Yield(func() {
		if s.connErr = conn.WaitConnected(deadline); s.connErr != nil {
			_ = conn.Close()
		} else {
			s.conn = conn
		}
	}, s.connected)
	if err != nil {
		_ = conn.Close()
	}
	return n, true, err
}

// connected is connect's continuation: 1, or nil and "Can't connect".
func (s *Socket) connected(c *vm.Call) (int, error) {
	if s.connErr != nil {
		s.conn, s.failed = nil, true
		c.PushNil()
		c.PushString("Can't connect")
		return 2, nil
	}
	c.PushInteger(1)
	return 1, nil
}

// dialSocket opens a socket's connection: an IP address through
// netio.DialTCP (a socket per request is a common pattern, and net.Dialer
// cost as much as the rest of the connection's user time), a host name
// or a UNIX socket through net.Dialer. HAProxy compat: no TCP keep-alive
// probes (option tcpka is off) either way.
func dialSocket(sa sockAddr, timeout time.Duration) (net.Conn, error) {
	if sa.ap.IsValid() {
		return netio.DialTCP(sa.ap, timeout)
	}
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	return d.Dial(sa.network, sa.addr)
}

// deadline returns the deadline of an operation starting now.
func (s *Socket) deadline() time.Time {
	if s.timeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(s.timeout)
}

// errName is LuaSocket's name of an I/O error: "timeout" or "closed".
func errName(err error) string {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "timeout"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "closed"
}

// luaSend implements Socket.send(socket, data [, i [, j]]): the index of
// the last byte of data[i..j] sent; on error nil, "closed" or "timeout",
// and the index of the last byte sent. It may yield.
func (s *Socket) luaSend(c *vm.Call) (int, error) {
	data, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	n := int64(len(data))
	i, err := c.OptInteger(3, 1)
	if err != nil {
		return 0, err
	}
	j, err := c.OptInteger(4, -1)
	if err != nil {
		return 0, err
	}
	// string.sub's index rules
	if i < 0 {
		i = max(n+i+1, 1)
	} else if i == 0 {
		i = 1
	}
	if j < 0 {
		j = n + j + 1
	} else if j > n {
		j = n
	}
	if s.conn == nil {
		c.PushNil()
		c.PushString("closed")
		c.PushInteger(max(i-1, 0))
		return 3, nil
	}
	if i > j {
		c.PushInteger(i - 1)
		return 1, nil
	}
	data = data[i-1 : j]
	sent := 0
	if tw, ok := s.conn.(tryWriter); ok {
		// HAProxy compat: what fits in the buffer is sent without yielding
		n, err := tw.TryWrite(data)
		if err != nil {
			c.PushNil()
			c.PushString(errName(err))
			c.PushInteger(i - 1 + int64(n))
			return 3, nil
		}
		if n == len(data) {
			c.PushInteger(j)
			return 1, nil
		}
		sent = n
	}
	out := bytes.Clone(data[sent:]) // the Lua string is only valid during this call
	conn, dl := s.conn, s.deadline()
	return c.Yield(func() {
		_ = conn.SetWriteDeadline(dl)
		s.sent, s.werr = conn.Write(out)
	}, func(c *vm.Call) (int, error) {
		last := i - 1 + int64(sent+s.sent)
		if s.werr != nil {
			c.PushNil()
			c.PushString(errName(s.werr))
			c.PushInteger(last)
			return 3, nil
		}
		c.PushInteger(last)
		return 1, nil
	})
}

// recvPattern is a receive() pattern.
type recvPattern struct {
	kind  byte // 'a', 'l', 'n'
	count int
}

// luaReceive implements Socket.receive(socket [, pattern [, prefix]]):
// "*a" (until closed), "*l" (a line without CR/LF, the default) or a byte
// count, with prefix prepended. On error it returns nil, "closed" or
// "timeout", and the partial data (prefix included). It may yield.
func (s *Socket) luaReceive(c *vm.Call) (int, error) {
	p := recvPattern{kind: 'l'}
	switch c.Type(2) {
	case vm.TypeNone, vm.TypeNil:
	case vm.TypeNumber:
		n, err := c.Integer(2)
		if err != nil {
			return 0, err
		}
		if n < 0 {
			return 0, c.ArgError(2, "invalid receive pattern")
		}
		p = recvPattern{kind: 'n', count: int(n)}
	default:
		pat, err := c.Bytes(2) // valid during the call: only looked at
		if err != nil {
			return 0, err
		}
		switch {
		case bytes.HasPrefix(pat, []byte("*a")):
			p.kind = 'a'
		case bytes.HasPrefix(pat, []byte("*l")):
			p.kind = 'l'
		default:
			return 0, c.ArgError(2, "invalid receive pattern")
		}
	}
	prefix, err := c.OptString(3, "")
	if err != nil {
		return 0, err
	}
	if s.conn == nil {
		c.PushNil()
		c.PushString("closed")
		c.PushString(prefix)
		return 3, nil
	}
	s.rerr = nil
	return s.receiveStep(c, p, prefix, s.deadline())
}

// pushPrefixed pushes prefix followed by b (copied as it is pushed).
func pushPrefixed(c *vm.Call, prefix string, b []byte) {
	if prefix == "" {
		c.PushBytes(b)
		return
	}
	c.PushString(prefix + string(b))
}

// receiveStep answers from the buffer when it can, or yields to read more.
func (s *Socket) receiveStep(c *vm.Call, p recvPattern, prefix string, dl time.Time) (int, error) {
	switch p.kind {
	case 'l':
		if i := bytes.IndexByte(s.rbuf, '\n'); i >= 0 {
			line := s.rbuf[:i]
			if bytes.IndexByte(line, '\r') >= 0 {
				line = bytes.ReplaceAll(line, []byte{'\r'}, nil) // LuaSocket: every CR is ignored
			}
			pushPrefixed(c, prefix, line)
			s.rbuf = s.rbuf[i+1:]
			return 1, nil
		}
	case 'n':
		if len(s.rbuf) >= p.count {
			pushPrefixed(c, prefix, s.rbuf[:p.count])
			s.rbuf = s.rbuf[p.count:]
			return 1, nil
		}
	}
	if s.rerr != nil {
		partial := prefix + string(s.rbuf)
		s.rbuf = nil
		name := errName(s.rerr)
		if p.kind == 'a' && name == "closed" {
			c.PushString(partial) // LuaSocket: "*a" ends with the connection
			return 1, nil
		}
		if name == "timeout" {
			s.rerr = nil // a later receive may succeed
		}
		c.PushNil()
		c.PushString(name)
		c.PushString(partial)
		return 3, nil
	}
	conn := s.conn
	s.reading = true
	return c.Yield(func() {
		_ = conn.SetReadDeadline(dl)
		s.readRoom()
		n, err := conn.Read(s.rbuf[len(s.rbuf):cap(s.rbuf)])
		s.rbuf = s.rbuf[:len(s.rbuf)+n]
		if n == 0 && err == nil {
			err = errors.New("empty read")
		}
		if n == 0 {
			s.rerr = err
		}
	}, func(c *vm.Call) (int, error) {
		s.reading = false
		return s.receiveStep(c, p, prefix, dl)
	})
}

// socketReadSize is the room a receive reads into.
const socketReadSize = 16384

// socketBufs keeps the sockets' read buffers: a script opening a socket
// per request allocated 16 KiB for each, and the collector ran (and the
// runtime returned pages to the kernel, to fault them in again) that
// much more often: 0.8 page faults per request.
var socketBufs = sync.Pool{New: func() any { return new([socketReadSize]byte) }}

// readRoom makes room for a read after the data not yet consumed: in the
// pooled buffer while that data fills at most half of it (moved to its
// start), else in a larger array of its own.
func (s *Socket) readRoom() {
	if cap(s.rbuf)-len(s.rbuf) >= socketReadSize {
		return
	}
	if s.buf == nil && len(s.rbuf) == 0 {
		s.buf = socketBufs.Get().(*[socketReadSize]byte)
	}
	if s.buf != nil && len(s.rbuf) <= socketReadSize/2 {
		// room for half a buffer at least: read into it
		n := copy(s.buf[:], s.rbuf)
		s.rbuf = s.buf[:n:socketReadSize]
		return
	}
	s.rbuf = append(make([]byte, 0, len(s.rbuf)+socketReadSize), s.rbuf...)
	if s.buf != nil {
		socketBufs.Put(s.buf)
		s.buf = nil
	}
}

// dropBuf gives the read buffer back, unless a read into it is in flight.
func (s *Socket) dropBuf() {
	if s.buf != nil && !s.reading {
		socketBufs.Put(s.buf)
		s.buf, s.rbuf = nil, nil
	}
}

// luaSetTimeout implements Socket.settimeout(socket, value [, mode]):
// value in seconds (a float gives milliseconds); it applies to every
// later operation. It returns true. It never yields.
func (s *Socket) luaSetTimeout(c *vm.Call) (int, error) {
	v, err := c.Number(2)
	if err != nil {
		return 0, err
	}
	if s.closed {
		// HAProxy compat: its message after close()
		return 0, errors.New("socket: not yet initialised, you can't set timeouts.")
	}
	if v < 0 {
		return 0, c.ArgError(2, "timeout must be positive")
	}
	s.timeout = time.Duration(v * float64(time.Second))
	c.PushBool(true)
	return 1, nil
}

// luaSetOption implements Socket.setoption(socket, option [, value]):
// accepted and ignored, as in HAProxy. It never yields.
func (s *Socket) luaSetOption(c *vm.Call) (int, error) {
	return 0, nil
}

// luaGetPeerName implements Socket.getpeername(socket): "ip:port" of the
// peer, or nil. It never yields.
func (s *Socket) luaGetPeerName(c *vm.Call) (int, error) {
	if s.conn == nil {
		c.PushNil()
		return 1, nil
	}
	c.PushString(s.conn.RemoteAddr().String())
	return 1, nil
}

// luaGetSockName implements Socket.getsockname(socket): "ip:port" of the
// local side, or nil. It never yields.
func (s *Socket) luaGetSockName(c *vm.Call) (int, error) {
	if s.conn == nil {
		c.PushNil()
		return 1, nil
	}
	c.PushString(s.conn.LocalAddr().String())
	return 1, nil
}

// luaClose implements Socket.close(socket): closes the connection; later
// closes do nothing. It returns nothing. It never yields.
func (s *Socket) luaClose(c *vm.Call) (int, error) {
	if s.conn != nil {
		closeSocket(s.conn)
		s.conn = nil
	}
	s.closed = true
	s.dropBuf()
	return 0, nil
}
