package core

import (
	"net"
	"strings"
	"sync"
	"time"

	"luaproxy/core/config"
	"luaproxy/netio"
	"luaproxy/netio/h1"
)

// ReuseMode is a backend's "http-reuse" strategy: which idle server
// connections a request may be sent over.
type ReuseMode int

// The http-reuse strategies, weakest first.
const (
	// ReuseNever keeps a server connection private to the client session
	// that opened it; it is closed with that session.
	ReuseNever ReuseMode = iota
	// ReuseSafe (the default) sends the first request of a session over
	// its own connection; later requests may use any idle one.
	ReuseSafe
	// ReuseAggressive lets first requests use idle connections that have
	// already been reused once (proving the server keeps them alive).
	ReuseAggressive
	// ReuseAlways lets first requests use any idle connection.
	ReuseAlways
)

var reuseNames = [...]string{"never", "safe", "aggressive", "always"}

func (m ReuseMode) String() string { return reuseNames[m] }

// parseHTTPReuse parses "http-reuse { never | safe | aggressive | always }".
func (e *Engine) parseHTTPReuse(px *Proxy, l config.Line) error {
	if len(l.Args) != 2 {
		return l.Errorf("'%s' only supports 'never', 'safe', 'aggressive', 'always'.", l.Args[0])
	}
	for i, n := range reuseNames {
		if l.Args[1] == n {
			if px.Kind != "defaults" && px.Cap&CapBE == 0 {
				e.warn(l.Warnf("'%s' ignored because %s '%s' has no backend capability.", l.Args[0], px.Kind, px.Name))
				return nil
			}
			px.Reuse = ReuseMode(i)
			return nil
		}
	}
	return l.Errorf("'%s' only supports 'never', 'safe', 'aggressive', 'always'.", l.Args[0])
}

// srvConn is a connection to a server, kept between requests either in
// the server's idle pool (shared) or by the client session that owns it
// (private: http-reuse never, or a connection-based authentication).
type srvConn struct {
	net.Conn
	srv *Server
	// io is the connection br and bw read and write (netio.PollConn)
	io     net.Conn
	br     *h1.Reader
	bw     *netio.Writer
	reused bool
	idle   time.Time
	// uses counts the responses the connection delivered.
	uses int
	// private connections are never shared with another session.
	private bool
	// dl sets the deadlines: all of them go through it.
	dl deadlines
	// inUse says the connection counts in its pool's used connections
	// (shared, and neither idle nor closed). Guarded by the pool's mu.
	inUse bool
}

// Close closes the connection, which stops counting as used; its buffers
// go back to the pool. Only its user closes it, or the pool when it is
// idle.
func (c *srvConn) Close() error {
	c.srv.pool.release(c)
	err := c.Conn.Close()
	c.br.Release()
	c.bw.Release()
	return err
}

// pool is a server's idle shared connections, oldest first: idle ones
// delivered a single response, safe ones more (HAProxy's idle and safe
// lists). It keeps HAProxy's accounting of the connections in use, from
// which it estimates how many idle ones are worth keeping.
type pool struct {
	mu         sync.Mutex
	idle, safe []*srvConn
	// max is "pool-max-conn" (-1: unlimited, 0: none kept); purgeDelay
	// "pool-purge-delay" (0: none kept), set before the server serves.
	max        int
	purgeDelay time.Duration
	// used counts the shared connections in use; maxUsed is its peak
	// since the last purge; estNeed estimates the connections needed
	// (HAProxy's curr_used_conns, max_used_conns, est_need_conns).
	used, maxUsed, estNeed int
	purge                  *time.Timer // armed while connections idle
	closed                 bool        // the server is deleted
}

// defaultPoolPurgeDelay is "pool-purge-delay"'s default.
const defaultPoolPurgeDelay = 5 * time.Second

// defaultMaxSessionSrvConns is "max-session-srv-conns"'s default: the
// private idle connections a session keeps (HAProxy's MAX_SRV_LIST).
const defaultMaxSessionSrvConns = 5

// use counts c as used (srv_use_conn). p.mu must be held.
func (p *pool) useLocked(c *srvConn) {
	c.inUse = true
	p.used++
	p.maxUsed = max(p.maxUsed, p.used)
	p.estNeed = max(p.estNeed, p.used)
}

