#ifndef MYSEHAT_CLUA_SHIM_H
#define MYSEHAT_CLUA_SHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stddef.h>
#include <stdint.h>

/* Return codes of host (Swift) functions called through the trampoline. A host function never
   longjmps itself: it returns one of these and the C trampoline raises or yields for it. */
#define MYSEHAT_HOST_RAISE (-1)
#define MYSEHAT_HOST_YIELD (-2)

/* Budget and memory accounting of one lua_State, shared by every thread (coroutine) of it. It is
   the allocator's user data, so a hook running on any thread reaches it. */
typedef struct mysehat_budget {
    size_t mem_used;
    size_t mem_limit;
    int mem_armed;           /* the cap applies only while Lua code runs (see notes, trap 2) */
    int64_t instructions;    /* used by the running request */
    int64_t instruction_limit;
    int64_t deadline_ns;     /* CLOCK_MONOTONIC; 0 = none */
    int killed;              /* sticky: 1 instructions, 2 memory, 3 deadline */
    void *host_context;      /* the Swift object that owns the state */
} mysehat_budget;

typedef int (*mysehat_host_fn)(lua_State *L, int function_id);

/* Creates a state with the accounting allocator and the count hook installed. */
lua_State *mysehat_newstate(size_t mem_limit);
mysehat_budget *mysehat_budget_of(lua_State *L);
void mysehat_close(lua_State *L);
int64_t mysehat_monotonic_ns(void);

/* The one entry point Swift registers; all host functions are dispatched through it. */
void mysehat_set_host(mysehat_host_fn fn);
/* Pushes a C closure that calls the host function `function_id`. */
void mysehat_push_host_function(lua_State *L, int function_id);
/* Marker value pushed first by host yields, so the coroutine wrappers can tell them apart. */
void mysehat_push_host_yield_tag(lua_State *L);
int mysehat_is_host_yield_tag(lua_State *L, int index);
/* The value a driver resumes with, first, to make the yielded host call raise the next value. */
void mysehat_push_host_raise_marker(lua_State *L);

/* Protected helpers: each runs in a pcall, so errors never unwind through Swift frames. */
int mysehat_load_chunk(lua_State *L, const char *code, size_t len, const char *chunkname);
int mysehat_pcall(lua_State *L, int nargs, int nresults);
int mysehat_resume(lua_State *L, lua_State *from, int nargs, int *nresults);
int mysehat_reset_thread(lua_State *L);

/* Macro and variadic wrappers Swift cannot import. */
static inline void mysehat_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void mysehat_newtable(lua_State *L) { lua_newtable(L); }
static inline int mysehat_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline int mysehat_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline void mysehat_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
static inline int mysehat_isnil(lua_State *L, int i) { return lua_isnil(L, i); }
static inline int mysehat_istable(lua_State *L, int i) { return lua_istable(L, i); }
static inline int mysehat_isfunction(lua_State *L, int i) { return lua_isfunction(L, i); }
static inline void mysehat_insert(lua_State *L, int i) { lua_insert(L, i); }
static inline void mysehat_remove(lua_State *L, int i) { lua_remove(L, i); }
static inline void mysehat_replace(lua_State *L, int i) { lua_replace(L, i); }
static inline lua_Integer mysehat_tointeger(lua_State *L, int i) { return lua_tointeger(L, i); }
static inline lua_Number mysehat_tonumber(lua_State *L, int i) { return lua_tonumber(L, i); }
static inline const char *mysehat_typename(lua_State *L, int i) { return luaL_typename(L, i); }
static inline int mysehat_gc_collect(lua_State *L) { return lua_gc(L, LUA_GCCOLLECT); }
static inline int mysehat_gc_count_kb(lua_State *L) { return lua_gc(L, LUA_GCCOUNT); }
static inline int mysehat_ref(lua_State *L) { return luaL_ref(L, LUA_REGISTRYINDEX); }
static inline void mysehat_unref(lua_State *L, int ref) { luaL_unref(L, LUA_REGISTRYINDEX, ref); }
static inline void mysehat_getref(lua_State *L, int ref) { lua_rawgeti(L, LUA_REGISTRYINDEX, ref); }
static inline int mysehat_getmetatable_named(lua_State *L, const char *name) { return luaL_getmetatable(L, name); }
static inline int mysehat_isinteger(lua_State *L, int i) { return lua_isinteger(L, i); }

#endif
