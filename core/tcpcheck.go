package core

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"luaproxy/core/config"
	"luaproxy/core/sample"
	"luaproxy/netio"
)

// Actions of a tcp-check rule.
const (
	tcpchkConnect = iota
	tcpchkSend
	tcpchkExpect
	tcpchkComment
)

// TCPCheckRule is one "tcp-check" line. Index is its position among the
// section's rules; HAProxy reports a rule as "step Index+1".
type TCPCheckRule struct {
	Action  int
	Index   int
	Comment string

	// connect
	Port      int
	Addr      string
	SendProxy bool
	// Default is "default": the server's check settings (its PROXY
	// header) apply.
	Default bool
	// Linger is "linger": close cleanly rather than with a reset.
	Linger bool

	// send: Data, or Fmt rendered at check time (send-lf)
	Data []byte
	Fmt  Format

	// expect
	Kind    string // string, rstring, binary, rbinary, string-lf, binary-lf
	Pattern []byte
	Re      *regexp.Regexp
	PatFmt  Format
	Inverse bool
	// MinRecv is "min-recv" (-1: wait for a match until the response ends).
	MinRecv                       int
	OKStatus, ErrStatus, ToutStat string
	OnSuccess, OnError            Format
	// CodeOf is the "status-code" of a protocol check's expect: the
	// check code read from the response (nil: 0).
	CodeOf func(resp []byte) int
	// Custom replaces the pattern match of a protocol check's expect
	// (HAProxy's expect.custom, for mysql-check).
	Custom func(run *tcpCheckRun, r *TCPCheckRule, lastRead bool) (wait, fail bool)
	// KeepInput keeps what was read before a send (mysql-check reads its
	// reply after the handshake in the same buffer).
	KeepInput bool
}

// TCPCheck is a backend's "option tcp-check" (or a protocol check built
// from tcp-check rules, as HAProxy builds "option redis-check").
type TCPCheck struct {
	Rules []*TCPCheckRule
	// Proto names the protocol check ("redis"); its failures carry no
	// generic "TCPCHK ..." text.
	Proto string
	// inherited marks rules copied from a defaults section: a proxy's own
	// first rule replaces them.
	inherited bool
}

func (tc *TCPCheck) add(r *TCPCheckRule) {
	// A "tcp-check comment" is the comment of the rule after it, unless
	// that one has its own (it still counts as a step).
	if n := len(tc.Rules); n > 0 && tc.Rules[n-1].Action == tcpchkComment && r.Action != tcpchkComment && r.Comment == "" {
		r.Comment = tc.Rules[n-1].Comment
	}
	r.Index = len(tc.Rules)
	tc.Rules = append(tc.Rules, r)
}

// tcpCheckRules returns px's rule list to append to, dropping inherited
// ones and a protocol check's.
func tcpCheckRules(px *Proxy) *TCPCheck {
	if px.TCPCheck == nil || px.TCPCheck.inherited || px.TCPCheck.Proto != "" {
		px.TCPCheck = &TCPCheck{}
	}
	return px.TCPCheck
}

// parseHexString decodes a send-binary or expect binary pattern, with
// HAProxy's error text.
func parseHexString(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return nil, fmt.Errorf("an hex digit is expected (found '%c')", c)
		}
	}
	if len(s)%2 != 0 {
		return nil, errors.New("an even number of hex digit is expected")
	}
	return hex.DecodeString(s)
}

// checkStatusNames are the statuses an expect's ok-status, error-status
// and tout-status accept, as HAProxy lists them.
var checkStatusNames = map[string]string{
	"ok-status":    "'L4OK', 'L6OK', 'L7OK' or 'L7OKC'",
	"error-status": "'L4CON', 'L6RSP', 'L7RSP' or 'L7STS'",
	"tout-status":  "'L4TOUT', 'L6TOUT' or 'L7TOUT'",
}

