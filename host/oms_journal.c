/* oms_journal.c: the order manager's journal records, their replay at start, and the
 * reconciliation with the venue that follows (oms.h, Recovery; shared/notes C1-C2).
 *
 * Records are compact JSON objects (J_STATE: the strategy id, a NUL, then the
 * serialized state). Prices and quantities are written as the host's fixed-point
 * integers, so replay is exact; symbols by name, so a record means the same after the
 * instrument list changed order (an order for a symbol the config no longer has stops
 * the start with a clear error).
 *
 * Replay rebuilds the order book (orders, statuses, releases, replaces), fills (each
 * exec id once; through the same oms_book_fill as live fills, so positions and cash
 * come out the same), the last `state` snapshot per strategy, the kill switch and the
 * trading states, with o->replaying set: nothing is journaled again or published.
 *
 * Reconciliation asks the venue about every order that is not finished: an intent the
 * venue never received is canceled as NOT_SENT (never resent: I4); fills the venue made
 * while we were down are booked; cancels and expiries it did are applied; then the
 * venue's positions and cash must equal ours, or trading stays HALTED (I2, I3). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "log.h"
#include "oms_internal.h"
#include "util.h"

static const char *symbol_of(const struct oms *o, int sym)
{
    return o->h->instruments.v[sym].symbol;
}

/* Records are written on every order, so they avoid printf: each field is its literal
 * prefix ("{\"id\":", ",\"qty\":") followed by the value. */
static void put_int(struct buf *b, const char *prefix, int64_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *--p = '-';
    buf_puts(b, prefix);
    buf_put(b, p, (size_t)(tmp + sizeof tmp - p));
}

static void put_nonzero(struct buf *b, const char *prefix, int64_t v)
{
    if (v) put_int(b, prefix, v);
}

static void put_str(struct buf *b, const char *prefix, const char *s)
{
    buf_puts(b, prefix);
    buf_put_json_str(b, s, strlen(s));
}

/* Strings the host made and validated, which need no escaping: client ids, script
 * hashes (hex), symbols and strategy ids (both checked when configured). */
static void put_plain(struct buf *b, const char *prefix, const char *s)
{
    buf_puts(b, prefix);
    buf_putc(b, '"');
    buf_puts(b, s);
    buf_putc(b, '"');
}

/* The record buffer, reused: no allocation per record once warm. */
static struct buf *record(struct oms *o)
{
    buf_reset(&o->jbuf);
    return &o->jbuf;
}

static void append(struct oms *o, enum jrec type, struct buf *b)
{
    if (o->journal) journal_append(o->journal, (uint8_t)type, b->p, b->len);
}

void oms_journal_order(struct oms *o, const struct order *d)
{
    if (!o->journal) return;
    struct buf *b = record(o);
    put_int(b, "{\"id\":", (int64_t)d->id);
    put_plain(b, ",\"cl\":", d->cl_id);
    put_str(b, ",\"st\":", d->strategy);
    put_plain(b, ",\"sha\":", d->sha256);
    put_str(b, ",\"tag\":", d->tag);
    put_plain(b, ",\"sym\":", symbol_of(o, d->sym));
    put_int(b, ",\"v\":", d->version);
    put_int(b, ",\"side\":", d->side);
    put_int(b, ",\"type\":", d->type);
    put_int(b, ",\"tif\":", d->tif);
    put_int(b, ",\"role\":", d->role);
    put_int(b, ",\"qty\":", d->qty);
    /* fields that are zero are left out (replay reads a missing field as 0) */
    put_nonzero(b, ",\"lim\":", d->limit_px);
    put_nonzero(b, ",\"stop\":", d->stop_px);
    put_nonzero(b, ",\"trail\":", d->trail_px);
    put_nonzero(b, ",\"tp\":", d->tp_px);
    put_nonzero(b, ",\"sl\":", d->sl_px);
    put_nonzero(b, ",\"parent\":", (int64_t)d->parent);
    put_nonzero(b, ",\"sib\":", (int64_t)d->sibling);
    put_nonzero(b, ",\"x0\":", (int64_t)d->exits[0]);
    put_nonzero(b, ",\"x1\":", (int64_t)d->exits[1]);
    put_nonzero(b, ",\"held\":", d->held);
    put_nonzero(b, ",\"exp\":", d->expire_us);
    put_int(b, ",\"ts\":", d->created_us);
    put_nonzero(b, ",\"flat\":", d->flatten);
    buf_putc(b, '}');
    append(o, J_ORDER, b);
}

void oms_journal_status(struct oms *o, const struct order *d)
{
    if (!o->journal) return;
    struct buf *b = record(o);
    put_int(b, "{\"id\":", (int64_t)d->id);
    put_int(b, ",\"s\":", d->status);
    put_int(b, ",\"ts\":", d->updated_us);
    put_str(b, ",\"r\":", d->reason);
    buf_putc(b, '}');
    append(o, J_STATUS, b);
}

