/* order.c: the order book of record (see order.h).
 *
 * Orders are allocated in slabs of ORDER_SLAB and never move or die before the book,
 * so pointers stay valid. `all` lists them in id order (ids only grow, and recovery
 * inserts in journal order), so lookup by id is a binary search; a client id is
 * "<epoch>-<id>", so lookup by client id parses the id and compares the string.
 * `working` lists the non-terminal orders that were sent (held bracket exits are not
 * working), in id order; order_set_status keeps it current. The transition table is
 * the only place that decides what may follow what. */
#include "order.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ORDER_SLAB 1024

struct slab {
    struct slab *next;
    int used;
    struct order v[ORDER_SLAB];
};

struct order_book {
    struct slab *slabs;
    struct slab *spare; /* the next slab, its pages already touched (order_book_reserve) */
    struct order **all;
    int nall, capall;
    struct order **working;
    int nworking, capworking;
    uint64_t next_id;
    int64_t epoch;
};

static const char *const status_names[OS__COUNT] = {
    "PENDING_NEW", "ACCEPTED", "PARTIALLY_FILLED", "FILLED", "REJECTED", "CANCELED", "EXPIRED",
};

/* legal[from] is the set of statuses that may follow from. */
static const unsigned legal[OS__COUNT] = {
    [OS_PENDING_NEW] = 1u << OS_ACCEPTED | 1u << OS_REJECTED | 1u << OS_CANCELED,
    [OS_ACCEPTED] =
        1u << OS_PARTIALLY_FILLED | 1u << OS_FILLED | 1u << OS_CANCELED | 1u << OS_EXPIRED,
    [OS_PARTIALLY_FILLED] =
        1u << OS_PARTIALLY_FILLED | 1u << OS_FILLED | 1u << OS_CANCELED | 1u << OS_EXPIRED,
};

const char *order_status_name(enum order_status s)
{
    return (unsigned)s < OS__COUNT ? status_names[s] : "?";
}

const char *order_side_name(enum order_side s)
{
    return s == SIDE_BUY ? "buy" : "sell";
}

const char *order_type_name(enum order_type t)
{
    static const char *const names[] = {"market", "limit", "stop", "stop_limit", "trail"};
    return (unsigned)t < ARRAY_LEN(names) ? names[t] : "?";
}

static const char *const tif_names[] = {"day", "gtc", "ioc", "fok"};

const char *order_tif_name(enum order_tif t)
{
    return (unsigned)t < ARRAY_LEN(tif_names) ? tif_names[t] : "?";
}

int order_tif_parse(const char *s)
{
    for (size_t i = 0; i < ARRAY_LEN(tif_names); i++)
        if (strcmp(s, tif_names[i]) == 0) return (int)i;
    return -1;
}

int order_status_terminal(enum order_status s)
{
    return s == OS_FILLED || s == OS_REJECTED || s == OS_CANCELED || s == OS_EXPIRED;
}

int order_transition_legal(enum order_status from, enum order_status to)
{
    if ((unsigned)from >= OS__COUNT || (unsigned)to >= OS__COUNT) return 0;
    return (legal[from] >> to) & 1u;
}

int order_working(const struct order *o)
{
    return !order_status_terminal(o->status) && !o->held;
}

int64_t order_leaves(const struct order *o)
{
    return order_status_terminal(o->status) ? 0 : o->qty - o->filled_qty;
}

struct order_book *order_book_new(void)
{
    struct order_book *b = xcalloc(1, sizeof *b);
    b->next_id = 1;
    return b;
}

void order_book_free(struct order_book *b)
{
    if (!b) return;
    for (struct slab *s = b->slabs, *next; s; s = next) {
        next = s->next;
        free(s);
    }
    free(b->spare);
    free(b->all);
    free(b->working);
    free(b);
}

void order_book_set_next_id(struct order_book *b, uint64_t next_id, int64_t epoch)
{
    if (next_id > b->next_id) b->next_id = next_id;
    b->epoch = epoch;
}

uint64_t order_book_next_id(const struct order_book *b)
{
    return b->next_id;
}

