/* fuzz_fixed: libFuzzer target for fixed.c.
 *
 * The first byte picks the scale dp (0..9); the rest is used three ways:
 *  - as a decimal string: fx_parse must agree with a slow reference parser (__int128,
 *    no early overflow exits) on success and value; an accepted value must survive
 *    format -> parse, and fx_to_double must be the same double strtod reads from it;
 *  - its first 8 bytes as an int64: fx_format must match a reference rendering, fit
 *    the documented 22 bytes and parse back to the same value; fx_to_double must be
 *    the nearest double (checked against strtod of the exact decimal);
 *  - its first 8 bytes as a double: fx_from_double must accept every finite value
 *    that is an integer number of units inside the range, must round-trip through
 *    fx_to_double, and fx_decimals_of must return the least scale that converts.
 * Sanitizers catch the rest (UB in double -> int64 casts, overruns). */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixed.h"

#include "fuzz_common.h"

/* The grammar -?[0-9]+(\.[0-9]+)? with nonzero digits allowed only within dp
 * decimals, evaluated exactly; returns 0 and the value when it fits int64. */
static int ref_parse(const uint8_t *s, size_t len, int dp, int64_t *out)
{
    size_t i = 0;
    int neg = len > 0 && s[0] == '-';
    i += (size_t)neg;
    __int128 mag = 0;
    const __int128 cap = (__int128)1 << 64; /* saturate well above int64 */
    size_t start = i;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        mag = mag * 10 + (s[i] - '0');
        if (mag > cap) mag = cap;
    }
    if (i == start) return -1;
    int frac = 0;
    if (i < len && s[i] == '.') {
        size_t fstart = ++i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (frac < dp) {
                mag = mag * 10 + (s[i] - '0');
                if (mag > cap) mag = cap;
                frac++;
            } else if (s[i] != '0') {
                return -1;
            }
        }
        if (i == fstart) return -1;
    }
    if (i != len) return -1;
    for (; frac < dp; frac++) {
        mag *= 10;
        if (mag > cap) mag = cap;
    }
    __int128 v = neg ? -mag : mag;
    if (v > INT64_MAX || v < INT64_MIN) return -1;
    *out = (int64_t)v;
    return 0;
}

/* The exact decimal of v at dp as digits with an exponent, for strtod. */
static double exact_double(int64_t v, int dp)
{
    char s[40];
    snprintf(s, sizeof s, "%" PRId64 "e-%d", v, dp);
    return strtod(s, NULL);
}

static void check_string(const uint8_t *s, size_t len, int dp)
{
    int64_t v = 0, ref = 0;
    int rc = fx_parse((const char *)s, len, dp, &v);
    int ref_rc = ref_parse(s, len, dp, &ref);
    CHECK(rc == ref_rc);
    if (rc != 0) return;
    CHECK(v == ref);
    char buf[22];
    int n = fx_format(v, dp, buf, sizeof buf);
    CHECK(n > 0 && n < 22 && (size_t)n == strlen(buf));
    int64_t back;
    CHECK(fx_parse(buf, (size_t)n, dp, &back) == 0 && back == v);
    CHECK(fx_to_double(v, dp) == exact_double(v, dp));
}

static void check_int(int64_t v, int dp)
{
    char buf[22], ref[48];
    int n = fx_format(v, dp, buf, sizeof buf);
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t p = (uint64_t)fx_pow10(dp);
    if (dp == 0) snprintf(ref, sizeof ref, "%s%" PRIu64, v < 0 ? "-" : "", mag);
    else
        snprintf(ref, sizeof ref, "%s%" PRIu64 ".%0*" PRIu64, v < 0 ? "-" : "", mag / p, dp,
                 mag % p);
    CHECK(strcmp(buf, ref) == 0 && (size_t)n == strlen(ref));
    int64_t back;
    CHECK(fx_parse(buf, (size_t)n, dp, &back) == 0 && back == v);
    double d = fx_to_double(v, dp);
    CHECK(d == exact_double(v, dp));
    /* Within 2^50 units the double holds the value well enough to come back. */
    if (mag <= (UINT64_C(1) << 50)) CHECK(fx_from_double(d, dp, &back) == 0 && back == v);
    /* A short buffer is truncated, terminated, and the length still reported. */
    char small[5];
    size_t kept = (size_t)n < sizeof small - 1 ? (size_t)n : sizeof small - 1;
    CHECK(fx_format(v, dp, small, sizeof small) == n);
    CHECK(memcmp(small, ref, kept) == 0 && small[kept] == '\0');
}

static void check_double(double d, int dp)
{
    int64_t x;
    int rc = fx_from_double(d, dp, &x);
    double scaled = d * (double)fx_pow10(dp);
    if (rc == 0) {
        CHECK(isfinite(d));
        /* x came from an integral double, so (double)x is exact. */
        CHECK(fabs((double)x - scaled) <= 1e-9 + 16 * DBL_EPSILON * fabs(scaled));
        uint64_t mag = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
        int64_t back;
        if (mag <= (UINT64_C(1) << 50))
            CHECK(fx_from_double(fx_to_double(x, dp), dp, &back) == 0 && back == x);
        if (x == 0) CHECK(fabs(d) <= 1e-9);
    } else if (isfinite(d) && isfinite(scaled) && fabs(scaled) < 0x1p62) {
        CHECK(scaled != round(scaled)); /* whole numbers of units in range convert */
    }
    int k = fx_decimals_of(d);
    if (k >= 0) {
        CHECK(d > 0 && fx_from_double(d, k, &x) == 0 && x > 0);
        for (int j = 0; j < k; j++) CHECK(fx_from_double(d, j, &x) != 0 || x == 0);
    } else if (isfinite(d) && d > 0) {
        for (int j = 0; j <= FX_MAX_DP; j++) CHECK(fx_from_double(d, j, &x) != 0 || x == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int dp = data[0] % (FX_MAX_DP + 1);
    data++;
    size--;
    check_string(data, size, dp);
    if (size >= 8) {
        int64_t v;
        double d;
        memcpy(&v, data, 8);
        memcpy(&d, data, 8);
        check_int(v, dp);
        check_double(d, dp);
    }
    return 0;
}
