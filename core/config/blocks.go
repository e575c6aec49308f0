package config

import "strings"

// condState is where one level of conditional block stands, as in HAProxy's
// cfgparse.c. "take" means the lines that follow are used, "drop" that this
// branch's condition was false, "skip" that an earlier branch was taken or
// the enclosing block is itself ignored, so later conditions are not even
// evaluated.
type condState int

const (
	condIfTake condState = iota
	condIfDrop
	condIfSkip
	condElifTake
	condElifDrop
	condElifSkip
	condElseTake
	condElseDrop
)

// ignoring tells whether lines under this state are ignored.
func (s condState) ignoring() bool {
	return s != condIfTake && s != condElifTake && s != condElseTake
}

// decided tells whether a branch of this block was already taken or the
// whole block is ignored, so that no later branch may be taken.
func (s condState) decided() bool {
	return s == condIfTake || s == condIfSkip || s == condElifTake || s == condElifSkip
}

func (s condState) afterElse() bool { return s == condElseTake || s == condElseDrop }

// masked tells whether the current line is inside an ignored block.
func (f *fileState) masked() bool {
	return len(f.conds) > 0 && f.conds[len(f.conds)-1].ignoring()
}

// condDirective handles .if, .elif, .else and .endif and reports whether l
// was one of them. They are processed even inside ignored blocks, to keep
// track of nesting. Misplaced ones abort parsing, as in HAProxy.
func (p *parser) condDirective(f *fileState, l Line) bool {
	args := l.EffectiveArgs()
	top := len(f.conds) - 1
	switch args[0] {
	case ".if":
		if len(f.conds)+1 >= MaxNestedConds {
			p.abort(l.Errorf("too many nested '.if', max is %d.", MaxNestedConds))
			return true
		}
		if f.masked() {
			f.conds = append(f.conds, condIfSkip)
			return true
		}
		state := condIfDrop
		if p.evalDirective(l, args[0]) {
			state = condIfTake
		}
		f.conds = append(f.conds, state)

	case ".elif":
		switch {
		case top < 0:
			p.abort(l.Errorf("lone '.elif' with no matching '.if'."))
		case f.conds[top].afterElse():
			p.abort(l.Errorf("'.elif' after '.else' is not permitted."))
		case f.conds[top].decided():
			f.conds[top] = condElifSkip
		case p.evalDirective(l, args[0]):
			f.conds[top] = condElifTake
		default:
			f.conds[top] = condElifDrop
		}

	case ".else", ".endif":
		switch {
		case len(args) > 1:
			p.abort(l.Errorf("Unexpected argument '%s' for '%s'.", args[1], args[0]))
		case top < 0:
			p.abort(l.Errorf("lone '%s' with no matching '.if'.", args[0]))
		case args[0] == ".endif":
			f.conds = f.conds[:top]
		case f.conds[top].afterElse():
			p.abort(l.Errorf("'.else' after '.else' is not permitted."))
		case f.conds[top].decided():
			f.conds[top] = condElseDrop
		default:
			f.conds[top] = condElseTake
		}

	default:
		return false
	}
	return true
}

// evalDirective evaluates the condition of a .if or .elif line. Its words are
// joined with single spaces, so that the condition need not be quoted
// (manual 2.4). A condition that cannot be parsed aborts parsing.
func (p *parser) evalDirective(l Line, directive string) bool {
	// HAProxy compat: every word is joined, empty ones included.
	expr := strings.Join(l.Args[1:], " ")
	v, err := evalCondition(expr, p.env.lookup)
	if err != nil {
		p.abort(l.Errorf("%s in '%s' at position %d", err.Msg, directive, err.Pos))
		return false
	}
	return v
}
