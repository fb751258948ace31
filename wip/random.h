/* wip/random.h - fragment of trainopt.h: the counter-based generator, random
   fills, dropout and weight initialization. Merged into trainopt.h before the
   session ends; the comment below is this family's section of the manual.

   RANDOM NUMBERS, DROPOUT, INITIALIZATION (torch.nn.functional.dropout, torch.nn.init)
     Every random value is a pure function of (seed, offset + i): element i of a
     call with a given offset gets the same bits on every backend and compiler,
     at any thread count, and for any split of a range into calls (call a chunk
     starting at element s with offset + s and the arrays advanced by s). There is
     no generator state: the caller keeps a 64-bit seed and advances offset by n
     after each use, the way PyTorch's CUDA Philox does.

     Generator: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random
     numbers: as easy as 1, 2, 3", SC'11; Random123's known-answer vectors are in
     the tests). Element index e = offset + i (mod 2^64) takes one 32-bit word:
         block   b = (e >> 6) * 16 + (e & 15)                 (a 62-bit block number)
         key     (k0, k1)         = (seed & 0xffffffff, seed >> 32)
         counter (c0, c1, c2, c3) = (b & 0xffffffff, b >> 32, 0, 0)
         word    (e >> 4) & 3 of philox4x32_10(counter, key)
     So 64 consecutive elements take all four words of 16 consecutive blocks, and
     a vector of 1, 4, 8 or 16 lanes computes each block once with no shuffles.
     Every word is used exactly once: distinct e give distinct (block, word).
       trainopt_rand_u32(seed, offset, n, out)          the raw words
       trainopt_rand_uniform(seed, offset, n, lo, hi, out)
           u = (word >> 8) * 2^-24 in [0, 1) (24 bits, as PyTorch's float
           uniform_); out = fma(u, hi - lo, lo) in float with hi - lo and lo
           rounded to float once (may round up to hi, as PyTorch's may).
           Needs lo <= hi, both finite, hi - lo <= FLT_MAX (PyTorch's checks).
       trainopt_rand_normal(seed, offset, n, mean, std, out)
           Box-Muller as PyTorch's CPU normal_: elements e and e + 16 of each
           64-element group share the words of one block (words 0 and 1, or
           2 and 3): u1 = 1 - (w_even >> 8) * 2^-24 in (0, 1], t = (w_odd >> 8)
           * 2^-24, r = sqrt(-2 log u1); the even word's element gets r cos(2 pi t),
           the odd word's r sin(2 pi t); out = fma(z, std, mean). |z| <= 5.77
           (24-bit u1, as PyTorch). Needs std >= 0 (std = 0 gives mean).
     log, sin and cos are the library's own (trainopt__v_log, trainopt__v_sincos2pi:
     fixed sequences of IEEE operations and fused multiply-adds, so every backend
     gives the same bits). Measured against double-precision libm on every input
     Box-Muller can give them: log within 0.82 ulp, sin and cos within 6.1e-8
     (absolute, about half an ulp of 1).

     Dropout (torch.nn.functional.dropout, training mode):
       trainopt_dropout_forward(p, seed, offset, n, x, y, mask)
           Element i is dropped when its 32-bit draw d < round(p * 2^32), so p acts
           with 2^-32 resolution; y[i] = x[i] * (float)(1 / (1 - p)) where kept (the
           scale computed in double, as torch's native_dropout) and x[i] * 0 where
           dropped, as PyTorch multiplies by its 0/1 noise: a dropped NaN or Inf stays
           NaN, a dropped negative value gives -0. p == 0 copies x bit for bit, p == 1
           gives x * 0 everywhere. x == y (in place) is allowed.
           The draw takes 16 bits per element, so dropout costs half a word:
               block b = (e >> 7) * 16 + (e & 15), word (e >> 4) & 3, half (e >> 6) & 1
               (the low 16 bits for half 0, the high 16 for half 1),
               d = (that half of philox(b, 0, 0, 0) << 16) | (that half of philox(b, 0, 1, 0))
           where philox(c0 c1 c2 c3) splits b as above. The second block (c2 = 1) is
           computed only when the first half equals the threshold's high half
           (probability 2^-16), so d acts as a full 32-bit draw at half the cost.
           mask (may be NULL): ceil(n/8) bytes, bit i%8 of byte i/8 is 1 where
           element i was kept; the unused high bits of the last byte are written 0.
           Calls that share one mask array must start at elements that are
           multiples of 8 (mask + s/8); any split gives the same bits.
       trainopt_dropout_backward(p, seed, offset, n, dy, dx, mask)
           dx = dy where kept times the same scale, dy * 0 where dropped. With a mask
           the keep bits are read from it; with mask NULL they are regenerated from
           (seed, offset), which costs the generator but no memory traffic.
       Differences from PyTorch: the mask is a different (but equally distributed)
       draw; PyTorch 1.13's CPU F.dropout divides
       1.0f / (float)(1 - p) in float, which differs in the last bit for some p
       (0.999: 999.99994 against 1000).

     Initializers (torch.nn.init; fans as torch.nn.init._calculate_fan_in_and_fan_out,
     see trainopt_calculate_fans; all bounds and deviations derived in double exactly
     as PyTorch's Python does, then rounded to float once):
       trainopt_calculate_gain(nl, param)   linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2),
                                           leaky_relu sqrt(2 / (1 + param^2)), selu 3/4
       trainopt_xavier_uniform   U(-a, a),  a = sqrt(3) * (gain * sqrt(2 / (fan_in + fan_out)))
       trainopt_xavier_normal    N(0, std), std = gain * sqrt(2 / (fan_in + fan_out))
       trainopt_kaiming_uniform  U(-b, b),  b = sqrt(3) * (gain / sqrt(fan)),  gain = calculate_gain(nl, a)
       trainopt_kaiming_normal   N(0, std), std = gain / sqrt(fan)
           (trainopt_kaiming_config {a, mode, nonlinearity}; TRAINOPT_KAIMING_DEFAULTS
           is PyTorch's a = 0, fan_in, leaky_relu.)
       trainopt_trunc_normal     N(mean, std) truncated to [a, b] by PyTorch's inverse-CDF
           method: v = U(2 Phi(alpha) - 1, 2 Phi(beta) - 1), out = clamp(mean + std *
           sqrt(2) * erfinv(v), a, b), alpha = (a - mean) / std, beta = (b - mean) / std.
           erf (per call, double, a fixed Taylor series) and erfinv (per element,
           float: Giles 2010, relative error 2.4e-7 measured) are the library's own
           (trainopt__erf, trainopt__v_erfinv). As in PyTorch, bounds more than about 4 std from the mean
           lose resolution (v is a float near +-1).
       The uniform initializers use trainopt_rand_uniform's words and formula, the
       normal ones trainopt_rand_normal's, so xavier_normal(seed, offset, ...) is
       rand_normal(seed, offset, ..., 0, std) bit for bit.

     Errors: TRAINOPT_ERR_HPARAM for p outside [0, 1] or NaN, lo > hi, std < 0 (or
     <= 0 for trunc_normal), a > b, gain < 0, any NaN/Inf or a value beyond FLT_MAX,
     an unknown mode or nonlinearity; TRAINOPT_ERR_SHAPE for a zero fan (the one
     used) when n > 0, or n * 4 overflowing; TRAINOPT_ERR_NULL for a NULL array
     when n > 0; TRAINOPT_ERR_ALIAS when x and y overlap without being equal, or
     the mask overlaps either. Nothing is written on an error. */

