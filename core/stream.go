package core

import (
	"crypto/tls"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"luaproxy/core/sample"
	"luaproxy/netio"
)

// ExtSlots is the number of per-stream slots for modules.
const ExtSlots = 4

var extSlots atomic.Int32

// NewExtSlot reserves a per-stream slot for a module (e.g. the Lua state of
// the stream); call it at init.
func NewExtSlot() int {
	n := int(extSlots.Add(1)) - 1
	if n >= ExtSlots {
		panic("core: too many stream slots")
	}
	return n
}

// Stream is one client connection and what it is forwarded to.
type Stream struct {
	ID         uint64
	Engine     *Engine
	Frontend   *Proxy
	Backend    *Proxy
	Server     *Server
	Thread     int // the thread the stream is bound to (lua-load-per-thread)
	Client     net.Conn
	ServerConn net.Conn
	Req, Res   *Channel
	// HTTP is the current HTTP transaction (nil in TCP mode).
	HTTP  *HTTPTxn
	Start time.Time
	// hsTime is the TLS handshake's duration (%Th), Start being the
	// accept before it.
	hsTime time.Duration
	// bcTLS is the server connection's TLS layer, if any (ssl_bc_*).
	bcTLS *tls.Conn
	// resStart is when tcp-response content rules started waiting for
	// response data (zero: they do not wait).
	resStart time.Time
	// BindID is the listener's id (so_id).
	BindID int
	smp    sample.Ctx
	// fmtBuf is the scratch buffer log-formats render into (smpFormat).
	fmtBuf []byte
	// Ext holds per-module data (see NewExtSlot).
	Ext [ExtSlots]any

	service Service
	// filters is the filter instances of a TCP stream (HTTP: per
	// transaction, HTTPTxn.filters).
	filters *filterChain
	// pump brings the client's data to the stream's goroutine while the
	// tcp-response rules of a filtered stream wait (pumpFiltered).
	pump    *reqPump
	svcIO   *ServiceIO // a TCP service's I/O (service_tcp.go)
	atClose []func()
	// privConns are the idle server connections the session owns
	// (http-reuse never, connection-based auth); preferLast sends its
	// next requests to their server (reuse.go).
	privConns  []*srvConn
	preferLast bool
	fx         fetchState // read by the fetches (fetches_state.go)
	// ioConns are the connections the channels read and write, wrapped
	// by netio.PollConn, with their deadlines (see connIO).
	ioConns [2]ioConn
	// clientShared: the client is not read by the request channel alone
	// (shareClient).
	clientShared bool
	// bind is the listener the stream came from; limited says that its
	// connection limits are held until the stream ends (serveLimited).
	bind    *Bind
	limited bool
	// parked: the stream goes on on other goroutines, where finish runs:
	// waiting for a next request (park.go), forwarded in TCP mode
	// (serveTCP), or tunneled after an HTTP upgrade (handoff). serve does
	// not end it.
	parked bool
	// handoff is the HTTP tunnel the stream's goroutine hands off as it
	// returns (tunnel.go); nil otherwise.
	handoff *handoff
}

// ioConn is a connection as the channels use it (Stream.connIO).
type ioConn struct {
	raw, io net.Conn
	dl      deadlines
}

// connIO returns c (the client or the server connection) wrapped for the
// channels' reads and writes: raw recvfrom/sendto, without the runtime's
// syscall bookkeeping (netio.PollConn). The wrapper is made once per
// connection; reads come first (no reply wait: a close must be seen).
func (s *Stream) connIO(c net.Conn) net.Conn {
	if c == nil {
		return nil
	}
	return s.ioSlot(c).io
}

