/* bench/check.c - before anything is timed: every baseline computes what the
   trainopt kernel it stands beside computes. A naive loop that the compiler
   had quietly broken, or that did less work, would make a fast but
   meaningless row. trainopt is built here on its scalar backend (all
   backends give the same bits; the test suite checks that). Exact builds must
   agree to a few float roundings of each update; -Ofast builds, whose
   approximate reciprocal square roots are the point of their row, to 1e-3.
   Prints one line per failure and a summary; exits 1 on any failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_config.h"
#include "trainopt.h"

#define N 1003 /* not a multiple of any vector width */

static int failures, checks;

extern const tob_naive_optim tob_naive_optim_O2, tob_naive_optim_O3_native, tob_naive_optim_O3_native_nomerrno,
    tob_naive_optim_Ofast_native, tob_naive_optim_O3_haswell, tob_naive_optim_O3_haswell_nomerrno,
    tob_naive_optim_Ofast_haswell;
extern const tob_naive_bn tob_naive_bn_O2, tob_naive_bn_O3_native, tob_naive_bn_O3_native_nomerrno,
    tob_naive_bn_Ofast_native, tob_naive_bn_O3_haswell, tob_naive_bn_O3_haswell_nomerrno, tob_naive_bn_Ofast_haswell;
extern const tob_naive_dropout tob_naive_dropout_O2, tob_naive_dropout_O3_native,
    tob_naive_dropout_O3_native_nomerrno, tob_naive_dropout_Ofast_native, tob_naive_dropout_O3_haswell,
    tob_naive_dropout_O3_haswell_nomerrno, tob_naive_dropout_Ofast_haswell;
extern const tob_naive_losses tob_naive_losses_O2, tob_naive_losses_O3_native, tob_naive_losses_O3_native_nomerrno,
    tob_naive_losses_Ofast_native, tob_naive_losses_O3_haswell, tob_naive_losses_O3_haswell_nomerrno,
    tob_naive_losses_Ofast_haswell;

typedef struct {
    const char *name;
    int needs_avx2, inexact;
    const tob_naive_optim *optim;
    const tob_naive_bn *bn;
    const tob_naive_dropout *dropout;
    const tob_naive_losses *losses;
} variant;

#define V_BN(v) , &tob_naive_bn_##v
#define V_DROPOUT(v) , &tob_naive_dropout_##v
#define V_LOSSES(v) , &tob_naive_losses_##v
#define VARIANT(name, v, avx2, inexact) {name, avx2, inexact, &tob_naive_optim_##v V_BN(v) V_DROPOUT(v) V_LOSSES(v)}

static const variant variants[] = {
    VARIANT("naive-O2", O2, 0, 0),
    VARIANT("naive-O3-native", O3_native, 0, 0),
    VARIANT("naive-O3-native-nomerrno", O3_native_nomerrno, 0, 0),
    VARIANT("naive-Ofast-native", Ofast_native, 0, 1),
    VARIANT("naive-O3-haswell", O3_haswell, 1, 0),
    VARIANT("naive-O3-haswell-nomerrno", O3_haswell_nomerrno, 1, 0),
    VARIANT("naive-Ofast-haswell", Ofast_haswell, 1, 1),
};

/* |got - want| <= tol * scale for every element; scale is the typical size of
   what the call changed (so an update of 1e-3 on a parameter of 1 is checked
   to tol relative to 1e-3, not to 1). */
static void expect_close(const char *what, const char *variant_name, const float *got, const float *want, size_t n,
                         double scale, double tol) {
    size_t i, worst = 0;
    double err = 0.0;
    checks++;
    for (i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)want[i]);
        if (!(e <= err)) { /* NaN counts as the worst */
            err = e;
            worst = i;
        }
    }
    if (!(err <= tol * scale)) {
        failures++;
        printf("check: FAIL %s, %s: element %zu of %zu is %.9g, trainopt gives %.9g (error %.3g > %.3g)\n", what,
               variant_name, worst, n, (double)got[worst], (double)want[worst], err, tol * scale);
    }
}

