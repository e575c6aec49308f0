package core

import (
	"strconv"
	"strings"
)

// The runtime API's server commands, answering as HAProxy 2.6 does.

func init() {
	for _, c := range []CLICommand{
		{Words: []string{"show", "servers", "state"}, Level: CLIUser, Fn: cliServersState,
			Usage: "show servers state [<backend>]          : dump volatile server information (all or for a single backend)"},
		{Words: []string{"get", "weight"}, Level: CLIUser, Fn: cliGetWeight,
			Usage: "get weight <bk>/<srv>                   : report a server's current weight"},
		{Words: []string{"set", "weight"}, Level: CLIAdmin, Fn: cliSetWeight,
			Usage: "set weight <bk>/<srv>  (DEPRECATED)     : change a server's weight (use 'set server' instead)"},
		{Words: []string{"set", "server"}, Level: CLIAdmin, Fn: cliSetServer,
			Usage: "set server <bk>/<srv> [opts]            : change a server's state, weight, address or ssl"},
		{Words: []string{"disable", "server"}, Level: CLIAdmin, Fn: cliEnableServer,
			Usage: "disable server (DEPRECATED)             : disable a server for maintenance (use 'set server' instead)"},
		{Words: []string{"enable", "server"}, Level: CLIAdmin, Fn: cliEnableServer,
			Usage: "enable server  (DEPRECATED)             : enable a disabled server (use 'set server' instead)"},
		{Words: []string{"disable", "health"}, Level: CLIAdmin, Fn: cliHealth,
			Usage: "disable health                          : disable health checks"},
		{Words: []string{"enable", "health"}, Level: CLIAdmin, Fn: cliHealth,
			Usage: "enable health                           : enable health checks"},
		{Words: []string{"add", "server"}, Level: CLIAdmin, Fn: cliAddServer,
			Usage: "add server <bk>/<srv>                   : create a new server"},
		{Words: []string{"del", "server"}, Level: CLIAdmin, Fn: cliDelServer,
			Usage: "del server <bk>/<srv>                   : remove a dynamically added server"},
		{Words: []string{"set", "maxconn", "server"}, Level: CLIAdmin, Fn: cliSetMaxConn,
			Usage: "set maxconn server <bk>/<srv>           : change a server's maxconn setting"},
		{Words: []string{"shutdown", "sessions", "server"}, Level: CLIAdmin, Fn: cliShutdownSessions,
			Usage: "shutdown sessions server <bk>/<srv>     : kill sessions on a server"},
	} {
		RegisterCLI(c)
	}
}

// backendByRef finds a backend by name or "#<id>".
func (e *Engine) backendByRef(ref string) *Proxy {
	px := e.proxyByRef(ref)
	if px == nil || px.Cap&CapBE == 0 {
		return nil
	}
	return px
}

// serverByRef finds a server of px by name or "#<id>".
func (px *Proxy) serverByRef(ref string) *Server {
	if strings.HasPrefix(ref, "#") {
		id, err := strconv.Atoi(ref[1:])
		if err != nil {
			return nil
		}
		for _, s := range px.servers() {
			if s.ID == id {
				return s
			}
		}
		return nil
	}
	return px.FindServer(ref)
}

// server resolves "<backend>/<server>"; on failure it answers HAProxy's
// error (with a newline unless noLF) and returns nil.
func (r *CLIRequest) server(ref string, noLF bool) (*Proxy, *Server) {
	nl := "\n"
	if noLF {
		nl = ""
	}
	be, name, ok := strings.Cut(ref, "/")
	if !ok {
		r.Print("Require 'backend/server'." + nl)
		return nil, nil
	}
	px := r.Engine.backendByRef(be)
	if px == nil {
		r.Print("No such backend." + nl)
		return nil, nil
	}
	s := px.serverByRef(name)
	if s == nil {
		r.Print("No such server." + nl)
		return px, nil
	}
	return px, s
}

// printErr answers an error in HAProxy's words.
func (r *CLIRequest) printErr(err error) {
	if ae, ok := err.(*AdminError); ok && ae.NoLF {
		r.Print(ae.Msg)
		return
	}
	r.Print(err.Error() + "\n")
}

func cliServersState(r *CLIRequest) {
	var px *Proxy
	if name := r.Arg(3); name != "" {
		if px = r.Engine.backendByRef(name); px == nil {
			r.Print("Can't find backend.\n")
			return
		}
	}
	r.Engine.serversState(r, px)
}

func cliGetWeight(r *CLIRequest) {
	_, s := r.server(r.Arg(2), false)
	if s == nil {
		return
	}
	r.Printf("%d (initial %d)\n", s.Weight(), s.InitialWeight())
}

func cliSetWeight(r *CLIRequest) {
	_, s := r.server(r.Arg(2), false)
	if s == nil {
		return
	}
	if err := s.SetWeight(r.Arg(3)); err != nil {
		r.printErr(err)
	}
}

