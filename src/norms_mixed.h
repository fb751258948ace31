/* >>norms-mixed: layer, RMS and group norm with bf16 or fp16 activations (x, y, dy, dx
   in one trainopt_dtype; weight, bias, mean, rstd and the weight gradients fp32). The
   result is the fp32 kernel's (>>norms) on the widened inputs, rounded to nearest
   even once at the end: every sum below is one of the fp32 kernel's canonical sums,
   fed the same floats in the same order. bf16 and fp16 are widened in registers, never
   through stack blocks: the forward statistics run batch norm's block sweeps over the
   2-byte values (trainopt__nmp_block_stats), the elementwise passes and the backward
   sums the fp32 kernel's own loops with a dtype constant (trainopt__norm_load), y and
   dx rounded as they are stored. TRAINOPT_F32 is the fp32 kernel itself. */

/* ---- forward statistics, widened in registers ---- */

/* One vector of k values at o of the 2-byte x into a block's sums: sum(x) (dev 0), or
   sum(x - m) and sum((x - m)^2) (dev 1), as trainopt__bn_accum's kinds SUM and DEV.
   Lanes past k add +0. */
TRAINOPT__FORCE_INLINE void trainopt__nmp_accum(const void *x, int dt, size_t o, size_t k, int dev, trainopt__vf m,
                                                trainopt__vf *s1, trainopt__vf *s2) {
    const trainopt__vf xv = trainopt__norm_load(x, dt, o, k);
    if (!dev) {
        *s1 = trainopt__v_add(*s1, xv);
    } else {
        const trainopt__vf d = trainopt__v_keep_first(trainopt__v_sub(xv, m), k);
        *s1 = trainopt__v_add(*s1, d);
        *s2 = trainopt__v_fma(d, d, *s2);
    }
}

/* trainopt__bn_group_sweep over G blocks of one row each (stream j: len values from
   element off[j]): value i of a block in partial i % 16, the same loop order. Batch
   norm's sweep reads floats only, hence this copy for 2-byte values. */
TRAINOPT__FORCE_INLINE void trainopt__nmp_sweep(const void *x, int dt, const size_t *off, int G, size_t len, int dev,
                                                const trainopt__vf *m, trainopt__acc16 *s1, trainopt__acc16 *s2) {
    const size_t full = len / 16 * 16;
    size_t i;
    int j, v;
    for (i = 0; i < full; i += 16)
        TRAINOPT__UNROLL
        for (j = 0; j < G; j++)
            TRAINOPT__UNROLL
            for (v = 0; v < TRAINOPT__ACC_VECS; v++)
                trainopt__nmp_accum(x, dt, off[j] + i + (size_t)v * TRAINOPT_SIMD_LANES, TRAINOPT_SIMD_LANES, dev, m[j],
                                    &s1[j].v[v], &s2[j].v[v]);
    if (full < len)
        TRAINOPT__UNROLL
        for (j = 0; j < G; j++)
            TRAINOPT__UNROLL
            for (v = 0; v < TRAINOPT__ACC_VECS; v++) {
                i = full + (size_t)v * TRAINOPT_SIMD_LANES;
                if (i < len)
                    trainopt__nmp_accum(x, dt, off[j] + i, trainopt__bn_min(len - i, TRAINOPT_SIMD_LANES), dev, m[j],
                                        &s1[j].v[v], &s2[j].v[v]);
            }
}

/* The double statistics of G rows from row r, len values each, rows len apart from x
   (dtype dt, a constant): trainopt__norm_stats on the widened rows. Its blocks are a
   row's segments of BN_BLOCK values (trainopt__bn_blocks_of(1, len)), each swept as
   trainopt__bn_group_stats does (float mean, then the centered sums from cache) and
   merged in order. */
TRAINOPT__FORCE_INLINE void trainopt__nmp_block_stats(const void *x, int dt, size_t len, size_t r, int G, double *mean,
                                                      double *m2) {
    trainopt__acc16 a1[TRAINOPT__BN_GROUP], a2[TRAINOPT__BN_GROUP];
    trainopt__vf m[TRAINOPT__BN_GROUP];
    size_t off[TRAINOPT__BN_GROUP], s0, n;
    float mb[TRAINOPT__BN_GROUP];
    double count = 0.0;
    int j;
    for (j = 0; j < G; j++) mean[j] = m2[j] = 0.0;
    for (s0 = 0; s0 < len; s0 += TRAINOPT__BN_BLOCK) {
        n = trainopt__bn_min(TRAINOPT__BN_BLOCK, len - s0);
        TRAINOPT__UNROLL
        for (j = 0; j < TRAINOPT__BN_GROUP; j++) {
            trainopt__acc16_zero(&a1[j]);
            trainopt__acc16_zero(&a2[j]);
            m[j] = trainopt__v_zero();
            off[j] = (r + (size_t)j) * len + s0;
        }
        trainopt__nmp_sweep(x, dt, off, G, n, 0, m, a1, a2);
        TRAINOPT__UNROLL
        for (j = 0; j < G; j++) {
            mb[j] = trainopt__acc16_sum(&a1[j]) / (float)n; /* bn_group_stats' nb (rows 1): exact */
            m[j] = trainopt__v_set1(mb[j]);
            trainopt__acc16_zero(&a1[j]);
        }
        trainopt__nmp_sweep(x, dt, off, G, n, 1, m, a1, a2);
        for (j = 0; j < G; j++)
            trainopt__bn_merge(count, (double)n, mb[j], trainopt__acc16_sum(&a1[j]), trainopt__acc16_sum(&a2[j]), mean + j,
                               m2 + j);
        count += (double)n;
    }
}

