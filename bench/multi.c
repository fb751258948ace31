/* bench/multi.c - many tensors and many threads (issue 19): AdamW on a model of 200
   tensors (1K to 1M elements, log-spaced) as one trainopt_adamw_step_multi call against
   200 trainopt_adamw_step calls; and AdamW on one 64M-element tensor through the
   threading hook (trainopt_omp_parallel_for) at 1 and 2 threads, beside STREAM's triad
   (plain C, as bench/stream.c) split over the same OpenMP threads, in the same run; and
   the same calls on the library's own trainopt_pool (what trainopt.torch uses).
   Every figure is the median of REPS timed steps. Bandwidth counts bytes as STREAM does
   (no write-allocate): AdamW reads param, grad, exp_avg, exp_avg_sq and writes param,
   exp_avg, exp_avg_sq, 28 bytes per element; triad 12. Build and run: make -C bench multi
   (see RESULTS.md, "Many tensors, many threads", for the command and the load). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_STATIC
#define TRAINOPT_POOL
#include "trainopt.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define REPS 9
#define MODEL_K 200



static float *alloc_fill(size_t n, float v) {
    float *p = (float *)malloc(n * sizeof(float));
    size_t i;
    if (!p) exit(2);
#pragma omp parallel for schedule(static)
    for (i = 0; i < n; i++) p[i] = v * (float)(1 + (i % 7)); /* first touch by the threads that use it */
    return p;
}

/* ---- the model ---- */
typedef struct {
    trainopt_tensor t[MODEL_K];
    size_t total;
} model;

static void model_init(model *m) {
    size_t i;
    m->total = 0;
    for (i = 0; i < MODEL_K; i++) {
        /* 1K .. 1M, log-spaced, in a shuffled order (layers of a network are not sorted) */
        const double f = (double)((i * 37) % MODEL_K) / (MODEL_K - 1);
        const size_t n = (size_t)(1024.0 * pow(1024.0, f)) + (i % 5);
        m->t[i].param = alloc_fill(n, 0.01f);
        m->t[i].grad = alloc_fill(n, 0.001f);
        m->t[i].state[0] = alloc_fill(n, 0.0f);
        m->t[i].state[1] = alloc_fill(n, 0.0f);
        m->t[i].state[2] = m->t[i].state[3] = NULL;
        m->t[i].n = n;
        m->total += n;
    }
}

/* The hook: `threads` OpenMP threads, or (pool != NULL) a trainopt_pool. */
static trainopt_threads hook(int *threads, trainopt_pool *pool) {
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    if (pool) th.parallel_for = trainopt_pool_parallel_for, th.ctx = pool;
    else th.parallel_for = trainopt_omp_parallel_for, th.ctx = threads;
    return th;
}

/* Seconds per step, median of REPS: how = 0 per-tensor calls, 1 one multi call without a
   hook, 2 one multi call on the hook (`threads` OpenMP threads, or `pool`). */
static double time_model(model *m, int how, int threads, trainopt_pool *pool) {
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    const trainopt_threads th = hook(&threads, pool);
    double t[REPS];
    int r;
    size_t i;
    for (r = -1; r < REPS; r++) { /* one warm-up */
        const double t0 = bench_seconds();
        int bad = 0;
        if (how == 0)
            for (i = 0; i < MODEL_K; i++)
                bad |= trainopt_adamw_step(&c, 5, m->t[i].n, m->t[i].param, m->t[i].grad, m->t[i].state[0],
                                           m->t[i].state[1], NULL) != TRAINOPT_OK;
        else
            bad = trainopt_adamw_step_multi(&c, 5, MODEL_K, m->t, NULL, how == 2 ? &th : NULL) != TRAINOPT_OK;
        if (bad) exit(1);
        if (r >= 0) t[r] = bench_seconds() - t0;
    }
    return bench_median(t, REPS);
}

/* ---- one big tensor ---- */
static double time_big(size_t n, float **a, int threads, trainopt_pool *pool) {
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_tensor x;
    const trainopt_threads th = hook(&threads, pool);
    double t[REPS];
    int r;
    x.param = a[0], x.grad = a[1], x.state[0] = a[2], x.state[1] = a[3], x.state[2] = x.state[3] = NULL, x.n = n;
    for (r = -1; r < REPS; r++) {
        const double t0 = bench_seconds();
        if (trainopt_adamw_step_multi(&c, 5, 1, &x, NULL, &th) != TRAINOPT_OK) exit(1);
        if (r >= 0) t[r] = bench_seconds() - t0;
    }
    return bench_median(t, REPS);
}

