/* >>mixed-layerwise: the mixed-precision steps of the list optimizers, LAMB and LARS
   (trainopt_lamb_step_mp, trainopt_lars_step_mp). The descriptor is the elementwise steps'
   (>>mixed), read per tensor: param_aux and copy, when given, point to arrays of k
   pointers (tensor t's compensation or low halves, and its copy), and tensor t's element j
   draws the stochastic word of (seed, offset + lens[0] + ... + lens[t-1] + j), its place
   in the concatenation of the list, so a list split into two calls (the second's offset
   advanced by the first's elements) rounds alike. Each tensor's two passes run on blocks
   widened into float (Kahan: p + c, split: the joined master) by >>mixed's helpers; a
   block is a whole number of the norms' blocks (TRAINOPT__LW_BLOCK), whose sums are added
   in order, so the norms, the trust ratio and every bit are those of the fp32 _ex step on
   the widened lists, followed by the rounding the manual documents. bf16 LAMB moments are
   not rounded between the passes: pass 1 updates them in the block only, and pass 2
   updates them again from the stored values (the same bits) before it rounds them. */

/* The lists of one call, as void pointers, and what the passes need of them. */
typedef struct {
    int op; /* TRAINOPT__LW_LAMB or TRAINOPT__LW_LARS */
    size_t k;
    const size_t *lens;
    void *const *params;
    const void *const *grads;
    void *const *state0, *const *state1; /* LAMB: exp_avgs, exp_avg_sqs; LARS: momentum_bufs, NULL */
    double lr, trust_coef, trust_eps;
    int has_wd, nesterov;
} trainopt__mpl_call;

#if TRAINOPT__MP_BLOCK % TRAINOPT__LW_BLOCK != 0
#error "a mixed-precision block must hold whole norm blocks (TRAINOPT__LW_BLOCK)"
#endif

/* Block buffers of one tensor: its arrays as float, at index i (the caller's own arrays
   where they are fp32, else the widened block). */
typedef struct {
    float p[TRAINOPT__MP_BLOCK], g[TRAINOPT__MP_BLOCK], s0[TRAINOPT__MP_BLOCK], s1[TRAINOPT__MP_BLOCK];
} trainopt__mpl_bufs;

/* Block [i, i + n) of tensor t as float, in io: fp32 arrays in place, the rest widened
   into b (the parameter by >>mixed's rule for its mode). */
TRAINOPT__DRIVER void trainopt__mpl_load(const trainopt__mpl_call *m, const trainopt_precision *tp, size_t t, size_t i,
                                         size_t n, trainopt__mpl_bufs *b, trainopt__lw_io *io) {
    if (tp->param_dtype == TRAINOPT_F32) {
        io->param = (float *)m->params[t] + i;
    } else {
        trainopt__mp_param_in(tp, b->p, m->params[t], i, n);
        io->param = b->p;
    }
    if (tp->grad_dtype == TRAINOPT_F32) {
        io->grad = (const float *)m->grads[t] + i;
    } else {
        trainopt__mp_widen(b->g, m->grads[t], tp->grad_dtype, i, n);
        io->grad = b->g;
    }
    io->state0 = io->state1 = NULL;
    if (m->state0 && tp->state_dtype == TRAINOPT_F32) io->state0 = (float *)m->state0[t] + i;
    else if (m->state0) trainopt__mp_widen(io->state0 = b->s0, m->state0[t], tp->state_dtype, i, n);
    if (m->state1 && tp->state_dtype == TRAINOPT_F32) io->state1 = (float *)m->state1[t] + i;
    else if (m->state1) trainopt__mp_widen(io->state1 = b->s1, m->state1[t], tp->state_dtype, i, n);
}

