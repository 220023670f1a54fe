/* bench_portfolio.c: ns per portfolio_apply_fill, against plain C doing the same
 * average-cost arithmetic, measured in the same run.
 *
 * Fills: N generated before any timing (seeded xorshift) over four instruments whose
 * notionals need no rounding (px_dp + qty_dp <= MONEY_DP: 2/0, 4/2, 0/0, 3/1), so the
 * baseline can compute them with one int64 multiply and must reach the same numbers.
 * A quarter each for three strategies and for manual fills; random sides, prices and
 * sizes, one fill in eight exactly flattening its account's position, a commission on
 * half of them: opens, adds, reductions and crossings all occur.
 *
 * Host: per repetition a fresh portfolio (accounts declared before timing), then
 * portfolio_apply_fill for every fill with its strategy name: the total and, for three
 * fills in four, the strategy account, each with the 128-bit notional, saturation,
 * statistics and the name lookup.
 * Baseline: the same bookkeeping (qty, cost basis, realized, cash) in plain int64 on
 * arrays indexed by account and symbol, the notional as px * qty * 10^k, no rounding,
 * saturation, lookup or statistics. Both must end with the same cash per account and
 * the same qty, cost and realized per position, or the bench exits 2.
 * Rounding: a third, host-only loop on grids that round (4/4, 9/9, 6/3, 1/8), for what
 * the rounded 128-bit path costs.
 *
 * Baseline and host alternate REPS times; min and median ns/fill (wall) and the min of
 * thread CPU ns/fill are printed as a BENCH line and a JSON line.
 * Environment: BENCH_FILLS (default 2000000), BENCH_REPS (default 5). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "fixed.h"
#include "instrument.h"
#include "log.h"
#include "portfolio.h"

#define MAX_REPS 50
#define NSYM     4
#define NACC     4 /* 0: the total; 1..3: strategies */

struct rec {
    int sym, side, acc; /* acc 0: a manual fill (total only) */
    int64_t px, qty, commission;
};

static const char *const acc_name[NACC] = {NULL, "alpha", "beta", "gamma"};
static double g_cpu_ns;
static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int64_t rnd(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(xorshift() % (uint64_t)(hi - lo + 1));
}

static void add_instruments(struct instruments *ins, const struct instrument *defs)
{
    struct err e;
    for (int i = 0; i < NSYM; i++)
        if (instruments_add(ins, &defs[i], &e) != i) bench_fail("instrument", e.msg);
}

/* Prices up to 200 and sizes up to 500 in each grid's units. */
static void generate(struct rec *recs, long n, const struct instruments *ins)
{
    int64_t held[NACC][NSYM] = {{0}};
    for (long i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        r->sym = (int)rnd(0, NSYM - 1);
        r->acc = (int)rnd(0, NACC - 1);
        const struct instrument *in = &ins->v[r->sym];
        r->px = rnd(1, 200 * fx_pow10(in->px_dp));
        r->qty = rnd(1, 500 * fx_pow10(in->qty_dp));
        r->side = rnd(0, 1) ? 1 : -1;
        int64_t h = held[r->acc][r->sym];
        if (h != 0 && rnd(0, 7) == 0) {
            r->side = h > 0 ? -1 : 1;
            r->qty = h > 0 ? h : -h;
        }
        r->commission = rnd(0, 1) ? rnd(0, 1000000) : 0;
        held[r->acc][r->sym] += r->side * r->qty;
        if (r->acc) held[0][r->sym] += r->side * r->qty;
    }
}

/* ---- the host ------------------------------------------------------------------------ */

static struct portfolio *host_new(const struct instruments *ins)
{
    struct portfolio *p = portfolio_new(ins, 0, 252.0);
    for (int a = 1; a < NACC; a++) portfolio_account(p, acc_name[a], 0);
    return p;
}

