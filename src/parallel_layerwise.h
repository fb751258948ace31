/* >>parallel-layerwise: trainopt_lamb_step_mt and trainopt_lars_step_mt, LAMB and LARS
   (>>layerwise) on the caller's threads (trainopt_threads; manual: THREADS). A tensor's
   trust ratio needs both its norms before its update, so each round has two passes:
   - pass 1 cuts the list into pieces of TRAINOPT_CHUNK elements of one tensor, counted
     from its start (a whole number of the norms' TRAINOPT__LW_BLOCK blocks, so no block
     is cut); a piece keeps each block's sums of p^2 and u^2, as trainopt__lw_norms makes
     them (LAMB also stores its moments there: elementwise). The calling thread then adds
     the block sums in order, tensor by tensor, exactly as trainopt__lw_norms adds them,
     and a tensor whose last piece is in has its trust ratio; a tensor longer than a
     round (TRAINOPT__SUM_ROUND pieces) carries its two sums into the next round;
   - pass 2 updates the tensors that the round completed, in pieces (elementwise).
   So every norm, trust ratio and bit is the unthreaded call's, for any hook and any task
   order. Without a hook, the unthreaded call's own loop. The mixed-precision forms
   (trainopt_lamb_step_mp_mt, trainopt_lars_step_mp_mt) run the same rounds with
   >>mixed-layerwise's two passes on each piece's blocks of TRAINOPT__MP_BLOCK (a piece is
   a whole number of them): tensor t's param_aux, copy and stochastic offset (its place in
   the concatenated list) are those trainopt__mpl_passes gives it. */

/* One call's rounds: the fp32 lists (m) or the mixed-precision ones (mp, pr, key). */
typedef struct {
    const trainopt__lw_call *m;   /* fp32, or NULL */
    const trainopt__mpl_call *mp; /* mixed precision, or NULL */
    const trainopt_precision *pr; /* (mp) the descriptor; its param_aux and copy are arrays of k */
    const trainopt__lw_scalars *s;
    trainopt__philox_key key; /* (mp) stochastic rounding */
    size_t k;
    const size_t *lens;
    double lr, trust_coef, trust_eps;
    int scaled, counted; /* counted: the caller wants the non-finite count */
    /* pass 1: the round's pieces, each block's two sums, each piece's non-finite count */
    trainopt__piece pieces[TRAINOPT__SUM_ROUND];
    double p_sums[TRAINOPT__SUM_ROUND][TRAINOPT__CHUNK_BLOCKS], u_sums[TRAINOPT__SUM_ROUND][TRAINOPT__CHUNK_BLOCKS];
    size_t nonfinite[TRAINOPT__SUM_ROUND];
    /* pass 2: the tensors the round completed, their -lr * trust ratio and (mp) their place
       in the concatenated list; the update's pieces, whose .tensor indexes done_tensor */
    size_t done_tensor[TRAINOPT__SUM_ROUND];
    float done_scale[TRAINOPT__SUM_ROUND];
    uint64_t done_base[TRAINOPT__SUM_ROUND];
    trainopt__piece updates[TRAINOPT__STEP_ROUND];
} trainopt__plw_job;

/* Tensor t's arrays from element off (as trainopt__lw_run makes them for the whole tensor). */
TRAINOPT__FORCE_INLINE void trainopt__plw_io(const trainopt__lw_call *m, size_t t, size_t off, trainopt__lw_io *io) {
    io->param = m->params[t] + off;
    io->grad = m->grads[t] + off;
    io->state0 = m->state0 ? m->state0[t] + off : NULL;
    io->state1 = m->state1 ? m->state1[t] + off : NULL;
}

/* Pass 1 on piece i (fp32): each block's sums on its own, from 0 (trainopt__lw_norms'
   block sum). op is a constant and s its scalars as trainopt__lw_op_scalars gives them. */
