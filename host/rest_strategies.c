/* rest_strategies.c: strategy instances over REST (docs/api.md):
 *
 *   GET   /api/strategies                 every instance (STRATEGY objects)
 *   POST  /api/strategies                 add one {script, id?, params?, symbols?, start?}
 *   GET   /api/strategies/:id             one
 *   POST  /api/strategies/:id/start|stop|reload
 *   PATCH /api/strategies/:id/params      {name: value, ...}
 *
 * Each action is the one the console and the file watcher use (strategies_create,
 * strategy_start/stop, strategy_reload, strategy_set_params; strategy.h), called on the
 * loop between two events. A new instance's script must lie under the scripts
 * directory or beside the script of an instance the host runs (the directories the
 * file watcher covers, so it hot-reloads; and an API client must not make the host
 * read arbitrary files). A failed reload answers 409 reload_failed with "file:line: message" and
 * leaves the old version running. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "host.h"
#include "param.h"
#include "rest.h"
#include "rest_internal.h"
#include "strategy.h"
#include "util.h"

/* The instance named by :id, or NULL after replying 404. */
static struct strategy *find(struct http_req *r, struct host *h)
{
    const char *id = http_param(r, "id");
    struct strategy *st = id ? strategies_find(h->strategies, id) : NULL;
    if (!st) http_reply_error(r, 404, "not_found", "no strategy \"%.64s\"", id ? id : "");
    return st;
}

static void list(struct http_req *r, void *arg)
{
    struct host *h = arg;
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "strategies");
    for (int i = 0; i < strategies_count(h->strategies); i++)
        cJSON_AddItemToArray(a, strategy_json(strategies_at(h->strategies, i)));
    http_reply_json(r, 200, o);
}

static void get(struct http_req *r, void *arg)
{
    struct strategy *st = find(r, arg);
    if (st) http_reply_json(r, 200, strategy_json(st));
}

/* ---- bodies ------------------------------------------------------------------------ */

/* A JSON object of name: number|string|boolean into ps. Returns 0 or -1 (replied). */
static int read_params(struct http_req *r, const cJSON *obj, struct params *ps)
{
    ps->v = NULL;
    ps->n = 0;
    if (!cJSON_IsObject(obj)) {
        http_reply_error(r, 400, "bad_request", "params must be an object of name: value");
        return -1;
    }
    for (const cJSON *m = obj->child; m; m = m->next) {
        struct param p = {0};
        if (!m->string[0] || strlen(m->string) >= PARAM_NAME_MAX) {
            http_reply_error(r, 400, "bad_request", "parameter names are 1-%d bytes",
                             PARAM_NAME_MAX - 1);
            goto fail;
        }
        util_strlcpy(p.name, m->string, sizeof p.name);
        if (cJSON_IsNumber(m) && isfinite(m->valuedouble))
            p.type = PARAM_NUMBER, p.num = m->valuedouble;
        else if (cJSON_IsBool(m)) p.type = PARAM_BOOL, p.b = cJSON_IsTrue(m);
        else if (cJSON_IsString(m)) p.type = PARAM_STRING, p.str = m->valuestring;
        else {
            http_reply_error(r, 400, "bad_request",
                             "parameter \"%s\": a finite number, a string or a boolean expected",
                             p.name);
            goto fail;
        }
        params_set(ps, &p); /* copies the string */
    }
    return 0;
fail:
    params_free(ps);
    return -1;
}

/* 1 when the real path real lies in directory dir: at any depth, or (nested 0) as one
 * of its files. */
static int dir_holds(const char *dir, const char *real, int nested)
{
    char rdir[PATH_MAX];
    if (!realpath(dir, rdir)) return 0;
    size_t n = strlen(rdir);
    if (strncmp(rdir, real, n) != 0 || real[n] != '/') return 0;
    return nested || !strchr(real + n + 1, '/');
}

/* The script must be a .lua file in a directory the file watcher covers: under the
 * scripts directory (watched recursively) or beside the script of an instance the host
 * runs. Returns 0 or -1 (replied 400). */
static int script_allowed(struct http_req *r, struct host *h, const char *script)
{
    size_t n = strlen(script);
    char real[PATH_MAX];
    if (n < 5 || strcmp(script + n - 4, ".lua") != 0) {
        http_reply_error(r, 400, "bad_request", "script: a .lua file expected");
        return -1;
    }
    if (!realpath(script, real)) {
        http_reply_error(r, 400, "bad_request", "script %.200s: %s", script, strerror(errno));
        return -1;
    }
    if (dir_holds(h->scripts_dir, real, 1)) return 0;
    for (int i = 0; i < strategies_count(h->strategies); i++) {
        char dir[PATH_MAX];
        strategy_script_dir(strategies_at(h->strategies, i), dir, sizeof dir);
        if (dir_holds(dir, real, 0)) return 0;
    }
    http_reply_error(r, 400, "bad_request",
                     "script %.200s: not under the scripts directory or beside a running "
                     "strategy's script",
                     script);
    return -1;
}

static int id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= DECL_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
            c != '_' && c != '-' && c != '.')
            return 0;
    }
    return 1;
}

