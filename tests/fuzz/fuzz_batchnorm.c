/* tests/fuzz/fuzz_batchnorm.c - batch normalization: a shape (n, c, spatial, layout,
   with spatial past 1024 sometimes, so rows split into segments), eps, momentum,
   fuse_relu, gamma/beta/running statistics present or NULL, in-place y = x and
   dx = dy; forward_train, backward, forward_infer and fold in sequence. Outputs:
   statuses and every array written. See fuzz.h. */
#include "fuzz.h"
#include "trainopt.h"

FZ_CHECK_REACHED /* every public function has a fuzz path (fuzz.h) */

#include <stdlib.h>

/* The threaded forms on a serial hook that runs the pieces in reverse. */
static void fz_reverse_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    (void)ctx;
    while (count-- > 0) task(arg, count);
}
static const trainopt_threads fz_threads = {fz_reverse_for, NULL};

void FZ_NAME(fz_batchnorm)(const uint8_t *data, size_t size, fz_out *out);

#define FZ_BN_MAX 24000 /* elements per tensor: keeps one run fast */

void FZ_NAME(fz_batchnorm)(const uint8_t *data, size_t size, fz_out *out) {
    fz_in in;
    trainopt_bn_config cfg;
    trainopt_bn_shape s;
    unsigned flags;
    size_t total, c;
    float *x, *dy, *y, *dx, *gamma, *beta, *rm, *rv, *sm, *si, *dg, *db, *scale, *shift;

    in.p = data, in.n = size;
    flags = fz_u8(&in);
    s.n = fz_below(&in, 7);
    s.c = fz_len(&in, 90);
    s.spatial = fz_u8(&in) < 16 ? 1000 + fz_below(&in, 80) : fz_len(&in, 50);
    s.layout = (trainopt_layout)(fz_u8(&in) % 3); /* 2: an invalid layout */
    if (s.n * s.c * s.spatial > FZ_BN_MAX) s.c = 1 + s.c % 3;
    if (s.n * s.c * s.spatial > FZ_BN_MAX) s.n = 1;
    cfg.eps = fz_double(&in), cfg.momentum = fz_unit(&in), cfg.fuse_relu = flags & 1;
    total = s.n * s.c * s.spatial, c = s.c;
    x = fz_alloc(total), dy = fz_alloc(total), y = fz_alloc(total), dx = fz_alloc(total);
    gamma = fz_alloc(c), beta = fz_alloc(c), rm = fz_alloc(c), rv = fz_alloc(c), sm = fz_alloc(c), si = fz_alloc(c);
    dg = fz_alloc(c), db = fz_alloc(c), scale = fz_alloc(c), shift = fz_alloc(c);
    fz_fill(&in, x, total);
    fz_fill(&in, dy, total);
    fz_fill(&in, gamma, c);
    fz_fill(&in, beta, c);
    fz_fill(&in, rm, c);
    fz_fill(&in, rv, c);
    memset(y, 0, total * sizeof(float)), memset(dx, 0, total * sizeof(float));
    memset(sm, 0, c * sizeof(float)), memset(si, 0, c * sizeof(float));
    memset(dg, 0, c * sizeof(float)), memset(db, 0, c * sizeof(float));
    if (flags & 2) memcpy(y, x, total * sizeof(float)); /* in place: y is x */

    fz_tag(out, "forward_train");
    fz_put_status(out, trainopt_batchnorm_forward_train(&cfg, s, flags & 2 ? y : x, flags & 4 ? NULL : gamma,
                                                        flags & 8 ? NULL : beta, flags & 16 ? NULL : rm,
                                                        flags & 16 ? NULL : rv, y, sm, si));
    fz_put_floats(out, y, total);
    fz_put_floats(out, rm, c), fz_put_floats(out, rv, c), fz_put_floats(out, sm, c), fz_put_floats(out, si, c);

    fz_tag(out, "backward");
    if (flags & 32) memcpy(dx, dy, total * sizeof(float)); /* in place: dx is dy */
    fz_put_status(out, trainopt_batchnorm_backward(&cfg, s, x, flags & 32 ? dx : dy, flags & 4 ? NULL : gamma, sm, si, y, dx,
                                                   flags & 64 ? NULL : dg, flags & 64 ? NULL : db));
    fz_put_floats(out, dx, total), fz_put_floats(out, dg, c), fz_put_floats(out, db, c);

    fz_tag(out, "forward_infer");
    fz_put_status(out, trainopt_batchnorm_forward_infer(&cfg, s, x, flags & 4 ? NULL : gamma, flags & 8 ? NULL : beta, rm,
                                                        rv, flags & 128 ? dx : y));
    fz_put_floats(out, y, total), fz_put_floats(out, dx, total);

    fz_tag(out, "fold");
    fz_put_status(out, trainopt_batchnorm_fold(&cfg, c, flags & 4 ? NULL : gamma, beta, rm, rv, scale, flags & 128 ? beta : shift));
    fz_put_floats(out, scale, c), fz_put_floats(out, beta, c);
    fz_put_floats(out, flags & 128 ? beta : shift, c);

    fz_tag(out, "forward_train_mt");
    fz_put_status(out, trainopt_batchnorm_forward_train_mt(&cfg, s, flags & 2 ? y : x, flags & 4 ? NULL : gamma,
                                                           flags & 8 ? NULL : beta, flags & 16 ? NULL : rm,
                                                           flags & 16 ? NULL : rv, y, sm, si, &fz_threads));
    fz_put_floats(out, y, total);
    fz_put_floats(out, rm, c), fz_put_floats(out, rv, c), fz_put_floats(out, sm, c), fz_put_floats(out, si, c);

    fz_tag(out, "backward_mt");
    if (flags & 32) memcpy(dx, dy, total * sizeof(float)); /* in place: dx is dy */
    fz_put_status(out, trainopt_batchnorm_backward_mt(&cfg, s, x, flags & 32 ? dx : dy, flags & 4 ? NULL : gamma, sm, si, y,
                                                      dx, flags & 64 ? NULL : dg, flags & 64 ? NULL : db, &fz_threads));
    fz_put_floats(out, dx, total), fz_put_floats(out, dg, c), fz_put_floats(out, db, c);

    fz_tag(out, "forward_infer_mt");
    fz_put_status(out, trainopt_batchnorm_forward_infer_mt(&cfg, s, x, flags & 4 ? NULL : gamma, flags & 8 ? NULL : beta,
                                                           rm, rv, flags & 128 ? dx : y, &fz_threads));
    fz_put_floats(out, y, total), fz_put_floats(out, dx, total);

    free(x), free(dy), free(y), free(dx), free(gamma), free(beta), free(rm), free(rv), free(sm), free(si);
    free(dg), free(db), free(scale), free(shift);
}
