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
func BenchmarkLuaEventDelivery(b *testing.B) {
	t := &testing.T{}
	p := startProxy(t, `
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
	defer p.e.Stop()
	var ref *pattern.Ref
	for name, r := range pattern.Refs() {
		if filepath.Base(name) == "count.map" {
			ref = r
		}
	}
	if ref == nil {
		b.Fatal("count.map not loaded")
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
	// run publishes n events (a multiple of 16) and waits for the last.
	run := func(n int) {
		base := delivered()
		for sent := 0; sent < n; {
			if sent-(delivered()-base) < 64 {
				p.e.Events.Publish(ev)
				sent++
				continue
			}
			runtime.Gosched()
		}
		for deadline := time.Now().Add(time.Minute); delivered()-base < n; runtime.Gosched() {
			if time.Now().After(deadline) {
				b.Fatalf("delivered %d of %d events", delivered()-base, n)
			}
		}
	}
	run(160) // warm up
	n := (b.N + 15) / 16 * 16
	b.ResetTimer()
	run(n)
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
