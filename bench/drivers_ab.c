/* drivers_ab.c - one public kernel, one configuration, for before/after comparisons
   that do not need a quiet machine (FINDINGS.md, "Light drivers (0.2.0)").

   Build it once per backend and per tree (TRAINOPT_STATIC: the tree's own headers):
     cc -O2 -I<tree> [-DTRAINOPT_NO_SIMD | -mavx2 -mfma -DTRAINOPT_NO_AVX512 | -mavx512f -mavx2 -mfma] \
        bench/drivers_ab.c -o ab -lm
   or, so that no kernel is inlined into this file (the library as users compile it), with
   -DTO_AB_EXTERN and an object of `#define TRAINOPT_IMPLEMENTATION` + `#include "trainopt.h"`
   built with the same flags. Then
     ab list                          the case names
     ab icount CASE [N]               one call, inside to_ab_run:
                                      valgrind --tool=callgrind --collect-atstart=no
                                      --toggle-collect=to_ab_run ab icount CASE counts it
     ab time CASE [N] [REPS]          median nanoseconds per call over REPS calls
   N is the element count (batch norm: the shape is scaled to about N elements). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#ifndef TO_AB_EXTERN /* -DTO_AB_EXTERN: link the library's own TRAINOPT_IMPLEMENTATION object instead */
#define TRAINOPT_STATIC
#endif
#include "trainopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    size_t n;
    float *a, *b, *c, *d, *e, *f; /* n floats each */
    float *ch[6];                 /* per-channel arrays */
    uint8_t *mask;
    int32_t *labels;
} to_ab_data;

static const char *const to_ab_cases[] = {
    "sgd", "sgd_momentum_wd", "sgd_nesterov", "sgd_ex_scaled", "adagrad", "adagrad_ex_scaled", "rmsprop",
    "rmsprop_centered_momentum", "adam", "adamw", "adam_amsgrad", "adamw_ex_scaled", "l1l2_penalty", "l1l2_grad",
    "clip_grad_value", "grad_unscale", "sum_squares", "grad_norm", "clip_grad_norm", "mse_loss", "bce_with_logits",
    "softmax_cross_entropy", "rand_u32", "rand_uniform", "rand_normal", "trunc_normal", "xavier_uniform",
    "xavier_normal", "kaiming_uniform", "kaiming_normal", "dropout_forward", "dropout_forward_mask",
    "dropout_backward_regen", "dropout_backward_mask",
    /* batch norm: NCHW [N][C][S] with S = 49 (7x7) and S = 64, one large-channel shape, NHWC with C = 64 (tiles)
       and C = 128 (state in y); _relu fuses the ReLU */
    "bn_train_nchw49", "bn_train_nchw49_relu", "bn_backward_nchw49", "bn_backward_nchw49_relu", "bn_train_nchw64",
    "bn_backward_nchw64", "bn_train_nchw_large", "bn_backward_nchw_large", "bn_train_nhwc64", "bn_backward_nhwc64",
    "bn_train_nhwc128", "bn_train_nhwc128_relu", "bn_backward_nhwc128", "bn_backward_nhwc128_relu",
    "bn_infer_nchw49", "bn_infer_nhwc128", NULL};

static float *to_ab_floats(size_t n, unsigned seed) {
    float *p = (float *)malloc((n ? n : 1) * sizeof(float));
    size_t i;
    if (!p) exit(2);
    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((int)(seed >> 8) - (1 << 23)) / (float)(1 << 22); /* [-2, 2) */
    }
    return p;
}

/* A batch-norm shape of about n elements. */
static trainopt_bn_shape to_ab_shape(const char *name, size_t n) {
    trainopt_bn_shape s;
    s.layout = strstr(name, "nhwc") ? TRAINOPT_NHWC : TRAINOPT_NCHW;
    if (strstr(name, "nchw49")) s.c = 64, s.spatial = 49;
    else if (strstr(name, "nchw64")) s.c = 64, s.spatial = 64;
    else if (strstr(name, "large")) s.c = 2, s.spatial = 16384;
    else if (strstr(name, "nhwc64")) s.c = 64, s.spatial = 64;
    else s.c = 128, s.spatial = 64;
    s.n = n / (s.c * s.spatial);
    if (s.n < 2) s.n = 2;
    return s;
}

static int to_ab_bn(const char *name, to_ab_data *d) {
    trainopt_bn_config c = TRAINOPT_BN_DEFAULTS;
    trainopt_bn_shape s = to_ab_shape(name, d->n);
    c.fuse_relu = strstr(name, "relu") != NULL;
    if (strncmp(name, "bn_train", 8) == 0)
        return (int)trainopt_batchnorm_forward_train(&c, s, d->a, d->ch[0], d->ch[1], d->ch[2], d->ch[3], d->b, d->ch[4],
                                                     d->ch[5]);
    if (strncmp(name, "bn_infer", 8) == 0)
        return (int)trainopt_batchnorm_forward_infer(&c, s, d->a, d->ch[0], d->ch[1], d->ch[2], d->ch[3], d->b);
    /* backward: y from a forward pass of x (the relu mask needs a real y) */
    return (int)trainopt_batchnorm_backward(&c, s, d->a, d->c, d->ch[0], d->ch[4], d->ch[5], d->b, d->d, d->ch[2],
                                            d->ch[3]);
}

