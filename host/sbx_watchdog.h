/* sbx_watchdog.h: the CPU watchdog thread behind the sandbox's per-call budget.
 *
 * The loop thread brackets every call into a sandbox with sbx_watchdog_enter and
 * sbx_watchdog_leave; both are a few relaxed atomic stores (no clock read, no lock).
 * The watchdog thread samples the current call every tick (1 ms). When one call has
 * been running longer than its budget it arms a sticky count-1 hook on that state:
 * with the CHECKHOOK LuaJIT this stops JIT-compiled loops too, and the hook raises its
 * error on every instruction, so a pcall cannot swallow it. If the call is still
 * running `hard_limit` after that, it is stuck inside C: the watchdog logs and calls
 * the fatal handler (default: abort), and restart recovery takes over. */
#ifndef LUATRADE_SBX_WATCHDOG_H
#define LUATRADE_SBX_WATCHDOG_H

#include <stdint.h>

#include "err.h"

typedef struct lua_State lua_State;
struct lua_Debug;
typedef void (*sbx_hook_fn)(lua_State *L, struct lua_Debug *ar);

struct sbx_watchdog;

/* Starts the thread. Returns NULL and fills e when the thread cannot start. */
struct sbx_watchdog *sbx_watchdog_new(struct err *e);
/* Stops and joins the thread. NULL is a no-op. */
void sbx_watchdog_free(struct sbx_watchdog *wd);

/* A call into L with budget_us begins; hook is what to arm on overrun. Returns the
 * call's generation. Loop thread only. */
uint64_t sbx_watchdog_enter(struct sbx_watchdog *wd, lua_State *L, int64_t budget_us,
                            sbx_hook_fn hook);
/* The call of generation gen ended. Returns 1 when the watchdog armed the hook for it. */
int sbx_watchdog_leave(struct sbx_watchdog *wd, uint64_t gen);
/* When the watchdog first saw call gen running (CLOCK_MONOTONIC ns, within one tick of
 * its start), or 0 when it never saw it (the call was shorter than a tick). Lets the
 * loop thread report how long a failed call ran without reading a clock per call. */
int64_t sbx_watchdog_started_ns(struct sbx_watchdog *wd, uint64_t gen);
/* 1 while the current call (as seen from inside a hook) is the one the watchdog killed. */
int sbx_watchdog_killed_current(struct sbx_watchdog *wd);
/* L is about to be closed: returns once the watchdog can no longer touch it. */
void sbx_watchdog_forget(struct sbx_watchdog *wd, lua_State *L);

/* Called (from the watchdog thread) when a call is stuck in C past the hard limit,
 * before abort. Used by the kill switch. */
void sbx_watchdog_set_fatal(struct sbx_watchdog *wd, void (*fn)(void *arg), void *arg);
/* Hard limit after arming: default max(10 x budget, 1 s). */
int64_t sbx_watchdog_hard_limit_us(int64_t budget_us);

#endif
