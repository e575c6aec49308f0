package core

import (
	"encoding/hex"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func loadConfig(t *testing.T, cfg string) (*Engine, error) {
	t.Helper()
	cf, err := configParse(cfg)
	if err != nil {
		return nil, err
	}
	e := New(NewLogger(io.Discard))
	return e, e.Load(cf)
}

const checkDefaults = "defaults\n    mode tcp\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n"

// TestUseServerUnknown checks the error for a use-server rule naming no
// server of its section, as haproxy -c prints it.
func TestUseServerUnknown(t *testing.T) {
	for _, c := range []struct{ sect, want string }{
		{"backend b", "backend 'b' : unable to find server 'nope' referenced in a 'use-server' rule."},
		{"listen b\n    bind 127.0.0.1:0", "proxy 'b' : unable to find server 'nope' referenced in a 'use-server' rule."},
	} {
		_, err := loadConfig(t, checkDefaults+c.sect+"\n    use-server nope if TRUE\n    server s1 127.0.0.1:1\n")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.sect, err, c.want)
		}
	}
	_, err := loadConfig(t, checkDefaults+"    use-server s1 if TRUE\nbackend b\n    server s1 127.0.0.1:1\n")
	if err == nil || !strings.Contains(err.Error(), "'use-server' not allowed in 'defaults' section.") {
		t.Errorf("defaults: got %v", err)
	}
}

// TestTCPCheckInherit checks that a section inherits the tcp-check rules
// of its defaults unless it declares its own, which replace them, and
// that option redis-check builds HAProxy's PING/+PONG rules.
func TestTCPCheckInherit(t *testing.T) {
	e, err := loadConfig(t, checkDefaults+`    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG
backend inherits
    server s1 127.0.0.1:1 check
backend own
    tcp-check send-binary 0102
    server s1 127.0.0.1:1 check
backend redis
    option redis-check
    server s1 127.0.0.1:1 check
backend http
    option httpchk
    server s1 127.0.0.1:1 check
`)
	if err != nil {
		t.Fatal(err)
	}
	steps := func(name string) string {
		px := e.Backend(name)
		if !px.Options.TCPChk || px.TCPCheck == nil {
			return "none"
		}
		var b []string
		for _, r := range px.TCPCheck.Rules {
			b = append(b, string(r.Data)+string(r.Pattern))
		}
		return strings.Join(b, "|")
	}
	for name, want := range map[string]string{
		"inherits": "PING\r\n|+PONG",
		"own":      "\x01\x02",
		"redis":    "*1\r\n$4\r\nPING\r\n|+PONG\r\n",
		"http":     "none",
	} {
		if got := steps(name); got != want {
			t.Errorf("%s: rules %q, want %q", name, got, want)
		}
	}
}

// TestProtoCheckPackets checks the requests of the protocol checks byte
// for byte against what haproxy 2.6.12 was seen sending.
func TestProtoCheckPackets(t *testing.T) {
	e, err := loadConfig(t, checkDefaults+`backend pg
    option pgsql-check user bob
    server s1 127.0.0.1:1 check
backend my41
    option mysql-check user bob
    server s1 127.0.0.1:1 check
backend my40
    option mysql-check user bob pre-41
    server s1 127.0.0.1:1 check
backend redis
    option redis-check
    server s1 127.0.0.1:1 check
`)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"pg":    "00000012000300007573657200626f620000",
		"my41":  "250000010082000000800001210000000000000000000000000000000000000000000000626f6200000100000001",
		"my40":  "0a0000010080000001626f6200000100000001",
		"redis": hex.EncodeToString([]byte("*1\r\n$4\r\nPING\r\n")),
	} {
		var got string
		for _, r := range e.Backend(name).TCPCheck.Rules {
			if r.Action == tcpchkSend {
				got = hex.EncodeToString(r.Data)
			}
		}
		if got != want {
			t.Errorf("%s sends %s, want %s", name, got, want)
		}
	}
}

// TestCheckPortless checks haproxy -c's errors for a checked server
// without a port.
func TestCheckPortless(t *testing.T) {
	const head = "config: backend 'b': server 's1' has neither service port nor check port"
	for opts, want := range map[string]string{
		"":                   head + ".",
		"option tcp-check":   head + ".",
		"option httpchk":     head + " nor tcp_check rule 'connect' with port information.",
		"option redis-check": head + " nor tcp_check rule 'connect' with port information.",
		"option tcp-check\n    tcp-check connect port 80\n    tcp-check connect": head + ", and a tcp_check rule 'connect' with no port information.",
		"option tcp-check\n    tcp-check connect port 80":                        "",
	} {
		_, err := loadConfig(t, checkDefaults+"backend b\n    "+opts+"\n    server s1 127.0.0.1 check\n    server s2 127.0.0.1\n")
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", opts, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: got %v, want %q", opts, err, want)
		}
	}
}

// TestTCPCheckFormats runs log-format rules (send-lf, expect string-lf,
// on-success) in a check, which has no stream: no fetch may crash, and
// res.payload sees the response.
func TestTCPCheckFormats(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 256)
		n, _ := c.Read(b)
		got <- string(b[:n])
		_, _ = c.Write([]byte("+PONG from db1\r\n"))
		_, _ = c.Read(b)
	}()
	e, err := loadConfig(t, checkDefaults+`backend b
    option tcp-check
    tcp-check send-lf "PING %[src] %[req.hdr(host)] %[var(txn.x)] %[str(x),upper]\r\n"
    tcp-check expect string-lf "%[str(+PONG)]" on-success "%[res.payload(6,0),word(2,' '),cut_crlf] is up"
    server s1 `+ln.Addr().String()+` check
`)
	if err != nil {
		t.Fatal(err)
	}
	s := e.Backend("b").Servers[0]
	res := e.runTCPCheck(s, e.Backend("b").TCPCheck, time.Now(), time.Second, time.Second)
	if req := <-got; req != "PING    X\r\n" {
		t.Errorf("sent %q", req)
	}
	if !res.Passed || res.Info != "db1 is up" {
		t.Errorf("result %+v", res)
	}
}
