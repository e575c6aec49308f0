//go:build lua53

package luabind

import (
	"fmt"
	"strconv"
	"time"

	"luaproxy/core"
	"luaproxy/core/config"
)

func init() {
	core.RegisterGlobal("lua-load", luaLoad(false))
	core.RegisterGlobal("lua-load-per-thread", luaLoad(true))
	core.RegisterGlobal("tune.lua.forced-yield", tuneInt(func(s *Settings, n int64) { s.ForcedYield = int(n) }))
	core.RegisterGlobal("tune.lua.maxmem", tuneInt(func(s *Settings, n int64) { s.MaxMem = n << 20 }))
	core.RegisterGlobal("tune.lua.session-timeout", tuneTime(func(s *Settings, d time.Duration) { s.SessionTimeout = d }))
	core.RegisterGlobal("tune.lua.service-timeout", tuneTime(func(s *Settings, d time.Duration) { s.ServiceTimeout = d }))
	core.RegisterGlobal("tune.lua.task-timeout", tuneTime(func(s *Settings, d time.Duration) { s.TaskTimeout = d }))
	core.RegisterGlobal("tune.lua.burst-timeout", tuneTime(func(s *Settings, d time.Duration) { s.BurstTimeout = d }))
	core.RegisterGlobal("tune.lua.bool-sample-conversion", tuneBoolSamples)
	core.RegisterAction("lua.", parseLuaAction)
	core.RegisterAction("lua", parseLegacyAction)
	core.RegisterService("lua.", parseLuaService)
	core.OnConfigured(runInits)
	core.OnStart(startTasks)
}

// luaLoad handles "lua-load <file> [args...]" and its per-thread variant:
// the file's body runs at once, so that what it registers is known to the
// proxy sections that follow.
func luaLoad(perThread bool) core.GlobalKeyword {
	return func(e *core.Engine, l config.Line) error {
		if len(l.Args) < 2 {
			return l.Errorf("'%s' expects a file name as parameter.", l.Args[0])
		}
		rt := runtimeOf(e)
		file, args := l.Args[1], l.Args[2:]
		var states []*LState
		if perThread {
			ts, err := rt.threadStates()
			if err != nil {
				return l.Errorf("%v", err)
			}
			states = ts
		} else {
			ls, err := rt.sharedState()
			if err != nil {
				return l.Errorf("%v", err)
			}
			states = []*LState{ls}
		}
		for _, ls := range states {
			if err := ls.loadFile(file, args); err != nil {
				return l.Errorf("%v", err)
			}
		}
		rt.loads = append(rt.loads, loadDirective{file: file, args: args, perThread: perThread})
		return nil
	}
}

func tuneInt(set func(*Settings, int64)) core.GlobalKeyword {
	return func(e *core.Engine, l config.Line) error {
		if len(l.Args) != 2 {
			return l.Errorf("'%s' expects an integer argument.", l.Args[0])
		}
		n, err := strconv.ParseInt(l.Args[1], 10, 64)
		if err != nil || n < 0 {
			return l.Errorf("'%s' expects an integer argument (got '%s').", l.Args[0], l.Args[1])
		}
		rt := runtimeOf(e)
		set(&rt.Settings, n)
		for _, ls := range rt.allStates() {
			ls.SetMaxMem(rt.Settings.MaxMem)
			ls.SetForcedYield(rt.Settings.ForcedYield)
		}
		return nil
	}
}

func tuneTime(set func(*Settings, time.Duration)) core.GlobalKeyword {
	return func(e *core.Engine, l config.Line) error {
		if len(l.Args) != 2 {
			return l.Errorf("'%s' expects a timeout value.", l.Args[0])
		}
		d, err := config.ParseTime(l.Args[1], time.Millisecond)
		if err != nil {
			return l.Errorf("'%s' : %v", l.Args[0], err)
		}
		set(&runtimeOf(e).Settings, d)
		return nil
	}
}

// ruleKind maps a rule set to register_action's facility names.
func ruleKind(rs core.RuleSet) string {
	switch rs {
	case core.TCPRequestContent:
		return "tcp-req"
	case core.TCPResponseContent:
		return "tcp-res"
	case core.HTTPRequest:
		return "http-req"
	case core.HTTPResponse:
		return "http-res"
	case core.HTTPAfterResponse:
		return "http-after-res"
	}
	return string(rs)
}

func errNotFound(kind, name string) error { return fmt.Errorf("Lua %s '%s' not found", kind, name) }

// tuneBoolSamples handles "tune.lua.bool-sample-conversion { normal |
// pre-3.1-bug }". HAProxy compat: it only counts before the first
// lua-load; the default is HAProxy 2.6's behaviour (pre-3.1-bug: boolean
// samples reach Lua as integers 0/1). HAProxy 3.1 warns when the keyword
// is missing; 2.6 does not know it, so no warning is logged here.
func tuneBoolSamples(e *core.Engine, l config.Line) error {
	if len(l.Args) != 2 || (l.Args[1] != "normal" && l.Args[1] != "pre-3.1-bug") {
		return l.Errorf("'%s' expects 'normal' or 'pre-3.1-bug'.", l.Args[0])
	}
	rt := runtimeOf(e)
	if len(rt.loads) > 0 {
		e.Log.Warning("parsing [%s:%d] : '%s' is ignored after 'lua-load' or 'lua-load-per-thread'.", l.File, l.Num, l.Args[0])
		return nil
	}
	rt.Settings.BoolSamples = l.Args[1] == "normal"
	rt.Settings.boolSet = true
	return nil
}
