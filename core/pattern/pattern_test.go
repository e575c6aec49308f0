package pattern_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"luaproxy/core/pattern"
)

func mustExpr(t testing.TB, r *pattern.Ref, m pattern.Match, icase bool) *pattern.Expr {
	t.Helper()
	x, err := r.GetExpr(m, icase, pattern.OutStr)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestMatchMethods(t *testing.T) {
	r := pattern.NewAnonymous(true)
	for _, kv := range [][2]string{{"/api", "api"}, {"/api/v2", "v2"}, {"/", "root"}, {"example.com", "dom"}, {".jpg", "jpg"}} {
		if err := r.Add(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		m      pattern.Match
		icase  bool
		in     string
		want   string
		absent bool
	}{
		{m: pattern.MatchStr, in: "/api", want: "api"},
		{m: pattern.MatchStr, in: "/API", absent: true},
		{m: pattern.MatchStr, icase: true, in: "/API", want: "api"},
		{m: pattern.MatchBeg, in: "/api/v2/x", want: "v2"},
		{m: pattern.MatchBeg, in: "/apix", want: "api"},
		{m: pattern.MatchBeg, in: "/zzz", want: "root"},
		{m: pattern.MatchBeg, icase: true, in: "/API/V2", want: "api"}, // first in order with -i
		{m: pattern.MatchEnd, in: "a/b.jpg", want: "jpg"},
		{m: pattern.MatchSub, in: "xx/api/v2", want: "api"},
		{m: pattern.MatchDom, in: "www.example.com:80", want: "dom"},
		{m: pattern.MatchDom, in: "notexample.com", absent: true},
		{m: pattern.MatchDir, in: "/a/api/b", want: "api"},
		{m: pattern.MatchDir, in: "/a/apix/b", absent: true}, // "/" alone never matches
	} {
		x := mustExpr(t, r, c.m, c.icase)
		e, ok := x.MatchString(c.in)
		if c.absent {
			if ok {
				t.Errorf("%v %q: got %q, want none", c.m, c.in, e.Value)
			}
			continue
		}
		if !ok || e.Value != c.want {
			t.Errorf("%v icase=%v %q: got %v %v, want %q", c.m, c.icase, c.in, e, ok, c.want)
		}
	}
}

func TestIPAndInt(t *testing.T) {
	r := pattern.NewAnonymous(true)
	for _, kv := range [][2]string{{"10.0.0.0/8", "a"}, {"10.1.0.0/255.255.0.0", "b"}, {"::ffff:192.168.0.0/112", "c"}, {"2001:db8::/32", "d"}} {
		r.Add(kv[0], kv[1])
	}
	x := mustExpr(t, r, pattern.MatchIP, false)
	for in, want := range map[string]string{"10.9.9.9": "a", "10.1.2.3": "b", "192.168.3.4": "c", "::ffff:10.1.0.1": "b",
		"2001:db8::5": "d", "2002:a01:203::": "b"} {
		e, ok := x.MatchAddr(netip.MustParseAddr(in))
		if !ok || e.Value != want {
			t.Errorf("%s: got %v, want %s", in, e, want)
		}
	}
	if _, err := r.GetExpr(pattern.MatchInt, false, pattern.OutStr); err == nil {
		t.Error("addresses are not integer ranges")
	}
	ri := pattern.NewAnonymous(false)
	for _, k := range []string{"5", "10:20", ":-3", "100:"} {
		ri.Add(k, "")
	}
	xi := mustExpr(t, ri, pattern.MatchInt, false)
	for v, want := range map[int64]bool{5: true, 6: false, 15: true, -10: true, -2: false, 1000: true} {
		if _, ok := xi.MatchInt(v); ok != want {
			t.Errorf("%d: %v", v, ok)
		}
	}
}

func TestSharedReference(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.map")
	os.WriteFile(p, []byte("a 1\nb 2\n"), 0o644)
	r1, err := pattern.Load(p, true)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := pattern.Load(p, true)
	r3, _ := pattern.Lookup(p)
	if r1 != r2 || r1 != r3 {
		t.Fatal("a file is loaded once and shared")
	}
	x := mustExpr(t, r1, pattern.MatchStr, false)
	g := r1.Generation()
	r2.Add("c", "3")
	if r1.Generation() == g {
		t.Error("generation unchanged after Add")
	}
	if e, ok := x.MatchString("c"); !ok || e.Value != "3" {
		t.Error("index not updated by Add")
	}
	if n, _ := r3.Set("a", "9"); n != 1 {
		t.Error("Set")
	}
	if e, _ := x.MatchString("a"); e.Value != "9" {
		t.Error("Set not seen")
	}
	r1.Clear()
	if _, ok := x.MatchString("b"); ok || r1.Len() != 0 {
		t.Error("Clear")
	}
	// A typed index refuses values it cannot convert.
	xi, _ := r1.GetExpr(pattern.MatchStr, false, pattern.OutInt)
	if err := r1.Add("k", "notanint"); err == nil {
		t.Error("OutInt index accepted a non-integer value")
	}
	_ = xi
}

func TestConcurrentUpdates(t *testing.T) {
	r := pattern.NewAnonymous(true)
	x := mustExpr(t, r, pattern.MatchStr, false)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				k := fmt.Sprintf("k%d-%d", w, i)
				r.Add(k, "v")
				x.MatchString(k)
				if i%3 == 0 {
					r.Del(k)
				}
			}
		}(w)
	}
	wg.Wait()
}

func TestExactLookupDoesNotAllocate(t *testing.T) {
	r := pattern.NewAnonymous(true)
	for i := 0; i < 1000; i++ {
		r.Add(fmt.Sprintf("host%d.example.com", i), "be")
	}
	x := mustExpr(t, r, pattern.MatchStr, false)
	xi := mustExpr(t, r, pattern.MatchStr, true)
	key := "host500.example.com"
	if n := testing.AllocsPerRun(100, func() { x.MatchString(key) }); n != 0 {
		t.Errorf("exact lookup: %v allocs", n)
	}
	upper := "HOST500.EXAMPLE.COM"
	if n := testing.AllocsPerRun(100, func() { xi.MatchString(upper) }); n != 0 {
		t.Errorf("exact -i lookup: %v allocs", n)
	}
}

func benchRef(b *testing.B, n int, key func(i int) string) *pattern.Ref {
	r := pattern.NewAnonymous(true)
	for i := 0; i < n; i++ {
		if err := r.Add(key(i), "v"); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

func BenchmarkMapStrExact100k(b *testing.B) {
	r := benchRef(b, 100000, func(i int) string { return fmt.Sprintf("host%d.example.com", i) })
	x := mustExpr(b, r, pattern.MatchStr, false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x.MatchString("host77777.example.com")
	}
}

func BenchmarkMapBeg100k(b *testing.B) {
	r := benchRef(b, 100000, func(i int) string { return fmt.Sprintf("/p%d/%d", i%997, i) })
	x := mustExpr(b, r, pattern.MatchBeg, false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x.MatchString("/p77/77777/some/longer/path?x=1")
	}
}

func BenchmarkMapIP100k(b *testing.B) {
	r := benchRef(b, 100000, func(i int) string {
		return fmt.Sprintf("10.%d.%d.0/%d", (i>>8)&255, i&255, 24+i%9)
	})
	x := mustExpr(b, r, pattern.MatchIP, false)
	a := netip.MustParseAddr("10.3.7.9")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x.MatchAddr(a)
	}
}
