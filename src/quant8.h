/* >>quant8: 8-bit optimizer states, bitsandbytes' blockwise dynamic quantization
   (manual: QUANT8). A state of n floats is kept as n one-byte codes and one fp32
   absmax per block of `block` elements; element i stands for map[code[i]] * absmax[i /
   block]. The 8-bit steps run one pass per block: decode the block's states into a
   block-sized buffer on the stack (it stays in L1), run the fp32 kernel's own vector
   loop (>>sgd, >>adam, >>lion) on it a vector at a time with the block's parameters and
   gradients, folding the new absmax in as it goes, then encode the updated block. So
   each 8-bit step is, bit for bit, dequantize, the fp32 step, quantize; and blocks never
   see each other, so chunks cut at block boundaries give the whole's bits. The maps and the encoder's tables are
   generated (>>quant8-maps, tests/gen_quant8.py). */

/* ---- encoding and decoding one block ---- */

/* The code of each lane of v with bitsandbytes' rule (the nearest code, ties to the lower,
   NaN and v below every code to 0, v > 1 to 255), through the generated tables
   (>>quant8-maps): v is clamped to [-1, 1] ([0, 1] for the unsigned map; v_max sends NaN
   to the low end, whose code is NaN's), then |v|'s float bits (exponent and top mantissa
   bits; |v| floored where every smaller one is alike) name a bucket, negative v counting
   down from the middle so the buckets follow v's order. A bucket holds at most one
   threshold, so its entry (one gather) gives the code of its lowest v and the position
   from which the code is one more, which the bits below the shift are compared with
   (counted down for negative v): a gather and a few integer ops, not thirty compares. */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__q8_encode(int is_signed, trainopt__vf v) {
    const float *buckets = is_signed ? trainopt__q8_signed_buckets : trainopt__q8_unsigned_buckets;
    const int shift = is_signed ? (int)trainopt__q8_signed_shift : (int)trainopt__q8_unsigned_shift; /* casts: C++ warns on two enums */
    const uint32_t floor_bits = is_signed ? (uint32_t)trainopt__q8_signed_floor : (uint32_t)trainopt__q8_unsigned_floor;
    const trainopt__vi below = trainopt__vi_set1((1u << shift) - 1); /* the bits below the shift */
    const trainopt__vf x = trainopt__v_min(trainopt__v_max(v, trainopt__v_set1(is_signed ? -1.0f : 0.0f)), trainopt__v_set1(1.0f));
    const trainopt__vi a = trainopt__v_bits(trainopt__v_max(trainopt__v_abs(x), trainopt__v_from_bits(trainopt__vi_set1(floor_bits))));
    trainopt__vi bucket = trainopt__vi_sub(trainopt__vi_shr(a, shift), trainopt__vi_set1(floor_bits >> shift));
    trainopt__vi pos = trainopt__vi_and(a, below), entry, code;
    if (is_signed) { /* k -> side + k for x >= +0, side - 1 - k for x <= -0 */
        const trainopt__vi negative = trainopt__vi_sub(trainopt__vi_set1(0), trainopt__vi_shr(trainopt__v_bits(x), 31));
        bucket = trainopt__vi_add(trainopt__vi_xor(bucket, negative), trainopt__vi_set1((uint32_t)trainopt__q8_signed_side));
        pos = trainopt__vi_xor(pos, trainopt__vi_and(negative, below));
    }
    entry = trainopt__v_bits(trainopt__v_gather(buckets, bucket));
    code = trainopt__vi_and(trainopt__vi_shr(entry, 21), trainopt__vi_set1(255));
    return trainopt__vi_select(trainopt__vi_ge(pos, trainopt__vi_and(entry, trainopt__vi_set1(0x1fffff))),
                               trainopt__vi_add(code, trainopt__vi_set1(1)), code);
}

#if defined(TRAINOPT__BACKEND_AVX512)
/* The encoder's fast path, where a permute reads a 32-entry table from registers (AVX-512):
   the code of every lane not flagged in *unsure, by arithmetic (tests/gen_quant8.py,
   fast_tables, says why it holds; tests/test_quant8.c checks every float). |v|'s octave
   names its region (the zero code, one decade of the map, or 1.0), plus one at or above
   the region's exact first threshold; in the region the code is the floor of a linear
   function of |v| in fixed point, capped at the region's last code. Flagged for the exact
   encoder: a lane within the band of a grid line (where rounding or bitsandbytes' tie rule
   decides; about 0.05% of lanes), NaN, |v| >= 2, and a negative v in the unsigned map. No
   gather: about twice as fast as trainopt__q8_encode (bench/RESULTS.md).
   trainopt__q8_fast_magnitude is its first part: the code of |v| in bits 16-23 of each lane
   (the fixed-point value capped at the last code's top), bits 24-31 zero. checked = 0
   leaves out the test for |v| >= 2 and NaN, for the signed map where the caller knows no
   lane is either (the unsigned map keeps it: it also flags a negative v). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__q8_fast_magnitude(int is_signed, int checked, trainopt__vf v, trainopt__vm *unsure) {
    const uint32_t *bound = is_signed ? trainopt__q8_signed_octave_bound : trainopt__q8_unsigned_octave_bound;
    const uint32_t *below = is_signed ? trainopt__q8_signed_octave_region : trainopt__q8_unsigned_octave_region;
    const float *slope = is_signed ? trainopt__q8_signed_slope : trainopt__q8_unsigned_slope;
    const float *offset = is_signed ? trainopt__q8_signed_offset : trainopt__q8_unsigned_offset;
    const uint32_t *top = is_signed ? trainopt__q8_signed_top : trainopt__q8_unsigned_top;
    const int fraction = (int)trainopt__q8_fast_fraction;
    const uint32_t band = (uint32_t)trainopt__q8_fast_band;
    const trainopt__vi bits = trainopt__v_bits(v);
    const trainopt__vi mag = is_signed ? trainopt__vi_and(bits, trainopt__vi_set1(0x7fffffffu)) : bits;
    const trainopt__vi a = trainopt__vi_max(mag, trainopt__vi_set1(96u << 23)); /* octave 0: [0, 2^-30) */
    const trainopt__vi octave = trainopt__vi_shr(a, 23);                         /* the permutes read its low 5 bits */
    const trainopt__vi lower = trainopt__vi_lookup32(below, octave);
    const trainopt__vi region = trainopt__vi_select(trainopt__vi_ge(a, trainopt__vi_lookup32(bound, octave)),
                                                    trainopt__vi_add(lower, trainopt__vi_set1(1)), lower);
    const trainopt__vi q = trainopt__v_to_i(
        trainopt__v_fma(trainopt__v_from_bits(a), trainopt__v_lookup16(slope, region), trainopt__v_lookup16(offset, region)));
    /* q >> fraction <= top exactly where q <= (top << fraction | the fraction's bits); the
       table of those caps depends on nothing but the map, so a loop makes it once */
    const trainopt__vi caps = _mm512_or_si512(_mm512_slli_epi32(_mm512_loadu_si512((const void *)top), fraction),
                                              _mm512_set1_epi32((int)((1u << fraction) - 1)));
    const trainopt__vi cap = _mm512_permutexvar_epi32(region, caps);
    *unsure = trainopt__vi_none(q, trainopt__vi_set1(((1u << fraction) - 1) & ~(2 * band - 1)));
    if (checked || !is_signed) *unsure = trainopt__m_or(trainopt__vi_ge(mag, trainopt__vi_set1(0x40000000u)), *unsure);
    return trainopt__vi_min(q, cap);
}

