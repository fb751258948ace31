/* wip/batchnorm.h - fragment of trainopt.h (batch normalization); merged into trainopt.h before the session ends.

   BATCH NORMALIZATION (torch.nn.functional.batch_norm, PyTorch 1.13; oneDNN's fuse_norm_relu)
     Shapes: trainopt_bn_shape {n, c, spatial, layout}. TRAINOPT_NCHW is [N][C][S],
     TRAINOPT_NHWC is [N][S][C] (PyTorch channels_last), S = spatial = H*W (D*H*W for
     3-d); spatial = 1 is BatchNorm1d on [N][C], the same memory in both layouts. Per
     channel c the M = N*S values x are normalized:
       forward_train  mean = sum(x)/M,  var = sum((x-mean)^2)/M  (biased),
                      invstd = 1/sqrt(var + eps)
                      y = (x - mean)*a + b,   a = gamma*invstd, b = beta
                      running_mean = (1-momentum)*running_mean + momentum*mean
                      running_var  = (1-momentum)*running_var  + momentum*var*M/(M-1)
                      save_mean = mean, save_invstd = invstd (what the backward pass needs)
       forward_infer  y = (x - running_mean)*a + beta,  a = gamma/sqrt(running_var + eps)
       backward       (training mode: the statistics depend on x)
                      g = dy, or with fuse_relu g = (y <= 0 ? 0 : dy)
                      dbeta = sum(g),  dgamma = sum((x-mean)*g) * invstd
                      dx = gamma*invstd * (g - dbeta/M - (x-mean)*invstd^2*sum((x-mean)*g)/M)
       fold           scale = gamma/sqrt(running_var + eps),  shift = beta - running_mean*scale
                      (y = x*scale + shift: the form an inference engine applies, or merges
                      into the preceding convolution's weights and bias)
     gamma and beta may be NULL (1 and 0). running_mean and running_var are both given
     (tracked) or both NULL (training only). dgamma and dbeta may be NULL. fuse_relu
     (in trainopt_bn_config) makes the forward functions return y = max(0, y) (NaN
     stays NaN) and the backward pass mask dy where y <= 0; the backward pass then
     needs the forward output y (NULL is allowed without fuse_relu).
     Exact aliasing: y may be x (in place); dx may be x, dy or y. Any other overlap
     of an output with another array is TRAINOPT_ERR_ALIAS. fold's outputs may be
     exactly its inputs.
     TRAINOPT_BN_DEFAULTS is PyTorch's {eps 1e-5, momentum 0.1, fuse_relu 0}.
     Differences from PyTorch, all refused rather than guessed: eps <= 0 (PyTorch
     accepts eps = 0 and divides by zero for a constant channel), momentum outside
     [0, 1], and momentum = None (PyTorch's cumulative average: pass
     momentum = 1/(number of batches so far) to get the same result).
     Errors (nothing is written on any of them):
       TRAINOPT_ERR_NULL    config, x, y, dy, dx, save_mean, save_invstd, running stats for
                            forward_infer/fold, y with fuse_relu in backward; exactly one of
                            running_mean/running_var given
       TRAINOPT_ERR_HPARAM  eps not > 0 or not finite; momentum NaN or outside [0, 1]
       TRAINOPT_ERR_SHAPE   layout not NCHW/NHWC; n*c*spatial*sizeof(float) overflows size_t;
                            N*S == 1 in forward_train (the unbiased variance is undefined;
                            PyTorch raises "Expected more than 1 value per channel")
       TRAINOPT_ERR_ALIAS   overlapping buffers other than the exact aliases above
     A zero dimension is a successful no-op (nothing is written; PyTorch also leaves
     the running statistics alone for an empty batch).

     Precision. Statistics are exact to a few float ulps whatever the ratio of mean to
     standard deviation: each channel's values are cut into blocks of at most 1024
     (rows of S, or segments of a row when S > 1024); a block is read twice while it
     is in cache, first for its float mean m_b, then for sum(x - m_b) and
     sum((x - m_b)^2) in float, and the blocks are merged in double (Chan et al.'s
     pairwise update). A channel whose mean is 1e4 times its standard deviation gets
     its variance to about 1e-6 relative (PyTorch 1.13's channels-last kernel, a
     one-pass float sum, gets it wrong by orders of magnitude). Per-channel scalars
     (invstd, a, the backward coefficients, running statistics) are computed in
     double and rounded to float once; the per-element math is float:
       y  = fma(x - mean, a, b)
       dx = fma(x - mean, k, fma(g, a, c)),  k = -a*invstd^2*sum((x-mean)*g)/M,
                                            c = -a*sum(g)/M
     Subtracting the mean first keeps y exact when |mean| >> std, where PyTorch's
     x*alpha + (beta - mean*alpha) loses digits. forward_infer therefore does not give
     the bits of x*scale + shift with fold's outputs (they agree to a few ulps).
     Reproducibility. Each float sum has one fixed order, which depends only on the
     shape: within a block, value (n, s) goes to partial sum s % 16 (n % 16 when S = 1),
     partial sums run in (n, s) order and are combined by the fixed tree of the vector
     layer's canonical reduction; blocks merge in double in (n, s) order. So every
     backend gives the same bits, and NCHW and NHWC give the same bits for the same
     logical tensor. */

/* >>batchnorm */
typedef enum { TRAINOPT_NCHW = 0, TRAINOPT_NHWC = 1 } trainopt_layout;
typedef struct {
    size_t n, c, spatial; /* spatial = H*W; 1 for [N][C] */
    trainopt_layout layout;
} trainopt_bn_shape;
typedef struct {
    double eps, momentum;
    int fuse_relu;
} trainopt_bn_config;
#define TRAINOPT_BN_DEFAULTS {1e-5, 0.1, 0}

/* Values per channel per block (a multiple of 16): bounds each float partial sum
   to 64 terms. Part of the canonical order: changing it changes results. */
#define TRAINOPT__BN_BLOCK 1024
/* Channels per NHWC tile: a performance choice only (results do not depend on it). */
#define TRAINOPT__BN_TILE 64

