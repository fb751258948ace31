/* >>sumblock: the canonical blocked reduction of this family. Elements are taken in
   blocks of TRAINOPT__SUM_BLOCK (a multiple of 16); within a block element i goes to
   partial sum i % 16 of a trainopt__acc16 (float, combined by its fixed tree), and the
   block sums are added in double, in order. Same order on every backend, and the float
   part never sums more than 16 terms per partial. */
#define TRAINOPT__SUM_BLOCK 256

/* What one pass computes per element (compile-time constants at each call site). */
#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum {
    TRAINOPT__RED_SUMSQ,   /* s0 += x^2 */
    TRAINOPT__RED_L1L2,    /* s0 += |x|, s1 += x^2 */
    TRAINOPT__RED_MSE,     /* d = x - y; s0 += d^2; out = d * scale */
    TRAINOPT__RED_BCE,     /* s0 += bce(x, y); out = (sigmoid(x) - y) / scale */
    TRAINOPT__RED_SOFTMAX  /* z = x - scale; e = exp(z); s0 += e; s1 += z; out = e */
};
#endif

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
        const size_t whole = end - (end - b) % 16; /* the block's elements in whole groups of 16 */
        trainopt__acc16 a0, a1;
        trainopt__acc16_zero(&a0);
        trainopt__acc16_zero(&a1);
        for (i = b; i < whole; i += 16)
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
TRAINOPT__KERNEL_API trainopt_status trainopt_l1l2_penalty(size_t n, const float *param, double l1, double l2, float *penalty) {
    trainopt__red_args a;
    static const char fn[] = "trainopt_l1l2_penalty";
    double s_abs = 0.0, s_sq = 0.0, p = 0.0;
    if (!trainopt__nonneg(l1)) return trainopt__once_hparam(fn, "l1", l1, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(l2)) return trainopt__once_hparam(fn, "l2", l2, TRAINOPT__WHY_NONNEG);
    if (n == 0) {
        if (penalty) *penalty = 0.0f;
        return TRAINOPT_OK;
    }
    if (param == NULL) return trainopt__once_null(fn, "param");
    if (penalty == NULL) return trainopt__once_null(fn, "penalty");
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    if (trainopt__overlap(penalty, sizeof(float), param, n * sizeof(float))) return trainopt__once_alias(fn, "penalty", "param");
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

TRAINOPT__KERNEL_API trainopt_status trainopt_l1l2_grad(size_t n, const float *param, float *grad, double l1, double l2) {
    static const char fn[] = "trainopt_l1l2_grad";
    trainopt__l1l2_scalars s;
    if (!trainopt__nonneg(l1)) return trainopt__once_hparam(fn, "l1", l1, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(l2)) return trainopt__once_hparam(fn, "l2", l2, TRAINOPT__WHY_NONNEG);
    if (n == 0) return TRAINOPT_OK;
    if (param == NULL) return trainopt__once_null(fn, "param");
    if (grad == NULL) return trainopt__once_null(fn, "grad");
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    if (trainopt__partial_overlap(param, grad, n * sizeof(float)))
        return trainopt__once_alias(fn, "param", "grad (they may be the same array, not partly the same)");
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
#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum { TRAINOPT__EW_CLAMP, TRAINOPT__EW_SCALE, TRAINOPT__EW_UNSCALE };
#endif

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

/* clip_grad_value's and grad_unscale's checks (fn names the caller: also their threaded
   forms, >>parallel). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__clip_value_check(size_t n, const float *grad, double clip_value,
                                                                  const char *fn) {
    if (!trainopt__nonneg(clip_value)) return trainopt__once_hparam(fn, "clip_value", clip_value, TRAINOPT__WHY_NONNEG);
    if (n == 0) return TRAINOPT_OK;
    if (grad == NULL) return trainopt__once_null(fn, "grad");
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    return TRAINOPT_OK;
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__unscale_check(size_t n, const float *grad, float inv_scale,
                                                               const int *found_inf, const char *fn) {
    if (!trainopt__finite(inv_scale) || !(inv_scale > 0.0f))
        return trainopt__once_hparam(fn, "inv_scale", inv_scale, TRAINOPT__WHY_POS);
    if (n == 0) return TRAINOPT_OK;
    if (grad == NULL) return trainopt__once_null(fn, "grad");
    if (found_inf == NULL) return trainopt__once_null(fn, "found_inf");
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    if (trainopt__overlap(found_inf, sizeof *found_inf, grad, n * sizeof(float)))
        return trainopt__once_alias(fn, "found_inf", "grad");
    return TRAINOPT_OK;
}

/* grad_unscale's pass over n elements: whether any was Inf or NaN. */
TRAINOPT__FORCE_INLINE int trainopt__unscale_run(size_t n, float *grad, float inv_scale) {
    trainopt__vf bad = trainopt__v_zero();
    trainopt__ew_loop(TRAINOPT__EW_UNSCALE, inv_scale, n, grad, &bad);
    return trainopt__m_bits(trainopt__v_unord(bad, bad)) != 0;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_clip_grad_value(size_t n, float *grad, double clip_value) {
    const trainopt_status st = trainopt__clip_value_check(n, grad, clip_value, "trainopt_clip_grad_value");
    if (st != TRAINOPT_OK || n == 0) return st;
    trainopt__ew_loop(TRAINOPT__EW_CLAMP, (float)clip_value, n, grad, NULL);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_grad_unscale(size_t n, float *grad, float inv_scale, int *found_inf) {
    const trainopt_status st = trainopt__unscale_check(n, grad, inv_scale, found_inf, "trainopt_grad_unscale");
    if (st != TRAINOPT_OK || n == 0) return st;
    if (trainopt__unscale_run(n, grad, inv_scale)) *found_inf = 1;
    return TRAINOPT_OK;
}

/* Checks a list of k tensors: pointers, sizes, and (for kernels that write them)
   pairwise disjointness. `out`/`out_bytes` is a scalar output, named out_name, that must
   not overlap any; ptrs_name names the list (for trainopt_last_error). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__check_tensors(size_t k, const void *const *ptrs, const size_t *lens,
                                                               int disjoint, const void *out, size_t out_bytes,
                                                               const char *out_name, const char *ptrs_name, const char *fn) {
    size_t i, j;
    if (k == 0) return TRAINOPT_OK;
    if (ptrs == NULL) return trainopt__once_null(fn, ptrs_name);
    if (lens == NULL) return trainopt__once_null(fn, "lens");
    for (i = 0; i < k; i++)
        if (lens[i] > 0 && ptrs[i] == NULL)
            return trainopt__once_fail(TRAINOPT_ERR_NULL, fn, "%s[%zu] is NULL (lens[%zu] = %zu)", ptrs_name, i, i, lens[i]);
    for (i = 0; i < k; i++)
        if (lens[i] > SIZE_MAX / sizeof(float))
            return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "lens[%zu] = %zu: its size in bytes overflows size_t", i,
                                       lens[i]);
    for (i = 0; i < k; i++) {
        if (trainopt__overlap(out, out_bytes, ptrs[i], lens[i] * sizeof(float)))
            return trainopt__once_fail(TRAINOPT_ERR_ALIAS, fn, "%s and %s[%zu] overlap", out_name, ptrs_name, i);
        if (disjoint)
            for (j = i + 1; j < k; j++)
                if (trainopt__overlap(ptrs[i], lens[i] * sizeof(float), ptrs[j], lens[j] * sizeof(float)))
                    return trainopt__once_fail(TRAINOPT_ERR_ALIAS, fn, "%s[%zu] and %s[%zu] overlap", ptrs_name, i,
                                               ptrs_name, j);
    }
    return TRAINOPT_OK;
}

/* The global sum of squares of k tensors (x[t] has lens[t] elements), in the canonical
   blocked order: one double running sum over every block of every tensor, in order.
   *nonfinite (may be NULL) receives the number of Inf/NaN elements. */
TRAINOPT__KERNEL_API trainopt_status trainopt_sum_squares(size_t k, const float *const *xs, const size_t *lens, double *sum,
                                                 size_t *nonfinite) {
    static const char fn[] = "trainopt_sum_squares";
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0, t;
    if (k > 0 && sum == NULL) return trainopt__once_null(fn, "sum");
    if ((st = trainopt__check_tensors(k, (const void *const *)xs, lens, 0, sum, sizeof *sum, "sum", "xs", fn)) != TRAINOPT_OK)
        return st;
    if (nonfinite != NULL) {
        st = trainopt__check_tensors(k, (const void *const *)xs, lens, 0, nonfinite, sizeof *nonfinite, "nonfinite", "xs", fn);
        if (st != TRAINOPT_OK) return st;
        if (trainopt__overlap(nonfinite, sizeof *nonfinite, sum, sizeof *sum)) return trainopt__once_alias(fn, "nonfinite", "sum");
    }
    for (t = 0; t < k; t++) trainopt__sumsq_run(xs[t], lens[t], &total, &bad);
    if (sum) *sum = total;
    if (nonfinite) *nonfinite = bad;
    return TRAINOPT_OK;
}

/* What one read-only pass over the (possibly loss-scaled) gradients tells a training loop. */

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
TRAINOPT__KERNEL_API trainopt_status trainopt_grad_norm(size_t k, float *const *grads, const size_t *lens, float inv_scale,
                                               double max_norm, trainopt_grad_norm_info *info) {
    static const char fn[] = "trainopt_grad_norm";
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0, t;
    if (!trainopt__finite(inv_scale) || !(inv_scale > 0.0f))
        return trainopt__once_hparam(fn, "inv_scale", inv_scale, TRAINOPT__WHY_POS);
    if (!(max_norm >= 0.0)) return trainopt__once_hparam(fn, "max_norm", max_norm, "is not >= 0 (+Inf: no clipping)");
    if (info == NULL) return k == 0 ? TRAINOPT_OK : trainopt__once_null(fn, "info");
    if ((st = trainopt__check_tensors(k, (const void *const *)grads, lens, 0, info, sizeof *info, "info", "grads", fn)) !=
        TRAINOPT_OK)
        return st;
    for (t = 0; t < k; t++) trainopt__sumsq_run(grads[t], lens[t], &total, &bad);
    trainopt__norm_finish(total, bad, inv_scale, max_norm, info);
    return TRAINOPT_OK;
}

/* torch.nn.utils.clip_grad_norm_(parameters, max_norm) with norm_type 2: the same numbers
   as trainopt_grad_norm with inv_scale 1, then every gradient is multiplied by clip_coef
   (skipped when it is 1). *total_norm (may be NULL) is the norm; Inf/NaN there is the report
   that the gradients were not finite. The k tensors must not overlap. */
TRAINOPT__KERNEL_API trainopt_status trainopt_clip_grad_norm(size_t k, float *const *grads, const size_t *lens, double max_norm,
                                                    float *total_norm) {
    trainopt_grad_norm_info info;
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0, t;
    static const char fn[] = "trainopt_clip_grad_norm";
    if (!(max_norm >= 0.0)) return trainopt__once_hparam(fn, "max_norm", max_norm, "is not >= 0 (+Inf: no clipping)");
    if ((st = trainopt__check_tensors(k, (const void *const *)grads, lens, 1, total_norm, total_norm ? sizeof(float) : 0,
                                      "total_norm", "grads", fn)) != TRAINOPT_OK)
        return st;
    for (t = 0; t < k; t++) trainopt__sumsq_run(grads[t], lens[t], &total, &bad);
    trainopt__norm_finish(total, bad, 1.0, max_norm, &info);
    if (total_norm) *total_norm = info.total_norm;
    if (!(info.clip_coef == 1.0f))
        for (t = 0; t < k; t++) trainopt__ew_loop(TRAINOPT__EW_SCALE, info.clip_coef, lens[t], grads[t], NULL);
    return TRAINOPT_OK;
}

/* >>mse, >>bce: elementwise losses with a mean; one pass computes loss and gradient. */

/* The checks of an elementwise loss call of n > 0 elements, named fn. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__pointwise_check(int op, size_t n, const float *x, const float *y,
                                                                 const float *loss, const float *grad, const char *fn) {
    const char *const xname = op == TRAINOPT__RED_MSE ? "pred" : "logits";
    size_t bytes;
    if (x == NULL) return trainopt__once_null(fn, xname);
    if (y == NULL) return trainopt__once_null(fn, "target");
    if (loss == NULL) return trainopt__once_null(fn, "loss");
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    bytes = n * sizeof(float);
    if (grad && trainopt__partial_overlap(grad, x, bytes))
        return trainopt__once_alias(fn, "grad", op == TRAINOPT__RED_MSE ? "pred (they may be the same array, not partly)"
                                                                        : "logits (they may be the same array, not partly)");
    if (grad && trainopt__partial_overlap(grad, y, bytes))
        return trainopt__once_alias(fn, "grad", "target (they may be the same array, not partly)");
    if (trainopt__overlap(loss, sizeof(float), x, bytes)) return trainopt__once_alias(fn, "loss", xname);
    if (trainopt__overlap(loss, sizeof(float), y, bytes)) return trainopt__once_alias(fn, "loss", "target");
    if (grad && trainopt__overlap(loss, sizeof(float), grad, bytes)) return trainopt__once_alias(fn, "loss", "grad");
    return TRAINOPT_OK;
}

/* Elements [0, len) of a call of total elements: their loss terms added to *sum in
   blocks (>>sumblock), their gradient into grad (when not NULL). The blocks start at
   the call's own block boundaries when x, y and grad point at one of them. */
TRAINOPT__FORCE_INLINE void trainopt__pointwise_run(int op, size_t total, const float *x, const float *y, float *grad,
                                                    size_t len, double *sum) {
    trainopt__red_args a;
    double unused = 0.0;
    a.x = x; a.y = y; a.out = grad;
    if (op == TRAINOPT__RED_MSE) {
        a.scale = (float)(2.0 / (double)total); /* PyTorch: (float)(2/n) * (p - t) */
        if (grad) trainopt__red_run(TRAINOPT__RED_MSE, 1, 0, &a, len, sum, &unused);
        else trainopt__red_run(TRAINOPT__RED_MSE, 0, 0, &a, len, sum, &unused);
    } else {
        a.scale = (float)total; /* PyTorch: (sigmoid(x) - t) / numel, in float */
        if (grad) trainopt__red_run(TRAINOPT__RED_BCE, 1, 0, &a, len, sum, &unused);
        else trainopt__red_run(TRAINOPT__RED_BCE, 0, 0, &a, len, sum, &unused);
    }
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__pointwise_loss(int op, size_t n, const float *x, const float *y, float *loss,
                                                                float *grad) {
    const char *const fn = op == TRAINOPT__RED_MSE ? "trainopt_mse_loss" : "trainopt_bce_with_logits";
    trainopt_status st;
    double total = 0.0;
    if (n == 0) {
        if (loss) trainopt__store_scalar(loss, NAN); /* PyTorch's mean over nothing */
        return TRAINOPT_OK;
    }
    if ((st = trainopt__pointwise_check(op, n, x, y, loss, grad, fn)) != TRAINOPT_OK) return st;
    trainopt__pointwise_run(op, n, x, y, grad, n, &total);
    trainopt__store_scalar(loss, total / (double)n);
    return TRAINOPT_OK;
}

/* torch.nn.MSELoss() (mean): *loss = mean (pred - target)^2; grad (may be NULL, or the
   same pointer as pred or target) = (pred - target) * (float)(2/n). */
TRAINOPT__KERNEL_API trainopt_status trainopt_mse_loss(size_t n, const float *pred, const float *target, float *loss, float *grad) {
    return trainopt__pointwise_loss(TRAINOPT__RED_MSE, n, pred, target, loss, grad);
}

/* torch.nn.BCEWithLogitsLoss() (mean, no weights): *loss = mean of
   (1 - t) x + max(-x, 0) + log1p(exp(-|x|)); grad (may be NULL, or the same pointer as
   logits or target) = (sigmoid(x) - t) / n. Targets are not range-checked (PyTorch does not). */
TRAINOPT__KERNEL_API trainopt_status trainopt_bce_with_logits(size_t n, const float *logits, const float *target, float *loss,
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
    const size_t whole = n - n % (4 * TRAINOPT_SIMD_LANES); /* elements in whole blocks of four vectors */
    size_t i = 0;
    int j;
    for (j = 0; j < 4; j++) mx[j] = ninf;
    for (; i < whole; i += 4 * TRAINOPT_SIMD_LANES)
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

/* The checks of a cross-entropy call with batch > 0, named fn; *count: the rows not ignored. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__ce_check(size_t batch, size_t classes, const float *logits,
                                                          const int32_t *labels, int32_t ignore_index, const float *loss,
                                                          const float *grad, size_t *count, const char *fn) {
    size_t b, bytes;
    if (classes == 0) return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "classes = 0 with batch = %zu", batch);
    if (classes > SIZE_MAX / sizeof(float) / batch)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "batch * classes = %zu * %zu: its size in bytes overflows size_t",
                                   batch, classes);
    if (logits == NULL) return trainopt__once_null(fn, "logits");
    if (labels == NULL) return trainopt__once_null(fn, "labels");
    if (loss == NULL) return trainopt__once_null(fn, "loss");
    bytes = batch * classes * sizeof(float);
    if (grad && trainopt__partial_overlap(grad, logits, bytes))
        return trainopt__once_alias(fn, "grad", "logits (they may be the same array, not partly)");
    if (grad && trainopt__overlap(grad, bytes, labels, batch * sizeof(int32_t))) return trainopt__once_alias(fn, "grad", "labels");
    if (trainopt__overlap(loss, sizeof(float), logits, bytes)) return trainopt__once_alias(fn, "loss", "logits");
    if (trainopt__overlap(loss, sizeof(float), labels, batch * sizeof(int32_t))) return trainopt__once_alias(fn, "loss", "labels");
    if (grad && trainopt__overlap(loss, sizeof(float), grad, bytes)) return trainopt__once_alias(fn, "loss", "grad");
    *count = 0;
    for (b = 0; b < batch; b++) {
        if (labels[b] == ignore_index) continue;
        if (labels[b] < 0 || (size_t)labels[b] >= classes)
            return trainopt__once_fail(TRAINOPT_ERR_INDEX, fn,
                                       "labels[%zu] = %ld is outside [0, classes = %zu) and is not ignore_index = %ld "
                                       "(PyTorch: Target %ld is out of bounds)",
                                       b, (long)labels[b], classes, (long)ignore_index, (long)labels[b]);
        ++*count;
    }
    return TRAINOPT_OK;
}

/* What every row of a cross-entropy call shares. */
typedef struct {
    size_t classes, count; /* count: the rows not ignored */
    int32_t ignore_index;
    int smoothing;
    float neg_off, neg_on; /* the gradient's -target/count off and on the label */
} trainopt__ce_scalars;

TRAINOPT__FORCE_INLINE void trainopt__ce_scalars_of(trainopt__ce_scalars *c, size_t classes, size_t count,
                                                    int32_t ignore_index, double eps) {
    /* grad = p/count - target/count, target = eps/C off the label, 1 - eps + eps/C on it
       (written 1 - eps*(C-1)/C so that one class gives exactly 1). */
    const double w = count ? 1.0 / (double)count : 0.0;
    c->classes = classes, c->count = count, c->ignore_index = ignore_index, c->smoothing = eps > 0.0;
    c->neg_off = (float)-(eps / (double)classes * w);
    c->neg_on = (float)-(fma(-eps, ((double)classes - 1.0) / (double)classes, 1.0) * w);
}

/* What a row adds to the loss's sums. */
#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum {
    TRAINOPT__CE_NOTHING, /* an ignored row */
    TRAINOPT__CE_TERMS,   /* its -log p[label] and, with smoothing, -sum_c log p[c] */
    TRAINOPT__CE_NAN      /* a row whose log_softmax is NaN: the loss is NaN */
};
#endif

/* One row: its gradient into g (when not NULL; may be x), its terms into *nll and *smooth. */
TRAINOPT__FORCE_INLINE int trainopt__ce_row(const trainopt__ce_scalars *c, const float *x, int32_t label, float *g,
                                            double *nll, double *smooth) {
    const size_t classes = c->classes;
    const int ignored = label == c->ignore_index;
    trainopt__red_args a;
    double s_sum = 0.0, z_sum = 0.0;
    float m, s, log_s, zy, ey, r;
    size_t y, i;
    if (ignored && !g) return TRAINOPT__CE_NOTHING;
    m = trainopt__row_max(x, classes);
    if (ignored) {
        /* PyTorch's gradient there is 0 - p * 0: NaN where log_softmax is NaN */
        const int bad = !trainopt__finite(m) || trainopt__has_nan(x, classes);
        trainopt__fill(g, classes, bad ? TRAINOPT__CANON_NAN_BITS : 0u);
        return TRAINOPT__CE_NOTHING;
    }
    y = (size_t)label;
    zy = x[y] - m; /* read before an in-place grad overwrites it */
    if (trainopt__finite(m)) {
        a.x = x; a.y = NULL; a.out = g; a.scale = m;
        if (g && c->smoothing) trainopt__red_run(TRAINOPT__RED_SOFTMAX, 1, 1, &a, classes, &s_sum, &z_sum);
        else if (g) trainopt__red_run(TRAINOPT__RED_SOFTMAX, 1, 0, &a, classes, &s_sum, &z_sum);
        else if (c->smoothing) trainopt__red_run(TRAINOPT__RED_SOFTMAX, 0, 1, &a, classes, &s_sum, &z_sum);
        else trainopt__red_run(TRAINOPT__RED_SOFTMAX, 0, 0, &a, classes, &s_sum, &z_sum);
    }
    if (!trainopt__finite(m) || s_sum != s_sum) {
        /* NaN, +Inf, or nothing but -Inf: log_softmax is NaN on the whole row (a NaN
           anywhere makes the exp sum NaN) */
        if (g) trainopt__fill(g, classes, TRAINOPT__CANON_NAN_BITS);
        return TRAINOPT__CE_NAN;
    }
    s = (float)s_sum; /* in [1, classes]: the max term is exp(0) = 1 */
    log_s = trainopt__log_scalar(s);
    *nll = (double)log_s - (double)zy;                                         /* -log p[y] */
    if (c->smoothing) *smooth = fma((double)classes, (double)log_s, -z_sum); /* -sum_c log p[c] */
    if (g) {
        r = (float)(1.0 / ((double)s * (double)c->count)); /* p[c] / count = e[c] * r */
        ey = g[y];
        for (i = 0; i + TRAINOPT_SIMD_LANES <= classes; i += TRAINOPT_SIMD_LANES)
            trainopt__ce_grad_lanes(r, c->neg_off, i, TRAINOPT_SIMD_LANES, g);
        if (i < classes) trainopt__ce_grad_lanes(r, c->neg_off, i, classes - i, g);
        /* the label's element, with the same fma on a one-lane vector */
        trainopt__v_store_n(g + y, trainopt__v_fma(trainopt__v_set1(ey), trainopt__v_set1(r), trainopt__v_set1(c->neg_on)), 1);
    }
    return TRAINOPT__CE_TERMS;
}

/* A row's terms, added to the call's sums in row order (the canonical order). */
TRAINOPT__FORCE_INLINE void trainopt__ce_add(int kind, int smoothing, double nll_term, double smooth_term, double *nll,
                                             double *smooth) {
    if (kind == TRAINOPT__CE_NAN) *nll = NAN;
    else if (kind == TRAINOPT__CE_TERMS) {
        *nll += nll_term;
        if (smoothing) *smooth += smooth_term;
    }
}

/* (1 - eps) * mean nll + (eps / C) * mean smooth; count == 0 gives 0/0 = NaN, as PyTorch */
TRAINOPT__FORCE_INLINE void trainopt__ce_finish(const trainopt__ce_scalars *c, double eps, double nll, double smooth,
                                                float *loss) {
    const double result = c->smoothing ? fma(1.0 - eps, nll, eps / (double)c->classes * smooth) : nll;
    trainopt__store_scalar(loss, result / (double)c->count);
}

/* torch.nn.CrossEntropyLoss(ignore_index=ignore_index, label_smoothing=label_smoothing)
   on logits [batch][classes] and class indices labels [batch] (mean over counted rows).
   grad [batch][classes] may be NULL or the same pointer as logits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_softmax_cross_entropy(size_t batch, size_t classes, const float *logits,
                                                           const int32_t *labels, int32_t ignore_index,
                                                           double label_smoothing, float *loss, float *grad) {
    const double eps = label_smoothing;
    trainopt__ce_scalars c;
    trainopt_status st;
    double nll = 0.0, smooth = 0.0;
    size_t b, count;
    static const char fn[] = "trainopt_softmax_cross_entropy";
    if (!(eps >= 0.0 && eps <= 1.0)) return trainopt__once_hparam(fn, "label_smoothing", eps, TRAINOPT__WHY_0_1);
    if (batch == 0) {
        if (loss) trainopt__store_scalar(loss, NAN);
        return TRAINOPT_OK;
    }
    if ((st = trainopt__ce_check(batch, classes, logits, labels, ignore_index, loss, grad, &count, fn)) != TRAINOPT_OK)
        return st;
    trainopt__ce_scalars_of(&c, classes, count, ignore_index, eps);
    for (b = 0; b < batch; b++) {
        double nll_term = 0.0, smooth_term = 0.0;
        const int kind = trainopt__ce_row(&c, logits + b * classes, labels[b], grad ? grad + b * classes : NULL, &nll_term,
                                          &smooth_term);
        trainopt__ce_add(kind, c.smoothing, nll_term, smooth_term, &nll, &smooth);
    }
    trainopt__ce_finish(&c, eps, nll, smooth, loss);
    return TRAINOPT_OK;
}
