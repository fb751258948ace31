/* bench/bench.h - what the benchmark translation units share: the table
   format through which each one hands its benchmarks to main.c, the
   configurations every implementation of a kernel runs with, and the bytes
   each kernel must move per element (the same-traffic kernel's traffic).

   The configurations are the ones torch_peer.py uses for PyTorch, so that
   every row of a table does the same work. */
#ifndef TOB_BENCH_H
#define TOB_BENCH_H

#include "tob.h"

/* One benchmark a translation unit offers: registered as "<kernel>/<impl>/<size>". */
typedef struct {
    const char *kernel; /* "adam", "batchnorm_fwd", ... (NULL ends a table) */
    const char *impl;   /* "avx512", "naive-O3-native", "roofline", ... */
    tob_fn fn;
    const void *arg;
    const int64_t *sizes;
    unsigned opts;      /* TOB_REAL_TIME, TOB_THREADS, TOB_NEEDS_* */
} tob_entry;
#define TOB_THREADS 0x100u      /* registered for sizes x tob_threads_list, wall time */
#define TOB_NEEDS_AVX2 0x200u   /* skipped unless the CPU has AVX2 and FMA */
#define TOB_NEEDS_AVX512 0x400u /* skipped unless the CPU has AVX-512F */
extern const int64_t tob_threads_list[]; /* 1, 2 */
extern const int64_t tob_sizes_mt[];     /* 64M */

#define TOB_CAT2(a, b) a##_##b
#define TOB_CAT(a, b) TOB_CAT2(a, b)

/* ---- optimizers ------------------------------------------------------------
   PyTorch's defaults, and the states a long run reaches (step 100, momentum in
   use). Each naive loop is written for exactly this configuration, as a user
   would write it: per-step scalars once, then one loop with the same
   operations trainopt performs (one sqrt and one division per element). */
#define TOB_STEP 100
#define TOB_SGD_LR 1e-2
#define TOB_SGD_MOMENTUM 0.9
#define TOB_ADAGRAD_LR 1e-2
#define TOB_ADAGRAD_EPS 1e-10
#define TOB_RMSPROP_LR 1e-2
#define TOB_RMSPROP_ALPHA 0.99
#define TOB_RMSPROP_EPS 1e-8
#define TOB_ADAM_LR 1e-3
#define TOB_ADAM_BETA1 0.9
#define TOB_ADAM_BETA2 0.999
#define TOB_ADAM_EPS 1e-8
#define TOB_ADAMW_WD 1e-2

/* Bytes read + written per element; every written array is also read, so
   there is no write-allocate traffic beyond this. */
#define TOB_BYTES_SGD 20.0     /* p, g, buf read; p, buf written */
#define TOB_BYTES_ADAGRAD 20.0 /* p, g, sum / p, sum */
#define TOB_BYTES_RMSPROP 20.0 /* p, g, square_avg / p, square_avg */
#define TOB_BYTES_ADAM 28.0    /* p, g, m, v / p, m, v */
#define TOB_BYTES_AMSGRAD 36.0 /* p, g, m, v, vmax / p, m, v, vmax */

/* The naive loops: one table per compiler-flag variant (naive_optim.c). */
typedef struct {
    void (*sgd)(size_t n, float *p, const float *g, float *buf, float lr, float momentum);
    void (*adagrad)(size_t n, float *p, const float *g, float *sum, float lr, float eps);
    void (*rmsprop)(size_t n, float *p, const float *g, float *sq, float lr, float alpha, float eps);
    void (*adam)(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                 int step);
    void (*adamw)(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                  float wd, int step);
    void (*amsgrad)(size_t n, float *p, const float *g, float *m, float *v, float *vmax, float lr, float b1, float b2,
                    float eps, int step);
} tob_naive_optim;

/* Same-traffic kernels and STREAM (roofline.c, compiled -O3 -march=native). */
void tob_rw3_2(size_t n, float *a0, const float *a1, float *a2);
void tob_rw4_3(size_t n, float *a0, const float *a1, float *a2, float *a3);
void tob_rw5_4(size_t n, float *a0, const float *a1, float *a2, float *a3, float *a4);
void tob_stream_copy(size_t n, float *a, const float *b);
void tob_stream_triad(size_t n, float *a, const float *b, const float *c, float q);

#endif /* TOB_BENCH_H */
