package netio_test

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"luaproxy/netio"
	"luaproxy/netio/memnet"
)

// tcpPair returns both ends of a TCP connection dialed from dialHost to a
// listener on listenAddr.
func tcpPair(t *testing.T, network, listenAddr, dialHost string) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen(network, listenAddr)
	if err != nil {
		t.Skipf("listen %s %s: %v", network, listenAddr, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	client, err = net.DialTimeout("tcp", (&net.TCPAddr{IP: net.ParseIP(dialHost), Port: port}).String(), 5*time.Second)
	if err != nil {
		t.Skipf("dial %s: %v", dialHost, err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestTOS(t *testing.T) {
	for _, tt := range []struct {
		name, network, listen, dial string
		level, opt                  int
	}{
		{"ipv4", "tcp4", "127.0.0.1:0", "127.0.0.1", unix.IPPROTO_IP, unix.IP_TOS},
		{"ipv6", "tcp6", "[::1]:0", "::1", unix.IPPROTO_IPV6, unix.IPV6_TCLASS},
		{"v4-mapped", "tcp", "[::]:0", "127.0.0.1", unix.IPPROTO_IP, unix.IP_TOS},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, c := tcpPair(t, tt.network, tt.listen, tt.dial)
			for _, tos := range []int{0x10, 0xb8, 0} { // low delay, EF, default
				if err := netio.SetTOS(c, tos); err != nil {
					t.Fatalf("SetTOS(%#x): %v", tos, err)
				}
				if got := sockoptInt(t, c.(syscall.Conn), tt.level, tt.opt); got != tos {
					t.Errorf("after SetTOS(%#x), getsockopt = %#x", tos, got)
				}
				if got, err := netio.GetTOS(c); err != nil || got != tos {
					t.Errorf("after SetTOS(%#x), GetTOS = %#x, %v", tos, got, err)
				}
			}
		})
	}
}

func TestSetTOSRange(t *testing.T) {
	_, c := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	for _, tos := range []int{-1, 256} {
		if err := netio.SetTOS(c, tos); err == nil {
			t.Errorf("SetTOS(%d) succeeded", tos)
		}
	}
}

func TestMark(t *testing.T) {
	c, _ := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	for _, mark := range []int{1, 0x12345, 0xffffffff, 0} {
		err := netio.SetMark(c, mark)
		if errors.Is(err, syscall.EPERM) {
			t.Skip("SO_MARK needs CAP_NET_ADMIN")
		}
		if err != nil {
			t.Fatalf("SetMark(%#x): %v", mark, err)
		}
		if got := uint32(sockoptInt(t, c.(syscall.Conn), unix.SOL_SOCKET, unix.SO_MARK)); got != uint32(mark) {
			t.Errorf("after SetMark(%#x), getsockopt = %#x", mark, got)
		}
		if got, err := netio.GetMark(c); err != nil || got != mark {
			t.Errorf("after SetMark(%#x), GetMark = %#x, %v", mark, got, err)
		}
	}
	if err := netio.SetMark(c, -1); err == nil {
		t.Error("SetMark(-1) succeeded")
	}
}

func TestSockoptNotSocket(t *testing.T) {
	c, s := memnet.Pipe()
	defer c.Close()
	defer s.Close()
	err := netio.SetTOS(c, 0x10)
	if !errors.Is(err, netio.ErrNotSocket) {
		t.Fatalf("SetTOS on a memnet conn = %v; want ErrNotSocket", err)
	}
	if _, err := netio.GetMark(c); !errors.Is(err, netio.ErrNotSocket) || !strings.Contains(err.Error(), "get mark") {
		t.Fatalf("GetMark on a memnet conn = %v", err)
	}
}
