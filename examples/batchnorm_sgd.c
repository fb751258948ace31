/* batchnorm_sgd.c - the network every beginner tutorial shows, in C:
 *
 *   Linear(100, 50) -> BatchNorm1d(50) -> ReLU -> Linear(50, 10)
 *
 * trained with SGD at lr 0.1 decayed as lr = 0.1 * 0.95^epoch (ExponentialLR),
 * on cross-entropy, on a synthetic 10-class problem.
 *
 *   make examples && build/examples/batchnorm_sgd [--small] [--epochs N]
 *
 * The data: 100 features drawn from N(0, 1); the label is whichever of 10 fixed
 * random directions the input points along most (a "teacher" the network has to
 * discover). It prints, per epoch, the learning rate, the training loss and the
 * accuracy on held-out samples.
 *
 * The PyTorch it mirrors:
 *     model = nn.Sequential(nn.Linear(100, 50), nn.BatchNorm1d(50), nn.ReLU(), nn.Linear(50, 10))
 *     opt = torch.optim.SGD(model.parameters(), lr=0.1)
 *     sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95)
 *     for epoch in range(epochs):
 *         for x, y in loader:
 *             loss = F.cross_entropy(model(x), y); opt.zero_grad(); loss.backward(); opt.step()
 *         sched.step()
 *
 * The dense layers are plain loops (the sizes are tiny); trainopt does batch norm
 * (with the ReLU fused in: y = relu(bn(x)) in one pass, and its backward), the loss
 * and its gradient, the initialization, the schedule and the SGD step.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

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

enum { IN = 100, HID = 50, OUT = 10, BATCH = 64, N_TRAIN = 4096, N_VAL = 1024 };

/* The parameters, in one array so that one optimizer call updates them all. */
enum {
    OFF_W1 = 0, OFF_B1 = OFF_W1 + HID * IN,   /* Linear(100, 50): weight [50][100], bias [50] */
    OFF_GAMMA = OFF_B1 + HID,                 /* BatchNorm1d(50): weight (gamma) and bias (beta) */
    OFF_BETA = OFF_GAMMA + HID,
    OFF_W2 = OFF_BETA + HID, OFF_B2 = OFF_W2 + OUT * HID, /* Linear(50, 10) */
    N_PARAMS = OFF_B2 + OUT
};

static float param[N_PARAMS], grad[N_PARAMS];
static float run_mean[HID], run_var[HID];

/* y[n][out] = x[n][in] w[out][in]^T + b */
static void linear_forward(size_t n, int in, int out, const float *x, const float *w, const float *b, float *y) {
    size_t i;
    int o, k;
    for (i = 0; i < n; i++)
        for (o = 0; o < out; o++) {
            float s = b[o];
            for (k = 0; k < in; k++) s += x[i * in + k] * w[o * in + k];
            y[i * out + o] = s;
        }
}

/* dw = dy^T x, db = column sums of dy, and dx = dy w when dx is not NULL */
static void linear_backward(size_t n, int in, int out, const float *x, const float *w, const float *dy, float *dw,
                            float *db, float *dx) {
    size_t i;
    int o, k;
    memset(dw, 0, (size_t)out * in * sizeof(float));
    memset(db, 0, (size_t)out * sizeof(float));
    for (i = 0; i < n; i++)
        for (o = 0; o < out; o++) {
            db[o] += dy[i * out + o];
            for (k = 0; k < in; k++) dw[o * in + k] += dy[i * out + o] * x[i * in + k];
        }
    if (dx)
        for (i = 0; i < n; i++)
            for (k = 0; k < in; k++) {
                float s = 0.0f;
                for (o = 0; o < out; o++) s += dy[i * out + o] * w[o * in + k];
                dx[i * in + k] = s;
            }
}

/* torch.nn.Linear's default initialization: weight and bias uniform in +-1/sqrt(fan_in). */
static void init_linear(uint64_t seed, int in, int out, float *w, float *b) {
    double bound = 1.0 / sqrt((double)in);
    CHECK(trainopt_rand_uniform(seed, 0, (size_t)out * in, -bound, bound, w));
    CHECK(trainopt_rand_uniform(seed, (uint64_t)out * in, (size_t)out, -bound, bound, b));
}

/* Synthetic data: label = argmax over the 10 teacher directions of x . teacher[c]. */
static void make_data(uint64_t offset, size_t n, const float *teacher, float *x, int32_t *y) {
    size_t i;
    int c, k;
    CHECK(trainopt_rand_normal(11, offset, n * IN, 0.0, 1.0, x));
    for (i = 0; i < n; i++) {
        float best = -INFINITY;
        for (c = 0; c < OUT; c++) {
            float s = 0.0f;
            for (k = 0; k < IN; k++) s += x[i * IN + k] * teacher[c * IN + k];
            if (s > best) best = s, y[i] = c;
        }
    }
}

static float x_train[N_TRAIN * IN], x_val[N_VAL * IN];
static int32_t y_train[N_TRAIN], y_val[N_VAL];

