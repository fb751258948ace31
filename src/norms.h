/* >>norms: layer norm, RMS norm and group norm. Their statistics are batch norm's
   (>>batchnorm): canonical blocks of one row, each block's float sums shifted by its
   own float mean, merged in double (trainopt__bn_stats, trainopt__bn_merge), so a
   row whose mean is 1e4 times its standard deviation keeps its variance. A "row" is
   a layer-norm row, or one (sample, group) of group norm, whose values are
   contiguous in NCHW. */

/* Rows per block of the weight gradients' sums over rows: each block's float sums,
   rows in order, are added in double in block order. Part of the canonical order:
   changing it changes results. */
#define TRAINOPT__NORM_ROWS 16
/* Columns (group norm: channels) whose double sums of the weight gradients live on
   the stack. A performance choice only: results do not depend on it. */
#define TRAINOPT__NORM_TILE 256

/* One row's float coefficients: xhat = fma(x - mu, a, cx), where cx carries the
   rounding error of the float mean mu (as batch norm's b); backward
   dx = fma(x - mu, k, fma(g, a, c)), g being dy times the weight. */
typedef struct {
    float mu, a, cx, k, c;
} trainopt__norm_row;

/* ---- forward statistics ---- */

/* Mean and sum of squared deviations, in double, of rows r..r+g-1 (g is GROUP or 1)
   of len values each, rows len apart from x: batch norm's channels of one sample. */
TRAINOPT__DRIVER void trainopt__norm_stats(const float *x, size_t len, size_t r, int g, double *mean, double *m2) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(1, len);
    double count = 0.0;
    float mb[TRAINOPT__BN_GROUP], s1[TRAINOPT__BN_GROUP], s2[TRAINOPT__BN_GROUP];
    trainopt__bn_group gr;
    size_t k;
    int j;
    for (j = 0; j < g; j++) mean[j] = m2[j] = 0.0;
    for (k = 0; k < bl.count; k++) {
        trainopt__bn_channel_group(&bl, k, 1, r, g, &gr);
        trainopt__bn_stats(&gr, g, x, mb, s1, s2);
        for (j = 0; j < g; j++) trainopt__bn_merge(count, (double)gr.len, mb[j], s1[j], s2[j], mean + j, m2 + j);
        count += (double)gr.len;
    }
}

/* The forward coefficients of a row from its double statistics: layer norm
   normalizes by the biased variance m2/len, RMS norm by mean(x^2) = m2/len + mean^2
   (mu = 0: x is not centered). *rstd gets the saved 1/sqrt(. + eps). */
TRAINOPT__FORCE_INLINE void trainopt__norm_row_finish(double len, double eps, double mean, double m2, int rms,
                                                  trainopt__norm_row *rc, double *rstd) {
    if (m2 < 0.0) m2 = 0.0;
    if (rms) {
        *rstd = 1.0 / sqrt(fma(mean, mean, fma(m2, 1.0 / len, eps)));
        rc->mu = 0.0f;
        rc->cx = 0.0f;
    } else {
        *rstd = 1.0 / sqrt(fma(m2, 1.0 / len, eps));
        rc->mu = trainopt__bn_f(mean);
        rc->cx = trainopt__bn_f(-(mean - (double)rc->mu) * *rstd);
    }
    rc->a = trainopt__bn_f(*rstd);
    rc->k = rc->c = 0.0f;
}

/* ---- rows of layer and RMS norm: the elementwise passes ---- */

/* Affine kinds: bit 1 a weight, bit 2 a bias (constants at every call). */
#define TRAINOPT__NORM_W 1
#define TRAINOPT__NORM_B 2

/* k values at o of x or dy, whose dtype dt is a constant at every call: floats as
   they are, bf16 and fp16 (>>norms-mixed) widened in registers, exactly. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__norm_load(const void *p, int dt, size_t o, size_t k) {
    return dt == TRAINOPT_F32 ? trainopt__v_load_n((const float *)p + o, k) : trainopt__load_as_f32(p, dt, o, k);
}

/* Forward: y = xhat*w + b, each only when given (F.layer_norm); RMS norm's xhat is
   x*rstd (mu and cx are 0). x of dtype dt, as trainopt__norm_load. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__norm_y(const trainopt__norm_row *rc, const void *x, int dt, const float *w,
                                                     const float *b, size_t i, size_t k, int affine) {
    trainopt__vf v = trainopt__v_fma(trainopt__v_sub(trainopt__norm_load(x, dt, i, k), trainopt__v_set1(rc->mu)),
                                     trainopt__v_set1(rc->a), trainopt__v_set1(rc->cx));
    if (affine & TRAINOPT__NORM_W) {
        const trainopt__vf wv = trainopt__v_load_n(w + i, k);
        v = affine & TRAINOPT__NORM_B ? trainopt__v_fma(v, wv, trainopt__v_load_n(b + i, k)) : trainopt__v_mul(v, wv);
    } else if (affine & TRAINOPT__NORM_B) {
        v = trainopt__v_add(v, trainopt__v_load_n(b + i, k));
    }
    return v;
}

/* Backward: dx = fma(x - mu, k, fma(g, a, c)), g = dy*w (dy without a weight); x and
   dy of dtype dt, as trainopt__norm_load. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__norm_dx(const trainopt__norm_row *rc, const void *x, const void *dy, int dt,
                                                      const float *w, size_t i, size_t k, int affine) {
    trainopt__vf g = trainopt__norm_load(dy, dt, i, k);
    if (affine & TRAINOPT__NORM_W) g = trainopt__v_mul(g, trainopt__v_load_n(w + i, k));
    return trainopt__v_fma(trainopt__v_sub(trainopt__norm_load(x, dt, i, k), trainopt__v_set1(rc->mu)), trainopt__v_set1(rc->k),
                           trainopt__v_fma(g, trainopt__v_set1(rc->a), trainopt__v_set1(rc->c)));
}

/* One row of y (backward: dx); with stream, aligned vectors go through streaming
   stores (as >>batchnorm's rows), and the forward prefetches next_x (the row its next
   statistics sweep starts on; NULL: none) alongside: this sweep reads its own row from
   cache, so without the hint memory would idle until the next sums ask for theirs
   (bench/FINDINGS.md: 10-30% off layer and RMS norm forward out of cache; the
   backward, which spends its time on its sums, gained nothing). backward and affine
   are constants at every call, and so is dt, the dtype of x, dy and the output: bf16
   and fp16 (>>norms-mixed, never streamed) are widened in registers and y or dx
   rounded to nearest even as it is stored, the forward prefetching next_x always. */
TRAINOPT__FORCE_INLINE void trainopt__norm_row_body(const trainopt__norm_row *rc, const void *x, int dt, const void *dy,
                                                    const float *w, const float *b, void *out, size_t len,
                                                    int backward, int affine, int stream, const void *next_x) {
#define TRAINOPT__NORM_VEC(i, k)                                                                    \
    (backward ? trainopt__norm_dx(rc, x, dy, dt, w, i, k, affine)                                   \
              : trainopt__norm_y(rc, x, dt, w, b, i, k, affine))
    size_t i = 0;
    if (dt != TRAINOPT_F32) {
        const trainopt__vi none = trainopt__vi_set1(0u);
        for (; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES) {
            /* 2-byte values: a cache line every other vector; the hint is cheap */
            if (next_x) TRAINOPT__PREFETCH((const unsigned char *)next_x + 2 * i);
            trainopt__store_from_f32(out, dt, 0, i, TRAINOPT_SIMD_LANES, TRAINOPT__NORM_VEC(i, TRAINOPT_SIMD_LANES), none);
        }
        if (i < len) trainopt__store_from_f32(out, dt, 0, i, len - i, TRAINOPT__NORM_VEC(i, len - i), none);
        return;
    }
    if (stream) {
        const size_t h = trainopt__bn_head((float *)out, len);
        if (h) trainopt__v_store_n((float *)out, TRAINOPT__NORM_VEC(0, h), h);
        for (i = h; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES) {
            if (next_x) TRAINOPT__PREFETCH((const float *)next_x + i);
            trainopt__v_stream((float *)out + i, TRAINOPT__NORM_VEC(i, TRAINOPT_SIMD_LANES));
        }
    } else {
        for (; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES)
            trainopt__v_store((float *)out + i, TRAINOPT__NORM_VEC(i, TRAINOPT_SIMD_LANES));
    }
    if (i < len) trainopt__v_store_n((float *)out + i, TRAINOPT__NORM_VEC(i, len - i), len - i);
#undef TRAINOPT__NORM_VEC
}

