/* >>batchnorm */

/* Complete unrolling of the small fixed-count loops over a group's vectors, so
   that the group's accumulators live in registers (without it gcc keeps the
   arrays on the stack). Results do not depend on it. */
#if defined(__clang__)
#define TRAINOPT__UNROLL _Pragma("unroll")
#elif defined(__GNUC__) && __GNUC__ >= 8
#define TRAINOPT__UNROLL _Pragma("GCC unroll 16")
#else
#define TRAINOPT__UNROLL
#endif


/* Floats from p to the next TRAINOPT__STREAM_ALIGN boundary, at most len. */
TRAINOPT__FORCE_INLINE size_t trainopt__bn_head(const float *p, size_t len) {
    const size_t h = (size_t)((TRAINOPT__STREAM_ALIGN - (uintptr_t)p % TRAINOPT__STREAM_ALIGN) % TRAINOPT__STREAM_ALIGN) / sizeof(float);
    return h < len ? h : len;
}


/* Values per channel per block (a multiple of 16): bounds each float partial sum
   to 64 terms. Part of the canonical order: changing it changes results. */
#define TRAINOPT__BN_BLOCK 1024
/* Channels per NHWC tile: a performance choice only (results do not depend on it). */
#define TRAINOPT__BN_TILE 64

/* ---- shape, blocks and validation ---- */

/* The canonical blocks of one channel's N*S values. When S <= BLOCK a block is
   `rows` whole rows (rows*round_up(S, 16) <= BLOCK), in n order. Otherwise each
   row is cut into segments of BLOCK values, and the rows go in groups of 4, each
   group segment by segment: (segment 0 of rows 0..3), (segment 1 of rows 0..3),
   ..., then rows 4..7. So four consecutive blocks have one shape and can be swept
   together while each row is still read front to back. Block k covers rows
   n0..n1-1, positions s0..s1-1 of each. */
typedef struct {
    size_t n, s;  /* N and S */
    size_t rows;  /* rows per block when S <= BLOCK, else 0 */
    size_t count; /* number of blocks */
} trainopt__bn_blocks;
typedef struct {
    size_t n0, n1, s0, s1;
} trainopt__bn_block;

TRAINOPT__FORCE_INLINE size_t trainopt__bn_min(size_t a, size_t b) { return a < b ? a : b; }

TRAINOPT__FORCE_INLINE trainopt__bn_blocks trainopt__bn_blocks_of(size_t n, size_t s) {
    trainopt__bn_blocks b;
    b.n = n;
    b.s = s;
    if (s <= TRAINOPT__BN_BLOCK) {
        b.rows = TRAINOPT__BN_BLOCK / ((s + 15) / 16 * 16); /* each partial sum gets at most BLOCK/16 values */
        b.count = (n + b.rows - 1) / b.rows;
    } else {
        b.rows = 0;
        b.count = n * ((s + TRAINOPT__BN_BLOCK - 1) / TRAINOPT__BN_BLOCK);
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
        const size_t segs = (b->s + TRAINOPT__BN_BLOCK - 1) / TRAINOPT__BN_BLOCK;
        const size_t g0 = k / (4 * segs) * 4, q = trainopt__bn_min(4, b->n - g0), in = k - g0 * segs;
        r.n0 = g0 + in % q;
        r.n1 = r.n0 + 1;
        r.s0 = in / q * TRAINOPT__BN_BLOCK;
        r.s1 = r.s0 + TRAINOPT__BN_BLOCK < b->s ? r.s0 + TRAINOPT__BN_BLOCK : b->s;
    }
    return r;
}

/* An array taking part in the overlap check. */
#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum { TRAINOPT__BN_IN = 0, TRAINOPT__BN_OUT = 1, TRAINOPT__BN_EW_IN = 2, TRAINOPT__BN_EW_OUT = 3 };
#endif
typedef struct {
    const void *p;
    size_t bytes;
    int role; /* IN/EW_IN: read only; OUT: written; EW_OUT: written elementwise (may be exactly an EW_IN) */
} trainopt__bn_span;

/* Overlaps between a written array and any other are errors, except an
   elementwise output that is exactly an elementwise input. names[i] names a[i] in the
   text of trainopt_last_error. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__bn_check_overlap(const trainopt__bn_span *a, int count,
                                                                const char *const *names, const char *fn) {
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
            return trainopt__once_alias(fn, names[i], names[j]);
        }
    return TRAINOPT_OK;
}

/* Config and shape checks shared by every batchnorm function. *total gets n*c*s
   and *m gets n*s. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__bn_check_config(const trainopt_bn_config *c, const trainopt_bn_shape *s,
                                                               size_t *total, size_t *m, const char *fn) {
    if (c == NULL) return trainopt__once_null(fn, "c (the config)");
    if (!trainopt__finite(c->eps) || !(c->eps > 0.0)) return trainopt__once_hparam(fn, "eps", c->eps, TRAINOPT__WHY_POS);
    if (!trainopt__finite(c->momentum) || c->momentum < 0.0 || c->momentum > 1.0)
        return trainopt__once_hparam(fn, "momentum", c->momentum, TRAINOPT__WHY_0_1);
    if (s->layout != TRAINOPT_NCHW && s->layout != TRAINOPT_NHWC)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "s.layout = %d is not TRAINOPT_NCHW or TRAINOPT_NHWC", (int)s->layout);
    if (s->n != 0 && s->spatial > SIZE_MAX / s->n)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "n*spatial = %zu*%zu overflows size_t", s->n, s->spatial);
    *m = s->n * s->spatial;
    if (*m != 0 && s->c > SIZE_MAX / sizeof(float) / *m)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "n*c*spatial = %zu*%zu*%zu: its size in bytes overflows size_t",
                                   s->n, s->c, s->spatial);
    *total = *m * s->c;
    return TRAINOPT_OK;
}

/* One call's view (trainopt__bn_view), scalars and arrays, for the drivers: the
   forward pass writes y (out) and its statistics, the backward pass dx (out) and
   dgamma, dbeta from the saved statistics (mean, invstd). */
typedef struct {
    size_t n, cs, s;          /* rows, channels, values per row of a channel */
    double eps, momentum;     /* forward_train */
    int relu, stream, in_out; /* stream: write out with streaming stores; in_out: trainopt__bn_out_usable */
    const float *x, *dy, *y;  /* dy, y: backward (y only with relu, else NULL) */
    const float *gamma, *beta;
    float *running_mean, *running_var, *save_mean, *save_invstd; /* forward_train */
    const float *mean, *invstd;                                    /* backward */
    float *out, *dgamma, *dbeta;
} trainopt__bn_args;

/* ---- per-channel double arithmetic (the same code serves both layouts) ---- */

/* Merges one block (nb values, float shift mb, float sums s1 = sum(x-mb) and
   s2 = sum((x-mb)^2)) into a channel's running (count, mean, m2). */
TRAINOPT__FORCE_INLINE void trainopt__bn_merge(double count, double nb, float mb, float s1, float s2, double *mean,
                                               double *m2) {
    /* Reciprocals of per-block constants, so that the per-channel loops divide nothing. */
    const double inv_nb = 1.0 / nb;
    double mean_b = fma((double)s1, inv_nb, (double)mb);
    double m2_b = fma(-(double)s1, (double)s1 * inv_nb, (double)s2);
    if (count == 0.0) {
        *mean = mean_b;
        *m2 = m2_b;
    } else {
        double total = count + nb, delta = mean_b - *mean;
        *mean = fma(delta, nb / total, *mean);
        *m2 = fma(delta, delta * (count * nb / total), *m2 + m2_b);
    }
}

/* A per-channel scalar rounded to float, with every NaN made the one quiet NaN
   0x7fc00000: a NaN's sign and payload depend on which operand the compiler put
   first (after a negation two NaNs differ), and outputs must not. */
TRAINOPT__FORCE_INLINE float trainopt__bn_f(double v) {
    float f = (float)v;
    if (f != f) {
        const uint32_t bits = 0x7fc00000u;
        memcpy(&f, &bits, sizeof f);
    }
    return f;
}

/* Writes a channel's saved and running statistics; returns the normalization's
   float coefficients y = fma(x - *mu, *a, *b). *mu is the mean rounded to float,
   and *b carries the rounding error of the mean (beta - (mean - *mu)*a), so y is
   exact to float rounding even where |mean| >> std. */
TRAINOPT__FORCE_INLINE void trainopt__bn_finish(const trainopt__bn_args *p, double m, double mean, double m2,
                                                float gamma, float beta, float *save_mean, float *save_invstd,
                                                float *running_mean, float *running_var, float *mu, float *a,
                                                float *b) {
    double invstd, ad;
    if (m2 < 0.0) m2 = 0.0;
    invstd = 1.0 / sqrt(fma(m2, 1.0 / m, p->eps)); /* 1/m: hoisted out of the channel loop */
    ad = (double)gamma * invstd;
    *save_mean = *mu = trainopt__bn_f(mean);
    *save_invstd = trainopt__bn_f(invstd);
    if (running_mean) {
        *running_mean = trainopt__bn_f(fma(p->momentum, mean, (1.0 - p->momentum) * (double)*running_mean));
        *running_var = trainopt__bn_f(fma(p->momentum, m2 * (1.0 / (m - 1.0)), (1.0 - p->momentum) * (double)*running_var));
    }
    *a = trainopt__bn_f(ad);
    *b = trainopt__bn_f(fma(-(mean - (double)*mu), ad, (double)beta));
}

/* The backward pass's per-channel scalars from the double sums of g and (x-mean)*g. */
TRAINOPT__FORCE_INLINE void trainopt__bn_backward_coefs(double m, double sum_g, double dot, float invstd, float gamma,
                                                        float *dgamma, float *dbeta, float *a, float *k, float *c) {
    double r = (double)invstd, ad = (double)gamma * r;
    if (dgamma) *dgamma = trainopt__bn_f(dot * r);
    if (dbeta) *dbeta = trainopt__bn_f(sum_g);
    *a = trainopt__bn_f(ad);
    *k = trainopt__bn_f(-ad * (r * r) * (dot * (1.0 / m)));
    *c = trainopt__bn_f(-ad * (sum_g * (1.0 / m)));
}

