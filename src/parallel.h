/* >>parallel: multi-tensor steps and threaded reductions on the caller's parallel-for
   (trainopt_threads; manual: THREADS). Work is cut into pieces of at most TRAINOPT_CHUNK
   elements of one tensor, counted from the tensor's start, whatever the number of
   threads; a round of pieces goes to the parallel-for at a time (up to 256 for the steps,
   32 for the reductions, which keep 64 block sums per piece), so the bookkeeping lives on
   the stack: no allocation, no global state. Fewer rounds mean fewer joins of the
   caller's threads, which cost most on a loaded machine. Elementwise kernels give
   the same bits for any cut (the contract's section 3); the reductions keep one double
   per block of 256 elements and add them after the round in the serial order, so every
   result is the bits of the unthreaded call, whatever the threads and the task order. */

#define TRAINOPT__STEP_ROUND 256
#define TRAINOPT__SUM_ROUND 32
#define TRAINOPT__CHUNK_BLOCKS (TRAINOPT_CHUNK / TRAINOPT__SUM_BLOCK)

/* elements [offset, offset + len) of tensor `tensor` */
typedef struct {
    size_t tensor, offset, len;
} trainopt__piece;

/* The next round's pieces (at most max) from position (*t, *off) of a list of k tensors, advancing it;
   tensor t's length is the size_t at byte len0 + t * stride (a lens array, or the n of an
   array of trainopt_tensor). Returns how many (0: the list is done). */
TRAINOPT__FORCE_INLINE size_t trainopt__round_fill(trainopt__piece *pieces, size_t max, size_t k, const void *len0,
                                                   size_t stride, size_t *t, size_t *off) {
    size_t count = 0;
    while (count < max && *t < k) {
        size_t n;
        memcpy(&n, (const char *)len0 + *t * stride, sizeof n);
        if (*off >= n) {
            ++*t, *off = 0;
            continue;
        }
        pieces[count].tensor = *t;
        pieces[count].offset = *off;
        pieces[count].len = n - *off < TRAINOPT_CHUNK ? n - *off : TRAINOPT_CHUNK;
        *off += pieces[count++].len;
    }
    return count;
}

/* One round on the caller's threads, or in order on this one (no hook, or one piece). */
TRAINOPT__FORCE_INLINE void trainopt__round_run(const trainopt_threads *threads, size_t count, trainopt_task_fn task,
                                                void *arg) {
    size_t i;
    if (count > 1 && threads != NULL && threads->parallel_for != NULL) threads->parallel_for(threads->ctx, count, task, arg);
    else
        for (i = 0; i < count; i++) task(arg, i);
}

TRAINOPT__FORCE_INLINE int trainopt__has_hook(const trainopt_threads *threads) {
    return threads != NULL && threads->parallel_for != NULL;
}

/* ---- multi-tensor optimizer steps ---- */

/* An optimizer's fused per-tensor step with its states as an array (made per optimizer by
   TRAINOPT__MULTI_DEFINE below). */
typedef trainopt_status (*trainopt__tensor_step)(const void *c, int64_t step, size_t n, float *param, const float *grad,
                                                 float *const *state, const trainopt_step_opts *o);

typedef struct {
    trainopt__tensor_step run;
    const void *c;
    int64_t step;
    const trainopt_tensor *tensors;
    const trainopt_step_opts *o; /* the caller's options (found_inf already handled), or NULL */
    trainopt__piece pieces[TRAINOPT__STEP_ROUND];
    size_t nonfinite[TRAINOPT__STEP_ROUND]; /* per piece: integers, so their order does not matter */
} trainopt__multi_job;

/* Offsets every array of tensor t by off (NULL stays NULL). */
TRAINOPT__FORCE_INLINE void trainopt__states_at(const trainopt_tensor *t, size_t off, float **state) {
    int s;
    for (s = 0; s < TRAINOPT_MAX_STATES; s++) state[s] = t->state[s] ? t->state[s] + off : NULL;
}

