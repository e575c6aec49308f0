package core

import (
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The parker waits for the parked HTTP connections' next bytes on one
// goroutine of the engine's, in an epoll set of its own: a parked
// connection then holds no goroutine (its g and its 2 KiB stack, a fifth
// of what an idle keep-alive connection cost) while it waits. When its
// socket becomes readable (a request, the client's close), its read
// deadline comes (the keep-alive or client timeout, on a timer) or the
// engine stops, the connection is claimed, once, and a goroutine serves
// it again (serveParked), finding what woke it as a wait on its own
// goroutine would have.
//
// The socket stays in the runtime's poller too: the runtime only notes
// it readable while no goroutine waits on it. Only plain TCP and Unix
// sockets park here (a TLS connection may hold decrypted bytes the socket
// no longer shows); the others, or when anything fails, park on a
// goroutine as before.
type parker struct {
	e     *Engine
	epfd  int
	evfd  int // an eventfd: written to end the loop
	mu    sync.Mutex
	slots []*HTTPConn // by parkSlot-1; nil: free
	free  []int32
	// closed: the engine stopped; what parks now parks on a goroutine
	closed bool
	ended  chan struct{} // closed when the loop returned
}

// parked is what a connection parked in the parker holds.
type parked struct {
	slot  int32 // 1-based index in parker.slots; 0: not parked there
	gen   uint32
	fd    int
	timer *time.Timer // its read deadline's (a park is rare: one each)
}

// newParker starts the engine's parker; nil if the system has none.
func newParker(e *Engine) *parker {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil
	}
	p := &parker{e: e, epfd: epfd, evfd: evfd, ended: make(chan struct{})}
	go p.loop()
	return p
}

// rawFD returns the descriptor of a plain TCP or Unix socket.
func rawFD(c net.Conn) (int, bool) {
	var sc syscall.Conn
	switch c := c.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if rc.Control(func(f uintptr) { fd = int(f) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}

// park waits for hc's next bytes without a goroutine. It reports false
// when it cannot (the caller parks hc on a goroutine).
func (p *parker) park(hc *HTTPConn) bool {
	fd, ok := rawFD(hc.s.Client)
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	var slot int32
	if n := len(p.free); n > 0 {
		slot = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		p.slots = append(p.slots, nil)
		slot = int32(len(p.slots))
	}
	pk := &hc.pk
	pk.slot, pk.fd = slot, fd
	pk.gen++
	p.slots[slot-1] = hc
	// a parked connection does not hold the engine clock's ticker (see
	// clockHold), as a wait on a goroutine does not (clockAway)
	clockRelease(hc.s.Thread)
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: slot, Pad: int32(pk.gen)}
	if unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev) != nil {
		p.release(hc)
		clockHold(hc.s.Thread)
		return false
	}
	pk.timer = nil
	if rd := hc.dl.rd; rd != 0 {
		gen := pk.gen
		pk.timer = time.AfterFunc(time.Duration(rd-time.Now().UnixNano()), func() { p.wake(hc, gen) })
	}
	return true
}

// release takes hc out of the parker, under p.mu: its slot, its
// registration, its timer.
func (p *parker) release(hc *HTTPConn) {
	pk := &hc.pk
	p.slots[pk.slot-1] = nil
	p.free = append(p.free, pk.slot)
	pk.slot = 0
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, pk.fd, nil)
	if pk.timer != nil {
		pk.timer.Stop()
	}
}

// claim takes hc out of the parker if its park gen is still on (an
// event or a timer of an earlier park finds it gone); the caller then
// serves it.
func (p *parker) claim(hc *HTTPConn, gen uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if hc.pk.slot == 0 || hc.pk.gen != gen {
		return false
	}
	p.release(hc)
	return true
}

// claimSlot is claim for the connection an event names by its slot.
func (p *parker) claimSlot(slot int, gen uint32) *HTTPConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if slot < 1 || slot > len(p.slots) {
		return nil
	}
	hc := p.slots[slot-1]
	if hc == nil || hc.pk.gen != gen {
		return nil
	}
	p.release(hc)
	return hc
}

// wake serves hc again if its park gen is still on (its read deadline
// came).
func (p *parker) wake(hc *HTTPConn, gen uint32) {
	if p.claim(hc, gen) {
		p.serve(hc)
	}
}

// serve serves hc, claimed, on a goroutine again.
func (p *parker) serve(hc *HTTPConn) {
	clockHold(hc.s.Thread)
	go p.e.serveParked(hc)
}

// loop serves the connections whose sockets became readable, until the
// eventfd says the engine stopped.
func (p *parker) loop() {
	defer close(p.ended)
	var events [64]unix.EpollEvent
	for {
		n, err := unix.EpollWait(p.epfd, events[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			p.shut()
		}
		for i := range events[:max(n, 0)] {
			ev := &events[i]
			if ev.Fd < 0 {
				err = unix.EBADF // the eventfd: stop
				break
			}
			if hc := p.claimSlot(int(ev.Fd), uint32(ev.Pad)); hc != nil {
				p.serve(hc)
			}
		}
		if err != nil {
			unix.Close(p.epfd)
			unix.Close(p.evfd)
			return
		}
	}
}

// stop serves every connection parked here on a goroutine of its own
// and ends the loop; what parks after parks on a goroutine.
func (p *parker) stop() {
	if !p.shut() {
		return
	}
	var one [8]byte
	one[0] = 1
	_, _ = unix.Write(p.evfd, one[:])
	<-p.ended
}

// shut closes the parker to new parks and serves the parked
// connections on goroutines of their own. It reports whether it was open.
func (p *parker) shut() bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.closed = true
	var woken []*HTTPConn
	for _, hc := range p.slots {
		if hc != nil {
			p.release(hc)
			woken = append(woken, hc)
		}
	}
	p.mu.Unlock()
	for _, hc := range woken {
		p.serve(hc)
	}
	return true
}
