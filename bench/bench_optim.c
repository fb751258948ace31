/* bench/bench_optim.c - trainopt's optimizers. Compiled once per backend
   (-DTOB_BACKEND=avx512|avx2|scalar with that backend's flags); each copy
   exports its table as tob_optim_<backend>. */
#include "bench.h"
#include "bench_config.h"
#include "trainopt.h"

#define TOB_EXPORT(x) TOB_CAT(x, TOB_BACKEND)

static void bm_sgd(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "sgd", 3, n);
    trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
    (void)arg;
    if (!a) return;
    c.lr = TOB_SGD_LR;
    c.momentum = TOB_SGD_MOMENTUM;
    if (trainopt_sgd_step(&c, TOB_STEP, n, a[0], a[1], a[2]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_sgd_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_sgd_step(&c, TOB_STEP, n, a[0], a[1], a[2]);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_SGD * (double)n);
}

static void bm_adagrad(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "adagrad", 3, n);
    trainopt_adagrad_config c = TRAINOPT_ADAGRAD_DEFAULTS;
    (void)arg;
    if (!a) return;
    c.lr = TOB_ADAGRAD_LR;
    c.eps = TOB_ADAGRAD_EPS;
    if (trainopt_adagrad_step(&c, TOB_STEP, n, a[0], a[1], a[2]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_adagrad_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_adagrad_step(&c, TOB_STEP, n, a[0], a[1], a[2]);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_ADAGRAD * (double)n);
}

static void bm_rmsprop(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "rmsprop", 3, n);
    trainopt_rmsprop_config c = TRAINOPT_RMSPROP_DEFAULTS;
    (void)arg;
    if (!a) return;
    c.lr = TOB_RMSPROP_LR;
    c.alpha = TOB_RMSPROP_ALPHA;
    c.eps = TOB_RMSPROP_EPS;
    if (trainopt_rmsprop_step(&c, TOB_STEP, n, a[0], a[1], a[2], NULL, NULL) != TRAINOPT_OK) {
        tob_error(s, "trainopt_rmsprop_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_rmsprop_step(&c, TOB_STEP, n, a[0], a[1], a[2], NULL, NULL);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_RMSPROP * (double)n);
}

/* arg: 0 Adam, 1 AdamW, 2 AMSGrad (Adam with amsgrad). */
static void bm_adam(tob_state *s, const void *arg) {
    const int which = *(const int *)arg;
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, which == 2 ? "amsgrad" : "adam", which == 2 ? 5 : 4, n);
    trainopt_adam_config c = TRAINOPT_ADAM_DEFAULTS;
    trainopt_status (*step)(const trainopt_adam_config *, int64_t, size_t, float *, const float *, float *, float *,
                            float *) = which == 1 ? trainopt_adamw_step : trainopt_adam_step;
    float *vmax;
    if (!a) return;
    vmax = which == 2 ? a[4] : NULL;
    c.lr = TOB_ADAM_LR;
    c.beta1 = TOB_ADAM_BETA1;
    c.beta2 = TOB_ADAM_BETA2;
    c.eps = TOB_ADAM_EPS;
    c.weight_decay = which == 1 ? TOB_ADAMW_WD : 0.0;
    c.amsgrad = which == 2;
    if (step(&c, TOB_STEP, n, a[0], a[1], a[2], a[3], vmax) != TRAINOPT_OK) {
        tob_error(s, "trainopt_adam_step failed");
        return;
    }
    /* Separate loops so each call site is the direct, inlined call a user makes. */
    if (which == 1) {
        while (tob_loop(s)) {
            trainopt_adamw_step(&c, TOB_STEP, n, a[0], a[1], a[2], a[3], NULL);
            tob_clobber();
        }
    } else {
        while (tob_loop(s)) {
            trainopt_adam_step(&c, TOB_STEP, n, a[0], a[1], a[2], a[3], vmax);
            tob_clobber();
        }
    }
    tob_rates(s, (double)n, (which == 2 ? TOB_BYTES_AMSGRAD : TOB_BYTES_ADAM) * (double)n);
}

static const int adam_plain = 0, adam_w = 1, adam_ams = 2;

/* AdamW's fused step: gradients scaled (AMP's 1/loss_scale times a clipping
   coefficient, here 1/1024), the found_inf skip flag read, non-finite
   gradients counted, all in the step's one pass. */
