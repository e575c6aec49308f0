//go:build lua53

package luabind

import (
	"fmt"
	"sync"
	"time"

	"luaproxy/core"
	"luaproxy/core/pattern"
	"luaproxy/luabind/vm"
)

// eventQueueMax is the number of unconsumed events at which a subscription
// pauses itself (HAProxy's event_sub: "over 100 unconsumed events").
const eventQueueMax = 100

// EventSub is the Lua "EventSub" class: one core.event_sub(),
// Server.event_sub() or Patref.event_sub() subscription. The engine's
// event bus (or the pattern reference) queues events here without
// blocking; one goroutine at a time runs the callbacks, each in its own
// coroutine of the subscribing state, strictly in order. A callback may
// yield (the state serves others meanwhile).
type EventSub struct {
	ls     *LState
	fn     vm.Ref
	cancel func() // ends the subscription at its source

	mu      sync.Mutex
	queue   []queuedEvent
	running bool // a worker goroutine delivers the queue
	paused  bool // the queue overflowed: events are dropped until it drains
	closed  bool // unsub() was called
}

// queuedEvent is one event waiting for the callback: a server event
// (ev set) or a PAT_REF one (name only: they carry no data).
type queuedEvent struct {
	name string
	ev   *core.Event
	when time.Time
}

var eventSubClass = declareClass(&vm.Class[*EventSub]{
	Name: "EventSub",
	Methods: []vm.Method[*EventSub]{
		{Name: "unsub", Fn: (*EventSub).luaUnsub},
	},
	Owned: true, // a collected EventSub object leaves the subscription running
})

// The data tables passed to callbacks, listed for the API manifest: they
// are plain tables in HAProxy too.
func init() {
	for _, t := range []struct {
		name string
		keys []string
	}{
		{"ServerEvent", []string{"name", "puid", "rid", "proxy_name", "proxy_uuid", "reference", "state", "admin", "check"}},
		{"ServerEventState", []string{"admin", "check", "cause", "new_state", "old_state", "requeued"}},
		{"ServerEventAdmin", []string{"cause", "new_admin", "old_admin", "requeued"}},
		{"ServerEventCheckRes", []string{"result", "agent", "duration", "reason", "health"}},
	} {
		keys := t.keys
		apiClasses = append(apiClasses, apiClass{name: t.name, names: func() []string { return keys }})
	}
}

// parseEventTypes reads the array of event type names at argument i,
// each parsed by parse (the SERVER or the PAT_REF family).
func parseEventTypes[T ~uint8 | ~uint32](c *vm.Call, i int, parse func(string) (T, bool)) (T, error) {
	if err := c.CheckType(i, vm.TypeTable); err != nil {
		return 0, err
	}
	tbl, _ := c.Value(i).(map[any]any)
	var mask T
	for _, v := range tbl {
		name, ok := v.(string)
		if !ok {
			return 0, c.ArgError(i, "array of strings expected")
		}
		t, ok := parse(name)
		if !ok {
			if _, patref := pattern.ParseChange(name); patref {
				return 0, fmt.Errorf("event_sub: '%s' events can only be subscribed per pattern reference, with Patref:event_sub()", name)
			}
			return 0, fmt.Errorf("event_sub: unknown event type '%s'", name)
		}
		mask |= t
	}
	if mask == 0 {
		return 0, c.ArgError(i, "at least one event type expected")
	}
	return mask, nil
}

// luaCoreEventSub implements core.event_sub(event_types, func): a new
// EventSub for every server's events. It never yields.
func luaCoreEventSub(c *vm.Call) (int, error) {
	return subscribe(c, 1, nil)
}

// luaServerEventSub implements Server.event_sub(sv, event_types, func):
// as core.event_sub for sv's events only. It never yields.
func luaServerEventSub(s *core.Server, c *vm.Call) (int, error) {
	return subscribe(c, 2, s)
}

