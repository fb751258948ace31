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

/* Issue 16's optimizers, PyTorch's (optax's for Lion) defaults at step 100. */
#define TOB_NADAM_LR 2e-3
#define TOB_NADAM_MOMENTUM_DECAY 4e-3
#define TOB_RADAM_LR 1e-3
#define TOB_ADAMAX_LR 2e-3
#define TOB_ADADELTA_LR 1.0
#define TOB_ADADELTA_RHO 0.9
#define TOB_ADADELTA_EPS 1e-6
#define TOB_LION_LR 1e-4
#define TOB_LION_BETA1 0.9
#define TOB_LION_BETA2 0.99
#define TOB_LION_WD 1e-3
#define TOB_BYTES_LION 20.0 /* p, g, m / p, m; NAdam, RAdam, Adamax, Adadelta move TOB_BYTES_ADAM */

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
    /* issue 16 (betas and eps are Adam's) */
    void (*nadam)(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                  float momentum_decay, double mu_product, int step);
    void (*radam)(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                  int step);
    void (*adamax)(size_t n, float *p, const float *g, float *m, float *u, float lr, float b1, float b2, float eps,
                   int step);
    void (*adadelta)(size_t n, float *p, const float *g, float *v, float *acc, float lr, float rho, float eps);
    void (*lion)(size_t n, float *p, const float *g, float *m, float lr, float b1, float b2, float wd);
} tob_naive_optim;

/* ---- batch normalization ------------------------------------------------------
   N = 32 images, C = 64 channels, spatial = n / (N*C): 64K, 1M and 16M
   elements (spatial 32, 512, 8192), NCHW and NHWC; eps 1e-5, momentum 0.1.
   Bytes per element: x read twice (statistics, then normalization: a 16M
   batch does not fit in cache) and y written; backward reads x and dy twice
   (sums, then dx) and writes dx; inference reads x once and writes y. */
#define TOB_BN_N 32
#define TOB_BN_C 64
#define TOB_BN_EPS 1e-5
#define TOB_BN_MOMENTUM 0.1
#define TOB_BYTES_BN_FWD 12.0
#define TOB_BYTES_BN_INFER 8.0
#define TOB_BYTES_BN_BWD 20.0
extern const int64_t tob_sizes_bn[]; /* 64K, 1M, 16M */

typedef struct {
    /* Training forward: the textbook three passes per channel (mean, variance
       about the mean, normalize), float sums, as a user writes it. */
    void (*fwd_nchw)(size_t N, size_t C, size_t S, const float *x, const float *gamma, const float *beta, float *rm,
                     float *rv, float *y, float *save_mean, float *save_invstd, float eps, float momentum);
    void (*fwd_nhwc)(size_t N, size_t C, size_t S, const float *x, const float *gamma, const float *beta, float *rm,
                     float *rv, float *y, float *save_mean, float *save_invstd, float eps, float momentum);
    void (*infer_nchw)(size_t N, size_t C, size_t S, const float *x, const float *gamma, const float *beta,
                       const float *rm, const float *rv, float *y, float eps);
    void (*infer_nhwc)(size_t N, size_t C, size_t S, const float *x, const float *gamma, const float *beta,
                       const float *rm, const float *rv, float *y, float eps);
    void (*bwd_nchw)(size_t N, size_t C, size_t S, const float *x, const float *dy, const float *gamma,
                     const float *mean, const float *invstd, float *dx, float *dgamma, float *dbeta);
    void (*bwd_nhwc)(size_t N, size_t C, size_t S, const float *x, const float *dy, const float *gamma,
                     const float *mean, const float *invstd, float *dx, float *dgamma, float *dbeta);
} tob_naive_bn;

/* ---- layer, RMS and group normalization ------------------------------------------------
   Layer and RMS norm: rows of TOB_NORM_COLS(n) values (1024; 4096 at 16M elements:
   [64][1024], [1024][1024], [4096][1024], [4096][4096]), weight and bias, eps 1e-5.
   Group norm: N = 8, C = 64, 32 groups, spatial = n / (N*C). Same traffic: each row
   is read from memory once (its second read, and the backward's weight-gradient
   sweep of a 16-row block, come from cache), so forward reads x and writes y,
   backward reads x and dy and writes dx. */
