//go:build lua53

package luabind

import (
	"errors"
	"fmt"
	"luaproxy/core/sample"
	"strconv"
	"strings"
)

// This file translates a PCRE2 pattern (HAProxy's regex flavour, compiled
// without PCRE2_UTF) into the syntax of github.com/dlclark/regexp2, run in
// its RE2 mode. The translation gives PCRE's answers where the engines
// differ:
//
//   - Bytes: PCRE matches bytes; regexp2 matches runes. Subjects and
//     patterns are mapped byte for rune, bytes >= 0x80 to the private-use
//     runes U+E080..U+E0FF (runeOf), so "é" is two units as in PCRE, no
//     such byte is a letter, digit or space, and case-insensitive matching
//     folds ASCII only, as PCRE's default "C" tables do.
//   - Groups: named groups become plain groups and named back-references
//     their numbers, so groups are numbered left to right as in PCRE
//     (regexp2, like .NET, numbers named groups after the unnamed ones).
//   - "$" and "\Z" match at the end or before a final newline (regexp2's
//     RE2 mode would match at the very end only).
//   - PCRE-only syntax is rewritten: \Q...\E, possessive quantifiers
//     (a*+ is (?>a*)), \h \H \v \V \R \N, \x{..}, \o{..}, \g back-references,
//     (?P=name), and "{" that is not a quantifier is a literal.
//
// Known differences, which fail to compile with a message rather than
// match differently: recursion and subroutine calls ((?R), (?1), (?&name),
// \g<..>), \K, \X, \C, branch reset (?|...), backtracking verbs and start
// options ((*UCP), (*SKIP)...), callouts, the J, U and n inline options.
// Remaining differences: \p{..} never matches a byte >= 0x80 (PCRE reads
// it as a Latin-1 code point), and a catastrophic backtracking match gives
// up after regexMatchTimeout (PCRE2 stops after its match limit); both
// then report no match.

// runeOf maps a subject or pattern byte to the rune regexp2 sees.
func runeOf(b byte) rune {
	if b < 0x80 {
		return rune(b)
	}
	return 0xE000 + rune(b)
}

// pcreError is a compilation error worded as PCRE2 words it, with the
// offset in the pattern where it was found (-1 until known).
type pcreError struct {
	msg string
	off int
}

func (e *pcreError) Error() string { return e.msg }

func pcreErr(format string, a ...any) error { return &pcreError{fmt.Sprintf(format, a...), -1} }

// pcreFlags are the inline options the translation must follow.
type pcreFlags struct{ m, x bool }

type pcreGroup struct {
	flags pcreFlags // flags outside the group, restored at ")"
	start int       // output offset of "(", for a quantifier after ")"
}

// pcreTranslator runs twice over a pattern: the first pass numbers the
// capture groups (a back-reference may come before its group), the second
// writes the regexp2 pattern.
type pcreTranslator struct {
	pat   []byte
	i     int
	emit  bool
	out   strings.Builder
	flags pcreFlags
	stack []pcreGroup
	atom  int // output offset of the last quantifiable item, -1 if none

	ncap  int            // capture groups seen so far
	total int            // capture groups in the pattern (second pass)
	names map[string]int // group name -> number
}

// translatePCRE returns the regexp2 pattern for pat.
func translatePCRE(pat []byte) (string, error) {
	first := &pcreTranslator{pat: pat, names: map[string]int{}}
	if err := first.run(); err != nil {
		if pe, ok := err.(*pcreError); ok && pe.off < 0 {
			pe.off = min(first.i, len(pat))
		}
		return "", err
	}
	second := &pcreTranslator{pat: pat, emit: true, names: first.names, total: first.ncap}
	if err := second.run(); err != nil {
		return "", err
	}
	return second.out.String(), nil
}

func (t *pcreTranslator) write(s string) {
	if t.emit {
		t.out.WriteString(s)
	}
}

func (t *pcreTranslator) pos() int { return t.out.Len() }

