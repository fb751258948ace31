/* trainopt_simd.h - the vector layer of trainopt (see trainopt.h for the manual).
   MIT license, as trainopt.h (see LICENSE).

   One compile-time ladder picks a backend; every backend defines the same
   small op set, in the same order, as static inline functions:

     backend  chosen when                               lanes
     avx512   __AVX512F__ (and not TRAINOPT_NO_AVX512)   16
     avx2     __AVX2__ and __FMA__                        8
     neon     __aarch64__ and __ARM_NEON (or TRAINOPT_SIMDE_NEON, see below)  4
     sse2     __SSE2__ (baseline x86-64; not TRAINOPT_NO_SSE2)  4
     scalar   otherwise, or TRAINOPT_NO_SIMD              1

   Every op is exact IEEE binary32 arithmetic or a bit operation, so the same
   sequence of ops gives the same bits on every backend. The rules kernels
   follow to keep that promise:
     - a product that feeds a sum is written as trainopt__v_fma, never as
       v_mul followed by v_add (a compiler may contract the latter into an
       FMA on one backend and not on another); v_mul's own result is kept
       rounded even where constants turn a later fma into an add (see
       TRAINOPT__ROUNDED);
     - v_min/v_max have x86 semantics on every backend: min(a, b) is
       (a < b ? a : b), so a NaN in either operand yields b;
     - tails run the same kernel body on a partial vector: v_load_n/v_store_n
       touch exactly k elements, never memory past them;
     - reductions go through trainopt__acc16: element i of a range always lands
       in partial sum i % 16, and the 16 partial sums are combined by one fixed
       tree, whatever the vector width.

   TRAINOPT_SIMDE_NEON (testing only): build the neon backend on any machine
   through SIMDe's portable NEON (Debian libsimde-dev). Compile with -mfma on
   x86, or SIMDe emulates vfmaq_f32 as a multiply and an add.

   TRAINOPT_SIMDE_AVX512 (testing only): the avx512 backend on a CPU without AVX-512,
   through SIMDe's portable AVX-512; defined by tests/simde_avx512.h, which the tests
   force-include with the intrinsics SIMDe lacks (the simde-avx512 leg).

   TRAINOPT_DISPATCH (see trainopt.h): trainopt.h includes this file once per
   variant, each time under a target pragma with TRAINOPT__VARIANT_<NAME> naming
   the backend, after undefining the include guard and the macros below that
   differ per backend. Op names are then renamed per variant by trainopt.h. */
#ifndef TRAINOPT_SIMD_H
#define TRAINOPT_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

#if defined(__GNUC__) || defined(__clang__)
#define TRAINOPT__FORCE_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define TRAINOPT__FORCE_INLINE static __forceinline
#else
#define TRAINOPT__FORCE_INLINE static inline
#endif
/* Force inlining is for the per-vector bodies. A driver (a loop over blocks, groups,
   tiles or rows) is an ordinary function: forced inline into every caller with
   literal flags, it made each public function one huge body that took seconds to
   compile. Where a flag selects a hot loop, the driver calls a forced-inline loop
   body once per flag value. unused: a TRAINOPT_STATIC unit may call none of them. */
#if defined(__GNUC__) || defined(__clang__)
#define TRAINOPT__DRIVER static __attribute__((unused))
#else
#define TRAINOPT__DRIVER static
#endif

/* A hint to load the cache line at p into every level (no fault, no effect on results). */
#if defined(__GNUC__) || defined(__clang__)
#define TRAINOPT__PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define TRAINOPT__PREFETCH(p) ((void)(p))
#endif

/* A product that the kernel rounds on its own must stay rounded. Once inlining
   turns an fma's multiplier into the constant 1 (SGD with dampening 0 gives
   fma(1, g, momentum * buf)), compilers fold the fma to an add and, under
   -ffp-contract=fast, fuse the product into it: one rounding instead of two.
   v_mul passes its result through an empty asm that claims to change it in
   place, which no rewrite can see through; it emits no instruction. Where no
   register constraint fits, a volatile round trip does the same, slower. */
#if defined(__GNUC__) || defined(__clang__)
#define TRAINOPT__ROUNDED(v, reg) __asm__("" : "+" reg(v))
#define TRAINOPT__HAVE_ROUNDED 1
#else
#define TRAINOPT__ROUNDED(v, reg) ((void)0) /* other compilers: no barrier for vectors (not tested here) */
#endif

#if defined(__FAST_MATH__) && !defined(TRAINOPT_ALLOW_FAST_MATH) && !defined(TRAINOPT__FAST_MATH_WARNED)
#define TRAINOPT__FAST_MATH_WARNED 1 /* once, though dispatch includes this file once per variant */
#warning "trainopt: -ffast-math voids the bit-identity and NaN guarantees (define TRAINOPT_ALLOW_FAST_MATH to silence)"
#endif

/* >>ladder */
#if defined(TRAINOPT__VARIANT_AVX512) /* a dispatch variant: chosen by trainopt.h, not by -m flags */
#define TRAINOPT__BACKEND_AVX512 1
#elif defined(TRAINOPT__VARIANT_AVX2)
#define TRAINOPT__BACKEND_AVX2 1
#elif defined(TRAINOPT__VARIANT_SCALAR) || defined(TRAINOPT_NO_SIMD)
#define TRAINOPT__BACKEND_SCALAR 1
#elif defined(TRAINOPT_SIMDE_NEON)
#define TRAINOPT__BACKEND_NEON 1
#elif defined(TRAINOPT_SIMDE_AVX512) /* the tests' emulated AVX-512 (tests/simde_avx512.h) */
#define TRAINOPT__BACKEND_AVX512 1
#elif defined(__AVX512F__) && !defined(TRAINOPT_NO_AVX512)
#define TRAINOPT__BACKEND_AVX512 1
#elif defined(__AVX2__) && defined(__FMA__)
#define TRAINOPT__BACKEND_AVX2 1
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define TRAINOPT__BACKEND_NEON 1
/* Under TRAINOPT_DISPATCH the baseline variant is scalar, so code outside the variants
   (a caller's own vectors, the tests' white-box views) must see scalar too. */
#elif defined(__SSE2__) && !defined(TRAINOPT_NO_SSE2) && !defined(TRAINOPT_DISPATCH) /* baseline x86-64 */
#define TRAINOPT__BACKEND_SSE2 1
#else
#define TRAINOPT__BACKEND_SCALAR 1
#endif

/* >>avx512 */
#if defined(TRAINOPT__BACKEND_AVX512)
#if defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
/* g++ 12 warns on its own AVX-512 headers (GCC bug 105593, _mm512_undefined_ps). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#define TRAINOPT_SIMD_NAME "avx512"
#define TRAINOPT_SIMD_LANES 16
typedef __m512 trainopt__vf;    /* float lanes */
typedef __m512i trainopt__vi;   /* 32-bit integer lanes */
typedef __mmask16 trainopt__vm; /* one flag per lane */

TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_first(size_t k) { return (__mmask16)((1u << k) - 1u); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load(const float *p) { return _mm512_loadu_ps(p); }
TRAINOPT__FORCE_INLINE void trainopt__v_store(float *p, trainopt__vf v) { _mm512_storeu_ps(p, v); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load_n(const float *p, size_t k) {
    return k == 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(trainopt__m_first(k), p);
}
TRAINOPT__FORCE_INLINE void trainopt__v_store_n(float *p, trainopt__vf v, size_t k) {
    if (k == 16) _mm512_storeu_ps(p, v);
    else _mm512_mask_storeu_ps(p, trainopt__m_first(k), v);
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_set1(float x) { return _mm512_set1_ps(x); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_zero(void) { return _mm512_setzero_ps(); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_add(trainopt__vf a, trainopt__vf b) { return _mm512_add_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sub(trainopt__vf a, trainopt__vf b) { return _mm512_sub_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_mul(trainopt__vf a, trainopt__vf b) {
    trainopt__vf p = _mm512_mul_ps(a, b);
#if defined(TRAINOPT_SIMDE_AVX512)
    TRAINOPT__ROUNDED(p, "m"); /* SIMDe's 64-byte vector fits no register of AVX2 */
#else
    TRAINOPT__ROUNDED(p, "v");
#endif
    return p;
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_div(trainopt__vf a, trainopt__vf b) { return _mm512_div_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_fma(trainopt__vf a, trainopt__vf b, trainopt__vf c) { return _mm512_fmadd_ps(a, b, c); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_fnma(trainopt__vf a, trainopt__vf b, trainopt__vf c) { return _mm512_fnmadd_ps(a, b, c); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sqrt(trainopt__vf a) { return _mm512_sqrt_ps(a); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_min(trainopt__vf a, trainopt__vf b) { return _mm512_min_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_max(trainopt__vf a, trainopt__vf b) { return _mm512_max_ps(a, b); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push /* gcc's -O0 macro form of roundscale trips -Wsign-conversion */
#pragma GCC diagnostic ignored "-Wsign-conversion"
#endif
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_round(trainopt__vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_lt(trainopt__vf a, trainopt__vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_le(trainopt__vf a, trainopt__vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_eq(trainopt__vf a, trainopt__vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_unord(trainopt__vf a, trainopt__vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_select(trainopt__vm m, trainopt__vf a, trainopt__vf b) { return _mm512_mask_blend_ps(m, b, a); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_and(trainopt__vm a, trainopt__vm b) { return (__mmask16)(a & b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_or(trainopt__vm a, trainopt__vm b) { return (__mmask16)(a | b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_not(trainopt__vm a) { return (__mmask16)~a; }
TRAINOPT__FORCE_INLINE uint32_t trainopt__m_bits(trainopt__vm a) { return (uint32_t)a; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_set1(uint32_t x) { return _mm512_set1_epi32((int)x); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_iota(void) { return _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_add(trainopt__vi a, trainopt__vi b) { return _mm512_add_epi32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_sub(trainopt__vi a, trainopt__vi b) { return _mm512_sub_epi32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_and(trainopt__vi a, trainopt__vi b) { return _mm512_and_si512(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_or(trainopt__vi a, trainopt__vi b) { return _mm512_or_si512(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_xor(trainopt__vi a, trainopt__vi b) { return _mm512_xor_si512(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_andnot(trainopt__vi a, trainopt__vi b) { return _mm512_andnot_si512(a, b); }
TRAINOPT__FORCE_INLINE int trainopt__vi_any(trainopt__vi a) { return _mm512_test_epi32_mask(a, a) != 0; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_shl(trainopt__vi a, int n) { return _mm512_sll_epi32(a, _mm_cvtsi32_si128(n)); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_shr(trainopt__vi a, int n) { return _mm512_srl_epi32(a, _mm_cvtsi32_si128(n)); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_mullo(trainopt__vi a, trainopt__vi b) { return _mm512_mullo_epi32(a, b); }
/* The unsigned 64-bit product a * b, lane by lane, as its high and low 32 bits
   (Philox). Two widening multiplies give every product; one masked in-lane swap
   each puts the halves in place (cheaper than vpmulld for the low half). */
TRAINOPT__FORCE_INLINE void trainopt__vi_mul_wide(trainopt__vi a, trainopt__vi b, trainopt__vi *hi, trainopt__vi *lo) {
    __m512i even = _mm512_mul_epu32(a, b);
    __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(b, 32));
    *hi = _mm512_mask_shuffle_epi32(odd, (__mmask16)0x5555, even, _MM_PERM_CDAB);
    *lo = _mm512_mask_shuffle_epi32(even, (__mmask16)0xAAAA, odd, _MM_PERM_CDAB);
}
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__vi_lt(trainopt__vi a, trainopt__vi b) { return _mm512_cmplt_epu32_mask(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__vi_ge(trainopt__vi a, trainopt__vi b) { return _mm512_cmpge_epu32_mask(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_select(trainopt__vm m, trainopt__vi a, trainopt__vi b) { return _mm512_mask_blend_epi32(m, b, a); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__vi_to_f(trainopt__vi a) { return _mm512_cvtepi32_ps(a); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_to_i(trainopt__vf a) { return _mm512_cvttps_epi32(a); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_bits(trainopt__vf a) { return _mm512_castps_si512(a); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_from_bits(trainopt__vi a) { return _mm512_castsi512_ps(a); }
TRAINOPT__FORCE_INLINE void trainopt__vi_store(uint32_t *p, trainopt__vi a) { _mm512_storeu_si512((void *)p, a); }
/* 16-bit patterns (bf16, fp16) widened to, or narrowed from, the low half of 32-bit
   lanes; _n forms touch exactly k elements. Narrowing keeps each lane's low 16 bits. */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_load16_n(const uint16_t *p, size_t k) {
    uint16_t tmp[16] = {0};
    if (k == 16) return _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)p));
    memcpy(tmp, p, k * sizeof(uint16_t));
    return _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)tmp));
}
TRAINOPT__FORCE_INLINE void trainopt__vi_store16_n(uint16_t *p, trainopt__vi a, size_t k) {
    if (k == 16) _mm256_storeu_si256((__m256i *)(void *)p, _mm512_cvtepi32_epi16(a));
    else _mm512_mask_cvtepi32_storeu_epi16(p, trainopt__m_first(k), a);
}
/* 8-bit codes (src/quant8.h): table[idx] per lane, and k bytes to or from the low
   byte of each lane (partial vectors through a stack copy: no byte past k is touched). */
/* Two AVX2 gathers: gcc's unoptimized _mm512_i32gather_ps converts its all-ones mask to a
   signed short, which -Wsign-conversion rejects in a user's -O0 build (tests/hygiene.sh). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_gather(const float *table, trainopt__vi idx) {
    const __m256 lo = _mm256_i32gather_ps(table, _mm512_castsi512_si256(idx), 4);
    const __m256 hi = _mm256_i32gather_ps(table, _mm512_extracti64x4_epi64(idx, 1), 4);
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
}
/* table[idx] for a 16-entry table and idx < 16: in registers, no gather. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_lookup16(const float *table, trainopt__vi idx) { return _mm512_permutexvar_ps(idx, _mm512_loadu_ps(table)); }
/* A 256-entry table held for many lookups (the 8-bit decode, src/quant8.h), idx < 256:
   here in 16 registers, read by 8 two-register permutes (vpermi2ps, idx's low 5 bits)
   and blends on bits 5, 6 and 7: about twice as fast as the two gathers (bench/RESULTS.md). */
typedef struct {
    __m512 t[16];
} trainopt__vtab256;
TRAINOPT__FORCE_INLINE trainopt__vtab256 trainopt__vtab256_load(const float *table) {
    trainopt__vtab256 t;
    int j;
    for (j = 0; j < 16; j++) t.t[j] = _mm512_loadu_ps(table + 16 * j);
    return t;
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_lookup256(const trainopt__vtab256 *t, trainopt__vi idx) {
    const __mmask16 b5 = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(32));
    const __mmask16 b6 = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(64));
    const __mmask16 b7 = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(128));
    const __m512 r0 = _mm512_mask_blend_ps(b5, _mm512_permutex2var_ps(t->t[0], idx, t->t[1]), _mm512_permutex2var_ps(t->t[2], idx, t->t[3]));
    const __m512 r1 = _mm512_mask_blend_ps(b5, _mm512_permutex2var_ps(t->t[4], idx, t->t[5]), _mm512_permutex2var_ps(t->t[6], idx, t->t[7]));
    const __m512 r2 = _mm512_mask_blend_ps(b5, _mm512_permutex2var_ps(t->t[8], idx, t->t[9]), _mm512_permutex2var_ps(t->t[10], idx, t->t[11]));
    const __m512 r3 = _mm512_mask_blend_ps(b5, _mm512_permutex2var_ps(t->t[12], idx, t->t[13]), _mm512_permutex2var_ps(t->t[14], idx, t->t[15]));
    return _mm512_mask_blend_ps(b7, _mm512_mask_blend_ps(b6, r0, r1), _mm512_mask_blend_ps(b6, r2, r3));
}
/* The 8-bit encoder's fast path (src/quant8.h, AVX-512 only): table[idx % 32] of a 32-entry
   table (one two-register permute), table[idx] of a 16-entry one (idx < 16), unsigned min
   and max, and the lanes where a & b is zero. */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_lookup32(const uint32_t *table, trainopt__vi idx) {
    return _mm512_permutex2var_epi32(_mm512_loadu_si512((const void *)table), idx, _mm512_loadu_si512((const void *)(table + 16)));
}
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_lookup16(const uint32_t *table, trainopt__vi idx) {
    return _mm512_permutexvar_epi32(idx, _mm512_loadu_si512((const void *)table));
}
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_min(trainopt__vi a, trainopt__vi b) { return _mm512_min_epu32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_max(trainopt__vi a, trainopt__vi b) { return _mm512_max_epu32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__vi_none(trainopt__vi a, trainopt__vi b) { return _mm512_testn_epi32_mask(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_load_u8(const uint8_t *p, size_t k) {
    uint8_t tmp[16] = {0};
    if (k == 16) return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
    memcpy(tmp, p, k);
    return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)tmp));
}
TRAINOPT__FORCE_INLINE void trainopt__vi_store_u8(uint8_t *p, trainopt__vi a, size_t k) {
    uint8_t tmp[16];
    if (k == 16) {
        _mm_storeu_si128((__m128i *)(void *)p, _mm512_cvtepi32_epi8(a));
        return;
    }
    _mm_storeu_si128((__m128i *)(void *)tmp, _mm512_cvtepi32_epi8(a));
    memcpy(p, tmp, k);
}
/* t's entries for k byte codes at p (lanes past k: entry 0): the table is in registers. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_lookup256_u8(const trainopt__vtab256 *t, const uint8_t *p, size_t k) {
    return trainopt__v_lookup256(t, trainopt__vi_load_u8(p, k));
}
/* A whole vector to a 64-byte-aligned p, bypassing the cache (see >>derived). */
TRAINOPT__FORCE_INLINE void trainopt__v_stream(float *p, trainopt__vf v) { _mm512_stream_ps(p, v); }
TRAINOPT__FORCE_INLINE void trainopt__stream_fence(void) { _mm_sfence(); }

/* >>avx2 */
#elif defined(TRAINOPT__BACKEND_AVX2)
#include <immintrin.h>
#define TRAINOPT_SIMD_NAME "avx2"
#define TRAINOPT_SIMD_LANES 8
typedef __m256 trainopt__vf;
typedef __m256i trainopt__vi;
typedef __m256 trainopt__vm; /* all-ones or all-zeros lanes */

TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_first(size_t k) {
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0)));
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load(const float *p) { return _mm256_loadu_ps(p); }
TRAINOPT__FORCE_INLINE void trainopt__v_store(float *p, trainopt__vf v) { _mm256_storeu_ps(p, v); }
/* vmaskmov never faults on, nor reads, the lanes its mask leaves out. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load_n(const float *p, size_t k) {
    return k == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, _mm256_castps_si256(trainopt__m_first(k)));
}
TRAINOPT__FORCE_INLINE void trainopt__v_store_n(float *p, trainopt__vf v, size_t k) {
    if (k == 8) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, _mm256_castps_si256(trainopt__m_first(k)), v);
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_set1(float x) { return _mm256_set1_ps(x); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_zero(void) { return _mm256_setzero_ps(); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_add(trainopt__vf a, trainopt__vf b) { return _mm256_add_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sub(trainopt__vf a, trainopt__vf b) { return _mm256_sub_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_mul(trainopt__vf a, trainopt__vf b) {
    trainopt__vf p = _mm256_mul_ps(a, b);
    TRAINOPT__ROUNDED(p, "x");
    return p;
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_div(trainopt__vf a, trainopt__vf b) { return _mm256_div_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_fma(trainopt__vf a, trainopt__vf b, trainopt__vf c) { return _mm256_fmadd_ps(a, b, c); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_fnma(trainopt__vf a, trainopt__vf b, trainopt__vf c) { return _mm256_fnmadd_ps(a, b, c); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sqrt(trainopt__vf a) { return _mm256_sqrt_ps(a); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_min(trainopt__vf a, trainopt__vf b) { return _mm256_min_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_max(trainopt__vf a, trainopt__vf b) { return _mm256_max_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_round(trainopt__vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_lt(trainopt__vf a, trainopt__vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_le(trainopt__vf a, trainopt__vf b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_eq(trainopt__vf a, trainopt__vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_unord(trainopt__vf a, trainopt__vf b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_select(trainopt__vm m, trainopt__vf a, trainopt__vf b) { return _mm256_blendv_ps(b, a, m); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_and(trainopt__vm a, trainopt__vm b) { return _mm256_and_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_or(trainopt__vm a, trainopt__vm b) { return _mm256_or_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_not(trainopt__vm a) { return _mm256_xor_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(-1))); }
TRAINOPT__FORCE_INLINE uint32_t trainopt__m_bits(trainopt__vm a) { return (uint32_t)_mm256_movemask_ps(a); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_set1(uint32_t x) { return _mm256_set1_epi32((int)x); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_iota(void) { return _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_add(trainopt__vi a, trainopt__vi b) { return _mm256_add_epi32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_sub(trainopt__vi a, trainopt__vi b) { return _mm256_sub_epi32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_and(trainopt__vi a, trainopt__vi b) { return _mm256_and_si256(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_or(trainopt__vi a, trainopt__vi b) { return _mm256_or_si256(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_xor(trainopt__vi a, trainopt__vi b) { return _mm256_xor_si256(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_andnot(trainopt__vi a, trainopt__vi b) { return _mm256_andnot_si256(a, b); }
TRAINOPT__FORCE_INLINE int trainopt__vi_any(trainopt__vi a) { return !_mm256_testz_si256(a, a); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_shl(trainopt__vi a, int n) { return _mm256_sll_epi32(a, _mm_cvtsi32_si128(n)); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_shr(trainopt__vi a, int n) { return _mm256_srl_epi32(a, _mm_cvtsi32_si128(n)); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_mullo(trainopt__vi a, trainopt__vi b) { return _mm256_mullo_epi32(a, b); }
TRAINOPT__FORCE_INLINE void trainopt__vi_mul_wide(trainopt__vi a, trainopt__vi b, trainopt__vi *hi, trainopt__vi *lo) {
    __m256i even = _mm256_srli_epi64(_mm256_mul_epu32(a, b), 32);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(b, 32));
    *hi = _mm256_blend_epi32(even, odd, 0xAA);
    *lo = _mm256_mullo_epi32(a, b);
}
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__vi_lt(trainopt__vi a, trainopt__vi b) {
    const __m256i bias = _mm256_set1_epi32(INT32_MIN); /* unsigned order via signed compare */
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_xor_si256(b, bias), _mm256_xor_si256(a, bias)));
}
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__vi_ge(trainopt__vi a, trainopt__vi b) {
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_max_epu32(a, b), a));
}
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_select(trainopt__vm m, trainopt__vi a, trainopt__vi b) {
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(b), _mm256_castsi256_ps(a), m));
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__vi_to_f(trainopt__vi a) { return _mm256_cvtepi32_ps(a); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_to_i(trainopt__vf a) { return _mm256_cvttps_epi32(a); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_bits(trainopt__vf a) { return _mm256_castps_si256(a); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_from_bits(trainopt__vi a) { return _mm256_castsi256_ps(a); }
TRAINOPT__FORCE_INLINE void trainopt__vi_store(uint32_t *p, trainopt__vi a) { _mm256_storeu_si256((__m256i *)(void *)p, a); }
/* 16-bit patterns (see >>avx512). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_load16_n(const uint16_t *p, size_t k) {
    uint16_t tmp[8] = {0};
    if (k == 8) return _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
    memcpy(tmp, p, k * sizeof(uint16_t));
    return _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)tmp));
}
TRAINOPT__FORCE_INLINE void trainopt__vi_store16_n(uint16_t *p, trainopt__vi a, size_t k) {
    /* the lanes' high halves are cleared first, so the saturating pack keeps every low half */
    const __m256i low = _mm256_and_si256(a, _mm256_set1_epi32(0xffff));
    const __m128i h = _mm_packus_epi32(_mm256_castsi256_si128(low), _mm256_extracti128_si256(low, 1));
    uint16_t tmp[8];
    if (k == 8) { _mm_storeu_si128((__m128i *)(void *)p, h); return; }
    _mm_storeu_si128((__m128i *)(void *)tmp, h);
    memcpy(p, tmp, k * sizeof(uint16_t));
}
/* table[idx] by eight scalar loads, not vgatherdps: AMD's Zen 2 and 3 run the gather as
   microcode (3.7 ns a gather measured on Zen 3, 3.0 for these eight loads), and
   Intel's microcode against Gather Data Sampling (2023) slowed it on Skylake to Ice Lake
   (bench/FINDINGS.md, "8-bit states on AVX2: the gathers"). The indices leave the vector
   64 bits at a time (x86-64), or through memory on 32-bit x86. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_gather(const float *table, trainopt__vi idx) {
#if defined(__x86_64__) || defined(_M_X64)
    const __m128i lo = _mm256_castsi256_si128(idx), hi = _mm256_extracti128_si256(idx, 1);
    const uint64_t a = (uint64_t)_mm_cvtsi128_si64(lo), b = (uint64_t)_mm_extract_epi64(lo, 1);
    const uint64_t c = (uint64_t)_mm_cvtsi128_si64(hi), d = (uint64_t)_mm_extract_epi64(hi, 1);
    return _mm256_set_m128(_mm_setr_ps(table[(uint32_t)c], table[c >> 32], table[(uint32_t)d], table[d >> 32]),
                           _mm_setr_ps(table[(uint32_t)a], table[a >> 32], table[(uint32_t)b], table[b >> 32]));
#else
    uint32_t i[8];
    _mm256_storeu_si256((__m256i *)(void *)i, idx);
    return _mm256_setr_ps(table[i[0]], table[i[1]], table[i[2]], table[i[3]], table[i[4]], table[i[5]], table[i[6]], table[i[7]]);
#endif
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_lookup16(const float *table, trainopt__vi idx) {
    const __m256 lo = _mm256_permutevar8x32_ps(_mm256_loadu_ps(table), idx); /* uses idx & 7 */
    const __m256 hi = _mm256_permutevar8x32_ps(_mm256_loadu_ps(table + 8), idx);
    return _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28))); /* bit 3 to the sign */
}
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_load_u8(const uint8_t *p, size_t k) {
    uint8_t tmp[16] = {0};
    if (k == 8) return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p));
    memcpy(tmp, p, k);
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)tmp));
}
TRAINOPT__FORCE_INLINE void trainopt__vi_store_u8(uint8_t *p, trainopt__vi a, size_t k) {
    /* byte 0 of each 32-bit lane, within each 128-bit half, then the halves side by side */
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i s = _mm256_shuffle_epi8(a, pick);
    const __m128i b = _mm_unpacklo_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    uint8_t tmp[16];
    if (k == 8) {
        _mm_storel_epi64((__m128i *)(void *)p, b);
        return;
    }
    _mm_storeu_si128((__m128i *)(void *)tmp, b);
    memcpy(p, tmp, k);
}
/* table[p[j]] for a whole vector of byte codes: one 64-bit load whose bytes index the
   table, so the codes never pass through a vector register (the 8-bit decoder's map
   read; bench/FINDINGS.md, "8-bit states on AVX2"). x86 is little-endian: byte j is
   code j. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_gather_u8(const float *table, const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return _mm256_setr_ps(table[w & 255u], table[w >> 8 & 255u], table[w >> 16 & 255u], table[w >> 24 & 255u],
                          table[w >> 32 & 255u], table[w >> 40 & 255u], table[w >> 48 & 255u], table[w >> 56]);
}
TRAINOPT__FORCE_INLINE void trainopt__v_stream(float *p, trainopt__vf v) { _mm256_stream_ps(p, v); }
TRAINOPT__FORCE_INLINE void trainopt__stream_fence(void) { _mm_sfence(); }

/* >>neon */
#elif defined(TRAINOPT__BACKEND_NEON)
#if defined(TRAINOPT_SIMDE_NEON)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
#else
#include <arm_neon.h>
#endif
#define TRAINOPT_SIMD_NAME "neon"
#define TRAINOPT_SIMD_LANES 4
typedef float32x4_t trainopt__vf;
typedef uint32x4_t trainopt__vi;
typedef uint32x4_t trainopt__vm;

TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_first(size_t k) {
    static const uint32_t iota[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(iota), vdupq_n_u32((uint32_t)k));
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load(const float *p) { return vld1q_f32(p); }
TRAINOPT__FORCE_INLINE void trainopt__v_store(float *p, trainopt__vf v) { vst1q_f32(p, v); }
/* NEON has no masked memory ops: a partial vector goes through a stack copy. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load_n(const float *p, size_t k) {
    float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (k == 4) return vld1q_f32(p);
    memcpy(tmp, p, k * sizeof(float));
    return vld1q_f32(tmp);
}
TRAINOPT__FORCE_INLINE void trainopt__v_store_n(float *p, trainopt__vf v, size_t k) {
    float tmp[4];
    if (k == 4) { vst1q_f32(p, v); return; }
    vst1q_f32(tmp, v);
    memcpy(p, tmp, k * sizeof(float));
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_set1(float x) { return vdupq_n_f32(x); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_zero(void) { return vdupq_n_f32(0.0f); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_add(trainopt__vf a, trainopt__vf b) { return vaddq_f32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sub(trainopt__vf a, trainopt__vf b) { return vsubq_f32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_mul(trainopt__vf a, trainopt__vf b) {
    trainopt__vf p = vmulq_f32(a, b);
#if defined(TRAINOPT_SIMDE_NEON)
    TRAINOPT__ROUNDED(p, "x"); /* SIMDe keeps float32x4_t in an SSE register (__m128) */
#else
    TRAINOPT__ROUNDED(p, "w");
#endif
    return p;
}
#if defined(TRAINOPT_SIMDE_NEON)
/* SIMDe (2.x as in Debian 12) lacks the AArch64-only vdivq/vsqrtq: emulate them
   lane by lane with the same IEEE operations. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_div(trainopt__vf a, trainopt__vf b) {
    float x[4], y[4];
    int j;
    vst1q_f32(x, a);
    vst1q_f32(y, b);
    for (j = 0; j < 4; j++) x[j] = x[j] / y[j];
    return vld1q_f32(x);
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sqrt(trainopt__vf a) {
    float x[4];
    int j;
    vst1q_f32(x, a);
    for (j = 0; j < 4; j++) x[j] = sqrtf(x[j]);
    return vld1q_f32(x);
}
#else
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_div(trainopt__vf a, trainopt__vf b) { return vdivq_f32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sqrt(trainopt__vf a) { return vsqrtq_f32(a); }
#endif
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_fma(trainopt__vf a, trainopt__vf b, trainopt__vf c) { return vfmaq_f32(c, a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_fnma(trainopt__vf a, trainopt__vf b, trainopt__vf c) { return vfmaq_f32(c, vnegq_f32(a), b); }
/* x86 semantics, not vminq's NaN-propagating ones: the second operand wins on NaN. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_min(trainopt__vf a, trainopt__vf b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_max(trainopt__vf a, trainopt__vf b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_round(trainopt__vf a) { return vrndnq_f32(a); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_lt(trainopt__vf a, trainopt__vf b) { return vcltq_f32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_le(trainopt__vf a, trainopt__vf b) { return vcleq_f32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_eq(trainopt__vf a, trainopt__vf b) { return vceqq_f32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_unord(trainopt__vf a, trainopt__vf b) { return vmvnq_u32(vandq_u32(vceqq_f32(a, a), vceqq_f32(b, b))); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_select(trainopt__vm m, trainopt__vf a, trainopt__vf b) { return vbslq_f32(m, a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_and(trainopt__vm a, trainopt__vm b) { return vandq_u32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_or(trainopt__vm a, trainopt__vm b) { return vorrq_u32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_not(trainopt__vm a) { return vmvnq_u32(a); }
TRAINOPT__FORCE_INLINE uint32_t trainopt__m_bits(trainopt__vm a) {
    static const uint32_t weight[4] = {1, 2, 4, 8};
    return vaddvq_u32(vandq_u32(a, vld1q_u32(weight)));
}
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_set1(uint32_t x) { return vdupq_n_u32(x); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_iota(void) {
    static const uint32_t iota[4] = {0, 1, 2, 3};
    return vld1q_u32(iota);
}
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_add(trainopt__vi a, trainopt__vi b) { return vaddq_u32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_sub(trainopt__vi a, trainopt__vi b) { return vsubq_u32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_and(trainopt__vi a, trainopt__vi b) { return vandq_u32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_or(trainopt__vi a, trainopt__vi b) { return vorrq_u32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_xor(trainopt__vi a, trainopt__vi b) { return veorq_u32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_andnot(trainopt__vi a, trainopt__vi b) { return vbicq_u32(b, a); }
TRAINOPT__FORCE_INLINE int trainopt__vi_any(trainopt__vi a) { return vmaxvq_u32(a) != 0; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_shl(trainopt__vi a, int n) { return vshlq_u32(a, vdupq_n_s32(n)); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_shr(trainopt__vi a, int n) { return vshlq_u32(a, vdupq_n_s32(-n)); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_mullo(trainopt__vi a, trainopt__vi b) { return vmulq_u32(a, b); }
TRAINOPT__FORCE_INLINE void trainopt__vi_mul_wide(trainopt__vi a, trainopt__vi b, trainopt__vi *hi, trainopt__vi *lo) {
    uint32x4_t p01 = vreinterpretq_u32_u64(vmull_u32(vget_low_u32(a), vget_low_u32(b)));
    uint32x4_t p23 = vreinterpretq_u32_u64(vmull_u32(vget_high_u32(a), vget_high_u32(b)));
    *hi = vuzp2q_u32(p01, p23);
    *lo = vuzp1q_u32(p01, p23);
}
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__vi_lt(trainopt__vi a, trainopt__vi b) { return vcltq_u32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__vi_ge(trainopt__vi a, trainopt__vi b) { return vcgeq_u32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_select(trainopt__vm m, trainopt__vi a, trainopt__vi b) { return vbslq_u32(m, a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__vi_to_f(trainopt__vi a) { return vcvtq_f32_s32(vreinterpretq_s32_u32(a)); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_to_i(trainopt__vf a) { return vreinterpretq_u32_s32(vcvtq_s32_f32(a)); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_bits(trainopt__vf a) { return vreinterpretq_u32_f32(a); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_from_bits(trainopt__vi a) { return vreinterpretq_f32_u32(a); }
TRAINOPT__FORCE_INLINE void trainopt__vi_store(uint32_t *p, trainopt__vi a) { vst1q_u32(p, a); }
/* 16-bit patterns (see >>avx512). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_load16_n(const uint16_t *p, size_t k) {
    uint16_t tmp[4] = {0, 0, 0, 0};
    if (k == 4) return vmovl_u16(vld1_u16(p));
    memcpy(tmp, p, k * sizeof(uint16_t));
    return vmovl_u16(vld1_u16(tmp));
}
TRAINOPT__FORCE_INLINE void trainopt__vi_store16_n(uint16_t *p, trainopt__vi a, size_t k) {
    uint16_t tmp[4];
    if (k == 4) { vst1_u16(p, vmovn_u32(a)); return; }
    vst1_u16(tmp, vmovn_u32(a));
    memcpy(p, tmp, k * sizeof(uint16_t));
}
/* table[idx]: each entry loaded straight into its lane, not four floats stored to the
   stack and read back as a vector (a store-to-load forwarding stall on most cores). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_gather(const float *table, trainopt__vi idx) {
    float32x4_t v = vld1q_dup_f32(table + vgetq_lane_u32(idx, 0));
    v = vld1q_lane_f32(table + vgetq_lane_u32(idx, 1), v, 1);
    v = vld1q_lane_f32(table + vgetq_lane_u32(idx, 2), v, 2);
    return vld1q_lane_f32(table + vgetq_lane_u32(idx, 3), v, 3);
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_lookup16(const float *table, trainopt__vi idx) { return trainopt__v_gather(table, idx); }
/* A whole vector's 4 codes: a copy of constant length, one 32-bit load or store (a
   run-time length is a call to memcpy; it made the same code on SSE2 9.7 times slower). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_load_u8(const uint8_t *p, size_t k) {
    uint8_t tmp[8] = {0};
    if (k == 4) memcpy(tmp, p, 4);
    else memcpy(tmp, p, k);
    return vmovl_u16(vget_low_u16(vmovl_u8(vld1_u8(tmp))));
}
TRAINOPT__FORCE_INLINE void trainopt__vi_store_u8(uint8_t *p, trainopt__vi a, size_t k) {
    uint8_t tmp[8];
    const uint16x4_t h = vmovn_u32(a);
    vst1_u8(tmp, vmovn_u16(vcombine_u16(h, h)));
    if (k == 4) memcpy(p, tmp, 4);
    else memcpy(p, tmp, k);
}
/* table[p[j]] for a whole vector of byte codes, as v_gather loads them. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_gather_u8(const float *table, const uint8_t *p) {
    float32x4_t v = vld1q_dup_f32(table + p[0]);
    v = vld1q_lane_f32(table + p[1], v, 1);
    v = vld1q_lane_f32(table + p[2], v, 2);
    return vld1q_lane_f32(table + p[3], v, 3);
}
TRAINOPT__FORCE_INLINE void trainopt__v_stream(float *p, trainopt__vf v) { trainopt__v_store(p, v); }
TRAINOPT__FORCE_INLINE void trainopt__stream_fence(void) {}

/* >>sse2: baseline x86-64 (every x86-64 CPU has SSE2), so a build without -m flags
   still runs 4 lanes. SSE2 has no fma, no blend, no masked load and no 32-bit lane
   multiply: those are built from what it has, with the same bits. */
#elif defined(TRAINOPT__BACKEND_SSE2)
#include <emmintrin.h>
#define TRAINOPT_SIMD_NAME "sse2"
#define TRAINOPT_SIMD_LANES 4
typedef __m128 trainopt__vf;
typedef __m128i trainopt__vi;
typedef __m128 trainopt__vm; /* all-ones or all-zeros lanes */

/* The exactly rounded a * b + c of four lanes from binary64, two lanes at a time: the
   scalar backend's emulation (see trainopt__fmaf_emulated there) in packed form. A
   product of floats is exact in double and the sum is rounded once; converting to
   float is then right unless the sum sits on a float halfway point (29 low bits
   1000...0) or in the float subnormal range, where the sum is first rounded to odd
   from TwoSum's error (Boldo and Melquiond, IEEE Trans. Computers 57(4), 2008). Those
   lanes are rare: one test of both halves, and the fix-up only when a lane needs it. */
#define TRAINOPT__HAVE_V_FMA_EMULATED 1 /* tests/test_simd.c tests it directly */
/* The rare lanes' fix-up, out of line (cold) so that the common path stays short where
   every fma of a kernel is inlined: s = p + c rounded to nearest becomes, in the lanes
   `rare` selects where the sum was inexact, the odd neighbour of s on the exact sum's
   side (u | 1 away from zero, (u - 1) | 1 toward it; TwoSum's err is exactly p + c - s). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused, noinline, cold))
#endif
static __m128d trainopt__fma_pd_round_odd(__m128d s, __m128d p, __m128d c, __m128d rare) {
    const __m128i u = _mm_castpd_si128(s), one = _mm_set1_epi64x(1);
    const __m128d zero = _mm_setzero_pd();
    const __m128d bb = _mm_sub_pd(s, p);
    const __m128d err = _mm_add_pd(_mm_sub_pd(p, _mm_sub_pd(s, bb)), _mm_sub_pd(c, bb));
    const __m128d fix = _mm_and_pd(rare, _mm_cmpneq_pd(err, zero));
    const __m128d toward_zero = _mm_xor_pd(_mm_cmpgt_pd(err, zero), _mm_cmpgt_pd(s, zero));
    const __m128i up = _mm_or_si128(u, one), down = _mm_or_si128(_mm_sub_epi64(u, one), one);
    const __m128i odd = _mm_or_si128(_mm_and_si128(_mm_castpd_si128(toward_zero), down),
                                     _mm_andnot_si128(_mm_castpd_si128(toward_zero), up));
    return _mm_castsi128_pd(_mm_or_si128(_mm_and_si128(_mm_castpd_si128(fix), odd), _mm_andnot_si128(_mm_castpd_si128(fix), u)));
}
TRAINOPT__FORCE_INLINE __m128d trainopt__fma_pd_emulated(__m128d a, __m128d b, __m128d c) {
    const __m128d p = _mm_mul_pd(a, b);
    const __m128d s = _mm_add_pd(p, c);
    const __m128i low = _mm_and_si128(_mm_castpd_si128(s), _mm_set1_epi64x(0x1fffffff));
    const __m128d mag = _mm_andnot_pd(_mm_set1_pd(-0.0), s);
    /* halfway: the 32-bit compare of the masked low word (its high word is 0 on both sides) */
    const __m128i half = _mm_cmpeq_epi32(low, _mm_set1_epi64x(0x10000000));
    const __m128d tiny = _mm_and_pd(_mm_cmplt_pd(mag, _mm_castsi128_pd(_mm_set1_epi64x(0x3810000000000000))) /* 2^-126 */, _mm_cmpneq_pd(s, _mm_setzero_pd()));
    const __m128d rare = _mm_or_pd(_mm_castsi128_pd(_mm_shuffle_epi32(half, _MM_SHUFFLE(2, 2, 0, 0))), tiny);
    if (__builtin_expect(_mm_movemask_pd(rare) != 0, 0)) return trainopt__fma_pd_round_odd(s, p, c, rare);
    return s;
}
TRAINOPT__FORCE_INLINE __m128 trainopt__v_fma_emulated(__m128 a, __m128 b, __m128 c) {
    const __m128d lo = trainopt__fma_pd_emulated(_mm_cvtps_pd(a), _mm_cvtps_pd(b), _mm_cvtps_pd(c));
    const __m128d hi = trainopt__fma_pd_emulated(_mm_cvtps_pd(_mm_movehl_ps(a, a)), _mm_cvtps_pd(_mm_movehl_ps(b, b)),
                                                  _mm_cvtps_pd(_mm_movehl_ps(c, c)));
    return _mm_movelh_ps(_mm_cvtpd_ps(lo), _mm_cvtpd_ps(hi));
}
/* Where the target has FMA, the intrinsic; on baseline x86-64 with gcc or clang, the
   instruction itself when the CPU has it (as the scalar backend does: the assembler
   takes it whatever the -m flags; the VEX encoding clears the upper half, so no
   SSE/AVX transition), else the emulation. */
#if defined(__FMA__)
#include <immintrin.h>
TRAINOPT__FORCE_INLINE __m128 trainopt__v_fma_sse2(__m128 a, __m128 b, __m128 c) { return _mm_fmadd_ps(a, b, c); }
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
/* const: the answer never changes, so the compiler may hoist the call out of a loop.
   Read inline, the CPU model would be reloaded after every vector store (__m128 stores
   may alias anything, libgcc's __cpu_model included). */
__attribute__((const, noinline, unused)) static int trainopt__cpu_has_fma(void) { return __builtin_cpu_supports("fma"); }
TRAINOPT__FORCE_INLINE __m128 trainopt__v_fma_sse2(__m128 a, __m128 b, __m128 c) {
    if (__builtin_expect(trainopt__cpu_has_fma(), 1)) {
        __asm__("vfmadd231ps %2, %1, %0" : "+x"(c) : "x"(a), "x"(b));
        return c;
    }
    return trainopt__v_fma_emulated(a, b, c);
}
#else
TRAINOPT__FORCE_INLINE __m128 trainopt__v_fma_sse2(__m128 a, __m128 b, __m128 c) { return trainopt__v_fma_emulated(a, b, c); }
#endif

TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_first(size_t k) {
    return _mm_castsi128_ps(_mm_cmpgt_epi32(_mm_set1_epi32((int)k), _mm_set_epi32(3, 2, 1, 0)));
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load(const float *p) { return _mm_loadu_ps(p); }
TRAINOPT__FORCE_INLINE void trainopt__v_store(float *p, trainopt__vf v) { _mm_storeu_ps(p, v); }
/* No masked moves in SSE2: a partial vector goes through a local copy of exactly k floats. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load_n(const float *p, size_t k) {
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (k == 4) return _mm_loadu_ps(p);
    memcpy(t, p, k * sizeof(float));
    return _mm_loadu_ps(t);
}
TRAINOPT__FORCE_INLINE void trainopt__v_store_n(float *p, trainopt__vf v, size_t k) {
    float t[4];
    if (k == 4) {
        _mm_storeu_ps(p, v);
        return;
    }
    _mm_storeu_ps(t, v);
    memcpy(p, t, k * sizeof(float));
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_set1(float x) { return _mm_set1_ps(x); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_zero(void) { return _mm_setzero_ps(); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_add(trainopt__vf a, trainopt__vf b) { return _mm_add_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sub(trainopt__vf a, trainopt__vf b) { return _mm_sub_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_mul(trainopt__vf a, trainopt__vf b) {
    trainopt__vf p = _mm_mul_ps(a, b);
    TRAINOPT__ROUNDED(p, "x");
    return p;
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_div(trainopt__vf a, trainopt__vf b) { return _mm_div_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_fma(trainopt__vf a, trainopt__vf b, trainopt__vf c) { return trainopt__v_fma_sse2(a, b, c); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_fnma(trainopt__vf a, trainopt__vf b, trainopt__vf c) {
    return trainopt__v_fma_sse2(_mm_xor_ps(a, _mm_set1_ps(-0.0f)), b, c); /* -a is exact */
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sqrt(trainopt__vf a) { return _mm_sqrt_ps(a); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_min(trainopt__vf a, trainopt__vf b) { return _mm_min_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_max(trainopt__vf a, trainopt__vf b) { return _mm_max_ps(a, b); }
/* No roundps before SSE4.1. Below 2^23, adding and subtracting 2^23 rounds |a| to the
   nearest integer, ties to even (the default mode), and the sign goes back on (so -0.4
   gives -0, as rintf); from 2^23 on every float is an integer (or Inf, NaN): a itself. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_round(trainopt__vf a) {
    const __m128 sign = _mm_set1_ps(-0.0f), big = _mm_set1_ps(8388608.0f);
    const __m128 mag = _mm_andnot_ps(sign, a);
    const __m128 r = _mm_or_ps(_mm_sub_ps(_mm_add_ps(mag, big), big), _mm_and_ps(sign, a));
    const __m128 small = _mm_cmplt_ps(mag, big);
    return _mm_or_ps(_mm_and_ps(small, r), _mm_andnot_ps(small, a));
}
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_lt(trainopt__vf a, trainopt__vf b) { return _mm_cmplt_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_le(trainopt__vf a, trainopt__vf b) { return _mm_cmple_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_eq(trainopt__vf a, trainopt__vf b) { return _mm_cmpeq_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_unord(trainopt__vf a, trainopt__vf b) { return _mm_cmpunord_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_select(trainopt__vm m, trainopt__vf a, trainopt__vf b) {
    return _mm_or_ps(_mm_and_ps(m, a), _mm_andnot_ps(m, b));
}
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_and(trainopt__vm a, trainopt__vm b) { return _mm_and_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_or(trainopt__vm a, trainopt__vm b) { return _mm_or_ps(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_not(trainopt__vm a) { return _mm_xor_ps(a, _mm_castsi128_ps(_mm_set1_epi32(-1))); }
TRAINOPT__FORCE_INLINE uint32_t trainopt__m_bits(trainopt__vm a) { return (uint32_t)_mm_movemask_ps(a); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_set1(uint32_t x) { return _mm_set1_epi32((int)x); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_iota(void) { return _mm_set_epi32(3, 2, 1, 0); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_add(trainopt__vi a, trainopt__vi b) { return _mm_add_epi32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_sub(trainopt__vi a, trainopt__vi b) { return _mm_sub_epi32(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_and(trainopt__vi a, trainopt__vi b) { return _mm_and_si128(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_or(trainopt__vi a, trainopt__vi b) { return _mm_or_si128(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_xor(trainopt__vi a, trainopt__vi b) { return _mm_xor_si128(a, b); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_andnot(trainopt__vi a, trainopt__vi b) { return _mm_andnot_si128(a, b); }
TRAINOPT__FORCE_INLINE int trainopt__vi_any(trainopt__vi a) { return _mm_movemask_epi8(_mm_cmpeq_epi32(a, _mm_setzero_si128())) != 0xffff; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_shl(trainopt__vi a, int n) { return _mm_sll_epi32(a, _mm_cvtsi32_si128(n)); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_shr(trainopt__vi a, int n) { return _mm_srl_epi32(a, _mm_cvtsi32_si128(n)); }
/* The unsigned 64-bit products of lanes 0, 2 (even) and 1, 3 (odd), from pmuludq. */
TRAINOPT__FORCE_INLINE void trainopt__vi_mul_wide(trainopt__vi a, trainopt__vi b, trainopt__vi *hi, trainopt__vi *lo) {
    const __m128i even = _mm_mul_epu32(a, b);
    const __m128i odd = _mm_mul_epu32(_mm_srli_epi64(a, 32), _mm_srli_epi64(b, 32));
    *lo = _mm_unpacklo_epi32(_mm_shuffle_epi32(even, _MM_SHUFFLE(0, 0, 2, 0)), _mm_shuffle_epi32(odd, _MM_SHUFFLE(0, 0, 2, 0)));
    *hi = _mm_unpacklo_epi32(_mm_shuffle_epi32(even, _MM_SHUFFLE(0, 0, 3, 1)), _mm_shuffle_epi32(odd, _MM_SHUFFLE(0, 0, 3, 1)));
}
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_mullo(trainopt__vi a, trainopt__vi b) {
    trainopt__vi hi, lo;
    trainopt__vi_mul_wide(a, b, &hi, &lo);
    (void)hi;
    return lo;
}
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__vi_lt(trainopt__vi a, trainopt__vi b) {
    const __m128i bias = _mm_set1_epi32(INT32_MIN); /* unsigned order via signed compare */
    return _mm_castsi128_ps(_mm_cmplt_epi32(_mm_xor_si128(a, bias), _mm_xor_si128(b, bias)));
}
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__vi_ge(trainopt__vi a, trainopt__vi b) { return trainopt__m_not(trainopt__vi_lt(a, b)); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_select(trainopt__vm m, trainopt__vi a, trainopt__vi b) {
    return _mm_castps_si128(trainopt__v_select(m, _mm_castsi128_ps(a), _mm_castsi128_ps(b)));
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__vi_to_f(trainopt__vi a) { return _mm_cvtepi32_ps(a); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_to_i(trainopt__vf a) { return _mm_cvttps_epi32(a); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_bits(trainopt__vf a) { return _mm_castps_si128(a); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_from_bits(trainopt__vi a) { return _mm_castsi128_ps(a); }
TRAINOPT__FORCE_INLINE void trainopt__vi_store(uint32_t *p, trainopt__vi a) { _mm_storeu_si128((__m128i *)(void *)p, a); }
/* 16-bit patterns (see >>avx512). SSE2 has no unsigned 32-to-16 pack: each lane's low
   half, sign-extended, fits the signed saturating pack exactly. */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_load16_n(const uint16_t *p, size_t k) {
    uint16_t tmp[4] = {0, 0, 0, 0};
    memcpy(tmp, p, k * sizeof(uint16_t));
    return _mm_unpacklo_epi16(_mm_loadl_epi64((const __m128i *)(const void *)tmp), _mm_setzero_si128());
}
TRAINOPT__FORCE_INLINE void trainopt__vi_store16_n(uint16_t *p, trainopt__vi a, size_t k) {
    const __m128i low = _mm_srai_epi32(_mm_slli_epi32(a, 16), 16);
    uint16_t tmp[8];
    _mm_storeu_si128((__m128i *)(void *)tmp, _mm_packs_epi32(low, low));
    memcpy(p, tmp, k * sizeof(uint16_t));
}
/* 8-bit codes (see >>avx512); SSE2 has no gather: four scalar loads. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_gather(const float *table, trainopt__vi idx) {
    uint32_t i[4];
    _mm_storeu_si128((__m128i *)(void *)i, idx);
    return _mm_setr_ps(table[i[0]], table[i[1]], table[i[2]], table[i[3]]);
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_lookup16(const float *table, trainopt__vi idx) { return trainopt__v_gather(table, idx); }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_load_u8(const uint8_t *p, size_t k) {
    uint8_t tmp[4] = {0, 0, 0, 0};
    int32_t w;
    if (k == 4) memcpy(&w, p, 4); /* a whole vector: one load, no copy of unknown length */
    else memcpy(tmp, p, k), memcpy(&w, tmp, 4);
    return _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(w), _mm_setzero_si128()), _mm_setzero_si128());
}
TRAINOPT__FORCE_INLINE void trainopt__vi_store_u8(uint8_t *p, trainopt__vi a, size_t k) {
    /* each lane's low byte: masked, the saturating packs keep it */
    const __m128i w = _mm_packs_epi32(_mm_and_si128(a, _mm_set1_epi32(255)), _mm_setzero_si128());
    const int32_t b = _mm_cvtsi128_si32(_mm_packus_epi16(w, w));
    if (k == 4) memcpy(p, &b, 4); /* a whole vector: one store */
    else memcpy(p, &b, k);
}
/* table[p[j]] for a whole vector of byte codes: one 32-bit load whose bytes index the
   table (see >>avx2). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_gather_u8(const float *table, const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return _mm_setr_ps(table[w & 255u], table[w >> 8 & 255u], table[w >> 16 & 255u], table[w >> 24]);
}
TRAINOPT__FORCE_INLINE void trainopt__v_stream(float *p, trainopt__vf v) { _mm_stream_ps(p, v); }
TRAINOPT__FORCE_INLINE void trainopt__stream_fence(void) { _mm_sfence(); }

/* >>scalar: the same op set at one lane, so forcing scalar runs the same kernel bodies. */
#else
#define TRAINOPT_SIMD_NAME "scalar"
#define TRAINOPT_SIMD_LANES 1
typedef float trainopt__vf;
typedef uint32_t trainopt__vi;
typedef uint32_t trainopt__vm; /* 0 or 1 */

/* This backend is also the portable build (baseline x86-64, RISC-V, POWER, ...), so
   its fma and sqrt must not be library calls: fmaf is a call wherever the target has
   no FMA instruction (a call per element, and every register saved around it), and
   sqrtf keeps a branch to set errno for negative inputs. */
#if defined(__FP_FAST_FMAF) || defined(__FMA__) || defined(__ARM_FEATURE_FMA)
/* The target has an FMA instruction (gcc says so with __FP_FAST_FMAF, clang with the
   feature macros): fmaf compiles to it. */
#define TRAINOPT__FMAF(a, b, c) fmaf(a, b, c)
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ == 0
/* No FMA instruction: the exactly rounded a * b + c from binary64 arithmetic (Boldo and
   Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using
   rounding to odd", IEEE Trans. Computers 57(4), 2008). The product of two floats is
   exact in double (24 + 24 bits <= 53), so only the sum is rounded, once, to s.
   Converting s to float rounds a second time, which gives fmaf's bits unless s is
   exactly halfway between two floats and the sum was inexact (a halfway point is a
   double, so none lies strictly between the exact sum and s). Halfway points of the
   float normal range have 1000...0 in the 29 double bits below a float's last bit; in
   the float subnormal range (0 < |s| < 2^-126) they have more zeros, so all of that
   range takes the rare path too. There s is rounded to odd: if TwoSum finds it
   inexact, s becomes the odd one of the two doubles around the exact sum, which is no
   halfway point and on the exact sum's side of it. Rounding to odd at 53 bits, then to
   nearest at <= 24 bits, is one rounding to nearest (53 >= 24 + 2; the paper's
   theorem), subnormal results included. Inf and NaN take the common path (their low
   bits are zero); the sum cannot overflow or underflow in double. __FLT_EVAL_METHOD__
   0: double is evaluated as double (not x87's extended precision). */
#define TRAINOPT__HAVE_FMAF_EMULATED 1 /* tests/test_simd.c tests it directly */
TRAINOPT__FORCE_INLINE float trainopt__fmaf_emulated(float a, float b, float c) {
    const double p = (double)a * (double)b;
    double s = p + (double)c;
    uint64_t u;
    memcpy(&u, &s, 8);
    if (__builtin_expect((u & 0x1fffffffu) == 0x10000000u || (u & 0x7fffffffffffffffu) - 1u < 0x380fffffffffffffu, 0)) {
        const double bb = s - p;
        const double err = (p - (s - bb)) + ((double)c - bb); /* TwoSum: exactly p + c - s */
        if (err > 0.0 || err < 0.0) u = (err > 0.0) == (s > 0.0) ? u | 1u : (u - 1u) | 1u;
        memcpy(&s, &u, 8);
    }
    return (float)s;
}
#if defined(__x86_64__)
/* Baseline x86-64 (what distributions build): nearly every x86-64 CPU since 2013 has
   FMA, and the assembler takes the instruction whatever the -m flags, so use it when
   the CPU has it. The check is one load of libgcc's CPU model, hoisted or predicted;
   that model counts FMA only when the OS saves the AVX registers. The VEX encoding
   clears the register's upper half: no SSE/AVX transition. */
TRAINOPT__FORCE_INLINE float trainopt__fmaf_runtime(float a, float b, float c) {
    if (__builtin_expect(__builtin_cpu_supports("fma"), 1)) {
        __asm__("vfmadd231ss %2, %1, %0" : "+x"(c) : "x"(a), "x"(b));
        return c;
    }
    return trainopt__fmaf_emulated(a, b, c);
}
#define TRAINOPT__FMAF(a, b, c) trainopt__fmaf_runtime(a, b, c)
#else
#define TRAINOPT__FMAF(a, b, c) trainopt__fmaf_emulated(a, b, c)
#endif
#else
#define TRAINOPT__FMAF(a, b, c) fmaf(a, b, c)
#endif
/* sqrt without errno: the instruction itself (correctly rounded, as sqrtf; a negative
   input gives the same default NaN). In place, so it merges into no other register;
   the VEX form where the compiler emits VEX code. */
#if defined(__x86_64__) && defined(TRAINOPT__HAVE_ROUNDED)
TRAINOPT__FORCE_INLINE float trainopt__sqrtf_insn(float a) {
#if defined(__AVX__)
    __asm__("vsqrtss %0, %0, %0" : "+x"(a));
#else
    __asm__("sqrtss %0, %0" : "+x"(a));
#endif
    return a;
}
#define TRAINOPT__SQRTF(a) trainopt__sqrtf_insn(a)
#elif defined(__aarch64__) && defined(TRAINOPT__HAVE_ROUNDED)
TRAINOPT__FORCE_INLINE float trainopt__sqrtf_insn(float a) {
    float r;
    __asm__("fsqrt %s0, %s1" : "=w"(r) : "w"(a));
    return r;
}
#define TRAINOPT__SQRTF(a) trainopt__sqrtf_insn(a)
#else
#define TRAINOPT__SQRTF(a) sqrtf(a)
#endif

TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_first(size_t k) { return k > 0; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load(const float *p) { return *p; }
TRAINOPT__FORCE_INLINE void trainopt__v_store(float *p, trainopt__vf v) { *p = v; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load_n(const float *p, size_t k) { return k ? *p : 0.0f; }
TRAINOPT__FORCE_INLINE void trainopt__v_store_n(float *p, trainopt__vf v, size_t k) { if (k) *p = v; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_set1(float x) { return x; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_zero(void) { return 0.0f; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_add(trainopt__vf a, trainopt__vf b) { return a + b; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sub(trainopt__vf a, trainopt__vf b) { return a - b; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_mul(trainopt__vf a, trainopt__vf b) {
#if defined(TRAINOPT__HAVE_ROUNDED) && defined(__x86_64__)
    trainopt__vf p = a * b;
    TRAINOPT__ROUNDED(p, "x");
    return p;
#elif defined(TRAINOPT__HAVE_ROUNDED) && defined(__aarch64__)
    trainopt__vf p = a * b;
    TRAINOPT__ROUNDED(p, "w");
    return p;
#else
    volatile trainopt__vf p = a * b;
    return p;
#endif
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_div(trainopt__vf a, trainopt__vf b) { return a / b; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_fma(trainopt__vf a, trainopt__vf b, trainopt__vf c) { return TRAINOPT__FMAF(a, b, c); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_fnma(trainopt__vf a, trainopt__vf b, trainopt__vf c) { return TRAINOPT__FMAF(-a, b, c); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sqrt(trainopt__vf a) { return TRAINOPT__SQRTF(a); }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_min(trainopt__vf a, trainopt__vf b) { return a < b ? a : b; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_max(trainopt__vf a, trainopt__vf b) { return a > b ? a : b; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_round(trainopt__vf a) { return rintf(a); } /* default rounding mode: to nearest even */
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_lt(trainopt__vf a, trainopt__vf b) { return a < b; }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_le(trainopt__vf a, trainopt__vf b) { return a <= b; }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_eq(trainopt__vf a, trainopt__vf b) { return a == b; }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__v_unord(trainopt__vf a, trainopt__vf b) { return a != a || b != b; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_select(trainopt__vm m, trainopt__vf a, trainopt__vf b) { return m ? a : b; }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_and(trainopt__vm a, trainopt__vm b) { return a & b; }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_or(trainopt__vm a, trainopt__vm b) { return a | b; }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__m_not(trainopt__vm a) { return a ^ 1u; }
TRAINOPT__FORCE_INLINE uint32_t trainopt__m_bits(trainopt__vm a) { return a; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_set1(uint32_t x) { return x; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_iota(void) { return 0; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_add(trainopt__vi a, trainopt__vi b) { return a + b; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_sub(trainopt__vi a, trainopt__vi b) { return a - b; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_and(trainopt__vi a, trainopt__vi b) { return a & b; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_or(trainopt__vi a, trainopt__vi b) { return a | b; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_xor(trainopt__vi a, trainopt__vi b) { return a ^ b; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_andnot(trainopt__vi a, trainopt__vi b) { return ~a & b; }
TRAINOPT__FORCE_INLINE int trainopt__vi_any(trainopt__vi a) { return a != 0; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_shl(trainopt__vi a, int n) { return a << n; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_shr(trainopt__vi a, int n) { return a >> n; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_mullo(trainopt__vi a, trainopt__vi b) { return a * b; }
TRAINOPT__FORCE_INLINE void trainopt__vi_mul_wide(trainopt__vi a, trainopt__vi b, trainopt__vi *hi, trainopt__vi *lo) {
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__vi_lt(trainopt__vi a, trainopt__vi b) { return a < b; }
TRAINOPT__FORCE_INLINE trainopt__vm trainopt__vi_ge(trainopt__vi a, trainopt__vi b) { return a >= b; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_select(trainopt__vm m, trainopt__vi a, trainopt__vi b) { return m ? a : b; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__vi_to_f(trainopt__vi a) { return (float)(int32_t)a; }
/* Like cvttps2dq: truncates; out of range or NaN gives INT32_MIN (callers clamp first). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_to_i(trainopt__vf a) {
    return (a > -2147483648.0f && a < 2147483648.0f) ? (uint32_t)(int32_t)a : 0x80000000u;
}
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_bits(trainopt__vf a) { uint32_t u; memcpy(&u, &a, 4); return u; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_from_bits(trainopt__vi a) { float f; memcpy(&f, &a, 4); return f; }
TRAINOPT__FORCE_INLINE void trainopt__vi_store(uint32_t *p, trainopt__vi a) { *p = a; }
/* 16-bit patterns (see >>avx512). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_load16_n(const uint16_t *p, size_t k) { return k ? *p : 0u; }
TRAINOPT__FORCE_INLINE void trainopt__vi_store16_n(uint16_t *p, trainopt__vi a, size_t k) { if (k) *p = (uint16_t)a; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_gather(const float *table, trainopt__vi idx) { return table[idx]; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_lookup16(const float *table, trainopt__vi idx) { return table[idx]; }
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_load_u8(const uint8_t *p, size_t k) { return k ? *p : 0u; }
TRAINOPT__FORCE_INLINE void trainopt__vi_store_u8(uint8_t *p, trainopt__vi a, size_t k) { if (k) *p = (uint8_t)a; }
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_gather_u8(const float *table, const uint8_t *p) { return table[*p]; }
TRAINOPT__FORCE_INLINE void trainopt__v_stream(float *p, trainopt__vf v) { trainopt__v_store(p, v); }
TRAINOPT__FORCE_INLINE void trainopt__stream_fence(void) {}
#endif

/* >>derived: ops built from the set above, identical on every backend. */
#define TRAINOPT__ACC_VECS (16 / TRAINOPT_SIMD_LANES)

/* Before a loop over the TRAINOPT__ACC_VECS partials whose body is large: unrolled, the
   partials stay in registers. gcc 12 left such a two-iteration loop (AVX2's two
   vectors per group) rolled, its accumulators in memory: a third slower. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
#define TRAINOPT__UNROLL_PARTIALS _Pragma("GCC unroll 16")
#else
#define TRAINOPT__UNROLL_PARTIALS
#endif

/* trainopt__v_stream (per backend above) stores a whole vector to an address
   aligned to TRAINOPT__STREAM_ALIGN, bypassing the cache where the ISA can (x86
   non-temporal stores: no read-for-ownership, no eviction of data a later pass
   reads); elsewhere it is a plain store. trainopt__stream_fence orders those
   stores before any later store (sfence); a no-op where v_stream is plain. The
   values stored are the same either way. */
#define TRAINOPT__STREAM_ALIGN (TRAINOPT_SIMD_LANES * sizeof(float))
/* Whether one vector is one whole 64-byte cache line (AVX-512): a streaming store
   then writes a line at once, where half-line stores (AVX2) can leave a line's
   halves to different write-combining batches. */
#define TRAINOPT__VECTOR_IS_LINE (TRAINOPT__STREAM_ALIGN == 64)

/* Bitwise xor of a float vector with a pattern: with 0x80000000 it negates
   exactly (NaN payloads included), with 0 it is the identity. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_xor_bits(trainopt__vf a, uint32_t pattern) {
    return trainopt__v_from_bits(trainopt__vi_xor(trainopt__v_bits(a), trainopt__vi_set1(pattern)));
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_abs(trainopt__vf a) {
    return trainopt__v_from_bits(trainopt__vi_and(trainopt__v_bits(a), trainopt__vi_set1(0x7fffffffu)));
}
/* Lanes k and above become +0, so a partial vector adds nothing to a sum. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_keep_first(trainopt__vf a, size_t k) {
    return k == TRAINOPT_SIMD_LANES ? a : trainopt__v_select(trainopt__m_first(k), a, trainopt__v_zero());
}
/* max that propagates NaN from either side, as torch.maximum does. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_max_nan(trainopt__vf a, trainopt__vf b) {
    return trainopt__v_select(trainopt__v_unord(a, a), a, trainopt__v_max(a, b));
}
/* sign(c) with sign(+-0) = +-0 and sign(NaN) = NaN (jnp.sign): selects, no bit tricks, so
   every magnitude, subnormals and +-Inf included, gives +-1. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_sign(trainopt__vf c) {
    const trainopt__vf zero = trainopt__v_zero();
    trainopt__vf s = trainopt__v_select(trainopt__v_lt(c, zero), trainopt__v_set1(-1.0f), c);
    return trainopt__v_select(trainopt__v_lt(zero, c), trainopt__v_set1(1.0f), s);
}

/* torch.lerp's form for a scalar weight w: a + w*(b - a) when |w| < 0.5, else
   b - (b - a)*(1 - w) (exact at w = 1). `high` says which, one_minus_w is 1 - w. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_lerp(trainopt__vf a, trainopt__vf b, float w, float one_minus_w, int high) {
    const trainopt__vf d = trainopt__v_sub(b, a);
    return high ? trainopt__v_fnma(d, trainopt__v_set1(one_minus_w), b) : trainopt__v_fma(trainopt__v_set1(w), d, a);
}

TRAINOPT__FORCE_INLINE uint32_t trainopt__popcount(uint32_t x) {
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (((x + (x >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24;
}

/* A 256-entry table for many lookups (the avx512 backend keeps it in registers): the
   other backends keep the table itself and gather from it (in AVX2 a 256-entry table is
   32 permutes and 31 blends per 8 lanes, slower than scalar loads). */
#if !defined(TRAINOPT__BACKEND_AVX512)
typedef struct {
    const float *table;
} trainopt__vtab256;
TRAINOPT__FORCE_INLINE trainopt__vtab256 trainopt__vtab256_load(const float *table) {
    trainopt__vtab256 t;
    t.table = table;
    return t;
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_lookup256(const trainopt__vtab256 *t, trainopt__vi idx) { return trainopt__v_gather(t->table, idx); }
/* t's entries for k byte codes at p (lanes past k: entry 0); a whole vector indexes the
   table with the code bytes themselves. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_lookup256_u8(const trainopt__vtab256 *t, const uint8_t *p, size_t k) {
    return k == TRAINOPT_SIMD_LANES ? trainopt__v_gather_u8(t->table, p) : trainopt__v_lookup256(t, trainopt__vi_load_u8(p, k));
}
#endif

/* >>halfconv: bf16 and fp16 patterns (the low 16 bits of a 32-bit lane) to and from
   float, in integer arithmetic and exact float operations, so every backend gives the
   same bits (the manual's PRECISION gives the rules; tests/test_convert.c holds them
   against PyTorch 1.13 on every float class and every 16-bit pattern). One hardware
   conversion gives those bits: AVX-512F's VCVTPH2PS widens every fp16 pattern exactly
   as the rules do, and its VCVTPS2PH narrows to nearest exactly as they do but for a
   NaN's payload, which is made PyTorch's first. The avx2 variant's flags (avx2,fma) do
   not include F16C, and VCVTNEPS2BF16 flushes denormals to zero: not used. */
#define TRAINOPT__F16_MIN_NORMAL_BITS 0x38800000u /* 2^-14 as a float */
/* A whole vector read once, into a register. The narrowing rules below use a float's
   bits several times (shifts, adds, a NaN compare), and gcc folds the load into each
   of them: three reads of every source vector, which cost fp32 -> bf16 at 16M 0.26
   against 0.16-0.17 ns/element (bench/RESULTS.md). The empty asm emits nothing. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load_once(const float *p) {
    trainopt__vf x = trainopt__v_load(p);
#if defined(TRAINOPT__BACKEND_AVX512) && defined(TRAINOPT_SIMDE_AVX512)
    TRAINOPT__ROUNDED(x, "m");
#elif defined(TRAINOPT__BACKEND_AVX512)
    TRAINOPT__ROUNDED(x, "v");
#elif defined(TRAINOPT__BACKEND_AVX2) || defined(TRAINOPT__BACKEND_SSE2) || \
    (defined(TRAINOPT__BACKEND_NEON) && defined(TRAINOPT_SIMDE_NEON))
    TRAINOPT__ROUNDED(x, "x");
#elif defined(TRAINOPT__BACKEND_NEON)
    TRAINOPT__ROUNDED(x, "w");
#endif
    return x;
}
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_from_bf16(trainopt__vi h) { return trainopt__v_from_bits(trainopt__vi_shl(h, 16)); }
#if defined(TRAINOPT__BACKEND_AVX512)
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_from_f16(trainopt__vi h) { return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h)); }
#else
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_from_f16(trainopt__vi h) {
    const trainopt__vi sign = trainopt__vi_shl(trainopt__vi_and(h, trainopt__vi_set1(0x8000u)), 16);
    const trainopt__vi mag = trainopt__vi_and(h, trainopt__vi_set1(0x7fffu));
    /* normal: the exponent rebiased by 127 - 15; Inf and NaN: all-ones exponent, NaN made quiet */
    const trainopt__vi normal = trainopt__vi_add(trainopt__vi_shl(mag, 13), trainopt__vi_set1(112u << 23));
    const trainopt__vi special = trainopt__vi_or(trainopt__vi_shl(mag, 13), trainopt__vi_set1(0x7f800000u));
    const trainopt__vi nan = trainopt__vi_or(special, trainopt__vi_set1(0x00400000u));
    /* subnormal and zero: mantissa * 2^-24, exact */
    const trainopt__vf sub = trainopt__v_mul(trainopt__vi_to_f(mag), trainopt__v_set1(5.9604644775390625e-8f));
    trainopt__vi bits = trainopt__vi_select(trainopt__vi_ge(mag, trainopt__vi_set1(0x7c00u)),
                                            trainopt__vi_select(trainopt__vi_lt(trainopt__vi_set1(0x7c00u), mag), nan, special), normal);
    bits = trainopt__vi_select(trainopt__vi_lt(mag, trainopt__vi_set1(0x400u)), trainopt__v_bits(sub), bits);
    return trainopt__v_from_bits(trainopt__vi_or(bits, sign));
}
#endif
/* Nearest (ties to even) or, with `stochastic`, the top 16 bits of rnd added below the
   kept bits before truncation. NaN becomes 0xffff (PyTorch 1.13's vectorized conversion). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_to_bf16(trainopt__vf x, int stochastic, trainopt__vi rnd) {
    const trainopt__vi u = trainopt__v_bits(x);
    const trainopt__vi bias = stochastic ? trainopt__vi_shr(rnd, 16)
                                         : trainopt__vi_add(trainopt__vi_set1(0x7fffu), trainopt__vi_and(trainopt__vi_shr(u, 16), trainopt__vi_set1(1u)));
    return trainopt__vi_select(trainopt__v_unord(x, x), trainopt__vi_set1(0xffffu), trainopt__vi_shr(trainopt__vi_add(u, bias), 16));
}
#if defined(TRAINOPT__BACKEND_AVX512)
/* Nearest, the 16 patterns packed as VCVTPS2PH gives them: every NaN made +-0x7fc00000
   first, which it narrows to +-0x7e00. */
TRAINOPT__FORCE_INLINE __m256i trainopt__v_to_f16_packed(trainopt__vf x) {
    const trainopt__vi u = trainopt__v_bits(x);
    const trainopt__vi nan = trainopt__vi_or(trainopt__vi_and(u, trainopt__vi_set1(0x80000000u)), trainopt__vi_set1(0x7fc00000u));
    const trainopt__vf y = trainopt__v_select(trainopt__v_unord(x, x), trainopt__v_from_bits(nan), x);
    /* maskz with every lane: gcc's unoptimized _mm512_cvtps_ph passes its mask as -1, which
       -Wsign-conversion rejects in a user's -O0 build (tests/hygiene.sh) */
    return _mm512_maskz_cvtps_ph((__mmask16)0xffffu, y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
#endif
/* Nearest (ties to even) or, with `stochastic`, the top 13 bits of rnd added below the
   kept bits before truncation. Below 2^-14 (fp16 subnormals, step 2^-24) nearest is the
   float sum |x| + 0.5, rounded once at 2^-24 by the addition itself; stochastic works on
   the float sum |x| + 2^-14, whose 13 bits below the kept ones are the subnormal's.
   Overflow gives Inf, NaN 0x7e00, the sign kept (c10's fp16_ieee_from_fp32_value, which
   PyTorch 1.13's .half() uses). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__v_to_f16(trainopt__vf x, int stochastic, trainopt__vi rnd) {
    const trainopt__vi u = trainopt__v_bits(x);
    const trainopt__vi a = trainopt__vi_and(u, trainopt__vi_set1(0x7fffffffu));
    const trainopt__vi sign = trainopt__vi_and(trainopt__vi_shr(u, 16), trainopt__vi_set1(0x8000u));
    trainopt__vi t, sub, h;
    trainopt__vm overflow;
#if defined(TRAINOPT__BACKEND_AVX512)
    if (!stochastic) return _mm512_cvtepu16_epi32(trainopt__v_to_f16_packed(x));
#endif
    if (stochastic) {
        const trainopt__vi bias = trainopt__vi_shr(rnd, 19);
        const trainopt__vf shifted = trainopt__v_add(trainopt__v_abs(x), trainopt__v_from_bits(trainopt__vi_set1(TRAINOPT__F16_MIN_NORMAL_BITS)));
        t = trainopt__vi_add(a, bias);
        sub = trainopt__vi_sub(trainopt__vi_shr(trainopt__vi_add(trainopt__v_bits(shifted), bias), 13),
                               trainopt__vi_set1(TRAINOPT__F16_MIN_NORMAL_BITS >> 13));
        overflow = trainopt__vi_ge(t, trainopt__vi_set1(0x47800000u)); /* 2^16 */
    } else {
        t = trainopt__vi_add(a, trainopt__vi_add(trainopt__vi_set1(0xfffu), trainopt__vi_and(trainopt__vi_shr(a, 13), trainopt__vi_set1(1u))));
        sub = trainopt__vi_sub(trainopt__v_bits(trainopt__v_add(trainopt__v_abs(x), trainopt__v_set1(0.5f))), trainopt__vi_set1(0x3f000000u));
        overflow = trainopt__vi_ge(a, trainopt__vi_set1(0x477ff000u)); /* 65520: halfway from 65504 to 2^16 */
    }
    h = trainopt__vi_sub(trainopt__vi_shr(t, 13), trainopt__vi_set1(112u << 10));
    h = trainopt__vi_select(overflow, trainopt__vi_set1(0x7c00u), h);
    h = trainopt__vi_select(trainopt__vi_lt(a, trainopt__vi_set1(TRAINOPT__F16_MIN_NORMAL_BITS)), sub, h);
    h = trainopt__vi_select(trainopt__vi_lt(trainopt__vi_set1(0x7f800000u), a), trainopt__vi_set1(0x7e00u), h);
    return trainopt__vi_or(h, sign);
}

/* k fp16 elements at p as floats, and k floats stored at p as fp16 rounded to nearest: the
   16-bit load or store and the conversion above in one. On avx512, VCVTPH2PS and VCVTPS2PH
   take and give the packed 16-bit patterns: a whole vector skips the widening to 32-bit
   lanes and the narrowing back that vi_load16_n / vi_store16_n around the conversion cost. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_load_f16_n(const uint16_t *p, size_t k) {
#if defined(TRAINOPT__BACKEND_AVX512)
    if (k == 16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
#endif
    return trainopt__v_from_f16(trainopt__vi_load16_n(p, k));
}
TRAINOPT__FORCE_INLINE void trainopt__v_store_f16_n(uint16_t *p, trainopt__vf x, size_t k) {
#if defined(TRAINOPT__BACKEND_AVX512)
    if (k == 16) {
        _mm256_storeu_si256((__m256i *)(void *)p, trainopt__v_to_f16_packed(x));
        return;
    }
#endif
    trainopt__vi_store16_n(p, trainopt__v_to_f16(x, 0, trainopt__vi_set1(0u)), k);
}

/* >>reduce: the canonical reduction. Element i of a range goes to partial sum
   i % 16 (acc.v[j] holds partial sums j*LANES .. j*LANES+LANES-1), and the
   partial sums are combined by one fixed tree: s[j] += s[j+8], then +4, +2, +1. */
typedef struct {
    trainopt__vf v[TRAINOPT__ACC_VECS];
} trainopt__acc16;

TRAINOPT__FORCE_INLINE void trainopt__acc16_zero(trainopt__acc16 *a) {
    int j;
    for (j = 0; j < TRAINOPT__ACC_VECS; j++) a->v[j] = trainopt__v_zero();
}
TRAINOPT__FORCE_INLINE float trainopt__acc16_sum(const trainopt__acc16 *a) {
#if defined(TRAINOPT__BACKEND_AVX512) || defined(TRAINOPT__BACKEND_AVX2)
    /* The same tree in registers: every add is s[j] + s[j+w] of the loop below. Through
       the stack array it was a chain of 15 scalar loads, adds and stores, which cost more
       than the sweep of a short row (group norm's channels, a row's last block). */
#if defined(TRAINOPT__BACKEND_AVX512)
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(a->v[0]),
                                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a->v[0]), 1)));
#else
    const __m256 s8 = _mm256_add_ps(a->v[0], a->v[1]);
#endif
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
#else
    float s[16];
    int j, w;
    for (j = 0; j < TRAINOPT__ACC_VECS; j++) trainopt__v_store(s + j * TRAINOPT_SIMD_LANES, a->v[j]);
    for (w = 8; w >= 1; w /= 2)
        for (j = 0; j < w; j++) s[j] = s[j] + s[j + w];
    return s[0];
#endif
}

#endif /* TRAINOPT_SIMD_H */
