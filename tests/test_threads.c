/* tests/test_threads.c - determinism under threads (issue 10). The contract says
   kernels on disjoint ranges may run concurrently and that splitting a range into
   chunks, one call per chunk, gives the bits of one whole call; random kernels give
   element i the same bits for any split when called with offset + i. Here every
   elementwise and random kernel runs over a range three ways: one whole call; two
   chunk calls on one worker thread; the same two chunks on two threads at once.
   All outputs and state must be bit-identical (any NaN matching any NaN, as
   to_bits_equal). Threads exist only in this test; the library has none.

   Which kernels count as elementwise (th_complete checks the table against the kernel
   list): every kernel of the families with arrays (optim, regularize, gradutil, loss,
   random, init, batchnorm) whose outputs at index i depend only on inputs at i (batch
   norm: per channel, so a split of the channels) and on the call's scalars. The
   others are named in th_not_elementwise with the reason: reductions to one scalar
   (a loss, a norm, a penalty) depend on every element, and the functions without
   arrays have no range to split. Families text, backend and schedule have no arrays.
   Compiled once per backend (see tests/harness.h). */
#define _POSIX_C_SOURCE 200112L /* pthreads under -std=c99 */
#include "harness.h"
#include "trainopt.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { TH_ARRAYS = 13 };
#define TH_N 3001 /* elements per array: odd, not a multiple of any vector width */
#define TH_SEED 0x7a11u
#define TH_OFFSET 5 /* random kernels start inside a Philox group */

/* One run's memory: float arrays of TH_N, a dropout mask, and a found_inf per chunk. */
typedef struct {
    float *a[TH_ARRAYS];
    uint8_t mask[(TH_N + 7) / 8];
    int found_inf[2];
    int status; /* the first non-OK status any call returned */
} th_mem;

typedef struct {
    const char *name;
    const char *covers;  /* the public functions (short names) run() calls, space-separated */
    int arrays;          /* how many of th_mem.a the kernel uses */
    size_t range;        /* the range split: elements, or channels for batch norm */
    size_t splits[3];    /* chunk boundaries tried (multiples of 8 where a mask is shared) */
    /* Runs the kernel on [begin, end) of the range; `chunk` (0 or 1) picks a private flag. */
    void (*run)(th_mem *m, int chunk, size_t begin, size_t end);
} th_kernel;

static void th_note(th_mem *m, trainopt_status s) {
    if (s != TRAINOPT_OK && m->status == TRAINOPT_OK) m->status = (int)s;
}

/* ---- the kernels, each on [b, e) ------------------------------------------------------ */

static void th_sgd(th_mem *m, int chunk, size_t b, size_t e) {
    trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
    int64_t step;
    (void)chunk;
    c.lr = 0.05, c.momentum = 0.9, c.weight_decay = 0.01, c.nesterov = 1;
    for (step = 1; step <= 3; step++) th_note(m, trainopt_sgd_step(&c, step, e - b, m->a[0] + b, m->a[1] + b, m->a[2] + b));
}

static void th_adagrad(th_mem *m, int chunk, size_t b, size_t e) {
    trainopt_adagrad_config c = TRAINOPT_ADAGRAD_DEFAULTS;
    int64_t step;
    (void)chunk;
    c.lr_decay = 0.01, c.weight_decay = 0.02, c.initial_accumulator_value = 0.1;
    th_note(m, trainopt_adagrad_init(&c, e - b, m->a[2] + b));
    for (step = 1; step <= 3; step++) th_note(m, trainopt_adagrad_step(&c, step, e - b, m->a[0] + b, m->a[1] + b, m->a[2] + b));
}

static void th_rmsprop(th_mem *m, int chunk, size_t b, size_t e) {
    trainopt_rmsprop_config c = TRAINOPT_RMSPROP_DEFAULTS;
    int64_t step;
    (void)chunk;
    c.momentum = 0.9, c.centered = 1, c.weight_decay = 0.01;
    for (step = 1; step <= 3; step++)
        th_note(m, trainopt_rmsprop_step(&c, step, e - b, m->a[0] + b, m->a[1] + b, m->a[2] + b, m->a[3] + b, m->a[4] + b));
}

static void th_adam(th_mem *m, int chunk, size_t b, size_t e) {
    trainopt_adam_config c = TRAINOPT_ADAM_DEFAULTS;
    int64_t step;
    (void)chunk;
    c.amsgrad = 1, c.weight_decay = 0.01;
    for (step = 1; step <= 3; step++)
        th_note(m, trainopt_adam_step(&c, step, e - b, m->a[0] + b, m->a[1] + b, m->a[2] + b, m->a[3] + b, m->a[4] + b));
}

/* AdamW through the fused step: gradient scale, and the non-finite count per chunk. */
static void th_adamw_ex(th_mem *m, int chunk, size_t b, size_t e) {
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t bad = 0;
    int64_t step;
    o.grad_scale = 0.25;
    o.nonfinite = &bad;
    for (step = 1; step <= 3; step++) {
        th_note(m, trainopt_adamw_step_ex(&c, step, e - b, m->a[0] + b, m->a[1] + b, m->a[2] + b, m->a[3] + b, NULL, &o));
        m->found_inf[chunk] += (int)bad; /* the counts of the chunks add up to the whole's */
    }
}

/* The _ex forms the rows above do not reach, and AdamW's plain step: each optimizer on its
   own parameter and state arrays, sharing the (read-only) gradient a1. */
static void th_optim_more(th_mem *m, int chunk, size_t b, size_t e) {
    trainopt_sgd_config sc = TRAINOPT_SGD_DEFAULTS;
    trainopt_adagrad_config gc = TRAINOPT_ADAGRAD_DEFAULTS;
    trainopt_rmsprop_config rc = TRAINOPT_RMSPROP_DEFAULTS;
    trainopt_adam_config ac = TRAINOPT_ADAM_DEFAULTS, wc = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    const size_t n = e - b;
    int64_t step;
    (void)chunk;
    sc.momentum = 0.9, gc.weight_decay = 0.01, rc.weight_decay = 0.01, ac.weight_decay = 0.01;
    o.grad_scale = 0.5;
    for (step = 1; step <= 3; step++) {
        th_note(m, trainopt_sgd_step_ex(&sc, step, n, m->a[0] + b, m->a[1] + b, m->a[2] + b, &o));
        th_note(m, trainopt_adagrad_step_ex(&gc, step, n, m->a[3] + b, m->a[1] + b, m->a[4] + b, &o));
        th_note(m, trainopt_rmsprop_step_ex(&rc, step, n, m->a[5] + b, m->a[1] + b, m->a[6] + b, NULL, NULL, &o));
        th_note(m, trainopt_adam_step_ex(&ac, step, n, m->a[7] + b, m->a[1] + b, m->a[8] + b, m->a[9] + b, NULL, &o));
        th_note(m, trainopt_adamw_step(&wc, step, n, m->a[10] + b, m->a[1] + b, m->a[11] + b, m->a[12] + b, NULL));
    }
}