// parseTCPCheckLine parses "tcp-check <action> ...".
func (e *Engine) parseTCPCheckLine(px *Proxy, l config.Line) error {
	if px.Kind != "defaults" && px.Cap&CapBE == 0 {
		e.warn(l.Warnf("'tcp-check' ignored because %s '%s' has no backend capability.", px.Kind, px.Name))
		return nil
	}
	args := l.Args[1:]
	act := ""
	if len(args) > 0 {
		act = args[0]
	}
	switch act {
	case "comment":
		if len(args) < 2 {
			return l.Errorf("'tcp-check comment' : expects a string as argument.")
		}
		tcpCheckRules(px).add(&TCPCheckRule{Action: tcpchkComment, Comment: args[1]})
	case "connect":
		r := &TCPCheckRule{Action: tcpchkConnect}
		for i := 1; i < len(args); i++ {
			switch args[i] {
			case "port":
				if i+1 >= len(args) {
					return l.Errorf("'tcp-check connect' : '%s' expects a port number or a sample expression as argument..", args[i])
				}
				n, err := strconv.Atoi(args[i+1])
				if err != nil || n < 1 || n > 65535 {
					return l.Errorf("'tcp-check connect' : error detected while parsing port expression : unknown fetch method '%s'.", args[i+1])
				}
				r.Port = n
				i++
			case "addr":
				if i+1 >= len(args) {
					return l.Errorf("'tcp-check connect' : '%s' expects <ipv4|ipv6> as argument..", args[i])
				}
				host := args[i+1]
				if h, p, err := net.SplitHostPort(host); err == nil {
					host = h
					if n, err := strconv.Atoi(p); err == nil && r.Port == 0 {
						r.Port = n
					}
				}
				if _, err := netip.ParseAddr(host); err != nil {
					return l.Errorf("'tcp-check connect' : 'addr' : invalid address: '%s' in '%s'\n..", args[i+1], args[i+1])
				}
				r.Addr = host
				i++
			case "comment":
				if i+1 >= len(args) {
					return l.Errorf("'tcp-check connect' : '%s' expects a string as argument..", args[i])
				}
				r.Comment = args[i+1]
				i++
			case "send-proxy":
				r.SendProxy = true
			case "default":
				r.Default = true
			case "linger":
				r.Linger = true
			case "ssl", "sni", "alpn", "via-socks4":
				return l.Errorf("'tcp-check connect' : '%s' is not supported yet", args[i])
			default:
				return l.Errorf("'tcp-check connect' : expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got '%s' as argument..", args[i])
			}
		}
		tcpCheckRules(px).add(r)
	case "send", "send-binary", "send-lf", "send-binary-lf":
		r := &TCPCheckRule{Action: tcpchkSend}
		if len(args) < 2 || args[1] == "" {
			kind := map[string]string{"send": "string", "send-binary": "binary string", "send-lf": "string", "send-binary-lf": "string"}[act]
			return l.Errorf("'tcp-check %s' : '%s' expects a %s as argument.", act, kind, act)
		}
		switch act {
		case "send":
			r.Data = []byte(args[1]) // the tokenizer applied \r \n \xHH
		case "send-binary":
			b, err := parseHexString(args[1])
			if err != nil {
				return l.Errorf("'tcp-check send-binary' : '%s' invalid binary string (%v).\n.", args[1], err)
			}
			r.Data = b
		default:
			f, err := ParseFormat(e, px, args[1], l)
			if err != nil {
				return err
			}
			r.Fmt, r.Kind = f, act
		}
		for i := 2; i < len(args); i++ {
			if args[i] == "comment" && i+1 < len(args) {
				r.Comment = args[i+1]
				i++
				continue
			}
			return l.Errorf("'tcp-check %s' : expects 'comment' but got '%s' as argument..", act, args[i])
		}
		tcpCheckRules(px).add(r)
	case "expect":
		r, err := e.parseTCPCheckExpect(px, l, args[1:])
		if err != nil {
			return err
		}
		tcpCheckRules(px).add(r)
	case "set-var", "set-var-fmt", "unset-var":
		e.warn(l.Warnf("'tcp-check %s' is not supported yet and is ignored", act))
	default:
		if strings.HasPrefix(act, "set-var") || strings.HasPrefix(act, "unset-var") {
			e.warn(l.Warnf("'tcp-check %s' is not supported yet and is ignored", act))
			return nil
		}
		return l.Errorf("'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '%s'", act)
	}
	return nil
}

const expectKinds = "'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment but got '%s' as argument."

