package core

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Product, Version and ReleaseDate identify luaproxy in "show info", "show
// version" and "luaproxy -v".
var (
	Product = "luaproxy"
	Version = "0.1.0"
	// ReleaseDate is the date of the commit the binary was built from
	// (YYYY/MM/DD), "" when the build has no VCS stamp.
	ReleaseDate = vcsDate()
)

func vcsDate() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.time" {
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				return t.UTC().Format("2006/01/02")
			}
		}
	}
	return ""
}

// processStart is HAProxy's start_date.
var processStart = time.Now()

// InfoField is one "show info" field.
type InfoField struct {
	Pos  int    // HAProxy's field position (the typed and JSON outputs show it)
	Name string // "CurrConns"
	// Tags are HAProxy's origin, nature and scope letters ("MGP").
	Tags string
	// Type is "str", "u32" or "u64".
	Type  string
	Value any // string or int64
}

// infoFields are HAProxy 2.6's "show info" fields, in order, with their
// tags and types (positions 45, 46 and 51 are not shown by HAProxy 2.6).
var infoFields = []InfoField{
	{0, "Name", "POS", "str", nil}, {1, "Version", "POS", "str", nil}, {2, "Release_date", "POS", "str", nil},
	{3, "Nbthread", "CGS", "u32", nil}, {4, "Nbproc", "CGS", "u32", nil}, {5, "Process_num", "KGP", "u32", nil},
	{6, "Pid", "SGP", "u32", nil}, {7, "Uptime", "MDP", "str", nil}, {8, "Uptime_sec", "MDP", "u32", nil},
	{9, "Memmax_MB", "CLP", "u32", nil}, {10, "PoolAlloc_MB", "MGP", "u32", nil}, {11, "PoolUsed_MB", "MGP", "u32", nil},
	{12, "PoolFailed", "MCP", "u32", nil}, {13, "Ulimit-n", "CLP", "u32", nil}, {14, "Maxsock", "CLP", "u32", nil},
	{15, "Maxconn", "CLP", "u32", nil}, {16, "Hard_maxconn", "CLP", "u32", nil}, {17, "CurrConns", "MGP", "u32", nil},
	{18, "CumConns", "MCP", "u32", nil}, {19, "CumReq", "MCP", "u32", nil}, {20, "MaxSslConns", "MMP", "u32", nil},
	{21, "CurrSslConns", "MGP", "u32", nil}, {22, "CumSslConns", "MCP", "u32", nil}, {23, "Maxpipes", "CLP", "u32", nil},
	{24, "PipesUsed", "MGP", "u32", nil}, {25, "PipesFree", "MGP", "u32", nil}, {26, "ConnRate", "MRP", "u32", nil},
	{27, "ConnRateLimit", "CLP", "u32", nil}, {28, "MaxConnRate", "MMP", "u32", nil}, {29, "SessRate", "MRP", "u32", nil},
	{30, "SessRateLimit", "CLP", "u32", nil}, {31, "MaxSessRate", "MRP", "u32", nil}, {32, "SslRate", "MRP", "u32", nil},
	{33, "SslRateLimit", "CLP", "u32", nil}, {34, "MaxSslRate", "MMP", "u32", nil},
	{35, "SslFrontendKeyRate", "MGP", "u32", nil}, {36, "SslFrontendMaxKeyRate", "MMP", "u32", nil},
	{37, "SslFrontendSessionReuse_pct", "MGP", "u32", nil}, {38, "SslBackendKeyRate", "MRP", "u32", nil},
	{39, "SslBackendMaxKeyRate", "MMP", "u32", nil}, {40, "SslCacheLookups", "MCP", "u32", nil},
	{41, "SslCacheMisses", "MCP", "u32", nil}, {42, "CompressBpsIn", "MRP", "u32", nil},
	{43, "CompressBpsOut", "MRP", "u32", nil}, {44, "CompressBpsRateLim", "CLP", "u32", nil},
	{47, "Tasks", "MGP", "u32", nil}, {48, "Run_queue", "MGP", "u32", nil}, {49, "Idle_pct", "MaP", "u32", nil},
	{50, "node", "COS", "str", nil}, {52, "Stopping", "MGP", "u32", nil}, {53, "Jobs", "MGP", "u32", nil},
	{54, "Unstoppable Jobs", "MGP", "u32", nil}, {55, "Listeners", "MGP", "u32", nil},
	{56, "ActivePeers", "MGP", "u32", nil}, {57, "ConnectedPeers", "MGP", "u32", nil},
	{58, "DroppedLogs", "MGP", "u32", nil}, {59, "BusyPolling", "MGP", "u32", nil},
	{60, "FailedResolutions", "MGP", "u32", nil}, {61, "TotalBytesOut", "MGP", "u64", nil},
	{62, "TotalSplicdedBytesOut", "MGP", "u64", nil}, {63, "BytesOutRate", "MRP", "u64", nil},
	{64, "DebugCommandsIssued", "MGP", "u32", nil}, {65, "CumRecvLogs", "MCP", "u32", nil},
	{66, "Build info", "POS", "str", nil}, {67, "Memmax_bytes", "CLP", "u32", nil},
	{68, "PoolAlloc_bytes", "MGP", "u64", nil}, {69, "PoolUsed_bytes", "MGP", "u64", nil},
	{70, "Start_time_sec", "MDP", "u32", nil}, {71, "Tainted", "SGP", "str", nil},
}

