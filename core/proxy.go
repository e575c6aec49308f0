package core

import (
	"fmt"
	"sync/atomic"
	"time"

	"luaproxy/core/config"
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

	Binds          []*Bind
	Servers        []*Server
	DefaultBackend string
	Timeouts       Timeouts
	InspectDelay   time.Duration // tcp-request inspect-delay
	Rules          map[RuleSet][]*Rule
	Line           config.Line

	defaultBE *Proxy
	rr        atomic.Uint64
	// Conns counts the streams currently attached (fe_conn / be_conn).
	Conns atomic.Int64
	// Total counts all streams seen.
	Total atomic.Int64
}

// Bind is one listening address of a frontend.
type Bind struct {
	Addr netio.Addr
	Line config.Line
}

// Server is one server of a backend.
type Server struct {
	Name  string
	Addr  netio.Addr
	Proxy *Proxy
	Line  config.Line
	// Conns counts the connections currently open to the server.
	Conns atomic.Int64
}

// copyDefaults returns a new proxy inheriting the settings of defaults d.
func newProxy(kind, name string, d *Proxy, l config.Line) *Proxy {
	px := &Proxy{Name: name, Kind: kind, Mode: "tcp", Rules: map[RuleSet][]*Rule{}, Line: l}
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
	}
	return px
}

// proxyKeywords handle the keywords of proxy sections; ok=false means unknown.
func (e *Engine) parseProxyLine(px *Proxy, l config.Line) error {
	args := l.Args
	kw := args[0]
	isDefaults := px.Kind == "defaults"
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
		// Options after the address (ssl, crt, ...) are not supported yet.
		if len(args) > 2 {
			return l.Errorf("'bind %s' : unsupported option '%s'", args[1], args[2])
		}
		px.Binds = append(px.Binds, &Bind{Addr: a, Line: l})
	case "server":
		if isDefaults || px.Cap&CapBE == 0 {
			return l.Errorf("'server' not allowed in '%s' section", px.Kind)
		}
		if len(args) < 3 {
			return l.Errorf("'server' expects <name> and <addr>[:<port>] as arguments.")
		}
		a, err := netio.ParseAddr(args[2])
		if err != nil {
			return l.Errorf("'server %s' : %v", args[1], err)
		}
		px.Servers = append(px.Servers, &Server{Name: args[1], Addr: a, Proxy: px, Line: l})
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
	case "tcp-request":
		return e.parseRule(px, l)
	case "balance":
		if len(args) < 2 || args[1] != "roundrobin" {
			return l.Errorf("'balance' : only 'roundrobin' is supported yet")
		}
	case "log", "option", "maxconn", "retries", "description":
		e.warn(l.Warnf("'%s' is not supported yet and is ignored", kw))
	default:
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

// pickServer chooses a server (roundrobin).
func (px *Proxy) pickServer() *Server {
	if len(px.Servers) == 0 {
		return nil
	}
	n := px.rr.Add(1) - 1
	return px.Servers[n%uint64(len(px.Servers))]
}

func (px *Proxy) String() string { return fmt.Sprintf("%s '%s'", px.Kind, px.Name) }
