package core

import (
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
	// txSeq numbers the HTTP transaction the per-request fields below
	// belong to (the transaction object is reused between requests).
	txSeq uint64
	// reqCaps and resCaps are the captured values, by capture slot
	// (capture.req.hdr(N), %hr); "" with set false is "not captured".
	reqCaps, resCaps []capValue
	// logLevel is set-log-level's level; -1 unset, logSilent for "silent".
	logLevel int
	// term is the termination state (%ts): cause and phase, 0 = '-'.
	term [2]byte
	// reqLine is the request line as received (method, URI, version),
	// for %r and friends, kept in parts (the strings the parser made: no
	// copy per request); reqAt when the request rules started.
	reqLine [3]string
	reqAt   time.Time
	seen    bool // the request was seen by the frontend's rules
	// reqres holds the "req" and "res" variables.
	reqres sample.Vars
	// reqresScope is the scope reqres serves (sample.Ctx.ReqResScope).
	reqresScope sample.VarScope
	// fwd is what TCP forwarding moved; fwdDone says it ran.
	fwd     netio.ForwardStats
	fwdDone bool
	// queueAt is when the stream left the queue with a server slot (or
	// gave up waiting); connAt when its server connection was established
	// (zero: not reached; for the %Tw and %Tc timers).
	queueAt, connAt time.Time
	// log is set while a log line is built.
	log *logState
	// hc is the client side of an HTTP stream, once bound (bindStream).
	hc *HTTPConn
	// sc is the server connection whose response is being analysed
	// (exchange): its body's data wakes a waiting response (WaitWake).
	sc *srvConn
	// noLog drops the stream's log line (rejected connections).
	noLog bool
	// loggedASAP: the TCP stream's line was sent when its server
	// connection was established ("option logasap").
	loggedASAP bool
	// applet names the internal applet that answered the request
	// ("<STATS>"), logged as the server (%s); "" for none.
	applet string
	// target is the server the stream had to use but got no slot of (its
	// queue was full, or the wait in it ended): logged as the server (%s),
	// as HAProxy logs its assigned target.
	target *Server
}

type capValue struct {
	v   string
	set bool
}

// logSilent is set-log-level silent.
const logSilent = -2

// SetLogLevel sets the level of the stream's log lines (of the current
// transaction, in HTTP) as set-log-level does: 0 (emerg) to 7 (debug); a
// negative level silences them.
func (s *Stream) SetLogLevel(level int) {
	if level < 0 {
		level = logSilent
	}
	extOf(s).logLevel = min(level, LogDebug)
}

// LogLevel returns the level set-log-level (or a script) gave the
// stream's log lines, -1 when none was set.
func (s *Stream) LogLevel() int {
	if l := extOf(s).logLevel; l >= 0 && l <= LogDebug {
		return l
	}
	return -1
}

// extOf returns the stream's action state, reset for a new HTTP
// transaction.
func extOf(s *Stream) *streamExt {
	x, _ := s.Ext[engSlot].(*streamExt)
	if x == nil {
		x = &streamExt{logLevel: -1}
		s.Ext[engSlot] = x
	}
	if tx := s.HTTP; tx != nil && tx.seq != x.txSeq {
		x.txSeq = tx.seq
		clear(x.reqCaps)
		clear(x.resCaps)
		x.logLevel = -1
		x.term = [2]byte{}
		x.applet = ""
		x.target = nil
		x.reqLine, x.reqAt, x.seen = [3]string{}, time.Time{}, false
		x.queueAt, x.connAt = time.Time{}, time.Time{}
		x.reqres.Clear()
		x.reqresScope = sample.ScopeReq
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
	noted bool // noteProxy ran for the proxy
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

// pxExtOf returns the proxy's action and log state (made with the proxy).
func pxExtOf(px *Proxy) *pxExt { return px.ext }

// noteProxy is called for each proxy line: it tracks the defaults
// sections and gives a new proxy the log-format of the last one.
func (e *Engine) noteProxy(px *Proxy) {
	// Proxies inherit the log-format of the last "defaults" section seen
	// (sections using "defaults from" too: a known gap).
	if px.Kind == "defaults" {
		e.lastDefaults = px
		return
	}
	x := pxExtOf(px)
	if x.noted {
		return
	}
	x.noted = true
	if d := e.lastDefaults; d != nil {
		dx := pxExtOf(d)
		x.logFormat, x.logFormatLine, x.hasLogFormat = dx.logFormat, dx.logFormatLine, dx.hasLogFormat
		if x.hasLogFormat {
			// checked when the defaults section was parsed
			x.lf, _ = compileLogFormat(x.logFormat, e.scopeOf(px))
		}
	}
}
