/* bench/dispatch_overhead.c - what runtime dispatch (TRAINOPT_DISPATCH) costs per call.

   Built twice into one program (make bench-dispatch): this file for baseline x86-64 with
   TRAINOPT_DISPATCH (main and the dispatching calls), and again with DISPATCH_STATIC_UNIT,
   -mavx512f -mavx2 -mfma and no dispatch: the compile-time build a user would otherwise
   make. For SGD (no momentum: the cheapest kernel, so the wrapper's share is largest)
   and Adam it times, per call, at n = 1K and 16M:
     wrapper   trainopt_<kernel>: the dispatching wrapper (a pointer load, an indirect call)
     variant   trainopt__avx512_trainopt_<kernel>: the variant the wrapper calls, called directly
     static    the compile-time AVX-512 build of the same kernel
   Each figure is the best of several rounds (the minimum of round averages); the
   modes alternate within a round so that drift in the machine's load hits all three. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stddef.h>
#include <stdint.h>

#if defined(DISPATCH_STATIC_UNIT)
#include "trainopt.h"

int static_sgd(size_t n, float *p, const float *g);
int static_adam(size_t n, float *p, const float *g, float *m, float *v);
const char *static_backend(void);
int static_sgd(size_t n, float *p, const float *g) {
    trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
    return (int)trainopt_sgd_step(&c, 1, n, p, g, NULL);
}
int static_adam(size_t n, float *p, const float *g, float *m, float *v) {
    trainopt_adam_config c = TRAINOPT_ADAM_DEFAULTS;
    return (int)trainopt_adam_step(&c, 10, n, p, g, m, v, NULL);
}
const char *static_backend(void) { return trainopt_backend(); }

#else
#define TRAINOPT_DISPATCH
#include "trainopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

int static_sgd(size_t n, float *p, const float *g);
int static_adam(size_t n, float *p, const float *g, float *m, float *v);
const char *static_backend(void);

typedef struct {
    float *p, *g, *m, *v;
} arrays;

/* One call of a kernel in one mode: 0 wrapper, 1 variant called directly, 2 static build. */
static int call(int kernel, int mode, size_t n, const arrays *a) {
    trainopt_sgd_config sc = TRAINOPT_SGD_DEFAULTS;
    trainopt_adam_config ac = TRAINOPT_ADAM_DEFAULTS;
    if (kernel == 0) {
        if (mode == 0) return (int)trainopt_sgd_step(&sc, 1, n, a->p, a->g, NULL);
        if (mode == 1) return (int)trainopt__avx512_trainopt_sgd_step(&sc, 1, n, a->p, a->g, NULL);
        return static_sgd(n, a->p, a->g);
    }
    if (mode == 0) return (int)trainopt_adam_step(&ac, 10, n, a->p, a->g, a->m, a->v, NULL);
    if (mode == 1) return (int)trainopt__avx512_trainopt_adam_step(&ac, 10, n, a->p, a->g, a->m, a->v, NULL);
    return static_adam(n, a->p, a->g, a->m, a->v);
}

int main(void) {
    static const size_t sizes[2] = {1024, (size_t)16 << 20};
    static const char *const kernels[2] = {"sgd_step", "adam_step"};
    size_t s, i;
    int k, mode, round;
    if (strcmp(trainopt_backend(), "avx512") != 0 || strcmp(static_backend(), "avx512") != 0) {
        printf("needs an AVX-512 CPU and no TRAINOPT_MAX_BACKEND cap (dispatch chose %s)\n", trainopt_backend());
        return 1;
    }
    printf("# per-call time, best of rounds; dispatch chose %s\n", trainopt_backend());
    printf("%-10s %9s %12s %12s %12s %14s\n", "kernel", "n", "wrapper_ns", "variant_ns", "static_ns", "wrapper-variant");
    for (s = 0; s < 2; s++) {
        const size_t n = sizes[s];
        /* about 20 ms of work per round and mode at 1K; one call per round at 16M */
        const long calls = n <= 4096 ? 100000 : 1;
        const int rounds = n <= 4096 ? 15 : 7;
        arrays a;
        a.p = (float *)malloc(n * sizeof(float));
        a.g = (float *)malloc(n * sizeof(float));
        a.m = (float *)calloc(n, sizeof(float));
        a.v = (float *)calloc(n, sizeof(float));
        if (!a.p || !a.g || !a.m || !a.v) { printf("out of memory\n"); return 1; }
        for (i = 0; i < n; i++) {
            a.p[i] = (float)(i % 97) * 0.01f;
            a.g[i] = (float)(i % 89) * 1e-6f;
        }
        for (k = 0; k < 2; k++) {
            double best[3] = {1e30, 1e30, 1e30};
            for (mode = 0; mode < 3; mode++) call(k, mode, n, &a); /* warm caches and the choice */
            for (round = 0; round < rounds; round++)
                for (mode = 0; mode < 3; mode++) {
                    long c;
                    double t0 = bench_seconds(), per;
                    for (c = 0; c < calls; c++)
                        if (call(k, mode, n, &a) != 0) { printf("kernel error\n"); return 1; }
                    per = (bench_seconds() - t0) / (double)calls * 1e9;
                    if (per < best[mode]) best[mode] = per;
                }
            printf("%-10s %9zu %12.1f %12.1f %12.1f %14.2f\n", kernels[k], n, best[0], best[1], best[2], best[0] - best[1]);
        }
        free(a.p); free(a.g); free(a.m); free(a.v);
    }
    return 0;
}
#endif
