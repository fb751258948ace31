/* >>mixed: the mixed-precision steps, trainopt_<opt>_step_mp: bf16/fp16 gradients,
   bf16/fp16 parameters (nearest, stochastic, Kahan-compensated) or split fp32
   parameters, bf16 states, and a low-precision copy of the updated parameters, for
   every elementwise optimizer at once. One driver checks the call once, widens a block
   of each array into float, runs the optimizer's own fp32 loop on the block (the one its
   _ex kernel runs, with the per-step scalars made once per call), and rounds the results
   back: the math is that kernel's, bit for bit, on the widened inputs, followed by the
   rounding the manual documents (MIXED PRECISION). Blocks are whole vectors and whole
   generator groups, and the kernels are elementwise, so blocking changes no bit. Adam and
   AdamW have a fused loop for the formats DeepSpeed's CPU Adam covers (nearest rounding):
   their fp32 loop on the 16-bit arrays themselves, no blocks (trainopt__mp_fused). */

/* An optimizer's fp32 step on n elements with its state arrays in _step order. */
typedef trainopt_status (*trainopt__f32_step)(const void *c, int64_t step, size_t n, float *param, const float *grad,
                                             float *const *states, const trainopt_step_opts *o);

/* The per-step scalars of any optimizer the driver covers. */
typedef union {
    trainopt__sgd_scalars sgd;
    trainopt__adagrad_scalars adagrad;
    trainopt__rmsprop_scalars rmsprop;
    trainopt__adam_scalars adam;
    trainopt__radam_scalars radam;
    trainopt__adamax_scalars adamax;
    trainopt__adadelta_scalars adadelta;
    trainopt__lion_scalars lion;
    trainopt__nadam_scalars nadam;
    trainopt__sfadamw_scalars sfadamw;
} trainopt__mp_scalars;

/* An optimizer's per-step scalars, from a checked config; and its loops (what its _ex
   kernel runs after the checks) on n fp32 elements with those scalars. */
typedef void (*trainopt__mp_make)(const void *c, int64_t step, const trainopt_step_opts *o, trainopt__mp_scalars *s);
typedef void (*trainopt__mp_loops)(const void *c, int64_t step, const trainopt__mp_scalars *s, size_t n, float *param,
                                   const float *grad, float *const *states, const trainopt_step_opts *o);

#define TRAINOPT__MP_BLOCK 512 /* elements per block: a multiple of 64 (a generator group) and of every width */

struct trainopt__mp_call_s;
/* An optimizer's fused loop: the whole call in one pass over the caller's arrays, 16-bit
   values widened and rounded in registers, for the formats and options it covers (o as the
   blocks get it: no found_inf, the count into *o->nonfinite). It returns 0 and touches
   nothing when it does not cover them, and the block driver runs. */
typedef int (*trainopt__mp_fused)(const struct trainopt__mp_call_s *m, const trainopt_precision *pr,
                                  const trainopt_step_opts *o);

/* What the driver needs beyond the descriptor: the step, its arrays and names. */
typedef struct trainopt__mp_call_s {
    trainopt__f32_step fn; /* the checks (and the all-fp32 call) */
    trainopt__mp_make make;
    trainopt__mp_loops loops;
    trainopt__mp_fused fused; /* NULL: the blocks always */
    const void *c;
    int64_t step;
    size_t n;
    void *param;
    const void *grad;
    void *const *states;
    int nstates;
    const char *const *state_names;
    const char *name; /* "trainopt_<opt>_step_mp" */
} trainopt__mp_call;

/* The parameter after the step (q, in float) back into the caller's arrays, k elements at
   index i, with the random words rnd for stochastic rounding; mode is pr->param_mode and
   f16 whether the parameter is fp16 (constants at each call: one loop per case). */
