/* backtest_sweep.c: parameter sweeps and walk-forward folds (backtest.h).
 *
 * A sweep is every combination of the swept values (the first --sweep varies slowest),
 * each a plain backtest_run with those values as --param overrides, so a sweep's row and
 * a single run with the same parameters are the same computation. Runs go to worker
 * processes, at most `jobs` at once: each child runs one backtest without output files
 * and writes its result (a fixed-size struct, under PIPE_BUF so the write is atomic) to
 * a pipe, then exits; the parent keeps no state a child could disturb. Results are
 * ranked by the chosen metric (ties: run order; failed runs last) into sweep.csv, and
 * the best combination is run once more in this process with the full report.
 *
 * Walk-forward with K folds cuts the data's time range into K + 1 equal segments; fold
 * k is in-sample on segment k and out-of-sample on segment k + 1. With --sweep the
 * in-sample runs choose the best combination and only that one runs out-of-sample;
 * without, the given parameters run on both. walk_forward.csv has a row per fold. */
#include "backtest.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backtest_internal.h"
#include "util.h"

#define SWEEP_MAX_RUNS   100000
#define SWEEP_MAX_VALUES 10000
#define SWEEP_TOP        10 /* rows of the ranking printed */

/* ---- --sweep k=from:to:step | k=v1,v2,... ------------------------------------------------ */

static int parse_values(const char *s, struct sweep_param *p, struct err *e)
{
    double a[3];
    int n = 0;
    const char *q = s;
    int colon = strchr(s, ':') != NULL;
    for (;;) {
        char *end;
        double v = strtod(q, &end);
        if (end == q || !isfinite(v))
            return err_set(e, "--sweep %s=%s: expected numbers", p->name, s);
        if (colon) {
            if (n == 3) return err_set(e, "--sweep %s=%s: expected from:to:step", p->name, s);
            a[n++] = v;
        } else {
            if (p->n == SWEEP_MAX_VALUES) return err_set(e, "--sweep %s: too many values", p->name);
            p->values = xrealloc(p->values, sizeof *p->values * (size_t)(p->n + 1));
            p->values[p->n++] = v;
        }
        if (*end == '\0') break;
        if (*end != (colon ? ':' : ','))
            return err_set(e, "--sweep %s=%s: unexpected '%c'", p->name, s, *end);
        q = end + 1;
    }
    if (!colon) return 0;
    if (n != 3 || !(a[2] > 0) || a[1] < a[0])
        return err_set(e, "--sweep %s=%s: expected from:to:step with from <= to and step > 0",
                       p->name, s);
    double count = floor((a[1] - a[0]) / a[2] + 1e-9) + 1;
    if (count > SWEEP_MAX_VALUES)
        return err_set(e, "--sweep %s: more than %d values", p->name, SWEEP_MAX_VALUES);
    for (int i = 0; i < (int)count; i++) {
        p->values = xrealloc(p->values, sizeof *p->values * (size_t)(p->n + 1));
        p->values[p->n++] = a[0] + a[2] * i;
    }
    return 0;
}

int sweep_param_parse(const char *spec, struct sweep_param *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(spec, '=');
    size_t n = eq ? (size_t)(eq - spec) : 0;
    if (!eq || n == 0 || n >= sizeof out->name)
        return err_set(e, "--sweep '%s': expected name=from:to:step or name=v1,v2,...", spec);
    memcpy(out->name, spec, n);
    out->name[n] = '\0';
    if (parse_values(eq + 1, out, e) != 0) {
        sweep_param_free(out);
        return -1;
    }
    return 0;
}

void sweep_param_free(struct sweep_param *p)
{
    free(p->values);
    p->values = NULL;
    p->n = 0;
}

/* ---- runs in worker processes ----------------------------------------------------------- */

struct job {
    struct backtest_opts o; /* its own params (owned) */
    int combo;
    int rc;
    struct backtest_result res;
    char err[1024];
};

