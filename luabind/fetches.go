//go:build lua53

package luabind

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"luaproxy/core"
	"luaproxy/core/sample"
	"luaproxy/luabind/vm"
)

// fetchesClass is the Lua "Fetches" class over a TXN: txn.f, typed
// results. It has one method per native sample fetch, named as in the
// configuration and, HAProxy compat, with '.', '-' and '+' turned into
// '_' (txn.f:req_fhdr("host")). Lua-registered fetches (lua.*) are not
// reachable through it, as documented. txn.f is a view of the TXN (no
// Go value of its own); an applet's is an object over a TXN of its own.
//
// The class is declared empty; its methods are filled from the sample
// registry on first use, once every native fetch is registered.
var fetchesClass = declareClass(&vm.Class[*TXN]{Name: "Fetches"})

// sfetchesClass is txn.sf: the same methods, results as strings ("" when
// absent).
var sfetchesClass = &vm.Class[*TXN]{Name: "Fetches"}

var fetchesOnce sync.Once

// luaKeywordName is HAProxy's renaming of a keyword into a Lua method name.
func luaKeywordName(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '+' {
			return '_'
		}
		return r
	}, name)
}

// keywordNames returns the Lua names of a keyword: its renamed form and,
// when different, its original name (txn.f["req.fhdr"]).
func keywordNames(name string) []string {
	if n := luaKeywordName(name); n != name {
		return []string{n, name}
	}
	return []string{name}
}

func buildFetchesClass() {
	fetchesOnce.Do(func() {
		for _, str := range []bool{false, true} {
			fetchesOf(str).Methods = keywordMethods(sample.FetchNames(), func(name string) func(*TXN, *vm.Call) (int, error) {
				f, _ := sample.LookupFetch(name)
				return fetchMethod(f, str)
			})
		}
	})
}

// fetchesOf returns the class of txn.sf (str) or txn.f.
func fetchesOf(str bool) *vm.Class[*TXN] {
	if str {
		return sfetchesClass
	}
	return fetchesClass
}

// keywordMethods builds one method per native keyword of names, under its
// Lua names (keywordNames); Lua-registered keywords ("lua.*") are left
// out, as HAProxy does for txn.f/txn.c.
func keywordMethods[T any](names []string, method func(name string) func(T, *vm.Call) (int, error)) []vm.Method[T] {
	var out []vm.Method[T]
	seen := map[string]bool{}
	for _, name := range names {
		if strings.HasPrefix(name, "lua.") {
			continue
		}
		fn := method(name)
		for _, n := range keywordNames(name) {
			if !seen[n] {
				seen[n] = true
				out = append(out, vm.Method[T]{Name: n, Fn: fn})
			}
		}
	}
	return out
}

func pushFetches(p *vm.Pusher, tx *TXN, str bool) {
	buildFetchesClass()
	fetchesOf(str).Push(p, tx)
}

// luaWords reads the arguments from i on as strings (numbers are
// formatted, as lua_tostring does).
func luaWords(c *vm.Call, from int) ([]string, error) {
	var out []string
	for i := from; i <= c.Top(); i++ {
		switch c.Type(i) {
		case vm.TypeString, vm.TypeNumber:
			out = append(out, c.ToString(i))
		case vm.TypeBoolean:
			if c.Bool(i) {
				out = append(out, "1")
			} else {
				out = append(out, "0")
			}
		default:
			return nil, c.ArgError(i, "unable to duplicate string arg") // HAProxy's words
		}
	}
	return out, nil
}

