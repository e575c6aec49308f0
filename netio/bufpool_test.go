package netio_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"luaproxy/netio"
)

// TestBufPoolLIFO checks that the last buffer given back is the next
// lent, and that the pool keeps at most MaxFree.
func TestBufPoolLIFO(t *testing.T) {
	bp := netio.NewBufPool(64)
	a, b := bp.Get(), bp.Get()
	if len(*a) != 64 || a == b {
		t.Fatalf("buffers %d bytes, distinct %v", len(*a), a != b)
	}
	bp.Put(a)
	bp.Put(b)
	if got := bp.Get(); got != b {
		t.Error("the last buffer given back is not the first lent")
	}
	for i := 0; i < netio.MaxFree+10; i++ {
		bp.Put(&[]byte{})
	}
	if n := bp.Free(); n != netio.MaxFree {
		t.Errorf("%d buffers kept, want %d", n, netio.MaxFree)
	}
}

// TestWriterAsBufio writes the same random sequence of writes and flushes
// through a pooled Writer and a bufio.Writer of the same size: the bytes
// out are the same, and after each Flush the Writer holds no buffer.
func TestWriterAsBufio(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const size = 256
	bp := netio.NewBufPool(size)
	var got, want bytes.Buffer
	// plain writers: a bufio.Writer writes a long string straight to an
	// io.StringWriter, as a connection is not
	w, ref := netio.NewWriter(plain{&got}, bp), bufio.NewWriterSize(plain{&want}, size)
	for i := 0; i < 2000; i++ {
		p := make([]byte, rng.Intn(3*size))
		rng.Read(p)
		switch rng.Intn(4) {
		case 0:
			w.WriteString(string(p))
			ref.WriteString(string(p))
		case 1:
			// the head-building idiom: append to AvailableBuffer, Write
			w.Write(append(w.AvailableBuffer(), p...))
			ref.Write(append(ref.AvailableBuffer(), p...))
		default:
			w.Write(p)
			ref.Write(p)
		}
		if w.Buffered() != ref.Buffered() || w.Available() != ref.Available() {
			t.Fatalf("step %d: buffered %d/%d available %d/%d", i, w.Buffered(), ref.Buffered(), w.Available(), ref.Available())
		}
		if rng.Intn(5) == 0 {
			free := bp.Free()
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			ref.Flush()
			if bp.Free() != 1 && free == 0 {
				t.Fatalf("step %d: after Flush the pool has %d buffers, want the writer's back", i, bp.Free())
			}
		}
	}
	w.Flush()
	ref.Flush()
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("%d bytes out, want %d, not the same", got.Len(), want.Len())
	}
}

// plain hides all but Write.
type plain struct{ w io.Writer }

func (p plain) Write(b []byte) (int, error) { return p.w.Write(b) }

// failAfter accepts n bytes, then fails.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	n := f.n
	f.n = 0
	return n, errors.New("broken")
}

// TestWriterError checks that a failed write is sticky and keeps what was
// not written, as bufio.Writer does.
func TestWriterError(t *testing.T) {
	w := netio.NewWriter(&failAfter{n: 3}, netio.NewBufPool(16))
	w.WriteString("hello")
	if err := w.Flush(); err == nil {
		t.Fatal("Flush succeeded")
	}
	if w.Buffered() != 2 {
		t.Errorf("%d bytes kept, want 2", w.Buffered())
	}
	if _, err := w.WriteString("x"); err == nil || w.Flush() == nil {
		t.Error("the error is not sticky")
	}
}

// lender lends one pool's buffers and counts its Releases.
type lender struct {
	bp       *netio.BufPool
	pb       *[]byte
	released atomic.Int32
}

func (l *lender) Buffer() []byte {
	if l.pb == nil {
		l.pb = l.bp.Get()
	}
	return *l.pb
}

func (l *lender) Release() {
	l.bp.Put(l.pb)
	l.pb = nil
	l.released.Add(1)
}

