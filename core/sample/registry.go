package sample

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Use says where a fetch takes its information from (HAProxy's
// SMP_USE_*). Several bits may be set.
type Use uint32

// The information sources, in HAProxy's order (the order matters for
// error messages listing them).
const (
	UseConst Use = 1 << iota // constant
	UseIntrn                 // internal state
	UseListn                 // listener
	UseFtend                 // frontend
	UseL4Cli                 // client address
	UseL5Cli                 // client-side connection
	UseTrack                 // track counters
	UseL6Req                 // request buffer
	UseHRQHV                 // HTTP request headers (volatile)
	UseHRQHP                 // HTTP request (persistent)
	UseHRQBO                 // HTTP request body
	UseBkend                 // backend
	UseServr                 // server
	UseL4Srv                 // server address
	UseL5Srv                 // server-side connection
	UseL6Res                 // response buffer
	UseHRSHV                 // HTTP response headers (volatile)
	UseHRSHP                 // HTTP response (persistent)
	UseHRSBO                 // HTTP response body
	UseRQFin                 // request buffer statistics
	UseRSFin                 // response buffer statistics
	UseTXFin                 // transaction statistics
	UseSSFin                 // session statistics
	numUse   = iota
)

// UseHTTPAny covers every HTTP source (the fetch needs an HTTP transaction).
const UseHTTPAny = UseHRQHV | UseHRQHP | UseHRQBO | UseHRSHV | UseHRSHP | UseHRSBO

var useNames = [numUse]string{"constant", "internal state", "listener", "frontend", "client address",
	"client-side connection", "track counters", "request buffer", "HTTP request headers",
	"HTTP request", "HTTP request body", "backend", "server", "server address",
	"server-side connection", "response buffer", "HTTP response headers", "HTTP response",
	"HTTP response body", "request buffer statistics", "response buffer statistics",
	"transaction statistics", "session statistics"}

// String lists the sources of u, comma-separated, as HAProxy's
// sample_src_names.
func (u Use) String() string {
	var b strings.Builder
	for i := 0; i < numUse; i++ {
		if u&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(useNames[i])
		}
	}
	return b.String()
}

// Where is a set of evaluation points (HAProxy's SMP_VAL_* checkpoints):
// the rule set and side a sample is evaluated in. Parsers of rules pass
// the points their rule runs at; a proxy with both sides (listen) passes
// both the frontend and backend points.
type Where uint32

// The evaluation points.
const (
	FEConAcc  Where = 1 << iota // frontend tcp-request connection rule
	FESesAcc                    // frontend tcp-request session rule
	FEReqCnt                    // frontend tcp-request content rule
	FEHRQHdr                    // frontend http-request header rule
	FEHRQBdy                    // frontend http-request body rule
	FESetBck                    // frontend use-backend rule
	BEReqCnt                    // backend tcp-request content rule
	BEHRQHdr                    // backend http-request header rule
	BEHRQBdy                    // backend http-request body rule
	BESetSrv                    // backend use-server, balance or stick-match rule
	BESrvCon                    // server source selection
	BEResCnt                    // backend tcp-response content rule
	BEHRSHdr                    // backend http-response header rule
	BEHRSBdy                    // backend http-response body rule
	BEStoRul                    // backend stick-store rule
	FEResCnt                    // frontend tcp-response content rule
	FEHRSHdr                    // frontend http-response header rule
	FEHRSBdy                    // frontend http-response body rule
	FELogEnd                    // logs
	BEChkRul                    // backend health-check rule
	CfgParser                   // configuration parser
	CLIParser                   // CLI parser
	numWhere  = iota
)

var whereNames = [numWhere]string{"frontend tcp-request connection rule", "frontend tcp-request session rule",
	"frontend tcp-request content rule", "frontend http-request header rule",
	"frontend http-request body rule", "frontend use-backend rule",
	"backend tcp-request content rule", "backend http-request header rule",
	"backend http-request body rule", "backend use-server, balance or stick-match rule",
	"server source selection", "backend tcp-response content rule",
	"backend http-response header rule", "backend http-response body rule",
	"backend stick-store rule", "frontend tcp-response content rule",
	"frontend http-response header rule", "frontend http-response body rule", "logs",
	"backend health-check rule", "configuration parser", "CLI parser"}

