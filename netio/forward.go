package netio

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Side names one end of a forwarded connection.
type Side uint8

// The sides of a forwarded connection.
const (
	SideNone   Side = iota // no side (nothing happened)
	SideClient             // the connection accepted from the client
	SideServer             // the connection to the server
)

// String returns "client", "server" or "none".
func (s Side) String() string {
	switch s {
	case SideClient:
		return "client"
	case SideServer:
		return "server"
	}
	return "none"
}

// ErrIdleTimeout is wrapped by the [*ForwardError] that [Forward] returns
// when a side stayed idle longer than its timeout.
var ErrIdleTimeout = errors.New("idle timeout")

// ForwardError reports why [Forward] stopped before both directions ended
// normally.
type ForwardError struct {
	// Side is the side at fault: the one that timed out, reset the
	// connection or failed a read or write.
	Side Side
	// Err is ErrIdleTimeout or the I/O error.
	Err error
}

// Error returns e.g. "netio: forward: server: idle timeout".
func (e *ForwardError) Error() string {
	return "netio: forward: " + e.Side.String() + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *ForwardError) Unwrap() error { return e.Err }

// Timeout reports whether e is an idle timeout, so *ForwardError satisfies
// net.Error's Timeout.
func (e *ForwardError) Timeout() bool { return errors.Is(e.Err, ErrIdleTimeout) }

// ForwardOptions tunes [Forward]. The zero value forwards without timeouts.
type ForwardOptions struct {
	// ClientTimeout is the client side's idle timeout, HAProxy's "timeout
	// client". Zero means none.
	ClientTimeout time.Duration

	// ServerTimeout is the server side's idle timeout, HAProxy's "timeout
	// server". Zero means none.
	ServerTimeout time.Duration

	// TunnelTimeout, if not zero, replaces ClientTimeout and ServerTimeout,
	// like HAProxy's "timeout tunnel" once both sides are connected, which
	// they are when Forward starts.
	TunnelTimeout time.Duration

	// ClientPrefix holds bytes already read from the client (for example
	// by tcp-request content rules); they are sent to the server first.
	ClientPrefix []byte

	// ServerPrefix holds bytes already read from the server; they are sent
	// to the client first.
	ServerPrefix []byte

	// ClientIO and ServerIO are the PollConn wrappers the caller already
	// has of the client and server connections, if any: the forward reads
	// and writes through them (setting their wait) instead of making its
	// own. Nothing else may read or write through them meanwhile.
	ClientIO, ServerIO net.Conn

	// NoSplice disables splice(2), like HAProxy's "nosplice": bytes go
	// through a user-space buffer even between two TCP connections. A
	// spliced connection holds two kernel pipes (four descriptors) while
	// it is forwarded.
	NoSplice bool

	// BufSize is the size of each direction's buffer when not splicing.
	// Zero means DefaultBufSize ("tune.bufsize").
	BufSize int

	// Pool, when set, lends each direction its buffer (of the pool's
	// size, BufSize then unused) while it has data in it: a direction
	// waiting for its side to send holds none, as HAProxy's idle
	// connections hold no buffer. Without it, or for a connection
	// PollConn does not wrap (TLS), each direction has a buffer of its
	// own for the whole forward.
	Pool *BufPool
}

// ForwardStats describes a finished [Forward].
type ForwardStats struct {
	// ToServer counts the bytes sent to the server, ClientPrefix included.
	ToServer int64
	// ToClient counts the bytes sent to the client, ServerPrefix included.
	ToClient int64
	// FirstEnd is the side whose stream ended first: by sending EOF, by an
	// error, or by timing out.
	FirstEnd Side
	// Timeout is the side whose idle timeout expired, or SideNone.
	Timeout Side
	// Spliced reports whether the bytes went through splice(2).
	Spliced bool
}

