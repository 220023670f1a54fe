/* repl.c: the console server (see repl.h): the unix socket, sessions and the wire
 * protocol.
 *
 * The socket is bound under umask 0177, so it is 0600 from its first instant, and a
 * connection is let in only when SO_PEERCRED says the peer runs as the host's uid (a
 * socket file made readable by mistake still refuses other users). Each session is a
 * bufferevent on the loop with its own admin sandbox (repl_admin.c).
 *
 * Requests are read one at a time: a line (or a "\0eval N" body) is handled and its
 * reply written before the next is read. A client that sends but does not read makes
 * its output grow only until REPL_OUT_HIGH: then the session stops reading requests
 * until the output drains below REPL_OUT_LOW. A line longer than REPL_LINE_MAX ends the
 * session with an error reply. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "host.h"
#include "log.h"
#include "repl_internal.h"
#include "strategy.h"
#include "util.h"

#define REPL_OUT_HIGH (8u << 20)
#define REPL_OUT_LOW  (1u << 20)

static const char *const status_names[] = {"ok", "error", "more"};

/* ---- output ------------------------------------------------------------------------ */

static void put_escaped(struct repl_session *s, const char *p, size_t n)
{
    for (const char *end = p + n; p < end;) {
        const char *nul = memchr(p, 0, (size_t)(end - p));
        size_t k = nul ? (size_t)(nul - p) : (size_t)(end - p);
        buf_put(&s->out, p, k);
        if (nul) buf_puts(&s->out, "\\0");
        p += k + (nul != NULL);
    }
}

/* Says how much output was dropped, once per reply. */
static void note_dropped(struct repl_session *s)
{
    if (!s->dropped) return;
    if (s->out.len && s->out.p[s->out.len - 1] != '\n') buf_putc(&s->out, '\n');
    buf_printf(&s->out, "... (%zu bytes of output dropped: a reply keeps at most %u MiB)\n",
               s->dropped, REPL_REPLY_MAX >> 20);
    s->dropped = 0;
}

void repl_out(struct repl_session *s, const char *p, size_t n)
{
    if (!n) return;
    if (s->out.len >= REPL_REPLY_MAX) { /* a chunk printing in a loop */
        s->dropped += n;
        return;
    }
    put_escaped(s, p, n);
}

/* The host's own messages (errors, notes) are short and always kept. */
void repl_outf(struct repl_session *s, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    note_dropped(s);
    put_escaped(s, tmp, (size_t)MIN(MAX(n, 0), (int)sizeof tmp - 1));
}

size_t repl_unsent(const struct repl_session *s)
{
    return evbuffer_get_length(bufferevent_get_output(s->bev));
}

void repl_flush(struct repl_session *s)
{
    note_dropped(s);
    if (s->out.len) bufferevent_write(s->bev, s->out.p, s->out.len);
    buf_reset(&s->out);
}

void repl_reply(struct repl_session *s, enum repl_status st)
{
    note_dropped(s);
    if (s->out.len && s->out.p[s->out.len - 1] != '\n') buf_putc(&s->out, '\n');
    buf_putc(&s->out, '\0');
    buf_puts(&s->out, status_names[st]);
    if (s->attached[0]) buf_printf(&s->out, " %s", s->attached);
    buf_putc(&s->out, '\n');
    repl_flush(s);
}

struct strategy *repl_attached(struct repl_session *s)
{
    struct strategy *st = strategies_find(s->r->h->strategies, s->attached);
    if (st && strategy_sandbox(st)) return st;
    repl_outf(s, "%s %s: detached\n", s->attached,
              st ? "has no sandbox loaded (stopped or faulted)" : "no longer exists");
    s->attached[0] = 0;
    return NULL;
}

/* ---- sessions -------------------------------------------------------------------- */

static void session_free(struct repl_session *s)
{
    struct repl *r = s->r;
    for (int i = 0; i < r->nsessions; i++)
        if (r->sessions[i] == s) r->sessions[i] = r->sessions[--r->nsessions];
    if (s->tail.timer) event_free(s->tail.timer);
    bufferevent_free(s->bev);
    sbx_free(s->admin);
    buf_free(&s->pending);
    buf_free(&s->out);
    log_info("console", "session closed", "who=\"%s\"", s->who);
    free(s);
}

/* After the reply in out: the session ends once it is written. */
static void close_after(struct repl_session *s)
{
    s->closing = 1;
    bufferevent_disable(s->bev, EV_READ);
}

/* A finished evaluation: its reply, or the start of the stream tail() asked for. */
static void finish_eval(struct repl_session *s, enum repl_status st)
{
    int stream = s->tail.requested && st == REPL_OK;
    s->tail.requested = 0;
    if (!stream) return repl_reply(s, st);
    repl_flush(s);
    repl_tail_start(s);
}

