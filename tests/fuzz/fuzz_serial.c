/* fuzz_serial: libFuzzer target for sbx_serial_load and sbx_serial_dump.
 *
 * The input is a serialized value. Each run gets a fresh 32 MB sandbox (under one
 * watchdog made in LLVMFuzzerInitialize) in which the classes "Position" and "Order"
 * exist, so class names in the input are both found and missed. Checks:
 *  - load agrees with ref_valid, a reader written from the format comment at the top of
 *    sbx_serial.c, except when the sandbox ran out of memory (load may then refuse);
 *  - a failed load leaves the stack as it was and says why; a successful one pushes
 *    exactly one value;
 *  - a loaded value dumps; the dump is itself valid by ref_valid, loads again, and
 *    dumps again to the same value. Table traversal order (and so the table ids) is
 *    up to Lua's hash layout, which differs between the two copies, so the dumps are
 *    compared after canon() rewrites each with every table's entries sorted by key.
 *    When two table keys of one table cannot be told apart by canon (same shape), only
 *    the lengths are compared.
 * The depth limit can make a dump fail on a loaded value whose tables dump reaches by
 * a deeper path than the input did (shared references); that refusal is allowed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "buf.h"
#include "log.h"
#include "sbx.h"
#include "sbx_serial.h"
#include "sbx_watchdog.h"

#include "fuzz_common.h"

static struct sbx_watchdog *wd;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wd = fuzz_watchdog();
    return 0;
}

static struct sbx *new_sandbox(void)
{
    struct sbx_config cfg = {.name = "fuzz", .memory_limit = 32u << 20, .wd = wd, .seed = 1};
    struct err e;
    struct sbx *s = sbx_new(&cfg, &e);
    if (!s) {
        fprintf(stderr, "fuzz_serial: sbx_new: %s\n", e.msg);
        abort();
    }
    static const char setup[] = "class('Position') class('Order')";
    struct sbx_error se;
    CHECK(sbx_load(s, setup, sizeof setup - 1, "setup.lua", &se) == SBX_OK);
    CHECK(sbx_call(s, 0, 0, SBX_BUDGET_LOAD, &se) == SBX_OK);
    return s;
}

/* ---- ref_valid: the format, read independently ---- */

struct ref {
    const uint8_t *p, *end;
    uint32_t ntables;
    int depth;
};

static int ref_u32(struct ref *r, uint32_t *v)
{
    if (r->end - r->p < 4) return -1;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    return 0;
}

/* Reads one value; *unusable_key says it may not be a key (nil or NaN). */
static int ref_value(struct ref *r, int *unusable_key)
{
    uint32_t n;
    *unusable_key = 0;
    if (r->p >= r->end) return -1;
    switch (*r->p++) {
    case '0':
        if (r->depth > 0) return -1; /* nil only as the root */
        *unusable_key = 1;
        return 0;
    case 'F':
    case 'T':
        return 0;
    case 'N': {
        if (r->end - r->p < 8) return -1;
        uint64_t bits = 0;
        for (int i = 7; i >= 0; i--) bits = bits << 8 | r->p[i];
        double d;
        memcpy(&d, &bits, 8);
        *unusable_key = isnan(d);
        r->p += 8;
        return 0;
    }
    case 'S':
        if (ref_u32(r, &n) || (size_t)(r->end - r->p) < n) return -1;
        r->p += n;
        return 0;
    case 'R':
        if (ref_u32(r, &n)) return -1;
        return n < r->ntables ? 0 : -1;
    case 'B': {
        if (++r->depth > SBX_SERIAL_MAX_DEPTH) return -1;
        if (ref_u32(r, &n) || (size_t)(r->end - r->p) < n) return -1;
        r->p += n;
        r->ntables++;
        for (;;) {
            if (r->p >= r->end) return -1;
            if (*r->p == 'E') break;
            int bad_key, ignored;
            if (ref_value(r, &bad_key) || ref_value(r, &ignored) || bad_key) return -1;
        }
        r->p++;
        r->depth--;
        return 0;
    }
    default:
        return -1;
    }
}

/* 1 when data is one well-formed value; *ntables (may be NULL) receives its tables. */
static int ref_valid(const uint8_t *data, size_t len, uint32_t *ntables)
{
    struct ref r = {data, data + len, 0, 0};
    int ignored;
    int ok = ref_value(&r, &ignored) == 0 && r.p == r.end;
    if (ntables) *ntables = r.ntables;
    return ok;
}

/* ---- canon: a dump rewritten independently of table traversal order ---- */

struct cval {
    uint32_t off, len; /* the value's bytes (tag included) for scalars */
    char tag;
    uint32_t tid; /* 'B' and 'R': table id */
};