/* g (GROUP or 1) rows' statistics, the dtype and g made constants. */
TRAINOPT__DRIVER void trainopt__nmp_stats(const void *x, trainopt_dtype dt, size_t len, size_t r, int g, double *mean,
                                          double *m2) {
    if (dt == TRAINOPT_BF16) {
        if (g > 1) trainopt__nmp_block_stats(x, TRAINOPT_BF16, len, r, TRAINOPT__BN_GROUP, mean, m2);
        else trainopt__nmp_block_stats(x, TRAINOPT_BF16, len, r, 1, mean, m2);
    } else {
        if (g > 1) trainopt__nmp_block_stats(x, TRAINOPT_F16, len, r, TRAINOPT__BN_GROUP, mean, m2);
        else trainopt__nmp_block_stats(x, TRAINOPT_F16, len, r, 1, mean, m2);
    }
}

/* ---- layer and RMS norm ---- */

/* Columns whose weight-gradient double sums live on the stack: a call of more columns
   keeps them in dx's last rows, or without dx sweeps the rows' sums once per tile
   (the same values, so the same bits). */
#define TRAINOPT__NMP_TILE 512

typedef struct {
    size_t rows, cols;
    double eps;
    int rms;
    trainopt_dtype dt;
    const void *x, *dy;
    const float *w, *b, *mean, *rstd;
    void *out;
    float *save_mean, *save_rstd, *dw, *db;
} trainopt__nmp_args;

/* One row's y from the 2-byte x (row pointers): trainopt__norm_row_pass's operations,
   y rounded as it is stored; each affine kind its own loop. */
TRAINOPT__FORCE_INLINE void trainopt__nmp_row_as(const trainopt__norm_row *rc, const void *x, int dt, const float *w,
                                                 const float *b, void *out, size_t len, int affine, const void *next_x) {
    switch (affine) {
    case 0: trainopt__norm_row_body(rc, x, dt, NULL, NULL, NULL, out, len, 0, 0, 0, next_x); break;
    case TRAINOPT__NORM_W: trainopt__norm_row_body(rc, x, dt, NULL, w, NULL, out, len, 0, TRAINOPT__NORM_W, 0, next_x); break;
    case TRAINOPT__NORM_B: trainopt__norm_row_body(rc, x, dt, NULL, NULL, b, out, len, 0, TRAINOPT__NORM_B, 0, next_x); break;
    default: trainopt__norm_row_body(rc, x, dt, NULL, w, b, out, len, 0, TRAINOPT__NORM_W | TRAINOPT__NORM_B, 0, next_x);
    }
}

TRAINOPT__DRIVER void trainopt__nmp_row_pass(const trainopt__norm_row *rc, const void *x, trainopt_dtype dt,
                                             const float *w, const float *b, void *out, size_t len, int affine,
                                             const void *next_x) {
    const trainopt__norm_row local = *rc;
    if (dt == TRAINOPT_BF16) trainopt__nmp_row_as(&local, x, TRAINOPT_BF16, w, b, out, len, affine, next_x);
    else trainopt__nmp_row_as(&local, x, TRAINOPT_F16, w, b, out, len, affine, next_x);
}

/* Forward, as trainopt__norm_forward: GROUP rows' statistics at a time, then each
   row's y (x may be y: a row's y is written after its statistics and its own reads). */
TRAINOPT__DRIVER void trainopt__nmp_forward(const trainopt__nmp_args *p) {
    const size_t whole = p->cols > TRAINOPT__NORM_SMALL_ROW ? 0 : p->rows - p->rows % TRAINOPT__BN_GROUP;
    const size_t es = trainopt__dtype_size(p->dt);
    const int affine = (p->w ? TRAINOPT__NORM_W : 0) | (p->b ? TRAINOPT__NORM_B : 0);
    const unsigned char *x = (const unsigned char *)p->x;
    unsigned char *y = (unsigned char *)p->out;
    double mean[TRAINOPT__BN_GROUP], m2[TRAINOPT__BN_GROUP], rstd;
    trainopt__norm_row rc;
    size_t r;
    int g, j;
    for (r = 0; r < p->rows; r += (size_t)g) {
        g = r < whole ? TRAINOPT__BN_GROUP : 1;
        trainopt__nmp_stats(p->x, p->dt, p->cols, r, g, mean, m2);
        for (j = 0; j < g; j++) {
            const size_t o = (r + (size_t)j) * p->cols * es, next = r + (size_t)g + (size_t)j; /* row j of the next group */
            trainopt__norm_row_finish((double)p->cols, p->eps, mean[j], m2[j], p->rms, &rc, &rstd);
            if (p->save_mean) p->save_mean[r + (size_t)j] = rc.mu;
            if (p->save_rstd) p->save_rstd[r + (size_t)j] = rc.a;
            trainopt__nmp_row_pass(&rc, x + o, p->dt, p->w, p->b, y + o, p->cols, affine,
                                   next < p->rows ? x + next * p->cols * es : NULL);
        }
    }
}

