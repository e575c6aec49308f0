package core

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"luaproxy/core/config"
	"luaproxy/core/sample"
	"luaproxy/netio"
)

// Capabilities of a proxy.
const (
	CapFE = 1 << iota // accepts connections (frontend, listen)
	CapBE             // forwards to servers (backend, listen)
)

// Timeouts are a proxy's "timeout" settings (0 = none).
type Timeouts struct {
	Client, Server, Connect, Tunnel, Queue, Check time.Duration
	HTTPRequest, HTTPKeepAlive                    time.Duration
}

// Proxy is a frontend, backend or listen section.
type Proxy struct {
	Name string
	Kind string // "frontend", "backend", "listen", "defaults"
	Cap  int
	Mode string // "tcp" or "http"
	ID   int
	more proxyMore // proxy_more.go

	Binds          []*Bind
	Servers        []*Server
	DefaultBackend string
	Timeouts       Timeouts
	InspectDelay   time.Duration // tcp-request inspect-delay
	// ResInspectDelay is tcp-response inspect-delay: how long tcp-response
	// content rules may wait for response data; 0 evaluates them at once.
	ResInspectDelay time.Duration
	Rules           map[RuleSet][]*Rule
	HTTPRules       httpRules
	UseBackends     []*UseBackend
	// ErrorFiles are the proxy's error messages by status, from
	// "errorfile", "errorfiles" and "http-error" (httperrors.go); the
	// map is replaced, never changed, when a keyword sets one.
	ErrorFiles map[int]*Reply
	Line       config.Line

	Balance   Balance
	Options   Options
	HTTPCheck *HTTPCheck
	// TCPCheck holds the "tcp-check" rules (nil: none).
	TCPCheck *TCPCheck
	// UseServers are the "use-server" rules, in order.
	UseServers []*UseServer
	// Retries is "retries" (default 3): connection attempts after the first.
	Retries int
	// RetryOn is the "retry-on" set (Retry* flags), conn-failure by default.
	RetryOn int
	// Reuse is "http-reuse" (ReuseSafe by default).
	Reuse ReuseMode
	// MaxConn is the frontend's "maxconn" (0: the global maxconn).
	MaxConn int
	// MaxSessionSrvConns is the frontend's "max-session-srv-conns": the
	// private idle server connections a client session keeps (default 5).
	MaxSessionSrvConns int
	limit              connLimit // maxconn.go
	// Logs are the proxy's log targets ("log global" adds the global ones).
	Logs      []*LogTarget
	logGlobal bool
	filters   []Filter // "filter" lines, in order
	// comp is the "compression" settings (nil: none); compShared: they
	// are the defaults' until a line of the proxy changes them;
	// compFilter: "filter compression" was declared.
	comp       *compConfig
	compShared bool
	compFilter bool
	compStats  compCounters
	// stats is the "stats" settings of the HTTP statistics page (nil:
	// none, see stats_http.go).
	stats *statsConfig

	defaultBE *Proxy
	engine    *Engine
	scope     *sample.Scope // sample-language parsing scope
	ext       *pxExt        // actions' and logs' per-proxy state
	uid       *uidConf      // unique-id-format / unique-id-header
	rates     rates         // per-second session and request rates
	acls      *sample.ACLSet
	srvMu     sync.RWMutex // guards Servers against add/del server
	lbMu      sync.Mutex
	lbActive  []*Server
	lbBackup  []*Server
	lbHashMap []*Server // map-based hashing's map, built on use (balance.go)
	lbRing    hashRing  // consistent hashing's ring, built on use (hash.go)
	qMu       sync.Mutex
	stick     []*stickRule // "stick" rules, in order (stick_persist.go)
	// defaultServer are the "default-server" lines that apply to later
	// server lines, the defaults section's first (server.go).
	defaultServer []config.Line
	// cookie is the "cookie" persistence setting, nil without (cookie.go).
	cookie *cookieConf
	// monitor is the "monitor-uri" setting, nil without (monitor.go).
	monitor  *monitorConf
	queue    []*waiter
	dequeued int64  // streams served from queue so far (qMu)
	qPeak    int64  // the queue's longest (qMu)
	qSeq     uint64 // waiters queued so far, in the servers' queues too (qMu)
	// pending counts the waiters of the backend's queue and its servers'.
	pending atomic.Int64
	// Conns counts the streams currently attached as a frontend (fe_conn);
	// BeConns as a backend (be_conn).
	Conns, BeConns atomic.Int64
	// hsFailed counts the failed TLS handshakes (ssl_failed_handshake).
	hsFailed atomic.Int64
	// Requests counts HTTP requests received (frontend).
	Requests atomic.Int64
	// Intercepted counts the requests the proxy answered itself as an
	// applet (the statistics page), the "intercepted" stat.
	Intercepted atomic.Int64
	// Total counts all streams seen.
	Total atomic.Int64
}

