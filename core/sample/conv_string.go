package sample

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"

	"github.com/dlclark/regexp2"
)

// String converters (manual 7.3.1).

func init() {
	registerConverters(
		&Converter{Name: "lower", In: TypeStr, Out: TypeStr, Fn: convLower},
		&Converter{Name: "upper", In: TypeStr, Out: TypeStr, Fn: convUpper},
		&Converter{Name: "length", In: TypeStr, Out: TypeSInt, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			return Int(int64(len(in.Str))), true
		}},
		&Converter{Name: "bytes", Args: Args(1, ArgSInt, ArgSInt), In: TypeBin, Out: TypeBin, Fn: convBytes},
		&Converter{Name: "field", Args: Args(2, ArgSInt, ArgStr, ArgSInt), In: TypeStr, Out: TypeStr, Fn: convField},
		&Converter{Name: "word", Args: Args(2, ArgSInt, ArgStr, ArgSInt), In: TypeStr, Out: TypeStr, Fn: convWord},
		&Converter{Name: "regsub", Args: Args(2, ArgRegex, ArgStr, ArgStr), Check: checkRegsub, In: TypeStr, Out: TypeStr, Fn: convRegsub},
		&Converter{Name: "ltrim", Args: Args(1, ArgStr), In: TypeStr, Out: TypeStr, Fn: func(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
			return Str(strings.TrimLeft(in.Str, a[0].Str)), true
		}},
		&Converter{Name: "rtrim", Args: Args(1, ArgStr), In: TypeStr, Out: TypeStr, Fn: func(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
			return Str(strings.TrimRight(in.Str, a[0].Str)), true
		}},
		&Converter{Name: "concat", Args: Args(0, ArgStr, ArgStr, ArgStr), Check: checkOptVar(1), In: TypeStr, Out: TypeStr, Fn: convConcat},
		&Converter{Name: "add_item", Args: Args(2, ArgStr, ArgStr, ArgStr), Check: checkAddItem, In: TypeStr, Out: TypeStr, Fn: convAddItem},
		&Converter{Name: "strcmp", Args: Args(1, ArgStr), Check: checkVarArg(0), In: TypeStr, Out: TypeSInt, Fn: convStrcmp},
		&Converter{Name: "secure_memcmp", Args: Args(1, ArgStr), Check: checkVarArg(0), In: TypeStr, Out: TypeBool, Fn: convSecureMemcmp},
		&Converter{Name: "cut_crlf", In: TypeStr, Out: TypeStr, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			if i := strings.IndexAny(in.Str, "\r\n"); i >= 0 {
				in.Str = in.Str[:i]
			}
			return Str(in.Str), true
		}},
		&Converter{Name: "reverse", In: TypeStr, Out: TypeStr, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			b := []byte(in.Str)
			for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
				b[i], b[j] = b[j], b[i]
			}
			return Str(string(b)), true
		}},
		&Converter{Name: "reverse_dom", In: TypeStr, Out: TypeStr, Fn: convReverseDom},
		&Converter{Name: "host_only", In: TypeStr, Out: TypeStr, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			h, _, ok := splitHostPort(in.Str)
			return Str(strings.ToLower(h)), ok
		}},
		&Converter{Name: "port_only", In: TypeStr, Out: TypeSInt, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			_, p, ok := splitHostPort(in.Str)
			return Int(p), ok
		}},
		&Converter{Name: "language", Args: Args(1, ArgStr, ArgStr), In: TypeStr, Out: TypeStr, Fn: convLanguage},
		&Converter{Name: "param", Args: Args(1, ArgStr, ArgStr), Check: checkParam, In: TypeStr, Out: TypeStr, Fn: convParam},
		&Converter{Name: "iif", Args: Args(2, ArgStr, ArgStr), In: TypeBool, Out: TypeStr, Fn: func(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
			if in.Int != 0 {
				return Str(a[0].Str), true
			}
			return Str(a[1].Str), true
		}},
		&Converter{Name: "has_ctl", Args: Args(0, ArgSInt), In: TypeBin, Out: TypeBool, Fn: convHasCtl},
	)
}

func convLower(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
	s := in.Str
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 32
				}
			}
			return Str(string(b)), true
		}
	}
	return Str(s), true
}

func convUpper(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
	s := in.Str
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'a' && c <= 'z' {
					b[j] = c - 32
				}
			}
			return Str(string(b)), true
		}
	}
	return Str(s), true
}

