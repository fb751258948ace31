/* tests/whitebox.c - see tests/whitebox.h. */
#define TRAINOPT_STATIC
#include "trainopt.h"
#include "whitebox.h"

void TO_NAME(to_wb_apply)(int fn, const float *x, float *y, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t k = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        trainopt__vf v = trainopt__v_load_n(x + i, k);
        v = fn == TO_WB_EXP ? trainopt__v_exp(v)
            : fn == TO_WB_LOG ? trainopt__v_log(v)
            : fn == TO_WB_LOG1P ? trainopt__v_log1p(v) : trainopt__v_erfinv(v);
        trainopt__v_store_n(y + i, v, k);
        i += k;
    }
}

void TO_NAME(to_wb_sincos2pi)(uint32_t u0, uint32_t stride, float *s, float *c, size_t n) {
    size_t i;
    for (i = 0; i < n; i += TRAINOPT_SIMD_LANES) {
        size_t k = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        trainopt__vi u = trainopt__vi_add(trainopt__vi_set1(u0 + (uint32_t)i * stride), trainopt__vi_mullo(trainopt__vi_iota(), trainopt__vi_set1(stride)));
        trainopt__vf vs, vc;
        trainopt__v_sincos2pi(trainopt__vi_and(u, trainopt__vi_set1(0xffffffu)), &vs, &vc);
        trainopt__v_store_n(s + i, vs, k);
        trainopt__v_store_n(c + i, vc, k);
    }
}

void TO_NAME(to_wb_philox4x32)(trainopt__vi c[4], const trainopt__vi key[2], int rounds) {
    trainopt__philox_key k;
    trainopt__philox_key_init(&k, key[0], key[1]);
    /* the kernels pass the round count as a constant: so do these two calls */
    if (rounds == 7) trainopt__philox4x32(c, &k, 7);
    else if (rounds == 10) trainopt__philox4x32(c, &k, 10);
    else trainopt__philox4x32(c, &k, rounds);
}

double TO_NAME(to_wb_xavier_std)(size_t fan_in, size_t fan_out, double gain) {
    return trainopt__xavier_std(fan_in, fan_out, gain);
}

double TO_NAME(to_wb_kaiming_std)(const trainopt_kaiming_config *c, size_t fan_in, size_t fan_out) {
    return trainopt__kaiming_std(c, fan_in, fan_out);
}

void TO_NAME(to_wb_trunc_normal_scalars)(const trainopt_trunc_normal_config *c, to_wb_trunc_scalars *s) {
    trainopt__rng_scalars r;
    trainopt__trunc_normal_scalars(c, &r);
    s->mul = r.mul;
    s->add = r.add;
}

int TO_NAME(to_wb_q8_fast)(int is_signed, uint32_t first, uint32_t stride, size_t n, uint8_t *code, uint8_t *unsure) {
#if defined(TRAINOPT__BACKEND_AVX512)
    size_t i, j;
    for (i = 0; i < n; i += TRAINOPT_SIMD_LANES) {
        const size_t k = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        const trainopt__vi bits = trainopt__vi_add(trainopt__vi_set1(first + (uint32_t)i * stride),
                                                   trainopt__vi_mullo(trainopt__vi_iota(), trainopt__vi_set1(stride)));
        trainopt__vm flags;
        const trainopt__vi c = is_signed ? trainopt__q8_encode_fast(1, trainopt__v_from_bits(bits), &flags)
                                         : trainopt__q8_encode_fast(0, trainopt__v_from_bits(bits), &flags);
        trainopt__vi_store_u8(code + i, c, k);
        for (j = 0; j < k; j++) unsure[i + j] = (uint8_t)(trainopt__m_bits(flags) >> j & 1);
    }
    return 1;
#else
    (void)is_signed, (void)first, (void)stride, (void)n, (void)code, (void)unsure;
    return 0;
#endif
}

int TO_NAME(to_wb_q8_encode_vbmi)(int is_signed, size_t len, const float *x, uint8_t *vbmi, float *vbmi_absmax, uint8_t *plain,
                                  float *plain_absmax) {
#if defined(TRAINOPT__Q8_VBMI) && defined(TRAINOPT__BACKEND_AVX512) /* not after runtime dispatch's variants */
    const trainopt__q8_max max = trainopt__q8_block_max(len, x);
    if (!trainopt__q8_has_vbmi()) return 0;
    TRAINOPT__Q8_ENCODE_VBMI(is_signed, len, x, &max, vbmi, vbmi_absmax);
    if (is_signed) trainopt__q8_encode_block(1, len, x, &max, plain, plain_absmax);
    else trainopt__q8_encode_block(0, len, x, &max, plain, plain_absmax);
    return 1;
#else
    (void)is_signed, (void)len, (void)x, (void)vbmi, (void)vbmi_absmax, (void)plain, (void)plain_absmax;
    return 0;
#endif
}

int TO_NAME(to_wb_q8_decode_vbmi)(int is_signed, size_t len, const uint8_t *codes, float absmax, float *vbmi, float *lookup) {
#if defined(TRAINOPT__Q8_VBMI) && defined(TRAINOPT__BACKEND_AVX512) /* not after runtime dispatch's variants */
    if (!trainopt__q8_has_vbmi()) return 0;
    trainopt__q8_dequantize_vbmi(is_signed ? trainopt__q8_signed_planes : trainopt__q8_unsigned_planes, len, codes, absmax, vbmi);
    trainopt__q8_dequantize_block(is_signed ? trainopt__q8_signed_map : trainopt__q8_unsigned_map, len, codes, absmax, lookup);
    return 1;
#else
    (void)is_signed, (void)len, (void)codes, (void)absmax, (void)vbmi, (void)lookup;
    return 0;
#endif
}