// Bind is one listening address of a frontend.
type Bind struct {
	conns atomic.Int64 // connections accepted and still open (dst_conn)
	rank  int          // 1-based position among the frontend's binds (set by Start)
	limit connLimit    // "maxconn" of the bind line, else the frontend's
	Addr  netio.Addr
	Line  config.Line
	// AcceptProxy is "accept-proxy": each connection starts with a PROXY
	// protocol header giving the addresses it stands for.
	AcceptProxy bool
	// opts are the options of the line with a value, by name.
	opts map[string]string
	// tls is set by "ssl" or "crt" (ssl_bind.go).
	tls *bindTLS
}

// Options are a proxy's "option" keywords.
type Options struct {
	// Redispatch is "option redispatch [interval]": 0 = off; N > 0
	// redispatches every Nth retry, N < 0 on the Nth retry before the last.
	Redispatch int
	AllBackups bool
	HTTPChk    bool
	// TCPChk is "option tcp-check" (or a protocol check built from
	// tcp-check rules, like "option redis-check"): Proxy.TCPCheck runs.
	TCPChk bool
	// ForwardFor is "option forwardfor"; ForwardForHdr its header name.
	ForwardFor       bool
	ForwardForHdr    string
	ForwardForIfNone bool
	// HTTP connection modes.
	HTTPServerClose, HTTPClose   bool
	HTTPLog, TCPLog, DontLogNull bool
	HTTPBufferRequest            bool
	// DontLogNormal and LogSeparateErrors are "option dontlog-normal"
	// and "option log-separate-errors" (Stream.logError says which
	// streams count as errors).
	DontLogNormal, LogSeparateErrors bool
	// CliTCPKA and SrvTCPKA are "option clitcpka|srvtcpka|tcpka":
	// SO_KEEPALIVE on the client (frontend) or server (backend) side;
	// NoLinger is "option nolinger": those sockets close with a reset.
	CliTCPKA, SrvTCPKA, NoLinger bool
	// HTTPIgnoreProbes is "option http-ignore-probes": a connection
	// closed or timed out before sending anything gets no 400/408 and
	// no log line.
	HTTPIgnoreProbes bool
	CLF              bool
	// Persist is "option persist": a stick rule may send to a DOWN server.
	Persist bool
	// PreferLastServer is "option prefer-last-server": an HTTP request
	// goes to the server of a connection its session holds, when usable.
	PreferLastServer bool
	// LogHealthChecks is "option log-health-checks": every change of a
	// server's check status or health counter is logged (reportCheck),
	// and the UP/DOWN lines then go without the check's reason.
	LogHealthChecks bool
	// LogASAP is "option logasap": an HTTP transaction is logged as soon
	// as the response headers were received and processed (logASAP), a
	// TCP stream once its server connection is established (logTCPASAP);
	// %B, %Ta, %Tt and %Tu of the frontend's lines are then marked "+".
	LogASAP bool
	// AbortOnClose is "option abortonclose": with it on the frontend and
	// the backend, an HTTP request whose client shut its side is aborted
	// while it waits in the queue (CQ) or for the server's response head
	// (400, CH); with it on the backend, a queued TCP stream is aborted
	// even though its client sent data (abortonclose.go).
	AbortOnClose bool
	// Splice is "option splice-auto|splice-request|splice-response":
	// forwarded TCP data goes through splice(2) (HAProxy's default is a
	// buffer copy, faster for small exchanges).
	Splice bool
}

