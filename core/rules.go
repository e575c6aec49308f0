package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"luaproxy/core/config"
)

// Verdict is what an action tells the rule evaluation.
type Verdict int

const (
	// Continue evaluates the next rule.
	Continue Verdict = iota
	// Stop ends this rule set successfully (like "accept").
	Stop
	// Reject closes the connection.
	Reject
	// Done ends the stream's processing: what was sent is all the client gets.
	Done
)

// Action is one rule action.
type Action interface {
	// Do runs the action for s, on s's goroutine; it may block.
	Do(s *Stream) Verdict
}

// Service answers a client in place of a server (use-service).
type Service interface {
	// Serve runs until the exchange ends, on s's goroutine.
	Serve(s *Stream)
}

// HTTPService is a service that answers HTTP requests (AppletHTTP); it
// reports whether the client connection may serve another request.
type HTTPService interface {
	Service
	ServeHTTP(s *Stream, hc *HTTPConn) bool
}

// Rule is an action with its condition and line.
type Rule struct {
	condRule
	Action Action
	Line   config.Line
}

// ActionFunc adapts a function to Action.
type ActionFunc func(s *Stream) Verdict

// Do calls f.
func (f ActionFunc) Do(s *Stream) Verdict { return f(s) }

type useService struct{ svc Service }

func (u useService) Do(s *Stream) Verdict {
	s.service = u.svc
	return Stop
}

// parseRule parses "tcp-request ..." and "tcp-response ..." lines.
func (e *Engine) parseRule(px *Proxy, l config.Line) error {
	args := l.Args
	if len(args) < 2 {
		return l.Errorf("missing argument for '%s' in %s", args[0], pxType(px))
	}
	if args[1] == "inspect-delay" {
		d, err := parseInspectDelay(px, args, l)
		if err != nil {
			return err
		}
		if args[0] == "tcp-request" {
			px.InspectDelay = d
		} else {
			px.ResInspectDelay = d
		}
		return nil
	}
	rs := RuleSet(args[0] + " " + args[1])
	switch rs {
	case TCPRequestContent, TCPRequestConnection, tcpRequestSession:
		if rs != TCPRequestContent && px.Cap&CapFE == 0 {
			return l.Errorf("%s is not allowed because %s %s is not a frontend", rs, px.Kind, px.Name)
		}
	case TCPResponseContent:
		if px.Cap&CapBE == 0 {
			return l.Errorf("tcp-response content is only allowed in 'backend' sections or 'defaults' section with a name")
		}
	default:
		if args[0] == "tcp-response" {
			return l.Errorf("'tcp-response' expects 'inspect-delay' or 'content' in %s (got '%s')", pxType(px), args[1])
		}
		return l.Errorf("'tcp-request' expects 'inspect-delay', 'connection', or 'content' in %s (got '%s')", pxType(px), args[1])
	}
	if len(args) < 3 || args[2] == "" {
		return unknownActionError(px, rs, "", l)
	}
	if err := checkActionKeyword(px, rs, args[2], l); err != nil {
		return err
	}
	act, n, err := e.parseAction(px, rs, args[2:], l)
	if err != nil {
		return err
	}
	c, err := e.parseRuleCond(px, rs, args[2], args[2+n:], l)
	if err != nil {
		return err
	}
	px.Rules[rs] = append(px.Rules[rs], &Rule{condRule: c, Action: act, Line: l})
	return nil
}

// parseInspectDelay parses "tcp-request|tcp-response inspect-delay
// <time>", with HAProxy's messages. Words after the delay are ignored,
// as HAProxy does.
func parseInspectDelay(px *Proxy, args []string, l config.Line) (time.Duration, error) {
	msg := fmt.Sprintf("'%s inspect-delay' expects a positive delay in milliseconds, in %s", args[0], pxType(px))
	if len(args) < 3 || args[2] == "" {
		return 0, l.Errorf("%s", msg)
	}
	d, err := config.ParseTime(args[2], time.Millisecond)
	var ue *config.UnitError
	switch {
	case errors.Is(err, config.ErrTimeOverflow):
		return 0, l.Errorf("%s (timer overflow in '%s', maximum value is 2147483647 ms or ~24.8 days)", msg, args[2])
	case errors.As(err, &ue) && ue.Offset < len(ue.Value):
		return 0, l.Errorf("%s (unexpected character '%c')", msg, ue.Value[ue.Offset])
	case err != nil:
		return 0, l.Errorf("%s", msg)
	}
	return d, nil
}

