/* feed_csv_parse.c: the hot half of feed_csv_parse.h: times, numbers, rows and values
 * (feed_csv_layout.c has layouts, field text and messages). Nothing here allocates,
 * calls strtod, strptime or mktime, or depends on the locale.
 *
 * Speed: a backtest parses tens of millions of lines. A plain line of a known layout
 * (read_fast: a time, maybe a symbol, then numbers; no quotes, blanks or empty fields)
 * is read a word at a time: its commas become one SSE2 bit mask, so each field's bounds
 * are known at once and the fields are read independently of each other (no chain of
 * positions through the line for the CPU to wait on); a number of up to 8 bytes is one
 * 8-byte load checked for digits and an optional '.' and converted without a branch per
 * digit (SWAR: Lemire's 8-digit method); an epoch time is two such loads. Anything else
 * takes the general path (read_columns): fields one after the other, each read by a
 * scanner and, when it does not end exactly at the field's end (blanks, quotes, an
 * empty field, a sign, an exponent, garbage), trimmed and parsed again as a whole, or
 * reported. Both paths give the same values (the unit tests and the fuzzer compare).
 *
 * Numbers are exact decimals (csv_dec: a 19-digit mantissa and a power of ten) until
 * csv_dec_units puts them on a grid with integer arithmetic (128-bit where a product
 * can pass 64), so 182.889999 on a 0.01 tick is 18289 units, never 18288.
 *
 * Times: util_days_from_civil (H. Hinnant's algorithm) and a few multiplications, no libc.
 * Epoch numbers are told apart by magnitude: below 1e11 seconds (until 5138), below
 * 1e14 milliseconds, else microseconds (nanosecond epochs pass CSV_MAX_TIME_US and are
 * refused rather than misread).
 *
 * When a field fails, the line's columns are counted first: a wrong column count is
 * the better explanation of a misplaced value. */
#include "feed_csv_parse.h"

#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fixed.h"
#include "util.h"

#define SIG_DIGITS_MAX  19     /* significant digits a uint64 mantissa holds */
#define EXP_LIMIT       100000 /* exponents are clamped here: far past overflow or zero */
#define EPOCH_DIGITS    18     /* CSV_MAX_TIME_US has 18 digits */
#define FRAC_DIGITS_MAX 9      /* fraction digits of an epoch kept (then truncated) */
#define EPOCH_MS_FROM   UINT64_C(100000000000)    /* 1e11 */
#define EPOCH_US_FROM   UINT64_C(100000000000000) /* 1e14 */
#define US_PER_S        INT64_C(1000000)
#define US_PER_MS       INT64_C(1000)
#define SECONDS_PER_DAY INT64_C(86400)

static const uint64_t pow10_u64[20] = {1,
                                       10,
                                       100,
                                       1000,
                                       10000,
                                       100000,
                                       1000000,
                                       10000000,
                                       100000000,
                                       1000000000,
                                       10000000000,
                                       100000000000,
                                       1000000000000,
                                       10000000000000,
                                       100000000000000,
                                       1000000000000000,
                                       10000000000000000,
                                       100000000000000000,
                                       1000000000000000000,
                                       UINT64_C(10000000000000000000)};

static inline int is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

/* SWAR digit runs (little-endian only; elsewhere the byte loops do all the work): the
 * common number is read 8 bytes at a time instead of a branch per digit. Callers load
 * whole 8-byte chunks only from inside the line. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CSV_SWAR 1
#define BYTES(b) (UINT64_C(0x0101010101010101) * (b))

/* The number of leading digit characters among the 8 bytes of c (first byte lowest). A
 * byte of 0xfa or more carries into the next when 6 is added, which only disturbs bytes
 * after a non-digit. */
static inline int swar_digits(uint64_t c)
{
    uint64_t t = (c & BYTES(0xf0)) | (((c + BYTES(0x06)) & BYTES(0xf0)) >> 4);
    uint64_t x = t ^ BYTES(0x33);
    return x ? __builtin_ctzll(x) >> 3 : 8;
}

/* The value of the first n (1..8) digit characters of c: shifted to the top so that the
 * bytes below are leading zeros, then combined pairwise (D. Lemire's 8-digit method). */
static inline uint64_t swar_value(uint64_t c, int n)
{
    uint64_t v = (c - BYTES(0x30)) << (8 * (8 - n));
    v = v * 10 + (v >> 8);
    v = ((v & UINT64_C(0x000000ff000000ff)) * UINT64_C(0x000f424000000064) +
         ((v >> 16) & UINT64_C(0x000000ff000000ff)) * UINT64_C(0x0000271000000001)) >>
        32;
    return v;
}

