/* Unit tests for timer: ordering by (due, creation), cancel (of self and of others from a
 * callback, of stale ids), adding from a callback, periodic timers and the no-burst rule
 * after a stall, next_due/count, notify calls, and a long random run checked step by
 * step against a simple O(n) reference model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "timer.h"
#include "util.h"

/* Every firing is appended to a log, so a test compares the whole sequence. */
struct fired {
    uint64_t ids[256];
    int tags[256];
    int n;
};

struct ctx {
    struct timerq *q;
    struct fired *log;
    int tag;
    uint64_t other;  /* a timer to cancel from the callback */
    int64_t add_due; /* when nonzero, add a one-shot due then from the callback */
    int cancel_rc;
};

static void record(void *arg, uint64_t id)
{
    struct ctx *c = arg;
    ASSERT(c->log->n < (int)ARRAY_LEN(c->log->ids));
    c->log->ids[c->log->n] = id;
    c->log->tags[c->log->n] = c->tag;
    c->log->n++;
}

static void test_order(void **s)
{
    struct timerq *q = timerq_new();
    struct fired log = {0};
    struct ctx c[5];
    const int64_t due[5] = {30, 10, 20, 10, 30};
    uint64_t id[5];
    for (int i = 0; i < 5; i++) {
        c[i] = (struct ctx){.q = q, .log = &log, .tag = i};
        id[i] = timerq_add(q, due[i], 0, record, &c[i]);
        assert_int_not_equal(id[i], 0);
    }
    assert_int_equal(timerq_count(q), 5);
    assert_int_equal(timerq_next_due(q), 10);
    assert_int_equal(timerq_run_due(q, 9), 0);
    assert_int_equal(timerq_run_due(q, 20), 3);
    assert_int_equal(log.n, 3);
    assert_int_equal(log.tags[0], 1); /* due 10, created before tag 3 */
    assert_int_equal(log.tags[1], 3);
    assert_int_equal(log.tags[2], 2);
    assert_int_equal(log.ids[0], id[1]);
    assert_int_equal(timerq_next_due(q), 30);
    assert_int_equal(timerq_run_due(q, 1000), 2);
    assert_int_equal(log.tags[3], 0);
    assert_int_equal(log.tags[4], 4);
    assert_int_equal(timerq_count(q), 0);
    assert_int_equal(timerq_next_due(q), INT64_MAX);
    /* fired one-shots are gone */
    assert_int_equal(timerq_cancel(q, id[0]), -1);
    timerq_free(q);
}

static void test_equal_due_many(void **s)
{
    struct timerq *q = timerq_new();
    struct fired log = {0};
    struct ctx c[100];
    for (int i = 0; i < 100; i++) {
        c[i] = (struct ctx){.q = q, .log = &log, .tag = i};
        timerq_add(q, 5, 0, record, &c[i]);
    }
    assert_int_equal(timerq_run_due(q, 5), 100);
    for (int i = 0; i < 100; i++) assert_int_equal(log.tags[i], i);
    timerq_free(q);
}

static void cancel_self(void *arg, uint64_t id)
{
    struct ctx *c = arg;
    record(arg, id);
    c->cancel_rc = timerq_cancel(c->q, id);
}

static void cancel_other(void *arg, uint64_t id)
{
    struct ctx *c = arg;
    record(arg, id);
    c->cancel_rc = timerq_cancel(c->q, c->other);
}

static void test_cancel(void **s)
{
    struct timerq *q = timerq_new();
    struct fired log = {0};
    struct ctx a = {.q = q, .log = &log, .tag = 1}, b = {.q = q, .log = &log, .tag = 2};
    struct ctx d = {.q = q, .log = &log, .tag = 3};
    uint64_t ia = timerq_add(q, 10, 0, record, &a);
    uint64_t ib = timerq_add(q, 20, 0, record, &b);
    uint64_t id = timerq_add(q, 5, 0, record, &d);
    assert_int_equal(timerq_cancel(q, ia), 0);
    assert_int_equal(timerq_cancel(q, ia), -1);
    assert_int_equal(timerq_cancel(q, 0), -1);
    assert_int_equal(timerq_cancel(q, 12345), -1);
    assert_int_equal(timerq_count(q), 2);
    assert_int_equal(timerq_cancel(q, id), 0); /* the top */
    assert_int_equal(timerq_next_due(q), 20);
    /* ia's slot is reused by the next add; the old id must stay dead */
    uint64_t ie = timerq_add(q, 15, 0, record, &a);
    assert_int_not_equal(ie, ia);
    assert_int_not_equal(ie, id);
    assert_int_equal(timerq_cancel(q, ia), -1);
    assert_int_equal(timerq_cancel(q, id), -1);
    assert_int_equal(timerq_count(q), 2);
    assert_int_equal(timerq_run_due(q, 100), 2);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.ids[0], ie);
    assert_int_equal(log.ids[1], ib);
    timerq_free(q);
}