/* Both passes over every tensor of the list (the descriptor checked, the step not skipped). */
TRAINOPT__DRIVER void trainopt__mpl_passes(const trainopt__mpl_call *m, const trainopt_precision *pr,
                                           const trainopt__lw_scalars *s, int scaled, size_t *nonfinite) {
    void *const *aux = (void *const *)pr->param_aux, *const *copy = (void *const *)pr->copy;
    trainopt__mpl_bufs b;
    trainopt__philox_key key;
    trainopt_precision tp = *pr;
    uint64_t base = pr->offset;
    size_t t, i, n;
    trainopt__philox_key_seed(&key, pr->seed);
    for (t = 0; t < m->k; base += m->lens[t], t++) {
        const size_t len = m->lens[t];
        double p_sumsq = 0.0, u_sumsq = 0.0, unused = 0.0;
        trainopt__lw_io io;
        float neg_scale;
        if (len == 0) continue;
        tp.param_aux = aux ? aux[t] : NULL;
        tp.offset = base;
        /* pass 1: the norms. fp32 LAMB moments are stored as the fp32 step stores them;
           widened ones change only in the block. */
        for (i = 0; i < len; i += n) {
            n = len - i < TRAINOPT__MP_BLOCK ? len - i : TRAINOPT__MP_BLOCK;
            trainopt__mpl_load(m, &tp, t, i, n, &b, &io);
            trainopt__lw_norms_of(m->op, s, &io, n, scaled, nonfinite, m->has_wd, &p_sumsq, &u_sumsq);
        }
        neg_scale = trainopt__lw_neg_scale(p_sumsq, u_sumsq, m->lr, m->trust_coef, m->trust_eps);
        /* pass 2: the update, then every rounding */
        for (i = 0; i < len; i += n) {
            n = len - i < TRAINOPT__MP_BLOCK ? len - i : TRAINOPT__MP_BLOCK;
            trainopt__mpl_load(m, &tp, t, i, n, &b, &io);
            if (m->op == TRAINOPT__LW_LAMB && tp.state_dtype != TRAINOPT_F32)
                trainopt__lw_norms_of(m->op, s, &io, n, scaled, NULL, m->has_wd, &unused, &unused);
            trainopt__lw_update_of(m->op, s, &io, n, neg_scale, scaled, m->has_wd, m->nesterov);
            if (tp.state_dtype != TRAINOPT_F32) {
                if (io.state0) trainopt__mp_narrow(m->state0[t], tp.state_dtype, io.state0, i, n);
                if (io.state1) trainopt__mp_narrow(m->state1[t], tp.state_dtype, io.state1, i, n);
            }
            if (copy) trainopt__mp_narrow(copy[t], tp.copy_dtype, io.param, i, n);
            if (tp.param_dtype != TRAINOPT_F32) trainopt__mp_param_out(&tp, &key, m->params[t], io.param, i, n);
        }
    }
}

/* The checks of a list step's descriptor and lists, before anything is written: the
   descriptor as >>mixed checks it (on no elements), then every list, per-tensor aux and
   copy arrays included, with each array's own element size. */
