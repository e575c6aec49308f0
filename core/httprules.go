package core

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"regexp/syntax"
	"strings"

	"luaproxy/core/config"
	"luaproxy/core/sample"
	"luaproxy/netio/h1"
)

// Condition is a rule's "if"/"unless" condition.
type Condition interface {
	// Eval tells whether the condition matches; mayChange is set when
	// the answer could change with more data (tcp-request content rules
	// then wait, up to the inspect-delay).
	Eval(s *Stream) (match, mayChange bool)
}

// Format is a log-format string ("%[req.hdr(host)]" ...) rendered for a
// stream.
type Format interface {
	Render(s *Stream) string
}

// literal is a format without any % expression.
type literal string

func (l literal) Render(*Stream) string { return string(l) }

// ParseCondition parses "if|unless <cond>" (words[0] is "if" or
// "unless"); the match it returns accounts for "unless". It is set by
// the sample-language glue; n is the words consumed.
var ParseCondition = func(e *Engine, px *Proxy, words []string, l config.Line) (Condition, int, error) {
	return nil, 0, errors.New("conditions are not supported")
}

// ParseFormat parses a log-format string; set by the sample-language glue.
var ParseFormat = func(e *Engine, px *Proxy, s string, l config.Line) (Format, error) {
	if strings.Contains(s, "%[") {
		return nil, l.Errorf("sample expressions in '%s' are not supported yet", s)
	}
	return literal(strings.ReplaceAll(s, "%%", "%")), nil
}

// condRule is a rule's optional condition.
type condRule struct {
	cond Condition
}

func (c condRule) ok(s *Stream) bool {
	if c.cond == nil {
		return true
	}
	m, _ := c.cond.Eval(s)
	return m
}

// parseCond parses an optional trailing "if|unless <cond>", reporting its
// errors in luaproxy's words (stick rules).
func (e *Engine) parseCond(px *Proxy, words []string, l config.Line) (condRule, error) {
	return e.parseCondWith(px, words, l,
		func(w string) error {
			return l.Errorf("unexpected word '%s'; expects 'if' or 'unless' followed by a condition", w)
		},
		func(err error) error { return l.Errorf("error detected while parsing a condition : %v", err) })
}

// parseRuleCond parses the optional condition of an http-* or tcp-*
// rule whose action keyword is kw, with HAProxy's messages.
func (e *Engine) parseRuleCond(px *Proxy, rs RuleSet, kw string, words []string, l config.Line) (condRule, error) {
	if rs.isTCP() {
		return e.parseCondWith(px, words, l,
			func(w string) error {
				return l.Errorf("'%s %s' only accepts 'if' or 'unless', in %s (got '%s')", rs, kw, pxType(px), w)
			},
			func(err error) error {
				return l.Errorf("'%s %s' : error detected in %s while parsing '%s' condition : %v", rs, kw, pxType(px), words[0], err)
			})
	}
	return e.parseCondWith(px, words, l,
		func(w string) error {
			return l.TightErrorf("'%s %s' expects either 'if' or 'unless' followed by a condition but found '%s'.", rs, kw, w)
		},
		func(err error) error {
			return l.Errorf("error detected while parsing an '%s %s' condition : %v.", rs, kw, err)
		})
}

// parseCondWith parses an optional trailing "if|unless <cond>": extra
// reports a word that is neither, bad an error of the condition.
func (e *Engine) parseCondWith(px *Proxy, words []string, l config.Line, extra func(string) error, bad func(error) error) (condRule, error) {
	if len(words) == 0 || words[0] == "" {
		return condRule{}, nil
	}
	if words[0] != "if" && words[0] != "unless" {
		return condRule{}, extra(words[0])
	}
	if len(words) == 1 || words[1] == "" {
		// HAProxy compat: an empty condition is valid; it never
		// matches, so "unless" always does
		return condRule{cond: emptyCond(words[0] == "unless")}, nil
	}
	c, n, err := ParseCondition(e, px, words, l)
	if err != nil {
		return condRule{}, bad(err)
	}
	if n != len(words) {
		return condRule{}, l.Errorf("unexpected word '%s' after the condition", words[n])
	}
	return condRule{cond: c}, nil
}

// emptyCond is the condition "if" or "unless" without terms; true is
// "unless".
type emptyCond bool

func (c emptyCond) Eval(*Stream) (bool, bool) { return bool(c), false }

// UseBackend is a "use_backend <name> [if|unless <cond>]" rule.
type UseBackend struct {
	condRule
	name    Format
	static  *Proxy
	dynamic bool
	eng     *Engine
}

func (u *UseBackend) match(s *Stream) bool { return u.ok(s) }

