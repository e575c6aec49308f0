package core

import (
	"net"
	"time"
)

// deadlines sets a connection's read and write deadlines lazily. Setting
// one costs a timer operation in the runtime (5% of a proxied request's
// time when it was done at each step), yet a keep-alive connection moves
// its deadlines forward by a few microseconds at a time. A deadline is
// therefore only passed on when the armed one would fire later than asked,
// or earlier by more than 1/64 of the timeout: a 30 s timeout may fire up
// to 0.47 s early, at most one re-arm per 0.47 s and per connection.
// Clearing a deadline (the zero time) is always passed on.
//
// Every deadline of the connection must be set through the same
// deadlines: it remembers what it armed.
type deadlines struct {
	conn   net.Conn
	rd, wd time.Time // as armed
}

// lazyTolerance is the fraction of a timeout a deadline may fire early.
const lazyTolerance = 64

// close enough tells whether the armed deadline may stand for t.
func closeEnough(armed, t time.Time) bool {
	if armed.IsZero() || t.IsZero() {
		return armed.Equal(t)
	}
	if armed.After(t) {
		return false
	}
	return t.Sub(armed) <= t.Sub(clockNow())/lazyTolerance
}

func (d *deadlines) setRead(t time.Time) {
	if !closeEnough(d.rd, t) {
		d.rd = t
		_ = d.conn.SetReadDeadline(t)
	}
}

func (d *deadlines) setWrite(t time.Time) {
	if !closeEnough(d.wd, t) {
		d.wd = t
		_ = d.conn.SetWriteDeadline(t)
	}
}

// set sets both (one runtime timer when they are equal).
func (d *deadlines) set(t time.Time) {
	switch r, w := closeEnough(d.rd, t), closeEnough(d.wd, t); {
	case !r && !w:
		d.rd, d.wd = t, t
		_ = d.conn.SetDeadline(t)
	case !r:
		d.setRead(t)
	case !w:
		d.setWrite(t)
	}
}
