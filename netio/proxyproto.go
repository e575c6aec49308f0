package netio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// The PROXY protocol (haproxy's doc/proxy-protocol.txt): a header a load
// balancer sends before the connection's data, with the addresses of the
// connection it proxies. Version 1 is a text line, version 2 binary.

// ProxyHeader is what a PROXY protocol header says.
type ProxyHeader struct {
	// Src and Dst are the proxied connection's addresses; both are zero
	// for a LOCAL (v2) or UNKNOWN (v1) header: the connection's own
	// addresses stand.
	Src, Dst netip.AddrPort
}

// proxyV2Sig starts a version 2 header.
const proxyV2Sig = "\r\n\r\n\x00\r\nQUIT\n"

// The errors of ReadProxyHeader besides the connection's: data that is
// not a PROXY header, and a header that is not valid. A connection that
// ends before a header gives io.EOF, or io.ErrUnexpectedEOF within one.
var (
	ErrNotProxyHeader = errors.New("netio: not a PROXY protocol header")
	ErrBadProxyHeader = errors.New("netio: invalid PROXY protocol header")
)

// proxyV1Max is the longest version 1 line, CRLF included.
const proxyV1Max = 107

// ReadProxyHeader reads a PROXY protocol header (version 1 or 2) from c,
// and nothing after it: the data that follows is left for the next read.
// On a socket the header is peeked first, then consumed at its exact
// length; elsewhere it is read a byte at a time. The caller bounds the
// wait with a read deadline.
func ReadProxyHeader(c net.Conn) (ProxyHeader, error) {
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return readProxyPeek(rc)
		}
	}
	return readProxySlow(c)
}

// readProxyPeek peeks at the socket until a whole header is there, then
// takes exactly its bytes. Bytes of an incomplete header are taken as
// they come (they can only belong to it), so that a close after them is
// seen: a peek would keep returning them.
func readProxyPeek(rc syscall.RawConn) (ProxyHeader, error) {
	var (
		buf [16 + 216]byte // a v2 header with addresses and some TLVs
		acc []byte         // the bytes of the header taken so far
		h   ProxyHeader
		err error
	)
	recv := func(fd uintptr, p []byte, flags int) (int, syscall.Errno) {
		for {
			n, _, e := syscall.Recvfrom(int(fd), p, flags)
			if e != syscall.EINTR {
				if e != nil {
					return n, e.(syscall.Errno)
				}
				return n, 0
			}
		}
	}
	rerr := rc.Read(func(fd uintptr) bool {
		for {
			n, e := recv(fd, buf[:], syscall.MSG_PEEK)
			switch {
			case e == syscall.EAGAIN:
				return false
			case e != 0:
				err = e
				return true
			case n == 0:
				err = io.EOF
				if len(acc) > 0 {
					err = io.ErrUnexpectedEOF
				}
				return true
			}
			all := append(acc[:len(acc):len(acc)], buf[:n]...)
			var size int
			h, size, err = parseProxyHeader(all)
			take := n
			switch {
			case err == errShortHeader:
				err = nil
			case err != nil:
				return true
			default:
				take = size - len(acc)
			}
			m, e := recv(fd, buf[:take], 0) // in the socket's buffer: no wait
			if e != 0 || m != take {
				err = io.ErrUnexpectedEOF
				return true
			}
			acc = append(acc, buf[:m]...)
			if len(acc) == size && size > 0 {
				return true
			}
		}
	})
	if rerr != nil {
		return ProxyHeader{}, rerr
	}
	return h, err
}

// readProxySlow reads the header a byte at a time (connections that are
// not sockets).
func readProxySlow(c net.Conn) (ProxyHeader, error) {
	var b []byte
	one := make([]byte, 1)
	for {
		if _, err := io.ReadFull(c, one); err != nil {
			if err == io.EOF && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return ProxyHeader{}, err
		}
		b = append(b, one[0])
		h, _, err := parseProxyHeader(b)
		if err != errShortHeader {
			return h, err
		}
	}
}

// errShortHeader says more bytes are needed to parse the header.
var errShortHeader = errors.New("short PROXY header")

// parseProxyHeader parses the header at the start of b and returns it
// with its length.
func parseProxyHeader(b []byte) (ProxyHeader, int, error) {
	switch {
	case len(b) >= 1 && b[0] == 'P':
		return parseProxyV1(b)
	case len(b) >= 1 && b[0] == '\r':
		return parseProxyV2(b)
	case len(b) == 0:
		return ProxyHeader{}, 0, errShortHeader
	}
	return ProxyHeader{}, 0, ErrNotProxyHeader
}

