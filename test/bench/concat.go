package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The architecture document's "1,000 times 1,000 concatenations of 10 bytes" (1 s in pure
// Lua, 0.1 s with a C module): ".." vs table.concat vs core.concat() vs cmodules/concat,
// under lua5.3 and as a Lua task in each proxy (scenarios/concat).

// concatMethods is the order of the report's columns.
var concatMethods = []string{"lua_dotdot", "table_concat", "core_concat", "cmodule_concat"}

// concatResult is one method under one runner (a row of concat.tsv).
type concatResult struct {
	Runner  string
	Method  string
	Status  string
	Seconds float64 // best of the script's repetitions
	Note    string
}

func (s *suite) runConcat(ctx context.Context) {
	dir := filepath.Join(s.scenarioDir, "concat")
	env := []string{"BENCH_CMODULES=" + filepath.Join(s.root, "cmodules"), "BENCH_CONCAT_REPS=" + strconv.Itoa(s.opt.concatReps)}
	timeout := 5 * time.Minute
	out, err := runOutput(ctx, timeout, dir, proxyCPUs, env, s.lua, "concat_bench.lua")
	s.addConcat("lua5.3", out, err)
	for _, bin := range s.bins {
		lines, err := s.runTask(ctx, bin, dir, "bench.cfg", "concat", env, "bench-concat", "bench-concat done", timeout)
		s.addConcat(bin.Name, strings.Join(lines, "\n"), err)
	}
}

// addConcat parses "bench-concat method=M seconds=S" and "... method=M unsupported=WHY".
func (s *suite) addConcat(runner, out string, err error) {
	got := map[string]concatResult{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "bench-concat" || !strings.HasPrefix(f[1], "method=") {
			continue
		}
		r := concatResult{Runner: runner, Method: strings.TrimPrefix(f[1], "method=")}
		k, v, _ := strings.Cut(f[2], "=")
		switch k {
		case "seconds":
			r.Status = statusOK
			r.Seconds, _ = strconv.ParseFloat(v, 64)
		case "unsupported":
			r.Status, r.Note = statusUnsupported, strings.ReplaceAll(v, "_", " ")
		}
		got[r.Method] = r
	}
	for _, m := range concatMethods {
		r, ok := got[m]
		if !ok {
			r = concatResult{Runner: runner, Method: m, Status: statusFailed, Note: "no result"}
			if err != nil {
				r.Note = oneLine(err.Error())
			}
		}
		s.logf("concat %-8s %-14s %-11s %.3fs %s", runner, m, r.Status, r.Seconds, r.Note)
		s.concat = append(s.concat, r)
	}
}

// concatSpeedup returns ".." time / method time for a runner, or "" when either is missing.
func concatSpeedup(rs []concatResult, runner, method string) string {
	var base, t float64
	for _, r := range rs {
		if r.Runner != runner || r.Status != statusOK {
			continue
		}
		switch r.Method {
		case "lua_dotdot":
			base = r.Seconds
		case method:
			t = r.Seconds
		}
	}
	if base == 0 || t == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f×", base/t)
}