TRAINOPT__DRIVER void trainopt__norm_row_pass(const trainopt__norm_row *rc, const float *x, const float *dy,
                                              const float *w, const float *b, float *out, size_t len, int backward,
                                              int affine, int stream, const float *next_x) {
    const trainopt__norm_row local = *rc;
    const float *nx = next_x; /* the forward's only */
    if (backward) {
        if (affine & TRAINOPT__NORM_W)
            trainopt__norm_row_body(&local, x, TRAINOPT_F32, dy, w, NULL, out, len, 1, TRAINOPT__NORM_W, stream, NULL);
        else
            trainopt__norm_row_body(&local, x, TRAINOPT_F32, dy, NULL, NULL, out, len, 1, 0, stream, NULL);
        return;
    }
    switch (affine) {
    case 0: trainopt__norm_row_body(&local, x, TRAINOPT_F32, NULL, NULL, NULL, out, len, 0, 0, stream, nx); break;
    case TRAINOPT__NORM_W:
        trainopt__norm_row_body(&local, x, TRAINOPT_F32, NULL, w, NULL, out, len, 0, TRAINOPT__NORM_W, stream, nx);
        break;
    case TRAINOPT__NORM_B:
        trainopt__norm_row_body(&local, x, TRAINOPT_F32, NULL, NULL, b, out, len, 0, TRAINOPT__NORM_B, stream, nx);
        break;
    default: trainopt__norm_row_body(&local, x, TRAINOPT_F32, NULL, w, b, out, len, 0, TRAINOPT__NORM_W | TRAINOPT__NORM_B, stream, nx);
    }
}

/* ---- backward sums ---- */

/* One vector of k values at o: s1 += g, s2 += (x - mu)*g, s3 += x - mu. Lanes past k add +0. */
TRAINOPT__FORCE_INLINE void trainopt__norm_accum(const void *x, const void *dy, int dt, const float *w, size_t o, size_t k,
                                                 trainopt__vf mu, int weighted, trainopt__vf *s1, trainopt__vf *s2,
                                                 trainopt__vf *s3) {
    const trainopt__vf d = trainopt__v_keep_first(trainopt__v_sub(trainopt__norm_load(x, dt, o, k), mu), k);
    trainopt__vf g = trainopt__norm_load(dy, dt, o, k);
    if (weighted) g = trainopt__v_mul(g, trainopt__v_load_n(w + o, k));
    *s1 = trainopt__v_add(*s1, g);
    *s2 = trainopt__v_fma(d, g, *s2);
    *s3 = trainopt__v_add(*s3, d);
}

/* sum[0] += sum(g), sum[1] += sum((x - mu)*g), sum[2] += sum(x - mu) over one run of
   len values: batch norm's blocks of one row (BLOCK values, value i of a block in
   partial sum i % 16, the block's float sums added in double in order). The third
   sum recovers the rounding error of the saved float mean, so the backward pass does
   not trust it (see trainopt__norm_backward_row). x and dy of dtype dt, as
   trainopt__norm_load. */
TRAINOPT__FORCE_INLINE void trainopt__norm_sums_body(const void *x, const void *dy, int dt, const float *w, float mu,
                                                     size_t len, int weighted, double *sum) {
    const trainopt__vf m = trainopt__v_set1(mu);
    size_t s0, i;
    int v;
    for (s0 = 0; s0 < len; s0 += TRAINOPT__BN_BLOCK) {
        const size_t n = trainopt__bn_min(TRAINOPT__BN_BLOCK, len - s0), full = n / 16 * 16;
        trainopt__acc16 a1, a2, a3;
        trainopt__acc16_zero(&a1);
        trainopt__acc16_zero(&a2);
        trainopt__acc16_zero(&a3);
        for (i = 0; i < full; i += 16)
            TRAINOPT__UNROLL
            for (v = 0; v < TRAINOPT__ACC_VECS; v++)
                trainopt__norm_accum(x, dy, dt, w, s0 + i + (size_t)v * TRAINOPT_SIMD_LANES, TRAINOPT_SIMD_LANES, m, weighted,
                                     &a1.v[v], &a2.v[v], &a3.v[v]);
        if (full < n)
            TRAINOPT__UNROLL
            for (v = 0; v < TRAINOPT__ACC_VECS; v++) {
                i = full + (size_t)v * TRAINOPT_SIMD_LANES;
                if (i < n)
                    trainopt__norm_accum(x, dy, dt, w, s0 + i, trainopt__bn_min(n - i, TRAINOPT_SIMD_LANES), m, weighted,
                                         &a1.v[v], &a2.v[v], &a3.v[v]);
            }
        sum[0] += (double)trainopt__acc16_sum(&a1);
        sum[1] += (double)trainopt__acc16_sum(&a2);
        sum[2] += (double)trainopt__acc16_sum(&a3);
    }
}

TRAINOPT__DRIVER void trainopt__norm_sums(const float *x, const float *dy, const float *w, float mu, size_t len,
                                          double *sum) {
    if (w) trainopt__norm_sums_body(x, dy, TRAINOPT_F32, w, mu, len, 1, sum);
    else trainopt__norm_sums_body(x, dy, TRAINOPT_F32, NULL, mu, len, 0, sum);
}

/* A row's backward coefficients from its sums (weighted g), the saved float mean and
   rstd r, over len values. delta = mean(x - mu) is the saved mean's rounding error
   (0 for RMS norm, which does not center); the centered dot product is
   sum((x - mu - delta)*g), and
     dx = r*(g - mean(g)) - (x - mu - delta)*r^3*dot/len
        = fma(x - mu, k, fma(g, r, c)), k = -r^3*dot/len, c = -r*mean(g) - delta*k.
   RMS norm: dx = r*g - x*r^3*sum(x*g)/len (mean(g) does not enter). */
TRAINOPT__FORCE_INLINE void trainopt__norm_backward_row(double len, const double *sum, float mu, float rstd, int rms,
                                                        trainopt__norm_row *rc) {
    const double r = (double)rstd, inv = 1.0 / len;
    const double delta = rms ? 0.0 : sum[2] * inv, dot = rms ? sum[1] : fma(-delta, sum[0], sum[1]);
    const double k = -(r * r * r) * (dot * inv);
    rc->mu = mu;
    rc->a = trainopt__bn_f(r);
    rc->cx = trainopt__bn_f(-delta * r);
    rc->k = trainopt__bn_f(k);
    rc->c = rms ? 0.0f : trainopt__bn_f(fma(-delta, k, -r * (sum[0] * inv)));
}

/* ---- weight gradients: sums over rows ---- */

/* Where a block's column sums go: into double sums tw, tb (column j of the tile at
   byte 8*j; the arrays may sit in an output that is only float-aligned, hence
   memcpy), or, when the call has one block (tw NULL), straight to dw, db. */
