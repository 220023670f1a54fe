/* rest_internal.h: what the rest_*.c files share: strict reading of request bodies and
 * query lists (each helper replies 400 itself and returns -1, so a handler just
 * returns), and the "recent events" reply. Not a public contract: host.c uses rest.h. */
#ifndef LUATRADE_REST_INTERNAL_H
#define LUATRADE_REST_INTERNAL_H

#include <stdint.h>

#include "event_log.h"
#include "http.h"

struct cJSON;
struct host;

#define REST_LIST_MAX EVENT_LIST_MAX /* names in a comma-separated query list */

/* --- rest_input.c --- */

/* Refuses (400) a member of obj whose name is not in keys (NULL-terminated). */
int rest_check_keys(struct http_req *r, const struct cJSON *obj, const char *const *keys);
/* obj.key as a finite number. Returns 1 when present, 0 when absent (400 when
 * required), -1 after replying 400 (wrong type, NaN or an infinity such as 1e999). */
int rest_number(struct http_req *r, const struct cJSON *obj, const char *key, int required,
                double *out);
/* obj.key as a string (not empty): the same returns. *out is owned by obj. */
int rest_string(struct http_req *r, const struct cJSON *obj, const char *key, int required,
                const char **out);
/* obj.key as true/false: the same returns. */
int rest_bool(struct http_req *r, const struct cJSON *obj, const char *key, int *out);

/* The instrument named by path parameter or query value s: its id, or -1 after
 * replying 404 (unknown) or 400 (not a symbol). */
int rest_symbol(struct http_req *r, const struct host *h, const char *s);
/* Query parameter name as a comma-separated list of event types (into *mask) or
 * symbols (into syms, at most REST_LIST_MAX). Absent: 0 / none. Returns 0 or -1 (400). */
int rest_query_types(struct http_req *r, const char *name, uint64_t *mask);
int rest_query_symbols(struct http_req *r, const struct host *h, const char *name, int *syms,
                       int *nsyms);

/* --- rest_events.c --- */

/* Replies {key: [EVENT...]}: the newest ?limit=N (default 100) held events of the types
 * in mask, oldest first, filtered by ?symbols=. */
void rest_reply_recent(struct http_req *r, struct host *h, const char *key, uint64_t mask);

#endif
