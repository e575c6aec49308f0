// Package h1 is luaproxy's HTTP/1.1 codec: it parses requests and responses
// from a byte stream into Messages that keep header order and case, frames
// their bodies (content-length, chunked with trailers, close-delimited), and
// writes them back out. It knows nothing about proxies or rules; the engine
// (core) and the sample fetches work on its Message type.
//
// Reading: a Reader owns a connection's input buffer. ReadRequest and
// ReadResponse parse a head into a reused Message and leave the Reader at
// the body, which ReadBody (streaming) or BufferBody (whole, bounded)
// decode; pipelined messages stay buffered for the next call. After a
// CONNECT or an upgrade, Peek and Discard hand the buffered bytes over to
// the tunnel.
//
// Writing: AppendHead writes a head as stored; AppendChunk,
// AppendLastChunk and BodyWriter frame a body the way the head says.
//
// Compatibility: the parser accepts and rejects what HAProxy 2.6 does and
// reports, in an *Error, the status HAProxy answers (400, 413 or 422 for a
// request, 502 for a response). It also normalizes heads as HAProxy does
// before its rules see them: duplicate Content-Length and Host lines are
// dropped, "close" and "keep-alive" leave the Connection header (see
// Message.Conn), obs-folds become spaces, a Content-Length next to a
// Transfer-Encoding is removed, and a default port leaves an absolute URI.
// Lines written "HAProxy compat:" exist for that reason only; the facts
// they follow, measured against HAProxy 2.6.12, are tabled in
// facts_test.go. Sizes are bounded by Limits (tune.bufsize,
// tune.maxrewrite, tune.http.maxhdr).
package h1
