/* bench/clock.h - the clock and the median the stand-alone bench programs share
   (mixed.c, multi.c, multi_overhead.c, quant8.c, dispatch_overhead.c, portable_ab.c,
   norms_layout.c).
   The including file defines _POSIX_C_SOURCE 199309L (clock_gettime) before any header. */
#ifndef TRAINOPT_BENCH_CLOCK_H
#define TRAINOPT_BENCH_CLOCK_H
#include <stdlib.h>
#include <time.h>

/* Wall-clock seconds on the monotonic clock. */
static inline double bench_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the calling thread: other jobs' time slices on a shared core excluded. */
static inline double bench_thread_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts t[0..n) in place and returns its median (the upper one for even n). */
static inline double bench_median(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
    return t[n / 2];
}
#endif
