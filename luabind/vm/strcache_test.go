//go:build lua53

package vm

import (
	"strings"
	"testing"
	"unsafe"
)

func TestStrCache(t *testing.T) {
	var sc strCache
	b := []byte("x-lua-host")
	s1 := sc.get(b)
	if s1 != "x-lua-host" {
		t.Fatalf("got %q", s1)
	}
	b[0] = 'y' // the cached copy must not see the caller's bytes change
	if s1 != "x-lua-host" {
		t.Fatalf("cached string changed with its source: %q", s1)
	}
	s2 := sc.get([]byte("y-lua-host"))
	s3 := sc.get([]byte("y-lua-host"))
	if s2 != "y-lua-host" || unsafe.StringData(s2) != unsafe.StringData(s3) {
		t.Fatalf("a repeated string is not served from the cache: %q %q", s2, s3)
	}
	if n := testing.AllocsPerRun(100, func() { sc.get([]byte("y-lua-host")) }); n != 0 {
		t.Fatalf("a hit allocates %v times", n)
	}
	// every slot taken by other strings: answers stay right
	for i := range 4 * strCacheSlots {
		want := strings.Repeat("k", i%50+1) + string(rune('a'+i%26))
		if got := sc.get([]byte(want)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	long := strings.Repeat("v", strCacheMaxLen+1)
	if got := sc.get([]byte(long)); got != long {
		t.Fatalf("long string: got %q", got)
	}
	if got := sc.get(nil); got != "" {
		t.Fatalf("empty: got %q", got)
	}
}
