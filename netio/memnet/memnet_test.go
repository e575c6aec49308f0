package memnet_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"luaproxy/netio/memnet"
)

func TestNetworkEcho(t *testing.T) {
	var n memnet.Network
	ln, err := n.Listen("tcp", "backend:80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := n.Listen("tcp", "backend:80"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second Listen = %v; want EADDRINUSE", err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	for i := 0; i < 3; i++ {
		c, err := n.Dial(context.Background(), "tcp", "backend:80")
		if err != nil {
			t.Fatal(err)
		}
		if c.RemoteAddr().String() != "backend:80" || c.LocalAddr().Network() != "memnet" {
			t.Errorf("addresses %v -> %v", c.LocalAddr(), c.RemoteAddr())
		}
		msg := bytes.Repeat([]byte("x"), 200<<10) // more than the buffer
		go func() {
			c.Write(msg)
			c.(*memnet.Conn).CloseWrite()
		}()
		got, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo: %d bytes, %v", len(got), err)
		}
		c.Close()
	}
}

func TestDialRefused(t *testing.T) {
	var n memnet.Network
	if _, err := n.Dial(context.Background(), "tcp", "nowhere"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial(nowhere) = %v; want ECONNREFUSED", err)
	}
	ln, _ := n.Listen("tcp", "a")
	ln.Close()
	if _, err := n.Dial(context.Background(), "tcp", "a"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial after Close = %v; want ECONNREFUSED", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v; want net.ErrClosed", err)
	}
	// The address is free again.
	ln, err := n.Listen("tcp", "a")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func TestListenerCloseDrainsQueue(t *testing.T) {
	ln := memnet.Listen("x")
	c, err := ln.Dial(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read on a never accepted conn = %v; want EOF", err)
	}
}

func TestDialContextCanceled(t *testing.T) {
	ln := memnet.Listen("full")
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var err error
	for i := 0; i < 1000 && err == nil; i++ { // nobody accepts: the backlog fills
		_, err = ln.Dial(ctx, "", "")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial on a full backlog = %v; want context.DeadlineExceeded", err)
	}
}

func TestHalfClose(t *testing.T) {
	a, b := memnet.Pipe()
	defer a.Close()
	defer b.Close()
	a.Write([]byte("request"))
	a.CloseWrite()
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "request" {
		t.Fatalf("b read %q, %v", got, err)
	}
	// b can still answer after a's EOF.
	if _, err := b.Write([]byte("response")); err != nil {
		t.Fatal(err)
	}
	b.CloseWrite()
	got, err = io.ReadAll(a)
	if err != nil || string(got) != "response" {
		t.Fatalf("a read %q, %v", got, err)
	}
	if _, err := a.Write([]byte("more")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write after CloseWrite = %v; want EPIPE", err)
	}
}

func TestClose(t *testing.T) {
	a, b := memnet.Pipe()
	a.Write([]byte("last words"))
	a.Close()
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "last words" {
		t.Fatalf("peer read %q, %v", got, err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write to a closed peer = %v; want EPIPE", err)
	}
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close = %v; want net.ErrClosed", err)
	}
	if err := a.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v; want net.ErrClosed", err)
	}
	b.Close()
}

func TestCloseUnblocks(t *testing.T) {
	a, b := memnet.NewPipe("a", "b", 4)
	defer b.Close()
	errc := make(chan error, 2)
	go func() { _, err := a.Read(make([]byte, 1)); errc <- err }()
	go func() { _, err := a.Write([]byte("more than four")); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	a.Close()
	for i := 0; i < 2; i++ {
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked call after Close = %v; want net.ErrClosed", err)
		}
	}
}

func TestDeadlines(t *testing.T) {
	a, b := memnet.NewPipe("a", "b", 4)
	defer a.Close()
	defer b.Close()

	a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	start := time.Now()
	_, err := a.Read(make([]byte, 1))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past deadline = %v; want a timeout", err)
	}
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Fatalf("Read returned after %v", d)
	}
	// An expired deadline fails at once, even with data; clearing it works.
	b.Write([]byte("x"))
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with an expired deadline = %v", err)
	}
	a.SetReadDeadline(time.Time{})
	if n, err := a.Read(make([]byte, 1)); n != 1 || err != nil {
		t.Fatalf("Read after clearing the deadline = %d, %v", n, err)
	}

	// Write blocks when the buffer is full, until its deadline.
	a.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	n, err := a.Write([]byte("123456"))
	if n != 4 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write to a full pipe = %d, %v; want 4, a timeout", n, err)
	}
	// Moving a deadline forward unblocks nobody early.
	b.SetReadDeadline(time.Now().Add(time.Hour))
	b.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := b.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with a past deadline = %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	a, b := memnet.NewPipe("a", "b", 1024)
	defer a.Close()
	defer b.Close()
	const writers, each = 4, 100000
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := bytes.Repeat([]byte{'z'}, 1000)
			for n := 0; n < each; n += len(buf) {
				a.Write(buf)
			}
		}()
	}
	go func() { wg.Wait(); a.CloseWrite() }()
	n, err := io.Copy(io.Discard, b)
	if err != nil || n != writers*each {
		t.Fatalf("read %d bytes, %v; want %d", n, err, writers*each)
	}
}
