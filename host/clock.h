/* clock.h: the host clock. Live it is wall time; in tests and backtests it is a
 * simulated clock that only its driver moves, forward. All host timestamps are epoch
 * microseconds UTC from this clock, so a backtest is deterministic. */
#ifndef LUATRADE_CLOCK_H
#define LUATRADE_CLOCK_H

#include <stdint.h>

enum clock_kind { CLOCK_KIND_WALL, CLOCK_KIND_SIM };

struct clock {
    enum clock_kind kind;
    int64_t sim_us; /* current simulated time (CLOCK_KIND_SIM only) */
};

void clock_init_wall(struct clock *c);
void clock_init_sim(struct clock *c, int64_t start_us);
/* Current time in epoch microseconds. */
int64_t clock_now_us(const struct clock *c);
/* Moves a simulated clock to t (never backwards: an earlier t is ignored). */
void clock_advance_to(struct clock *c, int64_t t_us);
/* Adapter for log_set_clock. */
int64_t clock_now_cb(void *clock);

#endif