func (e *Engine) parseTCPCheckExpect(px *Proxy, l config.Line, a []string) (*TCPCheckRule, error) {
	r := &TCPCheckRule{Action: tcpchkExpect, MinRecv: -1, OKStatus: "L7OK", ErrStatus: "L7RSP", ToutStat: "L7TOUT"}
	if len(a) == 0 {
		return nil, l.Errorf("'tcp-check expect' : expects at least a matching pattern as arguments.")
	}
	fmtArg := func(i int) (Format, error) {
		return ParseFormat(e, px, a[i], l)
	}
	for i := 0; i < len(a); i++ {
		w := a[i]
		need := func() error {
			if i+1 >= len(a) {
				return l.Errorf("'tcp-check expect' : '%s' expects a <pattern> as argument.", w)
			}
			return nil
		}
		switch w {
		case "!":
			r.Inverse = true
		case "min-recv":
			if i+1 >= len(a) {
				return nil, l.Errorf("'tcp-check expect' : '%s' expects a integer as argument.", w)
			}
			n, _ := strconv.Atoi(a[i+1]) // HAProxy: atoi
			r.MinRecv = n
			i++
		case "string", "rstring", "binary", "rbinary", "string-lf", "binary-lf":
			if r.Kind != "" {
				return nil, l.Errorf("'tcp-check expect' : only on pattern expected.")
			}
			if err := need(); err != nil {
				return nil, err
			}
			r.Kind = w
			p := a[i+1]
			switch w {
			case "string":
				r.Pattern = []byte(p)
			case "binary":
				b, err := parseHexString(p)
				if err != nil {
					return nil, l.Errorf("'tcp-check expect' : '%s' invalid binary string (%v).\n.", p, err)
				}
				r.Pattern = b
			case "rstring", "rbinary":
				re, err := regexp.Compile(p)
				if err != nil {
					return nil, l.Errorf("'tcp-check expect' : regex '%s' is invalid (%v).", p, err)
				}
				r.Re = re
			default:
				f, err := fmtArg(i + 1)
				if err != nil {
					return nil, err
				}
				r.PatFmt = f
			}
			i++
		case "comment":
			if i+1 >= len(a) {
				return nil, l.Errorf("'tcp-check expect' : '%s' expects a string as argument.", w)
			}
			r.Comment = a[i+1]
			i++
		case "on-success", "on-error":
			if i+1 >= len(a) {
				return nil, l.Errorf("'tcp-check expect' : '%s' expects a string as argument.", w)
			}
			f, err := fmtArg(i + 1)
			if err != nil {
				return nil, err
			}
			if w == "on-success" {
				r.OnSuccess = f
			} else {
				r.OnError = f
			}
			i++
		case "ok-status", "error-status", "tout-status":
			if i+1 >= len(a) {
				return nil, l.Errorf("'tcp-check expect' : '%s' expects a string as argument.", w)
			}
			st := a[i+1]
			if allowed := checkStatusNames[w]; !strings.Contains(allowed, "'"+st+"'") {
				return nil, l.Errorf("'tcp-check expect' : '%s' only supports %s status (got '%s')..", w, allowed, st)
			}
			if st == "L7OKC" {
				st = "L7OK"
			}
			switch w {
			case "ok-status":
				r.OKStatus = st
			case "error-status":
				r.ErrStatus = st
			default:
				r.ToutStat = st
			}
			i++
		case "status-code":
			// The check code expression is accepted; the code is not
			// reported (tcp checks report code 0).
			if i+1 >= len(a) {
				return nil, l.Errorf("'tcp-check expect' : '%s' expects an expression as argument.", w)
			}
			i++
		default:
			return nil, l.Errorf("'tcp-check expect' : "+expectKinds+".", w)
		}
	}
	if r.Kind == "" {
		return nil, l.Errorf("'tcp-check expect' : expects at least a matching pattern as arguments.")
	}
	return r, nil
}

// checkTCPCheck warns, as HAProxy does, about tcp-check rules that will
// not run.
func (e *Engine) checkTCPCheck(px *Proxy) {
	tc := px.TCPCheck
	if tc == nil || tc.inherited || tc.Proto != "" || px.Options.TCPChk || len(tc.Rules) == 0 {
		return
	}
	e.warn(&config.Error{Warning: true, Msg: fmt.Sprintf("%s '%s' uses tcp-check rules without 'option tcp-check', so the rules are ignored.", px.Kind, px.Name)})
}

// sampleCtx is the sample context of the check's formats: no stream,
// the response read so far as res.payload, the check connection's
// addresses as the server side's.
func (run *tcpCheckRun) sampleCtx() *sample.Ctx {
	ctx := &sample.Ctx{ResPayload: run.buf, Response: true, Final: true}
	if run.conn != nil {
		ctx.BackSrc, ctx.BackDst = addrPortOf(run.conn.LocalAddr()), addrPortOf(run.conn.RemoteAddr())
	}
	return ctx
}

