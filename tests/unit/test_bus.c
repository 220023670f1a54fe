/* Unit tests for bus: sequence numbers and timestamps, dispatch by mask in
 * subscription order, nested publishes queued FIFO after the current event, ownership
 * of cJSON data (run under ASan for leaks), (un)subscribing during a dispatch, counts,
 * the dispatching flag and a burst of nested publishes that grows the queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <string.h>

#include "bus.h"
#include "clock.h"
#include "util.h"

#define T0 1767625200000000LL

/* What a recording subscriber saw, in delivery order. */
struct seen {
    int n;
    int who[64];
    uint64_t seq[64];
    enum event_type type[64];
    int64_t ts[64];
};

struct rec {
    struct seen *log;
    int id;
};

static void record(const struct event *ev, void *arg)
{
    struct rec *r = arg;
    struct seen *s = r->log;
    assert_true(s->n < 64);
    s->who[s->n] = r->id;
    s->seq[s->n] = ev->seq;
    s->type[s->n] = ev->type;
    s->ts[s->n] = ev->ts_us;
    s->n++;
}

static uint64_t publish(struct bus *b, enum event_type t, int64_t ts)
{
    struct event ev = {.type = t, .ts_us = ts};
    util_strlcpy(ev.source, "test", sizeof ev.source);
    return bus_publish(b, &ev);
}

static void test_seq_and_ts(void **state)
{
    struct clock c;
    clock_init_sim(&c, T0);
    struct bus *b = bus_new(&c);
    struct seen s = {0};
    struct rec r = {&s, 1};
    bus_subscribe(b, EV_ALL, record, &r);
    assert_int_equal(bus_last_seq(b), 0);
    assert_int_equal(publish(b, EV_CUSTOM, 0), 1);
    clock_advance_to(&c, T0 + 5);
    assert_int_equal(publish(b, EV_ALERT, 0), 2);
    assert_int_equal(publish(b, EV_ALERT, 1234), 3); /* a set ts is kept */
    assert_int_equal(bus_last_seq(b), 3);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.seq[0], 1);
    assert_int_equal(s.seq[1], 2);
    assert_int_equal(s.seq[2], 3);
    assert_int_equal(s.ts[0], T0);
    assert_int_equal(s.ts[1], T0 + 5);
    assert_int_equal(s.ts[2], 1234);

    /* the event passed in is updated too */
    struct event ev = {.type = EV_BAR};
    assert_int_equal(bus_publish(b, &ev), 4);
    assert_int_equal(ev.seq, 4);
    assert_int_equal(ev.ts_us, T0 + 5);
    bus_free(b);
}

static void test_mask_and_order(void **state)
{
    struct clock c;
    clock_init_sim(&c, T0);
    struct bus *b = bus_new(&c);
    struct seen s = {0};
    struct rec r1 = {&s, 1}, r2 = {&s, 2}, r3 = {&s, 3}, r4 = {&s, 4};
    int id1 = bus_subscribe(b, EV_BIT(EV_BAR), record, &r1);
    int id2 = bus_subscribe(b, EV_BIT(EV_BAR) | EV_BIT(EV_ALERT), record, &r2);
    int id3 = bus_subscribe(b, EV_BIT(EV_ALERT), record, &r3);
    int id4 = bus_subscribe(b, EV_ALL, record, &r4);
    assert_true(id1 > 0 && id2 > 0 && id3 > 0 && id4 > 0);
    assert_true(id1 != id2 && id2 != id3 && id3 != id4);
    publish(b, EV_BAR, 0);
    publish(b, EV_ALERT, 0);
    publish(b, EV_KILL_SWITCH, 0);
    int want[] = {1, 2, 4, 2, 3, 4, 4};
    assert_int_equal(s.n, ARRAY_LEN(want));
    for (size_t i = 0; i < ARRAY_LEN(want); i++) assert_int_equal(s.who[i], want[i]);
    assert_int_equal(s.type[6], EV_KILL_SWITCH);

    /* a mask with no subscriber: counted, numbered, delivered to nobody */
    s.n = 0;
    bus_unsubscribe(b, id4);
    assert_int_equal(publish(b, EV_CUSTOM, 0), 4);
    assert_int_equal(s.n, 0);
    bus_free(b);
}

