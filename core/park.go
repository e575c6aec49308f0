package core

import (
	"errors"
	"os"
	"time"
)

// Parking: an HTTP connection that waits long for a request gives its
// goroutine up. A stream's goroutine grows its stack to 8 KiB or more
// while it serves a request and keeps it while it waits for the next:
// half of what an idle keep-alive connection cost. Once a connection
// has waited ParkAfter, the idle sweep interrupts its wait (a read
// deadline in the past, as a soft stop does); the goroutine then returns
// from serveHTTP and serve without ending the stream, and the engine's
// parker waits for the connection with no goroutine of its own
// (parker_linux.go; elsewhere, or for a TLS connection, a new goroutine
// whose stack starts at 2 KiB and holds only the wait). Once woken, a
// goroutine takes the stream over (serveParked): it waits for the
// request, serves it, and ends the stream (Stream.finish) or parks it
// again. Nothing changes for the
// client: the stream, its buffers (none while it waits), its deadlines
// and its timers are the same; the keep-alive timeout, a soft stop and
// the client's close end the parked wait as they end any other.
//
// The connections that serve requests never park (they are not idle
// for ParkAfter), so the sweep costs nothing per request: one atomic
// store when a wait starts. Twice per ParkAfter it scans the HTTP
// connections that are not parked (Engine.parkedConns holds the others).

// DefaultParkAfter is Engine.ParkAfter's default.
const DefaultParkAfter = time.Second

// The states of HTTPConn.wait: what a connection waits for (waitFirst,
// waitNext), and whether the sweep asked it to park (waitPark) or it is
// parked (waitParked).
const (
	waitBusy   int32 = 0
	waitFirst  int32 = 1 << 0 // a new connection's first request
	waitNext   int32 = 1 << 1 // a next request (a soft stop ends the wait)
	waitPark   int32 = 1 << 2
	waitParked int32 = 1 << 3
)

// errPark ends a wait that the sweep interrupted: the connection parks.
var errPark = errors.New("park")

// parkLoop runs the idle sweep until the engine stops.
func (e *Engine) parkLoop() {
	if e.ParkAfter <= 0 {
		return
	}
	t := time.NewTicker(e.ParkAfter / 2)
	defer t.Stop()
	for {
		select {
		case <-e.done:
			return
		case <-t.C:
			e.sweepIdle(time.Now())
		}
	}
}

// sweepIdle asks the connections that have waited for a request since
// before now-ParkAfter to park: their read deadline, set in the past,
// ends their wait, and the waiter sees the waitPark state (under idleMu,
// so that the waiter's restoring of its deadline comes after).
func (e *Engine) sweepIdle(now time.Time) {
	before := now.Add(-e.ParkAfter).UnixNano()
	e.idleMu.Lock()
	defer e.idleMu.Unlock()
	for hc := range e.httpConns {
		w := hc.wait.Load()
		if (w == waitFirst || w == waitNext) && hc.idleSince.Load() < before && hc.wait.CompareAndSwap(w, w|waitPark) {
			_ = hc.s.Client.SetReadDeadline(now)
		}
	}
}

// parkRequested handles the end of a wait for what the sweep asked to
// park, with err: the connection's read deadline is set back (unless a
// soft stop ends a next request's wait), and the wait parks if it ended
// on the sweep's deadline only.
func (hc *HTTPConn) parkRequested(what int32, err error) error {
	e := hc.s.Engine
	e.idleMu.Lock()
	stop := what&waitNext != 0 && e.Stopping()
	if !stop {
		_ = hc.s.Client.SetReadDeadline(at(hc.dl.rd))
	}
	e.idleMu.Unlock()
	if err == nil || stop || !errors.Is(err, os.ErrDeadlineExceeded) || hc.br.Buffered() > 0 {
		return err
	}
	if hc.dl.rd != 0 && time.Now().UnixNano() >= hc.dl.rd {
		return err // the timeout is the connection's own
	}
	return errPark
}

// park leaves hc's request n to serveParked's goroutine: what the
// stream held while it waited is given back (the buffers), and the
// stream is marked so that serve does not end it.
func (hc *HTTPConn) park(n int) {
	s := hc.s
	s.fx.task.wait()
	hc.n = n
	hc.br.Release()
	hc.bw.Release()
	hc.buf = nil
	if tx := s.HTTP; tx != nil {
		// reset for request n, the transaction holds nothing but when
		// the request started and its number: it is let go of, and made
		// again when the request comes (unparkTxn)
		hc.txStart, hc.txSeq = tx.start, tx.seq
		s.HTTP = nil
		s.smp.Req, s.smp.Res, s.smp.Txn = nil, nil, nil
	}
	hc.moveTo(true)
	s.parked = true
}

// unparkTxn makes again the transaction park let go of, as httpLoop
// reset it for request n.
func (hc *HTTPConn) unparkTxn() *HTTPTxn {
	tx := &HTTPTxn{txnState: txnState{seq: hc.txSeq - 1}}
	tx.reset(hc.n == 0, hc.txStart)
	return tx
}

// moveTo moves hc to the engine's parked connections, or back.
func (hc *HTTPConn) moveTo(parked bool) {
	e := hc.s.Engine
	from, to := e.httpConns, e.parkedConns
	if !parked {
		from, to = to, from
	}
	e.idleMu.Lock()
	delete(from, hc)
	to[hc] = struct{}{}
	e.idleMu.Unlock()
}

// parkWait leaves parked hc to the parker, or to a goroutine of its own.
func (e *Engine) parkWait(hc *HTTPConn) {
	e.parkerOnce.Do(func() { e.parker = newParker(e) })
	if e.parker != nil && e.parker.park(hc) {
		return
	}
	go e.serveParked(hc)
}

// serveParked is the goroutine of a parked connection: it waits for
// the request, then serves the stream as serveHTTP did, ends it (and
// the engine's count of its streams) or parks it again on a goroutine
// of its own. The wait is the first thing on its stack, so the stack
// stays at its starting size while the connection waits.
func (e *Engine) serveParked(hc *HTTPConn) {
	err := hc.waitParked()
	hc.moveTo(false)
	s := hc.s
	s.parked = false
	s.HTTP = hc.unparkTxn()
	if e.httpLoop(hc, hc.n, &err) {
		e.parkWait(hc)
		return
	}
	if s.handoff != nil {
		s.parked = true
		s.startHandoff()
		return
	}
	s.finish()
	e.wg.Done()
}

// waitParked is waitRequest for a parked connection: the sweep leaves
// it alone (it asks only waitFirst and waitNext), a soft stop ends a next
// request's wait.
func (hc *HTTPConn) waitParked() error {
	what := waitFirst
	if hc.n > 0 {
		what = waitNext
	}
	return hc.waitRequest(what | waitParked)
}