TRAINOPT__FORCE_INLINE void trainopt__plw_norms_f32(trainopt__plw_job *j, size_t i, int op, const trainopt__lw_scalars *s) {
    const trainopt__lw_call *m = j->m;
    const trainopt__piece *p = &j->pieces[i];
    size_t b, bad = 0;
    for (b = 0; b < p->len; b += TRAINOPT__LW_BLOCK) {
        const size_t len = p->len - b < TRAINOPT__LW_BLOCK ? p->len - b : TRAINOPT__LW_BLOCK;
        double p_sum = 0.0, u_sum = 0.0;
        trainopt__lw_io io;
        trainopt__plw_io(m, p->tensor, p->offset + b, &io);
        trainopt__lw_norms_of(op, s, &io, len, j->scaled, j->counted ? &bad : NULL, m->has_wd, &p_sum, &u_sum);
        j->p_sums[i][b / TRAINOPT__LW_BLOCK] = p_sum;
        j->u_sums[i][b / TRAINOPT__LW_BLOCK] = u_sum;
    }
    j->nonfinite[i] = bad;
}

/* Pass 2 on update piece i (fp32); op and s as in pass 1. */
TRAINOPT__FORCE_INLINE void trainopt__plw_update_f32(trainopt__plw_job *j, size_t i, int op, const trainopt__lw_scalars *s) {
    const trainopt__lw_call *m = j->m;
    const trainopt__piece *p = &j->updates[i];
    trainopt__lw_io io;
    trainopt__plw_io(m, j->done_tensor[p->tensor], p->offset, &io);
    trainopt__lw_update_of(op, s, &io, p->len, j->done_scale[p->tensor], j->scaled, m->has_wd, m->nesterov);
}

/* Tensor t's descriptor, as trainopt__mpl_passes makes it: its own param_aux, its offset. */
TRAINOPT__FORCE_INLINE trainopt_precision trainopt__pmpl_tensor(const trainopt__plw_job *j, size_t t, uint64_t base) {
    trainopt_precision tp = *j->pr;
    tp.param_aux = j->pr->param_aux ? ((void *const *)j->pr->param_aux)[t] : NULL;
    tp.offset = base;
    return tp;
}

/* Pass 1 on piece i (mixed precision): trainopt__mpl_passes' pass 1 on the piece's blocks
   of TRAINOPT__MP_BLOCK (a piece is a whole number of them, from the tensor's start), each
   norm block's sums on their own. Loading reads no offset: base 0. */
static void trainopt__plw_norms_mp(trainopt__plw_job *j, size_t i) {
    const trainopt__mpl_call *m = j->mp;
    const trainopt__piece *p = &j->pieces[i];
    const trainopt_precision tp = trainopt__pmpl_tensor(j, p->tensor, 0);
    trainopt__mpl_bufs bufs;
    size_t at, n, b, bad = 0;
    for (at = 0; at < p->len; at += n) {
        trainopt__lw_io io;
        n = p->len - at < TRAINOPT__MP_BLOCK ? p->len - at : TRAINOPT__MP_BLOCK;
        trainopt__mpl_load(m, &tp, p->tensor, p->offset + at, n, &bufs, &io);
        for (b = 0; b < n; b += TRAINOPT__LW_BLOCK) {
            const size_t len = n - b < TRAINOPT__LW_BLOCK ? n - b : TRAINOPT__LW_BLOCK;
            double p_sum = 0.0, u_sum = 0.0;
            trainopt__lw_io part;
            part.param = io.param + b, part.grad = io.grad + b;
            part.state0 = io.state0 ? io.state0 + b : NULL;
            part.state1 = io.state1 ? io.state1 + b : NULL;
            trainopt__lw_norms_of(m->op, j->s, &part, len, j->scaled, j->counted ? &bad : NULL, m->has_wd, &p_sum, &u_sum);
            j->p_sums[i][(at + b) / TRAINOPT__LW_BLOCK] = p_sum;
            j->u_sums[i][(at + b) / TRAINOPT__LW_BLOCK] = u_sum;
        }
    }
    j->nonfinite[i] = bad;
}

