/* ws_proto.c: the pure parts of the WebSocket sessions (ws_internal.h): bytes and
 * strings in, results out, no I/O and no state, so each is tested on its own.
 *
 *   - The upgrade handshake (RFC 6455 §4.2): Upgrade: websocket, Connection listing
 *     "upgrade", Sec-WebSocket-Version: 13 and a key that is the base64 of 16 bytes; the
 *     answer's Sec-WebSocket-Accept is base64(SHA-1(key + GUID)) through OpenSSL.
 *   - The header of a server frame (§5.2): FIN, an opcode, no mask, and the payload
 *     length in 7, 7+16 or 7+64 bits. ws.c writes event frames itself with it (wslay
 *     would copy each message into a queue of its own first); every other frame, and
 *     all reading, is wslay's.
 *   - The client's messages: JSON objects with an "op", parsed by cJSON after a scan
 *     that refuses nesting deeper than WS_MAX_DEPTH (the size is capped before: wslay
 *     refuses a message over the configured maximum). Names map to ids here (event
 *     types, instruments), so the session only ever holds ids.
 *   - Conflation's arithmetic: when a session's next round is due, and the fields a
 *     conflated market event carries in addition to the original's. */
#include "ws_internal.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "fixed.h"
#include "util.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ws_header_has_token(const char *value, const char *token)
{
    if (!value) return 0;
    size_t tlen = strlen(token);
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *start = p;
        while (*p && *p != ',') p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
        if ((size_t)(end - start) == tlen && strncasecmp(start, token, tlen) == 0) return 1;
    }
    return 0;
}

/* 1 when key is 24 base64 characters that decode to 16 bytes ("==" padding). */
static int key_valid(const char *key)
{
    if (strlen(key) != 24 || strcmp(key + 22, "==") != 0) return 0;
    unsigned char raw[24];
    return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

const char *ws_check_upgrade(const char *upgrade, const char *connection, const char *version,
                             const char *key)
{
    if (!upgrade || strcasecmp(upgrade, "websocket") != 0)
        return "not a WebSocket upgrade (Upgrade: websocket expected)";
    if (!ws_header_has_token(connection, "upgrade"))
        return "not a WebSocket upgrade (Connection: Upgrade expected)";
    if (!version || strcmp(version, "13") != 0)
        return "unsupported WebSocket version (Sec-WebSocket-Version: 13 expected)";
    if (!key || !key_valid(key)) return "bad Sec-WebSocket-Key";
    return NULL;
}

int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1])
{
    if (!key || !key_valid(key)) return -1;
    unsigned char in[24 + sizeof ws_guid], digest[SHA_DIGEST_LENGTH];
    memcpy(in, key, 24);
    memcpy(in + 24, ws_guid, sizeof ws_guid - 1);
    SHA1(in, 24 + sizeof ws_guid - 1, digest);
    int n = EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
    ASSERT(n == WS_ACCEPT_LEN);
    return 0;
}

size_t ws_frame_header(uint8_t out[10], unsigned opcode, uint64_t len)
{
    out[0] = (uint8_t)(0x80u | (opcode & 0x0fu));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

/* Reads the optional array of strings key into ids (via lookup); "[]" or absent: 0. */
static int parse_names(const cJSON *msg, const char *key, int (*lookup)(const void *, const char *),
                       const void *ctx, int *ids, int max, struct err *e)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(msg, key);
    if (!a || cJSON_IsNull(a)) return 0;
    if (!cJSON_IsArray(a)) return err_set(e, "\"%s\" must be an array of names", key);
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsString(it)) return err_set(e, "\"%s\" must be an array of names", key);
        if (n == max) return err_set(e, "\"%s\": more than %d names", key, max);
        int id = lookup(ctx, it->valuestring);
        if (id < 0) return err_set(e, "\"%s\": unknown name '%.64s'", key, it->valuestring);
        ids[n++] = id;
    }
    return n;
}

