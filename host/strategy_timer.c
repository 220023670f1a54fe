/* strategy_timer.c: timers of strategy instances: timer.every/after/at/cancel from the
 * Lua API (api_time.c) and the declaration's `every`.
 *
 * A timer belongs to the sandbox that made it (its api_ctx) and is freed with that
 * sandbox (strategy_version_free), so an old version's timer never fires after a
 * reload, and neither does one armed by a load that then failed. Timers ride
 * the host's timer queue; daily ones (timer.at) are rescheduled after each firing
 * through their time zone, so a DST change moves them correctly. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "host.h"
#include "log.h"
#include "strategy_internal.h"
#include "util.h"
#include "timer.h"
#include "tz.h"

static void timer_fire(void *arg, uint64_t id);

static void stimer_free(struct stimer *t)
{
    tz_free(t->tz);
    free(t);
}

static void remove_timer(struct strategy *st, int i)
{
    timerq_cancel(st->set->host->timers, st->timers[i]->id);
    stimer_free(st->timers[i]);
    st->timers[i] = st->timers[--st->ntimers];
}

/* Cancels the timers made by one sandbox (ctx NULL: all). */
void strategy_cancel_timers(struct strategy *st, const struct api_ctx *ctx)
{
    for (int i = st->ntimers - 1; i >= 0; i--)
        if (!ctx || st->timers[i]->ctx == ctx) remove_timer(st, i);
}

static int64_t next_daily(struct stimer *t, int64_t after_us)
{
    int64_t s = tz_next_local_time(t->tz, after_us / 1000000 + 1, t->hh, t->mm);
    return s * 1000000;
}

int strategy_timer_set(struct api_ctx *c, const char *name, int64_t due_us, int64_t period_us,
                       int daily_hh, int daily_mm, const char *zone, struct err *e)
{
    struct strategy *st = c->st;
    if (!st) return err_set(e, "timers are not available here");
    struct host *h = st->set->host;
    int mine = 0;
    for (int i = 0; i < st->ntimers; i++) mine += st->timers[i]->ctx == c;
    if (mine >= STRATEGY_TIMERS_MAX)
        return err_set(e, "too many timers (at most %d per strategy)", STRATEGY_TIMERS_MAX);
    struct stimer *t = xcalloc(1, sizeof *t);
    t->st = st;
    t->ctx = c;
    util_strlcpy(t->name, name, sizeof t->name);
    if (daily_hh >= 0) {
        t->tz = tz_load(zone ? zone : "UTC", NULL, e);
        if (!t->tz) {
            free(t);
            return -1;
        }
        t->daily = 1;
        t->hh = daily_hh;
        t->mm = daily_mm;
        due_us = next_daily(t, clock_now_us(&h->clock) - 1000000);
    }
    t->one_shot = period_us <= 0 && !t->daily;
    for (int i = 0; i < st->ntimers; i++)
        if (st->timers[i]->ctx == c && !strcmp(st->timers[i]->name, name)) {
            remove_timer(st, i);
            break;
        }
    st->timers = xrealloc(st->timers, sizeof *st->timers * (size_t)(st->ntimers + 1));
    st->timers[st->ntimers++] = t;
    t->id = timerq_add(h->timers, due_us, t->daily ? 0 : period_us, timer_fire, t);
    return 0;
}

int strategy_timer_cancel(struct api_ctx *c, const char *name)
{
    struct strategy *st = c->st;
    if (!st) return -1;
    for (int i = 0; i < st->ntimers; i++)
        if (st->timers[i]->ctx == c && !strcmp(st->timers[i]->name, name)) {
            remove_timer(st, i);
            return 0;
        }
    return -1;
}

static void timer_fire(void *arg, uint64_t id)
{
    struct stimer *t = arg;
    struct strategy *st = t->st;
    struct host *h = st->set->host;
    if (t->daily)
        t->id = timerq_add(h->timers, next_daily(t, clock_now_us(&h->clock)), 0, timer_fire, t);
    char name[64];
    util_strlcpy(name, t->name, sizeof name);
    /* only the sandbox that made the timer is called (its timers die with it anyway) */
    int live = t->ctx == st->cur.ctx;
    if (t->one_shot) {
        for (int i = 0; i < st->ntimers; i++)
            if (st->timers[i] == t) {
                stimer_free(t);
                st->timers[i] = st->timers[--st->ntimers];
                break;
            }
    }
    if (!live || st->status != STRATEGY_RUNNING || !strategy_push_cb(st, CB_TIMER)) return;
    lua_pushstring(sbx_lua(st->cur.sbx), name);
    strategy_call(st, CB_TIMER, 1, SBX_BUDGET_CALL);
}

void strategy_arm_every(struct strategy *st)
{
    if (st->cur.every_us <= 0) return;
    struct host *h = st->set->host;
    struct err e;
    strategy_timer_set(st->cur.ctx, "every", clock_now_us(&h->clock) + st->cur.every_us,
                       st->cur.every_us, -1, -1, NULL, &e);
}