/* ---- shape, blocks and validation ---- */

/* The canonical blocks of one channel's N*S values: block k covers rows n0..n1-1
   and positions s0..s1-1 of each of those rows. */
typedef struct {
    size_t n, s;      /* N and S */
    size_t rows;      /* rows per block when S <= BLOCK, else 0 */
    size_t segs;      /* segments per row when S > BLOCK */
    size_t count;     /* number of blocks */
} trainopt__bn_blocks;
typedef struct {
    size_t n0, n1, s0, s1;
} trainopt__bn_block;

TRAINOPT__FORCE_INLINE trainopt__bn_blocks trainopt__bn_blocks_of(size_t n, size_t s) {
    trainopt__bn_blocks b;
    b.n = n;
    b.s = s;
    if (s <= TRAINOPT__BN_BLOCK) {
        /* Whole rows; each partial sum gets at most BLOCK/16 values. */
        b.rows = TRAINOPT__BN_BLOCK / ((s + 15) / 16 * 16);
        b.segs = 1;
        b.count = (n + b.rows - 1) / b.rows;
    } else {
        b.rows = 0;
        b.segs = (s + TRAINOPT__BN_BLOCK - 1) / TRAINOPT__BN_BLOCK;
        b.count = n * b.segs;
    }
    return b;
}

TRAINOPT__FORCE_INLINE trainopt__bn_block trainopt__bn_block_at(const trainopt__bn_blocks *b, size_t k) {
    trainopt__bn_block r;
    if (b->rows) {
        r.n0 = k * b->rows;
        r.n1 = r.n0 + b->rows < b->n ? r.n0 + b->rows : b->n;
        r.s0 = 0;
        r.s1 = b->s;
    } else {
        r.n0 = k / b->segs;
        r.n1 = r.n0 + 1;
        r.s0 = (k % b->segs) * TRAINOPT__BN_BLOCK;
        r.s1 = r.s0 + TRAINOPT__BN_BLOCK < b->s ? r.s0 + TRAINOPT__BN_BLOCK : b->s;
    }
    return r;
}

/* An array taking part in the overlap check. */
enum { TRAINOPT__BN_IN = 0, TRAINOPT__BN_OUT = 1, TRAINOPT__BN_EW_IN = 2, TRAINOPT__BN_EW_OUT = 3 };
typedef struct {
    const void *p;
    size_t bytes;
    int role; /* IN/EW_IN: read only; OUT: written; EW_OUT: written elementwise (may be exactly an EW_IN) */
} trainopt__bn_span;

/* Overlaps between a written array and any other are errors, except an
   elementwise output that is exactly an elementwise input. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__bn_check_overlap(const trainopt__bn_span *a, int count) {
    int i, j;
    for (i = 0; i < count; i++)
        for (j = i + 1; j < count; j++) {
            uintptr_t x = (uintptr_t)a[i].p, y = (uintptr_t)a[j].p;
            int wi = a[i].role == TRAINOPT__BN_OUT || a[i].role == TRAINOPT__BN_EW_OUT;
            int wj = a[j].role == TRAINOPT__BN_OUT || a[j].role == TRAINOPT__BN_EW_OUT;
            if (!a[i].p || !a[j].p || !a[i].bytes || !a[j].bytes || (!wi && !wj)) continue;
            if (!(x < y + a[j].bytes && y < x + a[i].bytes)) continue;
            if (x == y && a[i].bytes == a[j].bytes &&
                ((a[i].role == TRAINOPT__BN_EW_OUT && a[j].role == TRAINOPT__BN_EW_IN) ||
                 (a[i].role == TRAINOPT__BN_EW_IN && a[j].role == TRAINOPT__BN_EW_OUT)))
                continue;
            return TRAINOPT_ERR_ALIAS;
        }
    return TRAINOPT_OK;
}

/* Config and shape checks shared by every batchnorm function. *total gets n*c*s
   and *m gets n*s. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__bn_check_config(const trainopt_bn_config *c, const trainopt_bn_shape *s,
                                                               size_t *total, size_t *m) {
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__finite(c->eps) || !(c->eps > 0.0) || !trainopt__finite(c->momentum) || c->momentum < 0.0 ||
        c->momentum > 1.0)
        return TRAINOPT_ERR_HPARAM;
    if (s->layout != TRAINOPT_NCHW && s->layout != TRAINOPT_NHWC) return TRAINOPT_ERR_SHAPE;
    if (s->n != 0 && s->spatial > SIZE_MAX / s->n) return TRAINOPT_ERR_SHAPE;
    *m = s->n * s->spatial;
    if (*m != 0 && s->c > SIZE_MAX / sizeof(float) / *m) return TRAINOPT_ERR_SHAPE;
    *total = *m * s->c;
    return TRAINOPT_OK;
}

/* Per-call scalars of the normalization. */
typedef struct {
    double eps, momentum;
    int relu;
} trainopt__bn_params;

/* ---- per-channel double arithmetic (the same code serves both layouts) ---- */

/* Merges one block (nb values, float shift mb, float sums s1 = sum(x-mb) and
   s2 = sum((x-mb)^2)) into a channel's running (count, mean, m2). */
TRAINOPT__FORCE_INLINE void trainopt__bn_merge(double count, double nb, float mb, float s1, float s2, double *mean,
                                               double *m2) {
    double mean_b = (double)mb + (double)s1 / nb;
    double m2_b = fma(-(double)s1, (double)s1 / nb, (double)s2);
    if (count == 0.0) {
        *mean = mean_b;
        *m2 = m2_b;
    } else {
        double total = count + nb, delta = mean_b - *mean;
        *mean = fma(delta, nb / total, *mean);
        *m2 = fma(delta, delta * (count * nb / total), *m2 + m2_b);
    }
}

/* Writes a channel's saved and running statistics; returns the normalization's
   float coefficients y = fma(x - *mu, *a, *b). */