// tcpCheckRun is the state of one tcp-check run.
type tcpCheckRun struct {
	e      *Engine
	s      *Server
	tc     *TCPCheck
	res    *CheckResult
	conn   net.Conn
	linger bool // the connect rule's "linger"
	buf    []byte
	start  time.Time
	dl     time.Time // the check's deadline
	connTO time.Duration
}

// runTCPCheck performs the rules of "option tcp-check" (or a protocol
// check) against s, HAProxy's tcpcheck_main.
func (e *Engine) runTCPCheck(s *Server, tc *TCPCheck, start time.Time, connTO, readTO time.Duration) *CheckResult {
	run := &tcpCheckRun{e: e, s: s, tc: tc, res: &CheckResult{}, start: start, connTO: connTO}
	run.dl = start.Add(connTO + readTO)
	defer func() {
		if run.conn != nil {
			closeCheckConn(run.conn, run.linger)
		}
	}()
	rules := tc.Rules
	var last *TCPCheckRule
	if first := firstStep(rules); first == nil || first.Action != tcpchkConnect {
		if !run.connect(nil) {
			return run.res
		}
		if first == nil {
			return run.done("L4OK", "")
		}
	}
	// mustRead asks the next expect to read first; lastRead says the
	// server closed (or the buffer is full): no more data will come.
	mustRead, lastRead := true, false
	for i := 0; i < len(rules); i++ {
		r := rules[i]
		switch r.Action {
		case tcpchkComment:
			continue
		case tcpchkConnect:
			if !run.connect(r) {
				return run.res
			}
			mustRead, lastRead = true, false
		case tcpchkSend:
			data := r.Data
			if r.Fmt != nil {
				data = []byte(renderIn(r.Fmt, run.sampleCtx()))
				if r.Kind == "send-binary-lf" {
					data, _ = parseHexString(string(data))
				}
			}
			if !r.KeepInput {
				run.buf = run.buf[:0]
			}
			_ = run.conn.SetWriteDeadline(run.dl)
			if _, err := run.conn.Write(data); err != nil {
				return run.connErr(err, r, "SOCKERR")
			}
			mustRead, lastRead = true, false
		case tcpchkExpect:
			// Consecutive expects share the data read; a mismatch that
			// may still match with more data reads more and starts over
			// from the first of them.
			head := i
			for head > 0 && rules[head-1].Action == tcpchkExpect {
				head--
			}
			waiting := r // the rule reported on a timeout or an error
			for {
				if mustRead {
					var stop bool
					lastRead, stop = run.recv(waiting)
					if stop {
						return run.res
					}
					mustRead = false
				}
				expect := run.expect
				if r.Custom != nil {
					expect = func(r *TCPCheckRule, lastRead bool) (bool, bool) { return r.Custom(run, r, lastRead) }
				}
				wait, fail := expect(r, lastRead)
				if fail {
					return run.res
				}
				if !wait {
					break
				}
				mustRead = true
				waiting = r
				i, r = head, rules[head]
			}
		}
		last = r
	}
	switch {
	case last == nil:
		return run.done("L7OK", "(tcp-check)")
	case last.Action == tcpchkExpect:
		msg := "(tcp-check)"
		if last.OnSuccess != nil {
			msg = run.renderCheckFormat(last.OnSuccess)
		}
		if last.CodeOf != nil {
			run.res.Code = last.CodeOf(run.buf)
		}
		return run.done(last.OKStatus, msg)
	case last.Action == tcpchkConnect:
		return run.done("L4OK", "(tcp-check)")
	}
	return run.done("L7OK", "(tcp-check)")
}

func firstStep(rules []*TCPCheckRule) *TCPCheckRule {
	for _, r := range rules {
		if r.Action != tcpchkComment {
			return r
		}
	}
	return nil
}

func (run *tcpCheckRun) done(status, info string) *CheckResult {
	res := run.res
	res.Status = status
	res.Info = info
	res.ShowInfo = info != ""
	res.Duration = time.Since(run.start)
	res.Passed = status == "L4OK" || status == "L7OK" || status == "L6OK"
	return res
}

