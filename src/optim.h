/* >>elementwise: what the elementwise steps share */

/* k values at index i of an array of dtype dt, a compile-time constant at each call site
   (the fp32 kernels pass TRAINOPT_F32: a plain load): bf16 and fp16 widen exactly, in
   registers, by the vector layer's rules (>>halfconv), as trainopt_convert does. The
   mixed-precision steps' fused loops (>>mixed) read their 16-bit arrays through this. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__opt_load(const void *p, int dt, size_t i, size_t k) {
    if (dt == TRAINOPT_F32) return trainopt__v_load_n((const float *)p + i, k);
    if (dt == TRAINOPT_F16) return trainopt__v_load_f16_n((const uint16_t *)p + i, k);
    return trainopt__v_from_bf16(trainopt__vi_load16_n((const uint16_t *)p + i, k));
}
/* x stored at index i of an array of dtype dt (a constant, as above), bf16 and fp16
   rounded to nearest even (trainopt_convert's nearest rounding). */
TRAINOPT__FORCE_INLINE void trainopt__opt_store(void *p, int dt, size_t i, size_t k, trainopt__vf x) {
    if (dt == TRAINOPT_F32) trainopt__v_store_n((float *)p + i, x, k);
    else if (dt == TRAINOPT_F16) trainopt__v_store_f16_n((uint16_t *)p + i, x, k);
    else trainopt__vi_store16_n((uint16_t *)p + i, trainopt__v_to_bf16(x, 0, trainopt__vi_set1(0u)), k);
}

/* The elementwise steps' loop: two vectors a round, then each array the step writes gets
   both its vectors stored together before the next array's; the tail a vector at a time,
   the last one partial. The same values in another order of stores: out of cache on Zen 4
   it is up to 1.6x faster than storing each vector's arrays in turn (AVX2's half-line
   vectors most; bench/FINDINGS.md, "Stores grouped by array"), in cache the same.
   VALUES(i, k, x) computes k <= LANES elements at i into x[0..count-1], the new values of
   the arrays out[0..count-1] (void pointers) whose dtypes are dts[0..count-1] (constants:
   TRAINOPT_F32 but in the fused mixed-precision loops); bit a of the constant `written`
   says whether out[a] is written (a state the flags leave out is not). The loops over the
   outputs are unrolled, so x stays in registers and written and dts fold. */
#undef TRAINOPT__STORE_RUNS
#define TRAINOPT__STORE_RUNS(n, count, written, out, dts, VALUES)                                                   \
    do {                                                                                                            \
        const size_t trainopt__w = TRAINOPT_SIMD_LANES;                                                             \
        trainopt__vf trainopt__x0[count], trainopt__x1[count];                                                      \
        size_t trainopt__i = 0;                                                                                     \
        int trainopt__a;                                                                                            \
        for (; trainopt__i + 2 * trainopt__w <= (n); trainopt__i += 2 * trainopt__w) {                              \
            VALUES(trainopt__i, trainopt__w, trainopt__x0);                                                         \
            VALUES(trainopt__i + trainopt__w, trainopt__w, trainopt__x1);                                           \
            TRAINOPT__UNROLL_PARTIALS for (trainopt__a = 0; trainopt__a < (count); trainopt__a++)                   \
                if ((written) >> trainopt__a & 1) {                                                                 \
                    trainopt__opt_store(out[trainopt__a], dts[trainopt__a], trainopt__i, trainopt__w,               \
                                        trainopt__x0[trainopt__a]);                                                 \
                    trainopt__opt_store(out[trainopt__a], dts[trainopt__a], trainopt__i + trainopt__w, trainopt__w, \
                                        trainopt__x1[trainopt__a]);                                                 \
                }                                                                                                   \
        }                                                                                                           \
        for (; trainopt__i < (n); trainopt__i += trainopt__w) {                                                     \
            const size_t trainopt__k = (n) - trainopt__i < trainopt__w ? (n) - trainopt__i : trainopt__w;           \
            VALUES(trainopt__i, trainopt__k, trainopt__x0);                                                         \
            TRAINOPT__UNROLL_PARTIALS for (trainopt__a = 0; trainopt__a < (count); trainopt__a++)                   \
                if ((written) >> trainopt__a & 1)                                                                   \
                    trainopt__opt_store(out[trainopt__a], dts[trainopt__a], trainopt__i, trainopt__k,               \
                                        trainopt__x0[trainopt__a]);                                                 \
        }                                                                                                           \
    } while (0)

/* >>sgd */

typedef struct {
    trainopt__grad_in gi;
    float neg_lr, weight_decay, momentum, one_minus_dampening;
} trainopt__sgd_scalars;

/* One vector of k <= LANES elements at offset i, computed and not stored: the new
   parameter p and (with momentum) momentum buffer b. The flags are compile-time
   constants at each call site, so every option combination gets its own loop.
   undamped (dampening 0, PyTorch's default): buf * momentum + g is an addition,
   the same bits as fma(1, g, buf) (the product 1 * g is exact, one rounding),
   one operation fewer on the multiply units, which one-lane code is bound by. */
TRAINOPT__FORCE_INLINE void trainopt__sgd_values(const trainopt__sgd_scalars *s, size_t i, size_t k, int scaled,
                                                 size_t *nonfinite, int has_wd, int has_momentum, int first_step, int nesterov,
                                                 int undamped, const float *param, const float *grad, const float *buf,
                                                 trainopt__vf *p, trainopt__vf *b) {
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    *p = trainopt__v_load_n(param + i, k);
    *b = trainopt__v_zero(); /* not stored without momentum (a loop may take the flag at run time) */
    if (has_wd) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), *p, g);
    if (has_momentum) {
        if (first_step) {
            *b = g; /* PyTorch clones d_p into a new buffer on the first step */
        } else {
            *b = trainopt__v_mul(trainopt__v_load_n(buf + i, k), trainopt__v_set1(s->momentum));
            *b = undamped ? trainopt__v_add(*b, g) : trainopt__v_fma(trainopt__v_set1(s->one_minus_dampening), g, *b);
        }
        g = nesterov ? trainopt__v_fma(trainopt__v_set1(s->momentum), *b, g) : *b;
    }
    *p = trainopt__v_fma(trainopt__v_set1(s->neg_lr), g, *p);
}

TRAINOPT__FORCE_INLINE void trainopt__sgd_loop(const trainopt__sgd_scalars *s, size_t n, int scaled, size_t *nonfinite,
                                               int has_wd, int has_momentum, int first_step, int nesterov, int undamped,
                                               float *param, const float *grad, float *buf) {
    void *const out[2] = {param, buf};
    const int dts[2] = {TRAINOPT_F32, TRAINOPT_F32};
#define TRAINOPT__SGD_VALUES(i, k, x)                                                                                  \
    trainopt__sgd_values(s, i, k, scaled, nonfinite, has_wd, has_momentum, first_step, nesterov, undamped, param, grad, \
                         buf, &x[0], &x[1])
    TRAINOPT__STORE_RUNS(n, 2, 1 | has_momentum << 1, out, dts, TRAINOPT__SGD_VALUES);
#undef TRAINOPT__SGD_VALUES
}

/* The per-step scalars of a checked config (the 8-bit step, src/quant8.h, shares them). */
TRAINOPT__FORCE_INLINE trainopt__sgd_scalars trainopt__sgd_scalars_make(const trainopt_sgd_config *c, const trainopt_step_opts *o) {
    trainopt__sgd_scalars s;
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.neg_lr = (float)-c->lr;
    s.weight_decay = (float)c->weight_decay;
    s.momentum = (float)c->momentum;
    s.one_minus_dampening = (float)(1.0 - c->dampening);
    return s;
}

