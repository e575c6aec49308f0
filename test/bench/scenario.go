package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A scenario is a directory under scenarios/ holding a plain haproxy configuration and
// its Lua files, so the same files drive luaproxy and haproxy. The configuration reads
// its ports from the environment: BENCH_PORT (the proxy's listener), ORIGIN_HTTP_PORT and
// ORIGIN_ECHO_PORT (the origin), plus the variant's own variables.
type scenario struct {
	Name string
	Doc  string
	// Requires names what luaproxy must have for the scenario to work; "" means it works
	// today. A luaproxy failure in a scenario with requirements is recorded "unsupported"
	// (with the reason), any other failure "failed".
	Requires string
	HTTP     bool        // wrk drives it (GET benchPath); otherwise the Go TCP load generator
	TCP      tcpLoadSpec // for TCP scenarios
	Variants []variant
	// Target marks the scenarios of issue 5's speed target (AppletHTTP hello world, the
	// Lua action and the Lua fetch in front of the origin): they run at least
	// targetRounds rounds, their per-round ratios scattering by ±0.05 on a shared host.
	Target bool
	// check proves, before any load, that the response can only come from the Lua code.
	check func(addr string, v variant) error
}

// targetRounds is the fewest rounds a Target scenario runs (unless -rounds says).
const targetRounds = 7

// A Target scenario's interleaved rounds are followed by togetherRounds rounds with the
// proxies measured at the same time (measureTogether), reported as the variant
// "side-by-side": on a host whose neighbours' load comes and goes, interleaved rounds
// scatter by 10-30% while their requests per CPU-second compare within ~1.5%.
const (
	togetherRounds  = 3
	togetherVariant = "side-by-side"
)

// A variant is one configuration of a scenario.
type variant struct {
	Name string   // "" for a scenario with one variant
	Cfg  string   // configuration file in the scenario directory
	Env  []string // extra environment (NAME=value)
	CPUs string   // taskset list for the proxy; "" means proxyCPUs
}

// The request every HTTP check and load sends.
const (
	benchHost = "bench.example"
	benchPath = "/bench/lua/path"
)

// The CPUs: the proxy on one, the load generator and the origin on the other.
const (
	proxyCPUs = "0"
	loadCPUs  = "1"
)

func (v variant) cpus() string {
	if v.CPUs != "" {
		return v.CPUs
	}
	return proxyCPUs
}

func one(cfg string) []variant { return []variant{{Cfg: cfg}} }

