package core

import (
	"errors"
	"os"
	"time"
)

// WakeEvent is what woke a stream whose filter answered filter.WAIT or
// whose action answered act.YIELD.
type WakeEvent int

// The events that wake a waiting stream.
const (
	WakeTimer WakeEvent = iota // the wake time expired
	WakeData                   // request data came
	WakeEOF                    // the client closed (or broke) its side of the request
	WakeStop                   // the engine stopped
)

// WaitWake waits, as HAProxy's stream does after a filter.WAIT or an
// act.YIELD, for the next event that wakes the stream: d elapsing (d <= 0:
// no wake time), request data or the client's close while the request
// body is still coming (req only), or the engine stopping.
//
// HAProxy 2.6 compat: no timeout ends such a wait (timeout client, server
// and http-request do not), and a complete request gets no read event
// (a close is not seen): without a wake time the stream waits for ever.
// luaproxy ends it when the engine stops.
func (s *Stream) WaitWake(d time.Duration, req bool) WakeEvent {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	if req {
		if ev, ok := s.readWake(d); ok {
			return ev
		}
	}
	var ev WakeEvent
	s.taskBlock(func() {
		select {
		case <-timer:
			ev = WakeTimer
		case <-s.Engine.done:
			ev = WakeStop
		}
	})
	return ev
}

// readWake waits up to d (0: no limit) for new request input: data or
// the client's close. ok is false when no input can come (a complete
// request, a full buffer).
func (s *Stream) readWake(d time.Duration) (WakeEvent, bool) {
	if s.HTTP == nil {
		return s.fillWake(d)
	}
	hc := extOf(s).hc
	if hc == nil || !hc.br.BodyPending() {
		return 0, false
	}
	hc.dl.setRead(d)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-s.Engine.done:
			_ = s.Client.SetReadDeadline(time.Unix(1, 0))
		case <-stop:
		}
	}()
	var err error
	s.taskBlock(func() { err = hc.br.ReadMore() })
	// the watcher may have armed a deadline behind hc.dl's back
	hc.dl.rd = 0
	_ = s.Client.SetReadDeadline(time.Time{})
	return wakeOf(s, err), true
}

// fillWake is readWake for a TCP stream: the request channel's input.
func (s *Stream) fillWake(d time.Duration) (WakeEvent, bool) {
	if s.Req.EOF() || s.Req.Room() == 0 {
		return 0, false
	}
	var deadline time.Time
	if d > 0 {
		deadline = time.Now().Add(d)
	}
	return wakeOf(s, s.Req.Fill(deadline)), true
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
