package core

// Queues: the streams waiting for a server slot, in the backend's queue
// or in the queue of the one server they must use, served oldest first
// as slots free (HAProxy's queue.c).

import (
	"errors"
	"time"
)

// waiter is a stream queued for a server slot: in the backend's queue,
// or in the queue of the one server it must use (srv).
type waiter struct {
	ch  chan *Server // receives the server whose slot it was given
	srv *Server      // the server whose queue it is in; nil: the backend's
	// seq orders the waiters of the backend's queues: a freed slot goes
	// to the oldest of its server's and the backend's first (qMu)
	seq uint64
	// mark is its queue's dequeue count when the stream queued; pos,
	// set when it leaves, the streams served from it meanwhile plus one.
	mark, pos int64
	// srvPos is its position when it left a server's queue for the
	// backend's (redistribute)
	srvPos int64
}

// queuePos counts, as HAProxy's logs.prx_queue_pos and srv_queue_pos, the
// streams served from the backend's queue (%bq, bc_be_queue) and from the
// server's (%sq, bc_srv_queue) while the stream waited in them.
type queuePos struct{ be, srv int64 }

func (q *queuePos) add(w *waiter) {
	if q == nil {
		return
	}
	q.srv += w.srvPos
	if w.srv != nil {
		q.srv += w.pos
	} else {
		q.be += w.pos
	}
}

// errQueueFull: the server a stream must use has "maxqueue" streams
// waiting already (HAProxy's SRV_STATUS_FULL, a 503 with "SQ").
var errQueueFull = errors.New("server queue full")

// queueLen returns the number of streams waiting in the backend's own
// queue (the BACKEND line's qcur).
func (px *Proxy) queueLen() int {
	px.qMu.Lock()
	defer px.qMu.Unlock()
	return len(px.queue)
}

// pendingLen returns the number of streams waiting in the backend's queue
// and its servers' (HAProxy's totpend: the "queue" fetch).
func (px *Proxy) pendingLen() int { return int(px.pending.Load()) }

// srvQueueLen returns the number of streams waiting in s's own queue.
func (s *Server) srvQueueLen() int {
	s.Proxy.qMu.Lock()
	defer s.Proxy.qMu.Unlock()
	return len(s.queue)
}

// queuePeaks returns the longest the backend's queue and s's (s may be
// nil) have been.
func (px *Proxy) queuePeaks(s *Server) (be, srv int64) {
	px.qMu.Lock()
	defer px.qMu.Unlock()
	if s != nil {
		srv = s.qPeak
	}
	return px.qPeak, srv
}

// acquireServer picks a server and takes one of its connection slots.
// When every usable server is at its maxconn, the stream waits in the
// backend's queue up to "timeout queue" (else "timeout connect"); when
// the algorithm is a hash, the server it designates is the one to use,
// and a stream finding it full waits in that server's queue, as in
// HAProxy (persistence is never broken by load). On an error the server
// returned is that hash's target, with no slot taken, or nil. pos may be
// nil.
func (px *Proxy) acquireServer(in *lbInput, exclude *Server, pos *queuePos) (*Server, error) {
	if p := in.preferred(px); p != nil && p != exclude && p.tryTake() {
		return p, nil
	}
	for {
		srv, full, assigned := px.pickServer(in, exclude)
		if srv != nil {
			if assigned {
				return px.acquireAssigned(srv, in, pos)
			}
			if srv.tryTake() {
				return srv, nil
			}
			continue // raced for the last slot; pick again
		}
		if !full {
			return nil, errNoServer
		}
		px.qMu.Lock()
		w := px.enqueueLocked(nil)
		px.qMu.Unlock()
		return px.wait(w, in, pos)
	}
}

// acquireAssigned takes a slot of srv, the server the stream must use (a
// persistence cookie, a stick match, a use-server rule, a hash), or waits
// in srv's queue: HAProxy queues there whenever srv is full or others
// wait for it already. errQueueFull when "maxqueue" streams wait there.
// On an error it still returns srv, the stream's target (for its log
// line), with no slot taken.
func (px *Proxy) acquireAssigned(srv *Server, in *lbInput, pos *queuePos) (*Server, error) {
	if px.pending.Load() == 0 && srv.tryTake() {
		return srv, nil
	}
	px.qMu.Lock()
	if len(srv.queue) == 0 && srv.tryTake() {
		px.qMu.Unlock()
		return srv, nil
	}
	if srv.MaxQueue > 0 && len(srv.queue) >= srv.MaxQueue {
		px.qMu.Unlock()
		return srv, errQueueFull
	}
	w := px.enqueueLocked(srv)
	px.qMu.Unlock()
	got, err := px.wait(w, in, pos)
	if err != nil {
		return srv, err
	}
	return got, nil
}

