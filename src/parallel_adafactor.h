/* >>parallel-adafactor: trainopt_adafactor_step_multi, a list of Adafactor steps on the
   caller's threads (trainopt_threads; manual: THREADS). A tensor's factored step reduces
   over all of it (row and column means, the RMS of the parameter and of the update)
   before it writes anything, so a tensor is not cut: each is one task, stepped whole by
   trainopt_adafactor_step_ex, and the tensors of a list are independent. So the result is
   the bits of the per-tensor calls, whatever the threads and the task order; the gain is
   across tensors (a model's many weight matrices), none within one. */

/* Every tensor of the list checked as trainopt_adafactor_step_ex checks it, before any is
   stepped, with the error naming tensors[t]. */
static trainopt_status trainopt__afm_check(size_t t, const trainopt_adafactor_tensor *x, const trainopt_step_opts *o,
                                           const char *fn) {
    const void *ptr[5];
    const char *name[5];
    size_t len[5];
    int count = 0, a, b;
    size_t n;
    if (x->cols != 0 && x->rows > SIZE_MAX / sizeof(float) / x->cols)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "tensors[%zu]: rows * cols = %zu * %zu: its size in bytes overflows size_t",
                                   t, x->rows, x->cols);
    n = x->rows * x->cols;
    if (n == 0) return TRAINOPT_OK;
    if (x->param == NULL) return trainopt__once_fail(TRAINOPT_ERR_NULL, fn, "tensors[%zu].param is NULL", t);
    if (x->grad == NULL) return trainopt__once_fail(TRAINOPT_ERR_NULL, fn, "tensors[%zu].grad is NULL", t);
    if (x->variance == NULL && (x->row_var == NULL || x->col_var == NULL))
        return trainopt__once_fail(TRAINOPT_ERR_NULL, fn, "tensors[%zu].%s is NULL (factored; or pass variance for an unfactored step)",
                                   t, x->row_var == NULL ? "row_var" : "col_var");
    if (x->variance != NULL && (x->row_var != NULL || x->col_var != NULL))
        return trainopt__once_fail(TRAINOPT_ERR_ALIAS, fn,
                                   "tensors[%zu]: variance and row_var/col_var both given: factored takes row_var and col_var, "
                                   "unfactored variance, never both", t);
    ptr[count] = x->param, name[count] = "param", len[count++] = n;
    ptr[count] = x->grad, name[count] = "grad", len[count++] = n;
    if (x->variance) {
        ptr[count] = x->variance, name[count] = "variance", len[count++] = n;
    } else {
        ptr[count] = x->row_var, name[count] = "row_var", len[count++] = x->rows;
        ptr[count] = x->col_var, name[count] = "col_var", len[count++] = x->cols;
    }
    for (a = 0; a < count; a++) {
        for (b = a + 1; b < count; b++)
            if (trainopt__overlap(ptr[a], len[a] * sizeof(float), ptr[b], len[b] * sizeof(float)))
                return trainopt__once_fail(TRAINOPT_ERR_ALIAS, fn, "tensors[%zu].%s and tensors[%zu].%s overlap", t, name[a],
                                           t, name[b]);
        if (o && o->nonfinite && trainopt__overlap(o->nonfinite, sizeof *o->nonfinite, ptr[a], len[a] * sizeof(float)))
            return trainopt__once_fail(TRAINOPT_ERR_ALIAS, fn, "o->nonfinite and tensors[%zu].%s overlap", t, name[a]);
    }
    return TRAINOPT_OK;
}

typedef struct {
    const trainopt_adafactor_config *c;
    int64_t step;
    const trainopt_adafactor_tensor *tensors;
    const trainopt_step_opts *o; /* the caller's options without found_inf and nonfinite, or NULL */
    size_t first;                /* the round's first tensor */
    size_t nonfinite[TRAINOPT__STEP_ROUND];
} trainopt__afm_job;

static void trainopt__afm_task(void *arg, size_t i) {
    trainopt__afm_job *j = (trainopt__afm_job *)arg;
    const trainopt_adafactor_tensor *x = &j->tensors[j->first + i];
    trainopt_step_opts one;
    j->nonfinite[i] = 0;
    if (j->o) one = *j->o, one.nonfinite = &j->nonfinite[i];
    (void)trainopt_adafactor_step_ex(j->c, j->step, x->rows, x->cols, x->param, x->grad, x->row_var, x->col_var,
                                     x->variance, j->o ? &one : NULL); /* checked: cannot refuse */
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adafactor_step_multi(const trainopt_adafactor_config *c, int64_t step, size_t k,
                                                                   const trainopt_adafactor_tensor *tensors,
                                                                   const trainopt_step_opts *o,
                                                                   const trainopt_threads *threads) {
    static const char fn[] = "trainopt_adafactor_step_multi";
    trainopt_step_opts probe = TRAINOPT_STEP_OPTS_DEFAULTS;
    trainopt__afm_job job;
    trainopt_status st;
    size_t t, round, i, bad = 0;
    int skip;
    /* The config, the options and the step: the per-tensor step on no elements checks them. */
    if (o != NULL) probe = *o, probe.nonfinite = NULL;
    if ((st = trainopt_adafactor_step_ex(c, step, 0, 0, NULL, NULL, NULL, NULL, NULL, o ? &probe : NULL)) != TRAINOPT_OK)
        return trainopt__multi_refuse(st, fn, (size_t)-1); /* the step's reason, under this name */
    if (k > 0 && tensors == NULL) return trainopt__once_null(fn, "tensors");
    for (t = 0; t < k; t++)
        if ((st = trainopt__afm_check(t, &tensors[t], o, fn)) != TRAINOPT_OK) return st;
    skip = o != NULL && o->found_inf != NULL && *o->found_inf != 0;
    if (skip || k == 0) { /* AMP's skip: the whole list */
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    probe.found_inf = NULL;
    job.c = c, job.step = step, job.tensors = tensors, job.o = o ? &probe : NULL;
    for (job.first = 0; job.first < k; job.first += round) {
        round = k - job.first < TRAINOPT__STEP_ROUND ? k - job.first : TRAINOPT__STEP_ROUND;
        trainopt__round_run(threads, round, trainopt__afm_task, &job);
        for (i = 0; i < round; i++) bad += job.nonfinite[i];
    }
    if (o && o->nonfinite) *o->nonfinite = bad;
    return TRAINOPT_OK;
}