TRAINOPT__FORCE_INLINE void trainopt__bn_finish(const trainopt__bn_params *p, double m, double mean, double m2,
                                                float gamma, float beta, float *save_mean, float *save_invstd,
                                                float *running_mean, float *running_var, float *mu, float *a,
                                                float *b) {
    double sd;
    mean = mean + 0.0; /* -0 -> +0: a zero mean has one sign whichever partial sums were -0 */
    if (m2 < 0.0) m2 = 0.0;
    sd = sqrt(m2 / m + p->eps);
    *save_mean = (float)mean;
    *save_invstd = (float)(1.0 / sd);
    if (running_mean) {
        *running_mean = (float)fma(p->momentum, mean, (1.0 - p->momentum) * (double)*running_mean);
        *running_var = (float)fma(p->momentum, m2 / (m - 1.0), (1.0 - p->momentum) * (double)*running_var);
    }
    *mu = (float)mean;
    *a = (float)((double)gamma / sd);
    *b = beta;
}

/* The backward pass's per-channel scalars from the double sums of g and (x-mean)*g. */
TRAINOPT__FORCE_INLINE void trainopt__bn_backward_coefs(double m, double sum_g, double dot, float invstd, float gamma,
                                                        float *dgamma, float *dbeta, float *a, float *k, float *c) {
    double r = (double)invstd, ad = (double)gamma * r;
    sum_g = sum_g + 0.0;
    dot = dot + 0.0;
    if (dgamma) *dgamma = (float)(dot * r);
    if (dbeta) *dbeta = (float)sum_g;
    *a = (float)ad;
    *k = (float)(-ad * (r * r) * (dot / m));
    *c = (float)(-ad * (sum_g / m));
}

/* ---- vector bodies ---- */

TRAINOPT__FORCE_INLINE size_t trainopt__bn_min(size_t a, size_t b) { return a < b ? a : b; }

/* y = fma(x - mu, a, b), then max(0, y) with relu (NaN stays NaN). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_norm(trainopt__vf x, trainopt__vf mu, trainopt__vf a, trainopt__vf b,
                                                      int relu) {
    trainopt__vf y = trainopt__v_fma(trainopt__v_sub(x, mu), a, b);
    return relu ? trainopt__v_max(trainopt__v_zero(), y) : y;
}

/* dy with the relu mask: 0 where y <= 0. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_grad(trainopt__vf dy, const float *y, size_t k, int relu) {
    if (!relu) return dy;
    return trainopt__v_select(trainopt__v_le(trainopt__v_load_n(y, k), trainopt__v_zero()), trainopt__v_zero(), dy);
}

/* NCHW: a run of len values of one channel; value i goes to partial i % 16. */
TRAINOPT__FORCE_INLINE void trainopt__bn_row_sum(trainopt__acc16 *acc, const float *x, size_t len) {
    size_t i = 0;
    int j;
    for (; i + 16 <= len; i += 16)
        for (j = 0; j < TRAINOPT__ACC_VECS; j++)
            acc->v[j] = trainopt__v_add(acc->v[j], trainopt__v_load(x + i + (size_t)j * TRAINOPT_SIMD_LANES));
    for (j = 0; i < len; i += TRAINOPT_SIMD_LANES, j++)
        acc->v[j] = trainopt__v_add(acc->v[j], trainopt__v_load_n(x + i, trainopt__bn_min(len - i, TRAINOPT_SIMD_LANES)));
}

/* NCHW: sum(x - mb) into s1 and sum((x - mb)^2) into s2. */
TRAINOPT__FORCE_INLINE void trainopt__bn_row_dev(trainopt__acc16 *s1, trainopt__acc16 *s2, const float *x, size_t len,
                                                 trainopt__vf mb) {
    size_t i = 0;
    int j;
    for (; i + 16 <= len; i += 16)
        for (j = 0; j < TRAINOPT__ACC_VECS; j++) {
            trainopt__vf d = trainopt__v_sub(trainopt__v_load(x + i + (size_t)j * TRAINOPT_SIMD_LANES), mb);
            s1->v[j] = trainopt__v_add(s1->v[j], d);
            s2->v[j] = trainopt__v_fma(d, d, s2->v[j]);
        }
    for (j = 0; i < len; i += TRAINOPT_SIMD_LANES, j++) {
        size_t k = trainopt__bn_min(len - i, TRAINOPT_SIMD_LANES);
        trainopt__vf d = trainopt__v_keep_first(trainopt__v_sub(trainopt__v_load_n(x + i, k), mb), k);
        s1->v[j] = trainopt__v_add(s1->v[j], d);
        s2->v[j] = trainopt__v_fma(d, d, s2->v[j]);
    }
}

/* NCHW backward: sum(g) into s1 and sum((x - mu)*g) into s2. */
TRAINOPT__FORCE_INLINE void trainopt__bn_row_dot(trainopt__acc16 *s1, trainopt__acc16 *s2, const float *x,
                                                 const float *dy, const float *y, size_t len, trainopt__vf mu, int relu) {
    size_t i = 0;
    int j;
    for (; i + 16 <= len; i += 16)
        for (j = 0; j < TRAINOPT__ACC_VECS; j++) {
            size_t o = i + (size_t)j * TRAINOPT_SIMD_LANES;
            trainopt__vf g = trainopt__bn_grad(trainopt__v_load(dy + o), y + o, TRAINOPT_SIMD_LANES, relu);
            trainopt__vf t = trainopt__v_sub(trainopt__v_load(x + o), mu);
            s1->v[j] = trainopt__v_add(s1->v[j], g);
            s2->v[j] = trainopt__v_fma(t, g, s2->v[j]);
        }
    for (j = 0; i < len; i += TRAINOPT_SIMD_LANES, j++) {
        size_t k = trainopt__bn_min(len - i, TRAINOPT_SIMD_LANES);
        trainopt__vf g = trainopt__bn_grad(trainopt__v_load_n(dy + i, k), y + i, k, relu);
        trainopt__vf t = trainopt__v_keep_first(trainopt__v_sub(trainopt__v_load_n(x + i, k), mu), k);
        s1->v[j] = trainopt__v_add(s1->v[j], g);
        s2->v[j] = trainopt__v_fma(t, g, s2->v[j]);
    }
}

