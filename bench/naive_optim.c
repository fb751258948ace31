/* bench/naive_optim.c - the optimizer loops a user would write instead of
   calling trainopt: plain C, the configuration of bench.h only, per-step
   scalars once per call, then one loop doing the same operations trainopt
   does (one sqrt, one division per element). Compiled once per flag set
   (-DTOB_VARIANT=O2, O3_native, ... see Makefile), each in its own
   translation unit, so the table tob_naive_optim_<variant> measures what that
   compiler invocation makes of the same source. */
#include <math.h>
#include <stddef.h>

#include "bench.h"

#define TOB_V(x) TOB_CAT(x, TOB_VARIANT)

static void sgd(size_t n, float *p, const float *g, float *buf, float lr, float momentum) {
    size_t i;
    for (i = 0; i < n; i++) {
        float b = momentum * buf[i] + g[i];
        buf[i] = b;
        p[i] -= lr * b;
    }
}

static void adagrad(size_t n, float *p, const float *g, float *sum, float lr, float eps) {
    size_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float s = sum[i] + gi * gi;
        sum[i] = s;
        p[i] -= lr * gi / (sqrtf(s) + eps);
    }
}

static void rmsprop(size_t n, float *p, const float *g, float *sq, float lr, float alpha, float eps) {
    size_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float v = alpha * sq[i] + (1.0f - alpha) * gi * gi;
        sq[i] = v;
        p[i] -= lr * gi / (sqrtf(v) + eps);
    }
}

static void adam(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                 int step) {
    const float step_size = lr / (1.0f - powf(b1, (float)step));
    const float inv_bc2_sqrt = 1.0f / sqrtf(1.0f - powf(b2, (float)step));
    size_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step_size * mi / (sqrtf(vi) * inv_bc2_sqrt + eps);
    }
}

static void adamw(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                  float wd, int step) {
    const float step_size = lr / (1.0f - powf(b1, (float)step));
    const float inv_bc2_sqrt = 1.0f / sqrtf(1.0f - powf(b2, (float)step));
    const float decay = 1.0f - lr * wd;
    size_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step_size * mi / (sqrtf(vi) * inv_bc2_sqrt + eps);
    }
}

static void amsgrad(size_t n, float *p, const float *g, float *m, float *v, float *vmax, float lr, float b1, float b2,
                    float eps, int step) {
    const float step_size = lr / (1.0f - powf(b1, (float)step));
    const float inv_bc2_sqrt = 1.0f / sqrtf(1.0f - powf(b2, (float)step));
    size_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        float vm = vmax[i] > vi ? vmax[i] : vi;
        m[i] = mi;
        v[i] = vi;
        vmax[i] = vm;
        p[i] -= step_size * mi / (sqrtf(vm) * inv_bc2_sqrt + eps);
    }
}

/* Issue 16. */
static void nadam(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                  float momentum_decay, double mu_product, int step) {
    const float mu = b1 * (1.0f - 0.5f * powf(0.96f, (float)step * momentum_decay));
    const float mu_next = b1 * (1.0f - 0.5f * powf(0.96f, (float)(step + 1) * momentum_decay));
    const float grad_coef = lr * (1.0f - mu) / (1.0f - (float)mu_product);
    const float avg_coef = lr * mu_next / (1.0f - (float)mu_product * mu_next);
    const float inv_bc2_sqrt = 1.0f / sqrtf(1.0f - powf(b2, (float)step));
    size_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= (grad_coef * gi + avg_coef * mi) / (sqrtf(vi) * inv_bc2_sqrt + eps);
    }
}

static void radam(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                  int step) {
    const float bc1 = 1.0f - powf(b1, (float)step), bc2 = 1.0f - powf(b2, (float)step);
    const float rho_inf = 2.0f / (1.0f - b2) - 1.0f;
    const float rho_t = rho_inf - 2.0f * (float)step * powf(b2, (float)step) / bc2;
    const float rect = sqrtf((rho_t - 4.0f) * (rho_t - 2.0f) * rho_inf / ((rho_inf - 4.0f) * (rho_inf - 2.0f) * rho_t));
    const float step_size = lr * rect * sqrtf(bc2) / bc1; /* step 100: rectified */
    size_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step_size * mi / (sqrtf(vi) + eps);
    }
}

static void adamax(size_t n, float *p, const float *g, float *m, float *u, float lr, float b1, float b2, float eps,
                   int step) {
    const float clr = lr / (1.0f - powf(b1, (float)step));
    size_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float a = b2 * u[i], b = fabsf(gi) + eps;
        float ui = a > b ? a : b;
        m[i] = mi;
        u[i] = ui;
        p[i] -= clr * mi / ui;
    }
}

static void adadelta(size_t n, float *p, const float *g, float *v, float *acc, float lr, float rho, float eps) {
    size_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float vi = rho * v[i] + (1.0f - rho) * gi * gi;
        float delta = sqrtf(acc[i] + eps) / sqrtf(vi + eps) * gi;
        v[i] = vi;
        acc[i] = rho * acc[i] + (1.0f - rho) * delta * delta;
        p[i] -= lr * delta;
    }
}

static void lion(size_t n, float *p, const float *g, float *m, float lr, float b1, float b2, float wd) {
    size_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float c = b1 * m[i] + (1.0f - b1) * gi;
        float sign = c > 0.0f ? 1.0f : c < 0.0f ? -1.0f : c;
        p[i] -= lr * (sign + wd * p[i]);
        m[i] = b2 * m[i] + (1.0f - b2) * gi;
    }
}

const tob_naive_optim TOB_V(tob_naive_optim) = {sgd, adagrad, rmsprop, adam, adamw, amsgrad,
                                                nadam, radam, adamax, adadelta, lion};
