package h1

import (
	"errors"
	"io"

	"luaproxy/netio"
)

// DefaultBufSize is the default size of a Reader's buffer, HAProxy's
// default tune.bufsize.
const DefaultBufSize = 16384

// Limits bounds what a Reader accepts in a head. The zero value of a
// field means its default, so Limits{} is HAProxy's defaults.
type Limits struct {
	// MaxHead bounds the size of a head as HAProxy counts it once parsed:
	// start line and header names and values, plus 8 bytes per header
	// line and 85 fixed bytes. It is tune.bufsize - tune.maxrewrite, by
	// default 16384 - 1024 = 15360: a head with a few headers may take
	// some 15280 bytes on the wire.
	MaxHead int
	// MaxRaw bounds the bytes a head may take on the wire, leading empty
	// lines, blanks and folds included: tune.bufsize - 64, by default
	// 16320 (HAProxy keeps 64 bytes of its buffer for itself). The
	// Reader's buffer size bounds it too.
	MaxRaw int
	// MaxHeaders is tune.http.maxhdr, by default 101: the number of header
	// lines plus one (the end of headers takes a slot), so 100 lines pass.
	MaxHeaders int
}

// LimitsFor returns the Limits of an HAProxy configured with the given
// tune.bufsize, tune.maxrewrite and tune.http.maxhdr.
func LimitsFor(bufsize, maxrewrite, maxhdr int) Limits {
	return Limits{MaxHead: bufsize - maxrewrite, MaxRaw: bufsize - 64, MaxHeaders: maxhdr}
}

func (l Limits) withDefaults() Limits {
	def := LimitsFor(DefaultBufSize, 1024, 101)
	if l.MaxHead <= 0 {
		l.MaxHead = def.MaxHead
	}
	if l.MaxRaw <= 0 {
		l.MaxRaw = def.MaxRaw
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = def.MaxHeaders
	}
	return l
}

// Reader reads HTTP/1 messages from a connection: heads with ReadRequest
// or ReadResponse, then the body of that message with ReadBody. Several
// messages may sit in its buffer (pipelining); bytes past the current
// message stay there for the next read. A Reader is not safe for
// concurrent use.
type Reader struct {
	rd  io.Reader
	buf []byte
	// pool, when set, lends buf (NewPooledReader, NewReaderFrom); lend:
	// it goes back while the connection waits for data with nothing
	// buffered (NewPooledReader).
	pool *netio.BufPool
	pb   *[]byte // buf as the pool lent it
	lend bool
	r, w int   // buf[r:w] is buffered, unread
	err  error // sticky error from rd
	p    parser
	lim  Limits
	body body
	// parsing: a head's parse was interrupted by a read deadline and
	// resumes at the next ReadRequest or ReadResponse.
	parsing bool
	// noBlock: fill fails with errWouldBlock instead of reading
	// (BufferSome).
	noBlock bool
}

// errWouldBlock is fill's error when it may not read. It is a timeout
// for the body's error handling: not sticky, the body resumes later.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string { return "h1: no buffered data" }
func (wouldBlock) Timeout() bool { return true }

// NewReader returns a Reader with a buffer of bufSize bytes
// (DefaultBufSize when bufSize <= 0). A head must fit in the buffer.
func NewReader(rd io.Reader, bufSize int) *Reader {
	if bufSize <= 0 {
		bufSize = DefaultBufSize
	}
	return &Reader{rd: rd, buf: make([]byte, bufSize)}
}

// lentReader is a connection that reads into a lent buffer, given back
// while it waits for data (netio.PollConn's).
type lentReader interface {
	ReadLent(l netio.Lender) (int, error)
}

// NewPooledReader returns a Reader whose buffer (of the pool's size)
// goes back to pool while its connection, with nothing buffered, waits
// for more data, and comes back after the wait (possibly another one):
// an idle keep-alive connection then holds no buffer. It waits so only
// on a connection netio.PollConn made; on any other it behaves as
// NewReader's.
func NewPooledReader(rd io.Reader, pool *netio.BufPool) *Reader {
	pb := pool.Get()
	return &Reader{rd: rd, buf: *pb, pool: pool, pb: pb, lend: true}
}