/* NCHW: normalize a run of one channel. */
TRAINOPT__FORCE_INLINE void trainopt__bn_row_norm(const float *x, float *y, size_t len, float mu, float a, float b,
                                                  int relu) {
    const trainopt__vf vmu = trainopt__v_set1(mu), va = trainopt__v_set1(a), vb = trainopt__v_set1(b);
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES)
        trainopt__v_store(y + i, trainopt__bn_norm(trainopt__v_load(x + i), vmu, va, vb, relu));
    if (i < len) {
        size_t k = len - i;
        trainopt__v_store_n(y + i, trainopt__bn_norm(trainopt__v_load_n(x + i, k), vmu, va, vb, relu), k);
    }
}

/* NCHW backward: dx for a run of one channel. */
TRAINOPT__FORCE_INLINE void trainopt__bn_row_dx(const float *x, const float *dy, const float *y, float *dx, size_t len,
                                                float mu, float a, float k, float c, int relu) {
    const trainopt__vf vmu = trainopt__v_set1(mu), va = trainopt__v_set1(a), vk = trainopt__v_set1(k),
                       vc = trainopt__v_set1(c);
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES) {
        trainopt__vf g = trainopt__bn_grad(trainopt__v_load(dy + i), y + i, TRAINOPT_SIMD_LANES, relu);
        trainopt__vf t = trainopt__v_sub(trainopt__v_load(x + i), vmu);
        trainopt__v_store(dx + i, trainopt__v_fma(t, vk, trainopt__v_fma(g, va, vc)));
    }
    if (i < len) {
        size_t n = len - i;
        trainopt__vf g = trainopt__bn_grad(trainopt__v_load_n(dy + i, n), y + i, n, relu);
        trainopt__vf t = trainopt__v_sub(trainopt__v_load_n(x + i, n), vmu);
        trainopt__v_store_n(dx + i, trainopt__v_fma(t, vk, trainopt__v_fma(g, va, vc)), n);
    }
}

/* ---- NCHW kernels: one channel at a time, so its second pass reads from cache ---- */

TRAINOPT__FORCE_INLINE void trainopt__bn_train_nchw(const trainopt__bn_params *p, size_t n, size_t cs, size_t s,
                                                    int relu, const float *x, const float *gamma, const float *beta,
                                                    float *running_mean, float *running_var, float *y, float *save_mean,
                                                    float *save_invstd) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(n, s);
    const double m = (double)n * (double)s;
    size_t c, k, r;
    for (c = 0; c < cs; c++) {
        double count = 0.0, mean = 0.0, m2 = 0.0;
        float mu, a, b;
        for (k = 0; k < bl.count; k++) {
            const trainopt__bn_block B = trainopt__bn_block_at(&bl, k);
            const size_t len = B.s1 - B.s0;
            const double nb = (double)(B.n1 - B.n0) * (double)len;
            trainopt__acc16 sum, s1, s2;
            float mb;
            trainopt__acc16_zero(&sum);
            for (r = B.n0; r < B.n1; r++) trainopt__bn_row_sum(&sum, x + (r * cs + c) * s + B.s0, len);
            mb = trainopt__acc16_sum(&sum) / (float)nb;
            trainopt__acc16_zero(&s1);
            trainopt__acc16_zero(&s2);
            for (r = B.n0; r < B.n1; r++)
                trainopt__bn_row_dev(&s1, &s2, x + (r * cs + c) * s + B.s0, len, trainopt__v_set1(mb));
            trainopt__bn_merge(count, nb, mb, trainopt__acc16_sum(&s1), trainopt__acc16_sum(&s2), &mean, &m2);
            count += nb;
        }
        trainopt__bn_finish(p, m, mean, m2, gamma ? gamma[c] : 1.0f, beta ? beta[c] : 0.0f, save_mean + c,
                            save_invstd + c, running_mean ? running_mean + c : NULL,
                            running_var ? running_var + c : NULL, &mu, &a, &b);
        for (r = n; r-- > 0;) trainopt__bn_row_norm(x + (r * cs + c) * s, y + (r * cs + c) * s, s, mu, a, b, relu);
    }
}

TRAINOPT__FORCE_INLINE void trainopt__bn_backward_nchw(size_t n, size_t cs, size_t s, int relu, const float *x,
                                                       const float *dy, const float *gamma, const float *save_mean,
                                                       const float *save_invstd, const float *y, float *dx,
                                                       float *dgamma, float *dbeta) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(n, s);
    const double m = (double)n * (double)s;
    size_t c, k, r;
    for (c = 0; c < cs; c++) {
        const trainopt__vf mu = trainopt__v_set1(save_mean[c]);
        double sum_g = 0.0, dot = 0.0;
        float a, kk, cc;
        for (k = 0; k < bl.count; k++) {
            const trainopt__bn_block B = trainopt__bn_block_at(&bl, k);
            trainopt__acc16 s1, s2;
            trainopt__acc16_zero(&s1);
            trainopt__acc16_zero(&s2);
            for (r = B.n0; r < B.n1; r++) {
                size_t o = (r * cs + c) * s + B.s0;
                trainopt__bn_row_dot(&s1, &s2, x + o, dy + o, relu ? y + o : NULL, B.s1 - B.s0, mu, relu);
            }
            sum_g += (double)trainopt__acc16_sum(&s1);
            dot += (double)trainopt__acc16_sum(&s2);
        }
        trainopt__bn_backward_coefs(m, sum_g, dot, save_invstd[c], gamma ? gamma[c] : 1.0f,
                                    dgamma ? dgamma + c : NULL, dbeta ? dbeta + c : NULL, &a, &kk, &cc);
        for (r = n; r-- > 0;) {
            size_t o = (r * cs + c) * s;
            trainopt__bn_row_dx(x + o, dy + o, relu ? y + o : NULL, dx + o, s, save_mean[c], a, kk, cc, relu);
        }
    }
}

