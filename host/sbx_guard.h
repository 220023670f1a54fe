/* sbx_guard.h: guards the sandbox puts around standard library functions (sbx_guard.c).
 * Internal to the sandbox: only sbx.c includes it. */
#ifndef LUATRADE_SBX_GUARD_H
#define LUATRADE_SBX_GUARD_H

#include <stddef.h>

typedef struct lua_State lua_State;

/* C stack a chain of C->Lua->C callbacks may use below the call's entry point: about
 * 25 nested gsub callbacks or 1,700 nested __tostring calls. */
#define SBX_CSTACK_LIMIT (256u << 10)
/* Upper bound on the estimated steps of one pattern search (see sbx_guard.c). */
#define SBX_PATTERN_COST_LIMIT 1e8

/* Raises a Lua error when the C stack has grown more than SBX_CSTACK_LIMIT below
 * `base` (the address of a local in the host frame that entered the sandbox). */
void sbx_guard_cstack(lua_State *L, const char *base);

/* The number of backtracking points in a Lua pattern: repetitions (*, + and -),
 * optional items (?) and balanced matches (%b); *anchored is set when it starts
 * with '^'. */
int sbx_pattern_repetitions(const char *p, size_t len, int *anchored);

/* Replaces string.find/match/gmatch/gsub, string.format, tostring, coroutine.resume,
 * table.insert (position bounds), load and collectgarbage in the state's globals with guarded
 * versions, and pushes the guarded coroutine.resume (for the prelude). script_limit caps load(). */
void sbx_guard_install(lua_State *L, size_t script_limit);

#endif