TRAINOPT__FORCE_INLINE trainopt__vi trainopt__q8_encode_fast(int is_signed, trainopt__vf v, trainopt__vm *unsure) {
    trainopt__vi code = trainopt__vi_shr(trainopt__q8_fast_magnitude(is_signed, 1, v, unsure), (int)trainopt__q8_fast_fraction);
    if (is_signed) { /* -|v|: the mirror code, 254 - code; -1.0's is that of the decade below it */
        const trainopt__vi mirror = trainopt__vi_sub(trainopt__vi_set1(254), trainopt__vi_min(code, trainopt__vi_set1(254)));
        code = trainopt__vi_select(trainopt__vi_ge(trainopt__v_bits(v), trainopt__vi_set1(0x80000000u)), mirror, code);
    }
    return code;
}
#endif

/* The codes of one vector: the fast path where there is one, the exact encoder for a
   vector with a lane it does not decide (the same codes either way). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__q8_code(int is_signed, trainopt__vf v) {
#if defined(TRAINOPT__BACKEND_AVX512)
    trainopt__vm unsure;
    const trainopt__vi code = trainopt__q8_encode_fast(is_signed, v, &unsure);
    return trainopt__m_bits(unsure) == 0 ? code : trainopt__q8_encode(is_signed, v);
#else
    return trainopt__q8_encode(is_signed, v);
#endif
}

/* The absmax of a block, a vector at a time, and whether one of its floats is NaN.
   v_max(|x|, m) keeps m when |x| is NaN (x86 semantics, see the vector layer), so NaN is
   skipped as std::max skips it in bitsandbytes; the NaN is remembered apart. max is exact
   in any order. */
typedef struct {
    trainopt__vf m;
    uint32_t nan;
} trainopt__q8_max;

TRAINOPT__FORCE_INLINE void trainopt__q8_max_add(trainopt__q8_max *a, trainopt__vf v) {
    a->nan |= trainopt__m_bits(trainopt__v_unord(v, v));
    a->m = trainopt__v_max(trainopt__v_abs(v), a->m);
}

TRAINOPT__FORCE_INLINE float trainopt__q8_max_end(const trainopt__q8_max *a, int *has_nan) {
    float lanes[TRAINOPT_SIMD_LANES], r = 0.0f;
    int j;
    trainopt__v_store(lanes, a->m);
    for (j = 0; j < TRAINOPT_SIMD_LANES; j++) r = lanes[j] > r ? lanes[j] : r;
    *has_nan = a->nan != 0;
    return r;
}

/* Both encoders' start of a block of len floats: stores its absmax, NaN when the block
   holds a NaN (trainopt's one departure from bitsandbytes), and returns the largest |x|
   that is not NaN, whose inverse scales the codes; when that is 0 the codes are all 0,
   written here, and the encoder has nothing left to do. */
TRAINOPT__FORCE_INLINE float trainopt__q8_block_start(size_t len, const trainopt__q8_max *max, uint8_t *codes, float *absmax,
                                                      int *has_nan) {
    const float m = trainopt__q8_max_end(max, has_nan);
    *absmax = *has_nan ? NAN : m;
    if (m == 0.0f) memset(codes, 0, len);
    return m;
}

/* Encodes one block of len <= block floats whose absmax is known (bitsandbytes'
   quantize_cpu for one block): the code of x * (1 / absmax) in float. */
TRAINOPT__FORCE_INLINE void trainopt__q8_encode_block(int is_signed, size_t len, const float *x, const trainopt__q8_max *max,
                                                      uint8_t *codes, float *absmax) {
    int has_nan;
    const float m = trainopt__q8_block_start(len, max, codes, absmax, &has_nan);
    trainopt__vf inv;
    size_t i;
    if (m == 0.0f) return;
    inv = trainopt__v_set1(1.0f / m);
    for (i = 0; i < len; i += TRAINOPT_SIMD_LANES) {
        const size_t k = len - i < TRAINOPT_SIMD_LANES ? len - i : TRAINOPT_SIMD_LANES;
        trainopt__vi_store_u8(codes + i, trainopt__q8_code(is_signed, trainopt__v_mul(trainopt__v_load_n(x + i, k), inv)), k);
    }
}

/* The absmax of one block (lanes past len are +0). */
TRAINOPT__FORCE_INLINE trainopt__q8_max trainopt__q8_block_max(size_t len, const float *x) {
    trainopt__q8_max max;
    size_t i;
    max.m = trainopt__v_zero();
    max.nan = 0;
    for (i = 0; i < len; i += TRAINOPT_SIMD_LANES)
        trainopt__q8_max_add(&max, trainopt__v_load_n(x + i, len - i < TRAINOPT_SIMD_LANES ? len - i : TRAINOPT_SIMD_LANES));
    return max;
}

/* Decodes k codes: map[code] * absmax, in float (dequantizeBlockwise8bitCpu), the map read
   through the vector layer's 256-entry table (in registers on AVX-512). */
TRAINOPT__FORCE_INLINE void trainopt__q8_decode_lanes(const trainopt__vtab256 *map, const uint8_t *codes, trainopt__vf scale,
                                                      float *x, size_t k) {
    trainopt__v_store_n(x, trainopt__v_mul(trainopt__v_lookup256_u8(map, codes, k), scale), k);
}

/* Decodes one block. */
TRAINOPT__FORCE_INLINE void trainopt__q8_dequantize_block(const float *map, size_t len, const uint8_t *codes, float absmax,
                                                          float *x) {
    const trainopt__vtab256 table = trainopt__vtab256_load(map);
    const trainopt__vf scale = trainopt__v_set1(absmax);
    size_t i;
    for (i = 0; i < len; i += TRAINOPT_SIMD_LANES)
        trainopt__q8_decode_lanes(&table, codes + i, scale, x + i, len - i < TRAINOPT_SIMD_LANES ? len - i : TRAINOPT_SIMD_LANES);
}

/* The decode on AVX-512 VBMI byte permutes (AMD Zen 4, Intel Ice Lake and later): 64 codes
   per round of 8 two-register byte permutes (vpermi2b), where the vector layer's 256-entry
   lookup (trainopt__v_lookup256) spends 8 vpermi2ps and 7 blends on 16. Each map is kept as
   four byte planes (>>quant8-maps: byte j of every code's float); a vpermi2b reads plane j
   for 64 codes from the half of the plane their bit 6 and low bits name, bit 7 picks the
   half, and the four planes' bytes are interleaved back into floats (the codes permuted
   first, so that the in-lane interleave gives the elements in order). A table lookup is
   exact: the same floats, times absmax, so the same bits as the other decode.
   The avx512 backend is compiled for AVX-512F (the Makefile's -mavx512f, the dispatch
   variant's target pragma), so VBMI is one function with its own target attribute, chosen
   at run time by cpuid (a compile-time yes where -mavx512vbmi is given, e.g. -march=native),
   called once per block so the check and the call are per 256 elements, not per vector.
   gcc and clang only (the attribute and __builtin_cpu_supports); TRAINOPT_NO_VBMI leaves it
   out (the tests use it to run the other decode on a VBMI machine). */