/* ---- vector bodies ---- */

/* y = fma(x - mu, a, b), then max(0, y) with relu (NaN stays NaN). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_norm(trainopt__vf x, trainopt__vf mu, trainopt__vf a, trainopt__vf b,
                                                      int relu) {
    trainopt__vf y = trainopt__v_fma(trainopt__v_sub(x, mu), a, b);
    return relu ? trainopt__v_max(trainopt__v_zero(), y) : y;
}

/* dy with the relu mask: 0 where y[o..o+k) <= 0. Without relu y is NULL and not
   offset (NULL + o is undefined). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_grad(trainopt__vf dy, const float *y, size_t o, size_t k, int relu) {
    if (!relu) return dy;
    return trainopt__v_select(trainopt__v_le(trainopt__v_load_n(y + o, k), trainopt__v_zero()), trainopt__v_zero(), dy);
}

/* ---- NCHW kernels: a large channel, or four small ones, at a time, so that the
   second pass reads from cache ---- */

/* Channels swept together: enough independent sums to hide the add and fma
   latency where one acc16 is only one or two vectors. A performance choice only:
   each channel's sums are the same whatever the grouping. */
#define TRAINOPT__BN_GROUP (TRAINOPT__ACC_VECS >= 4 ? 1 : 4 / TRAINOPT__ACC_VECS)

/* G streams swept together: stream j's row r starts at off[j] + r*stride; the
   streams are the same block of G neighbouring channels (whose rows are
   neighbours in memory). */
typedef struct {
    size_t off[TRAINOPT__BN_GROUP];
    size_t rows, len, stride;
} trainopt__bn_group;

/* Sweep kinds: sum(x); sum(x - m) and sum((x - m)^2); sum(g) and sum((x - m)*g). */
#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum { TRAINOPT__BN_SUM = 0, TRAINOPT__BN_DEV = 1, TRAINOPT__BN_DOT = 2 };
#endif

/* One vector of k values at offset o into s1 (and s2). Lanes past k add +0. */
TRAINOPT__FORCE_INLINE void trainopt__bn_accum(int kind, int relu, size_t o, size_t k, trainopt__vf m,
                                               const float *x, const float *dy, const float *y, trainopt__vf *s1,
                                               trainopt__vf *s2) {
    trainopt__vf xv = trainopt__v_load_n(x + o, k);
    if (kind == TRAINOPT__BN_SUM) {
        *s1 = trainopt__v_add(*s1, xv);
    } else {
        trainopt__vf d = trainopt__v_keep_first(trainopt__v_sub(xv, m), k);
        if (kind == TRAINOPT__BN_DEV) {
            *s1 = trainopt__v_add(*s1, d);
            *s2 = trainopt__v_fma(d, d, *s2);
        } else {
            trainopt__vf g = trainopt__bn_grad(trainopt__v_load_n(dy + o, k), y, o, k, relu);
            *s1 = trainopt__v_add(*s1, g);
            *s2 = trainopt__v_fma(d, g, *s2);
        }
    }
}

/* Sweeps G streams; value i of a row goes to partial i % 16 of its stream's acc16.
   G, kind and relu are constants at every call, so each combination gets its own
   loop (in the drivers trainopt__bn_stats and trainopt__bn_dots). */
TRAINOPT__FORCE_INLINE void trainopt__bn_group_sweep(const trainopt__bn_group *gr, int G, int kind, int relu,
                                                     const trainopt__vf *m, const float *x, const float *dy,
                                                     const float *y, trainopt__acc16 *s1, trainopt__acc16 *s2) {
    const size_t full = gr->len / 16 * 16;
    size_t r, i;
    int j, v;
    for (r = 0; r < gr->rows; r++) {
        const size_t ro = r * gr->stride;
        for (i = 0; i < full; i += 16)
            TRAINOPT__UNROLL
            for (j = 0; j < G; j++)
                TRAINOPT__UNROLL
                for (v = 0; v < TRAINOPT__ACC_VECS; v++)
                    trainopt__bn_accum(kind, relu, gr->off[j] + ro + i + (size_t)v * TRAINOPT_SIMD_LANES,
                                       TRAINOPT_SIMD_LANES, m[j], x, dy, y, &s1[j].v[v], &s2[j].v[v]);
        if (full < gr->len)
            TRAINOPT__UNROLL
            for (j = 0; j < G; j++)
                TRAINOPT__UNROLL
                for (v = 0; v < TRAINOPT__ACC_VECS; v++) {
                    i = full + (size_t)v * TRAINOPT_SIMD_LANES;
                    if (i < gr->len)
                        trainopt__bn_accum(kind, relu, gr->off[j] + ro + i,
                                           trainopt__bn_min(gr->len - i, TRAINOPT_SIMD_LANES), m[j], x, dy, y,
                                           &s1[j].v[v], &s2[j].v[v]);
                }
    }
}

/* Statistics of G streams: each block's float mean mb (first sweep), then its
   centered sums s1, s2 (second sweep, from cache). */
TRAINOPT__FORCE_INLINE void trainopt__bn_group_stats(const trainopt__bn_group *gr, int G, const float *x, float *mb,
                                                     float *s1, float *s2) {
    trainopt__acc16 a1[TRAINOPT__BN_GROUP], a2[TRAINOPT__BN_GROUP];
    trainopt__vf m[TRAINOPT__BN_GROUP];
    const float nb = (float)gr->rows * (float)gr->len; /* at most BLOCK: exact */
    int j;
    TRAINOPT__UNROLL
    for (j = 0; j < TRAINOPT__BN_GROUP; j++) {
        trainopt__acc16_zero(&a1[j]);
        trainopt__acc16_zero(&a2[j]);
        m[j] = trainopt__v_zero();
    }
    trainopt__bn_group_sweep(gr, G, TRAINOPT__BN_SUM, 0, m, x, NULL, NULL, a1, a2);
    TRAINOPT__UNROLL
    for (j = 0; j < G; j++) {
        mb[j] = trainopt__acc16_sum(&a1[j]) / nb;
        m[j] = trainopt__v_set1(mb[j]);
        trainopt__acc16_zero(&a1[j]);
    }
    trainopt__bn_group_sweep(gr, G, TRAINOPT__BN_DEV, 0, m, x, NULL, NULL, a1, a2);
    TRAINOPT__UNROLL
    for (j = 0; j < G; j++) {
        s1[j] = trainopt__acc16_sum(&a1[j]);
        s2[j] = trainopt__acc16_sum(&a2[j]);
    }
}

/* The backward sums of G streams: s1 = sum(g), s2 = sum((x - mu_j)*g). */
TRAINOPT__FORCE_INLINE void trainopt__bn_group_dots(const trainopt__bn_group *gr, int G, int relu, const float *mu,
                                                    const float *x, const float *dy, const float *y, float *s1,
                                                    float *s2) {
    trainopt__acc16 a1[TRAINOPT__BN_GROUP], a2[TRAINOPT__BN_GROUP];
    trainopt__vf m[TRAINOPT__BN_GROUP];
    int j;
    TRAINOPT__UNROLL
    for (j = 0; j < TRAINOPT__BN_GROUP; j++) {
        trainopt__acc16_zero(&a1[j]);
        trainopt__acc16_zero(&a2[j]);
        m[j] = trainopt__v_set1(mu[j < G ? j : 0]);
    }
    trainopt__bn_group_sweep(gr, G, TRAINOPT__BN_DOT, relu, m, x, dy, y, a1, a2);
    TRAINOPT__UNROLL
    for (j = 0; j < G; j++) {
        s1[j] = trainopt__acc16_sum(&a1[j]);
        s2[j] = trainopt__acc16_sum(&a2[j]);
    }
}

/* The drivers of the two: g streams, g being GROUP or 1 (with the group copied to
   a local, whose fields no store can change, so they stay in registers). */
TRAINOPT__DRIVER void trainopt__bn_stats(const trainopt__bn_group *gr, int g, const float *x, float *mb, float *s1,
                                         float *s2) {
    const trainopt__bn_group local = *gr;
    if (g > 1) trainopt__bn_group_stats(&local, TRAINOPT__BN_GROUP, x, mb, s1, s2);
    else trainopt__bn_group_stats(&local, 1, x, mb, s1, s2);
}

TRAINOPT__DRIVER void trainopt__bn_dots(const trainopt__bn_group *gr, int g, int relu, const float *mu, const float *x,
                                        const float *dy, const float *y, float *s1, float *s2) {
    const trainopt__bn_group local = *gr;
    if (g > 1) {
        if (relu) trainopt__bn_group_dots(&local, TRAINOPT__BN_GROUP, 1, mu, x, dy, y, s1, s2);
        else trainopt__bn_group_dots(&local, TRAINOPT__BN_GROUP, 0, mu, x, dy, NULL, s1, s2);
    } else {
        if (relu) trainopt__bn_group_dots(&local, 1, 1, mu, x, dy, y, s1, s2);
        else trainopt__bn_group_dots(&local, 1, 0, mu, x, dy, NULL, s1, s2);
    }
}

/* From block k of channel c: G (GROUP or 1) consecutive blocks of one shape when
   there are, else one. Returns the number of blocks. */
TRAINOPT__FORCE_INLINE int trainopt__bn_block_group(const trainopt__bn_blocks *bl, size_t k, size_t cs, size_t c, int G,
                                                    trainopt__bn_group *gr) {
    const trainopt__bn_block b0 = trainopt__bn_block_at(bl, k);
    int g = 1;
    gr->rows = b0.n1 - b0.n0;
    gr->len = b0.s1 - b0.s0;
    gr->stride = cs * bl->s;
    gr->off[0] = (b0.n0 * cs + c) * bl->s + b0.s0;
    while (g < G && k + (size_t)g < bl->count) {
        const trainopt__bn_block b = trainopt__bn_block_at(bl, k + (size_t)g);
        if (b.n1 - b.n0 != gr->rows || b.s1 - b.s0 != gr->len) break;
        gr->off[g++] = (b.n0 * cs + c) * bl->s + b.s0;
    }
    return g == G ? g : 1;
}