func (u *UseBackend) backend(s *Stream) *Proxy {
	if !u.dynamic {
		return u.static
	}
	return u.eng.backends[u.name.Render(s)]
}

func (e *Engine) parseUseBackend(px *Proxy, l config.Line) error {
	if len(l.Args) < 2 {
		return l.Errorf("'use_backend' requires a backend name.")
	}
	c, err := e.parseCondWith(px, l.Args[2:], l,
		func(w string) error {
			return l.Errorf("unexpected word '%s'; expects 'if' or 'unless' followed by a condition", w)
		},
		func(err error) error { return l.Errorf("error detected while parsing switching rule : %v.", err) })
	if err != nil {
		return err
	}
	ub := &UseBackend{condRule: c, eng: e}
	if strings.Contains(l.Args[1], "%[") {
		f, err := ParseFormat(e, px, l.Args[1], l)
		if err != nil {
			return err
		}
		ub.name, ub.dynamic = f, true
	} else {
		ub.name = literal(l.Args[1])
	}
	px.UseBackends = append(px.UseBackends, ub)
	return nil
}

// resolveUseBackends binds static use_backend names once all proxies exist.
func (e *Engine) resolveUseBackends(px *Proxy) error {
	for _, ub := range px.UseBackends {
		if ub.dynamic {
			continue
		}
		name := ub.name.Render(nil)
		ub.static = e.backends[name]
		if ub.static == nil {
			return fmt.Errorf("Proxy '%s': unable to find required use_backend: '%s'.", px.Name, name)
		}
	}
	return nil
}

// httpAction is a parsed HTTP rule action; it returns the verdict and, for
// Done, the reply to send (nil: close silently).
type httpAction func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply)

// httpRule is one http-request/http-response/http-after-response rule.
type httpRule struct {
	condRule
	act  httpAction
	line config.Line
}

// actionAdapter runs a registered (e.g. Lua) action in an HTTP rule set.
func actionAdapter(a Action) httpAction {
	return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
		v := a.Do(s)
		if v == Done && tx.Reply != nil {
			r := tx.Reply
			tx.Reply = nil
			return Done, r
		}
		if v == Reject {
			return Done, nil
		}
		return v, nil
	}
}

// parseHTTPRule parses "http-request|http-response|http-after-response <action> ...".
func (e *Engine) parseHTTPRule(px *Proxy, l config.Line) error {
	rs := RuleSet(l.Args[0])
	args := l.Args[1:]
	if len(args) == 0 || args[0] == "" {
		return unknownActionError(px, rs, "", l)
	}
	if err := checkActionKeyword(px, rs, args[0], l); err != nil {
		return err
	}
	act, n, err := e.parseHTTPAction(px, rs, args, l)
	if err != nil {
		return err
	}
	c, err := e.parseRuleCond(px, rs, args[0], args[n:], l)
	if err != nil {
		return err
	}
	if sc, ok := c.cond.(smpCond); ok {
		if w := sc.c.Restrict(ruleWhere(px, rs)); w != "" {
			e.warn(l.Warnf("%s", w))
		}
	}
	px.HTTPRules[rs] = append(px.HTTPRules[rs], &httpRule{condRule: c, act: act, line: l})
	return nil
}

// untilCond returns the words before "if"/"unless".
func untilCond(args []string) []string {
	for i, a := range args {
		if a == "if" || a == "unless" {
			return args[:i]
		}
	}
	return args
}

