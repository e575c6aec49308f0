package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// docForcedYield is the architecture document's table (millions of loops in 10 s).
var docForcedYield = map[int]string{10: "160", 500: "670", 1000: "680", 5000: "700", 7000: "700",
	8000: "700", 9000: "710", 10000: "710", 100000: "710", 1000000: "710"}

// versions returns one line per tool: what ran.
func (s *suite) versions() []string {
	ctx := context.Background()
	first := func(name string, args ...string) string {
		out, err := runOutput(ctx, 5*time.Second, "", "", nil, name, args...)
		if err != nil && out == "" {
			return name + ": " + err.Error()
		}
		return strings.TrimSpace(strings.SplitN(strings.TrimSpace(out), "\n", 2)[0])
	}
	var v []string
	for _, b := range s.bins {
		v = append(v, first(b.Path, "-v"))
	}
	v = append(v, first(s.lua, "-v"), first("wrk", "-v"), first("uname", "-srm"), fmt.Sprintf("%d CPUs, %s", runtime.NumCPU(), runtime.Version()))
	return v
}

func (s *suite) markdown(meds []median, plots map[string]string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	mode := "-quick"
	if s.opt.full {
		mode = "-full"
	}
	p("# luaproxy benchmark report\n\n")
	p("%s, `go run ./test/bench %s`, took %s.\n\n", s.started.Format("2006-01-02 15:04 MST"), mode, s.elapsed.Round(time.Second))
	for _, v := range s.versions() {
		p("- %s\n", v)
	}
	how := "interleaved luaproxy/haproxy"
	if s.opt.sideBySide {
		how = "with both proxies at once (`-side-by-side`: they share the CPU, one load generator each; " +
			"compare requests per CPU-second, req/s only says how the kernel shared the CPU)"
	}
	p("\nMethod: the proxy pinned to CPU %s, the load generator and the origin to CPU %s (`taskset`); "+
		"warm-up %v, then %d rounds of %v %s (%s); HTTP load is `wrk -t%d -c%d --latency`, "+
		"TCP load the suite's own closed-loop generator (%d connections, one line per round trip). "+
		"Figures are medians over rounds; the ratio is the median of the per-round luaproxy/haproxy ratios. "+
		"Noise is the CPU used by everything else on the machine during a run (from /proc/stat, minus the proxy, "+
		"the origin and the load generator), in CPUs: 0.30 means another process used 30%% of a CPU.%s\n\n",
		proxyCPUs, loadCPUs, s.opt.warmup, s.opt.rounds, s.opt.duration, how, s.targetRoundsNote(), wrkThreads, s.opt.conns, s.opt.conns,
		s.togetherNote())
	for _, n := range s.notes {
		p("> %s\n\n", n)
	}
	if len(meds) > 0 {
		s.loadTable(&b, meds)
		p("\n%s%s\n", img(plots, "rps"), img(plots, "latency"))
		s.gcTable(&b, meds)
	}
	if len(s.fy) > 0 {
		s.fyTable(&b)
		p("\n%s\n", img(plots, "forced_yield"))
	}
	if len(s.concat) > 0 {
		s.concatTable(&b)
	}
	if len(s.startup) > 0 {
		s.startupTable(&b)
		p("\n%s%s\n", img(plots, "startup_time"), img(plots, "startup_rss"))
	}
	if len(s.idle) > 0 {
		s.idleTable(&b)
	}
	if len(s.gobench) > 0 {
		s.goBenchTable(&b)
	}
	p("\nRaw runs: `runs.tsv`; medians: `medians.tsv`; experiments: `forced_yield.tsv`, `concat.tsv`, " +
		"`startup.tsv`, `idle.tsv`, `gobench.tsv`; each proxy's output: `logs/`.\n")
	return b.String()
}

func img(plots map[string]string, name string) string {
	if f, ok := plots[name]; ok {
		return fmt.Sprintf("![%s](%s)\n", name, f)
	}
	return ""
}

// byBin returns the median of each binary for one scenario variant.
func byBin(meds []median, label string) map[string]median {
	out := map[string]median{}
	for _, m := range meds {
		if m.label() == label {
			out[m.Binary] = m
		}
	}
	return out
}

func labels(meds []median) []string {
	var l []string
	for _, m := range meds {
		if !contains(l, m.label()) {
			l = append(l, m.label())
		}
	}
	return l
}

// cell shows a binary's figure, or its status and reason.
func cell(m median, ok bool, f func(median) string) string {
	switch {
	case !ok:
		return "—"
	case m.Status != statusOK:
		return statusCell(m.Status, m.Note)
	}
	return f(m)
}

