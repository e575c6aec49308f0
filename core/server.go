package core

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"luaproxy/core/config"
	"luaproxy/netio"
)

// ServerState is a server's operational state, as HAProxy's SRV_ST_*.
type ServerState int

// The operational states.
const (
	StateStopped  ServerState = iota // DOWN
	StateStarting                    // coming up (slowstart)
	StateRunning                     // UP
	StateStopping                    // going down (NOLB)
)

var stateNames = [...]string{"STOPPED", "STARTING", "RUNNING", "STOPPING"}

func (s ServerState) String() string { return stateNames[s] }

// AdminFlags are a server's administrative flags (SRV_ADMF_*).
type AdminFlags uint8

// The admin flags.
const (
	AdminMaint  AdminFlags = 1 << iota // forced maintenance (runtime API, Lua)
	AdminCMaint                        // maintenance from the configuration ("disabled")
	AdminDrain                         // forced drain
)

// Names returns the HAProxy names of the set flags ("MAINT", "CMAINT", "DRAIN").
func (a AdminFlags) Names() []string {
	var out []string
	for i, n := range []string{"MAINT", "CMAINT", "DRAIN"} {
		if a&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// InMaint reports whether either maintenance flag is set.
func (a AdminFlags) InMaint() bool { return a&(AdminMaint|AdminCMaint) != 0 }

// Server is one server of a backend.
type Server struct {
	Name string
	ID   int // puid, unique in its backend
	// NonStick is "non-stick": stick store rules never store this server.
	NonStick bool
	// SendProxy is "send-proxy" (1) or "send-proxy-v2" (2): the PROXY
	// protocol header starts each connection to the server.
	SendProxy int
	// Cookie is the server's "cookie" value: a request carrying the
	// backend's persistence cookie with this value goes to the server
	// (cookie.go); "" for none.
	Cookie string
	// HashKey is "hash-key": what places the server's nodes on the
	// consistent-hash ring, "id" (also when empty), "addr" or
	// "addr-port" (hash.go, Server.ringKey).
	HashKey string
	RID     int
	Addr    netio.Addr
	Proxy   *Proxy
	Line    config.Line
	// PortFromClient is set when the address has no port: the connection
	// goes to the port the client connected to (HAProxy's "server s 10.0.0.1").
	PortFromClient bool

	Backup bool
	// MaxConn limits concurrent connections (0: none); the rest wait in
	// the backend's queue, or in the server's when they must use it.
	MaxConn int
	// MaxQueue limits the streams waiting in the server's own queue (0:
	// none); more get a 503, or load balancing with "option redispatch".
	MaxQueue int
	Check    CheckConfig
	// tls is the server's TLS settings (nil: none given); checkTLS the
	// configuration of its checks over TLS (ssl_server.go).
	tls      *serverTLS
	checkTLS *tls.Config

	// Conns counts the connections currently open to the server.
	Conns atomic.Int64
	// Total counts connections ever made; Failed the connect failures.
	Total, Failed atomic.Int64

	evMu    sync.Mutex // serializes state transitions and their events
	mu      sync.Mutex
	state   ServerState
	admin   AdminFlags
	weight  int // user weight (uweight), 0..256
	iweight int // initial weight from the configuration
	health  int // check health counter: up when >= rise
	lastChk *CheckResult
	check   *checker
	lb      lbState
	rates   rates // per-second session rate (srv_sess_rate)
	// queue holds the streams waiting for a slot of this server in
	// particular (balance.go); dequeued counts those served from it, qPeak
	// its longest. Guarded by the proxy's qMu.
	queue    []*waiter
	dequeued int64
	qPeak    int64
	pool     pool
	deleted  bool
}

// CheckConfig is a server's health-check settings.
type CheckConfig struct {
	Enabled   bool
	Inter     time.Duration // "inter", default 2s
	FastInter time.Duration // "fastinter": while changing state
	DownInter time.Duration // "downinter": while down
	Rise      int           // default 2
	Fall      int           // default 3
	Port      int           // "port": 0 = the server's port
	Addr      string        // "addr": "" = the server's address
	// SendProxy is "check-send-proxy": checks start with a PROXY header
	// even with "port" or "addr", or without the server's send-proxy.
	SendProxy bool
}

// State returns the operational state.
func (s *Server) State() ServerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Admin returns the admin flags.
func (s *Server) Admin() AdminFlags {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.admin
}

// Weight returns the user weight.
func (s *Server) Weight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.weight
}

// LastCheck returns the last health-check result (nil before the first).
func (s *Server) LastCheck() *CheckResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastChk
}

// usableLocked reports whether load balancing may pick the server.
// s.mu must be held.
func (s *Server) usableLocked() bool {
	return !s.admin.InMaint() && s.admin&AdminDrain == 0 && s.weight > 0 &&
		(s.state == StateRunning || s.state == StateStarting)
}

