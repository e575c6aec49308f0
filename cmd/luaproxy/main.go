//go:build lua53

// Command luaproxy is a load balancer and reverse proxy programmed in
// HAProxy-compatible Lua. It takes HAProxy's command line:
//
//	luaproxy -f <cfgfile|cfgdir> [-f ...] [-c] [-d] [-q] [-v] [-vv]
//
// -c checks the configuration (lua-load bodies run) and exits non-zero on
// the first errors, printed as HAProxy prints them.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"luaproxy/core"
	"luaproxy/core/config"
	_ "luaproxy/luabind" // registers lua-load, lua.* actions and services
)

// Version is luaproxy's version.
const Version = "0.1.0"

type options struct {
	files []string
	check bool
	debug bool
	quiet bool
}

func usage(msg string) {
	if msg != "" {
		fmt.Fprintf(os.Stderr, "[ALERT]    (%d) : %s\n", os.Getpid(), msg)
	}
	fmt.Fprintf(os.Stderr, `luaproxy version %s
Usage : luaproxy [-f <cfgfile|cfgdir>]* [ -vdVq ] [ -c ]
        -v displays version ; -vv shows known build options.
        -d enters debug mode ; -q quiet mode
        -c check mode : only check config files and exit
`, Version)
	os.Exit(1)
}

func parseArgs(args []string) options {
	var o options
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-f":
			if i+1 >= len(args) {
				usage("-f expects a file name")
			}
			i++
			o.files = append(o.files, args[i])
		case strings.HasPrefix(a, "-f") && len(a) > 2:
			o.files = append(o.files, a[2:])
		case a == "-c":
			o.check = true
		case a == "-d":
			o.debug = true
		case strings.HasPrefix(a, "-d"):
			// HAProxy's debug and tuning flags (-dM, -dV, -dr, ...): accepted, no effect.
		case a == "-q":
			o.quiet = true
		case a == "-v" || a == "-vv":
			fmt.Printf("luaproxy version %s (HAProxy-compatible Lua proxy)\n", Version)
			if a == "-vv" {
				fmt.Printf("Feature list : +LUA\nBuilt with Lua version : Lua 5.3\n")
			}
			os.Exit(0)
		case a == "--":
		default:
			if !strings.HasPrefix(a, "-") {
				o.files = append(o.files, a)
				continue
			}
			usage(fmt.Sprintf("unknown option '%s'", a))
		}
	}
	if len(o.files) == 0 {
		usage("No configuration file specified.")
	}
	return o
}

func main() {
	o := parseArgs(os.Args[1:])
	log := core.NewLogger(os.Stderr)
	log.Quiet = o.quiet

	cfg, err := config.ParseFiles(o.files...)
	if err == nil {
		e := core.New(log)
		err = e.Load(cfg)
		if err == nil {
			if o.check {
				fmt.Println("Configuration file is valid")
				return
			}
			run(e, log)
			return
		}
	}
	reportConfigErrors(log, err, o.files)
	os.Exit(1)
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

func run(e *core.Engine, log *core.Logger) {
	if err := e.Start(); err != nil {
		log.Alert("%v", err)
		os.Exit(1)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1)
	sig := <-sigs
	e.Stop()
	if sig == syscall.SIGUSR1 {
		log.Notice("soft-stop: finishing the connections in progress")
		e.Wait()
	}
}
