/* tests/fuzz/fuzz_losses.c - losses, regularization and gradient utilities: MSE and
   BCE (gradient NULL, separate or in place), softmax cross-entropy (labels in range,
   ignored or out of range, label smoothing), L1/L2 penalty and gradient, clipping by
   value, AMP unscale, and the multi-tensor reductions (sum_squares, grad_norm,
   clip_grad_norm) over up to four tensors long enough to span several 256-element
   blocks. Outputs: statuses, scalars and every array written. See fuzz.h. */
#include "fuzz.h"
#include "trainopt.h"

FZ_CHECK_REACHED /* every public function has a fuzz path (fuzz.h) */

#include <stdlib.h>

void FZ_NAME(fz_losses)(const uint8_t *data, size_t size, fz_out *out);

static void fz_reverse_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    (void)ctx;
    while (count-- > 0) task(arg, count);
}
static const trainopt_threads fz_threads = {fz_reverse_for, NULL};

void FZ_NAME(fz_losses)(const uint8_t *data, size_t size, fz_out *out) {
    fz_in in;
    unsigned flags;
    size_t n, batch, classes, k, i, lens[4], nonfinite = 3;
    float *a, *b, *g, *logits, *cg, *t[4], loss = -1.0f, total = -1.0f;
    int32_t *labels, ignore;
    double smoothing, l1, l2, clip, max_norm, sum = -1.0;
    float inv_scale;
    int found = 0;
    trainopt_grad_norm_info info;

    in.p = data, in.n = size;
    flags = fz_u8(&in);
    n = fz_u8(&in) < 32 ? fz_below(&in, 3000) : fz_len(&in, 300);
    batch = fz_len(&in, 24), classes = fz_len(&in, 40);
    smoothing = fz_unit(&in), l1 = fz_double(&in), l2 = fz_double(&in), clip = fz_double(&in);
    max_norm = fz_double(&in), inv_scale = (float)fz_double(&in);
    ignore = (int32_t)(fz_u8(&in) % 4 == 0 ? -100 : (int)fz_below(&in, 50) - 5);
    a = fz_alloc(n), b = fz_alloc(n), g = fz_alloc(n);
    fz_fill(&in, a, n);
    fz_fill(&in, b, n);
    memset(g, 0, n * sizeof(float));
    logits = fz_alloc(batch * classes), cg = fz_alloc(batch * classes);
    labels = (int32_t *)malloc(batch ? batch * sizeof(int32_t) : 1);
    if (!labels) abort();
    fz_fill(&in, logits, batch * classes);
    for (i = 0; i < batch; i++) {
        const uint32_t r = fz_u8(&in);
        labels[i] = r < 16 ? ignore : r < 20 ? (int32_t)classes + (int32_t)(r & 1) - 1 - (int32_t)(r & 2) * 50 /* edges */
                                          : (int32_t)(classes ? fz_below(&in, classes) : 0);
    }
    k = fz_u8(&in) % 5;
    for (i = 0; i < 4; i++) {
        lens[i] = i < k ? (fz_u8(&in) < 64 ? fz_below(&in, 1500) : fz_len(&in, 100)) : 0;
        t[i] = fz_alloc(lens[i]);
        fz_fill(&in, t[i], lens[i]);
    }

    fz_tag(out, "mse_loss");
    fz_put_status(out, trainopt_mse_loss(n, a, b, &loss, flags & 1 ? NULL : g));
    fz_put_floats(out, &loss, 1), fz_put_floats(out, g, n);
    fz_tag(out, "bce_with_logits");
    fz_put_status(out, trainopt_bce_with_logits(n, a, b, &loss, flags & 2 ? NULL : g));
    fz_put_floats(out, &loss, 1), fz_put_floats(out, g, n);
    fz_tag(out, "softmax_cross_entropy");
    memcpy(cg, logits, batch * classes * sizeof(float));
    fz_put_status(out, trainopt_softmax_cross_entropy(batch, classes, flags & 4 ? cg : logits, labels, ignore, smoothing, &loss,
                                                      flags & 8 ? NULL : cg));
    fz_put_floats(out, &loss, 1), fz_put_floats(out, cg, batch * classes);
    fz_tag(out, "mse_loss_mt");
    fz_put_status(out, trainopt_mse_loss_mt(n, a, b, &loss, flags & 1 ? NULL : g, &fz_threads));
    fz_put_floats(out, &loss, 1), fz_put_floats(out, g, n);
    fz_tag(out, "bce_with_logits_mt");
    fz_put_status(out, trainopt_bce_with_logits_mt(n, a, b, &loss, flags & 2 ? NULL : g, &fz_threads));
    fz_put_floats(out, &loss, 1), fz_put_floats(out, g, n);
    fz_tag(out, "softmax_cross_entropy_mt");
    memcpy(cg, logits, batch * classes * sizeof(float));
    fz_put_status(out, trainopt_softmax_cross_entropy_mt(batch, classes, flags & 4 ? cg : logits, labels, ignore, smoothing,
                                                         &loss, flags & 8 ? NULL : cg, &fz_threads));
    fz_put_floats(out, &loss, 1), fz_put_floats(out, cg, batch * classes);
    fz_tag(out, "l1l2_penalty");
    fz_put_status(out, trainopt_l1l2_penalty(n, a, l1, l2, &loss));
    fz_put_floats(out, &loss, 1);
    fz_tag(out, "l1l2_grad");
    fz_put_status(out, trainopt_l1l2_grad(n, a, flags & 16 ? a : g, l1, l2));
    fz_put_floats(out, a, n), fz_put_floats(out, g, n);
    fz_tag(out, "clip_grad_value");
    fz_put_status(out, trainopt_clip_grad_value(n, g, clip));
    fz_put_floats(out, g, n);
    fz_tag(out, "grad_unscale");
    fz_put_status(out, trainopt_grad_unscale(n, b, inv_scale, &found));
    fz_put_floats(out, b, n), fz_put(out, &found, sizeof found);

    fz_tag(out, "sum_squares");
    fz_put_status(out, trainopt_sum_squares(k, (const float *const *)t, lens, &sum, &nonfinite));
    fz_put_double(out, sum), fz_put(out, &nonfinite, sizeof nonfinite);
    fz_tag(out, "grad_norm");
    memset(&info, 0, sizeof info);
    fz_put_status(out, trainopt_grad_norm(k, t, lens, inv_scale, max_norm, &info));
    fz_put_double(out, info.sum_squares), fz_put(out, &info.nonfinite, sizeof info.nonfinite);
    fz_put(out, &info.found_inf, sizeof info.found_inf);
    fz_put_floats(out, &info.total_norm, 1), fz_put_floats(out, &info.clip_coef, 1), fz_put_floats(out, &info.grad_scale, 1);
    fz_tag(out, "clip_grad_norm");
    fz_put_status(out, trainopt_clip_grad_norm(k, t, lens, max_norm, flags & 32 ? NULL : &total));
    fz_put_floats(out, &total, 1);
    for (i = 0; i < 4; i++) fz_put_floats(out, t[i], lens[i]);
    /* the threaded forms, on a hook that runs the tensors in reverse: the same results */
    fz_tag(out, "sum_squares_mt");
    fz_put_status(out, trainopt_sum_squares_mt(k, (const float *const *)t, lens, &sum, &nonfinite, &fz_threads));
    fz_put_double(out, sum), fz_put(out, &nonfinite, sizeof nonfinite);
    fz_tag(out, "grad_norm_mt");
    memset(&info, 0, sizeof info);
    fz_put_status(out, trainopt_grad_norm_mt(k, t, lens, inv_scale, max_norm, &info, &fz_threads));
    fz_put_double(out, info.sum_squares), fz_put(out, &info.nonfinite, sizeof info.nonfinite);
    fz_put_floats(out, &info.total_norm, 1), fz_put_floats(out, &info.grad_scale, 1);
    fz_tag(out, "clip_grad_norm_mt");
    fz_put_status(out, trainopt_clip_grad_norm_mt(k, t, lens, max_norm, flags & 32 ? NULL : &total, &fz_threads));
    fz_put_floats(out, &total, 1);
    for (i = 0; i < 4; i++) fz_put_floats(out, t[i], lens[i]);
    fz_tag(out, "clip_grad_value_mt");
    fz_put_status(out, trainopt_clip_grad_value_mt(n, g, clip, &fz_threads));
    fz_put_floats(out, g, n);
    fz_tag(out, "grad_unscale_mt");
    fz_put_status(out, trainopt_grad_unscale_mt(n, b, inv_scale, &found, &fz_threads));
    fz_put_floats(out, b, n), fz_put(out, &found, sizeof found);

    free(a), free(b), free(g), free(logits), free(cg), free(labels);
    for (i = 0; i < 4; i++) free(t[i]);
}
