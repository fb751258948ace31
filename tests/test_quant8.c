/* tests/test_quant8.c - 8-bit optimizer states (issue 18): blockwise quantization
   bit-exact against a reference of bitsandbytes' algorithm (tests/gen_quant8.py:
   random and adversarial blocks, every threshold and midpoint) and against the
   same rule written here in scalar C (lower_bound, float distances, ties to the
   lower code) on data of many scales, odd lengths and offset pointers; then the
   8-bit steps of SGD, Adam, AdamW and Lion equal dequantize -> the fp32 step ->
   quantize bit for bit (plain and fused, several steps), chunks cut at block
   boundaries equal the whole, a NaN stays in its block, and refusals write nothing.
   The battery emits codes, absmax and parameters of each kernel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "trainopt.h"
#include "whitebox.h"

static float *q8_floats(size_t n) { return (float *)malloc((n ? n : 1) * sizeof(float)); }
static uint8_t *q8_bytes(size_t n) { return (uint8_t *)malloc(n ? n : 1); }

static int q8_bytes_equal(to_ctx *t, const char *what, const uint8_t *got, const uint8_t *want, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (got[i] != want[i]) {
            to_fail(t, "%s: code %zu / %zu: got %u, want %u", what, i, n, got[i], want[i]);
            return 0;
        }
    return 1;
}

/* The map of each code: code j decoded with absmax 1 is map[j] exactly. */
static void q8_map(trainopt_q8_map map, float *out) {
    uint8_t c[256];
    float one = 1.0f;
    int j;
    for (j = 0; j < 256; j++) c[j] = (uint8_t)j;
    trainopt_dequantize_blockwise(map, 256, 256, c, &one, out);
}

