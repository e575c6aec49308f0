package h1

import (
	"strings"
	"testing"

	"luaproxy/netio"
)

// TestReleaseLetsGoOfTheHeaderList: a Reader released between two
// messages (a parked keep-alive connection) lets its parser's header
// list and the message it read last go with its buffer; one released
// inside a head keeps them (the parse resumes).
func TestReleaseLetsGoOfTheHeaderList(t *testing.T) {
	pool := netio.NewBufPool(DefaultBufSize)
	r := NewPooledReader(strings.NewReader("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n"), pool)
	var m Message
	if err := r.ReadRequest(&m, Limits{}); err != nil {
		t.Fatal(err)
	}
	if cap(r.p.hdrs) == 0 || cap(m.Headers) == 0 {
		t.Fatal("no header list after a head")
	}
	r.Release()
	if r.p.hdrs != nil {
		t.Errorf("a released reader keeps a header list of %d", cap(r.p.hdrs))
	}
	if r.body.m != nil {
		t.Error("a released reader keeps the message it read last")
	}

	r.parsing, r.p.hdrs = true, make([]rawHeader, 0, 4) // inside a head
	r.Release()
	if cap(r.p.hdrs) != 4 {
		t.Error("a reader released inside a head lost its parse")
	}
}
