package config

import (
	"fmt"
	"strings"
)

// Version is the version that version_atleast() and version_before()
// compare against, in "haproxy -v" syntax ("2.6.0", "2.4-dev19").
var Version = "2.6.0"

// Features lists the build features that feature(NAME) reports as present,
// the "+NAME" entries of "haproxy -vv".
var Features = map[string]bool{"LUA": true}

// maxCondDepth bounds the recursion of the expression parser
// (HAProxy's MAX_CFG_RECURSION).
const maxCondDepth = 1024

// CondError reports a conditional expression that cannot be parsed.
type CondError struct {
	Msg string // HAProxy's wording, e.g. "unparsable conditional expression 'foo'"
	Pos int    // 1-based byte position in the expression where parsing failed
}

// Error returns e.Msg.
func (e *CondError) Error() string { return e.Msg }

// EvalCondition evaluates a ".if" expression (configuration manual 2.4), as
// the -cc command-line flag does. An empty expression is false. Variables
// are looked up with LookupEnv; errors are *CondError.
func EvalCondition(expr string) (bool, error) {
	v, err := evalCondition(expr, LookupEnv)
	if err != nil {
		return false, err
	}
	return v, nil
}

// evalCondition is EvalCondition with the variable lookup given, so that a
// configuration's own setenv is seen by defined().
func evalCondition(expr string, lookup func(string) (string, bool)) (bool, *CondError) {
	if expr == "" {
		return false, nil
	}
	p := &condParser{s: expr, lookup: lookup}
	text := 0
	e, ret := p.parseExpr(&text, maxCondDepth)
	if ret < 0 {
		return false, p.err
	}
	if ret == 0 {
		return false, &CondError{Msg: fmt.Sprintf("unparsable conditional expression '%s'", expr), Pos: text + 1}
	}
	text = skipBlanks(expr, text)
	if text < len(expr) {
		return false, &CondError{Pos: text + 1,
			Msg: fmt.Sprintf("unexpected character '%c' at the end of conditional expression '%s'", expr[text], expr)}
	}
	return p.evalExpr(e), nil
}

// An expression is an OR of ANDs of terms, each held as a linked list the
// way HAProxy's cfgcond.c does, so that errors come out at the same places.
type (
	condExpr struct {
		left  *condAnd
		right *condExpr // next operand of "||", or nil
	}
	condAnd struct {
		left  *condTerm
		right *condAnd // next operand of "&&", or nil
	}
	condTerm struct {
		neg   bool
		value bool      // for a number
		expr  *condExpr // for "(...)"
		pred  *condPred // for a predicate call
		args  []string
	}
)

// condPred is one predicate: its name, arguments and evaluation.
type condPred struct {
	name string
	args int // all arguments are mandatory strings
	eval func(p *condParser, args []string) bool
}

var condPreds = []*condPred{
	{"defined", 1, func(p *condParser, a []string) bool { _, ok := p.lookup(a[0]); return ok }},
	{"feature", 1, func(p *condParser, a []string) bool { return Features[a[0]] }},
	{"streq", 2, func(p *condParser, a []string) bool { return a[0] == a[1] }},
	{"strneq", 2, func(p *condParser, a []string) bool { return a[0] != a[1] }},
	{"version_atleast", 1, func(p *condParser, a []string) bool { return compareCurrentVersion(a[0]) <= 0 }},
	{"version_before", 1, func(p *condParser, a []string) bool { return compareCurrentVersion(a[0]) > 0 }},
}

// condParser parses one expression. Positions are byte indexes into s; each
// parse function receives the position to start at in *text and advances it
// only on success. They return 1 on success, 0 when there is nothing to
// parse, and -1 on error with p.err set.
type condParser struct {
	s      string
	lookup func(string) (string, bool)
	err    *CondError
}

func (p *condParser) fail(pos int, format string, a ...any) int {
	p.err = &CondError{Msg: fmt.Sprintf(format, a...), Pos: pos + 1}
	return -1
}

