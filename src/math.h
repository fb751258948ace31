/* >>math: exp, log and log1p from vector-layer ops only (v_round, v_fma, integer ops
   for the exponent), so every backend computes the same bits. Maximum errors against
   double libm, measured over every float of the range (exhaustively, AVX-512 build; the
   suite's math_ulp test re-measures every 4099th float on every backend, and every float
   with TRAINOPT_ULP_STRIDE=1 in the environment):
     trainopt__v_exp    x in [-104, 89], results down to the subnormals   0.91 ulp
     trainopt__v_log    x in (0, FLT_MAX], subnormal x included            0.76 ulp (0.7517)
     trainopt__v_log1p  x in [0, 1]                                        1.21 ulp
                        x in (-1, 0]                                       1.44 ulp (1.4375)
   The outputs of all three over all 2^32 inputs hash identically on scalar, avx2, avx512
   and neon (SIMDe), and over every 31st input on native AArch64 (neon and scalar, qemu).
   Specials: exp(-Inf) = exp(x < -103.98) = 0, exp(+Inf) = exp(x > 88.7228) = +Inf,
   log(+-0) = -Inf, log(+Inf) = +Inf, log1p(+-0) = +-0; NaN in, or log of a negative
   number, gives the canonical NaN 0x7fc00000. Cost per vector: exp ~16 ops (~26 when a
   lane is outside |x| < 86), log ~25 ops including one division, log1p log + 5. */
#define TRAINOPT__CANON_NAN_BITS 0x7fc00000u

/* NaN lanes become the canonical quiet NaN: x86 and ARM create different NaN bits for
   Inf - Inf or 0 * Inf, and propagate different payloads when two operands are NaN. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_canon_nan(trainopt__vf v) {
    return trainopt__v_select(trainopt__v_unord(v, v), trainopt__v_from_bits(trainopt__vi_set1(TRAINOPT__CANON_NAN_BITS)), v);
}

/* 2^k for integer-valued k in [-126, 127] (as a float vector). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_pow2i(trainopt__vf k) {
    return trainopt__v_from_bits(trainopt__vi_shl(trainopt__v_to_i(trainopt__v_add(k, trainopt__v_set1(127.0f))), 23));
}

/* exp(x) = 2^k * exp(r), k = round(x / ln2) (one fma with 1.5*2^23 rounds x*log2(e) to an
   integer without rounding the product first), r = x - k*ln2 in about [-ln2/2, ln2/2]
   (Cody-Waite with ln2_hi exact in 15 bits, so k * ln2_hi and x - k * ln2_hi are exact),
   exp(r) by a degree-6 minimax polynomial (relative error 3e-9) in Horner form.
   *t receives k + 1.5*2^23 (its bits minus those of 1.5*2^23 are k as an integer). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__exp_reduced(trainopt__vf x, trainopt__vf *t) {
    const trainopt__vf magic = trainopt__v_set1(12582912.0f), one = trainopt__v_set1(1.0f); /* 1.5 * 2^23 */
    trainopt__vf k, r, p;
    *t = trainopt__v_fma(x, trainopt__v_set1(1.44269502162933349609375f), magic);
    k = trainopt__v_sub(*t, magic);
    r = trainopt__v_fnma(k, trainopt__v_set1(0.693145751953125f), x);
    r = trainopt__v_fnma(k, trainopt__v_set1(1.428606765330187045e-06f), r);
    p = trainopt__v_fma(trainopt__v_set1(1.3814467238262296e-03f), r, trainopt__v_set1(8.3687808364629745e-03f));
    p = trainopt__v_fma(p, r, trainopt__v_set1(4.1668392717838287e-02f));
    p = trainopt__v_fma(p, r, trainopt__v_set1(1.6666519641876221e-01f));
    p = trainopt__v_fma(p, r, trainopt__v_set1(4.9999994039535522e-01f));
    p = trainopt__v_fma(p, r, one);
    return trainopt__v_fma(p, r, one); /* in [0.70, 1.42] */
}

/* When every lane has |x| < 86 (k in [-125, 125]: result and 2^k normal), 2^k goes straight
   into the exponent field. Otherwise x is clamped to [-150, 100] and 2^k applied as two
   factors, so that results near overflow and in the subnormal range are rounded once, and
   NaN lanes become the canonical NaN. A lane gets the same bits either way (scaling a normal
   result by 2^k is exact), so the choice, made per vector, does not depend on the width. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_exp(trainopt__vf x) {
    trainopt__vf t, p;
    if (trainopt__m_bits(trainopt__m_not(trainopt__v_lt(trainopt__v_abs(x), trainopt__v_set1(86.0f)))) == 0) {
        p = trainopt__exp_reduced(x, &t);
        return trainopt__v_from_bits(trainopt__vi_add(trainopt__v_bits(p),
                                                      trainopt__vi_shl(trainopt__vi_sub(trainopt__v_bits(t), trainopt__vi_set1(0x4b400000u)), 23)));
    } else {
        /* x86-semantics min/max turn NaN into the bound (fixed below) */
        const trainopt__vf xc = trainopt__v_max(trainopt__v_min(x, trainopt__v_set1(100.0f)), trainopt__v_set1(-150.0f));
        trainopt__vf k, k1;
        p = trainopt__exp_reduced(xc, &t);
        k = trainopt__v_sub(t, trainopt__v_set1(12582912.0f));
        k1 = trainopt__v_round(trainopt__v_mul(k, trainopt__v_set1(0.5f)));
        p = trainopt__v_mul(trainopt__v_mul(p, trainopt__v_pow2i(k1)), trainopt__v_pow2i(trainopt__v_sub(k, k1)));
        return trainopt__v_select(trainopt__v_unord(x, x), trainopt__v_from_bits(trainopt__vi_set1(TRAINOPT__CANON_NAN_BITS)), p);
    }
}

