/* bench/roofline.c - kernels that move exactly a kernel's bytes with trivial
   math: the memory roofline a kernel is measured against (STREAM itself is
   in stream.c).

   tob_rwR_W reads R arrays and writes W of them back (every written array is
   also read, as an optimizer's state is): the traffic of an in-place kernel
   with R inputs and W in-place outputs; a1 plays the gradient (read only).
   They are written with trainopt's vector layer and compiled -march=native,
   so they use the widest vectors the machine has and load each array exactly
   once per element (gcc -O3 turns the plain C loop into one that re-reads a1
   for every output, which in cache makes the "roofline" slower than the
   kernels it bounds). Tails use the same partial vectors as the kernels. */
#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "trainopt_simd.h"

#define LANES TRAINOPT_SIMD_LANES
#if defined(__GNUC__) || defined(__clang__)
#define TOB_OPAQUE(v) __asm__("" : "+x"(v)) /* the compiler forgets what v is */
#else
#define TOB_OPAQUE(v) (void)0
#endif

/* The library's loop shape for in-place steps (src/optim.h, trainopt__adam_loop_as): two
   vectors a round, each written array's two vectors stored together before the next
   array's (out of cache that order is up to 1.6x faster than storing each vector's arrays
   in turn: bench/FINDINGS.md, "Stores grouped by array"), then the tail a vector at a time,
   the last one partial. */
#define TOB_ROOF_LOOP(body)                                       \
    size_t i = 0;                                                 \
    for (; i + 2 * LANES <= n; i += 2 * LANES) body(i, LANES, 1)  \
    for (; i < n; i += LANES) body(i, n - i < LANES ? n - i : LANES, 0)
/* a[i..] += x0 for k lanes and, in a round of two, a[i + LANES..] += x1: both stored together */
#define TOB_ADD_X(a, i, k, two)                                                                        \
    {                                                                                                  \
        const trainopt__vf y0 = trainopt__v_add(trainopt__v_load_n(a + (i), k), x0);                   \
        if (two) {                                                                                     \
            const trainopt__vf y1 = trainopt__v_add(trainopt__v_load_n(a + (i) + LANES, LANES), x1);   \
            trainopt__v_store_n(a + (i), y0, LANES);                                                   \
            trainopt__v_store_n(a + (i) + LANES, y1, LANES);                                           \
        } else {                                                                                       \
            trainopt__v_store_n(a + (i), y0, k);                                                       \
        }                                                                                              \
    }
#define TOB_X(i, k, two)                                                      \
    const trainopt__vf x0 = trainopt__v_load_n(a1 + (i), (k));                \
    const trainopt__vf x1 = (two) ? trainopt__v_load_n(a1 + (i) + LANES, (k)) : x0;

/* param-like arrays a0, a2, a3, a4 each += the gradient-like a1 */
#define TOB_ADDS_02(i, k, two) TOB_ADD_X(a0, i, k, two) TOB_ADD_X(a2, i, k, two)
#define TOB_BODY3_2(i, k, two) { TOB_X(i, k, two) TOB_ADDS_02(i, k, two) }
#define TOB_BODY4_3(i, k, two) { TOB_X(i, k, two) TOB_ADDS_02(i, k, two) TOB_ADD_X(a3, i, k, two) }
#define TOB_BODY5_4(i, k, two) { TOB_X(i, k, two) TOB_ADDS_02(i, k, two) TOB_ADD_X(a3, i, k, two) TOB_ADD_X(a4, i, k, two) }

void tob_rw3_2(size_t n, float *a0, const float *a1, float *a2) { TOB_ROOF_LOOP(TOB_BODY3_2); }
void tob_rw4_3(size_t n, float *a0, const float *a1, float *a2, float *a3) { TOB_ROOF_LOOP(TOB_BODY4_3); }
void tob_rw5_4(size_t n, float *a0, const float *a1, float *a2, float *a3, float *a4) { TOB_ROOF_LOOP(TOB_BODY5_4); }


/* ---- the other families' traffic shapes (see bench.h) ------------------------------ */

/* Whether a write-only output goes out with streaming stores, as trainopt writes
   batch norm's outputs of TRAINOPT_STREAM_BYTES (16 MiB by default) or more: the
   faster kind of store for these loops, so the roofline is the machine's, not a
   handicapped one (dropout's generator loop stores ordinarily, which is faster for
   it; its roofline still streams, 7% faster here than storing ordinarily). Needs y
   vector-aligned (the pool's arrays are). */
#define TOB_STREAM_BYTES ((size_t)16 << 20)
static int tob_streams(size_t n, const float *y) {
    return n * sizeof(float) >= TOB_STREAM_BYTES && (uintptr_t)y % TRAINOPT__STREAM_ALIGN == 0;
}
static void tob_store(float *p, trainopt__vf v, int stream) {
    if (stream) trainopt__v_stream(p, v);
    else trainopt__v_store(p, v);
}

void tob_rw_1_1(size_t n, const float *x, float *y) {
    const trainopt__vf one = trainopt__v_set1(1.0f);
    const int stream = x != y && tob_streams(n, y);
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) tob_store(y + i, trainopt__v_add(trainopt__v_load(x + i), one), stream);
    if (i < n) trainopt__v_store_n(y + i, trainopt__v_add(trainopt__v_load_n(x + i, n - i), one), n - i);
    if (stream) trainopt__stream_fence();
}

void tob_rw_inplace(size_t n, float *x) { tob_rw_1_1(n, x, x); }

