//go:build lua53

package test

import (
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tcpFilterScript holds two data filters for TCP streams.
//
// "tf" runs in HAProxy 2.6 and luaproxy alike: on the request it holds
// the data until a whole line is there (filter.WAIT), then uppercases it
// (chn:set); on the response it inserts "[" (chn:insert); it counts the
// bytes it saw per direction, and fails on a line holding "fail". The
// dialog waits for each answer, so each line is one tcp_payload call in
// both proxies.
//
// "tfx" edits with every Channel method on whole lines in both
// directions, and waits for them: luaproxy only, as HAProxy 2.6.12 reads
// a window that does not start the channel's input wrongly (after a wait
// or a partial forward, the next tcp_payload sees the data rotated), and
// its Channel.append inserts at the start of the window.
//
// HAProxy 2.6.12 compat: chn:data() on an empty window returns stack
// garbage there, hence the chn:input() guards.
const tcpFilterScript = `
local function dir(c) if c:is_resp() then return "res" else return "req" end end

T = {}
T.id = "tcp rewriter"
T.__index = T
function T:new() return setmetatable({n = {req = 0, res = 0}}, T) end
function T:start_analyze(txn, chn)
  core.Info("tf start_analyze " .. dir(chn))
  filter.register_data_filter(self, chn)
end
function T:end_analyze(txn, chn)
  core.Info("tf end_analyze " .. dir(chn) .. " " .. self.n[dir(chn)])
end
function T:tcp_payload(txn, chn)
  if chn:input() == 0 then return end
  local d = chn:data()
  if dir(chn) == "req" then
    if not d:find("\n") then return filter.WAIT end
    if d:find("fail") then error("asked to fail") end
    self.n.req = self.n.req + #d
    chn:set(d:upper())
  else
    self.n.res = self.n.res + #d
    chn:insert("[")
  end
end
core.register_filter("tf", T, function(flt, args) return flt end)

X = {}
X.__index = X
function X:new() return setmetatable({}, X) end
function X:start_analyze(txn, chn) filter.register_data_filter(self, chn) end
function X:tcp_payload(txn, chn)
  if chn:input() == 0 then return end
  local d = chn:data()
  if dir(chn) == "req" then
    -- whole lines: "ab#c\n" -> "[AB<c>!\n]" with set (longer and
    -- shorter), remove, insert, prepend and append
    if not d:find("\n$") then return filter.WAIT end
    chn:set(d:sub(1, 2):upper(), 0, 2)
    local i = chn:data():find("#", 1, true)
    if i then chn:remove(i - 1, 1) end
    chn:set("<" .. chn:data(chn:input() - 2, 1):lower() .. ">", chn:input() - 2, 1)
    chn:insert("!", chn:input() - 1)
    chn:prepend("[")
    chn:append("]")
  else
    -- up to "]": the first 3 bytes forwarded as they are, the rest in
    -- parentheses, with its length and what chn:send says
    if not d:find("%]$") then return filter.WAIT end
    chn:forward(3)
    local n = chn:input()
    chn:set("(" .. chn:data() .. ")" .. n .. "/" .. tostring(chn:send("x")) .. "\n")
  end
end
core.register_filter("tfx", X, function(flt, args) return flt end)
`

const tcpFilterCfg = `
global
   lua-load {dir}/tf.lua
defaults
   mode tcp
   timeout client 5s
   timeout server 5s
   timeout connect 5s
listen l
   bind 127.0.0.1:0
   filter lua.tf
   server s {origin}
listen x
   bind 127.0.0.1:0
   filter lua.tfx
   server s {origin}
`

// startEcho runs a TCP server that answers each read with "Echo#:" and
// what it read, and half-closes when the client does.
func startEcho(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 65536)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, err := c.Write(append([]byte("Echo#:"), buf[:n]...)); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// tcpFilterDialog sends each message in turn, waiting for the answer to
// each line, then half-closes and reads the rest. It returns everything
// received.
func tcpFilterDialog(t *testing.T, addr string, msgs []string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return tcpFilterDialogOn(t, c, msgs)
}

// tcpFilterDialogOn is tcpFilterDialog on a connection.
func tcpFilterDialogOn(t *testing.T, c net.Conn, msgs []string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	lines := 0
	for _, m := range msgs {
		if _, err := io.WriteString(c, m); err != nil {
			t.Fatalf("write: %v", err)
		}
		lines += strings.Count(m, "\n")
		for strings.Count(string(got), "\n") < lines {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				t.Errorf("read after %q: %v (got %q)", m, err, got)
				return string(got)
			}
		}
	}
	_ = c.(*net.TCPConn).CloseWrite()
	rest, _ := io.ReadAll(c)
	return string(append(got, rest...))
}