/* trainopt__norm_sums on len bf16 or fp16 values of x and dy from index at, widened in
   registers: the same floats in the same order. */
TRAINOPT__DRIVER void trainopt__nmp_sums(const trainopt__nmp_args *p, size_t at, size_t len, float mu, double *sum) {
    const size_t es = trainopt__dtype_size(p->dt);
    const unsigned char *x = (const unsigned char *)p->x + at * es, *dy = (const unsigned char *)p->dy + at * es;
    if (p->dt == TRAINOPT_BF16) {
        if (p->w) trainopt__norm_sums_body(x, dy, TRAINOPT_BF16, p->w, mu, len, 1, sum);
        else trainopt__norm_sums_body(x, dy, TRAINOPT_BF16, NULL, mu, len, 0, sum);
    } else {
        if (p->w) trainopt__norm_sums_body(x, dy, TRAINOPT_F16, p->w, mu, len, 1, sum);
        else trainopt__norm_sums_body(x, dy, TRAINOPT_F16, NULL, mu, len, 0, sum);
    }
}

/* One row's dx from the 2-byte x and dy (row pointers), the dtype and weight made
   constants: trainopt__norm_bw_dx's operations, dx rounded as it is stored. */
TRAINOPT__DRIVER void trainopt__nmp_dx_pass(const trainopt__norm_row *rc, const void *x, const void *dy, trainopt_dtype dt,
                                            const float *w, void *out, size_t len) {
    const trainopt__norm_row local = *rc;
    if (dt == TRAINOPT_BF16) {
        if (w) trainopt__norm_row_body(&local, x, TRAINOPT_BF16, dy, w, NULL, out, len, 1, TRAINOPT__NORM_W, 0, NULL);
        else trainopt__norm_row_body(&local, x, TRAINOPT_BF16, dy, NULL, NULL, out, len, 1, 0, 0, NULL);
    } else {
        if (w) trainopt__norm_row_body(&local, x, TRAINOPT_F16, dy, w, NULL, out, len, 1, TRAINOPT__NORM_W, 0, NULL);
        else trainopt__norm_row_body(&local, x, TRAINOPT_F16, dy, NULL, NULL, out, len, 1, 0, 0, NULL);
    }
}

/* Row r's backward coefficients (trainopt__norm_bw_rows on the widened row); with
   dx, the row's dx too, as trainopt__norm_bw_dx. */
TRAINOPT__DRIVER void trainopt__nmp_bw_row(const trainopt__nmp_args *p, size_t r, int dx, trainopt__norm_row *rc) {
    const size_t base = r * p->cols, at = base * trainopt__dtype_size(p->dt);
    const float mu = p->rms ? 0.0f : p->mean[r];
    double sum[3] = {0.0, 0.0, 0.0};
    trainopt__nmp_sums(p, base, p->cols, mu, sum);
    trainopt__norm_backward_row((double)p->cols, sum, mu, p->rstd[r], p->rms, rc);
    if (dx)
        trainopt__nmp_dx_pass(rc, (const unsigned char *)p->x + at, (const unsigned char *)p->dy + at, p->dt, p->w,
                              (unsigned char *)p->out + at, p->cols);
}

/* The fused sweep of the fp32 kernel (trainopt__norm_wgrad_dx; trainopt__norm_wgrad when
   dxs is NULL) on the block of nr rows from row r0, x and dy widened and dx rounded in
   registers: the same floats and operations. */
TRAINOPT__DRIVER void trainopt__nmp_wgrad(const trainopt__nmp_args *p, size_t r0, size_t nr, size_t c0, size_t c1,
                                          const trainopt__norm_row *rc, const trainopt__norm_wsum *ws, int first,
                                          const trainopt__norm_dxs *dxs) {
    const size_t at = r0 * p->cols * trainopt__dtype_size(p->dt);
    const unsigned char *x = (const unsigned char *)p->x + at, *dy = (const unsigned char *)p->dy + at;
    const int dx = dxs != NULL, weighted = dx && dxs->w != NULL;
    if (p->dt == TRAINOPT_BF16) {
        if (weighted) trainopt__norm_wgrad_body(x, dy, TRAINOPT_BF16, p->cols, rc, nr, c0, c1, ws, first, dxs, 1, 1, 0);
        else if (dx) trainopt__norm_wgrad_body(x, dy, TRAINOPT_BF16, p->cols, rc, nr, c0, c1, ws, first, dxs, 1, 0, 0);
        else trainopt__norm_wgrad_body(x, dy, TRAINOPT_BF16, p->cols, rc, nr, c0, c1, ws, first, NULL, 0, 0, 0);
    } else {
        if (weighted) trainopt__norm_wgrad_body(x, dy, TRAINOPT_F16, p->cols, rc, nr, c0, c1, ws, first, dxs, 1, 1, 0);
        else if (dx) trainopt__norm_wgrad_body(x, dy, TRAINOPT_F16, p->cols, rc, nr, c0, c1, ws, first, dxs, 1, 0, 0);
        else trainopt__norm_wgrad_body(x, dy, TRAINOPT_F16, p->cols, rc, nr, c0, c1, ws, first, NULL, 0, 0, 0);
    }
}

