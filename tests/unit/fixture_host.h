/* fixture_host.h: a whole host for unit tests of strategies (test_strategy,
 * test_strategy_admin): the simulated clock, one symbol (AAPL), no file watcher, and one
 * strategy, `s`, whose script lives in a fresh directory under /tmp. `dir` and `script`
 * are that directory and file; write_script replaces the script's text (then reload to
 * see it). Include it after cmocka.h. */
#ifndef LUATRADE_FIXTURE_HOST_H
#define LUATRADE_FIXTURE_HOST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "host.h"
#include "log.h"
#include "sbx_watchdog.h"
#include "util.h"

static char dir[64];
static char script[256];

static void write_script(const char *text)
{
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Writes text as the script in a new directory named from prefix
 * ("/tmp/luatrade-strategy-XXXXXX"), then builds the host into cfg and h. */
static void fixture_host_start(struct config *cfg, struct host *h, const char *prefix,
                               const char *text)
{
    log_set_level(LOG_WARN);
    util_strlcpy(dir, prefix, sizeof dir);
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof script, "%s/s.lua", dir);
    write_script(text);
    char conf[1024];
    snprintf(conf, sizeof conf,
             "return { clock = 'sim', reload = { watch = false },\n"
             "  feed = { symbols = { AAPL = { price = 10 } } },\n"
             "  strategies = { { script = '%s' } } }",
             script);
    struct err e;
    struct sbx_watchdog *wd = sbx_watchdog_new(&e);
    assert_non_null(wd);
    if (config_load_text("test.lua", conf, strlen(conf), wd, cfg, &e) != 0)
        fail_msg("config: %s", e.msg);
    sbx_watchdog_free(wd);
    if (host_init(h, cfg, &e) != 0) fail_msg("host_init: %s", e.msg);
}

static void fixture_host_stop(struct config *cfg, struct host *h)
{
    host_fini(h);
    config_free(cfg);
    unlink(script);
    rmdir(dir);
}

#endif
