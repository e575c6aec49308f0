package core

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"luaproxy/netio"
	"luaproxy/netio/h1"
)

// handleRequest runs the rules of one request and forwards it or answers
// it; it reports whether the client connection may serve another request.
func (e *Engine) handleRequest(hc *HTTPConn, tx *HTTPTxn) bool {
	s := hc.s
	s.beginTxn(tx)
	defer func() {
		if h := s.handoff; h != nil {
			h.later(func() { s.endFilters(tx); s.endTxn(tx) })
			return
		}
		s.endFilters(tx)
		s.endTxn(tx)
	}()
	return e.runRequest(hc, tx)
}

// runRequest is handleRequest between the transaction's beginning and
// end. (Apart, so that handleRequest's defers are open-coded: with this
// function's many returns they each cost a deferreturn per request.)
func (e *Engine) runRequest(hc *HTTPConn, tx *HTTPTxn) bool {
	s := hc.s
	fe := s.Frontend
	if r := s.attachFilters(tx, fe); r.failed() {
		return hc.filterStartFailed(tx, r)
	}
	if r := s.monitorReply(tx); r != nil {
		s.requestSeen(tx)
		tx.analysed(s)
		return hc.finishLocal(tx, r)
	}
	if r, ok := hc.bufferRequest(fe); !ok {
		tx.analysed(s)
		return hc.finishLocal(tx, r)
	}
	if r, ok := s.runHTTPRules(fe, HTTPRequest); !ok {
		tx.analysed(s)
		return hc.finishLocal(tx, r)
	}
	if s.service == nil && statsMatch(fe, &tx.Req) {
		tx.analysed(s)
		return hc.serveStats(tx, fe)
	}
	if s.service == nil {
		be := s.selectBackend()
		if be == nil {
			tx.analysed(s)
			return hc.finishLocal(tx, s.ErrorReply(503))
		}
		s.Backend = be
		countBackend(be)
		if be != fe {
			if r := s.attachFilters(tx, be); r.failed() {
				return hc.filterStartFailed(tx, r)
			}
			if r, ok := hc.bufferRequest(be); !ok {
				tx.analysed(s)
				return hc.finishLocal(tx, r)
			}
			if r, ok := s.runHTTPRules(be, HTTPRequest); !ok {
				tx.analysed(s)
				return hc.finishLocal(tx, r)
			}
			if s.service == nil && statsMatch(be, &tx.Req) {
				tx.analysed(s)
				return hc.serveStats(tx, be)
			}
		}
	}
	tx.analysed(s)
	if tx.clientGone {
		s.AbortWait()
		return false
	}
	if s.service != nil {
		if s.Backend == nil || s.Backend == fe {
			fe.Intercepted.Add(1) // HAProxy compat: see serveStats
		}
		if hs, ok := s.service.(HTTPService); ok {
			// the filters see the request a service answers too; HAProxy
			// compat: the service sees its head as it was before them
			if tx.filters != nil {
				head := tx.Req
				head.Headers = append([]h1.Header(nil), tx.Req.Headers...)
				tx.svcReq = &head
			}
			s.compSelectRequest(tx)
			if r, ok := hc.filterRequest(tx); !ok {
				return hc.finishLocal(tx, r)
			}
			// HAProxy compat: the response's analysis starts before
			// the service runs
			if !tx.filterResponseStart() {
				tx.closeClient = true
				return false
			}
			return hs.ServeHTTP(s, hc)
		}
		s.service.Serve(s)
		return false
	}
	be := s.Backend
	if be.Cap&CapBE == 0 {
		return hc.finishLocal(tx, s.ErrorReply(503))
	}
	if fe.Options.ForwardFor || be.Options.ForwardFor {
		o := be.Options
		if !o.ForwardFor {
			o = fe.Options
		}
		if _, has := tx.Req.Get(o.ForwardForHdr); !(o.ForwardForIfNone && has) {
			if src := s.SampleCtx().Src.Addr(); src.IsValid() {
				tx.Req.Add(o.ForwardForHdr, src.Unmap().String())
			}
		}
	}
	s.compSelectRequest(tx)
	if r, ok := hc.filterRequest(tx); !ok {
		return hc.finishLocal(tx, r)
	}
	s.addUniqueIDHeader(tx)
	return e.forward(hc, tx, be)
}

