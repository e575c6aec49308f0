//go:build lua53

package luabind

import (
	gocontext "context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// knownDifferences are the table cases whose HAProxy 2.6 answer luaproxy
// does not give on purpose (see regex_pcre.go, core_time.go, core_addr.go).
var knownDifferences = map[string]string{
	`try(function() local st, err = Regex.new("a\\Kb", true) return st end)`:                 "\\K is not supported",
	`try(function() local st, err = Regex.new("\\((?:[^()]|(?R))*\\)", true) return st end)`: "recursion is not supported",
	`try(function() local st, err = Regex.new("(*UCP)\\w", true) return st end)`:             "(*UCP) is not supported",
	`try(core.http_date, "Fri, 31 Dec 9999 23:59:59 GMT")`:                                   "HAProxy wraps epochs through a C int",
	`try(core.imf_date, "Fri, 31 Dec 9999 23:59:59 GMT")`:                                    "HAProxy wraps epochs through a C int",
	`core.parse_addr("1.2.3") ~= nil`:                                                        "HAProxy resolves names (gethostbyname)",
	`core.parse_addr("01.2.3.4") ~= nil`:                                                     "HAProxy resolves names (gethostbyname)",
	`core.parse_addr("localhost") ~= nil`:                                                    "HAProxy resolves names (gethostbyname)",
	`core.http_date("Tue, 19 Jan 2038 03:14:08 GMT")`:                                        "HAProxy wraps epochs through a C int",
}

var (
	diffLocation = regexp.MustCompile(`"[^" ]*:\d+: `) // an error's "file:line: " prefix
)

// TestAgainstHAProxy runs the tables of these tests (regexes, dates,
// tokenize, set_nice, Concat, the ACL/map errors, addresses) in Debian's haproxy
// (the lua-load body of "haproxy -c") and in luaproxy, and compares every
// answer. It is skipped where haproxy is not installed.
func TestAgainstHAProxy(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed")
	}
	var cases []luaCase
	for _, list := range [][]luaCase{regexCases, dateCases, tokenizeCases, setNiceCases, concatCases,
		patternErrorCases, parseAddrCases(), matchAddrCases()} {
		cases = append(cases, list...)
	}
	var b strings.Builder
	b.WriteString(luaPrelude + "local cases = {\n")
	for _, c := range cases {
		b.WriteString("function() return " + c.lua + " end,\n")
	}
	b.WriteString(`}
for i, f in ipairs(cases) do
  local ok, got = pcall(f)
  got = tostring(got):gsub(".", function(c) return string.format("%02x", c:byte()) end)
  io.stdout:write("CASE " .. i .. " " .. got .. "\n")
end
io.stdout:flush()
`)
	dir := t.TempDir()
	lua, cfg := filepath.Join(dir, "t.lua"), filepath.Join(dir, "t.cfg")
	if err := os.WriteFile(lua, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("global\n   lua-load "+lua+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := gocontext.WithTimeout(gocontext.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "-c", "-f", cfg).Output() // exits 2: no listener
	hap := map[int]string{}
	for _, line := range strings.Split(string(out), "\n") {
		var i int
		if _, err := fmt.Sscanf(line, "CASE %d ", &i); err != nil {
			continue
		}
		var s []byte
		if _, err := fmt.Sscanf(line, "CASE %d %x", &i, &s); err != nil {
			s = nil // an empty answer
		}
		hap[i] = string(s)
	}
	if len(hap) == 0 {
		t.Skipf("no output from %s -c (%v)", bin, ctx.Err())
	}
	ts := newTestState(t)
	compared := 0
	for i, c := range cases {
		want, ok := hap[i+1]
		if !ok {
			t.Errorf("%s: no answer from haproxy", c.lua)
			continue
		}
		if _, known := knownDifferences[c.lua]; known {
			continue
		}
		got, err := ts.run(ctxBody, "return "+c.lua)
		if err != nil {
			t.Errorf("%s: %v", c.lua, err)
			continue
		}
		g, w := diffLocation.ReplaceAllString(got, `"`), diffLocation.ReplaceAllString(want, `"`)
		if g != w {
			t.Errorf("%s\n  luaproxy: %s\n   haproxy: %s", c.lua, got, want)
		}
		compared++
	}
	t.Logf("%d answers compared with %s, %d known differences", compared, bin, len(knownDifferences))
}
