package core

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"luaproxy/core/config"
	"luaproxy/core/sample"
)

// The actions shared by the tcp-request, tcp-response and http-* rule
// sets (manual 4.2 "http-request", "tcp-request content"): set-var,
// set-var-fmt, unset-var, set-log-level, set-dst, set-dst-port, set-src,
// set-src-port, capture and wait-for-body.

// ruleWhere is where a rule of set rs in px runs, for availability checks.
func ruleWhere(px *Proxy, rs RuleSet) sample.Where {
	var w sample.Where
	fe, be := px.Cap&CapFE != 0, px.Cap&CapBE != 0
	add := func(on bool, f sample.Where) {
		if on {
			w |= f
		}
	}
	switch rs {
	case TCPRequestConnection:
		add(true, sample.FEConAcc)
	case "tcp-request session":
		add(true, sample.FESesAcc)
	case TCPRequestContent:
		add(fe, sample.FEReqCnt)
		add(be, sample.BEReqCnt)
	case TCPResponseContent:
		add(true, sample.BEResCnt)
	case HTTPRequest:
		add(fe, sample.FEHRQHdr)
		add(be, sample.BEHRQHdr)
	default: // http-response, http-after-response
		add(fe, sample.FEHRSHdr)
		add(be, sample.BEHRSHdr)
	}
	return w
}

// ruleErrorf is HAProxy's "error detected in <proxy> while parsing
// '<rs> <kw>' rule : <msg>." message.
//
// HAProxy compat: the tcp rule sets print an action parser's message as
// it is, without the frame nor the final period.
func ruleErrorf(px *Proxy, rs RuleSet, kw string, l config.Line, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	if rs.isTCP() {
		if kw == "capture" || strings.HasPrefix(kw, "track-sc") {
			// parsed by tcp_rules.c itself, which names the rule
			return l.Errorf("'%s %s' : %s", rs, kw, msg)
		}
		return l.Errorf("%s", msg)
	}
	return l.Errorf("error detected in %s while parsing '%s %s' rule : %s.", pxType(px), rs, kw, msg)
}

// parseRuleExpr parses the sample expression of an action and checks that
// it can work where the rule runs.
func (e *Engine) parseRuleExpr(px *Proxy, rs RuleSet, kw string, words []string, i int, l config.Line) (*sample.Expr, error) {
	if i >= len(words) {
		return nil, ruleErrorf(px, rs, kw, l, "missing fetch method")
	}
	x, err := sample.ParseExpr(words[i], e.scopeOf(px))
	if err != nil {
		return nil, ruleErrorf(px, rs, kw, l, "%v", err)
	}
	if x.Use().Val()&ruleWhere(px, rs) == 0 {
		// HAProxy compat: the set-var parser names the action, the
		// others the expression
		name := words[i]
		if strings.HasPrefix(kw, "set-var") {
			name = kw
		}
		if rs.isTCP() && kw == "capture" {
			return nil, l.Errorf("'%s %s' is not allowed in '%s' rules in %s", kw, words[i], rs, pxType(px))
		}
		return nil, ruleErrorf(px, rs, kw, l, "fetch method '%s' extracts information from '%s', none of which is available here", name, x.Use())
	}
	return x, nil
}

// parseRuleFormat parses the log-format argument of an action and checks
// that its fetches of HTTP messages can work where the rule runs, as
// HAProxy 2.6 does for every rule format: a request fetch in
// http-response set-header is a configuration error there, not an empty
// value (conditions, restricted by sample.Cond.Restrict, only warn).
// HAProxy checks the other fetches too (bc_err in http-request is
// refused); luaproxy does not yet, as several fetches it adds from 3.x
// have usage points of its own choosing.
func (e *Engine) parseRuleFormat(px *Proxy, rs RuleSet, kw, s string, l config.Line) (Format, error) {
	if !strings.Contains(s, "%") {
		return literal(s), nil
	}
	f, err := sample.ParseFormatIn(s, e.scopeOf(px))
	if err != nil {
		return nil, ruleErrorf(px, rs, kw, l, "%v", err)
	}
	if err := f.CheckSources(ruleWhere(px, rs), sample.UseHTTPAny); err != nil {
		return nil, ruleErrorf(px, rs, kw, l, "%v", err)
	}
	return smpFormat{f}, nil
}