// isUpLocked reports whether the server counts as up ("active servers
// left"): not in maintenance and operational. s.mu must be held.
func (s *Server) isUpLocked() bool {
	return !s.admin.InMaint() && (s.state == StateRunning || s.state == StateStarting)
}

// IsUp reports whether the server is up and not in maintenance.
func (s *Server) IsUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.isUpLocked()
}

// Full reports whether the server is at its maxconn.
func (s *Server) Full() bool { return s.MaxConn > 0 && s.Conns.Load() >= int64(s.MaxConn) }

// String returns "backend/server".
func (s *Server) String() string { return s.Proxy.Name + "/" + s.Name }

func (s *Server) event(t EventType) *Event {
	return &Event{Type: t, ServerName: s.Name, ServerID: s.ID, ServerRID: s.RID,
		ProxyName: s.Proxy.Name, ProxyID: s.Proxy.ID, Server: s}
}

// parseServer parses "server <name> <addr>[:port] [options]": the
// section's "default-server" options apply first, then the line's own.
func (e *Engine) parseServer(px *Proxy, l config.Line) (*Server, error) {
	args := l.Args
	if len(args) < 3 {
		return nil, l.Errorf("'server' expects <name> and <addr>[:<port>] as arguments.")
	}
	srv := newServer(px, args[1], l)
	a, portless, err := parseServerAddr(args[2])
	if err != nil {
		return nil, l.Errorf("'server %s' : %v", args[1], err)
	}
	srv.Addr, srv.PortFromClient = a, portless
	for _, d := range px.defaultServer {
		// checked (and warned about) on their own line
		if err := e.applyServerOpts(srv, d.Args[1:], d, true); err != nil {
			return nil, err
		}
	}
	if err := e.applyServerOpts(srv, args[3:], l, false); err != nil {
		return nil, err
	}
	srv.iweight = srv.weight
	srv.health = srv.Check.Rise // up, but goes down at the first failure (HAProxy)
	return srv, nil
}

// newServer returns a server with HAProxy's defaults.
func newServer(px *Proxy, name string, l config.Line) *Server {
	return &Server{Name: name, Proxy: px, Line: l, weight: 1, state: StateRunning,
		Check: CheckConfig{Inter: 2 * time.Second, Rise: 2, Fall: 3},
		pool:  pool{max: -1, purgeDelay: defaultPoolPurgeDelay}}
}

// parseDefaultServer parses "default-server [options]": the options are
// checked now and kept for the section's later server lines (and, from a
// defaults section, for the proxies that inherit it).
func (e *Engine) parseDefaultServer(px *Proxy, l config.Line) error {
	if px.Kind != "defaults" && px.Cap&CapBE == 0 {
		return l.Errorf("'%s' not allowed because %s '%s' has no backend capability.", l.Args[0], px.Kind, px.Name)
	}
	probe := newServer(px, "default-server", l)
	if err := e.applyServerOpts(probe, l.Args[1:], l, false); err != nil {
		return err
	}
	px.defaultServer = append(px.defaultServer[:len(px.defaultServer):len(px.defaultServer)], l)
	return nil
}

