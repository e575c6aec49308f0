package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The Go micro-benchmarks (testing.B next to the code): every package with a Benchmark
// function is compiled with go test -c and its benchmarks run pinned to the proxy's CPU
// with a short -benchtime, so the report carries their ns/op and allocs/op.

// goBench is one benchmark line (a row of gobench.tsv); a package that failed to build or
// run has one row with Status failed.
type goBench struct {
	Pkg      string
	Name     string
	Status   string
	Note     string
	NsOp     float64
	BytesOp  float64 // -1 when not reported
	AllocsOp float64 // -1 when not reported
	Extra    string  // other metrics, "value unit" pairs
}

// benchPackages returns the ./relative directories holding a _test.go file with a
// "func Benchmark" (test/bench itself excluded).
func benchPackages(root string) ([]string, error) {
	set := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "bench-results") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("\nfunc Benchmark")) {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			if rel != filepath.Join("test", "bench") {
				set["./"+filepath.ToSlash(rel)] = true
			}
		}
		return nil
	})
	var pkgs []string
	for p := range set {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	return pkgs, err
}

func (s *suite) runGoBench(ctx context.Context) {
	pkgs, err := benchPackages(s.root)
	if err != nil {
		s.logf("gobench: %v", err)
	}
	tmp, err := os.MkdirTemp("", "bench-gotest-")
	if err != nil {
		s.logf("gobench: %v", err)
		return
	}
	defer os.RemoveAll(tmp)
	for _, pkg := range pkgs {
		bin := filepath.Join(tmp, strings.ReplaceAll(strings.TrimPrefix(pkg, "./"), "/", "_")+".test")
		out, err := runOutput(ctx, 5*time.Minute, s.root, "", goEnv(), "go", "test", "-c", "-o", bin, pkg)
		if _, statErr := os.Stat(bin); err == nil && statErr != nil {
			err = statErr // go test -c writes nothing for a package without tests
		}
		if err != nil {
			s.gobench = append(s.gobench, goBench{Pkg: pkg, Status: statusFailed, Note: "build: " + oneLine(out+" "+err.Error())})
			s.logf("gobench %s: build failed: %s", pkg, oneLine(out))
			continue
		}
		args := []string{"-test.run", "^$", "-test.bench", ".", "-test.benchmem",
			"-test.benchtime", s.opt.benchtime, "-test.timeout", "5m"}
		args = append(args, testBinaryFlags(s.opt.gotestFlags)...)
		out, err = runOutput(ctx, 6*time.Minute, filepath.Join(s.root, pkg), proxyCPUs, nil, bin, args...)
		rows := parseGoBench(pkg, out)
		if err != nil {
			rows = append(rows, goBench{Pkg: pkg, Status: statusFailed, Note: "run: " + oneLine(lastLines(out, 5))})
		}
		for _, r := range rows {
			s.logf("gobench %s %s %s %.1f ns/op %.0f allocs/op %s", r.Pkg, r.Name, r.Status, r.NsOp, r.AllocsOp, r.Note)
		}
		s.gobench = append(s.gobench, rows...)
	}
}

// testBinaryFlags turns go test flags ("-count=6 -benchtime=2s") into the test binary's
// ("-test.count=6 -test.benchtime=2s"); later flags win, so they override the defaults.
func testBinaryFlags(flags string) []string {
	var out []string
	for _, f := range strings.Fields(flags) {
		if strings.HasPrefix(f, "-") && !strings.HasPrefix(strings.TrimLeft(f, "-"), "test.") {
			f = "-test." + strings.TrimLeft(f, "-")
		}
		out = append(out, f)
	}
	return out
}

// goEnv adds the lua53 build tag to GOFLAGS when it is missing (the Makefile exports it;
// a hand-run go run ./test/bench may not have it).
func goEnv() []string {
	f := os.Getenv("GOFLAGS")
	if strings.Contains(f, "lua53") {
		return nil
	}
	return []string{"GOFLAGS=" + strings.TrimSpace(f+" -tags=lua53")}
}

// benchLine matches "BenchmarkName-2   123456   98.7 ns/op   0 B/op   0 allocs/op ...".
var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+(\d+)\s+(.+)$`)

func parseGoBench(pkg, out string) []goBench {
	var rows []goBench
	for _, line := range strings.Split(out, "\n") {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		r := goBench{Pkg: pkg, Name: m[1], Status: statusOK, BytesOp: -1, AllocsOp: -1}
		f := strings.Fields(m[3])
		var extra []string
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			switch f[i+1] {
			case "ns/op":
				r.NsOp = v
			case "B/op":
				r.BytesOp = v
			case "allocs/op":
				r.AllocsOp = v
			default:
				extra = append(extra, f[i]+" "+f[i+1])
			}
		}
		r.Extra = strings.Join(extra, ", ")
		rows = append(rows, r)
	}
	return rows
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
