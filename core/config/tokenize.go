package config

import (
	"fmt"
	"strings"
)

// MaxLineArgs is the most words one statement may have (HAProxy's
// MAX_LINE_ARGS).
const MaxLineArgs = 64

// TokenError reports a line that cannot be split into words.
type TokenError struct {
	Pos int    // 1-based byte position, in the line, of the offending character
	Msg string // HAProxy's wording, e.g. "unmatched quote at position 12"
}

// Error returns e.Msg.
func (e *TokenError) Error() string { return e.Msg }

// Tokenize splits one configuration line into words exactly as the file
// parser does (configuration manual 2.2 and 2.3): unprotected spaces and tabs
// separate words, '#' starts a comment, backslash escapes, "weak" and 'strong'
// quotes, and variables inside double quotes, looked up with LookupEnv.
// Pseudo-variables such as "${.LINE}" expand to nothing outside a file.
// A line with nothing but blanks and comments yields no words.
func Tokenize(line string) ([]string, error) {
	start := skipSpaces(line, 0)
	words, err := splitWords(line, start, LookupEnv, func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, nil
	}
	return words, nil
}

// pseudoVars are the only variable names allowed to start with a dot.
var pseudoVars = map[string]bool{".LINE": true, ".FILE": true, ".SECTION": true}

// splitWords is HAProxy's parse_line() with the options the configuration
// parser uses. raw is the whole line (for error positions) and parsing starts
// at raw[start]. lookup resolves environment variables and pseudo resolves
// the pseudo-variables in pseudoVars.
//
// Unlike parse_line(), a trailing empty word written as "" is kept: the
// caller can see it, while HAProxy cannot tell it from the end of the line
// anyway (see Line.EffectiveArgs).
func splitWords(raw string, start int, lookup, pseudo func(string) (string, bool)) ([]string, *TokenError) {
	var (
		words  = make([]string, 0, 8)
		cur    = make([]byte, 0, len(raw)-start)
		quoted bool // the current word exists even if empty: it had quotes or a variable
		sq, dq bool
		quote  = -1 // position of the opening quote still waiting to be closed
	)
	at := func(i int) byte {
		if i < len(raw) {
			return raw[i]
		}
		return 0
	}
	push := func() {
		words = append(words, string(cur))
		cur = cur[:0]
		quoted = false
	}
	fail := func(pos int, format string) ([]string, *TokenError) {
		return nil, &TokenError{Pos: pos + 1, Msg: fmt.Sprintf(format, pos+1)}
	}

	i := start
scan:
	for i < len(raw) {
		c := raw[i]
		switch {
		case c == 0 || c == '\n' || c == '\r':
			// HAProxy compat: a CR ends the line even in the middle of it.
			break scan
		case c == '#' && !sq && !dq:
			break scan
		case c == '"' && !sq:
			dq = !dq
			quote = -1
			if dq {
				quote = i
			}
			quoted = true
			i++
		case c == '\'' && !dq:
			sq = !sq
			quote = -1
			if sq {
				quote = i
			}
			quoted = true
			i++
		case c == '\\' && !sq:
			send := byte('\\')
			// Only the listed sequences are escapes; any other backslash
			// is kept as-is (e.g. "\1" in a regex replacement).
			switch n := at(i + 1); n {
			case ' ', '\\', '#', '\'', '"':
				send = n
				i++
			case 't':
				send = '\t'
				i++
			case 'n':
				send = '\n'
				i++
			case 'r':
				send = '\r'
				i++
			case '$':
				// HAProxy compat: "\$" is an escape inside double quotes
				// only; elsewhere the backslash stays.
				if dq {
					send = '$'
					i++
				}
			case 'x':
				h1, ok1 := unhex(at(i + 2))
				h2, ok2 := unhex(at(i + 3))
				if !ok1 || !ok2 {
					return fail(i, "truncated or invalid hexadecimal sequence at position %d")
				}
				send = h1<<4 | h2
				i += 3
			}
			i++
			cur = append(cur, send)
		case isSpace(c) && !sq && !dq:
			// HAProxy compat: the run of blanks may swallow a CR, which
			// then does not end the line.
			i = skipSpaces(raw, i)
			push()
		case c == '$' && dq:
			var err *TokenError
			i, err = expandVar(raw, i, lookup, pseudo, &cur, push)
			if err != nil {
				return nil, err
			}
		default:
			cur = append(cur, c)
			i++
		}
	}
	if len(cur) > 0 || quoted {
		push()
	}
	if quote >= 0 {
		return fail(quote, "unmatched quote at position %d")
	}
	if len(words) > MaxLineArgs {
		pos := 1 // HAProxy reports the position in its output buffer
		for _, w := range words[:MaxLineArgs-1] {
			pos += len(w) + 1
		}
		return nil, &TokenError{Pos: pos, Msg: fmt.Sprintf("too many words, truncating after word %d, position %d: <%s>.",
			MaxLineArgs, pos, words[MaxLineArgs-1])}
	}
	return words, nil
}

// expandVar expands the variable reference starting with the '$' at raw[i]
// into *cur and returns the index just past the reference. With the "[*]"
// suffix, spaces in the value split words, so push is called to end the
// current one.
func expandVar(raw string, i int, lookup, pseudo func(string) (string, bool), cur *[]byte, push func()) (int, *TokenError) {
	at := func(i int) byte {
		if i < len(raw) {
			return raw[i]
		}
		return 0
	}
	fail := func(pos int, format string) (int, *TokenError) {
		return 0, &TokenError{Pos: pos + 1, Msg: fmt.Sprintf(format, pos+1)}
	}

	j := i + 1
	brace := -1
	if at(j) == '{' {
		brace = j
		j++
	}
	if c := at(j); !isAlpha(c) && c != '_' && c != '.' {
		return fail(j, "forbidden first char in environment variable name at position %d")
	}
	nameStart := j
	if at(j) == '.' {
		j++
	}
	for c := at(j); isAlpha(c) || isDigit(c) || c == '_'; c = at(j) {
		j++
	}
	name := raw[nameStart:j]

	var val string
	var ok bool
	if name[0] == '.' {
		if !pseudoVars[name] {
			return fail(nameStart, "forbidden first char in environment variable name at position %d")
		}
		val, ok = pseudo(name)
	} else {
		val, ok = lookup(name)
	}

	wordExpand := false
	if at(j) == '[' && brace >= 0 {
		open := j
		if at(j+1) != '*' || at(j+2) != ']' {
			return fail(open, "truncated or invalid word expansion sequence at position %d")
		}
		j += 3
		wordExpand = true
	}

	if brace >= 0 {
		switch at(j) {
		case '-':
			// The default is taken verbatim up to the closing brace, and
			// replaces only an unset variable, not an empty one.
			end := strings.IndexByte(raw[j:], '}')
			if end < 0 {
				return fail(brace, "unmatched brace in environment variable name at position %d")
			}
			if !ok {
				val, ok = raw[j+1:j+end], true
			}
			j += end
		case '}':
		default:
			return fail(brace, "unmatched brace in environment variable name at position %d")
		}
		j++ // the closing brace
	}

	for k := 0; k < len(val); {
		if wordExpand && isSpace(val[k]) {
			push()
			for k < len(val) && isSpace(val[k]) {
				k++
			}
			continue
		}
		*cur = append(*cur, val[k])
		k++
	}
	return j, nil
}

// isSpace is C's isspace() in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipSpaces returns the index of the first non-blank byte of s at or after i.
func skipSpaces(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// unhex returns the value of the hexadecimal digit c.
func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
