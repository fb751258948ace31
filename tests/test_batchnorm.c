/* tests/test_batchnorm.c - batch normalization: forward (train, inference),
   backward and fold, against a double-precision reference written here, golden
   data from PyTorch 1.13 (tests/gen_batchnorm.py), finite differences, and the
   identities the design promises (NCHW = NHWC bits, in place = out of place,
   NaN stays in its channel). The battery covers odd shapes, both layouts, every
   option, NaN/Inf/-0/denormal inputs and every error status. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
/* Small, so that the tests and the battery cover both the cached and the
   streaming store paths (the results must not differ). */
#define TRAINOPT_STREAM_BYTES ((size_t)32 << 10)
#include "trainopt.h"

/* ---- shapes and data ---- */

static size_t bn_idx(trainopt_layout l, size_t nc, size_t ns, size_t n, size_t c, size_t s) {
    return l == TRAINOPT_NCHW ? (n * nc + c) * ns + s : (n * ns + s) * nc + c;
}

static trainopt_bn_shape bn_shape(size_t n, size_t c, size_t s, trainopt_layout l) {
    trainopt_bn_shape sh;
    sh.n = n;
    sh.c = c;
    sh.spatial = s;
    sh.layout = l;
    return sh;
}

static trainopt_bn_config bn_config(double eps, double momentum, int relu) {
    trainopt_bn_config c;
    c.eps = eps;
    c.momentum = momentum;
    c.fuse_relu = relu;
    return c;
}

/* Random data with a per-channel offset and spread. Products feeding sums are
   explicit fmaf, so -ffp-contract cannot give backends different inputs. */
static void bn_fill(uint64_t *seed, float *x, size_t n, size_t c, size_t s, trainopt_layout l, float offset) {
    size_t i, j, k;
    for (j = 0; j < c; j++) {
        float mu = fmaf(0.5f, (float)j, offset - 1.0f), sd = fmaf(0.125f, (float)(j % 7), 0.5f);
        for (i = 0; i < n; i++)
            for (k = 0; k < s; k++) x[bn_idx(l, c, s, i, j, k)] = fmaf(sd, to_rand_normal(seed), mu);
    }
}

/* NCHW <-> NHWC copy of the same logical tensor. */
static void bn_transpose(const float *src, trainopt_layout from, float *dst, size_t n, size_t c, size_t s) {
    trainopt_layout to = from == TRAINOPT_NCHW ? TRAINOPT_NHWC : TRAINOPT_NCHW;
    size_t i, j, k;
    for (i = 0; i < n; i++)
        for (j = 0; j < c; j++)
            for (k = 0; k < s; k++) dst[bn_idx(to, c, s, i, j, k)] = src[bn_idx(from, c, s, i, j, k)];
}

/* ---- double-precision reference (plain loops, two passes) ---- */

typedef struct {
    double *y, *mean, *invstd, *rm, *rv; /* y: total; the rest: c */
} bn_ref_fwd;

static void bn_ref_train(trainopt_bn_shape sh, const trainopt_bn_config *cfg, const float *x, const float *gamma,
                         const float *beta, const float *rm, const float *rv, bn_ref_fwd *o) {
    size_t i, j, k, m = sh.n * sh.spatial;
    for (j = 0; j < sh.c; j++) {
        double sum = 0.0, sq = 0.0, mean, var, invstd, g = gamma ? gamma[j] : 1.0, b = beta ? beta[j] : 0.0;
        for (i = 0; i < sh.n; i++)
            for (k = 0; k < sh.spatial; k++) sum += x[bn_idx(sh.layout, sh.c, sh.spatial, i, j, k)];
        mean = sum / (double)m;
        for (i = 0; i < sh.n; i++)
            for (k = 0; k < sh.spatial; k++) {
                double d = x[bn_idx(sh.layout, sh.c, sh.spatial, i, j, k)] - mean;
                sq += d * d;
            }
        var = sq / (double)m;
        invstd = 1.0 / sqrt(var + cfg->eps);
        o->mean[j] = mean;
        o->invstd[j] = invstd;
        if (rm) {
            o->rm[j] = (1.0 - cfg->momentum) * rm[j] + cfg->momentum * mean;
            o->rv[j] = (1.0 - cfg->momentum) * rv[j] + cfg->momentum * sq / (double)(m - 1);
        }
        for (i = 0; i < sh.n; i++)
            for (k = 0; k < sh.spatial; k++) {
                size_t q = bn_idx(sh.layout, sh.c, sh.spatial, i, j, k);
                double y = (x[q] - mean) * invstd * g + b;
                o->y[q] = cfg->fuse_relu && !(y > 0.0) ? 0.0 : y;
            }
    }
}

static void bn_ref_infer(trainopt_bn_shape sh, const trainopt_bn_config *cfg, const float *x, const float *gamma,
                         const float *beta, const float *rm, const float *rv, double *y) {
    size_t i, j, k;
    for (j = 0; j < sh.c; j++) {
        double a = (gamma ? gamma[j] : 1.0) / sqrt((double)rv[j] + cfg->eps), b = beta ? beta[j] : 0.0;
        for (i = 0; i < sh.n; i++)
            for (k = 0; k < sh.spatial; k++) {
                size_t q = bn_idx(sh.layout, sh.c, sh.spatial, i, j, k);
                double v = (x[q] - rm[j]) * a + b;
                y[q] = cfg->fuse_relu && !(v > 0.0) ? 0.0 : v;
            }
    }
}

/* Training-mode backward from the saved statistics; y only for the relu mask. */
static void bn_ref_backward(trainopt_bn_shape sh, int relu, const float *x, const float *dy, const float *gamma,
                            const float *mean, const float *invstd, const float *y, double *dx, double *dgamma,
                            double *dbeta) {
    size_t i, j, k, m = sh.n * sh.spatial;
    for (j = 0; j < sh.c; j++) {
        double sg = 0.0, dot = 0.0, r = invstd[j], g = gamma ? gamma[j] : 1.0;
        for (i = 0; i < sh.n; i++)
            for (k = 0; k < sh.spatial; k++) {
                size_t q = bn_idx(sh.layout, sh.c, sh.spatial, i, j, k);
                double gq = relu && !(y[q] > 0.0f) ? 0.0 : dy[q];
                sg += gq;
                dot += ((double)x[q] - mean[j]) * gq;
            }
        dgamma[j] = dot * r;
        dbeta[j] = sg;
        for (i = 0; i < sh.n; i++)
            for (k = 0; k < sh.spatial; k++) {
                size_t q = bn_idx(sh.layout, sh.c, sh.spatial, i, j, k);
                double gq = relu && !(y[q] > 0.0f) ? 0.0 : dy[q];
                dx[q] = g * r * (gq - sg / (double)m - ((double)x[q] - mean[j]) * r * r * dot / (double)m);
            }
    }
}

/* ---- comparisons ---- */

/* |got - want| <= rel * max|want| over the array (NaN must match NaN). */
static int bn_close_d(to_ctx *t, const char *what, const float *got, const double *want, size_t n, double rel) {
    size_t i;
    double m = 1e-30;
    for (i = 0; i < n; i++)
        if (isfinite(want[i]) && fabs(want[i]) > m) m = fabs(want[i]);
    for (i = 0; i < n; i++) {
        int ok = isnan(want[i]) ? isnan(got[i]) : (isfinite(got[i]) && fabs(got[i] - want[i]) <= rel * m);
        if (!ok) {
            to_fail(t, "%s: element %zu / %zu: got %.9g (0x%08x), want %.9g, tol %.3g", what, i, n, (double)got[i],
                    (unsigned)to_bits(got[i]), want[i], rel * m);
            return 0;
        }
    }
    return 1;
}

/* |got - want| <= rel * max|want| + floor: for dx, whose terms cancel (with
   N*S = 2 dx is nearly 0), floor is float rounding at the scale of the terms. */
static int bn_close_floor(to_ctx *t, const char *what, const float *got, const double *want, size_t n, double rel,
                          double floor) {
    size_t i;
    double m = 0.0;
    for (i = 0; i < n; i++)
        if (isfinite(want[i]) && fabs(want[i]) > m) m = fabs(want[i]);
    for (i = 0; i < n; i++) {
        int ok = isnan(want[i]) ? isnan(got[i]) : (isfinite(got[i]) && fabs(got[i] - want[i]) <= rel * m + floor);
        if (!ok) {
            to_fail(t, "%s: element %zu / %zu: got %.9g (0x%08x), want %.9g, tol %.3g", what, i, n, (double)got[i],
                    (unsigned)to_bits(got[i]), want[i], rel * m + floor);
            return 0;
        }
    }
    return 1;
}

/* The scale of dx's terms: max over channels of |gamma|*invstd, times max|dy|. */
static double bn_dx_scale(const float *gamma, const float *invstd, size_t c, const float *dy, size_t n) {
    double a = 0.0, g = 0.0;
    size_t i;
    for (i = 0; i < c; i++)
        if (fabs((gamma ? gamma[i] : 1.0) * invstd[i]) > a) a = fabs((gamma ? gamma[i] : 1.0) * invstd[i]);
    for (i = 0; i < n; i++)
        if (fabs(dy[i]) > g) g = fabs(dy[i]);
    return a * g;
}

/* Per element: |got - want| <= rel * max(|want|, floor). */
static int bn_close_each(to_ctx *t, const char *what, const float *got, const double *want, size_t n, double rel,
                         const double *floor) {
    size_t i;
    for (i = 0; i < n; i++) {
        double scale = fabs(want[i]);
        if (floor && floor[i] > scale) scale = floor[i];
        if (!(fabs(got[i] - want[i]) <= rel * scale)) {
            to_fail(t, "%s: element %zu / %zu: got %.9g (0x%08x), want %.9g, tol %.3g", what, i, n, (double)got[i],
                    (unsigned)to_bits(got[i]), want[i], rel * scale);
            return 0;
        }
    }
    return 1;
}

