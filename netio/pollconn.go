package netio

import "net"

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
//   - With reply set, for request/response exchanges: the first read
//     after a write, when the read before the write emptied the socket,
//     waits for the poller first instead of trying the read, getting
//     EAGAIN and then waiting (Go's order costs one EAGAIN read per
//     reply). HAProxy knows from epoll's EPOLLRDHUP whether an end of
//     stream came with the last data; Go does not say, so a peer's close
//     that came with its last data is only seen through the reply wait
//     when the peer reacts to the write (a closed socket answers RST).
//     Use reply for a server connection, whose next data always answers
//     a request; never for a client or a tunnel, where a close must be
//     seen at once.
//
// The wrapper is only a faster path: where it cannot attach to the
// runtime's poller (another platform, a connection that is not a TCP or
// unix socket), c is returned as is. Its Read must not be called
// concurrently with c's own Read; one Read and one Write may run at the
// same time. Deadlines and Close work as before.
func PollConn(c net.Conn, reply bool) net.Conn {
	if pc := newPollConn(c, reply); pc != nil {
		return pc
	}
	return c
}