func cliEnableServer(r *CLIRequest) {
	_, s := r.server(r.Arg(2), false)
	if s == nil {
		return
	}
	if r.Args[0] == "disable" {
		s.SetMaint()
	} else {
		s.SetReady()
	}
}

// cliSetServer implements "set server <b>/<s> state|weight|addr|health|
// check-port|check-addr ...".
func cliSetServer(r *CLIRequest) {
	_, s := r.server(r.Arg(2), false)
	if s == nil {
		return
	}
	switch r.Arg(3) {
	case "state":
		switch r.Arg(4) {
		case "ready":
			s.SetReady()
		case "drain":
			s.SetDrain()
		case "maint":
			s.SetMaint()
		default:
			r.Print("'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n")
		}
	case "weight":
		if err := s.SetWeight(r.Arg(4)); err != nil {
			r.printErr(err)
		}
	case "health":
		switch r.Arg(4) {
		case "up":
			s.ForceHealth(StateRunning, "CLI")
		case "stopping":
			s.ForceHealth(StateStopping, "CLI")
		case "down":
			s.ForceHealth(StateStopped, "CLI")
		default:
			r.Print("'set server <srv> health' expects 'up', 'stopping', or 'down'.\n")
		}
	case "addr":
		if r.Arg(4) == "" {
			r.Print("set server <b>/<s> addr requires an address and optionally a port.\n")
			return
		}
		hasPort := r.Arg(5) == "port"
		r.Print(s.setAddr(r.Arg(4), r.Arg(6), hasPort, "stats socket command") + "\n")
	case "check-port":
		if r.Arg(4) == "" {
			r.Print("set server <b>/<s> check-port requires a port.\n")
			return
		}
		port, err := strconv.Atoi(r.Arg(4))
		if err != nil {
			r.Print("provided port is not an integer")
			return
		}
		if err := s.SetCheckPort(port); err != nil {
			r.printErr(err)
		}
	case "check-addr":
		if r.Arg(4) == "" {
			r.Print("set server <b>/<s> check-addr requires an address and optionally a port.\n")
			return
		}
		port := ""
		if r.Arg(5) == "port" {
			port = r.Arg(6)
			if port == "" {
				port = "-"
			}
		}
		if err := s.SetCheckAddr(r.Arg(4), port); err != nil {
			r.printErr(err)
		}
	default:
		r.Print("usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n")
	}
}

func cliHealth(r *CLIRequest) {
	_, s := r.server(r.Arg(2), false)
	if s == nil {
		return
	}
	if r.Args[0] == "disable" {
		s.DisableHealthCheck()
		return
	}
	if err := s.EnableHealthCheck(); err != nil {
		r.printErr(err)
	}
}

// cliAddServer implements "add server <b>/<s> <addr> [options]".
func cliAddServer(r *CLIRequest) {
	e := r.Engine
	be, name, ok := strings.Cut(r.Arg(2), "/")
	if !ok {
		r.Print("Require 'backend/server'.")
		return
	}
	px := e.backendByRef(be)
	if px == nil {
		r.Print("No such backend.")
		return
	}
	args := append([]string{name}, r.Args[3:]...)
	if _, err := px.AddServer(args); err != nil {
		r.printErr(err)
		msg := err.Error()
		if strings.HasPrefix(msg, "'server' expects") {
			e.Log.Alert("CLI : %s", msg)
		} else {
			e.Log.Alert("CLI : 'server %s/%s' : %s", px.Name, name, msg)
		}
		return
	}
	r.Print("New server registered.\n")
	e.Log.Notice("CLI : 'server %s/%s' : New server registered.", px.Name, name)
}

func cliDelServer(r *CLIRequest) {
	px, s := r.server(r.Arg(2), true)
	if s == nil {
		return
	}
	if err := px.DelServer(s); err != nil {
		r.printErr(err)
		return
	}
	// HAProxy compat: no newline, hence no empty line after the answer.
	r.Print("Server deleted.")
	r.Engine.Log.Notice("CLI : Server deleted.")
}

func cliSetMaxConn(r *CLIRequest) {
	_, s := r.server(r.Arg(3), false)
	if s == nil {
		return
	}
	if r.Arg(4) == "" {
		r.Print("Require <maxconn>.\n")
		return
	}
	n, rest, ok := strtol(r.Arg(4))
	switch {
	case !ok:
		r.Print("maxconn string empty or preceded by garbage")
	case rest != "":
		r.Print("Trailing garbage in maxconn string")
	default:
		s.SetMaxConn(int(min(n, 1<<30)))
	}
}

func cliShutdownSessions(r *CLIRequest) {
	_, s := r.server(r.Arg(3), false)
	if s != nil {
		s.ShutdownSessions()
	}
}
