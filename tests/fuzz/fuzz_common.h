/* fuzz_common.h: what the libFuzzer targets share: CHECK (an invariant that must hold
 * for every input; a failure names the file and line and aborts, which libFuzzer
 * records as a crash) and the one watchdog the sandbox-based targets create. */
#ifndef LUATRADE_FUZZ_COMMON_H
#define LUATRADE_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "sbx_watchdog.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s: check failed: %s (line %d)\n", __FILE__, #c, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Starts the watchdog every sandbox of the run uses (from LLVMFuzzerInitialize) and
 * silences the log; aborts when the thread cannot start. */
static inline struct sbx_watchdog *fuzz_watchdog(void)
{
    struct err e;
    log_set_stderr(0);
    struct sbx_watchdog *wd = sbx_watchdog_new(&e);
    if (!wd) {
        fprintf(stderr, "fuzz: %s\n", e.msg);
        abort();
    }
    return wd;
}

#endif
