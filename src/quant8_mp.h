/* >>quant8-mp: the 8-bit steps with bf16/fp16 parameters and gradients,
   trainopt_<opt>8bit_step_mp (manual: QUANT8). The arguments of the _ex step, with param
   and grad in the formats of a trainopt_precision (>>api-mixed): every parameter mode
   (nearest, stochastic, Kahan, split), an optional bf16/fp16 copy; the states are the
   8-bit codes and absmax as they are, so pr->state_dtype is TRAINOPT_F32 and nothing else.
   A block at a time: the mixed-precision driver's own helpers (>>mixed) widen its
   parameters and gradients into a scratch that stays in L1, the 8-bit step's block loops
   run on it (>>quant8), and the same helpers round the parameters back and write the
   copy. So each step is, bit for bit, the fp32-parameter 8-bit step on the widened inputs
   followed by the rounding of every other _mp step; blocks are whole vectors and whole
   generator groups (64 elements at least), so chunking changes no bit. */

/* Elements per chunk: one block. Chunks of 1024 (four blocks of 256) measured slower at
   16M, the same bits (bench/RESULTS.md: 16M AdamW bf16, 5.10 -> 4.45 ns/element min at
   load 10). */
#define TRAINOPT__Q8_MP_CHUNK(block) ((size_t)(block))

/* An 8-bit step's block loops on the chunk of n elements from element off (a block
   boundary): param and grad the chunk's, in fp32; args the step's own (states, scalars). */
typedef void (*trainopt__q8_mp_loops)(const void *args, size_t off, size_t n, float *param, const float *grad,
                                      const trainopt_step_opts *o);

/* The descriptor's checks (the _mp driver's own: pr, then param, grad, param_aux and copy
   against each other and the count output), then the one thing the 8-bit steps add: their
   states have no other format. *fp32: param and grad fp32 and no copy, so the step is the
   plain 8-bit one. */
TRAINOPT__DRIVER trainopt_status trainopt__q8_mp_check(const trainopt_precision *pr, size_t n, void *param, const void *grad,
                                                       const trainopt_step_opts *o, int *fp32, const char *fn) {
    trainopt__mp_call m;
    trainopt_status st;
    memset(&m, 0, sizeof m);
    m.n = n, m.param = param, m.grad = grad, m.nstates = 0, m.name = fn;
    *fp32 = 0;
    if ((st = trainopt__mp_check(&m, pr, o)) != TRAINOPT_OK) return st;
    if (pr->state_dtype != TRAINOPT_F32)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "pr->state_dtype = %d: the 8-bit states are codes and absmax, "
                                                            "never bf16; it must be TRAINOPT_F32 (the states as they are)",
                                   (int)pr->state_dtype);
    *fp32 = pr->param_dtype == TRAINOPT_F32 && pr->grad_dtype == TRAINOPT_F32 && pr->copy == NULL;
    return TRAINOPT_OK;
}

/* The buffers the descriptor adds to the 8-bit step's own checks, and param's and grad's
   element sizes. */
TRAINOPT__FORCE_INLINE void trainopt__q8_mp_bufs(const trainopt_precision *pr, size_t n, trainopt__q8_bufs *more,
                                                 size_t *size) {
    more->count = 0;
    if (pr->param_aux) trainopt__q8_add(more, pr->param_aux, n * trainopt__dtype_size(pr->param_dtype), "pr->param_aux");
    if (pr->copy) trainopt__q8_add(more, pr->copy, n * trainopt__dtype_size(pr->copy_dtype), "pr->copy");
    size[0] = trainopt__dtype_size(pr->param_dtype);
    size[1] = trainopt__dtype_size(pr->grad_dtype);
}

/* A checked step, chunk by chunk: widen, the 8-bit loops, round back (>>mixed's helpers). */
TRAINOPT__DRIVER void trainopt__q8_mp_run(const trainopt_precision *pr, size_t block, size_t n, void *param, const void *grad,
                                          const trainopt_step_opts *o, trainopt__q8_mp_loops loops, const void *args) {
    float pbuf[TRAINOPT_Q8_MAX_BLOCK], gbuf[TRAINOPT_Q8_MAX_BLOCK];
    const size_t chunk = TRAINOPT__Q8_MP_CHUNK(block);
    const int f32_param = pr->param_dtype == TRAINOPT_F32;
    trainopt_step_opts co;
    trainopt__philox_key key;
    size_t i, k, bad = 0, chunk_bad = 0;
    if (o) {
        co = *o;
        co.found_inf = NULL; /* checked: not set */
        co.nonfinite = o->nonfinite ? &chunk_bad : NULL;
    }
    trainopt__philox_key_seed(&key, pr->seed);
    for (i = 0; i < n; i += k) {
        float *p = f32_param ? (float *)param + i : pbuf;
        const float *g = pr->grad_dtype == TRAINOPT_F32 ? (const float *)grad + i : gbuf;
        k = n - i < chunk ? n - i : chunk;
        if (!f32_param) trainopt__mp_param_in(pr, pbuf, param, i, k);
        if (pr->grad_dtype != TRAINOPT_F32) trainopt__mp_widen(gbuf, grad, pr->grad_dtype, i, k);
        loops(args, i, k, p, g, o ? &co : NULL);
        bad += chunk_bad;
        if (pr->copy) trainopt__mp_narrow(pr->copy, pr->copy_dtype, p, i, k);
        if (!f32_param) trainopt__mp_param_out(pr, &key, param, pbuf, i, k);
    }
    if (o && o->nonfinite) *o->nonfinite = bad;
}

