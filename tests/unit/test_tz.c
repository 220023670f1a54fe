/* Unit tests for tz: offsets from the system's TZif files (table and footer-rule paths),
 * tz_next_local_time around DST changes, zone-name refusal, malformed files, and POSIX
 * footer rules fed through hand-built TZif files.
 *
 * Reference constants were computed independently on the development machine (Debian
 * 12, tzdata 2024/2025), not with this code:
 *   - instants and offsets of real zones: python3 zoneinfo, e.g.
 *       datetime.fromtimestamp(t, ZoneInfo("America/New_York")).utcoffset()
 *     and cross-checked with `TZ=America/New_York date -d @EPOCH '+%F %T %z'`;
 *   - footer-only rules: `TZ='<rule>' date -d @EPOCH '+%z'` (glibc parses POSIX TZ
 *     strings, including Jn, n and /time beyond 24 h), and for "EST5EDT,0/0,J365/25"
 *     python's zoneinfo._zoneinfo._parse_tz_str (glibc shows a spurious hour of EST at
 *     the UTC new year there, RFC 8536 3.3.1 says DST all year). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tz.h"
#include "util.h"

#define H 3600

static char tmpdir[] = "/tmp/test_tz.XXXXXX";

static struct tz *load_ok(const char *name)
{
    struct err e = {{0}};
    struct tz *z = tz_load(name, NULL, &e);
    if (!z) fail_msg("tz_load(%s): %s", name, e.msg);
    assert_string_equal(tz_name(z), name);
    return z;
}

/* Asserts the offset just before and at a transition instant. */
static void assert_change(const struct tz *z, int64_t t, int32_t before_s, int32_t after_s)
{
    assert_int_equal(tz_offset_at(z, t - 1), before_s);
    assert_int_equal(tz_offset_at(z, t), after_s);
}

static void test_new_york_2026(void **s)
{
    struct tz *z = load_ok("America/New_York");
    assert_change(z, 1772953200, -5 * H, -4 * H);          /* 2026-03-08 07:00 UTC */
    assert_change(z, 1793512800, -4 * H, -5 * H);          /* 2026-11-01 06:00 UTC */
    assert_int_equal(tz_offset_at(z, 1781524800), -4 * H); /* 2026-06-15 12:00 UTC */
    tz_free(z);
}

/* The fat Debian file lists transitions to 2037; later ones come from the footer
 * "EST5EDT,M3.2.0,M11.1.0". Every change 2036..2042 (python zoneinfo) crosses that seam. */
static void test_new_york_footer(void **s)
{
    static const int64_t changes[][2] = {
        {2088658800, -4 * H}, {2109218400, -5 * H}, {2120108400, -4 * H}, {2140668000, -5 * H},
        {2152162800, -4 * H}, {2172722400, -5 * H}, {2183612400, -4 * H}, {2204172000, -5 * H},
        {2215062000, -4 * H}, {2235621600, -5 * H}, {2246511600, -4 * H}, {2267071200, -5 * H},
        {2277961200, -4 * H}, {2298520800, -5 * H},
    };
    struct tz *z = load_ok("America/New_York");
    for (size_t i = 0; i < ARRAY_LEN(changes); i++)
        assert_change(z, changes[i][0], (int32_t)(changes[i][1] == -4 * H ? -5 * H : -4 * H),
                      (int32_t)changes[i][1]);
    assert_int_equal(tz_offset_at(z, 2224756800), -4 * H); /* 2040-07-01 12:00 UTC, EDT */
    assert_int_equal(tz_offset_at(z, 2210241600), -5 * H); /* 2040-01-15 12:00 UTC, EST */
    tz_free(z);
}

