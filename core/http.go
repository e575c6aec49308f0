package core

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"luaproxy/core/sample"
	"luaproxy/netio"
	"luaproxy/netio/h1"
)

// HTTPTxn is one request/response exchange of an HTTP stream (HAProxy's
// "txn"). It is reset between the requests of a keep-alive connection.
type HTTPTxn struct {
	Req, Res h1.Message
	txnState
}

// txnState is a transaction but for its messages, whose header lists
// keep their capacity from one request to the next: reset makes it anew
// for each request, in place (a copy of the whole HTTPTxn through a
// temporary took 0.1-0.15 us of a proxied request, cold in the cache).
type txnState struct {
	// Status is txn.status: the response status, or the status of a reply
	// produced by the proxy; 0 until known.
	Status int
	// Reply is set when a rule answers in place of a server.
	Reply *Reply
	// Redirected requests, denied ones ... answered locally.
	// First is true for the first request of the connection.
	First bool

	vars        *sample.Vars // txn-scope variables: varStore once used
	varStore    sample.Vars
	seq         uint64       // the transaction's number on its connection (the object is reused)
	filters     *filterChain // the filter instances of this request (filter.go)
	svcReq      *h1.Message  // the request as a service sees it (ServiceRequest)
	comp        *compAlgo    // the compression algorithm the request allows (compression.go)
	reqBodyDone bool         // the request body was read from the client
	closeClient bool         // the client connection ends after this response
	// reqHeadIn and resHeadIn are the HTX sizes of the request's and the
	// server response's heads as received, before any rule (%U, %B; 0
	// until received)
	reqHeadIn, resHeadIn int64
	// clientGone: the client closed while a rule waited; the rules run
	// on in HAProxy's final mode, then the stream ends (AbortAfterRules).
	clientGone bool
	// start is when the transaction began: the accept, or the end of the
	// previous response; recvAt when the first byte of its request came,
	// headAt when its head was complete (zero: not reached), then when
	// its analysis ended (analysed).
	start, recvAt, headAt time.Time
	srvTime               time.Duration
	// srvStatus is the status the server answered (server_status), 0 if
	// none did; set-status changes Status, not srvStatus.
	srvStatus int
	// ck is the cookie persistence state (cookie.go).
	ck cookieTxn
	// monitor: the request was for the monitor URI, answered and not
	// logged (monitor.go).
	monitor bool
	// logged: the transaction was logged early ("option logasap"), the
	// line is not sent again at its end.
	logged bool
	// resExtra is added to the response's size in the logs (%B): HAProxy
	// counts headers it holds and never sends (abortClient).
	resExtra int64
}

// reset prepares the transaction for the next request of the connection,
// which starts at start, keeping the capacity of its header lists.
//
// Not inlined: its literal's temporary (the size of an HTTPTxn) would
// sit in httpLoop's frame, under every wait for a next request, keeping
// an idle connection's goroutine stack from shrinking to 8 KiB.
//
//go:noinline
func (tx *HTTPTxn) reset(first bool, start time.Time) {
	tx.Req.Reset()
	tx.Res.Reset()
	seq := tx.seq + 1
	tx.txnState = txnState{First: first, start: start, seq: seq}
}

// Reply is a response produced by the proxy itself (deny, return,
// redirect, errors, Lua's txn:reply()).
type Reply struct {
	Status  int
	Reason  string
	Headers []h1.Header
	Body    []byte
	// Raw, when set, is the whole response as bytes (errorfile).
	Raw []byte
	// spec, in a proxy's error messages, is an http-error reply with
	// log-format parts, rendered for each stream (httperrors.go).
	spec *replySpec
}

// ErrorReply returns HAProxy's built-in error page for code, or the
// proxy's errorfile for it.
func (px *Proxy) ErrorReply(code int) *Reply { return px.errorReply(nil, code) }

