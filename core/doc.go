// Package core is the proxy engine: proxies (frontend, backend, listen),
// listeners, streams and their channels, rules, servers, and the process's
// logs. It has no Lua inside: the Lua API (package luabind) plugs in through
// the registries of registry.go (configuration keywords, rule actions,
// services, start-up hooks), as HAProxy's modules register their keywords.
//
// One goroutine serves each accepted connection (a Stream). Rule actions run
// on that goroutine and may block it (waiting for data, for a Lua state),
// never the process. An HTTP connection that waits long for its next
// request parks: a new goroutine, whose stack holds only the wait, takes
// the stream over (park.go). A TCP-mode stream, once forwarded, goes on
// on the forward's two goroutines (netio.ForwardAsync), the last of which
// ends it (serveTCP); so does an HTTP connection once upgraded (a
// WebSocket, a CONNECT), its request ending with the tunnel (tunnel.go).
//
// Time is read as HAProxy reads it: once when a stream wakes up, and by a
// millisecond ticker while streams live (clock.go); deadlines, log timers
// and rate counters use that clock. Connection deadlines are set lazily
// (deadline.go): "timeout client" and "timeout server" are inactivity
// timeouts, re-armed as data moves, at the cost of a runtime timer only
// when they move by more than 1/64 of the timeout.
package core
