/* >>layerwise: the optimizers of issue 16 that are more than one elementwise pass:
   LAMB and LARS (optax; a trust ratio per tensor, so a list of tensors per call and
   two passes: the norms, then the update) and schedule-free AdamW (a scalar
   averaging state carried across steps, advanced once per step outside the element
   loop). Per-tensor norms use the blocked canonical order of >>sumblock: blocks of
   TRAINOPT__LW_BLOCK elements, within a block element i to partial sum i % 16 of a
   trainopt__acc16 (its fixed tree), the block sums added in double, in order; so the
   norms, and with them every bit, are the same on every backend. */
#define TRAINOPT__LW_BLOCK TRAINOPT__SUM_BLOCK

/* ---- argument checks of the list kernels ---- */

/* One list of k tensors (`ptrs[t]` has lens[t] elements of `size` bytes); `writes`: the
   kernel writes them. */
typedef struct {
    const void *const *ptrs;
    const char *name;
    int writes;
    size_t size;
} trainopt__lw_list;

/* Checks the lists of a list kernel before anything is touched: the lens array, every
   list, every tensor with elements non-NULL, byte sizes, and no overlap between any two
   tensors of which one is written, nor between a tensor and the count output `count_out`
   (may be NULL). O((lists*k)^2) pointer comparisons. */
static inline trainopt_status trainopt__lw_check(size_t k, const size_t *lens, const trainopt__lw_list *lists, int nlists,
                                                 const size_t *count_out, const char *fn) {
    size_t i, j;
    int a, b;
    if (k == 0) return TRAINOPT_OK;
    if (lens == NULL) return trainopt__once_null(fn, "lens");
    for (a = 0; a < nlists; a++)
        if (lists[a].ptrs == NULL) return trainopt__once_null(fn, lists[a].name);
    for (i = 0; i < k; i++) {
        if (lens[i] > SIZE_MAX / sizeof(float))
            return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "lens[%zu] = %zu: its size in bytes overflows size_t", i,
                                       lens[i]);
        for (a = 0; a < nlists; a++)
            if (lens[i] > 0 && lists[a].ptrs[i] == NULL)
                return trainopt__once_fail(TRAINOPT_ERR_NULL, fn, "%s[%zu] is NULL (lens[%zu] = %zu)", lists[a].name, i, i,
                                           lens[i]);
    }
    for (a = 0; a < nlists; a++)
        for (i = 0; i < k; i++) {
            const void *x = lists[a].ptrs[i];
            const size_t xbytes = lens[i] * lists[a].size;
            if (count_out != NULL && trainopt__overlap(count_out, sizeof *count_out, x, xbytes))
                return trainopt__once_fail(TRAINOPT_ERR_ALIAS, fn, "o->nonfinite and %s[%zu] overlap", lists[a].name, i);
            for (b = a; b < nlists; b++) {
                if (!lists[a].writes && !lists[b].writes) continue;
                for (j = b == a ? i + 1 : 0; j < k; j++)
                    if (trainopt__overlap(x, xbytes, lists[b].ptrs[j], lens[j] * lists[b].size))
                        return trainopt__once_fail(TRAINOPT_ERR_ALIAS, fn, "%s[%zu] and %s[%zu] overlap", lists[a].name, i,
                                                   lists[b].name, j);
            }
        }
    return TRAINOPT_OK;
}

/* optax.scale_by_trust_ratio: coef * ||p|| / (||u|| + eps), and 1 where either norm is 0
   (NaN norms give NaN). From the sums of squares, in double. */
TRAINOPT__FORCE_INLINE double trainopt__trust_ratio(double p_sumsq, double u_sumsq, double coef, double eps) {
    const double p_norm = sqrt(p_sumsq), u_norm = sqrt(u_sumsq);
    if (p_norm == 0.0 || u_norm == 0.0) return 1.0;
    return coef * p_norm / (u_norm + eps);
}

/* ---- the two passes shared by LAMB and LARS ---- */

#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum { TRAINOPT__LW_LAMB, TRAINOPT__LW_LARS };
#endif

typedef struct {
    trainopt__grad_in gi;
    float beta1, one_minus_beta1, beta2, one_minus_beta2; /* LAMB */
    float inv_bias_correction1, inv_bias_correction2, eps_root, eps;
    float weight_decay;
    float momentum; /* LARS */
} trainopt__lw_scalars;

/* One tensor's arrays: LAMB's state0/state1 are exp_avg/exp_avg_sq, LARS's state0 the trace. */
typedef struct {
    float *param;
    const float *grad;
    float *state0, *state1;
} trainopt__lw_io;

/* LAMB's direction from the new moments: m_hat / (sqrt(v_hat + eps_root) + eps) + wd*p. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__lamb_direction(const trainopt__lw_scalars *s, trainopt__vf p, trainopt__vf m,
                                                             trainopt__vf v, int has_wd) {
    const trainopt__vf m_hat = trainopt__v_mul(m, trainopt__v_set1(s->inv_bias_correction1));
    const trainopt__vf root =
        trainopt__v_sqrt(trainopt__v_fma(v, trainopt__v_set1(s->inv_bias_correction2), trainopt__v_set1(s->eps_root)));
    trainopt__vf u = trainopt__v_div(m_hat, trainopt__v_add(root, trainopt__v_set1(s->eps)));
    if (has_wd) u = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, u);
    return u;
}

/* Pass 1 on k <= LANES elements at i: LAMB updates and stores the moments; both add p^2
   and u^2 (u the direction before the trust ratio) to the partial sums. */
TRAINOPT__FORCE_INLINE void trainopt__lw_norm_lanes(int op, const trainopt__lw_scalars *s, const trainopt__lw_io *io, size_t i,
                                                    size_t k, int scaled, size_t *nonfinite, int has_wd, trainopt__vf *p_sq,
                                                    trainopt__vf *u_sq) {
    const trainopt__vf p = trainopt__v_load_n(io->param + i, k);
    const trainopt__vf g = trainopt__grad_load(&s->gi, io->grad, i, k, scaled, nonfinite);
    trainopt__vf u;
    if (op == TRAINOPT__LW_LAMB) {
        trainopt__vf m, v;
        trainopt__adam_moments(s->beta1, s->one_minus_beta1, s->beta2, s->one_minus_beta2, g, i, k, io->state0, io->state1, &m,
                               &v);
        /* lanes past k are 0/0 when eps is 0: they must add nothing */
        u = trainopt__v_keep_first(trainopt__lamb_direction(s, p, m, v, has_wd), k);
    } else {
        u = has_wd ? trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g) : g;
    }
    *p_sq = trainopt__v_fma(p, p, *p_sq);
    *u_sq = trainopt__v_fma(u, u, *u_sq);
}

/* Pass 2 on k <= LANES elements at i, with neg_scale = -lr * trust ratio, computed and not
   stored: x[0] the new parameter, x[1] LARS's new trace.
   LAMB  p = p + neg_scale * u   (u again from the stored moments: the same bits as pass 1)
   LARS  d = neg_scale * u;  t = d + momentum*t;  p = p + (nesterov ? d + momentum*t : t) */
TRAINOPT__FORCE_INLINE void trainopt__lw_update_values(int op, const trainopt__lw_scalars *s, const trainopt__lw_io *io,
                                                       float neg_scale, size_t i, size_t k, int scaled, int has_wd,
                                                       int has_trace, int nesterov, trainopt__vf *x) {
    const trainopt__vf p = trainopt__v_load_n(io->param + i, k);
    x[1] = trainopt__v_zero(); /* stored only with a trace */
    if (op == TRAINOPT__LW_LAMB) {
        const trainopt__vf u = trainopt__lamb_direction(s, p, trainopt__v_load_n(io->state0 + i, k),
                                                        trainopt__v_load_n(io->state1 + i, k), has_wd);
        x[0] = trainopt__v_fma(trainopt__v_set1(neg_scale), u, p);
    } else {
        const trainopt__vf g = trainopt__grad_load(&s->gi, io->grad, i, k, scaled, NULL);
        const trainopt__vf u = has_wd ? trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g) : g;
        const trainopt__vf d = trainopt__v_mul(u, trainopt__v_set1(neg_scale));
        trainopt__vf out = d;
        if (has_trace) {
            x[1] = trainopt__v_fma(trainopt__v_set1(s->momentum), trainopt__v_load_n(io->state0 + i, k), d);
            out = nesterov ? trainopt__v_fma(trainopt__v_set1(s->momentum), x[1], d) : x[1];
        }
        x[0] = trainopt__v_add(p, out);
    }
}

/* Pass 1 over one tensor of n elements: its sums of p^2 and u^2, blocked canonical order. */
TRAINOPT__FORCE_INLINE void trainopt__lw_norms(int op, const trainopt__lw_scalars *s, const trainopt__lw_io *io, size_t n,
                                               int scaled, size_t *nonfinite, int has_wd, double *p_sumsq, double *u_sumsq) {
    size_t b, i, j;
    for (b = 0; b < n; b += TRAINOPT__LW_BLOCK) {
        const size_t end = n - b < TRAINOPT__LW_BLOCK ? n : b + TRAINOPT__LW_BLOCK;
        const size_t whole = end - (end - b) % 16; /* the block's elements in whole groups of 16 */
        trainopt__acc16 p_acc, u_acc;
        trainopt__acc16_zero(&p_acc);
        trainopt__acc16_zero(&u_acc);
        for (i = b; i < whole; i += 16)
            for (j = 0; j < TRAINOPT__ACC_VECS; j++)
                trainopt__lw_norm_lanes(op, s, io, i + j * TRAINOPT_SIMD_LANES, TRAINOPT_SIMD_LANES, scaled, nonfinite, has_wd,
                                        &p_acc.v[j], &u_acc.v[j]);
        for (j = 0; i < end; j++, i += TRAINOPT_SIMD_LANES)
            trainopt__lw_norm_lanes(op, s, io, i, end - i < TRAINOPT_SIMD_LANES ? end - i : TRAINOPT_SIMD_LANES, scaled,
                                    nonfinite, has_wd, &p_acc.v[j], &u_acc.v[j]);
        *p_sumsq += (double)trainopt__acc16_sum(&p_acc);
        *u_sumsq += (double)trainopt__acc16_sum(&u_acc);
    }
}

TRAINOPT__FORCE_INLINE void trainopt__lw_update(int op, const trainopt__lw_scalars *s, const trainopt__lw_io *io, size_t n,
                                                float neg_scale, int scaled, int has_wd, int has_trace, int nesterov) {
    void *const out[2] = {io->param, io->state0};
    const int dts[2] = {TRAINOPT_F32, TRAINOPT_F32};
#define TRAINOPT__LW_UPDATE_VALUES(i, k, x) \
    trainopt__lw_update_values(op, s, io, neg_scale, i, k, scaled, has_wd, has_trace, nesterov, x)
    TRAINOPT__STORE_RUNS(n, 2, 1 | has_trace << 1, out, dts, TRAINOPT__LW_UPDATE_VALUES);
#undef TRAINOPT__LW_UPDATE_VALUES
}

/* Pass 1 (norms_of) and pass 2 (update_of) over n elements of one tensor, the flags made
   constants: one loop per combination. The mixed-precision steps (src/mixed_layerwise.h)
   run them on widened blocks of TRAINOPT__LW_BLOCK multiples. */
