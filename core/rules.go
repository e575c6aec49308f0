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
	rs := RuleSet(args[0] + " " + args[1])
	if rs != TCPRequestContent {
		return l.Errorf("'%s %s' is not supported yet", args[0], args[1])
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
		if !s.tcpCondMatch(r.cond) {
			continue
		}
		switch r.Action.Do(s) {
		case Continue:
		case Stop:
			return true
		case Reject, Done:
			return false
		}
	}
	return true
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