/* bitsandbytes' lookup_code_index (csrc/cpu_ops.cpp), in scalar C. */
static uint8_t q8_ref_code(const float *code, float v) {
    int lo = 0, hi = 256;
    float dl, dr;
    if (v != v) return 0;
    if (v < -1.0f) v = -1.0f;
    if (v > 1.0f) v = 1.0f;
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (code[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return 0;
    if (lo == 256) return 255;
    dl = fabsf(v - code[lo - 1]);
    dr = fabsf(code[lo] - v);
    return (uint8_t)(dr < dl ? lo : lo - 1);
}

/* bitsandbytes' quantize_cpu, with trainopt's NaN absmax. */
static void q8_ref_quantize(const float *code, size_t block, size_t n, const float *x, uint8_t *codes, float *absmax) {
    size_t b, i;
    for (b = 0; b < n; b += block) {
        const size_t e = n - b < block ? n : b + block;
        float m = 0.0f, inv;
        int nan = 0;
        for (i = b; i < e; i++) {
            if (x[i] != x[i]) nan = 1;
            else if (fabsf(x[i]) > m) m = fabsf(x[i]);
        }
        absmax[b / block] = nan ? NAN : m;
        if (m == 0.0f) {
            memset(codes + b, 0, e - b);
            continue;
        }
        inv = 1.0f / m;
        for (i = b; i < e; i++) {
            volatile float v = x[i] * inv; /* one float rounding, as the kernel's */
            codes[i] = q8_ref_code(code, v);
        }
    }
}

/* ---- golden data from the Python reference ---- */

static uint32_t q8_u32(const unsigned char **p, const unsigned char *end, int *ok) {
    uint32_t v = 0;
    if (*p + 4 <= end) memcpy(&v, *p, 4);
    else *ok = 0;
    *p += 4;
    return v;
}

static void test_golden(to_ctx *t) {
    size_t len = 0, q, count;
    unsigned char *data = (unsigned char *)to_read_golden(t, "quant8.bin", &len);
    const unsigned char *p = data, *end = data + len;
    int ok = 1;
    if (!data) return;
    if (len < 12 || memcmp(p, "TOQ8", 4) != 0) {
        to_fail(t, "quant8.bin: bad header");
        free(data);
        return;
    }
    p += 4;
    if (q8_u32(&p, end, &ok) != 1) to_fail(t, "quant8.bin: version");
    count = q8_u32(&p, end, &ok);
    for (q = 0; q < count && ok; q++) {
        const trainopt_q8_map map = (trainopt_q8_map)q8_u32(&p, end, &ok);
        const size_t block = q8_u32(&p, end, &ok), n = q8_u32(&p, end, &ok), nb = TRAINOPT_Q8_BLOCKS(n, block);
        float *x = q8_floats(n), *absmax = q8_floats(nb), *deq = q8_floats(n), *got_absmax = q8_floats(nb + 1),
              *got_deq = q8_floats(n + 1);
        uint8_t *codes = q8_bytes(n), *got_codes = q8_bytes(n + 1);
        char what[96];
        if ((size_t)(end - p) < n * 9 + nb * 4) {
            ok = 0;
        } else {
            memcpy(x, p, n * 4), p += n * 4;
            memcpy(codes, p, n), p += n;
            memcpy(absmax, p, nb * 4), p += nb * 4;
            memcpy(deq, p, n * 4), p += n * 4;
            /* the outputs one element past an aligned start, so no case relies on alignment */
            memset(got_codes, 0xAB, n + 1);
            to_fill_nan(got_absmax, nb + 1);
            snprintf(what, sizeof what, "case %zu (map %d, block %zu, n %zu)", q, (int)map, block, n);
            to_expect_status(t, trainopt_quantize_blockwise(map, block, n, x, got_codes + 1, got_absmax + 1), TRAINOPT_OK, what);
            q8_bytes_equal(t, what, got_codes + 1, codes, n);
            to_bits_equal(t, what, got_absmax + 1, absmax, nb);
            to_fill_nan(got_deq, n + 1);
            to_expect_status(t, trainopt_dequantize_blockwise(map, block, n, codes, absmax, got_deq + 1), TRAINOPT_OK, what);
            to_bits_equal(t, what, got_deq + 1, deq, n);
        }
        free(x), free(absmax), free(deq), free(got_absmax), free(got_deq), free(codes), free(got_codes);
    }
    TO_CHECK(t, ok && p == end, "quant8.bin: truncated or trailing data");
    free(data);
}

/* ---- the scalar rule on many scales, lengths and offsets ---- */

static void q8_fill(uint64_t *seed, float *x, size_t n, int unsigned_map) {
    size_t i;
    for (i = 0; i < n; i++) {
        /* magnitudes over 2^-40 .. 2^10, a few exact zeros and -0 */
        const float e = to_rand_uniform(seed, -40.0f, 10.0f);
        float v = to_rand_uniform(seed, -1.0f, 1.0f) * ldexpf(1.0f, (int)e);
        if (i % 97 == 5) v = 0.0f;
        if (i % 89 == 7) v = -0.0f;
        x[i] = unsigned_map ? fabsf(v) : v;
    }
}

static void test_reference_rule(to_ctx *t) {
    static const size_t lens[] = {1, 3, 15, 16, 17, 63, 64, 65, 255, 256, 257, 1000, 4097};
    static const size_t blocks[] = {64, 256, 4096};
    uint64_t seed = 18;
    float code[256];
    size_t li, bi, mis;
    int m;
    for (m = 0; m < 2; m++) {
        q8_map((trainopt_q8_map)m, code);
        for (bi = 0; bi < 3; bi++)
            for (li = 0; li < sizeof lens / sizeof *lens; li++)
                for (mis = 0; mis < 2; mis++) {
                    const size_t n = lens[li], block = blocks[bi], nb = TRAINOPT_Q8_BLOCKS(n, block);
                    float *x = q8_floats(n + 1), *am = q8_floats(nb), *want_am = q8_floats(nb);
                    uint8_t *c = q8_bytes(n + 1), *want = q8_bytes(n);
                    char what[96];
                    q8_fill(&seed, x + mis, n, m);
                    if (li % 3 == 1) x[mis + n / 2] = 1e30f; /* one huge value: the rest goes to the smallest codes */
                    q8_ref_quantize(code, block, n, x + mis, want, want_am);
                    snprintf(what, sizeof what, "map %d block %zu n %zu offset %zu", m, block, n, mis);
                    to_expect_status(t, trainopt_quantize_blockwise((trainopt_q8_map)m, block, n, x + mis, c + mis, am),
                                     TRAINOPT_OK, what);
                    q8_bytes_equal(t, what, c + mis, want, n);
                    to_bits_equal(t, what, am, want_am, nb);
                    free(x), free(am), free(want_am), free(c), free(want);
                }
    }
}

/* The float of an order key: keys 0 .. 2^32 - 1 run over -NaN, -Inf .. -0, +0 .. +Inf, +NaN. */
static float q8_from_key(uint32_t k) {
    const uint32_t bits = k < 0x80000000u ? ~k : k - 0x80000000u;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* The floats of keys lo, lo + stride, .. (up to hi), encoded through trainopt_quantize_blockwise
   in blocks whose absmax is 1 (so the normalized value is v itself), against bitsandbytes'
   rule: the codes must not decrease along v's order, and each run of one code must have that
   code in the rule at both of its ends. The rule is monotone, so it then has that code at
   every sample of the run. Each change of code between two samples lo + i * stride and the
   next is then swept again at stride 1, so every float around every change is checked. */
static int q8_sweep(to_ctx *t, int m, const float *code, float *x, uint32_t lo, uint32_t hi, uint32_t stride,
                    uint32_t *changes) {
    enum { B = TRAINOPT_Q8_MAX_BLOCK };
    uint8_t c[B], prev = 0;
    uint32_t k, prev_k = lo;
    float am;
    for (k = lo;; k += (B - 1) * stride) {
        const uint32_t left = (hi - k) / stride + 1;
        const size_t len = left < B - 1 ? left : B - 1;
        size_t i;
        x[0] = 1.0f;
        for (i = 0; i < len; i++) x[i + 1] = q8_from_key(k + (uint32_t)i * stride);
        trainopt_quantize_blockwise((trainopt_q8_map)m, B, len + 1, x, c, &am);
        for (i = 1; i <= len; i++) {
            const uint32_t key = k + (uint32_t)(i - 1) * stride;
            const int starts = key == lo;
            if (starts || c[i] != prev) { /* a run begins at x[i] (and the one before ends at prev_k) */
                const uint8_t want = q8_ref_code(code, x[i]);
                if (c[i] != want || (!starts && (c[i] < prev || q8_ref_code(code, q8_from_key(prev_k)) != prev))) {
                    to_fail(t, "map %d: v = %a: code %u, the rule's %u (the run before ends at %a, code %u)", m,
                            (double)x[i], c[i], want, (double)q8_from_key(prev_k), prev);
                    return 0;
                }
                if (!starts) {
                    ++*changes;
                    if (stride > 1 && !q8_sweep(t, m, code, x + B, prev_k, key, 1, changes)) return 0;
                }
            }
            prev = c[i], prev_k = key;
        }
        if (left <= B - 1) break;
    }
    if (q8_ref_code(code, q8_from_key(prev_k)) != prev) {
        to_fail(t, "map %d: v = %a: code %u, the rule's %u", m, (double)q8_from_key(prev_k), prev,
                q8_ref_code(code, q8_from_key(prev_k)));
        return 0;
    }
    return 1;
}

/* Every float the kernel can normalize to: [-1, 1] (x * (1 / absmax) is above 1 only where
   1 / absmax is a denormal, and then by too little to leave the top code), +-Inf (a
   denormal absmax, whose reciprocal is Inf), and NaN. [-1, 1] is sampled every 61st float
   with every float around every change of code (see q8_sweep; TRAINOPT_Q8_STRIDE=1, `make
   quant8-exhaustive`, takes every float: 2.13e9 per map, about a minute per backend);
   every NaN pattern gives code 0. */
static void test_every_float(to_ctx *t) {
    enum { B = TRAINOPT_Q8_MAX_BLOCK };
    const char *env = getenv("TRAINOPT_Q8_STRIDE");
    const uint32_t stride = env && atoi(env) > 0 ? (uint32_t)atoi(env) : 61u;
    const uint32_t first = 0x80000000u - 0x3f800001u, last = 0x80000000u + 0x3f800000u; /* keys of -1 and +1 */
    float *x = q8_floats(2 * B), code[256], am, want_am;
    uint8_t c[B], want[B];
    uint32_t k, changes = 0, above = 0;
    int m, ok = 1;
    for (m = 0; m < 2 && ok; m++) {
        q8_map((trainopt_q8_map)m, code);
        ok = q8_sweep(t, m, code, x, first, last, stride, &changes);
        for (k = 0; k < (1u << 23) && ok; k += B - 1) { /* every NaN: both signs, every payload */
            size_t i;
            x[0] = 1.0f;
            for (i = 1; i < B; i++) {
                const uint32_t bits = 0x7f800000u | (((k + (uint32_t)i - 1) % ((1u << 23) - 1)) + 1) | (i % 2 ? 0x80000000u : 0);
                memcpy(x + i, &bits, sizeof bits);
            }
            trainopt_quantize_blockwise((trainopt_q8_map)m, B, B, x, c, &am);
            for (i = 1; i < B && ok; i++)
                if (c[i] != 0) ok = 0, to_fail(t, "map %d: NaN %zu: code %u", m, i, c[i]);
        }
        for (k = 0; k < 100000 && ok; k++) { /* +-Inf; and {a, -a} with a * (1 / a) > 1 */
            static const float inf_block[4] = {1e-40f, -1e-40f, 0.0f, 3e-41f};
            const uint32_t bits = (253u + k % 2) << 23 | (k * 83u) % (1u << 23);
            float pair[2];
            memcpy(pair, &bits, sizeof bits);
            pair[1] = -pair[0];
            above += pair[0] * (1.0f / pair[0]) > 1.0f;
            trainopt_quantize_blockwise((trainopt_q8_map)m, 64, 2, pair, c, &am);
            q8_ref_quantize(code, 64, 2, pair, want, &want_am);
            if (memcmp(c, want, 2) != 0)
                ok = 0, to_fail(t, "map %d: x = +-%a: codes %u %u, the rule's %u %u", m, (double)pair[0], c[0], c[1], want[0], want[1]);
            if (k == 0) {
                trainopt_quantize_blockwise((trainopt_q8_map)m, 64, 4, inf_block, c, &am);
                q8_ref_quantize(code, 64, 4, inf_block, want, &want_am);
                if (memcmp(c, want, 4) != 0) ok = 0, to_fail(t, "map %d: the Inf block", m);
            }
        }
    }
    TO_CHECK(t, !ok || (changes >= 2 * 255 && above > 100), "the sweep saw %u code changes, %u values above 1", changes, above);
    free(x);
}

/* The AVX-512 encoder's fast path lane by lane (the kernels fall back a whole vector at a
   time, which hides the lanes beside a flagged one): every code it decides is the rule's,
   on every float of [-1, 1] ([0, 1] for the unsigned map) at the sweep's stride
   (TRAINOPT_Q8_STRIDE=1: every float), and it decides more than 99% of them. Backends
   without the fast path: nothing to check. */
static void test_fast_path(to_ctx *t) {
    enum { CHUNK = 4096 };
    const char *env = getenv("TRAINOPT_Q8_STRIDE");
    const uint32_t stride = env && atoi(env) > 0 ? (uint32_t)atoi(env) : 61u;
    uint8_t c[CHUNK], unsure[CHUNK];
    float code[256];
    uint64_t decided = 0, total = 0;
    int m, half, ok = 1;
    if (!TO_NAME(to_wb_q8_fast)(1, 0, 1, 1, c, unsure)) return;
    for (m = 0; m < 2 && ok; m++) {
        q8_map((trainopt_q8_map)m, code);
        for (half = 0; half < 2 - m && ok; half++) { /* +0 to +1, then -0 to -1 (the unsigned map flags all) */
            const uint32_t sign = half ? 0x80000000u : 0, end = 0x3f800000u;
            uint64_t b;
            for (b = 0; b <= end && ok; b += (uint64_t)CHUNK * stride) {
                const size_t n = (size_t)((end - b) / stride + 1 < CHUNK ? (end - b) / stride + 1 : CHUNK);
                size_t i;
                TO_NAME(to_wb_q8_fast)(m == 0, sign | (uint32_t)b, stride, n, c, unsure);
                for (i = 0; i < n && ok; i++) {
                    const uint32_t bits = sign | (uint32_t)(b + i * stride);
                    float v;
                    memcpy(&v, &bits, sizeof v);
                    total++;
                    if (unsure[i]) continue;
                    decided++;
                    if (c[i] != q8_ref_code(code, v))
                        ok = 0, to_fail(t, "map %d: v = %a: fast path %u, the rule's %u", m, (double)v, c[i], q8_ref_code(code, v));
                }
            }
        }
    }
    TO_CHECK(t, !ok || decided > total / 100 * 99, "the fast path decided %llu of %llu floats", (unsigned long long)decided,
             (unsigned long long)total);
}

/* The AVX-512 VBMI decode (byte planes and byte permutes) against the vector layer's 256-entry
   lookup: every code of both maps (the first 256 codes are a permutation of 0..255), every
   length up to a block and 44 more, and absmax 0, -0, a denormal, NaN, Inf and ordinary values; the bits
   of every float, and no float past len written. Backends or CPUs without it: nothing to check. */
static void test_vbmi_decode(to_ctx *t) {
    enum { LEN = 300 };
    static const float scales[] = {1.0f, 0.37f, -3.5f, 0.0f, -0.0f, 1e-40f, 3e38f, INFINITY, NAN};
    uint8_t codes[LEN];
    float vbmi[LEN + 1], lookup[LEN + 1];
    size_t len, i;
    int m, s, ok = 1;
    for (i = 0; i < LEN; i++) codes[i] = (uint8_t)(i * 97 + i / 256);
    if (!TO_NAME(to_wb_q8_decode_vbmi)(1, 1, codes, 1.0f, vbmi, lookup)) return;
    for (m = 0; m < 2 && ok; m++)
        for (s = 0; s < (int)(sizeof scales / sizeof scales[0]) && ok; s++)
            for (len = 1; len <= LEN && ok; len++) {
                memset(vbmi, 0x5a, sizeof vbmi), memset(lookup, 0x5a, sizeof lookup);
                TO_NAME(to_wb_q8_decode_vbmi)(m == 0, len, codes, scales[s], vbmi, lookup);
                if (memcmp(vbmi, lookup, sizeof vbmi) != 0)
                    for (i = 0; i <= len && ok; i++)
                        if (memcmp(vbmi + i, lookup + i, sizeof(float)) != 0)
                            ok = 0, to_fail(t, "map %d, absmax %a, len %zu: element %zu (code %u): VBMI %a, lookup %a", m,
                                            (double)scales[s], len, i, i < len ? (unsigned)codes[i] : 0u, (double)vbmi[i], (double)lookup[i]);
            }
}

/* The AVX-512 VBMI block encoder (four vectors a round, one packed store) against the other
   block encoder: every length up to 300, both maps, on blocks of random values at several
   scales, of the midpoints between neighboring map values and the floats beside them, of
   denormals, zeros, and with a NaN, an Inf or (unsigned map) negative values at one place;
   codes, absmax bits, and nothing past len written. Backends or CPUs without it: nothing. */
static void test_vbmi_encode(to_ctx *t) {
    enum { LEN = 300, KINDS = 7 };
    static const float scales[] = {1.0f, 3e-3f, 7e5f};
    float x[LEN], map[256], va, pa;
    uint8_t map_codes[256], vbmi[LEN + 1], plain[LEN + 1];
    size_t len, i;
    int m, kind, ok = 1;
    uint64_t seed = 0x9e37;
    if (!TO_NAME(to_wb_q8_encode_vbmi)(1, 1, scales, vbmi, &va, plain, &pa)) return;
    for (m = 0; m < 2 && ok; m++) {
        const float one = 1.0f;
        for (i = 0; i < 256; i++) map_codes[i] = (uint8_t)i;
        to_expect_status(t, trainopt_dequantize_blockwise(m == 0 ? TRAINOPT_Q8_SIGNED : TRAINOPT_Q8_UNSIGNED, 256, 256,
                                                          map_codes, &one, map), TRAINOPT_OK, "dequantize the map");
        for (kind = 0; kind < KINDS && ok; kind++)
            for (len = 1; len <= LEN && ok; len++) {
                const size_t at = (len * 37) % len;
                for (i = 0; i < len; i++) {
                    const size_t c = (i / 3) % 255;
                    const float mid = 0.5f * (map[c] + map[c + 1]);
                    if (kind <= 2) { /* random at a scale; kinds 0-2 then get a NaN, an Inf, a negative */
                        to_rand_fill(&seed, x + i, 1, m == 0 ? -1.0f : 0.0f, 1.0f);
                        x[i] *= scales[kind];
                    } else if (kind == 3) { /* absmax 1 (x[0]), so v = x: a midpoint and its neighbors */
                        x[i] = i == 0 ? 1.0f : i % 3 == 0 ? mid : i % 3 == 1 ? nextafterf(mid, 2.0f) : nextafterf(mid, -2.0f);
                    } else if (kind == 4) { /* denormals and zeros */
                        x[i] = (float)((int)(i % 7) - 3) * 1e-41f;
                    } else if (kind == 5) {
                        x[i] = i % 2 ? -0.0f : 0.0f;
                    } else {
                        x[i] = (float)(i % 11) * 0.1f - (m == 0 ? 0.5f : 0.0f);
                    }
                }
                if (kind == 0) x[at] = NAN;
                if (kind == 1) x[at] = (len & 1) ? INFINITY : -INFINITY;
                if (kind == 2 && m == 1) x[at] = -x[at] - 1e-3f; /* a negative value in the unsigned map */
                memset(vbmi, 0x5a, sizeof vbmi), memset(plain, 0x5a, sizeof plain);
                TO_NAME(to_wb_q8_encode_vbmi)(m == 0, len, x, vbmi, &va, plain, &pa);
                if (memcmp(&va, &pa, sizeof va) != 0)
                    ok = 0, to_fail(t, "map %d, kind %d, len %zu: absmax VBMI %a, other %a", m, kind, len, (double)va, (double)pa);
                for (i = 0; i <= len && ok; i++)
                    if (vbmi[i] != plain[i])
                        ok = 0, to_fail(t, "map %d, kind %d, len %zu: code %zu (x = %a): VBMI %u, other %u", m, kind, len, i,
                                        i < len ? (double)x[i] : 0.0, (unsigned)vbmi[i], (unsigned)plain[i]);
            }
    }
}

/* No byte outside [0, n) of any array is touched (guard pages on both sides). */
static void test_guard(to_ctx *t) {
    static const size_t lens[] = {1, 17, 64, 100};
    size_t q;
    int at_end;
    for (q = 0; q < 4; q++)
        for (at_end = 0; at_end < 2; at_end++) {
            const size_t n = lens[q];
            to_guard x = to_guard_new(n, at_end), am = to_guard_new(1, at_end), y = to_guard_new(n, at_end);
            to_guard cg = to_guard_new((n + 3) / 4, at_end); /* codes: n bytes flush with the guard */
            uint8_t *codes = (uint8_t *)cg.p + (at_end ? ((n + 3) / 4) * 4 - n : 0);
            uint64_t seed = q;
            to_rand_fill(&seed, x.p, n, -1.0f, 1.0f);
            to_expect_status(t, trainopt_quantize_blockwise(TRAINOPT_Q8_SIGNED, 128, n, x.p, codes, am.p), TRAINOPT_OK,
                             "quantize");
            to_expect_status(t, trainopt_dequantize_blockwise(TRAINOPT_Q8_SIGNED, 128, n, codes, am.p, y.p), TRAINOPT_OK,
                             "dequantize");
            to_guard_free(&x), to_guard_free(&am), to_guard_free(&y), to_guard_free(&cg);
        }
}

/* ---- the 8-bit steps against dequantize -> fp32 step -> quantize ---- */

enum { Q8_SGD, Q8_SGD_NESTEROV, Q8_ADAM, Q8_ADAMW, Q8_LION, Q8_KINDS };
static const char *const q8_kind_name[] = {"sgd8bit", "sgd8bit-nesterov", "adam8bit", "adamw8bit", "lion8bit"};

typedef struct {
    int kind, maximize, fused;
    float scale;  /* grad_scale of the fused form */
    double wd;
} q8_case;

/* One 8-bit step (8 bits: codes/absmax) or one fp32 step (fp32 states s0, s1). */
static trainopt_status q8_step(const q8_case *k, int64_t step, size_t block, size_t n, float *param, const float *grad,
                               uint8_t *c0, float *a0, uint8_t *c1, float *a1, float *s0, float *s1, size_t *nonfinite) {
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    const trainopt_step_opts *op = k->fused ? &o : NULL;
    o.grad_scale = k->scale;
    o.nonfinite = nonfinite;
    if (k->kind == Q8_SGD || k->kind == Q8_SGD_NESTEROV) {
        trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
        c.lr = 0.05, c.momentum = 0.9, c.weight_decay = k->wd, c.maximize = k->maximize;
        c.nesterov = k->kind == Q8_SGD_NESTEROV;
        c.dampening = c.nesterov ? 0.0 : 0.1;
        if (s0) return k->fused ? trainopt_sgd_step_ex(&c, step, n, param, grad, s0, op) : trainopt_sgd_step(&c, step, n, param, grad, s0);
        return k->fused ? trainopt_sgd8bit_step_ex(&c, step, block, n, param, grad, c0, a0, op)
                        : trainopt_sgd8bit_step(&c, step, block, n, param, grad, c0, a0);
    }
    if (k->kind == Q8_LION) {
        trainopt_lion_config c = TRAINOPT_LION_DEFAULTS;
        c.lr = 1e-3, c.weight_decay = k->wd, c.maximize = k->maximize;
        if (s0) return k->fused ? trainopt_lion_step_ex(&c, step, n, param, grad, s0, op) : trainopt_lion_step(&c, step, n, param, grad, s0);
        return k->fused ? trainopt_lion8bit_step_ex(&c, step, block, n, param, grad, c0, a0, op)
                        : trainopt_lion8bit_step(&c, step, block, n, param, grad, c0, a0);
    } else {
        trainopt_adam_config c = TRAINOPT_ADAM_DEFAULTS;
        const int w = k->kind == Q8_ADAMW;
        c.lr = 1e-2, c.weight_decay = k->wd, c.maximize = k->maximize;
        if (s0) {
            if (k->fused) return w ? trainopt_adamw_step_ex(&c, step, n, param, grad, s0, s1, NULL, op)
                                   : trainopt_adam_step_ex(&c, step, n, param, grad, s0, s1, NULL, op);
            return w ? trainopt_adamw_step(&c, step, n, param, grad, s0, s1, NULL) : trainopt_adam_step(&c, step, n, param, grad, s0, s1, NULL);
        }
        if (k->fused) return w ? trainopt_adamw8bit_step_ex(&c, step, block, n, param, grad, c0, a0, c1, a1, op)
                               : trainopt_adam8bit_step_ex(&c, step, block, n, param, grad, c0, a0, c1, a1, op);
        return w ? trainopt_adamw8bit_step(&c, step, block, n, param, grad, c0, a0, c1, a1)
                 : trainopt_adam8bit_step(&c, step, block, n, param, grad, c0, a0, c1, a1);
    }
}

static int q8_states(int kind) { return kind == Q8_ADAM || kind == Q8_ADAMW ? 2 : 1; }

/* A run of `steps` steps: param and the 8-bit states, every array of its own. */
typedef struct {
    size_t n, block, nb;
    float *param, *grad, *a0, *a1;
    uint8_t *c0, *c1;
} q8_run;

static q8_run q8_run_new(size_t n, size_t block, uint64_t seed) {
    q8_run r;
    r.n = n, r.block = block, r.nb = TRAINOPT_Q8_BLOCKS(n, block);
    r.param = q8_floats(n), r.grad = q8_floats(n), r.a0 = q8_floats(r.nb), r.a1 = q8_floats(r.nb);
    r.c0 = q8_bytes(n), r.c1 = q8_bytes(n);
    to_rand_fill(&seed, r.param, n, -1.0f, 1.0f);
    memset(r.c0, 0, n), memset(r.c1, 0, n); /* zero codes and absmax: states of 0, as fp32's */
    memset(r.a0, 0, r.nb * sizeof(float)), memset(r.a1, 0, r.nb * sizeof(float));
    return r;
}
static void q8_run_free(q8_run *r) { free(r->param), free(r->grad), free(r->a0), free(r->a1), free(r->c0), free(r->c1); }

static void test_step_equals_composition(to_ctx *t) {
    static const size_t shapes[][2] = {{1000, 256}, {130, 64}, {4096 + 5, 4096}};
    size_t q;
    int kind, variant;
    for (kind = 0; kind < Q8_KINDS; kind++)
        for (variant = 0; variant < 4; variant++)
            for (q = 0; q < 3; q++) {
                const q8_case k = {kind, variant & 1, variant >= 2, variant == 3 ? 0.5f : 1.0f, variant == 1 ? 0.0 : 0.01};
                const size_t n = shapes[q][0], block = shapes[q][1];
                q8_run a = q8_run_new(n, block, 7 + q), b = q8_run_new(n, block, 7 + q);
                float *s0 = q8_floats(n), *s1 = q8_floats(n);
                uint64_t seed = 99 + (uint64_t)kind;
                int64_t step;
                char what[128];
                for (step = 1; step <= 3; step++) {
                    size_t bad_a = 77, bad_b = 88;
                    to_rand_fill(&seed, a.grad, n, -2.0f, 2.0f);
                    if (step == 2) a.grad[n / 3] = INFINITY; /* counted by the fused form, confined to its block */
                    memcpy(b.grad, a.grad, n * sizeof(float));
                    snprintf(what, sizeof what, "%s maximize %d fused %d n %zu block %zu step %lld", q8_kind_name[kind],
                             k.maximize, k.fused, n, block, (long long)step);
                    /* a: the 8-bit step */
                    to_expect_status(t, q8_step(&k, step, block, n, a.param, a.grad, a.c0, a.a0, a.c1, a.a1, NULL, NULL, &bad_a),
                                     TRAINOPT_OK, what);
                    /* b: dequantize, the fp32 step, quantize */
                    trainopt_dequantize_blockwise(TRAINOPT_Q8_SIGNED, block, n, b.c0, b.a0, s0);
                    trainopt_dequantize_blockwise(TRAINOPT_Q8_UNSIGNED, block, n, b.c1, b.a1, s1);
                    to_expect_status(t, q8_step(&k, step, block, n, b.param, b.grad, NULL, NULL, NULL, NULL, s0, s1, &bad_b),
                                     TRAINOPT_OK, what);
                    trainopt_quantize_blockwise(TRAINOPT_Q8_SIGNED, block, n, s0, b.c0, b.a0);
                    if (q8_states(kind) > 1) trainopt_quantize_blockwise(TRAINOPT_Q8_UNSIGNED, block, n, s1, b.c1, b.a1);
                    if (!to_bits_equal(t, what, a.param, b.param, n)) break;
                    if (!q8_bytes_equal(t, what, a.c0, b.c0, n) || !to_bits_equal(t, what, a.a0, b.a0, a.nb)) break;
                    if (q8_states(kind) > 1 && (!q8_bytes_equal(t, what, a.c1, b.c1, n) || !to_bits_equal(t, what, a.a1, b.a1, a.nb)))
                        break;
                    if (k.fused) TO_CHECK(t, bad_a == bad_b, "%s: nonfinite %zu, fp32 step %zu", what, bad_a, bad_b);
                }
                q8_run_free(&a), q8_run_free(&b);
                free(s0), free(s1);
            }
}

/* Chunks cut at block boundaries give the whole's bits; a NaN gradient reaches its own
   block (its parameter at once, the block's states, then the block's parameters) and no
   other. found_inf skips the step. */
static void test_chunks_nan_skip(to_ctx *t) {
    const size_t n = 1000, block = 64, cut = 320; /* 5 blocks, then 11 (the last partial) */
    int kind;
    for (kind = 0; kind < Q8_KINDS; kind++) {
        const q8_case k = {kind, 0, 0, 1.0f, 0.01};
        q8_run a = q8_run_new(n, block, 3), b = q8_run_new(n, block, 3), c = q8_run_new(n, block, 3);
        uint64_t seed = 5;
        int64_t step;
        size_t i, nb_cut = cut / block;
        for (step = 1; step <= 3; step++) {
            to_rand_fill(&seed, a.grad, n, -1.0f, 1.0f);
            memcpy(b.grad, a.grad, n * sizeof(float));
            memcpy(c.grad, a.grad, n * sizeof(float));
            if (step == 2) c.grad[200] = NAN; /* block 3 of c */
            q8_step(&k, step, block, n, a.param, a.grad, a.c0, a.a0, a.c1, a.a1, NULL, NULL, NULL);
            q8_step(&k, step, block, cut, b.param, b.grad, b.c0, b.a0, b.c1, b.a1, NULL, NULL, NULL);
            q8_step(&k, step, block, n - cut, b.param + cut, b.grad + cut, b.c0 + cut, b.a0 + nb_cut, b.c1 + cut,
                    b.a1 + nb_cut, NULL, NULL, NULL);
            q8_step(&k, step, block, n, c.param, c.grad, c.c0, c.a0, c.c1, c.a1, NULL, NULL, NULL);
        }
        to_bits_equal(t, q8_kind_name[kind], b.param, a.param, n);
        q8_bytes_equal(t, q8_kind_name[kind], b.c0, a.c0, n);
        to_bits_equal(t, q8_kind_name[kind], b.a0, a.a0, a.nb);
        if (q8_states(kind) > 1) q8_bytes_equal(t, q8_kind_name[kind], b.c1, a.c1, n), to_bits_equal(t, q8_kind_name[kind], b.a1, a.a1, a.nb);
        /* NaN: blocks other than 3 as without it; block 3's absmax NaN, its parameters NaN */
        for (i = 0; i < n; i++) {
            const int in_block = i / block == 3;
            if (in_block) {
                if (!isnan(c.param[i])) {
                    to_fail(t, "%s: parameter %zu in the NaN's block is %g, not NaN", q8_kind_name[kind], i, (double)c.param[i]);
                    break;
                }
            } else if (to_bits(c.param[i]) != to_bits(a.param[i]) || c.c0[i] != a.c0[i]) {
                to_fail(t, "%s: element %zu outside the NaN's block changed", q8_kind_name[kind], i);
                break;
            }
        }
        TO_CHECK(t, isnan(c.a0[3]) && !isnan(c.a0[2]) && !isnan(c.a0[4]), "%s: absmax of the NaN's block", q8_kind_name[kind]);
        q8_run_free(&a), q8_run_free(&b), q8_run_free(&c);
    }
    { /* found_inf: nothing read or written but the count */
        const trainopt_adam_config cfg = TRAINOPT_ADAMW_DEFAULTS;
        q8_run a = q8_run_new(100, 64, 1);
        int found = 1;
        size_t bad = 5;
        trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
        float p0 = a.param[0];
        o.found_inf = &found, o.nonfinite = &bad, o.grad_scale = NAN;
        to_expect_status(t, trainopt_adamw8bit_step_ex(&cfg, 1, 64, 100, a.param, a.grad, a.c0, a.a0, a.c1, a.a1, &o),
                         TRAINOPT_OK, "found_inf");
        TO_CHECK(t, bad == 0 && to_bits(a.param[0]) == to_bits(p0) && a.a0[0] == 0.0f, "found_inf: wrote something");
        q8_run_free(&a);
    }
}

/* Refusals: status, and nothing written. */
static void test_errors(to_ctx *t) {
    q8_run a = q8_run_new(100, 64, 2);
    trainopt_adam_config ac = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_sgd_config sc = TRAINOPT_SGD_DEFAULTS;
    float x[100], am[2] = {7.0f, 7.0f};
    uint8_t codes[100];
    memset(codes, 9, sizeof codes);
    memset(x, 0, sizeof x);
    to_expect_status(t, trainopt_quantize_blockwise((trainopt_q8_map)2, 64, 100, x, codes, am), TRAINOPT_ERR_HPARAM, "map 2");
    to_expect_status(t, trainopt_quantize_blockwise(TRAINOPT_Q8_SIGNED, 32, 100, x, codes, am), TRAINOPT_ERR_SHAPE, "block 32");
    to_expect_status(t, trainopt_quantize_blockwise(TRAINOPT_Q8_SIGNED, 8192, 100, x, codes, am), TRAINOPT_ERR_SHAPE, "block 8192");
    to_expect_status(t, trainopt_quantize_blockwise(TRAINOPT_Q8_SIGNED, 96, 100, x, codes, am), TRAINOPT_ERR_SHAPE, "block 96");
    to_expect_status(t, trainopt_quantize_blockwise(TRAINOPT_Q8_SIGNED, 64, 100, x, (uint8_t *)x + 3, am), TRAINOPT_ERR_ALIAS,
                     "codes inside x");
    to_expect_status(t, trainopt_dequantize_blockwise(TRAINOPT_Q8_SIGNED, 64, 100, codes, am, x), TRAINOPT_OK, "dequantize");
    TO_CHECK(t, codes[0] == 9 && am[0] == 7.0f, "refused quantize wrote");
    ac.amsgrad = 1;
    to_expect_status(t, trainopt_adamw8bit_step(&ac, 1, 64, 100, a.param, a.grad, a.c0, a.a0, a.c1, a.a1), TRAINOPT_ERR_HPARAM,
                     "amsgrad");
    ac.amsgrad = 0;
    to_expect_status(t, trainopt_adamw8bit_step(&ac, 1, 64, 100, a.param, a.grad, a.c0, a.a0, a.c0 + 50, a.a1),
                     TRAINOPT_ERR_ALIAS, "exp_avg_sq codes inside exp_avg's");
    to_expect_status(t, trainopt_adamw8bit_step(&ac, 1, 64, 100, a.param, a.grad, a.c0, a.a0, a.c1, a.a0 + 1),
                     TRAINOPT_ERR_ALIAS, "absmax arrays overlapping");
    to_expect_status(t, trainopt_adamw8bit_step(&ac, 1, 128 + 1, 100, a.param, a.grad, a.c0, a.a0, a.c1, a.a1),
                     TRAINOPT_ERR_SHAPE, "block 129");
    to_expect_status(t, trainopt_sgd8bit_step(&sc, 1, 64, 100, a.param, a.grad, a.c0, a.a0), TRAINOPT_ERR_HPARAM,
                     "sgd8bit without momentum");
    TO_CHECK(t, a.c0[0] == 0 && a.a0[0] == 0.0f && a.a1[1] == 0.0f, "a refused step wrote its states");
    q8_run_free(&a);
}

/* ---- the 8-bit steps with bf16/fp16 parameters and gradients (_mp) ---- */

/* One _mp step of kind k (8-bit states), with the descriptor pr. */
static trainopt_status q8_step_mp(const q8_case *k, int64_t step, size_t block, size_t n, void *param, const void *grad,
                                  uint8_t *c0, float *a0, uint8_t *c1, float *a1, const trainopt_precision *pr,
                                  size_t *nonfinite) {
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    const trainopt_step_opts *op = k->fused ? &o : NULL;
    o.grad_scale = k->scale;
    o.nonfinite = nonfinite;
    if (k->kind == Q8_SGD || k->kind == Q8_SGD_NESTEROV) {
        trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
        c.lr = 0.05, c.momentum = 0.9, c.weight_decay = k->wd, c.maximize = k->maximize;
        c.nesterov = k->kind == Q8_SGD_NESTEROV;
        c.dampening = c.nesterov ? 0.0 : 0.1;
        return trainopt_sgd8bit_step_mp(&c, step, block, n, param, grad, c0, a0, pr, op);
    }
    if (k->kind == Q8_LION) {
        trainopt_lion_config c = TRAINOPT_LION_DEFAULTS;
        c.lr = 1e-3, c.weight_decay = k->wd, c.maximize = k->maximize;
        return trainopt_lion8bit_step_mp(&c, step, block, n, param, grad, c0, a0, pr, op);
    } else {
        trainopt_adam_config c = TRAINOPT_ADAM_DEFAULTS;
        c.lr = 1e-2, c.weight_decay = k->wd, c.maximize = k->maximize;
        return k->kind == Q8_ADAMW ? trainopt_adamw8bit_step_mp(&c, step, block, n, param, grad, c0, a0, c1, a1, pr, op)
                                   : trainopt_adam8bit_step_mp(&c, step, block, n, param, grad, c0, a0, c1, a1, pr, op);
    }
}

/* The parameter setups (F32: a master with a copy), as tests/test_mixed.c's. */
typedef struct {
    trainopt_dtype dtype;
    trainopt_param_mode mode;
    trainopt_dtype copy; /* F32: none */
    const char *name;
} q8_param;
static const q8_param q8_params[] = {
    {TRAINOPT_F32, TRAINOPT_PARAM_NEAREST, TRAINOPT_BF16, "f32+bf16copy"},
    {TRAINOPT_BF16, TRAINOPT_PARAM_NEAREST, TRAINOPT_F32, "bf16-nearest"},
    {TRAINOPT_F16, TRAINOPT_PARAM_NEAREST, TRAINOPT_F16, "f16-nearest+f16copy"},
    {TRAINOPT_BF16, TRAINOPT_PARAM_STOCHASTIC, TRAINOPT_F32, "bf16-stochastic"},
    {TRAINOPT_F16, TRAINOPT_PARAM_STOCHASTIC, TRAINOPT_BF16, "f16-stochastic+bf16copy"},
    {TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_F32, "bf16-kahan"},
    {TRAINOPT_F16, TRAINOPT_PARAM_KAHAN, TRAINOPT_F32, "f16-kahan"},
    {TRAINOPT_BF16, TRAINOPT_PARAM_SPLIT, TRAINOPT_F16, "bf16-split+f16copy"},
};
#define Q8_PARAMS (sizeof q8_params / sizeof q8_params[0])
static const trainopt_dtype q8_grad_dtypes[] = {TRAINOPT_BF16, TRAINOPT_F16, TRAINOPT_F32};

static float q8_widen1(const uint16_t *h, trainopt_dtype d, size_t i) {
    float f;
    trainopt_convert(1, h + i, d, &f, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    return f;
}
static uint16_t q8_round1(float x, trainopt_dtype d) {
    uint16_t h;
    trainopt_convert(1, &x, TRAINOPT_F32, &h, d, TRAINOPT_ROUND_NEAREST, 0, 0);
    return h;
}
/* Element i of bf16/fp16 array h, every NaN as one value (payloads are not promised);
   d F32: raw bits (split's low halves). */
static uint32_t q8_canonical16(const uint16_t *h, trainopt_dtype d, size_t i) {
    if (d == TRAINOPT_F32) return h[i];
    return (h[i] & 0x7fffu) > (d == TRAINOPT_BF16 ? 0x7f80u : 0x7c00u) ? 0x10000u : h[i];
}
static int q8_same16(to_ctx *t, const char *what, const uint16_t *got, const uint16_t *want, trainopt_dtype d, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (q8_canonical16(got, d, i) != q8_canonical16(want, d, i)) {
            to_fail(t, "%s: element %zu / %zu differs: got 0x%04x, want 0x%04x", what, i, n, got[i], want[i]);
            return 0;
        }
    return 1;
}

/* The reference: param widened (Kahan: p + c in float; split: the joined halves), grad
   widened by trainopt_convert, the fp32-parameter 8-bit step, then the manual's rounding
   (nearest; stochastic with the words of (seed, offset + i); Kahan p = rne(q), c = rne(q - p);
   split halves with NaN as 0xffffffff; the copy nearest). p16, aux: param in its dtype. */
static trainopt_status q8_mp_reference(const q8_case *k, const q8_param *mp, trainopt_dtype gd, int64_t step, q8_run *r,
                                       float *p32, uint16_t *p16, uint16_t *aux, const void *grad, uint16_t *copy,
                                       const trainopt_precision *pr, size_t *bad) {
    float *q = q8_floats(r->n), *g = q8_floats(r->n);
    trainopt_status st;
    size_t i;
    for (i = 0; i < r->n; i++) {
        if (mp->dtype == TRAINOPT_F32) q[i] = p32[i];
        else if (mp->mode == TRAINOPT_PARAM_SPLIT) q[i] = to_from_bits((uint32_t)p16[i] << 16 | aux[i]);
        else if (mp->mode == TRAINOPT_PARAM_KAHAN) q[i] = q8_widen1(p16, mp->dtype, i) + q8_widen1(aux, mp->dtype, i);
        else q[i] = q8_widen1(p16, mp->dtype, i);
    }
    trainopt_convert(r->n, grad, gd, g, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    st = q8_step(k, step, r->block, r->n, q, g, r->c0, r->a0, r->c1, r->a1, NULL, NULL, bad);
    if (st == TRAINOPT_OK) {
        if (mp->copy != TRAINOPT_F32) trainopt_convert(r->n, q, TRAINOPT_F32, copy, mp->copy, TRAINOPT_ROUND_NEAREST, 0, 0);
        if (mp->dtype == TRAINOPT_F32) memcpy(p32, q, r->n * sizeof(float));
        else if (mp->mode == TRAINOPT_PARAM_STOCHASTIC)
            trainopt_convert(r->n, q, TRAINOPT_F32, p16, mp->dtype, TRAINOPT_ROUND_STOCHASTIC, pr->seed, pr->offset);
        else
            for (i = 0; i < r->n; i++)
                if (mp->mode == TRAINOPT_PARAM_SPLIT) {
                    const uint32_t b = q[i] != q[i] ? 0xffffffffu : to_bits(q[i]);
                    p16[i] = (uint16_t)(b >> 16), aux[i] = (uint16_t)b;
                } else {
                    p16[i] = q8_round1(q[i], mp->dtype);
                    if (mp->mode == TRAINOPT_PARAM_KAHAN) aux[i] = q8_round1(q[i] - q8_widen1(p16, mp->dtype, i), mp->dtype);
                }
    }
    free(q), free(g);
    return st;
}

/* Every kind x parameter setup x plain/fused, gradients in a dtype that turns with them,
   three steps (an Inf and a NaN gradient in step 2), against the reference, on shapes of
   a few blocks, ten blocks and a partial one, and one block of 4096 and a tail. */
static void test_mp_equals_widened(to_ctx *t) {
    static const size_t shapes[][2] = {{130, 64}, {2500, 256}, {4096 + 5, 4096}};
    size_t q, pi;
    int kind, fused;
    for (q = 0; q < 3; q++)
        for (kind = 0; kind < Q8_KINDS; kind++)
            for (pi = 0; pi < Q8_PARAMS; pi++)
                for (fused = 0; fused < 2; fused++) {
                    const q8_param *mp = &q8_params[pi];
                    const trainopt_dtype gd = q8_grad_dtypes[(pi + (size_t)kind + q) % 3];
                    const q8_case k = {kind, (int)(pi & 1), fused, fused ? 0.5f : 1.0f, pi == 2 ? 0.0 : 0.01};
                    const size_t n = shapes[q][0], block = shapes[q][1];
                    q8_run a = q8_run_new(n, block, 11 + q), b = q8_run_new(n, block, 11 + q);
                    uint16_t *p16a = (uint16_t *)calloc(n, 2), *p16b = (uint16_t *)calloc(n, 2);
                    uint16_t *auxa = (uint16_t *)calloc(n, 2), *auxb = (uint16_t *)calloc(n, 2);
                    uint16_t *copya = (uint16_t *)calloc(n, 2), *copyb = (uint16_t *)calloc(n, 2);
                    void *grad = malloc(n * 4);
                    uint64_t seed = 1234 + pi;
                    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
                    int64_t step;
                    size_t i;
                    char what[160];
                    /* starting parameters in the setup's dtype, the same in a and b */
                    if (mp->mode == TRAINOPT_PARAM_SPLIT)
                        for (i = 0; i < n; i++) p16a[i] = (uint16_t)(to_bits(a.param[i]) >> 16), auxa[i] = (uint16_t)to_bits(a.param[i]);
                    else if (mp->dtype != TRAINOPT_F32) {
                        trainopt_convert(n, a.param, TRAINOPT_F32, p16a, mp->dtype, TRAINOPT_ROUND_NEAREST, 0, 0);
                        if (mp->mode == TRAINOPT_PARAM_KAHAN)
                            for (i = 0; i < n; i++) auxa[i] = q8_round1(a.param[i] * 1e-3f, mp->dtype);
                    }
                    memcpy(p16b, p16a, n * 2), memcpy(auxb, auxa, n * 2);
                    pr.param_dtype = mp->dtype, pr.param_mode = mp->mode, pr.grad_dtype = gd;
                    pr.param_aux = mp->mode == TRAINOPT_PARAM_KAHAN || mp->mode == TRAINOPT_PARAM_SPLIT ? auxa : NULL;
                    pr.copy = mp->copy != TRAINOPT_F32 ? copya : NULL;
                    pr.copy_dtype = mp->copy != TRAINOPT_F32 ? mp->copy : TRAINOPT_BF16;
                    pr.seed = 0x5eed + pi, pr.offset = 3 * pi;
                    for (step = 1; step <= 3; step++) {
                        size_t bad_a = 77, bad_b = 88;
                        void *pa = mp->dtype == TRAINOPT_F32 ? (void *)a.param : (void *)p16a;
                        to_rand_fill(&seed, a.grad, n, -2.0f, 2.0f);
                        if (step == 2) a.grad[n / 3] = INFINITY, a.grad[n - 1] = NAN;
                        trainopt_convert(n, a.grad, TRAINOPT_F32, grad, gd, TRAINOPT_ROUND_NEAREST, 0, 0);
                        snprintf(what, sizeof what, "%s %s grad %d fused %d n %zu block %zu step %lld", q8_kind_name[kind],
                                 mp->name, (int)gd, fused, n, block, (long long)step);
                        if (!to_expect_status(t, q8_step_mp(&k, step, block, n, pa, grad, a.c0, a.a0, a.c1, a.a1, &pr, &bad_a),
                                              TRAINOPT_OK, what))
                            break;
                        to_expect_status(t, q8_mp_reference(&k, mp, gd, step, &b, b.param, p16b, auxb, grad, copyb, &pr, &bad_b),
                                         TRAINOPT_OK, what);
                        if (mp->dtype == TRAINOPT_F32 ? !to_bits_equal(t, what, a.param, b.param, n)
                                                      : !q8_same16(t, what, p16a, p16b, mp->dtype, n))
                            break;
                        if (pr.param_aux && !q8_same16(t, what, auxa, auxb, mp->mode == TRAINOPT_PARAM_SPLIT ? TRAINOPT_F32 : mp->dtype, n))
                            break;
                        if (pr.copy && !q8_same16(t, what, copya, copyb, mp->copy, n)) break;
                        if (!q8_bytes_equal(t, what, a.c0, b.c0, n) || !to_bits_equal(t, what, a.a0, b.a0, a.nb)) break;
                        if (q8_states(kind) > 1 && (!q8_bytes_equal(t, what, a.c1, b.c1, n) || !to_bits_equal(t, what, a.a1, b.a1, a.nb)))
                            break;
                        if (fused) TO_CHECK(t, bad_a == bad_b, "%s: nonfinite %zu, reference %zu", what, bad_a, bad_b);
                        pr.offset += n; /* as a caller advancing its stream */
                    }
                    q8_run_free(&a), q8_run_free(&b);
                    free(p16a), free(p16b), free(auxa), free(auxb), free(copya), free(copyb), free(grad);
                }
}

/* An _mp step cut at a block boundary (the stochastic offset advanced by the cut) gives
   the whole's bits: bf16 stochastic with an fp16 copy, and fp16 Kahan. */
static void test_mp_chunks(to_ctx *t) {
    const size_t n = 3000, block = 128, cut = 1280;
    int kind, pass;
    for (kind = 0; kind < Q8_KINDS; kind++)
        for (pass = 0; pass < 2; pass++) {
            const q8_case k = {kind, 0, 1, 0.5f, 0.01};
            const trainopt_dtype pd = pass ? TRAINOPT_F16 : TRAINOPT_BF16;
            q8_run a = q8_run_new(n, block, 8), b = q8_run_new(n, block, 8);
            uint16_t *pa = (uint16_t *)calloc(n, 2), *pb = (uint16_t *)calloc(n, 2), *xa = (uint16_t *)calloc(n, 2),
                     *xb = (uint16_t *)calloc(n, 2), *g = (uint16_t *)calloc(n, 2);
            trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
            uint64_t seed = 21;
            size_t bad_a, bad_b1, bad_b2;
            int64_t step;
            trainopt_convert(n, a.param, TRAINOPT_F32, pa, pd, TRAINOPT_ROUND_NEAREST, 0, 0);
            memcpy(pb, pa, n * 2);
            pr.param_dtype = pd, pr.grad_dtype = TRAINOPT_BF16, pr.seed = 77, pr.offset = 5;
            pr.param_mode = pass ? TRAINOPT_PARAM_KAHAN : TRAINOPT_PARAM_STOCHASTIC;
            for (step = 1; step <= 3; step++) {
                trainopt_precision p1 = pr, p2 = pr;
                to_rand_fill(&seed, a.grad, n, -1.0f, 1.0f);
                if (step == 2) a.grad[2000] = NAN;
                trainopt_convert(n, a.grad, TRAINOPT_F32, g, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0);
                if (pass) pr.param_aux = xa, p1.param_aux = xb, p2.param_aux = xb + cut;
                else pr.copy = xa, p1.copy = xb, p2.copy = xb + cut, pr.copy_dtype = p1.copy_dtype = p2.copy_dtype = TRAINOPT_F16;
                p2.offset += cut;
                q8_step_mp(&k, step, block, n, pa, g, a.c0, a.a0, a.c1, a.a1, &pr, &bad_a);
                q8_step_mp(&k, step, block, cut, pb, g, b.c0, b.a0, b.c1, b.a1, &p1, &bad_b1);
                q8_step_mp(&k, step, block, n - cut, pb + cut, g + cut, b.c0 + cut, b.a0 + cut / block, b.c1 + cut,
                           b.a1 + cut / block, &p2, &bad_b2);
                TO_CHECK(t, bad_a == bad_b1 + bad_b2, "%s pass %d: nonfinite %zu, pieces %zu + %zu", q8_kind_name[kind], pass,
                         bad_a, bad_b1, bad_b2);
                pr.offset += n;
            }
            q8_same16(t, q8_kind_name[kind], pb, pa, pd, n);
            q8_same16(t, q8_kind_name[kind], xb, xa, pd, n);
            q8_bytes_equal(t, q8_kind_name[kind], b.c0, a.c0, n);
            to_bits_equal(t, q8_kind_name[kind], b.a0, a.a0, a.nb);
            if (q8_states(kind) > 1) q8_bytes_equal(t, q8_kind_name[kind], b.c1, a.c1, n), to_bits_equal(t, q8_kind_name[kind], b.a1, a.a1, a.nb);
            q8_run_free(&a), q8_run_free(&b);
            free(pa), free(pb), free(xa), free(xb), free(g);
        }
}

/* The _mp steps' refusals: status, and nothing written. */
static void test_mp_errors(to_ctx *t) {
    q8_run a = q8_run_new(100, 64, 2);
    trainopt_adam_config ac = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    uint16_t p16[100], g16[100], aux[100];
    size_t i;
    for (i = 0; i < 100; i++) p16[i] = 0x3f80, g16[i] = 0x3c00, aux[i] = 0;
    pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_F16;
    to_expect_status(t, trainopt_adamw8bit_step_mp(&ac, 1, 64, 100, p16, g16, a.c0, a.a0, a.c1, a.a1, NULL, NULL),
                     TRAINOPT_ERR_NULL, "pr NULL");
    pr.state_dtype = TRAINOPT_BF16;
    to_expect_status(t, trainopt_adamw8bit_step_mp(&ac, 1, 64, 100, p16, g16, a.c0, a.a0, a.c1, a.a1, &pr, NULL),
                     TRAINOPT_ERR_HPARAM, "state_dtype bf16");
    pr.state_dtype = TRAINOPT_F32, pr.param_mode = TRAINOPT_PARAM_KAHAN;
    to_expect_status(t, trainopt_adamw8bit_step_mp(&ac, 1, 64, 100, p16, g16, a.c0, a.a0, a.c1, a.a1, &pr, NULL),
                     TRAINOPT_ERR_NULL, "Kahan without param_aux");
    pr.param_aux = aux;
    to_expect_status(t, trainopt_adamw8bit_step_mp(&ac, 1, 64, 100, p16, g16, a.c0, a.a0, (uint8_t *)aux + 10, a.a1, &pr, NULL),
                     TRAINOPT_ERR_ALIAS, "exp_avg_sq codes inside param_aux");
    pr.copy = a.a1, pr.copy_dtype = TRAINOPT_BF16;
    to_expect_status(t, trainopt_adamw8bit_step_mp(&ac, 1, 64, 100, p16, g16, a.c0, a.a0, a.c1, a.a1, &pr, NULL),
                     TRAINOPT_ERR_ALIAS, "copy over exp_avg_sq_absmax");
    pr.copy = NULL, pr.param_mode = TRAINOPT_PARAM_SPLIT, pr.param_dtype = TRAINOPT_F16;
    to_expect_status(t, trainopt_adamw8bit_step_mp(&ac, 1, 64, 100, p16, g16, a.c0, a.a0, a.c1, a.a1, &pr, NULL),
                     TRAINOPT_ERR_HPARAM, "split fp16");
    pr.param_mode = TRAINOPT_PARAM_NEAREST, pr.param_aux = NULL, pr.param_dtype = TRAINOPT_BF16;
    ac.amsgrad = 1;
    to_expect_status(t, trainopt_adamw8bit_step_mp(&ac, 1, 64, 100, p16, g16, a.c0, a.a0, a.c1, a.a1, &pr, NULL),
                     TRAINOPT_ERR_HPARAM, "amsgrad");
    ac.amsgrad = 0;
    TO_CHECK(t, a.c0[0] == 0 && a.a0[0] == 0.0f && a.a1[1] == 0.0f && p16[0] == 0x3f80, "a refused step wrote");
    /* param is n bf16 (2n bytes): momentum codes right after it are not inside it */
    {
        trainopt_sgd_config sc = TRAINOPT_SGD_DEFAULTS;
        uint16_t both[100 + 50];
        sc.momentum = 0.9;
        for (i = 0; i < 100; i++) both[i] = 0x3f80;
        memset(both + 100, 0, 100);
        to_expect_status(t, trainopt_sgd8bit_step_mp(&sc, 1, 64, 100, both, g16, (uint8_t *)(both + 100), a.a0, &pr, NULL),
                         TRAINOPT_OK, "codes just after a bf16 param");
        to_expect_status(t, trainopt_sgd8bit_step_mp(&sc, 1, 64, 100, both, g16, (uint8_t *)(both + 99), a.a0, &pr, NULL),
                         TRAINOPT_ERR_ALIAS, "codes over the bf16 param's last element");
    }
    q8_run_free(&a);
}

void TO_NAME(quant8_tests)(to_ctx *t) {
    to_run(t, "golden-bitsandbytes-reference", test_golden);
    to_run(t, "scalar-rule-scales-lengths-offsets", test_reference_rule);
    to_run(t, "every-float-up-to-1-nan-inf", test_every_float);
    to_run(t, "avx512-fast-encoder-lane-by-lane", test_fast_path);
    to_run(t, "avx512-vbmi-decode-equals-lookup", test_vbmi_decode);
    to_run(t, "avx512-vbmi-encode-equals-other", test_vbmi_encode);
    to_run(t, "guard-pages", test_guard);
    to_run(t, "step-equals-dequantize-fp32-quantize", test_step_equals_composition);
    to_run(t, "chunks-nan-block-found-inf", test_chunks_nan_skip);
    to_run(t, "errors", test_errors);
    to_run(t, "mp-equals-8bit-step-on-widened-then-rounding", test_mp_equals_widened);
    to_run(t, "mp-chunks-at-block-boundaries", test_mp_chunks);
    to_run(t, "mp-errors", test_mp_errors);
}

void TO_NAME(quant8_battery)(to_sink *s) {
    static const size_t lens[] = {1, 17, 300, 1030};
    uint64_t seed = 1818;
    size_t q;
    int kind, m;
    char name[96];
    for (m = 0; m < 2; m++)
        for (q = 0; q < 4; q++) {
            const size_t n = lens[q];
            float *x = q8_floats(n), am[20], *y = q8_floats(n);
            uint8_t *c = q8_bytes(n);
            q8_fill(&seed, x, n, m);
            if (q == 2) x[3] = NAN, x[150] = INFINITY, x[299] = 1e-40f;
            snprintf(name, sizeof name, "quant8/status/map%d/n%zu", m, n);
            to_emit_status(s, name, trainopt_quantize_blockwise((trainopt_q8_map)m, 64, n, x, c, am));
            snprintf(name, sizeof name, "quant8/codes/map%d/n%zu", m, n);
            to_emit(s, name, c, n);
            snprintf(name, sizeof name, "quant8/absmax/map%d/n%zu", m, n);
            to_emit_floats(s, name, am, TRAINOPT_Q8_BLOCKS(n, 64));
            trainopt_dequantize_blockwise((trainopt_q8_map)m, 64, n, c, am, y);
            snprintf(name, sizeof name, "quant8/dequantized/map%d/n%zu", m, n);
            to_emit_floats(s, name, y, n);
            free(x), free(y), free(c);
        }
    for (kind = 0; kind < Q8_KINDS; kind++) {
        const q8_case k = {kind, kind == Q8_LION, kind == Q8_ADAM, 0.75f, 0.01};
        q8_run r = q8_run_new(700, 128, 4);
        size_t bad = 0;
        int64_t step;
        for (step = 1; step <= 3; step++) {
            to_rand_fill(&seed, r.grad, r.n, -1.0f, 1.0f);
            if (step == 3) r.grad[5] = NAN;
            q8_step(&k, step, r.block, r.n, r.param, r.grad, r.c0, r.a0, r.c1, r.a1, NULL, NULL, &bad);
        }
        snprintf(name, sizeof name, "quant8/%s/param", q8_kind_name[kind]);
        to_emit_floats(s, name, r.param, r.n);
        snprintf(name, sizeof name, "quant8/%s/state0-codes", q8_kind_name[kind]);
        to_emit(s, name, r.c0, r.n);
        snprintf(name, sizeof name, "quant8/%s/state0-absmax", q8_kind_name[kind]);
        to_emit_floats(s, name, r.a0, r.nb);
        if (q8_states(kind) > 1) {
            snprintf(name, sizeof name, "quant8/%s/state1-codes", q8_kind_name[kind]);
            to_emit(s, name, r.c1, r.n);
            snprintf(name, sizeof name, "quant8/%s/state1-absmax", q8_kind_name[kind]);
            to_emit_floats(s, name, r.a1, r.nb);
        }
        q8_run_free(&r);
    }
    /* the _mp steps: bf16 stochastic parameters with an fp16 copy, fp16 Kahan parameters,
       bf16 gradients (finite: a NaN's fp16 sign is the CPU's), 16 blocks and a tail */
    for (kind = 0; kind < Q8_KINDS; kind++)
        for (m = 0; m < 2; m++) {
            const q8_case k = {kind, kind == Q8_LION, 1, 0.75f, 0.01};
            const trainopt_dtype pd = m ? TRAINOPT_F16 : TRAINOPT_BF16;
            q8_run r = q8_run_new(2100, 128, 6);
            uint16_t *p = (uint16_t *)calloc(r.n, 2), *g = (uint16_t *)calloc(r.n, 2), *x = (uint16_t *)calloc(r.n, 2);
            trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
            size_t bad = 0;
            int64_t step;
            trainopt_convert(r.n, r.param, TRAINOPT_F32, p, pd, TRAINOPT_ROUND_NEAREST, 0, 0);
            pr.param_dtype = pd, pr.grad_dtype = TRAINOPT_BF16, pr.seed = 18, pr.offset = 7;
            pr.param_mode = m ? TRAINOPT_PARAM_KAHAN : TRAINOPT_PARAM_STOCHASTIC;
            if (m) pr.param_aux = x;
            else pr.copy = x, pr.copy_dtype = TRAINOPT_F16;
            for (step = 1; step <= 3; step++) {
                to_rand_fill(&seed, r.grad, r.n, -1.0f, 1.0f);
                trainopt_convert(r.n, r.grad, TRAINOPT_F32, g, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0);
                q8_step_mp(&k, step, r.block, r.n, p, g, r.c0, r.a0, r.c1, r.a1, &pr, &bad);
                pr.offset += r.n;
            }
            snprintf(name, sizeof name, "quant8/%s_mp/%s/param", q8_kind_name[kind], m ? "f16-kahan" : "bf16-stochastic");
            to_emit(s, name, p, r.n * 2);
            snprintf(name, sizeof name, "quant8/%s_mp/%s/%s", q8_kind_name[kind], m ? "f16-kahan" : "bf16-stochastic",
                     m ? "compensation" : "f16-copy");
            to_emit(s, name, x, r.n * 2);
            snprintf(name, sizeof name, "quant8/%s_mp/%s/state0-codes", q8_kind_name[kind], m ? "f16-kahan" : "bf16-stochastic");
            to_emit(s, name, r.c0, r.n);
            snprintf(name, sizeof name, "quant8/%s_mp/%s/state0-absmax", q8_kind_name[kind], m ? "f16-kahan" : "bf16-stochastic");
            to_emit_floats(s, name, r.a0, r.nb);
            if (q8_states(kind) > 1) {
                snprintf(name, sizeof name, "quant8/%s_mp/%s/state1-codes", q8_kind_name[kind], m ? "f16-kahan" : "bf16-stochastic");
                to_emit(s, name, r.c1, r.n);
            }
            q8_run_free(&r);
            free(p), free(g), free(x);
        }
}