static void bm_adamw_ex(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s), nonfinite = 0;
    float **a = tob_arrays(s, "adam", 4, n);
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    const int found_inf = 0;
    (void)arg;
    if (!a) return;
    c.lr = TOB_ADAM_LR;
    c.weight_decay = TOB_ADAMW_WD;
    o.grad_scale = 1.0 / 1024.0;
    o.found_inf = &found_inf;
    o.nonfinite = &nonfinite;
    if (trainopt_adamw_step_ex(&c, TOB_STEP, n, a[0], a[1], a[2], a[3], NULL, &o) != TRAINOPT_OK) {
        tob_error(s, "trainopt_adamw_step_ex failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_adamw_step_ex(&c, TOB_STEP, n, a[0], a[1], a[2], a[3], NULL, &o);
        tob_clobber();
    }
    tob_escape(&nonfinite);
    tob_rates(s, (double)n, TOB_BYTES_ADAM * (double)n);
}

/* The whole AMP-and-clipping sequence of a step, both ways, with clipping active
   (max_norm is half the unscaled norm) and the loss scale 1024:
     adamw_amp_fused  trainopt_grad_norm (read g) + trainopt_adamw_step_ex: 32 B/element
     adamw_amp_3pass  trainopt_grad_unscale (read, write g) + trainopt_clip_grad_norm
                      (read g; read, write g) + trainopt_adamw_step: 48 B/element
   The 3-pass form rewrites g, so g is restored from a copy with the timer stopped.
   Both report rates over the fused form's 32 B/element, so their times compare
   directly. */
static void bm_adamw_amp(tob_state *s, const void *arg) {
    const int fused = *(const int *)arg;
    const float inv_scale = 1.0f / 1024.0f;
    size_t n = (size_t)tob_arg(s), i;
    float **a = tob_arrays(s, "adam", 5, n); /* p, g, m, v, the saved g */
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_grad_norm_info info;
    double max_norm;
    if (!a) return;
    c.lr = TOB_ADAM_LR;
    c.weight_decay = TOB_ADAMW_WD;
    for (i = 0; i < n; i++) a[4][i] = a[1][i];
    if (trainopt_grad_norm(1, &a[1], &n, inv_scale, 1e30, &info) != TRAINOPT_OK) {
        tob_error(s, "trainopt_grad_norm failed");
        return;
    }
    max_norm = 0.5 * (double)info.total_norm;
    while (tob_loop(s)) {
        if (fused) {
            trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
            trainopt_grad_norm(1, &a[1], &n, inv_scale, max_norm, &info);
            o.grad_scale = info.grad_scale;
            o.found_inf = &info.found_inf;
            trainopt_adamw_step_ex(&c, TOB_STEP, n, a[0], a[1], a[2], a[3], NULL, &o);
        } else {
            int found_inf = 0;
            float total;
            tob_pause(s);
            for (i = 0; i < n; i++) a[1][i] = a[4][i];
            tob_resume(s);
            trainopt_grad_unscale(n, a[1], inv_scale, &found_inf);
            trainopt_clip_grad_norm(1, &a[1], &n, max_norm, &total);
            if (!found_inf) trainopt_adamw_step(&c, TOB_STEP, n, a[0], a[1], a[2], a[3], NULL);
        }
        tob_clobber();
    }
    tob_rates(s, (double)n, 32.0 * (double)n);
}

static const int amp_fused = 1, amp_3pass = 0;

/* The compute floor of the sqrt-and-divide optimizers in cache: one IEEE sqrt
   and one division per element, on registers (eight independent chains, so
   the divider's throughput, not its latency, is measured), with this
   backend's vectors. x -> 1.0001 / sqrt(x) stays near 1: no special values. */
static void bm_divider(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s), i;
    const trainopt__vf c = trainopt__v_set1(1.0001f);
    trainopt__vf x[8];
    float sink[TRAINOPT_SIMD_LANES];
    int j;
    (void)arg;
    for (j = 0; j < 8; j++) x[j] = trainopt__v_set1(1.5f + (float)j);
    while (tob_loop(s)) {
        for (i = 0; i + 8 * TRAINOPT_SIMD_LANES <= n; i += 8 * TRAINOPT_SIMD_LANES)
            for (j = 0; j < 8; j++) x[j] = trainopt__v_div(c, trainopt__v_sqrt(x[j]));
        tob_clobber();
    }
    for (j = 1; j < 8; j++) x[0] = trainopt__v_add(x[0], x[j]);
    trainopt__v_store(sink, x[0]);
    tob_escape(sink);
    tob_rates(s, (double)n, 0.0);
}

static const int64_t divider_sizes[] = {1 << 16, 0};