// enqueueLocked queues a new waiter in srv's queue (nil: the backend's).
func (px *Proxy) enqueueLocked(srv *Server) *waiter {
	w := &waiter{ch: make(chan *Server, 1), srv: srv, seq: px.qSeq}
	px.qSeq++
	px.pending.Add(1)
	if srv != nil {
		w.mark = srv.dequeued
		srv.queue = append(srv.queue, w)
		srv.qPeak = max(srv.qPeak, int64(len(srv.queue)))
	} else {
		w.mark = px.dequeued
		px.queue = append(px.queue, w)
		px.qPeak = max(px.qPeak, int64(len(px.queue)))
	}
	return w
}

// wait waits until w is handed a slot, its client leaves, or "timeout
// queue" (else "timeout connect") expires.
func (px *Proxy) wait(w *waiter, in *lbInput, pos *queuePos) (*Server, error) {
	// A slot may have freed between the pick and the queueing.
	px.dequeue()
	wait := px.Timeouts.Queue
	if wait == 0 {
		wait = px.Timeouts.Connect
	}
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	var abort <-chan struct{}
	if in != nil && in.onQueue != nil {
		var stop func()
		abort, stop = in.onQueue()
		defer stop()
	}
	select {
	case <-abort:
		if !px.unqueue(w) {
			// handed a slot while leaving: give it back
			(<-w.ch).release()
		}
		pos.add(w)
		return nil, errClientAbort
	case srv := <-w.ch:
		pos.add(w)
		return srv, nil
	case <-timeout:
		px.unqueue(w)
		pos.add(w)
		select {
		case srv := <-w.ch: // handed a slot while timing out
			return srv, nil
		default:
		}
		return nil, errQueueTimeout
	}
}

// unqueue takes w out of its queue; false when it was no longer there (it
// was handed a slot). A stream leaving a queue also counts its position,
// as HAProxy's __pendconn_unlink_prx and _srv do.
func (px *Proxy) unqueue(w *waiter) bool {
	px.qMu.Lock()
	defer px.qMu.Unlock()
	q, dequeued := &px.queue, px.dequeued
	if w.srv != nil {
		q, dequeued = &w.srv.queue, w.srv.dequeued
	}
	for i, x := range *q {
		if x == w {
			*q = append((*q)[:i], (*q)[i+1:]...)
			px.pending.Add(-1)
			w.pos = dequeued - w.mark + 1
			return true
		}
	}
	return false
}

// release gives back a slot, handing it to the first queued stream.
func (s *Server) release() {
	s.Conns.Add(-1)
	s.lb.moved.Store(lbClock.Add(1))
	s.Proxy.dequeue()
}

// dequeue gives free slots to queued streams, in order: a server with a
// queue of its own gives each free slot to the oldest of its queue's first
// and the backend's (HAProxy's process_srv_queue), then the backend's
// queue takes the free slots of any server, as load balancing picks them.
// It returns the number of streams served from the backend's queue.
func (px *Proxy) dequeue() int {
	if px.pending.Load() == 0 {
		return 0
	}
	px.qMu.Lock()
	defer px.qMu.Unlock()
	before := px.dequeued
	for _, s := range px.servers() {
		for len(s.queue) > 0 && s.tryTake() {
			if len(px.queue) > 0 && px.queue[0].seq < s.queue[0].seq {
				px.handLocked(&px.queue, &px.dequeued, s)
			} else {
				px.handLocked(&s.queue, &s.dequeued, s)
			}
		}
	}
	for len(px.queue) > 0 {
		srv, _, _ := px.pickServer(nil, nil)
		if srv == nil || !srv.tryTake() {
			break
		}
		px.handLocked(&px.queue, &px.dequeued, srv)
	}
	return int(px.dequeued - before)
}

// redistribute moves the streams waiting for s, which went down, to the
// backend's queue for load balancing, in their order, when "option
// redispatch" is on and "option persist" is not (HAProxy's
// pendconn_redistribute; without, they wait for s until "timeout
// queue"). It returns how many moved.
func (px *Proxy) redistribute(s *Server) int {
	if px.Options.Redispatch == 0 || px.Options.Persist {
		return 0
	}
	px.qMu.Lock()
	moved := s.queue
	s.queue = nil
	for _, w := range moved {
		w.srvPos = s.dequeued - w.mark + 1
		w.srv, w.mark = nil, px.dequeued
		i := len(px.queue)
		for i > 0 && px.queue[i-1].seq > w.seq {
			i--
		}
		px.queue = append(px.queue, nil)
		copy(px.queue[i+1:], px.queue[i:])
		px.queue[i] = w
	}
	px.qPeak = max(px.qPeak, int64(len(px.queue)))
	px.qMu.Unlock()
	if len(moved) > 0 {
		px.dequeue()
	}
	return len(moved)
}

// handLocked hands the slot of srv it holds to the first waiter of q.
func (px *Proxy) handLocked(q *[]*waiter, dequeued *int64, srv *Server) {
	w := (*q)[0]
	*q = (*q)[1:]
	px.pending.Add(-1)
	// HAProxy compat (pendconn_add, __pendconn_unlink_*): the streams
	// dequeued before it, plus one: the first in line reports 1
	w.pos = *dequeued - w.mark + 1
	*dequeued++
	w.ch <- srv
}
