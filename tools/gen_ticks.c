/* gen_ticks: writes a large synthetic tick CSV (seeded) for tests and benchmarks.
 *
 *   gen_ticks OUT [--rows N] [--symbols AAPL,MSFT] [--seed N] [--rate ROWS_PER_SECOND]
 *             [--start ISO] [--time ms|s|iso] [--gzip]
 *
 * The generator itself lives in host/feed_csv_gen.c (unit-tested with feed_csv); this is
 * its command line. Exit codes: 0 written, 1 an I/O error, 2 a usage error. */
#include <inttypes.h>
#include <stdio.h>

#include "feed_csv_gen.h"
#include "util.h"

int main(int argc, char **argv)
{
    struct csv_gen_config c;
    struct err e;
    int rc = csv_gen_args(argc, argv, &c, &e);
    if (rc != 0) {
        if (rc > 0) {
            fputs(csv_gen_usage, stdout);
            return 0;
        }
        fprintf(stderr, "gen_ticks: %s (gen_ticks --help lists the options)\n", e.msg);
        return 2;
    }
    int64_t t0 = mono_ns();
    if (csv_gen_write(&c, &e) < 0) {
        fprintf(stderr, "gen_ticks: %s\n", e.msg);
        return 1;
    }
    double secs = (double)(mono_ns() - t0) / 1e9;
    fprintf(stderr, "gen_ticks: %" PRIu64 " rows to %s in %.2f s (%.1fM rows/s)\n", c.rows, c.out,
            secs, secs > 0 ? (double)c.rows / secs / 1e6 : 0.0);
    return 0;
}
