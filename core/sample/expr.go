package sample

import (
	"errors"
	"fmt"
)

// Expr is a parsed sample expression: a fetch and its converters.
type Expr struct {
	Text  string // the expression as written
	fetch *Fetch
	args  []Arg
	convs []convExpr
	out   Type
}

type convExpr struct {
	c    *Converter
	args []Arg
}

// Fetch returns the expression's fetch keyword.
func (e *Expr) Fetch() *Fetch { return e.fetch }

// FetchArgs returns the parsed arguments of the fetch.
func (e *Expr) FetchArgs() []Arg { return e.args }

// NumConverters returns how many converters follow the fetch.
func (e *Expr) NumConverters() int { return len(e.convs) }

// OutType returns the type the expression produces (its last converter's
// output, or the fetch's).
func (e *Expr) OutType() Type { return e.out }

// Use returns where the expression takes its information from.
func (e *Expr) Use() Use { return e.fetch.Use }

// Check verifies that the expression can work at one of the evaluation
// points in where. The error reads like HAProxy's: "fetch method 'res.hdr'
// extracts information from 'HTTP response headers', none of which is
// available here".
func (e *Expr) Check(where Where) error {
	if e.fetch.Use.Val()&where == 0 {
		return fmt.Errorf("fetch method '%s' extracts information from '%s', none of which is available here", e.fetch.Name, e.fetch.Use)
	}
	return nil
}

// ParseExpr parses one whole expression ("req.hdr(host),lower"). sc may
// be nil. Errors are in HAProxy's words, without location.
func ParseExpr(s string, sc *Scope) (*Expr, error) {
	e, n, err := parseExpr(s, sc)
	if err != nil {
		return nil, err
	}
	if n != len(s) {
		return nil, fmt.Errorf("unexpected character '%c' after sample expression '%s'", s[n], s[:n])
	}
	return e, nil
}

// isKwChar tells whether c may appear in a fetch or converter name.
func isKwChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '+' || c == '$'
}

// parseExpr parses an expression at the start of s and returns it with
// the number of bytes it takes; it stops at the first character that
// cannot continue the expression (']' in a log-format string).
func parseExpr(s string, sc *Scope) (*Expr, int, error) {
	i := 0
	for i < len(s) && isKwChar(s[i]) {
		i++
	}
	if i == 0 {
		return nil, 0, errors.New("missing fetch method")
	}
	name := s[:i]
	f, ok := LookupFetch(name)
	if !ok {
		return nil, 0, fmt.Errorf("unknown fetch method '%s'", name)
	}
	e := &Expr{fetch: f, out: f.Out}
	parens := i < len(s) && s[i] == '('
	if parens {
		i++
	}
	args, n, _, err := parseArgs(s[i:], parens, f.Args)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch method '%s' : %v", name, err)
	}
	i += n
	for k := range args {
		args[k].Keyword = name
	}
	if f.Check != nil {
		if err := f.Check(args, sc); err != nil {
			return nil, 0, fmt.Errorf("invalid args in fetch method '%s' : %v", name, err)
		}
	}
	e.args = args
	collectPending(args, sc)

	prev := f.Out
	for i < len(s) && s[i] == ',' {
		i++
		j := i
		for j < len(s) && isKwChar(s[j]) {
			j++
		}
		cname := s[i:j]
		c, ok := LookupConverter(cname)
		if !ok {
			return nil, 0, fmt.Errorf("unknown converter '%s'", cname)
		}
		i = j
		parens := i < len(s) && s[i] == '('
		if parens {
			i++
		}
		if !CanCast(prev, c.In) {
			return nil, 0, fmt.Errorf("converter '%s' cannot be applied", cname)
		}
		cargs, n, errIdx, err := parseArgs(s[i:], parens, c.Args)
		if err != nil {
			return nil, 0, fmt.Errorf("invalid arg %d in converter '%s' : %v", errIdx+1, cname, err)
		}
		i += n
		for k := range cargs {
			cargs[k].Keyword, cargs[k].Conv = cname, true
		}
		if c.Check != nil {
			if err := c.Check(cargs, sc); err != nil {
				return nil, 0, fmt.Errorf("invalid args in converter '%s' : %v", cname, err)
			}
		}
		collectPending(cargs, sc)
		e.convs = append(e.convs, convExpr{c: c, args: cargs})
		if c.Out != TypeSame {
			prev = c.Out
		}
	}
	e.out = prev
	e.Text = s[:i]
	return e, i, nil
}

func collectPending(args []Arg, sc *Scope) {
	for k := range args {
		switch args[k].Type {
		case ArgFrontend, ArgBackend, ArgTable, ArgServer, ArgUserlist:
			if args[k].Ref == nil {
				sc.addPending(&args[k])
			}
		}
	}
}

// Eval evaluates the expression. ok false means no sample; then the
// returned flags may carry MayChange.
func (e *Expr) Eval(ctx *Ctx) (Sample, bool) {
	s, ok := e.fetch.Fn(ctx, e.args)
	if !ok {
		return Sample{Flags: s.Flags & MayChange}, false
	}
	for k := range e.convs {
		ce := &e.convs[k]
		if !Convert(&s, ce.c.In) {
			return Sample{}, false
		}
		flags := s.Flags
		s, ok = ce.c.Fn(ctx, ce.args, s)
		if !ok {
			return Sample{Flags: flags & MayChange}, false
		}
		s.Flags |= flags
	}
	return s, true
}

// EvalAs evaluates the expression and casts the result to t.
func (e *Expr) EvalAs(ctx *Ctx, t Type) (Sample, bool) {
	s, ok := e.Eval(ctx)
	if !ok {
		return s, false
	}
	if !Convert(&s, t) {
		return Sample{}, false
	}
	return s, true
}

// EvalString evaluates the expression as a string ("" and false when it
// gives nothing).
func (e *Expr) EvalString(ctx *Ctx) (string, bool) {
	s, ok := e.EvalAs(ctx, TypeStr)
	return s.Str, ok
}

// each evaluates the expression for each value of a multi-valued fetch
// (ACLs); expressions with converters or single-valued fetches give one
// value. It returns the MayChange flag of a fetch that found nothing.
func (e *Expr) each(ctx *Ctx, yield func(Sample) bool) (mayChange bool) {
	if e.fetch.Each == nil || len(e.convs) > 0 {
		s, ok := e.Eval(ctx)
		if !ok {
			return s.Flags&MayChange != 0
		}
		yield(s)
		return s.Flags&MayChange != 0
	}
	found := false
	e.fetch.Each(ctx, e.args, func(s Sample) bool {
		found = true
		if s.Flags&MayChange != 0 {
			mayChange = true
		}
		return yield(s)
	})
	if !found {
		// ask the single-value path whether more data may come
		s, _ := e.fetch.Fn(ctx, e.args)
		mayChange = s.Flags&MayChange != 0
	}
	return mayChange
}