TRAINOPT__FORCE_INLINE void trainopt__lw_norms_of(int op, const trainopt__lw_scalars *s, const trainopt__lw_io *io, size_t n,
                                                  int scaled, size_t *nonfinite, int has_wd, double *p_sumsq,
                                                  double *u_sumsq) {
    if (op == TRAINOPT__LW_LAMB) {
        if (has_wd) trainopt__lw_norms(TRAINOPT__LW_LAMB, s, io, n, scaled, nonfinite, 1, p_sumsq, u_sumsq);
        else trainopt__lw_norms(TRAINOPT__LW_LAMB, s, io, n, scaled, nonfinite, 0, p_sumsq, u_sumsq);
    } else {
        if (has_wd) trainopt__lw_norms(TRAINOPT__LW_LARS, s, io, n, scaled, nonfinite, 1, p_sumsq, u_sumsq);
        else trainopt__lw_norms(TRAINOPT__LW_LARS, s, io, n, scaled, nonfinite, 0, p_sumsq, u_sumsq);
    }
}

TRAINOPT__FORCE_INLINE void trainopt__lw_update_of(int op, const trainopt__lw_scalars *s, const trainopt__lw_io *io, size_t n,
                                                   float neg_scale, int scaled, int has_wd, int nesterov) {
    if (op == TRAINOPT__LW_LAMB) {
        if (has_wd) trainopt__lw_update(TRAINOPT__LW_LAMB, s, io, n, neg_scale, scaled, 1, 0, 0);
        else trainopt__lw_update(TRAINOPT__LW_LAMB, s, io, n, neg_scale, scaled, 0, 0, 0);
    } else if (io->state0 == NULL) {
        trainopt__lw_update(TRAINOPT__LW_LARS, s, io, n, neg_scale, scaled, has_wd, 0, 0);
    } else if (nesterov) {
        trainopt__lw_update(TRAINOPT__LW_LARS, s, io, n, neg_scale, scaled, has_wd, 1, 1);
    } else if (has_wd) {
        trainopt__lw_update(TRAINOPT__LW_LARS, s, io, n, neg_scale, scaled, 1, 1, 0);
    } else {
        trainopt__lw_update(TRAINOPT__LW_LARS, s, io, n, neg_scale, scaled, 0, 1, 0);
    }
}

/* -lr * trust ratio, the float pass 2 multiplies by. */
TRAINOPT__FORCE_INLINE float trainopt__lw_neg_scale(double p_sumsq, double u_sumsq, double lr, double trust_coef,
                                                    double trust_eps) {
    return (float)(-lr * trainopt__trust_ratio(p_sumsq, u_sumsq, trust_coef, trust_eps));
}

/* Both passes over every tensor of the list, one tensor after the other (its second pass
   while its arrays are still in cache where they fit). */
TRAINOPT__FORCE_INLINE void trainopt__lw_run(int op, const trainopt__lw_scalars *s, size_t k, const size_t *lens, float *const *params,
                                    const float *const *grads, float *const *state0, float *const *state1, double lr,
                                    double trust_coef, double trust_eps, int scaled, size_t *nonfinite, int has_wd,
                                    int nesterov) {
    size_t t;
    for (t = 0; t < k; t++) {
        trainopt__lw_io io;
        double p_sumsq = 0.0, u_sumsq = 0.0;
        if (lens[t] == 0) continue;
        io.param = params[t];
        io.grad = grads[t];
        io.state0 = state0 ? state0[t] : NULL;
        io.state1 = state1 ? state1[t] : NULL;
        trainopt__lw_norms_of(op, s, &io, lens[t], scaled, nonfinite, has_wd, &p_sumsq, &u_sumsq);
        trainopt__lw_update_of(op, s, &io, lens[t], trainopt__lw_neg_scale(p_sumsq, u_sumsq, lr, trust_coef, trust_eps),
                               scaled, has_wd, nesterov);
    }
}

/* The lists and scalars of one checked LAMB or LARS call, as the passes read them; the
   threaded forms run the same call in rounds (>>parallel-layerwise). */
typedef struct {
    int op; /* TRAINOPT__LW_LAMB or TRAINOPT__LW_LARS */
    trainopt__lw_scalars s;
    size_t k;
    const size_t *lens;
    float *const *params;
    const float *const *grads;
    float *const *state0, *const *state1; /* LAMB: exp_avgs, exp_avg_sqs; LARS: momentum_bufs, NULL */
    double lr, trust_coef, trust_eps;
    int has_wd, nesterov;
} trainopt__lw_call;

/* The scalars as op's loops should see them, in a local the loops can read constants from:
   LARS has no maximize, so its gradient's sign pattern is 0 (read through a pointer it was
   a runtime xor per gradient vector in LARS's update loop: 1.5-3% on AVX-512 in cache). */
TRAINOPT__FORCE_INLINE trainopt__lw_scalars trainopt__lw_op_scalars(int op, const trainopt__lw_scalars *s) {
    trainopt__lw_scalars local = *s;
    if (op == TRAINOPT__LW_LARS) local.gi.sign = 0;
    return local;
}

/* A call on the calling thread, tensor after tensor. */
TRAINOPT__DRIVER void trainopt__lw_call_run(const trainopt__lw_call *m, const trainopt_step_opts *o) {
#define TRAINOPT__LW_CALL_LOOP(scaled, bad)                                                                              \
    trainopt__lw_run(op, &s, m->k, m->lens, m->params, m->grads, m->state0, m->state1, m->lr, m->trust_coef,         \
                     m->trust_eps, scaled, bad, m->has_wd, m->nesterov)
#define TRAINOPT__LW_CALL_OP(op_)                                                                                     \
    {                                                                                                                 \
        const int op = op_;                                                                                           \
        const trainopt__lw_scalars s = trainopt__lw_op_scalars(op, &m->s);                                            \
        TRAINOPT__RUN_STEP(o, TRAINOPT__LW_CALL_LOOP);                                                                \
    }
    /* each op its own loops, the op a constant in each (LARS ran 2-5% slower with one) */
    if (m->op == TRAINOPT__LW_LAMB) TRAINOPT__LW_CALL_OP(TRAINOPT__LW_LAMB)
    else TRAINOPT__LW_CALL_OP(TRAINOPT__LW_LARS)
#undef TRAINOPT__LW_CALL_OP
#undef TRAINOPT__LW_CALL_LOOP
}

/* >>lamb */

/* LAMB's per-step scalars from a checked config (the mixed-precision step makes them too). */
TRAINOPT__FORCE_INLINE trainopt__lw_scalars trainopt__lamb_scalars_make(const trainopt_lamb_config *c, int64_t step,
                                                                       const trainopt_step_opts *o) {
    trainopt__lw_scalars s;
    s.gi = trainopt__grad_in_make(0, o);
    s.beta1 = (float)c->beta1;
    s.one_minus_beta1 = (float)(1.0 - c->beta1);
    s.beta2 = (float)c->beta2;
    s.one_minus_beta2 = (float)(1.0 - c->beta2);
    s.inv_bias_correction1 = (float)(1.0 / (1.0 - trainopt__powi(c->beta1, step)));
    s.inv_bias_correction2 = (float)(1.0 / (1.0 - trainopt__powi(c->beta2, step)));
    s.eps_root = (float)c->eps_root;
    s.eps = (float)c->eps;
    s.weight_decay = (float)c->weight_decay;
    s.momentum = 0.0f;
    return s;
}

/* Every argument of a LAMB call, before anything is written (the threaded form's too);
   *skip: found_inf asks to skip the step. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__lamb_check(const trainopt_lamb_config *c, int64_t step, size_t k,
                                                            const size_t *lens, float *const *params,
                                                            const float *const *grads, float *const *exp_avgs,
                                                            float *const *exp_avg_sqs, const trainopt_step_opts *o,
                                                            int *skip, const char *fn) {
    trainopt__lw_list lists[4];
    trainopt_status st;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__nonneg(c->lr))
        return trainopt__once_hparam(fn, "lr", c->lr, "is not a finite number >= 0 (optax has no default lr: set it)");
    if (!trainopt__in_01(c->beta1)) return trainopt__once_hparam(fn, "beta1", c->beta1, TRAINOPT__WHY_01);
    if (!trainopt__in_01(c->beta2)) return trainopt__once_hparam(fn, "beta2", c->beta2, TRAINOPT__WHY_01);
    if (!trainopt__nonneg(c->eps)) return trainopt__once_hparam(fn, "eps", c->eps, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->eps_root)) return trainopt__once_hparam(fn, "eps_root", c->eps_root, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->weight_decay))
        return trainopt__once_hparam(fn, "weight_decay", c->weight_decay, TRAINOPT__WHY_NONNEG);
    if ((st = trainopt__step_opts_check(o, 0, NULL, NULL, 0, skip, fn)) != TRAINOPT_OK) return st;
    if (step < 1) return trainopt__once_step(fn, step);
    /* the lists are checked even for a skipped step: the count it writes may not lie in them */
    lists[0].ptrs = (const void *const *)params, lists[0].name = "params", lists[0].writes = 1, lists[0].size = sizeof(float);
    lists[1].ptrs = (const void *const *)grads, lists[1].name = "grads", lists[1].writes = 0, lists[1].size = sizeof(float);
    lists[2].ptrs = (const void *const *)exp_avgs, lists[2].name = "exp_avgs", lists[2].writes = 1, lists[2].size = sizeof(float);
    lists[3].ptrs = (const void *const *)exp_avg_sqs, lists[3].name = "exp_avg_sqs", lists[3].writes = 1, lists[3].size = sizeof(float);
    return trainopt__lw_check(k, lens, lists, 4, o ? o->nonfinite : NULL, fn);
}

/* A LAMB call checked and made into *m (the threaded form's too). m->k is 0 where nothing
   is to be updated: a refusal, an empty list, or found_inf's skip (which counts 0). *m is
   zeroed first, so that every compiler sees it set on every path. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__lamb_call_make(const trainopt_lamb_config *c, int64_t step, size_t k,
                                                                const size_t *lens, float *const *params,
                                                                const float *const *grads, float *const *exp_avgs,
                                                                float *const *exp_avg_sqs, const trainopt_step_opts *o,
                                                                const char *fn, trainopt__lw_call *m) {
    int skip;
    const trainopt_status st = trainopt__lamb_check(c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, o, &skip, fn);
    memset(m, 0, sizeof *m);
    if (st != TRAINOPT_OK) return st;
    if (k == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    m->op = TRAINOPT__LW_LAMB, m->s = trainopt__lamb_scalars_make(c, step, o);
    m->k = k, m->lens = lens, m->params = params, m->grads = grads, m->state0 = exp_avgs, m->state1 = exp_avg_sqs;
    m->lr = c->lr, m->trust_coef = 1.0, m->trust_eps = 0.0; /* LAMB's trust ratio: no coefficient, no eps */
    m->has_wd = c->weight_decay != 0.0, m->nesterov = 0;
    return TRAINOPT_OK;
}

