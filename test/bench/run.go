package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// binary is one proxy program under comparison.
type binary struct {
	Name string // "luaproxy" or "haproxy"
	Path string
}

const (
	statusOK          = "ok"
	statusFailed      = "failed"
	statusUnsupported = "unsupported"
)

// loadRun is one measured run (one row of runs.tsv). Round 0 rows record a scenario that
// could not run for that binary (the check or the start failed).
type loadRun struct {
	Scenario, Variant, Binary string
	Round                     int
	Status, Note              string
	loadResult
	Wall      float64 // seconds of the measured window
	ProxyCPU  float64 // proxy CPU seconds in the window
	OriginCPU float64
	Noise     float64 // CPU seconds per wall second used by everything else
}

// RPSPerCPU is requests per proxy CPU-second.
func (r loadRun) RPSPerCPU() float64 {
	if r.ProxyCPU <= 0 {
		return 0
	}
	return float64(r.Requests) / r.ProxyCPU
}

// proxy is a started proxy serving one scenario variant.
type proxy struct {
	bin  binary
	p    *cmdProc
	addr string
}

// freePort returns a loopback port nobody listens on right now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}

// startProxy starts bin on cfg (a path) from dir, pinned to cpus, and waits until it
// listens on BENCH_PORT. env is added to the origin's variables.
func (s *suite) startProxy(ctx context.Context, bin binary, dir, cfg, cpus, logName string, env []string) (*proxy, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	env = append(append([]string{"BENCH_PORT=" + port}, s.origin.env()...), env...)
	logFile := filepath.Join(s.logDir, logName+"."+bin.Name+".log")
	p, err := startProc(ctx, cpus, dir, env, logFile, bin.Path, "-f", cfg)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", port)
	if err := waitListening(p, addr, 20*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return &proxy{bin: bin, p: p, addr: addr}, nil
}

// waitListening polls addr until it accepts, p exits or timeout passes.
func waitListening(p *cmdProc, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("exited (%v): %s", p.err, p.firstAlert())
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("not listening on %s after %v", addr, timeout)
}

// startChecked starts bin on a scenario variant and runs the scenario's check. cfg
// overrides the variant's configuration file when not empty (the tests use it).
func (s *suite) startChecked(ctx context.Context, bin binary, sc scenario, v variant, cfg string) (*proxy, error) {
	dir := filepath.Join(s.scenarioDir, sc.Name)
	if cfg == "" {
		cfg = filepath.Join(dir, v.Cfg)
	}
	px, err := s.startProxy(ctx, bin, dir, cfg, v.cpus(), runName(sc, v), v.Env)
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	err = sc.check(px.addr, v)
	if err != nil {
		time.Sleep(200 * time.Millisecond) // one retry: a proxy may listen before it serves
		err = sc.check(px.addr, v)
	}
	if err != nil {
		px.p.stop()
		return nil, fmt.Errorf("check: %w", err)
	}
	return px, nil
}

func runName(sc scenario, v variant) string {
	if v.Name == "" {
		return sc.Name
	}
	return sc.Name + "." + v.Name
}

// runScenario runs every selected variant of sc: start and check each binary, warm each
// up, then rounds interleaved A/B/A/B.
func (s *suite) runScenario(ctx context.Context, sc scenario) {
	for _, v := range sc.Variants {
		s.logf("scenario %s", runName(sc, v))
		var live []*proxy
		for _, bin := range s.bins {
			px, err := s.startChecked(ctx, bin, sc, v, "")
			if err != nil {
				st := statusFailed
				note := err.Error()
				if bin.Name == "luaproxy" && sc.Requires != "" {
					st, note = statusUnsupported, "needs "+sc.Requires+": "+note
				}
				s.logf("  %s: %s: %s", bin.Name, st, note)
				s.runs = append(s.runs, loadRun{Scenario: sc.Name, Variant: v.Name, Binary: bin.Name, Status: st, Note: oneLine(note)})
				continue
			}
			live = append(live, px)
		}
		for _, px := range live {
			if _, err := s.load(ctx, sc, px, s.opt.warmup); err != nil {
				s.logf("  %s warm-up: %v", px.bin.Name, err)
			}
		}
		for round := 1; round <= s.rounds(sc); round++ {
			var rs []loadRun
			if s.opt.sideBySide {
				rs = s.measureTogether(ctx, sc, v, live, round)
			} else {
				for _, px := range live {
					rs = append(rs, s.measure(ctx, sc, v, px, round))
				}
			}
			s.logRuns(rs)
		}
		if sc.Target && !s.opt.sideBySide && len(live) > 1 {
			tv := v
			tv.Name = togetherVariant
			if v.Name != "" {
				tv.Name = v.Name + "." + togetherVariant
			}
			for round := 1; round <= togetherRounds && ctx.Err() == nil; round++ {
				s.logRuns(s.measureTogether(ctx, sc, tv, live, round))
			}
		}
		for _, px := range live {
			px.p.stop()
		}
	}
}

// logRuns logs and records measured rounds.
func (s *suite) logRuns(rs []loadRun) {
	for _, r := range rs {
		s.logf("  round %d %-8s %-6s %9.0f req/s  p50 %.3f ms  p99 %.3f ms  cpu %.2fs  noise %.2f %s%s",
			r.Round, r.Binary, r.Status, r.RPS, r.P50, r.P99, r.ProxyCPU, r.Noise, r.Note, togetherMark(r))
		s.runs = append(s.runs, r)
	}
}

// togetherMark marks the log line of a round measured side by side.
func togetherMark(r loadRun) string {
	if strings.HasSuffix(r.Variant, togetherVariant) {
		return " (" + togetherVariant + ")"
	}
	return ""
}

// rounds is how many interleaved rounds sc runs.
func (s *suite) rounds(sc scenario) int {
	if sc.Target && !s.opt.roundsSet {
		return max(s.opt.rounds, targetRounds)
	}
	return s.opt.rounds
}

// load drives px for d with the scenario's load generator.
func (s *suite) load(ctx context.Context, sc scenario, px *proxy, d time.Duration) (loadResult, error) {
	if sc.HTTP {
		return runWrk(ctx, loadCPUs, "http://"+px.addr+benchPath, s.opt.conns, d)
	}
	return runTCPLoad(ctx, s.self, loadCPUs, px.addr, sc.TCP, s.opt.conns, d)
}

// measure runs one round against px and accounts the CPU used during it.
func (s *suite) measure(ctx context.Context, sc scenario, v variant, px *proxy, round int) loadRun {
	r := loadRun{Scenario: sc.Name, Variant: v.Name, Binary: px.bin.Name, Round: round, Status: statusOK}
	w := startWindow(px.p.pid, s.origin.pid())
	res, err := s.load(ctx, sc, px, s.opt.duration)
	wall, cpu, busy := w.stop()
	r.loadResult, r.Wall, r.ProxyCPU, r.OriginCPU = res, wall, cpu[0], cpu[1]
	r.Noise = max(0, (busy-cpu[0]-cpu[1]-res.CPU)/wall)
	r.judge(err, px)
	return r
}

// measureTogether is measure for every proxy at once (-side-by-side): each has its own
// load generator, the proxies share their CPU and the load generators theirs, and each
// proxy's CPU time is taken over the same window. A neighbour's load then weighs on
// every proxy alike, so requests per CPU-second compare even on a busy host (two builds
// measured this way agree within about 1.5%, where interleaved rounds scatter by 10%);
// req/s only says how the kernel shared the CPU. The origin's CPU is the whole round's.
func (s *suite) measureTogether(ctx context.Context, sc scenario, v variant, live []*proxy, round int) []loadRun {
	pids := []int{s.origin.pid()}
	for _, px := range live {
		pids = append(pids, px.p.pid)
	}
	rs := make([]loadRun, len(live))
	errs := make([]error, len(live))
	w := startWindow(pids...)
	var wg sync.WaitGroup
	for i, px := range live {
		wg.Go(func() { rs[i].loadResult, errs[i] = s.load(ctx, sc, px, s.opt.duration) })
	}
	wg.Wait()
	wall, cpu, busy := w.stop()
	others := busy - cpu[0]
	for i := range live {
		others -= cpu[i+1] + rs[i].CPU
	}
	for i, px := range live {
		r := &rs[i]
		r.Scenario, r.Variant, r.Binary, r.Round, r.Status = sc.Name, v.Name, px.bin.Name, round, statusOK
		r.Wall, r.ProxyCPU, r.OriginCPU, r.Noise = wall, cpu[i+1], cpu[0], max(0, others/wall)
		r.judge(errs[i], px)
	}
	return rs
}

// judge sets the status of a measured run from the load's error and the proxy's state.
func (r *loadRun) judge(err error, px *proxy) {
	switch {
	case err != nil:
		r.Status, r.Note = statusFailed, oneLine(err.Error())
	case px.p.exited():
		r.Status, r.Note = statusFailed, "proxy exited: "+oneLine(px.p.firstAlert())
	case r.Errors*100 > r.Requests:
		r.Status, r.Note = statusFailed, fmt.Sprintf("%d errors for %d requests", r.Errors, r.Requests)
	case r.Errors > 0:
		r.Note = strconv.FormatInt(r.Errors, 10) + " errors"
	}
}

// oneLine makes a message fit a TSV cell.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
