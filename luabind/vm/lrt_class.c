//go:build lua53

// Classes: the __index of objects with lazily built fields and views,
// the views an invocation's thread lends, and the class metamethods made
// in C. See lrt.c for the rest of the C half of the boundary.
#include "_cgo_export.h"
#include "lrt.h"

static void make_view(lua_State *L, int mt);
static void empty_table(lua_State *L, int t);
static int view_class(lua_State *L, lrt_vm *vm, int idx);

/* new_view pushes a view of the object at index 1, of class idx: a table
 * whose [0] is the object's handle. The root thread of an invocation
 * keeps one view per class, lent to the first object that asks in each
 * invocation, emptied of any field a script set and with its class's
 * metatable again: a request's txn.f and txn.http then cost no allocation, and
 * no garbage for the collector to sweep (they were a third of a Lua
 * action's cost over plain proxying, most of it cache misses on freshly
 * reused blocks). A view is lent while view_gen is the thread's current
 * generation, so a reset frees them all by counting. A second view of the
 * same class in one invocation, or a view made on a thread that is no
 * invocation's root, is a new table. A view kept by a script past its
 * invocation holds a released handle until it is lent again, as a TXN
 * kept past its invocation does. */
static void new_view(lua_State *L, int idx) {
	lrt_vm *vm = getvm(L);
	int mt = view_class(L, vm, idx);
	lrt_co *c = getco(L);
	if (c && idx >= 0 && idx < LRT_VIEW_CLASSES) {
		if (c->view_ref[idx] == 0) { /* the first of its class */
			make_view(L, mt);
			lua_pushvalue(L, -1);
			c->view_ref[idx] = luaL_ref(L, LUA_REGISTRYINDEX);
			c->view_gen[idx] = c->gen;
			return;
		}
		if (c->view_gen[idx] != c->gen) { /* free: lend it */
			lua_rawgeti(L, LUA_REGISTRYINDEX, c->view_ref[idx]);
			empty_table(L, lua_gettop(L));
			lua_rawgeti(L, 1, 0);
			lua_rawseti(L, -2, 0);
			lua_rawgeti(L, LUA_REGISTRYINDEX, mt);
			lua_setmetatable(L, -2);
			c->view_gen[idx] = c->gen;
			return;
		}
	}
	make_view(L, mt);
}

/* view_class returns the registry reference of class idx's metatable,
 * built by Go on first use in the state. It raises when it cannot be. */
static int view_class(lua_State *L, lrt_vm *vm, int idx) {
	if (idx >= 0 && idx < LRT_VIEW_CLASSES && vm->class_ref[idx] > 0)
		return vm->class_ref[idx];
	int ref = goClassRef(vm->id, (int64_t)idx);
	if (ref < 0)
		luaL_error(L, "cannot build the class of field '%s'", lua_tostring(L, 2));
	if (idx >= 0 && idx < LRT_VIEW_CLASSES)
		vm->class_ref[idx] = ref;
	return ref;
}

/* make_view pushes a new view of the object at index 1, of the metatable
 * registry[mt]. */
static void make_view(lua_State *L, int mt) {
	lua_createtable(L, 0, 1);
	lua_rawgeti(L, 1, 0);
	lua_rawseti(L, -2, 0);
	lua_rawgeti(L, LUA_REGISTRYINDEX, mt);
	lua_setmetatable(L, -2);
}

/* lrt_index is the __index of classes with lazily built fields.
 * upvalue 1: methods table; upvalue 2: fields table (name -> builder
 * function, or the class index of a view: an object of that class sharing
 * obj[0], the handle of the same Go value, see new_view). */
