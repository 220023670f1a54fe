/* Unit tests for strategy_admin.c inside a real host (sim clock, no loop run):
 * strategy_set_params refuses undeclared names, wrong types and non-finite numbers and
 * changes nothing then (all or nothing); accepted values reach the running sandbox's
 * `params`, survive a reload and a stop/start, and apply to a stopped instance;
 * strategy_json describes the instance (status, params, last_reload) also while it is
 * stopped; strategies_create refuses the reserved id "manual". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bus.h"
#include "config.h"
#include "fixture_host.h"
#include "host.h"
#include "log.h"
#include "sbx_watchdog.h"
#include "strategy.h"
#include "util.h"

/* Every callback reports the parameters it sees as a signal "p". */
static const char SCRIPT[] =
    "strategy { name = 's', params = { fast = 10, mode = 'a', on = true } }\n"
    "local function report() signal('p', { fast = params.fast, mode = params.mode,\n"
    "                                      on = params.on }) end\n"
    "function on_start() report() end\n"
    "function on_stop() report() end\n"
    "function on_reload() report() end\n";

struct fixture {
    struct config cfg;
    struct host h;
    struct strategy *st;
};

static cJSON *seen; /* the data of the last "p" signal */

static void on_signal(const struct event *ev, void *arg)
{
    cJSON_Delete(seen);
    seen = cJSON_Duplicate(cJSON_GetObjectItem(ev->data, "data"), 1);
}

static double seen_fast(void)
{
    cJSON *f = cJSON_GetObjectItem(seen, "fast");
    return cJSON_IsNumber(f) ? f->valuedouble : NAN;
}

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof *fx);
    fixture_host_start(&fx->cfg, &fx->h, "/tmp/luatrade-admin-XXXXXX", SCRIPT);
    bus_subscribe(fx->h.bus, EV_BIT(EV_SIGNAL_GENERATED), on_signal, NULL);
    fx->st = strategies_find(fx->h.strategies, "s");
    assert_non_null(fx->st);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    fixture_host_stop(&fx->cfg, &fx->h);
    free(fx);
    cJSON_Delete(seen);
    seen = NULL;
    return 0;
}

static void set_num(struct params *ps, const char *name, double v)
{
    struct param p = {.type = PARAM_NUMBER, .num = v};
    util_strlcpy(p.name, name, sizeof p.name);
    params_set(ps, &p);
}

static void set_str(struct params *ps, const char *name, const char *v)
{
    struct param p = {.type = PARAM_STRING, .str = (char *)v};
    util_strlcpy(p.name, name, sizeof p.name);
    params_set(ps, &p);
}

/* The current value of a number parameter (strategy_params). */
static double current(struct strategy *st, const char *name)
{
    struct params ps;
    strategy_params(st, &ps);
    const struct param *p = params_get(&ps, name);
    double v = p && p->type == PARAM_NUMBER ? p->num : NAN;
    params_free(&ps);
    return v;
}

/* One bad set: refused with a message containing want, and fast still 10. */
static void refused(struct strategy *st, struct params *ps, const char *want)
{
    struct err e;
    assert_int_equal(strategy_set_params(st, ps, &e), -1);
    if (!strstr(e.msg, want)) fail_msg("message '%s' lacks '%s'", e.msg, want);
    assert_true(current(st, "fast") == 10);
    params_free(ps);
}

static void test_refusals_change_nothing(void **state)
{
    struct fixture *fx = *state;
    struct params ps = {0};
    set_num(&ps, "slow", 3);
    refused(fx->st, &ps, "'slow' is not declared");
    set_str(&ps, "fast", "5"); /* a string is not a number here (unlike --param) */
    refused(fx->st, &ps, "'fast' must be a number (got a string)");
    struct param b = {.name = "mode", .type = PARAM_BOOL, .b = 1};
    params_set(&ps, &b);
    refused(fx->st, &ps, "'mode' must be a string (got a boolean)");
    set_num(&ps, "fast", INFINITY);
    refused(fx->st, &ps, "finite");
    set_num(&ps, "fast", 5); /* all or nothing: the good one is not applied either */
    set_num(&ps, "nope", 1);
    refused(fx->st, &ps, "'nope'");
}

