/* audit.h: the audit log (DESIGN.md §9): one JSON line per mutating call, from REST
 * today and the console later: when, who (address and credential), what (method, path,
 * body or command), the result (status, error code) and a note.
 *
 *   {"ts":"2026-11-21T10:00:00.000001Z","who":"127.0.0.1 bearer","what":"POST /api/kill",
 *    "body":{"flatten":false},"status":200,"code":null,"note":"canceled=3"}
 *
 * The file is append-only, mode 0600, written with one write(2) per record. A record
 * also goes to the log at info level. */
#ifndef LUATRADE_AUDIT_H
#define LUATRADE_AUDIT_H

#include "err.h"

struct audit;

/* Opens (creates) path for appending. Returns NULL with e filled on failure. */
struct audit *audit_open(const char *path, struct err *e);
void audit_close(struct audit *a);

/* body: JSON text of the request body or NULL (it is embedded as JSON when it parses,
 * else as a string, and cut at 4 KB); code: error code or NULL; note may be NULL.
 * Returns 0, or -1 when the write failed (logged). */
int audit_write(struct audit *a, const char *who, const char *what, const char *body, int status,
                const char *code, const char *note);

#endif