// applyServerOpts applies server options to srv. l is the line they come
// from, a "default-server" line when l.Args[0] says so; quiet drops the
// warnings (already given for that line).
func (e *Engine) applyServerOpts(srv *Server, opts []string, l config.Line, quiet bool) error {
	def := l.Args[0] == "default-server"
	for i := 0; i < len(opts); i++ {
		kw := opts[i]
		arg := func() (string, error) {
			if i+1 >= len(opts) {
				return "", l.Errorf("'%s' expects an argument.", kw)
			}
			i++
			return opts[i], nil
		}
		intArg := func(lo, hi int) (int, error) {
			v, err := arg()
			if err != nil {
				return 0, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return 0, l.Errorf("'%s' expects an integer argument between %d and %d, got '%s'.", kw, lo, hi, v)
			}
			return n, nil
		}
		timeArg := func() (time.Duration, error) {
			v, err := arg()
			if err != nil {
				return 0, err
			}
			d, err := config.ParseTime(v, time.Millisecond)
			if err != nil || d <= 0 {
				return 0, l.Errorf("'%s' expects a positive delay, got '%s'.", kw, v)
			}
			return d, nil
		}
		if def && (kw == "id" || kw == "hash-key") {
			// HAProxy compat: "id" is refused by name, "hash-key" is
			// unknown there (2.6 lacks its default-server flag).
			if kw == "id" {
				return srvLineErr(l, "'%s' option is not accepted in default-server sections", kw)
			}
			return srvLineErr(l, "unknown keyword '%s'. Hint: no address was expected for this server.", kw)
		}
		if n, err := e.parseServerSSLOpt(srv, opts, i); err != nil {
			return err
		} else if n > 0 {
			i += n - 1
			continue
		}
		var err error
		switch kw {
		case "weight":
			srv.weight, err = intArg(0, 256)
		case "maxconn":
			srv.MaxConn, err = intArg(0, 1<<30)
		case "maxqueue":
			srv.MaxQueue, err = intArg(0, 1<<30)
		case "backup":
			srv.Backup = true
		case "no-backup":
			srv.Backup = false
		case "disabled":
			srv.admin |= AdminCMaint
		case "enabled":
			srv.admin &^= AdminCMaint
		case "check":
			srv.Check.Enabled = true
		case "no-check":
			srv.Check.Enabled = false
		case "inter":
			srv.Check.Inter, err = timeArg()
		case "fastinter":
			srv.Check.FastInter, err = timeArg()
		case "downinter":
			srv.Check.DownInter, err = timeArg()
		case "rise":
			srv.Check.Rise, err = intArg(1, 1<<20)
		case "fall":
			srv.Check.Fall, err = intArg(1, 1<<20)
		case "port":
			srv.Check.Port, err = intArg(1, 65535)
		case "addr":
			srv.Check.Addr, err = arg()
		case "id":
			srv.ID, err = intArg(1, 1<<30)
		case "non-stick":
			srv.NonStick = true
		case "send-proxy":
			srv.SendProxy = 1
		case "send-proxy-v2":
			srv.SendProxy = 2
		case "no-send-proxy", "no-send-proxy-v2":
			srv.SendProxy = 0
		case "check-send-proxy":
			srv.Check.SendProxy = true
		case "no-check-send-proxy":
			srv.Check.SendProxy = false
		case "stick":
			srv.NonStick = false
		case "cookie":
			if i+1 >= len(opts) || opts[i+1] == "" {
				if def {
					return srvLineErr(l, "'%s' expects <value> as argument..", kw)
				}
				return srvLineErr(l, "'server %s/%s' : '%s' expects <value> as argument..", srv.Proxy.Name, srv.Name, kw)
			}
			i++
			srv.Cookie = opts[i]
		case "hash-key":
			if i+1 >= len(opts) {
				// HAProxy compat: its message misses a quote.
				return l.Errorf("'server %s' : '%s expects 'id', 'addr', or 'addr-port' value", srv.Name, kw)
			}
			i++
			switch opts[i] {
			case "id", "addr", "addr-port":
				srv.HashKey = opts[i]
			default:
				return l.Errorf("'server %s' : '%s' has to be 'id', 'addr', or 'addr-port'", srv.Name, kw)
			}
		case "pool-max-conn":
			srv.pool.max, err = intArg(-1, 1<<30)
		case "pool-purge-delay":
			var v string
			if v, err = arg(); err == nil {
				srv.pool.purgeDelay, err = config.ParseTime(v, time.Millisecond)
				if err != nil {
					err = l.Errorf("'%s' : %v", kw, err)
				}
			}
		default:
			takesArg, known := ignoredServerOpts[kw]
			if !known {
				if def {
					return srvLineErr(l, "unknown keyword '%s'. Hint: no address was expected for this server.", kw)
				}
				return l.Errorf("'server %s' unknown keyword '%s'.", srv.Name, kw)
			}
			if takesArg {
				if _, err = arg(); err != nil {
					return err
				}
			}
			switch {
			case quiet || strings.HasPrefix(kw, "no-"):
				// turning off what is not applied anyway
			case def:
				e.warn(l.Warnf("'default-server' : option '%s' is not supported yet and is ignored.", kw))
			default:
				e.warn(l.Warnf("'server %s' : option '%s' is not supported yet and is ignored.", srv.Name, kw))
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// srvLineErr is an error located at l in the form of HAProxy's server
// keyword parsers: "[file:line] : message", without "parsing".
func srvLineErr(l config.Line, format string, a ...any) error {
	return &config.Error{File: l.File, Msg: fmt.Sprintf("[%s:%d] : ", l.File, l.Num) + fmt.Sprintf(format, a...)}
}

// ignoredServerOpts are server options accepted with a warning; the value
// says whether the option takes an argument.
var ignoredServerOpts = map[string]bool{
	"observe": true, "error-limit": true, "on-error": true, "slowstart": true, "minconn": true,
	"resolvers": true, "init-addr": true, "agent-port": true,
	"agent-inter": true,
	"agent-check": false, "tfo": false,
	"no-agent-check": false, "no-tfo": false,
}

// parseServerAddr parses a server address; a missing port means "the port
// the client connected to".
func parseServerAddr(s string) (netio.Addr, bool, error) {
	a, err := netio.ParseAddr(s)
	if err == nil {
		return a, false, nil
	}
	if a2, err2 := netio.ParseAddr(withPort(s)); err2 == nil && a2.Net != "unix" && a2.Net != "fd" {
		return a2, true, nil
	}
	return a, false, err
}

// withPort appends ":0" to a host with no port ("[v6]" or "v4" or "name").
func withPort(s string) string {
	if strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") && !strings.Contains(s, "@") {
		return "[" + s + "]:0"
	}
	return s + ":0"
}

// finishServers assigns ids and starts the LB state of a backend.
func (px *Proxy) finishServers() error {
	used := map[int]bool{}
	for _, s := range px.Servers {
		if s.ID != 0 {
			if used[s.ID] {
				return s.Line.Errorf("'server %s' : custom id %d already used.", s.Name, s.ID)
			}
			used[s.ID] = true
		}
	}
	// HAProxy compat: the search for a free id starts at the server's
	// position in the list, so "s1, s2, s3 id 7, s4" gives s4 id 4 (the
	// ids seed consistent hashing's ring).
	next := 1
	for _, s := range px.Servers {
		if s.ID == 0 {
			for used[next] {
				next++
			}
			s.ID = next
			used[next] = true
		}
		next++
	}
	px.lbRebuild()
	return nil
}

// countUp returns the active and backup servers up (not in maintenance).
func (px *Proxy) countUp() (active, backup int) {
	for _, s := range px.servers() {
		s.mu.Lock()
		up := s.isUpLocked()
		s.mu.Unlock()
		if !up {
			continue
		}
		if s.Backup {
			backup++
		} else {
			active++
		}
	}
	return
}

// servers returns the current server list (it changes with add/del server).
func (px *Proxy) servers() []*Server {
	px.srvMu.RLock()
	defer px.srvMu.RUnlock()
	return px.Servers
}

// FindServer returns the server named name, or nil.
func (px *Proxy) FindServer(name string) *Server {
	for _, s := range px.servers() {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (e *Engine) srvKind(s *Server) string {
	if s.Backup {
		return "Backup Server"
	}
	return "Server"
}

// setRunning moves the server UP or DOWN (after a health check or an
// administrative change), logs the transition in HAProxy's words and
// publishes the events. Transitions of one server are serialized by evMu,
// so its events are seen in order.
func (e *Engine) setRunning(s *Server, up bool, cause string, chk *CheckResult) {
	s.evMu.Lock()
	defer s.evMu.Unlock()
	s.mu.Lock()
	old := s.state
	if up {
		s.state = StateRunning
	} else {
		s.state = StateStopped
	}
	cur := s.state
	maint := s.admin.InMaint()
	s.mu.Unlock()
	if old == cur {
		return
	}
	px := s.Proxy
	px.lbRebuild()
	// HAProxy compat (srv_update_status): a server coming up takes
	// streams from the backend's queue, one going down hands its own
	// queue back with "option redispatch"
	var requeued int
	if up {
		requeued = px.dequeue()
	} else {
		requeued = px.redistribute(s)
	}
	if !maint {
		active, backup := px.countUp()
		reason := ""
		// HAProxy compat: with "option log-health-checks" the check's
		// reason was on its own line (reportCheck), not repeated here.
		if chk != nil && !px.Options.LogHealthChecks {
			reason = ", reason: " + chk.describe()
		}
		// HAProxy compat (srv_append_status): the streams the transition
		// moved, and what is left in the server's own queue
		var msg string
		if up {
			msg = fmt.Sprintf("%s %s is UP%s. %d active and %d backup servers online. %d sessions requeued, %d total in queue.",
				e.srvKind(s), s, reason, active, backup, requeued, s.srvQueueLen())
		} else {
			msg = fmt.Sprintf("%s %s is DOWN%s. %d active and %d backup servers left.%s %d sessions active, %d requeued, %d remaining in queue.",
				e.srvKind(s), s, reason, active, backup, runningOnBackup(active, backup), s.Conns.Load(), requeued, s.srvQueueLen())
		}
		e.Log.Warning("%s", msg)
		if up {
			e.sendLog(LogNotice, msg)
		} else {
			e.sendLog(LogAlert, msg)
		}
		if !up && active == 0 && backup == 0 {
			e.noServerAlert(px)
		}
	}
	t := EventServerDown
	if up {
		t = EventServerUp
	}
	e.Events.Publish(s.event(t))
	ev := s.event(EventServerState)
	ev.State, ev.Check = &StateChange{OldState: old, NewState: cur, Cause: cause}, chk
	e.Events.Publish(ev)
}

func (e *Engine) noServerAlert(px *Proxy) {
	e.Log.Alert("backend '%s' has no server available!", px.Name)
	e.sendLog(LogEmerg, fmt.Sprintf("backend %s has no server available!", px.Name))
}

func runningOnBackup(active, backup int) string {
	if active == 0 && backup > 0 {
		return " Running on backup."
	}
	return ""
}
