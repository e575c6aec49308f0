package sample

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Format is a parsed log-format string (manual 8.2.4): literal text,
// "%[expr]" sample expressions and "%X" log variables, each optionally
// preceded by "{+Q,-E,...}" options.
type Format struct {
	Text  string // as written
	nodes []fmtNode
}

// FormatOpts are the per-node options of "%{...}".
type FormatOpts uint8

// The node options.
const (
	OptQuote  FormatOpts = 1 << iota // +Q: quote strings in logs
	OptHex                           // +X: integers in hexadecimal
	OptEscape                        // +E: escape '"', '\' and ']' in logs
	OptBin                           // +bin (3.x), parsed and ignored
)

type fmtNode struct {
	lit  string // literal text when expr and logVar are unset
	expr *Expr
	// logVar is a "%X" variable; fn is looked up when rendering.
	logVar string
	opts   FormatOpts
}

// LogVarFunc renders a log variable ("%ci", "%ST"...) into dst. The
// engine registers these; ok false renders as a missing value.
type LogVarFunc func(ctx *Ctx, dst []byte, opts FormatOpts) ([]byte, bool)

var logVars = struct {
	sync.RWMutex
	m map[string]LogVarFunc
}{m: map[string]LogVarFunc{}}

// RegisterLogVar provides the rendering of a log variable.
func RegisterLogVar(name string, fn LogVarFunc) {
	logVars.Lock()
	logVars.m[name] = fn
	logVars.Unlock()
}

// knownLogVars are HAProxy 2.6's log-format variables (manual 8.2.4);
// the parser accepts them whether or not the engine renders them yet.
var knownLogVars = map[string]bool{}

func init() {
	for _, v := range strings.Fields(`o ci cp bi bp fi fp b bc bq f fc ft fq hr hrl hs hsl
		H HM HP HPO HQ HU HV ID ac B bc CC CS lc ms pid r rc rt s sc sq si sp st ts tsc
		Ta Tc Td Th Ti Tq TR Tr Ts Tt Tu Tw U t T sslc sslv rq`) {
		knownLogVars[v] = true
	}
}

// ParseFormat parses a log-format string. Errors are in HAProxy's words.
func ParseFormat(s string) (*Format, error) { return ParseFormatIn(s, nil) }

// ParseFormatIn is ParseFormat with a parsing scope.
func ParseFormatIn(s string, sc *Scope) (*Format, error) {
	f := &Format{Text: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.nodes = append(f.nodes, fmtNode{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			lit.WriteByte('%')
			i += 2
			continue
		}
		i++
		var opts FormatOpts
		if i < len(s) && s[i] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("missing '}' after '%%{' in '%s'", s[i-1:])
			}
			o, err := parseFormatOpts(s[i+1 : i+end])
			if err != nil {
				return nil, err
			}
			opts = o
			i += end + 1
		}
		if i < len(s) && s[i] == '[' {
			rest := s[i+1:]
			e, n, err := parseExpr(rest, sc)
			if err != nil {
				return nil, fmt.Errorf("failed to parse sample expression <%s> : %v", rest, err)
			}
			if n >= len(rest) {
				return nil, fmt.Errorf("missing ']' after '%s'", rest[:n])
			}
			if rest[n] != ']' {
				return nil, fmt.Errorf("expected ']' after '%s', but found '%c'", rest[:n], rest[n])
			}
			flush()
			f.nodes = append(f.nodes, fmtNode{expr: e, opts: opts})
			i += 1 + n + 1
			continue
		}
		j := i
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
			j++
		}
		name := s[i:j]
		if name == "" {
			return nil, fmt.Errorf("no such format variable '%s'. If you wanted to emit the '%%' character verbatim, you need to use '%%%%'", "")
		}
		// the longest known prefix wins ("%Tw" before "%T")
		for k := len(name); k > 0; k-- {
			if knownLogVars[name[:k]] {
				name = name[:k]
				break
			}
		}
		if !knownLogVars[name] {
			logVars.RLock()
			_, ok := logVars.m[name]
			logVars.RUnlock()
			if !ok {
				return nil, fmt.Errorf("no such format variable '%s'. If you wanted to emit the '%%' character verbatim, you need to use '%%%%'", name)
			}
		}
		flush()
		f.nodes = append(f.nodes, fmtNode{logVar: name, opts: opts})
		i += len(name)
	}
	flush()
	return f, nil
}

func parseFormatOpts(s string) (FormatOpts, error) {
	var o FormatOpts
	for _, w := range strings.Split(s, ",") {
		if w == "" {
			continue
		}
		if w[0] != '+' && w[0] != '-' {
			return 0, fmt.Errorf("unknown format option '%s'", w)
		}
		var bit FormatOpts
		switch w[1:] {
		case "Q":
			bit = OptQuote
		case "X":
			bit = OptHex
		case "E":
			bit = OptEscape
		case "bin", "json", "cbor":
			bit = OptBin
		default:
			return 0, fmt.Errorf("unknown format option '%s'", w)
		}
		if w[0] == '+' {
			o |= bit
		} else {
			o &^= bit
		}
	}
	return o, nil
}