/* ---- NHWC kernels: a tile of up to TILE channels at a time, lanes across channels ---- */

/* Per-tile scratch on the stack (about 9 KB). Arrays are padded to whole vectors. */
typedef struct {
    float a1[16 * TRAINOPT__BN_TILE]; /* partial sums: [partial][channel] */
    float a2[16 * TRAINOPT__BN_TILE];
    float mu[TRAINOPT__BN_TILE], ca[TRAINOPT__BN_TILE], cb[TRAINOPT__BN_TILE], cc[TRAINOPT__BN_TILE];
    double d1[TRAINOPT__BN_TILE], d2[TRAINOPT__BN_TILE];
} trainopt__bn_tile;

TRAINOPT__FORCE_INLINE void trainopt__bn_tile_zero(float *a, size_t width) {
    size_t j, v;
    for (j = 0; j < 16; j++)
        for (v = 0; v < width; v += TRAINOPT_SIMD_LANES)
            trainopt__v_store(a + j * TRAINOPT__BN_TILE + v, trainopt__v_zero());
}

/* The canonical tree over the 16 partial sums of each channel (as trainopt__acc16_sum);
   the result lands in row 0. */
TRAINOPT__FORCE_INLINE void trainopt__bn_tile_tree(float *a, size_t width) {
    size_t w, j, v;
    for (w = 8; w >= 1; w /= 2)
        for (j = 0; j < w; j++)
            for (v = 0; v < width; v += TRAINOPT_SIMD_LANES)
                trainopt__v_store(a + j * TRAINOPT__BN_TILE + v,
                                  trainopt__v_add(trainopt__v_load(a + j * TRAINOPT__BN_TILE + v),
                                                  trainopt__v_load(a + (j + w) * TRAINOPT__BN_TILE + v)));
}

/* Partial sum of position s: s % 16 (s0 of every block is a multiple of 16). */
#define TRAINOPT__BN_PART(s) (((s) & 15u) * TRAINOPT__BN_TILE)

TRAINOPT__FORCE_INLINE void trainopt__bn_tile_sum(trainopt__bn_tile *t, const trainopt__bn_block *B, size_t s, size_t cs,
                                                  size_t tc, const float *x) {
    size_t n, p, v;
    for (n = B->n0; n < B->n1; n++)
        for (p = B->s0; p < B->s1; p++) {
            const float *row = x + (n * s + p) * cs;
            float *a = t->a1 + TRAINOPT__BN_PART(p);
            for (v = 0; v + TRAINOPT_SIMD_LANES <= tc; v += TRAINOPT_SIMD_LANES)
                trainopt__v_store(a + v, trainopt__v_add(trainopt__v_load(a + v), trainopt__v_load(row + v)));
            if (v < tc)
                trainopt__v_store(a + v, trainopt__v_add(trainopt__v_load(a + v), trainopt__v_load_n(row + v, tc - v)));
        }
}

TRAINOPT__FORCE_INLINE void trainopt__bn_tile_dev_vec(trainopt__bn_tile *t, size_t off, size_t v, trainopt__vf xv) {
    trainopt__vf d = trainopt__v_sub(xv, trainopt__v_load(t->mu + v));
    trainopt__v_store(t->a1 + off + v, trainopt__v_add(trainopt__v_load(t->a1 + off + v), d));
    trainopt__v_store(t->a2 + off + v, trainopt__v_fma(d, d, trainopt__v_load(t->a2 + off + v)));
}

TRAINOPT__FORCE_INLINE void trainopt__bn_tile_dev(trainopt__bn_tile *t, const trainopt__bn_block *B, size_t s, size_t cs,
                                                  size_t tc, const float *x) {
    size_t n, p, v;
    for (n = B->n0; n < B->n1; n++)
        for (p = B->s0; p < B->s1; p++) {
            const float *row = x + (n * s + p) * cs;
            for (v = 0; v + TRAINOPT_SIMD_LANES <= tc; v += TRAINOPT_SIMD_LANES)
                trainopt__bn_tile_dev_vec(t, TRAINOPT__BN_PART(p), v, trainopt__v_load(row + v));
            if (v < tc) trainopt__bn_tile_dev_vec(t, TRAINOPT__BN_PART(p), v, trainopt__v_load_n(row + v, tc - v));
        }
}

TRAINOPT__FORCE_INLINE void trainopt__bn_tile_dot_vec(trainopt__bn_tile *t, size_t off, size_t v, trainopt__vf xv,
                                                      trainopt__vf g) {
    trainopt__vf d = trainopt__v_sub(xv, trainopt__v_load(t->mu + v));
    trainopt__v_store(t->a1 + off + v, trainopt__v_add(trainopt__v_load(t->a1 + off + v), g));
    trainopt__v_store(t->a2 + off + v, trainopt__v_fma(d, g, trainopt__v_load(t->a2 + off + v)));
}

TRAINOPT__FORCE_INLINE void trainopt__bn_tile_dot(trainopt__bn_tile *t, const trainopt__bn_block *B, size_t s, size_t cs,
                                                  size_t tc, int relu, const float *x, const float *dy, const float *y) {
    size_t n, p, v;
    for (n = B->n0; n < B->n1; n++)
        for (p = B->s0; p < B->s1; p++) {
            const size_t o = (n * s + p) * cs;
            for (v = 0; v + TRAINOPT_SIMD_LANES <= tc; v += TRAINOPT_SIMD_LANES)
                trainopt__bn_tile_dot_vec(t, TRAINOPT__BN_PART(p), v, trainopt__v_load(x + o + v),
                                          trainopt__bn_grad(trainopt__v_load(dy + o + v), y + o + v,
                                                            TRAINOPT_SIMD_LANES, relu));
            if (v < tc)
                trainopt__bn_tile_dot_vec(t, TRAINOPT__BN_PART(p), v, trainopt__v_load_n(x + o + v, tc - v),
                                          trainopt__bn_grad(trainopt__v_load_n(dy + o + v, tc - v), y + o + v,
                                                            tc - v, relu));
        }
}

