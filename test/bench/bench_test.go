package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testSuite returns a suite with an in-process origin, logs in a temporary directory and
// the binaries available: luaproxy ($BENCH_LUAPROXY, else built from ./cmd/luaproxy) and
// haproxy when installed.
func testSuite(t *testing.T) *suite {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{opt: options{conns: defaultConns}, root: root, scenarioDir: filepath.Join(root, "test", "bench", "scenarios"), logDir: t.TempDir()}
	hl, el, err := listenOrigin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hl.Close(); el.Close() })
	go serve(hl, serveHTTP)
	go serve(el, serveEcho)
	s.origin = &origin{httpAddr: hl.Addr().String(), echoAddr: el.Addr().String()}

	lp := os.Getenv("BENCH_LUAPROXY") // a prebuilt binary, else one built from this tree
	if lp == "" {
		lp = filepath.Join(t.TempDir(), "luaproxy")
		build := exec.Command("go", "build", "-o", lp, "./cmd/luaproxy")
		build.Dir, build.Env = root, append(os.Environ(), goEnv()...)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/luaproxy: %v\n%s", err, out)
		}
	}
	s.bins = append(s.bins, binary{Name: "luaproxy", Path: lp})
	if hp, err := exec.LookPath("haproxy"); err == nil {
		s.bins = append(s.bins, binary{Name: "haproxy", Path: hp})
	} else {
		t.Log("haproxy not installed: only luaproxy is checked")
	}
	return s
}

// TestCheckNeedsLua runs each scenario's check twice per binary: on its configuration,
// where it must pass (unless luaproxy lacks what the scenario requires), and on the same
// configuration with its Lua lines removed, where the proxy starts but the check must
// fail: a response that the Lua code did not produce is never measured.
func TestCheckNeedsLua(t *testing.T) {
	if testing.Short() {
		t.Skip("starts proxies")
	}
	s := testSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, sc := range scenarios {
		v := sc.Variants[0]
		for _, bin := range s.bins {
			t.Run(sc.Name+"/"+bin.Name, func(t *testing.T) {
				px, err := s.startChecked(ctx, bin, sc, v, "")
				if err != nil {
					if bin.Name == "luaproxy" && sc.Requires != "" {
						t.Skipf("unsupported today (needs %s): %v", sc.Requires, err)
					}
					t.Fatalf("with Lua: %v", err)
				}
				px.p.stop()

				cfg, err := os.ReadFile(filepath.Join(s.scenarioDir, sc.Name, v.Cfg))
				if err != nil {
					t.Fatal(err)
				}
				stripped := stripLua(string(cfg))
				if stripped == string(cfg) {
					t.Skip("no Lua in this scenario") // plain_proxy
				}
				path := filepath.Join(t.TempDir(), "nolua.cfg")
				if err := os.WriteFile(path, []byte(stripped), 0o644); err != nil {
					t.Fatal(err)
				}
				px, err = s.startChecked(ctx, bin, sc, v, path)
				if err == nil {
					px.p.stop()
					t.Fatal("without its Lua lines the check still passes")
				}
				if !strings.HasPrefix(err.Error(), "check: ") {
					t.Fatalf("without Lua the proxy should start and fail the check, got: %v", err)
				}
				t.Logf("without Lua: %v", err)
			})
		}
	}
}

func TestStripLua(t *testing.T) {
	in := "global\n   lua-load x.lua\n   lua-load-per-thread y.lua\n   nbthread 1\n" +
		"frontend f\n   # a lua.comment stays\n   http-request lua.act\n   http-request set-header a %[lua.f]\n" +
		"   tcp-request content use-service lua.echo\n   default_backend b\n"
	want := "global\n   nbthread 1\nfrontend f\n   # a lua.comment stays\n   default_backend b\n"
	if got := stripLua(in); got != want {
		t.Errorf("stripLua:\n%s\nwant:\n%s", got, want)
	}
}

