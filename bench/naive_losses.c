/* bench/naive_losses.c - the losses and gradient utilities as a user writes
   them in C (libm expf/logf, float sums). Compiled once per flag set like
   naive_optim.c. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

#define TOB_V(x) TOB_CAT(x, TOB_VARIANT)

static void cross_entropy(size_t rows, size_t classes, const float *logits, const int32_t *labels, float *loss,
                          float *grad) {
    const float inv_rows = 1.0f / (float)rows;
    float total = 0.0f;
    size_t r, j;
    for (r = 0; r < rows; r++) {
        const float *x = logits + r * classes;
        float *g = grad + r * classes;
        float max = x[0], sum = 0.0f, inv;
        for (j = 1; j < classes; j++) max = x[j] > max ? x[j] : max;
        for (j = 0; j < classes; j++) {
            g[j] = expf(x[j] - max);
            sum += g[j];
        }
        total += logf(sum) + max - x[labels[r]];
        inv = inv_rows / sum;
        for (j = 0; j < classes; j++) g[j] *= inv;
        g[labels[r]] -= inv_rows;
    }
    *loss = total * inv_rows;
}

static void mse(size_t n, const float *pred, const float *target, float *loss, float *grad) {
    const float k = 2.0f / (float)n;
    float sum = 0.0f;
    size_t i;
    for (i = 0; i < n; i++) {
        float d = pred[i] - target[i];
        sum += d * d;
        grad[i] = d * k;
    }
    *loss = sum / (float)n;
}

static void clip_norm(size_t k, float *const *g, const size_t *lens, float max_norm, float *total) {
    float sq = 0.0f, norm, coef;
    size_t t, i;
    for (t = 0; t < k; t++)
        for (i = 0; i < lens[t]; i++) sq += g[t][i] * g[t][i];
    norm = sqrtf(sq);
    coef = max_norm / (norm + 1e-6f);
    if (coef < 1.0f)
        for (t = 0; t < k; t++)
            for (i = 0; i < lens[t]; i++) g[t][i] *= coef;
    *total = norm;
}

static void clip_value(size_t n, float *g, float c) {
    size_t i;
    for (i = 0; i < n; i++) g[i] = g[i] > c ? c : (g[i] < -c ? -c : g[i]);
}

static void grad_unscale(size_t n, float *g, float inv_scale, int *found_inf) {
    int bad = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        g[i] *= inv_scale;
        bad |= !isfinite(g[i]);
    }
    *found_inf = bad;
}

const tob_naive_losses TOB_V(tob_naive_losses) = {cross_entropy, mse, clip_norm, clip_value, grad_unscale};