/* >>vecmath: new derived vector ops, built only from trainopt_simd.h's op set
   (so each is one fixed sequence of IEEE operations and fused multiply-adds,
   bit-identical on every backend). Box-Muller's log is the library's
   trainopt__v_log (>>math). */

/* Stores the first k lanes of an integer vector, never touching memory past them. */
TRAINOPT__FORCE_INLINE void trainopt__vi_store_n(uint32_t *p, trainopt__vi a, size_t k) {
    uint32_t tmp[TRAINOPT_SIMD_LANES];
    if (k == TRAINOPT_SIMD_LANES) {
        trainopt__vi_store(p, a);
        return;
    }
    trainopt__vi_store(tmp, a);
    memcpy(p, tmp, k * sizeof(uint32_t));
}

/* Lane j holds 1 << j (through the float exponent: 2^j converted to integer). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_lane_bits(void) {
    trainopt__vi e = trainopt__vi_shl(trainopt__vi_add(trainopt__vi_iota(), trainopt__vi_set1(127u)), 23);
    return trainopt__v_to_i(trainopt__v_from_bits(e));
}

/* sin and cos of 2 pi u 2^-24 for integers u in [0, 2^24). The reduction is
   exact: q = the nearest quarter turn, f = u 2^-24 - q/4 in [-1/8, 1/8) turns;
   then Taylor polynomials in f to degree 9 (sin) and 10 (cos), whose truncation
   error is below 3e-9, and the quadrant's swap and signs as bit operations. */
TRAINOPT__FORCE_INLINE void trainopt__v_sincos2pi(trainopt__vi u, trainopt__vf *s, trainopt__vf *c) {
    trainopt__vi q = trainopt__vi_shr(trainopt__vi_add(u, trainopt__vi_set1(1u << 21)), 22);
    trainopt__vf f = trainopt__v_mul(trainopt__vi_to_f(trainopt__vi_sub(u, trainopt__vi_shl(q, 22))),
                                     trainopt__v_set1(5.9604644775390625e-8f));
    trainopt__vf z = trainopt__v_mul(f, f);
    trainopt__vf ps = trainopt__v_set1(42.0586929f), pc = trainopt__v_set1(-26.4262562f), sn, cs;
    trainopt__vm swap;
    trainopt__vi sin_sign, cos_sign;
    ps = trainopt__v_fma(ps, z, trainopt__v_set1(-76.7058563f));
    ps = trainopt__v_fma(ps, z, trainopt__v_set1(81.6052475f));
    ps = trainopt__v_fma(ps, z, trainopt__v_set1(-41.3417015f));
    sn = trainopt__v_mul(trainopt__v_mul(f, z), ps);
    sn = trainopt__v_fma(f, trainopt__v_set1(-1.74845553e-7f), sn); /* 2 pi = 6.28318548 - 1.74845553e-7 */
    sn = trainopt__v_fma(f, trainopt__v_set1(6.28318548f), sn);
    pc = trainopt__v_fma(pc, z, trainopt__v_set1(60.2446404f));
    pc = trainopt__v_fma(pc, z, trainopt__v_set1(-85.4568176f));
    pc = trainopt__v_fma(pc, z, trainopt__v_set1(64.9393921f));
    pc = trainopt__v_fma(pc, z, trainopt__v_set1(-19.7392082f));
    cs = trainopt__v_fma(pc, z, trainopt__v_set1(1.0f));
    /* sin(q pi/2 + a): q odd swaps sin and cos; sin is negated for q = 2, 3 and cos for q = 1, 2. */
    swap = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(q, trainopt__vi_set1(1u)));
    sin_sign = trainopt__vi_shl(trainopt__vi_and(q, trainopt__vi_set1(2u)), 30);
    cos_sign = trainopt__vi_shl(trainopt__vi_and(trainopt__vi_add(q, trainopt__vi_set1(1u)), trainopt__vi_set1(2u)), 30);
    *s = trainopt__v_from_bits(trainopt__vi_xor(trainopt__v_bits(trainopt__v_select(swap, cs, sn)), sin_sign));
    *c = trainopt__v_from_bits(trainopt__vi_xor(trainopt__v_bits(trainopt__v_select(swap, sn, cs)), cos_sign));
}

/* Inverse error function on [-1, 1] (M. Giles, "Approximating the erfinv
   function", GPU Computing Gems, 2010, single-precision version); +-1 give +-Inf. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_erfinv(trainopt__vf x) {
    const trainopt__vf one = trainopt__v_set1(1.0f);
    trainopt__vf t = trainopt__v_mul(trainopt__v_sub(one, x), trainopt__v_add(one, x));
    trainopt__vm edge = trainopt__v_le(t, trainopt__v_zero());
    trainopt__vf w = trainopt__v_xor_bits(trainopt__v_log(trainopt__v_select(edge, one, t)), 0x80000000u);
    trainopt__vf wc = trainopt__v_sub(w, trainopt__v_set1(2.5f));
    trainopt__vf wt = trainopt__v_sub(trainopt__v_sqrt(w), trainopt__v_set1(3.0f));
    trainopt__vf pc = trainopt__v_set1(2.81022636e-08f), pt = trainopt__v_set1(-0.000200214257f), r, inf;
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(3.43273939e-07f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(-3.5233877e-06f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(-4.39150654e-06f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(0.00021858087f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(-0.00125372503f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(-0.00417768164f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(0.246640727f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(1.50140941f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(0.000100950558f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(0.00134934322f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(-0.00367342844f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(0.00573950773f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(-0.0076224613f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(0.00943887047f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(1.00167406f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(2.83297682f));
    r = trainopt__v_mul(trainopt__v_select(trainopt__v_lt(w, trainopt__v_set1(5.0f)), pc, pt), x);
    inf = trainopt__v_from_bits(trainopt__vi_or(trainopt__vi_and(trainopt__v_bits(x), trainopt__vi_set1(0x80000000u)),
                                                trainopt__vi_set1(0x7f800000u)));
    return trainopt__v_select(edge, inf, r);
}

/* >>philox: Philox4x32 on LANES independent counters at once. Random123's
   philox4x32_R: R rounds, the key bumped by the Weyl constants before rounds 2..R.
   The rounds are written out (compilers do not unroll the loop at -O2, and the
   unrolled form folds the key schedule into precomputed vectors). */
#define TRAINOPT__PHILOX_M0 0xD2511F53u
#define TRAINOPT__PHILOX_M1 0xCD9E8D57u
#define TRAINOPT__PHILOX_W0 0x9E3779B9u
#define TRAINOPT__PHILOX_W1 0xBB67AE85u

/* The key schedule: round r uses (k0 + r W0, k1 + r W1). */
typedef struct {
    trainopt__vi k0[10], k1[10];
} trainopt__philox_key;

TRAINOPT__FORCE_INLINE void trainopt__philox_key_init(trainopt__philox_key *k, trainopt__vi k0, trainopt__vi k1) {
    int r;
    for (r = 0; r < 10; r++) {
        k->k0[r] = k0;
        k->k1[r] = k1;
        k0 = trainopt__vi_add(k0, trainopt__vi_set1(TRAINOPT__PHILOX_W0));
        k1 = trainopt__vi_add(k1, trainopt__vi_set1(TRAINOPT__PHILOX_W1));
    }
}