// ioSlot returns c's entry in ioConns, made on first use.
func (s *Stream) ioSlot(c net.Conn) *ioConn {
	slot, wait := &s.ioConns[0], netio.WaitKnownEmpty
	if c != s.Client {
		slot, wait = &s.ioConns[1], netio.WaitOnEmpty
	}
	if slot.raw != c {
		if s.clientShared && wait == netio.WaitKnownEmpty {
			wait = netio.WaitOnEmpty
		}
		*slot = ioConn{raw: c, io: netio.PollConn(c, wait), dl: deadlines{conn: c}}
	}
	return slot
}

// ioWrapper returns the wrapper ioSlot made of c, or nil.
func (s *Stream) ioWrapper(c net.Conn) net.Conn {
	for i := range s.ioConns {
		if slot := &s.ioConns[i]; c != nil && slot.raw == c {
			return slot.io
		}
	}
	return nil
}

// shareClient is called where something other than the request channel
// starts reading the client connection (the HTTP layer, the forwarding,
// the filters' pumps): the channel's reads then stop trusting that their
// last read left the socket empty (netio.WaitKnownEmpty).
func (s *Stream) shareClient() {
	s.clientShared = true
	if slot := &s.ioConns[0]; slot.raw != nil {
		netio.SetWait(slot.io, netio.WaitOnEmpty)
	}
}

// forgetDeadlines is called where a connection's deadlines are set
// directly (the forwarding pumps): the channels' lazy deadlines then arm
// theirs again at their next use.
func (s *Stream) forgetDeadlines() {
	for i := range s.ioConns {
		s.ioConns[i].dl.rd, s.ioConns[i].dl.wd = 0, 0
	}
}

// connDeadlines returns the lazy deadlines of c, when the channels are
// the only ones to set them: in a TCP frontend. An HTTP frontend's
// connections also have their deadlines set by the HTTP layer, through
// its own deadlines (HTTPConn.dl, srvConn.dl), which must know what is
// armed: nil there.
func (s *Stream) connDeadlines(c net.Conn) *deadlines {
	if s.Frontend.Mode == "http" || c == nil {
		return nil
	}
	return &s.ioSlot(c).dl
}

// AtClose registers fn to run when the stream ends (modules release what
// they keep per stream).
func (s *Stream) AtClose(fn func()) { s.atClose = append(s.atClose, fn) }

var streamIDs atomic.Uint64

func (e *Engine) newStream(fe *Proxy, c net.Conn) *Stream {
	s := &Stream{
		ID:       streamIDs.Add(1) - 1,
		Engine:   e,
		Frontend: fe,
		Client:   c,
		Start:    tick(),
		Thread:   int(e.nextThread.Add(1)-1) % e.Threads,
	}
	s.fx.task.now, s.fx.task.profile = s.Start, e.profileTasks
	s.fx.task.run()
	s.Req = &Channel{s: s, max: e.BufSize}
	s.Res = &Channel{s: s, isRes: true, max: e.BufSize}
	return s
}

// InspectDeadline returns when content inspection must give up waiting for
// data: the inspect-delay, else the client timeout, else never.
func (s *Stream) InspectDeadline() time.Time {
	if d := s.Frontend.InspectDelay; d > 0 {
		return s.Start.Add(d)
	}
	if d := s.Frontend.Timeouts.Client; d > 0 {
		return deadline(d)
	}
	return time.Time{}
}