// analysed marks the end of the request's analysis, where HAProxy's TR
// timer stops (logs.tv_request): after the request rules, which may have
// waited (Lua actions, wait-for-body), and the backend's choice; not at
// the end of the head.
func (tx *HTTPTxn) analysed(s *Stream) { tx.headAt = s.now() }

// AbortAfterRules handles a client that closed while an HTTP request
// rule waited (a Lua action yielding). HAProxy 2.6 compat: the rules then
// run once more in a final mode where nothing may wait (a Lua action that
// would yield is told "aborting Lua processing on expired timeout" and
// the rules go on), the backend is chosen, and only then does the stream
// end without a response: "CR", logged with that backend. It returns
// false for a TCP stream, which the caller ends at once (AbortWait).
func (s *Stream) AbortAfterRules() bool {
	if s.HTTP == nil {
		return false
	}
	s.HTTP.clientGone = true
	return true
}

// RulesFinal reports whether the request rules run in HAProxy's final
// mode (AbortAfterRules): an action may no longer wait.
func (s *Stream) RulesFinal() bool { return s.HTTP != nil && s.HTTP.clientGone }

// finishLocal ends a request answered by the proxy (r nil: the request
// was rejected silently: close).
func (hc *HTTPConn) finishLocal(tx *HTTPTxn, r *Reply) bool {
	if r == nil {
		return false
	}
	if r.Raw != nil && hc.s.hasAfterResponse() {
		// HAProxy keeps errorfiles as HTTP messages: after-response
		// rules apply to them too.
		if pr := parseRawReply(r.Raw, hc.s.Engine.BufSize); pr != nil {
			r = pr
		}
	}
	tx.resHeadIn = 0 // the reply is counted, not a response it replaces
	if r.Raw == nil {
		// After-response rules see the reply as the response.
		res := &tx.Res
		*res = h1.Message{IsResponse: true, Version: "HTTP/1.1", Status: r.Status, Reason: r.Reason,
			Headers: append(res.Headers[:0], r.Headers...), ContentLength: int64(len(r.Body))}
		tx.Status = r.Status
		hc.s.runAfterResponse(tx)
		r = &Reply{Status: res.Status, Reason: res.Reason, Headers: res.Headers, Body: r.Body}
	}
	ok := hc.sendReply(tx, r)
	hc.s.logHTTP(tx)
	return ok
}

// selectBackend applies use_backend rules, then default_backend.
func (s *Stream) selectBackend() *Proxy {
	fe := s.Frontend
	for _, ub := range fe.UseBackends {
		if ub.match(s) {
			if be := ub.backend(s); be != nil {
				return be
			}
		}
	}
	if fe.Cap&CapBE != 0 {
		return fe
	}
	return fe.defaultBE
}

