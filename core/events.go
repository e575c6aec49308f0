package core

import (
	"strings"
	"sync"
)

// EventType is a bit set of event kinds, named as HAProxy's event_hdl
// types (SERVER_ADD, SERVER_DOWN, ...).
type EventType uint32

// The event types. EventServer matches every server event (the "SERVER"
// family of core.event_sub).
const (
	EventServerAdd EventType = 1 << iota
	EventServerDel
	EventServerUp
	EventServerDown
	EventServerState
	EventServerAdmin
	EventServerCheck

	EventServer = EventServerAdd | EventServerDel | EventServerUp | EventServerDown |
		EventServerState | EventServerAdmin | EventServerCheck
)

var eventNames = []struct {
	name string
	t    EventType
}{
	{"SERVER_ADD", EventServerAdd},
	{"SERVER_DEL", EventServerDel},
	{"SERVER_UP", EventServerUp},
	{"SERVER_DOWN", EventServerDown},
	{"SERVER_STATE", EventServerState},
	{"SERVER_ADMIN", EventServerAdmin},
	{"SERVER_CHECK", EventServerCheck},
	{"SERVER", EventServer},
}

// ParseEventType returns the type named name ("SERVER_UP", "SERVER").
func ParseEventType(name string) (EventType, bool) {
	for _, n := range eventNames {
		if n.name == name {
			return n.t, true
		}
	}
	return 0, false
}

// String returns the HAProxy name of a single event type.
func (t EventType) String() string {
	var names []string
	for _, n := range eventNames[:len(eventNames)-1] {
		if t&n.t != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, "|")
}

// Event is one published event. The server fields are a snapshot taken
// when the event happened; Server is the live object (nil once deleted).
type Event struct {
	Type EventType

	ServerName string
	ServerID   int // puid
	ServerRID  int // revision id: bumps when a server is re-created with the same id
	ProxyName  string
	ProxyID    int
	Server     *Server

	// State is set for SERVER_STATE (and describes UP/DOWN transitions).
	State *StateChange
	// Admin is set for SERVER_ADMIN.
	Admin *AdminChange
	// Check is set for SERVER_CHECK, and for SERVER_STATE caused by a check.
	Check *CheckResult
}

// StateChange describes an operational state transition.
type StateChange struct {
	OldState, NewState ServerState
	// Cause is HAProxy's srv_op_st_chg_cause name: "NONE", "HEALTH",
	// "AGENT", "ADMIN", ...
	Cause    string
	Requeued int
	// Admin is true when the change comes from an administrative action.
	Admin bool
}

// AdminChange describes an administrative state change.
type AdminChange struct {
	OldAdmin, NewAdmin AdminFlags
	Cause              string
	Requeued           int
}

// Subscription is one subscriber's registration on the event bus.
type Subscription struct {
	bus    *EventBus
	mask   EventType
	server *Server // nil: every server
	fn     func(*Event)
}

// EventBus delivers engine events to subscribers, synchronously, in the
// order they are published for a given server. A subscriber must not
// block: it queues the event for its own worker (the Lua binding does).
type EventBus struct {
	mu   sync.RWMutex
	subs []*Subscription
}

// Subscribe registers fn for the events in mask; server restricts them to
// one server (nil: all servers).
func (b *EventBus) Subscribe(mask EventType, server *Server, fn func(*Event)) *Subscription {
	s := &Subscription{bus: b, mask: mask, server: server, fn: fn}
	b.mu.Lock()
	b.subs = append(b.subs, s)
	b.mu.Unlock()
	return s
}

// Unsubscribe removes the subscription; it is safe to call twice.
func (s *Subscription) Unsubscribe() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.subs {
		if x == s {
			b.subs = append(b.subs[:i:i], b.subs[i+1:]...)
			return
		}
	}
}

// Publish delivers ev to every matching subscriber.
func (b *EventBus) Publish(ev *Event) {
	b.mu.RLock()
	subs := b.subs
	b.mu.RUnlock()
	for _, s := range subs {
		if s.mask&ev.Type != 0 && (s.server == nil || s.server == ev.Server) {
			s.fn(ev)
		}
	}
}
