/* bench/gn_bn_mt.c - the threaded group norm and batch norm (issue 19): forward and backward, and
   batch norm's inference pass, on 32 x 256 x 56 x 56 NCHW floats (103 MB per array), the
   unthreaded call beside the _mt call on OpenMP's hook at 1 and 2 threads; median of 7 calls.
   `gn_bn_mt infer` runs the inference pass alone. Build and run by hand (see RESULTS.md,
   "Threaded group norm and batch norm" and "Threaded batch norm inference"). */
#define _POSIX_C_SOURCE 199309L
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_STATIC
#include "trainopt.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
#define R 7
int main(int argc, char **argv) {
    const trainopt_bn_shape s = {32, 256, 56 * 56, TRAINOPT_NCHW}; /* 25.7M floats */
    const size_t total = 32u * 256u * 3136u;
    trainopt_norm_config nc = TRAINOPT_NORM_DEFAULTS;
    trainopt_bn_config bc = TRAINOPT_BN_DEFAULTS;
    int two = 2, one = 1, k, r, t;
    float *x = malloc(total * 4), *dy = malloc(total * 4), *y = malloc(total * 4), *dx = malloc(total * 4);
    float st[2048], st2[2048], w[256], dw[256], db[256], rm[256], rv[256];
    const char *names[5] = {"groupnorm fwd", "groupnorm bwd", "batchnorm fwd", "batchnorm bwd", "batchnorm infer"};
    size_t i;
    for (i = 0; i < total; i++) x[i] = (float)(i % 1013) * 1e-3f, dy[i] = (float)(i % 17) - 8.0f, y[i] = dx[i] = 0.0f;
    for (i = 0; i < 256; i++) w[i] = 1.0f, rm[i] = 0.0f, rv[i] = 1.0f;
    for (k = argc > 1 && strcmp(argv[1], "infer") == 0 ? 4 : 0; k < 5; k++) {
        double med[3];
        for (t = 0; t < 3; t++) {
            double tm[R];
            trainopt_threads th = {trainopt_omp_parallel_for, t == 1 ? &one : &two};
            const trainopt_threads *p = t == 0 ? NULL : &th;
            for (r = 0; r < R; r++) {
                double t0 = now();
                switch (k) {
                case 0: trainopt_groupnorm_forward_mt(&nc, s, 32, x, w, NULL, y, st, st2, p); break;
                case 1: trainopt_groupnorm_backward_mt(&nc, s, 32, x, dy, w, st, st2, dx, dw, db, p); break;
                case 2: trainopt_batchnorm_forward_train_mt(&bc, s, x, w, NULL, rm, rv, y, st, st2, p); break;
                case 3: trainopt_batchnorm_backward_mt(&bc, s, x, dy, w, st, st2, NULL, dx, dw, db, p); break;
                default: trainopt_batchnorm_forward_infer_mt(&bc, s, x, w, NULL, rm, rv, y, p); break;
                }
                tm[r] = now() - t0;
            }
            qsort(tm, R, sizeof tm[0], cmp);
            med[t] = tm[R / 2];
        }
        printf("%-14s unthreaded %.1f ms, _mt 1 thread %.1f ms, _mt 2 threads %.1f ms (%.2fx)\n", names[k], med[0] * 1e3,
               med[1] * 1e3, med[2] * 1e3, med[0] / med[2]);
    }
    return 0;
}
