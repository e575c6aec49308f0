//go:build lua53

package luabind

import (
	"errors"
	"fmt"
	"strconv"

	"luaproxy/core"
	"luaproxy/luabind/vm"
	"luaproxy/netio/h1"
)

// HTTPMessage is the Lua "HTTPMessage" class: txn.http_req and
// txn.http_res (and a filter's http_msg). Headers and the start line act
// on the parsed message. luaproxy keeps a message's body in one buffer
// (h1.Message.Body, filled by wait-for-body): the body methods see it as
// HAProxy's "incoming data", minus what forward() already passed (the
// "output"); a body that was not buffered reads as empty.
type HTTPMessage struct {
	s   *core.Stream
	res bool
	fwd int // bytes forwarded by forward()/send(): the output
	// win is the window of a filter's http_payload: the body methods see
	// and edit only those bytes of the buffered body (nil: all of it;
	// its fwd then replaces fwd).
	win *filterWindow
	// phase is the filter callback the message was given to; the
	// phaseAny of other uses allows every method.
	phase msgPhase
}

// msgPhase is the filter callback an HTTPMessage belongs to.
type msgPhase int

const (
	phaseAny msgPhase = iota
	phaseHeaders
	phasePayload
	phaseEnd
)

// errTop is HAProxy's lua_error(L) with the arguments on the stack: the
// error value is the last argument, or the message itself.
func errTop(c *vm.Call) error {
	if c.Top() <= 1 {
		return vm.RawError("HAProxy class HTTPMessage")
	}
	return vm.RawError(c.ToString(c.Top()))
}

// msgHeadOnly wraps a method that changes the head: HAProxy 2.6 raises
// (errTop) once the message is past its headers (http_payload, http_end).
func msgHeadOnly(fn func(*HTTPMessage, *vm.Call) (int, error)) func(*HTTPMessage, *vm.Call) (int, error) {
	return func(hm *HTTPMessage, c *vm.Call) (int, error) {
		if hm.phase == phasePayload || hm.phase == phaseEnd {
			return 0, errTop(c)
		}
		return fn(hm, c)
	}
}

// msgBodyOnly wraps a method on the payload: HAProxy 2.6 raises (errTop)
// outside http_payload (before the data, or once the message is done).
func msgBodyOnly(fn func(*HTTPMessage, *vm.Call) (int, error)) func(*HTTPMessage, *vm.Call) (int, error) {
	return func(hm *HTTPMessage, c *vm.Call) (int, error) {
		if hm.phase == phaseHeaders || hm.phase == phaseEnd {
			return 0, errTop(c)
		}
		return fn(hm, c)
	}
}

var httpMessageClass = declareClass(&vm.Class[*HTTPMessage]{
	Name: "HTTPMessage",
	Methods: []vm.Method[*HTTPMessage]{
		{Name: "get_headers", Fn: msgHeadOnly((*HTTPMessage).luaGetHeaders)},
		{Name: "get_stline", Fn: msgHeadOnly((*HTTPMessage).luaGetStline)},
		{Name: "add_header", Fn: msgHeadOnly((*HTTPMessage).luaAddHeader)},
		{Name: "set_header", Fn: msgHeadOnly((*HTTPMessage).luaSetHeader)},
		{Name: "del_header", Fn: msgHeadOnly((*HTTPMessage).luaDelHeader)},
		{Name: "rep_header", Fn: msgHeadOnly(msgRepHeader(false))},
		{Name: "rep_value", Fn: msgHeadOnly(msgRepHeader(true))},
		{Name: "set_method", Fn: msgHeadOnly(msgReqString(core.SetMethod))},
		{Name: "set_path", Fn: msgHeadOnly(msgReqString(core.SetPath))},
		{Name: "set_query", Fn: msgHeadOnly(msgReqString(func(m *h1.Message, v string) { core.SetQuery(m, v) }))},
		{Name: "set_uri", Fn: msgHeadOnly(msgReqString(func(m *h1.Message, v string) { core.SetURI(m, v) }))},
		{Name: "set_status", Fn: msgHeadOnly((*HTTPMessage).luaSetStatus)},
		{Name: "body", Fn: msgBodyOnly((*HTTPMessage).luaBody)},
		{Name: "set", Fn: msgBodyOnly((*HTTPMessage).luaSet)},
		{Name: "append", Fn: msgBodyOnly((*HTTPMessage).luaAppend)},
		{Name: "prepend", Fn: msgBodyOnly((*HTTPMessage).luaPrepend)},
		{Name: "insert", Fn: msgBodyOnly((*HTTPMessage).luaInsert)},
		{Name: "remove", Fn: msgBodyOnly((*HTTPMessage).luaRemove)},
		{Name: "send", Fn: msgBodyOnly((*HTTPMessage).luaSend)},
		{Name: "forward", Fn: msgBodyOnly((*HTTPMessage).luaForward)},
		{Name: "input", Fn: (*HTTPMessage).luaInput},
		{Name: "output", Fn: (*HTTPMessage).luaOutput},
		{Name: "is_full", Fn: (*HTTPMessage).luaIsFull},
		{Name: "is_resp", Fn: (*HTTPMessage).luaIsResp},
		{Name: "may_recv", Fn: (*HTTPMessage).luaMayRecv},
		{Name: "eom", Fn: (*HTTPMessage).luaEOM},
		{Name: "set_eom", Fn: msgSetEOM(true)},
		{Name: "unset_eom", Fn: msgSetEOM(false)},
		{Name: "set_body_len", Fn: (*HTTPMessage).luaSetBodyLen},
	},
	Fields: []vm.Method[*HTTPMessage]{
		{Name: "channel", Fn: (*HTTPMessage).luaChannel},
	},
})

