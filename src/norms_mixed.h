/* >>norms-mixed: layer, RMS and group norm with bf16 or fp16 activations (x, y, dy, dx
   in one trainopt_dtype; weight, bias, mean, rstd and the weight gradients fp32). The
   result is the fp32 kernel's (>>norms) on the widened inputs, rounded to nearest
   even once at the end: every sum below is one of the fp32 kernel's canonical sums,
   fed the same floats in the same order. The activations are widened into stack
   blocks cut where the fp32 kernel cuts its own sums (multiples of BN_BLOCK from a
   row's or channel's start), so no partial sum sees a different order; layer and
   RMS norm's backward sums and weight-gradient sweep run the fp32 kernel's own loops
   with the widening in registers. TRAINOPT_F32 is the fp32 kernel itself. */

/* Floats of one row widened at a time: a row of up to this many values is widened
   once and stays on the stack for every sweep; a longer one is widened again per
   sweep, segment by segment. Equal to BN_BLOCK (the sums' block) so a segment is
   exactly one of the fp32 kernel's blocks. */
#define TRAINOPT__NMP_SEG TRAINOPT__BN_BLOCK
/* Columns whose weight-gradient double sums live on the stack: a call of more columns
   keeps them in dx's last rows, or without dx sweeps the rows' sums once per tile
   (the same values, so the same bits). */
#define TRAINOPT__NMP_TILE 512

/* ---- layer and RMS norm ---- */

/* A row's double statistics, as trainopt__norm_stats on the widened row: one block
   per SEG values, merged in order. The last segment stays widened in seg. */
TRAINOPT__DRIVER void trainopt__nmp_stats(const void *x, trainopt_dtype dt, size_t base, size_t len, float *seg,
                                          double *mean, double *m2) {
    trainopt__bn_group gr;
    float mb, s1, s2;
    double count = 0.0;
    size_t s0;
    memset(&gr, 0, sizeof gr);
    gr.rows = 1;
    gr.stride = len;
    *mean = *m2 = 0.0;
    for (s0 = 0; s0 < len; s0 += TRAINOPT__NMP_SEG) {
        gr.len = trainopt__bn_min(TRAINOPT__NMP_SEG, len - s0);
        trainopt__mp_widen(seg, x, dt, base + s0, gr.len);
        trainopt__bn_stats(&gr, 1, seg, &mb, &s1, &s2);
        trainopt__bn_merge(count, (double)gr.len, mb, s1, s2, mean, m2);
        count += (double)gr.len;
    }
}

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

/* Forward: per row its statistics, then y segment by segment (a row of up to SEG
   values is read once; x may be y: each segment is written after its last read). */
