package core

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"luaproxy/core/config"
	"luaproxy/netio"
)

// StatsSocket is one "stats socket" of the global section.
type StatsSocket struct {
	Addr netio.Addr
	// Level is the sessions' initial level (default operator).
	Level CLILevel
	// Mode is the unix socket's permissions ("mode 600"); 0 keeps the umask's.
	Mode os.FileMode
	// ExposeFD is "expose-fd listeners" (accepted; luaproxy does not hand
	// its listeners over, see -x in HAProxy).
	ExposeFD bool
	Line     config.Line

	ln      net.Listener
	serving bool // serveCLI accepts on ln
}

// cliState is the engine's runtime API: its sockets and settings ("stats
// timeout", "stats maxconn"), and what the engine keeps for "show stat" and
// "disable frontend".
type cliState struct {
	sockets []*StatsSocket
	timeout time.Duration // "stats timeout", default 10s
	maxconn int           // "stats maxconn", default 10

	mu      sync.Mutex
	started bool
	stopped bool
	slots   chan struct{}
	wg      sync.WaitGroup // accept loops

	stats statsTracker
	fe    frontendControl
}

func (e *Engine) cliState() *cliState {
	if e.cli == nil {
		e.cli = &cliState{timeout: 10 * time.Second, maxconn: 10}
	}
	return e.cli
}

// StatsSockets returns the configured stats sockets.
func (e *Engine) StatsSockets() []*StatsSocket { return e.cliState().sockets }

// parseStats parses the global "stats socket|timeout|maxconn|bind-process"
// keywords.
func (e *Engine) parseStats(l config.Line) error {
	st := e.cliState()
	args := l.Args
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	switch sub {
	case "socket":
		if len(args) < 3 || args[2] == "" {
			return l.Errorf("'stats socket' in global section expects an address or a path to a UNIX socket")
		}
		a, err := netio.ParseAddr(args[2])
		if err != nil {
			return l.Errorf("'stats socket' : %v", err)
		}
		ss := &StatsSocket{Addr: a, Level: CLIOperator, Line: l}
		if err := ss.parseOptions(l, args[3:]); err != nil {
			return err
		}
		st.sockets = append(st.sockets, ss)
	case "timeout":
		v := ""
		if len(args) > 2 {
			v = args[2]
		}
		d, err := config.ParseTime(v, time.Millisecond)
		if err != nil {
			return l.Errorf("'stats timeout' : %v", err)
		}
		if d <= 0 {
			return l.Errorf("'stats timeout' expects a positive value")
		}
		st.timeout = d
	case "maxconn":
		n := 0
		if len(args) > 2 {
			n, _ = strconv.Atoi(args[2])
		}
		if n <= 0 {
			return l.Errorf("'stats maxconn' expects a positive value")
		}
		st.maxconn = n
	case "bind-process":
	default:
		return l.Errorf("'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got '%s')", sub)
	}
	return nil
}

// parseOptions parses the bind options of a stats socket.
func (ss *StatsSocket) parseOptions(l config.Line, opts []string) error {
	for i := 0; i < len(opts); i++ {
		kw, val := opts[i], ""
		if i+1 < len(opts) {
			val = opts[i+1]
		}
		switch kw {
		case "level":
			if val == "" {
				return l.Errorf("'stats socket' : ''level' : missing level'")
			}
			lvl, ok := ParseCLILevel(val)
			if !ok {
				return l.Errorf("'stats socket' : ''level' only supports 'user', 'operator', and 'admin' (got '%s')'", val)
			}
			ss.Level = lvl
		case "mode":
			m, err := strconv.ParseUint(val, 8, 32)
			if err != nil {
				return l.Errorf("'stats socket' : ''mode' : missing or invalid mode '%s' (octal integer expected)'", val)
			}
			ss.Mode = os.FileMode(m)
		case "expose-fd":
			if val != "listeners" {
				return l.Errorf("'stats socket' : ''expose-fd' only supports 'listeners' (got '%s')'", val)
			}
			ss.ExposeFD = true
		case "user", "group", "uid", "gid", "severity-output", "process", "thread", "name", "id",
			"maxconn", "backlog", "nice", "interface", "namespace":
			// HAProxy compat: accepted; ownership and tuning are left to
			// the system.
			if val == "" {
				return l.Errorf("'stats socket' : '%s' : missing value", kw)
			}
		case "accept-proxy", "transparent", "v4v6", "v6only", "defer-accept", "tfo":
			continue // flags without a value
		default:
			return l.Errorf("'stats socket' : unknown keyword '%s'.", kw)
		}
		i++
	}
	return nil
}