// fetchMethod implements Fetches.<name>(f, args...): the fetch's value
// (nil when absent), or as a string ("" when absent) for txn.sf. It never
// yields.
func fetchMethod(f *sample.Fetch, str bool) func(*TXN, *vm.Call) (int, error) {
	var mc methodArgs
	return func(tx *TXN, c *vm.Call) (int, error) {
		args, err := keywordArgs.forCall(c, 2, f.Name, false, f.Args, f.Check, &mc)
		if err != nil {
			return 0, err
		}
		ctx := tx.s.SampleCtx()
		if ctx.Response && tx.s.HTTP != nil && f.Use.Val()&(sample.FEHRSHdr|sample.BEHRSHdr) == 0 {
			// HAProxy compat: once the request is forwarded, what is
			// read from its head or body is gone (a config rule could
			// not use such a fetch here)
			pushSample(c, tx.ls.rt, sample.Sample{}, false, str)
			return 1, nil
		}
		smp, ok := f.Fn(ctx, args)
		pushSample(c, tx.ls.rt, smp, ok, str)
		return 1, nil
	}
}

// pushSample pushes a sample as HAProxy's hlua_smp2lua (or, for the
// string variants, hlua_smp2lua_str): integers and booleans as integers
// (booleans as booleans with tune.lua.bool-sample-conversion normal),
// addresses and methods as text; nil when absent ("" for str).
func pushSample(p *vm.Call, rt *Runtime, smp sample.Sample, ok, str bool) {
	if !ok {
		if str {
			p.PushString("")
		} else {
			p.PushNil()
		}
		return
	}
	if str {
		if smp.Type == sample.TypeSInt || smp.Type == sample.TypeBool {
			// Convert's decimal form, without making a string
			var b [20]byte
			p.PushBytes(strconv.AppendInt(b[:0], smp.Int, 10))
			return
		}
		s := smp
		if !sample.Convert(&s, sample.TypeStr) {
			p.PushString("")
			return
		}
		p.PushString(s.Str)
		return
	}
	switch smp.Type {
	case sample.TypeBool:
		if rt != nil && rt.Settings.BoolSamples {
			p.PushBool(smp.Int != 0)
		} else {
			p.PushInteger(smp.Int)
		}
	case sample.TypeSInt:
		p.PushInteger(smp.Int)
	case sample.TypeStr, sample.TypeBin:
		p.PushString(smp.Str)
	default:
		s := smp
		if sample.Convert(&s, sample.TypeStr) {
			p.PushString(s.Str)
		} else {
			p.PushNil()
		}
	}
}

// sampleOf converts a Lua fetch or converter's result into a sample.
func (smp luaSample) sample() sample.Sample {
	switch smp.kind {
	case sampleSInt:
		return sample.Int(smp.num)
	case sampleBool:
		return sample.Bool(smp.num != 0)
	}
	return sample.Str(smp.str)
}

// luaArgs are a lua.<name>(a,b,...) keyword's arguments: up to 12
// optional strings, passed to the function after txn (or the input).
var luaArgs = sample.Args(0, sample.ArgStr, sample.ArgStr, sample.ArgStr, sample.ArgStr,
	sample.ArgStr, sample.ArgStr, sample.ArgStr, sample.ArgStr, sample.ArgStr, sample.ArgStr,
	sample.ArgStr, sample.ArgStr)

// argStrings returns the configuration arguments of a lua.* keyword.
// HAProxy compat: "lua.f" without parentheses has no argument (our
// parser gives one empty string for it).
func argStrings(args []sample.Arg) []string {
	if len(args) == 1 && args[0].Str == "" {
		return nil
	}
	out := make([]string, len(args))
	for i := range args {
		out[i] = args[i].Str
	}
	return out
}

// fetchTarget is where a lua.<name> fetch found its function in an
// engine: the engine's shared state (a runtime's states are made once,
// with the engine, and never replaced).
type fetchTarget struct {
	e  *core.Engine
	ls *LState
	r  *registered
}