/* The loop a checked config chooses (the mixed-precision steps, src/mixed.h, run it on each block). */
TRAINOPT__FORCE_INLINE void trainopt__sgd_loops(const trainopt_sgd_config *c, const trainopt__sgd_scalars *s, int64_t step,
                                                size_t n, float *param, const float *grad, float *buf,
                                                const trainopt_step_opts *o) {
    const int has_wd = c->weight_decay != 0.0, has_momentum = c->momentum != 0.0;
    /* The common configurations get their own loop; the rest share a generic one.
       Nesterov implies dampening 0 (checked by the callers). */
#define TRAINOPT__SGD_LOOP(scaled, bad)                                                                         \
    if (!has_momentum) {                                                                                        \
        if (has_wd) trainopt__sgd_loop(s, n, scaled, bad, 1, 0, 0, 0, 0, param, grad, NULL);                    \
        else trainopt__sgd_loop(s, n, scaled, bad, 0, 0, 0, 0, 0, param, grad, NULL);                           \
    } else if (step == 1) {                                                                                     \
        trainopt__sgd_loop(s, n, scaled, bad, has_wd, 1, 1, c->nesterov, 0, param, grad, buf);                  \
    } else if (c->nesterov) {                                                                                   \
        trainopt__sgd_loop(s, n, scaled, bad, has_wd, 1, 0, 1, 1, param, grad, buf);                            \
    } else if (s->one_minus_dampening != 1.0f) {                                                                \
        trainopt__sgd_loop(s, n, scaled, bad, has_wd, 1, 0, 0, 0, param, grad, buf);                            \
    } else if (has_wd) {                                                                                        \
        trainopt__sgd_loop(s, n, scaled, bad, 1, 1, 0, 0, 1, param, grad, buf);                                 \
    } else {                                                                                                    \
        trainopt__sgd_loop(s, n, scaled, bad, 0, 1, 0, 0, 1, param, grad, buf);                                 \
    }
    TRAINOPT__RUN_STEP(o, TRAINOPT__SGD_LOOP);
#undef TRAINOPT__SGD_LOOP
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__sgd_run(const trainopt_sgd_config *c, int64_t step, size_t n, float *param,
                                                         const float *grad, float *buf, const trainopt_step_opts *o,
                                                         const char *fn) {
    const void *const ptrs[] = {param, grad, buf}; /* for the count output's overlap check */
    static const char *const names[] = {"param", "grad", "momentum_buf"};
    trainopt__sgd_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int skip;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__nonneg(c->lr)) return trainopt__once_hparam(fn, "lr", c->lr, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->momentum)) return trainopt__once_hparam(fn, "momentum", c->momentum, TRAINOPT__WHY_NONNEG);
    if (!trainopt__finite(c->dampening)) return trainopt__once_hparam(fn, "dampening", c->dampening, TRAINOPT__WHY_FINITE);
    if (!trainopt__nonneg(c->weight_decay))
        return trainopt__once_hparam(fn, "weight_decay", c->weight_decay, TRAINOPT__WHY_NONNEG);
    if (c->nesterov && c->momentum <= 0.0)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "nesterov needs momentum > 0 (PyTorch: Nesterov momentum "
                                                            "requires a momentum and zero dampening)");
    if (c->nesterov && c->dampening != 0.0)
        return trainopt__once_hparam(fn, "dampening", c->dampening, "with nesterov: must be 0 (PyTorch: Nesterov "
                                                                    "momentum requires a momentum and zero dampening)");
    if ((st = trainopt__step_opts_check(o, n, ptrs, names, 3, &skip, fn)) != TRAINOPT_OK) return st;
    if (step < 1) return trainopt__once_step(fn, step);
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    arrays.count = 0;
    trainopt__arrays_add(&arrays, param, "param");
    trainopt__arrays_add(&arrays, grad, "grad");
    if (c->momentum != 0.0) trainopt__arrays_add(&arrays, buf, "momentum_buf (needed: momentum > 0)");
    if ((st = trainopt__check_arrays(&arrays, n, fn)) != TRAINOPT_OK) return st;

    s = trainopt__sgd_scalars_make(c, o);
    trainopt__sgd_loops(c, &s, step, n, param, grad, buf, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_sgd_step(const trainopt_sgd_config *c, int64_t step, size_t n, float *param,
                                              const float *grad, float *momentum_buf) {
    return trainopt__sgd_run(c, step, n, param, grad, momentum_buf, NULL, "trainopt_sgd_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_sgd_step_ex(const trainopt_sgd_config *c, int64_t step, size_t n, float *param,
                                                 const float *grad, float *momentum_buf, const trainopt_step_opts *o) {
    return trainopt__sgd_run(c, step, n, param, grad, momentum_buf, o, "trainopt_sgd_step_ex");
}

/* >>adagrad */

TRAINOPT__FORCE_INLINE trainopt_status trainopt__adagrad_check(const trainopt_adagrad_config *c, const char *fn) {
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__nonneg(c->lr)) return trainopt__once_hparam(fn, "lr", c->lr, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->lr_decay)) return trainopt__once_hparam(fn, "lr_decay", c->lr_decay, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->weight_decay))
        return trainopt__once_hparam(fn, "weight_decay", c->weight_decay, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->initial_accumulator_value))
        return trainopt__once_hparam(fn, "initial_accumulator_value", c->initial_accumulator_value, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->eps)) return trainopt__once_hparam(fn, "eps", c->eps, TRAINOPT__WHY_NONNEG);
    return TRAINOPT_OK;
}

/* Fills state_sum with initial_accumulator_value, as torch.optim.Adagrad's constructor does. */
TRAINOPT__KERNEL_API trainopt_status trainopt_adagrad_init(const trainopt_adagrad_config *c, size_t n, float *state_sum) {
    static const char fn[] = "trainopt_adagrad_init";
    trainopt_status st = trainopt__adagrad_check(c, fn);
    size_t i;
    if (st != TRAINOPT_OK) return st;
    if (n == 0) return TRAINOPT_OK;
    if (state_sum == NULL) return trainopt__once_null(fn, "state_sum");
    if (n > SIZE_MAX / sizeof(float)) return trainopt__once_too_long(fn, "n", n);
    for (i = 0; i < n; i++) state_sum[i] = (float)c->initial_accumulator_value;
    return TRAINOPT_OK;
}

typedef struct {
    trainopt__grad_in gi;
    float neg_clr, weight_decay, eps;
} trainopt__adagrad_scalars;

/* One vector: x[0] the new parameter, x[1] the new state_sum. */
TRAINOPT__FORCE_INLINE void trainopt__adagrad_values(const trainopt__adagrad_scalars *s, size_t i, size_t k, int scaled,
                                                     size_t *nonfinite, int has_wd, const float *param, const float *grad,
                                                     const float *state_sum, trainopt__vf *x) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf sum, std;
    if (has_wd) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    sum = trainopt__v_fma(g, g, trainopt__v_load_n(state_sum + i, k));
    std = trainopt__v_add(trainopt__v_sqrt(sum), trainopt__v_set1(s->eps));
    /* addcdiv: p + (value * g) / std */
    x[0] = trainopt__v_add(p, trainopt__v_div(trainopt__v_mul(trainopt__v_set1(s->neg_clr), g), std));
    x[1] = sum;
}

TRAINOPT__FORCE_INLINE void trainopt__adagrad_loop(const trainopt__adagrad_scalars *s, size_t n, int scaled,
                                                   size_t *nonfinite, int has_wd, float *param, const float *grad,
                                                   float *state_sum) {
    void *const out[2] = {param, state_sum};
    const int dts[2] = {TRAINOPT_F32, TRAINOPT_F32};
#define TRAINOPT__ADAGRAD_VALUES(i, k, x) trainopt__adagrad_values(s, i, k, scaled, nonfinite, has_wd, param, grad, state_sum, x)
    TRAINOPT__STORE_RUNS(n, 2, 3, out, dts, TRAINOPT__ADAGRAD_VALUES);
#undef TRAINOPT__ADAGRAD_VALUES
}

/* The per-step scalars of a checked config, and the loop it chooses (the mixed-precision
   steps, src/mixed.h, run it on each block). */