static void bn_to_double(const float *src, double *dst, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) dst[i] = src[i];
}

/* ---- a full set of buffers for one shape ---- */

typedef struct {
    trainopt_bn_shape sh;
    size_t total;
    to_buf x, dy, y, dx, gamma, beta, rm, rv, sm, si, dgamma, dbeta;
} bn_bufs;

static void bn_bufs_new(bn_bufs *b, trainopt_bn_shape sh, size_t mis) {
    b->sh = sh;
    b->total = sh.n * sh.c * sh.spatial;
    b->x = to_buf_new(b->total, mis);
    b->dy = to_buf_new(b->total, (mis + 1) % 4);
    b->y = to_buf_new(b->total, (mis + 2) % 4);
    b->dx = to_buf_new(b->total, (mis + 3) % 4);
    b->gamma = to_buf_new(sh.c, mis);
    b->beta = to_buf_new(sh.c, (mis + 1) % 4);
    b->rm = to_buf_new(sh.c, (mis + 2) % 4);
    b->rv = to_buf_new(sh.c, (mis + 3) % 4);
    b->sm = to_buf_new(sh.c, mis);
    b->si = to_buf_new(sh.c, (mis + 1) % 4);
    b->dgamma = to_buf_new(sh.c, (mis + 2) % 4);
    b->dbeta = to_buf_new(sh.c, (mis + 3) % 4);
}

static void bn_bufs_fill(bn_bufs *b, uint64_t seed, float offset) {
    uint64_t st = seed;
    size_t j;
    bn_fill(&st, b->x.p, b->sh.n, b->sh.c, b->sh.spatial, b->sh.layout, offset);
    bn_fill(&st, b->dy.p, b->sh.n, b->sh.c, b->sh.spatial, b->sh.layout, 0.0f);
    for (j = 0; j < b->sh.c; j++) {
        b->gamma.p[j] = to_rand_uniform(&st, 0.25f, 1.75f);
        b->beta.p[j] = to_rand_uniform(&st, -0.5f, 0.5f);
        b->rm.p[j] = offset + to_rand_uniform(&st, -0.2f, 0.2f);
        b->rv.p[j] = to_rand_uniform(&st, 0.5f, 2.5f);
    }
}

static void bn_bufs_free(bn_bufs *b) {
    to_buf_free(&b->x); to_buf_free(&b->dy); to_buf_free(&b->y); to_buf_free(&b->dx);
    to_buf_free(&b->gamma); to_buf_free(&b->beta); to_buf_free(&b->rm); to_buf_free(&b->rv);
    to_buf_free(&b->sm); to_buf_free(&b->si); to_buf_free(&b->dgamma); to_buf_free(&b->dbeta);
}

static int bn_bufs_canaries(to_ctx *t, const bn_bufs *b) {
    return to_buf_canaries_ok(t, &b->x, "x") && to_buf_canaries_ok(t, &b->dy, "dy") &&
           to_buf_canaries_ok(t, &b->y, "y") && to_buf_canaries_ok(t, &b->dx, "dx") &&
           to_buf_canaries_ok(t, &b->gamma, "gamma") && to_buf_canaries_ok(t, &b->beta, "beta") &&
           to_buf_canaries_ok(t, &b->rm, "running_mean") && to_buf_canaries_ok(t, &b->rv, "running_var") &&
           to_buf_canaries_ok(t, &b->sm, "save_mean") && to_buf_canaries_ok(t, &b->si, "save_invstd") &&
           to_buf_canaries_ok(t, &b->dgamma, "dgamma") && to_buf_canaries_ok(t, &b->dbeta, "dbeta");
}

/* ---- tests ---- */

/* Every kernel against the double reference over a grid of shapes, both layouts,
   every option, misaligned buffers, NaN-filled outputs and canaries. */
static void test_reference(to_ctx *t) {
    static const size_t ns[] = {1, 2, 3, 5}, cs[] = {1, 3, 7, 17, 64, 65}, ss[] = {1, 3, 7, 16, 17, 49};
    static const size_t big[][3] = {{3, 5, 1100}, {70, 130, 1}, {2, 70, 25}, {2, 1, 2100}, {1, 3, 1024},
                                    {64, 16, 1},  {9, 2, 4000}, {50, 2, 700}};
    size_t a, b, c, count = 0;
    for (a = 0; a < sizeof ns / sizeof *ns; a++)
        for (b = 0; b < sizeof cs / sizeof *cs; b++)
            for (c = 0; c < sizeof ss / sizeof *ss + sizeof big / sizeof *big; c++) {
                size_t n = ns[a], ch = cs[b], s, l;
                if (c < sizeof ss / sizeof *ss) {
                    s = ss[c];
                } else {
                    if (a || b) continue;
                    n = big[c - sizeof ss / sizeof *ss][0];
                    ch = big[c - sizeof ss / sizeof *ss][1];
                    s = big[c - sizeof ss / sizeof *ss][2];
                }
                for (l = 0; l < 2; l++) {
                    const int opt = (int)(count++ % 8); /* bit 0 gamma/beta, bit 1 running, bit 2 relu */
                    const trainopt_bn_config cfg = bn_config(1e-5, 0.1, opt >> 2 & 1);
                    trainopt_bn_shape sh = bn_shape(n, ch, s, (trainopt_layout)l);
                    const float *g = NULL, *be = NULL;
                    float *rm = NULL, *rv = NULL;
                    bn_bufs B;
                    bn_ref_fwd o;
                    double *dx, *dg, *db, *yi;
                    char what[160];
                    size_t m = n * s;
                    bn_bufs_new(&B, sh, count % 4);
                    bn_bufs_fill(&B, 1000 + count, 0.0f);
                    if (opt & 1) {
                        g = B.gamma.p;
                        be = B.beta.p;
                    }
                    if (opt & 2) {
                        rm = B.rm.p;
                        rv = B.rv.p;
                    }
                    o.y = (double *)malloc(B.total * sizeof(double));
                    o.mean = (double *)malloc(ch * sizeof(double));
                    o.invstd = (double *)malloc(ch * sizeof(double));
                    o.rm = (double *)malloc(ch * sizeof(double));
                    o.rv = (double *)malloc(ch * sizeof(double));
                    dx = (double *)malloc(B.total * sizeof(double));
                    yi = (double *)malloc(B.total * sizeof(double));
                    dg = (double *)malloc(ch * sizeof(double));
                    db = (double *)malloc(ch * sizeof(double));
                    snprintf(what, sizeof what, "%s [%zu][%zu][%zu] opt %d", l ? "NHWC" : "NCHW", n, ch, s, opt);
                    bn_ref_train(sh, &cfg, B.x.p, g, be, rm, rv, &o);
                    if (m > 1) {
                        double sd[4096];
                        size_t j;
                        to_expect_status(t, trainopt_batchnorm_forward_train(&cfg, sh, B.x.p, g, be, rm, rv, B.y.p, B.sm.p, B.si.p), TRAINOPT_OK, what);
                        for (j = 0; j < ch; j++) sd[j] = 1.0 / o.invstd[j];
                        if (!bn_close_d(t, what, B.y.p, o.y, B.total, 1e-5) ||
                            !bn_close_each(t, what, B.sm.p, o.mean, ch, 1e-5, sd) ||
                            !bn_close_each(t, what, B.si.p, o.invstd, ch, 1e-5, NULL) ||
                            (rm && (!bn_close_each(t, what, rm, o.rm, ch, 1e-5, sd) ||
                                    !bn_close_each(t, what, rv, o.rv, ch, 1e-5, NULL))))
                            to_fail(t, "forward_train %s", what);
                        bn_ref_backward(sh, cfg.fuse_relu, B.x.p, B.dy.p, g, B.sm.p, B.si.p, B.y.p, dx, dg, db);
                        to_expect_status(t, trainopt_batchnorm_backward(&cfg, sh, B.x.p, B.dy.p, g, B.sm.p, B.si.p, B.y.p, B.dx.p, B.dgamma.p, B.dbeta.p), TRAINOPT_OK, what);
                        if (!bn_close_floor(t, what, B.dx.p, dx, B.total, 1e-4, 1e-6 * bn_dx_scale(g, B.si.p, ch, B.dy.p, B.total)) ||
                            !bn_close_d(t, what, B.dgamma.p, dg, ch, 1e-4) ||
                            !bn_close_d(t, what, B.dbeta.p, db, ch, 1e-4))
                            to_fail(t, "backward %s", what);
                    } else {
                        to_expect_status(t, trainopt_batchnorm_forward_train(&cfg, sh, B.x.p, g, be, rm, rv, B.y.p, B.sm.p, B.si.p), TRAINOPT_ERR_SHAPE, what);
                    }
                    bn_ref_infer(sh, &cfg, B.x.p, g, be, B.rm.p, B.rv.p, yi);
                    to_expect_status(t, trainopt_batchnorm_forward_infer(&cfg, sh, B.x.p, g, be, B.rm.p, B.rv.p, B.y.p), TRAINOPT_OK, what);
                    if (!bn_close_d(t, what, B.y.p, yi, B.total, 1e-5)) to_fail(t, "forward_infer %s", what);
                    bn_bufs_canaries(t, &B);
                    free(o.y); free(o.mean); free(o.invstd); free(o.rm); free(o.rv);
                    free(dx); free(yi); free(dg); free(db);
                    bn_bufs_free(&B);
                }
            }
}

/* ---- golden data from PyTorch ---- */

typedef struct {
    const unsigned char *p, *end;
} bn_reader;