// stepText is the " at step N of tcp-check (...)" HAProxy appends to a
// connection error or a timeout (generic tcp-check only).
func (run *tcpCheckRun) stepText(r *TCPCheckRule) string {
	if run.tc.Proto != "" {
		return ""
	}
	if r == nil {
		return " at initial connection step of tcp-check"
	}
	t := fmt.Sprintf(" at step %d of tcp-check", r.Index+1)
	switch r.Action {
	case tcpchkConnect:
		if r.Port != 0 {
			t += fmt.Sprintf(" (connect port %d)", r.Port)
		} else {
			t += " (connect)"
		}
	case tcpchkSend:
		t += " (send)"
	case tcpchkExpect:
		switch r.Kind {
		case "string":
			t += fmt.Sprintf(" (expect string '%s')", r.Pattern)
		case "binary":
			t += fmt.Sprintf(" (expect binary '%s')", r.Pattern) // raw, as HAProxy prints it
		case "rstring":
			t += " (expect regex)"
		case "rbinary":
			t += " (expect binary regex)"
		case "string-lf":
			t += " (expect log-format string)"
		case "binary-lf":
			t += " (expect log-format binary)"
		}
	}
	if r.Comment != "" {
		t += fmt.Sprintf(" comment: '%s'", r.Comment)
	}
	return t
}

// connErr reports an I/O error (or a timeout) at rule r.
func (run *tcpCheckRun) connErr(err error, r *TCPCheckRule, status string) *CheckResult {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		st := "L7TOUT"
		if r != nil && r.Action == tcpchkExpect {
			st = r.ToutStat
		}
		return run.done(st, run.stepText(r)) // HAProxy: " at step N ..."
	}
	return run.done(status, sysErrText(err)+run.stepText(r))
}

// connect opens the check connection (r nil: the implicit first connect).
func (run *tcpCheckRun) connect(r *TCPCheckRule) bool {
	if run.conn != nil {
		closeCheckConn(run.conn, run.linger)
		run.conn = nil
	}
	run.linger = r != nil && r.Linger
	network, addr := run.s.checkTarget()
	if r != nil && network != "unix" {
		host, port, _ := net.SplitHostPort(addr)
		if r.Addr != "" {
			host = r.Addr
		}
		if r.Port != 0 {
			port = strconv.Itoa(r.Port)
		}
		addr = net.JoinHostPort(host, port)
	}
	c, err := net.DialTimeout(network, addr, run.connTO)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			run.done("L4TOUT", run.stepText(r))
			return false
		}
		run.done("L4CON", sysErrText(err)+run.stepText(r))
		return false
	}
	run.conn = c
	run.buf = run.buf[:0]
	v := 0
	switch {
	case r == nil || r.Default:
		v = run.s.checkProxyVersion()
	case r.SendProxy:
		v = max(run.s.SendProxy, 1)
	}
	if v != 0 {
		if _, err := c.Write(checkProxyHeader(c, v)); err != nil {
			run.connErr(err, r, "SOCKERR")
			return false
		}
	}
	return true
}

