//go:build lua53

package luabind

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// A socket in a fetch or converter ends it with HAProxy 2.6's alerts: they
// cannot yield, and connect yields, even to a server that accepts at once.
func TestSocketInSampleContexts(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, port := range []int{1, ln.Addr().(*net.TCPAddr).Port} {
		for _, tc := range []struct {
			ctx context
			log string
		}{
			{ctxFetch, "Lua sample-fetch 'test': yield not allowed."},
			{ctxConverter, "Lua converter 'test': yield functions like core.tcp() or core.sleep() are not allowed."},
		} {
			ts := newTestState(t)
			code := fmt.Sprintf(`local s = core.tcp() s:connect("127.0.0.1", %d) return "x"`, port)
			if _, ok := ts.sample(tc.ctx, code); ok {
				t.Errorf("%s, port %d: succeeded", tc.ctx, port)
			}
			if !strings.Contains(ts.log.String(), tc.log) {
				t.Errorf("%s, port %d: log lacks %q:\n%s", tc.ctx, port, tc.log, ts.log)
			}
		}
	}
}

func TestSocketAddressParsing(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		port    int64
		hasPort bool
		want    sockAddr
		ok      bool
	}{
		{"127.0.0.1", 80, true, sockAddr{"tcp", "", "127.0.0.1", netip.MustParseAddrPort("127.0.0.1:80")}, true},
		{"127.0.0.1:81", 0, false, sockAddr{"tcp", "", "127.0.0.1", netip.MustParseAddrPort("127.0.0.1:81")}, true},
		{"::1", 80, true, sockAddr{"tcp", "", "::1", netip.MustParseAddrPort("[::1]:80")}, true},
		{"[::1]:82", 0, false, sockAddr{"tcp", "", "::1", netip.MustParseAddrPort("[::1]:82")}, true},
		{"ipv4@10.0.0.1:1", 0, false, sockAddr{"tcp4", "", "10.0.0.1", netip.MustParseAddrPort("10.0.0.1:1")}, true},
		{"ipv6@[::1]:1", 0, false, sockAddr{"tcp6", "", "::1", netip.MustParseAddrPort("[::1]:1")}, true},
		{"unix@/tmp/s", 0, false, sockAddr{"unix", "/tmp/s", "", netip.AddrPort{}}, true},
		{"/tmp/s", 0, false, sockAddr{"unix", "/tmp/s", "", netip.AddrPort{}}, true},
		{"abns@x", 0, false, sockAddr{"unix", "@x", "", netip.AddrPort{}}, true},
		{"localhost:443", 0, false, sockAddr{"tcp", "localhost:443", "localhost", netip.AddrPort{}}, true},
		{"127.0.0.1", 0, false, sockAddr{}, false},
		{"127.0.0.1", 70000, true, sockAddr{}, false},
		{"ipv4@::1", 1, true, sockAddr{}, false},
		{"fd@3", 0, false, sockAddr{}, false},
		{"bad host:1", 0, false, sockAddr{}, false},
	} {
		got, ok := parseSockAddr(tc.addr, tc.port, tc.hasPort)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q %d: got %+v %v, want %+v %v", tc.addr, tc.port, got, ok, tc.want, tc.ok)
		}
	}
}