static inline trainopt_status trainopt__lamb_run(const trainopt_lamb_config *c, int64_t step, size_t k, const size_t *lens,
                                                 float *const *params, const float *const *grads, float *const *exp_avgs,
                                                 float *const *exp_avg_sqs, const trainopt_step_opts *o, const char *fn) {
    trainopt__lw_call m;
    const trainopt_status st = trainopt__lamb_call_make(c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, o, fn, &m);
    if (m.k) trainopt__lw_call_run(&m, o);
    return st;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_lamb_step(const trainopt_lamb_config *c, int64_t step, size_t k,
                                                        const size_t *lens, float *const *params, const float *const *grads,
                                                        float *const *exp_avgs, float *const *exp_avg_sqs) {
    return trainopt__lamb_run(c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, NULL, "trainopt_lamb_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_lamb_step_ex(const trainopt_lamb_config *c, int64_t step, size_t k,
                                                           const size_t *lens, float *const *params, const float *const *grads,
                                                           float *const *exp_avgs, float *const *exp_avg_sqs,
                                                           const trainopt_step_opts *o) {
    return trainopt__lamb_run(c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, o, "trainopt_lamb_step_ex");
}

/* >>lars */

/* LARS's per-step scalars from a checked config (the mixed-precision step makes them too). */
TRAINOPT__FORCE_INLINE trainopt__lw_scalars trainopt__lars_scalars_make(const trainopt_lars_config *c,
                                                                       const trainopt_step_opts *o) {
    trainopt__lw_scalars s;
    memset(&s, 0, sizeof s);
    s.gi = trainopt__grad_in_make(0, o);
    s.weight_decay = (float)c->weight_decay;
    s.momentum = (float)c->momentum;
    return s;
}

/* Every argument of a LARS call, before anything is written (the threaded form's too);
   *skip: found_inf asks to skip the step. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__lars_check(const trainopt_lars_config *c, size_t k, const size_t *lens,
                                                            float *const *params, const float *const *grads,
                                                            float *const *momentum_bufs, const trainopt_step_opts *o, int *skip,
                                                            const char *fn) {
    trainopt__lw_list lists[3];
    trainopt_status st;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__nonneg(c->lr))
        return trainopt__once_hparam(fn, "lr", c->lr, "is not a finite number >= 0 (optax has no default lr: set it)");
    if (!trainopt__nonneg(c->weight_decay))
        return trainopt__once_hparam(fn, "weight_decay", c->weight_decay, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->trust_coefficient))
        return trainopt__once_hparam(fn, "trust_coefficient", c->trust_coefficient, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->eps)) return trainopt__once_hparam(fn, "eps", c->eps, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->momentum)) return trainopt__once_hparam(fn, "momentum", c->momentum, TRAINOPT__WHY_NONNEG);
    if ((st = trainopt__step_opts_check(o, 0, NULL, NULL, 0, skip, fn)) != TRAINOPT_OK) return st;
    if (k > 0 && c->momentum != 0.0 && momentum_bufs == NULL)
        return trainopt__once_null(fn, "momentum_bufs (needed: momentum > 0)");
    lists[0].ptrs = (const void *const *)params, lists[0].name = "params", lists[0].writes = 1, lists[0].size = sizeof(float);
    lists[1].ptrs = (const void *const *)grads, lists[1].name = "grads", lists[1].writes = 0, lists[1].size = sizeof(float);
    lists[2].ptrs = (const void *const *)momentum_bufs, lists[2].name = "momentum_bufs", lists[2].writes = 1, lists[2].size = sizeof(float);
    return trainopt__lw_check(k, lens, lists, momentum_bufs ? 3 : 2, o ? o->nonfinite : NULL, fn);
}

/* A LARS call checked and made into *m (the threaded form's too), as LAMB's. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__lars_call_make(const trainopt_lars_config *c, size_t k, const size_t *lens,
                                                                float *const *params, const float *const *grads,
                                                                float *const *momentum_bufs, const trainopt_step_opts *o,
                                                                const char *fn, trainopt__lw_call *m) {
    int skip;
    const trainopt_status st = trainopt__lars_check(c, k, lens, params, grads, momentum_bufs, o, &skip, fn);
    memset(m, 0, sizeof *m);
    if (st != TRAINOPT_OK) return st;
    if (k == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    m->op = TRAINOPT__LW_LARS, m->s = trainopt__lars_scalars_make(c, o);
    m->k = k, m->lens = lens, m->params = params, m->grads = grads, m->state0 = momentum_bufs, m->state1 = NULL;
    m->lr = c->lr, m->trust_coef = c->trust_coefficient, m->trust_eps = c->eps;
    m->has_wd = c->weight_decay != 0.0, m->nesterov = c->nesterov != 0;
    return TRAINOPT_OK;
}

static inline trainopt_status trainopt__lars_run(const trainopt_lars_config *c, size_t k, const size_t *lens,
                                                 float *const *params, const float *const *grads, float *const *momentum_bufs,
                                                 const trainopt_step_opts *o, const char *fn) {
    trainopt__lw_call m;
    const trainopt_status st = trainopt__lars_call_make(c, k, lens, params, grads, momentum_bufs, o, fn, &m);
    if (m.k) trainopt__lw_call_run(&m, o);
    return st;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_lars_step(const trainopt_lars_config *c, size_t k, const size_t *lens,
                                                        float *const *params, const float *const *grads,
                                                        float *const *momentum_bufs) {
    return trainopt__lars_run(c, k, lens, params, grads, momentum_bufs, NULL, "trainopt_lars_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_lars_step_ex(const trainopt_lars_config *c, size_t k, const size_t *lens,
                                                           float *const *params, const float *const *grads,
                                                           float *const *momentum_bufs, const trainopt_step_opts *o) {
    return trainopt__lars_run(c, k, lens, params, grads, momentum_bufs, o, "trainopt_lars_step_ex");
}

/* >>adafactor: torch.optim.Adafactor (PyTorch 2.5). The factored second moment of a
   [rows][cols] parameter needs the mean of g^2 over each row and each column (row sums:
   blocked like every norm here, per row; column sums: per column, a float sum over each
   block of TRAINOPT__LW_BLOCK rows in row order, the block sums added in double; both
   fixed orders, so the same bits on every backend), and the RMS of the parameter and of
   the update (per-tensor reductions). The factored update is separable, g / sqrt(R[r] /
   mean(R) * C[c]) = g * (1/sqrt(C[c])) * (1/sqrt(R[r]/mean(R))), the two roots once per
   column and per row: the sweeps over g multiply where a square root and a division per
   element took the step's time. So is RMS(u), which therefore comes from the factors
   (trainopt__af_factors_fused): two sweeps (p and g for p^2, the factors and u^2; the
   update), a third over g for u^2 only where the factors cannot give it. No scratch
   memory but 96 KB of stack (the column sums), or 16 KB (the columns' roots). */

typedef struct {
    trainopt__grad_in gi;
    float w, one_minus_w;    /* the lerp weight 1 - beta2_t = step^beta2_decay, and 1 - it */
    float eps1_sq;           /* the floor of the variance estimate */
    float inv_eps1;          /* 1/sqrt(eps1_sq): u = g * it where the floor holds (factored) */
    float decay_factor;      /* 1 - lr*wd */
    double eps1;             /* the floor of mean(R) */
    int high;                /* the lerp's form (trainopt__v_lerp) */
} trainopt__af_scalars;

/* Where the passes read g, p and the unfactored V and write p and V: the fp32 arrays
   themselves (mp NULL), or the mixed-precision step's (>>mixed-adafactor, after the
   conversions it uses): a piece of at most TRAINOPT__AF_TILE elements at index `at`
   widened into its buffer (one for each array), and the updated piece rounded back. */
typedef struct trainopt__af_mp trainopt__af_mp;
static const float *trainopt__af_mp_grad(trainopt__af_mp *mp, size_t at, size_t len);
static float *trainopt__af_mp_param(trainopt__af_mp *mp, size_t at, size_t len);
static float *trainopt__af_mp_var(trainopt__af_mp *mp, size_t at, size_t len);
static void trainopt__af_mp_param_out(trainopt__af_mp *mp, size_t at, size_t len);
static void trainopt__af_mp_var_out(trainopt__af_mp *mp, size_t at, size_t len);
static int trainopt__af_mp_var_narrow(const trainopt__af_mp *mp); /* the variance is stored rounded */
TRAINOPT__FORCE_INLINE const float *trainopt__af_g(trainopt__af_mp *mp, const float *grad, size_t at, size_t len) {
    return mp ? trainopt__af_mp_grad(mp, at, len) : grad + at;
}
TRAINOPT__FORCE_INLINE float *trainopt__af_p(trainopt__af_mp *mp, float *param, size_t at, size_t len) {
    return mp ? trainopt__af_mp_param(mp, at, len) : param + at;
}
TRAINOPT__FORCE_INLINE float *trainopt__af_v(trainopt__af_mp *mp, float *variance, size_t at, size_t len) {
    return mp ? trainopt__af_mp_var(mp, at, len) : variance + at;
}
#define TRAINOPT__AF_TILE 4096 /* elements per piece: columns per tile of the update sweeps (their roots take 16 KB of stack) */

/* The sweeps over p and g ask for the line TRAINOPT__AF_AHEAD floats (2 KB) ahead of the
   one they read, where the arrays go on that far (`ahead`: the floats from the row's
   start to the end of the array; 0 for the mixed-precision buffers). The prefetchers
   alone left memory idle between rows: the hint took 10-25% off the two sweeps at
   [4096][4096] (bench/FINDINGS.md). No effect on results. */
#define TRAINOPT__AF_AHEAD 512

/* Sums of the (scaled) g^2 over g[0, n), each block's sum added to `total` (returned), and
   of p^2 over p[0, n), each block's added to *p_sumsq: blocked order, so a row in pieces
   of whole blocks gives the row's bits; Inf/NaN of g counted into *nonfinite. */
TRAINOPT__FORCE_INLINE double trainopt__af_grad_sumsq(const trainopt__af_scalars *s, const float *p, const float *g, size_t n,
                                                      int scaled, size_t *nonfinite, double *p_sumsq, double total) {
    size_t b, i, j;
    for (b = 0; b < n; b += TRAINOPT__LW_BLOCK) {
        const size_t end = n - b < TRAINOPT__LW_BLOCK ? n : b + TRAINOPT__LW_BLOCK;
        const size_t whole = end - (end - b) % 16;
        trainopt__acc16 acc, pacc;
        trainopt__acc16_zero(&acc);
        trainopt__acc16_zero(&pacc);
        for (i = b; i < whole; i += 16)
            for (j = 0; j < TRAINOPT__ACC_VECS; j++) {
                const size_t at = i + j * TRAINOPT_SIMD_LANES;
                const trainopt__vf x = trainopt__grad_load(&s->gi, g, at, TRAINOPT_SIMD_LANES, scaled, nonfinite);
                const trainopt__vf y = trainopt__v_load(p + at);
                acc.v[j] = trainopt__v_fma(x, x, acc.v[j]);
                pacc.v[j] = trainopt__v_fma(y, y, pacc.v[j]);
            }
        for (j = 0; i < end; j++, i += TRAINOPT_SIMD_LANES) {
            const size_t k = end - i < TRAINOPT_SIMD_LANES ? end - i : TRAINOPT_SIMD_LANES;
            const trainopt__vf x = trainopt__grad_load(&s->gi, g, i, k, scaled, nonfinite);
            const trainopt__vf y = trainopt__v_load_n(p + i, k);
            acc.v[j] = trainopt__v_fma(x, x, acc.v[j]);
            pacc.v[j] = trainopt__v_fma(y, y, pacc.v[j]);
        }
        total += (double)trainopt__acc16_sum(&acc);
        *p_sumsq += (double)trainopt__acc16_sum(&pacc);
    }
    return total;
}

/* The unfactored update direction on k <= LANES elements: g / sqrt(max(V, eps1^2)). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__af_update(const trainopt__af_scalars *s, trainopt__vf g, trainopt__vf v) {
    return trainopt__v_div(g, trainopt__v_sqrt(trainopt__v_max_nan(v, trainopt__v_set1(s->eps1_sq))));
}

/* 1/sqrt(x) in double, then rounded to float: the same bits everywhere. */
TRAINOPT__FORCE_INLINE float trainopt__af_rsqrt1(float x) { return (float)(1.0 / sqrt((double)x)); }

/* rs[c] = 1/sqrt(C[c]) on n columns in float, a vector at a time: a square root, then a
   division, both IEEE operations rounded once, so the same bits on every backend (the
   root in double took the small steps' time: 4096 columns of [16][4096] cost as much as
   the sweeps over its 64K elements). */
TRAINOPT__FORCE_INLINE void trainopt__af_col_roots(const float *col_var, float *rs, size_t n) {
    const trainopt__vf one = trainopt__v_set1(1.0f);
    size_t c;
    for (c = 0; c + TRAINOPT_SIMD_LANES <= n; c += TRAINOPT_SIMD_LANES)
        trainopt__v_store_n(rs + c, trainopt__v_div(one, trainopt__v_sqrt(trainopt__v_load_n(col_var + c, TRAINOPT_SIMD_LANES))),
                            TRAINOPT_SIMD_LANES);
    if (c < n) trainopt__v_store_n(rs + c, trainopt__v_div(one, trainopt__v_sqrt(trainopt__v_load_n(col_var + c, n - c))), n - c);
}

/* The least of x[0, n) by `<` (NaN skipped; +Inf if none), lane-wise then across the
   lanes: which of +0 and -0 it gives may differ from a loop's, and does not matter to
   its use (coef * least >= eps1^2). */
TRAINOPT__FORCE_INLINE float trainopt__af_least(const float *x, size_t n) {
    trainopt__vf m = trainopt__v_set1(INFINITY);
    float lanes[TRAINOPT_SIMD_LANES], least = INFINITY;
    const size_t whole = n - n % TRAINOPT_SIMD_LANES; /* a precomputed bound: see trainopt__af_sum8 */
    size_t c, j;
    for (c = 0; c < whole; c += TRAINOPT_SIMD_LANES) m = trainopt__v_min(trainopt__v_load(x + c), m);
    trainopt__v_store(lanes, m);
    for (j = 0; j < TRAINOPT_SIMD_LANES; j++)
        if (lanes[j] < least) least = lanes[j];
    for (; c < n; c++)
        if (x[c] < least) least = x[c];
    return least;
}

/* One row's factor in the update sweeps: coef = R[r] / max(mean(R), eps1) (the division
   once per row; PyTorch divides R C^T by the mean) and its inverse root. */
typedef struct {
    float coef, rsqrt;
} trainopt__af_rowf;

/* The factored update direction on k <= LANES elements of one row's column tile at i,
   rs[c] = 1/sqrt(C[c]) (trainopt__af_col_roots): u = (g * rs[c]) * rsqrt(coef). With `clamp` (a row where some
   coef * C[c] may fall below eps1^2) each element's V = coef * C[c] is formed as well and
   u = g * (1/sqrt(eps1^2)) where V < eps1^2: PyTorch's clamp, on the same float V. A NaN
   V stays NaN in both forms (a NaN factor, or 0 * Inf, gives a NaN product or root). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__af_row_u(const trainopt__af_scalars *s, trainopt__af_rowf rf, const float *col_var,
                                                       const float *rs, const float *grad, size_t i, size_t k, int scaled,
                                                       int clamp) {
    const trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, NULL);
    const trainopt__vf u = trainopt__v_mul(trainopt__v_mul(g, trainopt__v_load_n(rs + i, k)), trainopt__v_set1(rf.rsqrt));
    trainopt__vf v;
    if (!clamp) return u;
    v = trainopt__v_mul(trainopt__v_set1(rf.coef), trainopt__v_load_n(col_var + i, k));
    return trainopt__v_select(trainopt__v_lt(v, trainopt__v_set1(s->eps1_sq)), trainopt__v_mul(g, trainopt__v_set1(s->inv_eps1)),
                              u);
}

/* p = p*decay + neg_step*u on k <= LANES elements at i. */
TRAINOPT__FORCE_INLINE void trainopt__af_apply(const trainopt__af_scalars *s, float *param, size_t i, size_t k, trainopt__vf u,
                                               int has_wd, float neg_step) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    const trainopt__vf step = trainopt__v_mul(trainopt__v_set1(neg_step), u);
    p = has_wd ? trainopt__v_fma(p, trainopt__v_set1(s->decay_factor), step) : trainopt__v_add(p, step);
    trainopt__v_store_n(param + i, p, k);
}

/* One row's pass over `cols` columns of a tile: with `apply` p = p*decay + neg_step*u,
   else the sum of u^2 (the blocked order: vector j of a block into partial j % ACC_VECS).
   Whole vectors in the main loops (k a constant, so plain loads: the per-vector length
   test cost a third of the time), the row's last partial vector after them. */
TRAINOPT__FORCE_INLINE double trainopt__af_row(const trainopt__af_scalars *s, trainopt__af_rowf rf, const float *col_var,
                                               const float *rs, float *param, const float *grad, size_t cols, int scaled,
                                               int clamp, int apply, int has_wd, float neg_step, size_t ahead) {
    const size_t whole = cols - cols % TRAINOPT_SIMD_LANES;
    double total = 0.0;
    size_t b, i, j;
    if (apply) {
        for (i = 0; i + 16 <= whole; i += 16) {
            if (i + TRAINOPT__AF_AHEAD < ahead) {
                TRAINOPT__PREFETCH(grad + i + TRAINOPT__AF_AHEAD);
                TRAINOPT__PREFETCH(param + i + TRAINOPT__AF_AHEAD);
            }
            for (j = i; j < i + 16; j += TRAINOPT_SIMD_LANES)
                trainopt__af_apply(s, param, j, TRAINOPT_SIMD_LANES,
                                   trainopt__af_row_u(s, rf, col_var, rs, grad, j, TRAINOPT_SIMD_LANES, scaled, clamp), has_wd,
                                   neg_step);
        }
        for (; i < whole; i += TRAINOPT_SIMD_LANES)
            trainopt__af_apply(s, param, i, TRAINOPT_SIMD_LANES,
                               trainopt__af_row_u(s, rf, col_var, rs, grad, i, TRAINOPT_SIMD_LANES, scaled, clamp), has_wd,
                               neg_step);
        if (i < cols)
            trainopt__af_apply(s, param, i, cols - i, trainopt__af_row_u(s, rf, col_var, rs, grad, i, cols - i, scaled, clamp),
                               has_wd, neg_step);
        return 0.0;
    }
    for (b = 0; b < cols; b += TRAINOPT__LW_BLOCK) {
        const size_t end = cols - b < TRAINOPT__LW_BLOCK ? cols : b + TRAINOPT__LW_BLOCK;
        const size_t end16 = end - (end - b) % 16, end_whole = end < whole ? end : whole;
        trainopt__acc16 acc;
        trainopt__acc16_zero(&acc);
        for (i = b; i < end16; i += 16)
            for (j = 0; j < TRAINOPT__ACC_VECS; j++) {
                const trainopt__vf u = trainopt__af_row_u(s, rf, col_var, rs, grad, i + j * TRAINOPT_SIMD_LANES,
                                                          TRAINOPT_SIMD_LANES, scaled, clamp);
                acc.v[j] = trainopt__v_fma(u, u, acc.v[j]);
            }
        for (j = 0; i < end_whole; j++, i += TRAINOPT_SIMD_LANES) {
            const trainopt__vf u = trainopt__af_row_u(s, rf, col_var, rs, grad, i, TRAINOPT_SIMD_LANES, scaled, clamp);
            acc.v[j] = trainopt__v_fma(u, u, acc.v[j]);
        }
        if (i < end) { /* the row's partial last vector: lanes past it are +0 */
            const trainopt__vf u =
                trainopt__v_keep_first(trainopt__af_row_u(s, rf, col_var, rs, grad, i, end - i, scaled, clamp), end - i);
            acc.v[j] = trainopt__v_fma(u, u, acc.v[j]);
        }
        total += (double)trainopt__acc16_sum(&acc);
    }
    return total;
}


/* One factored update sweep: tile by tile of TRAINOPT__AF_TILE columns (one tile for rows
   of up to that), each tile's column roots rs[c] = 1/sqrt(C[c]) first, then row by row.
   With `apply` the update, else the sum of u^2 (the rows' block sums added in double, in
   this order). A row takes the clamped form only when coef * (the tile's least C) <
   eps1^2 or is NaN: the float product grows with C, so no other row has an element under
   the floor. g and p through mp (a row's tile is one piece). */
TRAINOPT__FORCE_INLINE double trainopt__af_sweep(const trainopt__af_scalars *s, const float *row_var, float row_mean,
                                                 const float *col_var, float *param, const float *grad, size_t rows, size_t cols,
                                                 int scaled, int apply, int has_wd, float neg_step, trainopt__af_mp *mp) {
    float rs[TRAINOPT__AF_TILE];
    double total = 0.0;
    size_t c0, r;
    for (c0 = 0; c0 < cols; c0 += TRAINOPT__AF_TILE) {
        const size_t width = cols - c0 < TRAINOPT__AF_TILE ? cols - c0 : TRAINOPT__AF_TILE;
        /* NaN columns skipped: they make their elements NaN in both forms */
        const float least = trainopt__af_least(col_var + c0, width);
        trainopt__af_col_roots(col_var + c0, rs, width);
        for (r = 0; r < rows; r++) {
            const size_t at = r * cols + c0, ahead = mp ? 0 : rows * cols - at;
            float *p = apply ? trainopt__af_p(mp, param, at, width) : NULL;
            const float *g = trainopt__af_g(mp, grad, at, width);
            trainopt__af_rowf rf;
            rf.coef = row_var[r] / row_mean;
            rf.rsqrt = trainopt__af_rsqrt1(rf.coef);
            if (rf.coef >= 0.0f && rf.coef * least >= s->eps1_sq)
                total += trainopt__af_row(s, rf, col_var + c0, rs, p, g, width, scaled, 0, apply, has_wd, neg_step, ahead);
            else
                total += trainopt__af_row(s, rf, col_var + c0, rs, p, g, width, scaled, 1, apply, has_wd, neg_step, ahead);
            if (mp && apply) trainopt__af_mp_param_out(mp, at, width);
        }
    }
    return total;
}

/* The unfactored passes over n elements: without `apply` the variance's lerp toward g^2
   (stored), the sum of u^2 (each block's sum added to `total`, returned) and of p^2 (each
   block's sum added to *p_sumsq); with it p = p*decay + neg_step*u from the stored
   variance, or with `relerp` from the lerp again on the variance before the step (stored). */
TRAINOPT__FORCE_INLINE double trainopt__af_vector_piece(const trainopt__af_scalars *s, float *param, const float *grad,
                                                        float *variance, size_t n, int scaled, size_t *nonfinite, int apply,
                                                        int relerp, int has_wd, float neg_step, double *p_sumsq, double total) {
    size_t b, i, j;
    for (b = 0; b < n; b += TRAINOPT__LW_BLOCK) {
        const size_t end = n - b < TRAINOPT__LW_BLOCK ? n : b + TRAINOPT__LW_BLOCK;
        trainopt__acc16 acc, pacc;
        trainopt__acc16_zero(&acc);
        trainopt__acc16_zero(&pacc);
        for (i = b, j = 0; i < end; i += TRAINOPT_SIMD_LANES, j = (j + 1) % TRAINOPT__ACC_VECS) {
            const size_t k = end - i < TRAINOPT_SIMD_LANES ? end - i : TRAINOPT_SIMD_LANES;
            const trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, apply ? NULL : nonfinite);
            trainopt__vf v = trainopt__v_load_n(variance + i, k), u;
            trainopt__vf p = trainopt__v_load_n(param + i, k);
            if (!apply || relerp) {
                v = trainopt__v_lerp(v, trainopt__v_mul(g, g), s->w, s->one_minus_w, s->high);
                trainopt__v_store_n(variance + i, v, k);
            }
            u = trainopt__af_update(s, g, v);
            if (apply) {
                const trainopt__vf step = trainopt__v_mul(trainopt__v_set1(neg_step), u);
                p = has_wd ? trainopt__v_fma(p, trainopt__v_set1(s->decay_factor), step) : trainopt__v_add(p, step);
                trainopt__v_store_n(param + i, p, k);
            } else {
                const trainopt__vf uk = trainopt__v_keep_first(u, k);
                acc.v[j] = trainopt__v_fma(uk, uk, acc.v[j]);
                pacc.v[j] = trainopt__v_fma(p, p, pacc.v[j]);
            }
        }
        if (!apply) {
            total += (double)trainopt__acc16_sum(&acc);
            *p_sumsq += (double)trainopt__acc16_sum(&pacc);
        }
    }
    return total;
}

