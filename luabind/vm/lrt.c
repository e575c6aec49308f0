//go:build lua53

// The C half of the Lua boundary: allocator, trampoline, hook, resume, ops.
// Policy lives in Go; this file only moves values and longjmps on C frames.
#include "_cgo_export.h"
#include "lrt.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

/* ---- ops: values marshalled by Go, pushed by C (see ops.go) ---- */
enum {
	OP_NIL = 1,
	OP_BOOL = 2,     /* u8 */
	OP_INT = 3,      /* i64 */
	OP_NUM = 4,      /* f64 */
	OP_STR = 5,      /* u32 len, bytes */
	OP_VALUE = 6,    /* i32 index: lua_pushvalue */
	OP_REF = 7,      /* i32 ref: registry[ref] */
	OP_TABLE = 8,    /* i32 narr, i32 nrec */
	OP_RAWSET = 9,   /* t[-3][-2] = -1 */
	OP_RAWSETI = 10, /* i64 n: t[-2][n] = -1 */
	OP_OBJECT = 11,  /* i32 class ref, i64 handle, u8 owned, u8 fields */
	OP_FUNC = 12,    /* i64 Go function id: trampoline closure */
	OP_POP = 13,     /* i32 n */
	OP_SETMETA = 14, /* i32 ref: setmetatable(-1, registry[ref]) */
	OP_GLOBALS = 15, /* push _G */
	OP_REFTOP = 16,  /* pop into a new registry ref, appended to vm->out as int32 */
	OP_CFUNC = 17,   /* u8 which: built-in C helpers (see cfuncs) */
	OP_SETMETATOP = 18, /* setmetatable(-2, pop) */
};

static void note_results(lrt_co *c, lua_State *L, int n);
static void push_func(lua_State *L, int64_t fid);

static lua_CFunction cfuncs[] = {lrt_index, lrt_tostring_name, lrt_gc_handle};


int64_t lrt_mono_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- allocator ---- */

/* Lua's objects are mostly small and short-lived (a request's TXN
 * object, its views, strings), freed in bursts by the collector's sweep:
 * more than glibc's per-thread cache holds, so most of them went through
 * malloc's slow path (a twentieth of a Lua action's instructions). Blocks of
 * up to LRT_SMALL_MAX bytes are rounded to a class and kept on the state's
 * free list of that class when freed; Lua always tells a block's size
 * (osize), so a block never needs a header. The memory cap counts the
 * sizes Lua asked for, as before; the cache is bounded by LRT_CACHE_MAX. */

static inline int small_class(size_t size) {
	return (int)((size + LRT_SMALL_STEP - 1) / LRT_SMALL_STEP) - 1;
}

static void *small_get(lrt_vm *vm, size_t size) {
	int k = small_class(size);
	void *p = vm->freelist[k];
	if (p) {
		vm->freelist[k] = *(void **)p;
		vm->cached -= (size_t)(k + 1) * LRT_SMALL_STEP;
		return p;
	}
	return malloc((size_t)(k + 1) * LRT_SMALL_STEP);
}

static void small_put(lrt_vm *vm, void *p, size_t size) {
	int k = small_class(size);
	size_t csize = (size_t)(k + 1) * LRT_SMALL_STEP;
	if (vm->cached + csize > LRT_CACHE_MAX) {
		free(p);
		return;
	}
	*(void **)p = vm->freelist[k];
	vm->freelist[k] = p;
	vm->cached += csize;
}

/* block_free and block_new take and give blocks of Lua's sizes. */
static void block_free(lrt_vm *vm, void *p, size_t size) {
	if (size <= LRT_SMALL_MAX)
		small_put(vm, p, size);
	else
		free(p);
}

static void *block_new(lrt_vm *vm, size_t size) {
	return size <= LRT_SMALL_MAX ? small_get(vm, size) : malloc(size);
}

static void *block_resize(lrt_vm *vm, void *p, size_t osize, size_t nsize) {
	if (osize > LRT_SMALL_MAX && nsize > LRT_SMALL_MAX)
		return realloc(p, nsize);
	if (osize <= LRT_SMALL_MAX && nsize <= LRT_SMALL_MAX && small_class(osize) == small_class(nsize))
		return p;
	void *np = block_new(vm, nsize);
	if (np == NULL)
		return NULL;
	memcpy(np, p, osize < nsize ? osize : nsize);
	block_free(vm, p, osize);
	return np;
}