// isTCP tells whether rs is a tcp-request or tcp-response rule set.
func (rs RuleSet) isTCP() bool { return strings.HasPrefix(string(rs), "tcp-") }

// ErrUnknownService is returned by a ServiceParser given a name it does
// not serve; the rule reports it as HAProxy does.
var ErrUnknownService = errors.New("unknown service name")

// ErrUnknownAction is returned by an ActionParser registered for a
// family ("lua.") given a name it does not know; the rule reports an
// unknown keyword as HAProxy does.
var ErrUnknownAction = errors.New("unknown action")

func (e *Engine) parseAction(px *Proxy, rs RuleSet, args []string, l config.Line) (Action, int, error) {
	switch args[0] {
	case "accept":
		return ActionFunc(func(*Stream) Verdict { return Stop }), 1, nil
	case "reject":
		return ActionFunc(func(*Stream) Verdict { return Reject }), 1, nil
	case "use-service":
		// HAProxy compat: its tcp messages name the words before the
		// action ('tcp-request' expects ..., 'content' unknown ...)
		if len(args) < 2 || args[1] == "" || args[1] == "if" || args[1] == "unless" {
			if rs.isTCP() {
				return nil, 0, l.Errorf("'%s' expects a service name.", rs[:strings.IndexByte(string(rs), ' ')])
			}
			return nil, 0, ruleErrorf(px, rs, args[0], l, "'use-service' expects a service name.")
		}
		unknown := func() error {
			if rs.isTCP() {
				return l.Errorf("'%s' unknown service name.", rs[strings.IndexByte(string(rs), ' ')+1:])
			}
			return ruleErrorf(px, rs, args[0], l, "'%s' unknown service name.", args[1])
		}
		args = untilCond(args) // the service's arguments end at its condition
		p, ok := lookupService(args[1])
		if !ok {
			return nil, 0, unknown()
		}
		svc, err := p(e, px, args[1], args[2:], l)
		if errors.Is(err, ErrUnknownService) {
			return nil, 0, unknown()
		}
		if err != nil {
			return nil, 0, err
		}
		return useService{svc}, len(args), nil
	case "close":
		if rs == TCPResponseContent {
			return ActionFunc(func(*Stream) Verdict { return Reject }), 1, nil
		}
	}
	if act, n, ok, err := e.parseExtAction(px, rs, untilCond(args), l); ok {
		return act, n, err
	}
	if p, ok := lookupAction(args[0]); ok {
		act, n, err := p(e, px, rs, args, l)
		if errors.Is(err, ErrUnknownAction) {
			err = unknownActionError(px, rs, args[0], l)
		}
		return act, n, err
	}
	return nil, 0, unregisteredActionError(px, rs, args[0], l)
}

// unregisteredActionError reports a keyword that HAProxy knows and no
// parser took: a stick counter past the last one (track-sc5,
// sc-inc-gpc0(5)), else an unknown keyword.
func unregisteredActionError(px *Proxy, rs RuleSet, kw string, l config.Line) error {
	switch {
	case strings.HasPrefix(kw, "set-var") || strings.HasPrefix(kw, "unset-var"):
		return ruleErrorf(px, rs, kw, l, "invalid or incomplete action '%s'. Expects 'set-var(<var-name>)', 'set-var-fmt(<var-name>)' or 'unset-var(<var-name>)'", kw)
	case strings.HasPrefix(kw, "track-sc"):
		n := kw[len("track-sc"):]
		if _, err := strconv.Atoi(n); err != nil {
			return ruleErrorf(px, rs, kw, l, "Wrong track-sc number '%s'", n)
		}
		return ruleErrorf(px, rs, kw, l, "%d track-sc number exceeding %d (MAX_SESS_STKCTR-1) value", cAtoi(n), maxStickCounters-1)
	case kw == "sc-inc-gpc" || kw == "sc-set-gpt":
		arr := kw[len(kw)-3:]
		return ruleErrorf(px, rs, kw, l, "invalid %s ID '%s'. Expects %s(<%s ID>,<Track ID>)", arr, kw, kw, strings.ToUpper(arr))
	case strings.HasPrefix(kw, "sc-"):
		_, arg, ok := strings.Cut(kw, "(")
		if _, err := strconv.Atoi(strings.TrimSuffix(arg, ")")); !ok || err != nil || !strings.HasSuffix(arg, ")") {
			// HAProxy compat: the keyword as written, then "(<Track ID>)"
			return ruleErrorf(px, rs, kw, l, "invalid stick table track ID. Expects %s(<Track ID>)", kw)
		}
		return ruleErrorf(px, rs, kw, l, "invalid stick table track ID. The max allowed ID is %d", maxStickCounters-1)
	}
	return unknownActionError(px, rs, kw, l)
}

