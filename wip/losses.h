/* wip/losses.h - fragment of trainopt.h: losses, regularization and gradient utilities.

   REGULARIZATION, GRADIENT UTILITIES AND LOSSES (DESIGN 4.5)
     Everything between the backward pass and the optimizer step. Sums go through
     the canonical blocked reduction (below), so every backend gives the same bits.

     Regularization (Keras' L1/L2/L1L2 convention, tf.keras.regularizers):
       trainopt_l1l2_penalty   *penalty = l1 * sum|w| + l2 * sum w^2   (a term with a zero
                               coefficient is skipped, as Keras does: l1 = 0 never gives 0*Inf)
       trainopt_l1l2_grad      grad += l1 * sign(w) + 2 * l2 * w        (sign(0) = 0)
     PyTorch has no L1 term; its optimizers' weight_decay wd adds wd * w to the gradient,
     which is trainopt_l1l2_grad with l1 = 0 and l2 = wd / 2 (and the penalty l2 * sum w^2
     with l2 = wd / 2 is the loss term it differentiates). AdamW's decoupled decay is not
     a gradient term at all: use trainopt_adamw_step's weight_decay for that.

     Gradient utilities:
       trainopt_clip_grad_value  g = clamp(g, -c, c)            torch.nn.utils.clip_grad_value_
                                 (NaN stays NaN, bits untouched)
       trainopt_clip_grad_norm   total = ||all gradients||_2; coef = max_norm / (total + 1e-6),
                                 clamped to 1; every g *= coef.  torch.nn.utils.clip_grad_norm_
                                 (L2). *total_norm is the report: when it is Inf or NaN the
                                 gradients hold Inf/NaN (or the squares overflowed float) and,
                                 as in PyTorch, they are multiplied by 0 or NaN. When coef is 1
                                 the gradients are not rewritten.
       trainopt_grad_unscale     g *= inv_scale; *found_inf = 1 if any input g is Inf/NaN, else
                                 *found_inf is left as it was (zero it before the first tensor),
                                 as torch.cuda.amp.GradScaler.unscale_ does
                                 (_amp_foreach_non_finite_check_and_unscale_).
       trainopt_sum_squares      sum of x^2 over many tensors (and the count of Inf/NaN
                                 elements): the global sum of squares, same bits everywhere.
       trainopt_grad_norm        the read-only half of clipping and unscaling: one pass over
                                 the (still scaled) gradients gives the unscaled L2 norm, the
                                 clip coefficient, found_inf, and grad_scale = inv_scale * coef,
                                 the single multiplier a fused optimizer step applies (with
                                 found_inf set it is inv_scale: still a valid grad_scale).
     Recommended training-loop sequence (AMP loss scale S, clipping at max_norm):
         backward(S * loss);                                      // gradients scaled by S
         trainopt_grad_norm_info info;
         trainopt_grad_norm(k, grads, lens, 1.0f / S, max_norm, &info);  // reads them once
         trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
         o.grad_scale = info.grad_scale;  o.found_inf = &info.found_inf;
         for (t = 0; t < k; t++)                                  // reads them again, or skips
             trainopt_adamw_step_ex(&cfg, step, lens[t], params[t], grads[t], m[t], v[t], NULL, &o);
         S = info.found_inf ? S * 0.5 : S;                        // GradScaler-style update
     instead of unscale (read + write), clip (read, then read + write) and step: two passes
     over the gradients, both read-only, instead of four, two of which also write them; and
     one rounding (g * grad_scale) instead of two.
     Without a fused step: trainopt_grad_unscale, then trainopt_clip_grad_norm, then the step.

     Losses (mean reduction, PyTorch 1.13; `grad` may be NULL, otherwise it receives
     d loss / d input):
       trainopt_mse_loss       loss = mean (p - t)^2;  grad = (p - t) * (float)(2/n)
                               (torch.nn.MSELoss, bit-identical gradient)
       trainopt_bce_with_logits  loss = mean [(1 - t) x + max(-x, 0) + log1p(exp(-|x|))];
                               grad = (sigmoid(x) - t) / n     (torch.nn.BCEWithLogitsLoss, no
                               weights; stable for any |x|; log1p where PyTorch uses log(1+e),
                               so large |x| is more accurate than PyTorch)
       trainopt_softmax_cross_entropy  logits [batch][classes], labels [batch]:
                               p = softmax(row), nll = -log p[label],
                               smooth = -sum_c log p[c],
                               loss = (1 - eps) * mean nll + (eps / classes) * mean smooth,
                               the means over rows whose label != ignore_index
                               (torch.nn.CrossEntropyLoss(ignore_index, label_smoothing=eps)).
                               grad = (p - (1 - eps) * onehot - eps / classes) / count on
                               counted rows, +0 on ignored rows. Stable for logits of any size
                               (the row max is subtracted); classes == 1 gives loss 0, grad 0.
     NaN and Inf are data, as in PyTorch: a row holding NaN or +Inf, or only -Inf, has NaN
     loss and NaN gradient (also when ignored: PyTorch's grad is then NaN too); a -Inf logit
     is a zero probability (an Inf loss if it is the label or eps > 0). Every row ignored, or
     n == 0, gives loss NaN (PyTorch's mean over nothing) and gradient +0.
     Exact in-place aliasing is allowed where a kernel is elementwise: grad may be the same
     pointer as pred/target (mse, bce) or logits (cross-entropy), and l1l2_grad's grad as
     param. Any other overlap, including of the scalar outputs, is TRAINOPT_ERR_ALIAS.

   ERRORS (in addition to the common ones)
     TRAINOPT_ERR_HPARAM  l1, l2, clip_value negative or not finite; max_norm negative or NaN
                          (+Inf is allowed: no clipping); inv_scale not finite or <= 0;
                          label_smoothing outside [0, 1] or NaN
     TRAINOPT_ERR_SHAPE   classes == 0 with batch > 0; batch * classes overflows
     TRAINOPT_ERR_INDEX   a label outside [0, classes) that is not ignore_index (PyTorch
                          raises "Target out of bounds")
     TRAINOPT_ERR_NULL    a required pointer is NULL (loss, penalty, found_inf, sum, info
                          included); grads[i] NULL with lens[i] > 0
   With nothing to sum (n == 0, batch == 0, k == 0) the scalar outputs get the empty
   result when their pointer is not NULL: loss NaN, penalty 0, total_norm 0, sum 0.

   PRECISION
     Reductions: elements go in blocks of 256; within a block element i goes to partial
     sum i % 16 through trainopt__acc16 (float, fixed tree), and the block sums are added
     in double, in order (across tensors too, in order). The result is the same on every
     backend and its error does not grow with n: about 1e-7 relative for same-sign terms
     at any n (2^21 squares: < 2e-7, tested), where 16 float partial sums alone lose 8e-5
     at n = 2^24.
     Scalars (means, norms, coefficients) are computed in double and rounded to float once.
     exp and log are the library's own (trainopt__v_exp, trainopt__v_log, trainopt__v_log1p,
     >>math): the same operations on every backend, so the same bits (checked over all
     2^32 inputs), and measured against double libm over every float of their ranges:
       exp    x in [-104, 89] (subnormal results included)   max 0.91 ulp
       log    x in (0, FLT_MAX] (subnormal x included)        max 0.76 ulp
       log1p  x in [0, 1] / (-1, 0]                           max 1.21 / 1.44 ulp
     Against PyTorch: loss within 1e-6 relative, gradients within 1e-6 of their largest
     magnitude (PyTorch sums in its own order; the tests hold both to that).
     NaN outputs that PyTorch would make from Inf - Inf or 0 * Inf are the canonical quiet
     NaN 0x7fc00000 here (x86 and ARM make different NaN bits from such operations).
*/

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