TRAINOPT__FORCE_INLINE trainopt__adagrad_scalars trainopt__adagrad_scalars_make(const trainopt_adagrad_config *c, int64_t step,
                                                                               const trainopt_step_opts *o) {
    trainopt__adagrad_scalars s;
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.neg_clr = (float)-(c->lr / fma((double)(step - 1), c->lr_decay, 1.0));
    s.weight_decay = (float)c->weight_decay;
    s.eps = (float)c->eps;
    return s;
}
TRAINOPT__FORCE_INLINE void trainopt__adagrad_loops(const trainopt_adagrad_config *c, const trainopt__adagrad_scalars *s,
                                                    size_t n, float *param, const float *grad, float *state_sum,
                                                    const trainopt_step_opts *o) {
#define TRAINOPT__ADAGRAD_LOOP(scaled, bad)                                                  \
    if (c->weight_decay != 0.0) trainopt__adagrad_loop(s, n, scaled, bad, 1, param, grad, state_sum); \
    else trainopt__adagrad_loop(s, n, scaled, bad, 0, param, grad, state_sum);
    TRAINOPT__RUN_STEP(o, TRAINOPT__ADAGRAD_LOOP);
#undef TRAINOPT__ADAGRAD_LOOP
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__adagrad_run(const trainopt_adagrad_config *c, int64_t step, size_t n,
                                                             float *param, const float *grad, float *state_sum,
                                                             const trainopt_step_opts *o, const char *fn) {
    const void *const ptrs[] = {param, grad, state_sum}; /* for the count output's overlap check */
    static const char *const names[] = {"param", "grad", "state_sum"};
    trainopt__adagrad_scalars s;
    trainopt__arrays arrays;
    trainopt_status st = trainopt__adagrad_check(c, fn);
    int skip;
    if (st != TRAINOPT_OK) return st;
    if ((st = trainopt__step_opts_check(o, n, ptrs, names, 3, &skip, fn)) != TRAINOPT_OK) return st;
    if (step < 1) return trainopt__once_step(fn, step);
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    arrays.count = 0;
    trainopt__arrays_add(&arrays, param, "param");
    trainopt__arrays_add(&arrays, grad, "grad");
    trainopt__arrays_add(&arrays, state_sum, "state_sum");
    if ((st = trainopt__check_arrays(&arrays, n, fn)) != TRAINOPT_OK) return st;

    s = trainopt__adagrad_scalars_make(c, step, o);
    trainopt__adagrad_loops(c, &s, n, param, grad, state_sum, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adagrad_step(const trainopt_adagrad_config *c, int64_t step, size_t n,
                                                  float *param, const float *grad, float *state_sum) {
    return trainopt__adagrad_run(c, step, n, param, grad, state_sum, NULL, "trainopt_adagrad_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adagrad_step_ex(const trainopt_adagrad_config *c, int64_t step, size_t n,
                                                     float *param, const float *grad, float *state_sum,
                                                     const trainopt_step_opts *o) {
    return trainopt__adagrad_run(c, step, n, param, grad, state_sum, o, "trainopt_adagrad_step_ex");
}

/* >>rmsprop */

typedef struct {
    trainopt__grad_in gi;
    float neg_lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
} trainopt__rmsprop_scalars;

/* One vector: x[0] the new parameter, x[1] square_avg, x[2] momentum_buf (has_momentum),
   x[3] grad_avg (centered). */
TRAINOPT__FORCE_INLINE void trainopt__rmsprop_values(const trainopt__rmsprop_scalars *s, size_t i, size_t k, int scaled,
                                                     size_t *nonfinite, int has_wd, int centered, int has_momentum,
                                                     const float *param, const float *grad, const float *square_avg,
                                                     const float *momentum_buf, const float *grad_avg, trainopt__vf *x) {
    const trainopt__vf alpha = trainopt__v_set1(s->alpha), one_minus_alpha = trainopt__v_set1(s->one_minus_alpha);
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf sq, avg;
    x[2] = x[3] = trainopt__v_zero(); /* not stored where the flags leave them out (a loop may take them at run time) */
    if (has_wd) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    sq = trainopt__v_mul(trainopt__v_load_n(square_avg + i, k), alpha);
    sq = trainopt__v_fma(trainopt__v_mul(one_minus_alpha, g), g, sq);
    x[1] = sq;
    if (centered) {
        trainopt__vf a = trainopt__v_mul(trainopt__v_load_n(grad_avg + i, k), alpha);
        a = trainopt__v_fma(one_minus_alpha, g, a);
        x[3] = a;
        avg = trainopt__v_sqrt(trainopt__v_fnma(a, a, sq));
    } else {
        avg = trainopt__v_sqrt(sq);
    }
    avg = trainopt__v_add(avg, trainopt__v_set1(s->eps));
    if (has_momentum) {
        /* buf.mul_(momentum).addcdiv_(g, avg), as one FMA so no compiler can fuse it differently */
        trainopt__vf b = trainopt__v_fma(trainopt__v_load_n(momentum_buf + i, k), trainopt__v_set1(s->momentum),
                                         trainopt__v_div(g, avg));
        x[2] = b;
        p = trainopt__v_fma(trainopt__v_set1(s->neg_lr), b, p);
    } else {
        p = trainopt__v_add(p, trainopt__v_div(trainopt__v_mul(trainopt__v_set1(s->neg_lr), g), avg));
    }
    x[0] = p;
}

TRAINOPT__FORCE_INLINE void trainopt__rmsprop_loop(const trainopt__rmsprop_scalars *s, size_t n, int scaled,
                                                   size_t *nonfinite, int has_wd, int centered, int has_momentum,
                                                   float *param, const float *grad, float *square_avg,
                                                   float *momentum_buf, float *grad_avg) {
    void *const out[4] = {param, square_avg, momentum_buf, grad_avg};
    const int dts[4] = {TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_F32};
#define TRAINOPT__RMSPROP_VALUES(i, k, x)                                                                              \
    trainopt__rmsprop_values(s, i, k, scaled, nonfinite, has_wd, centered, has_momentum, param, grad, square_avg,       \
                             momentum_buf, grad_avg, x)
    TRAINOPT__STORE_RUNS(n, 4, 3 | has_momentum << 2 | centered << 3, out, dts, TRAINOPT__RMSPROP_VALUES);
#undef TRAINOPT__RMSPROP_VALUES
}

/* The per-step scalars of a checked config, and the loop it chooses (the mixed-precision
   steps, src/mixed.h, run it on each block). */
TRAINOPT__FORCE_INLINE trainopt__rmsprop_scalars trainopt__rmsprop_scalars_make(const trainopt_rmsprop_config *c,
                                                                               const trainopt_step_opts *o) {
    trainopt__rmsprop_scalars s;
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.neg_lr = (float)-c->lr;
    s.alpha = (float)c->alpha;
    s.one_minus_alpha = (float)(1.0 - c->alpha);
    s.eps = (float)c->eps;
    s.weight_decay = (float)c->weight_decay;
    s.momentum = (float)c->momentum;
    return s;
}
TRAINOPT__FORCE_INLINE void trainopt__rmsprop_loops(const trainopt_rmsprop_config *c, const trainopt__rmsprop_scalars *s,
                                                    size_t n, float *param, const float *grad, float *square_avg,
                                                    float *momentum_buf, float *grad_avg, const trainopt_step_opts *o) {
    const int has_wd = c->weight_decay != 0.0, has_momentum = c->momentum > 0.0;
#define TRAINOPT__RMSPROP_LOOP(scaled, bad)                                                                        \
    if (!has_wd && !c->centered && !has_momentum)                                                                  \
        trainopt__rmsprop_loop(s, n, scaled, bad, 0, 0, 0, param, grad, square_avg, NULL, NULL);                   \
    else                                                                                                           \
        trainopt__rmsprop_loop(s, n, scaled, bad, has_wd, c->centered, has_momentum, param, grad, square_avg,      \
                               momentum_buf, grad_avg);
    TRAINOPT__RUN_STEP(o, TRAINOPT__RMSPROP_LOOP);
#undef TRAINOPT__RMSPROP_LOOP
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__rmsprop_run(const trainopt_rmsprop_config *c, int64_t step, size_t n,
                                                             float *param, const float *grad, float *square_avg,
                                                             float *momentum_buf, float *grad_avg,
                                                             const trainopt_step_opts *o, const char *fn) {
    const void *const ptrs[] = {param, grad, square_avg, momentum_buf, grad_avg}; /* for the count output's overlap check */
    static const char *const names[] = {"param", "grad", "square_avg", "momentum_buf", "grad_avg"};
    trainopt__rmsprop_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int skip;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__nonneg(c->lr)) return trainopt__once_hparam(fn, "lr", c->lr, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->alpha) || c->alpha > 1.0) return trainopt__once_hparam(fn, "alpha", c->alpha, TRAINOPT__WHY_0_1);
    if (!trainopt__nonneg(c->eps)) return trainopt__once_hparam(fn, "eps", c->eps, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->weight_decay))
        return trainopt__once_hparam(fn, "weight_decay", c->weight_decay, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->momentum)) return trainopt__once_hparam(fn, "momentum", c->momentum, TRAINOPT__WHY_NONNEG);
    if ((st = trainopt__step_opts_check(o, n, ptrs, names, 5, &skip, fn)) != TRAINOPT_OK) return st;
    if (step < 1) return trainopt__once_step(fn, step);
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    arrays.count = 0;
    trainopt__arrays_add(&arrays, param, "param");
    trainopt__arrays_add(&arrays, grad, "grad");
    trainopt__arrays_add(&arrays, square_avg, "square_avg");
    if (c->momentum > 0.0) trainopt__arrays_add(&arrays, momentum_buf, "momentum_buf (needed: momentum > 0)");
    if (c->centered) trainopt__arrays_add(&arrays, grad_avg, "grad_avg (needed: centered)");
    if ((st = trainopt__check_arrays(&arrays, n, fn)) != TRAINOPT_OK) return st;

    s = trainopt__rmsprop_scalars_make(c, o);
    trainopt__rmsprop_loops(c, &s, n, param, grad, square_avg, momentum_buf, grad_avg, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_rmsprop_step(const trainopt_rmsprop_config *c, int64_t step, size_t n,
                                                  float *param, const float *grad, float *square_avg,
                                                  float *momentum_buf, float *grad_avg) {
    return trainopt__rmsprop_run(c, step, n, param, grad, square_avg, momentum_buf, grad_avg, NULL, "trainopt_rmsprop_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_rmsprop_step_ex(const trainopt_rmsprop_config *c, int64_t step, size_t n,
                                                     float *param, const float *grad, float *square_avg,
                                                     float *momentum_buf, float *grad_avg, const trainopt_step_opts *o) {
    return trainopt__rmsprop_run(c, step, n, param, grad, square_avg, momentum_buf, grad_avg, o, "trainopt_rmsprop_step_ex");
}

/* >>adam */

typedef struct {
    trainopt__grad_in gi;
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float inv_bias_correction2_sqrt, eps, neg_step_size;
    float weight_decay; /* Adam: L2 term added to the gradient */
    float decay_factor; /* AdamW: 1 - lr * weight_decay applied to the parameter */
} trainopt__adam_scalars;

/* Adam's moments of one vector, stored (in the states' dtype sdt, a constant) and returned
   in float: m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g g (Adam, AdamW,
   NAdam, RAdam, LAMB). */
TRAINOPT__FORCE_INLINE void trainopt__adam_moments_of(float beta1, float one_minus_beta1, float beta2, float one_minus_beta2,
                                                      trainopt__vf g, size_t i, size_t k, int sdt, const void *exp_avg,
                                                      const void *exp_avg_sq, trainopt__vf *m, trainopt__vf *v) {
    *m = trainopt__v_fma(trainopt__v_set1(one_minus_beta1), g,
                         trainopt__v_mul(trainopt__opt_load(exp_avg, sdt, i, k), trainopt__v_set1(beta1)));
    *v = trainopt__v_fma(trainopt__v_mul(trainopt__v_set1(one_minus_beta2), g), g,
                         trainopt__v_mul(trainopt__opt_load(exp_avg_sq, sdt, i, k), trainopt__v_set1(beta2)));
}
TRAINOPT__FORCE_INLINE void trainopt__adam_moments_as(float beta1, float one_minus_beta1, float beta2, float one_minus_beta2,
                                                      trainopt__vf g, size_t i, size_t k, int sdt, void *exp_avg,
                                                      void *exp_avg_sq, trainopt__vf *m, trainopt__vf *v) {
    trainopt__adam_moments_of(beta1, one_minus_beta1, beta2, one_minus_beta2, g, i, k, sdt, exp_avg, exp_avg_sq, m, v);
    trainopt__opt_store(exp_avg, sdt, i, k, *m);
    trainopt__opt_store(exp_avg_sq, sdt, i, k, *v);
}
TRAINOPT__FORCE_INLINE void trainopt__adam_moments(float beta1, float one_minus_beta1, float beta2, float one_minus_beta2,
                                                   trainopt__vf g, size_t i, size_t k, float *exp_avg, float *exp_avg_sq,
                                                   trainopt__vf *m, trainopt__vf *v) {
    trainopt__adam_moments_as(beta1, one_minus_beta1, beta2, one_minus_beta2, g, i, k, TRAINOPT_F32, exp_avg, exp_avg_sq, m, v);
}

/* One vector of Adam/AdamW, computed and not stored: the new moments m and v (as stored)
   and parameter p. pdt, gdt, sdt: the dtypes of param, grad and the states, constants at
   each call (all TRAINOPT_F32 in the fp32 kernel; bf16/fp16 in the fused mixed-precision
   loops, >>mixed): the same float operations in the same order whatever they are, so a
   16-bit array widened here gives the bits the fp32 kernel gives on it widened beforehand,
   and a store rounds once, as trainopt_convert would afterwards. amsgrad's
   max_exp_avg_sq is fp32 and the one array written here (the fused loops leave amsgrad to
   the block driver). */
TRAINOPT__FORCE_INLINE void trainopt__adam_values_as(const trainopt__adam_scalars *s, size_t i, size_t k, int scaled,
                                                     size_t *nonfinite, int l2, int decoupled, int amsgrad, int pdt, int gdt,
                                                     int sdt, const void *param, const void *grad, const void *exp_avg,
                                                     const void *exp_avg_sq, float *max_exp_avg_sq, trainopt__vf *p,
                                                     trainopt__vf *m, trainopt__vf *v) {
    trainopt__vf g = trainopt__grad_in_apply(&s->gi, trainopt__opt_load(grad, gdt, i, k), k, scaled, nonfinite);
    trainopt__vf v_max, denom, update;
    *p = trainopt__opt_load(param, pdt, i, k);
    if (l2) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), *p, g);
    trainopt__adam_moments_of(s->beta1, s->one_minus_beta1, s->beta2, s->one_minus_beta2, g, i, k, sdt, exp_avg, exp_avg_sq, m,
                              v);
    v_max = *v;
    if (amsgrad) {
        v_max = trainopt__v_max_nan(trainopt__v_load_n(max_exp_avg_sq + i, k), *v);
        trainopt__v_store_n(max_exp_avg_sq + i, v_max, k);
    }
    denom = trainopt__v_fma(trainopt__v_sqrt(v_max), trainopt__v_set1(s->inv_bias_correction2_sqrt), trainopt__v_set1(s->eps));
    /* addcdiv: p + (-step_size * m) / denom. AdamW's decay p * (1 - lr*wd) is rounded before
       that sum, as PyTorch's param.mul_ then addcdiv_: fused into it, the one rounding fewer is
       an error at p's own scale every step (not the update's, 1e-3 of it), which drifted 4e-6
       from torch.optim.AdamW in 100 steps of a model (python/tests, README "Python"). */
    update = trainopt__v_div(trainopt__v_mul(trainopt__v_set1(s->neg_step_size), *m), denom);
    if (decoupled) *p = trainopt__v_mul(*p, trainopt__v_set1(s->decay_factor));
    *p = trainopt__v_add(*p, update);
}

TRAINOPT__FORCE_INLINE void trainopt__adam_loop_as(const trainopt__adam_scalars *s, size_t n, int scaled, size_t *nonfinite,
                                                   int l2, int decoupled, int amsgrad, int pdt, int gdt, int sdt, void *param,
                                                   const void *grad, void *exp_avg, void *exp_avg_sq, float *max_exp_avg_sq) {
    void *const out[3] = {param, exp_avg, exp_avg_sq};
    const int dts[3] = {pdt, sdt, sdt};
#define TRAINOPT__ADAM_VALUES(i, k, x)                                                                                  \
    trainopt__adam_values_as(s, i, k, scaled, nonfinite, l2, decoupled, amsgrad, pdt, gdt, sdt, param, grad, exp_avg,    \
                             exp_avg_sq, max_exp_avg_sq, &x[0], &x[1], &x[2])
    TRAINOPT__STORE_RUNS(n, 3, 7, out, dts, TRAINOPT__ADAM_VALUES);
#undef TRAINOPT__ADAM_VALUES
}
TRAINOPT__FORCE_INLINE void trainopt__adam_loop(const trainopt__adam_scalars *s, size_t n, int scaled, size_t *nonfinite,
                                                int l2, int decoupled, int amsgrad, float *param, const float *grad,
                                                float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq) {
    trainopt__adam_loop_as(s, n, scaled, nonfinite, l2, decoupled, amsgrad, TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_F32, param,
                           grad, exp_avg, exp_avg_sq, max_exp_avg_sq);
}

/* Validation shared by the Adam-like configs (Adam, AdamW, NAdam, RAdam, Adamax): lr, betas, eps, weight_decay. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__adamlike_check(double lr, double beta1, double beta2, double eps,
                                                                double weight_decay, const char *fn) {
    if (!trainopt__nonneg(lr)) return trainopt__once_hparam(fn, "lr", lr, TRAINOPT__WHY_NONNEG);
    if (!trainopt__in_01(beta1)) return trainopt__once_hparam(fn, "beta1", beta1, TRAINOPT__WHY_01);
    if (!trainopt__in_01(beta2)) return trainopt__once_hparam(fn, "beta2", beta2, TRAINOPT__WHY_01);
    if (!trainopt__nonneg(eps)) return trainopt__once_hparam(fn, "eps", eps, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(weight_decay)) return trainopt__once_hparam(fn, "weight_decay", weight_decay, TRAINOPT__WHY_NONNEG);
    return TRAINOPT_OK;
}

/* Shared by Adam and AdamW: validation, per-step scalars, and the choice of loop. */
/* The per-step scalars of a checked config (the 8-bit steps, src/quant8.h, share them). */
TRAINOPT__FORCE_INLINE trainopt__adam_scalars trainopt__adam_scalars_make(const trainopt_adam_config *c, int64_t step,
                                                                         const trainopt_step_opts *o) {
    const double bias_correction1 = 1.0 - trainopt__powi(c->beta1, step);
    const double bias_correction2 = 1.0 - trainopt__powi(c->beta2, step);
    trainopt__adam_scalars s;
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.beta1 = (float)c->beta1;
    s.one_minus_beta1 = (float)(1.0 - c->beta1);
    s.beta2 = (float)c->beta2;
    s.one_minus_beta2 = (float)(1.0 - c->beta2);
    s.inv_bias_correction2_sqrt = (float)(1.0 / sqrt(bias_correction2));
    s.eps = (float)c->eps;
    s.neg_step_size = (float)-(c->lr / bias_correction1);
    s.weight_decay = (float)c->weight_decay;
    s.decay_factor = (float)fma(-c->lr, c->weight_decay, 1.0);
    return s;
}

/* The loop a checked config chooses (the mixed-precision steps, src/mixed.h, run it on each block). */
TRAINOPT__FORCE_INLINE void trainopt__adam_loops(const trainopt_adam_config *c, int decoupled, const trainopt__adam_scalars *s,
                                                 size_t n, float *param, const float *grad, float *exp_avg,
                                                 float *exp_avg_sq, float *max_exp_avg_sq, const trainopt_step_opts *o) {
    const int l2 = !decoupled && c->weight_decay != 0.0, decay = decoupled && c->weight_decay != 0.0;
    /* Each (weight decay, amsgrad) combination gets its own loop. */
#define TRAINOPT__ADAM_LOOP(scaled, bad)                                                                             \
    if (c->amsgrad) {                                                                                                \
        if (l2) trainopt__adam_loop(s, n, scaled, bad, 1, 0, 1, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq);   \
        else if (decay) trainopt__adam_loop(s, n, scaled, bad, 0, 1, 1, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq); \
        else trainopt__adam_loop(s, n, scaled, bad, 0, 0, 1, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq);      \
    } else {                                                                                                         \
        if (l2) trainopt__adam_loop(s, n, scaled, bad, 1, 0, 0, param, grad, exp_avg, exp_avg_sq, NULL);             \
        else if (decay) trainopt__adam_loop(s, n, scaled, bad, 0, 1, 0, param, grad, exp_avg, exp_avg_sq, NULL);     \
        else trainopt__adam_loop(s, n, scaled, bad, 0, 0, 0, param, grad, exp_avg, exp_avg_sq, NULL);                \
    }
    TRAINOPT__RUN_STEP(o, TRAINOPT__ADAM_LOOP);
#undef TRAINOPT__ADAM_LOOP
}

/* The same without amsgrad on arrays of dtypes pdt, gdt, sdt (constants at each call): the
   fused mixed-precision loops (>>mixed), one pass over the caller's 16-bit arrays. */
TRAINOPT__FORCE_INLINE void trainopt__adam_loops_as(const trainopt_adam_config *c, int decoupled, const trainopt__adam_scalars *s,
                                                    int pdt, int gdt, int sdt, size_t n, void *param, const void *grad,
                                                    void *exp_avg, void *exp_avg_sq, const trainopt_step_opts *o) {
    const int l2 = !decoupled && c->weight_decay != 0.0, decay = decoupled && c->weight_decay != 0.0;
#define TRAINOPT__ADAM_LOOP_AS(scaled, bad)                                                                               \
    if (l2) trainopt__adam_loop_as(s, n, scaled, bad, 1, 0, 0, pdt, gdt, sdt, param, grad, exp_avg, exp_avg_sq, NULL);     \
    else if (decay) trainopt__adam_loop_as(s, n, scaled, bad, 0, 1, 0, pdt, gdt, sdt, param, grad, exp_avg, exp_avg_sq, NULL); \
    else trainopt__adam_loop_as(s, n, scaled, bad, 0, 0, 0, pdt, gdt, sdt, param, grad, exp_avg, exp_avg_sq, NULL);
    TRAINOPT__RUN_STEP(o, TRAINOPT__ADAM_LOOP_AS);
#undef TRAINOPT__ADAM_LOOP_AS
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__adam_run(const trainopt_adam_config *c, int decoupled, int64_t step,
                                                          size_t n, float *param, const float *grad, float *exp_avg,
                                                          float *exp_avg_sq, float *max_exp_avg_sq,
                                                          const trainopt_step_opts *o, const char *fn) {
    const void *const ptrs[] = {param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq}; /* for the count output's overlap check */
    static const char *const names[] = {"param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    trainopt__adam_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int skip;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if ((st = trainopt__adamlike_check(c->lr, c->beta1, c->beta2, c->eps, c->weight_decay, fn)) != TRAINOPT_OK) return st;
    if ((st = trainopt__step_opts_check(o, n, ptrs, names, 5, &skip, fn)) != TRAINOPT_OK) return st;
    if (step < 1) return trainopt__once_step(fn, step);
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    arrays.count = 0;
    trainopt__arrays_add(&arrays, param, "param");
    trainopt__arrays_add(&arrays, grad, "grad");
    trainopt__arrays_add(&arrays, exp_avg, "exp_avg");
    trainopt__arrays_add(&arrays, exp_avg_sq, "exp_avg_sq");
    if (c->amsgrad) trainopt__arrays_add(&arrays, max_exp_avg_sq, "max_exp_avg_sq (needed: amsgrad)");
    if ((st = trainopt__check_arrays(&arrays, n, fn)) != TRAINOPT_OK) return st;

    s = trainopt__adam_scalars_make(c, step, o);
    trainopt__adam_loops(c, decoupled, &s, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adam_step(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                               const float *grad, float *exp_avg, float *exp_avg_sq,
                                               float *max_exp_avg_sq) {
    return trainopt__adam_run(c, 0, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, NULL, "trainopt_adam_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adamw_step(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                                const float *grad, float *exp_avg, float *exp_avg_sq,
                                                float *max_exp_avg_sq) {
    return trainopt__adam_run(c, 1, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, NULL, "trainopt_adamw_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adam_step_ex(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                                  const float *grad, float *exp_avg, float *exp_avg_sq,
                                                  float *max_exp_avg_sq, const trainopt_step_opts *o) {
    return trainopt__adam_run(c, 0, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o, "trainopt_adam_step_ex");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adamw_step_ex(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                                   const float *grad, float *exp_avg, float *exp_avg_sq,
                                                   float *max_exp_avg_sq, const trainopt_step_opts *o) {
    return trainopt__adam_run(c, 1, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o, "trainopt_adamw_step_ex");
}

/* >>nadam */

/* mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay)), in double with libm pow as
   PyTorch's Python computes it. */
TRAINOPT__FORCE_INLINE double trainopt__nadam_mu(const trainopt_nadam_config *c, int64_t step) {
    return c->beta1 * (1.0 - 0.5 * pow(0.96, (double)step * c->momentum_decay));
}

/* PyTorch keeps mu_product in a float32 tensor: state['mu_product'] *= mu rounds the
   product (and mu) to float. NaN for a NULL config, beta1 outside [0, 1), a momentum_decay
   that is not finite >= 0, step < 1, or mu_product outside [0, 1]. No error text: the
   NaN is the answer, as the schedules'. */
TRAINOPT__KERNEL_API double trainopt_nadam_mu_product(const trainopt_nadam_config *c, int64_t step, double mu_product) {
    if (c == NULL || !trainopt__in_01(c->beta1) || !trainopt__nonneg(c->momentum_decay) || step < 1) return NAN;
    if (!(mu_product >= 0.0 && mu_product <= 1.0)) return NAN;
    return (double)((float)mu_product * (float)trainopt__nadam_mu(c, step));
}

typedef struct {
    trainopt__grad_in gi;
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float inv_bias_correction2_sqrt, eps;
    float neg_grad_step, neg_avg_step; /* -lr (1 - mu_t) / (1 - prod mu), -lr mu_{t+1} / (1 - prod mu * mu_{t+1}) */
    float weight_decay, decay_factor;
} trainopt__nadam_scalars;

/* One vector: x[0] the new parameter, x[1] and x[2] the moments. */
TRAINOPT__FORCE_INLINE void trainopt__nadam_values(const trainopt__nadam_scalars *s, size_t i, size_t k, int scaled,
                                                   size_t *nonfinite, int l2, int decoupled, const float *param,
                                                   const float *grad, const float *exp_avg, const float *exp_avg_sq,
                                                   trainopt__vf *x) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf denom, update;
    if (l2) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    trainopt__adam_moments_of(s->beta1, s->one_minus_beta1, s->beta2, s->one_minus_beta2, g, i, k, TRAINOPT_F32, exp_avg,
                              exp_avg_sq, &x[1], &x[2]);
    denom = trainopt__v_fma(trainopt__v_sqrt(x[2]), trainopt__v_set1(s->inv_bias_correction2_sqrt), trainopt__v_set1(s->eps));
    /* PyTorch's two addcdivs over one denominator, as one division of their summed numerators */
    update = trainopt__v_fma(trainopt__v_set1(s->neg_grad_step), g, trainopt__v_mul(trainopt__v_set1(s->neg_avg_step), x[1]));
    update = trainopt__v_div(update, denom);
    if (decoupled) x[0] = trainopt__v_fma(p, trainopt__v_set1(s->decay_factor), update);
    else x[0] = trainopt__v_add(p, update);
}

TRAINOPT__FORCE_INLINE void trainopt__nadam_loop(const trainopt__nadam_scalars *s, size_t n, int scaled, size_t *nonfinite,
                                                 int l2, int decoupled, float *param, const float *grad, float *exp_avg,
                                                 float *exp_avg_sq) {
    void *const out[3] = {param, exp_avg, exp_avg_sq};
    const int dts[3] = {TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_F32};
#define TRAINOPT__NADAM_VALUES(i, k, x)                                                                                \
    trainopt__nadam_values(s, i, k, scaled, nonfinite, l2, decoupled, param, grad, exp_avg, exp_avg_sq, x)
    TRAINOPT__STORE_RUNS(n, 3, 7, out, dts, TRAINOPT__NADAM_VALUES);
#undef TRAINOPT__NADAM_VALUES
}

/* The checks after the hyperparameters, shared by the new optimizers: options, step,
   then (unless there is nothing to do) the arrays. Returns OK with *done set when the
   step is a no-op (n == 0 or found_inf), after writing the zero count. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__step_common(const trainopt_step_opts *o, int64_t step, size_t n,
                                                             trainopt__arrays *arrays, int *done, const char *fn) {
    trainopt_status st;
    int skip;
    *done = 0;
    if ((st = trainopt__step_opts_check(o, n, arrays->ptr, arrays->name, (int)arrays->count, &skip, fn)) != TRAINOPT_OK)
        return st;
    if (step < 1) return trainopt__once_step(fn, step);
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        *done = 1;
        return TRAINOPT_OK;
    }
    return trainopt__check_arrays(arrays, n, fn);
}

/* NAdam's per-step scalars from a checked config, the step and its mu_product (the
   mixed-precision step, src/mixed.h, shares them). */
TRAINOPT__FORCE_INLINE trainopt__nadam_scalars trainopt__nadam_scalars_make(const trainopt_nadam_config *c, int64_t step,
                                                                           double mu_product, const trainopt_step_opts *o) {
    trainopt__nadam_scalars s;
    const double mu = trainopt__nadam_mu(c, step), mu_next = trainopt__nadam_mu(c, step + (step < INT64_MAX));
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.beta1 = (float)c->beta1;
    s.one_minus_beta1 = (float)(1.0 - c->beta1);
    s.beta2 = (float)c->beta2;
    s.one_minus_beta2 = (float)(1.0 - c->beta2);
    s.inv_bias_correction2_sqrt = (float)(1.0 / sqrt(1.0 - trainopt__powi(c->beta2, step)));
    s.eps = (float)c->eps;
    s.neg_grad_step = (float)(-c->lr * (1.0 - mu) / (1.0 - mu_product));
    s.neg_avg_step = (float)(-c->lr * mu_next / fma(-mu_product, mu_next, 1.0)); /* fma: no compiler may contract it otherwise */
    s.weight_decay = (float)c->weight_decay;
    s.decay_factor = (float)fma(-c->lr, c->weight_decay, 1.0);
    return s;
}

/* The loop a checked config chooses (the mixed-precision step runs it on each block). */
TRAINOPT__FORCE_INLINE void trainopt__nadam_loops(const trainopt_nadam_config *c, const trainopt__nadam_scalars *s, size_t n,
                                                  float *param, const float *grad, float *exp_avg, float *exp_avg_sq,
                                                  const trainopt_step_opts *o) {
    const int l2 = !c->decoupled_weight_decay && c->weight_decay != 0.0;
    const int decay = c->decoupled_weight_decay && c->weight_decay != 0.0;
#define TRAINOPT__NADAM_LOOP(scaled, bad)                                                             \
    if (l2) trainopt__nadam_loop(s, n, scaled, bad, 1, 0, param, grad, exp_avg, exp_avg_sq);          \
    else if (decay) trainopt__nadam_loop(s, n, scaled, bad, 0, 1, param, grad, exp_avg, exp_avg_sq);  \
    else trainopt__nadam_loop(s, n, scaled, bad, 0, 0, param, grad, exp_avg, exp_avg_sq);
    TRAINOPT__RUN_STEP(o, TRAINOPT__NADAM_LOOP);
#undef TRAINOPT__NADAM_LOOP
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__nadam_run(const trainopt_nadam_config *c, int64_t step, double mu_product,
                                                           size_t n, float *param, const float *grad, float *exp_avg,
                                                           float *exp_avg_sq, const trainopt_step_opts *o, const char *fn) {
    trainopt__nadam_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int done;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if ((st = trainopt__adamlike_check(c->lr, c->beta1, c->beta2, c->eps, c->weight_decay, fn)) != TRAINOPT_OK) return st;
    if (!trainopt__nonneg(c->momentum_decay))
        return trainopt__once_hparam(fn, "momentum_decay", c->momentum_decay, TRAINOPT__WHY_NONNEG);
    if (!trainopt__in_01(mu_product))
        return trainopt__once_hparam(fn, "mu_product", mu_product,
                                     "is outside [0, 1) (pass trainopt_nadam_mu_product's value for this step)");
    arrays.count = 0;
    trainopt__arrays_add(&arrays, param, "param");
    trainopt__arrays_add(&arrays, grad, "grad");
    trainopt__arrays_add(&arrays, exp_avg, "exp_avg");
    trainopt__arrays_add(&arrays, exp_avg_sq, "exp_avg_sq");
    if ((st = trainopt__step_common(o, step, n, &arrays, &done, fn)) != TRAINOPT_OK || done) return st;

    s = trainopt__nadam_scalars_make(c, step, mu_product, o);
    trainopt__nadam_loops(c, &s, n, param, grad, exp_avg, exp_avg_sq, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_nadam_step(const trainopt_nadam_config *c, int64_t step, double mu_product,
                                                         size_t n, float *param, const float *grad, float *exp_avg,
                                                         float *exp_avg_sq) {
    return trainopt__nadam_run(c, step, mu_product, n, param, grad, exp_avg, exp_avg_sq, NULL, "trainopt_nadam_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_nadam_step_ex(const trainopt_nadam_config *c, int64_t step, double mu_product,
                                                            size_t n, float *param, const float *grad, float *exp_avg,
                                                            float *exp_avg_sq, const trainopt_step_opts *o) {
    return trainopt__nadam_run(c, step, mu_product, n, param, grad, exp_avg, exp_avg_sq, o, "trainopt_nadam_step_ex");
}

/* >>radam */

typedef struct {
    trainopt__grad_in gi;
    float beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
    float neg_step_size; /* rectified: -lr rect sqrt(bc2) / bc1; otherwise -lr / bc1 */
    float weight_decay, decay_factor;
    int rectified; /* the approximated SMA is long enough (rho_t > 5): the adaptive step */
} trainopt__radam_scalars;

/* One vector: x[0] the new parameter, x[1] and x[2] the moments. */
TRAINOPT__FORCE_INLINE void trainopt__radam_values(const trainopt__radam_scalars *s, size_t i, size_t k, int scaled,
                                                   size_t *nonfinite, int l2, int decoupled, int rectified, const float *param,
                                                   const float *grad, const float *exp_avg, const float *exp_avg_sq,
                                                   trainopt__vf *x) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf update;
    if (l2) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    trainopt__adam_moments_of(s->beta1, s->one_minus_beta1, s->beta2, s->one_minus_beta2, g, i, k, TRAINOPT_F32, exp_avg,
                              exp_avg_sq, &x[1], &x[2]);
    update = trainopt__v_mul(trainopt__v_set1(s->neg_step_size), x[1]);
    /* eps is added to sqrt(v) before the bias correction, as 1.13's single-tensor path */
    if (rectified) update = trainopt__v_div(update, trainopt__v_add(trainopt__v_sqrt(x[2]), trainopt__v_set1(s->eps)));
    if (decoupled) x[0] = trainopt__v_fma(p, trainopt__v_set1(s->decay_factor), update);
    else x[0] = trainopt__v_add(p, update);
}

TRAINOPT__FORCE_INLINE void trainopt__radam_loop(const trainopt__radam_scalars *s, size_t n, int scaled, size_t *nonfinite,
                                                 int l2, int decoupled, int rectified, float *param, const float *grad,
                                                 float *exp_avg, float *exp_avg_sq) {
    void *const out[3] = {param, exp_avg, exp_avg_sq};
    const int dts[3] = {TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_F32};
#define TRAINOPT__RADAM_VALUES(i, k, x)                                                                                \
    trainopt__radam_values(s, i, k, scaled, nonfinite, l2, decoupled, rectified, param, grad, exp_avg, exp_avg_sq, x)
    TRAINOPT__STORE_RUNS(n, 3, 7, out, dts, TRAINOPT__RADAM_VALUES);
#undef TRAINOPT__RADAM_VALUES
}

/* The per-step scalars of a checked config, and the loop they choose (the mixed-precision
   steps, src/mixed.h, run it on each block). */
TRAINOPT__FORCE_INLINE trainopt__radam_scalars trainopt__radam_scalars_make(const trainopt_radam_config *c, int64_t step,
                                                                           const trainopt_step_opts *o) {
    const double beta2_t = trainopt__powi(c->beta2, step);
    const double bias_correction1 = 1.0 - trainopt__powi(c->beta1, step);
    const double bias_correction2 = 1.0 - beta2_t;
    /* The length of the approximated SMA decides the branch once per step, for every element. */
    const double rho_inf = 2.0 / (1.0 - c->beta2) - 1.0;
    const double rho_t = rho_inf - 2.0 * (double)step * beta2_t / bias_correction2;
    trainopt__radam_scalars s;
    s.rectified = rho_t > 5.0;
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.beta1 = (float)c->beta1;
    s.one_minus_beta1 = (float)(1.0 - c->beta1);
    s.beta2 = (float)c->beta2;
    s.one_minus_beta2 = (float)(1.0 - c->beta2);
    s.eps = (float)c->eps;
    if (s.rectified) {
        const double rect = sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t));
        s.neg_step_size = (float)(-c->lr * rect * sqrt(bias_correction2) / bias_correction1);
    } else {
        s.neg_step_size = (float)(-c->lr / bias_correction1);
    }
    s.weight_decay = (float)c->weight_decay;
    s.decay_factor = (float)fma(-c->lr, c->weight_decay, 1.0);
    return s;
}
TRAINOPT__FORCE_INLINE void trainopt__radam_loops(const trainopt_radam_config *c, const trainopt__radam_scalars *s, size_t n,
                                                  float *param, const float *grad, float *exp_avg, float *exp_avg_sq,
                                                  const trainopt_step_opts *o) {
    const int l2 = !c->decoupled_weight_decay && c->weight_decay != 0.0;
    const int decay = c->decoupled_weight_decay && c->weight_decay != 0.0;
#define TRAINOPT__RADAM_LOOP(scaled, bad)                                                                           \
    if (s->rectified) {                                                                                             \
        if (l2) trainopt__radam_loop(s, n, scaled, bad, 1, 0, 1, param, grad, exp_avg, exp_avg_sq);                 \
        else if (decay) trainopt__radam_loop(s, n, scaled, bad, 0, 1, 1, param, grad, exp_avg, exp_avg_sq);         \
        else trainopt__radam_loop(s, n, scaled, bad, 0, 0, 1, param, grad, exp_avg, exp_avg_sq);                    \
    } else {                                                                                                        \
        trainopt__radam_loop(s, n, scaled, bad, l2, decay, 0, param, grad, exp_avg, exp_avg_sq);                    \
    }
    TRAINOPT__RUN_STEP(o, TRAINOPT__RADAM_LOOP);
#undef TRAINOPT__RADAM_LOOP
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__radam_run(const trainopt_radam_config *c, int64_t step, size_t n,
                                                           float *param, const float *grad, float *exp_avg,
                                                           float *exp_avg_sq, const trainopt_step_opts *o, const char *fn) {
    trainopt__radam_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int done;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if ((st = trainopt__adamlike_check(c->lr, c->beta1, c->beta2, c->eps, c->weight_decay, fn)) != TRAINOPT_OK) return st;
    arrays.count = 0;
    trainopt__arrays_add(&arrays, param, "param");
    trainopt__arrays_add(&arrays, grad, "grad");
    trainopt__arrays_add(&arrays, exp_avg, "exp_avg");
    trainopt__arrays_add(&arrays, exp_avg_sq, "exp_avg_sq");
    if ((st = trainopt__step_common(o, step, n, &arrays, &done, fn)) != TRAINOPT_OK || done) return st;

    s = trainopt__radam_scalars_make(c, step, o);
    trainopt__radam_loops(c, &s, n, param, grad, exp_avg, exp_avg_sq, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_radam_step(const trainopt_radam_config *c, int64_t step, size_t n,
                                                         float *param, const float *grad, float *exp_avg,
                                                         float *exp_avg_sq) {
    return trainopt__radam_run(c, step, n, param, grad, exp_avg, exp_avg_sq, NULL, "trainopt_radam_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_radam_step_ex(const trainopt_radam_config *c, int64_t step, size_t n,
                                                            float *param, const float *grad, float *exp_avg,
                                                            float *exp_avg_sq, const trainopt_step_opts *o) {
    return trainopt__radam_run(c, step, n, param, grad, exp_avg, exp_avg_sq, o, "trainopt_radam_step_ex");
}

/* >>adamax */

typedef struct {
    trainopt__grad_in gi;
    float beta1, one_minus_beta1, beta2, eps, neg_clr, weight_decay;
} trainopt__adamax_scalars;

/* One vector: x[0] the new parameter, x[1] exp_avg, x[2] exp_inf. */
TRAINOPT__FORCE_INLINE void trainopt__adamax_values(const trainopt__adamax_scalars *s, size_t i, size_t k, int scaled,
                                                    size_t *nonfinite, int has_wd, const float *param, const float *grad,
                                                    const float *exp_avg, const float *exp_inf, trainopt__vf *x) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf m, u;
    if (has_wd) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    m = trainopt__v_mul(trainopt__v_load_n(exp_avg + i, k), trainopt__v_set1(s->beta1));
    m = trainopt__v_fma(trainopt__v_set1(s->one_minus_beta1), g, m);
    /* torch.amax over (exp_inf * beta2, |g| + eps): NaN from either side */
    u = trainopt__v_max_nan(trainopt__v_mul(trainopt__v_load_n(exp_inf + i, k), trainopt__v_set1(s->beta2)),
                            trainopt__v_add(trainopt__v_abs(g), trainopt__v_set1(s->eps)));
    /* addcdiv: p + (-clr * m) / u */
    x[0] = trainopt__v_add(p, trainopt__v_div(trainopt__v_mul(trainopt__v_set1(s->neg_clr), m), u));
    x[1] = m;
    x[2] = u;
}

TRAINOPT__FORCE_INLINE void trainopt__adamax_loop(const trainopt__adamax_scalars *s, size_t n, int scaled,
                                                  size_t *nonfinite, int has_wd, float *param, const float *grad,
                                                  float *exp_avg, float *exp_inf) {
    void *const out[3] = {param, exp_avg, exp_inf};
    const int dts[3] = {TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_F32};
#define TRAINOPT__ADAMAX_VALUES(i, k, x) trainopt__adamax_values(s, i, k, scaled, nonfinite, has_wd, param, grad, exp_avg, exp_inf, x)
    TRAINOPT__STORE_RUNS(n, 3, 7, out, dts, TRAINOPT__ADAMAX_VALUES);
#undef TRAINOPT__ADAMAX_VALUES
}

/* The per-step scalars of a checked config, and the loop it chooses (the mixed-precision
   steps, src/mixed.h, run it on each block). */
TRAINOPT__FORCE_INLINE trainopt__adamax_scalars trainopt__adamax_scalars_make(const trainopt_adamax_config *c, int64_t step,
                                                                             const trainopt_step_opts *o) {
    trainopt__adamax_scalars s;
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.beta1 = (float)c->beta1;
    s.one_minus_beta1 = (float)(1.0 - c->beta1);
    s.beta2 = (float)c->beta2;
    s.eps = (float)c->eps;
    s.neg_clr = (float)-(c->lr / (1.0 - trainopt__powi(c->beta1, step)));
    s.weight_decay = (float)c->weight_decay;
    return s;
}
TRAINOPT__FORCE_INLINE void trainopt__adamax_loops(const trainopt_adamax_config *c, const trainopt__adamax_scalars *s,
                                                   size_t n, float *param, const float *grad, float *exp_avg,
                                                   float *exp_inf, const trainopt_step_opts *o) {
#define TRAINOPT__ADAMAX_LOOP(scaled, bad)                                                           \
    if (c->weight_decay != 0.0) trainopt__adamax_loop(s, n, scaled, bad, 1, param, grad, exp_avg, exp_inf); \
    else trainopt__adamax_loop(s, n, scaled, bad, 0, param, grad, exp_avg, exp_inf);
    TRAINOPT__RUN_STEP(o, TRAINOPT__ADAMAX_LOOP);
#undef TRAINOPT__ADAMAX_LOOP
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__adamax_run(const trainopt_adamax_config *c, int64_t step, size_t n,
                                                            float *param, const float *grad, float *exp_avg,
                                                            float *exp_inf, const trainopt_step_opts *o, const char *fn) {
    trainopt__adamax_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int done;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if ((st = trainopt__adamlike_check(c->lr, c->beta1, c->beta2, c->eps, c->weight_decay, fn)) != TRAINOPT_OK) return st;
    arrays.count = 0;
    trainopt__arrays_add(&arrays, param, "param");
    trainopt__arrays_add(&arrays, grad, "grad");
    trainopt__arrays_add(&arrays, exp_avg, "exp_avg");
    trainopt__arrays_add(&arrays, exp_inf, "exp_inf");
    if ((st = trainopt__step_common(o, step, n, &arrays, &done, fn)) != TRAINOPT_OK || done) return st;

    s = trainopt__adamax_scalars_make(c, step, o);
    trainopt__adamax_loops(c, &s, n, param, grad, exp_avg, exp_inf, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adamax_step(const trainopt_adamax_config *c, int64_t step, size_t n,
                                                          float *param, const float *grad, float *exp_avg,
                                                          float *exp_inf) {
    return trainopt__adamax_run(c, step, n, param, grad, exp_avg, exp_inf, NULL, "trainopt_adamax_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adamax_step_ex(const trainopt_adamax_config *c, int64_t step, size_t n,
                                                             float *param, const float *grad, float *exp_avg,
                                                             float *exp_inf, const trainopt_step_opts *o) {
    return trainopt__adamax_run(c, step, n, param, grad, exp_avg, exp_inf, o, "trainopt_adamax_step_ex");
}

/* >>adadelta */

typedef struct {
    trainopt__grad_in gi;
    float neg_lr, rho, one_minus_rho, eps, weight_decay;
} trainopt__adadelta_scalars;

/* One vector: x[0] the new parameter, x[1] square_avg, x[2] acc_delta. */
TRAINOPT__FORCE_INLINE void trainopt__adadelta_values(const trainopt__adadelta_scalars *s, size_t i, size_t k, int scaled,
                                                      size_t *nonfinite, int has_wd, const float *param, const float *grad,
                                                      const float *square_avg, const float *acc_delta, trainopt__vf *x) {
    const trainopt__vf rho = trainopt__v_set1(s->rho), one_minus_rho = trainopt__v_set1(s->one_minus_rho);
    const trainopt__vf eps = trainopt__v_set1(s->eps);
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf sq, acc, delta;
    if (has_wd) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    sq = trainopt__v_mul(trainopt__v_load_n(square_avg + i, k), rho);
    sq = trainopt__v_fma(trainopt__v_mul(one_minus_rho, g), g, sq);
    acc = trainopt__v_load_n(acc_delta + i, k);
    /* sqrt(acc + eps) / sqrt(sq + eps) * g, in PyTorch's order */
    delta = trainopt__v_mul(trainopt__v_div(trainopt__v_sqrt(trainopt__v_add(acc, eps)), trainopt__v_sqrt(trainopt__v_add(sq, eps))), g);
    x[0] = trainopt__v_fma(trainopt__v_set1(s->neg_lr), delta, p);
    x[1] = sq;
    x[2] = trainopt__v_fma(trainopt__v_mul(one_minus_rho, delta), delta, trainopt__v_mul(acc, rho));
}

TRAINOPT__FORCE_INLINE void trainopt__adadelta_loop(const trainopt__adadelta_scalars *s, size_t n, int scaled,
                                                    size_t *nonfinite, int has_wd, float *param, const float *grad,
                                                    float *square_avg, float *acc_delta) {
    void *const out[3] = {param, square_avg, acc_delta};
    const int dts[3] = {TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_F32};
#define TRAINOPT__ADADELTA_VALUES(i, k, x)                                                                             \
    trainopt__adadelta_values(s, i, k, scaled, nonfinite, has_wd, param, grad, square_avg, acc_delta, x)
    TRAINOPT__STORE_RUNS(n, 3, 7, out, dts, TRAINOPT__ADADELTA_VALUES);
#undef TRAINOPT__ADADELTA_VALUES
}

/* The per-step scalars of a checked config, and the loop it chooses (the mixed-precision
   steps, src/mixed.h, run it on each block). */
TRAINOPT__FORCE_INLINE trainopt__adadelta_scalars trainopt__adadelta_scalars_make(const trainopt_adadelta_config *c,
                                                                                 const trainopt_step_opts *o) {
    trainopt__adadelta_scalars s;
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.neg_lr = (float)-c->lr;
    s.rho = (float)c->rho;
    s.one_minus_rho = (float)(1.0 - c->rho);
    s.eps = (float)c->eps;
    s.weight_decay = (float)c->weight_decay;
    return s;
}
TRAINOPT__FORCE_INLINE void trainopt__adadelta_loops(const trainopt_adadelta_config *c, const trainopt__adadelta_scalars *s,
                                                     size_t n, float *param, const float *grad, float *square_avg,
                                                     float *acc_delta, const trainopt_step_opts *o) {
#define TRAINOPT__ADADELTA_LOOP(scaled, bad)                                                                 \
    if (c->weight_decay != 0.0) trainopt__adadelta_loop(s, n, scaled, bad, 1, param, grad, square_avg, acc_delta); \
    else trainopt__adadelta_loop(s, n, scaled, bad, 0, param, grad, square_avg, acc_delta);
    TRAINOPT__RUN_STEP(o, TRAINOPT__ADADELTA_LOOP);
#undef TRAINOPT__ADADELTA_LOOP
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__adadelta_run(const trainopt_adadelta_config *c, int64_t step, size_t n,
                                                              float *param, const float *grad, float *square_avg,
                                                              float *acc_delta, const trainopt_step_opts *o,
                                                              const char *fn) {
    trainopt__adadelta_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int done;
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__nonneg(c->lr)) return trainopt__once_hparam(fn, "lr", c->lr, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->rho) || c->rho > 1.0) return trainopt__once_hparam(fn, "rho", c->rho, TRAINOPT__WHY_0_1);
    if (!trainopt__nonneg(c->eps)) return trainopt__once_hparam(fn, "eps", c->eps, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->weight_decay))
        return trainopt__once_hparam(fn, "weight_decay", c->weight_decay, TRAINOPT__WHY_NONNEG);
    arrays.count = 0;
    trainopt__arrays_add(&arrays, param, "param");
    trainopt__arrays_add(&arrays, grad, "grad");
    trainopt__arrays_add(&arrays, square_avg, "square_avg");
    trainopt__arrays_add(&arrays, acc_delta, "acc_delta");
    if ((st = trainopt__step_common(o, step, n, &arrays, &done, fn)) != TRAINOPT_OK || done) return st;

    s = trainopt__adadelta_scalars_make(c, o);
    trainopt__adadelta_loops(c, &s, n, param, grad, square_avg, acc_delta, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adadelta_step(const trainopt_adadelta_config *c, int64_t step, size_t n,
                                                            float *param, const float *grad, float *square_avg,
                                                            float *acc_delta) {
    return trainopt__adadelta_run(c, step, n, param, grad, square_avg, acc_delta, NULL, "trainopt_adadelta_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_adadelta_step_ex(const trainopt_adadelta_config *c, int64_t step, size_t n,
                                                               float *param, const float *grad, float *square_avg,
                                                               float *acc_delta, const trainopt_step_opts *o) {
    return trainopt__adadelta_run(c, step, n, param, grad, square_avg, acc_delta, o, "trainopt_adadelta_step_ex");
}

/* >>lion */

typedef struct {
    trainopt__grad_in gi;
    float neg_lr, beta1, one_minus_beta1, beta2, one_minus_beta2, weight_decay;
} trainopt__lion_scalars;

/* One vector: x[0] the new parameter, x[1] exp_avg. */
TRAINOPT__FORCE_INLINE void trainopt__lion_values(const trainopt__lion_scalars *s, size_t i, size_t k, int scaled,
                                                  size_t *nonfinite, int has_wd, const float *param, const float *grad,
                                                  const float *exp_avg, trainopt__vf *x) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf m = trainopt__v_load_n(exp_avg + i, k);
    trainopt__vf u = trainopt__v_sign(trainopt__v_fma(trainopt__v_set1(s->one_minus_beta1), g,
                                                      trainopt__v_mul(trainopt__v_set1(s->beta1), m)));
    /* optax: add_decayed_weights (u + wd p), then scale_by_learning_rate (-lr) */
    if (has_wd) u = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, u);
    x[1] = trainopt__v_fma(trainopt__v_set1(s->one_minus_beta2), g, trainopt__v_mul(trainopt__v_set1(s->beta2), m));
    x[0] = trainopt__v_fma(trainopt__v_set1(s->neg_lr), u, p);
}

TRAINOPT__FORCE_INLINE void trainopt__lion_loop(const trainopt__lion_scalars *s, size_t n, int scaled, size_t *nonfinite,
                                                int has_wd, float *param, const float *grad, float *exp_avg) {
    void *const out[2] = {param, exp_avg};
    const int dts[2] = {TRAINOPT_F32, TRAINOPT_F32};
#define TRAINOPT__LION_VALUES(i, k, x) trainopt__lion_values(s, i, k, scaled, nonfinite, has_wd, param, grad, exp_avg, x)
    TRAINOPT__STORE_RUNS(n, 2, 3, out, dts, TRAINOPT__LION_VALUES);
#undef TRAINOPT__LION_VALUES
}

/* Lion's config checks and per-step scalars (the 8-bit step, src/quant8.h, shares them). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__lion_check(const trainopt_lion_config *c, const char *fn) {
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__nonneg(c->lr))
        return trainopt__once_hparam(fn, "lr", c->lr, "is not a finite number >= 0 (Lion has no default lr: set it)");
    if (!trainopt__nonneg(c->beta1) || c->beta1 > 1.0) return trainopt__once_hparam(fn, "beta1", c->beta1, TRAINOPT__WHY_0_1);
    if (!trainopt__nonneg(c->beta2) || c->beta2 > 1.0) return trainopt__once_hparam(fn, "beta2", c->beta2, TRAINOPT__WHY_0_1);
    if (!trainopt__nonneg(c->weight_decay))
        return trainopt__once_hparam(fn, "weight_decay", c->weight_decay, TRAINOPT__WHY_NONNEG);
    return TRAINOPT_OK;
}
TRAINOPT__FORCE_INLINE trainopt__lion_scalars trainopt__lion_scalars_make(const trainopt_lion_config *c, const trainopt_step_opts *o) {
    trainopt__lion_scalars s;
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.neg_lr = (float)-c->lr;
    s.beta1 = (float)c->beta1;
    s.one_minus_beta1 = (float)(1.0 - c->beta1);
    s.beta2 = (float)c->beta2;
    s.one_minus_beta2 = (float)(1.0 - c->beta2);
    s.weight_decay = (float)c->weight_decay;
    return s;
}

/* The loop a checked config chooses (the mixed-precision steps, src/mixed.h, run it on each block). */
TRAINOPT__FORCE_INLINE void trainopt__lion_loops(const trainopt_lion_config *c, const trainopt__lion_scalars *s, size_t n,
                                                 float *param, const float *grad, float *exp_avg,
                                                 const trainopt_step_opts *o) {
#define TRAINOPT__LION_LOOP(scaled, bad)                                                 \
    if (c->weight_decay != 0.0) trainopt__lion_loop(s, n, scaled, bad, 1, param, grad, exp_avg); \
    else trainopt__lion_loop(s, n, scaled, bad, 0, param, grad, exp_avg);
    TRAINOPT__RUN_STEP(o, TRAINOPT__LION_LOOP);
#undef TRAINOPT__LION_LOOP
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__lion_run(const trainopt_lion_config *c, int64_t step, size_t n,
                                                          float *param, const float *grad, float *exp_avg,
                                                          const trainopt_step_opts *o, const char *fn) {
    trainopt__lion_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int done;
    if ((st = trainopt__lion_check(c, fn)) != TRAINOPT_OK) return st;
    arrays.count = 0;
    trainopt__arrays_add(&arrays, param, "param");
    trainopt__arrays_add(&arrays, grad, "grad");
    trainopt__arrays_add(&arrays, exp_avg, "exp_avg");
    if ((st = trainopt__step_common(o, step, n, &arrays, &done, fn)) != TRAINOPT_OK || done) return st;

    s = trainopt__lion_scalars_make(c, o);
    trainopt__lion_loops(c, &s, n, param, grad, exp_avg, o);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_lion_step(const trainopt_lion_config *c, int64_t step, size_t n, float *param,
                                                        const float *grad, float *exp_avg) {
    return trainopt__lion_run(c, step, n, param, grad, exp_avg, NULL, "trainopt_lion_step");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_lion_step_ex(const trainopt_lion_config *c, int64_t step, size_t n,
                                                           float *param, const float *grad, float *exp_avg,
                                                           const trainopt_step_opts *o) {
    return trainopt__lion_run(c, step, n, param, grad, exp_avg, o, "trainopt_lion_step_ex");
}
