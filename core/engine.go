package core

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"luaproxy/core/config"
	"luaproxy/core/sample"
	"luaproxy/netio"
)

// Engine is a configured proxy process.
type Engine struct {
	Log *Logger
	// Threads is nbthread (default GOMAXPROCS): streams are spread over
	// threads, and per-thread modules (lua-load-per-thread) keep one
	// instance per thread.
	Threads int
	// BufSize is tune.bufsize; MaxRewrite is tune.maxrewrite (room kept
	// for header rewrites); MaxHdr is tune.http.maxhdr.
	BufSize, MaxRewrite, MaxHdr int
	// Daemon is the global "daemon" keyword.
	Daemon  bool
	Pidfile string
	// Privs are "chroot", "user" and "group" (privs.go).
	Privs Privileges
	// MaxConn is the global "maxconn": connections served at once by
	// the process (0: no limit); the others wait in the listen queues.
	MaxConn int
	// ssl is the global TLS settings (ssl.go); warned the warnings
	// already given (warnOnce).
	ssl    sslGlobal
	warned map[string]bool
	// profileTasks is "profiling.tasks on" (see clock.go).
	profileTasks bool

	Proxies   []*Proxy // frontends, backends and listens, in file order
	frontends map[string]*Proxy
	backends  map[string]*Proxy

	// Ext holds per-module engine data, keyed by module name.
	Ext map[string]any
	// Events is the engine's event bus (server state changes, ...).
	Events EventBus
	// Logs are the global log targets.
	Logs []*LogTarget

	pid int
	// lastDefaults is the last "defaults" section parsed (log-format
	// inheritance, see noteProxy).
	lastDefaults *Proxy
	// tables are the stick tables, by name.
	tables engineTables
	// userlists are the "userlist" sections, by name (userlist.go);
	// httpErrors the "http-errors" sections (httperrors.go).
	userlists  map[string]*Userlist
	httpErrors map[string]*httpErrorsSection
	done       chan struct{} // closed by Stop

	nextThread atomic.Uint64
	errs       []error
	listeners  []net.Listener
	bound      []boundListener // opened by Bind, for Serve
	cli        *cliState       // the runtime API and listener control (cli_*.go)
	wg         sync.WaitGroup
	stopping   atomic.Bool
	limit      connLimit // global maxconn (maxconn.go)
	// httpConns are the HTTP client connections (their waits for a
	// next request end at a soft stop: closeIdle; those waiting long
	// park: park.go), but the parked ones, in parkedConns: the idle
	// sweep looks at the others only.
	idleMu      sync.Mutex
	httpConns   map[*HTTPConn]struct{}
	parkedConns map[*HTTPConn]struct{}
	// ParkAfter is how long an HTTP connection waits for a request on
	// its goroutine before it parks (park.go); 0 or less: never.
	ParkAfter time.Duration
	// parker waits for the parked connections without a goroutine each
	// (parker_linux.go); made at the first park, nil if it cannot be.
	parker     *parker
	parkerOnce sync.Once
	// bufs lends the HTTP connections' buffers (client and server), a
	// pool per thread (bufPool).
	bufs   atomic.Pointer[[]*netio.BufPool]
	bufsMu sync.Mutex
}

// New returns an engine with default settings and no proxies.
func New(log *Logger) *Engine {
	if log == nil {
		log = NewLogger(nil)
	}
	return &Engine{
		Log:         log,
		Threads:     runtime.GOMAXPROCS(0),
		BufSize:     DefaultBufSize,
		MaxRewrite:  1024,
		MaxHdr:      101,
		Privs:       Privileges{UID: -1, GID: -1},
		frontends:   map[string]*Proxy{},
		backends:    map[string]*Proxy{},
		Ext:         map[string]any{},
		httpConns:   map[*HTTPConn]struct{}{},
		parkedConns: map[*HTTPConn]struct{}{},
		ParkAfter:   DefaultParkAfter,
		userlists:   map[string]*Userlist{},
		httpErrors:  map[string]*httpErrorsSection{},
		pid:         os.Getpid(),
		done:        make(chan struct{}),
	}
}