/* >>sumblock: the canonical blocked reduction of this family. Elements are taken in
   blocks of TRAINOPT__SUM_BLOCK (a multiple of 16); within a block element i goes to
   partial sum i % 16 of a trainopt__acc16 (float, combined by its fixed tree), and the
   block sums are added in double, in order. Same order on every backend, and the float
   part never sums more than 16 terms per partial. */
#define TRAINOPT__SUM_BLOCK 256

/* What one pass computes per element (compile-time constants at each call site). */
enum {
    TRAINOPT__RED_SUMSQ,   /* s0 += x^2 */
    TRAINOPT__RED_L1L2,    /* s0 += |x|, s1 += x^2 */
    TRAINOPT__RED_MSE,     /* d = x - y; s0 += d^2; out = d * scale */
    TRAINOPT__RED_BCE,     /* s0 += bce(x, y); out = (sigmoid(x) - y) / scale */
    TRAINOPT__RED_SOFTMAX  /* z = x - scale; e = exp(z); s0 += e; s1 += z; out = e */
};

typedef struct {
    const float *x, *y; /* inputs */
    float *out;         /* elementwise output, when the pass writes one */
    float scale;        /* MSE: 2/n; BCE: n; softmax: the row max */
} trainopt__red_args;

/* One vector of k <= LANES elements at offset i, accumulated into *s0 (and *s1). */
TRAINOPT__FORCE_INLINE void trainopt__red_lanes(int op, int write, int two, const trainopt__red_args *a, size_t i,
                                                size_t k, trainopt__vf *s0, trainopt__vf *s1) {
    const trainopt__vf x = trainopt__v_load_n(a->x + i, k);
    if (op == TRAINOPT__RED_SUMSQ) {
        *s0 = trainopt__v_fma(x, x, *s0);
    } else if (op == TRAINOPT__RED_L1L2) {
        *s0 = trainopt__v_add(*s0, trainopt__v_abs(x));
        *s1 = trainopt__v_fma(x, x, *s1);
    } else if (op == TRAINOPT__RED_MSE) {
        const trainopt__vf d = trainopt__v_sub(x, trainopt__v_load_n(a->y + i, k));
        *s0 = trainopt__v_fma(d, d, *s0);
        if (write) trainopt__v_store_n(a->out + i, trainopt__v_canon_nan(trainopt__v_mul(d, trainopt__v_set1(a->scale))), k);
    } else if (op == TRAINOPT__RED_BCE) {
        /* PyTorch's form (1 - t) x + max(-x, 0) + log(1 + e^-|x|), with log1p. */
        const trainopt__vf t = trainopt__v_load_n(a->y + i, k), one = trainopt__v_set1(1.0f);
        const trainopt__vf nx = trainopt__v_xor_bits(x, 0x80000000u);
        const trainopt__vf e = trainopt__v_exp(trainopt__v_xor_bits(trainopt__v_abs(x), 0x80000000u));
        trainopt__vf l = trainopt__v_fma(trainopt__v_sub(one, t), x, trainopt__v_max(nx, trainopt__v_zero()));
        l = trainopt__v_add(l, trainopt__v_log1p(e));
        *s0 = trainopt__v_add(*s0, trainopt__v_keep_first(l, k));
        if (write) {
            /* sigmoid(x) = 1/(1+e) for x >= 0, e/(1+e) below */
            const trainopt__vf num = trainopt__v_select(trainopt__v_lt(x, trainopt__v_zero()), e, one);
            const trainopt__vf sig = trainopt__v_div(num, trainopt__v_add(one, e));
            const trainopt__vf g = trainopt__v_div(trainopt__v_sub(sig, t), trainopt__v_set1(a->scale));
            trainopt__v_store_n(a->out + i, trainopt__v_canon_nan(g), k);
        }
    } else { /* TRAINOPT__RED_SOFTMAX */
        const trainopt__vf z = trainopt__v_sub(x, trainopt__v_set1(a->scale));
        const trainopt__vf e = trainopt__v_exp(z);
        *s0 = trainopt__v_add(*s0, trainopt__v_keep_first(e, k));
        if (two) *s1 = trainopt__v_add(*s1, trainopt__v_keep_first(z, k));
        if (write) trainopt__v_store_n(a->out + i, e, k);
    }
}

