package netio

import "net"

// Wait says when a PollConn read waits for the poller before it tries
// the socket. Go's own order is to try first and wait on EAGAIN; each
// read that finds the socket empty is a wasted system call (about 0.6 µs
// here, a twentieth of a proxied request on loopback).
type Wait int

const (
	// WaitOnEmpty: try first, wait when the socket was empty (Go's order).
	WaitOnEmpty Wait = iota
	// WaitReply is for request/response exchanges: the first read after
	// a write, when the read before the write emptied the socket, waits
	// for the poller first. HAProxy knows from epoll's EPOLLRDHUP whether
	// an end of stream came with the last data; Go does not say, so a
	// peer's close that came with its last data is only seen through the
	// reply wait when the peer reacts to the write (a closed socket
	// answers RST). For a server connection, whose next data always
	// answers a request.
	WaitReply
	// WaitKnownEmpty waits first when the kernel said the last read left
	// nothing behind, neither data nor an end of stream (TCP_INQ, turned
	// on when a read first finds the socket empty), and a write through
	// the wrapper succeeded since (TCP_INQ does not tell a reset that
	// came with the data; the write would have failed). Anything
	// arriving later wakes the poller, so nothing is missed, and a close
	// or a reset that came with the last data is seen at once. The
	// wrapper must be the only reader of its connection: a read by
	// anything else leaves it believing the socket empty when it may not
	// be. For a client connection answered between its reads: an HTTP
	// client, a TCP service's.
	WaitKnownEmpty
)

// PollConn returns c wrapped so that its reads and writes behave more
// like HAProxy's than Go's:
//
//   - Reads and writes that do not have to wait are plain recvfrom(2) and
//     sendto(2) calls, as HAProxy makes them: no file layer (read/write),
//     and none of the runtime's syscall bookkeeping (the descriptor is
//     non-blocking: they never block in the kernel; entering a syscall
//     also wakes the runtime's monitor thread on an idle process). A
//     write that cannot complete continues through c's own Write, which
//     waits for room and honours the write deadline.
//   - Reads wait for the poller first as wait says, instead of trying
//     the read, getting EAGAIN and then waiting.
//
// The wrapper is only a faster path: where it cannot attach to the
// runtime's poller (another platform, a connection that is not a TCP or
// unix socket), c is returned as is. Its Read must not be called
// concurrently with c's own Read; one Read and one Write may run at the
// same time. Deadlines and Close work as before.
func PollConn(c net.Conn, wait Wait) net.Conn {
	if pc := newPollConn(c, wait); pc != nil {
		return pc
	}
	return c
}

// SetWait changes the wait of c, a connection PollConn returned: for
// WaitKnownEmpty's wrapper when something else starts reading its
// connection. Not while c's Read runs.
func SetWait(c net.Conn, wait Wait) {
	if pc, ok := c.(*pollConn); ok {
		pc.setWait(wait)
	}
}

// Forget makes the next read of c, a connection PollConn returned, try
// the socket first: something else read or waited on the connection
// since c's last read (a poller's report may have gone to it). Not while
// c's Read runs.
func Forget(c net.Conn) {
	if pc, ok := c.(*pollConn); ok {
		pc.setWait(pc.wait)
	}
}

// Lender lends the buffer a read goes into: Buffer returns it, taking
// one if needed; Release gives it back. A connection PollConn returned
// reads into one with ReadLent(l Lender) (int, error), giving the buffer
// back while it waits for data.
type Lender interface {
	Buffer() []byte
	Release()
}
