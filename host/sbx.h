/* sbx.h: the sandbox (DESIGN.md §5). One lua_State per strategy instance, alert rule
 * and config file, created with a capped allocator, a library allow-list, a locked
 * string metatable, text-only load, a host require, seeded math.random, guards on the
 * C functions that re-enter Lua, a pattern-complexity guard, a script size cap, and a
 * CPU budget on every call enforced by the watchdog thread (sbx_watchdog.h).
 *
 * Stack discipline: index 1 of every sandbox stack holds the host's message handler;
 * callers keep the stack balanced above it. Everything the host does to a sandbox
 * happens on the loop thread. A host API function registered into a sandbox never
 * calls back into Lua.
 *
 * Ownership: the sbx owns its lua_State. The owner pointer (sbx_set_owner) is the
 * object the API functions act for (a strategy instance); it must outlive the sbx. */
#ifndef LUATRADE_SBX_H
#define LUATRADE_SBX_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

typedef struct lua_State lua_State;
struct sbx;
struct sbx_watchdog;

#define SBX_DEFAULT_MEMORY  (64u << 20)
#define SBX_DEFAULT_CALL_US 10000
#define SBX_DEFAULT_LOAD_US 1000000
#define SBX_DEFAULT_SCRIPT  (256u << 10)
#define SBX_MAX_MODULE_DIRS 4

struct sbx_config {
    const char *name;       /* for messages ("sma_cross"); copied */
    size_t memory_limit;    /* bytes; 0 = SBX_DEFAULT_MEMORY */
    int64_t call_budget_us; /* per event callback; 0 = SBX_DEFAULT_CALL_US */
    int64_t load_budget_us; /* load, start, reload; 0 = SBX_DEFAULT_LOAD_US */
    size_t script_limit;    /* bytes per script or module; 0 = SBX_DEFAULT_SCRIPT */
    uint64_t seed;          /* math.random seed */
    int jit;                /* 1: JIT compiler on (only after a passing probe) */
    const char *module_dirs[SBX_MAX_MODULE_DIRS]; /* require search path, in order; copied */
    struct sbx_watchdog *wd;                      /* required; must outlive the sbx */
};

enum sbx_budget { SBX_BUDGET_CALL, SBX_BUDGET_LOAD };

enum sbx_status {
    SBX_OK = 0,
    SBX_ERR_RUNTIME, /* an error raised by the script (or a host API argument check) */
    SBX_ERR_SYNTAX,  /* the script does not compile */
    SBX_ERR_FILE,    /* the script cannot be read or is too big */
    SBX_ERR_CPU,     /* the call ran past its CPU budget and was stopped */
    SBX_ERR_MEMORY,  /* the sandbox reached its memory limit */
};

/* What went wrong in the last failed call: a one-line message, and where (the
 * innermost Lua frame with a line: "strategies/x.lua", 12), when known. */
struct sbx_error {
    enum sbx_status status;
    char message[512];
    char file[256];
    int line;
    int64_t elapsed_us; /* how long the failed call ran */
};

const char *sbx_status_name(enum sbx_status s); /* "runtime", "cpu", "memory", ... */

/* Creates a sandbox. Returns NULL and fills e when the state cannot be built. */
struct sbx *sbx_new(const struct sbx_config *cfg, struct err *e);
/* Closes the state and frees everything. NULL is a no-op. */
void sbx_free(struct sbx *s);

lua_State *sbx_lua(struct sbx *s);
/* The sbx owning L (every sandbox state's allocator userdata is its sbx). */
struct sbx *sbx_of(lua_State *L);
const char *sbx_name(const struct sbx *s);
void sbx_set_owner(struct sbx *s, void *owner);
void *sbx_owner(const struct sbx *s);
const struct sbx_config *sbx_config(const struct sbx *s);

/* Compiles text (no bytecode, at most script_limit bytes) as chunk "@chunkname" and
 * pushes the function. Returns SBX_OK or SBX_ERR_SYNTAX / SBX_ERR_FILE with *err
 * filled; pushes nothing on failure. */
enum sbx_status sbx_load(struct sbx *s, const char *text, size_t len, const char *chunkname,
                         struct sbx_error *err);

/* Calls the function below nargs arguments on the stack, like lua_pcall with the
 * host's message handler, under the budget's deadline. Returns SBX_OK (nresults
 * pushed) or the failure status with *err filled (nothing pushed). A CPU or memory
 * failure is reported even when the script caught the error itself. */
enum sbx_status sbx_call(struct sbx *s, int nargs, int nresults, enum sbx_budget b,
                         struct sbx_error *err);

/* Runs fn(L, ud) as a protected host step (pushing data, reading values) with the
 * allocator's host slack. The top nargs values of the stack are popped and given to fn
 * at indices 1..nargs of its own frame; fn returns how many values it leaves, and
 * exactly nresults of them are pushed back (padded with nil). Returns 0, or -1 with e
 * filled (e.g. out of memory; nothing is pushed then). */
int sbx_host_step(struct sbx *s, int (*fn)(lua_State *L, void *ud), void *ud, int nargs,
                  int nresults, struct err *e);

/* Registers fn as global `name`, or as field `name` of the global table `table`
 * (created when missing). Must be called before any script runs. */
void sbx_register(struct sbx *s, const char *table, const char *name, int (*fn)(lua_State *L));

/* Runs trusted host Lua source (an API's Lua half) with the values on top of the stack
 * as its arguments (popped), under the load budget. Returns 0 or -1 with e filled. */
int sbx_run_host_chunk(struct sbx *s, const char *name, const char *code, int nargs, struct err *e);

/* Pushes a read-only proxy of the table at idx: reads see the table, writes raise an
 * error, pairs and ipairs iterate it, getmetatable says "read-only". Host step only. */
void sbx_push_readonly(lua_State *L, int idx);

/* Raw access to the sandbox's globals: never runs a metamethod a script put on _G.
 * The host reads and writes globals (state, callbacks) only through these. */
void sbx_get_global(lua_State *L, const char *name);
void sbx_set_global(lua_State *L, const char *name); /* pops the value */

/* Pushes the prelude's internals table ({classes = {name = mt}, ensure_classes = fn}). */
void sbx_push_internals(struct sbx *s);

/* Memory in use by the state, and its limit, in bytes. */
size_t sbx_memory_used(const struct sbx *s);
size_t sbx_memory_limit(const struct sbx *s);

/* Modules the sandbox has loaded through require, as resolved file paths, in load
 * order. Valid until the sbx is freed. */
int sbx_module_count(const struct sbx *s);
const char *sbx_module_path(const struct sbx *s, int i);

/* Runs the start-up probe: a JIT-compiled runaway loop (plain, pcall-wrapped and
 * coroutine-wrapped) must be stopped by the watchdog within 10x a 20 ms budget.
 * Returns 1 when it passed (sandboxes may run with the JIT on), 0 when not, with a
 * reason in e. LUATRADE_SBX_PROBE=fail forces a failure (for tests of the fallback). */
int sbx_probe(struct sbx_watchdog *wd, struct err *e);

#endif
