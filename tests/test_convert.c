/* tests/test_convert.c - trainopt_convert (trainopt.h, >>convert; the vector layer's
   >>halfconv), compiled once per backend.

   Nearest rounding and widening are held bit for bit against PyTorch 1.13
   (tests/gen_convert.py: every float class, ties both ways, the fp16 boundary at
   65520, and every bf16 and fp16 pattern widened and crossed). Stochastic rounding
   is held against the manual's formula written here in plain C, with the words of
   trainopt_rand_u32 (tested against an independent Philox in tests/test_random.c);
   against the two-neighbour property; and for bias: the mean of N roundings of one
   value must lie within 4 sigma of it (two-sided false-alarm rate 6.3e-5 per check
   for a seed picked at random; the data are fixed, so a check always passes or
   always fails). */
#include "harness.h"
#include "trainopt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- plain references: the manual's PRECISION rules ------------------------------- */

static uint16_t ref_sr_bf16(uint32_t u, uint32_t r) {
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0xffffu;
    return (uint16_t)((u + (r >> 16)) >> 16);
}

static uint16_t ref_sr_f16(uint32_t u, uint32_t r) {
    const uint32_t a = u & 0x7fffffffu, sign = (u >> 16) & 0x8000u, bits = r >> 19;
    uint32_t h;
    if (a > 0x7f800000u) return (uint16_t)(0x7e00u | sign);
    if (a < 0x38800000u) { /* below 2^-14: the float sum |x| + 2^-14, then the same 13-bit rule */
        const float s = to_from_bits(a) + 6.103515625e-05f;
        h = ((to_bits(s) + bits) >> 13) - (0x38800000u >> 13);
    } else if (a + bits >= 0x47800000u) {
        h = 0x7c00u;
    } else {
        h = ((a + bits) >> 13) - (112u << 10);
    }
    return (uint16_t)(h | sign);
}

/* Exact widening, written from the formats' definitions (double arithmetic). */
static float ref_f16_to_f32(uint16_t h) {
    const int e = (h >> 10) & 31, m = h & 1023;
    const double s = (h & 0x8000) ? -1.0 : 1.0;
    if (e == 31) return m ? to_from_bits(((uint32_t)(h & 0x8000) << 16) | 0x7fc00000u | ((uint32_t)m << 13)) : (float)(s * INFINITY);
    if (e == 0) return (float)(s * ldexp(m, -24));
    return (float)(s * ldexp(1024 + m, e - 25));
}

/* Whether the low-precision value d (as float) is x itself or one of x's two neighbours in
   the format (pattern p, next pattern p+1 towards larger magnitude), with x's sign. */
static int is_neighbour(float x, uint16_t p, float (*widen)(uint16_t)) {
    const float d = widen(p);
    if (d == x) return 1;
    if (signbit(d) != signbit(x) && d != 0.0f) return 0;
    if (fabsf(d) < fabsf(x)) return fabsf(widen((uint16_t)(p + 1))) > fabsf(x);
    return (p & 0x7fff) != 0 && fabsf(widen((uint16_t)(p - 1))) < fabsf(x);
}
static float widen_bf16(uint16_t h) { return to_from_bits((uint32_t)h << 16); }

/* ---- golden ------------------------------------------------------------------------- */

typedef struct {
    uint32_t n;
    const uint32_t *x;
    const uint16_t *bf16, *f16;
    const uint32_t *f16_f32, *bf16_f32;
    const uint16_t *bf16_f16, *f16_bf16;
    unsigned char *data;
} cv_golden;

