/* bench_common.h: helpers shared by the benchmarks in tests/bench/ (header only, so
 * each bench stays one executable built from one .c file).
 *
 * Paths: the source tree comes from LUATRADE_SRC (environment) or the directory
 * CMake compiled in, so a bench runs from any working directory. Timing is
 * CLOCK_MONOTONIC in nanoseconds. Statistics sort a copy of the samples. */
#ifndef LUATRADE_BENCH_COMMON_H
#define LUATRADE_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef LUATRADE_SRC_DIR
#define LUATRADE_SRC_DIR "."
#endif

static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time of the calling thread: with wall time it shows when a run was preempted. */
static inline int64_t bench_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline const char *bench_src_dir(void)
{
    const char *s = getenv("LUATRADE_SRC");
    return s && *s ? s : LUATRADE_SRC_DIR;
}

/* A positive integer from the environment, or def. */
static inline long bench_env_long(const char *name, long def)
{
    const char *s = getenv(name);
    if (!s || !*s) return def;
    char *end;
    long v = strtol(s, &end, 10);
    return *end == '\0' && v > 0 ? v : def;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of n samples, nearest rank; sorts v in place. */
static inline double bench_quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    int k = (int)(q * n + 0.999999) - 1;
    if (k < 0) k = 0;
    if (k >= n) k = n - 1;
    return v[k];
}

static inline double bench_min(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m) m = v[i];
    return m;
}

/* Median of n samples (mean of the middle two when n is even); sorts a copy. */
static inline double bench_median(const double *v, int n)
{
    double *c = malloc(sizeof *c * (size_t)n);
    memcpy(c, v, sizeof *c * (size_t)n);
    qsort(c, (size_t)n, sizeof *c, bench_cmp_double);
    double m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return m;
}

static inline void bench_fail(const char *what, const char *msg)
{
    fprintf(stderr, "bench: %s: %s\n", what, msg);
    exit(2);
}

#endif