/* Block k of channels c..c+g-1. */
TRAINOPT__FORCE_INLINE void trainopt__bn_channel_group(const trainopt__bn_blocks *bl, size_t k, size_t cs, size_t c,
                                                       int g, trainopt__bn_group *gr) {
    trainopt__bn_block b = trainopt__bn_block_at(bl, k);
    int j;
    gr->rows = b.n1 - b.n0;
    gr->len = b.s1 - b.s0;
    gr->stride = cs * bl->s;
    for (j = 0; j < g; j++) gr->off[j] = (b.n0 * cs + c + (size_t)j) * bl->s + b.s0;
}

/* NCHW: normalize a run of one channel; with stream, aligned vectors go through
   streaming stores and the unaligned head and tail through v_store_n. */
TRAINOPT__FORCE_INLINE void trainopt__bn_row_norm_v(const float *x, float *y, size_t len, trainopt__vf vmu, trainopt__vf va,
                                                    trainopt__vf vb, int relu, int stream) {
    size_t i = 0;
    if (stream) {
        const size_t h = trainopt__bn_head(y, len);
        if (h) trainopt__v_store_n(y, trainopt__bn_norm(trainopt__v_load_n(x, h), vmu, va, vb, relu), h);
        for (i = h; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES)
            trainopt__v_stream(y + i, trainopt__bn_norm(trainopt__v_load(x + i), vmu, va, vb, relu));
    } else {
        for (; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES)
            trainopt__v_store(y + i, trainopt__bn_norm(trainopt__v_load(x + i), vmu, va, vb, relu));
    }
    if (i < len) {
        size_t k = len - i;
        trainopt__v_store_n(y + i, trainopt__bn_norm(trainopt__v_load_n(x + i, k), vmu, va, vb, relu), k);
    }
}
TRAINOPT__FORCE_INLINE void trainopt__bn_row_norm(const float *x, float *y, size_t len, float mu, float a, float b,
                                                  int relu, int stream) {
    trainopt__bn_row_norm_v(x, y, len, trainopt__v_set1(mu), trainopt__v_set1(a), trainopt__v_set1(b), relu, stream);
}

/* dx = fma(x - mu, k, fma(g, a, c)) for one vector. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_dx(trainopt__vf x, trainopt__vf g, trainopt__vf mu, trainopt__vf a,
                                                    trainopt__vf k, trainopt__vf c) {
    return trainopt__v_fma(trainopt__v_sub(x, mu), k, trainopt__v_fma(g, a, c));
}

/* NCHW backward: dx for the run [o, o + len) of one channel (stream as in
   trainopt__bn_row_norm). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_row_dx_vec(const float *x, const float *dy, const float *y, size_t i,
                                                            size_t k, trainopt__vf mu, trainopt__vf a, trainopt__vf kk,
                                                            trainopt__vf c, int relu) {
    trainopt__vf g = trainopt__bn_grad(trainopt__v_load_n(dy + i, k), y, i, k, relu);
    return trainopt__bn_dx(trainopt__v_load_n(x + i, k), g, mu, a, kk, c);
}

TRAINOPT__FORCE_INLINE void trainopt__bn_row_dx(const float *x, const float *dy, const float *y, float *dx, size_t o,
                                                size_t len, trainopt__vf vmu, trainopt__vf va, trainopt__vf vk,
                                                trainopt__vf vc, int relu, int stream) {
    const size_t end = o + len;
    size_t i = o;
    if (stream) {
        const size_t h = trainopt__bn_head(dx + o, len);
        if (h) trainopt__v_store_n(dx + o, trainopt__bn_row_dx_vec(x, dy, y, o, h, vmu, va, vk, vc, relu), h);
        for (i = o + h; i + TRAINOPT_SIMD_LANES <= end; i += TRAINOPT_SIMD_LANES)
            trainopt__v_stream(dx + i, trainopt__bn_row_dx_vec(x, dy, y, i, TRAINOPT_SIMD_LANES, vmu, va, vk, vc, relu));
    } else {
        for (; i + TRAINOPT_SIMD_LANES <= end; i += TRAINOPT_SIMD_LANES)
            trainopt__v_store(dx + i, trainopt__bn_row_dx_vec(x, dy, y, i, TRAINOPT_SIMD_LANES, vmu, va, vk, vc, relu));
    }
    if (i < end) trainopt__v_store_n(dx + i, trainopt__bn_row_dx_vec(x, dy, y, i, end - i, vmu, va, vk, vc, relu), end - i);
}

/* The elementwise pass of NCHW channels c..c+g-1 (g <= GROUP) over all their rows,
   back to front (the statistics left the end in cache), with per-channel
   coefficients: forward out = fma(x - coef0, coef1, coef2), backward
   out = fma(x - coef0, coef2, fma(g, coef1, coef3)). */
typedef struct {
    size_t n, cs, s, c;
    int g, stream;
    const float *x, *dy, *y; /* dy, y: backward (y only with relu) */
    float *out;
    float coef[4][TRAINOPT__BN_GROUP];
} trainopt__bn_rows;

/* Coefficients in registers, and where S is a whole number of vectors row by row
   (the g channels' runs of a row are neighbours): with small S the per-run setup,
   not the arithmetic, was the cost. Runs with a partial vector go channel by
   channel, which measured faster for them (S = 7, 20, 33). The values are the same
   in any order. backward and relu are constants at every call. */
TRAINOPT__FORCE_INLINE void trainopt__bn_rows_body(const trainopt__bn_rows *p, int backward, int relu) {
    const size_t n = p->n, cs = p->cs, s = p->s, c = p->c;
    const int g = p->g, stream = p->stream;
    const float *x = p->x, *dy = p->dy, *y = p->y;
    float *out = p->out;
    trainopt__vf v[4][TRAINOPT__BN_GROUP];
    size_t r;
    int i, j;
    for (j = 0; j < TRAINOPT__BN_GROUP; j++) /* all of v, not just g columns: gcc -Wmaybe-uninitialized (sse2) */
        for (i = 0; i < 4; i++) v[i][j] = j < g && (i < 3 || backward) ? trainopt__v_set1(p->coef[i][j]) : trainopt__v_zero();
#define TRAINOPT__BN_ROW(r, j)                                                                                    \
    do {                                                                                                          \
        const size_t o = ((r) * cs + c + (size_t)(j)) * s;                                                        \
        if (backward)                                                                                             \
            trainopt__bn_row_dx(x, dy, y, out, o, s, v[0][j], v[1][j], v[2][j], v[3][j], relu, stream);           \
        else                                                                                                      \
            trainopt__bn_row_norm_v(x + o, out + o, s, v[0][j], v[1][j], v[2][j], relu, stream);                  \
    } while (0)
    if (s % TRAINOPT_SIMD_LANES == 0)
        for (r = n; r-- > 0;)
            for (j = 0; j < g; j++) TRAINOPT__BN_ROW(r, j);
    else
        for (j = 0; j < g; j++)
            for (r = n; r-- > 0;) TRAINOPT__BN_ROW(r, j);
#undef TRAINOPT__BN_ROW
}

TRAINOPT__DRIVER void trainopt__bn_rows_pass(const trainopt__bn_rows *p, int backward, int relu) {
    if (backward) {
        if (relu) trainopt__bn_rows_body(p, 1, 1);
        else trainopt__bn_rows_body(p, 1, 0);
    } else {
        if (relu) trainopt__bn_rows_body(p, 0, 1);
        else trainopt__bn_rows_body(p, 0, 0);
    }
}

/* A rows pass over channels c..c+g-1 of the call. */
TRAINOPT__FORCE_INLINE void trainopt__bn_rows_of(const trainopt__bn_args *a, size_t c, int g, trainopt__bn_rows *r) {
    r->n = a->n;
    r->cs = a->cs;
    r->s = a->s;
    r->c = c;
    r->g = g;
    r->stream = a->stream;
    r->x = a->x;
    r->dy = a->dy;
    r->y = a->y;
    r->out = a->out;
}

/* Statistics, saved and running statistics and the normalization of channels
   c..c+g-1, swept together; the normalization then reads them from cache. */
TRAINOPT__DRIVER void trainopt__bn_train_nchw_channels(const trainopt__bn_args *a, const trainopt__bn_blocks *bl, size_t c,
                                                       int g) {
    const double m = (double)bl->n * (double)bl->s;
    double count = 0.0, mean[TRAINOPT__BN_GROUP], m2[TRAINOPT__BN_GROUP];
    float mb[TRAINOPT__BN_GROUP], s1[TRAINOPT__BN_GROUP], s2[TRAINOPT__BN_GROUP];
    trainopt__bn_group gr;
    trainopt__bn_rows rows;
    size_t k;
    int j;
    for (j = 0; j < TRAINOPT__BN_GROUP; j++) mean[j] = m2[j] = 0.0;
    for (k = 0; k < bl->count; k++) {
        trainopt__bn_channel_group(bl, k, a->cs, c, g, &gr);
        trainopt__bn_stats(&gr, g, a->x, mb, s1, s2);
        for (j = 0; j < g; j++) trainopt__bn_merge(count, (double)gr.rows * (double)gr.len, mb[j], s1[j], s2[j], mean + j, m2 + j);
        count += (double)gr.rows * (double)gr.len;
    }
    trainopt__bn_rows_of(a, c, g, &rows);
    for (j = 0; j < g; j++) {
        const size_t ch = c + (size_t)j;
        trainopt__bn_finish(a, m, mean[j], m2[j], a->gamma ? a->gamma[ch] : 1.0f, a->beta ? a->beta[ch] : 0.0f,
                            a->save_mean + ch, a->save_invstd + ch, a->running_mean ? a->running_mean + ch : NULL,
                            a->running_var ? a->running_var + ch : NULL, &rows.coef[0][j], &rows.coef[1][j],
                            &rows.coef[2][j]);
    }
    trainopt__bn_rows_pass(&rows, 0, a->relu);
}

/* Large channels go one at a time (the second pass then reads the channel from
   L2), their blocks swept GROUP at a time; small ones GROUP channels at a time. */
#define TRAINOPT__BN_SMALL_CHANNEL 32768

