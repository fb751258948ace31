/* linear_regression.c - the textbook comparison of gradient methods, on a linear model.
 *
 *   make examples && build/examples/linear_regression [--small] [--updates N] [--every K]
 *
 * Fits y = x.w + b to synthetic data by mean squared error with six methods, all
 * starting from zero weights, and prints the loss on the whole data set every K
 * updates, one column per method:
 *
 *   batch GD   plain gradient descent, every update sees all the data (trainopt_sgd_step)
 *   SGD        minibatches of 32 in a freshly shuffled order every epoch
 *   momentum   the same minibatches, SGD with momentum 0.9 (heavy ball)
 *   Adagrad    per-weight rates that shrink as squared gradients add up, times a rate
 *              that decays exponentially per epoch (trainopt_lr_exponential)
 *   RMSprop    per-weight rates from a moving average of squared gradients
 *   Adam       RMSprop plus momentum, with bias correction
 *
 * What to look for: batch GD is smooth but each update costs a full pass; SGD is
 * noisy and stalls at a noise level set by its rate; momentum goes faster along
 * the shallow directions; the adaptive methods need little tuning of the rate.
 * The loss cannot go below the noise floor printed first (the loss of the true
 * weights), so the interesting part is how fast each method gets there.
 *
 * The model is so small that its gradient is written by hand: for the mean squared
 * error L = mean((pred - y)^2), trainopt_mse_loss returns dL/dpred, and
 * dL/dw_j = sum_i dL/dpred_i * x_ij,  dL/db = sum_i dL/dpred_i.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one file of this program that compiles trainopt's kernels (README.md, "Use"). */
#define TRAINOPT_IMPLEMENTATION
#include "trainopt.h"

/* Any trainopt call that fails stops the program with the call and the reason. */
#define CHECK(call)                                                                                  \
    do {                                                                                             \
        trainopt_status st_ = (call);                                                                \
        if (st_ != TRAINOPT_OK) {                                                                    \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, trainopt_status_str(st_)); \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)

enum { N = 1024, D = 8, P = D + 1, BATCH = 32, N_METHODS = 6 };  /* P: the weights and the bias */
static const char *const method_name[N_METHODS] = {"batch GD", "SGD", "momentum", "Adagrad", "RMSprop", "Adam"};

static float X[N][D], Y[N];

/* Predictions for the rows in idx[0..n), the loss over them, and its gradient in grad[P]. */
static float loss_and_grad(const float *param, const uint32_t *idx, size_t n, float *grad) {
    static float pred[N], target[N], dpred[N];
    float loss;
    size_t i, j;
    for (i = 0; i < n; i++) {
        const float *x = X[idx[i]];
        float z = param[D];
        for (j = 0; j < D; j++) z += param[j] * x[j];
        pred[i] = z;
        target[i] = Y[idx[i]];
    }
    CHECK(trainopt_mse_loss(n, pred, target, &loss, grad ? dpred : NULL));
    if (grad) {
        memset(grad, 0, P * sizeof(float));
        for (i = 0; i < n; i++) {
            for (j = 0; j < D; j++) grad[j] += dpred[i] * X[idx[i]][j];
            grad[D] += dpred[i];
        }
    }
    return loss;
}

