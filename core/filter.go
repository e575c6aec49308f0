package core

import (
	"errors"
	"strings"
	"time"

	"luaproxy/core/config"
	"luaproxy/netio/h1"
)

// "filter <name> [args...]" (manual 9): a proxy's stream filters. A
// module registers a filter family by prefix ("lua." for Lua filters,
// core.register_filter); each filter line is parsed once into a Filter,
// which creates one FilterInstance per stream (in HTTP, per request, as
// HAProxy's HTTP/1 streams are).
//
// The HTTP analysis, as HAProxy 2.6 calls a filter (checked against
// 2.6.12 with a Lua filter tracing its callbacks):
//
//	start_analyze(req)                  frontend filters: before the http-request rules;
//	                                    backend filters: once the backend is chosen
//	http_headers(req)                   after the request rules, before forwarding
//	http_payload(req), http_end(req)    data filters of the request only
//	start_analyze(res), http_headers(res)
//	http_payload(res), http_end(res)    data filters of the response only
//	end_analyze(req), end_analyze(res)  when the transaction ends
//
// luaproxy buffers the body of a channel some filter registered a data
// filter on (up to tune.bufsize, as wait-for-body does). A body that fits
// gets one http_payload call and is forwarded with its new length. A
// larger one is filtered as it streams, as HAProxy does: http_payload is
// called on the first buffer, then each time more of the body comes
// (http_msg:body() is what the filter has not passed on yet, at most
// tune.bufsize bytes, http_msg:eom() true once the end is there); a
// filter passes on as many bytes as it returns (filter.WAIT: none), what
// all of them passed on is forwarded at once, and http_end follows the
// end. A filter holding part of a body that fits is called again at its
// wake time (filter.wake_time), as HAProxy's stream is woken then. What
// the filters still hold at the end of the message or with a full
// buffer never passes: the request ends when timeout server expires.
// A request keeps its framing (as in HAProxy: a content-length request
// whose filters change its length fails with a 500); a response goes
// chunked, close-delimited to an HTTP/1.0 client.

// FilterParser builds a filter from its configuration words; name is the
// filter's name as written ("lua.trace"), args the words that follow.
type FilterParser func(e *Engine, px *Proxy, name string, args []string, l config.Line) (Filter, error)

// Filter is one "filter" line of a proxy.
type Filter interface {
	// Attach returns the filter's instance for a new stream (HTTP: a new
	// request), or nil when the filter ignores it. It runs on the stream's
	// goroutine.
	Attach(s *Stream) FilterInstance
}

// FilterResult is a filter callback's outcome (Lua's filter.CONTINUE,
// filter.WAIT, filter.ERROR).
type FilterResult int

// The outcomes of a filter callback.
const (
	FilterContinue FilterResult = iota // this step is done for the filter
	FilterWait                         // call again later (after the filter's wake time)
	FilterError                        // abort the transaction
)

// FilterInstance is a filter attached to one stream. Every callback runs
// on the stream's goroutine; res selects the channel (false: request).
type FilterInstance interface {
	StartAnalyze(res bool) FilterResult
	EndAnalyze(res bool) FilterResult
	HTTPHeaders(res bool) FilterResult
	// DataFilter reports whether the filter registered a data filter on
	// the channel: only then is its body buffered and HTTPPayload and
	// HTTPEnd called.
	DataFilter(res bool) bool
	// HTTPPayload filters the n bytes of the channel's buffered body
	// from offset off (HTTP, data filters only): the filter's window,
	// what it has not passed on yet. It returns how many bytes from off
	// it passes on, counted after its edits; what it holds is shown
	// again, with the data that came since, at its next call.
	HTTPPayload(res bool, off, n int) int
	HTTPEnd(res bool) FilterResult
	// TCPPayload filters the n input bytes of the channel from offset off
	// (TCP mode, data filters only). It returns how many bytes from off
	// it passes on, counted after its edits, or -1 to abort the stream.
	TCPPayload(res bool, off, n int) int
	// WakeTime is how long to wait before calling again a callback that
	// returned FilterWait (0: a default).
	WakeTime() time.Duration
	// Detach releases the instance; no callback follows.
	Detach()
}