struct reply {
    int rc;
    struct backtest_result res;
    char err[1024];
};

static void run_child(struct job *j, int fd)
{
    struct reply rp = {0};
    struct err e;
    rp.rc = backtest_run(&j->o, &rp.res, &e);
    if (rp.rc) util_strlcpy(rp.err, e.msg, sizeof rp.err);
    ssize_t w = write(fd, &rp, sizeof rp);
    _exit(w == (ssize_t)sizeof rp ? 0 : 1);
}

struct worker {
    pid_t pid;
    int fd;
    struct job *job;
};

static void collect(struct worker *w)
{
    struct reply rp;
    ssize_t n = read(w->fd, &rp, sizeof rp);
    close(w->fd);
    if (n != (ssize_t)sizeof rp) {
        w->job->rc = 1;
        snprintf(w->job->err, sizeof w->job->err, "worker %d died without a result", (int)w->pid);
        return;
    }
    w->job->rc = rp.rc;
    w->job->res = rp.res;
    memcpy(w->job->err, rp.err, sizeof rp.err);
}

static int start_worker(struct worker *w, struct job *j, struct err *e)
{
    int p[2];
    if (pipe(p) != 0) return err_set(e, "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]), close(p[1]);
        return err_set(e, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(p[0]);
        run_child(j, p[1]);
    }
    close(p[1]);
    *w = (struct worker){pid, p[0], j};
    return 0;
}

/* Runs every job, at most jobs at once. */
static int run_jobs(struct job *v, int n, int jobs, struct err *e)
{
    struct worker *w = xcalloc((size_t)jobs, sizeof *w);
    int next = 0, active = 0, rc = 0;
    while ((next < n && rc == 0) || active > 0) {
        while (next < n && active < jobs && rc == 0) {
            int slot = 0;
            while (w[slot].pid) slot++;
            if (start_worker(&w[slot], &v[next], e) != 0) rc = -1;
            else next++, active++;
        }
        if (active == 0) break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR) continue;
        for (int i = 0; i < jobs; i++)
            if (w[i].pid == pid) {
                collect(&w[i]);
                w[i].pid = 0;
                active--;
            }
    }
    free(w);
    return rc;
}

/* ---- combinations --------------------------------------------------------------------- */

static int combos(const struct sweep_opts *s)
{
    long n = 1;
    for (int i = 0; i < s->nparams; i++) {
        n *= s->params[i].n;
        if (n > SWEEP_MAX_RUNS) return -1;
    }
    return (int)n;
}

/* Value of parameter p in combination c (the first parameter varies slowest). */
static double combo_value(const struct sweep_opts *s, int c, int p)
{
    for (int i = s->nparams - 1; i > p; i--) c /= s->params[i].n;
    return s->params[p].values[c % s->params[p].n];
}

static void job_init(struct job *j, const struct backtest_opts *base, const struct sweep_opts *s,
                     int combo)
{
    memset(j, 0, sizeof *j);
    j->o = *base;
    j->o.out = NULL;
    j->o.quiet = 1;
    j->o.progress = 0;
    memset(&j->o.params, 0, sizeof j->o.params);
    params_copy(&j->o.params, &base->params);
    j->combo = combo;
    for (int p = 0; combo >= 0 && p < s->nparams; p++) {
        char kv[128];
        snprintf(kv, sizeof kv, "%s=%.15g", s->params[p].name, combo_value(s, combo, p));
        struct param q;
        struct err e;
        if (param_parse_kv(kv, &q, &e) == 0) {
            params_set(&j->o.params, &q);
            param_clear(&q);
        }
    }
}

static void jobs_free(struct job *v, int n)
{
    for (int i = 0; i < n; i++) params_free(&v[i].o.params);
    free(v);
}

/* ---- ranking and sweep.csv ------------------------------------------------------------- */