/* Backward. Without weight gradients, row by row. With them, as the fp32 kernel: every
   16-row block (NORM_ROWS) gets its rows' coefficients once, then one sweep of its
   columns gives their float sums (and dx), added in double in block order and rounded
   once. The columns' double sums go where the fp32 kernel keeps them: none for one
   block (straight to dweight, dbias); on the stack up to TILE columns; for more, with
   dx, in the last 8 rows of dx (16 bytes a column), whose dx is written last; without
   dx, a tile of TILE columns at a time, each tile sweeping the rows' sums again (the
   same values, so the same bits). */
TRAINOPT__DRIVER void trainopt__nmp_backward(const trainopt__nmp_args *p) {
    const size_t blocks = (p->rows + TRAINOPT__NORM_ROWS - 1) / TRAINOPT__NORM_ROWS, es = trainopt__dtype_size(p->dt);
    double stack_sums[2 * TRAINOPT__NMP_TILE];
    trainopt__norm_row rc[TRAINOPT__NORM_ROWS];
    trainopt__norm_wsum ws;
    trainopt__norm_dxs dxs;
    size_t r, r0, r1, c0, c1, ndx, tile = TRAINOPT__NMP_TILE, dx_end = p->rows;
    if (!p->dw && !p->db) {
        for (r = 0; r < p->rows; r++) trainopt__nmp_bw_row(p, r, 1, rc);
        return;
    }
    ws.dw = p->dw;
    ws.db = p->db;
    ws.tw = ws.tb = NULL;
    if (blocks == 1) {
        tile = p->cols;
    } else if (p->cols <= TRAINOPT__NMP_TILE || !p->out) {
        ws.tw = (unsigned char *)stack_sums;
        ws.tb = ws.tw + TRAINOPT__NMP_TILE * sizeof(double);
    } else {
        tile = p->cols;
        dx_end = p->rows - 8; /* rows > NORM_ROWS here; 8 rows of 2-byte values hold 2 doubles a column */
        ws.tw = (unsigned char *)p->out + dx_end * p->cols * es;
        ws.tb = ws.tw + p->cols * sizeof(double);
    }
    dxs.w = p->w;
    for (c0 = 0; c0 < p->cols; c0 = c1) {
        c1 = trainopt__bn_min(p->cols, c0 + tile);
        for (r0 = 0; r0 < p->rows; r0 = r1) {
            r1 = trainopt__bn_min(p->rows, r0 + TRAINOPT__NORM_ROWS);
            ndx = p->out && r0 < dx_end ? trainopt__bn_min(r1, dx_end) - r0 : 0;
            for (r = r0; r < r1; r++) trainopt__nmp_bw_row(p, r, 0, rc + (r - r0));
            dxs.out = ndx ? (unsigned char *)p->out + r0 * p->cols * es : NULL;
            dxs.nr = ndx;
            trainopt__nmp_wgrad(p, r0, r1 - r0, c0, c1, rc, &ws, r0 == 0, ndx ? &dxs : NULL);
        }
        if (ws.tw) trainopt__norm_wfinish(&ws, c0, c1);
    }
    for (r = dx_end; r < p->rows; r++) trainopt__nmp_bw_row(p, r, 1, rc);
}

/* ---- group norm (NCHW: group q = (sample, group) is one row of cpg*hw values) ---- */

typedef struct {
    size_t n, c, hw, groups, cpg;
    double eps;
    trainopt_dtype dt;
    const void *x, *dy;
    const float *w, *b, *mean, *rstd;
    void *out;
    float *save_mean, *save_rstd, *dw, *db;
} trainopt__gnmp_args;

/* y = fma(x - mu, a, b) over [o, o + len) of the 2-byte x (trainopt__bn_row_norm's
   operations, without streaming stores), y rounded as it is stored. */
TRAINOPT__FORCE_INLINE void trainopt__gnmp_run_norm(const void *x, int dt, void *y, size_t o, size_t len, float mu,
                                                    float a, float b) {
    const trainopt__vf vmu = trainopt__v_set1(mu), va = trainopt__v_set1(a), vb = trainopt__v_set1(b);
    const trainopt__vi none = trainopt__vi_set1(0u);
    const size_t end = o + len;
    size_t i;
    for (i = o; i + TRAINOPT_SIMD_LANES <= end; i += TRAINOPT_SIMD_LANES)
        trainopt__store_from_f32(y, dt, 0, i, TRAINOPT_SIMD_LANES,
                                 trainopt__bn_norm(trainopt__norm_load(x, dt, i, TRAINOPT_SIMD_LANES), vmu, va, vb, 0), none);
    if (i < end)
        trainopt__store_from_f32(y, dt, 0, i, end - i, trainopt__bn_norm(trainopt__norm_load(x, dt, i, end - i), vmu, va, vb, 0),
                                 none);
}