static void test_values_reach_the_sandbox_and_survive(void **state)
{
    struct fixture *fx = *state;
    struct strategy *st = fx->st;
    struct err e;
    struct params ps = {0};
    /* stopped (loaded, never started): applies at the start */
    set_num(&ps, "fast", 5);
    assert_int_equal(strategy_set_params(st, &ps, &e), 0);
    params_free(&ps);
    assert_true(current(st, "fast") == 5);
    assert_int_equal(strategy_start(st, &e), 0);
    assert_true(seen_fast() == 5);
    /* running: the live sandbox sees the new value on its next call (on_stop here) */
    set_num(&ps, "fast", 7);
    assert_int_equal(strategy_set_params(st, &ps, &e), 0);
    params_free(&ps);
    strategy_stop(st, "test");
    assert_true(seen_fast() == 7);
    /* kept across a reload */
    assert_int_equal(strategy_start(st, &e), 0);
    set_str(&ps, "mode", "b");
    assert_int_equal(strategy_set_params(st, &ps, &e), 0);
    params_free(&ps);
    assert_int_equal(strategies_reload(fx->h.strategies, "s", &e), 0);
    assert_true(seen_fast() == 7); /* on_reload of the new version */
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(seen, "mode")), "b");
    /* stopped and unloaded: still checked (against the kept declaration), then kept */
    strategy_stop(st, "test");
    set_num(&ps, "fast", 8);
    assert_int_equal(strategy_set_params(st, &ps, &e), 0);
    params_free(&ps);
    set_num(&ps, "bogus", 8);
    assert_int_equal(strategy_set_params(st, &ps, &e), -1);
    params_free(&ps);
    assert_int_equal(strategy_start(st, &e), 0);
    assert_true(seen_fast() == 8);
    assert_true(current(st, "fast") == 8);
}

static void test_json_describes_running_and_stopped(void **state)
{
    struct fixture *fx = *state;
    struct strategy *st = fx->st;
    struct err e;
    cJSON *j = strategy_json(st);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "STOPPED");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "last_reload")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "symbols")), 1);
    cJSON_Delete(j);

    assert_int_equal(strategy_start(st, &e), 0);
    assert_int_equal(strategies_reload(fx->h.strategies, "s", &e), 0);
    write_script("strategy { name = 's' }\nfunction on_trade(\n");
    assert_int_equal(strategies_reload(fx->h.strategies, "s", &e), -1);
    strategy_stop(st, "test");
    j = strategy_json(st);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "STOPPED");
    assert_int_equal((int)cJSON_GetObjectItem(j, "version")->valuedouble, 2);
    cJSON *lr = cJSON_GetObjectItem(j, "last_reload");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(lr, "ok")));
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(lr, "error")), "s.lua:3:"));
    /* unloaded, yet its hash, symbols and params are still described */
    assert_int_equal((int)strlen(cJSON_GetStringValue(cJSON_GetObjectItem(j, "sha256"))), 64);
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "symbols"), 0)), "AAPL");
    cJSON *p = cJSON_GetObjectItem(j, "params");
    assert_true(cJSON_GetObjectItem(p, "fast")->valuedouble == 10);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p, "on")));
    cJSON_Delete(j);
}

static void test_create_refuses_manual(void **state)
{
    struct fixture *fx = *state;
    struct err e;
    struct strategy_spec spec = {.id = "manual", .script = script};
    assert_null(strategies_create(fx->h.strategies, &spec, &e));
    assert_non_null(strstr(e.msg, "reserved"));
    spec.id = "s2";
    struct strategy *st = strategies_create(fx->h.strategies, &spec, &e);
    assert_non_null(st);
    assert_int_equal(strategy_status(st), STRATEGY_STOPPED);
    assert_int_equal(strategies_count(fx->h.strategies), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refusals_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_reach_the_sandbox_and_survive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_describes_running_and_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_refuses_manual, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