/* Pass 2 on update piece i (mixed precision): trainopt__mpl_passes' pass 2 on its blocks. */
static void trainopt__plw_update_mp(trainopt__plw_job *j, size_t i) {
    const trainopt__mpl_call *m = j->mp;
    const trainopt__piece *p = &j->updates[i];
    const size_t t = j->done_tensor[p->tensor];
    const trainopt_precision tp = trainopt__pmpl_tensor(j, t, j->done_base[p->tensor]);
    void *const *copy = (void *const *)j->pr->copy;
    const float neg_scale = j->done_scale[p->tensor];
    trainopt__mpl_bufs bufs;
    double unused = 0.0;
    size_t at, n;
    for (at = 0; at < p->len; at += n) {
        const size_t e = p->offset + at;
        trainopt__lw_io io;
        n = p->len - at < TRAINOPT__MP_BLOCK ? p->len - at : TRAINOPT__MP_BLOCK;
        trainopt__mpl_load(m, &tp, t, e, n, &bufs, &io);
        if (m->op == TRAINOPT__LW_LAMB && tp.state_dtype != TRAINOPT_F32)
            trainopt__lw_norms_of(m->op, j->s, &io, n, j->scaled, NULL, m->has_wd, &unused, &unused);
        trainopt__lw_update_of(m->op, j->s, &io, n, neg_scale, j->scaled, m->has_wd, m->nesterov);
        if (tp.state_dtype != TRAINOPT_F32) {
            if (io.state0) trainopt__mp_narrow(m->state0[t], tp.state_dtype, io.state0, e, n);
            if (io.state1) trainopt__mp_narrow(m->state1[t], tp.state_dtype, io.state1, e, n);
        }
        if (copy) trainopt__mp_narrow(copy[t], tp.copy_dtype, io.param, e, n);
        if (tp.param_dtype != TRAINOPT_F32) trainopt__mp_param_out(&tp, &j->key, m->params[t], io.param, e, n);
    }
}

/* The fp32 pieces run each op's own loops (as trainopt__lw_call_run does). */
static void trainopt__plw_norms_task(void *arg, size_t i) {
    trainopt__plw_job *j = (trainopt__plw_job *)arg;
    if (j->mp) {
        trainopt__plw_norms_mp(j, i);
    } else if (j->m->op == TRAINOPT__LW_LAMB) {
        const trainopt__lw_scalars s = trainopt__lw_op_scalars(TRAINOPT__LW_LAMB, j->s);
        trainopt__plw_norms_f32(j, i, TRAINOPT__LW_LAMB, &s);
    } else {
        const trainopt__lw_scalars s = trainopt__lw_op_scalars(TRAINOPT__LW_LARS, j->s);
        trainopt__plw_norms_f32(j, i, TRAINOPT__LW_LARS, &s);
    }
}

static void trainopt__plw_update_task(void *arg, size_t i) {
    trainopt__plw_job *j = (trainopt__plw_job *)arg;
    if (j->mp) {
        trainopt__plw_update_mp(j, i);
    } else if (j->m->op == TRAINOPT__LW_LAMB) {
        const trainopt__lw_scalars s = trainopt__lw_op_scalars(TRAINOPT__LW_LAMB, j->s);
        trainopt__plw_update_f32(j, i, TRAINOPT__LW_LAMB, &s);
    } else {
        const trainopt__lw_scalars s = trainopt__lw_op_scalars(TRAINOPT__LW_LARS, j->s);
        trainopt__plw_update_f32(j, i, TRAINOPT__LW_LARS, &s);
    }
}

/* Both passes over a checked, not skipped list (k > 0) in rounds on the hook (the job's
   lists, scalars and base filled in); the count, when o asks for it, as
   TRAINOPT__RUN_STEP gives it. */
