/* bench/bench_layerwise.c - trainopt's LAMB, LARS, Adafactor and schedule-free AdamW,
   and (in the avx512 copy) the same-traffic kernel of each: the same passes over the
   same arrays, one add per element. Compiled once per backend, as bench_optim.c;
   each copy exports tob_layerwise_<backend>. */
#include "bench.h"
#include "bench_config.h"
#include "layerwise.h"
#include "trainopt.h"

#define TOB_EXPORT(x) TOB_CAT(x, TOB_BACKEND)

extern const int64_t tob_sizes_layerwise[];

static void bm_lamb(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "adam", 4, n);
    trainopt_lamb_config c = TRAINOPT_LAMB_DEFAULTS;
    (void)arg;
    if (!a) return;
    c.lr = TOB_LAMB_LR, c.weight_decay = TOB_LAMB_WD;
    if (trainopt_lamb_step(&c, TOB_STEP, 1, &n, &a[0], (const float *const *)&a[1], &a[2], &a[3]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_lamb_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_lamb_step(&c, TOB_STEP, 1, &n, &a[0], (const float *const *)&a[1], &a[2], &a[3]);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_LAMB * (double)n);
}

static void bm_lars(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "sgd", 3, n);
    trainopt_lars_config c = TRAINOPT_LARS_DEFAULTS;
    (void)arg;
    if (!a) return;
    c.lr = TOB_LARS_LR, c.weight_decay = TOB_LARS_WD, c.trust_coefficient = TOB_LARS_COEF, c.momentum = TOB_LARS_MOMENTUM;
    if (trainopt_lars_step(&c, 1, &n, &a[0], (const float *const *)&a[1], &a[2]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_lars_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_lars_step(&c, 1, &n, &a[0], (const float *const *)&a[1], &a[2]);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_LARS * (double)n);
}

/* A [n / 4096][4096] parameter, factored: the factors are rows + cols floats. */
static void bm_adafactor(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s), rows = n / TOB_AF_COLS;
    float **a = tob_arrays(s, "adafactor", 4, n);
    trainopt_adafactor_config c = TRAINOPT_ADAFACTOR_DEFAULTS;
    (void)arg;
    if (!a) return;
    if (trainopt_adafactor_step(&c, TOB_STEP, rows, TOB_AF_COLS, a[0], a[1], a[2], a[3], NULL) != TRAINOPT_OK) {
        tob_error(s, "trainopt_adafactor_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_adafactor_step(&c, TOB_STEP, rows, TOB_AF_COLS, a[0], a[1], a[2], a[3], NULL);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_ADAFACTOR * (double)n);
}

static void bm_sfadamw(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "adam", 4, n);
    trainopt_sfadamw_config c = TRAINOPT_SFADAMW_DEFAULTS;
    trainopt_sfadamw_state st = TRAINOPT_SFADAMW_STATE_INIT;
    int k;
    (void)arg;
    if (!a) return;
    c.lr = TOB_SF_LR;
    for (k = 0; k < TOB_STEP; k++) trainopt_sfadamw_advance(&c, &st); /* a long run's scalars */
    if (trainopt_sfadamw_step(&c, &st, n, a[0], a[1], a[2], a[3]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_sfadamw_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_sfadamw_step(&c, &st, n, a[0], a[1], a[2], a[3]);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_SFADAMW * (double)n);
}

#if TRAINOPT_SIMD_LANES == 16
/* One pass reading R arrays and writing the first W of them: one add per element, the
   vector layer's loads and stores, nothing else (a read-only pass keeps its sum alive).
   R and W are constants in each copy, so the array loop unrolls. */
static float roof_sink;
#define TOB_ROOF_PASS(R, W)                                                                                          \
    static void roof_##R##_##W(size_t n, float **a) {                                                                \
        const trainopt__vf zero = trainopt__v_zero();                                                                \
        trainopt__vf keep = zero;                                                                                    \
        float out[TRAINOPT_SIMD_LANES];                                                                              \
        size_t i = 0;                                                                                                \
        int j;                                                                                                       \
        for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES) {                                             \
            trainopt__vf v[R], sum = zero;                                                                           \
            for (j = 0; j < R; j++) v[j] = trainopt__v_load(a[j] + i), sum = trainopt__v_add(sum, v[j]);             \
            for (j = 0; j < W; j++) trainopt__v_store(a[j] + i, trainopt__v_fma(sum, zero, v[j]));                   \
            if (W == 0) keep = trainopt__v_add(keep, sum);                                                           \
        }                                                                                                            \
        trainopt__v_store(out, keep);                                                                                \
        roof_sink += out[0];                                                                                         \
    }
TOB_ROOF_PASS(1, 0)
TOB_ROOF_PASS(2, 0)
TOB_ROOF_PASS(2, 1)
TOB_ROOF_PASS(3, 1)
TOB_ROOF_PASS(3, 2)
TOB_ROOF_PASS(4, 2)
TOB_ROOF_PASS(4, 3)
static void roof_pass(size_t n, float **a, int reads, int writes) {
    switch (reads * 10 + writes) {
    case 10: roof_1_0(n, a); break;
    case 20: roof_2_0(n, a); break;
    case 21: roof_2_1(n, a); break;
    case 31: roof_3_1(n, a); break;
    case 32: roof_3_2(n, a); break;
    case 42: roof_4_2(n, a); break;
    default: roof_4_3(n, a); break;
    }
}
/* arg: the passes as {reads, writes} pairs ending in {0, 0}. */
static void bm_roof_passes(tob_state *s, const void *arg) {
    const int *passes = (const int *)arg;
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "roofline", 4, n);
    double bytes = 0.0;
    int p;
    if (!a) return;
    for (p = 0; passes[2 * p]; p++) bytes += 4.0 * (passes[2 * p] + passes[2 * p + 1]);
    while (tob_loop(s)) {
        for (p = 0; passes[2 * p]; p++) roof_pass(n, a, passes[2 * p], passes[2 * p + 1]);
        tob_clobber();
    }
    tob_escape(&roof_sink);
    tob_rates(s, (double)n, bytes * (double)n);
}
/* reads include the arrays written; see layerwise.h */
static const int roof_lamb[] = {4, 2, 3, 1, 0, 0};
static const int roof_lars[] = {2, 0, 3, 2, 0, 0};
static const int roof_adafactor[] = {2, 0, 2, 1, 0, 0};
static const int roof_sfadamw[] = {4, 3, 0, 0};
#endif

const tob_entry TOB_EXPORT(tob_layerwise)[] = {
    {"lamb", TRAINOPT_SIMD_NAME, bm_lamb, NULL, tob_sizes_layerwise, 0},
    {"lars", TRAINOPT_SIMD_NAME, bm_lars, NULL, tob_sizes_layerwise, 0},
    {"adafactor", TRAINOPT_SIMD_NAME, bm_adafactor, NULL, tob_sizes_layerwise, 0},
    {"sfadamw", TRAINOPT_SIMD_NAME, bm_sfadamw, NULL, tob_sizes_layerwise, 0},
#if TRAINOPT_SIMD_LANES == 16
    {"lamb", "roofline", bm_roof_passes, roof_lamb, tob_sizes_layerwise, 0},
    {"lars", "roofline", bm_roof_passes, roof_lars, tob_sizes_layerwise, 0},
    {"adafactor", "roofline", bm_roof_passes, roof_adafactor, tob_sizes_layerwise, 0},
    {"sfadamw", "roofline", bm_roof_passes, roof_sfadamw, tob_sizes_layerwise, 0},
#endif
    {NULL, NULL, NULL, NULL, NULL, 0},
};