static void test_cancel_from_callback(void **s)
{
    struct timerq *q = timerq_new();
    struct fired log = {0};
    /* a one-shot cancelling itself: already fired, so -1 */
    struct ctx a = {.q = q, .log = &log, .tag = 1, .cancel_rc = 99};
    timerq_add(q, 10, 0, cancel_self, &a);
    /* a periodic cancelling itself: still pending, so 0, and it never fires again */
    struct ctx p = {.q = q, .log = &log, .tag = 2, .cancel_rc = 99};
    timerq_add(q, 10, 5, cancel_self, &p);
    /* x cancels y, which is due at the same time but created later */
    struct ctx x = {.q = q, .log = &log, .tag = 3, .cancel_rc = 99};
    struct ctx y = {.q = q, .log = &log, .tag = 4};
    timerq_add(q, 12, 0, cancel_other, &x);
    x.other = timerq_add(q, 12, 0, record, &y);
    /* z cancels w, which is due later */
    struct ctx z = {.q = q, .log = &log, .tag = 5, .cancel_rc = 99};
    struct ctx w = {.q = q, .log = &log, .tag = 6};
    z.other = timerq_add(q, 50, 0, record, &w);
    timerq_add(q, 13, 0, cancel_other, &z);

    assert_int_equal(timerq_run_due(q, 1000), 4);
    assert_int_equal(log.n, 4);
    assert_int_equal(log.tags[0], 1);
    assert_int_equal(log.tags[1], 2);
    assert_int_equal(log.tags[2], 3);
    assert_int_equal(log.tags[3], 5);
    assert_int_equal(a.cancel_rc, -1);
    assert_int_equal(p.cancel_rc, 0);
    assert_int_equal(x.cancel_rc, 0);
    assert_int_equal(z.cancel_rc, 0);
    assert_int_equal(timerq_count(q), 0);
    timerq_free(q);
}

static void add_from_cb(void *arg, uint64_t id)
{
    struct ctx *c = arg;
    record(arg, id);
    struct ctx *child = c + 1; /* the caller lays contexts out in an array */
    if (c->add_due) timerq_add(c->q, c->add_due, 0, record, child);
}

static void test_add_from_callback(void **s)
{
    struct timerq *q = timerq_new();
    struct fired log = {0};
    struct ctx c[4] = {
        {.q = q, .log = &log, .tag = 0, .add_due = 7},  /* due now-3: same run */
        {.q = q, .log = &log, .tag = 1},                /* child of 0 */
        {.q = q, .log = &log, .tag = 2, .add_due = 11}, /* due later: next run */
        {.q = q, .log = &log, .tag = 3},                /* child of 2 */
    };
    timerq_add(q, 5, 0, add_from_cb, &c[0]);
    timerq_add(q, 8, 0, add_from_cb, &c[2]);
    assert_int_equal(timerq_run_due(q, 10), 3);
    assert_int_equal(log.n, 3);
    assert_int_equal(log.tags[0], 0);
    assert_int_equal(log.tags[1], 1); /* due 7 sorts before the pending due 8 */
    assert_int_equal(log.tags[2], 2);
    assert_int_equal(timerq_count(q), 1);
    assert_int_equal(timerq_next_due(q), 11);
    assert_int_equal(timerq_run_due(q, 11), 1);
    assert_int_equal(log.tags[3], 3);
    timerq_free(q);
}

static void test_periodic_steps(void **s)
{
    struct timerq *q = timerq_new();
    struct fired log = {0};
    struct ctx a = {.q = q, .log = &log, .tag = 1}, b = {.q = q, .log = &log, .tag = 2};
    uint64_t ia = timerq_add(q, 100, 10, record, &a);
    timerq_add(q, 105, 25, record, &b);
    /* time advances 1us at a time from 100 to 200 */
    for (int64_t now = 100; now <= 200; now++) timerq_run_due(q, now);
    int na = 0, nb = 0;
    for (int i = 0; i < log.n; i++) {
        if (log.tags[i] == 1) na++;
        else nb++;
    }
    assert_int_equal(na, 11); /* 100, 110, ..., 200 */
    assert_int_equal(nb, 4);  /* 105, 130, 155, 180 */
    assert_int_equal(log.n, 15);
    assert_int_equal(log.ids[0], ia); /* a periodic timer keeps its id */
    assert_int_equal(timerq_next_due(q), 205);
    assert_int_equal(timerq_count(q), 2);
    timerq_free(q);
}