typedef struct {
    unsigned char *tw, *tb;
    float *dw, *db;
} trainopt__norm_wsum;

TRAINOPT__FORCE_INLINE double trainopt__norm_getd(const unsigned char *t, size_t j) {
    double v;
    memcpy(&v, t + j * sizeof(double), sizeof v);
    return v;
}
TRAINOPT__FORCE_INLINE void trainopt__norm_setd(unsigned char *t, size_t j, double v) {
    memcpy(t + j * sizeof(double), &v, sizeof v);
}

/* A block's float column sums lw, lb of columns j .. j+width-1 (entries t0.. of the
   double sums) into ws: the block's first sums set them, the others add. */
TRAINOPT__FORCE_INLINE void trainopt__norm_wfold(const trainopt__norm_wsum *ws, size_t j, size_t t0, const float *lw,
                                                 const float *lb, size_t width, int first) {
    unsigned char *const tw = ws->tw, *const tb = ws->tb;
    size_t l;
    if (!tw) {
        for (l = 0; l < width; l++) {
            if (ws->dw) ws->dw[j + l] = trainopt__bn_f((double)lw[l]);
            if (ws->db) ws->db[j + l] = trainopt__bn_f((double)lb[l]);
        }
    } else if (first) {
        for (l = 0; l < width; l++) {
            trainopt__norm_setd(tw, t0 + l, (double)lw[l]);
            trainopt__norm_setd(tb, t0 + l, (double)lb[l]);
        }
    } else {
        for (l = 0; l < width; l++) {
            trainopt__norm_setd(tw, t0 + l, trainopt__norm_getd(tw, t0 + l) + (double)lw[l]);
            trainopt__norm_setd(tb, t0 + l, trainopt__norm_getd(tb, t0 + l) + (double)lb[l]);
        }
    }
}

/* Vectors of columns swept together by the weight gradients (independent sums). */
#define TRAINOPT__NORM_VB 4

/* The fused sweep's dx (trainopt__norm_wgrad_dx): rows [0, nr) of the block get dx at
   out (the block's first row, rows cols apart; of the dtype of x and dy), g = dy*w
   when w is given. */
typedef struct {
    void *out;
    const float *w;
    size_t nr;
} trainopt__norm_dxs;

/* The block of nr rows (x, dy at its first row, rows cols apart, coefficients rc):
   per column, sum(dy*xhat) and sum(dy) in float with the rows in order, then added
   to the sums of columns [c0, c1) (first: they start at this block's). With dx (a
   constant), the same sweep writes the block's dx (trainopt__norm_dx's values, the
   same operations) from the x and dy it loads: one sweep of the block from cache
   fewer (bench/FINDINGS.md). stream: dx through streaming stores (fp32 only; the
   caller checks that every row is aligned for them). x, dy and dx of dtype dt, as
   trainopt__norm_load; bf16 and fp16 dx rounded to nearest even. */
TRAINOPT__FORCE_INLINE void trainopt__norm_wgrad_body(const void *x, const void *dy, int dt, size_t cols,
                                                      const trainopt__norm_row *rc, size_t nr, size_t c0, size_t c1,
                                                      const trainopt__norm_wsum *ws, int first,
                                                      const trainopt__norm_dxs *dxs, int dx, int weighted, int stream) {
    trainopt__vf pw[TRAINOPT__NORM_VB], pb[TRAINOPT__NORM_VB];
    float lw[TRAINOPT__NORM_VB * TRAINOPT_SIMD_LANES], lb[TRAINOPT__NORM_VB * TRAINOPT_SIMD_LANES];
    const size_t step = TRAINOPT__NORM_VB * TRAINOPT_SIMD_LANES;
    size_t j, r;
    int v;
    for (j = c0; j < c1; j += step) {
        const size_t width = trainopt__bn_min(step, c1 - j);
        TRAINOPT__UNROLL
        for (v = 0; v < TRAINOPT__NORM_VB; v++) pw[v] = pb[v] = trainopt__v_zero();
        for (r = 0; r < nr; r++) {
            const trainopt__vf mu = trainopt__v_set1(rc[r].mu), a = trainopt__v_set1(rc[r].a), cx = trainopt__v_set1(rc[r].cx);
            const int row_dx = dx && r < dxs->nr;
            TRAINOPT__UNROLL
            for (v = 0; v < TRAINOPT__NORM_VB; v++) {
                const size_t o = (size_t)v * TRAINOPT_SIMD_LANES;
                if (o < width) {
                    const size_t k = trainopt__bn_min(width - o, TRAINOPT_SIMD_LANES), at = r * cols + j + o;
                    const trainopt__vf d = trainopt__norm_load(dy, dt, at, k);
                    const trainopt__vf xm = trainopt__v_sub(trainopt__norm_load(x, dt, at, k), mu);
                    const trainopt__vf xh = trainopt__v_fma(xm, a, cx);
                    pw[v] = trainopt__v_fma(d, xh, pw[v]);
                    pb[v] = trainopt__v_add(pb[v], d);
                    if (row_dx) {
                        const trainopt__vf g = weighted ? trainopt__v_mul(d, trainopt__v_load_n(dxs->w + j + o, k)) : d;
                        const trainopt__vf dxv = trainopt__v_fma(xm, trainopt__v_set1(rc[r].k),
                                                                 trainopt__v_fma(g, a, trainopt__v_set1(rc[r].c)));
                        if (dt != TRAINOPT_F32) trainopt__store_from_f32(dxs->out, dt, 0, at, k, dxv, trainopt__vi_set1(0u));
                        else if (stream && k == TRAINOPT_SIMD_LANES) trainopt__v_stream((float *)dxs->out + at, dxv);
                        else trainopt__v_store_n((float *)dxs->out + at, dxv, k);
                    }
                }
            }
        }
        TRAINOPT__UNROLL
        for (v = 0; v < TRAINOPT__NORM_VB; v++) {
            trainopt__v_store(lw + (size_t)v * TRAINOPT_SIMD_LANES, pw[v]);
            trainopt__v_store(lb + (size_t)v * TRAINOPT_SIMD_LANES, pb[v]);
        }
        trainopt__norm_wfold(ws, j, j - c0, lw, lb, width, first);
    }
}

TRAINOPT__DRIVER void trainopt__norm_wgrad(const float *x, const float *dy, size_t cols, const trainopt__norm_row *rc,
                                           size_t nr, size_t c0, size_t c1, const trainopt__norm_wsum *ws, int first) {
    trainopt__norm_wgrad_body(x, dy, TRAINOPT_F32, cols, rc, nr, c0, c1, ws, first, NULL, 0, 0, 0);
}

/* trainopt__norm_wgrad and the block's dx in one sweep (dxs as above). */
TRAINOPT__DRIVER void trainopt__norm_wgrad_dx(const float *x, const float *dy, size_t cols, const trainopt__norm_row *rc,
                                              size_t nr, size_t c0, size_t c1, const trainopt__norm_wsum *ws, int first,
                                              const trainopt__norm_dxs *dxs, int stream) {
    if (dxs->w) {
        if (stream) trainopt__norm_wgrad_body(x, dy, TRAINOPT_F32, cols, rc, nr, c0, c1, ws, first, dxs, 1, 1, 1);
        else trainopt__norm_wgrad_body(x, dy, TRAINOPT_F32, cols, rc, nr, c0, c1, ws, first, dxs, 1, 1, 0);
    } else {
        if (stream) trainopt__norm_wgrad_body(x, dy, TRAINOPT_F32, cols, rc, nr, c0, c1, ws, first, dxs, 1, 0, 1);
        else trainopt__norm_wgrad_body(x, dy, TRAINOPT_F32, cols, rc, nr, c0, c1, ws, first, dxs, 1, 0, 0);
    }
}

