/* log_ring.c: the last log lines (see log_ring.h). Slots are fixed-size (a log line is
 * cut at LOG_RING_LINE bytes; the log file keeps them whole), allocated once;
 * writing a line is a memcpy under the mutex. A reader copies what it wants under the
 * same mutex, then calls fn outside it, so fn may take its time (or log, which would
 * otherwise deadlock). */
#include "log_ring.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define LOG_RING_LINE 1024

struct slot {
    uint64_t n;
    enum log_level lvl;
    char line[LOG_RING_LINE];
};

struct log_ring {
    pthread_mutex_t mu;
    struct slot *slots;
    int cap;
    uint64_t last;
};

static void on_line(enum log_level lvl, const char *line, void *arg)
{
    struct log_ring *r = arg;
    pthread_mutex_lock(&r->mu);
    struct slot *s = &r->slots[r->last % (uint64_t)r->cap];
    s->n = ++r->last;
    s->lvl = lvl;
    util_strlcpy(s->line, line, sizeof s->line);
    pthread_mutex_unlock(&r->mu);
}

struct log_ring *log_ring_new(int cap)
{
    ASSERT(cap >= 1);
    struct log_ring *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->slots = xcalloc((size_t)cap, sizeof *r->slots);
    r->cap = cap;
    log_set_tail(on_line, r);
    return r;
}

void log_ring_free(struct log_ring *r)
{
    if (!r) return;
    log_set_tail(NULL, NULL);
    pthread_mutex_destroy(&r->mu);
    free(r->slots);
    free(r);
}

uint64_t log_ring_last(struct log_ring *r)
{
    pthread_mutex_lock(&r->mu);
    uint64_t last = r->last;
    pthread_mutex_unlock(&r->mu);
    return last;
}

uint64_t log_ring_scan(struct log_ring *r, uint64_t after, int max, log_ring_fn fn, void *arg)
{
    pthread_mutex_lock(&r->mu);
    uint64_t first = r->last > (uint64_t)r->cap ? r->last - (uint64_t)r->cap + 1 : 1;
    if (after == 0 && max > 0 && r->last > (uint64_t)max) after = r->last - (uint64_t)max;
    uint64_t from = MAX(after + 1, first);
    uint64_t to = r->last;
    if (max > 0 && to >= from && to - from + 1 > (uint64_t)max) to = from + (uint64_t)max - 1;
    int n = to >= from ? (int)(to - from + 1) : 0;
    struct slot *copy = n ? xmalloc((size_t)n * sizeof *copy) : NULL;
    for (int i = 0; i < n; i++) copy[i] = r->slots[(from + (uint64_t)i - 1) % (uint64_t)r->cap];
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < n; i++) fn(copy[i].n, copy[i].lvl, copy[i].line, arg);
    free(copy);
    return n ? to : after;
}
