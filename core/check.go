package core

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"luaproxy/core/config"
)

// CheckResult is the outcome of one health check, in HAProxy's terms.
type CheckResult struct {
	// Status is the short status name shown by "show stat" (L4OK, L4CON,
	// L4TOUT, L7OK, L7STS, L7RSP, L7TOUT).
	Status string
	// Code is the HTTP status of a layer-7 check (0 otherwise).
	Code int
	// Info is the extra information (the system error, the HTTP reason).
	Info string
	// ShowInfo reports Info even for a passed check (tcp-check's
	// "(tcp-check)"); a failed check always reports it.
	ShowInfo bool
	Duration time.Duration
	// Passed reports a successful check.
	Passed bool
	// Health is the server's health counter after this check, with its
	// rise and fall settings.
	Health, Rise, Fall int
}

var checkDescs = map[string]string{
	"L4OK":    "Layer4 check passed",
	"L4CON":   "Layer4 connection problem",
	"L4TOUT":  "Layer4 timeout",
	"L7OK":    "Layer7 check passed",
	"L7STS":   "Layer7 wrong status",
	"L7RSP":   "Layer7 invalid response",
	"L7TOUT":  "Layer7 timeout",
	"L6OK":    "Layer6 check passed",
	"L6TOUT":  "Layer6 timeout",
	"L6RSP":   "Layer6 invalid response",
	"SOCKERR": "Socket error",
}

// Desc returns the long description ("Layer4 connection problem").
func (r *CheckResult) Desc() string { return checkDescs[r.Status] }

// describe formats the reason as HAProxy's state-change lines do.
func (r *CheckResult) describe() string {
	var b strings.Builder
	b.WriteString(r.Desc())
	// HAProxy prints the code of every status from L7OK on (L7OK,
	// L7STS), 0 for a tcp-check.
	if r.Code != 0 || r.Status == "L7OK" || r.Status == "L7STS" {
		fmt.Fprintf(&b, ", code: %d", r.Code)
	}
	if r.Info != "" && (!r.Passed || r.ShowInfo) {
		fmt.Fprintf(&b, ", info: %q", r.Info)
	}
	fmt.Fprintf(&b, ", check duration: %dms", r.Duration.Milliseconds())
	return b.String()
}

// HTTPCheck is a backend's "option httpchk" with its "http-check" rules.
type HTTPCheck struct {
	Method, URI, Version string
	Headers              [][2]string
	// ExpectStatus is the status list of "http-check expect status"
	// (empty: any 2xx or 3xx).
	ExpectStatus []int
	// ExpectString is "http-check expect string".
	ExpectString string
	ExpectNot    bool
}

func parseHTTPChk(px *Proxy, l config.Line, args []string) error {
	hc := &HTTPCheck{Method: "OPTIONS", URI: "/", Version: "HTTP/1.0"}
	switch len(args) {
	case 0:
	case 1:
		hc.URI = args[0]
	case 2:
		hc.Method, hc.URI = args[0], args[1]
	default:
		hc.Method, hc.URI = args[0], args[1]
		// "HTTP/1.1\r\nHost:\ www" is the legacy way of adding headers.
		v := strings.ReplaceAll(strings.Join(args[2:], " "), `\r\n`, "\r\n")
		parts := strings.Split(v, "\r\n")
		hc.Version = parts[0]
		for _, h := range parts[1:] {
			if n, val, ok := strings.Cut(h, ":"); ok {
				hc.Headers = append(hc.Headers, [2]string{strings.TrimSpace(n), strings.TrimSpace(val)})
			}
		}
	}
	if px.HTTPCheck != nil {
		hc.ExpectStatus, hc.ExpectString, hc.ExpectNot = px.HTTPCheck.ExpectStatus, px.HTTPCheck.ExpectString, px.HTTPCheck.ExpectNot
	}
	px.HTTPCheck = hc
	return nil
}