static void lrt_free_cache(lrt_vm *vm) {
	for (int k = 0; k < LRT_SMALL_CLASSES; k++) {
		while (vm->freelist[k]) {
			void *p = vm->freelist[k];
			vm->freelist[k] = *(void **)p;
			free(p);
		}
	}
	vm->cached = 0;
}

static void *lrt_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	lrt_vm *vm = (lrt_vm *)ud;
	if (ptr == NULL)
		osize = 0; /* osize is a type tag when ptr is NULL */
	if (nsize == 0) {
		if (ptr)
			block_free(vm, ptr, osize);
		vm->used -= osize;
		return NULL;
	}
	if (nsize > osize && vm->limit && !vm->lenient && vm->used + (nsize - osize) > vm->limit) {
		vm->refused++;
		return NULL; /* Lua runs an emergency GC and retries, then raises LUA_ERRMEM */
	}
	void *np = ptr ? block_resize(vm, ptr, osize, nsize) : block_new(vm, nsize);
	if (np == NULL)
		return NULL;
	vm->used = vm->used - osize + nsize;
	if (vm->used > vm->peak)
		vm->peak = vm->used;
	return np;
}

static int lrt_panic(lua_State *L) {
	/* Never reached by design: nothing raises outside protection. Do not abort. */
	const char *msg = lua_tostring(L, -1);
	fprintf(stderr, "[ALERT] lua: unprotected error: %s\n", msg ? msg : "?");
	return 0;
}

lrt_vm *lrt_new(int64_t id) {
	lrt_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->id = id;
	vm->lenient = 1;
	lua_State *L = lua_newstate(lrt_alloc, vm);
	if (!L) {
		free(vm);
		return NULL;
	}
	vm->L = L;
	vm->main_co.vm = vm;
	*(lrt_co **)lua_getextraspace(L) = &vm->main_co; /* before any thread copies it */
	lua_atpanic(L, lrt_panic);
	vm->handle_mt = LUA_NOREF;
	vm->lenient = 0;
	return vm;
}

void lrt_close(lrt_vm *vm) {
	vm->lenient++;
	lua_close(vm->L);
	lrt_free_cache(vm);
	free(vm->ops);
	free(vm->dq);
	free(vm->out);
	free(vm);
}

int lrt_grow(char **buf, size_t *cap, size_t total, size_t first) {
	if (total <= *cap)
		return 1;
	size_t c = *cap ? *cap : first;
	while (c < total)
		c *= 2;
	char *p = realloc(*buf, c);
	if (!p)
		return 0;
	*buf = p;
	*cap = c;
	return 1;
}

int lrt_ops_grow(lrt_vm *vm, size_t need) { return lrt_grow(&vm->ops, &vm->opscap, vm->opslen + need, 4096); }

void lrt_set_out(lrt_vm *vm, const char *s, size_t len) {
	free(vm->out);
	vm->out = malloc(len + 1);
	if (!vm->out) {
		vm->outlen = 0;
		return;
	}
	memcpy(vm->out, s, len);
	vm->out[len] = 0;
	vm->outlen = len;
}

static void append_out_int(lrt_vm *vm, int32_t v) {
	char *p = realloc(vm->out, vm->outlen + sizeof v + 1);
	if (!p)
		return;
	vm->out = p;
	memcpy(vm->out + vm->outlen, &v, sizeof v);
	vm->outlen += sizeof v;
}

/* ---- ops interpreter ---- */

#define RD(T, var)                                                       \
	T var;                                                               \
	memcpy(&var, *base + off, sizeof(T));                                \
	off += sizeof(T)

/* exec_ops runs the ops in [off, end) of *base onto L. base is &vm->ops, which
 * nested calls (a __gc finalizer calling Go) may reallocate, so it is re-read
 * for every op; or a pointer to a private copy (see finish). */
