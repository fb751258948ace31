/* >>parallel-mixed: the multi-tensor mixed-precision steps, trainopt_<opt>_step_mp_multi
   (manual: THREADS, MIXED PRECISION): a list of trainopt_tensor_mp in the formats of one
   trainopt_precision, on the caller's parallel-for. Every piece (>>parallel's pieces of at
   most TRAINOPT_CHUNK elements of one tensor) is one call of the optimizer's own _step_mp
   on its range, with that range's param_aux, copy and stochastic offset; the _mp steps
   are elementwise and their rounding words keyed by the element's place, so the bits are
   those of one _step_mp per tensor (with offset advanced by the elements before it),
   whatever the threads and the task order. Without a hook each tensor is one whole call,
   in order: exactly those calls. */

/* An optimizer's _step_mp with its states as an array (made per optimizer below). */
typedef trainopt_status (*trainopt__mp_tensor_step)(const void *c, int64_t step, size_t n, void *param, const void *grad,
                                                    void *const *state, const trainopt_precision *pr,
                                                    const trainopt_step_opts *o);

/* The descriptor of elements [off, off + n) of tensor t: its param_aux and copy at off,
   and the stochastic offset of its first element, `before` counting the list's elements
   ahead of tensor t. */
TRAINOPT__FORCE_INLINE trainopt_precision trainopt__mpm_range(const trainopt_precision *pr, size_t t, size_t off,
                                                              uint64_t before) {
    void *const *aux = (void *const *)pr->param_aux, *const *copy = (void *const *)pr->copy;
    trainopt_precision r = *pr;
    r.param_aux = aux && aux[t] ? (char *)aux[t] + off * trainopt__dtype_size(pr->param_dtype) : NULL;
    r.copy = copy && copy[t] ? (char *)copy[t] + off * trainopt__dtype_size(pr->copy_dtype) : NULL;
    r.offset = pr->offset + before + off;
    return r;
}

/* Calls the step on elements [off, off + n) of tensor x. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__mpm_call(trainopt__mp_tensor_step run, const void *c, int64_t step,
                                                          const trainopt_tensor_mp *x, size_t off, size_t n,
                                                          const trainopt_precision *range, int states,
                                                          const trainopt_step_opts *o) {
    void *state[TRAINOPT_MAX_STATES] = {NULL, NULL, NULL, NULL};
    const size_t ss = trainopt__dtype_size(range->state_dtype);
    int s;
    for (s = 0; s < states; s++) state[s] = x->state[s] ? (char *)x->state[s] + off * ss : NULL;
    return run(c, step, n, (char *)x->param + off * trainopt__dtype_size(range->param_dtype),
               (const char *)x->grad + off * trainopt__dtype_size(range->grad_dtype), state, range, o);
}

typedef struct {
    trainopt__mp_tensor_step run;
    const void *c;
    int64_t step;
    const trainopt_tensor_mp *tensors;
    const trainopt_precision *pr;
    int states;
    const trainopt_step_opts *o; /* the caller's options (found_inf already handled), or NULL */
    trainopt__piece pieces[TRAINOPT__STEP_ROUND];
    uint64_t before[TRAINOPT__STEP_ROUND];  /* per piece: the list's elements ahead of its tensor */
    size_t nonfinite[TRAINOPT__STEP_ROUND]; /* per piece: integers, so their order does not matter */
} trainopt__mpm_job;

static void trainopt__mpm_task(void *arg, size_t i) {
    trainopt__mpm_job *j = (trainopt__mpm_job *)arg;
    const trainopt__piece *p = &j->pieces[i];
    const trainopt_precision range = trainopt__mpm_range(j->pr, p->tensor, p->offset, j->before[i]);
    trainopt_step_opts o;
    if (j->o != NULL) {
        o = *j->o;
        o.nonfinite = &j->nonfinite[i];
    }
    /* validated for the whole list before the first write: cannot fail */
    (void)trainopt__mpm_call(j->run, j->c, j->step, &j->tensors[p->tensor], p->offset, p->len, &range, j->states,
                             j->o ? &o : NULL);
}

/* The step on one element of scratch with tensor t's formats and the state arrays that
   `present` marks (bit s: state s given): it refuses as the step would on that tensor
   (a state the config needs is NULL), and writes only the scratch. */
static trainopt_status trainopt__mpm_try(trainopt__mp_tensor_step run, const void *c, int64_t step, int states,
                                         const trainopt_precision *pr, const trainopt_step_opts *one, unsigned present) {
    float scratch[4 + TRAINOPT_MAX_STATES] = {0};
    void *aux = &scratch[2], *copy = &scratch[3];
    trainopt_tensor_mp x;
    trainopt_precision r = *pr;
    int s;
    memset(&x, 0, sizeof x);
    x.param = &scratch[0], x.grad = &scratch[1], x.n = 1;
    for (s = 0; s < states; s++) x.state[s] = present >> s & 1u ? &scratch[4 + s] : NULL;
    r.param_aux = r.param_aux ? aux : NULL;
    r.copy = r.copy ? copy : NULL;
    return trainopt__mpm_call(run, c, step, &x, 0, 1, &r, states, one);
}

