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
    trainopt__vi hi0, lo0, hi1, lo1;
    trainopt__vi_mul_wide(c[0], m0, &hi0, &lo0);
    trainopt__vi_mul_wide(c[2], m1, &hi1, &lo1);
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
#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum {
    TRAINOPT__RNG_U32,     /* raw words */
    TRAINOPT__RNG_DROPOUT, /* y = keep ? x * scale : 0, keep bits to the mask writer */
    TRAINOPT__RNG_UNIFORM, /* fma(u, mul, add) */
    TRAINOPT__RNG_NORMAL,  /* fma(z, mul, add), z by Box-Muller */
    TRAINOPT__RNG_TRUNC    /* clamp(fma(erfinv(fma(u, mul, add)), tmul, tadd), lo, hi) */
};
#endif

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
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(w->p, &out, 8); /* one store (gcc does not merge the byte stores below) */
#else
    w->p[0] = (uint8_t)out;
    w->p[1] = (uint8_t)(out >> 8);
    w->p[2] = (uint8_t)(out >> 16);
    w->p[3] = (uint8_t)(out >> 24);
    w->p[4] = (uint8_t)(out >> 32);
    w->p[5] = (uint8_t)(out >> 40);
    w->p[6] = (uint8_t)(out >> 48);
    w->p[7] = (uint8_t)(out >> 56);
#endif
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
    int stream; /* dropout: whole-group vectors of y go out with streaming stores */
} trainopt__rng_io;

/* The blocks b0 + lane of stream c2 (b0 % LANES == 0, so the low word never carries). */
TRAINOPT__FORCE_INLINE void trainopt__philox_blocks(trainopt__vi c[4], uint64_t b0, uint32_t stream, const trainopt__philox_key *key) {
    c[0] = trainopt__vi_add(trainopt__vi_set1((uint32_t)b0), trainopt__vi_iota());
    c[1] = trainopt__vi_set1((uint32_t)(b0 >> 32));
    c[2] = trainopt__vi_set1(stream);
    c[3] = trainopt__vi_set1(0u);
    trainopt__philox4x32(c, key, 10);
}

/* Two sets of blocks, bc + lane and bd + lane, round by round. One set is a chain
   of ten dependent multiply-and-mix rounds (about 60 cycles), longer than the
   out-of-order window overlaps with the next one; two independent chains
   interleaved nearly double the generator's throughput. */
