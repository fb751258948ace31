/* trainopt.h - SIMD training kernels in one C header.        version 0.1.0

   Optimizer update rules, learning-rate schedules, batch normalization,
   dropout, regularization, gradient utilities, losses and weight
   initialization, vectorized for AVX-512, AVX2+FMA and ARM NEON with a scalar
   fallback chosen at compile time. The math follows PyTorch 1.13, and every
   backend gives bit-identical results.

   DO THIS
   -------
       #include "trainopt.h"      // and keep trainopt_simd.h beside it

       trainopt_adam_config cfg = TRAINOPT_ADAMW_DEFAULTS;
       cfg.lr = 3e-4;
       for (int64_t step = 1; step <= steps; step++) {
           backward(model, grad);                 // your code
           trainopt_status s = trainopt_adamw_step(&cfg, step, n, param, grad, m, v, NULL);
           if (s != TRAINOPT_OK) { fprintf(stderr, "%s\n", trainopt_status_str(s)); abort(); }
       }

   Compile with the vector ISA you want the kernels to use (-mavx2 -mfma,
   -mavx512f, -march=native, or nothing for the scalar fallback).

   CONTENTS (each name is a greppable marker in the body: search ">>name")
     >>status       trainopt_status, trainopt_status_str, trainopt_backend
     >>validate     argument checks shared by every kernel
     >>stepopts     trainopt_step_opts: the fused step (gradient scale, skip, non-finite count)
     >>sgd          trainopt_sgd_step, trainopt_sgd_step_ex
     >>adagrad      trainopt_adagrad_init, trainopt_adagrad_step, trainopt_adagrad_step_ex
     >>rmsprop      trainopt_rmsprop_step, trainopt_rmsprop_step_ex
     >>adam         trainopt_adam_step, trainopt_adamw_step, and their _ex forms (AMSGrad included)

   COMPILE-TIME OPTIONS
     TRAINOPT_API         storage class of every function; default `static inline`
                          (each translation unit gets private copies; no link step).
     TRAINOPT_NO_SIMD     force the scalar backend (same results, several times slower).
     TRAINOPT_NO_AVX512   cap x86 at AVX2+FMA even where -mavx512f is given
                          (useful where 512-bit code lowers the clock).
     TRAINOPT_SIMDE_NEON  testing only: the NEON backend through SIMDe on any CPU.
     TRAINOPT_ALLOW_FAST_MATH  silence the warning under -ffast-math (which voids
                          the NaN and bit-identity guarantees).

   OPTIMIZERS (torch.optim, PyTorch 1.13 single-tensor path)
     All update `param` and their state in place, in one pass over memory. `step`
     is the 1-based number of the update being applied. g is the gradient, negated
     first when `maximize` is set. Per-step scalars (1 - beta, bias corrections,
     lr/(1+(step-1)*lr_decay), 1 - lr*wd) are computed in double and rounded to
     float once per call; the elementwise math is float.

     SGD (torch.optim.SGD). momentum_buf is NULL iff momentum == 0.
         if wd:        g = g + wd*p
         if momentum:  b = (step == 1) ? g : momentum*b + (1-dampening)*g
                       g = nesterov ? g + momentum*b : b
         p = p - lr*g
     Adagrad (torch.optim.Adagrad). state_sum starts at initial_accumulator_value
     (trainopt_adagrad_init).
         if wd: g = g + wd*p
         s = s + g*g;   p = p - clr * g / (sqrt(s) + eps),   clr = lr / (1 + (step-1)*lr_decay)
     RMSprop (torch.optim.RMSprop). momentum_buf NULL iff momentum == 0; grad_avg
     NULL iff !centered.
         if wd: g = g + wd*p
         v = alpha*v + (1-alpha)*g*g
         if centered: a = alpha*a + (1-alpha)*g;  d = sqrt(v - a*a) + eps
         else:        d = sqrt(v) + eps
         if momentum: b = momentum*b + g/d;  p = p - lr*b
         else:        p = p - lr*g/d
     Adam (torch.optim.Adam), AMSGrad with cfg.amsgrad (max_exp_avg_sq NULL iff !amsgrad).
         if wd: g = g + wd*p                  (Adam: L2 penalty in the gradient)
         m = beta1*m + (1-beta1)*g
         v = beta2*v + (1-beta2)*g*g
         if amsgrad: vmax = max(vmax, v) and vmax replaces v below (NaN propagates)
         d = sqrt(v) / sqrt(1-beta2^step) + eps
         p = p - (lr / (1-beta1^step)) * m / d
     AdamW (torch.optim.AdamW) is Adam with decoupled weight decay: first
         p = p * (1 - lr*wd), then the Adam update without the L2 term.
     Defaults are PyTorch's: TRAINOPT_SGD_DEFAULTS (lr 1e-3: PyTorch 1.13 has no
     default lr for SGD; 2.x uses 1e-3), TRAINOPT_ADAGRAD_DEFAULTS (lr 1e-2, eps 1e-10),
     TRAINOPT_RMSPROP_DEFAULTS (lr 1e-2, alpha 0.99, eps 1e-8), TRAINOPT_ADAM_DEFAULTS
     (lr 1e-3, betas 0.9/0.999, eps 1e-8), TRAINOPT_ADAMW_DEFAULTS (the same, wd 1e-2).
     State arrays other than Adagrad's start at zero.

   THE FUSED STEP (every optimizer's _ex form)
     trainopt_<opt>_step_ex(..., const trainopt_step_opts *o) is the plain step with
     three options applied in the same single pass over memory:
       o->grad_scale  every gradient is first multiplied by (float)grad_scale. Fold
                      mixed precision's 1/loss_scale and clip_grad_norm's coefficient
                      into this one number. The result is bit for bit the plain step
                      applied to gradients already multiplied by (float)grad_scale.
       o->found_inf   if non-NULL and nonzero, the step is skipped: nothing is read or
                      written and the call returns TRAINOPT_OK (GradScaler's skip).
       o->nonfinite   if non-NULL, receives the number of scaled gradients that are
                      NaN or +-Inf (0 when the step is skipped).
     o == NULL is the plain step. A NaN, Inf or negative grad_scale is TRAINOPT_ERR_HPARAM.
     Recommended loop with loss scaling and norm clipping: compute the global norm of the
     raw gradients, set grad_scale = (1/loss_scale) * min(1, max_norm/(norm/loss_scale + 1e-6)),
     skip (found_inf) when the norm is not finite, then one _ex call per tensor: the gradients
     are read once instead of three times (unscale, clip, step).

   ERRORS
     Every kernel returns trainopt_status and checks all of its arguments before
     it writes anything: on an error, not one element of any output or state has
     changed. n == 0 is a successful no-op (pointers may then be NULL).
       TRAINOPT_ERR_NULL    a required pointer is NULL, or state the config needs is missing
                            (state the config does not need may be NULL or not; it is not touched)
       TRAINOPT_ERR_HPARAM  a hyperparameter is NaN/Inf or outside the range PyTorch accepts:
                            lr, eps, weight_decay, momentum, lr_decay, initial_accumulator_value < 0;
                            betas outside [0, 1); alpha outside [0, 1]; nesterov without
                            momentum or with dampening
       TRAINOPT_ERR_STEP    step < 1
       TRAINOPT_ERR_SHAPE   n * sizeof(float) overflows size_t
       TRAINOPT_ERR_ALIAS   two of the arrays overlap (optimizer arrays must be disjoint)
       TRAINOPT_ERR_INDEX   an index out of range: a class label outside [0, classes) that is
                            not ignore_index
     NaN and Inf in gradients or parameters are data, not errors: they propagate
     exactly as in PyTorch.

   PRECISION AND REPRODUCIBILITY
     For the same inputs every backend (scalar, avx2, avx512, neon) gives the same
     output bits, at any optimization level, with gcc or clang and any
     -ffp-contract setting: every product that feeds a sum is an explicit fused
     multiply-add, only IEEE sqrt and division are used, tails run the same
     kernel body on a partial vector, reductions use one fixed order, and
     beta^step is computed by repeated squaring in double rather than libm pow.
     Splitting a range into chunks, one call per chunk, gives the same bits as
     one call. -ffast-math voids all of this.
     Against PyTorch the results agree to a few float ulps per step, not bit for
     bit: PyTorch's own CPU kernels differ by build (its vectorized addcmul may
     or may not be contracted to an FMA), and trainopt multiplies by the
     precomputed 1/sqrt(1-beta2^step) where PyTorch divides by it.

   LICENSE
     MIT. Copyright (c) 2026 the trainopt authors. See LICENSE.
*/
#ifndef TRAINOPT_H
#define TRAINOPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h> /* strtod, for trainopt_schedule_parse */
#include <math.h>
#include "trainopt_simd.h"

