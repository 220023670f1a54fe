/* json_fixed.h: fixed-point values in cJSON objects as exact decimals.
 *
 * cJSON keeps numbers as doubles and prints each with sprintf("%.15g") plus a
 * round-trip check, about a microsecond a number; a portfolio or an order has a dozen.
 * A fixed-point value is written instead as a raw node holding its exact decimal text
 * ("190.25"), which prints as a JSON number, costs an integer formatting, and is never
 * a double's rounding. Readers in C get the value back with json_number. */
#ifndef LUATRADE_JSON_FIXED_H
#define LUATRADE_JSON_FIXED_H

#include <stdint.h>

struct cJSON;

/* Adds key: v * 10^-dp to o as an exact decimal number. */
void json_add_fixed(struct cJSON *o, const char *key, int64_t v, int dp);
/* The value of a number node, or of a raw node holding a number (json_add_fixed); NAN
 * for anything else (NULL included). */
double json_number(const struct cJSON *j);

#endif
