/* tests/test_random.c - the generator, random fills, dropout and initializers
   (trainopt.h, >>rng), compiled once per backend.

   References written here in plain C: Philox4x32 (checked against Random123's
   published known-answer vectors), the element -> word mappings, dropout, and
   double-precision Box-Muller / inverse-CDF formulas. Golden data from PyTorch
   1.13 (tests/gen_random.py): gains, fans, the bounds and deviations torch.nn.init
   derives, and PyTorch's own operations applied to this generator's draws.
   Statistical tests state their false-alarm rate: each bound is 5 sigma (two-sided
   5.7e-7) or a chi-square quantile at 1e-6 per tail; the data are fixed, so a
   test either always passes or always fails, and the rate says how likely a
   correct generator would be to land outside for a seed picked at random. */
#include "harness.h"
#include "trainopt.h"
#include "whitebox.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define L TRAINOPT_SIMD_LANES

/* ---- plain references ---------------------------------------------------- */

static void ref_philox(uint32_t c[4], const uint32_t key[2], int rounds) {
    uint32_t k0 = key[0], k1 = key[1];
    int r;
    for (r = 0; r < rounds; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1;
        c[1] = (uint32_t)p1;
        c[3] = (uint32_t)p0;
        c[0] = n0;
        c[2] = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
}

/* Word `w` of block b in stream c2 under key seed. */
static uint32_t ref_block_word(uint64_t seed, uint64_t b, uint32_t stream, unsigned w) {
    uint32_t c[4], key[2];
    c[0] = (uint32_t)b;
    c[1] = (uint32_t)(b >> 32);
    c[2] = stream;
    c[3] = 0;
    key[0] = (uint32_t)seed;
    key[1] = (uint32_t)(seed >> 32);
    ref_philox(c, key, 10);
    return c[w];
}

/* The documented mapping: element e's word. */
static uint32_t ref_word(uint64_t seed, uint64_t e) {
    return ref_block_word(seed, (e >> 6) * 16 + (e & 15), 0, (unsigned)((e >> 4) & 3));
}

/* Dropout's 32-bit draw for element e: 16 bits of stream 0, then 16 of stream 1. */
static uint32_t ref_dropout_draw(uint64_t seed, uint64_t e) {
    uint64_t b = (e >> 7) * 16 + (e & 15);
    unsigned w = (unsigned)((e >> 4) & 3), sh = ((e >> 6) & 1) ? 16 : 0;
    uint32_t h0 = (ref_block_word(seed, b, 0, w) >> sh) & 0xffffu;
    uint32_t h1 = (ref_block_word(seed, b, 1, w) >> sh) & 0xffffu;
    return (h0 << 16) | h1;
}

static uint32_t ref_threshold(double p) {
    double t = floor(p * 4294967296.0 + 0.5);
    return t >= 4294967295.0 ? 0xffffffffu : (uint32_t)t;
}

static int ref_keep(double p, uint64_t seed, uint64_t e) {
    if (p == 0.0) return 1;
    if (p == 1.0) return 0;
    return ref_dropout_draw(seed, e) >= ref_threshold(p);
}

/* mask: ceil(n/8) bytes, may be NULL; the last byte's unused bits 0. */
static void ref_dropout(double p, uint64_t seed, uint64_t offset, size_t n, const float *x, float *y, uint8_t *mask) {
    float scale = (float)(1.0 / (1.0 - p));
    size_t i;
    if (mask) memset(mask, 0, (n + 7) / 8);
    for (i = 0; i < n; i++) {
        int keep = ref_keep(p, seed, offset + i);
        y[i] = keep ? (p == 0.0 ? x[i] : x[i] * scale) : x[i] * 0.0f; /* PyTorch: x * noise */
        if (mask && keep) mask[i / 8] |= (uint8_t)(1u << (i % 8));
    }
}

static double ref_u24(uint32_t w) { return (double)(w >> 8) * (1.0 / 16777216.0); }

/* Box-Muller in double from the documented pairing. */
static double ref_normal_z(uint64_t seed, uint64_t e) {
    uint64_t b = (e >> 6) * 16 + (e & 15);
    unsigned w = (unsigned)((e >> 4) & 3), pair = w & 2u;
    double u1 = 1.0 - ref_u24(ref_block_word(seed, b, 0, pair)), t = ref_u24(ref_block_word(seed, b, 0, pair + 1));
    double r = sqrt(-2.0 * log(u1)), a = 6.283185307179586 * t;
    return (w & 1) ? r * sin(a) : r * cos(a);
}

/* erfinv in double by bisection on libm's erf. */
static double ref_erfinv(double v) {
    double lo = -7.0, hi = 7.0;
    int k;
    if (v <= -1.0) return -INFINITY;
    if (v >= 1.0) return INFINITY;
    for (k = 0; k < 200 && hi - lo > 0.0; k++) {
        double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi) break;
        if (erf(mid) < v) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

static double ulp_of(float x) {
    float a = fabsf(x);
    return (double)nextafterf(a, INFINITY) - (double)a;
}

/* ---- buffers --------------------------------------------------------------- */

/* A mask of ceil(n/8) bytes at a byte misalignment, with 16 canary bytes on each side;
   its own bytes start as 0xa5 so that unwritten bits show. */
typedef struct {
    uint8_t *p;
    size_t bytes;
    void *block;
} tm_mask;

static tm_mask mask_new(size_t n, size_t misalign) {
    tm_mask m;
    m.bytes = (n + 7) / 8;
    m.block = malloc(m.bytes + 32 + misalign + 1);
    if (!m.block) exit(2);
    memset(m.block, 0xa5, m.bytes + 32 + misalign + 1);
    m.p = (uint8_t *)m.block + 16 + misalign;
    return m;
}

static int mask_canaries_ok(to_ctx *t, const tm_mask *m, const char *what) {
    size_t i;
    for (i = 1; i <= 16; i++)
        if (m->p[-(ptrdiff_t)i] != 0xa5 || m->p[m->bytes + i - 1] != 0xa5) {
            to_fail(t, "%s: mask canary %zu next to %zu bytes overwritten", what, i, m->bytes);
            return 0;
        }
    return 1;
}

static int bytes_equal(to_ctx *t, const char *what, const uint8_t *got, const uint8_t *want, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (got[i] != want[i]) {
            to_fail(t, "%s: byte %zu / %zu is 0x%02x, want 0x%02x", what, i, n, got[i], want[i]);
            return 0;
        }
    return 1;
}

static int words_equal(to_ctx *t, const char *what, const uint32_t *got, const uint32_t *want, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (got[i] != want[i]) {
            to_fail(t, "%s: word %zu / %zu is 0x%08x, want 0x%08x", what, i, n, (unsigned)got[i], (unsigned)want[i]);
            return 0;
        }
    return 1;
}

/* Inputs with the special values sprinkled in: NaN, +-Inf, -0, a denormal, a huge value. */
static void fill_x(uint64_t *st, float *x, size_t n) {
    static const uint32_t special[] = {0x7fc00000u, 0x7f800000u, 0xff800000u, 0x80000000u, 0x00000123u, 0x7f7fffffu, 0x7fa12345u};
    size_t i;
    to_rand_fill(st, x, n, -3.0f, 3.0f);
    for (i = 0; i < n; i += 11) x[i] = to_from_bits(special[(i / 11) % 7]);
}

static const uint64_t offsets[] = {0, 1, 3, 7, 8, 15, 16, 17, 63, 64, 65, 100, 127, 128, 129, 1000003,
                                   0xfffffff0u, 0x7ffffffffffull - 5, 0xffffffffffffff10ull, 0xffffffffffffff9cull,
                                   0xffffffffffffffffull};
#define N_OFFSETS (sizeof offsets / sizeof offsets[0])
static const size_t big_sizes[] = {127, 128, 129, 255, 256, 257, 1000, 4099};
#define N_BIG (sizeof big_sizes / sizeof big_sizes[0])

/* ---- the generator ------------------------------------------------------------ */

static const uint32_t kat[6][11] = {
    /* rounds, ctr[4], key[2], out[4]: Random123's kat_vectors, philox4x32 */
    {7, 0, 0, 0, 0, 0, 0, 0x5f6fb709, 0x0d893f64, 0x4f121f81, 0x4f730a48},
    {7, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x5207ddc2, 0x45165e59, 0x4d8ee751, 0x8c52f662},
    {7, 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a},
    {10, 0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
    {10, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
    {10, 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
};

static void test_philox_kat(to_ctx *t) {
    int v, j, lane;
    for (v = 0; v < 6; v++) {
        trainopt__vi c[4];
        trainopt__vi key[2];
        uint32_t out[L], ref[4];
        for (j = 0; j < 4; j++) c[j] = trainopt__vi_set1(kat[v][1 + j]);
        key[0] = trainopt__vi_set1(kat[v][5]);
        key[1] = trainopt__vi_set1(kat[v][6]);
        TO_NAME(to_wb_philox4x32)(c, key, kat[v][0] == 7 ? 7 : 10); /* a constant there, as in the kernels */
        for (j = 0; j < 4; j++) {
            trainopt__vi_store(out, c[j]);
            for (lane = 0; lane < L; lane++)
                TO_CHECK(t, out[lane] == kat[v][7 + j], "philox4x32-%u vector %d word %d lane %d: 0x%08x, want 0x%08x",
                         (unsigned)kat[v][0], v, j, lane, (unsigned)out[lane], (unsigned)kat[v][7 + j]);
        }
        /* the plain reference too, so it can be trusted for the rest */
        memcpy(ref, &kat[v][1], sizeof ref);
        {
            uint32_t key2[2];
            key2[0] = kat[v][5];
            key2[1] = kat[v][6];
            ref_philox(ref, key2, (int)kat[v][0]);
        }
        for (j = 0; j < 4; j++) TO_CHECK(t, ref[j] == kat[v][7 + j], "reference philox vector %d word %d", v, j);
    }
    /* distinct counters and keys in every lane */
    {
        trainopt__vi iota = trainopt__vi_iota(), c[4];
        trainopt__vi key[2];
        uint32_t out[4][L];
        c[0] = trainopt__vi_add(iota, trainopt__vi_set1(0xfffffff8u));
        c[1] = trainopt__vi_mullo(iota, trainopt__vi_set1(0x9e3779b9u));
        c[2] = trainopt__vi_xor(iota, trainopt__vi_set1(0x13198a2eu));
        c[3] = trainopt__vi_shl(iota, 28);
        key[0] = trainopt__vi_add(iota, trainopt__vi_set1(0xa4093822u));
        key[1] = trainopt__vi_sub(trainopt__vi_set1(7u), iota);
        TO_NAME(to_wb_philox4x32)(c, key, 10);
        for (j = 0; j < 4; j++) trainopt__vi_store(out[j], c[j]);
        for (lane = 0; lane < L; lane++) {
            uint32_t r[4], k[2];
            uint32_t ul = (uint32_t)lane;
            r[0] = ul + 0xfffffff8u;
            r[1] = ul * 0x9e3779b9u;
            r[2] = ul ^ 0x13198a2eu;
            r[3] = ul << 28;
            k[0] = ul + 0xa4093822u;
            k[1] = 7u - ul;
            ref_philox(r, k, 10);
            for (j = 0; j < 4; j++) TO_CHECK(t, out[j][lane] == r[j], "per-lane philox lane %d word %d", lane, j);
        }
    }
}

static void test_rand_u32_reference(to_ctx *t) {
    size_t oi, n, s;
    uint32_t *want = (uint32_t *)malloc(5000 * sizeof(uint32_t));
    for (oi = 0; oi < N_OFFSETS; oi++)
        for (s = 0; s < 71 + N_BIG; s++) {
            uint64_t seed = 0x9e3779b97f4a7c15ull * (oi + 1), off = offsets[oi];
            to_buf b;
            size_t i;
            char what[96];
            n = s < 71 ? s : big_sizes[s - 71];
            b = to_buf_new(n, s % 4);
            for (i = 0; i < n; i++) want[i] = ref_word(seed, off + i);
            snprintf(what, sizeof what, "rand_u32 offset %llu n %zu", (unsigned long long)off, n);
            to_expect_status(t, trainopt_rand_u32(seed, off, n, (uint32_t *)(void *)b.p), TRAINOPT_OK, what);
            words_equal(t, what, (const uint32_t *)(void *)b.p, want, n);
            to_buf_canaries_ok(t, &b, what);
            to_buf_free(&b);
        }
    free(want);
    TO_CHECK(t, trainopt_rand_u32(1, 0, 0, NULL) == TRAINOPT_OK, "n == 0 with NULL");
    TO_CHECK(t, trainopt_rand_u32(1, 0, 1, NULL) == TRAINOPT_ERR_NULL, "NULL");
    {
        uint32_t w = 0x12345678u;
        TO_CHECK(t, trainopt_rand_u32(1, 0, SIZE_MAX / 2, &w) == TRAINOPT_ERR_SHAPE && w == 0x12345678u, "n overflow");
    }
}

static void test_rand_u32_golden(to_ctx *t) {
    size_t len;
    uint32_t *g = (uint32_t *)to_read_golden(t, "random_words.bin", &len), got[1000];
    if (!g) return;
    TO_CHECK(t, len == sizeof got, "random_words.bin has %zu bytes", len);
    if (len == sizeof got) {
        trainopt_rand_u32(0x0123456789abcdefull, 1000003, 1000, got);
        words_equal(t, "rand_u32 vs gen_random.py's independent Philox", got, g, 1000);
    }
    free(g);
}

/* Chunked calls at odd offsets give the same words as one call. */
static void test_rand_chunked(to_ctx *t) {
    const size_t n = 3001;
    uint64_t st = 99;
    float *whole = (float *)malloc(n * sizeof(float)), *parts = (float *)malloc(n * sizeof(float));
    uint32_t *w1 = (uint32_t *)malloc(n * 4), *w2 = (uint32_t *)malloc(n * 4);
    trainopt_trunc_normal_config tc = TRAINOPT_TRUNC_NORMAL_DEFAULTS;
    int kind, rep;
    for (kind = 0; kind < 4; kind++)
        for (rep = 0; rep < 6; rep++) {
            uint64_t off = to_rand_u64(&st) >> (rep * 10), seed = to_rand_u64(&st);
            size_t i = 0;
            to_fill_nan(parts, n);
            switch (kind) {
            case 0: trainopt_rand_u32(seed, off, n, w1); break;
            case 1: trainopt_rand_uniform(seed, off, n, -2.0, 3.0, whole); break;
            case 2: trainopt_rand_normal(seed, off, n, 0.5, 2.0, whole); break;
            default: trainopt_trunc_normal(&tc, seed, off, n, whole); break;
            }
            while (i < n) {
                size_t k = (size_t)(to_rand_u64(&st) % 150) + 1;
                if (k > n - i) k = n - i;
                switch (kind) {
                case 0: trainopt_rand_u32(seed, off + i, k, w2 + i); break;
                case 1: trainopt_rand_uniform(seed, off + i, k, -2.0, 3.0, parts + i); break;
                case 2: trainopt_rand_normal(seed, off + i, k, 0.5, 2.0, parts + i); break;
                default: trainopt_trunc_normal(&tc, seed, off + i, k, parts + i); break;
                }
                i += k;
            }
            if (kind == 0) words_equal(t, "rand_u32 chunked", w2, w1, n);
            else to_bits_equal(t, kind == 1 ? "uniform chunked" : kind == 2 ? "normal chunked" : "trunc_normal chunked", parts, whole, n);
        }
    free(whole);
    free(parts);
    free(w1);
    free(w2);
}

/* ---- dropout ---------------------------------------------------------------- */

static const double dropout_ps[] = {0.1, 0.5, 0.9, 0.3333333333333333, 1e-9, 0.999999999, 0.0, 1.0};

static void test_dropout_reference(to_ctx *t) {
    size_t pi, oi, s;
    uint64_t st = 5;
    for (pi = 0; pi < sizeof dropout_ps / sizeof dropout_ps[0]; pi++)
        for (oi = 0; oi < N_OFFSETS; oi += (pi < 3 ? 1 : 3))
            for (s = 0; s < 71 + N_BIG; s += (pi < 3 ? 1 : 4)) {
                double p = dropout_ps[pi];
                uint64_t seed = to_rand_u64(&st), off = offsets[oi];
                size_t n = s < 71 ? s : big_sizes[s - 71], mis = (s + oi) % 4;
                to_buf x = to_buf_new(n, mis), y = to_buf_new(n, (mis + 1) % 4), yref = to_buf_new(n, 0);
                tm_mask m = mask_new(n, s % 3), mref = mask_new(n, 0);
                char what[128];
                fill_x(&st, x.p, n);
                ref_dropout(p, seed, off, n, x.p, yref.p, mref.p);
                snprintf(what, sizeof what, "dropout_forward p %.9g offset %llu n %zu", p, (unsigned long long)off, n);
                to_expect_status(t, trainopt_dropout_forward(p, seed, off, n, x.p, y.p, m.p), TRAINOPT_OK, what);
                to_bits_equal(t, what, y.p, yref.p, n);
                bytes_equal(t, what, m.p, mref.p, m.bytes);
                to_buf_canaries_ok(t, &y, what);
                mask_canaries_ok(t, &m, what);
                /* without a mask, and in place */
                to_fill_nan(y.p, n);
                trainopt_dropout_forward(p, seed, off, n, x.p, y.p, NULL);
                to_bits_equal(t, "dropout_forward without mask", y.p, yref.p, n);
                to_copy(y.p, x.p, n);
                trainopt_dropout_forward(p, seed, off, n, y.p, y.p, NULL);
                to_bits_equal(t, "dropout_forward in place", y.p, yref.p, n);
                to_buf_free(&x);
                to_buf_free(&y);
                to_buf_free(&yref);
                free(m.block);
                free(mref.block);
            }
}

/* Elements whose high 16 bits equal the threshold's take the tie-break path. Pick
   an element, give the threshold its draw's high half and, as low half, the draw's
   own low half h1 (the element must be kept) or h1 + 1 (dropped): a kernel that
   broke the tie with any other 16 bits, or ignored them, gets one of the two wrong
   (unless those bits happened to equal h1). Checked deep in a group, near a call's
   start, and alone. */
static void test_dropout_ties(to_ctx *t) {
    const uint64_t seed = 0xfeedfacecafebeefull;
    int rep;
    for (rep = 0; rep < 8; rep++) {
        uint64_t e0 = 1000 + 977 * (uint64_t)(rep / 2), base;
        uint32_t draw, th;
        double p;
        size_t n = 700, j;
        float x[700], y[700], yref[700];
        uint8_t m[88], mref[88];
        while (((draw = ref_dropout_draw(seed, e0)) & 0xffffu) == 0xffffu) e0++;
        th = draw + (uint32_t)(rep % 2); /* kept when rep is even, dropped when odd */
        p = (double)th / 4294967296.0;
        TO_CHECK(t, ref_threshold(p) == th, "threshold round trip");
        for (j = 0; j < n; j++) x[j] = (float)j + 0.5f;
        for (base = e0 - 300; base <= e0; base += 150) { /* e0 deep inside, then nearer the start */
            ref_dropout(p, seed, base, n, x, yref, mref);
            trainopt_dropout_forward(p, seed, base, n, x, y, m);
            to_bits_equal(t, "dropout at a tie", y, yref, n);
            bytes_equal(t, "dropout mask at a tie", m, mref, (n + 7) / 8);
            TO_CHECK(t, ((m[(e0 - base) / 8] >> ((e0 - base) % 8)) & 1) == (rep % 2 == 0), "tie element %llu in a call at %llu, rep %d",
                     (unsigned long long)e0, (unsigned long long)base, rep);
        }
        /* the element alone: the per-lane path */
        trainopt_dropout_forward(p, seed, e0, 1, x, y, m);
        TO_CHECK(t, (m[0] & 1) == (rep % 2 == 0) && (to_bits(y[0]) == 0) == (rep % 2 == 1), "tie element %llu alone, rep %d",
                 (unsigned long long)e0, rep);
    }
}

static void test_dropout_chunked(to_ctx *t) {
    const size_t n = 5003;
    uint64_t st = 17;
    float *x = (float *)malloc(n * sizeof(float)), *y1 = (float *)malloc(n * sizeof(float)), *y2 = (float *)malloc(n * sizeof(float));
    uint8_t m1[(5003 + 7) / 8], m2[(5003 + 7) / 8], mc[64];
    int rep;
    fill_x(&st, x, n);
    for (rep = 0; rep < 12; rep++) {
        double p = rep % 3 == 0 ? 0.25 : rep % 3 == 1 ? 0.7 : 0.05;
        uint64_t seed = to_rand_u64(&st), off = to_rand_u64(&st) >> (rep * 5);
        size_t i = 0;
        trainopt_dropout_forward(p, seed, off, n, x, y1, m1);
        to_fill_nan(y2, n);
        memset(m2, 0x5a, sizeof m2);
        /* chunks starting at multiples of 8 share one mask */
        while (i < n) {
            size_t k = 8 * (size_t)(to_rand_u64(&st) % 40 + 1);
            if (k > n - i) k = n - i;
            trainopt_dropout_forward(p, seed, off + i, k, x + i, y2 + i, m2 + i / 8);
            i += k;
        }
        to_bits_equal(t, "dropout chunked at multiples of 8", y2, y1, n);
        bytes_equal(t, "dropout mask chunked at multiples of 8", m2, m1, sizeof m1);
        /* any split: each chunk's own mask holds the same bits */
        to_fill_nan(y2, n);
        for (i = 0; i < n;) {
            size_t k = (size_t)(to_rand_u64(&st) % 300) + 1, j;
            if (k > n - i) k = n - i;
            trainopt_dropout_forward(p, seed, off + i, k, x + i, y2 + i, k <= 512 ? mc : NULL);
            for (j = 0; j < k; j++)
                if (((mc[j / 8] >> (j % 8)) & 1) != ((m1[(i + j) / 8] >> ((i + j) % 8)) & 1)) {
                    to_fail(t, "mask bit of element %zu differs in a chunk at %zu", i + j, i);
                    break;
                }
            i += k;
        }
        to_bits_equal(t, "dropout chunked anywhere", y2, y1, n);
        /* backward, chunked and regenerating */
        to_fill_nan(y2, n);
        for (i = 0; i < n;) {
            size_t k = (size_t)(to_rand_u64(&st) % 200) + 1;
            if (k > n - i) k = n - i;
            trainopt_dropout_backward(p, seed, off + i, k, x + i, y2 + i, NULL);
            i += k;
        }
        to_bits_equal(t, "dropout_backward chunked, regenerated", y2, y1, n);
    }
    free(x);
    free(y1);
    free(y2);
}

/* Outputs of TRAINOPT_STREAM_BYTES (16 MiB) or more go out with streaming stores
   when y is vector-aligned: one whole call then equals the same range done in
   chunks below the threshold, for an aligned y (streams) and a misaligned one
   (does not), with the mask. */
static void test_dropout_streaming(to_ctx *t) {
    const size_t n = ((size_t)16 << 20) / sizeof(float) + 1001, chunk = 100000;
    const uint64_t off = 37; /* a head of 91 elements before the first whole group */
    to_buf x = to_buf_new(n, 0), y2 = to_buf_new(n, 0);
    uint8_t *m1 = (uint8_t *)malloc(n / 8 + 1), *m2 = (uint8_t *)malloc(n / 8 + 1);
    uint64_t st = 23;
    size_t i, shift;
    if (!m1 || !m2) {
        to_fail(t, "out of memory");
        shift = 2;
    } else {
        shift = 0;
    }
    fill_x(&st, x.p, n);
    for (; shift < 2; shift++) {
        /* to_buf's p is 64-byte aligned + misalign floats: y1.p + 91 is aligned for shift 0 */
        to_buf y1 = to_buf_new(n, 5 + shift);
        to_expect_status(t, trainopt_dropout_forward(0.3, 99, off, n, x.p, y1.p, m1), TRAINOPT_OK, "dropout_forward, 16 MiB");
        for (i = 0; i < n; i += chunk) {
            size_t k = n - i < chunk ? n - i : chunk;
            trainopt_dropout_forward(0.3, 99, off + i, k, x.p + i, y2.p + i, m2 + i / 8);
        }
        to_bits_equal(t, shift ? "dropout 16 MiB, misaligned y" : "dropout 16 MiB, streaming stores", y1.p, y2.p, n);
        bytes_equal(t, "dropout 16 MiB mask", m1, m2, (n + 7) / 8);
        to_buf_canaries_ok(t, &y1, "dropout 16 MiB");
        to_buf_free(&y1);
    }
    to_buf_free(&x);
    to_buf_free(&y2);
    free(m1);
    free(m2);
}

static void test_dropout_backward(to_ctx *t) {
    size_t pi, s;
    uint64_t st = 23;
    for (pi = 0; pi < sizeof dropout_ps / sizeof dropout_ps[0]; pi++)
        for (s = 0; s < 71 + N_BIG; s += 2) {
            double p = dropout_ps[pi];
            size_t n = s < 71 ? s : big_sizes[s - 71], i;
            uint64_t seed = to_rand_u64(&st), off = offsets[s % N_OFFSETS];
            to_buf dy = to_buf_new(n, s % 4), dx = to_buf_new(n, (s + 3) % 4), want = to_buf_new(n, 0);
            tm_mask m = mask_new(n, 1);
            char what[96];
            float scale = (float)(1.0 / (1.0 - p));
            fill_x(&st, dy.p, n);
            snprintf(what, sizeof what, "dropout_backward p %.9g n %zu", p, n);
            /* regenerated: equals the forward pass applied to dy */
            ref_dropout(p, seed, off, n, dy.p, want.p, NULL);
            to_expect_status(t, trainopt_dropout_backward(p, seed, off, n, dy.p, dx.p, NULL), TRAINOPT_OK, what);
            to_bits_equal(t, what, dx.p, want.p, n);
            /* with an arbitrary mask: the bits decide, not the generator */
            for (i = 0; i < m.bytes; i++) m.p[i] = (uint8_t)to_rand_u64(&st);
            for (i = 0; i < n; i++) {
                int keep = (m.p[i / 8] >> (i % 8)) & 1;
                want.p[i] = (keep && p != 1.0) ? (p == 0.0 ? dy.p[i] : dy.p[i] * scale) : dy.p[i] * 0.0f;
            }
            to_fill_nan(dx.p, n);
            to_expect_status(t, trainopt_dropout_backward(p, seed, off, n, dy.p, dx.p, m.p), TRAINOPT_OK, what);
            to_bits_equal(t, "dropout_backward with a mask", dx.p, want.p, n);
            to_buf_canaries_ok(t, &dx, what);
            /* in place */
            to_copy(dx.p, dy.p, n);
            trainopt_dropout_backward(p, seed, off, n, dx.p, dx.p, m.p);
            to_bits_equal(t, "dropout_backward with a mask, in place", dx.p, want.p, n);
            to_buf_free(&dy);
            to_buf_free(&dx);
            to_buf_free(&want);
            free(m.block);
        }
}

static void test_dropout_special(to_ctx *t) {
    const size_t n = 45;
    float x[45], y[45];
    uint8_t m[6];
    size_t i;
    uint64_t st = 3;
    fill_x(&st, x, n);
    x[1] = to_from_bits(0x7f800001u); /* a signalling NaN payload survives p == 0 */
    memset(m, 0, sizeof m);
    trainopt_dropout_forward(0.0, 1, 2, n, x, y, m);
    TO_CHECK(t, memcmp(y, x, sizeof x) == 0, "p == 0 copies every bit (NaN payloads included)");
    TO_CHECK(t, m[0] == 0xff && m[4] == 0xff && m[5] == 0x1f, "p == 0 mask all ones (last byte 0x%02x)", m[5]);
    memset(m, 0xff, sizeof m);
    to_fill_nan(y, n);
    trainopt_dropout_forward(1.0, 1, 2, n, x, y, m);
    for (i = 0; i < n; i++)
        TO_CHECK(t, to_bits(y[i]) == to_bits(x[i] * 0.0f) || (isnan(y[i]) && isnan(x[i])), "p == 1 gives x * 0 at %zu", i);
    TO_CHECK(t, m[0] == 0 && m[5] == 0, "p == 1 mask all zeros");
    /* dropped elements are x * 0 as in PyTorch (NaN and Inf give NaN, negatives -0), kept ones scaled */
    trainopt_dropout_forward(0.5, 9, 0, n, x, y, m);
    for (i = 0; i < n; i++) {
        int keep = (m[i / 8] >> (i % 8)) & 1;
        if (!keep) TO_CHECK(t, to_bits(y[i]) == to_bits(x[i] * 0.0f) || (isnan(y[i]) && isnan(x[i] * 0.0f)), "dropped element %zu is x * 0", i);
        else TO_CHECK(t, to_bits(y[i]) == to_bits(x[i] * 2.0f), "kept element %zu doubled", i);
    }
}

static void test_dropout_errors(to_ctx *t) {
    const double bad_p[] = {-0.1, -1e-300, 1.0000000000000002, 2.0, NAN, INFINITY, -INFINITY};
    float x[40], y[40], ysave[40];
    uint8_t m[5], msave[5];
    size_t i;
    uint64_t st = 8;
    fill_x(&st, x, 40);
    to_rand_fill(&st, y, 40, -1.0f, 1.0f);
    memcpy(ysave, y, sizeof y);
    memset(m, 0x3c, sizeof m);
    memcpy(msave, m, sizeof m);
#define TO_UNCHANGED(what)                                           \
    do {                                                             \
        to_bits_equal(t, what " (y unchanged)", y, ysave, 40);        \
        bytes_equal(t, what " (mask unchanged)", m, msave, sizeof m); \
    } while (0)
    for (i = 0; i < sizeof bad_p / sizeof bad_p[0]; i++) {
        to_expect_status(t, trainopt_dropout_forward(bad_p[i], 1, 0, 40, x, y, m), TRAINOPT_ERR_HPARAM, "forward bad p");
        to_expect_status(t, trainopt_dropout_backward(bad_p[i], 1, 0, 40, x, y, m), TRAINOPT_ERR_HPARAM, "backward bad p");
        to_expect_status(t, trainopt_dropout_forward(bad_p[i], 1, 0, 0, NULL, NULL, NULL), TRAINOPT_ERR_HPARAM, "bad p, n == 0");
        TO_UNCHANGED("bad p");
    }
    to_expect_status(t, trainopt_dropout_forward(0.5, 1, 0, 0, NULL, NULL, NULL), TRAINOPT_OK, "n == 0, NULL arrays");
    to_expect_status(t, trainopt_dropout_forward(0.5, 1, 0, 40, NULL, y, m), TRAINOPT_ERR_NULL, "NULL x");
    to_expect_status(t, trainopt_dropout_forward(0.5, 1, 0, 40, x, NULL, m), TRAINOPT_ERR_NULL, "NULL y");
    to_expect_status(t, trainopt_dropout_backward(0.5, 1, 0, 40, NULL, y, m), TRAINOPT_ERR_NULL, "NULL dy");
    to_expect_status(t, trainopt_dropout_backward(0.0, 1, 0, 40, x, NULL, NULL), TRAINOPT_ERR_NULL, "NULL dx");
    to_expect_status(t, trainopt_dropout_forward(0.5, 1, 0, SIZE_MAX / 4 + 1, x, y, m), TRAINOPT_ERR_SHAPE, "n overflow");
    to_expect_status(t, trainopt_dropout_forward(0.5, 1, 0, 20, y, y + 1, m), TRAINOPT_ERR_ALIAS, "x, y overlap");
    to_expect_status(t, trainopt_dropout_forward(0.0, 1, 0, 20, y + 3, y, m), TRAINOPT_ERR_ALIAS, "x, y overlap, p == 0");
    to_expect_status(t, trainopt_dropout_forward(1.0, 1, 0, 20, x, y, (uint8_t *)(void *)(y + 19)), TRAINOPT_ERR_ALIAS,
                     "mask overlaps y");
    to_expect_status(t, trainopt_dropout_forward(0.5, 1, 0, 20, x, y, (uint8_t *)(void *)(x + 5)), TRAINOPT_ERR_ALIAS,
                     "mask overlaps x");
    to_expect_status(t, trainopt_dropout_backward(0.5, 1, 0, 20, x, y, (const uint8_t *)(void *)(y + 2)), TRAINOPT_ERR_ALIAS,
                     "mask overlaps dx");
    TO_UNCHANGED("after the errors");
#undef TO_UNCHANGED
}

/* PyTorch's native_dropout_backward(x, mask, 1/(1-p)) on this generator's mask. */
static void test_dropout_golden(to_ctx *t) {
    size_t len, tlen, off = 0;
    float *g = (float *)to_read_golden(t, "random_dropout.bin", &len);
    char *txt = (char *)to_read_golden(t, "random_dropout.txt", &tlen), *line;
    if (!g || !txt) { free(g); free(txt); return; }
    txt = (char *)realloc(txt, tlen + 1);
    txt[tlen] = 0;
    for (line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
        double p;
        unsigned long long seed, offset;
        size_t n, i;
        float *y;
        uint8_t *m;
        if (sscanf(line, "%lf %llu %llu %zu", &p, &seed, &offset, &n) != 4 || (off + 3 * n) * 4 > len) {
            to_fail(t, "bad golden line %s", line);
            break;
        }
        y = (float *)malloc(n * sizeof(float));
        m = (uint8_t *)malloc((n + 7) / 8);
        trainopt_dropout_forward(p, seed, offset, n, g + off, y, m);
        for (i = 0; i < n; i++) {
            int keep = (m[i / 8] >> (i % 8)) & 1;
            TO_CHECK(t, keep == (g[off + n + i] == 1.0f), "p %g element %zu: mask differs from gen_random.py's", p, i);
        }
        /* x * 0 where dropped, as PyTorch: to_close also matches the NaN of a dropped Inf */
        to_close(t, "dropout vs torch native_dropout_backward(x, mask, scale)", y, g + off + 2 * n, n, 0.0);
        off += 3 * n;
        free(y);
        free(m);
    }
    free(g);
    free(txt);
}

/* ---- uniform and normal ------------------------------------------------------- */

static void test_uniform_reference(to_ctx *t) {
    const double ranges[][2] = {{0.0, 1.0}, {-1.0, 1.0}, {-3.5, 1e-3}, {5.0, 5.0}, {-1e30, 2e30}, {1e-30, 3e-30}};
    size_t ri, s;
    uint64_t st = 41;
    for (ri = 0; ri < sizeof ranges / sizeof ranges[0]; ri++)
        for (s = 0; s < 71 + N_BIG; s += 3) {
            double lo = ranges[ri][0], hi = ranges[ri][1];
            size_t n = s < 71 ? s : big_sizes[s - 71], i;
            uint64_t seed = to_rand_u64(&st), off = offsets[(s + ri) % N_OFFSETS];
            to_buf y = to_buf_new(n, s % 4), want = to_buf_new(n, 0);
            float mul = (float)(hi - lo), add = (float)lo;
            for (i = 0; i < n; i++) {
                want.p[i] = fmaf((float)ref_u24(ref_word(seed, off + i)), mul, add);
                TO_CHECK(t, want.p[i] >= (float)lo && want.p[i] <= (float)hi, "uniform bound");
            }
            to_expect_status(t, trainopt_rand_uniform(seed, off, n, lo, hi, y.p), TRAINOPT_OK, "rand_uniform");
            to_bits_equal(t, "rand_uniform vs fma(u24, hi - lo, lo)", y.p, want.p, n);
            to_buf_canaries_ok(t, &y, "rand_uniform");
            to_buf_free(&y);
            to_buf_free(&want);
        }
}

static void test_normal_reference(to_ctx *t) {
    const double params[][2] = {{0.0, 1.0}, {2.5, 0.1}, {-1.0, 3.0}, {7.0, 0.0}};
    size_t pi, s;
    uint64_t st = 43;
    for (pi = 0; pi < sizeof params / sizeof params[0]; pi++)
        for (s = 0; s < 71 + N_BIG; s += 2) {
            double mean = params[pi][0], std = params[pi][1];
            size_t n = s < 71 ? s : big_sizes[s - 71], i;
            uint64_t seed = to_rand_u64(&st), off = offsets[(s + pi) % N_OFFSETS];
            to_buf y = to_buf_new(n, s % 4);
            to_expect_status(t, trainopt_rand_normal(seed, off, n, mean, std, y.p), TRAINOPT_OK, "rand_normal");
            for (i = 0; i < n; i++) {
                double z = ref_normal_z(seed, off + i), want = mean + std * z;
                /* log within 0.82 ulp, sin/cos within 6.1e-8: 6e-7 relative to |z| + 1 covers both and the roundings */
                double tol = std * 6e-7 * (1.0 + fabs(z)) + 1.2e-7 * fabs(want);
                if (!(fabs((double)y.p[i] - want) <= tol)) {
                    to_fail(t, "rand_normal(%g, %g) element %zu / %zu offset %llu: %.9g, want %.9g", mean, std, i, n,
                            (unsigned long long)off, (double)y.p[i], want);
                    break;
                }
                if (std == 0.0) TO_CHECK(t, y.p[i] == (float)mean, "std 0 gives the mean");
                if (fabs(z) > 5.78) to_fail(t, "reference |z| %g beyond the 24-bit Box-Muller limit", z);
            }
            to_buf_canaries_ok(t, &y, "rand_normal");
            to_buf_free(&y);
        }
}

static void test_rand_errors(to_ctx *t) {
    float y[8], save[8];
    size_t k;
    const double bad[][2] = {{1.0, 0.0}, {NAN, 1.0}, {0.0, NAN}, {-INFINITY, 0.0}, {0.0, INFINITY}, {-1e39, 0.0},
                             {0.0, 1e39}, {-3e38, 3e38}};
    uint64_t st = 2;
    to_rand_fill(&st, y, 8, -1.0f, 1.0f);
    memcpy(save, y, sizeof y);
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
        to_expect_status(t, trainopt_rand_uniform(1, 0, 8, bad[k][0], bad[k][1], y), TRAINOPT_ERR_HPARAM, "uniform bad range");
    to_expect_status(t, trainopt_rand_normal(1, 0, 8, 0.0, -1e-300, y), TRAINOPT_ERR_HPARAM, "normal std < 0");
    to_expect_status(t, trainopt_rand_normal(1, 0, 8, NAN, 1.0, y), TRAINOPT_ERR_HPARAM, "normal mean NaN");
    to_expect_status(t, trainopt_rand_normal(1, 0, 8, 0.0, INFINITY, y), TRAINOPT_ERR_HPARAM, "normal std Inf");
    to_expect_status(t, trainopt_rand_normal(1, 0, 8, 0.0, NAN, y), TRAINOPT_ERR_HPARAM, "normal std NaN");
    to_expect_status(t, trainopt_rand_uniform(1, 0, 8, 0.0, 1.0, NULL), TRAINOPT_ERR_NULL, "uniform NULL");
    to_expect_status(t, trainopt_rand_normal(1, 0, 8, 0.0, 1.0, NULL), TRAINOPT_ERR_NULL, "normal NULL");
    to_expect_status(t, trainopt_rand_normal(1, 0, 0, 0.0, 1.0, NULL), TRAINOPT_OK, "normal n == 0");
    to_expect_status(t, trainopt_rand_uniform(1, 0, SIZE_MAX / 2, 0.0, 1.0, y), TRAINOPT_ERR_SHAPE, "uniform overflow");
    to_bits_equal(t, "unchanged after errors", y, save, 8);
}

/* PyTorch's uniform_ and Box-Muller formulas applied to this generator's uniforms. */
static void test_rand_golden(to_ctx *t) {
    int which;
    for (which = 0; which < 2; which++) {
        size_t len, tlen, off = 0;
        float *g = (float *)to_read_golden(t, which ? "random_normal.bin" : "random_uniform.bin", &len);
        char *txt = (char *)to_read_golden(t, which ? "random_normal.txt" : "random_uniform.txt", &tlen), *line;
        if (!g || !txt) { free(g); free(txt); return; }
        txt = (char *)realloc(txt, tlen + 1);
        txt[tlen] = 0;
        for (line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
            unsigned long long seed, offset;
            size_t n;
            double a, b;
            float *y;
            if (sscanf(line, "%llu %llu %zu %lf %lf", &seed, &offset, &n, &a, &b) != 5 || (off + n) * 4 > len) {
                to_fail(t, "bad golden line %s", line);
                break;
            }
            y = (float *)malloc(n * sizeof(float));
            if (which == 0) {
                trainopt_rand_uniform(seed, offset, n, a, b, y);
                /* PyTorch rounds u*(hi-lo)+lo from double; trainopt fuses it in float: within 1 ulp */
                to_close(t, "uniform vs torch uniform_ formula", y, g + off, n, ulp_of((float)fmax(fabs(a), fabs(b))));
            } else {
                size_t i;
                trainopt_rand_normal(seed, offset, n, a, b, y);
                for (i = 0; i < n; i++)
                    if (!(fabs((double)y[i] - g[off + i]) <= b * 1.5e-6 * (1.0 + fabs(g[off + i] - a) / b) + 1.2e-7 * fabs(a))) {
                        to_fail(t, "normal vs torch normal_fill formula: element %zu %.9g, torch %.9g", i, (double)y[i], (double)g[off + i]);
                        break;
                    }
            }
            off += n;
            free(y);
        }
        free(g);
        free(txt);
    }
}

/* ---- the library's own log, sin/cos and erfinv ------------------------------------ */

static void apply_log(const float *x, float *y, size_t n) { TO_NAME(to_wb_apply)(TO_WB_LOG, x, y, n); }

/* sin/cos of 2 pi u 2^-24 for u = u0 + j * stride, j < n (mod 2^24). */
static void apply_sincos(uint32_t u0, uint32_t stride, float *s, float *c, size_t n) {
    TO_NAME(to_wb_sincos2pi)(u0, stride, s, c, n);
}

static void apply_erfinv(const float *x, float *y, size_t n) { TO_NAME(to_wb_apply)(TO_WB_ERFINV, x, y, n); }

/* Accuracy against double libm: log on every u1 Box-Muller can give (k 2^-24, k = 1..2^24)
   and on random normal floats; sin/cos on every angle (u 2^-24, u < 2^24); erfinv on a
   grid and next to +-1. The sweep is exhaustive on the scalar backend and strided on the
   others (their bits equal scalar's: the battery checks a sample). */
static void test_vecmath_accuracy(to_ctx *t) {
    const size_t chunk = 4096, stride = strcmp(t->backend, "scalar") == 0 ? 1 : 61;
    float *x = (float *)malloc(chunk * 4), *y = (float *)malloc(chunk * 4), *y2 = (float *)malloc(chunk * 4);
    double max_log_ulp = 0, max_sc = 0, max_erfinv_rel = 0;
    uint64_t k0, st = 77;
    size_t i, n;
    for (k0 = 1; k0 <= (1u << 24); k0 += chunk * stride) {
        for (n = 0; n < chunk && k0 + n * stride <= (1u << 24); n++) x[n] = (float)(k0 + n * stride) * 5.9604644775390625e-8f;
        apply_log(x, y, n);
        for (i = 0; i < n; i++) {
            double ref = log((double)x[i]), e = x[i] == 1.0f ? (y[i] == 0.0f ? 0.0 : 1e9) : fabs((double)y[i] - ref) / ulp_of((float)ref);
            if (e > max_log_ulp) max_log_ulp = e;
        }
    }
    for (k0 = 0; k0 < 40; k0++) { /* random positive normal floats */
        for (i = 0; i < chunk; i++) x[i] = to_from_bits((uint32_t)(to_rand_u64(&st) % 0x7f000000u) + 0x00800000u);
        apply_log(x, y, chunk);
        for (i = 0; i < chunk; i++) {
            double ref = log((double)x[i]), e = x[i] == 1.0f ? (y[i] == 0.0f ? 0.0 : 1e9) : fabs((double)y[i] - ref) / ulp_of((float)ref);
            if (e > max_log_ulp) max_log_ulp = e;
        }
    }
    for (k0 = 0; k0 < (1u << 24); k0 += chunk * stride) {
        for (n = 0; n < chunk && k0 + n * stride < (1u << 24); n++) continue;
        apply_sincos((uint32_t)k0, (uint32_t)stride, y, y2, n);
        for (i = 0; i < n; i++) {
            double a = 6.283185307179586 * (double)(k0 + i * stride) / 16777216.0;
            double e = fmax(fabs((double)y[i] - sin(a)), fabs((double)y2[i] - cos(a)));
            if (e > max_sc) max_sc = e;
        }
    }
    /* erfinv: a grid over (-1, 1) and the floats next to +-1 */
    for (k0 = 0; k0 < 2; k0++) {
        n = 0;
        if (k0 == 0)
            for (i = 0; i < chunk; i++) x[n++] = -1.0f + 2.0f * ((float)i + 0.5f) / (float)chunk;
        else
            for (i = 1; i <= 24 && n < chunk; i++) {
                x[n++] = 1.0f - ldexpf(1.0f, -(int)i);
                x[n++] = -1.0f + ldexpf(1.0f, -(int)i);
            }
        apply_erfinv(x, y, n);
        for (i = 0; i < n; i++) {
            double ref = ref_erfinv((double)x[i]), e = fabs((double)y[i] - ref) / fmax(fabs(ref), 1e-30);
            if (e > max_erfinv_rel) max_erfinv_rel = e;
        }
    }
    x[0] = 1.0f;
    x[1] = -1.0f;
    x[2] = 0.0f;
    apply_erfinv(x, y, 3);
    TO_CHECK(t, y[0] == INFINITY && y[1] == -INFINITY && y[2] == 0.0f, "erfinv(+-1) = +-Inf, erfinv(0) = 0");
    /* The manual quotes these (measured: log 0.82 ulp, sin/cos 6.05e-8, erfinv 2.37e-7) */
    TO_CHECK(t, max_log_ulp <= 0.85, "v_log max error %.3f ulp > 0.85", max_log_ulp);
    TO_CHECK(t, max_sc <= 6.1e-8, "v_sincos2pi max abs error %.3g > 6.1e-8", max_sc);
    TO_CHECK(t, max_erfinv_rel <= 2.5e-7, "v_erfinv max relative error %.3g > 2.5e-7", max_erfinv_rel);
    if (getenv("TO_VERBOSE"))
        printf("  [%s] log %.3f ulp, sincos %.3g abs, erfinv %.3g rel\n", t->backend, max_log_ulp, max_sc, max_erfinv_rel);
    free(x);
    free(y);
    free(y2);
}

/* ---- statistics ------------------------------------------------------------------ */

/* Chi-square upper/lower quantiles at one-sided 1e-6 (Wilson-Hilferty; z = 4.753). */
static void chi2_bounds(double df, double *lo, double *hi) {
    double a = 2.0 / (9.0 * df), z = 4.753;
    *lo = df * pow(1.0 - a - z * sqrt(a), 3);
    *hi = df * pow(1.0 - a + z * sqrt(a), 3);
}

static int popcount8(uint8_t b) { return (int)trainopt__popcount(b); }

/* The largest samples run on the scalar backend, whose bits every other backend
   reproduces (the reference tests and the battery check that); the others run a
   tenth of them, with bounds for their own sample size (same false-alarm rates). */
static size_t stat_chunks(to_ctx *t, size_t full) { return strcmp(t->backend, "scalar") == 0 ? full : (full + 9) / 10; }

/* Keep rate over 1e7 draws (1e6 off scalar) within 5 sigma of 1 - p, for several p (chunks of 65536,
   the offset advancing: also a long chunked run). */
static void test_stat_keep_rate(to_ctx *t) {
    const double ps[] = {0.01, 0.1, 0.5, 0.9, 0.999};
    const size_t chunk = 65536, total = stat_chunks(t, 153) * 65536; /* 1.0027e7 on scalar */
    float *x = (float *)malloc(chunk * 4), *y = (float *)malloc(chunk * 4);
    uint8_t *m = (uint8_t *)malloc(chunk / 8);
    size_t pi, i, c;
    for (i = 0; i < chunk; i++) x[i] = 1.0f;
    for (pi = 0; pi < sizeof ps / sizeof ps[0]; pi++) {
        double p = ps[pi], q, sigma;
        uint64_t kept = 0;
        for (c = 0; c < total / chunk; c++) {
            trainopt_dropout_forward(p, 0xabcdef + pi, c * chunk, chunk, x, y, m);
            for (i = 0; i < chunk / 8; i++) kept += (uint64_t)popcount8(m[i]);
        }
        q = 1.0 - (double)ref_threshold(p) / 4294967296.0; /* the keep probability used: 1 - p within 2^-33 */
        TO_CHECK(t, fabs(q - (1.0 - p)) <= 1.2e-10, "keep probability %.12g vs 1 - p = %.12g", q, 1.0 - p);
        sigma = sqrt(q * (1.0 - q) / (double)total);
        TO_CHECK(t, fabs((double)kept / (double)total - q) <= 5.0 * sigma, "p %g: keep rate %.7f, want %.7f +- 5 x %.2g", p,
                 (double)kept / (double)total, q, sigma);
    }
    free(x);
    free(y);
    free(m);
}

/* Chi-square on 256 bins: the top 8 bits of the uniforms, and the low 8 bits of the raw words. */
static void test_stat_chi2(to_ctx *t) {
    const size_t n = 1 << 20;
    float *u = (float *)malloc(n * 4);
    uint32_t *w = (uint32_t *)malloc(n * 4);
    double lo, hi;
    int which;
    chi2_bounds(255.0, &lo, &hi);
    trainopt_rand_uniform(2024, 77, n, 0.0, 1.0, u);
    trainopt_rand_u32(2025, 3, n, w);
    for (which = 0; which < 2; which++) {
        double count[256], chi = 0, e = (double)n / 256.0;
        size_t i;
        memset(count, 0, sizeof count);
        for (i = 0; i < n; i++) count[which ? (w[i] & 255u) : (unsigned)(u[i] * 256.0f)] += 1.0;
        for (i = 0; i < 256; i++) chi += (count[i] - e) * (count[i] - e) / e;
        TO_CHECK(t, chi > lo && chi < hi, "%s: chi-square %.1f outside [%.1f, %.1f] (255 df)",
                 which ? "low 8 bits of rand_u32" : "top 8 bits of rand_uniform", chi, lo, hi);
    }
    free(u);
    free(w);
}

static double corr(const float *a, const float *b, size_t n) {
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        sa += a[i];
        sb += b[i];
        saa += (double)a[i] * a[i];
        sbb += (double)b[i] * b[i];
        sab += (double)a[i] * b[i];
    }
    sa /= (double)n;
    sb /= (double)n;
    return (sab / (double)n - sa * sb) / sqrt((saa / (double)n - sa * sa) * (sbb / (double)n - sb * sb));
}

/* No correlation between neighbours (lags 1, 15, 16, 64: next block, next word of a
   block...), between seeds s and s+1, or between the keep bits of elements sharing a
   dropout word (lag 64). |r| <= 5 / sqrt(n) each (false alarm 5.7e-7). */
static void test_stat_correlation(to_ctx *t) {
    const size_t n = 1 << 20;
    const size_t lags[] = {1, 15, 16, 17, 32, 48, 64, 128};
    float *u = (float *)malloc((n + 128) * 4), *v = (float *)malloc(n * 4), *x = (float *)malloc((n + 128) * 4);
    uint8_t *m = (uint8_t *)malloc((n + 128) / 8);
    double bound = 5.0 / sqrt((double)n), r;
    size_t li, i;
    trainopt_rand_uniform(555, 1000, n + 128, 0.0, 1.0, u);
    for (li = 0; li < sizeof lags / sizeof lags[0]; li++) {
        r = corr(u, u + lags[li], n);
        TO_CHECK(t, fabs(r) <= bound, "uniform lag %zu: correlation %.2g > %.2g", lags[li], r, bound);
    }
    trainopt_rand_uniform(556, 1000, n, 0.0, 1.0, v);
    r = corr(u, v, n);
    TO_CHECK(t, fabs(r) <= bound, "seeds s and s+1: correlation %.2g > %.2g", r, bound);
    trainopt_rand_uniform(555, 1001, n, 0.0, 1.0, v);
    r = corr(u + 1, v, n); /* offset + 1 is the same stream shifted: identical draws */
    TO_CHECK(t, r > 0.999999, "offset + 1 is the stream shifted by one");
    for (i = 0; i < n + 128; i++) x[i] = 1.0f;
    trainopt_dropout_forward(0.5, 777, 5, n + 128, x, x, m);
    for (li = 0; li < sizeof lags / sizeof lags[0]; li++) {
        for (i = 0; i < n; i++) {
            u[i] = (float)((m[i / 8] >> (i % 8)) & 1);
            v[i] = (float)((m[(i + lags[li]) / 8] >> ((i + lags[li]) % 8)) & 1);
        }
        r = corr(u, v, n);
        TO_CHECK(t, fabs(r) <= bound, "dropout keep bits lag %zu: correlation %.2g > %.2g", lags[li], r, bound);
    }
    free(u);
    free(v);
    free(x);
    free(m);
}

/* Moments of 4M normal samples (459k off scalar): mean, variance, skewness, excess kurtosis within 5
   standard errors (sqrt(1/n), sqrt(2/n), sqrt(6/n), sqrt(24/n)), and a chi-square of
   Phi(z) on 64 equiprobable bins. */
static void test_stat_normal(to_ctx *t) {
    const size_t chunk = 65536, total = stat_chunks(t, 64) * 65536;
    float *z = (float *)malloc(chunk * 4);
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0, bins[64], nn = (double)total, mean, var, skew, kurt, chi = 0, lo, hi;
    size_t c, i;
    memset(bins, 0, sizeof bins);
    for (c = 0; c < total / chunk; c++) {
        trainopt_rand_normal(31337, 12345 + c * chunk, chunk, 0.0, 1.0, z);
        for (i = 0; i < chunk; i++) {
            double v = z[i], v2 = v * v;
            int b;
            s1 += v;
            s2 += v2;
            s3 += v2 * v;
            s4 += v2 * v2;
            b = (int)(0.5 * erfc(-v / sqrt(2.0)) * 64.0);
            bins[b > 63 ? 63 : b] += 1.0;
        }
    }
    mean = s1 / nn;
    var = s2 / nn - mean * mean;
    skew = (s3 / nn - 3 * mean * s2 / nn + 2 * mean * mean * mean) / pow(var, 1.5);
    kurt = (s4 / nn - 4 * mean * s3 / nn + 6 * mean * mean * s2 / nn - 3 * pow(mean, 4)) / (var * var) - 3.0;
    TO_CHECK(t, fabs(mean) <= 5 * sqrt(1 / nn), "normal mean %.3g", mean);
    TO_CHECK(t, fabs(var - 1) <= 5 * sqrt(2 / nn), "normal variance %.6f", var);
    TO_CHECK(t, fabs(skew) <= 5 * sqrt(6 / nn), "normal skewness %.3g", skew);
    TO_CHECK(t, fabs(kurt) <= 5 * sqrt(24 / nn), "normal excess kurtosis %.3g", kurt);
    for (i = 0; i < 64; i++) chi += (bins[i] - nn / 64) * (bins[i] - nn / 64) / (nn / 64);
    chi2_bounds(63.0, &lo, &hi);
    TO_CHECK(t, chi > lo && chi < hi, "normal: chi-square of Phi(z) on 64 bins %.1f outside [%.1f, %.1f]", chi, lo, hi);
    free(z);
}

/* ---- initializers ------------------------------------------------------------------ */

static char *read_text(to_ctx *t, const char *name) {
    size_t len;
    char *txt = (char *)to_read_golden(t, name, &len);
    if (!txt) return NULL;
    txt = (char *)realloc(txt, len + 1);
    txt[len] = 0;
    return txt;
}

static void test_init_golden(to_ctx *t) {
    char *txt = read_text(t, "random_init.txt"), *line;
    int lines = 0;
    const size_t n = 1000;
    float *y = (float *)malloc(n * 4), *z = (float *)malloc(n * 4);
    if (!txt) { free(y); free(z); return; }
    for (line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
        char kind[32];
        int nl, mode, used;
        double param, value;
        unsigned long fi, fo;
        size_t i;
        lines++;
        if (sscanf(line, "%31s%n", kind, &used) != 1) continue;
        if (strcmp(kind, "gain") == 0) {
            double got;
            if (sscanf(line + used, "%d %lf %lf", &nl, &param, &value) != 3) { to_fail(t, "bad line %s", line); continue; }
            got = trainopt_calculate_gain((trainopt_nonlinearity)nl, param);
            TO_CHECK(t, got == value, "calculate_gain(%d, %g) = %.17g, PyTorch %.17g", nl, param, got, value);
        } else if (strcmp(kind, "fans") == 0) {
            size_t shape[8], d, nd, fin = 0, fout = 0;
            char *q = line + used;
            int k;
            nd = (size_t)strtoul(q, &q, 10);
            for (d = 0; d < nd && d < 8; d++) shape[d] = (size_t)strtoul(q, &q, 10);
            fi = strtoul(q, &q, 10);
            fo = strtoul(q, &q, 10);
            k = trainopt_calculate_fans(nd, shape, &fin, &fout);
            TO_CHECK(t, k == TRAINOPT_OK && fin == fi && fout == fo, "calculate_fans: %s", line);
        } else {
            int normal = strstr(kind, "normal") != NULL, xavier = strncmp(kind, "xavier", 6) == 0;
            float mul, add;
            if (sscanf(line + used, "%lu %lu %lf %d %d %lf", &fi, &fo, &param, &mode, &nl, &value) != 6) {
                to_fail(t, "bad line %s", line);
                continue;
            }
            /* the double PyTorch passes to uniform_/normal_, exactly */
            if (xavier) {
                double sd = TO_NAME(to_wb_xavier_std)(fi, fo, param);
                TO_CHECK(t, (normal ? sd : sqrt(3.0) * sd) == value, "%s: %.17g, PyTorch %.17g", line, normal ? sd : sqrt(3.0) * sd, value);
            } else {
                trainopt_kaiming_config c;
                double sd;
                c.a = param;
                c.mode = (trainopt_fan_mode)mode;
                c.nonlinearity = (trainopt_nonlinearity)nl;
                sd = TO_NAME(to_wb_kaiming_std)(&c, fi, fo);
                TO_CHECK(t, (normal ? sd : sqrt(3.0) * sd) == value, "%s: %.17g, PyTorch %.17g", line, normal ? sd : sqrt(3.0) * sd, value);
            }
            if (xavier) {
                if (normal) trainopt_xavier_normal(fi * 31 + fo, 7, n, fi, fo, param, y);
                else trainopt_xavier_uniform(fi * 31 + fo, 7, n, fi, fo, param, y);
            } else {
                trainopt_kaiming_config c = TRAINOPT_KAIMING_DEFAULTS;
                c.a = param;
                c.mode = (trainopt_fan_mode)mode;
                c.nonlinearity = (trainopt_nonlinearity)nl;
                if (normal) trainopt_kaiming_normal(&c, fi * 31 + fo, 7, n, fi, fo, y);
                else trainopt_kaiming_uniform(&c, fi * 31 + fo, 7, n, fi, fo, y);
            }
            /* PyTorch's bound (or deviation) rounded to float once must reproduce every element */
            if (normal) {
                trainopt_rand_normal(fi * 31 + fo, 7, n, 0.0, 1.0, z);
                for (i = 0; i < n; i++) z[i] = fmaf(z[i], (float)value, 0.0f);
            } else {
                mul = (float)(2.0 * value);
                add = (float)-value;
                for (i = 0; i < n; i++) z[i] = fmaf((float)ref_u24(ref_word(fi * 31 + fo, 7 + i)), mul, add);
            }
            if (!to_bits_equal(t, kind, y, z, n)) to_fail(t, "  from line: %s", line);
        }
    }
    TO_CHECK(t, lines > 100, "random_init.txt has %d lines", lines);
    free(txt);
    free(y);
    free(z);
}

/* Bounds and standard deviations of large fills, as PyTorch's formulas give them. */
static void test_init_stats(to_ctx *t) {
    const size_t n = 1 << 20;
    float *w = (float *)malloc(n * 4);
    double nn = (double)n;
    int kind;
    for (kind = 0; kind < 4; kind++) {
        size_t fi = 256 * 9, fo = 128 * 9, i;
        double s = 0, s2 = 0, mx = 0, var, scale;
        trainopt_kaiming_config c = TRAINOPT_KAIMING_DEFAULTS;
        c.nonlinearity = TRAINOPT_NL_RELU;
        switch (kind) {
        case 0: trainopt_xavier_uniform(1, 0, n, fi, fo, 1.0, w); scale = sqrt(3.0) * sqrt(2.0 / (double)(fi + fo)); break;
        case 1: trainopt_xavier_normal(1, 0, n, fi, fo, 1.0, w); scale = sqrt(2.0 / (double)(fi + fo)); break;
        case 2: trainopt_kaiming_uniform(&c, 2, 0, n, fi, fo, w); scale = sqrt(3.0) * sqrt(2.0) / sqrt((double)fi); break;
        default: trainopt_kaiming_normal(&c, 2, 0, n, fi, fo, w); scale = sqrt(2.0) / sqrt((double)fi); break;
        }
        for (i = 0; i < n; i++) {
            s += w[i];
            s2 += (double)w[i] * w[i];
            if (fabs(w[i]) > mx) mx = fabs(w[i]);
        }
        var = s2 / nn - (s / nn) * (s / nn);
        if (kind % 2 == 0) {
            /* U(-b, b): |w| <= b; max |w| >= b (1 - 2e-5) fails with probability (1 - 2e-5)^n = e^-21;
               variance b^2/3 with standard error b^2 sqrt(4/45/n) */
            TO_CHECK(t, mx <= (float)scale && mx >= scale * (1 - 2e-5), "uniform init %d: max |w| %.9g, bound %.9g", kind, mx, scale);
            TO_CHECK(t, fabs(var - scale * scale / 3) <= 5 * scale * scale * sqrt(4.0 / 45.0 / nn), "uniform init %d: variance %.6g, want %.6g",
                     kind, var, scale * scale / 3);
        } else {
            TO_CHECK(t, fabs(var - scale * scale) <= 5 * scale * scale * sqrt(2.0 / nn), "normal init %d: variance %.6g, want %.6g", kind, var,
                     scale * scale);
            TO_CHECK(t, mx <= 5.78 * scale, "normal init %d: max |w| %.3g beyond Box-Muller's 5.77 std", kind, mx);
        }
        TO_CHECK(t, fabs(s / nn) <= 5 * scale * sqrt((kind % 2 ? 1.0 : 1.0 / 3.0) / nn), "init %d: mean %.3g", kind, s / nn);
    }
    free(w);
}

static double phi(double x) { return exp(-0.5 * x * x) / sqrt(2.0 * 3.141592653589793); }
static double Phi(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

static void test_trunc_normal(to_ctx *t) {
    const trainopt_trunc_normal_config cs[] = {{0.0, 1.0, -2.0, 2.0}, {0.5, 0.02, 0.46, 0.6}, {-1.0, 3.0, -20.0, 5.0},
                                               {0.0, 1.0, -4.25, 3.5}, {2.0, 1.0, 1.0, 1.0}, {0.0, 0.1, 0.3, 0.5}};
    const size_t n = 1 << 20;
    float *w = (float *)malloc(n * 4);
    size_t ci, i;
    for (ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
        const trainopt_trunc_normal_config *c = &cs[ci];
        double al = (c->a - c->mean) / c->std, be = (c->b - c->mean) / c->std, Z = Phi(be) - Phi(al);
        double l = Phi(al), u = Phi(be), lo = 2 * l - 1, hi = 2 * u - 1;
        double s = 0, s2 = 0, mn = INFINITY, mx = -INFINITY, nn = (double)n;
        to_expect_status(t, trainopt_trunc_normal(c, 100 + ci, 9, n, w), TRAINOPT_OK, "trunc_normal");
        for (i = 0; i < n; i++) {
            s += w[i];
            s2 += (double)w[i] * w[i];
            if (w[i] < mn) mn = w[i];
            if (w[i] > mx) mx = w[i];
        }
        TO_CHECK(t, mn >= (float)c->a && mx <= (float)c->b, "trunc_normal %zu: range [%g, %g] outside [a, b]", ci, mn, mx);
        if (Z > 1e-3 && c->a < c->b) {
            double mean = c->mean + c->std * (phi(al) - phi(be)) / Z;
            double var = c->std * c->std * (1 + (al * phi(al) - be * phi(be)) / Z - pow((phi(al) - phi(be)) / Z, 2));
            TO_CHECK(t, fabs(s / nn - mean) <= 5 * sqrt(var / nn), "trunc_normal %zu: mean %.6g, want %.6g", ci, s / nn, mean);
            TO_CHECK(t, fabs(s2 / nn - (s / nn) * (s / nn) - var) <= 5 * sqrt(3 * var * var / nn) /* Var((x-m)^2) <= 2 var^2 (kurtosis <= 3), with margin */,
                     "trunc_normal %zu: variance %.6g, want %.6g", ci, s2 / nn - (s / nn) * (s / nn), var);
        }
        /* element-wise against the double inverse CDF */
        for (i = 0; i < 4000; i++) {
            double v = lo + (hi - lo) * ref_u24(ref_word(100 + ci, 9 + i)), z = ref_erfinv(v);
            double want = fmin(fmax(c->mean + c->std * sqrt(2.0) * z, c->a), c->b);
            double tol = c->std * sqrt(2.0) * (0.886 * exp(z * z) * 3e-7 + 1e-6 * fabs(z)) + 2 * ulp_of((float)want) + 1e-7 * fabs(c->mean);
            if (!(fabs((double)w[i] - want) <= tol)) {
                to_fail(t, "trunc_normal %zu element %zu: %.9g, want %.9g (tol %.3g)", ci, i, (double)w[i], want, tol);
                break;
            }
        }
    }
    free(w);
}

static void test_trunc_golden(to_ctx *t) {
    size_t len, off = 0;
    float *g = (float *)to_read_golden(t, "random_trunc.bin", &len), *y;
    char *txt = read_text(t, "random_trunc.txt"), *line;
    if (!g || !txt) { free(g); free(txt); return; }
    for (line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long long seed, offset;
        size_t n, i;
        trainopt_trunc_normal_config c;
        to_wb_trunc_scalars s;
        double frm, to;
        if (sscanf(line, "%llu %llu %zu %lf %lf %lf %lf %lf %lf", &seed, &offset, &n, &c.mean, &c.std, &c.a, &c.b, &frm, &to) != 9 ||
            (off + n) * 4 > len) {
            to_fail(t, "bad golden line %s", line);
            break;
        }
        /* the interval PyTorch passes to uniform_, through trainopt's own erf */
        TO_NAME(to_wb_trunc_normal_scalars)(&c, &s);
        TO_CHECK(t, s.add == (float)frm && s.mul == (float)(to - frm), "trunc_normal interval [%.17g, %.17g]: float %a + %a, PyTorch %a + %a",
                 frm, to, (double)s.add, (double)s.mul, (double)(float)frm, (double)(float)(to - frm));
        y = (float *)malloc(n * 4);
        trainopt_trunc_normal(&c, seed, offset, n, y);
        for (i = 0; i < n; i++) {
            double z = ref_erfinv((double)fmaf((float)ref_u24(ref_word(seed, offset + i)), s.mul, s.add));
            double tol = c.std * sqrt(2.0) * (0.886 * exp(z * z) * 3e-7 + 1e-6 * fabs(z)) + 2 * ulp_of(g[off + i]) + 1e-7 * fabs(c.mean);
            if (!(fabs((double)y[i] - g[off + i]) <= tol)) {
                to_fail(t, "trunc_normal vs torch (erfinv_, mul_, add_, clamp_): element %zu %.9g, torch %.9g", i, (double)y[i],
                        (double)g[off + i]);
                break;
            }
        }
        free(y);
        off += n;
    }
    free(g);
    free(txt);
}

static void test_init_errors(to_ctx *t) {
    float y[8], save[8];
    uint64_t st = 4;
    trainopt_kaiming_config c = TRAINOPT_KAIMING_DEFAULTS, bad;
    trainopt_trunc_normal_config tc = TRAINOPT_TRUNC_NORMAL_DEFAULTS, tb;
    size_t shape[3] = {4, 5, 6}, fi = 99, fo = 99;
    to_rand_fill(&st, y, 8, -1.0f, 1.0f);
    memcpy(save, y, sizeof y);
    to_expect_status(t, trainopt_xavier_uniform(1, 0, 8, 0, 5, 1.0, y), TRAINOPT_ERR_SHAPE, "xavier zero fan_in");
    to_expect_status(t, trainopt_xavier_normal(1, 0, 8, 5, 0, 1.0, y), TRAINOPT_ERR_SHAPE, "xavier zero fan_out");
    to_expect_status(t, trainopt_xavier_uniform(1, 0, 0, 0, 0, 1.0, NULL), TRAINOPT_OK, "xavier n == 0");
    to_expect_status(t, trainopt_xavier_uniform(1, 0, 8, 3, 5, -1.0, y), TRAINOPT_ERR_HPARAM, "xavier gain < 0");
    to_expect_status(t, trainopt_xavier_normal(1, 0, 8, 3, 5, NAN, y), TRAINOPT_ERR_HPARAM, "xavier gain NaN");
    to_expect_status(t, trainopt_xavier_uniform(1, 0, 8, 3, 5, 1e300, y), TRAINOPT_ERR_HPARAM, "xavier gain beyond float");
    to_expect_status(t, trainopt_xavier_normal(1, 0, 8, 3, 5, 1.0, NULL), TRAINOPT_ERR_NULL, "xavier NULL");
    to_expect_status(t, trainopt_kaiming_uniform(NULL, 1, 0, 8, 3, 5, y), TRAINOPT_ERR_NULL, "kaiming NULL config");
    to_expect_status(t, trainopt_kaiming_uniform(&c, 1, 0, 8, 0, 5, y), TRAINOPT_ERR_SHAPE, "kaiming zero fan_in");
    c.mode = TRAINOPT_FAN_OUT;
    to_expect_status(t, trainopt_kaiming_normal(&c, 1, 0, 8, 5, 0, y), TRAINOPT_ERR_SHAPE, "kaiming zero fan_out");
    bad = c;
    bad.mode = (trainopt_fan_mode)2;
    to_expect_status(t, trainopt_kaiming_normal(&bad, 1, 0, 8, 5, 5, y), TRAINOPT_ERR_HPARAM, "kaiming bad mode");
    bad = c;
    bad.nonlinearity = (trainopt_nonlinearity)17;
    to_expect_status(t, trainopt_kaiming_uniform(&bad, 1, 0, 8, 5, 5, y), TRAINOPT_ERR_HPARAM, "kaiming bad nonlinearity");
    bad = c;
    bad.a = INFINITY;
    to_expect_status(t, trainopt_kaiming_uniform(&bad, 1, 0, 8, 5, 5, y), TRAINOPT_ERR_HPARAM, "kaiming a Inf");
    to_expect_status(t, trainopt_kaiming_uniform(&c, 1, 0, 8, 5, 5, NULL), TRAINOPT_ERR_NULL, "kaiming NULL out");
    tb = tc;
    tb.std = 0.0;
    to_expect_status(t, trainopt_trunc_normal(&tb, 1, 0, 8, y), TRAINOPT_ERR_HPARAM, "trunc_normal std 0");
    tb = tc;
    tb.std = -1.0;
    to_expect_status(t, trainopt_trunc_normal(&tb, 1, 0, 8, y), TRAINOPT_ERR_HPARAM, "trunc_normal std < 0");
    tb = tc;
    tb.a = 3.0;
    to_expect_status(t, trainopt_trunc_normal(&tb, 1, 0, 8, y), TRAINOPT_ERR_HPARAM, "trunc_normal a > b");
    tb = tc;
    tb.b = NAN;
    to_expect_status(t, trainopt_trunc_normal(&tb, 1, 0, 8, y), TRAINOPT_ERR_HPARAM, "trunc_normal b NaN");
    to_expect_status(t, trainopt_trunc_normal(NULL, 1, 0, 8, y), TRAINOPT_ERR_NULL, "trunc_normal NULL config");
    to_expect_status(t, trainopt_trunc_normal(&tc, 1, 0, 8, NULL), TRAINOPT_ERR_NULL, "trunc_normal NULL out");
    to_bits_equal(t, "unchanged after errors", y, save, 8);
    TO_CHECK(t, trainopt_calculate_fans(1, shape, &fi, &fo) == TRAINOPT_ERR_SHAPE && fi == 99, "fans of a 1-d shape");
    TO_CHECK(t, trainopt_calculate_fans(3, NULL, &fi, &fo) == TRAINOPT_ERR_NULL, "fans NULL shape");
    shape[2] = SIZE_MAX / 2;
    TO_CHECK(t, trainopt_calculate_fans(3, shape, &fi, &fo) == TRAINOPT_ERR_SHAPE, "fans overflow");
    TO_CHECK(t, isnan(trainopt_calculate_gain((trainopt_nonlinearity)9, 0.0)), "unknown nonlinearity gives NaN");
    TO_CHECK(t, isnan(trainopt_calculate_gain(TRAINOPT_NL_LEAKY_RELU, NAN)), "NaN slope gives NaN");
    TO_CHECK(t, trainopt_calculate_gain(TRAINOPT_NL_RELU, NAN) == sqrt(2.0), "relu ignores its param");
}

/* ---- guard pages: no access outside [0, n) of any array, at either end ----------------- */

/* A mask of ceil(n/8) bytes flush against a guard page. */
static uint8_t *guard_mask(to_guard *g, size_t n, int at_end) {
    size_t bytes = (n + 7) / 8;
    *g = to_guard_new((bytes + 3) / 4, at_end);
    return at_end ? (uint8_t *)(void *)(g->p + g->n) - bytes : (uint8_t *)(void *)g->p;
}

static void test_guard_pages(to_ctx *t) {
    static const uint64_t offs[] = {0, 5, 123};
    trainopt_kaiming_config kc = TRAINOPT_KAIMING_DEFAULTS;
    trainopt_trunc_normal_config tc = TRAINOPT_TRUNC_NORMAL_DEFAULTS;
    size_t n, oi;
    int at_end;
    for (at_end = 0; at_end <= 1; at_end++)
        for (oi = 0; oi < 3; oi++)
            for (n = 0; n <= 49; n = n < 48 ? n + 1 : 4099) {
                uint64_t off = offs[oi];
                to_guard x = to_guard_new(n, at_end), y = to_guard_new(n, at_end), gm;
                uint8_t *m = guard_mask(&gm, n, at_end);
                size_t i;
                for (i = 0; i < n; i++) x.p[i] = (float)i;
                to_expect_status(t, trainopt_rand_u32(1, off, n, (uint32_t *)(void *)y.p), TRAINOPT_OK, "guarded rand_u32");
                to_expect_status(t, trainopt_rand_uniform(1, off, n, 0.0, 1.0, y.p), TRAINOPT_OK, "guarded uniform");
                to_expect_status(t, trainopt_rand_normal(1, off, n, 0.0, 1.0, y.p), TRAINOPT_OK, "guarded normal");
                to_expect_status(t, trainopt_trunc_normal(&tc, 1, off, n, y.p), TRAINOPT_OK, "guarded trunc_normal");
                to_expect_status(t, trainopt_xavier_uniform(1, off, n, 3, 4, 1.0, y.p), TRAINOPT_OK, "guarded xavier");
                to_expect_status(t, trainopt_kaiming_normal(&kc, 1, off, n, 3, 4, y.p), TRAINOPT_OK, "guarded kaiming");
                to_expect_status(t, trainopt_dropout_forward(0.3, 1, off, n, x.p, y.p, m), TRAINOPT_OK, "guarded dropout");
                to_expect_status(t, trainopt_dropout_forward(0.0, 1, off, n, x.p, y.p, m), TRAINOPT_OK, "guarded dropout p 0");
                to_expect_status(t, trainopt_dropout_forward(1.0, 1, off, n, x.p, y.p, m), TRAINOPT_OK, "guarded dropout p 1");
                to_expect_status(t, trainopt_dropout_backward(0.3, 1, off, n, x.p, y.p, m), TRAINOPT_OK, "guarded backward, mask");
                to_expect_status(t, trainopt_dropout_backward(0.0, 1, off, n, x.p, y.p, m), TRAINOPT_OK, "guarded backward p 0");
                to_expect_status(t, trainopt_dropout_backward(0.3, 1, off, n, x.p, y.p, NULL), TRAINOPT_OK, "guarded backward");
                to_guard_free(&x);
                to_guard_free(&y);
                to_guard_free(&gm);
            }
}

void TO_NAME(random_tests)(to_ctx *t) {
    to_run(t, "philox_kat", test_philox_kat);
    to_run(t, "rand_u32_reference", test_rand_u32_reference);
    to_run(t, "rand_u32_golden", test_rand_u32_golden);
    to_run(t, "rand_chunked", test_rand_chunked);
    to_run(t, "dropout_reference", test_dropout_reference);
    to_run(t, "dropout_ties", test_dropout_ties);
    to_run(t, "dropout_chunked", test_dropout_chunked);
    to_run(t, "dropout_streaming", test_dropout_streaming);
    to_run(t, "dropout_backward", test_dropout_backward);
    to_run(t, "dropout_special", test_dropout_special);
    to_run(t, "dropout_errors", test_dropout_errors);
    to_run(t, "dropout_golden", test_dropout_golden);
    to_run(t, "uniform_reference", test_uniform_reference);
    to_run(t, "normal_reference", test_normal_reference);
    to_run(t, "rand_errors", test_rand_errors);
    to_run(t, "rand_golden", test_rand_golden);
    to_run(t, "vecmath_accuracy", test_vecmath_accuracy);
    to_run(t, "stat_keep_rate", test_stat_keep_rate);
    to_run(t, "stat_chi2", test_stat_chi2);
    to_run(t, "stat_correlation", test_stat_correlation);
    to_run(t, "stat_normal", test_stat_normal);
    to_run(t, "init_golden", test_init_golden);
    to_run(t, "init_stats", test_init_stats);
    to_run(t, "trunc_normal", test_trunc_normal);
    to_run(t, "trunc_golden", test_trunc_golden);
    to_run(t, "init_errors", test_init_errors);
    to_run(t, "guard-pages", test_guard_pages);
}

/* ---- the battery: outputs whose bits must match on every backend ---------------- */

void TO_NAME(random_battery)(to_sink *s) {
    static const size_t sizes[] = {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 127, 128, 129, 200, 1031};
    static const uint64_t offs[] = {0, 1, 5, 13, 64, 100, 1000003, 0xfffffffbull, 0xffffffffffffff00ull};
    const size_t nmax = 1031;
    float *x = (float *)malloc(nmax * 4), *y = (float *)malloc(nmax * 4);
    uint32_t *w = (uint32_t *)malloc(nmax * 4);
    uint8_t m[(1031 + 7) / 8];
    uint64_t st = 12345;
    size_t si, oi, i;
    char name[96];
    trainopt_kaiming_config kc = TRAINOPT_KAIMING_DEFAULTS;
    trainopt_trunc_normal_config tc = TRAINOPT_TRUNC_NORMAL_DEFAULTS;
    fill_x(&st, x, nmax);
    for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (oi = 0; oi < sizeof offs / sizeof offs[0]; oi++) {
            size_t n = sizes[si];
            uint64_t off = offs[oi], seed = 0x5eed0000ull + si * 7 + oi;
            const double p = oi % 3 == 0 ? 0.1 : oi % 3 == 1 ? 0.5 : 0.875;
#define EMIT(kind, data, bytes)                                   \
    do {                                                          \
        snprintf(name, sizeof name, "%s/n%zu/o%zu", kind, n, oi); \
        to_emit(s, name, data, bytes);                            \
    } while (0)
#define EMIT_F(kind, data)                                        \
    do {                                                          \
        snprintf(name, sizeof name, "%s/n%zu/o%zu", kind, n, oi); \
        to_emit_floats(s, name, data, n);                         \
    } while (0)
            memset(w, 0, nmax * 4);
            trainopt_rand_u32(seed, off, n, w);
            EMIT("u32", w, n * 4);
            to_fill_nan(y, n);
            trainopt_rand_uniform(seed, off, n, -1.5, 2.5, y);
            EMIT_F("uniform", y);
            to_fill_nan(y, n);
            trainopt_rand_normal(seed, off, n, 0.25, 1.5, y);
            EMIT_F("normal", y);
            to_fill_nan(y, n);
            trainopt_trunc_normal(&tc, seed, off, n, y);
            EMIT_F("trunc_normal", y);
            to_fill_nan(y, n);
            trainopt_xavier_uniform(seed, off, n, 48, 80, 1.25, y);
            EMIT_F("xavier_uniform", y);
            to_fill_nan(y, n);
            trainopt_kaiming_normal(&kc, seed, off, n, 48, 80, y);
            EMIT_F("kaiming_normal", y);
            to_fill_nan(y, n);
            memset(m, 0xa5, sizeof m);
            trainopt_dropout_forward(p, seed, off, n, x, y, m);
            EMIT_F("dropout_y", y);
            EMIT("dropout_mask", m, (n + 7) / 8);
            to_fill_nan(y, n);
            trainopt_dropout_backward(p, seed, off, n, x, y, NULL);
            EMIT_F("dropout_bwd_regen", y);
            for (i = 0; i < (n + 7) / 8; i++) m[i] = (uint8_t)(m[i] ^ (i * 37));
            to_fill_nan(y, n);
            trainopt_dropout_backward(p, seed, off, n, x, y, m);
            EMIT_F("dropout_bwd_mask", y);
#undef EMIT
#undef EMIT_F
        }
    /* a threshold whose high half matches draws: the tie-break path */
    {
        uint32_t th = (ref_dropout_draw(77, 500) & 0xffff0000u) | 0x8000u;
        trainopt_dropout_forward((double)th / 4294967296.0, 77, 300, 1000, x, y, m);
        to_emit_floats(s, "dropout_tie_y", y, 1000);
        to_emit(s, "dropout_tie_mask", m, 125);
    }
    /* the library's own log, sin/cos, erfinv on a sample of their domains */
    for (i = 0; i < nmax; i++) x[i] = (float)(i * 16273 + 1) * 5.9604644775390625e-8f;
    apply_log(x, y, nmax);
    to_emit_floats(s, "v_log", y, nmax);
    apply_sincos(0, 16273, x, y, nmax);
    to_emit_floats(s, "v_sin", x, nmax);
    to_emit_floats(s, "v_cos", y, nmax);
    for (i = 0; i < nmax; i++) x[i] = -1.0f + 2.0f * (float)i / (float)(nmax - 1);
    apply_erfinv(x, y, nmax);
    to_emit_floats(s, "v_erfinv", y, nmax);
    /* statuses */
    to_emit_status(s, "status/dropout_nan_p", trainopt_dropout_forward(NAN, 1, 0, 4, x, y, NULL));
    to_emit_status(s, "status/uniform_lo_gt_hi", trainopt_rand_uniform(1, 0, 4, 1.0, 0.0, y));
    to_emit_status(s, "status/normal_neg_std", trainopt_rand_normal(1, 0, 4, 0.0, -1.0, y));
    to_emit_status(s, "status/xavier_zero_fan", trainopt_xavier_normal(1, 0, 4, 0, 3, 1.0, y));
    free(x);
    free(y);
    free(w);
}