/* >>sgd8bit-mp */
typedef struct {
    const trainopt_sgd_config *c;
    trainopt__sgd_scalars s;
    int64_t step;
    size_t block;
    uint8_t *codes0;
    float *absmax0;
} trainopt__sgd8bit_mp_args;

TRAINOPT__DRIVER void trainopt__sgd8bit_mp_loops(const void *args, size_t off, size_t n, float *param, const float *grad,
                                                 const trainopt_step_opts *o) {
    const trainopt__sgd8bit_mp_args *a = (const trainopt__sgd8bit_mp_args *)args;
    const trainopt_sgd_config c = *a->c;
    const trainopt__sgd_scalars s = a->s; /* locals: the parameter stores cannot alias them */
    trainopt__sgd8bit_loops(&c, &s, a->step, a->block, n, param, grad, a->codes0 + off, a->absmax0 + off / a->block, o);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_sgd8bit_step_mp(const trainopt_sgd_config *c, int64_t step, size_t block,
                                                              size_t n, void *param, const void *grad, uint8_t *momentum_buf,
                                                              float *momentum_absmax, const trainopt_precision *pr,
                                                              const trainopt_step_opts *o) {
    static const char fn[] = "trainopt_sgd8bit_step_mp";
    static const char *const names[] = {"momentum_buf", "momentum_absmax"};
    trainopt__sgd8bit_mp_args a;
    trainopt__q8_bufs more;
    size_t size[2];
    trainopt_status st;
    int fp32, done;
    if ((st = trainopt__q8_mp_check(pr, n, param, grad, o, &fp32, fn)) != TRAINOPT_OK) return st;
    if (fp32) return trainopt__sgd8bit_run(c, step, block, n, (float *)param, (const float *)grad, momentum_buf, momentum_absmax, o, fn);
    if ((st = trainopt__sgd8bit_check(c, fn)) != TRAINOPT_OK) return st;
    trainopt__q8_mp_bufs(pr, n, &more, size);
    if ((st = trainopt__q8_step_common(o, step, block, n, param, grad, size, &more, 1, &momentum_buf, &momentum_absmax, names,
                                       &done, fn)) != TRAINOPT_OK || done)
        return st;
    a.c = c, a.s = trainopt__sgd_scalars_make(c, o), a.step = step, a.block = block;
    a.codes0 = momentum_buf, a.absmax0 = momentum_absmax;
    trainopt__q8_mp_run(pr, block, n, param, grad, o, trainopt__sgd8bit_mp_loops, &a);
    return TRAINOPT_OK;
}

/* >>adam8bit-mp */
typedef struct {
    const trainopt_adam_config *c;
    trainopt__adam_scalars s;
    int decoupled;
    size_t block;
    uint8_t *codes0, *codes1;
    float *absmax0, *absmax1;
} trainopt__adam8bit_mp_args;

TRAINOPT__DRIVER void trainopt__adam8bit_mp_loops(const void *args, size_t off, size_t n, float *param, const float *grad,
                                                  const trainopt_step_opts *o) {
    const trainopt__adam8bit_mp_args *a = (const trainopt__adam8bit_mp_args *)args;
    const trainopt_adam_config c = *a->c;
    const trainopt__adam_scalars s = a->s; /* locals: the parameter stores cannot alias them */
    trainopt__adam8bit_loops(&c, a->decoupled, &s, a->block, n, param, grad, a->codes0 + off, a->absmax0 + off / a->block,
                             a->codes1 + off, a->absmax1 + off / a->block, o);
}

TRAINOPT__DRIVER trainopt_status trainopt__adam8bit_mp(const trainopt_adam_config *c, int decoupled, int64_t step, size_t block,
                                                       size_t n, void *param, const void *grad, uint8_t *exp_avg,
                                                       float *exp_avg_absmax, uint8_t *exp_avg_sq, float *exp_avg_sq_absmax,
                                                       const trainopt_precision *pr, const trainopt_step_opts *o,
                                                       const char *fn) {
    static const char *const names[] = {"exp_avg", "exp_avg_absmax", "exp_avg_sq", "exp_avg_sq_absmax"};
    uint8_t *const codes[] = {exp_avg, exp_avg_sq};
    float *const absmax[] = {exp_avg_absmax, exp_avg_sq_absmax};
    trainopt__adam8bit_mp_args a;
    trainopt__q8_bufs more;
    size_t size[2];
    trainopt_status st;
    int fp32, done;
    if ((st = trainopt__q8_mp_check(pr, n, param, grad, o, &fp32, fn)) != TRAINOPT_OK) return st;
    if (fp32)
        return trainopt__adam8bit_run(c, decoupled, step, block, n, (float *)param, (const float *)grad, exp_avg, exp_avg_absmax,
                                      exp_avg_sq, exp_avg_sq_absmax, o, fn);
    if ((st = trainopt__adam8bit_check(c, fn)) != TRAINOPT_OK) return st;
    trainopt__q8_mp_bufs(pr, n, &more, size);
    if ((st = trainopt__q8_step_common(o, step, block, n, param, grad, size, &more, 2, codes, absmax, names, &done, fn)) !=
            TRAINOPT_OK || done)
        return st;
    a.c = c, a.s = trainopt__adam_scalars_make(c, step, o), a.decoupled = decoupled, a.block = block;
    a.codes0 = exp_avg, a.absmax0 = exp_avg_absmax, a.codes1 = exp_avg_sq, a.absmax1 = exp_avg_sq_absmax;
    trainopt__q8_mp_run(pr, block, n, param, grad, o, trainopt__adam8bit_mp_loops, &a);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adam8bit_step_mp(const trainopt_adam_config *c, int64_t step, size_t block,
                                                               size_t n, void *param, const void *grad, uint8_t *exp_avg,
                                                               float *exp_avg_absmax, uint8_t *exp_avg_sq,
                                                               float *exp_avg_sq_absmax, const trainopt_precision *pr,
                                                               const trainopt_step_opts *o) {
    return trainopt__adam8bit_mp(c, 0, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax, pr,
                                 o, "trainopt_adam8bit_step_mp");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adamw8bit_step_mp(const trainopt_adam_config *c, int64_t step, size_t block,
                                                                size_t n, void *param, const void *grad, uint8_t *exp_avg,
                                                                float *exp_avg_absmax, uint8_t *exp_avg_sq,
                                                                float *exp_avg_sq_absmax, const trainopt_precision *pr,
                                                                const trainopt_step_opts *o) {
    return trainopt__adam8bit_mp(c, 1, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax, pr,
                                 o, "trainopt_adamw8bit_step_mp");
}

/* >>lion8bit-mp */
typedef struct {
    const trainopt_lion_config *c;
    trainopt__lion_scalars s;
    size_t block;
    uint8_t *codes0;
    float *absmax0;
} trainopt__lion8bit_mp_args;

TRAINOPT__DRIVER void trainopt__lion8bit_mp_loops(const void *args, size_t off, size_t n, float *param, const float *grad,
                                                  const trainopt_step_opts *o) {
    const trainopt__lion8bit_mp_args *a = (const trainopt__lion8bit_mp_args *)args;
    const trainopt_lion_config c = *a->c;
    const trainopt__lion_scalars s = a->s; /* locals: the parameter stores cannot alias them */
    trainopt__lion8bit_loops(&c, &s, a->block, n, param, grad, a->codes0 + off, a->absmax0 + off / a->block, o);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_lion8bit_step_mp(const trainopt_lion_config *c, int64_t step, size_t block,
                                                               size_t n, void *param, const void *grad, uint8_t *exp_avg,
                                                               float *exp_avg_absmax, const trainopt_precision *pr,
                                                               const trainopt_step_opts *o) {
    static const char fn[] = "trainopt_lion8bit_step_mp";
    static const char *const names[] = {"exp_avg", "exp_avg_absmax"};
    trainopt__lion8bit_mp_args a;
    trainopt__q8_bufs more;
    size_t size[2];
    trainopt_status st;
    int fp32, done;
    if ((st = trainopt__q8_mp_check(pr, n, param, grad, o, &fp32, fn)) != TRAINOPT_OK) return st;
    if (fp32) return trainopt__lion8bit_run(c, step, block, n, (float *)param, (const float *)grad, exp_avg, exp_avg_absmax, o, fn);
    if ((st = trainopt__lion_check(c, fn)) != TRAINOPT_OK) return st;
    trainopt__q8_mp_bufs(pr, n, &more, size);
    if ((st = trainopt__q8_step_common(o, step, block, n, param, grad, size, &more, 1, &exp_avg, &exp_avg_absmax, names, &done,
                                       fn)) != TRAINOPT_OK || done)
        return st;
    a.c = c, a.s = trainopt__lion_scalars_make(c, o), a.block = block;
    a.codes0 = exp_avg, a.absmax0 = exp_avg_absmax;
    trainopt__q8_mp_run(pr, block, n, param, grad, o, trainopt__lion8bit_mp_loops, &a);
    return TRAINOPT_OK;
}
