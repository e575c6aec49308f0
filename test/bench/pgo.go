package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// pgoScenarios are the workloads whose CPU profiles make the build's
// profile (cmd/luaproxy/default.pgo): plain and Lua HTTP proxying, Lua
// services, TCP forwarding.
var pgoScenarios = []string{"plain_proxy", "action_proxy", "fetch_in_header", "applet_http_hello", "tcp_proxy_echo", "applet_tcp_echo"}

// runPGO runs luaproxy alone under each of pgoScenarios for the round
// duration, with a CPU profile (LUAPROXY_CPUPROFILE), and merges the
// profiles into out (make pgo). Go's profile-guided optimization inlines
// and devirtualizes the hot calls it names.
func (s *suite) runPGO(ctx context.Context, out string) error {
	o, err := startOrigin(ctx, s.self, loadCPUs, filepath.Join(s.logDir, "origin.log"))
	if err != nil {
		return fmt.Errorf("origin: %w", err)
	}
	s.origin = o
	defer o.cmd.stop()
	var bin binary
	for _, b := range s.bins {
		if b.Name == "luaproxy" {
			bin = b
		}
	}
	var profiles []string
	for _, name := range pgoScenarios {
		sc, ok := scenarioNamed(name)
		if !ok || ctx.Err() != nil {
			continue
		}
		v := sc.Variants[0]
		path := filepath.Join(s.logDir, name+".pprof")
		os.Setenv("LUAPROXY_CPUPROFILE", path)
		px, err := s.startChecked(ctx, bin, sc, v, "")
		os.Unsetenv("LUAPROXY_CPUPROFILE")
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		res, err := s.load(ctx, sc, px, s.opt.duration)
		px.p.stop()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s.logf("pgo %-18s %9.0f req/s", name, res.RPS)
		profiles = append(profiles, path)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "pprof", "-proto"}, profiles...)...)
	cmd.Stdout, cmd.Stderr = f, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("merging the profiles: %w", err)
	}
	s.logf("pgo: %s from %d profiles (%v each)", out, len(profiles), s.opt.duration.Round(time.Second))
	return nil
}

func scenarioNamed(name string) (scenario, bool) {
	for _, sc := range scenarios {
		if sc.Name == name {
			return sc, true
		}
	}
	return scenario{}, false
}