/* Issue 16's optimizers, each on its own parameter and state arrays, sharing the gradient
   a1: the plain steps (fused = 0) or the _ex forms with a gradient scale (fused = 1).
   NAdam's product is advanced once per step by every chunk alike; RAdam runs steps 5-7,
   across its rectification threshold (beta2 0.9: rho_t > 5 from step 6). */
static void th_more_optimizers(th_mem *m, size_t b, size_t e, int fused) {
    trainopt_nadam_config nc = TRAINOPT_NADAM_DEFAULTS;
    trainopt_radam_config rc = TRAINOPT_RADAM_DEFAULTS;
    trainopt_adamax_config xc = TRAINOPT_ADAMAX_DEFAULTS;
    trainopt_adadelta_config dc = TRAINOPT_ADADELTA_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    const trainopt_step_opts *op = fused ? &o : NULL;
    const size_t n = e - b;
    double mu_product = 1.0;
    int64_t step;
    nc.weight_decay = 0.01, nc.decoupled_weight_decay = fused;
    rc.beta2 = 0.9, rc.weight_decay = 0.01, rc.decoupled_weight_decay = !fused;
    xc.weight_decay = 0.01, dc.weight_decay = 0.01;
    o.grad_scale = 0.5;
    for (step = 1; step <= 3; step++) {
        mu_product = trainopt_nadam_mu_product(&nc, step, mu_product);
        th_note(m, trainopt_nadam_step_ex(&nc, step, mu_product, n, m->a[0] + b, m->a[1] + b, m->a[2] + b, m->a[3] + b, op));
        th_note(m, trainopt_radam_step_ex(&rc, step + 4, n, m->a[4] + b, m->a[1] + b, m->a[5] + b, m->a[6] + b, op));
        th_note(m, trainopt_adamax_step_ex(&xc, step, n, m->a[7] + b, m->a[1] + b, m->a[8] + b, m->a[9] + b, op));
        th_note(m, trainopt_adadelta_step_ex(&dc, step, n, m->a[10] + b, m->a[1] + b, m->a[11] + b, m->a[12] + b, op));
    }
    if (fused) return;
    /* The plain entry points themselves, once each, on the same arrays. */
    mu_product = trainopt_nadam_mu_product(&nc, 4, mu_product);
    th_note(m, trainopt_nadam_step(&nc, 4, mu_product, n, m->a[0] + b, m->a[1] + b, m->a[2] + b, m->a[3] + b));
    th_note(m, trainopt_radam_step(&rc, 8, n, m->a[4] + b, m->a[1] + b, m->a[5] + b, m->a[6] + b));
    th_note(m, trainopt_adamax_step(&xc, 4, n, m->a[7] + b, m->a[1] + b, m->a[8] + b, m->a[9] + b));
    th_note(m, trainopt_adadelta_step(&dc, 4, n, m->a[10] + b, m->a[1] + b, m->a[11] + b, m->a[12] + b));
}
static void th_more_plain(th_mem *m, int chunk, size_t b, size_t e) {
    (void)chunk;
    th_more_optimizers(m, b, e, 0);
}
static void th_more_ex(th_mem *m, int chunk, size_t b, size_t e) {
    (void)chunk;
    th_more_optimizers(m, b, e, 1);
}

/* Lion, plain and fused (with the non-finite count per chunk), each on its own arrays. */
static void th_lion(th_mem *m, int chunk, size_t b, size_t e) {
    trainopt_lion_config c = TRAINOPT_LION_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t bad = 0;
    int64_t step;
    c.lr = 1e-3, c.weight_decay = 0.1;
    o.grad_scale = 0.25;
    o.nonfinite = &bad;
    for (step = 1; step <= 3; step++) {
        th_note(m, trainopt_lion_step(&c, step, e - b, m->a[0] + b, m->a[1] + b, m->a[2] + b));
        th_note(m, trainopt_lion_step_ex(&c, step, e - b, m->a[3] + b, m->a[1] + b, m->a[4] + b, &o));
        m->found_inf[chunk] += (int)bad;
    }
}

/* Schedule-free AdamW, plain (a0 p, a2 z, a3 v) and fused (a4, a5, a6) on the gradient a1,
   then the evaluation parameters into a7 and back in place. Each chunk advances its own
   copy of the scalar state: a pure function of the config and the count, as every thread
   of a real loop reads the one copy advanced before the step. */
static void th_sfadamw(th_mem *m, int chunk, size_t b, size_t e) {
    trainopt_sfadamw_config c = TRAINOPT_SFADAMW_DEFAULTS;
    trainopt_sfadamw_state s = TRAINOPT_SFADAMW_STATE_INIT;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    const size_t n = e - b;
    size_t bad = 0;
    int step;
    c.weight_decay = 0.01, c.warmup_steps = 2;
    o.grad_scale = 0.25, o.nonfinite = &bad;
    for (step = 1; step <= 3; step++) {
        th_note(m, trainopt_sfadamw_advance(&c, &s));
        th_note(m, trainopt_sfadamw_step(&c, &s, n, m->a[0] + b, m->a[1] + b, m->a[2] + b, m->a[3] + b));
        th_note(m, trainopt_sfadamw_step_ex(&c, &s, n, m->a[4] + b, m->a[1] + b, m->a[5] + b, m->a[6] + b, &o));
        m->found_inf[chunk] += (int)bad;
    }
    th_note(m, trainopt_sfadamw_to_eval(&c, n, m->a[0] + b, m->a[2] + b, m->a[7] + b));
    th_note(m, trainopt_sfadamw_to_train(&c, n, m->a[7] + b, m->a[2] + b, m->a[7] + b));
}