func convBytes(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	start := a[0].Int
	if start < 0 {
		return Sample{}, false
	}
	s := in.Str
	if int64(len(s)) <= start {
		return Bin(""), true
	}
	s = s[start:]
	if len(a) > 1 && a[1].Int > 0 && a[1].Int < int64(len(s)) {
		s = s[:a[1].Int]
	}
	return Bin(s), true
}

// convField implements field(index,delimiters[,count]): empty fields
// count. A negative index counts from the end; count 0 takes all the rest.
func convField(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	idx := a[0].Int
	delims := a[1].Str
	count := int64(1)
	if len(a) > 2 {
		count = a[2].Int
	}
	if idx == 0 {
		return Sample{}, false
	}
	s := in.Str
	isDelim := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	if idx > 0 {
		field, start := int64(1), 0
		for end := 0; end < len(s); end++ {
			if !isDelim(s[end]) {
				continue
			}
			if field == idx {
				if count == 1 {
					return Str(s[start:end]), true
				}
				if count > 1 {
					count--
				}
			} else {
				start = end + 1
				field++
			}
		}
		if field != idx {
			return Sample{}, false
		}
		return Str(s[start:]), true
	}
	field, end := int64(-1), len(s)
	for start := len(s); start > 0; start-- {
		if !isDelim(s[start-1]) {
			continue
		}
		if field == idx {
			if count == 1 {
				return Str(s[start:end]), true
			}
			if count > 1 {
				count--
			}
		} else {
			end = start - 1
			field--
		}
	}
	if field != idx {
		return Sample{}, false
	}
	return Str(s[:end]), true
}

// convWord implements word(index,delimiters[,count]): like field, but
// runs of delimiters count as one and empty words do not exist.
func convWord(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	idx := a[0].Int
	delims := a[1].Str
	count := int64(1)
	if len(a) > 2 {
		count = a[2].Int
	}
	if idx == 0 {
		return Sample{}, false
	}
	s := in.Str
	isDelim := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	word, inWord := int64(0), false
	if idx > 0 {
		start := 0
		for end := 0; end < len(s); end++ {
			sep := isDelim(s[end])
			if !inWord {
				if !sep {
					if word != idx {
						word++
						start = end
					}
					inWord = true
				}
			} else if sep {
				if word == idx {
					if count == 1 {
						return Str(s[start:end]), true
					}
					if count > 1 {
						count--
					}
				}
				inWord = false
			}
		}
		if word != idx {
			return Sample{}, false
		}
		return Str(s[start:]), true
	}
	end := len(s)
	for start := len(s); start > 0; start-- {
		sep := isDelim(s[start-1])
		if !inWord {
			if !sep {
				if word != idx {
					word--
					end = start
				}
				inWord = true
			}
		} else if sep {
			if word == idx {
				if count == 1 {
					return Str(s[start:end]), true
				}
				if count > 1 {
					count--
				}
			}
			inWord = false
		}
	}
	if word != idx {
		return Sample{}, false
	}
	return Str(s[:end]), true
}

// CompileRegex compiles a regex as HAProxy's PCRE does, on bytes: the
// pattern and the subjects are read byte per byte (each byte one rune),
// so that offsets and non-UTF-8 data behave as in HAProxy.
func CompileRegex(pat string, icase bool) (*regexp2.Regexp, error) {
	opt := regexp2.RegexOptions(0)
	if icase {
		opt |= regexp2.IgnoreCase
	}
	re, err := regexp2.Compile(string(bytesToRunes(pat)), opt)
	if err != nil {
		return nil, fmt.Errorf("regex '%s' is invalid (error=%s)", pat, PCREMessage([]byte(pat), err))
	}
	return re, nil
}

// bytesToRunes maps each byte to the rune of the same value (Latin-1).
func bytesToRunes(s string) []rune {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return r
}

func runesToBytes(r []rune) string {
	b := make([]byte, len(r))
	for i, c := range r {
		b[i] = byte(c)
	}
	return string(b)
}

// RegexMatch reports whether re (from CompileRegex) matches s.
func RegexMatch(re *regexp2.Regexp, s string) bool {
	m, err := re.MatchRunes(bytesToRunes(s))
	return err == nil && m
}

func checkRegsub(args []Arg, sc *Scope) error {
	icase := false
	if len(args) > 2 {
		for _, c := range args[2].Str {
			switch c {
			case 'i':
				icase = true
			case 'g':
				args[2].Int |= 1
			default:
				return fmt.Errorf("invalid regex flag '%c', only 'i' and 'g' are supported", c)
			}
		}
	}
	re, err := CompileRegex(args[0].Str, icase)
	if err != nil {
		return err
	}
	args[0].Regex = re
	return nil
}

