package h1

// Byte classes of HTTP/1 syntax, as HAProxy 2.6 defines them.
const (
	cToken   = 1 << iota // tchar (RFC 7230): header names, methods
	cVersion             // bytes allowed in a version: A-Z, 0-9, '.', '/'
	cSPHT                // SP, HT
	cCRLF                // CR, LF
	cLWS                 // SP, HT, CR, LF
	cDigit
)

var classes = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= cToken
	}
	for c := 'A'; c <= 'Z'; c++ {
		// HAProxy compat: any capital letter may appear in a version
		// (a response "ABCD/1.1" passes, "AbCD/1.1" does not).
		t[c] |= cToken | cVersion
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= cToken | cVersion | cDigit
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] |= cToken
	}
	t['.'] |= cVersion
	t['/'] |= cVersion
	t[' '] |= cSPHT | cLWS
	t['\t'] |= cSPHT | cLWS
	t['\r'] |= cCRLF | cLWS
	t['\n'] |= cCRLF | cLWS
	return t
}()

func isToken(c byte) bool   { return classes[c]&cToken != 0 }
func isVersion(c byte) bool { return classes[c]&cVersion != 0 }
func isSPHT(c byte) bool    { return classes[c]&cSPHT != 0 }
func isCRLF(c byte) bool    { return classes[c]&cCRLF != 0 }
func isLWS(c byte) bool     { return classes[c]&cLWS != 0 }
func isDigit(c byte) bool   { return classes[c]&cDigit != 0 }

// equalFold reports whether b equals the lower-case ASCII string s, ignoring
// the case of b.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// equalFoldBytes reports whether a and b are equal ignoring ASCII case.
func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// listElemEnd returns the index of the comma ending the list element that
// starts s, or len(s); commas inside quoted strings do not count (HAProxy's
// http_find_hdr_value_end).
func listElemEnd[S ~string | ~[]byte](s S) int {
	quoted, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case quoted:
			if c == '\\' {
				escaped = true
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == ',':
			return i
		}
	}
	return len(s)
}

// trimLWSRight removes trailing SP, HT, CR and LF.
func trimLWSRight(s []byte) []byte {
	for len(s) > 0 && isLWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// forEachElem calls fn with each element of a comma-separated header
// value, leading and trailing blanks removed, the way HAProxy walks
// Connection, Transfer-Encoding and Upgrade values: an element that starts
// with a comma is empty, a trailing comma adds nothing. start and end
// locate the element in s; fn returns false to stop.
func forEachElem(s []byte, fn func(elem []byte, start, end int) bool) {
	for i := 0; i < len(s); i++ {
		if isLWS(s[i]) {
			continue
		}
		n := i + listElemEnd(s[i:])
		if !fn(trimLWSRight(s[i:n]), i, n) {
			return
		}
		i = n // the loop steps over the comma
	}
}

// EqualFold reports whether a and b are equal under ASCII case folding,
// as HAProxy compares header names and tokens (isteqi, strcasecmp): no
// Unicode folding, and the lengths are compared first, so that the
// common mismatch costs no call.
func EqualFold(a, b string) bool {
	return len(a) == len(b) && equalFoldASCII(a, b)
}

func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x |= 0x20; x != y|0x20 || x < 'a' || x > 'z' {
			return false
		}
	}
	return true
}