static void handle_plain(struct repl_session *s, const char *line, size_t n)
{
    if (n && line[n - 1] == '\r') n--;
    if (s->pending.len + n + 1 > REPL_PLAIN_MAX) {
        buf_reset(&s->pending);
        repl_outf(s,
                  "console: a chunk typed line by line is limited to %u KiB; send longer "
                  "code in one piece (luatrade console -e, or \\0eval)\n",
                  REPL_PLAIN_MAX >> 10);
        return repl_reply(s, REPL_ERROR);
    }
    if (s->pending.len) buf_putc(&s->pending, '\n');
    buf_put(&s->pending, line, n);
    enum repl_status st = repl_eval(s, s->pending.p, s->pending.len, 1);
    if (st != REPL_MORE) buf_reset(&s->pending);
    finish_eval(s, st);
}

/* Completion runs as a host step: reading the globals must not escape the cap. */
struct complete_job {
    const char *text;
    struct buf *out;
};

static int complete_step(lua_State *L, void *ud)
{
    struct complete_job *j = ud;
    repl_complete(L, j->text, j->out);
    return 0;
}

static void handle_complete(struct repl_session *s, const char *text)
{
    struct strategy *st = s->attached[0] ? repl_attached(s) : NULL;
    struct sbx *x = st ? strategy_sandbox(st) : s->admin;
    struct buf cands = BUF_INIT;
    struct complete_job j = {text, &cands};
    struct err e = {0};
    if (sbx_host_step(x, complete_step, &j, 0, 0, &e) == 0) repl_out(s, cands.p, cands.len);
    buf_free(&cands);
    repl_reply(s, REPL_OK);
}

/* "\0eval N", "\0complete TEXT", "\0reset", "\0stop" (line without its NUL). */
static void handle_control(struct repl_session *s, const char *line, size_t n)
{
    char cmd[16];
    size_t k = strcspn(line, " ");
    snprintf(cmd, sizeof cmd, "%.*s", (int)MIN(k, sizeof cmd - 1), line);
    const char *arg = k < n ? line + k + 1 : "";
    if (!strcmp(cmd, "eval")) {
        char *end;
        errno = 0;
        unsigned long long len = strtoull(arg, &end, 10);
        if (!*arg || *end || errno || len > REPL_LINE_MAX || arg[0] == '-') {
            repl_outf(s, "console: \\0eval expects a length of at most %u bytes\n", REPL_LINE_MAX);
            return repl_reply(s, REPL_ERROR);
        }
        buf_reset(&s->pending);
        if (len == 0) return repl_reply(s, REPL_OK);
        s->eval_need = (size_t)len;
    } else if (!strcmp(cmd, "complete")) {
        handle_complete(s, arg);
    } else if (!strcmp(cmd, "reset")) {
        buf_reset(&s->pending);
        repl_reply(s, REPL_OK);
    } else if (!strcmp(cmd, "stop")) {
        /* no stream to stop (it ended by itself, or the client's Ctrl-C came before a
         * reply): nothing to say, or the client would take the answer for the next
         * request's */
    } else {
        repl_outf(s, "console: unknown control line '%s'\n", cmd);
        repl_reply(s, REPL_ERROR);
    }
}

static void handle_line(struct repl_session *s, const char *line, size_t n)
{
    if (s->tail.active) return repl_tail_stop(s); /* any line ends a stream */
    if (n && line[0] == '\0') return handle_control(s, line + 1, n - 1);
    handle_plain(s, line, n);
}

/* Handles every complete request in the input, one at a time. */
static void on_read(struct bufferevent *bev, void *arg)
{
    struct repl_session *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!s->closing && repl_unsent(s) < REPL_OUT_HIGH) {
        if (s->eval_need) {
            if (evbuffer_get_length(in) < s->eval_need) break;
            size_t n = s->eval_need;
            const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
            s->eval_need = 0;
            finish_eval(s, repl_eval(s, p, n, 0));
            evbuffer_drain(in, n);
            continue;
        }
        size_t n;
        char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
        if (!line) {
            if (evbuffer_get_length(in) > REPL_LINE_MAX) {
                repl_outf(s, "console: a line is limited to %u bytes; closing\n", REPL_LINE_MAX);
                repl_reply(s, REPL_ERROR);
                close_after(s);
            }
            break;
        }
        handle_line(s, line, n);
        free(line);
    }
    if (!s->closing && repl_unsent(s) >= REPL_OUT_HIGH) bufferevent_disable(bev, EV_READ);
}

/* The output drained below the low mark (or to nothing). */
static void on_write(struct bufferevent *bev, void *arg)
{
    struct repl_session *s = arg;
    if (s->closing) {
        if (!repl_unsent(s)) session_free(s);
        return;
    }
    if (!(bufferevent_get_enabled(bev) & EV_READ)) {
        bufferevent_enable(bev, EV_READ);
        on_read(bev, s);
    }
}

/* The client went away (error: at once), or half-closed (EOF: what it sent before is
 * answered, a stream ends, and the session goes once its output is written). */
static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct repl_session *s = arg;
    if (what & BEV_EVENT_ERROR) return session_free(s);
    if (!(what & BEV_EVENT_EOF)) return;
    if (!s->closing) on_read(bev, s);
    if (s->tail.active) repl_tail_stop(s);
    close_after(s);
    if (!repl_unsent(s)) session_free(s);
}

