package netio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultBufSize is the default size of a [Buffer], HAProxy's default
// "tune.bufsize".
const DefaultBufSize = 16384

// ErrBufferFull is returned by [Buffer.ReadOnce] when the buffer has no
// room.
var ErrBufferFull = errors.New("netio: buffer full")

// Buffer holds the pending bytes of one direction of a stream (a channel in
// HAProxy's terms) up to a fixed size. The bytes are always contiguous, so
// [Buffer.Bytes] never copies, and the storage is allocated once, on first
// write, then reused: steady-state use does not allocate.
//
// The zero value is an empty buffer of [DefaultBufSize] bytes. A Buffer is
// not safe for concurrent use.
type Buffer struct {
	buf  []byte // storage: nil until the first write, then size bytes
	r, w int    // the data is buf[r:w]
	size int    // 0 means DefaultBufSize
}

// NewBuffer returns an empty buffer holding at most size bytes
// ([DefaultBufSize] if size <= 0), like "tune.bufsize".
func NewBuffer(size int) *Buffer {
	if size <= 0 {
		size = DefaultBufSize
	}
	return &Buffer{size: size}
}

// Size returns the most bytes b can hold.
func (b *Buffer) Size() int {
	if b.size <= 0 {
		return DefaultBufSize
	}
	return b.size
}

// Bytes returns the buffered bytes. The slice aliases b's storage: it is
// valid until the next call that modifies b.
func (b *Buffer) Bytes() []byte { return b.buf[b.r:b.w] }

// Len returns the number of buffered bytes.
func (b *Buffer) Len() int { return b.w - b.r }

// Room returns how many more bytes b can take.
func (b *Buffer) Room() int { return b.Size() - b.Len() }

// Full reports whether b has no room left.
func (b *Buffer) Full() bool { return b.Room() == 0 }

// IndexByte returns the offset of the first c in the buffered bytes, or -1.
func (b *Buffer) IndexByte(c byte) int { return bytes.IndexByte(b.Bytes(), c) }

// Append copies as much of p as fits after the buffered bytes and returns
// the number of bytes copied, less than len(p) if b became full.
func (b *Buffer) Append(p []byte) int {
	n := min(len(p), b.Room())
	if n == 0 {
		return 0
	}
	b.makeRoom(n)
	copy(b.buf[b.w:], p[:n])
	b.w += n
	return n
}

// Insert copies as much of p as fits at offset off of the buffered bytes,
// moving the bytes after off forward, and returns the number of bytes
// copied. It panics if off is not in [0, Len()].
func (b *Buffer) Insert(off int, p []byte) int {
	if off < 0 || off > b.Len() {
		panic(fmt.Sprintf("netio: Buffer.Insert offset %d out of range [0, %d]", off, b.Len()))
	}
	n := min(len(p), b.Room())
	if n == 0 {
		return 0
	}
	b.makeRoom(n)
	at := b.r + off
	copy(b.buf[at+n:], b.buf[at:b.w])
	copy(b.buf[at:], p[:n])
	b.w += n
	return n
}

// Delete removes n bytes at offset off of the buffered bytes. It panics if
// off or n is negative or off+n > Len().
func (b *Buffer) Delete(off, n int) {
	if off < 0 || n < 0 || off+n > b.Len() {
		panic(fmt.Sprintf("netio: Buffer.Delete(%d, %d) out of range [0, %d]", off, n, b.Len()))
	}
	if off == 0 {
		b.Consume(n)
		return
	}
	at := b.r + off
	copy(b.buf[at:], b.buf[at+n:b.w])
	b.w -= n
}

// Consume removes the first n buffered bytes, those forwarded. It panics if
// n is negative or more than Len().
func (b *Buffer) Consume(n int) {
	if n < 0 || n > b.Len() {
		panic(fmt.Sprintf("netio: Buffer.Consume(%d) out of range [0, %d]", n, b.Len()))
	}
	b.r += n
	if b.r == b.w {
		b.r, b.w = 0, 0
	}
}

// Reset empties b, keeping its storage.
func (b *Buffer) Reset() { b.r, b.w = 0, 0 }

// ReadOnce calls r.Read once to fill the room of b, and returns the number
// of bytes read and r's error (io.EOF included). It returns ErrBufferFull,
// without calling r.Read, if b has no room.
func (b *Buffer) ReadOnce(r io.Reader) (int, error) {
	room := b.Room()
	if room == 0 {
		return 0, ErrBufferFull
	}
	b.makeRoom(room)
	n, err := r.Read(b.buf[b.w : b.w+room])
	if n < 0 || n > room {
		panic("netio: Buffer.ReadOnce: reader returned an invalid count")
	}
	b.w += n
	return n, err
}

// makeRoom makes n bytes available after b.w; n must not exceed Room.
func (b *Buffer) makeRoom(n int) {
	if b.buf == nil {
		b.buf = make([]byte, b.Size())
	}
	if b.w+n > len(b.buf) {
		copy(b.buf, b.buf[b.r:b.w])
		b.r, b.w = 0, b.w-b.r
	}
}