// parseExpr parses AND-expressions joined by "||".
func (p *condParser) parseExpr(text *int, depth int) (*condExpr, int) {
	in := *text
	if in >= len(p.s) {
		return nil, 0
	}
	if depth <= 0 {
		return nil, p.fail(in, "unparsable conditional expression '%s'", p.s[in:])
	}
	e := &condExpr{}
	var ret int
	if e.left, ret = p.parseAnd(&in, depth-1); ret < 0 {
		return nil, -1
	} else if ret == 0 {
		return nil, p.fail(in, "unparsable conditional expression '%s'", p.s[in:])
	}
	in = skipBlanks(p.s, in)
	*text = in
	if !strings.HasPrefix(p.s[in:], "||") {
		return e, 1
	}
	in = skipBlanks(p.s, in+2)
	if e.right, ret = p.parseExpr(&in, depth-1); ret > 0 {
		*text = in
	}
	return e, ret
}

// parseAnd parses terms joined by "&&".
func (p *condParser) parseAnd(text *int, depth int) (*condAnd, int) {
	in := *text
	if in >= len(p.s) {
		return nil, 0
	}
	if depth <= 0 {
		return nil, p.fail(in, "unparsable conditional sub-expression '%s'", p.s[in:])
	}
	e := &condAnd{}
	var ret int
	if e.left, ret = p.parseTerm(&in, depth-1); ret < 0 {
		return nil, -1
	} else if ret == 0 {
		return nil, p.fail(in, "unparsable conditional sub-expression '%s'", p.s[in:])
	}
	in = skipBlanks(p.s, in)
	*text = in
	if !strings.HasPrefix(p.s[in:], "&&") {
		return e, 1
	}
	in = skipBlanks(p.s, in+2)
	if e.right, ret = p.parseAnd(&in, depth-1); ret > 0 {
		*text = in
	}
	return e, ret
}

// parseTerm parses [!]... followed by an integer, "(" expression ")" or a
// predicate with its arguments.
func (p *condParser) parseTerm(text *int, depth int) (*condTerm, int) {
	in := skipBlanks(p.s, *text)
	if in >= len(p.s) {
		return nil, 0
	}
	unparsable := func() (*condTerm, int) {
		return nil, p.fail(*text, "unparsable conditional expression '%s'", p.s[*text:])
	}
	if depth <= 0 {
		return unparsable()
	}
	t := &condTerm{}
	for in < len(p.s) && p.s[in] == '!' {
		t.neg = !t.neg
		in = skipBlanks(p.s, in+1)
	}

	if end, nonzero, ok := strtol(p.s, in); ok {
		t.value = nonzero
		*text = end
		return t, 1
	}

	if in < len(p.s) && p.s[in] == '(' {
		in = skipBlanks(p.s, in+1)
		var ret int
		if t.expr, ret = p.parseExpr(&in, depth-1); ret < 0 {
			return nil, -1
		} else if ret == 0 {
			return unparsable()
		}
		in = skipBlanks(p.s, in)
		if in >= len(p.s) || p.s[in] != ')' {
			return nil, p.fail(*text, "expected ')' after conditional expression '%s'", p.s[*text:])
		}
		*text = skipBlanks(p.s, in+1)
		return t, 1
	}

	word := p.s[in:]
	if n := strings.IndexAny(word, " ("); n >= 0 {
		word = word[:n]
	}
	for _, pred := range condPreds {
		if pred.name != word {
			continue
		}
		args, end, errArg, msg := makeArgList(p.s, in+len(word), pred.args)
		if msg != "" {
			return nil, p.fail(end, "%s in argument %d of predicate '%s' used in conditional expression", msg, errArg, word)
		}
		t.pred, t.args = pred, args
		*text = end
		return t, 1
	}
	return unparsable()
}