// scenarios is the ordered list of load scenarios.
var scenarios = []scenario{
	{
		Name: "applet_http_hello", Requires: "HTTP mode, AppletHTTP", HTTP: true,
		Target:   true,
		Doc:      "AppletHTTP service answering hello world",
		Variants: one("bench.cfg"),
		check: checkHTTP(func(h http.Header, body string) error {
			return wantAll(want("x-lua header", h.Get("X-Lua"), "hello"), want("body", body, "hello world\n"))
		}),
	},
	{
		Name: "action_proxy", Requires: "HTTP mode, http-request Lua actions", HTTP: true,
		Target:   true,
		Doc:      "http-request Lua action (req_fhdr(host), sets a header) in front of the origin",
		Variants: one("bench.cfg"),
		check: checkHTTP(func(h http.Header, body string) error {
			return wantAll(want("echoed x-lua-host", h.Get("X-Lua-Host"), "lua:"+benchHost), wantOrigin(h, body))
		}),
	},
	{
		Name: "plain_proxy", Requires: "HTTP mode, http-request set-header", HTTP: true,
		Doc:      "the same forwarding with a native set-header instead of Lua",
		Variants: one("bench.cfg"),
		check: checkHTTP(func(h http.Header, body string) error {
			return wantAll(want("echoed x-bench-host", h.Get("X-Bench-Host"), "plain:"+benchHost), wantOrigin(h, body))
		}),
	},
	{
		Name: "fetch_in_header", Requires: "HTTP mode, Lua fetches in set-header", HTTP: true,
		Target:   true,
		Doc:      "Lua fetch txn.sc:sdbm(txn.sf:path()) in http-request set-header",
		Variants: one("bench.cfg"),
		check: checkHTTP(func(h http.Header, body string) error {
			sum := strconv.FormatUint(uint64(sdbm(benchPath)), 10)
			return wantAll(want("echoed x-lua-sdbm", h.Get("X-Lua-Sdbm"), sum), wantOrigin(h, body))
		}),
	},
	{
		Name: "applet_tcp_echo",
		Doc:  "AppletTCP line echo, closed-loop Go TCP load generator",
		TCP:  tcpLoadSpec{Line: echoLine, Banner: true}, Variants: one("bench.cfg"),
		check: func(addr string, _ variant) error {
			return checkTCP(addr, "lua echo\n", echoLine, echoLine)
		},
	},
	{
		Name: "tcp_proxy_echo",
		Doc:  "mode tcp forwarding to the origin's line echo, closed-loop Go TCP load generator",
		TCP:  tcpLoadSpec{Line: echoLine}, Variants: one("bench.cfg"),
		check: func(addr string, _ variant) error {
			return checkTCP(addr, "", echoLine, echoLine)
		},
	},
	{
		Name: "socket_roundtrip", Requires: "HTTP mode, core.tcp()", HTTP: true,
		Doc: "Lua action doing a core.tcp() round trip to a loopback echo; with/without socket, with/without explicit GC",
		Variants: []variant{
			{Name: "sock", Cfg: "bench.cfg", Env: []string{"BENCH_VARIANT=sock"}},
			{Name: "sock_gc", Cfg: "bench.cfg", Env: []string{"BENCH_VARIANT=sock_gc"}},
			{Name: "nosock", Cfg: "bench.cfg", Env: []string{"BENCH_VARIANT=nosock"}},
			{Name: "nosock_gc", Cfg: "bench.cfg", Env: []string{"BENCH_VARIANT=nosock_gc"}},
		},
		check: func(addr string, v variant) error {
			return checkHTTP(func(h http.Header, body string) error {
				return wantAll(want("echoed x-lua-sock", h.Get("X-Lua-Sock"), "ping "+v.Name), wantOrigin(h, body))
			})(addr, v)
		},
	},
	{
		Name: "per_thread_scaling",
		Doc:  "AppletTCP doing Lua work per line: lua-load (one shared state) vs lua-load-per-thread, nbthread 1 and 2 (2 threads on CPUs 0,1)",
		TCP:  tcpLoadSpec{Line: workLine},
		Variants: []variant{
			{Name: "shared_1t", Cfg: "shared.cfg", Env: []string{"BENCH_NBTHREAD=1"}},
			{Name: "per_thread_1t", Cfg: "per_thread.cfg", Env: []string{"BENCH_NBTHREAD=1"}},
			{Name: "shared_2t", Cfg: "shared.cfg", Env: []string{"BENCH_NBTHREAD=2"}, CPUs: "0,1"},
			{Name: "per_thread_2t", Cfg: "per_thread.cfg", Env: []string{"BENCH_NBTHREAD=2"}, CPUs: "0,1"},
		},
		check: func(addr string, _ variant) error {
			return checkTCP(addr, "", workLine, strconv.FormatUint(uint64(hash31(workLine)), 10)+"\n")
		},
	},
}

const (
	echoLine = "GET /bench/echo/0123456789abcdef\n"
	workLine = "GET /bench/per-thread/0123456789abcdefghijklmnopqrstuvwxyz\n"
)

// sdbm is HAProxy's hash_sdbm (the sdbm converter without avalanche).
func sdbm(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h = uint32(s[i]) + (h << 6) + (h << 16) - h
	}
	return h
}

// hash31 is per_thread_scaling/work.lua's hash: h = h*31 + byte, modulo 2^32.
func hash31(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h = h*31 + uint32(s[i])
	}
	return h
}

func want(what, got, expected string) error {
	if got != expected {
		return fmt.Errorf("%s: got %q, want %q", what, got, expected)
	}
	return nil
}

func wantAll(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func wantOrigin(h http.Header, body string) error {
	return wantAll(want("x-origin", h.Get(originHeader), "bench"), want("body", body, originBody))
}

// checkHTTP returns a check that GETs benchPath with Host benchHost and hands the
// response to judge.
func checkHTTP(judge func(h http.Header, body string) error) func(string, variant) error {
	return func(addr string, _ variant) error {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		req, err := http.NewRequest("GET", "http://"+addr+benchPath, nil)
		if err != nil {
			return err
		}
		req.Host = benchHost
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d, want 200", resp.StatusCode)
		}
		return judge(resp.Header, string(b))
	}
}

// checkTCP connects, expects banner (if any), sends line twice and expects reply twice.
func checkTCP(addr, banner, line, reply string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	r := bufio.NewReader(c)
	if banner != "" {
		got, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("banner: %v (got %q)", err, got)
		}
		if err := want("banner", got, banner); err != nil {
			return err
		}
	}
	for range 2 {
		if _, err := io.WriteString(c, line); err != nil {
			return err
		}
		got, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reply: %v (got %q)", err, got)
		}
		if err := want("reply", got, reply); err != nil {
			return err
		}
	}
	return nil
}

// findScenario returns the load scenario called name.
func findScenario(name string) (scenario, bool) {
	for _, sc := range scenarios {
		if sc.Name == name {
			return sc, true
		}
	}
	return scenario{}, false
}

// stripLua returns cfg without its Lua lines (lua-load*, and rules naming lua.<x>): the
// configuration a scenario's check must reject.
func stripLua(cfg string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(cfg, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "lua-load") || (strings.Contains(t, "lua.") && !strings.HasPrefix(t, "#")) {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}