/* Forward of every group, as trainopt__gn_forward: GROUP groups' statistics at a
   time (trainopt__nmp_stats), then each group's channels with its coefficients. */
TRAINOPT__FORCE_INLINE void trainopt__gnmp_forward_body(const trainopt__gnmp_args *p, int dt) {
    const size_t rows = p->n * p->groups, len = p->cpg * p->hw;
    const size_t whole = len > TRAINOPT__NORM_SMALL_ROW ? 0 : rows - rows % TRAINOPT__BN_GROUP;
    double mean[TRAINOPT__BN_GROUP], m2[TRAINOPT__BN_GROUP], rstd;
    trainopt__norm_row rc;
    size_t q, cc;
    int g, j;
    for (q = 0; q < rows; q += (size_t)g) {
        g = q < whole ? TRAINOPT__BN_GROUP : 1;
        trainopt__nmp_stats(p->x, p->dt, len, q, g, mean, m2);
        for (j = 0; j < g; j++) {
            const size_t row = q + (size_t)j, gi = row % p->groups;
            trainopt__norm_row_finish((double)len, p->eps, mean[j], m2[j], 0, &rc, &rstd);
            if (p->save_mean) p->save_mean[row] = rc.mu;
            if (p->save_rstd) p->save_rstd[row] = rc.a;
            for (cc = 0; cc < p->cpg; cc++) {
                const size_t ch = gi * p->cpg + cc;
                const double ad = (p->w ? (double)p->w[ch] : 1.0) * rstd;
                const float a = trainopt__bn_f(ad);
                const float b = trainopt__bn_f(fma(-(mean[j] - (double)rc.mu), ad, p->b ? (double)p->b[ch] : 0.0));
                trainopt__gnmp_run_norm(p->x, dt, p->out, row * len + cc * p->hw, p->hw, rc.mu, a, b);
            }
        }
    }
}

TRAINOPT__DRIVER void trainopt__gnmp_forward(const trainopt__gnmp_args *p) {
    if (p->dt == TRAINOPT_BF16) trainopt__gnmp_forward_body(p, TRAINOPT_BF16);
    else trainopt__gnmp_forward_body(p, TRAINOPT_F16);
}

/* dx = fma(x - mu, k, fma(dy, a, c)) over [o, o + len) of the 2-byte x and dy
   (trainopt__bn_row_dx's operations, without relu or streaming stores), dx rounded as
   it is stored. */
TRAINOPT__FORCE_INLINE void trainopt__gnmp_run_dx(const void *x, const void *dy, int dt, void *dx, size_t o, size_t len,
                                                  trainopt__vf mu, trainopt__vf a, trainopt__vf k, trainopt__vf c) {
    const trainopt__vi none = trainopt__vi_set1(0u);
    const size_t end = o + len;
    size_t i;
    for (i = o; i + TRAINOPT_SIMD_LANES <= end; i += TRAINOPT_SIMD_LANES)
        trainopt__store_from_f32(dx, dt, 0, i, TRAINOPT_SIMD_LANES,
                                 trainopt__bn_dx(trainopt__norm_load(x, dt, i, TRAINOPT_SIMD_LANES),
                                                 trainopt__norm_load(dy, dt, i, TRAINOPT_SIMD_LANES), mu, a, k, c),
                                 none);
    if (i < end)
        trainopt__store_from_f32(dx, dt, 0, i, end - i,
                                 trainopt__bn_dx(trainopt__norm_load(x, dt, i, end - i), trainopt__norm_load(dy, dt, i, end - i),
                                                 mu, a, k, c),
                                 none);
}

/* Backward of channels [cc0, cc1) of group gi over every sample: trainopt__gn_backward_tile
   with x and dy widened in registers (each channel's sums trainopt__norm_sums' blocks
   from its start, the same floats in the same order) and dx rounded as it is stored. */