// luaHTTPReq implements txn.http_req: the request's HTTPMessage in a
// filter of an HTTP stream, else nil (HAProxy 2.6 builds it only for
// filters).
func (tx *TXN) luaHTTPReq(c *vm.Call) (int, error) { return tx.pushMessage(c, false) }

// luaHTTPRes implements txn.http_res: the response's HTTPMessage, as
// txn.http_req.
func (tx *TXN) luaHTTPRes(c *vm.Call) (int, error) { return tx.pushMessage(c, true) }

func (tx *TXN) pushMessage(c *vm.Call, res bool) (int, error) {
	if iv := inv(c); tx.s.HTTP == nil || iv == nil || iv.ctx != ctxFilter {
		c.PushNil()
		return 1, nil
	}
	httpMessageClass.Push(&c.Pusher, &HTTPMessage{s: tx.s, res: res})
	return 1, nil
}

// msg returns the message, with an error when it does not exist (TCP
// mode, or the response before it is received).
func (hm *HTTPMessage) msg() (*h1.Message, error) {
	tx := hm.s.HTTP
	if tx == nil {
		return nil, fmt.Errorf("HTTP message is not available in TCP mode")
	}
	if hm.res {
		if tx.Res.Status == 0 {
			return nil, fmt.Errorf("the HTTP response is not available yet")
		}
		return &tx.Res, nil
	}
	return &tx.Req, nil
}

// luaGetHeaders implements HTTPMessage.get_headers(msg): {name = {[0]=v1,
// [1]=v2}} with lower-cased names. It never yields.
func (hm *HTTPMessage) luaGetHeaders(c *vm.Call) (int, error) {
	m, err := hm.msg()
	if err != nil {
		return 0, err
	}
	pushHeaders(&c.Pusher, m)
	return 1, nil
}

// luaGetStline implements HTTPMessage.get_stline(msg): {method, uri,
// version} or {version, code, reason}. It never yields.
func (hm *HTTPMessage) luaGetStline(c *vm.Call) (int, error) {
	m, err := hm.msg()
	if err != nil {
		return 0, err
	}
	c.NewTable(0, 3)
	if hm.res {
		c.FieldString("version", m.Version)
		c.FieldString("code", strconv.Itoa(m.Status)) // HAProxy compat: a string
		c.FieldString("reason", m.Reason)
	} else {
		c.FieldString("method", m.Method)
		c.FieldString("uri", m.URI)
		c.FieldString("version", m.Version)
	}
	return 1, nil
}

func (hm *HTTPMessage) nameValue(c *vm.Call) (*h1.Message, string, string, error) {
	m, err := hm.msg()
	if err != nil {
		return nil, "", "", err
	}
	name, err := c.String(2)
	if err != nil {
		return nil, "", "", err
	}
	value, err := c.String(3)
	return m, name, value, err
}

// luaAddHeader implements HTTPMessage.add_header(msg, name, value). It
// never yields.
func (hm *HTTPMessage) luaAddHeader(c *vm.Call) (int, error) {
	m, name, value, err := hm.nameValue(c)
	if err != nil {
		return 0, err
	}
	m.Add(name, value)
	return 0, nil
}

// luaSetHeader implements HTTPMessage.set_header(msg, name, value). It
// never yields.
func (hm *HTTPMessage) luaSetHeader(c *vm.Call) (int, error) {
	m, name, value, err := hm.nameValue(c)
	if err != nil {
		return 0, err
	}
	m.Del(name)
	m.Add(name, value)
	return 0, nil
}

