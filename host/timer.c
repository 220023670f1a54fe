/* timer.c: the timer queue behind timer.h.
 *
 * Timers live in a slot array (struct timer); the heap is an array of slot indices
 * ordered by (due_us, seq), seq being the creation order, so ties fire first-created
 * first. A timer id encodes its slot and that slot's generation, (gen << 32) | slot, so
 * looking an id up is O(1) and a stale id (fired, cancelled, slot reused) never matches.
 * Cancel is then O(log n): swap with the last heap entry and sift. Once warm, adding and
 * firing timers allocates nothing (slots go back on a free list).
 *
 * Invariants (the unit test checks them against a reference model):
 * - a slot is live iff heap_idx >= 0, and then heap[heap_idx] == slot;
 * - every live slot's gen is nonzero; a slot's gen changes every time it is freed;
 * - heap[0] has the smallest (due_us, seq).
 *
 * Firing: the earliest due timer is taken off the top. A one-shot is freed before its
 * callback runs, so cancelling its own id from the callback returns -1 ("already
 * fired"). A periodic timer is rescheduled before its callback runs, to the first
 * due + k * period strictly after now, so it stays cancellable from its own callback
 * and fires at most once per run_due however long the loop stalled. Callbacks may add
 * and cancel anything: the slot array may move, so nothing holds a slot pointer across
 * a callback. A periodic timer whose next due would pass INT64_MAX is retired like a
 * one-shot. A callback that keeps adding timers due at or before now keeps the run
 * going; that is the caller's choice.
 *
 * Notify: add and cancel notify when the top of the heap changed. Inside run_due those
 * are deferred and run_due notifies exactly once at its end, whatever happened, so a
 * live driver whose libevent timer fired a little early always gets to re-arm. */
#include "timer.h"

#include <stdint.h>
#include <stdlib.h>

#include "util.h"

struct timer {
    int64_t due_us;
    int64_t period_us; /* > 0 for periodic timers, 0 for one-shots */
    uint64_t seq;      /* creation order, the tie-breaker */
    timer_fn fn;
    void *arg;
    uint32_t gen;
    int32_t heap_idx;   /* -1 when the slot is free */
    uint32_t next_free; /* free-list link when free */
};

#define NO_SLOT UINT32_MAX

struct timerq {
    struct timer *slots;
    uint32_t nslots, cap_slots;
    uint32_t free_head;
    uint32_t *heap; /* slot indices; capacity cap_slots */
    uint32_t nheap;
    uint64_t next_seq;
    int running;
    void (*notify)(void *arg);
    void *notify_arg;
};

struct timerq *timerq_new(void)
{
    struct timerq *q = xcalloc(1, sizeof *q);
    q->free_head = NO_SLOT;
    return q;
}

void timerq_free(struct timerq *q)
{
    if (!q) return;
    ASSERT(!q->running);
    free(q->slots);
    free(q->heap);
    free(q);
}

static uint64_t make_id(uint32_t slot, uint32_t gen)
{
    return ((uint64_t)gen << 32) | slot;
}

/* The live slot for id, or NO_SLOT. */
static uint32_t slot_of(const struct timerq *q, uint64_t id)
{
    uint32_t slot = (uint32_t)id, gen = (uint32_t)(id >> 32);
    if (gen == 0 || slot >= q->nslots) return NO_SLOT;
    const struct timer *t = &q->slots[slot];
    if (t->gen != gen || t->heap_idx < 0) return NO_SLOT;
    return slot;
}

static int earlier(const struct timerq *q, uint32_t a, uint32_t b)
{
    const struct timer *ta = &q->slots[a], *tb = &q->slots[b];
    if (ta->due_us != tb->due_us) return ta->due_us < tb->due_us;
    return ta->seq < tb->seq;
}

static void heap_set(struct timerq *q, uint32_t i, uint32_t slot)
{
    q->heap[i] = slot;
    q->slots[slot].heap_idx = (int32_t)i;
}

static void sift_up(struct timerq *q, uint32_t i)
{
    uint32_t slot = q->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!earlier(q, slot, q->heap[parent])) break;
        heap_set(q, i, q->heap[parent]);
        i = parent;
    }
    heap_set(q, i, slot);
}

static void sift_down(struct timerq *q, uint32_t i)
{
    uint32_t slot = q->heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= q->nheap) break;
        if (child + 1 < q->nheap && earlier(q, q->heap[child + 1], q->heap[child])) child++;
        if (!earlier(q, q->heap[child], slot)) break;
        heap_set(q, i, q->heap[child]);
        i = child;
    }
    heap_set(q, i, slot);
}

