/* oms_internal.h: what oms.c (the order flow) and oms_journal.c (journal records,
 * replay, reconciliation) share. Not a public contract: everything else uses oms.h. */
#ifndef LUATRADE_OMS_INTERNAL_H
#define LUATRADE_OMS_INTERNAL_H

#include "buf.h"
#include "event.h"
#include "oms.h"
#include "portfolio.h"
#include "strset.h"
#include "venue.h"

struct event;
struct tz;
struct expo_acct;
struct risk_exposure;
struct risk_env;

/* Journal record types (one JSON object each, except J_STATE). */
enum jrec {
    J_ORDER = 'O',   /* a new order: every field (the intent) */
    J_STATUS = 'S',  /* {id, s, ts, r}: a status change */
    J_RELEASE = 'L', /* {id, qty}: a held bracket exit goes live */
    J_FILL = 'F',    /* {id, x, px, qty, c, ts} */
    J_REPLACE = 'R', /* {id, qty, lim, stop} */
    J_STATE = 'T',   /* strategy id, NUL, serialized `state` */
    J_KILL = 'K',    /* {on, why} */
    J_TSTATE = 'G',  /* {st, s}: a trading state change ("" = global) */
};

enum out_kind { OUT_NEW, OUT_CANCEL, OUT_REPLACE };

struct out_item {
    enum out_kind kind;
    uint64_t id;
};

struct saved_state {
    char *strategy;
    struct buf data;
};

struct oms {
    struct host *h;
    struct oms_config cfg;
    struct order_book *book;
    struct portfolio *pf;
    struct risk *risk;
    struct journal *journal;
    struct venue venue;
    struct strset *execs; /* exec ids already booked */

    struct out_item *out; /* sends waiting for the next commit */
    int nout, capout;
    int flushing;
    struct event *flush_ev; /* libevent: one flush per loop turn */

    struct saved_state *states; /* recovered `state` snapshots */
    int nstates;

    struct tz *session_tz;
    int64_t day_end_us;      /* next session end on the host clock */
    int tstate_journaled[2]; /* last journaled global state (+1), 0 = none */
    int kill_journaled;
    char problem[256];
    char kill_latch[4096]; /* a file that says "killed" even if the loop never ran again */
    int replaying;
    int pf_dirty;       /* fills since the last PORTFOLIO_UPDATE */
    int venue_dirty;    /* the venue saw market data with orders working: commit it */
    int64_t denial_sec; /* denial log rate limit */
    int denials_logged;
    uint64_t denials_suppressed;
    int deferring; /* recovering: events wait in deferred for oms_publish_recovered */
    struct event *deferred;
    int ndeferred;
    int journal_error_logged;
    uint64_t max_id;         /* highest order id seen in the journal */
    struct expo_acct **expo; /* per strategy (oms_exposure.c) */
    int nexpo;
    struct expo_acct *expo_total;
    struct buf jbuf; /* the journal record being written (oms_journal.c) */
};

/* oms_exposure.c: working orders' exposure per account, tracked incrementally. Wrap
 * every change to an order in oms_expo_apply(o, d, -1) ... oms_expo_apply(o, d, +1). */
void oms_expo_init(struct oms *o);
void oms_expo_free(struct oms *o);
void oms_expo_rebuild(struct oms *o);
void oms_expo_apply(struct oms *o, const struct order *d, int sign);
/* Fills the working-order fields of out; adds the working notional to gross_exposure. */
void oms_expo_query(struct oms *o, const char *strategy, int sym, struct risk_exposure *out);
/* The reference price of sym (quote mid, else last trade) and its time: 0, or -1 when
 * the symbol has no market data yet. */
int oms_reference_price(struct oms *o, int sym, int64_t *px, int64_t *ts_us);
/* The callbacks risk_new needs, bound to o. */
void oms_risk_env(struct oms *o, struct risk_env *env);

/* oms_journal.c */
void oms_journal_order(struct oms *o, const struct order *ord);
void oms_journal_status(struct oms *o, const struct order *ord);
void oms_journal_release(struct oms *o, const struct order *ord);
void oms_journal_fill(struct oms *o, const struct fill *f);
void oms_journal_replace(struct oms *o, const struct order *ord);
void oms_journal_kill(struct oms *o, int on, const char *why);
void oms_journal_tstate(struct oms *o, const char *strategy, int state);
/* The journal replay callback (journal_replay_fn). */
int oms_replay_record(uint8_t type, uint64_t seq, const void *p, size_t len, void *arg,
                      struct err *e);
/* After the venue is open: brings local state in line with it (oms.h, Recovery). */
void oms_reconcile(struct oms *o);

/* oms.c, for replay and reconciliation */
/* Books a fill on ord (deduplicated by exec id): order, portfolio, journal, events.
 * Returns 0, or 1 when the exec id was already booked. */
int oms_book_fill(struct oms *o, struct order *ord, const struct fill *f, int publish);
void oms_publish_order(struct oms *o, int type, const struct order *ord, const struct fill *f,
                       int replaced);
/* The fill a venue report describes, on ord. */
void oms_fill_of(const struct order *ord, const struct venue_report *r, struct fill *f);
/* Brings ord's bracket relatives in line with it: exits live for an entry's filled qty,
 * held exits of an entry that ended unfilled canceled, the OCO partner of a filled exit
 * canceled. Idempotent (reconciliation runs it over every order). */
void oms_bracket_fixup(struct oms *o, struct order *ord);
void oms_set_status(struct oms *o, struct order *ord, enum order_status s, const char *reason,
                    int publish);

#endif
