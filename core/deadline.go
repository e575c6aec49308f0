package core

import (
	"net"
	"time"
)

// deadlines sets a connection's read and write timeouts lazily. Setting
// a deadline costs a timer operation in the runtime (5% of a proxied
// request's time when it was done at each step), yet a keep-alive
// connection moves its deadlines forward by a few microseconds at a time.
// A deadline is therefore only passed on when the armed one would fire
// later than asked, or earlier by more than 1/64 of the timeout: a 30 s
// timeout may fire up to 0.47 s early, at most one re-arm per 0.47 s and
// per connection. Removing a deadline (timeout 0) is always passed on.
//
// The timeouts count from the engine's clock (clock.go). Every deadline
// of the connection must be set through the same deadlines: it remembers
// what it armed.
type deadlines struct {
	conn   net.Conn
	rd, wd int64 // as armed, in Unix nanoseconds; 0: none
}

// lazyTolerance is the fraction of a timeout a deadline may fire early.
const lazyTolerance = 64

// want returns the deadline of a timeout (0: none), and whether armed
// may stand for it.
func want(armed int64, timeout time.Duration) (int64, bool) {
	if timeout <= 0 {
		return 0, armed == 0
	}
	t := clockNS.Load() + int64(timeout)
	return t, armed != 0 && armed <= t && t-armed <= int64(timeout)/lazyTolerance
}

// at converts a deadline to the time net.Conn takes.
func at(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// setRead sets the read timeout (0: none).
func (d *deadlines) setRead(timeout time.Duration) {
	if t, ok := want(d.rd, timeout); !ok {
		d.rd = t
		_ = d.conn.SetReadDeadline(at(t))
	}
}

// setWrite sets the write timeout (0: none).
func (d *deadlines) setWrite(timeout time.Duration) {
	if t, ok := want(d.wd, timeout); !ok {
		d.wd = t
		_ = d.conn.SetWriteDeadline(at(t))
	}
}

// setReadAt sets an absolute read deadline (zero: none), with the same
// laziness, taking the time left until it as the timeout.
func (d *deadlines) setReadAt(t time.Time) {
	if t.IsZero() {
		d.setRead(0)
		return
	}
	ns := t.UnixNano()
	if left := ns - clockNS.Load(); d.rd == 0 || d.rd > ns || ns-d.rd > left/lazyTolerance {
		d.rd = ns
		_ = d.conn.SetReadDeadline(t)
	}
}

// set sets both (one runtime timer when they are equal).
func (d *deadlines) set(timeout time.Duration) {
	tr, r := want(d.rd, timeout)
	tw, w := want(d.wd, timeout)
	switch {
	case !r && !w && tr == tw:
		d.rd, d.wd = tr, tw
		_ = d.conn.SetDeadline(at(tr))
	case !r:
		d.setRead(timeout)
	case !w:
		d.setWrite(timeout)
	}
}
