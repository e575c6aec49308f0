//go:build lua53

package luabind

import (
	"errors"
	"testing"
)

// memPatterns is a patternStore for tests: files by name, entries in order.
type memPatterns map[string]*memRef

type memRef struct{ keys, values []string }

func (m memPatterns) PatternRef(name string) (patternRef, bool) {
	r, ok := m[name]
	return r, ok
}

func (r *memRef) Has(key string) bool {
	for _, k := range r.keys {
		if k == key {
			return true
		}
	}
	return false
}

func (r *memRef) Add(key, value string) error {
	if key == "bad" {
		return errors.New("unparsable key")
	}
	r.keys, r.values = append(r.keys, key), append(r.values, value)
	return nil
}

func (r *memRef) Set(key, value string) error {
	for i, k := range r.keys {
		if k == key {
			r.values[i] = value
		}
	}
	return nil
}

func (r *memRef) Delete(key string) bool {
	found := false
	for i := 0; i < len(r.keys); i++ {
		if r.keys[i] == key {
			r.keys = append(r.keys[:i], r.keys[i+1:]...)
			r.values = append(r.values[:i], r.values[i+1:]...)
			i--
			found = true
		}
	}
	return found
}

// Errors and argument checks as printed by HAProxy 2.6.12.
var patternErrorCases = []luaCase{
	{`try(core.add_acl, "/nope.acl", "x")`, `boolean:false, "'add_acl': unknown acl file '/nope.acl'"`},
	{`try(core.del_acl, "/nope.acl", "x")`, `boolean:false, "'del_acl': unknown acl file '/nope.acl'"`},
	{`try(core.set_map, "/nope.map", "x", "y")`, `boolean:false, "'set_map': unknown map file '/nope.map'"`},
	{`try(core.del_map, "/nope.map", "x")`, `boolean:false, "'del_map': unknown acl file '/nope.map'"`},
	{`try(core.add_acl, "/nope.acl")`, `boolean:false, "'add_acl' needs 2 arguments"`},
	{`try(core.set_map, "/nope.map", "x")`, `boolean:false, "'set_map' needs 3 arguments"`},
	{`try(core.set_map, nil, "x", "y")`, `boolean:false, "bad argument #1 to '?' (string expected, got nil)"`},
	{`try(core.del_map, "/nope.map", {})`, `boolean:false, "bad argument #2 to '?' (string expected, got table)"`},
}

func TestCorePatternsErrors(t *testing.T) {
	for _, ctx := range []context{ctxBody, ctxInit, ctxAction, ctxFetch} {
		t.Run(ctx.String(), func(t *testing.T) { runCases(t, ctx, patternErrorCases) })
	}
}

func TestCorePatterns(t *testing.T) {
	ts := newTestState(t)
	acl, m := &memRef{}, &memRef{keys: []string{"a"}, values: []string{"b"}}
	ts.ls.rt.patterns = memPatterns{"/etc/a.acl": acl, "/etc/m.map": m}
	for _, s := range []string{
		`core.add_acl("/etc/a.acl", "10.0.0.0/8")`,
		`core.add_acl("/etc/a.acl", "10.0.0.0/8")`, // already there: not added twice
		`core.add_acl("/etc/a.acl", "bad")`,        // refused by the store: ignored
		`core.add_acl("/etc/a.acl", "1.2.3.4")`,
		`core.del_acl("/etc/a.acl", "1.2.3.4")`,
		`core.set_map("/etc/m.map", "a", "c")`, // replaces
		`core.set_map("/etc/m.map", "k", "v")`, // adds
		`core.del_map("/etc/m.map", "zz")`,     // absent: no error
	} {
		ts.want(ctxAction, s+` return "ok"`, "ok")
	}
	if len(acl.keys) != 1 || acl.keys[0] != "10.0.0.0/8" {
		t.Errorf("acl: %q", acl.keys)
	}
	if got := [2][]string{m.keys, m.values}; len(m.keys) != 2 || m.values[0] != "c" || m.keys[1] != "k" || m.values[1] != "v" {
		t.Errorf("map: %q", got)
	}
}
