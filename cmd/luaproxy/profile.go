package main

import (
	"os"
	"runtime/pprof"

	"luaproxy/core"
)

// profiled runs serve with a CPU profile written to the file named by
// LUAPROXY_CPUPROFILE, when set, until serve returns (any stop: SIGTERM,
// SIGUSR1, SIGINT). The profile feeds the build's profile-guided
// optimization (cmd/luaproxy/default.pgo, see the Makefile's pgo target)
// and `go tool pprof`.
func profiled(log *core.Logger, serve func() int) int {
	path := os.Getenv("LUAPROXY_CPUPROFILE")
	if path == "" {
		return serve()
	}
	f, err := os.Create(path)
	if err != nil {
		log.Alert("LUAPROXY_CPUPROFILE: %v", err)
		return serve()
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Alert("LUAPROXY_CPUPROFILE: %v", err)
		return serve()
	}
	defer pprof.StopCPUProfile()
	return serve()
}