// Forward copies bytes between client and server in both directions until
// both directions end, as HAProxy does in TCP mode, then closes both
// connections.
//
// Half-close: when one side sends EOF, Forward calls CloseWrite on the other
// (a FIN; any connection with a CloseWrite method qualifies, else it is
// closed) and keeps copying the other direction until it ends too. An error
// on either side, or an idle timeout, aborts both directions. Forward clears
// the deadlines of both connections when it starts.
//
// Idle timeouts follow HAProxy's default (not "option independent-streams")
// semantics: a side times out when no byte went to or came from it for its
// timeout while Forward was waiting on it. Forward does not wait on a side
// it has nothing to send to and that already sent EOF, and does not blame a
// side for the silence of the other side it cannot deliver to. Timeouts are
// checked every quarter of the smallest one, so a timeout fires between 1
// and 1.25 times its duration after the last activity. Activity is read from
// the kernel (TCP_INFO) when both connections are TCP, which lets splice(2)
// run undisturbed; other connections count the bytes they copy.
//
// Between two *net.TCPConn on Linux the copy uses splice(2) unless
// opts.NoSplice is set; otherwise it goes through a buffer of opts.BufSize.
//
// The returned error is nil when both directions ended with EOF, and a
// [*ForwardError] otherwise.
func Forward(client, server net.Conn, opts ForwardOptions) (ForwardStats, error) {
	f := newForwarder(client, server, opts)
	defer f.closeAll()
	// The caller copies the client's direction, a goroutine the server's:
	// an idle forwarded connection has two goroutines, its idle timeouts
	// a timer (watch).
	done := make(chan struct{})
	toClient, toServer := &f.dirs[1], &f.dirs[0]
	go func() {
		f.run(toClient)
		close(done)
	}()
	w := f.watch()
	f.run(toServer)
	<-done
	w.stop()
	return f.result()
}

// ForwardAsync forwards as Forward does, but returns at once: each
// direction copies on a goroutine of its own, and the last one to end
// closes both connections and calls done with what Forward would have
// returned. The caller's goroutine is free meanwhile: a forwarded
// connection that waits holds only the two goroutines waiting, whose
// stacks start small, and not the stack of whatever set the forward up
// (a proxy's rules, its connect, a Lua script). done runs on one of the
// forward's goroutines.
func ForwardAsync(client, server net.Conn, opts ForwardOptions, done func(ForwardStats, error)) {
	f := newForwarder(client, server, opts)
	f.left.Store(2)
	f.done = done
	f.w = f.watch()
	go f.runAsync(&f.dirs[1])
	go f.runAsync(&f.dirs[0])
}

// runAsync is a direction's goroutine of ForwardAsync; the last one to
// end ends the forward. Its stack stays at the runtime's smallest (2 KiB)
// as long as the deepest call of a direction (a wait for data, a send)
// takes under ~1.1 KiB of frames: the frames on this path are kept small
// (no closures, no defers), see TestIdleTCPForwardHoldsNoBuffer.
func (f *forwarder) runAsync(d *direction) {
	f.run(d)
	if f.left.Add(-1) != 0 {
		return
	}
	f.w.stop()
	f.closeAll()
	f.done(f.result())
}

// result returns what Forward returns once both directions ended.
func (f *forwarder) result() (ForwardStats, error) {
	st := ForwardStats{
		ToServer: f.dirs[0].n,
		ToClient: f.dirs[1].n,
		FirstEnd: Side(f.firstEnd.Load()),
		Spliced:  f.splice,
	}
	if f.err != nil {
		if f.err.Timeout() {
			st.Timeout = f.err.Side
		}
		return st, f.err
	}
	return st, nil
}

// side indexes in forwarder arrays.
const (
	client = 0
	server = 1
)

// direction is one way of the copy, from conns[from] to conns[to].
type direction struct {
	from, to int
	prefix   []byte
	n        int64 // bytes written to conns[to]; read by watch after done
}

