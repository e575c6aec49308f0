package config

import "os"

// LookupEnv resolves environment variables for "$VAR" expansion and the
// defined() predicate. It defaults to os.LookupEnv; tests and embedders may
// replace it (not while a parse is running).
var LookupEnv = os.LookupEnv

// envOverlay replays the global section's setenv, presetenv, unsetenv and
// resetenv on top of LookupEnv while files are read, because HAProxy executes
// them as it reads and later lines may depend on them. The process
// environment itself is left alone: applying those keywords is the engine's
// job.
type envOverlay struct {
	vars  map[string]*string // set (non-nil) or unset (nil) by the configuration
	reset bool               // resetenv was seen: names not in vars are unset
}

// lookup returns the value of name as seen by the configuration so far.
func (e *envOverlay) lookup(name string) (string, bool) {
	if v, ok := e.vars[name]; ok {
		if v == nil {
			return "", false
		}
		return *v, true
	}
	if e.reset {
		return "", false
	}
	return LookupEnv(name)
}

func (e *envOverlay) set(name, value string) {
	if e.vars == nil {
		e.vars = make(map[string]*string)
	}
	e.vars[name] = &value
}

func (e *envOverlay) unset(name string) {
	if e.vars == nil {
		e.vars = make(map[string]*string)
	}
	e.vars[name] = nil
}

// apply replays a global-section statement if it changes the environment.
// Malformed statements are ignored here: the engine reports them.
func (e *envOverlay) apply(args []string) {
	if len(args) == 0 {
		return
	}
	switch args[0] {
	case "setenv":
		if len(args) >= 3 {
			e.set(args[1], args[2])
		}
	case "presetenv":
		if len(args) >= 3 {
			if _, ok := e.lookup(args[1]); !ok {
				e.set(args[1], args[2])
			}
		}
	case "unsetenv":
		for _, name := range args[1:] {
			e.unset(name)
		}
	case "resetenv":
		// Everything goes but the listed names, whether they came from
		// the base environment or from an earlier setenv.
		vars := make(map[string]*string)
		for _, name := range args[1:] {
			if v, ok := e.lookup(name); ok {
				vars[name] = &v
			}
		}
		e.vars, e.reset = vars, true
	}
}