/* Says why on the raw socket (nothing is queued yet) and closes it. */
static void refuse(evutil_socket_t fd, const char *why)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "console: %s\n%cerror\n", why, 0);
    ssize_t w = send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    evutil_closesocket(fd);
}

static void session_open(struct repl *r, evutil_socket_t fd, const struct ucred *cred)
{
    struct repl_session *s = xcalloc(1, sizeof *s);
    s->r = r;
    snprintf(s->who, sizeof s->who, "console uid=%u pid=%d", (unsigned)cred->uid, (int)cred->pid);
    struct err e = {0};
    if (!(s->admin = repl_admin_new(s, &e))) {
        refuse(fd, e.msg);
        free(s);
        return;
    }
    s->bev = bufferevent_socket_new(r->h->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!s->bev) {
        refuse(fd, "the host cannot open a session now");
        sbx_free(s->admin);
        free(s);
        return;
    }
    bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
    bufferevent_setwatermark(s->bev, EV_WRITE, REPL_OUT_LOW, 0);
    bufferevent_enable(s->bev, EV_READ);
    r->sessions = xrealloc(r->sessions, (size_t)(r->nsessions + 1) * sizeof *r->sessions);
    r->sessions[r->nsessions++] = s;
    log_info("console", "session opened", "who=\"%s\"", s->who);
    repl_outf(s, "luatrade %s console: help() lists the helpers\n", LUATRADE_VERSION);
    repl_reply(s, REPL_OK);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    struct repl *r = arg;
    struct ucred cred;
    socklen_t cl = sizeof cred;
    char why[160];
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
        log_warn("console", "refused: no peer credentials", "errno=%d", errno);
        return refuse(fd, "refused: the peer's credentials cannot be read");
    }
    if (cred.uid != r->uid) {
        log_warn("console", "refused a peer of another user", "uid=%u pid=%d host_uid=%u",
                 (unsigned)cred.uid, (int)cred.pid, (unsigned)r->uid);
        snprintf(why, sizeof why, "permission denied: uid %u is not the host's user (uid %u)",
                 (unsigned)cred.uid, (unsigned)r->uid);
        return refuse(fd, why);
    }
    if (r->nsessions >= r->cfg.max_sessions) {
        snprintf(why, sizeof why, "too many console sessions (max %d)", r->cfg.max_sessions);
        return refuse(fd, why);
    }
    session_open(r, fd, &cred);
}

/* ---- the socket ---------------------------------------------------------------- */

/* A socket file left by a host that died is removed; a live one, or a file that is not
 * a socket, is an error. */
static int clear_stale(const char *path, struct err *e)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : err_set(e, "console: %s: %s", path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return err_set(e, "console: %s exists and is not a socket; move it away", path);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    util_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
    /* non-blocking: a live host with a full backlog answers EAGAIN instead of
     * holding this start */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    int why = errno;
    live = live || (fd >= 0 && why == EAGAIN);
    if (fd >= 0) close(fd);
    if (live) return err_set(e, "console: a host is already listening on %s", path);
    if (why != ECONNREFUSED && why != ENOENT)
        return err_set(e, "console: %s: %s", path, strerror(why));
    if (unlink(path) != 0 && errno != ENOENT)
        return err_set(e, "console: cannot remove the stale socket %s: %s", path, strerror(errno));
    log_info("console", "replaced a stale socket", "path=%s", path);
    return 0;
}

static int bind_socket(struct repl *r, struct err *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    util_strlcpy(sa.sun_path, r->path, sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return err_set(e, "console: socket: %s", strerror(errno));
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc != 0 || chmod(r->path, 0600) != 0) {
        err_set(e, "console: cannot bind %s: %s", r->path, strerror(errno));
        close(fd);
        return -1;
    }
    r->listener = evconnlistener_new(r->h->base, on_accept, r,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16, fd);
    if (!r->listener) {
        close(fd);
        return err_set(e, "console: cannot listen on %s: %s", r->path, strerror(errno));
    }
    return 0;
}

struct repl *repl_new(struct host *h, const struct repl_config *cfg, struct err *e)
{
    struct repl *r = xcalloc(1, sizeof *r);
    r->h = h;
    r->cfg = *cfg;
    r->uid = geteuid();
    if (strlen(cfg->path) >= sizeof r->path) {
        err_set(e, "console: socket path %s is longer than %zu bytes", cfg->path,
                sizeof r->path - 1);
        free(r);
        return NULL;
    }
    util_strlcpy(r->path, cfg->path, sizeof r->path);
    char audit_path[4096];
    snprintf(audit_path, sizeof audit_path, "%s/audit.log", h->cfg->var_dir);
    if (clear_stale(r->path, e) != 0 || !(r->audit = audit_open(audit_path, e)) ||
        bind_socket(r, e) != 0) {
        audit_close(r->audit);
        free(r);
        return NULL;
    }
    log_info("console", "listening", "socket=%s", r->path);
    return r;
}

void repl_free(struct repl *r)
{
    if (!r) return;
    while (r->nsessions) session_free(r->sessions[0]);
    free(r->sessions);
    if (r->listener) evconnlistener_free(r->listener);
    unlink(r->path);
    audit_close(r->audit);
    free(r);
}