#define TRAINOPT_VERSION_MAJOR 0
#define TRAINOPT_VERSION_MINOR 1
#define TRAINOPT_VERSION_PATCH 0

#ifndef TRAINOPT_API
#define TRAINOPT_API static inline
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* >>status: one X-macro list makes both the enum and the strings, so they cannot drift. */
#define TRAINOPT__STATUS_LIST(X)                                                     \
    X(TRAINOPT_OK, "ok")                                                             \
    X(TRAINOPT_ERR_NULL, "null pointer (or state required by the config is missing)") \
    X(TRAINOPT_ERR_HPARAM, "hyperparameter out of range or not finite")              \
    X(TRAINOPT_ERR_STEP, "step must be >= 1")                                        \
    X(TRAINOPT_ERR_SHAPE, "invalid shape (zero dimension or size overflow)")         \
    X(TRAINOPT_ERR_ALIAS, "buffers overlap")                                           \
    X(TRAINOPT_ERR_INDEX, "index out of range (a class label)")

typedef enum trainopt_status {
#define TRAINOPT__STATUS_ENUM(name, text) name,
    TRAINOPT__STATUS_LIST(TRAINOPT__STATUS_ENUM)
#undef TRAINOPT__STATUS_ENUM
    TRAINOPT__STATUS_COUNT
} trainopt_status;