static void test_other_zones(void **s)
{
    struct tz *z = load_ok("Europe/London");
    assert_change(z, 1774746000, 0, H);               /* 2026-03-29 01:00 UTC */
    assert_change(z, 1792890000, H, 0);               /* 2026-10-25 01:00 UTC */
    assert_int_equal(tz_offset_at(z, 2382480000), H); /* 2045-07-01, footer */
    tz_free(z);

    z = load_ok("Asia/Kolkata");
    assert_int_equal(tz_offset_at(z, 1781524800), 5 * H + 1800);
    assert_int_equal(tz_offset_at(z, 2382480000), 5 * H + 1800);
    tz_free(z);

    if (access("/usr/share/zoneinfo/Australia/Lord_Howe", R_OK) == 0) {
        z = load_ok("Australia/Lord_Howe");                  /* +10:30 standard, +11 summer */
        assert_change(z, 1775314800, 11 * H, 10 * H + 1800); /* 2026-04-04 15:00 UTC */
        assert_change(z, 1791041400, 10 * H + 1800, 11 * H); /* 2026-10-03 15:30 UTC */
        assert_change(z, 2532524400, 11 * H, 10 * H + 1800); /* 2050, footer */
        assert_change(z, 2548251000, 10 * H + 1800, 11 * H);
        /* 02:15 on 2026-10-04 does not exist: the clock goes 02:00 -> 02:30. */
        assert_int_equal(tz_next_local_time(z, 1791041400 - H, 2, 15), 1791041400);
        tz_free(z);
    }
}

static void test_utc(void **s)
{
    const char *names[] = {"UTC", "Etc/UTC"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        struct err e = {{0}};
        struct tz *z = tz_load(names[i], "/nonexistent-zoneinfo", &e); /* needs no file */
        assert_non_null(z);
        assert_string_equal(tz_name(z), names[i]);
        assert_int_equal(tz_offset_at(z, 0), 0);
        assert_int_equal(tz_offset_at(z, 2224756800), 0);
        assert_int_equal(tz_local_seconds_of_day(z, -1), 86399);
        assert_int_equal(tz_next_local_time(z, 86399, 0, 0), 86400); /* across midnight */
        assert_int_equal(tz_next_local_time(z, 86400, 0, 0), 86400); /* >= after */
        tz_free(z);
    }
}

static void test_next_local_time(void **s)
{
    struct tz *z = load_ok("America/New_York");
    /* Normal day: 2026-06-15 09:30 EDT = 13:30 UTC, asked at 08:00 EDT, at, and after. */
    assert_int_equal(tz_next_local_time(z, 1781524800, 9, 30), 1781530200);
    assert_int_equal(tz_next_local_time(z, 1781530200, 9, 30), 1781530200);
    assert_int_equal(tz_next_local_time(z, 1781530201, 9, 30), 1781616600);
    /* Across midnight: asked at 2026-06-15 23:00 EDT (06-16 03:00 UTC). */
    assert_int_equal(tz_next_local_time(z, 1781578800, 9, 30), 1781616600);
    /* Spring forward 2026-03-08: 02:30 does not exist; the jump is at 07:00 UTC. */
    assert_int_equal(tz_next_local_time(z, 1772946000, 2, 30), 1772953200);
    /* Same through the footer rule: 2040-03-11 07:00 UTC. */
    assert_int_equal(tz_next_local_time(z, 2215062000 - 2 * H, 2, 30), 2215062000);
    /* Fall back 2026-11-01: 01:30 EDT (05:30 UTC) comes first; once past it, the next
     * firing is the following day, not the repeated 01:30 EST (06:30 UTC). */
    assert_int_equal(tz_next_local_time(z, 1793505600, 1, 30), 1793511000);
    assert_int_equal(tz_next_local_time(z, 1793511001, 1, 30), 1793601000);
    /* Property: every day for two years around DST changes lands on 09:30 local,
     * at or after the query and within a day of it. */
    for (int64_t after = 1767225600; after < 1767225600 + 730LL * 86400; after += 86400 + 977) {
        int64_t t = tz_next_local_time(z, after, 9, 30);
        assert_true(t >= after && t - after <= 86400 + H);
        assert_int_equal(tz_local_seconds_of_day(z, t), 9 * H + 30 * 60);
    }
    tz_free(z);

    /* Kolkata, where the local date runs ahead of UTC: asked at 2026-06-16 01:30 IST
     * (06-15 20:00 UTC), 00:30 is next on 06-17 IST = 06-16 19:00 UTC. */
    z = load_ok("Asia/Kolkata");
    assert_int_equal(tz_next_local_time(z, 1781553600, 0, 30), 1781636400);
    tz_free(z);
}

