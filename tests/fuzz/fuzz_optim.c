/* tests/fuzz/fuzz_optim.c - optimizers: one configuration, three consecutive steps of
   SGD, Adagrad (with its init), RMSprop, Adam, AdamW, NAdam (with its mu product),
   RAdam, Adamax, Adadelta or Lion, plain or fused (_ex with a
   gradient scale, found_inf, a non-finite count); state arrays present, NULL, the
   gradient aliasing the parameters or a state array overlapping them. Outputs: the
   statuses, the count, the parameters and every state array. See fuzz.h. */
#include "fuzz.h"
#include "trainopt.h"

FZ_CHECK_REACHED /* every public function has a fuzz path (fuzz.h) */

#include <stdlib.h>

void FZ_NAME(fz_optim)(const uint8_t *data, size_t size, fz_out *out);

/* The multi-tensor steps: after the third step, one more on the arrays cut into a list
   of two tensors, on a hook that runs the pieces in reverse. */
static void fz_reverse_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    (void)ctx;
    while (count-- > 0) task(arg, count);
}
static const trainopt_threads fz_threads = {fz_reverse_for, NULL};
static void fz_list(trainopt_tensor *list, size_t n, float *param, const float *g, float *const *s) {
    int j, i;
    for (j = 0; j < 2; j++) {
        const size_t off = j ? n / 2 : 0;
        list[j].param = param + off, list[j].grad = g + off, list[j].n = j ? n - n / 2 : n / 2;
        for (i = 0; i < TRAINOPT_MAX_STATES; i++) list[j].state[i] = i < 3 && s[i] ? s[i] + off : NULL;
    }
}

/* fp16 NaNs keep the float's sign, which the hardware chose: one NaN, as fz_put_floats does. */
static void fz_put_halves(fz_out *out, const void *p, trainopt_dtype dtype, size_t n) {
    const uint16_t *h = (const uint16_t *)p;
    size_t i;
    for (i = 0; i < n; i++) {
        uint16_t v = h[i];
        if (dtype == TRAINOPT_F16 && (v & 0x7c00u) == 0x7c00u && (v & 0x3ffu)) v = 0x7e00u;
        if (dtype == TRAINOPT_F32) {
            fz_put_floats(out, (const float *)p + i, 1);
            continue;
        }
        fz_put(out, &v, sizeof v);
    }
}

/* The kind's mixed-precision step once, on the arrays as they are (their bytes read as
   bf16/fp16 where the descriptor says so), the descriptor from the input. */
static trainopt_status fz_mixed(unsigned kind, unsigned flags, const double *h, int64_t t, double mu_product, size_t n,
                                void *param, const void *g, void *const *s, const trainopt_precision *pr,
                                const trainopt_step_opts *op) {
    switch (kind) {
    case 0: {
        trainopt_sgd_config c;
        c.lr = h[0], c.momentum = h[1], c.dampening = h[2], c.weight_decay = h[3];
        c.nesterov = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
        return trainopt_sgd_step_mp(&c, t, n, param, g, s[0], pr, op);
    }
    case 1: {
        trainopt_adagrad_config c;
        c.lr = h[0], c.lr_decay = h[1], c.weight_decay = h[3], c.initial_accumulator_value = h[4], c.eps = h[5];
        c.maximize = (flags >> 5) & 1;
        return trainopt_adagrad_step_mp(&c, t, n, param, g, s[0], pr, op);
    }
    case 2: {
        trainopt_rmsprop_config c;
        c.lr = h[0], c.alpha = h[1], c.eps = h[5], c.weight_decay = h[3], c.momentum = h[2];
        c.centered = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
        return trainopt_rmsprop_step_mp(&c, t, n, param, g, s[0], s[1], s[2], pr, op);
    }
    case 5: {
        trainopt_nadam_config c;
        c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3], c.momentum_decay = h[4];
        c.decoupled_weight_decay = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
        return trainopt_nadam_step_mp(&c, t, mu_product, n, param, g, s[0], s[1], pr, op);
    }
    case 3:
    case 4: {
        trainopt_adam_config c;
        c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3];
        c.amsgrad = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
        return kind == 3 ? trainopt_adam_step_mp(&c, t, n, param, g, s[0], s[1], s[2], pr, op)
                         : trainopt_adamw_step_mp(&c, t, n, param, g, s[0], s[1], s[2], pr, op);
    }
    case 6: {
        trainopt_radam_config c;
        c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3];
        c.decoupled_weight_decay = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
        return trainopt_radam_step_mp(&c, t, n, param, g, s[0], s[1], pr, op);
    }
    case 7: {
        trainopt_adamax_config c;
        c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3];
        c.maximize = (flags >> 5) & 1;
        return trainopt_adamax_step_mp(&c, t, n, param, g, s[0], s[1], pr, op);
    }
    case 8: {
        trainopt_adadelta_config c;
        c.lr = h[0], c.rho = h[1], c.eps = h[5], c.weight_decay = h[3], c.maximize = (flags >> 5) & 1;
        return trainopt_adadelta_step_mp(&c, t, n, param, g, s[0], s[1], pr, op);
    }
    default: {
        trainopt_lion_config c;
        c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.weight_decay = h[3], c.maximize = (flags >> 5) & 1;
        return trainopt_lion_step_mp(&c, t, n, param, g, s[0], pr, op);
    }
    }
}

