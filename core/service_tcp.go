package core

import "time"

// ServiceIO is a TCP service's side of its stream: what it reads is the
// client's data as the request's data filters pass it on, what it sends
// goes to the client through the response's data filters. Without data
// filters the service reads the request channel's input and writes to the
// client directly.
//
// As HAProxy 2.6 runs filters around an applet (checked against 2.6.12
// with a Lua filter tracing its callbacks): start_analyze(res) comes
// before the service runs, tcp_payload(req) sees the client's data before
// the service does, tcp_payload(res) what the service sends, and
// end_analyze(req) comes once the client's data ended.
type ServiceIO struct {
	s  *Stream
	fc *filterChain // nil: no filters
	// in is what the request filters passed on and the service has not
	// read yet.
	in      []byte
	started bool // the request input buffered before the service was filtered
	failed  bool // a filter failed: the stream is aborted
	// queued is what the service sent where the filters could not run
	// (Queue), sent before anything else.
	queued []byte
}

// Filtered reports whether the service's data goes through filters: the
// filters then run (Fill, Send, Flush) where the service's Lua state is
// not locked, as they may be Lua themselves.
func (io *ServiceIO) Filtered() bool { return io.fc != nil }

// Queue keeps p to be sent by the next Send, Fill or Flush.
func (io *ServiceIO) Queue(p []byte) { io.queued = append(io.queued, p...) }

// Queued returns the number of bytes Queue kept.
func (io *ServiceIO) Queued() int { return len(io.queued) }

// Flush sends what Queue kept. It yields first, so that the answers of
// the streams woken by the same poll leave together (see
// yieldBeforeSend): call it where no lock is held.
func (io *ServiceIO) Flush() error {
	if len(io.queued) == 0 {
		return nil
	}
	yieldBeforeSend()
	return io.SendNow(nil)
}

// SendNow sends what Queue kept, then p, without yielding.
func (io *ServiceIO) SendNow(p []byte) error {
	q := io.queued
	io.queued = nil
	if len(q) > 0 {
		if _, err := io.Send(q); err != nil {
			return err
		}
		if io.fc == nil {
			io.queued = q[:0] // Send is done with it: keep the buffer
		}
	}
	if len(p) == 0 {
		return nil
	}
	_, err := io.Send(p)
	return err
}

// ServiceIO returns the I/O of the stream's TCP service.
func (s *Stream) ServiceIO() *ServiceIO {
	if s.svcIO == nil {
		s.svcIO = &ServiceIO{s: s, fc: s.filters}
	}
	return s.svcIO
}

// startServiceFilters starts the response analysis of the filters before
// a TCP service runs; false when a filter failed.
func (s *Stream) startServiceFilters() bool {
	fc := s.filters
	if fc == nil {
		return true
	}
	fc.resStarted = true
	return !fc.call(WakeOnTimer, func(fi FilterInstance) FilterResult { return fi.StartAnalyze(true) }).failed()
}

// Input returns what the service may read. The slice is valid until the
// next call that changes it.
func (io *ServiceIO) Input() []byte {
	if io.fc == nil {
		return io.s.Req.Input()
	}
	io.start()
	return io.in
}

// Consume removes n bytes from the front of the input.
func (io *ServiceIO) Consume(n int) {
	if io.fc == nil {
		io.s.Req.Consume(n)
		return
	}
	n = min(n, len(io.in))
	io.in = append(io.in[:0], io.in[n:]...)
}

// Room returns how many more bytes the input takes.
func (io *ServiceIO) Room() int {
	if io.fc == nil {
		return io.s.Req.Room()
	}
	return max(io.s.Req.Room()-len(io.in), 0)
}

// EOF reports whether no more input will come: the client closed its
// side (what a waiting filter still holds is dropped, as in HAProxy), or
// a filter failed.
func (io *ServiceIO) EOF() bool { return io.failed || io.s.Req.EOF() }

// Fill waits until deadline (zero: none) for more of the client's data
// and passes it through the request filters. Its errors are those of
// Channel.Fill, and errFilterAbort when a filter failed.
func (io *ServiceIO) Fill(deadline time.Time) error {
	if io.fc == nil {
		return io.s.Req.Fill(deadline)
	}
	io.start()
	if io.failed {
		return errFilterAbort
	}
	if err := io.Flush(); err != nil {
		return err
	}
	err := io.s.Req.Fill(deadline)
	if ferr := io.filterReq(); ferr != nil {
		return ferr
	}
	return err
}

// start filters the request input buffered before the service ran (by
// the content rules).
func (io *ServiceIO) start() {
	if io.fc != nil && !io.started {
		io.started = true
		_ = io.filterReq()
	}
}

// filterReq passes the request input through the data filters into in,
// and ends the request analysis once the client's data ended.
func (io *ServiceIO) filterReq() error {
	ch, fc := io.s.Req, io.fc
	if len(ch.in) > 0 || ch.eof {
		n := fc.tcpPayload(ch)
		if n < 0 {
			io.failed = true
			return errFilterAbort
		}
		io.in = append(io.in, ch.in[:n]...)
		ch.Consume(n)
	}
	if ch.eof && !fc.reqEnded {
		fc.reqEnded = true
		fc.call(WakeOnTimer, func(fi FilterInstance) FilterResult { return fi.EndAnalyze(false) })
	}
	return nil
}

// Send passes p through the response filters and writes what they pass
// on to the client. It returns len(p) once the filters took it.
func (io *ServiceIO) Send(p []byte) (int, error) {
	if io.fc == nil {
		return io.s.Res.Send(p)
	}
	if io.failed {
		return 0, errFilterAbort
	}
	if len(io.queued) > 0 {
		p = append(io.queued, p...)
		io.queued = nil
	}
	ch := io.s.Res
	ch.in = append(ch.in, p...)
	n := io.fc.tcpPayload(ch)
	if n < 0 {
		io.failed = true
		_ = io.s.Client.Close()
		return 0, errFilterAbort
	}
	if n > 0 {
		_, err := ch.Send(ch.in[:n])
		ch.Consume(n)
		if err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