func (e *Engine) parseHTTPAction(px *Proxy, rs RuleSet, args []string, l config.Line) (httpAction, int, error) {
	words := untilCond(args)
	kw := words[0]
	fmtArg := func(i int) (Format, error) {
		return e.parseRuleFormat(px, rs, kw, words[i], l)
	}
	rerr := func(format string, a ...any) (httpAction, int, error) {
		return nil, 0, ruleErrorf(px, rs, kw, l, format, a...)
	}
	msgOf := func(s *Stream, tx *HTTPTxn, res bool) *h1.Message {
		if res {
			return &tx.Res
		}
		return &tx.Req
	}
	switch kw {
	case "allow":
		return func(*Stream, *HTTPTxn, bool) (Verdict, *Reply) { return Stop, nil }, 1, nil
	case "deny", "tarpit":
		status := 403
		if rs != HTTPRequest {
			status = 502
		}
		return e.parseReturn(px, rs, kw, words, l, status)
	case "reject":
		return func(*Stream, *HTTPTxn, bool) (Verdict, *Reply) { return Done, nil }, 1, nil
	case "return", "redirect":
		var (
			act httpAction
			n   int
			err error
		)
		if kw == "return" {
			act, n, err = e.parseReturn(px, rs, kw, words, l, 200)
		} else {
			act, n, err = e.parseRedirect(px, rs, words, l)
		}
		if err != nil {
			return nil, 0, err
		}
		// HAProxy compat: a return or a redirect counts as intercepted
		// by the frontend
		return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
			v, r := act(s, tx, res)
			if r != nil {
				s.Frontend.Intercepted.Add(1)
			}
			return v, r
		}, n, nil
	case "auth":
		return parseAuth(px, rs, words, l)
	case "set-header", "add-header":
		if len(words) < 3 || words[1] == "" || words[2] == "" {
			return rerr("expects exactly 2 arguments")
		}
		name := words[1]
		f, err := fmtArg(2)
		if err != nil {
			return nil, 0, err
		}
		set := kw == "set-header"
		return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
			m := msgOf(s, tx, res)
			v := f.Render(s)
			if set {
				m.Del(name)
			}
			m.Add(name, v)
			return Continue, nil
		}, 3, nil
	case "del-header":
		if len(words) < 2 || words[1] == "" {
			return rerr("expects at least 1 argument")
		}
		name := words[1]
		if len(words) < 3 || words[2] != "-m" {
			return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
				msgOf(s, tx, res).Del(name)
				return Continue, nil
			}, 2, nil
		}
		if len(words) < 4 || words[3] == "" {
			return rerr("-m flag expects exactly 1 argument")
		}
		match, err := headerNameMatcher(name, words[2:4])
		if err != nil {
			return rerr("%v", err)
		}
		if match == nil { // "-m str"
			return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
				msgOf(s, tx, res).Del(name)
				return Continue, nil
			}, 4, nil
		}
		return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
			m := msgOf(s, tx, res)
			kept := m.Headers[:0]
			for _, h := range m.Headers {
				if !match(h.Name) {
					kept = append(kept, h)
				}
			}
			clear(m.Headers[len(kept):])
			m.Headers = kept
			return Continue, nil
		}, 4, nil
	case "replace-header", "replace-value":
		if len(words) < 4 || words[1] == "" || words[2] == "" || words[3] == "" {
			return rerr("expects exactly 3 arguments")
		}
		name := words[1]
		re, err := regexp.Compile(words[2])
		if err != nil {
			return rerr("%s", regexError(words[2], err))
		}
		f, err := fmtArg(3)
		if err != nil {
			return nil, 0, err
		}
		perValue := kw == "replace-value"
		return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
			replaceHeader(msgOf(s, tx, res), name, re, f.Render(s), perValue)
			return Continue, nil
		}, 4, nil
	case "set-path", "set-query", "set-uri", "set-method", "set-pathq":
		if len(words) != 2 || words[1] == "" {
			return rerr("expects exactly 1 argument <format>")
		}
		f, err := fmtArg(1)
		if err != nil {
			return nil, 0, err
		}
		return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
			v := f.Render(s)
			m := &tx.Req
			switch kw {
			case "set-method":
				SetMethod(m, v)
			case "set-uri":
				SetURI(m, v)
			case "set-path":
				SetPath(m, v)
			case "set-pathq":
				m.URI = v
			case "set-query":
				SetQuery(m, v)
			}
			return Continue, nil
		}, 2, nil
	case "replace-path", "replace-pathq", "replace-uri":
		if len(words) != 3 || words[1] == "" || words[2] == "" {
			return rerr("expects exactly 2 arguments <match-regex> and <replace-format>")
		}
		re, err := regexp.Compile(words[1])
		if err != nil {
			return rerr("failed to parse the regex : %s", regexError(words[1], err))
		}
		f, err := fmtArg(2)
		if err != nil {
			return nil, 0, err
		}
		return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
			// As replace-header: when the regex matches, the whole part
			// becomes the format with its \N references expanded.
			m := &tx.Req
			switch kw {
			case "replace-uri", "replace-pathq":
				if re.MatchString(m.URI) {
					m.URI = replaceRegex(re, m.URI, f.Render(s))
				}
			default:
				if p := m.Path(); re.MatchString(p) {
					SetPath(m, replaceRegex(re, p, f.Render(s)))
				}
			}
			return Continue, nil
		}, 3, nil
	case "set-status":
		if len(words) < 2 || words[1] == "" {
			return rerr("expects 1 argument: <status>; or 3 arguments: <status> reason <fmt>")
		}
		code := cAtoi(words[1])
		if code < 100 || code > 999 {
			return rerr("expects an integer status code between 100 and 999")
		}
		reason := ""
		n := 2
		if len(words) >= 4 && words[2] == "reason" {
			reason, n = words[3], 4
		}
		return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
			tx.Res.Status = code
			tx.Res.Reason = reason
			if reason == "" {
				tx.Res.Reason = statusReason(code)
			}
			tx.Status = code
			return Continue, nil
		}, n, nil
	case "use-service":
		act, n, err := e.parseAction(px, rs, words, l)
		if err != nil {
			return nil, 0, err
		}
		return actionAdapter(act), n, nil
	}
	if act, n, ok, err := e.parseExtAction(px, rs, words, l); ok {
		if err != nil {
			return nil, 0, err
		}
		return actionAdapter(act), n, nil
	}
	if p, ok := lookupHTTPAction(kw); ok {
		return p(e, px, rs, words, l)
	}
	if p, ok := lookupAction(kw); ok {
		act, n, err := p(e, px, rs, words, l)
		if errors.Is(err, ErrUnknownAction) {
			return nil, 0, unknownActionError(px, rs, kw, l)
		}
		if err != nil {
			return nil, 0, err
		}
		return actionAdapter(act), n, nil
	}
	return nil, 0, unregisteredActionError(px, rs, kw, l)
}

