package core

import (
	"os"
	"strconv"
	"strings"
	"time"

	"luaproxy/core/config"
	"luaproxy/core/sample"
)

// The engine's own runtime API commands, with HAProxy 2.6's usage lines
// and answers. Server commands are in cli_server.go.

func init() {
	for _, c := range []CLICommand{
		{Words: []string{"show", "info"}, Level: CLIUser, Fn: cliShowInfo,
			Usage: "show info [desc|json|typed|float]*      : report information about the running process"},
		{Words: []string{"show", "stat"}, Level: CLIUser, Fn: cliShowStat,
			Usage: "show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server"},
		{Words: []string{"show", "backend"}, Level: CLIUser, Fn: cliShowBackend,
			Usage: "show backend                            : list backends in the current running config"},
		{Words: []string{"show", "version"}, Level: CLIUser, Fn: cliShowVersion,
			Usage: "show version                            : show version of the current process"},
		{Words: []string{"show", "cli", "level"}, Level: CLIUser, Fn: cliShowLevel,
			Usage: "show cli level                          : display the level of the current CLI session"},
		{Words: []string{"show", "cli", "sockets"}, Level: CLIUser, Fn: cliShowSockets,
			Usage: "show cli sockets                        : dump list of cli sockets"},
		{Words: []string{"show", "env"}, Level: CLIOperator, Fn: cliShowEnv,
			Usage: "show env [var]                          : dump environment variables known to the process"},
		{Words: []string{"operator"}, Level: CLIUser, Fn: cliSetLevel,
			Usage: "operator                                : lower the level of the current CLI session to operator"},
		{Words: []string{"user"}, Level: CLIUser, Fn: cliSetLevel,
			Usage: "user                                    : lower the level of the current CLI session to user"},
		{Words: []string{"experimental-mode"}, Level: CLIAdmin, Fn: cliMode},
		{Words: []string{"expert-mode"}, Level: CLIAdmin, Fn: cliMode},
		{Words: []string{"set", "timeout"}, Level: CLIUser, Fn: cliSetTimeout,
			Usage: "set timeout [cli] <delay>               : change a timeout setting"},
		{Words: []string{"get", "var"}, Level: CLIOperator, Fn: cliGetVar,
			Usage: "get var <name>                          : retrieve contents of a process-wide variable"},
		{Words: []string{"disable", "frontend"}, Level: CLIAdmin, Fn: cliFrontend,
			Usage: "disable frontend <frontend>             : temporarily disable specific frontend"},
		{Words: []string{"enable", "frontend"}, Level: CLIAdmin, Fn: cliFrontend,
			Usage: "enable frontend <frontend>              : re-enable specific frontend"},
	} {
		RegisterCLI(c)
	}
}

func cliShowInfo(r *CLIRequest) {
	format := ""
	for _, a := range r.Args[2:] {
		if a == "typed" || a == "json" {
			format = a
		}
	}
	r.Engine.writeInfo(r, format)
}

// cliShowStat implements "show stat [domain <d>] [{<iid>|<proxy>} <type>
// <sid>] [typed|json] [desc] [up|no-maint]"; luaproxy writes CSV only.
func cliShowStat(r *CLIRequest) {
	f := statFilter{iid: -1, types: statTypeFE | statTypeBE | statTypeSrv, sid: -1}
	args := r.Args[2:]
	if len(args) >= 2 && args[0] == "domain" {
		args = args[2:]
	}
	isOpt := func(a string) bool {
		switch a {
		case "typed", "json", "desc", "up", "no-maint", "float":
			return true
		}
		return false
	}
	if len(args) >= 3 && !isOpt(args[0]) {
		if px := r.Engine.proxyByRef(args[0]); px != nil {
			f.iid = px.ID
		} else if n, err := strconv.Atoi(args[0]); err == nil && n >= 0 {
			f.iid = n
		}
		if n, err := strconv.Atoi(args[1]); err == nil && n >= 0 {
			f.types = n
		}
		if n, err := strconv.Atoi(args[2]); err == nil && n >= 0 {
			f.sid = n
		}
		args = args[3:]
	}
	for _, a := range args {
		switch a {
		case "up":
			f.up = true
		case "no-maint":
			f.noMnt = true
		}
	}
	r.Engine.writeStats(r, f)
}