// String names the lowest evaluation point of w, as HAProxy's
// sample_ckp_names.
func (w Where) String() string {
	for i := 0; i < numWhere; i++ {
		if w&(1<<i) != 0 {
			return whereNames[i]
		}
	}
	return "unknown sample check place, please report this bug"
}

// WhereAny accepts every evaluation point (no availability check).
const WhereAny Where = 1<<numWhere - 1

const (
	allFE    = FEConAcc | FESesAcc | FEReqCnt | FEHRQHdr | FEHRQBdy | FESetBck
	allBEReq = BEReqCnt | BEHRQHdr | BEHRQBdy | BESetSrv | BESrvCon
	allRes   = BEResCnt | BEHRSHdr | BEHRSBdy | BEStoRul | FEResCnt | FEHRSHdr | FEHRSBdy
)

// fetchCap is HAProxy's fetch_cap: where each source is available.
var fetchCap = [numUse]Where{
	WhereAny,                                                                 // const
	WhereAny &^ CLIParser,                                                    // intrn
	allFE | allBEReq | allRes | FELogEnd,                                     // listn
	allFE | allBEReq | allRes | FELogEnd,                                     // ftend
	allFE | allBEReq | allRes | FELogEnd,                                     // l4cli
	allFE&^FEConAcc | allBEReq | allRes | FELogEnd,                           // l5cli
	allFE | allBEReq | allRes | FELogEnd,                                     // track
	FEReqCnt | FEHRQHdr | FEHRQBdy | FESetBck | allBEReq,                     // l6req
	FEReqCnt | FEHRQHdr | FEHRQBdy | FESetBck | allBEReq,                     // hrqhv
	FEReqCnt | FEHRQHdr | FEHRQBdy | FESetBck | allBEReq | allRes | FELogEnd, // hrqhp
	FEHRQBdy | FESetBck | allBEReq,                                           // hrqbo
	allBEReq | allRes | FELogEnd | BEChkRul,                                  // bkend
	BESrvCon | allRes | FELogEnd | BEChkRul,                                  // servr
	allRes | FELogEnd | BEChkRul,                                             // l4srv
	allRes | FELogEnd | BEChkRul,                                             // l5srv
	allRes | BEChkRul,                                                        // l6res
	allRes | BEChkRul,                                                        // hrshv
	allRes | FELogEnd | BEChkRul,                                             // hrshp
	BEHRSBdy | BEStoRul | FEResCnt | FEHRSHdr | FEHRSBdy | BEChkRul,          // hrsbo
	FELogEnd, FELogEnd, FELogEnd, FELogEnd, // rqfin rsfin txfin ssfin
}

// Val returns the evaluation points where at least one source of u is
// available, as HAProxy computes a fetch's "val" from its "use".
func (u Use) Val() Where {
	var w Where
	for i := 0; i < numUse; i++ {
		if u&(1<<i) != 0 {
			w |= fetchCap[i]
		}
	}
	return w
}

// FetchFunc computes a fetch. ok false means the sample is absent (with
// MayChange set in the returned flags when it might appear later).
type FetchFunc func(ctx *Ctx, args []Arg) (Sample, bool)

// EachFunc enumerates every value of a multi-valued fetch (all occurrences
// of a header, of a cookie...), for ACLs, which match if any value
// matches. It stops when yield returns false.
type EachFunc func(ctx *Ctx, args []Arg, yield func(Sample) bool)

// Fetch is a sample fetch keyword.
type Fetch struct {
	Name string
	Args ArgSpec
	// Check validates and prepares the arguments at parse time (HAProxy's
	// val_args); its error reads "invalid args in fetch method 'x' : <err>".
	Check func(args []Arg, sc *Scope) error
	Out   Type
	Use   Use
	Fn    FetchFunc
	// Each, when set, enumerates all values for ACL matching; Fn then
	// gives the single value used by expressions.
	Each EachFunc
	// Deprecated marks a keyword kept for compatibility (manual's
	// "deprecated"); it still works.
	Deprecated bool
}

// ConvFunc applies a converter to in, already cast to the converter's
// input type. ok false means no result.
type ConvFunc func(ctx *Ctx, args []Arg, in Sample) (Sample, bool)