/* dw, db of columns [c0, c1) from their double sums, rounded once. */
TRAINOPT__DRIVER void trainopt__norm_wfinish(const trainopt__norm_wsum *ws, size_t c0, size_t c1) {
    size_t j;
    for (j = c0; j < c1; j++) {
        if (ws->dw) ws->dw[j] = trainopt__bn_f(trainopt__norm_getd(ws->tw, j - c0));
        if (ws->db) ws->db[j] = trainopt__bn_f(trainopt__norm_getd(ws->tb, j - c0));
    }
}

/* ---- the row-by-row backward's sweep ---- */

/* One row of trainopt__norm_backward_by_row in one sweep from cache: its terms of the
   weight gradients added to the block's float column sums fw, fb (fw[j] =
   fma(dy, xhat, fw[j]), fb[j] += dy, from +0 on the block's first row: per column the
   operations of trainopt__norm_wgrad_body in its row order, so the same bits), and,
   with dx, its dx (trainopt__norm_dx's operations; streaming stores with stream),
   while the next row's x and dy (nx, ndy; NULL: none) are prefetched line for line so
   that its sums sweep finds them in cache. first, dx, weighted and stream are
   constants at every call. */
TRAINOPT__FORCE_INLINE void trainopt__norm_row_sweep_body(const trainopt__norm_row *rc, const float *x, const float *dy,
                                                          const float *w, float *fw, float *fb, float *out, size_t len,
                                                          int first, int dx, int weighted, int stream, const float *nx,
                                                          const float *ndy) {
    const trainopt__vf mu = trainopt__v_set1(rc->mu), a = trainopt__v_set1(rc->a), cx = trainopt__v_set1(rc->cx);
    const trainopt__vf kk = trainopt__v_set1(rc->k), c = trainopt__v_set1(rc->c);
    size_t i, h = 0;
#define TRAINOPT__NORM_SWEEP_VEC(i, k, put)                                                                     \
    do {                                                                                                        \
        const trainopt__vf d_ = trainopt__v_load_n(dy + (i), (k));                                              \
        const trainopt__vf xm_ = trainopt__v_sub(trainopt__v_load_n(x + (i), (k)), mu);                         \
        const trainopt__vf pw_ = first ? trainopt__v_zero() : trainopt__v_load_n(fw + (i), (k));                \
        const trainopt__vf pb_ = first ? trainopt__v_zero() : trainopt__v_load_n(fb + (i), (k));                \
        trainopt__v_store_n(fw + (i), trainopt__v_fma(d_, trainopt__v_fma(xm_, a, cx), pw_), (k));              \
        trainopt__v_store_n(fb + (i), trainopt__v_add(pb_, d_), (k));                                           \
        if (dx) {                                                                                               \
            const trainopt__vf g_ = weighted ? trainopt__v_mul(d_, trainopt__v_load_n(w + (i), (k))) : d_;      \
            put(out + (i), trainopt__v_fma(xm_, kk, trainopt__v_fma(g_, a, c)), (k));                           \
        }                                                                                                       \
    } while (0)
#define TRAINOPT__NORM_STREAM_N(p, v, k) trainopt__v_stream((p), (v))
    if (dx && stream) {
        h = trainopt__bn_head(out, len);
        if (h) TRAINOPT__NORM_SWEEP_VEC(0, h, trainopt__v_store_n);
    }
    for (i = h; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES) {
        if (nx) {
            TRAINOPT__PREFETCH(nx + i);
            TRAINOPT__PREFETCH(ndy + i);
        }
        if (dx && stream) TRAINOPT__NORM_SWEEP_VEC(i, TRAINOPT_SIMD_LANES, TRAINOPT__NORM_STREAM_N);
        else TRAINOPT__NORM_SWEEP_VEC(i, TRAINOPT_SIMD_LANES, trainopt__v_store_n);
    }
    if (i < len) TRAINOPT__NORM_SWEEP_VEC(i, len - i, trainopt__v_store_n);
#undef TRAINOPT__NORM_STREAM_N
#undef TRAINOPT__NORM_SWEEP_VEC
}

/* trainopt__norm_row_sweep_body with its flags as constants (out NULL: no dx). */
TRAINOPT__DRIVER void trainopt__norm_row_sweep(const trainopt__norm_row *rc, const float *x, const float *dy, const float *w,
                                               float *fw, float *fb, float *out, size_t len, int first, int stream,
                                               const float *nx, const float *ndy) {
    const trainopt__norm_row local = *rc;
#define TRAINOPT__NORM_SWEEP(dx_, weighted_, stream_)                                                                 \
    (first ? trainopt__norm_row_sweep_body(&local, x, dy, w, fw, fb, out, len, 1, dx_, weighted_, stream_, nx, ndy)      \
           : trainopt__norm_row_sweep_body(&local, x, dy, w, fw, fb, out, len, 0, dx_, weighted_, stream_, nx, ndy))
    if (!out) TRAINOPT__NORM_SWEEP(0, 0, 0);
    else if (w && stream) TRAINOPT__NORM_SWEEP(1, 1, 1);
    else if (w) TRAINOPT__NORM_SWEEP(1, 1, 0);
    else if (stream) TRAINOPT__NORM_SWEEP(1, 0, 1);
    else TRAINOPT__NORM_SWEEP(1, 0, 0);
#undef TRAINOPT__NORM_SWEEP
}

/* ---- layer and RMS norm drivers ---- */

typedef struct {
    size_t rows, cols;
    double eps;
    int rms, stream;
    const float *x, *dy, *w, *b, *mean, *rstd; /* backward: mean, rstd are the saved ones */
    float *out, *save_mean, *save_rstd, *dw, *db;
} trainopt__norm_args;

/* Rows of more values than this are swept one at a time (the normalization then
   reads one row back from cache, not GROUP of them). Results do not depend on it. */
#define TRAINOPT__NORM_SMALL_ROW 16384

TRAINOPT__DRIVER void trainopt__norm_forward(const trainopt__norm_args *p) {
    const size_t whole = p->cols > TRAINOPT__NORM_SMALL_ROW ? 0 : p->rows - p->rows % TRAINOPT__BN_GROUP;
    const int affine = (p->w ? TRAINOPT__NORM_W : 0) | (p->b ? TRAINOPT__NORM_B : 0);
    double mean[TRAINOPT__BN_GROUP], m2[TRAINOPT__BN_GROUP], rstd;
    trainopt__norm_row rc;
    size_t r;
    int g, j;
    for (r = 0; r < p->rows; r += (size_t)g) {
        g = r < whole ? TRAINOPT__BN_GROUP : 1;
        trainopt__norm_stats(p->x, p->cols, r, g, mean, m2);
        for (j = 0; j < g; j++) {
            const size_t o = (r + (size_t)j) * p->cols, next = r + (size_t)g + (size_t)j; /* row j of the next group */
            trainopt__norm_row_finish((double)p->cols, p->eps, mean[j], m2[j], p->rms, &rc, &rstd);
            if (p->save_mean) p->save_mean[r + (size_t)j] = rc.mu;
            if (p->save_rstd) p->save_rstd[r + (size_t)j] = rc.a;
            trainopt__norm_row_pass(&rc, p->x + o, NULL, p->w, p->b, p->out + o, p->cols, 0, affine, p->stream,
                                    next < p->rows ? p->x + next * p->cols : NULL);
        }
    }
}

