package h1

import (
	"errors"
	"io"
)

// Framing is how the body after a head is delimited.
type Framing uint8

const (
	// FramingNone: no body (a request without Content-Length or chunked
	// encoding, CONNECT, a response to HEAD, 1xx, 204, 304).
	FramingNone Framing = iota
	// FramingLength: Content-Length bytes.
	FramingLength
	// FramingChunked: chunked encoding, then trailers.
	FramingChunked
	// FramingClose: a response without length, up to the end of the
	// connection.
	FramingClose
	// FramingTunnel: a 2xx to CONNECT or a 101: no body, the connection
	// becomes a tunnel in both directions from the next byte (see
	// Reader.Peek).
	FramingTunnel
)

var framingNames = [...]string{"none", "length", "chunked", "close", "tunnel"}

func (f Framing) String() string {
	if int(f) < len(framingNames) {
		return framingNames[f]
	}
	return "Framing(?)"
}

type chunkState uint8

const (
	csSize   chunkState = iota // hex digits
	csSizeSP                   // blanks after the size
	csExt                      // chunk extension, ignored
	csSizeLF                   // LF after the size line's CR
	csData
	csDataEnd // CR LF (or LF) after the data
	csDataLF
	csTrailers // the trailer block's parse starts
	csTrailerBlock
	csDone
)

// body is the state of the current message's body.
type body struct {
	m       *Message
	framing Framing
	status  int   // status for errors: 400 for requests, 502 for responses
	remain  int64 // bytes left: of the body (length), of the chunk (chunked)
	cs      chunkState
	size    int64 // chunk size being parsed
	digits  int
	line    int // bytes of the current chunk-size line
	pos     int // bytes consumed since the end of the head
	done    bool
	err     error // sticky
}

func (bd *body) start(m *Message, f Framing, status int) {
	*bd = body{m: m, framing: f, status: status}
	if f == FramingLength {
		bd.remain = m.ContentLength
	}
	bd.done = f == FramingNone || f == FramingTunnel || f == FramingLength && bd.remain == 0
}

func (bd *body) fail(reason string) error {
	bd.err = newError(bd.status, ErrChunk, reason, bd.pos)
	return bd.err
}

// ReadBody reads decoded bytes of the current message's body into p. It
// returns io.EOF at the end of the body (at once for a message without
// body), io.ErrUnexpectedEOF when the connection closes inside a
// length-delimited or chunked body, and an *Error for bad chunked
// encoding. Trailers, when the body is chunked, are in the message's
// Trailers once io.EOF is returned.
func (r *Reader) ReadBody(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := r.next(len(p))
	return copy(p, b), err
}

// NextBody is ReadBody without the copy: it returns up to max decoded
// bytes of the body straight from the buffer, valid until the next call
// on r.
func (r *Reader) NextBody(max int) ([]byte, error) {
	if max <= 0 {
		return nil, nil
	}
	return r.next(max)
}

// BufferBody reads the rest of the current message's body into m.Body
// (appending) and sets m.BodyComplete. When more than max bytes would be
// in m.Body, it stops with ErrBodyTooLarge: m.Body then holds max bytes,
// BodyComplete is false, and the rest of the body can still be read with
// ReadBody. Other errors are those of ReadBody.
func (r *Reader) BufferBody(m *Message, max int) error {
	m.BodyComplete = false
	for {
		end, err := r.atEnd()
		if err != nil {
			return err
		}
		if end {
			m.BodyComplete = true
			return nil
		}
		if len(m.Body) >= max {
			return ErrBodyTooLarge
		}
		b, err := r.next(max - len(m.Body))
		m.Body = append(m.Body, b...)
		if err != nil && err != io.EOF {
			return err
		}
	}
}

// BufferSome is BufferBody for a body that is filtered as it comes: it
// appends what the connection delivers at once, reading only when
// nothing is buffered, and stops when no more is buffered (or the body
// ends, or m.Body holds max bytes: ErrBodyTooLarge).
func (r *Reader) BufferSome(m *Message, max int) error {
	m.BodyComplete = false
	defer func() { r.noBlock = false }()
	for got := false; ; {
		r.noBlock = got // after the first bytes, only what is buffered
		end, err := r.atEnd()
		if errors.Is(err, errWouldBlock) {
			return nil
		}
		if err != nil {
			return err
		}
		if end {
			m.BodyComplete = true
			return nil
		}
		if len(m.Body) >= max {
			return ErrBodyTooLarge
		}
		b, err := r.next(max - len(m.Body))
		m.Body = append(m.Body, b...)
		got = got || len(b) > 0
		if errors.Is(err, errWouldBlock) {
			return nil
		}
		if err != nil && err != io.EOF {
			return err
		}
	}
}

