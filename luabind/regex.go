//go:build lua53

package luabind

import (
	"errors"
	"fmt"
	"time"

	"github.com/dlclark/regexp2"

	"luaproxy/core"
	"luaproxy/luabind/vm"
)

// Regex is the Lua "Regex" class: a compiled regex (Regex.new).
//
// Engine: github.com/dlclark/regexp2, a backtracking engine with PCRE's
// features (back-references, lookaround, atomic groups, lazy quantifiers,
// conditionals, named groups, POSIX classes). HAProxy compiles regexes with
// PCRE2 (Debian's build) or PCRE; Go's regexp (RE2) refuses back-references
// and lookaround, which real HAProxy configurations and scripts use.
// Patterns are translated to regexp2's syntax first so that matches agree
// with PCRE2 in byte mode; regex_pcre.go lists the translation and what
// still differs.
type Regex struct {
	re *regexp2.Regexp // nil only for the prototype behind the Regex table
}

var regexClass = declareClass(&vm.Class[*Regex]{
	Name: "Regex",
	Methods: []vm.Method[*Regex]{
		{Name: "exec", Fn: (*Regex).luaExec},
		{Name: "match", Fn: (*Regex).luaMatch},
	},
	Owned: true, // compiled once in the body, used for the process's life
})

// regexMaxMatches is HAProxy's limit on the strings match returns: the
// whole match and 19 groups.
const regexMaxMatches = 20

// regexMatchTimeout bounds one match, the counterpart of PCRE2's match
// limit: a pattern that backtracks catastrophically reports no match
// instead of holding the Lua state (a Go call cannot be interrupted by
// the Lua-time budget).
const regexMatchTimeout = time.Second

var regexNew = vm.NewFunction("Regex.new", luaRegexNew)

// installRegex makes the global Regex table: Regex.new, with the Regex
// class as its metatable, so that Regex.exec and Regex.match are reachable
// too, as in HAProxy. The caller holds the lock.
func installRegex(ls *LState) error {
	co, err := ls.NewCo(vm.CoOptions{})
	if err != nil {
		return err
	}
	defer co.Close()
	if err := co.Load([]byte("local R, proto = ... setmetatable(R, getmetatable(proto)) Regex = R"), "=Regex"); err != nil {
		return err
	}
	co.NewTable(0, 1)
	co.Field("new", func() { co.PushFunction(regexNew) })
	regexClass.Push(&co.Pusher, &Regex{}) // lends its metatable, then dies
	if out := co.Resume(); out != vm.OK {
		if e := co.Err(); e != nil {
			return errors.New(e.Message)
		}
		return errors.New(out.String())
	}
	return nil
}

// luaRegexNew implements Regex.new(regex, case_sensitive): true and the
// Regex, or false and PCRE's reason ("regex '(' is invalid (error=missing
// closing parenthesis, erroffset=1)"). case_sensitive must be a boolean.
// It never yields.
func luaRegexNew(c *vm.Call) (int, error) {
	pat, err := c.Bytes(1)
	if err != nil {
		return 0, err
	}
	if c.Type(2) != vm.TypeBoolean {
		// HAProxy compat: hlua_checkboolean raises luaL_argerror with
		// no message, which Lua prints as "(null)"
		return 0, c.ArgError(2, "(null)")
	}
	// HAProxy compat: the pattern is a C string (PCRE2_ZERO_TERMINATED).
	pat = cutNUL(pat)
	re, err := compileRegex(pat, c.Bool(2))
	if err != nil {
		c.PushBool(false)
		c.PushString(fmt.Sprintf("regex '%s' is invalid (error=%s)", pat, pcreMessage(pat, err)))
		return 2, nil
	}
	c.PushBool(true)
	regexClass.Push(&c.Pusher, &Regex{re: re})
	return 2, nil
}

// compileRegex compiles a PCRE pattern; caseSensitive false is
// PCRE2_CASELESS.
func compileRegex(pat []byte, caseSensitive bool) (*regexp2.Regexp, error) {
	expr, err := translatePCRE(pat)
	if err != nil {
		return nil, err
	}
	opts := regexp2.RegexOptions(regexp2.RE2)
	if !caseSensitive {
		opts |= regexp2.IgnoreCase
	}
	re, err := regexp2.Compile(expr, opts)
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = regexMatchTimeout
	return re, nil
}

// subjectRunes maps a subject's bytes to the runes the translated pattern
// expects (see runeOf).
func subjectRunes(s []byte) []rune {
	r := make([]rune, len(s))
	for i, b := range s {
		r[i] = runeOf(b)
	}
	return r
}

// subject reads the subject at argument 2. ok is false when the regex
// cannot run on it: the subject is longer than HAProxy's buffers
// (tune.bufsize - 1 bytes: HAProxy copies it into a trash chunk, and
// reports no match when it does not fit).
func (rx *Regex) subject(c *vm.Call) (s []byte, ok bool, err error) {
	s, err = c.Bytes(2)
	if err != nil {
		return nil, false, err
	}
	bufsize := core.DefaultBufSize
	if ls := lsOf(c); ls != nil && ls.rt.e.BufSize > 0 {
		bufsize = ls.rt.e.BufSize
	}
	return s, rx.re != nil && len(s) < bufsize, nil
}

// luaExec implements Regex.exec(regex, str): whether str matches. It never
// yields.
func (rx *Regex) luaExec(c *vm.Call) (int, error) {
	s, ok, err := rx.subject(c)
	if err != nil {
		return 0, err
	}
	if ok {
		ok, _ = rx.re.MatchRunes(subjectRunes(s)) // a timeout is no match
	}
	c.PushBool(ok)
	return 1, nil
}

// luaMatch implements Regex.match(regex, str): whether str matches, and a
// table of the whole match then each group in order; as in HAProxy, the
// list stops at the first group that did not take part in the match, and
// holds at most 20 strings. It never yields.
func (rx *Regex) luaMatch(c *vm.Call) (int, error) {
	s, ok, err := rx.subject(c)
	if err != nil {
		return 0, err
	}
	var m *regexp2.Match
	if ok {
		m, _ = rx.re.FindRunesMatch(subjectRunes(s)) // a timeout is no match
	}
	c.PushBool(m != nil)
	c.NewTable(0, 0)
	if m == nil {
		return 2, nil
	}
	for i := 0; i < regexMaxMatches; i++ {
		g := m.GroupByNumber(i)
		if g == nil || len(g.Captures) == 0 {
			break
		}
		c.PushBytes(s[g.Index : g.Index+g.Length]) // runes and bytes are 1:1
		c.SetIndex(int64(i + 1))
	}
	return 2, nil
}