TRAINOPT__FORCE_INLINE void trainopt__philox_round(trainopt__vi c[4], trainopt__vi k0, trainopt__vi k1) {
    const trainopt__vi m0 = trainopt__vi_set1(TRAINOPT__PHILOX_M0), m1 = trainopt__vi_set1(TRAINOPT__PHILOX_M1);
    trainopt__vi hi0 = trainopt__vi_mulhi(c[0], m0), lo0 = trainopt__vi_mullo(c[0], m0);
    trainopt__vi hi1 = trainopt__vi_mulhi(c[2], m1), lo1 = trainopt__vi_mullo(c[2], m1);
    c[0] = trainopt__vi_xor(trainopt__vi_xor(hi1, c[1]), k0);
    c[1] = lo1;
    c[2] = trainopt__vi_xor(trainopt__vi_xor(hi0, c[3]), k1);
    c[3] = lo0;
}

/* rounds is 10 in every kernel (7 only in the known-answer test); a constant at each call site. */
TRAINOPT__FORCE_INLINE void trainopt__philox4x32(trainopt__vi c[4], const trainopt__philox_key *k, int rounds) {
    trainopt__philox_round(c, k->k0[0], k->k1[0]);
    trainopt__philox_round(c, k->k0[1], k->k1[1]);
    trainopt__philox_round(c, k->k0[2], k->k1[2]);
    trainopt__philox_round(c, k->k0[3], k->k1[3]);
    trainopt__philox_round(c, k->k0[4], k->k1[4]);
    trainopt__philox_round(c, k->k0[5], k->k1[5]);
    trainopt__philox_round(c, k->k0[6], k->k1[6]);
    if (rounds == 7) return;
    trainopt__philox_round(c, k->k0[7], k->k1[7]);
    trainopt__philox_round(c, k->k0[8], k->k1[8]);
    trainopt__philox_round(c, k->k0[9], k->k1[9]);
}

/* >>rng: the driver shared by every kernel of this family. An element index is
   e = offset + i; the words of a 64-aligned group of e come from 16 consecutive
   blocks (dropout: a 128-aligned group, two 16-bit halves per word), so the main
   loop runs over whole groups with contiguous counters and uses every word of
   every block. The elements before the first whole group and after the last run
   the per-lane path: a vector of k <= LANES elements that computes each lane's
   own block and picks its word (the same words, hence the same bits, at a cost
   of four blocks per LANES elements). */
enum {
    TRAINOPT__RNG_U32,     /* raw words */
    TRAINOPT__RNG_DROPOUT, /* y = keep ? x * scale : 0, keep bits to the mask writer */
    TRAINOPT__RNG_UNIFORM, /* fma(u, mul, add) */
    TRAINOPT__RNG_NORMAL,  /* fma(z, mul, add), z by Box-Muller */
    TRAINOPT__RNG_TRUNC    /* clamp(fma(erfinv(fma(u, mul, add)), tmul, tadd), lo, hi) */
};

typedef struct {
    uint64_t seed, offset;
    uint32_t threshold;             /* dropout: dropped where the 32-bit draw < threshold */
    float scale;                    /* dropout: kept elements times scale */
    float mul, add;                 /* see the kinds above */
    float tmul, tadd, lo, hi;       /* trunc_normal */
} trainopt__rng_scalars;

/* Appends bits, least significant first, to a byte array; writes only whole bytes
   until the flush, which writes the last partial byte with its high bits 0. */
typedef struct {
    uint8_t *p;
    uint64_t acc;
    unsigned n; /* pending bits in acc, always < 8 between calls */
} trainopt__bitw;

TRAINOPT__FORCE_INLINE void trainopt__bitw_put(trainopt__bitw *w, uint32_t bits, unsigned k) { /* k <= 32 */
    w->acc |= (uint64_t)bits << w->n;
    w->n += k;
    while (w->n >= 8) {
        *w->p++ = (uint8_t)w->acc;
        w->acc >>= 8;
        w->n -= 8;
    }
}
TRAINOPT__FORCE_INLINE void trainopt__bitw_put64(trainopt__bitw *w, uint64_t bits) {
    uint64_t out = w->acc | (bits << w->n);
    /* Written out so that compilers merge them into one 8-byte store. */
    w->p[0] = (uint8_t)out;
    w->p[1] = (uint8_t)(out >> 8);
    w->p[2] = (uint8_t)(out >> 16);
    w->p[3] = (uint8_t)(out >> 24);
    w->p[4] = (uint8_t)(out >> 32);
    w->p[5] = (uint8_t)(out >> 40);
    w->p[6] = (uint8_t)(out >> 48);
    w->p[7] = (uint8_t)(out >> 56);
    w->p += 8;
    w->acc = w->n ? bits >> (64 - w->n) : 0;
}
TRAINOPT__FORCE_INLINE void trainopt__bitw_flush(trainopt__bitw *w) {
    if (w->n) *w->p = (uint8_t)w->acc;
}

typedef struct {
    const float *x;
    float *y;
    uint32_t *u;
    trainopt__bitw bw;
} trainopt__rng_io;

/* The blocks b0 + lane of stream c2 (b0 % LANES == 0, so the low word never carries). */
TRAINOPT__FORCE_INLINE void trainopt__philox_blocks(trainopt__vi c[4], uint64_t b0, uint32_t stream, const trainopt__philox_key *key) {
    c[0] = trainopt__vi_add(trainopt__vi_set1((uint32_t)b0), trainopt__vi_iota());
    c[1] = trainopt__vi_set1((uint32_t)(b0 >> 32));
    c[2] = trainopt__vi_set1(stream);
    c[3] = trainopt__vi_set1(0u);
    trainopt__philox4x32(c, key, 10);
}

/* e = e0 + lane as 32-bit halves (lo, hi), carrying across 2^32 and wrapping at 2^64. */
TRAINOPT__FORCE_INLINE void trainopt__lane_index(uint64_t e0, trainopt__vi *lo, trainopt__vi *hi) {
    const trainopt__vi base = trainopt__vi_set1((uint32_t)e0);
    *lo = trainopt__vi_add(base, trainopt__vi_iota());
    *hi = trainopt__vi_select(trainopt__vi_lt(*lo, base), trainopt__vi_set1((uint32_t)(e0 >> 32) + 1u),
                              trainopt__vi_set1((uint32_t)(e0 >> 32)));
}

/* Per lane: word (e >> 4) & 3 of the block outputs c. */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__pick_word(const trainopt__vi c[4], trainopt__vi elo) {
    trainopt__vi ws = trainopt__vi_shr(elo, 4);
    trainopt__vm odd = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(ws, trainopt__vi_set1(1u)));
    trainopt__vm upper = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(ws, trainopt__vi_set1(2u)));
    return trainopt__vi_select(upper, trainopt__vi_select(odd, c[3], c[2]), trainopt__vi_select(odd, c[1], c[0]));
}

