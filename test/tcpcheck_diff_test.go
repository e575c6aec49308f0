//go:build lua53

package test

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkOrigin is a scripted TCP server for health checks. Each
// connection reads one request, then per mode: "good" answers "+PONG"
// and waits for the checker to close, "goodclose" answers "+PONG" and
// closes, "wrong" answers "-ERR nope" and closes, "close" closes without
// answering, "hang" never answers, "flip" answers like "wrong" until
// flipAt, then like "good". The request is read before closing, so that
// the close is a FIN, never a reset. "smtpflip" is an SMTP server that
// refuses with a 554 banner until flipAt, then greets, answers the
// HELO and the QUIT. "pgflip" is a PostgreSQL server that refuses the
// startup message until flipAt, then accepts it; "pgpass" answers with
// an authentication request HAProxy does not take for a live server.
// "myflip" is a MySQL server that refuses with an error packet until
// flipAt, then greets and accepts the check's user; "myerr" always
// refuses. "ldapflip" answers an LDAP bind with invalidCredentials until
// flipAt, then with success.
func checkOrigin(t *testing.T, mode string, flipAt time.Time) string {
	t.Helper()
	return serveConns(t, func(c net.Conn) {
		buf := make([]byte, 512)
		if mode == "myflip" || mode == "myerr" {
			if mode == "myerr" || time.Now().Before(flipAt) {
				_, _ = io.WriteString(c, myPacket(0, "\xff\x6a\x04#HY000Host is blocked"))
				return
			}
			_, _ = io.WriteString(c, myPacket(0, "\x0a5.7.42-log\x00\x01\x00\x00\x00abcdefgh\x00\xff\xf7\x21\x02\x00\xff\x81\x15"+strings.Repeat("\x00", 10)+"ijklmnopqrst\x00mysql_native_password\x00"))
			if _, err := c.Read(buf); err != nil {
				return
			}
			_, _ = io.WriteString(c, myPacket(2, "\x00\x00\x00\x02\x00\x00\x00"))
			_, _ = io.Copy(io.Discard, c)
			return
		}
		if mode == "smtpflip" {
			if time.Now().Before(flipAt) {
				_, _ = io.WriteString(c, "554 go away\r\n")
				return
			}
			for _, reply := range []string{"220 mx.example ESMTP\r\n", "250 mx.example\r\n", "221 bye\r\n"} {
				if _, err := io.WriteString(c, reply); err != nil {
					return
				}
				if reply[0] == '2' && reply[1] == '2' && reply[2] == '1' {
					break
				}
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
			_, _ = io.Copy(io.Discard, c)
			return
		}
		if _, err := c.Read(buf); err != nil {
			return
		}
		switch mode {
		case "ldapflip":
			code := "\x00"
			if time.Now().Before(flipAt) {
				code = "\x31" // invalidCredentials
			}
			_, _ = io.WriteString(c, "\x30\x0c\x02\x01\x01\x61\x07\x0a\x01"+code+"\x04\x00\x04\x00")
			_, _ = io.Copy(io.Discard, c)
			return
		case "pgflip", "pgpass":
			reply := "R\x00\x00\x00\x08\x00\x00\x00\x00" // AuthenticationOk
			if mode == "pgpass" {
				reply = "R\x00\x00\x00\x08\x00\x00\x00\x08" // GSS continue: unexpected
			} else if time.Now().Before(flipAt) {
				_, _ = io.WriteString(c, "E\x00\x00\x00\x2cSFATAL\x00VFATAL\x00C28000\x00Mrole \"x\" does not exist\x00\x00")
				return
			}
			_, _ = io.WriteString(c, reply)
			_, _ = io.Copy(io.Discard, c)
			return
		}
		m := mode
		if m == "flip" {
			m = "wrong"
			if time.Now().After(flipAt) {
				m = "good"
			}
		}
		switch m {
		case "good":
			_, _ = io.WriteString(c, "+PONG\r\n")
		case "goodclose":
			_, _ = io.WriteString(c, "+PONG\r\n")
			return
		case "wrong":
			_, _ = io.WriteString(c, "-ERR nope\r\n")
			return
		case "close":
			return
		}
		_, _ = io.Copy(io.Discard, c) // until the checker closes
	})
}

// myPacket frames a MySQL packet.
func myPacket(seq byte, payload string) string {
	n := len(payload)
	return string([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}) + payload
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

var checkDurationRE = regexp.MustCompile(`check duration: \d+ms`)

// TestTCPCheckDiff runs tcp-check and redis-check health checks against
// scripted servers under luaproxy and haproxy 2.6: the servers going DOWN
// (and back UP) and the reasons logged must be the same, word for word.
func TestTCPCheckDiff(t *testing.T) {
	const cfg = `
global
    log "${LOGADDR}" local0
defaults
    mode tcp
    log global
    timeout client 5s
    timeout server 5s
    timeout connect 1s
    timeout check 300ms
    default-server inter 150 fall 1 rise 1
listen fe
    bind "127.0.0.1:${FE_PORT}"
    server s "${O_good}"
backend b1
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    server wrong "${O_wrong}" check
backend b2
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    server close "${O_close}" check
backend b3
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    server hang "${O_hang}" check
backend b4
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    server refused "${O_refused}" check
backend b5
    option tcp-check
    tcp-check comment "ping step"
    tcp-check send PING\r\n
    tcp-check expect rstring ^\+PONG comment "pong expected"
    server wrong "${O_wrong}" check
backend b6
    option tcp-check
    tcp-check send PING\r\n comment "the ping"
    tcp-check expect rstring ^\+PONG comment "pong expected"
    server close "${O_close}" check
backend b7
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect rstring ^\+PONG comment "pong expected"
    server hang "${O_hang}" check
backend b8
    option redis-check
    server wrong "${O_wrong}" check
backend b9
    option redis-check
    server close "${O_close}" check
backend b10
    option redis-check
    server hang "${O_hang}" check
backend b11
    option redis-check
    server flip "${O_flip}" check
backend b12
    option tcp-check
    tcp-check send-binary 50494e470d0a
    tcp-check expect binary 2b504f4e47
    server flip "${O_flip}" check
backend b13
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect ! string PONG
    server good "${O_good}" check
backend b14
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect ! string PONG
    tcp-check expect binary 2b504f4e48 error-status L7STS
    server wrong "${O_wrong}" check
backend b15
    option tcp-check
    tcp-check connect port "${GOOD_PORT}"
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    tcp-check expect ! string ERR
    server redirected "${O_refused}" check
backend b16
    option tcp-check
    tcp-check connect
    tcp-check send PING\r\n
    tcp-check expect min-recv 20 string +PONG
    server good "${O_good}" check
backend b17
    option tcp-check
    tcp-check connect port "${REFUSED_PORT}" comment "side port"
    server good "${O_good}" check
backend b18
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG on-error "bad answer" tout-status L4TOUT
    server wrong "${O_wrong}" check
backend b19
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG on-error "bad answer" tout-status L4TOUT
    server hang "${O_hang}" check
backend b21
    option smtpchk EHLO checker.example
    server flip "${O_smtpflip}" check
backend b22
    option smtpchk
    server wrong "${O_wrong}" check
backend b23
    option pgsql-check user checker
    server flip "${O_pgflip}" check
backend b24
    option pgsql-check user checker
    server pass "${O_pgpass}" check
backend b25
    option mysql-check user checker
    server flip "${O_myflip}" check
backend b26
    option mysql-check
    server flip "${O_myflip}" check
backend b27
    option mysql-check user checker pre-41
    server err "${O_myerr}" check
backend b28
    option ldap-check
    server flip "${O_ldapflip}" check
backend b29
    option ldap-check
    server wrong "${O_wrong}" check
backend b30
    option tcp-check
    tcp-check send PING\r\n
    tcp-check comment "check pong"
    tcp-check expect string +PONG
    server wrong "${O_wrong}" check
backend b31
    option tcp-check
    tcp-check comment "check pong"
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    server close "${O_close}" check
backend b32
    option tcp-check
    tcp-check comment "the connect"
    tcp-check connect port "${REFUSED_PORT}"
    server good "${O_good}" check
backend b20
    option tcp-check
    server refused "${O_refused}" check
`
	flipAt := time.Now().Add(2500 * time.Millisecond)
	origins := map[string]string{
		"O_good":      checkOrigin(t, "good", flipAt),
		"O_goodclose": checkOrigin(t, "goodclose", flipAt),
		"O_wrong":     checkOrigin(t, "wrong", flipAt),
		"O_close":     checkOrigin(t, "close", flipAt),
		"O_hang":      checkOrigin(t, "hang", flipAt),
		"O_flip":      checkOrigin(t, "flip", flipAt),
		"O_ldapflip":  checkOrigin(t, "ldapflip", flipAt),
		"O_myflip":    checkOrigin(t, "myflip", flipAt),
		"O_myerr":     checkOrigin(t, "myerr", flipAt),
		"O_pgflip":    checkOrigin(t, "pgflip", flipAt),
		"O_pgpass":    checkOrigin(t, "pgpass", flipAt),
		"O_smtpflip":  checkOrigin(t, "smtpflip", flipAt),
		"O_refused":   closedAddr(t),
	}
	_, origins["GOOD_PORT"], _ = net.SplitHostPort(origins["O_goodclose"])
	_, origins["REFUSED_PORT"], _ = net.SplitHostPort(origins["O_refused"])
	sinks := map[string]*syslogSink{}
	impls := startImpls(t, cfg, func(name string) map[string]string {
		sinks[name] = newSyslogSink(t, "Server ")
		env := map[string]string{"LOGADDR": sinks[name].addr}
		for k, v := range origins {
			env[k] = v
		}
		return env
	})
	// Every line expected of luaproxy; haproxy must print the same set.
	want := []string{
		`Server b1/wrong is DOWN, reason: Layer7 invalid response, info: "TCPCHK did not match content '+PONG' at step 2"`,
		`Server b2/close is DOWN, reason: Layer7 invalid response, info: "TCPCHK got an empty response at step 2"`,
		`Server b3/hang is DOWN, reason: Layer7 timeout, info: " at step 2 of tcp-check (expect string '+PONG')"`,
		`Server b4/refused is DOWN, reason: Layer4 connection problem, info: "Connection refused at initial connection step of tcp-check"`,
		`Server b5/wrong is DOWN, reason: Layer7 invalid response, info: "TCPCHK did not match content (regex) at step 3 comment: pong expected"`,
		`Server b6/close is DOWN, reason: Layer7 invalid response, info: "TCPCHK got an empty response at step 2 comment: 'pong expected'"`,
		`Server b7/hang is DOWN, reason: Layer7 timeout, info: " at step 2 of tcp-check (expect regex) comment: 'pong expected'"`,
		`Server b8/wrong is DOWN, reason: Layer7 wrong status, code: 0, info: "-ERR nope"`,
		`Server b9/close is DOWN, reason: Layer7 wrong status, code: 0, info: "TCPCHK got an empty response at step 2"`,
		`Server b10/hang is DOWN, reason: Layer7 timeout`,
		`Server b11/flip is DOWN, reason: Layer7 wrong status, code: 0, info: "-ERR nope"`,
		`Server b11/flip is UP, reason: Layer7 check passed, code: 0, info: "Redis server is ok"`,
		`Server b12/flip is DOWN, reason: Layer7 invalid response, info: "TCPCHK did not match content (binary) at step 2"`,
		`Server b12/flip is UP, reason: Layer7 check passed, code: 0, info: "(tcp-check)"`,
		`Server b13/good is DOWN, reason: Layer7 invalid response, info: "TCPCHK matched unwanted content 'PONG' at step 2"`,
		`Server b14/wrong is DOWN, reason: Layer7 wrong status, code: 0, info: "TCPCHK did not match content (binary) at step 3"`,
		`Server b16/good is DOWN, reason: Layer7 timeout, info: " at step 3 of tcp-check (expect string '+PONG')"`,
		`Server b17/good is DOWN, reason: Layer4 connection problem, info: "Connection refused at step 1 of tcp-check (connect port ` + origins["REFUSED_PORT"] + `) comment: 'side port'"`,
		`Server b18/wrong is DOWN, reason: Layer7 invalid response, info: "bad answer"`,
		`Server b19/hang is DOWN, reason: Layer4 timeout, info: " at step 2 of tcp-check (expect string '+PONG')"`,
		`Server b21/flip is DOWN, reason: Layer7 wrong status, code: 554, info: "go away"`,
		`Server b21/flip is UP, reason: Layer7 check passed, code: 221, info: "bye"`,
		`Server b22/wrong is DOWN, reason: Layer7 timeout`, // waits for a banner,
		`Server b23/flip is DOWN, reason: Layer7 invalid response, info: "FATAL"`,
		`Server b23/flip is UP, reason: Layer7 check passed, code: 0, info: "PostgreSQL server is ok"`,
		`Server b24/pass is DOWN, reason: Layer7 wrong status, code: 0, info: "PostgreSQL unknown error"`,
		`Server b25/flip is DOWN, reason: Layer7 wrong status, code: 1130, info: "#HY000Host is blocked"`,
		`Server b25/flip is UP, reason: Layer7 check passed, code: 0`,
		`Server b26/flip is DOWN, reason: Layer7 wrong status, code: 1130, info: "#HY000Host is blocked"`,
		`Server b26/flip is UP, reason: Layer7 check passed, code: 0`,
		`Server b27/err is DOWN, reason: Layer7 wrong status, code: 1130, info: "#HY000Host is blocked"`,
		`Server b28/flip is DOWN, reason: Layer7 wrong status, code: 49, info: "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9"`,
		`Server b28/flip is UP, reason: Layer7 check passed, code: 0`,
		`Server b29/wrong is DOWN, reason: Layer7 invalid response, info: "Not LDAPv3 protocol"`,
		`Server b30/wrong is DOWN, reason: Layer7 invalid response, info: "TCPCHK did not match content '+PONG' at step 3 comment: check pong"`,
		`Server b31/close is DOWN, reason: Layer7 invalid response, info: "TCPCHK got an empty response at step 3"`,
		`Server b32/good is DOWN, reason: Layer4 connection problem, info: "Connection refused at step 2 of tcp-check (connect port ` + origins["REFUSED_PORT"] + `) comment: 'the connect'"`,
		`Server b20/refused is DOWN, reason: Layer4 connection problem, info: "Connection refused at initial connection step of tcp-check"`,
	}
	norm := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			l = checkDurationRE.ReplaceAllString(l, "check duration: Nms")
			// the counts after the reason depend on nothing here (one
			// server per backend), keep the reason only
			if i := strings.Index(l, ", check duration"); i >= 0 {
				l = l[:i]
			} else if i := strings.Index(l, ". "); i >= 0 {
				l = l[:i]
			}
			out = append(out, l)
		}
		sort.Strings(out)
		return out
	}
	results := map[string][]string{}
	for _, im := range impls {
		s := sinks[im.name]
		deadline := time.Now().Add(15 * time.Second)
		for {
			got := norm(s.snapshot())
			n := 0
			for _, w := range want {
				for _, g := range got {
					if g == w {
						n++
						break
					}
				}
			}
			if n == len(want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(700 * time.Millisecond) // anything unexpected
		results[im.name] = norm(s.snapshot())
	}
	sort.Strings(want)
	lp := strings.Join(results["luaproxy"], "\n")
	if lp != strings.Join(want, "\n") {
		t.Errorf("luaproxy logged:\n%s\nwant:\n%s", lp, strings.Join(want, "\n"))
	}
	if hp, ok := results["haproxy"]; ok && strings.Join(hp, "\n") != lp {
		t.Errorf("haproxy logged:\n%s\nluaproxy:\n%s", strings.Join(hp, "\n"), lp)
	}
}

// captureOrigin records what each connection sends first (within a
// short wait), distinct values only.
type captureOrigin struct {
	addr string
	mu   sync.Mutex
	seen map[string]bool
}

func newCaptureOrigin(t *testing.T) *captureOrigin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	o := &captureOrigin{addr: ln.Addr().String(), seen: map[string]bool{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var got []byte
				buf := make([]byte, 256)
				_ = c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
				for {
					n, err := c.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						break
					}
				}
				// the PROXY header and what follows, briefly
				s := proxyPortsRE.ReplaceAllString(string(got), "$1 P P")
				head := 0
				switch {
				case strings.HasPrefix(s, "PROXY "):
					head = strings.Index(s, "\r\n") + 2
				case strings.HasPrefix(s, "\r\n\r\n\x00\r\nQUIT\n"):
					head = 16
				}
				s = s[:min(len(s), head+5)]
				o.mu.Lock()
				o.seen[s] = true
				o.mu.Unlock()
			}()
		}
	}()
	return o
}