// RegisterFilter adds a filter family; prefix ends in "." ("lua.").
func RegisterFilter(prefix string, p FilterParser) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if filterParsers == nil {
		filterParsers = map[string]FilterParser{}
	}
	filterParsers[prefix] = p
}

var filterParsers map[string]FilterParser // guarded by reg.mu

func lookupFilter(name string) (FilterParser, bool) {
	reg.mu.RLock()
	defer reg.mu.RUnlock()
	if i := strings.IndexByte(name, '.'); i > 0 {
		p, ok := filterParsers[name[:i+1]]
		return p, ok
	}
	return nil, false
}

// parseFilter handles "filter <name> [args...]".
func (e *Engine) parseFilter(px *Proxy, l config.Line) error {
	if px.Kind == "defaults" {
		return l.Errorf("'filter' not allowed in 'defaults' section")
	}
	if len(l.Args) < 2 {
		return l.Errorf("'filter' expects a filter name.")
	}
	name := l.Args[1]
	if name == "compression" {
		return parseCompressionFilter(px, l)
	}
	p, ok := lookupFilter(name)
	if !ok {
		return l.Errorf("'filter' : unknown filter '%s'.", name)
	}
	f, err := p(e, px, name, l.Args[2:], l)
	if err != nil {
		return err
	}
	if f != nil {
		px.filters = append(px.filters, f)
	}
	return nil
}

// filterChain is the filter instances of the current HTTP transaction.
type filterChain struct {
	s    *Stream // the stream the instances are attached to
	list []FilterInstance
	// resStarted: start_analyze(res) was called.
	resStarted bool
	// reqEnded: end_analyze(req) was called (TCP services, ServiceIO).
	reqEnded bool
	// stream: the body of the request [0], response [1] is filtered as
	// it streams (copyFilteredBody), being larger than a buffer.
	stream [2]bool
	// tcpOff is, per channel and instance, how many input bytes the
	// instance passed on that the stream has not forwarded yet (TCP).
	tcpOff [2][]int
	// httpOff is tcpOff for the body of an HTTP message.
	httpOff [2][]int
}

// filterWaitMax is how long holdUntilTimeout waits without a timeout.
const filterWaitMax = 30 * time.Second

// filterAbort is the outcome of a filter still waiting when nothing more
// can wake it (the client closed, the engine stopped): the stream ends
// without a response.
const filterAbort FilterResult = -1

// call runs fn on every instance in order, calling again an instance
// that waits (woken by on's input); it stops at the first error (or
// abort).
func (fc *filterChain) call(on WakeOn, fn func(FilterInstance) FilterResult) FilterResult {
	if fc == nil {
		return FilterContinue
	}
	for _, fi := range fc.list {
		if r := fc.s.callWaiting(fi, on, fn); r.failed() {
			return r
		}
	}
	return FilterContinue
}

// wakeOn is the channel whose input wakes a callback on the response
// (res) or the request.
func wakeOn(res bool) WakeOn {
	if res {
		return WakeOnResponse
	}
	return WakeOnRequest
}

// failed reports whether r ends the transaction.
func (r FilterResult) failed() bool { return r == FilterError || r == filterAbort }

// callWaiting calls fn and, while it answers FilterWait, again each time
// the stream is woken (WaitWake: the filter's wake time, data on the
// channel on). HAProxy compat: a close of that channel's producer (the
// client, the server) calls it once more; still waiting, the stream is
// aborted (filterAbort).
func (s *Stream) callWaiting(fi FilterInstance, on WakeOn, fn func(FilterInstance) FilterResult) FilterResult {
	for closed := false; ; {
		r := fn(fi)
		if r != FilterWait {
			return r
		}
		if closed {
			return filterAbort
		}
		switch s.WaitWake(fi.WakeTime(), on) {
		case WakeStop:
			return filterAbort
		case WakeEOF:
			closed = true
		}
	}
}

// data reports whether some instance filters the channel's data.
func (fc *filterChain) data(res bool) bool {
	if fc == nil {
		return false
	}
	for _, fi := range fc.list {
		if fi.DataFilter(res) {
			return true
		}
	}
	return false
}

// attachFilters creates the instances of px's filters for the current
// transaction and starts their request analysis (start_analyze(req)).
// It returns FilterError or filterAbort when a start failed.
func (s *Stream) attachFilters(tx *HTTPTxn, px *Proxy) FilterResult {
	return s.attachTo(&tx.filters, px)
}

