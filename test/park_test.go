package test

import (
	"bufio"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"luaproxy/core"
)

// parkAfter is the engine's ParkAfter in these tests.
const parkAfter = 50 * time.Millisecond

func parkQuickly(e *core.Engine) { e.ParkAfter = parkAfter }

// okRequest sends one keep-alive request on c and reads okProxy's answer.
func okRequest(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := readHead(br); err != nil {
		t.Fatal(err)
	}
	if body, err := br.ReadString('\n'); err != nil || body != "ok\n" {
		t.Fatalf("body %q, %v", body, err)
	}
}

// TestParkedConnectionsGiveTheirStacksBack: keep-alive connections that
// wait longer than ParkAfter for their next request leave the goroutine
// that served them (its stack grown to 8 KiB or more); they wait with no
// goroutine of their own, in the engine's parker (core/parker_linux.go),
// and their next requests are served as before.
func TestParkedConnectionsGiveTheirStacksBack(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 200 connections")
	}
	p := okProxyWith(t, "", parkQuickly)
	const n = 200
	stacks := func() int64 {
		_, stack := memInUse()
		return stack
	}
	warm := must(net.Dial("tcp", p.addr(0)))
	okRequest(t, warm, bufio.NewReader(warm))
	warm.Close()
	time.Sleep(50 * time.Millisecond)
	before := stacks()
	type client struct {
		c  net.Conn
		br *bufio.Reader
	}
	cs := make([]client, 0, n)
	defer func() {
		for _, c := range cs {
			c.c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c := must(net.Dial("tcp", p.addr(0)))
		_ = c.SetDeadline(time.Now().Add(60 * time.Second))
		cs = append(cs, client{c, bufio.NewReaderSize(c, 64)})
		okRequest(t, c, cs[i].br)
	}
	// Every connection idle for ParkAfter, seen by a sweep (twice per
	// ParkAfter), parks: no goroutine serves it until its next request.
	parked := func(round int, limit int64) {
		t.Helper()
		var per int64
		var waiting int
		for deadline := time.Now().Add(10 * time.Second); ; {
			time.Sleep(4 * parkAfter)
			per = (stacks() - before) / n
			waiting, _ = streamGoroutines()
			if per <= limit && waiting == 0 || time.Now().After(deadline) {
				break
			}
		}
		t.Logf("%d parked keep-alive connections (round %d): %d bytes of goroutine stack each, %d goroutines", n, round, per, waiting)
		if waiting > 0 {
			t.Errorf("%d goroutines serve the parked connections", waiting)
		}
		// (the race detector's frames are larger)
		if per > limit && !raceEnabled {
			t.Errorf("a parked connection keeps %d bytes of goroutine stack", per)
		}
	}
	// A parked connection holds no stack; the runtime keeps the stacks of
	// up to 64 ended goroutines per P for its next ones (those that served
	// the round's requests, 8 KiB at most here), spread over the n.
	limit := int64(512 + 64*runtime.GOMAXPROCS(0)*(8<<10)/n)
	parked(1, limit) // unparked: 8 KiB (TestIdleKeepAliveMemory)
	for i := range cs {
		okRequest(t, cs[i].c, cs[i].br) // served by the parked connection's goroutine
	}
	for i := range cs {
		okRequest(t, cs[i].c, cs[i].br) // on the same one, not parked yet
	}
	parked(2, limit)
	for i := range cs {
		okRequest(t, cs[i].c, cs[i].br)
	}
	if s := p.log.String(); strings.Contains(s, "panic") {
		t.Errorf("log: %s", s)
	}
}

// TestParkedConnectionTimeouts: a parked connection's wait ends as the
// goroutine's did: on timeout http-keep-alive (closed without an answer),
// on the client's close, and on a soft stop (closed at once).
func TestParkedConnectionTimeouts(t *testing.T) {
	p := okProxyWith(t, "    timeout http-keep-alive 600ms", parkQuickly)
	c := must(net.Dial("tcp", p.addr(0)))
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	okRequest(t, c, br)
	start := time.Now()
	out, err := io.ReadAll(br)
	idle := time.Since(start)
	if err != nil || len(out) != 0 {
		t.Fatalf("after the keep-alive timeout: %q, %v", out, err)
	}
	if idle < 500*time.Millisecond || idle > 5*time.Second {
		t.Errorf("the parked connection closed after %v, timeout http-keep-alive is 600ms", idle)
	}

	// a client that closes while parked: its stream ends (the engine's
	// count of connections goes back)
	c2 := must(net.Dial("tcp", p.addr(0)))
	br2 := bufio.NewReader(c2)
	_ = c2.SetDeadline(time.Now().Add(30 * time.Second))
	okRequest(t, c2, br2)
	time.Sleep(4 * parkAfter)
	c2.Close()
	fe := p.e.Frontend("fe")
	for deadline := time.Now().Add(10 * time.Second); fe.Conns.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still counted after the parked client closed", fe.Conns.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// a soft stop closes the parked ones at once
	c3 := must(net.Dial("tcp", p.addr(0)))
	defer c3.Close()
	br3 := bufio.NewReader(c3)
	_ = c3.SetDeadline(time.Now().Add(30 * time.Second))
	okRequest(t, c3, br3)
	time.Sleep(4 * parkAfter)
	start = time.Now()
	p.e.Stop()
	if out, err := io.ReadAll(br3); err != nil || len(out) != 0 {
		t.Fatalf("after the soft stop: %q, %v", out, err)
	}
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Errorf("the soft stop closed the parked connection after %v", d)
	}
	done := make(chan struct{})
	go func() { p.e.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the engine's streams did not end after the soft stop")
	}
}

// TestParkedFirstRequest: a connection that sends nothing for longer
// than ParkAfter parks with no goroutine of its own, and its first
// request, when it comes, is served; so is a pipelined pair after it.
func TestParkedFirstRequest(t *testing.T) {
	p := okProxyWith(t, "", parkQuickly)
	serving0, _ := quietStreamGoroutines()
	c := must(net.Dial("tcp", p.addr(0)))
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	serving := serving0 + 1
	for deadline := time.Now().Add(10 * time.Second); serving > serving0 && time.Now().Before(deadline); {
		time.Sleep(2 * parkAfter)
		serving, _ = streamGoroutines()
	}
	if serving > serving0 {
		t.Fatalf("%d goroutines serve a connection waiting for its first request", serving-serving0)
	}
	br := bufio.NewReader(c)
	okRequest(t, c, br)
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := readHead(br); err != nil {
			t.Fatal(err)
		}
		if body, err := br.ReadString('\n'); err != nil || body != "ok\n" {
			t.Fatalf("pipelined response %d: %q, %v", i+1, body, err)
		}
	}
}
