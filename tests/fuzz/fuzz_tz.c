/* fuzz_tz: libFuzzer target for the TZif reader (tz_parse, tz.c).
 *
 * The input is the bytes of a zoneinfo file. Either tz_parse refuses it with a message,
 * or the zone answers queries at instants at the edges of int64, around the epoch, now,
 * and near its own transitions, and every answer holds tz.h's contracts:
 *  - tz_offset_at is within +-26 h (RFC 8536 3.2);
 *  - tz_local_seconds_of_day is in 0..86399 and agrees with the offset;
 *  - tz_next_local_time at HH:MM is >= after (for |after| <= 2^50, where tz.c stops
 *    clamping) and no later than the window it searches (5 local days, plus two
 *    offsets), and its wall clock reads HH:MM unless the clock jumped over that time
 *    at that very instant.
 * Instants are taken from the input's own bytes too, so the fuzzer can aim at the seams
 * between the transition table and the footer rule. ASan (with leak detection) and UBSan
 * catch the rest: overreads of the counts, overflow in the calendar arithmetic. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tz.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_tz: check failed: %s (line %d) %s\n", #c, __LINE__, context);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char context[160];

#define OFF_LIMIT_S (26 * 3600)
#define T_LIMIT     (INT64_C(1) << 50)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_stderr(0);
    return 0;
}

static int64_t local_sod(int64_t utc_s, int32_t off_s)
{
    int64_t r = (utc_s % 86400 + 86400) % 86400 + off_s;
    return (r % 86400 + 86400) % 86400;
}

static void check_next(const struct tz *z, int64_t after, int hh, int mm)
{
    int64_t t = tz_next_local_time(z, after, hh, mm);
    /* Shown when a check below fails. */
    snprintf(context, sizeof context, "tz_next_local_time(after %" PRId64 ", %02d:%02d) = %" PRId64,
             after, hh, mm, t);
    if (after < -T_LIMIT || after > T_LIMIT) return; /* clamped: only "no crash" holds */
    CHECK(t >= after);
    CHECK(t - after <= 5 * 86400 + 2 * OFF_LIMIT_S);
    int32_t off = tz_offset_at(z, t);
    int64_t want = hh * 3600 + mm * 60;
    if (local_sod(t, off) != want) {
        /* Only when the wall clock jumped over hh:mm at t: just before t it read less
         * than hh:mm on that day's clock, at t more. */
        int32_t before = tz_offset_at(z, t - 1);
        CHECK(before != off);
    }
}

static void check_instant(const struct tz *z, int64_t t)
{
    snprintf(context, sizeof context, "at %" PRId64, t);
    int32_t off = tz_offset_at(z, t);
    CHECK(off > -OFF_LIMIT_S && off < OFF_LIMIT_S);
    int32_t sod = tz_local_seconds_of_day(z, t);
    CHECK(sod >= 0 && sod <= 86399);
    CHECK(sod == local_sod(t, off));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    e.msg[0] = '\0';
    struct tz *z = tz_parse("Fuzz/Zone", data, size, &e);
    if (!z) {
        CHECK(e.msg[0] != '\0' && strstr(e.msg, "Fuzz/Zone"));
        return 0;
    }
    CHECK(strcmp(tz_name(z), "Fuzz/Zone") == 0);

    int64_t instants[16] = {
        INT64_MIN, INT64_MIN + 1, -T_LIMIT - 1,  -T_LIMIT,   -1, 0,
        1,         1700000000,    1800000000,    2200000000, /* past 2038: footer */
        T_LIMIT,   T_LIMIT + 1,   INT64_MAX - 1, INT64_MAX};
    int n = 14;
    /* Two more instants from the input's tail (often transition times or counts). */
    for (size_t k = 0; k < 2 && size >= 8 * (k + 1); k++) {
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | data[size - 8 * (k + 1) + (size_t)i];
        instants[n++] = (int64_t)bits;
    }
    for (int i = 0; i < n; i++) check_instant(z, instants[i]);

    static const int hhmm[][2] = {{0, 0}, {1, 30}, {2, 30}, {9, 30}, {16, 0}, {23, 59}};
    int64_t afters[] = {-T_LIMIT, 0, 1700000000, 2200000000, T_LIMIT, INT64_MIN, INT64_MAX};
    for (size_t a = 0; a < sizeof afters / sizeof afters[0]; a++)
        for (size_t h = 0; h < sizeof hhmm / sizeof hhmm[0]; h++)
            check_next(z, afters[a], hhmm[h][0], hhmm[h][1]);
    for (int i = 14; i < n; i++) {
        int64_t t = instants[i] % (T_LIMIT + 1); /* keep within the checked range */
        check_next(z, t, (int)((uint64_t)t % 24), (int)((uint64_t)t / 24 % 60));
    }
    tz_free(z);
    return 0;
}
