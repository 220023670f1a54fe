/* strset.h: a set of short strings (open addressing, FNV-1a, grows at 50% load), for
 * deduplicating ids such as fill exec ids. The set owns copies of its strings. */
#ifndef LUATRADE_STRSET_H
#define LUATRADE_STRSET_H

#include <stddef.h>

struct strset;

struct strset *strset_new(void);
void strset_free(struct strset *s);
/* Adds s. Returns 1 when added, 0 when it was already there. */
int strset_add(struct strset *s, const char *str);
int strset_has(const struct strset *s, const char *str);
size_t strset_count(const struct strset *s);

#endif