/* u = (w >> 8) * 2^-24: the top 24 bits of a word as a float in [0, 1). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__u24(trainopt__vi w) {
    return trainopt__v_mul(trainopt__vi_to_f(trainopt__vi_shr(w, 8)), trainopt__v_set1(5.9604644775390625e-8f));
}

/* Box-Muller on two words: zc = r cos(2 pi t), zs = r sin(2 pi t). */
TRAINOPT__FORCE_INLINE void trainopt__box_muller(trainopt__vi w_radius, trainopt__vi w_angle, trainopt__vf *zc,
                                                 trainopt__vf *zs) {
    /* u1 = 1 - (w >> 8) 2^-24 = (2^24 - (w >> 8)) 2^-24 in (0, 1], exactly. */
    trainopt__vf u1 = trainopt__v_mul(trainopt__vi_to_f(trainopt__vi_sub(trainopt__vi_set1(1u << 24), trainopt__vi_shr(w_radius, 8))),
                                      trainopt__v_set1(5.9604644775390625e-8f));
    trainopt__vf r = trainopt__v_sqrt(trainopt__v_mul(trainopt__v_log(u1), trainopt__v_set1(-2.0f)));
    trainopt__vf s, c;
    trainopt__v_sincos2pi(trainopt__vi_shr(w_angle, 8), &s, &c);
    *zc = trainopt__v_mul(r, c);
    *zs = trainopt__v_mul(r, s);
}

/* The output of a one-word kind (u32, uniform, trunc) for k lanes at call index i. */
TRAINOPT__FORCE_INLINE void trainopt__rng_one(int kind, const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i,
                                              size_t k, trainopt__vi w) {
    if (kind == TRAINOPT__RNG_U32) {
        trainopt__vi_store_n(io->u + i, w, k);
    } else if (kind == TRAINOPT__RNG_UNIFORM) {
        trainopt__v_store_n(io->y + i, trainopt__v_fma(trainopt__u24(w), trainopt__v_set1(s->mul), trainopt__v_set1(s->add)), k);
    } else { /* TRAINOPT__RNG_TRUNC */
        trainopt__vf v = trainopt__v_fma(trainopt__u24(w), trainopt__v_set1(s->mul), trainopt__v_set1(s->add));
        trainopt__vf z = trainopt__v_fma(trainopt__v_erfinv(v), trainopt__v_set1(s->tmul), trainopt__v_set1(s->tadd));
        z = trainopt__v_min(trainopt__v_max(z, trainopt__v_set1(s->lo)), trainopt__v_set1(s->hi));
        trainopt__v_store_n(io->y + i, z, k);
    }
}

/* Box-Muller on words (w, w + 1) of c: elements ib + 16w + j0 and ib + 16w + 16 + j0. */
TRAINOPT__FORCE_INLINE void trainopt__normal_pair(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i,
                                                  trainopt__vi w_radius, trainopt__vi w_angle) {
    trainopt__vf zc, zs;
    trainopt__box_muller(w_radius, w_angle, &zc, &zs);
    trainopt__v_store(io->y + i, trainopt__v_fma(zc, trainopt__v_set1(s->mul), trainopt__v_set1(s->add)));
    trainopt__v_store(io->y + i + 16, trainopt__v_fma(zs, trainopt__v_set1(s->mul), trainopt__v_set1(s->add)));
}

/* One whole 64-element group: e = E .. E+63 (E a multiple of 64) at call indices ib .. ib+63. */
TRAINOPT__FORCE_INLINE void trainopt__rng_group(int kind, const trainopt__rng_scalars *s, trainopt__rng_io *io,
                                                const trainopt__philox_key *key, uint64_t e, size_t ib) {
    const uint64_t b = e >> 2; /* = (e >> 6) * 16: the group's first block */
    size_t j0;
    for (j0 = 0; j0 < 16; j0 += TRAINOPT_SIMD_LANES) {
        trainopt__vi c[4];
        trainopt__philox_blocks(c, b + j0, 0u, key);
        if (kind == TRAINOPT__RNG_NORMAL) {
            trainopt__normal_pair(s, io, ib + j0, c[0], c[1]);
            trainopt__normal_pair(s, io, ib + 32 + j0, c[2], c[3]);
        } else {
            trainopt__rng_one(kind, s, io, ib + j0, TRAINOPT_SIMD_LANES, c[0]);
            trainopt__rng_one(kind, s, io, ib + 16 + j0, TRAINOPT_SIMD_LANES, c[1]);
            trainopt__rng_one(kind, s, io, ib + 32 + j0, TRAINOPT_SIMD_LANES, c[2]);
            trainopt__rng_one(kind, s, io, ib + 48 + j0, TRAINOPT_SIMD_LANES, c[3]);
        }
    }
}

/* k <= LANES elements at call index i, any alignment of e: each lane computes its own block. */
TRAINOPT__FORCE_INLINE void trainopt__rng_partial(int kind, const trainopt__rng_scalars *s, trainopt__rng_io *io,
                                                  const trainopt__philox_key *key, size_t i, size_t k) {
    trainopt__vi elo, ehi, c[4];
    trainopt__lane_index(s->offset + i, &elo, &ehi);
    /* b = (e >> 6) * 16 + (e & 15) = ((e >> 2) & ~15) | (e & 15), in 32-bit halves. */
    c[0] = trainopt__vi_or(trainopt__vi_and(trainopt__vi_or(trainopt__vi_shr(elo, 2), trainopt__vi_shl(ehi, 30)), trainopt__vi_set1(~15u)),
                           trainopt__vi_and(elo, trainopt__vi_set1(15u)));
    c[1] = trainopt__vi_shr(ehi, 2);
    c[2] = c[3] = trainopt__vi_set1(0u);
    trainopt__philox4x32(c, key, 10);
    if (kind == TRAINOPT__RNG_NORMAL) {
        /* The pair is words 0, 1 or 2, 3 of the lane's block; an odd word takes the sine. */
        trainopt__vi ws = trainopt__vi_shr(elo, 4);
        trainopt__vm odd = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(ws, trainopt__vi_set1(1u)));
        trainopt__vm upper = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(ws, trainopt__vi_set1(2u)));
        trainopt__vf zc, zs;
        trainopt__box_muller(trainopt__vi_select(upper, c[2], c[0]), trainopt__vi_select(upper, c[3], c[1]), &zc, &zs);
        trainopt__v_store_n(io->y + i, trainopt__v_fma(trainopt__v_select(odd, zs, zc), trainopt__v_set1(s->mul), trainopt__v_set1(s->add)), k);
    } else {
        trainopt__rng_one(kind, s, io, i, k, trainopt__pick_word(c, elo));
    }
}

/* Dropout draws 16 bits per element: element e takes half (e >> 6) & 1 of word
   (e >> 4) & 3 of block (e >> 7) * 16 + (e & 15), which alone decides unless it
   equals the threshold's high half (probability 2^-16); then the same half of the
   same word of the same block in stream c2 = 1 supplies the low 16 bits. So the
   decision is exactly "the 32-bit draw (h << 16 | h1) < threshold" at half the
   generator cost of one word per element. */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__half16(trainopt__vi w, int high) {
    return high ? trainopt__vi_shr(w, 16) : trainopt__vi_and(w, trainopt__vi_set1(0xffffu));
}

/* y = x * scale where kept, x * 0 where dropped (PyTorch's x * noise: NaN stays NaN),
   for k lanes at call index i; returns the keep bits. */
TRAINOPT__FORCE_INLINE uint32_t trainopt__dropout_lanes(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i,
                                                        size_t k, trainopt__vm drop) {
    trainopt__vf x = trainopt__v_load_n(io->x + i, k);
    trainopt__v_store_n(io->y + i, trainopt__v_mul(x, trainopt__v_select(drop, trainopt__v_zero(), trainopt__v_set1(s->scale))), k);
    return trainopt__m_bits(trainopt__m_not(drop));
}

