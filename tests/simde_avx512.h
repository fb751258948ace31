/* tests/simde_avx512.h - the avx512 backend on a CPU without AVX-512, for the tests only.

   The simde-avx512 leg (Makefile, tests/run.sh) force-includes this header (gcc -include)
   into its avx512 objects, compiled for AVX2+FMA+F16C: SIMDe (Debian libsimde-dev) gives
   every AVX-512 intrinsic the backend uses its portable form under the intrinsic's own
   name (SIMDE_ENABLE_NATIVE_ALIASES), and trainopt_simd.h's ladder picks the avx512 backend
   under TRAINOPT_SIMDE_AVX512. So a machine without AVX-512 still runs the avx512
   backend's code, 16 lanes, masks and all, against the golden hashes; slowly, and not the
   hardware's instructions, so a native AVX-512 leg remains the real check where the CPU
   has it. The intrinsics SIMDe 0.7.4 lacks are written out below, each lane as the
   instruction computes it (Intel's pseudocode); the conversions to and from fp16 are the
   CPU's own F16C on each half, so they round as the hardware does. */
#ifndef TO_SIMDE_AVX512_H
#define TO_SIMDE_AVX512_H

#define TRAINOPT_SIMDE_AVX512 1
#include <stdint.h>
#include <string.h>
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <immintrin.h> /* F16C, for the fp16 conversions */

#define TO_SE_LANES(v) simde__m512i_to_private(v)
#define TO_SE_FLOATS(v) simde__m512_to_private(v)

static inline simde__mmask16 to_se_cmp_i32(simde__m512i a, simde__m512i b, int kind) {
    const simde__m512i_private x = TO_SE_LANES(a), y = TO_SE_LANES(b);
    simde__mmask16 k = 0;
    int i;
    for (i = 0; i < 16; i++) {
        int bit = 0;
        if (kind == 0) bit = x.i32[i] < y.i32[i];
        if (kind == 1) bit = x.u32[i] < y.u32[i];
        if (kind == 2) bit = (x.u32[i] & y.u32[i]) == 0;
        k = (simde__mmask16)(k | (bit << i));
    }
    return k;
}
#undef _mm512_cmplt_epi32_mask
#undef _mm512_cmplt_epu32_mask
#undef _mm512_testn_epi32_mask
#define _mm512_cmplt_epi32_mask(a, b) to_se_cmp_i32(a, b, 0)
#define _mm512_cmplt_epu32_mask(a, b) to_se_cmp_i32(a, b, 1)
#define _mm512_testn_epi32_mask(a, b) to_se_cmp_i32(a, b, 2)

#undef _kor_mask16
#undef _kortestz_mask16_u8
#undef _mm512_kunpackw
#undef _mm512_kunpackd
#define _kor_mask16(a, b) ((simde__mmask16)((a) | (b)))
#define _kortestz_mask16_u8(a, b) ((unsigned char)(((a) | (b)) == 0))
#define _mm512_kunpackw(a, b) ((simde__mmask32)(((uint32_t)(a) & 0xffffu) << 16 | ((uint32_t)(b) & 0xffffu)))
#define _mm512_kunpackd(a, b) ((simde__mmask64)(((uint64_t)(a) & 0xffffffffu) << 32 | ((uint64_t)(b) & 0xffffffffu)))

static inline simde__m512 to_se_cvtepi32_ps(simde__m512i a) {
    const simde__m512i_private x = TO_SE_LANES(a);
    simde__m512_private r;
    int i;
    for (i = 0; i < 16; i++) r.f32[i] = (float)x.i32[i]; /* round to nearest even, as MXCSR's default */
    return simde__m512_from_private(r);
}
#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps(a) to_se_cvtepi32_ps(a)

/* NaN and every value out of int32's range give 0x80000000, the "integer indefinite". */
static inline simde__m512i to_se_cvttps_epi32(simde__m512 a) {
    const simde__m512_private x = TO_SE_FLOATS(a);
    simde__m512i_private r;
    int i;
    for (i = 0; i < 16; i++)
        r.i32[i] = x.f32[i] == x.f32[i] && x.f32[i] > -2147483904.0f && x.f32[i] < 2147483648.0f ? (int32_t)x.f32[i] : INT32_MIN;
    return simde__m512i_from_private(r);
}
#undef _mm512_cvttps_epi32
#define _mm512_cvttps_epi32(a) to_se_cvttps_epi32(a)

