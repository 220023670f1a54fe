/* feed_sim.h: a seeded market simulator for several symbols.
 *
 * Each symbol's mid price follows geometric Brownian motion,
 *   S(t+dt) = S(t) * exp((drift - vol^2/2) dt + vol sqrt(dt) Z),   Z ~ N(0,1),
 * with drift and vol annualized (dt in years of 365.25 days), rounded to the symbol's
 * tick. Around the mid it quotes a spread of `spread_ticks` ticks and prints trades at
 * the bid or ask with random sizes in lots. The generator is a pure function of its
 * seed and configuration: the same seed gives the same stream of symbols, prices and
 * sizes on every machine (a private PRNG, no libc rand, no libm differences beyond
 * IEEE-754 exp/log/sqrt/cos). Timing is the driver's business: live, the host paces
 * events at `rate` per second; simulated, event i is stamped start + i/rate.
 *
 * Every event carries its per-symbol sequence n for its kind (quotes and trades are
 * numbered separately, from 1). */
#ifndef LUATRADE_FEED_SIM_H
#define LUATRADE_FEED_SIM_H

#include <stdint.h>

#include "err.h"
#include "event.h"
#include "instrument.h"

struct feed_sim_symbol {
    int sym;          /* instrument id */
    double price;     /* starting mid price, > 0 */
    double drift;     /* annualized drift, e.g. 0.05 */
    double vol;       /* annualized volatility, >= 0, e.g. 0.25 */
    int spread_ticks; /* quoted spread in ticks, >= 1 */
    int64_t max_lots; /* trade and quote sizes are 1..max_lots lots, >= 1 */
};

struct feed_sim_config {
    uint64_t seed;
    double rate;        /* events per second over all symbols, > 0 */
    double trade_ratio; /* fraction of events that are trades, 0..1 */
    struct feed_sim_symbol *symbols;
    int nsymbols; /* >= 1 */
};

struct feed_sim;

/* Validates the configuration and creates a generator. The instrument registry must
 * outlive it. Returns NULL and fills e on invalid configuration. */
struct feed_sim *feed_sim_new(const struct feed_sim_config *cfg, const struct instruments *ins,
                              struct err *e);
void feed_sim_free(struct feed_sim *f);

/* Fills ev with the next market-data event (type, md_kind, quote or trade, source
 * "feed_sim"); seq and ts_us are left 0 for the bus and the driver. */
void feed_sim_next(struct feed_sim *f, struct event *ev);

/* Events generated so far. */
uint64_t feed_sim_count(const struct feed_sim *f);
/* Interval between events in microseconds (1e6 / rate, at least 1). */
double feed_sim_interval_us(const struct feed_sim *f);

#endif