static void exec_ops(lrt_vm *vm, lua_State *L, const char *const *base, size_t off, size_t end) {
	while (off < end) {
		unsigned char op = (unsigned char)(*base)[off++];
		if (!lua_checkstack(L, 4))
			luaL_error(L, "stack overflow");
		switch (op) {
		case OP_NIL:
			lua_pushnil(L);
			break;
		case OP_BOOL: {
			RD(unsigned char, b);
			lua_pushboolean(L, b);
			break;
		}
		case OP_INT: {
			RD(int64_t, i);
			lua_pushinteger(L, (lua_Integer)i);
			break;
		}
		case OP_NUM: {
			RD(double, n);
			lua_pushnumber(L, n);
			break;
		}
		case OP_STR: {
			RD(uint32_t, len);
			/* the string is copied before any GC step can run a finalizer that
			 * appends ops (and so may move vm->ops) */
			lua_pushlstring(L, *base + off, len);
			off += len;
			break;
		}
		case OP_VALUE: {
			RD(int32_t, idx);
			lua_pushvalue(L, idx);
			break;
		}
		case OP_REF: {
			RD(int32_t, ref);
			lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
			break;
		}
		case OP_TABLE: {
			RD(int32_t, narr);
			RD(int32_t, nrec);
			lua_createtable(L, narr, nrec);
			break;
		}
		case OP_RAWSET:
			lua_rawset(L, -3);
			break;
		case OP_RAWSETI: {
			RD(int64_t, n);
			lua_rawseti(L, -2, (lua_Integer)n);
			break;
		}
		case OP_OBJECT: {
			RD(int32_t, cref);
			RD(int64_t, h);
			RD(unsigned char, owned);
			RD(unsigned char, fields); /* room for the fields cached first */
			RD(int32_t, lend);         /* the class, when its objects are lent; else -1 */
			lrt_push_object(L, cref, h, owned, fields, lend);
			break;
		}
		case OP_FUNC: {
			RD(int64_t, fid);
			push_func(L, fid);
			break;
		}
		case OP_POP: {
			RD(int32_t, n);
			lua_pop(L, n);
			break;
		}
		case OP_SETMETA: {
			RD(int32_t, ref);
			lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
			lua_setmetatable(L, -2);
			break;
		}
		case OP_SETMETATOP:
			lua_setmetatable(L, -2);
			break;
		case OP_GLOBALS:
			lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
			break;
		case OP_REFTOP:
			append_out_int(vm, luaL_ref(L, LUA_REGISTRYINDEX));
			break;
		case OP_CFUNC: {
			RD(unsigned char, which);
			RD(int32_t, nup);
			lua_pushcclosure(L, cfuncs[which], nup);
			break;
		}
		default:
			luaL_error(L, "lrt: bad op %d", op);
		}
	}
}

/* ---- the trampoline ---- */

/* fill_args marshals the first n (at most LRT_MAXARGS) arguments. */
static void fill_args(lua_State *L, lrt_frame *f, int n) {
	if (n > LRT_MAXARGS)
		n = LRT_MAXARGS;
	for (int i = 0; i < n; i++) {
		lrt_arg *a = &f->a[i];
		int t = lua_type(L, i + 1);
		a->type = t;
		a->flags = 0;
		switch (t) {
		case LUA_TNUMBER: {
			/* One API call for the common case: exact for integers and for
			 * floats with an integer value (2.0 -> 2, 1.5 -> no), whose
			 * value is then (double)i. Go asks lua_isinteger itself in the
			 * rare case where 2 and 2.0 differ (formatting). */
			int exact = 0;
			a->i = lua_tointegerx(L, i + 1, &exact);
			if (exact)
				a->flags = LRT_F_INT;
			if (exact && a->i != 0)
				a->n = (double)a->i;
			else
				a->n = lua_tonumber(L, i + 1); /* 1.5, or zero: keeps the sign of -0.0 */
			break;
		}
		case LUA_TSTRING:
			a->s = lua_tolstring(L, i + 1, &a->len); /* a string: no conversion, no allocation */
			break;
		case LUA_TBOOLEAN:
			a->i = lua_toboolean(L, i + 1);
			break;
		case LUA_TTABLE: {
			int ut = lua_rawgeti(L, i + 1, 0);
			if (ut == LUA_TLIGHTUSERDATA) {
				a->i = (int64_t)(uintptr_t)lua_touserdata(L, -1);
				a->flags = LRT_F_OBJ;
			} else if (ut == LUA_TUSERDATA && lua_rawlen(L, -1) == sizeof(int64_t)) {
				a->i = *(int64_t *)lua_touserdata(L, -1);
				a->flags = LRT_F_OBJ;
			}
			lua_pop(L, 1);
			break;
		}
		default:
			break;
		}
	}
}

