//go:build lua53

package test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// Content rules under an inspect-delay whose condition may still change
// (req.len, req.payload, res.len ... on a buffer that is not complete) take
// no decision: HAProxy evaluates them again as data arrives, and as final
// once the delay expires. Regression: luaproxy evaluated
// "accept if { req.len gt 0 }" at once, on an empty buffer.

// inspectPiece is one write of the client, after a pause.
type inspectPiece struct {
	after time.Duration
	data  string
}

// inspectOutcome is what a client saw: the bytes it got, and whether the
// proxy answered before the client's own deadline.
type inspectOutcome struct {
	got     string
	elapsed time.Duration
}

// inspectClient dials addr, writes the pieces (each after its pause), and
// reads until the connection ends or limit passes. It never half-closes:
// the rules must decide on the data, not on the end of the input.
// With untilClose it reads until the connection ends, else one line.
func inspectClient(t *testing.T, addr string, pieces []inspectPiece, limit time.Duration, untilClose bool) inspectOutcome {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, limit)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetDeadline(start.Add(limit))
	go func() {
		for _, p := range pieces {
			time.Sleep(p.after)
			if _, err := io.WriteString(c, p.data); err != nil {
				return
			}
		}
	}()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				b.WriteString("<no answer>")
			}
			break // EOF or reset: both are a close for the client
		}
		if !untilClose && strings.HasSuffix(b.String(), "\n") {
			break // the origin answers one line
		}
	}
	return inspectOutcome{got: b.String(), elapsed: time.Since(start)}
}

// lineOrigin answers each connection with "got:" and the first line it
// reads, so an answer says the rules let the data through.
func lineOrigin(t *testing.T) string {
	t.Helper()
	return echoServerPrefixed(t, "got:")
}

// echoServerPrefixed answers each connection with prefix and the first
// line it reads, then closes it.
func echoServerPrefixed(t *testing.T, prefix string) string {
	t.Helper()
	return scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			_, _ = io.WriteString(c, prefix+line)
		}
	}).Addr().String()
}

// TestTCPContentInspectWaitsLikeHAProxy runs tcp-request content rules
// whose conditions may change under luaproxy and HAProxy 2.6 and compares
// what the client gets.
func TestTCPContentInspectWaitsLikeHAProxy(t *testing.T) {
	origin := lineOrigin(t)
	ms := time.Millisecond
	cases := []struct {
		name   string
		delay  string // tcp-request inspect-delay
		rules  string
		pieces []inspectPiece
		want   string
		early  bool // answered well before the inspect-delay expires
	}{{
		// HAProxy compat: a match is a match even if the sample may
		// change: req.len is 0 as the stream starts, so this rejects
		// before the data comes
		name:   "reject if req.len eq 0, data after 200ms",
		delay:  "3s",
		rules:  "tcp-request content reject if { req.len eq 0 }",
		pieces: []inspectPiece{{200 * ms, "hello\n"}},
		want:   "", early: true,
	}, {
		name:   "accept if req.len gt 0 then reject, data after 200ms",
		delay:  "3s",
		rules:  "tcp-request content accept if { req.len gt 0 }\n   tcp-request content reject",
		pieces: []inspectPiece{{200 * ms, "hello\n"}},
		want:   "got:hello\n", early: true,
	}, {
		name:   "payload PING in two pieces",
		delay:  "3s",
		rules:  "tcp-request content accept if { req.payload(0,4) -m str PING }\n   tcp-request content reject",
		pieces: []inspectPiece{{100 * ms, "PI"}, {200 * ms, "NG\n"}},
		want:   "got:PING\n", early: true,
	}, {
		name:   "payload PONG in two pieces is rejected once complete",
		delay:  "3s",
		rules:  "tcp-request content accept if { req.payload(0,4) -m str PING }\n   tcp-request content reject",
		pieces: []inspectPiece{{100 * ms, "PO"}, {200 * ms, "NG\n"}},
		want:   "", early: true,
	}, {
		name:   "set-var on req.len waits for data",
		delay:  "3s",
		rules:  "tcp-request content set-var(sess.n) req.len if { req.len ge 6 }\n   tcp-request content reject unless { var(sess.n) -m found }",
		pieces: []inspectPiece{{100 * ms, "hel"}, {200 * ms, "lo\n"}},
		want:   "got:hello\n", early: true,
	}, {
		name:   "reject if req.len eq 0, nothing received yet: decided at once",
		delay:  "3s",
		rules:  "tcp-request content reject if { req.len eq 0 }",
		pieces: nil,
		want:   "", early: true,
	}, {
		name:   "a full buffer is final",
		delay:  "3s",
		rules:  "tcp-request content accept if { req.len ge 100000 }\n   tcp-request content reject",
		pieces: []inspectPiece{{100 * ms, strings.Repeat("x", 20000) + "\n"}},
		want:   "", early: true,
	}, {
		name:   "no inspect-delay: decided at once",
		delay:  "",
		rules:  "tcp-request content accept if { req.len gt 0 }\n   tcp-request content reject",
		pieces: []inspectPiece{{200 * ms, "hello\n"}},
		want:   "", early: true,
	}, {
		name:   "expiry: nothing sent, accept if req.len gt 0 then reject",
		delay:  "1s",
		rules:  "tcp-request content accept if { req.len gt 0 }\n   tcp-request content reject",
		pieces: nil,
		want:   "",
	}, {
		name:   "expiry: nothing sent, reject if req.len eq 0",
		delay:  "1s",
		rules:  "tcp-request content reject if { req.len eq 0 }",
		pieces: nil,
		want:   "",
	}, {
		name:   "expiry: partial payload evaluated as final",
		delay:  "1s",
		rules:  "tcp-request content reject if { req.payload(0,4) -m str PING }\n   tcp-request content accept if { req.len gt 0 }",
		pieces: []inspectPiece{{100 * ms, "PI\n"}},
		want:   "got:PI\n",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := `
defaults
   mode tcp
   timeout client 10s
   timeout server 10s
   timeout connect 5s
listen fe
   bind 127.0.0.1:0
`
			if tc.delay != "" {
				cfg += "   tcp-request inspect-delay " + tc.delay + "\n"
			}
			cfg += "   " + tc.rules + "\n   server s " + origin + "\n"
			impls := map[string]string{"luaproxy": startProxy(t, cfg, nil).addr(0)}
			impls["haproxy"], _ = runHAProxyLog(t, cfg, nil)
			delay := 3 * time.Second // the client timeout, for no inspect-delay
			if tc.delay != "" {
				delay, _ = time.ParseDuration(tc.delay)
			}
			for _, name := range []string{"haproxy", "luaproxy"} {
				o := inspectClient(t, impls[name], tc.pieces, delay+5*time.Second, false)
				if o.got != tc.want {
					t.Errorf("%s: got %q after %v, want %q", name, o.got, o.elapsed, tc.want)
				}
				// generous: the pieces take at most 300ms
				if tc.early && o.elapsed > delay*2/3 {
					t.Errorf("%s: answered after %v, want before the inspect-delay (%v) expires", name, o.elapsed, delay)
				}
			}
		})
	}
}