static int cv_load(to_ctx *t, cv_golden *g) {
    size_t len;
    unsigned char *p = (unsigned char *)to_read_golden(t, "convert.bin", &len);
    uint32_t n;
    if (!p) return 0;
    memcpy(&n, p + 4, 4);
    if (len < 8 || memcmp(p, "TOCV", 4) != 0 || len != 8 + (size_t)n * 8 + 65536u * 12) {
        to_fail(t, "convert.bin: bad header or size");
        free(p);
        return 0;
    }
    g->data = p;
    g->n = n;
    g->x = (const uint32_t *)(const void *)(p + 8);
    g->bf16 = (const uint16_t *)(const void *)(p + 8 + 4 * (size_t)n);
    g->f16 = g->bf16 + n;
    g->f16_f32 = (const uint32_t *)(const void *)(g->f16 + n);
    g->bf16_f32 = g->f16_f32 + 65536;
    g->bf16_f16 = (const uint16_t *)(const void *)(g->bf16_f32 + 65536);
    g->f16_bf16 = g->bf16_f16 + 65536;
    return 1;
}

static void words_same(to_ctx *t, const char *what, const uint16_t *got, const uint16_t *want, size_t n,
                       const uint32_t *input) {
    size_t i, bad = 0;
    for (i = 0; i < n; i++)
        if (got[i] != want[i] && bad++ < 4)
            to_fail(t, "%s: element %zu (input 0x%08x): got 0x%04x, want 0x%04x", what, i, input ? input[i] : (unsigned)i,
                    got[i], want[i]);
    TO_CHECK(t, bad == 0, "%s: %zu of %zu differ", what, bad, n);
}