func (e *Engine) warn(w *config.Error) { e.Log.Warning("config : %s", w.Error()) }

// Frontend returns the frontend or listen section named name.
func (e *Engine) Frontend(name string) *Proxy { return e.frontends[name] }

// Backend returns the backend or listen section named name.
func (e *Engine) Backend(name string) *Proxy { return e.backends[name] }

// Load applies a parsed configuration. Every error is collected (as HAProxy
// reports them all); the result joins them.
func (e *Engine) Load(cfg *config.Config) error {
	for _, w := range cfg.Warnings {
		e.warn(w)
	}
	bySection := map[*config.Section]*Proxy{} // defaults sections, built
	// the sections proxies refer to by name come first, wherever they are
	for _, sec := range cfg.Sections {
		switch sec.Kind {
		case "userlist":
			e.parseUserlist(sec)
		case "http-errors":
			e.parseHTTPErrors(sec)
		}
	}
	for _, sec := range cfg.Sections {
		switch sec.Kind {
		case "userlist", "http-errors":
		case "global":
			for _, l := range sec.Lines {
				e.addErr(e.parseGlobal(l))
			}
		case "defaults", "frontend", "backend", "listen":
			// the "from" section, else the last defaults before this one
			px := newProxy(sec.Kind, sec.Name, bySection[sec.Defaults()], sec.Head)
			px.engine = e
			for _, l := range sec.Lines {
				e.addErr(e.parseProxyLine(px, l))
				e.addErr(e.resolveUserlists(px, l))
			}
			if sec.Kind == "defaults" {
				bySection[sec] = px
				continue
			}
			// HAProxy compat: 2.6 numbers user proxies from 2, id 1 going to
			// its internal <HTTPCLIENT> proxy ("show stat" iid, fe_id).
			px.ID = len(e.Proxies) + 2
			if id := px.more.explicitID; id > 0 {
				px.ID = id
			}
			e.Proxies = append(e.Proxies, px)
			if px.Cap&CapFE != 0 {
				e.frontends[px.Name] = px
			}
			if px.Cap&CapBE != 0 {
				e.backends[px.Name] = px
			}
		default:
			e.warn(sec.Head.Warnf("section '%s' is not supported yet and is ignored", sec.Kind))
		}
	}
	for _, px := range e.Proxies {
		if px.logGlobal {
			px.Logs = append(append([]*LogTarget(nil), e.Logs...), px.Logs...)
		}
		for _, b := range px.Binds {
			if b.tls != nil {
				e.addErr(e.buildBindTLS(px, b))
			}
		}
		if px.Cap&CapBE != 0 {
			for _, srv := range px.Servers {
				e.addErr(e.buildServerTLS(px, srv))
			}
			e.addErr(px.finishServers())
			e.checkBalance(px)
			e.checkCookie(px)
			e.checkTCPCheck(px)
			e.addErr(px.checkServerPorts())
		}
		if px.DefaultBackend == "" {
			continue
		}
		be := e.backends[px.DefaultBackend]
		if be == nil {
			e.addErr(fmt.Errorf("Proxy '%s': unable to find required default_backend: '%s'.", px.Name, px.DefaultBackend))
			continue
		}
		px.defaultBE = be
	}
	for _, px := range e.Proxies {
		e.addErr(e.resolveUseBackends(px))
		e.addErr(px.resolveUseServers())
		e.addErr(e.resolveSampleRefs(px))
		e.addErr(checkLogFormatMode(px))
		e.addErr(checkCompression(px))
		e.addErr(e.finishStats(px))
	}
	e.addErr(e.checkTables())
	e.setLimits()
	return errors.Join(e.errs...)
}

func (e *Engine) addErr(err error) {
	if err != nil {
		e.errs = append(e.errs, err)
	}
}