// cAtoi is C's atoi, as HAProxy reads status codes: the leading digits,
// 0 without any.
func cAtoi(s string) int {
	n, neg, i := 0, false, 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg, i = s[i] == '-', i+1
	}
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1e9; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

// defaultErrorStatus tells whether HAProxy has a default error message
// for status (deny_status accepts only those).
func defaultErrorStatus(status int) bool {
	switch status {
	case 200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504:
		return true
	}
	return false
}

// regexError is HAProxy's (PCRE's) message for a regex that does not
// compile: "regex '<re>' is invalid (error=<why>, erroffset=<n>)". Go's
// reasons are translated for the common mistakes.
func regexError(re string, err error) string {
	why, off := err.Error(), len(re)
	var se *syntax.Error
	if errors.As(err, &se) {
		why = string(se.Code)
		switch se.Code {
		case syntax.ErrTrailingBackslash:
			why = "\\ at end of pattern"
		case syntax.ErrMissingParen:
			why = "missing closing parenthesis"
		case syntax.ErrUnexpectedParen:
			why, off = "unmatched closing parenthesis", strings.IndexByte(re, ')')
		case syntax.ErrMissingBracket:
			why = "missing terminating ] for character class"
		case syntax.ErrMissingRepeatArgument:
			why, off = "quantifier does not follow a repeatable item", max(strings.Index(re, se.Expr), 0)
		case syntax.ErrInvalidRepeatSize:
			why = "numbers out of order in {} quantifier"
			if i := strings.Index(re, se.Expr); i >= 0 {
				off = i + len(se.Expr) - 1
			}
		}
	}
	return fmt.Sprintf("regex '%s' is invalid (error=%s, erroffset=%d)", re, why, off)
}

// headerNameMatcher parses the "-m <meth>" of del-header: nil for the
// default exact match. Names compare case-insensitively; a regex sees
// them lower-cased, as HAProxy stores them.
func headerNameMatcher(name string, rest []string) (func(string) bool, error) {
	if len(rest) == 0 {
		return nil, nil
	}
	if rest[0] != "-m" || len(rest) < 2 {
		return nil, fmt.Errorf("unexpected argument '%s'", rest[0])
	}
	if len(rest) > 2 {
		return nil, fmt.Errorf("unexpected argument '%s'", rest[2])
	}
	lname := strings.ToLower(name)
	switch rest[1] {
	case "str":
		return nil, nil
	case "beg":
		return func(h string) bool { return strings.HasPrefix(strings.ToLower(h), lname) }, nil
	case "end":
		return func(h string) bool { return strings.HasSuffix(strings.ToLower(h), lname) }, nil
	case "sub":
		return func(h string) bool { return strings.Contains(strings.ToLower(h), lname) }, nil
	case "reg":
		re, err := regexp.Compile(name)
		if err != nil {
			return nil, fmt.Errorf("invalid regex '%s' : %v", name, err)
		}
		return func(h string) bool { return re.MatchString(strings.ToLower(h)) }, nil
	}
	return nil, fmt.Errorf("-m with unsupported matching method '%s'", rest[1])
}

// ReplaceHeader applies a regex replacement to the headers named name:
// to the whole value, or to each comma-separated value (perValue), as
// replace-header / replace-value and Lua's req_rep_header do.
func ReplaceHeader(m *h1.Message, name, re, repl string, perValue bool) error {
	rx, err := regexp.Compile(re)
	if err != nil {
		return err
	}
	replaceHeader(m, name, rx, repl, perValue)
	return nil
}

