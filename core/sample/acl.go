package sample

import (
	"fmt"
	"strings"

	"luaproxy/core/config"
	"luaproxy/core/pattern"
)

// ACLs (manual 7.1, 7.2): "acl <name> <criterion> [flags] [operator]
// [<value>] ..." lines, anonymous "{ ... }" ACLs and conditions.

func init() {
	pattern.Regex = CompileRegex
	pattern.RegexMatch = RegexMatch
}

// aclKeyword is an ACL keyword deriving from a fetch with a fixed
// matching method (hdr_beg = req.hdr + beg).
type aclKeyword struct {
	fetch string
	match pattern.Match
	meth  bool // method patterns (method ACL)
	auth  bool // group patterns (http_auth_group ACL)
	ver   bool // dotted version patterns (req.ssl_ver ACL)
}

var aclKeywords = map[string]aclKeyword{}

func init() {
	derive := func(base, fetch string) {
		aclKeywords[base] = aclKeyword{fetch: fetch, match: pattern.MatchStr}
		for _, m := range []pattern.Match{pattern.MatchBeg, pattern.MatchDir, pattern.MatchDom, pattern.MatchEnd,
			pattern.MatchLen, pattern.MatchReg, pattern.MatchSub} {
			aclKeywords[base+"_"+m.String()] = aclKeyword{fetch: fetch, match: m}
		}
	}
	derive("base", "base")
	derive("cook", "req.cook")
	derive("hdr", "req.hdr")
	derive("path", "path")
	derive("url", "url")
	derive("urlp", "urlp")
	derive("scook", "res.cook")
	derive("shdr", "res.hdr")
	aclKeywords["req_ver"] = aclKeyword{fetch: "req.ver", match: pattern.MatchStr}
	aclKeywords["resp_ver"] = aclKeyword{fetch: "res.ver", match: pattern.MatchStr}
	aclKeywords["method"] = aclKeyword{fetch: "method", match: pattern.MatchStr, meth: true}
	aclKeywords["http_auth_group"] = aclKeyword{fetch: "http_auth_group", match: pattern.MatchStr, auth: true}
	aclKeywords["payload"] = aclKeyword{fetch: "req.payload", match: pattern.MatchBin}
	aclKeywords["payload_lv"] = aclKeyword{fetch: "req.payload_lv", match: pattern.MatchBin}
	aclKeywords["req_rdp_cookie"] = aclKeyword{fetch: "req.rdp_cookie", match: pattern.MatchStr}
	aclKeywords["req_rdp_cookie_cnt"] = aclKeyword{fetch: "req.rdp_cookie_cnt", match: pattern.MatchInt}
	aclKeywords["req_ssl_sni"] = aclKeyword{fetch: "req.ssl_sni", match: pattern.MatchStr}
	aclKeywords["req_ssl_ver"] = aclKeyword{fetch: "req.ssl_ver", match: pattern.MatchInt, ver: true}
	aclKeywords["req.ssl_ver"] = aclKeyword{fetch: "req.ssl_ver", match: pattern.MatchInt, ver: true}
}

// ACL is a named ACL: the expressions of all its "acl" lines, OR-ed.
type ACL struct {
	Name  string
	terms []*aclExpr
}

// Use returns where the ACL's fetches take their information from.
func (a *ACL) Use() Use {
	var u Use
	for _, t := range a.terms {
		u |= t.expr.fetch.Use
	}
	return u
}

// aclExpr is one ACL expression: a sample expression, a matching method
// and patterns.
type aclExpr struct {
	text  string // criterion as written
	expr  *Expr
	match pattern.Match
	icase bool
	pats  []*pattern.Expr // one per -f file, plus inline patterns
	kw    aclKeyword
	meths []Sample // method patterns
}

// ACLSet holds the named ACLs of one proxy.
type ACLSet struct {
	Scope *Scope
	acls  map[string]*ACL
}

// NewACLSet returns an empty set parsing in scope sc.
func NewACLSet(sc *Scope) *ACLSet { return &ACLSet{Scope: sc, acls: map[string]*ACL{}} }

// Lookup returns the ACL named name: a user-defined one, else a
// predefined one (manual 7.4).
func (s *ACLSet) Lookup(name string) (*ACL, bool) {
	if s != nil {
		if a, ok := s.acls[name]; ok {
			return a, true
		}
	}
	return predefinedACL(name)
}

// Add parses an "acl" line (l.Args[0] == "acl"); lines with the same name
// add OR-ed expressions. Errors are HAProxy's: "error detected while
// parsing ACL 'x' : <reason>."; the caller adds the location prefix.
func (s *ACLSet) Add(l config.Line) error {
	args := l.Args
	if len(args) < 2 {
		return fmt.Errorf("'acl' expects an ACL name")
	}
	name := args[1]
	if err := checkACLName(name); err != nil {
		return err
	}
	e, err := parseACLExpr(args[2:], s.Scope)
	if err != nil {
		return fmt.Errorf("error detected while parsing ACL '%s' : %v.", name, err)
	}
	a := s.acls[name]
	if a == nil {
		a = &ACL{Name: name}
		s.acls[name] = a
	}
	a.terms = append(a.terms, e)
	return nil
}

