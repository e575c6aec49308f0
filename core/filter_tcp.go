package core

import (
	"errors"
	"io"
	"net"
	"time"
)

// Filters in TCP mode. As HAProxy 2.6 calls them (checked against 2.6.12
// with a Lua filter tracing its callbacks):
//
//	start_analyze(req)   frontend filters: before the tcp-request content
//	                     rules; backend filters: once the backend is chosen
//	start_analyze(res)   once the server connection is established
//	tcp_payload(chn)     data filters, as data arrives in either direction
//	end_analyze(req), end_analyze(res)  when the stream ends
//
// tcp_payload sees the bytes of the channel that the filter has not
// passed on yet (its window) and may edit them; it passes on what is
// left of the window, or nothing when it waits. The filters form a
// pipeline: each sees what the ones before it passed on, and the stream
// forwards what the last one passed on. A filter's failure aborts the
// stream.

// tcpFilters attaches px's filters to a TCP stream and starts the
// analysis of its request; false when a start failed.
func (s *Stream) tcpFilters(px *Proxy) bool { return !s.attachTo(&s.filters, px).failed() }

// endTCPFilters ends the analysis of both channels and releases the
// instances of a TCP stream.
func (s *Stream) endTCPFilters() {
	fc := s.filters
	if fc == nil {
		return
	}
	s.filters = nil
	if !fc.reqEnded {
		fc.call(WakeOnTimer, func(fi FilterInstance) FilterResult { return fi.EndAnalyze(false) })
	}
	if fc.resStarted {
		fc.call(WakeOnTimer, func(fi FilterInstance) FilterResult { return fi.EndAnalyze(true) })
	}
	for _, fi := range fc.list {
		fi.Detach()
	}
}

// tcpPayload runs the data filters of a channel on its input and returns
// how many bytes of the input they all passed on (-1: a filter failed).
func (fc *filterChain) tcpPayload(ch *Channel) int {
	res := ch.isRes
	offs := &fc.tcpOff[b2i(res)]
	if len(*offs) < len(fc.list) {
		*offs = append(*offs, make([]int, len(fc.list)-len(*offs))...)
	}
	data := len(ch.in)
	for i, fi := range fc.list {
		if !fi.DataFilter(res) {
			continue
		}
		off := min((*offs)[i], data)
		n := fi.TCPPayload(res, off, data-off)
		if n < 0 {
			return -1
		}
		data = min(off+n, len(ch.in))
		(*offs)[i] = data
	}
	for i := range *offs {
		(*offs)[i] = max((*offs)[i]-data, 0)
	}
	return data
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tcpSide is one direction of a filtered TCP stream: a reader goroutine
// fills the channel when asked, a writer goroutine sends what the filters
// passed on, and the stream's goroutine runs the filters in between.
type tcpSide struct {
	ch       *Channel
	src, dst net.Conn
	timeout  time.Duration // idle timeout of src's reads
	readReq  chan int      // to the reader: read up to n bytes
	readRes  chan tcpRead
	wr       chan []byte
	wrDone   chan error
	reading  bool
	writing  bool
	wlen     int    // the size of the write under way
	out      []byte // passed on, waiting for the writer
	eof      bool   // src ended
	shut     bool   // dst's write side is closed
	sent     int64
	wake     wakeTimer // the filters' wake time, while they hold input
}

type tcpRead struct {
	p   []byte
	err error
}

func newTCPSide(ch *Channel, src, dst net.Conn, timeout time.Duration) *tcpSide {
	d := &tcpSide{ch: ch, src: src, dst: dst, timeout: timeout,
		readReq: make(chan int, 1), readRes: make(chan tcpRead, 1),
		wr: make(chan []byte, 1), wrDone: make(chan error, 1)}
	go func() {
		for n := range d.readReq {
			_ = src.SetReadDeadline(deadline(d.timeout))
			p := make([]byte, n)
			k, err := src.Read(p)
			d.readRes <- tcpRead{p[:k], err}
		}
	}()
	go func() {
		for p := range d.wr {
			_ = dst.SetWriteDeadline(deadline(d.timeout))
			_, err := dst.Write(p)
			d.wrDone <- err
		}
	}()
	return d
}

// stop ends the side's goroutines once they are idle (the connections are
// closed by the stream, which unblocks them).
func (d *tcpSide) stop() {
	close(d.readReq)
	close(d.wr)
}

// errFilterAbort ends a stream whose filter failed.
var errFilterAbort = errors.New("filter error")

// forwardFiltered copies the stream's data both ways through its filters
// until both directions end, or an error, a timeout or a failed filter
// aborts them. prefix goes to the server first, unfiltered (what Lua sent
// before the connection existed).
func (s *Stream) forwardFiltered(fc *filterChain, prefix []byte, cto, sto time.Duration) (toServer, toClient int64, err error) {
	s.forgetDeadlines() // the sides set theirs directly
	s.shareClient()
	req := newTCPSide(s.Req, s.Client, s.ServerConn, cto)
	res := newTCPSide(s.Res, s.ServerConn, s.Client, sto)
	defer req.stop()
	defer res.stop()
	req.out = append(req.out, prefix...)
	sides := [2]*tcpSide{req, res}
	filter := func(d *tcpSide) error {
		if len(d.ch.in) == 0 && !d.eof {
			return nil
		}
		n := fc.tcpPayload(d.ch)
		if n < 0 {
			return errFilterAbort
		}
		d.out = append(d.out, d.ch.in[:n]...)
		d.ch.Consume(n)
		// HAProxy compat: filters holding input run again at their
		// wake time, as the stream is woken then
		var wt time.Duration
		if len(d.ch.in) > 0 && !d.eof {
			wt = fc.dataWakeTime(d.ch.isRes)
		}
		d.wake.set(wt)
		return nil
	}
	defer req.wake.set(0)
	defer res.wake.set(0)
	for _, d := range sides {
		if err := filter(d); err != nil {
			return req.sent, res.sent, err
		}
	}
	for {
		busy := false
		for _, d := range sides {
			if !d.reading && !d.eof && d.ch.Room() > 0 {
				d.readReq <- d.ch.Room()
				d.reading = true
			}
			if !d.writing && len(d.out) > 0 {
				d.wr <- d.out
				d.writing, d.wlen, d.out = true, len(d.out), nil
			}
			if d.eof && !d.writing && len(d.out) == 0 && !d.shut {
				// what a waiting filter still holds is dropped, as in HAProxy
				closeWrite(d.dst)
				d.shut = true
			}
			busy = busy || d.reading || d.writing
		}
		if !busy {
			return req.sent, res.sent, nil
		}
		var d *tcpSide
		var r tcpRead
		var werr error
		isRead := false
		select {
		case <-req.wake.c:
			req.wake.c = nil
			if err := filter(req); err != nil {
				return req.sent, res.sent, err
			}
			continue
		case <-res.wake.c:
			res.wake.c = nil
			if err := filter(res); err != nil {
				return req.sent, res.sent, err
			}
			continue
		case r = <-req.readRes:
			d, isRead = req, true
		case r = <-res.readRes:
			d, isRead = res, true
		case werr = <-req.wrDone:
			d = req
		case werr = <-res.wrDone:
			d = res
		}
		if !isRead {
			d.writing = false
			if werr != nil {
				return req.sent, res.sent, werr
			}
			d.sent += int64(d.wlen)
			continue
		}
		d.reading = false
		d.ch.in = append(d.ch.in, r.p...)
		if r.err != nil {
			if !errors.Is(r.err, io.EOF) {
				return req.sent, res.sent, r.err
			}
			d.eof, d.ch.eof = true, true
		}
		if err := filter(d); err != nil {
			return req.sent, res.sent, err
		}
	}
}

// closeWrite half-closes c (or closes it when it cannot).
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}

