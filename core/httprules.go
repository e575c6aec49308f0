package core

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"luaproxy/core/config"
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
	return nil, 0, l.Errorf("conditions are not supported")
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

// parseCond parses an optional trailing "if|unless <cond>".
func (e *Engine) parseCond(px *Proxy, words []string, l config.Line) (condRule, error) {
	if len(words) == 0 {
		return condRule{}, nil
	}
	if words[0] != "if" && words[0] != "unless" {
		return condRule{}, l.Errorf("unexpected word '%s'; expects 'if' or 'unless' followed by a condition", words[0])
	}
	if len(words) == 1 {
		return condRule{}, l.Errorf("missing condition after '%s'", words[0])
	}
	c, n, err := ParseCondition(e, px, words, l)
	if err != nil {
		return condRule{}, err
	}
	if n != len(words) {
		return condRule{}, l.Errorf("unexpected word '%s' after the condition", words[n])
	}
	return condRule{cond: c}, nil
}

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
	c, err := e.parseCond(px, l.Args[2:], l)
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
	if len(args) == 0 {
		return l.Errorf("'%s' expects an action.", rs)
	}
	act, n, err := e.parseHTTPAction(px, rs, args, l)
	if err != nil {
		return err
	}
	c, err := e.parseCond(px, args[n:], l)
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
		if i >= len(words) {
			return nil, l.Errorf("'%s %s' expects more arguments.", rs, kw)
		}
		return e.parseRuleFormat(px, rs, kw, words[i], l)
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
		i := 1
		if len(words) > 2 && words[1] == "deny_status" {
			n, err := strconv.Atoi(words[2])
			if err != nil || n < 200 || n > 599 {
				return nil, 0, l.Errorf("'%s %s' : status code must be between 200 and 599.", rs, kw)
			}
			status, i = n, 3
		}
		if i != len(words) {
			return nil, 0, l.Errorf("'%s %s' : unexpected argument '%s'.", rs, kw, words[i])
		}
		return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
			return Done, s.Frontend.ErrorReply(status)
		}, i, nil
	case "reject":
		return func(*Stream, *HTTPTxn, bool) (Verdict, *Reply) { return Done, nil }, 1, nil
	case "return", "redirect":
		parse := e.parseReturn
		if kw == "redirect" {
			parse = e.parseRedirect
		}
		act, n, err := parse(px, rs, words, l)
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
	case "set-header", "add-header":
		if len(words) != 3 {
			return nil, 0, l.Errorf("'%s %s' expects exactly 2 arguments.", rs, kw)
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
		if len(words) < 2 {
			return nil, 0, l.Errorf("'%s %s' expects at least 1 argument.", rs, kw)
		}
		name := words[1]
		match, err := headerNameMatcher(name, words[2:])
		if err != nil {
			return nil, 0, ruleErrorf(px, rs, kw, l, "%v", err)
		}
		if match == nil {
			return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
				msgOf(s, tx, res).Del(name)
				return Continue, nil
			}, 2, nil
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
		if len(words) != 4 {
			return nil, 0, l.Errorf("'%s %s' expects exactly 3 arguments.", rs, kw)
		}
		name := words[1]
		re, err := regexp.Compile(words[2])
		if err != nil {
			return nil, 0, l.Errorf("'%s %s' : invalid regex '%s': %v", rs, kw, words[2], err)
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
		if rs != HTTPRequest {
			return nil, 0, l.Errorf("'%s %s' is only allowed in 'http-request' rules.", rs, kw)
		}
		if len(words) != 2 {
			return nil, 0, l.Errorf("'%s %s' expects exactly 1 argument.", rs, kw)
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
				m.Method = v
			case "set-uri":
				m.URI = v
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
		if rs != HTTPRequest {
			return nil, 0, l.Errorf("'%s %s' is only allowed in 'http-request' rules.", rs, kw)
		}
		if len(words) != 3 {
			return nil, 0, l.Errorf("'%s %s' expects exactly 2 arguments.", rs, kw)
		}
		re, err := regexp.Compile(words[1])
		if err != nil {
			return nil, 0, l.Errorf("'%s %s' : invalid regex '%s': %v", rs, kw, words[1], err)
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
		if rs == HTTPRequest {
			return nil, 0, l.Errorf("'%s %s' is only allowed in response rules.", rs, kw)
		}
		if len(words) < 2 {
			return nil, 0, l.Errorf("'%s %s' expects a status code.", rs, kw)
		}
		code, err := strconv.Atoi(words[1])
		if err != nil || code < 100 || code > 999 {
			return nil, 0, l.Errorf("'%s %s' expects an integer status code between 100 and 999.", rs, kw)
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
		if rs != HTTPRequest {
			return nil, 0, l.Errorf("'%s %s' is only allowed in 'http-request' rules.", rs, kw)
		}
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
		if err != nil {
			return nil, 0, err
		}
		return actionAdapter(act), n, nil
	}
	return nil, 0, l.Errorf("'%s' expects 'add-header', 'allow', 'del-header', 'deny', 'redirect', 'reject', 'replace-header', 'replace-value', 'return', 'set-header', 'set-method', 'set-path', 'set-query', 'set-status', 'set-uri', 'use-service', %s in %s (got '%s').",
		rs, strings.Join(actionNames(), ", "), px, kw)
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

// SetPath replaces the path of a request URI, keeping its query string.
func SetPath(m *h1.Message, path string) {
	q, hasQ := m.Query()
	m.URI = path
	if hasQ {
		m.URI += "?" + q
	}
}

// SetQuery replaces the query string of a request URI ("" removes it).
func SetQuery(m *h1.Message, q string) {
	p := m.URI
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if q != "" {
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

// parseReturn parses "return [status N] [content-type T] [string S |
// lf-string F | file F | lf-file F | errorfile F] [hdr N V]...".
func (e *Engine) parseReturn(px *Proxy, rs RuleSet, w []string, l config.Line) (httpAction, int, error) {
	status := 200
	ctype := ""
	var body Format = literal("")
	var hdrs []struct {
		name string
		val  Format
	}
	hasBody := false
	for i := 1; i < len(w); i++ {
		need := func() (string, error) {
			if i+1 >= len(w) {
				return "", l.Errorf("'%s return' : missing argument for '%s'.", rs, w[i])
			}
			i++
			return w[i], nil
		}
		switch w[i] {
		case "status":
			v, err := need()
			if err != nil {
				return nil, 0, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 200 || n > 599 {
				return nil, 0, l.Errorf("'%s return' : status code must be between 200 and 599.", rs)
			}
			status = n
		case "content-type":
			v, err := need()
			if err != nil {
				return nil, 0, err
			}
			ctype = v
		case "string", "lf-string", "file", "lf-file", "errorfile":
			kind := w[i]
			v, err := need()
			if err != nil {
				return nil, 0, err
			}
			switch kind {
			case "string":
				body = literal(v)
			case "lf-string":
				if body, err = e.parseRuleFormat(px, rs, "return", v, l); err != nil {
					return nil, 0, err
				}
			case "file", "lf-file", "errorfile":
				b, err := os.ReadFile(v)
				if err != nil {
					return nil, 0, l.Errorf("'%s return' : failed to open file '%s' : %v", rs, v, err)
				}
				if kind == "lf-file" {
					if body, err = e.parseRuleFormat(px, rs, "return", string(b), l); err != nil {
						return nil, 0, err
					}
				} else {
					body = literal(b)
				}
			}
			hasBody = true
		case "hdr":
			if i+2 >= len(w) {
				return nil, 0, l.Errorf("'%s return' : 'hdr' expects <name> and <fmt>.", rs)
			}
			f, err := e.parseRuleFormat(px, rs, "return", w[i+2], l)
			if err != nil {
				return nil, 0, err
			}
			hdrs = append(hdrs, struct {
				name string
				val  Format
			}{w[i+1], f})
			i += 2
		default:
			return nil, 0, l.Errorf("'%s return' : unexpected keyword '%s'.", rs, w[i])
		}
	}
	if hasBody && ctype == "" {
		return nil, 0, l.Errorf("'%s return' : a content-type must be specified with a payload.", rs)
	}
	return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
		r := &Reply{Status: status, Body: []byte(body.Render(s))}
		for _, h := range hdrs {
			r.Headers = append(r.Headers, h1.Header{Name: h.name, Value: h.val.Render(s)})
		}
		if ctype != "" { // after the "hdr" ones, as HAProxy writes them
			r.Headers = append(r.Headers, h1.Header{Name: "content-type", Value: ctype})
		}
		return Done, r
	}, len(w), nil
}

// parseRedirect parses "redirect location|prefix|scheme <fmt> [code N]
// [drop-query] [append-slash] [set-cookie X] [clear-cookie X]".
func (e *Engine) parseRedirect(px *Proxy, rs RuleSet, w []string, l config.Line) (httpAction, int, error) {
	if len(w) < 3 {
		return nil, 0, l.Errorf("'%s redirect' expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query' or 'append-slash' (was '%s').", rs, strings.Join(w[1:], " "))
	}
	kind := w[1]
	if kind != "location" && kind != "prefix" && kind != "scheme" {
		return nil, 0, l.Errorf("'%s redirect' expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query' or 'append-slash' (was '%s').", rs, kind)
	}
	target, err := e.parseRuleFormat(px, rs, "redirect", w[2], l)
	if err != nil {
		return nil, 0, err
	}
	code := 302
	dropQuery, appendSlash := false, false
	var cookie string
	for i := 3; i < len(w); i++ {
		switch w[i] {
		case "code":
			if i+1 >= len(w) {
				return nil, 0, l.Errorf("'%s redirect code' expects a status code.", rs)
			}
			n, err := strconv.Atoi(w[i+1])
			if err != nil || (n < 301 || n > 308 || n == 304 || n == 305 || n == 306) {
				return nil, 0, l.Errorf("'%s redirect': unsupported HTTP code '%s' (must be 301, 302, 303, 307 or 308).", rs, w[i+1])
			}
			code = n
			i++
		case "drop-query":
			dropQuery = true
		case "append-slash":
			appendSlash = true
		case "set-cookie", "clear-cookie":
			if i+1 >= len(w) {
				return nil, 0, l.Errorf("'%s redirect %s' expects a cookie.", rs, w[i])
			}
			if w[i] == "set-cookie" {
				cookie = w[i+1] + "; path=/;"
			} else {
				cookie = w[i+1] + "; path=/; Max-Age=0;"
			}
			i++
		default:
			return nil, 0, l.Errorf("'%s redirect' : unexpected keyword '%s'.", rs, w[i])
		}
	}
	return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
		t := target.Render(s)
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
	}, len(w), nil
}

// runHTTPRules runs px's rules of set rs for the request; ok=false means
// processing ends with r (nil r: close without a response).
func (s *Stream) runHTTPRules(px *Proxy, rs RuleSet) (r *Reply, ok bool) {
	tx := s.HTTP
	if rs == HTTPRequest && px == s.Frontend {
		s.requestSeen(tx)
	}
	rules := px.HTTPRules[rs]
	if len(rules) == 0 {
		return nil, true
	}
	smp := s.SampleCtx()
	smp.Response = rs != HTTPRequest
	defer func() { smp.Response = false }()
	for _, rule := range rules {
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
	s.captureHeaders(true)
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
