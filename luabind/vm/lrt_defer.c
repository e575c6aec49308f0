//go:build lua53

// Deferred calls: write-only methods (txn.http:req_set_header) that C
// queues instead of calling Go, when the call passes every check C can
// make; Go applies the queue, in order, before it next runs anything that
// could see the effect (Co.Resume after lrt_run, State.call, State.GC).
// A Lua action setting a header then makes no call into Go for it: a cgo
// callback costs ~900 instructions, two thirds of them in Go's runtime.
#include "_cgo_export.h"
#include "lrt.h"
#include <string.h>

typedef struct lrt_deferred {
	int64_t fid;   /* the Go function, called when a check fails */
	int nargs;     /* self and the string arguments */
	uint32_t bit;  /* the bit of lrt_co.defer_mask the call needs */
	int retlen;    /* the call returns its last argument's length */
} lrt_deferred;

/* Process-wide, like the Go functions: set by lrt_set_deferred when a class
 * is registered, before any state builds it. */
static lrt_deferred deferred[LRT_NDEFER];
static int ndeferred;

void lrt_set_deferred(int slot, int64_t fid, int nargs, uint32_t bit, int retlen) {
	if (slot < 0 || slot >= LRT_NDEFER || slot > ndeferred)
		return;
	deferred[slot] = (lrt_deferred){fid, nargs, bit, retlen};
	if (slot == ndeferred)
		ndeferred++;
}

/* defer_reserve makes room for need more bytes in the queue; 0 when the
 * queue is at its bound (the call then goes to Go, which empties it). */
static int defer_reserve(lrt_vm *vm, size_t need) {
	if (vm->dqlen + need > LRT_DEFER_MAX)
		return 0;
	return lrt_grow(&vm->dq, &vm->dqcap, vm->dqlen + need, 1024);
}

static void put32(char *p, uint32_t v) { memcpy(p, &v, sizeof v); }

/* defer_call queues the call of deferred slot as a record: its length
 * (uint32), slot (uint32), the object's handle (int64), then each string
 * argument as a length (uint32) and its bytes. Anything C cannot vouch
 * for goes to Go as an ordinary call, on this same frame (errors, their
 * position and the function's name in them stay the trampoline's): a call
 * outside an invocation's root thread or past its mask, an argument count
 * or type Go would convert or refuse, an object other than the one the
 * invocation allowed. */
static int defer_call(lua_State *L, int slot) {
	const lrt_deferred *d = &deferred[slot];
	lrt_co *c = getco(L);
	if (c == NULL || (c->defer_mask & d->bit) == 0 || lua_gettop(L) != d->nargs ||
	    lua_type(L, 1) != LUA_TTABLE)
		return lrt_call_go(L, d->fid);
	int t = lua_rawgeti(L, 1, 0);
	int64_t h = t == LUA_TLIGHTUSERDATA ? (int64_t)(uintptr_t)lua_touserdata(L, -1) : 0;
	lua_pop(L, 1);
	if (h == 0 || h != c->defer_handle)
		return lrt_call_go(L, d->fid);
	size_t need = 16;
	for (int i = 2; i <= d->nargs; i++) {
		if (lua_type(L, i) != LUA_TSTRING)
			return lrt_call_go(L, d->fid);
		need += 4 + lua_rawlen(L, i);
	}
	lrt_vm *vm = c->vm;
	if (need > UINT32_MAX || !defer_reserve(vm, need))
		return lrt_call_go(L, d->fid);
	char *p = vm->dq + vm->dqlen;
	put32(p, (uint32_t)need);
	put32(p + 4, (uint32_t)slot);
	memcpy(p + 8, &h, sizeof h);
	p += 16;
	for (int i = 2; i <= d->nargs; i++) {
		size_t n;
		const char *s = lua_tolstring(L, i, &n);
		put32(p, (uint32_t)n);
		memcpy(p + 4, s, n);
		p += 4 + n;
	}
	vm->dqlen += need;
	if (d->retlen) {
		lua_pushinteger(L, (lua_Integer)lua_rawlen(L, d->nargs));
		return 1;
	}
	return 0;
}

#define D(n) static int lrt_d_##n(lua_State *L) { return defer_call(L, n); }
D(0) D(1) D(2) D(3) D(4) D(5) D(6) D(7)
#undef D
static const lua_CFunction dfuncs[] = {lrt_d_0, lrt_d_1, lrt_d_2, lrt_d_3, lrt_d_4, lrt_d_5, lrt_d_6, lrt_d_7};
_Static_assert(sizeof dfuncs / sizeof dfuncs[0] == LRT_NDEFER, "LRT_NDEFER must match the table");

lua_CFunction lrt_deferred_func(int64_t fid) {
	for (int i = 0; i < ndeferred; i++)
		if (deferred[i].fid == fid)
			return dfuncs[i];
	return NULL;
}
