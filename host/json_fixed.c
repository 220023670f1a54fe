/* json_fixed.c: exact decimals in cJSON objects (see json_fixed.h). */
#include "json_fixed.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "fixed.h"
#include "util.h"

void json_add_fixed(cJSON *o, const char *key, int64_t v, int dp)
{
    char text[32];
    fx_format_short(v, dp, text, sizeof text);
    ASSERT(cJSON_AddRawToObject(o, key, text) != NULL); /* fails only out of memory */
}

double json_number(const cJSON *j)
{
    if (cJSON_IsNumber(j)) return j->valuedouble;
    if (!cJSON_IsRaw(j) || !j->valuestring) return NAN;
    char *end;
    double v = strtod(j->valuestring, &end);
    return *end ? NAN : v;
}