static double rank_value(const struct job *j, const char *metric)
{
    double v;
    int higher;
    if (j->rc != 0 || bt_metric_value(&j->res.m, metric, &v, &higher) != 0 || isnan(v))
        return -INFINITY;
    return higher ? v : -v;
}

/* Indices of v sorted best first (stable: ties keep run order). */
static int *ranking(const struct job *v, int n, const char *metric)
{
    int *idx = xcalloc((size_t)n + 1, sizeof *idx);
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = 1; i < n; i++)
        for (int k = i;
             k > 0 && rank_value(&v[idx[k]], metric) > rank_value(&v[idx[k - 1]], metric); k--) {
            int t = idx[k];
            idx[k] = idx[k - 1], idx[k - 1] = t;
        }
    return idx;
}

static void put_metrics(FILE *f, const struct job *j)
{
    const struct bt_metrics *m = &j->res.m;
    int64_t cents = (m->commissions + 5000) / 10000; /* money has 6 decimals, >= 0 */
    fprintf(f, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%lld.%02lld", m->trades, m->win_rate,
            m->total_return, m->cagr, m->sharpe, m->sortino, m->max_drawdown, m->profit_factor,
            m->exposure, (long long)(cents / 100), (long long)(cents % 100));
}

static const char metrics_header[] =
    "trades,win_rate,total_return,cagr,sharpe,sortino,max_drawdown,profit_factor,exposure,"
    "commissions";

static int write_sweep_csv(const char *dir, const struct sweep_opts *s, const struct job *v, int n,
                           const int *idx, struct err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return err_set(e, "cannot write %s: %s", path, strerror(errno));
    int *rank = xcalloc((size_t)n + 1, sizeof *rank);
    for (int i = 0; i < n; i++) rank[idx[i]] = i + 1;
    fprintf(f, "run");
    for (int p = 0; p < s->nparams; p++) fprintf(f, ",%s", s->params[p].name);
    fprintf(f, ",rank,%s,error\n", metrics_header);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%d", i + 1);
        for (int p = 0; p < s->nparams; p++) fprintf(f, ",%.15g", combo_value(s, i, p));
        fprintf(f, ",%d,", rank[i]);
        put_metrics(f, &v[i]);
        fputs(",\"", f);
        for (const char *c = v[i].err; *c; c++) {
            if (*c == '"') fputc('"', f); /* CSV doubles its quotes */
            fputc(*c, f);
        }
        fputs("\"\n", f);
    }
    free(rank);
    return fclose(f) == 0 ? 0 : err_set(e, "cannot write %s", path);
}

static void print_ranking(const struct sweep_opts *s, const struct job *v, int n, const int *idx)
{
    printf("sweep: %d runs, ranked by %s\n", n, s->rank);
    printf("%-5s %-40s %8s %10s %8s %8s\n", "rank", "params", s->rank, "return", "max dd",
           "trades");
    for (int i = 0; i < n && i < SWEEP_TOP; i++) {
        const struct job *j = &v[idx[i]];
        char params[256] = "";
        size_t len = 0;
        for (int p = 0; p < s->nparams && len < sizeof params; p++)
            len += (size_t)snprintf(params + len, sizeof params - len, "%s%s=%g", p ? " " : "",
                                    s->params[p].name, combo_value(s, idx[i], p));
        double value;
        int hb;
        if (j->rc != 0) {
            printf("%-5d %-40s failed: %s\n", i + 1, params, j->err);
            continue;
        }
        bt_metric_value(&j->res.m, s->rank, &value, &hb);
        printf("%-5d %-40s %8.3f %9.2f%% %7.2f%% %8d\n", i + 1, params, value,
               j->res.m.total_return * 100, j->res.m.max_drawdown * 100, j->res.m.trades);
    }
}

