//go:build lua53

package luabind

import (
	"fmt"

	"luaproxy/core/pattern"

	"luaproxy/luabind/vm"
)

// patternStore is the engine's maps and ACL files as the legacy functions
// core.add_acl, del_acl, set_map and del_map see them.
type patternStore interface {
	// PatternRef returns the pattern reference named name: a map or ACL
	// file as written in the configuration.
	PatternRef(name string) (patternRef, bool)
}

// patternRef is one map or ACL file's entries.
type patternRef interface {
	// Has reports whether an entry has key.
	Has(key string) bool
	// Add adds an entry (value is "" for an ACL).
	Add(key, value string) error
	// Set changes the value of every entry with key.
	Set(key, value string) error
	// Delete removes every entry with key; false if there was none.
	Delete(key string) bool
}

// patternArgs checks fn's n string arguments (name, key [, value]) in
// order, then resolves name, with HAProxy's error when it is unknown (kind
// is "acl" or "map").
func patternArgs(c *vm.Call, fn, kind string, n int) (patternRef, []string, error) {
	if err := checkArgs(c, n, fn); err != nil {
		return nil, nil, err
	}
	args := make([]string, n)
	for i := range args {
		s, err := c.String(i + 1)
		if err != nil {
			return nil, nil, err
		}
		args[i] = s
	}
	var ref patternRef
	found := false
	if ls := lsOf(c); ls != nil {
		store := ls.rt.patterns
		if store == nil {
			store = enginePatterns{}
		}
		ref, found = store.PatternRef(args[0])
	}
	if !found {
		return nil, nil, fmt.Errorf("'%s': unknown %s file '%s'", fn, kind, args[0])
	}
	return ref, args, nil
}

// luaCoreAddACL implements core.add_acl(name, key): key is added to the
// ACL file name unless it is there. It never yields.
func luaCoreAddACL(c *vm.Call) (int, error) {
	ref, a, err := patternArgs(c, "add_acl", "acl", 2)
	if err != nil {
		return 0, err
	}
	if !ref.Has(a[1]) {
		_ = ref.Add(a[1], "") // HAProxy compat: a key that does not parse is ignored
	}
	return 0, nil
}

// luaCoreDelACL implements core.del_acl(name, key). It never yields.
func luaCoreDelACL(c *vm.Call) (int, error) {
	return delPattern(c, "del_acl")
}

// luaCoreDelMap implements core.del_map(name, key). It never yields.
func luaCoreDelMap(c *vm.Call) (int, error) {
	return delPattern(c, "del_map")
}

func delPattern(c *vm.Call, fn string) (int, error) {
	// HAProxy compat: del_map says "unknown acl file" too.
	ref, a, err := patternArgs(c, fn, "acl", 2)
	if err != nil {
		return 0, err
	}
	ref.Delete(a[1])
	return 0, nil
}

// luaCoreSetMap implements core.set_map(name, key, value): the value of key
// in the map file name, added if absent. It never yields.
func luaCoreSetMap(c *vm.Call) (int, error) {
	ref, a, err := patternArgs(c, "set_map", "map", 3)
	if err != nil {
		return 0, err
	}
	// HAProxy compat: a value the map cannot hold is ignored.
	if ref.Has(a[1]) {
		_ = ref.Set(a[1], a[2])
	} else {
		_ = ref.Add(a[1], a[2])
	}
	return 0, nil
}

// enginePatterns is the default patternStore: core/pattern's process-wide
// references, the ones the configuration's ACLs and maps, the runtime API
// and Map.new use.
type enginePatterns struct{}

func (enginePatterns) PatternRef(name string) (patternRef, bool) {
	r, ok := pattern.Lookup(name)
	if !ok {
		return nil, false
	}
	return engineRef{r}, true
}

type engineRef struct{ r *pattern.Ref }

func (e engineRef) Has(key string) bool { return len(e.r.Find(key)) > 0 }

func (e engineRef) Add(key, value string) error { return e.r.Add(key, value) }

func (e engineRef) Set(key, value string) error {
	_, err := e.r.Set(key, value)
	return err
}

func (e engineRef) Delete(key string) bool { return e.r.Del(key) > 0 }
