// Command bench is luaproxy's benchmark suite: it measures bin/luaproxy side by side with
// Debian's haproxy on the same configurations (scenarios/), reproduces the HAProxy Lua
// documents' own results (forced-yield table, concatenation, start-up with many backends),
// runs the Go micro-benchmarks, and writes raw and median TSVs plus report.md with plots.
//
//	go run ./test/bench [-quick|-full] [-scenario name] [-out dir]
//
// The proxy is pinned to CPU 0, the load generator and the origin to CPU 1 (taskset).
// Every child process runs in its own process group and is killed when its time is up.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	quick, full    bool
	scenario       string // "" = all; else a load scenario or forced_yield, concat, startup, gobench
	out            string
	luaproxy       string
	haproxy        string
	warmup         time.Duration
	duration       time.Duration
	rounds         int
	roundsSet      bool          // -rounds given: every scenario runs that many
	sideBySide     bool          // the proxies run at the same time (measureTogether)
	conns          int           // connections of the load generators
	expRounds      int           // rounds of the forced-yield and start-up experiments
	spin           time.Duration // forced-yield: Lua time per point
	concatReps     int
	benchtime      string
	gotestFlags    string
	startupTimeout time.Duration
}

// suite holds the run's settings and everything measured.
type suite struct {
	opt         options
	root        string // repository root
	scenarioDir string
	outDir      string
	logDir      string
	self        string // this executable, started again for the origin and tcpload roles
	lua         string // lua5.3, for the ceilings
	bins        []binary
	origin      *origin
	notes       []string // shown at the top of the report (skipped binaries, ...)
	started     time.Time
	elapsed     time.Duration

	runs    []loadRun
	fy      []fyResult
	concat  []concatResult
	startup []startupResult
	idle    []idleResult
	gobench []goBench
}

// experiments are the parts besides the load scenarios, in the order they run.
var experiments = []string{"gobench", "forced_yield", "concat", "startup", "idle_conns"}