// attachTo adds px's filters to the chain *fcp (made on first use) and
// starts their request analysis; FilterError or filterAbort when a start
// failed.
func (s *Stream) attachTo(fcp **filterChain, px *Proxy) FilterResult {
	if len(px.filters) == 0 {
		return FilterContinue
	}
	if *fcp == nil {
		*fcp = &filterChain{s: s}
	}
	fc := *fcp
	n := len(fc.list)
	for _, f := range px.filters {
		if fi := f.Attach(s); fi != nil {
			fc.list = append(fc.list, fi)
		}
	}
	for _, fi := range fc.list[n:] {
		if r := s.callWaiting(fi, WakeOnRequest, func(fi FilterInstance) FilterResult { return fi.StartAnalyze(false) }); r.failed() {
			return r
		}
	}
	return FilterContinue
}

// filterStartFailed ends a transaction whose start_analyze(req) failed:
// a 400, or a close without a response when the client closed while a
// filter waited (HAProxy compat).
func (hc *HTTPConn) filterStartFailed(tx *HTTPTxn, r FilterResult) bool {
	tx.closeClient = true
	if r == filterAbort {
		hc.s.AbortWait()
		return false
	}
	return hc.finishLocal(tx, hc.s.ErrorReply(400))
}

// endFilters ends the analysis of both channels (end_analyze(req), then
// end_analyze(res) when the response was analysed) and releases the
// instances.
func (s *Stream) endFilters(tx *HTTPTxn) {
	fc := tx.filters
	if fc == nil {
		return
	}
	tx.filters = nil
	endReq := func(fi FilterInstance) FilterResult { return fi.EndAnalyze(false) }
	endRes := func(fi FilterInstance) FilterResult { return fi.EndAnalyze(true) }
	switch {
	case !fc.resStarted:
		fc.call(WakeOnTimer, endReq)
	case s.service != nil && tx.Req.Framing != h1.FramingNone:
		// HAProxy 2.6 compat: when a service answers a request framed
		// for a body (even "Content-Length: 0"), the response's
		// analysis ends first; without a body, the request's does
		fc.call(WakeOnTimer, endRes)
		fc.call(WakeOnTimer, endReq)
	default:
		fc.call(WakeOnTimer, endReq)
		fc.call(WakeOnTimer, endRes)
	}
	for _, fi := range fc.list {
		fi.Detach()
	}
}

// filterRequest runs http_headers(req) and, for data filters, buffers the
// request body and runs http_payload(req) and http_end(req). On failure it
// returns the reply to send (nil: close silently) and false; HAProxy
// answers a filter error on the request with a 400 and closes.
func (hc *HTTPConn) filterRequest(tx *HTTPTxn) (*Reply, bool) {
	fc := tx.filters
	if fc == nil {
		return nil, true
	}
	s := hc.s
	bad := func() (*Reply, bool) {
		extOf(s).setTerm('P', 'H')
		tx.closeClient = true
		return s.ErrorReply(400), false
	}
	switch fc.call(WakeOnRequest, func(fi FilterInstance) FilterResult { return fi.HTTPHeaders(false) }) {
	case FilterError:
		return bad()
	case filterAbort:
		// HAProxy compat: the client closed while a filter waited
		s.AbortWait()
		return nil, false
	}
	if !fc.data(false) {
		return nil, true
	}
	d := s.Frontend.Timeouts.Client
	if d == 0 {
		d = time.Hour
	}
	switch hc.waitForBody(d, 0) {
	case Done:
		return tx.Reply, false
	case Reject:
		return nil, false
	}
	if req := &tx.Req; !req.BodyComplete && req.Framing != h1.FramingNone {
		// larger than a buffer: filtered as it is sent (exchange).
		// HAProxy compat: the request keeps its framing (a content-length
		// stays, an HTTP/1.0 server cannot take chunks); a filter that
		// makes it longer then fails the request with a 500, shorter
		// leaves the server waiting for the rest (filteredLength).
		fc.stream[0] = true
		return nil, true
	}
	// HAProxy 2.6.12 compat: http_payload's filter.ERROR does not stop
	// the request; http_end's does (400).
	toServer := s.service == nil && s.Backend != nil
	hold := s.Frontend.Timeouts.Client
	if toServer {
		hold = s.Backend.Timeouts.Server
	}
	if !fc.payloadAll(false, &tx.Req, hold) {
		// HAProxy compat: the head went to the server, which times out
		// waiting for the rest (504); a service: the client times out
		tx.closeClient = true
		if toServer {
			extOf(s).setTerm('s', 'D')
			return s.ErrorReply(504), false
		}
		extOf(s).setTerm('c', 'D')
		return s.ErrorReply(408), false
	}
	if fc.callData(false, func(fi FilterInstance) FilterResult { return fi.HTTPEnd(false) }) == FilterError {
		return bad()
	}
	return nil, true
}

