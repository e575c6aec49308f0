//go:build lua53

package test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scriptedServer listens on network/addr and runs serve on each connection.
func scriptedServer(t *testing.T, network, addr string, serve func(net.Conn)) net.Listener {
	t.Helper()
	return acceptLoop(t, network, addr, serve)
}

// socketLua wraps a socket scenario in a TCP service that prints its
// result; all(...) shows every returned value.
const socketLua = `
local function all(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  return table.concat(t, ",", 1, t.n)
end
core.register_service("case", "tcp", function(applet)
  local ok, res = pcall(scenario, all)
  applet:send(ok and res or ("error: " .. tostring(res)))
end)
`

func runSocketCase(t *testing.T, scenario string, subst map[string]string) string {
	t.Helper()
	for k, v := range subst {
		scenario = strings.ReplaceAll(scenario, k, v)
	}
	p := startProxy(t, `
global
   lua-load {dir}/s.lua
listen l
   bind 127.0.0.1:0
   tcp-request content use-service lua.case
`, map[string]string{"s.lua": "function scenario(all)\n" + scenario + "\nend\n" + socketLua})
	return exchange(t, p.addr(0), "", true, 10*time.Second)
}

func TestLuaSocketReceivePatterns(t *testing.T) {
	// the server sends a line and some bytes, then closes after a pause
	partial := scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		io.WriteString(c, "line1\r\nabcdefg")
		time.Sleep(100 * time.Millisecond)
	}).Addr().String()
	// the server sends two chunks and closes
	chunks := scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		io.WriteString(c, "hello ")
		time.Sleep(50 * time.Millisecond)
		io.WriteString(c, "world\nend")
	}).Addr().String()
	// the server sends a partial line and stays silent
	silent := scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		io.WriteString(c, "par")
		time.Sleep(2 * time.Second)
	}).Addr().String()
	// echo: what it reads, back, until the client closes
	echo := scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) { io.Copy(c, c) }).Addr().String()
	refused := func() string {
		ln, _ := net.Listen("tcp4", "127.0.0.1:0")
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	// more than a read buffer (16 KiB) in a line, then in the rest
	big := scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		io.WriteString(c, strings.Repeat("x", 20000)+"\n"+strings.Repeat("y", 5)+"\n")
		time.Sleep(20 * time.Millisecond)
		io.WriteString(c, strings.Repeat("z", 30000))
	}).Addr().String()
	// a line, then data the client leaves unread
	unread := scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		io.WriteString(c, "first\nleftover, never read")
		time.Sleep(200 * time.Millisecond)
	}).Addr().String()
	// reads 4 MiB after a pause (the send fills the socket buffers first),
	// then says how much it got
	sink := scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		time.Sleep(50 * time.Millisecond)
		n, _ := io.Copy(io.Discard, io.LimitReader(c, 4<<20))
		fmt.Fprintf(c, "%d\n", n)
	}).Addr().String()
	sub := map[string]string{"PARTIAL": partial, "CHUNKS": chunks, "SILENT": silent, "ECHO": echo, "REFUSED": refused,
		"BIG": big, "UNREAD": unread, "SINK": sink}

	cases := []struct{ name, script, want string }{
		{"line, count with prefix, count past close", `
local s = core.tcp()
local r = {all(s:connect("PARTIAL"))}
r[#r+1] = all(s:receive("*l"))
r[#r+1] = all(s:receive(3, "pre"))
r[#r+1] = all(s:receive(100))
r[#r+1] = all(s:receive())
return table.concat(r, "|")`, "1|line1|preabc|nil,closed,defg|nil,closed,"},
		{"default pattern is a line, *a to the end", `
local s = core.tcp()
s:connect("CHUNKS")
return all(s:receive()) .. "|" .. all(s:receive("*a", ">"))`, "hello world|>end"},
		{"timeout returns the partial data", `
local s = core.tcp()
s:settimeout(0.2)
s:connect("SILENT")
local t0 = core.now()
local r = all(s:receive("*l"))
local t1 = core.now()
local ms = (t1.sec - t0.sec) * 1000 + (t1.usec - t0.usec) // 1000
return r .. "|" .. tostring(ms >= 150 and ms < 1500)`, "nil,timeout,par|true"},
		{"connection refused", `
local s = core.tcp()
s:settimeout(1)
return all(s:connect("REFUSED")) .. "|" .. all(s:receive()) .. "|" .. all(s:send("x"))`, "nil,Can't connect|nil,closed,|nil,closed,0"},
		{"send with i and j, echo, names", `
local s = core.tcp()
local host, port = string.match("ECHO", "(.*):(%d+)")
s:connect(host, tonumber(port))
local r = {all(s:send("hello world", 3, 7))}
r[#r+1] = all(s:receive(5))
r[#r+1] = all(s:send("abc", -2))
r[#r+1] = all(s:receive(2))
r[#r+1] = tostring(s:getpeername() == "ECHO")
r[#r+1] = tostring(s:getsockname():match("^127%.0%.0%.1:%d+$") ~= nil)
r[#r+1] = all(s:setoption("tcp-nodelay", true))
r[#r+1] = tostring(s)
s:close()
r[#r+1] = all(s:close())
r[#r+1] = all(s:getpeername())
r[#r+1] = all(pcall(s.settimeout, s, 1))
return table.concat(r, "|")`, "7|llo w|3|bc|true|true||HAProxy class Socket||nil|false,socket: not yet initialised, you can't set timeouts."},
		{"bad address", `
local s = core.tcp()
return all(pcall(s.connect, s, "fd@3"))`, "false,connect: cannot parse destination address 'fd@3'"},
		{"ipv4@ prefix", `
local s = core.tcp()
local r = all(s:connect("ipv4@ECHO"))
s:send("x\n")
return r .. "|" .. all(s:receive())`, "1|x"},
		{"more than a buffer", `
local s = core.tcp()
s:connect("BIG")
local l = s:receive("*l")
local r = {#l, tostring(l == string.rep("x", 20000)), s:receive(2), s:receive("*l")}
local rest = s:receive("*a")
r[#r+1] = #rest
r[#r+1] = tostring(rest == string.rep("z", 30000))
return table.concat(r, "|")`, "20000|true|yy|yyy|30000|true"},
		{"a send larger than the socket buffers", `
local s = core.tcp()
s:connect("SINK")
local data = string.rep("a", 4 * 1024 * 1024)
local r = {all(s:send(data, 2))}
r[#r+1] = all(s:send("b"))
r[#r+1] = all(s:receive("*l"))
return table.concat(r, "|")`, "4194304|1|4194304"},
		{"a closed socket's unread data stays with it", `
local r = {}
for i = 1, 3 do
  local s = core.tcp()
  s:connect("UNREAD")
  r[#r+1] = s:receive("*l")
  s:close()
  local s2 = core.tcp()
  s2:connect("CHUNKS")
  r[#r+1] = s2:receive()
  s2:close()
end
return table.concat(r, "|")`, "first|hello world|first|hello world|first|hello world"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := runSocketCase(t, tc.script, sub); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestLuaSocketUnixAndIPv6(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.sock")
	scriptedServer(t, "unix", path, func(c net.Conn) { io.Copy(c, c) })
	got := runSocketCase(t, `
local s = core.tcp()
local r = all(s:connect("unix@PATH"))
s:send("u\n")
return r .. "|" .. all(s:receive())`, map[string]string{"PATH": path})
	if got != "1|u" {
		t.Errorf("unix@: got %q", got)
	}
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback")
	}
	ln.Close()
	port := scriptedServer(t, "tcp6", "[::1]:0", func(c net.Conn) { io.Copy(c, c) }).Addr().(*net.TCPAddr).Port
	got = runSocketCase(t, `
local s = core.tcp()
local r = all(s:connect("::1", PORT)) .. "," .. all(pcall(core.tcp().connect, core.tcp(), "ipv6@127.0.0.1", PORT))
local s2 = core.tcp()
r = r .. "|" .. all(s2:connect("ipv6@[::1]:PORT"))
s2:send("v6\n")
return r .. "|" .. all(s2:receive())`, map[string]string{"PORT": fmt.Sprint(port)})
	if got != "1,false,connect: cannot parse destination address 'ipv6@127.0.0.1'|1|v6" {
		t.Errorf("ipv6: got %q", got)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestLuaSocketTLSWithSNI(t *testing.T) {
	var mu sync.Mutex
	var sni []string
	cfg := &tls.Config{Certificates: []tls.Certificate{selfSigned(t)},
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			mu.Lock()
			sni = append(sni, h.ServerName)
			mu.Unlock()
			return nil, nil
		}}
	ln := scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		tc := tls.Server(c, cfg)
		io.Copy(tc, tc)
	})
	port := ln.Addr().(*net.TCPAddr).Port
	got := runSocketCase(t, `
local s = core.tcp()
local r = all(s:connect_ssl("localhost", PORT))
s:send("secret\n")
return r .. "|" .. all(s:receive("*l"))`, map[string]string{"PORT": fmt.Sprint(port)})
	if got != "1|secret" {
		t.Errorf("got %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sni) != 1 || sni[0] != "localhost" {
		t.Errorf("SNI seen by the server: %q, want [localhost]", sni)
	}
}

// core.tcp() is refused in the body with HAProxy's error (fetches and
// converters: luabind/socket_test.go).
func TestLuaSocketBody(t *testing.T) {
	p := startProxy(t, `
global
   lua-load {dir}/s.lua
`, map[string]string{"s.lua": `
local ok, err = pcall(core.tcp)
core.Info("body: " .. tostring(ok) .. " " .. tostring(err))
`})
	p.waitLog(t, "body: false socket: uninitialized pools.", 2*time.Second)
}

// 1,000 concurrent actions wait on a slow server through one state while
// another request on the same state is served at once.
func TestLuaSocketConcurrentActions(t *testing.T) {
	release := make(chan struct{})
	var waiting atomic.Int64
	slow := scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		waiting.Add(1)
		<-release
		c.Write(buf[:n])
	}).Addr().String()
	p := startProxy(t, `
global
   lua-load {dir}/s.lua
   maxconn 5000
listen slow
   bind 127.0.0.1:0
   maxconn 5000
   tcp-request content lua.rt
listen fast
   bind 127.0.0.1:0
   tcp-request content use-service lua.fast
`, map[string]string{"s.lua": `
core.register_action("rt", {"tcp-req"}, function(txn)
  local s = core.tcp()
  s:settimeout(20)
  s:connect("` + slow + `")
  s:send("ping\n")
  local r = s:receive("*l") or "none"
  s:close()
  txn.res:send("slow " .. r .. "\n")
  txn:done()
end)
core.register_service("fast", "tcp", function(applet) applet:send("fast\n") end)
`})
	const n = 1000
	var wg sync.WaitGroup
	results := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", p.addr(0), 10*time.Second)
			if err != nil {
				results <- err.Error()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			b, _ := io.ReadAll(c)
			results <- string(b)
		}()
	}
	// wait until every action has its connection open on the slow server
	waitUntil(t, "1000 Lua sockets waiting", func() bool { return waiting.Load() >= n })
	start := time.Now()
	if got := exchange(t, p.addr(1), "", true, 5*time.Second); got != "fast\n" {
		t.Errorf("fast: %q", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("fast request took %v while 1000 actions wait on sockets", d)
	}
	close(release)
	wg.Wait()
	close(results)
	bad := 0
	for r := range results {
		if r != "slow ping\n" {
			if bad < 3 {
				t.Errorf("slow: %q", r)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d slow requests failed", bad, n)
	}
}

// A socket the action leaves open is closed when the action ends: a
// function that created a socket is followed by a full GC cycle (the
// architecture document's "The garbage collector"), so the server sees
// the close without waiting for the collector's own pace.
func TestLuaSocketClosedByGCAfterAction(t *testing.T) {
	closed := make(chan string, 1)
	srv := scriptedServer(t, "tcp4", "127.0.0.1:0", func(c net.Conn) {
		c.SetDeadline(time.Now().Add(20 * time.Second))
		b, err := io.ReadAll(c) // returns at the proxy's close
		if err != nil {
			closed <- "error: " + err.Error()
			return
		}
		closed <- string(b)
	}).Addr().String()
	p := startProxy(t, `
global
   lua-load {dir}/s.lua
listen l
   bind 127.0.0.1:0
   tcp-request content lua.leak
   tcp-request content use-service lua.ok
`, map[string]string{"s.lua": `
core.register_action("leak", {"tcp-req"}, function(txn)
  local s = core.tcp()
  s:connect("` + srv + `")
  s:send("left open\n")
end)
core.register_service("ok", "tcp", function(applet) applet:send("ok\n") end)
`})
	if got := exchange(t, p.addr(0), "", true, 10*time.Second); got != "ok\n" {
		t.Fatalf("got %q", got)
	}
	select {
	case got := <-closed:
		if got != "left open\n" {
			t.Errorf("server read %q", got)
		}
	case <-time.After(15 * time.Second):
		t.Error("the socket the action left open was not closed")
	}
}