/* The data order for the minibatch methods (the same for each): splitmix64, Fisher-Yates. */
static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void shuffle(uint32_t *idx, size_t n, uint64_t *state) {
    size_t i;
    for (i = n; i > 1; i--) {
        size_t j = (size_t)(splitmix64(state) % i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

/* Runs one method for `updates` updates; loss_out[r] is the full-data loss after r*every updates. */
static void run(int method, int updates, int every, float *loss_out) {
    float param[P] = {0}, grad[P], state1[P] = {0}, state2[P] = {0};
    uint32_t all[N], order[N];
    uint64_t rng = 7;
    const size_t steps_per_epoch = N / BATCH;
    int64_t t;
    size_t i;
    for (i = 0; i < N; i++) all[i] = order[i] = (uint32_t)i;
    if (method == 3) { /* Adagrad's accumulator starts at initial_accumulator_value */
        trainopt_adagrad_config c = TRAINOPT_ADAGRAD_DEFAULTS;
        CHECK(trainopt_adagrad_init(&c, P, state1));
    }
    loss_out[0] = loss_and_grad(param, all, N, NULL);
    for (t = 1; t <= updates; t++) { /* t: the 1-based number of the update being applied */
        int64_t epoch = (t - 1) / (int64_t)steps_per_epoch;
        size_t slot = (size_t)((t - 1) % (int64_t)steps_per_epoch);
        if (method == 0) {
            loss_and_grad(param, all, N, grad);
        } else {
            if (slot == 0) shuffle(order, N, &rng); /* a new epoch: a new order */
            loss_and_grad(param, order + slot * BATCH, BATCH, grad);
        }
        switch (method) {
        case 0: case 1: { /* plain (stochastic) gradient descent: p -= lr * g */
            trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
            c.lr = method == 0 ? 0.05 : 0.02;
            CHECK(trainopt_sgd_step(&c, t, P, param, grad, NULL)); /* no momentum: no buffer */
            break;
        }
        case 2: {
            trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
            c.lr = 0.01, c.momentum = 0.9;
            CHECK(trainopt_sgd_step(&c, t, P, param, grad, state1));
            break;
        }
        case 3: {
            trainopt_adagrad_config c = TRAINOPT_ADAGRAD_DEFAULTS;
            c.lr = trainopt_lr_exponential(0.5, epoch, 0.8); /* 0.5 * 0.8^epoch */
            CHECK(trainopt_adagrad_step(&c, t, P, param, grad, state1));
            break;
        }
        case 4: {
            trainopt_rmsprop_config c = TRAINOPT_RMSPROP_DEFAULTS;
            c.lr = 0.01;
            CHECK(trainopt_rmsprop_step(&c, t, P, param, grad, state1, NULL, NULL));
            break;
        }
        default: {
            trainopt_adam_config c = TRAINOPT_ADAM_DEFAULTS;
            c.lr = 0.05;
            CHECK(trainopt_adam_step(&c, t, P, param, grad, state1, state2, NULL));
            break;
        }
        }
        if (t % every == 0) loss_out[t / every] = loss_and_grad(param, all, N, NULL);
    }
}

int main(int argc, char **argv) {
    int updates = 320, every = 20, i, r, m, rows, failed = 0;
    static const float scale[D] = {3.0f, 2.25f, 1.65f, 1.25f, 0.9f, 0.7f, 0.5f, 0.3f};
    float w_true[P], noise[N], floor_loss, *table;
    uint32_t all[N];
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--small")) updates = 64, every = 8;
        else if (!strcmp(argv[i], "--updates") && i + 1 < argc) updates = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--every") && i + 1 < argc) every = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: linear_regression [--small] [--updates N] [--every K]\n");
            return 2;
        }
    }
    if (updates < 1 || every < 1 || every > updates) {
        fprintf(stderr, "need 1 <= --every <= --updates\n");
        return 2;
    }

    /* Synthetic data from trainopt's counter-based generator: features x_j ~ N(0, s_j^2)
       on scales s_j from 3 down to 0.3 (real features rarely share one scale, and this
       is what separates the methods), true weights uniform in [-2, 2], and
       y = x.w + b + noise with noise ~ N(0, 0.1^2). */
    CHECK(trainopt_rand_normal(1, 0, (size_t)N * D, 0.0, 1.0, &X[0][0]));
    for (i = 0; i < N; i++)
        for (r = 0; r < D; r++) X[i][r] *= scale[r];
    CHECK(trainopt_rand_uniform(2, 0, P, -2.0, 2.0, w_true));
    CHECK(trainopt_rand_normal(3, 0, N, 0.0, 0.1, noise));
    for (i = 0; i < N; i++) {
        float z = w_true[D];
        for (r = 0; r < D; r++) z += w_true[r] * X[i][r];
        Y[i] = z + noise[i];
        all[i] = (uint32_t)i;
    }
    floor_loss = loss_and_grad(w_true, all, N, NULL);

    rows = updates / every + 1;
    table = (float *)malloc((size_t)rows * N_METHODS * sizeof(float));
    if (table == NULL) return 1;
    for (m = 0; m < N_METHODS; m++) run(m, updates, every, table + (size_t)m * rows);

    printf("Linear regression, %d samples, %d features; minibatches of %d (%d per epoch)\n", N, D, BATCH, N / BATCH);
    printf("mean squared error on all samples after each number of updates\n");
    printf("noise floor (the loss of the true weights): %.5f\n\n", floor_loss);
    printf("%8s", "updates");
    for (m = 0; m < N_METHODS; m++) printf("  %10s", method_name[m]);
    printf("\n");
    for (r = 0; r < rows; r++) {
        printf("%8d", r * every);
        for (m = 0; m < N_METHODS; m++) printf("  %10.5f", table[(size_t)m * rows + r]);
        printf("\n");
    }
    /* A real program checks its result: every method must have made progress. */
    for (m = 0; m < N_METHODS; m++) {
        float first = table[(size_t)m * rows], last = table[(size_t)m * rows + rows - 1];
        if (!(last < first)) {
            fprintf(stderr, "%s did not reduce the loss (%g -> %g)\n", method_name[m], first, last);
            failed = 1;
        }
    }
    free(table);
    return failed;
}