// serve runs a stream to its end, or until it goes on elsewhere: parked
// between two HTTP requests, or forwarded in TCP mode. It then returns
// the function that starts what goes on, to call once serve returned;
// the stream ends there, which also counts it off e.wg (see accept).
// limited says that the connection holds its limits (serveLimited),
// released when the stream ends. accepted is when a TLS connection was
// accepted, before its handshake (zero for a plain one).
func (e *Engine) serve(fe *Proxy, b *Bind, c net.Conn, accepted time.Time, limited bool) (next func()) {
	s := e.newStream(fe, c)
	s.bind, s.limited = b, limited
	clockHold(s.Thread)
	if !accepted.IsZero() {
		s.hsTime = s.Start.Sub(accepted)
		s.Start = accepted
	}
	fe.Conns.Add(1)
	fe.Total.Add(1)
	s.streamStarted(b)
	defer func() {
		if !s.parked {
			s.finish()
		}
	}()
	if !s.runConnRules() {
		return
	}
	// the PROXY header comes after the connection rules, which see the
	// real addresses, as in HAProxy
	if b != nil && b.AcceptProxy && !s.acceptProxy() {
		return
	}
	s.sessionStarted()
	if fe.Mode != "http" {
		defer s.endTCPFilters()
		if !s.tcpFilters(fe) {
			return
		}
	}
	if !s.runRules(TCPRequestContent) {
		return
	}
	if s.service != nil {
		if fe.Mode != "http" {
			if len(s.Req.out) > 0 {
				// what the rules sent or forwarded (txn.req:send,
				// :forward) goes to the service first, as to a server
				s.Req.in = append(s.Req.out, s.Req.in...)
				s.Req.out = nil
			}
			if len(s.Req.in) > 0 {
				// HAProxy compat: what the content rules buffered is
				// filtered before the response analysis starts
				s.ServiceIO().start()
			}
			if !s.startServiceFilters() {
				return
			}
		}
		s.service.Serve(s)
		return
	}
	if fe.Mode == "http" {
		if hc := e.serveHTTP(s); hc != nil {
			return func() { e.parkWait(hc) }
		}
		if s.handoff != nil {
			s.parked = true
			return s.startHandoff
		}
		return nil
	}
	be := fe
	if fe.Cap&CapBE == 0 {
		be = fe.defaultBE
	}
	if be == nil {
		return
	}
	s.Backend = be
	if be != fe && !s.tcpFilters(be) {
		return
	}
	return s.serveTCP(be)
}

// serveTCP connects the stream to a server of be and forwards between
// them. Forwarded (nothing filters the stream), the connection goes on
// on the forward's goroutines, where the stream ends: serveTCP returns
// the function that starts them (see serve).
func (s *Stream) serveTCP(be *Proxy) (next func()) {
	c, fe := s.Client, s.Frontend
	countBackend(be)
	be.BeConns.Add(1)
	sc, err := s.connect(be, &lbInput{src: addrOf(c.RemoteAddr()), strm: s, stick: s.directServer(be), onQueue: s.tcpQueueWatch})
	if err == errClientAbort {
		// what came is counted as received (%U)
		x := extOf(s)
		x.fwd.ToServer = int64(len(s.Req.out) + len(s.Req.in))
	}
	if err != nil {
		be.BeConns.Add(-1)
		return nil // HAProxy compat: TCP mode with no server closes the connection
	}
	s.ServerConn = sc
	s.stickStore(be)
	defer func() {
		if next == nil {
			s.Server.release()
			be.BeConns.Add(-1)
		}
	}()
	s.logTCPASAP()
	x := extOf(s)
	if fc := s.filters; fc != nil {
		fc.resStarted = true
		if fc.call(WakeOnResponse, func(fi FilterInstance) FilterResult { return fi.StartAnalyze(true) }).failed() {
			return
		}
	}
	ok, pumped := s.runTCPResponseRules(be)
	if !ok {
		return
	}
	if fc := s.filters; fc != nil {
		cto, sto := fe.Timeouts.Client, be.Timeouts.Server
		if t := be.Timeouts.Tunnel; t > 0 {
			cto, sto = t, t
		}
		x.fwd.ToServer, x.fwd.ToClient, _ = s.forwardFiltered(fc, s.Req.out, cto, sto)
		x.fwd.ToServer += pumped
		x.fwdDone = true
		s.countBytes(x.fwd.ToServer, x.fwd.ToClient)
		return
	}
	prefix := append(s.Req.out, s.Req.in...)
	if len(s.Res.in) > 0 {
		if _, err := s.Res.Send(s.Res.in); err != nil {
			return
		}
	}
	s.fx.task.wait() // the rest is the kernel's and netio's
	s.shareClient()
	// what the channels read and wrote through, if anything
	opts := s.forwardOptions(be, s.ioWrapper(c), s.ioWrapper(sc))
	opts.ClientPrefix = prefix
	s.parked = true
	return func() {
		s.forwardAsync(sc, opts, func(st netio.ForwardStats) {
			x.fwd = st
			x.fwd.ToServer += pumped
			x.fwdDone = true
			s.countBytes(x.fwd.ToServer, x.fwd.ToClient)
			s.Server.release()
			be.BeConns.Add(-1)
		})
	}
}