/* Validates the call and every tensor of the list before anything is written (also when
   found_inf skips the step), then steps every tensor: whole, in order, without a hook; in
   pieces on the caller's threads with one. Arrays of different tensors are not compared
   (as the fp32 _step_multi): a list that shares memory between tensors races. */
static trainopt_status trainopt__mpm_run(trainopt__mp_tensor_step run, const void *c, int64_t step, size_t k,
                                         const trainopt_tensor_mp *tensors, int states, const char *const *state_names,
                                         const trainopt_precision *pr, const trainopt_step_opts *o,
                                         const trainopt_threads *threads, const char *fn) {
    trainopt_step_opts probe = TRAINOPT_STEP_OPTS_DEFAULTS, one;
    trainopt_status st;
    trainopt__mpm_job job;
    trainopt__mp_call m;
    signed char verdict[1u << TRAINOPT_MAX_STATES]; /* per set of given states: -1 unknown, 0 accepted, 1 refused */
    uint64_t before = 0;
    size_t t, off = 0, count, i, bad = 0;
    unsigned present;
    int skip, s;
    /* The descriptor, the config, the step and the options: the per-tensor step on no
       elements checks them (and nothing else; param_aux and copy only for NULL). */
    if (o != NULL) probe = *o, probe.nonfinite = NULL;
    if ((st = run(c, step, 0, NULL, NULL, NULL, pr, o ? &probe : NULL)) != TRAINOPT_OK)
        return trainopt__multi_refuse(st, fn, (size_t)-1);
    skip = o != NULL && o->found_inf != NULL && *o->found_inf != 0;
    probe.found_inf = NULL;
    one = probe;
    if (skip) one.grad_scale = 1.0; /* a skipped step accepts any scale */
    if (k > 0 && tensors == NULL) return trainopt__once_null(fn, "tensors");
    memset(verdict, -1, sizeof verdict);
    memset(&m, 0, sizeof m);
    m.nstates = states, m.state_names = state_names, m.name = fn;
    for (t = 0; t < k; t++) {
        const trainopt_tensor_mp *x = &tensors[t];
        trainopt_precision r;
        if (x->n == 0) continue;
        if ((pr->param_mode == TRAINOPT_PARAM_KAHAN || pr->param_mode == TRAINOPT_PARAM_SPLIT) && pr->param_aux == NULL)
            return trainopt__once_null(fn, "pr->param_aux (needed: Kahan or split parameters; an array of k arrays)");
        r = trainopt__mpm_range(pr, t, 0, 0);
        if (pr->copy != NULL && r.copy == NULL)
            return trainopt__once_fail(TRAINOPT_ERR_NULL, fn, "pr->copy[%zu] is NULL (tensors[%zu].n = %zu)", t, t, x->n);
        /* its arrays: NULL, sizes, and no two of them (nor o->nonfinite) sharing bytes */
        m.n = x->n, m.param = x->param, m.grad = x->grad, m.states = x->state;
        if ((st = trainopt__mp_check(&m, &r, o)) != TRAINOPT_OK) return trainopt__multi_refuse(st, fn, t);
        /* the states this config needs: the step on scratch, once per set of given states */
        present = 0;
        for (s = 0; s < states; s++) present |= (unsigned)(x->state[s] != NULL) << s;
        if (verdict[present] < 0) verdict[present] = trainopt__mpm_try(run, c, step, states, pr, &one, present) != TRAINOPT_OK;
        if (verdict[present] && (st = trainopt__mpm_try(run, c, step, states, pr, &one, present)) != TRAINOPT_OK)
            return trainopt__multi_refuse(st, fn, t);
    }
    if (skip) { /* AMP's skip: the whole list */
        if (o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    if (!trainopt__has_hook(threads)) {
        for (t = 0; t < k; before += tensors[t].n, t++) {
            const trainopt_precision r = trainopt__mpm_range(pr, t, 0, before);
            size_t tensor_bad = 0;
            trainopt_step_opts whole = probe;
            if (tensors[t].n == 0) continue;
            whole.nonfinite = &tensor_bad;
            (void)trainopt__mpm_call(run, c, step, &tensors[t], 0, tensors[t].n, &r, states, o ? &whole : NULL);
            bad += tensor_bad;
        }
    } else if (k > 0) { /* (k == 0 may come with tensors NULL) */
        size_t at = 0; /* the tensor `before` counts up to */
        job.run = run, job.c = c, job.step = step, job.tensors = tensors, job.pr = pr, job.states = states;
        job.o = o ? &probe : NULL;
        t = 0;
        while ((count = trainopt__round_fill(job.pieces, TRAINOPT__STEP_ROUND, k, &tensors[0].n, sizeof *tensors, &t, &off)) > 0) {
            for (i = 0; i < count; i++) {
                for (; at < job.pieces[i].tensor; at++) before += tensors[at].n;
                job.before[i] = before;
                job.nonfinite[i] = 0;
            }
            trainopt__round_run(threads, count, trainopt__mpm_task, &job);
            for (i = 0; i < count; i++) bad += job.nonfinite[i];
        }
    }
    if (o && o->nonfinite) *o->nonfinite = bad;
    return TRAINOPT_OK;
}

/* Each optimizer's adapter and trainopt_<name>_step_mp_multi, from its line in
   TRAINOPT__MULTI_STEPS (src/api.h); the state names are those of trainopt_tensor_mp's
   entries (TRAINOPT__GENERATED: >>parallel's prefix for pasted names). */
static const char *const trainopt__mpm_state_names[] = {"state[0]", "state[1]", "state[2]", "state[3]"};
#define TRAINOPT__MP_MULTI_DEFINE(X, name, config, states)                                                                 \
    static trainopt_status TRAINOPT__GENERATED(trainopt__mp_tensor_##name)(const void *c, int64_t step, size_t n,        \
                                                                            void *param, const void *grad,              \
                                                                            void *const *s, const trainopt_precision *pr, \
                                                                            const trainopt_step_opts *o) {               \
        void *const none[TRAINOPT_MAX_STATES] = {NULL, NULL, NULL, NULL};                                               \
        if (s == NULL) s = none;                                                                                          \
        return trainopt_##name##_step_mp((const config *)c, step, n, param, grad, TRAINOPT__STATE_ARGS_##states(s), pr, o); \
    }                                                                                                                     \
    TRAINOPT__KERNEL_API trainopt_status trainopt_##name##_step_mp_multi(                                                \
        const config *c, int64_t step, size_t k, const trainopt_tensor_mp *tensors, const trainopt_precision *pr,       \
        const trainopt_step_opts *o, const trainopt_threads *threads) {                                                  \
        if (pr == NULL) return trainopt__once_null("trainopt_" #name "_step_mp_multi", "pr (the precision descriptor)"); \
        return trainopt__mpm_run(TRAINOPT__GENERATED(trainopt__mp_tensor_##name), c, step, k, tensors, states,           \
                                 trainopt__mpm_state_names, pr, o, threads, "trainopt_" #name "_step_mp_multi");         \
    }
TRAINOPT__MULTI_STEPS(TRAINOPT__MP_MULTI_DEFINE, ~)
#undef TRAINOPT__MP_MULTI_DEFINE

/* NAdam's mu_product and schedule-free AdamW's state, next to the config (as >>parallel's
   _step_multi find them: trainopt__nadam_multi_args, trainopt__sfadamw_multi_args). */
static trainopt_status trainopt__mp_tensor_nadam(const void *c, int64_t step, size_t n, void *param, const void *grad,
                                                 void *const *s, const trainopt_precision *pr, const trainopt_step_opts *o) {
    const trainopt__nadam_multi_args *a = (const trainopt__nadam_multi_args *)c;
    return trainopt_nadam_step_mp(a->c, step, a->mu_product, n, param, grad, s ? s[0] : NULL, s ? s[1] : NULL, pr, o);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_nadam_step_mp_multi(const trainopt_nadam_config *c, int64_t step,
                                                                  double mu_product, size_t k,
                                                                  const trainopt_tensor_mp *tensors,
                                                                  const trainopt_precision *pr, const trainopt_step_opts *o,
                                                                  const trainopt_threads *threads) {
    trainopt__nadam_multi_args a;
    if (pr == NULL) return trainopt__once_null("trainopt_nadam_step_mp_multi", "pr (the precision descriptor)");
    a.c = c, a.mu_product = mu_product;
    return trainopt__mpm_run(trainopt__mp_tensor_nadam, &a, step, k, tensors, 2, trainopt__mpm_state_names, pr, o, threads,
                             "trainopt_nadam_step_mp_multi");
}

/* (step is the driver's, unused: the state's own step is checked by the step itself) */
static trainopt_status trainopt__mp_tensor_sfadamw(const void *c, int64_t step, size_t n, void *param, const void *grad,
                                                   void *const *s, const trainopt_precision *pr,
                                                   const trainopt_step_opts *o) {
    const trainopt__sfadamw_multi_args *a = (const trainopt__sfadamw_multi_args *)c;
    (void)step;
    return trainopt_sfadamw_step_mp(a->c, a->s, n, param, grad, s ? s[0] : NULL, s ? s[1] : NULL, pr, o);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_sfadamw_step_mp_multi(const trainopt_sfadamw_config *c,
                                                                    const trainopt_sfadamw_state *s, size_t k,
                                                                    const trainopt_tensor_mp *tensors,
                                                                    const trainopt_precision *pr,
                                                                    const trainopt_step_opts *o,
                                                                    const trainopt_threads *threads) {
    trainopt__sfadamw_multi_args a;
    if (pr == NULL) return trainopt__once_null("trainopt_sfadamw_step_mp_multi", "pr (the precision descriptor)");
    a.c = c, a.s = s;
    return trainopt__mpm_run(trainopt__mp_tensor_sfadamw, &a, 1, k, tensors, 2, trainopt__mpm_state_names, pr, o, threads,
                             "trainopt_sfadamw_step_mp_multi");
}