/* The kind's multi-tensor mixed-precision step on a list (fz_mp_list's), on the reverse hook. */
static trainopt_status fz_mixed_multi(unsigned kind, unsigned flags, const double *h, int64_t t, double mu_product,
                                      const trainopt_tensor_mp *list, const trainopt_precision *pr,
                                      const trainopt_step_opts *op) {
    switch (kind) {
    case 0: {
        trainopt_sgd_config c;
        c.lr = h[0], c.momentum = h[1], c.dampening = h[2], c.weight_decay = h[3];
        c.nesterov = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
        return trainopt_sgd_step_mp_multi(&c, t, 2, list, pr, op, &fz_threads);
    }
    case 1: {
        trainopt_adagrad_config c;
        c.lr = h[0], c.lr_decay = h[1], c.weight_decay = h[3], c.initial_accumulator_value = h[4], c.eps = h[5];
        c.maximize = (flags >> 5) & 1;
        return trainopt_adagrad_step_mp_multi(&c, t, 2, list, pr, op, &fz_threads);
    }
    case 2: {
        trainopt_rmsprop_config c;
        c.lr = h[0], c.alpha = h[1], c.eps = h[5], c.weight_decay = h[3], c.momentum = h[2];
        c.centered = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
        return trainopt_rmsprop_step_mp_multi(&c, t, 2, list, pr, op, &fz_threads);
    }
    case 5: {
        trainopt_nadam_config c;
        c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3], c.momentum_decay = h[4];
        c.decoupled_weight_decay = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
        return trainopt_nadam_step_mp_multi(&c, t, mu_product, 2, list, pr, op, &fz_threads);
    }
    case 3:
    case 4: {
        trainopt_adam_config c;
        c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3];
        c.amsgrad = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
        return kind == 3 ? trainopt_adam_step_mp_multi(&c, t, 2, list, pr, op, &fz_threads)
                         : trainopt_adamw_step_mp_multi(&c, t, 2, list, pr, op, &fz_threads);
    }
    case 6: {
        trainopt_radam_config c;
        c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3];
        c.decoupled_weight_decay = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
        return trainopt_radam_step_mp_multi(&c, t, 2, list, pr, op, &fz_threads);
    }
    case 7: {
        trainopt_adamax_config c;
        c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3];
        c.maximize = (flags >> 5) & 1;
        return trainopt_adamax_step_mp_multi(&c, t, 2, list, pr, op, &fz_threads);
    }
    case 8: {
        trainopt_adadelta_config c;
        c.lr = h[0], c.rho = h[1], c.eps = h[5], c.weight_decay = h[3], c.maximize = (flags >> 5) & 1;
        return trainopt_adadelta_step_mp_multi(&c, t, 2, list, pr, op, &fz_threads);
    }
    default: {
        trainopt_lion_config c;
        c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.weight_decay = h[3], c.maximize = (flags >> 5) & 1;
        return trainopt_lion_step_mp_multi(&c, t, 2, list, pr, op, &fz_threads);
    }
    }
}

