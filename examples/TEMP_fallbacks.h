/* examples/TEMP_fallbacks.h - TEMPORARY. Plain-C stand-ins for trainopt kernel
   families that have not landed on main yet, with DESIGN.md's signatures, so the
   examples compile and train while those families are written. Each section is
   deleted as soon as the real kernels land; this whole file must be gone before
   the examples are called done. Nothing here is vectorized, tested or part of
   the library. */
#ifndef EXAMPLES_TEMP_FALLBACKS_H
#define EXAMPLES_TEMP_FALLBACKS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- TEMP: batch normalization (DESIGN 4.3) ---------------------------------------- */
#ifndef TEMP_HAVE_BATCHNORM
typedef enum { TRAINOPT_NCHW = 0, TRAINOPT_NHWC = 1 } trainopt_layout;
typedef struct { size_t n, c, spatial; trainopt_layout layout; } trainopt_bn_shape;
typedef struct { double eps, momentum; int fuse_relu; } trainopt_bn_config;
#define TRAINOPT_BN_DEFAULTS {1e-5, 0.1, 0}
/* [N][C] only (spatial 1), which is all the examples use. */
static inline trainopt_status trainopt_batchnorm_forward_train(const trainopt_bn_config *c, trainopt_bn_shape s,
        const float *x, const float *gamma, const float *beta, float *running_mean, float *running_var,
        float *y, float *save_mean, float *save_invstd) {
    size_t i, j, n = s.n, C = s.c;
    for (j = 0; j < C; j++) {
        double mean = 0, var = 0;
        float m, is, g = gamma ? gamma[j] : 1.0f, b = beta ? beta[j] : 0.0f;
        for (i = 0; i < n; i++) mean += x[i * C + j];
        mean /= (double)n;
        for (i = 0; i < n; i++) var += (x[i * C + j] - mean) * (x[i * C + j] - mean);
        m = (float)mean;
        is = (float)(1.0 / sqrt(var / (double)n + c->eps));
        for (i = 0; i < n; i++) {
            float v = (x[i * C + j] - m) * is * g + b;
            y[i * C + j] = (c->fuse_relu && !(v > 0.0f)) ? 0.0f : v;
        }
        save_mean[j] = m;
        save_invstd[j] = is;
        if (running_mean) {
            running_mean[j] = (float)((1 - c->momentum) * running_mean[j] + c->momentum * mean);
            running_var[j] = (float)((1 - c->momentum) * running_var[j] + c->momentum * var / (double)(n - 1));
        }
    }
    return TRAINOPT_OK;
}
static inline trainopt_status trainopt_batchnorm_forward_infer(const trainopt_bn_config *c, trainopt_bn_shape s,
        const float *x, const float *gamma, const float *beta, const float *running_mean, const float *running_var,
        float *y) {
    size_t i, j, n = s.n, C = s.c;
    for (j = 0; j < C; j++) {
        float is = (float)(1.0 / sqrt((double)running_var[j] + c->eps));
        for (i = 0; i < n; i++) {
            float v = (x[i * C + j] - running_mean[j]) * is * gamma[j] + beta[j];
            y[i * C + j] = (c->fuse_relu && !(v > 0.0f)) ? 0.0f : v;
        }
    }
    return TRAINOPT_OK;
}
static inline trainopt_status trainopt_batchnorm_backward(const trainopt_bn_config *c, trainopt_bn_shape s,
        const float *x, const float *dy, const float *gamma, const float *save_mean, const float *save_invstd,
        const float *y, float *dx, float *dgamma, float *dbeta) {
    size_t i, j, n = s.n, C = s.c;
    for (j = 0; j < C; j++) {
        double sdy = 0, sdyx = 0;
        float m = save_mean[j], is = save_invstd[j], g = gamma ? gamma[j] : 1.0f;
        for (i = 0; i < n; i++) {
            float d = (c->fuse_relu && !(y[i * C + j] > 0.0f)) ? 0.0f : dy[i * C + j];
            sdy += d;
            sdyx += d * (x[i * C + j] - m) * is;
        }
        for (i = 0; i < n; i++) {
            float d = (c->fuse_relu && !(y[i * C + j] > 0.0f)) ? 0.0f : dy[i * C + j];
            float xh = (x[i * C + j] - m) * is;
            dx[i * C + j] = (float)((d - sdy / (double)n - xh * sdyx / (double)n) * is * g);
        }
        if (dgamma) dgamma[j] = (float)sdyx;
        if (dbeta) dbeta[j] = (float)sdy;
    }
    return TRAINOPT_OK;
}
#endif

/* ---- TEMP: losses and gradient clipping (DESIGN 4.5) ---------------------------------- */
#ifndef TEMP_HAVE_LOSSES
static inline trainopt_status trainopt_softmax_cross_entropy(size_t batch, size_t classes, const float *logits,
        const int32_t *labels, int32_t ignore_index, double label_smoothing, float *loss, float *grad) {
    size_t i, j, count = 0;
    double total = 0;
    for (i = 0; i < batch; i++) count += labels[i] != ignore_index;
    for (i = 0; i < batch; i++) {
        const float *z = logits + i * classes;
        double mx = z[0], se = 0, lse, smooth = 0;
        if (labels[i] == ignore_index) {
            if (grad) memset(grad + i * classes, 0, classes * sizeof(float));
            continue;
        }
        for (j = 1; j < classes; j++) mx = z[j] > mx ? z[j] : mx;
        for (j = 0; j < classes; j++) se += exp(z[j] - mx);
        lse = mx + log(se);
        for (j = 0; j < classes; j++) smooth += lse - z[j];
        total += (1 - label_smoothing) * (lse - z[labels[i]]) + label_smoothing * smooth / (double)classes;
        if (grad)
            for (j = 0; j < classes; j++) {
                double t = label_smoothing / (double)classes + ((int32_t)j == labels[i] ? 1 - label_smoothing : 0);
                grad[i * classes + j] = (float)((exp(z[j] - lse) - t) / (double)count);
            }
    }
    *loss = (float)(total / (double)count);
    return TRAINOPT_OK;
}
static inline trainopt_status trainopt_mse_loss(size_t n, const float *pred, const float *target, float *loss, float *grad) {
    size_t i;
    double s = 0;
    for (i = 0; i < n; i++) {
        double d = (double)pred[i] - target[i];
        s += d * d;
        if (grad) grad[i] = (float)(2.0 * d / (double)n);
    }
    *loss = (float)(s / (double)n);
    return TRAINOPT_OK;
}
static inline trainopt_status trainopt_clip_grad_norm(size_t k, float *const *grads, const size_t *lens, double max_norm,
                                               float *total_norm) {
    size_t t, i;
    double s = 0, coef;
    for (t = 0; t < k; t++)
        for (i = 0; i < lens[t]; i++) s += (double)grads[t][i] * grads[t][i];
    s = sqrt(s);
    if (total_norm) *total_norm = (float)s;
    coef = max_norm / (s + 1e-6);
    if (coef < 1.0)
        for (t = 0; t < k; t++)
            for (i = 0; i < lens[t]; i++) grads[t][i] *= (float)coef;
    return TRAINOPT_OK;
}
#endif

#endif /* EXAMPLES_TEMP_FALLBACKS_H */
