/* feed_csv_layout.c: the slow half of feed_csv_parse.h: telling a file's layout from its
 * header or first row, the text of fields (quote-aware bounds, trimmed of blanks and one
 * pair of quotes) and the messages built from them. feed_csv_parse.c keeps the hot half
 * (times, numbers, rows, values) and calls these helpers on its slow paths only.
 *
 * Layouts: a header is a line whose first field starts with a letter; each name maps to
 * a role through col_aliases (case-insensitive, ' ' and '-' read as '_'), every role at
 * most once, and the roles must make bars (open, high, low, close, volume) or ticks
 * (price, size, and the four quote columns or none). A headerless file is told by its
 * column count and whether column 2 is a number (bare_layouts). layout_fast marks the
 * layouts csv_parse_row has a fast path for.
 *
 * Messages: "expected <what>, got "<field>"", the field cut at QUOTE_TEXT_MAX bytes and
 * with bytes outside printable ASCII written as \xNN, so that a binary file yields a
 * readable one-line error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "feed_csv_parse.h"
#include "util.h"

#define QUOTE_TEXT_MAX 40 /* bytes of a field quoted in a message */
#define COL_NAME_MAX   32 /* longest header name compared */

/* ---- fields and messages ---------------------------------------------------------- */

/* The end of the field starting at p: the next ',' outside double quotes, or end. */
const char *csv_field_end(const char *p, const char *end)
{
    int quoted = 0;
    for (; p < end; p++) {
        if (*p == '"') quoted = !quoted;
        else if (*p == ',' && !quoted) break;
    }
    return p;
}

/* The text of the field [p, fe): without surrounding blanks and one pair of quotes. */
void csv_field_text(const char *p, const char *fe, const char **s, size_t *n)
{
    while (p < fe && (*p == ' ' || *p == '\t')) p++;
    while (fe > p && (fe[-1] == ' ' || fe[-1] == '\t')) fe--;
    if (fe - p >= 2 && *p == '"' && fe[-1] == '"') p++, fe--;
    *s = p;
    *n = (size_t)(fe - p);
}

static int count_fields(const char *line, size_t n)
{
    const char *p = line, *end = line + n;
    int count = 1;
    while ((p = csv_field_end(p, end)) < end) p++, count++;
    return count;
}

/* The text of column col (0-based) of the line; "" past its last column. */
static void column_text(const char *line, size_t n, int col, const char **s, size_t *len)
{
    const char *p = line, *end = line + n;
    for (int i = 0; i < col; i++) {
        p = csv_field_end(p, end);
        if (p == end) {
            *s = end;
            *len = 0;
            return;
        }
        p++;
    }
    csv_field_text(p, csv_field_end(p, end), s, len);
}

/* Appends s[0..n) to buf as a message shows a field: in quotes, escaped, cut short. */
void csv_quote_text(char *buf, size_t size, const char *s, size_t n)
{
    size_t o = strlen(buf);
    if (o + 1 < size) buf[o++] = '"';
    for (size_t i = 0; i < n && i < QUOTE_TEXT_MAX && o + 5 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') buf[o++] = (char)c;
        else o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
    }
    if (n > QUOTE_TEXT_MAX && o + 4 < size) memcpy(buf + o, "...", 3), o += 3;
    if (o + 1 < size) buf[o++] = '"';
    buf[o < size ? o : size - 1] = '\0';
}

static int vfail(struct csv_fail *f, int col, const char *fmt, va_list ap)
{
    f->col = col;
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    return -1;
}

int csv_fail_set(struct csv_fail *f, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(f, col, fmt, ap);
    va_end(ap);
    return -1;
}

int csv_fail_got(struct csv_fail *f, const char *line, size_t n, int col, const char *fmt, ...)
{
    const char *s;
    size_t len;
    va_list ap;
    va_start(ap, fmt);
    vfail(f, col + 1, fmt, ap);
    va_end(ap);
    column_text(line, n, col, &s, &len);
    size_t o = strlen(f->msg);
    snprintf(f->msg + o, sizeof f->msg - o, ", got ");
    csv_quote_text(f->msg, sizeof f->msg, s, len);
    return -1;
}

/* Fails with the line's column count when it is not L's, else returns 0. */
int csv_check_count(const struct csv_layout *L, const char *line, size_t n, struct csv_fail *fail)
{
    int got = count_fields(line, n);
    if (got == L->ncols) return 0;
    return csv_fail_set(fail, got < L->ncols ? got + 1 : L->ncols + 1,
                        "expected %d columns, got %d", L->ncols, got);
}

static const char *const col_names[CSV_COL__COUNT] = {
    "ignored", "time",  "symbol", "open", "high", "low",      "close",
    "volume",  "price", "size",   "bid",  "ask",  "bid_size", "ask_size"};

const char *csv_col_name(enum csv_col c)
{
    ASSERT((unsigned)c < CSV_COL__COUNT);
    return col_names[c];
}