// forwardOptions are the options of a forward between the stream's client
// and a server of be, through the wrappers clientIO and serverIO the
// stream already has of them (nil: none).
func (s *Stream) forwardOptions(be *Proxy, clientIO, serverIO net.Conn) netio.ForwardOptions {
	return netio.ForwardOptions{
		ClientTimeout: s.Frontend.Timeouts.Client,
		ServerTimeout: be.Timeouts.Server,
		TunnelTimeout: be.Timeouts.Tunnel,
		ClientIO:      clientIO,
		ServerIO:      serverIO,
		NoSplice:      !s.spliced(),
		BufSize:       s.Engine.BufSize,
		Pool:          s.Engine.bufPool(s.Thread),
	}
}

// forwardAsync forwards between the stream's client and server on
// netio.ForwardAsync's goroutines, the last thing the stream's goroutine
// does: when the forward ends, end runs, then the stream ends and is
// counted off e.wg (see serveConn).
func (s *Stream) forwardAsync(server net.Conn, opts netio.ForwardOptions, end func(netio.ForwardStats)) {
	clockRelease(s.Thread) // Forward keeps its own time
	netio.ForwardAsync(s.Client, server, opts, func(st netio.ForwardStats, _ error) {
		clockHold(s.Thread)
		tick()
		end(st)
		s.finish()
		s.Engine.wg.Done()
	})
}

// finish ends the stream: it undoes, last first, what serveLimited,
// serve and serveHTTP set up. It runs where the stream ends: at the end
// of serve, or in the goroutine that took a parked stream over.
func (s *Stream) finish() {
	e, fe := s.Engine, s.Frontend
	if hc := s.httpConn(); hc != nil {
		hc.end()
	}
	s.logTCP()
	for _, fn := range s.atClose {
		fn()
	}
	fe.Conns.Add(-1)
	_ = s.Client.Close()
	s.closePrivate()
	if s.ServerConn != nil {
		_ = s.ServerConn.Close()
	}
	clockRelease(s.Thread)
	if s.limited {
		for _, l := range e.limits(fe, s.bind) {
			l.release()
		}
	}
}

// spliced tells whether forwarded data goes through splice(2): "option
// splice-*" on the frontend or the backend, as in HAProxy.
func (s *Stream) spliced() bool {
	return s.Frontend.Options.Splice || s.Backend != nil && s.Backend.Options.Splice
}

// connect picks a server of be and connects to it (see connectWith).
func (s *Stream) connect(be *Proxy, in *lbInput) (net.Conn, error) {
	return s.connectWith(be, in, func(s *Stream, srv *Server) (net.Conn, error) {
		return s.dial(srv, be.Timeouts.Connect)
	}, nil)
}

