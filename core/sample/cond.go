package sample

import (
	"fmt"
	"strings"
	"sync"

	"luaproxy/core/config"
)

// Cond is a parsed "if <cond>" or "unless <cond>": ORs of ANDs of
// (possibly negated) ACLs (manual 7.2).
type Cond struct {
	Unless bool
	Line   config.Line
	suites [][]condTerm // OR of ANDs
}

type condTerm struct {
	acl  *ACL
	neg  bool
	anon bool // written as "{ ... }"
	// unusable marks the ACL's expressions whose fetch cannot work where
	// the condition runs (see Restrict): they never match.
	unusable []bool
}

// ParseCond parses a condition starting at words[0], which must be "if"
// or "unless"; it consumes every remaining word and returns how many. ACL
// names are looked up in acls (which may be nil: only predefined ACLs
// and anonymous ones then). Errors are HAProxy's inner message (e.g.
// "no such ACL : 'z'"); the caller adds "error detected while parsing an
// 'http-request deny' condition : ".
func ParseCond(words []string, acls *ACLSet, line config.Line) (*Cond, int, error) {
	if len(words) == 0 || words[0] != "if" && words[0] != "unless" {
		return nil, 0, fmt.Errorf("expects 'if' or 'unless' followed by a condition")
	}
	c := &Cond{Unless: words[0] == "unless", Line: line}
	var sc *Scope
	if acls != nil {
		sc = acls.Scope
	}
	var suite []condTerm
	for i := 1; i < len(words); i++ {
		w := words[i]
		if w == "" {
			break
		}
		if w == "or" || w == "||" {
			if len(suite) > 0 {
				c.suites = append(c.suites, suite)
			}
			suite = nil
			continue
		}
		neg := false
		if w == "!" {
			neg = true
			i++
			if i >= len(words) {
				break
			}
			w = words[i]
		} else if strings.HasPrefix(w, "!") {
			neg, w = true, w[1:]
		}
		if w == "{" {
			j := i + 1
			for j < len(words) && words[j] != "}" {
				j++
			}
			if j >= len(words) {
				return nil, 0, fmt.Errorf("missing closing '}' in condition")
			}
			e, err := parseACLExpr(words[i+1:j], sc)
			if err != nil {
				return nil, 0, err
			}
			suite = append(suite, condTerm{acl: &ACL{Name: "", terms: []*aclExpr{e}}, neg: neg, anon: true})
			i = j
			continue
		}
		a, ok := acls.Lookup(w)
		if !ok {
			return nil, 0, fmt.Errorf("no such ACL : '%s'", w)
		}
		suite = append(suite, condTerm{acl: a, neg: neg})
	}
	if len(suite) > 0 {
		c.suites = append(c.suites, suite)
	}
	return c, len(words), nil
}

// Eval evaluates the condition. mayChange is true when the result could
// change with more data (an ACL missed for lack of it): a tcp-request
// content rule then waits, other callers take match as final.
func (c *Cond) Eval(ctx *Ctx) (match bool, mayChange bool) {
	if c == nil {
		return true, false
	}
	res := aclFail
	for _, suite := range c.suites {
		sres := aclPass
		for _, t := range suite {
			r := t.acl.execUsable(ctx, t.unusable)
			if t.neg {
				switch r {
				case aclPass:
					r = aclFail
				case aclFail:
					r = aclPass
				}
			}
			if r == aclFail {
				sres = aclFail
				break
			}
			if r == aclMiss {
				sres = aclMiss
			}
		}
		if sres == aclPass {
			res = aclPass
			break
		}
		if sres == aclMiss {
			res = aclMiss
		}
	}
	if res == aclMiss {
		return false, true
	}
	return (res == aclPass) != c.Unless, false
}

// Use returns where the condition's fetches take their information from.
func (c *Cond) Use() Use {
	var u Use
	for _, s := range c.suites {
		for _, t := range s {
			u |= t.acl.Use()
		}
	}
	return u
}