/* fill_frame describes the call in f, with the arguments of L. */
static inline void fill_frame(lua_State *L, lrt_vm *vm, lrt_frame *f) {
	int n = lua_gettop(L);
	lrt_co *c = getco(L);
	if (!c)
		c = vm->running;
	f->L = L;
	f->sid = vm->id;
	f->coid = c ? c->id : 0;
	f->n = n;
	f->argerr = 0;
	f->yieldable = lua_isyieldable(L);
	f->opstart = vm->opslen;
	if (n > 0)
		fill_args(L, f, n);
}

static int lrt_k(lua_State *L, int status, lua_KContext ctx);

/* push_scalars pushes the leading nil, boolean, integer and float ops of
 * ops[off, end) and returns the offset of the first other op. They are read
 * in place: pushing them never allocates an object (only the stack may grow,
 * and lua_checkstack runs no GC step, so no finalizer), so nothing can move or
 * append to the buffer meanwhile. Most Go functions return only such values. */
static size_t push_scalars(lua_State *L, const char *ops, size_t off, size_t end) {
	size_t p = off;
	int k = 0;
	for (; p < end; k++) {
		unsigned char op = (unsigned char)ops[p];
		if (op == OP_INT || op == OP_NUM)
			p += 9;
		else if (op == OP_NIL)
			p += 1;
		else if (op == OP_BOOL)
			p += 2;
		else
			break;
	}
	if (k == 0)
		return off;
	if (!lua_checkstack(L, k))
		luaL_error(L, "stack overflow");
	while (off < p) {
		unsigned char op = (unsigned char)ops[off++];
		if (op == OP_INT) {
			int64_t i;
			memcpy(&i, ops + off, sizeof i);
			off += sizeof i;
			lua_pushinteger(L, (lua_Integer)i);
		} else if (op == OP_NUM) {
			double n;
			memcpy(&n, ops + off, sizeof n);
			off += sizeof n;
			lua_pushnumber(L, n);
		} else if (op == OP_NIL) {
			lua_pushnil(L);
		} else {
			lua_pushboolean(L, (unsigned char)ops[off++]);
		}
	}
	return off;
}

/* run_results pushes the ops of frame f. They are consumed (vm->opslen reset)
 * before they run: running them may raise (a memory error at the cap, an
 * erroring __gc run by a GC step), and a raise must not leave them in the
 * buffer, which would then grow for good and be run again as part of an
 * enclosing call's results. A GC step may also run a finalizer calling Go,
 * which appends at vm->opslen: so, past the leading scalars, they run from a
 * copy, on the C stack when small, else in a Lua string (allocated before any
 * GC step can run). */
static void run_results(lua_State *L, lrt_vm *vm, lrt_frame *f) {
	size_t end = vm->opslen;
	vm->opslen = f->opstart;
	size_t off = push_scalars(L, vm->ops, f->opstart, end);
	if (off == end)
		return;
	size_t n = end - off;
	char small[512];
	const char *copy = small;
	int copyidx = 0;
	if (n <= sizeof small) {
		memcpy(small, vm->ops + off, n);
	} else {
		if (!lua_checkstack(L, 1))
			luaL_error(L, "stack overflow");
		copy = lua_pushlstring(L, vm->ops + off, n);
		copyidx = lua_gettop(L);
	}
	exec_ops(vm, L, &copy, 0, n);
	if (copyidx)
		lua_remove(L, copyidx);
}

/* finish acts on Go's verdict r. Runs on the C frame of the trampoline or
 * continuation, so lua_error/lua_yieldk longjmp over C only. */