// connectWith picks a server of be and gets a connection to it with dial,
// retrying "retries" times and redispatching to another server as
// "option redispatch" says. On success s.Server holds a slot of the
// server (release it when done).
func (s *Stream) connectWith(be *Proxy, in *lbInput, dial func(*Stream, *Server) (net.Conn, error), exclude *Server) (net.Conn, error) {
	var srv *Server
	for attempt := 0; ; attempt++ {
		if srv == nil {
			var err error
			if attempt == 0 && in.stick != nil {
				// a stick match, a persistence cookie, a use-server
				// rule: that server, no load balancing; when it is
				// full, the stream waits in its queue
				srv, err = be.acquireAssigned(in.stick, in, &s.fx.queue)
				if err == errQueueFull && be.Options.Redispatch != 0 {
					// HAProxy compat (SRV_STATUS_FULL in DIRECT mode
					// with option redispatch): load balancing instead
					srv, err = be.acquireServer(in, exclude, &s.fx.queue)
				}
			} else {
				srv, err = be.acquireServer(in, exclude, &s.fx.queue)
			}
			switch err {
			case errQueueTimeout:
				// HAProxy ends the queue wait (%Tw) on its timeout.
				x := extOf(s)
				x.queueAt = s.now()
				x.setTerm('s', 'Q')
			case errQueueFull:
				// HAProxy compat (STRM_ET_QUEUE_ERR): "SQ", a 503
				x := extOf(s)
				x.queueAt = s.now()
				x.setTerm('S', 'Q')
			case errClientAbort:
				// or when the client left ("option abortonclose")
				x := extOf(s)
				x.queueAt = s.now()
				x.setTerm('C', 'Q')
			}
			if err != nil {
				// the server it had to use, with no slot (%s)
				extOf(s).target = srv
				return nil, err
			}
			extOf(s).queueAt = s.now()
		}
		conn, err := dial(s, srv)
		if err == nil {
			s.bcTLS = serverTLSConn(conn)
			s.Server = srv
			countServer(srv)
			extOf(s).connAt = s.now()
			return conn, nil
		}
		srv.Failed.Add(1)
		if attempt >= be.Retries {
			srv.release()
			return nil, err
		}
		s.fx.connRetries++
		if shouldRedispatch(be.Options.Redispatch, attempt+1, be.Retries) {
			s.fx.redispatched = true
			srv.release()
			exclude, srv = srv, nil
			continue
		}
		// A turn-around timer of min(timeout connect, 1s) before retrying
		// the same server, so that a restarting server is not hammered.
		wait := time.Second
		if t := be.Timeouts.Connect; t > 0 && t < wait {
			wait = t
		}
		time.Sleep(wait)
	}
}

// dial opens a new connection to srv; the stream waits meanwhile.
func (s *Stream) dial(srv *Server, timeout time.Duration) (c net.Conn, err error) {
	// no keep-alive probes unless "option srvtcpka" (Go's dialer turns
	// them on by default, HAProxy does not)
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	var start time.Time
	if timeout > 0 {
		start = time.Now()
	}
	s.taskBlock(func() { c, err = d.Dial(srv.Addr.Net, s.serverAddress(srv)) })
	if err == nil && s.Backend != nil {
		setSockOpts(c, s.Backend.Options.SrvTCPKA, s.Backend.Options.NoLinger)
	}
	if err == nil && srv.SendProxy != 0 {
		// the PROXY header goes first, in clear, as HAProxy sends it
		if err = s.sendProxyHeader(srv, c); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	if err == nil && srv.usesTLS() {
		// the handshake is part of the connection: the same timeout
		var dl time.Time
		if timeout > 0 {
			dl = start.Add(timeout)
		}
		return s.dialTLS(srv, c, dl)
	}
	return c, err
}

// shouldRedispatch applies "option redispatch <interval>" to retry number
// r (1-based) out of retries.
func shouldRedispatch(interval, r, retries int) bool {
	switch {
	case interval == 0:
		return false
	case interval > 0:
		return r%interval == 0
	default:
		return r == retries+1+interval
	}
}

// serverAddress is where to connect: the server's address, with the port
// the client connected to when the server has none.
func (s *Stream) serverAddress(srv *Server) string {
	a, portless := srv.dialAddr() // "set server ... addr" changes them
	if !portless {
		return a.Address
	}
	host, _, _ := net.SplitHostPort(a.Address)
	port := s.SampleCtx().Dst.Port()
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}

func addrOf(a net.Addr) netip.Addr { return addrPortOf(a).Addr() }