func main() {
	// The origin and the TCP load generator are this binary again, with their own flags.
	if len(os.Args) > 2 && os.Args[1] == "-role" {
		if err := runRole(os.Args[2], os.Args[3:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var opt options
	flag.BoolVar(&opt.quick, "quick", false, "the quick set (the default; make bench)")
	flag.BoolVar(&opt.full, "full", false, "everything, longer runs and more rounds (make bench-full)")
	flag.StringVar(&opt.scenario, "scenario", "", "run only this scenario or experiment ("+strings.Join(names(), ", ")+")")
	flag.StringVar(&opt.out, "out", "", "output directory (default bench-results/ at the repository root)")
	flag.StringVar(&opt.luaproxy, "luaproxy", "", "luaproxy binary (default bin/luaproxy)")
	flag.StringVar(&opt.haproxy, "haproxy", "haproxy", "haproxy binary; skipped with a message when not found")
	flag.StringVar(&opt.gotestFlags, "gotest-flags", "", "extra go test flags for the Go micro-benchmarks (e.g. '-count=6 -benchtime=2s')")
	flag.IntVar(&opt.conns, "connections", defaultConns, "connections of the load generators (wrk -c, the TCP generator's); fewer: the proxy idles between requests")
	rounds := flag.Int("rounds", 0, "interleaved rounds per scenario variant, overriding the set's (more rounds: a steadier median ratio on a noisy host)")
	duration := flag.Duration("duration", 0, "length of each round, overriding the set's")
	flag.BoolVar(&opt.sideBySide, "side-by-side", false, "run the compared proxies at the same time, each with its own load generator, "+
		"and compare their requests per CPU-second: steadier than interleaved rounds on a busy host, but each proxy has "+
		"half a core and the other's cache footprint (not the target's measure; with -haproxy set to another luaproxy "+
		"build, it compares two builds)")
	pgo := flag.String("pgo", "", "instead of the comparison, write the CPU profile of luaproxy under the main scenarios to this file (make pgo)")
	flag.Parse()
	if opt.quick && opt.full {
		fatal(errors.New("-quick and -full exclude each other"))
	}
	if opt.conns < 1 {
		fatal(errors.New("-connections must be at least 1"))
	}
	opt.setDefaults()
	if *rounds > 0 {
		opt.rounds, opt.roundsSet = *rounds, true
	}
	if *duration > 0 {
		opt.duration = *duration
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := newSuite(opt)
	if err != nil {
		fatal(err)
	}
	if *pgo != "" {
		if err := s.runPGO(ctx, *pgo); err != nil {
			fatal(err)
		}
		return
	}
	failed := s.run(ctx)
	if err := s.writeOutputs(); err != nil {
		fatal(err)
	}
	fmt.Printf("bench: report in %s (%s)\n", filepath.Join(s.outDir, "report.md"), s.elapsed.Round(time.Second))
	if failed > 0 {
		fmt.Printf("bench: %d failed run(s), see the report\n", failed)
		os.Exit(1)
	}
}

func runRole(role string, args []string) error {
	switch role {
	case "origin":
		return originMain()
	case "tcpload":
		return tcpLoadMain(args)
	}
	return fmt.Errorf("unknown role %q", role)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(2)
}

func names() []string {
	var n []string
	for _, sc := range scenarios {
		n = append(n, sc.Name)
	}
	return append(n, experiments...)
}

func (o *options) setDefaults() {
	if o.full {
		o.warmup, o.duration, o.rounds = 3*time.Second, 10*time.Second, 5
		o.expRounds, o.spin, o.concatReps = 5, 3*time.Second, 5
		o.benchtime, o.startupTimeout = "1s", 10*time.Minute
		return
	}
	o.quick = true
	o.warmup, o.duration, o.rounds = time.Second, 3*time.Second, 3
	o.expRounds, o.spin, o.concatReps = 3, time.Second, 3
	o.benchtime, o.startupTimeout = "100ms", 2*time.Minute
}

// newSuite finds the repository, the binaries and the tools, and creates the output.
func newSuite(opt options) (*suite, error) {
	s := &suite{opt: opt, started: time.Now()}
	var err error
	if s.root, err = repoRoot(); err != nil {
		return nil, err
	}
	s.scenarioDir = filepath.Join(s.root, "test", "bench", "scenarios")
	if opt.scenario != "" && !contains(names(), opt.scenario) {
		return nil, fmt.Errorf("unknown scenario %q (have %s)", opt.scenario, strings.Join(names(), ", "))
	}
	s.outDir = opt.out
	if s.outDir == "" {
		s.outDir = filepath.Join(s.root, "bench-results")
	}
	s.logDir = filepath.Join(s.outDir, "logs")
	if err := os.MkdirAll(s.logDir, 0o755); err != nil {
		return nil, err
	}
	// The output ignores itself: nothing measured is ever committed by accident.
	if err := os.WriteFile(filepath.Join(s.outDir, ".gitignore"), []byte("*\n"), 0o644); err != nil {
		return nil, err
	}
	if s.self, err = os.Executable(); err != nil {
		return nil, err
	}
	lp := opt.luaproxy
	if lp == "" {
		lp = filepath.Join(s.root, "bin", "luaproxy")
	}
	if _, err := os.Stat(lp); err != nil {
		return nil, fmt.Errorf("%s not found: run make build first (%v)", lp, err)
	}
	// Absolute: the proxies run in their scenario's directory.
	lp, _ = filepath.Abs(lp)
	s.bins = append(s.bins, binary{Name: "luaproxy", Path: lp})
	if hp, err := exec.LookPath(opt.haproxy); err == nil {
		hp, _ = filepath.Abs(hp)
		s.bins = append(s.bins, binary{Name: "haproxy", Path: hp})
	} else {
		s.note("haproxy not installed (%v): luaproxy alone, no ratios (make bench installs it)", err)
	}
	if _, err := exec.LookPath("taskset"); err == nil {
		haveTaskset = true
	} else {
		s.note("taskset not installed: nothing pinned, figures are noisier")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		s.note("wrk not installed: HTTP scenarios cannot run")
	}
	s.lua = "lua5.3"
	if _, err := exec.LookPath(s.lua); err != nil {
		s.note("lua5.3 not installed: no bare-interpreter ceilings")
	}
	return s, nil
}

// repoRoot walks up from the working directory to the go.mod of module luaproxy.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module luaproxy\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the luaproxy repository")
		}
		dir = parent
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func (s *suite) selected(name string) bool { return s.opt.scenario == "" || s.opt.scenario == name }

// run runs everything selected and returns the number of failed runs.
func (s *suite) run(ctx context.Context) int {
	defer func() { s.elapsed = time.Since(s.started) }()
	if s.selected("gobench") {
		s.runGoBench(ctx)
	}
	o, err := startOrigin(ctx, s.self, loadCPUs, filepath.Join(s.logDir, "origin.log"))
	if err != nil {
		s.note("origin: %v: no scenario ran", err)
		return 1
	}
	s.origin = o
	defer o.cmd.stop()
	s.logf("origin http=%s echo=%s", o.httpAddr, o.echoAddr)
	for _, sc := range scenarios {
		if s.selected(sc.Name) && ctx.Err() == nil {
			s.runScenario(ctx, sc)
		}
	}
	if s.selected("forced_yield") && ctx.Err() == nil {
		s.runForcedYield(ctx)
	}
	if s.selected("concat") && ctx.Err() == nil {
		s.runConcat(ctx)
	}
	if s.selected("startup") && ctx.Err() == nil {
		s.runStartup(ctx)
	}
	if s.selected("idle_conns") && ctx.Err() == nil {
		s.runIdle(ctx)
	}
	if ctx.Err() != nil {
		s.note("interrupted: partial results")
	}
	return s.failures()
}

func (s *suite) failures() int {
	n := 0
	for _, r := range s.runs {
		if r.Status == statusFailed {
			n++
		}
	}
	for _, r := range s.fy {
		if r.Status == statusFailed {
			n++
		}
	}
	for _, r := range s.concat {
		if r.Status == statusFailed {
			n++
		}
	}
	for _, r := range s.startup {
		if r.Status == statusFailed {
			n++
		}
	}
	for _, r := range s.gobench {
		if r.Status == statusFailed {
			n++
		}
	}
	for _, r := range s.idle {
		if r.Status == statusFailed {
			n++
		}
	}
	return n
}

func (s *suite) logf(format string, args ...any) {
	fmt.Printf("bench: "+format+"\n", args...)
}

func (s *suite) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.notes = append(s.notes, msg)
	s.logf("%s", msg)
}