/* One large channel: statistics over groups of blocks, then the normalization. */
TRAINOPT__DRIVER void trainopt__bn_train_nchw_channel(const trainopt__bn_args *a, const trainopt__bn_blocks *bl, size_t c) {
    double count = 0.0, mean = 0.0, m2 = 0.0;
    float mb[TRAINOPT__BN_GROUP], s1[TRAINOPT__BN_GROUP], s2[TRAINOPT__BN_GROUP];
    trainopt__bn_group gr;
    trainopt__bn_rows rows;
    size_t k;
    int g, j;
    for (k = 0; k < bl->count; k += (size_t)g) {
        g = trainopt__bn_block_group(bl, k, a->cs, c, TRAINOPT__BN_GROUP, &gr);
        trainopt__bn_stats(&gr, g, a->x, mb, s1, s2);
        for (j = 0; j < g; j++) {
            trainopt__bn_merge(count, (double)gr.rows * (double)gr.len, mb[j], s1[j], s2[j], &mean, &m2);
            count += (double)gr.rows * (double)gr.len;
        }
    }
    trainopt__bn_rows_of(a, c, 1, &rows);
    trainopt__bn_finish(a, (double)bl->n * (double)bl->s, mean, m2, a->gamma ? a->gamma[c] : 1.0f,
                        a->beta ? a->beta[c] : 0.0f, a->save_mean + c, a->save_invstd + c,
                        a->running_mean ? a->running_mean + c : NULL, a->running_var ? a->running_var + c : NULL,
                        &rows.coef[0][0], &rows.coef[1][0], &rows.coef[2][0]);
    trainopt__bn_rows_pass(&rows, 0, a->relu); /* backwards: the statistics left the end of the channel in cache */
}

TRAINOPT__DRIVER void trainopt__bn_train_nchw(const trainopt__bn_args *a) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(a->n, a->s);
    const size_t whole = a->cs - a->cs % TRAINOPT__BN_GROUP; /* channels in whole groups */
    size_t c = 0;
    if (a->n * a->s > TRAINOPT__BN_SMALL_CHANNEL) {
        for (; c < a->cs; c++) trainopt__bn_train_nchw_channel(a, &bl, c);
        return;
    }
    for (; c < whole; c += TRAINOPT__BN_GROUP) trainopt__bn_train_nchw_channels(a, &bl, c, TRAINOPT__BN_GROUP);
    for (; c < a->cs; c++) trainopt__bn_train_nchw_channels(a, &bl, c, 1);
}

/* Backward sums and dx of channels c..c+g-1. */
TRAINOPT__DRIVER void trainopt__bn_backward_nchw_channels(const trainopt__bn_args *a, const trainopt__bn_blocks *bl,
                                                          size_t c, int g) {
    const double m = (double)bl->n * (double)bl->s;
    double sum_g[TRAINOPT__BN_GROUP], dot[TRAINOPT__BN_GROUP];
    float s1[TRAINOPT__BN_GROUP], s2[TRAINOPT__BN_GROUP];
    trainopt__bn_group gr;
    trainopt__bn_rows rows;
    size_t k;
    int j;
    for (j = 0; j < TRAINOPT__BN_GROUP; j++) sum_g[j] = dot[j] = 0.0;
    for (k = 0; k < bl->count; k++) {
        trainopt__bn_channel_group(bl, k, a->cs, c, g, &gr);
        trainopt__bn_dots(&gr, g, a->relu, a->mean + c, a->x, a->dy, a->y, s1, s2);
        for (j = 0; j < g; j++) {
            sum_g[j] += (double)s1[j];
            dot[j] += (double)s2[j];
        }
    }
    trainopt__bn_rows_of(a, c, g, &rows);
    for (j = 0; j < g; j++) {
        const size_t ch = c + (size_t)j;
        rows.coef[0][j] = a->mean[ch];
        trainopt__bn_backward_coefs(m, sum_g[j], dot[j], a->invstd[ch], a->gamma ? a->gamma[ch] : 1.0f,
                                    a->dgamma ? a->dgamma + ch : NULL, a->dbeta ? a->dbeta + ch : NULL,
                                    &rows.coef[1][j], &rows.coef[2][j], &rows.coef[3][j]);
    }
    trainopt__bn_rows_pass(&rows, 1, a->relu); /* the order as in the forward pass */
}

/* Blocks of one large channel swept together by the backward sums: GROUP where
   that makes at most four memory streams (x and dy of each block), else one at a
   time. Out of cache, AVX-512's four blocks (eight streams) ran at half the speed
   of one block at a time, and AVX2's two blocks (four streams) are faster than one
   in L2 (bench/FINDINGS.md, "Light drivers (0.2.0)"). The sums are the same. */
#define TRAINOPT__BN_DOT_GROUP (TRAINOPT__BN_GROUP <= 2 ? TRAINOPT__BN_GROUP : 1)

/* One large channel's backward sums over groups of blocks, then dx. */
TRAINOPT__DRIVER void trainopt__bn_backward_nchw_channel(const trainopt__bn_args *a, const trainopt__bn_blocks *bl,
                                                         size_t c) {
    double sum_g = 0.0, dot = 0.0;
    float mu[TRAINOPT__BN_GROUP], s1[TRAINOPT__BN_GROUP], s2[TRAINOPT__BN_GROUP];
    trainopt__bn_group gr;
    trainopt__bn_rows rows;
    size_t k;
    int g, j;
    for (j = 0; j < TRAINOPT__BN_GROUP; j++) mu[j] = a->mean[c];
    for (k = 0; k < bl->count; k += (size_t)g) {
        g = trainopt__bn_block_group(bl, k, a->cs, c, TRAINOPT__BN_DOT_GROUP, &gr);
        trainopt__bn_dots(&gr, g, a->relu, mu, a->x, a->dy, a->y, s1, s2);
        for (j = 0; j < g; j++) {
            sum_g += (double)s1[j];
            dot += (double)s2[j];
        }
    }
    trainopt__bn_rows_of(a, c, 1, &rows);
    rows.coef[0][0] = a->mean[c];
    trainopt__bn_backward_coefs((double)bl->n * (double)bl->s, sum_g, dot, a->invstd[c], a->gamma ? a->gamma[c] : 1.0f,
                                a->dgamma ? a->dgamma + c : NULL, a->dbeta ? a->dbeta + c : NULL, &rows.coef[1][0],
                                &rows.coef[2][0], &rows.coef[3][0]);
    trainopt__bn_rows_pass(&rows, 1, a->relu);
}

TRAINOPT__DRIVER void trainopt__bn_backward_nchw(const trainopt__bn_args *a) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(a->n, a->s);
    const size_t whole = a->cs - a->cs % TRAINOPT__BN_GROUP; /* channels in whole groups */
    size_t c = 0;
    if (a->n * a->s > TRAINOPT__BN_SMALL_CHANNEL) {
        for (; c < a->cs; c++) trainopt__bn_backward_nchw_channel(a, &bl, c);
        return;
    }
    for (; c < whole; c += TRAINOPT__BN_GROUP) trainopt__bn_backward_nchw_channels(a, &bl, c, TRAINOPT__BN_GROUP);
    for (; c < a->cs; c++) trainopt__bn_backward_nchw_channels(a, &bl, c, 1);
}

/* ---- NHWC kernels: lanes across channels, passes over whole rows ---- */

/* Every pass reads whole rows of C channels: a pass over part of each row costs
   about twice as much (the prefetchers fetch the whole row anyway). So the
   per-channel state of a pass must cover all C channels. It lives in the output
   array (y or dx), which the last pass overwrites, when that array is not also an
   input and holds enough floats; otherwise passes work on tiles of TILE channels
   with their state on the stack (slower for large tensors, the same bits). */

/* Vectors of channels held in registers by the NHWC sweeps. */
#define TRAINOPT__BN_VB 4

/* tc rounded up to whole vectors. */
TRAINOPT__FORCE_INLINE size_t trainopt__bn_width(size_t tc) {
    return (tc + TRAINOPT_SIMD_LANES - 1) / TRAINOPT_SIMD_LANES * TRAINOPT_SIMD_LANES;
}

/* The per-channel state of a pass over channels [0, width). */
typedef struct {
    float *a1, *a2;   /* partial sums [16][stride] */
    float *mu;        /* block shift (forward) or channel mean (backward), [stride] */
    unsigned char *d; /* two doubles per channel (memcpy: the output array is only float-aligned) */
    size_t stride;    /* a multiple of 16, >= width */
    float *coef[4];   /* per-channel coefficients of the elementwise pass, [width] each */
} trainopt__bn_state;

/* Stack state of one tile. */
typedef struct {
    float a1[16 * TRAINOPT__BN_TILE], a2[16 * TRAINOPT__BN_TILE], mu[TRAINOPT__BN_TILE];
    double d[2 * TRAINOPT__BN_TILE];
    float coef[4][TRAINOPT__BN_TILE];
} trainopt__bn_tile;

TRAINOPT__FORCE_INLINE void trainopt__bn_tile_state(trainopt__bn_tile *t, trainopt__bn_state *st) {
    int i;
    st->a1 = t->a1;
    st->a2 = t->a2;
    st->mu = t->mu;
    st->d = (unsigned char *)t->d;
    st->stride = TRAINOPT__BN_TILE;
    for (i = 0; i < 4; i++) st->coef[i] = t->coef[i];
}

/* Floats of scratch the full-width state needs in the output array, for c channels:
   4 coefficient rows, then (8-byte aligned) 2 doubles per channel, then 33 arrays of
   stride floats. Row 0..3 of the output are the coefficient rows. */
TRAINOPT__FORCE_INLINE size_t trainopt__bn_stride(size_t c) { return (c + 15) / 16 * 16; }
TRAINOPT__FORCE_INLINE size_t trainopt__bn_scratch_floats(size_t c) {
    return 4 * c + 1 + 4 * c + 33 * trainopt__bn_stride(c);
}

TRAINOPT__FORCE_INLINE void trainopt__bn_out_state(float *out, size_t c, trainopt__bn_state *st) {
    float *p = out + 4 * c;
    int i;
    if ((uintptr_t)p % 8 != 0) p++;
    st->d = (unsigned char *)p;
    p += 4 * c;
    st->stride = trainopt__bn_stride(c);
    st->mu = p;
    st->a1 = p + st->stride;
    st->a2 = st->a1 + 16 * st->stride;
    for (i = 0; i < 4; i++) st->coef[i] = out + (size_t)i * c;
}

