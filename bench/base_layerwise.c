/* bench/base_layerwise.c - the naive loops of naive_layerwise.c, one table row per
   compiler-flag variant, for LAMB, LARS, Adafactor and schedule-free AdamW. PyTorch
   1.13 (the installed peer) has none of the four: no peer row. */
#include <stdlib.h>

#include "bench.h"
#include "bench_config.h"
#include "layerwise.h"

const int64_t tob_sizes_layerwise[] = {1 << 16, 1 << 20, 1 << 24, 0}; /* multiples of TOB_AF_COLS */

extern const tob_naive_layerwise tob_naive_layerwise_O2, tob_naive_layerwise_O3_native,
    tob_naive_layerwise_O3_native_nomerrno, tob_naive_layerwise_Ofast_native, tob_naive_layerwise_O3_haswell,
    tob_naive_layerwise_O3_haswell_nomerrno, tob_naive_layerwise_Ofast_haswell;

/* which: 0 lamb, 1 lars, 2 adafactor, 3 sfadamw */
static void bm_naive_lw(tob_state *s, const tob_naive_layerwise *f, int which) {
    static const double bytes[4] = {TOB_BYTES_LAMB, TOB_BYTES_LARS, TOB_BYTES_ADAFACTOR, TOB_BYTES_SFADAMW};
    static const char *const kinds[4] = {"adam", "sgd", "adafactor", "adam"};
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, kinds[which], 4, n);
    float *scratch = which == 2 ? (float *)malloc(TOB_AF_COLS * sizeof(float)) : NULL;
    if (!a) return;
    while (tob_loop(s)) {
        switch (which) {
        case 0:
            f->lamb(n, a[0], a[1], a[2], a[3], (float)TOB_LAMB_LR, 0.9f, 0.999f, 1e-6f, (float)TOB_LAMB_WD, TOB_STEP);
            break;
        case 1:
            f->lars(n, a[0], a[1], a[2], (float)TOB_LARS_LR, (float)TOB_LARS_WD, (float)TOB_LARS_COEF,
                    (float)TOB_LARS_MOMENTUM);
            break;
        case 2: f->adafactor(n / TOB_AF_COLS, TOB_AF_COLS, a[0], a[1], a[2], a[3], scratch, 1e-2f, TOB_STEP); break;
        default: f->sfadamw(n, a[0], a[1], a[2], a[3], (float)TOB_SF_LR, 0.9f, 0.999f, 1e-8f, 0.01f); break;
        }
        tob_clobber();
    }
    free(scratch);
    tob_rates(s, (double)n, bytes[which] * (double)n);
}
#define LW_BODY(i, name) \
    static void name(tob_state *s, const void *arg) { bm_naive_lw(s, (const tob_naive_layerwise *)arg, i); }
LW_BODY(0, bm_lamb)
LW_BODY(1, bm_lars)
LW_BODY(2, bm_adafactor)
LW_BODY(3, bm_sfadamw)

#define LW_VARIANTS(kernel, body)                                                                                        \
    {kernel, "naive-O2", body, &tob_naive_layerwise_O2, tob_sizes_layerwise, 0},                                       \
        {kernel, "naive-O3-native", body, &tob_naive_layerwise_O3_native, tob_sizes_layerwise, 0},                     \
        {kernel, "naive-O3-native-nomerrno", body, &tob_naive_layerwise_O3_native_nomerrno, tob_sizes_layerwise, 0},   \
        {kernel, "naive-Ofast-native", body, &tob_naive_layerwise_Ofast_native, tob_sizes_layerwise, 0},               \
        {kernel, "naive-O3-haswell", body, &tob_naive_layerwise_O3_haswell, tob_sizes_layerwise, TOB_NEEDS_AVX2},      \
        {kernel, "naive-O3-haswell-nomerrno", body, &tob_naive_layerwise_O3_haswell_nomerrno, tob_sizes_layerwise,     \
         TOB_NEEDS_AVX2},                                                                                              \
        {kernel, "naive-Ofast-haswell", body, &tob_naive_layerwise_Ofast_haswell, tob_sizes_layerwise, TOB_NEEDS_AVX2}

const tob_entry tob_layerwise_base[] = {
    LW_VARIANTS("lamb", bm_lamb),
    LW_VARIANTS("lars", bm_lars),
    LW_VARIANTS("adafactor", bm_adafactor),
    LW_VARIANTS("sfadamw", bm_sfadamw),
    {NULL, NULL, NULL, NULL, NULL, 0},
};
