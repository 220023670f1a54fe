/* tz.c: time zones read from TZif files (RFC 8536), see tz.h.
 *
 * Owns struct tz: a sorted transition table (UTC seconds -> local time type), the local
 * time types (UTC offset, DST flag) and, for v2+ files, the POSIX TZ footer rule that
 * governs every instant at or after the last transition. Loading is the only I/O;
 * queries are pure functions of the loaded data and touch no process-global state
 * (no TZ variable, no localtime), so zones are safe to share between threads.
 *
 * Data flow: tz_load reads the whole file (tz_parse is given the bytes), tzif_parse
 * validates it (header counts against the file size, type indexes, offsets within
 * +-26 h, ascending transitions, a parseable footer) and copies it into the struct;
 * anything inconsistent is refused with a message naming the file. For a v2+ file the 32-bit v1
 * block is only skipped.
 *
 * Invariants after a successful load: n_types >= 1; every trans_type[i] < n_types;
 * trans_s strictly ascending; every offset (table or rule) is in (-26 h, +26 h). The
 * last bound is what lets tz_next_local_time search a fixed window of local days.
 *
 * Instants are clamped to +-2^50 s (about 35 million years) before calendar arithmetic
 * so that no input can overflow. Files with leap-second records ("right/" zones) are
 * refused: their transition times are not POSIX seconds. */
#include "tz.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define TZ_FILE_MAX     (1 << 20)
#define TZ_HDR_LEN      44
#define TZ_OFF_MIN      (-89999) /* RFC 8536 3.2: utoff must be within -25:59:59 */
#define TZ_OFF_MAX      93599    /* ... and +25:59:59 */
#define TZ_DAY_S        86400
#define TZ_T_LIMIT      (INT64_C(1) << 50)
#define TZ_RULE_HOURS   167 /* RFC 8536 3.3.1: transition times may reach +-167 h */
#define TZ_FOOTER_SHOWN 64  /* footer bytes quoted in an error message */

struct tz_type {
    int32_t utoff_s;
    bool isdst;
};

/* One of Jn (1..365, Feb 29 never counted), n (0..365, zero-based) or Mm.w.d. */
struct tz_rule_date {
    char kind;      /* 'J', 'n' or 'M' */
    int day;        /* Jn / n day number, or weekday 0 (Sunday)..6 for 'M' */
    int month;      /* 'M' only: 1..12 */
    int week;       /* 'M' only: 1..5, 5 meaning the last such weekday */
    int32_t time_s; /* local wall time of the change, -167 h..167 h */
};

struct tz_rule {
    int32_t std_off_s; /* east positive (the POSIX string is west positive) */
    int32_t dst_off_s;
    bool has_dst;
    struct tz_rule_date start; /* into DST, in local standard time */
    struct tz_rule_date end;   /* out of DST, in local daylight time */
};

struct tz {
    char *name;
    size_t n_trans;
    int64_t *trans_s;    /* UTC instants, strictly ascending */
    uint8_t *trans_type; /* index into types for the period starting at trans_s[i] */
    size_t n_types;
    struct tz_type *types; /* types[0] applies before the first transition */
    bool has_rule;
    struct tz_rule rule;
};

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Not a - floor_div(a, b) * b: near INT64_MIN that product overflows. */
static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r != 0 && (r < 0) != (b < 0) ? r + b : r;
}

