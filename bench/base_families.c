/* bench/base_families.c - the baselines of batch norm, dropout and the
   losses: the naive loops of naive_{batchnorm,dropout,losses}.c (one table
   per compiler-flag variant) and the same-traffic kernels of roofline.c.
   Each family's table exists once trainopt.h has the family. */
#include <stddef.h>

#include "bench.h"
#include "bench_config.h"

const int64_t tob_sizes_bn[] = {1 << 16, 1 << 20, 1 << 24, 0};
const int64_t tob_sizes_ce[] = {1 << 16, 1 << 20, 1 << 24, 0};
const int64_t tob_sizes_large[] = {1 << 20, 1 << 22, 1 << 24, 0};

/* The variants of naive_optim.c, in the same order (see baselines.c). */
#define TOB_VARIANT_ENTRIES(kernel, body, T, sizes)                                                             \
    {kernel, "naive-O2", body, &T##_O2, sizes, 0}, {kernel, "naive-O3-native", body, &T##_O3_native, sizes, 0},   \
        {kernel, "naive-O3-native-nomerrno", body, &T##_O3_native_nomerrno, sizes, 0},                          \
        {kernel, "naive-Ofast-native", body, &T##_Ofast_native, sizes, 0},                                      \
        {kernel, "naive-O3-haswell", body, &T##_O3_haswell, sizes, TOB_NEEDS_AVX2},                             \
        {kernel, "naive-O3-haswell-nomerrno", body, &T##_O3_haswell_nomerrno, sizes, TOB_NEEDS_AVX2},           \
        {kernel, "naive-Ofast-haswell", body, &T##_Ofast_haswell, sizes, TOB_NEEDS_AVX2}

/* ---- batch normalization ------------------------------------------------------------- */
extern const tob_naive_bn tob_naive_bn_O2, tob_naive_bn_O3_native, tob_naive_bn_O3_native_nomerrno,
    tob_naive_bn_Ofast_native, tob_naive_bn_O3_haswell, tob_naive_bn_O3_haswell_nomerrno, tob_naive_bn_Ofast_haswell;

static float bn_chan[8][TOB_BN_C];
static void bn_chan_init(void) {
    int c;
    for (c = 0; c < TOB_BN_C; c++) {
        bn_chan[0][c] = 1.0f + 0.01f * (float)c; /* gamma */
        bn_chan[1][c] = 0.1f - 0.002f * (float)c; /* beta */
        bn_chan[2][c] = 0.5f;                      /* running mean */
        bn_chan[3][c] = 0.1f;                      /* running var */
    }
}
#define BN_S(n) ((n) / (TOB_BN_N * TOB_BN_C))

/* The kernel index in the name's table order: fwd, fwd_nhwc, infer, infer_nhwc, bwd, bwd_nhwc. */
static void bm_naive_bn(tob_state *s, const tob_naive_bn *f, int which) {
    size_t n = (size_t)tob_arg(s), S = BN_S(n);
    float **a = tob_arrays(s, "bn", 4, n);
    float *g = bn_chan[0], *b = bn_chan[1], *rm = bn_chan[2], *rv = bn_chan[3], *sm = bn_chan[4], *si = bn_chan[5];
    const float eps = (float)TOB_BN_EPS, mom = (float)TOB_BN_MOMENTUM;
    static const double bytes[6] = {TOB_BYTES_BN_FWD, TOB_BYTES_BN_FWD, TOB_BYTES_BN_INFER,
                                    TOB_BYTES_BN_INFER, TOB_BYTES_BN_BWD, TOB_BYTES_BN_BWD};
    if (!a) return;
    bn_chan_init();
    if (which >= 4) (which == 4 ? f->fwd_nchw : f->fwd_nhwc)(TOB_BN_N, TOB_BN_C, S, a[0], g, b, rm, rv, a[2], sm, si, eps, mom);
    while (tob_loop(s)) {
        switch (which) {
        case 0: f->fwd_nchw(TOB_BN_N, TOB_BN_C, S, a[0], g, b, rm, rv, a[2], sm, si, eps, mom); break;
        case 1: f->fwd_nhwc(TOB_BN_N, TOB_BN_C, S, a[0], g, b, rm, rv, a[2], sm, si, eps, mom); break;
        case 2: f->infer_nchw(TOB_BN_N, TOB_BN_C, S, a[0], g, b, rm, rv, a[2], eps); break;
        case 3: f->infer_nhwc(TOB_BN_N, TOB_BN_C, S, a[0], g, b, rm, rv, a[2], eps); break;
        case 4: f->bwd_nchw(TOB_BN_N, TOB_BN_C, S, a[0], a[1], g, sm, si, a[3], bn_chan[6], bn_chan[7]); break;
        default: f->bwd_nhwc(TOB_BN_N, TOB_BN_C, S, a[0], a[1], g, sm, si, a[3], bn_chan[6], bn_chan[7]); break;
        }
        tob_clobber();
    }
    tob_rates(s, (double)n, bytes[which] * (double)n);
}
#define BN_BODY(i, name) \
    static void name(tob_state *s, const void *arg) { bm_naive_bn(s, (const tob_naive_bn *)arg, i); }
BN_BODY(0, bm_bn_fwd)
BN_BODY(1, bm_bn_fwd_nhwc)
BN_BODY(2, bm_bn_infer)
BN_BODY(3, bm_bn_infer_nhwc)
BN_BODY(4, bm_bn_bwd)
BN_BODY(5, bm_bn_bwd_nhwc)

/* Same traffic: x read twice and y written (forward), x read and y written
   (inference), x and dy read twice and dx written (backward). */
static void bm_roof_bn(tob_state *s, const void *arg) {
    const int which = *(const int *)arg;
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "roofline", 4, n);
    float sum = 0.0f;
    if (!a) return;
    while (tob_loop(s)) {
        if (which == 0) {
            sum += tob_rd_1(n, a[0]);
            tob_rw_1_1(n, a[0], a[2]);
        } else if (which == 1) {
            tob_rw_1_1(n, a[0], a[2]);
        } else {
            sum += tob_rd_2(n, a[0], a[1]);
            tob_rw_2_1(n, a[0], a[1], a[3]);
        }
        tob_clobber();
    }
    tob_escape(&sum);
    tob_rates(s, (double)n, (which == 0 ? TOB_BYTES_BN_FWD : which == 1 ? TOB_BYTES_BN_INFER : TOB_BYTES_BN_BWD) *
                                (double)n);
}
static const int roof_fwd = 0, roof_infer = 1, roof_bwd = 2;

const tob_entry tob_batchnorm_base[] = {
    TOB_VARIANT_ENTRIES("batchnorm_fwd", bm_bn_fwd, tob_naive_bn, tob_sizes_bn),
    {"batchnorm_fwd", "roofline", bm_roof_bn, &roof_fwd, tob_sizes_bn, 0},
    TOB_VARIANT_ENTRIES("batchnorm_fwd_nhwc", bm_bn_fwd_nhwc, tob_naive_bn, tob_sizes_bn),
    {"batchnorm_fwd_nhwc", "roofline", bm_roof_bn, &roof_fwd, tob_sizes_bn, 0},
    TOB_VARIANT_ENTRIES("batchnorm_infer", bm_bn_infer, tob_naive_bn, tob_sizes_bn),
    {"batchnorm_infer", "roofline", bm_roof_bn, &roof_infer, tob_sizes_bn, 0},
    TOB_VARIANT_ENTRIES("batchnorm_infer_nhwc", bm_bn_infer_nhwc, tob_naive_bn, tob_sizes_bn),
    {"batchnorm_infer_nhwc", "roofline", bm_roof_bn, &roof_infer, tob_sizes_bn, 0},
    TOB_VARIANT_ENTRIES("batchnorm_bwd", bm_bn_bwd, tob_naive_bn, tob_sizes_bn),
    {"batchnorm_bwd", "roofline", bm_roof_bn, &roof_bwd, tob_sizes_bn, 0},
    TOB_VARIANT_ENTRIES("batchnorm_bwd_nhwc", bm_bn_bwd_nhwc, tob_naive_bn, tob_sizes_bn),
    {"batchnorm_bwd_nhwc", "roofline", bm_roof_bn, &roof_bwd, tob_sizes_bn, 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* ---- dropout ------------------------------------------------------------------------------ */
extern const tob_naive_dropout tob_naive_dropout_O2, tob_naive_dropout_O3_native,
    tob_naive_dropout_O3_native_nomerrno, tob_naive_dropout_Ofast_native, tob_naive_dropout_O3_haswell,
    tob_naive_dropout_O3_haswell_nomerrno, tob_naive_dropout_Ofast_haswell;

/* New masks every call, as in bench_dropout.c (the branch predictor must not learn them). */
static void bm_naive_dropout(tob_state *s, const tob_naive_dropout *f, int bwd) {
    size_t n = (size_t)tob_arg(s), j;
    float **a = tob_arrays(s, "dropout", 2, n);
    uint8_t *masks = (uint8_t *)tob_bytes(s, 0, TOB_DROPOUT_MASKS(n) * TOB_MASK_STRIDE(n));
    uint64_t offset = 0;
    if (!a || !masks) return;
    for (j = 0; j < TOB_DROPOUT_MASKS(n); j++)
        f->fwd(n, a[1], a[0], masks + j * TOB_MASK_STRIDE(n), (float)TOB_DROPOUT_P, 1234, j * n);
    j = 0;
    while (tob_loop(s)) {
        if (bwd) {
            j = (j + 1) % TOB_DROPOUT_MASKS(n);
            f->bwd(n, a[1], a[0], masks + j * TOB_MASK_STRIDE(n), (float)TOB_DROPOUT_P);
        } else {
            f->fwd(n, a[1], a[0], masks, (float)TOB_DROPOUT_P, 1234, offset += n);
        }
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_DROPOUT * (double)n);
}
static void bm_dropout_fwd(tob_state *s, const void *arg) { bm_naive_dropout(s, (const tob_naive_dropout *)arg, 0); }
static void bm_dropout_bwd(tob_state *s, const void *arg) { bm_naive_dropout(s, (const tob_naive_dropout *)arg, 1); }

static void bm_roof_dropout(tob_state *s, const void *arg) {
    const int bwd = *(const int *)arg;
    size_t n = (size_t)tob_arg(s), j = 0;
    float **a = tob_arrays(s, "roofline", 2, n);
    uint8_t *masks = (uint8_t *)tob_bytes(s, 0, TOB_DROPOUT_MASKS(n) * TOB_MASK_STRIDE(n));
    if (!a || !masks) return;
    for (j = 0; j < TOB_DROPOUT_MASKS(n); j++) tob_rw_bits(n, a[1], a[0], masks + j * TOB_MASK_STRIDE(n));
    j = 0;
    while (tob_loop(s)) {
        j = (j + 1) % TOB_DROPOUT_MASKS(n);
        if (bwd) tob_rw_from_bits(n, a[1], a[0], masks + j * TOB_MASK_STRIDE(n));
        else tob_rw_bits(n, a[1], a[0], masks);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_DROPOUT * (double)n);
}
static const int roof_dfwd = 0, roof_dbwd = 1;

const tob_entry tob_dropout_base[] = {
    TOB_VARIANT_ENTRIES("dropout_fwd", bm_dropout_fwd, tob_naive_dropout, tob_sizes_elementwise),
    {"dropout_fwd", "roofline", bm_roof_dropout, &roof_dfwd, tob_sizes_elementwise, 0},
    TOB_VARIANT_ENTRIES("dropout_bwd", bm_dropout_bwd, tob_naive_dropout, tob_sizes_elementwise),
    {"dropout_bwd", "roofline", bm_roof_dropout, &roof_dbwd, tob_sizes_elementwise, 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* ---- losses and gradient utilities --------------------------------------------------------- */
extern const tob_naive_losses tob_naive_losses_O2, tob_naive_losses_O3_native, tob_naive_losses_O3_native_nomerrno,
    tob_naive_losses_Ofast_native, tob_naive_losses_O3_haswell, tob_naive_losses_O3_haswell_nomerrno,
    tob_naive_losses_Ofast_haswell;

/* which: 0 cross-entropy, 1 mse, 2 clip_norm (idle), 3 clip_norm (active), 4 clip_value, 5 grad_unscale. */
static void bm_naive_losses(tob_state *s, const tob_naive_losses *f, int which) {
    static const double bytes[6] = {TOB_BYTES_CE, TOB_BYTES_MSE, TOB_BYTES_CLIP_NORM, TOB_BYTES_CLIP_NORM_ACTIVE,
                                    TOB_BYTES_RW, TOB_BYTES_RW};
    size_t n = (size_t)tob_arg(s), rows = n / TOB_CE_CLASSES, lens[4], t;
    float **a = tob_arrays(s, which <= 1 ? "losses" : "clip", which <= 1 ? 3 : 2, n);
    int32_t *labels = (int32_t *)tob_bytes(s, 1, rows * sizeof(int32_t) + 4);
    float *g[4], out = 0.0f;
    int found = 0;
    if (!a || !labels) return;
    for (t = 0; t < rows; t++) labels[t] = (int32_t)((t * 7919u) % TOB_CE_CLASSES);
    for (t = 0; t < 4; t++) {
        g[t] = a[0] + t * (n / 4);
        lens[t] = n / 4;
    }
    while (tob_loop(s)) {
        switch (which) {
        case 0: f->cross_entropy(rows, TOB_CE_CLASSES, a[1], labels, &out, a[2]); break;
        case 1: f->mse(n, a[0], a[1], &out, a[2]); break;
        case 2: f->clip_norm(4, g, lens, 1e9f, &out); break;
        case 3:
            tob_pause(s);
            for (t = 0; t < n; t++) a[0][t] = a[1][t];
            tob_resume(s);
            f->clip_norm(4, g, lens, 1.0f, &out);
            break;
        case 4: f->clip_value(n, a[0], 0.5f); break;
        default: f->grad_unscale(n, a[0], 1.0f, &found); break;
        }
        tob_clobber();
    }
    tob_escape(&out);
    tob_escape(&found);
    tob_rates(s, (double)n, bytes[which] * (double)n);
}
#define LOSS_BODY(i, name) \
    static void name(tob_state *s, const void *arg) { bm_naive_losses(s, (const tob_naive_losses *)arg, i); }
LOSS_BODY(0, bm_ce)
LOSS_BODY(1, bm_mse)
LOSS_BODY(2, bm_clip_norm)
LOSS_BODY(3, bm_clip_norm_active)
LOSS_BODY(4, bm_clip_value)
LOSS_BODY(5, bm_unscale)

static void bm_roof_losses(tob_state *s, const void *arg) {
    const int which = *(const int *)arg;
    size_t n = (size_t)tob_arg(s), t;
    float **a = tob_arrays(s, "roofline", 3, n);
    float sum = 0.0f;
    if (!a) return;
    while (tob_loop(s)) {
        switch (which) {
        case 0: tob_rw_1_1(n, a[1], a[2]); break;              /* logits -> grad */
        case 1: tob_rw_2_1(n, a[0], a[1], a[2]); break;        /* pred, target -> grad */
        case 2: sum += tob_rd_1(n, a[0]); break;               /* the norm pass */
        case 3:
            tob_pause(s);
            for (t = 0; t < n; t++) a[0][t] = a[1][t];
            tob_resume(s);
            sum += tob_rd_1(n, a[0]);
            tob_rw_inplace(n, a[0]);
            break;
        default: tob_rw_inplace(n, a[0]); break;               /* read and write once */
        }
        tob_clobber();
    }
    tob_escape(&sum);
    tob_rates(s, (double)n,
              (which == 0 ? TOB_BYTES_CE : which == 1 ? TOB_BYTES_MSE : which == 2 ? TOB_BYTES_CLIP_NORM
               : which == 3 ? TOB_BYTES_CLIP_NORM_ACTIVE : TOB_BYTES_RW) * (double)n);
}
static const int roof_ce = 0, roof_mse = 1, roof_norm = 2, roof_norm_active = 3, roof_rw = 4;

const tob_entry tob_losses_base[] = {
    TOB_VARIANT_ENTRIES("cross_entropy", bm_ce, tob_naive_losses, tob_sizes_ce),
    {"cross_entropy", "roofline", bm_roof_losses, &roof_ce, tob_sizes_ce, 0},
    TOB_VARIANT_ENTRIES("mse", bm_mse, tob_naive_losses, tob_sizes_elementwise),
    {"mse", "roofline", bm_roof_losses, &roof_mse, tob_sizes_elementwise, 0},
    TOB_VARIANT_ENTRIES("clip_norm", bm_clip_norm, tob_naive_losses, tob_sizes_elementwise),
    {"clip_norm", "roofline", bm_roof_losses, &roof_norm, tob_sizes_elementwise, 0},
    TOB_VARIANT_ENTRIES("clip_norm_active", bm_clip_norm_active, tob_naive_losses, tob_sizes_large),
    {"clip_norm_active", "roofline", bm_roof_losses, &roof_norm_active, tob_sizes_large, 0},
    TOB_VARIANT_ENTRIES("clip_value", bm_clip_value, tob_naive_losses, tob_sizes_elementwise),
    {"clip_value", "roofline", bm_roof_losses, &roof_rw, tob_sizes_elementwise, 0},
    TOB_VARIANT_ENTRIES("grad_unscale", bm_unscale, tob_naive_losses, tob_sizes_elementwise),
    {"grad_unscale", "roofline", bm_roof_losses, &roof_rw, tob_sizes_elementwise, 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* ---- layer, RMS and group normalization ---------------------------------------------- */
extern const tob_naive_norms tob_naive_norms_O2, tob_naive_norms_O3_native, tob_naive_norms_O3_native_nomerrno,
    tob_naive_norms_Ofast_native, tob_naive_norms_O3_haswell, tob_naive_norms_O3_haswell_nomerrno,
    tob_naive_norms_Ofast_haswell;

const int64_t tob_sizes_norms[] = {1 << 16, 1 << 20, 1 << 22, 1 << 24, 0};
const int64_t tob_sizes_layernorm[] = {1 << 16, 1 << 20, 1 << 22, 1 << 24, 1 << 26, 0};

static float nm_cols[6][4096], nm_rows[2][16384];

/* which: 0 layer norm, 1 RMS norm, 2 group norm; + 3 for backward. */
static void bm_naive_norms(tob_state *s, const tob_naive_norms *f, int which) {
    const size_t n = (size_t)tob_arg(s), cols = TOB_NORM_COLS(n), rows = n / cols, S = n / (TOB_GN_N * TOB_GN_C);
    const float eps = (float)TOB_NORM_EPS;
    float **a = tob_arrays(s, "norms", 4, n), *w = nm_cols[0], *b = nm_cols[1], *dw = nm_cols[2], *db = nm_cols[3];
    float *mean = nm_rows[0], *rstd = nm_rows[1];
    size_t i;
    if (!a) return;
    for (i = 0; i < 4096; i++) w[i] = 1.0f + 0.001f * (float)(i % 97), b[i] = 0.1f - 0.002f * (float)(i % 89);
    if (which == 3) f->ln_fwd(rows, cols, a[0], w, b, a[2], mean, rstd, eps);
    if (which == 4) f->rms_fwd(rows, cols, a[0], w, a[2], rstd, eps);
    if (which == 5) f->gn_fwd(TOB_GN_N, TOB_GN_C, S, TOB_GN_GROUPS, a[0], w, b, a[2], mean, rstd, eps);
    while (tob_loop(s)) {
        switch (which) {
        case 0: f->ln_fwd(rows, cols, a[0], w, b, a[2], mean, rstd, eps); break;
        case 1: f->rms_fwd(rows, cols, a[0], w, a[2], rstd, eps); break;
        case 2: f->gn_fwd(TOB_GN_N, TOB_GN_C, S, TOB_GN_GROUPS, a[0], w, b, a[2], mean, rstd, eps); break;
        case 3: f->ln_bwd(rows, cols, a[0], a[1], w, mean, rstd, a[3], dw, db); break;
        case 4: f->rms_bwd(rows, cols, a[0], a[1], w, rstd, a[3], dw); break;
        default: f->gn_bwd(TOB_GN_N, TOB_GN_C, S, TOB_GN_GROUPS, a[0], a[1], w, mean, rstd, a[3], dw, db); break;
        }
        tob_clobber();
    }
    tob_rates(s, (double)n, (which < 3 ? TOB_BYTES_NORM_FWD : TOB_BYTES_NORM_BWD) * (double)n);
}
#define NM_BODY(i, name) \
    static void name(tob_state *s, const void *arg) { bm_naive_norms(s, (const tob_naive_norms *)arg, i); }
NM_BODY(0, bm_ln_fwd)
NM_BODY(1, bm_rms_fwd)
NM_BODY(2, bm_gn_fwd)
NM_BODY(3, bm_ln_bwd)
NM_BODY(4, bm_rms_bwd)
NM_BODY(5, bm_gn_bwd)

/* Same traffic: x read and y written (forward); x and dy read and dx written (backward). */
static void bm_roof_norms(tob_state *s, const void *arg) {
    const int backward = *(const int *)arg;
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "roofline", 4, n);
    if (!a) return;
    while (tob_loop(s)) {
        if (backward) tob_rw_2_1(n, a[0], a[1], a[3]);
        else tob_rw_1_1(n, a[0], a[2]);
        tob_clobber();
    }
    tob_rates(s, (double)n, (backward ? TOB_BYTES_NORM_BWD : TOB_BYTES_NORM_FWD) * (double)n);
}
static const int roof_norms_fwd = 0, roof_norms_bwd = 1;

const tob_entry tob_norms_base[] = {
    TOB_VARIANT_ENTRIES("layernorm_fwd", bm_ln_fwd, tob_naive_norms, tob_sizes_layernorm),
    {"layernorm_fwd", "roofline", bm_roof_norms, &roof_norms_fwd, tob_sizes_layernorm, 0},
    TOB_VARIANT_ENTRIES("layernorm_bwd", bm_ln_bwd, tob_naive_norms, tob_sizes_layernorm),
    {"layernorm_bwd", "roofline", bm_roof_norms, &roof_norms_bwd, tob_sizes_layernorm, 0},
    TOB_VARIANT_ENTRIES("rmsnorm_fwd", bm_rms_fwd, tob_naive_norms, tob_sizes_norms),
    {"rmsnorm_fwd", "roofline", bm_roof_norms, &roof_norms_fwd, tob_sizes_norms, 0},
    TOB_VARIANT_ENTRIES("rmsnorm_bwd", bm_rms_bwd, tob_naive_norms, tob_sizes_norms),
    {"rmsnorm_bwd", "roofline", bm_roof_norms, &roof_norms_bwd, tob_sizes_norms, 0},
    TOB_VARIANT_ENTRIES("groupnorm_fwd", bm_gn_fwd, tob_naive_norms, tob_sizes_norms),
    {"groupnorm_fwd", "roofline", bm_roof_norms, &roof_norms_fwd, tob_sizes_norms, 0},
    TOB_VARIANT_ENTRIES("groupnorm_bwd", bm_gn_bwd, tob_naive_norms, tob_sizes_norms),
    {"groupnorm_bwd", "roofline", bm_roof_norms, &roof_norms_bwd, tob_sizes_norms, 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