static void test_local_seconds_of_day(void **s)
{
    struct tz *z = load_ok("America/New_York");
    assert_int_equal(tz_local_seconds_of_day(z, 1781530200), 9 * H + 30 * 60);
    assert_int_equal(tz_local_seconds_of_day(z, 1772953199), 1 * H + 3599); /* 01:59:59 EST */
    assert_int_equal(tz_local_seconds_of_day(z, 1772953200), 3 * H);        /* 03:00 EDT */
    assert_int_equal(tz_local_seconds_of_day(z, 0), 19 * H);                /* 1969-12-31 */
    tz_free(z);
    z = load_ok("Asia/Kolkata");
    assert_int_equal(tz_local_seconds_of_day(z, 1781553600), 1 * H + 30 * 60);
    tz_free(z);
}

static void test_bad_names(void **s)
{
    const char *invalid[] = {"../etc/passwd",    "/etc/x", "",    "America/../UTC",
                             "America/New York", "UTC\n",  "a.b", "Europe\\London"};
    for (size_t i = 0; i < ARRAY_LEN(invalid); i++) {
        struct err e = {{0}};
        assert_null(tz_load(invalid[i], NULL, &e));
        assert_non_null(strstr(e.msg, "invalid zone name"));
    }
    const char *unknown[] = {"No/Such_Zone", "America", "America/New_York/x"};
    for (size_t i = 0; i < ARRAY_LEN(unknown); i++) {
        struct err e = {{0}};
        assert_null(tz_load(unknown[i], NULL, &e));
        assert_non_null(strstr(e.msg, "unknown time zone"));
        assert_non_null(strstr(e.msg, unknown[i]));
    }
    assert_null(tz_load("Nope", NULL, NULL)); /* e may be NULL */
}

/* ---- hand-built TZif files ---- */

struct tt {
    int32_t off_s;
    uint8_t isdst;
};

struct tzif_spec {
    char version; /* 0 or '2' */
    size_t n_trans;
    const int64_t *trans_s;
    const uint8_t *idx;
    size_t n_types;
    const struct tt *types;
    const char *footer; /* v2 only */
};

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) *p++ = (uint8_t)(v >> (24 - 8 * i));
    return p;
}

static uint8_t *put_block(uint8_t *p, const struct tzif_spec *sp, int time_len)
{
    memcpy(p, "TZif", 4);
    p[4] = (uint8_t)sp->version;
    memset(p + 5, 0, 15);
    p = put32(p + 20, 0); /* isutcnt */
    p = put32(p, 0);      /* isstdcnt */
    p = put32(p, 0);      /* leapcnt */
    p = put32(p, (uint32_t)sp->n_trans);
    p = put32(p, (uint32_t)sp->n_types);
    p = put32(p, 4); /* charcnt: "XXX\0" */
    for (size_t i = 0; i < sp->n_trans; i++) {
        if (time_len == 8) p = put32(p, (uint32_t)((uint64_t)sp->trans_s[i] >> 32));
        p = put32(p, (uint32_t)sp->trans_s[i]);
    }
    for (size_t i = 0; i < sp->n_trans; i++) *p++ = sp->idx[i];
    for (size_t i = 0; i < sp->n_types; i++) {
        p = put32(p, (uint32_t)sp->types[i].off_s);
        *p++ = sp->types[i].isdst;
        *p++ = 0;
    }
    memcpy(p, "XXX", 4);
    return p + 4;
}

/* Writes the TZif file described by sp to buf; returns its length. */
static size_t build_tzif(uint8_t *buf, const struct tzif_spec *sp)
{
    uint8_t *p = put_block(buf, sp, 4);
    if (sp->version != 0) {
        p = put_block(p, sp, 8);
        p += sprintf((char *)p, "\n%s\n", sp->footer);
    }
    return (size_t)(p - buf);
}