static inline simde__m256i to_se_cvtepi32_epi16(simde__m512i a) {
    const simde__m512i_private x = TO_SE_LANES(a);
    simde__m256i_private r;
    int i;
    for (i = 0; i < 16; i++) r.u16[i] = (uint16_t)x.u32[i];
    return simde__m256i_from_private(r);
}
static inline simde__m128i to_se_cvtepi32_epi8(simde__m512i a) {
    const simde__m512i_private x = TO_SE_LANES(a);
    simde__m128i_private r;
    int i;
    for (i = 0; i < 16; i++) r.u8[i] = (uint8_t)x.u32[i];
    return simde__m128i_from_private(r);
}
static inline simde__m512i to_se_cvtepu16_epi32(simde__m256i a) {
    const simde__m256i_private x = simde__m256i_to_private(a);
    simde__m512i_private r;
    int i;
    for (i = 0; i < 16; i++) r.u32[i] = x.u16[i];
    return simde__m512i_from_private(r);
}
static inline simde__m512i to_se_cvtepu8_epi32(simde__m128i a) {
    const simde__m128i_private x = simde__m128i_to_private(a);
    simde__m512i_private r;
    int i;
    for (i = 0; i < 16; i++) r.u32[i] = x.u8[i];
    return simde__m512i_from_private(r);
}
#undef _mm512_cvtepi32_epi16
#undef _mm512_cvtepi32_epi8
#undef _mm512_cvtepu16_epi32
#undef _mm512_cvtepu8_epi32
#define _mm512_cvtepi32_epi16(a) to_se_cvtepi32_epi16(a)
#define _mm512_cvtepi32_epi8(a) to_se_cvtepi32_epi8(a)
#define _mm512_cvtepu16_epi32(a) to_se_cvtepu16_epi32(a)
#define _mm512_cvtepu8_epi32(a) to_se_cvtepu8_epi32(a)

/* fp16 <-> fp32 through F16C, eight lanes at a time: the hardware's rounding and NaNs. */
static inline simde__m512 to_se_cvtph_ps(simde__m256i h) {
    const simde__m256i_private x = simde__m256i_to_private(h);
    simde__m512_private r;
    __m128i half;
    __m256 lo, hi;
    memcpy(&half, &x.u16[0], 16);
    lo = _mm256_cvtph_ps(half);
    memcpy(&half, &x.u16[8], 16);
    hi = _mm256_cvtph_ps(half);
    memcpy(&r.f32[0], &lo, 32);
    memcpy(&r.f32[8], &hi, 32);
    return simde__m512_from_private(r);
}
#define to_se_cvtps_ph(k, a, rounding)                                                           \
    __extension__({                                                                              \
        const simde__m512_private to_se_x = TO_SE_FLOATS(a);                                     \
        simde__m256i_private to_se_r;                                                            \
        __m256 to_se_f;                                                                          \
        __m128i to_se_h;                                                                         \
        int to_se_i;                                                                             \
        memcpy(&to_se_f, &to_se_x.f32[0], 32);                                                   \
        to_se_h = _mm256_cvtps_ph(to_se_f, rounding);                                            \
        memcpy(&to_se_r.u16[0], &to_se_h, 16);                                                   \
        memcpy(&to_se_f, &to_se_x.f32[8], 32);                                                   \
        to_se_h = _mm256_cvtps_ph(to_se_f, rounding);                                            \
        memcpy(&to_se_r.u16[8], &to_se_h, 16);                                                   \
        for (to_se_i = 0; to_se_i < 16; to_se_i++)                                               \
            if (!((k) >> to_se_i & 1)) to_se_r.u16[to_se_i] = 0;                                 \
        simde__m256i_from_private(to_se_r);                                                      \
    })
