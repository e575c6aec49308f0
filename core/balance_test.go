package core

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"luaproxy/core/sample"
	"luaproxy/netio/h1"
)

func backendOf(t *testing.T, balance string, servers ...string) *Proxy {
	t.Helper()
	cfg := "backend be\n    balance " + balance + "\n"
	for i, s := range servers {
		cfg += fmt.Sprintf("    server s%d 127.0.0.1:%d %s\n", i+1, 10001+i, s)
	}
	e, _ := loadEngine(t, cfg)
	return e.Backend("be")
}

func pickN(t *testing.T, px *Proxy, n int, in func(i int) *lbInput) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		var x *lbInput
		if in != nil {
			x = in(i)
		}
		s, _, _ := px.pickServer(x, nil)
		if s == nil {
			got["<none>"]++
			continue
		}
		got[s.Name]++
	}
	return got
}

func TestBalanceRoundRobinWeights(t *testing.T) {
	px := backendOf(t, "roundrobin", "weight 1", "weight 2", "weight 0")
	got := pickN(t, px, 300, nil)
	if got["s1"] != 100 || got["s2"] != 200 || got["s3"] != 0 {
		t.Fatalf("weighted rr: %v", got)
	}
	// Smooth: never the same server three times in a row with 1:2.
	seq := ""
	for i := 0; i < 6; i++ {
		s, _, _ := px.pickServer(nil, nil)
		seq += s.Name[1:]
	}
	if strings.Contains(seq, "222") {
		t.Fatalf("rr not smooth: %s", seq)
	}
}

func TestBalanceBackupAndMaint(t *testing.T) {
	px := backendOf(t, "static-rr", "", "backup", "backup", "disabled")
	if got := pickN(t, px, 10, nil); got["s1"] != 10 {
		t.Fatalf("active only: %v", got)
	}
	s1 := px.FindServer("s1")
	s1.mu.Lock()
	s1.state = StateStopped
	s1.mu.Unlock()
	px.lbRebuild()
	if got := pickN(t, px, 10, nil); got["s2"] != 10 {
		t.Fatalf("first backup only: %v", got)
	}
	px.Options.AllBackups = true
	if got := pickN(t, px, 10, nil); got["s2"] != 5 || got["s3"] != 5 {
		t.Fatalf("allbackups: %v", got)
	}
}

func TestBalanceLeastConnAndFirst(t *testing.T) {
	px := backendOf(t, "leastconn", "", "", "")
	px.FindServer("s1").Conns.Store(5)
	px.FindServer("s2").Conns.Store(1)
	px.FindServer("s3").Conns.Store(3)
	if got := pickN(t, px, 4, nil); got["s2"] != 4 {
		t.Fatalf("leastconn: %v", got)
	}
	px = backendOf(t, "first", "maxconn 2", "maxconn 2")
	s1 := px.FindServer("s1")
	if s, _, _ := px.pickServer(nil, nil); s != s1 {
		t.Fatalf("first: %v", s)
	}
	s1.Conns.Store(2)
	if s, _, _ := px.pickServer(nil, nil); s.Name != "s2" {
		t.Fatalf("first when s1 full: %v", s)
	}
	px.FindServer("s2").Conns.Store(2)
	if s, full, _ := px.pickServer(nil, nil); s != nil || !full {
		t.Fatalf("all full: %v %v", s, full)
	}
	// "first" goes by id, not by declaration order.
	px = backendOf(t, "first", "id 9", "id 3")
	if s, _, _ := px.pickServer(nil, nil); s.Name != "s2" {
		t.Fatalf("first by id: %v", s)
	}
}

func TestBalanceHashes(t *testing.T) {
	px := backendOf(t, "source", "", "", "")
	src := func(i int) *lbInput { return &lbInput{src: netip.MustParseAddr("10.0.0.7")} }
	if got := pickN(t, px, 20, src); len(got) != 1 {
		t.Fatalf("source not sticky: %v", got)
	}
	spread := pickN(t, px, 300, func(i int) *lbInput {
		return &lbInput{src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})}
	})
	if len(spread) != 3 {
		t.Fatalf("source does not spread: %v", spread)
	}

	px = backendOf(t, "uri", "", "", "")
	req := func(uri string) func(int) *lbInput {
		return func(int) *lbInput { return &lbInput{req: &h1.Message{URI: uri}} }
	}
	a := pickN(t, px, 5, req("/a/b?x=1"))
	b := pickN(t, px, 5, req("/a/b?x=2"))
	if len(a) != 1 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("uri hashing ignores the query: %v %v", a, b)
	}

	px = backendOf(t, "hdr(X-User)", "", "", "")
	hdr := func(v string) func(int) *lbInput {
		return func(int) *lbInput {
			m := &h1.Message{}
			if v != "" {
				m.Add("x-user", v)
			}
			return &lbInput{req: m}
		}
	}
	if got := pickN(t, px, 10, hdr("bob")); len(got) != 1 {
		t.Fatalf("hdr not sticky: %v", got)
	}
	if got := pickN(t, px, 9, hdr("")); len(got) != 3 {
		t.Fatalf("hdr absent falls back to roundrobin: %v", got)
	}

	px = backendOf(t, "random", "", "weight 0", "")
	if got := pickN(t, px, 200, nil); got["s2"] != 0 || got["s1"] == 0 || got["s3"] == 0 {
		t.Fatalf("random: %v", got)
	}
}