/* Blocked sums over [0, n), added to *t0 (and *t1) in order. The inner loop visits 16
   elements as ACC_VECS whole vectors, so the partial sums stay in registers. */
TRAINOPT__FORCE_INLINE void trainopt__red_run(int op, int write, int two, const trainopt__red_args *a, size_t n,
                                              double *t0, double *t1) {
    size_t b, i, j;
    for (b = 0; b < n; b += TRAINOPT__SUM_BLOCK) {
        const size_t end = n - b < TRAINOPT__SUM_BLOCK ? n : b + TRAINOPT__SUM_BLOCK;
        trainopt__acc16 a0, a1;
        trainopt__acc16_zero(&a0);
        trainopt__acc16_zero(&a1);
        for (i = b; i + 16 <= end; i += 16)
            for (j = 0; j < TRAINOPT__ACC_VECS; j++)
                trainopt__red_lanes(op, write, two, a, i + j * TRAINOPT_SIMD_LANES, TRAINOPT_SIMD_LANES, &a0.v[j], &a1.v[j]);
        for (j = 0; i < end; j++, i += TRAINOPT_SIMD_LANES)
            trainopt__red_lanes(op, write, two, a, i, end - i < TRAINOPT_SIMD_LANES ? end - i : TRAINOPT_SIMD_LANES, &a0.v[j],
                                &a1.v[j]);
        *t0 += (double)trainopt__acc16_sum(&a0);
        if (two) *t1 += (double)trainopt__acc16_sum(&a1);
    }
}

/* Number of Inf/NaN elements in x[0, n). */
TRAINOPT__FORCE_INLINE size_t trainopt__count_nonfinite(const float *x, size_t n) {
    const trainopt__vf inf = trainopt__v_set1(INFINITY);
    size_t i, count = 0;
    for (i = 0; i < n; i += TRAINOPT_SIMD_LANES) {
        const size_t k = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        /* |x| < Inf is false for Inf and NaN; lanes past k load as 0 and count as finite. */
        const trainopt__vm finite = trainopt__v_lt(trainopt__v_abs(trainopt__v_load_n(x + i, k)), inf);
        count += trainopt__popcount(trainopt__m_bits(trainopt__m_not(finite)) & ((2u << (k - 1)) - 1u));
    }
    return count;
}

/* Sum of squares over [0, n) into *total, counting Inf/NaN elements into *nonfinite: a block
   is only scanned for them when its sum is not finite (which they force). */
TRAINOPT__FORCE_INLINE void trainopt__sumsq_run(const float *x, size_t n, double *total, size_t *nonfinite) {
    trainopt__red_args a;
    size_t b;
    a.x = x; a.y = NULL; a.out = NULL; a.scale = 0.0f;
    for (b = 0; b < n; b += TRAINOPT__SUM_BLOCK) {
        const size_t len = n - b < TRAINOPT__SUM_BLOCK ? n - b : TRAINOPT__SUM_BLOCK;
        double block = 0.0, unused = 0.0;
        a.x = x + b;
        trainopt__red_run(TRAINOPT__RED_SUMSQ, 0, 0, &a, len, &block, &unused);
        *total += block;
        if (!trainopt__finite(block)) *nonfinite += trainopt__count_nonfinite(x + b, len);
    }
}

/* ---- argument checks shared by this family ---- */
/* Two arrays of `bytes` each that overlap other than by being the same pointer. */
TRAINOPT__FORCE_INLINE int trainopt__partial_overlap(const void *a, const void *b, size_t bytes) {
    return a != b && trainopt__overlap(a, bytes, b, bytes);
}
TRAINOPT__FORCE_INLINE void trainopt__store_scalar(float *out, double v) {
    float f = (float)v;
    if (v != v) {
        uint32_t u = TRAINOPT__CANON_NAN_BITS;
        memcpy(&f, &u, 4);
    }
    *out = f;
}

