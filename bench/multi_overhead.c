/* bench/multi_overhead.c - what a multi-tensor step costs per tensor beyond the math
   (issue 19): AdamW on K tensors of N elements each, as K trainopt_adamw_step calls,
   as one trainopt_adamw_step_multi without a hook, and as one on a serial hook (the
   pieces run in order on this thread: the hook's bookkeeping without threads). Small N
   makes the per-tensor work (validation, per-step scalars, the call) visible.
   Prints nanoseconds per tensor per step, medians of REPS; `how` (argument 4) runs one
   form alone, for instruction counts that a loaded machine does not disturb:
   bench/multi_overhead.sh counts them under callgrind (valgrind has no AVX-512: build
   with -mavx2 -mfma). Usage: multi_overhead [K [N [inner [how]]]]. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_STATIC
#include "trainopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"

#define REPS 31



static void serial_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    size_t i;
    (void)ctx;
    for (i = 0; i < count; i++) task(arg, i);
}

int main(int argc, char **argv) {
    const size_t K = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000, N = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
    const int inner = argc > 3 ? atoi(argv[3]) : 20, only = argc > 4 ? atoi(argv[4]) : -1;
    static const char *const names[3] = {"K adamw_step calls", "one adamw_step_multi", "one _multi, serial hook"};
    trainopt_tensor *t = (trainopt_tensor *)malloc(K * sizeof *t);
    float *block = (float *)calloc(K * N * 4, sizeof(float));
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    const trainopt_threads th = {serial_for, NULL};
    double r[3][REPS];
    int how, rep, j;
    size_t i;
    if (!t || !block || inner < 1) return 2;
    for (i = 0; i < K; i++) {
        t[i].param = block + i * N * 4, t[i].grad = t[i].param + N;
        t[i].state[0] = t[i].param + 2 * N, t[i].state[1] = t[i].param + 3 * N, t[i].state[2] = t[i].state[3] = NULL;
        t[i].n = N;
    }
    for (rep = -2; rep < REPS; rep++) /* two warm-ups; the forms alternate, so load hits each alike */
        for (how = 0; how < 3; how++) {
            double t0;
            if (only >= 0 && how != only) continue;
            t0 = bench_seconds();
            for (j = 0; j < inner; j++) {
                if (how == 0) {
                    for (i = 0; i < K; i++)
                        if (trainopt_adamw_step(&c, 5, N, t[i].param, t[i].grad, t[i].state[0], t[i].state[1], NULL))
                            return 1;
                } else if (trainopt_adamw_step_multi(&c, 5, K, t, NULL, how == 2 ? &th : NULL)) {
                    return 1;
                }
            }
            if (rep >= 0) r[how][rep] = (bench_seconds() - t0) / inner / (double)K * 1e9;
        }
    printf("AdamW, K = %zu tensors of N = %zu, backend %s: ns per tensor per step (median of %d)\n", K, N,
           trainopt_backend(), REPS);
    for (how = 0; how < 3; how++) {
        if (only >= 0 && how != only) continue;
        qsort(r[how], REPS, sizeof(double), bench_cmp_double);
        printf("  %-26s %8.1f\n", names[how], r[how][REPS / 2]);
    }
    free(t), free(block);
    return 0;
}
