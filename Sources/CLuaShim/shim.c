#include "CLuaShim.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Instructions between two runs of the count hook: the budget's granularity. */
#define MYSEHAT_HOOK_INTERVAL 10000

static mysehat_host_fn host_fn = NULL;
static char host_yield_tag_storage;
static char host_raise_marker_storage;

int64_t mysehat_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    mysehat_budget *b = (mysehat_budget *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        b->mem_used -= old;
        free(ptr);
        return NULL;
    }
    if (b->mem_armed && nsize > old && b->mem_used + (nsize - old) > b->mem_limit) {
        b->killed = 2;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p) b->mem_used = b->mem_used - old + nsize;
    return p;
}

static int budget_exceeded(mysehat_budget *b) {
    if (b->killed) return 1;
    if (b->instruction_limit > 0 && b->instructions > b->instruction_limit) { b->killed = 1; return 1; }
    if (b->deadline_ns > 0 && mysehat_monotonic_ns() > b->deadline_ns) { b->killed = 3; return 1; }
    return 0;
}

/* Sticky kill: once the budget is spent, every hook run yields (or raises where yielding is not
   possible), so a pcall cannot keep the script alive. The driver sees `killed` and drops the
   coroutine. */
static void count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    mysehat_budget *b = mysehat_budget_of(L);
    b->instructions += MYSEHAT_HOOK_INTERVAL;
    if (!budget_exceeded(b)) return;
    if (lua_isyieldable(L)) {
        lua_yield(L, 0);
    } else {
        luaL_error(L, "request budget exceeded");
    }
}

static int panic_handler(lua_State *L) {
    (void)L;
    abort();
}

lua_State *mysehat_newstate(size_t mem_limit) {
    mysehat_budget *b = calloc(1, sizeof(mysehat_budget));
    if (!b) return NULL;
    b->mem_limit = mem_limit;
    lua_State *L = lua_newstate(budget_alloc, b);
    if (!L) { free(b); return NULL; }
    lua_atpanic(L, panic_handler);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, MYSEHAT_HOOK_INTERVAL);
    return L;
}

mysehat_budget *mysehat_budget_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (mysehat_budget *)ud;
}

void mysehat_close(lua_State *L) {
    mysehat_budget *b = mysehat_budget_of(L);
    b->mem_armed = 0;
    lua_close(L);
    free(b);
}

void mysehat_set_host(mysehat_host_fn fn) { host_fn = fn; }

/* Runs when a host call that yielded is resumed. The stack holds the call's arguments (below
   `base`) and the values the driver resumed with. */
static int host_continuation(lua_State *L, int status, lua_KContext base) {
    (void)status;
    int n = lua_gettop(L) - (int)base;
    if (n >= 2 && lua_islightuserdata(L, (int)base + 1) && lua_touserdata(L, (int)base + 1) == &host_raise_marker_storage) {
        lua_pushvalue(L, (int)base + 2);
        return lua_error(L);
    }
    return n;
}

static int host_trampoline(lua_State *L) {
    int id = (int)lua_tointeger(L, lua_upvalueindex(1));
    int r = host_fn(L, id);
    if (r >= 0) return r;
    if (r == MYSEHAT_HOST_RAISE) return lua_error(L);
    /* MYSEHAT_HOST_YIELD: the host pushed nothing; yield the tag so wrappers and the driver know
       this yield belongs to the host. */
    int base = lua_gettop(L);
    lua_pushlightuserdata(L, &host_yield_tag_storage);
    return lua_yieldk(L, 1, (lua_KContext)base, host_continuation);
}

void mysehat_push_host_raise_marker(lua_State *L) { lua_pushlightuserdata(L, &host_raise_marker_storage); }

void mysehat_push_host_function(lua_State *L, int function_id) {
    lua_pushinteger(L, function_id);
    lua_pushcclosure(L, host_trampoline, 1);
}

void mysehat_push_host_yield_tag(lua_State *L) { lua_pushlightuserdata(L, &host_yield_tag_storage); }

int mysehat_is_host_yield_tag(lua_State *L, int index) {
    return lua_islightuserdata(L, index) && lua_touserdata(L, index) == &host_yield_tag_storage;
}

int mysehat_load_chunk(lua_State *L, const char *code, size_t len, const char *chunkname) {
    /* "t": text only, binary chunks are refused. */
    return luaL_loadbufferx(L, code, len, chunkname, "t");
}

static int traceback_handler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int mysehat_pcall(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback_handler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}

int mysehat_resume(lua_State *L, lua_State *from, int nargs, int *nresults) {
    return lua_resume(L, from, nargs, nresults);
}

int mysehat_reset_thread(lua_State *L) {
#if LUA_VERSION_RELEASE_NUM >= 50406
    return lua_closethread(L, NULL);
#else
    return lua_resetthread(L);
#endif
}
