package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The architecture document's forced-yield table: loops executed in a fixed Lua time for
// tune.lua.forced-yield from 10 to 1,000,000, run as a Lua task in each proxy
// (scenarios/forced_yield), with the bare lua5.3 interpreter (no hook) as the ceiling.

var (
	fyQuick = []int{10, 100, 500, 1000, 5000, 10000, 100000, 1000000}
	fyFull  = []int{10, 100, 500, 1000, 5000, 7000, 8000, 9000, 10000, 100000, 1000000}
)

// fyResult is one forced-yield run (a row of forced_yield.tsv).
type fyResult struct {
	Runner      string // luaproxy, haproxy or lua5.3
	ForcedYield int    // 0 for lua5.3: no hook at all
	Round       int
	Status      string
	Note        string
	Loops       int64
	Seconds     float64
	Noise       float64 // CPUs used by other processes during the run
}

// MPer10s is the document's unit: millions of loops in 10 seconds.
func (r fyResult) MPer10s() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.Loops) / r.Seconds * 10 / 1e6
}

func (s *suite) runForcedYield(ctx context.Context) {
	dir := filepath.Join(s.scenarioDir, "forced_yield")
	points := fyQuick
	if s.opt.full {
		points = fyFull
	}
	spin := s.opt.spin
	for round := 1; round <= s.opt.expRounds; round++ {
		r := fyResult{Runner: "lua5.3", Round: round}
		w := startWindow()
		out, err := runOutput(ctx, spin+30*time.Second, dir, proxyCPUs,
			[]string{"BENCH_SPIN_SECONDS=" + secs(spin)}, s.lua, "spin.lua")
		r.fill(out, err)
		r.noise(w)
		s.logf("forced-yield round %d lua5.3: %.0f M loops/10s noise %.2f %s", round, r.MPer10s(), r.Noise, r.Note)
		s.fy = append(s.fy, r)
		for _, fy := range points {
			for _, bin := range s.bins {
				r := fyResult{Runner: bin.Name, ForcedYield: fy, Round: round}
				env := []string{"BENCH_FORCED_YIELD=" + strconv.Itoa(fy), "BENCH_SPIN_SECONDS=" + secs(spin)}
				w := startWindow()
				lines, err := s.runTask(ctx, bin, dir, "bench.cfg", fmt.Sprintf("forced_yield.%d", fy), env,
					"bench-forced-yield", "bench-forced-yield", spin+30*time.Second)
				r.fill(strings.Join(lines, "\n"), err)
				r.noise(w)
				s.logf("forced-yield round %d %-8s %8d: %6.0f M loops/10s noise %.2f %s", round, bin.Name, fy, r.MPer10s(), r.Noise, r.Note)
				s.fy = append(s.fy, r)
			}
		}
	}
}

// fill parses "bench-forced-yield loops=N seconds=S" from out.
func (r *fyResult) fill(out string, err error) {
	r.Status = statusOK
	if err != nil {
		r.Status, r.Note = statusFailed, oneLine(err.Error())
		return
	}
	for _, line := range strings.Split(out, "\n") {
		if _, e := fmt.Sscanf(strings.TrimSpace(line), "bench-forced-yield loops=%d seconds=%g", &r.Loops, &r.Seconds); e == nil {
			return
		}
	}
	r.Status, r.Note = statusFailed, "no result line: "+oneLine(out)
}

// noise sets r.Noise from the machine's busy time during the window, less the one CPU
// the measured loop keeps busy for r.Seconds (process start-up and exit count as noise).
func (r *fyResult) noise(w *cpuWindow) {
	wall, _, busy := w.stop()
	r.Noise = max(0, (busy-r.Seconds)/wall)
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// runTask starts bin on a configuration whose Lua task prints result lines, waits until a
// line starting with done appears (or timeout, or the proxy exits), stops the proxy and
// returns the lines starting with prefix.
func (s *suite) runTask(ctx context.Context, bin binary, dir, cfg, logName string, env []string, prefix, done string, timeout time.Duration) ([]string, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	env = append(append([]string{"BENCH_PORT=" + port}, s.origin.env()...), env...)
	p, err := startProc(ctx, proxyCPUs, dir, env, filepath.Join(s.logDir, logName+"."+bin.Name+".log"),
		bin.Path, "-f", filepath.Join(dir, cfg))
	if err != nil {
		return nil, err
	}
	defer p.stop()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, ok := p.findLine(done); ok {
			return p.linesWith(prefix), nil
		}
		if p.exited() {
			return nil, fmt.Errorf("exited (%v): %s", p.err, p.firstAlert())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, fmt.Errorf("no %q line after %v: %s", done, timeout, p.tail(3))
}