// forward sends the request to a server of be and relays the response,
// retrying as "retries", "retry-on" and "option redispatch" say.
func (e *Engine) forward(hc *HTTPConn, tx *HTTPTxn, be *Proxy) bool {
	s := hc.s
	fe := s.Frontend
	be.BeConns.Add(1)
	defer func() {
		if h := s.handoff; h != nil {
			h.later(func() { be.BeConns.Add(-1) })
			return
		}
		be.BeConns.Add(-1)
	}()
	req := &tx.Req
	hasBody := req.Framing != h1.FramingNone
	if hasBody && req.ExpectContinue() {
		// Answer the interim response ourselves, so that the body can be
		// streamed right away whatever the server does with Expect.
		req.Del("Expect")
		hc.writeRaw([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	}
	if req.Version != "HTTP/1.1" && req.Version != "HTTP/1.0" && versionAtLeast11(req.Version) {
		// HAProxy compat: a request of version 1.1 or above goes out as
		// HTTP/1.1 (h1_format_htx_reqline).
		req.Version = "HTTP/1.1"
	}
	serverClose := be.Options.HTTPServerClose || be.Options.HTTPClose || fe.Options.HTTPServerClose || fe.Options.HTTPClose
	stripConnTokens(req)
	if serverClose {
		req.Add("Connection", "close")
	}
	in := &lbInput{src: s.SampleCtx().Src.Addr(), req: req, strm: s, prefer: s.lastPrivateServer(be)}
	// A use-server rule wins over a valid persistence cookie, which wins
	// over stick matches (HAProxy: process_server_rules assigns the
	// server first; neither the cookie nor the sticking rules reassign
	// it). The cookie is still parsed, for its log flags and indirect
	// mode.
	in.stick = s.stickRules(be)
	if srv := s.cookieRequest(be, tx); srv != nil {
		in.stick = srv
	}
	if srv := s.useServerRules(be); srv != nil {
		in.stick = srv
	}
	if in.stick == nil && be.Balance.needsPostBody(req) {
		// HAProxy compat (http_process_request): with "balance url_param"
		// a POST whose query string lacks the parameter waits for its
		// body (whole, or a full buffer) before a server is chosen.
		d := be.Timeouts.HTTPRequest
		if d == 0 {
			d = fe.Timeouts.Client
		}
		if d == 0 {
			d = time.Hour
		}
		switch hc.waitForBody(d, 0) {
		case Done:
			return hc.finishLocal(tx, tx.Reply)
		case Reject:
			return false
		}
	}
	var exclude *Server
	for retries := 0; ; {
		// "option abortonclose": a client that leaves while the request
		// is queued ends it (CQ); a connect is let finish (HAProxy's to
		// a loopback server is done before it looks), the response wait
		// looks again (exchange).
		in.onQueue = hc.onQueue
		conn, err := s.connectWith(be, in, e.dialPooled, exclude)
		if err == errClientAbort {
			// HAProxy compat: no response, the connection closes
			s.logHTTP(tx)
			return false
		}
		if err != nil {
			return hc.finishLocal(tx, s.ErrorReply(503))
		}
		sc := conn.(*srvConn)
		ok, fail := e.exchange(hc, tx, sc, serverClose)
		srv := s.Server
		if h := s.handoff; h != nil {
			h.later(srv.release)
			return ok
		}
		srv.release()
		switch {
		case fail == failNone:
			return ok
		case fail == failDone:
			return false // the client is gone
		case fail == failClientAbort:
			return hc.abortClient(tx)
		case fail == failClientBad:
			extOf(s).setTerm('P', 'D')
			return hc.finishLocal(tx, s.ErrorReply(400))
		case fail == failClientTimeout:
			extOf(s).setTerm('c', 'D')
			return hc.finishLocal(tx, s.ErrorReply(408))
		case fail == failInternal:
			return hc.finishLocal(tx, s.ErrorReply(500))
		case (fail == failReused || fail == failSend || fail == failEmpty) && !tx.First:
			// HAProxy 2.6 compat (http_wait_for_response, TX_NOT_FIRST):
			// a server that closes without answering a keep-alive
			// connection's next request has the client connection closed
			// with no response and no log line. The client retries, as
			// after any keep-alive connection closed under it; the proxy
			// never sends a request that may have been processed twice.
			extOf(s).noLog = true
			return false
		case fail == failReused && (!hasBody || req.BodyComplete):
			// An idle connection the server had closed: send again on
			// a new one (nothing reached the client).
			continue
		case (!hasBody || req.BodyComplete) && be.RetryOn&fail.retryFlag() != 0 && retries < be.Retries:
			retries++
			s.fx.connRetries++
			if shouldRedispatch(be.Options.Redispatch, retries, be.Retries) {
				exclude = srv
				s.fx.redispatched = true
			}
			tx.Res.Reset()
			continue
		}
		// HAProxy 2.6 compat: after a 502 (an invalid response, or none
		// to a connection's first request) or a 504 the client connection
		// serves its next request, unless the request body was not read
		// whole.
		if hasBody && !req.BodyComplete && !hc.br.BodyDone() {
			tx.closeClient = true
		}
		code := 502
		if fail == failTimeout {
			code = 504
		}
		return hc.finishLocal(tx, s.ErrorReply(code))
	}
}

// exchangeFail says why an exchange with a server failed before anything
// of the response reached the client.
type exchangeFail int

const (
	failNone          exchangeFail = iota
	failReused                     // a reused idle connection was closed by the server
	failSend                       // sending the request failed
	failEmpty                      // the server closed without answering
	failJunk                       // the response was invalid
	failTimeout                    // no response within timeout server
	failDone                       // failed after the client got something: no retry, no reply
	failClientBad                  // the request body was malformed: 400, no retry
	failClientTimeout              // the request body did not come in time: 408, no retry
	failInternal                   // the proxy could not send what the filters made: 500, no retry
	failClientAbort                // the client closed before the response head ("option abortonclose"): 400, no retry
)

// Retry-on conditions ("retry-on" keywords).
const (
	RetryConnFailure = 1 << iota
	RetryEmptyResponse
	RetryJunkResponse
	RetryResponseTimeout
)

func (f exchangeFail) retryFlag() int {
	switch f {
	case failSend, failEmpty:
		return RetryEmptyResponse
	case failJunk:
		return RetryJunkResponse
	case failTimeout:
		return RetryResponseTimeout
	}
	return 0
}

// exchange sends the request on sc and relays the response. A failure
// before anything reached the client is returned for forward to retry or
// answer; after that, the client connection is closed.
func (e *Engine) exchange(hc *HTTPConn, tx *HTTPTxn, sc *srvConn, serverClose bool) (bool, exchangeFail) {
	s := hc.s
	be := s.Backend
	req := &tx.Req
	hasBody := req.Framing != h1.FramingNone
	wto := be.Timeouts.Server
	if wto == 0 {
		wto = time.Hour
	}
	sc.dl.setWrite(wto)
	sendServerName(tx, sc.srv)
	var err error
	switch {
	case req.BodyComplete && tx.filters.data(false):
		// HAProxy compat: the framing stays as the client sent it
		// (filteredLength); a body made longer never leaves.
		err = filteredLength(req, int64(len(req.Body)))
	case req.BodyComplete:
		// wait-for-body buffered it all (and a script may have changed
		// it): send it with its exact length.
		req.SetContentLength(int64(len(req.Body)))
		req.Framing = h1.FramingLength
	}
	if !errors.Is(err, errFilterLength) {
		// the head is made in the writer's buffer: no copy
		_, err = sc.bw.Write(h1.AppendHead(sc.bw.AvailableBuffer(), req))
		if err == nil {
			err = hc.sendRequestBody(tx, sc, hasBody)
		}
	}
	tx.reqBodyDone = true
	if errors.Is(err, errFilterShort) {
		// HAProxy compat: the server got a shorter body than announced
		// and waits for the rest (a 504 when timeout server expires);
		// its connection cannot carry another request.
		serverClose, err = true, nil
	}
	if errors.Is(err, errFilterLength) {
		_ = sc.Close()
		tx.closeClient = true
		return false, failInternal
	}
	if errors.Is(err, errFilterHold) {
		// HAProxy compat: the filters held the request body until the
		// server timed out (504)
		_ = sc.Close()
		tx.closeClient = true
		return false, failTimeout
	}
	if errors.Is(err, errClientRead) {
		_ = sc.Close()
		tx.closeClient = true
		var he *h1.Error
		var ne net.Error
		switch {
		case errors.As(err, &he):
			return false, failClientBad
		case errors.As(err, &ne) && ne.Timeout():
			return false, failClientTimeout
		}
		return false, failDone
	}
	if err == nil {
		yieldBeforeSend()
		err = sc.bw.Flush()
	}
	if err != nil {
		_ = sc.Close()
		if sc.reused {
			return false, failReused
		}
		return false, failSend
	}
	lim := h1.LimitsFor(e.BufSize, e.MaxRewrite, e.MaxHdr)
	res := &tx.Res
	abort := s.watchResponseAbort(hc, sc)
	for {
		if abort.aborted() {
			abort.stop()
			abortServerConn(sc)
			return false, failClientAbort
		}
		sc.dl.setRead(be.Timeouts.Server)
		s.idleBlock(func() { err = sc.br.ReadResponse(res, lim, req.Method) })
		if err != nil && abort.aborted() {
			abort.stop()
			abortServerConn(sc)
			return false, failClientAbort
		}
		if err != nil {
			abort.stop()
			_ = sc.Close()
			var ne net.Error
			var he *h1.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded):
				return false, failTimeout
			case errors.As(err, &he):
				return false, failJunk
			case sc.reused && sc.br.Buffered() == 0:
				return false, failReused
			}
			return false, failEmpty
		}
		if res.Status >= 100 && res.Status < 200 && res.Status != 101 {
			hc.buf = h1.AppendHead(hc.buf[:0], res)
			hc.writeRaw(hc.buf)
			continue
		}
		break
	}
	abort.stop()
	tx.Status = res.Status
	tx.srvStatus = res.Status
	tx.resHeadIn = headBytes(res)
	tx.srvTime = s.now().Sub(tx.start)
	s.countResponse(res.Status)
	s.stickStore(be)
	s.markConnAuth(sc, res)
	return e.relayResponse(hc, tx, sc, serverClose)
}

