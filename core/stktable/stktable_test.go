package stktable

import (
	"net/netip"
	"testing"
	"time"
)

// newTable returns a table on a manual clock starting at 1000 ms.
func newTable(t testing.TB, decl string) (*Table, *int64) {
	t.Helper()
	cfg, err := ParseConfig("t", splitWords(decl))
	if err != nil {
		t.Fatal(err)
	}
	tb := New(cfg)
	now := int64(1000)
	tb.Now = func() int64 { return now }
	return tb, &now
}

func splitWords(s string) []string {
	var out []string
	w := ""
	for _, c := range s + " " {
		if c == ' ' {
			if w != "" {
				out = append(out, w)
			}
			w = ""
			continue
		}
		w += string(c)
	}
	return out
}

func TestParseConfig(t *testing.T) {
	cases := []struct{ decl, err string }{
		{"type ip size 100k expire 30s store gpc0,http_req_rate(10s)", ""},
		{"type string len 8 size 10", ""},
		{"type ip size 10 store foo", "unknown store option 'foo'"},
		{"type ip size 10 store http_req_rate", "missing argument to store option 'http_req_rate'"},
		{"type ip size 10 store gpc0(1s)", "unexpected argument to store option 'gpc0'"},
		{"type ip size 10 store gpc0,gpc0", ""},
		{"type ip size 10 store gpc(3),gpt(2),gpc_rate(2,10s)", ""},
		{"type ip size 10 store gpc(0)", "array size is out of allowed range (1-100) for store option 'gpc'"},
		{"type ip size 10 store gpc(101)", "array size is out of allowed range (1-100) for store option 'gpc'"},
		{"type ip size 10 store gpc_rate(x,1s)", "array size is out of allowed range (1-100) for store option 'gpc_rate'"},
		{"type ip size 10 store gpc_rate(2)", "missing argument to store option 'gpc_rate'"},
		{"type ip size 10 store gpc", "missing argument to store option 'gpc'"},
		{"type ip size 10 store gpc(2,1s)", "unexpected argument to store option 'gpc'"},
		{"type ip size 10 store gpc(2),gpc1", "simultaneous usage of 'gpc' and 'gpc[0/1]' in a same table is not permitted as 'gpc' overrides 'gpc[0/1]'"},
		{"type ip size 10 store gpt(2),gpt0", "simultaneous usage of 'gpt' and 'gpt0' in a same table is not permitted as 'gpt' overrides 'gpt0'"},
		{"type ip size 10 store gpc_rate(2,1s),gpc1_rate(1s)", "simultaneous usage of 'gpc_rate' and 'gpc[0/1]_rate' in a same table is not permitted as 'gpc_rate' overrides 'gpc[0/1]_rate'"},
		{"type foo size 10", "unknown type 'foo'"},
		{"type ip", "missing size or type"},
	}
	for _, c := range cases {
		_, err := ParseConfig("t", splitWords(c.decl))
		if got := ""; err != nil {
			got = err.Error()
			if got != c.err {
				t.Errorf("%q: got %q, want %q", c.decl, got, c.err)
			}
		} else if c.err != "" {
			t.Errorf("%q: no error, want %q", c.decl, c.err)
		}
	}
	c, _ := ParseConfig("t", splitWords("type ip size 100k expire 30s store gpc0,http_req_rate(10s)"))
	if c.Size != 102400 || c.Expire != 30*time.Second || c.Periods[HTTPReqRate] != 10*time.Second {
		t.Errorf("bad config %+v", c)
	}
}

// TestFreqCtr checks HAProxy's read_freq_ctr_period: the previous
// period's count fades out linearly over the current one.
func TestFreqCtr(t *testing.T) {
	tb, now := newTable(t, "type ip size 10 store http_req_rate(10s)")
	k, _ := tb.IPKey(netip.MustParseAddr("10.0.0.1"))
	e, _ := tb.Get(k)
	for i := 0; i < 10; i++ {
		tb.Add(e, 1, HTTPReqRate)
	}
	steps := []struct {
		at   int64
		want int64
	}{
		{1000, 10}, {10999, 10}, {11000, 10}, {13500, 7}, {16000, 5}, {20999, 0}, {21000, 0}, {40000, 0},
	}
	for _, s := range steps {
		*now = s.at
		if got, _ := tb.Read(e, HTTPReqRate); got != s.want {
			t.Errorf("at %d: rate %d, want %d", s.at, got, s.want)
		}
	}
	*now = 13500
	tb.Add(e, 1, HTTPReqRate) // rotates: prev=10 (period 11000-21000), curr=1
	if got, _ := tb.Read(e, HTTPReqRate); got != 1+10*7500/10000 {
		t.Errorf("after rotation: %d", got)
	}
}

func TestExpireEvictTrack(t *testing.T) {
	tb, now := newTable(t, "type integer size 2 expire 1s store conn_cur")
	a, _ := tb.Track(tb.IntKey(1))
	if _, err := tb.Get(tb.IntKey(2)); err != nil {
		t.Fatal(err)
	}
	// full: the least recently touched unused entry (2) goes.
	if _, err := tb.Get(tb.IntKey(3)); err != nil {
		t.Fatal(err)
	}
	if tb.Lookup(tb.IntKey(2)) != nil || tb.Lookup(tb.IntKey(1)) != a {
		t.Fatal("wrong eviction")
	}
	*now += 2000
	if tb.Lookup(tb.IntKey(3)) != nil {
		t.Error("entry 3 should have expired")
	}
	if tb.Lookup(tb.IntKey(1)) == nil {
		t.Error("tracked entry expired")
	}
	tb.Release(a) // touched: lives one more second
	*now += 999
	if tb.Lookup(tb.IntKey(1)) == nil {
		t.Error("released entry expired early")
	}
	*now++
	if tb.Len() != 0 {
		t.Errorf("len %d after expiry", tb.Len())
	}
	np, _ := newTable(t, "type integer size 1 nopurge")
	np.Get(np.IntKey(1))
	if _, err := np.Get(np.IntKey(2)); err != ErrFull {
		t.Errorf("nopurge: %v", err)
	}
}

