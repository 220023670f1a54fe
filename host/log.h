/* log.h: structured log lines, "time LEVEL module message key=value ...".
 *
 * One line per call, written with a single write(2) so lines from the watchdog
 * thread never interleave with the loop thread's. Lines go to stderr and, when a
 * file is opened, to that file too. Values that may hold spaces or quotes are passed
 * through log_quote. Control characters never reach the output (log injection).
 * Safe to call from any thread. */
#ifndef LUATRADE_LOG_H
#define LUATRADE_LOG_H

#include <stdint.h>
#include "err.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the minimum level written (default LOG_INFO). */
void log_set_level(enum log_level min);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warn" or "error"; -1 when unknown. */
int log_level_parse(const char *s);
/* Also write lines to path (appending, mode 0600). Returns -1 and fills e on failure. */
int log_open_file(const char *path, struct err *e);
void log_close_file(void);
/* Turns the stderr copy on or off (default on). */
void log_set_stderr(int on);

/* Where line timestamps come from: by default wall time; a backtest passes its
 * simulated clock. fn is called on the logging thread; NULL restores wall time. */
void log_set_clock(int64_t (*now_us)(void *arg), void *arg);

/* A listener receives every written line (without the newline), on the thread
 * that logged it. Used by tests and benchmarks to wait on log lines. One listener at a
 * time; NULL removes it. */
void log_set_listener(void (*fn)(enum log_level lvl, const char *line, void *arg), void *arg);

/* The host's log tail (log_ring.c) receives every written line the same way, in its
 * own slot, so a test or benchmark listening still sees every line. NULL removes it. */
void log_set_tail(void (*fn)(enum log_level lvl, const char *line, void *arg), void *arg);

/* Writes one line. kv_fmt is a printf format for the "key=value ..." part (may be
 * NULL or ""). */
void log_write(enum log_level lvl, const char *module, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(mod, msg, ...) log_write(LOG_DEBUG, mod, msg, __VA_ARGS__)
#define log_info(mod, msg, ...)  log_write(LOG_INFO, mod, msg, __VA_ARGS__)
#define log_warn(mod, msg, ...)  log_write(LOG_WARN, mod, msg, __VA_ARGS__)
#define log_error(mod, msg, ...) log_write(LOG_ERROR, mod, msg, __VA_ARGS__)

/* Renders s as a log value: unchanged when it is a plain token, otherwise in double
 * quotes with \" \\ \n \t escaped and other control bytes as \xHH. Returns dst. */
const char *log_quote(char *dst, size_t n, const char *s);

/* Routes libevent's internal log messages into this logger (module "libevent"). */
void log_route_libevent(void);

#endif