TRAINOPT_API const char *trainopt_status_str(trainopt_status s) {
    static const char *const text[] = {
#define TRAINOPT__STATUS_TEXT(name, text) text,
        TRAINOPT__STATUS_LIST(TRAINOPT__STATUS_TEXT)
#undef TRAINOPT__STATUS_TEXT
    };
    return ((unsigned)s < (unsigned)TRAINOPT__STATUS_COUNT) ? text[s] : "unknown status";
}

/* The backend this translation unit was compiled for: "avx512", "avx2", "neon", "scalar". */
TRAINOPT_API const char *trainopt_backend(void) { return TRAINOPT_SIMD_NAME; }

/* >>validate: shared argument checks. */
TRAINOPT__FORCE_INLINE int trainopt__finite(double x) { return x - x == 0.0; } /* false for NaN and +-Inf */
TRAINOPT__FORCE_INLINE int trainopt__nonneg(double x) { return trainopt__finite(x) && x >= 0.0; }
TRAINOPT__FORCE_INLINE int trainopt__in_01(double x) { return trainopt__finite(x) && x >= 0.0 && x < 1.0; } /* [0, 1) */

/* Whether two byte ranges share a byte (empty ranges share none). */
TRAINOPT__FORCE_INLINE int trainopt__overlap(const void *a, size_t abytes, const void *b, size_t bbytes) {
    const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return abytes && bbytes && x < y + bbytes && y < x + abytes;
}

/* A set of arrays of n floats each; NULL entries are absent (state not in use). */
typedef struct {
    const void *ptr[6];
    int count;
} trainopt__arrays;

/* NULL check, size check and pairwise-disjointness check of the arrays a kernel writes or reads. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__check_arrays(const trainopt__arrays *a, size_t n) {
    int i, j;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    for (i = 0; i < a->count; i++)
        if (a->ptr[i] == NULL) return TRAINOPT_ERR_NULL;
    for (i = 0; i < a->count; i++)
        for (j = i + 1; j < a->count; j++)
            if (trainopt__overlap(a->ptr[i], n * sizeof(float), a->ptr[j], n * sizeof(float))) return TRAINOPT_ERR_ALIAS;
    return TRAINOPT_OK;
}

/* beta^step by repeated squaring: libm pow may differ in the last bit between
   platforms, and bias corrections must be the same everywhere. */
TRAINOPT__FORCE_INLINE double trainopt__powi(double base, int64_t e) {
    double r = 1.0;
    while (e > 0) {
        if (e & 1) r *= base;
        base *= base;
        e >>= 1;
    }
    return r;
}

/* >>stepopts: the fused step. Every optimizer has an _ex form taking these options. */
typedef struct {
    double grad_scale;      /* every gradient is multiplied by (float)grad_scale before use: fold AMP's
                               1/loss_scale and clip_grad_norm's coefficient into this one number; 1 = none */
    const int *found_inf;   /* when non-NULL and *found_inf != 0 the step is skipped: nothing is read or
                               written and the call returns TRAINOPT_OK (AMP's GradScaler skip) */
    size_t *nonfinite;      /* when non-NULL, receives the number of scaled gradients that are NaN or +-Inf */
} trainopt_step_opts;
#define TRAINOPT_STEP_OPTS_DEFAULTS {1.0, NULL, NULL}

/* How a kernel reads its gradient: times `scale` when scaled, negated by xor with `sign` (maximize). */
typedef struct {
    float scale;
    uint32_t sign;
} trainopt__grad_in;

TRAINOPT__FORCE_INLINE trainopt__grad_in trainopt__grad_in_make(int maximize, const trainopt_step_opts *o) {
    trainopt__grad_in gi;
    gi.scale = o ? (float)o->grad_scale : 1.0f;
    gi.sign = maximize ? 0x80000000u : 0u; /* xor with the sign bit negates exactly, NaN included */
    return gi;
}

/* k gradients from grad + i, scaled, counted when not finite, then negated for maximize.
   `scaled` is a compile-time constant at each call site and `nonfinite` a literal NULL
   in the plain steps, so the plain loops carry none of this. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__grad_load(const trainopt__grad_in *gi, const float *grad, size_t i, size_t k,
                                                        int scaled, size_t *nonfinite) {
    trainopt__vf g = trainopt__v_load_n(grad + i, k);
    if (scaled) g = trainopt__v_mul(g, trainopt__v_set1(gi->scale));
    if (nonfinite) {
        trainopt__vm bad = trainopt__m_not(trainopt__v_lt(trainopt__v_abs(g), trainopt__v_set1(INFINITY)));
        if (k != TRAINOPT_SIMD_LANES) bad = trainopt__m_and(bad, trainopt__m_first(k));
        *nonfinite += trainopt__popcount(trainopt__m_bits(bad));
    }
    return trainopt__v_xor_bits(g, gi->sign);
}

/* Checks the options; tells the caller to skip the step (returning OK) when found_inf is set. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__step_opts_check(const trainopt_step_opts *o, int *skip) {
    *skip = 0;
    if (o == NULL) return TRAINOPT_OK;
    /* A skipped step ignores the scale: with AMP it is often NaN exactly when found_inf is set. */
    *skip = o->found_inf != NULL && *o->found_inf != 0;
    if (!*skip && !trainopt__nonneg(o->grad_scale)) return TRAINOPT_ERR_HPARAM;
    return TRAINOPT_OK;
}