/* Backward coefficients of rows [r0, r1) into rc[0 .. r1-r0). */
TRAINOPT__DRIVER void trainopt__norm_bw_rows(const trainopt__norm_args *p, size_t r0, size_t r1, trainopt__norm_row *rc) {
    size_t r;
    for (r = r0; r < r1; r++) {
        double sum[3] = {0.0, 0.0, 0.0};
        const float mu = p->rms ? 0.0f : p->mean[r];
        trainopt__norm_sums(p->x + r * p->cols, p->dy + r * p->cols, p->w, mu, p->cols, sum);
        trainopt__norm_backward_row((double)p->cols, sum, mu, p->rstd[r], p->rms, rc + (r - r0));
    }
}

TRAINOPT__DRIVER void trainopt__norm_bw_dx(const trainopt__norm_args *p, size_t r0, size_t r1, const trainopt__norm_row *rc) {
    size_t r;
    for (r = r0; r < r1; r++)
        trainopt__norm_row_pass(rc + (r - r0), p->x + r * p->cols, p->dy + r * p->cols, p->w, NULL, p->out + r * p->cols,
                                p->cols, 1, p->w ? TRAINOPT__NORM_W : 0, p->stream, NULL);
}

/* The block of rows [r0, r1): its weight-gradient sums into ws (columns [c0, c1)) and,
   when out is given, its dx, in one sweep where it can (no streaming stores, or every
   row aligned for them), else in a second one. */
TRAINOPT__DRIVER void trainopt__norm_bw_block(const trainopt__norm_args *p, size_t r0, size_t r1, size_t c0, size_t c1,
                                              const trainopt__norm_row *rc, const trainopt__norm_wsum *ws, int first,
                                              float *out) {
    const size_t cols = p->cols;
    const int aligned = (uintptr_t)p->out % TRAINOPT__STREAM_ALIGN == 0 && cols * sizeof(float) % TRAINOPT__STREAM_ALIGN == 0;
    if (out && (!p->stream || aligned)) {
        trainopt__norm_dxs dxs;
        dxs.out = out + r0 * cols;
        dxs.w = p->w;
        dxs.nr = r1 - r0;
        trainopt__norm_wgrad_dx(p->x + r0 * cols, p->dy + r0 * cols, cols, rc, r1 - r0, c0, c1, ws, first, &dxs, p->stream);
        return;
    }
    trainopt__norm_wgrad(p->x + r0 * cols, p->dy + r0 * cols, cols, rc, r1 - r0, c0, c1, ws, first);
    if (out) trainopt__norm_bw_dx(p, r0, r1, rc);
}

/* Rows [r0, r1) of one block, row by row: each row's sums sweep (from cache: the
   previous row's sweep prefetched it), then one sweep of its weight-gradient terms
   into the block's float column sums fw, fb and of its dx (rows before dx_end), so
   memory is read while the previous row's dx is written. Shared with the threaded
   form (>>parallel-norms). */
TRAINOPT__DRIVER void trainopt__norm_block_by_row(const trainopt__norm_args *p, size_t r0, size_t r1, float *fw, float *fb,
                                                  size_t dx_end) {
    const size_t cols = p->cols;
    trainopt__norm_row rc;
    size_t r;
    for (r = r0; r < r1; r++) {
        const size_t o = r * cols;
        const int next = r + 1 < p->rows;
        trainopt__norm_bw_rows(p, r, r + 1, &rc);
        trainopt__norm_row_sweep(&rc, p->x + o, p->dy + o, p->w, fw, fb, r < dx_end ? p->out + o : NULL, cols, r == r0,
                                 p->stream, next ? p->x + o + cols : NULL, next ? p->dy + o + cols : NULL);
    }
}

/* dx of rows [r0, r1), each from its own sums: the rows that held scratch sums. */
TRAINOPT__DRIVER void trainopt__norm_bw_tail(const trainopt__norm_args *p, size_t r0, size_t r1) {
    trainopt__norm_row rc;
    size_t r;
    for (r = r0; r < r1; r++) {
        trainopt__norm_bw_rows(p, r, r + 1, &rc);
        trainopt__norm_bw_dx(p, r, r + 1, &rc);
    }
}

/* The backward with weight gradients and dx of more than one block of rows: block by
   block, row by row (trainopt__norm_block_by_row), each block's float column sums then
   added to the double sums. The float sums live in rows rows-6 and rows-5 of dx and
   the double sums in its last 4 rows; those 6 rows' dx is written last. A block
   swept column strip by column strip (trainopt__norm_bw_block) falls out of cache
   between its sweeps once rows are long, and its 16 rows of x and dy, a power of two
   apart, fill one L1 set (bench/FINDINGS.md, "Layer norm backward row by row"). */
TRAINOPT__DRIVER void trainopt__norm_backward_by_row(const trainopt__norm_args *p) {
    const size_t rows = p->rows, cols = p->cols, dx_end = rows - 6; /* rows > NORM_ROWS here */
    float *const fw = p->out + dx_end * cols, *const fb = fw + cols;
    trainopt__norm_wsum ws;
    size_t r0, r1;
    ws.dw = p->dw;
    ws.db = p->db;
    ws.tw = (unsigned char *)(fb + cols);
    ws.tb = ws.tw + cols * sizeof(double);
    for (r0 = 0; r0 < rows; r0 = r1) {
        r1 = trainopt__bn_min(rows, r0 + TRAINOPT__NORM_ROWS);
        trainopt__norm_block_by_row(p, r0, r1, fw, fb, dx_end);
        trainopt__norm_wfold(&ws, 0, 0, fw, fb, cols, r0 == 0);
    }
    trainopt__norm_wfinish(&ws, 0, cols);
    trainopt__norm_bw_tail(p, dx_end, rows);
}

/* With dx and more than one block of rows, row by row (trainopt__norm_backward_by_row).
   Otherwise rows go in blocks of NORM_ROWS: each block's coefficients, then its
   weight-gradient sums and its dx (the rows still in cache); the weight gradients'
   double sums live on the stack, and for more than TILE columns (no dx then) a tile
   of columns at a time, each tile sweeping the rows' sums again (the same values, so
   the same bits). */
TRAINOPT__DRIVER void trainopt__norm_backward(const trainopt__norm_args *p) {
    const size_t rows = p->rows, cols = p->cols, blocks = (rows + TRAINOPT__NORM_ROWS - 1) / TRAINOPT__NORM_ROWS;
    double stack_sums[2 * TRAINOPT__NORM_TILE];
    trainopt__norm_row rc[TRAINOPT__NORM_ROWS];
    trainopt__norm_wsum ws;
    size_t b, r0, r1, c0, c1;
    ws.dw = p->dw;
    ws.db = p->db;
    ws.tw = ws.tb = NULL;
    if (!p->dw && !p->db) {
        for (r0 = 0; r0 < rows; r0 = r1) {
            r1 = trainopt__bn_min(rows, r0 + TRAINOPT__NORM_ROWS);
            trainopt__norm_bw_rows(p, r0, r1, rc);
            trainopt__norm_bw_dx(p, r0, r1, rc);
        }
        return;
    }
    if (blocks > 1 && p->out) {
        trainopt__norm_backward_by_row(p);
        return;
    }
    for (c0 = 0; c0 < cols; c0 = c1) {
        c1 = blocks == 1 ? cols : trainopt__bn_min(cols, c0 + TRAINOPT__NORM_TILE);
        if (blocks > 1) {
            ws.tw = (unsigned char *)stack_sums;
            ws.tb = ws.tw + TRAINOPT__NORM_TILE * sizeof(double);
        }
        for (b = 0; b < blocks; b++) {
            r0 = b * TRAINOPT__NORM_ROWS;
            r1 = trainopt__bn_min(rows, r0 + TRAINOPT__NORM_ROWS);
            trainopt__norm_bw_rows(p, r0, r1, rc);
            trainopt__norm_bw_block(p, r0, r1, c0, c1, rc, &ws, b == 0, c0 == 0 ? p->out : NULL);
        }
        if (blocks > 1) trainopt__norm_wfinish(&ws, c0, c1);
    }
}