/* The best combination's full run, into the output directory. */
static int run_best(const struct backtest_opts *base, const struct sweep_opts *s, int combo,
                    struct err *e)
{
    struct job j;
    job_init(&j, base, s, combo);
    j.o.out = base->out;
    j.o.quiet = 0;
    j.o.progress = base->progress;
    printf("best run: #%d\n", combo + 1);
    fflush(stdout);
    int rc = backtest_run(&j.o, &j.res, e);
    params_free(&j.o.params);
    return rc;
}

static int sweep(const struct backtest_opts *base, const struct sweep_opts *s, struct err *e)
{
    int n = combos(s);
    if (n < 0) return err_set(e, "more than %d combinations", SWEEP_MAX_RUNS), 2;
    struct job *v = xcalloc((size_t)n, sizeof *v);
    for (int i = 0; i < n; i++) job_init(&v[i], base, s, i);
    int rc = run_jobs(v, n, s->jobs, e) != 0 ? 1 : 0;
    int *idx = rc ? NULL : ranking(v, n, s->rank);
    if (!rc && v[idx[0]].rc != 0) {
        err_set(e, "every run failed; the first: %s", v[0].err);
        rc = v[0].rc;
    }
    if (!rc && (bt_make_dir(base->out, e) != 0 || write_sweep_csv(base->out, s, v, n, idx, e) != 0))
        rc = 1;
    if (!rc) {
        print_ranking(s, v, n, idx);
        rc = run_best(base, s, idx[0], e);
    }
    free(idx);
    jobs_free(v, n);
    return rc;
}

/* ---- walk-forward ------------------------------------------------------------------------ */

struct fold {
    int64_t is_from, is_to, oos_from, oos_to;
    int best; /* index of the in-sample job chosen (into the fold's own block) */
};

/* The data's time range [first, last + 1). */
static int data_range(const struct backtest_opts *o, int64_t *from, int64_t *to, struct err *e)
{
    if (o->nreplay) return err_set(e, "--walk-forward needs --data files (not --replay)");
    struct bt_data d;
    int usage;
    if (bt_data_open(&d, o, &usage, e) != 0) return -1;
    *from = bt_data_first_us(&d);
    *to = *from + bt_data_span_us(&d) + 1;
    bt_data_close(&d);
    return 0;
}

static void fold_job(struct job *j, const struct backtest_opts *base, const struct sweep_opts *s,
                     int combo, int64_t from, int64_t to)
{
    job_init(j, base, s, combo);
    j->o.from_us = from;
    j->o.to_us = to;
}

static void put_fold_row(FILE *f, int k, const struct fold *fd, const char *params,
                         const struct job *is, const struct job *oos, const char *rank)
{
    char a[40], b[40], c[40], d[40];
    double vi = 0, vo = 0;
    int hb;
    bt_metric_value(&is->res.m, rank, &vi, &hb);
    bt_metric_value(&oos->res.m, rank, &vo, &hb);
    fprintf(f, "%d,%s,%s,%s,%s,\"%s\",%.6f,%.6f,%.6f,%.6f,%d,%d,%.6f,%.6f\n", k + 1,
            util_iso8601(fd->is_from, a, sizeof a), util_iso8601(fd->is_to, b, sizeof b),
            util_iso8601(fd->oos_from, c, sizeof c), util_iso8601(fd->oos_to, d, sizeof d), params,
            vi, vo, is->res.m.total_return, oos->res.m.total_return, is->res.m.trades,
            oos->res.m.trades, is->res.m.max_drawdown, oos->res.m.max_drawdown);
    printf("%-4d %-30s %10.3f %10.3f %9.2f%% %9.2f%% %6d %6d\n", k + 1, params, vi, vo,
           is->res.m.total_return * 100, oos->res.m.total_return * 100, is->res.m.trades,
           oos->res.m.trades);
}

static void combo_text(const struct sweep_opts *s, int combo, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int p = 0; p < s->nparams && len < n; p++)
        len += (size_t)snprintf(out + len, n - len, "%s%s=%g", p ? " " : "", s->params[p].name,
                                combo_value(s, combo, p));
}

