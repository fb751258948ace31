/* tests/test_simd.c - the vector layer's arithmetic against libm: v_fma, v_fnma and
   v_sqrt give fmaf's and sqrtf's bits (C99 requires fmaf rounded once; IEEE 754, sqrt
   correctly rounded) on every backend, for the inputs where an FMA built another way
   goes wrong: a sum that lands exactly halfway between two floats after one rounding to
   double (double rounding), subnormal and overflowing results, exact cancellation,
   signed zeros, Inf and NaN. Where the scalar backend emulates the FMA in double
   (targets without an FMA instruction; on baseline x86-64, CPUs without one), the
   emulation is also tested directly, since this CPU may take the instruction. Compiled
   once per backend (see tests/harness.h); no battery: these ops' bits are fmaf's. */
#include "harness.h"
#include "trainopt_simd.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(TO_WANT_SSE2) && !defined(TRAINOPT__BACKEND_SSE2)
#error "the sse2 leg's flags did not select the sse2 backend"
#endif

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The special values every operand takes in the exhaustive cube. */
static const uint32_t special_bits[] = {
    0x00000000u, 0x80000000u,                           /* +-0 */
    0x00000001u, 0x80000001u, 0x007fffffu, 0x807fffffu, /* smallest and largest subnormal */
    0x00800000u, 0x80800000u,                           /* FLT_MIN */
    0x3f800000u, 0xbf800000u, 0x3f800001u, 0x3f7fffffu, /* 1, -1, 1 + ulp, 1 - ulp/2 */
    0x33800000u, 0x34000000u,                           /* 2^-24, 2^-23 */
    0x5f800000u, 0x1f800000u,                           /* 2^64, 2^-64 */
    0x7f7fffffu, 0xff7fffffu,                           /* +-FLT_MAX */
    0x7f800000u, 0xff800000u,                           /* +-Inf */
    0x7fc00000u, 0xffc00001u,                           /* quiet NaNs */
};
enum { N_SPECIAL = sizeof special_bits / sizeof special_bits[0] };

/* a * b = h (1 - 2^-46) exactly, h half an ulp of c, with either sign: c + a * b is
   within 2^-46 h of a halfway point, so one rounding to double lands on it. */
static void near_halfway(uint64_t *rng, float c, float *a, float *b) {
    uint32_t cu;
    int ec, eh, ea;
    memcpy(&cu, &c, 4);
    ec = (int)((cu >> 23) & 0xffu);
    eh = (ec == 0 ? 1 : ec) - 127 - 24; /* exponent of half an ulp of c */
    ea = (int)(to_rand_u64(rng) % 60u) - 30;
    if (eh - ea < -126) ea = eh + 126; /* keep both factors normal */
    if (eh - ea > 127) ea = eh - 127;
    *a = ldexpf(1.0f + 0x1p-23f, ea);
    *b = ldexpf(1.0f - 0x1p-23f, eh - ea);
    if (to_rand_u64(rng) & 1u) *a = -*a;
    if (to_rand_u64(rng) & 1u) {
        float t = *a; /* which factor carries 1 + 2^-23 */
        *a = *b;
        *b = t;
    }
}

typedef struct {
    float *a, *b, *c;
    size_t n, n_halfway; /* the first n_halfway cases are the double-rounding traps */
} fma_cases;