var proxyPortsRE = regexp.MustCompile(`(PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1) \d+ \d+`)

func (o *captureOrigin) values() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var v []string
	for k := range o.seen {
		v = append(v, fmt.Sprintf("%q", k))
	}
	sort.Strings(v)
	return strings.Join(v, " ")
}

// TestCheckProxyHeaderDiff compares the PROXY header health checks start
// with: the server's send-proxy (v1 with the check connection's
// addresses, v2 a LOCAL command) unless the check port is another,
// check-send-proxy, and tcp-check connect send-proxy. (Plain connect
// checks close with a reset before the capture may accept them: they
// send something here.)
func TestCheckProxyHeaderDiff(t *testing.T) {
	const cfg = `
defaults
    mode tcp
    timeout client 5s
    timeout server 5s
    timeout connect 1s
    default-server inter 200
listen fe
    bind "127.0.0.1:${FE_PORT}"
    server s 127.0.0.1:1
backend v1
    server s "${C_v1}" send-proxy check
backend v2
    server s "${C_v2}" send-proxy-v2 check
backend tcpchk
    option tcp-check
    tcp-check connect send-proxy
    tcp-check send hello
    server s "${C_tcpchk}" check
backend chksp
    server s "${C_chksp}" check-send-proxy check
backend port
    option httpchk
    server s 127.0.0.1:1 send-proxy check port "${C_port_port}"
`
	names := []string{"v1", "v2", "tcpchk", "chksp", "port"}
	caps := map[string]map[string]*captureOrigin{}
	impls := startImpls(t, cfg, func(impl string) map[string]string {
		caps[impl] = map[string]*captureOrigin{}
		env := map[string]string{}
		for _, n := range names {
			o := newCaptureOrigin(t)
			caps[impl][n] = o
			env["C_"+n] = o.addr
			_, env["C_"+n+"_port"], _ = net.SplitHostPort(o.addr)
		}
		return env
	})
	time.Sleep(1200 * time.Millisecond)
	want := map[string]string{
		"v1":     `"PROXY TCP4 127.0.0.1 127.0.0.1 P P\r\n"`,
		"v2":     `"\r\n\r\n\x00\r\nQUIT\n \x00\x00\x00"`,
		"tcpchk": `"PROXY TCP4 127.0.0.1 127.0.0.1 P P\r\nhello"`,
		"chksp":  `"PROXY TCP4 127.0.0.1 127.0.0.1 P P\r\n"`,
		"port":   `"OPTIO"`,
	}
	for _, im := range impls {
		got := map[string]string{}
		for _, n := range names {
			got[n] = caps[im.name][n].values()
		}
		if diffTable(got) != diffTable(want) {
			t.Errorf("%s:\n%s\nwant:\n%s", im.name, diffTable(got), diffTable(want))
		}
	}
}
