/* tz.h: time zones from the system's TZif files (/usr/share/zoneinfo, Debian tzdata),
 * for trading windows and timer.at("HH:MM", name, tz).
 *
 * A zone is loaded once and then answers offset queries with no I/O. Both TZif v1 and
 * v2+ files are read; times past the last transition follow the file's POSIX TZ
 * footer rule (e.g. "EST5EDT,M3.2.0,M11.1.0"). "UTC" needs no file. */
#ifndef LUATRADE_TZ_H
#define LUATRADE_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct tz;

/* Loads zone name ("America/New_York", "UTC", "Europe/London"). Names with "..",
 * a leading '/', or characters outside [A-Za-z0-9_+-/] are refused. Returns NULL and
 * fills e when unknown or malformed. zoneinfo_dir NULL means /usr/share/zoneinfo. */
struct tz *tz_load(const char *name, const char *zoneinfo_dir, struct err *e);
/* Parses TZif bytes (as read from a zoneinfo file) with the same checks as tz_load;
 * name is copied, becomes tz_name and labels error messages. data is only read and
 * need not outlive the call. Returns NULL and fills e when malformed. */
struct tz *tz_parse(const char *name, const void *data, size_t len, struct err *e);
void tz_free(struct tz *z);
const char *tz_name(const struct tz *z);

/* Offset from UTC in seconds (east positive) in force at utc_s. */
int32_t tz_offset_at(const struct tz *z, int64_t utc_s);

/* The UTC instant of the first time >= after_utc_s at which the local wall clock in z
 * reads hh:mm:00. On a spring-forward day when hh:mm does not exist, the instant the
 * clock jumps past it is used; on a fall-back day, the first occurrence. */
int64_t tz_next_local_time(const struct tz *z, int64_t after_utc_s, int hh, int mm);

/* Local time-of-day in seconds since local midnight at utc_s (0..86399). */
int32_t tz_local_seconds_of_day(const struct tz *z, int64_t utc_s);

#endif