static int finish(lua_State *L, lrt_vm *vm, lrt_frame *f, int r) {
	if (vm->opslen > f->opstart)
		run_results(L, vm, f);
	vm->opslen = f->opstart;
	if (r >= 0)
		return r;
	switch (r) {
	case LRT_RAISE:
		return lua_error(L);
	case LRT_RAISEWHERE:
		luaL_where(L, 1);
		lua_insert(L, -2);
		lua_concat(L, 2);
		return lua_error(L);
	case LRT_ARGERROR:
		return luaL_argerror(L, f->argerr, lua_tostring(L, -1));
	case LRT_YIELD_RESOLVED: {
		lrt_co *c = getco(L);
		if (c)
			c->reason = LRT_R_GO;
		return lua_yield(L, 0);
	}
	default: {
		int n = LRT_YIELD - r;
		lrt_co *c = getco(L);
		if (c)
			c->reason = LRT_R_GO;
		return lua_yieldk(L, n, 0, lrt_k);
	}
	}
}

/* lrt_call_go is the body of every trampoline: fid says which Go function. */
__attribute__((noinline)) int lrt_call_go(lua_State *L, int64_t fid) {
	lrt_vm *vm = getvm(L);
	lrt_frame f;
	fill_frame(L, vm, &f);
	f.fid = fid;
	vm->lenient++;
	int r = goCall(&f);
	vm->lenient--;
	if (r >= 0 && vm->opslen == f.opstart)
		return r; /* no results to push, nothing to raise */
	return finish(L, vm, &f, r);
}

/* lrt_tramp is the trampoline of Go functions past the table below: a C
 * closure whose upvalue 1 is the function id. */
int lrt_tramp(lua_State *L) {
	return lrt_call_go(L, lua_tointeger(L, lua_upvalueindex(1)));
}

/* One light C function per Go function id below LRT_NTRAMP, each a tail call
 * into call_go with its id as a constant: reading an upvalue costs a Lua API
 * call (~50 instructions, as much as the rest of the C side of a call), and
 * a light C function is pushed without allocating a closure. */
#define T1(a, b, c) \
	static int lrt_t_##a##b##c(lua_State *L) { return lrt_call_go(L, (a) * 64 + (b) * 8 + (c)); }
#define T8(a, b) T1(a, b, 0) T1(a, b, 1) T1(a, b, 2) T1(a, b, 3) T1(a, b, 4) T1(a, b, 5) T1(a, b, 6) T1(a, b, 7)
#define T64(a) T8(a, 0) T8(a, 1) T8(a, 2) T8(a, 3) T8(a, 4) T8(a, 5) T8(a, 6) T8(a, 7)
T64(0) T64(1) T64(2) T64(3) T64(4) T64(5) T64(6) T64(7)
#undef T1
#define T1(a, b, c) lrt_t_##a##b##c,
static const lua_CFunction tramps[] = {
	T64(0) T64(1) T64(2) T64(3) T64(4) T64(5) T64(6) T64(7)
};
_Static_assert(sizeof tramps / sizeof tramps[0] == LRT_NTRAMP, "LRT_NTRAMP must match the table");
#undef T1
#undef T8
#undef T64

/* push_func pushes the Go function fid. [-0, +1, m] */
static void push_func(lua_State *L, int64_t fid) {
	lua_CFunction d = lrt_deferred_func(fid); /* lrt_defer.c */
	if (d) {
		lua_pushcfunction(L, d);
		return;
	}
	if (fid >= 0 && fid < LRT_NTRAMP) {
		lua_pushcfunction(L, tramps[fid]);
		return;
	}
	lua_pushinteger(L, (lua_Integer)fid);
	lua_pushcclosure(L, lrt_tramp, 1);
}

static int lrt_k(lua_State *L, int status, lua_KContext ctx) {
	(void)status;
	(void)ctx;
	lrt_vm *vm = getvm(L);
	lrt_frame f;
	fill_frame(L, vm, &f);
	f.fid = -1;
	vm->lenient++;
	int r = goContinue(&f);
	vm->lenient--;
	return finish(L, vm, &f, r);
}

int lrt_push_tramp(lrt_vm *vm, lua_State *L, int64_t fid) {
	(void)vm;
	push_func(L, fid);
	return 1;
}

/* ---- the forced-yield hook ---- */

