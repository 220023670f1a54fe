/* instrument.c: the registry of tradable symbols (see instrument.h).
 *
 * Invariants of a struct instruments r (zero-initialised = empty):
 *  - r->v[0..n) are valid instruments: valid, unique symbols; 0 <= px_dp, qty_dp <=
 *    FX_MAX_DP; tick > 0; lot > 0. An instrument's id is its index and never changes:
 *    instruments are only ever appended.
 *  - The capacity is implied by n, so the public struct needs no capacity field: it
 *    is 0 when n == 0 and otherwise the smallest power of two >= MAX(n, 8). The array
 *    therefore grows (xrealloc, doubling) exactly when n is 0 or a power of two >= 8,
 *    and never past INSTRUMENTS_MAX (a power of two).
 * Lookups are a linear scan: registration happens at start-up, and hot paths keep the
 * id they resolved once. */
#include "instrument.h"

#include <stdlib.h>
#include <string.h>

#include "fixed.h"
#include "util.h"

_Static_assert((INSTRUMENTS_MAX & (INSTRUMENTS_MAX - 1)) == 0, "INSTRUMENTS_MAX power of two");

static int symbol_char(char c, int first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return 1;
    return !first && (c == '.' || c == '_' || c == ':' || c == '/' || c == '-');
}

int instrument_symbol_valid(const char *s)
{
    if (!s) return 0;
    size_t len = strnlen(s, SYMBOL_MAX);
    if (len == 0 || len >= SYMBOL_MAX) return 0;
    for (size_t i = 0; i < len; i++)
        if (!symbol_char(s[i], i == 0)) return 0;
    return 1;
}

/* A printable rendering of a possibly invalid (even unterminated) symbol for messages. */
static const char *symbol_shown(const char *s, char *dst, size_t n)
{
    size_t len = strnlen(s, SYMBOL_MAX), j = 0;
    for (size_t i = 0; i < len && j + 1 < n; i++)
        dst[j++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    dst[j] = '\0';
    return dst;
}

int instruments_add(struct instruments *r, const struct instrument *ins, struct err *e)
{
    char shown[SYMBOL_MAX + 1];
    if (!instrument_symbol_valid(ins->symbol))
        return err_set(e,
                       "instrument: invalid symbol \"%s\" (1..%d characters of "
                       "[A-Za-z0-9._:/-], starting with a letter or digit)",
                       symbol_shown(ins->symbol, shown, sizeof shown), SYMBOL_MAX - 1);
    const char *sym = ins->symbol;
    if (instruments_find(r, sym) >= 0)
        return err_set(e, "instrument: symbol %s is already registered", sym);
    if (ins->px_dp < 0 || ins->px_dp > FX_MAX_DP)
        return err_set(e, "instrument: symbol %s: px_dp must be 0..%d (got %d)", sym, FX_MAX_DP,
                       ins->px_dp);
    if (ins->qty_dp < 0 || ins->qty_dp > FX_MAX_DP)
        return err_set(e, "instrument: symbol %s: qty_dp must be 0..%d (got %d)", sym, FX_MAX_DP,
                       ins->qty_dp);
    if (ins->tick <= 0)
        return err_set(e, "instrument: symbol %s: tick must be > 0 (got %lld)", sym,
                       (long long)ins->tick);
    if (ins->lot <= 0)
        return err_set(e, "instrument: symbol %s: lot must be > 0 (got %lld)", sym,
                       (long long)ins->lot);
    if (r->n >= INSTRUMENTS_MAX)
        return err_set(e, "instrument: symbol %s: registry full (%d instruments)", sym,
                       INSTRUMENTS_MAX);
    if (r->n == 0 || (r->n >= 8 && (r->n & (r->n - 1)) == 0)) {
        int cap = r->n == 0 ? 8 : r->n * 2;
        r->v = xrealloc(r->v, (size_t)cap * sizeof *r->v);
    }
    struct instrument *dst = &r->v[r->n];
    *dst = *ins;
    memset(dst->symbol, 0, sizeof dst->symbol);
    util_strlcpy(dst->symbol, ins->symbol, sizeof dst->symbol);
    return r->n++;
}

int instruments_find(const struct instruments *r, const char *sym)
{
    if (!sym) return -1;
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->v[i].symbol, sym) == 0) return i;
    return -1;
}

void instruments_free(struct instruments *r)
{
    if (!r) return;
    free(r->v);
    r->v = NULL;
    r->n = 0;
}
