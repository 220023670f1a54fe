/* fixture_instruments.h: the instrument registry the event tests share (test_event,
 * test_event_log, test_ws_proto): AAPL (id 0: 2 price decimals, whole shares) and
 * BTC-USD (id 1: 8 quantity decimals), in the file's global `ins`. Pass
 * instruments_setup and instruments_teardown to cmocka_run_group_tests. Include it
 * after cmocka.h. */
#ifndef LUATRADE_FIXTURE_INSTRUMENTS_H
#define LUATRADE_FIXTURE_INSTRUMENTS_H

#include "instrument.h"

static struct instruments ins;

static int instruments_setup(void **s)
{
    struct err e;
    struct instrument aapl = {"AAPL", 2, 1, 0, 1};
    struct instrument btc = {"BTC-USD", 2, 1, 8, 1};
    assert_int_equal(instruments_add(&ins, &aapl, &e), 0);
    assert_int_equal(instruments_add(&ins, &btc, &e), 1);
    return 0;
}

static int instruments_teardown(void **s)
{
    instruments_free(&ins);
    return 0;
}

#endif