/* Runs LOOP(scaled, nonfinite) as the plain step (o == NULL) or as the fused step, and reports the count. */
#define TRAINOPT__RUN_STEP(o, LOOP)                                      \
    do {                                                                 \
        if ((o) == NULL) {                                               \
            LOOP(0, (size_t *)NULL);                                     \
        } else {                                                         \
            size_t trainopt__bad = 0;                                    \
            LOOP((o)->grad_scale != 1.0, &trainopt__bad);                \
            if ((o)->nonfinite) *(o)->nonfinite = trainopt__bad;         \
        }                                                                \
    } while (0)

/* >>sgd */
typedef struct {
    double lr, momentum, dampening, weight_decay;
    int nesterov, maximize;
} trainopt_sgd_config;
#define TRAINOPT_SGD_DEFAULTS {1e-3, 0.0, 0.0, 0.0, 0, 0}

typedef struct {
    trainopt__grad_in gi;
    float neg_lr, weight_decay, momentum, one_minus_dampening;
} trainopt__sgd_scalars;

/* One vector of k <= LANES elements at offset i. The flags are compile-time
   constants at each call site, so every option combination gets its own loop. */
TRAINOPT__FORCE_INLINE void trainopt__sgd_lanes(const trainopt__sgd_scalars *s, size_t i, size_t k, int scaled,
                                                size_t *nonfinite, int has_wd, int has_momentum, int first_step,
                                                int nesterov, float *param, const float *grad, float *buf) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    if (has_wd) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    if (has_momentum) {
        trainopt__vf b;
        if (first_step) {
            b = g; /* PyTorch clones d_p into a new buffer on the first step */
        } else {
            b = trainopt__v_mul(trainopt__v_load_n(buf + i, k), trainopt__v_set1(s->momentum));
            b = trainopt__v_fma(trainopt__v_set1(s->one_minus_dampening), g, b);
        }
        trainopt__v_store_n(buf + i, b, k);
        g = nesterov ? trainopt__v_fma(trainopt__v_set1(s->momentum), b, g) : b;
    }
    trainopt__v_store_n(param + i, trainopt__v_fma(trainopt__v_set1(s->neg_lr), g, p), k);
}

TRAINOPT__FORCE_INLINE void trainopt__sgd_loop(const trainopt__sgd_scalars *s, size_t n, int scaled, size_t *nonfinite,
                                               int has_wd, int has_momentum, int first_step, int nesterov,
                                               float *param, const float *grad, float *buf) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__sgd_lanes(s, i, TRAINOPT_SIMD_LANES, scaled, nonfinite, has_wd, has_momentum, first_step, nesterov,
                            param, grad, buf);
    if (i < n)
        trainopt__sgd_lanes(s, i, n - i, scaled, nonfinite, has_wd, has_momentum, first_step, nesterov, param, grad, buf);
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__sgd_run(const trainopt_sgd_config *c, int64_t step, size_t n, float *param,
                                                         const float *grad, float *buf, const trainopt_step_opts *o) {
    trainopt__sgd_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int has_wd, has_momentum, skip;
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__nonneg(c->lr) || !trainopt__nonneg(c->momentum) || !trainopt__finite(c->dampening) ||
        !trainopt__nonneg(c->weight_decay) || (c->nesterov && (c->momentum <= 0.0 || c->dampening != 0.0)))
        return TRAINOPT_ERR_HPARAM;
    if ((st = trainopt__step_opts_check(o, &skip)) != TRAINOPT_OK) return st;
    if (step < 1) return TRAINOPT_ERR_STEP;
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    has_wd = c->weight_decay != 0.0;
    has_momentum = c->momentum != 0.0;
    arrays.ptr[0] = param; arrays.ptr[1] = grad; arrays.ptr[2] = buf;
    arrays.count = has_momentum ? 3 : 2;
    if ((st = trainopt__check_arrays(&arrays, n)) != TRAINOPT_OK) return st;

    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.neg_lr = (float)-c->lr;
    s.weight_decay = (float)c->weight_decay;
    s.momentum = (float)c->momentum;
    s.one_minus_dampening = (float)(1.0 - c->dampening);
    /* The common configurations get their own loop; the rest share a generic one. */
