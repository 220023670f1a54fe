/* fuzz_cli_args: libFuzzer target for the command-line value parsers.
 *
 * The input is split at NUL bytes; every piece goes through util_parse_duration,
 * param_parse_kv and config_add_strategy_arg, as if given as --every, --param and
 * --strategy. Besides what the sanitizers catch, an accepted value must say what the
 * text said: a duration is not negative; a parameter's name is the text before the
 * first '=' and a string value the text after it; a strategy's script and symbols
 * rebuild the argument. A rejected one leaves a message and adds nothing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "instrument.h"
#include "param.h"
#include "util.h"

#include "fuzz_common.h"

static void check_duration(const char *s)
{
    int64_t us = -1;
    if (util_parse_duration(s, &us) == 0) CHECK(us >= 0);
}

static void check_param(const char *s)
{
    struct param p;
    struct err e;
    e.msg[0] = '\0';
    if (param_parse_kv(s, &p, &e) != 0) {
        CHECK(e.msg[0] != '\0');
        return;
    }
    const char *eq = strchr(s, '=');
    CHECK(eq != NULL && eq > s);
    size_t nlen = (size_t)(eq - s);
    CHECK(nlen < PARAM_NAME_MAX && strlen(p.name) == nlen && !memcmp(p.name, s, nlen));
    const char *v = eq + 1;
    switch (p.type) {
    case PARAM_BOOL:
        CHECK(!strcmp(v, p.b ? "true" : "false"));
        break;
    case PARAM_NUMBER:
        CHECK(isfinite(p.num) && p.str == NULL);
        break;
    case PARAM_STRING:
        CHECK(p.str && !strcmp(p.str, v));
        break;
    default:
        CHECK(0);
    }
    param_clear(&p);
}

static void check_strategy(const char *s)
{
    struct config cfg;
    struct err e;
    memset(&cfg, 0, sizeof cfg);
    e.msg[0] = '\0';
    if (config_add_strategy_arg(&cfg, s, &e) != 0) {
        CHECK(e.msg[0] != '\0' && cfg.nstrategies == 0 && cfg.strategies == NULL);
        return;
    }
    CHECK(cfg.nstrategies == 1);
    const struct config_strategy *st = &cfg.strategies[0];
    CHECK(st->script && st->script[0]);
    /* script [":" sym ("," sym)*] gives back the argument (a trailing comma aside) */
    size_t n = strlen(st->script);
    CHECK(!strncmp(s, st->script, n));
    if (!st->symbols) {
        CHECK(s[n] == '\0');
    } else {
        CHECK(s[n] == ':' && st->nsymbols > 0);
        const char *p = s + n + 1;
        for (int i = 0; i < st->nsymbols; i++) {
            size_t k = strlen(st->symbols[i]);
            CHECK(instrument_symbol_valid(st->symbols[i]));
            CHECK(!strncmp(p, st->symbols[i], k));
            p += k;
            CHECK(*p == (i + 1 < st->nsymbols ? ',' : *p));
            if (*p == ',') p++;
        }
        CHECK(*p == '\0');
    }
    config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (char *p = buf; p <= buf + size; p += strlen(p) + 1) {
        check_duration(p);
        check_param(p);
        check_strategy(p);
    }
    free(buf);
    return 0;
}
