/* backtest_cli.c: `luatrade backtest SCRIPT --data FILE... [options]` (DESIGN.md §10):
 * parses the command line into backtest_opts (and sweep_opts), picks the output
 * directory (var/backtests/<script>-<UTC time>/ unless --out), and runs one backtest or
 * a sweep. A progress bar is drawn only when stderr is a terminal; the figures of the
 * run (rows, seconds, rows/s) go to stderr, never into the report files.
 * Exit codes: 0 success, 1 runtime failure (malformed data, a faulted strategy),
 * 2 usage or config error. */
#include "backtest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backtest_metrics.h"
#include "feed_csv_parse.h"
#include "log.h"
#include "util.h"

#define BT_MAX_SWEEP 16

static const char usage_text[] =
    "usage: luatrade backtest SCRIPT (--data FILE... | --replay FILE...) [--from T] [--to T]\n"
    "         [--capital N] [--param k=v]... [--config F] [--out DIR] [--seed N] [--skip-bad]\n"
    "         [--sweep k=from:to:step]... [--jobs N] [--rank METRIC] [--walk-forward K]\n"
    "  FILE: a CSV file (Yahoo, Alpha Vantage, generic bars or ticks; .gz too), SYM=FILE\n"
    "        for a file without a symbol column, or a recording (--replay)\n"
    "  T: ISO-8601 (2024-01-05, 2024-01-05T14:30:00Z) or epoch seconds/milliseconds\n";

struct cli {
    struct backtest_opts o;
    const char **files;
    int nfiles, replay;
    struct sweep_param sweep[BT_MAX_SWEEP];
    struct sweep_opts s;
    char out[4096];
};

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "luatrade backtest: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage_text);
    return 2;
}

static int parse_time(const char *s, int64_t *out)
{
    return csv_parse_time(s, strlen(s), out);
}

/* Takes the files after --data/--replay: every following argument not starting with -. */
static int take_files(struct cli *c, int argc, char **argv, int i, int replay)
{
    if ((c->nfiles && c->replay != replay))
        return -usage_error("%s", "--data and --replay cannot be mixed");
    c->replay = replay;
    int k = i + 1;
    for (; k < argc && argv[k][0] != '-'; k++) {
        c->files = xrealloc(c->files, sizeof *c->files * (size_t)(c->nfiles + 1));
        c->files[c->nfiles++] = argv[k];
    }
    if (k == i + 1) return -usage_error("%s needs at least one FILE", argv[i]);
    return k - 1;
}

static int parse_number(const char *flag, const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = strtod(v, &end);
    int whole = strcmp(flag, "--capital") != 0; /* --jobs, --seed, --walk-forward */
    if (end == v || *end || !(d >= lo && d <= hi) || (whole && d != floor(d))) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s '%%s': expected a %s from %g to %g", flag,
                 whole ? "whole number" : "number", lo, hi);
        return usage_error(msg, v);
    }
    *out = d;
    return 0;
}