static void test_periodic_stall(void **s)
{
    struct timerq *q = timerq_new();
    struct fired log = {0};
    struct ctx a = {.q = q, .log = &log, .tag = 1};
    timerq_add(q, 1000, 100, record, &a);
    assert_int_equal(timerq_run_due(q, 1000), 1);
    assert_int_equal(timerq_next_due(q), 1100);
    /* a stall of ten periods: fire once, next due is the first grid point after now */
    assert_int_equal(timerq_run_due(q, 2050), 1);
    assert_int_equal(timerq_next_due(q), 2100);
    /* landing exactly on a grid point: that point counts as fired, not as next */
    assert_int_equal(timerq_run_due(q, 3100), 1);
    assert_int_equal(timerq_next_due(q), 3200);
    assert_int_equal(log.n, 3);
    /* a periodic timer whose first due is already in the past */
    struct ctx b = {.q = q, .log = &log, .tag = 2};
    uint64_t ib = timerq_add(q, 0, 1000, record, &b);
    assert_int_equal(timerq_run_due(q, 3150), 1);
    assert_int_equal(timerq_next_due(q), 3200);
    assert_int_equal(timerq_cancel(q, ib), 0);
    /* at the end of time, periodic timers whose next due would overflow are retired
     * (not wrapped to the past, not fired forever) */
    struct ctx c = {.q = q, .log = &log, .tag = 3};
    uint64_t ic = timerq_add(q, INT64_MAX - 10, INT64_MAX - 5, record, &c);
    assert_int_equal(timerq_run_due(q, INT64_MAX), 2); /* a, then c */
    assert_int_equal(log.tags[log.n - 2], 1);
    assert_int_equal(log.tags[log.n - 1], 3);
    assert_int_equal(timerq_cancel(q, ic), -1);
    assert_int_equal(timerq_count(q), 0);
    timerq_free(q);
}

static int notified;
static void on_notify(void *arg)
{
    notified++;
}

static void noop(void *arg, uint64_t id) {}

static void add_two(void *arg, uint64_t id)
{
    struct timerq *q = arg;
    timerq_add(q, 1, 0, noop, NULL);
    timerq_add(q, 500, 0, noop, NULL);
}

static void test_notify(void **s)
{
    struct timerq *q = timerq_new();
    notified = 0;
    timerq_set_notify(q, on_notify, NULL);
    uint64_t a = timerq_add(q, 100, 0, noop, NULL);
    assert_int_equal(notified, 1); /* new earliest */
    uint64_t b = timerq_add(q, 200, 0, noop, NULL);
    assert_int_equal(notified, 1); /* earliest unchanged */
    timerq_add(q, 50, 0, noop, NULL);
    assert_int_equal(notified, 2);
    assert_int_equal(timerq_cancel(q, b), 0);
    assert_int_equal(notified, 2); /* not the top */
    assert_int_equal(timerq_cancel(q, b), -1);
    assert_int_equal(notified, 2);
    timerq_add(q, 60, 0, add_two, q);
    assert_int_equal(notified, 2);
    /* one notify per run, even when callbacks add timers */
    assert_int_equal(timerq_run_due(q, 60), 3);
    assert_int_equal(notified, 3);
    assert_int_equal(timerq_next_due(q), 100);
    /* a run that fires nothing still notifies, so a driver woken early re-arms */
    assert_int_equal(timerq_run_due(q, 10), 0);
    assert_int_equal(notified, 4);
    assert_int_equal(timerq_cancel(q, a), 0); /* the top */
    assert_int_equal(notified, 5);
    assert_int_equal(timerq_next_due(q), 500);
    timerq_set_notify(q, NULL, NULL);
    timerq_add(q, 1, 0, noop, NULL);
    assert_int_equal(notified, 5);
    timerq_free(q); /* frees the pending timers without calling them */
    timerq_free(NULL);
}

/* ---- random operations against a reference model ----
 * The model is a flat list scanned in O(n). The real queue runs in lockstep: every real
 * callback asks the model which timer it expected next, and both sides then apply the
 * same random adds and cancels, so callbacks that mutate the queue are covered too. */

struct mtimer {
    uint64_t id;
    int64_t due_us, period_us;
    uint64_t seq;
    int alive;
};