func (e *Engine) parseGlobal(l config.Line) error {
	args := l.Args
	switch args[0] {
	case "daemon":
		e.Daemon = true
	case "set-var":
		return e.parseGlobalSetVar(l)
	case "nbthread":
		if len(args) != 2 {
			return l.Errorf("'nbthread' expects an integer argument.")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > 4096 {
			return l.Errorf("'nbthread' expects an integer argument between 1 and 4096.")
		}
		e.Threads = n
	case "tune.bufsize":
		if len(args) != 2 {
			return l.Errorf("'tune.bufsize' expects an integer argument.")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1024 {
			return l.Errorf("'tune.bufsize' expects a positive integer argument.")
		}
		e.BufSize = n
	case "tune.maxrewrite", "tune.http.maxhdr":
		if len(args) != 2 {
			return l.Errorf("'%s' expects an integer argument.", args[0])
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || (args[0] == "tune.http.maxhdr" && n > 32767) {
			return l.Errorf("'%s' expects a positive integer argument.", args[0])
		}
		if args[0] == "tune.maxrewrite" {
			e.MaxRewrite = n
		} else {
			e.MaxHdr = n
		}
	case "pidfile":
		if len(args) != 2 {
			return l.Errorf("'pidfile' expects a file name.")
		}
		e.Pidfile = args[1]
	case "log":
		t, err := parseLogTarget(l, args[1:])
		if err != nil {
			return err
		}
		e.Logs = append(e.Logs, t)
	case "stats":
		return e.parseStats(l)
	case "maxconn":
		if len(args) != 2 {
			return l.Errorf("'maxconn' expects an integer argument.")
		}
		n := parseMaxConn(args[1])
		e.MaxConn = n
	case "user", "group", "chroot", "uid", "gid":
		return e.parsePrivilege(l)
	case "ulimit-n", "master-worker":
		e.warn(l.Warnf("'%s' is not supported yet and is ignored", args[0]))
	default:
		kw, ok := lookupGlobal(args[0])
		if !ok {
			return l.Errorf("unknown keyword '%s' in 'global' section", args[0])
		}
		return kw(e, l)
	}
	return nil
}

// Start runs the post-configuration hooks, opens every listener and starts
// accepting: Bind, then Serve. It returns once all listeners are open.
func (e *Engine) Start() error {
	if err := e.Bind(); err != nil {
		return err
	}
	e.Serve()
	return nil
}

// Bind runs the post-configuration hooks and opens every listener, the
// proxies' and the stats sockets', without accepting on them yet. A
// process started as root drops its privileges between Bind and Serve,
// as HAProxy does before its first poll: no connection, health check or
// Lua task is served as root.
func (e *Engine) Bind() error {
	reg.mu.RLock()
	post := reg.postCfg
	reg.mu.RUnlock()
	for _, fn := range post {
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := e.startCLI(); err != nil {
		return err
	}
	for _, px := range e.Proxies {
		for i, b := range px.Binds {
			b.rank = i + 1
			ln, err := netio.Listen(b.Addr, netio.ListenOptions{})
			if err != nil {
				e.Stop()
				return fmt.Errorf("Starting %s %s: cannot bind socket (%v) [%s]", px.Kind, px.Name, unwrapSyscall(err), b.Addr)
			}
			e.listeners = append(e.listeners, ln)
			e.addListener(px, ln)
			e.bound = append(e.bound, boundListener{px, b, ln})
		}
	}
	return nil
}

// boundListener is a listener Bind opened, for Serve.
type boundListener struct {
	px *Proxy
	b  *Bind
	ln net.Listener
}

// Serve starts what Bind prepared: accepting on the listeners (the
// proxies' and the stats sockets'), the health checks, the start hooks
// (Lua tasks) and the idle sweep.
func (e *Engine) Serve() {
	e.serveCLI()
	for _, l := range e.bound {
		e.wg.Add(1)
		go e.accept(l.px, l.b, l.ln)
	}
	e.bound = nil
	for _, px := range e.Proxies {
		for _, s := range px.servers() {
			e.startCheck(s)
		}
	}
	reg.mu.RLock()
	start := reg.start
	reg.mu.RUnlock()
	for _, fn := range start {
		fn(e)
	}
	go e.parkLoop()
}

func unwrapSyscall(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		var se interface{ Unwrap() error }
		if errors.As(op.Err, &se) && se.Unwrap() != nil {
			return se.Unwrap()
		}
		return op.Err
	}
	return err
}

// Addrs returns the listening addresses, in bind order (for tests with :0).
func (e *Engine) Addrs() []net.Addr {
	out := make([]net.Addr, len(e.listeners))
	for i, ln := range e.listeners {
		out[i] = ln.Addr()
	}
	return out
}

func (e *Engine) accept(px *Proxy, b *Bind, ln net.Listener) {
	defer e.wg.Done()
	for {
		if !e.waitAcceptRoom(px, b) {
			e.drain(px, b, ln)
			return
		}
		c, err := ln.Accept()
		if err != nil {
			if e.stopping.Load() {
				e.drain(px, b, ln)
				return
			}
			if e.acceptPaused(px) {
				continue // "disable frontend", then "enable frontend"
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			e.Log.Alert("Proxy %s: accept failed: %v", px.Name, err)
			continue
		}
		// A connection accepted as the frontend was being paused (its
		// Accept had found it queued before the pause woke the loop)
		// waits like those still in the backlog: served once resumed,
		// or drained at a stop.
		e.acceptPaused(px)
		e.wg.Add(1)
		go e.serveConn(px, b, c)
	}
}

// serveConn serves c, counted in e.wg until its stream ends: here, or
// where it goes on (a parked HTTP connection, a TCP forward), which
// then counts it off.
func (e *Engine) serveConn(px *Proxy, b *Bind, c net.Conn) {
	if next := e.serveLimited(px, b, c); next != nil {
		next()
		return
	}
	e.wg.Done()
}

// Stop closes the listeners, once the connections already queued on them
// are accepted (see drain); streams in progress go on to their end.
func (e *Engine) Stop() {
	if e.stopping.Swap(true) {
		return
	}
	close(e.done)
	sample.Stopping.Store(true)
	e.closeIdle()
	e.parkerOnce.Do(func() {}) // no parker from now on
	if e.parker != nil {
		e.parker.stop() // its connections wait on goroutines again
	}
	e.stopListeners()
	e.stopCLI()
	for _, ln := range e.listeners {
		_ = ln.Close()
	}
}

// Stopping reports whether Stop was called.
func (e *Engine) Stopping() bool { return e.stopping.Load() }

// Wait waits for the listeners and streams to end (after Stop).
func (e *Engine) Wait() { e.wg.Wait() }

// parseGlobalSetVar implements the global "set-var <name> <expr>": the
// expression is evaluated once, now, with no stream (str(), int(), env()
// and the like), and sets a proc-scoped variable.
func (e *Engine) parseGlobalSetVar(l config.Line) error {
	args := l.Args
	if len(args) != 3 {
		return l.Errorf("'%s' requires a variable name and an expression.", args[0])
	}
	v, err := sample.ParseVarName(args[1])
	if err != nil {
		return l.Errorf("'%s': %v.", args[0], err)
	}
	if v.Scope != sample.ScopeProc {
		return l.Errorf("'%s': cannot set variable '%s', only scope 'proc' is permitted in the global section.", args[0], args[1])
	}
	x, err := sample.ParseExpr(args[2], &sample.Scope{})
	if err != nil {
		return l.Errorf("'%s': %v.", args[0], err)
	}
	smp, ok := x.Eval(&sample.Ctx{Final: true})
	if !ok {
		return l.Errorf("'%s': failed to evaluate sample expression '%s'.", args[0], args[2])
	}
	sample.ProcVars().Set(v.Name, smp)
	return nil
}

// bufPool returns the pool of buffers of BufSize bytes of thread t's
// connections.
func (e *Engine) bufPool(t int) *netio.BufPool {
	if ps := e.bufs.Load(); ps != nil && t < len(*ps) && (*ps)[t].Size() == e.BufSize {
		return (*ps)[t]
	}
	e.bufsMu.Lock()
	defer e.bufsMu.Unlock()
	ps := e.bufs.Load()
	if ps == nil || len(*ps) <= t || (*ps)[0].Size() != e.BufSize {
		n := max(e.Threads, t+1)
		np := make([]*netio.BufPool, n)
		for i := range np {
			np[i] = netio.NewBufPool(e.BufSize)
		}
		ps = &np
		e.bufs.Store(ps)
	}
	return (*ps)[t]
}
