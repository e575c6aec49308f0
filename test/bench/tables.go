package main

import (
	"fmt"
	"slices"
	"strings"
)

// fyMedians returns, per runner and forced-yield value, the median M loops per 10 s over
// the successful rounds, and the note of a failure when there is none.
func fyMedians(rs []fyResult) (map[string]map[int]float64, map[string]map[int]string) {
	vals := map[string]map[int][]float64{}
	notes := map[string]map[int]string{}
	for _, r := range rs {
		if vals[r.Runner] == nil {
			vals[r.Runner], notes[r.Runner] = map[int][]float64{}, map[int]string{}
		}
		if r.Status == statusOK {
			vals[r.Runner][r.ForcedYield] = append(vals[r.Runner][r.ForcedYield], r.MPer10s())
		} else {
			notes[r.Runner][r.ForcedYield] = statusCell(r.Status, r.Note)
		}
	}
	out := map[string]map[int]float64{}
	for runner, m := range vals {
		out[runner] = map[int]float64{}
		for fy, v := range m {
			out[runner][fy] = med(v)
		}
	}
	return out, notes
}

func fyPoints(rs []fyResult) []int {
	var pts []int
	for _, r := range rs {
		if r.ForcedYield > 0 && !slices.Contains(pts, r.ForcedYield) {
			pts = append(pts, r.ForcedYield)
		}
	}
	slices.Sort(pts)
	return pts
}

// fyNoise returns the largest noise seen at each forced-yield value (0: the ceiling).
func fyNoise(rs []fyResult) map[int]float64 {
	n := map[int]float64{}
	for _, r := range rs {
		n[r.ForcedYield] = max(n[r.ForcedYield], r.Noise)
	}
	return n
}

func (s *suite) fyTable(b *strings.Builder) {
	m, notes := fyMedians(s.fy)
	noise := fyNoise(s.fy)
	ceil := m["lua5.3"][0]
	fmt.Fprintf(b, "\n## Forced-yield table\n\n")
	fmt.Fprintf(b, "Millions of loops executed in 10 s (measured for %v of wall time per point, scaled) by a Lua "+
		"task, for each `tune.lua.forced-yield`; %% of the bare `lua5.3` ceiling (no hook: %.0f M) in parentheses. "+
		"Medians of %d rounds; noise is the largest seen at that row. The document's laptop figures for HAProxy "+
		"are in the last column.\n\n", s.opt.spin, ceil, s.opt.expRounds)
	fmt.Fprintf(b, "| forced-yield |")
	for _, bin := range s.bins {
		fmt.Fprintf(b, " %s |", bin.Name)
	}
	fmt.Fprintf(b, " noise | document (HAProxy) |\n|--:|")
	for range s.bins {
		fmt.Fprintf(b, "--:|")
	}
	fmt.Fprintf(b, "--:|--:|\n")
	for _, fy := range fyPoints(s.fy) {
		fmt.Fprintf(b, "| %d |", fy)
		for _, bin := range s.bins {
			v, ok := m[bin.Name][fy]
			switch {
			case !ok && notes[bin.Name][fy] != "":
				fmt.Fprintf(b, " %s |", notes[bin.Name][fy])
			case !ok:
				fmt.Fprintf(b, " — |")
			case ceil > 0:
				fmt.Fprintf(b, " %.0f (%.0f%%) |", v, v/ceil*100)
			default:
				fmt.Fprintf(b, " %.0f |", v)
			}
		}
		doc := docForcedYield[fy]
		if doc == "" {
			doc = "—"
		}
		fmt.Fprintf(b, " %.2f | %s |\n", noise[fy], doc)
	}
	if ceil > 0 {
		fmt.Fprintf(b, "| lua5.3, no hook |")
		for range s.bins {
			fmt.Fprintf(b, " %.0f |", ceil)
		}
		fmt.Fprintf(b, " %.2f | — |\n", noise[0])
	}
}

