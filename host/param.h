/* param.h: strategy parameters: named scalar values (number, string or boolean).
 *
 * A strategy declares defaults in strategy{ params = {...} }; the operator overrides
 * them from the config, the command line (--param k=v) and later the API. An override
 * must name a declared parameter and keep its type. */
#ifndef LUATRADE_PARAM_H
#define LUATRADE_PARAM_H

#include "err.h"

#define PARAM_NAME_MAX 64

enum param_type { PARAM_NUMBER, PARAM_STRING, PARAM_BOOL };

struct param {
    char name[PARAM_NAME_MAX];
    enum param_type type;
    double num;
    char *str; /* owned, PARAM_STRING only */
    int b;
};

struct params {
    struct param *v;
    int n;
};

const char *param_type_name(enum param_type t);

/* Parses "name=value" from the command line: a finite number, true/false, or any
 * other text as a string. Returns 0 or -1 with e filled. */
int param_parse_kv(const char *kv, struct param *out, struct err *e);

/* Sets (adds or replaces) p in ps, copying it. */
void params_set(struct params *ps, const struct param *p);
const struct param *params_get(const struct params *ps, const char *name);
void params_copy(struct params *dst, const struct params *src);
void params_free(struct params *ps);
void param_clear(struct param *p);

/* Applies overrides to defaults into out (a fresh set): every override must name a
 * declared parameter of the same type (a number given for a number, ...). A string
 * override of a number parameter that parses as a finite number is accepted (the
 * command line has no types). Returns 0, or -1 with e naming the parameter. */
int params_resolve(const struct params *defaults, const struct params *overrides,
                   struct params *out, struct err *e);

#endif