// skipBody reads and drops what is left of the current body.
func (r *Reader) skipBody() error {
	for {
		_, err := r.next(r.size())
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// WaitData waits until the reader holds unread bytes, reading once when
// it holds none (callers time the first byte of a message with it).
// Errors are those of reading: a deadline's is not final.
func (r *Reader) WaitData() error {
	if r.r < r.w || r.parsing {
		return nil
	}
	return r.fill()
}

// BodyDone reports whether the current message's body has been read to
// its end (without reading more).
func (r *Reader) BodyDone() bool { return r.body.done }

// next returns up to max decoded body bytes, straight from the buffer
// (valid until the next call), and consumes them.
func (r *Reader) next(max int) ([]byte, error) {
	bd := &r.body
	end, err := r.atEnd()
	if err != nil {
		return nil, err
	}
	if end {
		return nil, io.EOF
	}
	if r.r == r.w {
		if err := r.fill(); err != nil {
			return nil, r.bodyReadError(err)
		}
	}
	n := min(max, r.w-r.r)
	if bd.framing != FramingClose {
		n = int(min(int64(n), bd.remain))
		bd.remain -= int64(n)
		bd.done = bd.framing == FramingLength && bd.remain == 0
	}
	b := r.buf[r.r : r.r+n]
	r.r += n
	bd.pos += n
	return b, nil
}

// atEnd reports whether the body is over, reading the chunked framing up
// to the next data byte, or whether the connection closed for a
// close-delimited body.
func (r *Reader) atEnd() (bool, error) {
	bd := &r.body
	switch {
	case bd.err != nil:
		return false, bd.err
	case bd.done, bd.framing == FramingNone, bd.framing == FramingTunnel:
		return true, nil
	case bd.framing == FramingChunked:
		if err := r.chunkFraming(); err != nil {
			return false, err
		}
		return bd.done, nil
	case bd.framing == FramingClose && r.r == r.w:
		if err := r.fill(); err == io.EOF {
			bd.done = true
			return true, nil
		} else if err != nil {
			return false, r.bodyReadError(err)
		}
	}
	return false, nil
}

// bodyReadError turns a read error inside a body into the body's error:
// sticky, but for a deadline's.
func (r *Reader) bodyReadError(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if !isTimeout(err) {
		r.body.err = err
	}
	return err
}

// chunkFraming consumes chunk framing until data is available (remain >
// 0) or the body, trailers included, is over. HAProxy compat: the size
// is 1 to 13 hex digits (below 2^52), then blanks, an extension after
// ';' up to the line end, CR LF or a bare LF; after the data, CR LF or LF.
func (r *Reader) chunkFraming() error {
	bd := &r.body
	for {
		switch bd.cs {
		case csData:
			if bd.remain > 0 {
				return nil
			}
			bd.cs = csDataEnd
			continue
		case csTrailers, csTrailerBlock:
			return r.readTrailers()
		case csDone:
			return nil
		}
		if r.r == r.w {
			if err := r.fill(); err != nil {
				return r.bodyReadError(err)
			}
		}
		c := r.buf[r.r]
		switch bd.cs {
		case csSize:
			if d := unhex(c); d >= 0 {
				bd.size = bd.size<<4 | int64(d)
				if bd.size >= 1<<52 {
					return bd.fail("chunk size too large")
				}
				bd.digits++
				break
			}
			if bd.digits == 0 {
				return bd.fail("invalid chunk size")
			}
			bd.cs = csSizeSP
			continue
		case csSizeSP:
			switch {
			case isSPHT(c):
			case c == ';':
				bd.cs = csExt
			case c == '\r':
				bd.cs = csSizeLF
			case c == '\n':
				bd.endSizeLine()
			default:
				return bd.fail("invalid chunk size")
			}
		case csExt:
			switch c {
			case '\r':
				bd.cs = csSizeLF
			case '\n':
				bd.endSizeLine()
			}
		case csSizeLF, csDataLF:
			if c != '\n' {
				return bd.fail("CR not followed by LF")
			}
			if bd.cs == csSizeLF {
				bd.endSizeLine()
			} else {
				bd.cs = csSize
			}
		case csDataEnd:
			switch c {
			case '\r':
				bd.cs = csDataLF
			case '\n':
				bd.cs = csSize
			default:
				return bd.fail("missing CRLF after chunk data")
			}
		}
		r.r++
		bd.pos++
		if bd.cs <= csSizeLF {
			if bd.line++; bd.line > r.lim.MaxRaw {
				return bd.fail("chunk size line too long")
			}
		}
	}
}

// endSizeLine is called on the LF ending a chunk-size line.
func (bd *body) endSizeLine() {
	bd.cs, bd.remain = csData, bd.size
	if bd.size == 0 {
		bd.cs = csTrailers
	}
	bd.size, bd.digits, bd.line = 0, 0, 0
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c|0x20 && c|0x20 <= 'f':
		return int(c|0x20-'a') + 10
	}
	return -1
}

// readTrailers parses the trailer block ending a chunked body into the
// message's Trailers.
func (r *Reader) readTrailers() error {
	bd := &r.body
	if bd.cs == csTrailers {
		r.p.reset(modeTrailers, r.lim)
		bd.cs = csTrailerBlock
	}
	if err := r.parse(); err != nil {
		if e, ok := err.(*Error); ok {
			e.Status = bd.status
			e.Pos += bd.pos
			bd.err = e
			return e
		}
		return r.bodyReadError(err)
	}
	r.p.buildTrailers(bd.m, r.buf[r.r:r.r+r.p.pos])
	r.r += r.p.pos
	bd.pos += r.p.pos
	bd.cs, bd.done = csDone, true
	return nil
}

// BodyPending reports whether the connection may still bring bytes of the
// current message's body: the body is not over, not wholly buffered, and
// the buffer has room.
func (r *Reader) BodyPending() bool {
	bd := &r.body
	switch {
	case r.err != nil, bd.err != nil, bd.done, bd.framing == FramingNone, bd.framing == FramingTunnel:
		return false
	case bd.framing == FramingLength && int64(r.w-r.r) >= bd.remain:
		return false
	}
	return r.r > 0 || r.w < r.size()
}

// ReadMore reads once more from the connection into the buffer, consuming
// nothing (a caller waiting for new data). Errors are those of reading: a
// deadline's is not final.
func (r *Reader) ReadMore() error { return r.fill() }
