/* bench/deepspeed_peer.cc - trainopt's AdamW beside DeepSpeed's CPU Adam (the kernel of
   ZeRO-Offload, Adam_Optimizer::Step_AVX in csrc/includes/cpu_adam.h), on the paths both have:
   fp32 parameters and states; bf16 or fp16 parameters and gradients with fp32 states; bf16
   everything. trainopt runs trainopt_adamw_step (fp32) or trainopt_adamw_step_mp (nearest
   rounding: DeepSpeed's), at 1M and 16M elements, on one thread and on two, in the same run;
   every figure is the median of REPS timed steps. Exactness: from the same arrays, one step of
   each, and the count of parameters whose bits differ (trainopt's fp32 AdamW is PyTorch's,
   tests/test_optim.c; its _mp steps are that step on the widened values, rounded once,
   tests/test_mixed.c).

   DeepSpeed's code is not part of trainopt: this file includes cpu_adam.h from a checkout the
   build is pointed at (make -C bench deepspeed DEEPSPEED=/path/to/DeepSpeed), compiled with the
   flags of DeepSpeed's op builder (-O3 -march=native -fopenmp -D__AVX512__ or -D__AVX256__).
   The PyTorch types it names are stubbed in bench/deepspeed_stub/ (c10::Half, c10::BFloat16:
   16-bit element types whose bits the kernel converts itself; torch::Tensor: declared only).
   Two threads: DeepSpeed's own OpenMP loop; trainopt's fp32 step through its threading hook
   (trainopt_adamw_step_multi with trainopt_omp_parallel_for); the _mp steps have no multi form
   yet, and as they give the same bits cut anywhere, each of two OpenMP threads steps one half,
   as a caller would. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_STATIC
#include "trainopt.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cpu_adam.h" /* DeepSpeed's, from $(DEEPSPEED)/csrc/includes */

#define REPS 9
#define SPAN 8 /* DeepSpeed's invoker runs Step_8: Step_AVX<8>, then narrower spans for the tail */

enum path { PATH_F32, PATH_BF16, PATH_F16, PATH_BF16_STATES, PATHS };
static const char *const path_names[PATHS] = {
    "fp32 param+grad, fp32 states", "bf16 param+grad, fp32 states", "fp16 param+grad, fp32 states",
    "bf16 param+grad, bf16 states"};

/* One path's arrays: p and g of the parameters' type, m and v of the states'. */
struct arrays {
    size_t n;
    void *p, *g, *m, *v;
};

static const float LR = 1e-3f, BETA1 = 0.9f, BETA2 = 0.999f, EPS = 1e-8f, WD = 0.01f; /* AdamW's defaults */

static size_t param_bytes(int path) { return path == PATH_F32 ? 4 : 2; }
static size_t state_bytes(int path) { return path == PATH_BF16_STATES ? 2 : 4; }
static trainopt_dtype param_dtype(int path) {
    return path == PATH_F32 ? TRAINOPT_F32 : path == PATH_F16 ? TRAINOPT_F16 : TRAINOPT_BF16;
}

static void *alloc_aligned(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64)) exit(2); /* DeepSpeed stores fp16 with aligned stores */
    return p;
}

/* Arrays of the path's types from fixed fp32 values (the same for every path). */
static arrays make_arrays(int path, size_t n) {
    arrays a;
    float *f = (float *)alloc_aligned(n * 4);
    void **dst[4] = {&a.p, &a.g, &a.m, &a.v};
    a.n = n;
    for (int k = 0; k < 4; k++) {
        const trainopt_dtype t = k < 2 ? param_dtype(path) : path == PATH_BF16_STATES ? TRAINOPT_BF16 : TRAINOPT_F32;
        for (size_t i = 0; i < n; i++) {
            const float u = (float)((i * 2654435761u + (size_t)k * 40503u) % 2001u) / 1000.0f - 1.0f; /* in [-1, 1] */
            f[i] = k == 3 ? 1e-4f * (u + 1.0f) : k == 2 ? 0.01f * u : u;
        }
        *dst[k] = alloc_aligned(n * (k < 2 ? param_bytes(path) : state_bytes(path)));
        if (trainopt_convert(n, f, TRAINOPT_F32, *dst[k], t, TRAINOPT_ROUND_NEAREST, 0, 0) != TRAINOPT_OK) exit(2);
    }
    free(f);
    return a;
}
static void free_arrays(arrays *a) {
    free(a->p), free(a->g), free(a->m), free(a->v);
}

/* ---- trainopt ---- */

static void trainopt_piece(int path, int64_t step, const arrays *a, size_t from, size_t count) {
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    const size_t pb = param_bytes(path), sb = state_bytes(path);
    char *p = (char *)a->p + from * pb, *g = (char *)a->g + from * pb;
    char *m = (char *)a->m + from * sb, *v = (char *)a->v + from * sb;
    trainopt_status s;
    if (path == PATH_F32) {
        s = trainopt_adamw_step(&c, step, count, (float *)p, (const float *)g, (float *)m, (float *)v, NULL);
    } else {
        trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
        pr.param_dtype = pr.grad_dtype = param_dtype(path);
        pr.state_dtype = path == PATH_BF16_STATES ? TRAINOPT_BF16 : TRAINOPT_F32;
        s = trainopt_adamw_step_mp(&c, step, count, p, g, m, v, NULL, &pr, NULL);
    }
    if (s != TRAINOPT_OK) {
        fprintf(stderr, "deepspeed_peer: trainopt: %s\n", trainopt_last_error());
        exit(1);
    }
}