// TestReadLentGivesBufferBackWhileWaiting checks that a read into a lent
// buffer gives it back while it waits for data, and reads the data into
// the buffer it takes after.
func TestReadLentGivesBufferBackWhileWaiting(t *testing.T) {
	for _, wait := range []netio.Wait{netio.WaitOnEmpty, netio.WaitReply, netio.WaitKnownEmpty} {
		client, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
		c := netio.PollConn(server, wait)
		lr, ok := c.(interface {
			ReadLent(netio.Lender) (int, error)
		})
		if !ok {
			t.Skip("no PollConn on this platform")
		}
		_ = server.SetReadDeadline(time.Now().Add(10 * time.Second))
		l := &lender{bp: netio.NewBufPool(64)}
		type result struct {
			n   int
			err error
		}
		done := make(chan result, 1)
		go func() {
			n, err := lr.ReadLent(l)
			done <- result{n, err}
		}()
		deadline := time.Now().Add(5 * time.Second)
		for l.released.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if l.released.Load() == 0 {
			t.Fatalf("wait %d: the buffer was not given back while the read waited", wait)
		}
		if l.bp.Free() != 1 {
			t.Fatalf("wait %d: the pool has %d buffers while the read waits", wait, l.bp.Free())
		}
		if _, err := client.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || r.n != 5 || l.pb == nil || string((*l.pb)[:5]) != "hello" {
			t.Fatalf("wait %d: read %d, %v, buffer held %v", wait, r.n, r.err, l.pb != nil)
		}
		// data already there: no wait, no release
		before := l.released.Load()
		client.Write([]byte("again"))
		time.Sleep(20 * time.Millisecond)
		if n, err := lr.ReadLent(l); err != nil || n != 5 || string((*l.pb)[:5]) != "again" {
			t.Fatalf("wait %d: second read %d, %v", wait, n, err)
		}
		if wait == netio.WaitOnEmpty && l.released.Load() != before {
			t.Errorf("a read that found data gave its buffer back")
		}
	}
}

// TestReadLentDeadline checks that a lent read ends on its deadline with
// a timeout, holding a buffer again.
func TestReadLentDeadline(t *testing.T) {
	_, server := tcpPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	c := netio.PollConn(server, netio.WaitOnEmpty)
	lr, ok := c.(interface {
		ReadLent(netio.Lender) (int, error)
	})
	if !ok {
		t.Skip("no PollConn on this platform")
	}
	_ = server.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	l := &lender{bp: netio.NewBufPool(64)}
	_, err := lr.ReadLent(l)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err %v, want a timeout", err)
	}
	if l.pb == nil || l.released.Load() != 1 {
		t.Errorf("after the wait: buffer held %v, released %d times", l.pb != nil, l.released.Load())
	}
}

// TestWriterRelease checks that Release gives a lent buffer back with
// what it held, and that a Writer of its own keeps its buffer.
func TestWriterRelease(t *testing.T) {
	bp := netio.NewBufPool(64)
	var out bytes.Buffer
	w := netio.NewWriter(&out, bp)
	w.WriteString("dropped")
	w.Release()
	if bp.Free() != 1 || w.Buffered() != 0 {
		t.Fatalf("after Release: %d in the pool, %d buffered", bp.Free(), w.Buffered())
	}
	w.WriteString("kept")
	w.Flush()
	if out.String() != "kept" || bp.Free() != 1 {
		t.Errorf("out %q, %d in the pool", out.String(), bp.Free())
	}
	kept := netio.NewWriterFrom(&out, bp)
	kept.WriteString("y")
	kept.Flush()
	if bp.Free() != 0 {
		t.Error("a NewWriterFrom writer gave its buffer back on Flush")
	}
	kept.Release()
	if bp.Free() != 1 {
		t.Error("a NewWriterFrom writer kept its buffer after Release")
	}
	own := netio.NewWriterSize(&out, 64)
	own.WriteString("x")
	own.Release()
	if own.Buffered() != 1 || own.Available() != 63 {
		t.Error("Release dropped a Writer's own buffer")
	}
}