static double run_host(const struct rec *recs, long n, const struct instruments *ins,
                       struct portfolio **out)
{
    struct portfolio *p = host_new(ins);
    int64_t t0 = bench_now_ns(), c0 = bench_cpu_ns();
    for (long i = 0; i < n; i++) {
        const struct rec *r = &recs[i];
        struct fill f = {.sym = r->sym,
                         .side = r->side,
                         .px = r->px,
                         .qty = r->qty,
                         .commission = r->commission};
        portfolio_apply_fill(p, acc_name[r->acc], &f);
    }
    int64_t t1 = bench_now_ns(), c1 = bench_cpu_ns();
    g_cpu_ns = (double)(c1 - c0) / (double)n;
    if (out) *out = p;
    else portfolio_free(p);
    return (double)(t1 - t0) / (double)n;
}

/* ---- the baseline -------------------------------------------------------------------- */

struct base_pos {
    int64_t qty, cost, realized;
};

struct base_acc {
    int64_t cash;
    struct base_pos pos[NSYM];
};

static int64_t g_scale[NSYM]; /* 10^(MONEY_DP - px_dp - qty_dp) */

static void base_book(struct base_acc *a, const struct rec *r, int64_t n)
{
    struct base_pos *p = &a->pos[r->sym];
    int64_t flow = -r->side * n;
    if (p->qty != 0 && (p->qty > 0) != (r->side > 0)) {
        int64_t held = p->qty < 0 ? -p->qty : p->qty;
        if (r->qty <= held) {
            int64_t removed = p->cost * r->qty / held;
            p->qty += r->side * r->qty;
            p->cost -= removed;
            p->realized += flow - removed;
        } else {
            int64_t rest = r->qty - held, n_open = r->px * rest * g_scale[r->sym];
            p->realized += flow + r->side * n_open - p->cost;
            p->qty = r->side * rest;
            p->cost = r->side * n_open;
        }
    } else {
        p->qty += r->side * r->qty;
        p->cost -= flow;
    }
    a->cash += flow - r->commission;
}

static double run_baseline(const struct rec *recs, long n, struct base_acc *acc)
{
    memset(acc, 0, sizeof *acc * NACC);
    int64_t t0 = bench_now_ns(), c0 = bench_cpu_ns();
    for (long i = 0; i < n; i++) {
        const struct rec *r = &recs[i];
        int64_t notional = r->px * r->qty * g_scale[r->sym];
        base_book(&acc[0], r, notional);
        if (r->acc) base_book(&acc[r->acc], r, notional);
    }
    int64_t t1 = bench_now_ns(), c1 = bench_cpu_ns();
    g_cpu_ns = (double)(c1 - c0) / (double)n;
    return (double)(t1 - t0) / (double)n;
}

/* Exits 2 unless the host and the baseline booked the same numbers. */
static void compare(const struct portfolio *p, const struct base_acc *acc)
{
    for (int a = 0; a < NACC; a++) {
        struct portfolio_totals t;
        portfolio_totals(p, acc_name[a], &t);
        if (t.cash != acc[a].cash) bench_fail("compare", "cash differs");
        for (int s = 0; s < NSYM; s++) {
            const struct position *pos = portfolio_position(p, acc_name[a], s);
            const struct base_pos *b = &acc[a].pos[s];
            if (!pos) bench_fail("compare", "a position is missing");
            if (pos->qty != b->qty || pos->cost != b->cost || pos->realized != b->realized)
                bench_fail("compare", "a position differs");
        }
    }
}

