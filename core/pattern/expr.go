package pattern

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/dlclark/regexp2"
)

// Match is a matching method (the "-m" of ACLs, the <match> of maps).
type Match uint8

// The matching methods (manual 7.1.x).
const (
	MatchFound Match = iota
	MatchBool
	MatchInt
	MatchIP
	MatchBin
	MatchLen
	MatchStr
	MatchSub
	MatchReg
	MatchBeg
	MatchEnd
	MatchDir
	MatchDom
	numMatch
)

var matchNames = [numMatch]string{"found", "bool", "int", "ip", "bin", "len", "str", "sub", "reg", "beg", "end", "dir", "dom"}

// String returns the method's name as written after -m.
func (m Match) String() string { return matchNames[m] }

// ParseMatch returns the method named s.
func ParseMatch(s string) (Match, bool) {
	for i, n := range matchNames {
		if n == s {
			return Match(i), true
		}
	}
	return 0, false
}

// Output is the type of map values a lookup returns.
type Output uint8

// The map output types.
const (
	OutStr Output = iota
	OutInt
	OutIP
)

// Regex compiles a pattern regex; the sample package provides the
// byte-exact PCRE-like flavour it uses everywhere.
var Regex = func(pat string, icase bool) (*regexp2.Regexp, error) {
	opt := regexp2.RegexOptions(0)
	if icase {
		opt |= regexp2.IgnoreCase
	}
	return regexp2.Compile(pat, opt)
}

// RegexMatch runs a regex compiled by Regex; replaced with Regex.
var RegexMatch = func(re *regexp2.Regexp, s string) bool {
	m, err := re.MatchString(s)
	return err == nil && m
}

// Expr is the index of one reference for one matching method and case
// mode, with the map output type its users expect. Exprs are shared:
// GetExpr returns the same one for the same parameters.
type Expr struct {
	ref   *Ref
	Match Match
	ICase bool
	Out   Output

	exact  map[string]*Entry // str, bin: first entry per key
	prefix prefixTable       // beg (case-sensitive)
	ip4    ipTable
	ip6    ipTable
	ints   []intEntry
	regs   []regEntry
	list   []*Entry // sub, end, dir, dom, beg with -i, len
}

type intEntry struct {
	lo, hi int64
	e      *Entry
}

type regEntry struct {
	re *regexp2.Regexp
	e  *Entry
}

// GetExpr returns the index of r for the method, case mode and output
// type, building it on first use. The error reports the first key or
// value that does not parse, in HAProxy's words.
func (r *Ref) GetExpr(m Match, icase bool, out Output) (*Expr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.exprs {
		if x.Match == m && x.ICase == icase && x.Out == out {
			return x, nil
		}
	}
	x := &Expr{ref: r, Match: m, ICase: icase, Out: out}
	x.reset()
	for _, e := range r.entries {
		if err := x.check(e); err != nil {
			var ve *valueError
			switch {
			case e.Line == 0:
			case errors.As(err, &ve):
				// HAProxy compat: a value's error names the line only
				err = fmt.Errorf("unable to parse '%s' at line %d of file '%s'", e.Value, e.Line, r.Name)
			default:
				err = fmt.Errorf("%w at line %d of file '%s'", err, e.Line, r.Name)
			}
			return nil, err
		}
		x.insert(e)
	}
	r.exprs = append(r.exprs, x)
	return x, nil
}

// Ref returns the reference the index is built on.
func (x *Expr) Ref() *Ref { return x.ref }

func (x *Expr) reset() {
	x.exact = nil
	x.prefix = prefixTable{}
	x.ip4, x.ip6 = ipTable{}, ipTable{}
	x.ints, x.regs, x.list = nil, nil, nil
}

