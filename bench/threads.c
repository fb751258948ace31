/* bench/threads.c - AdamW on a large array split over OpenMP threads, one
   trainopt call per thread on its own range (the kernels promise that
   disjoint ranges are independent and give the same bits as one call).
   OpenMP lives here, in the benchmark, never in the headers. Compiled per
   vector backend, like bench_optim.c. */
#include <omp.h>

#include "bench.h"
#include "trainopt.h"

#define TOB_EXPORT(x) TOB_CAT(x, TOB_BACKEND)

static void bm_adamw_mt(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    int t = tob_threads(s);
    float **a = tob_arrays(s, "adam", 4, n);
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    int failed = 0;
    (void)arg;
    if (!a) return;
    c.lr = TOB_ADAM_LR;
    c.weight_decay = TOB_ADAMW_WD;
    while (tob_loop(s)) {
#pragma omp parallel num_threads(t) reduction(| : failed)
        {
            size_t id = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
            size_t lo = n * id / nt, len = n * (id + 1) / nt - lo;
            failed |= trainopt_adamw_step(&c, TOB_STEP, len, a[0] + lo, a[1] + lo, a[2] + lo, a[3] + lo, NULL) !=
                      TRAINOPT_OK;
        }
        tob_clobber();
    }
    if (failed) tob_error(s, "trainopt_adamw_step failed");
    tob_rates(s, (double)n, TOB_BYTES_ADAM * (double)n);
}

/* trainopt_mse_loss_mt (loss and gradient) on OpenMP's team of t threads through the
   ready hook: the same bits at 1 and 2 threads, so the rows differ only in time. */
static const int64_t tob_sizes_mse_mt[] = {(int64_t)1 << 24, 0}; /* 16M: 192 MiB for its three arrays */

static void bm_mse_mt(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    int t = tob_threads(s);
    float **a = tob_arrays(s, "losses", 3, n);
    const trainopt_threads th = {trainopt_omp_parallel_for, &t};
    float loss;
    (void)arg;
    if (!a) return;
    if (trainopt_mse_loss_mt(n, a[0], a[1], &loss, a[2], &th) != TRAINOPT_OK) {
        tob_error(s, "trainopt_mse_loss_mt failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_mse_loss_mt(n, a[0], a[1], &loss, a[2], &th);
        tob_clobber();
    }
    tob_escape(&loss);
    tob_rates(s, (double)n, TOB_BYTES_MSE * (double)n);
}

const tob_entry TOB_EXPORT(tob_threads)[] = {
    {"adamw_mt", TRAINOPT_SIMD_NAME, bm_adamw_mt, NULL, tob_sizes_mt, TOB_THREADS},
    {"mse_mt", TRAINOPT_SIMD_NAME, bm_mse_mt, NULL, tob_sizes_mse_mt, TOB_THREADS},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
