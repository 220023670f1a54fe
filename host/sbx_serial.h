/* sbx_serial.h: copying data between sandboxes (DESIGN.md §7 step 2) as bytes.
 *
 * A value is serialized when it is data: nil, booleans, numbers, strings and tables of
 * those (any nesting up to SBX_SERIAL_MAX_DEPTH, shared references and cycles
 * preserved). Functions, coroutines and userdata are refused with the path to the
 * offending value ("state.cache.f is a function"). A table whose metatable came from
 * class(name) is recorded with that name; loading re-attaches the class of the same
 * name in the target sandbox, requiring the module of that name when needed. The
 * byte format is stable, so the same bytes serve journal snapshots. */
#ifndef LUATRADE_SBX_SERIAL_H
#define LUATRADE_SBX_SERIAL_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct sbx;

#define SBX_SERIAL_MAX_DEPTH 100

/* Appends the value at stack index idx of s's state to out. `root` names it in error
 * messages ("state"). Runs no Lua code. Returns 0 or -1 with e filled. */
int sbx_serial_dump(struct sbx *s, int idx, const char *root, struct buf *out, struct err *e);

/* Pushes the value serialized in data onto s's stack. Calls the sandbox's
 * ensure_classes (under the load budget) when classes are named. *missing_classes
 * (may be NULL) receives how many tables named a class the sandbox does not have
 * (they are restored as plain tables). Returns 0 or -1 with e filled (malformed data,
 * memory limit). */
int sbx_serial_load(struct sbx *s, const char *data, size_t len, int *missing_classes,
                    struct err *e);

#endif