#undef TRAINOPT__Q8_VBMI
#undef TRAINOPT__Q8_DECODE_VBMI
#undef TRAINOPT__Q8_ENCODE_VBMI
#undef TRAINOPT__Q8_BLOCKS
#if defined(TRAINOPT__BACKEND_AVX512) && (defined(__GNUC__) || defined(__clang__)) && !defined(TRAINOPT_NO_VBMI)
#define TRAINOPT__Q8_VBMI 1
#undef TRAINOPT__Q8_VBMI_TARGET
#if defined(TRAINOPT_SIMDE_AVX512) /* emulated: no AVX-512 instruction may be emitted */
#define TRAINOPT__Q8_VBMI_TARGET
#else
#define TRAINOPT__Q8_VBMI_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi,avx2,fma")))
#endif
TRAINOPT__FORCE_INLINE int trainopt__q8_has_vbmi(void) {
#if (defined(__AVX512VBMI__) && defined(__AVX512BW__)) || defined(TRAINOPT_SIMDE_AVX512)
    return 1; /* SIMDe's emulation has every instruction */
#else
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
#endif
}

/* Decodes one block of len codes (trainopt__q8_dequantize_block's floats) from the map's planes. */
TRAINOPT__DRIVER TRAINOPT__Q8_VBMI_TARGET void
trainopt__q8_dequantize_vbmi(const uint8_t *planes, size_t len, const uint8_t *codes, float absmax, float *x) {
    /* in-lane position 16 L + 4 r + i takes element 16 r + 4 L + i: the interleave below puts
       128-bit lane L of output r at elements 16 r + 4 L to 16 r + 4 L + 3 */
    static const uint8_t order_bytes[64] = {0,  1,  2,  3,  16, 17, 18, 19, 32, 33, 34, 35, 48, 49, 50, 51,
                                            4,  5,  6,  7,  20, 21, 22, 23, 36, 37, 38, 39, 52, 53, 54, 55,
                                            8,  9,  10, 11, 24, 25, 26, 27, 40, 41, 42, 43, 56, 57, 58, 59,
                                            12, 13, 14, 15, 28, 29, 30, 31, 44, 45, 46, 47, 60, 61, 62, 63};
    /* the planes' 16 vectors and every step spelled out: gcc -O2 kept arrays and 4-step loops
       of them on the stack */
#define TRAINOPT__Q8_PLANE(q) _mm512_loadu_si512((const void *)(planes + 64 * (q)))
    const __m512i t0 = TRAINOPT__Q8_PLANE(0), t1 = TRAINOPT__Q8_PLANE(1), t2 = TRAINOPT__Q8_PLANE(2), t3 = TRAINOPT__Q8_PLANE(3);
    const __m512i t4 = TRAINOPT__Q8_PLANE(4), t5 = TRAINOPT__Q8_PLANE(5), t6 = TRAINOPT__Q8_PLANE(6), t7 = TRAINOPT__Q8_PLANE(7);
    const __m512i t8 = TRAINOPT__Q8_PLANE(8), t9 = TRAINOPT__Q8_PLANE(9), t10 = TRAINOPT__Q8_PLANE(10), t11 = TRAINOPT__Q8_PLANE(11);
    const __m512i t12 = TRAINOPT__Q8_PLANE(12), t13 = TRAINOPT__Q8_PLANE(13), t14 = TRAINOPT__Q8_PLANE(14),
                  t15 = TRAINOPT__Q8_PLANE(15);
#undef TRAINOPT__Q8_PLANE
    const __m512i order = _mm512_loadu_si512((const void *)order_bytes);
    const __m512 scale = _mm512_set1_ps(absmax);
    size_t i;
    for (i = 0; i < len; i += 64) {
        const size_t k = len - i < 64 ? len - i : 64;
        const __mmask64 in = k == 64 ? ~(__mmask64)0 : ((__mmask64)1 << k) - 1; /* no byte past len is read */
        const __m512i c = _mm512_permutexvar_epi8(order, _mm512_maskz_loadu_epi8(in, codes + i));
        const __mmask64 high = _mm512_movepi8_mask(c);
        const __m512i p0 = _mm512_mask_blend_epi8(high, _mm512_permutex2var_epi8(t0, c, t1), _mm512_permutex2var_epi8(t2, c, t3));
        const __m512i p1 = _mm512_mask_blend_epi8(high, _mm512_permutex2var_epi8(t4, c, t5), _mm512_permutex2var_epi8(t6, c, t7));
        const __m512i p2 = _mm512_mask_blend_epi8(high, _mm512_permutex2var_epi8(t8, c, t9), _mm512_permutex2var_epi8(t10, c, t11));
        const __m512i p3 =
            _mm512_mask_blend_epi8(high, _mm512_permutex2var_epi8(t12, c, t13), _mm512_permutex2var_epi8(t14, c, t15));
        const __m512i lo01 = _mm512_unpacklo_epi8(p0, p1), hi01 = _mm512_unpackhi_epi8(p0, p1);
        const __m512i lo23 = _mm512_unpacklo_epi8(p2, p3), hi23 = _mm512_unpackhi_epi8(p2, p3);
        const __m512 x0 = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_unpacklo_epi16(lo01, lo23)), scale);
        const __m512 x1 = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_unpackhi_epi16(lo01, lo23)), scale);
        const __m512 x2 = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_unpacklo_epi16(hi01, hi23)), scale);
        const __m512 x3 = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_unpackhi_epi16(hi01, hi23)), scale);
        if (k == 64) {
            _mm512_storeu_ps(x + i, x0);
            _mm512_storeu_ps(x + i + 16, x1);
            _mm512_storeu_ps(x + i + 32, x2);
            _mm512_storeu_ps(x + i + 48, x3);
        } else { /* element e's lane is stored where its bit of `in` is set */
            _mm512_mask_storeu_ps(x + i, (__mmask16)(in & 0xffffu), x0);
            _mm512_mask_storeu_ps(x + i + 16, (__mmask16)(in >> 16 & 0xffffu), x1);
            _mm512_mask_storeu_ps(x + i + 32, (__mmask16)(in >> 32 & 0xffffu), x2);
            _mm512_mask_storeu_ps(x + i + 48, (__mmask16)(in >> 48 & 0xffffu), x3);
        }
    }
}