func checkACLName(name string) error {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return fmt.Errorf("ACL name '%s' contains invalid character '%c'", name, c)
		}
	}
	return nil
}

// parseACLExpr parses "<criterion> [flags] [operator] [values...]".
func parseACLExpr(words []string, sc *Scope) (*aclExpr, error) {
	if len(words) == 0 || words[0] == "" {
		return nil, fmt.Errorf("missing fetch method in ACL expression ''")
	}
	crit := words[0]
	ae := &aclExpr{text: crit}
	// ACL keyword: the name up to '(' or ','
	kwEnd := strings.IndexAny(crit, "(,")
	if kwEnd < 0 {
		kwEnd = len(crit)
	}
	fetchText := crit
	kw, isKw := aclKeywords[crit[:kwEnd]]
	if isKw {
		fetchText = kw.fetch + crit[kwEnd:]
		ae.kw = kw
	}
	e, err := ParseExpr(fetchText, sc)
	if err != nil {
		msg := err.Error()
		switch {
		case isKw && strings.HasPrefix(msg, "unknown converter"):
			// HAProxy compat: an ACL keyword's converters are parsed
			// by the ACL code, which says so
			return nil, fmt.Errorf("ACL keyword '%s' : %s.", crit[:kwEnd], msg)
		case strings.HasPrefix(msg, "unknown fetch method"), strings.HasPrefix(msg, "unknown converter"):
			return nil, fmt.Errorf("%s in ACL expression '%s'", msg, crit)
		}
		return nil, fmt.Errorf("%v in ACL expression '%s'", err, crit)
	}
	ae.expr = e
	hasMatch := false
	if isKw {
		ae.match, hasMatch = kw.match, true
	}
	i := 1
	var files []string
	maps := false
flags:
	for ; i < len(words); i++ {
		w := words[i]
		if w == "" || w[0] != '-' {
			break
		}
		switch w {
		case "-i":
			ae.icase = true
		case "-n", "-u":
			if w == "-u" && i+1 < len(words) {
				i++
			}
		case "-M":
			maps = true
		case "-f":
			if i+1 >= len(words) {
				return nil, fmt.Errorf("failed to open pattern file <>")
			}
			i++
			files = append(files, words[i])
		case "-m":
			if i+1 >= len(words) {
				return nil, fmt.Errorf("unknown matching method '' when parsing ACL expression")
			}
			i++
			// -m overrides the ACL keyword's own method, as in HAProxy
			m, ok := pattern.ParseMatch(words[i])
			if !ok {
				return nil, fmt.Errorf("unknown matching method '%s' when parsing ACL expression", words[i])
			}
			ae.match, hasMatch = m, true
		case "--":
			i++
			break flags
		default:
			return nil, fmt.Errorf("'%s' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'", w)
		}
	}
	if !hasMatch {
		switch e.OutType() {
		case TypeBool:
			ae.match = pattern.MatchBool
		case TypeSInt:
			ae.match = pattern.MatchInt
		case TypeIPv4, TypeIPv6, TypeAddr:
			ae.match = pattern.MatchIP
		case TypeStr:
			ae.match = pattern.MatchStr
		case TypeBin:
			ae.match = pattern.MatchBin
		default:
			return nil, fmt.Errorf("matching method must be specified first (using '-m') when using a sample fetch of this type ('%s')", e.fetch.Name)
		}
	}
	for _, f := range files {
		ref, err := pattern.Load(f, maps)
		if err != nil {
			return nil, err
		}
		px, err := ref.GetExpr(ae.match, ae.icase, pattern.OutStr)
		if err != nil {
			return nil, err
		}
		ae.pats = append(ae.pats, px)
	}
	vals := words[i:]
	if ae.kw.meth {
		for _, v := range vals {
			ae.meths = append(ae.meths, Meth(v))
		}
		return ae, nil
	}
	if len(vals) > 0 {
		ref := pattern.NewAnonymous(false)
		op := ""
		for _, v := range vals {
			if ae.match == pattern.MatchInt || ae.match == pattern.MatchLen {
				switch v {
				case "eq", "ge", "gt", "le", "lt":
					op = v
					continue
				}
				if ae.kw.ver {
					n, err := parseDottedVer(v)
					if err != nil {
						return nil, err
					}
					v = n
				}
				if op != "" {
					r, err := applyIntOp(op, v)
					if err != nil {
						return nil, err
					}
					v = r
				}
			}
			if err := ref.Add(v, ""); err != nil {
				return nil, err
			}
		}
		px, err := ref.GetExpr(ae.match, ae.icase, pattern.OutStr)
		if err != nil {
			return nil, err
		}
		ae.pats = append(ae.pats, px)
	}
	return ae, nil
}

