package test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection enforces DESIGN.md's layering: cmd -> luabind ->
// core -> netio, luabind -> luabind/vm, and luabind/vm is the only package
// importing "C" (cmodules are built apart).
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}} {{if .CgoFiles}}CGO{{end}}", "luaproxy/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string][]string{
		"luaproxy/core":  {"luaproxy/luabind", "luaproxy/cmd"},
		"luaproxy/netio": {"luaproxy/core", "luaproxy/luabind", "luaproxy/cmd"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		for prefix, bad := range forbidden {
			if pkg != prefix && !strings.HasPrefix(pkg, prefix+"/") {
				continue
			}
			for _, imp := range imports {
				for _, b := range bad {
					if imp == b || strings.HasPrefix(imp, b+"/") {
						t.Errorf("%s imports %s: %s must not depend on it", pkg, imp, prefix)
					}
				}
			}
		}
		for _, imp := range imports {
			if (imp == "C" || imp == "CGO") && pkg != "luaproxy/luabind/vm" {
				t.Errorf("%s uses cgo: only luaproxy/luabind/vm may", pkg)
			}
		}
	}
}