func (s *suite) concatTable(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Concatenation: 1,000 times 1,000 concatenations of 10 bytes\n\n")
	fmt.Fprintf(b, "Seconds (best of %d); speed-up against `..` in parentheses. The document: 1 s in pure Lua, "+
		"0.1 s with a C module (10×). In the proxies the code runs as a Lua task.\n\n", s.opt.concatReps)
	fmt.Fprintf(b, "| runner | `..` | `table.concat` | `core.concat()` | `cmodules/concat` |\n|---|--:|--:|--:|--:|\n")
	var runners []string
	for _, r := range s.concat {
		if !slices.Contains(runners, r.Runner) {
			runners = append(runners, r.Runner)
		}
	}
	for _, runner := range runners {
		fmt.Fprintf(b, "| %s |", runner)
		for _, method := range concatMethods {
			for _, r := range s.concat {
				if r.Runner != runner || r.Method != method {
					continue
				}
				if r.Status != statusOK {
					fmt.Fprintf(b, " %s |", statusCell(r.Status, r.Note))
					continue
				}
				sp := ""
				if method != "lua_dotdot" {
					sp = " (" + concatSpeedup(s.concat, runner, method) + ")"
				}
				fmt.Fprintf(b, " %.3f%s |", r.Seconds, sp)
			}
		}
		fmt.Fprintf(b, "\n")
	}
}

// startupKey identifies one start-up configuration.
type startupKey struct {
	bin      string
	backends int
	script   bool
}

// startupMedians returns median seconds, RSS and HWM per configuration, and the note of
// the configurations that never started.
func startupMedians(rs []startupResult) (map[startupKey][3]float64, map[startupKey]string) {
	vals := map[startupKey][][3]float64{}
	notes := map[startupKey]string{}
	for _, r := range rs {
		k := startupKey{r.Binary, r.Backends, r.Script}
		if r.Status == statusOK {
			vals[k] = append(vals[k], [3]float64{r.Seconds, float64(r.RSS), float64(r.HWM)})
		} else {
			notes[k] = statusCell(r.Status, r.Note)
		}
	}
	out := map[startupKey][3]float64{}
	for k, v := range vals {
		var t, rss, hwm []float64
		for _, x := range v {
			t, rss, hwm = append(t, x[0]), append(rss, x[1]), append(hwm, x[2])
		}
		out[k] = [3]float64{med(t), med(rss), med(hwm)}
	}
	return out, notes
}

func (s *suite) startupTable(b *strings.Builder) {
	m, notes := startupMedians(s.startup)
	fmt.Fprintf(b, "\n## Start-up with many backends\n\n")
	fmt.Fprintf(b, "Time from exec to the first answered request (a line echoed through `be1`), and VmRSS / VmHWM "+
		"right after it. \"script\": `lua-load` of a script indexing `core.backends` at init. "+
		"Reference: haproxy 2.6 needs ≈21 s and 4.3 GB to start with 300k backends (bench-full only).\n\n")
	fmt.Fprintf(b, "| backends | script |")
	for _, bin := range s.bins {
		fmt.Fprintf(b, " %s time | %s RSS / peak |", bin.Name, bin.Name)
	}
	fmt.Fprintf(b, "\n|--:|---|")
	for range s.bins {
		fmt.Fprintf(b, "--:|--:|")
	}
	fmt.Fprintf(b, "\n")
	var counts []int
	for _, r := range s.startup {
		if !slices.Contains(counts, r.Backends) {
			counts = append(counts, r.Backends)
		}
	}
	for _, n := range counts {
		for _, script := range []bool{false, true} {
			fmt.Fprintf(b, "| %d | %s |", n, map[bool]string{false: "no", true: "yes"}[script])
			for _, bin := range s.bins {
				k := startupKey{bin.Name, n, script}
				if v, ok := m[k]; ok {
					fmt.Fprintf(b, " %.3f s | %s / %s |", v[0], mib(int64(v[1])), mib(int64(v[2])))
				} else {
					fmt.Fprintf(b, " %s | |", orDash(notes[k]))
				}
			}
			fmt.Fprintf(b, "\n")
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (s *suite) goBenchTable(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Go micro-benchmarks\n\n")
	fmt.Fprintf(b, "`go test -run '^$' -bench . -benchmem -benchtime %s` over every package with a Benchmark "+
		"function, pinned to CPU %s.\n\n", s.opt.benchtime, proxyCPUs)
	fmt.Fprintf(b, "| package | benchmark | ns/op | B/op | allocs/op | other |\n|---|---|--:|--:|--:|---|\n")
	for _, r := range s.gobench {
		if r.Status != statusOK {
			fmt.Fprintf(b, "| %s | %s | %s%s | | | |\n", r.Pkg, orDash(r.Name), r.Status, cut(r.Note, 80))
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %.1f | %s | %s | %s |\n", r.Pkg, r.Name, r.NsOp, opt0(r.BytesOp), opt0(r.AllocsOp), r.Extra)
	}
}

func opt0(v float64) string {
	if v < 0 {
		return ""
	}
	return f0(v)
}
