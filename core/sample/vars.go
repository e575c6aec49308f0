package sample

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// VarScope is the lifetime of a variable (manual 2.8).
type VarScope uint8

// The variable scopes. ScopeReq and ScopeRes share one store in a stream,
// as in HAProxy 2.6 (vars_reqres); the engine clears it when the request
// leaves for the server.
const (
	ScopeProc VarScope = iota
	ScopeSess
	ScopeTxn
	ScopeReq
	ScopeRes
	ScopeCheck
)

var scopeNames = [...]string{"proc", "sess", "txn", "req", "res", "check"}

// String returns the scope's name as written in a variable name.
func (s VarScope) String() string { return scopeNames[s] }

// VarName is a parsed variable name, "txn.foo" being {ScopeTxn, "foo"}.
type VarName struct {
	Scope VarScope
	Name  string // without the scope
}

// String returns the name as written ("txn.foo").
func (v VarName) String() string { return scopeNames[v.Scope] + "." + v.Name }

// ParseVarName checks a variable name as HAProxy 2.6 does and returns it
// parsed; the errors carry HAProxy's words.
func ParseVarName(s string) (VarName, error) {
	if s == "" {
		return VarName{}, fmt.Errorf("Empty variable name cannot be accepted")
	}
	for i, n := range scopeNames {
		if strings.HasPrefix(s, n+".") && len(s) > len(n)+1 {
			name := s[len(n)+1:]
			for j := 0; j < len(name); j++ {
				c := name[j]
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
					return VarName{}, fmt.Errorf("invalid syntax at char '%s'", name[j:])
				}
			}
			v := VarName{Scope: VarScope(i), Name: name}
			if v.Scope == ScopeProc {
				procVars.declare(name)
			}
			return v, nil
		}
	}
	return VarName{}, fmt.Errorf("invalid variable name '%s'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'", s)
}

// Vars is one variable store (a scope's variables for one session,
// transaction, stream or check). The zero value is ready to use. A Vars is
// safe for concurrent use (proc variables are shared by every stream).
type Vars struct {
	mu sync.RWMutex
	m  map[string]*varEntry
	// used is set, under mu, when m gains an entry, and cleared by Clear:
	// a stream clears its request's variables at every request, most of
	// which set none, and then takes no lock.
	used atomic.Bool
}

type varEntry struct {
	smp Sample
	set bool // false for a declared proc variable never set, or unset
}

// Get returns the value of the variable name; ok is false when it is not
// set.
func (v *Vars) Get(name string) (Sample, bool) {
	if v == nil {
		return Sample{}, false
	}
	v.mu.RLock()
	e := v.m[name]
	v.mu.RUnlock()
	if e == nil || !e.set {
		return Sample{}, false
	}
	return e.smp, true
}

// ProcVarKnown reports whether the proc variable name ("x" of
// "proc.x") was declared or set, without declaring it as ParseVarName
// does.
func ProcVarKnown(name string) bool {
	procVars.mu.RLock()
	defer procVars.mu.RUnlock()
	return procVars.m[name] != nil
}

// Set stores s under name, flags cleared.
func (v *Vars) Set(name string, s Sample) {
	s.Flags = 0
	v.mu.Lock()
	if v.m == nil {
		v.m = map[string]*varEntry{}
	}
	if e := v.m[name]; e != nil {
		e.smp, e.set = s, true
	} else {
		v.m[name] = &varEntry{smp: s, set: true}
		v.used.Store(true)
	}
	v.mu.Unlock()
}

// Unset removes the variable (a proc variable stays declared).
func (v *Vars) Unset(name string) {
	if v == nil {
		return
	}
	v.mu.Lock()
	if v == &procVars {
		if e := v.m[name]; e != nil {
			e.set, e.smp = false, Sample{}
		}
	} else {
		delete(v.m, name)
	}
	v.mu.Unlock()
}

// Clear removes every variable.
func (v *Vars) Clear() {
	if !v.used.Load() {
		return // as if it ran before a Set still under way
	}
	v.mu.Lock()
	clear(v.m)
	v.used.Store(false)
	v.mu.Unlock()
}

// Len returns the number of variables set.
func (v *Vars) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	n := 0
	for _, e := range v.m {
		if e.set {
			n++
		}
	}
	return n
}