// closeCheckConn closes a check connection as HAProxy does: a shutdown
// then a reset (no TIME_WAIT left on the proxy), unless linger asks for a
// clean close.
func closeCheckConn(c net.Conn, linger bool) {
	if tc, ok := c.(*net.TCPConn); ok && !linger {
		_ = tc.CloseWrite()
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// checkProxyVersion is the PROXY protocol version a check connection
// starts with (0: none): the server's send-proxy unless the check goes
// to another "port" or "addr", or check-send-proxy's.
func (s *Server) checkProxyVersion() int {
	_, chkAddr, chkPort := s.checkSettings()
	switch {
	case s.Check.SendProxy:
		return max(s.SendProxy, 1)
	case chkAddr == "" && chkPort == 0:
		return s.SendProxy
	}
	return 0
}

// checkProxyHeader is the PROXY header of a check connection, as HAProxy
// sends it: version 1 with the connection's own addresses, version 2 a
// LOCAL command.
func checkProxyHeader(c net.Conn, v int) []byte {
	if v == 2 {
		return netio.AppendProxyV2(nil, netip.AddrPort{}, netip.AddrPort{})
	}
	return netio.AppendProxyV1(nil, addrPortOf(c.LocalAddr()), addrPortOf(c.RemoteAddr()))
}

// recv reads what the server sends for expect rule r: lastRead is true
// when the server closed; stop when the check ended (res is set).
func (run *tcpCheckRun) recv(r *TCPCheckRule) (lastRead, stop bool) {
	_ = run.conn.SetReadDeadline(run.dl)
	var tmp [16384]byte
	n, err := run.conn.Read(tmp[:])
	run.buf = append(run.buf, tmp[:n]...)
	if err == nil {
		return len(run.buf) >= 1<<16, false // a full buffer: no more waiting
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		run.connErr(err, r, "L7TOUT")
		return true, true
	}
	if len(run.buf) > 0 {
		return true, false // data then an error or EOF: judge the data
	}
	if !errors.Is(err, io.EOF) {
		run.connErr(err, r, "SOCKERR")
		return true, true
	}
	msg := fmt.Sprintf("TCPCHK got an empty response at step %d", r.Index+1)
	if r.Comment != "" {
		msg += fmt.Sprintf(" comment: '%s'", r.Comment)
	}
	run.done(r.ErrStatus, msg)
	return true, true
}

// expect evaluates expect rule r on the data read; wait asks for more.
func (run *tcpCheckRun) expect(r *TCPCheckRule, lastRead bool) (wait, fail bool) {
	data := run.buf
	if !lastRead {
		if (r.Kind == "string" || r.Kind == "binary") && len(data) < len(r.Pattern) {
			return true, false
		}
		if r.MinRecv > 0 && len(data) < r.MinRecv {
			return true, false
		}
	}
	var match bool
	switch r.Kind {
	case "string", "binary":
		match = strings.Contains(string(data), string(r.Pattern))
	case "rstring":
		match = r.Re.Match(data)
	case "rbinary":
		match = r.Re.MatchString(fmt.Sprintf("%X", data))
	case "string-lf":
		match = strings.Contains(string(data), renderIn(r.PatFmt, run.sampleCtx()))
	case "binary-lf":
		p, err := parseHexString(renderIn(r.PatFmt, run.sampleCtx()))
		match = err == nil && strings.Contains(string(data), string(p))
	}
	if !match && !lastRead && r.MinRecv == -1 {
		return true, false
	}
	if match != r.Inverse {
		return false, false
	}
	var msg string
	switch {
	case r.OnError != nil:
		msg = run.renderCheckFormat(r.OnError)
	case run.tc.Proto != "":
	default:
		if match {
			msg = "TCPCHK matched unwanted content"
		} else {
			msg = "TCPCHK did not match content"
		}
		step := r.Index + 1
		switch r.Kind {
		case "string":
			msg += fmt.Sprintf(" '%s' at step %d", r.Pattern, step)
		case "binary":
			msg += fmt.Sprintf(" (binary) at step %d", step)
		case "rstring":
			msg += fmt.Sprintf(" (regex) at step %d", step)
		case "rbinary":
			msg += fmt.Sprintf(" (binary regex) at step %d", step)
		case "string-lf":
			msg += fmt.Sprintf(" (log-format string) at step %d", step)
		case "binary-lf":
			msg += fmt.Sprintf(" (log-format binary) at step %d", step)
		}
	}
	if r.Comment != "" {
		msg += " comment: " + r.Comment
	}
	if r.CodeOf != nil {
		run.res.Code = r.CodeOf(data)
	}
	run.done(r.ErrStatus, msg)
	return false, true
}

// checkServerPorts reports a checked server with no port to check, as
// HAProxy's init_srv_check does: a server without a service port needs a
// check port, or a ruleset starting with a "tcp-check connect" that has
// one (and every connect rule must have one).
func (px *Proxy) checkServerPorts() error {
	var rules []*TCPCheckRule
	hasRules := px.Options.HTTPChk
	if px.Options.TCPChk && px.TCPCheck != nil {
		rules = px.TCPCheck.Rules
		hasRules = len(rules) > 0
	}
	for _, s := range px.Servers {
		if !s.Check.Enabled || !s.PortFromClient || s.Check.Port != 0 || s.Addr.Net == "unix" {
			continue
		}
		where := fmt.Sprintf("config: %s '%s': server '%s' has neither service port nor check port", proxyTypeStr(px), px.Name, s.Name)
		if !hasRules {
			return errors.New(where + ".")
		}
		if r := firstStep(rules); r == nil || r.Action != tcpchkConnect || r.Port == 0 {
			return errors.New(where + " nor tcp_check rule 'connect' with port information.")
		}
		for _, r := range rules {
			if r.Action == tcpchkConnect && r.Port == 0 {
				return errors.New(where + ", and a tcp_check rule 'connect' with no port information.")
			}
		}
	}
	return nil
}
