//go:build linux && (amd64 || arm64)

package netio

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// pollWait parks the goroutine until the runtime's poller reports the
// descriptor ready for mode ('r' or 'w'), or its deadline passes, or it
// is closed. Unlike internal/poll's Read, nothing resets the readiness
// first: a report that came since the last read is not lost.
//
//go:linkname pollWait internal/poll.runtime_pollWait
func pollWait(ctx uintptr, mode int) int

// The runtime's pollWait results (runtime/netpoll.go).
const (
	pollNoError        = 0
	pollErrClosing     = 1
	pollErrTimeout     = 2
	pollErrNotPollable = 3
)

// pollFD mirrors the head of internal/poll.FD (Go 1.21 to 1.26): the fd
// mutex, the descriptor, the writev cache, then the poller's context.
// newPollConn checks the descriptor against the one the connection
// reports before trusting the context.
type pollFD struct {
	fdmu struct {
		state        uint64
		rsema, wsema uint32
	}
	sysfd      int
	iovecs     unsafe.Pointer
	runtimeCtx uintptr
}

// eagainReads counts the reads that found the socket empty (for tests).
var eagainReads atomic.Int64

// pollConn is a connection read and written as PollConn says.
type pollConn struct {
	net.Conn
	rc   syscall.RawConn
	ctx  uintptr // the runtime's pollDesc
	wait Wait
	// For WaitReply: short says the last read emptied the socket of data,
	// wrote that a write came after it.
	short, wrote bool
	// For WaitKnownEmpty: inq says TCP_INQ is on (reads go through
	// recvmsg and learn what the socket still holds), empty that the
	// last read left nothing, not even an end of stream, and rmark the
	// writes started by then (writes and writeOK count the writes
	// started and the last one that succeeded: a write may run on
	// another goroutine).
	inq, empty      bool
	rmark           uint64
	writes, writeOK atomic.Uint64
	msg             inqMsg
	// The calls in progress, for readFn and writeFn (closures made once,
	// so that a call allocates nothing). A read and a write may run at
	// the same time, from two goroutines.
	r, w    ioCall
	readFn  func(fd uintptr)
	writeFn func(fd uintptr)
}

// ioCall is a read or write in progress.
type ioCall struct {
	p   []byte
	n   int
	err error
	// lender lends p (ReadLent).
	lender Lender
}

func newPollConn(c net.Conn, wait Wait) *pollConn {
	var nfd unsafe.Pointer // *net.netFD, whose first field is its poll.FD
	switch c := c.(type) {
	case *net.TCPConn:
		nfd = *(*unsafe.Pointer)(unsafe.Pointer(c))
	case *net.UnixConn:
		nfd = *(*unsafe.Pointer)(unsafe.Pointer(c))
	default:
		return nil
	}
	sc, ok := c.(syscall.Conn)
	if !ok || nfd == nil {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	pfd := (*pollFD)(nfd)
	valid := false
	if rc.Control(func(fd uintptr) { valid = int(fd) == pfd.sysfd && pfd.runtimeCtx != 0 }) != nil || !valid {
		return nil
	}
	pc := &pollConn{Conn: c, rc: rc, ctx: pfd.runtimeCtx, wait: wait}
	pc.readFn, pc.writeFn = pc.read, pc.write
	return pc
}

func (c *pollConn) setWait(wait Wait) {
	c.wait, c.empty, c.short, c.wrote = wait, false, false, false
}

// Read reads like net.Conn's Read, waiting for the poller first when the
// previous read emptied the socket.
func (c *pollConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.r.p = p
	return c.readCall()
}

// readCall runs the read set up in c.r and returns its result.
func (c *pollConn) readCall() (int, error) {
	// Control holds a reference on the descriptor: a concurrent Close
	// wakes the wait but cannot release the descriptor under the read.
	if err := c.rc.Control(c.readFn); err != nil {
		c.r = ioCall{}
		return 0, err
	}
	n, err := c.r.n, c.r.err
	c.r = ioCall{}
	return n, err
}

// ReadLent reads like Read into the buffer l lends (l.Buffer), which it
// gives back (l.Release) while the read waits for the poller and takes
// again after (l.Buffer): a connection waiting for data holds no buffer.
// It returns what Read would, into the buffer l.Buffer last returned.
func (c *pollConn) ReadLent(l Lender) (int, error) {
	c.r.lender = l
	c.r.p = l.Buffer()
	if len(c.r.p) == 0 {
		c.r = ioCall{}
		return 0, nil
	}
	return c.readCall()
}

// waitRead waits for the poller to report the descriptor readable, the
// lent buffer given back meanwhile.
func (c *pollConn) waitRead() int {
	l := c.r.lender
	if l == nil {
		return pollWait(c.ctx, 'r')
	}
	l.Release()
	code := pollWait(c.ctx, 'r')
	c.r.p = l.Buffer()
	return code
}

func (c *pollConn) read(fd uintptr) {
	wait := false
	switch c.wait {
	case WaitReply:
		wait = c.short && c.wrote
		c.wrote = false
	case WaitKnownEmpty:
		// TCP_INQ reports a FIN left behind, not a reset: a reset that
		// came with the last data shows only as the failure of the
		// next write. Waiting first is safe once a write that started
		// after that read succeeded.
		wait = c.empty && c.writeOK.Load() > c.rmark
		c.empty = false
	}
	for {
		if wait {
			if code := c.waitRead(); code != pollNoError {
				c.r.n, c.r.err = 0, c.opError(pollError(code))
				return
			}
			wait = false
		}
		var n int
		var err error
		left := -1
		if c.inq {
			n, left, err = c.msg.recv(fd, c.r.p)
		} else {
			n, err = rawIO(syscall.SYS_RECVFROM, fd, c.r.p, 0)
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			eagainReads.Add(1)
			if c.wait == WaitKnownEmpty && !c.inq {
				// a connection that waits once waits again: from now on
				// its reads say what they leave (one setsockopt, the
				// price of the EAGAIN read it saves next time)
				c.inq = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpINQ, 1) == nil
			}
			wait = true
			continue
		case err != nil:
			c.r.n, c.r.err = 0, c.opError(os.NewSyscallError("read", err))
		case n == 0:
			c.r.n, c.r.err = 0, io.EOF
		default:
			c.r.n, c.r.err = n, nil
			c.short = n < len(c.r.p)
			if c.empty = left == 0; c.empty {
				c.rmark = c.writes.Load()
			}
		}
		return
	}
}