/* The gradient utilities that are elementwise: l1l2_grad, clip_grad_value, grad_unscale. */
static void th_gradutil(th_mem *m, int chunk, size_t b, size_t e) {
    th_note(m, trainopt_l1l2_grad(e - b, m->a[0] + b, m->a[1] + b, 0.01, 0.02));
    th_note(m, trainopt_clip_grad_value(e - b, m->a[1] + b, 0.75));
    th_note(m, trainopt_grad_unscale(e - b, m->a[1] + b, 0.5f, &m->found_inf[chunk]));
}

/* Dropout forward with a mask, then backward from that mask and by regeneration. */
static void th_dropout(th_mem *m, int chunk, size_t b, size_t e) {
    const uint64_t off = TH_OFFSET + b;
    (void)chunk;
    th_note(m, trainopt_dropout_forward(0.3, TH_SEED, off, e - b, m->a[0] + b, m->a[1] + b, m->mask + b / 8));
    th_note(m, trainopt_dropout_backward(0.3, TH_SEED, off, e - b, m->a[2] + b, m->a[3] + b, m->mask + b / 8));
    th_note(m, trainopt_dropout_backward(0.3, TH_SEED, off, e - b, m->a[2] + b, m->a[4] + b, NULL));
}

/* Every generator and initializer, element i from offset + i. */
static void th_random(th_mem *m, int chunk, size_t b, size_t e) {
    const uint64_t off = TH_OFFSET + b;
    const size_t n = e - b;
    trainopt_kaiming_config kc = TRAINOPT_KAIMING_DEFAULTS;
    trainopt_trunc_normal_config tc = TRAINOPT_TRUNC_NORMAL_DEFAULTS;
    (void)chunk;
    th_note(m, trainopt_rand_u32(TH_SEED, off, n, (uint32_t *)(void *)(m->a[0] + b)));
    th_note(m, trainopt_rand_uniform(TH_SEED, off, n, -2.0, 3.0, m->a[1] + b));
    th_note(m, trainopt_rand_normal(TH_SEED, off, n, 1.0, 0.5, m->a[2] + b));
    th_note(m, trainopt_trunc_normal(&tc, TH_SEED, off, n, m->a[3] + b));
    th_note(m, trainopt_xavier_uniform(TH_SEED, off, n, 30, 20, 1.0, m->a[4] + b));
    th_note(m, trainopt_xavier_normal(TH_SEED, off, n, 30, 20, 1.0, m->a[5] + b));
    th_note(m, trainopt_kaiming_uniform(&kc, TH_SEED, off, n, 30, 20, m->a[6] + b));
    th_note(m, trainopt_kaiming_normal(&kc, TH_SEED, off, n, 30, 20, m->a[7] + b));
}

/* Batch norm on one NCHW image: channels are contiguous and independent, so a split of
   the channels is a split into disjoint ranges. x a0, y a1, dy a2, dx a3, running mean
   and var a4 a5, saved mean and invstd a6 a7, dgamma a8, dbeta a9; then inference from
   the running statistics into a10, and fold's scale and shift into a11 and a12. */
#define TH_BN_S 49
static void th_batchnorm(th_mem *m, int chunk, size_t b, size_t e) {
    trainopt_bn_config c = TRAINOPT_BN_DEFAULTS;
    trainopt_bn_shape s;
    const size_t x = b * TH_BN_S;
    (void)chunk;
    s.n = 1, s.c = e - b, s.spatial = TH_BN_S, s.layout = TRAINOPT_NCHW;
    th_note(m, trainopt_batchnorm_forward_train(&c, s, m->a[0] + x, NULL, NULL, m->a[4] + b, m->a[5] + b, m->a[1] + x,
                                                m->a[6] + b, m->a[7] + b));
    th_note(m, trainopt_batchnorm_backward(&c, s, m->a[0] + x, m->a[2] + x, NULL, m->a[6] + b, m->a[7] + b, NULL,
                                           m->a[3] + x, m->a[8] + b, m->a[9] + b));
    th_note(m, trainopt_batchnorm_forward_infer(&c, s, m->a[0] + x, NULL, NULL, m->a[4] + b, m->a[5] + b, m->a[10] + x));
    th_note(m, trainopt_batchnorm_fold(&c, e - b, NULL, NULL, m->a[4] + b, m->a[5] + b, m->a[11] + b, m->a[12] + b));
}

/* Layer, RMS and group norm: rows are independent, so a split of the rows is a split
   into disjoint ranges (group norm: of the samples, each one row of c*spatial values).
   x a0, dy a2; layer norm y a1, dx a3, mean a4, rstd a5; RMS norm y a6, rstd a7, dx a8;
   group norm (4 channels, 2 groups) y a9, mean a10, rstd a11, dx a12. dweight and dbias
   sum over rows, so they are not elementwise: their fixed block order is tested in
   tests/test_norms.c (16-row blocks as separate calls give the whole call's bits). */
#define TH_NM_COLS 60
static void th_norms(th_mem *m, int chunk, size_t b, size_t e) {
    trainopt_norm_config c = TRAINOPT_NORM_DEFAULTS;
    trainopt_bn_shape s;
    const size_t x = b * TH_NM_COLS, rows = e - b;
    (void)chunk;
    s.n = rows, s.c = 4, s.spatial = TH_NM_COLS / 4, s.layout = TRAINOPT_NCHW;
    th_note(m, trainopt_layernorm_forward(&c, rows, TH_NM_COLS, m->a[0] + x, NULL, NULL, m->a[1] + x, m->a[4] + b,
                                          m->a[5] + b));
    th_note(m, trainopt_layernorm_backward(&c, rows, TH_NM_COLS, m->a[0] + x, m->a[2] + x, NULL, m->a[4] + b, m->a[5] + b,
                                           m->a[3] + x, NULL, NULL));
    th_note(m, trainopt_rmsnorm_forward(&c, rows, TH_NM_COLS, m->a[0] + x, NULL, m->a[6] + x, m->a[7] + b));
    th_note(m, trainopt_rmsnorm_backward(&c, rows, TH_NM_COLS, m->a[0] + x, m->a[2] + x, NULL, m->a[7] + b, m->a[8] + x,
                                         NULL));
    th_note(m, trainopt_groupnorm_forward(&c, s, 2, m->a[0] + x, NULL, NULL, m->a[9] + x, m->a[10] + 2 * b,
                                          m->a[11] + 2 * b));
    th_note(m, trainopt_groupnorm_backward(&c, s, 2, m->a[0] + x, m->a[2] + x, NULL, m->a[10] + 2 * b, m->a[11] + 2 * b,
                                           m->a[12] + x, NULL, NULL));
}

