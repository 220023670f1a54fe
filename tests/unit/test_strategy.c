/* Unit tests for strategy instances inside a real host (sim clock, no loop run):
 * reload(name) by id, an unknown id, reload of a stopped instance, a failed reload that
 * keeps the old version, and state carried through a reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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

struct fixture {
    struct config cfg;
    struct host h;
};

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof *fx);
    fixture_host_start(&fx->cfg, &fx->h, "/tmp/luatrade-strategy-XXXXXX",
                       "strategy { name = 's' }\n"
                       "function on_start() state.n = (state.n or 0) + 1 end\n");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    fixture_host_stop(&fx->cfg, &fx->h);
    free(fx);
    return 0;
}

static double last_n = -1;

static void on_signal(const struct event *ev, void *arg)
{
    cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(ev->data, "data"), "n");
    if (cJSON_IsNumber(n)) last_n = n->valuedouble;
}

/* state kept at stop survives a reload of the stopped instance */
static void test_stopped_reload_keeps_state(void **state)
{
    struct fixture *fx = *state;
    struct strategy *st = strategies_find(fx->h.strategies, "s");
    bus_subscribe(fx->h.bus, EV_BIT(EV_SIGNAL_GENERATED), on_signal, NULL);
    write_script(
        "strategy { name = 's' }\n"
        "function on_start() state.n = (state.n or 0) + 1 signal('n', { n = state.n }) end\n");
    struct err e;
    assert_int_equal(strategies_reload(fx->h.strategies, "s", &e), 0);
    assert_int_equal(strategy_start(st, &e), 0);
    assert_true(last_n == 1);
    strategy_stop(st, "test");
    assert_int_equal(strategies_reload(fx->h.strategies, "s", &e), 0);
    assert_int_equal(strategy_start(st, &e), 0);
    assert_true(last_n == 2);
}

static void test_reload_by_name(void **state)
{
    struct fixture *fx = *state;
    struct strategies *ss = fx->h.strategies;
    struct strategy *st = strategies_find(ss, "s");
    assert_non_null(st);
    struct err e;
    /* stopped: the new text is checked and the version bumped; it stays stopped */
    assert_int_equal(strategies_reload(ss, "s", &e), 0);
    assert_int_equal(strategy_version(st), 2);
    assert_int_equal(strategy_status(st), STRATEGY_STOPPED);

    assert_int_equal(strategy_start(st, &e), 0);
    assert_int_equal(strategy_status(st), STRATEGY_RUNNING);
    char sha[65];
    util_strlcpy(sha, strategy_sha256(st), sizeof sha);
    write_script("strategy { name = 's' }\nfunction on_reload(old) state.from = old end\n");
    assert_int_equal(strategies_reload(ss, "s", &e), 0);
    assert_int_equal(strategy_version(st), 3);
    assert_string_not_equal(strategy_sha256(st), sha);

    /* a broken script: the old version keeps running and the error names file:line */
    write_script("strategy { name = 's' }\nfunction on_trade(\n");
    assert_int_equal(strategies_reload(ss, "s", &e), -1);
    assert_non_null(strstr(e.msg, "s.lua:3:"));
    assert_int_equal(strategy_version(st), 3);
    assert_int_equal(strategy_status(st), STRATEGY_RUNNING);
    assert_non_null(strstr(strategy_last_error(st), "s.lua:3:"));

    assert_int_equal(strategies_reload(ss, "nope", &e), -1);
    assert_non_null(strstr(e.msg, "no strategy named 'nope'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reload_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped_reload_keeps_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