TRAINOPT__DRIVER trainopt_status trainopt__mpl_check(const trainopt__mpl_call *m, const trainopt_precision *pr,
                                                     const trainopt_step_opts *o, const char *fn) {
    const int lamb = m->op == TRAINOPT__LW_LAMB;
    trainopt__mp_call d;
    trainopt__lw_list lists[6];
    int count = 0;
    trainopt_status st;
    memset(&d, 0, sizeof d);
    d.name = fn;
    if ((st = trainopt__mp_check(&d, pr, o)) != TRAINOPT_OK) return st;
    if (m->k == 0) return TRAINOPT_OK;
    if ((pr->param_mode == TRAINOPT_PARAM_KAHAN || pr->param_mode == TRAINOPT_PARAM_SPLIT) && pr->param_aux == NULL)
        return trainopt__once_null(fn, "pr->param_aux (needed: Kahan or split parameters; an array of k arrays)");
#define TRAINOPT__MPL_LIST(p, w, dtype, text)                                                         \
    lists[count].ptrs = (const void *const *)(p), lists[count].name = text, lists[count].writes = w, \
    lists[count++].size = trainopt__dtype_size(dtype)
    TRAINOPT__MPL_LIST(m->params, 1, pr->param_dtype, "params");
    TRAINOPT__MPL_LIST(m->grads, 0, pr->grad_dtype, "grads");
    if (lamb || m->state0) TRAINOPT__MPL_LIST(m->state0, 1, pr->state_dtype, lamb ? "exp_avgs" : "momentum_bufs");
    if (lamb) TRAINOPT__MPL_LIST(m->state1, 1, pr->state_dtype, "exp_avg_sqs");
    if (pr->param_aux) TRAINOPT__MPL_LIST(pr->param_aux, 1, pr->param_dtype, "pr->param_aux");
    if (pr->copy) TRAINOPT__MPL_LIST(pr->copy, 1, pr->copy_dtype, "pr->copy");
#undef TRAINOPT__MPL_LIST
    return trainopt__lw_check(m->k, m->lens, lists, count, o ? o->nonfinite : NULL, fn);
}

/* A refusal of the fp32 kernel's checks, in the caller's name (>>mixed's restatement). */
static TRAINOPT__COLD trainopt_status trainopt__mpl_refused(trainopt_status st, const char *fn) {
    trainopt__mp_call d;
    memset(&d, 0, sizeof d);
    d.name = fn;
    return trainopt__mp_refused(&d, st);
}

/* The fp32 lists given as they are: the fp32 kernel itself. */
TRAINOPT__FORCE_INLINE int trainopt__mpl_all_f32(const trainopt_precision *pr) {
    return pr->param_dtype == TRAINOPT_F32 && pr->grad_dtype == TRAINOPT_F32 && pr->state_dtype == TRAINOPT_F32 &&
           pr->copy == NULL;
}

/* The passes of a checked call, with the fp32 step's count output and skip. */
TRAINOPT__DRIVER trainopt_status trainopt__mpl_run(const trainopt__mpl_call *m, const trainopt_precision *pr,
                                                   const trainopt__lw_scalars *s, const trainopt_step_opts *o) {
    if (m->k == 0 || (o && o->found_inf && *o->found_inf)) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
#define TRAINOPT__MPL_PASSES(scaled, bad) trainopt__mpl_passes(m, pr, s, scaled, bad)
    TRAINOPT__RUN_STEP(o, TRAINOPT__MPL_PASSES);
#undef TRAINOPT__MPL_PASSES
    return TRAINOPT_OK;
}

/* An options copy for the fp32 kernel's checks: no count output (a refusal further on
   must leave it untouched). */
TRAINOPT__FORCE_INLINE const trainopt_step_opts *trainopt__mpl_quiet(const trainopt_step_opts *o, trainopt_step_opts *copy) {
    if (o == NULL) return NULL;
    *copy = *o;
    copy->nonfinite = NULL;
    return copy;
}

/* A mixed-precision LAMB call checked (the lists in their formats, then the config, the
   step and the options by the fp32 kernel's own checks, on an empty list) and made into
   *m and *s (the threaded form's too). An all-fp32 descriptor is the fp32 kernel's call. */