// registerLuaFetch makes lua.<name> a sample fetch. The keyword is
// process-wide and finds the function through the stream's engine, so a
// name registered by several engines (or states) resolves per stream.
func registerLuaFetch(name string) {
	// the engine whose shared state last had the function, to skip two
	// map lookups per call (as luaAction.resolve does)
	var last atomic.Pointer[fetchTarget]
	sample.RegisterFetch(&sample.Fetch{
		Name: "lua." + name,
		Args: luaArgs,
		Out:  sample.TypeStr,
		Use:  sample.UseIntrn,
		Fn: func(ctx *sample.Ctx, args []sample.Arg) (sample.Sample, bool) {
			s, ok := ctx.Stream.(*core.Stream)
			if !ok {
				return sample.Sample{}, false
			}
			var ls *LState
			var r *registered
			if t := last.Load(); t != nil && t.e == s.Engine {
				ls, r = t.ls, t.r
			} else {
				rt, ok := s.Engine.Ext[extKey].(*Runtime)
				if !ok {
					return sample.Sample{}, false // another engine's keyword
				}
				ls, r = rt.lookup(s.Thread, func(ls *LState) *registered { return ls.fetches[name] })
				if ls == nil {
					return sample.Sample{}, false
				}
				if ls == rt.shared {
					last.Store(&fetchTarget{e: s.Engine, ls: ls, r: r})
				}
			}
			words := argStrings(args)
			ls.Lock()
			defer ls.Unlock()
			iv := newTXNInvocation(ctxFetch, name, s, ls)
			defer ls.recycle(iv) // after runSample closed its coroutine
			txn := iv.txn
			smp, ok := ls.runSample(iv, r.fn, func(p *vm.Pusher) {
				pushTXN(p, txn)
				for _, w := range words {
					p.PushString(w)
				}
			})
			if !ok {
				return sample.Sample{}, false
			}
			return smp.sample(), true
		},
	})
}

// argCache keeps the parsed arguments of the keyword calls scripts make
// (txn.f:req_fhdr("host"), txn.c:regsub(s, "a", "b")), so that a call
// repeated on every request neither re-parses nor recompiles (regexes,
// maps). Parsed arguments are read-only once checked. The cache is
// bounded: past argCacheMax entries, new argument lists are parsed per call.
//
// Lookups take no lock and allocate nothing: the key is built on the
// stack from the Lua strings themselves, and the map is replaced, not
// changed, when an entry is added (misses are rare: once per distinct
// call).
type argCache struct {
	mu sync.Mutex // serializes additions
	m  atomic.Pointer[map[string][]sample.Arg]
}

const argCacheMax = 4096

var keywordArgs argCache

// forCall returns the arguments of keyword kw (a fetch when conv is
// false) given to a Lua call from argument from on. Its errors are the
// Lua call's.
//
// mc, when not nil, is the calling method's cache of its call without
// arguments and of its first call with one string argument: scripts call
// a keyword the same way on every request (txn.sf:path(),
// txn.f:req_fhdr("host")), which then costs a load and at most a
// comparison instead of building and hashing a key (a third of a fetch
// call's instructions).
func (ac *argCache) forCall(c *vm.Call, from int, kw string, conv bool, spec sample.ArgSpec, check func([]sample.Arg, *sample.Scope) error, mc *methodArgs) ([]sample.Arg, error) {
	var slot *atomic.Pointer[oneArg] // the cache entry of this call's shape, if it has one
	var word []byte
	switch {
	case c.Top() < from:
		if len(spec.Types) == 0 {
			return nil, nil
		}
		if mc != nil {
			slot = &mc.none
		}
	case mc != nil && c.Top() == from && c.Type(from) == vm.TypeString:
		slot = &mc.one
		word, _ = c.Bytes(from)
	}
	if slot != nil {
		if e := slot.Load(); e != nil && string(word) == e.word {
			return e.args, nil
		}
	}
	args, err := ac.lookup(c, from, kw, conv, spec, check)
	if err == nil && slot != nil && slot.Load() == nil {
		slot.CompareAndSwap(nil, &oneArg{word: string(word), args: args})
	}
	return args, err
}

// methodArgs is a keyword method's cache of checked arguments
// (argCache.forCall): its call without arguments, and its first call with
// one string argument.
type methodArgs struct {
	none atomic.Pointer[oneArg]
	one  atomic.Pointer[oneArg]
}

