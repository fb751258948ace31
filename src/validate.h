/* >>validate: shared argument checks. */
TRAINOPT__FORCE_INLINE int trainopt__finite(double x) { return x - x == 0.0; } /* false for NaN and +-Inf */
TRAINOPT__FORCE_INLINE int trainopt__nonneg(double x) { return trainopt__finite(x) && x >= 0.0; }
TRAINOPT__FORCE_INLINE int trainopt__in_01(double x) { return trainopt__finite(x) && x >= 0.0 && x < 1.0; } /* [0, 1) */

/* What trainopt_last_error says after a value's name and value. */
#define TRAINOPT__WHY_NONNEG "is not a finite number >= 0"
#define TRAINOPT__WHY_POS "is not a finite number > 0"
#define TRAINOPT__WHY_FINITE "is not finite"
#define TRAINOPT__WHY_01 "is outside [0, 1)"
#define TRAINOPT__WHY_0_1 "is outside [0, 1]"

/* Whether two byte ranges share a byte (empty ranges share none). */
TRAINOPT__FORCE_INLINE int trainopt__overlap(const void *a, size_t abytes, const void *b, size_t bbytes) {
    const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return abytes && bbytes && x < y + bbytes && y < x + abytes;
}

/* A set of arrays of n floats each, with their parameter names (for trainopt_last_error);
   NULL entries are absent (state not in use). */
typedef struct {
    const void *ptr[6];
    const char *name[6];
    int count;
} trainopt__arrays;

/* Size check, NULL check and pairwise-disjointness check of the arrays a kernel writes or
   reads; on an error, the text names the function fn and the argument. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__check_arrays(const trainopt__arrays *a, size_t n, const char *fn) {
    int i, j;
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    for (i = 0; i < a->count; i++)
        if (a->ptr[i] == NULL) return trainopt__once_null(fn, a->name[i]);
    for (i = 0; i < a->count; i++)
        for (j = i + 1; j < a->count; j++)
            if (trainopt__overlap(a->ptr[i], n * sizeof(float), a->ptr[j], n * sizeof(float)))
                return trainopt__once_alias(fn, a->name[i], a->name[j]);
    return TRAINOPT_OK;
}

/* Adds an array to a set. */
TRAINOPT__FORCE_INLINE void trainopt__arrays_add(trainopt__arrays *a, const void *ptr, const char *name) {
    a->ptr[a->count] = ptr;
    a->name[a->count++] = name;
}

/* beta^step by repeated squaring: libm pow may differ in the last bit between
   platforms, and bias corrections must be the same everywhere. */
TRAINOPT__FORCE_INLINE double trainopt__powi(double base, int64_t e) {
    double r = 1.0;
    while (e > 0) {
        if (e & 1) r *= base;
        base *= base;
        e >>= 1;
    }
    return r;
}

/* >>stepopts: the fused step. Every optimizer has an _ex form taking these options. */

/* How a kernel reads its gradient: times `scale` when scaled, negated by xor with `sign` (maximize). */
typedef struct {
    float scale;
    uint32_t sign;
} trainopt__grad_in;

TRAINOPT__FORCE_INLINE trainopt__grad_in trainopt__grad_in_make(int maximize, const trainopt_step_opts *o) {
    trainopt__grad_in gi;
    gi.scale = o ? (float)o->grad_scale : 1.0f;
    gi.sign = maximize ? 0x80000000u : 0u; /* xor with the sign bit negates exactly, NaN included */
    return gi;
}

/* k gradients g (already loaded: floats, or bf16/fp16 widened), scaled, counted when not
   finite, then negated for maximize. `scaled` is a compile-time constant at each call site
   and `nonfinite` a literal NULL in the plain steps, so the plain loops carry none of this. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__grad_in_apply(const trainopt__grad_in *gi, trainopt__vf g, size_t k, int scaled,
                                                            size_t *nonfinite) {
    if (scaled) g = trainopt__v_mul(g, trainopt__v_set1(gi->scale));
    if (nonfinite) {
        trainopt__vm bad = trainopt__m_not(trainopt__v_lt(trainopt__v_abs(g), trainopt__v_set1(INFINITY)));
        if (k != TRAINOPT_SIMD_LANES) bad = trainopt__m_and(bad, trainopt__m_first(k));
        *nonfinite += trainopt__popcount(trainopt__m_bits(bad));
    }
    return trainopt__v_xor_bits(g, gi->sign);
}
/* The same on k gradients from grad + i. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__grad_load(const trainopt__grad_in *gi, const float *grad, size_t i, size_t k,
                                                        int scaled, size_t *nonfinite) {
    return trainopt__grad_in_apply(gi, trainopt__v_load_n(grad + i, k), k, scaled, nonfinite);
}

/* Checks the options; tells the caller to skip the step (returning OK) when found_inf is set.
   The count output may not lie in any of the step's count arrays of n floats (ptrs, named
   names, NULL entries ignored): even a skipped step writes it. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__step_opts_check(const trainopt_step_opts *o, size_t n, const void *const *ptrs,
                                                                const char *const *names, int count, int *skip,
                                                                const char *fn) {
    int i;
    *skip = 0;
    if (o == NULL) return TRAINOPT_OK;
    if (o->nonfinite != NULL && n <= SIZE_MAX / sizeof(float))
        for (i = 0; i < count; i++)
            if (ptrs[i] != NULL && trainopt__overlap(o->nonfinite, sizeof *o->nonfinite, ptrs[i], n * sizeof(float)))
                return trainopt__once_alias(fn, "o->nonfinite", names[i]);
    /* A skipped step ignores the scale: with AMP it is often NaN exactly when found_inf is set. */
    *skip = o->found_inf != NULL && *o->found_inf != 0;
    if (!*skip && !trainopt__nonneg(o->grad_scale))
        return trainopt__once_hparam(fn, "o->grad_scale", o->grad_scale, "is not a finite number >= 0");
    return TRAINOPT_OK;
}

/* Runs LOOP(scaled, nonfinite) as the plain step (o == NULL) or as the fused step, and reports the count. */
#define TRAINOPT__RUN_STEP(o, LOOP)                                      \
    do {                                                                 \
        if ((o) == NULL) {                                               \
            LOOP(0, (size_t *)NULL);                                     \
        } else {                                                         \
            size_t trainopt__bad = 0;                                    \
            LOOP((o)->grad_scale != 1.0, &trainopt__bad);                \
            if ((o)->nonfinite) *(o)->nonfinite = trainopt__bad;         \
        }                                                                \
    } while (0)