/* Lanes of a word vector whose high or low half equals the threshold's high half. */
TRAINOPT__FORCE_INLINE uint32_t trainopt__dropout_ties(trainopt__vi w, trainopt__vi thi) {
    const trainopt__vi one = trainopt__vi_set1(1u);
    return trainopt__m_bits(trainopt__vi_lt(trainopt__vi_xor(trainopt__half16(w, 0), thi), one)) |
           trainopt__m_bits(trainopt__vi_lt(trainopt__vi_xor(trainopt__half16(w, 1), thi), one));
}

/* Both halves of word vector w of a group: call indices i (low halves) and i + 64
   (high halves), mask bits at `shift` of bits[0] and bits[1]. Without a tie the
   high 16 bits decide; with one (tie != 0) the stream-1 word t breaks it. */
TRAINOPT__FORCE_INLINE void trainopt__dropout_word(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i, int shift,
                                                   int tie, trainopt__vi w, trainopt__vi t, uint64_t bits[2]) {
    trainopt__vm drop0, drop1;
    if (!tie) {
        const trainopt__vi thi = trainopt__vi_set1(s->threshold >> 16);
        drop0 = trainopt__vi_lt(trainopt__half16(w, 0), thi);
        drop1 = trainopt__vi_lt(trainopt__half16(w, 1), thi);
    } else {
        const trainopt__vi th = trainopt__vi_set1(s->threshold);
        drop0 = trainopt__vi_lt(trainopt__vi_or(trainopt__vi_shl(w, 16), trainopt__half16(t, 0)), th);
        drop1 = trainopt__vi_lt(trainopt__vi_or(trainopt__vi_and(w, trainopt__vi_set1(0xffff0000u)), trainopt__half16(t, 1)), th);
    }
    bits[0] |= (uint64_t)trainopt__dropout_lanes(s, io, i, TRAINOPT_SIMD_LANES, drop0) << shift;
    bits[1] |= (uint64_t)trainopt__dropout_lanes(s, io, i + 64, TRAINOPT_SIMD_LANES, drop1) << shift;
}

/* One whole 128-element group: e = E .. E+127 (E a multiple of 128) at call indices ib .. ib+127. */
TRAINOPT__FORCE_INLINE void trainopt__dropout_group(int has_mask, const trainopt__rng_scalars *s, trainopt__rng_io *io,
                                                    const trainopt__philox_key *key, uint64_t e, size_t ib) {
    const uint64_t b = e >> 3; /* = (e >> 7) * 16 */
    const trainopt__vi thi = trainopt__vi_set1(s->threshold >> 16);
    uint64_t bits[2] = {0, 0};
    size_t j0;
    for (j0 = 0; j0 < 16; j0 += TRAINOPT_SIMD_LANES) {
        const int sh = (int)j0;
        trainopt__vi c[4], d[4];
        trainopt__philox_blocks(c, b + j0, 0u, key);
        if ((trainopt__dropout_ties(c[0], thi) | trainopt__dropout_ties(c[1], thi) | trainopt__dropout_ties(c[2], thi) |
             trainopt__dropout_ties(c[3], thi)) == 0) {
            trainopt__dropout_word(s, io, ib + j0, sh, 0, c[0], c[0], bits);
            trainopt__dropout_word(s, io, ib + 16 + j0, 16 + sh, 0, c[1], c[1], bits);
            trainopt__dropout_word(s, io, ib + 32 + j0, 32 + sh, 0, c[2], c[2], bits);
            trainopt__dropout_word(s, io, ib + 48 + j0, 48 + sh, 0, c[3], c[3], bits);
        } else { /* rare: 2^-16 per element */
            trainopt__philox_blocks(d, b + j0, 1u, key);
            trainopt__dropout_word(s, io, ib + j0, sh, 1, c[0], d[0], bits);
            trainopt__dropout_word(s, io, ib + 16 + j0, 16 + sh, 1, c[1], d[1], bits);
            trainopt__dropout_word(s, io, ib + 32 + j0, 32 + sh, 1, c[2], d[2], bits);
            trainopt__dropout_word(s, io, ib + 48 + j0, 48 + sh, 1, c[3], d[3], bits);
        }
    }
    if (has_mask) {
        trainopt__bitw_put64(&io->bw, bits[0]);
        trainopt__bitw_put64(&io->bw, bits[1]);
    }
}

/* k <= LANES dropout elements at call index i, any alignment: both streams, every lane its own block. */
TRAINOPT__FORCE_INLINE void trainopt__dropout_partial(int has_mask, const trainopt__rng_scalars *s, trainopt__rng_io *io,
                                                      const trainopt__philox_key *key, size_t i, size_t k) {
    trainopt__vi elo, ehi, c[4], d[4], wc, wd, draw;
    trainopt__vm high;
    uint32_t bits;
    trainopt__lane_index(s->offset + i, &elo, &ehi);
    /* b = (e >> 7) * 16 + (e & 15) = ((e >> 3) & ~15) | (e & 15), in 32-bit halves. */
    c[0] = trainopt__vi_or(trainopt__vi_and(trainopt__vi_or(trainopt__vi_shr(elo, 3), trainopt__vi_shl(ehi, 29)), trainopt__vi_set1(~15u)),
                           trainopt__vi_and(elo, trainopt__vi_set1(15u)));
    c[1] = trainopt__vi_shr(ehi, 3);
    c[2] = c[3] = trainopt__vi_set1(0u);
    d[0] = c[0];
    d[1] = c[1];
    d[2] = trainopt__vi_set1(1u);
    d[3] = c[3];
    trainopt__philox4x32(c, key, 10);
    trainopt__philox4x32(d, key, 10);
    wc = trainopt__pick_word(c, elo);
    wd = trainopt__pick_word(d, elo);
    high = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(elo, trainopt__vi_set1(64u)));
    draw = trainopt__vi_or(trainopt__vi_shl(trainopt__vi_select(high, trainopt__half16(wc, 1), trainopt__half16(wc, 0)), 16),
                           trainopt__vi_select(high, trainopt__half16(wd, 1), trainopt__half16(wd, 0)));
    bits = trainopt__dropout_lanes(s, io, i, k, trainopt__vi_lt(draw, trainopt__vi_set1(s->threshold)));
    if (has_mask) trainopt__bitw_put(&io->bw, bits & (uint32_t)((1ull << k) - 1u), (unsigned)k);
}