// applyIntOp turns "gt 5" into the range "6:" and so on.
func applyIntOp(op, v string) (string, error) {
	n, ok := strictInt(v)
	if !ok {
		// HAProxy compat: after an operator, its message names both
		return "", fmt.Errorf("'%s' is neither a number nor a supported operator", v)
	}
	switch op {
	case "eq":
		return v, nil
	case "ge":
		return fmt.Sprintf("%d:", n), nil
	case "gt":
		return fmt.Sprintf("%d:", n+1), nil
	case "le":
		return fmt.Sprintf(":%d", n), nil
	}
	return fmt.Sprintf(":%d", n-1), nil
}

// parseDottedVer turns "3.1" into the integer 3<<16|1 (as text), or
// passes ranges through per side.
func parseDottedVer(v string) (string, error) {
	conv := func(s string) (string, error) {
		if s == "" {
			return "", nil
		}
		maj, min, _ := strings.Cut(s, ".")
		a, ok1 := strictInt(maj)
		b, ok2 := strictInt(min)
		if min == "" {
			b, ok2 = 0, true
		}
		if !ok1 || !ok2 {
			return "", fmt.Errorf("'%s' is not a dotted number", s)
		}
		return fmt.Sprint(a<<16 | b), nil
	}
	lo, hi, isRange := strings.Cut(v, ":")
	a, err := conv(lo)
	if err != nil {
		return "", err
	}
	if !isRange {
		return a, nil
	}
	b, err := conv(hi)
	return a + ":" + b, err
}

// aclResult is HAProxy's three-state ACL result.
type aclResult uint8

const (
	aclFail aclResult = iota
	aclMiss           // not decidable yet: more data may change it
	aclPass
)

// exec evaluates the ACL: PASS if any expression matches.
func (a *ACL) exec(ctx *Ctx) aclResult {
	res := aclFail
	for _, t := range a.terms {
		switch t.exec(ctx) {
		case aclPass:
			return aclPass
		case aclMiss:
			res = aclMiss
		}
	}
	return res
}

// execUsable is exec where the expressions marked in unusable (nil: none)
// fail.
func (a *ACL) execUsable(ctx *Ctx, unusable []bool) aclResult {
	if unusable == nil {
		return a.exec(ctx)
	}
	res := aclFail
	for i, t := range a.terms {
		if i < len(unusable) && unusable[i] {
			continue
		}
		switch t.exec(ctx) {
		case aclPass:
			return aclPass
		case aclMiss:
			res = aclMiss
		}
	}
	return res
}

func (ae *aclExpr) exec(ctx *Ctx) aclResult {
	if ae.expr.fetch.Each == nil || len(ae.expr.convs) > 0 {
		// single value: no closure on the hot path
		s, ok := ae.expr.Eval(ctx)
		switch {
		case ok && ae.matchSample(ctx, s):
			return aclPass
		case s.Flags&MayChange != 0:
			return aclMiss
		}
		return aclFail
	}
	matched := false
	mayChange := ae.expr.each(ctx, func(s Sample) bool {
		if ae.matchSample(ctx, s) {
			matched = true
			return false
		}
		return true
	})
	if matched {
		return aclPass
	}
	if mayChange {
		return aclMiss
	}
	return aclFail
}

// matchSample matches one sample against the patterns.
func (ae *aclExpr) matchSample(ctx *Ctx, s Sample) bool {
	switch ae.match {
	case pattern.MatchFound:
		return true
	case pattern.MatchBool:
		if !Convert(&s, TypeBool) {
			return false
		}
		return s.Int != 0
	}
	if ae.kw.meth {
		if !Convert(&s, TypeMeth) {
			return false
		}
		for _, m := range ae.meths {
			if m.Int == s.Int && (Method(m.Int) != MethOther || m.Str == s.Str) {
				return true
			}
		}
		return false
	}
	if ae.kw.auth {
		ul, _ := ae.expr.args[0].Ref.(Userlist)
		if ul == nil || !Convert(&s, TypeStr) {
			return false
		}
		for _, px := range ae.pats {
			for _, e := range px.Ref().Entries() {
				if ul.InGroup(s.Str, e.Key) {
					return true
				}
			}
		}
		return false
	}
	for _, px := range ae.pats {
		if matchPattern(px, s) {
			return true
		}
	}
	return false
}

// matchPattern matches a sample against one pattern index, casting the
// sample to the type the method works on.
func matchPattern(px *pattern.Expr, s Sample) bool {
	_, ok := lookupPattern(px, s)
	return ok
}

// lookupPattern returns the entry of px matching s.
func lookupPattern(px *pattern.Expr, s Sample) (*pattern.Entry, bool) {
	switch px.Match {
	case pattern.MatchInt:
		if !Convert(&s, TypeSInt) {
			return nil, false
		}
		return px.MatchInt(s.Int)
	case pattern.MatchIP:
		if !Convert(&s, TypeAddr) {
			return nil, false
		}
		return px.MatchAddr(s.Addr)
	case pattern.MatchBin:
		if !Convert(&s, TypeBin) {
			return nil, false
		}
		return px.MatchString(s.Str)
	}
	if !Convert(&s, TypeStr) {
		return nil, false
	}
	return px.MatchString(s.Str)
}
