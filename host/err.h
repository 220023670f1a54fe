/* err.h: the expected-failure channel. A function that can fail for a reason a user
 * should read (bad config, refused connection, script error) returns -1 and fills a
 * struct err with a human message; the caller decides where to log it, once. */
#ifndef LUATRADE_ERR_H
#define LUATRADE_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 1024

struct err {
    char msg[ERR_MSG_MAX];
};

/* Formats the message into e (truncating). e may be NULL. Returns -1, so that
 * "return err_set(e, ...)" reads naturally. */
int err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the existing message: "prefix: old message". e may be NULL. Returns -1. */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
