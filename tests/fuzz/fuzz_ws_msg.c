/* fuzz_ws_msg: libFuzzer target for the WebSocket session's pure parts (ws_proto.c).
 *
 * The input is a client message (what a text frame carries; no NUL needed). Either
 * ws_msg_parse refuses it with a message, or the result holds ws_internal.h's contract:
 * op is SUBSCRIBE or PING; types only has bits of real event types; every symbol id
 * names a registered instrument and there are at most WS_MAX_SYMS; since is a whole
 * number no greater than 2^53; conflate_ms is 0 or within its range (and then the
 * conflated fields of a tick fit their buffer). The same bytes, as a string, also go through the
 * upgrade checks: a key ws_check_upgrade accepts has an accept key, one it refuses has none. ASan
 * and UBSan catch the rest (the depth scan's escapes at the end of the input, the double to integer
 * conversion of since). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "fuzz_common.h"
#include "instrument.h"
#include "ws_internal.h"

static struct instruments ins;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct err e;
    log_set_stderr(0);
    struct instrument a = {"AAPL", 2, 1, 0, 1}, b = {"BTC-USD", 2, 1, 8, 1};
    CHECK(instruments_add(&ins, &a, &e) == 0 && instruments_add(&ins, &b, &e) == 1);
    return 0;
}

static void check_msg(const uint8_t *data, size_t size)
{
    struct ws_msg m;
    struct err e = {""};
    if (ws_msg_parse((const char *)data, size, &ins, &m, &e) != 0) {
        CHECK(e.msg[0] != 0);
        return;
    }
    CHECK(m.op == WS_SUBSCRIBE || m.op == WS_PING);
    CHECK((m.types & ~EV_ALL) == 0);
    CHECK(m.nsyms >= 0 && m.nsyms <= WS_MAX_SYMS);
    for (int i = 0; i < m.nsyms; i++) CHECK(m.syms[i] >= 0 && m.syms[i] < ins.n);
    CHECK(!m.has_since || m.since <= (UINT64_C(1) << 53));
    CHECK(m.conflate_ms == 0 ||
          (m.conflate_ms >= WS_CONFLATE_MIN_MS && m.conflate_ms <= WS_CONFLATE_MAX_MS));
    char extra[WS_CONFLATED_MAX];
    size_t n = ws_conflated_fields(extra, (int)(m.since & 1), m.since, -(int64_t)m.since,
                                   m.conflate_ms % 10);
    CHECK(n == strlen(extra));
    CHECK(ws_round_next((int64_t)m.since, m.conflate_ms ? m.conflate_ms : 1) > (int64_t)m.since);
}

static void check_upgrade(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    char accept[WS_ACCEPT_LEN + 1];
    int ok = ws_check_upgrade("websocket", "Upgrade", "13", s) == NULL;
    CHECK(ok == (ws_accept_key(s, accept) == 0));
    if (ok) CHECK(strlen(accept) == WS_ACCEPT_LEN);
    (void)ws_header_has_token(s, "upgrade");
    (void)ws_check_upgrade(s, s, s, NULL);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_msg(data, size);
    check_upgrade(data, size);
    return 0;
}