static void trainopt_step(int path, int64_t step, const arrays *a, int threads) {
    if (threads == 1) {
        trainopt_piece(path, step, a, 0, a->n);
        return;
    }
    if (path == PATH_F32) { /* the library's threading hook: the multi-tensor step on OpenMP */
        trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
        trainopt_tensor t = {(float *)a->p, (const float *)a->g, {(float *)a->m, (float *)a->v, NULL, NULL}, a->n};
        int count = threads;
        trainopt_threads pool = {trainopt_omp_parallel_for, &count};
        if (trainopt_adamw_step_multi(&c, step, 1, &t, NULL, &pool) != TRAINOPT_OK) exit(1);
        return;
    }
    const size_t half = a->n / 2 / 64 * 64;
#pragma omp parallel for num_threads(2)
    for (int t = 0; t < 2; t++) trainopt_piece(path, step, a, t ? half : 0, t ? a->n - half : half);
}

/* ---- DeepSpeed ---- */

template <typename P, typename S>
static void deepspeed_typed(Adam_Optimizer &opt, const arrays *a, bool parallel) {
    size_t rounded = 0;
    opt.Step_AVX<SPAN>(&rounded, (P *)a->p, (P *)a->g, (S *)a->m, (S *)a->v, a->n, parallel);
    if (rounded != a->n) {
        fprintf(stderr, "deepspeed_peer: Step_AVX left %zu elements (n must be a multiple of %d)\n", a->n - rounded,
                SIMD_WIDTH * SPAN);
        exit(1);
    }
}

static void deepspeed_step(Adam_Optimizer &opt, int path, int64_t step, const arrays *a, int threads) {
    opt.IncrementStep((size_t)step, BETA1, BETA2);
    opt.update_state(LR, EPS, WD, true);
    omp_set_num_threads(threads);
    const bool parallel = threads > 1;
    switch (path) {
    case PATH_F32: deepspeed_typed<float, float>(opt, a, parallel); break;
    case PATH_BF16: deepspeed_typed<c10::BFloat16, float>(opt, a, parallel); break;
    case PATH_F16: deepspeed_typed<c10::Half, float>(opt, a, parallel); break;
    default: deepspeed_typed<c10::BFloat16, c10::BFloat16>(opt, a, parallel); break;
    }
}

/* ---- timing and exactness ---- */

/* Median ns per element of REPS steps of each side, the two sides taking turns step by step so
   that both see the same load on a shared machine (after one warm step each). */
static void time_sides(int path, arrays *a, int threads, double *trainopt_ns, double *deepspeed_ns) {
    Adam_Optimizer opt(LR, BETA1, BETA2, EPS, WD, true);
    double t[2][REPS];
    const int calls = a->n < 4000000 ? 8 : 1;
    int64_t step = 1;
    for (int rep = -1; rep < REPS; rep++)
        for (int side = 0; side < 2; side++) {
            const double t0 = bench_seconds();
            for (int k = 0; k < calls; k++) {
                if (side == 0) trainopt_step(path, step + k, a, threads);
                else deepspeed_step(opt, path, step + k, a, threads);
            }
            if (rep >= 0) t[side][rep] = (bench_seconds() - t0) / calls;
            if (side == 1) step += calls;
        }
    *trainopt_ns = bench_median(t[0], REPS) * 1e9 / (double)a->n;
    *deepspeed_ns = bench_median(t[1], REPS) * 1e9 / (double)a->n;
}

/* Parameters whose bits differ after one step of each side from the same arrays. */
static size_t differing_params(int path, size_t n) {
    arrays x = make_arrays(path, n), y = make_arrays(path, n);
    Adam_Optimizer opt(LR, BETA1, BETA2, EPS, WD, true);
    size_t differ = 0;
    trainopt_step(path, 1, &x, 1);
    deepspeed_step(opt, path, 1, &y, 1);
    for (size_t i = 0; i < n; i++)
        differ += memcmp((char *)x.p + i * param_bytes(path), (char *)y.p + i * param_bytes(path), param_bytes(path)) != 0;
    free_arrays(&x), free_arrays(&y);
    return differ;
}

int main(int argc, char **argv) {
    static const size_t default_sizes[] = {1u << 20, 1u << 24};
    /* sizes on the command line replace the defaults (issue 20's 100M: 100663296) */
    size_t sizes[8], count = 0;
    for (int i = 1; i < argc && count < 8; i++) sizes[count++] = (size_t)strtoull(argv[i], NULL, 10);
    if (count == 0)
        for (size_t i = 0; i < 2; i++) sizes[count++] = default_sizes[i];
    printf("trainopt (%s backend) AdamW beside DeepSpeed's CPU Adam (Step_AVX<%d>, %d-lane), median of %d steps\n",
           trainopt_backend(), SPAN, SIMD_WIDTH, REPS);
    printf("%-10s %-7s %-30s %11s %11s %10s %14s\n", "n", "threads", "path", "trainopt", "DeepSpeed", "speed",
           "params differ");
    printf("%-10s %-7s %-30s %11s %11s %10s %14s\n", "", "", "", "ns/elem", "ns/elem", "tro/ds", "after 1 step");
    for (size_t si = 0; si < count; si++)
        for (int threads = 1; threads <= 2; threads++)
            for (int path = 0; path < PATHS; path++) {
                arrays a = make_arrays(path, sizes[si]);
                double tro, ds;
                time_sides(path, &a, threads, &tro, &ds);
                free_arrays(&a);
                printf("%-10zu %-7d %-30s %11.3f %11.3f %9.2fx", sizes[si], threads, path_names[path], tro, ds, ds / tro);
                if (threads == 1) printf(" %7.2f%% of n", 100.0 * (double)differing_params(path, sizes[si]) / (double)sizes[si]);
                printf("\n");
                fflush(stdout);
            }
    return 0;
}