/* symbols: an array of strings (their names are checked by strategies_add). */
static int read_symbols(struct http_req *r, const cJSON *body, const char ***out, int *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, "symbols");
    *out = NULL;
    *n = 0;
    if (!a || cJSON_IsNull(a)) return 0;
    int len = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (len < 1 || len > INSTRUMENTS_MAX) {
        http_reply_error(r, 400, "bad_request", "symbols must be a non-empty array of symbols");
        return -1;
    }
    *out = xcalloc((size_t)len, sizeof **out);
    for (const cJSON *m = a->child; m; m = m->next) {
        if (!cJSON_IsString(m)) {
            http_reply_error(r, 400, "bad_request", "symbols must be strings");
            free(*out);
            return -1;
        }
        (*out)[(*n)++] = m->valuestring;
    }
    return 0;
}

/* ---- actions ------------------------------------------------------------------------ */

static int create_start(struct http_req *r, struct strategy *st, int start)
{
    struct err e;
    if (!start || strategy_start(st, &e) == 0) return 0;
    /* the instance exists (faulted): 201 with its status and last_error says what failed */
    http_audit_note(r, "start failed: %.200s", e.msg);
    return -1;
}

static void create(struct http_req *r, void *arg)
{
    struct host *h = arg;
    static const char *const keys[] = {"script", "id", "params", "symbols", "start", NULL};
    cJSON *body = http_body_json(r, 1);
    const char *script = NULL, *id = NULL;
    int start = 1;
    if (!body || rest_check_keys(r, body, keys) || rest_string(r, body, "script", 1, &script) < 0 ||
        rest_string(r, body, "id", 0, &id) < 0 || rest_bool(r, body, "start", &start) < 0)
        return;
    if (id && !id_valid(id)) {
        http_reply_error(r, 400, "bad_request",
                         "id must be 1-63 characters of letters, digits, _ - .");
        return;
    }
    if (id && strategies_find(h->strategies, id)) {
        http_reply_error(r, 409, "conflict", "strategy \"%s\" exists", id);
        return;
    }
    if (script_allowed(r, h, script) != 0) return;
    struct params ps = {0};
    const cJSON *pj = cJSON_GetObjectItemCaseSensitive(body, "params");
    if (pj && !cJSON_IsNull(pj) && read_params(r, pj, &ps) != 0) return;
    const char **syms;
    int nsyms;
    if (read_symbols(r, body, &syms, &nsyms) != 0) {
        params_free(&ps);
        return;
    }
    struct strategy_spec spec = {id, script, syms, nsyms, &ps, NULL};
    struct err e;
    struct strategy *st = strategies_create(h->strategies, &spec, &e);
    params_free(&ps);
    free(syms);
    if (!st) {
        http_reply_err(r, 400, "bad_request", &e);
        return;
    }
    http_audit_note(r, "strategy=%s", strategy_id(st));
    create_start(r, st, start);
    http_reply_json(r, 201, strategy_json(st));
}

static void start(struct http_req *r, void *arg)
{
    struct strategy *st = find(r, arg);
    struct err e;
    if (!st) return;
    if (strategy_start(st, &e) != 0) {
        http_reply_err(r, 409, "conflict", &e);
        return;
    }
    http_reply_json(r, 200, strategy_json(st));
}

static void stop(struct http_req *r, void *arg)
{
    struct strategy *st = find(r, arg);
    if (!st) return;
    strategy_stop(st, "api");
    http_reply_json(r, 200, strategy_json(st));
}

static void reload(struct http_req *r, void *arg)
{
    struct strategy *st = find(r, arg);
    struct err e;
    if (!st) return;
    if (strategy_reload(st, &e) != 0) {
        http_reply_err(r, 409, "reload_failed", &e);
        return;
    }
    http_audit_note(r, "version=%u", strategy_version(st));
    http_reply_json(r, 200, strategy_json(st));
}

static void set_params(struct http_req *r, void *arg)
{
    struct strategy *st = find(r, arg);
    if (!st) return;
    cJSON *body = http_body_json(r, 1);
    struct params ps;
    if (!body || read_params(r, body, &ps) != 0) return;
    struct err e;
    int rc = strategy_set_params(st, &ps, &e);
    params_free(&ps);
    if (rc != 0) {
        http_reply_err(r, 400, "bad_request", &e);
        return;
    }
    http_reply_json(r, 200, strategy_json(st));
}

static const struct http_route routes[] = {
    {HTTP_GET, "/api/strategies", list, 0},
    {HTTP_POST, "/api/strategies", create, 0},
    {HTTP_GET, "/api/strategies/:id", get, 0},
    {HTTP_POST, "/api/strategies/:id/start", start, 0},
    {HTTP_POST, "/api/strategies/:id/stop", stop, 0},
    {HTTP_POST, "/api/strategies/:id/reload", reload, 0},
    {HTTP_PATCH, "/api/strategies/:id/params", set_params, 0},
};

void rest_strategies_routes(struct http *s, struct host *h)
{
    http_add_routes(s, routes, (int)ARRAY_LEN(routes), h);
}
