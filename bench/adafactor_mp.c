/* bench/adafactor_mp.c - trainopt_adafactor_step_mp against the fp32
   trainopt_adafactor_step_ex on the same parameter, and AdamW (_ex and _mp) as the peer,
   alternated in one run: CPU time of the thread, medians of REPS calls per kernel.
   One backend per build (the flags choose it):
     cc -O2 -mavx512f -mavx2 -mfma -Ibench -I. bench/adafactor_mp.c -o /tmp/af_mp -lm
     flock /work/bench.lock taskset -c 1 /tmp/af_mp [rows cols]
   Rows: fp32 (_ex); fp32 master + bf16 grad + bf16 copy; bf16 param (stochastic) + bf16
   grad; bf16 Kahan + bf16 grad; then the 1-D step (unfactored) with fp32 and bf16
   variance; AdamW _ex, and _mp with bf16 param, grad and states. */
#define _POSIX_C_SOURCE 199309L
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_STATIC
#include "trainopt.h"
#include "clock.h"

#include <stdio.h>
#include <string.h>

enum { REPS = 7, KINDS = 8 };

static const char *const names[KINDS] = {
    "adafactor fp32 (_ex)",         "adafactor f32 master+bf16 grad+bf16 copy", "adafactor bf16 stochastic, bf16 grad",
    "adafactor bf16 kahan, bf16 grad", "adafactor 1-D fp32 (_ex)",               "adafactor 1-D bf16 p/g/variance",
    "adamw fp32 (_ex)",             "adamw bf16 p/g/states (_mp)"};

int main(int argc, char **argv) {
    const size_t rows = argc > 2 ? (size_t)atol(argv[1]) : 4096, cols = argc > 2 ? (size_t)atol(argv[2]) : 4096;
    const size_t n = rows * cols;
    float *p = (float *)malloc(n * 4), *g = (float *)malloc(n * 4), *m = (float *)calloc(n, 4), *v = (float *)calloc(n, 4);
    float *row = (float *)calloc(rows, 4), *col = (float *)calloc(cols, 4);
    uint16_t *pb = (uint16_t *)malloc(n * 2), *gb = (uint16_t *)malloc(n * 2), *aux = (uint16_t *)calloc(n, 2);
    uint16_t *mb = (uint16_t *)calloc(n, 2), *vb = (uint16_t *)calloc(n, 2), *copy = (uint16_t *)malloc(n * 2);
    double t[KINDS][REPS];
    const trainopt_adafactor_config af = TRAINOPT_ADAFACTOR_DEFAULTS;
    const trainopt_adam_config aw = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t i;
    int r, k;
    uint64_t seed = 1;
    for (i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (float)(seed >> 40) / 16777216.0f - 0.5f;
        g[i] = (float)((seed >> 16) & 0xffffff) / 16777216.0f - 0.5f;
    }
    trainopt_convert(n, p, TRAINOPT_F32, pb, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0);
    trainopt_convert(n, g, TRAINOPT_F32, gb, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0);
    for (r = 0; r < REPS; r++)
        for (k = 0; k < KINDS; k++) {
            trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
            const int64_t step = 2 + r;
            trainopt_status st = TRAINOPT_OK;
            double t0;
            pr.grad_dtype = TRAINOPT_BF16, pr.seed = 5;
            if (k == 1) pr.copy = copy, pr.copy_dtype = TRAINOPT_BF16;
            if (k == 2 || k == 3 || k == 5 || k == 7) pr.param_dtype = TRAINOPT_BF16;
            if (k == 2) pr.param_mode = TRAINOPT_PARAM_STOCHASTIC;
            if (k == 3) pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.param_aux = aux;
            if (k == 5 || k == 7) pr.state_dtype = TRAINOPT_BF16;
            t0 = bench_thread_seconds();
            switch (k) {
            case 0: st = trainopt_adafactor_step_ex(&af, step, rows, cols, p, g, row, col, NULL, &o); break;
            case 1: st = trainopt_adafactor_step_mp(&af, step, rows, cols, p, gb, row, col, NULL, &pr, &o); break;
            case 2:
            case 3: st = trainopt_adafactor_step_mp(&af, step, rows, cols, pb, gb, row, col, NULL, &pr, &o); break;
            case 4: st = trainopt_adafactor_step_ex(&af, step, 1, n, p, g, NULL, NULL, v, &o); break;
            case 5: st = trainopt_adafactor_step_mp(&af, step, 1, n, pb, gb, NULL, NULL, vb, &pr, &o); break;
            case 6: st = trainopt_adamw_step_ex(&aw, step, n, p, g, m, v, NULL, &o); break;
            default: st = trainopt_adamw_step_mp(&aw, step, n, pb, gb, mb, vb, NULL, &pr, &o); break;
            }
            t[k][r] = bench_thread_seconds() - t0;
            if (st != TRAINOPT_OK) {
                fprintf(stderr, "%s: %s\n", names[k], trainopt_last_error());
                return 1;
            }
        }
    printf("[%zu][%zu], backend %s, CPU ms (median of %d, alternated), and / the fp32 step of the same shape, / AdamW _ex\n",
           rows, cols, trainopt_backend(), REPS);
    {
        double med[KINDS];
        for (k = 0; k < KINDS; k++) med[k] = bench_median(t[k], REPS);
        for (k = 0; k < KINDS; k++)
            printf("  %-42s %8.2f ms  %5.2fx  %5.2fx\n", names[k], 1e3 * med[k], med[k] / med[k < 4 ? 0 : k < 6 ? 4 : 6],
                   med[k] / med[6]);
    }
    free(p), free(g), free(m), free(v), free(row), free(col), free(pb), free(gb), free(aux), free(mb), free(vb), free(copy);
    return 0;
}
