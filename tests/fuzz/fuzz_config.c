/* fuzz_config: libFuzzer target for config_load_text.
 *
 * The input is the config file's Lua source. It runs in the config's own sandbox (16 MB,
 * 1 s of CPU, no io/os), under one watchdog made in LLVMFuzzerInitialize, so runaway
 * loops and memory bombs are stopped by the code under test, not by the fuzzer. Either
 * the load fails with a message, or the result holds the documented invariants:
 * symbols valid and sorted by name, every strategy with a script and valid symbol
 * names, limits inside their documented ranges. ASan (with leak detection) and UBSan
 * catch the rest, including anything a failed load forgets to free. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "instrument.h"
#include "log.h"
#include "sbx_watchdog.h"

#include "fuzz_common.h"

static struct sbx_watchdog *wd;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wd = fuzz_watchdog();
    return 0;
}

static void check_config(const struct config *cfg)
{
    CHECK(cfg->path && !strcmp(cfg->path, "fuzz.lua"));
    CHECK(cfg->nsymbols >= 0 && cfg->nsymbols <= 256);
    for (int i = 0; i < cfg->nsymbols; i++) {
        const struct config_symbol *s = &cfg->symbols[i];
        CHECK(instrument_symbol_valid(s->symbol));
        if (i > 0) CHECK(strcmp(cfg->symbols[i - 1].symbol, s->symbol) < 0);
        CHECK(s->price > 0 && s->tick > 0 && s->lot > 0);
        CHECK(s->spread_ticks >= 1 && s->max_lots >= 1);
    }
    CHECK(cfg->nstrategies >= 0 && cfg->nstrategies <= 256);
    for (int i = 0; i < cfg->nstrategies; i++) {
        const struct config_strategy *s = &cfg->strategies[i];
        CHECK(s->script != NULL);
        CHECK(s->nsymbols == 0 || s->symbols != NULL);
        for (int k = 0; k < s->nsymbols; k++) CHECK(s->symbols[k] != NULL);
        for (int k = 0; k < s->params.n; k++) {
            const struct param *p = &s->params.v[k];
            CHECK(strlen(p->name) < PARAM_NAME_MAX);
            CHECK((p->type == PARAM_STRING) == (p->str != NULL));
        }
    }
    CHECK(cfg->memory_limit >= (1u << 20) && cfg->memory_limit <= (4096ull << 20));
    CHECK(cfg->callback_budget_us > 0 && cfg->load_budget_us > 0 && cfg->error_window_us > 0);
    CHECK(cfg->script_limit >= 1024);
    CHECK(cfg->jit == 0 || cfg->jit == 1);
    CHECK(cfg->bar_history >= 1 && cfg->reload_debounce_ms >= 1);
    CHECK(cfg->log_level >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    struct err e;
    e.msg[0] = '\0';
    if (config_load_text("fuzz.lua", (const char *)data, size, wd, &cfg, &e) == 0) {
        check_config(&cfg);
        config_free(&cfg);
    } else {
        CHECK(e.msg[0] != '\0');
        CHECK(cfg.path == NULL && cfg.symbols == NULL && cfg.strategies == NULL);
    }
    return 0;
}
