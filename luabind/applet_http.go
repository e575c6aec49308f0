//go:build lua53

package luabind

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"luaproxy/core"
	"luaproxy/luabind/vm"
	"luaproxy/netio/h1"
)

// ServeHTTP runs an HTTP service function with an AppletHTTP for one
// request; it reports whether the client connection may go on.
func (svc *luaService) ServeHTTP(s *core.Stream, hc *core.HTTPConn) bool {
	ls, r := svc.rt.lookup(s.Thread, func(ls *LState) *registered { return ls.services[svc.name] })
	if ls == nil {
		return false
	}
	req := &s.HTTP.Req
	ap := &AppletHTTP{s: s, hc: hc, status: 200, filtered: hc.Filtered(), rules: hc.ServiceResponseRules(),
		// what wait-for-body buffered comes first
		body:    append([]byte(nil), req.Body...),
		bodyEOF: req.BodyComplete || req.Framing == h1.FramingNone}
	ls.Lock()
	co, err := ls.start(&invocation{ctx: ctxService, name: svc.name, s: s, happlet: ap}, r.fn)
	if err != nil {
		ls.Unlock()
		sendErr(ls, streamProxy(s), "Lua applet http '<lua.%s>': %v.", svc.name, err)
		return false
	}
	appletHTTPClass.Push(&co.Pusher, ap)
	out := ls.drive(co)
	if out != vm.OK {
		alertFailure(ls, streamProxy(s), "Lua applet http '<lua."+svc.name+">'", co, out)
	}
	co.Close()
	ls.Unlock()
	if out != vm.OK {
		switch {
		case ap.started:
		case ap.rules:
			// the error page is the service's answer: the response
			// rules see it
			r := s.Frontend.ErrorReply(500)
			if r.Raw == nil {
				hs := append(append([]h1.Header(nil), r.Headers...),
					h1.Header{Name: "content-length", Value: strconv.Itoa(len(r.Body))})
				res := &h1.Message{Status: 500, Reason: core.Reason(500), Version: "HTTP/1.1", Headers: hs}
				if _, _, replied := hc.StartServiceResponse(res); replied {
					return false
				}
				hc.Write(r.Body)
				break
			}
			hc.Write(errorPage(s, 500))
		case !ap.filtered:
			// HAProxy compat: the 500 keeps the connection
			return hc.ServiceFailed(500)
		default:
			hc.Write(errorPage(s, 500))
		}
		hc.FinishService(500, true)
		return false
	}
	if !ap.started {
		if ap.rules && !ap.filtered {
			ap.startWithRules() // the state is not held here
		} else {
			ap.startResponse()
		}
	}
	if ap.replied {
		return false
	}
	if ap.filtered {
		res := &h1.Message{Status: ap.status, Reason: ap.reason, Version: ap.resVersion(),
			Headers: ap.headers, Body: ap.resBody}
		if res.Reason == "" {
			res.Reason = core.Reason(ap.status)
		}
		ok, closeAfter := hc.ServiceResponse(res)
		if !ok {
			return false
		}
		return hc.FinishService(s.HTTP.Status, closeAfter)
	}
	if ap.enc != nil {
		_ = ap.enc.Close()
	} else if ap.chunked {
		_, _ = hc.Write([]byte("0\r\n\r\n"))
	}
	return hc.FinishService(ap.status, ap.closeDelimited)
}

func errorPage(s *core.Stream, code int) []byte {
	return core.AppendReply(nil, s.Frontend.ErrorReply(code), true)
}

// AppletHTTP is the Lua "AppletHTTP" class: an HTTP service's view of its
// request, and the writer of its response.
type AppletHTTP struct {
	s  *core.Stream
	hc *core.HTTPConn

	status  int
	reason  string
	headers []h1.Header
	started bool
	chunked bool
	// closeDelimited: no length and an HTTP/1.0 client: the body ends
	// with the connection.
	closeDelimited bool

	body    []byte // request body bytes read and not consumed
	bodyEOF bool
	// the wait and results of getline and receive (vm.Call.YieldResolved),
	// made at the first wait (waitFuncs: most applets read no body;
	// method values stored in a coroutine allocate each time); receive
	// waits for recvSize bytes
	fillWait       func()
	line, received func(*vm.Pusher) bool
	recvSize       int64

	// filtered: filters see the response, which is kept in resBody
	// until the service ends (HTTPConn.ServiceResponse); so is it when
	// rules apply and the head could not wait for them (no yield).
	filtered bool
	// rules: http-response or http-after-response rules apply to the
	// head, which waits for them (HTTPConn.StartServiceResponse) in a
	// yield; replied: a rule answered instead, what is sent is dropped.
	rules, replied bool
	resBody        []byte
	// enc compresses the body ("compression"), nil when it goes as is.
	enc io.WriteCloser
}

