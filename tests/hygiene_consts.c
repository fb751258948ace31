/* tests/hygiene_consts.c - a caller whose sizes, shapes and hyperparameters are all
   compile-time constants, so an optimizing compiler inlines the kernels and folds
   them. gcc 12 then warned (-Waggressive-loop-optimizations, on by default, so
   in every user's build) about tail loops that the constants made dead: batch
   norm's leftover channels and the softmax row maximum's leftover vectors.
   tests/hygiene.sh compiles it with -O2 and -O3 and -Werror on every backend;
   it is never run. */
#include "trainopt.h"

#define K 65536 /* every array's length */

/* The callers are external functions, not inlined into main: gcc then clones
   each kernel for its constant arguments, which is where it warned. */

static float a[K], b[K], c[K], d[K], e[K];
static uint8_t mask[K / 8];
static uint32_t words[K];
static int32_t labels[64];

static int failures; /* every status is kept, though the values do not matter here */
static void note(trainopt_status st) { failures += st != TRAINOPT_OK; }

void optimizers(void);
void optimizers(void) {
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    trainopt_adagrad_config adagrad = TRAINOPT_ADAGRAD_DEFAULTS;
    trainopt_rmsprop_config rmsprop = TRAINOPT_RMSPROP_DEFAULTS;
    trainopt_adam_config adamw = TRAINOPT_ADAMW_DEFAULTS;
    sgd.momentum = 0.9, sgd.nesterov = 1;
    rmsprop.momentum = 0.9, rmsprop.centered = 1;
    adamw.amsgrad = 1;
    note(trainopt_sgd_step(&sgd, 2, K, a, b, c));
    note(trainopt_adagrad_step(&adagrad, 2, 7, a, b, c));
    note(trainopt_rmsprop_step(&rmsprop, 2, 63, a, b, c, d, e));
    note(trainopt_adamw_step(&adamw, 2, 17, a, b, c, d, e));
}

void losses_and_gradients(void);
void losses_and_gradients(void) {
    float loss, norm;
    float *grads[2] = {a, b};
    const size_t lens[2] = {K, 5};
    int found_inf = 0;
    size_t i;
    for (i = 0; i < 64; i++) labels[i] = (int32_t)i;
    note(trainopt_softmax_cross_entropy(64, 1024, a, labels, -100, 0.1, &loss, b));
    note(trainopt_mse_loss(K, a, b, &loss, c));
    note(trainopt_bce_with_logits(9, a, b, &loss, c));
    note(trainopt_l1l2_penalty(K, a, 0.01, 0.02, &loss));
    note(trainopt_l1l2_grad(K, a, b, 0.01, 0.02));
    note(trainopt_clip_grad_value(K, a, 1.0));
    note(trainopt_grad_unscale(K, a, 0.5f, &found_inf));
    note(trainopt_clip_grad_norm(2, grads, lens, 1.0, &norm));
}

void random_draws(void);
void random_draws(void) {
    note(trainopt_rand_u32(1, 3, K, words));
    note(trainopt_rand_uniform(1, 5, 33, -1.0, 1.0, a));
    note(trainopt_rand_normal(1, 7, K, 0.0, 1.0, a));
    note(trainopt_dropout_forward(0.1, 1, 3, K, a, b, mask));
    note(trainopt_dropout_backward(0.1, 1, 3, K, b, c, NULL));
    note(trainopt_xavier_uniform(1, 0, K, 32, 32, 1.0, a));
}

void batch_norm(void);
void batch_norm(void) {
    const trainopt_bn_config cfg = TRAINOPT_BN_DEFAULTS;
    const trainopt_bn_shape sh = {64, 64, 16, TRAINOPT_NCHW};
    float *mean = e, *invstd = e + 64, *dgamma = e + 128, *dbeta = e + 192;
    note(trainopt_batchnorm_forward_train(&cfg, sh, a, c, d, NULL, NULL, b, mean, invstd));
    note(trainopt_batchnorm_forward_infer(&cfg, sh, a, c, d, mean, invstd, b));
    note(trainopt_batchnorm_backward(&cfg, sh, a, c, d, mean, invstd, NULL, b, dgamma, dbeta));
}

int main(void) {
    optimizers();
    losses_and_gradients();
    random_draws();
    batch_norm();
    return failures != 0;
}
