/* feed_sim.c: the seeded market simulator (see feed_sim.h).
 *
 * Randomness: the host's rng.h seeded from cfg->seed, so the stream depends on nothing
 * but the seed and the configuration; normal deviates come from Box-Muller, the second
 * value of each pair cached.
 *
 * Each event draws, in this order: the symbol (uniformly at random over the
 * configured symbols: more realistic than round-robin, and the per-symbol n still
 * makes every symbol's stream contiguous), trade or quote (uniform < trade_ratio),
 * one normal deviate Z for that symbol's GBM step, then the sizes (quote: bid size,
 * ask size; trade: side, size). The step uses dt = nsymbols / rate seconds in years
 * of 365.25 days: each symbol's expected time between its own events.
 *
 * Invariants per symbol, after every step:
 *  - tick_px <= mid <= max_ticks * tick_px (NaN, should it ever arise, goes to the
 *    floor), so the mid never falls below one tick, and with max_ticks * tick <=
 *    2^51 units and spread * tick <= 2^50 (checked by feed_sim_new) every published
 *    price is below 2^52 units: exact in a double, far from int64 overflow;
 *  - published bid = round_to_tick(mid) - floor(spread/2) ticks, raised to one tick
 *    if lower; ask = bid + spread ticks. Both are multiples of tick and > 0;
 *  - sizes are k * lot with 1 <= k <= max_lots;
 *  - nq and nt count the quotes and trades published so far (n of the last one).
 * feed_sim_next allocates nothing: all state lives in one block made by feed_sim_new. */
#include "feed_sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixed.h"
#include "rng.h"
#include "util.h"

#define SECONDS_PER_YEAR (365.25 * 86400.0)
#define MAX_UNITS        4503599627370496.0 /* 2^52: prices and spreads stay below this */
#define TWO_PI           6.283185307179586476925286766559

struct sim_symbol {
    int sym;
    double mid;        /* price units (not fixed point) */
    double step_mu;    /* (drift - vol^2/2) * dt */
    double step_sigma; /* vol * sqrt(dt) */
    double units;      /* 10^px_dp: price units -> fixed point */
    double tick_px;    /* one tick in price units */
    double max_ticks;  /* the mid's ceiling, in ticks */
    int64_t tick, lot, max_lots;
    int64_t half_spread, spread; /* in ticks */
    uint64_t nq, nt;
};

struct feed_sim {
    struct rng rng;
    int have_spare;
    double spare; /* the cached second Box-Muller deviate */
    double trade_ratio;
    double interval_us;
    uint64_t count;
    int nsymbols;
    struct sim_symbol sym[];
};

/* Standard normal deviate (Box-Muller). */
static double normal_deviate(struct feed_sim *f)
{
    if (f->have_spare) {
        f->have_spare = 0;
        return f->spare;
    }
    double u1 = 1.0 - rng_uniform(&f->rng); /* (0, 1]: log stays finite */
    double u2 = rng_uniform(&f->rng);
    double r = sqrt(-2.0 * log(u1));
    double theta = TWO_PI * u2;
    f->spare = r * sin(theta);
    f->have_spare = 1;
    return r * cos(theta);
}

static int check_symbol(const struct feed_sim_config *cfg, int i, const struct instruments *ins,
                        struct err *e)
{
    const struct feed_sim_symbol *c = &cfg->symbols[i];
    if (c->sym < 0 || c->sym >= ins->n)
        return err_set(e, "feed_sim: symbols[%d]: unknown instrument id %d", i, c->sym);
    for (int j = 0; j < i; j++)
        if (cfg->symbols[j].sym == c->sym)
            return err_set(e, "feed_sim: symbol %s: listed twice", ins->v[c->sym].symbol);
    const struct instrument *in = &ins->v[c->sym];
    const char *name = in->symbol;
    double tick_px = (double)in->tick / (double)fx_pow10(in->px_dp);
    if (!isfinite(c->price) || c->price < tick_px)
        return err_set(e, "feed_sim: symbol %s: price must be at least one tick (%g) (got %g)",
                       name, tick_px, c->price);
    if (c->price * (double)fx_pow10(in->px_dp) > MAX_UNITS / 2)
        return err_set(e, "feed_sim: symbol %s: price too large for %d decimals (got %g)", name,
                       in->px_dp, c->price);
    if (!isfinite(c->drift))
        return err_set(e, "feed_sim: symbol %s: drift must be finite (got %g)", name, c->drift);
    if (!isfinite(c->vol) || c->vol < 0)
        return err_set(e, "feed_sim: symbol %s: vol must be >= 0 (got %g)", name, c->vol);
    if (c->spread_ticks < 1)
        return err_set(e, "feed_sim: symbol %s: spread_ticks must be >= 1 (got %d)", name,
                       c->spread_ticks);
    if ((double)c->spread_ticks * (double)in->tick > MAX_UNITS / 4)
        return err_set(e, "feed_sim: symbol %s: spread_ticks too large (got %d)", name,
                       c->spread_ticks);
    if (c->max_lots < 1)
        return err_set(e, "feed_sim: symbol %s: max_lots must be >= 1 (got %lld)", name,
                       (long long)c->max_lots);
    if (c->max_lots > INT64_MAX / in->lot)
        return err_set(e, "feed_sim: symbol %s: max_lots too large for lot %lld (got %lld)", name,
                       (long long)in->lot, (long long)c->max_lots);
    return 0;
}

