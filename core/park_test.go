package core

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// A parked keep-alive connection lets go of its transaction (0.7 KiB,
// with the header lists of its request and response, which its last
// request grew) and of the parser's header list (h1's
// TestReleaseLetsGoOfTheHeaderList); nothing else holds the transaction
// (the sample context). They are made again for its next request, which
// is served as any other, numbered on.
func TestParkedConnectionLetsGoOfItsMessages(t *testing.T) {
	e, _ := loadEngine(t, `
defaults
    mode http
    timeout client 30s
frontend fe
    bind 127.0.0.1:0
    http-request return status 200 content-type text/plain string ok
`)
	e.ParkAfter = 20 * time.Millisecond
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(); e.Wait() })
	c, err := net.DialTimeout("tcp", e.Addrs()[0].String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	request := func() {
		t.Helper()
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nAccept: */*\r\nX-A: 1\r\nX-B: 2\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		var resp strings.Builder
		for !strings.HasSuffix(resp.String(), "\r\n\r\nok") {
			b, err := br.ReadByte()
			if err != nil {
				t.Fatalf("response %q: %v", resp.String(), err)
			}
			resp.WriteByte(b)
		}
	}
	request()
	var hc *HTTPConn
	for deadline := time.Now().Add(10 * time.Second); hc == nil; {
		e.idleMu.Lock()
		for p := range e.parkedConns {
			hc = p
		}
		e.idleMu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the connection did not park")
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.idleMu.Lock() // park's writes happen before the move to parkedConns
	s := hc.s
	tx, smp, seq := s.HTTP, s.smp, hc.txSeq
	e.idleMu.Unlock()
	if tx != nil {
		t.Errorf("a parked connection holds its transaction (room for %d headers)", cap(tx.Req.Headers)+cap(tx.Res.Headers))
	}
	if smp.Req != nil || smp.Res != nil || smp.Txn != nil {
		t.Error("the sample context of a parked connection holds its transaction's messages or variables")
	}
	request() // the next request is served
	waitParkedFor(t, e, hc, seq+1)
}

// waitParkedFor waits until hc parks waiting for the request of transaction
// number seq (the numbering goes on across parks).
func waitParkedFor(t *testing.T, e *Engine, hc *HTTPConn, seq uint64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		e.idleMu.Lock()
		_, parked := e.parkedConns[hc]
		got := hc.txSeq
		e.idleMu.Unlock()
		if parked && got == seq {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connection did not park for transaction %d (parked %v, transaction %d)", seq, parked, got)
		}
	}
}
