//go:build lua53

package luabind

import "luaproxy/luabind/vm"

// apiClass is one Lua class as the API manifest test sees it: its name and
// the names scripts can call or read on its objects.
type apiClass struct {
	name  string
	names func() []string
}

// apiClasses lists every class declared with declareClass, in declaration
// order. The manifest test (manifest_test.go) compares them, with the
// global tables (core, act, Regex, ...), against the reference's function
// list, so a missing method is visible and a misspelt one fails.
var apiClasses []apiClass

// declareClass records cl in apiClasses and returns it: every class
// descriptor of the package is declared through it.
func declareClass[T any](cl *vm.Class[T]) *vm.Class[T] {
	apiClasses = append(apiClasses, apiClass{name: cl.Name, names: cl.MethodNames})
	return cl
}
