/* watch.h: file-change notification for hot reload (DESIGN.md §7).
 *
 * inotify on directories (not files: an editor's rename-over replaces the inode),
 * reading only IN_CLOSE_WRITE and IN_MOVED_TO (a half-written file never triggers),
 * filtered to *.lua and skipping dotfiles and editor temporaries. Changes are
 * debounced: after the last event for a burst, once `debounce_ms` passes with no
 * new event, the callback receives every distinct changed path of that burst once.
 * Subdirectories of a watched tree are watched too, including ones created later.
 * IN_Q_OVERFLOW reports every watched .lua file as changed (a rescan).
 * Runs on the libevent loop; the callback is called from it, never re-entrantly. */
#ifndef LUATRADE_WATCH_H
#define LUATRADE_WATCH_H

#include "err.h"

struct event_base;
struct watch;

/* paths: the changed files (as "<watched dir>/<relative path>", the directory spelled
 * as it was passed to watch_add), sorted, without duplicates. Valid only during the call. */
typedef void (*watch_fn)(const char *const *paths, int npaths, void *arg);

struct watch *watch_new(struct event_base *base, int debounce_ms, watch_fn fn, void *arg,
                        struct err *e);
void watch_free(struct watch *w);

/* Watches dir (and, when recursive, every subdirectory). Adding a directory already
 * watched is a no-op. Returns -1 and fills e when dir cannot be watched. */
int watch_add(struct watch *w, const char *dir, int recursive, struct err *e);

#endif