/* >>regularization: trainopt_l1l2_penalty, trainopt_l1l2_grad */
TRAINOPT_API trainopt_status trainopt_l1l2_penalty(size_t n, const float *param, double l1, double l2, float *penalty) {
    trainopt__red_args a;
    double s_abs = 0.0, s_sq = 0.0, p = 0.0;
    if (!trainopt__nonneg(l1) || !trainopt__nonneg(l2)) return TRAINOPT_ERR_HPARAM;
    if (n == 0) {
        if (penalty) *penalty = 0.0f;
        return TRAINOPT_OK;
    }
    if (param == NULL || penalty == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    if (trainopt__overlap(penalty, sizeof(float), param, n * sizeof(float))) return TRAINOPT_ERR_ALIAS;
    if (l1 != 0.0 || l2 != 0.0) {
        a.x = param; a.y = NULL; a.out = NULL; a.scale = 0.0f;
        trainopt__red_run(TRAINOPT__RED_L1L2, 0, 1, &a, n, &s_abs, &s_sq);
    }
    /* Keras adds a term only when its coefficient is nonzero. */
    if (l1 != 0.0) p = l1 * s_abs;
    if (l2 != 0.0) p = fma(l2, s_sq, p);
    trainopt__store_scalar(penalty, p);
    return TRAINOPT_OK;
}

typedef struct {
    float l1, two_l2;
} trainopt__l1l2_scalars;

TRAINOPT__FORCE_INLINE void trainopt__l1l2_lanes(const trainopt__l1l2_scalars *s, size_t i, size_t k, int has_l1, int has_l2,
                                                 const float *param, float *grad) {
    const trainopt__vf w = trainopt__v_load_n(param + i, k), zero = trainopt__v_zero();
    trainopt__vf reg = zero;
    if (has_l1) {
        /* l1 * sign(w), exactly: +-l1, 0 at +-0, NaN at NaN (tf.sign) */
        const trainopt__vf l1 = trainopt__v_set1(s->l1);
        reg = trainopt__v_select(trainopt__v_lt(zero, w), l1, zero);
        reg = trainopt__v_select(trainopt__v_lt(w, zero), trainopt__v_xor_bits(l1, 0x80000000u), reg);
        reg = trainopt__v_select(trainopt__v_unord(w, w), w, reg);
    }
    if (has_l2) reg = trainopt__v_fma(trainopt__v_set1(s->two_l2), w, reg);
    trainopt__v_store_n(grad + i, trainopt__v_canon_nan(trainopt__v_add(trainopt__v_load_n(grad + i, k), reg)), k);
}

TRAINOPT__FORCE_INLINE void trainopt__l1l2_loop(const trainopt__l1l2_scalars *s, size_t n, int has_l1, int has_l2,
                                                const float *param, float *grad) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__l1l2_lanes(s, i, TRAINOPT_SIMD_LANES, has_l1, has_l2, param, grad);
    if (i < n) trainopt__l1l2_lanes(s, i, n - i, has_l1, has_l2, param, grad);
}

TRAINOPT_API trainopt_status trainopt_l1l2_grad(size_t n, const float *param, float *grad, double l1, double l2) {
    trainopt__l1l2_scalars s;
    if (!trainopt__nonneg(l1) || !trainopt__nonneg(l2)) return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if (param == NULL || grad == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    if (trainopt__partial_overlap(param, grad, n * sizeof(float))) return TRAINOPT_ERR_ALIAS;
    s.l1 = (float)l1;
    s.two_l2 = (float)(2.0 * l2);
    if (l1 != 0.0 && l2 != 0.0) trainopt__l1l2_loop(&s, n, 1, 1, param, grad);
    else if (l1 != 0.0) trainopt__l1l2_loop(&s, n, 1, 0, param, grad);
    else if (l2 != 0.0) trainopt__l1l2_loop(&s, n, 0, 1, param, grad);
    /* both zero: Keras adds nothing, so the gradient is not touched (not even -0 -> +0) */
    return TRAINOPT_OK;
}

/* >>gradutil: trainopt_clip_grad_value, trainopt_sum_squares, trainopt_grad_norm,
   trainopt_clip_grad_norm, trainopt_grad_unscale */

/* One elementwise pass: CLAMP (clip_grad_value), SCALE (clip_grad_norm's multiply) or
   UNSCALE (AMP: multiply and flag non-finite inputs in *bad). */
enum { TRAINOPT__EW_CLAMP, TRAINOPT__EW_SCALE, TRAINOPT__EW_UNSCALE };

TRAINOPT__FORCE_INLINE void trainopt__ew_lanes(int op, float c, size_t i, size_t k, float *grad, trainopt__vf *bad) {
    const trainopt__vf g = trainopt__v_load_n(grad + i, k);
    trainopt__vf y;
    if (op == TRAINOPT__EW_CLAMP) {
        /* PyTorch's vec::clamp: min(hi, max(lo, g)) with x86 operand order, so NaN passes
           through and +-0 come out as PyTorch's do. */
        y = trainopt__v_min(trainopt__v_set1(c), trainopt__v_max(trainopt__v_set1(-c), g));
    } else if (op == TRAINOPT__EW_SCALE) {
        y = trainopt__v_canon_nan(trainopt__v_mul(g, trainopt__v_set1(c))); /* 0 * Inf when the norm is Inf */
    } else {
        y = trainopt__v_mul(g, trainopt__v_set1(c)); /* c is finite: a NaN keeps its payload */
        *bad = trainopt__v_add(*bad, trainopt__v_sub(g, g)); /* g - g is NaN exactly for Inf and NaN */
    }
    trainopt__v_store_n(grad + i, y, k);
}

TRAINOPT__FORCE_INLINE void trainopt__ew_loop(int op, float c, size_t n, float *grad, trainopt__vf *bad) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES) trainopt__ew_lanes(op, c, i, TRAINOPT_SIMD_LANES, grad, bad);
    if (i < n) trainopt__ew_lanes(op, c, i, n - i, grad, bad);
}