static void lrt_hook(lua_State *L, lua_Debug *ar) {
	(void)ar;
	lrt_co *c = getco(L);
	if (!c)
		c = getvm(L)->running;
	if (!c)
		return;
	int64_t now = lrt_mono_ns();
	int64_t burst = now - c->start_ns;
	int over = c->budget_ns && c->used_ns + burst > c->budget_ns;
	int overburst = c->burst_ns && burst > c->burst_ns;
	if (over || overburst) {
		if (L == c->L && lua_isyieldable(L)) {
			c->reason = over ? LRT_R_TIMEOUT : LRT_R_BURST;
			lua_yield(L, 0); /* a yield cannot be caught by pcall */
			return;
		}
		/* Not yieldable here (a C call such as table.sort stands in between, or
		 * a coroutine created by the script). Hook every instruction from now on:
		 * otherwise a script catching this error in a loop gets every later hook
		 * inside the same non-yieldable call and is never killed. The first
		 * instruction run where a yield is possible then kills it. */
		lua_sethook(L, lrt_hook, LUA_MASKCOUNT, 1);
		if (L != c->L)
			lua_sethook(c->L, lrt_hook, LUA_MASKCOUNT, 1);
		luaL_error(L, "execution timeout");
		return;
	}
	if (L == c->L && c->yield_allowed && lua_isyieldable(L)) {
		c->reason = LRT_R_FORCED;
		lua_yield(L, 0);
	}
}

void lrt_sethook_all(lrt_vm *vm, int count) {
	vm->hook_count = count;
}

/* ---- coroutines ---- */

static int co_new_k(lua_State *L) {
	lrt_co *c = lua_touserdata(L, 1);
	lua_State *T = lua_newthread(L);
	c->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	c->L = T;
	return 0;
}

lrt_co *lrt_co_new(lrt_vm *vm) {
	lrt_co *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	lua_State *L = vm->L;
	vm->lenient++;
	lua_pushcfunction(L, co_new_k);
	lua_pushlightuserdata(L, c);
	int st = lua_pcall(L, 1, 0, 0); /* a GC step here may run finalizers that raise */
	vm->lenient--;
	if (st != LUA_OK) {
		lua_pop(L, 1);
		free(c);
		return NULL;
	}
	c->vm = vm;
	*(lrt_co **)lua_getextraspace(c->L) = c;
	if (vm->hook_count > 0)
		lua_sethook(c->L, lrt_hook, LUA_MASKCOUNT, vm->hook_count);
	return c;
}

void lrt_co_free(lrt_vm *vm, lrt_co *c) {
	if (!c)
		return;
	*(lrt_co **)lua_getextraspace(c->L) = &vm->main_co; /* a script may still hold the thread */
	luaL_unref(vm->L, LUA_REGISTRYINDEX, c->ref);
	for (int i = 0; i < LRT_VIEW_CLASSES; i++)
		if (c->view_ref[i])
			luaL_unref(vm->L, LUA_REGISTRYINDEX, c->view_ref[i]);
	for (int i = 0; i < LRT_VIEW_CLASSES; i++)
		if (c->obj_ref[i])
			luaL_unref(vm->L, LUA_REGISTRYINDEX, c->obj_ref[i]);
	free(c);
}

/* reset empties a finished thread's stack and frees what it lent. */
static void reset(lrt_co *c) {
	lua_settop(c->L, 0);
	c->gen++; /* the views and objects lent are free again (new_view, lrt_push_object) */
	c->reason = 0;
	c->used_ns = 0;
}

int lrt_co_reset(lrt_co *c) {
	if (lua_status(c->L) != LUA_OK)
		return 0;
	reset(c);
	return 1;
}

static int push_ops_k(lua_State *L) {
	lrt_vm *vm = getvm(L);
	lua_State *to = lua_touserdata(L, 1);
	size_t start = (size_t)lua_tointeger(L, 2);
	size_t end = (size_t)lua_tointeger(L, 3);
	lua_settop(L, 0);
	exec_ops(vm, to, (const char *const *)&vm->ops, start, end);
	return 0;
}

int lrt_push_ops(lrt_vm *vm, lua_State *to, size_t opstart) {
	lua_State *L = vm->L;
	size_t end = vm->opslen;
	free(vm->out);
	vm->out = NULL;
	vm->outlen = 0;
	vm->lenient++;
	lua_pushcfunction(L, push_ops_k);
	lua_pushlightuserdata(L, to);
	lua_pushinteger(L, (lua_Integer)opstart);
	lua_pushinteger(L, (lua_Integer)end);
	int st = lua_pcall(L, 3, 0, 0);
	vm->lenient--;
	vm->opslen = opstart;
	if (st != LUA_OK) {
		size_t len = 0;
		const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : "error while pushing values";
		if (!len)
			len = strlen(s);
		lrt_set_out(vm, s, len);
		lua_pop(L, 1);
	}
	return st;
}

