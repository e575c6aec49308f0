package h1

import (
	"strings"
	"testing"

	"luaproxy/netio"
)

// TestReleaseLetsGoOfTheHeaderList: a Reader released between two
// messages (a parked keep-alive connection) lets its parser's header
// list and the message it read last go with its buffer; one released
// inside a head keeps them (the parse resumes). A read waiting for its
// poller gives back only the buffer.
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
	// a read waiting for the poller gives the empty buffer back, not the
	// list: the next head of a connection in use needs it
	(*lentBuf)(r).Release()
	if r.pb != nil || cap(r.p.hdrs) == 0 {
		t.Errorf("a lent buffer's release: buffer kept %v, header list %d", r.pb != nil, cap(r.p.hdrs))
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