static uint32_t bn_u32(bn_reader *r) {
    uint32_t v = 0;
    if (r->p + 4 <= r->end) memcpy(&v, r->p, 4);
    r->p += 4;
    return v;
}
static double bn_f64(bn_reader *r) {
    double v = 0.0;
    if (r->p + 8 <= r->end) memcpy(&v, r->p, 8);
    r->p += 8;
    return v;
}
/* n floats into a fresh misaligned buffer (NULL when absent). */
static int bn_floats(bn_reader *r, to_buf *b, size_t n, size_t mis, int present) {
    *b = to_buf_new(present ? n : 0, mis);
    if (!present) return 1;
    if (r->p + 4 * n > r->end) return 0;
    memcpy(b->p, r->p, 4 * n);
    r->p += 4 * n;
    return 1;
}

static void test_golden(to_ctx *t) {
    size_t len = 0, k;
    unsigned char *data = (unsigned char *)to_read_golden(t, "batchnorm.bin", &len);
    bn_reader r;
    uint32_t count;
    if (!data) return;
    r.p = data;
    r.end = data + len;
    if (len < 12 || memcmp(data, "TOBN", 4) != 0) {
        to_fail(t, "batchnorm.bin: bad header");
        free(data);
        return;
    }
    r.p += 4;
    if (bn_u32(&r) != 1) to_fail(t, "batchnorm.bin: unknown version");
    count = bn_u32(&r);
    if (count < 30) to_fail(t, "batchnorm.bin: only %u cases", (unsigned)count);
    for (k = 0; k < count && r.p < r.end; k++) {
        uint32_t kind = bn_u32(&r), layout = bn_u32(&r), n = bn_u32(&r), c = bn_u32(&r), s = bn_u32(&r),
                 flags = bn_u32(&r);
        double eps = bn_f64(&r), momentum = bn_f64(&r);
        const trainopt_bn_config cfg = bn_config(eps, momentum, (flags & 8) != 0);
        const trainopt_bn_shape sh = bn_shape(n, c, s, layout ? TRAINOPT_NHWC : TRAINOPT_NCHW);
        const size_t total = (size_t)n * c * s, mis = k % 4;
        const int hg = (flags & 1) != 0, hb = (flags & 2) != 0, hr = (flags & 4) != 0;
        to_buf x, g, b, rm, rv, dy, y, sm, si, rm2, rv2, dx, dg, db, oy, osm, osi, odx, odg, odb;
        double *want = (double *)malloc((total + 1) * sizeof(double)), sd[4096];
        char what[160];
        int ok = 1;
        size_t j;
        snprintf(what, sizeof what, "golden case %zu (%s %s [%u][%u][%u] flags %u)", k, kind ? "infer" : "train",
                 layout ? "NHWC" : "NCHW", (unsigned)n, (unsigned)c, (unsigned)s, (unsigned)flags);
        ok &= bn_floats(&r, &x, total, mis, 1);
        ok &= bn_floats(&r, &g, c, mis, hg);
        ok &= bn_floats(&r, &b, c, mis, hb);
        ok &= bn_floats(&r, &rm, c, mis, kind == 1 || hr);
        ok &= bn_floats(&r, &rv, c, mis, kind == 1 || hr);
        if (kind == 1) {
            ok &= bn_floats(&r, &y, total, mis, 1);
            oy = to_buf_new(total, (mis + 1) % 4);
            if (ok) {
                to_expect_status(t, trainopt_batchnorm_forward_infer(&cfg, sh, x.p, hg ? g.p : NULL, hb ? b.p : NULL, rm.p, rv.p, oy.p), TRAINOPT_OK, what);
                bn_to_double(y.p, want, total);
                if (!bn_close_d(t, what, oy.p, want, total, 1e-5)) to_fail(t, "%s: y", what);
                to_buf_canaries_ok(t, &oy, what);
            }
            to_buf_free(&y); to_buf_free(&oy);
        } else {
            ok &= bn_floats(&r, &dy, total, mis, 1);
            ok &= bn_floats(&r, &y, total, mis, 1);
            ok &= bn_floats(&r, &sm, c, mis, 1);
            ok &= bn_floats(&r, &si, c, mis, 1);
            ok &= bn_floats(&r, &rm2, c, mis, hr);
            ok &= bn_floats(&r, &rv2, c, mis, hr);
            ok &= bn_floats(&r, &dx, total, mis, 1);
            ok &= bn_floats(&r, &dg, c, mis, 1);
            ok &= bn_floats(&r, &db, c, mis, 1);
            oy = to_buf_new(total, (mis + 1) % 4);
            osm = to_buf_new(c, (mis + 2) % 4);
            osi = to_buf_new(c, (mis + 3) % 4);
            odx = to_buf_new(total, (mis + 2) % 4);
            odg = to_buf_new(c, mis);
            odb = to_buf_new(c, (mis + 1) % 4);
            if (ok) {
                to_expect_status(t, trainopt_batchnorm_forward_train(&cfg, sh, x.p, hg ? g.p : NULL, hb ? b.p : NULL, hr ? rm.p : NULL, hr ? rv.p : NULL, oy.p, osm.p, osi.p), TRAINOPT_OK, what);
                bn_to_double(y.p, want, total);
                if (!bn_close_d(t, what, oy.p, want, total, 1e-5)) to_fail(t, "%s: y", what);
                for (j = 0; j < c && j < 4096; j++) sd[j] = 1.0 / si.p[j];
                bn_to_double(sm.p, want, c);
                if (!bn_close_each(t, what, osm.p, want, c, 1e-5, sd)) to_fail(t, "%s: save_mean", what);
                bn_to_double(si.p, want, c);
                if (!bn_close_each(t, what, osi.p, want, c, 1e-5, NULL)) to_fail(t, "%s: save_invstd", what);
                if (hr) {
                    bn_to_double(rm2.p, want, c);
                    for (j = 0; j < c; j++) sd[j] = sd[j] + fabs(want[j]);
                    if (!bn_close_each(t, what, rm.p, want, c, 1e-5, sd)) to_fail(t, "%s: running_mean", what);
                    bn_to_double(rv2.p, want, c);
                    if (!bn_close_each(t, what, rv.p, want, c, 1e-5, NULL)) to_fail(t, "%s: running_var", what);
                }
                /* The backward pass from PyTorch's saved statistics and output, so the
                   relu mask is PyTorch's. */
                to_expect_status(t, trainopt_batchnorm_backward(&cfg, sh, x.p, dy.p, hg ? g.p : NULL, sm.p, si.p, y.p, odx.p, odg.p, odb.p), TRAINOPT_OK, what);
                bn_to_double(dx.p, want, total);
                if (!bn_close_floor(t, what, odx.p, want, total, 1e-4, 1e-6 * bn_dx_scale(hg ? g.p : NULL, si.p, c, dy.p, total)))
                    to_fail(t, "%s: dx", what);
                bn_to_double(dg.p, want, c);
                if (!bn_close_d(t, what, odg.p, want, c, 1e-4)) to_fail(t, "%s: dgamma", what);
                bn_to_double(db.p, want, c);
                if (!bn_close_d(t, what, odb.p, want, c, 1e-4)) to_fail(t, "%s: dbeta", what);
                to_buf_canaries_ok(t, &oy, what); to_buf_canaries_ok(t, &odx, what);
                to_buf_canaries_ok(t, &osm, what); to_buf_canaries_ok(t, &osi, what);
                to_buf_canaries_ok(t, &odg, what); to_buf_canaries_ok(t, &odb, what);
            }
            to_buf_free(&dy); to_buf_free(&y); to_buf_free(&sm); to_buf_free(&si); to_buf_free(&rm2);
            to_buf_free(&rv2); to_buf_free(&dx); to_buf_free(&dg); to_buf_free(&db); to_buf_free(&oy);
            to_buf_free(&osm); to_buf_free(&osi); to_buf_free(&odx); to_buf_free(&odg); to_buf_free(&odb);
        }
        if (!ok) to_fail(t, "%s: file truncated", what);
        to_buf_free(&x); to_buf_free(&g); to_buf_free(&b); to_buf_free(&rm); to_buf_free(&rv);
        free(want);
        if (!ok) break;
    }
    if (k != count || r.p != r.end) to_fail(t, "batchnorm.bin: read %zu of %u cases, %ld bytes left", k, (unsigned)count, (long)(r.end - r.p));
    free(data);
}

/* Finite differences of the double reference forward pass against the float
   backward kernel: dx, dgamma, dbeta of L = sum(w * y). */
static double bn_fd_loss(trainopt_bn_shape sh, const double *xd, const double *g, const double *b, const float *w) {
    size_t i, j, k, m = sh.n * sh.spatial;
    double loss = 0.0;
    for (j = 0; j < sh.c; j++) {
        double mean = 0.0, var = 0.0, invstd;
        for (i = 0; i < sh.n; i++)
            for (k = 0; k < sh.spatial; k++) mean += xd[bn_idx(sh.layout, sh.c, sh.spatial, i, j, k)];
        mean /= (double)m;
        for (i = 0; i < sh.n; i++)
            for (k = 0; k < sh.spatial; k++) {
                double d = xd[bn_idx(sh.layout, sh.c, sh.spatial, i, j, k)] - mean;
                var += d * d;
            }
        invstd = 1.0 / sqrt(var / (double)m + 1e-5);
        for (i = 0; i < sh.n; i++)
            for (k = 0; k < sh.spatial; k++) {
                size_t q = bn_idx(sh.layout, sh.c, sh.spatial, i, j, k);
                loss += w[q] * ((xd[q] - mean) * invstd * g[j] + b[j]);
            }
    }
    return loss;
}