int lrt_index(lua_State *L) {
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushvalue(L, 2);
	if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	lua_pushvalue(L, 2);
	switch (lua_rawget(L, lua_upvalueindex(2))) {
	case LUA_TNIL:
		return 1;
	case LUA_TNUMBER: { /* a view: the number is its class */
		int idx = (int)lua_tointeger(L, -1);
		lua_pop(L, 1);
		new_view(L, idx);
		break;
	}
	default:
		lua_pushvalue(L, 1);
		lua_call(L, 1, 1); /* builder(obj) -> field value */
	}
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1); /* cache it in the object */
	return 1;
}

/* __tostring of a class: upvalue 1 is the class name. */
int lrt_tostring_name(lua_State *L) {
	lua_pushvalue(L, lua_upvalueindex(1));
	return 1;
}

/* __gc of GC-owned handles: tells Go the object is unreachable. */
int lrt_gc_handle(lua_State *L) {
	int64_t *u = lua_touserdata(L, 1);
	if (u) {
		lrt_vm *vm = getvm(L);
		goRelease(vm->id, *u);
	}
	return 0;
}

/* make_object pushes a new object table of the metatable registry[cref]
 * whose [0] is handle h: a full userdata that tells Go when it is
 * collected if owned, else a light one (the invocation scopes it). */
static void make_object(lua_State *L, int cref, int64_t h, int owned, int fields) {
	lrt_vm *vm = getvm(L);
	lua_createtable(L, 0, 1 + fields);
	if (owned) {
		int64_t *u = lua_newuserdata(L, sizeof(int64_t));
		*u = h;
		lua_rawgeti(L, LUA_REGISTRYINDEX, vm->handle_mt);
		lua_setmetatable(L, -2);
	} else {
		lua_pushlightuserdata(L, (void *)(uintptr_t)h);
	}
	lua_rawseti(L, -2, 0);
	lua_rawgeti(L, LUA_REGISTRYINDEX, cref);
	lua_setmetatable(L, -2);
}

/* lrt_push_object pushes an object of class lend (-1: a class whose
 * objects are not lent), metatable registry[cref], for handle h. The
 * root thread of an invocation lends the objects of such a class as it
 * lends views (new_view): the table it gave the invocation before, emptied
 * of every field, with h in [0] and the class's metatable again. A TXN
 * pushed for each request then costs no allocation and leaves no garbage
 * (a table and its hash part: two blocks to allocate, cold in the cache,
 * and two for the collector to sweep, per request). A second object of
 * the class in one invocation, or one pushed on another thread, is a new
 * table. As with HAProxy's objects, a script must not use one after its
 * invocation: a kept one later names the handle of another. */
void lrt_push_object(lua_State *L, int cref, int64_t h, int owned, int fields, int lend) {
	lrt_co *c = getco(L);
	if (owned || lend < 0 || lend >= LRT_VIEW_CLASSES || !c) {
		make_object(L, cref, h, owned, fields);
		return;
	}
	if (c->obj_ref[lend] == 0) { /* the first of its class */
		make_object(L, cref, h, 0, fields);
		lua_pushvalue(L, -1);
		c->obj_ref[lend] = luaL_ref(L, LUA_REGISTRYINDEX);
		c->obj_gen[lend] = c->gen;
		return;
	}
	if (c->obj_gen[lend] == c->gen) { /* lent in this invocation */
		make_object(L, cref, h, 0, fields);
		return;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, c->obj_ref[lend]);
	int t = lua_gettop(L);
	empty_table(L, t);
	lua_pushlightuserdata(L, (void *)(uintptr_t)h);
	lua_rawseti(L, t, 0);
	lua_rawgeti(L, LUA_REGISTRYINDEX, cref);
	lua_setmetatable(L, t);
	c->obj_gen[lend] = c->gen;
}

/* empty_table removes every field of the table at index t (a lent one:
 * what the script of the invocation before set is not seen by the next). */
static void empty_table(lua_State *L, int t) {
	luaL_checkstack(L, 4, "stack overflow");
	/* clearing a field while lua_next walks the table is allowed */
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_pushnil(L);
		lua_rawset(L, t);
	}
}
