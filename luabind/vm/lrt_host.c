//go:build lua53

// The host's protected helpers: Lua API calls that may raise (allocate,
// run a metamethod or a finalizer) run here under lua_pcall, so that Go
// never calls a raising function unprotected. See lrt.c for the rest of
// the C half of the boundary.
#include "lrt.h"

#include <stdlib.h>
#include <string.h>

/* ---- protected helpers for the host ---- */

static int openlibs_k(lua_State *L) {
	luaL_openlibs(L);
	return 0;
}

int lrt_openlibs(lrt_vm *vm) {
	lua_State *L = vm->L;
	vm->lenient++;
	lua_pushcfunction(L, openlibs_k);
	int st = lua_pcall(L, 0, 0, 0);
	vm->lenient--;
	if (st != LUA_OK)
		lua_pop(L, 1);
	return st;
}

static int describe_k(lua_State *L) {
	lrt_vm *vm = getvm(L);
	lua_State *co = lua_touserdata(L, 1);
	int tb = lua_toboolean(L, 2);
	const char *msg;
	int t = lua_type(co, -1);
	if (lua_gettop(co) == 0)
		msg = "unknown error";
	else if (t == LUA_TSTRING || t == LUA_TNUMBER) {
		lua_xmove(co, L, 1); /* co is dead and dropped after this */
		msg = lua_tostring(L, -1);
	} else {
		msg = lua_pushfstring(L, "(error object is a %s value)", lua_typename(L, t));
	}
	if (tb) {
		luaL_traceback(L, co, msg, 0);
		msg = lua_tostring(L, -1);
	}
	lrt_set_out(vm, msg, strlen(msg));
	return 0;
}

/* hlua_trace appends HAProxy's one-line traceback of co (hlua_traceback in
 * HAProxy's hlua.c): "file:line: in global 'f', file:line: in function line N". */
static void hlua_trace(lua_State *L, lua_State *co, const char *sep) {
	luaL_Buffer b;
	lua_Debug ar;
	int level = 0, any = 0;
	luaL_buffinit(L, &b);
	while (lua_getstack(co, level++, &ar)) {
		lua_getinfo(co, "Slnt", &ar);
		if (ar.currentline < 0 && *ar.what == 'C' && !*ar.namewhat && !ar.name)
			continue;
		if (any)
			luaL_addstring(&b, sep);
		any = 1;
		if (ar.currentline > 0)
			lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
		else
			lua_pushfstring(L, "%s: ", ar.short_src);
		luaL_addvalue(&b);
		if (*ar.namewhat != '\0' && ar.name != NULL)
			lua_pushfstring(L, "in %s '%s'", ar.namewhat, ar.name);
		else if (*ar.what == 'm')
			lua_pushliteral(L, "in main chunk");
		else if (*ar.what != 'C')
			lua_pushfstring(L, "in function line %d", ar.linedefined);
		else
			lua_pushliteral(L, "?");
		luaL_addvalue(&b);
		if (ar.istailcall)
			luaL_addstring(&b, " ...");
	}
	luaL_pushresult(&b);
}

static int hlua_trace_k(lua_State *L) {
	lrt_vm *vm = getvm(L);
	lua_State *co = lua_touserdata(L, 1);
	hlua_trace(L, co, ", ");
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	lrt_set_out(vm, s, len);
	return 0;
}

int lrt_hlua_traceback(lrt_vm *vm, lua_State *co) {
	lua_State *L = vm->L;
	vm->lenient++;
	lua_pushcfunction(L, hlua_trace_k);
	lua_pushlightuserdata(L, co);
	int st = lua_pcall(L, 1, 0, 0);
	vm->lenient--;
	if (st != LUA_OK) {
		lua_pop(L, 1);
		lrt_set_out(vm, "?", 1);
	}
	return st;
}

int lrt_describe_error(lrt_vm *vm, lua_State *co, int traceback) {
	lua_State *L = vm->L;
	vm->lenient++;
	lua_pushcfunction(L, describe_k);
	lua_pushlightuserdata(L, co);
	lua_pushboolean(L, traceback);
	int st = lua_pcall(L, 2, 0, 0);
	vm->lenient--;
	if (st != LUA_OK) {
		lua_pop(L, 1);
		lrt_set_out(vm, "unknown error", 13);
	}
	return st;
}

static int tostring_k(lua_State *L) {
	lrt_vm *vm = getvm(L);
	lua_State *from = lua_touserdata(L, 1);
	int idx = (int)lua_tointeger(L, 2);
	lua_pushvalue(from, idx);
	lua_xmove(from, L, 1);
	size_t len;
	const char *s = luaL_tolstring(L, -1, &len);
	lrt_set_out(vm, s, len);
	return 0;
}

int lrt_tostring(lrt_vm *vm, lua_State *L, int idx) {
	lua_State *M = vm->L;
	if (idx < 0 && idx > LUA_REGISTRYINDEX)
		idx = lua_gettop(L) + idx + 1;
	vm->lenient++;
	lua_pushcfunction(M, tostring_k);
	lua_pushlightuserdata(M, L);
	lua_pushinteger(M, idx);
	int st = lua_pcall(M, 2, 0, 0);
	vm->lenient--;
	if (st != LUA_OK) {
		lua_pop(M, 1);
		lrt_set_out(vm, "?", 1);
	}
	return st;
}

static int ref_k(lua_State *L) {
	lua_settop(L, 1);
	lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
	return 1;
}

int lrt_ref(lrt_vm *vm, lua_State *L, int idx) {
	if (!lua_checkstack(L, 3))
		return LUA_NOREF;
	if (idx < 0 && idx > LUA_REGISTRYINDEX)
		idx = lua_gettop(L) + idx + 1;
	vm->lenient++;
	lua_pushcfunction(L, ref_k);
	lua_pushvalue(L, idx);
	int st = lua_pcall(L, 1, 1, 0);
	vm->lenient--;
	int ref = LUA_NOREF;
	if (st == LUA_OK)
		ref = (int)lua_tointeger(L, -1);
	lua_pop(L, 1);
	return ref;
}

void lrt_unref(lrt_vm *vm, int ref) {
	/* luaL_unref only writes into an existing registry slot: no allocation */
	luaL_unref(vm->L, LUA_REGISTRYINDEX, ref);
}

static int gc_k(lua_State *L) {
	int what = (int)lua_tointeger(L, 1);
	int data = (int)lua_tointeger(L, 2);
	lua_pushinteger(L, lua_gc(L, what, data));
	return 1;
}

/* lrt_gc runs lua_gc protected: finalizers run by a collection may raise. */
int lrt_gc(lrt_vm *vm, int what, int data) {
	lua_State *L = vm->L;
	vm->lenient++;
	lua_pushcfunction(L, gc_k);
	lua_pushinteger(L, what);
	lua_pushinteger(L, data);
	int st = lua_pcall(L, 2, 1, 0);
	vm->lenient--;
	int r = st == LUA_OK ? (int)lua_tointeger(L, -1) : -1;
	lua_pop(L, 1);
	return r;
}