// check verifies that an entry can be indexed (and its value converted).
func (x *Expr) check(e *Entry) error {
	switch x.Match {
	case MatchInt, MatchLen:
		if _, _, err := ParseIntRange(e.Key); err != nil {
			return err
		}
	case MatchIP:
		if _, err := ParseIPPrefix(e.Key); err != nil {
			return err
		}
	case MatchBin:
		if _, err := parseHex(e.Key); err != nil {
			return err
		}
	case MatchReg:
		if _, err := Regex(e.Key, x.ICase); err != nil {
			return err
		}
	}
	if x.ref.IsMap {
		switch x.Out {
		case OutInt:
			if _, err := strconv.ParseInt(e.Value, 10, 64); err != nil {
				return &valueError{fmt.Errorf("'%s' is not a number", e.Value)}
			}
		case OutIP:
			if _, err := ParseIPPrefix(e.Value); err != nil {
				return &valueError{err}
			}
		}
	}
	return nil
}

// valueError is check's error about a map entry's value (not its key).
type valueError struct{ error }

func (e *valueError) Unwrap() error { return e.error }

func (x *Expr) insert(e *Entry) {
	key := e.Key
	switch x.Match {
	case MatchStr, MatchBin:
		if x.Match == MatchBin {
			key, _ = parseHex(key)
		} else if x.ICase {
			key = strings.ToLower(key)
		}
		if x.exact == nil {
			x.exact = map[string]*Entry{}
		}
		if _, dup := x.exact[key]; !dup {
			x.exact[key] = e
		}
	case MatchBeg:
		if x.ICase {
			x.list = append(x.list, e)
		} else {
			x.prefix.add(key, e)
		}
	case MatchIP:
		p, _ := ParseIPPrefix(key)
		if p.Addr().Is4() {
			x.ip4.add(p, e)
		} else {
			x.ip6.add(p, e)
		}
	case MatchInt, MatchLen:
		lo, hi, _ := ParseIntRange(key)
		x.ints = append(x.ints, intEntry{lo, hi, e})
	case MatchReg:
		re, _ := Regex(key, x.ICase)
		x.regs = append(x.regs, regEntry{re, e})
	default:
		x.list = append(x.list, e)
	}
}

// Len returns the number of indexed entries of the reference.
func (x *Expr) Len() int { return x.ref.Len() }

// MatchString looks s up (str, sub, reg, beg, end, dir, dom, bin, len) and
// returns the matching entry: for str the first with that key, for beg
// the longest prefix (the first in order with -i), for the others the
// first in order.
func (x *Expr) MatchString(s string) (*Entry, bool) {
	x.ref.mu.RLock()
	defer x.ref.mu.RUnlock()
	switch x.Match {
	case MatchStr, MatchBin:
		if x.ICase {
			var buf [256]byte
			if len(s) <= len(buf) {
				b := appendLower(buf[:0], s)
				e, ok := x.exact[string(b)]
				return e, ok
			}
			s = strings.ToLower(s)
		}
		e, ok := x.exact[s]
		return e, ok
	case MatchBeg:
		if !x.ICase {
			return x.prefix.longest(s)
		}
	case MatchLen:
		return x.matchIntLocked(int64(len(s)))
	case MatchReg:
		for _, r := range x.regs {
			if RegexMatch(r.re, s) {
				return r.e, true
			}
		}
		return nil, false
	}
	for _, e := range x.list {
		if matchOne(x.Match, x.ICase, s, e.Key) {
			return e, true
		}
	}
	return nil, false
}

// MatchRegex returns the first regex entry matching s with the regex, for
// map_regm's substitution.
func (x *Expr) MatchRegex(s string) (*Entry, *regexp2.Regexp, bool) {
	x.ref.mu.RLock()
	defer x.ref.mu.RUnlock()
	for _, r := range x.regs {
		if RegexMatch(r.re, s) {
			return r.e, r.re, true
		}
	}
	return nil, nil, false
}

// MatchInt looks an integer up in the ranges (int, len); the first
// matching entry wins.
func (x *Expr) MatchInt(v int64) (*Entry, bool) {
	x.ref.mu.RLock()
	defer x.ref.mu.RUnlock()
	return x.matchIntLocked(v)
}

func (x *Expr) matchIntLocked(v int64) (*Entry, bool) {
	for i := range x.ints {
		if v >= x.ints[i].lo && v <= x.ints[i].hi {
			return x.ints[i].e, true
		}
	}
	return nil, false
}