TRAINOPT__FORCE_INLINE double trainopt__bn_getd(const trainopt__bn_state *st, size_t i) {
    double v;
    memcpy(&v, st->d + i * sizeof(double), sizeof v);
    return v;
}
TRAINOPT__FORCE_INLINE void trainopt__bn_setd(const trainopt__bn_state *st, size_t i, double v) {
    memcpy(st->d + i * sizeof(double), &v, sizeof v);
}

/* The first chunk of a block initializes partial sums 0..min(16, len)-1 (the
   sweep's init); this zeroes the others (a2 too unless only_a1), which no value
   of the block reaches when its rows are shorter than 16. */
TRAINOPT__DRIVER void trainopt__bn_state_zero(const trainopt__bn_state *st, const trainopt__bn_block *B, size_t width,
                                              int only_a1) {
    size_t j, v;
    for (j = trainopt__bn_min(16, B->s1 - B->s0); j < 16; j++)
        for (v = 0; v < width; v += TRAINOPT_SIMD_LANES) {
            trainopt__v_store(st->a1 + j * st->stride + v, trainopt__v_zero());
            if (!only_a1) trainopt__v_store(st->a2 + j * st->stride + v, trainopt__v_zero());
        }
}

/* The canonical tree over the 16 partial sums of each channel (as trainopt__acc16_sum:
   s[j] + s[j + w] for w = 8, 4, 2, 1), a vector of channels at a time in registers;
   the result lands in row 0. */
TRAINOPT__DRIVER void trainopt__bn_state_tree(float *a, size_t stride, size_t width) {
    trainopt__vf t[16];
    size_t v;
    int j, w;
    for (v = 0; v < width; v += TRAINOPT_SIMD_LANES) {
        TRAINOPT__UNROLL
        for (j = 0; j < 16; j++) t[j] = trainopt__v_load(a + (size_t)j * stride + v);
        TRAINOPT__UNROLL
        for (w = 8; w >= 1; w /= 2)
            TRAINOPT__UNROLL
            for (j = 0; j < w; j++) t[j] = trainopt__v_add(t[j], t[j + w]);
        trainopt__v_store(a + v, t[0]);
    }
}

/* Adds the up to 4 values of partial p in one 64-position chunk (rows r0, r0+16, ...
   < r1; r0 = chunk start + p) to nv channel vectors from v0, in registers. The
   partial sum sees its values in position order, as in the NCHW sweep. */
TRAINOPT__FORCE_INLINE void trainopt__bn_state_group(const trainopt__bn_state *st, size_t p, size_t r0, size_t r1,
                                                     size_t cs, size_t v0, int nv, size_t klast, int kind, int relu,
                                                     int init, const float *x, const float *dy, const float *y) {
    trainopt__vf m[TRAINOPT__BN_VB], s1[TRAINOPT__BN_VB], s2[TRAINOPT__BN_VB];
    float *a1 = st->a1 + p * st->stride + v0, *a2 = st->a2 + p * st->stride + v0;
    size_t r;
    int j;
    TRAINOPT__UNROLL
    for (j = 0; j < TRAINOPT__BN_VB; j++) {
        const size_t o = (size_t)(j < nv ? j : 0) * TRAINOPT_SIMD_LANES;
        m[j] = kind == TRAINOPT__BN_SUM ? trainopt__v_zero() : trainopt__v_load(st->mu + v0 + o);
        s1[j] = init ? trainopt__v_zero() : trainopt__v_load(a1 + o);
        s2[j] = kind == TRAINOPT__BN_SUM || init ? trainopt__v_zero() : trainopt__v_load(a2 + o);
    }
    for (r = r0; r < r1; r += 16)
        TRAINOPT__UNROLL
        for (j = 0; j < TRAINOPT__BN_VB; j++)
            if (j < nv)
                trainopt__bn_accum(kind, relu, r * cs + v0 + (size_t)j * TRAINOPT_SIMD_LANES,
                                   j == nv - 1 ? klast : TRAINOPT_SIMD_LANES, m[j], x, dy, y, &s1[j], &s2[j]);
    TRAINOPT__UNROLL
    for (j = 0; j < TRAINOPT__BN_VB; j++)
        if (j < nv) {
            trainopt__v_store(a1 + (size_t)j * TRAINOPT_SIMD_LANES, s1[j]);
            if (kind != TRAINOPT__BN_SUM) trainopt__v_store(a2 + (size_t)j * TRAINOPT_SIMD_LANES, s2[j]);
        }
}

/* One sweep of block B over channels [0, tc) (x, dy, y already offset to the first
   channel; rows are cs floats apart). Position s goes to partial s % 16 (blocks
   start at multiples of 16). kind and relu are constants at every call. */
TRAINOPT__FORCE_INLINE void trainopt__bn_state_sweep(const trainopt__bn_state *st, const trainopt__bn_block *B, size_t s,
                                                     size_t cs, size_t tc, int kind, int relu, const float *x,
                                                     const float *dy, const float *y) {
    const size_t span = (size_t)TRAINOPT__BN_VB * TRAINOPT_SIMD_LANES;
    const size_t full = tc / span * span;
    const size_t rest = tc - full, rest_nv = (rest + TRAINOPT_SIMD_LANES - 1) / TRAINOPT_SIMD_LANES;
    const size_t rest_k = rest - (rest_nv ? rest_nv - 1 : 0) * TRAINOPT_SIMD_LANES;
    size_t n, q, p, v0;
    for (n = B->n0; n < B->n1; n++)
        for (q = B->s0; q < B->s1; q += 64) {
            const size_t end = trainopt__bn_min(q + 64, B->s1);
            const int init = n == B->n0 && q == B->s0; /* the block's first chunk starts its sums */
            for (p = 0; p < 16 && q + p < end; p++) {
                const size_t r0 = n * s + q + p, r1 = n * s + end;
                for (v0 = 0; v0 < full; v0 += span)
                    trainopt__bn_state_group(st, p, r0, r1, cs, v0, TRAINOPT__BN_VB, TRAINOPT_SIMD_LANES, kind, relu,
                                             init, x, dy, y);
                if (rest)
                    trainopt__bn_state_group(st, p, r0, r1, cs, full, (int)rest_nv, rest_k, kind, relu, init, x, dy, y);
            }
        }
}

/* What an NHWC pass reads: channels [0, tc) of rows cs floats apart (x, dy, y
   offset to the first channel; y only with relu), s positions per image. */
typedef struct {
    size_t s, cs, tc;
    const float *x, *dy, *y;
} trainopt__bn_src;

/* The sweep's driver: one loop per (kind, relu), the state and block copied to
   locals so that the sums' stores do not make the loop reload them. */
TRAINOPT__DRIVER void trainopt__bn_sweep(const trainopt__bn_state *st, const trainopt__bn_block *B,
                                         const trainopt__bn_src *src, int kind, int relu) {
    const trainopt__bn_state local = *st;
    const trainopt__bn_block b = *B;
    const size_t s = src->s, cs = src->cs, tc = src->tc;
    if (kind == TRAINOPT__BN_SUM)
        trainopt__bn_state_sweep(&local, &b, s, cs, tc, TRAINOPT__BN_SUM, 0, src->x, NULL, NULL);
    else if (kind == TRAINOPT__BN_DEV)
        trainopt__bn_state_sweep(&local, &b, s, cs, tc, TRAINOPT__BN_DEV, 0, src->x, NULL, NULL);
    else if (relu)
        trainopt__bn_state_sweep(&local, &b, s, cs, tc, TRAINOPT__BN_DOT, 1, src->x, src->dy, src->y);
    else
        trainopt__bn_state_sweep(&local, &b, s, cs, tc, TRAINOPT__BN_DOT, 0, src->x, src->dy, NULL);
}

/* Forward statistics of channels [0, tc): per block a sum sweep for the shift,
   then a centered sweep (the block is in cache), merged in double per channel.
   Leaves each channel's mean and m2 in the state's doubles. */
TRAINOPT__DRIVER void trainopt__bn_state_stats(const trainopt__bn_state *st, const trainopt__bn_blocks *bl,
                                               const trainopt__bn_src *src) {
    const size_t tc = src->tc, width = trainopt__bn_width(tc);
    double count = 0.0;
    size_t k, j, v;
    for (k = 0; k < bl->count; k++) {
        const trainopt__bn_block B = trainopt__bn_block_at(bl, k);
        const double nb = (double)(B.n1 - B.n0) * (double)(B.s1 - B.s0);
        trainopt__bn_state_zero(st, &B, width, 1);
        trainopt__bn_sweep(st, &B, src, TRAINOPT__BN_SUM, 0);
        trainopt__bn_state_tree(st->a1, st->stride, width);
        for (v = 0; v < width; v += TRAINOPT_SIMD_LANES)
            trainopt__v_store(st->mu + v, trainopt__v_div(trainopt__v_load(st->a1 + v), trainopt__v_set1((float)nb)));
        trainopt__bn_state_zero(st, &B, width, 0);
        trainopt__bn_sweep(st, &B, src, TRAINOPT__BN_DEV, 0);
        trainopt__bn_state_tree(st->a1, st->stride, width);
        trainopt__bn_state_tree(st->a2, st->stride, width);
        for (j = 0; j < tc; j++) {
            double mean = trainopt__bn_getd(st, 2 * j), m2 = trainopt__bn_getd(st, 2 * j + 1);
            trainopt__bn_merge(count, nb, st->mu[j], st->a1[j], st->a2[j], &mean, &m2);
            trainopt__bn_setd(st, 2 * j, mean);
            trainopt__bn_setd(st, 2 * j + 1, m2);
        }
        count += nb;
    }
}

/* Backward sums of channels [0, tc) with the channel means in st->mu: leaves
   sum(g) and sum((x - mean)*g) in the state's doubles. */