#define TRAINOPT__SGD_LOOP(scaled, bad)                                                                         \
    if (!has_momentum) {                                                                                        \
        if (has_wd) trainopt__sgd_loop(&s, n, scaled, bad, 1, 0, 0, 0, param, grad, NULL);                      \
        else trainopt__sgd_loop(&s, n, scaled, bad, 0, 0, 0, 0, param, grad, NULL);                             \
    } else if (step == 1) {                                                                                     \
        trainopt__sgd_loop(&s, n, scaled, bad, has_wd, 1, 1, c->nesterov, param, grad, buf);                    \
    } else if (c->nesterov) {                                                                                   \
        trainopt__sgd_loop(&s, n, scaled, bad, has_wd, 1, 0, 1, param, grad, buf);                              \
    } else if (has_wd) {                                                                                        \
        trainopt__sgd_loop(&s, n, scaled, bad, 1, 1, 0, 0, param, grad, buf);                                   \
    } else {                                                                                                    \
        trainopt__sgd_loop(&s, n, scaled, bad, 0, 1, 0, 0, param, grad, buf);                                   \
    }
    TRAINOPT__RUN_STEP(o, TRAINOPT__SGD_LOOP);
#undef TRAINOPT__SGD_LOOP
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_sgd_step(const trainopt_sgd_config *c, int64_t step, size_t n, float *param,
                                              const float *grad, float *momentum_buf) {
    return trainopt__sgd_run(c, step, n, param, grad, momentum_buf, NULL);
}

TRAINOPT_API trainopt_status trainopt_sgd_step_ex(const trainopt_sgd_config *c, int64_t step, size_t n, float *param,
                                                 const float *grad, float *momentum_buf, const trainopt_step_opts *o) {
    return trainopt__sgd_run(c, step, n, param, grad, momentum_buf, o);
}

/* >>adagrad */
typedef struct {
    double lr, lr_decay, weight_decay, initial_accumulator_value, eps;
    int maximize;
} trainopt_adagrad_config;
#define TRAINOPT_ADAGRAD_DEFAULTS {1e-2, 0.0, 0.0, 0.0, 1e-10, 0}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__adagrad_check(const trainopt_adagrad_config *c) {
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__nonneg(c->lr) || !trainopt__nonneg(c->lr_decay) || !trainopt__nonneg(c->weight_decay) ||
        !trainopt__nonneg(c->initial_accumulator_value) || !trainopt__nonneg(c->eps))
        return TRAINOPT_ERR_HPARAM;
    return TRAINOPT_OK;
}

/* Fills state_sum with initial_accumulator_value, as torch.optim.Adagrad's constructor does. */
TRAINOPT_API trainopt_status trainopt_adagrad_init(const trainopt_adagrad_config *c, size_t n, float *state_sum) {
    trainopt_status st = trainopt__adagrad_check(c);
    size_t i;
    if (st != TRAINOPT_OK) return st;
    if (n == 0) return TRAINOPT_OK;
    if (state_sum == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    for (i = 0; i < n; i++) state_sum[i] = (float)c->initial_accumulator_value;
    return TRAINOPT_OK;
}

typedef struct {
    trainopt__grad_in gi;
    float neg_clr, weight_decay, eps;
} trainopt__adagrad_scalars;

TRAINOPT__FORCE_INLINE void trainopt__adagrad_lanes(const trainopt__adagrad_scalars *s, size_t i, size_t k, int scaled,
                                                    size_t *nonfinite, int has_wd, float *param, const float *grad,
                                                    float *state_sum) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf sum, std;
    if (has_wd) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    sum = trainopt__v_fma(g, g, trainopt__v_load_n(state_sum + i, k));
    std = trainopt__v_add(trainopt__v_sqrt(sum), trainopt__v_set1(s->eps));
    /* addcdiv: p + (value * g) / std */
    p = trainopt__v_add(p, trainopt__v_div(trainopt__v_mul(trainopt__v_set1(s->neg_clr), g), std));
    trainopt__v_store_n(state_sum + i, sum, k);
    trainopt__v_store_n(param + i, p, k);
}