static void test_finite_differences(to_ctx *t) {
    static const size_t shapes[][3] = {{2, 3, 5}, {4, 2, 1}, {1, 3, 7}, {3, 17, 2}};
    size_t q, l, i;
    for (q = 0; q < sizeof shapes / sizeof *shapes; q++)
        for (l = 0; l < 2; l++) {
            const trainopt_bn_shape sh = bn_shape(shapes[q][0], shapes[q][1], shapes[q][2], (trainopt_layout)l);
            const trainopt_bn_config cfg = bn_config(1e-5, 0.1, 0);
            bn_bufs B;
            double *xd, *gd, *bd, *fdx, fdg[32], fdb[32];
            const double h = 1e-5;
            char what[96];
            bn_bufs_new(&B, sh, q % 4);
            bn_bufs_fill(&B, 77 + q, 0.0f);
            xd = (double *)malloc(B.total * sizeof(double));
            fdx = (double *)malloc(B.total * sizeof(double));
            gd = (double *)malloc(sh.c * sizeof(double));
            bd = (double *)malloc(sh.c * sizeof(double));
            bn_to_double(B.x.p, xd, B.total);
            bn_to_double(B.gamma.p, gd, sh.c);
            bn_to_double(B.beta.p, bd, sh.c);
            for (i = 0; i < B.total; i++) {
                double keep = xd[i], up, down;
                xd[i] = keep + h;
                up = bn_fd_loss(sh, xd, gd, bd, B.dy.p);
                xd[i] = keep - h;
                down = bn_fd_loss(sh, xd, gd, bd, B.dy.p);
                xd[i] = keep;
                fdx[i] = (up - down) / (2 * h);
            }
            for (i = 0; i < sh.c; i++) {
                double keep = gd[i], up, down;
                gd[i] = keep + h;
                up = bn_fd_loss(sh, xd, gd, bd, B.dy.p);
                gd[i] = keep - h;
                down = bn_fd_loss(sh, xd, gd, bd, B.dy.p);
                gd[i] = keep;
                fdg[i] = (up - down) / (2 * h);
                keep = bd[i];
                bd[i] = keep + h;
                up = bn_fd_loss(sh, xd, gd, bd, B.dy.p);
                bd[i] = keep - h;
                down = bn_fd_loss(sh, xd, gd, bd, B.dy.p);
                bd[i] = keep;
                fdb[i] = (up - down) / (2 * h);
            }
            snprintf(what, sizeof what, "finite differences %s [%zu][%zu][%zu]", l ? "NHWC" : "NCHW", sh.n, sh.c, sh.spatial);
            to_expect_status(t, trainopt_batchnorm_forward_train(&cfg, sh, B.x.p, B.gamma.p, B.beta.p, NULL, NULL, B.y.p, B.sm.p, B.si.p), TRAINOPT_OK, what);
            to_expect_status(t, trainopt_batchnorm_backward(&cfg, sh, B.x.p, B.dy.p, B.gamma.p, B.sm.p, B.si.p, NULL, B.dx.p, B.dgamma.p, B.dbeta.p), TRAINOPT_OK, what);
            if (!bn_close_d(t, what, B.dx.p, fdx, B.total, 1e-4) || !bn_close_d(t, what, B.dgamma.p, fdg, sh.c, 1e-4) ||
                !bn_close_d(t, what, B.dbeta.p, fdb, sh.c, 1e-4))
                to_fail(t, "%s: backward disagrees with finite differences", what);
            free(xd); free(fdx); free(gd); free(bd);
            bn_bufs_free(&B);
        }
}

/* The statistics stay exact when the mean is 1e4 times the standard deviation;
   a one-pass float sum of squares (checked here too) does not. */
static void test_large_mean(to_ctx *t) {
    static const size_t shapes[][3] = {{32, 4, 784}, {3, 70, 200}, {4096, 3, 1}, {2, 5, 3000}};
    size_t q, l, j, i, k;
    for (q = 0; q < sizeof shapes / sizeof *shapes; q++)
        for (l = 0; l < 2; l++) {
            const trainopt_bn_shape sh = bn_shape(shapes[q][0], shapes[q][1], shapes[q][2], (trainopt_layout)l);
            const trainopt_bn_config cfg = bn_config(1e-5, 0.1, 0);
            const size_t total = sh.n * sh.c * sh.spatial, m = sh.n * sh.spatial;
            float *x = (float *)malloc(total * sizeof(float)), *y = (float *)malloc(total * sizeof(float)),
                  *sm = (float *)malloc(sh.c * sizeof(float)), *si = (float *)malloc(sh.c * sizeof(float));
            uint64_t seed = 5 + q;
            double worst = 0.0, naive_worst = 0.0;
            for (i = 0; i < total; i++) x[i] = 1e4f + to_rand_normal(&seed);
            to_expect_status(t, trainopt_batchnorm_forward_train(&cfg, sh, x, NULL, NULL, NULL, NULL, y, sm, si), TRAINOPT_OK, "large mean");
            for (j = 0; j < sh.c; j++) {
                double mean = 0.0, var = 0.0, got;
                float s1 = 0.0f, s2 = 0.0f, nv;
                for (i = 0; i < sh.n; i++)
                    for (k = 0; k < sh.spatial; k++) {
                        float v = x[bn_idx(sh.layout, sh.c, sh.spatial, i, j, k)];
                        mean += v;
                        s1 += v;
                        s2 += v * v;
                    }
                mean /= (double)m;
                for (i = 0; i < sh.n; i++)
                    for (k = 0; k < sh.spatial; k++) {
                        double d = x[bn_idx(sh.layout, sh.c, sh.spatial, i, j, k)] - mean;
                        var += d * d;
                    }
                var /= (double)m;
                got = 1.0 / ((double)si[j] * si[j]) - 1e-5;
                if (fabs(got / var - 1.0) > worst) worst = fabs(got / var - 1.0);
                nv = s2 / (float)m - (s1 / (float)m) * (s1 / (float)m);
                if (fabs(nv / var - 1.0) > naive_worst || isnan(nv)) naive_worst = isnan(nv) ? 1e30 : fabs(nv / var - 1.0);
            }
            if (!(worst <= 1e-4))
                to_fail(t, "large mean %s [%zu][%zu][%zu]: variance off by %.3g relative", l ? "NHWC" : "NCHW", sh.n, sh.c, sh.spatial, worst);
            if (!(naive_worst > 1e-2))
                to_fail(t, "large mean [%zu][%zu][%zu]: the naive one-pass sum is accurate here (%.3g): the test shows nothing", sh.n, sh.c, sh.spatial, naive_worst);
            free(x); free(y); free(sm); free(si);
        }
}

/* Runs forward_train and backward on a tensor; out gets y, save_mean, save_invstd,
   running stats, dx, dgamma, dbeta concatenated (y and dx in NCHW order). */
static void bn_run_all(trainopt_bn_shape sh, int relu, const float *x_nchw, const float *dy_nchw, int in_place,
                       float *out, trainopt_status *st) {
    const size_t total = sh.n * sh.c * sh.spatial, c = sh.c;
    const trainopt_bn_config cfg = bn_config(1e-5, 0.25, relu);
    float *x = (float *)malloc(total * sizeof(float)), *dy = (float *)malloc(total * sizeof(float)),
          *y = (float *)malloc(total * sizeof(float)), *dx = (float *)malloc(total * sizeof(float));
    float *gamma = (float *)malloc(c * sizeof(float)), *beta = (float *)malloc(c * sizeof(float));
    float *p = out;
    size_t j;
    for (j = 0; j < c; j++) {
        gamma[j] = 0.5f + 0.125f * (float)(j % 9);
        beta[j] = 0.25f * (float)(j % 5) - 0.5f;
        p[total + 2 * c + j] = 0.1f * (float)j; /* running_mean */
        p[total + 3 * c + j] = fmaf(0.01f, (float)j, 1.0f);
    }
    if (sh.layout == TRAINOPT_NCHW) {
        memcpy(x, x_nchw, total * sizeof(float));
        memcpy(dy, dy_nchw, total * sizeof(float));
    } else {
        bn_transpose(x_nchw, TRAINOPT_NCHW, x, sh.n, sh.c, sh.spatial);
        bn_transpose(dy_nchw, TRAINOPT_NCHW, dy, sh.n, sh.c, sh.spatial);
    }
    st[0] = trainopt_batchnorm_forward_train(&cfg, sh, x, gamma, beta, p + total + 2 * c, p + total + 3 * c,
                                             in_place ? x : y, p + total, p + total + c);
    if (in_place) {
        memcpy(y, x, total * sizeof(float)); /* x is gone: the backward pass needs it back */
        if (sh.layout == TRAINOPT_NCHW) memcpy(x, x_nchw, total * sizeof(float));
        else bn_transpose(x_nchw, TRAINOPT_NCHW, x, sh.n, sh.c, sh.spatial);
    }
    st[1] = trainopt_batchnorm_backward(&cfg, sh, x, dy, gamma, p + total, p + total + c, y, in_place ? dy : dx,
                                        p + 2 * total + 4 * c, p + 2 * total + 5 * c);
    if (in_place) memcpy(dx, dy, total * sizeof(float));
    if (sh.layout == TRAINOPT_NCHW) {
        memcpy(p, y, total * sizeof(float));
        memcpy(p + total + 4 * c, dx, total * sizeof(float));
    } else {
        bn_transpose(y, TRAINOPT_NHWC, p, sh.n, sh.c, sh.spatial);
        bn_transpose(dx, TRAINOPT_NHWC, p + total + 4 * c, sh.n, sh.c, sh.spatial);
    }
    free(x); free(dy); free(y); free(dx); free(gamma); free(beta);
}

/* NCHW and NHWC give the same bits for the same logical tensor, and in-place
   calls (y = x, dx = dy) the same bits as out-of-place ones, whichever internal
   path (channel tiles or whole rows) serves the shape. */