var appletHTTPClass = declareClass(&vm.Class[*AppletHTTP]{
	Name: "AppletHTTP",
	Lent: true, // one per invocation (vm.Class.Lent)
	Methods: []vm.Method[*AppletHTTP]{
		{Name: "set_status", Fn: (*AppletHTTP).luaSetStatus},
		{Name: "add_header", Fn: (*AppletHTTP).luaAddHeader},
		{Name: "start_response", Fn: (*AppletHTTP).luaStartResponse},
		{Name: "getline", Fn: (*AppletHTTP).luaGetline},
		{Name: "receive", Fn: (*AppletHTTP).luaReceive},
		{Name: "send", Fn: (*AppletHTTP).luaSend},
	},
	Fields: []vm.Method[*AppletHTTP]{
		{Name: "method", Fn: (*AppletHTTP).luaMethod},
		{Name: "version", Fn: (*AppletHTTP).luaVersion},
		{Name: "path", Fn: (*AppletHTTP).luaPath},
		{Name: "qs", Fn: (*AppletHTTP).luaQS},
		{Name: "length", Fn: (*AppletHTTP).luaLength},
		{Name: "headers", Fn: (*AppletHTTP).luaHeaders},
	},
})

func (ap *AppletHTTP) req() *h1.Message { return ap.hc.ServiceRequest() }

// luaMethod is applet.method.
func (ap *AppletHTTP) luaMethod(c *vm.Call) (int, error) {
	c.PushString(ap.req().Method)
	return 1, nil
}

// luaVersion is applet.version: "HTTP/1.1" or "HTTP/1.0", as HAProxy 2.6
// gives it (not "1.1").
func (ap *AppletHTTP) luaVersion(c *vm.Call) (int, error) {
	c.PushString(ap.req().Version)
	return 1, nil
}

// luaPath is applet.path.
func (ap *AppletHTTP) luaPath(c *vm.Call) (int, error) {
	c.PushString(ap.req().Path())
	return 1, nil
}

// luaQS is applet.qs: the query string without '?' ("" when none).
func (ap *AppletHTTP) luaQS(c *vm.Call) (int, error) {
	q, _ := ap.req().Query()
	c.PushString(q)
	return 1, nil
}

// luaLength is applet.length: the request body length (content-length,
// 0 when absent or chunked).
func (ap *AppletHTTP) luaLength(c *vm.Call) (int, error) {
	c.PushInteger(max(ap.req().ContentLength, 0))
	return 1, nil
}

// luaHeaders is applet.headers, in HAProxy's header-table shape.
func (ap *AppletHTTP) luaHeaders(c *vm.Call) (int, error) {
	pushHeaders(&c.Pusher, ap.req())
	return 1, nil
}

// luaSetStatus implements AppletHTTP.set_status(applet, code [, reason]).
// It returns true; after start_response it changes nothing.
func (ap *AppletHTTP) luaSetStatus(c *vm.Call) (int, error) {
	code, err := c.Integer(2)
	if err != nil {
		return 0, err
	}
	reason, err := c.OptString(3, "")
	if err != nil {
		return 0, err
	}
	ap.status, ap.reason = int(code), reason
	c.PushBool(true) // HAProxy 2.6 compat: it returns true
	return 1, nil
}

// luaAddHeader implements AppletHTTP.add_header(applet, name, value). It
// returns true; after start_response it changes nothing.
func (ap *AppletHTTP) luaAddHeader(c *vm.Call) (int, error) {
	name, err := c.String(2)
	if err != nil {
		return 0, err
	}
	value, err := c.String(3)
	if err != nil {
		return 0, err
	}
	ap.headers = append(ap.headers, h1.Header{Name: name, Value: value})
	c.PushBool(true) // HAProxy 2.6 compat: it returns true
	return 1, nil
}

