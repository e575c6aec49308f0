package core

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder collects events in order.
type recorder struct {
	mu  sync.Mutex
	evs []string
}

func (r *recorder) add(ev *Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := ev.Type.String() + " " + ev.ProxyName + "/" + ev.ServerName
	if ev.State != nil {
		s += fmt.Sprintf(" %s->%s %s", ev.State.OldState, ev.State.NewState, ev.State.Cause)
	}
	r.evs = append(r.evs, s)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.evs...)
}

func (r *recorder) has(s string) bool {
	for _, e := range r.list() {
		if strings.HasPrefix(e, s) {
			return true
		}
	}
	return false
}

// The rise/fall state machine over real TCP checks: a server stopped goes
// DOWN at its first failure (it starts UP, as in HAProxy), comes back UP
// after "rise" successes, and goes DOWN again only after "fall" failures;
// the log lines and the event order are HAProxy's.
func TestCheckRiseFallEvents(t *testing.T) {
	srv := newTCPServer(t, "s1")
	addr := srv.addr
	srv.stop()
	e, log := loadEngine(t, fmt.Sprintf(`
global
    log stdout format raw local0
backend be
    timeout connect 500ms
    server s1 %s check inter 50ms rise 2 fall 3
`, addr))
	rec := &recorder{}
	e.Events.Subscribe(EventServer, nil, rec.add)
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(); e.Wait() })
	s1 := e.Backend("be").FindServer("s1")

	waitFor(t, "DOWN", func() bool { return !s1.IsUp() })
	waitFor(t, "the alert", func() bool { return strings.Contains(log.String(), "has no server available") })
	l := log.String()
	if !strings.Contains(l, `[WARNING]  (`) || !strings.Contains(l, `Server be/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: `) ||
		!strings.Contains(l, "ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.") {
		t.Fatalf("down line:\n%s", l)
	}
	if !strings.Contains(l, "[ALERT]    (") || !strings.Contains(l, "backend 'be' has no server available!") {
		t.Fatalf("alert line:\n%s", l)
	}

	srv.start(t, addr)
	waitFor(t, "UP", s1.IsUp)
	if c := s1.LastCheck(); c.Status != "L4OK" || c.Health != 4 {
		t.Fatalf("last check %+v", c)
	}
	waitFor(t, "UP line", func() bool {
		return strings.Contains(log.String(), "Server be/s1 is UP, reason: Layer4 check passed, check duration: ")
	})
	if !strings.Contains(log.String(), "ms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.") {
		t.Fatalf("up line:\n%s", log)
	}

	// fall 3: two failures keep it up, the third takes it down.
	srv.stop()
	waitFor(t, "DOWN again", func() bool { return !s1.IsUp() })
	// the subscriber gets the events after the state changed
	count := func() (downs, ups, states int) {
		for _, ev := range rec.list() {
			downs += strings.Count(ev, "SERVER_DOWN")
			ups += strings.Count(ev, "SERVER_UP")
			states += strings.Count(ev, "SERVER_STATE")
		}
		return downs, ups, states
	}
	waitFor(t, "the second SERVER_DOWN", func() bool { downs, _, states := count(); return downs >= 2 && states >= 3 })
	if downs, ups, _ := count(); downs != 2 || ups != 1 {
		t.Fatalf("events: %q", rec.list())
	}
	var order []string
	for _, ev := range rec.list() {
		if strings.HasPrefix(ev, "SERVER_UP") || strings.HasPrefix(ev, "SERVER_DOWN") || strings.HasPrefix(ev, "SERVER_STATE") {
			order = append(order, ev)
		}
	}
	want := []string{
		"SERVER_DOWN be/s1",
		"SERVER_STATE be/s1 RUNNING->STOPPED HEALTH",
		"SERVER_UP be/s1",
		"SERVER_STATE be/s1 STOPPED->RUNNING HEALTH",
		"SERVER_DOWN be/s1",
		"SERVER_STATE be/s1 RUNNING->STOPPED HEALTH",
	}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Fatalf("event order:\n%s", strings.Join(order, "\n"))
	}
	if !rec.has("SERVER_CHECK be/s1") {
		t.Fatalf("no SERVER_CHECK: %q", rec.list())
	}
}