TRAINOPT__FORCE_INLINE void trainopt__philox_blocks2(trainopt__vi c[4], uint64_t bc, trainopt__vi d[4], uint64_t bd, uint32_t stream,
                                                     const trainopt__philox_key *key) {
    int r;
    c[0] = trainopt__vi_add(trainopt__vi_set1((uint32_t)bc), trainopt__vi_iota());
    c[1] = trainopt__vi_set1((uint32_t)(bc >> 32));
    d[0] = trainopt__vi_add(trainopt__vi_set1((uint32_t)bd), trainopt__vi_iota());
    d[1] = trainopt__vi_set1((uint32_t)(bd >> 32));
    c[2] = d[2] = trainopt__vi_set1(stream);
    c[3] = d[3] = trainopt__vi_set1(0u);
    for (r = 0; r < 10; r++) {
        trainopt__philox_round(c, key->k0[r], key->k1[r]);
        trainopt__philox_round(d, key->k0[r], key->k1[r]);
    }
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

/* The four words of a batch of LANES consecutive blocks (b0 + j0 + lane of a
   64-element group whose element 0 is at call index ib): elements ib + j0 + 16w. */
TRAINOPT__FORCE_INLINE void trainopt__rng_batch(int kind, const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i,
                                                const trainopt__vi c[4]) {
    if (kind == TRAINOPT__RNG_NORMAL) {
        trainopt__normal_pair(s, io, i, c[0], c[1]);
        trainopt__normal_pair(s, io, i + 32, c[2], c[3]);
    } else {
        trainopt__rng_one(kind, s, io, i, TRAINOPT_SIMD_LANES, c[0]);
        trainopt__rng_one(kind, s, io, i + 16, TRAINOPT_SIMD_LANES, c[1]);
        trainopt__rng_one(kind, s, io, i + 32, TRAINOPT_SIMD_LANES, c[2]);
        trainopt__rng_one(kind, s, io, i + 48, TRAINOPT_SIMD_LANES, c[3]);
    }
}

/* Runs of whole groups (64 elements, or dropout's 128) are cut into batches of
   LANES blocks, 16 / LANES per group, that go through Philox two at a time.
   Batch q is group g = q / (16/LANES), blocks j0 .. j0+LANES-1 of it: first block
   b = ((e + g * 2^log2_size) >> (log2_size - 4)) + j0, that is (group's first
   element >> log2_size) * 16 + j0, with e wrapping at 2^64 as element indices do. */
typedef struct {
    size_t g, j0;
    uint64_t b;
} trainopt__batch;

TRAINOPT__FORCE_INLINE trainopt__batch trainopt__batch_at(uint64_t e, size_t q, int log2_size) {
    const size_t per_group = 16 / TRAINOPT_SIMD_LANES;
    trainopt__batch t;
    t.g = q / per_group;
    t.j0 = q % per_group * TRAINOPT_SIMD_LANES;
    t.b = ((e + ((uint64_t)t.g << log2_size)) >> (log2_size - 4)) + t.j0;
    return t;
}

/* ngroups (1 or 2) whole 64-element groups: e = E .. E+64*ngroups-1 (E a multiple
   of 64) at call indices ib ... */
TRAINOPT__FORCE_INLINE void trainopt__rng_groups(int kind, const trainopt__rng_scalars *s, trainopt__rng_io *io,
                                                 const trainopt__philox_key *key, uint64_t e, size_t ib, size_t ngroups) {
    const size_t batches = ngroups * (16 / TRAINOPT_SIMD_LANES);
    size_t q;
    for (q = 0; q < batches; q += 2) {
        const trainopt__batch t0 = trainopt__batch_at(e, q, 6);
        trainopt__vi c[4], d[4];
        if (q + 1 < batches) {
            const trainopt__batch t1 = trainopt__batch_at(e, q + 1, 6);
            trainopt__philox_blocks2(c, t0.b, d, t1.b, 0u, key);
            trainopt__rng_batch(kind, s, io, ib + 64 * t0.g + t0.j0, c);
            trainopt__rng_batch(kind, s, io, ib + 64 * t1.g + t1.j0, d);
        } else {
            trainopt__philox_blocks(c, t0.b, 0u, key);
            trainopt__rng_batch(kind, s, io, ib + 64 * t0.g + t0.j0, c);
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
   for k lanes at call index i; returns the keep bits. k is LANES in a whole group,
   whose vectors are the aligned ones io->stream speaks of; below LANES in partials. */
TRAINOPT__FORCE_INLINE uint32_t trainopt__dropout_lanes(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i,
                                                        size_t k, int in_group, trainopt__vm keep) {
    const trainopt__vf y =
        trainopt__v_mul(trainopt__v_load_n(io->x + i, k), trainopt__v_select(keep, trainopt__v_set1(s->scale), trainopt__v_zero()));
    if (in_group && io->stream) trainopt__v_stream(io->y + i, y);
    else trainopt__v_store_n(io->y + i, y, k);
    return trainopt__m_bits(keep);
}

/* Nonzero high bits (0x80008000) in a lane where a 16-bit half of w equals the
   threshold's high half h (thi2 = h * 0x10001): the exact "has a zero field"
   test (x - 0x00010001) & ~x & 0x80008000 on x = w ^ thi2. A borrow can only
   start at a zero half, so a lane without one gives 0. */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__dropout_ties(trainopt__vi w, trainopt__vi thi2) {
    const trainopt__vi x = trainopt__vi_xor(w, thi2);
    return trainopt__vi_and(trainopt__vi_sub(x, trainopt__vi_set1(0x00010001u)),
                            trainopt__vi_andnot(x, trainopt__vi_set1(0x80008000u)));
}

/* Both halves of word vector w of a group: call indices i (low halves) and i + 64
   (high halves), mask bits at `shift` of bits[0] and bits[1]. Without a tie the
   high 16 bits decide; with one (tie != 0) the stream-1 word t breaks it. */
TRAINOPT__FORCE_INLINE void trainopt__dropout_word(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i, int shift,
                                                   int tie, trainopt__vi w, trainopt__vi t, uint64_t bits[2]) {
    trainopt__vm keep0, keep1;
    if (!tie) {
        const trainopt__vi thi = trainopt__vi_set1(s->threshold >> 16);
        keep0 = trainopt__vi_ge(trainopt__half16(w, 0), thi);
        keep1 = trainopt__vi_ge(trainopt__half16(w, 1), thi);
    } else {
        const trainopt__vi th = trainopt__vi_set1(s->threshold);
        keep0 = trainopt__vi_ge(trainopt__vi_or(trainopt__vi_shl(w, 16), trainopt__half16(t, 0)), th);
        keep1 = trainopt__vi_ge(trainopt__vi_or(trainopt__vi_and(w, trainopt__vi_set1(0xffff0000u)), trainopt__half16(t, 1)), th);
    }
    bits[0] |= (uint64_t)trainopt__dropout_lanes(s, io, i, TRAINOPT_SIMD_LANES, 1, keep0) << shift;
    bits[1] |= (uint64_t)trainopt__dropout_lanes(s, io, i + 64, TRAINOPT_SIMD_LANES, 1, keep1) << shift;
}

/* One batch of LANES blocks (b + lane, stream 0, already computed in c) of a
   128-element group: call indices i + 16w and i + 64 + 16w, mask bits at
   shift + 16w of bits[0] and bits[1]. */
TRAINOPT__FORCE_INLINE void trainopt__dropout_batch(const trainopt__rng_scalars *s, const trainopt__rng_io *io,
                                                    const trainopt__philox_key *key, uint64_t b, size_t i, int shift,
                                                    const trainopt__vi c[4], uint64_t bits[2]) {
    const trainopt__vi thi2 = trainopt__vi_set1((s->threshold >> 16) * 0x10001u);
    if (!trainopt__vi_any(trainopt__vi_or(trainopt__vi_or(trainopt__dropout_ties(c[0], thi2), trainopt__dropout_ties(c[1], thi2)),
                                          trainopt__vi_or(trainopt__dropout_ties(c[2], thi2), trainopt__dropout_ties(c[3], thi2))))) {
        trainopt__dropout_word(s, io, i, shift, 0, c[0], c[0], bits);
        trainopt__dropout_word(s, io, i + 16, 16 + shift, 0, c[1], c[1], bits);
        trainopt__dropout_word(s, io, i + 32, 32 + shift, 0, c[2], c[2], bits);
        trainopt__dropout_word(s, io, i + 48, 48 + shift, 0, c[3], c[3], bits);
    } else { /* rare: 2^-16 per element */
        trainopt__vi d[4];
        trainopt__philox_blocks(d, b, 1u, key);
        trainopt__dropout_word(s, io, i, shift, 1, c[0], d[0], bits);
        trainopt__dropout_word(s, io, i + 16, 16 + shift, 1, c[1], d[1], bits);
        trainopt__dropout_word(s, io, i + 32, 32 + shift, 1, c[2], d[2], bits);
        trainopt__dropout_word(s, io, i + 48, 48 + shift, 1, c[3], d[3], bits);
    }
}

/* ngroups (1 or 2) whole 128-element groups: e = E .. (E a multiple of 128) at call
   indices ib ..; batches through Philox two at a time, as trainopt__rng_groups. */
TRAINOPT__FORCE_INLINE void trainopt__dropout_groups(int has_mask, const trainopt__rng_scalars *s, trainopt__rng_io *io,
                                                     const trainopt__philox_key *key, uint64_t e, size_t ib, size_t ngroups) {
    const size_t batches = ngroups * (16 / TRAINOPT_SIMD_LANES);
    uint64_t bits[2][2] = {{0, 0}, {0, 0}};
    size_t q, g;
    for (q = 0; q < batches; q += 2) {
        const trainopt__batch t0 = trainopt__batch_at(e, q, 7);
        trainopt__vi c[4], d[4];
        if (q + 1 < batches) {
            const trainopt__batch t1 = trainopt__batch_at(e, q + 1, 7);
            trainopt__philox_blocks2(c, t0.b, d, t1.b, 0u, key);
            trainopt__dropout_batch(s, io, key, t0.b, ib + 128 * t0.g + t0.j0, (int)t0.j0, c, bits[t0.g]);
            trainopt__dropout_batch(s, io, key, t1.b, ib + 128 * t1.g + t1.j0, (int)t1.j0, d, bits[t1.g]);
        } else {
            trainopt__philox_blocks(c, t0.b, 0u, key);
            trainopt__dropout_batch(s, io, key, t0.b, ib + 128 * t0.g + t0.j0, (int)t0.j0, c, bits[t0.g]);
        }
    }
    if (has_mask)
        for (g = 0; g < ngroups; g++) {
            trainopt__bitw_put64(&io->bw, bits[g][0]);
            trainopt__bitw_put64(&io->bw, bits[g][1]);
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
    bits = trainopt__dropout_lanes(s, io, i, k, 0, trainopt__vi_ge(draw, trainopt__vi_set1(s->threshold)));
    if (has_mask) trainopt__bitw_put(&io->bw, bits & (uint32_t)((1ull << k) - 1u), (unsigned)k);
}

TRAINOPT__FORCE_INLINE void trainopt__rng_run(int kind, int has_mask, const trainopt__rng_scalars *s, trainopt__rng_io *io, size_t n) {
    const size_t group = kind == TRAINOPT__RNG_DROPOUT ? 128 : 64;
    trainopt__philox_key key;
    size_t head = (size_t)((group - (s->offset & (group - 1))) & (group - 1)), i = 0, end, k, ngroups;
    trainopt__philox_key_init(&key, trainopt__vi_set1((uint32_t)s->seed), trainopt__vi_set1((uint32_t)(s->seed >> 32)));
    if (head > n) head = n;
    end = head + (n - head) / group * group;
    for (; i < head; i += k) {
        k = head - i < TRAINOPT_SIMD_LANES ? head - i : TRAINOPT_SIMD_LANES;
        if (kind == TRAINOPT__RNG_DROPOUT) trainopt__dropout_partial(has_mask, s, io, &key, i, k);
        else trainopt__rng_partial(kind, s, io, &key, i, k);
    }
    for (; i < end; i += ngroups * group) {
        ngroups = end - i >= 2 * group ? 2 : 1;
        if (kind == TRAINOPT__RNG_DROPOUT) trainopt__dropout_groups(has_mask, s, io, &key, s->offset + i, i, ngroups);
        else trainopt__rng_groups(kind, s, io, &key, s->offset + i, i, ngroups);
    }
    for (; i < n; i += k) {
        k = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        if (kind == TRAINOPT__RNG_DROPOUT) trainopt__dropout_partial(has_mask, s, io, &key, i, k);
        else trainopt__rng_partial(kind, s, io, &key, i, k);
    }
    if (kind == TRAINOPT__RNG_DROPOUT && has_mask) trainopt__bitw_flush(&io->bw);
}

/* The drivers of the float fills, each shared by rand_<kind> and the initializers:
   s and io copied to locals, which the output's stores cannot change (the loop then
   keeps the scalars in registers). */
TRAINOPT__DRIVER void trainopt__rng_fill_uniform(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t n) {
    const trainopt__rng_scalars ls = *s;
    trainopt__rng_io lio = *io;
    trainopt__rng_run(TRAINOPT__RNG_UNIFORM, 0, &ls, &lio, n);
}
TRAINOPT__DRIVER void trainopt__rng_fill_normal(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t n) {
    const trainopt__rng_scalars ls = *s;
    trainopt__rng_io lio = *io;
    trainopt__rng_run(TRAINOPT__RNG_NORMAL, 0, &ls, &lio, n);
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

/* A validated fill: what kind of value to draw for elements [0, n) into y (or u), with
   which scalars. Element i is a pure function of (seed, offset + i), so any range of it
   is drawn alone by moving the offset (>>parallel-random). */
typedef struct {
    int kind; /* TRAINOPT__RNG_U32, _UNIFORM, _NORMAL or _TRUNC */
    size_t n; /* 0: nothing to draw */
    trainopt__rng_scalars s;
    float *y;
    uint32_t *u;
} trainopt__rng_fill;

TRAINOPT__FORCE_INLINE void trainopt__rng_fill_init(trainopt__rng_fill *f, int kind, uint64_t seed, uint64_t offset, size_t n,
                                                    float *y, uint32_t *u) {
    trainopt__rng_io unused;
    trainopt__rng_init(&f->s, &unused, seed, offset);
    f->kind = kind, f->n = n, f->y = y, f->u = u;
}

/* Elements [at, at + len) of a fill, exactly as the whole call draws them. */
TRAINOPT__DRIVER void trainopt__rng_fill_range(const trainopt__rng_fill *f, size_t at, size_t len) {
    trainopt__rng_scalars s = f->s;
    trainopt__rng_io io;
    memset(&io, 0, sizeof io);
    s.offset += at; /* (mod 2^64, as the element index) */
    io.y = f->y ? f->y + at : NULL;
    io.u = f->u ? f->u + at : NULL;
    if (f->kind == TRAINOPT__RNG_U32) trainopt__rng_run(TRAINOPT__RNG_U32, 0, &s, &io, len);
    else if (f->kind == TRAINOPT__RNG_UNIFORM) trainopt__rng_fill_uniform(&s, &io, len);
    else if (f->kind == TRAINOPT__RNG_NORMAL) trainopt__rng_fill_normal(&s, &io, len);
    else trainopt__rng_run(TRAINOPT__RNG_TRUNC, 0, &s, &io, len);
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__check_out(size_t n, const float *out, const char *fn) {
    if (out == NULL) return trainopt__once_null(fn, "out");
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    return TRAINOPT_OK;
}

/* The checks and the fill of trainopt_rand_u32 (named fn). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__rand_u32_plan(uint64_t seed, uint64_t offset, size_t n, uint32_t *out,
                                                               trainopt__rng_fill *f, const char *fn) {
    trainopt__rng_fill_init(f, TRAINOPT__RNG_U32, seed, offset, 0, NULL, out);
    if (n == 0) return TRAINOPT_OK;
    if (out == NULL) return trainopt__once_null(fn, "out");
    if (n > SIZE_MAX / sizeof(uint32_t)) return trainopt__once_too_long(fn, "n", n);
    f->n = n;
    return TRAINOPT_OK;
}

/* out[i] = the 32-bit word of element offset + i (see the manual for the mapping). */
TRAINOPT__KERNEL_API trainopt_status trainopt_rand_u32(uint64_t seed, uint64_t offset, size_t n, uint32_t *out) {
    trainopt__rng_fill f;
    const trainopt_status st = trainopt__rand_u32_plan(seed, offset, n, out, &f, "trainopt_rand_u32");
    if (st == TRAINOPT_OK && f.n > 0) trainopt__rng_fill_range(&f, 0, f.n);
    return st;
}

/* The checks and the fill of trainopt_rand_uniform (named fn). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__rand_uniform_plan(uint64_t seed, uint64_t offset, size_t n, double lo,
                                                                   double hi, float *out, trainopt__rng_fill *f,
                                                                   const char *fn) {
    trainopt_status st;
    trainopt__rng_fill_init(f, TRAINOPT__RNG_UNIFORM, seed, offset, 0, out, NULL);
    if (!trainopt__float_range(lo)) return trainopt__once_hparam(fn, "lo", lo, "is not finite within float range");
    if (!trainopt__float_range(hi)) return trainopt__once_hparam(fn, "hi", hi, "is not finite within float range");
    if (!(lo <= hi)) return trainopt__once_hparam(fn, "hi", hi, "is below lo");
    if (!trainopt__float_range(hi - lo)) return trainopt__once_hparam(fn, "hi - lo", hi - lo, "is not finite within float range");
    if (n == 0) return TRAINOPT_OK;
    if ((st = trainopt__check_out(n, out, fn)) != TRAINOPT_OK) return st;
    f->s.mul = (float)(hi - lo);
    f->s.add = (float)lo;
    f->n = n;
    return TRAINOPT_OK;
}

/* Uniform on [lo, hi) (hi itself only by rounding), as torch.Tensor.uniform_(lo, hi). */
TRAINOPT__KERNEL_API trainopt_status trainopt_rand_uniform(uint64_t seed, uint64_t offset, size_t n, double lo, double hi, float *out) {
    trainopt__rng_fill f;
    const trainopt_status st = trainopt__rand_uniform_plan(seed, offset, n, lo, hi, out, &f, "trainopt_rand_uniform");
    if (st == TRAINOPT_OK && f.n > 0) trainopt__rng_fill_range(&f, 0, f.n);
    return st;
}

/* The checks and the fill of trainopt_rand_normal (named fn). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__rand_normal_plan(uint64_t seed, uint64_t offset, size_t n, double mean,
                                                                  double std, float *out, trainopt__rng_fill *f,
                                                                  const char *fn) {
    trainopt_status st;
    trainopt__rng_fill_init(f, TRAINOPT__RNG_NORMAL, seed, offset, 0, out, NULL);
    if (!trainopt__float_range(mean)) return trainopt__once_hparam(fn, "mean", mean, "is not finite within float range");
    if (!trainopt__float_range(std) || std < 0.0) return trainopt__once_hparam(fn, "std", std, "is not a number >= 0 within float range");
    if (n == 0) return TRAINOPT_OK;
    if ((st = trainopt__check_out(n, out, fn)) != TRAINOPT_OK) return st;
    f->s.mul = (float)std;
    f->s.add = (float)mean;
    f->n = n;
    return TRAINOPT_OK;
}

/* Normal(mean, std^2), as torch.Tensor.normal_(mean, std); std == 0 gives mean. */
TRAINOPT__KERNEL_API trainopt_status trainopt_rand_normal(uint64_t seed, uint64_t offset, size_t n, double mean, double std, float *out) {
    trainopt__rng_fill f;
    const trainopt_status st = trainopt__rand_normal_plan(seed, offset, n, mean, std, out, &f, "trainopt_rand_normal");
    if (st == TRAINOPT_OK && f.n > 0) trainopt__rng_fill_range(&f, 0, f.n);
    return st;
}

/* >>dropout */
/* fn: the function the errors name (the threaded forms share these checks). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__dropout_check_fn(double p, size_t n, const float *x, const float *y,
                                                                  const uint8_t *mask, int backward, const char *fn) {
    size_t bytes;
    if (!(p >= 0.0 && p <= 1.0)) return trainopt__once_hparam(fn, "p", p, TRAINOPT__WHY_0_1); /* NaN fails too */
    if (n == 0) return TRAINOPT_OK;
    if (x == NULL) return trainopt__once_null(fn, backward ? "dy" : "x");
    if (y == NULL) return trainopt__once_null(fn, backward ? "dx" : "y");
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    bytes = n * sizeof(float);
    if (x != y && trainopt__overlap(x, bytes, y, bytes))
        return trainopt__once_alias(fn, backward ? "dy" : "x", backward ? "dx (they may be the same array, not partly)"
                                                                       : "y (they may be the same array, not partly)");
    if (mask && trainopt__overlap(mask, (n + 7) / 8, x, bytes)) return trainopt__once_alias(fn, "mask", backward ? "dy" : "x");
    if (mask && trainopt__overlap(mask, (n + 7) / 8, y, bytes)) return trainopt__once_alias(fn, "mask", backward ? "dx" : "y");
    return TRAINOPT_OK;
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__dropout_check(double p, size_t n, const float *x, const float *y,
                                                               const uint8_t *mask, int backward) {
    return trainopt__dropout_check_fn(p, n, x, y, mask, backward,
                                      backward ? "trainopt_dropout_backward" : "trainopt_dropout_forward");
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

/* Dropout's loops, one per mask setting, each in a function of its own (sharing
   one function, both loops compiled worse: +10% instructions on avx2); s and io
   copied to locals as in the fills. */
TRAINOPT__DRIVER void trainopt__dropout_run(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t n) {
    const trainopt__rng_scalars ls = *s;
    trainopt__rng_io lio = *io;
    trainopt__rng_run(TRAINOPT__RNG_DROPOUT, 0, &ls, &lio, n);
}
TRAINOPT__DRIVER void trainopt__dropout_run_mask(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t n) {
    const trainopt__rng_scalars ls = *s;
    trainopt__rng_io lio = *io;
    trainopt__rng_run(TRAINOPT__RNG_DROPOUT, 1, &ls, &lio, n);
}

/* The shared body of forward and regenerating backward: y from x with the keep bits of
   (seed, offset). total: the length of the whole call this range belongs to (>>parallel-dropout
   runs pieces of one), which decides the kind of store. */
TRAINOPT__FORCE_INLINE void trainopt__dropout_apply(double p, uint64_t seed, uint64_t offset, size_t n, const float *x, float *y,
                                                    uint8_t *mask, size_t total) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    if (p == 0.0 || p == 1.0) {
        /* memmove, not memcpy: x and y do not overlap here (dropout_check refused it),
           but once the loops are out of line gcc inlines this into callers whose
           overlapping constants reach -Wrestrict, which cannot see the check. */
        if (p == 0.0 && x != y) memmove(y, x, n * sizeof(float));
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
    /* From TRAINOPT_STREAM_BYTES on, y goes out with streaming stores where one
       vector is one whole 64-byte line (AVX-512): 8-19% faster at 16M on Zen 4.
       Where a vector is half a line (AVX2) the group's order of stores (i, i+64,
       i+16, ...) writes a line's halves in different batches, and streamed it ran
       0.85-1.08x: ordinary stores there (bench/FINDINGS.md, "Dropout and the
       generator"). The groups start at call index head = (-offset) % 128, their
       vectors LANES apart. */
    io.stream = TRAINOPT__VECTOR_IS_LINE && total >= TRAINOPT_STREAM_BYTES / sizeof(float) &&
                (uintptr_t)(y + ((128 - offset % 128) % 128)) % TRAINOPT__STREAM_ALIGN == 0;
    if (mask) trainopt__dropout_run_mask(&s, &io, n);
    else trainopt__dropout_run(&s, &io, n);
    if (io.stream) trainopt__stream_fence();
}

TRAINOPT__KERNEL_API trainopt_status trainopt_dropout_forward(double p, uint64_t seed, uint64_t offset, size_t n, const float *x, float *y,
                                                     uint8_t *mask) {
    trainopt_status st = trainopt__dropout_check(p, n, x, y, mask, 0);
    if (st != TRAINOPT_OK || n == 0) return st;
    trainopt__dropout_apply(p, seed, offset, n, x, y, mask, n);
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

/* The backward pass of a checked call (shared with >>parallel-dropout's pieces). */
TRAINOPT__FORCE_INLINE void trainopt__dropout_backward_body(double p, uint64_t seed, uint64_t offset, size_t n, const float *dy,
                                                            float *dx, const uint8_t *mask, size_t total) {
    if (mask == NULL) {
        trainopt__dropout_apply(p, seed, offset, n, dy, dx, NULL, total);
    } else if (p == 1.0) {
        trainopt__scale_loop(n, 0.0f, dy, dx);
    } else if (p == 0.0) {
        trainopt__dropout_mask_loop(n, 1, 1.0f, dy, dx, mask);
    } else {
        trainopt__dropout_mask_loop(n, 0, (float)(1.0 / (1.0 - p)), dy, dx, mask);
    }
}

TRAINOPT__KERNEL_API trainopt_status trainopt_dropout_backward(double p, uint64_t seed, uint64_t offset, size_t n, const float *dy,
                                                      float *dx, const uint8_t *mask) {
    trainopt_status st = trainopt__dropout_check(p, n, dy, dx, mask, 1);
    if (st != TRAINOPT_OK || n == 0) return st;
    trainopt__dropout_backward_body(p, seed, offset, n, dy, dx, mask, n);
    return TRAINOPT_OK;
}

/* >>init */

/* The product rounded on its own, as Python rounds it before the sum that follows
   (volatile keeps -ffp-contract from fusing it into that sum). */
TRAINOPT__FORCE_INLINE double trainopt__mul_rounded(double a, double b) {
    volatile double p = a * b;
    return p;
}

/* torch.nn.init.calculate_gain; `param` is leaky_relu's negative slope (PyTorch's
   default is 0.01) and is ignored by the others. NaN for an unknown nonlinearity
   or a non-finite slope. */
TRAINOPT__KERNEL_API double trainopt_calculate_gain(trainopt_nonlinearity nl, double param) {
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
TRAINOPT__KERNEL_API trainopt_status trainopt_calculate_fans(size_t ndim, const size_t *shape, size_t *fan_in, size_t *fan_out) {
    static const char fn[] = "trainopt_calculate_fans";
    size_t receptive = 1, d;
    if (shape == NULL) return trainopt__once_null(fn, "shape");
    if (fan_in == NULL) return trainopt__once_null(fn, "fan_in");
    if (fan_out == NULL) return trainopt__once_null(fn, "fan_out");
    if (ndim < 2)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "ndim = %zu: fans need at least 2 dimensions (PyTorch: Fan in "
                                                           "and fan out can not be computed for tensor with fewer than 2 dimensions)",
                                   ndim);
    for (d = 2; d < ndim; d++) {
        if (shape[d] != 0 && receptive > SIZE_MAX / shape[d])
            return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "the product of shape[2..%zu] overflows size_t", d);
        receptive *= shape[d];
    }
    if ((receptive != 0 && shape[1] > SIZE_MAX / receptive) || (receptive != 0 && shape[0] > SIZE_MAX / receptive))
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "a fan (shape[0 or 1] times the receptive field) overflows size_t");
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

/* Shared tail of the initializers' checks: the fill U(-bound, bound) or N(0, std). */
TRAINOPT__FORCE_INLINE void trainopt__init_plan(int normal, size_t n, double scale, trainopt__rng_fill *f) {
    f->n = n;
    if (normal) {
        f->kind = TRAINOPT__RNG_NORMAL;
        f->s.mul = (float)scale;
        f->s.add = 0.0f;
    } else {
        /* PyTorch: uniform_(-bound, bound), i.e. u * (bound - -bound) + -bound */
        f->kind = TRAINOPT__RNG_UNIFORM;
        f->s.mul = (float)(2.0 * scale);
        f->s.add = (float)-scale;
    }
}

/* The checks and the fill of the Xavier initializers (named fn). */
TRAINOPT__DRIVER trainopt_status trainopt__xavier(int normal, uint64_t seed, uint64_t offset, size_t n, size_t fan_in,
                                                  size_t fan_out, double gain, float *out, trainopt__rng_fill *f,
                                                  const char *fn) {
    double std;
    trainopt_status st;
    trainopt__rng_fill_init(f, TRAINOPT__RNG_UNIFORM, seed, offset, 0, out, NULL);
    if (!trainopt__finite(gain) || gain < 0.0) return trainopt__once_hparam(fn, "gain", gain, TRAINOPT__WHY_NONNEG);
    if (n == 0) return TRAINOPT_OK;
    std = trainopt__xavier_std(fan_in, fan_out, gain);
    if (std < 0.0)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "fan_in = %zu, fan_out = %zu: both must be > 0 and their sum "
                                                           "fit in size_t", fan_in, fan_out);
    if (!normal) std = sqrt(3.0) * std; /* the bound */
    if (!trainopt__float_range(2.0 * std)) /* a gain too large for float */
        return trainopt__once_hparam(fn, "gain", gain, "makes the deviation overflow float");
    if ((st = trainopt__check_out(n, out, fn)) != TRAINOPT_OK) return st;
    trainopt__init_plan(normal, n, std, f);
    return TRAINOPT_OK;
}

/* torch.nn.init.xavier_uniform_: U(-a, a), a = gain * sqrt(2 / (fan_in + fan_out)) * sqrt(3). */
TRAINOPT__KERNEL_API trainopt_status trainopt_xavier_uniform(uint64_t seed, uint64_t offset, size_t n, size_t fan_in, size_t fan_out,
                                                    double gain, float *out) {
    trainopt__rng_fill f;
    const trainopt_status st = trainopt__xavier(0, seed, offset, n, fan_in, fan_out, gain, out, &f, "trainopt_xavier_uniform");
    if (st == TRAINOPT_OK && f.n > 0) trainopt__rng_fill_range(&f, 0, f.n);
    return st;
}

/* torch.nn.init.xavier_normal_: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)). */
TRAINOPT__KERNEL_API trainopt_status trainopt_xavier_normal(uint64_t seed, uint64_t offset, size_t n, size_t fan_in, size_t fan_out,
                                                   double gain, float *out) {
    trainopt__rng_fill f;
    const trainopt_status st = trainopt__xavier(1, seed, offset, n, fan_in, fan_out, gain, out, &f, "trainopt_xavier_normal");
    if (st == TRAINOPT_OK && f.n > 0) trainopt__rng_fill_range(&f, 0, f.n);
    return st;
}

/* The checks and the fill of the Kaiming initializers (named fn). */
TRAINOPT__DRIVER trainopt_status trainopt__kaiming(int normal, const trainopt_kaiming_config *c, uint64_t seed,
                                                   uint64_t offset, size_t n, size_t fan_in, size_t fan_out, float *out,
                                                   trainopt__rng_fill *f, const char *fn) {
    double std, gain;
    trainopt_status st;
    trainopt__rng_fill_init(f, TRAINOPT__RNG_UNIFORM, seed, offset, 0, out, NULL);
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    gain = trainopt_calculate_gain(c->nonlinearity, c->a); /* NaN for an unknown nonlinearity */
    if (c->mode != TRAINOPT_FAN_IN && c->mode != TRAINOPT_FAN_OUT)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "mode = %d is not TRAINOPT_FAN_IN or TRAINOPT_FAN_OUT", (int)c->mode);
    if (!trainopt__finite(c->a)) return trainopt__once_hparam(fn, "a", c->a, TRAINOPT__WHY_FINITE);
    if (gain != gain)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "nonlinearity = %d is not a trainopt_nonlinearity",
                                   (int)c->nonlinearity);
    if (n == 0) return TRAINOPT_OK;
    std = trainopt__kaiming_std(c, fan_in, fan_out);
    if (std < 0.0)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "%s = 0 (the fan the mode uses)",
                                   c->mode == TRAINOPT_FAN_IN ? "fan_in" : "fan_out");
    if ((st = trainopt__check_out(n, out, fn)) != TRAINOPT_OK) return st;
    trainopt__init_plan(normal, n, normal ? std : sqrt(3.0) * std, f);
    return TRAINOPT_OK;
}

/* torch.nn.init.kaiming_uniform_: U(-b, b), b = sqrt(3) * calculate_gain(nl, a) / sqrt(fan). */
TRAINOPT__KERNEL_API trainopt_status trainopt_kaiming_uniform(const trainopt_kaiming_config *c, uint64_t seed, uint64_t offset, size_t n,
                                                     size_t fan_in, size_t fan_out, float *out) {
    trainopt__rng_fill f;
    const trainopt_status st = trainopt__kaiming(0, c, seed, offset, n, fan_in, fan_out, out, &f, "trainopt_kaiming_uniform");
    if (st == TRAINOPT_OK && f.n > 0) trainopt__rng_fill_range(&f, 0, f.n);
    return st;
}

/* torch.nn.init.kaiming_normal_: N(0, std^2), std = calculate_gain(nl, a) / sqrt(fan). */
TRAINOPT__KERNEL_API trainopt_status trainopt_kaiming_normal(const trainopt_kaiming_config *c, uint64_t seed, uint64_t offset, size_t n,
                                                    size_t fan_in, size_t fan_out, float *out) {
    trainopt__rng_fill f;
    const trainopt_status st = trainopt__kaiming(1, c, seed, offset, n, fan_in, fan_out, out, &f, "trainopt_kaiming_normal");
    if (st == TRAINOPT_OK && f.n > 0) trainopt__rng_fill_range(&f, 0, f.n);
    return st;
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

/* The checks and the fill of trainopt_trunc_normal (named fn). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__trunc_normal_plan(const trainopt_trunc_normal_config *c, uint64_t seed,
                                                                   uint64_t offset, size_t n, float *out,
                                                                   trainopt__rng_fill *f, const char *fn) {
    trainopt_status st;
    trainopt__rng_fill_init(f, TRAINOPT__RNG_TRUNC, seed, offset, 0, out, NULL);
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__float_range(c->mean)) return trainopt__once_hparam(fn, "mean", c->mean, "is not finite within float range");
    if (!trainopt__float_range(c->std) || !(c->std > 0.0) || !trainopt__float_range(c->std * sqrt(2.0)))
        return trainopt__once_hparam(fn, "std", c->std, "is not a number > 0 within float range (times sqrt(2))");
    if (!trainopt__float_range(c->a)) return trainopt__once_hparam(fn, "a", c->a, "is not finite within float range");
    if (!trainopt__float_range(c->b)) return trainopt__once_hparam(fn, "b", c->b, "is not finite within float range");
    if (!(c->a <= c->b)) return trainopt__once_hparam(fn, "b", c->b, "is below a");
    if (n == 0) return TRAINOPT_OK;
    if ((st = trainopt__check_out(n, out, fn)) != TRAINOPT_OK) return st;
    trainopt__trunc_normal_scalars(c, &f->s);
    f->n = n;
    return TRAINOPT_OK;
}

/* torch.nn.init.trunc_normal_: N(mean, std^2) truncated to [a, b] by the inverse CDF. */
TRAINOPT__KERNEL_API trainopt_status trainopt_trunc_normal(const trainopt_trunc_normal_config *c, uint64_t seed, uint64_t offset, size_t n,
                                                  float *out) {
    trainopt__rng_fill f;
    const trainopt_status st = trainopt__trunc_normal_plan(c, seed, offset, n, out, &f, "trainopt_trunc_normal");
    if (st == TRAINOPT_OK && f.n > 0) trainopt__rng_fill_range(&f, 0, f.n);
    return st;
}