static inline trainopt_status trainopt__lamb_mp_make(const trainopt_lamb_config *c, int64_t step, size_t k,
                                                     const size_t *lens, void *const *params, const void *const *grads,
                                                     void *const *exp_avgs, void *const *exp_avg_sqs,
                                                     const trainopt_precision *pr, const trainopt_step_opts *o,
                                                     const char *fn, trainopt__mpl_call *m, trainopt__lw_scalars *s) {
    trainopt_step_opts quiet;
    trainopt_status st;
    m->op = TRAINOPT__LW_LAMB, m->k = k, m->lens = lens, m->params = params, m->grads = grads;
    m->state0 = exp_avgs, m->state1 = exp_avg_sqs;
    if ((st = trainopt__mpl_check(m, pr, o, fn)) != TRAINOPT_OK) return st;
    st = trainopt_lamb_step_ex(c, step, 0, NULL, NULL, NULL, NULL, NULL, trainopt__mpl_quiet(o, &quiet));
    if (st != TRAINOPT_OK) return trainopt__mpl_refused(st, fn);
    *s = trainopt__lamb_scalars_make(c, step, o);
    m->lr = c->lr, m->trust_coef = 1.0, m->trust_eps = 0.0;
    m->has_wd = c->weight_decay != 0.0, m->nesterov = 0;
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_lamb_step_mp(const trainopt_lamb_config *c, int64_t step, size_t k,
                                                           const size_t *lens, void *const *params, const void *const *grads,
                                                           void *const *exp_avgs, void *const *exp_avg_sqs,
                                                           const trainopt_precision *pr, const trainopt_step_opts *o) {
    trainopt__mpl_call m;
    trainopt__lw_scalars s;
    const trainopt_status st = trainopt__lamb_mp_make(c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, pr, o,
                                                      "trainopt_lamb_step_mp", &m, &s);
    if (st != TRAINOPT_OK) return st;
    if (trainopt__mpl_all_f32(pr))
        return trainopt_lamb_step_ex(c, step, k, lens, (float *const *)params, (const float *const *)grads,
                                     (float *const *)exp_avgs, (float *const *)exp_avg_sqs, o);
    return trainopt__mpl_run(&m, pr, &s, o);
}

/* LARS's, as LAMB's. */
static inline trainopt_status trainopt__lars_mp_make(const trainopt_lars_config *c, size_t k, const size_t *lens,
                                                     void *const *params, const void *const *grads,
                                                     void *const *momentum_bufs, const trainopt_precision *pr,
                                                     const trainopt_step_opts *o, const char *fn, trainopt__mpl_call *m,
                                                     trainopt__lw_scalars *s) {
    trainopt_step_opts quiet;
    trainopt_status st;
    m->op = TRAINOPT__LW_LARS, m->k = k, m->lens = lens, m->params = params, m->grads = grads;
    m->state0 = momentum_bufs, m->state1 = NULL;
    if ((st = trainopt__mpl_check(m, pr, o, fn)) != TRAINOPT_OK) return st;
    st = trainopt_lars_step_ex(c, 0, NULL, NULL, NULL, NULL, trainopt__mpl_quiet(o, &quiet));
    if (st != TRAINOPT_OK) return trainopt__mpl_refused(st, fn);
    if (k > 0 && c->momentum != 0.0 && momentum_bufs == NULL)
        return trainopt__once_null(fn, "momentum_bufs (needed: momentum > 0)");
    *s = trainopt__lars_scalars_make(c, o);
    m->lr = c->lr, m->trust_coef = c->trust_coefficient, m->trust_eps = c->eps;
    m->has_wd = c->weight_decay != 0.0, m->nesterov = c->nesterov != 0;
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_lars_step_mp(const trainopt_lars_config *c, size_t k, const size_t *lens,
                                                           void *const *params, const void *const *grads,
                                                           void *const *momentum_bufs, const trainopt_precision *pr,
                                                           const trainopt_step_opts *o) {
    trainopt__mpl_call m;
    trainopt__lw_scalars s;
    const trainopt_status st =
        trainopt__lars_mp_make(c, k, lens, params, grads, momentum_bufs, pr, o, "trainopt_lars_step_mp", &m, &s);
    if (st != TRAINOPT_OK) return st;
    if (trainopt__mpl_all_f32(pr))
        return trainopt_lars_step_ex(c, k, lens, (float *const *)params, (const float *const *)grads,
                                     (float *const *)momentum_bufs, o);
    return trainopt__mpl_run(&m, pr, &s, o);
}
