//go:build lua53

package test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "luaproxy-test")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "luaproxy")
	// The binary as the Makefile builds it: with its linker flags (GO_LDFLAGS, exported).
	out, err := exec.Command("go", "build", "-ldflags="+os.Getenv("GO_LDFLAGS"), "-o", binPath, "../cmd/luaproxy").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Configuration errors exit non-zero with HAProxy's message naming file and line.
func TestCheckConfigErrors(t *testing.T) {
	cases := []struct {
		name  string
		cfg   string
		files map[string]string
		want  string // regexp on stderr
	}{
		{"unknown keyword", "global\n  foo bar\n", nil,
			`\[ALERT\] +\(\d+\) : config : parsing \[test\.cfg:2\] : unknown keyword 'foo' in 'global' section`},
		{"missing lua file", "global\n  lua-load nope.lua\n", nil,
			`parsing \[test\.cfg:2\] : error in Lua file 'nope\.lua': cannot open nope\.lua: No such file or directory`},
		{"lua syntax error", "global\n  lua-load se.lua\n", map[string]string{"se.lua": "syntax error here(\n"},
			`parsing \[test\.cfg:2\] : error in Lua file 'se\.lua': se\.lua:1: syntax error near 'error'`},
		{"missing module", "global\n  lua-load rq.lua\n", map[string]string{"rq.lua": "require('nomod')\n"},
			`parsing \[test\.cfg:2\] : Lua runtime error: rq\.lua:1: module 'nomod' not found:`},
		{"unknown action", "global\n  lua-load a.lua\nlisten x\n  bind 127.0.0.1:0\n  tcp-request content lua.nope\n", map[string]string{"a.lua": ""},
			`parsing \[test\.cfg:5\] : 'tcp-request content' expects 'accept', .* in proxy 'x' \(got 'lua\.nope'\)\.`},
		{"unknown proxy keyword", "listen x\n  bind 127.0.0.1:0\n  frobnicate\n", nil,
			`parsing \[test\.cfg:3\] : unknown keyword 'frobnicate' in 'listen' section`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tc.files {
				must(0, os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644))
			}
			must(0, os.WriteFile(filepath.Join(dir, "test.cfg"), []byte(tc.cfg), 0o644))
			cmd := exec.Command(binPath, "-c", "-f", "test.cfg")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("exit 0, want an error; output:\n%s", out)
			}
			if !regexp.MustCompile(tc.want).Match(out) {
				t.Fatalf("output does not match %q:\n%s", tc.want, out)
			}
			if !strings.Contains(string(out), "Fatal errors found in configuration.") {
				t.Fatalf("no closing line:\n%s", out)
			}
		})
	}
}

func TestCheckConfigValid(t *testing.T) {
	cmd := exec.Command(binPath, "-c", "-f", "hello_world.conf")
	cmd.Dir = repoPath("scripts")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
}

// The README's main job: the binary on scripts/hello_world.conf answers
// "hello world" on 127.0.0.1:10001 (what `make run` then `nc` shows).
func TestRunHelloWorldBinary(t *testing.T) {
	if c, err := net.DialTimeout("tcp", "127.0.0.1:10001", 200*time.Millisecond); err == nil {
		c.Close()
		t.Skip("127.0.0.1:10001 is busy")
	}
	cmd := exec.Command(binPath, "-f", "hello_world.conf")
	cmd.Dir = repoPath("scripts")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Log(sc.Text())
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:10001", time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("luaproxy did not listen on 127.0.0.1:10001")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := exchange(t, "127.0.0.1:10001", "", true, 5*time.Second); got != "hello world\n" {
		t.Fatalf("got %q", got)
	}
}