// startCLI opens the stats sockets and starts the event tracking behind
// "show stat"; it runs at the start of Engine.Start.
func (e *Engine) startCLI() error {
	st := e.cliState()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.started {
		return nil
	}
	st.started = true
	for _, px := range e.Proxies {
		for _, s := range px.servers() {
			s.mu.Lock()
			if s.admin.InMaint() {
				// HAProxy compat: a "disabled" server starts stopped.
				s.state, s.health = StateStopped, 0
			}
			s.mu.Unlock()
		}
	}
	st.stats.begin(e)
	st.slots = make(chan struct{}, st.maxconn)
	for _, ss := range st.sockets {
		ln, err := netio.Listen(ss.Addr, netio.ListenOptions{Mode: ss.Mode})
		if err != nil {
			kind := "socket"
			if ss.Addr.Net == "unix" {
				kind = "UNIX socket"
			}
			for _, o := range st.sockets {
				if o.ln != nil {
					_ = o.ln.Close()
				}
			}
			return fmt.Errorf("Binding [%s] for frontend GLOBAL: cannot bind %s (%v) [%s]", ss.Line, kind, unwrapSyscall(err), ss.Addr)
		}
		ss.ln = ln
	}
	return nil
}

// serveCLI starts accepting on the stats sockets startCLI opened.
func (e *Engine) serveCLI() {
	st := e.cliState()
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, ss := range st.sockets {
		if ss.ln != nil && !ss.serving {
			ss.serving = true
			st.wg.Add(1)
			go e.acceptCLI(ss)
		}
	}
}

// stopCLI closes the stats sockets; sessions in progress go on.
func (e *Engine) stopCLI() {
	st := e.cliState()
	st.mu.Lock()
	if st.stopped || !st.started {
		st.stopped = true
		st.mu.Unlock()
		return
	}
	st.stopped = true
	st.mu.Unlock()
	for _, ss := range st.sockets {
		if ss.ln != nil {
			_ = ss.ln.Close()
		}
	}
	st.wg.Wait()
	st.stats.stop()
}