// luaDelHeader implements HTTPMessage.del_header(msg, name). It never
// yields.
func (hm *HTTPMessage) luaDelHeader(c *vm.Call) (int, error) {
	m, err := hm.msg()
	if err != nil {
		return 0, err
	}
	name, err := c.String(2)
	if err != nil {
		return 0, err
	}
	m.Del(name)
	return 0, nil
}

// msgRepHeader implements rep_header/rep_value(msg, name, regex, replace).
func msgRepHeader(perValue bool) func(*HTTPMessage, *vm.Call) (int, error) {
	return func(hm *HTTPMessage, c *vm.Call) (int, error) {
		m, err := hm.msg()
		if err != nil {
			return 0, err
		}
		var s [3]string
		for i := range s {
			if s[i], err = c.String(i + 2); err != nil {
				return 0, err
			}
		}
		if err := core.ReplaceHeader(m, s[0], s[1], s[2], perValue); err != nil {
			return 0, c.ArgError(3, err.Error())
		}
		return 0, nil
	}
}

// msgReqString implements the request rewrites set_method, set_path,
// set_query and set_uri(msg, string). HAProxy compat: on the response
// they fail like hlua's "must be the request" check. They never yield.
func msgReqString(set func(*h1.Message, string)) func(*HTTPMessage, *vm.Call) (int, error) {
	return func(hm *HTTPMessage, c *vm.Call) (int, error) {
		if hm.res {
			return 0, errTop(c) // HAProxy compat
		}
		m, err := hm.msg()
		if err != nil {
			return 0, err
		}
		v, err := c.String(2)
		if err != nil {
			return 0, err
		}
		set(m, v)
		c.PushBool(true)
		return 1, nil
	}
}

// luaSetStatus implements HTTPMessage.set_status(msg, status[, reason])
// on the response. It never yields.
func (hm *HTTPMessage) luaSetStatus(c *vm.Call) (int, error) {
	if !hm.res {
		return 0, errTop(c) // HAProxy compat
	}
	m, err := hm.msg()
	if err != nil {
		return 0, err
	}
	if err := setStatus(c, m, hm.s.HTTP); err != nil {
		return 0, err
	}
	c.PushBool(true)
	return 1, nil
}

// input returns the message and its incoming data.
func (hm *HTTPMessage) input() (*h1.Message, []byte, error) {
	m, err := hm.msg()
	if err != nil {
		return nil, nil, err
	}
	lo, hi := hm.bounds(m)
	return m, m.Body[lo:hi], nil
}

// bounds returns where the incoming data the methods see starts and ends
// in the buffered body.
func (hm *HTTPMessage) bounds(m *h1.Message) (lo, hi int) {
	if w := hm.win; w != nil {
		lo = min(w.off+w.fwd, len(m.Body))
		return lo, min(lo+w.n, len(m.Body))
	}
	hm.fwd = min(hm.fwd, len(m.Body))
	return hm.fwd, len(m.Body)
}

// advance makes n bytes of incoming data output.
func (hm *HTTPMessage) advance(n int) {
	if w := hm.win; w != nil {
		w.fwd += n
		w.n -= n
		return
	}
	hm.fwd += n
}

// output is how many bytes forward() and send() made output.
func (hm *HTTPMessage) output() int {
	if w := hm.win; w != nil {
		return w.fwd
	}
	return hm.fwd
}

// span resolves HAProxy's (offset, length) arguments at i, i+1 against n
// bytes of input, as hlua_http_msg_*: a negative offset counts from the
// end (clamped to 0), an offset past the end is an error, a missing or
// negative length means up to the end.
func span(c *vm.Call, i, n int) (int, int, error) {
	off, err := c.OptInteger(i, 0)
	if err != nil {
		return 0, 0, err
	}
	if off < 0 {
		off = max(0, off+int64(n))
	}
	if off > int64(n) {
		return 0, 0, errors.New("offset out of range.")
	}
	l, err := c.OptInteger(i+1, int64(n)-off)
	if err != nil {
		return 0, 0, err
	}
	if l < 0 || off+l > int64(n) {
		l = int64(n) - off
	}
	return int(off), int(l), nil
}

// inputLen is the length of the input as HAProxy counts it: the data,
// plus one byte for the end-of-trailers block of a complete chunked
// message in http_payload. Offsets and lengths are counted against it
// and then clamped to the data.
func (hm *HTTPMessage) inputLen(m *h1.Message, in []byte) int {
	if m.Framing == h1.FramingChunked && m.BodyComplete && hm.phase == phasePayload {
		return len(in) + 1
	}
	return len(in)
}

