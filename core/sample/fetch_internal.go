package sample

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"luaproxy/core/config"
)

// Fetches from internal states and constants (manual 7.3.2).

// Stopping is set by the engine when the process starts a soft stop; the
// "stopping" fetch and the when(stopping) converter read it.
var Stopping atomic.Bool

// StartTime is when the process started, for "uptime".
var StartTime = time.Now()

// Hostname is what the "hostname" fetch returns: the system host name.
var Hostname, _ = os.Hostname()

func constFetch(name string, args ArgSpec, out Type, check func([]Arg, *Scope) error, fn FetchFunc) *Fetch {
	return &Fetch{Name: name, Args: args, Check: check, Out: out, Use: UseConst, Fn: fn}
}

func init() {
	registerFetches(
		constFetch("always_true", ArgSpec{}, TypeBool, nil, func(*Ctx, []Arg) (Sample, bool) { return Bool(true), true }),
		constFetch("always_false", ArgSpec{}, TypeBool, nil, func(*Ctx, []Arg) (Sample, bool) { return Bool(false), true }),
		constFetch("bool", Args(1, ArgStr), TypeBool, checkConstBool, func(_ *Ctx, a []Arg) (Sample, bool) {
			return Sample{Type: TypeBool, Int: a[0].Int}, true
		}),
		constFetch("int", Args(1, ArgSInt), TypeSInt, nil, func(_ *Ctx, a []Arg) (Sample, bool) { return Int(a[0].Int), true }),
		constFetch("str", Args(1, ArgStr), TypeStr, nil, func(_ *Ctx, a []Arg) (Sample, bool) { return Str(a[0].Str), true }),
		constFetch("bin", Args(1, ArgStr), TypeBin, checkConstBin, func(_ *Ctx, a []Arg) (Sample, bool) { return Bin(a[0].Str), true }),
		constFetch("ipv4", Args(1, ArgIPv4), TypeIPv4, nil, func(_ *Ctx, a []Arg) (Sample, bool) { return Addr(a[0].Addr), true }),
		constFetch("ipv6", Args(1, ArgIPv6), TypeIPv6, nil, func(_ *Ctx, a []Arg) (Sample, bool) {
			return Sample{Type: TypeIPv6, Addr: a[0].Addr}, true
		}),
		constFetch("meth", Args(1, ArgStr), TypeMeth, checkConstMeth, func(_ *Ctx, a []Arg) (Sample, bool) { return Meth(a[0].Str), true }),
		&Fetch{Name: "env", Args: Args(1, ArgStr), Out: TypeStr, Use: UseIntrn, Fn: func(_ *Ctx, a []Arg) (Sample, bool) {
			v, ok := config.LookupEnv(a[0].Str)
			return Str(v), ok
		}},
		&Fetch{Name: "date", Args: Args(0, ArgSInt, ArgStr), Check: checkDateUnit(1), Out: TypeSInt, Use: UseIntrn, Fn: fetchDate},
		&Fetch{Name: "date_us", Out: TypeSInt, Use: UseIntrn, Fn: func(ctx *Ctx, _ []Arg) (Sample, bool) {
			return Int(int64(ctx.now().Nanosecond() / 1000)), true
		}},
		&Fetch{Name: "hostname", Out: TypeStr, Use: UseIntrn, Fn: func(*Ctx, []Arg) (Sample, bool) { return Str(Hostname), true }},
		&Fetch{Name: "pid", Out: TypeSInt, Use: UseIntrn, Fn: func(*Ctx, []Arg) (Sample, bool) { return Int(int64(os.Getpid())), true }},
		&Fetch{Name: "proc", Out: TypeSInt, Use: UseIntrn, Fn: func(*Ctx, []Arg) (Sample, bool) { return Int(1), true }},
		&Fetch{Name: "nbproc", Out: TypeSInt, Use: UseIntrn, Fn: func(*Ctx, []Arg) (Sample, bool) { return Int(1), true }},
		&Fetch{Name: "rand", Args: Args(0, ArgSInt), Out: TypeSInt, Use: UseIntrn, Fn: fetchRand},
		&Fetch{Name: "thread", Out: TypeSInt, Use: UseIntrn, Fn: func(ctx *Ctx, _ []Arg) (Sample, bool) { return Int(int64(ctx.Thread)), true }},
		&Fetch{Name: "uuid", Args: Args(0, ArgSInt), Check: checkUUID, Out: TypeStr, Use: UseIntrn, Fn: fetchUUID},
		&Fetch{Name: "uptime", Out: TypeSInt, Use: UseIntrn, Fn: func(ctx *Ctx, _ []Arg) (Sample, bool) {
			return Int(int64(ctx.now().Sub(StartTime) / time.Second)), true
		}},
		&Fetch{Name: "stopping", Out: TypeBool, Use: UseIntrn, Fn: func(*Ctx, []Arg) (Sample, bool) { return Bool(Stopping.Load()), true }},
		&Fetch{Name: "var", Args: Args(1, ArgStr, ArgStr), Check: checkVarFetch, Out: TypeAny, Use: UseIntrn, Fn: fetchVar},
	)
}

