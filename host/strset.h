/* strset.h: a set of short strings (open addressing, FNV-1a, grows at 50% load), for
 * deduplicating ids such as fill exec ids. The set owns copies of its strings.
 *
 * Growth is incremental: no add moves more than STRSET_REHASH_STEP strings (no
 * stop-the-world rehash at hundreds of thousands of ids). */
#ifndef LUATRADE_STRSET_H
#define LUATRADE_STRSET_H

#include <stddef.h>

/* Slots of the old table an add moves at most while the set grows. */
#define STRSET_REHASH_STEP 16

struct strset;

struct strset *strset_new(void);
void strset_free(struct strset *s);
/* Adds s. Returns 1 when added, 0 when it was already there. */
int strset_add(struct strset *s, const char *str);
int strset_has(const struct strset *s, const char *str);
size_t strset_count(const struct strset *s);

/* For tests: the table sizes (old_cap 0 unless a growth is in progress) and the most old
 * slots any single add has visited so far. */
struct strset_stats {
    size_t cap, old_cap, max_step;
};
void strset_stats(const struct strset *s, struct strset_stats *out);

#endif
