package core

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// A parked keep-alive connection lets go of what its last request grew:
// the header lists of the transaction's request and response, and the
// parser's (h1's TestReleaseLetsGoOfTheHeaderList): about 0.8 KiB of heap
// per parked connection. They are made again for its next request,
// which is served as any other.
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
	tx := hc.s.HTTP
	held := cap(tx.Req.Headers) + cap(tx.Res.Headers) + cap(tx.Req.Body)
	e.idleMu.Unlock()
	if held != 0 {
		t.Errorf("a parked connection holds room for %d headers and body bytes, want none", held)
	}
	request() // the next request is served
}