// MatchAddr looks an address up with longest prefix match. An IPv4
// address also matches IPv4-mapped IPv6 patterns and an IPv4-mapped or
// 6to4 IPv6 address also matches IPv4 patterns, as in HAProxy.
func (x *Expr) MatchAddr(a netip.Addr) (*Entry, bool) {
	x.ref.mu.RLock()
	defer x.ref.mu.RUnlock()
	if a.Is4() {
		if e, ok := x.ip4.longest(a); ok {
			return e, true
		}
		return x.ip6.longest(netip.AddrFrom16(a.As16()))
	}
	if e, ok := x.ip6.longest(a); ok {
		return e, true
	}
	b := a.As16()
	if a.Is4In6() {
		return x.ip4.longest(a.Unmap())
	}
	if b[0] == 0x20 && b[1] == 0x02 {
		return x.ip4.longest(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	return nil, false
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		b = append(b, c)
	}
	return b
}

func hasPrefixFold(s, p string, icase bool) bool {
	if len(s) < len(p) {
		return false
	}
	if icase {
		return strings.EqualFold(s[:len(p)], p)
	}
	return s[:len(p)] == p
}

// matchOne applies a list method to one pattern.
func matchOne(m Match, icase bool, s, p string) bool {
	switch m {
	case MatchStr:
		if icase {
			return strings.EqualFold(s, p)
		}
		return s == p
	case MatchBeg:
		return hasPrefixFold(s, p, icase)
	case MatchEnd:
		if len(s) < len(p) {
			return false
		}
		if icase {
			return strings.EqualFold(s[len(s)-len(p):], p)
		}
		return s[len(s)-len(p):] == p
	case MatchSub:
		if icase {
			return indexFold(s, p) >= 0
		}
		return strings.Contains(s, p)
	case MatchDir:
		return matchWord(s, p, "/?", icase)
	case MatchDom:
		return matchWord(s, p, "/?.:", icase)
	}
	return false
}

func indexFold(s, p string) int {
	for i := 0; i+len(p) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(p)], p) {
			return i
		}
	}
	return -1
}

// matchWord finds p in s as a whole word delimited by delims (or the
// ends of s), after removing p's own leading and trailing delimiters, as
// HAProxy's match_word.
func matchWord(s, p, delims string, icase bool) bool {
	isDelim := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	for len(p) > 0 && isDelim(p[0]) {
		p = p[1:]
	}
	for len(p) > 0 && isDelim(p[len(p)-1]) {
		p = p[:len(p)-1]
	}
	if p == "" || len(p) > len(s) {
		return false // HAProxy compat: a pattern made of delimiters only never matches
	}
	for i := 0; i+len(p) <= len(s); i++ {
		if i > 0 && !isDelim(s[i-1]) {
			continue
		}
		w := s[i : i+len(p)]
		if icase && !strings.EqualFold(w, p) || !icase && w != p {
			continue
		}
		if i+len(p) == len(s) || isDelim(s[i+len(p)]) {
			return true
		}
	}
	return false
}

// ParseIntRange parses "n", "a:b", ":b" or "a:" (manual 7.1.2).
func ParseIntRange(s string) (lo, hi int64, err error) {
	lo, hi = minInt, maxInt
	a, b, isRange := strings.Cut(s, ":")
	if !isRange {
		v, ok := parseInt(s)
		if !ok {
			return 0, 0, fmt.Errorf("'%s' is not a number", s)
		}
		return v, v, nil
	}
	if a != "" {
		v, ok := parseInt(a)
		if !ok {
			return 0, 0, fmt.Errorf("'%s' is not a valid number range", s)
		}
		lo = v
	}
	if b != "" {
		v, ok := parseInt(b)
		if !ok {
			return 0, 0, fmt.Errorf("'%s' is not a valid number range", s)
		}
		hi = v
	}
	return lo, hi, nil
}

const (
	minInt = -1 << 63
	maxInt = 1<<63 - 1
)