/* y = fma(x - mu, ca, cb) over all m rows of the tile. */
TRAINOPT__FORCE_INLINE void trainopt__bn_tile_norm(const trainopt__bn_tile *t, size_t m, size_t cs, size_t tc, int relu,
                                                   const float *x, float *y) {
    size_t r, v;
    for (r = m; r-- > 0;) { /* backwards: the first pass left the end of x in cache */
        const float *xr = x + r * cs;
        float *yr = y + r * cs;
        for (v = 0; v + TRAINOPT_SIMD_LANES <= tc; v += TRAINOPT_SIMD_LANES)
            trainopt__v_store(yr + v, trainopt__bn_norm(trainopt__v_load(xr + v), trainopt__v_load(t->mu + v),
                                                        trainopt__v_load(t->ca + v), trainopt__v_load(t->cb + v), relu));
        if (v < tc)
            trainopt__v_store_n(yr + v,
                                trainopt__bn_norm(trainopt__v_load_n(xr + v, tc - v), trainopt__v_load(t->mu + v),
                                                  trainopt__v_load(t->ca + v), trainopt__v_load(t->cb + v), relu),
                                tc - v);
    }
}

/* dx = fma(x - mu, cb, fma(g, ca, cc)) over all m rows of the tile. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_tile_dx_vec(const trainopt__bn_tile *t, size_t v, trainopt__vf xv,
                                                             trainopt__vf g) {
    trainopt__vf d = trainopt__v_sub(xv, trainopt__v_load(t->mu + v));
    return trainopt__v_fma(d, trainopt__v_load(t->cb + v),
                           trainopt__v_fma(g, trainopt__v_load(t->ca + v), trainopt__v_load(t->cc + v)));
}

TRAINOPT__FORCE_INLINE void trainopt__bn_tile_dx(const trainopt__bn_tile *t, size_t m, size_t cs, size_t tc, int relu,
                                                 const float *x, const float *dy, const float *y, float *dx) {
    size_t r, v;
    for (r = m; r-- > 0;) { /* backwards: the first pass left the end of x and dy in cache */
        const size_t o = r * cs;
        for (v = 0; v + TRAINOPT_SIMD_LANES <= tc; v += TRAINOPT_SIMD_LANES)
            trainopt__v_store(dx + o + v,
                              trainopt__bn_tile_dx_vec(t, v, trainopt__v_load(x + o + v),
                                                       trainopt__bn_grad(trainopt__v_load(dy + o + v), y + o + v,
                                                                         TRAINOPT_SIMD_LANES, relu)));
        if (v < tc)
            trainopt__v_store_n(dx + o + v,
                                trainopt__bn_tile_dx_vec(t, v, trainopt__v_load_n(x + o + v, tc - v),
                                                         trainopt__bn_grad(trainopt__v_load_n(dy + o + v, tc - v),
                                                                           y + o + v, tc - v, relu)),
                                tc - v);
    }
}

/* Zeroes the padding lanes of the coefficient arrays past tc. */
TRAINOPT__FORCE_INLINE void trainopt__bn_tile_pad(trainopt__bn_tile *t, size_t tc, size_t width) {
    size_t j;
    for (j = tc; j < width; j++) t->mu[j] = t->ca[j] = t->cb[j] = t->cc[j] = 0.0f;
}

TRAINOPT__FORCE_INLINE size_t trainopt__bn_width(size_t tc) {
    return (tc + TRAINOPT_SIMD_LANES - 1) / TRAINOPT_SIMD_LANES * TRAINOPT_SIMD_LANES;
}

TRAINOPT__FORCE_INLINE void trainopt__bn_train_nhwc(const trainopt__bn_params *p, size_t n, size_t cs, size_t s,
                                                    int relu, const float *x, const float *gamma, const float *beta,
                                                    float *running_mean, float *running_var, float *y, float *save_mean,
                                                    float *save_invstd) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(n, s);
    const double m = (double)n * (double)s;
    trainopt__bn_tile t;
    size_t c0, k, j, v;
    for (c0 = 0; c0 < cs; c0 += TRAINOPT__BN_TILE) {
        const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, cs - c0), width = trainopt__bn_width(tc);
        double count = 0.0;
        for (k = 0; k < bl.count; k++) {
            const trainopt__bn_block B = trainopt__bn_block_at(&bl, k);
            const double nb = (double)(B.n1 - B.n0) * (double)(B.s1 - B.s0);
            trainopt__bn_tile_zero(t.a1, width);
            trainopt__bn_tile_sum(&t, &B, s, cs, tc, x + c0);
            trainopt__bn_tile_tree(t.a1, width);
            for (v = 0; v < width; v += TRAINOPT_SIMD_LANES)
                trainopt__v_store(t.mu + v, trainopt__v_div(trainopt__v_load(t.a1 + v), trainopt__v_set1((float)nb)));
            trainopt__bn_tile_zero(t.a1, width);
            trainopt__bn_tile_zero(t.a2, width);
            trainopt__bn_tile_dev(&t, &B, s, cs, tc, x + c0);
            trainopt__bn_tile_tree(t.a1, width);
            trainopt__bn_tile_tree(t.a2, width);
            for (j = 0; j < tc; j++) trainopt__bn_merge(count, nb, t.mu[j], t.a1[j], t.a2[j], t.d1 + j, t.d2 + j);
            count += nb;
        }
        for (j = 0; j < tc; j++) {
            const size_t c = c0 + j;
            trainopt__bn_finish(p, m, t.d1[j], t.d2[j], gamma ? gamma[c] : 1.0f, beta ? beta[c] : 0.0f,
                                save_mean + c, save_invstd + c, running_mean ? running_mean + c : NULL,
                                running_var ? running_var + c : NULL, t.mu + j, t.ca + j, t.cb + j);
        }
        trainopt__bn_tile_pad(&t, tc, width);
        trainopt__bn_tile_norm(&t, n * s, cs, tc, relu, x + c0, y + c0);
    }
}