func parseProxyV1(b []byte) (ProxyHeader, int, error) {
	if n := min(len(b), 6); !bytes.Equal(b[:n], []byte("PROXY ")[:n]) {
		return ProxyHeader{}, 0, ErrNotProxyHeader
	}
	if len(b) < 6 {
		return ProxyHeader{}, 0, errShortHeader
	}
	end := bytes.Index(b, []byte("\r\n"))
	if end < 0 {
		if len(b) >= proxyV1Max {
			return ProxyHeader{}, 0, ErrBadProxyHeader
		}
		return ProxyHeader{}, 0, errShortHeader
	}
	f := strings.Split(string(b[6:end]), " ")
	if len(f) >= 1 && f[0] == "UNKNOWN" {
		return ProxyHeader{}, end + 2, nil
	}
	if len(f) != 5 || f[0] != "TCP4" && f[0] != "TCP6" {
		return ProxyHeader{}, 0, ErrBadProxyHeader
	}
	src, err1 := netip.ParseAddr(f[1])
	dst, err2 := netip.ParseAddr(f[2])
	sp, err3 := strconv.ParseUint(f[3], 10, 16)
	dp, err4 := strconv.ParseUint(f[4], 10, 16)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || src.Is4() != (f[0] == "TCP4") || dst.Is4() != src.Is4() {
		return ProxyHeader{}, 0, ErrBadProxyHeader
	}
	return ProxyHeader{Src: netip.AddrPortFrom(src, uint16(sp)), Dst: netip.AddrPortFrom(dst, uint16(dp))}, end + 2, nil
}

func parseProxyV2(b []byte) (ProxyHeader, int, error) {
	if n := min(len(b), len(proxyV2Sig)); string(b[:n]) != proxyV2Sig[:n] {
		return ProxyHeader{}, 0, ErrNotProxyHeader
	}
	if len(b) < 16 {
		return ProxyHeader{}, 0, errShortHeader
	}
	verCmd, fam := b[12], b[13]
	size := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if verCmd>>4 != 2 || verCmd&0xf > 1 {
		return ProxyHeader{}, 0, ErrBadProxyHeader
	}
	if len(b) < size {
		return ProxyHeader{}, 0, errShortHeader
	}
	if verCmd&0xf == 0 { // LOCAL: the connection's own addresses
		return ProxyHeader{}, size, nil
	}
	a := b[16:size]
	switch fam {
	case 0x11, 0x12: // TCP or UDP over IPv4
		if len(a) < 12 {
			return ProxyHeader{}, 0, ErrBadProxyHeader
		}
		src := netip.AddrFrom4([4]byte(a[0:4]))
		dst := netip.AddrFrom4([4]byte(a[4:8]))
		return ProxyHeader{
			Src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(a[8:10])),
			Dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(a[10:12])),
		}, size, nil
	case 0x21, 0x22: // over IPv6
		if len(a) < 36 {
			return ProxyHeader{}, 0, ErrBadProxyHeader
		}
		src := netip.AddrFrom16([16]byte(a[0:16]))
		dst := netip.AddrFrom16([16]byte(a[16:32]))
		return ProxyHeader{
			Src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(a[32:34])),
			Dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(a[34:36])),
		}, size, nil
	}
	return ProxyHeader{}, size, nil // UNSPEC or unix: the connection's own
}

// AppendProxyV1 appends the version 1 header for a connection from src
// to dst ("PROXY UNKNOWN" when they are not both IPv4 or both IPv6).
func AppendProxyV1(b []byte, src, dst netip.AddrPort) []byte {
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	switch {
	case !s.IsValid() || !d.IsValid() || s.Is4() != d.Is4():
		return append(b, "PROXY UNKNOWN\r\n"...)
	case s.Is4():
		b = append(b, "PROXY TCP4 "...)
	default:
		b = append(b, "PROXY TCP6 "...)
	}
	return fmt.Appendf(b, "%s %s %d %d\r\n", s, d, src.Port(), dst.Port())
}

// AppendProxyV2 appends the version 2 header for a connection from src
// to dst (LOCAL when the addresses are not both of one family).
func AppendProxyV2(b []byte, src, dst netip.AddrPort) []byte {
	b = append(b, proxyV2Sig...)
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	switch {
	case !s.IsValid() || !d.IsValid() || s.Is4() != d.Is4():
		return append(b, 0x20, 0x00, 0, 0)
	case s.Is4():
		b = append(b, 0x21, 0x11, 0, 12)
		a, c := s.As4(), d.As4()
		b = append(append(b, a[:]...), c[:]...)
	default:
		b = append(b, 0x21, 0x21, 0, 36)
		a, c := s.As16(), d.As16()
		b = append(append(b, a[:]...), c[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}