TRAINOPT__FORCE_INLINE void trainopt__adagrad_loop(const trainopt__adagrad_scalars *s, size_t n, int scaled,
                                                   size_t *nonfinite, int has_wd, float *param, const float *grad,
                                                   float *state_sum) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__adagrad_lanes(s, i, TRAINOPT_SIMD_LANES, scaled, nonfinite, has_wd, param, grad, state_sum);
    if (i < n) trainopt__adagrad_lanes(s, i, n - i, scaled, nonfinite, has_wd, param, grad, state_sum);
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__adagrad_run(const trainopt_adagrad_config *c, int64_t step, size_t n,
                                                             float *param, const float *grad, float *state_sum,
                                                             const trainopt_step_opts *o) {
    trainopt__adagrad_scalars s;
    trainopt__arrays arrays;
    trainopt_status st = trainopt__adagrad_check(c);
    int skip;
    if (st != TRAINOPT_OK) return st;
    if ((st = trainopt__step_opts_check(o, &skip)) != TRAINOPT_OK) return st;
    if (step < 1) return TRAINOPT_ERR_STEP;
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    arrays.ptr[0] = param; arrays.ptr[1] = grad; arrays.ptr[2] = state_sum;
    arrays.count = 3;
    if ((st = trainopt__check_arrays(&arrays, n)) != TRAINOPT_OK) return st;

    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.neg_clr = (float)-(c->lr / fma((double)(step - 1), c->lr_decay, 1.0));
    s.weight_decay = (float)c->weight_decay;
    s.eps = (float)c->eps;
#define TRAINOPT__ADAGRAD_LOOP(scaled, bad)                                                  \
    if (c->weight_decay != 0.0) trainopt__adagrad_loop(&s, n, scaled, bad, 1, param, grad, state_sum); \
    else trainopt__adagrad_loop(&s, n, scaled, bad, 0, param, grad, state_sum);
    TRAINOPT__RUN_STEP(o, TRAINOPT__ADAGRAD_LOOP);
#undef TRAINOPT__ADAGRAD_LOOP
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_adagrad_step(const trainopt_adagrad_config *c, int64_t step, size_t n,
                                                  float *param, const float *grad, float *state_sum) {
    return trainopt__adagrad_run(c, step, n, param, grad, state_sum, NULL);
}

TRAINOPT_API trainopt_status trainopt_adagrad_step_ex(const trainopt_adagrad_config *c, int64_t step, size_t n,
                                                     float *param, const float *grad, float *state_sum,
                                                     const trainopt_step_opts *o) {
    return trainopt__adagrad_run(c, step, n, param, grad, state_sum, o);
}

/* >>rmsprop */
typedef struct {
    double lr, alpha, eps, weight_decay, momentum;
    int centered, maximize;
} trainopt_rmsprop_config;
#define TRAINOPT_RMSPROP_DEFAULTS {1e-2, 0.99, 1e-8, 0.0, 0.0, 0, 0}

typedef struct {
    trainopt__grad_in gi;
    float neg_lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
} trainopt__rmsprop_scalars;

TRAINOPT__FORCE_INLINE void trainopt__rmsprop_lanes(const trainopt__rmsprop_scalars *s, size_t i, size_t k, int scaled,
                                                    size_t *nonfinite, int has_wd, int centered, int has_momentum,
                                                    float *param, const float *grad, float *square_avg,
                                                    float *momentum_buf, float *grad_avg) {
    const trainopt__vf alpha = trainopt__v_set1(s->alpha), one_minus_alpha = trainopt__v_set1(s->one_minus_alpha);
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf sq, avg;
    if (has_wd) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    sq = trainopt__v_mul(trainopt__v_load_n(square_avg + i, k), alpha);
    sq = trainopt__v_fma(trainopt__v_mul(one_minus_alpha, g), g, sq);
    trainopt__v_store_n(square_avg + i, sq, k);
    if (centered) {
        trainopt__vf a = trainopt__v_mul(trainopt__v_load_n(grad_avg + i, k), alpha);
        a = trainopt__v_fma(one_minus_alpha, g, a);
        trainopt__v_store_n(grad_avg + i, a, k);
        avg = trainopt__v_sqrt(trainopt__v_fnma(a, a, sq));
    } else {
        avg = trainopt__v_sqrt(sq);
    }
    avg = trainopt__v_add(avg, trainopt__v_set1(s->eps));
    if (has_momentum) {
        /* buf.mul_(momentum).addcdiv_(g, avg), as one FMA so no compiler can fuse it differently */
        trainopt__vf b = trainopt__v_fma(trainopt__v_load_n(momentum_buf + i, k), trainopt__v_set1(s->momentum),
                                         trainopt__v_div(g, avg));
        trainopt__v_store_n(momentum_buf + i, b, k);
        p = trainopt__v_fma(trainopt__v_set1(s->neg_lr), b, p);
    } else {
        p = trainopt__v_add(p, trainopt__v_div(trainopt__v_mul(trainopt__v_set1(s->neg_lr), g), avg));
    }
    trainopt__v_store_n(param + i, p, k);
}

TRAINOPT__FORCE_INLINE void trainopt__rmsprop_loop(const trainopt__rmsprop_scalars *s, size_t n, int scaled,
                                                   size_t *nonfinite, int has_wd, int centered, int has_momentum,
                                                   float *param, const float *grad, float *square_avg,
                                                   float *momentum_buf, float *grad_avg) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__rmsprop_lanes(s, i, TRAINOPT_SIMD_LANES, scaled, nonfinite, has_wd, centered, has_momentum, param,
                                grad, square_avg, momentum_buf, grad_avg);
    if (i < n)
        trainopt__rmsprop_lanes(s, i, n - i, scaled, nonfinite, has_wd, centered, has_momentum, param, grad,
                                square_avg, momentum_buf, grad_avg);
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__rmsprop_run(const trainopt_rmsprop_config *c, int64_t step, size_t n,
                                                             float *param, const float *grad, float *square_avg,
                                                             float *momentum_buf, float *grad_avg,
                                                             const trainopt_step_opts *o) {
    trainopt__rmsprop_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int has_wd, has_momentum, skip;
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__nonneg(c->lr) || !trainopt__nonneg(c->alpha) || c->alpha > 1.0 || !trainopt__nonneg(c->eps) ||
        !trainopt__nonneg(c->weight_decay) || !trainopt__nonneg(c->momentum))
        return TRAINOPT_ERR_HPARAM;
    if ((st = trainopt__step_opts_check(o, &skip)) != TRAINOPT_OK) return st;
    if (step < 1) return TRAINOPT_ERR_STEP;
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    has_wd = c->weight_decay != 0.0;
    has_momentum = c->momentum > 0.0;
    arrays.ptr[0] = param; arrays.ptr[1] = grad; arrays.ptr[2] = square_avg;
    arrays.count = 3;
    if (has_momentum) arrays.ptr[arrays.count++] = momentum_buf;
    if (c->centered) arrays.ptr[arrays.count++] = grad_avg;
    if ((st = trainopt__check_arrays(&arrays, n)) != TRAINOPT_OK) return st;

    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.neg_lr = (float)-c->lr;
    s.alpha = (float)c->alpha;
    s.one_minus_alpha = (float)(1.0 - c->alpha);
    s.eps = (float)c->eps;
    s.weight_decay = (float)c->weight_decay;
    s.momentum = (float)c->momentum;
#define TRAINOPT__RMSPROP_LOOP(scaled, bad)                                                                        \
    if (!has_wd && !c->centered && !has_momentum)                                                                  \
        trainopt__rmsprop_loop(&s, n, scaled, bad, 0, 0, 0, param, grad, square_avg, NULL, NULL);                  \
    else                                                                                                           \
        trainopt__rmsprop_loop(&s, n, scaled, bad, has_wd, c->centered, has_momentum, param, grad, square_avg,     \
                               momentum_buf, grad_avg);
    TRAINOPT__RUN_STEP(o, TRAINOPT__RMSPROP_LOOP);
#undef TRAINOPT__RMSPROP_LOOP
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_rmsprop_step(const trainopt_rmsprop_config *c, int64_t step, size_t n,
                                                  float *param, const float *grad, float *square_avg,
                                                  float *momentum_buf, float *grad_avg) {
    return trainopt__rmsprop_run(c, step, n, param, grad, square_avg, momentum_buf, grad_avg, NULL);
}

TRAINOPT_API trainopt_status trainopt_rmsprop_step_ex(const trainopt_rmsprop_config *c, int64_t step, size_t n,
                                                     float *param, const float *grad, float *square_avg,
                                                     float *momentum_buf, float *grad_avg, const trainopt_step_opts *o) {
    return trainopt__rmsprop_run(c, step, n, param, grad, square_avg, momentum_buf, grad_avg, o);
}

/* >>adam */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int amsgrad, maximize;
} trainopt_adam_config;
#define TRAINOPT_ADAM_DEFAULTS {1e-3, 0.9, 0.999, 1e-8, 0.0, 0, 0}
#define TRAINOPT_ADAMW_DEFAULTS {1e-3, 0.9, 0.999, 1e-8, 1e-2, 0, 0}