static inline uint64_t load8(const char *p)
{
    uint64_t c;
    memcpy(&c, p, 8);
    return c;
}
#endif

/* ---- numbers ---------------------------------------------------------------------- */

/* Reads a decimal at p; the position after it, or NULL without a mantissa digit or
 * with an exponent mark not followed by digits. */
#ifdef CSV_SWAR
/* Reads a field of len (1..8) bytes, given as the low bytes of c (whatever is above),
 * when it is digits with at most one '.': the common number, without a branch per
 * digit. The digits before the '.' move up over it, so that one 8-digit conversion
 * reads them all; the low nibble of a digit is its value. 0, or -1 for anything else
 * (a sign, an exponent, garbage: the byte loop decides). */
static inline int dec_chunk(uint64_t c, int len, struct csv_dec *d)
{
    uint64_t keep = ~UINT64_C(0) >> (8 * (8 - len));
    uint64_t t = (c & BYTES(0xf0)) | (((c + BYTES(0x06)) & BYTES(0xf0)) >> 4);
    uint64_t x = (t ^ BYTES(0x33)) & keep; /* nonzero bytes: not digits */
    int frac = 0;
    if (x) {
        int dot = __builtin_ctzll(x) >> 3;
        uint64_t at = UINT64_C(0xff) << (8 * dot), below = (UINT64_C(1) << (8 * dot)) - 1;
        if ((x & ~at) || (c & at) != (uint64_t)'.' << (8 * dot) || len == 1) return -1;
        c = (c & below) << 8 | (c & ~(at | below));
        frac = len - dot - 1;
    }
    uint64_t v = (c & BYTES(0x0f)) << (8 * (8 - len));
    v = v * 10 + (v >> 8);
    v = ((v & UINT64_C(0x000000ff000000ff)) * UINT64_C(0x000f424000000064) +
         ((v >> 16) & UINT64_C(0x000000ff000000ff)) * UINT64_C(0x0000271000000001)) >>
        32;
    d->m = v;
    d->exp = -frac;
    d->neg = 0;
    return 0;
}
#endif

static const char *scan_dec(const char *p, const char *end, struct csv_dec *d);

/* Reads the whole field [s, fe) of a line that starts at line and may be loaded up to
 * lim (>= fe) as a decimal. 0, or -1. */
static inline int dec_field(const char *line, const char *s, const char *fe, const char *lim,
                            struct csv_dec *d)
{
#ifdef CSV_SWAR
    ptrdiff_t len = fe - s;
    if (len >= 1 && len <= 8) {
        if (lim - s >= 8) {
            if (dec_chunk(load8(s), (int)len, d) == 0) return 0;
        } else if (fe - line >= 8) { /* near the line's end: the 8 bytes ending at fe */
            if (dec_chunk(load8(fe - 8) >> (8 * (8 - len)), (int)len, d) == 0) return 0;
        }
    }
#else
    (void)line;
    (void)lim;
#endif
    return scan_dec(s, fe, d) == fe ? 0 : -1;
}

/* Reads a decimal at p, a byte at a time: the position after it, or NULL without a
 * mantissa digit or with an exponent mark not followed by digits. */
static const char *scan_dec(const char *p, const char *end, struct csv_dec *d)
{
    int neg = 0, sig = 0, digits = 0;
    uint64_t m = 0;
    int64_t exp = 0;
    if (p < end && (*p == '-' || *p == '+')) neg = *p++ == '-';
    for (; p < end && is_digit(*p); p++, digits++) {
        if (sig < SIG_DIGITS_MAX) {
            m = m * 10 + (uint64_t)(*p - '0');
            sig += m != 0;
        } else {
            exp++;
        }
    }
    if (p < end && *p == '.') {
        for (p++; p < end && is_digit(*p); p++, digits++) {
            if (sig < SIG_DIGITS_MAX) {
                m = m * 10 + (uint64_t)(*p - '0');
                sig += m != 0;
                exp--;
            }
        }
    }
    if (!digits) return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        int64_t e = 0;
        p++;
        if (p < end && (*p == '-' || *p == '+')) eneg = *p++ == '-';
        if (p == end || !is_digit(*p)) return NULL;
        for (; p < end && is_digit(*p); p++)
            if (e < EXP_LIMIT) e = e * 10 + (*p - '0');
        exp += eneg ? -e : e;
    }
    d->m = m;
    d->exp = (int32_t)(exp < -2 * EXP_LIMIT ? -2 * EXP_LIMIT : MIN(exp, 2 * EXP_LIMIT));
    d->neg = neg;
    return p;
}

int csv_parse_number(const char *s, size_t n, struct csv_dec *out)
{
    return dec_field(s, s, s + n, s + n, out);
}