/* ---- layouts ---------------------------------------------------------------------- */

struct col_alias {
    const char *name; /* lower case, '_' for blanks and '-' */
    enum csv_col col;
};

static const struct col_alias col_aliases[] = {
    {"time", CSV_COL_TIME},
    {"date", CSV_COL_TIME},
    {"timestamp", CSV_COL_TIME},
    {"datetime", CSV_COL_TIME},
    {"symbol", CSV_COL_SYMBOL},
    {"ticker", CSV_COL_SYMBOL},
    {"open", CSV_COL_OPEN},
    {"high", CSV_COL_HIGH},
    {"low", CSV_COL_LOW},
    {"close", CSV_COL_CLOSE},
    {"volume", CSV_COL_VOLUME},
    {"price", CSV_COL_PRICE},
    {"size", CSV_COL_SIZE},
    {"qty", CSV_COL_SIZE},
    {"quantity", CSV_COL_SIZE},
    {"bid", CSV_COL_BID},
    {"ask", CSV_COL_ASK},
    {"bid_size", CSV_COL_BID_SIZE},
    {"bid_qty", CSV_COL_BID_SIZE},
    {"ask_size", CSV_COL_ASK_SIZE},
    {"ask_qty", CSV_COL_ASK_SIZE},
    /* Yahoo's and Alpha Vantage's adjusted series: read over. */
    {"adj_close", CSV_COL_IGNORE},
    {"adjusted_close", CSV_COL_IGNORE},
    {"dividend_amount", CSV_COL_IGNORE},
    {"split_coefficient", CSV_COL_IGNORE},
};

/* The role a header name stands for, or -1. */
static int col_of_name(const char *s, size_t n)
{
    char name[COL_NAME_MAX];
    if (n == 0 || n >= sizeof name) return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        name[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c == ' ' || c == '-' ? '_' : c;
    }
    name[n] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(col_aliases); i++)
        if (strcmp(name, col_aliases[i].name) == 0) return (int)col_aliases[i].col;
    return -1;
}

static void layout_init(struct csv_layout *L, int ncols)
{
    memset(L, 0, sizeof *L);
    L->ncols = ncols;
    memset(L->col, -1, sizeof L->col);
}

static void layout_put(struct csv_layout *L, int i, enum csv_col c)
{
    L->role[i] = (unsigned char)c;
    if (c != CSV_COL_IGNORE) L->col[c] = (signed char)i;
}

/* Sets L->fast_from when the layout is a time, maybe a symbol, then numbers (read over
 * or not): the layouts of every format this reader knows, in their usual order. */
static void layout_fast(struct csv_layout *L)
{
    int from = 1 + (L->ncols > 1 && L->role[1] == CSV_COL_SYMBOL);
    L->fast_from = 0;
    if (L->role[0] != CSV_COL_TIME || from >= L->ncols) return;
    for (int i = from; i < L->ncols; i++)
        if (L->role[i] != CSV_COL_IGNORE && L->role[i] < CSV_COL_OPEN) return;
    L->fast_from = from;
}

/* Missing columns of a kind: the first of cols[0..n) absent from L, or -1. */
static int first_missing(const struct csv_layout *L, const enum csv_col *cols, int n)
{
    for (int i = 0; i < n; i++)
        if (L->col[cols[i]] < 0) return (int)cols[i];
    return -1;
}

/* Decides the kind of a header's columns and checks that the kind is complete. */
static int header_kind(struct csv_layout *L, struct csv_fail *fail)
{
    static const enum csv_col bar_cols[] = {CSV_COL_OPEN, CSV_COL_HIGH, CSV_COL_LOW, CSV_COL_CLOSE,
                                            CSV_COL_VOLUME};
    static const enum csv_col tick_cols[] = {CSV_COL_PRICE, CSV_COL_SIZE};
    static const enum csv_col quote_cols[] = {CSV_COL_BID, CSV_COL_ASK, CSV_COL_BID_SIZE,
                                              CSV_COL_ASK_SIZE};
    int nquote = 0, bar = 0, tick = L->col[CSV_COL_PRICE] >= 0 || L->col[CSV_COL_SIZE] >= 0;
    for (int i = 0; i < 5; i++) bar |= L->col[bar_cols[i]] >= 0;
    for (int i = 0; i < 4; i++) nquote += L->col[quote_cols[i]] >= 0;
    if (L->col[CSV_COL_TIME] < 0)
        return csv_fail_set(fail, 1,
                            "expected a time column (time, date, timestamp or datetime), got none");
    if (bar && (tick || nquote))
        return csv_fail_set(fail, 1, "expected the columns of ticks or of bars, got both");
    if (!bar && !tick && !nquote)
        return csv_fail_set(fail, 1,
                            "expected price and size (ticks) or open, high, low, close and volume "
                            "(bars), got none of them");
    int miss = bar ? first_missing(L, bar_cols, 5) : first_missing(L, tick_cols, 2);
    if (miss >= 0)
        return csv_fail_set(fail, 1, "expected a %s column, got none", csv_col_name(miss));
    if (nquote != 0 && nquote != 4)
        return csv_fail_set(
            fail, 1, "expected bid, ask, bid_size and ask_size together, got %d of them", nquote);
    L->kind = bar ? CSV_BAR : CSV_TICK;
    L->has_quote = nquote == 4;
    layout_fast(L);
    return 0;
}