TRAINOPT__FORCE_INLINE void trainopt__bn_backward_nhwc(size_t n, size_t cs, size_t s, int relu, const float *x,
                                                       const float *dy, const float *gamma, const float *save_mean,
                                                       const float *save_invstd, const float *y, float *dx,
                                                       float *dgamma, float *dbeta) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(n, s);
    const double m = (double)n * (double)s;
    trainopt__bn_tile t;
    size_t c0, k, j;
    for (c0 = 0; c0 < cs; c0 += TRAINOPT__BN_TILE) {
        const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, cs - c0), width = trainopt__bn_width(tc);
        for (j = 0; j < width; j++) t.mu[j] = j < tc ? save_mean[c0 + j] : 0.0f;
        for (j = 0; j < tc; j++) t.d1[j] = t.d2[j] = 0.0;
        for (k = 0; k < bl.count; k++) {
            const trainopt__bn_block B = trainopt__bn_block_at(&bl, k);
            trainopt__bn_tile_zero(t.a1, width);
            trainopt__bn_tile_zero(t.a2, width);
            trainopt__bn_tile_dot(&t, &B, s, cs, tc, relu, x + c0, dy + c0, relu ? y + c0 : NULL);
            trainopt__bn_tile_tree(t.a1, width);
            trainopt__bn_tile_tree(t.a2, width);
            for (j = 0; j < tc; j++) {
                t.d1[j] += (double)t.a1[j];
                t.d2[j] += (double)t.a2[j];
            }
        }
        for (j = 0; j < tc; j++) {
            const size_t c = c0 + j;
            /* ca = a, cb = k, cc = c of dx = fma(x - mu, k, fma(g, a, c)) */
            trainopt__bn_backward_coefs(m, t.d1[j], t.d2[j], save_invstd[c], gamma ? gamma[c] : 1.0f,
                                        dgamma ? dgamma + c : NULL, dbeta ? dbeta + c : NULL, t.ca + j, t.cb + j,
                                        t.cc + j);
        }
        trainopt__bn_tile_pad(&t, tc, width);
        for (j = 0; j < tc; j++) t.mu[j] = save_mean[c0 + j];
        trainopt__bn_tile_dx(&t, n * s, cs, tc, relu, x + c0, dy + c0, relu ? y + c0 : NULL, dx + c0);
    }
}

/* NHWC inference: the coefficients of a tile, then one pass. */
TRAINOPT__FORCE_INLINE void trainopt__bn_infer_coefs(double eps, float gamma, float beta, float mean, float var,
                                                     float *mu, float *a, float *b) {
    *mu = mean;
    *a = (float)((double)gamma / sqrt((double)var + eps));
    *b = beta;
}

/* S = 1 is the same memory in both layouts; NHWC (lanes across channels) serves
   it, viewed as one image of N positions so that consecutive samples fill the 16
   partial sums. */
TRAINOPT__FORCE_INLINE int trainopt__bn_view(const trainopt_bn_shape *s, size_t *n, size_t *sp) {
    if (s->spatial == 1) {
        *n = 1;
        *sp = s->n;
        return TRAINOPT_NHWC;
    }
    *n = s->n;
    *sp = s->spatial;
    return s->layout;
}

/* ---- public functions ---- */