type forwarder struct {
	conns [2]net.Conn
	// io reads and writes conns without splice (PollConn).
	io       [2]net.Conn
	timeout  [2]time.Duration
	dirs     [2]direction
	splice   bool
	bufSize  int
	pool     *BufPool
	activity *activity // nil without timeouts

	firstEnd  atomic.Uint32 // Side
	aborting  atomic.Bool   // set before closing both connections on error
	closed    [2]atomic.Bool
	closeOnce sync.Once
	// running[i]: dirs[i], which copies from side i, goes on
	running [2]atomic.Bool

	mu  sync.Mutex
	err *ForwardError // first error, under mu

	// ForwardAsync: the directions still running, the idle timeouts'
	// watcher, what to call at the end.
	left atomic.Int32
	w    *watcher
	done func(ForwardStats, error)
}

func newForwarder(c, s net.Conn, opts ForwardOptions) *forwarder {
	f := &forwarder{
		conns:   [2]net.Conn{c, s},
		timeout: [2]time.Duration{opts.ClientTimeout, opts.ServerTimeout},
		dirs: [2]direction{
			{from: client, to: server, prefix: opts.ClientPrefix},
			{from: server, to: client, prefix: opts.ServerPrefix},
		},
		bufSize: opts.BufSize,
		pool:    opts.Pool,
	}
	if opts.TunnelTimeout > 0 {
		f.timeout = [2]time.Duration{opts.TunnelTimeout, opts.TunnelTimeout}
	}
	if f.bufSize <= 0 {
		f.bufSize = DefaultBufSize
	}
	for _, c := range f.conns {
		c.SetDeadline(time.Time{})
	}
	_, tcp1 := c.(*net.TCPConn)
	_, tcp2 := s.(*net.TCPConn)
	f.splice = tcp1 && tcp2 && !opts.NoSplice
	if !f.splice {
		// Each direction reads again as soon as it forwarded, before the
		// other direction writes to its connection: a read could not
		// wait first safely (WaitKnownEmpty waits only after a write that
		// proved the connection was not reset), so reads try first.
		f.io = [2]net.Conn{forwardIO(opts.ClientIO, c), forwardIO(opts.ServerIO, s)}
	} else {
		f.io = f.conns
	}
	if f.timeout[client] > 0 || f.timeout[server] > 0 {
		f.activity = newActivity(f.conns)
	}
	f.running[client].Store(true)
	f.running[server].Store(true)
	return f
}

// forwardIO returns io, the caller's PollConn wrapper of c (nil: none),
// or a new one, its reads trying the socket first.
func forwardIO(io, c net.Conn) net.Conn {
	if io == nil {
		return PollConn(c, WaitOnEmpty)
	}
	SetWait(io, WaitOnEmpty)
	return io
}

// run copies one direction, then half-closes its destination; the
// direction then stops counting for the idle timeouts (watch).
func (f *forwarder) run(d *direction) {
	side, err := f.copy(d)
	f.running[d.from].Store(false)
	if err != nil {
		f.fail(side, err)
		return
	}
	f.ended(d.from)
	f.closeWrite(d.to)
}

// copy copies one direction, its prefix first; side is the side at
// fault on error.
func (f *forwarder) copy(d *direction) (side int, err error) {
	if len(d.prefix) > 0 {
		n, err := f.write(d.to, d.prefix)
		d.n += int64(n)
		if err != nil {
			return d.to, err
		}
	}
	if f.splice {
		return f.copySplice(d)
	}
	if lr, ok := f.io[d.from].(lentReader); ok && f.pool != nil {
		l := &poolLender{pool: f.pool}
		side, err = f.copyLent(d, lr, l)
		l.Release()
		return side, err
	}
	return f.copyBuffer(d)
}

