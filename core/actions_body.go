package core

import (
	"errors"
	"net"
	"os"
	"time"

	"luaproxy/netio/h1"
)

// "http-request wait-for-body time <time> [at-least <bytes>]" (manual
// 4.4): the request body is read into Req.Body (h1.Reader.BufferBody) so
// that req.body and Lua's txn.req see it. Processing goes on when the
// whole body is there, when <bytes> (non-zero) are, or when the buffer
// (tune.bufsize) is full; after <time> without any of these, the client
// gets a 408 and the request ends.
//
// Wiring, left to the HTTP path's owners: serveHTTP calls
// hc.bindStream() once, and the forwarding (exchange) sends the buffered
// tx.Req.Body before copying the rest of the body from the reader (with
// the framing adjusted when a script changed its length). Until then the
// action is a no-op, so that no buffered byte is lost.

// bindStream makes the connection reachable from its stream's rules.
func (hc *HTTPConn) bindStream() { extOf(hc.s).hc = hc }

// httpConn returns the stream's HTTP connection (nil in TCP mode).
func (s *Stream) httpConn() *HTTPConn {
	if x, _ := s.Ext[engSlot].(*streamExt); x != nil {
		return x.hc
	}
	return nil
}

// bufferRequest waits for the request body as "option
// http-buffer-request" in px asks, before px's http-request rules: as
// wait-for-body does, up to "timeout http-request" (else "timeout
// client"). It returns the reply to send (nil: close) and false when the
// request ends there.
func (hc *HTTPConn) bufferRequest(px *Proxy) (*Reply, bool) {
	if !px.Options.HTTPBufferRequest {
		return nil, true
	}
	d := px.Timeouts.HTTPRequest
	if d == 0 {
		d = hc.s.Frontend.Timeouts.Client
	}
	switch hc.waitForBody(d, 0) {
	case Done:
		return hc.s.HTTP.Reply, false
	case Reject:
		return nil, false
	}
	return nil, true
}

// waitForBody buffers the current request's body as wait-for-body does.
func (hc *HTTPConn) waitForBody(d time.Duration, atLeast int64) Verdict {
	s := hc.s
	tx := s.HTTP
	m := &tx.Req
	if m.Framing == h1.FramingNone || m.BodyComplete {
		return Continue
	}
	limit := s.Engine.BufSize
	if atLeast > 0 && atLeast < int64(limit) {
		limit = int(atLeast)
	}
	if len(m.Body) >= limit {
		return Continue
	}
	if m.ExpectContinue() {
		// HAProxy answers the interim response itself to get the body
		m.Del("Expect")
		hc.writeRaw([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	}
	hc.dl.setRead(d)
	var err error
	s.taskBlock(func() { err = hc.br.BufferBody(m, limit) })
	hc.dl.setRead(0)
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, h1.ErrBodyTooLarge):
		return Continue
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		extOf(s).setTerm('c', 'R')
		tx.Reply = s.ErrorReply(408)
		tx.closeClient = true
		return Done
	}
	extOf(s).setTerm('C', 'R')
	tx.closeClient = true
	return Reject
}
