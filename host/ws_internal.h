/* ws_internal.h: the pure parts of the WebSocket sessions (ws_proto.c), shared with
 * ws.c and the unit tests: the upgrade handshake, the header of a server frame, and
 * the client's JSON messages. Nothing here does I/O or keeps state. */
#ifndef LUATRADE_WS_INTERNAL_H
#define LUATRADE_WS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "instrument.h"

#define WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */
#define WS_MAX_SYMS   256
#define WS_MAX_DEPTH  8 /* nesting of a client message */
/* The range of a subscription's conflate_ms (0: off). */
#define WS_CONFLATE_MIN_MS 10
#define WS_CONFLATE_MAX_MS 5000

/* The opcode of a text frame (RFC 6455 §5.2; wslay's WSLAY_TEXT_FRAME). */
#define WS_OP_TEXT 0x1u

/* Checks the upgrade request's headers (any may be NULL: absent). Returns NULL when they
 * ask for a version 13 WebSocket with a well-formed key, else what is wrong (for the
 * 400 reply). */
const char *ws_check_upgrade(const char *upgrade, const char *connection, const char *version,
                             const char *key);
/* 1 when the comma-separated header value lists token (case-insensitive). */
int ws_header_has_token(const char *value, const char *token);
/* Sec-WebSocket-Accept for key: base64(SHA-1(key + the RFC's GUID)), NUL-terminated.
 * Returns -1 when key is not the base64 of 16 bytes. */
int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1]);

/* Writes the header of a final, unmasked server frame with opcode and a payload of len
 * bytes. Returns its length: 2, 4 or 10. */
size_t ws_frame_header(uint8_t out[10], unsigned opcode, uint64_t len);

enum ws_op { WS_SUBSCRIBE, WS_PING };

struct ws_msg {
    enum ws_op op;
    uint64_t types; /* EV_BIT mask; 0: every type */
    int syms[WS_MAX_SYMS];
    int nsyms; /* 0: every symbol */
    int has_since;
    uint64_t since;
    int conflate_ms; /* 0, or WS_CONFLATE_MIN_MS..WS_CONFLATE_MAX_MS */
};

/* Parses a client message:
 *   {"op":"subscribe","types":[NAME...],"symbols":[SYM...],"since":SEQ,"conflate_ms":N}
 *   (all optional but op), {"op":"ping"}.
 * Returns 0, or -1 with e filled (bad JSON, nested deeper than WS_MAX_DEPTH, unknown op,
 * type or symbol, wrong field types): the session replies with an error message. */
int ws_msg_parse(const char *text, size_t len, const struct instruments *ins, struct ws_msg *out,
                 struct err *e);

/* Conflation (ws.c): a conflating session is sent its market data in rounds, at the
 * multiples of its interval on the monotonic clock (sessions with the same interval
 * share them). The first multiple of interval_ms strictly after now_us. */
int64_t ws_round_next(int64_t now_us, int interval_ms);

/* What a conflated market event adds to its data, before the data's closing brace:
 * ,"conflated":COUNT (the events of its symbol and kind it stands for, itself
 * included) and, for a trade, ,"size_sum":SIZE (their summed size, qty_dp decimals; null
 * when qty_dp < 0: an instrument the registry does not know). Returns the length
 * written into out (NUL-terminated; WS_CONFLATED_MAX bytes suffice). */
#define WS_CONFLATED_MAX 80
size_t ws_conflated_fields(char *out, int is_trade, uint64_t count, int64_t size_sum, int qty_dp);

#endif
