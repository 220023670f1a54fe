/* fixed.h: int64 fixed-point numbers for prices and quantities.
 *
 * A value is an int64 count of units of 10^-dp (dp = decimal places, 0..9), so
 * 190.25 with dp=2 is 19025. The host computes only in this form; doubles appear
 * only at the Lua/JSON boundary, converted by these functions, which reject
 * non-finite values and values that do not fit or carry more decimals than dp
 * (DESIGN.md §3: validate before any comparison). */
#ifndef LUATRADE_FIXED_H
#define LUATRADE_FIXED_H

#include <stddef.h>
#include <stdint.h>

#define FX_MAX_DP 9

/* 10^dp for dp in 0..FX_MAX_DP. */
int64_t fx_pow10(int dp);

/* Converts a double to fixed point with dp decimals. Fails (-1) on NaN, ±inf, values
 * whose magnitude exceeds what int64 holds at that scale, and values with more than dp
 * decimals (beyond a relative tolerance of 1e-9 of one unit, so 0.1+0.2 converts to 30
 * at dp=2). -0.0 converts to 0. Returns 0 on success. */
int fx_from_double(double v, int dp, int64_t *out);

/* The nearest double to v * 10^-dp. */
double fx_to_double(int64_t v, int dp);

/* Parses a decimal string ("190.25", "-3", "1e2" is rejected) exactly. Fails (-1) on
 * syntax errors, more decimals than dp, or overflow. */
int fx_parse(const char *s, size_t len, int dp, int64_t *out);

/* Writes v with exactly dp decimals ("190.25", "-0.50", "3") into buf; returns the length
 * (buf needs at most 22 bytes). */
int fx_format(int64_t v, int dp, char *buf, size_t n);

/* Like fx_format without trailing zero decimals ("190.25", "3", "-0.5"): the shortest
 * exact decimal, for JSON written from fixed point (json_add_fixed). */
int fx_format_short(int64_t v, int dp, char *buf, size_t n);

/* The number of decimals needed to represent step exactly (0.01 -> 2, 5 -> 0, 0.0005 -> 4),
 * or -1 when step is not positive, not finite, or needs more than FX_MAX_DP decimals. */
int fx_decimals_of(double step);

#endif