// callData runs fn on the instances filtering the channel's data.
func (fc *filterChain) callData(res bool, fn func(FilterInstance) FilterResult) FilterResult {
	for _, fi := range fc.list {
		if !fi.DataFilter(res) {
			continue
		}
		if r := fc.s.callWaiting(fi, wakeOn(res), fn); r.failed() {
			return r
		}
	}
	return FilterContinue
}

// filterResponseStart runs start_analyze(res), once; false on a filter
// error.
func (tx *HTTPTxn) filterResponseStart() bool {
	fc := tx.filters
	if fc == nil || fc.resStarted {
		return true
	}
	fc.resStarted = true
	return !fc.call(WakeOnResponse, func(fi FilterInstance) FilterResult { return fi.StartAnalyze(true) }).failed()
}

// filterResponseHeaders runs http_headers(res); false on a filter error
// (HAProxy then closes the client connection without a response).
func (tx *HTTPTxn) filterResponseHeaders() bool {
	fc := tx.filters
	if fc == nil {
		return true
	}
	return !fc.call(WakeOnResponse, func(fi FilterInstance) FilterResult { return fi.HTTPHeaders(true) }).failed()
}

// filterResponseBody buffers the response body for the data filters of
// the response and runs http_payload(res) and http_end(res). A complete
// body with length or chunked framing is then sent with its new length.
// It reports whether the body was filtered: the caller then sends
// res.Body after the head, and copies what is left. An error is a failed
// read from the server.
func (hc *HTTPConn) filterResponseBody(tx *HTTPTxn, sc *srvConn) (bool, error) {
	fc := tx.filters
	if fc == nil || !fc.data(true) {
		return false, nil
	}
	res := &tx.Res
	if res.Framing != h1.FramingNone {
		sc.dl.setRead(hc.s.Backend.Timeouts.Server)
		if err := sc.br.BufferBody(res, hc.s.Engine.BufSize); err != nil && !errors.Is(err, h1.ErrBodyTooLarge) {
			return true, err
		}
		if !res.BodyComplete {
			// larger than a buffer: filtered as it is sent, with its
			// framing (HAProxy compat: a content-length stays, even for
			// an HTTP/1.0 client; see filteredLength)
			fc.stream[1] = true
			return true, nil
		}
	}
	// HAProxy 2.6.12 compat: neither http_payload's nor http_end's
	// filter.ERROR stops a response (its head is already forwarded there).
	if !fc.payloadAll(true, res, hc.s.Backend.Timeouts.Server) {
		return true, errFilterHold
	}
	fc.callData(true, func(fi FilterInstance) FilterResult { return fi.HTTPEnd(true) })
	if res.BodyComplete && filteredLength(res, int64(len(res.Body))) == errFilterLength {
		// HAProxy compat: the H1 mux refuses the whole buffer, head
		// included: the client connection closes without a response
		return true, errFilterLength
	}
	return true, nil
}

// writeFilteredBody sends the buffered (filtered) part of a response body
// with the message's framing. A complete content-length body the filters
// made shorter is sent and flushed, then errFilterShort ends the
// response.
func (hc *HTTPConn) writeFilteredBody(res *h1.Message) error {
	var err error
	switch {
	case len(res.Body) == 0:
	case res.Framing == h1.FramingChunked:
		hc.buf = h1.AppendChunk(hc.buf[:0], res.Body)
		_, err = hc.bw.Write(hc.buf)
	default:
		_, err = hc.bw.Write(res.Body)
	}
	if err != nil {
		return err
	}
	if err = filteredLength(res, int64(len(res.Body))); err != nil {
		if ferr := hc.bw.Flush(); ferr != nil {
			return ferr
		}
	}
	return err
}