// luaStartResponse implements AppletHTTP.start_response(applet): the
// status line and headers go out; without content-length the body is
// chunked (HTTP/1.1 clients) or ends with the connection (HTTP/1.0).
func (ap *AppletHTTP) luaStartResponse(c *vm.Call) (int, error) {
	if ap.started {
		return 0, errors.New("start_response: the response was already started")
	}
	if ap.rules && !ap.filtered && !ap.startYield(c) {
		return c.YieldResolved(ap.startWithRules, resolvedNothing)
	}
	ap.startResponse()
	return 0, nil
}

// startYield decides how a head that response rules apply to goes out:
// false means through a yield (startWithRules runs outside the state's
// lock, as Lua rules need it); true when the call cannot yield, and the
// whole response is then kept for the rules (filtered).
func (ap *AppletHTTP) startYield(c *vm.Call) bool {
	if c.CanYield() {
		ap.started = true
		return false
	}
	ap.filtered = true
	return true
}

// startWithRules sends the head through the response rules and writes
// it (core.HTTPConn.StartServiceResponse).
func (ap *AppletHTTP) startWithRules() {
	ap.started = true
	reason := ap.reason
	if reason == "" {
		reason = core.Reason(ap.status)
	}
	res := &h1.Message{Status: ap.status, Reason: reason, Version: ap.resVersion(), Headers: ap.headers}
	ap.chunked, ap.closeDelimited, ap.replied = ap.hc.StartServiceResponse(res)
}