// relayResponse runs the response rules and filters on the response head
// exchange read from sc, and sends the response to the client. (Apart
// from exchange, whose many returns would keep its defers from being
// open-coded: each would then cost a deferreturn per request.)
func (e *Engine) relayResponse(hc *HTTPConn, tx *HTTPTxn, sc *srvConn, serverClose bool) (bool, exchangeFail) {
	s := hc.s
	be := s.Backend
	fe := s.Frontend
	req, res := &tx.Req, &tx.Res
	x := extOf(s)
	x.sc = sc
	defer func() { x.sc = nil }()
	if !tx.filterResponseStart() {
		_ = sc.Close()
		return false, failNone
	}
	comp := s.compResponse(tx)
	if r, ok := s.runHTTPResponseRules(); !ok {
		_ = sc.Close()
		if r == nil {
			return false, failNone
		}
		tx.closeClient = true
		return hc.finishLocal(tx, r), failNone
	}
	s.cookieResponse(be, tx, s.Server)
	if !tx.filterResponseHeaders() {
		// HAProxy 2.6 closes without a response
		_ = sc.Close()
		return false, failNone
	}
	s.runAfterResponse(tx)
	s.logASAP(tx, sc)

	if res.Framing == h1.FramingTunnel {
		hc.buf = h1.AppendHead(hc.buf[:0], res)
		_, _ = hc.bw.Write(hc.buf)
		srvBuf := takeBuffered(sc.br)
		sc.br.Release() // the tunnel lends its own (netio.Forward)
		sc.bw.Release()
		hc.handOff(sc, srvBuf)
		s.handoff.later(func() {
			x.sc = sc // as while the response was relayed
			_ = sc.Close()
			s.logHTTP(tx)
			x.sc = nil
		})
		return false, failNone
	}

	srvFramed := res.Framing != h1.FramingClose
	filtered, err := hc.filterResponseBody(tx, sc)
	if err != nil {
		_ = sc.Close()
		return false, failNone
	}
	if filtered {
		comp = nil // not done: a body Lua data filters rewrite stays as is
	}
	if comp != nil {
		compRewrite(res, comp)
	}
	bodyless := res.Framing == h1.FramingNone
	framed := res.Framing != h1.FramingClose
	keepClient := req.KeepAlive() && framed && !fe.Options.HTTPClose && !e.Stopping()
	if !keepClient {
		tx.closeClient = true
	}
	stripConnTokens(res)
	switch {
	case !keepClient && req.Version == "HTTP/1.1":
		res.Add("connection", "close")
	case keepClient && req.Version == "HTTP/1.0":
		res.Add("connection", "keep-alive")
	}
	hc.dl.setWrite(fe.Timeouts.Client)
	_, err = hc.bw.Write(h1.AppendHead(hc.bw.AvailableBuffer(), res))
	if err == nil && tx.streamed(true) {
		err = hc.copyFilteredBody(sc, res, true)
	} else if err == nil && filtered {
		err = hc.writeFilteredBody(res)
	}
	switch {
	case err != nil || bodyless || tx.streamed(true):
	case comp != nil:
		err = hc.copyCompressed(sc, res, comp)
	default:
		err = hc.copyBody(sc, res, true)
	}
	// The server connection is released before the client can see the
	// end of the response (copyBody holds it back), so that a request
	// the client sends next finds it idle.
	srvKeep := err == nil && framed && srvFramed && res.KeepAlive() && !serverClose && sc.br.Buffered() == 0
	if srvKeep {
		s.keepIdle(sc)
	} else {
		_ = sc.Close()
	}
	if err == nil {
		err = hc.bw.Flush()
	}
	s.logHTTP(tx)
	if err != nil {
		tx.closeClient = true
		return false, failNone
	}
	return keepClient, failNone
}

