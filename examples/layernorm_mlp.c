/* layernorm_mlp.c - a transformer-style block in miniature, in C:
 *
 *   Linear(16, 32) -> LayerNorm(32) -> ReLU -> Linear(32, 1)
 *
 * trained full-batch with AdamW on mean squared error, on a synthetic regression
 * problem (the target is a fixed nonlinear function of the 16 inputs).
 *
 *   make examples && build/examples/layernorm_mlp [--small] [--epochs N]
 *
 * It prints the training loss every few epochs and fails (exit status 1) unless the
 * loss falls to a quarter of where it started.
 *
 * The PyTorch it mirrors:
 *     model = nn.Sequential(nn.Linear(16, 32), nn.LayerNorm(32), nn.ReLU(), nn.Linear(32, 1))
 *     opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
 *     for epoch in range(epochs):
 *         loss = F.mse_loss(model(x), t); opt.zero_grad(); loss.backward(); opt.step()
 *
 * The dense layers are plain loops (the sizes are tiny); trainopt does the layer
 * norm and its backward (dx, dweight, dbias in one call), the loss and its gradient,
 * the initialization and the AdamW step.
 */
#include <math.h>
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

enum { IN = 16, HID = 32, N_MAX = 512 };

/* The parameters in one array (one AdamW call updates them all), and views into it. */
enum { W1 = 0, B1 = W1 + IN * HID, LN_W = B1 + HID, LN_B = LN_W + HID, W2 = LN_B + HID, B2 = W2 + HID, N_PARAM = B2 + 1 };
static float param[N_PARAM], grad[N_PARAM], exp_avg[N_PARAM], exp_avg_sq[N_PARAM];

/* Activations of one full batch: h = x W1 + b1, z = LayerNorm(h), r = relu(z), out = r W2 + b2. */
static float x[N_MAX * IN], target[N_MAX], h[N_MAX * HID], z[N_MAX * HID], r[N_MAX * HID], out[N_MAX];
static float mean[N_MAX], rstd[N_MAX];
static float d_out[N_MAX], d_r[N_MAX * HID], d_h[N_MAX * HID];

/* A small deterministic generator for the data: uniform in [-1, 1). */
static float uniform(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

int main(int argc, char **argv) {
    trainopt_norm_config ln = TRAINOPT_NORM_DEFAULTS; /* nn.LayerNorm's eps 1e-5 */
    trainopt_adam_config adamw = TRAINOPT_ADAMW_DEFAULTS;
    uint64_t seed = 42;
    int epochs = 300, n = N_MAX, epoch, i, j, k;
    float loss = 0.0f, first_loss = 0.0f;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--small")) epochs = 80, n = 128;
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: layernorm_mlp [--small] [--epochs N]\n");
            return 2;
        }
    }
    adamw.lr = 1e-2;

    /* The data: t = tanh(x . a) + 0.5 * (x_0 * x_1), a fixed direction a. */
    for (i = 0; i < n * IN; i++) x[i] = uniform(&seed);
    for (i = 0; i < n; i++) {
        float dot = 0.0f;
        for (k = 0; k < IN; k++) dot += x[i * IN + k] * (0.25f * (float)(k % 5) - 0.4f);
        target[i] = tanhf(dot) + 0.5f * x[i * IN] * x[i * IN + 1];
    }

    /* nn.Linear's initialization (kaiming_uniform with a = sqrt(5)), LayerNorm's ones and zeros. */
    {
        trainopt_kaiming_config kc = TRAINOPT_KAIMING_DEFAULTS;
        kc.a = sqrt(5.0);
        CHECK(trainopt_kaiming_uniform(&kc, 7, 0, IN * HID, IN, HID, param + W1));
        CHECK(trainopt_kaiming_uniform(&kc, 7, IN * HID, HID, HID, 1, param + W2));
        for (j = 0; j < HID; j++) param[B1 + j] = 0.0f, param[LN_W + j] = 1.0f, param[LN_B + j] = 0.0f;
        param[B2] = 0.0f;
    }

    for (epoch = 1; epoch <= epochs; epoch++) {
        /* Forward. */
        for (i = 0; i < n; i++)
            for (j = 0; j < HID; j++) {
                float s = param[B1 + j];
                for (k = 0; k < IN; k++) s += x[i * IN + k] * param[W1 + k * HID + j];
                h[i * HID + j] = s;
            }
        CHECK(trainopt_layernorm_forward(&ln, (size_t)n, HID, h, param + LN_W, param + LN_B, z, mean, rstd));
        for (i = 0; i < n * HID; i++) r[i] = z[i] > 0.0f ? z[i] : 0.0f;
        for (i = 0; i < n; i++) {
            float s = param[B2];
            for (j = 0; j < HID; j++) s += r[i * HID + j] * param[W2 + j];
            out[i] = s;
        }
        CHECK(trainopt_mse_loss((size_t)n, out, target, &loss, d_out));
        if (epoch == 1) first_loss = loss;
        if (epoch == 1 || epoch % 20 == 0 || epoch == epochs) printf("epoch %3d  loss %.6f\n", epoch, (double)loss);

        /* Backward: the second linear layer, the ReLU, the layer norm, the first layer. */
        memset(grad, 0, sizeof grad);
        for (i = 0; i < n; i++) {
            grad[B2] += d_out[i];
            for (j = 0; j < HID; j++) {
                grad[W2 + j] += r[i * HID + j] * d_out[i];
                d_r[i * HID + j] = z[i * HID + j] > 0.0f ? param[W2 + j] * d_out[i] : 0.0f;
            }
        }
        CHECK(trainopt_layernorm_backward(&ln, (size_t)n, HID, h, d_r, param + LN_W, mean, rstd, d_h, grad + LN_W,
                                          grad + LN_B));
        for (i = 0; i < n; i++)
            for (j = 0; j < HID; j++) {
                grad[B1 + j] += d_h[i * HID + j];
                for (k = 0; k < IN; k++) grad[W1 + k * HID + j] += x[i * IN + k] * d_h[i * HID + j];
            }

        CHECK(trainopt_adamw_step(&adamw, epoch, N_PARAM, param, grad, exp_avg, exp_avg_sq, NULL));
    }
    if (!(loss < 0.25f * first_loss)) {
        fprintf(stderr, "layernorm_mlp: the loss went from %g to %g, not below a quarter\n", (double)first_loss, (double)loss);
        return 1;
    }
    return 0;
}