// parseHTTPCheckLine parses "http-check expect|send ...".
func parseHTTPCheckLine(px *Proxy, l config.Line) error {
	args := l.Args[1:]
	if px.HTTPCheck == nil {
		px.HTTPCheck = &HTTPCheck{Method: "OPTIONS", URI: "/", Version: "HTTP/1.0"}
	}
	hc := px.HTTPCheck
	if len(args) == 0 {
		return l.Errorf("'http-check' expects 'comment', 'connect', 'disable-on-404', 'expect', 'send-state', 'set-var', 'unset-var', 'send' but got nothing")
	}
	switch args[0] {
	case "expect":
		a := args[1:]
		if len(a) > 0 && a[0] == "!" {
			hc.ExpectNot = true
			a = a[1:]
		}
		if len(a) < 2 {
			return l.Errorf("'http-check expect' : expects a matching method and a pattern")
		}
		switch a[0] {
		case "status":
			hc.ExpectStatus = nil
			for _, p := range strings.Split(a[1], ",") {
				lo, hi, rng := strings.Cut(p, "-")
				a, err1 := strconv.Atoi(lo)
				b := a
				var err2 error
				if rng {
					b, err2 = strconv.Atoi(hi)
				}
				if err1 != nil || err2 != nil {
					return l.Errorf("'http-check expect status' : invalid status code '%s'", p)
				}
				for c := a; c <= b; c++ {
					hc.ExpectStatus = append(hc.ExpectStatus, c)
				}
			}
		case "string":
			hc.ExpectString = a[1]
		default:
			return l.Errorf("'http-check expect' : '%s' is not supported yet", a[0])
		}
	case "send":
		a := args[1:]
		for i := 0; i+1 < len(a); i++ {
			switch a[i] {
			case "meth":
				hc.Method = a[i+1]
			case "uri":
				hc.URI = a[i+1]
			case "ver":
				hc.Version = a[i+1]
			case "hdr":
				if i+2 >= len(a) {
					return l.Errorf("'http-check send' : 'hdr' expects <name> and <value>")
				}
				hc.Headers = append(hc.Headers, [2]string{a[i+1], a[i+2]})
				i++
			default:
				return l.Errorf("'http-check send' : unknown argument '%s'", a[i])
			}
			i++
		}
	case "disable-on-404", "send-state", "comment":
	default:
		return l.Errorf("'http-check %s' is not supported yet", args[0])
	}
	return nil
}

// checker runs one server's health checks.
type checker struct {
	stop chan struct{}
}

// startCheck starts the server's check loop if it has "check".
func (e *Engine) startCheck(s *Server) {
	if !s.Check.Enabled {
		return
	}
	c := &checker{stop: make(chan struct{})}
	s.check = c
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.checkLoop(s, c) // not s.check: "enable health" replaces it
	}()
}

func (c *checker) halt() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
}

func (e *Engine) checkLoop(s *Server, c *checker) {
	// Spread the first checks as HAProxy does, within a short time.
	first := time.Duration(rand.Int64N(int64(min(s.Check.Inter, 100*time.Millisecond)) + 1))
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-e.done:
			return
		case <-t.C:
		}
		if s.Admin().InMaint() {
			t.Reset(s.Check.Inter)
			continue
		}
		res := e.runCheck(s)
		e.reportCheck(s, res)
		t.Reset(s.nextCheckDelay())
	}
}

func (s *Server) nextCheckDelay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.Check
	switch {
	case s.state == StateStopped && s.health == 0 && c.DownInter > 0:
		return c.DownInter
	case s.health != 0 && s.health != c.Rise+c.Fall-1 && c.FastInter > 0:
		return c.FastInter
	}
	return c.Inter
}

// reportCheck applies a check result to the health counter (HAProxy's
// rise/fall state machine) and moves the server when a threshold is
// crossed.
func (e *Engine) reportCheck(s *Server, res *CheckResult) {
	s.mu.Lock()
	rise, fall := s.Check.Rise, s.Check.Fall
	prev := s.lastChk
	up := s.state != StateStopped
	oldHealth := s.health
	change := 0
	if res.Passed {
		if s.health < rise+fall-1 {
			s.health++
		}
		if s.health >= rise {
			s.health = rise + fall - 1
			if !up {
				change = 1
			}
		}
	} else {
		if s.health > rise {
			s.health--
		} else {
			s.health = 0
			if up {
				change = -1
			}
		}
	}
	res.Health, res.Rise, res.Fall = s.health, rise, fall
	s.lastChk = res
	drain := s.weight == 0
	s.mu.Unlock()
	if s.Proxy.Options.LogHealthChecks && (prev == nil || prev.Status != res.Status || s.health != oldHealth) {
		e.logCheck(s, res, drain)
	}
	if prev == nil || prev.Status != res.Status || prev.Health != res.Health {
		ev := s.event(EventServerCheck)
		ev.Check = res
		e.Events.Publish(ev)
	}
	if change != 0 {
		e.setRunning(s, change > 0, "HEALTH", res)
	}
}

// logCheck logs a check whose status or health changed, for "option
// log-health-checks", in HAProxy's words ("Health check for server be/s1
// failed, reason: ..., status: 2/3 UP.").
func (e *Engine) logCheck(s *Server, res *CheckResult, drain bool) {
	verdict := "failed"
	if res.Passed {
		verdict = "succeeded"
	}
	kind := ""
	if s.Backup {
		kind = "backup "
	}
	h, of, st := res.Health, res.Rise, "DOWN"
	if res.Health >= res.Rise {
		h, of, st = res.Health-res.Rise+1, res.Fall, "UP"
		if drain {
			st = "DRAIN"
		}
	}
	msg := fmt.Sprintf("Health check for %sserver %s %s, reason: %s, status: %d/%d %s.",
		kind, s, verdict, res.describe(), h, of, st)
	e.Log.Warning("%s", msg)
	s.Proxy.SendLog(e, LogNotice, msg)
}

