package core

import (
	"net"
	"time"

	"luaproxy/netio"
)

// handoff is an HTTP tunnel (a WebSocket or another 101 upgrade, a
// CONNECT) that goes on after the stream's goroutine returned, on
// netio.ForwardAsync's: an idle one holds two small forwarding stacks
// instead of the HTTP call chain's deep one. What the chain did after
// the tunnel ended (the server connection's close and the log line, the
// server's and the backend's counts, the filters' and the transaction's
// end) is queued as it returns, and runs in the same order when the
// forward ends, before the stream ends (Stream.finish).
type handoff struct {
	server net.Conn
	opts   netio.ForwardOptions
	after  []func()
}

// later queues fn to run when the tunnel ends.
func (h *handoff) later(fn func()) { h.after = append(h.after, fn) }

// handOff switches an upgraded connection to raw forwarding with sc, to
// start once the stream's goroutine returned (startHandoff): the call
// chain up to there queues what it undoes (handoff.later) instead of
// undoing it. srvBuf is what the server sent after its response head.
func (hc *HTTPConn) handOff(sc *srvConn, srvBuf []byte) {
	s := hc.s
	_ = hc.bw.Flush()
	hc.dl.set(0)
	_ = sc.SetDeadline(time.Time{})
	s.shareClient()
	// the forward reads and writes as the HTTP layer did
	opts := s.forwardOptions(s.Backend, hc.pc, sc.io)
	opts.ClientPrefix, opts.ServerPrefix = takeBuffered(hc.br), srvBuf
	s.handoff = &handoff{server: sc.Conn, opts: opts}
	// the forwarding lends its buffers while data is in them: a quiet
	// WebSocket holds none
	hc.br.Release()
	hc.bw.Release()
	hc.buf = nil
}

// startHandoff starts the stream's tunnel (see handOff), the last thing
// its goroutine does; the stream ends with the tunnel.
func (s *Stream) startHandoff() {
	h := s.handoff
	s.fx.task.wait() // the rest is the kernel's and netio's
	s.forwardAsync(h.server, h.opts, func(netio.ForwardStats) {
		s.TaskRun()
		for _, fn := range h.after {
			fn()
		}
	})
}