// replaceHeader replaces, as HAProxy does, each value (or each
// comma-separated element) that re matches somewhere with repl, where \N
// is the Nth group of the match. An element that changes loses the
// blanks before it: "a, b" becomes "a,B".
func replaceHeader(m *h1.Message, name string, re *regexp.Regexp, repl string, perValue bool) {
	for i := range m.Headers {
		h := &m.Headers[i]
		if !strings.EqualFold(h.Name, name) {
			continue
		}
		if !perValue {
			h.Value = replaceRegex(re, h.Value, repl)
			continue
		}
		parts := strings.Split(h.Value, ",")
		for j, p := range parts {
			v := strings.Trim(p, " \t")
			if r := replaceRegex(re, v, repl); r != v || re.MatchString(v) {
				parts[j] = r
			}
		}
		h.Value = strings.Join(parts, ",")
	}
}

// SetURI replaces the URI of a request. HAProxy compat
// (http_replace_req_uri): an absolute URI's authority becomes the value
// of the Host header.
func SetURI(m *h1.Message, uri string) {
	m.URI = uri
	if i := strings.Index(uri, "://"); i > 0 && !strings.ContainsAny(uri[:i], "/?") {
		auth := uri[i+3:]
		if j := strings.IndexAny(auth, "/?"); j >= 0 {
			auth = auth[:j]
		}
		if _, ok := m.Get("host"); ok && auth != "" {
			m.Del("host")
			m.Add("host", auth)
		}
	}
}

// SetMethod replaces the method of a request, keeping the one received
// in m.RecvMethod.
func SetMethod(m *h1.Message, method string) {
	if m.RecvMethod == "" {
		m.RecvMethod = m.Method
	}
	m.Method = method
}

// SetPath replaces the path of a request URI, keeping its query string.
func SetPath(m *h1.Message, path string) {
	q, hasQ := m.Query()
	m.URI = path
	if hasQ {
		m.URI += "?" + q
	}
}

// SetQuery replaces the query string of a request URI ("" empties it).
//
// HAProxy compat (http_replace_req_query): an empty query keeps the '?'
// of a URI that has one, and a leading '?' in q is part of the query.
func SetQuery(m *h1.Message, q string) {
	p := m.URI
	hadQ := false
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p, hadQ = p[:i], true
	}
	if q != "" || hadQ {
		p += "?" + q
	}
	m.URI = p
}

// statusReason is HAProxy's http_get_reason: the standard reason, else
// one per status class.
func statusReason(code int) string {
	if r := Reason(code); r != "" && r != "Unknown" {
		return r
	}
	return ClassReason(code)
}

// ClassReason is the reason HAProxy gives a status without a standard
// phrase: one per class ("Success", "Client Error", ..., "Other").
func ClassReason(code int) string {
	switch {
	case code >= 100 && code < 200:
		return "Informational"
	case code >= 200 && code < 300:
		return "Success"
	case code >= 300 && code < 400:
		return "Redirection"
	case code >= 400 && code < 500:
		return "Client Error"
	case code >= 500 && code < 600:
		return "Server Error"
	}
	return "Other"
}