TRAINOPT__FORCE_INLINE void trainopt__gnmp_backward_body(const trainopt__gnmp_args *p, int dt, size_t gi, size_t cc0,
                                                         size_t cc1) {
    double tw[TRAINOPT__NORM_TILE], tb[TRAINOPT__NORM_TILE], s_dy[TRAINOPT__NORM_TILE], s_dot[TRAINOPT__NORM_TILE];
    const size_t len = p->cpg * p->hw, es = trainopt__dtype_size((trainopt_dtype)dt);
    const unsigned char *x = (const unsigned char *)p->x, *dy = (const unsigned char *)p->dy;
    const double inv = 1.0 / ((double)p->cpg * (double)p->hw);
    size_t n, cc;
    for (cc = 0; cc < cc1 - cc0; cc++) tw[cc] = tb[cc] = 0.0;
    for (n = 0; n < p->n; n++) {
        const size_t q = n * p->groups + gi, base = q * len;
        const float mu = p->mean[q];
        const double r = (double)p->rstd[q];
        double sum_g = 0.0, dot = 0.0, sum_d = 0.0, delta, k, c;
        for (cc = 0; cc < p->cpg; cc++) {
            const size_t ch = gi * p->cpg + cc, at = (base + cc * p->hw) * es;
            const double w = p->w ? (double)p->w[ch] : 1.0;
            double s[3] = {0.0, 0.0, 0.0};
            trainopt__norm_sums_body(x + at, dy + at, dt, NULL, mu, p->hw, 0, s);
            sum_g = fma(w, s[0], sum_g);
            dot = fma(w, s[1], dot);
            sum_d += s[2];
            if (cc >= cc0 && cc < cc1) {
                s_dy[cc - cc0] = s[0];
                s_dot[cc - cc0] = s[1];
            }
        }
        delta = sum_d * inv;
        k = -(r * r * r) * (fma(-delta, sum_g, dot) * inv);
        c = fma(-delta, k, -r * (sum_g * inv));
        for (cc = cc0; cc < cc1; cc++) {
            const size_t ch = gi * p->cpg + cc, t = cc - cc0;
            tb[t] += s_dy[t];
            tw[t] = fma(fma(-delta, s_dy[t], s_dot[t]), r, tw[t]);
            if (p->out)
                trainopt__gnmp_run_dx(p->x, p->dy, dt, p->out, base + cc * p->hw, p->hw, trainopt__v_set1(mu),
                                      trainopt__v_set1(trainopt__bn_f(r * (p->w ? (double)p->w[ch] : 1.0))),
                                      trainopt__v_set1(trainopt__bn_f(k)), trainopt__v_set1(trainopt__bn_f(c)));
        }
    }
    for (cc = cc0; cc < cc1; cc++) {
        const size_t ch = gi * p->cpg + cc;
        if (p->dw) p->dw[ch] = trainopt__bn_f(tw[cc - cc0]);
        if (p->db) p->db[ch] = trainopt__bn_f(tb[cc - cc0]);
    }
}

TRAINOPT__DRIVER void trainopt__gnmp_backward_tile(const trainopt__gnmp_args *p, size_t gi, size_t cc0, size_t cc1) {
    if (p->dt == TRAINOPT_BF16) trainopt__gnmp_backward_body(p, TRAINOPT_BF16, gi, cc0, cc1);
    else trainopt__gnmp_backward_body(p, TRAINOPT_F16, gi, cc0, cc1);
}

TRAINOPT__DRIVER void trainopt__gnmp_backward(const trainopt__gnmp_args *p) {
    size_t gi, cc0;
    for (gi = 0; gi < p->groups; gi++)
        for (cc0 = 0; cc0 < p->cpg; cc0 += TRAINOPT__NORM_TILE)
            trainopt__gnmp_backward_tile(p, gi, cc0, trainopt__bn_min(p->cpg, cc0 + TRAINOPT__NORM_TILE));
}

/* ---- validation ---- */

TRAINOPT__FORCE_INLINE trainopt_status trainopt__nmp_dtype(trainopt_dtype dtype, const char *fn) {
    if (!trainopt__dtype_ok(dtype))
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "dtype = %d is not a trainopt_dtype", (int)dtype);
    return TRAINOPT_OK;
}

/* Fills spans: the first nact arrays are activations of dtype, the rest floats. */
TRAINOPT__FORCE_INLINE void trainopt__nmp_spans(trainopt__bn_span *spans, int count, int nact, trainopt_dtype dtype,
                                                const void *const *ptrs, const size_t *elems, const int *roles) {
    int i;
    for (i = 0; i < count; i++) {
        spans[i].p = ptrs[i];
        spans[i].bytes = elems[i] * (i < nact ? trainopt__dtype_size(dtype) : sizeof(float));
        spans[i].role = roles[i];
    }
}