static void fill(float *a, int kind, size_t n) { tob_fill(a, kind, n); }

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 1e-30;
    size_t i;
    for (i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

static void check_optim(const variant *v) {
    static float p0[N], g[N], s0[4][N], pa[N], pb[N], sa[4][N], sb[4][N];
    const double tol = v->inexact ? 1e-3 : 1e-4;
    int which, j;
    fill(p0, 0, N);
    fill(g, 1, N);
    for (j = 0; j < 4; j++) fill(s0[j], 2 + j, N);
    for (which = 0; which < 6; which++) {
        static const char *const names[] = {"sgd", "adagrad", "rmsprop", "adam", "adamw", "amsgrad"};
        trainopt_status st = TRAINOPT_OK;
        memcpy(pa, p0, sizeof pa);
        memcpy(pb, p0, sizeof pb);
        memcpy(sa, s0, sizeof sa);
        memcpy(sb, s0, sizeof sb);
        if (which == 0) {
            trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
            c.lr = TOB_SGD_LR;
            c.momentum = TOB_SGD_MOMENTUM;
            st = trainopt_sgd_step(&c, TOB_STEP, N, pa, g, sa[0]);
            v->optim->sgd(N, pb, g, sb[0], (float)TOB_SGD_LR, (float)TOB_SGD_MOMENTUM);
        } else if (which == 1) {
            trainopt_adagrad_config c = TRAINOPT_ADAGRAD_DEFAULTS;
            c.lr = TOB_ADAGRAD_LR;
            c.eps = TOB_ADAGRAD_EPS;
            st = trainopt_adagrad_step(&c, TOB_STEP, N, pa, g, sa[0]);
            v->optim->adagrad(N, pb, g, sb[0], (float)TOB_ADAGRAD_LR, (float)TOB_ADAGRAD_EPS);
        } else if (which == 2) {
            trainopt_rmsprop_config c = TRAINOPT_RMSPROP_DEFAULTS;
            c.lr = TOB_RMSPROP_LR;
            c.alpha = TOB_RMSPROP_ALPHA;
            c.eps = TOB_RMSPROP_EPS;
            st = trainopt_rmsprop_step(&c, TOB_STEP, N, pa, g, sa[0], NULL, NULL);
            v->optim->rmsprop(N, pb, g, sb[0], (float)TOB_RMSPROP_LR, (float)TOB_RMSPROP_ALPHA,
                              (float)TOB_RMSPROP_EPS);
        } else {
            trainopt_adam_config c = TRAINOPT_ADAM_DEFAULTS;
            c.weight_decay = which == 4 ? TOB_ADAMW_WD : 0.0;
            c.amsgrad = which == 5;
            if (which == 4) {
                st = trainopt_adamw_step(&c, TOB_STEP, N, pa, g, sa[0], sa[1], NULL);
                v->optim->adamw(N, pb, g, sb[0], sb[1], (float)TOB_ADAM_LR, (float)TOB_ADAM_BETA1,
                                (float)TOB_ADAM_BETA2, (float)TOB_ADAM_EPS, (float)TOB_ADAMW_WD, TOB_STEP);
            } else if (which == 5) {
                st = trainopt_adam_step(&c, TOB_STEP, N, pa, g, sa[0], sa[1], sa[2]);
                v->optim->amsgrad(N, pb, g, sb[0], sb[1], sb[2], (float)TOB_ADAM_LR, (float)TOB_ADAM_BETA1,
                                  (float)TOB_ADAM_BETA2, (float)TOB_ADAM_EPS, TOB_STEP);
            } else {
                st = trainopt_adam_step(&c, TOB_STEP, N, pa, g, sa[0], sa[1], NULL);
                v->optim->adam(N, pb, g, sb[0], sb[1], (float)TOB_ADAM_LR, (float)TOB_ADAM_BETA1,
                               (float)TOB_ADAM_BETA2, (float)TOB_ADAM_EPS, TOB_STEP);
            }
        }
        if (st != TRAINOPT_OK) {
            failures++;
            printf("check: FAIL %s: trainopt returned %s\n", names[which], trainopt_status_str(st));
            continue;
        }
        expect_close(names[which], v->name, pb, pa, N, max_abs_diff(pa, p0, N), tol);
        for (j = 0; j < 3; j++)
            if (memcmp(sa[j], s0[j], sizeof sa[j]) != 0)
                expect_close(names[which], v->name, sb[j], sa[j], N, max_abs_diff(sa[j], s0[j], N), tol);
    }
}

static void check_bn(const variant *v) {
    enum { BC = 4, BS = 7 }; /* N = 4, C = 4, spatial 7: small, odd */
    static float x[4 * BC * BS], dy[4 * BC * BS], ya[4 * BC * BS], yb[4 * BC * BS];
    float gamma[BC] = {1.0f, 0.5f, 2.0f, 1.5f}, beta[BC] = {0.1f, -0.2f, 0.0f, 0.3f};
    float rma[BC], rva[BC], rmb[BC], rvb[BC], ma[BC], ia[BC], mb[BC], ib[BC], dga[BC], dba[BC], dgb[BC], dbb[BC];
    const size_t n = 4 * BC * BS;
    int layout, c;
    trainopt_bn_config cfg = TRAINOPT_BN_DEFAULTS;
    fill(x, 0, n);
    fill(dy, 1, n);
    for (layout = 0; layout < 2; layout++) {
        trainopt_bn_shape s;
        const char *fwd = layout ? "batchnorm_fwd_nhwc" : "batchnorm_fwd";
        s.n = 4;
        s.c = BC;
        s.spatial = BS;
        s.layout = layout ? TRAINOPT_NHWC : TRAINOPT_NCHW;
        for (c = 0; c < BC; c++) {
            rma[c] = rmb[c] = 0.5f;
            rva[c] = rvb[c] = 0.1f;
        }
        trainopt_batchnorm_forward_train(&cfg, s, x, gamma, beta, rma, rva, ya, ma, ia);
        (layout ? v->bn->fwd_nhwc : v->bn->fwd_nchw)(4, BC, BS, x, gamma, beta, rmb, rvb, yb, mb, ib, 1e-5f, 0.1f);
        expect_close(fwd, v->name, yb, ya, n, 1.0, 1e-4);
        expect_close(fwd, v->name, rvb, rva, BC, 1.0, 1e-4);
        trainopt_batchnorm_forward_infer(&cfg, s, x, gamma, beta, rma, rva, ya);
        (layout ? v->bn->infer_nhwc : v->bn->infer_nchw)(4, BC, BS, x, gamma, beta, rma, rva, yb, 1e-5f);
        expect_close(layout ? "batchnorm_infer_nhwc" : "batchnorm_infer", v->name, yb, ya, n, 1.0, 1e-4);
        trainopt_batchnorm_backward(&cfg, s, x, dy, gamma, ma, ia, NULL, ya, dga, dba);
        (layout ? v->bn->bwd_nhwc : v->bn->bwd_nchw)(4, BC, BS, x, dy, gamma, ma, ia, yb, dgb, dbb);
        expect_close(layout ? "batchnorm_bwd_nhwc" : "batchnorm_bwd", v->name, yb, ya, n, 1.0, 1e-4);
        expect_close(layout ? "batchnorm_bwd_nhwc" : "batchnorm_bwd", v->name, dgb, dga, BC, 1.0, 1e-4);
    }
}

/* The generators differ in how they map counters to elements, so the check is
   the arithmetic: y is 0 or x/(1-p), the mask says which, and about 1-p kept;
   the backward pass of both gives the same dx from the same mask. */
static void check_dropout(const variant *v) {
    static float x[4096], y[4096], dxa[4096], dxb[4096];
    static uint8_t mask[512];
    const float scale = (float)(1.0 / (1.0 - TOB_DROPOUT_P));
    size_t i, kept = 0, bad = 0;
    fill(x, 1, 4096);
    v->dropout->fwd(4096, x, y, mask, (float)TOB_DROPOUT_P, 1234, 0);
    for (i = 0; i < 4096; i++) {
        int bit = (mask[i / 8] >> (i % 8)) & 1;
        kept += (size_t)bit;
        bad += bit ? y[i] != x[i] * scale : y[i] != 0.0f;
    }
    checks++;
    if (bad || kept < 1800 || kept > 2300) {
        failures++;
        printf("check: FAIL dropout_fwd, %s: %zu of 4096 kept, %zu inconsistent with the mask\n", v->name, kept, bad);
    }
    trainopt_dropout_backward(TOB_DROPOUT_P, 1234, 0, 4096, x, dxa, mask);
    v->dropout->bwd(4096, x, dxb, mask, (float)TOB_DROPOUT_P);
    expect_close("dropout_bwd", v->name, dxb, dxa, 4096, 1.0, 0.0);
}

static void check_losses(const variant *v) {
    enum { ROWS = 5, CL = TOB_CE_CLASSES };
    static float logits[ROWS * CL], ga[ROWS * CL], gb[ROWS * CL], p[N], t[N], g0[N], g1[N];
    int32_t labels[ROWS] = {0, 7, 1023, 512, 3};
    float la, lb, norm_a = 0.0f, norm_b = 0.0f;
    float *gs_a[1], *gs_b[1];
    size_t lens[1] = {N};
    int fa = 0, fb = 0;
    fill(logits, 1, ROWS * CL);
    trainopt_softmax_cross_entropy(ROWS, CL, logits, labels, -100, 0.0, &la, ga);
    v->losses->cross_entropy(ROWS, CL, logits, labels, &lb, gb);
    expect_close("cross_entropy loss", v->name, &lb, &la, 1, 1.0, 1e-5);
    expect_close("cross_entropy grad", v->name, gb, ga, ROWS * CL, 1.0 / ROWS / CL, 1e-3);
    fill(p, 0, N);
    fill(t, 2, N);
    trainopt_mse_loss(N, p, t, &la, ga);
    v->losses->mse(N, p, t, &lb, gb);
    expect_close("mse loss", v->name, &lb, &la, 1, la, 1e-5);
    expect_close("mse grad", v->name, gb, ga, N, 2.0 / N, 1e-5);
    fill(g0, 1, N);
    memcpy(g1, g0, sizeof g1);
    gs_a[0] = g0;
    gs_b[0] = g1;
    trainopt_clip_grad_norm(1, gs_a, lens, 1.0, &norm_a);
    v->losses->clip_norm(1, gs_b, lens, 1.0f, &norm_b);
    expect_close("clip_norm total", v->name, &norm_b, &norm_a, 1, norm_a, 1e-4);
    expect_close("clip_norm grads", v->name, g1, g0, N, 1.0 / sqrt((double)N), 1e-4);
    trainopt_clip_grad_value(N, g0, 0.01);
    v->losses->clip_value(N, g1, 0.01f);
    expect_close("clip_value", v->name, g1, g0, N, 0.01, 1e-4);
    trainopt_grad_unscale(N, g0, 0.5f, &fa);
    v->losses->grad_unscale(N, g1, 0.5f, &fb);
    expect_close("grad_unscale", v->name, g1, g0, N, 0.01, 1e-4);
    checks++;
    if (fa != fb) {
        failures++;
        printf("check: FAIL grad_unscale found_inf, %s: %d, trainopt %d\n", v->name, fb, fa);
    }
}

/* Issue 16's optimizers against their naive loops (at TOB_STEP, RAdam rectified). */
static void check_more_optim(const variant *v) {
    static float p0[N], g[N], s0[2][N], pa[N], pb[N], sa[2][N], sb[2][N];
    static const char *const names[] = {"nadam", "radam", "adamax", "adadelta", "lion"};
    const double tol = v->inexact ? 1e-3 : 1e-4;
    int which, j;
    fill(p0, 0, N);
    fill(g, 1, N);
    for (j = 0; j < 2; j++) fill(s0[j], 2 + j, N);
    for (which = 0; which < 5; which++) {
        trainopt_status st = TRAINOPT_OK;
        memcpy(pa, p0, sizeof pa);
        memcpy(pb, p0, sizeof pb);
        memcpy(sa, s0, sizeof sa);
        memcpy(sb, s0, sizeof sb);
        if (which == 0) {
            trainopt_nadam_config c = TRAINOPT_NADAM_DEFAULTS;
            c.lr = TOB_NADAM_LR, c.momentum_decay = TOB_NADAM_MOMENTUM_DECAY;
            st = trainopt_nadam_step(&c, TOB_STEP, 0.5, N, pa, g, sa[0], sa[1]);
            v->optim->nadam(N, pb, g, sb[0], sb[1], (float)TOB_NADAM_LR, (float)TOB_ADAM_BETA1, (float)TOB_ADAM_BETA2,
                            (float)TOB_ADAM_EPS, (float)TOB_NADAM_MOMENTUM_DECAY, 0.5, TOB_STEP);
        } else if (which == 1) {
            trainopt_radam_config c = TRAINOPT_RADAM_DEFAULTS;
            c.lr = TOB_RADAM_LR;
            st = trainopt_radam_step(&c, TOB_STEP, N, pa, g, sa[0], sa[1]);
            v->optim->radam(N, pb, g, sb[0], sb[1], (float)TOB_RADAM_LR, (float)TOB_ADAM_BETA1, (float)TOB_ADAM_BETA2,
                            (float)TOB_ADAM_EPS, TOB_STEP);
        } else if (which == 2) {
            trainopt_adamax_config c = TRAINOPT_ADAMAX_DEFAULTS;
            c.lr = TOB_ADAMAX_LR;
            st = trainopt_adamax_step(&c, TOB_STEP, N, pa, g, sa[0], sa[1]);
            v->optim->adamax(N, pb, g, sb[0], sb[1], (float)TOB_ADAMAX_LR, (float)TOB_ADAM_BETA1, (float)TOB_ADAM_BETA2,
                             (float)TOB_ADAM_EPS, TOB_STEP);
        } else if (which == 3) {
            trainopt_adadelta_config c = TRAINOPT_ADADELTA_DEFAULTS;
            c.lr = TOB_ADADELTA_LR, c.rho = TOB_ADADELTA_RHO, c.eps = TOB_ADADELTA_EPS;
            st = trainopt_adadelta_step(&c, TOB_STEP, N, pa, g, sa[0], sa[1]);
            v->optim->adadelta(N, pb, g, sb[0], sb[1], (float)TOB_ADADELTA_LR, (float)TOB_ADADELTA_RHO,
                               (float)TOB_ADADELTA_EPS);
        } else {
            trainopt_lion_config c = TRAINOPT_LION_DEFAULTS;
            c.lr = TOB_LION_LR, c.beta1 = TOB_LION_BETA1, c.beta2 = TOB_LION_BETA2, c.weight_decay = TOB_LION_WD;
            st = trainopt_lion_step(&c, TOB_STEP, N, pa, g, sa[0]);
            v->optim->lion(N, pb, g, sb[0], (float)TOB_LION_LR, (float)TOB_LION_BETA1, (float)TOB_LION_BETA2,
                           (float)TOB_LION_WD);
        }
        if (st != TRAINOPT_OK) {
            failures++;
            printf("check: FAIL %s: trainopt returned %s\n", names[which], trainopt_status_str(st));
            continue;
        }
        expect_close(names[which], v->name, pb, pa, N, max_abs_diff(pa, p0, N), tol);
        for (j = 0; j < 2; j++)
            if (memcmp(sa[j], s0[j], sizeof sa[j]) != 0)
                expect_close(names[which], v->name, sb[j], sa[j], N, max_abs_diff(sa[j], s0[j], N), tol);
    }
}

/* ---- LAMB, LARS, Adafactor, schedule-free AdamW (naive_layerwise.c) ---- */
#include "layerwise.h"
extern const tob_naive_layerwise tob_naive_layerwise_O2, tob_naive_layerwise_O3_native,
    tob_naive_layerwise_O3_native_nomerrno, tob_naive_layerwise_Ofast_native, tob_naive_layerwise_O3_haswell,
    tob_naive_layerwise_O3_haswell_nomerrno, tob_naive_layerwise_Ofast_haswell;
static const tob_naive_layerwise *const layerwise_variants[] = {
    &tob_naive_layerwise_O2,           &tob_naive_layerwise_O3_native,           &tob_naive_layerwise_O3_native_nomerrno,
    &tob_naive_layerwise_Ofast_native, &tob_naive_layerwise_O3_haswell,          &tob_naive_layerwise_O3_haswell_nomerrno,
    &tob_naive_layerwise_Ofast_haswell};

static void check_layerwise(const variant *v, const tob_naive_layerwise *f) {
    enum { LN = 2 * TOB_AF_COLS }; /* Adafactor's [2][TOB_AF_COLS]; the others use LN elements too */
    static float p0[LN], g[LN], s0[2][LN], pa[LN], pb[LN], sa[2][LN], sb[2][LN], scratch[TOB_AF_COLS];
    const double tol = v->inexact ? 1e-3 : 1e-4;
    size_t n = LN;
    int which, j;
    fill(p0, 0, LN);
    fill(g, 1, LN);
    for (j = 0; j < 2; j++) fill(s0[j], 2 + j, LN);
    for (which = 0; which < 4; which++) {
        static const char *const names[] = {"lamb", "lars", "adafactor", "sfadamw"};
        trainopt_status st = TRAINOPT_OK;
        float *pl = pa, *sal0 = sa[0], *sal1 = sa[1];
        const float *gl = g;
        memcpy(pa, p0, sizeof pa), memcpy(pb, p0, sizeof pb), memcpy(sa, s0, sizeof sa), memcpy(sb, s0, sizeof sb);
        if (which == 0) {
            trainopt_lamb_config c = TRAINOPT_LAMB_DEFAULTS;
            c.lr = TOB_LAMB_LR, c.weight_decay = TOB_LAMB_WD;
            st = trainopt_lamb_step(&c, TOB_STEP, 1, &n, &pl, &gl, &sal0, &sal1);
            f->lamb(LN, pb, g, sb[0], sb[1], (float)TOB_LAMB_LR, 0.9f, 0.999f, 1e-6f, (float)TOB_LAMB_WD, TOB_STEP);
        } else if (which == 1) {
            trainopt_lars_config c = TRAINOPT_LARS_DEFAULTS;
            c.lr = TOB_LARS_LR, c.weight_decay = TOB_LARS_WD, c.trust_coefficient = TOB_LARS_COEF;
            c.momentum = TOB_LARS_MOMENTUM;
            st = trainopt_lars_step(&c, 1, &n, &pl, &gl, &sal0);
            f->lars(LN, pb, g, sb[0], (float)TOB_LARS_LR, (float)TOB_LARS_WD, (float)TOB_LARS_COEF,
                    (float)TOB_LARS_MOMENTUM);
        } else if (which == 2) {
            trainopt_adafactor_config c = TRAINOPT_ADAFACTOR_DEFAULTS;
            st = trainopt_adafactor_step(&c, TOB_STEP, 2, TOB_AF_COLS, pa, g, sa[0], sa[1], NULL);
            f->adafactor(2, TOB_AF_COLS, pb, g, sb[0], sb[1], scratch, 1e-2f, TOB_STEP);
        } else {
            trainopt_sfadamw_config c = TRAINOPT_SFADAMW_DEFAULTS;
            trainopt_sfadamw_state state = TRAINOPT_SFADAMW_STATE_INIT;
            int k;
            c.lr = TOB_SF_LR;
            for (k = 0; k < TOB_STEP; k++) trainopt_sfadamw_advance(&c, &state);
            st = trainopt_sfadamw_step(&c, &state, LN, pa, g, sa[0], sa[1]);
            f->sfadamw(LN, pb, g, sb[0], sb[1], (float)state.lr, 0.9f, 0.999f, 1e-8f, (float)state.ckp1);
        }
        if (st != TRAINOPT_OK) {
            failures++;
            printf("check: FAIL %s: trainopt returned %s\n", names[which], trainopt_status_str(st));
            continue;
        }
        expect_close(names[which], v->name, pb, pa, LN, max_abs_diff(pa, p0, LN), tol);
        for (j = 0; j < 2; j++)
            if (memcmp(sa[j], s0[j], sizeof sa[j]) != 0)
                expect_close(names[which], v->name, sb[j], sa[j], LN, max_abs_diff(sa[j], s0[j], LN), tol);
    }
}

int main(void) {
    size_t i;
    int avx2 = 1;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    for (i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const variant *v = &variants[i];
        if (v->needs_avx2 && !avx2) continue;
        check_optim(v);
        check_more_optim(v);
        check_bn(v);
        check_dropout(v);
        check_losses(v);
        check_layerwise(v, layerwise_variants[i]);
    }
    printf("check: %d comparisons of the naive baselines with trainopt, %d failed\n", checks, failures);
    return failures != 0;
}