TRAINOPT_API trainopt_status trainopt_clip_grad_value(size_t n, float *grad, double clip_value) {
    if (!trainopt__nonneg(clip_value)) return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if (grad == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    trainopt__ew_loop(TRAINOPT__EW_CLAMP, (float)clip_value, n, grad, NULL);
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_grad_unscale(size_t n, float *grad, float inv_scale, int *found_inf) {
    trainopt__vf bad = trainopt__v_zero();
    if (!trainopt__finite(inv_scale) || !(inv_scale > 0.0f)) return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if (grad == NULL || found_inf == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    if (trainopt__overlap(found_inf, sizeof *found_inf, grad, n * sizeof(float))) return TRAINOPT_ERR_ALIAS;
    trainopt__ew_loop(TRAINOPT__EW_UNSCALE, inv_scale, n, grad, &bad);
    if (trainopt__m_bits(trainopt__v_unord(bad, bad)) != 0) *found_inf = 1;
    return TRAINOPT_OK;
}

/* Checks a list of k tensors: pointers, sizes, and (for kernels that write them)
   pairwise disjointness. `out`/`out_bytes` is a scalar output that must not overlap any. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__check_tensors(size_t k, const void *const *ptrs, const size_t *lens,
                                                               int disjoint, const void *out, size_t out_bytes) {
    size_t i, j;
    if (k == 0) return TRAINOPT_OK;
    if (ptrs == NULL || lens == NULL) return TRAINOPT_ERR_NULL;
    for (i = 0; i < k; i++)
        if (lens[i] > 0 && ptrs[i] == NULL) return TRAINOPT_ERR_NULL;
    for (i = 0; i < k; i++)
        if (lens[i] > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    for (i = 0; i < k; i++) {
        if (trainopt__overlap(out, out_bytes, ptrs[i], lens[i] * sizeof(float))) return TRAINOPT_ERR_ALIAS;
        if (disjoint)
            for (j = i + 1; j < k; j++)
                if (trainopt__overlap(ptrs[i], lens[i] * sizeof(float), ptrs[j], lens[j] * sizeof(float)))
                    return TRAINOPT_ERR_ALIAS;
    }
    return TRAINOPT_OK;
}

/* The global sum of squares of k tensors (x[t] has lens[t] elements), in the canonical
   blocked order: one double running sum over every block of every tensor, in order.
   *nonfinite (may be NULL) receives the number of Inf/NaN elements. */
TRAINOPT_API trainopt_status trainopt_sum_squares(size_t k, const float *const *xs, const size_t *lens, double *sum,
                                                 size_t *nonfinite) {
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0, t;
    if (k > 0 && sum == NULL) return TRAINOPT_ERR_NULL;
    if ((st = trainopt__check_tensors(k, (const void *const *)xs, lens, 0, sum, sizeof *sum)) != TRAINOPT_OK) return st;
    for (t = 0; t < k; t++) trainopt__sumsq_run(xs[t], lens[t], &total, &bad);
    if (sum) *sum = total;
    if (nonfinite) *nonfinite = bad;
    return TRAINOPT_OK;
}

/* What one read-only pass over the (possibly loss-scaled) gradients tells a training loop. */
typedef struct {
    double sum_squares; /* sum of g^2 over every element as given (still scaled), canonical order */
    size_t nonfinite;   /* number of Inf/NaN elements */
    int found_inf;      /* nonfinite != 0: skip the step (GradScaler) */
    float total_norm;   /* L2 norm of the unscaled gradients: sqrt(sum_squares) * inv_scale */
    float clip_coef;    /* min(1, max_norm / (total_norm + 1e-6)), as clip_grad_norm_ */
    float grad_scale;   /* inv_scale * clip_coef rounded once: the fused step's multiplier
                           (inv_scale alone when found_inf: always finite and > 0) */
} trainopt_grad_norm_info;

TRAINOPT__FORCE_INLINE void trainopt__norm_finish(double sum_squares, size_t nonfinite, double inv_scale, double max_norm,
                                                  trainopt_grad_norm_info *info) {
    double norm = sqrt(sum_squares) * inv_scale, coef;
    float total_norm;
    trainopt__store_scalar(&total_norm, norm);
    coef = max_norm / ((double)total_norm + 1e-6); /* PyTorch adds 1e-6 to the float norm */
    if (coef > 1.0) coef = 1.0;                    /* clamp(max=1): NaN stays NaN */
    info->sum_squares = sum_squares;
    info->nonfinite = nonfinite;
    info->found_inf = nonfinite != 0;
    info->total_norm = total_norm;
    trainopt__store_scalar(&info->clip_coef, coef);
    /* With a non-finite gradient the coefficient is 0 or NaN; the step is to be skipped, and
       grad_scale stays a multiplier every _step_ex accepts (it checks it before found_inf). */
    trainopt__store_scalar(&info->grad_scale, nonfinite ? inv_scale : inv_scale * coef);
}

/* The read-only half of unscale + clip: global L2 norm of k gradient tensors (as scaled by
   the caller's loss scale; inv_scale = 1/scale, 1 without AMP), the clip coefficient for
   max_norm (+Inf: no clipping), found_inf, and the single multiplier grad_scale that a fused
   optimizer step applies instead of unscaling and clipping in separate passes.
   The gradients are only read (same list type as trainopt_clip_grad_norm's). */
TRAINOPT_API trainopt_status trainopt_grad_norm(size_t k, float *const *grads, const size_t *lens, float inv_scale,
                                               double max_norm, trainopt_grad_norm_info *info) {
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0, t;
    if (!trainopt__finite(inv_scale) || !(inv_scale > 0.0f) || !(max_norm >= 0.0)) return TRAINOPT_ERR_HPARAM;
    if (info == NULL) return k == 0 ? TRAINOPT_OK : TRAINOPT_ERR_NULL;
    if ((st = trainopt__check_tensors(k, (const void *const *)grads, lens, 0, info, sizeof *info)) != TRAINOPT_OK) return st;
    for (t = 0; t < k; t++) trainopt__sumsq_run(grads[t], lens[t], &total, &bad);
    trainopt__norm_finish(total, bad, inv_scale, max_norm, info);
    return TRAINOPT_OK;
}

/* torch.nn.utils.clip_grad_norm_(parameters, max_norm) with norm_type 2: the same numbers
   as trainopt_grad_norm with inv_scale 1, then every gradient is multiplied by clip_coef
   (skipped when it is 1). *total_norm (may be NULL) is the norm; Inf/NaN there is the report
   that the gradients were not finite. The k tensors must not overlap. */
TRAINOPT_API trainopt_status trainopt_clip_grad_norm(size_t k, float *const *grads, const size_t *lens, double max_norm,
                                                    float *total_norm) {
    trainopt_grad_norm_info info;
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0, t;
    if (!(max_norm >= 0.0)) return TRAINOPT_ERR_HPARAM;
    if ((st = trainopt__check_tensors(k, (const void *const *)grads, lens, 1, total_norm, total_norm ? sizeof(float) : 0)) !=
        TRAINOPT_OK)
        return st;
    for (t = 0; t < k; t++) trainopt__sumsq_run(grads[t], lens[t], &total, &bad);
    trainopt__norm_finish(total, bad, 1.0, max_norm, &info);
    if (total_norm) *total_norm = info.total_norm;
    if (!(info.clip_coef == 1.0f))
        for (t = 0; t < k; t++) trainopt__ew_loop(TRAINOPT__EW_SCALE, info.clip_coef, lens[t], grads[t], NULL);
    return TRAINOPT_OK;
}

/* >>mse, >>bce: elementwise losses with a mean; one pass computes loss and gradient. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__pointwise_loss(int op, size_t n, const float *x, const float *y, float *loss,
                                                                float *grad) {
    trainopt__red_args a;
    double total = 0.0, unused = 0.0;
    size_t bytes;
    if (n == 0) {
        if (loss) trainopt__store_scalar(loss, NAN); /* PyTorch's mean over nothing */
        return TRAINOPT_OK;
    }
    if (x == NULL || y == NULL || loss == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    bytes = n * sizeof(float);
    if (grad && (trainopt__partial_overlap(grad, x, bytes) || trainopt__partial_overlap(grad, y, bytes)))
        return TRAINOPT_ERR_ALIAS;
    if (trainopt__overlap(loss, sizeof(float), x, bytes) || trainopt__overlap(loss, sizeof(float), y, bytes) ||
        (grad && trainopt__overlap(loss, sizeof(float), grad, bytes)))
        return TRAINOPT_ERR_ALIAS;
    a.x = x; a.y = y; a.out = grad;
    if (op == TRAINOPT__RED_MSE) {
        a.scale = (float)(2.0 / (double)n); /* PyTorch: (float)(2/n) * (p - t) */
        if (grad) trainopt__red_run(TRAINOPT__RED_MSE, 1, 0, &a, n, &total, &unused);
        else trainopt__red_run(TRAINOPT__RED_MSE, 0, 0, &a, n, &total, &unused);
    } else {
        a.scale = (float)n; /* PyTorch: (sigmoid(x) - t) / numel, in float */
        if (grad) trainopt__red_run(TRAINOPT__RED_BCE, 1, 0, &a, n, &total, &unused);
        else trainopt__red_run(TRAINOPT__RED_BCE, 0, 0, &a, n, &total, &unused);
    }
    trainopt__store_scalar(loss, total / (double)n);
    return TRAINOPT_OK;
}

/* torch.nn.MSELoss() (mean): *loss = mean (pred - target)^2; grad (may be NULL, or the
   same pointer as pred or target) = (pred - target) * (float)(2/n). */
TRAINOPT_API trainopt_status trainopt_mse_loss(size_t n, const float *pred, const float *target, float *loss, float *grad) {
    return trainopt__pointwise_loss(TRAINOPT__RED_MSE, n, pred, target, loss, grad);
}

/* torch.nn.BCEWithLogitsLoss() (mean, no weights): *loss = mean of
   (1 - t) x + max(-x, 0) + log1p(exp(-|x|)); grad (may be NULL, or the same pointer as
   logits or target) = (sigmoid(x) - t) / n. Targets are not range-checked (PyTorch does not). */
TRAINOPT_API trainopt_status trainopt_bce_with_logits(size_t n, const float *logits, const float *target, float *loss,
                                                     float *grad) {
    return trainopt__pointwise_loss(TRAINOPT__RED_BCE, n, logits, target, loss, grad);
}

/* >>softmax_ce */

/* Largest element of x[0, n) (+0 for a zero max), n >= 1. Max is exact in any order, so
   four independent chains (no latency bound) and a plain loop over the lanes give the same
   value on every backend, for rows without NaN. (x86-semantics max may or may not drop a
   NaN; callers detect NaN rows from the exp sum, which any NaN makes NaN.) */
TRAINOPT__FORCE_INLINE float trainopt__row_max(const float *x, size_t n) {
    const trainopt__vf ninf = trainopt__v_set1(-INFINITY);
    trainopt__vf mx[4];
    float lanes[TRAINOPT_SIMD_LANES], m;
    size_t i = 0;
    int j;
    for (j = 0; j < 4; j++) mx[j] = ninf;
    for (; i + 4 * TRAINOPT_SIMD_LANES <= n; i += 4 * TRAINOPT_SIMD_LANES)
        for (j = 0; j < 4; j++) mx[j] = trainopt__v_max(mx[j], trainopt__v_load(x + i + (size_t)j * TRAINOPT_SIMD_LANES));
    for (; i < n; i += TRAINOPT_SIMD_LANES) {
        const size_t k = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        trainopt__vf v = trainopt__v_load_n(x + i, k);
        if (k < TRAINOPT_SIMD_LANES) v = trainopt__v_select(trainopt__m_first(k), v, ninf);
        mx[0] = trainopt__v_max(mx[0], v);
    }
    trainopt__v_store(lanes, trainopt__v_max(trainopt__v_max(mx[0], mx[1]), trainopt__v_max(mx[2], mx[3])));
    m = lanes[0];
    for (j = 1; j < TRAINOPT_SIMD_LANES; j++)
        if (lanes[j] > m || lanes[j] != lanes[j]) m = lanes[j];
    return m + 0.0f; /* -0 and +0 tie in max: make the choice independent of lane order */
}

/* Whether x[0, n) holds a NaN. */
TRAINOPT__FORCE_INLINE int trainopt__has_nan(const float *x, size_t n) {
    trainopt__vm nan = trainopt__m_first(0);
    size_t i;
    for (i = 0; i < n; i += TRAINOPT_SIMD_LANES) {
        const trainopt__vf v = trainopt__v_load_n(x + i, n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES);
        nan = trainopt__m_or(nan, trainopt__v_unord(v, v));
    }
    return trainopt__m_bits(nan) != 0;
}

TRAINOPT__FORCE_INLINE float trainopt__log_scalar(float x) {
    float lanes[TRAINOPT_SIMD_LANES];
    trainopt__v_store(lanes, trainopt__v_log(trainopt__v_set1(x)));
    return lanes[0];
}

/* grad[c] = e[c] * r + off for a row (e was stored in grad by the exp pass). */
TRAINOPT__FORCE_INLINE void trainopt__ce_grad_lanes(float r, float off, size_t i, size_t k, float *g) {
    trainopt__v_store_n(g + i, trainopt__v_fma(trainopt__v_load_n(g + i, k), trainopt__v_set1(r), trainopt__v_set1(off)), k);
}

TRAINOPT__FORCE_INLINE void trainopt__fill(float *x, size_t n, uint32_t bits) {
    const trainopt__vf v = trainopt__v_from_bits(trainopt__vi_set1(bits));
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES) trainopt__v_store(x + i, v);
    if (i < n) trainopt__v_store_n(x + i, v, n - i);
}

/* torch.nn.CrossEntropyLoss(ignore_index=ignore_index, label_smoothing=label_smoothing)
   on logits [batch][classes] and class indices labels [batch] (mean over counted rows).
   grad [batch][classes] may be NULL or the same pointer as logits. */
TRAINOPT_API trainopt_status trainopt_softmax_cross_entropy(size_t batch, size_t classes, const float *logits,
                                                           const int32_t *labels, int32_t ignore_index,
                                                           double label_smoothing, float *loss, float *grad) {
    const double eps = label_smoothing;
    const int smoothing = eps > 0.0;
    trainopt__red_args a;
    double nll = 0.0, smooth = 0.0, w, result;
    size_t b, count = 0, bytes;
    float neg_off, neg_on;
    if (!(eps >= 0.0 && eps <= 1.0)) return TRAINOPT_ERR_HPARAM;
    if (batch == 0) {
        if (loss) trainopt__store_scalar(loss, NAN);
        return TRAINOPT_OK;
    }
    if (classes == 0 || classes > SIZE_MAX / sizeof(float) / batch) return TRAINOPT_ERR_SHAPE;
    if (logits == NULL || labels == NULL || loss == NULL) return TRAINOPT_ERR_NULL;
    bytes = batch * classes * sizeof(float);
    if (grad && (trainopt__partial_overlap(grad, logits, bytes) || trainopt__overlap(grad, bytes, labels, batch * sizeof(int32_t))))
        return TRAINOPT_ERR_ALIAS;
    if (trainopt__overlap(loss, sizeof(float), logits, bytes) ||
        trainopt__overlap(loss, sizeof(float), labels, batch * sizeof(int32_t)) ||
        (grad && trainopt__overlap(loss, sizeof(float), grad, bytes)))
        return TRAINOPT_ERR_ALIAS;
    for (b = 0; b < batch; b++) {
        if (labels[b] == ignore_index) continue;
        if (labels[b] < 0 || (size_t)labels[b] >= classes) return TRAINOPT_ERR_INDEX;
        count++;
    }

    /* grad = p/count - target/count, target = eps/C off the label, 1 - eps + eps/C on it
       (written 1 - eps*(C-1)/C so that one class gives exactly 1). */
    w = count ? 1.0 / (double)count : 0.0;
    neg_off = (float)-(eps / (double)classes * w);
    neg_on = (float)-(fma(-eps, ((double)classes - 1.0) / (double)classes, 1.0) * w);
    a.y = NULL;
    for (b = 0; b < batch; b++) {
        const float *x = logits + b * classes;
        float *g = grad ? grad + b * classes : NULL;
        const int ignored = labels[b] == ignore_index;
        double s_sum = 0.0, z_sum = 0.0;
        float m, s, log_s, zy, ey, r;
        size_t y, i;
        if (ignored && !g) continue;
        m = trainopt__row_max(x, classes);
        if (ignored) {
            /* PyTorch's gradient there is 0 - p * 0: NaN where log_softmax is NaN */
            const int bad = !trainopt__finite(m) || trainopt__has_nan(x, classes);
            trainopt__fill(g, classes, bad ? TRAINOPT__CANON_NAN_BITS : 0u);
            continue;
        }
        y = (size_t)labels[b];
        zy = x[y] - m; /* read before an in-place grad overwrites it */
        if (trainopt__finite(m)) {
            a.x = x; a.out = g; a.scale = m;
            if (g && smoothing) trainopt__red_run(TRAINOPT__RED_SOFTMAX, 1, 1, &a, classes, &s_sum, &z_sum);
            else if (g) trainopt__red_run(TRAINOPT__RED_SOFTMAX, 1, 0, &a, classes, &s_sum, &z_sum);
            else if (smoothing) trainopt__red_run(TRAINOPT__RED_SOFTMAX, 0, 1, &a, classes, &s_sum, &z_sum);
            else trainopt__red_run(TRAINOPT__RED_SOFTMAX, 0, 0, &a, classes, &s_sum, &z_sum);
        }
        if (!trainopt__finite(m) || s_sum != s_sum) {
            /* NaN, +Inf, or nothing but -Inf: log_softmax is NaN on the whole row (a NaN
               anywhere makes the exp sum NaN) */
            nll = NAN;
            if (g) trainopt__fill(g, classes, TRAINOPT__CANON_NAN_BITS);
            continue;
        }
        s = (float)s_sum; /* in [1, classes]: the max term is exp(0) = 1 */
        log_s = trainopt__log_scalar(s);
        nll += (double)log_s - (double)zy;                             /* -log p[y] */
        if (smoothing) smooth += fma((double)classes, (double)log_s, -z_sum); /* -sum_c log p[c] */
        if (g) {
            r = (float)(1.0 / ((double)s * (double)count)); /* p[c] / count = e[c] * r */
            ey = g[y];
            for (i = 0; i + TRAINOPT_SIMD_LANES <= classes; i += TRAINOPT_SIMD_LANES)
                trainopt__ce_grad_lanes(r, neg_off, i, TRAINOPT_SIMD_LANES, g);
            if (i < classes) trainopt__ce_grad_lanes(r, neg_off, i, classes - i, g);
            /* the label's element, with the same fma on a one-lane vector */
            trainopt__v_store_n(g + y, trainopt__v_fma(trainopt__v_set1(ey), trainopt__v_set1(r), trainopt__v_set1(neg_on)), 1);
        }
    }
    /* (1 - eps) * mean nll + (eps / C) * mean smooth; count == 0 gives 0/0 = NaN, as PyTorch */
    result = smoothing ? fma(1.0 - eps, nll, eps / (double)classes * smooth) : nll;
    trainopt__store_scalar(loss, result / (double)count);
    return TRAINOPT_OK;
}