// parseExtAction parses the shared actions; handled is false when kw is
// not one of them.
func (e *Engine) parseExtAction(px *Proxy, rs RuleSet, words []string, l config.Line) (act Action, n int, handled bool, err error) {
	kw := words[0]
	switch {
	case strings.HasPrefix(kw, "set-var(") || strings.HasPrefix(kw, "set-var-fmt(") || strings.HasPrefix(kw, "unset-var("):
		act, n, err = e.parseSetVar(px, rs, words, l)
	case kw == "set-log-level":
		if len(words) < 2 {
			return nil, 0, true, ruleErrorf(px, rs, kw, l, "expects exactly 1 argument (log level name or 'silent')")
		}
		lvl := levelIndex(words[1])
		if words[1] == "silent" {
			lvl = logSilent
		} else if lvl < 0 {
			return nil, 0, true, ruleErrorf(px, rs, kw, l, "expects exactly 1 argument (log level name or 'silent')")
		}
		act, n = ActionFunc(func(s *Stream) Verdict {
			extOf(s).logLevel = lvl
			return Continue
		}), 2
	case kw == "set-dst" || kw == "set-src" || kw == "set-dst-port" || kw == "set-src-port":
		var x *sample.Expr
		if x, err = e.parseRuleExpr(px, rs, kw, words, 1, l); err == nil {
			act, n = setAddrAction(kw, x), 2
		}
	case kw == "capture":
		act, n, err = e.parseCaptureAction(px, rs, words, l)
	case kw == "wait-for-body":
		act, n, err = e.parseWaitForBody(px, rs, words, l)
	default:
		return nil, 0, false, nil
	}
	return act, n, true, err
}

// parseSetVar parses "set-var(<name>[,<cond>...]) <expr>",
// "set-var-fmt(<name>[,<cond>...]) <fmt>" and "unset-var(<name>)".
func (e *Engine) parseSetVar(px *Proxy, rs RuleSet, words []string, l config.Line) (Action, int, error) {
	kw := words[0]
	open := strings.IndexByte(kw, '(')
	verb := kw[:open]
	if !strings.HasSuffix(kw, ")") {
		return nil, 0, ruleErrorf(px, rs, kw, l, "incomplete argument after action '%s'. Expects 'set-var(<var-name>)', 'set-var-fmt(<var-name>)' or 'unset-var(<var-name>)'", kw)
	}
	parts := strings.Split(kw[open+1:len(kw)-1], ",")
	name, err := sample.ParseVarName(strings.TrimSpace(parts[0]))
	if err != nil {
		return nil, 0, ruleErrorf(px, rs, kw, l, "%v", err)
	}
	var cond sample.VarCond
	for _, p := range parts[1:] {
		if verb == "unset-var" {
			return nil, 0, ruleErrorf(px, rs, kw, l, "unset-var does not expect parameters after the variable name. Only \"set-var\" and \"set-var-fmt\" manage conditions")
		}
		c, err := sample.ParseVarCond(strings.TrimSpace(p))
		if err != nil {
			return nil, 0, ruleErrorf(px, rs, kw, l, "%v", err)
		}
		cond |= c
	}
	switch verb {
	case "unset-var":
		return ActionFunc(func(s *Stream) Verdict {
			s.SampleCtx().UnsetVar(name)
			return Continue
		}), 1, nil
	case "set-var-fmt":
		var f Format = literal("")
		n := 1
		if len(words) > 1 {
			if f, err = e.parseRuleFormat(px, rs, kw, words[1], l); err != nil {
				return nil, 0, err
			}
			n = 2
		}
		return ActionFunc(func(s *Stream) Verdict {
			v := f.Render(s)
			s.SampleCtx().SetVar(name, sample.Str(v), cond)
			return Continue
		}), n, nil
	}
	x, err := e.parseRuleExpr(px, rs, kw, words, 1, l)
	if err != nil {
		return nil, 0, err
	}
	return ActionFunc(func(s *Stream) Verdict {
		ctx := s.SampleCtx()
		if v, ok := x.Eval(ctx); ok {
			ctx.SetVar(name, v, cond)
		}
		return Continue
	}), 2, nil
}

// setAddrAction changes the stream's view of its addresses (the src/dst
// fetches and logs).
func setAddrAction(kw string, x *sample.Expr) Action {
	return ActionFunc(func(s *Stream) Verdict {
		ctx := s.SampleCtx()
		v, ok := x.Eval(ctx)
		if !ok {
			return Continue
		}
		ap := &ctx.Dst
		if kw == "set-src" || kw == "set-src-port" {
			ap = &ctx.Src
		}
		if strings.HasSuffix(kw, "-port") {
			if !sample.Convert(&v, sample.TypeSInt) || v.Int < 0 || v.Int > 65535 {
				return Continue
			}
			*ap = netip.AddrPortFrom(ap.Addr(), uint16(v.Int))
			return Continue
		}
		if v.Type != sample.TypeIPv4 && v.Type != sample.TypeIPv6 {
			if !sample.Convert(&v, sample.TypeIPv4) && !sample.Convert(&v, sample.TypeIPv6) {
				return Continue
			}
		}
		if a, ok := sampleAddr(v); ok {
			port := ap.Port()
			if kw == "set-src" {
				port = 0 // HAProxy: set-src resets the port
			}
			*ap = netip.AddrPortFrom(a, port)
		}
		return Continue
	})
}