// proxyByRef finds a proxy by name or "#<id>".
func (e *Engine) proxyByRef(ref string) *Proxy {
	if strings.HasPrefix(ref, "#") {
		id, err := strconv.Atoi(ref[1:])
		if err != nil {
			return nil
		}
		for _, px := range e.Proxies {
			if px.ID == id {
				return px
			}
		}
		return nil
	}
	for _, px := range e.Proxies {
		if px.Name == ref {
			return px
		}
	}
	return nil
}

func cliShowBackend(r *CLIRequest) {
	r.Print("# name\n")
	for _, px := range r.Engine.Proxies {
		if px.Cap&CapBE != 0 {
			r.Print(px.Name + "\n")
		}
	}
}

func cliShowVersion(r *CLIRequest) { r.Print(Version + "\n") }

func cliShowLevel(r *CLIRequest) { r.Print(r.Level().String() + "\n") }

func cliShowSockets(r *CLIRequest) {
	r.Print("# socket lvl processes\n")
	for _, ss := range r.Engine.StatsSockets() {
		addr := ss.Addr.String()
		switch {
		case ss.Addr.Net == "unix" && strings.HasPrefix(ss.Addr.Address, "/"):
			addr = "unix@" + ss.Addr.Address
		case ss.Addr.Net == "tcp4":
			addr = "ipv4@" + ss.Addr.Address
		case ss.Addr.Net == "tcp6":
			addr = "ipv6@" + ss.Addr.Address
		}
		r.Printf("%s %s all\n", addr, ss.Level)
	}
}

func cliShowEnv(r *CLIRequest) {
	name := r.Arg(2)
	for _, kv := range os.Environ() {
		if name == "" {
			r.Print(kv + "\n")
			continue
		}
		if strings.HasPrefix(kv, name+"=") {
			r.Print(kv + "\n")
			return
		}
	}
	if name != "" {
		r.Print("Variable not found\n")
	}
}

// cliSetLevel implements "operator" and "user": they lower the session's
// level and leave the experimental and expert modes.
func cliSetLevel(r *CLIRequest) {
	want := CLIOperator
	if r.Args[0] == "user" {
		want = CLIUser
	}
	s := r.sess
	if s == nil {
		return
	}
	if s.level < want {
		r.Print(cliPermissionDenied)
		return
	}
	s.level = want
	s.experimental, s.expert = false, false
}

func cliMode(r *CLIRequest) {
	s := r.sess
	if s == nil {
		return
	}
	flag := &s.experimental
	if r.Args[0] == "expert-mode" {
		flag = &s.expert
	}
	if r.Arg(1) == "" {
		state := "OFF"
		if *flag {
			state = "ON"
		}
		r.Printf("%s is %s\n", r.Args[0], state)
		return
	}
	*flag = r.Arg(1) == "on"
}

func cliSetTimeout(r *CLIRequest) {
	if r.Arg(2) != "cli" {
		r.Print("'set timeout' only supports 'cli'.\n")
		return
	}
	if r.Arg(3) == "" {
		r.Print("Expects an integer value.\n")
		return
	}
	d, err := config.ParseTime(r.Arg(3), time.Second)
	if err != nil || d < time.Second {
		r.Print("Invalid timeout value.\n")
		return
	}
	if r.sess != nil {
		r.sess.timeout = d
	}
}

// cliGetVar implements "get var <name>" on the process-wide variables.
func cliGetVar(r *CLIRequest) {
	name := r.Arg(2)
	if name == "" {
		r.Print("Missing process-wide variable identifier.\n")
		return
	}
	v, ok := strings.CutPrefix(name, "proc.")
	var smp sample.Sample
	if ok {
		smp, ok = sample.ProcVars().Get(v)
	}
	if !ok {
		r.Print("Variable not found.\n")
		return
	}
	typ := smp.Type.String()
	c := smp
	if !sample.Convert(&c, sample.TypeStr) {
		r.Printf("%s: type=%s value=(undisplayable)", name, typ)
		return
	}
	// HAProxy compat: no newline after the value.
	r.Printf("%s: type=%s value=<%s>", name, typ, c.Str)
}

func cliFrontend(r *CLIRequest) {
	e := r.Engine
	if r.Arg(2) == "" {
		r.Print("A frontend name is expected.\n")
		return
	}
	px := e.proxyByRef(r.Arg(2))
	if px == nil || px.Cap&CapFE == 0 {
		r.Print("No such frontend.\n")
		return
	}
	var err error
	if r.Args[0] == "disable" {
		err = e.PauseFrontend(px)
	} else {
		err = e.ResumeFrontend(px)
	}
	if err != nil {
		r.Print(err.Error() + "\n")
	}
}