// sendRequestBody sends the request body after its head: what was
// buffered, then the rest from the client (through the data filters when
// they filter it as it streams). A failed read from the client is an
// errClientRead.
func (hc *HTTPConn) sendRequestBody(tx *HTTPTxn, sc *srvConn, hasBody bool) error {
	req := &tx.Req
	if tx.streamed(false) {
		return hc.copyFilteredBody(sc, req, false)
	}
	if len(req.Body) > 0 {
		var err error
		if req.Framing == h1.FramingChunked {
			hc.buf = h1.AppendChunk(hc.buf[:0], req.Body)
			_, err = sc.bw.Write(hc.buf)
		} else {
			_, err = sc.bw.Write(req.Body)
		}
		if err != nil {
			return err
		}
	}
	if req.BodyComplete && req.Framing == h1.FramingChunked {
		// filtered whole: the chunks stay (see exchange)
		hc.buf = h1.AppendLastChunk(hc.buf[:0], req.Trailers)
		_, err := sc.bw.Write(hc.buf)
		return err
	}
	if req.BodyComplete || !hasBody {
		return filteredLength(req, int64(len(req.Body)))
	}
	return hc.copyBody(sc, req, false)
}

// bodyEnds returns the reading and writing ends of a body copy between
// the client and sc: from the server to the client for a response (res),
// the other way for a request.
func (hc *HTTPConn) bodyEnds(sc *srvConn, res bool) (*netio.Writer, *h1.Reader) {
	if res {
		return hc.bw, sc.br
	}
	return sc.bw, hc.br
}