int lrt_resume(lrt_vm *vm, lrt_co *c, int nargs) {
	lrt_co *prev = vm->running;
	vm->running = c;
	/* Re-set the hook: the period may have changed since the thread was made,
	 * and each resume starts a fresh count. Except when resuming a forced
	 * yield with the period unchanged: Lua left the count at 1 there so that
	 * the re-executed instruction skips the hook; a full count made it skip
	 * the next real hook instead (a forced yield every 2N instructions). */
	int forced = c->reason == LRT_R_FORCED && lua_status(c->L) == LUA_YIELD;
	if (vm->hook_count > 0) {
		if (!forced || lua_gethook(c->L) != lrt_hook || lua_gethookcount(c->L) != vm->hook_count)
			lua_sethook(c->L, lrt_hook, LUA_MASKCOUNT, vm->hook_count);
	} else
		lua_sethook(c->L, NULL, 0, 0);
	c->reason = LRT_R_LUA;
	c->start_ns = lrt_mono_ns();
	int st = lua_resume(c->L, NULL, nargs);
	/* Only a coroutine that goes on has a budget left to count (as
	 * HAProxy, which reads the clock after a resume only on a yield). */
	if (st == LUA_YIELD)
		c->used_ns += lrt_mono_ns() - c->start_ns;
	vm->running = prev;
	return st;
}

int lrt_run(lrt_vm *vm, lrt_co *c, size_t opstart, int nargs) {
	if (vm->opslen > opstart && lrt_push_ops(vm, c->L, opstart) != LUA_OK)
		return LRT_ERR_PUSH;
	if (nargs < 0)
		nargs = lua_gettop(c->L) - 1;
	int st = lrt_resume(vm, c, nargs);
	lua_State *L = c->L;
	int n = c->nres = lua_gettop(L);
	c->res1_ok = 0;
	c->res1_str = 0;
	c->res1 = 0;
	c->top_type = LUA_TNONE;
	if (st != LUA_OK && st != LUA_YIELD)
		return st;
	if (n >= 1)
		note_results(c, L, n);
	if (st == LUA_OK && c->reset_on_ok) {
		/* The caller reads only the caches: the thread is reset here
		 * rather than by a second call from Go (lrt_co_reset). */
		if (c->res1_str)
			c->res1 = (int64_t)lua_tointegerx(L, 1, &c->res1_ok);
		c->res1_str = 0;
		c->top_str = NULL;
		c->top_len = 0;
		reset(c);
	}
	return st;
}

/* note_results describes the n values on L's stack in c (see lrt_co). */
static void note_results(lrt_co *c, lua_State *L, int n) {
	/* A string is converted by Go only if it asks (res1_str, top_type):
	 * most results are numbers or strings kept as strings, and a
	 * conversion of a string was 2% of an invocation that returned one. */
	c->res1_str = lua_type(L, 1) == LUA_TSTRING;
	if (!c->res1_str)
		c->res1 = (int64_t)lua_tointegerx(L, 1, &c->res1_ok);
	c->top_type = lua_type(L, n);
	c->top_isint = c->top_isnum = c->top_subint = 0;
	c->top_int = 0;
	c->top_num = 0;
	c->top_str = NULL;
	c->top_len = 0;
	if (c->top_type == LUA_TNUMBER) {
		c->top_int = (int64_t)lua_tointegerx(L, n, &c->top_isint);
		c->top_num = (double)lua_tonumberx(L, n, &c->top_isnum);
		c->top_subint = lua_isinteger(L, n);
	} else if (c->top_type == LUA_TSTRING) {
		c->top_str = lua_tolstring(L, n, &c->top_len);
	}
	c->top_bool = lua_toboolean(L, n);
}

int lrt_load(lrt_vm *vm, lua_State *to, const char *buf, size_t len, const char *name) {
	vm->lenient++;
	int st = luaL_loadbufferx(to, buf, len, name, "bt");
	vm->lenient--;
	return st;
}
