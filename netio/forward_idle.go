package netio

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Idle timeouts of Forward.
//
// Deadlines cannot tell an idle connection from a busy one while the net
// package splices, since it reports progress only when the whole copy ends.
// So Forward sets no deadline: a timer samples each side's activity every
// quarter of the smallest timeout (watcher) and closes both connections
// when a side stayed idle too long. Between TCP sockets the
// kernel's counters (TCP_INFO bytes received and acknowledged, SIOCOUTQ)
// provide activity without touching the copy; other connections count their
// reads and writes.

// minTick bounds how often the idle watcher wakes up.
const minTick = time.Millisecond

// activity tracks the I/O on each side of a forwarded connection. A nil
// *activity (no timeouts) ignores everything.
type activity struct {
	count   [2]atomic.Uint64   // reads from and writes to each side by copyBuffer
	pending [2]atomic.Bool     // a write to the side is in progress
	raw     [2]syscall.RawConn // both set when the kernel provides activity
}

func newActivity(conns [2]net.Conn) *activity {
	a := &activity{}
	var raw [2]syscall.RawConn
	for i, c := range conns {
		tc, ok := c.(*net.TCPConn)
		if !ok {
			return a
		}
		rc, err := tc.SyscallConn()
		if err != nil {
			return a
		}
		if _, ok := tcpInfo(rc); !ok {
			return a
		}
		raw[i] = rc
	}
	a.raw = raw
	return a
}

func (a *activity) add(i int) {
	if a != nil {
		a.count[i].Add(1)
	}
}

func (a *activity) writing(i int, on bool) {
	if a != nil {
		a.pending[i].Store(on)
	}
}

// sample returns a counter that changes whenever bytes move to or from side
// i, and whether bytes are waiting to be delivered to side i.
func (a *activity) sample(i int) (count uint64, pending bool) {
	count, pending = a.count[i].Load(), a.pending[i].Load()
	if rc := a.raw[i]; rc != nil {
		if info, ok := tcpInfo(rc); ok {
			count += info.Bytes_received + info.Bytes_acked
		}
		rc.Control(func(fd uintptr) {
			if outq, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ); err == nil && outq > 0 {
				pending = true
			}
		})
	}
	return count, pending
}

// watcher enforces the idle timeouts of a forward: a timer samples each
// side's activity every quarter of the smallest timeout.
type watcher struct {
	f    *forwarder
	tick time.Duration
	// seen and last are each side's activity sample and when it last
	// changed; only the timer's function uses them, one run at a time.
	seen [2]uint64
	last [2]time.Time
	mu   sync.Mutex
	t    *time.Timer
	done bool // stop was called: the timer is not armed again
}

// watch starts enforcing f's idle timeouts, if it has any (a nil
// *watcher otherwise). The caller stops it once both directions ended.
func (f *forwarder) watch() *watcher {
	if f.activity == nil {
		return nil
	}
	w := &watcher{f: f}
	for _, t := range f.timeout {
		if t > 0 && (w.tick == 0 || t/4 < w.tick) {
			w.tick = t / 4
		}
	}
	w.tick = max(w.tick, minTick)
	for i := range w.seen {
		w.seen[i], _ = f.activity.sample(i)
		w.last[i] = time.Now()
	}
	w.mu.Lock()
	w.t = time.AfterFunc(w.tick, w.check)
	w.mu.Unlock()
	return w
}

// stop stops the timer; a check running meanwhile aborts nothing more
// (the directions ended) and does not arm it again.
func (w *watcher) stop() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.done = true
	w.t.Stop()
	w.mu.Unlock()
}

// check samples the activity and times a side out when it stayed idle for
// its timeout while the forward was waiting on it.
func (w *watcher) check() {
	f, now := w.f, time.Now()
	if !f.aborting.Load() {
		var count [2]uint64
		var pending [2]bool
		for i := range count {
			count[i], pending[i] = f.activity.sample(i)
		}
		for i := range count {
			if f.timeout[i] == 0 {
				continue
			}
			// HAProxy compat: a side's timer runs while we wait to
			// deliver to it, or to read from it, but not while what it
			// sent is stuck on the other side (no room to read into).
			waiting := pending[i] || f.running[i].Load() && !pending[1-i]
			if count[i] != w.seen[i] || !waiting {
				w.seen[i], w.last[i] = count[i], now
				continue
			}
			if now.Sub(w.last[i]) >= f.timeout[i] {
				w.mu.Lock()
				if !w.done {
					f.timedOut(i)
				}
				w.mu.Unlock()
				break
			}
		}
	}
	w.mu.Lock()
	if !w.done {
		w.t.Reset(w.tick)
	}
	w.mu.Unlock()
}

// timedOut records an idle timeout on side i and aborts both directions.
func (f *forwarder) timedOut(i int) {
	f.mu.Lock()
	if f.err == nil {
		f.err = &ForwardError{Side: Side(i + 1), Err: ErrIdleTimeout}
		f.ended(i)
	}
	f.mu.Unlock()
	f.closeAll()
}

// tcpInfo returns the TCP_INFO of a socket, and false if the call fails or
// the kernel (before Linux 4.2) does not fill the byte counters.
func tcpInfo(rc syscall.RawConn) (info unix.TCPInfo, ok bool) {
	rc.Control(func(fd uintptr) {
		size := uint32(unsafe.Sizeof(info))
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_TCP, unix.TCP_INFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
		ok = errno == 0 && uintptr(size) >= unsafe.Offsetof(info.Bytes_received)+unsafe.Sizeof(info.Bytes_received)
	})
	return info, ok
}

// tcpClosed reports whether c is a TCP connection in the CLOSE state, as
// after a reset.
func tcpClosed(c net.Conn) bool {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	info, ok := tcpInfo(rc)
	return ok && info.State == unix.BPF_TCP_CLOSE
}