// runRules evaluates a rule set; it returns false if the stream must end.
func (s *Stream) runRules(rs RuleSet) bool {
	rules := s.Frontend.Rules[rs]
	if len(rules) > 0 && rs == TCPRequestContent && s.Frontend.Mode == "http" {
		// HAProxy compat: an HTTP stream starts with its request head
		// parsed, so its content rules never see less than the head
		s.waitRequestHead()
	}
	for _, r := range rules {
		mark := s.waitMark()
		if !s.contentCondMatch(s.Req, r.cond) {
			s.ruleWaited(&r.Line, mark)
			continue
		}
		v := r.Action.Do(s)
		s.ruleWaited(&r.Line, mark)
		if v != Continue {
			s.ruleRan(&r.Line)
		}
		switch v {
		case Stop:
			return true
		case Reject, Done:
			extOf(s).setTerm('P', 'R')
			return false
		}
	}
	return true
}

// tcpRequestSession is the "tcp-request session" rule set.
const tcpRequestSession RuleSet = "tcp-request session"

// runConnRules runs the tcp-request connection, then session rules of the
// frontend: they see only the connection (no waiting for data). It
// returns false if the connection must be closed.
func (s *Stream) runConnRules() bool {
	for _, rs := range [...]RuleSet{TCPRequestConnection, tcpRequestSession} {
		// HAProxy compat: these rules run before the stream exists, so
		// they are not last_rule_* (record false).
		if !s.runFinalRules(s.Frontend.Rules[rs], false) {
			// HAProxy compat: a connection rejected this early is not logged
			extOf(s).noLog = true
			return false
		}
	}
	return true
}

// runFinalRules runs rules whose conditions see all they will ever see;
// it returns false if the stream must end. record says the rule giving a
// final verdict is the stream's last rule (last_rule_file ...).
func (s *Stream) runFinalRules(rules []*Rule, record bool) bool {
	for _, r := range rules {
		if r.cond != nil {
			ctx := s.SampleCtx()
			ctx.Final = true
			m, _ := r.cond.Eval(s)
			ctx.Final = false
			if !m {
				continue
			}
		}
		v := r.Action.Do(s)
		if v != Continue && record {
			s.ruleRan(&r.Line)
		}
		switch v {
		case Stop:
			return true
		case Reject, Done:
			return false
		}
	}
	return true
}

// runTCPResponseRules runs the backend's tcp-response content rules once
// the server connection is established; false closes the stream. Under a
// tcp-response inspect-delay they wait for response data while their
// answer may change (contentCondMatch), the client's data flowing to the
// server meanwhile; the response read stays in s.Res for the client. It
// returns the request bytes it sent to the server.
func (s *Stream) runTCPResponseRules(be *Proxy) (ok bool, sent int64) {
	rules := be.Rules[TCPResponseContent]
	if len(rules) == 0 {
		return true, 0
	}
	if be.ResInspectDelay > 0 {
		s.resStart = time.Now()
		stop := s.pumpRequest()
		defer func() { sent = stop() }()
	}
	for _, r := range rules {
		if !s.contentCondMatch(s.Res, r.cond) {
			continue
		}
		ctx := s.SampleCtx()
		ctx.Response = true
		v := r.Action.Do(s)
		ctx.Response = false
		if v != Continue {
			s.ruleRan(&r.Line)
		}
		switch v {
		case Stop:
			return true, 0
		case Reject, Done:
			return false, 0
		}
	}
	return true, 0
}

