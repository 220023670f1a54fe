/* log_ring.h: the last log lines, for the web page's log tail (GET /api/logs) and later
 * the console's tail(). The ring installs itself as the log tail (log_set_tail, log.h) and copies
 * every written line into a fixed slot; lines are numbered from 1. Lines may come from
 * any thread (the watchdog logs too), so the ring has a mutex; readers run on the loop
 * thread. */
#ifndef LUATRADE_LOG_RING_H
#define LUATRADE_LOG_RING_H

#include <stdint.h>

#include "log.h"

struct log_ring;

/* cap: lines kept (>= 1). Becomes the log tail until freed. */
struct log_ring *log_ring_new(int cap);
/* Removes the tail and frees. NULL is a no-op. */
void log_ring_free(struct log_ring *r);

/* Number of the last line written (0 before the first). */
uint64_t log_ring_last(struct log_ring *r);
/* Calls fn for each held line numbered > after, oldest first, at most max (max <= 0: the
 * newest cap). When after is 0 and max > 0, the newest max lines. Returns the number of
 * the last line passed (after when none). fn must not log. */
typedef void (*log_ring_fn)(uint64_t n, enum log_level lvl, const char *line, void *arg);
uint64_t log_ring_scan(struct log_ring *r, uint64_t after, int max, log_ring_fn fn, void *arg);

#endif
