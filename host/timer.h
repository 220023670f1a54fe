/* timer.h: timers on the host clock.
 *
 * A timer queue is a binary min-heap of (due time, creation order). It does not know
 * how time passes: the driver calls timerq_run_due with the current host time, live
 * from a libevent timer armed for timerq_next_due, simulated from the backtest loop.
 * Timers with equal due times fire in creation order, so runs are deterministic.
 * Callbacks may add and cancel timers, including their own. A periodic timer that fell
 * behind (a stalled loop) fires once and is rescheduled to its next period after now:
 * live timers never burst. */
#ifndef LUATRADE_TIMER_H
#define LUATRADE_TIMER_H

#include <stdint.h>

typedef void (*timer_fn)(void *arg, uint64_t id);

struct timerq;

struct timerq *timerq_new(void);
void timerq_free(struct timerq *q);

/* Schedules fn(arg, id) at due_us, then every period_us if period_us > 0.
 * Returns the timer id (never 0). */
uint64_t timerq_add(struct timerq *q, int64_t due_us, int64_t period_us, timer_fn fn, void *arg);
/* Cancels a pending timer. Returns 0, or -1 if id is unknown or already fired (one-shot). */
int timerq_cancel(struct timerq *q, uint64_t id);
/* Due time of the earliest timer, or INT64_MAX when empty. */
int64_t timerq_next_due(const struct timerq *q);
/* Fires every timer due at or before now_us, in (due, creation) order. Returns the
 * number fired. A timer added during the run with due <= now_us fires in the same run. */
int timerq_run_due(struct timerq *q, int64_t now_us);
/* Number of pending timers. */
int timerq_count(const struct timerq *q);

/* Called whenever the earliest due time may have changed (add, cancel, run), so a live
 * driver can re-arm its libevent timer. NULL to remove. */
void timerq_set_notify(struct timerq *q, void (*fn)(void *arg), void *arg);

#endif