// errorReply is ErrorReply for stream s, which renders the log-format
// parts of an http-error message (nil: they render empty).
func (px *Proxy) errorReply(s *Stream, code int) *Reply {
	if px != nil && px.ErrorFiles != nil {
		if r, ok := px.ErrorFiles[code]; ok {
			if r.spec != nil {
				return r.spec.render(s)
			}
			return r.clone()
		}
	}
	return &Reply{Status: code, Headers: []h1.Header{
		{Name: "cache-control", Value: "no-cache"},
		{Name: "content-type", Value: "text/html"},
	}, Body: []byte(errorBody(code))}
}

// AppendReply serializes a reply; close adds "connection: close".
func AppendReply(dst []byte, r *Reply, close bool) []byte {
	if r.Raw != nil {
		return append(dst, r.Raw...)
	}
	reason := r.Reason
	if reason == "" {
		reason = Reason(r.Status)
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	dst = append(dst, "\r\ncontent-length: "...)
	dst = strconv.AppendInt(dst, int64(len(r.Body)), 10)
	dst = append(dst, "\r\n"...)
	for _, h := range r.Headers {
		if h1.EqualFold(h.Name, "content-length") {
			continue
		}
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, h.Value...)
		dst = append(dst, "\r\n"...)
	}
	if close {
		dst = append(dst, "connection: close\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, r.Body...)
}

// HTTPConn is the client side of an HTTP stream.
type HTTPConn struct {
	s   *Stream
	pc  net.Conn // the client connection as br reads it (netio.PollConn)
	br  *h1.Reader
	bw  *netio.Writer
	buf []byte // scratch for heads and replies
	// dl sets the client connection's deadlines.
	dl deadlines
	// wait says what the connection waits for, if anything (waitFirst,
	// waitNext, plus waitPark or waitParked; park.go), idleSince since
	// when (the engine's clock, Unix ns); n is the number of the request
	// a parked connection waits for.
	wait      atomic.Int32
	idleSince atomic.Int64
	n         int
	// txStart and txSeq are what the transaction held while the
	// connection is parked (park lets go of it, serveParked makes it
	// again): when request n started, and its number.
	txStart time.Time
	txSeq   uint64
	// onQueue is hc.queueWatch, the method value made once per
	// connection rather than once per request.
	onQueue func() (<-chan struct{}, func())
	// pk is the connection's place in the engine's parker while it is
	// parked there.
	pk parked
}

// newHTTPConn returns the HTTP side of stream s's client connection.
func (e *Engine) newHTTPConn(s *Stream) *HTTPConn {
	s.shareClient() // the request channel's reads, if any, came first
	pc := netio.PollConn(s.Client, netio.WaitKnownEmpty)
	// Both buffers come from the engine's pool and go back to it while
	// the connection waits for a request: an idle keep-alive connection
	// holds none.
	bufs := e.bufPool(s.Thread)
	hc := &HTTPConn{s: s, pc: pc, br: h1.NewPooledReader(pc, bufs), bw: netio.NewWriter(pc, bufs),
		dl: deadlines{conn: s.Client}}
	hc.onQueue = hc.queueWatch
	return hc
}

// serveHTTP runs the request/response loop of an HTTP frontend. It
// reports whether the connection parked (see httpLoop).
func (e *Engine) serveHTTP(s *Stream) (parked *HTTPConn) {
	hc := e.newHTTPConn(s)
	e.idleMu.Lock()
	e.httpConns[hc] = struct{}{}
	e.idleMu.Unlock()
	if in := s.Req.Input(); len(in) > 0 {
		// tcp-request content rules waited for data: it is the request's
		s.Req.Consume(hc.br.Prime(in))
	}
	hc.bindStream()
	s.HTTP = &HTTPTxn{}
	if e.httpLoop(hc, 0, nil) {
		return hc
	}
	return nil
}

// end undoes what serveHTTP set up (Stream.finish).
func (hc *HTTPConn) end() {
	e := hc.s.Engine
	e.idleMu.Lock()
	delete(e.httpConns, hc)
	delete(e.parkedConns, hc)
	e.idleMu.Unlock()
	// the buffers serve the thread's next connections
	hc.br.Release()
	hc.bw.Release()
}

// httpLoop serves the requests of hc from its n-th (0: the first). When
// woken is not nil, the connection was parked: its wait for request n
// ended with *woken (serveParked). It returns true when the connection
// parks, its stream left as it is for the next goroutine; false when
// the stream is over.
func (e *Engine) httpLoop(hc *HTTPConn, n int, woken *error) bool {
	s, fe, tx := hc.s, hc.s.Frontend, hc.s.HTTP
	lim := h1.LimitsFor(e.BufSize, e.MaxRewrite, e.MaxHdr)
	for ; ; n++ {
		if woken == nil {
			start := s.now()
			if n == 0 && s.hsTime > 0 {
				start = s.Start // the accept: the handshake counts (%Th)
			}
			tx.reset(n == 0, start)
			hc.dl.setRead(requestTimeout(fe, n == 0))
		}
		var err error
		s.taskBlock(func() {
			switch {
			case woken != nil:
				err = *woken
			case n == 0:
				err = hc.waitRequest(waitFirst)
			default:
				err = hc.waitRequest(waitNext)
			}
			if err == nil {
				tx.recvAt = s.wake() // the clock did not tick during the wait
				if n > 0 {
					hc.dl.setRead(requestTimeout(fe, false))
				}
				err = hc.br.ReadRequest(&tx.Req, lim)
			}
		})
		woken = nil
		if err == errPark {
			hc.park(n)
			return true
		}
		if err != nil {
			hc.requestError(err, n == 0)
			return false
		}
		tx.headAt = s.now() // taskBlock's wake-up
		tx.reqHeadIn = headBytes(&tx.Req)
		fe.Requests.Add(1)
		if !e.handleRequest(hc, tx) || tx.closeClient || e.Stopping() {
			return false
		}
		s.resetForNext()
	}
}

// requestTimeout is how long reading a request head may take: timeout
// http-request (for a keep-alive wait, timeout http-keep-alive first),
// else timeout client.
func requestTimeout(fe *Proxy, first bool) time.Duration {
	t := fe.Timeouts
	d := t.HTTPRequest
	if !first && t.HTTPKeepAlive > 0 {
		d = t.HTTPKeepAlive
	}
	if d == 0 {
		d = t.Client
	}
	return d
}

// requestError answers a request that could not be read, as HAProxy's
// HTTP/1 layer does: 408 on a timeout with a partial request (or the first
// one), 400 on a malformed one, nothing on an idle keep-alive close.
func (hc *HTTPConn) requestError(err error, first bool) {
	partial := hc.br.Buffered() > 0
	// option http-ignore-probes: a connection that sent nothing (a
	// browser's pre-connect) ends silently
	probe := first && !partial && hc.s.Frontend.Options.HTTPIgnoreProbes
	var ne net.Error
	var he *h1.Error
	switch {
	case errors.As(err, &he):
		hc.badRequest(he.Status, 'P')
	case errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded):
		if partial || first && !probe {
			hc.badRequest(408, 'c')
		}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		switch {
		case partial:
			hc.badRequest(400, 'C')
		case first && !probe && !hc.s.Frontend.Options.DontLogNull:
			// HAProxy compat: a connection closed before a request is
			// logged as a bad request, nothing is sent.
			hc.logBadRequest(400, 'C')
		}
	}
}

// badRequest answers a request that could not be read with the HTTP/1
// layer's error page and logs it as HAProxy does ("<BADREQ>", status,
// termination state cause+'R').
func (hc *HTTPConn) badRequest(status int, cause byte) {
	hc.writeRaw(muxErrorPage(status))
	hc.logBadRequest(status, cause)
}

// logBadRequest logs a request that could not be read (see badRequest).
func (hc *HTTPConn) logBadRequest(status int, cause byte) {
	tx := hc.s.HTTP
	tx.Status = status
	if tx.recvAt.IsZero() {
		tx.recvAt = hc.s.wake() // HAProxy compat: idle (%Ti) until the error
	}
	extOf(hc.s).setTerm(cause, 'R')
	hc.s.logHTTP(tx)
}

func (hc *HTTPConn) writeRaw(b []byte) {
	hc.dl.setWrite(hc.writeTimeout())
	_, _ = hc.bw.Write(b)
	_ = hc.bw.Flush()
}

func (hc *HTTPConn) writeTimeout() time.Duration {
	if d := hc.s.Frontend.Timeouts.Client; d > 0 {
		return d
	}
	return time.Hour
}

// sendReply writes a locally produced response; the client connection
// stays open when the request allows it and its body was consumed.
func (hc *HTTPConn) sendReply(tx *HTTPTxn, r *Reply) bool {
	tx.Status = r.Status
	// A connection closing anyway has no body to drain: a client that
	// never sends it (wait-for-body's 408) must not hold the reply.
	if !tx.reqBodyDone && (tx.closeClient || !hc.drainRequestBody(tx)) {
		tx.closeClient = true
	}
	if !tx.Req.KeepAlive() || hc.s.Frontend.Options.HTTPClose || hc.s.Engine.Stopping() {
		tx.closeClient = true
	}
	hc.buf = AppendReply(hc.buf[:0], r, tx.closeClient)
	if tx.Req.Method == "HEAD" && r.Raw == nil {
		// HAProxy compat: a reply to HEAD keeps its content-length only
		hc.buf = hc.buf[:len(hc.buf)-len(r.Body)]
	}
	yieldBeforeSend()
	hc.writeRaw(hc.buf)
	return !tx.closeClient
}

// yieldBeforeSend lets the other streams woken by the same poll run
// before a stream sends what it produced in the turn it read a request:
// an answer of its own (a service, a return, deny or redirect) or the
// request to the server. Their sends then leave together, as HAProxy's
// send tasklets flush after each poll loop, and a peer on the same host
// is woken once per burst instead of once per message. With wrk (and the
// origin) on the other CPU: for AppletHTTP hello world, the wake-up
// interrupts fell from 0.45 to 0.05 per request (haproxy 2.6: 0.04) and
// it served 15-20% more; for the Lua action in front of the origin,
// the preemption interrupts fell from 0.2-0.4 to 0.1 per request
// (haproxy: 0.06-0.08) and the request cost 9% fewer cycles; plain
// proxying was unchanged. A proxied answer does not yield: it follows
// the server's reply, so answers already leave in the order the poller
// woke their streams, and the yield cost 4% there for nothing.
func yieldBeforeSend() { runtime.Gosched() }

// drainRequestBody reads and drops a small request body so that the
// connection can serve the next request; large bodies close instead.
func (hc *HTTPConn) drainRequestBody(tx *HTTPTxn) bool {
	tx.reqBodyDone = true
	if tx.Req.Framing == h1.FramingNone || tx.Req.BodyComplete {
		return true
	}
	if tx.Req.ContentLength > int64(hc.s.Engine.BufSize) {
		return false
	}
	hc.dl.setRead(hc.s.Frontend.Timeouts.Client)
	_, err := io.Copy(io.Discard, io.LimitReader(bodyReader{hc.br}, int64(hc.s.Engine.BufSize)+1))
	return err == nil
}

// bodyReader adapts the codec's body reading to io.Reader.
type bodyReader struct{ r *h1.Reader }

func (b bodyReader) Read(p []byte) (int, error) { return b.r.ReadBody(p) }

// resetForNext prepares the stream for the next request of the
// connection.
func (s *Stream) resetForNext() {
	s.Backend, s.Server = nil, nil
	s.service = nil
}

// Stream returns the stream the connection belongs to.
func (hc *HTTPConn) Stream() *Stream { return hc.s }

// ReadBody reads the current request's body (decoded); io.EOF at its end.
// It waits at most the client timeout.
func (hc *HTTPConn) ReadBody(p []byte) (int, error) {
	hc.s.HTTP.reqBodyDone = true
	hc.dl.setRead(hc.s.Frontend.Timeouts.Client)
	return hc.br.ReadBody(p)
}

// Write queues response bytes for the client (flushed by Flush or when
// the buffer fills).
func (hc *HTTPConn) Write(p []byte) (int, error) {
	hc.dl.setWrite(hc.s.Frontend.Timeouts.Client)
	return hc.bw.Write(p)
}

// Flush sends what Write queued.
func (hc *HTTPConn) Flush() error { return hc.bw.Flush() }

// ServiceFailed ends a request whose HTTP service failed before it
// started its response: the frontend's error reply for status goes in its
// place, as any reply of the proxy's (after-response rules, and the
// connection kept when the request allows it, as HAProxy 2.6 does). It
// reports whether the connection may serve another request.
func (hc *HTTPConn) ServiceFailed(status int) bool {
	return hc.finishLocal(hc.s.HTTP, hc.s.Frontend.ErrorReply(status))
}

// FinishService ends a request answered by an HTTP service: it drains
// what is left of the request body, logs, and reports whether the
// connection may serve another request. closeAfter is set when the
// response was delimited by closing the connection.
func (hc *HTTPConn) FinishService(status int, closeAfter bool) bool {
	tx := hc.s.HTTP
	tx.Status = status
	if closeAfter || !tx.Req.KeepAlive() || hc.s.Frontend.Options.HTTPClose {
		tx.closeClient = true
	}
	if !tx.closeClient && !hc.drainRequestBody(tx) {
		tx.closeClient = true
	}
	if hc.bw.Buffered() > 0 {
		yieldBeforeSend()
	}
	_ = hc.bw.Flush()
	hc.s.logHTTP(tx)
	return !tx.closeClient
}

// takeBuffered removes and returns the bytes r holds past the current
// message (the start of a tunnel).
func takeBuffered(r *h1.Reader) []byte {
	b := append([]byte(nil), r.Peek()...)
	r.Discard(len(b))
	return b
}

// waitRequest waits for the client's next bytes: a new connection's
// first request (what waitFirst), or a next one (waitNext, which a soft
// stop ends: closeIdle, and the connection closes without an answer);
// with waitParked, on a parked connection's goroutine (serveParked).
// The clock's ticker does not run for it (see clockHold): a keep-alive
// or a new connection may wait for minutes; the caller reads the clock
// when it ends (Stream.wake). A wait the idle sweep interrupted returns
// errPark (park.go).
func (hc *HTTPConn) waitRequest(what int32) (err error) {
	hc.idleSince.Store(clockNS.Load())
	hc.wait.Store(what)
	if what&waitNext != 0 && hc.s.Engine.Stopping() { // Stop sets stopping before closeIdle looks
		hc.wait.Store(waitBusy)
		return errStopping
	}
	clockAway(hc.s.Thread, func() { err = hc.br.WaitData() })
	if hc.wait.Swap(waitBusy)&waitPark != 0 {
		err = hc.parkRequested(what, err)
	}
	return err
}

// errStopping ends the wait for a next request of a stopping engine.
var errStopping = errors.New("stopping")

// closeIdle interrupts the waits for a next request, parked or not (see
// waitRequest), as HAProxy's soft stop closes the connections waiting for
// a next request: they close without an answer.
func (e *Engine) closeIdle() {
	e.idleMu.Lock()
	defer e.idleMu.Unlock()
	for _, conns := range [2]map[*HTTPConn]struct{}{e.httpConns, e.parkedConns} {
		for hc := range conns {
			if hc.wait.Load()&waitNext != 0 {
				_ = hc.s.Client.SetReadDeadline(time.Now())
			}
		}
	}
}