func subscribe(c *vm.Call, i int, srv *core.Server) (int, error) {
	mask, err := parseEventTypes(c, i, core.ParseEventType)
	if err != nil {
		return 0, err
	}
	es, err := newEventSub(c, i+1)
	if err != nil {
		return 0, err
	}
	sub := es.ls.rt.e.Events.Subscribe(mask, srv, func(ev *core.Event) {
		es.enqueue(queuedEvent{name: ev.Type.String(), ev: ev})
	})
	es.cancel = sub.Unsubscribe
	eventSubClass.Push(&c.Pusher, es)
	return 1, nil
}

// luaPatrefEventSub implements Patref.event_sub(ref, event_types, func):
// PAT_REF_ADD, _DEL, _SET, _CLEAR and _COMMIT events (or PAT_REF for all)
// of this reference only, whoever made the change (Lua or the runtime
// API). The callback gets no event data (nil). It never yields.
func (p *Patref) luaEventSub(c *vm.Call) (int, error) {
	mask, err := parseEventTypes(c, 2, pattern.ParseChange)
	if err != nil {
		return 0, err
	}
	es, err := newEventSub(c, 3)
	if err != nil {
		return 0, err
	}
	es.cancel = p.ref.Watch(mask, func(ch pattern.Change) {
		es.enqueue(queuedEvent{name: ch.String()})
	})
	eventSubClass.Push(&c.Pusher, es)
	return 1, nil
}

// newEventSub anchors the callback at argument i for a new subscription.
func newEventSub(c *vm.Call, i int) (*EventSub, error) {
	if err := c.CheckType(i, vm.TypeFunction); err != nil {
		return nil, err
	}
	ls := lsOf(c)
	if ls == nil {
		return nil, fmt.Errorf("event_sub: no Lua state")
	}
	ref, err := c.Ref(i)
	if err != nil {
		return nil, err
	}
	return &EventSub{ls: ls, fn: ref}, nil
}

// enqueue is the event source's callback: it never blocks.
func (es *EventSub) enqueue(q queuedEvent) {
	q.when = time.Now()
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.closed {
		return
	}
	if es.paused {
		return // HAProxy compat: a paused subscription misses events
	}
	if len(es.queue) >= eventQueueMax {
		es.paused = true
		es.ls.rt.e.Log.Warning("Lua event_sub: pausing the subscription because the handler fails to keep up the pace (%d unconsumed events); events are missed until it catches up.", len(es.queue))
		return
	}
	es.queue = append(es.queue, q)
	if !es.running {
		es.running = true
		go es.worker()
	}
}

// worker delivers the queue, one event at a time, until it is empty.
func (es *EventSub) worker() {
	for {
		es.mu.Lock()
		if len(es.queue) == 0 || es.closed {
			es.running = false
			es.paused = false // caught up: the subscription resumes
			es.queue = nil
			es.mu.Unlock()
			return
		}
		q := es.queue[0]
		es.queue[0] = queuedEvent{}
		es.queue = es.queue[1:]
		es.mu.Unlock()
		es.deliver(q)
	}
}

// deliver runs the callback for one event in a new coroutine.
func (es *EventSub) deliver(q queuedEvent) {
	ls := es.ls
	ls.Lock()
	defer ls.Unlock()
	es.mu.Lock()
	closed := es.closed
	es.mu.Unlock()
	if closed {
		return // unsub() ran meanwhile: fn may be released
	}
	co, err := ls.start(&invocation{ctx: ctxTask, name: "event_sub"}, es.fn)
	if err != nil {
		sendErr(ls, nil, "Lua event_hdl: %v.", err)
		return
	}
	defer co.Close()
	co.PushString(q.name)
	if q.ev != nil {
		pushServerEvent(&co.Pusher, q.ev)
	} else {
		co.PushNil()
	}
	eventSubClass.Push(&co.Pusher, es)
	co.PushInteger(q.when.Unix())
	if out := ls.drive(co); out != vm.OK {
		alertFailure(ls, nil, "Lua event_hdl", co, out)
	}
}