static void trainopt__multi_task(void *arg, size_t i) {
    trainopt__multi_job *j = (trainopt__multi_job *)arg;
    const trainopt__piece *p = &j->pieces[i];
    const trainopt_tensor *t = &j->tensors[p->tensor];
    float *state[TRAINOPT_MAX_STATES];
    trainopt_step_opts o;
    trainopt__states_at(t, p->offset, state);
    if (j->o != NULL) {
        o = *j->o;
        o.nonfinite = &j->nonfinite[i];
    }
    /* validated for the whole list before the first write: cannot fail */
    (void)j->run(j->c, j->step, p->len, t->param + p->offset, t->grad + p->offset, state, j->o ? &o : NULL);
}

/* Restates the refusal of the per-tensor step (its text is "trainopt_x_step_ex: why") as
   fn's, naming the tensor. */
static trainopt_status trainopt__multi_refuse(trainopt_status st, const char *fn, size_t t) {
    char why[512];
    const char *text = trainopt_last_error(), *colon = strstr(text, ": ");
    snprintf(why, sizeof why, "%s", colon ? colon + 2 : text);
    if (t == (size_t)-1) return trainopt__once_fail(st, fn, "%s", why);
    return trainopt__once_fail(st, fn, "tensors[%zu]: %s", t, why);
}

/* The per-tensor step on one element of scratch, standing in for each array of
   (param, grad, state[0..]) that `present` marks: it refuses as the step would on a
   tensor with those arrays NULL, and writes only the scratch. */
static trainopt_status trainopt__multi_try(trainopt__tensor_step run, const void *c, int64_t step, int states,
                                           const trainopt_step_opts *one, const int *present) {
    float scratch[2 + TRAINOPT_MAX_STATES] = {0};
    float *state[TRAINOPT_MAX_STATES] = {NULL};
    int a;
    for (a = 0; a < states; a++) state[a] = present[2 + a] ? &scratch[2 + a] : NULL;
    return run(c, step, 1, present[0] ? &scratch[0] : NULL, present[1] ? &scratch[1] : NULL, state, one);
}

/* Validates the call and every tensor of the list before anything is written (also when
   found_inf skips the step, so a list is refused or accepted whatever the flag), then
   steps every tensor: whole, in order, without a hook (exactly the per-tensor calls); in
   pieces on the caller's threads with one. */
