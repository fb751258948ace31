/* bench/bench_norms.c - trainopt's layer, RMS and group normalization (DESIGN 7.4),
   compiled once per backend like bench_batchnorm.c. Shapes in bench.h. */
#include "bench.h"
#include "bench_config.h"

#include "trainopt.h"

#define TOB_EXPORT(x) TOB_CAT(x, TOB_BACKEND)

/* Per-row and per-column arrays, large enough for every size (rows <= 16384). */
static float weight[4096], bias[4096], dweight[4096], dbias[4096], mean_[16384], rstd_[16384];

static void norm_params(void) {
    int i;
    for (i = 0; i < 4096; i++) {
        weight[i] = 1.0f + 0.001f * (float)(i % 97);
        bias[i] = 0.1f - 0.002f * (float)(i % 89);
    }
}

static trainopt_bn_shape gn_shape(size_t n) {
    trainopt_bn_shape s;
    s.n = TOB_GN_N;
    s.c = TOB_GN_C;
    s.spatial = n / (TOB_GN_N * TOB_GN_C);
    s.layout = TRAINOPT_NCHW;
    return s;
}

/* which: 0 layer norm, 1 RMS norm, 2 group norm; forward (arrays x, y). */
static void bm_fwd(tob_state *s, const void *arg) {
    const int which = *(const int *)arg;
    const size_t n = (size_t)tob_arg(s), cols = TOB_NORM_COLS(n), rows = n / cols;
    trainopt_norm_config c = TRAINOPT_NORM_DEFAULTS;
    float **a = tob_arrays(s, "norms", 4, n);
    trainopt_status st = TRAINOPT_OK;
    if (!a) return;
    c.eps = TOB_NORM_EPS;
    norm_params();
    while (tob_loop(s)) {
        if (which == 0) st = trainopt_layernorm_forward(&c, rows, cols, a[0], weight, bias, a[2], mean_, rstd_);
        else if (which == 1) st = trainopt_rmsnorm_forward(&c, rows, cols, a[0], weight, a[2], rstd_);
        else st = trainopt_groupnorm_forward(&c, gn_shape(n), TOB_GN_GROUPS, a[0], weight, bias, a[2], mean_, rstd_);
        tob_clobber();
    }
    if (st != TRAINOPT_OK) tob_error(s, "a norm forward failed");
    tob_rates(s, (double)n, TOB_BYTES_NORM_FWD * (double)n);
}

/* Backward (arrays x, dy, dx) from the forward's saved statistics: dx, dweight, dbias. */
static void bm_bwd(tob_state *s, const void *arg) {
    const int which = *(const int *)arg;
    const size_t n = (size_t)tob_arg(s), cols = TOB_NORM_COLS(n), rows = n / cols;
    trainopt_norm_config c = TRAINOPT_NORM_DEFAULTS;
    float **a = tob_arrays(s, "norms", 4, n);
    trainopt_status st = TRAINOPT_OK;
    if (!a) return;
    c.eps = TOB_NORM_EPS;
    norm_params();
    if (which == 0) trainopt_layernorm_forward(&c, rows, cols, a[0], weight, bias, a[2], mean_, rstd_);
    else if (which == 1) trainopt_rmsnorm_forward(&c, rows, cols, a[0], weight, a[2], rstd_);
    else trainopt_groupnorm_forward(&c, gn_shape(n), TOB_GN_GROUPS, a[0], weight, bias, a[2], mean_, rstd_);
    while (tob_loop(s)) {
        if (which == 0)
            st = trainopt_layernorm_backward(&c, rows, cols, a[0], a[1], weight, mean_, rstd_, a[3], dweight, dbias);
        else if (which == 1)
            st = trainopt_rmsnorm_backward(&c, rows, cols, a[0], a[1], weight, rstd_, a[3], dweight);
        else
            st = trainopt_groupnorm_backward(&c, gn_shape(n), TOB_GN_GROUPS, a[0], a[1], weight, mean_, rstd_, a[3],
                                             dweight, dbias);
        tob_clobber();
    }
    if (st != TRAINOPT_OK) tob_error(s, "a norm backward failed");
    tob_rates(s, (double)n, TOB_BYTES_NORM_BWD * (double)n);
}

static const int ln = 0, rms = 1, gn = 2;

const tob_entry TOB_EXPORT(tob_norms)[] = {
    {"layernorm_fwd", TRAINOPT_SIMD_NAME, bm_fwd, &ln, tob_sizes_layernorm, 0},
    {"layernorm_bwd", TRAINOPT_SIMD_NAME, bm_bwd, &ln, tob_sizes_layernorm, 0},
    {"rmsnorm_fwd", TRAINOPT_SIMD_NAME, bm_fwd, &rms, tob_sizes_norms, 0},
    {"rmsnorm_bwd", TRAINOPT_SIMD_NAME, bm_bwd, &rms, tob_sizes_norms, 0},
    {"groupnorm_fwd", TRAINOPT_SIMD_NAME, bm_fwd, &gn, tob_sizes_norms, 0},
    {"groupnorm_bwd", TRAINOPT_SIMD_NAME, bm_bwd, &gn, tob_sizes_norms, 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