TRAINOPT__FORCE_INLINE void trainopt__mp_store_param(const trainopt_precision *pr, int mode, int f16, void *param, size_t i,
                                                     size_t k, trainopt__vf q, trainopt__vi rnd) {
    trainopt__vi h, low;
    switch (mode) {
    case TRAINOPT_PARAM_STOCHASTIC:
        h = f16 ? trainopt__v_to_f16(q, 1, rnd) : trainopt__v_to_bf16(q, 1, rnd);
        trainopt__vi_store16_n((uint16_t *)param + i, h, k);
        break;
    case TRAINOPT_PARAM_KAHAN: /* p = rne(q), c = rne(q - p): the rounding error, added back next step */
        h = f16 ? trainopt__v_to_f16(q, 0, rnd) : trainopt__v_to_bf16(q, 0, rnd);
        trainopt__vi_store16_n((uint16_t *)param + i, h, k);
        q = trainopt__v_sub(q, f16 ? trainopt__v_from_f16(h) : trainopt__v_from_bf16(h));
        h = f16 ? trainopt__v_to_f16(q, 0, rnd) : trainopt__v_to_bf16(q, 0, rnd);
        trainopt__vi_store16_n((uint16_t *)pr->param_aux + i, h, k);
        break;
    case TRAINOPT_PARAM_SPLIT: /* the float's top half is the bf16 parameter, its low half the aux array */
        /* A NaN's payload depends on the backend's operand order, and split stores the raw
           bits: every NaN is written as 0xffffffff (bf16 0xffff, trainopt_convert's NaN). */
        q = trainopt__v_select(trainopt__v_unord(q, q), trainopt__v_from_bits(trainopt__vi_set1(0xffffffffu)), q);
        h = trainopt__v_bits(q);
        low = trainopt__vi_and(h, trainopt__vi_set1(0xffffu));
        trainopt__vi_store16_n((uint16_t *)param + i, trainopt__vi_shr(h, 16), k);
        trainopt__vi_store16_n((uint16_t *)pr->param_aux + i, low, k);
        break;
    default: /* TRAINOPT_PARAM_NEAREST */
        trainopt__store_from_f32(param, f16 ? TRAINOPT_F16 : TRAINOPT_BF16, 0, i, k, q, rnd);
        break;
    }
}

/* The parameter as the step sees it: widened, plus the compensation (Kahan), or joined
   with its low half (split). mode and f16 as trainopt__mp_store_param's. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__mp_load_param(const trainopt_precision *pr, int mode, int f16, const void *param,
                                                            size_t i, size_t k) {
    if (mode == TRAINOPT_PARAM_SPLIT)
        return trainopt__v_from_bits(trainopt__vi_or(trainopt__vi_shl(trainopt__vi_load16_n((const uint16_t *)param + i, k), 16),
                                                     trainopt__vi_load16_n((const uint16_t *)pr->param_aux + i, k)));
    if (mode == TRAINOPT_PARAM_KAHAN)
        return trainopt__v_add(trainopt__load_as_f32(param, f16 ? TRAINOPT_F16 : TRAINOPT_BF16, i, k),
                               trainopt__load_as_f32(pr->param_aux, f16 ? TRAINOPT_F16 : TRAINOPT_BF16, i, k));
    return trainopt__load_as_f32(param, f16 ? TRAINOPT_F16 : TRAINOPT_BF16, i, k);
}

/* The block passes below run whole vectors, then the tail, with the format (and the
   parameter's mode) a constant in each loop: a test per vector would cost as much as the
   conversion itself. */

/* Widens k <= TRAINOPT__MP_BLOCK elements of src (bf16 or fp16) at index i into dst. */
TRAINOPT__FORCE_INLINE void trainopt__mp_widen_as(float *dst, const void *src, int dtype, size_t i, size_t k) {
    size_t j = 0;
    for (; j + TRAINOPT_SIMD_LANES <= k; j += TRAINOPT_SIMD_LANES)
        trainopt__v_store_n(dst + j, trainopt__load_as_f32(src, dtype, i + j, TRAINOPT_SIMD_LANES), TRAINOPT_SIMD_LANES);
    if (j < k) trainopt__v_store_n(dst + j, trainopt__load_as_f32(src, dtype, i + j, k - j), k - j);
}
TRAINOPT__DRIVER void trainopt__mp_widen(float *dst, const void *src, trainopt_dtype dtype, size_t i, size_t k) {
    if (dtype == TRAINOPT_BF16) trainopt__mp_widen_as(dst, src, TRAINOPT_BF16, i, k);
    else trainopt__mp_widen_as(dst, src, TRAINOPT_F16, i, k);
}

/* Rounds k floats of src to nearest into dst (bf16 or fp16) at index i. */
TRAINOPT__FORCE_INLINE void trainopt__mp_narrow_as(void *dst, int dtype, const float *src, size_t i, size_t k) {
    const trainopt__vi none = trainopt__vi_set1(0u);
    size_t j = 0;
    for (; j + TRAINOPT_SIMD_LANES <= k; j += TRAINOPT_SIMD_LANES)
        trainopt__store_from_f32(dst, dtype, 0, i + j, TRAINOPT_SIMD_LANES, trainopt__v_load_n(src + j, TRAINOPT_SIMD_LANES), none);
    if (j < k) trainopt__store_from_f32(dst, dtype, 0, i + j, k - j, trainopt__v_load_n(src + j, k - j), none);
}
TRAINOPT__DRIVER void trainopt__mp_narrow(void *dst, trainopt_dtype dtype, const float *src, size_t i, size_t k) {
    if (dtype == TRAINOPT_BF16) trainopt__mp_narrow_as(dst, TRAINOPT_BF16, src, i, k);
    else trainopt__mp_narrow_as(dst, TRAINOPT_F16, src, i, k);
}