double to_ab_sink;

/* One call of the case. Not inlined, so that callgrind can count exactly it. */
__attribute__((noinline)) int to_ab_run(const char *name, to_ab_data *d);
__attribute__((noinline)) int to_ab_run(const char *name, to_ab_data *d) {
    const size_t n = d->n;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t bad = 0;
    o.grad_scale = 0.5;
    o.nonfinite = &bad;
    if (strncmp(name, "sgd", 3) == 0) {
        trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
        if (strcmp(name, "sgd") != 0) c.momentum = 0.9, c.weight_decay = 1e-4;
        if (strcmp(name, "sgd_nesterov") == 0) c.nesterov = 1;
        if (strcmp(name, "sgd_ex_scaled") == 0) return (int)trainopt_sgd_step_ex(&c, 2, n, d->a, d->b, d->c, &o);
        return (int)trainopt_sgd_step(&c, 2, n, d->a, d->b, d->c);
    }
    if (strncmp(name, "adagrad", 7) == 0) {
        trainopt_adagrad_config c = TRAINOPT_ADAGRAD_DEFAULTS;
        if (strcmp(name, "adagrad_ex_scaled") == 0) return (int)trainopt_adagrad_step_ex(&c, 2, n, d->a, d->b, d->e, &o);
        return (int)trainopt_adagrad_step(&c, 2, n, d->a, d->b, d->e);
    }
    if (strncmp(name, "rmsprop", 7) == 0) {
        trainopt_rmsprop_config c = TRAINOPT_RMSPROP_DEFAULTS;
        if (strcmp(name, "rmsprop") != 0) c.centered = 1, c.momentum = 0.9;
        return (int)trainopt_rmsprop_step(&c, 2, n, d->a, d->b, d->e, d->c, d->d);
    }
    if (strncmp(name, "adam", 4) == 0) {
        trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
        if (strcmp(name, "adam_amsgrad") == 0) c.amsgrad = 1;
        if (strcmp(name, "adamw_ex_scaled") == 0) return (int)trainopt_adamw_step_ex(&c, 2, n, d->a, d->b, d->c, d->e, d->f, &o);
        if (strcmp(name, "adamw") == 0) return (int)trainopt_adamw_step(&c, 2, n, d->a, d->b, d->c, d->e, d->f);
        return (int)trainopt_adam_step(&c, 2, n, d->a, d->b, d->c, d->e, d->f);
    }
    if (strcmp(name, "l1l2_penalty") == 0) return (int)trainopt_l1l2_penalty(n, d->a, 1e-4, 1e-3, d->ch[0]);
    if (strcmp(name, "l1l2_grad") == 0) return (int)trainopt_l1l2_grad(n, d->a, d->b, 1e-4, 1e-3);
    if (strcmp(name, "clip_grad_value") == 0) return (int)trainopt_clip_grad_value(n, d->b, 1.5);
    if (strcmp(name, "grad_unscale") == 0) {
        int found = 0;
        return (int)trainopt_grad_unscale(n, d->b, 1.0f, &found);
    }
    if (strcmp(name, "sum_squares") == 0 || strcmp(name, "grad_norm") == 0 || strcmp(name, "clip_grad_norm") == 0) {
        const float *xs[2];
        float *gs[2];
        size_t lens[2];
        double sum;
        trainopt_grad_norm_info info;
        float total;
        int st;
        xs[0] = gs[0] = d->b;
        xs[1] = gs[1] = d->c;
        lens[0] = n / 2;
        lens[1] = n - n / 2;
        /* The results go to to_ab_sink: gcc drops a call whose outputs are dead locals. */
        if (name[0] == 's') st = (int)trainopt_sum_squares(2, xs, lens, &sum, &bad), to_ab_sink = sum + (double)bad;
        else if (name[0] == 'g') st = (int)trainopt_grad_norm(2, gs, lens, 1.0f, 1e9, &info), to_ab_sink = info.total_norm;
        else st = (int)trainopt_clip_grad_norm(2, gs, lens, 1e9, &total), to_ab_sink = total;
        return st;
    }
    if (strcmp(name, "mse_loss") == 0) return (int)trainopt_mse_loss(n, d->a, d->b, d->ch[0], d->d);
    if (strcmp(name, "bce_with_logits") == 0) return (int)trainopt_bce_with_logits(n, d->a, d->e, d->ch[0], d->d);
    if (strcmp(name, "softmax_cross_entropy") == 0)
        return (int)trainopt_softmax_cross_entropy(n / 1000, 1000, d->a, d->labels, -100, 0.1, d->ch[0], d->d);
    if (strcmp(name, "rand_u32") == 0) return (int)trainopt_rand_u32(7, 3, n, (uint32_t *)(void *)d->d);
    if (strcmp(name, "rand_uniform") == 0) return (int)trainopt_rand_uniform(7, 3, n, -1.0, 1.0, d->d);
    if (strcmp(name, "rand_normal") == 0) return (int)trainopt_rand_normal(7, 3, n, 0.0, 1.0, d->d);
    if (strcmp(name, "trunc_normal") == 0) {
        trainopt_trunc_normal_config c = TRAINOPT_TRUNC_NORMAL_DEFAULTS;
        return (int)trainopt_trunc_normal(&c, 7, 3, n, d->d);
    }
    if (strncmp(name, "xavier", 6) == 0) {
        if (strcmp(name, "xavier_normal") == 0) return (int)trainopt_xavier_normal(7, 3, n, 256, 256, 1.0, d->d);
        return (int)trainopt_xavier_uniform(7, 3, n, 256, 256, 1.0, d->d);
    }
    if (strncmp(name, "kaiming", 7) == 0) {
        trainopt_kaiming_config c = TRAINOPT_KAIMING_DEFAULTS;
        if (strcmp(name, "kaiming_normal") == 0) return (int)trainopt_kaiming_normal(&c, 7, 3, n, 256, 256, d->d);
        return (int)trainopt_kaiming_uniform(&c, 7, 3, n, 256, 256, d->d);
    }
    if (strcmp(name, "dropout_forward") == 0) return (int)trainopt_dropout_forward(0.1, 7, 3, n, d->a, d->d, NULL);
    if (strcmp(name, "dropout_forward_mask") == 0) return (int)trainopt_dropout_forward(0.1, 7, 3, n, d->a, d->d, d->mask);
    if (strcmp(name, "dropout_backward_regen") == 0) return (int)trainopt_dropout_backward(0.1, 7, 3, n, d->c, d->d, NULL);
    if (strcmp(name, "dropout_backward_mask") == 0) return (int)trainopt_dropout_backward(0.1, 7, 3, n, d->c, d->d, d->mask);
    if (strncmp(name, "bn_", 3) == 0) return to_ab_bn(name, d);
    return -1000;
}

