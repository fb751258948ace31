/* bench/adafactor_ratio.c - trainopt_adafactor_step (factored) against trainopt_adamw_step
   on the same [rows][cols] parameter, warm: CPU time of the thread per call, the two
   steps alternated round by round (each round INNER calls of one, then of the other;
   INNER 50 in cache, 1 above 1M elements), medians of ROUNDS rounds, and their ratio.
   One backend per build (the flags choose it):
     cc -std=c99 -O2 -mavx512f -mavx2 -mfma -Ibench -I. bench/adafactor_ratio.c -o /tmp/af_ratio512 -lm
     cc -std=c99 -O2 -mavx2 -mfma -DTRAINOPT_NO_AVX512 -Ibench -I. bench/adafactor_ratio.c -o /tmp/af_ratio2 -lm
     flock /work/bench.lock taskset -c 1 /tmp/af_ratio512 [rows cols] */
#define _POSIX_C_SOURCE 199309L
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_STATIC
#include "trainopt.h"
#include "clock.h"

#include <stdio.h>

enum { ROUNDS = 15 };

int main(int argc, char **argv) {
    const size_t rows = argc > 2 ? (size_t)atol(argv[1]) : 16, cols = argc > 2 ? (size_t)atol(argv[2]) : 4096;
    const size_t n = rows * cols;
    const int inner = n <= ((size_t)1 << 20) ? 50 : 1;
    float *p = (float *)malloc(n * 4), *g = (float *)malloc(n * 4), *m = (float *)calloc(n, 4), *v = (float *)calloc(n, 4);
    float *row = (float *)calloc(rows, 4), *col = (float *)calloc(cols, 4);
    const trainopt_adafactor_config af = TRAINOPT_ADAFACTOR_DEFAULTS;
    const trainopt_adam_config aw = TRAINOPT_ADAMW_DEFAULTS;
    double t_af[ROUNDS], t_aw[ROUNDS], ratio[ROUNDS];
    uint64_t seed = 1;
    size_t i;
    int r, k;
    for (i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (float)(seed >> 40) / 16777216.0f - 0.5f;
        g[i] = (float)((seed >> 16) & 0xffffff) / 16777216.0f - 0.5f;
    }
    for (r = 0; r < ROUNDS; r++) {
        double t0 = bench_thread_seconds();
        for (k = 0; k < inner; k++)
            if (trainopt_adafactor_step(&af, 2 + r, rows, cols, p, g, row, col, NULL) != TRAINOPT_OK) {
                fprintf(stderr, "adafactor: %s\n", trainopt_last_error());
                return 1;
            }
        t_af[r] = (bench_thread_seconds() - t0) / inner;
        t0 = bench_thread_seconds();
        for (k = 0; k < inner; k++)
            if (trainopt_adamw_step(&aw, 2 + r, n, p, g, m, v, NULL) != TRAINOPT_OK) {
                fprintf(stderr, "adamw: %s\n", trainopt_last_error());
                return 1;
            }
        t_aw[r] = (bench_thread_seconds() - t0) / inner;
        ratio[r] = t_af[r] / t_aw[r];
    }
    printf("[%zu][%zu] %s: adafactor %.2f us, adamw %.2f us, adafactor / adamw %.2fx (medians of %d rounds of %d calls;"
           " median of the per-round ratios)\n",
           rows, cols, trainopt_backend(), 1e6 * bench_median(t_af, ROUNDS), 1e6 * bench_median(t_aw, ROUNDS),
           bench_median(ratio, ROUNDS), ROUNDS, inner);
    free(p), free(g), free(m), free(v), free(row), free(col);
    return 0;
}