// tcpINQ is TCP_INQ (Linux 4.18), also the type of its control message
// (TCP_CM_INQ): with it on, recvmsg(2) says how many bytes the socket
// still holds after the read, and at least 1 once an end of stream came.
const tcpINQ = 36

// inqMsg is the recvmsg(2) header of a connection's reads, made once.
type inqMsg struct {
	hdr  syscall.Msghdr
	iov  syscall.Iovec
	ctrl [4]uint64 // room for one cmsghdr and its int, aligned
}

// recv reads into p; left is what the socket still holds (-1: unknown).
func (m *inqMsg) recv(fd uintptr, p []byte) (n, left int, err error) {
	m.iov.Base = unsafe.SliceData(p)
	m.iov.SetLen(len(p))
	m.hdr.Iov, m.hdr.Iovlen = &m.iov, 1
	m.hdr.Control = (*byte)(unsafe.Pointer(&m.ctrl[0]))
	m.hdr.SetControllen(int(unsafe.Sizeof(m.ctrl)))
	r, _, e := syscall.RawSyscall6(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&m.hdr)), 0, 0, 0, 0)
	m.iov.Base = nil // p is not kept
	if e != 0 {
		return 0, -1, e
	}
	left = -1
	const hlen = int(unsafe.Sizeof(syscall.Cmsghdr{}))
	if int(m.hdr.Controllen) >= hlen+4 {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&m.ctrl[0]))
		if h.Level == syscall.IPPROTO_TCP && h.Type == tcpINQ {
			left = int(*(*int32)(unsafe.Add(unsafe.Pointer(&m.ctrl[0]), hlen)))
		}
	}
	return int(r), left, nil
}

// Write writes p: what the socket takes at once with a plain send(2),
// the rest through the connection's own Write (it waits for room and
// honours the write deadline).
func (c *pollConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.w.p = p
	seq := c.writes.Add(1)
	if err := c.rc.Control(c.writeFn); err != nil {
		c.w.p = nil
		return 0, err
	}
	n, err := c.w.n, c.w.err
	c.w = ioCall{}
	if c.wait == WaitReply {
		c.wrote = true
	}
	if err == nil && n < len(p) {
		var m int
		m, err = c.Conn.Write(p[n:])
		n += m
	}
	if err == nil {
		c.writeOK.Store(seq)
	}
	return n, err
}

func (c *pollConn) write(fd uintptr) {
	for {
		n, err := rawIO(syscall.SYS_SENDTO, fd, c.w.p, syscall.MSG_NOSIGNAL)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.w.n, c.w.err = 0, nil
		case err != nil:
			c.w.n, c.w.err = 0, &net.OpError{Op: "write", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("write", err)}
		default:
			c.w.n, c.w.err = n, nil
		}
		return
	}
}

// rawIO is recv(2) or send(2) without the runtime's syscall bookkeeping:
// the descriptor is non-blocking, so the call never waits, and the
// runtime has nothing to hand off meanwhile. Entering a syscall also
// wakes the runtime's monitor thread when the process was idle: a futex
// wake-up and a context switch when a request comes to an idle proxy.
// recvfrom/sendto without an address, as HAProxy calls them, skip the
// file layer that read/write go through (about 3% of a proxied request).
func rawIO(trap, fd uintptr, p []byte, flags int) (int, error) {
	r, _, e := syscall.RawSyscall6(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func pollError(code int) error {
	switch code {
	case pollErrClosing:
		return net.ErrClosed
	case pollErrTimeout:
		return os.ErrDeadlineExceeded
	}
	return errors.New("not pollable")
}

// opError wraps err as net.Conn's Read does.
func (c *pollConn) opError(err error) error {
	return &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