/* Forward of layer norm (rms 0) or RMS norm (rms 1; bias and mean NULL), rows of cols
   values or (group norm, gn non-NULL) its groups' rows. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__nmp_forward_check(size_t total, size_t wlen, size_t srows, const void *x,
                                                                 trainopt_dtype dtype, const float *weight,
                                                                 const float *bias, void *y, float *mean, float *rstd,
                                                                 const char *fn) {
    static const char *const names[] = {"x", "y", "weight", "bias", "mean", "rstd"};
    const int roles[] = {TRAINOPT__BN_EW_IN, TRAINOPT__BN_EW_OUT, TRAINOPT__BN_IN, TRAINOPT__BN_IN, TRAINOPT__BN_OUT, TRAINOPT__BN_OUT};
    trainopt__bn_span spans[6];
    const void *ptrs[6];
    size_t elems[6];
    if (!x) return trainopt__once_null(fn, "x");
    if (!y) return trainopt__once_null(fn, "y");
    ptrs[0] = x; ptrs[1] = y; ptrs[2] = weight; ptrs[3] = bias; ptrs[4] = mean; ptrs[5] = rstd;
    elems[0] = elems[1] = total; elems[2] = elems[3] = wlen; elems[4] = elems[5] = srows;
    trainopt__nmp_spans(spans, 6, 2, dtype, ptrs, elems, roles);
    return trainopt__bn_check_overlap(spans, 6, names, fn);
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__nmp_backward_check(size_t total, size_t wlen, size_t srows, int rms,
                                                                  const void *x, const void *dy, trainopt_dtype dtype,
                                                                  const float *weight, const float *mean,
                                                                  const float *rstd, void *dx, float *dweight,
                                                                  float *dbias, const char *fn) {
    static const char *const names[] = {"x", "dy", "dx", "weight", "mean", "rstd", "dweight", "dbias"};
    const int roles[] = {TRAINOPT__BN_IN, TRAINOPT__BN_IN, TRAINOPT__BN_OUT, TRAINOPT__BN_IN,
                         TRAINOPT__BN_IN, TRAINOPT__BN_IN, TRAINOPT__BN_OUT, TRAINOPT__BN_OUT};
    trainopt__bn_span spans[8];
    const void *ptrs[8];
    size_t elems[8];
    if (!x) return trainopt__once_null(fn, "x");
    if (!dy) return trainopt__once_null(fn, "dy");
    if (!rms && !mean) return trainopt__once_null(fn, "mean");
    if (!rstd) return trainopt__once_null(fn, "rstd");
    ptrs[0] = x; ptrs[1] = dy; ptrs[2] = dx; ptrs[3] = weight; ptrs[4] = mean; ptrs[5] = rstd;
    ptrs[6] = dweight; ptrs[7] = dbias;
    elems[0] = elems[1] = elems[2] = total;
    elems[3] = elems[6] = elems[7] = wlen;
    elems[4] = elems[5] = srows;
    trainopt__nmp_spans(spans, 8, 3, dtype, ptrs, elems, roles);
    return trainopt__bn_check_overlap(spans, 8, names, fn);
}

/* ---- public functions ---- */