// copySplice lets the net package splice conns[from] into conns[to].
func (f *forwarder) copySplice(d *direction) (side int, err error) {
	n, err := f.conns[d.to].(*net.TCPConn).ReadFrom(f.conns[d.from])
	d.n += n
	if err != nil {
		// The error does not say which socket failed; the one that was
		// reset is in the CLOSE state.
		side = d.from
		if !tcpClosed(f.conns[d.from]) && tcpClosed(f.conns[d.to]) {
			side = d.to
		}
	}
	return side, err
}

// lentReader reads into buffers it is lent (pollConn.ReadLent).
type lentReader interface {
	ReadLent(l Lender) (int, error)
}

// copyLent copies from a connection that reads into the buffer l lends,
// taken from f.pool while it holds data. It is copyBuffer's loop with
// nothing more on the stack than the read and the write need.
func (f *forwarder) copyLent(d *direction, lr lentReader, l *poolLender) (side int, err error) {
	for {
		nr, er := lr.ReadLent(l)
		if nr > 0 {
			f.activity.add(d.from)
			nw, ew := f.write(d.to, l.buf()[:nr])
			d.n += int64(nw)
			if ew != nil {
				return d.to, ew
			}
		}
		if er == io.EOF {
			return 0, nil
		}
		if er != nil {
			return d.from, er
		}
	}
}

// copyBuffer copies through a buffer of its own, counting activity.
func (f *forwarder) copyBuffer(d *direction) (side int, err error) {
	read := f.io[d.from].Read
	buf := make([]byte, f.bufSize)
	for {
		nr, er := read(buf)
		if nr > 0 {
			f.activity.add(d.from)
			nw, ew := f.write(d.to, buf[:nr])
			d.n += int64(nw)
			if ew != nil {
				return d.to, ew
			}
		}
		if er == io.EOF {
			return 0, nil
		}
		if er != nil {
			return d.from, er
		}
	}
}

// poolLender lends a BufPool's buffer to a connection's reads
// (pollConn.ReadLent), which give it back while they wait.
type poolLender struct {
	pool *BufPool
	pb   *[]byte
}

// Buffer returns the lent buffer, taking one from the pool if needed.
func (l *poolLender) Buffer() []byte {
	if l.pb == nil {
		l.pb = l.pool.Get()
	}
	return *l.pb
}

// buf returns the buffer held, nil if none.
func (l *poolLender) buf() []byte {
	if l.pb == nil {
		return nil
	}
	return *l.pb
}

// Release gives the buffer back.
func (l *poolLender) Release() {
	if l.pb != nil {
		l.pool.Put(l.pb)
		l.pb = nil
	}
}

// write writes p to conns[to], telling the activity watcher.
func (f *forwarder) write(to int, p []byte) (int, error) {
	f.activity.writing(to, true)
	n, err := f.io[to].Write(p)
	f.activity.writing(to, false)
	if n > 0 {
		f.activity.add(to)
	}
	return n, err
}

// closeWrite sends EOF to conns[i], or closes it if it cannot half-close.
func (f *forwarder) closeWrite(i int) {
	if cw, ok := f.conns[i].(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		return
	}
	// The other direction's read from conns[i] now fails: not an error.
	f.closed[i].Store(true)
	f.conns[i].Close()
}

// ended records that side i ended its stream, if it is the first.
func (f *forwarder) ended(i int) {
	f.firstEnd.CompareAndSwap(uint32(SideNone), uint32(Side(i+1)))
}

// fail records err on side i, unless it results from closing connections
// ourselves, and aborts both directions.
func (f *forwarder) fail(i int, err error) {
	if f.aborting.Load() || f.closed[client].Load() || f.closed[server].Load() {
		return
	}
	f.mu.Lock()
	if f.err == nil {
		f.err = &ForwardError{Side: Side(i + 1), Err: err}
		f.ended(i)
	}
	f.mu.Unlock()
	f.closeAll()
}

// closeAll aborts both directions.
func (f *forwarder) closeAll() {
	f.closeOnce.Do(func() {
		f.aborting.Store(true)
		f.conns[client].Close()
		f.conns[server].Close()
	})
}