// "hash-type ... none" takes the key's leading integer as its hash (a
// HAProxy 2.8 addition, so not in the differential test): keys differing
// after the number land together.
func TestBalanceHashTypeNone(t *testing.T) {
	px := backendOf(t, "hdr(x-k)", "", "", "")
	px.Balance.Hash = HashType{Func: HashNone}
	hdr := func(v string) func(int) *lbInput {
		return func(int) *lbInput {
			m := &h1.Message{}
			m.Add("x-k", v)
			return &lbInput{req: m}
		}
	}
	m := hashMap(px.lbActive)
	for _, k := range []string{"17", "17abc", "-5", "123456789"} {
		want := m[uint32(leadingInt(k))%uint32(len(m))].Name
		if got := pickN(t, px, 3, hdr(k)); got[want] != 3 {
			t.Errorf("key %q: %v, want %s", k, got, want)
		}
	}
}

// url_param hashes the value of the first parameter of that name.
func TestURLParam(t *testing.T) {
	for _, c := range []struct{ uri, v string }{
		{"/p?id=3", "3"}, {"/p?a=1&id=x&id=y", "x"}, {"/p?xid=1&id=", ""}, {"/p?id", "<none>"},
		{"/p", "<none>"}, {"/p?a=1&ids=2", "<none>"},
	} {
		v, ok := urlParam(c.uri, "id")
		if !ok {
			v = "<none>"
		}
		if v != c.v {
			t.Errorf("%s: %q, want %q", c.uri, v, c.v)
		}
	}
}

func TestBalanceURIOptions(t *testing.T) {
	b := Balance{URIDepth: 2}
	if k := b.uriKey(&h1.Message{URI: "/a/b/c/d?q"}); k != "/a/b" {
		t.Fatalf("depth: %q", k)
	}
	b = Balance{URIWhole: true, URILen: 6}
	if k := b.uriKey(&h1.Message{URI: "/a?q=1234"}); k != "/a?q=1" {
		t.Fatalf("whole+len: %q", k)
	}
}

