//go:build lua53

// Command luaproxy is a load balancer and reverse proxy programmed in
// HAProxy-compatible Lua. It takes HAProxy's command line:
//
//	luaproxy -f <cfgfile|cfgdir> [-f ...] [-c] [-cc <cond>] [-d|-db] [-D] [-p <pidfile>]
//	         [-q|-V] [-v|-vv] [-C <dir>] [-sf|-st <pid>*] [-- <cfgfile>*]
//
// -c checks the configuration (lua-load bodies run) and exits non-zero on
// the first errors, printed as HAProxy prints them. -D runs in the
// background once listening; -sf/-st hand over from older processes:
// once bound, luaproxy asks them to finish (SIGUSR1) or to stop (SIGTERM).
// Signals: SIGUSR1 soft stop, SIGTERM and SIGINT hard stop, SIGHUP dumps
// the servers' states and reopens the syslog targets.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"luaproxy/core"
	"luaproxy/core/config"
	_ "luaproxy/luabind" // registers lua-load, lua.* actions and services
)

type options struct {
	files   []string
	check   bool
	cond    *string // -cc
	debug   bool    // -d
	fg      bool    // -db: no background
	daemon  bool    // -D
	quiet   bool
	pidfile string
	dir     string // -C
	// stopPids are the older processes to signal once bound, with
	// SIGUSR1 (-sf) or SIGTERM (-st).
	stopPids []int
	stopSig  syscall.Signal
	// masterWorker is -W/-Ws: SIGUSR2 reloads (reload_self.go); notify
	// (-Ws) reports to systemd.
	masterWorker, notify bool
}

func usage(msg string) {
	if msg != "" {
		fmt.Fprintf(os.Stderr, "[ALERT]    (%d) : %s\n", os.Getpid(), msg)
	}
	fmt.Fprintf(os.Stderr, `%s version %s
Usage : luaproxy [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -p <pidfile> ] [ -C <dir> ] [-- <cfgfile>*]
        -v displays version ; -vv shows known build options.
        -d enters debug mode ; -db only disables background mode.
        -V enters verbose mode (disables quiet mode)
        -D goes daemon ; -C changes to <dir> before loading files.
        -q quiet mode : don't display messages
        -c check mode : only check config files and exit
        -cc check condition : evaluate a condition and exit
        -p writes pids of all children to this file
        -dM, -dV, -dr, -dW, -dD, ... (HAProxy's debug flags) are accepted and ignored
        -sf/-st [pid ]* finishes/terminates old pids.
`, core.Product, core.Version)
	os.Exit(1)
}

func parseArgs(args []string) options {
	o := options{stopSig: syscall.SIGUSR1}
	next := func(i *int, flag string) string {
		if *i+1 >= len(args) {
			usage(fmt.Sprintf("'%s' expects an argument", flag))
		}
		*i++
		return args[*i]
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			o.files = append(o.files, args[i+1:]...)
			i = len(args)
		case a == "-f":
			o.files = append(o.files, next(&i, a))
		case strings.HasPrefix(a, "-f") && len(a) > 2:
			o.files = append(o.files, a[2:])
		case a == "-c":
			o.check = true
		case a == "-cc":
			if i+1 >= len(args) {
				usage("")
			}
			c := next(&i, a)
			o.cond = &c
		case a == "-d":
			o.debug, o.fg = true, true
		case a == "-db":
			o.fg = true
		case strings.HasPrefix(a, "-d"):
			// HAProxy's debug and tuning flags (-dM, -dV, -dr, -dW, -dR, ...):
			// accepted, no effect.
		case a == "-D":
			o.daemon = true
		case a == "-q":
			o.quiet = true
		case a == "-V":
			o.quiet = false
		case a == "-p":
			o.pidfile = next(&i, a)
		case a == "-C":
			o.dir = next(&i, a)
		case a == "-sf" || a == "-st":
			if a == "-st" {
				o.stopSig = syscall.SIGTERM
			}
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				pid, err := strconv.Atoi(args[i])
				if err != nil || pid <= 0 {
					usage(fmt.Sprintf("'%s' expects process ids, got '%s'", a, args[i]))
				}
				o.stopPids = append(o.stopPids, pid)
			}
		case a == "-v" || a == "-vv":
			printVersion(a == "-vv")
			os.Exit(0)
		case a == "-N" || a == "-n" || a == "-m" || a == "-L" || a == "-x" || a == "-S":
			// maxconn, memory limit, peer name, socket takeover, master CLI:
			// accepted, not applied.
			next(&i, a)
		case a == "-W" || a == "-Ws":
			// no master process: one process that reloads itself on
			// SIGUSR2 (reload_self.go)
			o.masterWorker, o.notify = true, a == "-Ws"
		default:
			if !strings.HasPrefix(a, "-") {
				o.files = append(o.files, a)
				continue
			}
			usage(fmt.Sprintf("unknown option '%s'", a))
		}
	}
	if o.cond == nil && len(o.files) == 0 {
		usage("No configuration file specified.")
	}
	return o
}

