/* backtest.h: `luatrade backtest` (DESIGN.md §10): the strategy file that trades live,
 * unchanged, on a host whose simulated clock the data drives: the same sandbox, API,
 * risk checks, paper venue and portfolio, as fast as the machine allows.
 *
 * backtest_run is one run: data (CSV files through feed_csv, or a recording through
 * record.h's replay) -> the host -> results (fills, orders, risk denials, signals, an
 * equity curve sampled on a fixed grid) -> metrics and, with an output directory, the
 * report files (backtest_report.h), signals.jsonl and log.txt. Two runs on the same
 * inputs give byte-identical files.
 *
 * backtest_sweep.c runs many: every combination of swept parameters across worker
 * processes, ranked by a metric, and walk-forward folds. backtest_cli.c parses the
 * command line into these. */
#ifndef LUATRADE_BACKTEST_H
#define LUATRADE_BACKTEST_H

#include <stdint.h>

#include "backtest_metrics.h"
#include "err.h"
#include "param.h"

struct backtest_opts {
    const char *script;
    const char *const *data; /* --data FILE ("SYM=FILE" for files without a symbol column) */
    int ndata;
    const char *const *replay; /* --replay FILE: recordings instead of data */
    int nreplay;
    int64_t from_us, to_us; /* only data with from <= time < to; 0 = unbounded */
    double capital;         /* starting cash; 0 = the config's account.cash */
    struct params params;   /* --param k=v */
    const char *config;     /* --config FILE (risk, venue, account, sandbox); NULL: defaults */
    const char *out;        /* report directory; NULL: no files (sweep workers) */
    uint64_t seed;          /* math.random and the host seed */
    int has_seed;
    int skip_bad; /* skip and count malformed data lines */
    int progress; /* draw a progress bar on stderr */
    int quiet;    /* print no summary table */
};

/* What a run measured: the metrics and how much data went through. */
struct backtest_result {
    struct bt_metrics m;
    uint64_t items, rows, bad, orders, fills, denials, signals, errors;
    int faulted; /* the strategy faulted (the run still completes) */
    double seconds;
};

/* Runs one backtest. Returns 0, 1 (the data or the strategy failed at run time) or 2
 * (usage or config error), with e filled unless 0. */
int backtest_run(const struct backtest_opts *o, struct backtest_result *r, struct err *e);

/* A swept parameter: values from..to step (inclusive), or a list. */
struct sweep_param {
    char name[64];
    double *values;
    int n;
};
/* Parses "name=from:to:step" or "name=v1,v2,...". Returns 0 or -1 with e. */
int sweep_param_parse(const char *spec, struct sweep_param *out, struct err *e);
void sweep_param_free(struct sweep_param *p);

struct sweep_opts {
    const struct sweep_param *params;
    int nparams;
    int jobs;         /* worker processes (>= 1) */
    const char *rank; /* metric name (bt_metric_value) */
    int walk_forward; /* folds; 0 = none */
};

/* Runs every combination (or walk-forward folds) across jobs workers; writes sweep.csv
 * (or walk_forward.csv) and the best run's full report into base->out. Returns like
 * backtest_run. */
int backtest_sweep(const struct backtest_opts *base, const struct sweep_opts *s, struct err *e);

/* The command: luatrade backtest SCRIPT ... (backtest_cli.c). */
int backtest_main(int argc, char **argv);

#endif