#define TOB_NORM_COLS(n) ((n) >= ((size_t)1 << 24) ? (size_t)4096 : (size_t)1024)
#define TOB_GN_N 8
#define TOB_GN_C 64
#define TOB_GN_GROUPS 32
#define TOB_NORM_EPS 1e-5
#define TOB_BYTES_NORM_FWD 8.0
#define TOB_BYTES_NORM_BWD 12.0
extern const int64_t tob_sizes_norms[]; /* 64K, 1M, 4M, 16M */
/* Layer norm also at [16384][4096] (issue 17's out-of-cache shape, beside oneDNN). */
extern const int64_t tob_sizes_layernorm[]; /* 64K, 1M, 4M, 16M, 64M */
typedef struct {
    /* llm.c's CPU layer norm (float sums, mean then variance about it) and the
       same shape of loop for RMS norm and group norm, as a user writes them;
       backward zeroes then accumulates dweight/dbias row by row. */
    void (*ln_fwd)(size_t rows, size_t cols, const float *x, const float *w, const float *b, float *y, float *mean,
                   float *rstd, float eps);
    void (*ln_bwd)(size_t rows, size_t cols, const float *x, const float *dy, const float *w, const float *mean,
                   const float *rstd, float *dx, float *dw, float *db);
    void (*rms_fwd)(size_t rows, size_t cols, const float *x, const float *w, float *y, float *rstd, float eps);
    void (*rms_bwd)(size_t rows, size_t cols, const float *x, const float *dy, const float *w, const float *rstd,
                    float *dx, float *dw);
    void (*gn_fwd)(size_t N, size_t C, size_t S, size_t G, const float *x, const float *w, const float *b, float *y,
                   float *mean, float *rstd, float eps);
    void (*gn_bwd)(size_t N, size_t C, size_t S, size_t G, const float *x, const float *dy, const float *w,
                   const float *mean, const float *rstd, float *dx, float *dw, float *db);
} tob_naive_norms;

/* ---- dropout ------------------------------------------------------------------------
   p = 0.5 (torch.nn.Dropout's default). Forward reads x, writes y and the
   1-bit mask; backward reads dy and the mask, writes dx. */
#define TOB_DROPOUT_P 0.5
#define TOB_BYTES_DROPOUT 8.125
/* The backward benchmarks cycle through masks holding at least 2^20 decisions
   in all (at least 8 masks), more than a branch predictor can learn. */
#define TOB_DROPOUT_MASKS(n) ((n) >= ((size_t)1 << 17) ? (size_t)8 : ((size_t)1 << 20) / (n))
#define TOB_MASK_STRIDE(n) ((n) / 8 + 64)        /* bytes between them */
typedef struct {
    /* Philox4x32-10, one block per four elements, plain C. */
    void (*fwd)(size_t n, const float *x, float *y, uint8_t *mask, float p, uint64_t seed, uint64_t offset);
    void (*bwd)(size_t n, const float *dy, float *dx, const uint8_t *mask, float p);
} tob_naive_dropout;

/* ---- losses and gradient utilities -------------------------------------------------
   Cross-entropy: rows x 1024 classes (n = rows * 1024), loss and gradient:
   logits read, gradient written (each 4 KiB row is re-read from cache).
   MSE with gradient: pred, target read, grad written. clip_grad_norm over 4
   tensors of n/4: the norm pass reads them; when it clips, a second pass
   reads and writes them. clip_grad_value and grad_unscale (inv_scale 1, the
   non-finite check included) read and write once. */
#define TOB_CE_CLASSES 1024
#define TOB_BYTES_CE 8.0
#define TOB_BYTES_MSE 12.0
#define TOB_BYTES_CLIP_NORM 4.0         /* nothing to clip: the norm pass only */
#define TOB_BYTES_CLIP_NORM_ACTIVE 12.0 /* norm pass, then scale pass */
#define TOB_BYTES_RW 8.0                /* clip_value, grad_unscale */
extern const int64_t tob_sizes_ce[];    /* 64K, 1M, 16M */
extern const int64_t tob_sizes_large[]; /* 1M .. 16M: where pausing the timer costs < 1% */
typedef struct {
    void (*cross_entropy)(size_t rows, size_t classes, const float *logits, const int32_t *labels, float *loss,
                          float *grad);
    void (*mse)(size_t n, const float *pred, const float *target, float *loss, float *grad);
    void (*clip_norm)(size_t k, float *const *g, const size_t *lens, float max_norm, float *total);
    void (*clip_value)(size_t n, float *g, float c);
    void (*grad_unscale)(size_t n, float *g, float inv_scale, int *found_inf);
} tob_naive_losses;

/* Same-traffic kernels (roofline.c) and STREAM (stream.c). */
void tob_rw3_2(size_t n, float *a0, const float *a1, float *a2);
void tob_rw4_3(size_t n, float *a0, const float *a1, float *a2, float *a3);
void tob_rw5_4(size_t n, float *a0, const float *a1, float *a2, float *a3, float *a4);
void tob_rw_1_1(size_t n, const float *x, float *y);                      /* y = x + 1: read 1, write 1 */
void tob_rw_inplace(size_t n, float *x);                                  /* x = x + 1: read and write 1 */
float tob_rd_1(size_t n, const float *x);                                 /* sum: read 1 */
void tob_rw_2_1(size_t n, const float *x, const float *y, float *z);      /* z = x + y */
float tob_rd_2(size_t n, const float *x, const float *y);                 /* sum of both */
void tob_rw_bits(size_t n, const float *x, float *y, uint8_t *mask);      /* y = x + 1 and 1 bit per element */
void tob_rw_from_bits(size_t n, const float *x, float *y, const uint8_t *mask);
void tob_stream_copy(size_t n, float *a, const float *b);
void tob_stream_triad(size_t n, float *a, const float *b, const float *c, float q);

#endif /* TOB_BENCH_H */