static void test_identities(to_ctx *t) {
    static const size_t shapes[][3] = {{2, 3, 5},   {4, 5, 1},   {3, 17, 3},   {2, 64, 49}, {2, 70, 25},
                                       {1, 70, 30}, {64, 130, 1}, {37, 130, 1}, {2, 3, 1100}, {1, 2, 2100},
                                       {5, 65, 16}, {40, 1, 1},    {9, 3, 4000}, {50, 2, 700}};
    size_t q;
    int relu;
    for (q = 0; q < sizeof shapes / sizeof *shapes; q++)
        for (relu = 0; relu < 2; relu++) {
            const size_t n = shapes[q][0], c = shapes[q][1], s = shapes[q][2], total = n * c * s,
                         outn = 2 * total + 6 * c;
            float *x = (float *)malloc(total * sizeof(float)), *dy = (float *)malloc(total * sizeof(float));
            float *ref = (float *)malloc(outn * sizeof(float)), *got = (float *)malloc(outn * sizeof(float));
            trainopt_status st[2];
            uint64_t seed = 300 + q;
            int l, ip;
            char what[128];
            bn_fill(&seed, x, n, c, s, TRAINOPT_NCHW, 3.0f);
            bn_fill(&seed, dy, n, c, s, TRAINOPT_NCHW, 0.0f);
            bn_run_all(bn_shape(n, c, s, TRAINOPT_NCHW), relu, x, dy, 0, ref, st);
            to_expect_status(t, st[0], TRAINOPT_OK, "identity forward");
            to_expect_status(t, st[1], TRAINOPT_OK, "identity backward");
            for (l = 0; l < 2; l++)
                for (ip = 0; ip < 2; ip++) {
                    if (!l && !ip) continue;
                    bn_run_all(bn_shape(n, c, s, (trainopt_layout)l), relu, x, dy, ip, got, st);
                    snprintf(what, sizeof what, "[%zu][%zu][%zu] relu %d: %s%s vs NCHW", n, c, s, relu, l ? "NHWC" : "NCHW",
                             ip ? " in place" : "");
                    to_bits_equal(t, what, got, ref, outn);
                }
            free(x); free(dy); free(ref); free(got);
        }
}

/* A NaN (or Inf) in one channel changes that channel only: every other channel's
   outputs keep the bits of a clean run. */
static void test_nan_channel(to_ctx *t) {
    static const size_t shapes[][3] = {{3, 5, 7}, {4, 70, 12}, {50, 9, 1}, {2, 3, 1100}};
    static const float bad[] = {NAN, INFINITY};
    size_t q, l, b2, j, i, k;
    for (q = 0; q < sizeof shapes / sizeof *shapes; q++)
        for (l = 0; l < 2; l++)
            for (b2 = 0; b2 < 2; b2++) {
                const trainopt_bn_shape sh = bn_shape(shapes[q][0], shapes[q][1], shapes[q][2], (trainopt_layout)l);
                const size_t total = sh.n * sh.c * sh.spatial, outn = 2 * total + 6 * sh.c, hit = 2;
                float *x = (float *)malloc(total * sizeof(float)), *dy = (float *)malloc(total * sizeof(float));
                float *clean = (float *)malloc(outn * sizeof(float)), *dirty = (float *)malloc(outn * sizeof(float));
                trainopt_status st[2];
                uint64_t seed = 900 + q;
                bn_fill(&seed, x, sh.n, sh.c, sh.spatial, TRAINOPT_NCHW, 0.0f);
                bn_fill(&seed, dy, sh.n, sh.c, sh.spatial, TRAINOPT_NCHW, 0.0f);
                bn_run_all(sh, 0, x, dy, 0, clean, st);
                x[bn_idx(TRAINOPT_NCHW, sh.c, sh.spatial, sh.n - 1, hit, sh.spatial / 2)] = bad[b2];
                bn_run_all(sh, 0, x, dy, 0, dirty, st);
                for (j = 0; j < sh.c; j++)
                    for (i = 0; i < sh.n; i++)
                        for (k = 0; k < sh.spatial; k++) {
                            const size_t qy = bn_idx(TRAINOPT_NCHW, sh.c, sh.spatial, i, j, k), qdx = total + 4 * sh.c + qy;
                            if (j == hit) {
                                if (!isnan(dirty[qy]) || !isnan(dirty[qdx])) {
                                    to_fail(t, "%s in channel %zu: y or dx finite at (%zu, %zu)", b2 ? "Inf" : "NaN", hit, i, k);
                                    i = sh.n;
                                    j = sh.c;
                                    break;
                                }
                            } else if (to_bits(dirty[qy]) != to_bits(clean[qy]) || to_bits(dirty[qdx]) != to_bits(clean[qdx])) {
                                to_fail(t, "%s in channel %zu leaked into channel %zu (%s)", b2 ? "Inf" : "NaN", hit, j, l ? "NHWC" : "NCHW");
                                i = sh.n;
                                j = sh.c;
                                break;
                            }
                        }
                /* save_mean, save_invstd, running stats, dgamma: NaN in the hit channel;
                   dbeta = sum(dy) does not see x. */
                for (j = 0; j < 6; j++)
                    for (i = 0; i < sh.c; i++) {
                        const size_t o = (j < 4 ? total : 2 * total) + j * sh.c + i;
                        if (i == hit && j < 5 ? !isnan(dirty[o]) : to_bits(dirty[o]) != to_bits(clean[o]))
                            to_fail(t, "%s: per-channel output %zu, channel %zu: 0x%08x", b2 ? "Inf" : "NaN", j, i,
                                    (unsigned)to_bits(dirty[o]));
                    }
                free(x); free(dy); free(clean); free(dirty);
            }
}

/* Per-channel outputs that are NaN are the one quiet NaN 0x7fc00000, whatever
   NaN came in (here a negative one), so their bits do not depend on which operand
   a compiler put first. */
static void test_nan_payload(to_ctx *t) {
    const trainopt_bn_config cfg = bn_config(1e-5, 0.5, 0);
    size_t l, i, j;
    for (l = 0; l < 2; l++) {
        const trainopt_bn_shape sh = bn_shape(3, 2, 5, (trainopt_layout)l);
        float x[30], dy[30], y[30], dx[30], sm[2], si[2], rm[2] = {0.0f, 0.0f}, rv[2] = {1.0f, 1.0f}, dg[2], db[2],
              sc[2], sf[2];
        float *outs[8];
        uint64_t seed = 3;
        for (i = 0; i < 30; i++) {
            x[i] = to_rand_normal(&seed);
            dy[i] = to_rand_normal(&seed);
        }
        x[bn_idx(sh.layout, 2, 5, 1, 1, 3)] = to_from_bits(0xffc00000u);  /* channel 1 */
        dy[bn_idx(sh.layout, 2, 5, 2, 0, 1)] = to_from_bits(0xffc00001u); /* channel 0 */
        to_expect_status(t, trainopt_batchnorm_forward_train(&cfg, sh, x, NULL, NULL, rm, rv, y, sm, si), TRAINOPT_OK, "nan payload train");
        to_expect_status(t, trainopt_batchnorm_backward(&cfg, sh, x, dy, NULL, sm, si, NULL, dx, dg, db), TRAINOPT_OK, "nan payload backward");
        rv[0] = to_from_bits(0xfff00000u);
        to_expect_status(t, trainopt_batchnorm_fold(&cfg, 2, NULL, NULL, rm, rv, sc, sf), TRAINOPT_OK, "nan payload fold");
        outs[0] = sm; outs[1] = si; outs[2] = rm; outs[3] = rv; outs[4] = dg; outs[5] = db; outs[6] = sc; outs[7] = sf;
        for (j = 0; j < 8; j++)
            for (i = 0; i < 2; i++) {
                const float v = outs[j][i];
                if (j == 3 && i == 0) continue; /* the input we poisoned */
                TO_CHECK(t, !isnan(v) || to_bits(v) == 0x7fc00000u, "%s output %zu channel %zu: NaN 0x%08x, want 0x7fc00000",
                         l ? "NHWC" : "NCHW", j, i, (unsigned)to_bits(v));
            }
        TO_CHECK(t, isnan(sm[1]) && isnan(si[1]) && isnan(dg[1]) && isnan(db[0]) && isnan(sc[0]) && isnan(sf[0]),
                 "%s: the poisoned channels must be NaN", l ? "NHWC" : "NCHW");
        TO_CHECK(t, !isnan(sm[0]) && !isnan(db[1]), "%s: the clean channels must not be NaN", l ? "NHWC" : "NCHW");
    }
}

