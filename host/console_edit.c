/* console_edit.c: the interactive console: libedit's readline compatibility API, never
 * GNU readline (notes/libraries.md §4: GPL; libedit's callback API was glitchy, so this
 * is the blocking readline() loop).
 *
 * Each line typed is sent as a plain line and answered by one reply; a `more` reply
 * switches the prompt to ">> " and the lines accumulate into one history entry, added
 * (and the history file rewritten, 0600, at most CONSOLE_HISTORY_MAX entries) when the
 * chunk completes. The prompt shows the context the last terminator carried.
 *
 * Ctrl-C: libedit catches SIGINT while it reads (rl_catch_signals), puts the terminal
 * back in cooked mode and re-raises the signal to our counting handler
 * (console_conn.c); the blocked read() then fails with EINTR and readline() returns NULL
 * with console_sigint set. That is how Ctrl-C at a prompt is told from Ctrl-D (NULL
 * without it): the line and any pending chunk are dropped ("\0reset\n"). Ctrl-C while a
 * reply streams is console_wait's job ("\0stop\n"). libedit restores the terminal before
 * readline() returns and before a fatal signal's default action, so the terminal is
 * never left raw. While a reply is awaited the terminal is in cooked mode: what is typed
 * meanwhile is echoed by the terminal and read by the next readline() (a Ctrl-D typed
 * then is lost to the terminal's line discipline, as with any readline program).
 *
 * Completion: Tab calls complete() inside readline(); it asks the host ("\0complete
 * TEXT\n") for the candidates of the word before the cursor, whose break characters
 * leave out '.' and ':' so that "state.po" and "s:up" are one word. libedit's callbacks
 * carry no user pointer, hence the file-level `edit` state. */
#include "console_internal.h"

#include <editline/readline.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "util.h"

#define CONSOLE_HISTORY_MAX    1000
#define CONSOLE_COMPLETE_MS    5000
#define CONSOLE_CANDIDATES_MAX 4096

struct edit {
    struct console *c;
    struct buf chunk; /* the lines of the chunk being typed: one history entry */
    int more;         /* the last reply was `more` */
    char *last;       /* the last history entry, not added twice in a row */
    char history[4096];
    char prompt[CONSOLE_REPLY_TERM_MAX + 16];
    char **cands; /* completion candidates, handed out by next_candidate */
    int ncands, next;
    struct err lost; /* why the connection was lost inside readline() */
    int dead;
};

static struct edit edit;

/* Lua's operators and brackets break words; '.' and ':' do not ("state.po", "s:up"). */
static char word_breaks[] = " \t\n\"'`@$><=;|&{(+-*/%^~#,[])}";

static void history_open(void)
{
    const char *env = getenv("LUATRADE_HISTORY"), *home = getenv("HOME");
    if (env && *env) util_strlcpy(edit.history, env, sizeof edit.history);
    else if (home && *home)
        snprintf(edit.history, sizeof edit.history, "%s/.luatrade_history", home);
    using_history();
    stifle_history(CONSOLE_HISTORY_MAX);
    if (edit.history[0]) read_history(edit.history);
    HIST_ENTRY *newest = history_get(history_base + history_length - 1);
    if (newest && newest->line) edit.last = xstrdup(newest->line);
}