TRAINOPT__FORCE_INLINE trainopt_status trainopt__nmp_forward_call(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                int rms, const void *x, trainopt_dtype dtype,
                                                                const float *weight, const float *bias, void *y,
                                                                float *mean, float *rstd, const char *fn) {
    trainopt__nmp_args a;
    size_t total;
    trainopt_status st = trainopt__norm_check(c, rows, cols, &total, fn);
    if (st != TRAINOPT_OK || (st = trainopt__nmp_dtype(dtype, fn)) != TRAINOPT_OK || total == 0) return st;
    if ((st = trainopt__nmp_forward_check(total, cols, rows, x, dtype, weight, bias, y, mean, rstd, fn)) != TRAINOPT_OK)
        return st;
    if (dtype == TRAINOPT_F32) {
        trainopt__norm_args f;
        st = trainopt__norm_forward_setup(c, rows, cols, rms, (const float *)x, weight, bias, (float *)y, mean, rstd, &f, fn);
        if (st != TRAINOPT_OK) return st;
        trainopt__norm_forward(&f);
        if (f.stream) trainopt__stream_fence();
        return TRAINOPT_OK;
    }
    memset(&a, 0, sizeof a);
    a.rows = rows;
    a.cols = cols;
    a.eps = c->eps;
    a.rms = rms;
    a.dt = dtype;
    a.x = x;
    a.w = weight;
    a.b = bias;
    a.out = y;
    a.save_mean = mean;
    a.save_rstd = rstd;
    trainopt__nmp_forward(&a);
    return TRAINOPT_OK;
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__nmp_backward_call(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                 int rms, const void *x, const void *dy,
                                                                 trainopt_dtype dtype, const float *weight,
                                                                 const float *mean, const float *rstd, void *dx,
                                                                 float *dweight, float *dbias, const char *fn) {
    trainopt__nmp_args a;
    size_t total;
    trainopt_status st = trainopt__norm_check(c, rows, cols, &total, fn);
    if (st != TRAINOPT_OK || (st = trainopt__nmp_dtype(dtype, fn)) != TRAINOPT_OK || total == 0) return st;
    st = trainopt__nmp_backward_check(total, cols, rows, rms, x, dy, dtype, weight, mean, rstd, dx, dweight, dbias, fn);
    if (st != TRAINOPT_OK || (!dx && !dweight && !dbias)) return st;
    if (dtype == TRAINOPT_F32)
        return trainopt__norm_backward_call(c, rows, cols, rms, (const float *)x, (const float *)dy, weight, mean, rstd,
                                            (float *)dx, dweight, dbias, fn);
    memset(&a, 0, sizeof a);
    a.rows = rows;
    a.cols = cols;
    a.rms = rms;
    a.dt = dtype;
    a.x = x;
    a.dy = dy;
    a.w = weight;
    a.mean = mean;
    a.rstd = rstd;
    a.out = dx;
    a.dw = dweight;
    a.db = dbias;
    trainopt__nmp_backward(&a);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_layernorm_forward_mp(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                   const void *x, trainopt_dtype dtype,
                                                                   const float *weight, const float *bias, void *y,
                                                                   float *mean, float *rstd) {
    return trainopt__nmp_forward_call(c, rows, cols, 0, x, dtype, weight, bias, y, mean, rstd,
                                      "trainopt_layernorm_forward_mp");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_rmsnorm_forward_mp(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                 const void *x, trainopt_dtype dtype, const float *weight,
                                                                 void *y, float *rstd) {
    return trainopt__nmp_forward_call(c, rows, cols, 1, x, dtype, weight, NULL, y, NULL, rstd,
                                      "trainopt_rmsnorm_forward_mp");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_layernorm_backward_mp(const trainopt_norm_config *c, size_t rows,
                                                                    size_t cols, const void *x, const void *dy,
                                                                    trainopt_dtype dtype, const float *weight,
                                                                    const float *mean, const float *rstd, void *dx,
                                                                    float *dweight, float *dbias) {
    return trainopt__nmp_backward_call(c, rows, cols, 0, x, dy, dtype, weight, mean, rstd, dx, dweight, dbias,
                                       "trainopt_layernorm_backward_mp");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_rmsnorm_backward_mp(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                  const void *x, const void *dy, trainopt_dtype dtype,
                                                                  const float *weight, const float *rstd, void *dx,
                                                                  float *dweight) {
    return trainopt__nmp_backward_call(c, rows, cols, 1, x, dy, dtype, weight, NULL, rstd, dx, dweight, NULL,
                                       "trainopt_rmsnorm_backward_mp");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_groupnorm_forward_mp(const trainopt_norm_config *c, trainopt_bn_shape s,
                                                                   size_t groups, const void *x, trainopt_dtype dtype,
                                                                   const float *weight, const float *bias, void *y,
                                                                   float *mean, float *rstd) {
    static const char fn[] = "trainopt_groupnorm_forward_mp";
    trainopt__gnmp_args a;
    size_t total, cpg;
    trainopt_status st = trainopt__gn_check(c, &s, groups, &total, &cpg, fn);
    if (st != TRAINOPT_OK || (st = trainopt__nmp_dtype(dtype, fn)) != TRAINOPT_OK || total == 0) return st;
    if ((st = trainopt__nmp_forward_check(total, s.c, s.n * groups, x, dtype, weight, bias, y, mean, rstd, fn)) != TRAINOPT_OK)
        return st;
    if (dtype == TRAINOPT_F32) { /* the fp32 kernel's own setup (its checks pass: they are the ones above) */
        trainopt__gn_args f;
        st = trainopt__gn_forward_setup(c, &s, groups, (const float *)x, weight, bias, (float *)y, mean, rstd, &f, fn);
        if (st != TRAINOPT_OK) return st;
        trainopt__gn_forward(&f, 0, f.n * f.groups);
        if (f.stream) trainopt__stream_fence();
        return TRAINOPT_OK;
    }
    memset(&a, 0, sizeof a);
    a.n = s.n;
    a.c = s.c;
    a.hw = s.spatial;
    a.groups = groups;
    a.cpg = cpg;
    a.eps = c->eps;
    a.dt = dtype;
    a.x = x;
    a.w = weight;
    a.b = bias;
    a.out = y;
    a.save_mean = mean;
    a.save_rstd = rstd;
    trainopt__gnmp_forward(&a);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_groupnorm_backward_mp(const trainopt_norm_config *c, trainopt_bn_shape s,
                                                                    size_t groups, const void *x, const void *dy,
                                                                    trainopt_dtype dtype, const float *weight,
                                                                    const float *mean, const float *rstd, void *dx,
                                                                    float *dweight, float *dbias) {
    static const char fn[] = "trainopt_groupnorm_backward_mp";
    trainopt__gnmp_args a;
    size_t total, cpg;
    trainopt_status st = trainopt__gn_check(c, &s, groups, &total, &cpg, fn);
    if (st != TRAINOPT_OK || (st = trainopt__nmp_dtype(dtype, fn)) != TRAINOPT_OK || total == 0) return st;
    st = trainopt__nmp_backward_check(total, s.c, s.n * groups, 0, x, dy, dtype, weight, mean, rstd, dx, dweight, dbias, fn);
    if (st != TRAINOPT_OK || (!dx && !dweight && !dbias)) return st;
    if (dtype == TRAINOPT_F32) {
        trainopt__gn_args f;
        st = trainopt__gn_backward_setup(c, &s, groups, (const float *)x, (const float *)dy, weight, mean, rstd, (float *)dx,
                                         dweight, dbias, &f, fn);
        if (st != TRAINOPT_OK) return st;
        trainopt__gn_backward(&f);
        if (f.stream) trainopt__stream_fence();
        return TRAINOPT_OK;
    }
    memset(&a, 0, sizeof a);
    a.n = s.n;
    a.c = s.c;
    a.hw = s.spatial;
    a.groups = groups;
    a.cpg = cpg;
    a.dt = dtype;
    a.x = x;
    a.dy = dy;
    a.w = weight;
    a.mean = mean;
    a.rstd = rstd;
    a.out = dx;
    a.dw = dweight;
    a.db = dbias;
    trainopt__gnmp_backward(&a);
    return TRAINOPT_OK;
}