// resVersion is the version of the response: HAProxy 2.6 answers an
// HTTP/1.0 request in HTTP/1.0.
func (ap *AppletHTTP) resVersion() string {
	if ap.req().Version == "HTTP/1.0" {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

func (ap *AppletHTTP) startResponse() {
	ap.started = true
	if ap.filtered {
		return
	}
	reason := ap.reason
	if reason == "" {
		reason = core.Reason(ap.status)
	}
	noBody := ap.status == 204 || ap.status == 304 || ap.status < 200 || ap.req().Method == "HEAD"
	ap.compress(noBody)
	b := make([]byte, 0, 256) // one allocation for a usual head
	b = append(b, ap.resVersion()...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(ap.status), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	b = append(b, "\r\n"...)
	hasLen := ap.enc != nil
	for _, h := range ap.headers {
		if strings.EqualFold(h.Name, "content-length") || strings.EqualFold(h.Name, "transfer-encoding") {
			hasLen = true
		}
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	if !hasLen && !noBody {
		if ap.req().Version == "HTTP/1.1" {
			ap.chunked = true
			b = append(b, "transfer-encoding: chunked\r\n"...)
		} else {
			ap.closeDelimited = true
		}
	}
	// HAProxy compat: its H1 mux tells the client what becomes of the
	// connection when that differs from the version's default
	switch keep := ap.req().KeepAlive(); {
	case ap.req().Version == "HTTP/1.1" && (!keep || ap.s.Frontend.Options.HTTPClose):
		b = append(b, "connection: close\r\n"...)
	case ap.req().Version == "HTTP/1.0" && keep && !ap.closeDelimited && !ap.s.Frontend.Options.HTTPClose:
		b = append(b, "connection: keep-alive\r\n"...)
	}
	b = append(b, "\r\n"...)
	_, _ = ap.hc.Write(b)
}

// compress applies "compression" to the response being started: when
// it is compressed, its headers are rewritten and ap.enc set.
func (ap *AppletHTTP) compress(noBody bool) {
	if !ap.hc.MayCompress() {
		return // the common case: no compression configured or accepted
	}
	res := h1.Message{IsResponse: true, Version: ap.resVersion(), Status: ap.status,
		Headers: ap.headers, ContentLength: -1}
	switch {
	case noBody:
		res.Framing = h1.FramingNone
	case ap.req().Version != "HTTP/1.1":
		res.Framing = h1.FramingClose
	default:
		res.Framing = h1.FramingChunked
	}
	for _, h := range ap.headers {
		switch {
		case strings.EqualFold(h.Name, "transfer-encoding"):
			return // the script frames its body itself
		case strings.EqualFold(h.Name, "content-length") && res.Framing != h1.FramingNone:
			n, err := strconv.ParseInt(strings.TrimSpace(h.Value), 10, 64)
			if err == nil {
				res.Framing, res.ContentLength = h1.FramingLength, n
			}
		}
	}
	if w := ap.hc.ServiceCompression(&res); w != nil {
		ap.enc, ap.headers = w, res.Headers
	}
}

// luaSend implements AppletHTTP.send(applet, msg): body data (chunked
// when the response has no length), once start_response was called; it
// returns the bytes sent (HAProxy 2.6).
func (ap *AppletHTTP) luaSend(c *vm.Call) (int, error) {
	msg, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	if !ap.started {
		// HAProxy compat: no implicit start
		return 0, errors.New("Lua: 'send' you must call start_response() before sending data.")
	}
	if ap.replied {
		return 0, nil
	}
	c.PushInteger(int64(len(msg))) // HAProxy 2.6 compat: the bytes sent
	if len(msg) == 0 {
		return 1, nil
	}
	if ap.filtered {
		ap.resBody = append(ap.resBody, msg...)
		return 1, nil
	}
	if ap.enc != nil {
		_, _ = ap.enc.Write(msg)
		return 0, nil
	}
	if ap.chunked {
		hdr := strconv.AppendInt(nil, int64(len(msg)), 16)
		_, _ = ap.hc.Write(append(hdr, '\r', '\n'))
		_, _ = ap.hc.Write(msg)
		_, _ = ap.hc.Write([]byte("\r\n"))
		return 1, nil
	}
	_, _ = ap.hc.Write(msg)
	return 1, nil
}

// fill reads more request body (outside the state's lock).
func (ap *AppletHTTP) fill() {
	buf := make([]byte, 16384)
	n, err := ap.hc.ReadBody(buf)
	ap.body = append(ap.body, buf[:n]...)
	if err != nil {
		ap.bodyEOF = true
		if !errors.Is(err, io.EOF) {
			ap.s.HTTP.Req.BodyComplete = false
		}
	}
}

// waitFuncs makes the wait and results of getline and receive, once per
// applet.
func (ap *AppletHTTP) waitFuncs() {
	if ap.fillWait == nil {
		ap.fillWait, ap.line, ap.received = ap.fill, ap.pushLine, ap.pushReceived
	}
}

// luaGetline implements AppletHTTP.getline(applet): one line of the
// request body, with its "\n"; what is left at the end ("" when nothing).
// It may yield.
func (ap *AppletHTTP) luaGetline(c *vm.Call) (int, error) {
	if ap.pushLine(&c.Pusher) {
		return 1, nil
	}
	ap.waitFuncs()
	return c.YieldResolved(ap.fillWait, ap.line)
}

// pushLine pushes getline's result, or reports false when it must wait
// for more of the body.
func (ap *AppletHTTP) pushLine(p *vm.Pusher) bool {
	if i := bytes.IndexByte(ap.body, '\n'); i >= 0 {
		p.PushBytes(ap.body[:i+1])
		ap.body = ap.body[i+1:]
		return true
	}
	if !ap.bodyEOF {
		return false
	}
	p.PushBytes(ap.body)
	ap.body = nil
	return true
}

// luaReceive implements AppletHTTP.receive(applet [, size]): size bytes of
// the body, or all of it; "" at its end. It may yield.
func (ap *AppletHTTP) luaReceive(c *vm.Call) (int, error) {
	size := int64(-1)
	if c.Top() >= 2 { // HAProxy compat: luaL_checkinteger, nil included
		var err error
		if size, err = c.Integer(2); err != nil {
			return 0, err
		}
	}
	ap.recvSize = size
	if ap.pushReceived(&c.Pusher) {
		return 1, nil
	}
	ap.waitFuncs()
	return c.YieldResolved(ap.fillWait, ap.received)
}

// pushReceived pushes receive's result for recvSize, or reports false
// when it must wait for more of the body.
func (ap *AppletHTTP) pushReceived(p *vm.Pusher) bool {
	size := ap.recvSize
	if !ap.bodyEOF && (size < 0 || int64(len(ap.body)) < size) {
		return false
	}
	n := len(ap.body)
	if size >= 0 && int64(n) > size {
		n = int(size)
	}
	p.PushBytes(ap.body[:n])
	ap.body = ap.body[n:]
	return true
}