/* The largest mantissa that k more decimal places keep below CSV_MAX_UNITS:
 * (2^53 - 1) / 10^k. */
static const uint64_t units_limit[16] = {UINT64_C(9007199254740991),
                                         UINT64_C(900719925474099),
                                         UINT64_C(90071992547409),
                                         UINT64_C(9007199254740),
                                         UINT64_C(900719925474),
                                         UINT64_C(90071992547),
                                         UINT64_C(9007199254),
                                         UINT64_C(900719925),
                                         UINT64_C(90071992),
                                         UINT64_C(9007199),
                                         UINT64_C(900719),
                                         UINT64_C(90071),
                                         UINT64_C(9007),
                                         UINT64_C(900),
                                         UINT64_C(90),
                                         UINT64_C(9)};

/* round(v / den) * step, halves away from zero, in *u; -1 when that passes 64 bits. */
static int round_steps(uint64_t v, uint64_t den, uint64_t step, uint64_t *u)
{
    uint64_t q = v / den, r = v % den;
    q += r >= den - r;
    return __builtin_mul_overflow(q, step, u) ? -1 : 0;
}

int csv_dec_units(const struct csv_dec *d, int dp, int64_t step, int64_t *out)
{
    ASSERT(step > 0 && dp >= 0 && dp <= FX_MAX_DP);
    int64_t k = (int64_t)d->exp + dp;
    uint64_t u, den;
    if (d->m == 0) {
        u = 0;
    } else if (k >= 0) { /* no more decimals than the grid: exact, then to the step */
        if (k >= (int64_t)ARRAY_LEN(units_limit) || d->m > units_limit[k]) return -1;
        u = d->m * pow10_u64[k];
        if (step != 1 && round_steps(u, (uint64_t)step, (uint64_t)step, &u) < 0) return -1;
    } else if (-k >= (int64_t)ARRAY_LEN(pow10_u64)) {
        u = 0; /* below 0.2 units: rounds to 0 on any grid */
    } else if (!__builtin_mul_overflow(pow10_u64[-k], (uint64_t)step, &den)) {
        if (round_steps(d->m, den, (uint64_t)step, &u) < 0) return -1;
    } else { /* den passes 64 bits, so m / den < 1 and rounds to 0 or 1 step */
        unsigned __int128 wide = (unsigned __int128)pow10_u64[-k] * (uint64_t)step;
        u = 2 * (unsigned __int128)d->m >= wide ? (uint64_t)step : 0;
    }
    if (u >= (uint64_t)CSV_MAX_UNITS) return -1;
    *out = d->neg ? -(int64_t)u : (int64_t)u;
    return 0;
}

