/* watch.c: inotify-based change notification for hot reload (watch.h, DESIGN.md §7).
 *
 * One inotify fd (non-blocking) is a persistent EV_READ event on the caller's base; a
 * one-shot evtimer is the trailing debounce. Each watched directory is a struct wdir
 * (inotify wd + the path we report under, "<dir as passed>/<relative path>"); lookups
 * by wd scan the array, which is fine for script trees of tens of directories.
 *
 * Data flow: inotify events → on_readable → a relevant file event appends its path to
 * `changed` and re-arms the debounce → on_debounce sorts and deduplicates the set,
 * hands it to the callback and clears it.
 *
 * What counts as a change: IN_CLOSE_WRITE or IN_MOVED_TO of a name ending in ".lua"
 * that does not start with '.', so a half-written file (IN_CREATE, IN_MODIFY) never
 * triggers, and editor temporaries (".x.swp", "4913", "x.lua~") are ignored. IN_CREATE,
 * IN_MOVED_TO and IN_MOVED_FROM with IN_ISDIR maintain the recursive watches: a new
 * directory is watched and scanned (files written into it before its watch existed are
 * reported; a file still being written there may be reported early, and again on its
 * close), a directory moved away loses its watches. Directories themselves are never
 * reported, symlinked and dot directories (".git") are not descended into.
 * IN_Q_OVERFLOW means events were lost: at the end of the burst every root is rescanned,
 * missing watches are added and every *.lua file found is reported.
 *
 * Invariants: every wdir's wd is live in the inotify instance (IN_IGNORED removes it);
 * no two wdirs share a wd; `changed` is non-empty or `overflow` is set only while the
 * debounce timer is pending. The callback runs from the debounce timer with the set
 * already detached from the watch, so it may even free the watch. */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE_SELF)

struct wdir {
    int wd;
    int recursive;
    char *path; /* as reported: the root as passed, then "/" and the relative path */
};

struct strv {
    char **v;
    int n, cap;
};

struct watch {
    struct event_base *base;
    int fd;
    struct event *ev_read;
    struct event *ev_debounce;
    struct timeval debounce;
    watch_fn fn;
    void *arg;
    struct wdir *dirs;
    int ndirs, capdirs;
    struct strv roots; /* each root as passed (trailing slashes trimmed) */
    int *root_recursive;
    struct strv changed;
    int overflow;
};

static void strv_push(struct strv *s, char *p)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = xrealloc(s->v, (size_t)s->cap * sizeof *s->v);
    }
    s->v[s->n++] = p;
}

static void strv_free(struct strv *s)
{
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    *s = (struct strv){0};
}

static char *path_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    int slash = dl > 0 && dir[dl - 1] != '/';
    char *p = xmalloc(dl + slash + nl + 1);
    memcpy(p, dir, dl);
    if (slash) p[dl] = '/';
    memcpy(p + dl + slash, name, nl + 1);
    return p;
}

/* A script file: "*.lua", not hidden. Editor temporaries fail one test or the other. */
static int name_wanted(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".lua") == 0;
}

static struct wdir *dir_by_wd(struct watch *w, int wd)
{
    for (int i = 0; i < w->ndirs; i++)
        if (w->dirs[i].wd == wd) return &w->dirs[i];
    return NULL;
}

static void dir_remove(struct watch *w, struct wdir *d)
{
    free(d->path);
    *d = w->dirs[--w->ndirs];
}

/* Adds path (taking ownership) to the changed set, which is kept sorted and without
 * duplicates so a burst of writes to one file costs one entry, and re-arms the debounce. */
static void mark_changed(struct watch *w, char *path)
{
    struct strv *c = &w->changed;
    int lo = 0, hi = c->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int r = strcmp(c->v[mid], path);
        if (r == 0) {
            lo = -1;
            break;
        }
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo < 0) {
        free(path);
    } else {
        strv_push(c, path); /* grows; the slot at the end is then overwritten */
        memmove(c->v + lo + 1, c->v + lo, (size_t)(c->n - 1 - lo) * sizeof *c->v);
        c->v[lo] = path;
    }
    event_add(w->ev_debounce, &w->debounce);
}

/* Watches path. Returns 1 when a new watch was added, 0 when the directory was already
 * watched, -1 with errno set when inotify refused. */
static int dir_add(struct watch *w, const char *path, int recursive, uint32_t extra_mask)
{
    int wd = inotify_add_watch(w->fd, path, WATCH_MASK | IN_ONLYDIR | extra_mask);
    if (wd < 0) return -1;
    if (dir_by_wd(w, wd)) return 0;
    if (w->ndirs == w->capdirs) {
        w->capdirs = w->capdirs ? 2 * w->capdirs : 16;
        w->dirs = xrealloc(w->dirs, (size_t)w->capdirs * sizeof *w->dirs);
    }
    w->dirs[w->ndirs++] = (struct wdir){wd, recursive, xstrdup(path)};
    char q[512];
    log_info("watch", "watch added", "dir=%s wd=%d", log_quote(q, sizeof q, path), wd);
    return 1;
}

/* Walks the directory at path: when recursive, watches and descends into each
 * subdirectory; when report, marks every wanted file as changed. */