// option httpchk with "http-check expect status": a wrong status takes the
// server down with HAProxy's L7STS reason; a garbage answer with L7RSP.
func TestCheckHTTP(t *testing.T) {
	status := make(chan string, 1)
	status <- "503 Service Unavailable"
	var gotReq sync.Map
	srv := newTCPServer(t, "s1")
	srv.setHandle(func(c net.Conn) {
		r := bufio.NewReader(c)
		line, _ := r.ReadString('\n')
		gotReq.Store("line", line)
		st := <-status
		status <- st
		if st == "garbage" {
			fmt.Fprintf(c, "garbage\r\n\r\n")
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n", st)
	})
	e, log := startEngine(t, fmt.Sprintf(`
backend be
    option httpchk GET /health
    http-check expect status 200
    server s1 %s check inter 50ms rise 1 fall 1
`, srv.addr))
	s1 := e.Backend("be").FindServer("s1")
	waitFor(t, "DOWN", func() bool { return !s1.IsUp() })
	if l := log.String(); !strings.Contains(l, `Server be/s1 is DOWN, reason: Layer7 wrong status, code: 503, info: "Service Unavailable", check duration: `) {
		t.Fatalf("log:\n%s", l)
	}
	if v, _ := gotReq.Load("line"); v != "GET /health HTTP/1.0\r\n" {
		t.Fatalf("request line %q", v)
	}
	<-status
	status <- "200 OK"
	waitFor(t, "UP", s1.IsUp)
	if l := log.String(); !strings.Contains(l, "Server be/s1 is UP, reason: Layer7 check passed, code: 200, check duration: ") {
		t.Fatalf("log:\n%s", l)
	}
	<-status
	status <- "garbage"
	waitFor(t, "DOWN", func() bool { return !s1.IsUp() })
	if l := log.String(); !strings.Contains(l, "Server be/s1 is DOWN, reason: Layer7 invalid response, check duration: ") {
		t.Fatalf("log:\n%s", l)
	}
}

// A server at its maxconn makes the next streams wait in the backend queue;
// they get the slot as soon as one frees, and time out with "timeout queue".
func TestQueueAtMaxconn(t *testing.T) {
	e, _ := loadEngine(t, `
backend be
    timeout queue 200ms
    server s1 127.0.0.1:1 maxconn 1
`)
	px := e.Backend("be")
	s1, err := px.acquireServer(nil, nil, nil)
	if err != nil || s1.Conns.Load() != 1 {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		s, err := px.acquireServer(nil, nil, nil)
		if err == nil && s != s1 {
			err = fmt.Errorf("got %v", s)
		}
		got <- err
	}()
	waitFor(t, "queued", func() bool { return px.queueLen() == 1 })
	s1.release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if s1.Conns.Load() != 1 || px.queueLen() != 0 {
		t.Fatalf("slot not handed over: conns=%d queue=%d", s1.Conns.Load(), px.queueLen())
	}
	start := time.Now()
	if _, err := px.acquireServer(nil, nil, nil); err != errQueueTimeout {
		t.Fatalf("want queue timeout, got %v", err)
	}
	if time.Since(start) < 150*time.Millisecond || px.queueLen() != 0 {
		t.Fatalf("queue timeout too early or waiter left behind")
	}
}

// Connection failures are retried, then redispatched to another server on
// the last retry (option redispatch), in TCP mode end to end.
func TestRetryRedispatch(t *testing.T) {
	good := newTCPServer(t, "good")
	dead := newTCPServer(t, "dead")
	deadAddr := dead.addr
	dead.stop()
	e, _ := startEngine(t, fmt.Sprintf(`
listen li
    bind 127.0.0.1:0
    balance first
    retries 2
    option redispatch
    timeout connect 100ms
    server dead %s
    server good %s
`, deadAddr, good.addr))
	addr := e.Addrs()[0].String()
	if got := fetch(t, addr); got != "good" {
		t.Fatalf("got %q", got)
	}
	dsrv := e.Backend("li").FindServer("dead")
	if n := dsrv.Failed.Load(); n != 2 {
		t.Fatalf("dead server tried %d times, want 2 (first try and one retry)", n)
	}
	waitFor(t, "slots released", func() bool {
		return dsrv.Conns.Load() == 0 && e.Backend("li").FindServer("good").Conns.Load() == 0
	})
}