/* The parameter's case as constants: split (bf16 only), Kahan, or nearest and stochastic
   (which load alike), each in bf16 or fp16. */
#define TRAINOPT__MP_PARAM_CASES(pr, CALL)                                        \
    switch ((pr)->param_mode) {                                                   \
    case TRAINOPT_PARAM_SPLIT: CALL(TRAINOPT_PARAM_SPLIT, 0); break;              \
    case TRAINOPT_PARAM_KAHAN:                                                    \
        if ((pr)->param_dtype == TRAINOPT_F16) CALL(TRAINOPT_PARAM_KAHAN, 1);     \
        else CALL(TRAINOPT_PARAM_KAHAN, 0);                                       \
        break;                                                                    \
    default:                                                                      \
        if ((pr)->param_dtype == TRAINOPT_F16) CALL(TRAINOPT_PARAM_NEAREST, 1);   \
        else CALL(TRAINOPT_PARAM_NEAREST, 0);                                     \
        break;                                                                    \
    }

TRAINOPT__FORCE_INLINE void trainopt__mp_param_in_as(const trainopt_precision *pr, int mode, int f16, float *dst,
                                                     const void *param, size_t i, size_t k) {
    size_t j = 0;
    for (; j + TRAINOPT_SIMD_LANES <= k; j += TRAINOPT_SIMD_LANES)
        trainopt__v_store_n(dst + j, trainopt__mp_load_param(pr, mode, f16, param, i + j, TRAINOPT_SIMD_LANES), TRAINOPT_SIMD_LANES);
    if (j < k) trainopt__v_store_n(dst + j, trainopt__mp_load_param(pr, mode, f16, param, i + j, k - j), k - j);
}
TRAINOPT__DRIVER void trainopt__mp_param_in(const trainopt_precision *pr, float *dst, const void *param, size_t i, size_t k) {
#define TRAINOPT__MP_PARAM_IN(mode, f16) trainopt__mp_param_in_as(pr, mode, f16, dst, param, i, k)
    TRAINOPT__MP_PARAM_CASES(pr, TRAINOPT__MP_PARAM_IN)
#undef TRAINOPT__MP_PARAM_IN
}

/* Nearest, Kahan and split: no random words. */
TRAINOPT__FORCE_INLINE void trainopt__mp_param_out_as(const trainopt_precision *pr, int mode, int f16, void *param,
                                                      const float *q, size_t i, size_t k) {
    const trainopt__vi none = trainopt__vi_set1(0u);
    size_t j = 0;
    for (; j + TRAINOPT_SIMD_LANES <= k; j += TRAINOPT_SIMD_LANES)
        trainopt__mp_store_param(pr, mode, f16, param, i + j, TRAINOPT_SIMD_LANES, trainopt__v_load_n(q + j, TRAINOPT_SIMD_LANES), none);
    if (j < k) trainopt__mp_store_param(pr, mode, f16, param, i + j, k - j, trainopt__v_load_n(q + j, k - j), none);
}
TRAINOPT__DRIVER void trainopt__mp_param_out(const trainopt_precision *pr, const trainopt__philox_key *key, void *param,
                                             const float *q, size_t i, size_t k) {
    if (pr->param_mode == TRAINOPT_PARAM_STOCHASTIC) {
        const int f16 = pr->param_dtype == TRAINOPT_F16;
#define TRAINOPT__MP_PARAM_BODY(j, w, rnd) \
    trainopt__mp_store_param(pr, TRAINOPT_PARAM_STOCHASTIC, f16, param, i + (j), w, trainopt__v_load_n(q + (j), w), rnd)
        TRAINOPT__WITH_WORDS(key, pr->offset + i, k, TRAINOPT__MP_PARAM_BODY);
#undef TRAINOPT__MP_PARAM_BODY
    } else {
#define TRAINOPT__MP_PARAM_OUT(mode, f16) trainopt__mp_param_out_as(pr, mode, f16, param, q, i, k)
        TRAINOPT__MP_PARAM_CASES(pr, TRAINOPT__MP_PARAM_OUT)
#undef TRAINOPT__MP_PARAM_OUT
    }
}
#undef TRAINOPT__MP_PARAM_CASES