/* The same over pieces of TRAINOPT__AF_TILE (whole blocks: the bits of one call), the
   arrays through mp. A variance stored rounded (bf16) would give the update a rounded V
   where the fp32 step uses the float one: then the first pass leaves it alone and the
   second makes the same float lerp again, steps with it, and stores it rounded. */
TRAINOPT__FORCE_INLINE double trainopt__af_vector(const trainopt__af_scalars *s, float *param, const float *grad,
                                                  float *variance, size_t n, int scaled, size_t *nonfinite, int apply,
                                                  int has_wd, float neg_step, double *p_sumsq, trainopt__af_mp *mp) {
    const int deferred = mp && trainopt__af_mp_var_narrow(mp);
    double total = 0.0;
    size_t at;
    for (at = 0; at < n; at += TRAINOPT__AF_TILE) {
        const size_t len = n - at < TRAINOPT__AF_TILE ? n - at : TRAINOPT__AF_TILE;
        total = trainopt__af_vector_piece(s, trainopt__af_p(mp, param, at, len), trainopt__af_g(mp, grad, at, len),
                                          trainopt__af_v(mp, variance, at, len), len, scaled, nonfinite, apply,
                                          apply && deferred, has_wd, neg_step, p_sumsq, total);
        if (mp && apply) trainopt__af_mp_param_out(mp, at, len);
        if (apply && deferred) trainopt__af_mp_var_out(mp, at, len);
    }
    return total;
}