/* Subscriber 1 publishes two ALERTs when it sees a BAR, and a CUSTOM when it sees the
 * first ALERT. Everybody must see events one at a time, in seq order. */
struct nest {
    struct bus *b;
    struct seen *log;
    int depth_seen_nonzero, reentered, inside;
};

static void nester(const struct event *ev, void *arg)
{
    struct nest *n = arg;
    if (n->inside) n->reentered = 1;
    n->inside = 1;
    n->depth_seen_nonzero += bus_dispatching(n->b);
    struct rec r = {n->log, 1};
    record(ev, &r);
    if (ev->type == EV_BAR) {
        uint64_t a = publish(n->b, EV_ALERT, 0);
        uint64_t c = publish(n->b, EV_ALERT, 0);
        assert_int_equal(c, a + 1);
        /* queued, not delivered yet: the log still ends with the BAR */
        assert_int_equal(n->log->type[n->log->n - 1], EV_BAR);
    } else if (ev->type == EV_ALERT && ev->seq == 2) {
        publish(n->b, EV_CUSTOM, 0);
    }
    n->inside = 0;
}

static void test_nested_fifo(void **state)
{
    struct clock c;
    clock_init_sim(&c, T0);
    struct bus *b = bus_new(&c);
    struct seen s = {0};
    struct nest n = {b, &s, 0, 0, 0};
    struct rec r2 = {&s, 2};
    bus_subscribe(b, EV_ALL, nester, &n);
    bus_subscribe(b, EV_ALL, record, &r2);
    assert_int_equal(bus_dispatching(b), 0);
    assert_int_equal(publish(b, EV_BAR, 0), 1);
    assert_int_equal(bus_dispatching(b), 0);
    assert_int_equal(n.reentered, 0);
    assert_int_equal(n.depth_seen_nonzero, 4);
    /* BAR(1) to both, then ALERT(2), ALERT(3), CUSTOM(4) */
    int who[] = {1, 2, 1, 2, 1, 2, 1, 2};
    uint64_t seq[] = {1, 1, 2, 2, 3, 3, 4, 4};
    enum event_type type[] = {EV_BAR,   EV_BAR,   EV_ALERT,  EV_ALERT,
                              EV_ALERT, EV_ALERT, EV_CUSTOM, EV_CUSTOM};
    assert_int_equal(s.n, ARRAY_LEN(who));
    for (size_t i = 0; i < ARRAY_LEN(who); i++) {
        assert_int_equal(s.who[i], who[i]);
        assert_int_equal(s.seq[i], seq[i]);
        assert_int_equal(s.type[i], type[i]);
    }
    assert_int_equal(bus_last_seq(b), 4);
    bus_free(b);
}

/* Data ownership: the bus frees data after dispatch, for direct and queued events;
 * bus_free frees events still queued (a publish from a subscriber of a bus freed
 * before draining cannot happen through the API, so we check the drained path and
 * that the caller's pointer is cleared). Leaks show under the asan preset. */
static struct bus *own_bus;
static int own_got;

static void own_sub(const struct event *ev, void *arg)
{
    assert_non_null(ev->data);
    assert_string_equal(cJSON_GetObjectItem(ev->data, "k")->valuestring, "v");
    own_got++;
    if (ev->type == EV_SIGNAL_GENERATED) {
        struct event inner = {.type = EV_CUSTOM, .data = cJSON_CreateObject()};
        cJSON_AddStringToObject(inner.data, "k", "v");
        cJSON_AddItemToObject(inner.data, "big", cJSON_CreateString("payload"));
        bus_publish(own_bus, &inner);
        assert_null(inner.data); /* the queue owns it now */
    }
}

static void test_data_ownership(void **state)
{
    struct clock c;
    clock_init_sim(&c, T0);
    own_bus = bus_new(&c);
    own_got = 0;
    bus_subscribe(own_bus, EV_ALL, own_sub, NULL);
    struct event ev = {.type = EV_SIGNAL_GENERATED, .data = cJSON_CreateObject()};
    cJSON_AddStringToObject(ev.data, "k", "v");
    bus_publish(own_bus, &ev);
    assert_null(ev.data);
    assert_int_equal(own_got, 2);
    bus_free(own_bus);
    bus_free(NULL);
}

