/* strset.c: see strset.h. Slots hold owned strings or NULL; table sizes are powers of
 * two and at most half full, so a probe always ends at an empty slot.
 *
 * Incremental growth: when an add takes the table past half full, it becomes the old
 * table and a table twice its size (empty; calloc of this size is fresh zero pages, not
 * a memset) takes new strings. Every later add then moves the strings of the next
 * STRSET_REHASH_STEP old slots into the new table, until the old table is drained and
 * freed. The old table is left intact while it drains (its probe chains must stay
 * whole), so a string can be in both: old slots below `moved` are already copied, and
 * only the copy in the new table is freed.
 *
 * Invariants: lookups search the new table, then the old one, so every string is found
 * throughout. The new table holds at most n, and growth begins at n = cap/2 + 1 of
 * the old cap; the drain takes cap/STEP adds, so the new table (2 cap slots) holds at
 * most cap/2 + 1 + cap/STEP < cap strings by then: still at most half full, and the
 * next growth (at n > cap) cannot begin before the drain ends. */
#include "strset.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct table {
    char **slot;
    size_t cap;
};

struct strset {
    struct table cur, old; /* old.slot: NULL unless a growth is draining it */
    size_t moved;          /* old slots [0, moved) are already in cur */
    size_t n;
    size_t max_step;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct strset *strset_new(void)
{
    struct strset *s = xcalloc(1, sizeof *s);
    s->cur.cap = 64;
    s->cur.slot = xcalloc(s->cur.cap, sizeof *s->cur.slot);
    return s;
}

void strset_free(struct strset *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->cur.cap; i++) free(s->cur.slot[i]);
    if (s->old.slot)
        for (size_t i = s->moved; i < s->old.cap; i++) free(s->old.slot[i]);
    free(s->cur.slot);
    free(s->old.slot);
    free(s);
}

/* The slot holding str, or the empty slot where it would go. */
static size_t find(const struct table *t, const char *str)
{
    size_t i = (size_t)hash(str) & (t->cap - 1);
    while (t->slot[i] && strcmp(t->slot[i], str) != 0) i = (i + 1) & (t->cap - 1);
    return i;
}

static bool table_has(const struct table *t, const char *str)
{
    return t->slot && t->slot[find(t, str)] != NULL;
}

/* Moves the strings of the next STRSET_REHASH_STEP old slots; frees a drained old table. */
static void drain_step(struct strset *s)
{
    size_t end = MIN(s->moved + STRSET_REHASH_STEP, s->old.cap);
    s->max_step = MAX(s->max_step, end - s->moved);
    for (; s->moved < end; s->moved++) {
        char *str = s->old.slot[s->moved];
        if (str) s->cur.slot[find(&s->cur, str)] = str;
    }
    if (s->moved < s->old.cap) return;
    free(s->old.slot);
    s->old = (struct table){NULL, 0};
}

static void grow_begin(struct strset *s)
{
    ASSERT(s->old.slot == NULL); /* the last drain ended long before: see the top */
    s->old = s->cur;
    s->moved = 0;
    s->cur.cap = s->old.cap * 2;
    s->cur.slot = xcalloc(s->cur.cap, sizeof *s->cur.slot);
}

int strset_add(struct strset *s, const char *str)
{
    size_t i = find(&s->cur, str);
    if (s->cur.slot[i] || table_has(&s->old, str)) return 0;
    s->cur.slot[i] = xstrdup(str);
    s->n++;
    if (s->old.slot) drain_step(s);
    else if (s->n * 2 > s->cur.cap) grow_begin(s);
    return 1;
}

int strset_has(const struct strset *s, const char *str)
{
    return table_has(&s->cur, str) || table_has(&s->old, str);
}

size_t strset_count(const struct strset *s)
{
    return s->n;
}

void strset_stats(const struct strset *s, struct strset_stats *out)
{
    *out = (struct strset_stats){s->cur.cap, s->old.cap, s->max_step};
}
