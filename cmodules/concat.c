/*
 * concat — fast chunk concatenation for Lua 5.3, the C module the HAProxy Lua architecture
 * document mentions: "str = str .. chunk" in a loop copies the whole string every time,
 * whereas a buffer that grows geometrically appends each chunk once.
 *
 *   local concat = require("concat")
 *   local b = concat.new()
 *   b:add("a", "b", 42)      -- appends strings and numbers; returns b
 *   print(b:dump(), #b)      -- "ab42"  4   (also b:len(), tostring(b))
 *   b:reset()                -- empties it, keeping the memory for reuse
 *
 * Memory comes from the state's own allocator (lua_getallocf), so a host that limits Lua
 * memory (tune.lua.maxmem) counts and limits these buffers too; growth that the allocator
 * refuses raises "not enough memory" and leaves the buffer as it was.
 */
#include <stdint.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#define CONCAT_MT "concat.Buffer"
#define CONCAT_MIN_CAP 64

typedef struct {
	char *data; /* NULL until the first non-empty add */
	size_t len;
	size_t cap;
} Buffer;

/*
 * Returns argument 1 as a Buffer, or raises "bad argument #1 ... (concat.Buffer expected...)".
 * Every function of the module has the metatable as upvalue 1: comparing with it is much
 * cheaper than luaL_checkudata's registry lookup by name, and add() is called in hot loops.
 */
static Buffer *checkbuffer(lua_State *L)
{
	Buffer *b = (Buffer *)lua_touserdata(L, 1);

	if (b != NULL && lua_getmetatable(L, 1)) {
		int same = lua_rawequal(L, -1, lua_upvalueindex(1));

		lua_pop(L, 1);
		if (same)
			return b;
	}
	return (Buffer *)luaL_checkudata(L, 1, CONCAT_MT); /* raises the standard message */
}

/* Makes room for n more bytes, or raises "not enough memory". */
static void reserve(lua_State *L, Buffer *b, size_t n)
{
	void *ud;
	lua_Alloc alloc;
	size_t need, cap;
	char *p;

	if (n <= b->cap - b->len)
		return;
	if (n > SIZE_MAX - b->len)
		luaL_error(L, "not enough memory");
	need = b->len + n;
	cap = b->cap ? b->cap : CONCAT_MIN_CAP;
	while (cap < need)
		cap = cap <= SIZE_MAX / 2 ? cap * 2 : need;
	alloc = lua_getallocf(L, &ud);
	p = alloc(ud, b->data, b->data ? b->cap : 0, cap);
	if (p == NULL)
		luaL_error(L, "not enough memory");
	b->data = p;
	b->cap = cap;
}

/* concat.new() -> buffer: a new, empty buffer. */
static int l_new(lua_State *L)
{
	Buffer *b = (Buffer *)lua_newuserdata(L, sizeof(*b));

	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_setmetatable(L, -2);
	return 1;
}

/* buffer:add(s, ...) -> buffer: appends each string or number (formatted as tostring would). */
static int l_add(lua_State *L)
{
	Buffer *b = checkbuffer(L);
	int i, top = lua_gettop(L);

	for (i = 2; i <= top; i++) {
		const char *s;
		size_t n;

		switch (lua_type(L, i)) {
		case LUA_TSTRING:
			s = lua_tolstring(L, i, &n);
			break;
		case LUA_TNUMBER:
			s = luaL_tolstring(L, i, &n); /* a new string on top; the argument is unchanged */
			break;
		default:
			return luaL_argerror(L, i, lua_pushfstring(L, "string expected, got %s",
			                                           luaL_typename(L, i)));
		}
		reserve(L, b, n);
		if (n > 0)
			memcpy(b->data + b->len, s, n);
		b->len += n;
		lua_settop(L, top); /* drop luaL_tolstring's result */
	}
	lua_settop(L, 1);
	return 1;
}

/* buffer:dump() -> string, also __tostring: the whole contents. */
static int l_dump(lua_State *L)
{
	Buffer *b = checkbuffer(L);

	lua_pushlstring(L, b->data ? b->data : "", b->len);
	return 1;
}

/* buffer:len() -> integer, also __len: the number of bytes held. */
static int l_len(lua_State *L)
{
	Buffer *b = checkbuffer(L);

	lua_pushinteger(L, (lua_Integer)b->len);
	return 1;
}

/* buffer:reset(): empties the buffer; its memory is kept for the next adds. */
static int l_reset(lua_State *L)
{
	checkbuffer(L)->len = 0;
	return 0;
}

/* __gc: gives the memory back. Safe to run twice (a finalizer may resurrect the object). */
static int l_gc(lua_State *L)
{
	Buffer *b = checkbuffer(L);
	void *ud;
	lua_Alloc alloc = lua_getallocf(L, &ud);

	if (b->data != NULL)
		alloc(ud, b->data, b->cap, 0);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return 0;
}

static const luaL_Reg methods[] = {
	{"add", l_add},
	{"dump", l_dump},
	{"len", l_len},
	{"reset", l_reset},
	{NULL, NULL},
};

static const luaL_Reg metamethods[] = {
	{"__len", l_len},
	{"__tostring", l_dump},
	{"__gc", l_gc},
	{NULL, NULL},
};

static const luaL_Reg functions[] = {
	{"new", l_new},
	{NULL, NULL},
};

/* Registers funcs into the table on top, each with the metatable at index mt as upvalue. */
static void setfuncs(lua_State *L, int mt, const luaL_Reg *funcs)
{
	lua_pushvalue(L, mt);
	luaL_setfuncs(L, funcs, 1);
}

int luaopen_concat(lua_State *L)
{
	int mt;

	luaL_newmetatable(L, CONCAT_MT); /* also sets __name, used in error messages */
	mt = lua_gettop(L);
	setfuncs(L, mt, metamethods);
	lua_newtable(L);
	setfuncs(L, mt, methods);
	lua_setfield(L, mt, "__index");
	lua_newtable(L);
	setfuncs(L, mt, functions); /* the module table */
	return 1;
}