// pumpRequest sends what the client sent so far to the server and keeps
// forwarding the client's data while the response is inspected (HAProxy
// forwards each direction on its own). The returned function stops it
// and returns the bytes sent; the client's end of input, if it came, is
// seen again by the forwarding that follows. With TCP filters the data
// goes through them (pumpFiltered).
func (s *Stream) pumpRequest() (stop func() int64) {
	if s.filters != nil {
		return s.pumpFiltered()
	}
	first := append(s.Req.out, s.Req.in...)
	s.Req.out, s.Req.in = nil, s.Req.in[:0]
	s.shareClient()
	c, sc := s.Client, s.ServerConn
	var sent int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		if len(first) > 0 {
			n, err := sc.Write(first)
			sent += int64(n)
			if err != nil {
				return
			}
		}
		buf := make([]byte, s.Engine.BufSize)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				w, werr := sc.Write(buf[:n])
				sent += int64(w)
				if werr != nil {
					return
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					// the client's end goes on to the server, as
					// HAProxy's shutw does: a server answering at the
					// end of the request answers now
					if cw, ok := sc.(interface{ CloseWrite() error }); ok {
						_ = cw.CloseWrite()
					}
				}
				return
			}
		}
	}()
	return func() int64 {
		_ = c.SetReadDeadline(time.Unix(1, 0)) // wakes the pump's read
		<-done
		_ = c.SetReadDeadline(time.Time{})
		s.forgetDeadlines()
		return sent
	}
}

// contentCondMatch evaluates the condition of a tcp-request (ch is s.Req)
// or tcp-response (s.Res) content rule. HAProxy compat: while the answer
// may change with more data (a fetch marked MayChange decided nothing)
// and the input is not final, the rule takes no decision: it waits for
// more data and is evaluated again. The input is final once its producer
// closed, the buffer is full (tune.bufsize less tune.maxrewrite), there
// is no inspect-delay for that direction, or it expired; the rule is then
// evaluated with what is there.
func (s *Stream) contentCondMatch(ch *Channel, c Condition) bool {
	if c == nil {
		return true
	}
	deadline := s.contentDeadline(ch)
	ctx := s.SampleCtx()
	defer func() { ctx.Final, ctx.Response = false, false }()
	failed := false
	for {
		ctx = s.SampleCtx()
		ctx.Response = ch.isRes
		ctx.Final = failed || s.contentFinal(ch, deadline)
		m, may := c.Eval(s)
		if !may || ctx.Final {
			return m
		}
		// any error (end of input, timeout, full buffer) makes the next
		// evaluation final
		failed = ch.Fill(deadline) != nil
	}
}

// contentFinal tells whether the content rules of ch's direction see all
// they will wait for.
func (s *Stream) contentFinal(ch *Channel, deadline time.Time) bool {
	if !ch.isRes && s.Frontend.Mode == "http" {
		// HAProxy compat: an HTX buffer always counts as full
		// (channel_full), so the rules of an HTTP stream, which starts
		// with its request head, never wait
		return true
	}
	return deadline.IsZero() || ch.EOF() || len(ch.in)+s.Engine.MaxRewrite >= ch.max ||
		!time.Now().Before(deadline)
}

// contentDeadline returns when the content rules of ch's direction stop
// waiting for data: the tcp-request (tcp-response) inspect-delay after
// the stream (response analysis) started; zero without a delay.
func (s *Stream) contentDeadline(ch *Channel) time.Time {
	if ch.isRes {
		if be := s.Backend; be != nil && be.ResInspectDelay > 0 && !s.resStart.IsZero() {
			return s.resStart.Add(be.ResInspectDelay)
		}
		return time.Time{}
	}
	if d := s.Frontend.InspectDelay; d > 0 {
		return s.Start.Add(d)
	}
	return time.Time{}
}

// waitRequestHead reads the client's input until it holds a whole HTTP
// request head, the client closes, the buffer is full or the request
// timeout passes; reading it is then serveHTTP's, which answers errors.
func (s *Stream) waitRequestHead() {
	var deadline time.Time
	if d := requestTimeout(s.Frontend, true); d > 0 {
		deadline = s.Start.Add(d)
	}
	for !bytes.Contains(s.Req.in, []byte("\r\n\r\n")) && !bytes.Contains(s.Req.in, []byte("\n\n")) {
		if s.Req.Fill(deadline) != nil {
			return
		}
	}
}