// copyDefaults returns a new proxy inheriting the settings of defaults d.
func newProxy(kind, name string, d *Proxy, l config.Line) *Proxy {
	px := &Proxy{Name: name, Kind: kind, Mode: "tcp", Rules: map[RuleSet][]*Rule{}, Line: l,
		ext:     &pxExt{},
		Retries: 3, RetryOn: RetryConnFailure, Reuse: ReuseSafe, Balance: Balance{Algo: "roundrobin", Draws: 2},
		MaxSessionSrvConns: defaultMaxSessionSrvConns}
	switch kind {
	case "frontend":
		px.Cap = CapFE
	case "backend":
		px.Cap = CapBE
	case "listen":
		px.Cap = CapFE | CapBE
	}
	if d != nil {
		px.Mode = d.Mode
		px.Timeouts = d.Timeouts
		px.InspectDelay = d.InspectDelay
		px.ResInspectDelay = d.ResInspectDelay
		px.Balance = d.Balance
		px.Options = d.Options
		px.Retries = d.Retries
		px.RetryOn = d.RetryOn
		px.Reuse = d.Reuse
		px.MaxConn = d.MaxConn
		px.MaxSessionSrvConns = d.MaxSessionSrvConns
		px.Logs = d.Logs
		px.ErrorFiles = d.ErrorFiles
		px.more.sendNameHdr, px.more.fullconn = d.more.sendNameHdr, d.more.fullconn
		px.logGlobal = d.logGlobal
		px.defaultServer = d.defaultServer
		px.cookie = d.cookie
		if d.comp != nil {
			// HAProxy compat: the algorithms and types are inherited,
			// "compression offload" is not
			px.comp, px.compShared = &compConfig{algos: d.comp.algos, types: d.comp.types}, true
		}
		if d.stats != nil {
			px.stats = d.stats.clone()
		}
		px.monitor = d.monitor
		if d.HTTPCheck != nil {
			hc := *d.HTTPCheck
			px.HTTPCheck = &hc
		}
		if d.TCPCheck != nil {
			tc := *d.TCPCheck
			tc.inherited = true
			px.TCPCheck = &tc
		}
	}
	return px
}