/* ---- times ------------------------------------------------------------------------ */

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/* Two digits at p as a number, or -1. */
static int two_digits(const char *p, const char *end)
{
    if (end - p < 2 || !is_digit(p[0]) || !is_digit(p[1])) return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Reads "[.digits]" at *pp into microseconds (digits past the sixth truncated). */
static int scan_frac_us(const char **pp, const char *end, int64_t *us)
{
    const char *p = *pp;
    int64_t v = 0;
    int n = 0;
    if (p == end || *p != '.') return 0;
    p++;
    if (p == end || !is_digit(*p)) return -1;
    for (; p < end && is_digit(*p); p++)
        if (n < 6) v = v * 10 + (*p - '0'), n++;
    *us = v * (int64_t)pow10_u64[6 - n];
    *pp = p;
    return 0;
}

/* Reads a zone designator (Z, +HH, +HH:MM, +HHMM) at *pp into seconds east of UTC. */
static int scan_zone(const char **pp, const char *end, int64_t *east_s)
{
    const char *p = *pp;
    if (p < end && (*p == 'Z' || *p == 'z')) {
        *pp = p + 1;
        return 0;
    }
    if (p == end || (*p != '+' && *p != '-')) return 0;
    int sign = *p++ == '-' ? -1 : 1;
    int h = two_digits(p, end), m = 0;
    if (h < 0 || h > 23) return -1;
    p += 2;
    if (p < end && *p == ':') {
        m = two_digits(++p, end);
        if (m < 0) return -1;
        p += 2;
    } else if (two_digits(p, end) >= 0) {
        m = two_digits(p, end);
        p += 2;
    }
    if (m > 59) return -1;
    *east_s = sign * (h * 3600 + m * 60);
    *pp = p;
    return 0;
}

/* Reads "THH:MM[:SS[.frac]][zone]" (or with a space or 't') at *pp into seconds of the
 * day (zone applied) and microseconds; nothing when no time of day follows. */
static int scan_time_of_day(const char **pp, const char *end, int64_t *secs, int64_t *us)
{
    const char *p = *pp;
    if (end - p < 2 || (*p != 'T' && *p != 't' && *p != ' ') || !is_digit(p[1])) return 0;
    p++;
    int h = two_digits(p, end), mi = -1, s = 0;
    if (h < 0 || h > 23 || end - p < 5 || p[2] != ':') return -1;
    mi = two_digits(p + 3, end);
    if (mi < 0 || mi > 59) return -1;
    p += 5;
    if (p < end && *p == ':') {
        s = two_digits(++p, end);
        if (s < 0 || s > 59) return -1;
        p += 2;
        if (scan_frac_us(&p, end, us) < 0) return -1;
    }
    int64_t east = 0;
    if (scan_zone(&p, end, &east) < 0) return -1;
    *secs = h * 3600 + mi * 60 + s - east;
    *pp = p;
    return 0;
}

/* Reads an ISO-8601 date (and time) at p, known to start with 4 digits and '-'. */
static const char *scan_iso(const char *p, const char *end, int64_t *out)
{
    int y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
    p += 5;
    int mo = two_digits(p, end);
    if (mo < 1 || mo > 12 || end - p < 5 || p[2] != '-') return NULL;
    int d = two_digits(p + 3, end);
    if (d < 1 || d > days_in_month(y, mo)) return NULL;
    p += 5;
    int64_t secs = 0, us = 0;
    if (scan_time_of_day(&p, end, &secs, &us) < 0) return NULL;
    int64_t t = (util_days_from_civil(y, mo, d) * SECONDS_PER_DAY + secs) * US_PER_S + us;
    if (t > CSV_MAX_TIME_US) return NULL;
    *out = t;
    return p;
}

/* The digits at p, not past end (bytes up to lim may be loaded): their value in *v
 * and their count (at most EPOCH_DIGITS + 1). */
static inline int scan_digits(const char *p, const char *end, const char *lim, uint64_t *v)
{
#ifdef CSV_SWAR
    if (lim - p >= 16) { /* epoch ms and µs: two chunks */
        uint64_t c1 = load8(p), c2 = load8(p + 8);
        int n1 = (int)MIN((ptrdiff_t)swar_digits(c1), end - p), n2;
        if (n1 < 8) {
            *v = n1 ? swar_value(c1, n1) : 0;
            return n1;
        }
        if ((n2 = (int)MIN((ptrdiff_t)swar_digits(c2), end - p - 8)) < 8) {
            *v = swar_value(c1, 8) * pow10_u64[n2] + (n2 ? swar_value(c2, n2) : 0);
            return 8 + n2;
        }
    }
#else
    (void)lim;
#endif
    const char *s = p;
    uint64_t x = 0;
    for (; p < end && is_digit(*p) && p - s <= EPOCH_DIGITS; p++) x = x * 10 + (uint64_t)(*p - '0');
    *v = x;
    return (int)(p - s);
}

/* Reads a time at p (ISO-8601 or an epoch number); the position after it, or NULL. */
static inline const char *scan_time(const char *p, const char *end, const char *lim, int64_t *out)
{
    const char *start = p;
    uint64_t v;
    int nd = scan_digits(p, end, lim, &v);
    p += nd;
    if (nd == 0 || nd > EPOCH_DIGITS) return NULL;
    if (nd == 4 && p < end && *p == '-') return scan_iso(start, end, out);
    int64_t unit = v < EPOCH_MS_FROM ? US_PER_S : v < EPOCH_US_FROM ? US_PER_MS : 1;
    uint64_t frac = 0;
    int nf = 0;
    if (p < end && *p == '.') {
        p++;
        if (p == end || !is_digit(*p)) return NULL;
        for (; p < end && is_digit(*p); p++)
            if (nf < FRAC_DIGITS_MAX) frac = frac * 10 + (uint64_t)(*p - '0'), nf++;
    }
    if (v > (uint64_t)(CSV_MAX_TIME_US / unit)) return NULL;
    int64_t t = (int64_t)v * unit;
    if (nf) t += (int64_t)(frac * (uint64_t)unit / pow10_u64[nf]);
    if (t > CSV_MAX_TIME_US) return NULL;
    *out = t;
    return p;
}

int csv_parse_time(const char *s, size_t n, int64_t *out_us)
{
    int64_t t;
    if (scan_time(s, s + n, s + n, &t) != s + n) return -1;
    *out_us = t;
    return 0;
}

/* ---- rows ------------------------------------------------------------------------- */

#define FAST_LINE_MIN 16  /* shorter lines are read field by field */
#define FAST_LINE_MAX 256 /* as are longer ones */

#ifdef __SSE2__
/* The number of set bits (no popcnt instruction assumed). */
static inline int popcount64(uint64_t x)
{
    x -= (x >> 1) & BYTES(0x55);
    x = (x & BYTES(0x33)) + ((x >> 2) & BYTES(0x33));
    x = (x + (x >> 4)) & BYTES(0x0f);
    return (int)((x * BYTES(0x01)) >> 56);
}

/* The commas of the line as bit masks, bit j of m[j / 64] for line[j] (16-byte loads,
 * the last one moved back to end at the line's end, FAST_LINE_MIN <= n <=
 * FAST_LINE_MAX). -1 when the line holds a '"' (then commas may be quoted). */
static int comma_masks(const char *line, size_t n, uint64_t *m)
{
    const __m128i comma = _mm_set1_epi8(','), quote = _mm_set1_epi8('"');
    uint64_t quotes = 0;
    for (size_t base = 0; base < n; base += 64) {
        uint64_t mc = 0;
        for (size_t off = 0; off < 64 && base + off < n; off += 16) {
            size_t at = base + off + 16 <= n ? base + off : n - 16;
            unsigned skip = (unsigned)(base + off - at);
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(line + at));
            uint64_t c = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, comma));
            quotes |= (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) >> skip;
            mc |= c >> skip << off;
        }
        m[base / 64] = mc;
    }
    return quotes ? -1 : 0;
}
#endif