// TestHTTPTCPContentInspectLikeHAProxy: in an HTTP frontend, HAProxy runs
// tcp-request content rules on a stream that starts with the request
// there: a request sent late is not seen as empty.
func TestHTTPTCPContentInspectLikeHAProxy(t *testing.T) {
	ms := time.Millisecond
	req := "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	cases := []struct {
		name, rules string
	}{
		{"reject if req.len eq 0", "tcp-request content reject if { req.len eq 0 }"},
		{"accept if req.len gt 0 then reject", "tcp-request content accept if { req.len gt 0 }\n   tcp-request content reject"},
		{"accept if req.proto_http then reject", "tcp-request content accept if { req.proto_http }\n   tcp-request content reject"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := `
defaults
   mode http
   timeout client 10s
   timeout server 10s
   timeout connect 5s
frontend fe
   bind 127.0.0.1:0
   tcp-request inspect-delay 3s
   ` + tc.rules + `
   http-request return status 200 content-type text/plain string ok
`
			impls := map[string]string{"luaproxy": startProxy(t, cfg, nil).addr(0)}
			impls["haproxy"], _ = runHAProxyLog(t, cfg, nil)
			for _, name := range []string{"haproxy", "luaproxy"} {
				o := inspectClient(t, impls[name], []inspectPiece{{200 * ms, req}}, 8*time.Second, true)
				if got := statusAndBody(o.got); got != "HTTP/1.1 200 OK\nok" {
					t.Errorf("%s: got %q after %v", name, o.got, o.elapsed)
				}
				if o.elapsed > 2*time.Second {
					t.Errorf("%s: answered after %v, want before the inspect-delay (3s) expires", name, o.elapsed)
				}
			}
		})
	}
}

// pieceOrigin reads a line from each connection, then writes the pieces
// (each after its pause) and closes.
func pieceOrigin(t *testing.T, pieces []inspectPiece) string {
	t.Helper()
	return serveConns(t, func(c net.Conn) {
		one := make([]byte, 1)
		for one[0] != '\n' {
			if _, err := c.Read(one); err != nil {
				return
			}
		}
		for _, p := range pieces {
			time.Sleep(p.after)
			if _, err := io.WriteString(c, p.data); err != nil {
				return
			}
		}
		// stay open: the rules must decide on the data
		_, _ = c.Read(one)
	})
}