TRAINOPT__FORCE_INLINE void trainopt__rng_run(int kind, int has_mask, const trainopt__rng_scalars *s, trainopt__rng_io *io, size_t n) {
    const size_t group = kind == TRAINOPT__RNG_DROPOUT ? 128 : 64;
    trainopt__philox_key key;
    size_t head = (size_t)((group - (s->offset & (group - 1))) & (group - 1)), i = 0, end, k;
    trainopt__philox_key_init(&key, trainopt__vi_set1((uint32_t)s->seed), trainopt__vi_set1((uint32_t)(s->seed >> 32)));
    if (head > n) head = n;
    end = head + (n - head) / group * group;
    for (; i < head; i += k) {
        k = head - i < TRAINOPT_SIMD_LANES ? head - i : TRAINOPT_SIMD_LANES;
        if (kind == TRAINOPT__RNG_DROPOUT) trainopt__dropout_partial(has_mask, s, io, &key, i, k);
        else trainopt__rng_partial(kind, s, io, &key, i, k);
    }
    for (; i < end; i += group) {
        if (kind == TRAINOPT__RNG_DROPOUT) trainopt__dropout_group(has_mask, s, io, &key, s->offset + i, i);
        else trainopt__rng_group(kind, s, io, &key, s->offset + i, i);
    }
    for (; i < n; i += k) {
        k = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        if (kind == TRAINOPT__RNG_DROPOUT) trainopt__dropout_partial(has_mask, s, io, &key, i, k);
        else trainopt__rng_partial(kind, s, io, &key, i, k);
    }
    if (kind == TRAINOPT__RNG_DROPOUT && has_mask) trainopt__bitw_flush(&io->bw);
}

/* >>rand */
TRAINOPT__FORCE_INLINE int trainopt__float_range(double x) { return trainopt__finite(x) && fabs(x) <= 3.4028234663852886e38; }

/* Overlap of two byte ranges. */

TRAINOPT__FORCE_INLINE void trainopt__rng_init(trainopt__rng_scalars *s, trainopt__rng_io *io, uint64_t seed, uint64_t offset) {
    memset(s, 0, sizeof *s);
    memset(io, 0, sizeof *io);
    s->seed = seed;
    s->offset = offset;
}

/* out[i] = the 32-bit word of element offset + i (see the manual for the mapping). */
TRAINOPT_API trainopt_status trainopt_rand_u32(uint64_t seed, uint64_t offset, size_t n, uint32_t *out) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    if (n == 0) return TRAINOPT_OK;
    if (out == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(uint32_t)) return TRAINOPT_ERR_SHAPE;
    trainopt__rng_init(&s, &io, seed, offset);
    io.u = out;
    trainopt__rng_run(TRAINOPT__RNG_U32, 0, &s, &io, n);
    return TRAINOPT_OK;
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__check_out(size_t n, const float *out) {
    if (out == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    return TRAINOPT_OK;
}

/* Uniform on [lo, hi) (hi itself only by rounding), as torch.Tensor.uniform_(lo, hi). */
TRAINOPT_API trainopt_status trainopt_rand_uniform(uint64_t seed, uint64_t offset, size_t n, double lo, double hi, float *out) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    trainopt_status st;
    if (!trainopt__float_range(lo) || !trainopt__float_range(hi) || !(lo <= hi) || !trainopt__float_range(hi - lo))
        return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if ((st = trainopt__check_out(n, out)) != TRAINOPT_OK) return st;
    trainopt__rng_init(&s, &io, seed, offset);
    s.mul = (float)(hi - lo);
    s.add = (float)lo;
    io.y = out;
    trainopt__rng_run(TRAINOPT__RNG_UNIFORM, 0, &s, &io, n);
    return TRAINOPT_OK;
}

/* Normal(mean, std^2), as torch.Tensor.normal_(mean, std); std == 0 gives mean. */
TRAINOPT_API trainopt_status trainopt_rand_normal(uint64_t seed, uint64_t offset, size_t n, double mean, double std, float *out) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    trainopt_status st;
    if (!trainopt__float_range(mean) || !trainopt__float_range(std) || std < 0.0) return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if ((st = trainopt__check_out(n, out)) != TRAINOPT_OK) return st;
    trainopt__rng_init(&s, &io, seed, offset);
    s.mul = (float)std;
    s.add = (float)mean;
    io.y = out;
    trainopt__rng_run(TRAINOPT__RNG_NORMAL, 0, &s, &io, n);
    return TRAINOPT_OK;
}

/* >>dropout */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__dropout_check(double p, size_t n, const float *x, const float *y,
                                                               const uint8_t *mask) {
    size_t bytes;
    if (!(p >= 0.0 && p <= 1.0)) return TRAINOPT_ERR_HPARAM; /* NaN fails too */
    if (n == 0) return TRAINOPT_OK;
    if (x == NULL || y == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    bytes = n * sizeof(float);
    if (x != y && trainopt__overlap(x, bytes, y, bytes)) return TRAINOPT_ERR_ALIAS;
    if (mask && (trainopt__overlap(mask, (n + 7) / 8, x, bytes) || trainopt__overlap(mask, (n + 7) / 8, y, bytes)))
        return TRAINOPT_ERR_ALIAS;
    return TRAINOPT_OK;
}

/* Writes n mask bits, all ones or all zeros (the last byte's unused bits 0). */
TRAINOPT__FORCE_INLINE void trainopt__mask_fill(uint8_t *mask, size_t n, int ones) {
    memset(mask, ones ? 0xff : 0, n / 8);
    if (n % 8) mask[n / 8] = (uint8_t)(ones ? (1u << (n % 8)) - 1u : 0u);
}

/* round(p * 2^32), clamped to 2^32 - 1: an element is dropped where its word is below it. */
TRAINOPT__FORCE_INLINE uint32_t trainopt__dropout_threshold(double p) {
    double d = p * 4294967296.0; /* exact */
    uint64_t t = (uint64_t)d;
    if (d - (double)t >= 0.5) t++;
    return t > 0xffffffffu ? 0xffffffffu : (uint32_t)t;
}

/* y = x * c over n elements (p == 1: PyTorch multiplies by zero noise). */
TRAINOPT__FORCE_INLINE void trainopt__scale_lanes(size_t i, size_t k, float c, const float *x, float *y) {
    trainopt__v_store_n(y + i, trainopt__v_mul(trainopt__v_load_n(x + i, k), trainopt__v_set1(c)), k);
}
TRAINOPT__FORCE_INLINE void trainopt__scale_loop(size_t n, float c, const float *x, float *y) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES) trainopt__scale_lanes(i, TRAINOPT_SIMD_LANES, c, x, y);
    if (i < n) trainopt__scale_lanes(i, n - i, c, x, y);
}

/* The shared body of forward and regenerating backward: y from x with the keep bits of (seed, offset). */
TRAINOPT__FORCE_INLINE void trainopt__dropout_apply(double p, uint64_t seed, uint64_t offset, size_t n, const float *x, float *y,
                                                    uint8_t *mask) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    if (p == 0.0 || p == 1.0) {
        if (p == 0.0 && x != y) memcpy(y, x, n * sizeof(float));
        if (p == 1.0) trainopt__scale_loop(n, 0.0f, x, y); /* x * 0, as PyTorch: NaN stays NaN */
        if (mask) trainopt__mask_fill(mask, n, p == 0.0);
        return;
    }
    trainopt__rng_init(&s, &io, seed, offset);
    s.threshold = trainopt__dropout_threshold(p);
    s.scale = (float)(1.0 / (1.0 - p));
    io.x = x;
    io.y = y;
    io.bw.p = mask;
    if (mask) trainopt__rng_run(TRAINOPT__RNG_DROPOUT, 1, &s, &io, n);
    else trainopt__rng_run(TRAINOPT__RNG_DROPOUT, 0, &s, &io, n);
}

TRAINOPT_API trainopt_status trainopt_dropout_forward(double p, uint64_t seed, uint64_t offset, size_t n, const float *x, float *y,
                                                     uint8_t *mask) {
    trainopt_status st = trainopt__dropout_check(p, n, x, y, mask);
    if (st != TRAINOPT_OK || n == 0) return st;
    trainopt__dropout_apply(p, seed, offset, n, x, y, mask);
    return TRAINOPT_OK;
}