/* fp16 keeps a NaN's sign, and the sign of a NaN an invalid operation makes (inf - inf)
   is the CPU's and the compiler's operand order's (x86 sets it, ARM does not): every fp16
   NaN of h[0..n) to one pattern before hashing, as the harness treats fp32 NaNs. */
static void th_f16_nans_to_one(uint16_t *h, size_t n) {
    size_t j;
    for (j = 0; j < n; j++)
        if ((h[j] & 0x7c00u) == 0x7c00u && (h[j] & 0x03ffu)) h[j] = 0x7e00u;
}

/* The bf16/fp16 norms on th_norms' split: x a0 and dy a2 seen as bf16 (layer, group norm)
   or fp16 (RMS norm), every y and dx as 16-bit elements, mean and rstd fp32; the arrays
   keep th_norms' roles, each seen one way only. */
static void th_norms_mp(th_mem *m, int chunk, size_t b, size_t e) {
    trainopt_norm_config c = TRAINOPT_NORM_DEFAULTS;
    trainopt_bn_shape s;
    const size_t x = b * TH_NM_COLS, rows = e - b;
    uint16_t *h[13];
    int k;
    (void)chunk;
    for (k = 0; k < 13; k++) h[k] = (uint16_t *)(void *)m->a[k];
    s.n = rows, s.c = 4, s.spatial = TH_NM_COLS / 4, s.layout = TRAINOPT_NCHW;
    th_note(m, trainopt_layernorm_forward_mp(&c, rows, TH_NM_COLS, h[0] + x, TRAINOPT_BF16, NULL, NULL, h[1] + x,
                                             m->a[4] + b, m->a[5] + b));
    th_note(m, trainopt_layernorm_backward_mp(&c, rows, TH_NM_COLS, h[0] + x, h[2] + x, TRAINOPT_BF16, NULL, m->a[4] + b,
                                              m->a[5] + b, h[3] + x, NULL, NULL));
    th_note(m, trainopt_rmsnorm_forward_mp(&c, rows, TH_NM_COLS, h[0] + x, TRAINOPT_F16, NULL, h[6] + x, m->a[7] + b));
    th_note(m, trainopt_rmsnorm_backward_mp(&c, rows, TH_NM_COLS, h[0] + x, h[2] + x, TRAINOPT_F16, NULL, m->a[7] + b,
                                            h[8] + x, NULL));
    th_note(m, trainopt_groupnorm_forward_mp(&c, s, 2, h[0] + x, TRAINOPT_BF16, NULL, NULL, h[9] + x, m->a[10] + 2 * b,
                                             m->a[11] + 2 * b));
    th_note(m, trainopt_groupnorm_backward_mp(&c, s, 2, h[0] + x, h[2] + x, TRAINOPT_BF16, NULL, m->a[10] + 2 * b,
                                              m->a[11] + 2 * b, h[12] + x, NULL, NULL));
    th_f16_nans_to_one(h[6] + x, rows * TH_NM_COLS); /* the fp16 y and dx (x holds random bit patterns) */
    th_f16_nans_to_one(h[8] + x, rows * TH_NM_COLS);
}

/* fp32 to bf16 and fp16, stochastic (element i from offset + i), and back to fp32. */
static void th_convert(th_mem *m, int chunk, size_t b, size_t e) {
    const uint64_t off = TH_OFFSET + b;
    const size_t n = e - b;
    uint16_t *bf = (uint16_t *)(void *)m->a[1], *hf = (uint16_t *)(void *)m->a[2];
    (void)chunk;
    th_note(m, trainopt_convert(n, m->a[0] + b, TRAINOPT_F32, bf + b, TRAINOPT_BF16, TRAINOPT_ROUND_STOCHASTIC, TH_SEED, off));
    th_note(m, trainopt_convert(n, m->a[0] + b, TRAINOPT_F32, hf + b, TRAINOPT_F16, TRAINOPT_ROUND_NEAREST, TH_SEED, off));
    th_note(m, trainopt_convert(n, hf + b, TRAINOPT_F16, m->a[3] + b, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0));
}

/* Every mixed-precision step on [b, e): bf16/fp16 parameters in each write-back mode,
   bf16/fp16 gradients and bf16 states in arrays 0-8 seen as 16-bit elements, fp32 ones in
   arrays 9-12 (an array is never seen both ways: a range's bytes would differ); the
   stochastic ones from offset + b, so a range split gives the same words. */