/* Every check of the descriptor and of the arrays' bytes, before anything is written. */
TRAINOPT__DRIVER trainopt_status trainopt__mp_check(const trainopt__mp_call *m, const trainopt_precision *pr,
                                                    const trainopt_step_opts *o) {
    const char *fn = m->name;
    const void *ptr[8];
    size_t bytes[8];
    const char *names[8];
    int count = 0, a, b, s;
    if (pr == NULL) return trainopt__once_null(fn, "pr (the precision descriptor)");
    if (!trainopt__dtype_ok(pr->param_dtype))
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "pr->param_dtype = %d is not a trainopt_dtype", (int)pr->param_dtype);
    if (!trainopt__dtype_ok(pr->grad_dtype))
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "pr->grad_dtype = %d is not a trainopt_dtype", (int)pr->grad_dtype);
    if (pr->state_dtype != TRAINOPT_F32 && pr->state_dtype != TRAINOPT_BF16)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "pr->state_dtype = %d is not TRAINOPT_F32 or TRAINOPT_BF16",
                                   (int)pr->state_dtype);
    if ((int)pr->param_mode < 0 || (int)pr->param_mode > (int)TRAINOPT_PARAM_SPLIT)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "pr->param_mode = %d is not a trainopt_param_mode", (int)pr->param_mode);
    if (pr->param_dtype == TRAINOPT_F32 && (pr->param_mode != TRAINOPT_PARAM_NEAREST || pr->param_aux != NULL))
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "fp32 parameters take no rounding mode and no pr->param_aux "
                                                            "(compensation and split halves are for bf16/fp16 parameters)");
    if (pr->param_mode == TRAINOPT_PARAM_SPLIT && pr->param_dtype != TRAINOPT_BF16)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "split parameters are bf16 (the top half of the fp32 master)");
    if ((pr->param_mode == TRAINOPT_PARAM_NEAREST || pr->param_mode == TRAINOPT_PARAM_STOCHASTIC) && pr->param_aux != NULL)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "pr->param_aux is only for the Kahan and split modes");
    if (pr->copy != NULL && pr->copy_dtype != TRAINOPT_BF16 && pr->copy_dtype != TRAINOPT_F16)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "pr->copy_dtype = %d is not TRAINOPT_BF16 or TRAINOPT_F16",
                                   (int)pr->copy_dtype);
    if (m->n == 0) return TRAINOPT_OK;
    if (m->param == NULL) return trainopt__once_null(fn, "param");
    if (m->grad == NULL) return trainopt__once_null(fn, "grad");
    if ((pr->param_mode == TRAINOPT_PARAM_KAHAN || pr->param_mode == TRAINOPT_PARAM_SPLIT) && pr->param_aux == NULL)
        return trainopt__once_null(fn, "pr->param_aux (needed: Kahan or split parameters)");
    if (m->n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", m->n);
    /* every array's bytes: no two may share one, and the count output none of them */
#define TRAINOPT__MP_ARRAY(p, dtype, text) \
    if (p) ptr[count] = p, bytes[count] = m->n * trainopt__dtype_size(dtype), names[count++] = text
    TRAINOPT__MP_ARRAY(m->param, pr->param_dtype, "param");
    TRAINOPT__MP_ARRAY(m->grad, pr->grad_dtype, "grad");
    for (s = 0; s < m->nstates; s++) TRAINOPT__MP_ARRAY(m->states[s], pr->state_dtype, m->state_names[s]);
    TRAINOPT__MP_ARRAY(pr->param_aux, pr->param_dtype, "pr->param_aux");
    TRAINOPT__MP_ARRAY(pr->copy, pr->copy_dtype, "pr->copy");
#undef TRAINOPT__MP_ARRAY
    for (a = 0; a < count; a++)
        for (b = a + 1; b < count; b++)
            if (trainopt__overlap(ptr[a], bytes[a], ptr[b], bytes[b])) return trainopt__once_alias(fn, names[a], names[b]);
    if (o && o->nonfinite)
        for (a = 0; a < count; a++)
            if (trainopt__overlap(o->nonfinite, sizeof *o->nonfinite, ptr[a], bytes[a]))
                return trainopt__once_alias(fn, "o->nonfinite", names[a]);
    return TRAINOPT_OK;
}

/* A refusal of the fp32 kernel, restated as the caller's: its text names the _ex kernel. */
static TRAINOPT__COLD trainopt_status trainopt__mp_refused(const trainopt__mp_call *m, trainopt_status st) {
    char text[512];
    const char *why = strchr(trainopt_last_error(), ':');
    snprintf(text, sizeof text, "%s", why ? why + 2 : trainopt_last_error());
    return trainopt__once_fail(st, m->name, "%s", text);
}