/* Bits i .. i+k-1 (k <= 16) of a mask, reading only the bytes that hold them. */
TRAINOPT__FORCE_INLINE uint32_t trainopt__mask_read(const uint8_t *mask, size_t i, size_t k) {
    size_t first = i / 8, last = (i + k - 1) / 8;
    uint32_t v = mask[first];
    if (last > first) v |= (uint32_t)mask[first + 1] << 8;
    if (last > first + 1) v |= (uint32_t)mask[first + 2] << 16;
    return (v >> (i % 8)) & (uint32_t)((1ull << k) - 1u);
}

TRAINOPT__FORCE_INLINE void trainopt__dropout_mask_lanes(size_t i, size_t k, int copy, float scale, trainopt__vi lane_bits,
                                                         const float *dy, float *dx, const uint8_t *mask) {
    trainopt__vi bits = trainopt__vi_set1(trainopt__mask_read(mask, i, k));
    trainopt__vm keep = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(bits, lane_bits));
    trainopt__vf g = trainopt__v_load_n(dy + i, k);
    trainopt__vf kept = copy ? g : trainopt__v_mul(g, trainopt__v_set1(scale));
    trainopt__v_store_n(dx + i, trainopt__v_select(keep, kept, trainopt__v_mul(g, trainopt__v_zero())), k);
}

TRAINOPT__FORCE_INLINE void trainopt__dropout_mask_loop(size_t n, int copy, float scale, const float *dy, float *dx,
                                                        const uint8_t *mask) {
    const trainopt__vi lane_bits = trainopt__vi_lane_bits();
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__dropout_mask_lanes(i, TRAINOPT_SIMD_LANES, copy, scale, lane_bits, dy, dx, mask);
    if (i < n) trainopt__dropout_mask_lanes(i, n - i, copy, scale, lane_bits, dy, dx, mask);
}

TRAINOPT_API trainopt_status trainopt_dropout_backward(double p, uint64_t seed, uint64_t offset, size_t n, const float *dy,
                                                      float *dx, const uint8_t *mask) {
    trainopt_status st = trainopt__dropout_check(p, n, dy, dx, mask);
    if (st != TRAINOPT_OK || n == 0) return st;
    if (mask == NULL) {
        trainopt__dropout_apply(p, seed, offset, n, dy, dx, NULL);
    } else if (p == 1.0) {
        trainopt__scale_loop(n, 0.0f, dy, dx);
    } else if (p == 0.0) {
        trainopt__dropout_mask_loop(n, 1, 1.0f, dy, dx, mask);
    } else {
        trainopt__dropout_mask_loop(n, 0, (float)(1.0 / (1.0 - p)), dy, dx, mask);
    }
    return TRAINOPT_OK;
}

/* >>init */
typedef enum {
    TRAINOPT_NL_LINEAR = 0, /* also PyTorch's conv1d/2d/3d, conv_transpose1d/2d/3d: gain 1 */
    TRAINOPT_NL_SIGMOID,    /* 1 */
    TRAINOPT_NL_TANH,       /* 5/3 */
    TRAINOPT_NL_RELU,       /* sqrt(2) */
    TRAINOPT_NL_LEAKY_RELU, /* sqrt(2 / (1 + negative_slope^2)) */
    TRAINOPT_NL_SELU        /* 3/4 */
} trainopt_nonlinearity;

typedef enum { TRAINOPT_FAN_IN = 0, TRAINOPT_FAN_OUT = 1 } trainopt_fan_mode;

typedef struct {
    double a; /* negative slope of the leaky_relu that follows (ignored by the other nonlinearities) */
    trainopt_fan_mode mode;
    trainopt_nonlinearity nonlinearity;
} trainopt_kaiming_config;
#define TRAINOPT_KAIMING_DEFAULTS {0.0, TRAINOPT_FAN_IN, TRAINOPT_NL_LEAKY_RELU}

typedef struct {
    double mean, std, a, b; /* a, b: absolute cutoffs, not in units of std (as PyTorch) */
} trainopt_trunc_normal_config;
#define TRAINOPT_TRUNC_NORMAL_DEFAULTS {0.0, 1.0, -2.0, 2.0}

/* The product rounded on its own, as Python rounds it before the sum that follows
   (volatile keeps -ffp-contract from fusing it into that sum). */
TRAINOPT__FORCE_INLINE double trainopt__mul_rounded(double a, double b) {
    volatile double p = a * b;
    return p;
}

/* torch.nn.init.calculate_gain; `param` is leaky_relu's negative slope (PyTorch's
   default is 0.01) and is ignored by the others. NaN for an unknown nonlinearity
   or a non-finite slope. */
TRAINOPT_API double trainopt_calculate_gain(trainopt_nonlinearity nl, double param) {
    switch (nl) {
    case TRAINOPT_NL_LINEAR:
    case TRAINOPT_NL_SIGMOID: return 1.0;
    case TRAINOPT_NL_TANH: return 5.0 / 3.0;
    case TRAINOPT_NL_RELU: return sqrt(2.0);
    case TRAINOPT_NL_LEAKY_RELU:
        if (!trainopt__finite(param)) return NAN;
        return sqrt(2.0 / (1.0 + trainopt__mul_rounded(param, param)));
    case TRAINOPT_NL_SELU: return 3.0 / 4.0;
    }
    return NAN;
}

/* torch.nn.init._calculate_fan_in_and_fan_out for a weight of shape[0..ndim):
   fan_in = shape[1] * receptive, fan_out = shape[0] * receptive, receptive =
   the product of shape[2..]. ERR_SHAPE when ndim < 2 or a product overflows. */
TRAINOPT_API trainopt_status trainopt_calculate_fans(size_t ndim, const size_t *shape, size_t *fan_in, size_t *fan_out) {
    size_t receptive = 1, d;
    if (shape == NULL || fan_in == NULL || fan_out == NULL) return TRAINOPT_ERR_NULL;
    if (ndim < 2) return TRAINOPT_ERR_SHAPE;
    for (d = 2; d < ndim; d++) {
        if (shape[d] != 0 && receptive > SIZE_MAX / shape[d]) return TRAINOPT_ERR_SHAPE;
        receptive *= shape[d];
    }
    if ((receptive != 0 && shape[1] > SIZE_MAX / receptive) || (receptive != 0 && shape[0] > SIZE_MAX / receptive))
        return TRAINOPT_ERR_SHAPE;
    *fan_in = shape[1] * receptive;
    *fan_out = shape[0] * receptive;
    return TRAINOPT_OK;
}

/* Xavier's deviation gain * sqrt(2 / (fan_in + fan_out)); negative when the fans are unusable. */
TRAINOPT__FORCE_INLINE double trainopt__xavier_std(size_t fan_in, size_t fan_out, double gain) {
    if (fan_in == 0 || fan_out == 0 || fan_in > SIZE_MAX - fan_out) return -1.0;
    return gain * sqrt(2.0 / (double)(fan_in + fan_out));
}