static void th_mixed(th_mem *m, int chunk, size_t b, size_t e) {
    const size_t n = e - b;
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    trainopt_adagrad_config ada = TRAINOPT_ADAGRAD_DEFAULTS;
    trainopt_rmsprop_config rms = TRAINOPT_RMSPROP_DEFAULTS;
    trainopt_adam_config adam = TRAINOPT_ADAM_DEFAULTS, adamw = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_radam_config radam = TRAINOPT_RADAM_DEFAULTS;
    trainopt_adamax_config adamax = TRAINOPT_ADAMAX_DEFAULTS;
    trainopt_adadelta_config adadelta = TRAINOPT_ADADELTA_DEFAULTS;
    trainopt_lion_config lion = TRAINOPT_LION_DEFAULTS;
    uint16_t *h[9];
    float *f[4];
    int i;
    (void)chunk;
    for (i = 0; i < 9; i++) h[i] = (uint16_t *)(void *)m->a[i] + b;
    for (i = 0; i < 4; i++) f[i] = m->a[9 + i] + b;
    sgd.lr = 0.05, sgd.momentum = 0.9, rms.centered = 1, rms.momentum = 0.5, adam.amsgrad = 1, lion.lr = 1e-3;
    pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_BF16, pr.state_dtype = TRAINOPT_BF16;
    pr.param_mode = TRAINOPT_PARAM_STOCHASTIC, pr.seed = TH_SEED, pr.offset = TH_OFFSET + b;
    th_note(m, trainopt_sgd_step_mp(&sgd, 2, n, h[0], h[1], h[4], &pr, NULL));
    th_note(m, trainopt_lion_step_mp(&lion, 2, n, h[0], h[1], h[4], &pr, NULL));
    pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.param_aux = h[2], pr.copy = h[3], pr.copy_dtype = TRAINOPT_F16;
    th_note(m, trainopt_adam_step_mp(&adam, 3, n, h[0], h[1], h[5], h[6], h[7], &pr, NULL));
    th_note(m, trainopt_radam_step_mp(&radam, 7, n, h[0], h[1], h[5], h[6], &pr, NULL));
    pr.param_mode = TRAINOPT_PARAM_SPLIT, pr.grad_dtype = TRAINOPT_F16;
    th_note(m, trainopt_adamw_step_mp(&adamw, 2, n, h[0], h[1], h[5], h[6], NULL, &pr, NULL));
    th_note(m, trainopt_adamax_step_mp(&adamax, 2, n, h[0], h[1], h[5], h[6], &pr, NULL));
    pr.param_dtype = TRAINOPT_F16, pr.param_mode = TRAINOPT_PARAM_NEAREST, pr.param_aux = NULL, pr.state_dtype = TRAINOPT_F32;
    th_note(m, trainopt_adagrad_step_mp(&ada, 2, n, h[8], h[1], f[1], &pr, NULL));
    pr.param_dtype = TRAINOPT_F32, pr.copy_dtype = TRAINOPT_BF16;
    th_note(m, trainopt_rmsprop_step_mp(&rms, 2, n, f[0], h[1], f[1], f[2], f[3], &pr, NULL));
    th_note(m, trainopt_adadelta_step_mp(&adadelta, 2, n, f[0], h[1], f[2], f[3], &pr, NULL));
    th_f16_nans_to_one(h[3], n); /* the fp16 copy and parameters */
    th_f16_nans_to_one(h[8], n);
}

/* NAdam's mixed-precision step on [b, e), as th_mixed's (its own row: the mixed row's
   hashes predate it): bf16 stochastic, then bf16 Kahan with an fp16 copy, then fp32
   masters with bf16 gradients and a bf16 copy. */
static void th_mixed_nadam(th_mem *m, int chunk, size_t b, size_t e) {
    const size_t n = e - b;
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    trainopt_nadam_config c = TRAINOPT_NADAM_DEFAULTS;
    double mu_product = 1.0;
    uint16_t *h[9];
    float *f[4];
    int i;
    int64_t step;
    (void)chunk;
    for (i = 0; i < 9; i++) h[i] = (uint16_t *)(void *)m->a[i] + b;
    for (i = 0; i < 4; i++) f[i] = m->a[9 + i] + b;
    c.weight_decay = 0.01, c.decoupled_weight_decay = 1;
    pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_BF16, pr.state_dtype = TRAINOPT_BF16;
    pr.param_mode = TRAINOPT_PARAM_STOCHASTIC, pr.seed = TH_SEED, pr.offset = TH_OFFSET + b;
    for (step = 1; step <= 3; step++) {
        mu_product = trainopt_nadam_mu_product(&c, step, mu_product);
        th_note(m, trainopt_nadam_step_mp(&c, step, mu_product, n, h[0], h[1], h[4], h[5], &pr, NULL));
    }
    pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.param_aux = h[2], pr.copy = h[3], pr.copy_dtype = TRAINOPT_F16;
    th_note(m, trainopt_nadam_step_mp(&c, 4, trainopt_nadam_mu_product(&c, 4, mu_product), n, h[0], h[1], h[6], h[7], &pr,
                                      NULL));
    pr.param_dtype = TRAINOPT_F32, pr.param_mode = TRAINOPT_PARAM_NEAREST, pr.param_aux = NULL;
    pr.state_dtype = TRAINOPT_F32, pr.copy = h[8], pr.copy_dtype = TRAINOPT_BF16;
    th_note(m, trainopt_nadam_step_mp(&c, 2, trainopt_nadam_mu_product(&c, 2, 0.9), n, f[0], h[1], f[1], f[2], &pr, NULL));
    th_f16_nans_to_one(h[3], n); /* the fp16 copy */
}

/* Schedule-free AdamW's mixed-precision step on [b, e): bf16 stochastic parameters with bf16
   gradients and states, then fp32 masters with fp16 gradients and a bf16 copy; each chunk
   advances its own copy of the scalar state, as th_sfadamw's. */
static void th_mixed_sfadamw(th_mem *m, int chunk, size_t b, size_t e) {
    const size_t n = e - b;
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    trainopt_sfadamw_config c = TRAINOPT_SFADAMW_DEFAULTS;
    trainopt_sfadamw_state s = TRAINOPT_SFADAMW_STATE_INIT;
    uint16_t *h[9];
    float *f[4];
    int i;
    (void)chunk;
    for (i = 0; i < 9; i++) h[i] = (uint16_t *)(void *)m->a[i] + b;
    for (i = 0; i < 4; i++) f[i] = m->a[9 + i] + b;
    c.weight_decay = 0.01, c.warmup_steps = 2;
    pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_BF16, pr.state_dtype = TRAINOPT_BF16;
    pr.param_mode = TRAINOPT_PARAM_STOCHASTIC, pr.seed = TH_SEED, pr.offset = TH_OFFSET + b;
    for (i = 0; i < 3; i++) {
        th_note(m, trainopt_sfadamw_advance(&c, &s));
        th_note(m, trainopt_sfadamw_step_mp(&c, &s, n, h[0], h[1], h[4], h[5], &pr, NULL));
    }
    pr.param_dtype = TRAINOPT_F32, pr.param_mode = TRAINOPT_PARAM_NEAREST, pr.grad_dtype = TRAINOPT_F16;
    pr.state_dtype = TRAINOPT_F32, pr.copy = h[8], pr.copy_dtype = TRAINOPT_BF16;
    th_note(m, trainopt_sfadamw_advance(&c, &s));
    th_note(m, trainopt_sfadamw_step_mp(&c, &s, n, f[0], h[2], f[1], f[2], &pr, NULL));
}