var (
	tfLine   = regexp.MustCompile(`tf (start|end)_analyze [a-z]+( \d+)?`)
	tfCounts = regexp.MustCompile(`tf end_analyze [a-z]+ [1-9]\d*`)
)

// TestLuaFilterTCPAgainstHAProxy runs the same TCP filter in HAProxy 2.6
// and luaproxy: the bytes both ways, and the callbacks with the byte
// counts, must match.
func TestLuaFilterTCPAgainstHAProxy(t *testing.T) {
	cfg := strings.Replace(tcpFilterCfg, "{origin}", startEcho(t), -1)
	files := map[string]string{"tf.lua": tcpFilterScript}
	// HAProxy 2.6.12 mixes up its buffer after a tcp_payload that
	// waited, so every line goes in one write: the filter never waits
	msgs := []string{"hello world\n", "foo\n", "e#e\n"}
	want := "[Echo#:HELLO WORLD\n[Echo#:FOO\n[Echo#:E#E\n"
	wantCounts := "tf end_analyze req 20\ntf end_analyze res 38"
	run := func(t *testing.T, addr string, log *syncBuffer) {
		if got := tcpFilterDialog(t, addr, msgs); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		// HAProxy's log also has the readiness probe's callbacks (with
		// counts of 0): compare the counts of the dialog
		waitFor(t, func() bool { return strings.Contains(log.String(), "tf end_analyze res 38") })
		if l := strings.Join(tfCounts.FindAllString(log.String(), -1), "\n"); l != wantCounts {
			t.Errorf("counts:\n%s\nwant:\n%s", l, wantCounts)
		}
		// a Lua error aborts the stream: the failing line is not forwarded
		if got := exchange(t, addr, "ok\nfail\n", false, 5*time.Second); strings.Contains(got, "FAIL") {
			t.Errorf("failed line forwarded: %q", got)
		}
	}
	t.Run("luaproxy", func(t *testing.T) {
		lp := startProxy(t, cfg, files)
		run(t, lp.addr(0), lp.log)
		lp.waitLog(t, "asked to fail", 5*time.Second)
		lp.waitLog(t, "tf end_analyze res 0", 5*time.Second)
		seq := "tf start_analyze req\ntf start_analyze res\ntf end_analyze req 20\ntf end_analyze res 38\n" +
			"tf start_analyze req\ntf start_analyze res\ntf end_analyze req 0\ntf end_analyze res 0"
		if l := strings.Join(tfLine.FindAllString(lp.log.String(), -1), "\n"); l != seq {
			t.Errorf("callbacks:\n%s\nwant:\n%s", l, seq)
		}
	})
	t.Run("haproxy", func(t *testing.T) {
		ha, log := runHAProxyLog(t, cfg[:strings.Index(cfg, "listen x")], files)
		run(t, ha, log)
	})
}

// TestLuaFilterTCPEdits checks the Channel methods inside tcp_payload:
// they see and edit the filter's window, chn:forward passes bytes on at
// once, chn:send is refused (-1, as in HAProxy).
func TestLuaFilterTCPEdits(t *testing.T) {
	cfg := strings.Replace(tcpFilterCfg, "{origin}", startEcho(t), -1)
	lp := startProxy(t, cfg, map[string]string{"tf.lua": tcpFilterScript})
	got := tcpFilterDialog(t, lp.addr(1), []string{"ab", "#c\n", "xy\n"})
	// "ab#c\n" reaches the echo server as "[AB<c>!\n]"; of its answer
	// "Echo#:[AB<c>!\n]", "Ech" is forwarded, then the rest (12 bytes)
	want := "Ech(o#:[AB<c>!\n])12/-1\n" + "Ech(o#:[X<y>!\n])11/-1\n"
	if got != want || strings.Contains(lp.log.String(), "runtime error") {
		t.Errorf("got %q, want %q\nlog:\n%s", got, want, lp.log)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
	}
}