TRAINOPT__DRIVER void trainopt__plw_rounds(trainopt__plw_job *j, uint64_t offset, const trainopt_step_opts *o,
                                           const trainopt_threads *threads) {
    size_t t = 0, off = 0, count, i, b, bad = 0, next = 0;
    double p_sumsq = 0.0, u_sumsq = 0.0; /* the tensor in progress, carried across rounds */
    uint64_t base = offset;              /* (mp) tensor `next`'s place in the concatenated list */
    j->scaled = o != NULL && o->grad_scale != 1.0;
    j->counted = o != NULL;
    while ((count = trainopt__round_fill(j->pieces, TRAINOPT__SUM_ROUND, j->k, j->lens, sizeof *j->lens, &t, &off)) > 0) {
        size_t done = 0, d = 0, d_off = 0;
        trainopt__round_run(threads, count, trainopt__plw_norms_task, j);
        for (i = 0; i < count; i++) {
            const trainopt__piece *p = &j->pieces[i];
            if (p->offset == 0) p_sumsq = 0.0, u_sumsq = 0.0;
            for (b = 0; b * TRAINOPT__LW_BLOCK < p->len; b++) {
                p_sumsq += j->p_sums[i][b];
                u_sumsq += j->u_sums[i][b];
            }
            bad += j->nonfinite[i];
            if (p->offset + p->len == j->lens[p->tensor]) {
                for (; next < p->tensor; next++) base += j->lens[next];
                j->done_tensor[done] = p->tensor;
                j->done_base[done] = base;
                j->done_scale[done++] = trainopt__lw_neg_scale(p_sumsq, u_sumsq, j->lr, j->trust_coef, j->trust_eps);
            }
        }
        while (d < done) {
            size_t updates = 0;
            while (updates < TRAINOPT__STEP_ROUND && d < done) {
                const size_t n = j->lens[j->done_tensor[d]];
                trainopt__piece *u = &j->updates[updates++];
                u->tensor = d, u->offset = d_off;
                u->len = n - d_off < TRAINOPT_CHUNK ? n - d_off : TRAINOPT_CHUNK;
                d_off += u->len;
                if (d_off == n) d++, d_off = 0;
            }
            trainopt__round_run(threads, updates, trainopt__plw_update_task, j);
        }
    }
    if (o && o->nonfinite) *o->nonfinite = bad;
}

/* The fp32 lists of a checked call that is not skipped, on the hook. */
TRAINOPT__DRIVER void trainopt__plw_threaded(const trainopt__lw_call *m, const trainopt_step_opts *o,
                                             const trainopt_threads *threads) {
    trainopt__plw_job job;
    job.m = m, job.mp = NULL, job.pr = NULL, job.s = &m->s;
    job.k = m->k, job.lens = m->lens, job.lr = m->lr, job.trust_coef = m->trust_coef, job.trust_eps = m->trust_eps;
    trainopt__plw_rounds(&job, 0, o, threads);
}

/* A checked call that is not skipped: the serial loop without a hook, the rounds with one. */
TRAINOPT__DRIVER void trainopt__plw_run(const trainopt__lw_call *m, const trainopt_step_opts *o,
                                        const trainopt_threads *threads) {
    if (trainopt__has_hook(threads)) trainopt__plw_threaded(m, o, threads);
    else trainopt__lw_call_run(m, o);
}