/* trainopt__q8_encode_block's codes, 64 at a time: four vectors through the fast path's
   magnitude part, one test of their four masks, the codes of |v| (byte 2 of each lane)
   packed by two byte permutes and a blend, and for the signed map the mirror code 254 - c
   of the negative lanes by one saturating byte subtraction (254 - 255 = 0: -1.0's code),
   then one 64-byte store; where the other encoder shifts, mirrors, narrows and stores each
   vector (vpmovdb). A round with a lane the fast path leaves goes the other encoder's way,
   vector by vector. In a block without NaN whose absmax is finite every
   |v| = |x| * (1 / absmax) is below 2, so the signed map leaves out the test for |v| >= 2. */
TRAINOPT__FORCE_INLINE TRAINOPT__Q8_VBMI_TARGET void
trainopt__q8_encode_vbmi_body(int is_signed, size_t len, const float *x, const trainopt__q8_max *max, uint8_t *codes,
                              float *absmax) {
    static const uint8_t byte_of_lanes[2][64] = { /* byte 0 (the other encoder's codes), byte 2 (magnitudes) */
        {  0,   4,   8,  12,  16,  20,  24,  28,  32,  36,  40,  44,  48,  52,  56,  60,
          64,  68,  72,  76,  80,  84,  88,  92,  96, 100, 104, 108, 112, 116, 120, 124,
           0,   4,   8,  12,  16,  20,  24,  28,  32,  36,  40,  44,  48,  52,  56,  60,
          64,  68,  72,  76,  80,  84,  88,  92,  96, 100, 104, 108, 112, 116, 120, 124},
        {  2,   6,  10,  14,  18,  22,  26,  30,  34,  38,  42,  46,  50,  54,  58,  62,
          66,  70,  74,  78,  82,  86,  90,  94,  98, 102, 106, 110, 114, 118, 122, 126,
           2,   6,  10,  14,  18,  22,  26,  30,  34,  38,  42,  46,  50,  54,  58,  62,
          66,  70,  74,  78,  82,  86,  90,  94,  98, 102, 106, 110, 114, 118, 122, 126}};
    int has_nan;
    const float m = trainopt__q8_block_start(len, max, codes, absmax, &has_nan);
    const __m512i low = _mm512_loadu_si512((const void *)byte_of_lanes[0]);
    const __m512i third = _mm512_loadu_si512((const void *)byte_of_lanes[1]);
    const __m512i zero = _mm512_setzero_si512(), mirror_from = _mm512_set1_epi8((char)254);
    __m512 inv;
    size_t i;
    if (m == 0.0f) return;
    inv = _mm512_set1_ps(1.0f / m);
#define TRAINOPT__Q8_PACK(a, b, c, d, which)                                                                           \
    _mm512_mask_blend_epi8(~(__mmask64)0 << 32, _mm512_permutex2var_epi8(a, which, b), _mm512_permutex2var_epi8(c, which, d))
#define TRAINOPT__Q8_ENCODE64(checked)                                                                                 \
    for (; i + 64 <= len; i += 64) {                                                                                   \
        const __m512 v0 = _mm512_mul_ps(_mm512_loadu_ps(x + i), inv), v1 = _mm512_mul_ps(_mm512_loadu_ps(x + i + 16), inv); \
        const __m512 v2 = _mm512_mul_ps(_mm512_loadu_ps(x + i + 32), inv), v3 = _mm512_mul_ps(_mm512_loadu_ps(x + i + 48), inv); \
        __mmask16 u0, u1, u2, u3;                                                                                      \
        const __m512i t0 = trainopt__q8_fast_magnitude(is_signed, checked, v0, &u0);                                   \
        const __m512i t1 = trainopt__q8_fast_magnitude(is_signed, checked, v1, &u1);                                   \
        const __m512i t2 = trainopt__q8_fast_magnitude(is_signed, checked, v2, &u2);                                   \
        const __m512i t3 = trainopt__q8_fast_magnitude(is_signed, checked, v3, &u3);                                   \
        __m512i c;                                                                                                     \
        if (_kortestz_mask16_u8(_kor_mask16(u0, u1), _kor_mask16(u2, u3))) {                                           \
            c = TRAINOPT__Q8_PACK(t0, t1, t2, t3, third);                                                              \
            if (is_signed) {                                                                                           \
                const __mmask64 negative = _mm512_kunpackd(                                                            \
                    _mm512_kunpackw(_mm512_cmplt_epi32_mask(_mm512_castps_si512(v3), zero),                            \
                                    _mm512_cmplt_epi32_mask(_mm512_castps_si512(v2), zero)),                           \
                    _mm512_kunpackw(_mm512_cmplt_epi32_mask(_mm512_castps_si512(v1), zero),                            \
                                    _mm512_cmplt_epi32_mask(_mm512_castps_si512(v0), zero)));                          \
                c = _mm512_mask_subs_epu8(c, negative, mirror_from, c);                                                \
            }                                                                                                          \
        } else {                                                                                                       \
            c = TRAINOPT__Q8_PACK(trainopt__q8_code(is_signed, v0), trainopt__q8_code(is_signed, v1),                  \
                                  trainopt__q8_code(is_signed, v2), trainopt__q8_code(is_signed, v3), low);            \
        }                                                                                                              \
        _mm512_storeu_si512((void *)(codes + i), c);                                                                   \
    }
    i = 0;
    if (is_signed && !has_nan && m < INFINITY) TRAINOPT__Q8_ENCODE64(0)
    else TRAINOPT__Q8_ENCODE64(1)
#undef TRAINOPT__Q8_ENCODE64
#undef TRAINOPT__Q8_PACK
    for (; i < len; i += TRAINOPT_SIMD_LANES) {
        const size_t k = len - i < TRAINOPT_SIMD_LANES ? len - i : TRAINOPT_SIMD_LANES;
        trainopt__vi_store_u8(codes + i, trainopt__q8_code(is_signed, _mm512_mul_ps(trainopt__v_load_n(x + i, k), inv)), k);
    }
}

/* The two maps' encoders (each map's fast path folded for it). */
TRAINOPT__DRIVER TRAINOPT__Q8_VBMI_TARGET void
trainopt__q8_encode_signed_vbmi(size_t len, const float *x, const trainopt__q8_max *max, uint8_t *codes, float *absmax) {
    trainopt__q8_encode_vbmi_body(1, len, x, max, codes, absmax);
}
TRAINOPT__DRIVER TRAINOPT__Q8_VBMI_TARGET void
trainopt__q8_encode_unsigned_vbmi(size_t len, const float *x, const trainopt__q8_max *max, uint8_t *codes, float *absmax) {
    trainopt__q8_encode_vbmi_body(0, len, x, max, codes, absmax);
}
#define TRAINOPT__Q8_DECODE_VBMI(planes, len, codes, absmax, x) trainopt__q8_dequantize_vbmi(planes, len, codes, absmax, x)
#define TRAINOPT__Q8_ENCODE_VBMI(is_signed, len, x, max, codes, absmax)                                              \
    ((is_signed) ? trainopt__q8_encode_signed_vbmi(len, x, max, codes, absmax)                                         \
                 : trainopt__q8_encode_unsigned_vbmi(len, x, max, codes, absmax))