// Range calls fn for each variable set, in no particular order, until fn
// returns false.
func (v *Vars) Range(fn func(name string, s Sample) bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for k, e := range v.m {
		if e.set && !fn(k, e.smp) {
			return
		}
	}
}

func (v *Vars) declare(name string) {
	v.mu.Lock()
	if v.m == nil {
		v.m = map[string]*varEntry{}
	}
	if v.m[name] == nil {
		v.m[name] = &varEntry{}
		v.used.Store(true)
	}
	v.mu.Unlock()
}

// procVars holds the process-wide variables.
var procVars Vars

// ProcVars returns the process-wide variable store (scope "proc"), which
// the runtime API's "get var"/"set var" and Lua's core.get_var use too.
func ProcVars() *Vars { return &procVars }

// VarCond is one set-var condition (manual 7.3.1 "set-var").
type VarCond uint8

// The set-var conditions HAProxy 2.6 knows.
const (
	VarIfExists VarCond = 1 << iota
	VarIfNotExists
	VarIfEmpty
	VarIfNotEmpty
	VarIfSet
	VarIfNotSet
	VarIfGt
	VarIfLt
)

var varCondNames = []struct {
	name string
	c    VarCond
}{
	{"ifexists", VarIfExists}, {"ifnotexists", VarIfNotExists},
	{"ifempty", VarIfEmpty}, {"ifnotempty", VarIfNotEmpty},
	{"ifset", VarIfSet}, {"ifnotset", VarIfNotSet},
	{"ifgt", VarIfGt}, {"iflt", VarIfLt},
}

// ParseVarCond parses one condition word.
func ParseVarCond(s string) (VarCond, error) {
	for _, c := range varCondNames {
		if c.name == s {
			return c.c, nil
		}
	}
	return 0, fmt.Errorf("unknown condition \"%s\"", s)
}

// Vars returns the store for scope in ctx, nil when there is none
// (no stream, or no check).
func (c *Ctx) Vars(scope VarScope) *Vars {
	switch scope {
	case ScopeProc:
		return &procVars
	case ScopeSess:
		return c.Sess
	case ScopeTxn:
		return c.Txn
	case ScopeReq, ScopeRes:
		if c.ReqResScope != 0 && scope != c.ReqResScope {
			return nil
		}
		return c.ReqRes
	case ScopeCheck:
		return c.Check
	}
	return nil
}

// GetVar returns the value of a variable.
func (c *Ctx) GetVar(v VarName) (Sample, bool) {
	return c.Vars(v.Scope).Get(v.Name)
}

// SetVar sets a variable if the conditions hold (a zero cond sets it
// unconditionally) and reports whether it did.
func (c *Ctx) SetVar(v VarName, s Sample, cond VarCond) bool {
	vs := c.Vars(v.Scope)
	if vs == nil {
		return false
	}
	if cond != 0 {
		vs.mu.RLock()
		e := vs.m[v.Name]
		var prev Sample
		exists, set := e != nil, e != nil && e.set
		if set {
			prev = e.smp
		}
		vs.mu.RUnlock()
		if !varCondsHold(cond, exists, set, prev, s) {
			return false
		}
	}
	vs.Set(v.Name, s)
	return true
}

// UnsetVar removes a variable.
func (c *Ctx) UnsetVar(v VarName) {
	c.Vars(v.Scope).Unset(v.Name)
}

func varCondsHold(cond VarCond, exists, set bool, prev, in Sample) bool {
	if cond&VarIfExists != 0 && !exists {
		return false
	}
	if cond&VarIfNotExists != 0 && exists {
		return false
	}
	empty := (in.Type == TypeStr || in.Type == TypeBin) && in.Str == ""
	if cond&VarIfEmpty != 0 && !empty {
		return false
	}
	if cond&VarIfNotEmpty != 0 && empty {
		return false
	}
	if cond&VarIfSet != 0 && !set {
		return false
	}
	if cond&VarIfNotSet != 0 && set {
		return false
	}
	ints := set && prev.Type == TypeSInt && in.Type == TypeSInt
	if cond&VarIfGt != 0 && ints && !(prev.Int > in.Int) {
		return false
	}
	if cond&VarIfLt != 0 && ints && !(prev.Int < in.Int) {
		return false
	}
	return true
}
