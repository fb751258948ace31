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

const tob_naive_optim TOB_V(tob_naive_optim) = {sgd, adagrad, rmsprop, adam, adamw, amsgrad};