static const th_kernel th_kernels[] = {
    {"sgd", "sgd_step", 3, TH_N, {8, 1000, 2992}, th_sgd},
    {"adagrad", "adagrad_init adagrad_step", 3, TH_N, {8, 1000, 2992}, th_adagrad},
    {"rmsprop", "rmsprop_step", 5, TH_N, {8, 1000, 2992}, th_rmsprop},
    {"adam", "adam_step", 5, TH_N, {8, 1000, 2992}, th_adam},
    {"adamw_ex", "adamw_step_ex", 4, TH_N, {8, 1000, 2992}, th_adamw_ex},
    {"optim_more", "sgd_step_ex adagrad_step_ex rmsprop_step_ex adam_step_ex adamw_step", 13, TH_N, {8, 1000, 2992},
     th_optim_more},
    {"more_optimizers", "nadam_step radam_step adamax_step adadelta_step", 13, TH_N, {8, 1000, 2992}, th_more_plain},
    {"more_optimizers_ex", "nadam_step_ex radam_step_ex adamax_step_ex adadelta_step_ex", 13, TH_N, {8, 1000, 2992},
     th_more_ex},
    {"lion", "lion_step lion_step_ex", 5, TH_N, {8, 1000, 2992}, th_lion},
    {"sfadamw", "sfadamw_step sfadamw_step_ex sfadamw_to_eval sfadamw_to_train", 8, TH_N, {8, 1000, 2992}, th_sfadamw},
    {"gradutil", "l1l2_grad clip_grad_value grad_unscale", 2, TH_N, {8, 1000, 2992}, th_gradutil},
    {"dropout", "dropout_forward dropout_backward", 5, TH_N, {8, 1000, 2992}, th_dropout},
    {"random",
     "rand_u32 rand_uniform rand_normal trunc_normal xavier_uniform xavier_normal kaiming_uniform kaiming_normal", 8,
     TH_N, {8, 1000, 2992}, th_random},
    {"convert", "convert", 4, TH_N, {8, 1000, 2992}, th_convert},
    {"mixed",
     "sgd_step_mp adagrad_step_mp rmsprop_step_mp adam_step_mp adamw_step_mp radam_step_mp adamax_step_mp "
     "adadelta_step_mp lion_step_mp",
     13, TH_N, {8, 1000, 2992}, th_mixed},
    {"mixed_nadam", "nadam_step_mp", 13, TH_N, {8, 1000, 2992}, th_mixed_nadam},
    {"mixed_sfadamw", "sfadamw_step_mp", 13, TH_N, {8, 1000, 2992}, th_mixed_sfadamw},
    {"batchnorm", "batchnorm_forward_train batchnorm_backward batchnorm_forward_infer batchnorm_fold", 13,
     TH_N / TH_BN_S, {1, 30, 60}, th_batchnorm},
    {"norms",
     "layernorm_forward layernorm_backward rmsnorm_forward rmsnorm_backward groupnorm_forward groupnorm_backward", 13,
     TH_N / TH_NM_COLS, {1, 17, 48}, th_norms},
    {"norms_mp",
     "layernorm_forward_mp layernorm_backward_mp rmsnorm_forward_mp rmsnorm_backward_mp groupnorm_forward_mp "
     "groupnorm_backward_mp",
     13, TH_N / TH_NM_COLS, {1, 17, 48}, th_norms_mp},
};
#define TH_COUNT (sizeof th_kernels / sizeof th_kernels[0])