func main() {
	o := parseArgs(os.Args[1:])
	if o.cond != nil {
		os.Exit(evalCondition(*o.cond))
	}
	log := core.NewLogger(os.Stderr)
	log.Quiet = o.quiet
	log.Debug = o.debug

	// -D: go to the background first, so that the configuration (and the
	// Lua code it runs) loads once, in the process that serves.
	if !o.check && !o.fg && !inDaemonChild() && (o.daemon || configWantsDaemon(o.files)) {
		os.Exit(daemonize())
	}
	if o.dir != "" {
		if err := os.Chdir(o.dir); err != nil {
			log.Alert("Cannot chdir to '%s': %v", o.dir, err)
			os.Exit(1)
		}
	}
	cfg, err := config.ParseFiles(o.files...)
	if err == nil {
		reserveGCHeadroom()
		e := core.New(log)
		err = e.Load(cfg)
		if err == nil {
			if o.check {
				fmt.Println("Configuration file is valid")
				return
			}
			os.Exit(profiled(log, func() int { return run(e, log, o) }))
		}
	}
	reportConfigErrors(log, err, o.files)
	os.Exit(1)
}

// evalCondition implements -cc: exit 0 if the condition holds, 1 if not,
// 2 (with HAProxy's message) if it cannot be evaluated.
func evalCondition(cond string) int {
	// HAProxy compat: the argument is tokenized as a configuration line
	// (quotes, escapes, "$VAR" in double quotes), as a .if line is.
	words, err := config.Tokenize(cond)
	ok := false
	if err == nil {
		ok, err = config.EvalCondition(strings.Join(words, " "))
	}
	if err != nil {
		log := core.NewLogger(os.Stderr)
		log.Alert("config : Failed to evaluate condition: %v", err)
		return 2
	}
	if ok {
		return 0
	}
	return 1
}

// configWantsDaemon reports whether a global section says "daemon"; the
// files are only tokenized here.
func configWantsDaemon(files []string) bool {
	cfg, err := config.ParseFiles(files...)
	if err != nil {
		return false // the child reports the errors
	}
	for _, sec := range cfg.ByKind("global") {
		for _, l := range sec.Lines {
			if len(l.Args) > 0 && l.Args[0] == "daemon" {
				return true
			}
		}
	}
	return false
}

// reportConfigErrors prints each error as HAProxy does, then its closing lines.
func reportConfigErrors(log *core.Logger, err error, files []string) {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var ce *config.Error
		if errors.As(e, &ce) {
			log.Alert("config : %s", ce.Error())
		} else {
			log.Alert("config : %s", e.Error())
		}
	}
	log.Alert("config : Error(s) found in configuration file : %s", strings.Join(files, ", "))
	log.Alert("config : Fatal errors found in configuration.")
}

// run serves until a stop signal and returns the exit status. Once the
// listeners are open, older processes (-sf/-st) are told to leave, the pid
// file is written, the privileges are dropped (chroot, group, user), and
// then only the engine serves and a daemon's launcher is released.
func run(e *core.Engine, log *core.Logger, o options) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2)
	// the listeners first, served once the privileges are dropped
	if err := e.Bind(); err != nil {
		log.Alert("%v", err)
		return 1
	}
	if len(o.stopPids) > 0 {
		steerToNewListeners(e, log)
		for _, pid := range o.stopPids {
			_ = syscall.Kill(pid, o.stopSig)
		}
	}
	pidfile := o.pidfile
	if pidfile == "" {
		pidfile = e.Pidfile
	}
	if pidfile != "" {
		if err := os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			log.Alert("[%s.main()] Cannot create pidfile %s", os.Args[0], pidfile)
			e.Stop()
			return 1
		}
	}
	// then chroot, group and user, as HAProxy does, before serving
	if err := e.DropPrivileges(); err != nil {
		log.Alert("%v", err)
		e.Stop()
		return 1
	}
	e.Serve()
	daemonReady()
	if o.notify {
		sdNotify("READY=1\nMAINPID=" + strconv.Itoa(os.Getpid()))
	}
	var next *os.Process         // the process a reload started
	var nextDied <-chan struct{} // closed when it exits
	for {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-nextDied:
			// the reload failed (its configuration, most likely): this
			// process goes on
			log.Alert("reload: the new process exited; this one goes on")
			next, nextDied = nil, nil
			if o.notify {
				sdNotify("READY=1")
			}
			continue
		}
		switch sig {
		case syscall.SIGUSR2:
			if !o.masterWorker || next != nil {
				continue
			}
			if o.notify {
				sdNotify("RELOADING=1")
			}
			p, died, err := startReload()
			if err != nil {
				log.Alert("reload: %v", err)
				if o.notify {
					sdNotify("READY=1")
				}
				continue
			}
			next, nextDied = p, died
		case syscall.SIGHUP:
			e.DumpServerStates()
			e.ReopenLogs()
		case syscall.SIGUSR1:
			if o.notify && next != nil {
				// it came from the new process: systemd's main one now
				sdNotify("MAINPID=" + strconv.Itoa(next.Pid) + "\nREADY=1")
			}
			e.SoftStop()
			e.Wait()
			return 0
		default: // SIGTERM, SIGINT: hard stop, connections are cut
			if o.notify {
				sdNotify("STOPPING=1")
			}
			e.Stop()
			return 0
		}
	}
}
