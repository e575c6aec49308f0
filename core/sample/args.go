package sample

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/dlclark/regexp2"

	"luaproxy/core/config"
)

// ArgType is the type of a keyword argument (HAProxy's ARGT_*).
type ArgType uint8

// The argument types. Names of configuration objects (ArgFrontend,
// ArgBackend, ArgTable, ArgServer, ArgUserlist) are kept as text in
// Arg.Str and resolved by the engine through (*Scope).Resolve, which
// stores the object in Arg.Ref.
const (
	ArgStop     ArgType = iota // end of list
	ArgSInt                    // Int
	ArgStr                     // Str
	ArgIPv4                    // Addr
	ArgMask4                   // Prefix (a.b.c.d or a prefix length)
	ArgIPv6                    // Addr
	ArgMask6                   // Prefix (a prefix length)
	ArgTime                    // Int in milliseconds
	ArgSize                    // Int in bytes
	ArgFrontend                // Str, Ref after resolution
	ArgBackend                 // Str, Ref after resolution
	ArgTable                   // Str, Ref after resolution
	ArgServer                  // Str ("[backend/]server"), Ref after resolution
	ArgUserlist                // Str, Ref after resolution
	ArgMap                     // Str; the converter's check function loads it into Ref
	ArgRegex                   // Str, compiled into Regex
	ArgVar                     // Var
)

var argTypeNames = [...]string{"end of arguments", "integer", "string", "IPv4 address", "IPv4 mask",
	"IPv6 address", "IPv6 mask", "time", "size", "frontend", "backend", "table", "server",
	"user list", "map", "regex", "variable"}

// String returns HAProxy's name for t, as used in error messages.
func (t ArgType) String() string {
	if int(t) < len(argTypeNames) {
		return argTypeNames[t]
	}
	return "unknown"
}

// Arg is one parsed keyword argument.
type Arg struct {
	Type   ArgType
	Int    int64
	Str    string
	Addr   netip.Addr
	Prefix netip.Prefix
	Regex  *regexp2.Regexp
	Var    VarName
	// Ref is the configuration object named by the argument once resolved
	// (engine types for backends, servers...; a *pattern.Expr for maps),
	// or anything a check function wants to keep (a precomputed table).
	Ref any
	// Keyword names the fetch or converter that owns the argument, and
	// Conv tells which one it is; both for error messages at resolution.
	Keyword string
	Conv    bool
	Pos     int // 1-based position in the argument list
}

// ArgSpec describes the arguments a keyword accepts: their types in
// order, the first Min of them mandatory.
type ArgSpec struct {
	Types []ArgType
	Min   int
}

// Args builds an ArgSpec: min mandatory arguments among types.
func Args(min int, types ...ArgType) ArgSpec { return ArgSpec{Types: types, Min: min} }

// parseArgs parses the argument list starting at in[0] (just after '('),
// like HAProxy's make_arg_list: arguments are separated by commas, end at
// ')', and may be quoted with ' or " (quotes removed). It returns the
// arguments, the number of bytes consumed including ')', and on error the
// 0-based index of the faulty argument.
//
// With parens false (keyword written without "(...)") the list is empty
// text, parsed the same way, which lets string arguments default to "".
func parseArgs(in string, parens bool, spec ArgSpec) ([]Arg, int, int, error) {
	var args []Arg
	if !parens {
		in = ""
	}
	pos, lastEmpty := 0, false
	for idx := 0; idx < len(spec.Types); idx++ {
		if parens && idx > 0 && pos >= len(in) {
			// input ends right after a comma
			return nil, 0, idx, fmt.Errorf("expected ')'")
		}
		word, n, ok := scanArgWord(in[pos:])
		if !ok {
			return nil, 0, idx, fmt.Errorf("expected ')'")
		}
		t := spec.Types[idx]
		atEnd := pos+n >= len(in) || in[pos+n] == ')'
		if n == 0 && t != ArgStr && atEnd {
			if idx < spec.Min {
				return nil, 0, idx, fmt.Errorf("expected type '%s' at position %d, but got nothing", t, idx+1)
			}
			break
		}
		a, err := parseArg(t, word)
		if err != nil {
			return nil, 0, idx, fmt.Errorf("%v at position %d", err, idx+1)
		}
		a.Pos = idx + 1
		args = append(args, a)
		lastEmpty = n == 0
		pos += n
		if pos < len(in) && in[pos] == ',' && idx+1 < len(spec.Types) {
			pos++
			continue
		}
		break
	}
	if len(args) < spec.Min {
		return nil, 0, len(args), fmt.Errorf("missing arguments (got %d/%d), type '%s' expected", len(args), spec.Min, spec.Types[len(args)])
	}
	if !parens {
		return args, 0, 0, nil
	}
	// HAProxy compat: the faulty argument reported is the last one parsed,
	// or the next one after an empty argument.
	errIdx := len(args) - 1
	if lastEmpty || errIdx < 0 {
		errIdx++
	}
	if pos >= len(in) {
		return nil, 0, errIdx, fmt.Errorf("expected ')'")
	}
	if in[pos] != ')' {
		return nil, 0, errIdx, fmt.Errorf("expected ')' before '%s'", in[pos:])
	}
	return args, pos + 1, 0, nil
}