/* trainopt_lamb_step_ex on the caller's threads: the same checks, the same bits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_lamb_step_mt(const trainopt_lamb_config *c, int64_t step, size_t k,
                                                           const size_t *lens, float *const *params, const float *const *grads,
                                                           float *const *exp_avgs, float *const *exp_avg_sqs,
                                                           const trainopt_step_opts *o, const trainopt_threads *threads) {
    trainopt__lw_call m;
    const trainopt_status st = trainopt__lamb_call_make(c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, o,
                                                        "trainopt_lamb_step_mt", &m);
    if (m.k) trainopt__plw_run(&m, o, threads);
    return st;
}

/* trainopt_lars_step_ex on the caller's threads: the same checks, the same bits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_lars_step_mt(const trainopt_lars_config *c, size_t k, const size_t *lens,
                                                           float *const *params, const float *const *grads,
                                                           float *const *momentum_bufs, const trainopt_step_opts *o,
                                                           const trainopt_threads *threads) {
    trainopt__lw_call m;
    const trainopt_status st =
        trainopt__lars_call_make(c, k, lens, params, grads, momentum_bufs, o, "trainopt_lars_step_mt", &m);
    if (m.k) trainopt__plw_run(&m, o, threads);
    return st;
}

/* The mixed-precision lists of a checked call (its descriptor not all fp32): found_inf's
   skip, then trainopt__mpl_run's passes without a hook, the rounds with one. */
TRAINOPT__DRIVER trainopt_status trainopt__pmpl_run(const trainopt__mpl_call *m, const trainopt_precision *pr,
                                                    const trainopt__lw_scalars *s, const trainopt_step_opts *o,
                                                    const trainopt_threads *threads) {
    trainopt__plw_job job;
    if (!trainopt__has_hook(threads) || m->k == 0 || (o && o->found_inf && *o->found_inf))
        return trainopt__mpl_run(m, pr, s, o);
    job.m = NULL, job.mp = m, job.pr = pr, job.s = s;
    trainopt__philox_key_seed(&job.key, pr->seed);
    job.k = m->k, job.lens = m->lens, job.lr = m->lr, job.trust_coef = m->trust_coef, job.trust_eps = m->trust_eps;
    trainopt__plw_rounds(&job, pr->offset, o, threads);
    return TRAINOPT_OK;
}

/* trainopt_lamb_step_mp on the caller's threads: the same checks, the same bits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_lamb_step_mp_mt(const trainopt_lamb_config *c, int64_t step, size_t k,
                                                              const size_t *lens, void *const *params,
                                                              const void *const *grads, void *const *exp_avgs,
                                                              void *const *exp_avg_sqs, const trainopt_precision *pr,
                                                              const trainopt_step_opts *o, const trainopt_threads *threads) {
    trainopt__mpl_call m;
    trainopt__lw_scalars s;
    const trainopt_status st = trainopt__lamb_mp_make(c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, pr, o,
                                                      "trainopt_lamb_step_mp_mt", &m, &s);
    if (st != TRAINOPT_OK) return st;
    if (trainopt__mpl_all_f32(pr))
        return trainopt_lamb_step_mt(c, step, k, lens, (float *const *)params, (const float *const *)grads,
                                     (float *const *)exp_avgs, (float *const *)exp_avg_sqs, o, threads);
    return trainopt__pmpl_run(&m, pr, &s, o, threads);
}

/* trainopt_lars_step_mp on the caller's threads: the same checks, the same bits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_lars_step_mp_mt(const trainopt_lars_config *c, size_t k, const size_t *lens,
                                                              void *const *params, const void *const *grads,
                                                              void *const *momentum_bufs, const trainopt_precision *pr,
                                                              const trainopt_step_opts *o, const trainopt_threads *threads) {
    trainopt__mpl_call m;
    trainopt__lw_scalars s;
    const trainopt_status st =
        trainopt__lars_mp_make(c, k, lens, params, grads, momentum_bufs, pr, o, "trainopt_lars_step_mp_mt", &m, &s);
    if (st != TRAINOPT_OK) return st;
    if (trainopt__mpl_all_f32(pr))
        return trainopt_lars_step_mt(c, k, lens, (float *const *)params, (const float *const *)grads,
                                     (float *const *)momentum_bufs, o, threads);
    return trainopt__pmpl_run(&m, pr, &s, o, threads);
}