/* log(x) = n*ln2 + log(m), x = 2^n * m with m in [2/3, 4/3), f = m - 1 (exact),
   log(m) = f - (f^2/2 - s*(f^2/2 + R(s^2))), s = f / (2 + f), R a degree-4 minimax fit of
   2*atanh(s)/s - 2 (the fdlibm scheme: the rounding of s only touches a small correction).
   Subnormal x is scaled by 2^23 first. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_log(trainopt__vf x) {
    const trainopt__vm tiny = trainopt__v_lt(x, trainopt__v_set1(1.17549435082228750797e-38f)); /* FLT_MIN */
    const trainopt__vf xs = trainopt__v_select(tiny, trainopt__v_mul(x, trainopt__v_set1(8388608.0f)), x);
    const trainopt__vi bits = trainopt__v_bits(xs);
    /* bits + (0x3f800000 - bits(2/3)): its exponent field is n + 127 (x > 0 finite: no wrap). */
    const trainopt__vi t = trainopt__vi_add(bits, trainopt__vi_set1(0x00555555u));
    const trainopt__vf m = trainopt__v_from_bits(
        trainopt__vi_add(trainopt__vi_sub(bits, trainopt__vi_and(t, trainopt__vi_set1(0xff800000u))), trainopt__vi_set1(0x3f800000u)));
    const trainopt__vf n = trainopt__v_sub(trainopt__v_sub(trainopt__vi_to_f(trainopt__vi_shr(t, 23)), trainopt__v_set1(127.0f)),
                                           trainopt__v_select(tiny, trainopt__v_set1(23.0f), trainopt__v_zero()));
    const trainopt__vf f = trainopt__v_sub(m, trainopt__v_set1(1.0f));
    const trainopt__vf s = trainopt__v_div(f, trainopt__v_add(f, trainopt__v_set1(2.0f)));
    const trainopt__vf z = trainopt__v_mul(s, s);
    const trainopt__vf hf = trainopt__v_mul(f, trainopt__v_set1(0.5f));
    trainopt__vf r, u, w, y;
    r = trainopt__v_fma(trainopt__v_set1(2.4100503325462341e-01f), z, trainopt__v_set1(2.8506994247436523e-01f));
    r = trainopt__v_fma(r, z, trainopt__v_set1(4.0000864863395691e-01f));
    r = trainopt__v_fma(r, z, trainopt__v_set1(6.6666662693023682e-01f));
    /* Every product that meets a sum is inside an fma: f^2/2 is never rounded on its own. */
    r = trainopt__v_fma(hf, f, trainopt__v_mul(r, z));                                  /* f^2/2 + R */
    u = trainopt__v_fma(s, r, trainopt__v_mul(n, trainopt__v_set1(1.428606765330187045e-06f))); /* s*(..) + n*ln2_lo */
    w = trainopt__v_fma(hf, f, trainopt__v_xor_bits(u, 0x80000000u));                   /* f^2/2 - u */
    y = trainopt__v_fma(n, trainopt__v_set1(0.693145751953125f), trainopt__v_sub(f, w));
    y = trainopt__v_select(trainopt__v_eq(x, trainopt__v_set1(INFINITY)), x, y);
    y = trainopt__v_select(trainopt__v_eq(x, trainopt__v_zero()), trainopt__v_set1(-INFINITY), y);
    return trainopt__v_select(trainopt__m_or(trainopt__v_lt(x, trainopt__v_zero()), trainopt__v_unord(x, x)),
                              trainopt__v_from_bits(trainopt__vi_set1(TRAINOPT__CANON_NAN_BITS)), y);
}

/* log1p(x) for x in (-1, 1]: u = 1 + x, c = x - (u - 1) is u's rounding error exactly
   (Fast2Sum, |x| <= 1), and log1p(x) = log(u) + c/u. log1p(+-0) = +-0. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_log1p(trainopt__vf x) {
    const trainopt__vf one = trainopt__v_set1(1.0f);
    const trainopt__vf u = trainopt__v_add(x, one);
    const trainopt__vf c = trainopt__v_sub(x, trainopt__v_sub(u, one));
    const trainopt__vf y = trainopt__v_add(trainopt__v_log(u), trainopt__v_div(c, u));
    return trainopt__v_canon_nan(trainopt__v_select(trainopt__v_eq(x, trainopt__v_zero()), x, y));
}
