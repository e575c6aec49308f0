package core

import (
	"sort"
	"strings"
	"sync"

	"luaproxy/core/config"
)

// GlobalKeyword handles one keyword of the global section.
type GlobalKeyword func(e *Engine, l config.Line) error

// ActionParser builds a rule action from its words. args[0] is the action
// keyword as written (e.g. "lua.hello" or "use-service"); the parser returns
// how many words it consumed, so that a trailing "if <cond>" can follow.
type ActionParser func(e *Engine, px *Proxy, rs RuleSet, args []string, l config.Line) (Action, int, error)

// ServiceParser builds a service (an applet answering the client in place
// of a server) named by "use-service <name> [args]".
type ServiceParser func(e *Engine, px *Proxy, name string, args []string, l config.Line) (Service, error)

// RuleSet names a rule list, as written in the configuration.
type RuleSet string

// The rule sets.
const (
	TCPRequestConnection RuleSet = "tcp-request connection"
	TCPRequestContent    RuleSet = "tcp-request content"
	TCPResponseContent   RuleSet = "tcp-response content"
	HTTPRequest          RuleSet = "http-request"
	HTTPResponse         RuleSet = "http-response"
	HTTPAfterResponse    RuleSet = "http-after-response"
)

type registry struct {
	mu       sync.RWMutex
	global   map[string]GlobalKeyword
	actions  map[string]ActionParser // exact keyword, or a prefix ending in "."
	services map[string]ServiceParser
	postCfg  []func(e *Engine) error
	start    []func(e *Engine)
}

var reg = registry{
	global:   map[string]GlobalKeyword{},
	actions:  map[string]ActionParser{},
	services: map[string]ServiceParser{},
}

// RegisterGlobal adds a global-section keyword.
func RegisterGlobal(name string, fn GlobalKeyword) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.global[name] = fn
}

// RegisterAction adds a rule action usable in every rule set. A name ending
// in "." is a prefix ("lua." matches "lua.anything").
func RegisterAction(name string, p ActionParser) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.actions[name] = p
}

// RegisterService adds a service family; prefix ends in "." ("lua.").
func RegisterService(prefix string, p ServiceParser) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.services[prefix] = p
}

// OnConfigured registers a hook run after the whole configuration is
// parsed, before serving (Lua's init context). An error stops start-up.
func OnConfigured(fn func(e *Engine) error) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.postCfg = append(reg.postCfg, fn)
}

// OnStart registers a hook run once the listeners accept (Lua's tasks).
func OnStart(fn func(e *Engine)) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.start = append(reg.start, fn)
}

func lookupGlobal(name string) (GlobalKeyword, bool) {
	reg.mu.RLock()
	defer reg.mu.RUnlock()
	fn, ok := reg.global[name]
	return fn, ok
}

func lookupAction(name string) (ActionParser, bool) {
	reg.mu.RLock()
	defer reg.mu.RUnlock()
	if p, ok := reg.actions[name]; ok {
		return p, true
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		p, ok := reg.actions[name[:i+1]]
		return p, ok
	}
	// "sc-inc-gpc(<idx>,<sc>)": families registered by the name up to
	// the parenthesis parse their own arguments.
	if i := strings.IndexByte(name, '('); i > 0 {
		p, ok := reg.actions[name[:i+1]]
		return p, ok
	}
	return nil, false
}

func lookupService(name string) (ServiceParser, bool) {
	reg.mu.RLock()
	defer reg.mu.RUnlock()
	if i := strings.IndexByte(name, '.'); i > 0 {
		p, ok := reg.services[name[:i+1]]
		return p, ok
	}
	return nil, false
}

// actionNames lists the registered action keywords (for error messages).
func actionNames() []string {
	reg.mu.RLock()
	defer reg.mu.RUnlock()
	var out []string
	for k := range reg.actions {
		out = append(out, "'"+k+"'")
	}
	sort.Strings(out)
	return out
}

// HTTPActionParser builds an HTTP rule action (set-var, capture, ...)
// from its words (args[0] is the keyword); it returns the words consumed.
type HTTPActionParser func(e *Engine, px *Proxy, rs RuleSet, args []string, l config.Line) (HTTPAction, int, error)

// HTTPAction is an action of http-request/http-response rules: it may
// edit the transaction and returns the verdict, with the reply to send
// for Done (nil: close without a response).
type HTTPAction = httpAction

var httpActions = map[string]HTTPActionParser{}

// RegisterHTTPAction adds an HTTP rule action keyword.
func RegisterHTTPAction(name string, p HTTPActionParser) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	httpActions[name] = p
}

func lookupHTTPAction(name string) (HTTPActionParser, bool) {
	reg.mu.RLock()
	defer reg.mu.RUnlock()
	p, ok := httpActions[name]
	return p, ok
}