// sampleAddr returns the address an ipv4/ipv6 sample holds.
func sampleAddr(v sample.Sample) (netip.Addr, bool) {
	s := v
	if !sample.Convert(&s, sample.TypeStr) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s.Str)
	return a, err == nil
}

// parseCaptureAction parses "capture <expr> len <N>" (a new capture slot
// of the frontend) and "capture <expr> id <N>" (an existing slot).
func (e *Engine) parseCaptureAction(px *Proxy, rs RuleSet, words []string, l config.Line) (Action, int, error) {
	kw := words[0]
	if rs.isTCP() {
		// HAProxy compat: tcp rules parse "capture <expr> len <N>"
		// themselves, with messages of their own
		if _, err := e.parseRuleExpr(px, rs, kw, words, 1, l); err != nil {
			return nil, 0, err
		}
		if len(words) < 3 || words[2] != "len" {
			return nil, 0, ruleErrorf(px, rs, kw, l, "a positive 'len' argument is mandatory")
		}
		if len(words) < 4 || cAtoi(words[3]) <= 0 {
			return nil, 0, ruleErrorf(px, rs, kw, l, "length must be > 0")
		}
	}
	if len(words) < 4 || words[1] == "" || words[2] == "" || words[3] == "" {
		return nil, 0, ruleErrorf(px, rs, kw, l, "expects <expression> [ 'len' <length> | id <idx> ]")
	}
	x, err := e.parseRuleExpr(px, rs, kw, words, 1, l)
	if err != nil {
		return nil, 0, err
	}
	res := rs == HTTPResponse || rs == TCPResponseContent
	if words[2] != "id" && (res || words[2] != "len") {
		if res {
			return nil, 0, ruleErrorf(px, rs, kw, l, "expects 'id', found '%s'", words[2])
		}
		return nil, 0, ruleErrorf(px, rs, kw, l, "expects 'len' or 'id', found '%s'", words[2])
	}
	num, err := strconv.Atoi(words[3])
	pxe := pxExtOf(px)
	var slot, max int
	if words[2] == "len" {
		num = cAtoi(words[3])
		if num <= 0 {
			return nil, 0, ruleErrorf(px, rs, kw, l, "length must be > 0")
		}
		if px.Cap&CapFE == 0 {
			return nil, 0, ruleErrorf(px, rs, kw, l, "proxy '%s' has no frontend capability", px.Name)
		}
		slot, max = len(pxe.reqCaps), num
		pxe.reqCaps = append(pxe.reqCaps, captureDecl{len: num})
	} else {
		if err != nil || num < 0 {
			return nil, 0, ruleErrorf(px, rs, kw, l, "cannot parse id '%s'", words[3])
		}
		slot, max = num, -1
	}
	return ActionFunc(func(s *Stream) Verdict {
		v, ok := x.EvalAs(s.SampleCtx(), sample.TypeStr)
		if !ok {
			return Continue
		}
		decls := pxExtOf(s.Frontend).reqCaps
		if res {
			decls = pxExtOf(s.Frontend).resCaps
		}
		if slot >= len(decls) {
			return Continue
		}
		lim := max
		if lim < 0 {
			lim = decls[slot].len
		}
		str := v.Str
		if len(str) > lim {
			str = str[:lim]
		}
		setCapture(extOf(s), res, slot, len(decls), str)
		return Continue
	}), 4, nil
}

func setCapture(x *streamExt, res bool, slot, n int, v string) {
	caps := &x.reqCaps
	if res {
		caps = &x.resCaps
	}
	for len(*caps) < n {
		*caps = append(*caps, capValue{})
	}
	(*caps)[slot] = capValue{v: v, set: true}
}