// replaceRegex replaces the whole value v with repl when re matches
// somewhere in it, expanding \1..\9 from the match.
func replaceRegex(re *regexp.Regexp, v, repl string) string {
	m := re.FindStringSubmatchIndex(v)
	if m == nil {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c == '\\' && i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9' {
			g := int(repl[i+1] - '0')
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				b.WriteString(v[m[2*g]:m[2*g+1]])
			}
			i++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// replyHdr is a "hdr <name> <fmt>" argument of an HTTP reply.
type replyHdr struct {
	name string
	val  Format
}

// replySpec is a parsed HTTP reply (HAProxy's http_reply): the arguments
// of return, deny and tarpit rules and of "http-error".
type replySpec struct {
	status int
	// statusKw: the status was set by "status" (deny_status is the
	// legacy spelling, which keeps the error message).
	statusKw bool
	ctype    string
	body     Format
	hasBody  bool
	hdrs     []replyHdr
	// raw is the file of "errorfile", sent as it is; errorfiles the
	// http-errors section named by "errorfiles".
	raw        []byte
	errorfiles string
	payload    string // the payload keyword, "" for none
}

// parseReplyArgs parses the words of an HTTP reply from w[1:]: "[status
// N] [content-type T] [string S | lf-string F | file F | lf-file F |
// errorfile F | errorfiles N] [hdr N V]...". It stops at the first word
// it does not know and returns its index. Messages go through fail; fmtOf
// parses a log-format argument.
func (e *Engine) parseReplyArgs(w []string, status int, deny bool, fail func(format string, a ...any) error,
	fmtOf func(string) (Format, error), warn func(format string, a ...any)) (*replySpec, int, error) {
	r := &replySpec{status: status, body: literal("")}
	i := 1
loop:
	for ; i < len(w); i++ {
		// HAProxy compat: an empty word ends the arguments (a C string)
		arg := func() (string, bool) {
			if i+1 >= len(w) || w[i+1] == "" {
				return "", false
			}
			i++
			return w[i], true
		}
		arg0 := w[i]
		legacy := deny && arg0 == "deny_status"
		if legacy {
			arg0 = "status"
		}
		switch kw := arg0; kw {
		case "status":
			v, ok := arg()
			if !ok {
				return nil, 0, fail("'status' expects <status_code> as argument")
			}
			n := cAtoi(v)
			if n < 200 || n > 599 {
				return nil, 0, fail("Unexpected status code '%d'", n)
			}
			r.status, r.statusKw = n, !legacy
		case "content-type":
			v, ok := arg()
			if !ok {
				return nil, 0, fail("'content-type' expects <ctype> as argument")
			}
			r.ctype = v
		case "string", "lf-string", "file", "lf-file", "errorfile", "errorfiles":
			what := map[string]string{"string": "<str>", "lf-string": "<fmt>", "file": "<file>", "lf-file": "<file>",
				"errorfile": "<fmt>", "errorfiles": "<name>"}[kw]
			if r.payload != "" {
				return nil, 0, fail("unexpected '%s' argument, '%s' already defined", kw, r.payload)
			}
			r.payload = kw
			v, ok := arg()
			if !ok {
				return nil, 0, fail("'%s' expects %s as argument", kw, what)
			}
			var err error
			switch kw {
			case "string":
				r.body = literal(v)
				r.hasBody = true
			case "lf-string":
				if r.body, err = fmtOf(v); err != nil {
					return nil, 0, err
				}
				r.hasBody = true
			case "errorfiles":
				r.errorfiles = v
			case "file", "lf-file", "errorfile":
				b, err := os.ReadFile(v)
				if err != nil {
					if kw == "errorfile" {
						return nil, 0, fail("error opening file '%s'.", v)
					}
					return nil, 0, fail("error opening file '%s'", v)
				}
				switch kw {
				case "lf-file":
					if r.body, err = fmtOf(string(b)); err != nil {
						return nil, 0, err
					}
					r.hasBody = true
				case "errorfile":
					r.raw = lowerHeaderNames(b)
				default:
					r.body = literal(b)
					r.hasBody = true
				}
			}
		case "hdr":
			if i+2 >= len(w) || w[i+1] == "" || w[i+2] == "" {
				return nil, 0, fail("'hdr' expects <name> and <value> as arguments")
			}
			f, err := fmtOf(w[i+2])
			if err != nil {
				return nil, 0, err
			}
			r.hdrs = append(r.hdrs, replyHdr{w[i+1], f})
			i += 2
		default:
			break loop // the rule's condition, or a word it reports
		}
	}
	if r.raw != nil || r.errorfiles != "" {
		// HAProxy compat: the message is the file's, as it is
		if r.ctype != "" {
			warn("content-type '%s' ignored by the http reply when used with an erorrfile.", r.ctype)
			r.ctype = ""
		}
		if len(r.hdrs) > 0 {
			warn("hdr parameters ignored by the http reply when used with an erorrfile.")
			r.hdrs = nil
		}
		return r, i, nil
	}
	if r.hasBody && r.ctype == "" {
		return nil, 0, fail("a content type must be defined when non-empty payload is configured")
	}
	return r, i, nil
}

// errorMessage tells whether the reply is the proxy's error message for
// its status: a deny or tarpit rule without any argument but deny_status.
// HAProxy 2.6 compat: "status N" alone answers an empty message.
func (r *replySpec) errorMessage(deny bool) bool {
	return deny && !r.statusKw && r.payload == "" && r.ctype == "" && len(r.hdrs) == 0
}

// render builds the reply for stream s (nil for a reply whose formats
// are all literal).
func (r *replySpec) render(s *Stream) *Reply {
	if r.raw != nil {
		return &Reply{Status: r.status, Raw: r.raw}
	}
	// HAProxy compat: the standard reason, not its error pages' spelling
	reason := http.StatusText(r.status)
	if reason == "" {
		reason = ClassReason(r.status)
	}
	rep := &Reply{Status: r.status, Reason: reason, Body: []byte(r.body.Render(s))}
	for _, h := range r.hdrs {
		rep.Headers = append(rep.Headers, h1.Header{Name: h.name, Value: h.val.Render(s)})
	}
	if r.ctype != "" { // after the "hdr" ones, as HAProxy writes them
		rep.Headers = append(rep.Headers, h1.Header{Name: "content-type", Value: r.ctype})
	}
	return rep
}

// parseReturn parses the reply of "return", "deny" and "tarpit" rules
// (parseReplyArgs). deny and tarpit also spell status deny_status;
// without any argument they answer the proxy's error message for the
// status, which must then be one HAProxy has.
func (e *Engine) parseReturn(px *Proxy, rs RuleSet, kw string, w []string, l config.Line, status int) (httpAction, int, error) {
	deny := kw != "return"
	fail := func(format string, a ...any) error { return ruleErrorf(px, rs, kw, l, format, a...) }
	fmtOf := func(v string) (Format, error) { return e.parseRuleFormat(px, rs, kw, v, l) }
	warn := func(format string, a ...any) { e.warn(l.Warnf(format, a...)) }
	r, i, err := e.parseReplyArgs(w, status, deny, fail, fmtOf, warn)
	if err != nil {
		return nil, 0, err
	}
	if r.errorMessage(deny) {
		if !defaultErrorStatus(r.status) {
			return nil, 0, fail("status code '%d' not handled by default with 'default-errorfiles' argument.", r.status)
		}
		return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
			return Done, s.ErrorReply(r.status)
		}, i, nil
	}
	if r.errorfiles != "" {
		rep, err := e.errorfilesReply(px, r.errorfiles, r.status)
		if err != nil {
			return nil, 0, err
		}
		return func(*Stream, *HTTPTxn, bool) (Verdict, *Reply) { return Done, rep.clone() }, i, nil
	}
	return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
		return Done, r.render(s)
	}, i, nil
}

