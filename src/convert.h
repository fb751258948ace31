/* >>convert: fp32, bf16 and fp16 arrays into one another (trainopt_convert), and the
   element access the mixed-precision steps share (>>mixed). The per-vector rules are
   the vector layer's (>>halfconv in trainopt_simd.h); the manual's PRECISION states them. */

/* k elements at index i of an array of dtype `dtype` (a compile-time constant at each
   call site), as floats: bf16 and fp16 widen exactly. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__load_as_f32(const void *src, int dtype, size_t i, size_t k) {
    if (dtype == TRAINOPT_F32)
        return k == TRAINOPT_SIMD_LANES ? trainopt__v_load_once((const float *)src + i) : trainopt__v_load_n((const float *)src + i, k);
    if (dtype == TRAINOPT_F16) return trainopt__v_load_f16_n((const uint16_t *)src + i, k);
    return trainopt__v_from_bf16(trainopt__vi_load16_n((const uint16_t *)src + i, k));
}

/* x rounded to dtype, nearest or stochastic with the random words rnd, stored at index i. */
TRAINOPT__FORCE_INLINE void trainopt__store_from_f32(void *dst, int dtype, int stochastic, size_t i, size_t k, trainopt__vf x,
                                                     trainopt__vi rnd) {
    if (dtype == TRAINOPT_F32) trainopt__v_store_n((float *)dst + i, x, k);
    else if (dtype == TRAINOPT_BF16) trainopt__vi_store16_n((uint16_t *)dst + i, trainopt__v_to_bf16(x, stochastic, rnd), k);
    else if (!stochastic) trainopt__v_store_f16_n((uint16_t *)dst + i, x, k);
    else trainopt__vi_store16_n((uint16_t *)dst + i, trainopt__v_to_f16(x, stochastic, rnd), k);
}

/* fp16 to bf16: through float, except NaN, which PyTorch 1.13 makes 0x7fc0 on this path
   (c10's scalar round_to_nearest_even) where float to bf16 gives 0xffff. */
TRAINOPT__FORCE_INLINE void trainopt__store_f16_as_bf16(void *dst, int stochastic, size_t i, size_t k, trainopt__vf x,
                                                        trainopt__vi rnd) {
    const trainopt__vi b = trainopt__vi_select(trainopt__v_unord(x, x), trainopt__vi_set1(0x7fc0u), trainopt__v_to_bf16(x, stochastic, rnd));
    trainopt__vi_store16_n((uint16_t *)dst + i, b, k);
}
TRAINOPT__FORCE_INLINE void trainopt__convert_lanes(const void *src, int from, void *dst, int to, int stochastic, size_t i, size_t k,
                                                    trainopt__vi rnd) {
    const trainopt__vf x = trainopt__load_as_f32(src, from, i, k);
    if (from == TRAINOPT_F16 && to == TRAINOPT_BF16) trainopt__store_f16_as_bf16(dst, stochastic, i, k, x, rnd);
    else trainopt__store_from_f32(dst, to, stochastic, i, k, x, rnd);
}

/* The random words of elements e0 .. e0 + LANES - 1: lane j gets element e0 + j's word of
   trainopt_rand_u32 (block (e >> 6) * 16 + (e & 15), word (e >> 4) & 3), each lane
   computing its own block (as the generator's partial path). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__words_at(const trainopt__philox_key *key, uint64_t e0) {
    trainopt__vi elo, ehi, c[4];
    trainopt__lane_index(e0, &elo, &ehi);
    c[0] = trainopt__vi_or(trainopt__vi_and(trainopt__vi_or(trainopt__vi_shr(elo, 2), trainopt__vi_shl(ehi, 30)), trainopt__vi_set1(~15u)),
                           trainopt__vi_and(elo, trainopt__vi_set1(15u)));
    c[1] = trainopt__vi_shr(ehi, 2);
    c[2] = c[3] = trainopt__vi_set1(0u);
    trainopt__philox4x32(c, key, 10);
    return trainopt__pick_word(c, elo);
}

/* A body over elements: called as body(ctx, i, k, rnd) for consecutive runs of k <= LANES
   elements at call index i, rnd holding each element's random word. Whole 64-element
   groups of e = offset + i take their words 16 blocks at a time (every word of every
   block used); the elements before the first and after the last whole group compute
   their own blocks. The same words whatever the chunking, hence the same bits. */