void tob_rw_2_1(size_t n, const float *x, const float *y, float *z) {
    const int stream = tob_streams(n, z);
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        tob_store(z + i, trainopt__v_add(trainopt__v_load(x + i), trainopt__v_load(y + i)), stream);
    if (i < n)
        trainopt__v_store_n(z + i, trainopt__v_add(trainopt__v_load_n(x + i, n - i), trainopt__v_load_n(y + i, n - i)),
                            n - i);
    if (stream) trainopt__stream_fence();
}

/* Sums with four independent accumulators, so the reduction is not latency-bound. */
float tob_rd_1(size_t n, const float *x) {
    trainopt__vf s0 = trainopt__v_zero(), s1 = s0, s2 = s0, s3 = s0;
    float out[LANES], r = 0.0f;
    size_t i = 0, j;
    for (; i + 4 * LANES <= n; i += 4 * LANES) {
        s0 = trainopt__v_add(s0, trainopt__v_load(x + i));
        s1 = trainopt__v_add(s1, trainopt__v_load(x + i + LANES));
        s2 = trainopt__v_add(s2, trainopt__v_load(x + i + 2 * LANES));
        s3 = trainopt__v_add(s3, trainopt__v_load(x + i + 3 * LANES));
    }
    for (; i < n; i += LANES) s0 = trainopt__v_add(s0, trainopt__v_load_n(x + i, n - i < LANES ? n - i : LANES));
    trainopt__v_store(out, trainopt__v_add(trainopt__v_add(s0, s1), trainopt__v_add(s2, s3)));
    for (j = 0; j < LANES; j++) r += out[j];
    return r;
}

float tob_rd_2(size_t n, const float *x, const float *y) {
    trainopt__vf s0 = trainopt__v_zero(), s1 = s0, s2 = s0, s3 = s0;
    float out[LANES], r = 0.0f;
    size_t i = 0, j;
    for (; i + 2 * LANES <= n; i += 2 * LANES) {
        s0 = trainopt__v_add(s0, trainopt__v_load(x + i));
        s1 = trainopt__v_add(s1, trainopt__v_load(y + i));
        s2 = trainopt__v_add(s2, trainopt__v_load(x + i + LANES));
        s3 = trainopt__v_add(s3, trainopt__v_load(y + i + LANES));
    }
    for (; i < n; i += LANES) {
        size_t k = n - i < LANES ? n - i : LANES;
        s0 = trainopt__v_add(s0, trainopt__v_add(trainopt__v_load_n(x + i, k), trainopt__v_load_n(y + i, k)));
    }
    trainopt__v_store(out, trainopt__v_add(trainopt__v_add(s0, s1), trainopt__v_add(s2, s3)));
    for (j = 0; j < LANES; j++) r += out[j];
    return r;
}

/* y = x + 1 and one mask bit per element (x > 0), LANES bits at a time. */
void tob_rw_bits(size_t n, const float *x, float *y, uint8_t *mask) {
    const trainopt__vf one = trainopt__v_set1(1.0f), zero = trainopt__v_zero();
    const int stream = x != y && tob_streams(n, y);
    uint32_t acc = 0;
    int nb = 0;
    size_t i = 0, byte = 0;
    for (; i + LANES <= n; i += LANES) {
        trainopt__vf v = trainopt__v_load(x + i);
        tob_store(y + i, trainopt__v_add(v, one), stream);
        acc |= trainopt__m_bits(trainopt__v_lt(zero, v)) << nb;
        nb += LANES;
        for (; nb >= 8; nb -= 8, acc >>= 8) mask[byte++] = (uint8_t)acc;
    }
    for (; i < n; i++) {
        y[i] = x[i] + 1.0f;
        acc |= (uint32_t)(x[i] > 0.0f) << nb;
        if (++nb == 8) {
            mask[byte++] = (uint8_t)acc;
            acc = 0;
            nb = 0;
        }
    }
    if (nb) mask[byte] = (uint8_t)acc;
    if (stream) trainopt__stream_fence();
}

/* y = mask bit ? x + 1 : 0. */
void tob_rw_from_bits(size_t n, const float *x, float *y, const uint8_t *mask) {
    static const union {
        uint32_t u[16];
        float f[16];
    } lane_bit = {{1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u, 512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u}};
    const trainopt__vi lanes = trainopt__v_bits(trainopt__v_load(lane_bit.f)), zero_i = trainopt__vi_set1(0u);
    const trainopt__vf one = trainopt__v_set1(1.0f), zero = trainopt__v_zero();
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        uint32_t bits = LANES >= 8 ? (uint32_t)mask[i / 8] | (LANES == 16 ? (uint32_t)mask[i / 8 + 1] << 8 : 0u)
                                   : ((uint32_t)mask[i / 8] >> (i % 8)) & ((1u << LANES) - 1u);
        trainopt__vm keep = trainopt__vi_lt(zero_i, trainopt__vi_and(trainopt__vi_set1(bits), lanes));
        trainopt__vf v = trainopt__v_add(trainopt__v_load(x + i), one);
        /* Left to itself gcc folds the select into a zero-masked load of x, which
           on this CPU (Zen 5) runs at half speed from DRAM: a full load, then a blend. */
        TOB_OPAQUE(v);
        trainopt__v_store(y + i, trainopt__v_select(keep, v, zero));
    }
    for (; i < n; i++) y[i] = (mask[i / 8] >> (i % 8)) & 1u ? x[i] + 1.0f : 0.0f;
}
