/* rest_input.c: strict reading of what a REST client sends (see rest_internal.h).
 *
 * The rules match the Lua API's (api_order.c): a member must have exactly the expected
 * JSON type ("10" is not a quantity), unknown members are refused (a typo must not
 * silently drop a stop price), and numbers must be finite (cJSON turns 1e999 into an
 * infinity). Values of the right type go on to the modules, whose own checks (risk's
 * field sanity, a strategy's declared parameters) decide the rest. Every refusal here
 * is a 400 that names the member; what the client sent is echoed only truncated. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "host.h"
#include "rest_internal.h"
#include "util.h"

int rest_check_keys(struct http_req *r, const cJSON *obj, const char *const *keys)
{
    for (const cJSON *m = obj ? obj->child : NULL; m; m = m->next) {
        const char *const *k = keys;
        while (*k && strcmp(*k, m->string) != 0) k++;
        if (!*k) {
            http_reply_error(r, 400, "bad_request", "unknown field \"%.64s\"", m->string);
            return -1;
        }
    }
    return 0;
}

/* The member, or NULL (absent or null); replies 400 when required and missing. */
static const cJSON *member(struct http_req *r, const cJSON *obj, const char *key, int required,
                           int *failed)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    *failed = 0;
    if (m && !cJSON_IsNull(m)) return m;
    if (required) {
        http_reply_error(r, 400, "bad_request", "field \"%s\" is required", key);
        *failed = 1;
    }
    return NULL;
}

int rest_number(struct http_req *r, const cJSON *obj, const char *key, int required, double *out)
{
    int failed;
    const cJSON *m = member(r, obj, key, required, &failed);
    if (!m) return failed ? -1 : 0;
    if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble)) {
        http_reply_error(r, 400, "bad_request", "field \"%s\" must be a finite number", key);
        return -1;
    }
    *out = m->valuedouble;
    return 1;
}

int rest_string(struct http_req *r, const cJSON *obj, const char *key, int required,
                const char **out)
{
    int failed;
    const cJSON *m = member(r, obj, key, required, &failed);
    if (!m) return failed ? -1 : 0;
    if (!cJSON_IsString(m) || !m->valuestring[0]) {
        http_reply_error(r, 400, "bad_request", "field \"%s\" must be a non-empty string", key);
        return -1;
    }
    *out = m->valuestring;
    return 1;
}

int rest_bool(struct http_req *r, const cJSON *obj, const char *key, int *out)
{
    int failed;
    const cJSON *m = member(r, obj, key, 0, &failed);
    if (!m) return 0;
    if (!cJSON_IsBool(m)) {
        http_reply_error(r, 400, "bad_request", "field \"%s\" must be true or false", key);
        return -1;
    }
    *out = cJSON_IsTrue(m);
    return 1;
}

int rest_symbol(struct http_req *r, const struct host *h, const char *s)
{
    if (!instrument_symbol_valid(s)) {
        http_reply_error(r, 400, "bad_request", "\"%.32s\" is not a symbol", s ? s : "");
        return -1;
    }
    int id = instruments_find(&h->instruments, s);
    if (id < 0) http_reply_error(r, 404, "not_found", "unknown symbol %s", s);
    return id;
}

int rest_query_types(struct http_req *r, const char *name, uint64_t *mask)
{
    const char *s = http_query(r, name);
    struct err e;
    *mask = 0;
    if (!s || event_types_parse(s, mask, &e) == 0) return 0;
    http_reply_error(r, 400, "bad_request", "query parameter %s: %s", name, e.msg);
    return -1;
}

int rest_query_symbols(struct http_req *r, const struct host *h, const char *name, int *syms,
                       int *nsyms)
{
    const char *s = http_query(r, name);
    struct err e;
    *nsyms = 0;
    if (!s || event_symbols_parse(s, &h->instruments, syms, nsyms, &e) == 0) return 0;
    http_reply_error(r, 400, "bad_request", "query parameter %s: %s", name, e.msg);
    return -1;
}
