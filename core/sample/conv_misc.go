package sample

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// Address, variable, JSON and control converters (manual 7.3.1).

func init() {
	registerConverters(
		&Converter{Name: "ipmask", Args: Args(1, ArgMask4, ArgMask6), In: TypeAddr, Out: TypeAddr, Fn: convIPMask},
		&Converter{Name: "set-var", Args: Args(1, ArgStr, ArgStr, ArgStr, ArgStr, ArgStr), Check: checkSetVar, In: TypeAny, Out: TypeSame, Fn: convSetVar},
		&Converter{Name: "unset-var", Args: Args(1, ArgStr), Check: checkVarArg(0), In: TypeAny, Out: TypeSame, Fn: func(ctx *Ctx, a []Arg, in Sample) (Sample, bool) {
			ctx.UnsetVar(a[0].Var)
			return in, true
		}},
		&Converter{Name: "json_query", Args: Args(1, ArgStr, ArgStr), Check: checkJSONQuery(0), In: TypeStr, Out: TypeAny, Fn: func(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
			return jsonQuery(in.Str, a, 0)
		}},
		&Converter{Name: "jwt_header_query", Args: Args(0, ArgStr, ArgStr), Check: checkJSONQuery(0), In: TypeStr, Out: TypeAny, Fn: jwtQuery(0)},
		&Converter{Name: "jwt_payload_query", Args: Args(0, ArgStr, ArgStr), Check: checkJSONQuery(0), In: TypeStr, Out: TypeAny, Fn: jwtQuery(1)},
		&Converter{Name: "debug", Args: Args(0, ArgStr, ArgStr), In: TypeAny, Out: TypeSame, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			return in, true
		}},
		&Converter{Name: "when", Args: Args(1, ArgStr, ArgStr), Check: checkWhen, In: TypeAny, Out: TypeSame, Fn: convWhen},
		// in_table needs stick tables: the name exists so that the engine
		// can resolve the table argument; without a table it never matches.
		&Converter{Name: "in_table", Args: Args(0, ArgTable), Check: defaultTableArg, In: TypeAny, Out: TypeBool, Fn: func(ctx *Ctx, a []Arg, in Sample) (Sample, bool) {
			if t, ok := a[0].Ref.(interface{ Contains(*Ctx, Sample) bool }); ok {
				return Bool(t.Contains(ctx, in)), true
			}
			return Bool(false), true
		}},
	)
}

func convIPMask(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	if in.Type == TypeIPv4 {
		p, err := in.Addr.Prefix(a[0].Prefix.Bits())
		if err != nil {
			return Sample{}, false
		}
		return Addr(p.Addr()), true
	}
	if len(a) < 2 {
		return Sample{}, false
	}
	p, err := in.Addr.Prefix(a[1].Prefix.Bits())
	if err != nil {
		return Sample{}, false
	}
	return Sample{Type: TypeIPv6, Addr: p.Addr()}, true
}

func checkSetVar(args []Arg, sc *Scope) error {
	v, err := ParseVarName(args[0].Str)
	if err != nil {
		return err
	}
	args[0].Type, args[0].Var = ArgVar, v
	for i := 1; i < len(args); i++ {
		c, err := ParseVarCond(args[i].Str)
		if err != nil {
			return err
		}
		args[0].Int |= int64(c)
	}
	return nil
}

func convSetVar(ctx *Ctx, a []Arg, in Sample) (Sample, bool) {
	ctx.SetVar(a[0].Var, in, VarCond(a[0].Int))
	return in, true
}

// When conditions other than "stopping" and "acl" depend on the stream:
// the engine registers them with RegisterWhenCond.
var whenConds = struct {
	sync.RWMutex
	m map[string]func(ctx *Ctx) bool
}{m: map[string]func(ctx *Ctx) bool{
	"stopping": func(*Ctx) bool { return Stopping.Load() },
}}

// RegisterWhenCond adds a condition of the "when" converter ("error",
// "forwarded", "normal", "processed", "toapplet" are the engine's).
func RegisterWhenCond(name string, fn func(ctx *Ctx) bool) {
	whenConds.Lock()
	whenConds.m[name] = fn
	whenConds.Unlock()
}

func checkWhen(args []Arg, sc *Scope) error {
	name := strings.TrimPrefix(args[0].Str, "!")
	if name == "acl" {
		return fmt.Errorf("'acl' condition is not supported here")
	}
	whenConds.RLock()
	_, ok := whenConds.m[name]
	whenConds.RUnlock()
	if !ok && name != "error" && name != "normal" && name != "forwarded" && name != "processed" && name != "toapplet" {
		return fmt.Errorf("unknown condition '%s'", args[0].Str)
	}
	return nil
}

func convWhen(ctx *Ctx, a []Arg, in Sample) (Sample, bool) {
	name, neg := a[0].Str, false
	if strings.HasPrefix(name, "!") {
		name, neg = name[1:], true
	}
	whenConds.RLock()
	fn := whenConds.m[name]
	whenConds.RUnlock()
	v := false
	if fn != nil {
		v = fn(ctx)
	} else if name == "normal" {
		v = true // no engine hook: nothing went wrong as far as we know
	}
	if v != neg {
		return in, true
	}
	return Sample{}, false
}