static void write_zone(const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Loads tmpdir/name expecting failure; the message must name the file and contain why. */
static void assert_refused(const char *name, const char *why)
{
    struct err e = {{0}};
    struct tz *z = tz_load(name, tmpdir, &e);
    if (z) fail_msg("%s was accepted", name);
    if (!strstr(e.msg, tmpdir) || !strstr(e.msg, why))
        fail_msg("%s: message \"%s\" lacks \"%s\"", name, e.msg, why);
}

static struct tz *load_tmp(const char *name)
{
    struct err e = {{0}};
    struct tz *z = tz_load(name, tmpdir, &e);
    if (!z) fail_msg("%s: %s", name, e.msg);
    return z;
}

static const int64_t two_trans[] = {0, 1000000};
static const uint8_t two_idx[] = {1, 0};
static const struct tt cet_types[] = {{H, 0}, {2 * H, 1}};

static void test_malformed(void **s)
{
    uint8_t buf[4096];
    struct tzif_spec sp = {'2', 2, two_trans, two_idx, 2, cet_types, "CET-1CEST,M3.5.0,M10.5.0/3"};
    size_t len = build_tzif(buf, &sp);
    write_zone("Good", buf, len);
    tz_free(load_tmp("Good")); /* the builder itself makes valid files */

    write_zone("Short", buf, 20);
    assert_refused("Short", "truncated TZif header");
    memcpy(buf, "TZof", 4);
    write_zone("Magic", buf, len);
    assert_refused("Magic", "bad magic");
    memcpy(buf, "TZif", 4);

    put32(buf + 32, 1000000); /* v1 timecnt far beyond the file */
    write_zone("Counts", buf, len);
    assert_refused("Counts", "data bytes");
    memset(buf + 20, 0xff, 24); /* every count 2^32-1: must not overflow */
    write_zone("Huge", buf, len);
    assert_refused("Huge", "data bytes");

    uint8_t bad_idx[] = {1, 7};
    sp.idx = bad_idx;
    write_zone("Index", buf, build_tzif(buf, &sp));
    assert_refused("Index", "uses type 7");
    sp.idx = two_idx;

    int64_t backwards[] = {1000000, 0};
    sp.trans_s = backwards;
    write_zone("Order", buf, build_tzif(buf, &sp));
    assert_refused("Order", "not after");
    sp.trans_s = two_trans;

    len = build_tzif(buf, &sp);
    write_zone("NoFooter", buf, len - 1); /* closing newline cut */
    assert_refused("NoFooter", "footer");
    sp.footer = "CET-1CEST,M13.5.0,M10.5.0/3";
    write_zone("BadFooter", buf, build_tzif(buf, &sp));
    assert_refused("BadFooter", "bad start of daylight time");
    sp.footer = "CET-1CEST";
    write_zone("NoRule", buf, build_tzif(buf, &sp));
    assert_refused("NoRule", "without a transition rule");

    struct tt bad_off[] = {{26 * H, 0}};
    struct tzif_spec one = {'2', 0, NULL, NULL, 1, bad_off, ""};
    write_zone("Offset", buf, build_tzif(buf, &one));
    assert_refused("Offset", "local time type 0 is invalid");
}

/* Every proper prefix of a real file is refused cleanly (run under ASan). */
static void test_truncated_real_file(void **s)
{
    size_t len;
    char *data = util_read_file("/usr/share/zoneinfo/America/New_York", 1 << 20, &len);
    assert_non_null(data);
    for (size_t n = 0; n < len; n++) {
        write_zone("Cut", data, n);
        struct err e = {{0}};
        struct tz *z = tz_load("Cut", tmpdir, &e);
        if (z) fail_msg("prefix of %zu/%zu bytes accepted", n, len);
    }
    write_zone("Cut", data, len);
    tz_free(load_tmp("Cut"));
    free(data);
}

/* A v2 file with no transitions: the footer alone decides every offset. */
static struct tz *footer_zone(const char *name, const char *footer, const struct tt *type0)
{
    uint8_t buf[512];
    struct tzif_spec sp = {'2', 0, NULL, NULL, 1, type0, footer};
    write_zone(name, buf, build_tzif(buf, &sp));
    return load_tmp(name);
}

static void test_footer_rules(void **s)
{
    struct tt minus3 = {-3 * H, 0};
    struct tz *z = footer_zone("Minus3", "<-03>3", &minus3);
    assert_int_equal(tz_offset_at(z, 1781524800), -3 * H);
    assert_int_equal(tz_offset_at(z, -4000000000LL), -3 * H);
    assert_int_equal(tz_next_local_time(z, 1781524800, 9, 30), 1781526600);
    tz_free(z);

    z = footer_zone("Cet", "CET-1CEST,M3.5.0,M10.5.0/3", &cet_types[0]);
    assert_change(z, 1774746000, H, 2 * H); /* 2026-03-29 01:00 UTC */
    assert_change(z, 1792890000, 2 * H, H); /* 2026-10-25 01:00 UTC */
    assert_int_equal(tz_offset_at(z, 2382480000), 2 * H);
    tz_free(z);

    /* Jn skips Feb 29, n counts it; /-1 and /26 reach into neighbouring days. */
    struct tt minus3std = {-3 * H, 0};
    z = footer_zone("Julian", "XXX3YYY,J60/-1,300/26", &minus3std);
    assert_change(z, 1835488800, -3 * H, -2 * H); /* 2028-03-01 02:00 UTC */
    assert_change(z, 1856318400, -2 * H, -3 * H); /* 2028-10-28 04:00 UTC */
    tz_free(z);

    /* RFC 8536 3.3.1: DST all year, including across the new year. */
    struct tt est = {-5 * H, 0};
    z = footer_zone("AllDst", "EST5EDT,0/0,J365/25", &est);
    const int64_t ts[] = {1831550400, 1861919999, 1861920000, 1861938000};
    for (size_t i = 0; i < ARRAY_LEN(ts); i++) assert_int_equal(tz_offset_at(z, ts[i]), -4 * H);
    tz_free(z);

    /* Found by fuzz_tz: the start of 1969 falls on 1970-01-02 (111600), so from New Year
     * until then the start of 1968 (1969-01-02) is the latest change, DST; the offset
     * must not change at 0, where there is no transition. */
    struct tt minus24 = {-24 * H, 0};
    z = footer_zone("NewYear", "<-24>24<+24>-24:9,M12.5.6/127,3", &minus24);
    assert_int_equal(tz_offset_at(z, -1), 24 * H + 540);
    assert_int_equal(tz_offset_at(z, 0), 24 * H + 540);
    assert_change(z, 179460, 24 * H + 540, -24 * H); /* the end of 1970 */
    assert_int_equal(tz_next_local_time(z, 0, 1, 30), 5400 - 24 * H - 540 + 86400);
    tz_free(z);

    struct tt gmt = {0, 0};
    z = footer_zone("Gmt0", "GMT0", &gmt);
    assert_int_equal(tz_offset_at(z, INT64_MAX), 0);
    assert_int_equal(tz_offset_at(z, INT64_MIN), 0);
    tz_free(z);

    /* Found by fuzz_tz: floor_mod overflowed (UB) at the bottom of int64. */
    z = footer_zone("Gmt0", "GMT0", &gmt);
    assert_int_equal(tz_local_seconds_of_day(z, INT64_MIN), 30592); /* -2^63 mod 86400 */
    tz_free(z);
}

/* A v1 file has no footer: the last type holds forever, types[0] before the first. */
static void test_v1_file(void **s)
{
    uint8_t buf[512];
    struct tzif_spec sp = {0, 2, two_trans, two_idx, 2, cet_types, NULL};
    write_zone("V1", buf, build_tzif(buf, &sp));
    struct tz *z = load_tmp("V1");
    assert_int_equal(tz_offset_at(z, -1), H);
    assert_change(z, 0, H, 2 * H);
    assert_change(z, 1000000, 2 * H, H);
    assert_int_equal(tz_offset_at(z, 4000000000LL), H);
    tz_free(z);
}

static int make_tmpdir(void **s)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **s)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_york_2026),
        cmocka_unit_test(test_new_york_footer),
        cmocka_unit_test(test_other_zones),
        cmocka_unit_test(test_utc),
        cmocka_unit_test(test_next_local_time),
        cmocka_unit_test(test_local_seconds_of_day),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncated_real_file),
        cmocka_unit_test(test_footer_rules),
        cmocka_unit_test(test_v1_file),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
