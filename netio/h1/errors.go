package h1

import (
	"errors"
	"fmt"
)

// Error is a protocol error in a message read from the network. Status is
// the HTTP status HAProxy 2.6 answers for it: 400, 413 or 422 for a request
// (the engine sends that status to the client), 502 for a response (the
// engine answers 502 to its client). The connection must be closed after
// an Error: the rest of the stream cannot be framed.
//
// Err is one of the sentinel errors below, so that callers can ask
// errors.Is(err, h1.ErrTooManyHeaders) without comparing strings.
type Error struct {
	Status int
	// Reason says what was wrong, e.g. "invalid character in header name".
	Reason string
	// Pos is the offset of the offending byte: from the first byte of the
	// message for errors in a head (leading empty lines included), from
	// the first byte after the head for errors in a body or its trailers.
	Pos int
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("h1: %d: %s at offset %d", e.Status, e.Reason, e.Pos)
}

func (e *Error) Unwrap() error { return e.Err }

// The kinds of protocol errors. Each *Error wraps one of them.
var (
	ErrStartLine        = errors.New("h1: malformed request or status line")
	ErrVersion          = errors.New("h1: unsupported HTTP version")
	ErrHeaderName       = errors.New("h1: invalid header name")
	ErrHeaderLine       = errors.New("h1: malformed header line")
	ErrTooManyHeaders   = errors.New("h1: too many headers")
	ErrHeadTooLarge     = errors.New("h1: head too large")
	ErrContentLength    = errors.New("h1: invalid or conflicting Content-Length")
	ErrTransferEncoding = errors.New("h1: invalid Transfer-Encoding")
	ErrUnknownCoding    = errors.New("h1: transfer coding other than chunked")
	ErrHost             = errors.New("h1: Host and request target disagree")
	ErrBodyNotAllowed   = errors.New("h1: HTTP/1.0 GET, HEAD or DELETE with a body")
	ErrWebSocket        = errors.New("h1: WebSocket handshake without a valid key")
	ErrChunk            = errors.New("h1: invalid chunked encoding")
)

// ErrBodyTooLarge is returned by [Reader.BufferBody] when the body is longer
// than asked for. It is not a protocol error: the bytes read so far are in
// Message.Body and the rest can still be read with [Reader.ReadBody].
var ErrBodyTooLarge = errors.New("h1: body larger than the buffering limit")

// newError builds the *Error for kind at pos. The status is the request
// one; responses turn it into 502 (see parser.fail).
func newError(status int, kind error, reason string, pos int) *Error {
	return &Error{Status: status, Reason: reason, Pos: pos, Err: kind}
}