/* Rewrites the history file, created 0600 (write_history alone would honour the umask). */
static void history_save(void)
{
    if (!edit.history[0]) return;
    int fd = open(edit.history, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    fchmod(fd, 0600);
    close(fd);
    write_history(edit.history);
}

static void history_add(const char *entry)
{
    if (!entry[strspn(entry, " \t\n")]) return;
    if (edit.last && !strcmp(edit.last, entry)) return;
    add_history(entry);
    free(edit.last);
    edit.last = xstrdup(entry);
    history_save();
}

static void free_candidates(void)
{
    for (int i = 0; i < edit.ncands; i++) free(edit.cands[i]);
    free(edit.cands);
    edit.cands = NULL;
    edit.ncands = edit.next = 0;
}

/* Keeps the collected lines that extend text and are safe to put into the line. */
static void take_candidates(const struct buf *out, const char *text)
{
    size_t tn = strlen(text);
    edit.cands = xcalloc(CONSOLE_CANDIDATES_MAX, sizeof *edit.cands);
    for (const char *p = out->p, *end = out->p + out->len; p && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int ok = n >= tn && !memcmp(p, text, tn) && edit.ncands < CONSOLE_CANDIDATES_MAX;
        for (size_t i = 0; ok && i < n; i++) ok = (unsigned char)p[i] >= 0x20 && p[i] != 0x7f;
        if (ok) edit.cands[edit.ncands++] = xstrndup(p, n);
        p = nl ? nl + 1 : end;
    }
}

static char *next_candidate(const char *text, int state)
{
    (void)text;
    (void)state;
    return edit.next < edit.ncands ? xstrdup(edit.cands[edit.next++]) : NULL;
}

/* rl_attempted_completion_function: the host's candidates for the word before the cursor. */
static char **complete(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    if (edit.dead) return NULL;
    struct buf req = BUF_INIT;
    buf_putc(&req, '\0');
    buf_printf(&req, "complete %s\n", text);
    int st = console_send(edit.c, req.p, req.len, &edit.lost);
    if (st == 0) st = console_wait(edit.c, CONSOLE_WAIT_COLLECT, CONSOLE_COMPLETE_MS, &edit.lost);
    buf_free(&req);
    edit.dead = st < 0;
    if (st != CONSOLE_OK) return NULL;
    take_candidates(&edit.c->out, text);
    char **matches = edit.ncands ? rl_completion_matches(text, next_candidate) : NULL;
    free_candidates();
    return matches;
}

static const char *prompt(void)
{
    if (edit.more) return ">> ";
    if (!edit.c->context[0]) return "luatrade> ";
    snprintf(edit.prompt, sizeof edit.prompt, "luatrade:%s> ", edit.c->context);
    return edit.prompt;
}

/* Sends one line, prints its reply. Returns 0, or -1 with edit.lost filled. */
static int send_line(const char *line, size_t n)
{
    struct buf req = BUF_INIT;
    buf_put(&req, line, n);
    buf_putc(&req, '\n');
    if (edit.chunk.len) buf_putc(&edit.chunk, '\n');
    buf_put(&edit.chunk, line, n);
    int st = console_request(edit.c, req.p, req.len, CONSOLE_WAIT_STOPPABLE, &edit.lost);
    buf_free(&req);
    if (st < 0) return -1;
    edit.more = st == CONSOLE_MORE;
    if (!edit.more) {
        history_add(edit.chunk.len ? edit.chunk.p : "");
        buf_reset(&edit.chunk);
    }
    return 0;
}

/* A line from readline(); one from history may hold several lines of a chunk. */
static int submit(const char *line)
{
    for (;;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (send_line(line, n) != 0) return -1;
        if (!nl) return 0;
        line = nl + 1;
    }
}

/* Ctrl-C at a prompt: the line and any pending chunk are dropped. Returns 0 or -1. */
static int interrupt(void)
{
    fputc('\n', stdout);
    fflush(stdout);
    edit.more = 0;
    buf_reset(&edit.chunk);
    int st = console_request(edit.c, "\0reset\n", 7, 0, &edit.lost);
    return st < 0 ? -1 : 0;
}

/* Reads one byte of the terminal. Returns 0, or -1 at end of input or after a Ctrl-C:
 * SIGINT is let through only inside ppoll, so one that came before the read is seen. */
static int read_byte(int fd, char *b)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    int rc = -1;
    while (!console_sigint) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (ppoll(&pfd, 1, NULL, &old) < 0) {
            if (errno == EINTR) continue; /* Ctrl-C, or libedit's SIGWINCH and SIGCONT */
            break;
        }
        /* non-blocking: a Ctrl-C between the poll and the read makes the terminal
         * discard the pending keys, and a blocking read would then wait, with the
         * signal blocked, for the next key */
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        ssize_t n = read(fd, b, 1);
        int err = errno;
        fcntl(fd, F_SETFL, fl);
        errno = err;
        if (n == 1) rc = 0;
        if (n == 1 || n == 0 || (errno != EINTR && errno != EAGAIN)) break;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* rl_getc_function: one character (a wide character: libedit decodes nothing that comes
 * through here), or -1, which readline() takes for the end of input. libedit's own read
 * would miss a Ctrl-C pressed between the prompt and its read(), which happens whenever
 * keys come fast (a paste, a test), and leave readline() blocked. */
static int read_char(FILE *f)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    for (;;) {
        char b;
        wchar_t wc;
        if (read_byte(fileno(f), &b) != 0) return -1;
        size_t k = mbrtowc(&wc, &b, 1, &st);
        if (k == (size_t)-2) continue; /* inside a multibyte character */
        if (k == (size_t)-1) {         /* not a character: dropped */
            memset(&st, 0, sizeof st);
            continue;
        }
        return (int)wc;
    }
}

static void setup(struct console *c)
{
    edit.c = c;
    console_sigint_install(c);
    setlocale(LC_CTYPE, ""); /* else libedit drops every non-ASCII key */
    rl_readline_name = "luatrade";
    rl_getc_function = read_char; /* before rl_initialize, which installs it */
    rl_initialize();
    rl_attempted_completion_function = complete;
    rl_completer_word_break_characters = word_breaks;
    rl_basic_word_break_characters = word_breaks; /* the one libedit actually reads */
    rl_completion_append_character = '\0';
    history_open();
}

int console_interactive(struct console *c)
{
    setup(c);
    int rc = 0;
    for (;;) {
        console_sigint = 0;
        char *line = readline(prompt());
        if (edit.dead) rc = -1;
        else if (line) rc = submit(line);
        else if (console_sigint) rc = interrupt();
        else break;
        free(line);
        if (rc != 0) break;
    }
    if (rc == 0) fputc('\n', stdout); /* after the "^D" libedit echoed */
    else fprintf(stderr, "luatrade: %s\n", edit.lost.msg);
    free_candidates();
    free(edit.last);
    buf_free(&edit.chunk);
    return rc == 0 ? 0 : 1;
}
