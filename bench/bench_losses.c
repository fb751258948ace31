/* bench/bench_losses.c - trainopt's losses and gradient utilities (DESIGN
   4.5), compiled once per backend like bench_optim.c. */
#include "bench.h"
#include "bench_config.h"

#include "trainopt.h"

#define TOB_EXPORT(x) TOB_CAT(x, TOB_BACKEND)

static int32_t *labels_for(tob_state *s, size_t rows) {
    int32_t *l = (int32_t *)tob_bytes(s, 1, rows * sizeof(int32_t));
    size_t i;
    if (l)
        for (i = 0; i < rows; i++) l[i] = (int32_t)((i * 7919u) % TOB_CE_CLASSES);
    return l;
}

/* Arrays: logits (signed), grad. */
static void bm_ce(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s), rows = n / TOB_CE_CLASSES;
    float **a = tob_arrays(s, "losses", 3, n);
    int32_t *labels = labels_for(s, rows);
    float loss;
    (void)arg;
    if (!a || !labels) return;
    if (trainopt_softmax_cross_entropy(rows, TOB_CE_CLASSES, a[1], labels, -100, 0.0, &loss, a[2]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_softmax_cross_entropy failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_softmax_cross_entropy(rows, TOB_CE_CLASSES, a[1], labels, -100, 0.0, &loss, a[2]);
        tob_clobber();
    }
    tob_escape(&loss);
    tob_rates(s, (double)n, TOB_BYTES_CE * (double)n);
}

static void bm_mse(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "losses", 3, n);
    float loss;
    (void)arg;
    if (!a) return;
    if (trainopt_mse_loss(n, a[0], a[1], &loss, a[2]) != TRAINOPT_OK) {
        tob_error(s, "trainopt_mse_loss failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_mse_loss(n, a[0], a[1], &loss, a[2]);
        tob_clobber();
    }
    tob_escape(&loss);
    tob_rates(s, (double)n, TOB_BYTES_MSE * (double)n);
}

/* Four tensors of n/4 each. arg 0: max_norm 1e9 (nothing to clip: the norm
   pass alone, as when clipping is a safety net). arg 1: the gradients are
   restored from a pristine copy before each call, with the timer paused, and
   max_norm is 1, so every call clips (sizes from 1M up, where the pause costs
   under 1%). */
static void bm_clip_norm(tob_state *s, const void *arg) {
    const int active = *(const int *)arg;
    size_t n = (size_t)tob_arg(s), lens[4], t;
    float **a = tob_arrays(s, "clip", 2, n);
    float *g[4], total;
    const double max_norm = active ? 1.0 : 1e9;
    if (!a) return;
    for (t = 0; t < 4; t++) {
        g[t] = a[0] + t * (n / 4);
        lens[t] = n / 4;
    }
    if (trainopt_clip_grad_norm(4, g, lens, max_norm, &total) != TRAINOPT_OK) {
        tob_error(s, "trainopt_clip_grad_norm failed");
        return;
    }
    while (tob_loop(s)) {
        if (active) {
            tob_pause(s);
            for (t = 0; t < n; t++) a[0][t] = a[1][t];
            tob_resume(s);
        }
        trainopt_clip_grad_norm(4, g, lens, max_norm, &total);
        tob_clobber();
    }
    tob_escape(&total);
    tob_rates(s, (double)n, (active ? TOB_BYTES_CLIP_NORM_ACTIVE : TOB_BYTES_CLIP_NORM) * (double)n);
}

static void bm_clip_value(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "clip", 2, n);
    (void)arg;
    if (!a) return;
    if (trainopt_clip_grad_value(n, a[0], 0.5) != TRAINOPT_OK) {
        tob_error(s, "trainopt_clip_grad_value failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_clip_grad_value(n, a[0], 0.5);
        tob_clobber();
    }
    tob_rates(s, (double)n, TOB_BYTES_RW * (double)n);
}

/* inv_scale 1: the same work as any scale, and the values stay put. */
static void bm_unscale(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "clip", 2, n);
    int found = 0;
    (void)arg;
    if (!a) return;
    if (trainopt_grad_unscale(n, a[0], 1.0f, &found) != TRAINOPT_OK) {
        tob_error(s, "trainopt_grad_unscale failed");
        return;
    }
    while (tob_loop(s)) {
        trainopt_grad_unscale(n, a[0], 1.0f, &found);
        tob_clobber();
    }
    tob_escape(&found);
    tob_rates(s, (double)n, TOB_BYTES_RW * (double)n);
}

static const int idle = 0, active = 1;

const tob_entry TOB_EXPORT(tob_losses)[] = {
    {"cross_entropy", TRAINOPT_SIMD_NAME, bm_ce, NULL, tob_sizes_ce, 0},
    {"mse", TRAINOPT_SIMD_NAME, bm_mse, NULL, tob_sizes_elementwise, 0},
    {"clip_norm", TRAINOPT_SIMD_NAME, bm_clip_norm, &idle, tob_sizes_elementwise, 0},
    {"clip_norm_active", TRAINOPT_SIMD_NAME, bm_clip_norm, &active, tob_sizes_large, 0},
    {"clip_value", TRAINOPT_SIMD_NAME, bm_clip_value, NULL, tob_sizes_elementwise, 0},
    {"grad_unscale", TRAINOPT_SIMD_NAME, bm_unscale, NULL, tob_sizes_elementwise, 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
