package netio_test

import (
	"errors"
	"strings"
	"testing"

	"luaproxy/netio"
)

var parseAddrTests = []struct {
	in      string
	want    netio.Addr
	wantErr string // substring of the error, "" for success
}{
	// IPv4
	{in: "1.2.3.4:80", want: netio.Addr{Net: "tcp4", Address: "1.2.3.4:80"}},
	{in: ":80", want: netio.Addr{Net: "tcp4", Address: "0.0.0.0:80"}},
	{in: "*:80", want: netio.Addr{Net: "tcp4", Address: "0.0.0.0:80"}},
	{in: "0.0.0.0:0", want: netio.Addr{Net: "tcp4", Address: "0.0.0.0:0"}},
	{in: "ipv4@127.0.0.1:8080", want: netio.Addr{Net: "tcp4", Address: "127.0.0.1:8080"}},
	{in: "ipv4@:80", want: netio.Addr{Net: "tcp4", Address: "0.0.0.0:80"}},
	{in: "tcp4@10.0.0.1:443", want: netio.Addr{Net: "tcp4", Address: "10.0.0.1:443"}},
	{in: "stream+ipv4@10.0.0.1:443", want: netio.Addr{Net: "tcp4", Address: "10.0.0.1:443"}},
	{in: "ip@1.2.3.4:80", want: netio.Addr{Net: "tcp4", Address: "1.2.3.4:80"}},
	{in: "1.2.3.4:065535", want: netio.Addr{Net: "tcp4", Address: "1.2.3.4:65535"}},

	// IPv6
	{in: "[::1]:80", want: netio.Addr{Net: "tcp6", Address: "[::1]:80"}},
	{in: "::1:80", want: netio.Addr{Net: "tcp6", Address: "[::1]:80"}},
	{in: ":::80", want: netio.Addr{Net: "tcp6", Address: "[::]:80"}},
	{in: "[::]:80", want: netio.Addr{Net: "tcp6", Address: "[::]:80"}},
	{in: "ipv6@:80", want: netio.Addr{Net: "tcp6", Address: "[::]:80"}},
	{in: "ipv6@*:80", want: netio.Addr{Net: "tcp6", Address: "[::]:80"}},
	{in: "ipv6@2001:db8::1:443", want: netio.Addr{Net: "tcp6", Address: "[2001:db8::1]:443"}},
	{in: "tcp6@[2001:DB8::1]:443", want: netio.Addr{Net: "tcp6", Address: "[2001:db8::1]:443"}},
	{in: "fe80::1%lo:80", want: netio.Addr{Net: "tcp6", Address: "[fe80::1%lo]:80"}},
	{in: "::ffff:1.2.3.4:80", want: netio.Addr{Net: "tcp6", Address: "[::ffff:1.2.3.4]:80"}},

	// Host names
	{in: "localhost:80", want: netio.Addr{Net: "tcp", Address: "localhost:80"}},
	{in: "ipv4@public_ssl:443", want: netio.Addr{Net: "tcp4", Address: "public_ssl:443"}},
	{in: "ipv6@www.example.com:443", want: netio.Addr{Net: "tcp6", Address: "www.example.com:443"}},

	// Unix sockets
	{in: "/var/run/haproxy.sock", want: netio.Addr{Net: "unix", Address: "/var/run/haproxy.sock"}},
	{in: "unix@ssl-frontend.sock", want: netio.Addr{Net: "unix", Address: "ssl-frontend.sock"}},
	{in: "uxst@/tmp/a@b", want: netio.Addr{Net: "unix", Address: "/tmp/a@b"}},
	{in: "/tmp/x@y", want: netio.Addr{Net: "unix", Address: "/tmp/x@y"}},
	{in: "abnsz@frontend", want: netio.Addr{Net: "unix", Address: "@frontend"}},
	{in: "abns@frontend", want: netio.Addr{Net: "unix", Address: "@frontend" + strings.Repeat("\x00", 107-len("frontend"))}},

	// Inherited file descriptors
	{in: "fd@3", want: netio.Addr{Net: "fd", FD: 3}},
	{in: "fd@0", want: netio.Addr{Net: "fd", FD: 0}},

	// Errors
	{in: "", wantErr: "invalid address: '': empty address"},
	{in: "1.2.3.4", wantErr: "invalid address: '1.2.3.4': missing port"},
	{in: "1.2.3.4:", wantErr: "missing port"},
	{in: "::1", wantErr: "invalid host ':'"}, // HAProxy compat: the port is after the last colon
	{in: "[::1]", wantErr: "missing port"},
	{in: "localhost", wantErr: "missing port"},
	{in: "[::1", wantErr: "missing ']'"},
	{in: "[::1]80", wantErr: "unexpected '80' after ']'"},
	{in: ":8000-8010", wantErr: "port ranges are not supported"},
	{in: "1.2.3.4:65536", wantErr: "invalid port '65536'"},
	{in: "1.2.3.4:http", wantErr: "invalid port 'http'"},
	{in: "1.2.3.4:+1", wantErr: "invalid port '+1'"},
	{in: "::80", wantErr: "invalid host ':'"},
	{in: "a b:80", wantErr: "invalid host 'a b'"},
	{in: "ipv4@::1:80", wantErr: "'::1' is not an IPv4 address"},
	{in: "ipv6@1.2.3.4:80", wantErr: "'1.2.3.4' is not an IPv6 address"},
	{in: "foo@1.2.3.4:80", wantErr: "unknown address family 'foo@'"},
	{in: "udp@1.2.3.4:514", wantErr: "address family 'udp@' is not supported"},
	{in: "quic4@:443", wantErr: "address family 'quic4@' is not supported"},
	{in: "dgram+ipv4@:514", wantErr: "address family 'dgram+ipv4@' is not supported"},
	{in: "sockpair@4", wantErr: "address family 'sockpair@' is not supported"},
	{in: "unix@", wantErr: "empty unix socket path"},
	{in: "/" + strings.Repeat("x", 107), wantErr: "longer than 107 bytes"},
	{in: "abns@" + strings.Repeat("x", 108), wantErr: "longer than 107 bytes"},
	{in: "fd@", wantErr: "invalid file descriptor ''"},
	{in: "fd@-1", wantErr: "invalid file descriptor '-1'"},
	{in: "fd@${FD}", wantErr: "invalid file descriptor '${FD}'"},
}

func TestParseAddr(t *testing.T) {
	for _, tt := range parseAddrTests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := netio.ParseAddr(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseAddr(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddr(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseAddr(%q) = %+v; want %+v", tt.in, got, tt.want)
			}
			back, err := netio.ParseAddr(got.String())
			if err != nil || back != got {
				t.Fatalf("ParseAddr(%q.String() = %q) = %+v, %v; want %+v", tt.in, got.String(), back, err, got)
			}
		})
	}
}

func TestParseAddrPortRangeSentinel(t *testing.T) {
	_, err := netio.ParseAddr("10.0.0.1:80-81")
	if !errors.Is(err, netio.ErrPortRange) {
		t.Fatalf("got %v; want ErrPortRange", err)
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, tt := range parseAddrTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netio.ParseAddr(s)
		if err != nil {
			return
		}
		back, err := netio.ParseAddr(a.String())
		if err != nil || back != a {
			t.Fatalf("ParseAddr(%q) = %+v; ParseAddr(%q) = %+v, %v", s, a, a.String(), back, err)
		}
	})
}