// runCheck performs one check: a TCP connect, then the HTTP exchange of
// "option httpchk".
func (e *Engine) runCheck(s *Server) *CheckResult {
	px := s.Proxy
	start := time.Now()
	inter := s.Check.Inter
	connTO := px.Timeouts.Connect
	if connTO == 0 || connTO > inter {
		connTO = inter
	}
	readTO := px.Timeouts.Check
	if readTO == 0 {
		readTO = inter
	}
	if px.Options.TCPChk {
		tc := px.TCPCheck
		if tc == nil {
			tc = &TCPCheck{}
		}
		return e.runTCPCheck(s, tc, start, connTO, readTO)
	}
	network, addr := s.checkTarget()
	res := &CheckResult{}
	done := func(status string) *CheckResult {
		res.Status = status
		res.Duration = time.Since(start)
		res.Passed = status == "L4OK" || status == "L6OK" || status == "L7OK"
		return res
	}
	conn, err := net.DialTimeout(network, addr, connTO)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return done("L4TOUT")
		}
		res.Info = sysErrText(err)
		return done("L4CON")
	}
	defer closeCheckConn(conn, false)
	if v := s.checkProxyVersion(); v != 0 {
		_ = conn.SetDeadline(start.Add(connTO + readTO))
		if _, err := conn.Write(checkProxyHeader(conn, v)); err != nil {
			res.Info = sysErrText(err)
			return done("SOCKERR")
		}
	}
	hc := px.HTTPCheck
	httpChk := hc != nil && px.Options.HTTPChk
	if s.checkTLS != nil {
		// check-ssl: the handshake is the layer 6 check
		tc := tls.Client(conn, s.checkTLS)
		_ = conn.SetDeadline(start.Add(connTO + readTO))
		if err := tc.Handshake(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return done("L6TOUT")
			}
			res.Info = "SSL handshake failure"
			return done("L6RSP")
		}
		conn = tc
		if !httpChk {
			return done("L6OK")
		}
	}
	if !httpChk {
		return done("L4OK")
	}
	_ = conn.SetDeadline(start.Add(connTO + readTO))
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s %s\r\n", hc.Method, hc.URI, hc.Version)
	for _, h := range hc.Headers {
		fmt.Fprintf(&req, "%s: %s\r\n", h[0], h[1])
	}
	req.WriteString("\r\n")
	if _, err := conn.Write([]byte(req.String())); err != nil {
		res.Info = sysErrText(err)
		return done("L4CON")
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return done("L7TOUT")
		}
		return done("L7RSP")
	}
	f := strings.SplitN(strings.TrimRight(line, "\r\n"), " ", 3)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") || len(f[1]) != 3 {
		return done("L7RSP")
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return done("L7RSP")
	}
	res.Code = code
	if len(f) == 3 {
		res.Info = f[2]
	}
	ok := code >= 200 && code < 400
	if len(hc.ExpectStatus) > 0 {
		ok = false
		for _, c := range hc.ExpectStatus {
			ok = ok || c == code
		}
	}
	if hc.ExpectString != "" {
		// Read the rest of the response within the deadline.
		var body strings.Builder
		buf := make([]byte, 4096)
		for body.Len() < 1<<20 {
			n, err := br.Read(buf)
			body.Write(buf[:n])
			if err != nil {
				break
			}
		}
		ok = strings.Contains(body.String(), hc.ExpectString)
	}
	if hc.ExpectNot {
		ok = !ok
	}
	if !ok {
		return done("L7STS")
	}
	return done("L7OK")
}

// checkTarget returns where checks connect: "addr" and "port" override
// the server's address.
func (s *Server) checkTarget() (string, string) {
	a, chkAddr, chkPort := s.checkSettings() // the runtime API changes them
	network, addr := a.Net, a.Address
	if network == "unix" {
		return network, addr
	}
	host, port, _ := net.SplitHostPort(addr)
	if chkAddr != "" {
		host = chkAddr
	}
	if chkPort != 0 {
		port = strconv.Itoa(chkPort)
	}
	return network, net.JoinHostPort(host, port)
}

// sysErrText returns the system error text HAProxy prints ("Connection
// refused").
func sysErrText(err error) string {
	var se syscall.Errno
	if errors.As(err, &se) {
		s := se.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	var pe *os.SyscallError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
