//go:build lua53

package vm

/*
#include "lrt.h"
static const char *lrt_release(void) { return LUA_RELEASE; }
*/
import "C"

// Release returns the Lua release the package is built with, LUA_RELEASE
// of the headers ("Lua 5.3.6"), for "luaproxy -vv".
func Release() string { return C.GoString(C.lrt_release()) }
