package netio

import "net"

// PollConn returns c wrapped so that its reads and writes behave more
// like HAProxy's than Go's:
//
//   - Reads and writes that do not have to wait are plain recvmsg(2) or
//     recvfrom(2) and sendto(2) calls, as HAProxy makes them: no file
//     layer (read/write),
//     and none of the runtime's syscall bookkeeping (the descriptor is
//     non-blocking: they never block in the kernel; entering a syscall
//     also wakes the runtime's monitor thread on an idle process). A
//     write that cannot complete continues through c's own Write, which
//     waits for room and honours the write deadline.
//   - With reply set, for request/response exchanges on TCP: the first
//     read after a write waits for the poller first when the read before
//     left the socket empty, instead of trying the read, getting EAGAIN
//     and then waiting (Go's order costs one EAGAIN read per reply, two
//     per proxied request). A short read alone does not say the socket
//     is empty: TCP returns the data and keeps an end of stream that came
//     with it for the next call, and the poller reported both at once.
//     HAProxy learns it from epoll's EPOLLRDHUP, which Go does not pass
//     on; the reads ask the kernel instead (TCP_INQ, recvmsg(2)). A peer
//     that reset the connection makes the write fail. Only one goroutine
//     may then use the connection. Without reply (tunnels), and on unix
//     sockets, reads always come first.
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