/* The field readers: the field is [s, fe); bytes up to lim may be loaded. 0, or -1
 * with fail set. */

/* The slow paths (blanks, quotes, empty or malformed fields) stay out of line, so that
 * the fast ones inline into read_columns without spilling registers. */
static __attribute__((noinline)) int read_time_slow(const char *s, const char *fe, int col,
                                                    int64_t *t, struct csv_fail *fail)
{
    const char *ts;
    size_t len;
    csv_field_text(s, fe, &ts, &len);
    if (csv_parse_time(ts, len, t) == 0) return 0;
    fail->col = col + 1;
    snprintf(fail->msg, sizeof fail->msg, "expected a time (ISO-8601 or epoch s/ms/us), got ");
    csv_quote_text(fail->msg, sizeof fail->msg, ts, len);
    return -1;
}

static int read_symbol(const char *s, const char *fe, int col, struct csv_row *r,
                       struct csv_fail *fail)
{
    csv_field_text(s, fe, &r->sym, &r->sym_len);
    if (r->sym_len > 0) return 0;
    return csv_fail_set(fail, col + 1, "expected a symbol, got \"\"");
}

static __attribute__((noinline)) int read_number_slow(const char *s, const char *fe, int col,
                                                      enum csv_col role, struct csv_row *r,
                                                      struct csv_fail *fail)
{
    const char *ts;
    size_t len;
    csv_field_text(s, fe, &ts, &len);
    if (len == 0 && role >= CSV_COL_BID) { /* a quote column may be empty */
        r->empty |= 1u << role;
        r->v[role] = (struct csv_dec){0, 0, 0};
        return 0;
    }
    if (csv_parse_number(ts, len, &r->v[role]) == 0) return 0;
    fail->col = col + 1;
    snprintf(fail->msg, sizeof fail->msg, "expected a number for %s, got ", csv_col_name(role));
    csv_quote_text(fail->msg, sizeof fail->msg, ts, len);
    return -1;
}

static inline int read_time(const char *s, const char *fe, const char *lim, int col, int64_t *t,
                            struct csv_fail *fail)
{
    return scan_time(s, fe, lim, t) == fe ? 0 : read_time_slow(s, fe, col, t, fail);
}

static inline int read_number(const char *line, const char *s, const char *fe, const char *lim,
                              int col, enum csv_col role, struct csv_row *r, struct csv_fail *fail)
{
    if (dec_field(line, s, fe, lim, &r->v[role]) == 0) return 0;
    return read_number_slow(s, fe, col, role, r, fail);
}

static inline int read_field(const struct csv_layout *L, int i, const char *line, const char *s,
                             const char *fe, const char *lim, int numbers, struct csv_row *r,
                             struct csv_fail *fail)
{
    enum csv_col role = (enum csv_col)L->role[i];
    if (role >= CSV_COL_OPEN) return numbers ? read_number(line, s, fe, lim, i, role, r, fail) : 0;
    if (role == CSV_COL_TIME) return read_time(s, fe, lim, i, &r->time_us, fail);
    if (role == CSV_COL_SYMBOL) return read_symbol(s, fe, i, r, fail);
    return 0;
}