typedef struct {
    trainopt__grad_in gi;
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float inv_bias_correction2_sqrt, eps, neg_step_size;
    float weight_decay; /* Adam: L2 term added to the gradient */
    float decay_factor; /* AdamW: 1 - lr * weight_decay applied to the parameter */
} trainopt__adam_scalars;

TRAINOPT__FORCE_INLINE void trainopt__adam_lanes(const trainopt__adam_scalars *s, size_t i, size_t k, int scaled,
                                                 size_t *nonfinite, int l2, int decoupled, int amsgrad, float *param,
                                                 const float *grad, float *exp_avg, float *exp_avg_sq,
                                                 float *max_exp_avg_sq) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf m, v, denom, update;
    if (l2) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    m = trainopt__v_mul(trainopt__v_load_n(exp_avg + i, k), trainopt__v_set1(s->beta1));
    m = trainopt__v_fma(trainopt__v_set1(s->one_minus_beta1), g, m);
    v = trainopt__v_mul(trainopt__v_load_n(exp_avg_sq + i, k), trainopt__v_set1(s->beta2));
    v = trainopt__v_fma(trainopt__v_mul(trainopt__v_set1(s->one_minus_beta2), g), g, v);
    trainopt__v_store_n(exp_avg + i, m, k);
    trainopt__v_store_n(exp_avg_sq + i, v, k);
    if (amsgrad) {
        v = trainopt__v_max_nan(trainopt__v_load_n(max_exp_avg_sq + i, k), v);
        trainopt__v_store_n(max_exp_avg_sq + i, v, k);
    }
    denom = trainopt__v_fma(trainopt__v_sqrt(v), trainopt__v_set1(s->inv_bias_correction2_sqrt), trainopt__v_set1(s->eps));
    /* addcdiv: p + (-step_size * m) / denom; AdamW's decay p * (1 - lr*wd) is fused into that sum */
    update = trainopt__v_div(trainopt__v_mul(trainopt__v_set1(s->neg_step_size), m), denom);
    if (decoupled) p = trainopt__v_fma(p, trainopt__v_set1(s->decay_factor), update);
    else p = trainopt__v_add(p, update);
    trainopt__v_store_n(param + i, p, k);
}

