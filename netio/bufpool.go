package netio

import (
	"io"
	"sync"
)

// BufPool lends buffers of one size. A connection holds one only while
// it has data in it: lent and given back in turn, the same few buffers
// serve every connection of a thread and stay in the CPU's caches, and an
// idle connection holds none (a buffer of its own per keep-alive
// connection is 16 KiB each waits with). HAProxy's buffers likewise come
// from a pool when needed and go back to it when empty.
//
// The pool is a stack (the last buffer given back is the next lent, the
// warmest) under a mutex: a pair of Get and Put costs about 35 cycles,
// where sync.Pool's shared queues, used as soon as two buffers are out,
// cost several times that. An engine keeps one pool per thread. At most
// MaxFree buffers wait in it; more go to the collector.
type BufPool struct {
	size int
	mu   sync.Mutex
	free []*[]byte
}

// MaxFree is the most buffers a BufPool keeps for later.
const MaxFree = 256

// NewBufPool returns a pool of buffers of size bytes.
func NewBufPool(size int) *BufPool { return &BufPool{size: size} }

// Size returns the size of the pool's buffers.
func (bp *BufPool) Size() int { return bp.size }

// Free returns how many buffers wait in the pool.
func (bp *BufPool) Free() int {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	return len(bp.free)
}

// Get lends a buffer.
func (bp *BufPool) Get() *[]byte {
	bp.mu.Lock()
	if n := len(bp.free); n > 0 {
		b := bp.free[n-1]
		bp.free[n-1] = nil
		bp.free = bp.free[:n-1]
		bp.mu.Unlock()
		return b
	}
	bp.mu.Unlock()
	b := make([]byte, bp.size)
	return &b
}

// Put gives back a buffer Get lent. Nothing may use it afterwards.
func (bp *BufPool) Put(b *[]byte) {
	bp.mu.Lock()
	if len(bp.free) < MaxFree {
		bp.free = append(bp.free, b)
	}
	bp.mu.Unlock()
}

// Writer is bufio.Writer with its buffer lent by a BufPool: taken at the
// first write, given back by the Flush that empties it (NewWriter); or
// with a buffer of its own (NewWriterSize). Its methods behave as
// bufio.Writer's.
type Writer struct {
	wr   io.Writer
	pool *BufPool // nil: pb is the writer's own
	pb   *[]byte  // the buffer, nil when none is lent
	keep bool     // a lent buffer stays until Release (NewWriterFrom)
	size int
	n    int // bytes buffered in *pb
	err  error
}

// NewWriter returns a Writer to w with buffers from pool.
func NewWriter(w io.Writer, pool *BufPool) *Writer {
	return &Writer{wr: w, pool: pool, size: pool.Size()}
}

// NewWriterFrom returns a Writer to w whose buffer, from pool, is taken
// at the first write and kept until Release (a server connection's).
func NewWriterFrom(w io.Writer, pool *BufPool) *Writer {
	return &Writer{wr: w, pool: pool, size: pool.Size(), keep: true}
}

// NewWriterSize returns a Writer to w with a buffer of its own of size
// bytes.
func NewWriterSize(w io.Writer, size int) *Writer {
	b := make([]byte, size)
	return &Writer{wr: w, pb: &b, size: size}
}

// buf returns the buffer, taking one from the pool if needed.
func (b *Writer) buf() []byte {
	if b.pb == nil {
		b.pb = b.pool.Get()
	}
	return *b.pb
}

// release gives a lent buffer back when it holds nothing.
func (b *Writer) release() {
	if b.pool != nil && !b.keep && b.pb != nil && b.n == 0 {
		b.pool.Put(b.pb)
		b.pb = nil
	}
}

// Flush writes the buffered data; once it is all written, the buffer
// goes back to the pool.
func (b *Writer) Flush() error {
	if b.err != nil {
		return b.err
	}
	if b.n == 0 {
		b.release()
		return nil
	}
	buf := *b.pb
	n, err := b.wr.Write(buf[:b.n])
	if n < b.n && err == nil {
		err = io.ErrShortWrite
	}
	if err != nil {
		if n > 0 && n < b.n {
			copy(buf[:b.n-n], buf[n:b.n])
		}
		b.n -= n
		b.err = err
		return err
	}
	b.n = 0
	b.release()
	return nil
}

// Release gives a lent buffer back, dropping what it holds: the
// connection is done. A write after it takes another.
func (b *Writer) Release() {
	if b.pool != nil && b.pb != nil {
		b.pool.Put(b.pb)
		b.pb, b.n = nil, 0
	}
}

// Available returns how many bytes fit before the next flush.
func (b *Writer) Available() int { return b.size - b.n }

// AvailableBuffer returns an empty buffer with Available() capacity, to
// append to and pass to an immediately following Write.
func (b *Writer) AvailableBuffer() []byte { return b.buf()[b.n:][:0] }

// Buffered returns the number of bytes written and not flushed yet.
func (b *Writer) Buffered() int { return b.n }

// Write writes p to the buffer, flushing when it is full; a write larger
// than the buffer goes out directly when nothing is buffered.
func (b *Writer) Write(p []byte) (nn int, err error) {
	for len(p) > b.Available() && b.err == nil {
		var n int
		if b.n == 0 {
			// Large write, empty buffer: write directly from p to
			// avoid a copy.
			n, b.err = b.wr.Write(p)
		} else {
			n = copy(b.buf()[b.n:], p)
			b.n += n
			_ = b.Flush()
		}
		nn += n
		p = p[n:]
	}
	if b.err != nil {
		return nn, b.err
	}
	if len(p) == 0 {
		return nn, nil
	}
	n := copy(b.buf()[b.n:], p)
	b.n += n
	nn += n
	return nn, nil
}

// WriteString is Write for a string.
func (b *Writer) WriteString(s string) (int, error) {
	nn := 0
	for len(s) > b.Available() && b.err == nil {
		n := copy(b.buf()[b.n:], s)
		b.n += n
		nn += n
		s = s[n:]
		_ = b.Flush()
	}
	if b.err != nil {
		return nn, b.err
	}
	n := copy(b.buf()[b.n:], s)
	b.n += n
	return nn + n, nil
}
