/* strset.c: see strset.h. Slots hold owned strings or NULL; the table size is a power
 * of two and at most half full, so a probe always ends at an empty slot. */
#include "strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct strset {
    char **slot;
    size_t cap, n;
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
    s->cap = 64;
    s->slot = xcalloc(s->cap, sizeof *s->slot);
    return s;
}

void strset_free(struct strset *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->cap; i++) free(s->slot[i]);
    free(s->slot);
    free(s);
}

static size_t find(char *const *slot, size_t cap, const char *str)
{
    size_t i = (size_t)hash(str) & (cap - 1);
    while (slot[i] && strcmp(slot[i], str) != 0) i = (i + 1) & (cap - 1);
    return i;
}

static void grow(struct strset *s)
{
    size_t cap = s->cap * 2;
    char **slot = xcalloc(cap, sizeof *slot);
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i]) slot[find(slot, cap, s->slot[i])] = s->slot[i];
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
}

int strset_add(struct strset *s, const char *str)
{
    size_t i = find(s->slot, s->cap, str);
    if (s->slot[i]) return 0;
    s->slot[i] = xstrdup(str);
    if (++s->n * 2 > s->cap) grow(s);
    return 1;
}

int strset_has(const struct strset *s, const char *str)
{
    return s->slot[find(s->slot, s->cap, str)] != NULL;
}

size_t strset_count(const struct strset *s)
{
    return s->n;
}
