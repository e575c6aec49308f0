package core

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"luaproxy/netio"
)

// errClientAbort ends a queue wait whose client closed its side ("option
// abortonclose"; in TCP mode also without it when the client sent
// nothing).
var errClientAbort = errors.New("client aborted")

// closeWatch watches a client connection for its end of stream without
// reading from it, for "option abortonclose": HAProxy aborts a request
// whose client shut its side while the request waits in a queue (CQ) or
// for the server's response head (CH). It peeks at the socket: data
// pending before the end (a request body, a pipelined request) hides
// it, and a connection that is not a plain socket (TLS) is not watched.
type closeWatch struct {
	c      net.Conn
	closed chan struct{} // closed when the client's side ended
	done   chan struct{} // closed when the watching goroutine returned
	mu     sync.Mutex
	halted bool
}

// peekEOF looks at fd without reading: eof when the peer's side ended
// (or broke), wait when nothing came yet.
func peekEOF(fd uintptr) (eof, wait bool) {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return false, true
	case err != nil:
		return true, false
	}
	return n == 0, false
}

// watchClientClose starts watching the stream's client connection, or
// returns nil when "option abortonclose" does not apply or the
// connection cannot be watched. An end of stream already there is seen
// before it returns.
//
// HAProxy 2.6 compat: in HTTP the option must be on both the frontend
// (its H1 mux otherwise keeps the client's end of stream from the
// stream while a request is in progress) and the backend (which acts on
// it); either alone serves the half-closed client. A frontend gets it
// only from its defaults section ("option abortonclose" in a frontend is
// ignored with a warning), or in a listen section.
func (s *Stream) watchClientClose() *closeWatch {
	if s.Backend == nil || !s.Backend.Options.AbortOnClose || !s.Frontend.Options.AbortOnClose {
		return nil
	}
	sc, ok := s.Client.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &closeWatch{c: s.Client, closed: make(chan struct{}), done: make(chan struct{})}
	eof, wait := false, false
	if rc.Control(func(fd uintptr) { eof, wait = peekEOF(fd) }) != nil {
		return nil
	}
	if eof {
		close(w.closed)
	}
	if !wait {
		close(w.done)
		return w
	}
	go func() {
		defer close(w.done)
		eof := false
		_ = rc.Read(func(fd uintptr) bool {
			w.mu.Lock()
			halted := w.halted
			w.mu.Unlock()
			if halted {
				return true
			}
			var wait bool
			eof, wait = peekEOF(fd)
			return !wait
		})
		if eof {
			close(w.closed)
		}
	}()
	return w
}

// isClosed reports whether the client's side ended.
func (w *closeWatch) isClosed() bool {
	if w == nil {
		return false
	}
	select {
	case <-w.closed:
		return true
	default:
		return false
	}
}

// stop ends the watch; dl, the client connection's deadlines, forgets the
// read deadline used to wake the watcher.
func (w *closeWatch) stop(dl *deadlines) {
	if w == nil {
		return
	}
	select {
	case <-w.done:
		return
	default:
	}
	w.mu.Lock()
	w.halted = true
	w.mu.Unlock()
	_ = w.c.SetReadDeadline(time.Unix(1, 0))
	<-w.done
	dl.rd = 0
	_ = w.c.SetReadDeadline(time.Time{})
}

// queueWatch is an HTTP stream's lbInput.onQueue: its client's end of
// stream ends the queue wait, with "option abortonclose".
func (hc *HTTPConn) queueWatch() (<-chan struct{}, func()) {
	w := hc.s.watchClientClose()
	if w == nil {
		return nil, func() {}
	}
	return w.closed, func() {
		w.stop(&hc.dl)
		netio.Forget(hc.pc) // the watch waited on the socket
	}
}

// tcpQueueWatch is a TCP stream's lbInput.onQueue. HAProxy compat
// (back_may_abort_req): a client that shuts its side while the stream is
// queued ends it (CQ) when nothing came from it, or with "option
// abortonclose" on the backend whatever came. Meanwhile what the client
// sends is read into the request channel, forwarded once connected.
func (s *Stream) tcpQueueWatch() (<-chan struct{}, func()) {
	abort := make(chan struct{})
	done := make(chan struct{})
	if dl := s.connDeadlines(s.Client); dl != nil {
		// no read deadline: Fill then never sets one, which would
		// undo the one stop sets
		dl.setRead(0)
	}
	var mu sync.Mutex
	halted := false
	go func() {
		defer close(done)
		for {
			err := s.Req.Fill(time.Time{})
			mu.Lock()
			stop := halted
			mu.Unlock()
			switch {
			case stop:
				return
			case err == io.EOF:
				if s.Backend.Options.AbortOnClose || len(s.Req.in) == 0 && len(s.Req.out) == 0 {
					close(abort)
				}
				return
			case err != nil:
				return // a full buffer, a broken connection: the wait goes on
			}
		}
	}()
	return abort, func() {
		mu.Lock()
		halted = true
		mu.Unlock()
		c := s.Client
		_ = c.SetReadDeadline(time.Unix(1, 0))
		<-done
		if dl := s.connDeadlines(c); dl != nil {
			dl.rd = 0
		}
		_ = c.SetReadDeadline(time.Time{})
	}
}

// abortServerConn closes a server connection with a reset, as HAProxy
// does when it aborts a request the server already has.
func abortServerConn(sc *srvConn) {
	if tc, ok := sc.Conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = sc.Close()
}

// responseAbort is the watch of a client while its request waits for the
// server's response head: the client's end of stream wakes the response
// read, by a read deadline on the server connection.
type responseAbort struct {
	w    *closeWatch
	hc   *HTTPConn
	sc   *srvConn
	quit chan struct{}
	done chan struct{}
	// stopped is only used by the stream's goroutine.
	stopped bool
}

// watchResponseAbort starts the watch for exchange (nil without "option
// abortonclose").
func (s *Stream) watchResponseAbort(hc *HTTPConn, sc *srvConn) *responseAbort {
	w := s.watchClientClose()
	if w == nil {
		return nil
	}
	quit, done := make(chan struct{}), make(chan struct{})
	a := &responseAbort{w: w, hc: hc, sc: sc, quit: quit, done: done}
	go func() {
		defer close(done)
		select {
		case <-w.closed:
			_ = sc.Conn.SetReadDeadline(time.Unix(1, 0))
		case <-quit:
		}
	}()
	return a
}

// aborted reports whether the client's side ended.
func (a *responseAbort) aborted() bool { return a != nil && a.w.isClosed() }

// stop ends the watch (once the response head came, a client's close no
// longer aborts); the server connection's read deadline is made whole
// again.
func (a *responseAbort) stop() {
	if a == nil || a.stopped {
		return
	}
	a.stopped = true
	close(a.quit)
	<-a.done
	a.w.stop(&a.hc.dl)
	netio.Forget(a.hc.pc) // the watch waited on the socket
	if a.w.isClosed() {
		a.sc.dl.rd = 0
		_ = a.sc.Conn.SetReadDeadline(time.Time{})
	}
}

// abortClient answers a request whose client closed its side while it
// waited for the response head, with "option abortonclose". HAProxy
// compat (http_wait_for_response, "client abort with an abortonclose"):
// a 400, "CH", the connection closes. HAProxy's reply then holds a
// "connection: close" header in its HTX form, counted in %B.
func (hc *HTTPConn) abortClient(tx *HTTPTxn) bool {
	extOf(hc.s).setTerm('C', 'H')
	tx.closeClient = true
	tx.resExtra = int64(len("connection") + len("close"))
	return hc.finishLocal(tx, hc.s.ErrorReply(400))
}
