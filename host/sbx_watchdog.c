/* sbx_watchdog.c: the CPU watchdog thread (see sbx_watchdog.h).
 *
 * Shared state is one "current call" slot written by the loop thread:
 *   gen     odd while a call runs, even between calls (incremented by enter and leave);
 *   L, budget_us, hook   valid for the call of generation gen (written before gen).
 * The watchdog thread wakes every tick, and when it sees the same odd gen for longer
 * than its budget it takes `arm_mu`, re-checks gen and arms the hook, recording
 * kill_gen = gen. The loop thread never takes the mutex on the hot path.
 *
 * A hook armed just as the call ended lands on an idle state; the hook function
 * (sbx.c) sees kill_gen != gen on the next call, removes itself and returns, so a late
 * arming is harmless. sbx_watchdog_forget takes arm_mu before a state is closed, so
 * the watchdog never touches a freed state. */
#include "sbx_watchdog.h"

#include <errno.h>
#include <lua.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

#define TICK_NS 1000000 /* 1 ms */

struct sbx_watchdog {
    pthread_t thread;
    pthread_mutex_t arm_mu;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    int stop;

    _Atomic uint64_t gen;
    _Atomic(lua_State *) L;
    _Atomic int64_t budget_us;
    _Atomic(sbx_hook_fn) hook;
    _Atomic uint64_t kill_gen;
    _Atomic uint64_t seen_gen; /* the call the watchdog has timed, and since when */
    _Atomic int64_t seen_at;

    void (*fatal_fn)(void *);
    void *fatal_arg;
};

int64_t sbx_watchdog_hard_limit_us(int64_t budget_us)
{
    int64_t h = budget_us * 10;
    return h < 1000000 ? 1000000 : h;
}

static void stuck_in_c(struct sbx_watchdog *wd, int64_t budget_us)
{
    log_error("watchdog", "call stuck in C past the hard limit; aborting",
              "budget_ms=%lld hard_ms=%lld", (long long)budget_us / 1000,
              (long long)sbx_watchdog_hard_limit_us(budget_us) / 1000);
    if (wd->fatal_fn) wd->fatal_fn(wd->fatal_arg);
    abort();
}

/* Sleeps one tick; returns 1 when asked to stop. */
static int tick_wait(struct sbx_watchdog *wd)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += TICK_NS;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&wd->stop_mu);
    while (!wd->stop) {
        if (pthread_cond_timedwait(&wd->stop_cv, &wd->stop_mu, &ts) == ETIMEDOUT) break;
    }
    int stop = wd->stop;
    pthread_mutex_unlock(&wd->stop_mu);
    return stop;
}

static void *watchdog_main(void *arg)
{
    struct sbx_watchdog *wd = arg;
    uint64_t seen_gen = 0;
    int64_t seen_at = 0, armed_at = 0;
    int armed = 0;
    while (!tick_wait(wd)) {
        uint64_t g = atomic_load_explicit(&wd->gen, memory_order_acquire);
        if (!(g & 1)) {
            seen_gen = 0;
            continue;
        }
        int64_t now = mono_ns();
        if (g != seen_gen) {
            seen_gen = g;
            seen_at = now - TICK_NS / 2; /* the call began some time in the last tick */
            armed = 0;
            atomic_store_explicit(&wd->seen_at, seen_at, memory_order_relaxed);
            atomic_store_explicit(&wd->seen_gen, g, memory_order_release);
            continue;
        }
        int64_t budget_us = atomic_load_explicit(&wd->budget_us, memory_order_relaxed);
        if (!armed && now - seen_at >= budget_us * 1000) {
            pthread_mutex_lock(&wd->arm_mu);
            lua_State *L = atomic_load(&wd->L);
            if (L && atomic_load_explicit(&wd->gen, memory_order_acquire) == g) {
                atomic_store(&wd->kill_gen, g);
                lua_sethook(L, (lua_Hook)atomic_load(&wd->hook), LUA_MASKCOUNT, 1);
            }
            pthread_mutex_unlock(&wd->arm_mu);
            armed = 1;
            armed_at = now;
        } else if (armed && now - armed_at >= sbx_watchdog_hard_limit_us(budget_us) * 1000) {
            stuck_in_c(wd, budget_us);
        }
    }
    return NULL;
}

struct sbx_watchdog *sbx_watchdog_new(struct err *e)
{
    struct sbx_watchdog *wd = xcalloc(1, sizeof *wd);
    pthread_mutex_init(&wd->arm_mu, NULL);
    pthread_mutex_init(&wd->stop_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wd->stop_cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&wd->thread, NULL, watchdog_main, wd);
    if (rc != 0) {
        err_set(e, "cannot start the watchdog thread: %s", strerror(rc));
        pthread_cond_destroy(&wd->stop_cv);
        pthread_mutex_destroy(&wd->stop_mu);
        pthread_mutex_destroy(&wd->arm_mu);
        free(wd);
        return NULL;
    }
    return wd;
}

void sbx_watchdog_free(struct sbx_watchdog *wd)
{
    if (!wd) return;
    pthread_mutex_lock(&wd->stop_mu);
    wd->stop = 1;
    pthread_cond_signal(&wd->stop_cv);
    pthread_mutex_unlock(&wd->stop_mu);
    pthread_join(wd->thread, NULL);
    pthread_cond_destroy(&wd->stop_cv);
    pthread_mutex_destroy(&wd->stop_mu);
    pthread_mutex_destroy(&wd->arm_mu);
    free(wd);
}

uint64_t sbx_watchdog_enter(struct sbx_watchdog *wd, lua_State *L, int64_t budget_us,
                            sbx_hook_fn hook)
{
    atomic_store_explicit(&wd->L, L, memory_order_relaxed);
    atomic_store_explicit(&wd->budget_us, budget_us, memory_order_relaxed);
    atomic_store_explicit(&wd->hook, hook, memory_order_relaxed);
    uint64_t g = atomic_load_explicit(&wd->gen, memory_order_relaxed) + 1;
    ASSERT(g & 1); /* calls never nest */
    atomic_store_explicit(&wd->gen, g, memory_order_release);
    return g;
}

int sbx_watchdog_leave(struct sbx_watchdog *wd, uint64_t gen)
{
    atomic_store_explicit(&wd->gen, gen + 1, memory_order_release);
    return atomic_load_explicit(&wd->kill_gen, memory_order_acquire) == gen;
}

int64_t sbx_watchdog_started_ns(struct sbx_watchdog *wd, uint64_t gen)
{
    if (atomic_load_explicit(&wd->seen_gen, memory_order_acquire) != gen) return 0;
    int64_t at = atomic_load_explicit(&wd->seen_at, memory_order_relaxed);
    return atomic_load_explicit(&wd->seen_gen, memory_order_acquire) == gen ? at : 0;
}

int sbx_watchdog_killed_current(struct sbx_watchdog *wd)
{
    uint64_t g = atomic_load_explicit(&wd->gen, memory_order_relaxed);
    return (g & 1) && atomic_load_explicit(&wd->kill_gen, memory_order_acquire) == g;
}

void sbx_watchdog_forget(struct sbx_watchdog *wd, lua_State *L)
{
    pthread_mutex_lock(&wd->arm_mu);
    if (atomic_load(&wd->L) == L) atomic_store(&wd->L, NULL);
    pthread_mutex_unlock(&wd->arm_mu);
}

void sbx_watchdog_set_fatal(struct sbx_watchdog *wd, void (*fn)(void *), void *arg)
{
    wd->fatal_fn = fn;
    wd->fatal_arg = arg;
}
