//go:build lua53

package luabind

import "luaproxy/luabind/vm"

// globalFunction anchors the global function name (the early "lua <fn>"
// action form). The caller holds the lock.
func (ls *LState) globalFunction(name string) (vm.Ref, bool) {
	co, err := ls.NewCo(vm.CoOptions{})
	if err != nil {
		return 0, false
	}
	defer co.Close()
	if err := co.Load([]byte("local f = _G[...] if type(f) == 'function' then return f end"), "=lookup"); err != nil {
		return 0, false
	}
	co.PushString(name)
	if co.Resume() != vm.OK || co.NResults() < 1 || co.ResultType(1) != vm.TypeFunction {
		return 0, false
	}
	r := co.RefResult(1)
	return r, r > 0
}