TRAINOPT__DRIVER trainopt_status trainopt__mp_run(const trainopt__mp_call *m, const trainopt_precision *pr,
                                                  const trainopt_step_opts *o) {
    float pbuf[TRAINOPT__MP_BLOCK], gbuf[TRAINOPT__MP_BLOCK], sbuf[TRAINOPT_MAX_STATES][TRAINOPT__MP_BLOCK];
    float *sp[TRAINOPT_MAX_STATES] = {NULL, NULL, NULL, NULL};
    trainopt_step_opts bo;
    trainopt__mp_scalars scalars;
    trainopt__philox_key key;
    trainopt_status st;
    size_t i, k, bad = 0, block_bad = 0;
    int s;
    int f32_param;
    if ((st = trainopt__mp_check(m, pr, o)) != TRAINOPT_OK) return st;
    f32_param = pr->param_dtype == TRAINOPT_F32;
    /* the config, the step and the options: the kernel's own checks, on nothing (the
       count output not yet: a refusal further on must leave it untouched) */
    if (o) {
        bo = *o;
        bo.nonfinite = NULL;
    }
    if ((st = m->fn(m->c, m->step, 0, NULL, NULL, sp, o ? &bo : NULL)) != TRAINOPT_OK) return trainopt__mp_refused(m, st);
    if (m->n == 0 || (o && o->found_inf && *o->found_inf)) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    if (f32_param && pr->grad_dtype == TRAINOPT_F32 && pr->state_dtype == TRAINOPT_F32 && pr->copy == NULL) {
        for (s = 0; s < m->nstates; s++) sp[s] = (float *)m->states[s];
        st = m->fn(m->c, m->step, m->n, (float *)m->param, (const float *)m->grad, sp, o);
        return st == TRAINOPT_OK ? st : trainopt__mp_refused(m, st);
    }
    if (!o) bo.grad_scale = 1.0;
    bo.found_inf = NULL;
    bo.nonfinite = o && o->nonfinite ? &block_bad : NULL;
    if (m->fused && m->fused(m, pr, o ? &bo : NULL)) {
        if (o && o->nonfinite) *o->nonfinite = block_bad;
        return TRAINOPT_OK;
    }
    trainopt__philox_key_seed(&key, pr->seed);
    for (i = 0; i < m->n; i += k) {
        float *p = f32_param ? (float *)m->param + i : pbuf;
        const float *g = pr->grad_dtype == TRAINOPT_F32 ? (const float *)m->grad + i : gbuf;
        k = m->n - i < TRAINOPT__MP_BLOCK ? m->n - i : TRAINOPT__MP_BLOCK;
        if (!f32_param) trainopt__mp_param_in(pr, pbuf, m->param, i, k);
        if (pr->grad_dtype != TRAINOPT_F32) trainopt__mp_widen(gbuf, m->grad, pr->grad_dtype, i, k);
        for (s = 0; s < m->nstates; s++) {
            sp[s] = m->states[s] == NULL ? NULL : pr->state_dtype == TRAINOPT_F32 ? (float *)m->states[s] + i : sbuf[s];
            if (sp[s] && pr->state_dtype != TRAINOPT_F32) trainopt__mp_widen(sbuf[s], m->states[s], pr->state_dtype, i, k);
        }
        block_bad = 0;
        if (i == 0) {
            /* The first block through the fp32 kernel: its refusal (a state the config needs
               is NULL) comes before any write, in its words. The rest run its loops directly. */
            if ((st = m->fn(m->c, m->step, k, p, g, sp, o ? &bo : NULL)) != TRAINOPT_OK) return trainopt__mp_refused(m, st);
            m->make(m->c, m->step, o ? &bo : NULL, &scalars);
        } else {
            m->loops(m->c, m->step, &scalars, k, p, g, sp, o ? &bo : NULL);
        }
        bad += block_bad;
        for (s = 0; s < m->nstates; s++)
            if (sp[s] && pr->state_dtype != TRAINOPT_F32) trainopt__mp_narrow(m->states[s], pr->state_dtype, sbuf[s], i, k);
        if (pr->copy) trainopt__mp_narrow(pr->copy, pr->copy_dtype, p, i, k);
        if (!f32_param) trainopt__mp_param_out(pr, &key, m->param, pbuf, i, k);
    }
    if (o && o->nonfinite) *o->nonfinite = bad;
    return TRAINOPT_OK;
}

/* Adam's and AdamW's fused loop (trainopt__mp_fused): bf16 or fp16 parameters rounded to
   nearest with gradients of the same dtype, fp32 or bf16 states, no copy, no amsgrad (the
   mixed-precision paths DeepSpeed's CPU Adam has). The loop is the fp32 kernel's own
   (trainopt__adam_loop_as) with the loads and stores in the arrays' dtypes: the same float
   operations on the same values as the block driver's widen, fp32 loop, round, so the same
   bits, without the passes through the stack buffers (bench/RESULTS.md, "Fused Adam").
   Everything else, a NULL state the config needs included, goes to the blocks (whose
   first block refuses it in the fp32 kernel's words). */
