package core

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"time"

	"luaproxy/core/config"
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
	srv    *Server
	br     *h1.Reader
	bw     *bufio.Writer
	reused bool
	idle   time.Time
	// uses counts the responses the connection delivered.
	uses int
	// private connections are never shared with another session.
	private bool
}

// pool is a server's idle shared connections, most recent last: idle
// ones delivered a single response, safe ones more (HAProxy's idle and
// safe lists).
type pool struct {
	mu         sync.Mutex
	idle, safe []*srvConn
}

// poolIdleMax bounds the idle connections kept per server.
const poolIdleMax = 64

// poolPurgeDelay is how long an idle connection is kept (HAProxy's
// pool-purge-delay default).
const poolPurgeDelay = 5 * time.Second

// maxSessionSrvConns bounds the private idle connections a session keeps
// (HAProxy's max-session-srv-conns default).
const maxSessionSrvConns = 10

// get returns the most recent live connection of the first non-empty
// list among safeFirst's order: safe then idle when safeFirst is set
// (and idle is allowed), idle then safe otherwise (when safe is allowed).
func (p *pool) get(useIdle, useSafe, safeFirst bool) *srvConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	lists := [2]*[]*srvConn{&p.idle, &p.safe}
	use := [2]bool{useIdle, useSafe}
	if safeFirst {
		lists[0], lists[1] = lists[1], lists[0]
		use[0], use[1] = use[1], use[0]
	}
	now := time.Now()
	for i, l := range lists {
		if !use[i] {
			continue
		}
		for len(*l) > 0 {
			c := (*l)[len(*l)-1]
			*l = (*l)[:len(*l)-1]
			if now.Sub(c.idle) < poolPurgeDelay {
				c.reused = true
				return c
			}
			_ = c.Close()
		}
	}
	return nil
}

func (p *pool) put(c *srvConn) {
	c.idle = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle)+len(p.safe) >= poolIdleMax {
		_ = c.Close()
		return
	}
	if c.uses > 1 {
		p.safe = append(p.safe, c)
	} else {
		p.idle = append(p.idle, c)
	}
}

// closeAll closes the idle connections (the server is deleted).
func (p *pool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range append(p.idle, p.safe...) {
		_ = c.Close()
	}
	p.idle, p.safe = nil, nil
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
	return &srvConn{Conn: c, srv: srv, br: h1.NewReader(c, e.BufSize), bw: bufio.NewWriterSize(c, e.BufSize),
		private: mode == ReuseNever}, nil
}

// keepIdle keeps sc, which delivered a complete response and may carry
// another request, for a later request: the session's own when private,
// the server's pool otherwise.
func (s *Stream) keepIdle(sc *srvConn) {
	_ = sc.SetDeadline(time.Time{})
	sc.uses++
	if !sc.private {
		sc.srv.pool.put(sc)
		return
	}
	if len(s.privConns) >= maxSessionSrvConns {
		_ = sc.Close()
		return
	}
	sc.idle = time.Now()
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