// tcpPassFilter is a Lua filter registering tcp_payload on both
// channels that passes everything on.
const tcpPassFilter = `
P = {}
P.__index = P
function P:new() return setmetatable({}, P) end
function P:start_analyze(txn, chn) filter.register_data_filter(self, chn) end
function P:tcp_payload(txn, chn) return chn:input() end
core.register_filter("pass", P, function(flt) return flt end)
`

// TestTCPResponseInspectWaitsLikeHAProxy: tcp-response content rules
// under a tcp-response inspect-delay wait for the response data, with TCP
// filters on the stream too (regression: with a filter the request was
// not sent while the response was inspected, so the rules waited for the
// whole delay and saw no data).
func TestTCPResponseInspectWaitsLikeHAProxy(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name   string
		delay  string
		rules  string
		pieces []inspectPiece // the server's answer
		want   string
		early  bool
	}{{
		name:   "accept if res.len gt 0 then reject, answer after 200ms",
		delay:  "3s",
		rules:  "tcp-response content accept if { res.len gt 0 }\n   tcp-response content reject",
		pieces: []inspectPiece{{200 * ms, "hello\n"}},
		want:   "hello\n", early: true,
	}, {
		name:   "reject if res.payload EVIL, in two pieces",
		delay:  "3s",
		rules:  "tcp-response content reject if { res.payload(0,4) -m str EVIL }",
		pieces: []inspectPiece{{100 * ms, "EV"}, {200 * ms, "IL\n"}},
		want:   "", early: true,
	}, {
		name:   "reject if res.payload EVIL, EVEN passes",
		delay:  "3s",
		rules:  "tcp-response content reject if { res.payload(0,4) -m str EVIL }",
		pieces: []inspectPiece{{100 * ms, "EV"}, {200 * ms, "EN\n"}},
		want:   "EVEN\n", early: true,
	}, {
		name:   "expiry: answer too late, accept if res.len gt 0 then reject",
		delay:  "1s",
		rules:  "tcp-response content accept if { res.len gt 0 }\n   tcp-response content reject",
		pieces: []inspectPiece{{2500 * ms, "late\n"}},
		want:   "",
	}}
	for _, tc := range cases {
		for _, filtered := range []bool{false, true} {
			name := tc.name
			var files map[string]string
			cfg := `
defaults
   mode tcp
   timeout client 10s
   timeout server 10s
   timeout connect 5s
listen fe
   bind 127.0.0.1:0
   tcp-response inspect-delay ` + tc.delay + `
   ` + tc.rules + `
`
			if filtered {
				name += "/filtered"
				files = map[string]string{"p.lua": tcpPassFilter}
				cfg = "global\n   lua-load {dir}/p.lua\n" + cfg + "   filter lua.pass\n"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				testTCPResponseInspect(t, cfg, files, tc.delay, tc.pieces, tc.want, tc.early)
			})
		}
	}
}

// testTCPResponseInspect runs cfg (less its server line) under luaproxy
// and HAProxy against a server answering pieces, and checks what the
// client gets, and that it gets it early when early.
func testTCPResponseInspect(t *testing.T, cfg string, files map[string]string, delayStr string, pieces []inspectPiece, want string, early bool) {
	origin := pieceOrigin(t, pieces)
	cfg += "   server s " + origin + "\n"
	impls := map[string]string{"luaproxy": startProxy(t, cfg, files).addr(0)}
	impls["haproxy"], _ = runHAProxyLog(t, cfg, files)
	delay, _ := time.ParseDuration(delayStr)
	for _, name := range []string{"haproxy", "luaproxy"} {
		// HAProxy 2.6 itself, under a busy machine's scheduling, now and then
		// leaves the filtered answer waiting past the client's patience
		// (seen once in CI): the reference gets three tries, luaproxy one.
		tries := 1
		if name == "haproxy" {
			tries = 3
		}
		for try := 1; ; try++ {
			o := inspectClient(t, impls[name], []inspectPiece{{0, "hi\n"}}, delay+5*time.Second, false)
			var errs []string
			if o.got != want {
				errs = append(errs, fmt.Sprintf("%s: got %q after %v, want %q", name, o.got, o.elapsed, want))
			}
			if early && o.elapsed > delay*2/3 {
				errs = append(errs, fmt.Sprintf("%s: answered after %v, want before the inspect-delay (%v) expires", name, o.elapsed, delay))
			}
			if len(errs) == 0 {
				break
			}
			if try < tries {
				t.Logf("try %d: %s", try, strings.Join(errs, "; "))
				continue
			}
			for _, e := range errs {
				t.Error(e)
			}
			break
		}
	}
}