// filteredLength checks the sent length of m's body, complete once the
// data filters edited it, against its content-length. HAProxy compat:
// filters never change the framing of a message (chunks stay chunks, a
// content-length stays as it came), and HAProxy's H1 mux refuses a body
// longer than its content-length (errFilterLength) and sends a shorter
// one as it is, the receiver then waiting for the rest (errFilterShort).
func filteredLength(m *h1.Message, sent int64) error {
	switch {
	case m.Framing != h1.FramingLength || !m.BodyComplete || sent == m.ContentLength:
		return nil
	case sent > m.ContentLength:
		return errFilterLength
	}
	return errFilterShort
}

// ServiceRequest is the request head an HTTP service sees: as the
// request rules left it, before the filters' http_headers (HAProxy's
// applet takes it when use-service runs). Its body is the current
// request's.
func (hc *HTTPConn) ServiceRequest() *h1.Message {
	if tx := hc.s.HTTP; tx.svcReq != nil {
		return tx.svcReq
	}
	return &hc.s.HTTP.Req
}

// Filtered reports whether filters are attached to the current
// transaction: an HTTP service then hands its whole response to
// ServiceResponse instead of writing it.
func (hc *HTTPConn) Filtered() bool {
	fc := hc.s.HTTP.filters
	return fc != nil && len(fc.list) > 0
}

// ServiceResponseRules reports whether http-response or
// http-after-response rules apply to an HTTP service's response: its
// head must then go through StartServiceResponse (or, complete,
// ServiceResponse).
func (hc *HTTPConn) ServiceResponseRules() bool {
	s := hc.s
	if s.hasAfterResponse() || len(s.Frontend.HTTPRules.res) > 0 {
		return true
	}
	be := s.Backend
	return be != nil && be != s.Frontend && len(be.HTTPRules.res) > 0
}

// StartServiceResponse sends the head of an unfiltered HTTP service's
// response through the http-response and http-after-response rules, then
// writes it; the body follows as the service sends it, chunked when
// chunked is set (no length, an HTTP/1.1 request) or up to the
// connection's close when closeAfter is. When a rule answered in its
// place (replied), the answer is sent and logged: the service's body is
// to be dropped and the connection closed. It may block (Lua rules):
// call it without holding a Lua state.
func (hc *HTTPConn) StartServiceResponse(res *h1.Message) (chunked, closeAfter, replied bool) {
	s := hc.s
	tx := s.HTTP
	tx.Res = *res
	r := &tx.Res
	r.IsResponse = true
	tx.Status = r.Status
	noBody := r.Status < 200 || r.Status == 204 || r.Status == 304 || tx.Req.Method == "HEAD"
	_, hasLen := r.Get("content-length")
	te, hasTE := r.Get("transfer-encoding")
	switch {
	case noBody:
	case hasTE:
		chunked = strings.EqualFold(te, "chunked")
	case hasLen:
	case tx.Req.Version == "HTTP/1.1":
		// the rules see the framing the answer gets
		r.Add("transfer-encoding", "chunked")
		chunked = true
	default:
		closeAfter = true
	}
	s.captureHeaders(true)
	if reply, ok := s.runServiceResponseRules(); !ok {
		tx.closeClient = true
		if reply != nil {
			hc.finishLocal(tx, reply)
		}
		return false, true, true
	}
	s.runAfterResponse(tx)
	hc.buf = h1.AppendHead(hc.buf[:0], r)
	_, _ = hc.Write(hc.buf)
	return chunked, closeAfter, false
}