static double time_triad(size_t n, float *a, const float *b, const float *c, int threads) {
    double t[REPS];
    int r;
    for (r = -1; r < REPS; r++) {
        const double t0 = bench_seconds();
        long i;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (i = 0; i < (long)n; i++) a[i] = b[i] + 3.0f * c[i];
        if (r >= 0) t[r] = bench_seconds() - t0;
    }
    return bench_median(t, REPS);
}

int main(void) {
    model m;
    const size_t big = (size_t)64 << 20;
    float *a[4];
    double per, one, mt1, mt2, pool2, b1, b2, bp2, tr1, tr2;
    trainopt_pool *pool;
    int i;
    if (trainopt_pool_create(2, &pool) != TRAINOPT_OK) exit(2);
    printf("trainopt backend %s, REPS %d (medians)\n", trainopt_backend(), REPS);

    model_init(&m);
    per = time_model(&m, 0, 1, NULL);
    one = time_model(&m, 1, 1, NULL);
    mt1 = time_model(&m, 2, 1, NULL);
    mt2 = time_model(&m, 2, 2, NULL);
    pool2 = time_model(&m, 2, 2, pool);
    printf("model: %d tensors, %zu elements (1K..1M)\n", MODEL_K, m.total);
    printf("  200 adamw_step calls            %8.3f ms  %.3f ns/element\n", per * 1e3, per * 1e9 / (double)m.total);
    printf("  one adamw_step_multi, no hook   %8.3f ms  %.3f ns/element  (200 calls / one call: %.2fx)\n", one * 1e3,
           one * 1e9 / (double)m.total, per / one);
    printf("  one adamw_step_multi, omp 1 thr %8.3f ms  (200 calls / this: %.2fx)\n", mt1 * 1e3, per / mt1);
    printf("  one adamw_step_multi, omp 2 thr %8.3f ms  (200 calls / this: %.2fx)\n", mt2 * 1e3, per / mt2);
    printf("  one adamw_step_multi, pool 2 thr%8.3f ms  (200 calls / this: %.2fx)\n", pool2 * 1e3, per / pool2);
    for (i = 0; i < MODEL_K; i++)
        free(m.t[i].param), free((float *)m.t[i].grad), free(m.t[i].state[0]), free(m.t[i].state[1]);

    for (i = 0; i < 4; i++) a[i] = alloc_fill(big, i == 1 ? 0.001f : i < 2 ? 0.01f : 0.0f);
    b1 = time_big(big, a, 1, NULL);
    b2 = time_big(big, a, 2, NULL);
    bp2 = time_big(big, a, 2, pool);
    tr1 = time_triad(big, a[2], a[0], a[1], 1);
    tr2 = time_triad(big, a[2], a[0], a[1], 2);
    printf("64M elements (28 B/element for AdamW, 12 for triad):\n");
    printf("  adamw_step_multi, 1 thread      %8.2f ms  %6.2f GB/s\n", b1 * 1e3, 28.0 * (double)big / b1 * 1e-9);
    printf("  adamw_step_multi, 2 threads     %8.2f ms  %6.2f GB/s  (speedup %.2fx)\n", b2 * 1e3,
           28.0 * (double)big / b2 * 1e-9, b1 / b2);
    printf("  adamw_step_multi, pool 2 threads%8.2f ms  %6.2f GB/s  (speedup %.2fx)\n", bp2 * 1e3,
           28.0 * (double)big / bp2 * 1e-9, b1 / bp2);
    printf("  STREAM triad, 1 thread          %8.2f ms  %6.2f GB/s\n", tr1 * 1e3, 12.0 * (double)big / tr1 * 1e-9);
    printf("  STREAM triad, 2 threads         %8.2f ms  %6.2f GB/s\n", tr2 * 1e3, 12.0 * (double)big / tr2 * 1e-9);
    printf("  AdamW 2 threads / triad 2 threads bandwidth: %.0f%%\n",
           100.0 * (28.0 * (double)big / b2) / (12.0 * (double)big / tr2));
    for (i = 0; i < 4; i++) free(a[i]);
    trainopt_pool_destroy(pool);
    return 0;
}