// parseCaptureKeyword parses "capture request|response header <name>
// len <N>" and "declare capture request|response len <N>".
func parseCaptureKeyword(px *Proxy, l config.Line) error {
	a := l.Args
	if a[0] == "declare" {
		if len(a) != 5 || a[1] != "capture" || (a[2] != "request" && a[2] != "response") || a[3] != "len" {
			return l.Errorf("'declare capture' expects 'request' or 'response' and 'len' <length>.")
		}
		n, err := strconv.Atoi(a[4])
		if err != nil || n <= 0 {
			return l.Errorf("'declare capture' : length must be > 0.")
		}
		x := pxExtOf(px)
		if a[2] == "request" {
			x.reqCaps = append(x.reqCaps, captureDecl{len: n})
		} else {
			x.resCaps = append(x.resCaps, captureDecl{len: n})
		}
		return nil
	}
	if px.Cap&CapFE == 0 || px.Kind == "defaults" {
		return l.Errorf("'%s' not allowed in '%s' section", a[0], px.Kind)
	}
	if len(a) >= 2 && a[1] == "cookie" {
		return l.Errorf("'capture cookie' is not supported yet")
	}
	if len(a) != 6 || (a[1] != "request" && a[1] != "response") || a[2] != "header" || a[4] != "len" {
		return l.Errorf("'capture' expects 'cookie', 'request header' or 'response header'.")
	}
	n, err := strconv.Atoi(a[5])
	if err != nil || n <= 0 {
		return l.Errorf("'capture %s header' : length must be > 0.", a[1])
	}
	x := pxExtOf(px)
	if a[1] == "request" {
		x.reqCaps = append(x.reqCaps, captureDecl{hdr: a[3], len: n})
	} else {
		x.resCaps = append(x.resCaps, captureDecl{hdr: a[3], len: n})
	}
	return nil
}

// captureHeaders fills the header capture slots of the frontend from the
// request (or response) headers: the first occurrence, truncated.
func (s *Stream) captureHeaders(res bool) {
	decls := pxExtOf(s.Frontend).reqCaps
	m := &s.HTTP.Req
	if res {
		decls = pxExtOf(s.Frontend).resCaps
		m = &s.HTTP.Res
	}
	if len(decls) == 0 {
		return // most frontends, every request
	}
	x := extOf(s)
	for i, d := range decls {
		if d.hdr == "" {
			continue
		}
		if v, ok := m.Get(d.hdr); ok {
			if len(v) > d.len {
				v = v[:d.len]
			}
			setCapture(x, res, i, len(decls), v)
		}
	}
}

// parseWaitForBody parses "wait-for-body time <time> [at-least <bytes>]".
func (e *Engine) parseWaitForBody(px *Proxy, rs RuleSet, words []string, l config.Line) (Action, int, error) {
	kw := words[0]
	if rs != HTTPRequest && rs != HTTPResponse {
		return nil, 0, ruleErrorf(px, rs, kw, l, "only allowed in 'http-request' and 'http-response' rules")
	}
	// HAProxy compat: "time" and "at-least" in any order, the messages
	// of a bad value not repeating the word
	var d time.Duration
	var atLeast int64
	n := 1
	for ; n < len(words) && (words[n] == "time" || words[n] == "at-least"); n += 2 {
		if n+1 >= len(words) || words[n+1] == "" {
			return nil, 0, ruleErrorf(px, rs, kw, l, "missing argument for '%s'", words[n])
		}
		var err error
		if words[n] == "time" {
			if d, err = config.ParseTime(words[n+1], time.Millisecond); d == 0 && err == nil {
				d = -1 // "time 0": set, and expires at once
			}
		} else {
			atLeast, err = config.ParseSize(words[n+1])
		}
		if err != nil {
			return nil, 0, ruleErrorf(px, rs, kw, l, "%s", strings.TrimSuffix(err.Error(), " in '"+words[n+1]+"'"))
		}
	}
	if d == 0 {
		return nil, 0, ruleErrorf(px, rs, kw, l, "expects time <time> [ at-least <bytes> ]")
	}
	d = max(d, 0)
	res := rs == HTTPResponse
	return ActionFunc(func(s *Stream) Verdict {
		hc := extOf(s).hc
		if res || hc == nil {
			return Continue // see (*HTTPConn).bindStream
		}
		return hc.waitForBody(d, atLeast)
	}), n, nil
}

func init() {
	capFetch := func(name string, res bool, use sample.Use) {
		sample.RegisterFetch(&sample.Fetch{Name: name, Args: sample.Args(1, sample.ArgSInt), Out: sample.TypeStr, Use: use,
			Fn: func(ctx *sample.Ctx, args []sample.Arg) (sample.Sample, bool) {
				s, _ := ctx.Stream.(*Stream)
				if s == nil {
					return sample.Sample{}, false
				}
				caps := extOf(s).reqCaps
				if res {
					caps = extOf(s).resCaps
				}
				i := args[0].Int
				if i < 0 || i >= int64(len(caps)) || !caps[i].set {
					return sample.Sample{}, false
				}
				return sample.Str(caps[i].v), true
			}})
	}
	capFetch("capture.req.hdr", false, sample.UseHRQHP)
	capFetch("capture.res.hdr", true, sample.UseHRSHP)
}