/* read_columns for a line with quotes: fields found one after the other. */
static int read_quoted(const struct csv_layout *L, const char *line, size_t n, int last,
                       int numbers, struct csv_row *r, struct csv_fail *fail)
{
    const char *p = line, *end = line + n;
    for (int i = 0; i <= last; i++) {
        if (i > 0) {
            if (p == end) return csv_check_count(L, line, n, fail);
            p++;
        }
        const char *fe = csv_field_end(p, end);
        if (read_field(L, i, line, p, fe, end, numbers, r, fail) < 0) {
            csv_check_count(L, line, n, fail); /* a wrong count explains a misplaced value */
            return -1;
        }
        p = fe;
    }
    if (last == L->ncols - 1 && p != end) return csv_check_count(L, line, n, fail);
    return 0;
}

#ifdef CSV_SWAR
/* Reads a plain number field at p (digits with at most one '.', 1-8 bytes, ended by ','
 * or, as the line's last field, by its end) into d; the position after it, or NULL for
 * anything else. The 8 bytes loaded end at the line's end when fewer remain (zeros then
 * fill the top, and a zero is no digit). */
static inline const char *fast_number(const char *line, const char *p, const char *end, int last,
                                      struct csv_dec *d)
{
    uint64_t c;
    if (end - p >= 8) c = load8(p);
    else if (end - line >= 8 && p < end) c = load8(end - 8) >> (8 * (8 - (end - p)));
    else return NULL;
    uint64_t t = (c & BYTES(0xf0)) | (((c + BYTES(0x06)) & BYTES(0xf0)) >> 4);
    uint64_t x = t ^ BYTES(0x33); /* nonzero bytes: not digits */
    if (!x) return NULL;
    int n1 = __builtin_ctzll(x) >> 3, len = n1, frac = 0;
    if ((char)(c >> (8 * n1)) == '.') {
        uint64_t at = UINT64_C(0xff) << (8 * n1), below = (UINT64_C(1) << (8 * n1)) - 1;
        uint64_t x2 = x & ~at;
        if (!x2) return NULL;
        len = __builtin_ctzll(x2) >> 3;
        frac = len - n1 - 1;
        c = (c & below) << 8 | (c & ~(at | below));
        if (len == 1) return NULL; /* "." */
    }
    if (len == 0 || (last ? p + len != end : (char)(c >> (8 * len)) != ',')) return NULL;
    uint64_t v = (c & BYTES(0x0f)) << (8 * (8 - len));
    v = v * 10 + (v >> 8);
    v = ((v & UINT64_C(0x000000ff000000ff)) * UINT64_C(0x000f424000000064) +
         ((v >> 16) & UINT64_C(0x000000ff000000ff)) * UINT64_C(0x0000271000000001)) >>
        32;
    d->m = v;
    d->exp = -frac;
    d->neg = 0;
    return p + len;
}
#endif

/* The first ',' or '"' at or after p, or end: 8 bytes at a time while they are inside
 * the line (a symbol is short: usually one step). */
static inline const char *symbol_end(const char *p, const char *end)
{
#ifdef CSV_SWAR
    for (; end - p >= 8; p += 8) {
        uint64_t c = load8(p), a = c ^ BYTES(','), b = c ^ BYTES('"');
        uint64_t hit = ((a - BYTES(0x01)) & ~a) | ((b - BYTES(0x01)) & ~b);
        hit &= BYTES(0x80); /* the lowest flagged byte is exact; borrows go upwards only */
        if (hit) return p + (__builtin_ctzll(hit) >> 3);
    }
#endif
    while (p < end && *p != ',' && *p != '"') p++;
    return p;
}

/* The fast path of read_columns for L->fast_from layouts and plain fields: no quotes,
 * no blanks, no empty fields, numbers of 8 bytes at most without sign or exponent. The
 * open pass (no numbers) reads the time and the symbol in turn; a whole line of up to
 * 64 bytes has its commas found first (one mask), so that its numbers are read
 * independently of each other (no chain of positions through the line), else each
 * field's end falls out of reading it. 0, or -1 when the line needs the general path
 * (which then also finds what is wrong with it). */
