/* repl_pretty.h: the console's rendering of Lua values (DESIGN.md §9, issue 5).
 *
 * Two entry points:
 *   repl_pretty         a value as a Lua-like literal: strings quoted and escaped. Used
 *                       for values inside tables and wherever a string must be shown as
 *                       a string.
 *   repl_pretty_result  what the console prints for one result of an evaluation: the
 *                       same, except that a string is written raw (its bytes as they
 *                       are, so `s` prints text, not a literal), with each NUL byte
 *                       written as the two characters "\0" (the wire's terminator is
 *                       a NUL, so output never holds one).
 *
 * Rendering rules: nil, true, false; numbers as integers when integral (|x| <= 2^53),
 * else %.14g, and nan, inf, -inf; strings quoted with \n \t \\ \" and \ddd (three
 * decimal digits) for the other control bytes (0-31, 127) and every byte that is not
 * part of valid UTF-8; "<function>" for C functions, "<function FILE:LINE>" for Lua
 * ones; "<userdata>", "<thread>", "<cdata>". Tables: the array part 1..n first without
 * keys, then the other keys sorted (numbers ascending, strings bytewise, false, true,
 * then the rest by type in traversal order); identifier keys bare (`name = 1`), others
 * bracketed (`["a b"] = 1`, `["end"] = 2`, `[1.5] = 3`). A table rendering on at most
 * 60 characters with no nested non-empty table is one line (`{1, 2, x = 3}`); other
 * tables span lines, entries indented two spaces per level, separated by ",":
 *     {
 *       a = 1,
 *       b = {1, 2}
 *     }
 * An empty table is "{}"; a table already on the path being printed is "<cycle>"; a
 * table nested deeper than max_depth (the top-level table is depth 1) is "{...}"; past
 * max_items entries a table shows the first max_items then a line "... (N more)". A
 * host read-only proxy (a key of the registry table "luatrade.readonly") is rendered as
 * its backing table. When the rendering would pass max_bytes, it is cut there (not
 * inside a UTF-8 sequence) and a line "... (output truncated)" follows; the same
 * happens when more than REPL_PRETTY_MAX_SCAN table entries were visited, so a
 * huge or heavily shared structure cannot hold the loop thread. No trailing newline.
 *
 * Host boundary (DESIGN.md §5): raw access only (lua_rawget, lua_rawgeti, lua_next,
 * lua_getinfo); no metamethod and no Lua function of the state ever runs. The value is
 * not modified. It may push strings that already exist (string keys, to read their
 * values), which can run a GC step, so call it as every host access to a sandbox is
 * made: inside a protected host step (sbx_host_step) on the loop thread. Needs about
 * 6 free stack slots per nesting level (checked on entry; an over-deep value renders
 * as "{...}" when the stack cannot grow). Leaves the stack as it found it. */
#ifndef LUATRADE_REPL_PRETTY_H
#define LUATRADE_REPL_PRETTY_H

#include <stddef.h>

#include "buf.h"

typedef struct lua_State lua_State;

#define REPL_PRETTY_MAX_ITEMS 100
#define REPL_PRETTY_MAX_DEPTH 8
#define REPL_PRETTY_MAX_BYTES (1u << 20)
#define REPL_PRETTY_DEPTH_CAP 64         /* max_depth above this is taken as this */
#define REPL_PRETTY_MAX_SCAN  (1u << 20) /* table entries visited per call */
#define REPL_PRETTY_SHORT     60         /* longest one-line table rendering */

struct repl_pretty_opts {
    int max_items;    /* entries shown per table */
    int max_depth;    /* levels of nested tables shown */
    size_t max_bytes; /* bytes appended before the cut */
};                    /* a field <= 0 means its default, so {0} or NULL gives the defaults */

/* Appends the rendering of the value at idx of L to out (a literal: strings quoted).
 * o may be NULL (the defaults: 100 items, depth 8, 1 MiB). */
void repl_pretty(lua_State *L, int idx, const struct repl_pretty_opts *o, struct buf *out);

/* Like repl_pretty, but a string value is appended raw (NUL bytes as "\0"), cut at
 * max_bytes like any rendering. The console server calls this for each result. */
void repl_pretty_result(lua_State *L, int idx, const struct repl_pretty_opts *o, struct buf *out);

#endif
