/* risk_internal.h: what risk.c (accounts, limits, states, alerts, the kill switch) and
 * risk_check.c (the pre-trade and cancel checks) share. Not a public contract:
 * everything else uses risk.h. */
#ifndef LUATRADE_RISK_INTERNAL_H
#define LUATRADE_RISK_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "event.h"
#include "risk.h"

struct cJSON;

#define US_PER_S 1e6

/* Kill switch bits (struct risk.kill). LATCHED is set and cleared by the loop thread;
 * PENDING is set by risk_kill_async from any thread or a signal handler. */
#define KILL_LATCHED 1
#define KILL_PENDING 2

/* Duplicate-order memory: DUP_BUCKETS sets of DUP_WAYS recent passing orders. */
#define DUP_BUCKETS 256
#define DUP_WAYS    4

/* What two orders must share to be duplicates (the strategy id by its hash). */
struct dup_key {
    uint64_t strategy_h;
    int64_t qty, limit_px, stop_px, trail_px, tp_px, sl_px;
    int sym, side;
    unsigned has;
};

struct dup_entry {
    struct dup_key k;
    int64_t ts_us;
    int used;
};

/* A token bucket in micro-tokens (1e6 = one order), refilled on the host clock. rate
 * is the rate it was filled for: when the limit changes, the bucket restarts full. */
struct bucket {
    double level;
    int64_t t_us;
    double rate;
};

/* Utilization metrics watched by risk_update. */
enum metric { M_DAILY_LOSS, M_DRAWDOWN, M_GROSS, M_WORKING, M_POSITION, M__COUNT };

/* Why an account is in its trading state: risk_new_day clears only CAUSE_DAILY_LOSS. */
enum cause { CAUSE_NONE, CAUSE_DAILY_LOSS, CAUSE_DRAWDOWN, CAUSE_OPERATOR };

/* An account: the global one (id NULL, totals) or one strategy's. */
struct acct {
    char *id;
    struct risk_limits lim;
    int64_t band_n; /* price_band_pct in 10^-9 % (exact integer band arithmetic) */
    enum trading_state state;
    enum cause cause;
    int loss_level[2];     /* daily loss, drawdown: 0 below, 1 REDUCING, 2 HALTED level */
    int crossed[M__COUNT]; /* highest alert severity crossed + 1; 0 none */
    double util[M__COUNT]; /* as of the last risk_update */
    struct bucket orders, cancels;
    int last_sym; /* symbol of the last order that passed; -1 none */
};

struct risk {
    struct risk_env env;
    struct bus *bus;
    const struct clock *clock;
    struct acct global;
    struct acct **per; /* strategy accounts, in creation order */
    int nper, capper;
    char **restricted;
    int nrestricted;
    unsigned char *restricted_sym; /* per instrument id known at risk_new: 1 restricted */
    int nrestricted_sym;
    double alert_at[SEV__COUNT];
    atomic_int kill;
    uint64_t denials[RISK__COUNT];
    struct dup_entry dup[DUP_BUCKETS][DUP_WAYS];
};

/* The strategy's account, or NULL when it has neither limits nor a state of its own. */
struct acct *risk_acct_find(const struct risk *r, const char *strategy);
/* Publishes an event with source "risk", taking data. */
void risk_publish(struct risk *r, enum event_type type, struct cJSON *data);

#endif