static int detect_header(const char *line, size_t n, int nf, struct csv_layout *L,
                         struct csv_fail *fail)
{
    const char *p = line, *end = line + n;
    layout_init(L, nf);
    L->has_header = 1;
    for (int i = 0; i < nf; i++, p++) {
        const char *fe = csv_field_end(p, end), *s;
        size_t len;
        csv_field_text(p, fe, &s, &len);
        int c = col_of_name(s, len);
        if (c < 0)
            return csv_fail_got(fail, line, n, i,
                                "expected a column name (time, symbol, open, high, low, close, "
                                "volume, price, size, bid, ask, bid_size, ask_size, adj close)");
        if (c != CSV_COL_IGNORE && L->col[c] >= 0)
            return csv_fail_got(fail, line, n, i, "expected each column once");
        layout_put(L, i, (enum csv_col)c);
        p = fe;
    }
    return header_kind(L, fail);
}

/* The headerless layouts, told by the column count and whether column 2 is a symbol. */
struct bare_layout {
    int ncols, symbol;
    enum csv_kind kind;
    enum csv_col cols[8];
};

static const struct bare_layout bare_layouts[] = {
    {4, 1, CSV_TICK, {CSV_COL_TIME, CSV_COL_SYMBOL, CSV_COL_PRICE, CSV_COL_SIZE}},
    {8,
     1,
     CSV_TICK,
     {CSV_COL_TIME, CSV_COL_SYMBOL, CSV_COL_PRICE, CSV_COL_SIZE, CSV_COL_BID, CSV_COL_ASK,
      CSV_COL_BID_SIZE, CSV_COL_ASK_SIZE}},
    {7,
     1,
     CSV_BAR,
     {CSV_COL_TIME, CSV_COL_SYMBOL, CSV_COL_OPEN, CSV_COL_HIGH, CSV_COL_LOW, CSV_COL_CLOSE,
      CSV_COL_VOLUME}},
    /* Yahoo Finance: Date,Open,High,Low,Close,Adj Close,Volume */
    {7,
     0,
     CSV_BAR,
     {CSV_COL_TIME, CSV_COL_OPEN, CSV_COL_HIGH, CSV_COL_LOW, CSV_COL_CLOSE, CSV_COL_IGNORE,
      CSV_COL_VOLUME}},
    /* Alpha Vantage: timestamp,open,high,low,close,volume */
    {6,
     0,
     CSV_BAR,
     {CSV_COL_TIME, CSV_COL_OPEN, CSV_COL_HIGH, CSV_COL_LOW, CSV_COL_CLOSE, CSV_COL_VOLUME}},
};

static int detect_bare(const char *line, size_t n, int nf, struct csv_layout *L,
                       struct csv_fail *fail)
{
    const char *s;
    size_t len;
    struct csv_dec d;
    column_text(line, n, 1, &s, &len);
    int symbol = nf >= 2 && csv_parse_number(s, len, &d) < 0;
    for (size_t k = 0; k < ARRAY_LEN(bare_layouts); k++) {
        const struct bare_layout *b = &bare_layouts[k];
        if (b->ncols != nf || b->symbol != symbol) continue;
        layout_init(L, nf);
        L->kind = b->kind;
        L->has_quote = b->ncols == 8;
        for (int i = 0; i < nf; i++) layout_put(L, i, b->cols[i]);
        layout_fast(L);
        return 0;
    }
    return csv_fail_set(fail, 1,
                        "expected a header, or rows of ticks (time,symbol,price,size[,bid,ask,"
                        "bid_size,ask_size]) or bars (time,symbol,open,high,low,close,volume; "
                        "Yahoo's 7 or Alpha Vantage's 6 columns without a symbol), got %d columns "
                        "with column 2 %s",
                        nf, symbol ? "not a number" : "a number");
}

int csv_layout_detect(const char *line, size_t n, struct csv_layout *L, struct csv_fail *fail)
{
    const char *s;
    size_t len;
    int nf = count_fields(line, n);
    if (nf > CSV_MAX_COLS)
        return csv_fail_set(fail, CSV_MAX_COLS + 1, "expected at most %d columns, got %d",
                            CSV_MAX_COLS, nf);
    column_text(line, n, 0, &s, &len);
    int letter = len > 0 && ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'));
    return letter ? detect_header(line, n, nf, L, fail) : detect_bare(line, n, nf, L, fail);
}