static void init_symbol(struct sim_symbol *s, const struct feed_sim_symbol *c,
                        const struct instrument *in, double dt_years)
{
    s->sym = c->sym;
    s->mid = c->price;
    s->step_mu = (c->drift - c->vol * c->vol / 2) * dt_years;
    s->step_sigma = c->vol * sqrt(dt_years);
    s->units = (double)fx_pow10(in->px_dp);
    s->tick = in->tick;
    s->tick_px = (double)in->tick / s->units;
    s->max_ticks = floor(MAX_UNITS / 2 / (double)in->tick);
    s->lot = in->lot;
    s->max_lots = c->max_lots;
    s->spread = c->spread_ticks;
    s->half_spread = c->spread_ticks / 2;
    s->nq = s->nt = 0;
}

struct feed_sim *feed_sim_new(const struct feed_sim_config *cfg, const struct instruments *ins,
                              struct err *e)
{
    if (cfg->nsymbols < 1 || !cfg->symbols) {
        err_set(e, "feed_sim: at least one symbol is required (got %d)", cfg->nsymbols);
        return NULL;
    }
    if (cfg->nsymbols > INSTRUMENTS_MAX) {
        err_set(e, "feed_sim: at most %d symbols (got %d)", INSTRUMENTS_MAX, cfg->nsymbols);
        return NULL;
    }
    if (!isfinite(cfg->rate) || !(cfg->rate > 0)) {
        err_set(e, "feed_sim: rate must be > 0 events per second (got %g)", cfg->rate);
        return NULL;
    }
    if (!(cfg->trade_ratio >= 0 && cfg->trade_ratio <= 1)) {
        err_set(e, "feed_sim: trade_ratio must be in 0..1 (got %g)", cfg->trade_ratio);
        return NULL;
    }
    for (int i = 0; i < cfg->nsymbols; i++)
        if (check_symbol(cfg, i, ins, e) < 0) return NULL;

    double dt_years = (double)cfg->nsymbols / cfg->rate / SECONDS_PER_YEAR;
    struct feed_sim *f = xcalloc(1, sizeof *f + (size_t)cfg->nsymbols * sizeof(struct sim_symbol));
    for (int i = 0; i < cfg->nsymbols; i++) {
        const struct feed_sim_symbol *c = &cfg->symbols[i];
        init_symbol(&f->sym[i], c, &ins->v[c->sym], dt_years);
        if (!isfinite(f->sym[i].step_mu) || !isfinite(f->sym[i].step_sigma)) {
            err_set(e, "feed_sim: symbol %s: drift/vol too large for rate %g (vol %g)",
                    ins->v[c->sym].symbol, cfg->rate, c->vol);
            free(f);
            return NULL;
        }
    }
    rng_seed(&f->rng, cfg->seed);
    f->nsymbols = cfg->nsymbols;
    f->trade_ratio = cfg->trade_ratio;
    f->interval_us = MAX(1e6 / cfg->rate, 1.0);
    return f;
}

void feed_sim_free(struct feed_sim *f)
{
    free(f);
}

/* Advances s's mid by one GBM step and returns the published mid in ticks. */
static int64_t step_mid(struct feed_sim *f, struct sim_symbol *s)
{
    double z = normal_deviate(f);
    double mid = s->mid * exp(s->step_mu + s->step_sigma * z);
    if (!(mid >= s->tick_px)) mid = s->tick_px;
    if (mid > s->max_ticks * s->tick_px) mid = s->max_ticks * s->tick_px;
    s->mid = mid;
    double ticks = floor(mid / s->tick_px + 0.5);
    if (ticks < 1) ticks = 1;
    if (ticks > s->max_ticks) ticks = s->max_ticks;
    return (int64_t)ticks;
}

static int64_t random_size(struct feed_sim *f, const struct sim_symbol *s)
{
    return (int64_t)(rng_below(&f->rng, (uint64_t)s->max_lots) + 1) * s->lot;
}

void feed_sim_next(struct feed_sim *f, struct event *ev)
{
    struct sim_symbol *s = &f->sym[rng_below(&f->rng, (uint64_t)f->nsymbols)];
    int is_trade = rng_uniform(&f->rng) < f->trade_ratio;
    int64_t mid_ticks = step_mid(f, s);
    int64_t bid_ticks = MAX(mid_ticks - s->half_spread, (int64_t)1);
    int64_t bid = bid_ticks * s->tick, ask = (bid_ticks + s->spread) * s->tick;

    ev->seq = 0;
    ev->type = EV_MARKET_DATA;
    ev->ts_us = 0;
    util_strlcpy(ev->source, "feed_sim", sizeof ev->source);
    ev->data = NULL;
    ev->order = NULL;
    ev->pf = NULL;
    if (is_trade) {
        ev->md_kind = MD_TRADE;
        struct trade *t = &ev->u.trade;
        t->sym = s->sym;
        t->px = rng_uniform(&f->rng) < 0.5 ? bid : ask;
        t->qty = random_size(f, s);
        t->n = ++s->nt;
    } else {
        ev->md_kind = MD_QUOTE;
        struct quote *q = &ev->u.quote;
        q->sym = s->sym;
        q->bid_px = bid;
        q->ask_px = ask;
        q->bid_qty = random_size(f, s);
        q->ask_qty = random_size(f, s);
        q->n = ++s->nq;
    }
    f->count++;
}

uint64_t feed_sim_count(const struct feed_sim *f)
{
    return f->count;
}

double feed_sim_interval_us(const struct feed_sim *f)
{
    return f->interval_us;
}
