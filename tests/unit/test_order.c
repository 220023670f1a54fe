/* Unit tests for order: the transition table checked against an independent list of the
 * legal moves (every from/to pair), order_set_status refusing illegal moves without
 * changing anything, terminal states, the working index (held exits, fills, cancels),
 * ids and client ids (unique, continuing after set_next_id and insert), lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "order.h"
#include "util.h"

/* The legal moves of DESIGN.md §8, written out pair by pair. */
static const int moves[][2] = {
    {OS_PENDING_NEW, OS_ACCEPTED},     {OS_PENDING_NEW, OS_REJECTED},
    {OS_PENDING_NEW, OS_CANCELED},     {OS_ACCEPTED, OS_PARTIALLY_FILLED},
    {OS_ACCEPTED, OS_FILLED},          {OS_ACCEPTED, OS_CANCELED},
    {OS_ACCEPTED, OS_EXPIRED},         {OS_PARTIALLY_FILLED, OS_PARTIALLY_FILLED},
    {OS_PARTIALLY_FILLED, OS_FILLED},  {OS_PARTIALLY_FILLED, OS_CANCELED},
    {OS_PARTIALLY_FILLED, OS_EXPIRED},
};

static int listed(int from, int to)
{
    for (size_t i = 0; i < ARRAY_LEN(moves); i++)
        if (moves[i][0] == from && moves[i][1] == to) return 1;
    return 0;
}

static void test_transition_table(void **unused)
{
    (void)unused;
    for (int from = 0; from < OS__COUNT; from++)
        for (int to = 0; to < OS__COUNT; to++)
            assert_int_equal(order_transition_legal(from, to), listed(from, to));
    assert_false(order_transition_legal(OS__COUNT, OS_ACCEPTED));
    assert_false(order_transition_legal(OS_ACCEPTED, -1));
    assert_true(order_status_terminal(OS_FILLED));
    assert_true(order_status_terminal(OS_REJECTED));
    assert_true(order_status_terminal(OS_CANCELED));
    assert_true(order_status_terminal(OS_EXPIRED));
    assert_false(order_status_terminal(OS_PENDING_NEW));
    assert_false(order_status_terminal(OS_PARTIALLY_FILLED));
}

static struct order tmpl(void)
{
    struct order o = {0};
    util_strlcpy(o.strategy, "s1", sizeof o.strategy);
    o.side = SIDE_BUY;
    o.type = OT_LIMIT;
    o.qty = 100;
    o.limit_px = 1000;
    return o;
}

/* Every pair on a fresh order in `from`: set_status succeeds exactly for legal moves and
 * leaves the order untouched otherwise. */
static void test_set_status_every_pair(void **unused)
{
    (void)unused;
    /* a path that reaches each status from PENDING_NEW */
    static const int path[OS__COUNT][3] = {
        [OS_PENDING_NEW] = {-1},
        [OS_ACCEPTED] = {OS_ACCEPTED, -1},
        [OS_PARTIALLY_FILLED] = {OS_ACCEPTED, OS_PARTIALLY_FILLED, -1},
        [OS_FILLED] = {OS_ACCEPTED, OS_FILLED, -1},
        [OS_REJECTED] = {OS_REJECTED, -1},
        [OS_CANCELED] = {OS_CANCELED, -1},
        [OS_EXPIRED] = {OS_ACCEPTED, OS_EXPIRED, -1},
    };
    for (int from = 0; from < OS__COUNT; from++)
        for (int to = 0; to < OS__COUNT; to++) {
            struct order_book *b = order_book_new();
            struct order t = tmpl();
            struct order *o = order_book_add(b, &t);
            for (int i = 0; i < 3 && path[from][i] >= 0; i++)
                assert_int_equal(order_set_status(b, o, path[from][i], 1), 0);
            assert_int_equal(o->status, from);
            int rc = order_set_status(b, o, to, 99);
            if (listed(from, to)) {
                assert_int_equal(rc, 0);
                assert_int_equal(o->status, to);
                assert_int_equal(o->updated_us, 99);
            } else {
                assert_int_equal(rc, -1);
                assert_int_equal(o->status, from);
                assert_true(o->updated_us != 99);
            }
            struct order *const *w;
            int nw = order_book_working(b, &w);
            assert_int_equal(nw, order_status_terminal(o->status) ? 0 : 1);
            order_book_free(b);
        }
}

