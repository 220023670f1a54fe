/* repl_internal.h: what the console server's files share: repl.c (socket, sessions,
 * the wire protocol), repl_eval.c (compiling and running a chunk, printing results),
 * repl_admin.c (the admin sandbox and its helpers), repl_complete.c (tab completion)
 * and repl_tail.c (the tail() stream). Not a contract for other modules: see repl.h. */
#ifndef LUATRADE_REPL_INTERNAL_H
#define LUATRADE_REPL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include "buf.h"
#include "event_log.h"
#include "repl.h"
#include "sbx.h"

struct bufferevent;
struct evconnlistener;
struct event;
struct sbx;
struct strategy;
struct audit;

#define REPL_LINE_MAX (1u << 20) /* longest line or \0eval chunk a client may send */
#define REPL_PLAIN_MAX                                                                             \
    (32u << 10)                   /* longest chunk typed line by line: each line parses            \
                                     the whole pending chunk again */
#define REPL_REPLY_MAX (8u << 20) /* output kept for one reply; the rest is dropped */
#define REPL_ID_MAX    64

enum repl_status { REPL_OK, REPL_ERROR, REPL_MORE };

struct repl {
    struct host *h;
    struct repl_config cfg;
    char path[108];
    struct evconnlistener *listener;
    struct audit *audit; /* chunks evaluated inside a strategy */
    struct repl_session **sessions;
    int nsessions;
    uid_t uid; /* the host's: the only peer uid let in */
};

struct repl_tail {
    int requested; /* tail() ran: the stream starts when its chunk is done */
    int active;
    int logs; /* stream log lines too */
    struct event_filter filter;
    int syms[EVENT_LIST_MAX];
    uint64_t log_after, ev_after; /* resume points */
    uint64_t skipped_logs;        /* skipped while the client did not read: log lines, */
    uint64_t skipped_to;          /* and events up to this seq (0: none) */
    struct event *timer;
};

struct repl_session {
    struct repl *r;
    struct bufferevent *bev;
    char who[96];               /* "console uid=1000 pid=42": audit records, kill reasons */
    struct buf pending;         /* lines of an incomplete chunk */
    struct buf out;             /* the reply being built */
    size_t dropped;             /* output bytes past REPL_REPLY_MAX in this reply */
    struct sbx *admin;          /* the session's admin sandbox */
    char attached[REPL_ID_MAX]; /* strategy id, "" when evaluating in the admin sandbox */
    size_t eval_need;           /* bytes still expected after "\0eval N" */
    int closing;                /* close once the output is written */
    struct repl_tail tail;
};

/* repl.c */
/* Sends s->out and the terminator for status (clears s->out). */
void repl_reply(struct repl_session *s, enum repl_status st);
/* Sends what s->out holds without a terminator (a stream's lines). */
void repl_flush(struct repl_session *s);
/* Appends a script's output to s->out with every NUL written as "\\0"; past
 * REPL_REPLY_MAX it is only counted (the reply says how much was dropped). */
void repl_out(struct repl_session *s, const char *p, size_t n);
/* The host's own message (an error, a note), always kept, NULs escaped. */
void repl_outf(struct repl_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes waiting to be written to the client (backpressure for streams). */
size_t repl_unsent(const struct repl_session *s);
/* The attached strategy, or NULL (then the session is detached, with a message in out,
 * when the strategy went away or is not loaded). */
struct strategy *repl_attached(struct repl_session *s);

/* repl_eval.c */
/* Evaluates code in the session's current sandbox: as an expression first ("return "
 * .. code), else as a statement; results pretty-printed into s->out, errors with their
 * location. With allow_more, a chunk the parser found incomplete returns REPL_MORE
 * (nothing evaluated). */
enum repl_status repl_eval(struct repl_session *s, const char *code, size_t len, int allow_more);

/* repl_admin.c */
/* The session's admin sandbox with the helpers. NULL with e filled. */
struct sbx *repl_admin_new(struct repl_session *s, struct err *e);

/* repl_complete.c */
/* Candidates completing text ("port", "state.po", "s:up") in the globals of L, one per
 * line into out, sorted. Raw access only. */
void repl_complete(lua_State *L, const char *text, struct buf *out);

/* repl_tail.c */
/* Starts streaming log lines and events matching s->tail (set by tail()). */
void repl_tail_start(struct repl_session *s);
/* Ends the stream: the terminator follows. */
void repl_tail_stop(struct repl_session *s);

#endif
