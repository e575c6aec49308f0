// Package luabind is the HAProxy Lua API seen by scripts: the core table,
// the classes (TXN, Channel, AppletTCP, ...), and the glue that plugs Lua
// actions, services, init functions and tasks into the engine (package
// core) through its registries.
//
// Scripts run in states owned by a Runtime: state 0 for lua-load (shared by
// all threads, serialized by the state's lock as HAProxy's global Lua lock
// does), and one state per thread for lua-load-per-thread. Each invocation
// runs in its own coroutine, driven by the stream's goroutine (see drive).
package luabind