#define TRAINOPT__AF_COL_TILE 256 /* columns summed per strided pass over the rows: 1 KB of each row */

/* lerp(state, mean, w) on one float of a factor, with torch.lerp's form (explicit fmaf). */
TRAINOPT__FORCE_INLINE float trainopt__af_lerp1(float a, float b, const trainopt__af_scalars *s) {
    return s->high ? fmaf(-(b - a), s->one_minus_w, b) : fmaf(s->w, b - a, a);
}

/* row_var.mean().clamp_(min=eps1) as a float (the sum in double, in row order; NaN stays). */
TRAINOPT__FORCE_INLINE float trainopt__af_row_mean(const float *row_var, size_t rows, double eps1) {
    double sum = 0.0;
    size_t r;
    float mean;
    for (r = 0; r < rows; r++) sum += (double)row_var[r];
    mean = (float)(sum / (double)rows);
    return mean < (float)eps1 ? (float)eps1 : mean;
}

/* One column's new factor from its sum over the rows (with `more`, sum[c] + acc[c]: the
   earlier blocks' double sum and the last block's float one, the per-block order; else
   the one block's float sum alone, which is the same double: 0.0 + x is x, and these float
   sums are never -0, as they start at +0 and only add), and its term of the sum of u^2,
   (w_sum[c] + w_acc[c]) / C[c], into col_sum[c]. With `pow2` (rows a power of two) the mean
   is the sum times inv_rows = 1/rows, exact: the same correctly rounded value as the
   division, at a multiplication's cost. */
TRAINOPT__FORCE_INLINE void trainopt__af_col1(float *col_var, double *col_sum, const double *w_sum, const float *col_acc,
                                              const float *w_acc, size_t c, double rows, double inv_rows, float w,
                                              float one_minus_w, int high, int more, int pow2) {
    const double sum = more ? col_sum[c] + (double)col_acc[c] : (double)col_acc[c];
    const float mean = (float)(pow2 ? sum * inv_rows : sum / rows);
    col_var[c] = high ? fmaf(-(mean - col_var[c]), one_minus_w, mean) : fmaf(w, mean - col_var[c], col_var[c]);
    col_sum[c] = (more ? w_sum[c] + (double)w_acc[c] : (double)w_acc[c]) / (double)col_var[c];
}

/* The columns' new factors and the terms of the sum of u^2 (trainopt__af_col1), in fixed
   groups of 16 columns, so the compiler may vectorize the double divisions (each column's
   operations are those of a column at a time, so are its bits). One column at a time,
   these took about as long as the sweeps of a [16][4096] step. */
TRAINOPT__FORCE_INLINE void trainopt__af_col_tail_body(const trainopt__af_scalars *s, float *col_var, double *col_sum,
                                                       const double *w_sum, const float *col_acc, const float *w_acc,
                                                       size_t cols, double rows, int high, int more, int pow2) {
    const float w = s->w, one_minus_w = s->one_minus_w; /* not reloaded after each store to col_var */
    const double inv_rows = 1.0 / rows;
    const size_t rest = cols % 16; /* the tail's own count, not `c < cols`: see trainopt__af_sum8 */
    size_t c = 0, j;
    for (; c + 16 <= cols; c += 16)
        for (j = c; j < c + 16; j++)
            trainopt__af_col1(col_var, col_sum, w_sum, col_acc, w_acc, j, rows, inv_rows, w, one_minus_w, high, more, pow2);
    for (j = 0; j < rest; j++)
        trainopt__af_col1(col_var, col_sum, w_sum, col_acc, w_acc, c + j, rows, inv_rows, w, one_minus_w, high, more, pow2);
}

/* The same with the lerp's form, `more` (rows beyond one block: col_sum and w_sum hold the
   earlier blocks' sums) and `pow2` as constants: the loop the compiler sees has neither a
   division it does not need nor a load of a sum that is not there. */
static inline void trainopt__af_col_tail(const trainopt__af_scalars *s, float *col_var, double *col_sum, const double *w_sum,
                                         const float *col_acc, const float *w_acc, size_t cols, size_t rows) {
    const double d = (double)rows;
    const int form = (s->high ? 4 : 0) + (rows > TRAINOPT__LW_BLOCK ? 2 : 0) + ((rows & (rows - 1)) == 0 ? 1 : 0);
    switch (form) {
    case 0: trainopt__af_col_tail_body(s, col_var, col_sum, w_sum, col_acc, w_acc, cols, d, 0, 0, 0); break;
    case 1: trainopt__af_col_tail_body(s, col_var, col_sum, w_sum, col_acc, w_acc, cols, d, 0, 0, 1); break;
    case 2: trainopt__af_col_tail_body(s, col_var, col_sum, w_sum, col_acc, w_acc, cols, d, 0, 1, 0); break;
    case 3: trainopt__af_col_tail_body(s, col_var, col_sum, w_sum, col_acc, w_acc, cols, d, 0, 1, 1); break;
    case 4: trainopt__af_col_tail_body(s, col_var, col_sum, w_sum, col_acc, w_acc, cols, d, 1, 0, 0); break;
    case 5: trainopt__af_col_tail_body(s, col_var, col_sum, w_sum, col_acc, w_acc, cols, d, 1, 0, 1); break;
    case 6: trainopt__af_col_tail_body(s, col_var, col_sum, w_sum, col_acc, w_acc, cols, d, 1, 1, 0); break;
    default: trainopt__af_col_tail_body(s, col_var, col_sum, w_sum, col_acc, w_acc, cols, d, 1, 1, 1); break;
    }
}

/* The sum of q[0, n) in double: term c into partial c % 8, the partials added pairwise.
   A fixed order, the same on every backend, without one chain of n dependent adds (at
   4096 columns the chain alone cost a third of an AdamW step). The whole-group loop ends
   at a precomputed bound, as batch norm's do: with `c + 8 <= n` and a constant n (a
   caller's [16][4096]), gcc 12 warned about the dead tail (-Waggressive-loop-optimizations,
   on by default). */
