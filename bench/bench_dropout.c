/* bench/bench_dropout.c - trainopt's dropout (DESIGN 4.4), compiled once per
   backend like bench_optim.c. */
#include "bench.h"
#include "bench_config.h"

#include "trainopt.h"

#define TOB_EXPORT(x) TOB_CAT(x, TOB_BACKEND)

/* Arrays: x (or dy), y (or dx); masks in byte slot 0. Each call draws a new
   mask (the offset advances by n, as PyTorch advances its Philox offset), and
   the backward pass cycles through TOB_DROPOUT_MASKS(n) masks: a branch predictor
   that saw the same few thousand keep/drop decisions on every call would learn
   them, and make the branchy scalar and naive loops look several times faster
   at small sizes than they are in training. */
static void bm_fwd(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "dropout", 2, n);
    uint8_t *mask = (uint8_t *)tob_bytes(s, 0, TOB_MASK_STRIDE(n));
    uint64_t offset = 0;
    (void)arg;
    if (!a || !mask) return;
    if (trainopt_dropout_forward(TOB_DROPOUT_P, 1234, 0, n, a[1], a[0], mask) != TRAINOPT_OK) {
        tob_error(s, "trainopt_dropout_forward failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_dropout_forward(TOB_DROPOUT_P, 1234, offset += n, n, a[1], a[0], mask);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_DROPOUT * (double)n);
}

static void bm_bwd(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s), j = 0;
    float **a = tob_arrays(s, "dropout", 2, n);
    uint8_t *masks = (uint8_t *)tob_bytes(s, 0, TOB_DROPOUT_MASKS(n) * TOB_MASK_STRIDE(n));
    (void)arg;
    if (!a || !masks) return;
    for (j = 0; j < TOB_DROPOUT_MASKS(n); j++)
        if (trainopt_dropout_forward(TOB_DROPOUT_P, 1234, j * n, n, a[1], a[0], masks + j * TOB_MASK_STRIDE(n)) !=
                TRAINOPT_OK ||
            trainopt_dropout_backward(TOB_DROPOUT_P, 1234, 0, n, a[1], a[0], masks) != TRAINOPT_OK) {
            tob_error(s, "trainopt_dropout_backward failed");
            return;
        }
    while (tob_loop(s)) {
        j = (j + 1) % TOB_DROPOUT_MASKS(n);
        trainopt_dropout_backward(TOB_DROPOUT_P, 1234, 0, n, a[1], a[0], masks + j * TOB_MASK_STRIDE(n));
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_DROPOUT * (double)n);
}

/* The generator alone: n raw 32-bit words (trainopt_rand_u32), and n normal
   floats (Box-Muller on top of it), each call at a fresh offset. 4 B/element written. */
static void bm_rand(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    const int normal = *(const int *)arg;
    float **a = tob_arrays(s, "rand", 1, n);
    uint64_t offset = 0;
    if (!a) return;
    while (tob_loop(s)) {
        offset += n;
        if (normal) trainopt_rand_normal(1234, offset, n, 0.0f, 1.0f, a[0]);
        else trainopt_rand_u32(1234, offset, n, (uint32_t *)(void *)a[0]);
        tob_clobber();
    }
    tob_rates(s, (double)n, 4.0 * (double)n);
}

static const int rand_words = 0, rand_normal = 1;

const tob_entry TOB_EXPORT(tob_dropout)[] = {
    {"rand_u32", TRAINOPT_SIMD_NAME, bm_rand, &rand_words, tob_sizes_elementwise, 0},
    {"rand_normal", TRAINOPT_SIMD_NAME, bm_rand, &rand_normal, tob_sizes_elementwise, 0},
    {"dropout_fwd", TRAINOPT_SIMD_NAME, bm_fwd, NULL, tob_sizes_elementwise, 0},
    {"dropout_bwd", TRAINOPT_SIMD_NAME, bm_bwd, NULL, tob_sizes_elementwise, 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