static int read_fast(const struct csv_layout *L, const char *line, size_t n, int numbers,
                     struct csv_row *r)
{
#ifdef CSV_SWAR
    const char *end = line + n, *p = scan_time(line, end, end, &r->time_us), *q;
    if (!p || p == end || *p != ',') return -1; /* numbers follow (layout_fast) */
    p++;
    if (L->fast_from == 2) {
        q = symbol_end(p, end);
        if (q == p || q == end || *q != ',' || *p == ' ' || *p == '\t' || q[-1] == ' ' ||
            q[-1] == '\t')
            return -1;
        r->sym = p;
        r->sym_len = (size_t)(q - p);
        p = q + 1;
    }
    if (!numbers) return 0;
#ifdef __SSE2__
    uint64_t m;
    if (n >= FAST_LINE_MIN && n <= 64 && comma_masks(line, n, &m) == 0) {
        if (popcount64(m) != L->ncols - 1) return -1;
        for (int i = 0; i < L->fast_from; i++) m &= m - 1;
        for (int i = L->fast_from; i < L->ncols; i++, m &= m - 1) {
            const char *fe = m ? line + __builtin_ctzll(m) : end;
            ptrdiff_t len = fe - p;
            if (len < 1 || len > 8) return -1;
            /* The 8 bytes at p, or those ending at the line's end (shifted down): chosen
             * without a branch, which would follow the random widths of the sizes. */
            ptrdiff_t room = MIN(end - p, 8);
            uint64_t c = load8(p - (8 - room)) >> (8 * (8 - room));
            if (dec_chunk(c, (int)len, &r->v[L->role[i]]) < 0) return -1;
            p = fe + 1;
        }
        return 0;
    }
#endif
    for (int i = L->fast_from; i < L->ncols; i++) {
        p = fast_number(line, p, end, i == L->ncols - 1, &r->v[L->role[i]]);
        if (!p) return -1;
        p++;
    }
    return 0;
#else
    return -1;
#endif
}

/* Reads columns 0..last of the line (all of them when last is L->ncols - 1, then with
 * the column count checked); numbers only when `numbers`. The commas are found first,
 * as bit masks consumed a field at a time, so that the fields are read independently
 * of each other (no chain of positions through the line). */
static int read_columns(const struct csv_layout *L, const char *line, size_t n, int last,
                        int numbers, struct csv_row *r, struct csv_fail *fail)
{
    r->sym = NULL;
    r->sym_len = 0;
    r->empty = 0;
    if (L->fast_from && last >= L->fast_from - 1 && read_fast(L, line, n, numbers, r) == 0)
        return 0;
#ifdef __SSE2__
    uint64_t m[FAST_LINE_MAX / 64];
    const char *end = line + n, *s = line;
    if (n < FAST_LINE_MIN || n > FAST_LINE_MAX || comma_masks(line, n, m) < 0)
        return read_quoted(L, line, n, last, numbers, r, fail);
    int b = 0, nb = (int)((n + 63) / 64), commas = 0;
    for (int k = 0; k < nb; k++) commas += popcount64(m[k]);
    if (commas < last || (last == L->ncols - 1 && commas != last))
        return csv_check_count(L, line, n, fail);
    uint64_t cur = m[0];
    for (int i = 0; i <= last; i++) {
        while (!cur && b + 1 < nb) cur = m[++b];
        const char *fe = cur ? line + 64 * b + __builtin_ctzll(cur) : end;
        cur &= cur - 1;
        if (read_field(L, i, line, s, fe, end, numbers, r, fail) < 0) {
            csv_check_count(L, line, n, fail);
            return -1;
        }
        s = fe + 1;
    }
    return 0;
#else
    return read_quoted(L, line, n, last, numbers, r, fail);
#endif
}

int csv_scan_row(const struct csv_layout *L, const char *line, size_t n, struct csv_row *r,
                 struct csv_fail *fail)
{
    return read_columns(L, line, n, MAX(L->col[CSV_COL_TIME], L->col[CSV_COL_SYMBOL]), 0, r, fail);
}

int csv_parse_row(const struct csv_layout *L, const char *line, size_t n, struct csv_row *r,
                  struct csv_fail *fail)
{
    return read_columns(L, line, n, L->ncols - 1, 1, r, fail);
}

/* ---- values ----------------------------------------------------------------------- */

struct values_ctx {
    const struct csv_layout *L;
    const char *line;
    size_t n;
    const struct csv_row *r;
    struct csv_fail *fail;
};

/* Puts the number of role on the grid (dp, step). */
static int units(const struct values_ctx *c, enum csv_col role, int dp, int64_t step, int64_t *out)
{
    char max[32];
    if (csv_dec_units(&c->r->v[role], dp, step, out) == 0) return 0;
    fx_format(CSV_MAX_UNITS - 1, dp, max, sizeof max);
    return csv_fail_got(c->fail, c->line, c->n, c->L->col[role], "expected a %s of at most %s",
                        csv_col_name(role), max);
}

/* value() for every case: rounding, signs, range; out of line. */
static __attribute__((noinline)) int value_slow(const struct values_ctx *c, enum csv_col role,
                                                int dp, int64_t step, int positive, int64_t *out)
{
    if (units(c, role, dp, step, out) < 0) return -1;
    if (positive && *out <= 0)
        return csv_fail_got(c->fail, c->line, c->n, c->L->col[role], "expected a positive %s",
                            csv_col_name(role));
    if (*out < 0)
        return csv_fail_got(c->fail, c->line, c->n, c->L->col[role], "expected a %s >= 0",
                            csv_col_name(role));
    return 0;
}