// armBody (re)arms the timeouts of a body copy between the client and
// sc before each read and each write: "timeout client" and "timeout
// server" are inactivity timeouts, counted from the copy's last progress
// (the lazy deadlines make this cheap).
func (hc *HTTPConn) armBody(sc *srvConn, res bool) {
	cto, sto := hc.s.Frontend.Timeouts.Client, hc.s.Backend.Timeouts.Server
	if res {
		sc.dl.setRead(sto)
		hc.dl.setWrite(cto)
	} else {
		hc.dl.setRead(cto)
		sc.dl.setWrite(sto)
	}
}

// bodyChunk is the most a body copy moves at once.
const bodyChunk = 16384

// errClientRead marks a body copy that failed on the reading side.
var errClientRead = errors.New("body read failed")

// copyBody copies the current message body between the client and sc
// (see bodyEnds) with m's framing (chunked is re-encoded, content-length
// and close-delimited are copied).
func (hc *HTTPConn) copyBody(sc *srvConn, m *h1.Message, res bool) error {
	w, r := hc.bodyEnds(sc, res)
	out := hc.buf[:0]
	defer func() { hc.buf = out[:0] }()
	for {
		hc.armBody(sc, res)
		if w.Buffered() > 0 && r.Buffered() == 0 && !r.BodyDone() {
			// Nothing of the body is here yet: what is ready (the head)
			// leaves first, as HAProxy forwards a head without waiting
			// for the body (an event stream, a slow server or client).
			if werr := w.Flush(); werr != nil {
				return werr
			}
		}
		// the bytes go from the reader's buffer to the writer's
		b, err := r.NextBody(bodyChunk)
		if n := len(b); n > 0 {
			hc.armBody(sc, res)
			if m.Framing == h1.FramingChunked {
				out = h1.AppendChunk(out[:0], b)
				if _, werr := w.Write(out); werr != nil {
					return werr
				}
			} else if _, werr := w.Write(b); werr != nil {
				return werr
			}
			if r.Buffered() == 0 && !r.BodyDone() {
				if werr := w.Flush(); werr != nil {
					return werr
				}
			}
		}
		if err == io.EOF {
			if m.Framing == h1.FramingChunked {
				out = h1.AppendLastChunk(out[:0], m.Trailers)
				if _, werr := w.Write(out); werr != nil {
					return werr
				}
			}
			return nil
		}
		if err != nil {
			return errors.Join(errClientRead, err)
		}
	}
}