// defaultTableArg makes an omitted table argument name the current proxy.
func defaultTableArg(args []Arg, sc *Scope) error {
	if args[0].Str == "" && sc != nil {
		args[0].Str = sc.Proxy
	}
	return nil
}

// jsonPathStep is one element of a parsed JSON path: a member name, or an
// array index when isIndex is set.
type jsonPathStep struct {
	name    string
	index   int
	isIndex bool
}

func checkJSONQuery(i int) func(args []Arg, sc *Scope) error {
	return func(args []Arg, sc *Scope) error {
		if len(args) <= i || args[i].Str == "" {
			return nil
		}
		steps, err := parseJSONPath(args[i].Str)
		if err != nil {
			return err
		}
		args[i].Ref = steps
		if len(args) > i+1 && args[i+1].Str != "" {
			if args[i+1].Str != "int" {
				return fmt.Errorf("output_type only supports \"int\" as argument")
			}
			args[i+1].Int = 1
		}
		return nil
	}
}

// parseJSONPath parses the subset of JSON Path HAProxy's mjson accepts:
// "$", ".name" (with "\." for a dot in a name), "[n]" and "['name']".
func parseJSONPath(p string) ([]jsonPathStep, error) {
	if !strings.HasPrefix(p, "$") {
		return nil, fmt.Errorf("the JSON path must start with '$'")
	}
	var steps []jsonPathStep
	i := 1
	for i < len(p) {
		switch p[i] {
		case '.':
			i++
			var b strings.Builder
			for i < len(p) && p[i] != '.' && p[i] != '[' {
				if p[i] == '\\' && i+1 < len(p) {
					i++
				}
				b.WriteByte(p[i])
				i++
			}
			steps = append(steps, jsonPathStep{name: b.String()})
		case '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated '[' in JSON path")
			}
			in := p[i+1 : i+j]
			i += j + 1
			if len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0] {
				steps = append(steps, jsonPathStep{name: in[1 : len(in)-1]})
				continue
			}
			n, err := strconv.Atoi(in)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("invalid index '%s' in JSON path", in)
			}
			steps = append(steps, jsonPathStep{index: n, isIndex: true})
		default:
			return nil, fmt.Errorf("unexpected character '%c' in JSON path", p[i])
		}
	}
	return steps, nil
}

// jsonQuery evaluates args[i] (a parsed path) on doc; args[i+1].Int set
// asks for an integer.
func jsonQuery(doc string, a []Arg, i int) (Sample, bool) {
	steps, _ := a[i].Ref.([]jsonPathStep)
	raw := json.RawMessage(strings.TrimSpace(doc))
	for _, st := range steps {
		if st.isIndex {
			var arr []json.RawMessage
			if json.Unmarshal(raw, &arr) != nil || st.index >= len(arr) {
				return Sample{}, false
			}
			raw = arr[st.index]
			continue
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return Sample{}, false
		}
		v, ok := obj[st.name]
		if !ok {
			return Sample{}, false
		}
		raw = v
	}
	wantInt := len(a) > i+1 && a[i+1].Int == 1
	t := strings.TrimSpace(string(raw))
	if t == "" {
		return Sample{}, false
	}
	switch t[0] {
	case '"':
		var s string
		if json.Unmarshal([]byte(t), &s) != nil {
			return Sample{}, false
		}
		if wantInt {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return Sample{}, false
			}
			return Int(v), true
		}
		return Str(s), true
	case 't', 'f':
		if t == "true" {
			return Bool(true), true
		}
		if t == "false" {
			return Bool(false), true
		}
		return Sample{}, false
	case '[':
		if !json.Valid([]byte(t)) {
			return Sample{}, false
		}
		return Str(t), true
	case '{', 'n':
		return Sample{}, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return Sample{}, false
	}
	if wantInt {
		if f > math.MaxInt64 || f < math.MinInt64 {
			return Sample{}, false
		}
		return Int(int64(f)), true
	}
	return Str(strconv.FormatFloat(f, 'g', 6, 64)), true
}

// jwtQuery decodes part (0 header, 1 payload) of a compact JWT and
// queries it.
func jwtQuery(part int) ConvFunc {
	return func(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
		parts := strings.Split(in.Str, ".")
		if len(parts) < 3 || part >= len(parts) {
			return Sample{}, false
		}
		dec, ok := base64URLDecode(parts[part])
		if !ok {
			return Sample{}, false
		}
		if len(a) == 0 || a[0].Ref == nil {
			// HAProxy 2.6 compat: without a path there is no result (3.x
			// returns the decoded part).
			return Sample{}, false
		}
		return jsonQuery(dec, a, 0)
	}
}

// parseMask6 accepts a prefix length or an IPv6 netmask.
func parseMask6(w string) (netip.Prefix, bool) {
	if n, ok := strictInt(w); ok {
		if n < 0 || n > 128 {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(netip.IPv6Unspecified(), int(n)), true
	}
	m, ok := parseIPv6(w)
	if !ok {
		return netip.Prefix{}, false
	}
	b := m.As16()
	bits, done := 0, false
	for _, c := range b {
		for k := 7; k >= 0; k-- {
			set := c&(1<<k) != 0
			if set && done {
				return netip.Prefix{}, false
			}
			if set {
				bits++
			} else {
				done = true
			}
		}
	}
	return netip.PrefixFrom(netip.IPv6Unspecified(), bits), true
}