struct ctab {
    uint32_t cls_off, cls_len;
    uint32_t first, n; /* entries[first .. first + 2n): key, value, key, value, ... */
};

struct canon {
    const uint8_t *d;
    size_t len, pos;
    struct cval *vals;
    uint32_t nvals;
    struct ctab *tabs;
    uint32_t ntabs;
    uint32_t *entries;
    uint32_t nentries;
    uint64_t *memo[4]; /* shape hashes by depth, 0 = not computed */
    int64_t *emitted;  /* canonical id of each table, or -1 */
    int64_t next_id;
    int ambiguous;
};

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Parses the (valid) dump at c->pos; returns the value's index in c->vals. */
static uint32_t canon_parse(struct canon *c)
{
    uint32_t vi = c->nvals++;
    struct cval *v = &c->vals[vi];
    v->off = (uint32_t)c->pos;
    v->tag = (char)c->d[c->pos++];
    switch (v->tag) {
    case 'N':
        c->pos += 8;
        break;
    case 'S':
        c->pos += 4 + get32(c->d + c->pos);
        break;
    case 'R':
        v->tid = get32(c->d + c->pos);
        c->pos += 4;
        break;
    case 'B': {
        uint32_t tid = v->tid = c->ntabs++;
        uint32_t clen = get32(c->d + c->pos);
        c->tabs[tid].cls_off = (uint32_t)c->pos + 4;
        c->tabs[tid].cls_len = clen;
        c->pos += 4 + clen;
        uint32_t *mine = NULL, n = 0, cap = 0;
        while (c->d[c->pos] != 'E') {
            if (n + 2 > cap) {
                cap = cap ? cap * 2 : 16;
                mine = realloc(mine, cap * sizeof *mine);
                CHECK(mine);
            }
            mine[n++] = canon_parse(c);
            mine[n++] = canon_parse(c);
        }
        c->pos++;
        c->tabs[tid].first = c->nentries;
        c->tabs[tid].n = n / 2;
        if (n) memcpy(c->entries + c->nentries, mine, n * sizeof *mine);
        c->nentries += n;
        free(mine);
        break;
    }
    default:
        break;
    }
    c->vals[vi].len = (uint32_t)c->pos - c->vals[vi].off;
    return vi;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static uint64_t bytes_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t shape_hash(struct canon *c, uint32_t tid, int depth);

static uint64_t value_hash(struct canon *c, uint32_t vi, int depth)
{
    const struct cval *v = &c->vals[vi];
    if (v->tag == 'B' || v->tag == 'R') return shape_hash(c, v->tid, depth);
    return bytes_hash(c->d + v->off, v->len);
}

/* A hash of a table's class and contents down to depth levels, independent of entry
 * order and of table ids. Memoized, so shared tables cost once per depth. */
static uint64_t shape_hash(struct canon *c, uint32_t tid, int depth)
{
    if (depth == 0) return 0x7ab1e;
    uint64_t *m = &c->memo[depth][tid];
    if (*m) return *m;
    const struct ctab *t = &c->tabs[tid];
    uint64_t h = mix(bytes_hash(c->d + t->cls_off, t->cls_len) + t->n);
    for (uint32_t i = 0; i < t->n; i++) {
        uint32_t k = c->entries[t->first + 2 * i], v = c->entries[t->first + 2 * i + 1];
        h += mix(value_hash(c, k, depth - 1) * 31 + value_hash(c, v, depth - 1));
    }
    *m = h ? h : 1;
    return *m;
}

static struct canon *sort_ctx;

/* Scalar keys by their bytes, then table keys by shape. */
static int entry_cmp(const void *a, const void *b)
{
    struct canon *c = sort_ctx;
    const struct cval *ka = &c->vals[((const uint32_t *)a)[0]];
    const struct cval *kb = &c->vals[((const uint32_t *)b)[0]];
    int ta = ka->tag == 'B' || ka->tag == 'R', tb = kb->tag == 'B' || kb->tag == 'R';
    if (ta != tb) return ta - tb;
    if (!ta) {
        size_t n = ka->len < kb->len ? ka->len : kb->len;
        int r = memcmp(c->d + ka->off, c->d + kb->off, n);
        return r ? r : (ka->len > kb->len) - (ka->len < kb->len);
    }
    uint64_t ha = shape_hash(c, ka->tid, 3), hb = shape_hash(c, kb->tid, 3);
    if (ha == hb) c->ambiguous = 1;
    return (ha > hb) - (ha < hb);
}

static void canon_emit(struct canon *c, uint32_t vi, struct buf *out)
{
    const struct cval *v = &c->vals[vi];
    if (v->tag != 'B' && v->tag != 'R') {
        buf_put(out, c->d + v->off, v->len);
        return;
    }
    uint32_t tid = v->tid;
    CHECK(tid < c->ntabs);
    if (c->emitted[tid] >= 0) {
        buf_printf(out, "R%lld;", (long long)c->emitted[tid]);
        return;
    }
    c->emitted[tid] = c->next_id++;
    const struct ctab *t = &c->tabs[tid];
    buf_putc(out, 'B');
    buf_put(out, c->d + t->cls_off - 4, 4 + t->cls_len);
    uint32_t *pairs = malloc((t->n ? t->n : 1) * 2 * sizeof *pairs);
    CHECK(pairs);
    memcpy(pairs, c->entries + t->first, t->n * 2 * sizeof *pairs);
    sort_ctx = c;
    qsort(pairs, t->n, 2 * sizeof *pairs, entry_cmp);
    for (uint32_t i = 0; i < 2 * t->n; i++) canon_emit(c, pairs[i], out);
    free(pairs);
    buf_putc(out, 'E');
}

/* Rewrites dump d canonically into out; returns 1 when the result is exact (no table
 * keys of equal shape in one table). */
static int canon(const uint8_t *d, size_t len, struct buf *out)
{
    struct canon c = {.d = d, .len = len};
    c.vals = calloc(len + 1, sizeof *c.vals);
    c.tabs = calloc(len + 1, sizeof *c.tabs);
    c.entries = calloc(len + 1, sizeof *c.entries);
    c.emitted = malloc((len + 1) * sizeof *c.emitted);
    CHECK(c.vals && c.tabs && c.entries && c.emitted);
    for (int i = 1; i < 4; i++) CHECK((c.memo[i] = calloc(len + 1, sizeof *c.memo[i])));
    for (size_t i = 0; i <= len; i++) c.emitted[i] = -1;
    uint32_t root = canon_parse(&c);
    CHECK(c.pos == len);
    canon_emit(&c, root, out);
    for (int i = 1; i < 4; i++) free(c.memo[i]);
    free(c.vals);
    free(c.tabs);
    free(c.entries);
    free(c.emitted);
    return !c.ambiguous;
}

/* ---- the target ---- */

/* Dumps the value on top into out. Returns 0, or -1 when refused for depth, which is
 * allowed only for a value of over 100 tables (no traversal of fewer goes deeper). The
 * refusal is recognised by its path prefix, not its reason: a long path truncates the
 * message before the reason. Any other refusal fails the run. */
static int dump_top(struct sbx *s, uint32_t ntables, struct buf *out)
{
    lua_State *L = sbx_lua(s);
    int top = lua_gettop(L);
    struct err e;
    e.msg[0] = '\0';
    int rc = sbx_serial_dump(s, -1, "state", out, &e);
    CHECK(lua_gettop(L) == top);
    if (rc != 0) {
        if (ntables <= SBX_SERIAL_MAX_DEPTH || strncmp(e.msg, "state", 5) != 0) {
            fprintf(stderr, "fuzz_serial: dump failed: %s\n", e.msg);
            abort();
        }
        CHECK(out->len == 0);
        return -1;
    }
    uint32_t n;
    CHECK(ref_valid((const uint8_t *)out->p, out->len, &n) && n <= ntables);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sbx *s = new_sandbox();
    lua_State *L = sbx_lua(s);
    int top = lua_gettop(L);
    struct err e;
    e.msg[0] = '\0';
    int missing = -1;
    int rc = sbx_serial_load(s, (const char *)data, size, &missing, &e);
    uint32_t ntables;
    int valid = ref_valid(data, size, &ntables);
    if (rc != 0) {
        CHECK(lua_gettop(L) == top);
        CHECK(e.msg[0] != '\0');
        CHECK(!valid || strstr(e.msg, "memory"));
        sbx_free(s);
        return 0;
    }
    CHECK(valid);
    CHECK(lua_gettop(L) == top + 1);
    CHECK(missing >= 0);

    struct buf d1 = {0}, d2 = {0}, c1 = {0}, c2 = {0};
    if (dump_top(s, ntables, &d1) == 0) {
        lua_settop(L, top);
        e.msg[0] = '\0';
        rc = sbx_serial_load(s, d1.p, d1.len, NULL, &e);
        CHECK(rc == 0 || strstr(e.msg, "memory"));
        if (rc == 0 && dump_top(s, ntables, &d2) == 0) {
            CHECK(d2.len == d1.len); /* ids and order aside, the same bytes */
            int exact = canon((const uint8_t *)d1.p, d1.len, &c1);
            exact &= canon((const uint8_t *)d2.p, d2.len, &c2);
            if (exact) CHECK(c1.len == c2.len && memcmp(c1.p, c2.p, c1.len) == 0);
        }
    }
    buf_free(&d1);
    buf_free(&d2);
    buf_free(&c1);
    buf_free(&c2);
    sbx_free(s);
    return 0;
}