/* Fold: scale and shift against double, and x*scale + shift against forward_infer. */
static void test_fold(to_ctx *t) {
    const size_t c = 37;
    const trainopt_bn_config cfg = bn_config(1e-3, 0.1, 0);
    to_buf g = to_buf_new(c, 1), b = to_buf_new(c, 2), rm = to_buf_new(c, 3), rv = to_buf_new(c, 0),
           sc = to_buf_new(c, 1), sh = to_buf_new(c, 3), x = to_buf_new(c, 2), y = to_buf_new(c, 1);
    double want[64], wshift[64], yref[64];
    uint64_t seed = 17;
    size_t j;
    for (j = 0; j < c; j++) {
        g.p[j] = to_rand_uniform(&seed, -2.0f, 2.0f);
        b.p[j] = to_rand_uniform(&seed, -1.0f, 1.0f);
        rm.p[j] = to_rand_uniform(&seed, -5.0f, 5.0f);
        rv.p[j] = to_rand_uniform(&seed, 0.0f, 3.0f);
        x.p[j] = rm.p[j] + to_rand_normal(&seed) * sqrtf(rv.p[j] + 1e-3f);
        want[j] = g.p[j] / sqrt((double)rv.p[j] + 1e-3);
        wshift[j] = b.p[j] - rm.p[j] * want[j];
    }
    to_expect_status(t, trainopt_batchnorm_fold(&cfg, c, g.p, b.p, rm.p, rv.p, sc.p, sh.p), TRAINOPT_OK, "fold");
    bn_close_each(t, "fold scale", sc.p, want, c, 1e-7, NULL);
    for (j = 0; j < c; j++) want[j] = fabs(b.p[j]) + fabs(rm.p[j] * want[j]);
    bn_close_each(t, "fold shift", sh.p, wshift, c, 1e-7, want);
    /* Applied as an engine would, against forward_infer on [1][c]. */
    to_expect_status(t, trainopt_batchnorm_forward_infer(&cfg, bn_shape(1, c, 1, TRAINOPT_NCHW), x.p, g.p, b.p, rm.p, rv.p, y.p), TRAINOPT_OK, "infer");
    for (j = 0; j < c; j++) yref[j] = fma((double)x.p[j], sc.p[j], sh.p[j]);
    bn_close_d(t, "x*scale + shift vs forward_infer", y.p, yref, c, 1e-6);
    /* NULL gamma and beta are 1 and 0; in place over the inputs. */
    memcpy(sc.p, rv.p, c * sizeof(float));
    memcpy(sh.p, rm.p, c * sizeof(float));
    to_expect_status(t, trainopt_batchnorm_fold(&cfg, c, NULL, NULL, sh.p, sc.p, sc.p, sh.p), TRAINOPT_OK, "fold in place");
    for (j = 0; j < c; j++) {
        want[j] = 1.0 / sqrt((double)rv.p[j] + 1e-3);
        wshift[j] = -rm.p[j] * want[j];
    }
    bn_close_each(t, "fold in place scale", sc.p, want, c, 1e-7, NULL);
    bn_close_each(t, "fold in place shift", sh.p, wshift, c, 1e-6, want);
    to_buf_canaries_ok(t, &sc, "scale");
    to_buf_canaries_ok(t, &sh, "shift");
    to_buf_free(&g); to_buf_free(&b); to_buf_free(&rm); to_buf_free(&rv); to_buf_free(&sc); to_buf_free(&sh);
    to_buf_free(&x); to_buf_free(&y);
}

/* Momentum 0 keeps the running statistics, momentum 1 replaces them (PyTorch's
   convention: running = (1 - momentum)*running + momentum*batch). */
static void test_momentum(to_ctx *t) {
    const trainopt_bn_shape sh = bn_shape(4, 3, 5, TRAINOPT_NHWC);
    bn_bufs B;
    float rm0[3], rv0[3];
    trainopt_bn_config cfg = bn_config(1e-5, 0.0, 0);
    size_t j;
    bn_bufs_new(&B, sh, 1);
    bn_bufs_fill(&B, 4242, 1.0f);
    memcpy(rm0, B.rm.p, sizeof rm0);
    memcpy(rv0, B.rv.p, sizeof rv0);
    to_expect_status(t, trainopt_batchnorm_forward_train(&cfg, sh, B.x.p, NULL, NULL, B.rm.p, B.rv.p, B.y.p, B.sm.p, B.si.p), TRAINOPT_OK, "momentum 0");
    to_bits_equal(t, "momentum 0 running_mean", B.rm.p, rm0, 3);
    to_bits_equal(t, "momentum 0 running_var", B.rv.p, rv0, 3);
    cfg.momentum = 1.0;
    to_expect_status(t, trainopt_batchnorm_forward_train(&cfg, sh, B.x.p, NULL, NULL, B.rm.p, B.rv.p, B.y.p, B.sm.p, B.si.p), TRAINOPT_OK, "momentum 1");
    to_bits_equal(t, "momentum 1 running_mean = save_mean", B.rm.p, B.sm.p, 3);
    for (j = 0; j < 3; j++) {
        /* unbiased: var*M/(M-1), with var from invstd */
        double var = 1.0 / ((double)B.si.p[j] * B.si.p[j]) - 1e-5;
        TO_CHECK(t, fabs(B.rv.p[j] / (var * 20.0 / 19.0) - 1.0) < 1e-5, "momentum 1 running_var[%zu] = %g, want %g", j,
                 (double)B.rv.p[j], var * 20.0 / 19.0);
    }
    bn_bufs_free(&B);
}

/* A zero dimension is a no-op: nothing is written, pointers may be NULL. */
static void test_empty(to_ctx *t) {
    static const size_t shapes[][3] = {{0, 3, 4}, {2, 0, 4}, {2, 3, 0}};
    const trainopt_bn_config cfg = bn_config(1e-5, 0.1, 0);
    float guard[8], ref[8];
    size_t q, l;
    for (q = 0; q < 8; q++) guard[q] = ref[q] = (float)q + 0.5f;
    for (q = 0; q < 3; q++)
        for (l = 0; l < 2; l++) {
            const trainopt_bn_shape sh = bn_shape(shapes[q][0], shapes[q][1], shapes[q][2], (trainopt_layout)l);
            to_expect_status(t, trainopt_batchnorm_forward_train(&cfg, sh, NULL, NULL, NULL, guard, guard + 3, NULL, guard + 6, NULL), TRAINOPT_OK, "empty train");
            to_expect_status(t, trainopt_batchnorm_forward_infer(&cfg, sh, NULL, NULL, NULL, NULL, NULL, NULL), TRAINOPT_OK, "empty infer");
            to_expect_status(t, trainopt_batchnorm_backward(&cfg, sh, NULL, NULL, NULL, NULL, NULL, NULL, NULL, guard, guard + 3), TRAINOPT_OK, "empty backward");
        }
    to_expect_status(t, trainopt_batchnorm_fold(&cfg, 0, NULL, NULL, NULL, NULL, NULL, NULL), TRAINOPT_OK, "empty fold");
    to_bits_equal(t, "nothing written", guard, ref, 8);
}

/* Every documented error returns its status and leaves every output untouched.
   The arrays are adjacent floats, so a pointer into one can run over the next
   (b + 7 reaches into rm) without pointing outside any array. */
typedef struct {
    float x[64], dy[64], y[64], dx[64], g[8], b[8], rm[8], rv[8], sm[8], si[8], dg[8], db[8];
} bn_err_bufs;

static void bn_err_fill(bn_err_bufs *e) {
    uint64_t seed = 99;
    float *p = (float *)(void *)e;
    size_t i;
    for (i = 0; i < sizeof *e / sizeof(float); i++) p[i] = to_rand_uniform(&seed, 0.5f, 1.5f);
}

static int bn_err_expect(to_ctx *t, trainopt_status got, trainopt_status want, const bn_err_bufs *e,
                         const char *what) {
    bn_err_bufs ref;
    bn_err_fill(&ref);
    if (!to_expect_status(t, got, want, what)) return 0;
    if (memcmp(&ref, e, sizeof ref) != 0) {
        to_fail(t, "%s: wrote to a buffer before failing", what);
        return 0;
    }
    return 1;
}

static trainopt_status bn_err_train(const trainopt_bn_config *c, trainopt_bn_shape s, bn_err_bufs *e) {
    return trainopt_batchnorm_forward_train(c, s, e->x, e->g, e->b, e->rm, e->rv, e->y, e->sm, e->si);
}
static trainopt_status bn_err_infer(const trainopt_bn_config *c, trainopt_bn_shape s, bn_err_bufs *e) {
    return trainopt_batchnorm_forward_infer(c, s, e->x, e->g, e->b, e->rm, e->rv, e->y);
}
static trainopt_status bn_err_backward(const trainopt_bn_config *c, trainopt_bn_shape s, bn_err_bufs *e) {
    return trainopt_batchnorm_backward(c, s, e->x, e->dy, e->g, e->sm, e->si, e->y, e->dx, e->dg, e->db);
}
static trainopt_status bn_err_fold(const trainopt_bn_config *c, trainopt_bn_shape s, bn_err_bufs *e) {
    return trainopt_batchnorm_fold(c, s.c, e->g, e->b, e->rm, e->rv, e->sm, e->si);
}