// NewReaderFrom returns a Reader with a buffer from pool, kept until
// Release (a server connection's: its waits are short, and it goes back
// when the connection closes).
func NewReaderFrom(rd io.Reader, pool *netio.BufPool) *Reader {
	pb := pool.Get()
	return &Reader{rd: rd, buf: *pb, pool: pool, pb: pb}
}

// Reset discards the buffered bytes and any message state, and reads from
// rd from now on; the buffer is kept.
func (r *Reader) Reset(rd io.Reader) {
	*r = Reader{rd: rd, buf: r.buf, pool: r.pool, pb: r.pb, lend: r.lend, p: parser{hdrs: r.p.hdrs[:0]}}
}

// Buffered returns the number of bytes read from the connection and not
// consumed yet: the rest of the current body and any pipelined message.
func (r *Reader) Buffered() int { return r.w - r.r }

// Prime puts p in the buffer as if it had been read from the connection,
// ahead of what is read next: the bytes a layer below HTTP read first (a
// tcp-request content rule waiting for data). It returns how many fit.
func (r *Reader) Prime(p []byte) int {
	r.ensure()
	if r.r > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	n := copy(r.buf[r.w:], p)
	r.w += n
	return n
}

// Peek returns the buffered bytes without consuming them. The slice is
// valid until the next call on r. After a CONNECT or a 101 response, these
// bytes are the start of the tunnel.
func (r *Reader) Peek() []byte { return r.buf[r.r:r.w] }

// Discard consumes up to n buffered bytes and returns how many it did.
func (r *Reader) Discard(n int) int {
	n = min(n, r.w-r.r)
	r.r += n
	return n
}

// ReadRequest reads a request head into m, whose fields are all replaced
// (its slices keep their capacity); on error m is left alone. The rest of
// the previous message's body, if any, is read and discarded first. On
// return the reader is positioned at the body; m.Framing says how it is
// delimited.
//
// Errors: an *Error for a malformed request (its Status is what to
// answer), io.EOF when the connection closed cleanly before a request,
// io.ErrUnexpectedEOF when it closed inside one, or the connection's
// error. A read deadline's error is not final: the next call resumes the
// same head (timeout http-request is the caller's to enforce).
func (r *Reader) ReadRequest(m *Message, lim Limits) error {
	if err := r.readHead(m, lim, modeRequest); err != nil {
		return err
	}
	m.Framing = m.requestFraming()
	r.body.start(m, m.Framing, 400)
	return nil
}

// ReadResponse reads a response head into m, like ReadRequest. reqMethod
// is the method of the request it answers: the body of a response to HEAD
// is empty, a 2xx to CONNECT starts a tunnel. A 1xx other than 101 is
// returned like any response; the final one follows it. Errors are
// *Error with Status 502 for a malformed response.
func (r *Reader) ReadResponse(m *Message, lim Limits, reqMethod string) error {
	if err := r.readHead(m, lim, modeResponse); err != nil {
		return err
	}
	m.Framing = m.responseFraming(reqMethod)
	r.body.start(m, m.Framing, 502)
	return nil
}

func (r *Reader) readHead(m *Message, lim Limits, md mode) error {
	if !r.parsing {
		if err := r.skipBody(); err != nil {
			return err
		}
		r.lim = lim.withDefaults()
		r.p.reset(md, r.lim)
		r.parsing = true
	}
	err := r.parse()
	if isTimeout(err) {
		return err
	}
	r.parsing = false
	if err != nil {
		return err
	}
	r.p.build(m, r.buf[r.r:r.r+r.p.pos])
	r.r += r.p.pos
	return nil
}

