package core

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

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
		s, _ := px.pickServer(x, nil)
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
		s, _ := px.pickServer(nil, nil)
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
	if s, _ := px.pickServer(nil, nil); s != s1 {
		t.Fatalf("first: %v", s)
	}
	s1.Conns.Store(2)
	if s, _ := px.pickServer(nil, nil); s.Name != "s2" {
		t.Fatalf("first when s1 full: %v", s)
	}
	px.FindServer("s2").Conns.Store(2)
	if s, full := px.pickServer(nil, nil); s != nil || !full {
		t.Fatalf("all full: %v %v", s, full)
	}
	// "first" goes by id, not by declaration order.
	px = backendOf(t, "first", "id 9", "id 3")
	if s, _ := px.pickServer(nil, nil); s.Name != "s2" {
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
		"backend be\n    balance url_param id check_post\n",
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
