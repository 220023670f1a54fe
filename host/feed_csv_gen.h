/* feed_csv_gen.h: writes a synthetic tick CSV (the generic tick format of feed_csv.h,
 * with quotes), seeded, for tests and benchmarks: the writer behind tools/gen_ticks.
 *
 * The file is a pure function of the configuration: a private PRNG and integer
 * arithmetic only, so one seed gives byte-identical plain files on every machine (gzip
 * output also depends on zlib's version). Row i is stamped start + i * 1e6 / rate µs;
 * its symbol is drawn at random; each symbol's mid price walks -2..+2 cents per row of
 * that symbol from a start drawn in 100.00..500.00 (never below 1.00), quoted with a
 * spread of 1-3 cents, the trade at the bid or the ask; sizes are whole numbers. */
#ifndef LUATRADE_FEED_CSV_GEN_H
#define LUATRADE_FEED_CSV_GEN_H

#include <stdint.h>

#include "err.h"
#include "instrument.h"

#define CSV_GEN_SYMBOLS_MAX 64

enum csv_gen_time { CSV_GEN_MS, CSV_GEN_S, CSV_GEN_ISO };

struct csv_gen_config {
    const char *out;
    uint64_t rows;
    char symbols[CSV_GEN_SYMBOLS_MAX][SYMBOL_MAX];
    int nsymbols;
    uint64_t seed;
    uint64_t rate; /* rows per second */
    int64_t start_us;
    enum csv_gen_time time; /* ms: epoch ms; s: epoch s with 6 decimals; iso: ISO-8601 UTC */
    int gzip;
};

/* gen_ticks' usage text. */
extern const char csv_gen_usage[];

/* Parses gen_ticks' command line (argv[0] is the program) into c, defaults filled in.
 * 0, 1 for --help, or -1 with e on a usage error. c->out points into argv. */
int csv_gen_args(int argc, char **argv, struct csv_gen_config *c, struct err *e);

/* Writes the file. 0, or -1 with e on an I/O error. */
int csv_gen_write(const struct csv_gen_config *c, struct err *e);

#endif