/* The kernels of the families with arrays that are not elementwise, and why. */
static const char *const th_not_elementwise[][2] = {
    {"l1l2_penalty", "a reduction to one scalar"},
    {"sum_squares", "a reduction over a list of tensors"},
    {"grad_norm", "a reduction over a list of tensors"},
    {"clip_grad_norm", "a reduction over a list of tensors, then a scale by it"},
    {"mse_loss", "a mean over every element"},
    {"bce_with_logits", "a mean over every element"},
    {"softmax_cross_entropy", "a mean over rows, each row a reduction"},
    {"lamb_step", "a trust ratio per tensor: two reductions over each whole tensor"},
    {"lamb_step_ex", "a trust ratio per tensor: two reductions over each whole tensor"},
    {"lars_step", "a trust ratio per tensor: two reductions over each whole tensor"},
    {"lars_step_ex", "a trust ratio per tensor: two reductions over each whole tensor"},
    {"lamb_step_mp", "a trust ratio per tensor: two reductions over each whole tensor"},
    {"lars_step_mp", "a trust ratio per tensor: two reductions over each whole tensor"},
    {"adafactor_step", "row, column and whole-tensor reductions (the factors, RMS(p), RMS(u))"},
    {"adafactor_step_ex", "row, column and whole-tensor reductions (the factors, RMS(p), RMS(u))"},
    {"adafactor_step_mp", "row, column and whole-tensor reductions (the factors, RMS(p), RMS(u))"},
    {"calculate_gain", "no arrays"},
    {"calculate_fans", "no arrays"},
    {"nadam_mu_product", "no arrays (the caller's scalar; the NAdam rows call it once per step in every chunk)"},
    {"quantize_blockwise", "blockwise (one absmax per block): chunks only at block boundaries, tested in tests/test_quant8.c"},
    {"dequantize_blockwise", "blockwise (one absmax per block): chunks only at block boundaries, tested in tests/test_quant8.c"},
    {"sgd8bit_step", "blockwise (one absmax per block): chunks only at block boundaries, tested in tests/test_quant8.c"},
    {"sgd8bit_step_ex", "blockwise (one absmax per block): chunks only at block boundaries, tested in tests/test_quant8.c"},
    {"adam8bit_step", "blockwise (one absmax per block): chunks only at block boundaries, tested in tests/test_quant8.c"},
    {"adam8bit_step_ex", "blockwise (one absmax per block): chunks only at block boundaries, tested in tests/test_quant8.c"},
    {"adamw8bit_step", "blockwise (one absmax per block): chunks only at block boundaries, tested in tests/test_quant8.c"},
    {"adamw8bit_step_ex", "blockwise (one absmax per block): chunks only at block boundaries, tested in tests/test_quant8.c"},
    {"lion8bit_step", "blockwise (one absmax per block): chunks only at block boundaries, tested in tests/test_quant8.c"},
    {"lion8bit_step_ex", "blockwise (one absmax per block): chunks only at block boundaries, tested in tests/test_quant8.c"},
    {"sgd8bit_step_mp", "blockwise: chunks only at block boundaries (stochastic offset advanced), tested in tests/test_quant8.c"},
    {"adam8bit_step_mp", "blockwise: chunks only at block boundaries (stochastic offset advanced), tested in tests/test_quant8.c"},
    {"adamw8bit_step_mp", "blockwise: chunks only at block boundaries (stochastic offset advanced), tested in tests/test_quant8.c"},
    {"lion8bit_step_mp", "blockwise: chunks only at block boundaries (stochastic offset advanced), tested in tests/test_quant8.c"},
    /* threaded by the library itself: tests/test_parallel.c runs each at 1, 2, 3 and 7 threads */
    {"sgd_step_multi", "threaded itself (tests/test_parallel.c)"},
    {"adagrad_step_multi", "threaded itself (tests/test_parallel.c)"},
    {"rmsprop_step_multi", "threaded itself (tests/test_parallel.c)"},
    {"adam_step_multi", "threaded itself (tests/test_parallel.c)"},
    {"adamw_step_multi", "threaded itself (tests/test_parallel.c)"},
    {"nadam_step_multi", "threaded itself (tests/test_parallel.c)"},
    {"radam_step_multi", "threaded itself (tests/test_parallel.c)"},
    {"adamax_step_multi", "threaded itself (tests/test_parallel.c)"},
    {"adadelta_step_multi", "threaded itself (tests/test_parallel.c)"},
    {"lion_step_multi", "threaded itself (tests/test_parallel.c)"},
    {"sfadamw_step_multi", "threaded itself (tests/test_parallel.c)"},
    {"sgd_step_mp_multi", "threaded itself (tests/test_parallel.c)"},
    {"adagrad_step_mp_multi", "threaded itself (tests/test_parallel.c)"},
    {"rmsprop_step_mp_multi", "threaded itself (tests/test_parallel.c)"},
    {"adam_step_mp_multi", "threaded itself (tests/test_parallel.c)"},
    {"adamw_step_mp_multi", "threaded itself (tests/test_parallel.c)"},
    {"nadam_step_mp_multi", "threaded itself (tests/test_parallel.c)"},
    {"radam_step_mp_multi", "threaded itself (tests/test_parallel.c)"},
    {"adamax_step_mp_multi", "threaded itself (tests/test_parallel.c)"},
    {"adadelta_step_mp_multi", "threaded itself (tests/test_parallel.c)"},
    {"lion_step_mp_multi", "threaded itself (tests/test_parallel.c)"},
    {"sfadamw_step_mp_multi", "threaded itself (tests/test_parallel.c)"},
    {"adafactor_step_multi", "threaded itself, a tensor per task (tests/test_parallel.c)"},
    {"sum_squares_mt", "threaded itself (tests/test_parallel.c)"},
    {"grad_norm_mt", "threaded itself (tests/test_parallel.c)"},
    {"clip_grad_norm_mt", "threaded itself (tests/test_parallel.c)"},
    {"layernorm_forward_mt", "threaded itself (tests/test_parallel.c)"},
    {"layernorm_backward_mt", "threaded itself (tests/test_parallel.c)"},
    {"rmsnorm_forward_mt", "threaded itself (tests/test_parallel.c)"},
    {"rmsnorm_backward_mt", "threaded itself (tests/test_parallel.c)"},
    {"groupnorm_forward_mt", "threaded itself (tests/test_parallel.c)"},
    {"groupnorm_backward_mt", "threaded itself (tests/test_parallel.c)"},
    {"batchnorm_forward_train_mt", "threaded itself (tests/test_parallel.c)"},
    {"batchnorm_backward_mt", "threaded itself (tests/test_parallel.c)"},
    {"dropout_forward_mt", "threaded itself (tests/test_parallel.c)"},
    {"dropout_backward_mt", "threaded itself (tests/test_parallel.c)"},
    {"mse_loss_mt", "threaded itself (tests/test_parallel.c)"},
    {"bce_with_logits_mt", "threaded itself (tests/test_parallel.c)"},
    {"softmax_cross_entropy_mt", "threaded itself (tests/test_parallel.c)"},
    {"rand_u32_mt", "threaded itself (tests/test_parallel.c)"},
    {"rand_uniform_mt", "threaded itself (tests/test_parallel.c)"},
    {"rand_normal_mt", "threaded itself (tests/test_parallel.c)"},
    {"xavier_uniform_mt", "threaded itself (tests/test_parallel.c)"},
    {"xavier_normal_mt", "threaded itself (tests/test_parallel.c)"},
    {"kaiming_uniform_mt", "threaded itself (tests/test_parallel.c)"},
    {"kaiming_normal_mt", "threaded itself (tests/test_parallel.c)"},
    {"trunc_normal_mt", "threaded itself (tests/test_parallel.c)"},
};

/* Whether the space-separated list holds the word. */
static int th_list_has(const char *list, const char *word) {
    const size_t n = strlen(word);
    while (*list) {
        size_t m = strcspn(list, " ");
        if (m == n && strncmp(list, word, n) == 0) return 1;
        list += m;
        while (*list == ' ') list++;
    }
    return 0;
}

/* Every kernel of a family with arrays is in a row's covers or in th_not_elementwise. */
static void th_complete(to_ctx *t) {
#define TH_LISTED(family, ret, name, params, args) {#family, #name},
    static const struct {
        const char *family, *name;
    } listed[] = {TRAINOPT_KERNELS(TH_LISTED)};
#undef TH_LISTED
    static const char families[] = "optim regularize gradutil loss random init batchnorm norms convert";
    size_t i, j;
    for (i = 0; i < sizeof listed / sizeof listed[0]; i++) {
        int found = 0;
        if (!th_list_has(families, listed[i].family)) continue;
        for (j = 0; j < TH_COUNT; j++) found |= th_list_has(th_kernels[j].covers, listed[i].name);
        for (j = 0; j < sizeof th_not_elementwise / sizeof th_not_elementwise[0]; j++)
            found |= strcmp(th_not_elementwise[j][0], listed[i].name) == 0;
        TO_CHECK(t, found,
                 "trainopt_%s (family %s) is in TRAINOPT_KERNELS but neither in a row of tests/test_threads.c's "
                 "th_kernels nor in th_not_elementwise",
                 listed[i].name, listed[i].family);
    }
}

/* ---- memory, threads, comparison ------------------------------------------------------- */

/* The same inputs for every run: values around 1 with NaN, +-Inf, -0 and a denormal
   sprinkled in (array a[i] gets its own stream). */