// Check returns HAProxy's warning when an ACL of the condition can never
// match at the evaluation points where (empty when fine): "acl 'x' will
// never match because it only involves keywords that are incompatible with
// 'frontend http-request header rule'" or "anonymous acl will never match
// because it uses keyword 'res.hdr' which is incompatible with '...'". In
// HAProxy these are warnings, not errors.
func (c *Cond) Check(where Where) string {
	for _, s := range c.suites {
		for _, t := range s {
			for _, e := range t.acl.terms {
				if e.expr.fetch.Use.Val()&where != 0 {
					continue
				}
				if t.anon {
					return fmt.Sprintf("anonymous acl will never match because it uses keyword '%s' which is incompatible with '%s'", e.expr.fetch.Name, where)
				}
				if t.acl.Use().Val()&where == 0 {
					return fmt.Sprintf("acl '%s' will never match because it only involves keywords that are incompatible with '%s'", t.acl.Name, where)
				}
			}
		}
	}
	return ""
}

// Restrict makes the ACL expressions of the condition whose fetch cannot
// work at the evaluation points where never match, as in HAProxy where
// such a fetch finds nothing; it returns Check's warning.
func (c *Cond) Restrict(where Where) string {
	w := c.Check(where)
	if w == "" {
		return ""
	}
	for _, s := range c.suites {
		for i := range s {
			t := &s[i]
			for j, e := range t.acl.terms {
				if e.expr.fetch.Use.Val()&where == 0 {
					if t.unusable == nil {
						t.unusable = make([]bool, len(t.acl.terms))
					}
					t.unusable[j] = true
				}
			}
		}
	}
	return w
}

var predef struct {
	once sync.Once
	m    map[string]*ACL
}

var predefText = map[string]string{
	"FALSE":          "always_false",
	"HTTP":           "req.proto_http",
	"HTTP_1.0":       "req.ver 1.0",
	"HTTP_1.1":       "req.ver 1.1",
	"HTTP_2.0":       "req.ver 2.0",
	"HTTP_3.0":       "req.ver 3.0",
	"HTTP_CONTENT":   "req.hdr_val(content-length) gt 0",
	"HTTP_URL_ABS":   "url_reg ^[^/:]*://",
	"HTTP_URL_SLASH": "url_beg /",
	"HTTP_URL_STAR":  "url *",
	"LOCALHOST":      "src 127.0.0.1/8 ::1",
	"METH_CONNECT":   "method CONNECT",
	"METH_DELETE":    "method DELETE",
	"METH_GET":       "method GET HEAD",
	"METH_HEAD":      "method HEAD",
	"METH_OPTIONS":   "method OPTIONS",
	"METH_POST":      "method POST",
	"METH_PUT":       "method PUT",
	"METH_TRACE":     "method TRACE",
	"RDP_COOKIE":     "req.rdp_cookie_cnt gt 0",
	"REQ_CONTENT":    "req.len gt 0",
	"TRUE":           "always_true",
	"WAIT_END":       "wait_end",
}

// PredefinedACLs returns the names of the pre-defined ACLs (manual 7.4).
func PredefinedACLs() []string {
	out := make([]string, 0, len(predefText))
	for k := range predefText {
		out = append(out, k)
	}
	return out
}

func predefinedACL(name string) (*ACL, bool) {
	predef.once.Do(func() {
		predef.m = map[string]*ACL{}
		for n, text := range predefText {
			e, err := parseACLExpr(strings.Fields(text), nil)
			if err != nil {
				panic("sample: predefined ACL " + n + ": " + err.Error())
			}
			predef.m[n] = &ACL{Name: n, terms: []*aclExpr{e}}
		}
	})
	a, ok := predef.m[name]
	return a, ok
}

func init() {
	RegisterFetch(&Fetch{Name: "wait_end", Out: TypeBool, Use: UseIntrn, Fn: func(ctx *Ctx, _ []Arg) (Sample, bool) {
		if ctx.Final {
			return Bool(true), true
		}
		return Sample{Flags: MayChange}, false
	}})
}
