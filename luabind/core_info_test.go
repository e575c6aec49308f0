//go:build lua53

package luabind

import (
	"os"
	"strconv"
	"testing"
)

func TestCoreGetInfo(t *testing.T) {
	ts := newTestState(t)
	for _, ctx := range allContexts {
		// every field HAProxy 2.6 returns, with its Lua type
		got, err := ts.run(ctx, `local i = core.get_info() local n, bad = 0, {}
			for k, v in pairs(i) do n = n + 1 end
			for _, k in ipairs({"Name", "Version", "Release_date", "Uptime", "Build info", "Tainted", "node"}) do
				if type(i[k]) ~= "string" then bad[#bad+1] = k end
			end
			for _, k in ipairs({"Nbthread", "Nbproc", "Process_num", "Pid", "Uptime_sec", "Memmax_MB", "PoolAlloc_MB",
					"Ulimit-n", "Maxsock", "CurrConns", "CumConns", "CumReq", "Tasks", "Run_queue", "Idle_pct",
					"Stopping", "Jobs", "Unstoppable Jobs", "Listeners", "PoolAlloc_bytes", "Start_time_sec"}) do
				if math.type(i[k]) ~= "integer" then bad[#bad+1] = k end
			end
			return n .. " " .. table.concat(bad, ",") .. " " .. i.Name .. " " .. i.Pid .. " " .. i.Nbproc`)
		want := "69  HAProxy " + strconv.Itoa(os.Getpid()) + " 1"
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", ctx, got, err, want)
		}
	}
	ts.want(ctxAction, `return core.get_info().Uptime:match("^%d+d %d+h%d%dm%d%ds$") ~= nil`, "true")
	ts.want(ctxAction, `return core.get_info().Version`, infoVersion)
}
