/* tests/fuzz/fuzz_norms.c - layer, RMS and group normalization: a shape (rows and
   cols, with cols past 1024 and rows past 16 sometimes, so rows split into blocks and
   the weight gradients take each of their paths; group norm's n, c, spatial, groups,
   layout), eps, weight/bias present or NULL, in-place y = x, dx/dweight/dbias present
   or NULL; forward then backward of each (layer and RMS norm also threaded, on a
   hook that runs the pieces in reverse). Outputs: statuses and every array written.
   See fuzz.h. */
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

void FZ_NAME(fz_norms)(const uint8_t *data, size_t size, fz_out *out);

#define FZ_NM_MAX 24000 /* elements per tensor: keeps one run fast */

void FZ_NAME(fz_norms)(const uint8_t *data, size_t size, fz_out *out) {
    fz_in in;
    trainopt_norm_config cfg;
    trainopt_bn_shape s;
    unsigned flags;
    size_t rows, cols, total, width, groups, nstat;
    float *x, *dy, *y, *dx, *w, *b, *mean, *rstd, *dw, *db;

    in.p = data, in.n = size;
    flags = fz_u8(&in);
    rows = fz_u8(&in) < 32 ? 17 + fz_below(&in, 30) : fz_len(&in, 9);
    cols = fz_u8(&in) < 24 ? 1000 + fz_below(&in, 300) : fz_len(&in, 300);
    if (rows * cols > FZ_NM_MAX) rows = 1 + rows % 3;
    s.n = rows;
    s.c = fz_len(&in, 12);
    groups = 1 + fz_below(&in, 6);
    s.spatial = s.c ? cols / s.c : cols;
    s.layout = (trainopt_layout)(fz_u8(&in) % 3); /* 2: an invalid layout */
    cfg.eps = fz_double(&in);
    total = rows * cols;
    width = cols > s.c ? cols : s.c;
    nstat = rows * (groups > 1 ? groups : 1);
    x = fz_alloc(total), dy = fz_alloc(total), y = fz_alloc(total), dx = fz_alloc(total);
    w = fz_alloc(width), b = fz_alloc(width), dw = fz_alloc(width), db = fz_alloc(width);
    mean = fz_alloc(nstat), rstd = fz_alloc(nstat);
    fz_fill(&in, x, total);
    fz_fill(&in, dy, total);
    fz_fill(&in, w, width);
    fz_fill(&in, b, width);
    memset(y, 0, total * sizeof(float)), memset(dx, 0, total * sizeof(float));
    memset(mean, 0, nstat * sizeof(float)), memset(rstd, 0, nstat * sizeof(float));
    memset(dw, 0, width * sizeof(float)), memset(db, 0, width * sizeof(float));
    if (flags & 2) memcpy(y, x, total * sizeof(float)); /* in place: y is x */

    fz_tag(out, "layernorm_forward");
    fz_put_status(out, trainopt_layernorm_forward(&cfg, rows, cols, flags & 2 ? y : x, flags & 4 ? NULL : w,
                                                  flags & 8 ? NULL : b, y, flags & 16 ? NULL : mean, rstd));
    fz_put_floats(out, y, total), fz_put_floats(out, mean, rows), fz_put_floats(out, rstd, rows);
    fz_tag(out, "layernorm_backward");
    fz_put_status(out, trainopt_layernorm_backward(&cfg, rows, cols, x, dy, flags & 4 ? NULL : w, mean, rstd,
                                                   flags & 32 ? NULL : dx, flags & 64 ? NULL : dw, flags & 128 ? NULL : db));
    fz_put_floats(out, dx, total), fz_put_floats(out, dw, cols), fz_put_floats(out, db, cols);

    fz_tag(out, "rmsnorm_forward");
    fz_put_status(out, trainopt_rmsnorm_forward(&cfg, rows, cols, x, flags & 4 ? NULL : w, y, rstd));
    fz_put_floats(out, y, total), fz_put_floats(out, rstd, rows);
    fz_tag(out, "rmsnorm_backward");
    fz_put_status(out, trainopt_rmsnorm_backward(&cfg, rows, cols, x, dy, flags & 4 ? NULL : w, rstd,
                                                 flags & 32 ? NULL : dx, flags & 64 ? NULL : dw));
    fz_put_floats(out, dx, total), fz_put_floats(out, dw, cols);

    fz_tag(out, "layernorm_forward_mt");
    fz_put_status(out, trainopt_layernorm_forward_mt(&cfg, rows, cols, x, flags & 4 ? NULL : w, flags & 8 ? NULL : b, y,
                                                     flags & 16 ? NULL : mean, rstd, &fz_threads));
    fz_put_floats(out, y, total), fz_put_floats(out, mean, rows), fz_put_floats(out, rstd, rows);
    fz_tag(out, "layernorm_backward_mt");
    fz_put_status(out, trainopt_layernorm_backward_mt(&cfg, rows, cols, x, dy, flags & 4 ? NULL : w, mean, rstd,
                                                      flags & 32 ? NULL : dx, flags & 64 ? NULL : dw,
                                                      flags & 128 ? NULL : db, &fz_threads));
    fz_put_floats(out, dx, total), fz_put_floats(out, dw, cols), fz_put_floats(out, db, cols);
    fz_tag(out, "rmsnorm_forward_mt");
    fz_put_status(out, trainopt_rmsnorm_forward_mt(&cfg, rows, cols, x, flags & 4 ? NULL : w, y, rstd, &fz_threads));
    fz_put_floats(out, y, total), fz_put_floats(out, rstd, rows);
    fz_tag(out, "rmsnorm_backward_mt");
    fz_put_status(out, trainopt_rmsnorm_backward_mt(&cfg, rows, cols, x, dy, flags & 4 ? NULL : w, rstd,
                                                    flags & 32 ? NULL : dx, flags & 64 ? NULL : dw, &fz_threads));
    fz_put_floats(out, dx, total), fz_put_floats(out, dw, cols);

    /* The bf16/fp16 forms (3: an invalid dtype): x, dy, y, dx as narrow views of their
       float arrays; y in place on x's view when flags & 2. */
    {
        const trainopt_dtype dt = (trainopt_dtype)(fz_u8(&in) % 4);
        fz_tag(out, "layernorm_forward_mp");
        fz_put_status(out, trainopt_layernorm_forward_mp(&cfg, rows, cols, flags & 2 ? (void *)y : (void *)x, dt,
                                                         flags & 4 ? NULL : w, flags & 8 ? NULL : b, y,
                                                         flags & 16 ? NULL : mean, rstd));
        fz_put_floats(out, y, total), fz_put_floats(out, mean, rows), fz_put_floats(out, rstd, rows);
        fz_tag(out, "layernorm_backward_mp");
        fz_put_status(out, trainopt_layernorm_backward_mp(&cfg, rows, cols, x, dy, dt, flags & 4 ? NULL : w, mean, rstd,
                                                          flags & 32 ? NULL : dx, flags & 64 ? NULL : dw,
                                                          flags & 128 ? NULL : db));
        fz_put_floats(out, dx, total), fz_put_floats(out, dw, cols), fz_put_floats(out, db, cols);
        fz_tag(out, "rmsnorm_forward_mp");
        fz_put_status(out, trainopt_rmsnorm_forward_mp(&cfg, rows, cols, x, dt, flags & 4 ? NULL : w, y, rstd));
        fz_put_floats(out, y, total), fz_put_floats(out, rstd, rows);
        fz_tag(out, "rmsnorm_backward_mp");
        fz_put_status(out, trainopt_rmsnorm_backward_mp(&cfg, rows, cols, x, dy, dt, flags & 4 ? NULL : w, rstd,
                                                        flags & 32 ? NULL : dx, flags & 64 ? NULL : dw));
        fz_put_floats(out, dx, total), fz_put_floats(out, dw, cols);
        if (s.c * s.spatial * rows <= total) {
            const size_t gtotal = s.c * s.spatial * rows;
            fz_tag(out, "groupnorm_forward_mp");
            fz_put_status(out, trainopt_groupnorm_forward_mp(&cfg, s, groups, x, dt, flags & 4 ? NULL : w,
                                                             flags & 8 ? NULL : b, y, mean, flags & 16 ? NULL : rstd));
            fz_put_floats(out, y, gtotal), fz_put_floats(out, mean, nstat), fz_put_floats(out, rstd, nstat);
            fz_tag(out, "groupnorm_backward_mp");
            fz_put_status(out, trainopt_groupnorm_backward_mp(&cfg, s, groups, x, dy, dt, flags & 4 ? NULL : w, mean, rstd,
                                                              flags & 32 ? NULL : dx, flags & 64 ? NULL : dw,
                                                              flags & 128 ? NULL : db));
            fz_put_floats(out, dx, gtotal), fz_put_floats(out, dw, s.c), fz_put_floats(out, db, s.c);
        }
    }

    if (s.c * s.spatial * rows <= total) {
        const size_t gtotal = s.c * s.spatial * rows;
        fz_tag(out, "groupnorm_forward");
        fz_put_status(out, trainopt_groupnorm_forward(&cfg, s, groups, x, flags & 4 ? NULL : w, flags & 8 ? NULL : b, y,
                                                      mean, flags & 16 ? NULL : rstd));
        fz_put_floats(out, y, gtotal), fz_put_floats(out, mean, nstat), fz_put_floats(out, rstd, nstat);
        fz_tag(out, "groupnorm_backward");
        fz_put_status(out, trainopt_groupnorm_backward(&cfg, s, groups, x, dy, flags & 4 ? NULL : w, mean, rstd,
                                                       flags & 32 ? NULL : dx, flags & 64 ? NULL : dw,
                                                       flags & 128 ? NULL : db));
        fz_put_floats(out, dx, gtotal), fz_put_floats(out, dw, s.c), fz_put_floats(out, db, s.c);
        fz_tag(out, "groupnorm_forward_mt");
        fz_put_status(out, trainopt_groupnorm_forward_mt(&cfg, s, groups, x, flags & 4 ? NULL : w, flags & 8 ? NULL : b,
                                                         y, mean, flags & 16 ? NULL : rstd, &fz_threads));
        fz_put_floats(out, y, gtotal), fz_put_floats(out, mean, nstat), fz_put_floats(out, rstd, nstat);
        fz_tag(out, "groupnorm_backward_mt");
        fz_put_status(out, trainopt_groupnorm_backward_mt(&cfg, s, groups, x, dy, flags & 4 ? NULL : w, mean, rstd,
                                                          flags & 32 ? NULL : dx, flags & 64 ? NULL : dw,
                                                          flags & 128 ? NULL : db, &fz_threads));
        fz_put_floats(out, dx, gtotal), fz_put_floats(out, dw, s.c), fz_put_floats(out, db, s.c);
    }

    free(x), free(dy), free(y), free(dx), free(w), free(b), free(dw), free(db), free(mean), free(rstd);
}
