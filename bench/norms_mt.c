/* bench/norms_mt.c - the threaded layer and RMS norm (issue 19): forward and backward
   (dx, dweight, dbias) on ROWS x COLS floats, the unthreaded call beside the _mt call
   on OpenMP's hook (trainopt_omp_parallel_for) at 1 and 2 threads, and a plain copy of x
   (memcpy, one thread) as the memory's pace. Every figure is the median of REPS calls;
   each run also checks that the _mt outputs have the unthreaded bits. Build and run:
   make -C bench norms_mt (see RESULTS.md, "Threaded layer and RMS norm", for the command
   and the load). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_STATIC
#include "trainopt.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define REPS 7
#define ROWS 4096
#define COLS 4096
#define N ((size_t)ROWS * COLS)

static float *alloc_fill(size_t n, float lo, unsigned seed) {
    float *p = (float *)malloc(n * sizeof(float));
    size_t i;
    if (!p) exit(2);
#pragma omp parallel for schedule(static)
    for (i = 0; i < n; i++) p[i] = lo + (float)((i * 2654435761u + seed) % 1000u) / 1000.0f; /* first touch by the threads */
    return p;
}

typedef struct {
    const float *x, *dy, *w, *b;
    float *y, *mean, *rstd, *dx, *dw, *db;
} arrays;

enum { LN_FWD, LN_BWD, RMS_FWD, RMS_BWD, KERNELS };
static const char *const names[KERNELS] = {"layernorm forward", "layernorm backward", "rmsnorm forward", "rmsnorm backward"};

/* Kernel k once: unthreaded (th NULL) or on th. */
static trainopt_status run(int k, const arrays *a, const trainopt_threads *th) {
    const trainopt_norm_config c = TRAINOPT_NORM_DEFAULTS;
    switch (k) {
    case LN_FWD:
        return th ? trainopt_layernorm_forward_mt(&c, ROWS, COLS, a->x, a->w, a->b, a->y, a->mean, a->rstd, th)
                  : trainopt_layernorm_forward(&c, ROWS, COLS, a->x, a->w, a->b, a->y, a->mean, a->rstd);
    case LN_BWD:
        return th ? trainopt_layernorm_backward_mt(&c, ROWS, COLS, a->x, a->dy, a->w, a->mean, a->rstd, a->dx, a->dw, a->db, th)
                  : trainopt_layernorm_backward(&c, ROWS, COLS, a->x, a->dy, a->w, a->mean, a->rstd, a->dx, a->dw, a->db);
    case RMS_FWD:
        return th ? trainopt_rmsnorm_forward_mt(&c, ROWS, COLS, a->x, a->w, a->y, a->rstd, th)
                  : trainopt_rmsnorm_forward(&c, ROWS, COLS, a->x, a->w, a->y, a->rstd);
    default:
        return th ? trainopt_rmsnorm_backward_mt(&c, ROWS, COLS, a->x, a->dy, a->w, a->rstd, a->dx, a->dw, th)
                  : trainopt_rmsnorm_backward(&c, ROWS, COLS, a->x, a->dy, a->w, a->rstd, a->dx, a->dw);
    }
}

static double median_time(int k, const arrays *a, const trainopt_threads *th) {
    double t[REPS];
    int r;
    for (r = 0; r < REPS; r++) {
        const double t0 = bench_seconds();
        if (run(k, a, th) != TRAINOPT_OK) {
            fprintf(stderr, "%s refused: %s\n", names[k], trainopt_last_error());
            exit(1);
        }
        t[r] = bench_seconds() - t0;
    }
    return bench_median(t, REPS);
}

int main(void) {
    arrays a;
    float *y0 = alloc_fill(N, 0.0f, 9), *dx0 = alloc_fill(N, 0.0f, 9), *dw0 = alloc_fill(COLS, 0.0f, 9),
          *db0 = alloc_fill(COLS, 0.0f, 9), *copy = alloc_fill(N, 0.0f, 9);
    double t_copy[REPS], copy_s;
    int k, r, threads, failures = 0;
    a.x = alloc_fill(N, 2.0f, 1), a.dy = alloc_fill(N, -0.5f, 2), a.w = alloc_fill(COLS, 0.5f, 3), a.b = alloc_fill(COLS, 0.0f, 4);
    a.y = alloc_fill(N, 0.0f, 9), a.mean = alloc_fill(ROWS, 0.0f, 9), a.rstd = alloc_fill(ROWS, 0.0f, 9);
    a.dx = alloc_fill(N, 0.0f, 9), a.dw = alloc_fill(COLS, 0.0f, 9), a.db = alloc_fill(COLS, 0.0f, 9);
    for (r = 0; r < REPS; r++) {
        const double t0 = bench_seconds();
        memcpy(copy, a.x, N * sizeof(float));
        t_copy[r] = bench_seconds() - t0;
    }
    copy_s = bench_median(t_copy, REPS);
    printf("trainopt %s, %d x %d floats (%.0f MB per array), median of %d; memcpy of x: %.2f ms (%.1f GB/s read+write)\n",
           trainopt_backend(), ROWS, COLS, N * 4.0 / 1e6, REPS, copy_s * 1e3, 2.0 * N * 4.0 / copy_s / 1e9);
    printf("%-20s %12s %12s %12s %10s\n", "kernel", "unthreaded", "_mt 1 thr", "_mt 2 thr", "2 thr/1 thr");
    for (k = 0; k < KERNELS; k++) {
        double t[3];
        t[0] = median_time(k, &a, NULL);
        /* the unthreaded outputs, to check the threaded ones against */
        memcpy(y0, a.y, N * sizeof(float)), memcpy(dx0, a.dx, N * sizeof(float));
        memcpy(dw0, a.dw, COLS * sizeof(float)), memcpy(db0, a.db, COLS * sizeof(float));
        for (threads = 1; threads <= 2; threads++) {
            trainopt_threads th = TRAINOPT_THREADS_NONE;
            th.parallel_for = trainopt_omp_parallel_for, th.ctx = &threads;
            t[threads] = median_time(k, &a, &th);
            if (k == LN_FWD || k == RMS_FWD) failures += memcmp(y0, a.y, N * sizeof(float)) != 0;
            else
                failures += memcmp(dx0, a.dx, N * sizeof(float)) != 0 || memcmp(dw0, a.dw, COLS * sizeof(float)) != 0 ||
                            (k == LN_BWD && memcmp(db0, a.db, COLS * sizeof(float)) != 0);
        }
        printf("%-20s %9.2f ms %9.2f ms %9.2f ms %9.2fx\n", names[k], t[0] * 1e3, t[1] * 1e3, t[2] * 1e3, t[1] / t[2]);
    }
    printf("threaded outputs %s the unthreaded bits\n", failures ? "DIFFER from" : "equal");
    return failures != 0;
}