#else
#define TRAINOPT__Q8_DECODE_VBMI(planes, len, codes, absmax, x) ((void)0)
#define TRAINOPT__Q8_ENCODE_VBMI(is_signed, len, x, max, codes, absmax) ((void)0)
#endif

TRAINOPT__FORCE_INLINE const float *trainopt__q8_map_of(trainopt_q8_map map) {
    return map == TRAINOPT_Q8_SIGNED ? trainopt__q8_signed_map : trainopt__q8_unsigned_map;
}
/* ---- validation ---- */

/* A buffer of the call: pointer, bytes, name. */
typedef struct {
    const void *ptr[8];
    size_t bytes[8];
    const char *name[8];
    int count;
} trainopt__q8_bufs;

TRAINOPT__FORCE_INLINE void trainopt__q8_add(trainopt__q8_bufs *b, const void *ptr, size_t bytes, const char *name) {
    b->ptr[b->count] = ptr;
    b->bytes[b->count] = bytes;
    b->name[b->count++] = name;
}

/* NULL, then pairwise overlap of the buffers (sizes already known not to overflow). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__q8_check_bufs(const trainopt__q8_bufs *b, const char *fn) {
    int i, j;
    for (i = 0; i < b->count; i++)
        if (b->ptr[i] == NULL) return trainopt__once_null(fn, b->name[i]);
    for (i = 0; i < b->count; i++)
        for (j = i + 1; j < b->count; j++)
            if (trainopt__overlap(b->ptr[i], b->bytes[i], b->ptr[j], b->bytes[j]))
                return trainopt__once_alias(fn, b->name[i], b->name[j]);
    return TRAINOPT_OK;
}

/* block: a power of two in [TRAINOPT_Q8_MIN_BLOCK, TRAINOPT_Q8_MAX_BLOCK]. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__q8_check_block(size_t block, const char *fn) {
    if (block < TRAINOPT_Q8_MIN_BLOCK || block > TRAINOPT_Q8_MAX_BLOCK || (block & (block - 1)) != 0)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "block = %zu: must be a power of two in [%d, %d]", block,
                                   TRAINOPT_Q8_MIN_BLOCK, TRAINOPT_Q8_MAX_BLOCK);
    return TRAINOPT_OK;
}

/* ---- quantize and dequantize any float array ---- */

TRAINOPT__FORCE_INLINE trainopt_status trainopt__q8_convert_check(trainopt_q8_map map, size_t block, size_t n,
                                                                 const void *x, const void *codes, const void *absmax,
                                                                 int to_codes, const char *fn) {
    trainopt__q8_bufs b;
    trainopt_status st;
    if (map != TRAINOPT_Q8_SIGNED && map != TRAINOPT_Q8_UNSIGNED)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "map = %d: not a trainopt_q8_map", (int)map);
    if ((st = trainopt__q8_check_block(block, fn)) != TRAINOPT_OK) return st;
    if (n == 0) return TRAINOPT_OK;
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    b.count = 0;
    trainopt__q8_add(&b, x, n * sizeof(float), to_codes ? "x" : "x (the output)");
    trainopt__q8_add(&b, codes, n, "codes");
    trainopt__q8_add(&b, absmax, TRAINOPT_Q8_BLOCKS(n, block) * sizeof(float), "absmax");
    return trainopt__q8_check_bufs(&b, fn);
}

/* x[n] -> codes[n] and absmax[ceil(n / block)]. */
TRAINOPT__KERNEL_API trainopt_status trainopt_quantize_blockwise(trainopt_q8_map map, size_t block, size_t n, const float *x,
                                                                 uint8_t *codes, float *absmax) {
    static const char fn[] = "trainopt_quantize_blockwise";
    const trainopt_status st = trainopt__q8_convert_check(map, block, n, x, codes, absmax, 1, fn);
    size_t b;
    if (st != TRAINOPT_OK || n == 0) return st;
    for (b = 0; b < n; b += block) { /* the map a constant in each call, so each encoder is folded for its map */
        const size_t len = n - b < block ? n - b : block;
        const trainopt__q8_max max = trainopt__q8_block_max(len, x + b);
#if defined(TRAINOPT__Q8_VBMI)
        if (trainopt__q8_has_vbmi()) {
            TRAINOPT__Q8_ENCODE_VBMI(map == TRAINOPT_Q8_SIGNED, len, x + b, &max, codes + b, absmax + b / block);
            continue;
        }
#endif
        if (map == TRAINOPT_Q8_SIGNED) trainopt__q8_encode_block(1, len, x + b, &max, codes + b, absmax + b / block);
        else trainopt__q8_encode_block(0, len, x + b, &max, codes + b, absmax + b / block);
    }
    return TRAINOPT_OK;
}

/* codes[n] and absmax[ceil(n / block)] -> x[n]. */
TRAINOPT__KERNEL_API trainopt_status trainopt_dequantize_blockwise(trainopt_q8_map map, size_t block, size_t n,
                                                                   const uint8_t *codes, const float *absmax, float *x) {
    static const char fn[] = "trainopt_dequantize_blockwise";
    const trainopt_status st = trainopt__q8_convert_check(map, block, n, x, codes, absmax, 0, fn);
    const float *m = trainopt__q8_map_of(map);
    size_t b;
    if (st != TRAINOPT_OK || n == 0) return st;
#if defined(TRAINOPT__Q8_VBMI)
    if (trainopt__q8_has_vbmi()) {
        const uint8_t *planes = map == TRAINOPT_Q8_SIGNED ? trainopt__q8_signed_planes : trainopt__q8_unsigned_planes;
        for (b = 0; b < n; b += block)
            trainopt__q8_dequantize_vbmi(planes, n - b < block ? n - b : block, codes + b, absmax[b / block], x + b);
        return TRAINOPT_OK;
    }
#endif
    for (b = 0; b < n; b += block)
        trainopt__q8_dequantize_block(m, n - b < block ? n - b : block, codes + b, absmax[b / block], x + b);
    return TRAINOPT_OK;
}

/* ---- the 8-bit steps ---- */