TRAINOPT__DRIVER int trainopt__mp_adam_fused_run(const trainopt__mp_call *m, const trainopt_precision *pr,
                                                const trainopt_step_opts *o, int decoupled) {
    const trainopt_adam_config *c = (const trainopt_adam_config *)m->c;
    void *const *st = m->states;
    trainopt__adam_scalars s;
    if (pr->param_mode != TRAINOPT_PARAM_NEAREST || pr->param_dtype == TRAINOPT_F32 || pr->grad_dtype != pr->param_dtype ||
        pr->copy != NULL || c->amsgrad || st[0] == NULL || st[1] == NULL)
        return 0;
    s = trainopt__adam_scalars_make(c, m->step, o);
#define TRAINOPT__MP_ADAM_FUSED(pdt, sdt) \
    trainopt__adam_loops_as(c, decoupled, &s, pdt, pdt, sdt, m->n, m->param, m->grad, st[0], st[1], o)
    if (pr->param_dtype == TRAINOPT_BF16) {
        if (pr->state_dtype == TRAINOPT_BF16) TRAINOPT__MP_ADAM_FUSED(TRAINOPT_BF16, TRAINOPT_BF16);
        else TRAINOPT__MP_ADAM_FUSED(TRAINOPT_BF16, TRAINOPT_F32);
    } else {
        if (pr->state_dtype == TRAINOPT_BF16) TRAINOPT__MP_ADAM_FUSED(TRAINOPT_F16, TRAINOPT_BF16);
        else TRAINOPT__MP_ADAM_FUSED(TRAINOPT_F16, TRAINOPT_F32);
    }
#undef TRAINOPT__MP_ADAM_FUSED
    return 1;
}
TRAINOPT__DRIVER int trainopt__mp_fused_adam(const trainopt__mp_call *m, const trainopt_precision *pr, const trainopt_step_opts *o) {
    return trainopt__mp_adam_fused_run(m, pr, o, 0);
}
TRAINOPT__DRIVER int trainopt__mp_fused_adamw(const trainopt__mp_call *m, const trainopt_precision *pr, const trainopt_step_opts *o) {
    return trainopt__mp_adam_fused_run(m, pr, o, 1);
}

/* Each optimizer's adapters to its fp32 _ex kernel, scalars and loops, and its _step_mp.
   MAKE and LOOPS are statements over the adapters' arguments (c, step, o, s, n, param,
   grad, st). Pasted names get the variant's prefix here, as tools/pack.sh gives the
   spelled-out ones (>>dispatch-names). */
#if defined(TRAINOPT__DISPATCHING)
#define TRAINOPT__MP_NAME(name) TRAINOPT__PRIVATE(name)
#else
#define TRAINOPT__MP_NAME(name) name
#endif
#define TRAINOPT__MP_S1(s) s[0]
#define TRAINOPT__MP_S2(s) s[0], s[1]
#define TRAINOPT__MP_S3(s) s[0], s[1], s[2]
/* The three adapters; UNPACK declares c (the config) from cv, and for the steps below
   with one more argument, x too. */
#define TRAINOPT__MP_ADAPTERS(NAME, UNPACK, F32, MAKE, LOOPS)                                                         \
    static trainopt_status TRAINOPT__MP_NAME(trainopt__mp_f32_##NAME)(const void *cv, int64_t step, size_t n,        \
                                                                         float *param, const float *grad,             \
                                                                         float *const *st, const trainopt_step_opts *o) { \
        UNPACK;                                                                                                        \
        (void)step;                                                                                                    \
        return F32;                                                                                                    \
    }                                                                                                                  \
    static void TRAINOPT__MP_NAME(trainopt__mp_make_##NAME)(const void *cv, int64_t step, const trainopt_step_opts *o, \
                                                              trainopt__mp_scalars *s) {                              \
        UNPACK;                                                                                                        \
        (void)step;                                                                                                    \
        MAKE;                                                                                                          \
    }                                                                                                                  \
    static void TRAINOPT__MP_NAME(trainopt__mp_loops_##NAME)(const void *cv, int64_t step, const trainopt__mp_scalars *s, \
                                                               size_t n, float *param, const float *grad,             \
                                                               float *const *st, const trainopt_step_opts *o) {        \
        UNPACK;                                                                                                        \
        (void)step;                                                                                                    \
        LOOPS;                                                                                                         \
    }
/* The public step: LEAD its parameters between the config and n, CTX_DECL a statement
   making what the adapters' cv points at (CTX), STEP the driver's step number. */
