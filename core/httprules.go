package core

import (
	"errors"
	"fmt"
	"regexp"
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
	list := px.HTTPRules.list(rs)
	*list = append(*list, &httpRule{condRule: c, act: act, line: l})
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
// compile: "regex '<re>' is invalid (error=<why>, erroffset=<n>)", worded
// by sample.PCREMessage like the other regex errors.
func regexError(re string, err error) string {
	return fmt.Sprintf("regex '%s' is invalid (error=%s)", re, sample.PCREMessage([]byte(re), err))
}

// httpRules are a proxy's http-request, http-response and
// http-after-response rules (a map cost a string hash per rule set run).
type httpRules struct{ req, res, after []*httpRule }

// list returns the rules of set rs.
func (h *httpRules) list(rs RuleSet) *[]*httpRule {
	switch rs {
	case HTTPRequest:
		return &h.req
	case HTTPResponse:
		return &h.res
	case HTTPAfterResponse:
		return &h.after
	}
	panic("core: no HTTP rule set " + string(rs))
}

// runHTTPRules runs px's rules of set rs for the request; ok=false means
// processing ends with r (nil r: close without a response).
func (s *Stream) runHTTPRules(px *Proxy, rs RuleSet) (r *Reply, ok bool) {
	tx := s.HTTP
	if rs == HTTPRequest && px == s.Frontend {
		s.requestSeen(tx)
	}
	rules := *px.HTTPRules.list(rs)
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
	x.reqLine = [3]string{tx.Req.Method, tx.Req.URI, tx.Req.Version}
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