// char writes one literal byte.
func (t *pcreTranslator) char(b byte) {
	switch {
	case b >= 0x80:
		t.write(string(runeOf(b)))
	case strings.IndexByte(`\^$.|?*+()[]{}#- `, b) >= 0:
		t.write(`\` + string(rune(b)))
	case b < 0x20 || b == 0x7f:
		t.write(fmt.Sprintf(`\u%04X`, b))
	default:
		t.write(string(rune(b)))
	}
}

// codepoint writes an escaped character (a code point of the pattern).
func (t *pcreTranslator) codepoint(v int) error {
	if v > 0xff {
		return pcreErr("character code point value in \\x{} or \\o{} is too large")
	}
	t.char(byte(v))
	return nil
}

func (t *pcreTranslator) peek(k int) byte {
	if t.i+k < len(t.pat) {
		return t.pat[t.i+k]
	}
	return 0
}

func (t *pcreTranslator) has(s string) bool {
	return strings.HasPrefix(string(t.pat[t.i:min(len(t.pat), t.i+len(s))]), s)
}

func (t *pcreTranslator) run() error {
	t.atom = -1
	for t.i < len(t.pat) {
		c := t.pat[t.i]
		if t.flags.x && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			t.i++
			continue
		}
		if t.flags.x && c == '#' {
			for t.i < len(t.pat) && t.pat[t.i] != '\n' {
				t.i++
			}
			continue
		}
		var err error
		switch c {
		case '\\':
			err = t.escape()
		case '[':
			t.atom = t.pos()
			err = t.class()
		case '(':
			err = t.open()
		case ')':
			t.i++
			start := t.pos()
			if n := len(t.stack); n > 0 {
				start = t.stack[n-1].start
				t.flags = t.stack[n-1].flags
				t.stack = t.stack[:n-1]
			}
			t.write(")")
			t.atom = start
		case '|', '^':
			t.i++
			t.write(string(rune(c)))
			t.atom = -1
		case '$':
			t.i++
			if t.flags.m {
				t.write("$")
			} else {
				t.write(`(?=\n?\z)`)
			}
			t.atom = -1
		case '*', '+', '?':
			t.i++
			t.quantifier(string(rune(c)))
		case '{':
			if q, ok := t.braces(); ok {
				t.i += len(q)
				t.quantifier(q)
			} else {
				t.i++
				t.atom = t.pos()
				t.write(`\{`)
			}
		default:
			t.i++
			t.atom = t.pos()
			if c == '.' {
				t.write(".")
			} else {
				t.char(c)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// braces returns a {n}, {n,} or {n,m} quantifier at the cursor.
func (t *pcreTranslator) braces() (string, bool) {
	j := t.i + 1
	digits := func() int {
		k := j
		for j < len(t.pat) && t.pat[j] >= '0' && t.pat[j] <= '9' {
			j++
		}
		return j - k
	}
	if digits() == 0 {
		return "", false
	}
	if j < len(t.pat) && t.pat[j] == ',' {
		j++
		digits()
	}
	if j < len(t.pat) && t.pat[j] == '}' {
		return string(t.pat[t.i : j+1]), true
	}
	return "", false
}

// quantifier writes q and its lazy ("?") or possessive ("+") suffix; a
// possessive quantifier becomes an atomic group around its item.
func (t *pcreTranslator) quantifier(q string) {
	switch {
	case t.peek(0) == '+' && t.atom >= 0:
		t.i++
		if t.emit {
			s := t.out.String()
			t.out.Reset()
			t.out.WriteString(s[:t.atom] + "(?>" + s[t.atom:] + q + ")")
		}
	case t.peek(0) == '?':
		t.i++
		t.write(q + "?")
	default:
		t.write(q)
	}
	t.atom = -1
}

func (t *pcreTranslator) push(flags pcreFlags) {
	t.stack = append(t.stack, pcreGroup{flags: t.flags, start: t.pos()})
	t.flags = flags
}

// open handles "(" and every "(?" and "(*" construct.
func (t *pcreTranslator) open() error {
	switch {
	case t.has("(*"):
		return pcreErr("(*VERB) and start-of-pattern options are not supported")
	case t.has("(?#"):
		end := strings.IndexByte(string(t.pat[t.i:]), ')')
		if end < 0 {
			return pcreErr("missing ) after (?# comment")
		}
		t.i += end + 1
		return nil
	case t.has("(?:"), t.has("(?="), t.has("(?!"), t.has("(?<="), t.has("(?<!"), t.has("(?>"):
		n := 3
		if t.has("(?<") {
			n = 4
		}
		t.push(t.flags)
		t.write(string(t.pat[t.i : t.i+n]))
		t.i += n
		return nil
	case t.has("(?P="):
		t.i += 4
		name := t.name(')')
		return t.backrefName(name)
	case t.has("(?P<"), t.has("(?<"), t.has("(?'"):
		if t.has("(?P<") {
			t.i += 4
		} else {
			t.i += 3
		}
		end := byte('>')
		if t.pat[t.i-1] == '\'' {
			end = '\''
		}
		name := t.name(end)
		if name == "" {
			return pcreErr("subpattern name expected")
		}
		t.ncap++
		if !t.emit {
			if _, dup := t.names[name]; dup {
				return pcreErr("two named subpatterns have the same name (PCRE2_DUPNAMES not set)")
			}
			t.names[name] = t.ncap
		}
		t.push(t.flags)
		t.write("(")
		return nil
	case t.has("(?("):
		return t.condition()
	case t.has("(?|"):
		return pcreErr("branch reset groups (?| are not supported")
	case t.has("(?C"):
		return pcreErr("callouts are not supported")
	case t.has("(?"):
		return t.options()
	}
	t.i++
	t.ncap++
	t.push(t.flags)
	t.write("(")
	return nil
}

// name reads a group name up to end (consumed).
func (t *pcreTranslator) name(end byte) string {
	j := t.i
	for j < len(t.pat) && (isWordByte(t.pat[j])) {
		j++
	}
	if j >= len(t.pat) || t.pat[j] != end {
		return ""
	}
	name := string(t.pat[t.i:j])
	t.i = j + 1
	return name
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func (t *pcreTranslator) backrefName(name string) error {
	if name == "" {
		return pcreErr("subpattern name expected")
	}
	if !t.emit {
		return nil
	}
	n, ok := t.names[name]
	if !ok {
		return pcreErr("reference to non-existent subpattern")
	}
	return t.backref(n)
}

func (t *pcreTranslator) backref(n int) error {
	t.atom = t.pos()
	t.write(`(?:\` + strconv.Itoa(n) + `)`)
	return nil
}

// condition handles "(?(": a group number or name becomes a number, an
// assertion is left to the main loop.
func (t *pcreTranslator) condition() error {
	t.i += 3
	t.push(t.flags)
	var name string
	switch {
	case t.peek(0) == '?':
		t.write("(?") // the assertion's own "(" follows
		return nil
	case t.peek(0) == '<' || t.peek(0) == '\'':
		end := byte('>')
		if t.peek(0) == '\'' {
			end = '\''
		}
		t.i++
		name = t.name(end)
		if name == "" || t.peek(0) != ')' {
			return pcreErr("malformed number or name after (?(")
		}
		t.i++
	default:
		j := t.i
		for j < len(t.pat) && t.pat[j] != ')' {
			j++
		}
		if j >= len(t.pat) {
			return pcreErr("malformed number or name after (?(")
		}
		name = string(t.pat[t.i:j])
		t.i = j + 1
	}
	if n, err := strconv.Atoi(name); err == nil && n > 0 {
		t.write("(?(" + name + ")")
		return nil
	}
	if name == "R" || strings.HasPrefix(name, "R") || name == "DEFINE" {
		return pcreErr("recursion conditions are not supported")
	}
	if !t.emit {
		return nil
	}
	n, ok := t.names[name]
	if !ok {
		return pcreErr("reference to non-existent subpattern")
	}
	t.write("(?(" + strconv.Itoa(n) + ")")
	return nil
}

// options handles (?flags) and (?flags:...).
func (t *pcreTranslator) options() error {
	j := t.i + 2
	on := true
	f := t.flags
	var set, unset strings.Builder
	for ; j < len(t.pat) && t.pat[j] != ')' && t.pat[j] != ':'; j++ {
		c := t.pat[j]
		switch c {
		case '-':
			on = false
			continue
		case '^': // unset imnsx, then set what follows
			f = pcreFlags{}
			unset.WriteString("imsx")
			continue
		case 'm':
			f.m = on
		case 'x':
			f.x = on
		case 'i', 's':
		case 'J', 'U', 'n':
			return pcreErr("the (?%c) option is not supported", c)
		case 'R', '&', 'P', '+', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return pcreErr("recursion and subroutine calls are not supported")
		default:
			return pcreErr("unrecognized character after (? or (?-")
		}
		if on {
			set.WriteByte(c)
		} else {
			unset.WriteByte(c)
		}
	}
	if j >= len(t.pat) {
		return pcreErr("missing closing parenthesis")
	}
	opts := set.String()
	off := strings.Map(func(r rune) rune {
		if strings.ContainsRune(opts, r) {
			return -1
		}
		return r
	}, unset.String())
	if off != "" {
		opts += "-" + off
	}
	if t.pat[j] == ':' {
		t.push(f)
		t.write("(?" + opts + ":")
	} else {
		t.flags = f
		if opts != "" {
			t.write("(?" + opts + ")")
		}
		t.atom = -1
	}
	t.i = j + 1
	return nil
}

// escape handles a backslash outside a character class.
func (t *pcreTranslator) escape() error {
	if t.i+1 >= len(t.pat) {
		return pcreErr("\\ at end of pattern")
	}
	c := t.pat[t.i+1]
	t.i += 2
	start := t.pos()
	switch c {
	case 'd', 'D', 's', 'S', 'w', 'W':
		t.write(`\` + string(rune(c)))
	case 'b', 'B', 'A', 'z', 'G':
		t.write(`\` + string(rune(c)))
		t.atom = -1
		return nil
	case 'Z':
		t.write(`(?=\n?\z)`)
		t.atom = -1
		return nil
	case 'h':
		t.write(`[\t\u0020` + string(runeOf(0xa0)) + `]`)
	case 'H':
		t.write(`[^\t\u0020` + string(runeOf(0xa0)) + `]`)
	case 'v':
		t.write(`[\n\u000B\f\r` + string(runeOf(0x85)) + `]`)
	case 'V':
		t.write(`[^\n\u000B\f\r` + string(runeOf(0x85)) + `]`)
	case 'R':
		t.write(`(?:\r\n|[\n\u000B\f\r` + string(runeOf(0x85)) + `])`)
	case 'N':
		if t.peek(0) == '{' {
			return pcreErr("\\N{name} is not supported")
		}
		t.write(`[^\n]`)
	case 'p', 'P':
		j := t.i + 1
		if t.peek(0) == '{' {
			for j < len(t.pat) && t.pat[j] != '}' {
				j++
			}
			j++
		}
		if j > len(t.pat) || t.i >= len(t.pat) {
			return pcreErr("malformed \\P or \\p sequence")
		}
		t.write(`\` + string(rune(c)) + string(t.pat[t.i:j]))
		t.i = j
	case 'Q':
		t.quoted(false)
		return nil
	case 'E':
		return nil
	case 'k':
		end := map[byte]byte{'<': '>', '\'': '\'', '{': '}'}[t.peek(0)]
		if end == 0 {
			return pcreErr("\\k is not followed by a braced, angle-bracketed, or quoted name")
		}
		t.i++
		return t.backrefName(t.name(end))
	case 'g':
		return t.gref()
	case 'K', 'X', 'C':
		return pcreErr("\\%c is not supported", c)
	default:
		if c >= '1' && c <= '9' {
			return t.digitEscape()
		}
		v, ok, err := t.charEscape(c, false)
		if err != nil {
			return err
		}
		if !ok {
			return pcreErr("unrecognized character follows \\")
		}
		if err := t.codepoint(v); err != nil {
			return err
		}
	}
	t.atom = start
	return nil
}

// quoted writes \Q...\E as literals (inClass: inside a character class).
func (t *pcreTranslator) quoted(inClass bool) {
	for t.i < len(t.pat) {
		if t.has(`\E`) {
			t.i += 2
			return
		}
		if !inClass {
			t.atom = t.pos()
		}
		t.char(t.pat[t.i])
		t.i++
	}
}

// gref handles \g: \gN, \g{N}, \g{-N}, \g{name}.
func (t *pcreTranslator) gref() error {
	var ref string
	switch t.peek(0) {
	case '{':
		end := strings.IndexByte(string(t.pat[t.i:]), '}')
		if end < 0 {
			return pcreErr("a numbered reference must not be zero")
		}
		ref = string(t.pat[t.i+1 : t.i+end])
		t.i += end + 1
	case '<', '\'':
		return pcreErr("subroutine calls are not supported")
	default:
		j := t.i
		if j < len(t.pat) && (t.pat[j] == '-' || t.pat[j] == '+') {
			j++
		}
		for j < len(t.pat) && t.pat[j] >= '0' && t.pat[j] <= '9' {
			j++
		}
		ref = string(t.pat[t.i:j])
		t.i = j
	}
	if n, err := strconv.Atoi(ref); err == nil {
		if n < 0 {
			n = t.ncap + 1 + n // relative to the groups opened so far
		}
		if n <= 0 {
			return pcreErr("a numbered reference must not be zero")
		}
		return t.backref(n)
	}
	return t.backrefName(ref)
}

// digitEscape handles \1..\9...: a back-reference, or an octal character
// when the number is 10 or more and there are not that many groups.
func (t *pcreTranslator) digitEscape() error {
	j := t.i - 1
	for j < len(t.pat) && t.pat[j] >= '0' && t.pat[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(string(t.pat[t.i-1 : j]))
	if n < 10 || n <= t.total || !t.emit {
		t.i = j
		return t.backref(n)
	}
	if t.pat[t.i-1] >= '8' {
		return pcreErr("reference to non-existent subpattern")
	}
	t.i--
	v := t.octal(3)
	t.atom = t.pos()
	return t.codepoint(v)
}

func (t *pcreTranslator) octal(max int) int {
	v := 0
	for k := 0; k < max && t.i < len(t.pat) && t.pat[t.i] >= '0' && t.pat[t.i] <= '7'; k++ {
		v = v*8 + int(t.pat[t.i]-'0')
		t.i++
	}
	return v
}

// charEscape decodes an escape that stands for one character; ok is false
// for a letter PCRE does not know. The cursor is past c.
func (t *pcreTranslator) charEscape(c byte, inClass bool) (v int, ok bool, err error) {
	switch c {
	case 'a':
		return 7, true, nil
	case 'e':
		return 27, true, nil
	case 'f':
		return '\f', true, nil
	case 'n':
		return '\n', true, nil
	case 'r':
		return '\r', true, nil
	case 't':
		return '\t', true, nil
	case 'b':
		if inClass {
			return '\b', true, nil
		}
	case '0':
		return t.octal(2), true, nil
	case 'o':
		if t.peek(0) != '{' {
			return 0, false, pcreErr("missing opening brace after \\o")
		}
		end := strings.IndexByte(string(t.pat[t.i:]), '}')
		if end < 0 {
			return 0, false, pcreErr("missing closing brace")
		}
		n, perr := strconv.ParseInt(string(t.pat[t.i+1:t.i+end]), 8, 32)
		t.i += end + 1
		if perr != nil {
			return 0, false, pcreErr("non-octal character in \\o{} (closing brace missing?)")
		}
		return int(n), true, nil
	case 'x':
		if t.peek(0) == '{' {
			end := strings.IndexByte(string(t.pat[t.i:]), '}')
			if end < 0 {
				return 0, false, pcreErr("missing closing brace")
			}
			n, perr := strconv.ParseInt(string(t.pat[t.i+1:t.i+end]), 16, 32)
			t.i += end + 1
			if perr != nil {
				return 0, false, pcreErr("non-hex character in \\x{} (closing brace missing?)")
			}
			return int(n), true, nil
		}
		v := 0
		for k := 0; k < 2 && isHex(t.peek(0)); k++ {
			v = v*16 + hexVal(t.peek(0))
			t.i++
		}
		return v, true, nil
	case 'c':
		if t.i >= len(t.pat) || t.pat[t.i] >= 0x80 {
			return 0, false, pcreErr("\\c at end of pattern")
		}
		ch := t.pat[t.i]
		t.i++
		if ch >= 'a' && ch <= 'z' {
			ch -= 'a' - 'A'
		}
		return int(ch ^ 0x40), true, nil
	}
	if !isWordByte(c) {
		return int(c), true, nil // an escaped punctuation or space: itself
	}
	if inClass && c >= '1' && c <= '7' {
		t.i--
		return t.octal(3), true, nil
	}
	return 0, false, nil
}

func isHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

func hexVal(b byte) int {
	switch {
	case b >= 'a':
		return int(b-'a') + 10
	case b >= 'A':
		return int(b-'A') + 10
	}
	return int(b - '0')
}

var posixClasses = []string{"alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "word", "xdigit"}

// class handles a character class, "[" to its "]".
func (t *pcreTranslator) class() error {
	t.i++
	t.write("[")
	if t.peek(0) == '^' {
		t.i++
		t.write("^")
	}
	if t.peek(0) == ']' { // a "]" first is a literal
		t.i++
		t.write(`\]`)
	}
	for t.i < len(t.pat) {
		c := t.pat[t.i]
		switch {
		case c == ']':
			t.i++
			t.write("]")
			return nil
		case c == '[' && (t.peek(1) == ':' || t.peek(1) == '.' || t.peek(1) == '='):
			end := strings.Index(string(t.pat[t.i+2:]), string(rune(t.peek(1)))+"]")
			if end < 0 {
				t.i++
				t.write(`\[`)
				continue
			}
			name := strings.TrimPrefix(string(t.pat[t.i+2:t.i+2+end]), "^")
			if t.peek(1) != ':' || !contains(posixClasses, name) {
				return pcreErr("unknown POSIX class name")
			}
			t.write(string(t.pat[t.i : t.i+4+end]))
			t.i += 4 + end
		case c == '\\':
			if err := t.classEscape(); err != nil {
				return err
			}
		case c == '[':
			t.i++
			t.write(`\[`)
		case c == '-':
			t.i++
			t.write("-")
		default:
			t.i++
			t.char(c)
		}
	}
	return pcreErr("missing terminating ] for character class")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// classEscape handles a backslash inside a character class.
func (t *pcreTranslator) classEscape() error {
	if t.i+1 >= len(t.pat) {
		return pcreErr("\\ at end of pattern")
	}
	c := t.pat[t.i+1]
	t.i += 2
	switch c {
	case 'd', 'D', 's', 'S', 'w', 'W':
		t.write(`\` + string(rune(c)))
	case 'h':
		t.write(`\t\u0020` + string(runeOf(0xa0)))
	case 'v':
		t.write(`\n\u000B\f\r` + string(runeOf(0x85)))
	case 'H', 'V':
		return pcreErr("\\%c in a character class is not supported", c)
	case 'p', 'P':
		j := t.i + 1
		if t.peek(0) == '{' {
			for j < len(t.pat) && t.pat[j] != '}' {
				j++
			}
			j++
		}
		if j > len(t.pat) || t.i >= len(t.pat) {
			return pcreErr("malformed \\P or \\p sequence")
		}
		t.write(`\` + string(rune(c)) + string(t.pat[t.i:j]))
		t.i = j
	case 'Q':
		t.quoted(true)
	case 'E':
	default:
		v, ok, err := t.charEscape(c, true)
		if err != nil {
			return err
		}
		if !ok {
			return pcreErr("escape sequence is invalid in character class")
		}
		return t.codepoint(v)
	}
	return nil
}

// pcreMessage words a compilation error of pat as HAProxy reports a
// PCRE2 one: "missing closing parenthesis, erroffset=9".
func pcreMessage(pat []byte, err error) string {
	msg := regexp2Message(err)
	off := sample.PCREErrOffset(pat, msg)
	var pe *pcreError
	if off < 0 && errors.As(err, &pe) {
		off = pe.off
		if msg == "unrecognized character follows \\" {
			off-- // PCRE2 points at the character, not after it
		}
	}
	if off < 0 {
		off = len(pat)
	}
	return fmt.Sprintf("%s, erroffset=%d", msg, off)
}

// regexp2Message rewords a compilation error as PCRE2 would.
func regexp2Message(err error) string {
	var pe *pcreError
	if errors.As(err, &pe) {
		return pe.msg
	}
	return sample.PCREReason(err)
}