/* ---- group norm drivers (NCHW: group q = (sample, group) is one row of
   channels_per_group*spatial values) ---- */

typedef struct {
    size_t n, c, hw, groups, cpg;
    double eps;
    int stream;
    const float *x, *dy, *w, *b, *mean, *rstd;
    float *out, *save_mean, *save_rstd, *dw, *db;
} trainopt__gn_args;

/* Forward of groups q0..q1-1 (q = sample*groups + group): each group's statistics, then its channels normalized with batch
   norm's per-channel rows, y = fma(x - mu, a, b), a = rstd*w and b carrying the
   mean's rounding error. Each group's results depend on that group only. */
TRAINOPT__DRIVER void trainopt__gn_forward(const trainopt__gn_args *p, size_t q0, size_t q1) {
    const size_t len = p->cpg * p->hw;
    const size_t whole = len > TRAINOPT__NORM_SMALL_ROW ? q0 : q1 - (q1 - q0) % TRAINOPT__BN_GROUP;
    double mean[TRAINOPT__BN_GROUP], m2[TRAINOPT__BN_GROUP], rstd;
    trainopt__norm_row rc;
    size_t q, cc;
    int g, j;
    for (q = q0; q < q1; q += (size_t)g) {
        g = q < whole ? TRAINOPT__BN_GROUP : 1;
        trainopt__norm_stats(p->x, len, q, g, mean, m2);
        for (j = 0; j < g; j++) {
            const size_t row = q + (size_t)j, n = row / p->groups, gi = row % p->groups;
            trainopt__norm_row_finish((double)len, p->eps, mean[j], m2[j], 0, &rc, &rstd);
            if (p->save_mean) p->save_mean[row] = rc.mu;
            if (p->save_rstd) p->save_rstd[row] = rc.a;
            for (cc = 0; cc < p->cpg; cc++) {
                const size_t ch = gi * p->cpg + cc, o = (n * p->c + ch) * p->hw;
                const double ad = (p->w ? (double)p->w[ch] : 1.0) * rstd;
                const float a = trainopt__bn_f(ad);
                const float b = trainopt__bn_f(fma(-(mean[j] - (double)rc.mu), ad, p->b ? (double)p->b[ch] : 0.0));
                trainopt__bn_row_norm(p->x + o, p->out + o, p->hw, rc.mu, a, b, 0, p->stream);
            }
        }
    }
}

/* Backward of channels [cc0, cc1) (within each group) of groups [g0, g1), over samples
   [n0, n1): per (sample, channel) the sums of dy, (x - mu)*dy and x - mu over the
   channel's values (batch norm's blocks), the group's weighted sums from them in
   channel order, then dx and the weight gradients' double sums (samples in order).
   The weight gradients need every sample (n0 = 0, n1 = n); dx of a (sample, group)
   depends on it only, whatever tile or samples it is computed with. */
TRAINOPT__DRIVER void trainopt__gn_backward_tile(const trainopt__gn_args *p, size_t n0, size_t n1, size_t g0, size_t g1,
                                                 size_t cc0, size_t cc1) {
    double tw[TRAINOPT__NORM_TILE], tb[TRAINOPT__NORM_TILE], s_dy[TRAINOPT__NORM_TILE], s_dot[TRAINOPT__NORM_TILE];
    const size_t tc = cc1 - cc0;
    const double len = (double)p->cpg * (double)p->hw, inv = 1.0 / len;
    size_t n, gi, cc, t;
    for (t = 0; t < (g1 - g0) * tc; t++) tw[t] = tb[t] = 0.0;
    for (n = n0; n < n1; n++)
        for (gi = g0; gi < g1; gi++) {
            const size_t q = n * p->groups + gi;
            const float mu = p->mean[q];
            const double r = (double)p->rstd[q];
            double sum_g = 0.0, dot = 0.0, sum_d = 0.0, delta, k, c;
            for (cc = 0; cc < p->cpg; cc++) {
                const size_t ch = gi * p->cpg + cc, o = (n * p->c + ch) * p->hw;
                const double w = p->w ? (double)p->w[ch] : 1.0;
                double s[3] = {0.0, 0.0, 0.0};
                trainopt__norm_sums(p->x + o, p->dy + o, NULL, mu, p->hw, s);
                sum_g = fma(w, s[0], sum_g);
                dot = fma(w, s[1], dot);
                sum_d += s[2];
                if (cc >= cc0 && cc < cc1) {
                    s_dy[cc - cc0] = s[0];
                    s_dot[cc - cc0] = s[1];
                }
            }
            /* as trainopt__norm_backward_row, with g = dy*w per channel */
            delta = sum_d * inv;
            k = -(r * r * r) * (fma(-delta, sum_g, dot) * inv);
            c = fma(-delta, k, -r * (sum_g * inv));
            for (cc = cc0; cc < cc1; cc++) {
                const size_t ch = gi * p->cpg + cc, o = (n * p->c + ch) * p->hw;
                t = (gi - g0) * tc + (cc - cc0);
                tb[t] += s_dy[cc - cc0];
                tw[t] = fma(fma(-delta, s_dy[cc - cc0], s_dot[cc - cc0]), r, tw[t]);
                if (p->out)
                    trainopt__bn_row_dx(p->x, p->dy, NULL, p->out, o, p->hw, trainopt__v_set1(mu),
                                        trainopt__v_set1(trainopt__bn_f(r * (p->w ? (double)p->w[ch] : 1.0))),
                                        trainopt__v_set1(trainopt__bn_f(k)), trainopt__v_set1(trainopt__bn_f(c)), 0,
                                        p->stream);
            }
        }
    for (gi = g0; gi < g1; gi++)
        for (cc = cc0; cc < cc1; cc++) {
            const size_t ch = gi * p->cpg + cc;
            t = (gi - g0) * tc + (cc - cc0);
            if (p->dw) p->dw[ch] = trainopt__bn_f(tw[t]);
            if (p->db) p->db[ch] = trainopt__bn_f(tb[t]);
        }
}

/* Tiles of whole groups of up to TILE channels; a group of more channels goes TILE
   channels at a time, each tile sweeping the whole group's sums (the same values). */
TRAINOPT__DRIVER void trainopt__gn_backward(const trainopt__gn_args *p) {
    size_t g0, cc0;
    if (p->cpg <= TRAINOPT__NORM_TILE) {
        const size_t per_tile = TRAINOPT__NORM_TILE / p->cpg;
        for (g0 = 0; g0 < p->groups; g0 += per_tile)
            trainopt__gn_backward_tile(p, 0, p->n, g0, trainopt__bn_min(p->groups, g0 + per_tile), 0, p->cpg);
        return;
    }
    for (g0 = 0; g0 < p->groups; g0++)
        for (cc0 = 0; cc0 < p->cpg; cc0 += TRAINOPT__NORM_TILE)
            trainopt__gn_backward_tile(p, 0, p->n, g0, g0 + 1, cc0, trainopt__bn_min(p->cpg, cc0 + TRAINOPT__NORM_TILE));
}

/* ---- validation ---- */