// proxyKeywords handle the keywords of proxy sections; ok=false means unknown.
func (e *Engine) parseProxyLine(px *Proxy, l config.Line) error {
	args := l.Args
	kw := args[0]
	isDefaults := px.Kind == "defaults"
	e.noteProxy(px)
	if ok, err := e.parseFetchKeyword(px, l); ok {
		return err
	}
	switch kw {
	case "mode":
		if len(args) < 2 || (args[1] != "tcp" && args[1] != "http") {
			return l.Errorf("'mode' expects one of 'tcp' or 'http'")
		}
		px.Mode = args[1]
	case "bind":
		if isDefaults || px.Cap&CapFE == 0 {
			return l.Errorf("'bind' not allowed in '%s' section", px.Kind)
		}
		if len(args) < 2 {
			return l.Errorf("'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.")
		}
		a, err := netio.ParseAddr(args[1])
		if err != nil {
			return l.Errorf("'bind' : %v", err)
		}
		b := &Bind{Addr: a, Line: l}
		if err := e.parseBindOptions(px, b); err != nil {
			return err
		}
		if v := bindOption(b, "maxconn"); v != "" {
			b.limit.max = parseMaxConn(v)
		}
		px.Binds = append(px.Binds, b)
	case "server":
		if isDefaults || px.Cap&CapBE == 0 {
			return l.Errorf("'server' not allowed in '%s' section", px.Kind)
		}
		srv, err := e.parseServer(px, l)
		if err != nil {
			return err
		}
		px.Servers = append(px.Servers, srv)
	case "default-server":
		return e.parseDefaultServer(px, l)
	case "cookie":
		return e.parseCookie(px, l)
	case "default_backend":
		if isDefaults || px.Cap&CapFE == 0 {
			return l.Errorf("'default_backend' not allowed in '%s' section", px.Kind)
		}
		if len(args) != 2 {
			return l.Errorf("'default_backend' expects a backend name")
		}
		px.DefaultBackend = args[1]
	case "timeout":
		return parseTimeout(px, l)
	case "tcp-request", "tcp-response":
		return e.parseRule(px, l)
	case "http-request", "http-response", "http-after-response":
		if isDefaults {
			return l.Errorf("'%s' not allowed in 'defaults' section", kw)
		}
		if kw == "http-request" && len(px.more.redirects) > 0 {
			e.warn(l.Warnf("a 'http-request' rule placed after a 'redirect' rule will still be processed before."))
		}
		return e.parseHTTPRule(px, l)
	case "use_backend":
		if isDefaults || px.Cap&CapFE == 0 {
			return l.Errorf("'use_backend' not allowed in '%s' section", px.Kind)
		}
		return e.parseUseBackend(px, l)
	case "acl":
		if isDefaults {
			return l.Errorf("'acl' not allowed in 'defaults' section")
		}
		return e.parseACL(px, l)
	case "errorfile":
		return parseErrorFile(px, l)
	case "errorfiles":
		return e.parseErrorFiles(px, l)
	case "errorloc", "errorloc302", "errorloc303":
		return parseErrorLoc(px, l)
	case "http-error":
		return e.parseHTTPError(px, l)
	case "monitor-uri":
		return e.parseMonitorURI(px, l)
	case "monitor":
		return e.parseMonitor(px, l)
	case "balance":
		if !isDefaults && px.Cap&CapBE == 0 {
			e.warn(l.Warnf("'%s' ignored because %s '%s' has no backend capability.", kw, px.Kind, px.Name))
			return nil
		}
		return e.parseBalance(px, l)
	case "hash-balance-factor":
		return parseHashBalanceFactor(px, l)
	case "hash-type":
		if !isDefaults && px.Cap&CapBE == 0 {
			e.warn(l.Warnf("'%s' ignored because %s '%s' has no backend capability.", kw, px.Kind, px.Name))
			return nil
		}
		return parseHashType(px, l)
	case "retries":
		if len(args) != 2 {
			return l.Errorf("'retries' expects an integer value")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 0 {
			return l.Errorf("'retries' expects an integer value")
		}
		px.Retries = n
	case "retry-on":
		return parseRetryOn(px, l)
	case "http-reuse":
		return e.parseHTTPReuse(px, l)
	case "option", "no":
		return e.parseOption(px, l)
	case "http-check":
		return parseHTTPCheckLine(px, l)
	case "tcp-check":
		return e.parseTCPCheckLine(px, l)
	case "use-server":
		return e.parseUseServer(px, l)
	case "log":
		return e.parseProxyLog(px, l)
	case "log-format":
		return e.parseLogFormat(px, l)
	case "stick-table":
		return e.parseStickTable(px, l)
	case "stick":
		return e.parseStick(px, l)
	case "capture", "declare":
		return parseCaptureKeyword(px, l)
	case "filter":
		return e.parseFilter(px, l)
	case "compression":
		return parseCompression(px, l)
	case "stats":
		return e.parseProxyStats(px, l)
	case "maxconn":
		if len(args) != 2 {
			return l.Errorf("'maxconn' expects an integer argument.")
		}
		n := parseMaxConn(args[1])
		if !isDefaults && px.Cap&CapFE == 0 {
			e.warn(l.Warnf("'%s' ignored because %s '%s' has no frontend capability. Maybe you want 'fullconn' instead ?", kw, px.Kind, px.Name))
			return nil
		}
		px.MaxConn = n
	case "max-session-srv-conns":
		if len(args) != 2 {
			return l.Errorf("'%s' expects an integer argument.", kw)
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 0 {
			return l.Errorf("'%s' expects an integer argument.", kw)
		}
		if !isDefaults && px.Cap&CapFE == 0 {
			e.warn(l.Warnf("'%s' ignored because %s '%s' has no frontend capability.", kw, px.Kind, px.Name))
			return nil
		}
		px.MaxSessionSrvConns = n
	default:
		if ok, err := e.parseMoreProxyKeyword(px, l); ok {
			return err
		}
		return l.Errorf("unknown keyword '%s' in '%s' section", kw, px.Kind)
	}
	return nil
}

func parseTimeout(px *Proxy, l config.Line) error {
	if len(l.Args) != 3 {
		return l.Errorf("'timeout' expects a name and a value")
	}
	d, err := config.ParseTime(l.Args[2], time.Millisecond)
	if err != nil {
		return l.Errorf("'timeout %s' : %v", l.Args[1], err)
	}
	t := &px.Timeouts
	switch l.Args[1] {
	case "client":
		t.Client = d
	case "server":
		t.Server = d
	case "connect":
		t.Connect = d
	case "tunnel":
		t.Tunnel = d
	case "queue":
		t.Queue = d
	case "check":
		t.Check = d
	case "http-request":
		t.HTTPRequest = d
	case "http-keep-alive":
		t.HTTPKeepAlive = d
	default:
		return l.Errorf("'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel' or 'client-fin' and 'server-fin' (got '%s')", l.Args[1])
	}
	return nil
}

func (px *Proxy) String() string { return fmt.Sprintf("%s '%s'", px.Kind, px.Name) }

// parseOption parses "option <name> [args]" and "no option <name>".
func (e *Engine) parseOption(px *Proxy, l config.Line) error {
	args := l.Args
	on := true
	if args[0] == "no" {
		if len(args) < 3 || args[1] != "option" {
			return l.Errorf("'no' only supports 'option'")
		}
		on, args = false, args[1:]
	}
	if len(args) < 2 {
		return l.Errorf("'option' expects an option name")
	}
	o := &px.Options
	name, rest := args[1], args[2:]
	switch name {
	case "redispatch":
		o.Redispatch = 0
		if on {
			o.Redispatch = -1
			if len(rest) > 0 {
				n, err := strconv.Atoi(rest[0])
				if err != nil {
					return l.Errorf("'option redispatch' expects an integer interval")
				}
				o.Redispatch = n
			}
		}
	case "allbackups":
		o.AllBackups = on
	case "tcp-check":
		if on && px.Kind != "defaults" && px.Cap&CapBE == 0 {
			e.warn(l.Warnf("'tcp-check' ignored because %s '%s' has no backend capability.", px.Kind, px.Name))
			return nil
		}
		o.TCPChk = on
		if on {
			o.HTTPChk = false
			if px.TCPCheck != nil && px.TCPCheck.Proto != "" {
				px.TCPCheck = nil
			}
		}
	case "redis-check":
		if on {
			o.TCPChk, o.HTTPChk = true, false
			parseRedisCheck(px)
		}
	case "pgsql-check":
		if on {
			o.TCPChk, o.HTTPChk = true, false
			return parsePgSQLCheck(px, l, rest)
		}
	case "mysql-check":
		if on {
			o.TCPChk, o.HTTPChk = true, false
			return parseMySQLCheck(px, l, rest)
		}
	case "ldap-check":
		if on {
			o.TCPChk, o.HTTPChk = true, false
			parseLDAPCheck(px)
		}
	case "smtpchk":
		if on {
			o.TCPChk, o.HTTPChk = true, false
			parseSMTPChk(px, rest)
		}
	case "httpchk":
		o.HTTPChk = on
		if on {
			o.TCPChk = false
			return parseHTTPChk(px, l, rest)
		}
	case "forwardfor":
		o.ForwardFor, o.ForwardForHdr = on, "X-Forwarded-For"
		for i := 0; i < len(rest); i++ {
			switch rest[i] {
			case "header":
				if i+1 >= len(rest) {
					return l.Errorf("'option forwardfor' 'header' requires a header name")
				}
				o.ForwardForHdr = rest[i+1]
				i++
			case "except":
				i++ // network exceptions are accepted, not applied yet
			case "if-none":
				o.ForwardForIfNone = true
			default:
				return l.Errorf("'option forwardfor' only supports optional values 'except', 'header' and 'if-none'.")
			}
		}
	case "http-server-close":
		o.HTTPServerClose = on
	case "httpclose", "forceclose":
		o.HTTPClose = on
	case "http-keep-alive":
		if on {
			o.HTTPServerClose, o.HTTPClose = false, false
		}
	case "httplog":
		o.HTTPLog = on
		o.CLF = on && len(rest) > 0 && rest[0] == "clf"
	case "tcplog":
		o.TCPLog = on
	case "dontlognull":
		o.DontLogNull = on
	case "http-buffer-request":
		o.HTTPBufferRequest = on
	case "dontlog-normal":
		o.DontLogNormal = on
	case "log-separate-errors":
		o.LogSeparateErrors = on
	case "http-ignore-probes":
		o.HTTPIgnoreProbes = on
	case "persist":
		o.Persist = on
	case "prefer-last-server":
		o.PreferLastServer = on
	case "splice-auto", "splice-request", "splice-response":
		// Either direction spliced splices both here (a goroutine per
		// direction, the kernel's pipes).
		o.Splice = on
	case "tcp-smart-accept", "tcp-smart-connect", "http-no-delay", "socket-stats", "contstats",
		"http-use-htx", "independent-streams", "http-pretend-keepalive":
		// Accepted: tuning that luaproxy's I/O model makes moot.
	case "tcpka":
		o.CliTCPKA, o.SrvTCPKA = on, on
	case "clitcpka":
		o.CliTCPKA = on
	case "srvtcpka":
		o.SrvTCPKA = on
	case "nolinger":
		o.NoLinger = on
	case "log-health-checks", "abortonclose":
		if px.Kind != "defaults" && px.Cap&CapBE == 0 {
			e.warn(l.Warnf("'%s' ignored because %s '%s' has no backend capability.", name, px.Kind, px.Name))
			return nil
		}
		if name == "abortonclose" {
			// a frontend has it only from its defaults section
			// (watchClientClose)
			o.AbortOnClose = on
		} else {
			o.LogHealthChecks = on
		}
	case "logasap":
		if px.Kind != "defaults" && px.Cap&CapFE == 0 {
			e.warn(l.Warnf("'%s' ignored because %s '%s' has no frontend capability.", name, px.Kind, px.Name))
			return nil
		}
		o.LogASAP = on
	case "accept-invalid-http-request",
		"accept-invalid-http-response", "checkcache", "idle-close-on-response":
		if on {
			e.warn(l.Warnf("'option %s' is not supported yet and is ignored", name))
		}
	default:
		return l.Errorf("unknown option '%s'.", name)
	}
	return nil
}

// parseRetryOn parses "retry-on <keywords>": the conditions on which a
// request is sent again (to another server with option redispatch).
// Status-code keywords are accepted and not applied.
func parseRetryOn(px *Proxy, l config.Line) error {
	if len(l.Args) < 2 {
		return l.Errorf("'retry-on' expects at least one keyword.")
	}
	v := 0
	for _, k := range l.Args[1:] {
		switch k {
		case "none":
			v = 0
		case "conn-failure":
			v |= RetryConnFailure
		case "empty-response":
			v |= RetryEmptyResponse
		case "junk-response":
			v |= RetryJunkResponse
		case "response-timeout":
			v |= RetryResponseTimeout
		case "all-retryable-errors":
			v |= RetryConnFailure | RetryEmptyResponse | RetryJunkResponse | RetryResponseTimeout
		case "0rtt-rejected", "401", "403", "404", "408", "425", "500", "501", "502", "503", "504":
		default:
			return l.Errorf("'retry-on' : unknown keyword '%s'.", k)
		}
	}
	px.RetryOn = v
	return nil
}