/* Unsubscribing during a dispatch: a subscriber removing itself still finishes this
 * event for the others, and a later subscriber removed by an earlier one is not called
 * for the current event. */
struct unsub {
    struct bus *b;
    struct seen *log;
    int self_id, victim_id, me;
};

static void unsub_self(const struct event *ev, void *arg)
{
    struct unsub *u = arg;
    struct rec r = {u->log, u->me};
    record(ev, &r);
    bus_unsubscribe(u->b, u->self_id);
}

static void unsub_other(const struct event *ev, void *arg)
{
    struct unsub *u = arg;
    struct rec r = {u->log, u->me};
    record(ev, &r);
    if (u->victim_id) bus_unsubscribe(u->b, u->victim_id);
    u->victim_id = 0;
}

static void test_unsubscribe_during_dispatch(void **state)
{
    struct clock c;
    clock_init_sim(&c, T0);
    struct bus *b = bus_new(&c);
    struct seen s = {0};
    struct unsub a = {b, &s, 0, 0, 1}, k = {b, &s, 0, 0, 2};
    struct rec r3 = {&s, 3}, r4 = {&s, 4};
    a.self_id = bus_subscribe(b, EV_ALL, unsub_self, &a);
    bus_subscribe(b, EV_ALL, unsub_other, &k);
    k.victim_id = bus_subscribe(b, EV_ALL, record, &r3);
    bus_subscribe(b, EV_ALL, record, &r4);
    publish(b, EV_CUSTOM, 0);
    publish(b, EV_CUSTOM, 0);
    /* event 1: 1 (removes itself), 2 (removes 3), 4; event 2: 2, 4 */
    int want[] = {1, 2, 4, 2, 4};
    assert_int_equal(s.n, ARRAY_LEN(want));
    for (size_t i = 0; i < ARRAY_LEN(want); i++) assert_int_equal(s.who[i], want[i]);
    /* unknown and repeated ids are harmless */
    bus_unsubscribe(b, a.self_id);
    bus_unsubscribe(b, 9999);
    bus_free(b);
}

/* Subscribing during a dispatch: the new subscriber sees the next event (including a
 * nested one queued by the same dispatch), not the current one. */
struct late {
    struct bus *b;
    struct seen *log;
    struct rec rec;
    int added;
};

static void add_late(const struct event *ev, void *arg)
{
    struct late *l = arg;
    struct rec r = {l->log, 1};
    record(ev, &r);
    if (!l->added) {
        l->added = 1;
        bus_subscribe(l->b, EV_ALL, record, &l->rec);
        publish(l->b, EV_ALERT, 0);
    }
}

static void test_subscribe_during_dispatch(void **state)
{
    struct clock c;
    clock_init_sim(&c, T0);
    struct bus *b = bus_new(&c);
    struct seen s = {0};
    struct late l = {b, &s, {&s, 2}, 0};
    bus_subscribe(b, EV_ALL, add_late, &l);
    publish(b, EV_CUSTOM, 0);
    publish(b, EV_BAR, 0);
    /* CUSTOM(1) to 1 only; ALERT(2) to 1, 2; BAR(3) to 1, 2 */
    int who[] = {1, 1, 2, 1, 2};
    uint64_t seq[] = {1, 2, 2, 3, 3};
    assert_int_equal(s.n, ARRAY_LEN(who));
    for (size_t i = 0; i < ARRAY_LEN(who); i++) {
        assert_int_equal(s.who[i], who[i]);
        assert_int_equal(s.seq[i], seq[i]);
    }
    bus_free(b);
}

static void test_counts(void **state)
{
    struct clock c;
    clock_init_sim(&c, T0);
    struct bus *b = bus_new(&c);
    for (int i = 0; i < 3; i++) publish(b, EV_BAR, 0);
    publish(b, EV_ORDER_FILLED, 0);
    assert_int_equal(bus_count(b, EV_BAR), 3);
    assert_int_equal(bus_count(b, EV_ORDER_FILLED), 1);
    assert_int_equal(bus_count(b, EV_MARKET_DATA), 0);
    assert_int_equal(bus_count(b, EV__COUNT), 0);
    assert_int_equal(bus_count(b, (enum event_type) - 1), 0);
    bus_free(b);
}