#undef _mm512_cvtph_ps
#undef _mm512_cvtps_ph
#undef _mm512_maskz_cvtps_ph
#define _mm512_cvtph_ps(h) to_se_cvtph_ps(h)
#define _mm512_cvtps_ph(a, rounding) to_se_cvtps_ph(0xffffu, a, rounding)
#define _mm512_maskz_cvtps_ph(k, a, rounding) to_se_cvtps_ph(k, a, rounding)

static inline simde__m512 to_se_i32gather_ps(simde__m512i index, const void *base, int scale) {
    const simde__m512i_private x = TO_SE_LANES(index);
    simde__m512_private r;
    int i;
    for (i = 0; i < 16; i++) memcpy(&r.f32[i], (const char *)base + (ptrdiff_t)x.i32[i] * scale, 4);
    return simde__m512_from_private(r);
}
#undef _mm512_i32gather_ps
#define _mm512_i32gather_ps(index, base, scale) to_se_i32gather_ps(index, base, scale)

/* Lane i of each 128-bit lane takes a's element (imm >> 2 i) & 3 of that lane where k is set. */
static inline simde__m512i to_se_mask_shuffle_epi32(simde__m512i src, simde__mmask16 k, simde__m512i a, int imm) {
    const simde__m512i_private s = TO_SE_LANES(src), x = TO_SE_LANES(a);
    simde__m512i_private r;
    int i;
    for (i = 0; i < 16; i++) r.u32[i] = k >> i & 1 ? x.u32[(i & ~3) + (imm >> 2 * (i & 3) & 3)] : s.u32[i];
    return simde__m512i_from_private(r);
}
#undef _mm512_mask_shuffle_epi32
#define _mm512_mask_shuffle_epi32(src, k, a, imm) to_se_mask_shuffle_epi32(src, k, a, (int)(imm))

/* Masked loads and stores touch only the bytes of the lanes their mask sets (the guard-page
   tests hold them to that). */
static inline simde__m512 to_se_maskz_loadu_ps(simde__mmask16 k, const void *p) {
    simde__m512_private r;
    int i;
    for (i = 0; i < 16; i++) {
        r.f32[i] = 0.0f;
        if (k >> i & 1) memcpy(&r.f32[i], (const float *)p + i, 4);
    }
    return simde__m512_from_private(r);
}
static inline simde__m512i to_se_maskz_loadu_epi8(simde__mmask64 k, const void *p) {
    simde__m512i_private r;
    int i;
    for (i = 0; i < 64; i++) r.u8[i] = k >> i & 1 ? ((const uint8_t *)p)[i] : 0;
    return simde__m512i_from_private(r);
}
static inline void to_se_mask_storeu_ps(void *p, simde__mmask16 k, simde__m512 a) {
    const simde__m512_private x = TO_SE_FLOATS(a);
    int i;
    for (i = 0; i < 16; i++)
        if (k >> i & 1) memcpy((float *)p + i, &x.f32[i], 4);
}
static inline void to_se_mask_cvtepi32_storeu_epi16(void *p, simde__mmask16 k, simde__m512i a) {
    const simde__m512i_private x = TO_SE_LANES(a);
    int i;
    for (i = 0; i < 16; i++)
        if (k >> i & 1) {
            const uint16_t h = (uint16_t)x.u32[i];
            memcpy((uint16_t *)p + i, &h, 2);
        }
}
static inline void to_se_stream_ps(void *p, simde__m512 a) { memcpy(p, &a, 64); }
#undef _mm512_maskz_loadu_ps
#undef _mm512_maskz_loadu_epi8
#undef _mm512_mask_storeu_ps
#undef _mm512_mask_cvtepi32_storeu_epi16
#undef _mm512_stream_ps
#undef _mm512_undefined_ps
#define _mm512_maskz_loadu_ps(k, p) to_se_maskz_loadu_ps(k, p)
#define _mm512_maskz_loadu_epi8(k, p) to_se_maskz_loadu_epi8(k, p)
#define _mm512_mask_storeu_ps(p, k, a) to_se_mask_storeu_ps(p, k, a)
#define _mm512_mask_cvtepi32_storeu_epi16(p, k, a) to_se_mask_cvtepi32_storeu_epi16(p, k, a)
#define _mm512_stream_ps(p, a) to_se_stream_ps(p, a)
#define _mm512_undefined_ps() simde_mm512_setzero_ps()

#endif