void oms_journal_release(struct oms *o, const struct order *d)
{
    if (!o->journal) return;
    struct buf *b = record(o);
    put_int(b, "{\"id\":", (int64_t)d->id);
    put_int(b, ",\"qty\":", d->qty);
    buf_putc(b, '}');
    append(o, J_RELEASE, b);
}

void oms_journal_fill(struct oms *o, const struct fill *f)
{
    if (!o->journal) return;
    struct buf *b = record(o);
    put_int(b, "{\"id\":", (int64_t)f->order_id);
    put_int(b, ",\"px\":", f->px);
    put_int(b, ",\"qty\":", f->qty);
    put_int(b, ",\"c\":", f->commission);
    put_int(b, ",\"ts\":", f->ts_us);
    put_str(b, ",\"x\":", f->exec_id);
    buf_putc(b, '}');
    append(o, J_FILL, b);
}

void oms_journal_replace(struct oms *o, const struct order *d)
{
    if (!o->journal) return;
    struct buf *b = record(o);
    put_int(b, "{\"id\":", (int64_t)d->id);
    put_int(b, ",\"qty\":", d->qty);
    put_int(b, ",\"lim\":", d->limit_px);
    put_int(b, ",\"stop\":", d->stop_px);
    buf_putc(b, '}');
    append(o, J_REPLACE, b);
}

void oms_journal_kill(struct oms *o, int on, const char *why)
{
    if (!o->journal) return;
    struct buf *b = record(o);
    put_int(b, "{\"on\":", on);
    put_str(b, ",\"why\":", why);
    buf_putc(b, '}');
    append(o, J_KILL, b);
}

void oms_journal_tstate(struct oms *o, const char *strategy, int state)
{
    if (!o->journal) return;
    struct buf *b = record(o);
    put_int(b, "{\"s\":", state);
    put_str(b, ",\"st\":", strategy);
    buf_putc(b, '}');
    append(o, J_TSTATE, b);
}

/* ---- replay ---------------------------------------------------------------------------- */

static int64_t num(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v) || !(fabs(v->valuedouble) < 9.2e18)) return 0; /* NaN too */
    return (int64_t)v->valuedouble;
}