// pushServerEvent pushes the ServerEvent table of ev.
func pushServerEvent(p *vm.Pusher, ev *core.Event) {
	p.NewTable(0, 8)
	p.FieldString("name", ev.ServerName)
	p.FieldInteger("puid", int64(ev.ServerID))
	p.FieldInteger("rid", int64(ev.ServerRID))
	p.FieldString("proxy_name", ev.ProxyName)
	p.FieldInteger("proxy_uuid", int64(ev.ProxyID))
	if s := ev.Server; s != nil && ev.Type != core.EventServerDel && !s.Deleted() {
		p.Field("reference", func() { serverClass.Push(p, s) })
	}
	switch {
	case ev.Type == core.EventServerState && ev.State != nil:
		st := ev.State
		p.Field("state", func() {
			p.NewTable(0, 6)
			p.Field("admin", func() { p.PushBool(st.Admin) })
			if ev.Check != nil {
				p.Field("check", func() { pushCheckRes(p, ev.Check) })
			}
			p.FieldString("cause", st.Cause)
			p.FieldString("new_state", st.NewState.String())
			p.FieldString("old_state", st.OldState.String())
			p.FieldInteger("requeued", int64(st.Requeued))
		})
	case ev.Type == core.EventServerAdmin && ev.Admin != nil:
		ad := ev.Admin
		p.Field("admin", func() {
			p.NewTable(0, 4)
			p.FieldString("cause", ad.Cause)
			p.Field("new_admin", func() { pushAdminFlags(p, ad.NewAdmin) })
			p.Field("old_admin", func() { pushAdminFlags(p, ad.OldAdmin) })
			p.FieldInteger("requeued", int64(ad.Requeued))
		})
	case ev.Type == core.EventServerCheck && ev.Check != nil:
		p.Field("check", func() { pushCheckRes(p, ev.Check) })
	}
}

// pushAdminFlags pushes admin flags as HAProxy's array: "MAINT" with
// "FMAINT" or "CMAINT", "DRAIN" with "FDRAIN".
func pushAdminFlags(p *vm.Pusher, a core.AdminFlags) {
	var names []string
	if a.InMaint() {
		names = append(names, "MAINT")
		if a&core.AdminMaint != 0 {
			names = append(names, "FMAINT")
		}
		if a&core.AdminCMaint != 0 {
			names = append(names, "CMAINT")
		}
	}
	if a&core.AdminDrain != 0 {
		names = append(names, "DRAIN", "FDRAIN")
	}
	p.NewTable(len(names), 0)
	for i, n := range names {
		p.PushString(n)
		p.SetIndex(int64(i + 1))
	}
}

// pushCheckRes pushes a ServerEventCheckRes table.
func pushCheckRes(p *vm.Pusher, r *core.CheckResult) {
	p.NewTable(0, 5)
	switch {
	case r.Passed:
		p.FieldString("result", "PASSED")
	default:
		p.FieldString("result", "FAILED")
	}
	p.Field("agent", func() { p.PushBool(false) })
	p.FieldInteger("duration", r.Duration.Milliseconds())
	p.Field("reason", func() {
		p.NewTable(0, 3)
		p.FieldString("short", r.Status)
		p.FieldString("desc", r.Desc())
		p.FieldInteger("code", int64(r.Code))
	})
	p.Field("health", func() {
		p.NewTable(0, 3)
		p.FieldInteger("cur", int64(r.Health))
		p.FieldInteger("rise", int64(r.Rise))
		p.FieldInteger("fall", int64(r.Fall))
	})
}

// luaUnsub implements EventSub.unsub(sub): no callback runs after it
// (a running one finishes). It never yields.
func (es *EventSub) luaUnsub(c *vm.Call) (int, error) {
	es.mu.Lock()
	if es.closed {
		es.mu.Unlock()
		return 0, nil
	}
	es.closed = true
	es.queue = nil
	es.mu.Unlock()
	es.cancel()
	// the state is held: deliver checks closed under the same lock before
	// using fn, so the reference can go
	es.ls.Unref(es.fn)
	return 0, nil
}