TRAINOPT__FORCE_INLINE double trainopt__af_sum8(const double *q, size_t n) {
    double part[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    size_t c, j;
    const size_t whole = n - n % 8;
    for (c = 0; c < whole; c += 8)
        for (j = 0; j < 8; j++) part[j] += q[c + j];
    for (j = 0; c < n; c++, j++) part[j] += q[c];
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

/* The row and column sums of g^2, and the sum of p^2, in one sweep over the rows, for rows
   of at most TRAINOPT__AF_FUSED_COLS: each element goes to its row's blocked sum (the
   order of trainopt__af_grad_sumsq, p's alike) and to its column's float sum over the
   block of rows (the order of the tiled loop in trainopt__af_factors), so the bits are
   those of the separate sweeps, with p and g read once, row by row, instead of in 1 KB
   pieces 4 KB or more apart (a strided walk that cost more than every other pass).
   The same sweep gives the sum of u^2 from the factors, without a sweep of its own over
   g: u^2 = g^2 / (coef[r] C[c]) = mean(R) * (1/C[c]) * g^2 / R[r], so once the row's new
   R[r] is known, the row again (from cache) adds g^2 / R[r] to its column's sum (the
   column sums' order), and sum(u^2) = mean(R) * sum over c of that sum / C[c], in
   double (trainopt__af_sum8's order). The fp32 step takes the rows two at a time
   (trainopt__af_rows_sq): a column's two terms are added one after the other as before,
   with one load and one store of the column sums for both. Returns 1 with it in
   *u_sumsq; 0 (the caller sums the u^2 of the update instead) when some element may be
   under the eps1^2 floor, where u is not g/sqrt(V), or the sum is not finite (a NaN or
   Inf factor, 1/R[r] of a zero R[r]). */
#define TRAINOPT__AF_FUSED_COLS 4096 /* its column sums take 24 bytes a column of stack: 96 KB */

/* x^2 of one vector of g of row 0, and with `two` of row 1, into the rows' partial sums
   and, row 0's first, into their columns' float sums; y^2 of the same vectors of p into
   the rows' p partial sums. */
TRAINOPT__FORCE_INLINE void trainopt__af_sq2_into(const trainopt__af_scalars *s, const float *const *g, const float *const *p,
                                                  size_t at, size_t k, int two, int scaled, size_t *nonfinite,
                                                  trainopt__vf *acc0, trainopt__vf *pacc0, trainopt__vf *acc1,
                                                  trainopt__vf *pacc1, float *col_acc) {
    const trainopt__vf x0 = trainopt__grad_load(&s->gi, g[0], at, k, scaled, nonfinite);
    const trainopt__vf y0 = trainopt__v_load_n(p[0] + at, k);
    trainopt__vf col = trainopt__v_fma(x0, x0, trainopt__v_load(col_acc + at));
    *acc0 = trainopt__v_fma(x0, x0, *acc0);
    *pacc0 = trainopt__v_fma(y0, y0, *pacc0);
    if (two) {
        const trainopt__vf x1 = trainopt__grad_load(&s->gi, g[1], at, k, scaled, nonfinite);
        const trainopt__vf y1 = trainopt__v_load_n(p[1] + at, k);
        col = trainopt__v_fma(x1, x1, col);
        *acc1 = trainopt__v_fma(x1, x1, *acc1);
        *pacc1 = trainopt__v_fma(y1, y1, *pacc1);
    }
    trainopt__v_store(col_acc + at, col);
}

/* One row (two = 0) or two consecutive rows (two = 1) of `cols` g and p: each row's
   blocked sums of g^2 into total[row] and of p^2 into *p_sumsq (row 0's blocks, then row
   1's: the rows' order), g^2 into col_acc. `ahead`: the floats from row 0's start to the
   end of the arrays (0: no prefetch). */
TRAINOPT__FORCE_INLINE void trainopt__af_rows_sq(const trainopt__af_scalars *s, const float *const *g, const float *const *p,
                                                 size_t cols, int two, int scaled, size_t *nonfinite, float *col_acc,
                                                 double *total, double *p_sumsq, size_t ahead) {
    float p1_blocks[TRAINOPT__AF_FUSED_COLS / TRAINOPT__LW_BLOCK]; /* row 1's p^2 block sums wait for row 0's */
    size_t b, i, j, q;
    for (b = 0; b < cols; b += TRAINOPT__LW_BLOCK) {
        const size_t end = cols - b < TRAINOPT__LW_BLOCK ? cols : b + TRAINOPT__LW_BLOCK;
        const size_t whole = end - (end - b) % 16;
        trainopt__acc16 acc0, pacc0, acc1, pacc1;
        trainopt__acc16_zero(&acc0);
        trainopt__acc16_zero(&pacc0);
        trainopt__acc16_zero(&acc1); /* unused with one row: the compiler drops it */
        trainopt__acc16_zero(&pacc1);
        for (i = b; i < whole; i += 16) {
            for (q = 0; q <= (size_t)two; q++)
                if (i + TRAINOPT__AF_AHEAD + q * cols < ahead) {
                    TRAINOPT__PREFETCH(g[q] + i + TRAINOPT__AF_AHEAD);
                    TRAINOPT__PREFETCH(p[q] + i + TRAINOPT__AF_AHEAD);
                }
            TRAINOPT__UNROLL_PARTIALS for (j = 0; j < TRAINOPT__ACC_VECS; j++)
                trainopt__af_sq2_into(s, g, p, i + j * TRAINOPT_SIMD_LANES, TRAINOPT_SIMD_LANES, two, scaled, nonfinite,
                                      &acc0.v[j], &pacc0.v[j], &acc1.v[j], &pacc1.v[j], col_acc);
        }
        for (j = 0; i < end; j++, i += TRAINOPT_SIMD_LANES)
            trainopt__af_sq2_into(s, g, p, i, end - i < TRAINOPT_SIMD_LANES ? end - i : TRAINOPT_SIMD_LANES, two, scaled,
                                  nonfinite, &acc0.v[j], &pacc0.v[j], &acc1.v[j], &pacc1.v[j], col_acc);
        total[0] += (double)trainopt__acc16_sum(&acc0);
        *p_sumsq += (double)trainopt__acc16_sum(&pacc0);
        if (two) {
            total[1] += (double)trainopt__acc16_sum(&acc1);
            p1_blocks[b / TRAINOPT__LW_BLOCK] = trainopt__acc16_sum(&pacc1);
        }
    }
    if (two)
        for (b = 0; b < cols; b += TRAINOPT__LW_BLOCK) *p_sumsq += (double)p1_blocks[b / TRAINOPT__LW_BLOCK];
}

/* g^2 * inv[row] of k <= LANES elements at i of row 0, then with `two` of row 1, into
   their columns' float sums. */
TRAINOPT__FORCE_INLINE void trainopt__af_weighted2_into(const trainopt__af_scalars *s, const float *const *g, const float *inv,
                                                        size_t i, size_t k, int two, int scaled, float *w_acc) {
    trainopt__vf x = trainopt__grad_load(&s->gi, g[0], i, k, scaled, NULL);
    trainopt__vf w = trainopt__v_fma(trainopt__v_mul(x, x), trainopt__v_set1(inv[0]), trainopt__v_load(w_acc + i));
    if (two) {
        x = trainopt__grad_load(&s->gi, g[1], i, k, scaled, NULL);
        w = trainopt__v_fma(trainopt__v_mul(x, x), trainopt__v_set1(inv[1]), w);
    }
    trainopt__v_store(w_acc + i, w);
}

/* The same over one row, or two, of `cols`: whole vectors (plain loads), then the last. */
TRAINOPT__FORCE_INLINE void trainopt__af_rows_weighted(const trainopt__af_scalars *s, const float *const *g, const float *inv,
                                                       size_t cols, int two, int scaled, float *w_acc) {
    const size_t whole = cols - cols % TRAINOPT_SIMD_LANES;
    size_t i;
    for (i = 0; i < whole; i += TRAINOPT_SIMD_LANES)
        trainopt__af_weighted2_into(s, g, inv, i, TRAINOPT_SIMD_LANES, two, scaled, w_acc);
    if (i < cols) trainopt__af_weighted2_into(s, g, inv, i, cols - i, two, scaled, w_acc);
}

static inline int trainopt__af_factors_fused(const trainopt__af_scalars *s, const float *param, const float *grad, size_t rows,
                                             size_t cols, float *row_var, float *col_var, int scaled, size_t *nonfinite,
                                             double *p_sumsq, double *u_sumsq, trainopt__af_mp *mp) {
    double col_sum[TRAINOPT__AF_FUSED_COLS], w_sum[TRAINOPT__AF_FUSED_COLS], total[2];
    float col_acc[TRAINOPT__AF_FUSED_COLS], w_acc[TRAINOPT__AF_FUSED_COLS], row_mean, least = INFINITY, inv[2];
    const size_t padded = (cols + 15) / 16 * 16; /* col_acc past cols: the partial vector's zero lanes */
    size_t r, rb, c, q;
    int two = 0;
    /* Never true (the step checks the factors first), but where a program's one Adafactor
       call is unfactored, gcc copies this function for col_var = NULL and warned
       (-Warray-bounds) about the copy's column loops; the test folds that copy away. */
    if (row_var == NULL || col_var == NULL) return 0;
    for (rb = 0; rb < rows; rb += TRAINOPT__LW_BLOCK) { /* col_sum, w_sum: set by the first of several blocks */
        const size_t rend = rows - rb < TRAINOPT__LW_BLOCK ? rows : rb + TRAINOPT__LW_BLOCK;
        for (c = 0; c < padded; c++) col_acc[c] = w_acc[c] = 0.0f;
        for (r = rb; r < rend; r += 1 + (size_t)two) {
            const float *g[2], *p[2];
            two = mp == NULL && r + 1 < rend; /* two rows where both are in memory (mp's buffers hold one) */
            const size_t ahead = mp ? 0 : (rows - r) * cols;
            g[0] = trainopt__af_g(mp, grad, r * cols, cols), p[0] = trainopt__af_p(mp, (float *)param, r * cols, cols);
            g[1] = two ? g[0] + cols : g[0], p[1] = two ? p[0] + cols : p[0];
            total[0] = total[1] = 0.0;
            if (two) trainopt__af_rows_sq(s, g, p, cols, 1, scaled, nonfinite, col_acc, total, p_sumsq, ahead);
            else trainopt__af_rows_sq(s, g, p, cols, 0, scaled, nonfinite, col_acc, total, p_sumsq, ahead);
            for (q = 0; q <= (size_t)two; q++) {
                row_var[r + q] = trainopt__af_lerp1(row_var[r + q], (float)(total[q] / (double)cols), s);
                inv[q] = 1.0f / row_var[r + q];
            }
            if (two) trainopt__af_rows_weighted(s, g, inv, cols, 1, scaled, w_acc);
            else trainopt__af_rows_weighted(s, g, inv, cols, 0, scaled, w_acc);
        }
        if (rend < rows && rb == 0) /* 0.0 + x is x (trainopt__af_col1) */
            for (c = 0; c < cols; c++) col_sum[c] = (double)col_acc[c], w_sum[c] = (double)w_acc[c];
        else if (rend < rows) /* the last block's sums are added in trainopt__af_col_tail */
            for (c = 0; c < cols; c++) col_sum[c] += (double)col_acc[c], w_sum[c] += (double)w_acc[c];
    }
    trainopt__af_col_tail(s, col_var, col_sum, w_sum, col_acc, w_acc, cols, rows);
    least = trainopt__af_least(col_var, cols);
    /* no element under the floor: every row passes trainopt__af_sweep's test on the least C */
    row_mean = trainopt__af_row_mean(row_var, rows, s->eps1);
    for (r = 0; r < rows; r++) {
        const float coef = row_var[r] / row_mean;
        if (!(coef >= 0.0f && coef * least >= s->eps1_sq)) return 0;
    }
    total[0] = trainopt__af_sum8(col_sum, cols) * (double)row_mean;
    if (!trainopt__finite(total[0])) return 0;
    *u_sumsq = total[0];
    return 1;
}

/* The factors' new values: row_var[r] and col_var[c] lerp toward the means of g^2 over
   row r and column c; the sum of p^2 into *p_sumsq (rows in order, each row's blocks).
   Returns 1 with the sum of u^2 in *u_sumsq when it could take it from the factors
   (trainopt__af_factors_fused), else 0. */
static inline int trainopt__af_factors(const trainopt__af_scalars *s, const float *param, const float *grad, size_t rows,
                                       size_t cols, float *row_var, float *col_var, int scaled, size_t *nonfinite,
                                       double *p_sumsq, double *u_sumsq, trainopt__af_mp *mp) {
    size_t r, c0, rb, c;
    if (cols <= TRAINOPT__AF_FUSED_COLS)
        return trainopt__af_factors_fused(s, param, grad, rows, cols, row_var, col_var, scaled, nonfinite, p_sumsq, u_sumsq, mp);
    for (r = 0; r < rows; r++) { /* each row in pieces of whole blocks: the order of one pass */
        double sum = 0.0;
        for (c0 = 0; c0 < cols; c0 += TRAINOPT__AF_TILE) {
            const size_t at = r * cols + c0, len = cols - c0 < TRAINOPT__AF_TILE ? cols - c0 : TRAINOPT__AF_TILE;
            sum = trainopt__af_grad_sumsq(s, trainopt__af_p(mp, (float *)param, at, len), trainopt__af_g(mp, grad, at, len), len,
                                          scaled, nonfinite, p_sumsq, sum);
        }
        row_var[r] = trainopt__af_lerp1(row_var[r], (float)(sum / (double)cols), s);
    }
    for (c0 = 0; c0 < cols; c0 += TRAINOPT__AF_COL_TILE) {
        const size_t width = cols - c0 < TRAINOPT__AF_COL_TILE ? cols - c0 : TRAINOPT__AF_COL_TILE;
        double col_sum[TRAINOPT__AF_COL_TILE];
        float acc[TRAINOPT__AF_COL_TILE];
        for (c = 0; c < width; c++) col_sum[c] = 0.0;
        for (rb = 0; rb < rows; rb += TRAINOPT__LW_BLOCK) {
            const size_t rend = rows - rb < TRAINOPT__LW_BLOCK ? rows : rb + TRAINOPT__LW_BLOCK;
            for (c = 0; c < TRAINOPT__AF_COL_TILE; c++) acc[c] = 0.0f;
            for (r = rb; r < rend; r++) {
                const float *g = trainopt__af_g(mp, grad, r * cols + c0, width);
                for (c = 0; c < width; c += TRAINOPT_SIMD_LANES) {
                    const size_t k = width - c < TRAINOPT_SIMD_LANES ? width - c : TRAINOPT_SIMD_LANES;
                    const trainopt__vf x = trainopt__grad_load(&s->gi, g, c, k, scaled, NULL);
                    trainopt__v_store(acc + c, trainopt__v_fma(x, x, trainopt__v_load(acc + c)));
                }
            }
            for (c = 0; c < width; c++) col_sum[c] += (double)acc[c];
        }
        for (c = 0; c < width; c++) col_var[c0 + c] = trainopt__af_lerp1(col_var[c0 + c], (float)(col_sum[c] / (double)rows), s);
    }
    return 0;
}

/* The step. With mp (the mixed-precision step) the arrays go through it: param, grad and
   variance only say which are given, and the caller has checked their bytes. */
static inline trainopt_status trainopt__adafactor_run(const trainopt_adafactor_config *c, int64_t step, size_t rows, size_t cols,
                                                      float *param, const float *grad, float *row_var, float *col_var,
                                                      float *variance, const trainopt_step_opts *o, const char *fn,
                                                      trainopt__af_mp *mp) {
    trainopt__af_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    size_t n;
    double one_minus_beta2, rho, p_sumsq = 0.0, u_sumsq = 0.0, rms, alpha, denom;
    size_t bad = 0;
    int skip, has_wd;
    float neg_step, row_mean = 0.0f;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__nonneg(c->lr)) return trainopt__once_hparam(fn, "lr", c->lr, TRAINOPT__WHY_NONNEG);
    if (!trainopt__finite(c->beta2_decay) || c->beta2_decay > 0.0)
        return trainopt__once_hparam(fn, "beta2_decay", c->beta2_decay, "is not a finite number <= 0");
    if (!trainopt__nonneg(c->eps1)) return trainopt__once_hparam(fn, "eps1", c->eps1, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->eps2)) return trainopt__once_hparam(fn, "eps2", c->eps2, TRAINOPT__WHY_NONNEG);
    if (!trainopt__finite(c->d) || c->d < 1.0) return trainopt__once_hparam(fn, "d", c->d, "is not a finite number >= 1");
    if (!trainopt__nonneg(c->weight_decay))
        return trainopt__once_hparam(fn, "weight_decay", c->weight_decay, TRAINOPT__WHY_NONNEG);
    if ((st = trainopt__step_opts_check(o, 0, NULL, NULL, 0, &skip, fn)) != TRAINOPT_OK) return st;
    if (step < 1) return trainopt__once_step(fn, step);
    if (cols != 0 && rows > SIZE_MAX / sizeof(float) / cols)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "rows * cols = %zu * %zu: its size in bytes overflows size_t", rows,
                                   cols);
    n = rows * cols;
    if (o && o->nonfinite && !mp) { /* even a skipped step writes the count */
        const void *const ptrs[] = {param, grad, variance, row_var, col_var};
        static const char *const names[] = {"param", "grad", "variance", "row_var", "col_var"};
        const size_t lens[] = {n, n, n, rows, cols};
        int i;
        for (i = 0; i < 5; i++)
            if (ptrs[i] && trainopt__overlap(o->nonfinite, sizeof *o->nonfinite, ptrs[i], lens[i] * sizeof(float)))
                return trainopt__once_alias(fn, "o->nonfinite", names[i]);
    }
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    if (variance == NULL && (row_var == NULL || col_var == NULL))
        return trainopt__once_null(fn, row_var == NULL ? "row_var (factored; or pass variance for an unfactored step)"
                                                       : "col_var (factored; or pass variance for an unfactored step)");
    if (variance != NULL && (row_var != NULL || col_var != NULL))
        return trainopt__once_fail(TRAINOPT_ERR_ALIAS, fn,
                                   "variance and row_var/col_var both given: factored takes row_var and col_var, "
                                   "unfactored variance, never both");
    arrays.count = 0;
    trainopt__arrays_add(&arrays, param, "param");
    trainopt__arrays_add(&arrays, grad, "grad");
    if (variance) trainopt__arrays_add(&arrays, variance, "variance");
    if (!mp && (st = trainopt__check_arrays(&arrays, n, fn)) != TRAINOPT_OK) return st;
    if (variance == NULL && !mp) { /* the factors: rows and cols floats, disjoint from everything */
        const size_t pb = n * sizeof(float), rb = rows * sizeof(float), cb = cols * sizeof(float);
        if (trainopt__overlap(row_var, rb, param, pb) || trainopt__overlap(row_var, rb, grad, pb))
            return trainopt__once_alias(fn, "row_var", trainopt__overlap(row_var, rb, param, pb) ? "param" : "grad");
        if (trainopt__overlap(col_var, cb, param, pb) || trainopt__overlap(col_var, cb, grad, pb))
            return trainopt__once_alias(fn, "col_var", trainopt__overlap(col_var, cb, param, pb) ? "param" : "grad");
        if (trainopt__overlap(row_var, rb, col_var, cb)) return trainopt__once_alias(fn, "row_var", "col_var");
    }

    one_minus_beta2 = pow((double)step, c->beta2_decay);
    rho = 1.0 / sqrt((double)step);
    if (c->lr < rho) rho = c->lr;
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.w = (float)one_minus_beta2;
    s.one_minus_w = (float)(1.0 - one_minus_beta2);
    s.high = !(fabs(one_minus_beta2) < 0.5);
    s.eps1 = c->eps1;
    s.eps1_sq = (float)(c->eps1 * c->eps1);
    s.inv_eps1 = trainopt__af_rsqrt1(s.eps1_sq);
    s.decay_factor = (float)fma(-c->lr, c->weight_decay, 1.0);
    has_wd = c->weight_decay != 0.0;
