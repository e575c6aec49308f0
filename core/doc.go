// Package core is the proxy engine: proxies (frontend, backend, listen),
// listeners, streams and their channels, rules, servers, and the process's
// logs. It has no Lua inside: the Lua API (package luabind) plugs in through
// the registries of registry.go (configuration keywords, rule actions,
// services, start-up hooks), as HAProxy's modules register their keywords.
//
// One goroutine serves each accepted connection (a Stream). Rule actions run
// on that goroutine and may block it (waiting for data, for a Lua state),
// never the process.
package core