/* The checks every 8-bit step shares after its hyperparameters, in the fp32 steps'
   order: block, options (the count output against every buffer), step, then unless
   there is nothing to do (n == 0 or found_inf) the buffers: param and grad of n elements,
   each state's n codes and its absmax. size: the bytes of param's and grad's elements;
   more: NULL, or the _mp steps' other buffers (>>quant8-mp), whose descriptor check has
   already held the count output against param, grad and them. *done: the step is a no-op
   (count written). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__q8_step_common(const trainopt_step_opts *o, int64_t step, size_t block,
                                                                size_t n, const void *param, const void *grad,
                                                                const size_t *size, const trainopt__q8_bufs *more, int states,
                                                                uint8_t *const *codes, float *const *absmax,
                                                                const char *const *names, int *done, const char *fn) {
    const void *const ptrs[] = {param, grad};
    static const char *const pg[] = {"param", "grad"};
    trainopt__q8_bufs b;
    trainopt_status st;
    int s, skip;
    *done = 0;
    if ((st = trainopt__q8_check_block(block, fn)) != TRAINOPT_OK) return st;
    if ((st = trainopt__step_opts_check(o, n, ptrs, pg, more ? 0 : 2, &skip, fn)) != TRAINOPT_OK) return st;
    if (o && o->nonfinite && n <= SIZE_MAX / sizeof(float))
        for (s = 0; s < states; s++)
            if (trainopt__overlap(o->nonfinite, sizeof *o->nonfinite, codes[s], n) ||
                trainopt__overlap(o->nonfinite, sizeof *o->nonfinite, absmax[s], TRAINOPT_Q8_BLOCKS(n, block) * sizeof(float)))
                return trainopt__once_alias(fn, "o->nonfinite", names[2 * s]);
    if (step < 1) return trainopt__once_step(fn, step);
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        *done = 1;
        return TRAINOPT_OK;
    }
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    b.count = 0;
    trainopt__q8_add(&b, param, n * size[0], "param");
    trainopt__q8_add(&b, grad, n * size[1], "grad");
    for (s = 0; s < states; s++) {
        trainopt__q8_add(&b, codes[s], n, names[2 * s]);
        trainopt__q8_add(&b, absmax[s], TRAINOPT_Q8_BLOCKS(n, block) * sizeof(float), names[2 * s + 1]);
    }
    for (s = 0; more && s < more->count; s++) trainopt__q8_add(&b, more->ptr[s], more->bytes[s], more->name[s]);
    return trainopt__q8_check_bufs(&b, fn);
}

/* The states of one block, decoded: stack buffers of the largest block. */
typedef struct {
    float a[TRAINOPT_Q8_MAX_BLOCK];
    float b[TRAINOPT_Q8_MAX_BLOCK];
} trainopt__q8_work;

/* Runs BODY(off, len, a, b) on each vector of each block (elements off to off + len - 1 of
   param and grad, a and b the block's decoded states there), folding each updated vector
   into its state's absmax as it goes; then encodes the block's states. State 0 is decoded
   a block at a time before (where `decode` says so), state 1 a vector at a time inside the
   loop, so each map's table has the registers to itself (16 on AVX-512); with vbmi (a CPU
   with AVX-512 VBMI, trainopt__q8_dequantize_vbmi) both states a block at a time before.
   One pass over the block for decode, update and absmax, and one to encode, which needs the
   absmax first. Every vector's math is the fp32 loop's on the same floats: the bits of a
   whole-block call of the loop. */
#define TRAINOPT__Q8_BLOCKS_WITH(states, decode, vbmi, BODY)                                                       \
    do {                                                                                                           \
        const trainopt__vtab256 trainopt__map1 = trainopt__vtab256_load(trainopt__q8_unsigned_map);               \
        size_t trainopt__off, trainopt__i;                                                                         \
        for (trainopt__off = 0; trainopt__off < n; trainopt__off += block) {                                       \
            const size_t trainopt__len = n - trainopt__off < block ? n - trainopt__off : block;                    \
            const size_t trainopt__blk = trainopt__off / block;                                                    \
            const trainopt__vf trainopt__scale1 = trainopt__v_set1((states) > 1 && (decode) ? absmax1[trainopt__blk] : 0.0f); \
            trainopt__q8_max trainopt__max0, trainopt__max1;                                                       \
            trainopt__max0.m = trainopt__max1.m = trainopt__v_zero();                                              \
            trainopt__max0.nan = trainopt__max1.nan = 0;                                                           \
            if ((decode) && (vbmi)) {                                                                              \
                TRAINOPT__Q8_DECODE_VBMI(trainopt__q8_signed_planes, trainopt__len, codes0 + trainopt__off,        \
                                         absmax0[trainopt__blk], w.a);                                             \
                if ((states) > 1)                                                                                  \
                    TRAINOPT__Q8_DECODE_VBMI(trainopt__q8_unsigned_planes, trainopt__len, codes1 + trainopt__off,  \
                                             absmax1[trainopt__blk], w.b);                                         \
            } else if (decode)                                                                                     \
                trainopt__q8_dequantize_block(trainopt__q8_signed_map, trainopt__len, codes0 + trainopt__off,      \
                                              absmax0[trainopt__blk], w.a);                                        \
            for (trainopt__i = 0; trainopt__i < trainopt__len; trainopt__i += TRAINOPT_SIMD_LANES) {               \
                const size_t trainopt__k =                                                                         \
                    trainopt__len - trainopt__i < TRAINOPT_SIMD_LANES ? trainopt__len - trainopt__i : TRAINOPT_SIMD_LANES; \
                if ((states) > 1 && (decode) && !(vbmi))                                                           \
                    trainopt__q8_decode_lanes(&trainopt__map1, codes1 + trainopt__off + trainopt__i, trainopt__scale1, \
                                              w.b + trainopt__i, trainopt__k);                                     \
                BODY(trainopt__off + trainopt__i, trainopt__k, w.a + trainopt__i, w.b + trainopt__i)               \
                trainopt__q8_max_add(&trainopt__max0, trainopt__v_load_n(w.a + trainopt__i, trainopt__k));         \
                if ((states) > 1) trainopt__q8_max_add(&trainopt__max1, trainopt__v_load_n(w.b + trainopt__i, trainopt__k)); \
            }                                                                                                      \
            trainopt__q8_encode_block(1, trainopt__len, w.a, &trainopt__max0, codes0 + trainopt__off, absmax0 + trainopt__blk); \
            if ((states) > 1)                                                                                      \
                trainopt__q8_encode_block(0, trainopt__len, w.b, &trainopt__max1, codes1 + trainopt__off,          \
                                          absmax1 + trainopt__blk);                                                \
        }                                                                                                          \
    } while (0)
/* The block loops twice where the CPU may have VBMI, so that neither copy keeps the other's
   tables live across the decode's call. */
#if defined(TRAINOPT__Q8_VBMI)
#define TRAINOPT__Q8_BLOCKS(states, decode, BODY)                                                                  \
    do {                                                                                                           \
        if ((decode) && trainopt__q8_has_vbmi()) TRAINOPT__Q8_BLOCKS_WITH(states, decode, 1, BODY);                \
        else TRAINOPT__Q8_BLOCKS_WITH(states, decode, 0, BODY);                                                    \
    } while (0)
#else
#define TRAINOPT__Q8_BLOCKS(states, decode, BODY) TRAINOPT__Q8_BLOCKS_WITH(states, decode, 0, BODY)
#endif

/* >>sgd8bit: SGD with momentum (>>sgd), its momentum buffer in the signed map. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__sgd8bit_check(const trainopt_sgd_config *c, const char *fn) {
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    /* the fp32 step's checks, then the one thing 8 bits lack: a step without momentum has no state */
    if (!trainopt__nonneg(c->lr)) return trainopt__once_hparam(fn, "lr", c->lr, TRAINOPT__WHY_NONNEG);
    if (!trainopt__finite(c->momentum) || !(c->momentum > 0.0))
        return trainopt__once_hparam(fn, "momentum", c->momentum, "is not a finite number > 0 (an 8-bit state is the "
                                                                  "momentum buffer: use trainopt_sgd_step without momentum)");
    if (!trainopt__finite(c->dampening)) return trainopt__once_hparam(fn, "dampening", c->dampening, TRAINOPT__WHY_FINITE);
    if (!trainopt__nonneg(c->weight_decay))
        return trainopt__once_hparam(fn, "weight_decay", c->weight_decay, TRAINOPT__WHY_NONNEG);
    if (c->nesterov && c->dampening != 0.0)
        return trainopt__once_hparam(fn, "dampening", c->dampening, "with nesterov: must be 0 (PyTorch: Nesterov "
                                                                    "momentum requires a momentum and zero dampening)");
    return TRAINOPT_OK;
}