// oneArg is a cached argument list: the Lua argument it was parsed from
// (none for a call without arguments) and the result.
type oneArg struct {
	word string
	args []sample.Arg
}

// lookup is forCall without the one-argument cache.
func (ac *argCache) lookup(c *vm.Call, from int, kw string, conv bool, spec sample.ArgSpec, check func([]sample.Arg, *sample.Scope) error) ([]sample.Arg, error) {
	var buf [256]byte
	key := append(buf[:0], 'f', 0)
	if conv {
		key[0] = 'c'
	}
	key = append(key, kw...)
	simple := true
	for i := from; i <= c.Top(); i++ {
		if c.Type(i) != vm.TypeString {
			simple = false // numbers and booleans: the slow path words them
			break
		}
		b, _ := c.Bytes(i)
		key = append(append(key, 0), b...)
	}
	if simple {
		if m := ac.m.Load(); m != nil {
			if args, ok := (*m)[string(key)]; ok {
				return args, nil
			}
		}
	}
	if err := checkArgCount(c, from, kw, spec); err != nil {
		return nil, err
	}
	words, err := luaWords(c, from)
	if err != nil {
		return nil, err
	}
	args, err := ac.parse(kw, conv, spec, check, words)
	if err != nil {
		return nil, fmt.Errorf("'%s': %v", luaKeywordName(kw), err)
	}
	return args, nil
}

// luaMinArgs are the keywords whose HAProxy argument mask asks for more
// arguments than their configuration form: HAProxy 2.6 declares json's
// ARG1(1,STR), which its configuration parser lets "json" alone through
// but hlua_lua2arg_check enforces.
var luaMinArgs = map[string]int{"json": 1}

// checkArgCount raises what HAProxy's hlua_lua2arg_check does for a
// keyword call with too many arguments, a mandatory one missing, or a
// number where the keyword takes a string; the argument numbers count
// from the object (luaL_argerror then drops self in a method call).
func checkArgCount(c *vm.Call, from int, kw string, spec sample.ArgSpec) error {
	n := max(c.Top()-from+1, 0)
	if m, ok := luaMinArgs[kw]; ok && n < m {
		return c.ArgError(from+n, "Mandatory argument expected")
	}
	if n > len(spec.Types) {
		return c.ArgError(from+len(spec.Types), "Last argument expected")
	}
	if n < spec.Min {
		return c.ArgError(from+n, "Mandatory argument expected")
	}
	for i := range n {
		if spec.Types[i] == sample.ArgStr && c.Type(from+i) == vm.TypeNumber {
			return c.ArgError(from+i, "unable to duplicate string arg")
		}
	}
	return nil
}

// parse returns the arguments of keyword kw for words, from the cache
// or parsed (then added to it).
func (ac *argCache) parse(kw string, conv bool, spec sample.ArgSpec, check func([]sample.Arg, *sample.Scope) error, words []string) ([]sample.Arg, error) {
	if len(words) == 0 && len(spec.Types) == 0 {
		return nil, nil
	}
	var b strings.Builder
	if conv {
		b.WriteString("c\x00")
	} else {
		b.WriteString("f\x00")
	}
	b.WriteString(kw)
	for _, w := range words {
		b.WriteByte(0)
		b.WriteString(w)
	}
	key := b.String()
	if m := ac.m.Load(); m != nil {
		if args, ok := (*m)[key]; ok {
			return args, nil
		}
	}
	args, err := sample.ParseArgWords(kw, conv, spec, check, words)
	if err != nil {
		return nil, err
	}
	ac.mu.Lock()
	defer ac.mu.Unlock()
	old := ac.m.Load()
	if old != nil && len(*old) >= argCacheMax {
		return args, nil
	}
	next := make(map[string][]sample.Arg, 1+lenOf(old))
	if old != nil {
		maps.Copy(next, *old)
	}
	next[key] = args
	ac.m.Store(&next)
	return args, nil
}

func lenOf(m *map[string][]sample.Arg) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