TRAINOPT__DRIVER void trainopt__bn_state_dots(const trainopt__bn_state *st, const trainopt__bn_blocks *bl,
                                              const trainopt__bn_src *src, int relu) {
    const size_t tc = src->tc, width = trainopt__bn_width(tc);
    size_t k, j;
    for (j = 0; j < 2 * tc; j++) trainopt__bn_setd(st, j, 0.0);
    for (k = 0; k < bl->count; k++) {
        const trainopt__bn_block B = trainopt__bn_block_at(bl, k);
        trainopt__bn_state_zero(st, &B, width, 0);
        trainopt__bn_sweep(st, &B, src, TRAINOPT__BN_DOT, relu);
        trainopt__bn_state_tree(st->a1, st->stride, width);
        trainopt__bn_state_tree(st->a2, st->stride, width);
        for (j = 0; j < tc; j++) {
            trainopt__bn_setd(st, 2 * j, trainopt__bn_getd(st, 2 * j) + (double)st->a1[j]);
            trainopt__bn_setd(st, 2 * j + 1, trainopt__bn_getd(st, 2 * j + 1) + (double)st->a2[j]);
        }
    }
}

/* The elementwise pass over rows [r0, r1), channels [0, tc), with per-channel
   coefficients coef[0..3] (front to back: measured faster here than back to front,
   whose reuse of the cache the write stream spoils):
   forward y = fma(x - coef0, coef1, coef2); backward dx = fma(x - coef0, coef2,
   fma(g, coef1, coef3)). */
typedef struct {
    const float *coef[4];
    size_t r0, r1, cs, tc;
    const float *x, *dy, *y; /* dy, y: backward (y only with relu); offset to the first channel */
    float *out;
    int stream;
} trainopt__bn_ew;

TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_elem_vec(int backward, int relu, const float *const *coef, size_t v,
                                                          size_t o, size_t k, const float *x, const float *dy,
                                                          const float *y) {
    const trainopt__vf xv = trainopt__v_load_n(x + o, k), mu = trainopt__v_load_n(coef[0] + v, k);
    if (!backward) return trainopt__bn_norm(xv, mu, trainopt__v_load_n(coef[1] + v, k), trainopt__v_load_n(coef[2] + v, k), relu);
    return trainopt__bn_dx(xv, trainopt__bn_grad(trainopt__v_load_n(dy + o, k), y, o, k, relu), mu,
                           trainopt__v_load_n(coef[1] + v, k), trainopt__v_load_n(coef[2] + v, k),
                           trainopt__v_load_n(coef[3] + v, k));
}

/* The pass's body, backward and relu constants; the fields copied to locals, which
   the output's stores cannot change. */
TRAINOPT__FORCE_INLINE void trainopt__bn_elem_rows(const trainopt__bn_ew *e, int backward, int relu) {
    const float *coef[4];
    const size_t r0 = e->r0, r1 = e->r1, cs = e->cs, tc = e->tc;
    const float *x = e->x, *dy = e->dy, *y = e->y;
    float *out = e->out;
    const int stream = e->stream;
    size_t r, v;
    int j;
    for (j = 0; j < 4; j++) coef[j] = e->coef[j];
    for (r = r0; r < r1; r++) {
        const size_t o = r * cs;
        v = 0;
        if (stream) {
            const size_t h = trainopt__bn_head(out + o, tc);
            if (h) trainopt__v_store_n(out + o, trainopt__bn_elem_vec(backward, relu, coef, 0, o, h, x, dy, y), h);
            for (v = h; v + TRAINOPT_SIMD_LANES <= tc; v += TRAINOPT_SIMD_LANES)
                trainopt__v_stream(out + o + v,
                                   trainopt__bn_elem_vec(backward, relu, coef, v, o + v, TRAINOPT_SIMD_LANES, x, dy, y));
        } else {
            for (; v + TRAINOPT_SIMD_LANES <= tc; v += TRAINOPT_SIMD_LANES)
                trainopt__v_store(out + o + v,
                                  trainopt__bn_elem_vec(backward, relu, coef, v, o + v, TRAINOPT_SIMD_LANES, x, dy, y));
        }
        if (v < tc) trainopt__v_store_n(out + o + v, trainopt__bn_elem_vec(backward, relu, coef, v, o + v, tc - v, x, dy, y), tc - v);
    }
}

TRAINOPT__DRIVER void trainopt__bn_elem(const trainopt__bn_ew *e, int backward, int relu) {
    if (backward) {
        if (relu) trainopt__bn_elem_rows(e, 1, 1);
        else trainopt__bn_elem_rows(e, 1, 0);
    } else {
        if (relu) trainopt__bn_elem_rows(e, 0, 1);
        else trainopt__bn_elem_rows(e, 0, 0);
    }
}

/* The elementwise pass when the coefficients sit in rows 0..3 of the output itself
   (e covers rows 0..r1, all cs channels): rows 4.. first, then rows 0..3 a tile at
   a time from a copy of its coefficients. */
TRAINOPT__DRIVER void trainopt__bn_elem_out(const trainopt__bn_ew *e, int backward, int relu) {
    float copy[4][TRAINOPT__BN_TILE];
    trainopt__bn_ew t = *e;
    size_t c0, i;
    int j;
    t.r0 = 4;
    trainopt__bn_elem(&t, backward, relu);
    for (j = 0; j < 4; j++) t.coef[j] = copy[j];
    t.r0 = 0;
    t.r1 = 4;
    t.stream = 0;
    for (c0 = 0; c0 < e->cs; c0 += TRAINOPT__BN_TILE) {
        const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, e->cs - c0);
        for (j = 0; j < (backward ? 4 : 3); j++)
            for (i = 0; i < tc; i++) copy[j][i] = e->coef[j][c0 + i];
        t.tc = tc;
        t.x = e->x + c0;
        t.dy = e->dy ? e->dy + c0 : NULL;
        t.y = e->y ? e->y + c0 : NULL;
        t.out = e->out + c0;
        trainopt__bn_elem(&t, backward, relu);
    }
}

/* An elementwise pass of the call over rows [0, n*s) of channels c0..c0+tc-1, with
   the coefficients coef. */
TRAINOPT__FORCE_INLINE void trainopt__bn_ew_of(const trainopt__bn_args *a, float *const *coef, size_t c0, size_t tc,
                                               trainopt__bn_ew *e) {
    int j;
    for (j = 0; j < 4; j++) e->coef[j] = coef[j];
    e->r0 = 0;
    e->r1 = a->n * a->s;
    e->cs = a->cs;
    e->tc = tc;
    e->x = a->x + c0;
    e->dy = a->dy ? a->dy + c0 : NULL;
    e->y = a->y ? a->y + c0 : NULL;
    e->out = a->out + c0;
    e->stream = a->stream;
}

/* The sweeps' view of channels c0..c0+tc-1 of the call. */
TRAINOPT__FORCE_INLINE void trainopt__bn_src_of(const trainopt__bn_args *a, size_t c0, size_t tc, trainopt__bn_src *src) {
    src->s = a->s;
    src->cs = a->cs;
    src->tc = tc;
    src->x = a->x + c0;
    src->dy = a->dy ? a->dy + c0 : NULL;
    src->y = a->y ? a->y + c0 : NULL;
}

/* The channels [c0, c0 + TILE) of the forward pass, their state on the stack: each
   tile's results depend on its channels only (>>parallel-batchnorm runs them apart). */
TRAINOPT__DRIVER void trainopt__bn_train_nhwc_tile(const trainopt__bn_args *a, const trainopt__bn_blocks *bl, size_t c0) {
    const double m = (double)a->n * (double)a->s;
    const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, a->cs - c0);
    trainopt__bn_state st;
    trainopt__bn_tile t;
    trainopt__bn_src src;
    trainopt__bn_ew e;
    size_t j;
    trainopt__bn_tile_state(&t, &st);
    for (j = 0; j < 2 * TRAINOPT__BN_TILE; j++) t.d[j] = 0.0;
    trainopt__bn_src_of(a, c0, tc, &src);
    trainopt__bn_state_stats(&st, bl, &src);
    for (j = 0; j < tc; j++) {
        const size_t c = c0 + j;
        trainopt__bn_finish(a, m, t.d[2 * j], t.d[2 * j + 1], a->gamma ? a->gamma[c] : 1.0f,
                            a->beta ? a->beta[c] : 0.0f, a->save_mean + c, a->save_invstd + c,
                            a->running_mean ? a->running_mean + c : NULL, a->running_var ? a->running_var + c : NULL,
                            t.coef[0] + j, t.coef[1] + j, t.coef[2] + j);
    }
    trainopt__bn_ew_of(a, st.coef, c0, tc, &e);
    trainopt__bn_elem(&e, 0, a->relu);
}

TRAINOPT__DRIVER void trainopt__bn_train_nhwc(const trainopt__bn_args *a) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(a->n, a->s);
    const double m = (double)a->n * (double)a->s;
    const size_t cs = a->cs;
    trainopt__bn_state st;
    trainopt__bn_src src;
    trainopt__bn_ew e;
    size_t c0, j;
    if (cs > TRAINOPT__BN_TILE && a->in_out) {
        trainopt__bn_out_state(a->out, cs, &st);
        for (j = 0; j < 2 * cs; j++) trainopt__bn_setd(&st, j, 0.0);
        trainopt__bn_src_of(a, 0, cs, &src);
        trainopt__bn_state_stats(&st, &bl, &src);
        for (j = 0; j < cs; j++)
            trainopt__bn_finish(a, m, trainopt__bn_getd(&st, 2 * j), trainopt__bn_getd(&st, 2 * j + 1),
                                a->gamma ? a->gamma[j] : 1.0f, a->beta ? a->beta[j] : 0.0f, a->save_mean + j,
                                a->save_invstd + j, a->running_mean ? a->running_mean + j : NULL,
                                a->running_var ? a->running_var + j : NULL, st.coef[0] + j, st.coef[1] + j,
                                st.coef[2] + j);
        trainopt__bn_ew_of(a, st.coef, 0, cs, &e);
        trainopt__bn_elem_out(&e, 0, a->relu);
        return;
    }
    for (c0 = 0; c0 < cs; c0 += TRAINOPT__BN_TILE) trainopt__bn_train_nhwc_tile(a, &bl, c0);
}

