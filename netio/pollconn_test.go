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

// TestPollConnWaitsAfterShortRead checks HAProxy's read rule: after a
// short read, the next read waits for the poller instead of finding the
// socket empty, and data that arrived in between is not missed.
func TestPollConnWaitsAfterShortRead(t *testing.T) {
	client, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	r := netio.PollConn(server)
	if r == server {
		t.Fatal("a TCP connection was not wrapped")
	}
	buf := make([]byte, 64)
	before := netio.EAGAINReads()
	for i := 0; i < 50; i++ {
		msg := []byte{'a' + byte(i%26)}
		go func() {
			time.Sleep(time.Millisecond)
			_, _ = client.Write(msg)
		}()
		_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := r.Read(buf)
		if err != nil || n != 1 || buf[0] != msg[0] {
			t.Fatalf("read %d: %q %v, want %q", i, buf[:n], err, msg)
		}
	}
	if got := netio.EAGAINReads() - before; got > 5 {
		t.Errorf("%d reads of 50 found the socket empty, want (almost) none", got)
	}

	// Data arriving after a short read and before the next Read call.
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "x" {
		t.Fatalf("read: %q %v", buf[:n], err)
	}
	if _, err := client.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("read after a short read: %q %v", buf[:n], err)
	}

	// A full buffer is not a short read: the rest is read at once.
	if _, err := client.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	small := make([]byte, 4)
	var got []byte
	for len(got) < 10 {
		n, err := r.Read(small)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, small[:n]...)
	}
	if string(got) != "0123456789" {
		t.Fatalf("got %q", got)
	}

	// End of stream.
	_ = client.Close()
	if n, err := r.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after close: %d %v, want 0 EOF", n, err)
	}
}

// TestPollConnDeadlineAndClose checks that the wait ends on the read
// deadline (a timeout net.Error, os.ErrDeadlineExceeded) and on a Close
// from another goroutine (net.ErrClosed).
func TestPollConnDeadlineAndClose(t *testing.T) {
	_, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	r := netio.PollConn(server)
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
	if netio.PollConn(a) != a {
		t.Fatal("a net.Pipe was wrapped")
	}
}

// TestPollConnWrite checks writes: a write larger than the socket takes
// at once completes while the peer reads slowly, and a write the peer
// never reads ends at the write deadline.
func TestPollConnWrite(t *testing.T) {
	client, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	w := netio.PollConn(server)
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
