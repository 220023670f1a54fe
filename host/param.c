/* param.c: strategy parameter values and their validation (see param.h). */
#include "param.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *param_type_name(enum param_type t)
{
    return t == PARAM_NUMBER ? "number" : t == PARAM_STRING ? "string" : "boolean";
}

static int parse_number(const char *s, double *out)
{
    if (!*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int param_parse_kv(const char *kv, struct param *out, struct err *e)
{
    const char *eq = strchr(kv, '=');
    size_t nlen = eq ? (size_t)(eq - kv) : 0;
    if (!eq || nlen == 0 || nlen >= PARAM_NAME_MAX)
        return err_set(e, "--param '%s': expected name=value", kv);
    memset(out, 0, sizeof *out);
    memcpy(out->name, kv, nlen);
    const char *v = eq + 1;
    if (!strcmp(v, "true") || !strcmp(v, "false")) {
        out->type = PARAM_BOOL;
        out->b = v[0] == 't';
    } else if (parse_number(v, &out->num) == 0) {
        out->type = PARAM_NUMBER;
    } else {
        out->type = PARAM_STRING;
        out->str = xstrdup(v);
    }
    return 0;
}

void param_clear(struct param *p)
{
    free(p->str);
    p->str = NULL;
}

static void param_copy(struct param *dst, const struct param *src)
{
    *dst = *src;
    dst->str = src->str ? xstrdup(src->str) : NULL;
}

void params_set(struct params *ps, const struct param *p)
{
    for (int i = 0; i < ps->n; i++) {
        if (!strcmp(ps->v[i].name, p->name)) {
            param_clear(&ps->v[i]);
            param_copy(&ps->v[i], p);
            return;
        }
    }
    ps->v = xrealloc(ps->v, sizeof *ps->v * (size_t)(ps->n + 1));
    param_copy(&ps->v[ps->n++], p);
}

const struct param *params_get(const struct params *ps, const char *name)
{
    for (int i = 0; i < ps->n; i++)
        if (!strcmp(ps->v[i].name, name)) return &ps->v[i];
    return NULL;
}

void params_copy(struct params *dst, const struct params *src)
{
    dst->v = NULL;
    dst->n = 0;
    for (int i = 0; i < src->n; i++) params_set(dst, &src->v[i]);
}

void params_free(struct params *ps)
{
    for (int i = 0; i < ps->n; i++) param_clear(&ps->v[i]);
    free(ps->v);
    ps->v = NULL;
    ps->n = 0;
}

int params_resolve(const struct params *defaults, const struct params *overrides,
                   struct params *out, struct err *e)
{
    params_copy(out, defaults);
    for (int i = 0; overrides && i < overrides->n; i++) {
        const struct param *o = &overrides->v[i];
        const struct param *d = params_get(defaults, o->name);
        if (!d) {
            params_free(out);
            return err_set(e, "parameter '%s' is not declared by the strategy", o->name);
        }
        struct param v = *o;
        if (d->type == PARAM_NUMBER && o->type == PARAM_STRING && o->str &&
            parse_number(o->str, &v.num) == 0) {
            v.type = PARAM_NUMBER;
            v.str = NULL;
        }
        if (v.type != d->type) {
            params_free(out);
            return err_set(e, "parameter '%s' must be a %s (got a %s)", o->name,
                           param_type_name(d->type), param_type_name(o->type));
        }
        params_set(out, &v);
    }
    return 0;
}