static trainopt_status trainopt__multi_run(trainopt__tensor_step run, const void *c, int64_t step, size_t k,
                                           const trainopt_tensor *tensors, int states, const trainopt_step_opts *o,
                                           const trainopt_threads *threads, const char *fn) {
    static const char *const state_names[] = {"state[0]", "state[1]", "state[2]", "state[3]"};
    float *none[TRAINOPT_MAX_STATES] = {NULL};
    trainopt_step_opts probe = TRAINOPT_STEP_OPTS_DEFAULTS, one;
    trainopt__multi_job job;
    trainopt_status st;
    size_t t, bad = 0, off = 0, count, i;
    int skip, a, all_ok, needed[2 + TRAINOPT_MAX_STATES], present[2 + TRAINOPT_MAX_STATES]; /* -1: not yet known */
    /* The config, the options and the step: the per-tensor step on no elements checks
       them (and nothing else). */
    if (o != NULL) probe = *o, probe.nonfinite = NULL;
    if ((st = run(c, step, 0, NULL, NULL, none, o ? &probe : NULL)) != TRAINOPT_OK)
        return trainopt__multi_refuse(st, fn, (size_t)-1);
    skip = o != NULL && o->found_inf != NULL && *o->found_inf != 0;
    probe.found_inf = NULL;
    one = probe;
    if (skip) one.grad_scale = 1.0; /* a skipped step accepts any scale */
    if (k > 0 && tensors == NULL) return trainopt__once_null(fn, "tensors");
    /* Which arrays this config needs is the optimizer's to say (its step on one element
       of scratch refuses as it would here), and the same for every tensor, since the
       config, step and options are shared: so the step with every array is tried once
       per call (at the first tensor that is not empty), and the step without array a
       once, the first time a tensor lacks it. A
       tensor then costs NULL and overlap tests; one that lacks a needed array is run
       through the step on scratch with its own arrays, which gives its refusal. Only
       the refusal path writes trainopt_last_error. */
    for (a = 0; a < 2 + states; a++) present[a] = 1, needed[a] = -1;
    all_ok = -1;
    for (t = 0; t < k; t++) {
        const trainopt_tensor *x = &tensors[t];
        const void *ptr[2 + TRAINOPT_MAX_STATES];
        const char *name[2 + TRAINOPT_MAX_STATES];
        int b, arrays = 2, refused, has[2 + TRAINOPT_MAX_STATES];
        if (x->n == 0) continue;
        if (x->n > SIZE_MAX / sizeof(float))
            return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "tensors[%zu].n = %zu: its size in bytes overflows size_t",
                                       t, x->n);
        if (all_ok < 0) all_ok = trainopt__multi_try(run, c, step, states, o ? &one : NULL, present) == TRAINOPT_OK;
        refused = !all_ok;
        has[0] = x->param != NULL, has[1] = x->grad != NULL;
        for (a = 0; a < states; a++) has[2 + a] = x->state[a] != NULL;
        for (a = 0; a < 2 + states && !refused; a++) {
            if (has[a]) continue;
            if (needed[a] < 0) {
                present[a] = 0;
                needed[a] = trainopt__multi_try(run, c, step, states, o ? &one : NULL, present) != TRAINOPT_OK;
                present[a] = 1;
            }
            refused = needed[a];
        }
        if (refused && (st = trainopt__multi_try(run, c, step, states, o ? &one : NULL, has)) != TRAINOPT_OK)
            return trainopt__multi_refuse(st, fn, t);
        ptr[0] = x->param, name[0] = "param";
        ptr[1] = x->grad, name[1] = "grad";
        for (a = 0; a < states; a++)
            if (x->state[a]) ptr[arrays] = x->state[a], name[arrays++] = state_names[a];
        for (a = 0; a < arrays; a++) {
            for (b = a + 1; b < arrays; b++)
                if (trainopt__overlap(ptr[a], x->n * sizeof(float), ptr[b], x->n * sizeof(float)))
                    return trainopt__once_fail(TRAINOPT_ERR_ALIAS, fn, "tensors[%zu].%s and tensors[%zu].%s overlap", t,
                                               name[a], t, name[b]);
            if (o && o->nonfinite && trainopt__overlap(o->nonfinite, sizeof *o->nonfinite, ptr[a], x->n * sizeof(float)))
                return trainopt__once_fail(TRAINOPT_ERR_ALIAS, fn, "o->nonfinite and tensors[%zu].%s overlap", t, name[a]);
        }
    }
    if (skip) { /* AMP's skip: the whole list */
        if (o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    if (!trainopt__has_hook(threads)) {
        for (t = 0; t < k; t++) {
            float *state[TRAINOPT_MAX_STATES];
            size_t piece_bad = 0;
            trainopt_step_opts whole = probe;
            whole.nonfinite = &piece_bad;
            trainopt__states_at(&tensors[t], 0, state);
            (void)run(c, step, tensors[t].n, tensors[t].param, tensors[t].grad, state, o ? &whole : NULL);
            bad += piece_bad;
        }
    } else if (k > 0) { /* (k == 0 may come with tensors NULL) */
        job.run = run, job.c = c, job.step = step, job.tensors = tensors, job.o = o ? &probe : NULL;
        t = 0;
        while ((count = trainopt__round_fill(job.pieces, TRAINOPT__STEP_ROUND, k, &tensors[0].n, sizeof *tensors, &t, &off)) > 0) {
            for (i = 0; i < count; i++) job.nonfinite[i] = 0;
            trainopt__round_run(threads, count, trainopt__multi_task, &job);
            for (i = 0; i < count; i++) bad += job.nonfinite[i];
        }
    }
    if (o && o->nonfinite) *o->nonfinite = bad;
    return TRAINOPT_OK;
}

/* Each optimizer's per-tensor adapter and trainopt_<name>_step_multi, from its line in
   TRAINOPT__MULTI_STEPS (src/api.h). Names made by pasting get the variant's prefix here,
   as tools/pack.sh gives the spelled-out ones (>>dispatch-names). */
#if defined(TRAINOPT__DISPATCHING)
#define TRAINOPT__GENERATED(name) TRAINOPT__PRIVATE(name)
#else
#define TRAINOPT__GENERATED(name) name
#endif
#define TRAINOPT__STATE_ARGS_1(s) s[0]
#define TRAINOPT__STATE_ARGS_2(s) s[0], s[1]
#define TRAINOPT__STATE_ARGS_3(s) s[0], s[1], s[2]
#define TRAINOPT__STATE_ARGS_4(s) s[0], s[1], s[2], s[3]
#define TRAINOPT__MULTI_DEFINE(X, name, config, states)                                                                   \
    static trainopt_status TRAINOPT__GENERATED(trainopt__tensor_##name)(const void *c, int64_t step, size_t n,         \
                                                                         float *param, const float *grad,             \
                                                                         float *const *s, const trainopt_step_opts *o) { \
        return trainopt_##name##_step_ex((const config *)c, step, n, param, grad, TRAINOPT__STATE_ARGS_##states(s), o);   \
    }                                                                                                                     \
    TRAINOPT__KERNEL_API trainopt_status trainopt_##name##_step_multi(const config *c, int64_t step, size_t k,            \
                                                                      const trainopt_tensor *tensors,                   \
                                                                      const trainopt_step_opts *o,                      \
                                                                      const trainopt_threads *threads) {                \
        return trainopt__multi_run(TRAINOPT__GENERATED(trainopt__tensor_##name), c, step, k, tensors, states, o, threads, \
                                   "trainopt_" #name "_step_multi");                                                     \
    }
TRAINOPT__MULTI_STEPS(TRAINOPT__MULTI_DEFINE, ~)

/* NAdam's step also takes mu_product, schedule-free AdamW's takes its state instead of a
   step number: the adapter finds them next to the config. */
typedef struct {
    const trainopt_nadam_config *c;
    double mu_product;
} trainopt__nadam_multi_args;

static trainopt_status trainopt__tensor_nadam(const void *c, int64_t step, size_t n, float *param, const float *grad,
                                              float *const *s, const trainopt_step_opts *o) {
    const trainopt__nadam_multi_args *a = (const trainopt__nadam_multi_args *)c;
    return trainopt_nadam_step_ex(a->c, step, a->mu_product, n, param, grad, s[0], s[1], o);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_nadam_step_multi(const trainopt_nadam_config *c, int64_t step,
                                                               double mu_product, size_t k, const trainopt_tensor *tensors,
                                                               const trainopt_step_opts *o,
                                                               const trainopt_threads *threads) {
    trainopt__nadam_multi_args a;
    a.c = c, a.mu_product = mu_product;
    return trainopt__multi_run(trainopt__tensor_nadam, &a, step, k, tensors, 2, o, threads, "trainopt_nadam_step_multi");
}

typedef struct {
    const trainopt_sfadamw_config *c;
    const trainopt_sfadamw_state *s;
} trainopt__sfadamw_multi_args;

/* (step is the multi-tensor driver's, always 1 here: the state's own step is checked by the step itself) */
static trainopt_status trainopt__tensor_sfadamw(const void *c, int64_t step, size_t n, float *param, const float *grad,
                                                float *const *s, const trainopt_step_opts *o) {
    const trainopt__sfadamw_multi_args *a = (const trainopt__sfadamw_multi_args *)c;
    (void)step;
    return trainopt_sfadamw_step_ex(a->c, a->s, n, param, grad, s[0], s[1], o);
}

/* A list is refused or accepted whatever found_inf says (as every _step_multi), so a
   state that was never advanced is refused here also when found_inf skips the step. */
TRAINOPT__KERNEL_API trainopt_status trainopt_sfadamw_step_multi(const trainopt_sfadamw_config *c,
                                                                 const trainopt_sfadamw_state *s, size_t k,
                                                                 const trainopt_tensor *tensors,
                                                                 const trainopt_step_opts *o,
                                                                 const trainopt_threads *threads) {
    trainopt__sfadamw_multi_args a;
    a.c = c, a.s = s;
    return trainopt__multi_run(trainopt__tensor_sfadamw, &a, 1, k, tensors, 2, o, threads, "trainopt_sfadamw_step_multi");
}

/* ---- threaded reductions: sum of squares, gradient norm, clipping ---- */

typedef struct {
    const float *const *xs;
    trainopt__piece pieces[TRAINOPT__SUM_ROUND];
    double sums[TRAINOPT__SUM_ROUND][TRAINOPT__CHUNK_BLOCKS]; /* each block's sum, as trainopt__sumsq_run makes it */
    size_t nonfinite[TRAINOPT__SUM_ROUND];
} trainopt__sumsq_job;

static void trainopt__sumsq_task(void *arg, size_t i) {
    trainopt__sumsq_job *j = (trainopt__sumsq_job *)arg;
    const trainopt__piece *p = &j->pieces[i];
    const float *x = j->xs[p->tensor] + p->offset;
    trainopt__red_args a;
    size_t b, bad = 0;
    a.y = NULL, a.out = NULL, a.scale = 0.0f;
    for (b = 0; b < p->len; b += TRAINOPT__SUM_BLOCK) {
        const size_t len = p->len - b < TRAINOPT__SUM_BLOCK ? p->len - b : TRAINOPT__SUM_BLOCK;
        double block = 0.0, unused = 0.0;
        a.x = x + b;
        trainopt__red_run(TRAINOPT__RED_SUMSQ, 0, 0, &a, len, &block, &unused);
        j->sums[i][b / TRAINOPT__SUM_BLOCK] = block;
        if (!trainopt__finite(block)) bad += trainopt__count_nonfinite(x + b, len);
    }
    j->nonfinite[i] = bad;
}

/* The canonical sum of squares of a list (trainopt_sum_squares' order): the blocks'
   sums are made on the threads and added here, in order. */
TRAINOPT__FORCE_INLINE void trainopt__sumsq_list(size_t k, const float *const *xs, const size_t *lens,
                                                 const trainopt_threads *threads, double *total, size_t *nonfinite) {
    trainopt__sumsq_job job;
    size_t t = 0, off = 0, count, i, b;
    if (!trainopt__has_hook(threads)) {
        for (t = 0; t < k; t++) trainopt__sumsq_run(xs[t], lens[t], total, nonfinite);
        return;
    }
    job.xs = xs;
    while ((count = trainopt__round_fill(job.pieces, TRAINOPT__SUM_ROUND, k, lens, sizeof *lens, &t, &off)) > 0) {
        trainopt__round_run(threads, count, trainopt__sumsq_task, &job);
        for (i = 0; i < count; i++) {
            for (b = 0; b * TRAINOPT__SUM_BLOCK < job.pieces[i].len; b++) *total += job.sums[i][b];
            *nonfinite += job.nonfinite[i];
        }
    }
}

typedef struct {
    float *const *grads;
    float coef;
    trainopt__piece pieces[TRAINOPT__STEP_ROUND];
} trainopt__scale_job;

static void trainopt__scale_task(void *arg, size_t i) {
    trainopt__scale_job *j = (trainopt__scale_job *)arg;
    const trainopt__piece *p = &j->pieces[i];
    trainopt__ew_loop(TRAINOPT__EW_SCALE, j->coef, p->len, j->grads[p->tensor] + p->offset, NULL);
}

/* trainopt_sum_squares on the caller's threads: the same checks, the same bits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_sum_squares_mt(size_t k, const float *const *xs, const size_t *lens,
                                                             double *sum, size_t *nonfinite,
                                                             const trainopt_threads *threads) {
    static const char fn[] = "trainopt_sum_squares_mt";
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0;
    if (k > 0 && sum == NULL) return trainopt__once_null(fn, "sum");
    if ((st = trainopt__check_tensors(k, (const void *const *)xs, lens, 0, sum, sizeof *sum, "sum", "xs", fn)) != TRAINOPT_OK)
        return st;
    if (nonfinite != NULL) {
        st = trainopt__check_tensors(k, (const void *const *)xs, lens, 0, nonfinite, sizeof *nonfinite, "nonfinite", "xs", fn);
        if (st != TRAINOPT_OK) return st;
        if (trainopt__overlap(nonfinite, sizeof *nonfinite, sum, sizeof *sum)) return trainopt__once_alias(fn, "nonfinite", "sum");
    }
    trainopt__sumsq_list(k, xs, lens, threads, &total, &bad);
    if (sum) *sum = total;
    if (nonfinite) *nonfinite = bad;
    return TRAINOPT_OK;
}

/* trainopt_grad_norm on the caller's threads: the same checks, the same bits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_grad_norm_mt(size_t k, float *const *grads, const size_t *lens,
                                                           float inv_scale, double max_norm, trainopt_grad_norm_info *info,
                                                           const trainopt_threads *threads) {
    static const char fn[] = "trainopt_grad_norm_mt";
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0;
    if (!trainopt__finite(inv_scale) || !(inv_scale > 0.0f))
        return trainopt__once_hparam(fn, "inv_scale", inv_scale, TRAINOPT__WHY_POS);
    if (!(max_norm >= 0.0)) return trainopt__once_hparam(fn, "max_norm", max_norm, "is not >= 0 (+Inf: no clipping)");
    if (info == NULL) return k == 0 ? TRAINOPT_OK : trainopt__once_null(fn, "info");
    if ((st = trainopt__check_tensors(k, (const void *const *)grads, lens, 0, info, sizeof *info, "info", "grads", fn)) !=
        TRAINOPT_OK)
        return st;
    trainopt__sumsq_list(k, (const float *const *)grads, lens, threads, &total, &bad);
    trainopt__norm_finish(total, bad, inv_scale, max_norm, info);
    return TRAINOPT_OK;
}

/* trainopt_clip_grad_norm on the caller's threads: the norm as trainopt_grad_norm_mt, then
   the scale in pieces. The same checks, the same bits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_clip_grad_norm_mt(size_t k, float *const *grads, const size_t *lens,
                                                                double max_norm, float *total_norm,
                                                                const trainopt_threads *threads) {
    static const char fn[] = "trainopt_clip_grad_norm_mt";
    trainopt_grad_norm_info info;
    trainopt__scale_job job;
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0, t = 0, off = 0, count;
    if (!(max_norm >= 0.0)) return trainopt__once_hparam(fn, "max_norm", max_norm, "is not >= 0 (+Inf: no clipping)");
    if ((st = trainopt__check_tensors(k, (const void *const *)grads, lens, 1, total_norm, total_norm ? sizeof(float) : 0,
                                      "total_norm", "grads", fn)) != TRAINOPT_OK)
        return st;
    trainopt__sumsq_list(k, (const float *const *)grads, lens, threads, &total, &bad);
    trainopt__norm_finish(total, bad, 1.0, max_norm, &info);
    if (total_norm) *total_norm = info.total_norm;
    if (info.clip_coef == 1.0f) return TRAINOPT_OK;
    job.grads = grads, job.coef = info.clip_coef;
    while ((count = trainopt__round_fill(job.pieces, TRAINOPT__STEP_ROUND, k, lens, sizeof *lens, &t, &off)) > 0)
        trainopt__round_run(threads, count, trainopt__scale_task, &job);
    return TRAINOPT_OK;
}

/* ---- threaded elementwise gradient utilities: clip_grad_value, grad_unscale ---- */

/* Pieces of TRAINOPT_CHUNK elements at multiples of TRAINOPT_CHUNK. Both are elementwise,
   so every cut gives the serial bits; grad_unscale's flag is made per piece and ORed on
   the calling thread after each round (it is only ever set, never cleared, as in the
   serial call), so no task writes the caller's found_inf. */
typedef struct {
    float *grad;
    float c; /* clip_value, or inv_scale */
    size_t n, first; /* the call's length; the round's first piece */
    int unscale;
    int bad[TRAINOPT__STEP_ROUND]; /* grad_unscale: per piece, whether it met an Inf or a NaN */
} trainopt__pgrad_job;

static void trainopt__pgrad_task(void *arg, size_t i) {
    trainopt__pgrad_job *j = (trainopt__pgrad_job *)arg;
    const size_t s = (j->first + i) * TRAINOPT_CHUNK, len = j->n - s < TRAINOPT_CHUNK ? j->n - s : TRAINOPT_CHUNK;
    if (j->unscale) j->bad[i] = trainopt__unscale_run(len, j->grad + s, j->c);
    else trainopt__ew_loop(TRAINOPT__EW_CLAMP, j->c, len, j->grad + s, NULL);
}

/* Runs every piece; returns whether any met an Inf or a NaN (grad_unscale). */
TRAINOPT__DRIVER int trainopt__pgrad_run(trainopt__pgrad_job *job, const trainopt_threads *threads) {
    const size_t pieces = (job->n + TRAINOPT_CHUNK - 1) / TRAINOPT_CHUNK;
    size_t round, i;
    int bad = 0;
    for (job->first = 0; job->first < pieces; job->first += round) {
        round = pieces - job->first < TRAINOPT__STEP_ROUND ? pieces - job->first : TRAINOPT__STEP_ROUND;
        for (i = 0; i < round; i++) job->bad[i] = 0;
        trainopt__round_run(threads, round, trainopt__pgrad_task, job);
        for (i = 0; i < round; i++) bad |= job->bad[i];
    }
    return bad;
}

/* trainopt_clip_grad_value on the caller's threads: the same checks, the same bits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_clip_grad_value_mt(size_t n, float *grad, double clip_value,
                                                                 const trainopt_threads *threads) {
    trainopt__pgrad_job job;
    const trainopt_status st = trainopt__clip_value_check(n, grad, clip_value, "trainopt_clip_grad_value_mt");
    if (st != TRAINOPT_OK || n == 0) return st;
    if (!trainopt__has_hook(threads)) {
        trainopt__ew_loop(TRAINOPT__EW_CLAMP, (float)clip_value, n, grad, NULL);
        return TRAINOPT_OK;
    }
    job.grad = grad, job.c = (float)clip_value, job.n = n, job.unscale = 0;
    (void)trainopt__pgrad_run(&job, threads);
    return TRAINOPT_OK;
}

/* trainopt_grad_unscale on the caller's threads: the same checks, the same bits, and
   *found_inf set to 1 (by the calling thread, after the pieces) exactly when the serial
   call sets it. */
TRAINOPT__KERNEL_API trainopt_status trainopt_grad_unscale_mt(size_t n, float *grad, float inv_scale, int *found_inf,
                                                              const trainopt_threads *threads) {
    trainopt__pgrad_job job;
    const trainopt_status st = trainopt__unscale_check(n, grad, inv_scale, found_inf, "trainopt_grad_unscale_mt");
    if (st != TRAINOPT_OK || n == 0) return st;
    if (!trainopt__has_hook(threads)) {
        if (trainopt__unscale_run(n, grad, inv_scale)) *found_inf = 1;
        return TRAINOPT_OK;
    }
    job.grad = grad, job.c = inv_scale, job.n = n, job.unscale = 1;
    if (trainopt__pgrad_run(&job, threads)) *found_inf = 1;
    return TRAINOPT_OK;
}
