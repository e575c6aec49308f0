//go:build lua53

package test

import (
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"luaproxy/core"
	"luaproxy/core/pattern"
)

// BenchmarkLuaEventDelivery measures server events delivered to a Lua
// core.event_sub() callback: published on the engine's bus, queued by the
// subscription, each run in its own coroutine of the subscribing state.
// The publisher keeps at most 64 events unconsumed (a subscription pauses
// at 100, as HAProxy's), so the rate is the callback pipeline's own. The
// callback reports its count every 16 events through a map entry.
//
// The testing package calls this function once per b.N tried, each with a
// new proxy and directory, while pattern references stay registered by
// file name for the whole process: the count is read from this run's own
// count.map (looked up by its full path) and the reference is unregistered
// when the run ends. Choosing one by base name picked, at random, the
// count.map of an earlier, stopped proxy, whose count never moves: the
// publisher then waited forever, on any number of CPUs.
func BenchmarkLuaEventDelivery(b *testing.B) {
	p := startProxy(b, `
global
    lua-load {dir}/ev.lua {dir}/count.map
listen l
    mode http
    bind 127.0.0.1:0
    http-request set-header x %[str(a),map({dir}/count.map,none)]
backend be
    server s1 127.0.0.1:9
`, map[string]string{"count.map": "delivered 0\n", "ev.lua": `
local mapname = ...
local n, ref = 0, nil
core.register_init(function() ref = core.get_patref(mapname) end)
core.event_sub({"SERVER_ADMIN"}, function(event, data)
   if data.name ~= "s1" then return end
   n = n + 1
   if n % 16 == 0 then ref:set("delivered", tostring(n)) end
end)`})
	mapName := filepath.Join(p.dir, "count.map")
	b.Cleanup(func() { pattern.Unregister(mapName) })
	ref, ok := pattern.Lookup(mapName)
	if !ok {
		b.Fatalf("%s not loaded", mapName)
	}
	delivered := func() int {
		e := ref.Find("delivered")
		if len(e) == 0 {
			return 0
		}
		n, _ := strconv.Atoi(e[0].Value)
		return n
	}
	ev := &core.Event{Type: core.EventServerAdmin, ServerName: "s1", ProxyName: "be"}
	// run publishes n events (a multiple of 16) and waits for the last. It
	// fails, with the proxy's log, when the count stops moving for a
	// minute (the clock is read only while the publisher waits).
	run := func(n int) {
		base := delivered()
		last, since := base, time.Time{}
		stalled := func(d int) bool {
			if d != last || since.IsZero() {
				last, since = d, time.Now()
				return false
			}
			return time.Since(since) > time.Minute
		}
		for sent := 0; sent < n; {
			d := delivered()
			if sent-(d-base) < 64 {
				p.e.Events.Publish(ev)
				sent++
				continue
			}
			if stalled(d) {
				b.Fatalf("sent %d, delivered %d of %d events\nlog:\n%s", sent, d-base, n, p.log)
			}
			runtime.Gosched()
		}
		for d := delivered(); d-base < n; d = delivered() {
			if stalled(d) {
				b.Fatalf("delivered %d of %d events\nlog:\n%s", d-base, n, p.log)
			}
			runtime.Gosched()
		}
	}
	run(160) // warm up
	n := (b.N + 15) / 16 * 16
	b.ResetTimer()
	run(n)
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
