//go:build lua53

package luabind

import (
	"fmt"
	"sync"

	"luaproxy/core"
	"luaproxy/core/sample"
	"luaproxy/luabind/vm"
)

// convertersClass is the Lua "Converters" class over a TXN: txn.c, typed
// results. One method per native converter, renamed as the fetches ('.',
// '-', '+' -> '_'); the first argument is the value to convert, the
// others the converter's arguments (txn.c:sdbm(s, 1)). A view of the TXN,
// as txn.f is.
var convertersClass = declareClass(&vm.Class[*TXN]{Name: "Converters"})

// sconvertersClass is txn.sc: the same methods, results as strings.
var sconvertersClass = &vm.Class[*TXN]{Name: "Converters"}

var convertersOnce sync.Once

func buildConvertersClass() {
	convertersOnce.Do(func() {
		for _, str := range []bool{false, true} {
			convertersOf(str).Methods = keywordMethods(sample.ConverterNames(), func(name string) func(*TXN, *vm.Call) (int, error) {
				cv, _ := sample.LookupConverter(name)
				return convMethod(cv, str)
			})
		}
	})
}

// convertersOf returns the class of txn.sc (str) or txn.c.
func convertersOf(str bool) *vm.Class[*TXN] {
	if str {
		return sconvertersClass
	}
	return convertersClass
}

func pushConverters(p *vm.Pusher, tx *TXN, str bool) {
	buildConvertersClass()
	convertersOf(str).Push(p, tx)
}

// convMethod implements Converters.<name>(c, value, args...): the
// converted value (nil when the conversion fails), or as a string (""
// then) for txn.sc. It never yields.
func convMethod(cv *sample.Converter, str bool) func(*TXN, *vm.Call) (int, error) {
	var mc methodArgs
	return func(tx *TXN, c *vm.Call) (int, error) {
		in := sampleFromLua(c, 2)
		args, err := keywordArgs.forCall(c, 3, cv.Name, true, cv.Args, cv.Check, &mc)
		if err != nil {
			return 0, err
		}
		if !sample.Convert(&in, cv.In) {
			// HAProxy compat: a Lua error, not an absent result.
			return 0, fmt.Errorf("error during the input argument casting")
		}
		out, ok := cv.Fn(tx.s.SampleCtx(), args, in)
		pushSample(c, tx.ls.rt, out, ok, str)
		return 1, nil
	}
}

// sampleFromLua converts argument i as hlua_lua2smp: numbers to sint,
// booleans to bool, strings to str, anything else to bool false.
func sampleFromLua(c *vm.Call, i int) sample.Sample {
	return sampleOfArg(c, i).sample()
}

// registerLuaConverter makes lua.<name> a converter: the function gets
// the input as a string and the configuration arguments.
func registerLuaConverter(name string) {
	sample.RegisterConverter(&sample.Converter{
		Name: "lua." + name,
		Args: luaArgs,
		In:   sample.TypeStr,
		Out:  sample.TypeStr,
		Fn: func(ctx *sample.Ctx, args []sample.Arg, in sample.Sample) (sample.Sample, bool) {
			s, ok := ctx.Stream.(*core.Stream)
			if !ok {
				return sample.Sample{}, false
			}
			rt, ok := s.Engine.Ext[extKey].(*Runtime)
			if !ok {
				return sample.Sample{}, false // another engine's keyword
			}
			ls, r := rt.lookup(s.Thread, func(ls *LState) *registered { return ls.convs[name] })
			if ls == nil {
				return sample.Sample{}, false
			}
			words := argStrings(args)
			ls.Lock()
			defer ls.Unlock()
			iv := &invocation{ctx: ctxConverter, name: name, s: s}
			smp, ok := ls.runSample(iv, r.fn, func(p *vm.Pusher) {
				p.PushString(in.Str)
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
