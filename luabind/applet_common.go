//go:build lua53

package luabind

import (
	"luaproxy/core"
	"luaproxy/luabind/vm"
)

// Applets (AppletTCP, AppletHTTP) share TXN's fetches, converters,
// variables and private data: HAProxy gives them the same functions
// (hlua_applet_*_get_var ...), with the applet as self.

// streamOf is implemented by both applet classes.
type appletStream interface{ stream() *core.Stream }

func (ap *AppletTCP) stream() *core.Stream  { return ap.s }
func (ap *AppletHTTP) stream() *core.Stream { return ap.s }

// asTXN runs a TXN method for an applet.
func asTXN[A appletStream](fn func(*TXN, *vm.Call) (int, error)) func(A, *vm.Call) (int, error) {
	return func(ap A, c *vm.Call) (int, error) {
		return fn(&TXN{s: ap.stream(), ls: lsOf(c)}, c)
	}
}

// appletShared returns the methods and fields applets share with TXN.
func appletShared[A appletStream]() (methods, fields []vm.Method[A]) {
	methods = []vm.Method[A]{
		{Name: "get_priv", Fn: asTXN[A]((*TXN).luaGetPriv)},
		{Name: "set_priv", Fn: asTXN[A]((*TXN).luaSetPriv)},
		{Name: "get_var", Fn: asTXN[A]((*TXN).luaGetVar)},
		{Name: "set_var", Fn: asTXN[A]((*TXN).luaSetVar)},
		{Name: "unset_var", Fn: asTXN[A]((*TXN).luaUnsetVar)},
	}
	push := func(fetch, str bool) func(*TXN, *vm.Call) (int, error) {
		return func(tx *TXN, c *vm.Call) (int, error) {
			if fetch {
				pushFetches(&c.Pusher, tx, str)
			} else {
				pushConverters(&c.Pusher, tx, str)
			}
			return 1, nil
		}
	}
	fields = []vm.Method[A]{
		{Name: "f", Fn: asTXN[A](push(true, false))},
		{Name: "sf", Fn: asTXN[A](push(true, true))},
		{Name: "c", Fn: asTXN[A](push(false, false))},
		{Name: "sc", Fn: asTXN[A](push(false, true))},
	}
	return methods, fields
}

func init() {
	m, f := appletShared[*AppletTCP]()
	appletTCPClass.Methods = append(appletTCPClass.Methods, m...)
	appletTCPClass.Fields = append(appletTCPClass.Fields, f...)
	m2, f2 := appletShared[*AppletHTTP]()
	appletHTTPClass.Methods = append(appletHTTPClass.Methods, m2...)
	appletHTTPClass.Fields = append(appletHTTPClass.Fields, f2...)
}