#define TRAINOPT__MP_PUBLIC(NAME, CONFIG, LEAD, CTX_DECL, CTX, STEP, FUSED, NSTATES, STATE_PARAMS, STATE_ARGS, ...)   \
    TRAINOPT__KERNEL_API trainopt_status trainopt_##NAME##_step_mp(const CONFIG *c, TRAINOPT__MP_UNPAREN LEAD, size_t n, \
                                                                   void *param, const void *grad,                      \
                                                                   TRAINOPT__MP_UNPAREN STATE_PARAMS,                  \
                                                                   const trainopt_precision *pr,                       \
                                                                   const trainopt_step_opts *o) {                      \
        static const char *const names[] = {__VA_ARGS__};                                                              \
        void *const states[] = {TRAINOPT__MP_UNPAREN STATE_ARGS};                                                      \
        trainopt__mp_call m;                                                                                           \
        CTX_DECL;                                                                                                      \
        m.fn = TRAINOPT__MP_NAME(trainopt__mp_f32_##NAME);                                                           \
        m.make = TRAINOPT__MP_NAME(trainopt__mp_make_##NAME);                                                        \
        m.loops = TRAINOPT__MP_NAME(trainopt__mp_loops_##NAME);                                                      \
        m.fused = FUSED;                                                                                               \
        m.c = CTX, m.step = STEP, m.n = n, m.param = param, m.grad = grad;                                             \
        m.states = states, m.nstates = NSTATES, m.state_names = names;                                                 \
        m.name = "trainopt_" #NAME "_step_mp";                                                                         \
        return trainopt__mp_run(&m, pr, o);                                                                            \
    }
#define TRAINOPT__MP_DEFINE(NAME, CONFIG, FUSED, NSTATES, STATE_PARAMS, STATE_ARGS, MAKE, LOOPS, ...)                 \
    TRAINOPT__MP_ADAPTERS(NAME, const CONFIG *c = (const CONFIG *)cv,                                                  \
                          trainopt_##NAME##_step_ex(c, step, n, param, grad, TRAINOPT__MP_S##NSTATES(st), o), MAKE, LOOPS) \
    TRAINOPT__MP_PUBLIC(NAME, CONFIG, (int64_t step), (void)0, c, step, FUSED, NSTATES, STATE_PARAMS, STATE_ARGS, __VA_ARGS__)
/* A step with one more argument beside the config, x of type EXTRA_TYPE (EXTRA: its value
   from the public parameters LEAD), found next to the config by the adapters (as the
   multi-tensor steps do, src/parallel.h); every block uses the one value. F32_LEAD: the
   _ex kernel's arguments between the config and n. */
#define TRAINOPT__MP_DEFINE_EXTRA(NAME, CONFIG, LEAD, EXTRA_TYPE, EXTRA, STEP, F32_LEAD, NSTATES, STATE_PARAMS,          \
                                  STATE_ARGS, MAKE, LOOPS, ...)                                                        \
    typedef struct {                                                                                                   \
        const CONFIG *c;                                                                                               \
        EXTRA_TYPE x;                                                                                                  \
    } TRAINOPT__MP_NAME(trainopt__mp_args_##NAME);                                                                    \
    TRAINOPT__MP_ADAPTERS(NAME, const TRAINOPT__MP_NAME(trainopt__mp_args_##NAME) *a =                                \
                                    (const TRAINOPT__MP_NAME(trainopt__mp_args_##NAME) *)cv;                          \
                          const CONFIG *c = a->c; EXTRA_TYPE const x = a->x; (void)x,                                  \
                          trainopt_##NAME##_step_ex(c, TRAINOPT__MP_UNPAREN F32_LEAD, n, param, grad,                  \
                                                    TRAINOPT__MP_S##NSTATES(st), o),                                   \
                          MAKE, LOOPS)                                                                                 \
    TRAINOPT__MP_PUBLIC(NAME, CONFIG, LEAD, TRAINOPT__MP_NAME(trainopt__mp_args_##NAME) a; a.c = c; a.x = EXTRA, &a,  \
                        STEP, NULL, NSTATES, STATE_PARAMS, STATE_ARGS, __VA_ARGS__)
#define TRAINOPT__MP_UNPAREN(...) __VA_ARGS__
TRAINOPT__MP_DEFINE(sgd, trainopt_sgd_config, NULL, 1, (void *momentum_buf), (momentum_buf),
                    s->sgd = trainopt__sgd_scalars_make(c, o),
                    trainopt__sgd_loops(c, &s->sgd, step, n, param, grad, st[0], o), "momentum_buf")
TRAINOPT__MP_DEFINE(adagrad, trainopt_adagrad_config, NULL, 1, (void *state_sum), (state_sum),
                    s->adagrad = trainopt__adagrad_scalars_make(c, step, o),
                    trainopt__adagrad_loops(c, &s->adagrad, n, param, grad, st[0], o), "state_sum")
TRAINOPT__MP_DEFINE(rmsprop, trainopt_rmsprop_config, NULL, 3, (void *square_avg, void *momentum_buf, void *grad_avg),
                    (square_avg, momentum_buf, grad_avg), s->rmsprop = trainopt__rmsprop_scalars_make(c, o),
                    trainopt__rmsprop_loops(c, &s->rmsprop, n, param, grad, st[0], st[1], st[2], o), "square_avg",
                    "momentum_buf", "grad_avg")
TRAINOPT__MP_DEFINE(adam, trainopt_adam_config, trainopt__mp_fused_adam, 3, (void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq),
                    (exp_avg, exp_avg_sq, max_exp_avg_sq), s->adam = trainopt__adam_scalars_make(c, step, o),
                    trainopt__adam_loops(c, 0, &s->adam, n, param, grad, st[0], st[1], st[2], o), "exp_avg", "exp_avg_sq",
                    "max_exp_avg_sq")
TRAINOPT__MP_DEFINE(adamw, trainopt_adam_config, trainopt__mp_fused_adamw, 3, (void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq),
                    (exp_avg, exp_avg_sq, max_exp_avg_sq), s->adam = trainopt__adam_scalars_make(c, step, o),
                    trainopt__adam_loops(c, 1, &s->adam, n, param, grad, st[0], st[1], st[2], o), "exp_avg", "exp_avg_sq",
                    "max_exp_avg_sq")
TRAINOPT__MP_DEFINE(radam, trainopt_radam_config, NULL, 2, (void *exp_avg, void *exp_avg_sq), (exp_avg, exp_avg_sq),
                    s->radam = trainopt__radam_scalars_make(c, step, o),
                    trainopt__radam_loops(c, &s->radam, n, param, grad, st[0], st[1], o), "exp_avg", "exp_avg_sq")
TRAINOPT__MP_DEFINE(adamax, trainopt_adamax_config, NULL, 2, (void *exp_avg, void *exp_inf), (exp_avg, exp_inf),
                    s->adamax = trainopt__adamax_scalars_make(c, step, o),
                    trainopt__adamax_loops(c, &s->adamax, n, param, grad, st[0], st[1], o), "exp_avg", "exp_inf")
TRAINOPT__MP_DEFINE(adadelta, trainopt_adadelta_config, NULL, 2, (void *square_avg, void *acc_delta), (square_avg, acc_delta),
                    s->adadelta = trainopt__adadelta_scalars_make(c, o),
                    trainopt__adadelta_loops(c, &s->adadelta, n, param, grad, st[0], st[1], o), "square_avg", "acc_delta")
TRAINOPT__MP_DEFINE(lion, trainopt_lion_config, NULL, 1, (void *exp_avg), (exp_avg), s->lion = trainopt__lion_scalars_make(c, o),
                    trainopt__lion_loops(c, &s->lion, n, param, grad, st[0], o), "exp_avg")

/* NAdam's step also takes mu_product; schedule-free AdamW's its scalar state
   (trainopt_sfadamw_advance's) in place of a step number (the driver's is unused). */
TRAINOPT__MP_DEFINE_EXTRA(nadam, trainopt_nadam_config, (int64_t step, double mu_product), double, mu_product, step, (step, x),
                          2, (void *exp_avg, void *exp_avg_sq), (exp_avg, exp_avg_sq),
                          s->nadam = trainopt__nadam_scalars_make(c, step, x, o),
                          trainopt__nadam_loops(c, &s->nadam, n, param, grad, st[0], st[1], o), "exp_avg", "exp_avg_sq")
TRAINOPT__MP_DEFINE_EXTRA(sfadamw, trainopt_sfadamw_config, (const trainopt_sfadamw_state *s), const trainopt_sfadamw_state *, s,
                          1, (x), 2, (void *z, void *exp_avg_sq), (z, exp_avg_sq),
                          s->sfadamw = trainopt__sfadamw_scalars_make(c, x, o),
                          trainopt__sfadamw_loops(c, x, &s->sfadamw, n, param, grad, st[0], st[1], o), "z", "exp_avg_sq")
#undef TRAINOPT__MP_DEFINE
#undef TRAINOPT__MP_DEFINE_EXTRA
#undef TRAINOPT__MP_PUBLIC
#undef TRAINOPT__MP_ADAPTERS
#undef TRAINOPT__MP_UNPAREN
#undef TRAINOPT__MP_NAME
