//go:build lua53

package test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestAppletTCPSendQueued: applet:send queues its data, as HAProxy's
// fills the response channel, and the data leaves when the service waits,
// yields or ends: a banner sent before a long sleep arrives during the
// sleep, sends larger than a buffer arrive whole and in order, and the
// sends of a service that never waits still go out (at its forced
// yields).
func TestAppletTCPSendQueued(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/t.lua
defaults
   mode tcp
   timeout client 10s
listen sleepy
   bind 127.0.0.1:0
   tcp-request content use-service lua.sleepy
listen bulk
   bind 127.0.0.1:0
   tcp-request content use-service lua.bulk
listen busy
   bind 127.0.0.1:0
   tcp-request content use-service lua.busy
`, map[string]string{"t.lua": `
core.register_service("sleepy", "tcp", function(applet)
   applet:send("banner\n")
   core.msleep(4000)
   applet:send("late\n")
end)
core.register_service("bulk", "tcp", function(applet)
   for i = 1, 40 do
      applet:send(string.format("%05d", i) .. string.rep("x", 4994) .. "\n")
   end
   applet:send("end\n")
end)
core.register_service("busy", "tcp", function(applet)
   applet:send("first\n")
   local x = 0
   while true do x = x + 1 end
end)
`})
	t.Run("sleep", func(t *testing.T) {
		if d := firstLineIn(t, p.addr(0), "banner\n"); d > 3*time.Second {
			t.Errorf("the banner came after %v: it waited for the end of the sleep", d)
		}
	})
	t.Run("bulk", func(t *testing.T) {
		got := exchange(t, p.addr(1), "", false, 10*time.Second)
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		if len(lines) != 41 || lines[40] != "end" {
			t.Fatalf("got %d lines, %d bytes", len(lines), len(got))
		}
		for i, l := range lines[:40] {
			if want := strings.Repeat("x", 4994); len(l) != 4999 || !strings.HasSuffix(l, want) || l[:5] != fmt.Sprintf("%05d", i+1) {
				t.Fatalf("line %d: %q...", i+1, l[:min(len(l), 12)])
			}
		}
	})
	t.Run("busy", func(t *testing.T) {
		// it ends at tune.lua.service-timeout (4s), which must not be
		// what sends it
		if d := firstLineIn(t, p.addr(2), "first\n"); d > 3*time.Second {
			t.Errorf("the first line came after %v, with the service's end", d)
		}
	})
}

// firstLineIn connects to addr, checks that the first line it sends is
// want, and returns how long that took.
func firstLineIn(t *testing.T, addr, want string) time.Duration {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != want {
		t.Fatalf("first line %q, %v", line, err)
	}
	return time.Since(start)
}
