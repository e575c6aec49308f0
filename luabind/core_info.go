//go:build lua53

package luabind

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"syscall"
	"time"

	"luaproxy/core"
	"luaproxy/core/config"
	"luaproxy/luabind/vm"
)

// processStart is HAProxy's start_date, for Uptime and Start_time_sec.
var processStart = time.Now()

// infoFields are the "show info" fields of HAProxy 2.6 that core.get_info
// returns, in its order. Numbers are Lua integers and text fields strings,
// as HAProxy's hlua_fcn_pushfield pushes them; fields luaproxy has no
// counterpart for are 0 (the value HAProxy shows for a feature not in use).
var infoFields = []string{
	"Name", "Version", "Release_date", "Nbthread", "Nbproc", "Process_num",
	"Pid", "Uptime", "Uptime_sec", "Memmax_MB", "PoolAlloc_MB", "PoolUsed_MB",
	"PoolFailed", "Ulimit-n", "Maxsock", "Maxconn", "Hard_maxconn", "CurrConns",
	"CumConns", "CumReq", "MaxSslConns", "CurrSslConns", "CumSslConns",
	"Maxpipes", "PipesUsed", "PipesFree", "ConnRate", "ConnRateLimit",
	"MaxConnRate", "SessRate", "SessRateLimit", "MaxSessRate", "SslRate",
	"SslRateLimit", "MaxSslRate", "SslFrontendKeyRate", "SslFrontendMaxKeyRate",
	"SslFrontendSessionReuse_pct", "SslBackendKeyRate", "SslBackendMaxKeyRate",
	"SslCacheLookups", "SslCacheMisses", "CompressBpsIn", "CompressBpsOut",
	"CompressBpsRateLim", "Tasks", "Run_queue", "Idle_pct", "node",
	"Stopping", "Jobs", "Unstoppable Jobs", "Listeners", "ActivePeers",
	"ConnectedPeers", "DroppedLogs", "BusyPolling", "FailedResolutions",
	"TotalBytesOut", "TotalSplicdedBytesOut", "BytesOutRate",
	"DebugCommandsIssued", "CumRecvLogs", "Build info", "Memmax_bytes",
	"PoolAlloc_bytes", "PoolUsed_bytes", "Start_time_sec", "Tainted",
}

// infoVersion and infoRelease are what get_info reports as Version and
// Release_date: the HAProxy version whose behaviour luaproxy follows (the
// one ".if version_atleast" compares against), since scripts compare it.
var (
	infoVersion = config.Version
	infoRelease = "2022/05/31" // HAProxy 2.6.0
)

// luaCoreGetInfo implements core.get_info(): a table of HAProxy's "show
// info" fields, by name. It never yields.
func luaCoreGetInfo(c *vm.Call) (int, error) {
	var e *core.Engine
	if ls := lsOf(c); ls != nil {
		e = ls.rt.e
	}
	vals := infoValues(e)
	c.NewTable(0, len(infoFields))
	for _, k := range infoFields {
		switch v := vals[k].(type) {
		case string:
			c.FieldString(k, v)
		case int64:
			c.FieldInteger(k, v)
		default:
			c.FieldInteger(k, 0)
		}
	}
	return 1, nil
}

// infoValues computes the fields luaproxy knows; e may be nil.
func infoValues(e *core.Engine) map[string]any {
	up := time.Since(processStart)
	sec := int64(up / time.Second)
	heap := heapBytes()
	v := map[string]any{
		"Name":           "HAProxy", // HAProxy compat: scripts test the product name
		"Version":        infoVersion,
		"Release_date":   infoRelease,
		"Build info":     "luaproxy (HAProxy " + infoVersion + " compatible)",
		"Nbproc":         int64(1),
		"Process_num":    int64(1),
		"Pid":            int64(os.Getpid()),
		"Uptime":         fmt.Sprintf("%dd %dh%02dm%02ds", sec/86400, sec/3600%24, sec/60%60, sec%60),
		"Uptime_sec":     sec,
		"Start_time_sec": processStart.Unix(),
		"PoolAlloc_MB":   heap >> 20,
		"PoolUsed_MB":    heap >> 20,
		// Go's heap stands for HAProxy's pools.
		"PoolAlloc_bytes": heap,
		"PoolUsed_bytes":  heap,
		"Tasks":           int64(runtime.NumGoroutine()),
		"Idle_pct":        int64(100),
		"Tainted":         "0",
	}
	if host, err := os.Hostname(); err == nil {
		v["node"] = host
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		v["Ulimit-n"] = int64(rl.Cur)
		v["Maxsock"] = int64(rl.Cur)
	}
	if e == nil {
		return v
	}
	v["Nbthread"] = int64(e.Threads)
	var listeners, curr, cum int64
	for _, px := range e.Proxies {
		if px.Cap&core.CapFE == 0 {
			continue
		}
		listeners += int64(len(px.Binds))
		curr += px.Conns.Load()
		cum += px.Total.Load()
	}
	v["Listeners"] = listeners
	v["CurrConns"] = curr
	v["CumConns"] = cum
	v["Jobs"] = curr + listeners
	if e.Stopping() {
		v["Stopping"] = int64(1)
	}
	return v
}

// heapBytes reads the bytes of live heap objects without stopping the world.
func heapBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		return int64(s[0].Value.Uint64())
	}
	return 0
}
