/* bench/naive_layerwise.c - LAMB, LARS, Adafactor and schedule-free AdamW as a user
   would write them without trainopt: plain C, per-step scalars once, the same passes
   and the same operations per element (norms summed in double, in order). Compiled
   once per flag set (-DTOB_VARIANT=..., see Makefile) as naive_optim.c is. */
#include <math.h>
#include <stddef.h>

#include "bench.h"
#include "layerwise.h"

#define TOB_V(x) TOB_CAT(x, TOB_VARIANT)

static float trust(double p_sumsq, double u_sumsq, double coef) {
    const double pn = sqrt(p_sumsq), un = sqrt(u_sumsq);
    return pn == 0.0 || un == 0.0 ? 1.0f : (float)(coef * pn / un);
}

static void lamb(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps, float wd,
                 int step) {
    const float ibc1 = 1.0f / (1.0f - powf(b1, (float)step)), ibc2 = 1.0f / (1.0f - powf(b2, (float)step));
    double pp = 0.0, uu = 0.0;
    float s;
    size_t i;
    for (i = 0; i < n; i++) {
        const float mi = b1 * m[i] + (1.0f - b1) * g[i], vi = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        const float u = mi * ibc1 / (sqrtf(vi * ibc2) + eps) + wd * p[i];
        m[i] = mi, v[i] = vi;
        pp += (double)p[i] * p[i], uu += (double)u * u;
    }
    s = lr * trust(pp, uu, 1.0);
    for (i = 0; i < n; i++) p[i] -= s * (m[i] * ibc1 / (sqrtf(v[i] * ibc2) + eps) + wd * p[i]);
}

static void lars(size_t n, float *p, const float *g, float *t, float lr, float wd, float coef, float momentum) {
    double pp = 0.0, uu = 0.0;
    float s;
    size_t i;
    for (i = 0; i < n; i++) {
        const float u = g[i] + wd * p[i];
        pp += (double)p[i] * p[i], uu += (double)u * u;
    }
    s = lr * trust(pp, uu, coef);
    for (i = 0; i < n; i++) {
        t[i] = -s * (g[i] + wd * p[i]) + momentum * t[i];
        p[i] += t[i];
    }
}

/* The column sums row by row into a scratch of cols floats (what a user would do). */
static void adafactor(size_t rows, size_t cols, float *p, const float *g, float *row_var, float *col_var, float *col_scratch,
                      float lr, int step) {
    const float w = powf((float)step, -0.8f), eps1 = 1.1920929e-07f;
    const size_t n = rows * cols;
    double pp = 0.0, uu = 0.0, row_sum = 0.0;
    float rho = fminf(lr, 1.0f / sqrtf((float)step)), alpha, mean, scale;
    size_t r, c;
    for (r = 0; r < n; r++) pp += (double)p[r] * p[r];
    alpha = fmaxf(1e-3f, (float)sqrt(pp / (double)n)) * rho;
    for (c = 0; c < cols; c++) col_scratch[c] = 0.0f;
    for (r = 0; r < rows; r++) {
        float s = 0.0f;
        for (c = 0; c < cols; c++) {
            const float q = g[r * cols + c] * g[r * cols + c];
            s += q;
            col_scratch[c] += q;
        }
        row_var[r] += w * (s / (float)cols - row_var[r]);
        row_sum += row_var[r];
    }
    for (c = 0; c < cols; c++) col_var[c] += w * (col_scratch[c] / (float)rows - col_var[c]);
    mean = fmaxf((float)(row_sum / (double)rows), eps1);
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++) {
            const float u = g[r * cols + c] / sqrtf(fmaxf(row_var[r] * col_var[c] / mean, eps1 * eps1));
            uu += (double)u * u;
        }
    scale = alpha / fmaxf(1.0f, (float)sqrt(uu / (double)n));
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++)
            p[r * cols + c] -= scale * g[r * cols + c] / sqrtf(fmaxf(row_var[r] * col_var[c] / mean, eps1 * eps1));
}

static void sfadamw(size_t n, float *p, const float *g, float *z, float *v, float lr, float b1, float b2, float eps,
                    float ckp1) {
    const float yc = lr * (b1 * (1.0f - ckp1) - 1.0f);
    size_t i;
    for (i = 0; i < n; i++) {
        const float vi = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        const float gn = g[i] / (sqrtf(vi) + eps);
        v[i] = vi;
        p[i] = p[i] + ckp1 * (z[i] - p[i]) + yc * gn;
        z[i] -= lr * gn;
    }
}

const tob_naive_layerwise TOB_V(tob_naive_layerwise) = {lamb, lars, adafactor, sfadamw};
