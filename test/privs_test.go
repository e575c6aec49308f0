//go:build lua53

package test

import (
	"bufio"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDropPrivileges covers the global "chroot", "user" and "group",
// which were ignored: once its listeners are open, the process changes
// its root and identity (as HAProxy does when started as root) and still
// serves. Root only.
func TestDropPrivileges(t *testing.T) {
	nobody := nobodyAsRoot(t)
	group, err := user.LookupGroupId(nobody.Gid)
	if err != nil {
		t.Skip("no group for nobody")
	}
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := runBinary(t, `
global
   chroot `+root+`
   user nobody
   group `+group.Name+`
defaults
   mode http
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend f
   bind `+addr+`
   http-request return status 200 content-type text/plain string ok
`, addr)
	got := exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false, 5*time.Second)
	if !strings.HasSuffix(got, "ok") {
		t.Fatalf("no answer: %q", got)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	if link, _ := os.Readlink("/proc/" + pid + "/root"); link != root {
		t.Errorf("root %q, want %q", link, root)
	}
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) > 1 && fields[0] == "Uid:" && fields[1] != nobody.Uid:
			t.Errorf("uid %s, want %s", fields[1], nobody.Uid)
		case len(fields) > 1 && fields[0] == "Gid:" && fields[1] != nobody.Gid:
			t.Errorf("gid %s, want %s", fields[1], nobody.Gid)
		}
	}
}

// TestLuaTasksStartOnceThePrivilegesAreDropped: the engine binds its
// listeners, the process drops its privileges, and only then does it
// serve: a Lua task started at boot already runs as "user" (it used to
// start, like the accept loops, before the drop: as root), as in HAProxy,
// whose tasks and first poll come after setuid. Root only.
func TestLuaTasksStartOnceThePrivilegesAreDropped(t *testing.T) {
	nobody := nobodyAsRoot(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "uid.lua"), []byte(`
local uid = "none"
core.register_task(function()
   local f = io.open("/proc/self/status")
   for line in f:lines() do
      local u = line:match("^Uid:%s+(%d+)")
      if u then uid = u end
   end
   f:close()
end)
core.register_service("uid", "http", function(applet)
   applet:set_status(200)
   applet:add_header("content-length", tostring(#uid))
   applet:start_response()
   applet:send(uid)
end)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	runBinary(t, `
global
   user nobody
   lua-load `+filepath.Join(dir, "uid.lua")+`
defaults
   mode http
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend f
   bind `+addr+`
   http-request use-service lua.uid
`, addr)
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got = exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false, 5*time.Second)
		if !strings.HasSuffix(got, "none") { // the task ran
			break
		}
	}
	if !strings.HasSuffix(got, "\r\n\r\n"+nobody.Uid) {
		t.Fatalf("the Lua task ran as uid %q, want %s (nobody)", got[strings.LastIndex(got, "\n")+1:], nobody.Uid)
	}
}

// nobodyAsRoot returns the user nobody, skipping the test unless it runs
// as root (the privilege tests switch to nobody).
func nobodyAsRoot(t *testing.T) *user.User {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	return nobody
}