static void th_fill(th_mem *m) {
    int i;
    for (i = 0; i < TH_ARRAYS; i++) {
        uint64_t seed = 1000u + (uint64_t)i;
        size_t j;
        /* a[0], a[1] (parameters, gradients, inputs) take both signs; state arrays start
           non-negative, as second moments and variances do, so they do not turn all-NaN */
        to_rand_fill(&seed, m->a[i], TH_N, i < 2 ? -1.5f : 0.0f, 1.5f);
        if (i == 0 || i == 1)
            for (j = 17; j < TH_N; j += 97) m->a[i][j] = (j / 97) % 4 == 0 ? NAN : (j / 97) % 4 == 1 ? INFINITY
                                                                          : (j / 97) % 4 == 2 ? -0.0f : 1e-40f;
    }
    memset(m->mask, 0xa5, sizeof m->mask);
    m->found_inf[0] = m->found_inf[1] = 0;
    m->status = TRAINOPT_OK;
}

static th_mem *th_mem_new(void) {
    th_mem *m = (th_mem *)calloc(1, sizeof *m);
    int i;
    if (!m) exit(2);
    for (i = 0; i < TH_ARRAYS; i++)
        if (!(m->a[i] = (float *)malloc(TH_N * sizeof(float)))) exit(2);
    th_fill(m);
    return m;
}

static void th_mem_free(th_mem *m) {
    int i;
    for (i = 0; i < TH_ARRAYS; i++) free(m->a[i]);
    free(m);
}

typedef struct {
    const th_kernel *k;
    th_mem *m;
    size_t begin[2], end[2];
    int first, count; /* chunks first .. first+count-1 */
} th_job;

static void *th_worker(void *arg) {
    th_job *j = (th_job *)arg;
    int c;
    for (c = j->first; c < j->first + j->count; c++) j->k->run(j->m, c, j->begin[c], j->end[c]);
    return NULL;
}

/* Runs the kernel split at `split` on `threads` worker threads (1: both chunks in order on one). */
static int th_split_run(const th_kernel *k, th_mem *m, size_t split, int threads) {
    th_job jobs[2];
    pthread_t tid[2];
    int i;
    for (i = 0; i < 2; i++) {
        jobs[i].k = k, jobs[i].m = m;
        jobs[i].begin[0] = 0, jobs[i].end[0] = split, jobs[i].begin[1] = split, jobs[i].end[1] = k->range;
        jobs[i].first = threads == 2 ? i : 0;
        jobs[i].count = threads == 2 ? 1 : 2;
    }
    for (i = 0; i < threads; i++)
        if (pthread_create(&tid[i], NULL, th_worker, &jobs[i]) != 0) return 0;
    for (i = 0; i < threads; i++) pthread_join(tid[i], NULL);
    return 1;
}

static void th_compare(to_ctx *t, const th_kernel *k, const th_mem *whole, const th_mem *split, const char *how) {
    char what[96];
    int i;
    TO_CHECK(t, split->status == TRAINOPT_OK, "%s %s: a call returned status %d", k->name, how, split->status);
    for (i = 0; i < k->arrays; i++) {
        snprintf(what, sizeof what, "%s %s: array %d", k->name, how, i);
        if (k->run == th_random && i == 0) /* raw 32-bit words: every bit counts */
            TO_CHECK(t, memcmp(split->a[0], whole->a[0], TH_N * sizeof(float)) == 0, "%s differs", what);
        else
            to_bits_equal(t, what, split->a[i], whole->a[i], TH_N);
    }
    TO_CHECK(t, memcmp(split->mask, whole->mask, sizeof whole->mask) == 0, "%s %s: dropout masks differ", k->name, how);
    TO_CHECK(t, (split->found_inf[0] + split->found_inf[1] != 0) == (whole->found_inf[0] != 0) &&
                    (k->run != th_adamw_ex || split->found_inf[0] + split->found_inf[1] == whole->found_inf[0]),
             "%s %s: found_inf / non-finite count %d + %d, whole call %d", k->name, how, split->found_inf[0],
             split->found_inf[1], whole->found_inf[0]);
}

static const th_kernel *th_current;
static void th_test_current(to_ctx *t) {
    const th_kernel *k = th_current;
    th_mem *whole = th_mem_new(), *split = th_mem_new();
    int s, threads;
    k->run(whole, 0, 0, k->range);
    TO_CHECK(t, whole->status == TRAINOPT_OK, "%s: the whole call returned status %d", k->name, whole->status);
    for (s = 0; s < 3; s++)
        for (threads = 1; threads <= 2; threads++) {
            char how[64];
            th_fill(split);
            snprintf(how, sizeof how, "split at %zu on %d thread%s", k->splits[s], threads, threads > 1 ? "s" : "");
            if (!th_split_run(k, split, k->splits[s], threads)) {
                to_fail(t, "%s: pthread_create failed", k->name);
                continue;
            }
            th_compare(t, k, whole, split, how);
        }
    th_mem_free(whole);
    th_mem_free(split);
}

void TO_NAME(threads_tests)(to_ctx *t) {
    size_t i;
    to_run(t, "complete", th_complete);
    for (i = 0; i < TH_COUNT; i++) {
        th_current = &th_kernels[i];
        to_run(t, th_kernels[i].name, th_test_current);
    }
}

/* The whole calls' outputs: the same bits on every backend, every build, and every run. */
void TO_NAME(threads_battery)(to_sink *sink) {
    size_t i;
    for (i = 0; i < TH_COUNT; i++) {
        th_mem *m = th_mem_new();
        char name[64];
        int a;
        th_kernels[i].run(m, 0, 0, th_kernels[i].range);
        for (a = 0; a < th_kernels[i].arrays; a++) {
            snprintf(name, sizeof name, "%s/array%d", th_kernels[i].name, a);
            if (th_kernels[i].run == th_random && a == 0) to_emit(sink, name, m->a[a], TH_N * sizeof(float)); /* words */
            else to_emit_floats(sink, name, m->a[a], TH_N);
        }
        snprintf(name, sizeof name, "%s/mask", th_kernels[i].name);
        to_emit(sink, name, m->mask, sizeof m->mask);
        snprintf(name, sizeof name, "%s/status", th_kernels[i].name);
        to_emit_status(sink, name, m->status);
        th_mem_free(m);
    }
}