/* The step's block loops on n elements from a block boundary (the state's codes and
   absmax from there): the whole of a checked fp32 call, or one chunk of an _mp call. */
TRAINOPT__FORCE_INLINE void trainopt__sgd8bit_loops(const trainopt_sgd_config *c, const trainopt__sgd_scalars *s, int64_t step,
                                                    size_t block, size_t n, float *param, const float *grad,
                                                    uint8_t *codes0, float *absmax0, const trainopt_step_opts *o) {
    uint8_t *const codes1 = NULL;
    float *const absmax1 = NULL;
    const int has_wd = c->weight_decay != 0.0;
    trainopt__q8_work w;
    /* step 1 copies the gradient into the buffer (PyTorch): nothing to decode */
#define TRAINOPT__SGD8_BODY(scaled, bad, first, nest, off, len, a)                                                 \
    trainopt__sgd_loop(s, len, scaled, bad, has_wd, 1, first, nest, 0, param + off, grad + off, a);
#define TRAINOPT__SGD8_FIRST(off, len, a, b) TRAINOPT__SGD8_BODY(scaled_, bad_, 1, c->nesterov, off, len, a)
#define TRAINOPT__SGD8_NEST(off, len, a, b) TRAINOPT__SGD8_BODY(scaled_, bad_, 0, 1, off, len, a)
#define TRAINOPT__SGD8_PLAIN(off, len, a, b) TRAINOPT__SGD8_BODY(scaled_, bad_, 0, 0, off, len, a)
#define TRAINOPT__SGD8_LOOP(scaled, bad)                                                                           \
    {                                                                                                              \
        const int scaled_ = scaled;                                                                                \
        size_t *const bad_ = bad;                                                                                  \
        (void)scaled_, (void)bad_;                                                                                 \
        if (step == 1) TRAINOPT__Q8_BLOCKS(1, 0, TRAINOPT__SGD8_FIRST);                                           \
        else if (c->nesterov) TRAINOPT__Q8_BLOCKS(1, 1, TRAINOPT__SGD8_NEST);                                     \
        else TRAINOPT__Q8_BLOCKS(1, 1, TRAINOPT__SGD8_PLAIN);                                                     \
    }
    TRAINOPT__RUN_STEP(o, TRAINOPT__SGD8_LOOP);
#undef TRAINOPT__SGD8_LOOP
#undef TRAINOPT__SGD8_PLAIN
#undef TRAINOPT__SGD8_NEST
#undef TRAINOPT__SGD8_FIRST
#undef TRAINOPT__SGD8_BODY
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__sgd8bit_run(const trainopt_sgd_config *c, int64_t step, size_t block, size_t n,
                                                             float *param, const float *grad, uint8_t *codes0, float *absmax0,
                                                             const trainopt_step_opts *o, const char *fn) {
    static const char *const names[] = {"momentum_buf", "momentum_absmax"};
    static const size_t size[] = {sizeof(float), sizeof(float)};
    trainopt__sgd_scalars s;
    trainopt_status st;
    int done;
    if ((st = trainopt__sgd8bit_check(c, fn)) != TRAINOPT_OK) return st;
    if ((st = trainopt__q8_step_common(o, step, block, n, param, grad, size, NULL, 1, &codes0, &absmax0, names, &done, fn)) !=
            TRAINOPT_OK || done)
        return st;
    s = trainopt__sgd_scalars_make(c, o);
    trainopt__sgd8bit_loops(c, &s, step, block, n, param, grad, codes0, absmax0, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_sgd8bit_step(const trainopt_sgd_config *c, int64_t step, size_t block, size_t n,
                                                           float *param, const float *grad, uint8_t *momentum_buf,
                                                           float *momentum_absmax) {
    return trainopt__sgd8bit_run(c, step, block, n, param, grad, momentum_buf, momentum_absmax, NULL, "trainopt_sgd8bit_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_sgd8bit_step_ex(const trainopt_sgd_config *c, int64_t step, size_t block,
                                                              size_t n, float *param, const float *grad,
                                                              uint8_t *momentum_buf, float *momentum_absmax,
                                                              const trainopt_step_opts *o) {
    return trainopt__sgd8bit_run(c, step, block, n, param, grad, momentum_buf, momentum_absmax, o,
                                 "trainopt_sgd8bit_step_ex");
}

/* >>adam8bit: Adam and AdamW (>>adam), exp_avg in the signed map, exp_avg_sq in the unsigned. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__adam8bit_check(const trainopt_adam_config *c, const char *fn) {
    trainopt_status st;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if ((st = trainopt__adamlike_check(c->lr, c->beta1, c->beta2, c->eps, c->weight_decay, fn)) != TRAINOPT_OK) return st;
    if (c->amsgrad)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "amsgrad has no 8-bit form (bitsandbytes has none): "
                                                            "use the fp32 step");
    return TRAINOPT_OK;
}

/* The block loops, as trainopt__sgd8bit_loops'. */
TRAINOPT__FORCE_INLINE void trainopt__adam8bit_loops(const trainopt_adam_config *c, int decoupled, const trainopt__adam_scalars *s,
                                                     size_t block, size_t n, float *param, const float *grad,
                                                     uint8_t *codes0, float *absmax0, uint8_t *codes1, float *absmax1,
                                                     const trainopt_step_opts *o) {
    const int l2 = !decoupled && c->weight_decay != 0.0, decay = decoupled && c->weight_decay != 0.0;
    trainopt__q8_work w;
#define TRAINOPT__ADAM8_BODY(l2_, decay_, off, len, a, b)                                                           \
    trainopt__adam_loop(s, len, scaled_, bad_, l2_, decay_, 0, param + off, grad + off, a, b, NULL);
#define TRAINOPT__ADAM8_L2(off, len, a, b) TRAINOPT__ADAM8_BODY(1, 0, off, len, a, b)
#define TRAINOPT__ADAM8_DECAY(off, len, a, b) TRAINOPT__ADAM8_BODY(0, 1, off, len, a, b)
#define TRAINOPT__ADAM8_NONE(off, len, a, b) TRAINOPT__ADAM8_BODY(0, 0, off, len, a, b)
#define TRAINOPT__ADAM8_LOOP(scaled, bad)                                                                           \
    {                                                                                                               \
        const int scaled_ = scaled;                                                                                 \
        size_t *const bad_ = bad;                                                                                   \
        (void)scaled_, (void)bad_;                                                                                  \
        if (l2) TRAINOPT__Q8_BLOCKS(2, 1, TRAINOPT__ADAM8_L2);                                                     \
        else if (decay) TRAINOPT__Q8_BLOCKS(2, 1, TRAINOPT__ADAM8_DECAY);                                          \
        else TRAINOPT__Q8_BLOCKS(2, 1, TRAINOPT__ADAM8_NONE);                                                      \
    }
    TRAINOPT__RUN_STEP(o, TRAINOPT__ADAM8_LOOP);
#undef TRAINOPT__ADAM8_LOOP
#undef TRAINOPT__ADAM8_NONE
#undef TRAINOPT__ADAM8_DECAY
#undef TRAINOPT__ADAM8_L2
#undef TRAINOPT__ADAM8_BODY
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__adam8bit_run(const trainopt_adam_config *c, int decoupled, int64_t step,
                                                              size_t block, size_t n, float *param, const float *grad,
                                                              uint8_t *codes0, float *absmax0, uint8_t *codes1,
                                                              float *absmax1, const trainopt_step_opts *o, const char *fn) {
    static const char *const names[] = {"exp_avg", "exp_avg_absmax", "exp_avg_sq", "exp_avg_sq_absmax"};
    static const size_t size[] = {sizeof(float), sizeof(float)};
    uint8_t *const codes[] = {codes0, codes1};
    float *const absmax[] = {absmax0, absmax1};
    trainopt__adam_scalars s;
    trainopt_status st;
    int done;
    if ((st = trainopt__adam8bit_check(c, fn)) != TRAINOPT_OK) return st;
    if ((st = trainopt__q8_step_common(o, step, block, n, param, grad, size, NULL, 2, codes, absmax, names, &done, fn)) !=
            TRAINOPT_OK || done)
        return st;
    s = trainopt__adam_scalars_make(c, step, o);
    trainopt__adam8bit_loops(c, decoupled, &s, block, n, param, grad, codes0, absmax0, codes1, absmax1, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adam8bit_step(const trainopt_adam_config *c, int64_t step, size_t block, size_t n,
                                                            float *param, const float *grad, uint8_t *exp_avg,
                                                            float *exp_avg_absmax, uint8_t *exp_avg_sq,
                                                            float *exp_avg_sq_absmax) {
    return trainopt__adam8bit_run(c, 0, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax,
                                  NULL, "trainopt_adam8bit_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adam8bit_step_ex(const trainopt_adam_config *c, int64_t step, size_t block,
                                                               size_t n, float *param, const float *grad, uint8_t *exp_avg,
                                                               float *exp_avg_absmax, uint8_t *exp_avg_sq,
                                                               float *exp_avg_sq_absmax, const trainopt_step_opts *o) {
    return trainopt__adam8bit_run(c, 0, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax,
                                  o, "trainopt_adam8bit_step_ex");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adamw8bit_step(const trainopt_adam_config *c, int64_t step, size_t block,
                                                             size_t n, float *param, const float *grad, uint8_t *exp_avg,
                                                             float *exp_avg_absmax, uint8_t *exp_avg_sq,
                                                             float *exp_avg_sq_absmax) {
    return trainopt__adam8bit_run(c, 1, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax,
                                  NULL, "trainopt_adamw8bit_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adamw8bit_step_ex(const trainopt_adam_config *c, int64_t step, size_t block,
                                                                size_t n, float *param, const float *grad, uint8_t *exp_avg,
                                                                float *exp_avg_absmax, uint8_t *exp_avg_sq,
                                                                float *exp_avg_sq_absmax, const trainopt_step_opts *o) {
    return trainopt__adam8bit_run(c, 1, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax,
                                  o, "trainopt_adamw8bit_step_ex");
}

/* >>lion8bit: Lion (>>lion), exp_avg in the signed map. The block loops, as trainopt__sgd8bit_loops'. */
TRAINOPT__FORCE_INLINE void trainopt__lion8bit_loops(const trainopt_lion_config *c, const trainopt__lion_scalars *s, size_t block,
                                                     size_t n, float *param, const float *grad, uint8_t *codes0,
                                                     float *absmax0, const trainopt_step_opts *o) {
    uint8_t *const codes1 = NULL;
    float *const absmax1 = NULL;
    trainopt__q8_work w;
#define TRAINOPT__LION8_WD(off, len, a, b) trainopt__lion_loop(s, len, scaled_, bad_, 1, param + off, grad + off, a);
#define TRAINOPT__LION8_NONE(off, len, a, b) trainopt__lion_loop(s, len, scaled_, bad_, 0, param + off, grad + off, a);
#define TRAINOPT__LION8_LOOP(scaled, bad)                                                                           \
    {                                                                                                               \
        const int scaled_ = scaled;                                                                                 \
        size_t *const bad_ = bad;                                                                                   \
        (void)scaled_, (void)bad_;                                                                                  \
        if (c->weight_decay != 0.0) TRAINOPT__Q8_BLOCKS(1, 1, TRAINOPT__LION8_WD);                                 \
        else TRAINOPT__Q8_BLOCKS(1, 1, TRAINOPT__LION8_NONE);                                                      \
    }
    TRAINOPT__RUN_STEP(o, TRAINOPT__LION8_LOOP);
#undef TRAINOPT__LION8_LOOP
#undef TRAINOPT__LION8_NONE
#undef TRAINOPT__LION8_WD
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__lion8bit_run(const trainopt_lion_config *c, int64_t step, size_t block,
                                                              size_t n, float *param, const float *grad, uint8_t *codes0,
                                                              float *absmax0, const trainopt_step_opts *o, const char *fn) {
    static const char *const names[] = {"exp_avg", "exp_avg_absmax"};
    static const size_t size[] = {sizeof(float), sizeof(float)};
    trainopt__lion_scalars s;
    trainopt_status st;
    int done;
    if ((st = trainopt__lion_check(c, fn)) != TRAINOPT_OK) return st;
    if ((st = trainopt__q8_step_common(o, step, block, n, param, grad, size, NULL, 1, &codes0, &absmax0, names, &done, fn)) !=
            TRAINOPT_OK || done)
        return st;
    s = trainopt__lion_scalars_make(c, o);
    trainopt__lion8bit_loops(c, &s, block, n, param, grad, codes0, absmax0, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_lion8bit_step(const trainopt_lion_config *c, int64_t step, size_t block, size_t n,
                                                            float *param, const float *grad, uint8_t *exp_avg,
                                                            float *exp_avg_absmax) {
    return trainopt__lion8bit_run(c, step, block, n, param, grad, exp_avg, exp_avg_absmax, NULL, "trainopt_lion8bit_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_lion8bit_step_ex(const trainopt_lion_config *c, int64_t step, size_t block,
                                                               size_t n, float *param, const float *grad, uint8_t *exp_avg,
                                                               float *exp_avg_absmax, const trainopt_step_opts *o) {
    return trainopt__lion8bit_run(c, step, block, n, param, grad, exp_avg, exp_avg_absmax, o, "trainopt_lion8bit_step_ex");
}
