/* >>mixed-adafactor: trainopt_adafactor_step_mp. Adafactor is no elementwise step (its
   row and column means, the RMS of p and of u are reductions over the whole parameter),
   so the block driver of >>mixed does not fit: its own passes (>>adafactor) read g, p and
   the unfactored V through trainopt__af_mp, which widens a piece of at most
   TRAINOPT__AF_TILE elements into a buffer with the driver's helpers and rounds the
   updated piece back with them. Every pass visits every element once in its canonical
   order whatever the pieces, so the bits are the fp32 kernel's on the widened inputs,
   followed by the rounding of >>mixed (the manual's MIXED-PRECISION STEPS). The factors
   row_var and col_var stay fp32 in every mode: rows + cols floats, a vanishing part of
   the state, read in every sweep, and no scratch memory to widen them into; the state
   dtype applies to the unfactored variance (as large as the parameter). */

struct trainopt__af_mp {
    const trainopt_precision *pr;
    trainopt__philox_key key; /* stochastic rounding: (pr->seed, pr->offset + i) */
    void *param;
    const void *grad;
    void *variance;
    float g[TRAINOPT__AF_TILE], p[TRAINOPT__AF_TILE], v[TRAINOPT__AF_TILE]; /* 48 KB of stack */
};

static const float *trainopt__af_mp_grad(trainopt__af_mp *mp, size_t at, size_t len) {
    if (mp->pr->grad_dtype == TRAINOPT_F32) return (const float *)mp->grad + at;
    trainopt__mp_widen(mp->g, mp->grad, mp->pr->grad_dtype, at, len);
    return mp->g;
}

static float *trainopt__af_mp_param(trainopt__af_mp *mp, size_t at, size_t len) {
    if (mp->pr->param_dtype == TRAINOPT_F32) return (float *)mp->param + at;
    trainopt__mp_param_in(mp->pr, mp->p, mp->param, at, len);
    return mp->p;
}

/* The updated piece (in place in fp32 parameters, else in the buffer): the copy, then the
   parameter's rounding. */
static void trainopt__af_mp_param_out(trainopt__af_mp *mp, size_t at, size_t len) {
    const trainopt_precision *pr;
    const float *q;
    /* Never NULL here (the passes call it only with mp set), but gcc 12 at -O2 clones it for
       the fp32 step's dead calls with mp NULL and then warns (-Warray-bounds) about &mp->key. */
    if (mp == NULL) return;
    pr = mp->pr;
    q = pr->param_dtype == TRAINOPT_F32 ? (const float *)mp->param + at : mp->p;
    if (pr->copy) trainopt__mp_narrow(pr->copy, pr->copy_dtype, q, at, len);
    if (pr->param_dtype != TRAINOPT_F32) trainopt__mp_param_out(pr, &mp->key, mp->param, q, at, len);
}

static float *trainopt__af_mp_var(trainopt__af_mp *mp, size_t at, size_t len) {
    if (mp->pr->state_dtype == TRAINOPT_F32) return (float *)mp->variance + at;
    trainopt__mp_widen(mp->v, mp->variance, mp->pr->state_dtype, at, len);
    return mp->v;
}

static int trainopt__af_mp_var_narrow(const trainopt__af_mp *mp) { return mp->pr->state_dtype != TRAINOPT_F32; }

static void trainopt__af_mp_var_out(trainopt__af_mp *mp, size_t at, size_t len) {
    trainopt__mp_narrow(mp->variance, mp->pr->state_dtype, mp->v, at, len);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adafactor_step_mp(const trainopt_adafactor_config *c, int64_t step, size_t rows,
                                                                size_t cols, void *param, const void *grad, float *row_var,
                                                                float *col_var, void *variance, const trainopt_precision *pr,
                                                                const trainopt_step_opts *o) {
    static const char fn[] = "trainopt_adafactor_step_mp";
    static const char *const names[] = {"variance"};
    void *const states[] = {variance};
    const void *const factors[] = {row_var, col_var};
    static const char *const factor_names[] = {"row_var", "col_var"};
    trainopt__af_mp mp;
    trainopt__mp_call m;
    trainopt_status st;
    int a, b;
    if (cols != 0 && rows > SIZE_MAX / sizeof(float) / cols)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "rows * cols = %zu * %zu: its size in bytes overflows size_t", rows,
                                   cols);
    memset(&m, 0, sizeof m);
    m.n = rows * cols, m.param = param, m.grad = grad;
    m.states = states, m.nstates = 1, m.state_names = names, m.name = fn;
    if ((st = trainopt__mp_check(&m, pr, o)) != TRAINOPT_OK) return st;
    if (pr->param_dtype == TRAINOPT_F32 && pr->grad_dtype == TRAINOPT_F32 && pr->state_dtype == TRAINOPT_F32 && pr->copy == NULL)
        return trainopt__adafactor_run(c, step, rows, cols, (float *)param, (const float *)grad, row_var, col_var,
                                       (float *)variance, o, fn, NULL);
    if (m.n != 0) { /* the factors (floats) against every array of its own size, and each other */
        const void *ptr[5] = {param, grad, variance, pr->param_aux, pr->copy};
        static const char *const ptr_names[5] = {"param", "grad", "variance", "pr->param_aux", "pr->copy"};
        const size_t bytes[5] = {m.n * trainopt__dtype_size(pr->param_dtype), m.n * trainopt__dtype_size(pr->grad_dtype),
                                 m.n * trainopt__dtype_size(pr->state_dtype), m.n * trainopt__dtype_size(pr->param_dtype),
                                 m.n * trainopt__dtype_size(pr->copy_dtype)};
        const size_t fbytes[2] = {rows * sizeof(float), cols * sizeof(float)};
        for (a = 0; a < 2; a++) {
            if (factors[a] == NULL) continue;
            for (b = 0; b < 5; b++)
                if (ptr[b] && trainopt__overlap(factors[a], fbytes[a], ptr[b], bytes[b]))
                    return trainopt__once_alias(fn, factor_names[a], ptr_names[b]);
            if (o && o->nonfinite && trainopt__overlap(o->nonfinite, sizeof *o->nonfinite, factors[a], fbytes[a]))
                return trainopt__once_alias(fn, "o->nonfinite", factor_names[a]);
        }
        if (row_var && col_var && trainopt__overlap(row_var, fbytes[0], col_var, fbytes[1]))
            return trainopt__once_alias(fn, "row_var", "col_var");
    }
    mp.pr = pr, mp.param = param, mp.grad = grad, mp.variance = variance;
    trainopt__philox_key_seed(&mp.key, pr->seed);
    return trainopt__adafactor_run(c, step, rows, cols, (float *)param, (const float *)grad, row_var, col_var, (float *)variance,
                                   o, fn, &mp);
}
