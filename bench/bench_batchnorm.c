/* bench/bench_batchnorm.c - trainopt's batch normalization (DESIGN 4.3),
   compiled once per backend like bench_optim.c. */
#include "bench.h"
#include "bench_config.h"

#include "trainopt.h"

#define TOB_EXPORT(x) TOB_CAT(x, TOB_BACKEND)

/* Per-channel arrays: gamma, beta, running mean/var, saved mean/invstd, dgamma, dbeta. */
static float gamma_[TOB_BN_C], beta_[TOB_BN_C], rmean[TOB_BN_C], rvar[TOB_BN_C], smean[TOB_BN_C], sinvstd[TOB_BN_C],
    dgamma[TOB_BN_C], dbeta[TOB_BN_C];

static trainopt_bn_shape bn_shape(size_t total, int nhwc) {
    trainopt_bn_shape s;
    int c;
    s.n = TOB_BN_N;
    s.c = TOB_BN_C;
    s.spatial = total / (TOB_BN_N * TOB_BN_C);
    s.layout = nhwc ? TRAINOPT_NHWC : TRAINOPT_NCHW;
    for (c = 0; c < TOB_BN_C; c++) {
        gamma_[c] = 1.0f + 0.01f * (float)c;
        beta_[c] = 0.1f - 0.002f * (float)c;
        rmean[c] = 0.5f;
        rvar[c] = 0.1f;
    }
    return s;
}

static trainopt_bn_config bn_config(void) {
    trainopt_bn_config c = TRAINOPT_BN_DEFAULTS;
    c.eps = TOB_BN_EPS;
    c.momentum = TOB_BN_MOMENTUM;
    return c;
}

/* arg: 0 NCHW, 1 NHWC. Arrays: x, dy, y, dx. */
static void bm_fwd(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    const trainopt_bn_shape sh = bn_shape(n, *(const int *)arg);
    const trainopt_bn_config c = bn_config();
    float **a = tob_arrays(s, "bn", 3, n);
    if (!a) return;
    if (trainopt_batchnorm_forward_train(&c, sh, a[0], gamma_, beta_, rmean, rvar, a[2], smean, sinvstd) !=
        TRAINOPT_OK) {
        tob_error(s, "trainopt_batchnorm_forward_train failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_batchnorm_forward_train(&c, sh, a[0], gamma_, beta_, rmean, rvar, a[2], smean, sinvstd);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_BN_FWD * (double)n);
}

static void bm_infer(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    const trainopt_bn_shape sh = bn_shape(n, *(const int *)arg);
    const trainopt_bn_config c = bn_config();
    float **a = tob_arrays(s, "bn", 3, n);
    if (!a) return;
    if (trainopt_batchnorm_forward_infer(&c, sh, a[0], gamma_, beta_, rmean, rvar, a[2]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_batchnorm_forward_infer failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_batchnorm_forward_infer(&c, sh, a[0], gamma_, beta_, rmean, rvar, a[2]);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_BN_INFER * (double)n);
}

static void bm_bwd(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    const trainopt_bn_shape sh = bn_shape(n, *(const int *)arg);
    const trainopt_bn_config c = bn_config();
    float **a = tob_arrays(s, "bn", 4, n);
    if (!a) return;
    /* The forward pass the backward one follows: saved statistics of x. */
    if (trainopt_batchnorm_forward_train(&c, sh, a[0], gamma_, beta_, rmean, rvar, a[2], smean, sinvstd) !=
            TRAINOPT_OK ||
        trainopt_batchnorm_backward(&c, sh, a[0], a[1], gamma_, smean, sinvstd, NULL, a[3], dgamma, dbeta) !=
            TRAINOPT_OK) {
        tob_error(s, "trainopt_batchnorm_backward failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_batchnorm_backward(&c, sh, a[0], a[1], gamma_, smean, sinvstd, NULL, a[3], dgamma, dbeta);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_BN_BWD * (double)n);
}

static const int nchw = 0, nhwc = 1;

const tob_entry TOB_EXPORT(tob_batchnorm)[] = {
    {"batchnorm_fwd", TRAINOPT_SIMD_NAME, bm_fwd, &nchw, tob_sizes_bn, 0},
    {"batchnorm_fwd_nhwc", TRAINOPT_SIMD_NAME, bm_fwd, &nhwc, tob_sizes_bn, 0},
    {"batchnorm_infer", TRAINOPT_SIMD_NAME, bm_infer, &nchw, tob_sizes_bn, 0},
    {"batchnorm_infer_nhwc", TRAINOPT_SIMD_NAME, bm_infer, &nhwc, tob_sizes_bn, 0},
    {"batchnorm_bwd", TRAINOPT_SIMD_NAME, bm_bwd, &nchw, tob_sizes_bn, 0},
    {"batchnorm_bwd_nhwc", TRAINOPT_SIMD_NAME, bm_bwd, &nhwc, tob_sizes_bn, 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
