package core

import (
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// DefaultBufSize is tune.bufsize's default.
const DefaultBufSize = 16384

// Channel is one direction of a stream: Req carries the client's bytes to
// the server, Res the server's (or a service's) bytes to the client.
//
// Input is what was received and not yet forwarded: rules and Lua read and
// edit it. Data written with Send goes out at once (to the server once it
// is connected, for Req).
type Channel struct {
	s     *Stream
	isRes bool
	in    []byte
	out   []byte // Req only: sent before anything else once the server is connected
	eof   bool   // the producer closed its side
	max   int
	// Sent counts bytes written to the consumer.
	Sent int64
}

// IsRes reports whether ch is the response channel.
func (ch *Channel) IsRes() bool { return ch.isRes }

// Input returns the buffered input. The slice is valid until the next call
// that changes the channel.
func (ch *Channel) Input() []byte { return ch.in }

// SetInput replaces the buffered input (truncated to the buffer size); it
// returns the bytes kept.
func (ch *Channel) SetInput(p []byte) int {
	if len(p) > ch.max {
		p = p[:ch.max]
	}
	ch.in = append(ch.in[:0], p...)
	return len(p)
}

// Room returns how many more input bytes the buffer takes.
func (ch *Channel) Room() int { return max(ch.max-len(ch.in), 0) }

// Max returns the buffer size.
func (ch *Channel) Max() int { return ch.max }

// Consume removes n bytes from the front of the input.
func (ch *Channel) Consume(n int) {
	n = min(n, len(ch.in))
	ch.in = append(ch.in[:0], ch.in[n:]...)
}

// EOF reports whether the producer closed its side (no more input will come).
func (ch *Channel) EOF() bool { return ch.eof }

// srcRaw and dstRaw are the connections the channel reads from and
// writes to; src and dst the same wrapped for its I/O (Stream.connIO).
func (ch *Channel) srcRaw() net.Conn {
	if ch.isRes {
		return ch.s.ServerConn
	}
	return ch.s.Client
}

func (ch *Channel) dstRaw() net.Conn {
	if ch.isRes {
		return ch.s.Client
	}
	return ch.s.ServerConn
}

func (ch *Channel) src() net.Conn { return ch.s.connIO(ch.srcRaw()) }

func (ch *Channel) dst() net.Conn { return ch.s.connIO(ch.dstRaw()) }

// Errors of Fill.
var (
	ErrTimeout    = errors.New("timeout")
	ErrBufferFull = errors.New("buffer full")
)

// Fill reads once more from the producer into the input, waiting until
// deadline (zero: no deadline). It returns io.EOF once the producer has
// closed, ErrTimeout at the deadline.
func (ch *Channel) Fill(deadline time.Time) error {
	if ch.eof {
		return io.EOF
	}
	c := ch.src()
	if c == nil {
		ch.eof = true // no server: a response channel with no producer
		return io.EOF
	}
	if ch.Room() == 0 {
		return ErrBufferFull
	}
	if dl := ch.s.connDeadlines(ch.srcRaw()); dl != nil {
		dl.setReadAt(deadline)
	} else if err := c.SetReadDeadline(deadline); err != nil {
		return err
	}
	if cap(ch.in) < ch.max {
		grown := make([]byte, len(ch.in), ch.max)
		copy(grown, ch.in)
		ch.in = grown
	}
	var n int
	var err error
	if p := ch.s.pump; p != nil && ch.isRes {
		n, err = p.serveWhile(func() (int, error) { return c.Read(ch.in[len(ch.in):ch.max]) })
	} else {
		ch.s.idleBlock(func() { n, err = c.Read(ch.in[len(ch.in):ch.max]) })
	}
	ch.in = ch.in[:len(ch.in)+n]
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if n > 0 {
				return nil
			}
			return ErrTimeout
		}
		ch.eof = true
		if n > 0 {
			return nil
		}
		return io.EOF
	}
	return nil
}

// Send writes p to the consumer now (for Req before the server connection
// exists, it is queued and sent first once connected). It returns the
// bytes accepted.
func (ch *Channel) Send(p []byte) (int, error) {
	c := ch.dst()
	if c == nil {
		if ch.isRes {
			return 0, io.ErrClosedPipe
		}
		ch.out = append(ch.out, p...)
		return len(p), nil
	}
	timeout := ch.s.Frontend.Timeouts.Client
	if !ch.isRes && ch.s.Backend != nil {
		timeout = ch.s.Backend.Timeouts.Server
	}
	if dl := ch.s.connDeadlines(ch.dstRaw()); dl != nil {
		dl.setWrite(timeout)
	} else {
		var deadline time.Time
		if timeout > 0 {
			deadline = time.Now().Add(timeout)
		}
		_ = c.SetWriteDeadline(deadline)
	}
	n, err := c.Write(p)
	ch.Sent += int64(n)
	return n, err
}

// Output returns how many bytes were sent (Send) but are still held for
// the consumer: the request's, until its server is connected.
func (ch *Channel) Output() int { return len(ch.out) }

// Append adds p to the end of the input; it returns the bytes copied
// (fewer when the buffer is full).
func (ch *Channel) Append(p []byte) int {
	n := min(len(p), ch.Room())
	ch.in = append(ch.in, p[:n]...)
	return n
}

// Insert inserts p at offset off of the input; it returns the bytes copied.
func (ch *Channel) Insert(off int, p []byte) int {
	off = min(max(off, 0), len(ch.in))
	n := min(len(p), ch.Room())
	ch.in = append(ch.in[:off], append(p[:n:n], ch.in[off:]...)...)
	return n
}
