/* bench/dropout_ab.c - dropout forward of two builds of trainopt (before and after a
   change) against the same-traffic kernel (bench/roofline.c's tob_rw_bits), in one
   process: ns/element (CPU time of the thread), median of REPS timings of 3 calls
   (at n < 4M, 2^26 / n calls), the three alternating rep by rep, each call at a fresh
   offset. Checks first that both builds give the same y and mask. One file in three
   roles; build and run from the top directory (issue 22's measurement; OLD is a
   directory holding the other trainopt.h and trainopt_simd.h):
     gcc -O2 -march=native -Ibench -I. -c bench/roofline.c -o /tmp/roof.o
     gcc -O2 -mavx512f -mavx2 -mfma -DTRAINOPT_STATIC -DDROPOUT_AB_BUILD=old -I$OLD -c bench/dropout_ab.c -o /tmp/old.o
     gcc -O2 -mavx512f -mavx2 -mfma -DTRAINOPT_STATIC -DDROPOUT_AB_BUILD=new -I. -c bench/dropout_ab.c -o /tmp/new.o
     gcc -O2 -Ibench -c bench/dropout_ab.c -o /tmp/main.o
     gcc /tmp/main.o /tmp/old.o /tmp/new.o /tmp/roof.o -o /tmp/dropout_ab -lm
     flock /work/bench.lock taskset -c 1 /tmp/dropout_ab [n [REPS]]
   (-mavx2 -mfma -DTRAINOPT_NO_AVX512 in both builds for avx2.) */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>

#define DROPOUT_AB_CAT2(a, b) a##b
#define DROPOUT_AB_CAT(a, b) DROPOUT_AB_CAT2(a, b)

#ifdef DROPOUT_AB_BUILD
#include "trainopt.h"
int DROPOUT_AB_CAT(dropout_ab_, DROPOUT_AB_BUILD)(uint64_t offset, size_t n, const float *x, float *y, uint8_t *mask);
int DROPOUT_AB_CAT(dropout_ab_, DROPOUT_AB_BUILD)(uint64_t offset, size_t n, const float *x, float *y, uint8_t *mask) {
    return (int)trainopt_dropout_forward(0.5, 1234, offset, n, x, y, mask);
}
#else
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
void tob_rw_bits(size_t n, const float *x, float *y, uint8_t *mask);
int dropout_ab_old(uint64_t offset, size_t n, const float *x, float *y, uint8_t *mask);
int dropout_ab_new(uint64_t offset, size_t n, const float *x, float *y, uint8_t *mask);

int main(int argc, char **argv) {
    const size_t n = argc > 1 ? (size_t)atol(argv[1]) : (size_t)1 << 24;
    const int reps = argc > 2 && atoi(argv[2]) > 0 && atoi(argv[2]) <= 64 ? atoi(argv[2]) : 11;
    const int calls = n >= ((size_t)1 << 22) ? 3 : (int)(((size_t)1 << 26) / (n ? n : 1));
    float *x = (float *)aligned_alloc(64, (n * 4 + 63) / 64 * 64), *y = (float *)aligned_alloc(64, (n * 4 + 63) / 64 * 64);
    float *y2 = (float *)aligned_alloc(64, (n * 4 + 63) / 64 * 64);
    uint8_t *m = (uint8_t *)malloc(n / 8 + 1), *m2 = (uint8_t *)malloc(n / 8 + 1);
    double t[3][64];
    uint64_t offset = 0;
    size_t i;
    int r, v, c;
    if (!n || !x || !y || !y2 || !m || !m2) return 1;
    for (i = 0; i < n; i++) x[i] = (float)(i % 1000) * 0.001f - 0.5f;
    memset(y, 0, n * 4);
    dropout_ab_old(77, n, x, y, m);
    dropout_ab_new(77, n, x, y2, m2);
    if (memcmp(y, y2, n * 4) || memcmp(m, m2, (n + 7) / 8)) {
        printf("the two builds differ\n");
        return 1;
    }
    for (r = 0; r < reps; r++)
        for (v = 0; v < 3; v++) {
            const double t0 = bench_thread_seconds();
            for (c = 0; c < calls; c++) {
                offset += n;
                if (v == 0) dropout_ab_old(offset, n, x, y, m);
                else if (v == 1) dropout_ab_new(offset, n, x, y, m);
                else tob_rw_bits(n, x, y, m);
            }
            t[v][r] = (bench_thread_seconds() - t0) / calls / (double)n * 1e9;
        }
    {
        const double a = bench_median(t[0], reps), b = bench_median(t[1], reps), s = bench_median(t[2], reps);
        printf("n=%zu ns/element: old %.4f new %.4f same-traffic %.4f; share of same-traffic: old %.1f%% new %.1f%%; "
               "new/old speed %.3f\n",
               n, a, b, s, 100 * s / a, 100 * s / b, a / b);
    }
    return 0;
}
#endif