// parse runs r.p over the buffer, reading more until its block is
// complete. On success the block is r.buf[r.r : r.r+r.p.pos].
func (r *Reader) parse() error {
	r.ensure()
	limit := min(r.lim.MaxRaw, len(r.buf))
	for {
		b := r.buf[r.r:r.w]
		if len(b) > limit {
			b = b[:limit]
		}
		done, perr := r.p.run(b)
		switch {
		case perr != nil:
			return perr
		case done:
			return nil
		case len(b) == limit:
			return r.p.fail(ErrHeadTooLarge, "head too large", len(b))
		}
		if err := r.fill(); err != nil {
			if err == io.EOF && r.p.idle() {
				r.r = r.w // nothing but empty lines: a clean close
				return io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
}

// fill reads once from the connection, moving the buffered bytes to the
// front first when the buffer's tail is full. Errors are sticky, but for
// deadlines: after a timeout, reading may go on.
func (r *Reader) fill() error {
	if r.err != nil {
		return r.err
	}
	if r.noBlock {
		return errWouldBlock
	}
	r.ensure()
	var lr lentReader // a pooled reader lends its empty buffer meanwhile
	switch {
	case r.r == r.w:
		// Empty: read at the front again. A keep-alive connection then
		// keeps reusing the same few cache lines instead of walking its
		// whole buffer, request after request (HAProxy's buffers are
		// likewise realigned when empty).
		r.r, r.w = 0, 0
		if r.lend {
			lr, _ = r.rd.(lentReader)
		}
	case r.w == len(r.buf):
		if r.r == 0 {
			return errors.New("h1: buffer full") // callers bound their needs below len(buf)
		}
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	for range 100 {
		var n int
		var err error
		if lr != nil {
			n, err = lr.ReadLent((*lentBuf)(r))
		} else {
			n, err = r.rd.Read(r.buf[r.w:])
		}
		r.w += n
		if err != nil {
			if !isTimeout(err) {
				r.err = err
			}
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	r.err = io.ErrNoProgress
	return r.err
}

// isTimeout reports whether err is a read deadline's (a net.Conn's errors
// say so themselves).
func isTimeout(err error) bool {
	t, ok := err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

// size returns the size of the buffer, lent or not.
func (r *Reader) size() int {
	if r.pool != nil {
		return r.pool.Size()
	}
	return len(r.buf)
}

// ensure takes a buffer from the pool after a Release.
func (r *Reader) ensure() {
	if r.pb == nil && r.pool != nil {
		r.pb = r.pool.Get()
		r.buf = *r.pb
	}
}

// Release gives a pooled reader's buffer back to its pool, with whatever
// it holds: the connection is done. A read after it takes another.
// Between two messages it also lets go of the parser's header list and
// of the last message (a parked keep-alive connection's).
func (r *Reader) Release() {
	r.releaseBuffer()
	if !r.parsing {
		r.p.hdrs = nil // the parser's header list, grown by the last head
		if r.body.done {
			r.body.m = nil // the last message, whose body is read
		}
	}
}

// releaseBuffer gives a pooled reader's buffer back to its pool.
func (r *Reader) releaseBuffer() {
	if r.pool != nil && r.pb != nil {
		r.pool.Put(r.pb)
		r.pb, r.buf = nil, nil
		r.r, r.w = 0, 0
	}
}

// lentBuf is a pooled Reader as the netio.Lender of its buffer.
type lentBuf Reader

// Buffer returns the free part of the buffer, taking one from the pool
// if needed.
func (l *lentBuf) Buffer() []byte {
	r := (*Reader)(l)
	r.ensure()
	return r.buf[r.w:]
}

// Release gives the buffer back when it holds nothing, while a read
// waits for the poller. The parser's header list stays: the connection
// is in use, and its next head needs one (Reader.Release, for a parked or
// finished connection, lets go of it).
func (l *lentBuf) Release() {
	if l.w == l.r {
		(*Reader)(l).releaseBuffer()
	}
}
