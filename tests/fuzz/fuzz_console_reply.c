/* fuzz_console_reply.c: the console client's reply parser (console_reply.h) on
 * arbitrary bytes from a host. The first byte of the input chooses how the rest is cut
 * into reads (1 to 256 bytes each), so a line or a terminator straddling reads is
 * exercised too. Checked for every input: no line handed out holds a NUL, a context is
 * NUL-terminated within CONSOLE_REPLY_TERM_MAX and free of control bytes, the parser
 * never consumes more than it was given or zero bytes of a non-empty read unless it
 * failed, and once failed it stays failed. */
#include <stdint.h>
#include <string.h>

#include "console_reply.h"
#include "fuzz_common.h"

static void on_line(void *ud, const char *p, size_t n, int partial)
{
    CHECK(n <= CONSOLE_REPLY_LINE_MAX);
    CHECK(!memchr(p, 0, n));
    CHECK(partial == 0 || partial == 1);
}

static void on_end(void *ud, enum console_status st, const char *context)
{
    CHECK(st == CONSOLE_OK || st == CONSOLE_ERROR || st == CONSOLE_MORE);
    size_t n = strnlen(context, CONSOLE_REPLY_TERM_MAX + 1);
    CHECK(n <= CONSOLE_REPLY_TERM_MAX);
    for (size_t i = 0; i < n; i++) CHECK((unsigned char)context[i] >= 0x20);
    (*(int *)ud)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    static struct console_reply r;
    console_reply_init(&r);
    const struct console_reply_cb cb = {on_line, on_end};
    size_t step = (size_t)data[0] + 1, off = 1;
    int ends = 0, failed = 0;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        ssize_t used = console_reply_feed(&r, (const char *)data + off, n, &cb, &ends);
        if (used < 0) {
            failed = 1;
            CHECK(console_reply_error(&r)[0]);
            CHECK(console_reply_feed(&r, "x\n", 2, &cb, &ends) == -1);
            break;
        }
        CHECK(failed == 0 && (size_t)used <= n && used > 0);
        off += (size_t)used;
    }
    return 0;
}