/* The channels [c0, c0 + TILE) of the backward pass, as trainopt__bn_train_nhwc_tile. */
TRAINOPT__DRIVER void trainopt__bn_backward_nhwc_tile(const trainopt__bn_args *a, const trainopt__bn_blocks *bl, size_t c0) {
    const double m = (double)a->n * (double)a->s;
    const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, a->cs - c0);
    trainopt__bn_state st;
    trainopt__bn_tile t;
    trainopt__bn_src src;
    trainopt__bn_ew e;
    size_t j;
    trainopt__bn_tile_state(&t, &st);
    for (j = 0; j < TRAINOPT__BN_TILE; j++) t.mu[j] = j < tc ? a->mean[c0 + j] : 0.0f;
    trainopt__bn_src_of(a, c0, tc, &src);
    trainopt__bn_state_dots(&st, bl, &src, a->relu);
    for (j = 0; j < tc; j++) {
        const size_t c = c0 + j;
        t.coef[0][j] = a->mean[c];
        trainopt__bn_backward_coefs(m, t.d[2 * j], t.d[2 * j + 1], a->invstd[c], a->gamma ? a->gamma[c] : 1.0f,
                                    a->dgamma ? a->dgamma + c : NULL, a->dbeta ? a->dbeta + c : NULL,
                                    t.coef[1] + j, t.coef[2] + j, t.coef[3] + j);
    }
    trainopt__bn_ew_of(a, st.coef, c0, tc, &e);
    trainopt__bn_elem(&e, 1, a->relu);
}

TRAINOPT__DRIVER void trainopt__bn_backward_nhwc(const trainopt__bn_args *a) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(a->n, a->s);
    const double m = (double)a->n * (double)a->s;
    const size_t cs = a->cs;
    trainopt__bn_state st;
    trainopt__bn_src src;
    trainopt__bn_ew e;
    size_t c0, j;
    if (cs > TRAINOPT__BN_TILE && a->in_out) {
        trainopt__bn_out_state(a->out, cs, &st);
        for (j = 0; j < st.stride; j++) st.mu[j] = j < cs ? a->mean[j] : 0.0f;
        trainopt__bn_src_of(a, 0, cs, &src);
        trainopt__bn_state_dots(&st, &bl, &src, a->relu);
        for (j = 0; j < cs; j++) {
            st.coef[0][j] = a->mean[j];
            trainopt__bn_backward_coefs(m, trainopt__bn_getd(&st, 2 * j), trainopt__bn_getd(&st, 2 * j + 1),
                                        a->invstd[j], a->gamma ? a->gamma[j] : 1.0f, a->dgamma ? a->dgamma + j : NULL,
                                        a->dbeta ? a->dbeta + j : NULL, st.coef[1] + j, st.coef[2] + j, st.coef[3] + j);
        }
        trainopt__bn_ew_of(a, st.coef, 0, cs, &e);
        trainopt__bn_elem_out(&e, 1, a->relu);
        return;
    }
    for (c0 = 0; c0 < cs; c0 += TRAINOPT__BN_TILE) trainopt__bn_backward_nhwc_tile(a, &bl, c0);
}

/* Inference coefficients: y = fma(x - mean, a, b), a = gamma/sqrt(var + eps) in double. */
TRAINOPT__FORCE_INLINE void trainopt__bn_infer_coefs(double eps, float gamma, float beta, float mean, float var,
                                                     float *mu, float *a, float *b) {
    *mu = mean;
    *a = trainopt__bn_f((double)gamma / sqrt((double)var + eps));
    *b = beta;
}

/* S = 1 is the same memory in both layouts; NHWC (lanes across channels) serves
   it, viewed as one image of N positions so that consecutive samples fill the 16
   partial sums. */
TRAINOPT__FORCE_INLINE trainopt_layout trainopt__bn_view(const trainopt_bn_shape *s, size_t *n, size_t *sp) {
    if (s->spatial == 1) {
        *n = 1;
        *sp = s->n;
        return TRAINOPT_NHWC;
    }
    *n = s->n;
    *sp = s->spatial;
    return s->layout;
}

/* Whether the NHWC passes may keep their state in the output array `out` of
   total floats: it is not also an input, and it is large enough. */
TRAINOPT__FORCE_INLINE int trainopt__bn_out_usable(const float *out, const float *a, const float *b, const float *c,
                                                   size_t total, size_t channels) {
    return out != a && out != b && out != c && channels < SIZE_MAX / 64 && total >= trainopt__bn_scratch_floats(channels);
}

/* forward_infer's elementwise passes: rows [r0, r1), channels [0, tc). */
TRAINOPT__FORCE_INLINE void trainopt__bn_infer_ew(float *const *coef, size_t r0, size_t r1, size_t cs, size_t tc,
                                                  const float *x, float *y, int stream, trainopt__bn_ew *e) {
    int j;
    for (j = 0; j < 4; j++) e->coef[j] = coef[j];
    e->r0 = r0;
    e->r1 = r1;
    e->cs = cs;
    e->tc = tc;
    e->x = x;
    e->dy = e->y = NULL;
    e->out = y;
    e->stream = stream;
}

/* ---- public functions ---- */

/* Validates a forward_train call and fills *a (its view: *nhwc); a->cs == 0 when there
   is nothing to do. Shared with the threaded form (>>parallel-batchnorm). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__bn_train_setup(const trainopt_bn_config *c, const trainopt_bn_shape *sp,
                                                                const float *x, const float *gamma, const float *beta,
                                                                float *running_mean, float *running_var, float *y,
                                                                float *save_mean, float *save_invstd, trainopt__bn_args *a,
                                                                int *nhwc, const char *fn) {
    static const char *const names[] = {"x", "y", "gamma", "beta", "running_mean", "running_var", "save_mean", "save_invstd"};
    trainopt_bn_shape s = *sp;
    trainopt__bn_span spans[8];
    size_t total, m;
    int i;
    trainopt_status st;
    memset(a, 0, sizeof *a);
    *nhwc = 0;
    st = trainopt__bn_check_config(c, &s, &total, &m, fn);
    if (st != TRAINOPT_OK) return st;
    if (total == 0) return TRAINOPT_OK;
    /* One value per channel: its unbiased variance (the running variance's m - 1)
       is undefined, so training cannot normalize it. Refused, as PyTorch does. */
    if (m == 1)
        return trainopt__once_fail(TRAINOPT_ERR_SHAPE, fn, "n*spatial == 1: one value per channel has no variance "
                                                           "(PyTorch: Expected more than 1 value per channel when training)");
    if (!x) return trainopt__once_null(fn, "x");
    if (!y) return trainopt__once_null(fn, "y");
    if (!save_mean) return trainopt__once_null(fn, "save_mean");
    if (!save_invstd) return trainopt__once_null(fn, "save_invstd");
    if (!running_mean != !running_var)
        return trainopt__once_fail(TRAINOPT_ERR_NULL, fn, "%s is NULL but %s is not (give both running statistics, or neither)",
                                   running_mean ? "running_var" : "running_mean", running_mean ? "running_mean" : "running_var");
    spans[0].p = x; spans[1].p = y; spans[2].p = gamma; spans[3].p = beta;
    spans[4].p = running_mean; spans[5].p = running_var; spans[6].p = save_mean; spans[7].p = save_invstd;
    for (i = 0; i < 8; i++) {
        spans[i].bytes = (i < 2 ? total : s.c) * sizeof(float);
        spans[i].role = i == 0 ? TRAINOPT__BN_EW_IN : i == 1 ? TRAINOPT__BN_EW_OUT : i < 4 ? TRAINOPT__BN_IN : TRAINOPT__BN_OUT;
    }
    if ((st = trainopt__bn_check_overlap(spans, 8, names, fn)) != TRAINOPT_OK) return st;

    a->cs = s.c;
    a->eps = c->eps;
    a->momentum = c->momentum;
    a->relu = c->fuse_relu != 0;
    a->stream = total >= TRAINOPT_STREAM_BYTES / sizeof(float);
    a->x = x;
    a->gamma = gamma;
    a->beta = beta;
    a->running_mean = running_mean;
    a->running_var = running_var;
    a->save_mean = save_mean;
    a->save_invstd = save_invstd;
    a->out = y;
    *nhwc = trainopt__bn_view(&s, &a->n, &a->s) == TRAINOPT_NHWC;
    if (*nhwc) a->in_out = trainopt__bn_out_usable(y, x, x, x, total, s.c);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_batchnorm_forward_train(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                             const float *x, const float *gamma, const float *beta,
                                                             float *running_mean, float *running_var, float *y,
                                                             float *save_mean, float *save_invstd) {
    trainopt__bn_args a;
    int nhwc;
    const trainopt_status st = trainopt__bn_train_setup(c, &s, x, gamma, beta, running_mean, running_var, y, save_mean,
                                                        save_invstd, &a, &nhwc, "trainopt_batchnorm_forward_train");
    if (st != TRAINOPT_OK || a.cs == 0) return st;
    if (nhwc) trainopt__bn_train_nhwc(&a);
    else trainopt__bn_train_nchw(&a);
    if (a.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

/* Validates a forward_infer call: *total == 0 when there is nothing to do. Shared with
   the threaded form (>>parallel-batchnorm). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__bn_infer_setup(const trainopt_bn_config *c, const trainopt_bn_shape *s,
                                                                const float *x, const float *gamma, const float *beta,
                                                                const float *running_mean, const float *running_var,
                                                                const float *y, size_t *total, const char *fn) {
    static const char *const names[] = {"x", "y", "gamma", "beta", "running_mean", "running_var"};
    trainopt__bn_span spans[6];
    size_t m;
    int i;
    trainopt_status st = trainopt__bn_check_config(c, s, total, &m, fn);
    if (st != TRAINOPT_OK) return st;
    if (*total == 0) return TRAINOPT_OK;
    if (!x) return trainopt__once_null(fn, "x");
    if (!y) return trainopt__once_null(fn, "y");
    if (!running_mean) return trainopt__once_null(fn, "running_mean");
    if (!running_var) return trainopt__once_null(fn, "running_var");
    spans[0].p = x; spans[1].p = y; spans[2].p = gamma; spans[3].p = beta;
    spans[4].p = running_mean; spans[5].p = running_var;
    for (i = 0; i < 6; i++) {
        spans[i].bytes = (i < 2 ? *total : s->c) * sizeof(float);
        spans[i].role = i == 0 ? TRAINOPT__BN_EW_IN : i == 1 ? TRAINOPT__BN_EW_OUT : TRAINOPT__BN_IN;
    }
    return trainopt__bn_check_overlap(spans, 6, names, fn);
}

/* forward_infer's work on a validated call of total > 0 values (also the threaded form's
   without a hook). */
TRAINOPT__DRIVER void trainopt__bn_infer_serial(const trainopt_bn_config *c, trainopt_bn_shape s, const float *x,
                                                const float *gamma, const float *beta, const float *running_mean,
                                                const float *running_var, float *y, size_t total) {
    const size_t m = s.n * s.spatial;
    size_t n, sp, ch, r, j, c0;
    int relu, stream;
    relu = c->fuse_relu != 0;
    stream = total >= TRAINOPT_STREAM_BYTES / sizeof(float);
    if (trainopt__bn_view(&s, &n, &sp) == TRAINOPT_NCHW) {
        /* Elementwise, so nearly in memory order (channel by channel costs TLB and
           prefetch misses): a tile of channels at a time, image by image. */
        float mu[TRAINOPT__BN_TILE], a[TRAINOPT__BN_TILE], b[TRAINOPT__BN_TILE];
        for (c0 = 0; c0 < s.c; c0 += TRAINOPT__BN_TILE) {
            const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, s.c - c0);
            for (j = 0; j < tc; j++) {
                ch = c0 + j;
                trainopt__bn_infer_coefs(c->eps, gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, running_mean[ch],
                                         running_var[ch], mu + j, a + j, b + j);
            }
            for (r = 0; r < n; r++)
                for (j = 0; j < tc; j++) {
                    const size_t o = (r * s.c + c0 + j) * sp;
                    if (relu) trainopt__bn_row_norm(x + o, y + o, sp, mu[j], a[j], b[j], 1, stream);
                    else trainopt__bn_row_norm(x + o, y + o, sp, mu[j], a[j], b[j], 0, stream);
                }
        }
    } else if (s.c > TRAINOPT__BN_TILE && y != x && m >= 4) {
        /* Whole rows, the coefficients in rows 0..2 of y (see >>batchnorm NHWC). */
        float *coef[4];
        trainopt__bn_ew e;
        coef[0] = y; coef[1] = y + s.c; coef[2] = y + 2 * s.c; coef[3] = y + 3 * s.c;
        for (ch = 0; ch < s.c; ch++)
            trainopt__bn_infer_coefs(c->eps, gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, running_mean[ch],
                                     running_var[ch], coef[0] + ch, coef[1] + ch, coef[2] + ch);
        trainopt__bn_infer_ew(coef, 0, m, s.c, s.c, x, y, stream, &e);
        trainopt__bn_elem_out(&e, 0, relu);
    } else {
        float coef[3][TRAINOPT__BN_TILE];
        float *cp[4];
        trainopt__bn_ew e;
        cp[0] = coef[0]; cp[1] = coef[1]; cp[2] = coef[2]; cp[3] = NULL;
        for (c0 = 0; c0 < s.c; c0 += TRAINOPT__BN_TILE) {
            const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, s.c - c0);
            for (j = 0; j < tc; j++) {
                ch = c0 + j;
                trainopt__bn_infer_coefs(c->eps, gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, running_mean[ch],
                                         running_var[ch], coef[0] + j, coef[1] + j, coef[2] + j);
            }
            trainopt__bn_infer_ew(cp, 0, m, s.c, tc, x + c0, y + c0, stream, &e);
            trainopt__bn_elem(&e, 0, relu);
        }
    }
    if (stream) trainopt__stream_fence();
}