/* ---- issue 16: NAdam, RAdam (step 100: rectified), Adamax, Adadelta, Lion -------------- */
static void bm_nadam(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "nadam", 4, n);
    trainopt_nadam_config c = TRAINOPT_NADAM_DEFAULTS;
    double mu_product = 1.0;
    int64_t t;
    (void)arg;
    if (!a) return;
    c.lr = TOB_NADAM_LR;
    c.momentum_decay = TOB_NADAM_MOMENTUM_DECAY;
    for (t = 1; t <= TOB_STEP; t++) mu_product = trainopt_nadam_mu_product(&c, t, mu_product); /* once per step */
    if (trainopt_nadam_step(&c, TOB_STEP, mu_product, n, a[0], a[1], a[2], a[3]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_nadam_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_nadam_step(&c, TOB_STEP, mu_product, n, a[0], a[1], a[2], a[3]);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_ADAM * (double)n);
}

static void bm_radam(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "radam", 4, n);
    trainopt_radam_config c = TRAINOPT_RADAM_DEFAULTS;
    (void)arg;
    if (!a) return;
    c.lr = TOB_RADAM_LR;
    if (trainopt_radam_step(&c, TOB_STEP, n, a[0], a[1], a[2], a[3]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_radam_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_radam_step(&c, TOB_STEP, n, a[0], a[1], a[2], a[3]);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_ADAM * (double)n);
}

static void bm_adamax(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "adamax", 4, n);
    trainopt_adamax_config c = TRAINOPT_ADAMAX_DEFAULTS;
    (void)arg;
    if (!a) return;
    c.lr = TOB_ADAMAX_LR;
    if (trainopt_adamax_step(&c, TOB_STEP, n, a[0], a[1], a[2], a[3]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_adamax_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_adamax_step(&c, TOB_STEP, n, a[0], a[1], a[2], a[3]);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_ADAM * (double)n);
}

static void bm_adadelta(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "adadelta", 4, n);
    trainopt_adadelta_config c = TRAINOPT_ADADELTA_DEFAULTS;
    (void)arg;
    if (!a) return;
    c.lr = TOB_ADADELTA_LR;
    c.rho = TOB_ADADELTA_RHO;
    c.eps = TOB_ADADELTA_EPS;
    if (trainopt_adadelta_step(&c, TOB_STEP, n, a[0], a[1], a[2], a[3]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_adadelta_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_adadelta_step(&c, TOB_STEP, n, a[0], a[1], a[2], a[3]);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_ADAM * (double)n);
}

static void bm_lion(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "lion", 3, n);
    trainopt_lion_config c = TRAINOPT_LION_DEFAULTS;
    (void)arg;
    if (!a) return;
    c.lr = TOB_LION_LR;
    c.beta1 = TOB_LION_BETA1;
    c.beta2 = TOB_LION_BETA2;
    c.weight_decay = TOB_LION_WD;
    if (trainopt_lion_step(&c, TOB_STEP, n, a[0], a[1], a[2]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_lion_step failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_lion_step(&c, TOB_STEP, n, a[0], a[1], a[2]);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_LION * (double)n);
}

const tob_entry TOB_EXPORT(tob_optim)[] = {
    {"sgd", TRAINOPT_SIMD_NAME, bm_sgd, NULL, tob_sizes_elementwise, 0},
    {"adagrad", TRAINOPT_SIMD_NAME, bm_adagrad, NULL, tob_sizes_elementwise, 0},
    {"rmsprop", TRAINOPT_SIMD_NAME, bm_rmsprop, NULL, tob_sizes_elementwise, 0},
    {"adam", TRAINOPT_SIMD_NAME, bm_adam, &adam_plain, tob_sizes_elementwise, 0},
    {"adamw", TRAINOPT_SIMD_NAME, bm_adam, &adam_w, tob_sizes_elementwise, 0},
    {"amsgrad", TRAINOPT_SIMD_NAME, bm_adam, &adam_ams, tob_sizes_elementwise, 0},
    {"adamw_ex", TRAINOPT_SIMD_NAME, bm_adamw_ex, NULL, tob_sizes_elementwise, 0},
    {"adamw_amp_fused", TRAINOPT_SIMD_NAME, bm_adamw_amp, &amp_fused, tob_sizes_large, 0},
    {"adamw_amp_3pass", TRAINOPT_SIMD_NAME, bm_adamw_amp, &amp_3pass, tob_sizes_large, 0},
    {"divider", TRAINOPT_SIMD_NAME, bm_divider, NULL, divider_sizes, 0},
    {"nadam", TRAINOPT_SIMD_NAME, bm_nadam, NULL, tob_sizes_elementwise, 0},
    {"radam", TRAINOPT_SIMD_NAME, bm_radam, NULL, tob_sizes_elementwise, 0},
    {"adamax", TRAINOPT_SIMD_NAME, bm_adamax, NULL, tob_sizes_elementwise, 0},
    {"adadelta", TRAINOPT_SIMD_NAME, bm_adadelta, NULL, tob_sizes_elementwise, 0},
    {"lion", TRAINOPT_SIMD_NAME, bm_lion, NULL, tob_sizes_elementwise, 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