func (e *Engine) acceptCLI(ss *StatsSocket) {
	st := e.cli
	defer st.wg.Done()
	for {
		select {
		case st.slots <- struct{}{}: // "stats maxconn": the rest wait in the backlog
		case <-e.done:
			return
		}
		c, err := ss.ln.Accept()
		if err != nil {
			<-st.slots
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		go func() {
			defer func() { <-st.slots }()
			e.ServeCLI(c, ss.Level)
		}()
	}
}

// cliSession is one connection to a stats socket.
type cliSession struct {
	e            *Engine
	conn         net.Conn
	level        CLILevel
	prompt       bool
	experimental bool
	expert       bool
	timeout      time.Duration
	quit         bool
}

// ServeCLI runs the runtime API on c, at level, until the client quits, the
// command line of a non-interactive session is done, or "stats timeout"
// passes without a command. It closes c.
func (e *Engine) ServeCLI(c net.Conn, level CLILevel) {
	s := &cliSession{e: e, conn: c, level: level, timeout: e.cliState().timeout}
	defer c.Close()
	r := bufio.NewReaderSize(c, 16384)
	w := bufio.NewWriter(c)
	var pending []string // commands left on the line read last
	for !s.quit {
		if len(pending) == 0 {
			line, ok := s.readLine(r)
			if !ok {
				return
			}
			pending = splitCLILine(line)
		}
		cmd := pending[0]
		pending = pending[1:]
		payload, collecting := "", strings.HasSuffix(cmd, payloadPattern)
		if collecting {
			// HAProxy compat: the payload is the following lines, up to an
			// empty one, taken whole (';' is not a separator there).
			var pl []string
			for collecting {
				if s.prompt {
					_, _ = w.WriteString("+ ")
					_ = w.Flush()
				}
				line, ok := s.readLine(r)
				if !ok {
					return
				}
				if line == "" {
					collecting = false
					break
				}
				pl = append(pl, line)
			}
			payload = strings.Join(pl, "\n")
			pending = nil
		}
		s.run(w, cmd, payload)
		if s.quit {
			_ = w.Flush()
			return
		}
		if s.prompt {
			_, _ = w.WriteString("\n> ")
		} else {
			_, _ = w.WriteString("\n")
		}
		_ = c.SetWriteDeadline(time.Now().Add(s.timeout))
		if err := w.Flush(); err != nil {
			return
		}
		// HAProxy compat: a non-interactive session ends once the
		// commands already received are done.
		if !s.prompt && len(pending) == 0 && r.Buffered() == 0 {
			return
		}
	}
}

// payloadPattern ends a command line followed by a payload.
const payloadPattern = "<<"

// readLine reads one line, without its "\n" or "\r\n". A last line
// without a newline counts; ok is false at the end of the input or on
// timeout.
func (s *cliSession) readLine(r *bufio.Reader) (string, bool) {
	_ = s.conn.SetReadDeadline(time.Now().Add(s.timeout))
	line, err := r.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", false
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	return line, true
}

// splitCLILine cuts a line at its unescaped semicolons.
func splitCLILine(line string) []string {
	var out []string
	start := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case ';':
			out = append(out, line[start:i])
			start = i + 1
		}
	}
	return append(out, line[start:])
}

// splitCLIWords cuts a command into words as HAProxy's cli_parse_request:
// blanks separate words, a backslash escapes the next character (a blank,
// a semicolon, a backslash).
func splitCLIWords(cmd string) (words []string, payloadMark bool) {
	i := 0
	for {
		for i < len(cmd) && (cmd[i] == ' ' || cmd[i] == '\t') {
			i++
		}
		if i >= len(cmd) {
			return words, false
		}
		if cmd[i:] == payloadPattern {
			return words, true
		}
		var w strings.Builder
		for i < len(cmd) && cmd[i] != ' ' && cmd[i] != '\t' {
			if cmd[i] == '\\' {
				i++
				if i >= len(cmd) {
					break
				}
			}
			w.WriteByte(cmd[i])
			i++
		}
		words = append(words, w.String())
	}
}

// run executes one command and writes its answer to w.
func (s *cliSession) run(w io.Writer, cmd, payload string) {
	args, _ := splitCLIWords(cmd)
	if len(args) == 0 {
		args = []string{""}
	}
	switch args[0] {
	case "help":
		_, _ = io.WriteString(w, cliUsage(args, s))
		return
	case "prompt":
		s.prompt = !s.prompt
		return
	case "quit":
		s.quit = true
		return
	}
	c := findCLI(args)
	if c == nil {
		_, _ = io.WriteString(w, cliUsage(args, s))
		return
	}
	if c.Experimental && !s.experimental {
		_, _ = io.WriteString(w, "This command is restricted to experimental mode only.\n")
		return
	}
	if s.level < c.Level {
		_, _ = io.WriteString(w, cliPermissionDenied)
		return
	}
	c.Fn(&CLIRequest{Engine: s.e, Args: args, Payload: payload, sess: s, w: w})
}