// TestSdbm compares with haproxy 2.6: txn.sc:sdbm("/bench/some/path") gave 3354764850.
func TestSdbm(t *testing.T) {
	if got := sdbm("/bench/some/path"); got != 3354764850 {
		t.Errorf("sdbm = %d, want 3354764850", got)
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 3s test @ http://127.0.0.1:1234/bench/lua/path
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  512.00us  12.34ms   90.00%
    Req/Sec    30.12k     1.20k   32.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.10ms
     90%    1.50ms
     99%    2.43ms
  90366 requests in 3.00s, 12.50MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  30115.42
Transfer/sec:      4.17MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 90366 || r.Seconds != 3 || r.RPS != 30115.42 || r.P50 != 0.812 || r.P99 != 2.43 || r.Errors != 7 {
		t.Errorf("parseWrk = %+v", r)
	}
}

func TestParseGoBench(t *testing.T) {
	out := "goos: linux\nBenchmarkLuaToGoNoop-2   \t 1000000\t       101.5 ns/op\t       0 B/op\t       0 allocs/op\n" +
		"BenchmarkForward/splice-2 100 152977 ns/op 428.40 MB/s 109204 cpu-ns/op 0 B/op 0 allocs/op\nPASS\n"
	rows := parseGoBench("./x", out)
	if len(rows) != 2 || rows[0].Name != "LuaToGoNoop" || rows[0].NsOp != 101.5 || rows[0].AllocsOp != 0 ||
		rows[1].Name != "Forward/splice" || rows[1].Extra != "428.40 MB/s, 109204 cpu-ns/op" {
		t.Errorf("parseGoBench = %+v", rows)
	}
}

// TestSideBySide runs action_proxy, a target scenario, with one interleaved round: the
// suite follows it with its side-by-side rounds, where every proxy is measured over the
// same window, each with its own load, and each gets its own requests and CPU. Without
// haproxy, two luaproxy processes are compared.
func TestSideBySide(t *testing.T) {
	if testing.Short() {
		t.Skip("starts proxies and wrk")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk not installed (make bench installs it)")
	}
	s := testSuite(t)
	s.opt.duration, s.opt.rounds, s.opt.roundsSet = time.Second, 1, true
	if len(s.bins) == 1 {
		s.bins = append(s.bins, binary{Name: "luaproxy2", Path: s.bins[0].Path})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc, ok := scenarioNamed("action_proxy")
	if !ok || !sc.Target {
		t.Fatal("no action_proxy target scenario")
	}
	s.runScenario(ctx, sc)
	together := map[int][]loadRun{}
	interleaved := 0
	for _, r := range s.runs {
		t.Logf("%s %s round %d: %d requests, %.2f CPU-s over %.2f s, %.0f req per CPU-s",
			r.Binary, r.Variant, r.Round, r.Requests, r.ProxyCPU, r.Wall, r.RPSPerCPU())
		if r.Status != statusOK || r.Requests == 0 || r.ProxyCPU <= 0 {
			t.Errorf("%+v", r)
		}
		switch r.Variant {
		case "":
			interleaved++
		case togetherVariant:
			together[r.Round] = append(together[r.Round], r)
		default:
			t.Errorf("variant %q", r.Variant)
		}
	}
	if interleaved != len(s.bins) || len(together) != togetherRounds {
		t.Fatalf("%d interleaved runs for %d proxies, side-by-side rounds %d, want %d", interleaved, len(s.bins), len(together), togetherRounds)
	}
	for round, rs := range together {
		if len(rs) != len(s.bins) {
			t.Errorf("side-by-side round %d: %d runs for %d proxies", round, len(rs), len(s.bins))
		}
		for i, r := range rs {
			if r.Binary != s.bins[i].Name || r.Wall != rs[0].Wall {
				t.Errorf("side-by-side round %d: %s over %.2f s, want %s over the first's %.2f s", round, r.Binary, r.Wall, s.bins[i].Name, rs[0].Wall)
			}
		}
	}
}