/* Restores heap order after slot's key changed or it was just placed at heap_idx. */
static void heap_fix(struct timerq *q, uint32_t i)
{
    if (i > 0 && earlier(q, q->heap[i], q->heap[(i - 1) / 2])) sift_up(q, i);
    else sift_down(q, i);
}

/* Takes the entry at heap index i out of the heap and frees its slot. */
static void heap_remove(struct timerq *q, uint32_t i)
{
    ASSERT(i < q->nheap);
    uint32_t slot = q->heap[i];
    uint32_t last = q->heap[--q->nheap];
    if (i < q->nheap) {
        heap_set(q, i, last);
        heap_fix(q, i);
    }
    struct timer *t = &q->slots[slot];
    t->heap_idx = -1;
    t->fn = NULL;
    t->arg = NULL;
    if (++t->gen == 0) t->gen = 1; /* 0 would make id 0 possible and never matches */
    t->next_free = q->free_head;
    q->free_head = slot;
}

static uint32_t slot_alloc(struct timerq *q)
{
    if (q->free_head != NO_SLOT) {
        uint32_t slot = q->free_head;
        q->free_head = q->slots[slot].next_free;
        return slot;
    }
    if (q->nslots == q->cap_slots) {
        ASSERT(q->cap_slots < (uint32_t)INT32_MAX / 2);
        uint32_t cap = q->cap_slots ? q->cap_slots * 2 : 16;
        q->slots = xrealloc(q->slots, cap * sizeof *q->slots);
        q->heap = xrealloc(q->heap, cap * sizeof *q->heap);
        q->cap_slots = cap;
    }
    uint32_t slot = q->nslots++;
    q->slots[slot].gen = 1;
    return slot;
}

static void notify(struct timerq *q)
{
    if (q->notify && !q->running) q->notify(q->notify_arg);
}

uint64_t timerq_add(struct timerq *q, int64_t due_us, int64_t period_us, timer_fn fn, void *arg)
{
    ASSERT(fn != NULL);
    uint32_t slot = slot_alloc(q);
    struct timer *t = &q->slots[slot];
    t->due_us = due_us;
    t->period_us = period_us > 0 ? period_us : 0;
    t->seq = q->next_seq++;
    t->fn = fn;
    t->arg = arg;
    uint32_t i = q->nheap++;
    heap_set(q, i, slot);
    sift_up(q, i);
    if (q->heap[0] == slot) notify(q);
    return make_id(slot, t->gen);
}

int timerq_cancel(struct timerq *q, uint64_t id)
{
    uint32_t slot = slot_of(q, id);
    if (slot == NO_SLOT) return -1;
    int was_top = q->slots[slot].heap_idx == 0;
    heap_remove(q, (uint32_t)q->slots[slot].heap_idx);
    if (was_top) notify(q);
    return 0;
}

int64_t timerq_next_due(const struct timerq *q)
{
    return q->nheap ? q->slots[q->heap[0]].due_us : INT64_MAX;
}

int timerq_count(const struct timerq *q)
{
    return (int)q->nheap;
}

/* Sets *next_us to the first due + k * period (k >= 1) strictly after now_us. Returns -1
 * when that is past INT64_MAX: such a timer can never fire again. */
static int next_period_due(int64_t due_us, int64_t period_us, int64_t now_us, int64_t *next_us)
{
    int64_t k = 1, step;
    if (now_us >= due_us)
        k = (int64_t)(((uint64_t)now_us - (uint64_t)due_us) / (uint64_t)period_us) + 1;
    if (__builtin_mul_overflow(k, period_us, &step) ||
        __builtin_add_overflow(due_us, step, next_us))
        return -1;
    return 0;
}

int timerq_run_due(struct timerq *q, int64_t now_us)
{
    ASSERT(!q->running); /* run_due from inside a timer callback is a bug */
    q->running = 1;
    int fired = 0;
    while (q->nheap > 0) {
        uint32_t slot = q->heap[0];
        struct timer *t = &q->slots[slot];
        if (t->due_us > now_us) break;
        timer_fn fn = t->fn;
        void *arg = t->arg;
        uint64_t id = make_id(slot, t->gen);
        int64_t next_us;
        if (t->period_us > 0 && next_period_due(t->due_us, t->period_us, now_us, &next_us) == 0) {
            t->due_us = next_us;
            sift_down(q, 0);
        } else {
            heap_remove(q, 0);
        }
        fired++;
        fn(arg, id); /* may add or cancel; t is stale from here on */
    }
    q->running = 0;
    notify(q);
    return fired;
}

void timerq_set_notify(struct timerq *q, void (*fn)(void *arg), void *arg)
{
    q->notify = fn;
    q->notify_arg = arg;
}
