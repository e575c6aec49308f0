package core

import (
	"net"
	"strconv"
	"sync"
	"time"
)

// connLimit is a maxconn: a count of connections served at once and its
// limit (0: none). An accept loop waits for room before accepting, so
// that connections above the limit stay in the kernel's listen queue, as
// HAProxy stops polling a full listener.
type connLimit struct {
	mu      sync.Mutex
	n, max  int
	changed chan struct{} // closed and replaced when n decreases
}

// waitRoom waits until the limit has room, or done is closed (false).
func (l *connLimit) waitRoom(done <-chan struct{}) bool {
	if l == nil {
		return true
	}
	for {
		l.mu.Lock()
		if l.max <= 0 || l.n < l.max {
			l.mu.Unlock()
			return true
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-done:
			return false
		}
	}
}

// take counts a connection, waiting for room first (a connection
// accepted while another listener filled the limit waits, as it would
// have in the listen queue); false when done is closed first.
func (l *connLimit) take(done <-chan struct{}) bool {
	if l == nil {
		return true
	}
	for {
		if !l.waitRoom(done) {
			return false
		}
		l.mu.Lock()
		if l.max <= 0 || l.n < l.max {
			l.n++
			l.mu.Unlock()
			return true
		}
		l.mu.Unlock()
	}
}

func (l *connLimit) release() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.n--
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	l.mu.Unlock()
}

// limits returns the maxconn limits a connection on b counts against,
// narrowest first: the bind's, the frontend's, the process's.
func (e *Engine) limits(px *Proxy, b *Bind) [3]*connLimit {
	return [3]*connLimit{&b.limit, &px.limit, &e.limit}
}

// waitAcceptRoom waits until every limit of b has room (false: the
// engine stops).
func (e *Engine) waitAcceptRoom(px *Proxy, b *Bind) bool {
	for _, l := range e.limits(px, b) {
		if !l.waitRoom(e.done) {
			return false
		}
	}
	return true
}

// serveLimited serves c once it is counted in every limit of b; its
// stream releases them when it ends (Stream.finish). It returns what
// serve returns: what starts the stream's next part, if it goes on.
func (e *Engine) serveLimited(px *Proxy, b *Bind, c net.Conn) (next func()) {
	ls := e.limits(px, b)
	for _, l := range ls {
		l.take(nil) // streams end, even when stopping: room comes
	}
	setSockOpts(c, px.Options.CliTCPKA, px.Options.NoLinger)
	var accepted time.Time
	if b != nil && b.tls != nil && b.tls.cfg != nil {
		if c, accepted = e.handshake(px, b, c); c == nil {
			for _, l := range ls {
				l.release()
			}
			return nil
		}
	}
	return e.serve(px, b, c, accepted, true)
}

// setSockOpts applies "option tcpka" (SO_KEEPALIVE, with the system's
// timings, as HAProxy leaves them) and "option nolinger" (SO_LINGER 0: a
// close resets) to one side's socket.
func setSockOpts(c net.Conn, keepAlive, noLinger bool) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	if keepAlive {
		_ = tc.SetKeepAlive(true)
	}
	if noLinger {
		_ = tc.SetLinger(0)
	}
}

// setLimits applies the maxconn settings once the configuration is
// loaded: a frontend's default is the global maxconn, a bind's its
// frontend's.
func (e *Engine) setLimits() {
	e.limit.max = e.MaxConn
	for _, px := range e.Proxies {
		if px.Cap&CapFE == 0 {
			continue
		}
		px.limit.max = px.MaxConn
		if px.limit.max == 0 {
			px.limit.max = e.MaxConn
		}
		for _, b := range px.Binds {
			if b.limit.max == 0 {
				b.limit.max = px.limit.max
			}
		}
	}
}

// parseMaxConn parses the value of a global or proxy "maxconn" as
// HAProxy does, with atol: leading digits, anything else is 0.
func parseMaxConn(v string) int {
	return max(atol(v), 0) // HAProxy compat: negative is no limit
}

// atol is C's atol: the leading integer of v, 0 when there is none.
func atol(v string) int {
	i := 0
	if i < len(v) && (v[i] == '-' || v[i] == '+') {
		i++
	}
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	n, _ := strconv.Atoi(v[:i])
	return n
}