static int to_ab_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    to_ab_data d;
    const char *mode = argc > 1 ? argv[1] : "list", *name = argc > 2 ? argv[2] : "";
    size_t n = argc > 3 ? (size_t)strtoull(argv[3], NULL, 10) : (size_t)65536, i;
    int reps = argc > 4 ? atoi(argv[4]) : 21, st, r;
    if (strcmp(mode, "list") == 0) {
        for (i = 0; to_ab_cases[i]; i++) printf("%s\n", to_ab_cases[i]);
        return 0;
    }
    d.n = n;
    d.a = to_ab_floats(n, 1); d.b = to_ab_floats(n, 2); d.c = to_ab_floats(n, 3);
    d.d = to_ab_floats(n, 4); d.e = to_ab_floats(n, 5); d.f = to_ab_floats(n, 6);
    for (i = 0; i < n; i++) d.e[i] = d.e[i] * d.e[i] * 0.25f; /* [0, 1]: accumulators, BCE targets */
    for (i = 0; i < 6; i++) d.ch[i] = to_ab_floats(1024, 10 + (unsigned)i);
    for (i = 0; i < 1024; i++) d.ch[3][i] = 1.0f + d.ch[3][i] * d.ch[3][i]; /* running_var > 0 */
    for (i = 0; i < 1024; i++) d.ch[5][i] = 1.0f; /* save_invstd */
    d.mask = (uint8_t *)calloc(n / 8 + 1, 1);
    d.labels = (int32_t *)malloc((n / 1000 + 1) * sizeof(int32_t));
    for (i = 0; i < n / 1000 + 1; i++) d.labels[i] = (int32_t)(i * 37 % 1000);
    if (strncmp(name, "bn_backward", 11) == 0) { /* y = forward of x, for the relu mask */
        char fwd[64];
        snprintf(fwd, sizeof fwd, "bn_train%s", name + 11);
        if ((st = to_ab_bn(fwd, &d)) != 0) return fprintf(stderr, "%s: status %d\n", fwd, st), 1;
    }
    if (strcmp(name, "dropout_backward_mask") == 0) trainopt_dropout_forward(0.1, 7, 3, n, d.a, d.d, d.mask);
    if (strcmp(mode, "icount") == 0) return to_ab_run(name, &d) != 0; /* instructions need no warm-up */
    if ((st = to_ab_run(name, &d)) != 0) return fprintf(stderr, "%s: status %d\n", name, st), 1; /* warm-up */
    {
        double *t = (double *)malloc((size_t)reps * sizeof(double));
        for (r = 0; r < reps; r++) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            to_ab_run(name, &d);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            t[r] = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
        }
        qsort(t, (size_t)reps, sizeof *t, to_ab_cmp);
        printf("%s %s n=%zu median_ns=%.0f\n", trainopt_backend(), name, n, t[reps / 2]);
    }
    return 0;
}