int main(void)
{
    long n = bench_env_long("BENCH_FILLS", 2000000);
    int reps = (int)bench_env_long("BENCH_REPS", 5);
    if (reps > MAX_REPS) reps = MAX_REPS;
    log_set_stderr(0);
    static const struct instrument exact[NSYM] = {
        {"AAA", 2, 1, 0, 1}, {"BBB", 4, 1, 2, 1}, {"CCC", 0, 1, 0, 1}, {"DDD", 3, 1, 1, 1}};
    static const struct instrument rounding[NSYM] = {
        {"RA", 4, 1, 4, 1}, {"RB", 9, 1, 9, 1}, {"RC", 6, 1, 3, 1}, {"RD", 1, 1, 8, 1}};
    struct instruments ins_exact = {0}, ins_round = {0};
    add_instruments(&ins_exact, exact);
    add_instruments(&ins_round, rounding);
    for (int s = 0; s < NSYM; s++)
        g_scale[s] = fx_pow10(MONEY_DP - exact[s].px_dp - exact[s].qty_dp);
    struct rec *recs = malloc(sizeof *recs * (size_t)n);
    struct rec *rrecs = malloc(sizeof *rrecs * (size_t)n);
    if (!recs || !rrecs) bench_fail("fills", "out of memory");
    generate(recs, n, &ins_exact);
    generate(rrecs, n, &ins_round);

    double host_ns[MAX_REPS], base_ns[MAX_REPS], round_ns[MAX_REPS];
    double host_cpu[MAX_REPS], base_cpu[MAX_REPS], round_cpu[MAX_REPS];
    struct base_acc acc[NACC];
    for (int r = 0; r < reps; r++) {
        base_ns[r] = run_baseline(recs, n, acc);
        base_cpu[r] = g_cpu_ns;
        struct portfolio *p;
        host_ns[r] = run_host(recs, n, &ins_exact, &p);
        host_cpu[r] = g_cpu_ns;
        compare(p, acc);
        portfolio_free(p);
        round_ns[r] = run_host(rrecs, n, &ins_round, NULL);
        round_cpu[r] = g_cpu_ns;
        printf("# rep %d: baseline %.1f ns/fill (cpu %.1f), host %.1f (cpu %.1f), host rounding "
               "grids %.1f (cpu %.1f)\n",
               r + 1, base_ns[r], base_cpu[r], host_ns[r], host_cpu[r], round_ns[r], round_cpu[r]);
        fflush(stdout);
    }
    double hmin = bench_min(host_ns, reps), bmin = bench_min(base_ns, reps);
    double rmin = bench_min(round_ns, reps);
    double hmed = bench_median(host_ns, reps), bmed = bench_median(base_ns, reps);
    double hcpu = bench_min(host_cpu, reps), bcpu = bench_min(base_cpu, reps);
    double rcpu = bench_min(round_cpu, reps);
    printf("# host and baseline agree on every account's cash and every position\n");
    printf("BENCH portfolio host_ns_per_fill=%.1f baseline_ns_per_fill=%.1f ratio=%.3f "
           "host_median_ns=%.1f baseline_median_ns=%.1f host_cpu_ns=%.1f baseline_cpu_ns=%.1f "
           "ratio_cpu=%.3f rounding_ns_per_fill=%.1f rounding_cpu_ns=%.1f fills=%ld reps=%d\n",
           hmin, bmin, hmin / bmin, hmed, bmed, hcpu, bcpu, hcpu / bcpu, rmin, rcpu, n, reps);
    printf("{\"bench\":\"portfolio\",\"fills\":%ld,\"reps\":%d,"
           "\"host_ns_per_fill\":{\"min\":%.1f,\"median\":%.1f,\"cpu_min\":%.1f},"
           "\"baseline_ns_per_fill\":{\"min\":%.1f,\"median\":%.1f,\"cpu_min\":%.1f},"
           "\"rounding_ns_per_fill\":{\"min\":%.1f,\"cpu_min\":%.1f},"
           "\"ratio\":%.3f,\"ratio_cpu\":%.3f}\n",
           n, reps, hmin, hmed, hcpu, bmin, bmed, bcpu, rmin, rcpu, hmin / bmin, hcpu / bcpu);
    free(recs);
    free(rrecs);
    instruments_free(&ins_exact);
    instruments_free(&ins_round);
    return 0;
}