#define TRAINOPT__WITH_WORDS(key, offset, n, BODY)                                                                     \
    do {                                                                                                               \
        const size_t trainopt__head0 = (size_t)((64u - ((offset) & 63u)) & 63u);                                       \
        const size_t trainopt__head = trainopt__head0 < (n) ? trainopt__head0 : (n);                                   \
        const size_t trainopt__end = trainopt__head + ((n) - trainopt__head) / 64 * 64;                                \
        size_t trainopt__i = 0, trainopt__k, trainopt__q, trainopt__w;                                                 \
        for (; trainopt__i < trainopt__head; trainopt__i += trainopt__k) {                                             \
            trainopt__k = trainopt__head - trainopt__i < TRAINOPT_SIMD_LANES ? trainopt__head - trainopt__i : TRAINOPT_SIMD_LANES; \
            BODY(trainopt__i, trainopt__k, trainopt__words_at(key, (offset) + trainopt__i));                           \
        }                                                                                                              \
        for (; trainopt__i < trainopt__end; trainopt__i += 64)                                                         \
            for (trainopt__q = 0; trainopt__q < 16 / TRAINOPT_SIMD_LANES; trainopt__q++) {                            \
                const trainopt__batch trainopt__t = trainopt__batch_at((offset) + trainopt__i, trainopt__q, 6);        \
                trainopt__vi trainopt__c[4];                                                                           \
                trainopt__philox_blocks(trainopt__c, trainopt__t.b, 0u, key);                                          \
                for (trainopt__w = 0; trainopt__w < 4; trainopt__w++)                                                  \
                    BODY(trainopt__i + 16 * trainopt__w + trainopt__t.j0, TRAINOPT_SIMD_LANES, trainopt__c[trainopt__w]); \
            }                                                                                                          \
        for (; trainopt__i < (n); trainopt__i += trainopt__k) {                                                        \
            trainopt__k = (n) - trainopt__i < TRAINOPT_SIMD_LANES ? (n) - trainopt__i : TRAINOPT_SIMD_LANES;           \
            BODY(trainopt__i, trainopt__k, trainopt__words_at(key, (offset) + trainopt__i));                           \
        }                                                                                                              \
    } while (0)

TRAINOPT__FORCE_INLINE void trainopt__philox_key_seed(trainopt__philox_key *key, uint64_t seed) {
    trainopt__philox_key_init(key, trainopt__vi_set1((uint32_t)seed), trainopt__vi_set1((uint32_t)(seed >> 32)));
}

/* One conversion, its dtypes and rounding compile-time constants at the call. */
TRAINOPT__FORCE_INLINE void trainopt__convert_loop(size_t n, const void *src, int from, void *dst, int to, int stochastic,
                                                   uint64_t seed, uint64_t offset) {
    size_t i = 0;
    if (!stochastic) {
        const trainopt__vi none = trainopt__vi_set1(0u);
        for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
            trainopt__convert_lanes(src, from, dst, to, 0, i, TRAINOPT_SIMD_LANES, none);
        if (i < n) trainopt__convert_lanes(src, from, dst, to, 0, i, n - i, none);
    } else {
        trainopt__philox_key key;
        trainopt__philox_key_seed(&key, seed);
#define TRAINOPT__CONVERT_BODY(i, k, rnd) trainopt__convert_lanes(src, from, dst, to, 1, i, k, rnd)
        TRAINOPT__WITH_WORDS(&key, offset, n, TRAINOPT__CONVERT_BODY);
#undef TRAINOPT__CONVERT_BODY
    }
}