static void test_errors(to_ctx *t) {
    typedef trainopt_status (*bn_fn)(const trainopt_bn_config *, trainopt_bn_shape, bn_err_bufs *);
    static const bn_fn fns[] = {bn_err_train, bn_err_infer, bn_err_backward, bn_err_fold};
    static const char *const names[] = {"forward_train", "forward_infer", "backward", "fold"};
    static const double bad_eps[] = {0.0, -1e-5, NAN, INFINITY, -0.0};
    static const double bad_mom[] = {-0.01, 1.01, NAN, INFINITY, -INFINITY};
    const trainopt_bn_shape ok = bn_shape(2, 4, 3, TRAINOPT_NHWC);
    trainopt_bn_config cfg = bn_config(1e-5, 0.1, 1);
    trainopt_bn_shape sh;
    bn_err_bufs e;
    size_t f, i;
    char what[128];
    for (f = 0; f < 4; f++) {
        bn_err_fill(&e);
        snprintf(what, sizeof what, "%s: NULL config", names[f]);
        bn_err_expect(t, fns[f](NULL, ok, &e), TRAINOPT_ERR_NULL, &e, what);
        for (i = 0; i < 5; i++) {
            cfg = bn_config(bad_eps[i], 0.1, 0);
            snprintf(what, sizeof what, "%s: eps %g", names[f], bad_eps[i]);
            bn_err_expect(t, fns[f](&cfg, ok, &e), TRAINOPT_ERR_HPARAM, &e, what);
            cfg = bn_config(1e-5, bad_mom[i], 0);
            snprintf(what, sizeof what, "%s: momentum %g", names[f], bad_mom[i]);
            bn_err_expect(t, fns[f](&cfg, ok, &e), TRAINOPT_ERR_HPARAM, &e, what);
        }
        cfg = bn_config(1e-5, 0.1, 1);
        if (f == 3) {
            sh = bn_shape(1, SIZE_MAX / 2, 1, TRAINOPT_NCHW);
            bn_err_expect(t, fns[f](&cfg, sh, &e), TRAINOPT_ERR_SHAPE, &e, "fold: channels overflow");
            continue;
        }
        sh = ok;
        sh.layout = (trainopt_layout)2;
        snprintf(what, sizeof what, "%s: bad layout", names[f]);
        bn_err_expect(t, fns[f](&cfg, sh, &e), TRAINOPT_ERR_SHAPE, &e, what);
        sh = bn_shape(SIZE_MAX / 2, 3, 3, TRAINOPT_NCHW);
        snprintf(what, sizeof what, "%s: n*spatial overflows", names[f]);
        bn_err_expect(t, fns[f](&cfg, sh, &e), TRAINOPT_ERR_SHAPE, &e, what);
        sh = bn_shape((size_t)1 << 21, (size_t)1 << 21, (size_t)1 << 21, TRAINOPT_NHWC);
        snprintf(what, sizeof what, "%s: n*c*spatial overflows", names[f]);
        bn_err_expect(t, fns[f](&cfg, sh, &e), TRAINOPT_ERR_SHAPE, &e, what);
        sh = bn_shape(1, SIZE_MAX / 4, 2, TRAINOPT_NCHW);
        snprintf(what, sizeof what, "%s: bytes overflow", names[f]);
        bn_err_expect(t, fns[f](&cfg, sh, &e), TRAINOPT_ERR_SHAPE, &e, what);
    }
    /* N*S == 1 in training (inference and backward accept it). */
    for (i = 0; i < 2; i++) {
        sh = bn_shape(1, 5, 1, (trainopt_layout)i);
        bn_err_expect(t, bn_err_train(&cfg, sh, &e), TRAINOPT_ERR_SHAPE, &e, "train N*S == 1");
    }
    /* NULL pointers. */
    cfg = bn_config(1e-5, 0.1, 1);
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, NULL, e.g, e.b, e.rm, e.rv, e.y, e.sm, e.si), TRAINOPT_ERR_NULL, &e, "train x NULL");
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, e.x, e.g, e.b, e.rm, e.rv, NULL, e.sm, e.si), TRAINOPT_ERR_NULL, &e, "train y NULL");
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, e.x, e.g, e.b, e.rm, e.rv, e.y, NULL, e.si), TRAINOPT_ERR_NULL, &e, "train save_mean NULL");
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, e.x, e.g, e.b, e.rm, e.rv, e.y, e.sm, NULL), TRAINOPT_ERR_NULL, &e, "train save_invstd NULL");
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, e.x, e.g, e.b, NULL, e.rv, e.y, e.sm, e.si), TRAINOPT_ERR_NULL, &e, "train running_mean only");
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, e.x, e.g, e.b, e.rm, NULL, e.y, e.sm, e.si), TRAINOPT_ERR_NULL, &e, "train running_var only");
    bn_err_expect(t, trainopt_batchnorm_forward_infer(&cfg, ok, e.x, e.g, e.b, NULL, e.rv, e.y), TRAINOPT_ERR_NULL, &e, "infer running_mean NULL");
    bn_err_expect(t, trainopt_batchnorm_forward_infer(&cfg, ok, e.x, e.g, e.b, e.rm, NULL, e.y), TRAINOPT_ERR_NULL, &e, "infer running_var NULL");
    bn_err_expect(t, trainopt_batchnorm_forward_infer(&cfg, ok, NULL, e.g, e.b, e.rm, e.rv, e.y), TRAINOPT_ERR_NULL, &e, "infer x NULL");
    bn_err_expect(t, trainopt_batchnorm_forward_infer(&cfg, ok, e.x, e.g, e.b, e.rm, e.rv, NULL), TRAINOPT_ERR_NULL, &e, "infer y NULL");
    bn_err_expect(t, trainopt_batchnorm_backward(&cfg, ok, e.x, e.dy, e.g, e.sm, e.si, NULL, e.dx, e.dg, e.db), TRAINOPT_ERR_NULL, &e, "backward relu without y");
    bn_err_expect(t, trainopt_batchnorm_backward(&cfg, ok, NULL, e.dy, e.g, e.sm, e.si, e.y, e.dx, e.dg, e.db), TRAINOPT_ERR_NULL, &e, "backward x NULL");
    bn_err_expect(t, trainopt_batchnorm_backward(&cfg, ok, e.x, NULL, e.g, e.sm, e.si, e.y, e.dx, e.dg, e.db), TRAINOPT_ERR_NULL, &e, "backward dy NULL");
    bn_err_expect(t, trainopt_batchnorm_backward(&cfg, ok, e.x, e.dy, e.g, NULL, e.si, e.y, e.dx, e.dg, e.db), TRAINOPT_ERR_NULL, &e, "backward save_mean NULL");
    bn_err_expect(t, trainopt_batchnorm_backward(&cfg, ok, e.x, e.dy, e.g, e.sm, NULL, e.y, e.dx, e.dg, e.db), TRAINOPT_ERR_NULL, &e, "backward save_invstd NULL");
    bn_err_expect(t, trainopt_batchnorm_backward(&cfg, ok, e.x, e.dy, e.g, e.sm, e.si, e.y, NULL, e.dg, e.db), TRAINOPT_ERR_NULL, &e, "backward dx NULL");
    bn_err_expect(t, trainopt_batchnorm_fold(&cfg, 4, e.g, e.b, NULL, e.rv, e.sm, e.si), TRAINOPT_ERR_NULL, &e, "fold running_mean NULL");
    bn_err_expect(t, trainopt_batchnorm_fold(&cfg, 4, e.g, e.b, e.rm, e.rv, e.sm, NULL), TRAINOPT_ERR_NULL, &e, "fold shift NULL");
    /* Overlaps other than the exact elementwise aliases. */
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, e.x, e.g, e.b, e.rm, e.rv, e.x + 1, e.sm, e.si), TRAINOPT_ERR_ALIAS, &e, "train y = x + 1");
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, e.x, e.g, e.b, e.rm, e.rv, e.y, e.y + 3, e.si), TRAINOPT_ERR_ALIAS, &e, "train save_mean inside y");
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, e.x, e.g, e.b, e.rm, e.rv, e.y, e.sm, e.sm + 2), TRAINOPT_ERR_ALIAS, &e, "train save_invstd overlaps save_mean");
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, e.x, e.g, e.b, e.g, e.rv, e.y, e.sm, e.si), TRAINOPT_ERR_ALIAS, &e, "train running_mean = gamma");
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, e.x, e.g, e.b, e.rm, e.rm, e.y, e.sm, e.si), TRAINOPT_ERR_ALIAS, &e, "train running_var = running_mean");
    bn_err_expect(t, trainopt_batchnorm_forward_train(&cfg, ok, e.x, e.g, e.b, e.rm, e.rv, e.y, e.x, e.si), TRAINOPT_ERR_ALIAS, &e, "train save_mean inside x");
    bn_err_expect(t, trainopt_batchnorm_forward_infer(&cfg, ok, e.x, e.g, e.b, e.rm, e.rv, e.x + 2), TRAINOPT_ERR_ALIAS, &e, "infer y = x + 2");
    bn_err_expect(t, trainopt_batchnorm_forward_infer(&cfg, ok, e.x, e.g, e.b, e.rm, e.rv, e.b + 7), TRAINOPT_ERR_ALIAS, &e, "infer y over running_mean");
    bn_err_expect(t, trainopt_batchnorm_backward(&cfg, ok, e.x, e.dy, e.g, e.sm, e.si, e.y, e.dy + 1, e.dg, e.db), TRAINOPT_ERR_ALIAS, &e, "backward dx = dy + 1");
    bn_err_expect(t, trainopt_batchnorm_backward(&cfg, ok, e.x, e.dy, e.g, e.sm, e.si, e.y, e.dx, e.dg, e.dg), TRAINOPT_ERR_ALIAS, &e, "backward dbeta = dgamma");
    bn_err_expect(t, trainopt_batchnorm_backward(&cfg, ok, e.x, e.dy, e.g, e.sm, e.si, e.y, e.dx, e.g, e.db), TRAINOPT_ERR_ALIAS, &e, "backward dgamma = gamma");
    bn_err_expect(t, trainopt_batchnorm_backward(&cfg, ok, e.x, e.dy, e.g, e.sm, e.si, e.y, e.dx, e.dx + 4, e.db), TRAINOPT_ERR_ALIAS, &e, "backward dgamma inside dx");
    bn_err_expect(t, trainopt_batchnorm_fold(&cfg, 4, e.g, e.b, e.rm, e.rv, e.sm, e.sm), TRAINOPT_ERR_ALIAS, &e, "fold shift = scale");
    bn_err_expect(t, trainopt_batchnorm_fold(&cfg, 4, e.g, e.b, e.rm, e.rv, e.g + 1, e.si), TRAINOPT_ERR_ALIAS, &e, "fold scale = gamma + 1");
    /* Without fuse_relu, y is not read by backward: NULL and overlap both fine. */
    cfg.fuse_relu = 0;
    to_expect_status(t, trainopt_batchnorm_backward(&cfg, ok, e.x, e.dy, e.g, e.sm, e.si, NULL, e.dx, NULL, NULL), TRAINOPT_OK, "backward without relu, y NULL");
    bn_err_fill(&e);
    to_expect_status(t, trainopt_batchnorm_backward(&cfg, ok, e.x, e.dy, e.g, e.sm, e.si, e.dx + 1, e.dx, NULL, NULL), TRAINOPT_OK, "backward without relu ignores y");
    /* The statuses have names. */
    TO_CHECK(t, strcmp(trainopt_status_str(TRAINOPT_ERR_ALIAS), "buffers overlap") == 0, "status string");
}

