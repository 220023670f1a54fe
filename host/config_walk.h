/* config_walk.h: reading a Lua table the config file returned, for config.c: raw access
 * only (no metamethod of the config runs), typed getters with bounds, and the key path
 * ("risk.max_order_qty", "strategies[2].params") kept for messages, which read
 * "FILE: key.path: what was expected". After the first failure every getter fails at
 * once, so a reader can run on and report only the first problem. Internal to config. */
#ifndef LUATRADE_CONFIG_WALK_H
#define LUATRADE_CONFIG_WALK_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct walk {
    lua_State *L;
    const char *file;
    char path[256];
    struct err *e;
    int failed;
};

/* Fills w->e with the file, the current path and the message; returns -1. */
int walk_fail(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends ".key" / "[i]" to the path; returns the mark walk_leave goes back to. */
size_t walk_enter(struct walk *w, const char *key);
size_t walk_enter_index(struct walk *w, int i);
void walk_leave(struct walk *w, size_t mark);
/* Every key of the table at idx must be one of names (NULL-terminated). */
int walk_check_keys(struct walk *w, int idx, const char *const *names);
/* 1 when the table at idx is a non-empty sequence: keys exactly 1..n. */
int walk_is_list(lua_State *L, int idx);
/* Pushes t[key] (raw); returns its type. */
int walk_get(struct walk *w, int t, const char *key);
/* The getters below leave *out alone when t[key] is nil and fail on a wrong type or a
 * value outside [min, max]. Return 0 or -1. */
int walk_num(struct walk *w, int t, const char *key, double *out, double min, double max);
int walk_integer(struct walk *w, int t, const char *key, int64_t *out, double min, double max);
int walk_str(struct walk *w, int t, const char *key, char **out); /* *out: a new copy */
int walk_boolean(struct walk *w, int t, const char *key, int *out);
int walk_duration(struct walk *w, int t, const char *key,
                  int64_t *out_us); /* "250ms", "5s" or seconds */
/* Pushes t[key] if it is a table and returns its index; 0 when absent; -1 otherwise. */
int walk_subtable(struct walk *w, int t, const char *key);

#endif
