package core

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// queued is the outcome of an acquire run in the background.
type queued struct {
	srv *Server
	pos queuePos
	err error
}

func acquireBG(acquire func(*queuePos) (*Server, error)) chan queued {
	ch := make(chan queued, 1)
	go func() {
		var q queued
		q.srv, q.err = acquire(&q.pos)
		ch <- q
	}()
	return ch
}

// TestServerQueueHash: a hash designates its server whatever its load. A
// stream finding it full waits in that server's queue, even with another
// server free, and gets the slots it frees in order; srv_queue counts
// them, %sq as HAProxy does (1 for the first in line, 2 for the next).
func TestServerQueueHash(t *testing.T) {
	e, _ := loadEngine(t, `
backend be
    balance source
    timeout queue 10s
    server s1 127.0.0.1:10001 maxconn 1
    server s2 127.0.0.1:10002 maxconn 1
`)
	px := e.Backend("be")
	in := &lbInput{src: netip.MustParseAddr("10.0.0.1")}
	first, err := px.acquireServer(in, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := px.FindServer("s1")
	if other == first {
		other = px.FindServer("s2")
	}
	var waits []chan queued
	for i := 1; i <= 2; i++ {
		waits = append(waits, acquireBG(func(p *queuePos) (*Server, error) { return px.acquireServer(in, nil, p) }))
		waitFor(t, "the server's queue to grow", func() bool { return first.srvQueueLen() == i })
	}
	if px.queueLen() != 0 || px.pendingLen() != 2 || other.Conns.Load() != 0 {
		t.Fatalf("backend queue %d, pending %d, other server conns %d", px.queueLen(), px.pendingLen(), other.Conns.Load())
	}
	for i, w := range waits {
		first.release()
		q := <-w
		if q.err != nil || q.srv != first || q.pos != (queuePos{srv: int64(i + 1)}) {
			t.Fatalf("waiter %d: %v %v %+v", i+1, q.srv, q.err, q.pos)
		}
	}
	if _, peak := px.queuePeaks(first); peak != 2 || px.pendingLen() != 0 {
		t.Fatalf("peak %d, pending %d", peak, px.pendingLen())
	}
}

// TestServerQueueMaxqueue: "maxqueue" bounds a server's queue: one more
// stream that must use it gets errQueueFull (a 503, "SQ").
func TestServerQueueMaxqueue(t *testing.T) {
	e, _ := loadEngine(t, `
backend be
    timeout queue 10s
    server s1 127.0.0.1:10001 maxconn 1 maxqueue 1
    server s2 127.0.0.1:10002
`)
	px := e.Backend("be")
	s1 := px.FindServer("s1")
	if _, err := px.acquireAssigned(s1, nil, nil); err != nil {
		t.Fatal(err)
	}
	w := acquireBG(func(p *queuePos) (*Server, error) { return px.acquireAssigned(s1, nil, p) })
	waitFor(t, "queued", func() bool { return s1.srvQueueLen() == 1 })
	if _, err := px.acquireAssigned(s1, nil, nil); err != errQueueFull {
		t.Fatalf("want errQueueFull, got %v", err)
	}
	s1.release()
	if q := <-w; q.err != nil || q.srv != s1 {
		t.Fatalf("%v %v", q.srv, q.err)
	}
}

// TestServerQueueOrder: a slot a server frees goes to the oldest of its
// own queue's first and the backend queue's first (process_srv_queue).
func TestServerQueueOrder(t *testing.T) {
	e, _ := loadEngine(t, `
backend be
    timeout queue 10s
    server s1 127.0.0.1:10001 maxconn 1
`)
	px := e.Backend("be")
	s1 := px.FindServer("s1")
	if _, err := px.acquireServer(nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	balanced := acquireBG(func(p *queuePos) (*Server, error) { return px.acquireServer(nil, nil, p) })
	waitFor(t, "the backend queue", func() bool { return px.queueLen() == 1 })
	assigned := acquireBG(func(p *queuePos) (*Server, error) { return px.acquireAssigned(s1, nil, p) })
	waitFor(t, "the server queue", func() bool { return s1.srvQueueLen() == 1 })
	s1.release()
	if q := <-balanced; q.err != nil || q.pos != (queuePos{be: 1}) {
		t.Fatalf("the older waiter, in the backend queue: %v %+v", q.err, q.pos)
	}
	select {
	case q := <-assigned:
		t.Fatalf("the younger waiter served first: %+v", q)
	default:
	}
	s1.release()
	if q := <-assigned; q.err != nil || q.pos != (queuePos{srv: 1}) {
		t.Fatalf("the server's waiter: %v %+v", q.err, q.pos)
	}
}

// heldOrigin is an HTTP origin that answers each request once released
// (one per value sent on release), counting the requests arrived.
func heldOrigin(t *testing.T) (addr string, release chan struct{}, arrived *atomic.Int32) {
	release, arrived = make(chan struct{}, 8), &atomic.Int32{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		<-release
		_, _ = io.WriteString(w, "ok")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), release, arrived
}

// queuedRequests sends n requests to the proxy at addr in turn: the first
// once the previous one is at the held origin, each next once queued(i)
// says the i before it wait; then releases them all and checks that each
// response holds its want.
func queuedRequests(t *testing.T, addr string, release chan struct{}, arrived *atomic.Int32, queued func(i int) bool, want ...string) {
	t.Helper()
	results := make([]chan string, len(want))
	for i := range results {
		results[i] = make(chan string, 1)
		go func(ch chan string) { ch <- get(t, addr, "/") }(results[i])
		if i == 0 {
			waitFor(t, "the first request at the server", func() bool { return arrived.Load() == 1 })
			continue
		}
		waitFor(t, "the queue to grow", func() bool { return queued(i) })
	}
	for range results {
		release <- struct{}{}
	}
	for i, w := range want {
		if got := <-results[i]; !strings.Contains(strings.ToLower(got), w) {
			t.Errorf("request %d: want %q in\n%s", i, w, got)
		}
	}
}

const queueCfg = `
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 10s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
`

// TestBackendQueuePosition checks bc_be_queue and %bq: as HAProxy counts
// it, the streams served from the backend's queue while a stream waited
// in it, plus one (1 for the head of the queue, 2 for the one behind it,
// 0 without queueing).
func TestBackendQueuePosition(t *testing.T) {
	origin, release, arrived := heldOrigin(t)
	e, _ := startEngine(t, queueCfg+`    http-response set-header x-q "%[bc_be_queue] %[bc_srv_queue]"
    server s1 `+origin+` maxconn 1
`)
	be := e.Backend("be")
	queuedRequests(t, e.Addrs()[0].String(), release, arrived, func(i int) bool { return be.queueLen() == i },
		"x-q: 0 0", "x-q: 1 0", "x-q: 2 0")
}

// TestServerQueuePersistence: streams a use-server rule sends to a full
// server wait for it in its queue rather than going to the free one, and
// report their positions in %[bc_srv_queue] (HAProxy's %sq).
func TestServerQueuePersistence(t *testing.T) {
	origin, release, arrived := heldOrigin(t)
	other, _, _ := heldOrigin(t) // a request sent there would hang: the test fails on its timeout
	e, _ := startEngine(t, queueCfg+`    use-server s1 if TRUE
    http-response set-header x-q "%[bc_be_queue] %[bc_srv_queue] %[srv_name]"
    server s1 `+origin+` maxconn 1
    server s2 `+other+`
`)
	s1 := e.Backend("be").FindServer("s1")
	queuedRequests(t, e.Addrs()[0].String(), release, arrived, func(i int) bool { return s1.srvQueueLen() == i },
		"x-q: 0 0 s1", "x-q: 0 1 s1", "x-q: 0 2 s1")
}

// TestServerQueueRedistribute: with "option redispatch", the streams
// waiting for a server that goes down move to the backend's queue, in
// order, and are load balanced (HAProxy's pendconn_redistribute); the
// DOWN message counts them. Without the option they stay.
func TestServerQueueRedistribute(t *testing.T) {
	for _, redispatch := range []bool{true, false} {
		opt := ""
		if redispatch {
			opt = "    option redispatch\n"
		}
		e, _ := loadEngine(t, `
backend be
`+opt+`    timeout queue 10s
    server s1 127.0.0.1:10001 maxconn 1
    server s2 127.0.0.1:10002 maxconn 1
`)
		px := e.Backend("be")
		s1, s2 := px.FindServer("s1"), px.FindServer("s2")
		for _, s := range []*Server{s1, s2} {
			if _, err := px.acquireAssigned(s, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		w := acquireBG(func(p *queuePos) (*Server, error) { return px.acquireAssigned(s1, nil, p) })
		waitFor(t, "queued", func() bool { return s1.srvQueueLen() == 1 })
		e.setRunning(s1, false, "", nil)
		if !redispatch {
			if s1.srvQueueLen() != 1 || px.queueLen() != 0 {
				t.Fatalf("without redispatch: server queue %d, backend queue %d", s1.srvQueueLen(), px.queueLen())
			}
			s1.release()
			if q := <-w; q.err != nil || q.srv != s1 {
				t.Fatalf("without redispatch: %v %v", q.srv, q.err)
			}
			continue
		}
		if s1.srvQueueLen() != 0 || px.queueLen() != 1 {
			t.Fatalf("server queue %d, backend queue %d", s1.srvQueueLen(), px.queueLen())
		}
		s2.release()
		if q := <-w; q.err != nil || q.srv != s2 || q.pos != (queuePos{be: 1, srv: 1}) {
			t.Fatalf("%v %v %+v", q.srv, q.err, q.pos)
		}
	}
}