/* A channel of -0 gets save_mean +0 on every backend; denormals are data. */
static void test_signed_zero(to_ctx *t) {
    const trainopt_bn_config cfg = bn_config(1e-5, 0.1, 0);
    size_t l, i;
    for (l = 0; l < 2; l++) {
        const trainopt_bn_shape sh = bn_shape(3, 2, 21, (trainopt_layout)l);
        float x[126], y[126], sm[2], si[2], dx[126], dg[2], db[2];
        for (i = 0; i < 126; i++) x[i] = -0.0f;
        to_expect_status(t, trainopt_batchnorm_forward_train(&cfg, sh, x, NULL, NULL, NULL, NULL, y, sm, si), TRAINOPT_OK, "-0");
        TO_CHECK(t, to_bits(sm[0]) == 0 && to_bits(sm[1]) == 0, "-0 channel: save_mean 0x%08x 0x%08x", (unsigned)to_bits(sm[0]), (unsigned)to_bits(sm[1]));
        TO_CHECK(t, fabsf(si[0] - 316.2278f) < 1e-3f, "constant channel: invstd %g", (double)si[0]);
        for (i = 0; i < 126; i++) TO_CHECK(t, y[i] == 0.0f, "-0 channel: y[%zu] = %g", i, (double)y[i]);
        to_expect_status(t, trainopt_batchnorm_backward(&cfg, sh, x, x, NULL, sm, si, NULL, dx, dg, db), TRAINOPT_OK, "-0 backward");
        TO_CHECK(t, to_bits(dg[0]) == 0 && to_bits(db[0]) == 0, "-0 channel: dgamma 0x%08x dbeta 0x%08x", (unsigned)to_bits(dg[0]), (unsigned)to_bits(db[0]));
    }
}

void TO_NAME(batchnorm_tests)(to_ctx *t) {
    to_run(t, "reference", test_reference);
    to_run(t, "golden-pytorch", test_golden);
    to_run(t, "finite-differences", test_finite_differences);
    to_run(t, "large-mean", test_large_mean);
    to_run(t, "layout-and-in-place-identity", test_identities);
    to_run(t, "nan-stays-in-channel", test_nan_channel);
    to_run(t, "nan-payload", test_nan_payload);
    to_run(t, "fold", test_fold);
    to_run(t, "momentum", test_momentum);
    to_run(t, "empty", test_empty);
    to_run(t, "errors", test_errors);
    to_run(t, "signed-zero", test_signed_zero);
}

/* ---- battery: the same calls on every backend, bits compared with scalar ---- */

/* Float records go through to_emit_floats: NaN-ness is compared, not NaN payloads
   (Inf - Inf makes 0xffc00000 on x86 and 0x7fc00000 on ARM). The kernels also
   emit NaN per-channel outputs as 0x7fc00000 themselves (test_nan_payload). */
static void bn_emit(to_sink *s, const char *name, const float *p, size_t n) { to_emit_floats(s, name, p, n); }

/* Data kinds: 0 normal, 1 large offset (1e4), 2 a NaN, 3 Infs, 4 -0 and denormals. */
static void bn_battery_case(to_sink *s, size_t n, size_t c, size_t sp, trainopt_layout l, int opt, int data,
                            size_t mis) {
    const trainopt_bn_shape sh = bn_shape(n, c, sp, l);
    const trainopt_bn_config cfg = bn_config(opt & 8 ? 1e-3 : 1e-5, opt & 16 ? 0.3 : 0.1, opt >> 2 & 1);
    bn_bufs B;
    char name[120], tag[80];
    uint64_t seed = n * 131 + c * 17 + sp + (size_t)opt * 7 + (size_t)data;
    const float *g = NULL, *be = NULL;
    float *rm = NULL, *rv = NULL;
    size_t i;
    bn_bufs_new(&B, sh, mis);
    bn_bufs_fill(&B, seed, data == 1 ? 1e4f : 0.0f);
    if (data == 2) B.x.p[B.total / 2] = to_from_bits(0x7fc00000u);
    if (data == 3) {
        B.x.p[B.total / 3] = INFINITY;
        B.x.p[B.total - 1] = -INFINITY;
        B.dy.p[0] = INFINITY;
    }
    if (data == 4)
        for (i = 0; i < B.total; i += 3) B.x.p[i] = i % 2 ? -0.0f : to_from_bits(0x80000001u + (uint32_t)(i % 5));
    if (opt & 1) {
        g = B.gamma.p;
        be = B.beta.p;
    }
    if (opt & 2) {
        rm = B.rm.p;
        rv = B.rv.p;
    }
    snprintf(tag, sizeof tag, "%s/%zux%zux%zu/o%d/d%d", l ? "nhwc" : "nchw", n, c, sp, opt, data);
#define BN_NAME(suffix) (snprintf(name, sizeof name, "%s/" suffix, tag), name)
    to_emit_status(s, BN_NAME("train-status"),
                   trainopt_batchnorm_forward_train(&cfg, sh, B.x.p, g, be, rm, rv, B.y.p, B.sm.p, B.si.p));
    bn_emit(s, BN_NAME("y"), B.y.p, B.total);
    bn_emit(s, BN_NAME("save_mean"), B.sm.p, c);
    bn_emit(s, BN_NAME("save_invstd"), B.si.p, c);
    bn_emit(s, BN_NAME("running_mean"), B.rm.p, c);
    bn_emit(s, BN_NAME("running_var"), B.rv.p, c);
    to_emit_status(s, BN_NAME("backward-status"),
                   trainopt_batchnorm_backward(&cfg, sh, B.x.p, B.dy.p, opt & 1 ? B.gamma.p : NULL, B.sm.p, B.si.p,
                                               B.y.p, B.dx.p, opt & 32 ? NULL : B.dgamma.p,
                                               opt & 32 ? NULL : B.dbeta.p));
    bn_emit(s, BN_NAME("dx"), B.dx.p, B.total);
    bn_emit(s, BN_NAME("dgamma"), B.dgamma.p, c);
    bn_emit(s, BN_NAME("dbeta"), B.dbeta.p, c);
    to_emit_status(s, BN_NAME("infer-status"),
                   trainopt_batchnorm_forward_infer(&cfg, sh, B.x.p, g, be, B.rm.p, B.rv.p, B.y.p));
    bn_emit(s, BN_NAME("infer-y"), B.y.p, B.total);
    /* In place: y = x, then dx = dy. */
    to_emit_status(s, BN_NAME("inplace-train-status"),
                   trainopt_batchnorm_forward_train(&cfg, sh, B.x.p, g, be, NULL, NULL, B.x.p, B.sm.p, B.si.p));
    bn_emit(s, BN_NAME("inplace-y"), B.x.p, B.total);
    to_emit_status(s, BN_NAME("inplace-backward-status"),
                   trainopt_batchnorm_backward(&cfg, sh, B.y.p, B.dy.p, g, B.sm.p, B.si.p, B.x.p, B.dy.p, B.dgamma.p,
                                               B.dbeta.p));
    bn_emit(s, BN_NAME("inplace-dx"), B.dy.p, B.total);
    to_emit_status(s, BN_NAME("fold-status"), trainopt_batchnorm_fold(&cfg, c, g, be, B.rm.p, B.rv.p, B.sm.p, B.si.p));
    bn_emit(s, BN_NAME("fold-scale"), B.sm.p, c);
    bn_emit(s, BN_NAME("fold-shift"), B.si.p, c);
#undef BN_NAME
    bn_bufs_free(&B);
}

void TO_NAME(batchnorm_battery)(to_sink *s) {
    static const size_t shapes[][3] = {{2, 3, 5},  {3, 17, 7},  {1, 65, 3},   {5, 1, 1},    {4, 70, 13},
                                       {2, 3, 1100}, {64, 130, 1}, {37, 130, 1}, {1, 7, 17},  {8, 16, 16},
                                       {2, 64, 49}, {3, 33, 33},  {2, 2, 2},    {9, 2, 4000}, {43, 2, 900}};
    const trainopt_bn_config cfg = bn_config(1e-5, 0.1, 0);
    size_t q, count = 0;
    int l, data;
    for (q = 0; q < sizeof shapes / sizeof *shapes; q++)
        for (l = 0; l < 2; l++) {
            bn_battery_case(s, shapes[q][0], shapes[q][1], shapes[q][2], (trainopt_layout)l, (int)(count % 64), 0,
                            count % 4);
            count += 11;
        }
    for (data = 1; data <= 4; data++)
        for (l = 0; l < 2; l++) {
            bn_battery_case(s, 3, 5, 40, (trainopt_layout)l, 7, data, (size_t)data % 4);
            bn_battery_case(s, 41, 70, 1, (trainopt_layout)l, 5, data, 1);
            bn_battery_case(s, 2, 3, 1500, (trainopt_layout)l, 3, data, 2);
        }
    /* Error statuses. */
    to_emit_status(s, "err/null-config", trainopt_batchnorm_forward_train(NULL, bn_shape(2, 2, 2, TRAINOPT_NCHW), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
    to_emit_status(s, "err/m1", trainopt_batchnorm_forward_train(&cfg, bn_shape(1, 2, 1, TRAINOPT_NCHW), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
    to_emit_status(s, "err/overflow", trainopt_batchnorm_forward_infer(&cfg, bn_shape(SIZE_MAX, 2, 2, TRAINOPT_NHWC), NULL, NULL, NULL, NULL, NULL, NULL));
    to_emit_status(s, "err/null", trainopt_batchnorm_backward(&cfg, bn_shape(2, 2, 2, TRAINOPT_NHWC), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
}
