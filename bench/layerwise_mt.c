/* bench/layerwise_mt.c - LAMB and LARS on threads (issue 19): one step on a list of 8 tensors
   of 2M floats (64 MB per array list), the unthreaded call (trainopt_lamb_step_ex /
   trainopt_lars_step_ex) beside trainopt_lamb_step_mt / trainopt_lars_step_mt on OpenMP's hook
   at 1 and 2 threads. The three forms alternate within each repetition, so a change of the
   machine's load falls on all three; median of 9. Build and run by hand (see RESULTS.md,
   "LAMB and LARS on threads"):
     gcc -std=c99 -O2 -march=native -fopenmp -I. bench/layerwise_mt.c -o /tmp/layerwise_mt -lm
     flock /work/bench.lock taskset -c 0,1 /tmp/layerwise_mt */
#define _POSIX_C_SOURCE 199309L
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_STATIC
#include "trainopt.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define K 8
#define N ((size_t)2 << 20)
#define R 9

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static int cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    static const char *const forms[3] = {"unthreaded (_ex)", "_mt, 1 thread", "_mt, 2 threads"};
    float *params[K], *grads[K], *m[K], *v[K];
    size_t lens[K], i, t;
    int one = 1, two = 2, op, r, f;
    trainopt_lamb_config lamb = TRAINOPT_LAMB_DEFAULTS;
    trainopt_lars_config lars = TRAINOPT_LARS_DEFAULTS;
    trainopt_threads th1 = {trainopt_omp_parallel_for, NULL}, th2 = {trainopt_omp_parallel_for, NULL};
    th1.ctx = &one, th2.ctx = &two;
    lamb.lr = 1e-3, lars.lr = 0.1;
    for (t = 0; t < K; t++) {
        lens[t] = N;
        params[t] = malloc(N * sizeof(float)), grads[t] = malloc(N * sizeof(float));
        m[t] = malloc(N * sizeof(float)), v[t] = malloc(N * sizeof(float));
        if (!params[t] || !grads[t] || !m[t] || !v[t]) return 2;
        for (i = 0; i < N; i++) {
            params[t][i] = (float)((i * 7 + t) % 1013) * 1e-3f - 0.5f;
            grads[t][i] = (float)((i * 13 + t) % 977) * 1e-3f - 0.49f;
            m[t][i] = 0.0f, v[t][i] = 0.0f;
        }
    }
    printf("%s, %d tensors of %zu floats, median of %d\n", trainopt_backend(), K, N, R);
    for (op = 0; op < 2; op++) {
        double tm[3][R], med[3];
        int64_t step = 1;
        for (r = 0; r < R; r++)
            for (f = 0; f < 3; f++) {
                const trainopt_threads *th = f == 1 ? &th1 : &th2;
                trainopt_status st;
                double t0 = now();
                if (op == 0)
                    st = f == 0 ? trainopt_lamb_step_ex(&lamb, step, K, lens, params, (const float *const *)grads, m, v, NULL)
                                : trainopt_lamb_step_mt(&lamb, step, K, lens, params, (const float *const *)grads, m, v, NULL,
                                                        th);
                else
                    st = f == 0 ? trainopt_lars_step_ex(&lars, K, lens, params, (const float *const *)grads, m, NULL)
                                : trainopt_lars_step_mt(&lars, K, lens, params, (const float *const *)grads, m, NULL, th);
                tm[f][r] = now() - t0;
                step++;
                if (st != TRAINOPT_OK) {
                    fprintf(stderr, "refused: %s\n", trainopt_last_error());
                    return 1;
                }
            }
        for (f = 0; f < 3; f++) {
            qsort(tm[f], R, sizeof tm[f][0], cmp);
            med[f] = tm[f][R / 2];
        }
        for (f = 0; f < 3; f++)
            printf("%s %-18s %7.2f ms  (%.2fx the unthreaded call)\n", op ? "lars" : "lamb", forms[f], med[f] * 1e3,
                   med[0] / med[f]);
    }
    return 0;
}