// ServiceResponse sends the complete response of an HTTP service through
// what applies to a server's response: the filters (start_analyze(res),
// http_headers(res), then http_payload(res) and http_end(res) for data
// filters), the http-response rules, the http-after-response rules. A
// response without a length is chunked (HTTP/1.1) or ends with the
// connection (closeAfter); a filtered one with a length gets its new
// length. It returns false when a filter failed (the client connection
// is then closed without a response, as HAProxy 2.6 does) or a rule
// answered in the service's place (that answer was sent and logged).
//
// HAProxy compat: the request's "req" variables stay and "res" ones may
// not be set, as no server connection turns the stream to its response.
func (hc *HTTPConn) ServiceResponse(res *h1.Message) (ok, closeAfter bool) {
	s := hc.s
	tx := s.HTTP
	tx.Res = *res
	r := &tx.Res
	r.IsResponse = true
	r.BodyComplete = true
	r.Framing = h1.FramingLength
	tx.Status = r.Status
	if !tx.filterResponseStart() {
		tx.closeClient = true
		return false, true
	}
	noBody := r.Status < 200 || r.Status == 204 || r.Status == 304 || tx.Req.Method == "HEAD"
	_, hasLen := r.Get("content-length")
	_, hasTE := r.Get("transfer-encoding")
	if !noBody && !hasLen && !hasTE && tx.Req.Version == "HTTP/1.1" {
		// the filters and rules see the framing the answer gets
		r.Add("transfer-encoding", "chunked")
	}
	s.captureHeaders(true)
	reply, rulesOK := s.runServiceResponseRules()
	if !rulesOK {
		tx.closeClient = true
		if reply != nil {
			hc.finishLocal(tx, reply) // logged there
		}
		return false, true
	}
	if !tx.filterResponseHeaders() {
		tx.closeClient = true
		return false, true
	}
	fc := tx.filters
	if fc.data(true) {
		if !fc.payloadAll(true, r, s.Frontend.Timeouts.Client) {
			tx.closeClient = true
			return false, true
		}
		fc.callData(true, func(fi FilterInstance) FilterResult { return fi.HTTPEnd(true) })
	}
	s.runAfterResponse(tx)
	_, hasLen = r.Get("content-length")
	te, hasTE := r.Get("transfer-encoding")
	chunked := false
	switch {
	case noBody:
	case hasTE && strings.EqualFold(te, "chunked"):
		chunked = true
	case hasLen:
		if hc.Filtered() {
			r.SetContentLength(int64(len(r.Body)))
		}
	default:
		closeAfter = true // HTTP/1.0: the close delimits the body
	}
	hc.buf = h1.AppendHead(hc.buf[:0], r)
	switch {
	case noBody:
	case chunked:
		hc.buf = h1.AppendChunk(hc.buf, r.Body)
		hc.buf = h1.AppendLastChunk(hc.buf, nil)
	default:
		hc.buf = append(hc.buf, r.Body...)
	}
	_, _ = hc.Write(hc.buf)
	return true, closeAfter
}

// errFilterLength fails a content-length body the filters made longer
// (HAProxy's H1 mux refuses it: a 500 for a request, a response is cut
// and its connection closed).
var errFilterLength = errors.New("filtered body is longer than its content-length")

// errFilterShort ends a content-length body the filters made shorter,
// sent as it is (see filteredLength): the receiver waits for the rest,
// so the connection it went on cannot carry another message.
var errFilterShort = errors.New("filtered body is shorter than its content-length")

// streamed reports whether the channel's body is filtered as it streams.
func (tx *HTTPTxn) streamed(res bool) bool {
	return tx.filters != nil && tx.filters.stream[b2i(res)]
}

// copyFilteredBody sends m's body between the client and sc (see
// bodyEnds) through the data filters of the channel: what m.Body holds
// first, then what the reading end delivers as it comes, up
// to a buffer's worth held at a time. Each time data comes the filters
// get http_payload on what they have not passed on yet, and what they
// all passed on is written with m's framing (chunked: one chunk);
// http_end follows the end of the message. Data the filters hold when
// the buffer is full, or at the end of the message, can never pass: the
// channel then waits for its timeout, as in HAProxy.
func (hc *HTTPConn) copyFilteredBody(sc *srvConn, m *h1.Message, res bool) error {
	w, r := hc.bodyEnds(sc, res)
	fc := hc.s.HTTP.filters
	max := hc.s.Engine.BufSize
	left := m.ContentLength // what a content-length body has still to send
	for first := true; ; first = false {
		if !first {
			if len(m.Body) >= max || m.BodyComplete {
				holdUntilTimeout(hc.holdTimeout(res))
				return errFilterHold
			}
			hc.armBody(sc, res)
			if err := r.BufferSome(m, max); err != nil && !errors.Is(err, h1.ErrBodyTooLarge) {
				return errors.Join(errClientRead, err)
			}
		}
		n := len(m.Body)
		if n > 0 || m.BodyComplete {
			n = fc.httpPayload(res, m)
		}
		var err error
		if m.Framing == h1.FramingLength {
			left -= int64(n)
			if left < 0 {
				return errFilterLength
			}
		}
		hc.armBody(sc, res)
		switch {
		case n == 0:
		case m.Framing == h1.FramingChunked:
			hc.buf = h1.AppendChunk(hc.buf[:0], m.Body[:n])
			_, err = w.Write(hc.buf)
		default:
			_, err = w.Write(m.Body[:n])
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			return err
		}
		m.Body = append(m.Body[:0], m.Body[n:]...)
		fc.httpPassed(res, n)
		if m.BodyComplete && len(m.Body) == 0 {
			break
		}
	}
	fc.callData(res, func(fi FilterInstance) FilterResult { return fi.HTTPEnd(res) })
	if m.Framing == h1.FramingChunked {
		hc.buf = h1.AppendLastChunk(hc.buf[:0], m.Trailers)
		if _, err := w.Write(hc.buf); err != nil {
			return err
		}
	}
	return filteredLength(m, m.ContentLength-left)
}