static fma_cases make_fma_cases(void) {
    enum { HALFWAY = 60000, RANDOM_BITS = 60000, CANCEL = 30000, TINY = 30000 };
    const size_t cap = HALFWAY + RANDOM_BITS + CANCEL + TINY + N_SPECIAL * N_SPECIAL * N_SPECIAL;
    fma_cases k;
    uint64_t rng = 20250;
    size_t i, j, l, n = 0;
    k.a = malloc(cap * sizeof(float));
    k.b = malloc(cap * sizeof(float));
    k.c = malloc(cap * sizeof(float));
    if (!k.a || !k.b || !k.c) abort();
    for (i = 0; i < HALFWAY; i++, n++) { /* c over every exponent, subnormals and FLT_MAX included */
        uint32_t cu = (uint32_t)to_rand_u64(&rng) & 0xff7fffffu;
        if (i % 7 == 0) cu &= 0x807fffffu;                 /* subnormal c */
        if (i % 11 == 0) cu = (cu & 0x80000000u) | 0x7f7fffffu; /* +-FLT_MAX: Inf or FLT_MAX */
        k.c[n] = from_bits(cu);
        near_halfway(&rng, k.c[n], &k.a[n], &k.b[n]);
    }
    k.n_halfway = n;
    for (i = 0; i < RANDOM_BITS; i++, n++) { /* every bit pattern, NaN and Inf included */
        k.a[n] = from_bits((uint32_t)to_rand_u64(&rng));
        k.b[n] = from_bits((uint32_t)to_rand_u64(&rng));
        k.c[n] = from_bits((uint32_t)to_rand_u64(&rng));
        if (i % 2) k.b[n] = from_bits(((uint32_t)to_rand_u64(&rng) & 0x80ffffffu) | 0x3f000000u); /* product in range */
    }
    for (i = 0; i < CANCEL; i++, n++) { /* c near -a * b: exact zeros and heavy cancellation */
        k.a[n] = to_rand_uniform(&rng, -4.0f, 4.0f);
        k.b[n] = to_rand_uniform(&rng, -4.0f, 4.0f);
        k.c[n] = -(k.a[n] * k.b[n]);
        if (i % 3 == 1) k.c[n] = nextafterf(k.c[n], INFINITY);
        if (i % 3 == 2) k.c[n] = nextafterf(k.c[n], -INFINITY);
    }
    for (i = 0; i < TINY; i++, n++) { /* results in and around the subnormal range */
        k.a[n] = ldexpf(to_rand_uniform(&rng, -1.0f, 1.0f), -60 - (int)(to_rand_u64(&rng) % 40u));
        k.b[n] = ldexpf(to_rand_uniform(&rng, -1.0f, 1.0f), -60 - (int)(to_rand_u64(&rng) % 40u));
        k.c[n] = from_bits((uint32_t)to_rand_u64(&rng) & 0x80ffffffu);
    }
    for (i = 0; i < N_SPECIAL; i++)
        for (j = 0; j < N_SPECIAL; j++)
            for (l = 0; l < N_SPECIAL; l++, n++) {
                k.a[n] = from_bits(special_bits[i]);
                k.b[n] = from_bits(special_bits[j]);
                k.c[n] = from_bits(special_bits[l]);
            }
    k.n = n;
    return k;
}

static void free_fma_cases(fma_cases *k) {
    free(k->a);
    free(k->b);
    free(k->c);
}

/* y = op(a, b, c) through whole and partial vectors. */
static void apply_fma(int negate, const fma_cases *k, float *y) {
    size_t i, m;
    for (i = 0; i < k->n; i += m) {
        trainopt__vf a, b, c;
        m = k->n - i < TRAINOPT_SIMD_LANES ? k->n - i : TRAINOPT_SIMD_LANES;
        a = trainopt__v_load_n(k->a + i, m);
        b = trainopt__v_load_n(k->b + i, m);
        c = trainopt__v_load_n(k->c + i, m);
        trainopt__v_store_n(y + i, negate ? trainopt__v_fnma(a, b, c) : trainopt__v_fma(a, b, c), m);
    }
}