func TestKeys(t *testing.T) {
	ip, _ := newTable(t, "type ip size 10")
	if _, ok := ip.IPKey(netip.MustParseAddr("::1")); ok {
		t.Error("::1 in an ip table")
	}
	k, _ := ip.IPKey(netip.MustParseAddr("::ffff:1.2.3.4"))
	if ip.FormatKey(k) != "1.2.3.4" {
		t.Error(ip.FormatKey(k))
	}
	v6, _ := newTable(t, "type ipv6 size 10")
	k, _ = v6.IPKey(netip.MustParseAddr("1.2.3.4"))
	if v6.FormatKey(k) != "::ffff:1.2.3.4" {
		t.Error(v6.FormatKey(k))
	}
	s, _ := newTable(t, "type string len 4 size 10")
	if s.StringKey("abcdef") != "abcd" {
		t.Error("no truncation")
	}
	b, _ := newTable(t, "type binary len 4 size 10")
	k, _ = b.ParseKey("0102")
	if b.FormatKey(k) != "01020000" {
		t.Error(b.FormatKey(k))
	}
	in, _ := newTable(t, "type integer size 10")
	if _, err := in.ParseKey("zz"); err != ErrBadKey {
		t.Error("zz accepted")
	}
	for _, v := range []int64{43, 42, 7} {
		in.Get(in.IntKey(v))
	}
	var got []string
	for _, s := range in.Entries() {
		got = append(got, in.FormatKey(s.Key))
	}
	if len(got) != 3 || got[0] != "7" || got[1] != "42" || got[2] != "43" {
		t.Errorf("order %v", got)
	}
}

// BenchmarkLookupUpdate measures a track-like lookup+update on a table
// of 100k IPv4 entries.
func BenchmarkLookupUpdate(b *testing.B) {
	tb, _ := newTable(b, "type ip size 200k expire 30s store conn_cnt,http_req_rate(10s)")
	keys := make([]string, 100000)
	for i := range keys {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		keys[i], _ = tb.IPKey(a)
		tb.Get(keys[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, _ := tb.Get(keys[i%len(keys)])
		tb.Add(e, 1, ConnCnt, HTTPReqRate)
	}
}

// TestArrays checks the gpc/gpt/gpc_rate arrays: elements by index, out
// of range ones absent, and the legacy gpc0/gpc1/gpt0 (and rates) working
// on elements 0 and 1 when the table stores the arrays, as in HAProxy.
func TestArrays(t *testing.T) {
	tb, now := newTable(t, "type ip size 10 store gpc(3),gpt(2),gpc_rate(2,10s),conn_cnt")
	e, err := tb.Get("k")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := tb.AddElem(e, 1, 2, GPC, GPCRate); !ok || v != 1 {
		t.Errorf("gpc(2)+1 = %d %v", v, ok)
	}
	if _, ok := tb.ReadElem(e, GPCRate, 2); ok {
		t.Errorf("gpc_rate(2) exists in an array of 2")
	}
	tb.Add(e, 1, GPC1, GPC1Rate)
	tb.Add(e, 1, GPC1, GPC1Rate)
	_ = tb.Set(e, GPT0, 42)
	_ = tb.SetElem(e, GPT, 1, 7)
	*now += 5000
	for _, c := range []struct {
		d    DataType
		idx  int
		want int64
	}{{GPC, 1, 2}, {GPC, 2, 1}, {GPC, 0, 0}, {GPCRate, 1, 2}, {GPT, 0, 42}, {GPT, 1, 7}} {
		if v, ok := tb.ReadElem(e, c.d, c.idx); !ok || v != c.want {
			t.Errorf("%s(%d) = %d %v, want %d", c.d, c.idx, v, ok, c.want)
		}
	}
	for _, c := range []struct {
		d    DataType
		want int64
	}{{GPC1, 2}, {GPC1Rate, 2}, {GPT0, 42}, {GPC0, 0}} {
		if v, ok := tb.Read(e, c.d); !ok || v != c.want {
			t.Errorf("legacy %s = %d %v, want %d", c.d, v, ok, c.want)
		}
	}
	if old, ok := tb.SwapElem(e, GPC, 1, 0); !ok || old != 2 {
		t.Errorf("clear gpc(1): %d %v", old, ok)
	}
	if !tb.Stores(GPC0) || tb.Declares(GPC0) || !tb.Declares(GPC) {
		t.Errorf("Stores/Declares through the array")
	}
	s := tb.Entries()[0]
	if got := s.Elems[GPC]; len(got) != 3 || got[2] != 1 {
		t.Errorf("snapshot gpc = %v", got)
	}
}

// TestRemaining checks the entry lifetime behind table_expire and
// table_idle (idle = expire - remaining).
func TestRemaining(t *testing.T) {
	tb, now := newTable(t, "type ip size 10 expire 10s")
	e, _ := tb.Get("k")
	*now += 2500
	if r := tb.Remaining(e); r != 7500 {
		t.Errorf("remaining = %d, want 7500", r)
	}
	tb.Touch(e)
	if r := tb.Remaining(e); r != 10000 {
		t.Errorf("remaining after touch = %d, want 10000", r)
	}
	nx, _ := newTable(t, "type ip size 10")
	e, _ = nx.Get("k")
	if r := nx.Remaining(e); r != 0 {
		t.Errorf("no expire: remaining = %d", r)
	}
}