/* The arrays cut into a list of two tensors at element n/2, each pointer advanced by its
   own format's element size (an unknown format: 4 bytes; the call refuses it anyway). */
static size_t fz_size(trainopt_dtype d) { return d == TRAINOPT_BF16 || d == TRAINOPT_F16 ? 2 : 4; }
static void fz_mp_list(trainopt_tensor_mp *list, size_t n, const trainopt_precision *pr, void *param, const void *g,
                       void *const *s) {
    int j, i;
    for (j = 0; j < 2; j++) {
        const size_t off = j ? n / 2 : 0;
        list[j].param = (char *)param + off * fz_size(pr->param_dtype);
        list[j].grad = (const char *)g + off * fz_size(pr->grad_dtype);
        list[j].n = j ? n - n / 2 : n / 2;
        for (i = 0; i < TRAINOPT_MAX_STATES; i++)
            list[j].state[i] = i < 3 && s[i] ? (char *)s[i] + off * fz_size(pr->state_dtype) : NULL;
    }
}

void FZ_NAME(fz_optim)(const uint8_t *data, size_t size, fz_out *out) {
    fz_in in;
    unsigned kind, flags, fused;
    size_t n, i, nonfinite = 7;
    double h[6];
    int64_t step;
    float *param, *grad, *st[3], *g, *s[3];
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    int found_inf, k;
    double mu_product = 1.0; /* NAdam: advanced once per step, or (flags & 4) h[2] as given */
    trainopt_tensor list[2];

    in.p = data, in.n = size;
    kind = fz_u8(&in) % 10;
    flags = fz_u8(&in);
    fused = flags & 1;
    n = fz_len(&in, 300);
    for (i = 0; i < 6; i++) h[i] = i == 1 || i == 2 ? fz_unit(&in) : fz_double(&in);
    step = fz_i64(&in);
    o.grad_scale = fz_double(&in);
    found_inf = (fz_u8(&in) & 7) == 0;
    o.found_inf = &found_inf;
    o.nonfinite = flags & 2 ? &nonfinite : NULL;
    param = fz_alloc(n), grad = fz_alloc(n);
    fz_fill(&in, param, n);
    fz_fill(&in, grad, n);
    for (i = 0; i < 3; i++) {
        st[i] = fz_alloc(n);
        fz_fill(&in, st[i], n);
        s[i] = flags & (8u << i) ? NULL : st[i]; /* a state array left out */
    }
    g = flags & 64 ? param : grad; /* exact aliasing: refused with ERR_ALIAS */
    if (flags & 128 && n >= 2) s[0] = param + n / 2; /* partial overlap: refused before any access */
    /* adagrad_init takes one array, so it cannot see that overlap: give it the real one */

    fz_list(list, n, param, g, s);
    fz_tag(out, "statuses");
    for (k = 0; k < 3; k++) {
        trainopt_status r = TRAINOPT_OK;
        const trainopt_step_opts *op = fused ? &o : NULL;
        const int64_t t = step > INT64_MAX - k ? step : step + k; /* no signed overflow at INT64_MAX */
        const int multi = k == 2 && !(flags & 128); /* (the list would reach past a state that overlaps param) */
        switch (kind) {
        case 0: {
            trainopt_sgd_config c;
            c.lr = h[0], c.momentum = h[1], c.dampening = h[2], c.weight_decay = h[3];
            c.nesterov = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
            r = fused ? trainopt_sgd_step_ex(&c, t, n, param, g, s[0], op) : trainopt_sgd_step(&c, t, n, param, g, s[0]);
            if (multi) fz_put_status(out, trainopt_sgd_step_multi(&c, t, 2, list, op, &fz_threads));
            break;
        }
        case 1: {
            trainopt_adagrad_config c;
            c.lr = h[0], c.lr_decay = h[1], c.weight_decay = h[3], c.initial_accumulator_value = h[4], c.eps = h[5];
            c.maximize = (flags >> 5) & 1;
            if (k == 0) fz_put_status(out, trainopt_adagrad_init(&c, n, s[0] && s[0] != st[0] ? st[0] : s[0]));
            r = fused ? trainopt_adagrad_step_ex(&c, t, n, param, g, s[0], op) : trainopt_adagrad_step(&c, t, n, param, g, s[0]);
            if (multi) fz_put_status(out, trainopt_adagrad_step_multi(&c, t, 2, list, op, &fz_threads));
            break;
        }
        case 2: {
            trainopt_rmsprop_config c;
            c.lr = h[0], c.alpha = h[1], c.eps = h[5], c.weight_decay = h[3], c.momentum = h[2];
            c.centered = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
            r = fused ? trainopt_rmsprop_step_ex(&c, t, n, param, g, s[0], s[1], s[2], op)
                      : trainopt_rmsprop_step(&c, t, n, param, g, s[0], s[1], s[2]);
            if (multi) fz_put_status(out, trainopt_rmsprop_step_multi(&c, t, 2, list, op, &fz_threads));
            break;
        }
        case 3:
        case 4: {
            trainopt_adam_config c;
            c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3];
            c.amsgrad = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
            if (kind == 3)
                r = fused ? trainopt_adam_step_ex(&c, t, n, param, g, s[0], s[1], s[2], op)
                          : trainopt_adam_step(&c, t, n, param, g, s[0], s[1], s[2]);
            if (kind == 3 && multi) fz_put_status(out, trainopt_adam_step_multi(&c, t, 2, list, op, &fz_threads));
            else
                r = fused ? trainopt_adamw_step_ex(&c, t, n, param, g, s[0], s[1], s[2], op)
                          : trainopt_adamw_step(&c, t, n, param, g, s[0], s[1], s[2]);
            if (kind != 3 && multi) fz_put_status(out, trainopt_adamw_step_multi(&c, t, 2, list, op, &fz_threads));
            break;
        }
        case 5: {
            trainopt_nadam_config c;
            c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3], c.momentum_decay = h[4];
            c.decoupled_weight_decay = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
            mu_product = flags & 4 ? h[2] : trainopt_nadam_mu_product(&c, t, mu_product);
            fz_put(out, &mu_product, sizeof mu_product);
            r = fused ? trainopt_nadam_step_ex(&c, t, mu_product, n, param, g, s[0], s[1], op)
                      : trainopt_nadam_step(&c, t, mu_product, n, param, g, s[0], s[1]);
            if (multi) fz_put_status(out, trainopt_nadam_step_multi(&c, t, mu_product, 2, list, op, &fz_threads));
            break;
        }
        case 6: {
            trainopt_radam_config c;
            c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3];
            c.decoupled_weight_decay = (flags >> 4) & 1, c.maximize = (flags >> 5) & 1;
            r = fused ? trainopt_radam_step_ex(&c, t, n, param, g, s[0], s[1], op)
                      : trainopt_radam_step(&c, t, n, param, g, s[0], s[1]);
            if (multi) fz_put_status(out, trainopt_radam_step_multi(&c, t, 2, list, op, &fz_threads));
            break;
        }
        case 7: {
            trainopt_adamax_config c;
            c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[5], c.weight_decay = h[3];
            c.maximize = (flags >> 5) & 1;
            r = fused ? trainopt_adamax_step_ex(&c, t, n, param, g, s[0], s[1], op)
                      : trainopt_adamax_step(&c, t, n, param, g, s[0], s[1]);
            if (multi) fz_put_status(out, trainopt_adamax_step_multi(&c, t, 2, list, op, &fz_threads));
            break;
        }
        case 8: {
            trainopt_adadelta_config c;
            c.lr = h[0], c.rho = h[1], c.eps = h[5], c.weight_decay = h[3], c.maximize = (flags >> 5) & 1;
            r = fused ? trainopt_adadelta_step_ex(&c, t, n, param, g, s[0], s[1], op)
                      : trainopt_adadelta_step(&c, t, n, param, g, s[0], s[1]);
            if (multi) fz_put_status(out, trainopt_adadelta_step_multi(&c, t, 2, list, op, &fz_threads));
            break;
        }
        default: {
            trainopt_lion_config c;
            c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.weight_decay = h[3], c.maximize = (flags >> 5) & 1;
            r = fused ? trainopt_lion_step_ex(&c, t, n, param, g, s[0], op) : trainopt_lion_step(&c, t, n, param, g, s[0]);
            if (multi) fz_put_status(out, trainopt_lion_step_multi(&c, t, 2, list, op, &fz_threads));
            break;
        }
        }
        fz_put_status(out, r);
    }
    { /* mixed precision: the descriptor (any enum value, valid or not) and an aux/copy from the input */
        trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
        const unsigned d = fz_u8(&in), e = fz_u8(&in);
        float *aux = fz_alloc(n), *copy = fz_alloc(n);
        void *const vs[3] = {s[0], s[1], s[2]};
        fz_fill(&in, aux, n);
        pr.param_dtype = (trainopt_dtype)(d % 4);
        pr.param_mode = (trainopt_param_mode)((d >> 2) % 5);
        pr.grad_dtype = (trainopt_dtype)((d >> 5) % 4);
        pr.state_dtype = (trainopt_dtype)(e % 3);
        pr.copy_dtype = (trainopt_dtype)((e >> 2) % 3);
        pr.param_aux = e & 16 ? aux : NULL;
        pr.copy = e & 32 ? copy : NULL;
        pr.seed = fz_u64(&in), pr.offset = fz_u64(&in);
        fz_tag(out, "mixed");
        fz_put_status(out, fz_mixed(kind, flags, h, step, mu_product, n, param, g, vs, &pr, fused ? &o : NULL));
        fz_put_halves(out, param, pr.param_dtype < 3 ? pr.param_dtype : TRAINOPT_F32, n);
        fz_put_halves(out, aux, pr.param_dtype < 3 ? pr.param_dtype : TRAINOPT_F32, n);
        if (pr.copy) fz_put_halves(out, copy, pr.copy_dtype < 3 ? pr.copy_dtype : TRAINOPT_F32, n);
        if (!(flags & 128)) { /* once more on the list of two tensors (the list would reach past an overlapping state) */
            trainopt_tensor_mp mlist[2];
            void *auxes[2], *copies[2];
            trainopt_precision mpr = pr;
            fz_mp_list(mlist, n, &pr, param, g, vs);
            auxes[0] = aux, auxes[1] = (char *)aux + n / 2 * fz_size(pr.param_dtype);
            copies[0] = copy, copies[1] = (char *)copy + n / 2 * fz_size(pr.copy_dtype);
            mpr.param_aux = pr.param_aux ? (void *)auxes : NULL;
            mpr.copy = pr.copy ? (void *)copies : NULL;
            fz_tag(out, "mixed multi");
            fz_put_status(out, fz_mixed_multi(kind, flags, h, step, mu_product, mlist, &mpr, fused ? &o : NULL));
            fz_put_halves(out, param, pr.param_dtype < 3 ? pr.param_dtype : TRAINOPT_F32, n);
            fz_put_halves(out, aux, pr.param_dtype < 3 ? pr.param_dtype : TRAINOPT_F32, n);
            if (pr.copy) fz_put_halves(out, copy, pr.copy_dtype < 3 ? pr.copy_dtype : TRAINOPT_F32, n);
        }
        free(aux), free(copy);
    }
    fz_tag(out, "nonfinite");
    fz_put(out, &nonfinite, sizeof nonfinite);
    fz_tag(out, "param");
    fz_put_floats(out, param, n);
    fz_tag(out, "grad");
    fz_put_floats(out, grad, n);
    for (i = 0; i < 3; i++) {
        fz_tag(out, i == 0 ? "state 0" : i == 1 ? "state 1" : "state 2");
        fz_put_floats(out, st[i], n);
    }
    free(param), free(grad);
    for (i = 0; i < 3; i++) free(st[i]);
}