#define TRAINOPT__AF_PASSES(scaled, count)                                                                               \
    do {                                                                                                                 \
        if (variance) {                                                                                                  \
            u_sumsq = trainopt__af_vector(&s, param, grad, variance, n, scaled, count, 0, 0, 0.0f, &p_sumsq, mp);        \
        } else {                                                                                                         \
            const int known = trainopt__af_factors(&s, param, grad, rows, cols, row_var, col_var, scaled, count,          \
                                                   &p_sumsq, &u_sumsq, mp);                                              \
            row_mean = trainopt__af_row_mean(row_var, rows, c->eps1);                                                    \
            if (!known)                                                                                                  \
                u_sumsq = trainopt__af_sweep(&s, row_var, row_mean, col_var, NULL, grad, rows, cols, scaled, 0, 0, 0.0f, \
                                             mp);                                                                \
        }                                                                                                                \
        rms = sqrt(p_sumsq) / sqrt((double)n); /* p before the decay, as PyTorch */                                     \
        alpha = (rms > c->eps2 ? rms : c->eps2) * rho; /* Python's max(eps2, rms): eps2 when rms is NaN */              \
        denom = sqrt(u_sumsq) / (sqrt((double)n) * c->d);                                                                \
        if (!(denom > 1.0)) denom = denom != denom ? denom : 1.0; /* max(1, x), NaN kept */                              \
        neg_step = (float)(-alpha / denom);                                                                              \
        if (variance) {                                                                                                  \
            if (has_wd) trainopt__af_vector(&s, param, grad, variance, n, scaled, NULL, 1, 1, neg_step, NULL, mp);       \
            else trainopt__af_vector(&s, param, grad, variance, n, scaled, NULL, 1, 0, neg_step, NULL, mp);              \
        } else if (has_wd) {                                                                                             \
            trainopt__af_sweep(&s, row_var, row_mean, col_var, param, grad, rows, cols, scaled, 1, 1, neg_step, mp);     \
        } else {                                                                                                         \
            trainopt__af_sweep(&s, row_var, row_mean, col_var, param, grad, rows, cols, scaled, 1, 0, neg_step, mp);     \
        }                                                                                                                \
    } while (0)
    if (o == NULL) {
        TRAINOPT__AF_PASSES(0, (size_t *)NULL);
    } else {
        TRAINOPT__AF_PASSES(o->grad_scale != 1.0, &bad);
        if (o->nonfinite) *o->nonfinite = bad;
    }
#undef TRAINOPT__AF_PASSES
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adafactor_step(const trainopt_adafactor_config *c, int64_t step, size_t rows,
                                                             size_t cols, float *param, const float *grad, float *row_var,
                                                             float *col_var, float *variance) {
    return trainopt__adafactor_run(c, step, rows, cols, param, grad, row_var, col_var, variance, NULL,
                                   "trainopt_adafactor_step", NULL);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adafactor_step_ex(const trainopt_adafactor_config *c, int64_t step, size_t rows,
                                                                size_t cols, float *param, const float *grad, float *row_var,
                                                                float *col_var, float *variance, const trainopt_step_opts *o) {
    return trainopt__adafactor_run(c, step, rows, cols, param, grad, row_var, col_var, variance, o,
                                   "trainopt_adafactor_step_ex", NULL);
}

/* >>sfadamw: schedule-free AdamW. The scalar state (lr_max, weight_sum) changes once per
   optimizer step, so trainopt_sfadamw_advance updates it once, outside the element loop
   and before the step of any tensor; every step call only reads it, so chunks, tensors
   and threads all see the same scalars. */
#ifndef TRAINOPT__VARIANT_PASS /* no vector code: compiled once (>>dispatch) */
TRAINOPT_API trainopt_status trainopt_sfadamw_advance(const trainopt_sfadamw_config *c, trainopt_sfadamw_state *s) {
    static const char fn[] = "trainopt_sfadamw_advance";
    double sched, lr, weight;
    int64_t step;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (s == NULL) return trainopt__once_null(fn, "s (the state)");
    if (!trainopt__nonneg(c->lr)) return trainopt__once_hparam(fn, "lr", c->lr, TRAINOPT__WHY_NONNEG);
    if (!trainopt__in_01(c->beta2)) return trainopt__once_hparam(fn, "beta2", c->beta2, TRAINOPT__WHY_01);
    if (c->warmup_steps < 0)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "warmup_steps = %lld is negative", (long long)c->warmup_steps);
    if (!trainopt__nonneg(c->r)) return trainopt__once_hparam(fn, "r", c->r, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->weight_lr_power))
        return trainopt__once_hparam(fn, "weight_lr_power", c->weight_lr_power, TRAINOPT__WHY_NONNEG);
    if (s->step < 0 || s->step == INT64_MAX)
        return trainopt__once_fail(TRAINOPT_ERR_STEP, fn, "s->step = %lld: not a count of steps taken (start from "
                                   "TRAINOPT_SFADAMW_STATE_INIT)", (long long)s->step);
    if (!(s->lr_max == -1.0 || trainopt__nonneg(s->lr_max)) || !trainopt__nonneg(s->weight_sum))
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "s->lr_max or s->weight_sum is not a value this function "
                                   "wrote (start from TRAINOPT_SFADAMW_STATE_INIT)");
    step = s->step + 1;
    sched = step <= c->warmup_steps ? (double)step / (double)c->warmup_steps : 1.0;
    lr = c->lr * sched * sqrt(1.0 - trainopt__powi(c->beta2, step));
    if (lr > s->lr_max) s->lr_max = lr;
    weight = pow((double)step, c->r) * pow(s->lr_max, c->weight_lr_power);
    s->weight_sum += weight;
    s->step = step;
    s->lr = lr;
    s->ckp1 = s->weight_sum != 0.0 ? weight / s->weight_sum : 0.0; /* the reference's ZeroDivisionError branch */
    return TRAINOPT_OK;
}
#endif

