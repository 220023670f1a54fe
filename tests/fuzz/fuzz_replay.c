/* fuzz_replay: libFuzzer target for the recording reader (replay_open, replay_next in
 * record_replay.c and record_codec.c).
 *
 * The input is the bytes of one .ltr file, put in a memfd and opened by its
 * /proc/self/fd path, and replayed alone and then twice in a row (two files with the same
 * instruments: the merge, and a second file whose times start before the first's end).
 * Then the same bytes with every whole block's checksum made right, so that mutations
 * reach the header and record decoders instead of stopping at the CRC.
 * Either replay_open refuses it with a message naming the file, or replay_next yields
 * items that all hold record.h's contracts until it ends (0) or fails (-1, with the file
 * and an offset in the message, repeated by the next call):
 *  - a market item is EV_MARKET_DATA, source "replay", seq 0, ts_us equal to the item's,
 *    its symbol an id of replay_instruments;
 *  - a timers item is nothing but a time;
 *  - times never decrease, across both files;
 *  - the stats count what was returned.
 * ASan (with leak detection) and UBSan catch the rest: overreads of a block, overflow in
 * the delta arithmetic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "record.h"
#include "record_internal.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_stderr(0);
    fd = memfd_create("fuzz_replay", MFD_CLOEXEC);
    CHECK(fd >= 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

static void check_item(const struct replay_item *it, const struct instruments *ins)
{
    if (it->kind == REPLAY_TIMERS) return;
    CHECK(it->kind == REPLAY_MARKET);
    const struct event *ev = &it->ev;
    CHECK(ev->type == EV_MARKET_DATA);
    CHECK(ev->seq == 0 && ev->ts_us == it->ts_us);
    CHECK(strcmp(ev->source, "replay") == 0);
    CHECK(ev->md_kind == MD_QUOTE || ev->md_kind == MD_TRADE);
    int sym = ev->md_kind == MD_QUOTE ? ev->u.quote.sym : ev->u.trade.sym;
    CHECK(sym >= 0 && sym < ins->n);
}

static void replay_paths(const char *const *paths, int n)
{
    struct err e = {{0}};
    struct replay *p = replay_open(paths, n, &e);
    if (!p) {
        CHECK(strstr(e.msg, path) != NULL);
        return;
    }
    const struct instruments *ins = replay_instruments(p);
    struct replay_item it;
    int64_t prev = INT64_MIN;
    uint64_t events = 0, markers = 0;
    int rc;
    while ((rc = replay_next(p, &it, &e)) == 1) {
        check_item(&it, ins);
        CHECK(it.ts_us >= prev);
        prev = it.ts_us;
        if (it.kind == REPLAY_TIMERS) markers++;
        else events++;
    }
    struct replay_stats st;
    replay_stats(p, &st);
    CHECK(st.events == events && st.markers == markers);
    CHECK(st.files <= (uint64_t)n && st.torn <= (uint64_t)n);
    if (rc < 0) {
        CHECK(strstr(e.msg, path) != NULL && strstr(e.msg, ": "));
        char first[ERR_MSG_MAX];
        memcpy(first, e.msg, sizeof first);
        CHECK(replay_next(p, &it, &e) == -1 && strcmp(e.msg, first) == 0);
    } else {
        CHECK(rc == 0 && replay_next(p, &it, &e) == 0);
    }
    replay_free(p);
}

static void put_file(const uint8_t *data, size_t size)
{
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
}

/* Recomputes the checksum of every whole block after the magic. */
static void seal_blocks(uint8_t *p, size_t size)
{
    for (size_t at = REC_MAGIC_LEN; at + REC_BLOCK_HEAD <= size;) {
        size_t len = rec_get_u32(p + at);
        if (len == 0 || len > size - at - REC_BLOCK_HEAD) return;
        rec_block_seal(p + at, len);
        at += REC_BLOCK_HEAD + len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *paths[] = {path, path};
    put_file(data, size);
    replay_paths(paths, 1);
    replay_paths(paths, 2);
    uint8_t *sealed = malloc(size ? size : 1);
    memcpy(sealed, data, size);
    seal_blocks(sealed, size);
    put_file(sealed, size);
    free(sealed);
    replay_paths(paths, 1);
    return 0;
}