// parseRedirect parses "redirect location|prefix|scheme <fmt> [code N]
// [drop-query] [append-slash] [ignore-empty] [set-cookie X] [clear-cookie X]".
func (e *Engine) parseRedirect(px *Proxy, rs RuleSet, w []string, l config.Line) (httpAction, int, error) {
	rerr := func(format string, a ...any) (httpAction, int, error) {
		return nil, 0, ruleErrorf(px, rs, "redirect", l, format, a...)
	}
	var kind, tgt string
	code := 302
	dropQuery, appendSlash, ignoreEmpty := false, false, false
	var cookie string
	i := 1
	for ; i < len(w) && w[i] != ""; i++ {
		// HAProxy compat: an empty word ends the arguments (a C string)
		arg := func() (string, bool) {
			if i+1 >= len(w) || w[i+1] == "" {
				return "", false
			}
			i++
			return w[i], true
		}
		switch kw := w[i]; kw {
		case "location", "prefix", "scheme":
			v, ok := arg()
			if !ok {
				return rerr("missing argument for '%s'", kw)
			}
			kind, tgt = kw, v
		case "code":
			v, ok := arg()
			if !ok {
				return rerr("missing argument for '%s'", kw)
			}
			n := cAtoi(v)
			if n < 301 || n > 308 || n == 304 || n == 305 || n == 306 {
				return rerr("'%s': unsupported HTTP code '%s' (must be one of 301, 302, 303, 307 or 308)", kw, v)
			}
			code = n
		case "drop-query":
			dropQuery = true
		case "append-slash":
			appendSlash = true
		case "ignore-empty":
			ignoreEmpty = true
		case "set-cookie", "clear-cookie":
			v, ok := arg()
			if !ok {
				return rerr("missing argument for '%s'", kw)
			}
			if kw == "set-cookie" {
				cookie = v + "; path=/;"
			} else {
				cookie = v + "; path=/; Max-Age=0;"
			}
		case "if", "unless":
			goto done
		default:
			return rerr("expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was '%s')", kw)
		}
	}
done:
	if kind == "" {
		return rerr("redirection type expected ('prefix', 'location', or 'scheme')")
	}
	target, err := e.parseRuleFormat(px, rs, "redirect", tgt, l)
	if err != nil {
		return nil, 0, err
	}
	return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
		t := target.Render(s)
		if t == "" && ignoreEmpty {
			return Continue, nil
		}
		req := &tx.Req
		var loc string
		switch kind {
		case "location":
			loc = t
		case "prefix":
			uri := req.URI
			if dropQuery {
				if i := strings.IndexByte(uri, '?'); i >= 0 {
					uri = uri[:i]
				}
			}
			if appendSlash && !strings.HasSuffix(uri, "/") && !strings.Contains(uri, "?") {
				uri += "/"
			}
			if t == "/" {
				t = ""
			}
			loc = t + uri
		case "scheme":
			host, _ := req.Get("host")
			uri := req.URI
			if dropQuery {
				if i := strings.IndexByte(uri, '?'); i >= 0 {
					uri = uri[:i]
				}
			}
			loc = t + "://" + host + uri
		}
		r := &Reply{Status: code, Headers: []h1.Header{{Name: "location", Value: loc}}}
		if code == 302 || code == 303 || code == 307 {
			// HAProxy compat: temporary redirects must not be cached
			r.Headers = append(r.Headers, h1.Header{Name: "cache-control", Value: "no-cache"})
		}
		if cookie != "" {
			r.Headers = append(r.Headers, h1.Header{Name: "set-cookie", Value: cookie})
		}
		return Done, r
	}, i, nil
}