// scanArgWord reads one argument up to an unquoted ',' or ')' and returns
// it unquoted and the bytes consumed. ok is false for an unterminated
// quote.
func scanArgWord(in string) (string, int, bool) {
	var b strings.Builder
	quote := byte(0)
	i := 0
	for ; i < len(in); i++ {
		c := in[i]
		if quote != 0 {
			if c == quote {
				quote = 0
				continue
			}
			b.WriteByte(c)
			continue
		}
		if c == '\'' || c == '"' {
			quote = c
			continue
		}
		if c == ',' || c == ')' {
			break
		}
		b.WriteByte(c)
	}
	if quote != 0 {
		return "", 0, false
	}
	return b.String(), i, true
}

// parseArg converts one argument word.
func parseArg(t ArgType, w string) (Arg, error) {
	a := Arg{Type: t, Str: w}
	bad := func() (Arg, error) { return Arg{}, fmt.Errorf("failed to parse '%s' as type '%s'", w, t) }
	switch t {
	case ArgSInt:
		v, ok := strictInt(w)
		if !ok {
			return bad()
		}
		a.Int = v
	case ArgStr, ArgFrontend, ArgBackend, ArgTable, ArgServer, ArgUserlist, ArgMap:
	case ArgRegex:
		// compiled by the keyword's check (it knows the flags)
	case ArgVar:
		// checked by the keyword (some accept integers too)
	case ArgIPv4:
		ip, ok := parseIPv4(w)
		if !ok {
			return bad()
		}
		a.Addr = ip
	case ArgMask4:
		p, ok := parseMask4(w)
		if !ok {
			return bad()
		}
		a.Prefix = p
	case ArgIPv6:
		ip, ok := parseIPv6(w)
		if !ok {
			return bad()
		}
		a.Addr = ip
	case ArgMask6:
		p, ok := parseMask6(w)
		if !ok {
			return bad()
		}
		a.Prefix = p
	case ArgTime:
		d, err := config.ParseTime(w, time.Millisecond)
		if err != nil {
			return bad()
		}
		a.Int = d.Milliseconds()
	case ArgSize:
		n, err := config.ParseSize(w)
		if err != nil {
			return bad()
		}
		a.Int = n
	}
	return a, nil
}

// strictInt parses an optional sign and decimal digits, nothing else.
func strictInt(w string) (int64, bool) {
	i := 0
	if i < len(w) && (w[i] == '-' || w[i] == '+') {
		i++
	}
	if i == len(w) {
		return 0, false
	}
	for j := i; j < len(w); j++ {
		if w[j] < '0' || w[j] > '9' {
			return 0, false
		}
	}
	return readInt64(w), true
}

// parseMask4 accepts a dotted netmask or a prefix length.
func parseMask4(w string) (netip.Prefix, bool) {
	if n, ok := strictInt(w); ok {
		if n < 0 || n > 32 {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(netip.IPv4Unspecified(), int(n)), true
	}
	m, ok := parseIPv4(w)
	if !ok {
		return netip.Prefix{}, false
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	if v != 0 {
		return netip.Prefix{}, false // not contiguous
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), bits), true
}