// unuseLocked stops counting c as used. p.mu must be held.
func (p *pool) unuseLocked(c *srvConn) {
	if c.inUse {
		c.inUse = false
		p.used--
	}
}

// dialed counts a new shared connection as used.
func (p *pool) dialed(c *srvConn) {
	p.mu.Lock()
	p.useLocked(c)
	p.mu.Unlock()
}

// release stops counting c as used (it is closed or becomes private).
func (p *pool) release(c *srvConn) {
	p.mu.Lock()
	p.unuseLocked(c)
	p.mu.Unlock()
}

// get returns the most recent connection of the first non-empty list
// among safeFirst's order: safe then idle when safeFirst is set (and idle
// is allowed), idle then safe otherwise (when safe is allowed).
func (p *pool) get(useIdle, useSafe, safeFirst bool) *srvConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	lists := [2]*[]*srvConn{&p.idle, &p.safe}
	use := [2]bool{useIdle, useSafe}
	if safeFirst {
		lists[0], lists[1] = lists[1], lists[0]
		use[0], use[1] = use[1], use[0]
	}
	for i, l := range lists {
		if use[i] && len(*l) > 0 {
			c := (*l)[len(*l)-1]
			*l = (*l)[:len(*l)-1]
			c.reused = true
			p.useLocked(c)
			return c
		}
	}
	return nil
}

// put keeps c idle when HAProxy would (srv_add_to_idle_list): idle
// connections are allowed (pool-purge-delay, pool-max-conn), and either
// the lists have room for its kind or the idle and used connections do
// not exceed the estimated need. Otherwise c is closed.
func (p *pool) put(c *srvConn) {
	c.idle = clockNow()
	safe := c.uses > 1
	p.mu.Lock()
	n := len(p.idle) + len(p.safe)
	keep := !p.closed && p.purgeDelay > 0 && (p.max < 0 || n < p.max) &&
		(len(p.safe) == 0 && (safe || len(p.idle) == 0) || p.used+n <= max(p.used, p.estNeed))
	if !keep {
		p.mu.Unlock()
		_ = c.Close()
		return
	}
	p.unuseLocked(c)
	if safe {
		p.safe = append(p.safe, c)
	} else {
		p.idle = append(p.idle, c)
	}
	if p.purge == nil {
		p.purge = time.AfterFunc(p.purgeDelay, p.purgeIdle)
	}
	p.mu.Unlock()
}

// purgeIdle runs every pool-purge-delay while connections idle
// (srv_cleanup_idle_conns): it closes half of those beyond what the last
// period used (at least the estimated need), oldest first, idle before
// safe, and lowers the estimate towards the last period's peak.
func (p *pool) purgeIdle() {
	p.mu.Lock()
	exceed := p.used + len(p.idle) + len(p.safe) - max(p.maxUsed, p.estNeed)
	p.estNeed = max((p.estNeed+p.maxUsed)/2, p.maxUsed)
	p.maxUsed = p.used
	var kill []*srvConn
	if exceed > 0 {
		n := exceed/2 + exceed&1
		for _, l := range []*[]*srvConn{&p.idle, &p.safe} {
			k := min(n-len(kill), len(*l))
			kill = append(kill, (*l)[:k]...)
			*l = append((*l)[:0], (*l)[k:]...)
		}
	}
	p.purge = nil
	if len(p.idle)+len(p.safe) > 0 && !p.closed {
		p.purge = time.AfterFunc(p.purgeDelay, p.purgeIdle)
	}
	p.mu.Unlock()
	for _, c := range kill {
		_ = c.Close()
	}
}