// makeArgList parses a predicate's parenthesized, comma-separated string
// arguments starting at s[in], all n of them mandatory, the way HAProxy's
// make_arg_list() does. Without a parenthesis the list is one empty
// argument. It returns the arguments and the index just past the list, or
// on error the position, the argument number and the message.
func makeArgList(s string, in, n int) (args []string, end, errArg int, msg string) {
	empty := in >= len(s) || s[in] != '('
	if !empty {
		in++
	}
	pos := 0
	for pos < n {
		var out []byte
		sq, dq := false, false
		for !empty && in < len(s) {
			c := s[in]
			if c == '"' && !sq {
				dq = !dq
				in++
				continue
			}
			if c == '\'' && !dq {
				sq = !sq
				in++
				continue
			}
			if c == '\\' && !sq {
				if in+1 >= len(s) {
					return nil, in, pos, fmt.Sprintf("failed to parse '%s' after '%s' as type 'string' at position %d",
						s[in:], out, pos+1)
				}
				switch nx := s[in+1]; nx {
				case '\\', ' ', '"', '\'':
					out = append(out, nx)
					in++
				case 'r':
					out = append(out, '\r')
					in++
				case 'n':
					out = append(out, '\n')
					in++
				case 't':
					out = append(out, '\t')
					in++
				default:
					out = append(out, '\\') // a lone backslash
				}
				in++
				continue
			}
			if !sq && !dq && (c == ',' || c == ')') {
				break
			}
			out = append(out, c)
			in++
		}
		args = append(args, string(out))
		pos++
		if empty || in >= len(s) || s[in] == ')' || pos >= n {
			break
		}
		in++ // the comma
	}

	if pos < n {
		return nil, in, pos, fmt.Sprintf("missing arguments (got %d/%d), type 'string' expected", pos, n)
	}
	switch {
	case empty:
	case in < len(s) && s[in] == ')':
		in++
	default:
		if in < len(s) {
			msg = fmt.Sprintf("expected ')' before '%s'", s[in:])
		} else {
			msg = "expected ')'"
		}
		// The empty part before the missing parenthesis already counted
		// as an argument; do not report one past it.
		if pos > 1 {
			pos--
		}
		return nil, in, pos, msg
	}
	return args, in, pos, ""
}

func (p *condParser) evalExpr(e *condExpr) bool {
	for ; ; e = e.right {
		if v := p.evalAnd(e.left); v || e.right == nil {
			return v
		}
	}
}

func (p *condParser) evalAnd(e *condAnd) bool {
	for ; ; e = e.right {
		if v := p.evalTerm(e.left); !v || e.right == nil {
			return v
		}
	}
}

func (p *condParser) evalTerm(t *condTerm) bool {
	v := t.value
	switch {
	case t.expr != nil:
		v = p.evalExpr(t.expr)
	case t.pred != nil:
		v = t.pred.eval(p, t.args)
	}
	return v != t.neg
}

// strtol mimics C's strtol(s+i, &end, 0): optional blanks and sign, then a
// decimal, octal (leading 0) or hexadecimal (leading 0x) integer. It reports
// where the number ends, whether it is non-zero and whether one was found.
func strtol(s string, i int) (end int, nonzero, ok bool) {
	j := skipSpaces(s, i)
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	digit := isDigit
	switch {
	case j+2 < len(s) && s[j] == '0' && s[j+1]|0x20 == 'x' && isHex(s[j+2]):
		j += 2
		digit = isHex
	case j < len(s) && s[j] == '0':
		digit = func(c byte) bool { return c >= '0' && c <= '7' }
	}
	start := j
	for j < len(s) && digit(s[j]) {
		nonzero = nonzero || s[j] != '0'
		j++
	}
	if j == start {
		return i, false, false
	}
	return j, nonzero, true
}

func isHex(c byte) bool { _, ok := unhex(c); return ok }

// skipBlanks skips spaces and tabs, the only blanks the expression syntax
// allows between its elements.
func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}