func checkConstBool(args []Arg, sc *Scope) error {
	switch args[0].Str {
	case "true", "1":
		args[0].Int = 1
	case "false", "0":
		args[0].Int = 0
	default:
		return fmt.Errorf("Expects 'true', 'false', '0' or '1'")
	}
	return nil
}

func checkConstBin(args []Arg, sc *Scope) error {
	s := args[0].Str
	if len(s)%2 != 0 {
		return fmt.Errorf("an even number of hex digit is expected")
	}
	b := make([]byte, len(s)/2)
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return fmt.Errorf("an hex digit is expected (found '%c')", s[i])
		}
	}
	for i := range b {
		b[i] = unhexByte(s[2*i])<<4 | unhexByte(s[2*i+1])
	}
	args[0].Str = string(b)
	return nil
}

func checkConstMeth(args []Arg, sc *Scope) error {
	s := args[0].Str
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return fmt.Errorf("expects a valid method")
		}
	}
	return nil
}

// isTokenChar tells whether c is an RFC 7230 token character.
func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func fetchDate(ctx *Ctx, a []Arg) (Sample, bool) {
	t := ctx.now()
	unit := int64(1)
	if len(a) > 1 && a[1].Int > 0 {
		unit = a[1].Int
	}
	var v int64
	switch unit {
	case 1000:
		v = t.UnixMilli()
	case 1000000:
		v = t.UnixMicro()
	default:
		v = t.Unix()
	}
	if len(a) > 0 {
		v += a[0].Int * unit
	}
	return Int(v), true
}

func fetchRand(_ *Ctx, a []Arg) (Sample, bool) {
	v := int64(mrand.Uint32())
	if len(a) > 0 && a[0].Int > 0 {
		// HAProxy compat: scaled as ((u64)rand32 * range) >> 32
		v = int64(uint64(v) * uint64(a[0].Int) >> 32)
	}
	return Sample{Type: TypeSInt, Int: v, Flags: Volatile}, true
}

func checkUUID(args []Arg, sc *Scope) error {
	if len(args) == 0 || args[0].Int == 0 {
		if len(args) > 0 {
			args[0].Int = 4
		}
		return nil
	}
	if args[0].Int != 4 && args[0].Int != 7 {
		return fmt.Errorf("Unsupported UUID version: '%d'", args[0].Int)
	}
	return nil
}

func fetchUUID(ctx *Ctx, a []Arg) (Sample, bool) {
	var b [16]byte
	rand.Read(b[:])
	if len(a) > 0 && a[0].Int == 7 {
		ms := uint64(ctx.now().UnixMilli())
		var t [8]byte
		binary.BigEndian.PutUint64(t[:], ms<<16)
		copy(b[:6], t[:6])
		b[6] = b[6]&0x0f | 0x70
	} else {
		b[6] = b[6]&0x0f | 0x40
	}
	b[8] = b[8]&0x3f | 0x80
	h := hexEncode(string(b[:]))
	return Sample{Type: TypeStr, Flags: Volatile, Str: h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]}, true
}

func checkVarFetch(args []Arg, sc *Scope) error {
	v, err := ParseVarName(args[0].Str)
	if err != nil {
		return err
	}
	args[0].Type, args[0].Var = ArgVar, v
	if len(args) > 1 {
		// a default value given, even empty
		args[1].Int = 1
	}
	return nil
}

func fetchVar(ctx *Ctx, a []Arg) (Sample, bool) {
	s, ok := ctx.GetVar(a[0].Var)
	if ok {
		return s, true
	}
	if len(a) > 1 && a[1].Int == 1 {
		return Str(a[1].Str), true
	}
	return Sample{}, false
}