static void test_golden(to_ctx *t) {
    cv_golden g;
    uint16_t *h, *all;
    uint32_t *w;
    size_t i;
    if (!cv_load(t, &g)) return;
    h = (uint16_t *)malloc(g.n * 2);
    all = (uint16_t *)malloc(65536 * 2);
    w = (uint32_t *)malloc(65536 * 4);
    for (i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    to_expect_status(t, trainopt_convert(g.n, g.x, TRAINOPT_F32, h, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0), TRAINOPT_OK, "to bf16");
    words_same(t, "fp32 -> bf16 vs torch .to(torch.bfloat16)", h, g.bf16, g.n, g.x);
    to_expect_status(t, trainopt_convert(g.n, g.x, TRAINOPT_F32, h, TRAINOPT_F16, TRAINOPT_ROUND_NEAREST, 0, 0), TRAINOPT_OK, "to f16");
    words_same(t, "fp32 -> fp16 vs torch .half()", h, g.f16, g.n, g.x);
    trainopt_convert(65536, all, TRAINOPT_F16, w, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    TO_CHECK(t, memcmp(w, g.f16_f32, 65536 * 4) == 0, "every fp16 pattern -> fp32 vs torch .float()");
    for (i = 0; i < 65536; i++) TO_CHECK(t, w[i] == to_bits(ref_f16_to_f32((uint16_t)i)), "fp16 0x%04zx widened: 0x%08x", i, w[i]);
    trainopt_convert(65536, all, TRAINOPT_BF16, w, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    TO_CHECK(t, memcmp(w, g.bf16_f32, 65536 * 4) == 0, "every bf16 pattern -> fp32 vs torch .float()");
    trainopt_convert(65536, all, TRAINOPT_BF16, h = (uint16_t *)realloc(h, 65536 * 2), TRAINOPT_F16, TRAINOPT_ROUND_NEAREST, 0, 0);
    words_same(t, "every bf16 pattern -> fp16 vs torch", h, g.bf16_f16, 65536, NULL);
    trainopt_convert(65536, all, TRAINOPT_F16, h, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0);
    words_same(t, "every fp16 pattern -> bf16 vs torch", h, g.f16_bf16, 65536, NULL);
    free(h);
    free(all);
    free(w);
    free(g.data);
}

/* ---- stochastic rounding -------------------------------------------------------------- */

static void test_stochastic_formula(to_ctx *t) {
    static const uint64_t offs[] = {0, 5, 1000003, 0xfffffffffffffff0ull};
    cv_golden g;
    uint16_t *h;
    uint32_t *r;
    size_t i, oi, bad_b = 0, bad_h = 0, far = 0;
    if (!cv_load(t, &g)) return;
    h = (uint16_t *)malloc(g.n * 2);
    r = (uint32_t *)malloc(g.n * 4);
    for (oi = 0; oi < sizeof offs / sizeof offs[0]; oi++) {
        const uint64_t seed = 0xabcdef12345ull + oi;
        trainopt_rand_u32(seed, offs[oi], g.n, r);
        to_expect_status(t, trainopt_convert(g.n, g.x, TRAINOPT_F32, h, TRAINOPT_BF16, TRAINOPT_ROUND_STOCHASTIC, seed, offs[oi]),
                         TRAINOPT_OK, "sr bf16");
        for (i = 0; i < g.n; i++) {
            const float x = to_from_bits(g.x[i]);
            if (h[i] != ref_sr_bf16(g.x[i], r[i]) && bad_b++ < 4)
                to_fail(t, "sr bf16 of 0x%08x word 0x%08x: got 0x%04x want 0x%04x", g.x[i], r[i], h[i], ref_sr_bf16(g.x[i], r[i]));
            if (isfinite(x) && fabsf(x) < 3.38e38f && !is_neighbour(x, h[i], widen_bf16) && far++ < 4)
                to_fail(t, "sr bf16 of 0x%08x gave 0x%04x, not a neighbour", g.x[i], h[i]);
        }
        trainopt_convert(g.n, g.x, TRAINOPT_F32, h, TRAINOPT_F16, TRAINOPT_ROUND_STOCHASTIC, seed, offs[oi]);
        for (i = 0; i < g.n; i++) {
            const float x = to_from_bits(g.x[i]);
            if (h[i] != ref_sr_f16(g.x[i], r[i]) && bad_h++ < 4)
                to_fail(t, "sr f16 of 0x%08x word 0x%08x: got 0x%04x want 0x%04x", g.x[i], r[i], h[i], ref_sr_f16(g.x[i], r[i]));
            /* above 65504 the upper neighbour is Inf */
            if (isfinite(x) && fabsf(x) <= 65504.0f &&
                !is_neighbour(x, h[i], ref_f16_to_f32) && far++ < 4)
                to_fail(t, "sr f16 of 0x%08x gave 0x%04x, not a neighbour", g.x[i], h[i]);
        }
    }
    TO_CHECK(t, bad_b == 0 && bad_h == 0 && far == 0, "stochastic rounding: %zu bf16, %zu fp16 differ, %zu not neighbours",
             bad_b, bad_h, far);
    free(h);
    free(r);
    free(g.data);
}

/* Mean of N stochastic roundings of one value, against the value: within 4 sigma. */
static void test_stochastic_unbiased(to_ctx *t) {
    enum { N = 20000 };
    static const float vals[] = {1.0f + 0x1p-10f / 3.0f, 0.1f, -2.7182817f, 3.0e-7f, -1.234e-6f, 1.0e-40f, 60000.5f, 0.33333334f};
    float *x = (float *)malloc(N * 4);
    uint16_t *h = (uint16_t *)malloc(N * 2);
    size_t v, i, d;
    for (v = 0; v < sizeof vals / sizeof vals[0]; v++)
        for (d = 0; d < 2; d++) {
            const trainopt_dtype dt = d ? TRAINOPT_F16 : TRAINOPT_BF16;
            double mean = 0.0, lo = INFINITY, hi = -INFINITY, p, sigma;
            if (dt == TRAINOPT_F16 && fabsf(vals[v]) < 1e-30f) continue; /* below fp16's range: always 0 or 2^-24 */
            for (i = 0; i < N; i++) x[i] = vals[v];
            trainopt_convert(N, x, TRAINOPT_F32, h, dt, TRAINOPT_ROUND_STOCHASTIC, 77 + v, 1000 * v);
            for (i = 0; i < N; i++) {
                const double y = dt == TRAINOPT_F16 ? ref_f16_to_f32(h[i]) : widen_bf16(h[i]);
                mean += y;
                lo = y < lo ? y : lo;
                hi = y > hi ? y : hi;
            }
            mean /= N;
            p = hi > lo ? (vals[v] - lo) / (hi - lo) : 0.0;
            sigma = (hi - lo) * sqrt(p * (1 - p) / N);
            TO_CHECK(t, hi > lo, "%s sr of %.9g: only one value drawn in %d", dt == TRAINOPT_F16 ? "f16" : "bf16", vals[v], N);
            TO_CHECK(t, fabs(mean - vals[v]) <= 4 * sigma, "%s sr of %.9g: mean %.12g, %.2f sigma away",
                     dt == TRAINOPT_F16 ? "f16" : "bf16", vals[v], mean, fabs(mean - vals[v]) / sigma);
        }
    free(x);
    free(h);
}

/* The same bits whatever the chunking: one call against pieces at offset + i. */
static void test_chunked(to_ctx *t) {
    enum { N = 1031 };
    static const size_t pieces[] = {1, 3, 7, 16, 63, 64, 65, 200};
    float x[N];
    uint16_t a[N], b[N], c[N];
    uint64_t st = 99;
    size_t pi, i, k, d;
    for (i = 0; i < N; i++) x[i] = to_rand_uniform(&st, -3.0f, 3.0f) * (float)(i % 7 == 0 ? 1e-6 : 1.0);
    for (d = 0; d < 2; d++) {
        const trainopt_dtype dt = d ? TRAINOPT_F16 : TRAINOPT_BF16;
        trainopt_convert(N, x, TRAINOPT_F32, a, dt, TRAINOPT_ROUND_STOCHASTIC, 5, 13);
        for (pi = 0; pi < sizeof pieces / sizeof pieces[0]; pi++) {
            memset(b, 0, sizeof b);
            for (i = 0; i < N; i += k) {
                k = N - i < pieces[pi] ? N - i : pieces[pi];
                trainopt_convert(k, x + i, TRAINOPT_F32, b + i, dt, TRAINOPT_ROUND_STOCHASTIC, 5, 13 + i);
            }
            TO_CHECK(t, memcmp(a, b, sizeof a) == 0, "%s sr in pieces of %zu differs from one call", d ? "f16" : "bf16", pieces[pi]);
        }
        /* a cross conversion through the lower format rounds the same as from its widening */
        trainopt_convert(N, a, dt, x, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
        trainopt_convert(N, a, dt, b, d ? TRAINOPT_BF16 : TRAINOPT_F16, TRAINOPT_ROUND_STOCHASTIC, 8, 3);
        trainopt_convert(N, x, TRAINOPT_F32, c, d ? TRAINOPT_BF16 : TRAINOPT_F16, TRAINOPT_ROUND_STOCHASTIC, 8, 3);
        TO_CHECK(t, memcmp(b, c, sizeof b) == 0, "sr %s -> other differs from widening then rounding", d ? "f16" : "bf16");
    }
}

static void test_errors(to_ctx *t) {
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint16_t h[8];
    float before[8];
    memcpy(before, x, sizeof x);
    memset(h, 0x5a, sizeof h);
    to_expect_status(t, trainopt_convert(8, x, (trainopt_dtype)3, h, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0), TRAINOPT_ERR_HPARAM, "src dtype 3");
    to_expect_status(t, trainopt_convert(8, x, TRAINOPT_F32, h, (trainopt_dtype)-1, TRAINOPT_ROUND_NEAREST, 0, 0), TRAINOPT_ERR_HPARAM, "dst dtype -1");
    to_expect_status(t, trainopt_convert(8, x, TRAINOPT_F32, h, TRAINOPT_BF16, (trainopt_rounding)2, 0, 0), TRAINOPT_ERR_HPARAM, "rounding 2");
    to_expect_status(t, trainopt_convert(8, NULL, TRAINOPT_F32, h, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0), TRAINOPT_ERR_NULL, "src NULL");
    to_expect_status(t, trainopt_convert(8, x, TRAINOPT_F32, NULL, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0), TRAINOPT_ERR_NULL, "dst NULL");
    to_expect_status(t, trainopt_convert(0, NULL, TRAINOPT_F32, NULL, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0), TRAINOPT_OK, "n 0");
    /* fp32 -> bf16 in place: the 16-byte output overlaps the input */
    to_expect_status(t, trainopt_convert(8, x, TRAINOPT_F32, x, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0), TRAINOPT_ERR_ALIAS, "in place");
    to_expect_status(t, trainopt_convert(4, x + 4, TRAINOPT_F32, (uint16_t *)(void *)x + 2, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0),
                     TRAINOPT_OK, "adjacent, not overlapping");
    memcpy(x, before, sizeof x);
    to_expect_status(t, trainopt_convert(SIZE_MAX / 2, x, TRAINOPT_F32, h, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0), TRAINOPT_ERR_SHAPE, "n overflow");
    {
        size_t i, changed = 0;
        for (i = 0; i < 8; i++) changed += h[i] != 0x5a5a;
        TO_CHECK(t, changed == 0 && memcmp(x, before, sizeof x) == 0, "a refused call wrote");
    }
}

void TO_NAME(convert_tests)(to_ctx *t) {
    to_run(t, "golden", test_golden);
    to_run(t, "stochastic_formula", test_stochastic_formula);
    to_run(t, "stochastic_unbiased", test_stochastic_unbiased);
    to_run(t, "chunked", test_chunked);
    to_run(t, "errors", test_errors);
}

/* ---- the battery ---------------------------------------------------------------------- */

void TO_NAME(convert_battery)(to_sink *s) {
    static const size_t sizes[] = {0, 1, 3, 15, 16, 17, 63, 64, 65, 129, 1031};
    static const uint64_t offs[] = {0, 7, 64, 0xffffffffffffffc0ull};
    const size_t nmax = 1031;
    float *x = (float *)malloc(nmax * 4), *y = (float *)malloc(nmax * 4);
    uint16_t *h = (uint16_t *)malloc(nmax * 2), *h2 = (uint16_t *)malloc(nmax * 2);
    uint64_t st = 4242;
    size_t si, oi, i, d, r;
    char name[96];
    for (i = 0; i < nmax; i++) {
        uint32_t u = (uint32_t)to_rand_u64(&st);
        x[i] = i % 3 ? to_rand_uniform(&st, -70000.0f, 70000.0f) * (float)(i % 5 == 0 ? 1e-9 : 1e-2) : to_from_bits(u);
    }
    for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (oi = 0; oi < sizeof offs / sizeof offs[0]; oi++)
            for (d = 1; d <= 2; d++)
                for (r = 0; r < 2; r++) {
                    const size_t n = sizes[si];
                    memset(h, 0, nmax * 2);
                    trainopt_convert(n, x, TRAINOPT_F32, h, (trainopt_dtype)d, (trainopt_rounding)r, 31 + si, offs[oi]);
                    snprintf(name, sizeof name, "f32_%s/%s/n%zu/o%zu", d == 1 ? "bf16" : "f16", r ? "sr" : "rne", n, oi);
                    to_emit(s, name, h, n * 2);
                    memset(h2, 0, nmax * 2);
                    trainopt_convert(n, h, (trainopt_dtype)d, h2, (trainopt_dtype)(3 - d), (trainopt_rounding)r, 7, offs[oi]);
                    snprintf(name, sizeof name, "%s_other/%s/n%zu/o%zu", d == 1 ? "bf16" : "f16", r ? "sr" : "rne", n, oi);
                    to_emit(s, name, h2, n * 2);
                    memset(y, 0, nmax * 4);
                    trainopt_convert(n, h, (trainopt_dtype)d, y, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
                    snprintf(name, sizeof name, "%s_f32/%s/n%zu/o%zu", d == 1 ? "bf16" : "f16", r ? "sr" : "rne", n, oi);
                    to_emit(s, name, y, n * 4);
                }
    free(x);
    free(y);
    free(h);
    free(h2);
}
