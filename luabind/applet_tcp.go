//go:build lua53

package luabind

import (
	"bytes"
	"errors"
	"time"
	"unsafe"

	"luaproxy/core"
	"luaproxy/core/config"
	"luaproxy/luabind/vm"
)

// luaService is "use-service lua.<name>".
type luaService struct {
	rt   *Runtime
	name string
}

// parseLuaService handles "use-service lua.<name>".
func parseLuaService(e *core.Engine, px *core.Proxy, name string, args []string, l config.Line) (core.Service, error) {
	rt := runtimeOf(e)
	short := name[len("lua."):]
	r := rt.anyState(func(ls *LState) *registered { return ls.services[short] })
	// HAProxy 2.6's words, quirks included: an http-request rule's
	// errors are wrapped ("... rule : <msg>."), a tcp-request one's not.
	// An unknown name is core's to report (core.ErrUnknownService).
	httpRule := len(l.Args) > 0 && l.Args[0] == "http-request"
	switch {
	case r == nil:
		return nil, core.ErrUnknownService
	case r.mode == "http" && !httpRule:
		return nil, l.Errorf("HTTP applets are forbidden from 'tcp-request' rulesets")
	case r.mode == "tcp" && px.Mode == "http" && httpRule:
		return nil, l.Errorf("error detected in %s while parsing 'http-request use-service' rule : Lua TCP services cannot be used on HTTP proxies.", px)
	case r.mode == "tcp" && px.Mode == "http":
		return nil, l.Errorf("Lua TCP services cannot be used on HTTP proxies")
	}
	return &luaService{rt: rt, name: short}, nil
}

func (svc *luaService) serve(s *core.Stream) {
	ls, r := svc.rt.lookup(s.Thread, func(ls *LState) *registered { return ls.services[svc.name] })
	if ls == nil {
		return
	}
	ls.Lock()
	defer ls.Unlock()
	ap := &AppletTCP{s: s}
	co, err := ls.start(&invocation{ctx: ctxService, name: svc.name, s: s, applet: ap}, r.fn)
	if err != nil {
		sendErr(ls, streamProxy(s), "Lua applet tcp '<lua.%s>': %v.", svc.name, err)
		return
	}
	defer co.Close()
	h := appletTCPClass.Push(&co.Pusher, ap)
	if !ap.io().Filtered() {
		co.AllowDeferred(h, deferAppletSend) // applet:send queued by C
	}
	if out := ls.drive(co); out != vm.OK {
		alertFailure(ls, streamProxy(s), "Lua applet tcp '<lua."+svc.name+">'", co, out)
	}
}

// Serve runs the service function with an AppletTCP until it returns,
// then sends what it sent where its filters could not run.
func (svc *luaService) Serve(s *core.Stream) {
	svc.serve(s)
	_ = s.ServiceIO().Flush()
}

// AppletTCP is the Lua "AppletTCP" class: a TCP service's view of its client.
type AppletTCP struct {
	s      *core.Stream
	closed bool // the client closed its side, or timed out
	// the waits and results of getline and receive (vm.Call.YieldResolved),
	// made at the first wait (waitFuncs): a line service waits once per
	// line, and closures made per wait were the only allocations of an
	// echoed line (2 per line). receive waits until recvDeadline for
	// recvSize bytes.
	getlineWait, receiveWait func()
	line, received           func(*vm.Pusher) bool
	recvSize                 int64
	recvDeadline             time.Time
}

// waitFuncs makes the waits and results of getline and receive, once per
// applet.
func (ap *AppletTCP) waitFuncs() {
	if ap.getlineWait == nil {
		ap.getlineWait, ap.line = func() { ap.fill(time.Time{}) }, ap.pushLine
		ap.receiveWait, ap.received = func() { ap.fill(ap.recvDeadline) }, ap.pushReceived
	}
}

var appletTCPClass = declareClass(&vm.Class[*AppletTCP]{
	Name: "AppletTCP",
	Lent: true, // one per invocation (vm.Class.Lent)
	Methods: []vm.Method[*AppletTCP]{
		{Name: "getline", Fn: (*AppletTCP).luaGetline},
		{Name: "receive", Fn: (*AppletTCP).luaReceive},
		{Name: "try_receive", Fn: (*AppletTCP).luaTryReceive},
		{Name: "send", Fn: (*AppletTCP).luaSend, Defer: &vm.Deferral[*AppletTCP]{
			Args: 1, Guard: deferAppletSend, ReturnsLen: true, Transient: true,
			Apply: func(ap *AppletTCP, a []string) { ap.queue(unsafe.Slice(unsafe.StringData(a[0]), len(a[0]))) },
		}},
	},
})

// fill waits for more input until deadline; a zero deadline means the
// client timeout, whose expiry ends the stream.
func (ap *AppletTCP) fill(deadline time.Time) {
	client := deadline.IsZero()
	if client {
		if d := ap.s.Frontend.Timeouts.Client; d > 0 {
			deadline = core.Deadline(d)
		}
	}
	switch err := ap.io().Fill(deadline); {
	case err == nil, errors.Is(err, core.ErrBufferFull):
	case errors.Is(err, core.ErrTimeout):
		ap.closed = ap.closed || client
	default:
		ap.closed = true
	}
}

