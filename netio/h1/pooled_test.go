package h1_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"luaproxy/netio"
	"luaproxy/netio/h1"
)

// pooledPair returns a client connection and a pooled Reader of its
// server end, read as an HTTP client connection is (WaitKnownEmpty).
func pooledPair(t *testing.T, bp *netio.BufPool) (net.Conn, *h1.Reader) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	_ = server.SetReadDeadline(time.Now().Add(10 * time.Second))
	return client, h1.NewPooledReader(netio.PollConn(server, netio.WaitKnownEmpty), bp)
}

// TestPooledReaderKeepAlive checks that a pooled Reader waiting for the
// next request holds no buffer, and that pipelined requests and a body
// read straight from the buffer (NextBody) are read as from a Reader of
// its own.
func TestPooledReaderKeepAlive(t *testing.T) {
	bp := netio.NewBufPool(h1.DefaultBufSize)
	client, r := pooledPair(t, bp)
	// two pipelined requests, the first with a body
	if _, err := io.WriteString(client, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	var m h1.Message
	if err := r.ReadRequest(&m, h1.Limits{}); err != nil || m.URI != "/a" {
		t.Fatalf("first request %q: %v", m.URI, err)
	}
	body, err := r.NextBody(3)
	if err != nil || string(body) != "hel" {
		t.Fatalf("body %q, %v", body, err)
	}
	body, err = r.NextBody(100)
	if err != nil || string(body) != "lo" {
		t.Fatalf("body %q, %v", body, err)
	}
	if _, err := r.NextBody(100); err != io.EOF {
		t.Fatalf("end of body: %v", err)
	}
	if bp.Free() != 0 {
		t.Fatal("the buffer went back with a request in it")
	}
	if err := r.ReadRequest(&m, h1.Limits{}); err != nil || m.URI != "/b" {
		t.Fatalf("pipelined request %q: %v", m.URI, err)
	}
	// nothing buffered: waiting for the next request, the buffer is back
	done := make(chan error, 1)
	var next h1.Message
	go func() { done <- r.ReadRequest(&next, h1.Limits{}) }()
	deadline := time.Now().Add(5 * time.Second)
	for bp.Free() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if bp.Free() != 1 {
		t.Fatal("the waiting reader holds its buffer")
	}
	if _, err := io.WriteString(client, "GET /c HTTP/1.1\r\nHost: "+strings.Repeat("y", 100)+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil || next.URI != "/c" {
		t.Fatalf("request after the wait %q: %v", next.URI, err)
	}
	if host, _ := next.Get("Host"); host != strings.Repeat("y", 100) {
		t.Fatalf("host %q after the wait", host)
	}
	if bp.Free() != 0 {
		t.Error("the reader did not take a buffer back")
	}
	// a close while waiting: a clean end
	go func() { done <- r.ReadRequest(&next, h1.Limits{}) }()
	time.Sleep(20 * time.Millisecond)
	client.Close()
	if err := <-done; err != io.EOF {
		t.Errorf("close while waiting: %v, want EOF", err)
	}
}

// TestPooledReaderRelease checks that a reader whose buffer went back
// with Release (a server connection idle in its pool) reads the next
// message into a buffer it takes again, and gives back nothing twice.
func TestPooledReaderRelease(t *testing.T) {
	bp := netio.NewBufPool(h1.DefaultBufSize)
	client, r := pooledPair(t, bp)
	io.WriteString(client, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	var m h1.Message
	if err := r.ReadRequest(&m, h1.Limits{}); err != nil || m.URI != "/a" {
		t.Fatalf("first request %q: %v", m.URI, err)
	}
	r.Release()
	r.Release()
	if bp.Free() != 1 {
		t.Fatalf("%d buffers in the pool after Release, want 1", bp.Free())
	}
	if len(r.Peek()) != 0 || r.Buffered() != 0 {
		t.Fatal("a released reader has bytes")
	}
	io.WriteString(client, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
	if err := r.ReadRequest(&m, h1.Limits{}); err != nil || m.URI != "/b" {
		t.Fatalf("request after Release %q: %v", m.URI, err)
	}
	if b, err := r.NextBody(100); err != nil || string(b) != "hi" {
		t.Fatalf("body %q, %v", b, err)
	}
	if bp.Free() != 0 {
		t.Error("the reader reads without a buffer of the pool")
	}
}