static int parse_flag(struct cli *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    double d;
    if (!strcmp(a, "--data") || !strcmp(a, "--replay")) {
        int k = take_files(c, argc, argv, *i, a[2] == 'r');
        if (k < 0) return -k;
        *i = k;
        return 0;
    }
    if (!strcmp(a, "--skip-bad")) return c->o.skip_bad = 1, 0;
    static const char *const valued[] = {"--from",   "--to",    "--capital",     "--seed",
                                         "--jobs",   "--param", "--sweep",       "--rank",
                                         "--config", "--out",   "--walk-forward"};
    int known = 0;
    for (size_t k = 0; k < ARRAY_LEN(valued); k++) known |= !strcmp(a, valued[k]);
    if (!known) return usage_error("unknown flag '%s'", a);
    if (!v) return usage_error("%s needs a value", a);
    ++*i;
    if (!strcmp(a, "--from") || !strcmp(a, "--to")) {
        if (parse_time(v, a[2] == 'f' ? &c->o.from_us : &c->o.to_us) != 0)
            return usage_error("bad time '%s': expected ISO-8601 or epoch seconds", v);
    } else if (!strcmp(a, "--capital")) {
        if (parse_number(a, v, 1, 1e12, &c->o.capital)) return 2;
    } else if (!strcmp(a, "--seed")) {
        if (parse_number(a, v, 0, 9007199254740992.0, &d)) return 2;
        c->o.seed = (uint64_t)d, c->o.has_seed = 1;
    } else if (!strcmp(a, "--jobs")) {
        if (parse_number(a, v, 1, 256, &d)) return 2;
        c->s.jobs = (int)d;
    } else if (!strcmp(a, "--walk-forward")) {
        if (parse_number(a, v, 1, 100, &d)) return 2;
        c->s.walk_forward = (int)d;
    } else if (!strcmp(a, "--param")) {
        struct param p;
        struct err e;
        if (param_parse_kv(v, &p, &e) != 0) return usage_error("%s", e.msg);
        params_set(&c->o.params, &p);
        param_clear(&p);
    } else if (!strcmp(a, "--sweep")) {
        struct err e;
        if (c->s.nparams == BT_MAX_SWEEP) return usage_error("%s", "at most 16 --sweep");
        if (sweep_param_parse(v, &c->sweep[c->s.nparams], &e) != 0) return usage_error("%s", e.msg);
        c->s.nparams++;
    } else if (!strcmp(a, "--rank")) {
        double x;
        int hb;
        struct bt_metrics m = {0};
        if (bt_metric_value(&m, v, &x, &hb) != 0) {
            char msg[400];
            snprintf(msg, sizeof msg, "--rank '%%s': expected one of %s", bt_metric_names());
            return usage_error(msg, v);
        }
        c->s.rank = v;
    } else if (!strcmp(a, "--config")) c->o.config = v;
    else if (!*v) return usage_error("%s", "--out needs a directory");
    else c->o.out = v; /* --out */
    return 0;
}

static int parse(struct cli *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            int rc = parse_flag(c, argc, argv, &i);
            if (rc) return rc;
        } else if (!c->o.script) c->o.script = argv[i];
        else
            return usage_error("unexpected argument '%s' (one SCRIPT; files follow --data)",
                               argv[i]);
    }
    if (!c->o.script) return usage_error("%s", "a SCRIPT is needed");
    if (!c->nfiles) return usage_error("%s", "--data FILE... or --replay FILE... is needed");
    if (c->o.from_us && c->o.to_us && c->o.to_us <= c->o.from_us)
        return usage_error("%s", "--to must be after --from");
    if (access(c->o.script, R_OK) != 0) return usage_error("cannot read SCRIPT '%s'", c->o.script);
    if (c->replay) c->o.replay = c->files, c->o.nreplay = c->nfiles;
    else c->o.data = c->files, c->o.ndata = c->nfiles;
    return 0;
}

/* var/backtests/<script stem>-<UTC yyyymmdd-hhmmss>/ */
static void default_out(struct cli *c)
{
    const char *base = strrchr(c->o.script, '/');
    base = base ? base + 1 : c->o.script;
    size_t stem = strcspn(base, ".");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
    snprintf(c->out, sizeof c->out, "var/backtests/%.*s-%s", (int)stem, base, when);
    c->o.out = c->out;
}

static int run_single(struct cli *c)
{
    struct backtest_result res;
    struct err e;
    int rc = backtest_run(&c->o, &res, &e);
    if (rc != 0) {
        fprintf(stderr, "luatrade backtest: %s\n", e.msg);
        return rc;
    }
    fprintf(stderr, "backtest: %llu rows (%llu events) in %.2f s (%.2f M rows/s); report in %s/\n",
            (unsigned long long)res.rows, (unsigned long long)res.items, res.seconds,
            res.seconds > 0 ? (double)res.rows / res.seconds / 1e6 : 0.0, c->o.out);
    return 0;
}

int backtest_main(int argc, char **argv)
{
    struct cli *c = xcalloc(1, sizeof *c);
    c->s.params = c->sweep;
    c->s.rank = "sharpe";
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c->s.jobs = cores > 0 ? (int)cores : 1;
    int rc = parse(c, argc, argv);
    if (rc == 0) {
        if (!c->o.out) default_out(c);
        c->o.progress = isatty(STDERR_FILENO);
        if (c->s.nparams || c->s.walk_forward) {
            struct err e;
            rc = backtest_sweep(&c->o, &c->s, &e);
            if (rc) fprintf(stderr, "luatrade backtest: %s\n", e.msg);
        } else rc = run_single(c);
    }
    for (int i = 0; i < c->s.nparams; i++) sweep_param_free(&c->sweep[i]);
    params_free(&c->o.params);
    free(c->files);
    free(c);
    return rc;
}