TRAINOPT__KERNEL_API trainopt_status trainopt_batchnorm_forward_infer(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                             const float *x, const float *gamma, const float *beta,
                                                             const float *running_mean, const float *running_var,
                                                             float *y) {
    size_t total;
    const trainopt_status st = trainopt__bn_infer_setup(c, &s, x, gamma, beta, running_mean, running_var, y, &total,
                                                        "trainopt_batchnorm_forward_infer");
    if (st != TRAINOPT_OK || total == 0) return st;
    trainopt__bn_infer_serial(c, s, x, gamma, beta, running_mean, running_var, y, total);
    return TRAINOPT_OK;
}

/* Validates a backward call and fills *a (its view: *nhwc); a->cs == 0 when there is
   nothing to do. Shared with the threaded form (>>parallel-batchnorm). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__bn_backward_setup(const trainopt_bn_config *c, const trainopt_bn_shape *sp,
                                                                   const float *x, const float *dy, const float *gamma,
                                                                   const float *save_mean, const float *save_invstd,
                                                                   const float *y, float *dx, float *dgamma, float *dbeta,
                                                                   trainopt__bn_args *a, int *nhwc, const char *fn) {
    static const char *const names[] = {"x", "dy", "y", "dx", "gamma", "save_mean", "save_invstd", "dgamma", "dbeta"};
    trainopt_bn_shape s = *sp;
    trainopt__bn_span spans[9];
    size_t total, m;
    int relu, i;
    trainopt_status st;
    memset(a, 0, sizeof *a);
    *nhwc = 0;
    st = trainopt__bn_check_config(c, &s, &total, &m, fn);
    if (st != TRAINOPT_OK) return st;
    if (total == 0) return TRAINOPT_OK;
    relu = c->fuse_relu != 0;
    if (!x) return trainopt__once_null(fn, "x");
    if (!dy) return trainopt__once_null(fn, "dy");
    if (!save_mean) return trainopt__once_null(fn, "save_mean");
    if (!save_invstd) return trainopt__once_null(fn, "save_invstd");
    if (!dx) return trainopt__once_null(fn, "dx");
    if (relu && !y) return trainopt__once_null(fn, "y (needed: fuse_relu)");
    if (!relu) y = NULL; /* not read */
    spans[0].p = x; spans[1].p = dy; spans[2].p = y; spans[3].p = dx;
    spans[4].p = gamma; spans[5].p = save_mean; spans[6].p = save_invstd; spans[7].p = dgamma; spans[8].p = dbeta;
    for (i = 0; i < 9; i++) {
        spans[i].bytes = (i < 4 ? total : s.c) * sizeof(float);
        spans[i].role = i < 3 ? TRAINOPT__BN_EW_IN : i == 3 ? TRAINOPT__BN_EW_OUT : i < 7 ? TRAINOPT__BN_IN : TRAINOPT__BN_OUT;
    }
    if ((st = trainopt__bn_check_overlap(spans, 9, names, fn)) != TRAINOPT_OK) return st;

    a->cs = s.c;
    a->relu = relu;
    a->stream = total >= TRAINOPT_STREAM_BYTES / sizeof(float);
    a->x = x;
    a->dy = dy;
    a->y = y;
    a->gamma = gamma;
    a->mean = save_mean;
    a->invstd = save_invstd;
    a->out = dx;
    a->dgamma = dgamma;
    a->dbeta = dbeta;
    *nhwc = trainopt__bn_view(&s, &a->n, &a->s) == TRAINOPT_NHWC;
    if (*nhwc) a->in_out = trainopt__bn_out_usable(dx, x, dy, y, total, s.c);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_batchnorm_backward(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                        const float *x, const float *dy, const float *gamma,
                                                        const float *save_mean, const float *save_invstd,
                                                        const float *y, float *dx, float *dgamma, float *dbeta) {
    trainopt__bn_args a;
    int nhwc;
    const trainopt_status st = trainopt__bn_backward_setup(c, &s, x, dy, gamma, save_mean, save_invstd, y, dx, dgamma,
                                                           dbeta, &a, &nhwc, "trainopt_batchnorm_backward");
    if (st != TRAINOPT_OK || a.cs == 0) return st;
    if (nhwc) trainopt__bn_backward_nhwc(&a);
    else trainopt__bn_backward_nchw(&a);
    if (a.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

/* Per-channel scale and shift for inference: y = x*scale + shift equals
   forward_infer to a few ulps. Computed in double, rounded once; shift uses the
   rounded scale so that the pair is consistent. */
TRAINOPT__KERNEL_API trainopt_status trainopt_batchnorm_fold(const trainopt_bn_config *c, size_t channels, const float *gamma,
                                                    const float *beta, const float *running_mean,
                                                    const float *running_var, float *scale, float *shift) {
    static const char fn[] = "trainopt_batchnorm_fold";
    static const char *const names[] = {"gamma", "beta", "running_mean", "running_var", "scale", "shift"};
    trainopt__bn_span spans[6];
    trainopt_bn_shape shape;
    size_t total, m, ch;
    int i;
    trainopt_status st;
    shape.n = 1;
    shape.c = channels;
    shape.spatial = 1;
    shape.layout = TRAINOPT_NCHW;
    if ((st = trainopt__bn_check_config(c, &shape, &total, &m, fn)) != TRAINOPT_OK) return st;
    if (channels == 0) return TRAINOPT_OK;
    if (!running_mean) return trainopt__once_null(fn, "running_mean");
    if (!running_var) return trainopt__once_null(fn, "running_var");
    if (!scale) return trainopt__once_null(fn, "scale");
    if (!shift) return trainopt__once_null(fn, "shift");
    spans[0].p = gamma; spans[1].p = beta; spans[2].p = running_mean; spans[3].p = running_var;
    spans[4].p = scale; spans[5].p = shift;
    for (i = 0; i < 6; i++) {
        spans[i].bytes = channels * sizeof(float);
        spans[i].role = i < 4 ? TRAINOPT__BN_EW_IN : TRAINOPT__BN_EW_OUT;
    }
    if ((st = trainopt__bn_check_overlap(spans, 6, names, fn)) != TRAINOPT_OK) return st;
    for (ch = 0; ch < channels; ch++) {
        float mu, a, b;
        trainopt__bn_infer_coefs(c->eps, gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, running_mean[ch],
                                 running_var[ch], &mu, &a, &b);
        scale[ch] = a;
        shift[ch] = trainopt__bn_f(fma(-(double)mu, (double)a, (double)b));
    }
    return TRAINOPT_OK;
}