TRAINOPT__DRIVER void trainopt__nmp_forward(const trainopt__nmp_args *p) {
    const int affine = (p->w ? TRAINOPT__NORM_W : 0) | (p->b ? TRAINOPT__NORM_B : 0);
    float xs[TRAINOPT__NMP_SEG], ys[TRAINOPT__NMP_SEG];
    trainopt__norm_row rc;
    double mean, m2, rstd;
    size_t r, s0, k;
    for (r = 0; r < p->rows; r++) {
        const size_t base = r * p->cols;
        trainopt__nmp_stats(p->x, p->dt, base, p->cols, xs, &mean, &m2);
        trainopt__norm_row_finish((double)p->cols, p->eps, mean, m2, p->rms, &rc, &rstd);
        if (p->save_mean) p->save_mean[r] = rc.mu;
        if (p->save_rstd) p->save_rstd[r] = rc.a;
        for (s0 = 0; s0 < p->cols; s0 += TRAINOPT__NMP_SEG) {
            k = trainopt__bn_min(TRAINOPT__NMP_SEG, p->cols - s0);
            if (p->cols > TRAINOPT__NMP_SEG) trainopt__mp_widen(xs, p->x, p->dt, base + s0, k);
            trainopt__norm_row_pass(&rc, xs, NULL, p->w ? p->w + s0 : NULL, p->b ? p->b + s0 : NULL, ys, k, 0, affine, 0,
                                    NULL);
            trainopt__mp_narrow(p->out, p->dt, ys, base + s0, k);
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

/* Row r's backward coefficients (trainopt__norm_bw_rows on the widened row); with
   dx, the row's dx too, as trainopt__norm_bw_dx. xs, ds: SEG floats each. */
TRAINOPT__DRIVER void trainopt__nmp_bw_row(const trainopt__nmp_args *p, size_t r, float *xs, float *ds, int dx,
                                           trainopt__norm_row *rc) {
    const size_t base = r * p->cols;
    const float mu = p->rms ? 0.0f : p->mean[r];
    double sum[3] = {0.0, 0.0, 0.0};
    size_t s0, k;
    trainopt__nmp_sums(p, base, p->cols, mu, sum);
    trainopt__norm_backward_row((double)p->cols, sum, mu, p->rstd[r], p->rms, rc);
    if (!dx) return;
    for (s0 = 0; s0 < p->cols; s0 += TRAINOPT__NMP_SEG) {
        float os[TRAINOPT__NMP_SEG];
        k = trainopt__bn_min(TRAINOPT__NMP_SEG, p->cols - s0);
        trainopt__mp_widen(xs, p->x, p->dt, base + s0, k);
        trainopt__mp_widen(ds, p->dy, p->dt, base + s0, k);
        trainopt__norm_row_pass(rc, xs, ds, p->w ? p->w + s0 : NULL, NULL, os, k, 1, p->w ? TRAINOPT__NORM_W : 0, 0, NULL);
        trainopt__mp_narrow(p->out, p->dt, os, base + s0, k);
    }
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
    float xs[TRAINOPT__NMP_SEG], ds[TRAINOPT__NMP_SEG];
    double stack_sums[2 * TRAINOPT__NMP_TILE];
    trainopt__norm_row rc[TRAINOPT__NORM_ROWS];
    trainopt__norm_wsum ws;
    trainopt__norm_dxs dxs;
    size_t r, r0, r1, c0, c1, ndx, tile = TRAINOPT__NMP_TILE, dx_end = p->rows;
    if (!p->dw && !p->db) {
        for (r = 0; r < p->rows; r++) trainopt__nmp_bw_row(p, r, xs, ds, 1, rc);
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
            for (r = r0; r < r1; r++) trainopt__nmp_bw_row(p, r, xs, ds, 0, rc + (r - r0));
            dxs.out = ndx ? (unsigned char *)p->out + r0 * p->cols * es : NULL;
            dxs.nr = ndx;
            trainopt__nmp_wgrad(p, r0, r1 - r0, c0, c1, rc, &ws, r0 == 0, ndx ? &dxs : NULL);
        }
        if (ws.tw) trainopt__norm_wfinish(&ws, c0, c1);
    }
    for (r = dx_end; r < p->rows; r++) trainopt__nmp_bw_row(p, r, xs, ds, 1, rc);
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

/* Forward: each group's statistics (trainopt__nmp_stats), then its channels' runs
   with trainopt__gn_forward's coefficients, a segment of the group at a time. */
TRAINOPT__DRIVER void trainopt__gnmp_forward(const trainopt__gnmp_args *p) {
    const size_t rows = p->n * p->groups, len = p->cpg * p->hw;
    float xs[TRAINOPT__NMP_SEG], ys[TRAINOPT__NMP_SEG];
    trainopt__norm_row rc;
    double mean, m2, rstd;
    size_t q, s0, k, at;
    for (q = 0; q < rows; q++) {
        const size_t gi = q % p->groups, base = q * len;
        trainopt__nmp_stats(p->x, p->dt, base, len, xs, &mean, &m2);
        trainopt__norm_row_finish((double)len, p->eps, mean, m2, 0, &rc, &rstd);
        if (p->save_mean) p->save_mean[q] = rc.mu;
        if (p->save_rstd) p->save_rstd[q] = rc.a;
        for (s0 = 0; s0 < len; s0 += TRAINOPT__NMP_SEG) {
            k = trainopt__bn_min(TRAINOPT__NMP_SEG, len - s0);
            if (len > TRAINOPT__NMP_SEG) trainopt__mp_widen(xs, p->x, p->dt, base + s0, k);
            for (at = s0; at < s0 + k;) { /* the part of channel at / hw inside this segment */
                const size_t cc = at / p->hw, end = trainopt__bn_min(s0 + k, (cc + 1) * p->hw), ch = gi * p->cpg + cc;
                const double ad = (p->w ? (double)p->w[ch] : 1.0) * rstd;
                const float a = trainopt__bn_f(ad);
                const float b = trainopt__bn_f(fma(-(mean - (double)rc.mu), ad, p->b ? (double)p->b[ch] : 0.0));
                trainopt__bn_row_norm(xs + (at - s0), ys + (at - s0), end - at, rc.mu, a, b, 0, 0);
                at = end;
            }
            trainopt__mp_narrow(p->out, p->dt, ys, base + s0, k);
        }
    }
}

/* Channel cc of group row base as floats [s0, s0 + k): from the resident widened
   group (len <= SEG) or widened into xs, ds. */
TRAINOPT__FORCE_INLINE size_t trainopt__gnmp_run(const trainopt__gnmp_args *p, int resident, size_t base, size_t cc,
                                                 size_t s0, float *xs, float *ds) {
    const size_t k = trainopt__bn_min(TRAINOPT__NMP_SEG, p->hw - s0);
    if (resident) return cc * p->hw + s0;
    trainopt__mp_widen(xs, p->x, p->dt, base + cc * p->hw + s0, k);
    trainopt__mp_widen(ds, p->dy, p->dt, base + cc * p->hw + s0, k);
    return 0;
}

/* Backward of channels [cc0, cc1) of group gi over every sample: trainopt__gn_backward_tile
   on the widened values (each channel's sums in SEG-value segments from its start). */
TRAINOPT__DRIVER void trainopt__gnmp_backward_tile(const trainopt__gnmp_args *p, size_t gi, size_t cc0, size_t cc1) {
    double tw[TRAINOPT__NORM_TILE], tb[TRAINOPT__NORM_TILE], s_dy[TRAINOPT__NORM_TILE], s_dot[TRAINOPT__NORM_TILE];
    float xs[TRAINOPT__NMP_SEG], ds[TRAINOPT__NMP_SEG], os[TRAINOPT__NMP_SEG];
    const size_t len = p->cpg * p->hw;
    const int resident = len <= TRAINOPT__NMP_SEG;
    const double inv = 1.0 / ((double)p->cpg * (double)p->hw);
    size_t n, cc, s0, o;
    for (cc = 0; cc < cc1 - cc0; cc++) tw[cc] = tb[cc] = 0.0;
    for (n = 0; n < p->n; n++) {
        const size_t q = n * p->groups + gi, base = q * len;
        const float mu = p->mean[q];
        const double r = (double)p->rstd[q];
        double sum_g = 0.0, dot = 0.0, sum_d = 0.0, delta, k, c;
        if (resident) {
            trainopt__mp_widen(xs, p->x, p->dt, base, len);
            trainopt__mp_widen(ds, p->dy, p->dt, base, len);
        }
        for (cc = 0; cc < p->cpg; cc++) {
            const size_t ch = gi * p->cpg + cc;
            const double w = p->w ? (double)p->w[ch] : 1.0;
            double s[3] = {0.0, 0.0, 0.0};
            for (s0 = 0; s0 < p->hw; s0 += TRAINOPT__NMP_SEG) {
                o = trainopt__gnmp_run(p, resident, base, cc, s0, xs, ds);
                trainopt__norm_sums(xs + o, ds + o, NULL, mu, trainopt__bn_min(TRAINOPT__NMP_SEG, p->hw - s0), s);
            }
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
            if (!p->out) continue;
            for (s0 = 0; s0 < p->hw; s0 += TRAINOPT__NMP_SEG) {
                const size_t kk = trainopt__bn_min(TRAINOPT__NMP_SEG, p->hw - s0);
                o = trainopt__gnmp_run(p, resident, base, cc, s0, xs, ds);
                trainopt__bn_row_dx(xs + o, ds + o, NULL, os, 0, kk, trainopt__v_set1(mu),
                                    trainopt__v_set1(trainopt__bn_f(r * (p->w ? (double)p->w[ch] : 1.0))),
                                    trainopt__v_set1(trainopt__bn_f(k)), trainopt__v_set1(trainopt__bn_f(c)), 0, 0);
                trainopt__mp_narrow(p->out, p->dt, os, base + cc * p->hw + s0, kk);
            }
        }
    }
    for (cc = cc0; cc < cc1; cc++) {
        const size_t ch = gi * p->cpg + cc;
        if (p->dw) p->dw[ch] = trainopt__bn_f(tw[cc - cc0]);
        if (p->db) p->db[ch] = trainopt__bn_f(tb[cc - cc0]);
    }
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