// clampSpan clamps (off, l) to n bytes of data.
func clampSpan(off, l, n int) (int, int) {
	off = min(off, n)
	return off, min(l, n-off)
}

// strictSpan is span for the methods that change data (set, remove):
// HAProxy refuses a length past the end of the input.
func strictSpan(c *vm.Call, i, n int) (int, int, error) {
	off, l, err := span(c, i, n)
	if err != nil {
		return 0, 0, err
	}
	if !c.IsNoneOrNil(i + 1) {
		if want, err := c.Integer(i + 1); err == nil && want >= 0 && int64(off)+want > int64(n) {
			return 0, 0, errors.New("length out of range.")
		}
	}
	return off, l, nil
}

// luaBody implements HTTPMessage.body(msg[, offset[, length]]): the
// incoming data, nil when there is none and none may come. It never
// yields.
func (hm *HTTPMessage) luaBody(c *vm.Call) (int, error) {
	m, in, err := hm.input()
	if err != nil {
		return 0, err
	}
	if len(in) == 0 && m.BodyComplete {
		c.PushNil()
		return 1, nil
	}
	off, l, err := span(c, 2, hm.inputLen(m, in))
	if err != nil {
		return 0, err
	}
	off, l = clampSpan(off, l, len(in))
	if l == 0 && m.BodyComplete {
		c.PushNil() // HAProxy compat: nothing copied is nil
		return 1, nil
	}
	c.PushBytes(in[off : off+l])
	return 1, nil
}

// splice replaces in[off:off+l] by s in the message body. It returns
// len(s). HAProxy compat: the framing headers stay (set_body_len changes
// them); the core checks the length the filters leave (filteredLength).
func (hm *HTTPMessage) splice(m *h1.Message, off, l int, s []byte) int {
	lo, _ := hm.bounds(m)
	off += lo
	if w := hm.win; w != nil {
		w.n += len(s) - l
	}
	body := make([]byte, 0, len(m.Body)-l+len(s))
	body = append(body, m.Body[:off]...)
	body = append(body, s...)
	body = append(body, m.Body[off+l:]...)
	m.Body = body
	return len(s)
}

// luaSet implements HTTPMessage.set(msg, string[, offset[, length]]):
// the bytes copied. It never yields.
func (hm *HTTPMessage) luaSet(c *vm.Call) (int, error) {
	m, in, err := hm.input()
	if err != nil {
		return 0, err
	}
	s, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	off, l, err := strictSpan(c, 3, hm.inputLen(m, in))
	if err != nil {
		return 0, err
	}
	off, l = clampSpan(off, l, len(in))
	c.PushInteger(int64(hm.splice(m, off, l, s)))
	return 1, nil
}

// insertAt implements insert/append/prepend: s copied at offset.
func (hm *HTTPMessage) insertAt(c *vm.Call, at func(n int) (int, error)) (int, error) {
	m, in, err := hm.input()
	if err != nil {
		return 0, err
	}
	s, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	off, err := at(hm.inputLen(m, in))
	if err != nil {
		return 0, err
	}
	c.PushInteger(int64(hm.splice(m, min(off, len(in)), 0, s)))
	return 1, nil
}

// luaAppend implements HTTPMessage.append(msg, string). It never yields.
func (hm *HTTPMessage) luaAppend(c *vm.Call) (int, error) {
	return hm.insertAt(c, func(n int) (int, error) { return n, nil })
}

// luaPrepend implements HTTPMessage.prepend(msg, string). It never yields.
func (hm *HTTPMessage) luaPrepend(c *vm.Call) (int, error) {
	return hm.insertAt(c, func(int) (int, error) { return 0, nil })
}

// luaInsert implements HTTPMessage.insert(msg, string[, offset]). It
// never yields.
func (hm *HTTPMessage) luaInsert(c *vm.Call) (int, error) {
	return hm.insertAt(c, func(n int) (int, error) {
		off, _, err := span(c, 3, n)
		return off, err
	})
}

// luaRemove implements HTTPMessage.remove(msg[, offset[, length]]): the
// bytes removed. It never yields.
func (hm *HTTPMessage) luaRemove(c *vm.Call) (int, error) {
	m, in, err := hm.input()
	if err != nil {
		return 0, err
	}
	off, l, err := strictSpan(c, 2, hm.inputLen(m, in))
	if err != nil {
		return 0, err
	}
	doff, dl := clampSpan(off, l, len(in))
	hm.splice(m, doff, dl, nil)
	c.PushInteger(int64(l)) // HAProxy compat: as counted (inputLen)
	return 1, nil
}