static int lookup_type(const void *ctx, const char *name)
{
    return event_type_parse(name);
}

static int lookup_symbol(const void *ins, const char *name)
{
    return ins ? instruments_find(ins, name) : -1;
}

static int parse_subscribe(const cJSON *msg, const struct instruments *ins, struct ws_msg *out,
                           struct err *e)
{
    int types[EV__COUNT];
    int nt = parse_names(msg, "types", lookup_type, NULL, types, EV__COUNT, e);
    if (nt < 0) return -1;
    for (int i = 0; i < nt; i++) out->types |= EV_BIT(types[i]);
    out->nsyms = parse_names(msg, "symbols", lookup_symbol, ins, out->syms, WS_MAX_SYMS, e);
    if (out->nsyms < 0) return -1;
    const cJSON *since = cJSON_GetObjectItemCaseSensitive(msg, "since");
    if (since && !cJSON_IsNull(since)) {
        double d = cJSON_GetNumberValue(since);
        if (!cJSON_IsNumber(since) || d < 0 || d > 9007199254740992.0 || d != (double)(uint64_t)d)
            return err_set(e, "\"since\" must be a sequence number (an integer >= 0)");
        out->has_since = 1;
        out->since = (uint64_t)d;
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "conflate_ms");
    if (c && !cJSON_IsNull(c)) {
        double d = cJSON_GetNumberValue(c);
        /* the range first: (int)d of a value outside int is undefined */
        if (!cJSON_IsNumber(c) ||
            !(d == 0 || (d >= WS_CONFLATE_MIN_MS && d <= WS_CONFLATE_MAX_MS)) ||
            d != (double)(int)d)
            return err_set(e, "\"conflate_ms\" must be 0 (off) or an integer from %d to %d",
                           WS_CONFLATE_MIN_MS, WS_CONFLATE_MAX_MS);
        out->conflate_ms = (int)d;
    }
    return 0;
}

int ws_msg_parse(const char *text, size_t len, const struct instruments *ins, struct ws_msg *out,
                 struct err *e)
{
    memset(out, 0, sizeof *out);
    if (util_json_depth(text, len) > WS_MAX_DEPTH)
        return err_set(e, "message nested deeper than %d levels", WS_MAX_DEPTH);
    cJSON *msg = cJSON_ParseWithLength(text, len);
    if (!msg) return err_set(e, "message is not JSON");
    int rc = -1;
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "op"));
    if (!cJSON_IsObject(msg)) {
        err_set(e, "message must be a JSON object");
    } else if (!op) {
        err_set(e, "message has no \"op\"");
    } else if (strcmp(op, "subscribe") == 0) {
        out->op = WS_SUBSCRIBE;
        rc = parse_subscribe(msg, ins, out, e);
    } else if (strcmp(op, "ping") == 0) {
        out->op = WS_PING;
        rc = 0;
    } else {
        err_set(e, "unknown op '%.64s'", op);
    }
    cJSON_Delete(msg);
    return rc;
}

int64_t ws_round_next(int64_t now_us, int interval_ms)
{
    int64_t step = (int64_t)interval_ms * 1000;
    ASSERT(step > 0 && now_us >= 0);
    return (now_us / step + 1) * step;
}

size_t ws_conflated_fields(char *out, int is_trade, uint64_t count, int64_t size_sum, int qty_dp)
{
    int n = snprintf(out, WS_CONFLATED_MAX, ",\"conflated\":%" PRIu64, count);
    if (is_trade) {
        n += snprintf(out + n, (size_t)(WS_CONFLATED_MAX - n), ",\"size_sum\":");
        if (qty_dp < 0) n += snprintf(out + n, (size_t)(WS_CONFLATED_MAX - n), "null");
        else n += fx_format(size_sum, qty_dp, out + n, (size_t)(WS_CONFLATED_MAX - n));
    }
    ASSERT(n > 0 && n < WS_CONFLATED_MAX);
    return (size_t)n;
}