// statusCell shows why there is no figure: for unsupported, the requirement only
// ("needs HTTP mode, AppletHTTP: start: exited ..." -> "needs HTTP mode, AppletHTTP").
func statusCell(status, note string) string {
	if status == statusUnsupported {
		note, _, _ = strings.Cut(note, ": ")
	}
	return status + cut(note, 60)
}

func cut(note string, n int) string {
	if note == "" {
		return ""
	}
	if len(note) > n {
		note = note[:n] + "…"
	}
	return " (" + strings.ReplaceAll(note, "|", "/") + ")"
}

func (s *suite) loadTable(b *strings.Builder, meds []median) {
	fmt.Fprintf(b, "## Load scenarios\n\n")
	fmt.Fprintf(b, "| scenario | luaproxy req/s | haproxy req/s | ratio | luaproxy p50 / p99 ms | haproxy p50 / p99 ms | req per CPU-s lp / hp (ratio) | noise |\n")
	fmt.Fprintf(b, "|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, l := range labels(meds) {
		m := byBin(meds, l)
		lp, lok := m["luaproxy"]
		hp, hok := m["haproxy"]
		rps := func(m median) string { return f0(m.RPS) }
		lat := func(m median) string { return f3(m.P50) + " / " + f3(m.P99) }
		ratio, perCPU := "—", "—"
		if lp.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", lp.Ratio)
		}
		if lok && hok && lp.Status == statusOK && hp.Status == statusOK {
			perCPU = fmt.Sprintf("%s / %s (%.2f)", f0(lp.RPSPerCPU), f0(hp.RPSPerCPU), lp.RatioPerCPU)
		} else if hok && hp.Status == statusOK {
			perCPU = "— / " + f0(hp.RPSPerCPU)
		} else if lok && lp.Status == statusOK {
			perCPU = f0(lp.RPSPerCPU) + " / —"
		}
		noise := []string{}
		for _, x := range []median{lp, hp} {
			if x.Status == statusOK {
				noise = append(noise, f2(x.Noise))
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", l, cell(lp, lok, rps), cell(hp, hok, rps), ratio,
			cell(lp, lok, lat), cell(hp, hok, lat), perCPU, strings.Join(noise, " / "))
	}
}

// gcTable derives the forced-GC experiment from the socket_roundtrip variants.
func (s *suite) gcTable(b *strings.Builder, meds []median) {
	v := map[string]map[string]median{}
	for _, name := range []string{"sock", "sock_gc", "nosock", "nosock_gc"} {
		v[name] = byBin(meds, "socket_roundtrip/"+name)
	}
	if len(v["sock"]) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Forced GC after socket actions\n\n")
	fmt.Fprintf(b, "The document: a full GC cycle is forced after every action that used a socket, \"about 10%%\" of "+
		"performance. `nosock_gc` vs `nosock` is the cost of a full GC per action; `sock_gc` vs `sock` stays near 1 "+
		"when the proxy already collects after socket actions.\n\n")
	fmt.Fprintf(b, "| binary | sock | sock_gc | nosock | nosock_gc | GC cost (1 − nosock_gc/nosock) | sock_gc/sock |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, bin := range s.bins {
		row := []string{bin.Name}
		rps := map[string]float64{}
		for _, name := range []string{"sock", "sock_gc", "nosock", "nosock_gc"} {
			m, ok := v[name][bin.Name]
			row = append(row, cell(m, ok, func(m median) string { return f0(m.RPS) }))
			if ok && m.Status == statusOK {
				rps[name] = m.RPS
			}
		}
		row = append(row, pct(1-safeDiv(rps["nosock_gc"], rps["nosock"]), rps["nosock"] > 0 && rps["nosock_gc"] > 0),
			ratioStr(safeDiv(rps["sock_gc"], rps["sock"])))
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
}

func safeDiv(a, b float64) float64 {
	if b == 0 || a == 0 {
		return 0
	}
	return a / b
}

func pct(v float64, ok bool) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", v*100)
}

func ratioStr(v float64) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

// togetherNote describes the target scenarios' side-by-side rows.
func (s *suite) togetherNote() string {
	if s.opt.sideBySide {
		return ""
	}
	return fmt.Sprintf(" The target scenarios' `/%s` rows are %d more rounds with both proxies at once on CPU %s, "+
		"each with its own load generator (`-side-by-side`): read their requests per CPU-second, which a neighbour's "+
		"load weighs on alike; their req/s only says how the kernel shared the CPU.", togetherVariant, togetherRounds, proxyCPUs)
}

// targetRoundsNote says how many rounds the target scenarios ran.
func (s *suite) targetRoundsNote() string {
	var names []string
	for _, sc := range scenarios {
		if sc.Target {
			names = append(names, sc.Name)
		}
	}
	return fmt.Sprintf("%d for %s, issue 5's target", s.rounds(scenario{Target: true}), strings.Join(names, ", "))
}
