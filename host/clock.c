/* clock.c: the host clock (see clock.h). Wall time comes from CLOCK_REALTIME; a
 * simulated clock holds the time its driver last set and never moves backwards. */
#include "clock.h"

#include "util.h"

void clock_init_wall(struct clock *c)
{
    c->kind = CLOCK_KIND_WALL;
    c->sim_us = 0;
}

void clock_init_sim(struct clock *c, int64_t start_us)
{
    c->kind = CLOCK_KIND_SIM;
    c->sim_us = start_us;
}

int64_t clock_now_us(const struct clock *c)
{
    return c->kind == CLOCK_KIND_SIM ? c->sim_us : wall_us();
}

void clock_advance_to(struct clock *c, int64_t t_us)
{
    if (c->kind == CLOCK_KIND_SIM && t_us > c->sim_us) c->sim_us = t_us;
}

int64_t clock_now_cb(void *clock)
{
    return clock_now_us(clock);
}