// Converter is a converter keyword.
type Converter struct {
	Name  string
	Args  ArgSpec
	Check func(args []Arg, sc *Scope) error
	In    Type
	Out   Type // TypeSame: same as the input
	Fn    ConvFunc
}

var registry = struct {
	mu    sync.RWMutex
	fetch map[string]*Fetch
	conv  map[string]*Converter
}{fetch: map[string]*Fetch{}, conv: map[string]*Converter{}}

// RegisterFetch adds a fetch keyword, replacing one of the same name.
// It panics on an invalid definition (no name, no function).
func RegisterFetch(f *Fetch) {
	if f.Name == "" || f.Fn == nil {
		panic("sample: RegisterFetch: missing name or function")
	}
	registry.mu.Lock()
	registry.fetch[f.Name] = f
	registry.mu.Unlock()
}

// RegisterConverter adds a converter keyword, replacing one of the same
// name.
func RegisterConverter(c *Converter) {
	if c.Name == "" || c.Fn == nil {
		panic("sample: RegisterConverter: missing name or function")
	}
	registry.mu.Lock()
	registry.conv[c.Name] = c
	registry.mu.Unlock()
}

// LookupFetch returns the fetch named name.
func LookupFetch(name string) (*Fetch, bool) {
	registry.mu.RLock()
	f, ok := registry.fetch[name]
	registry.mu.RUnlock()
	return f, ok
}

// LookupConverter returns the converter named name.
func LookupConverter(name string) (*Converter, bool) {
	registry.mu.RLock()
	c, ok := registry.conv[name]
	registry.mu.RUnlock()
	return c, ok
}

// FetchNames returns the registered fetch names, sorted.
func FetchNames() []string {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	out := make([]string, 0, len(registry.fetch))
	for k := range registry.fetch {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ConverterNames returns the registered converter names, sorted.
func ConverterNames() []string {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	out := make([]string, 0, len(registry.conv))
	for k := range registry.conv {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func registerFetches(fs ...*Fetch) {
	for _, f := range fs {
		RegisterFetch(f)
	}
}

func registerConverters(cs ...*Converter) {
	for _, c := range cs {
		RegisterConverter(c)
	}
}

// Scope is the parsing environment of one proxy (or of the global
// section): its name for keywords whose default argument is the current
// proxy (in_table, nbsrv...), and the arguments naming configuration
// objects, which Resolve hands to the engine once all proxies exist.
// A nil *Scope is accepted everywhere and collects nothing.
type Scope struct {
	Proxy string // current proxy name ("" in global)

	mu      sync.Mutex
	pending []*Arg
}

func (sc *Scope) addPending(a *Arg) {
	if sc == nil {
		return
	}
	sc.mu.Lock()
	sc.pending = append(sc.pending, a)
	sc.mu.Unlock()
}

// Resolve calls fn for each argument naming a frontend, backend, table,
// server or userlist parsed in this scope, in order; fn stores the object
// in a.Ref. The first error stops the walk and is returned. HAProxy words
// for a missing object: "unable to find backend 'x' referenced in arg 1
// of sample fetch keyword 'nbsrv'".
func (sc *Scope) Resolve(fn func(a *Arg) error) error {
	if sc == nil {
		return nil
	}
	sc.mu.Lock()
	list := sc.pending
	sc.pending = nil
	sc.mu.Unlock()
	for _, a := range list {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

// ResolveType is Resolve for the pending arguments of type t alone; the
// others stay pending.
func (sc *Scope) ResolveType(t ArgType, fn func(a *Arg) error) error {
	if sc == nil {
		return nil
	}
	sc.mu.Lock()
	var list, rest []*Arg
	for _, a := range sc.pending {
		if a.Type == t {
			list = append(list, a)
		} else {
			rest = append(rest, a)
		}
	}
	sc.pending = rest
	sc.mu.Unlock()
	for _, a := range list {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

// ResolveError returns HAProxy's error for an argument whose object does
// not exist.
func ResolveError(a *Arg) error {
	kind := "sample fetch keyword"
	if a.Conv {
		kind = "conversion keyword"
	}
	return fmt.Errorf("unable to find %s '%s' referenced in arg %d of %s '%s'", a.Type, a.Str, a.Pos, kind, a.Keyword)
}
