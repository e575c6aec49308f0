/*
 * mymod — the "hello world" C module of the HAProxy Lua architecture document
 * ("Lua is fast, but my service require more execution speed"): require("mymod")
 * prints "Hello world" when the module is loaded, and returns nothing.
 *
 * Lua looks up the symbol "luaopen_<name>", where <name> is the .so file's name.
 */
#include <stdio.h>

#include <lua.h>
#include <lauxlib.h>

int luaopen_mymod(lua_State *L)
{
	(void)L;
	printf("Hello world\n");
	fflush(stdout); /* the host may not share our stdio buffer or flush it at exit */
	return 0;
}
