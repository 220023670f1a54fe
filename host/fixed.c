/* fixed.c: int64 fixed-point conversion, parsing and formatting (see fixed.h).
 *
 * A value v with dp decimals means v * 10^-dp. Everything here is exact except the
 * double boundary, where these rules hold:
 *
 *  - fx_from_double scales x = v * 10^dp in double arithmetic (10^dp is exact), rounds
 *    it to the nearest integer r (half away from zero) and accepts only when x is
 *    within tolerance of r:
 *        |x - r| <= 1e-9 + 16 * DBL_EPSILON * |x|
 *    The first term is the header's "1e-9 of one unit" (so 0.1+0.2 -> 30 at dp=2,
 *    while 1.005 -> 100.49999999999999 is refused). The second widens it only where
 *    a double cannot resolve 1e-9 of a unit at all (|x| beyond ~2.8e5 units): a
 *    decimal read into a double and scaled carries up to ~2 ulps of error, and a few
 *    arithmetic steps a few more, so 16 ulps accepts honest values while still
 *    refusing anything more than a few ulps off the grid. A purely relative rule
 *    (1e-9 * |x|) would not do: at 1e10 units it would accept and silently round a
 *    value 10 units off the grid.
 *  - The range check happens on the rounded double before any cast (casting a double
 *    outside int64 is undefined behaviour): |r| must be < 2^63, so INT64_MIN itself
 *    is not reachable from a double (it is from a string).
 *  - fx_to_double is correctly rounded: exact division when |v| <= 2^53, and strtod
 *    of the exact decimal otherwise (a division would round twice).
 *
 * fx_parse reads the JSON-like grammar -?[0-9]+(\.[0-9]+)? exactly, len-bounded (no
 * NUL needed). Digits beyond dp are accepted only when they are zeros ("1.500" at
 * dp=2 is 150): "more decimals than dp" means decimals that would be lost. */
#include "fixed.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const int64_t pow10_tab[FX_MAX_DP + 1] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
};

#define TWO_POW_63 9223372036854775808.0

int64_t fx_pow10(int dp)
{
    ASSERT(dp >= 0 && dp <= FX_MAX_DP);
    return pow10_tab[dp];
}

int fx_from_double(double v, int dp, int64_t *out)
{
    ASSERT(dp >= 0 && dp <= FX_MAX_DP);
    if (!isfinite(v)) return -1;
    double x = v * (double)pow10_tab[dp];
    if (!isfinite(x)) return -1;
    double r = round(x);
    if (!(fabs(r) < TWO_POW_63)) return -1;
    if (fabs(x - r) > 1e-9 + 16 * DBL_EPSILON * fabs(x)) return -1;
    *out = (int64_t)r; /* -0.0 becomes 0 */
    return 0;
}

/* Magnitude of v as unsigned (INT64_MIN included). */
static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

double fx_to_double(int64_t v, int dp)
{
    ASSERT(dp >= 0 && dp <= FX_MAX_DP);
    if (magnitude(v) <= (UINT64_C(1) << 53)) return (double)v / (double)pow10_tab[dp];
    /* Integer digits with a decimal exponent: exact input to strtod, and no locale
     * decimal point involved. */
    char s[40];
    snprintf(s, sizeof s, "%" PRId64 "e-%d", v, dp);
    return strtod(s, NULL);
}

int fx_parse(const char *s, size_t len, int dp, int64_t *out)
{
    ASSERT(dp >= 0 && dp <= FX_MAX_DP);
    size_t i = 0;
    int neg = 0;
    if (i < len && s[i] == '-') {
        neg = 1;
        i++;
    }
    /* The value is the integer part's digits followed by exactly dp fraction digits
     * (padded with zeros), read as one integer with an overflow check per digit. */
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t mag = 0;
    size_t int_start = i;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (mag > (limit - d) / 10) return -1;
        mag = mag * 10 + d;
    }
    if (i == int_start) return -1; /* "", "-", ".5" */
    int frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t frac_start = i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            unsigned d = (unsigned)(s[i] - '0');
            if (frac >= dp) {
                if (d != 0) return -1; /* a decimal that would be lost */
                continue;
            }
            if (mag > (limit - d) / 10) return -1;
            mag = mag * 10 + d;
            frac++;
        }
        if (i == frac_start) return -1; /* "1." */
    }
    if (i != len) return -1; /* "1e5", "1.2.3", trailing bytes */
    for (; frac < dp; frac++) {
        if (mag > limit / 10) return -1;
        mag *= 10;
    }
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

/* fx_format follows snprintf: it writes at most n-1 bytes plus a NUL when n > 0 and
 * returns the full length, so a short buffer is detectable and never overrun. */
int fx_format(int64_t v, int dp, char *buf, size_t n)
{
    ASSERT(dp >= 0 && dp <= FX_MAX_DP);
    char tmp[32];
    char *p = tmp + sizeof tmp;
    uint64_t mag = magnitude(v);
    *--p = '\0';
    for (int i = 0; i < dp; i++) {
        *--p = (char)('0' + mag % 10);
        mag /= 10;
    }
    if (dp > 0) *--p = '.';
    do {
        *--p = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    if (v < 0) *--p = '-';
    size_t len = (size_t)(tmp + sizeof tmp - 1 - p);
    if (n) util_strlcpy(buf, p, n);
    return (int)len;
}

int fx_format_short(int64_t v, int dp, char *buf, size_t n)
{
    char tmp[32];
    int len = fx_format(v, dp, tmp, sizeof tmp);
    if (dp > 0) {
        while (tmp[len - 1] == '0') len--;
        if (tmp[len - 1] == '.') len--;
        tmp[len] = 0;
    }
    if (!strcmp(tmp, "-0")) len = 1, tmp[0] = '0', tmp[1] = 0;
    if (n) util_strlcpy(buf, tmp, n);
    return len;
}

int fx_decimals_of(double step)
{
    if (!isfinite(step) || !(step > 0)) return -1;
    for (int dp = 0; dp <= FX_MAX_DP; dp++) {
        int64_t units;
        if (fx_from_double(step, dp, &units) == 0 && units > 0) return dp;
    }
    return -1;
}
