//go:build linux && (amd64 || arm64)

package netio_test

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"luaproxy/netio"
)

// TestPollConnReplyWait checks the reply wait: after a write, a read that
// follows a short read waits for the poller instead of finding the
// socket empty, and the reply is not missed.
func TestPollConnReplyWait(t *testing.T) {
	client, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	r := netio.PollConn(server, true)
	if r == server {
		t.Fatal("a TCP connection was not wrapped")
	}
	go func() { // an echo, answering after a moment
		buf := make([]byte, 64)
		for {
			n, err := client.Read(buf)
			if err != nil {
				return
			}
			time.Sleep(time.Millisecond)
			if _, err := client.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64)
	before := netio.EAGAINReads()
	for i := 0; i < 50; i++ {
		msg := []byte{'a' + byte(i%26)}
		if _, err := r.Write(msg); err != nil {
			t.Fatal(err)
		}
		_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := r.Read(buf)
		if err != nil || n != 1 || buf[0] != msg[0] {
			t.Fatalf("reply %d: %q %v, want %q", i, buf[:n], err, msg)
		}
	}
	if got := netio.EAGAINReads() - before; got > 5 {
		t.Errorf("%d replies of 50 were read on an empty socket first, want (almost) none", got)
	}
}

// TestPollConnEndWithData checks that an end of stream that comes with
// the last data is seen at once, with and without the reply wait, when
// no write came in between (the TCP forwarding case: a server answers
// and closes).
func TestPollConnEndWithData(t *testing.T) {
	for _, reply := range []bool{false, true} {
		client, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
		r := netio.PollConn(server, reply)
		_, _ = client.Write([]byte("back"))
		_ = client.Close()
		time.Sleep(20 * time.Millisecond) // both arrive before the reads
		_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 64)
		if n, err := r.Read(buf); err != nil || string(buf[:n]) != "back" {
			t.Fatalf("reply=%v: read %q %v", reply, buf[:n], err)
		}
		if n, err := r.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("reply=%v: after the data: %d %v, want EOF", reply, n, err)
		}
	}

	// Data arriving after a short read is read too.
	client, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	r := netio.PollConn(server, false)
	buf := make([]byte, 64)
	_, _ = client.Write([]byte("x"))
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "x" {
		t.Fatalf("read: %q %v", buf[:n], err)
	}
	_, _ = client.Write([]byte("late"))
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("read after a short read: %q %v", buf[:n], err)
	}
}

// TestPollConnDeadlineAndClose checks that the wait ends on the read
// deadline (a timeout net.Error, os.ErrDeadlineExceeded) and on a Close
// from another goroutine (net.ErrClosed).
func TestPollConnDeadlineAndClose(t *testing.T) {
	_, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	r := netio.PollConn(server, false)
	buf := make([]byte, 8)
	_ = r.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	_, err := r.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("after the deadline: %v, want a timeout", err)
	}
	_ = r.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(buf)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	_ = server.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not wake the read")
	}
}

// TestPollConnOthersUnwrapped checks that connections the poller path
// does not know are returned as they are.
func TestPollConnOthersUnwrapped(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if netio.PollConn(a, true) != a {
		t.Fatal("a net.Pipe was wrapped")
	}
}

// TestPollConnWrite checks writes: a write larger than the socket takes
// at once completes while the peer reads slowly, and a write the peer
// never reads ends at the write deadline.
func TestPollConnWrite(t *testing.T) {
	client, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	w := netio.PollConn(server, false)
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = byte(i)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, int64(len(big))))
		got <- b
	}()
	_ = w.SetWriteDeadline(time.Now().Add(20 * time.Second))
	if n, err := w.Write(big); n != len(big) || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	if b := <-got; string(b) != string(big) {
		t.Fatalf("the peer read %d bytes, not what was written", len(b))
	}

	// More than the socket buffers of both ends can hold.
	huge := make([]byte, 128<<20)
	_ = w.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := w.Write(huge)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == len(huge) {
		t.Fatalf("write to a peer that does not read: %d %v, want part of it and a timeout", n, err)
	}
}