// runHTTPRules runs px's rules of set rs for the request; ok=false means
// processing ends with r (nil r: close without a response).
func (s *Stream) runHTTPRules(px *Proxy, rs RuleSet) (r *Reply, ok bool) {
	tx := s.HTTP
	if rs == HTTPRequest && px == s.Frontend {
		s.requestSeen(tx)
	}
	rules := px.HTTPRules[rs]
	var redirects []*httpRule
	if rs == HTTPRequest {
		// the legacy "redirect" rules come after the http-request ones
		redirects = px.more.redirects
	}
	if len(rules)+len(redirects) == 0 {
		return nil, true
	}
	smp := s.SampleCtx()
	smp.Response = rs != HTTPRequest
	defer func() { smp.Response = false }()
	for _, list := range [2][]*httpRule{rules, redirects} {
		for _, rule := range list {
			if !rule.ok(s) {
				continue
			}
			mark := s.waitMark()
			v, rep := rule.act(s, tx, rs != HTTPRequest)
			s.ruleWaited(&rule.line, mark)
			if v != Continue {
				s.ruleRan(&rule.line)
			}
			switch v {
			case Continue:
			case Stop:
				return nil, true
			case Done, Reject:
				s.ruleTerm(rule, rs)
				return rep, false
			}
		}
	}
	return nil, true
}

// requestSeen notes, once per request, what the logs need from the
// request as received (its line, the time) and fills the header captures.
func (s *Stream) requestSeen(tx *HTTPTxn) {
	x := extOf(s)
	if x.seen {
		return
	}
	x.seen, x.reqAt = true, s.now()
	x.reqLine = tx.Req.Method + " " + tx.Req.URI + " " + tx.Req.Version
	s.captureHeaders(false)
}

// ruleTerm records the termination state of a rule that ended the
// transaction: "P" for deny/reject/tarpit, "L" for local answers; phase
// "R" in request rules, "H" in response ones.
func (s *Stream) ruleTerm(rule *httpRule, rs RuleSet) {
	cause := byte('L')
	if len(rule.line.Args) > 1 {
		switch rule.line.Args[1] {
		case "deny", "reject", "tarpit":
			cause = 'P'
		}
	}
	phase := byte('R')
	if rs != HTTPRequest {
		phase = 'H'
	}
	extOf(s).setTerm(cause, phase)
}

// runHTTPResponseRules runs the backend's, then the frontend's
// http-response rules.
func (s *Stream) runHTTPResponseRules() (*Reply, bool) {
	x := extOf(s)
	x.reqres.Clear() // the request's "req" variables end where the response starts
	x.reqresScope = sample.ScopeRes
	s.captureHeaders(true)
	if be := s.Backend; be != nil && be != s.Frontend {
		if r, ok := s.runHTTPRules(be, HTTPResponse); !ok {
			return r, false
		}
	}
	return s.runHTTPRules(s.Frontend, HTTPResponse)
}

// runServiceResponseRules runs the http-response rules on a service's
// response: as runHTTPResponseRules, without ending the "req" variables.
func (s *Stream) runServiceResponseRules() (*Reply, bool) {
	if be := s.Backend; be != nil && be != s.Frontend {
		if r, ok := s.runHTTPRules(be, HTTPResponse); !ok {
			return r, false
		}
	}
	return s.runHTTPRules(s.Frontend, HTTPResponse)
}

// runAfterResponse runs http-after-response rules (frontend then backend);
// they apply to every response, including the proxy's own.
func (s *Stream) runAfterResponse(tx *HTTPTxn) {
	_, _ = s.runHTTPRules(s.Frontend, HTTPAfterResponse)
	if be := s.Backend; be != nil && be != s.Frontend {
		_, _ = s.runHTTPRules(be, HTTPAfterResponse)
	}
}
