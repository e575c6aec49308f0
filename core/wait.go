package core

import (
	"errors"
	"net"
	"os"
	"time"

	"luaproxy/netio/h1"
)

// WakeEvent is what woke a stream whose filter answered filter.WAIT or
// whose action answered act.YIELD.
type WakeEvent int

// The events that wake a waiting stream.
const (
	WakeTimer WakeEvent = iota // the wake time expired
	WakeData                   // input came on the channel waited on
	WakeEOF                    // its producer (client or server) closed or broke its side
	WakeStop                   // the engine stopped
)

// WakeOn is the channel whose input wakes a waiting stream, as a
// channel's events wake HAProxy's stream.
type WakeOn int

// The channels a waiting stream watches.
const (
	WakeOnTimer    WakeOn = iota // none: only the wake time (and the engine stopping)
	WakeOnRequest                // the request: the client's data or close
	WakeOnResponse               // the response: the server's data or close
)

// WaitWake waits, as HAProxy's stream does after a filter.WAIT or an
// act.YIELD, for the next event that wakes the stream: d elapsing (d <= 0:
// no wake time), input on the channel on (data, or its producer's close,
// while the message is still coming), or the engine stopping.
//
// HAProxy 2.6 compat: no timeout ends such a wait (timeout client, server
// and http-request do not), and a complete message gets no read event
// (a close is not seen): without a wake time the stream waits for ever.
// luaproxy ends it when the engine stops.
func (s *Stream) WaitWake(d time.Duration, on WakeOn) WakeEvent {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	if on != WakeOnTimer {
		if ev, ok := s.readWake(d, on == WakeOnResponse); ok {
			return ev
		}
	}
	var ev WakeEvent
	s.idleBlock(func() {
		select {
		case <-timer:
			ev = WakeTimer
		case <-s.Engine.done:
			ev = WakeStop
		}
	})
	return ev
}

// YieldDeadline returns when an action of a TCP rule set of the request
// (of the response when res) stops waiting: the tcp-request inspect-delay
// after the stream started (without one, timeout client from now), the
// tcp-response inspect-delay after the response analysis started. It is
// zero in HTTP (nothing ends the wait). final says the action may not
// wait at all: HAProxy 2.6 compat, a tcp-response rule without an
// inspect-delay runs once and the rules go on.
func (s *Stream) YieldDeadline(res bool) (deadline time.Time, final bool) {
	switch {
	case s.HTTP != nil:
		return time.Time{}, false
	case res:
		deadline = s.contentDeadline(s.Res)
		return deadline, deadline.IsZero()
	}
	return s.InspectDeadline(), false
}

// readWake waits up to d (0: no limit) for new input on the request (on
// the response when res): data or its producer's close. ok is false when
// no input can come (a complete message, a full buffer, a closed side).
func (s *Stream) readWake(d time.Duration, res bool) (WakeEvent, bool) {
	if s.HTTP == nil {
		ch := s.Req
		if res {
			ch = s.Res
		}
		return s.fillWake(ch, d)
	}
	x := extOf(s)
	if !res && x.hc != nil {
		return s.bodyWake(x.hc.br, &x.hc.dl, s.Client, d)
	}
	if res && x.sc != nil {
		return s.bodyWake(x.sc.br, &x.sc.dl, x.sc.Conn, d)
	}
	return 0, false
}

// bodyWake is readWake for the body of an HTTP message read by br from c
// (dl: c's deadlines).
func (s *Stream) bodyWake(br *h1.Reader, dl *deadlines, c net.Conn, d time.Duration) (WakeEvent, bool) {
	if !br.BodyPending() {
		return 0, false
	}
	dl.setRead(d)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-s.Engine.done:
			_ = c.SetReadDeadline(time.Unix(1, 0))
		case <-stop:
		}
	}()
	var err error
	s.idleBlock(func() { err = br.ReadMore() })
	// the watcher may have armed a deadline behind dl's back
	dl.rd = 0
	_ = c.SetReadDeadline(time.Time{})
	return wakeOf(s, err), true
}

// fillWake is readWake for a TCP stream: ch's input.
func (s *Stream) fillWake(ch *Channel, d time.Duration) (WakeEvent, bool) {
	if ch.EOF() || ch.Room() == 0 {
		return 0, false
	}
	var deadline time.Time
	if d > 0 {
		deadline = time.Now().Add(d)
	}
	return wakeOf(s, ch.Fill(deadline)), true
}

// wakeTimer wakes a stream whose data filters hold input at their wake
// time (forwardFiltered): c fires once, nil while unarmed.
type wakeTimer struct {
	t *time.Timer
	c <-chan time.Time
}

// set arms the timer for d from now, or stops it (d <= 0).
func (w *wakeTimer) set(d time.Duration) {
	if w.t != nil {
		w.t.Stop()
		w.t, w.c = nil, nil
	}
	if d > 0 {
		w.t = time.NewTimer(d)
		w.c = w.t.C
	}
}

// dataWakeTime is the earliest wake time the data filters of the
// response (res) or request channel set (0: none).
func (fc *filterChain) dataWakeTime(res bool) time.Duration {
	var d time.Duration
	for _, fi := range fc.list {
		if w := fi.WakeTime(); fi.DataFilter(res) && w > 0 && (d == 0 || w < d) {
			d = w
		}
	}
	return d
}

// wakeOf maps a read's outcome to its event.
func wakeOf(s *Stream, err error) WakeEvent {
	switch {
	case err == nil:
		return WakeData
	case errors.Is(err, ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		select {
		case <-s.Engine.done:
			return WakeStop
		default:
			return WakeTimer
		}
	}
	return WakeEOF // io.EOF, or a broken connection
}

// isTimeout reports whether err is a deadline's (a net.Conn's errors say
// so themselves).
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// AbortWait ends a stream whose filter or action still waits when
// nothing more can wake it (the client closed, the engine stopped).
// HAProxy compat: the stream closes without a response, its termination
// state is "CR" and, in HTTP, the transaction is logged as an unread
// request is (logBadRequest): "<NOSRV>", status -1, "CR--". A TCP stream
// is logged when it ends (logTCP).
func (s *Stream) AbortWait() {
	extOf(s).setTerm('C', 'R')
	if tx := s.HTTP; tx != nil {
		tx.closeClient = true
		s.logHTTP(tx)
	}
}
