//go:build lua53

package test

import (
	gocontext "context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runHAProxyReq runs Debian's haproxy on cfg ({dir} holding files, the
// "127.0.0.1:0" bind replaced by a free port) until the test ends, and
// returns its address; the test is skipped when haproxy is not installed.
func runHAProxyReq(t *testing.T, cfg string, files map[string]string) string {
	t.Helper()
	addr, _ := runHAProxyLog(t, cfg, files)
	return addr
}

// runHAProxyLog is runHAProxyReq that also returns haproxy's output.
func runHAProxyLog(t *testing.T, cfg string, files map[string]string) (string, *syncBuffer) {
	t.Helper()
	addr, _, out := runHAProxyIn(t, cfg, files)
	return addr, out
}

// runHAProxyIn is runHAProxyLog that also returns {dir}.
func runHAProxyIn(t *testing.T, cfg string, files map[string]string) (string, string, *syncBuffer) {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed")
	}
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg = strings.ReplaceAll(strings.ReplaceAll(cfg, "{dir}", dir), "127.0.0.1:0", addr)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := gocontext.WithTimeout(gocontext.Background(), time.Minute)
	cmd := exec.CommandContext(ctx, bin, "-db", "-f", path)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, dir, out
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not start:\n%s", out)
		}
	}
}

// statusAndBody is a response's status line and body (header order is
// free in both, and the Lua tables behind a reply's headers have none).
func statusAndBody(resp string) string {
	line, _, _ := strings.Cut(resp, "\r\n")
	return line + "\n" + bodyOf(resp)
}

// TestLuaReqAgainstHAProxy runs the request-side script (Lua fetches and
// converters in expressions, txn.f/sf/c/sc, vars, Reply, txn:done) in
// HAProxy 2.6 and luaproxy and compares the answers.
func TestLuaReqAgainstHAProxy(t *testing.T) {
	files := map[string]string{"req.lua": luaReqScript}
	ha := runHAProxyReq(t, luaReqCfg, files)
	lp := startProxy(t, luaReqCfg, files)
	port := func(a string) string { return a[strings.LastIndex(a, ":")+1:] }
	for _, path := range []string{"/x", "/probe", "/deny", "/r", "/d"} {
		want := strings.ReplaceAll(statusAndBody(httpGet(t, ha, path)), port(ha), "PORT")
		got := strings.ReplaceAll(statusAndBody(httpGet(t, lp.addr(0), path)), port(lp.addr(0)), "PORT")
		if got != want {
			t.Errorf("%s:\n got: %q\nwant: %q (HAProxy)", path, got, want)
		}
	}
	tcp := map[string]string{"tcp.lua": luaReqTCPScript}
	ha = runHAProxyReq(t, luaReqTCPCfg, tcp)
	lp = startProxy(t, luaReqTCPCfg, tcp)
	req := "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
	want := badArg.ReplaceAllString(exchange(t, ha, req, false, 5*time.Second), "bad argument")
	got := badArg.ReplaceAllString(exchange(t, lp.addr(0), req, false, 5*time.Second), "bad argument")
	if got != want {
		t.Errorf("tcp:\n got: %q\nwant: %q (HAProxy)", got, want)
	}
}