func parseInt(s string) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// ParseIPPrefix parses "a.b.c.d", "a.b.c.d/len", "a.b.c.d/mask" and IPv6
// forms.
func ParseIPPrefix(s string) (netip.Prefix, error) {
	bad := fmt.Errorf("'%s' is not a valid IPv4 or IPv6 address", s)
	addr, mask, hasMask := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, bad
	}
	bits := a.BitLen()
	if hasMask {
		if n, err := strconv.Atoi(mask); err == nil {
			if n < 0 || n > a.BitLen() {
				return netip.Prefix{}, bad
			}
			bits = n
		} else if m, err := netip.ParseAddr(mask); err == nil && m.Is4() && a.Is4() {
			b := m.As4()
			v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			bits = 0
			for v&0x80000000 != 0 {
				bits++
				v <<= 1
			}
			if v != 0 {
				return netip.Prefix{}, bad
			}
		} else {
			return netip.Prefix{}, bad
		}
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, bad
	}
	return p, nil
}

func parseHex(s string) (string, error) {
	if len(s)%2 != 0 {
		return "", fmt.Errorf("'%s' is not a valid hex string", s)
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		hi, ok1 := hexVal(s[2*i])
		lo, ok2 := hexVal(s[2*i+1])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("'%s' is not a valid hex string", s)
		}
		b[i] = hi<<4 | lo
	}
	return string(b), nil
}

func hexVal(c byte) (byte, bool) {
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

// prefixTable finds the longest key that prefixes a string: one hash
// table per key length, probed from the longest length down.
type prefixTable struct {
	byLen map[int]map[string]*Entry
	lens  []int // descending
}

func (t *prefixTable) add(k string, e *Entry) {
	if t.byLen == nil {
		t.byLen = map[int]map[string]*Entry{}
	}
	m := t.byLen[len(k)]
	if m == nil {
		m = map[string]*Entry{}
		t.byLen[len(k)] = m
		t.lens = append(t.lens, len(k))
		sort.Sort(sort.Reverse(sort.IntSlice(t.lens)))
	}
	if _, dup := m[k]; !dup {
		m[k] = e
	}
}

func (t *prefixTable) longest(s string) (*Entry, bool) {
	for _, l := range t.lens {
		if l > len(s) {
			continue
		}
		if e, ok := t.byLen[l][s[:l]]; ok {
			return e, true
		}
	}
	return nil, false
}

// ipTable finds the longest prefix containing an address: one hash table
// per prefix length, probed from the longest down. Keys are the masked
// 16-byte form (IPv4 in its own table, so its 4 bytes sit at the end).
type ipTable struct {
	byLen [129]map[[16]byte]*Entry
	lens  []int // descending
}

func (t *ipTable) add(p netip.Prefix, e *Entry) {
	bits := p.Bits()
	if t.byLen[bits] == nil {
		t.byLen[bits] = map[[16]byte]*Entry{}
		t.lens = append(t.lens, bits)
		sort.Sort(sort.Reverse(sort.IntSlice(t.lens)))
	}
	k := maskKey(p.Addr(), bits)
	if _, dup := t.byLen[bits][k]; !dup {
		t.byLen[bits][k] = e
	}
}

// maskKey returns the address bytes with the bits past the prefix length
// cleared; IPv4 addresses use the last four bytes.
func maskKey(a netip.Addr, bits int) [16]byte {
	var k [16]byte
	off := 0
	if a.Is4() {
		b := a.As4()
		copy(k[12:], b[:])
		off = 12
	} else {
		k = a.As16()
	}
	for i := off; i < 16; i++ {
		n := bits - (i-off)*8
		switch {
		case n >= 8:
		case n <= 0:
			k[i] = 0
		default:
			k[i] &= byte(0xff << (8 - n))
		}
	}
	return k
}

func (t *ipTable) longest(a netip.Addr) (*Entry, bool) {
	if len(t.lens) == 0 {
		return nil, false
	}
	for _, l := range t.lens {
		if e, ok := t.byLen[l][maskKey(a, l)]; ok {
			return e, true
		}
	}
	return nil, false
}