func TestBalanceConfigErrors(t *testing.T) {
	for _, cfg := range []string{
		"backend be\n    balance nope\n",
		"backend be\n    balance hdr()\n",
		"backend be\n    server s1 127.0.0.1:1 weight 300\n",
		"backend be\n    server s1 127.0.0.1:1 bogus\n",
		"backend be\n    server s1 127.0.0.1:1 id 1\n    server s2 127.0.0.1:2 id 1\n",
		"backend be\n    hash-type sorted\n",
		"backend be\n    hash-type consistent md5\n",
		"backend be\n    hash-type map-based sdbm sideways\n",
		"backend be\n    hash-type avalanche\n",
		"backend be\n    balance url_param\n",
	} {
		c, err := configParse(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := New(NewLogger(&syncBuf{})).Load(c); err == nil || !strings.Contains(err.Error(), "parsing [t.cfg:") {
			t.Errorf("%q: want a located error, got %v", cfg, err)
		}
	}
}

// TestBalanceHashConfigErrors checks the messages of HAProxy 2.6.12 for
// the hash-based keywords (taken from "haproxy -c").
func TestBalanceHashConfigErrors(t *testing.T) {
	const srv = "    server s1 127.0.0.1:1\n"
	for _, c := range []struct{ line, want string }{
		{"balance hash", "parsing [t.cfg:2] : balance hash requires a sample expression."},
		{"balance hash req.hdr(x) extra", "parsing [t.cfg:2] : balance hash takes no other argument (got 'extra')."},
		{"balance hash nosuchfetch", "backend 'be' [t.cfg:1]: failed to parse 'balance hash' expression 'nosuchfetch' in : unknown fetch method 'nosuchfetch'."},
		{"balance hash res.hdr(x)", "backend 'be' [t.cfg:1]: error detected while parsing 'balance hash' expression 'res.hdr(x)' which requires information from HTTP response headers, which is not available here."},
		{"balance rdp-cookie(", "parsing [t.cfg:2] : balance rdp-cookie : missing cookie name."},
		{"balance rdp-cookie()", "parsing [t.cfg:2] : balance rdp-cookie : missing cookie name."},
		{"balance url_param", "parsing [t.cfg:2] : balance url_param requires an URL parameter name."},
		{"balance url_param id foo", "parsing [t.cfg:2] : balance url_param only accepts 'check_post' modifier (got 'foo')."},
		{"hash-balance-factor", "parsing [t.cfg:2] : 'hash-balance-factor' expects an integer argument."},
		{"hash-balance-factor 50", "parsing [t.cfg:2] : 'hash-balance-factor' must be 0 or greater than 100."},
		{"hash-balance-factor 100", "parsing [t.cfg:2] : 'hash-balance-factor' must be 0 or greater than 100."},
		{"hash-balance-factor -5", "parsing [t.cfg:2] : 'hash-balance-factor' must be 0 or greater than 100."},
		{"server s2 127.0.0.1:2 hash-key", "parsing [t.cfg:2] : 'server s2' : 'hash-key expects 'id', 'addr', or 'addr-port' value"},
		{"server s2 127.0.0.1:2 hash-key name", "parsing [t.cfg:2] : 'server s2' : 'hash-key' has to be 'id', 'addr', or 'addr-port'"},
	} {
		c2, err := configParse("backend be\n    " + c.line + "\n" + srv)
		if err != nil {
			t.Fatal(err)
		}
		err = New(NewLogger(&syncBuf{})).Load(c2)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.line, err, c.want)
		}
	}
	// Accepted as HAProxy accepts them.
	for _, line := range []string{
		"balance url_param id check_post", "balance url_param id check_post 64",
		"balance rdp-cookie", "balance rdp-cookie(user)", "balance hash src",
		"balance hash req.hdr(x),lower", "hash-balance-factor 150", "hash-balance-factor 0",
		"hash-balance-factor abc", // atol: 0
		"server s2 127.0.0.1:2 hash-key addr-port",
	} {
		c2, err := configParse("backend be\n    " + line + "\n" + srv)
		if err != nil {
			t.Fatal(err)
		}
		if err := New(NewLogger(&syncBuf{})).Load(c2); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
}

// TestBalancePostParam checks get_server_ph_post's reading of a body.
func TestBalancePostParam(t *testing.T) {
	for _, c := range []struct {
		body, v string
		ok      bool
	}{
		{"id=abc", "abc", true},
		{"a=1&id=x-y&b=2", "x-y", true},
		{"xid=1&id=2", "2", true},
		{"id=", "", true},
		{"id= abc", "", true},             // white space: the value ends there
		{"id=\x01abc", "", false},         // binary: no form at all
		{"id=a\x01b&c=1", "a\x01b", true}, // HAProxy tests the first byte only
		{"a=1", "", false},
		{"id", "", false},
	} {
		v, ok := postParam([]byte(c.body), "id")
		if v != c.v || ok != c.ok {
			t.Errorf("%q: %q %v, want %q %v", c.body, v, ok, c.v, c.ok)
		}
	}
}

// TestRDPCookie checks the RDP cookie reader on an X.224 connection
// request (11 header bytes, then the cookie line).
func TestRDPCookie(t *testing.T) {
	hdr := "\x03\x00\x00\x2c\x27\xe0\x00\x00\x00\x00\x00"
	for _, c := range []struct {
		buf, name, v string
		ok, complete bool
	}{
		{hdr + "Cookie: mstshash=alice\r\n", "mstshash", "alice", true, true},
		{hdr + "cookie:   MSTSHASH=bob\r\n", "mstshash", "bob", true, true},
		{hdr + "Cookie: mstshash=alice\r\n", "", "alice", true, true},
		{hdr + "Cookie: msts=alice\r\n", "mstshash", "", false, true},
		{hdr + "Cookie: mstshash=ali", "mstshash", "", false, false},
		{hdr + "Hello", "mstshash", "", false, false},
		{hdr + "Hello world", "mstshash", "", false, true},
		{"\x03\x00", "mstshash", "", false, false},
	} {
		v, ok, complete := sample.RDPCookie([]byte(c.buf), c.name)
		if v != c.v || ok != c.ok || complete != c.complete {
			t.Errorf("%q (%s): %q %v %v, want %q %v %v", c.buf, c.name, v, ok, complete, c.v, c.ok, c.complete)
		}
	}
}