/* Integers beyond 2^53 do not survive a double: read the digits themselves. */
static int64_t num64(const cJSON *j, const char *key, const char *raw)
{
    char pat[40];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(raw, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : num(j, key);
}

static const char *str(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static struct order *find(struct oms *o, const cJSON *j, uint64_t seq, struct err *e)
{
    uint64_t id = (uint64_t)num(j, "id");
    struct order *d = order_book_get(o->book, id);
    if (!d) err_set(e, "journal record %" PRIu64 ": unknown order %" PRIu64, seq, id);
    return d;
}

/* A record that passed its checksum but describes an impossible order (written by
 * another version, or edited by hand) stops the start instead of corrupting the book. */
static int valid_order(const struct order *d)
{
    return d->id > 0 && d->cl_id[0] && (unsigned)d->type <= OT_TRAIL &&
           (unsigned)d->tif <= TIF_FOK && (unsigned)d->role <= ROLE_STOP_LOSS && d->qty > 0 &&
           d->limit_px >= 0 && d->stop_px >= 0 && d->trail_px >= 0 && d->tp_px >= 0 &&
           d->sl_px >= 0 && (d->held == 0 || d->held == 1);
}

static int replay_order(struct oms *o, const cJSON *j, const char *raw, uint64_t seq, struct err *e)
{
    struct order d = {0};
    d.id = (uint64_t)num(j, "id");
    d.sym = instruments_find(&o->h->instruments, str(j, "sym"));
    if (d.sym < 0)
        return err_set(e,
                       "journal record %" PRIu64 ": order %" PRIu64
                       " is for symbol %s, which the config no longer has",
                       seq, d.id, str(j, "sym"));
    util_strlcpy(d.cl_id, str(j, "cl"), sizeof d.cl_id);
    util_strlcpy(d.strategy, str(j, "st"), sizeof d.strategy);
    util_strlcpy(d.sha256, str(j, "sha"), sizeof d.sha256);
    util_strlcpy(d.tag, str(j, "tag"), sizeof d.tag);
    d.version = (unsigned)num(j, "v");
    d.side = num(j, "side") > 0 ? SIDE_BUY : SIDE_SELL;
    d.type = (enum order_type)num(j, "type");
    d.tif = (enum order_tif)num(j, "tif");
    d.role = (enum order_role)num(j, "role");
    d.qty = num64(j, "qty", raw);
    d.limit_px = num64(j, "lim", raw);
    d.stop_px = num64(j, "stop", raw);
    d.trail_px = num64(j, "trail", raw);
    d.tp_px = num64(j, "tp", raw);
    d.sl_px = num64(j, "sl", raw);
    d.parent = (uint64_t)num(j, "parent");
    d.sibling = (uint64_t)num(j, "sib");
    d.exits[0] = (uint64_t)num(j, "x0");
    d.exits[1] = (uint64_t)num(j, "x1");
    d.held = (int)num(j, "held");
    d.expire_us = num64(j, "exp", raw);
    d.created_us = d.updated_us = num64(j, "ts", raw);
    d.flatten = (int)num(j, "flat");
    d.status = OS_PENDING_NEW;
    if (!valid_order(&d))
        return err_set(e, "journal record %" PRIu64 ": order %" PRIu64 " is not a valid order", seq,
                       d.id);
    if (!order_book_insert(o->book, &d))
        return err_set(e, "journal record %" PRIu64 ": order %" PRIu64 " twice or out of order",
                       seq, d.id);
    if (d.id > o->max_id) o->max_id = d.id;
    return 0;
}

static int replay_json(struct oms *o, uint8_t type, uint64_t seq, const char *raw, struct err *e)
{
    cJSON *j = cJSON_Parse(raw);
    if (!j) return err_set(e, "journal record %" PRIu64 ": not valid JSON", seq);
    int rc = 0;
    struct order *d = NULL;
    switch (type) {
    case J_ORDER:
        rc = replay_order(o, j, raw, seq, e);
        break;
    case J_STATUS:
        if (!(d = find(o, j, seq, e))) rc = -1;
        else {
            util_strlcpy(d->reason, str(j, "r"), sizeof d->reason);
            /* order_set_status refuses anything out of range or illegal */
            if (order_set_status(o->book, d, (enum order_status)num(j, "s"), num64(j, "ts", raw)))
                log_warn("oms", "journal: illegal transition skipped", "seq=%" PRIu64, seq);
        }
        break;
    case J_RELEASE:
        if (!(d = find(o, j, seq, e))) rc = -1;
        else {
            int64_t qty = num64(j, "qty", raw);
            if (qty <= 0 || qty < d->filled_qty)
                rc = err_set(e, "journal record %" PRIu64 ": bad quantity", seq);
            else {
                d->qty = qty;
                order_release(o->book, d);
            }
        }
        break;
    case J_REPLACE:
        if (!(d = find(o, j, seq, e))) rc = -1;
        else {
            int64_t qty = num64(j, "qty", raw), lim = num64(j, "lim", raw),
                    stop = num64(j, "stop", raw);
            if (qty <= 0 || qty < d->filled_qty || lim < 0 || stop < 0)
                rc = err_set(e, "journal record %" PRIu64 ": bad replace", seq);
            else d->qty = qty, d->limit_px = lim, d->stop_px = stop;
        }
        break;
    case J_FILL:
        if (!(d = find(o, j, seq, e))) rc = -1;
        else {
            struct fill f = {.order_id = d->id,
                             .sym = d->sym,
                             .side = d->side,
                             .px = num64(j, "px", raw),
                             .qty = num64(j, "qty", raw),
                             .commission = num64(j, "c", raw),
                             .ts_us = num64(j, "ts", raw)};
            util_strlcpy(f.exec_id, str(j, "x"), sizeof f.exec_id);
            if (f.qty <= 0 || f.px <= 0 || f.commission < 0 || !f.exec_id[0])
                rc = err_set(e, "journal record %" PRIu64 ": bad fill", seq);
            else oms_book_fill(o, d, &f, 0);
        }
        break;
    case J_KILL:
        if (num(j, "on")) risk_kill(o->risk, str(j, "why"));
        else risk_rearm(o->risk, str(j, "why"));
        o->kill_journaled = (int)num(j, "on");
        break;
    case J_TSTATE: {
        const char *st = str(j, "st");
        int64_t ts = num(j, "s");
        if (ts < TS_ACTIVE || ts > TS_HALTED) {
            rc = err_set(e, "journal record %" PRIu64 ": bad trading state", seq);
            break;
        }
        risk_set_state(o->risk, st[0] ? st : NULL, (enum trading_state)ts, "journal");
        if (!st[0]) o->tstate_journaled[0] = (int)num(j, "s") + 1;
        break;
    }
    default:
        log_warn("oms", "journal: unknown record type skipped", "type=%d", type);
    }
    cJSON_Delete(j);
    return rc;
}

static void keep_state(struct oms *o, const char *p, size_t len)
{
    size_t idlen = strnlen(p, len);
    if (idlen == len) return; /* no NUL: not ours */
    struct saved_state *s = NULL;
    for (int i = 0; i < o->nstates; i++)
        if (strcmp(o->states[i].strategy, p) == 0) s = &o->states[i];
    if (!s) {
        o->states = xrealloc(o->states, (size_t)(o->nstates + 1) * sizeof *o->states);
        s = &o->states[o->nstates++];
        s->strategy = xstrdup(p);
        s->data = (struct buf)BUF_INIT;
    }
    buf_reset(&s->data);
    buf_put(&s->data, p + idlen + 1, len - idlen - 1);
}

int oms_replay_record(uint8_t type, uint64_t seq, const void *p, size_t len, void *arg,
                      struct err *e)
{
    struct oms *o = arg;
    if (type == J_STATE) {
        keep_state(o, p, len);
        return 0;
    }
    char *raw = xstrndup(p, len);
    int rc = replay_json(o, type, seq, raw, e);
    free(raw);
    return rc;
}

/* ---- reconciliation --------------------------------------------------------------------- */

static void problem(struct oms *o, const char *what)
{
    log_error("oms", "recovery: local state disagrees with the venue; trading HALTED",
              "problem=\"%s\"", what);
    if (!o->problem[0]) util_strlcpy(o->problem, what, sizeof o->problem);
}

static void missed_fill(const struct venue_report *r, void *arg)
{
    struct oms *o = arg;
    if (strset_has(o->execs, r->exec_id)) return;
    struct order *d = order_book_by_clid(o->book, r->cl_id);
    if (!d) {
        char what[200];
        snprintf(what, sizeof what, "venue fill %s for unknown order %s", r->exec_id, r->cl_id);
        problem(o, what);
        return;
    }
    struct fill f;
    oms_fill_of(d, r, &f);
    log_info("oms", "recovery: fill booked from the venue", "id=%" PRIu64 " exec=%s", d->id,
             r->exec_id);
    oms_book_fill(o, d, &f, 1);
}

static void reconcile_order(struct oms *o, struct order *d, int *unsent)
{
    struct venue_order_state vs;
    if (o->venue.ops->query(o->venue.impl, d->cl_id, &vs) != 0) {
        if (d->status == OS_PENDING_NEW) {
            oms_set_status(o, d, OS_CANCELED, "NOT_SENT", 1);
            (*unsent)++;
            return;
        }
        char what[200];
        snprintf(what, sizeof what, "order %s is %s here but unknown to the venue", d->cl_id,
                 order_status_name(d->status));
        problem(o, what);
        return;
    }
    if (d->status == OS_PENDING_NEW && vs.status != OS_REJECTED && vs.status != OS_PENDING_NEW)
        oms_set_status(o, d, OS_ACCEPTED, NULL, 1);
    if (vs.status == OS_CANCELED || vs.status == OS_EXPIRED || vs.status == OS_REJECTED)
        oms_set_status(o, d, vs.status, "RECONCILED", 1);
    else if (vs.cum_qty != d->filled_qty) {
        char what[200];
        snprintf(what, sizeof what, "order %s filled %lld here, %lld at the venue", d->cl_id,
                 (long long)d->filled_qty, (long long)vs.cum_qty);
        problem(o, what);
    }
}

void oms_reconcile(struct oms *o)
{
    o->venue.ops->fills(o->venue.impl, missed_fill, o);
    struct order *const *all;
    int n = order_book_all(o->book, &all), unsent = 0, open = 0;
    for (int i = 0; i < n; i++) {
        if (order_status_terminal(all[i]->status) || all[i]->held) continue;
        open++;
        reconcile_order(o, all[i], &unsent);
    }
    for (int i = 0; i < n; i++) oms_bracket_fixup(o, all[i]);
    for (int s = 0; s < o->h->instruments.n; s++) {
        int64_t mine = portfolio_qty(o->pf, NULL, s),
                theirs = o->venue.ops->position(o->venue.impl, s);
        if (mine != theirs) {
            char what[200];
            snprintf(what, sizeof what, "position in %s is %lld here, %lld at the venue",
                     symbol_of(o, s), (long long)mine, (long long)theirs);
            problem(o, what);
        }
    }
    struct portfolio_totals t;
    portfolio_totals(o->pf, NULL, &t);
    int64_t venue_cash = o->venue.ops->cash(o->venue.impl);
    if (t.cash != venue_cash) {
        char what[200];
        snprintf(what, sizeof what, "cash is %lld here, %lld at the venue (micro-units)",
                 (long long)t.cash, (long long)venue_cash);
        problem(o, what);
    }
    if (o->problem[0]) risk_set_state(o->risk, NULL, TS_HALTED, o->problem);
    if (n > 0)
        log_info("oms", "recovered from the journal",
                 "orders=%d open=%d not_sent=%d fills=%zu states=%d halted=%d", n, open, unsent,
                 strset_count(o->execs), o->nstates, o->problem[0] != 0);
}
