package core

import (
	"sync"
	"sync/atomic"
	"time"

	"luaproxy/core/config"
	"luaproxy/core/sample"
	"luaproxy/netio"
)

// Per-stream and per-proxy state of the actions and logs added on top of
// the HTTP/TCP paths: captures, the log level, the termination state,
// the "req"/"res" variables and the log timers. It lives in an ext slot
// of the stream and a side table of the proxy so that the request and
// forwarding paths (http.go, httpfwd.go) stay as they are.

// engSlot is the stream slot holding a *streamExt.
var engSlot = NewExtSlot()

// streamExt is the per-stream state of actions and logs.
type streamExt struct {
	// txStart is the start of the HTTP transaction the per-request
	// fields below belong to (the transaction is reused between requests).
	txStart time.Time
	// reqCaps and resCaps are the captured values, by capture slot
	// (capture.req.hdr(N), %hr); "" with set false is "not captured".
	reqCaps, resCaps []capValue
	// logLevel is set-log-level's level; -1 unset, logSilent for "silent".
	logLevel int
	// term is the termination state (%ts): cause and phase, 0 = '-'.
	term [2]byte
	// reqLine is the request line as received ("GET / HTTP/1.1"), for
	// %r and friends; reqAt when the request rules started.
	reqLine string
	reqAt   time.Time
	seen    bool // the request was seen by the frontend's rules
	// reqres holds the "req" and "res" variables.
	reqres sample.Vars
	// fwd is what TCP forwarding moved; fwdDone says it ran.
	fwd     netio.ForwardStats
	fwdDone bool
	// connAt is when the server connection was established (TCP mode).
	connAt time.Time
	// log is set while a log line is built.
	log *logState
	// hc is the client side of an HTTP stream, once bound (bindStream).
	hc *HTTPConn
	// noLog drops the stream's log line (rejected connections).
	noLog bool
}

type capValue struct {
	v   string
	set bool
}

// logSilent is set-log-level silent.
const logSilent = -2

// extOf returns the stream's action state, reset for a new HTTP
// transaction.
func extOf(s *Stream) *streamExt {
	x, _ := s.Ext[engSlot].(*streamExt)
	if x == nil {
		x = &streamExt{logLevel: -1}
		s.Ext[engSlot] = x
	}
	if tx := s.HTTP; tx != nil && !tx.start.Equal(x.txStart) {
		x.txStart = tx.start
		clear(x.reqCaps)
		clear(x.resCaps)
		x.logLevel = -1
		x.term = [2]byte{}
		x.reqLine, x.reqAt, x.seen = "", time.Time{}, false
		x.reqres.Clear()
	}
	return x
}

// setTerm records the termination state if none was recorded yet.
func (x *streamExt) setTerm(cause, phase byte) {
	if x.term[0] == 0 {
		x.term = [2]byte{cause, phase}
	}
}

// pxExt is the per-proxy state of captures and logs.
type pxExt struct {
	// reqCaps and resCaps are the capture slots ("capture request header",
	// "http-request capture ... len N"), in declaration order.
	reqCaps, resCaps []captureDecl
	// logFormat is the "log-format" string, with its line.
	logFormat     string
	logFormatLine config.Line
	hasLogFormat  bool
	// lf is the compiled log format (nil: no log line).
	lf *logFormat
	// logCount counts the log lines sent (%lc).
	logCount atomic.Int64
}

// captureDecl is one capture slot: a header to capture ("" for an
// http-request capture) and the maximum length kept.
type captureDecl struct {
	hdr string
	len int
}

var pxExts sync.Map // *Proxy -> *pxExt

func pxExtOf(px *Proxy) *pxExt {
	if v, ok := pxExts.Load(px); ok {
		return v.(*pxExt)
	}
	v, _ := pxExts.LoadOrStore(px, &pxExt{})
	return v.(*pxExt)
}

// lastDefaults is, per engine being configured, the last "defaults"
// section seen: proxies after it inherit its log-format (sections using
// "defaults from" inherit from the last one too, a known gap).
var lastDefaults sync.Map // *Engine -> *Proxy

// noteProxy is called for each proxy line: it tracks the defaults
// sections and gives a new proxy the log-format of the last one.
func (e *Engine) noteProxy(px *Proxy) {
	if px.Kind == "defaults" {
		lastDefaults.Store(e, px)
		return
	}
	if _, ok := pxExts.Load(px); ok {
		return
	}
	x := pxExtOf(px)
	if d, ok := lastDefaults.Load(e); ok {
		dx := pxExtOf(d.(*Proxy))
		x.logFormat, x.logFormatLine, x.hasLogFormat = dx.logFormat, dx.logFormatLine, dx.hasLogFormat
		if x.hasLogFormat {
			// checked when the defaults section was parsed
			x.lf, _ = compileLogFormat(x.logFormat, e.scopeOf(px))
		}
	}
}
