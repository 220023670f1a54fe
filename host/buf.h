/* buf.h: a growable byte buffer, for building JSON, log lines and serialized state.
 * The buffer owns its memory; buf_free releases it and leaves an empty buffer.
 * Contents are always NUL-terminated (the terminator is not counted in len). */
#ifndef LUATRADE_BUF_H
#define LUATRADE_BUF_H

#include <stddef.h>

struct buf {
    char *p;
    size_t len;
    size_t cap;
};

/* clang-format 14 would spread this braced initializer over four lines. */
/* clang-format off */
#define BUF_INIT {NULL, 0, 0}
/* clang-format on */

void buf_reserve(struct buf *b, size_t extra);
void buf_put(struct buf *b, const void *data, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included; invalid UTF-8 bytes become U+FFFD. */
void buf_put_json_str(struct buf *b, const char *s, size_t n);
/* The length of the longest valid UTF-8 prefix of s (n when all of it is valid). */
size_t buf_utf8_valid_prefix(const char *s, size_t n);
/* Appends s with every byte that is not part of a valid UTF-8 sequence replaced by
 * U+FFFD: text that came from scripts (alerts, signals) made safe for WebSocket text
 * frames and JSON readers. */
void buf_put_utf8(struct buf *b, const char *s, size_t n);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