// Info returns the "show info" fields with the engine's values; the
// fields luaproxy has nothing for are 0, as HAProxy shows a feature not in
// use. Name and Version are luaproxy's: the runtime API tells operators
// what runs (the Lua API's core.get_info keeps HAProxy's, for scripts).
func (e *Engine) Info() []InfoField {
	up := time.Since(processStart)
	sec := int64(up / time.Second)
	heap := heapBytes()
	maxconn := int64(e.statMaxConn())
	v := map[string]any{
		"Name":            Product,
		"Version":         Version,
		"Release_date":    ReleaseDate,
		"Build info":      Version,
		"Nbthread":        int64(e.Threads),
		"Nbproc":          int64(1),
		"Process_num":     int64(1),
		"Pid":             int64(os.Getpid()),
		"Uptime":          fmt.Sprintf("%dd %dh%02dm%02ds", sec/86400, sec/3600%24, sec/60%60, sec%60),
		"Uptime_sec":      sec,
		"Start_time_sec":  processStart.Unix(),
		"PoolAlloc_MB":    heap >> 20,
		"PoolUsed_MB":     heap >> 20,
		"PoolAlloc_bytes": heap,
		"PoolUsed_bytes":  heap,
		"Ulimit-n":        fdLimit(),
		"Maxsock":         fdLimit(),
		"Maxconn":         maxconn,
		"Hard_maxconn":    maxconn,
		"Tasks":           int64(runtime.NumGoroutine()),
		"Idle_pct":        int64(100),
		"Tainted":         "0",
	}
	if host, err := os.Hostname(); err == nil {
		v["node"] = host
	}
	var listeners, curr, cum, req int64
	for _, px := range e.Proxies {
		if px.Cap&CapFE == 0 {
			continue
		}
		listeners += int64(len(px.Binds))
		curr += px.Conns.Load()
		cum += px.Total.Load()
		req += px.Requests.Load()
	}
	listeners += int64(len(e.cliState().sockets))
	v["Listeners"] = listeners
	v["CurrConns"] = curr
	v["CumConns"] = cum
	v["CumReq"] = req
	v["Jobs"] = curr + listeners
	if e.Stopping() {
		v["Stopping"] = int64(1)
	}
	out := make([]InfoField, len(infoFields))
	for i, f := range infoFields {
		f.Value = v[f.Name]
		if f.Value == nil {
			if f.Type == "str" {
				f.Value = ""
			} else {
				f.Value = int64(0)
			}
		}
		out[i] = f
	}
	return out
}

func heapBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		return int64(s[0].Value.Uint64())
	}
	return 0
}

func fdLimit() int64 {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return 0
	}
	return int64(rl.Cur)
}

func (f InfoField) text() string {
	switch v := f.Value.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

// writeInfo writes "show info" as text, "typed" or "json".
func (e *Engine) writeInfo(r *CLIRequest, format string) {
	fields := e.Info()
	switch format {
	case "typed":
		for _, f := range fields {
			r.Printf("%d.%s.1:%s:%s:%s\n", f.Pos, f.Name, f.Tags, f.Type, f.text())
		}
	case "json":
		var b strings.Builder
		b.WriteByte('[')
		for i, f := range fields {
			if i > 0 {
				b.WriteByte(',')
			}
			name, _ := json.Marshal(f.Name)
			fmt.Fprintf(&b, `{"field":{"pos":%d,"name":%s},"processNum":1,"tags":%s,"value":{"type":"%s","value":`,
				f.Pos, name, jsonTags(f.Tags), f.Type)
			if s, ok := f.Value.(string); ok {
				q, _ := json.Marshal(s)
				b.Write(q)
			} else {
				b.WriteString(f.text())
			}
			b.WriteString("}}")
		}
		b.WriteString("]\n")
		r.Print(b.String())
	default:
		for _, f := range fields {
			r.Printf("%s: %s\n", f.Name, f.text())
		}
	}
}

// jsonTags spells out HAProxy's tag letters as "show info json" does.
func jsonTags(tags string) string {
	origin := map[byte]string{'M': "Metric", 'S': "Status", 'K': "Key", 'C': "Config", 'P': "Product"}
	nature := map[byte]string{'A': "Age", 'a': "Avg", 'C': "Counter", 'D': "Duration", 'G': "Gauge",
		'L': "Limit", 'M': "Max", 'N': "Name", 'O': "Output", 'R': "Rate", 'T': "Time"}
	scope := map[byte]string{'C': "Cluster", 'P': "Process", 'S': "Service", 's': "System"}
	return fmt.Sprintf(`{"origin":"%s","nature":"%s","scope":"%s"}`, origin[tags[0]], nature[tags[1]], scope[tags[2]])
}