static void test_fma_exact(to_ctx *t) {
    fma_cases k = make_fma_cases();
    float *got = malloc(k.n * sizeof(float)), *want = malloc(k.n * sizeof(float));
    size_t i, double_rounded = 0;
    if (!got || !want) abort();
    /* The traps must catch an FMA that rounds to double first, or this test could not fail. */
    for (i = 0; i < k.n_halfway; i++) {
        float twice = (float)((double)k.a[i] * (double)k.b[i] + (double)k.c[i]);
        double_rounded += memcmp(&twice, &(float){fmaf(k.a[i], k.b[i], k.c[i])}, 4) != 0;
    }
    TO_CHECK(t, double_rounded > k.n_halfway / 4, "only %zu of %zu traps catch double rounding", double_rounded,
             k.n_halfway);
    apply_fma(0, &k, got);
    for (i = 0; i < k.n; i++) want[i] = fmaf(k.a[i], k.b[i], k.c[i]);
    to_bits_equal(t, "v_fma(a, b, c) vs fmaf", got, want, k.n);
    apply_fma(1, &k, got);
    for (i = 0; i < k.n; i++) want[i] = fmaf(-k.a[i], k.b[i], k.c[i]);
    to_bits_equal(t, "v_fnma(a, b, c) vs fmaf(-a, b, c)", got, want, k.n);
    free(got);
    free(want);
    free_fma_cases(&k);
}

#if defined(TRAINOPT__HAVE_FMAF_EMULATED)
static void test_fma_emulated(to_ctx *t) {
    fma_cases k = make_fma_cases();
    float *got = malloc(k.n * sizeof(float)), *want = malloc(k.n * sizeof(float));
    size_t i;
    if (!got || !want) abort();
    for (i = 0; i < k.n; i++) {
        got[i] = trainopt__fmaf_emulated(k.a[i], k.b[i], k.c[i]);
        want[i] = fmaf(k.a[i], k.b[i], k.c[i]);
    }
    to_bits_equal(t, "fmaf emulated in double vs fmaf", got, want, k.n);
    free(got);
    free(want);
    free_fma_cases(&k);
}
#endif

#if defined(TRAINOPT__HAVE_V_FMA_EMULATED)
/* The sse2 backend's packed emulation, whole vectors (this CPU may take the instruction). */
static void test_v_fma_emulated(to_ctx *t) {
    fma_cases k = make_fma_cases();
    float *got = malloc(k.n * sizeof(float)), *want = malloc(k.n * sizeof(float));
    size_t i, m;
    if (!got || !want) abort();
    for (i = 0; i < k.n; i += m) {
        m = k.n - i < TRAINOPT_SIMD_LANES ? k.n - i : TRAINOPT_SIMD_LANES;
        trainopt__v_store_n(got + i, trainopt__v_fma_emulated(trainopt__v_load_n(k.a + i, m), trainopt__v_load_n(k.b + i, m),
                                                              trainopt__v_load_n(k.c + i, m)), m);
    }
    for (i = 0; i < k.n; i++) want[i] = fmaf(k.a[i], k.b[i], k.c[i]);
    to_bits_equal(t, "v_fma emulated in double vs fmaf", got, want, k.n);
    free(got);
    free(want);
    free_fma_cases(&k);
}
#endif

/* v_round against rintf (ties to even, -0 kept) on every 257th bit pattern, and halves. */
static void test_round_exact(to_ctx *t) {
    const size_t n = (size_t)(0xffffffffu / 257u) + 1 + 64;
    float *x = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float)), *want = malloc(n * sizeof(float));
    size_t i, m;
    if (!x || !got || !want) abort();
    for (i = 0; i < n - 64; i++) x[i] = from_bits((uint32_t)(i * 257u));
    for (i = 0; i < 64; i++) x[n - 64 + i] = ((float)i - 32.0f) * 0.5f; /* -16 ... 15.5: every tie */
    for (i = 0; i < n; i += m) {
        m = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        trainopt__v_store_n(got + i, trainopt__v_round(trainopt__v_load_n(x + i, m)), m);
    }
    for (i = 0; i < n; i++) want[i] = rintf(x[i]);
    to_bits_equal(t, "v_round vs rintf", got, want, n);
    free(x);
    free(got);
    free(want);
}

