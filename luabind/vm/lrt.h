/*
 * lrt: the C half of the Lua boundary. Everything here runs on C frames only:
 * a longjmp (lua_error, lua_yield, a memory error) starts and lands in C,
 * never across a Go frame. Go decides (verdicts), C acts.
 */
#ifndef LRT_H
#define LRT_H

#include <stdint.h>
#include <stddef.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* Verdicts returned by Go to the trampoline (>= 0 means "return n results"). */
#define LRT_RAISE      (-1)     /* error value pushed by ops: lua_error */
#define LRT_RAISEWHERE (-2)     /* error message pushed: prefix luaL_where(L,1), then lua_error */
#define LRT_ARGERROR   (-3)     /* message pushed: luaL_argerror(L, frame->argerr, msg) */
#define LRT_YIELD      (-1000)  /* LRT_YIELD - n: yield n values, continue in Go (lrt_k) */
#define LRT_YIELD_RESOLVED (-4) /* yield nothing, no continuation: the values the host
                                   * passes to the resume are the function's results */

/* Why a root coroutine yielded (lrt_co.reason). */
enum {
	LRT_R_LUA = 0,     /* plain coroutine.yield() from the script */
	LRT_R_FORCED = 1,  /* count hook: forced yield */
	LRT_R_TIMEOUT = 2, /* count hook: Lua-time budget exhausted, kill */
	LRT_R_GO = 3,      /* a Go function yielded with a continuation */
	LRT_R_BURST = 4,   /* count hook: burst budget exhausted, kill */
};

/* Argument types as marshalled to Go (LUA_T* values, plus flags). */
#define LRT_F_INT 1 /* number with an exact integer value in .i */
#define LRT_F_OBJ 2 /* table whose [0] is a (light)userdata handle in .h */

#define LRT_MAXARGS 8
#define LRT_NTRAMP 512 /* Go functions with their own light C trampoline (lrt.c) */

typedef struct lrt_arg {
	int32_t type;
	int32_t flags;
	int64_t i;       /* integer value, or object handle */
	double n;        /* number value */
	const char *s;   /* string bytes (only for LUA_TSTRING), valid during the call */
	size_t len;
} lrt_arg;

typedef struct lrt_frame {
	lua_State *L;     /* the running thread */
	int64_t sid;      /* Go-side State id */
	int64_t fid;      /* Go function id (goCall only) */
	int32_t n;        /* lua_gettop at entry */
	int32_t argerr;   /* argument index for LRT_ARGERROR */
	int32_t yieldable; /* lua_isyieldable(L) at entry */
	size_t opstart;   /* ops emitted by this call start here */
	int64_t coid;     /* Go id of the invocation's root coroutine, 0 if none */
	lrt_arg a[LRT_MAXARGS];
} lrt_frame;

struct lrt_vm;

/* Classes with an index below this have their views lent (new_view) and
 * their metatable's reference kept in C; others take the slow way. */
#define LRT_VIEW_CLASSES 64

/* Every thread's extra space (lua_getextraspace) points to an lrt_co: its
 * own for the root thread of an invocation, else the state's main_co (the
 * main thread, and threads made by scripts, which copy the main thread's). */
typedef struct lrt_co {
	struct lrt_vm *vm; /* the state: read by every trampoline, without a Lua API call */
	lua_State *L;      /* the root thread of an invocation; NULL in main_co */
	int ref;           /* registry reference anchoring L */
	int reason;        /* LRT_R_* of the last yield */
	int yield_allowed; /* 0 in fetches and converters */
	int64_t id;        /* Go-side coroutine id */
	int reset_on_ok;   /* lrt_run resets the thread when it finishes (see there) */
	int64_t gen;       /* invocations run: a view lent in an earlier one is free */
	/* the views of each class it lends (see new_view): registry refs (0:
	 * none yet), and the generation that has each (lent if current) */
	int view_ref[LRT_VIEW_CLASSES];
	int64_t view_gen[LRT_VIEW_CLASSES];
	/* the same for the objects of classes it lends (lrt_push_object) */
	int obj_ref[LRT_VIEW_CLASSES];
	int64_t obj_gen[LRT_VIEW_CLASSES];
	/* deferred calls (lrt_defer.c): the object whose handle they may
	 * name, and the kinds allowed (bits of lrt_deferred.bit); 0: none */
	int64_t defer_handle;
	uint32_t defer_mask;
	int64_t budget_ns; /* Lua-time budget, 0 = none */
	int64_t burst_ns;  /* per-resume budget, 0 = none */
	int64_t used_ns;   /* Lua time consumed so far */
	int64_t start_ns;  /* monotonic time of the current resume */
	/* after lrt_run: the values on the stack, and the first one as an
	 * integer (res1_ok = 0 when it is none), read by Go without a call */
	int nres;
	int res1_ok;
	int res1_str; /* the first is a string: res1 not set */
	int64_t res1;
	/* and the last one (a fetch's value): its type, and its value as
	 * lua_tointegerx, lua_tonumberx (top_isint, top_isnum: numbers only),
	 * lua_tolstring (strings only) and lua_toboolean give it */
	int top_type;
	int top_isint;
	int top_isnum;
	int top_subint; /* lua_isinteger: a number of the integer subtype */
	int top_bool;
	int64_t top_int;
	double top_num;
	const char *top_str;
	size_t top_len;
} lrt_co;

/* The allocator keeps freed blocks of up to LRT_SMALL_MAX bytes, in classes
 * of LRT_SMALL_STEP bytes, up to LRT_CACHE_MAX bytes in all per state. */
#define LRT_SMALL_STEP 16
#define LRT_SMALL_MAX 256
#define LRT_SMALL_CLASSES (LRT_SMALL_MAX / LRT_SMALL_STEP)
#define LRT_CACHE_MAX (1 << 20)

