//go:build lua53

package luabind

import (
	"luaproxy/core"
	"luaproxy/core/config"
)

func init() {
	core.RegisterGlobal("lua-prepend-path", luaPrependPath)
}

// prependPath is one "lua-prepend-path <string> [path|cpath]".
type prependPath struct {
	path string
	kind string // "path" or "cpath"
}

// luaPrependPath handles "lua-prepend-path <string> [<type>]": "<string>;"
// goes in front of package.path (or package.cpath) of every Lua state,
// the ones that exist and the ones made later (lua-load-per-thread), as
// HAProxy does; a later directive is searched first.
func luaPrependPath(e *core.Engine, l config.Line) error {
	if len(l.Args) > 3 {
		return l.Errorf("'%s' cannot handle unexpected argument '%s'.", l.Args[0], l.Args[3])
	}
	if len(l.Args) < 2 || l.Args[1] == "" {
		return l.Errorf("'%s' expects to receive a <path> as argument", l.Args[0])
	}
	p := prependPath{path: l.Args[1], kind: "path"}
	if len(l.Args) == 3 {
		if l.Args[2] != "path" && l.Args[2] != "cpath" {
			return l.Errorf("'%s' expects <type> to either be 'path' or 'cpath'", l.Args[0])
		}
		p.kind = l.Args[2]
	}
	rt := runtimeOf(e)
	rt.prepends = append(rt.prepends, p)
	for _, ls := range rt.allStates() {
		if err := ls.prependPath(p); err != nil {
			return l.Errorf("%v", err)
		}
	}
	return nil
}

const prependChunk = `local path, kind = ...; package[kind] = path .. ";" .. package[kind]`

func (ls *LState) prependPath(p prependPath) error {
	return ls.runChunk([]byte(prependChunk), "=lua-prepend-path", []string{p.path, p.kind})
}
