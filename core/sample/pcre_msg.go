package sample

import (
	"bytes"
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"
)

// HAProxy compat: a regex that does not compile is reported in PCRE2's
// words, with PCRE2's offset of the error: "regex '(' is invalid
// (error=missing closing parenthesis, erroffset=1)".

// PCREMessage words the compilation error of pat as HAProxy reports a
// PCRE2 one: "missing closing parenthesis, erroffset=9".
func PCREMessage(pat []byte, err error) string {
	msg := PCREReason(err)
	off := PCREErrOffset(pat, msg)
	if off < 0 {
		off = len(pat)
	}
	return fmt.Sprintf("%s, erroffset=%d", msg, off)
}

// PCREReason words a regexp2 compilation error as PCRE2 would
// ("missing closing parenthesis").
func PCREReason(err error) string {
	msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
	if i := strings.LastIndex(msg, " in `"); i >= 0 {
		msg = msg[:i]
	}
	var se *syntax.Error // Go's regexp (core's rules), not regexp2
	if errors.As(err, &se) {
		msg = string(se.Code)
	}
	for from, to := range map[string]string{
		"missing closing ]":                       "missing terminating ] for character class",
		"trailing backslash at end of expression": "\\ at end of pattern",
		"missing closing )":                       "missing closing parenthesis",
		"unexpected )":                            "unmatched closing parenthesis",
		"unterminated [] set":                     "missing terminating ] for character class",
		"missing argument to repetition operator": "quantifier does not follow a repeatable item",
		"invalid nested repetition operator":      "quantifier does not follow a repeatable item",
		"invalid repeat count":                    "numbers out of order in {} quantifier",
		"illegal \\ at end of pattern":            "\\ at end of pattern",
		"capture group number out of range":       "reference to non-existent subpattern",
	} {
		if msg == from {
			return to
		}
	}
	if strings.HasPrefix(msg, "reference to undefined group") {
		return "reference to non-existent subpattern"
	}
	if strings.Contains(msg, "range in reverse order") {
		return "range out of order in character class"
	}
	return msg
}

// PCREErrOffset guesses where PCRE2 would have found the error msg (as
// PCREReason words it) in pat: regexp2 does not say; -1 when
// there is no better guess than the end of the pattern.
func PCREErrOffset(pat []byte, msg string) int {
	switch msg {
	case "numbers out of order in {} quantifier":
		for i := 0; i < len(pat); i++ {
			if pat[i] != '{' {
				continue
			}
			j := i + 1
			for j < len(pat) && pat[j] != '}' {
				j++
			}
			var lo, hi int
			if n, _ := fmt.Sscanf(string(pat[i+1:min(j, len(pat))]), "%d,%d", &lo, &hi); n == 2 && lo > hi && j < len(pat) {
				return j
			}
		}
	case "range out of order in character class":
		for i := 0; i+2 < len(pat); i++ {
			if pat[i+1] == '-' && pat[i+2] != ']' && pat[i+2] < pat[i] {
				return i + 2
			}
		}
	case "quantifier does not follow a repeatable item":
		q := 0 // 1 after a quantifier, 2 after its modifier (? or +)
		for i := 0; i < len(pat); i++ {
			switch c := pat[i]; {
			case c == '\\':
				i, q = i+1, 0
			case isQuant(c):
				switch {
				case i == 0 || pat[i-1] == '(' || pat[i-1] == '|':
					return i
				case q == 1 && c != '*':
					q = 2
				case q >= 1:
					return i
				default:
					q = 1
				}
			default:
				q = 0
			}
		}
	case "missing closing parenthesis", "missing terminating ] for character class", "\\ at end of pattern":
		return len(pat)
	case "reference to non-existent subpattern":
		if i := bytes.Index(pat, []byte("\\k<")); i >= 0 {
			return i + 3
		}
		for i := 0; i+1 < len(pat); i++ {
			if pat[i] == '\\' && pat[i+1] >= '1' && pat[i+1] <= '9' {
				return i + 1
			}
		}
	case "unknown POSIX class name":
		if i := bytes.Index(pat, []byte("[:")); i >= 0 {
			return i + 2
		}
	case "unmatched closing parenthesis":
		depth := 0
		for i := 0; i < len(pat); i++ {
			switch pat[i] {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				if depth == 0 {
					return i
				}
				depth--
			}
		}
	}
	return -1
}

func isQuant(c byte) bool { return c == '*' || c == '+' || c == '?' }