static int64_t clamp_t(int64_t t)
{
    return t < -TZ_T_LIMIT ? -TZ_T_LIMIT : t > TZ_T_LIMIT ? TZ_T_LIMIT : t;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t year_of_days(int64_t days)
{
    days += 719468;
    int64_t era = floor_div(days, 146097);
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

/* ---- POSIX TZ rule (the footer) ---- */

/* Day (since the epoch) on which date d falls in year y. */
static int64_t rule_date_day(const struct tz_rule_date *d, int64_t y)
{
    int64_t jan1 = util_days_from_civil(y, 1, 1);
    if (d->kind == 'J') return jan1 + d->day - 1 + (is_leap(y) && d->day >= 60);
    if (d->kind == 'n') return jan1 + d->day;
    int64_t first = util_days_from_civil(y, d->month, 1);
    int64_t next = d->month == 12 ? util_days_from_civil(y + 1, 1, 1)
                                  : util_days_from_civil(y, d->month + 1, 1);
    int64_t day = first + floor_mod(d->day - floor_mod(first + 4, 7), 7) + (d->week - 1) * 7;
    while (day >= next) day -= 7; /* week 5 ("last") in a month with four */
    return day;
}

struct rule_change {
    int64_t t;
    bool to_dst;
};

/* The two changes of year y as UTC instants: [0] into DST, [1] out of it. */
static void rule_year_changes(const struct tz_rule *r, int64_t y, struct rule_change out[2])
{
    out[0].t = rule_date_day(&r->start, y) * TZ_DAY_S + r->start.time_s - r->std_off_s;
    out[0].to_dst = true;
    out[1].t = rule_date_day(&r->end, y) * TZ_DAY_S + r->end.time_s - r->dst_off_s;
    out[1].to_dst = false;
}

/* The latest change at or before t decides. A year's changes fall within about 8 days
 * of that year (a /time of up to 167 h, plus the offset), so for t in year y the latest
 * start and the latest end at or before t are those of years y-2..y+1: start of y-1
 * may fall in January of y after t, leaving start of y-2 the latest. On a tie (e.g.
 * "EST5EDT,0/0,J365/25", DST all year) the change into DST wins. */
static int32_t rule_offset_at(const struct tz_rule *r, int64_t t)
{
    if (!r->has_dst) return r->std_off_s;
    t = clamp_t(t);
    int64_t y = year_of_days(floor_div(t, TZ_DAY_S));
    bool found = false, dst = false;
    int64_t best = 0;
    for (int64_t yy = y - 2; yy <= y + 1; yy++) {
        struct rule_change c[2];
        rule_year_changes(r, yy, c);
        for (int i = 0; i < 2; i++) {
            if (c[i].t > t) continue;
            if (!found || c[i].t > best || (c[i].t == best && c[i].to_dst)) {
                found = true;
                best = c[i].t;
                dst = c[i].to_dst;
            }
        }
    }
    return dst ? r->dst_off_s : r->std_off_s;
}

/* The first rule change strictly after t, or INT64_MAX when the rule has none. */
static int64_t rule_next_change(const struct tz_rule *r, int64_t t)
{
    if (!r->has_dst) return INT64_MAX;
    int64_t y = year_of_days(floor_div(clamp_t(t), TZ_DAY_S));
    int64_t next = INT64_MAX;
    for (int64_t yy = y - 1; yy <= y + 2; yy++) {
        struct rule_change c[2];
        rule_year_changes(r, yy, c);
        for (int i = 0; i < 2; i++)
            if (c[i].t > t && c[i].t < next) next = c[i].t;
    }
    return next;
}

/* Reads 1..max_digits decimal digits into *v. */
static bool parse_num(const char **p, int max_digits, int *v)
{
    int n = 0, x = 0;
    while (n < max_digits && **p >= '0' && **p <= '9') {
        x = x * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *v = x;
    return n > 0;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h, into signed seconds. */
static bool parse_hms(const char **p, int max_h, int32_t *out_s)
{
    int sign = 1, h, m = 0, s = 0;
    if (**p == '+' || **p == '-') sign = *(*p)++ == '-' ? -1 : 1;
    if (!parse_num(p, 3, &h) || h > max_h) return false;
    if (**p == ':') {
        (*p)++;
        if (!parse_num(p, 2, &m) || m > 59) return false;
        if (**p == ':') {
            (*p)++;
            if (!parse_num(p, 2, &s) || s > 59) return false;
        }
    }
    *out_s = sign * (h * 3600 + m * 60 + s);
    return true;
}

/* An abbreviation: three or more letters, or <...> quoting letters, digits, + and -. */
static bool parse_abbr(const char **p)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '<') {
        for (s++; (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
                  (*s >= '0' && *s <= '9') || *s == '+' || *s == '-';
             s++)
            n++;
        if (*s != '>') return false;
        s++;
    } else {
        for (; (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'); s++) n++;
    }
    *p = s;
    return n >= 3;
}

/* Jn, n or Mm.w.d, then an optional /time (default 02:00). */
static bool parse_rule_date(const char **p, struct tz_rule_date *d)
{
    memset(d, 0, sizeof *d);
    if (**p == 'M') {
        (*p)++;
        d->kind = 'M';
        if (!parse_num(p, 2, &d->month) || d->month < 1 || d->month > 12 || *(*p)++ != '.')
            return false;
        if (!parse_num(p, 1, &d->week) || d->week < 1 || d->week > 5 || *(*p)++ != '.')
            return false;
        if (!parse_num(p, 1, &d->day) || d->day > 6) return false;
    } else if (**p == 'J') {
        (*p)++;
        d->kind = 'J';
        if (!parse_num(p, 3, &d->day) || d->day < 1 || d->day > 365) return false;
    } else {
        d->kind = 'n';
        if (!parse_num(p, 3, &d->day) || d->day > 365) return false;
    }
    d->time_s = 2 * 3600;
    if (**p != '/') return true;
    (*p)++;
    return parse_hms(p, TZ_RULE_HOURS, &d->time_s);
}

static int rule_fail(const char **why, const char *msg)
{
    *why = msg;
    return -1;
}

/* Parses a POSIX TZ string as RFC 8536 3.3 extends it. Returns 0, or -1 with *why set
 * to a static description of the first problem. Offsets are limited to 24:59:59, so
 * even the default DST offset (std + 1 h) stays within TZ_OFF_MAX. */
static int rule_parse(const char *s, struct tz_rule *r, const char **why)
{
    memset(r, 0, sizeof *r);
    int32_t west_s;
    if (!parse_abbr(&s)) return rule_fail(why, "bad standard-time abbreviation");
    if (!parse_hms(&s, 24, &west_s)) return rule_fail(why, "bad standard-time offset");
    r->std_off_s = -west_s;
    r->dst_off_s = r->std_off_s;
    if (*s == '\0') return 0;
    if (!parse_abbr(&s)) return rule_fail(why, "bad daylight-time abbreviation");
    r->has_dst = true;
    r->dst_off_s = r->std_off_s + 3600;
    if (*s != ',' && *s != '\0') {
        if (!parse_hms(&s, 24, &west_s)) return rule_fail(why, "bad daylight-time offset");
        r->dst_off_s = -west_s;
    }
    if (*s == '\0') return rule_fail(why, "daylight time without a transition rule");
    if (*s++ != ',' || !parse_rule_date(&s, &r->start))
        return rule_fail(why, "bad start of daylight time");
    if (*s++ != ',' || !parse_rule_date(&s, &r->end))
        return rule_fail(why, "bad end of daylight time");
    if (*s != '\0') return rule_fail(why, "trailing characters");
    return 0;
}

/* ---- TZif parsing ---- */

struct tzif_hdr {
    char version; /* 0, '2', '3', ... */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int hdr_read(const uint8_t *p, size_t avail, struct tzif_hdr *h, const char *path,
                    struct err *e)
{
    if (avail < TZ_HDR_LEN)
        return err_set(e, "tz: %s: truncated TZif header (%zu of %d bytes)", path, avail,
                       TZ_HDR_LEN);
    if (memcmp(p, "TZif", 4) != 0) return err_set(e, "tz: %s: not a TZif file (bad magic)", path);
    h->version = (char)p[4];
    if (h->version != 0 && (h->version < '2' || h->version > '9'))
        return err_set(e, "tz: %s: unsupported TZif version byte 0x%02x", path, p[4]);
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return 0;
}

/* Bytes of the data block that follows header h; 64-bit so that no count overflows. */
static uint64_t block_len(const struct tzif_hdr *h, int time_len)
{
    return (uint64_t)h->timecnt * (uint64_t)(time_len + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (uint64_t)(time_len + 4) + h->isstdcnt + h->isutcnt;
}

static int hdr_check_counts(const struct tzif_hdr *h, const char *path, struct err *e)
{
    if (h->typecnt == 0 || h->typecnt > 256)
        return err_set(e, "tz: %s: %u local time types (must be 1..256)", path, h->typecnt);
    if (h->charcnt == 0) return err_set(e, "tz: %s: no time zone designations", path);
    if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return err_set(e, "tz: %s: UT/standard indicator counts do not match type count", path);
    if (h->leapcnt != 0)
        return err_set(e, "tz: %s: leap-second records (right/ zones) are not supported", path);
    return 0;
}

/* Validates and copies the transitions and types of the block at p (its length already
 * checked against the file) into z. */
static int block_read(struct tz *z, const struct tzif_hdr *h, const uint8_t *p, int time_len,
                      const char *path, struct err *e)
{
    const uint8_t *idx = p + (size_t)h->timecnt * (size_t)time_len;
    const uint8_t *ttinfo = idx + h->timecnt;
    z->n_trans = h->timecnt;
    z->trans_s = xcalloc(h->timecnt, sizeof *z->trans_s);
    z->trans_type = xcalloc(h->timecnt, 1);
    z->n_types = h->typecnt;
    z->types = xcalloc(h->typecnt, sizeof *z->types);
    for (uint32_t i = 0; i < h->timecnt; i++) {
        const uint8_t *t = p + (size_t)i * (size_t)time_len;
        z->trans_s[i] = time_len == 8 ? be64(t) : (int32_t)be32(t);
        if (i > 0 && z->trans_s[i] <= z->trans_s[i - 1])
            return err_set(e, "tz: %s: transition %u is not after transition %u", path, i, i - 1);
        if (idx[i] >= h->typecnt)
            return err_set(e, "tz: %s: transition %u uses type %u of %u", path, i, idx[i],
                           h->typecnt);
        z->trans_type[i] = idx[i];
    }
    for (uint32_t i = 0; i < h->typecnt; i++) {
        const uint8_t *tt = ttinfo + (size_t)i * 6;
        int32_t off = (int32_t)be32(tt);
        if (off < TZ_OFF_MIN || off > TZ_OFF_MAX || tt[4] > 1 || tt[5] >= h->charcnt)
            return err_set(e, "tz: %s: local time type %u is invalid (utoff %d, isdst %u)", path, i,
                           off, tt[4]);
        z->types[i].utoff_s = off;
        z->types[i].isdst = tt[4];
    }
    return 0;
}

/* The footer of a v2+ file: "\n" TZ-string "\n", the string possibly empty. */
static int footer_read(struct tz *z, const uint8_t *p, size_t avail, const char *path,
                       struct err *e)
{
    const uint8_t *nl = avail > 0 ? memchr(p + 1, '\n', avail - 1) : NULL;
    if (avail == 0 || p[0] != '\n' || !nl)
        return err_set(e, "tz: %s: missing or unterminated TZ string footer", path);
    size_t n = (size_t)(nl - (p + 1));
    if (n == 0) return 0;
    char footer[256];
    if (n >= sizeof footer || memchr(p + 1, '\0', n))
        return err_set(e, "tz: %s: TZ string footer is too long or contains NUL", path);
    memcpy(footer, p + 1, n);
    footer[n] = '\0';
    const char *why;
    if (rule_parse(footer, &z->rule, &why) != 0)
        return err_set(e, "tz: %s: bad TZ string footer \"%.*s\": %s", path, TZ_FOOTER_SHOWN,
                       footer, why);
    z->has_rule = true;
    return 0;
}

static int tzif_parse(struct tz *z, const void *bytes, size_t len, const char *path, struct err *e)
{
    const uint8_t *data = bytes;
    struct tzif_hdr h;
    if (hdr_read(data, len, &h, path, e) != 0) return -1;
    int time_len = 4;
    size_t pos = TZ_HDR_LEN;
    uint64_t blen = block_len(&h, 4);
    if (blen > len - pos)
        return err_set(e, "tz: %s: header counts need %llu data bytes, file has %zu", path,
                       (unsigned long long)blen, len - pos);
    if (h.version != 0) {
        pos += (size_t)blen; /* v1 block: superseded by the 64-bit one */
        if (hdr_read(data + pos, len - pos, &h, path, e) != 0) return -1;
        if (h.version == 0) return err_set(e, "tz: %s: second header has version 1", path);
        time_len = 8;
        pos += TZ_HDR_LEN;
        blen = block_len(&h, 8);
        if (blen > len - pos)
            return err_set(e, "tz: %s: 64-bit header counts need %llu data bytes, file has %zu",
                           path, (unsigned long long)blen, len - pos);
    }
    if (hdr_check_counts(&h, path, e) != 0) return -1;
    if (block_read(z, &h, data + pos, time_len, path, e) != 0) return -1;
    pos += (size_t)blen;
    if (time_len == 8) return footer_read(z, data + pos, len - pos, path, e);
    return 0;
}

/* ---- loading ---- */

static bool name_ok(const char *name)
{
    if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") || strlen(name) > 255) return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '-' || c == '/';
        if (!ok) return false;
    }
    return true;
}

static struct tz *tz_alloc(const char *name)
{
    struct tz *z = xcalloc(1, sizeof *z);
    z->name = xstrdup(name);
    return z;
}

/* A zone named name from the TZif bytes in data; messages name the source as label. */
static struct tz *parse_zone(const char *name, const void *data, size_t len, const char *label,
                             struct err *e)
{
    struct tz *z = tz_alloc(name);
    if (tzif_parse(z, data, len, label, e) != 0) {
        tz_free(z);
        return NULL;
    }
    return z;
}

struct tz *tz_parse(const char *name, const void *data, size_t len, struct err *e)
{
    return parse_zone(name, data, len, name, e);
}

struct tz *tz_load(const char *name, const char *zoneinfo_dir, struct err *e)
{
    if (!name || !name_ok(name)) {
        err_set(e, "tz: invalid zone name \"%.64s\" (want e.g. \"America/New_York\")",
                name ? name : "(null)");
        return NULL;
    }
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
        struct tz *z = tz_alloc(name);
        z->n_types = 1;
        z->types = xcalloc(1, sizeof *z->types);
        return z;
    }
    char path[4096];
    const char *dir = zoneinfo_dir ? zoneinfo_dir : "/usr/share/zoneinfo";
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        err_set(e, "tz: zoneinfo path too long for zone \"%s\"", name);
        return NULL;
    }
    size_t len;
    char *data = util_read_file(path, TZ_FILE_MAX, &len);
    if (!data) {
        int en = errno;
        if (en == ENOENT || en == ENOTDIR || en == EISDIR)
            err_set(e, "tz: unknown time zone \"%s\" (%s: %s)", name, path, strerror(en));
        else err_set(e, "tz: cannot read %s: %s", path, strerror(en));
        return NULL;
    }
    struct tz *z = parse_zone(name, data, len, path, e);
    free(data);
    return z;
}

void tz_free(struct tz *z)
{
    if (!z) return;
    free(z->name);
    free(z->trans_s);
    free(z->trans_type);
    free(z->types);
    free(z);
}

const char *tz_name(const struct tz *z)
{
    return z->name;
}

/* ---- queries ---- */

int32_t tz_offset_at(const struct tz *z, int64_t utc_s)
{
    size_t n = z->n_trans;
    if (n == 0 || utc_s < z->trans_s[0]) {
        if (n == 0 && z->has_rule) return rule_offset_at(&z->rule, utc_s);
        return z->types[0].utoff_s;
    }
    if (utc_s >= z->trans_s[n - 1] && z->has_rule) return rule_offset_at(&z->rule, utc_s);
    size_t lo = 0, hi = n; /* find the last transition <= utc_s: trans_s[lo] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans_s[mid] <= utc_s) lo = mid;
        else hi = mid;
    }
    return z->types[z->trans_type[lo]].utoff_s;
}

/* The first instant > t at which the offset may change, or INT64_MAX. */
static int64_t next_change(const struct tz *z, int64_t t)
{
    size_t n = z->n_trans;
    if (n > 0 && t < z->trans_s[n - 1]) {
        size_t lo = 0, hi = n - 1; /* first transition > t: trans_s[hi] */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (z->trans_s[mid] > t) hi = mid;
            else lo = mid + 1;
        }
        return z->trans_s[hi];
    }
    return z->has_rule ? rule_next_change(&z->rule, t) : INT64_MAX;
}

/* The first UTC instant whose wall clock reads local_s (seconds since the local epoch),
 * or, when the clock jumps over local_s, the instant of the jump. Walks the periods of
 * constant offset forward from the earliest instant that could read local_s. */
static int64_t first_instant_at_local(const struct tz *z, int64_t local_s)
{
    int64_t s = local_s - (TZ_OFF_MAX + 1);
    for (;;) {
        int32_t off = tz_offset_at(z, s);
        if (s + off > local_s) return s; /* the clock jumped over local_s at s */
        int64_t end = next_change(z, s);
        if (local_s - off < end) return local_s - off;
        s = end;
    }
}

int64_t tz_next_local_time(const struct tz *z, int64_t after_utc_s, int hh, int mm)
{
    ASSERT(hh >= 0 && hh <= 23 && mm >= 0 && mm <= 59);
    int64_t after = clamp_t(after_utc_s);
    int64_t day = floor_div(after + tz_offset_at(z, after), TZ_DAY_S);
    /* Offsets differ by less than 52 h, so the answer lies within these local days. */
    for (int64_t d = day - 1; d <= day + 4; d++) {
        int64_t t = first_instant_at_local(z, d * TZ_DAY_S + hh * 3600 + mm * 60);
        if (t >= after) return t;
    }
    ASSERT(!"tz_next_local_time: no candidate within 5 local days");
    return after;
}

int32_t tz_local_seconds_of_day(const struct tz *z, int64_t utc_s)
{
    return (int32_t)floor_mod(floor_mod(utc_s, TZ_DAY_S) + tz_offset_at(z, utc_s), TZ_DAY_S);
}
