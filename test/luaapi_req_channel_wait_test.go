//go:build lua53

package test

import (
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// channelWaitScript reads the request channel in a tcp-request content
// action with the method the client names in its port's frontend, and
// logs what it got.
const channelWaitScript = `
local function show(v) return (tostring(v):gsub("\n", "\\n")) end
for _, m in ipairs({"line", "data", "get", "getline", "dup"}) do
  core.register_action("rd_" .. m, {"tcp-req"}, function(txn)
    local v = txn.req[m](txn.req)
    core.Info("chan " .. m .. " got=[" .. show(v) .. "] in=" .. txn.req:input())
  end)
end
`

// TestLuaChannelWaitsLikeHAProxy covers a regression: txn.req:line() in a
// tcp-request content action returned "" at once when no data had come
// yet. As in HAProxy 2.6, under an inspect-delay line() and getline()
// wait for a whole line and data() for some data (get() and dup() never
// wait); without one, nothing waits and line() and data() return nil;
// when the delay expires, what is there is returned. The client sends
// "hel", then "lo\nrest", with pauses.
func TestLuaChannelWaitsLikeHAProxy(t *testing.T) {
	echo := startEcho(t)
	cfg := `
global
   lua-load {dir}/c.lua
defaults
   mode tcp
   timeout client 5s
   timeout server 5s
   timeout connect 5s
`
	methods := []string{"line", "data", "get", "getline", "dup"}
	for _, delay := range []string{"", "3s", "400ms"} {
		for _, m := range methods {
			cfg += "listen " + m + strings.TrimSuffix(delay, "s") + "\n   bind 127.0.0.1:0\n"
			if delay != "" {
				cfg += "   tcp-request inspect-delay " + delay + "\n"
			}
			cfg += "   tcp-request content lua.rd_" + m + "\n   server s " + echo + "\n"
		}
	}
	// what HAProxy 2.6.12 logs, frontend by frontend
	want := []string{
		"line got=[nil] in=0", "data got=[nil] in=0", "get got=[] in=0", "getline got=[] in=0", "dup got=[] in=0",
		`line got=[hello\n] in=10`, "data got=[hel] in=3", "get got=[] in=0", `getline got=[hello\n] in=4`, "dup got=[] in=0",
		// the inspect-delay expires with "hel" in the buffer
		"line got=[hel] in=3", "data got=[hel] in=3", "get got=[] in=0", "getline got=[hel] in=0", "dup got=[] in=0",
	}
	files := map[string]string{"c.lua": channelWaitScript}
	line := regexp.MustCompile(`chan (\w+ got=\[[^\]]*\] in=\d+)`)
	dialog := func(t *testing.T, addr string) string {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		time.Sleep(200 * time.Millisecond)
		_, _ = io.WriteString(c, "hel")
		time.Sleep(700 * time.Millisecond)
		_, _ = io.WriteString(c, "lo\nrest")
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(c)
		return string(b)
	}
	// run dials each frontend and compares the line it logs; a frontend
	// whose line does not come in 5s is dialed again, up to tries times
	// (HAProxy, the reference, sends its lines over UDP syslog: under a
	// busy CI host one never came)
	run := func(t *testing.T, addrs []string, log *syncBuffer, tries int) {
		for i, addr := range addrs {
			// this frontend's method only: the previous connection's
			// line may be logged after from (haproxy logs it late)
			method := strings.Fields(want[i])[0]
			var m []string
			for try := 1; m == nil; try++ {
				from := len(log.String())
				if got := dialog(t, addr); !strings.HasSuffix(got, "rest") {
					t.Errorf("%s: the client got %q", want[i], got)
				}
				for deadline := time.Now().Add(5 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					for _, mm := range line.FindAllStringSubmatch(log.String()[from:], -1) {
						if strings.Fields(mm[1])[0] == method {
							m = mm
							break
						}
					}
				}
				if m == nil && try == tries {
					t.Fatalf("%s: no line logged in 5s", want[i])
				}
			}
			if m[1] != want[i] {
				t.Errorf("got %q, want %q", m[1], want[i])
			}
		}
	}
	t.Run("luaproxy", func(t *testing.T) {
		p := startProxy(t, cfg, files)
		var addrs []string
		for i := range want {
			addrs = append(addrs, p.addr(i))
		}
		// a stream waiting for its line does not hold up another one
		c, err := net.Dial("tcp", p.addr(5))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := exchange(t, p.addr(6), "x", true, 5*time.Second); got != "Echo#:x" {
			t.Errorf("a stream beside a waiting one got %q", got)
		}
		run(t, addrs, p.log, 1)
	})
	t.Run("haproxy", func(t *testing.T) {
		var ports []string
		hcfg := cfg
		for range want {
			port := freePort(t)
			ports = append(ports, "127.0.0.1:"+strconv.Itoa(port))
			hcfg = strings.Replace(hcfg, "bind 127.0.0.1:0\n", "bind 127.0.0.1:"+strconv.Itoa(port)+"\n", 1)
		}
		_, log := runHAProxyLog(t, hcfg+"listen probe\n   bind 127.0.0.1:0\n   server s "+echo+"\n", files)
		run(t, ports, log, 3)
	})
}
