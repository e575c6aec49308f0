//go:build lua53

package test

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"luaproxy/netio"
)

// TestProxyProtocolDiff covers "bind ... accept-proxy" and "server ...
// send-proxy|send-proxy-v2", which luaproxy refused or ignored: the
// addresses of a PROXY header (v1 or v2) become the stream's (fetches,
// logs, X-Forwarded-For), data that is not a header ends the connection
// (logged as HAProxy logs a failed handshake), and a server with
// send-proxy gets a header with the client's addresses first. Compared
// with HAProxy 2.6.
func TestProxyProtocolDiff(t *testing.T) {
	// an origin that answers with the first line it got (the PROXY
	// header) and the X-Forwarded-For it saw
	origin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer origin.Close()
	go func() {
		for {
			c, err := origin.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				var first string
				if sig, _ := br.Peek(12); string(sig) == "\r\n\r\n\x00\r\nQUIT\n" { // v2, IPv4
					h := make([]byte, 28)
					_, _ = io.ReadFull(br, h)
					first = "v2 " + parseV2(h)
				} else {
					first, _ = br.ReadString('\n')
					first = strings.TrimSpace(first)
				}
				req, err := readHead(br)
				if err != nil {
					return
				}
				xff := ""
				if m := regexp.MustCompile(`(?i)\r\nx-forwarded-for: ([^\r]*)`).FindStringSubmatch(req); m != nil {
					xff = m[1]
				}
				// the ports of 127.0.0.1 vary: masked
				first = regexp.MustCompile(`(127\.0\.0\.1 127\.0\.0\.1) \d+ \d+$`).ReplaceAllString(first, "$1 PORT PORT")
				body := "header=" + first + " xff=" + xff + "\n"
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n"+body)
			}(c)
		}
	}()
	cfg := `
defaults
   mode http
   timeout client 5s
   timeout server 5s
   timeout connect 5s
   log "${LOGADDR}" local0
frontend accept
   bind "127.0.0.1:${FE_PORT}" accept-proxy name pp
   log-format "LOG %ci:%cp %fi:%fp %ST"
   http-request return status 200 content-type text/plain lf-string "src=%[src]:%[src_port] dst=%[dst]:%[dst_port]" if { path /show }
   default_backend v1
frontend plain
   bind "127.0.0.1:${FE_PORT1}"
   use_backend v2 if { path /v2 }
   default_backend v1
backend v1
   option forwardfor
   server o "${ORIGIN}" send-proxy
backend v2
   server o "${ORIGIN}" send-proxy-v2
`
	sinks := map[string]*syslogSink{}
	impls := startImplsN(t, cfg, 2, func(impl string) map[string]string {
		s := newSyslogSink(t, "<")
		sinks[impl] = s
		return map[string]string{"LOGADDR": s.addr, "ORIGIN": origin.Addr().String()}
	})
	src, dst := netip.MustParseAddrPort("192.0.2.1:5000"), netip.MustParseAddrPort("198.51.100.2:443")
	v1 := string(netio.AppendProxyV1(nil, src, dst))
	v2 := string(netio.AppendProxyV2(nil, src, dst))
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" }
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			cases := []struct{ addr, in, want string }{
				{im.addrs[0], v1 + get("/show"), "src=192.0.2.1:5000 dst=198.51.100.2:443"},
				{im.addrs[0], v2 + get("/show"), "src=192.0.2.1:5000 dst=198.51.100.2:443"},
				{im.addrs[0], v1 + get("/fwd"), "header=PROXY TCP4 192.0.2.1 198.51.100.2 5000 443 xff=192.0.2.1"},
				{im.addrs[0], get("/show"), ""}, // not a PROXY header: closed
				{im.addrs[0], "PROXY TCP4 192.0.2.1\r\n", ""},
				{im.addrs[0], v1[:20], ""}, // then closed
				{im.addrs[1], get("/v1"), "header=PROXY TCP4 127.0.0.1 127.0.0.1 PORT PORT xff="},
				{im.addrs[1], get("/v2"), "header=v2 127.0.0.1 127.0.0.1 PORT PORT xff="},
			}
			for _, c := range cases {
				// a header cut short is sent, then the sending side closed
				half := c.in == v1[:20]
				got := exchange(t, c.addr, c.in, half, 5*time.Second)
				body := strings.TrimSpace(bodyOf(got))
				switch {
				case c.want == "" && got != "":
					t.Errorf("%q: got %q, want a close", c.in, got)
				case c.want != "" && !strings.HasPrefix(body, c.want):
					t.Errorf("%q: got %q, want %q", c.in, body, c.want)
				}
			}
			// the port the proxy listens on varies: check the shape
			want := []string{
				`^<134>.* 127\.0\.0\.1:\d+ \[[^]]+\] accept/pp: Received something which does not look like a PROXY protocol header$`,
				`^<134>.* 127\.0\.0\.1:\d+ \[[^]]+\] accept/pp: Received an invalid PROXY protocol header$`,
				`^<134>.* 127\.0\.0\.1:\d+ \[[^]]+\] accept/pp: Truncated PROXY protocol header received$`,
				`^<134>.* LOG 192\.0\.2\.1:5000 198\.51\.100\.2:443 200$`,
				`^<134>.* LOG 192\.0\.2\.1:5000 198\.51\.100\.2:443 200$`,
				`^<134>.* LOG 192\.0\.2\.1:5000 198\.51\.100\.2:443 200$`,
			}
			var got []string
			deadline := time.Now().Add(5 * time.Second)
			for len(got) < len(want) && time.Now().Before(deadline) {
				got = nil
				for _, l := range sinks[im.name].snapshot() {
					// not haproxy's readiness probe (startHAProxy): it connects and closes
					if strings.Contains(l, "accept/") && !strings.Contains(l, "Connection closed while waiting") ||
						strings.Contains(l, "LOG ") && !strings.Contains(l, "LOG 127.0.0.1") {
						got = append(got, l)
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
			sort.Strings(got)
			sort.Strings(want) // the embryonic line sorts with them: both start "<134>"
			matched := 0
			for _, w := range want {
				for _, g := range got {
					if regexp.MustCompile(w).MatchString(g) {
						matched++
						break
					}
				}
			}
			if matched != len(want) || len(got) != len(want) {
				t.Errorf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// parseV2 renders a PROXY v2 header's IPv4 addresses.
func parseV2(b []byte) string {
	if len(b) < 28 {
		return ""
	}
	s := netip.AddrFrom4([4]byte(b[16:20]))
	d := netip.AddrFrom4([4]byte(b[20:24]))
	return s.String() + " " + d.String() + " " + strconv.Itoa(int(b[24])<<8|int(b[25])) + " " + strconv.Itoa(int(b[26])<<8|int(b[27]))
}

// readHead reads an HTTP head.
func readHead(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		b.WriteString(l)
		if l == "\r\n" {
			return b.String(), nil
		}
	}
}