static void test_ids_and_lookup(void **unused)
{
    (void)unused;
    struct order_book *b = order_book_new();
    order_book_set_next_id(b, 41, 1700000000000000);
    struct order t = tmpl();
    struct order *a = order_book_add(b, &t);
    struct order *c = order_book_add(b, &t);
    assert_int_equal(a->id, 41);
    assert_int_equal(c->id, 42);
    assert_string_equal(a->cl_id, "1700000000000000-41");
    assert_ptr_equal(order_book_get(b, 42), c);
    assert_null(order_book_get(b, 40));
    assert_null(order_book_get(b, 43));
    assert_ptr_equal(order_book_by_clid(b, "1700000000000000-41"), a);
    assert_null(order_book_by_clid(b, "1600000000000000-41")); /* another epoch */
    assert_null(order_book_by_clid(b, "41"));
    assert_null(order_book_by_clid(b, "1700000000000000-41x"));
    /* a lower next id never moves the counter back */
    order_book_set_next_id(b, 5, 1700000000000000);
    assert_int_equal(order_book_next_id(b), 43);
    /* recovery inserts keep ids and move the counter past them */
    struct order r = tmpl();
    r.id = 100;
    util_strlcpy(r.cl_id, "1700000000000000-100", sizeof r.cl_id);
    r.status = OS_ACCEPTED;
    assert_non_null(order_book_insert(b, &r));
    assert_null(order_book_insert(b, &r)); /* the same id twice */
    r.id = 50;
    assert_null(order_book_insert(b, &r)); /* below the last one */
    r.id = 100;
    assert_int_equal(order_book_next_id(b), 101);
    assert_int_equal(order_book_add(b, &t)->id, 101);
    struct order *const *all;
    assert_int_equal(order_book_all(b, &all), 4);
    for (int i = 1; i < 4; i++) assert_true(all[i - 1]->id < all[i]->id);
    order_book_free(b);
}

/* Many orders (past one slab): pointers stay valid, lookups find every one. */
static void test_many_orders(void **unused)
{
    (void)unused;
    struct order_book *b = order_book_new();
    struct order t = tmpl();
    struct order *first = order_book_add(b, &t);
    for (int i = 0; i < 5000; i++) {
        if (i % 300 == 0) order_book_reserve(b); /* spare slabs are taken in turn */
        order_book_add(b, &t);
    }
    assert_int_equal(first->id, 1);
    for (uint64_t id = 1; id <= 5001; id += 97) assert_int_equal(order_book_get(b, id)->id, id);
    struct order *const *w;
    assert_int_equal(order_book_working(b, &w), 5001);
    for (uint64_t id = 1; id <= 5001; id += 2)
        assert_int_equal(order_set_status(b, order_book_get(b, id), OS_REJECTED, 1), 0);
    int nw = order_book_working(b, &w);
    assert_int_equal(nw, 2500);
    for (int i = 0; i < nw; i++) assert_int_equal(w[i]->id % 2, 0);
    order_book_free(b);
}

static void test_held_exits(void **unused)
{
    (void)unused;
    struct order_book *b = order_book_new();
    struct order t = tmpl();
    struct order *entry = order_book_add(b, &t);
    t.role = ROLE_TAKE_PROFIT;
    t.held = 1;
    t.parent = entry->id;
    struct order *tp = order_book_add(b, &t);
    struct order *const *w;
    assert_int_equal(order_book_working(b, &w), 1);
    assert_false(order_working(tp));
    assert_int_equal(order_leaves(tp), 100);
    order_release(b, tp);
    assert_true(order_working(tp));
    assert_int_equal(order_book_working(b, &w), 2);
    assert_ptr_equal(w[1], tp);
    /* partial fill then fill */
    assert_int_equal(order_set_status(b, entry, OS_ACCEPTED, 2), 0);
    entry->filled_qty = 40;
    assert_int_equal(order_set_status(b, entry, OS_PARTIALLY_FILLED, 3), 0);
    assert_int_equal(order_leaves(entry), 60);
    entry->filled_qty = 100;
    assert_int_equal(order_set_status(b, entry, OS_FILLED, 4), 0);
    assert_int_equal(order_leaves(entry), 0);
    assert_int_equal(order_book_working(b, &w), 1);
    assert_ptr_equal(w[0], tp);
    /* a held exit canceled before release leaves nothing working */
    order_book_free(b);
}

static void test_names(void **unused)
{
    (void)unused;
    assert_string_equal(order_status_name(OS_PARTIALLY_FILLED), "PARTIALLY_FILLED");
    assert_string_equal(order_status_name(OS__COUNT), "?");
    assert_string_equal(order_type_name(OT_STOP_LIMIT), "stop_limit");
    assert_string_equal(order_side_name(SIDE_SELL), "sell");
    assert_int_equal(order_tif_parse("ioc"), TIF_IOC);
    assert_int_equal(order_tif_parse("IOC"), -1);
    assert_int_equal(order_tif_parse(""), -1);
    assert_string_equal(order_tif_name(TIF_GTC), "gtc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transition_table), cmocka_unit_test(test_set_status_every_pair),
        cmocka_unit_test(test_ids_and_lookup),   cmocka_unit_test(test_many_orders),
        cmocka_unit_test(test_held_exits),       cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