func TestRedispatchSchedule(t *testing.T) {
	for _, c := range []struct {
		interval, retries int
		want              string
	}{
		{-1, 3, "__R"}, {1, 3, "RRR"}, {2, 4, "_R_R"}, {0, 3, "___"}, {-2, 3, "_R_"},
	} {
		got := ""
		for r := 1; r <= c.retries; r++ {
			if shouldRedispatch(c.interval, r, c.retries) {
				got += "R"
			} else {
				got += "_"
			}
		}
		if got != c.want {
			t.Errorf("redispatch %d/%d: %s, want %s", c.interval, c.retries, got, c.want)
		}
	}
}

// TestServerHashKey checks "hash-key" (HAProxy 2.7+, no keyword of the
// 2.6.12 used for differential tests): with addr-port the ring depends on
// the servers' addresses and ports only, so renumbering the servers moves
// no key; with id (the default) it moves most of them; with addr, two
// servers on one address share their node keys.
func TestServerHashKey(t *testing.T) {
	ring := func(key string, ids ...int) hashRing {
		var srvs []*Server
		for i, id := range ids {
			s := &Server{Name: fmt.Sprintf("s%d", i+1), ID: id, weight: 1, HashKey: key}
			s.Addr.Net, s.Addr.Address = "tcp4", fmt.Sprintf("10.0.0.%d:%d", 1+i%2, 8000+i)
			srvs = append(srvs, s)
		}
		return buildRing(srvs)
	}
	moved := func(a, b hashRing) int {
		n := 0
		for h := uint32(0); h < 1<<32-1<<22; h += 1 << 22 {
			if a.pick(h, nil).Name != b.pick(h, nil).Name {
				n++
			}
		}
		return n
	}
	if n := moved(ring("addr-port", 1, 2, 3, 4), ring("addr-port", 40, 7, 12, 9)); n != 0 {
		t.Errorf("hash-key addr-port: renumbering moved %d keys", n)
	}
	if n := moved(ring("id", 1, 2, 3, 4), ring("id", 40, 7, 12, 9)); n == 0 {
		t.Errorf("hash-key id: renumbering moved no key")
	}
	if n := moved(ring("addr", 1, 2, 3, 4), ring("addr-port", 1, 2, 3, 4)); n == 0 {
		t.Errorf("hash-key addr and addr-port place the servers alike")
	}
	r := ring("addr", 1, 2, 3, 4) // s1 and s3 on 10.0.0.1, s2 and s4 on 10.0.0.2
	keys := map[uint32]int{}
	for _, n := range r {
		keys[n.key]++
	}
	if len(keys) != len(r)/2 {
		t.Errorf("hash-key addr: %d distinct node keys for %d nodes, want half", len(keys), len(r))
	}
	// A name (resolved when connecting) falls back to the id.
	s := &Server{ID: 3, HashKey: "addr"}
	s.Addr.Net, s.Addr.Address = "tcp", "backend.example:80"
	if s.ringKey() != 3*ewghtRange {
		t.Errorf("hash-key addr on a name: key %#x, want the id's", s.ringKey())
	}
}

// TestBalanceWarnings checks HAProxy 2.6.12's warnings: "balance" in a
// section without a backend, a request-buffer fetch hashed in HTTP mode.
func TestBalanceWarnings(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{"frontend f\n    mode http\n    balance rdp-cookie\n",
			"parsing [t.cfg:3] : 'balance' ignored because frontend 'f' has no backend capability."},
		{"backend b\n    mode http\n    balance hash req.payload(0,10)\n    server s1 127.0.0.1:1\n",
			"backend 'b' [t.cfg:1]: L6 sample fetch <req.payload(0,10)> will be ignored in 'balance hash' expression in HTTP mode."},
	} {
		_, log := loadEngine(t, c.cfg)
		if !strings.Contains(log.String(), c.want) {
			t.Errorf("%q: want warning %q, got:\n%s", c.cfg, c.want, log.String())
		}
	}
	if _, log := loadEngine(t, "backend b\n    mode tcp\n    balance hash req.payload(0,10)\n    server s1 127.0.0.1:1\n"); strings.Contains(log.String(), "L6") {
		t.Errorf("tcp mode warned: %s", log.String())
	}
}
