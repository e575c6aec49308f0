package sample

import (
	"net/netip"
	"time"

	"luaproxy/netio/h1"
)

// Ctx is what samples are evaluated against: one stream at one point of
// its processing. The engine builds one per stream and updates its fields
// as the stream progresses (Req once parsed, Res once received...). A Ctx
// is used by one goroutine at a time.
type Ctx struct {
	// Stream is the engine's stream, opaque here: fetches registered by
	// the engine type-assert it. nil outside a stream (health checks, CLI).
	Stream any

	// Src and Dst are the client connection's addresses: the client, and
	// the local address it reached (after PROXY protocol, if any). Zero
	// when unknown (unix sockets).
	Src, Dst netip.AddrPort
	// BackSrc and BackDst are the server connection's addresses, zero
	// until it is established.
	BackSrc, BackDst netip.AddrPort

	// Req and Res are the HTTP messages; nil outside HTTP or before the
	// message exists.
	Req, Res *h1.Message
	// Response is true while the response is being processed, for the
	// fetches whose direction follows the context (hdr, cookie, ...).
	Response bool

	// ReqPayload and ResPayload are the tcp content buffers (what a
	// tcp-request/tcp-response content rule sees).
	ReqPayload, ResPayload []byte
	// Final says no more data will come in the direction being analysed;
	// until then fetches on incomplete data report MayChange so that a
	// tcp-request content rule waits.
	Final bool

	// Variables per scope; nil when the scope does not exist here. Proc
	// variables are process-wide (ProcVars). ReqRes serves both "req" and
	// "res".
	Sess, Txn, ReqRes, Check *Vars
	// ReqResScope, when set, is the only one of ScopeReq and ScopeRes
	// that ReqRes serves: HAProxy's store is "req" until the server
	// connection is established, then "res"; the other scope reads
	// nothing and sets nothing. Zero serves both.
	ReqResScope VarScope

	// Thread is the engine thread running the stream, for "thread".
	Thread int

	// Now, when not zero, is the time date(), ltime() and friends use
	// (tests); zero means time.Now().
	Now time.Time
}

func (c *Ctx) now() time.Time {
	if c != nil && !c.Now.IsZero() {
		return c.Now
	}
	return time.Now()
}

// msg returns the HTTP message of the current direction.
func (c *Ctx) msg() *h1.Message {
	if c.Response {
		return c.Res
	}
	return c.Req
}
