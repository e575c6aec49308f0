package memnet

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// DefaultBufferSize is how many bytes each direction of a connection holds
// before Write blocks, like a socket buffer.
const DefaultBufferSize = 64 << 10

// Pipe returns the two ends of an in-memory connection with
// DefaultBufferSize bytes of buffer per direction.
func Pipe() (*Conn, *Conn) {
	return NewPipe(Addr("pipe-a"), Addr("pipe-b"), DefaultBufferSize)
}

// NewPipe returns the two ends of an in-memory connection between addresses
// a and b: the first end has local address a, the second b. Each direction
// holds up to bufSize bytes (DefaultBufferSize if bufSize <= 0).
func NewPipe(a, b Addr, bufSize int) (*Conn, *Conn) {
	if bufSize <= 0 {
		bufSize = DefaultBufferSize
	}
	ab, ba := newPipe(bufSize), newPipe(bufSize)
	return newConn(a, b, ba, ab), newConn(b, a, ab, ba)
}

// pipe is one direction of a connection: a bounded byte queue.
type pipe struct {
	mu      sync.Mutex
	buf     []byte // the pending bytes are buf[r:]
	r       int
	max     int
	wclosed bool          // the writer sent EOF: reads drain buf then return io.EOF
	rclosed bool          // the reader is gone: writes fail with EPIPE
	wake    chan struct{} // closed, then replaced, at every change of the above
	waiting bool          // someone may be waiting on wake
}

func newPipe(max int) *pipe { return &pipe{max: max, wake: make(chan struct{})} }

// changedLocked wakes up everyone waiting on p. p.mu must be held.
func (p *pipe) changedLocked() {
	if p.waiting {
		close(p.wake)
		p.wake = make(chan struct{})
		p.waiting = false
	}
}

// waitLocked returns a channel closed at the next change. p.mu must be held.
func (p *pipe) waitLocked() <-chan struct{} {
	p.waiting = true
	return p.wake
}

// pending returns the number of bytes not yet read. p.mu must be held.
func (p *pipe) pendingLocked() int { return len(p.buf) - p.r }

func (p *pipe) closeWrite() {
	p.mu.Lock()
	p.wclosed = true
	p.changedLocked()
	p.mu.Unlock()
}

func (p *pipe) closeRead() {
	p.mu.Lock()
	p.rclosed = true
	p.buf, p.r = nil, 0
	p.changedLocked()
	p.mu.Unlock()
}

// Conn is one end of an in-memory connection. Unlike net.Pipe's ends, it
// buffers writes, supports CloseWrite (half-close) and deadlines, and its
// peer reads io.EOF after Close. It is safe for concurrent use.
type Conn struct {
	local, remote Addr
	r, w          *pipe // r carries bytes from the peer, w bytes to the peer
	rd, wd        deadline
	closeOnce     sync.Once
	done          chan struct{} // closed by Close
}

func newConn(local, remote Addr, r, w *pipe) *Conn {
	return &Conn{local: local, remote: remote, r: r, w: w, rd: makeDeadline(), wd: makeDeadline(), done: make(chan struct{})}
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: network, Source: c.local, Addr: c.remote, Err: err}
}

// Read reads bytes the peer wrote. It returns io.EOF once the peer closed or
// called CloseWrite and every byte before that was read.
func (c *Conn) Read(b []byte) (int, error) {
	for {
		if err := c.check(&c.rd); err != nil {
			return 0, c.opError("read", err)
		}
		p := c.r
		p.mu.Lock()
		if p.pendingLocked() > 0 || len(b) == 0 {
			n := copy(b, p.buf[p.r:])
			p.r += n
			if p.r == len(p.buf) {
				p.buf, p.r = p.buf[:0], 0
			}
			p.changedLocked()
			p.mu.Unlock()
			return n, nil
		}
		if p.wclosed {
			p.mu.Unlock()
			return 0, io.EOF
		}
		wake := p.waitLocked()
		p.mu.Unlock()
		select {
		case <-wake:
		case <-c.rd.wait():
		case <-c.done:
		}
	}
}

// Write writes b to the peer, blocking while the buffer is full. It fails
// with syscall.EPIPE once the peer closed, or this end called CloseWrite.
func (c *Conn) Write(b []byte) (int, error) {
	n := 0
	for {
		if err := c.check(&c.wd); err != nil {
			return n, c.opError("write", err)
		}
		p := c.w
		p.mu.Lock()
		if p.rclosed || p.wclosed {
			p.mu.Unlock()
			return n, c.opError("write", syscall.EPIPE)
		}
		if k := min(p.max-p.pendingLocked(), len(b)); k > 0 {
			if len(p.buf)+k > cap(p.buf) && p.r > 0 {
				n := copy(p.buf, p.buf[p.r:])
				p.buf, p.r = p.buf[:n], 0
			}
			p.buf = append(p.buf, b[:k]...)
			b = b[k:]
			n += k
			p.changedLocked()
		}
		if len(b) == 0 {
			p.mu.Unlock()
			return n, nil
		}
		wake := p.waitLocked()
		p.mu.Unlock()
		select {
		case <-wake:
		case <-c.wd.wait():
		case <-c.done:
		}
	}
}

// check returns the error an operation bound by deadline d meets now, if any.
func (c *Conn) check(d *deadline) error {
	select {
	case <-c.done:
		return net.ErrClosed
	default:
	}
	select {
	case <-d.wait():
		return os.ErrDeadlineExceeded
	default:
	}
	return nil
}

// CloseWrite shuts down the writing side: the peer reads io.EOF after the
// bytes already written.
func (c *Conn) CloseWrite() error {
	select {
	case <-c.done:
		return c.opError("close", net.ErrClosed)
	default:
	}
	c.w.closeWrite()
	return nil
}

// Close closes both directions: the peer reads io.EOF after the bytes
// already written and its writes fail. Blocked calls on c return net.ErrClosed.
func (c *Conn) Close() error {
	err := c.opError("close", net.ErrClosed)
	c.closeOnce.Do(func() {
		close(c.done)
		c.w.closeWrite()
		c.r.closeRead()
		err = nil
	})
	return err
}

// LocalAddr returns the address of this end.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the address of the peer.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

// SetReadDeadline sets the deadline after which Read fails with an error
// wrapping os.ErrDeadlineExceeded. A zero t means no deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rd.set(t)
	return nil
}

// SetWriteDeadline sets the deadline after which Write fails with an error
// wrapping os.ErrDeadlineExceeded. A zero t means no deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wd.set(t)
	return nil
}

// deadline is a settable point in time whose channel is closed once it has
// passed, after net.Pipe's.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{} // closed when the deadline passes
}

func makeDeadline() deadline { return deadline{cancel: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired: wait until its callback closed cancel
	}
	d.timer = nil
	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		cancel := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(cancel) })
		return
	}
	if !closed {
		close(d.cancel)
	}
}

func (d *deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