// luaSend implements HTTPMessage.send(msg, string): the string is put in
// front of the incoming data and counted as forwarded. It never yields.
func (hm *HTTPMessage) luaSend(c *vm.Call) (int, error) {
	m, _, err := hm.input()
	if err != nil {
		return 0, err
	}
	s, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	n := hm.splice(m, 0, 0, s)
	hm.advance(n)
	c.PushInteger(int64(n))
	return 1, nil
}

// luaForward implements HTTPMessage.forward(msg, length): up to length
// bytes of incoming data become output; the amount is returned. It never
// yields.
func (hm *HTTPMessage) luaForward(c *vm.Call) (int, error) {
	_, in, err := hm.input()
	if err != nil {
		return 0, err
	}
	n, err := c.Integer(2)
	if err != nil {
		return 0, err
	}
	n = clamp(n, 0, int64(len(in)))
	hm.advance(int(n))
	c.PushInteger(n)
	return 1, nil
}

// luaInput implements HTTPMessage.input(msg). It never yields.
func (hm *HTTPMessage) luaInput(c *vm.Call) (int, error) {
	m, in, err := hm.input()
	if err != nil {
		return 0, err
	}
	c.PushInteger(int64(hm.inputLen(m, in)))
	return 1, nil
}

// luaOutput implements HTTPMessage.output(msg). It never yields.
func (hm *HTTPMessage) luaOutput(c *vm.Call) (int, error) {
	if _, _, err := hm.input(); err != nil {
		return 0, err
	}
	c.PushInteger(int64(hm.output()))
	return 1, nil
}

// luaIsFull implements HTTPMessage.is_full(msg): always false, a
// buffered body growing as needed. It never yields.
func (hm *HTTPMessage) luaIsFull(c *vm.Call) (int, error) {
	c.PushBool(false)
	return 1, nil
}

// luaIsResp implements HTTPMessage.is_resp(msg). It never yields.
func (hm *HTTPMessage) luaIsResp(c *vm.Call) (int, error) {
	c.PushBool(hm.res)
	return 1, nil
}

// luaMayRecv implements HTTPMessage.may_recv(msg): false once the whole
// body is buffered. It never yields.
func (hm *HTTPMessage) luaMayRecv(c *vm.Call) (int, error) {
	m, err := hm.msg()
	if err != nil {
		return 0, err
	}
	c.PushBool(!m.BodyComplete && m.Framing != h1.FramingNone)
	return 1, nil
}

// luaEOM implements HTTPMessage.eom(msg): true when the end of the
// message is buffered. It never yields.
func (hm *HTTPMessage) luaEOM(c *vm.Call) (int, error) {
	m, err := hm.msg()
	if err != nil {
		return 0, err
	}
	c.PushBool(m.BodyComplete || m.Framing == h1.FramingNone)
	return 1, nil
}

// msgSetEOM implements set_eom/unset_eom(msg). They never yield.
func msgSetEOM(eom bool) func(*HTTPMessage, *vm.Call) (int, error) {
	return func(hm *HTTPMessage, c *vm.Call) (int, error) {
		m, err := hm.msg()
		if err != nil {
			return 0, err
		}
		m.BodyComplete = eom
		return 0, nil
	}
}

// luaSetBodyLen implements HTTPMessage.set_body_len(msg, length|"chunked"):
// the framing headers are replaced. It never yields.
func (hm *HTTPMessage) luaSetBodyLen(c *vm.Call) (int, error) {
	m, err := hm.msg()
	if err != nil {
		return 0, err
	}
	if c.Type(2) == vm.TypeString {
		if s, _ := c.String(2); s == "chunked" {
			m.SetChunked()
			c.PushBool(true)
			return 1, nil
		}
		if n, err := strconv.ParseInt(c.ToString(2), 10, 64); err == nil && n >= 0 {
			m.SetContentLength(n)
			c.PushBool(true)
			return 1, nil
		}
		c.PushBool(false)
		return 1, nil
	}
	n, err := c.Integer(2)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		c.PushBool(false)
		return 1, nil
	}
	m.SetContentLength(n)
	c.PushBool(true)
	return 1, nil
}

// luaChannel implements http_msg.channel: txn.req or txn.res.
func (hm *HTTPMessage) luaChannel(c *vm.Call) (int, error) {
	ch := hm.s.Req
	if hm.res {
		ch = hm.s.Res
	}
	channelClass.Push(&c.Pusher, &Channel{ch: ch, s: hm.s})
	return 1, nil
}