static void scan_dir(struct watch *w, const char *path, int recursive, int report)
{
    DIR *dp = opendir(path);
    char q[512];
    if (!dp) {
        log_warn("watch", "cannot scan directory", "dir=%s err=%s", log_quote(q, sizeof q, path),
                 strerror(errno));
        return;
    }
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        if (de->d_name[0] == '.') continue; /* ".", "..", hidden files and dirs */
        int is_dir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
            is_dir = S_ISDIR(st.st_mode);
        }
        char *child = path_join(path, de->d_name);
        if (is_dir && recursive) {
            if (dir_add(w, child, 1, IN_DONT_FOLLOW) < 0)
                log_warn("watch", "cannot watch directory", "dir=%s err=%s",
                         log_quote(q, sizeof q, child), strerror(errno));
            else scan_dir(w, child, 1, report);
            free(child);
        } else if (!is_dir && report && name_wanted(de->d_name)) {
            mark_changed(w, child);
        } else {
            free(child);
        }
    }
    closedir(dp);
}

/* A subdirectory moved away: drop the watches of its whole subtree. */
static void subtree_remove(struct watch *w, const char *path)
{
    size_t n = strlen(path);
    for (int i = 0; i < w->ndirs;) {
        struct wdir *d = &w->dirs[i];
        if (strncmp(d->path, path, n) == 0 && (d->path[n] == '\0' || d->path[n] == '/')) {
            inotify_rm_watch(w->fd, d->wd);
            dir_remove(w, d); /* moves the last entry into i */
        } else {
            i++;
        }
    }
}

static void handle_event(struct watch *w, const struct inotify_event *ev)
{
    char q[512];
    if (ev->mask & IN_Q_OVERFLOW) {
        log_warn("watch", "inotify queue overflow, rescanning", "roots=%d", w->roots.n);
        w->overflow = 1;
        event_add(w->ev_debounce, &w->debounce);
        return;
    }
    struct wdir *d = dir_by_wd(w, ev->wd);
    if (!d) return; /* a watch we already dropped */
    if (ev->mask & IN_IGNORED) {
        log_info("watch", "watch removed", "dir=%s", log_quote(q, sizeof q, d->path));
        dir_remove(w, d);
        return;
    }
    const char *name = ev->len ? ev->name : "";
    if (!name[0]) return; /* IN_DELETE_SELF: IN_IGNORED follows and cleans up */
    if (ev->mask & IN_ISDIR) {
        if (!d->recursive || name[0] == '.') return;
        char *child = path_join(d->path, name);
        if (ev->mask & IN_MOVED_FROM) {
            subtree_remove(w, child);
        } else if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
            int r = dir_add(w, child, 1, IN_DONT_FOLLOW);
            if (r < 0)
                log_warn("watch", "cannot watch directory", "dir=%s err=%s",
                         log_quote(q, sizeof q, child), strerror(errno));
            else if (r > 0) scan_dir(w, child, 1, 1); /* d may be stale after this */
        }
        free(child);
        return;
    }
    if ((ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) && name_wanted(name))
        mark_changed(w, path_join(d->path, name));
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct watch *w = arg;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN)
                log_warn("watch", "inotify read failed", "err=%s", strerror(errno));
            return;
        }
        ASSERT(n > 0); /* inotify never reports end of file */
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            handle_event(w, ev);
            p += sizeof *ev + ev->len;
        }
    }
}

static void on_debounce(evutil_socket_t fd, short what, void *arg)
{
    struct watch *w = arg;
    if (w->overflow) {
        w->overflow = 0;
        for (int i = 0; i < w->roots.n; i++) scan_dir(w, w->roots.v[i], w->root_recursive[i], 1);
        event_del(w->ev_debounce); /* scan_dir re-armed it; this burst is over */
    }
    struct strv set = w->changed; /* detached: the callback may free the watch */
    w->changed = (struct strv){0};
    if (set.n == 0) return;
    w->fn((const char *const *)set.v, set.n, w->arg);
    strv_free(&set);
}

struct watch *watch_new(struct event_base *base, int debounce_ms, watch_fn fn, void *arg,
                        struct err *e)
{
    ASSERT(base && fn && debounce_ms >= 0);
    struct watch *w = xcalloc(1, sizeof *w);
    w->base = base;
    w->fn = fn;
    w->arg = arg;
    w->debounce.tv_sec = debounce_ms / 1000;
    w->debounce.tv_usec = (debounce_ms % 1000) * 1000;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0) {
        err_set(e, "inotify_init1: %s", strerror(errno));
        goto fail;
    }
    w->ev_read = event_new(base, w->fd, EV_READ | EV_PERSIST, on_readable, w);
    w->ev_debounce = evtimer_new(base, on_debounce, w);
    if (!w->ev_read || !w->ev_debounce || event_add(w->ev_read, NULL) < 0) {
        err_set(e, "cannot register inotify events with libevent");
        goto fail;
    }
    return w;
fail:
    watch_free(w);
    return NULL;
}

void watch_free(struct watch *w)
{
    if (!w) return;
    if (w->ev_read) event_free(w->ev_read);
    if (w->ev_debounce) event_free(w->ev_debounce);
    if (w->fd >= 0) close(w->fd);
    for (int i = 0; i < w->ndirs; i++) free(w->dirs[i].path);
    free(w->dirs);
    strv_free(&w->roots);
    free(w->root_recursive);
    strv_free(&w->changed);
    free(w);
}

int watch_add(struct watch *w, const char *dir, int recursive, struct err *e)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    char *root = xstrndup(dir, n);
    int r = dir_add(w, root, recursive != 0, 0);
    if (r < 0) {
        err_set(e, "cannot watch %s: %s", dir, strerror(errno));
        free(root);
        return -1;
    }
    if (r == 0) { /* already watched, as a root or inside one */
        free(root);
        return 0;
    }
    strv_push(&w->roots, root);
    w->root_recursive = xrealloc(w->root_recursive, (size_t)w->roots.n * sizeof(int));
    w->root_recursive[w->roots.n - 1] = recursive != 0;
    if (recursive) scan_dir(w, root, 1, 0);
    return 0;
}
