package netio

import "net"

// PollConn returns c wrapped so that its reads and writes behave like
// HAProxy's rather than Go's:
//
//   - A read that returns less than it asked for has emptied the socket,
//     so the next read first waits for the poller to report new data,
//     instead of trying the read, getting EAGAIN, and then waiting. A
//     request/response exchange always reads on an empty socket right
//     after writing (the next request of a keep-alive client, the
//     response of a server): Go's read-first order costs one EAGAIN
//     read per message there, two per proxied request.
//   - Reads and writes that do not have to wait are plain system calls,
//     without the runtime's syscall bookkeeping (the descriptor is
//     non-blocking: they never block). A write that cannot complete
//     continues through c's own Write, which waits for the poller and
//     honours the write deadline.
//
// The wrapper is only a faster path: where it cannot attach to the
// runtime's poller (another platform, a connection that is not a TCP or
// unix socket), c is returned as is. Its Read must not be called
// concurrently with c's own Read. Deadlines and Close work as before.
func PollConn(c net.Conn) net.Conn {
	if pc := newPollConn(c); pc != nil {
		return pc
	}
	return c
}