TRAINOPT_API trainopt_status trainopt_batchnorm_forward_train(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                             const float *x, const float *gamma, const float *beta,
                                                             float *running_mean, float *running_var, float *y,
                                                             float *save_mean, float *save_invstd) {
    trainopt__bn_params p;
    trainopt__bn_span spans[8];
    size_t total, m, n, sp;
    trainopt_status st = trainopt__bn_check_config(c, &s, &total, &m);
    if (st != TRAINOPT_OK) return st;
    if (total == 0) return TRAINOPT_OK;
    if (m == 1) return TRAINOPT_ERR_SHAPE;
    if (!x || !y || !save_mean || !save_invstd || (!running_mean != !running_var)) return TRAINOPT_ERR_NULL;
    spans[0].p = x; spans[0].bytes = total * sizeof(float); spans[0].role = TRAINOPT__BN_EW_IN;
    spans[1].p = y; spans[1].bytes = total * sizeof(float); spans[1].role = TRAINOPT__BN_EW_OUT;
    spans[2].p = gamma; spans[3].p = beta; spans[4].p = running_mean; spans[5].p = running_var;
    spans[6].p = save_mean; spans[7].p = save_invstd;
    for (n = 2; n < 8; n++) {
        spans[n].bytes = s.c * sizeof(float);
        spans[n].role = n < 4 ? TRAINOPT__BN_IN : TRAINOPT__BN_OUT;
    }
    if ((st = trainopt__bn_check_overlap(spans, 8)) != TRAINOPT_OK) return st;

    p.eps = c->eps;
    p.momentum = c->momentum;
    p.relu = c->fuse_relu != 0;
    if (trainopt__bn_view(&s, &n, &sp) == TRAINOPT_NCHW) {
        if (p.relu) trainopt__bn_train_nchw(&p, n, s.c, sp, 1, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd);
        else trainopt__bn_train_nchw(&p, n, s.c, sp, 0, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd);
    } else {
        if (p.relu) trainopt__bn_train_nhwc(&p, n, s.c, sp, 1, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd);
        else trainopt__bn_train_nhwc(&p, n, s.c, sp, 0, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd);
    }
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_batchnorm_forward_infer(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                             const float *x, const float *gamma, const float *beta,
                                                             const float *running_mean, const float *running_var,
                                                             float *y) {
    trainopt__bn_span spans[6];
    size_t total, m, n, sp, ch, r, j;
    int relu;
    trainopt_status st = trainopt__bn_check_config(c, &s, &total, &m);
    if (st != TRAINOPT_OK) return st;
    if (total == 0) return TRAINOPT_OK;
    if (!x || !y || !running_mean || !running_var) return TRAINOPT_ERR_NULL;
    spans[0].p = x; spans[0].bytes = total * sizeof(float); spans[0].role = TRAINOPT__BN_EW_IN;
    spans[1].p = y; spans[1].bytes = total * sizeof(float); spans[1].role = TRAINOPT__BN_EW_OUT;
    spans[2].p = gamma; spans[3].p = beta; spans[4].p = running_mean; spans[5].p = running_var;
    for (n = 2; n < 6; n++) {
        spans[n].bytes = s.c * sizeof(float);
        spans[n].role = TRAINOPT__BN_IN;
    }
    if ((st = trainopt__bn_check_overlap(spans, 6)) != TRAINOPT_OK) return st;

    relu = c->fuse_relu != 0;
    if (trainopt__bn_view(&s, &n, &sp) == TRAINOPT_NCHW) {
        for (ch = 0; ch < s.c; ch++) {
            float mu, a, b;
            trainopt__bn_infer_coefs(c->eps, gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, running_mean[ch],
                                     running_var[ch], &mu, &a, &b);
            for (r = 0; r < n; r++) {
                const size_t o = (r * s.c + ch) * sp;
                if (relu) trainopt__bn_row_norm(x + o, y + o, sp, mu, a, b, 1);
                else trainopt__bn_row_norm(x + o, y + o, sp, mu, a, b, 0);
            }
        }
    } else {
        trainopt__bn_tile t;
        size_t c0;
        for (c0 = 0; c0 < s.c; c0 += TRAINOPT__BN_TILE) {
            const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, s.c - c0), width = trainopt__bn_width(tc);
            for (j = 0; j < tc; j++) {
                ch = c0 + j;
                trainopt__bn_infer_coefs(c->eps, gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, running_mean[ch],
                                         running_var[ch], t.mu + j, t.ca + j, t.cb + j);
            }
            trainopt__bn_tile_pad(&t, tc, width);
            if (relu) trainopt__bn_tile_norm(&t, m, s.c, tc, 1, x + c0, y + c0);
            else trainopt__bn_tile_norm(&t, m, s.c, tc, 0, x + c0, y + c0);
        }
    }
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_batchnorm_backward(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                        const float *x, const float *dy, const float *gamma,
                                                        const float *save_mean, const float *save_invstd,
                                                        const float *y, float *dx, float *dgamma, float *dbeta) {
    trainopt__bn_span spans[9];
    size_t total, m, n, sp;
    int relu, i;
    trainopt_status st = trainopt__bn_check_config(c, &s, &total, &m);
    if (st != TRAINOPT_OK) return st;
    if (total == 0) return TRAINOPT_OK;
    relu = c->fuse_relu != 0;
    if (!x || !dy || !save_mean || !save_invstd || !dx || (relu && !y)) return TRAINOPT_ERR_NULL;
    if (!relu) y = NULL; /* not read */
    spans[0].p = x; spans[1].p = dy; spans[2].p = y; spans[3].p = dx;
    spans[4].p = gamma; spans[5].p = save_mean; spans[6].p = save_invstd; spans[7].p = dgamma; spans[8].p = dbeta;
    for (i = 0; i < 9; i++) {
        spans[i].bytes = (i < 4 ? total : s.c) * sizeof(float);
        spans[i].role = i < 3 ? TRAINOPT__BN_EW_IN : i == 3 ? TRAINOPT__BN_EW_OUT : i < 7 ? TRAINOPT__BN_IN : TRAINOPT__BN_OUT;
    }
    if ((st = trainopt__bn_check_overlap(spans, 9)) != TRAINOPT_OK) return st;

    if (trainopt__bn_view(&s, &n, &sp) == TRAINOPT_NCHW) {
        if (relu) trainopt__bn_backward_nchw(n, s.c, sp, 1, x, dy, gamma, save_mean, save_invstd, y, dx, dgamma, dbeta);
        else trainopt__bn_backward_nchw(n, s.c, sp, 0, x, dy, gamma, save_mean, save_invstd, NULL, dx, dgamma, dbeta);
    } else {
        if (relu) trainopt__bn_backward_nhwc(n, s.c, sp, 1, x, dy, gamma, save_mean, save_invstd, y, dx, dgamma, dbeta);
        else trainopt__bn_backward_nhwc(n, s.c, sp, 0, x, dy, gamma, save_mean, save_invstd, NULL, dx, dgamma, dbeta);
    }
    return TRAINOPT_OK;
}

/* Per-channel scale and shift for inference: y = x*scale + shift equals
   forward_infer to a few ulps. Computed in double, rounded once; shift uses the
   rounded scale so that the pair is consistent. */
TRAINOPT_API trainopt_status trainopt_batchnorm_fold(const trainopt_bn_config *c, size_t channels, const float *gamma,
                                                    const float *beta, const float *running_mean,
                                                    const float *running_var, float *scale, float *shift) {
    trainopt__bn_span spans[6];
    trainopt_bn_shape shape;
    size_t total, m, ch;
    int i;
    trainopt_status st;
    shape.n = 1;
    shape.c = channels;
    shape.spatial = 1;
    shape.layout = TRAINOPT_NCHW;
    if ((st = trainopt__bn_check_config(c, &shape, &total, &m)) != TRAINOPT_OK) return st;
    if (channels == 0) return TRAINOPT_OK;
    if (!running_mean || !running_var || !scale || !shift) return TRAINOPT_ERR_NULL;
    spans[0].p = gamma; spans[1].p = beta; spans[2].p = running_mean; spans[3].p = running_var;
    spans[4].p = scale; spans[5].p = shift;
    for (i = 0; i < 6; i++) {
        spans[i].bytes = channels * sizeof(float);
        spans[i].role = i < 4 ? TRAINOPT__BN_EW_IN : TRAINOPT__BN_EW_OUT;
    }
    if ((st = trainopt__bn_check_overlap(spans, 6)) != TRAINOPT_OK) return st;
    for (ch = 0; ch < channels; ch++) {
        float mu, a, b;
        trainopt__bn_infer_coefs(c->eps, gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, running_mean[ch],
                                 running_var[ch], &mu, &a, &b);
        scale[ch] = a;
        shift[ch] = (float)fma(-(double)mu, (double)a, (double)b);
    }
    return TRAINOPT_OK;
}