func convRegsub(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	re := a[0].Regex
	global := len(a) > 2 && a[2].Int&1 != 0
	subj := bytesToRunes(in.Str)
	var out []byte
	pos := 0
	for {
		m, err := re.FindRunesMatchStartingAt(subj, pos)
		if err != nil {
			return Sample{}, false
		}
		if m == nil {
			break
		}
		out = append(out, runesToBytes(subj[pos:m.Index])...)
		out = expandSubst(out, a[1].Str, m)
		if pos >= len(subj) {
			break
		}
		end := m.Index + m.Length
		if end == pos {
			// an empty match in front of a character: keep the character
			out = append(out, byte(subj[pos]))
			end++
		}
		pos = end
		if !global {
			break
		}
	}
	out = append(out, runesToBytes(subj[min(pos, len(subj)):])...)
	return Str(string(out)), true
}

// expandSubst appends the substitution string with \0..\9 replaced by the
// groups of m, like HAProxy's exp_replace (\n, \r, \t and \xHH are escapes
// too; any other escaped character stands for itself).
func expandSubst(out []byte, subst string, m *regexp2.Match) []byte {
	groups := m.Groups()
	for i := 0; i < len(subst); i++ {
		c := subst[i]
		if c != '\\' || i+1 >= len(subst) {
			out = append(out, c)
			continue
		}
		i++
		c = subst[i]
		switch {
		case c >= '0' && c <= '9':
			n := int(c - '0')
			if n < len(groups) && len(groups[n].Captures) > 0 {
				out = append(out, runesToBytes(groups[n].Runes())...)
			}
		case c == 'n':
			out = append(out, '\n')
		case c == 'r':
			out = append(out, '\r')
		case c == 't':
			out = append(out, '\t')
		case c == 'x' && i+2 < len(subst) && isHex(subst[i+1]) && isHex(subst[i+2]):
			out = append(out, unhexByte(subst[i+1])<<4|unhexByte(subst[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhexByte(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// checkVarArg requires argument i to be a variable name.
func checkVarArg(i int) func(args []Arg, sc *Scope) error {
	return func(args []Arg, sc *Scope) error {
		v, err := ParseVarName(args[i].Str)
		if err != nil {
			return err
		}
		args[i].Type, args[i].Var = ArgVar, v
		return nil
	}
}

// checkOptVar accepts an empty argument i or a variable name.
func checkOptVar(i int) func(args []Arg, sc *Scope) error {
	return func(args []Arg, sc *Scope) error {
		if len(args) <= i || args[i].Str == "" {
			return nil
		}
		return checkVarArg(i)(args, sc)
	}
}

// varString returns the string value of a variable argument ("" and false
// when the argument is empty or the variable is not set).
func varString(ctx *Ctx, a []Arg, i int) (string, bool) {
	if len(a) <= i || a[i].Type != ArgVar {
		return "", false
	}
	s, ok := ctx.GetVar(a[i].Var)
	if !ok || !Convert(&s, TypeStr) {
		return "", false
	}
	return s.Str, true
}

func convConcat(ctx *Ctx, a []Arg, in Sample) (Sample, bool) {
	var b strings.Builder
	b.WriteString(in.Str)
	if len(a) > 0 {
		b.WriteString(a[0].Str)
	}
	if v, ok := varString(ctx, a, 1); ok {
		b.WriteString(v)
	}
	if len(a) > 2 {
		b.WriteString(a[2].Str)
	}
	return Str(b.String()), true
}

func checkAddItem(args []Arg, sc *Scope) error {
	if args[1].Str == "" && (len(args) < 3 || args[2].Str == "") {
		return fmt.Errorf("expects a variable name or a suffix")
	}
	return checkOptVar(1)(args, sc)
}

func convAddItem(ctx *Ctx, a []Arg, in Sample) (Sample, bool) {
	v, _ := varString(ctx, a, 1)
	suff := ""
	if len(a) > 2 {
		suff = a[2].Str
	}
	s := in.Str
	if s != "" && (v != "" || suff != "") {
		s += a[0].Str
	}
	return Str(s + v + suff), true
}

func convStrcmp(ctx *Ctx, a []Arg, in Sample) (Sample, bool) {
	v, ok := varString(ctx, a, 0)
	if !ok {
		return Sample{}, false
	}
	// HAProxy compat: memcmp over the shorter length, then length order.
	n := min(len(v), len(in.Str))
	r := int64(bytes.Compare([]byte(in.Str[:n]), []byte(v[:n])))
	if r == 0 {
		switch {
		case len(in.Str) < len(v):
			r = -1
		case len(in.Str) > len(v):
			r = 1
		}
	}
	return Int(r), true
}

func convSecureMemcmp(ctx *Ctx, a []Arg, in Sample) (Sample, bool) {
	v, ok := varString(ctx, a, 0)
	if !ok {
		return Sample{}, false
	}
	return Bool(len(v) == len(in.Str) && subtle.ConstantTimeCompare([]byte(v), []byte(in.Str)) == 1), true
}

func convReverseDom(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
	s := strings.TrimSuffix(in.Str, ".")
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" {
			return Sample{}, false
		}
	}
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return Str(strings.Join(labels, ".")), true
}

// splitHostPort splits a Host header value: "h", "h:80", "[::1]:80".
func splitHostPort(s string) (host string, port int64, ok bool) {
	if strings.HasPrefix(s, "[") {
		i := strings.IndexByte(s, ']')
		if i < 0 {
			return "", 0, false
		}
		host, s = s[:i+1], s[i+1:]
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, s = s[:i], s[i:]
	} else {
		return s, 0, true
	}
	if s == "" {
		return host, 0, true
	}
	if s[0] != ':' {
		return "", 0, false
	}
	p, err := strconv.ParseUint(s[1:], 10, 16)
	if err != nil {
		return "", 0, false
	}
	return host, int64(p), true
}

// convLanguage implements language(values[,default]) over an
// Accept-Language value.
func convLanguage(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	allowed := strings.Split(a[0].Str, ";")
	find := func(lang string) (string, bool) {
		for _, l := range allowed {
			if l == lang {
				return l, true
			}
		}
		return "", false
	}
	best, bestQ := "", -1
	for _, item := range strings.Split(in.Str, ",") {
		item = strings.TrimSpace(item)
		lang, params, _ := strings.Cut(item, ";")
		lang = strings.TrimSpace(lang)
		q := 1000
		for p := range strings.SplitSeq(params, ";") {
			p = strings.TrimSpace(p)
			if v, ok := strings.CutPrefix(p, "q="); ok {
				q = parseQValue(v)
			}
		}
		if q == 0 || q <= bestQ {
			continue
		}
		m, ok := find(lang)
		if !ok {
			if base, _, cut := strings.Cut(lang, "-"); cut {
				m, ok = find(base)
			}
		}
		if ok {
			best, bestQ = m, q
		}
	}
	if bestQ >= 0 {
		return Str(best), true
	}
	if len(a) > 1 {
		return Str(a[1].Str), true
	}
	return Sample{}, false
}

// parseQValue reads a q-value ("0.8") in thousandths.
func parseQValue(v string) int {
	q, err := strconv.ParseFloat(v, 64)
	if err != nil || q < 0 {
		return 0
	}
	if q > 1 {
		q = 1
	}
	return int(q*1000 + 0.5)
}

func checkParam(args []Arg, sc *Scope) error {
	if len(args) < 2 || args[1].Str == "" {
		if len(args) < 2 {
			return nil
		}
		return fmt.Errorf("empty delimiter")
	}
	d := args[1].Str
	if len(d) == 4 && (strings.HasPrefix(d, "0x") || strings.HasPrefix(d, "0X")) && isHex(d[2]) && isHex(d[3]) {
		args[1].Str = string([]byte{unhexByte(d[2])<<4 | unhexByte(d[3])})
	} else if len(d) != 1 {
		return fmt.Errorf("delimiter must be a single character or 0xHH")
	}
	return nil
}

func convParam(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	delim := byte('&')
	if len(a) > 1 && a[1].Str != "" {
		delim = a[1].Str[0]
	}
	name := a[0].Str
	s := in.Str
	for s != "" {
		seg := s
		if i := strings.IndexByte(s, delim); i >= 0 {
			seg, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		k, v, _ := strings.Cut(seg, "=")
		if k == name {
			return Str(v), true
		}
	}
	return Sample{}, false
}

func convHasCtl(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	for i := 0; i < len(in.Str); i++ {
		if c := in.Str[i]; c < 0x20 || c == 0x7f {
			return Bool(true), true
		}
	}
	return Bool(false), true
}
