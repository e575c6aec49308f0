package core

import (
	"strconv"
	"time"
)

// Helpers for the control side of the Lua API (luabind's Proxy, Server and
// Listener classes): read-only views of engine state the runtime API
// already computes.

// StatField is one statistics field: its HAProxy name and CSV value.
type StatField struct {
	Name, Value string
}

func (l statLine) fields() []StatField {
	out := make([]StatField, 0, len(l))
	for i, v := range l {
		if v == "" || statFields[i] == "-" {
			continue
		}
		out = append(out, StatField{statFields[i], v})
	}
	return out
}

// ProxyStats returns the statistics "show stat" gives for px, as HAProxy's
// Proxy.get_stats(): the backend line for a proxy with the backend
// capability, else the frontend line. Empty fields are left out.
func (e *Engine) ProxyStats(px *Proxy) []StatField {
	if px.Cap&CapBE != 0 {
		return e.backendStats(px, &e.cliState().stats, time.Now()).fields()
	}
	return e.frontendStats(px).fields()
}

// FrontendStats returns the frontend line of px (a listener's statistics
// start from it).
func (e *Engine) FrontendStats(px *Proxy) []StatField { return e.frontendStats(px).fields() }

// ServerStats returns the statistics "show stat" gives for s.
func (e *Engine) ServerStats(s *Server) []StatField {
	return e.serverStats(s, &e.cliState().stats, time.Now()).fields()
}

// UsableServers returns the active and backup servers eligible for load
// balancing (HAProxy's srv_act and srv_bck).
func (px *Proxy) UsableServers() (active, backup int) { return px.countUsable() }

// ServerList returns a snapshot of the proxy's servers, in order.
func (px *Proxy) ServerList() []*Server { return px.servers() }

// QueueLen returns the number of streams waiting in the backend's queue.
func (px *Proxy) QueueLen() int { return px.queueLen() }

// Engine returns the engine px belongs to (nil for a proxy built outside
// an engine).
func (px *Proxy) Engine() *Engine { return px.engine }

// IsDynamic reports whether s was added at run time ("add server").
func (s *Server) IsDynamic() bool { return s.Line.File == "" }

// Draining reports whether s is in drain mode.
func (s *Server) Draining() bool { return s.Admin()&AdminDrain != 0 }

// ListenerName is HAProxy's default name of a proxy's i-th bind line
// ("sock-1", ...).
func ListenerName(i int) string { return "sock-" + strconv.Itoa(i+1) }