// Check verifies that every expression can work at one of the points in
// where; the error is HAProxy's: "sample fetch <req.hdr(a)]> may not be
// reliably used here because it needs 'HTTP request headers' which is
// not available here".
func (f *Format) Check(where Where) error { return f.CheckSources(where, ^Use(0)) }

// CheckSources is Check restricted to the fetches reading one of srcs.
func (f *Format) CheckSources(where Where, srcs Use) error {
	for _, n := range f.nodes {
		if n.expr != nil && n.expr.fetch.Use&srcs != 0 && n.expr.fetch.Use.Val()&where == 0 {
			rest := f.Text[strings.Index(f.Text, n.expr.Text):]
			return fmt.Errorf("sample fetch <%s> may not be reliably used here because it needs '%s' which is not available here", rest, n.expr.fetch.Use)
		}
	}
	return nil
}

// Exprs returns the sample expressions of the format, in order.
func (f *Format) Exprs() []*Expr {
	var out []*Expr
	for _, n := range f.nodes {
		if n.expr != nil {
			out = append(out, n.expr)
		}
	}
	return out
}

// IsConst tells whether the format is only literal text.
func (f *Format) IsConst() bool {
	for _, n := range f.nodes {
		if n.lit == "" {
			return false
		}
	}
	return true
}

// RenderMode selects how values are written.
type RenderMode uint8

const (
	// ModeHTTP is for HTTP actions (set-header, return lf-string,
	// redirect): absent values are empty, control characters are
	// %-encoded, options ignored.
	ModeHTTP RenderMode = iota
	// ModeRaw is ModeHTTP without the encoding (TCP proxies).
	ModeRaw
	// ModeLog is for log lines: absent or empty values are "-", +Q quotes
	// strings, +E escapes.
	ModeLog
)

// Render appends the format's output in ModeHTTP to dst.
func (f *Format) Render(ctx *Ctx, dst []byte) []byte { return f.RenderMode(ctx, dst, ModeHTTP) }

// RenderString returns the format's output in ModeHTTP.
func (f *Format) RenderString(ctx *Ctx) string { return string(f.Render(ctx, nil)) }

// RenderMode appends the format's output to dst.
func (f *Format) RenderMode(ctx *Ctx, dst []byte, mode RenderMode) []byte {
	for i := range f.nodes {
		n := &f.nodes[i]
		switch {
		case n.expr != nil:
			s, ok := n.expr.Eval(ctx)
			dst = renderSample(dst, s, ok, n.opts, mode)
		case n.logVar != "":
			logVars.RLock()
			fn := logVars.m[n.logVar]
			logVars.RUnlock()
			ok := false
			if fn != nil {
				start := len(dst)
				dst, ok = fn(ctx, dst, n.opts)
				if !ok {
					dst = dst[:start]
				}
			}
			if !ok && mode == ModeLog {
				dst = append(dst, '-')
			}
		default:
			dst = append(dst, n.lit...)
		}
	}
	return dst
}

// hasCtl reports whether s holds a control character, which ModeHTTP
// escapes.
func hasCtl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

func renderSample(dst []byte, s Sample, ok bool, opts FormatOpts, mode RenderMode) []byte {
	if ok && opts&OptHex != 0 && mode == ModeLog && (s.Type == TypeSInt || s.Type == TypeBool) {
		return append(dst, strings.ToUpper(strconv.FormatUint(uint64(s.Int), 16))...)
	}
	if ok && (s.Type == TypeSInt || s.Type == TypeBool) && mode != ModeLog {
		// Convert's decimal form, appended in place (no string made)
		return strconv.AppendInt(dst, s.Int, 10)
	}
	if ok {
		ok = Convert(&s, TypeStr)
	}
	switch mode {
	case ModeRaw:
		return append(dst, s.Str...)
	case ModeHTTP:
		if !hasCtl(s.Str) {
			return append(dst, s.Str...)
		}
		for i := 0; i < len(s.Str); i++ {
			c := s.Str[i]
			if c < 0x20 || c == 0x7f {
				dst = append(dst, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
				continue
			}
			dst = append(dst, c)
		}
		return dst
	}
	// ModeLog
	quote := opts&OptQuote != 0 && (s.Type == TypeStr || !ok)
	if !ok || s.Str == "" {
		if quote {
			return append(dst, '"', '"')
		}
		return append(dst, '-')
	}
	if quote {
		dst = append(dst, '"')
	}
	for i := 0; i < len(s.Str); i++ {
		c := s.Str[i]
		if opts&OptEscape != 0 && (c == '"' || c == '\\' || c == ']') {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	if quote {
		dst = append(dst, '"')
	}
	return dst
}
