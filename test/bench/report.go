package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// median is one scenario variant for one binary over its rounds (a row of medians.tsv).
type median struct {
	Scenario, Variant, Binary string
	Status, Note              string
	Rounds                    int     // successful rounds
	RPS, P50, P99             float64 // medians
	RPSPerCPU, Noise          float64
	Ratio                     float64 // luaproxy rows: median of per-round luaproxy/haproxy req/s; 0 = none
	RatioPerCPU               float64 // the same for req/s per CPU-second
}

func (m median) label() string {
	if m.Variant == "" {
		return m.Scenario
	}
	return m.Scenario + "/" + m.Variant
}

func med(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// medians groups runs by scenario, variant and binary, in the order they ran.
func medians(runs []loadRun) []median {
	type key struct{ sc, v, bin string }
	var order []key
	groups := map[key][]loadRun{}
	for _, r := range runs {
		k := key{r.Scenario, r.Variant, r.Binary}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []median
	for _, k := range order {
		m := median{Scenario: k.sc, Variant: k.v, Binary: k.bin}
		var rps, p50, p99, per, noise []float64
		for _, r := range groups[k] {
			if r.Status != statusOK {
				if m.Note == "" {
					m.Status, m.Note = r.Status, r.Note
				}
				continue
			}
			rps, p50, p99 = append(rps, r.RPS), append(p50, r.P50), append(p99, r.P99)
			per, noise = append(per, r.RPSPerCPU()), append(noise, r.Noise)
		}
		if m.Rounds = len(rps); m.Rounds > 0 {
			m.Status = statusOK
			m.RPS, m.P50, m.P99, m.RPSPerCPU, m.Noise = med(rps), med(p50), med(p99), med(per), med(noise)
		}
		if k.bin == "luaproxy" && m.Rounds > 0 {
			m.Ratio, m.RatioPerCPU = roundRatios(groups[k], groups[key{k.sc, k.v, "haproxy"}])
		}
		out = append(out, m)
	}
	return out
}

// roundRatios returns the medians of the per-round ratios a/b of req/s and req/s per CPU.
func roundRatios(a, b []loadRun) (float64, float64) {
	var r, rc []float64
	for _, x := range a {
		for _, y := range b {
			if x.Round == y.Round && x.Round > 0 && x.Status == statusOK && y.Status == statusOK && y.RPS > 0 {
				r = append(r, x.RPS/y.RPS)
				if y.RPSPerCPU() > 0 {
					rc = append(rc, x.RPSPerCPU()/y.RPSPerCPU())
				}
			}
		}
	}
	return med(r), med(rc)
}

// tsv writes rows (the first one the header) to name in the output directory.
func (s *suite) tsv(name string, rows [][]string) error {
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			r[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
		}
		b.WriteString(strings.Join(r, "\t") + "\n")
	}
	return os.WriteFile(filepath.Join(s.outDir, name), []byte(b.String()), 0o644)
}

func f0(v float64) string { return fmt.Sprintf("%.0f", v) }
func f2(v float64) string { return fmt.Sprintf("%.2f", v) }
func f3(v float64) string { return fmt.Sprintf("%.3f", v) }
func itoa(v int) string   { return fmt.Sprint(v) }

// optF3 leaves a cell empty for "no figure" (0).
func optF3(v float64) string {
	if v == 0 {
		return ""
	}
	return f3(v)
}

// writeOutputs writes the TSVs, the plots and report.md.
func (s *suite) writeOutputs() error {
	runs := [][]string{{"scenario", "variant", "binary", "round", "status", "requests", "seconds", "rps",
		"p50_ms", "p99_ms", "errors", "proxy_cpu_s", "rps_per_cpu_s", "loadgen_cpu_s", "origin_cpu_s", "noise_cpu", "note"}}
	for _, r := range s.runs {
		runs = append(runs, []string{r.Scenario, r.Variant, r.Binary, itoa(r.Round), r.Status, fmt.Sprint(r.Requests),
			f3(r.Seconds), f0(r.RPS), f3(r.P50), f3(r.P99), fmt.Sprint(r.Errors), f3(r.ProxyCPU), f0(r.RPSPerCPU()),
			f3(r.CPU), f3(r.OriginCPU), f3(r.Noise), r.Note})
	}
	meds := medians(s.runs)
	mrows := [][]string{{"scenario", "variant", "binary", "status", "rounds", "rps", "p50_ms", "p99_ms",
		"rps_per_cpu_s", "noise_cpu", "ratio_vs_haproxy", "ratio_per_cpu_vs_haproxy", "note"}}
	for _, m := range meds {
		mrows = append(mrows, []string{m.Scenario, m.Variant, m.Binary, m.Status, itoa(m.Rounds), f0(m.RPS), f3(m.P50),
			f3(m.P99), f0(m.RPSPerCPU), f3(m.Noise), optF3(m.Ratio), optF3(m.RatioPerCPU), m.Note})
	}
	fy := [][]string{{"runner", "forced_yield", "round", "status", "loops", "seconds", "mloops_per_10s", "noise_cpu", "note"}}
	for _, r := range s.fy {
		fy = append(fy, []string{r.Runner, itoa(r.ForcedYield), itoa(r.Round), r.Status, fmt.Sprint(r.Loops), f3(r.Seconds),
			f0(r.MPer10s()), f3(r.Noise), r.Note})
	}
	cc := [][]string{{"runner", "method", "status", "seconds", "note"}}
	for _, r := range s.concat {
		cc = append(cc, []string{r.Runner, r.Method, r.Status, f3(r.Seconds), r.Note})
	}
	st := [][]string{{"binary", "backends", "script", "round", "status", "seconds", "vmrss_bytes", "vmhwm_bytes", "note"}}
	for _, r := range s.startup {
		st = append(st, []string{r.Binary, itoa(r.Backends), fmt.Sprint(r.Script), itoa(r.Round), r.Status, f3(r.Seconds), fmt.Sprint(r.RSS), fmt.Sprint(r.HWM), r.Note})
	}
	id := [][]string{{"binary", "connections", "kind", "opened", "round", "status", "vmrss_before_bytes", "vmrss_after_bytes", "bytes_per_conn", "thread_switches_per_s", "note"}}
	for _, r := range s.idle {
		id = append(id, []string{r.Binary, itoa(r.Conns), r.Kind, r.Opening, itoa(r.Round), r.Status, fmt.Sprint(r.Before), fmt.Sprint(r.After), f0(r.PerConn()), f0(r.Wakeups), r.Note})
	}
	gb := [][]string{{"package", "benchmark", "status", "ns_op", "bytes_op", "allocs_op", "extra", "note"}}
	for _, r := range s.gobench {
		gb = append(gb, []string{r.Pkg, r.Name, r.Status, fmt.Sprintf("%.2f", r.NsOp), f0(r.BytesOp), f0(r.AllocsOp), r.Extra, r.Note})
	}
	for name, rows := range map[string][][]string{"runs.tsv": runs, "medians.tsv": mrows, "forced_yield.tsv": fy,
		"concat.tsv": cc, "startup.tsv": st, "idle.tsv": id, "gobench.tsv": gb} {
		if len(rows) > 1 {
			if err := s.tsv(name, rows); err != nil {
				return err
			}
		}
	}
	plots := s.writePlots(meds)
	return os.WriteFile(filepath.Join(s.outDir, "report.md"), []byte(s.markdown(meds, plots)), 0o644)
}