static struct order *slot(struct order_book *b)
{
    if (!b->slabs || b->slabs->used == ORDER_SLAB) {
        struct slab *s = b->spare ? b->spare : xmalloc(sizeof *s);
        b->spare = NULL;
        s->next = b->slabs;
        s->used = 0;
        b->slabs = s;
    }
    return &b->slabs->v[b->slabs->used++];
}

void order_book_reserve(struct order_book *b)
{
    if (b->spare || (b->slabs && b->slabs->used < ORDER_SLAB / 2)) return;
    b->spare = xmalloc(sizeof *b->spare);
    memset(b->spare, 0, sizeof *b->spare); /* fault its pages in now, not per order */
}

static void push(struct order ***v, int *n, int *cap, struct order *o)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *v = xrealloc(*v, (size_t)*cap * sizeof **v);
    }
    (*v)[(*n)++] = o;
}

/* Index of id in v (sorted by id), or where it would go, negated minus one. */
static int search(struct order *const *v, int n, uint64_t id)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (v[mid]->id == id) return mid;
        if (v[mid]->id < id) lo = mid + 1;
        else hi = mid - 1;
    }
    return -lo - 1;
}

static void working_insert(struct order_book *b, struct order *o)
{
    int at = search(b->working, b->nworking, o->id);
    if (at >= 0) return;
    at = -at - 1;
    push(&b->working, &b->nworking, &b->capworking, o);
    memmove(&b->working[at + 1], &b->working[at],
            (size_t)(b->nworking - 1 - at) * sizeof *b->working);
    b->working[at] = o;
}

static void working_remove(struct order_book *b, const struct order *o)
{
    int at = search(b->working, b->nworking, o->id);
    if (at < 0) return;
    memmove(&b->working[at], &b->working[at + 1],
            (size_t)(b->nworking - 1 - at) * sizeof *b->working);
    b->nworking--;
}

static struct order *store(struct order_book *b, const struct order *tmpl)
{
    ASSERT(b->nall == 0 || b->all[b->nall - 1]->id < tmpl->id);
    struct order *o = slot(b);
    *o = *tmpl;
    push(&b->all, &b->nall, &b->capall, o);
    if (o->id >= b->next_id) b->next_id = o->id + 1;
    if (order_working(o)) working_insert(b, o);
    return o;
}

struct order *order_book_add(struct order_book *b, const struct order *tmpl)
{
    struct order o = *tmpl;
    o.id = b->next_id;
    snprintf(o.cl_id, sizeof o.cl_id, "%" PRId64 "-%" PRIu64, b->epoch, o.id);
    o.status = OS_PENDING_NEW;
    o.filled_qty = 0;
    o.fill_notional = 0;
    return store(b, &o);
}

struct order *order_book_insert(struct order_book *b, const struct order *o)
{
    if (o->id == 0 || (b->nall && b->all[b->nall - 1]->id >= o->id)) return NULL;
    return store(b, o);
}

struct order *order_book_get(const struct order_book *b, uint64_t id)
{
    int at = search(b->all, b->nall, id);
    return at >= 0 ? b->all[at] : NULL;
}

struct order *order_book_by_clid(const struct order_book *b, const char *cl_id)
{
    const char *dash = strrchr(cl_id, '-');
    if (!dash) return NULL;
    char *end;
    uint64_t id = strtoull(dash + 1, &end, 10);
    if (*end) return NULL;
    struct order *o = order_book_get(b, id);
    return o && strcmp(o->cl_id, cl_id) == 0 ? o : NULL;
}

int order_set_status(struct order_book *b, struct order *o, enum order_status to, int64_t ts_us)
{
    if (!order_transition_legal(o->status, to)) return -1;
    o->status = to;
    o->updated_us = ts_us;
    if (order_working(o)) working_insert(b, o);
    else working_remove(b, o);
    return 0;
}

void order_release(struct order_book *b, struct order *o)
{
    o->held = 0;
    if (order_working(o)) working_insert(b, o);
}

int order_book_working(const struct order_book *b, struct order *const **out)
{
    *out = b->working;
    return b->nworking;
}

int order_book_all(const struct order_book *b, struct order *const **out)
{
    *out = b->all;
    return b->nall;
}
