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
	r := netio.PollConn(server, netio.WaitReply)
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

// TestPollConnKnownEmpty checks the wait on a known empty socket, as a
// keep-alive client connection is read: once a read has found the socket
// empty, the reads that follow a request the kernel said was the last
// data wait for the poller first (no EAGAIN read), and still see at once
// what came with that data: more requests (pipelining) or the client's
// close, even when both came in one packet train before the read.
func TestPollConnKnownEmpty(t *testing.T) {
	client, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	r := netio.PollConn(server, netio.WaitKnownEmpty)
	buf := make([]byte, 64)
	read := func(want string) {
		t.Helper()
		_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
		got := ""
		for len(got) < len(want) {
			n, err := r.Read(buf)
			if err != nil {
				t.Fatalf("read: %q %v, want %q", got, err, want)
			}
			got += string(buf[:n])
		}
		if got != want {
			t.Fatalf("read %q, want %q", got, want)
		}
	}
	go func() { // a client sending its next request when answered
		time.Sleep(20 * time.Millisecond) // the first read finds nothing
		_, _ = client.Write([]byte("q"))
		b := make([]byte, 64)
		for {
			n, err := client.Read(b)
			if err != nil {
				return
			}
			if _, err := client.Write(b[:n]); err != nil {
				return
			}
		}
	}()
	read("q")
	before := netio.EAGAINReads()
	for i := 0; i < 50; i++ {
		msg := string(rune('a' + i%26))
		if _, err := r.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		read(msg)
	}
	if got := netio.EAGAINReads() - before; got > 5 {
		t.Errorf("%d requests of 50 were read on an empty socket first, want (almost) none", got)
	}

	// Pipelined requests: a read that leaves data is followed by a read
	// that does not wait (it would never be woken).
	client2, server2 := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	r = netio.PollConn(server2, netio.WaitKnownEmpty)
	buf = make([]byte, 4)
	time.AfterFunc(20*time.Millisecond, func() { _, _ = client2.Write([]byte("12345678")) })
	read("1234")
	read("5678")

	// The close that came with the last data (the wait is armed: the
	// previous read was short and left the socket empty, a write
	// followed it).
	buf = make([]byte, 64)
	_, _ = client2.Write([]byte("x"))
	read("x")
	if _, err := r.Write([]byte("ack")); err != nil {
		t.Fatal(err)
	}
	// read before the close: a close with unread data resets
	if _, err := io.ReadFull(client2, make([]byte, 3)); err != nil {
		t.Fatal(err)
	}
	_, _ = client2.Write([]byte("last"))
	_ = client2.Close()
	time.Sleep(50 * time.Millisecond) // data and close before the read
	read("last")
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := r.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after the last data: %d %v, want EOF at once", n, err)
	}

	// A reset that came with the last data: TCP_INQ does not tell it,
	// the next write fails, and the read after it must not wait.
	client3, server3 := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	r = netio.PollConn(server3, netio.WaitKnownEmpty)
	time.AfterFunc(20*time.Millisecond, func() { _, _ = client3.Write([]byte("y")) })
	read("y") // found the socket empty first: TCP_INQ on
	_, _ = client3.Write([]byte("z"))
	_ = client3.(*net.TCPConn).SetLinger(0)
	_ = client3.Close()
	time.Sleep(50 * time.Millisecond) // data and reset before the read
	read("z")
	_, _ = r.Write([]byte("ack")) // fails: the connection was reset
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := r.Read(buf); err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("after a reset: %v after %v, want an error at once", err, time.Since(start))
	}
}

// TestPollConnEndWithData checks that an end of stream that comes with
// the last data is seen at once, with and without the reply wait, when
// no write came in between (the TCP forwarding case: a server answers
// and closes).
func TestPollConnEndWithData(t *testing.T) {
	for _, wait := range []netio.Wait{netio.WaitOnEmpty, netio.WaitReply, netio.WaitKnownEmpty} {
		client, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
		r := netio.PollConn(server, wait)
		_, _ = client.Write([]byte("back"))
		_ = client.Close()
		time.Sleep(20 * time.Millisecond) // both arrive before the reads
		_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 64)
		if n, err := r.Read(buf); err != nil || string(buf[:n]) != "back" {
			t.Fatalf("wait=%v: read %q %v", wait, buf[:n], err)
		}
		if n, err := r.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("wait=%v: after the data: %d %v, want EOF", wait, n, err)
		}
	}

	// Data arriving after a short read is read too.
	client, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	r := netio.PollConn(server, netio.WaitOnEmpty)
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
	r := netio.PollConn(server, netio.WaitKnownEmpty)
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
	if netio.PollConn(a, netio.WaitReply) != a {
		t.Fatal("a net.Pipe was wrapped")
	}
}

// TestPollConnWrite checks writes: a write larger than the socket takes
// at once completes while the peer reads slowly, and a write the peer
// never reads ends at the write deadline.
func TestPollConnWrite(t *testing.T) {
	client, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	w := netio.PollConn(server, netio.WaitOnEmpty)
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
