/* order.h: the order book of record (DESIGN.md §8): ids, the state machine, parent and
 * child orders (brackets, OCO), and lookups by id and client id.
 *
 * Quantities and prices are fixed point in the instrument's units (instrument.h).
 * Every order belongs to the book, which owns it until the book is freed; callers hold
 * ids (or pointers valid until the next order_book_add, which may move nothing: orders
 * are individually allocated and never freed before the book).
 *
 * State machine:
 *   PENDING_NEW -> ACCEPTED | REJECTED | CANCELED
 *   ACCEPTED -> PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED
 *   PARTIALLY_FILLED -> PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED
 * FILLED, REJECTED, CANCELED and EXPIRED are terminal. order_set_status refuses
 * anything else, so an illegal transition cannot happen silently.
 * (PENDING_NEW -> CANCELED covers children of a bracket that were never sent and
 * intents that never reached the venue before a crash.) */
#ifndef LUATRADE_ORDER_H
#define LUATRADE_ORDER_H

#include <stdint.h>

#define ORDER_TAG_MAX    64
#define ORDER_SID_MAX    64 /* strategy id, as DECL_NAME_MAX */
#define ORDER_CLID_MAX   40
#define ORDER_REASON_MAX 64

enum order_side { SIDE_BUY = 1, SIDE_SELL = -1 };
enum order_type { OT_MARKET, OT_LIMIT, OT_STOP, OT_STOP_LIMIT, OT_TRAIL };
enum order_tif { TIF_DAY, TIF_GTC, TIF_IOC, TIF_FOK };
enum order_status {
    OS_PENDING_NEW,
    OS_ACCEPTED,
    OS_PARTIALLY_FILLED,
    OS_FILLED,
    OS_REJECTED,
    OS_CANCELED,
    OS_EXPIRED,
    OS__COUNT
};
/* Place in a bracket: an entry's exits are held (PENDING_NEW, not sent) until the
 * entry fills, then sent as an OCO pair. */
enum order_role { ROLE_SINGLE, ROLE_ENTRY, ROLE_TAKE_PROFIT, ROLE_STOP_LOSS };

struct order {
    uint64_t id;                  /* unique across restarts (journal-persisted counter) */
    char cl_id[ORDER_CLID_MAX];   /* client order id sent to the venue: "<epoch>-<id>" */
    char strategy[ORDER_SID_MAX]; /* "" for manual orders (REST, console): "manual" */
    unsigned version;             /* script version that sent it */
    char sha256[65];              /* script hash that sent it */
    char tag[ORDER_TAG_MAX];
    int sym;
    enum order_side side;
    enum order_type type;
    enum order_tif tif;
    enum order_status status;
    enum order_role role;
    int64_t qty, filled_qty; /* qty units; filled_qty <= qty */
    int64_t limit_px;        /* OT_LIMIT, OT_STOP_LIMIT */
    int64_t stop_px;         /* OT_STOP, OT_STOP_LIMIT; OT_TRAIL: current trigger */
    int64_t trail_px;        /* OT_TRAIL: distance */
    int64_t tp_px, sl_px;    /* ROLE_ENTRY: the exits to create on fill (0: none) */
    int64_t fill_notional;   /* sum of px*qty over fills, money units (portfolio.h) */
    uint64_t parent;         /* exits: the entry; 0 otherwise */
    uint64_t sibling;        /* OCO partner; 0 when none */
    uint64_t exits[2];       /* ROLE_ENTRY: take-profit and stop-loss order ids (0: none) */
    int64_t created_us, updated_us;
    int64_t expire_us;                                /* TIF_DAY: session end; 0 = never */
    char reason[ORDER_REASON_MAX];                    /* reject or cancel reason code */
    int flatten;                                      /* sent by flatten() or the kill switch */
    int64_t pending_qty, pending_limit, pending_stop; /* a replace on its way (0: same) */
    int cancel_pending; /* a cancel was sent: the order no longer counts for risk */
    int64_t expo_px;    /* market orders: the price their exposure is counted at */
    int held;           /* a bracket exit waiting for its entry to fill: not sent, not working */
};

const char *order_status_name(enum order_status s);
const char *order_side_name(enum order_side s);
const char *order_type_name(enum order_type t);
const char *order_tif_name(enum order_tif t);
int order_tif_parse(const char *s); /* -1 when unknown */

/* 1 for FILLED, REJECTED, CANCELED, EXPIRED. */
int order_status_terminal(enum order_status s);
/* 1 when from -> to is a legal transition. */
int order_transition_legal(enum order_status from, enum order_status to);
/* Working: not terminal and not held (PENDING_NEW orders count: they are on their way). */
int order_working(const struct order *o);
int64_t order_leaves(const struct order *o);

struct order_book;

struct order_book *order_book_new(void);
void order_book_free(struct order_book *b);

/* Sets the next id (recovery: one past the highest journaled) and the client-id
 * prefix (the journal's epoch). */
void order_book_set_next_id(struct order_book *b, uint64_t next_id, int64_t epoch);
uint64_t order_book_next_id(const struct order_book *b);

/* Copies tmpl into a new order with the next id and its cl_id, status PENDING_NEW.
 * Returns the book's order. */
struct order *order_book_add(struct order_book *b, const struct order *tmpl);
/* Makes sure the next slab of orders is allocated and its memory touched, so that adding
 * orders later takes no page faults: the order manager calls it after sending. */
void order_book_reserve(struct order_book *b);
/* Inserts an order as it is (recovery). Returns NULL (and inserts nothing) unless its id is
 * greater than every id in the book; the next id moves past it. */
struct order *order_book_insert(struct order_book *b, const struct order *o);

struct order *order_book_get(const struct order_book *b, uint64_t id);
struct order *order_book_by_clid(const struct order_book *b, const char *cl_id);

/* Moves o to status to. Returns 0, or -1 (and changes nothing) when illegal. Keeps the
 * working-order index current. */
int order_set_status(struct order_book *b, struct order *o, enum order_status to, int64_t ts_us);

/* Clears o->held: a bracket exit becomes live (and working). */
void order_release(struct order_book *b, struct order *o);

/* Working orders, in id order. The array is the book's; valid until the next change. */
int order_book_working(const struct order_book *b, struct order *const **out);
/* Every order, in id order (for lists and the journal). */
int order_book_all(const struct order_book *b, struct order *const **out);

/* JSON of an order, a fill and an ORDER_* event's data (order_json.c): prices and
 * quantities in instrument units as numbers, times as ISO-8601. The event data is the
 * order's fields plus, for ORDER_FILLED, "fill": {exec_id, price, qty, commission, time}
 * and, after a replace, "replaced": true. */
struct cJSON;
struct instruments;
struct fill;
struct order_event;
struct cJSON *order_json(const struct order *o, const struct instruments *ins);
struct cJSON *fill_json(const struct fill *f, const struct instruments *ins);
struct cJSON *order_event_json(const struct order_event *oe, int event_type,
                               const struct instruments *ins);

#endif
