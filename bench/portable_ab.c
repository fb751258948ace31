/* bench/portable_ab.c - the portable build's optimizers against the naive loops of
   bench/naive_optim.c built plain -O2, without Google Benchmark, so that two builds
   of trainopt (before and after a change to the scalar backend) can be timed in one
   run. ns/element (CPU time of the thread), median of REPS timings (200 calls each at 64K,
   3 at 16M; trainopt and the naive loop alternate). Build and run from the top
   directory (issue 22's measurement):
     gcc -O2 -DTOB_VARIANT=O2 -Ibench -c bench/naive_optim.c -o /tmp/naive_O2.o
     gcc -std=c99 -O2 -DTRAINOPT_STATIC -DTRAINOPT_NO_SIMD -Ibench -I. -c bench/portable_ab.c -o /tmp/ab.o
     gcc /tmp/ab.o /tmp/naive_O2.o -o /tmp/portable_ab -lm
     flock /work/bench.lock taskset -c 1 /tmp/portable_ab [REPS [optimizer index]]
   Without -DTRAINOPT_NO_SIMD the same commands build the sse2 backend (what baseline
   x86-64 gets); with -D'__builtin_cpu_supports(x)=0' added, either backend takes its
   emulated fma (the path of a CPU without FMA); clang in place of gcc for the first
   two compiles measures clang. */
#define _ISOC11_SOURCE
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "trainopt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
extern const tob_naive_optim tob_naive_optim_O2;
static void fill(float *a, int j, size_t n) {
    uint32_t x = 0x9e3779b9u * (uint32_t)(j + 1);
    size_t i;
    for (i = 0; i < n; i++) {
        float u;
        x = x * 1664525u + 1013904223u;
        u = (float)(x >> 8) * (1.0f / 16777216.0f);
        if (j == 1)
            a[i] = (x & 1u) ? -(0.01f + 0.99f * u) : 0.01f + 0.99f * u;
        else
            a[i] = 1e-3f + (1.0f - 1e-3f) * u;
    }
}
static float *A[5];
static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static void run(int k, int impl, size_t n) {
    const tob_naive_optim *nv = &tob_naive_optim_O2;
    trainopt_sgd_config sc = TRAINOPT_SGD_DEFAULTS;
    trainopt_adagrad_config ac = TRAINOPT_ADAGRAD_DEFAULTS;
    trainopt_rmsprop_config rc = TRAINOPT_RMSPROP_DEFAULTS;
    trainopt_adam_config dc = TRAINOPT_ADAM_DEFAULTS;
    sc.lr = TOB_SGD_LR;
    sc.momentum = TOB_SGD_MOMENTUM;
    ac.lr = TOB_ADAGRAD_LR;
    ac.eps = TOB_ADAGRAD_EPS;
    rc.lr = TOB_RMSPROP_LR;
    rc.alpha = TOB_RMSPROP_ALPHA;
    rc.eps = TOB_RMSPROP_EPS;
    dc.lr = TOB_ADAM_LR;
    dc.beta1 = TOB_ADAM_BETA1;
    dc.beta2 = TOB_ADAM_BETA2;
    dc.eps = TOB_ADAM_EPS;
    if (k == 4)
        dc.weight_decay = TOB_ADAMW_WD;
    if (k == 5)
        dc.amsgrad = 1;
    switch (k * 2 + impl) {
    case 0:
        trainopt_sgd_step(&sc, TOB_STEP, n, A[0], A[1], A[2]);
        break;
    case 1:
        nv->sgd(n, A[0], A[1], A[2], TOB_SGD_LR, TOB_SGD_MOMENTUM);
        break;
    case 2:
        trainopt_adagrad_step(&ac, TOB_STEP, n, A[0], A[1], A[2]);
        break;
    case 3:
        nv->adagrad(n, A[0], A[1], A[2], TOB_ADAGRAD_LR, TOB_ADAGRAD_EPS);
        break;
    case 4:
        trainopt_rmsprop_step(&rc, TOB_STEP, n, A[0], A[1], A[2], NULL, NULL);
        break;
    case 5:
        nv->rmsprop(n, A[0], A[1], A[2], TOB_RMSPROP_LR, TOB_RMSPROP_ALPHA, TOB_RMSPROP_EPS);
        break;
    case 6:
        trainopt_adam_step(&dc, TOB_STEP, n, A[0], A[1], A[2], A[3], NULL);
        break;
    case 7:
        nv->adam(n, A[0], A[1], A[2], A[3], TOB_ADAM_LR, TOB_ADAM_BETA1, TOB_ADAM_BETA2, TOB_ADAM_EPS, TOB_STEP);
        break;
    case 8:
        trainopt_adamw_step(&dc, TOB_STEP, n, A[0], A[1], A[2], A[3], NULL);
        break;
    case 9:
        nv->adamw(n, A[0], A[1], A[2], A[3], TOB_ADAM_LR, TOB_ADAM_BETA1, TOB_ADAM_BETA2, TOB_ADAM_EPS, TOB_ADAMW_WD,
                  TOB_STEP);
        break;
    case 10:
        trainopt_adam_step(&dc, TOB_STEP, n, A[0], A[1], A[2], A[3], A[4]);
        break;
    case 11:
        nv->amsgrad(n, A[0], A[1], A[2], A[3], A[4], TOB_ADAM_LR, TOB_ADAM_BETA1, TOB_ADAM_BETA2, TOB_ADAM_EPS,
                    TOB_STEP);
        break;
    }
}
int main(int argc, char **argv) {
    static const char *names[6] = {"sgd", "adagrad", "rmsprop", "adam", "adamw", "amsgrad"};
    size_t sizes[2] = {65536, 16777216};
    int si, k, impl, r, j, reps = argc > 1 ? atoi(argv[1]) : 7;
    for (si = 0; si < 2; si++) {
        size_t n = sizes[si];
        for (j = 0; j < 5; j++) {
            A[j] = aligned_alloc(4096, n * 4);
        }
        for (k = 0; k < 6; k++) {
            if (argc > 2 && k != atoi(argv[2]))
                continue;
            double med[2];
            for (j = 0; j < 5; j++)
                fill(A[j], j, n);
            {
                /* the two alternate, rep by rep, so that both see the same machine */
                double t[2][64];
                int it = si ? 3 : 200;
                run(k, 0, n);
                run(k, 1, n);
                for (r = 0; r < reps; r++)
                    for (impl = 0; impl < 2; impl++) {
                        double t0 = bench_thread_seconds();
                        int q;
                        for (q = 0; q < it; q++)
                            run(k, impl, n);
                        t[impl][r] = (bench_thread_seconds() - t0) / it / n * 1e9;
                    }
                for (impl = 0; impl < 2; impl++) {
                    qsort(t[impl], reps, sizeof t[impl][0], cmpd);
                    med[impl] = t[impl][reps / 2];
                }
            }
            printf("%-8s %9zu  %s %.3f ns/el  naive-O2 %.3f ns/el  ratio(naive/trainopt) %.2f\n", names[k], n,
                   trainopt_backend(), med[0], med[1], med[1] / med[0]);
        }
        for (j = 0; j < 5; j++)
            free(A[j]);
    }
    return 0;
}