// closeAll closes the idle connections (the server is deleted).
func (p *pool) closeAll() {
	p.mu.Lock()
	conns := append(p.idle, p.safe...)
	p.idle, p.safe, p.closed = nil, nil, true
	if p.purge != nil {
		p.purge.Stop()
		p.purge = nil
	}
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// dialPooled returns a connection to srv for the current request: one
// the session owns, an idle one the backend's http-reuse strategy allows,
// or a new one (see HAProxy's connect_server).
func (e *Engine) dialPooled(s *Stream, srv *Server) (net.Conn, error) {
	if c := s.takePrivate(srv); c != nil {
		c.reused = true
		s.fx.reused = true
		return c, nil
	}
	mode := srv.Proxy.Reuse
	if srv.SendProxy != 0 {
		mode = ReuseNever // the PROXY header is the session's own
	}
	if mode != ReuseNever {
		first := s.HTTP == nil || s.HTTP.First
		// A backend retrying every failure a reused connection can cause
		// lets first requests reuse as later ones.
		const all = RetryConnFailure | RetryEmptyResponse | RetryResponseTimeout
		retrySafe := srv.Proxy.RetryOn&all == all
		var c *srvConn
		switch {
		case !first || retrySafe:
			c = srv.pool.get(true, true, false)
		case mode == ReuseAggressive:
			c = srv.pool.get(false, true, true)
		case mode == ReuseAlways:
			c = srv.pool.get(true, true, true)
		}
		if c != nil {
			s.fx.reused = true
			return c, nil
		}
	}
	s.fx.reused = false
	c, err := s.dial(srv, srv.Proxy.Timeouts.Connect)
	if err != nil {
		return nil, err
	}
	pc := netio.PollConn(c, netio.WaitReply)
	// buffers from the pool, given back when the connection closes: a
	// client opening a connection per request does not allocate them
	// each time ("http-reuse safe" gives its first request a new server
	// connection)
	bufs := e.bufPool(s.Thread)
	sc := &srvConn{Conn: c, srv: srv, io: pc, br: h1.NewReaderFrom(pc, bufs), bw: netio.NewWriterFrom(pc, bufs),
		dl: deadlines{conn: c}, private: mode == ReuseNever}
	if !sc.private {
		srv.pool.dialed(sc)
	}
	return sc, nil
}

// keepIdle keeps sc, which delivered a complete response and may carry
// another request, for a later request: the session's own when private,
// the server's pool otherwise.
func (s *Stream) keepIdle(sc *srvConn) {
	// Its deadlines stay armed: the next exchange sets them before it
	// uses the connection, most often to about the same time.
	sc.uses++
	if !sc.private {
		sc.srv.pool.put(sc)
		return
	}
	sc.srv.pool.release(sc) // made private by an authentication
	if s.Frontend == nil || len(s.privConns) >= s.Frontend.MaxSessionSrvConns {
		_ = sc.Close()
		return
	}
	sc.idle = clockNow()
	s.privConns = append(s.privConns, sc)
}

// takePrivate returns an idle connection of the session to srv, or nil.
func (s *Stream) takePrivate(srv *Server) *srvConn {
	for i := len(s.privConns) - 1; i >= 0; i-- {
		if c := s.privConns[i]; c.srv == srv {
			s.privConns = append(s.privConns[:i], s.privConns[i+1:]...)
			return c
		}
	}
	return nil
}

// lastPrivateServer is the server of the session's most recent private
// connection, for a session that prefers it (connection-based auth) or a
// backend with "option prefer-last-server". As in HAProxy, only private
// connections stay with the session (shared ones return to the server's
// pool), and hash-based algorithms, which already send a client to the
// same server, never defer to it.
func (s *Stream) lastPrivateServer(be *Proxy) *Server {
	if !s.preferLast && !be.Options.PreferLastServer || len(s.privConns) == 0 || be.Balance.hashed() {
		return nil
	}
	return s.privConns[len(s.privConns)-1].srv
}

// closePrivate closes the session's private connections (the client
// connection ended).
func (s *Stream) closePrivate() {
	for _, c := range s.privConns {
		_ = c.Close()
	}
	s.privConns = nil
}

// markConnAuth makes sc private when the response asks for an
// authentication bound to the connection (NTLM, Negotiate): 401 with
// WWW-Authenticate or 407 with Proxy-Authenticate starting with "NTLM" or
// "Nego". The session then prefers that server for its next requests.
func (s *Stream) markConnAuth(sc *srvConn, res *h1.Message) {
	var name string
	switch res.Status {
	case 401:
		name = "www-authenticate"
	case 407:
		name = "proxy-authenticate"
	default:
		return
	}
	for _, h := range res.Headers {
		if !strings.EqualFold(h.Name, name) {
			continue
		}
		v := h.Value
		if len(v) >= 4 && (strings.EqualFold(v[:4], "nego") || strings.EqualFold(v[:4], "ntlm")) {
			sc.private = true
			s.preferLast = true
			return
		}
	}
}