/* Puts the number of role on the grid (dp, step) and checks it is > 0 (positive) or
 * >= 0. Inline, the common case: a positive number with no more decimals than the grid
 * on a step of one unit is exact. */
static inline int value(const struct values_ctx *c, enum csv_col role, int dp, int64_t step,
                        int positive, int64_t *out)
{
    const struct csv_dec *d = &c->r->v[role];
    int64_t k = (int64_t)d->exp + dp;
    if (step == 1 && !d->neg && d->m && k >= 0 && k < (int64_t)ARRAY_LEN(units_limit) &&
        d->m <= units_limit[k]) {
        *out = (int64_t)(d->m * pow10_u64[k]);
        return 0;
    }
    return value_slow(c, role, dp, step, positive, out);
}

#define QUOTE_BITS                                                                                 \
    (1u << CSV_COL_BID | 1u << CSV_COL_ASK | 1u << CSV_COL_BID_SIZE | 1u << CSV_COL_ASK_SIZE)

static int quote_values(const struct values_ctx *c, const struct csv_grid *g,
                        struct csv_record *out)
{
    char bid[32];
    for (int role = CSV_COL_BID; c->r->empty && role <= CSV_COL_ASK_SIZE; role++)
        if (c->r->empty & 1u << role)
            return csv_fail_got(c->fail, c->line, c->n, c->L->col[role], "expected a number for %s",
                                csv_col_name(role));
    if (value(c, CSV_COL_BID, g->px_dp, g->tick, 1, &out->bid) < 0 ||
        value(c, CSV_COL_ASK, g->px_dp, g->tick, 1, &out->ask) < 0 ||
        value(c, CSV_COL_BID_SIZE, g->qty_dp, g->lot, 0, &out->bid_qty) < 0 ||
        value(c, CSV_COL_ASK_SIZE, g->qty_dp, g->lot, 0, &out->ask_qty) < 0)
        return -1;
    if (out->bid > out->ask) {
        fx_format(out->bid, g->px_dp, bid, sizeof bid);
        return csv_fail_got(c->fail, c->line, c->n, c->L->col[CSV_COL_ASK],
                            "expected an ask >= the bid %s", bid);
    }
    out->has_quote = 1;
    return 0;
}

static int tick_values(const struct values_ctx *c, const struct csv_grid *g, struct csv_record *out)
{
    if (value(c, CSV_COL_PRICE, g->px_dp, g->tick, 1, &out->px) < 0 ||
        value(c, CSV_COL_SIZE, g->qty_dp, g->lot, 1, &out->qty) < 0)
        return -1;
    if (c->L->has_quote && (c->r->empty & QUOTE_BITS) != QUOTE_BITS) return quote_values(c, g, out);
    out->has_quote = 0;
    out->bid = out->ask = out->bid_qty = out->ask_qty = 0;
    return 0;
}

static int bar_values(const struct values_ctx *c, const struct csv_grid *g, struct bar *b)
{
    char lim[32];
    if (value(c, CSV_COL_OPEN, g->px_dp, g->tick, 1, &b->open) < 0 ||
        value(c, CSV_COL_HIGH, g->px_dp, g->tick, 1, &b->high) < 0 ||
        value(c, CSV_COL_LOW, g->px_dp, g->tick, 1, &b->low) < 0 ||
        value(c, CSV_COL_CLOSE, g->px_dp, g->tick, 1, &b->close) < 0 ||
        value(c, CSV_COL_VOLUME, g->qty_dp, g->lot, 0, &b->volume) < 0)
        return -1;
    if (b->low > MIN(b->open, b->close)) {
        fx_format(MIN(b->open, b->close), g->px_dp, lim, sizeof lim);
        return csv_fail_got(c->fail, c->line, c->n, c->L->col[CSV_COL_LOW],
                            "expected low <= min(open, close) = %s", lim);
    }
    if (b->high < MAX(b->open, b->close)) {
        fx_format(MAX(b->open, b->close), g->px_dp, lim, sizeof lim);
        return csv_fail_got(c->fail, c->line, c->n, c->L->col[CSV_COL_HIGH],
                            "expected high >= max(open, close) = %s", lim);
    }
    b->trades = 0;
    return 0;
}

int csv_row_values(const struct csv_layout *L, const char *line, size_t n, const struct csv_row *r,
                   const struct csv_grid *g, struct csv_record *out, struct csv_fail *fail)
{
    struct values_ctx c = {L, line, n, r, fail};
    out->kind = L->kind;
    out->time_us = r->time_us;
    if (L->kind == CSV_TICK) return tick_values(&c, g, out);
    out->bar.time_us = r->time_us;
    return bar_values(&c, g, &out->bar);
}