int main(int argc, char **argv) {
    trainopt_bn_config bn = TRAINOPT_BN_DEFAULTS;  /* eps 1e-5, momentum 0.1: BatchNorm1d's */
    trainopt_bn_shape shape;
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    static float teacher[OUT * IN];
    static float h[BATCH * HID], a[BATCH * HID], logits[BATCH * OUT];   /* activations */
    static float dlogits[BATCH * OUT], da[BATCH * HID], dh[BATCH * HID]; /* their gradients */
    static float mean[HID], invstd[HID];
    int epochs = 20, epoch, i;
    int64_t step = 0;
    size_t n_train = N_TRAIN, n_val = N_VAL, start;
    double acc = 0.0;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--small")) epochs = 3, n_train = 1024, n_val = 256;
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: batchnorm_sgd [--small] [--epochs N]\n");
            return 2;
        }
    }
    if (epochs < 1) {
        fprintf(stderr, "need --epochs >= 1\n");
        return 2;
    }

    CHECK(trainopt_rand_normal(10, 0, OUT * IN, 0.0, 1.0, teacher));
    make_data(0, n_train, teacher, x_train, y_train);
    make_data((uint64_t)N_TRAIN * IN, n_val, teacher, x_val, y_val);
    init_linear(20, IN, HID, param + OFF_W1, param + OFF_B1);
    init_linear(21, HID, OUT, param + OFF_W2, param + OFF_B2);
    for (i = 0; i < HID; i++) param[OFF_GAMMA + i] = 1.0f, param[OFF_BETA + i] = 0.0f, run_var[i] = 1.0f;
    bn.fuse_relu = 1; /* the ReLU after the batch norm, fused into it */

    printf("Linear(%d,%d) -> BatchNorm1d(%d) -> ReLU -> Linear(%d,%d), SGD lr 0.1 * 0.95^epoch, batch %d\n", IN, HID,
           HID, HID, OUT, BATCH);
    for (epoch = 0; epoch < epochs; epoch++) {
        double loss_sum = 0.0;
        size_t correct = 0;
        sgd.lr = trainopt_lr_exponential(0.1, epoch, 0.95); /* ExponentialLR, stepped once per epoch */
        for (start = 0; start + BATCH <= n_train; start += BATCH) {
            const float *x = x_train + start * IN;
            const int32_t *y = y_train + start;
            float loss;
            shape.n = BATCH, shape.c = HID, shape.spatial = 1, shape.layout = TRAINOPT_NCHW;
            /* forward */
            linear_forward(BATCH, IN, HID, x, param + OFF_W1, param + OFF_B1, h);
            CHECK(trainopt_batchnorm_forward_train(&bn, shape, h, param + OFF_GAMMA, param + OFF_BETA, run_mean,
                                                   run_var, a, mean, invstd));
            linear_forward(BATCH, HID, OUT, a, param + OFF_W2, param + OFF_B2, logits);
            CHECK(trainopt_softmax_cross_entropy(BATCH, OUT, logits, y, -100, 0.0, &loss, dlogits));
            loss_sum += loss;
            /* backward */
            linear_backward(BATCH, HID, OUT, a, param + OFF_W2, dlogits, grad + OFF_W2, grad + OFF_B2, da);
            CHECK(trainopt_batchnorm_backward(&bn, shape, h, da, param + OFF_GAMMA, mean, invstd, a, dh,
                                              grad + OFF_GAMMA, grad + OFF_BETA));
            linear_backward(BATCH, IN, HID, x, param + OFF_W1, dh, grad + OFF_W1, grad + OFF_B1, NULL);
            /* update */
            CHECK(trainopt_sgd_step(&sgd, ++step, N_PARAMS, param, grad, NULL));
        }
        /* held-out accuracy: batch norm on its running statistics */
        for (start = 0; start < n_val; start += BATCH) {
            size_t n = n_val - start < BATCH ? n_val - start : BATCH, r;
            int c;
            shape.n = n;
            linear_forward(n, IN, HID, x_val + start * IN, param + OFF_W1, param + OFF_B1, h);
            CHECK(trainopt_batchnorm_forward_infer(&bn, shape, h, param + OFF_GAMMA, param + OFF_BETA, run_mean,
                                                   run_var, a));
            linear_forward(n, HID, OUT, a, param + OFF_W2, param + OFF_B2, logits);
            for (r = 0; r < n; r++) {
                int best = 0;
                for (c = 1; c < OUT; c++)
                    if (logits[r * OUT + c] > logits[r * OUT + best]) best = c;
                correct += best == y_val[start + r];
            }
        }
        acc = (double)correct / (double)n_val;
        printf("epoch %2d  lr %.5f  train loss %.4f  held-out accuracy %.4f\n", epoch, sgd.lr,
               loss_sum / (double)(n_train / BATCH), acc);
    }
    /* A real program checks its result: far better than the 0.1 of guessing. */
    if (!(acc > 0.3)) {
        fprintf(stderr, "held-out accuracy %.4f: the network did not learn\n", acc);
        return 1;
    }
    return 0;
}