static struct {
    struct timerq *q;
    struct mtimer *t;
    int n, cap;
    uint64_t seq;
    uint64_t rng;
    int64_t now_us;
    int fired_in_run;
} M;

static uint64_t rnd(void)
{
    M.rng ^= M.rng << 13;
    M.rng ^= M.rng >> 7;
    M.rng ^= M.rng << 17;
    return M.rng;
}

static void random_cb(void *arg, uint64_t id);

static void model_add(int64_t due_us, int64_t period_us)
{
    uint64_t id = timerq_add(M.q, due_us, period_us, random_cb, NULL);
    assert_int_not_equal(id, 0);
    for (int i = 0; i < M.n; i++)
        if (M.t[i].alive) assert_int_not_equal(M.t[i].id, id);
    if (M.n == M.cap) {
        M.cap = M.cap ? 2 * M.cap : 64;
        M.t = xrealloc(M.t, M.cap * sizeof *M.t);
    }
    M.t[M.n++] = (struct mtimer){id, due_us, period_us, M.seq++, 1};
}

static void model_cancel(uint64_t id)
{
    int want = -1;
    for (int i = 0; i < M.n; i++)
        if (M.t[i].alive && M.t[i].id == id) {
            M.t[i].alive = 0;
            want = 0;
        }
    assert_int_equal(timerq_cancel(M.q, id), want);
}

/* Pops the model's next due timer (rescheduling periodic ones); 0 when none is due. */
static uint64_t model_pop(void)
{
    struct mtimer *best = NULL;
    for (int i = 0; i < M.n; i++) {
        struct mtimer *t = &M.t[i];
        if (!t->alive || t->due_us > M.now_us) continue;
        if (!best || t->due_us < best->due_us || (t->due_us == best->due_us && t->seq < best->seq))
            best = t;
    }
    if (!best) return 0;
    uint64_t id = best->id;
    if (best->period_us > 0) {
        best->due_us += best->period_us;
        while (best->due_us <= M.now_us) best->due_us += best->period_us;
    } else {
        best->alive = 0;
    }
    return id;
}

static void model_check(void)
{
    int count = 0;
    int64_t next = INT64_MAX;
    for (int i = 0; i < M.n; i++)
        if (M.t[i].alive) {
            count++;
            next = MIN(next, M.t[i].due_us);
        }
    assert_int_equal(timerq_count(M.q), count);
    assert_int_equal(timerq_next_due(M.q), next);
}

/* One random mutation: add a timer (one-shot or periodic), or cancel a live, dead or
 * bogus id. */
static void random_op(void)
{
    uint64_t r = rnd() % 10;
    if (r < 5) {
        int64_t due = M.now_us - 5 + (int64_t)(rnd() % 60); /* coarse: many ties */
        int64_t period = rnd() % 3 == 0 ? 1 + (int64_t)(rnd() % 40) : 0;
        model_add(due, period);
    } else if (r < 9 && M.n > 0) {
        model_cancel(M.t[rnd() % M.n].id); /* may be dead already */
    } else {
        model_cancel(rnd() % 3 == 0 ? 0 : rnd());
    }
}

static void random_cb(void *arg, uint64_t id)
{
    uint64_t want = model_pop();
    assert_int_not_equal(want, 0);
    assert_int_equal(id, want);
    M.fired_in_run++;
    if (rnd() % 4 == 0) random_op();
    if (rnd() % 16 == 0) model_cancel(id); /* self-cancel: 0 if periodic, -1 if not */
}

static void test_random_vs_model(void **s)
{
    memset(&M, 0, sizeof M);
    M.q = timerq_new();
    M.rng = 0x9e3779b97f4a7c15ULL;
    M.now_us = 1000;
    int total = 0;
    for (int step = 0; step < 10000; step++) {
        if (rnd() % 3 == 0) {
            M.now_us += (int64_t)(rnd() % 30);
            M.fired_in_run = 0;
            int n = timerq_run_due(M.q, M.now_us);
            assert_int_equal(n, M.fired_in_run);
            assert_int_equal(model_pop(), 0); /* nothing due was left behind */
            total += n;
        } else {
            random_op();
        }
        model_check();
    }
    assert_true(total > 1000); /* the run exercised firing, not just adds */
    timerq_free(M.q);
    free(M.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_equal_due_many),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_cancel_from_callback),
        cmocka_unit_test(test_add_from_callback),
        cmocka_unit_test(test_periodic_steps),
        cmocka_unit_test(test_periodic_stall),
        cmocka_unit_test(test_notify),
        cmocka_unit_test(test_random_vs_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