/* Kaiming's deviation gain / sqrt(fan); -1 for a zero fan, NaN for a bad config. */
TRAINOPT__FORCE_INLINE double trainopt__kaiming_std(const trainopt_kaiming_config *c, size_t fan_in, size_t fan_out) {
    size_t fan;
    if ((c->mode != TRAINOPT_FAN_IN && c->mode != TRAINOPT_FAN_OUT) || !trainopt__finite(c->a)) return NAN;
    fan = c->mode == TRAINOPT_FAN_IN ? fan_in : fan_out;
    if (fan == 0) return -1.0;
    return trainopt_calculate_gain(c->nonlinearity, c->a) / sqrt((double)fan);
}

/* Shared tail of the initializers: U(-bound, bound) or N(0, std). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__init_fill(int normal, uint64_t seed, uint64_t offset, size_t n, double scale,
                                                           float *out) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    trainopt__rng_init(&s, &io, seed, offset);
    io.y = out;
    if (normal) {
        s.mul = (float)scale;
        s.add = 0.0f;
        trainopt__rng_run(TRAINOPT__RNG_NORMAL, 0, &s, &io, n);
    } else {
        /* PyTorch: uniform_(-bound, bound), i.e. u * (bound - -bound) + -bound */
        s.mul = (float)(2.0 * scale);
        s.add = (float)-scale;
        trainopt__rng_run(TRAINOPT__RNG_UNIFORM, 0, &s, &io, n);
    }
    return TRAINOPT_OK;
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__xavier(int normal, uint64_t seed, uint64_t offset, size_t n, size_t fan_in,
                                                        size_t fan_out, double gain, float *out) {
    double std;
    trainopt_status st;
    if (!trainopt__finite(gain) || gain < 0.0) return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    std = trainopt__xavier_std(fan_in, fan_out, gain);
    if (std < 0.0) return TRAINOPT_ERR_SHAPE;
    if (!normal) std = sqrt(3.0) * std; /* the bound */
    if (!trainopt__float_range(2.0 * std)) return TRAINOPT_ERR_HPARAM; /* a gain too large for float */
    if ((st = trainopt__check_out(n, out)) != TRAINOPT_OK) return st;
    return trainopt__init_fill(normal, seed, offset, n, std, out);
}

/* torch.nn.init.xavier_uniform_: U(-a, a), a = gain * sqrt(2 / (fan_in + fan_out)) * sqrt(3). */
TRAINOPT_API trainopt_status trainopt_xavier_uniform(uint64_t seed, uint64_t offset, size_t n, size_t fan_in, size_t fan_out,
                                                    double gain, float *out) {
    return trainopt__xavier(0, seed, offset, n, fan_in, fan_out, gain, out);
}

/* torch.nn.init.xavier_normal_: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)). */
TRAINOPT_API trainopt_status trainopt_xavier_normal(uint64_t seed, uint64_t offset, size_t n, size_t fan_in, size_t fan_out,
                                                   double gain, float *out) {
    return trainopt__xavier(1, seed, offset, n, fan_in, fan_out, gain, out);
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__kaiming(int normal, const trainopt_kaiming_config *c, uint64_t seed,
                                                         uint64_t offset, size_t n, size_t fan_in, size_t fan_out, float *out) {
    double std, gain;
    trainopt_status st;
    if (c == NULL) return TRAINOPT_ERR_NULL;
    gain = trainopt_calculate_gain(c->nonlinearity, c->a); /* NaN for an unknown nonlinearity */
    if ((c->mode != TRAINOPT_FAN_IN && c->mode != TRAINOPT_FAN_OUT) || !trainopt__finite(c->a) || gain != gain)
        return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    std = trainopt__kaiming_std(c, fan_in, fan_out);
    if (std < 0.0) return TRAINOPT_ERR_SHAPE;
    if ((st = trainopt__check_out(n, out)) != TRAINOPT_OK) return st;
    return trainopt__init_fill(normal, seed, offset, n, normal ? std : sqrt(3.0) * std, out);
}

/* torch.nn.init.kaiming_uniform_: U(-b, b), b = sqrt(3) * calculate_gain(nl, a) / sqrt(fan). */
TRAINOPT_API trainopt_status trainopt_kaiming_uniform(const trainopt_kaiming_config *c, uint64_t seed, uint64_t offset, size_t n,
                                                     size_t fan_in, size_t fan_out, float *out) {
    return trainopt__kaiming(0, c, seed, offset, n, fan_in, fan_out, out);
}

/* torch.nn.init.kaiming_normal_: N(0, std^2), std = calculate_gain(nl, a) / sqrt(fan). */
TRAINOPT_API trainopt_status trainopt_kaiming_normal(const trainopt_kaiming_config *c, uint64_t seed, uint64_t offset, size_t n,
                                                    size_t fan_in, size_t fan_out, float *out) {
    return trainopt__kaiming(1, c, seed, offset, n, fan_in, fan_out, out);
}

/* erf in double by its Taylor series, a fixed sequence of IEEE operations (libm's
   erf may differ in the last bit between platforms). Accurate to about 1e-13
   absolute for |x| <= 4.5, where the alternating series still converges well;
   beyond, erf is within 2e-10 of +-1 and returned as +-1 (the same float). */
TRAINOPT__FORCE_INLINE double trainopt__erf(double x) {
    double x2 = x * x, term = x, sum = x;
    int k;
    if (!(fabs(x) <= 4.5)) return x > 0.0 ? 1.0 : -1.0;
    for (k = 1; k <= 100; k++) {
        term = term * -x2 / (double)k;
        sum += term / (double)(2 * k + 1);
    }
    return 1.1283791670955126 * sum; /* 2 / sqrt(pi) */
}

/* trunc_normal's per-call scalars, as PyTorch's _no_grad_trunc_normal_ derives them. */
TRAINOPT__FORCE_INLINE void trainopt__trunc_normal_scalars(const trainopt_trunc_normal_config *c, trainopt__rng_scalars *s) {
    double l = (1.0 + trainopt__erf((c->a - c->mean) / c->std / sqrt(2.0))) / 2.0;
    double u = (1.0 + trainopt__erf((c->b - c->mean) / c->std / sqrt(2.0))) / 2.0;
    double lo = fma(2.0, l, -1.0), hi = fma(2.0, u, -1.0); /* 2l - 1, 2u - 1 (2l is exact) */
    s->mul = (float)(hi - lo);
    s->add = (float)lo;
    s->tmul = (float)(c->std * sqrt(2.0));
    s->tadd = (float)c->mean;
    s->lo = (float)c->a;
    s->hi = (float)c->b;
}

/* torch.nn.init.trunc_normal_: N(mean, std^2) truncated to [a, b] by the inverse CDF. */
TRAINOPT_API trainopt_status trainopt_trunc_normal(const trainopt_trunc_normal_config *c, uint64_t seed, uint64_t offset, size_t n,
                                                  float *out) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    trainopt_status st;
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__float_range(c->mean) || !trainopt__float_range(c->std) || !(c->std > 0.0) || !trainopt__float_range(c->a) ||
        !trainopt__float_range(c->b) || !(c->a <= c->b) || !trainopt__float_range(c->std * sqrt(2.0)))
        return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if ((st = trainopt__check_out(n, out)) != TRAINOPT_OK) return st;
    trainopt__rng_init(&s, &io, seed, offset);
    trainopt__trunc_normal_scalars(c, &s);
    io.y = out;
    trainopt__rng_run(TRAINOPT__RNG_TRUNC, 0, &s, &io, n);
    return TRAINOPT_OK;
}