/* Config and shape of layer and RMS norm: *total gets rows*cols. rows == 0 does
   nothing; a row of no values has no mean. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__norm_check(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                          size_t *total, const char *fn) {
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__finite(c->eps) || !(c->eps > 0.0)) return trainopt__once_hparam(fn, "eps", c->eps, TRAINOPT__WHY_POS);
    *total = 0;
    if (rows == 0) return TRAINOPT_OK;
    if (cols == 0) return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "cols == 0 with rows = %zu: an empty row has no mean", rows);
    if (cols > SIZE_MAX / sizeof(float) / rows)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "rows*cols = %zu*%zu: its size in bytes overflows size_t", rows, cols);
    *total = rows * cols;
    return TRAINOPT_OK;
}

/* Group norm: *total gets n*c*spatial, *cpg the channels per group. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__gn_check(const trainopt_norm_config *c, const trainopt_bn_shape *s,
                                                        size_t groups, size_t *total, size_t *cpg, const char *fn) {
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__finite(c->eps) || !(c->eps > 0.0)) return trainopt__once_hparam(fn, "eps", c->eps, TRAINOPT__WHY_POS);
    if (s->layout != TRAINOPT_NCHW && s->layout != TRAINOPT_NHWC)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "s.layout = %d is not TRAINOPT_NCHW or TRAINOPT_NHWC", (int)s->layout);
    *total = *cpg = 0;
    if (s->n == 0) return TRAINOPT_OK;
    if (s->c == 0 || s->spatial == 0)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "c = %zu, spatial = %zu: a group of no values has no mean", s->c, s->spatial);
    if (groups == 0 || s->c % groups != 0)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "groups = %zu does not divide c = %zu", groups, s->c);
    if (s->layout == TRAINOPT_NHWC && s->spatial != 1)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "NHWC with spatial = %zu > 1 is not supported (NCHW only)", s->spatial);
    if (s->spatial > SIZE_MAX / s->n || s->c > SIZE_MAX / sizeof(float) / (s->n * s->spatial))
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "n*c*spatial = %zu*%zu*%zu: its size in bytes overflows size_t",
                                   s->n, s->c, s->spatial);
    *total = s->n * s->c * s->spatial;
    *cpg = s->c / groups;
    return TRAINOPT_OK;
}

/* Fills spans from pointers and float counts; role[i] as trainopt__bn_span. */
TRAINOPT__FORCE_INLINE void trainopt__norm_spans(trainopt__bn_span *spans, int count, const void *const *ptrs,
                                                 const size_t *floats, const int *roles) {
    int i;
    for (i = 0; i < count; i++) {
        spans[i].p = ptrs[i];
        spans[i].bytes = floats[i] * sizeof(float);
        spans[i].role = roles[i];
    }
}

/* ---- public functions ---- */