// httpPayload runs the data filters of a channel on the body m.Body
// holds and returns how many bytes from its start they all passed on.
// The filters form a pipeline: each sees what the ones before it passed
// on and it has not passed on yet.
func (fc *filterChain) httpPayload(res bool, m *h1.Message) int {
	offs := &fc.httpOff[b2i(res)]
	if len(*offs) < len(fc.list) {
		*offs = append(*offs, make([]int, len(fc.list)-len(*offs))...)
	}
	data := len(m.Body)
	for i, fi := range fc.list {
		if !fi.DataFilter(res) {
			continue
		}
		off := min((*offs)[i], data)
		size := len(m.Body)
		n := fi.HTTPPayload(res, off, data-off)
		if d := len(m.Body) - size; d != 0 {
			// the window's edits moved what the filters before it hold
			for j := range i {
				(*offs)[j] = max((*offs)[j]+d, 0)
			}
		}
		data = min(off+max(n, 0), len(m.Body))
		(*offs)[i] = data
	}
	return data
}

// httpPassed records that the first n bytes of the channel's buffered
// body were forwarded.
func (fc *filterChain) httpPassed(res bool, n int) {
	offs := fc.httpOff[b2i(res)]
	for i := range offs {
		offs[i] = max(offs[i]-n, 0)
	}
}

// payloadAll runs http_payload on a whole buffered body until the
// filters passed all of it on. HAProxy compat: filters holding some of
// it run again at their wake time (WaitWake: nothing else can wake them,
// the body is all there). Once hold (the channel's timeout;
// filterWaitMax without one) passed, or without a wake time once it
// passed, what they hold can never pass: false.
func (fc *filterChain) payloadAll(res bool, m *h1.Message, hold time.Duration) bool {
	if hold <= 0 {
		hold = filterWaitMax
	}
	end := time.Now().Add(hold)
	for {
		if n := fc.httpPayload(res, m); n >= len(m.Body) {
			fc.httpPassed(res, n)
			return true
		}
		left := time.Until(end)
		if left <= 0 {
			return false
		}
		wt := fc.dataWakeTime(res)
		if wt <= 0 || wt > left {
			fc.s.WaitWake(left, WakeOnTimer)
			return false
		}
		if fc.s.WaitWake(wt, WakeOnTimer) == WakeStop {
			return false
		}
	}
}

// errFilterHold ends a message whose filters hold data that can never
// pass, once the channel's timeout expired.
var errFilterHold = errors.New("filters hold the end of the message")

// holdTimeout is how long a channel whose filters hold what can never
// pass waits: timeout server both ways (HAProxy compat: for the request,
// the server waits for the rest of the body, and times out).
func (hc *HTTPConn) holdTimeout(bool) time.Duration {
	return hc.s.Backend.Timeouts.Server
}

// holdUntilTimeout waits for d (no timeout: filterWaitMax): the filters
// hold data that nothing will make them pass, and HAProxy waits for the
// channel's timeout then.
func holdUntilTimeout(d time.Duration) {
	if d <= 0 {
		d = filterWaitMax
	}
	t := time.NewTimer(d)
	defer t.Stop()
	<-t.C
}