static int write_folds(const struct backtest_opts *base, const struct sweep_opts *s,
                       const struct fold *folds, const struct job *is, int ncombo,
                       const struct job *oos, struct err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/walk_forward.csv", base->out);
    FILE *f = fopen(path, "w");
    if (!f) return err_set(e, "cannot write %s: %s", path, strerror(errno));
    fprintf(f,
            "fold,is_from,is_to,oos_from,oos_to,params,is_%s,oos_%s,is_total_return,"
            "oos_total_return,is_trades,oos_trades,is_max_drawdown,oos_max_drawdown\n",
            s->rank, s->rank);
    printf("walk-forward: %d folds, ranked by %s (in-sample | out-of-sample)\n", s->walk_forward,
           s->rank);
    printf("%-4s %-30s %10s %10s %10s %10s %6s %6s\n", "fold", "params", "is", "oos", "is ret",
           "oos ret", "is tr", "oos tr");
    for (int k = 0; k < s->walk_forward; k++) {
        char params[256] = "(as given)";
        if (s->nparams) combo_text(s, folds[k].best, params, sizeof params);
        put_fold_row(f, k, &folds[k], params, &is[k * ncombo + folds[k].best], &oos[k], s->rank);
    }
    return fclose(f) == 0 ? 0 : err_set(e, "cannot write %s", path);
}

static int walk_forward(const struct backtest_opts *base, const struct sweep_opts *s, struct err *e)
{
    int64_t first = 0, end = 0;
    if (data_range(base, &first, &end, e) != 0) return 2;
    int K = s->walk_forward, nc = s->nparams ? combos(s) : 1;
    if (nc < 0 || (long)nc * K > SWEEP_MAX_RUNS) return err_set(e, "too many runs"), 2;
    int64_t len = (end - first) / (K + 1);
    if (len <= 0) return err_set(e, "the data is too short for %d folds", K), 2;
    struct fold *folds = xcalloc((size_t)K, sizeof *folds);
    struct job *is = xcalloc((size_t)K * (size_t)nc, sizeof *is),
               *oos = xcalloc((size_t)K, sizeof *oos);
    for (int k = 0; k < K; k++) {
        folds[k] = (struct fold){first + k * len, first + (k + 1) * len, first + (k + 1) * len,
                                 k == K - 1 ? end : first + (k + 2) * len, 0};
        for (int c = 0; c < nc; c++)
            fold_job(&is[k * nc + c], base, s, s->nparams ? c : -1, folds[k].is_from,
                     folds[k].is_to);
    }
    int rc = run_jobs(is, K * nc, s->jobs, e) != 0 ? 1 : 0;
    for (int k = 0; !rc && k < K; k++) {
        int *idx = ranking(is + k * nc, nc, s->rank);
        folds[k].best = idx[0];
        free(idx);
        fold_job(&oos[k], base, s, s->nparams ? folds[k].best : -1, folds[k].oos_from,
                 folds[k].oos_to);
    }
    if (!rc) rc = run_jobs(oos, K, s->jobs, e) != 0 ? 1 : 0;
    for (int k = 0; !rc && k < K; k++)
        if (oos[k].rc || is[k * nc + folds[k].best].rc) {
            err_set(e, "fold %d: %s", k + 1,
                    oos[k].rc ? oos[k].err : is[k * nc + folds[k].best].err);
            rc = 1;
        }
    if (!rc && (bt_make_dir(base->out, e) != 0 || write_folds(base, s, folds, is, nc, oos, e) != 0))
        rc = 1;
    jobs_free(is, K * nc);
    jobs_free(oos, K);
    free(folds);
    return rc;
}

int backtest_sweep(const struct backtest_opts *base, const struct sweep_opts *s, struct err *e)
{
    if (s->walk_forward) return walk_forward(base, s, e);
    return sweep(base, s, e);
}