// stripConnTokens removes the connection-management tokens a hop must not
// forward ("close", "keep-alive"), keeping others (e.g. "upgrade").
func stripConnTokens(m *h1.Message) {
	for i := 0; i < len(m.Headers); i++ {
		h := &m.Headers[i]
		if !h1.EqualFold(h.Name, "connection") {
			continue
		}
		kept := keptConnTokens(h.Value)
		if len(kept) == 0 {
			m.Headers = append(m.Headers[:i], m.Headers[i+1:]...)
			i--
			continue
		}
		h.Value = strings.Join(kept, ", ")
	}
}

// keptConnTokens returns the tokens of a Connection header value that a
// hop forwards: all but "close" and "keep-alive" (stripConnTokens).
func keptConnTokens(v string) []string {
	var kept []string
	for _, t := range strings.Split(v, ",") {
		t = strings.TrimSpace(t)
		if t != "" && !h1.EqualFold(t, "close") && !h1.EqualFold(t, "keep-alive") {
			kept = append(kept, t)
		}
	}
	return kept
}

// versionAtLeast11 reports whether an "HTTP/x.y" version is 1.1 or above.
func versionAtLeast11(v string) bool {
	if len(v) != 8 || !strings.HasPrefix(v, "HTTP/") || v[6] != '.' {
		return false
	}
	return v[5] > '1' || v[5] == '1' && v[7] >= '1'
}

// hasAfterResponse reports whether http-after-response rules apply to
// the stream's responses.
func (s *Stream) hasAfterResponse() bool {
	if len(s.Frontend.HTTPRules.after) > 0 {
		return true
	}
	be := s.Backend
	return be != nil && be != s.Frontend && len(be.HTTPRules.after) > 0
}

// parseRawReply parses a raw response (an errorfile) into a Reply; nil
// when it is not a complete response with a known length.
func parseRawReply(raw []byte, bufSize int) *Reply {
	br := h1.NewReader(bytes.NewReader(raw), max(bufSize, len(raw)+1))
	var m h1.Message
	if err := br.ReadResponse(&m, h1.LimitsFor(max(bufSize, len(raw)+1), 0, 0), "GET"); err != nil {
		return nil
	}
	if m.Framing == h1.FramingChunked || m.Framing == h1.FramingTunnel {
		return nil
	}
	body, err := io.ReadAll(bodyReader{br})
	if err != nil {
		return nil
	}
	hdrs := make([]h1.Header, 0, len(m.Headers))
	for _, h := range m.Headers {
		if !h1.EqualFold(h.Name, "content-length") {
			hdrs = append(hdrs, h)
		}
	}
	return &Reply{Status: m.Status, Reason: m.Reason, Headers: hdrs, Body: body}
}
