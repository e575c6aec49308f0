package core

import (
	"errors"
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

// parseRule parses "tcp-request ..." lines.
func (e *Engine) parseRule(px *Proxy, l config.Line) error {
	args := l.Args
	if len(args) < 2 {
		return l.Errorf("'%s' expects 'inspect-delay', 'connection', 'content' or 'session'", args[0])
	}
	if args[0] == "tcp-request" && args[1] == "inspect-delay" {
		if len(args) != 3 {
			return l.Errorf("'tcp-request inspect-delay' expects a delay")
		}
		d, err := config.ParseTime(args[2], time.Millisecond)
		if err != nil {
			return l.Errorf("'tcp-request inspect-delay' : %v", err)
		}
		px.InspectDelay = d
		return nil
	}
	if args[0] == "tcp-response" && args[1] == "inspect-delay" {
		if len(args) != 3 {
			return l.Errorf("'tcp-response inspect-delay' expects a delay")
		}
		if _, err := config.ParseTime(args[2], time.Millisecond); err != nil {
			return l.Errorf("'tcp-response inspect-delay' : %v", err)
		}
		return nil // tcp-response rules do not wait for data yet
	}
	rs := RuleSet(args[0] + " " + args[1])
	switch rs {
	case TCPRequestContent, TCPRequestConnection, tcpRequestSession:
		if rs != TCPRequestContent && px.Cap&CapFE == 0 {
			return l.Errorf("%s is not allowed because %s is not a frontend", rs, px)
		}
	case TCPResponseContent:
		if px.Cap&CapBE == 0 {
			return l.Errorf("tcp-response content is only allowed in 'backend' sections or 'defaults' section with a name")
		}
	default:
		if args[0] == "tcp-response" {
			return l.Errorf("'tcp-response' expects 'inspect-delay' or 'content' (got '%s')", args[1])
		}
		return l.Errorf("'tcp-request' expects 'inspect-delay', 'connection', 'session' or 'content' (got '%s')", args[1])
	}
	if len(args) < 3 {
		return l.Errorf("'%s' expects an action", rs)
	}
	act, n, err := e.parseAction(px, rs, args[2:], l)
	if err != nil {
		return err
	}
	c, err := e.parseCond(px, args[2+n:], l)
	if err != nil {
		return err
	}
	px.Rules[rs] = append(px.Rules[rs], &Rule{condRule: c, Action: act, Line: l})
	return nil
}

func (e *Engine) parseAction(px *Proxy, rs RuleSet, args []string, l config.Line) (Action, int, error) {
	switch args[0] {
	case "accept":
		return ActionFunc(func(*Stream) Verdict { return Stop }), 1, nil
	case "reject":
		return ActionFunc(func(*Stream) Verdict { return Reject }), 1, nil
	case "use-service":
		if len(args) < 2 {
			return nil, 0, l.Errorf("'%s use-service' expects a service name.", rs)
		}
		p, ok := lookupService(args[1])
		if !ok {
			return nil, 0, l.Errorf("'%s use-service': unknown service '%s'.", rs, args[1])
		}
		svc, err := p(e, px, args[1], args[2:], l)
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
		return p(e, px, rs, args, l)
	}
	return nil, 0, l.Errorf("'%s' expects 'accept', 'reject', 'use-service', %s in %s (got '%s').",
		rs, strings.Join(actionNames(), ", "), px, args[0])
}

// runRules evaluates a rule set; it returns false if the stream must end.
func (s *Stream) runRules(rs RuleSet) bool {
	for _, r := range s.Frontend.Rules[rs] {
		mark := s.waitMark()
		if !s.tcpCondMatch(r.cond) {
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
// the server connection is established; false closes the stream. They
// run before any response data is seen (a known gap: HAProxy re-runs
// them as the response arrives, up to the inspect-delay).
func (s *Stream) runTCPResponseRules(be *Proxy) bool {
	return s.runFinalRules(be.Rules[TCPResponseContent], true)
}

// tcpCondMatch evaluates a tcp-request content condition, waiting for
// more data (up to the inspect-delay) while its answer may change.
func (s *Stream) tcpCondMatch(c Condition) bool {
	if c == nil {
		return true
	}
	deadline := s.InspectDeadline()
	for {
		ctx := s.SampleCtx()
		ctx.Final = s.Req.EOF() || (!deadline.IsZero() && !time.Now().Before(deadline))
		m, may := c.Eval(s)
		if !may || ctx.Final {
			return m
		}
		if err := s.Req.Fill(deadline); err != nil && !errors.Is(err, ErrBufferFull) {
			ctx.Final = true
			m, _ = c.Eval(s)
			return m
		}
	}
}
