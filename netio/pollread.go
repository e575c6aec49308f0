package netio

import "net"

// PollReader returns c wrapped so that its reads follow HAProxy's rule
// instead of Go's: a read that returns less than it asked for has emptied
// the socket, so the next read first waits for the poller to report new
// data, instead of trying the read, getting EAGAIN, and then waiting.
//
// A request/response exchange always reads on an empty socket right after
// writing (the next request of a keep-alive client, the response of a
// server): Go's read-first order costs one EAGAIN read(2) per message
// there, two per proxied request. HAProxy makes two recvfrom calls per
// request, the wrapped connection too.
//
// The wrapper is only a faster path: where it cannot attach to the
// runtime's poller (another platform, a connection that is not a TCP or
// unix socket), c is returned as is. Only the returned connection's Read
// changes; it must not be called concurrently with the wrapped
// connection's own Read. Deadlines, Close and writes work as before.
func PollReader(c net.Conn) net.Conn {
	if pc := newPollConn(c); pc != nil {
		return pc
	}
	return c
}