// io is the service's side of the stream: the client's data through the
// filters.
func (ap *AppletTCP) io() *core.ServiceIO { return ap.s.ServiceIO() }

func (ap *AppletTCP) open() bool { return !ap.closed && !ap.io().EOF() }

// luaGetline implements AppletTCP.getline(applet): one line, with its
// "\n"; at the end of the stream what is left ("" when nothing). It may yield.
func (ap *AppletTCP) luaGetline(c *vm.Call) (int, error) {
	if ap.pushLine(&c.Pusher) {
		return 1, nil
	}
	ap.waitFuncs()
	return c.YieldResolved(ap.getlineWait, ap.line)
}

// pushLine pushes getline's result, or reports false when it must wait
// for more input.
func (ap *AppletTCP) pushLine(p *vm.Pusher) bool {
	in := ap.io().Input()
	if i := bytes.IndexByte(in, '\n'); i >= 0 {
		p.PushBytes(in[:i+1])
		ap.io().Consume(i + 1)
		return true
	}
	if ap.open() && ap.io().Room() > 0 {
		return false
	}
	p.PushBytes(in)
	ap.io().Consume(len(in))
	return true
}

// luaReceive implements AppletTCP.receive(applet [, size [, timeout]]):
// size bytes (all until the end without size); with a timeout (ms), what is
// there when it expires, or nil if nothing. "" once the stream is closed.
// It may yield.
func (ap *AppletTCP) luaReceive(c *vm.Call) (int, error) {
	size := int64(-1)
	if c.Top() >= 2 { // HAProxy compat: luaL_checkinteger, nil included
		var err error
		if size, err = c.Integer(2); err != nil {
			return 0, err
		}
	}
	var deadline time.Time
	if !c.IsNoneOrNil(3) {
		ms, err := c.Integer(3)
		if err != nil {
			return 0, err
		}
		deadline = time.Now().Add(time.Duration(ms) * time.Millisecond)
	}
	ap.recvSize, ap.recvDeadline = size, deadline
	if ap.pushReceived(&c.Pusher) {
		return 1, nil
	}
	ap.waitFuncs()
	return c.YieldResolved(ap.receiveWait, ap.received)
}

// pushReceived pushes receive's result for recvSize and recvDeadline, or
// reports false when it must wait for more input.
func (ap *AppletTCP) pushReceived(p *vm.Pusher) bool {
	size, deadline := ap.recvSize, ap.recvDeadline
	in := ap.io().Input()
	enough := size >= 0 && int64(len(in)) >= size
	if !enough && ap.open() && ap.io().Room() > 0 && (deadline.IsZero() || time.Now().Before(deadline)) {
		return false
	}
	n := len(in)
	if size >= 0 && int64(n) > size {
		n = int(size)
	}
	if n == 0 && ap.open() && !deadline.IsZero() {
		p.PushNil() // timeout with nothing received
		return true
	}
	p.PushBytes(in[:n])
	ap.io().Consume(n)
	return true
}

// luaTryReceive implements AppletTCP.try_receive(applet): what is there now,
// nil if nothing, "" once closed. It never waits for data.
func (ap *AppletTCP) luaTryReceive(c *vm.Call) (int, error) {
	if len(ap.io().Input()) == 0 && ap.open() {
		ap.fill(time.Now().Add(time.Millisecond))
	}
	in := ap.io().Input()
	if len(in) == 0 && ap.open() {
		c.PushNil()
		return 1, nil
	}
	c.PushBytes(in)
	ap.io().Consume(len(in))
	return 1, nil
}

// queue queues msg for the client, up to a buffer, or sends it at once
// past that (unfiltered). Without filters, C queues applet:send(msg) and
// Go does this later (vm.Deferral), before any other Go code runs.
func (ap *AppletTCP) queue(msg []byte) {
	io := ap.io()
	if io.Queued()+len(msg) <= ap.s.Engine.BufSize {
		io.Queue(msg)
		return
	}
	_ = io.SendNow(msg)
}

// luaSend implements AppletTCP.send(applet, msg). It returns the bytes
// sent (HAProxy 2.6 compat: the reference says nothing of it). As
// in HAProxy, where it fills the response channel and the stream sends it
// later, the data is queued, up to a buffer, and sent when the service
// waits, yields or ends, outside the Lua lock (flushApplet, Serve): the
// answers of the services woken by one poll then leave together (see
// core.ServiceIO.Flush). Past a buffer, it is sent at once. It yields
// when filters see the data (they run outside the Lua lock).
func (ap *AppletTCP) luaSend(c *vm.Call) (int, error) {
	if err := checkArgs(c, 2, "send"); err != nil {
		return 0, err
	}
	msg, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	io := ap.io()
	switch {
	case !io.Filtered():
		ap.queue(msg)
	case c.CanYield():
		// the filters are Lua: they run once this state is unlocked
		return c.Yield(func() { _, _ = io.Send(msg) }, func(c *vm.Call) (int, error) {
			c.PushInteger(int64(len(msg)))
			return 1, nil
		})
	default:
		io.Queue(msg)
	}
	c.PushInteger(int64(len(msg)))
	return 1, nil
}