typedef struct lrt_vm {
	lua_State *L;      /* main thread */
	int64_t id;        /* Go-side State id */
	size_t used;       /* bytes allocated by Lua */
	size_t limit;      /* 0 = unlimited */
	size_t peak;
	int64_t refused;   /* allocations refused at the cap */
	int lenient;       /* > 0: the cap is not enforced (Go in a callback, host maintenance) */
	int hook_count;    /* forced-yield period in instructions, 0 = no hook */
	lrt_co *running;   /* the invocation being resumed, for hooks in nested coroutines */
	int handle_mt;     /* registry ref of the metatable of GC-owned handles */
	int class_ref[LRT_VIEW_CLASSES]; /* registry refs of view classes' metatables, 0 = not yet */
	lrt_co main_co;    /* extra space of the threads that are not an invocation's root */
	/* ops: results marshalled by Go, executed by C after the Go call returns */
	char *ops;
	size_t opslen, opscap;
	/* deferred calls queued by C, applied by Go (lrt_defer.c) */
	char *dq;
	size_t dqlen, dqcap;
	/* scratch output of protected helpers (tracebacks, tostring) */
	char *out;
	size_t outlen;
	/* freed small blocks, by size class (see lrt_alloc), and their bytes */
	void *freelist[LRT_SMALL_CLASSES];
	size_t cached;
} lrt_vm;

lrt_vm *lrt_new(int64_t id);
void lrt_close(lrt_vm *vm);
int lrt_ops_grow(lrt_vm *vm, size_t need);
/* lrt_grow makes *buf (of *cap bytes, first when new) hold total bytes,
 * doubling; 0 when it cannot. */
int lrt_grow(char **buf, size_t *cap, size_t total, size_t first);

/* Coroutines. */
lrt_co *lrt_co_new(lrt_vm *vm);            /* NULL on failure */
void lrt_co_free(lrt_vm *vm, lrt_co *c);   /* unref the thread and free the block */
int lrt_co_reset(lrt_co *c);               /* 1 if the thread can be reused */
int lrt_push_ops(lrt_vm *vm, lua_State *to, size_t opstart); /* protected, returns LUA_OK or error */
int lrt_resume(lrt_vm *vm, lrt_co *c, int nargs);
/* lrt_run pushes the ops queued since opstart onto c's thread, then resumes
 * it with nargs arguments (-1: all values above the function, a first
 * start), and notes its results (nres, res1). One call from Go per resume.
 * LRT_ERR_PUSH: pushing the ops failed, the message in vm->out. */
#define LRT_ERR_PUSH 100
int lrt_run(lrt_vm *vm, lrt_co *c, size_t opstart, int nargs);

/* lrt_run and lrt_co_reset with the blocks passed as integers, for the
 * calls made on every invocation: cgo checks each pointer argument for Go
 * memory (a heap span lookup per pointer), which these C blocks never are;
 * that was 1.5% of a Lua action's cycles. */
static inline int lrt_run_u(uintptr_t vm, uintptr_t c, size_t opstart, int nargs) {
	return lrt_run((lrt_vm *)vm, (lrt_co *)c, opstart, nargs);
}
static inline int lrt_co_reset_u(uintptr_t c) { return lrt_co_reset((lrt_co *)c); }
int lrt_load(lrt_vm *vm, lua_State *to, const char *buf, size_t len, const char *name);
int lrt_describe_error(lrt_vm *vm, lua_State *co, int traceback); /* -> vm->out */
int lrt_hlua_traceback(lrt_vm *vm, lua_State *co);            /* -> vm->out */
int lrt_tostring(lrt_vm *vm, lua_State *L, int idx);              /* -> vm->out */
int lrt_ref(lrt_vm *vm, lua_State *L, int idx);                   /* LUA_NOREF on failure */
void lrt_unref(lrt_vm *vm, int ref);
int lrt_setglobal_ops(lrt_vm *vm, const char *name, size_t opstart);
void lrt_sethook_all(lrt_vm *vm, int count);
int64_t lrt_mono_ns(void);
int lrt_openlibs(lrt_vm *vm);
int lrt_gc(lrt_vm *vm, int what, int data);
int lrt_push_tramp(lrt_vm *vm, lua_State *L, int64_t fid);

/* The trampoline and the class helpers (lrt_class.c), exposed for ops. */
int lrt_tramp(lua_State *L);
int lrt_call_go(lua_State *L, int64_t fid);

/* Deferred calls (lrt_defer.c): at most LRT_NDEFER functions; a state's
 * queue holds at most LRT_DEFER_MAX bytes. */
#define LRT_NDEFER 8
#define LRT_DEFER_MAX (64 * 1024)
void lrt_set_deferred(int slot, int64_t fid, int nargs, uint32_t bit, int retlen);
lua_CFunction lrt_deferred_func(int64_t fid); /* NULL: not deferred */
int lrt_index(lua_State *L);
void lrt_push_object(lua_State *L, int cref, int64_t h, int owned, int fields, int lend);
int lrt_tostring_name(lua_State *L);
int lrt_gc_handle(lua_State *L);

/* Shared by lrt.c and lrt_host.c. */
void lrt_set_out(lrt_vm *vm, const char *s, size_t len); /* vm->out = a copy of s */

/* getvm returns the state of any of its threads. */
static inline lrt_vm *getvm(lua_State *L) {
	return (*(lrt_co **)lua_getextraspace(L))->vm;
}

/* getco returns the invocation whose root thread L is, or NULL. */
static inline lrt_co *getco(lua_State *L) {
	lrt_co *c = *(lrt_co **)lua_getextraspace(L);
	return c->L ? c : NULL;
}

#endif