/* Validates a layer norm (rms 0; mean may be given) or RMS norm (rms 1; bias and mean
   NULL) forward call and fills *a; a->rows == 0 when there is nothing to do. Shared
   with the threaded forms (>>parallel-norms). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__norm_forward_setup(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                    int rms, const float *x, const float *weight,
                                                                    const float *bias, float *y, float *mean, float *rstd,
                                                                    trainopt__norm_args *a, const char *fn) {
    static const char *const names[] = {"x", "y", "weight", "bias", "mean", "rstd"};
    const int roles[] = {TRAINOPT__BN_EW_IN, TRAINOPT__BN_EW_OUT, TRAINOPT__BN_IN, TRAINOPT__BN_IN, TRAINOPT__BN_OUT, TRAINOPT__BN_OUT};
    trainopt__bn_span spans[6];
    size_t total;
    trainopt_status st;
    memset(a, 0, sizeof *a);
    st = trainopt__norm_check(c, rows, cols, &total, fn);
    if (st != TRAINOPT_OK || total == 0) return st;
    if (!x) return trainopt__once_null(fn, "x");
    if (!y) return trainopt__once_null(fn, "y");
    {
        const void *ptrs[6];
        size_t floats[6];
        ptrs[0] = x; ptrs[1] = y; ptrs[2] = weight; ptrs[3] = bias; ptrs[4] = mean; ptrs[5] = rstd;
        floats[0] = floats[1] = total; floats[2] = floats[3] = cols; floats[4] = floats[5] = rows;
        trainopt__norm_spans(spans, 6, ptrs, floats, roles);
    }
    if ((st = trainopt__bn_check_overlap(spans, 6, names, fn)) != TRAINOPT_OK) return st;
    a->rows = rows;
    a->cols = cols;
    a->eps = c->eps;
    a->rms = rms;
    a->stream = total >= TRAINOPT_STREAM_BYTES / sizeof(float);
    a->x = x;
    a->w = weight;
    a->b = bias;
    a->out = y;
    a->save_mean = mean;
    a->save_rstd = rstd;
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_layernorm_forward(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                const float *x, const float *weight, const float *bias,
                                                                float *y, float *mean, float *rstd) {
    trainopt__norm_args a;
    const trainopt_status st =
        trainopt__norm_forward_setup(c, rows, cols, 0, x, weight, bias, y, mean, rstd, &a, "trainopt_layernorm_forward");
    if (st != TRAINOPT_OK || a.rows == 0) return st;
    trainopt__norm_forward(&a);
    if (a.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_rmsnorm_forward(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                              const float *x, const float *weight, float *y, float *rstd) {
    trainopt__norm_args a;
    const trainopt_status st =
        trainopt__norm_forward_setup(c, rows, cols, 1, x, weight, NULL, y, NULL, rstd, &a, "trainopt_rmsnorm_forward");
    if (st != TRAINOPT_OK || a.rows == 0) return st;
    trainopt__norm_forward(&a);
    if (a.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

/* The backward passes write dx, dweight, dbias (each optional) and never in place:
   dx must not overlap an input (its last rows hold scratch sums while it is written).
   Validates a call and fills *a; a->rows == 0 when there is nothing to do. Shared with
   the threaded forms (>>parallel-norms). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__norm_backward_setup(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                     int rms, const float *x, const float *dy,
                                                                     const float *weight, const float *mean,
                                                                     const float *rstd, float *dx, float *dweight,
                                                                     float *dbias, trainopt__norm_args *a, const char *fn) {
    static const char *const names[] = {"x", "dy", "weight", "mean", "rstd", "dx", "dweight", "dbias"};
    const int roles[] = {TRAINOPT__BN_IN, TRAINOPT__BN_IN, TRAINOPT__BN_IN, TRAINOPT__BN_IN,
                         TRAINOPT__BN_IN, TRAINOPT__BN_OUT, TRAINOPT__BN_OUT, TRAINOPT__BN_OUT};
    trainopt__bn_span spans[8];
    size_t total;
    trainopt_status st;
    memset(a, 0, sizeof *a);
    st = trainopt__norm_check(c, rows, cols, &total, fn);
    if (st != TRAINOPT_OK || total == 0) return st;
    if (!x) return trainopt__once_null(fn, "x");
    if (!dy) return trainopt__once_null(fn, "dy");
    if (!rms && !mean) return trainopt__once_null(fn, "mean");
    if (!rstd) return trainopt__once_null(fn, "rstd");
    {
        const void *ptrs[8];
        size_t floats[8];
        ptrs[0] = x; ptrs[1] = dy; ptrs[2] = weight; ptrs[3] = mean; ptrs[4] = rstd;
        ptrs[5] = dx; ptrs[6] = dweight; ptrs[7] = dbias;
        floats[0] = floats[1] = floats[5] = total;
        floats[2] = floats[6] = floats[7] = cols;
        floats[3] = floats[4] = rows;
        trainopt__norm_spans(spans, 8, ptrs, floats, roles);
    }
    if ((st = trainopt__bn_check_overlap(spans, 8, names, fn)) != TRAINOPT_OK) return st;
    if (!dx && !dweight && !dbias) return TRAINOPT_OK;
    a->rows = rows;
    a->cols = cols;
    a->rms = rms;
    a->stream = dx && total >= TRAINOPT_STREAM_BYTES / sizeof(float);
    a->x = x;
    a->dy = dy;
    a->w = weight;
    a->mean = mean;
    a->rstd = rstd;
    a->out = dx;
    a->dw = dweight;
    a->db = dbias;
    return TRAINOPT_OK;
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__norm_backward_call(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                  int rms, const float *x, const float *dy,
                                                                  const float *weight, const float *mean,
                                                                  const float *rstd, float *dx, float *dweight,
                                                                  float *dbias, const char *fn) {
    trainopt__norm_args a;
    const trainopt_status st =
        trainopt__norm_backward_setup(c, rows, cols, rms, x, dy, weight, mean, rstd, dx, dweight, dbias, &a, fn);
    if (st != TRAINOPT_OK || a.rows == 0) return st;
    trainopt__norm_backward(&a);
    if (a.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_layernorm_backward(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                 const float *x, const float *dy, const float *weight,
                                                                 const float *mean, const float *rstd, float *dx,
                                                                 float *dweight, float *dbias) {
    return trainopt__norm_backward_call(c, rows, cols, 0, x, dy, weight, mean, rstd, dx, dweight, dbias,
                                        "trainopt_layernorm_backward");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_rmsnorm_backward(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                               const float *x, const float *dy, const float *weight,
                                                               const float *rstd, float *dx, float *dweight) {
    return trainopt__norm_backward_call(c, rows, cols, 1, x, dy, weight, NULL, rstd, dx, dweight, NULL,
                                        "trainopt_rmsnorm_backward");
}

/* Validates a group norm forward call and fills *a; a->n == 0 when there is nothing
   to do. Shared with the threaded form (>>parallel-norms). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__gn_forward_setup(const trainopt_norm_config *c, const trainopt_bn_shape *sp,
                                                                  size_t groups, const float *x, const float *weight,
                                                                  const float *bias, float *y, float *mean, float *rstd,
                                                                  trainopt__gn_args *a, const char *fn) {
    static const char *const names[] = {"x", "y", "weight", "bias", "mean", "rstd"};
    const int roles[] = {TRAINOPT__BN_EW_IN, TRAINOPT__BN_EW_OUT, TRAINOPT__BN_IN, TRAINOPT__BN_IN, TRAINOPT__BN_OUT, TRAINOPT__BN_OUT};
    const trainopt_bn_shape s = *sp;
    trainopt__bn_span spans[6];
    size_t total, cpg;
    trainopt_status st;
    memset(a, 0, sizeof *a);
    st = trainopt__gn_check(c, &s, groups, &total, &cpg, fn);
    if (st != TRAINOPT_OK || total == 0) return st;
    if (!x) return trainopt__once_null(fn, "x");
    if (!y) return trainopt__once_null(fn, "y");
    {
        const void *ptrs[6];
        size_t floats[6];
        ptrs[0] = x; ptrs[1] = y; ptrs[2] = weight; ptrs[3] = bias; ptrs[4] = mean; ptrs[5] = rstd;
        floats[0] = floats[1] = total; floats[2] = floats[3] = s.c; floats[4] = floats[5] = s.n * groups;
        trainopt__norm_spans(spans, 6, ptrs, floats, roles);
    }
    if ((st = trainopt__bn_check_overlap(spans, 6, names, fn)) != TRAINOPT_OK) return st;
    a->n = s.n;
    a->c = s.c;
    a->hw = s.spatial;
    a->groups = groups;
    a->cpg = cpg;
    a->eps = c->eps;
    a->stream = total >= TRAINOPT_STREAM_BYTES / sizeof(float);
    a->x = x;
    a->w = weight;
    a->b = bias;
    a->out = y;
    a->save_mean = mean;
    a->save_rstd = rstd;
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_groupnorm_forward(const trainopt_norm_config *c, trainopt_bn_shape s,
                                                                size_t groups, const float *x, const float *weight,
                                                                const float *bias, float *y, float *mean, float *rstd) {
    trainopt__gn_args a;
    const trainopt_status st =
        trainopt__gn_forward_setup(c, &s, groups, x, weight, bias, y, mean, rstd, &a, "trainopt_groupnorm_forward");
    if (st != TRAINOPT_OK || a.n == 0) return st;
    trainopt__gn_forward(&a, 0, a.n * a.groups);
    if (a.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

/* Validates a group norm backward call and fills *a; a->n == 0 when there is nothing
   to do. Shared with the threaded form (>>parallel-norms). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__gn_backward_setup(const trainopt_norm_config *c, const trainopt_bn_shape *sp,
                                                                   size_t groups, const float *x, const float *dy,
                                                                   const float *weight, const float *mean,
                                                                   const float *rstd, float *dx, float *dweight,
                                                                   float *dbias, trainopt__gn_args *a, const char *fn) {
    static const char *const names[] = {"x", "dy", "weight", "mean", "rstd", "dx", "dweight", "dbias"};
    const int roles[] = {TRAINOPT__BN_EW_IN, TRAINOPT__BN_EW_IN, TRAINOPT__BN_IN, TRAINOPT__BN_IN,
                         TRAINOPT__BN_IN, TRAINOPT__BN_OUT, TRAINOPT__BN_OUT, TRAINOPT__BN_OUT};
    const trainopt_bn_shape s = *sp;
    trainopt__bn_span spans[8];
    size_t total, cpg;
    trainopt_status st;
    memset(a, 0, sizeof *a);
    st = trainopt__gn_check(c, &s, groups, &total, &cpg, fn);
    if (st != TRAINOPT_OK || total == 0) return st;
    if (!x) return trainopt__once_null(fn, "x");
    if (!dy) return trainopt__once_null(fn, "dy");
    if (!mean) return trainopt__once_null(fn, "mean");
    if (!rstd) return trainopt__once_null(fn, "rstd");
    {
        const void *ptrs[8];
        size_t floats[8];
        ptrs[0] = x; ptrs[1] = dy; ptrs[2] = weight; ptrs[3] = mean; ptrs[4] = rstd;
        ptrs[5] = dx; ptrs[6] = dweight; ptrs[7] = dbias;
        floats[0] = floats[1] = floats[5] = total;
        floats[2] = floats[6] = floats[7] = s.c;
        floats[3] = floats[4] = s.n * groups;
        trainopt__norm_spans(spans, 8, ptrs, floats, roles);
    }
    if ((st = trainopt__bn_check_overlap(spans, 8, names, fn)) != TRAINOPT_OK) return st;
    if (!dx && !dweight && !dbias) return TRAINOPT_OK;
    a->n = s.n;
    a->c = s.c;
    a->hw = s.spatial;
    a->groups = groups;
    a->cpg = cpg;
    a->stream = dx && total >= TRAINOPT_STREAM_BYTES / sizeof(float);
    a->x = x;
    a->dy = dy;
    a->w = weight;
    a->mean = mean;
    a->rstd = rstd;
    a->out = dx;
    a->dw = dweight;
    a->db = dbias;
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_groupnorm_backward(const trainopt_norm_config *c, trainopt_bn_shape s,
                                                                 size_t groups, const float *x, const float *dy,
                                                                 const float *weight, const float *mean,
                                                                 const float *rstd, float *dx, float *dweight,
                                                                 float *dbias) {
    trainopt__gn_args a;
    const trainopt_status st = trainopt__gn_backward_setup(c, &s, groups, x, dy, weight, mean, rstd, dx, dweight, dbias,
                                                           &a, "trainopt_groupnorm_backward");
    if (st != TRAINOPT_OK || a.n == 0) return st;
    trainopt__gn_backward(&a);
    if (a.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}
