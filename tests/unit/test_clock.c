/* Unit tests for clock: a wall clock follows CLOCK_REALTIME, a simulated clock holds
 * the time its driver set and never moves backwards, and clock_now_cb adapts either. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "clock.h"
#include "util.h"

static int64_t realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void test_wall(void **state)
{
    struct clock c;
    clock_init_wall(&c);
    assert_int_equal(c.kind, CLOCK_KIND_WALL);
    int64_t before = realtime_us();
    int64_t now = clock_now_us(&c);
    int64_t after = realtime_us();
    assert_true(now >= before && now <= after);
    /* advancing a wall clock does nothing */
    clock_advance_to(&c, now + 3600000000LL);
    assert_true(clock_now_us(&c) <= realtime_us());
    assert_true(clock_now_cb(&c) >= now);
}

static void test_sim(void **state)
{
    struct clock c;
    clock_init_sim(&c, 1000);
    assert_int_equal(c.kind, CLOCK_KIND_SIM);
    assert_int_equal(clock_now_us(&c), 1000);
    assert_int_equal(clock_now_us(&c), 1000); /* time stands still between moves */
    clock_advance_to(&c, 2500);
    assert_int_equal(clock_now_us(&c), 2500);
    clock_advance_to(&c, 2499); /* never backwards */
    assert_int_equal(clock_now_us(&c), 2500);
    clock_advance_to(&c, -5);
    assert_int_equal(clock_now_us(&c), 2500);
    clock_advance_to(&c, 2500);
    assert_int_equal(clock_now_us(&c), 2500);
    clock_advance_to(&c, INT64_MAX);
    assert_int_equal(clock_now_us(&c), INT64_MAX);
    assert_int_equal(clock_now_cb(&c), INT64_MAX);

    /* a sim clock may start before the epoch; reinit switches kinds cleanly */
    clock_init_sim(&c, -1);
    assert_int_equal(clock_now_cb(&c), -1);
    clock_init_wall(&c);
    assert_true(clock_now_cb(&c) > 1700000000000000LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wall),
        cmocka_unit_test(test_sim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