typedef struct {
    trainopt__grad_in gi;
    float beta2, one_minus_beta2, eps, weight_decay;
    float ckp1, one_minus_ckp1; /* y's lerp toward z */
    float y_coef;               /* lr * (beta1 * (1 - ckp1) - 1) */
    float neg_lr;
} trainopt__sfadamw_scalars;

/* One vector, computed and not stored: x[0] the new y (the parameter), x[1] z, x[2] exp_avg_sq. */
TRAINOPT__FORCE_INLINE void trainopt__sfadamw_values(const trainopt__sfadamw_scalars *s, size_t i, size_t k, int scaled,
                                                     size_t *nonfinite, int has_wd, int high, const float *param,
                                                     const float *grad, const float *z, const float *exp_avg_sq,
                                                     trainopt__vf *x) {
    trainopt__vf y = trainopt__v_load_n(param + i, k);
    const trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    const trainopt__vf zv = trainopt__v_load_n(z + i, k);
    trainopt__vf v = trainopt__v_mul(trainopt__v_load_n(exp_avg_sq + i, k), trainopt__v_set1(s->beta2));
    trainopt__vf gn;
    v = trainopt__v_fma(trainopt__v_mul(trainopt__v_set1(s->one_minus_beta2), g), g, v);
    gn = trainopt__v_div(g, trainopt__v_add(trainopt__v_sqrt(v), trainopt__v_set1(s->eps)));
    if (has_wd) gn = trainopt__v_fma(trainopt__v_set1(s->weight_decay), y, gn); /* decay at y */
    y = trainopt__v_lerp(y, zv, s->ckp1, s->one_minus_ckp1, high);
    x[0] = trainopt__v_fma(trainopt__v_set1(s->y_coef), gn, y);
    x[1] = trainopt__v_fma(trainopt__v_set1(s->neg_lr), gn, zv);
    x[2] = v;
}

TRAINOPT__FORCE_INLINE void trainopt__sfadamw_loop(const trainopt__sfadamw_scalars *s, size_t n, int scaled, size_t *nonfinite,
                                                   int has_wd, int high, float *param, const float *grad, float *z,
                                                   float *exp_avg_sq) {
    void *const out[3] = {param, z, exp_avg_sq};
    const int dts[3] = {TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_F32};
#define TRAINOPT__SFADAMW_VALUES(i, k, x) \
    trainopt__sfadamw_values(s, i, k, scaled, nonfinite, has_wd, high, param, grad, z, exp_avg_sq, x)
    TRAINOPT__STORE_RUNS(n, 3, 7, out, dts, TRAINOPT__SFADAMW_VALUES);
#undef TRAINOPT__SFADAMW_VALUES
}

/* Checks the parts of a schedule-free state that a step reads. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__sfadamw_state_check(const trainopt_sfadamw_state *s, const char *fn) {
    if (s == NULL) return trainopt__once_null(fn, "s (the state)");
    if (s->step < 1)
        return trainopt__once_fail(TRAINOPT_ERR_STEP, fn, "s->step = %lld: call trainopt_sfadamw_advance before each step",
                                   (long long)s->step);
    if (!trainopt__nonneg(s->lr)) return trainopt__once_hparam(fn, "s->lr", s->lr, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(s->ckp1) || s->ckp1 > 1.0) return trainopt__once_hparam(fn, "s->ckp1", s->ckp1, TRAINOPT__WHY_0_1);
    return TRAINOPT_OK;
}

/* The per-step scalars from a checked config and state, and the loop they choose (the
   mixed-precision step, src/mixed.h, runs them on each block). */
TRAINOPT__FORCE_INLINE trainopt__sfadamw_scalars trainopt__sfadamw_scalars_make(const trainopt_sfadamw_config *c,
                                                                               const trainopt_sfadamw_state *st,
                                                                               const trainopt_step_opts *o) {
    trainopt__sfadamw_scalars s;
    s.gi = trainopt__grad_in_make(0, o);
    s.beta2 = (float)c->beta2;
    s.one_minus_beta2 = (float)(1.0 - c->beta2);
    s.eps = (float)c->eps;
    s.weight_decay = (float)c->weight_decay;
    s.ckp1 = (float)st->ckp1;
    s.one_minus_ckp1 = (float)(1.0 - st->ckp1);
    s.y_coef = (float)(st->lr * (c->beta1 * (1.0 - st->ckp1) - 1.0));
    s.neg_lr = (float)-st->lr;
    return s;
}
TRAINOPT__FORCE_INLINE void trainopt__sfadamw_loops(const trainopt_sfadamw_config *c, const trainopt_sfadamw_state *st,
                                                    const trainopt__sfadamw_scalars *s, size_t n, float *param,
                                                    const float *grad, float *z, float *exp_avg_sq,
                                                    const trainopt_step_opts *o) {
    const int has_wd = c->weight_decay != 0.0, high = !(fabs(st->ckp1) < 0.5);
#define TRAINOPT__SFADAMW_LOOP(scaled, bad)                                                            \
    if (high) {                                                                                        \
        if (has_wd) trainopt__sfadamw_loop(s, n, scaled, bad, 1, 1, param, grad, z, exp_avg_sq);       \
        else trainopt__sfadamw_loop(s, n, scaled, bad, 0, 1, param, grad, z, exp_avg_sq);              \
    } else {                                                                                           \
        if (has_wd) trainopt__sfadamw_loop(s, n, scaled, bad, 1, 0, param, grad, z, exp_avg_sq);       \
        else trainopt__sfadamw_loop(s, n, scaled, bad, 0, 0, param, grad, z, exp_avg_sq);              \
    }
    TRAINOPT__RUN_STEP(o, TRAINOPT__SFADAMW_LOOP);
#undef TRAINOPT__SFADAMW_LOOP
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__sfadamw_run(const trainopt_sfadamw_config *c, const trainopt_sfadamw_state *st,
                                                             size_t n, float *param, const float *grad, float *z,
                                                             float *exp_avg_sq, const trainopt_step_opts *o, const char *fn) {
    const void *const ptrs[] = {param, grad, z, exp_avg_sq}; /* for the count output's overlap check */
    static const char *const names[] = {"param", "grad", "z", "exp_avg_sq"};
    trainopt__sfadamw_scalars s;
    trainopt__arrays arrays;
    trainopt_status status;
    int skip;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__nonneg(c->lr)) return trainopt__once_hparam(fn, "lr", c->lr, TRAINOPT__WHY_NONNEG);
    if (!trainopt__in_01(c->beta1)) return trainopt__once_hparam(fn, "beta1", c->beta1, TRAINOPT__WHY_01);
    if (!trainopt__in_01(c->beta2)) return trainopt__once_hparam(fn, "beta2", c->beta2, TRAINOPT__WHY_01);
    if (!trainopt__nonneg(c->eps)) return trainopt__once_hparam(fn, "eps", c->eps, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->weight_decay))
        return trainopt__once_hparam(fn, "weight_decay", c->weight_decay, TRAINOPT__WHY_NONNEG);
    if ((status = trainopt__step_opts_check(o, n, ptrs, names, 4, &skip, fn)) != TRAINOPT_OK) return status;
    /* a skipped step does not read the state: with found_inf the loop does not advance either */
    if (!skip && (status = trainopt__sfadamw_state_check(st, fn)) != TRAINOPT_OK) return status;
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    arrays.count = 0;
    trainopt__arrays_add(&arrays, param, "param");
    trainopt__arrays_add(&arrays, grad, "grad");
    trainopt__arrays_add(&arrays, z, "z");
    trainopt__arrays_add(&arrays, exp_avg_sq, "exp_avg_sq");
    if ((status = trainopt__check_arrays(&arrays, n, fn)) != TRAINOPT_OK) return status;

    s = trainopt__sfadamw_scalars_make(c, st, o);
    trainopt__sfadamw_loops(c, st, &s, n, param, grad, z, exp_avg_sq, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_sfadamw_step(const trainopt_sfadamw_config *c, const trainopt_sfadamw_state *s,
                                                           size_t n, float *param, const float *grad, float *z,
                                                           float *exp_avg_sq) {
    return trainopt__sfadamw_run(c, s, n, param, grad, z, exp_avg_sq, NULL, "trainopt_sfadamw_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_sfadamw_step_ex(const trainopt_sfadamw_config *c, const trainopt_sfadamw_state *s,
                                                              size_t n, float *param, const float *grad, float *z,
                                                              float *exp_avg_sq, const trainopt_step_opts *o) {
    return trainopt__sfadamw_run(c, s, n, param, grad, z, exp_avg_sq, o, "trainopt_sfadamw_step_ex");
}

/* out = lerp(in, z, w) with torch.lerp's form; in == out (in place) is allowed. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__sfadamw_swap(const trainopt_sfadamw_config *c, int to_eval, size_t n,
                                                              const float *in, const float *z, float *out, const char *fn) {
    double w;
    float wf, one_minus_wf;
    size_t i = 0;
    int high;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__in_01(c->beta1) || (to_eval && c->beta1 == 0.0))
        return trainopt__once_hparam(fn, "beta1", c->beta1, to_eval ? "is outside (0, 1) (x = (y - (1-beta1)*z) / beta1)"
                                                                    : TRAINOPT__WHY_01);
    if (n == 0) return TRAINOPT_OK;
    if (in == NULL) return trainopt__once_null(fn, to_eval ? "y" : "x");
    if (z == NULL) return trainopt__once_null(fn, "z");
    if (out == NULL) return trainopt__once_null(fn, to_eval ? "x" : "y");
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    if (trainopt__overlap(in, n * sizeof(float), z, n * sizeof(float))) return trainopt__once_alias(fn, to_eval ? "y" : "x", "z");
    if (trainopt__overlap(out, n * sizeof(float), z, n * sizeof(float))) return trainopt__once_alias(fn, to_eval ? "x" : "y", "z");
    if (in != out && trainopt__overlap(in, n * sizeof(float), out, n * sizeof(float)))
        return trainopt__once_alias(fn, "x", "y (partly: only exactly the same array is allowed)");
    w = to_eval ? 1.0 - 1.0 / c->beta1 : 1.0 - c->beta1;
    wf = (float)w;
    one_minus_wf = (float)(1.0 - w);
    high = !(fabs(w) < 0.5);
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__v_store(out + i, trainopt__v_lerp(trainopt__v_load(in + i), trainopt__v_load(z + i), wf, one_minus_wf, high));
    if (i < n)
        trainopt__v_store_n(out + i,
                            trainopt__v_lerp(trainopt__v_load_n(in + i, n - i), trainopt__v_load_n(z + i, n - i), wf,
                                             one_minus_wf, high),
                            n - i);
    return TRAINOPT_OK;
}

/* The evaluation parameters x from the training parameters y (AdamWScheduleFree.eval()). */
TRAINOPT__KERNEL_API trainopt_status trainopt_sfadamw_to_eval(const trainopt_sfadamw_config *c, size_t n, const float *y,
                                                              const float *z, float *x) {
    return trainopt__sfadamw_swap(c, 1, n, y, z, x, "trainopt_sfadamw_to_eval");
}

/* The training parameters y from the evaluation parameters x (AdamWScheduleFree.train()). */
TRAINOPT__KERNEL_API trainopt_status trainopt_sfadamw_to_train(const trainopt_sfadamw_config *c, size_t n, const float *x,
                                                               const float *z, float *y) {
    return trainopt__sfadamw_swap(c, 0, n, x, z, y, "trainopt_sfadamw_to_train");
}