// reqPump forwards the client's data through the request's data filters
// while the tcp-response content rules of a filtered stream wait for the
// response (HAProxy forwards each direction on its own). A goroutine
// reads the client; the filters run and the server is written on the
// stream's goroutine, while it waits for response input (Channel.Fill).
type reqPump struct {
	s    *Stream
	ask  chan int     // to the reader: read up to n bytes
	got  chan tcpRead // from the reader
	quit chan struct{}
	done chan struct{}
	// asked: a read is under way; stopped: no more reads (end of
	// input, an error, a full buffer); failed: no more forwarding (a
	// filter or the server failed).
	asked, stopped, failed bool
	sent                   int64
}

// pumpFiltered starts a reqPump; stop ends it and returns the bytes it
// sent. What the filters hold, and what the reader got last, stay in
// s.Req for forwardFiltered, which sees the client's end of input again.
func (s *Stream) pumpFiltered() (stop func() int64) {
	p := &reqPump{s: s, ask: make(chan int), got: make(chan tcpRead, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	s.shareClient()
	c := s.Client
	go func() {
		defer close(p.done)
		for {
			select {
			case n := <-p.ask:
				b := make([]byte, n)
				k, err := c.Read(b)
				p.got <- tcpRead{b[:k], err}
			case <-p.quit:
				return
			}
		}
	}()
	s.pump = p
	if len(s.Req.out) > 0 {
		p.failed = !p.write(s.Req.out)
		s.Req.out = nil
	}
	p.filter()
	return func() int64 {
		s.pump = nil
		if p.asked {
			_ = c.SetReadDeadline(time.Unix(1, 0)) // wakes the read
			p.take(<-p.got)
			_ = c.SetReadDeadline(time.Time{})
			s.forgetDeadlines()
		}
		close(p.quit)
		<-p.done
		return p.sent
	}
}

// serveWhile runs read (a read of the response) and, until it returns,
// forwards the client's data as it comes; the filters run on the
// stream's goroutine between its waits.
func (p *reqPump) serveWhile(read func() (int, error)) (int, error) {
	type result struct {
		n   int
		err error
	}
	res := make(chan result, 1)
	go func() {
		n, err := read()
		res <- result{n, err}
	}()
	for {
		p.next()
		var in *tcpRead
		var out result
		p.s.taskBlock(func() {
			select {
			case out = <-res:
			case r := <-p.got:
				in = &r
			}
		})
		if in == nil {
			return out.n, out.err
		}
		if p.take(*in) {
			p.filter()
		}
	}
}

// next asks the reader for more when none is asked and room is left.
func (p *reqPump) next() {
	if p.asked || p.stopped || p.failed {
		return
	}
	room := p.s.Req.Room()
	if room == 0 {
		p.stopped = true // the filters hold a full buffer
		return
	}
	p.ask <- room
	p.asked = true
}

// take adds what the reader got to the request's input; false once the
// reader stops (an error; an end of input is seen again later).
func (p *reqPump) take(r tcpRead) bool {
	p.asked = false
	p.s.Req.Append(r.p)
	if r.err != nil {
		p.stopped = true
	}
	return len(r.p) > 0
}

// filter sends what the request's filters pass on of its input.
func (p *reqPump) filter() {
	if p.failed || len(p.s.Req.in) == 0 {
		return
	}
	ch := p.s.Req
	n := p.s.filters.tcpPayload(ch)
	if n < 0 {
		p.failed = true // forwardFiltered runs them again, and aborts
		return
	}
	p.failed = !p.write(ch.in[:n])
	ch.Consume(n)
}

// write sends b to the server.
func (p *reqPump) write(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	n, err := p.s.ServerConn.Write(b)
	p.sent += int64(n)
	return err == nil
}
