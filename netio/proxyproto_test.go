package netio

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestParseProxyHeader(t *testing.T) {
	v4src, v4dst := netip.MustParseAddrPort("192.0.2.1:5000"), netip.MustParseAddrPort("198.51.100.2:443")
	v6src, v6dst := netip.MustParseAddrPort("[2001:db8::1]:5000"), netip.MustParseAddrPort("[2001:db8::2]:80")
	cases := []struct {
		name, in string
		want     ProxyHeader
		size     int
		err      error
	}{
		{"v1 tcp4", "PROXY TCP4 192.0.2.1 198.51.100.2 5000 443\r\nGET", ProxyHeader{v4src, v4dst}, 44, nil},
		{"v1 tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 5000 80\r\n", ProxyHeader{v6src, v6dst}, 44, nil},
		{"v1 unknown", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", ProxyHeader{}, 35, nil},
		{"v1 short", "PROXY TCP4 192.0.2.1", ProxyHeader{}, 0, errShortHeader},
		{"v1 family mismatch", "PROXY TCP4 2001:db8::1 2001:db8::2 5000 80\r\n", ProxyHeader{}, 0, ErrBadProxyHeader},
		{"v1 bad port", "PROXY TCP4 192.0.2.1 198.51.100.2 70000 443\r\n", ProxyHeader{}, 0, ErrBadProxyHeader},
		{"http", "GET / HTTP/1.1\r\n", ProxyHeader{}, 0, ErrNotProxyHeader},
		{"v2 tcp4", string(AppendProxyV2(nil, v4src, v4dst)) + "data", ProxyHeader{v4src, v4dst}, 28, nil},
		{"v2 tcp6", string(AppendProxyV2(nil, v6src, v6dst)), ProxyHeader{v6src, v6dst}, 52, nil},
		{"v2 local", proxyV2Sig + "\x20\x00\x00\x00", ProxyHeader{}, 16, nil},
		{"v2 tlv", proxyV2Sig + "\x21\x11\x00\x10" + "\xc0\x00\x02\x01\xc6\x33\x64\x02\x13\x88\x01\xbb" + "\x04\x00\x01x", ProxyHeader{v4src, v4dst}, 32, nil},
		{"v2 short", proxyV2Sig + "\x21\x11\x00\x0c\xc0", ProxyHeader{}, 0, errShortHeader},
		{"v2 bad version", proxyV2Sig + "\x11\x11\x00\x00", ProxyHeader{}, 0, ErrBadProxyHeader},
	}
	for _, c := range cases {
		h, size, err := parseProxyHeader([]byte(c.in))
		if err != c.err || h != c.want || err == nil && size != c.size {
			t.Errorf("%s: got %+v, %d, %v; want %+v, %d, %v", c.name, h, size, err, c.want, c.size, c.err)
		}
	}
	if got := string(AppendProxyV1(nil, v4src, v4dst)); got != "PROXY TCP4 192.0.2.1 198.51.100.2 5000 443\r\n" {
		t.Errorf("v1: %q", got)
	}
	if got := string(AppendProxyV1(nil, v4src, v6dst)); got != "PROXY UNKNOWN\r\n" {
		t.Errorf("v1 mixed: %q", got)
	}
}

// TestReadProxyHeaderLeavesData: the header is consumed to its last byte
// and the data after it stays for the next read, whether it came with
// the header or after, and a header sent in pieces is waited for.
func TestReadProxyHeaderLeavesData(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	src, dst := netip.MustParseAddrPort("192.0.2.1:5000"), netip.MustParseAddrPort("198.51.100.2:443")
	for _, pieces := range [][]string{
		{"PROXY TCP4 192.0.2.1 198.51.100.2 5000 443\r\nhello"},
		{"PROXY TCP4 192.0", ".2.1 198.51.100.2 5000 443\r\n", "hello"},
		{string(AppendProxyV2(nil, src, dst)) + "hello"},
		{string(AppendProxyV2(nil, src, dst))[:10], string(AppendProxyV2(nil, src, dst))[10:] + "hel", "lo"},
	} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for _, p := range pieces {
				_, _ = io.WriteString(c, p)
				time.Sleep(20 * time.Millisecond)
			}
			c.Close()
		}()
		_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
		h, err := ReadProxyHeader(s)
		if err != nil || h.Src != src || h.Dst != dst {
			t.Errorf("%q: %+v, %v", pieces, h, err)
		}
		rest, _ := io.ReadAll(s)
		if string(rest) != "hello" {
			t.Errorf("%q: after the header %q, want \"hello\"", pieces, rest)
		}
		s.Close()
	}
}

// TestReadProxyHeaderEnds: a connection closed before or within a header
// says so (io.EOF, io.ErrUnexpectedEOF) at once, not at its deadline.
func TestReadProxyHeaderEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, c := range []struct {
		sent string
		want error
	}{{"", io.EOF}, {"PROXY TCP4 192", io.ErrUnexpectedEOF}, {proxyV2Sig + "\x21", io.ErrUnexpectedEOF}} {
		cl, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, _ = io.WriteString(cl, c.sent)
			time.Sleep(20 * time.Millisecond)
			cl.Close()
		}()
		start := time.Now()
		_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := ReadProxyHeader(s); err != c.want || time.Since(start) > 3*time.Second {
			t.Errorf("%q then a close: %v after %v, want %v at once", c.sent, err, time.Since(start), c.want)
		}
		s.Close()
	}
}