/* bus_wants follows subscriptions and unsubscriptions. */
static void test_wants(void **state)
{
    (void)state;
    struct clock c;
    clock_init_sim(&c, T0);
    struct bus *b = bus_new(&c);
    struct seen log = {0};
    struct rec r = {&log, 1};
    assert_false(bus_wants(b, EV_POSITION_UPDATE));
    int id = bus_subscribe(b, EV_BIT(EV_BAR) | EV_BIT(EV_POSITION_UPDATE), record, &r);
    assert_true(bus_wants(b, EV_POSITION_UPDATE));
    assert_true(bus_wants(b, EV_BAR));
    assert_false(bus_wants(b, EV_PORTFOLIO_UPDATE));
    bus_unsubscribe(b, id);
    assert_false(bus_wants(b, EV_POSITION_UPDATE));
    bus_free(b);
}

/* 10000 publishes from inside one subscriber: the queue grows, and every event comes
 * out once, in seq order, with its data intact. */
struct burst {
    struct bus *b;
    uint64_t next_expected;
    int published, delivered, bad;
};

static void burst_sub(const struct event *ev, void *arg)
{
    struct burst *u = arg;
    if (ev->seq != u->next_expected) u->bad++;
    u->next_expected = ev->seq + 1;
    u->delivered++;
    if (ev->type == EV_CUSTOM) {
        if (!ev->data || cJSON_GetObjectItem(ev->data, "i")->valueint != (int)ev->seq) u->bad++;
        return;
    }
    if (ev->type != EV_BAR) return;
    assert_int_equal(bus_dispatching(u->b), 1);
    for (int i = 0; i < 10000; i++) {
        struct event e = {.type = EV_CUSTOM, .data = cJSON_CreateObject()};
        cJSON_AddNumberToObject(e.data, "i", (double)(bus_last_seq(u->b) + 1));
        bus_publish(u->b, &e);
        u->published++;
    }
}

static void test_burst(void **state)
{
    struct clock c;
    clock_init_sim(&c, T0);
    struct bus *b = bus_new(&c);
    struct burst u = {b, 1, 0, 0, 0};
    bus_subscribe(b, EV_ALL, burst_sub, &u);
    assert_int_equal(publish(b, EV_BAR, 0), 1);
    assert_int_equal(u.published, 10000);
    assert_int_equal(u.delivered, 10001);
    assert_int_equal(u.bad, 0);
    assert_int_equal(bus_count(b, EV_CUSTOM), 10000);
    assert_int_equal(bus_last_seq(b), 10001);
    assert_int_equal(bus_dispatching(b), 0);
    /* the bus still works after the burst */
    assert_int_equal(publish(b, EV_ALERT, 0), 10002);
    assert_int_equal(u.delivered, 10002);
    bus_free(b);
}

/* Each delivered event publishes two more until 10000 have been published: the ring's
 * head moves while it fills, so it wraps and then grows with a wrapped layout. */
static void fanout_sub(const struct event *ev, void *arg)
{
    struct burst *u = arg;
    if (ev->seq != u->next_expected) u->bad++;
    u->next_expected = ev->seq + 1;
    u->delivered++;
    if (ev->data && cJSON_GetObjectItem(ev->data, "i")->valueint != (int)ev->seq) u->bad++;
    for (int k = 0; k < 2 && u->published < 10000; k++) {
        struct event e = {.type = EV_CUSTOM, .data = cJSON_CreateObject()};
        cJSON_AddNumberToObject(e.data, "i", (double)(bus_last_seq(u->b) + 1));
        bus_publish(u->b, &e);
        u->published++;
    }
}

static void test_ring_wrap(void **state)
{
    struct clock c;
    clock_init_sim(&c, T0);
    struct bus *b = bus_new(&c);
    struct burst u = {b, 1, 0, 0, 0};
    bus_subscribe(b, EV_ALL, fanout_sub, &u);
    publish(b, EV_BAR, 0);
    assert_int_equal(u.published, 10000);
    assert_int_equal(u.delivered, 10001);
    assert_int_equal(u.bad, 0);
    bus_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_and_ts),
        cmocka_unit_test(test_mask_and_order),
        cmocka_unit_test(test_nested_fifo),
        cmocka_unit_test(test_data_ownership),
        cmocka_unit_test(test_unsubscribe_during_dispatch),
        cmocka_unit_test(test_subscribe_during_dispatch),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_wants),
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_ring_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