/* The integer ops kernels build Philox and the dropout threshold from, against plain C. */
static void test_int_ops(to_ctx *t) {
    enum { N = 4096 };
    static uint32_t a[N], b[N], hi[N], lo[N], ml[N], lt[N], ge[N];
    uint64_t rng = 0x2545f4914f6cdd1dull;
    size_t i, j, bad = 0;
    for (i = 0; i < N; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        a[i] = (uint32_t)(rng >> 32);
        b[i] = i % 7 == 0 ? a[i] : i % 5 == 0 ? (uint32_t)rng >> (i % 32) : (uint32_t)rng;
    }
    for (i = 0; i + TRAINOPT_SIMD_LANES <= N; i += TRAINOPT_SIMD_LANES) {
        trainopt__vi va, vb, h, l;
        uint32_t bits_lt, bits_ge;
        memcpy(&va, a + i, sizeof va);
        memcpy(&vb, b + i, sizeof vb);
        trainopt__vi_mul_wide(va, vb, &h, &l);
        trainopt__vi_store(hi + i, h);
        trainopt__vi_store(lo + i, l);
        trainopt__vi_store(ml + i, trainopt__vi_mullo(va, vb));
        bits_lt = trainopt__m_bits(trainopt__vi_lt(va, vb));
        bits_ge = trainopt__m_bits(trainopt__vi_ge(va, vb));
        for (j = 0; j < TRAINOPT_SIMD_LANES; j++) {
            lt[i + j] = (bits_lt >> j) & 1u;
            ge[i + j] = (bits_ge >> j) & 1u;
        }
    }
    for (i = 0; i < N; i++) {
        uint64_t p = (uint64_t)a[i] * b[i];
        bad += hi[i] != (uint32_t)(p >> 32) || lo[i] != (uint32_t)p || ml[i] != (uint32_t)p;
        bad += lt[i] != (a[i] < b[i]) || ge[i] != (a[i] >= b[i]);
    }
    TO_CHECK(t, bad == 0, "%zu of %d lanes differ from plain C (vi_mul_wide, vi_mullo, vi_lt, vi_ge)", bad, N);
}

/* Every 257th bit pattern (both signs, subnormals, Inf, NaN) and the specials. */
static void test_sqrt_exact(to_ctx *t) {
    const size_t n = (size_t)(0xffffffffu / 257u) + 1 + N_SPECIAL;
    float *x = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float)), *want = malloc(n * sizeof(float));
    size_t i, m;
    if (!x || !got || !want) abort();
    for (i = 0; i < n - N_SPECIAL; i++) x[i] = from_bits((uint32_t)(i * 257u));
    for (i = 0; i < N_SPECIAL; i++) x[n - N_SPECIAL + i] = from_bits(special_bits[i]);
    for (i = 0; i < n; i += m) {
        m = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        trainopt__v_store_n(got + i, trainopt__v_sqrt(trainopt__v_load_n(x + i, m)), m);
    }
    for (i = 0; i < n; i++) want[i] = sqrtf(x[i]);
    to_bits_equal(t, "v_sqrt vs sqrtf", got, want, n);
    free(x);
    free(got);
    free(want);
}

void TO_NAME(simd_tests)(to_ctx *t) {
    to_run(t, "fma-exact", test_fma_exact);
#if defined(TRAINOPT__HAVE_FMAF_EMULATED)
    to_run(t, "fma-emulated", test_fma_emulated);
#endif
    to_run(t, "sqrt-exact", test_sqrt_exact);
#if defined(TRAINOPT__HAVE_V_FMA_EMULATED)
    to_run(t, "v-fma-emulated", test_v_fma_emulated);
#endif
    to_run(t, "round-exact", test_round_exact);
    to_run(t, "int-ops", test_int_ops);
}

/* Nothing of its own to compare across backends: each op is checked against libm above. */
void TO_NAME(simd_battery)(to_sink *s) { (void)s; }