TRAINOPT__FORCE_INLINE void trainopt__adam_loop(const trainopt__adam_scalars *s, size_t n, int scaled, size_t *nonfinite,
                                                int l2, int decoupled, int amsgrad, float *param, const float *grad,
                                                float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__adam_lanes(s, i, TRAINOPT_SIMD_LANES, scaled, nonfinite, l2, decoupled, amsgrad, param, grad, exp_avg,
                             exp_avg_sq, max_exp_avg_sq);
    if (i < n)
        trainopt__adam_lanes(s, i, n - i, scaled, nonfinite, l2, decoupled, amsgrad, param, grad, exp_avg, exp_avg_sq,
                             max_exp_avg_sq);
}

/* Shared by Adam and AdamW: validation, per-step scalars, and the choice of loop. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__adam_run(const trainopt_adam_config *c, int decoupled, int64_t step,
                                                          size_t n, float *param, const float *grad, float *exp_avg,
                                                          float *exp_avg_sq, float *max_exp_avg_sq,
                                                          const trainopt_step_opts *o) {
    trainopt__adam_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    double bias_correction1, bias_correction2;
    int l2, decay, skip;
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__nonneg(c->lr) || !trainopt__in_01(c->beta1) || !trainopt__in_01(c->beta2) ||
        !trainopt__nonneg(c->eps) || !trainopt__nonneg(c->weight_decay))
        return TRAINOPT_ERR_HPARAM;
    if ((st = trainopt__step_opts_check(o, &skip)) != TRAINOPT_OK) return st;
    if (step < 1) return TRAINOPT_ERR_STEP;
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    arrays.ptr[0] = param; arrays.ptr[1] = grad; arrays.ptr[2] = exp_avg; arrays.ptr[3] = exp_avg_sq;
    arrays.ptr[4] = max_exp_avg_sq;
    arrays.count = c->amsgrad ? 5 : 4;
    if ((st = trainopt__check_arrays(&arrays, n)) != TRAINOPT_OK) return st;

    bias_correction1 = 1.0 - trainopt__powi(c->beta1, step);
    bias_correction2 = 1.0 - trainopt__powi(c->beta2, step);
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.beta1 = (float)c->beta1;
    s.one_minus_beta1 = (float)(1.0 - c->beta1);
    s.beta2 = (float)c->beta2;
    s.one_minus_beta2 = (float)(1.0 - c->beta2);
    s.inv_bias_correction2_sqrt = (float)(1.0 / sqrt(bias_correction2));
    s.eps = (float)c->eps;
    s.neg_step_size = (float)-(c->lr / bias_correction1);
    s.weight_decay = (float)c->weight_decay;
    s.decay_factor = (float)fma(-c->lr, c->weight_decay, 1.0);
    l2 = !decoupled && c->weight_decay != 0.0;
    decay = decoupled && c->weight_decay != 0.0;
    /* Each (weight decay, amsgrad) combination gets its own loop. */
#define TRAINOPT__ADAM_LOOP(scaled, bad)                                                                             \
    if (c->amsgrad) {                                                                                                \
        if (l2) trainopt__adam_loop(&s, n, scaled, bad, 1, 0, 1, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq);  \
        else if (decay) trainopt__adam_loop(&s, n, scaled, bad, 0, 1, 1, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq); \
        else trainopt__adam_loop(&s, n, scaled, bad, 0, 0, 1, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq);     \
    } else {                                                                                                         \
        if (l2) trainopt__adam_loop(&s, n, scaled, bad, 1, 0, 0, param, grad, exp_avg, exp_avg_sq, NULL);            \
        else if (decay) trainopt__adam_loop(&s, n, scaled, bad, 0, 1, 0, param, grad, exp_avg, exp_avg_sq, NULL);    \
        else trainopt__adam_loop(&s, n, scaled, bad, 0, 0, 0, param, grad, exp_avg, exp_avg_sq, NULL);               \
    }
    TRAINOPT__RUN_STEP(o, TRAINOPT__ADAM_LOOP);
#undef TRAINOPT__ADAM_LOOP
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_adam_step(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                               const float *grad, float *exp_avg, float *exp_avg_sq,
                                               float *max_exp_avg_sq) {
    return trainopt__adam_run(c, 0, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, NULL);
}

TRAINOPT_API trainopt_status trainopt_adamw_step(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                                const float *grad, float *exp_avg, float *exp_avg_sq,
                                                float *max_exp_avg_sq) {
    return trainopt__adam_run(c, 1, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, NULL);
}

TRAINOPT_API trainopt_status trainopt_adam_step_ex(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                                  const float *grad, float *exp_avg, float *exp_avg_sq,
                                                  float *max_exp_avg_sq, const trainopt_step_opts *o) {
    return trainopt__adam_run(c, 0, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o);
}

TRAINOPT_API trainopt_status trainopt_adamw_step_ex(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                                   const float *grad, float *exp_avg, float *exp_avg_sq,
                                                   float *max_exp_avg_sq, const trainopt_step_opts *o) {
    return trainopt__adam_run(c, 1, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o);
}

/* Families under development, merged into this file as they land. */
#include "wip/schedules.h"
#include "wip/losses.h"
#include "wip/random.h"
#include "wip/batchnorm.h"

#ifdef __cplusplus
}
#endif

#endif /* TRAINOPT_H */