/* The conversions, one function each (a driver per pair keeps each loop small); the
   names are spelled out so that tools/pack.sh gives them their per-variant names. */
#define TRAINOPT__CONVERT_PAIR(fname, from, to)                                                                         \
    TRAINOPT__DRIVER void fname(size_t n, const void *src, void *dst, int stochastic, uint64_t seed, uint64_t offset) { \
        if (stochastic) trainopt__convert_loop(n, src, TRAINOPT_##from, dst, TRAINOPT_##to, 1, seed, offset);            \
        else trainopt__convert_loop(n, src, TRAINOPT_##from, dst, TRAINOPT_##to, 0, seed, offset);                       \
    }
TRAINOPT__CONVERT_PAIR(trainopt__convert_f32_bf16, F32, BF16)
TRAINOPT__CONVERT_PAIR(trainopt__convert_f32_f16, F32, F16)
TRAINOPT__CONVERT_PAIR(trainopt__convert_bf16_f32, BF16, F32)
TRAINOPT__CONVERT_PAIR(trainopt__convert_f16_f32, F16, F32)
TRAINOPT__CONVERT_PAIR(trainopt__convert_bf16_f16, BF16, F16)
TRAINOPT__CONVERT_PAIR(trainopt__convert_f16_bf16, F16, BF16)
#undef TRAINOPT__CONVERT_PAIR

/* Bytes per element of a valid dtype. */
TRAINOPT__FORCE_INLINE size_t trainopt__dtype_size(trainopt_dtype d) { return d == TRAINOPT_F32 ? 4 : 2; }
TRAINOPT__FORCE_INLINE int trainopt__dtype_ok(trainopt_dtype d) {
    return d == TRAINOPT_F32 || d == TRAINOPT_BF16 || d == TRAINOPT_F16;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_convert(size_t n, const void *src, trainopt_dtype src_dtype, void *dst,
                                                     trainopt_dtype dst_dtype, trainopt_rounding rounding, uint64_t seed,
                                                     uint64_t offset) {
    static const char fn[] = "trainopt_convert";
    const int stochastic = rounding == TRAINOPT_ROUND_STOCHASTIC;
    if (!trainopt__dtype_ok(src_dtype))
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "src_dtype = %d is not a trainopt_dtype", (int)src_dtype);
    if (!trainopt__dtype_ok(dst_dtype))
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "dst_dtype = %d is not a trainopt_dtype", (int)dst_dtype);
    if (rounding != TRAINOPT_ROUND_NEAREST && rounding != TRAINOPT_ROUND_STOCHASTIC)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "rounding = %d is not a trainopt_rounding", (int)rounding);
    if (n == 0) return TRAINOPT_OK;
    if (src == NULL) return trainopt__once_null(fn, "src");
    if (dst == NULL) return trainopt__once_null(fn, "dst");
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    if (trainopt__overlap(src, n * trainopt__dtype_size(src_dtype), dst, n * trainopt__dtype_size(dst_dtype)))
        return trainopt__once_alias(fn, "src", "dst");
    if (src_dtype == dst_dtype) { /* the same format: the bits as they are, NaN payloads included */
        memcpy(dst, src, n * trainopt__dtype_size(src_dtype));
        return TRAINOPT_OK;
    }
    if (src_dtype == TRAINOPT_F32)
        (dst_dtype == TRAINOPT_BF16 ? trainopt__convert_f32_bf16 : trainopt__convert_f32_f16)(n, src, dst, stochastic, seed, offset);
    else if (dst_dtype == TRAINOPT_F32)
        (src_dtype == TRAINOPT_BF16 ? trainopt__convert_bf16_f32 : trainopt__convert_f16_f32)(n, src, dst, 0, seed, offset);
    else
        (src_dtype == TRAINOPT_BF16 ? trainopt__convert_bf16_f16 : trainopt__convert_f16_bf16)(n, src, dst, stochastic, seed, offset);
    return TRAINOPT_OK;
}
