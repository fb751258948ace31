/* tests/test_norms.c - layer, RMS and group normalization: golden data from
   PyTorch 1.13 (layer_norm, group_norm with autograd) and a float64 RMSNorm
   reference (tests/gen_norms.py); a row whose mean is 1e4 times its standard
   deviation against a float64 reference written here; the identities the design
   promises (chunked rows = whole, dweight from 16-row blocks = whole, the three
   weight-gradient paths = each other, in place = out of place, NaN stays in its
   row); every error status with nothing written. The battery covers odd shapes,
   every option and NaN/Inf/-0/denormal inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
/* Small, so that the tests and the battery cover the streaming store path too. */
#define TRAINOPT_STREAM_BYTES ((size_t)32 << 10)
#include "trainopt.h"

static trainopt_norm_config nm_config(double eps) {
    trainopt_norm_config c = TRAINOPT_NORM_DEFAULTS;
    c.eps = eps;
    return c;
}

static trainopt_bn_shape nm_shape(size_t n, size_t c, size_t s, trainopt_layout l) {
    trainopt_bn_shape sh;
    sh.n = n;
    sh.c = c;
    sh.spatial = s;
    sh.layout = l;
    return sh;
}

static float *nm_alloc(size_t n) { return (float *)malloc((n ? n : 1) * sizeof(float)); }

/* Uniform data with a per-row offset (explicit fmaf: no contraction differences). */
static void nm_fill(uint64_t *seed, float *x, size_t rows, size_t cols, float offset, float spread) {
    size_t r, j;
    for (r = 0; r < rows; r++)
        for (j = 0; j < cols; j++)
            x[r * cols + j] = fmaf(spread, to_rand_uniform(seed, -1.0f, 1.0f), offset + 0.25f * (float)(r % 5));
}

/* |got - want| <= rel * max(max|want|, floor) over finite want; NaN must match. The
   floor is the scale of the terms that cancel to make want (where want is nearly 0,
   as with one column, PyTorch's own rounding is all there is to compare). */
static int nm_close(to_ctx *t, const char *what, const float *got, const float *want, size_t n, double rel,
                    double floor, double *worst) {
    double m = floor > 1e-30 ? floor : 1e-30, e;
    size_t i;
    for (i = 0; i < n; i++)
        if (isfinite(want[i]) && fabs(want[i]) > m) m = fabs(want[i]);
    for (i = 0; i < n; i++) {
        if (isnan(want[i]) || isnan(got[i])) {
            if (isnan(want[i]) != isnan(got[i])) {
                to_fail(t, "%s: element %zu / %zu: got %.9g, want %.9g", what, i, n, (double)got[i], (double)want[i]);
                return 0;
            }
            continue;
        }
        e = fabs((double)got[i] - (double)want[i]) / m;
        if (worst && e > *worst) *worst = e;
        if (!(e <= rel)) {
            to_fail(t, "%s: element %zu / %zu: got %.9g (0x%08x), want %.9g (0x%08x), error %.3g of max|want|, tol %.3g",
                    what, i, n, (double)got[i], (unsigned)to_bits(got[i]), (double)want[i], (unsigned)to_bits(want[i]), e, rel);
            return 0;
        }
    }
    return 1;
}

/* ---- golden data from PyTorch ---- */

typedef struct {
    const unsigned char *p, *end;
    int ok;
} nm_reader;

static uint32_t nm_u32(nm_reader *r) {
    uint32_t v = 0;
    if (r->p + 4 <= r->end) memcpy(&v, r->p, 4);
    else r->ok = 0;
    r->p += 4;
    return v;
}
static double nm_f64(nm_reader *r) {
    double v = 0.0;
    if (r->p + 8 <= r->end) memcpy(&v, r->p, 8);
    else r->ok = 0;
    r->p += 8;
    return v;
}
/* n floats (NULL when absent); malloc'd. */
static float *nm_floats(nm_reader *r, size_t n, int present) {
    float *p;
    if (!present) return NULL;
    p = nm_alloc(n);
    if (r->p + 4 * n > r->end) {
        r->ok = 0;
        memset(p, 0, n * sizeof(float));
    } else {
        memcpy(p, r->p, 4 * n);
    }
    r->p += 4 * n;
    return p;
}

/* Tolerances, relative to the largest |value| of each array (or the floor of its
   terms' scale). PyTorch float32 cases: a few float roundings apart from PyTorch's
   own order of operations; worst seen on x86 (all backends): y 2.6e-7, dx 2.3e-7,
   dweight/dbias 4.7e-6 (PyTorch's column sums in float). Float64 cases (flag 16:
   every RMS norm case, one column, the ill-conditioned rows): worst seen 2.4e-7.
   The worst values are printed when the test fails. */
#define NM_TOL_F32 2e-6
#define NM_TOL_F32_GRAD 1e-5
#define NM_TOL_F64 1e-6
#define NM_TOL_F64_GRAD 1e-6

static void test_golden(to_ctx *t) {
    size_t len = 0, k;
    unsigned char *data = (unsigned char *)to_read_golden(t, "norms.bin", &len);
    nm_reader r;
    uint32_t count;
    double worst[2][4] = {{0}};
    if (!data) return;
    r.p = data;
    r.end = data + len;
    r.ok = 1;
    if (len < 12 || memcmp(data, "TONM", 4) != 0) {
        to_fail(t, "norms.bin: bad header");
        free(data);
        return;
    }
    r.p += 4;
    if (nm_u32(&r) != 1) to_fail(t, "norms.bin: unknown version");
    count = nm_u32(&r);
    if (count < 30) to_fail(t, "norms.bin: only %u cases", (unsigned)count);
    for (k = 0; k < count && r.ok; k++) {
        const uint32_t kind = nm_u32(&r), a = nm_u32(&r), b = nm_u32(&r), c = nm_u32(&r), d = nm_u32(&r);
        const uint32_t flags = nm_u32(&r);
        const trainopt_norm_config cfg = nm_config(nm_f64(&r));
        const int hw = (flags & 1) != 0, hb = (flags & 2) != 0, dbl = (flags & 16) != 0 || kind == 1;
        const size_t total = kind == 2 ? (size_t)a * b * c : (size_t)a * b, width = kind == 2 ? b : b;
        const size_t nstat = kind == 2 ? (size_t)a * d : a;
        const trainopt_bn_shape sh = nm_shape(a, b, c, (flags & 4) ? TRAINOPT_NHWC : TRAINOPT_NCHW);
        float *x = nm_floats(&r, total, 1), *w = nm_floats(&r, width, hw), *bias = nm_floats(&r, width, hb);
        float *dy = nm_floats(&r, total, 1), *y = nm_floats(&r, total, 1), *mean = nm_floats(&r, nstat, kind != 1);
        float *rstd = nm_floats(&r, nstat, 1), *dx = nm_floats(&r, total, 1), *dw = nm_floats(&r, width, hw);
        float *db = nm_floats(&r, width, hb);
        float *oy = nm_alloc(total), *om = nm_alloc(nstat), *orr = nm_alloc(nstat), *odx = nm_alloc(total);
        float *odw = nm_alloc(width), *odb = nm_alloc(width);
        const double tol = dbl ? NM_TOL_F64 : NM_TOL_F32, gtol = dbl ? NM_TOL_F64_GRAD : NM_TOL_F32_GRAD;
        double *wv = worst[dbl];
        char what[160];
        if (!r.ok) {
            to_fail(t, "norms.bin: truncated at case %zu", k);
        } else {
            static const char *const kinds[] = {"layernorm", "rmsnorm", "groupnorm"};
            trainopt_status s1, s2;
            /* floors: y's scale is the weight's; dx's is rstd*dy*w; dweight's a sum over
               rows of dy times xhat ~ 1, random in sign */
            const double wmax = hw ? to_max_abs(w, width) : 1.0;
            const double dwfloor = to_max_abs(dy, total) * sqrt((double)total / (double)width);
            snprintf(what, sizeof what, "golden case %zu (%s %ux%ux%ux%u flags %u eps %g)", k, kinds[kind % 3],
                     (unsigned)a, (unsigned)b, (unsigned)c, (unsigned)d, (unsigned)flags, cfg.eps);
            to_fill_nan(oy, total);
            to_fill_nan(odx, total);
            if (kind == 0) {
                s1 = trainopt_layernorm_forward(&cfg, a, b, x, w, bias, oy, om, orr);
                s2 = trainopt_layernorm_backward(&cfg, a, b, x, dy, w, om, orr, odx, hw ? odw : NULL, hb ? odb : NULL);
            } else if (kind == 1) {
                s1 = trainopt_rmsnorm_forward(&cfg, a, b, x, w, oy, orr);
                s2 = trainopt_rmsnorm_backward(&cfg, a, b, x, dy, w, orr, odx, hw ? odw : NULL);
            } else {
                s1 = trainopt_groupnorm_forward(&cfg, sh, d, x, w, bias, oy, om, orr);
                s2 = trainopt_groupnorm_backward(&cfg, sh, d, x, dy, w, om, orr, odx, hw ? odw : NULL, hb ? odb : NULL);
            }
            to_expect_status(t, s1, TRAINOPT_OK, what);
            to_expect_status(t, s2, TRAINOPT_OK, what);
            if (!nm_close(t, what, oy, y, total, tol, wmax, &wv[0])) to_fail(t, "%s: y", what);
            if (kind != 1 && !nm_close(t, what, om, mean, nstat, tol, 0.0, &wv[1])) to_fail(t, "%s: mean", what);
            if (!nm_close(t, what, orr, rstd, nstat, tol, 0.0, &wv[1])) to_fail(t, "%s: rstd", what);
            if (!nm_close(t, what, odx, dx, total, gtol, to_max_abs(rstd, nstat) * to_max_abs(dy, total) * wmax, &wv[2])) to_fail(t, "%s: dx", what);
            if (hw && !nm_close(t, what, odw, dw, width, gtol, dwfloor, &wv[3])) to_fail(t, "%s: dweight", what);
            if (hb && kind != 1 && !nm_close(t, what, odb, db, width, gtol, dwfloor, &wv[3])) to_fail(t, "%s: dbias", what);
        }
        free(x); free(w); free(bias); free(dy); free(y); free(mean); free(rstd); free(dx); free(dw); free(db);
        free(oy); free(om); free(orr); free(odx); free(odw); free(odb);
    }
    if (t->failures)
        to_fail(t, "worst errors (of max|want|): float32 cases y %.3g, stats %.3g, dx %.3g, dw/db %.3g; "
                   "float64 cases y %.3g, stats %.3g, dx %.3g, dw/db %.3g",
                worst[0][0], worst[0][1], worst[0][2], worst[0][3], worst[1][0], worst[1][1], worst[1][2], worst[1][3]);
    free(data);
}

/* ---- the ill-conditioned row, against float64 ---- */

/* Layer norm of rows whose mean is 1e4 times their standard deviation: rstd to
   1e-6 relative (the variance to 2e-6), y to 1e-6 of its scale, dx and dweight to
   2e-6 of their scale, measured against float64 from the same float inputs. A
   backward pass that trusted the saved float mean would be off by about 1e-4
   there: the test checks that such a pass (written here) is, so the accuracy it
   asks for is not free. */
static void test_ill_conditioned(to_ctx *t) {
    static const size_t shapes[][2] = {{3, 4096}, {40, 1000}, {20, 33}, {5, 5000}};
    size_t q;
    for (q = 0; q < sizeof shapes / sizeof *shapes; q++) {
        const size_t rows = shapes[q][0], cols = shapes[q][1], total = rows * cols;
        const trainopt_norm_config cfg = nm_config(1e-5);
        float *x = nm_alloc(total), *dy = nm_alloc(total), *w = nm_alloc(cols), *b = nm_alloc(cols);
        float *y = nm_alloc(total), *dx = nm_alloc(total), *m = nm_alloc(rows), *rs = nm_alloc(rows);
        float *dw = nm_alloc(cols), *db = nm_alloc(cols);
        double *dw_ref = (double *)calloc(cols, sizeof(double)), *dw_naive = (double *)calloc(cols, sizeof(double));
        double ey = 0, edx = 0, edw = 0, ers = 0, naive_dx = 0, sy = 0, sdx = 0, sdw = 0;
        uint64_t seed = 77 + q;
        size_t r, j;
        for (j = 0; j < total; j++) {
            x[j] = 1e4f + to_rand_uniform(&seed, -1.7f, 1.7f); /* std 1: mean 1e4 std */
            dy[j] = to_rand_uniform(&seed, -1.0f, 1.0f);
        }
        for (j = 0; j < cols; j++) {
            w[j] = to_rand_uniform(&seed, 0.5f, 1.5f);
            b[j] = to_rand_uniform(&seed, -0.5f, 0.5f);
        }
        to_expect_status(t, trainopt_layernorm_forward(&cfg, rows, cols, x, w, b, y, m, rs), TRAINOPT_OK, "ill forward");
        to_expect_status(t, trainopt_layernorm_backward(&cfg, rows, cols, x, dy, w, m, rs, dx, dw, db), TRAINOPT_OK, "ill backward");
        for (r = 0; r < rows; r++) {
            const float *xr = x + r * cols, *gr = dy + r * cols;
            double mean = 0, var = 0, rstd, sg = 0, sgx = 0, nsg = 0, nsgx = 0, nr = rs[r];
            for (j = 0; j < cols; j++) mean += xr[j];
            mean /= (double)cols;
            for (j = 0; j < cols; j++) var += (xr[j] - mean) * (xr[j] - mean);
            var /= (double)cols;
            rstd = 1.0 / sqrt(var + cfg.eps);
            if (fabs(rs[r] / rstd - 1.0) > ers) ers = fabs(rs[r] / rstd - 1.0);
            for (j = 0; j < cols; j++) {
                const double xh = (xr[j] - mean) * rstd, g = (double)gr[j] * w[j], nxh = (xr[j] - (double)m[r]) * nr;
                sg += g;
                sgx += g * xh;
                nsg += g;
                nsgx += g * nxh;
                dw_ref[j] += gr[j] * xh;
                dw_naive[j] += gr[j] * nxh;
                if (fabs(xh * w[j] + b[j]) > sy) sy = fabs(xh * w[j] + b[j]);
                if (fabs(xh * w[j] + b[j] - y[r * cols + j]) > ey) ey = fabs(xh * w[j] + b[j] - y[r * cols + j]);
            }
            for (j = 0; j < cols; j++) {
                const double xh = (xr[j] - mean) * rstd, g = (double)gr[j] * w[j], nxh = (xr[j] - (double)m[r]) * nr;
                const double want = rstd * (g - sg / (double)cols - xh * sgx / (double)cols);
                const double naive = nr * (g - nsg / (double)cols - nxh * nsgx / (double)cols);
                if (fabs(want) > sdx) sdx = fabs(want);
                if (fabs(want - dx[r * cols + j]) > edx) edx = fabs(want - dx[r * cols + j]);
                if (fabs(want - naive) > naive_dx) naive_dx = fabs(want - naive);
            }
        }
        {
            double naive_dw = 0;
            for (j = 0; j < cols; j++) {
                if (fabs(dw_ref[j]) > sdw) sdw = fabs(dw_ref[j]);
                if (fabs(dw_ref[j] - dw[j]) > edw) edw = fabs(dw_ref[j] - dw[j]);
                if (fabs(dw_ref[j] - dw_naive[j]) > naive_dw) naive_dw = fabs(dw_ref[j] - dw_naive[j]);
            }
            ey /= sy;
            edx /= sdx;
            edw /= sdw;
            naive_dx /= sdx;
            naive_dw /= sdw;
            if (!(ers <= 1e-6 && ey <= 1e-6 && edx <= 2e-6 && edw <= 2e-6))
                to_fail(t, "[%zu][%zu] mean 1e4 std: rstd %.3g, y %.3g, dx %.3g, dweight %.3g (relative; want <= 1e-6, 1e-6, 2e-6, 2e-6)",
                        rows, cols, ers, ey, edx, edw);
            if (!(naive_dx > 2e-5 || naive_dw > 2e-5))
                to_fail(t, "[%zu][%zu]: a backward that trusts the float mean is accurate here (dx %.3g, dweight %.3g): the test shows nothing",
                        rows, cols, naive_dx, naive_dw);
        }
        free(x); free(dy); free(w); free(b); free(y); free(dx); free(m); free(rs); free(dw); free(db);
        free(dw_ref); free(dw_naive);
    }
}

/* ---- identities ---- */

/* Layer/RMS norm forward and backward of rows [r0, r1) (pointers at row r0). */
static void nm_run(int rms, const trainopt_norm_config *cfg, size_t rows, size_t cols, const float *x, const float *dy,
                   const float *w, const float *b, float *y, float *m, float *rs, float *dx, float *dw, float *db,
                   to_ctx *t) {
    if (rms) {
        to_expect_status(t, trainopt_rmsnorm_forward(cfg, rows, cols, x, w, y, rs), TRAINOPT_OK, "rms forward");
        to_expect_status(t, trainopt_rmsnorm_backward(cfg, rows, cols, x, dy, w, rs, dx, dw), TRAINOPT_OK, "rms backward");
    } else {
        to_expect_status(t, trainopt_layernorm_forward(cfg, rows, cols, x, w, b, y, m, rs), TRAINOPT_OK, "ln forward");
        to_expect_status(t, trainopt_layernorm_backward(cfg, rows, cols, x, dy, w, m, rs, dx, dw, db), TRAINOPT_OK, "ln backward");
    }
}

/* Chunks of rows give the whole call's y, mean, rstd, dx; 16-row blocks run as
   separate calls, their dweight/dbias added in double in block order and rounded
   once, give the whole call's dweight/dbias; dx given (more than 16 rows: row by row,
   scratch in dx), 16 rows or fewer (one block) and dx NULL (blocks; stack sums, tiled
   above 256 columns) agree; in place = out of place. */
static void test_chunks(to_ctx *t) {
    static const size_t shapes[][2] = {{1, 7}, {17, 33}, {40, 300}, {37, 1000}, {16, 257}, {50, 256}, {21, 4100}};
    static const size_t chunks[] = {1, 3, 16, 17};
    size_t q, ci;
    int rms;
    for (q = 0; q < sizeof shapes / sizeof *shapes; q++)
        for (rms = 0; rms < 2; rms++) {
            const size_t rows = shapes[q][0], cols = shapes[q][1], total = rows * cols;
            const trainopt_norm_config cfg = nm_config(1e-5);
            float *x = nm_alloc(total), *dy = nm_alloc(total), *w = nm_alloc(cols), *b = nm_alloc(cols);
            float *y = nm_alloc(total), *m = nm_alloc(rows), *rs = nm_alloc(rows), *dx = nm_alloc(total);
            float *dw = nm_alloc(cols), *db = nm_alloc(cols);
            float *y2 = nm_alloc(total), *m2 = nm_alloc(rows), *rs2 = nm_alloc(rows), *dx2 = nm_alloc(total);
            float *dw2 = nm_alloc(cols), *db2 = nm_alloc(cols);
            double *sw = (double *)calloc(cols, sizeof(double)), *sb = (double *)calloc(cols, sizeof(double));
            uint64_t seed = 11 + q * 3 + (uint64_t)rms;
            char what[120];
            size_t r0, j;
            nm_fill(&seed, x, rows, cols, 3.0f, 2.0f);
            nm_fill(&seed, dy, rows, cols, 0.0f, 1.0f);
            nm_fill(&seed, w, 1, cols, 1.0f, 0.5f);
            nm_fill(&seed, b, 1, cols, 0.0f, 0.5f);
            nm_run(rms, &cfg, rows, cols, x, dy, w, b, y, m, rs, dx, dw, db, t);
            for (ci = 0; ci < sizeof chunks / sizeof *chunks; ci++) {
                const size_t ch = chunks[ci];
                snprintf(what, sizeof what, "%s [%zu][%zu] chunks of %zu rows", rms ? "rmsnorm" : "layernorm", rows, cols, ch);
                to_fill_nan(y2, total);
                to_fill_nan(dx2, total);
                for (r0 = 0; r0 < rows; r0 += ch) {
                    const size_t n = rows - r0 < ch ? rows - r0 : ch, o = r0 * cols;
                    nm_run(rms, &cfg, n, cols, x + o, dy + o, w, b, y2 + o, m2 + r0, rs2 + r0, dx2 + o, dw2, db2, t);
                    if (ch == 16)
                        for (j = 0; j < cols; j++) {
                            sw[j] = (r0 ? sw[j] : 0.0) + dw2[j];
                            sb[j] = (r0 ? sb[j] : 0.0) + db2[j];
                        }
                }
                to_bits_equal(t, what, y2, y, total);
                if (!rms) to_bits_equal(t, what, m2, m, rows);
                to_bits_equal(t, what, rs2, rs, rows);
                to_bits_equal(t, what, dx2, dx, total);
                if (ch == 16) {
                    for (j = 0; j < cols; j++) {
                        dw2[j] = (float)sw[j];
                        db2[j] = (float)sb[j];
                    }
                    to_bits_equal(t, "dweight from 16-row blocks added in double", dw2, dw, cols);
                    if (!rms) to_bits_equal(t, "dbias from 16-row blocks added in double", db2, db, cols);
                }
            }
            /* dx NULL: the weight gradients alone (the tiled path when cols > 256). */
            to_fill_nan(dw2, cols);
            to_fill_nan(db2, cols);
            if (rms) to_expect_status(t, trainopt_rmsnorm_backward(&cfg, rows, cols, x, dy, w, rs, NULL, dw2), TRAINOPT_OK, "no dx");
            else to_expect_status(t, trainopt_layernorm_backward(&cfg, rows, cols, x, dy, w, m, rs, NULL, dw2, db2), TRAINOPT_OK, "no dx");
            to_bits_equal(t, "dweight without dx", dw2, dw, cols);
            if (!rms) to_bits_equal(t, "dbias without dx", db2, db, cols);
            /* dweight NULL: dx alone. */
            to_fill_nan(dx2, total);
            if (rms) to_expect_status(t, trainopt_rmsnorm_backward(&cfg, rows, cols, x, dy, w, rs, dx2, NULL), TRAINOPT_OK, "no dw");
            else to_expect_status(t, trainopt_layernorm_backward(&cfg, rows, cols, x, dy, w, m, rs, dx2, NULL, NULL), TRAINOPT_OK, "no dw");
            to_bits_equal(t, "dx without dweight", dx2, dx, total);
            /* In place forward. */
            memcpy(y2, x, total * sizeof(float));
            if (rms) trainopt_rmsnorm_forward(&cfg, rows, cols, y2, w, y2, rs2);
            else trainopt_layernorm_forward(&cfg, rows, cols, y2, w, b, y2, m2, rs2);
            to_bits_equal(t, "in-place y", y2, y, total);
            free(x); free(dy); free(w); free(b); free(y); free(m); free(rs); free(dx); free(dw); free(db);
            free(y2); free(m2); free(rs2); free(dx2); free(dw2); free(db2); free(sw); free(sb);
        }
}

/* Group norm: chunks of samples give the whole call's y, mean, rstd, dx; a group
   of more than 256 channels (swept per tile) agrees with the float64 reference
   in the golden data already; here dx NULL and dweight NULL agree with the full
   call, and in place = out of place. */
static void test_groupnorm_identities(to_ctx *t) {
    static const size_t shapes[][4] = {{3, 12, 33, 4}, {5, 600, 3, 1}, {4, 64, 1, 16}, {2, 16, 1100, 2}};
    size_t q, n0, i;
    for (q = 0; q < sizeof shapes / sizeof *shapes; q++) {
        const trainopt_bn_shape sh = nm_shape(shapes[q][0], shapes[q][1], shapes[q][2], TRAINOPT_NCHW);
        const size_t groups = shapes[q][3], per = sh.c * sh.spatial, total = sh.n * per, ns = sh.n * groups;
        const trainopt_norm_config cfg = nm_config(1e-5);
        float *x = nm_alloc(total), *dy = nm_alloc(total), *w = nm_alloc(sh.c), *b = nm_alloc(sh.c);
        float *y = nm_alloc(total), *m = nm_alloc(ns), *rs = nm_alloc(ns), *dx = nm_alloc(total);
        float *dw = nm_alloc(sh.c), *db = nm_alloc(sh.c), *y2 = nm_alloc(total), *m2 = nm_alloc(ns);
        float *rs2 = nm_alloc(ns), *dx2 = nm_alloc(total), *dw2 = nm_alloc(sh.c), *db2 = nm_alloc(sh.c);
        uint64_t seed = 300 + q;
        nm_fill(&seed, x, sh.n, per, -2.0f, 3.0f);
        nm_fill(&seed, dy, sh.n, per, 0.0f, 1.0f);
        nm_fill(&seed, w, 1, sh.c, 1.0f, 0.5f);
        nm_fill(&seed, b, 1, sh.c, 0.0f, 0.5f);
        to_expect_status(t, trainopt_groupnorm_forward(&cfg, sh, groups, x, w, b, y, m, rs), TRAINOPT_OK, "gn forward");
        to_expect_status(t, trainopt_groupnorm_backward(&cfg, sh, groups, x, dy, w, m, rs, dx, dw, db), TRAINOPT_OK, "gn backward");
        to_fill_nan(y2, total);
        to_fill_nan(dx2, total);
        for (n0 = 0; n0 < sh.n; n0++) {
            const trainopt_bn_shape one = nm_shape(1, sh.c, sh.spatial, TRAINOPT_NCHW);
            const size_t o = n0 * per;
            to_expect_status(t, trainopt_groupnorm_forward(&cfg, one, groups, x + o, w, b, y2 + o, m2 + n0 * groups, rs2 + n0 * groups), TRAINOPT_OK, "gn chunk");
            to_expect_status(t, trainopt_groupnorm_backward(&cfg, one, groups, x + o, dy + o, w, m + n0 * groups, rs + n0 * groups, NULL, NULL, NULL), TRAINOPT_OK, "gn chunk, no outputs");
            to_expect_status(t, trainopt_groupnorm_backward(&cfg, one, groups, x + o, dy + o, w, m + n0 * groups, rs + n0 * groups, dx2 + o, NULL, NULL), TRAINOPT_OK, "gn chunk backward");
        }
        to_bits_equal(t, "groupnorm chunked y", y2, y, total);
        to_bits_equal(t, "groupnorm chunked mean", m2, m, ns);
        to_bits_equal(t, "groupnorm chunked rstd", rs2, rs, ns);
        to_bits_equal(t, "groupnorm chunked dx", dx2, dx, total);
        to_fill_nan(dw2, sh.c);
        to_fill_nan(db2, sh.c);
        to_expect_status(t, trainopt_groupnorm_backward(&cfg, sh, groups, x, dy, w, m, rs, NULL, dw2, db2), TRAINOPT_OK, "gn no dx");
        to_bits_equal(t, "groupnorm dweight without dx", dw2, dw, sh.c);
        to_bits_equal(t, "groupnorm dbias without dx", db2, db, sh.c);
        for (i = 0; i < total; i++) y2[i] = x[i];
        to_expect_status(t, trainopt_groupnorm_forward(&cfg, sh, groups, y2, w, b, y2, NULL, NULL), TRAINOPT_OK, "gn in place");
        to_bits_equal(t, "groupnorm in-place y", y2, y, total);
        free(x); free(dy); free(w); free(b); free(y); free(m); free(rs); free(dx); free(dw); free(db);
        free(y2); free(m2); free(rs2); free(dx2); free(dw2); free(db2);
    }
}

/* Group norm with spatial = 1 given as NHWC is the same memory as NCHW: same bits. */
static void test_groupnorm_nhwc_spatial1(to_ctx *t) {
    const trainopt_norm_config cfg = nm_config(1e-5);
    float x[6 * 8], y[6 * 8], y2[6 * 8], m[12], rs[12], w[8];
    uint64_t seed = 9;
    nm_fill(&seed, x, 6, 8, 1.0f, 2.0f);
    nm_fill(&seed, w, 1, 8, 1.0f, 0.5f);
    to_expect_status(t, trainopt_groupnorm_forward(&cfg, nm_shape(6, 8, 1, TRAINOPT_NCHW), 2, x, w, NULL, y, m, rs), TRAINOPT_OK, "nchw");
    to_expect_status(t, trainopt_groupnorm_forward(&cfg, nm_shape(6, 8, 1, TRAINOPT_NHWC), 2, x, w, NULL, y2, m, rs), TRAINOPT_OK, "nhwc");
    to_bits_equal(t, "spatial 1: NHWC = NCHW", y2, y, 48);
}

/* ---- NaN ---- */

/* A NaN in one row: that row's y, mean, rstd and dx are NaN; every other row keeps
   the bits it has without the NaN. dweight/dbias sum over rows, so they are NaN
   (as PyTorch's). Group norm: the same per (sample, group). */
static void test_nan_row(to_ctx *t) {
    const size_t rows = 6, cols = 70, total = rows * cols;
    const trainopt_norm_config cfg = nm_config(1e-5);
    float x[6 * 70], dy[6 * 70], w[70], b[70], y[6 * 70], m[6], rs[6], dx[6 * 70], dw[70], db[70];
    float y2[6 * 70], m2[6], rs2[6], dx2[6 * 70], dw2[70], db2[70];
    uint64_t seed = 21;
    size_t r, j;
    int rms;
    nm_fill(&seed, x, rows, cols, 1.0f, 2.0f);
    nm_fill(&seed, dy, rows, cols, 0.0f, 1.0f);
    nm_fill(&seed, w, 1, cols, 1.0f, 0.5f);
    nm_fill(&seed, b, 1, cols, 0.0f, 0.5f);
    for (rms = 0; rms < 2; rms++) {
        nm_run(rms, &cfg, rows, cols, x, dy, w, b, y, m, rs, dx, dw, db, t);
        const float kept = x[2 * cols + 5];
        x[2 * cols + 5] = NAN;
        nm_run(rms, &cfg, rows, cols, x, dy, w, b, y2, m2, rs2, dx2, dw2, db2, t);
        x[2 * cols + 5] = kept;
        for (r = 0; r < rows; r++) {
            if (r == 2) {
                for (j = 0; j < cols; j++)
                    TO_CHECK(t, isnan(y2[r * cols + j]) && isnan(dx2[r * cols + j]), "NaN row: y/dx[%zu] not NaN", j);
                TO_CHECK(t, isnan(rs2[r]) && (rms || isnan(m2[r])), "NaN row: mean/rstd not NaN");
                TO_CHECK(t, to_bits(rs2[r]) == 0x7fc00000u, "NaN row: rstd is 0x%08x, want the quiet NaN 0x7fc00000", (unsigned)to_bits(rs2[r]));
            } else {
                to_bits_equal(t, "row without NaN: y", y2 + r * cols, y + r * cols, cols);
                to_bits_equal(t, "row without NaN: dx", dx2 + r * cols, dx + r * cols, cols);
                to_bits_equal(t, "row without NaN: rstd", rs2 + r, rs + r, 1);
            }
        }
        for (j = 0; j < cols; j++) TO_CHECK(t, isnan(dw2[j]), "dweight[%zu] not NaN", j);
    }
    (void)total;
    {
        const trainopt_bn_shape sh = nm_shape(2, 6, 10, TRAINOPT_NCHW);
        float gy[120], gm[6], gr[6];
        nm_fill(&seed, x, 2, 60, 0.0f, 1.0f);
        x[65] = NAN; /* sample 1, channel 0: group 0 of sample 1 */
        to_expect_status(t, trainopt_groupnorm_forward(&cfg, sh, 3, x, w, b, gy, gm, gr), TRAINOPT_OK, "gn nan");
        for (j = 0; j < 120; j++) {
            const int in_group = j >= 60 && j < 80;
            TO_CHECK(t, in_group == !!isnan(gy[j]), "group norm NaN: y[%zu] = %g", j, (double)gy[j]);
        }
        TO_CHECK(t, isnan(gr[3]) && !isnan(gr[0]) && !isnan(gr[4]), "group norm NaN: rstd");
    }
}

/* ---- errors ---- */

/* Every refusal leaves every output untouched. */
static void test_errors(to_ctx *t) {
    const trainopt_norm_config ok = nm_config(1e-5);
    trainopt_norm_config bad;
    float x[64], dy[64], y[64], dx[64], w[8], m[8], rs[8], dw[8], db[8];
    float before[64];
    size_t i;
    static const double bad_eps[] = {0.0, -1e-5, NAN, INFINITY};
    for (i = 0; i < 64; i++) x[i] = dy[i] = (float)i;
    for (i = 0; i < 8; i++) w[i] = m[i] = rs[i] = 1.0f;
    to_fill_nan(y, 64);
    to_fill_nan(dx, 64);
    memcpy(before, y, sizeof before);
#define NM_ERR(call, want, what)                                                            \
    do {                                                                                  \
        to_expect_status(t, (call), (want), what);                                        \
        TO_CHECK(t, memcmp(y, before, sizeof y) == 0 && memcmp(dx, before, sizeof dx) == 0, \
                 "%s: an output changed", what);                                          \
    } while (0)
    NM_ERR(trainopt_layernorm_forward(NULL, 8, 8, x, w, NULL, y, m, rs), TRAINOPT_ERR_NULL, "ln null config");
    NM_ERR(trainopt_layernorm_forward(NULL, 0, 8, x, w, NULL, y, m, rs), TRAINOPT_ERR_NULL, "ln null config, rows 0");
    for (i = 0; i < 4; i++) {
        bad = nm_config(bad_eps[i]);
        NM_ERR(trainopt_layernorm_forward(&bad, 8, 8, x, w, NULL, y, m, rs), TRAINOPT_ERR_HPARAM, "ln bad eps");
        NM_ERR(trainopt_rmsnorm_backward(&bad, 8, 8, x, dy, w, rs, dx, dw), TRAINOPT_ERR_HPARAM, "rms bad eps");
        NM_ERR(trainopt_groupnorm_forward(&bad, nm_shape(2, 4, 8, TRAINOPT_NCHW), 2, x, w, NULL, y, m, rs), TRAINOPT_ERR_HPARAM, "gn bad eps");
    }
    NM_ERR(trainopt_layernorm_forward(&ok, 8, 0, x, w, NULL, y, m, rs), TRAINOPT_ERR_SHAPE, "ln cols 0");
    NM_ERR(trainopt_layernorm_forward(&ok, SIZE_MAX / 2, 8, x, w, NULL, y, m, rs), TRAINOPT_ERR_SHAPE, "ln overflow");
    NM_ERR(trainopt_rmsnorm_forward(&ok, 8, SIZE_MAX / 8, x, w, y, rs), TRAINOPT_ERR_SHAPE, "rms overflow");
    NM_ERR(trainopt_layernorm_forward(&ok, 8, 8, NULL, w, NULL, y, m, rs), TRAINOPT_ERR_NULL, "ln x NULL");
    NM_ERR(trainopt_layernorm_forward(&ok, 8, 8, x, w, NULL, NULL, m, rs), TRAINOPT_ERR_NULL, "ln y NULL");
    NM_ERR(trainopt_layernorm_forward(&ok, 7, 8, y + 1, w, NULL, y, m, rs), TRAINOPT_ERR_ALIAS, "ln y one float before x");
    NM_ERR(trainopt_layernorm_forward(&ok, 7, 8, y, w, NULL, y + 8, m, rs), TRAINOPT_ERR_ALIAS, "ln y partial overlap x");
    NM_ERR(trainopt_layernorm_forward(&ok, 8, 8, x, w, NULL, y, y + 60, rs), TRAINOPT_ERR_ALIAS, "ln mean inside y");
    NM_ERR(trainopt_layernorm_forward(&ok, 8, 8, x, w, NULL, y, m, m), TRAINOPT_ERR_ALIAS, "ln mean = rstd");
    NM_ERR(trainopt_layernorm_backward(&ok, 8, 8, x, dy, w, NULL, rs, dx, dw, db), TRAINOPT_ERR_NULL, "ln backward mean NULL");
    NM_ERR(trainopt_layernorm_backward(&ok, 8, 8, x, dy, w, m, NULL, dx, dw, db), TRAINOPT_ERR_NULL, "ln backward rstd NULL");
    NM_ERR(trainopt_layernorm_backward(&ok, 8, 8, x, NULL, w, m, rs, dx, dw, db), TRAINOPT_ERR_NULL, "ln backward dy NULL");
    NM_ERR(trainopt_layernorm_backward(&ok, 8, 8, x, dx, w, m, rs, dx, dw, db), TRAINOPT_ERR_ALIAS, "ln backward dx = dy");
    NM_ERR(trainopt_layernorm_backward(&ok, 8, 8, dx, dy, w, m, rs, dx, dw, db), TRAINOPT_ERR_ALIAS, "ln backward dx = x");
    NM_ERR(trainopt_layernorm_backward(&ok, 8, 8, x, dy, w, m, rs, dx, dw, dw), TRAINOPT_ERR_ALIAS, "ln backward dweight = dbias");
    NM_ERR(trainopt_rmsnorm_backward(&ok, 8, 8, x, dy, w, NULL, dx, dw), TRAINOPT_ERR_NULL, "rms backward rstd NULL");
    NM_ERR(trainopt_rmsnorm_backward(&ok, 8, 8, x, dy, dx + 4, rs, dx, dw), TRAINOPT_ERR_ALIAS, "rms backward weight inside dx");
    NM_ERR(trainopt_groupnorm_forward(&ok, nm_shape(2, 4, 8, TRAINOPT_NCHW), 0, x, w, NULL, y, m, rs), TRAINOPT_ERR_SHAPE, "gn groups 0");
    NM_ERR(trainopt_groupnorm_forward(&ok, nm_shape(2, 4, 8, TRAINOPT_NCHW), 3, x, w, NULL, y, m, rs), TRAINOPT_ERR_SHAPE, "gn groups not dividing");
    NM_ERR(trainopt_groupnorm_forward(&ok, nm_shape(2, 4, 8, TRAINOPT_NHWC), 2, x, w, NULL, y, m, rs), TRAINOPT_ERR_SHAPE, "gn NHWC spatial 8");
    NM_ERR(trainopt_groupnorm_forward(&ok, nm_shape(2, 4, 8, (trainopt_layout)7), 2, x, w, NULL, y, m, rs), TRAINOPT_ERR_SHAPE, "gn bad layout");
    NM_ERR(trainopt_groupnorm_forward(&ok, nm_shape(2, 0, 8, TRAINOPT_NCHW), 2, x, w, NULL, y, m, rs), TRAINOPT_ERR_SHAPE, "gn c 0");
    NM_ERR(trainopt_groupnorm_forward(&ok, nm_shape(2, 4, 0, TRAINOPT_NCHW), 2, x, w, NULL, y, m, rs), TRAINOPT_ERR_SHAPE, "gn spatial 0");
    NM_ERR(trainopt_groupnorm_forward(&ok, nm_shape(SIZE_MAX / 4, 4, 8, TRAINOPT_NCHW), 2, x, w, NULL, y, m, rs), TRAINOPT_ERR_SHAPE, "gn overflow");
    NM_ERR(trainopt_groupnorm_backward(&ok, nm_shape(2, 4, 8, TRAINOPT_NCHW), 2, x, dy, w, NULL, rs, dx, dw, db), TRAINOPT_ERR_NULL, "gn backward mean NULL");
    NM_ERR(trainopt_groupnorm_backward(&ok, nm_shape(2, 4, 8, TRAINOPT_NCHW), 2, x, dy, w, m, rs, dx, dw, dx + 3), TRAINOPT_ERR_ALIAS, "gn backward dbias inside dx");
    /* Empty: nothing to do, pointers may be NULL. */
    to_expect_status(t, trainopt_layernorm_forward(&ok, 0, 8, NULL, NULL, NULL, NULL, NULL, NULL), TRAINOPT_OK, "ln rows 0");
    to_expect_status(t, trainopt_rmsnorm_backward(&ok, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL), TRAINOPT_OK, "rms rows 0");
    to_expect_status(t, trainopt_groupnorm_backward(&ok, nm_shape(0, 4, 8, TRAINOPT_NCHW), 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), TRAINOPT_OK, "gn n 0");
    TO_CHECK(t, strncmp(trainopt_last_error(), "trainopt_", 9) == 0, "last_error: %s", trainopt_last_error());
#undef NM_ERR
}

/* cols = 1: var 0, xhat 0, y = bias, dx = 0 (PyTorch gives the same). */
static void test_one_column(to_ctx *t) {
    const trainopt_norm_config cfg = nm_config(1e-5);
    float x[5] = {1, -2, 3e4f, 0, 7}, dy[5] = {1, 2, 3, 4, 5}, w[1] = {2}, b[1] = {0.5f}, y[5], m[5], rs[5], dx[5], dw[1], db[1];
    size_t i;
    to_expect_status(t, trainopt_layernorm_forward(&cfg, 5, 1, x, w, b, y, m, rs), TRAINOPT_OK, "cols 1");
    to_expect_status(t, trainopt_layernorm_backward(&cfg, 5, 1, x, dy, w, m, rs, dx, dw, db), TRAINOPT_OK, "cols 1 backward");
    for (i = 0; i < 5; i++) {
        /* dx = fma(x - mu, k, fma(g, a, c)) with c = -a*g rounded: the rounding of a*g
           is left, at most an ulp of it */
        TO_CHECK(t, y[i] == 0.5f && m[i] == x[i] && fabs(dx[i]) <= 0x1p-23 * rs[i] * fabs(2.0 * dy[i]),
                 "cols 1: row %zu: y %g mean %g dx %g", i, (double)y[i], (double)m[i], (double)dx[i]);
        TO_CHECK(t, fabs(rs[i] - 1.0 / sqrt(1e-5)) < 1e-3, "cols 1: rstd %g", (double)rs[i]);
    }
    TO_CHECK(t, dw[0] == 0.0f && db[0] == 15.0f, "cols 1: dweight %g dbias %g", (double)dw[0], (double)db[0]);
}

/* Guard pages: every array flush against a PROT_NONE page after its last element,
   then before its first; one byte touched outside crashes the runner. Rows and cols
   from 0 to 3 AVX-512 widths and past the block sizes (16 rows, 256 and 1024 cols:
   the one-block, row-by-row (scratch in dx) and tiled weight-gradient paths). */
enum { NG_X, NG_DY, NG_Y, NG_DX, NG_W, NG_B, NG_M, NG_R, NG_DW, NG_DB, NG_COUNT };
static int nm_guard_shape(size_t rows, size_t cols, int at_end) {
    const trainopt_norm_config cfg = nm_config(1e-5);
    const size_t total = rows * cols;
    const size_t sizes[NG_COUNT] = {total, total, total, total, cols, cols, rows, rows, cols, cols};
    to_guard g[NG_COUNT];
    uint64_t seed = 5;
    int i, bad = 0;
    for (i = 0; i < NG_COUNT; i++) {
        g[i] = to_guard_new(sizes[i], at_end);
        to_rand_fill(&seed, g[i].p, g[i].n, -1.0f, 2.0f);
    }
#define G(i) g[i].p
#define BAD(call) do { int st_ = (int)(call); if (st_ != TRAINOPT_OK && !bad) bad = st_; } while (0)
    BAD(trainopt_layernorm_forward(&cfg, rows, cols, G(NG_X), G(NG_W), G(NG_B), G(NG_Y), G(NG_M), G(NG_R)));
    BAD(trainopt_layernorm_backward(&cfg, rows, cols, G(NG_X), G(NG_DY), G(NG_W), G(NG_M), G(NG_R), G(NG_DX), G(NG_DW), G(NG_DB)));
    BAD(trainopt_layernorm_backward(&cfg, rows, cols, G(NG_X), G(NG_DY), NULL, G(NG_M), G(NG_R), NULL, G(NG_DW), G(NG_DB)));
    BAD(trainopt_layernorm_forward(&cfg, rows, cols, G(NG_Y), NULL, NULL, G(NG_Y), NULL, NULL));
    BAD(trainopt_rmsnorm_forward(&cfg, rows, cols, G(NG_X), G(NG_W), G(NG_Y), G(NG_R)));
    BAD(trainopt_rmsnorm_backward(&cfg, rows, cols, G(NG_X), G(NG_DY), G(NG_W), G(NG_R), G(NG_DX), G(NG_DW)));
    if (cols % 2 == 0 && cols > 0) { /* group norm: 2 channels of cols/2 values, one group (mean, rstd [rows]) */
        trainopt_bn_shape sh;
        sh.n = rows, sh.c = 2, sh.spatial = cols / 2, sh.layout = TRAINOPT_NCHW;
        BAD(trainopt_groupnorm_forward(&cfg, sh, 1, G(NG_X), G(NG_W), G(NG_B), G(NG_Y), G(NG_M), G(NG_R)));
        BAD(trainopt_groupnorm_backward(&cfg, sh, 1, G(NG_X), G(NG_DY), G(NG_W), G(NG_M), G(NG_R), G(NG_Y), G(NG_DW), G(NG_DB)));
    }
#undef BAD
#undef G
    for (i = 0; i < NG_COUNT; i++) to_guard_free(&g[i]);
    return bad;
}

static void test_guard(to_ctx *t) {
    static const size_t large[][2] = {{17, 257}, {33, 1025}, {2, 4099}, {40, 7}, {16, 300}};
    size_t k, q;
    int at_end;
    for (at_end = 0; at_end <= 1; at_end++) {
        for (k = 1; k <= 3 * 16 + 1; k++) {
            const size_t shapes[2][2] = {{3, k}, {k, 5}};
            for (q = 0; q < 2; q++) {
                const int st = nm_guard_shape(shapes[q][0], shapes[q][1], at_end);
                TO_CHECK(t, st == TRAINOPT_OK, "rows %zu cols %zu at_end %d: status %d", shapes[q][0], shapes[q][1], at_end, st);
            }
        }
        for (q = 0; q < sizeof large / sizeof *large; q++) {
            const int st = nm_guard_shape(large[q][0], large[q][1], at_end);
            TO_CHECK(t, st == TRAINOPT_OK, "rows %zu cols %zu at_end %d: status %d", large[q][0], large[q][1], at_end, st);
        }
    }
}

/* ---- bf16/fp16 activations (the _mp forms) ---- */

/* x rounded to dtype (trainopt_convert, nearest even) into h, and widened back into xw. */
static void nmp_round(to_ctx *t, trainopt_dtype dt, const float *x, void *h, float *xw, size_t n) {
    to_expect_status(t, trainopt_convert(n, x, TRAINOPT_F32, h, dt, TRAINOPT_ROUND_NEAREST, 0, 0), TRAINOPT_OK, "round");
    to_expect_status(t, trainopt_convert(n, h, dt, xw, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0), TRAINOPT_OK, "widen");
}

/* An mp output (dtype dt at h) equals want (floats) rounded to dt: both widened, bits compared. */
static void nmp_expect(to_ctx *t, const char *what, trainopt_dtype dt, const void *h, const float *want, size_t n) {
    void *wh = malloc(n * 4 + 4);
    float *a = nm_alloc(n), *b = nm_alloc(n);
    if (dt == TRAINOPT_F32) {
        to_bits_equal(t, what, (const float *)h, want, n);
    } else {
        nmp_round(t, dt, want, wh, b, n);
        trainopt_convert(n, h, dt, a, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
        to_bits_equal(t, what, a, b, n);
    }
    free(wh);
    free(a);
    free(b);
}

/* Layer and RMS norm in every dtype: the _mp call's y, mean, rstd, dx, dweight, dbias
   are the fp32 kernel's on the widened x and dy, y and dx rounded to nearest even;
   opt: bit 1 weight, bit 2 bias, bit 4 no weight gradients. Rows in two calls give
   the whole call's y and dx; in place (y = x) gives the same y; without dx, the same
   weight gradients. 37 x 1300 keeps the column sums in dx's last rows; 8 x 64 is whole
   groups of rows (BN_GROUP) of whole vectors, 9 x 2048 two full blocks a row and a
   last row alone. */
static void nmp_rows_case(to_ctx *t, trainopt_dtype dt, int rms, size_t rows, size_t cols, int opt) {
    const size_t total = rows * cols, es = dt == TRAINOPT_F32 ? 4 : 2, half = rows / 2;
    const trainopt_norm_config cfg = nm_config(1e-5);
    float *x = nm_alloc(total), *dy = nm_alloc(total), *xw = nm_alloc(total), *dyw = nm_alloc(total);
    float *w = nm_alloc(cols), *b = nm_alloc(cols), *y = nm_alloc(total), *dx = nm_alloc(total);
    float *m = nm_alloc(rows), *rs = nm_alloc(rows), *dw = nm_alloc(cols), *db = nm_alloc(cols);
    float *m2 = nm_alloc(rows), *rs2 = nm_alloc(rows), *dw2 = nm_alloc(cols), *db2 = nm_alloc(cols);
    unsigned char *xh = (unsigned char *)malloc(total * es), *dyh = (unsigned char *)malloc(total * es);
    unsigned char *yh = (unsigned char *)malloc(total * es), *dxh = (unsigned char *)malloc(total * es);
    unsigned char *ch = (unsigned char *)malloc(total * es);
    const float *wp = opt & 1 ? w : NULL, *bp = opt & 2 && !rms ? b : NULL;
    float *dwp = opt & 4 ? NULL : dw, *dbp = opt & 4 || rms ? NULL : db;
    float *dwp2 = opt & 4 ? NULL : dw2, *dbp2 = opt & 4 || rms ? NULL : db2;
    uint64_t seed = rows * 977 + cols * 13 + (uint64_t)opt + (uint64_t)dt * 7 + (uint64_t)rms;
    char what[160];
    nm_fill(&seed, x, rows, cols, 0.5f, 2.0f);
    nm_fill(&seed, dy, rows, cols, 0.0f, 1.0f);
    nm_fill(&seed, w, 1, cols, 1.0f, 0.5f);
    nm_fill(&seed, b, 1, cols, 0.0f, 0.5f);
    if (dt == TRAINOPT_F32) {
        memcpy(xh, x, total * 4);
        memcpy(dyh, dy, total * 4);
        memcpy(xw, x, total * 4);
        memcpy(dyw, dy, total * 4);
    } else {
        nmp_round(t, dt, x, xh, xw, total);
        nmp_round(t, dt, dy, dyh, dyw, total);
    }
    snprintf(what, sizeof what, "%s dtype %d %zux%zu opt %d", rms ? "rms" : "ln", (int)dt, rows, cols, opt);
    /* the fp32 kernel on the widened values */
    if (rms) {
        to_expect_status(t, trainopt_rmsnorm_forward(&cfg, rows, cols, xw, wp, y, rs), TRAINOPT_OK, "rms fp32");
        to_expect_status(t, trainopt_rmsnorm_backward(&cfg, rows, cols, xw, dyw, wp, rs, dx, dwp), TRAINOPT_OK, "rms fp32 bw");
        to_expect_status(t, trainopt_rmsnorm_forward_mp(&cfg, rows, cols, xh, dt, wp, yh, rs2), TRAINOPT_OK, what);
        to_expect_status(t, trainopt_rmsnorm_backward_mp(&cfg, rows, cols, xh, dyh, dt, wp, rs2, dxh, dwp2), TRAINOPT_OK, what);
    } else {
        to_expect_status(t, trainopt_layernorm_forward(&cfg, rows, cols, xw, wp, bp, y, m, rs), TRAINOPT_OK, "ln fp32");
        to_expect_status(t, trainopt_layernorm_backward(&cfg, rows, cols, xw, dyw, wp, m, rs, dx, dwp, dbp), TRAINOPT_OK,
                         "ln fp32 bw");
        to_expect_status(t, trainopt_layernorm_forward_mp(&cfg, rows, cols, xh, dt, wp, bp, yh, m2, rs2), TRAINOPT_OK, what);
        to_expect_status(t, trainopt_layernorm_backward_mp(&cfg, rows, cols, xh, dyh, dt, wp, m2, rs2, dxh, dwp2, dbp2),
                         TRAINOPT_OK, what);
        to_bits_equal(t, what, m2, m, rows);
    }
    nmp_expect(t, what, dt, yh, y, total);
    to_bits_equal(t, what, rs2, rs, rows);
    nmp_expect(t, what, dt, dxh, dx, total);
    if (dwp) to_bits_equal(t, what, dw2, dw, cols);
    if (dbp) to_bits_equal(t, what, db2, db, cols);
    /* no dx: the same weight gradients (their column sums then stay on the stack) */
    if (dwp) {
        memset(dw2, 0x55, cols * sizeof(float));
        if (rms) trainopt_rmsnorm_backward_mp(&cfg, rows, cols, xh, dyh, dt, wp, rs2, NULL, dwp2);
        else trainopt_layernorm_backward_mp(&cfg, rows, cols, xh, dyh, dt, wp, m2, rs2, NULL, dwp2, dbp2);
        to_bits_equal(t, what, dw2, dw, cols);
        if (dbp) to_bits_equal(t, what, db2, db, cols);
    }
    /* rows in two calls = the whole call (y, and dx without weight gradients) */
    if (half > 0) {
        memset(ch, 0x55, total * es);
        if (rms) {
            trainopt_rmsnorm_forward_mp(&cfg, half, cols, xh, dt, wp, ch, rs2);
            trainopt_rmsnorm_forward_mp(&cfg, rows - half, cols, xh + half * cols * es, dt, wp, ch + half * cols * es, rs2 + half);
        } else {
            trainopt_layernorm_forward_mp(&cfg, half, cols, xh, dt, wp, bp, ch, m2, rs2);
            trainopt_layernorm_forward_mp(&cfg, rows - half, cols, xh + half * cols * es, dt, wp, bp, ch + half * cols * es,
                                          m2 + half, rs2 + half);
        }
        TO_CHECK(t, memcmp(ch, yh, total * es) == 0, "%s: rows in two calls: y differs", what);
        memset(ch, 0x55, total * es);
        if (rms) {
            trainopt_rmsnorm_backward_mp(&cfg, half, cols, xh, dyh, dt, wp, rs2, ch, NULL);
            trainopt_rmsnorm_backward_mp(&cfg, rows - half, cols, xh + half * cols * es, dyh + half * cols * es, dt, wp,
                                         rs2 + half, ch + half * cols * es, NULL);
        } else {
            trainopt_layernorm_backward_mp(&cfg, half, cols, xh, dyh, dt, wp, m2, rs2, ch, NULL, NULL);
            trainopt_layernorm_backward_mp(&cfg, rows - half, cols, xh + half * cols * es, dyh + half * cols * es, dt, wp,
                                           m2 + half, rs2 + half, ch + half * cols * es, NULL, NULL);
        }
        TO_CHECK(t, memcmp(ch, dxh, total * es) == 0, "%s: rows in two calls: dx differs", what);
    }
    /* in place */
    memcpy(ch, xh, total * es);
    if (rms) trainopt_rmsnorm_forward_mp(&cfg, rows, cols, ch, dt, wp, ch, rs2);
    else trainopt_layernorm_forward_mp(&cfg, rows, cols, ch, dt, wp, bp, ch, m2, rs2);
    TO_CHECK(t, memcmp(ch, yh, total * es) == 0, "%s: in place: y differs", what);
    free(x); free(dy); free(xw); free(dyw); free(w); free(b); free(y); free(dx); free(m); free(rs);
    free(dw); free(db); free(m2); free(rs2); free(dw2); free(db2); free(xh); free(dyh); free(yh); free(dxh); free(ch);
}

static void test_mp_rows(to_ctx *t) {
    static const size_t shapes[][2] = {{3, 1}, {5, 7}, {17, 33}, {2, 1000}, {33, 300}, {3, 1025}, {18, 1000}, {2, 2500}, {4, 4100}, {37, 1300},
                                       {8, 64}, {9, 2048}};
    static const trainopt_dtype dts[] = {TRAINOPT_F32, TRAINOPT_BF16, TRAINOPT_F16};
    size_t q, d;
    int rms, opt;
    for (d = 0; d < 3; d++)
        for (q = 0; q < sizeof shapes / sizeof *shapes; q++)
            for (rms = 0; rms < 2; rms++)
                for (opt = 0; opt < 8; opt += q % 2 ? 3 : 1) nmp_rows_case(t, dts[d], rms, shapes[q][0], shapes[q][1], opt);
}

/* Group norm in every dtype against the fp32 kernel on the widened values: groups of
   one segment (widened once), of several (channels longer and shorter than one), more
   than 256 channels per group (two tiles), spatial 1; 15 groups of 802 values (a last
   group alone, channels of a partial vector), 8 groups of two full blocks. */
static void nmp_group_case(to_ctx *t, trainopt_dtype dt, size_t n, size_t c, size_t sp, size_t groups, int opt) {
    const trainopt_bn_shape sh = nm_shape(n, c, sp, TRAINOPT_NCHW);
    const size_t total = n * c * sp, es = dt == TRAINOPT_F32 ? 4 : 2, ng = n * groups;
    const trainopt_norm_config cfg = nm_config(1e-5);
    float *x = nm_alloc(total), *dy = nm_alloc(total), *xw = nm_alloc(total), *dyw = nm_alloc(total);
    float *w = nm_alloc(c), *b = nm_alloc(c), *y = nm_alloc(total), *dx = nm_alloc(total);
    float *m = nm_alloc(ng), *rs = nm_alloc(ng), *dw = nm_alloc(c), *db = nm_alloc(c);
    float *m2 = nm_alloc(ng), *rs2 = nm_alloc(ng), *dw2 = nm_alloc(c), *db2 = nm_alloc(c);
    unsigned char *xh = (unsigned char *)malloc(total * es), *dyh = (unsigned char *)malloc(total * es);
    unsigned char *yh = (unsigned char *)malloc(total * es), *dxh = (unsigned char *)malloc(total * es);
    const float *wp = opt & 1 ? w : NULL, *bp = opt & 2 ? b : NULL;
    uint64_t seed = n * 31 + c * 17 + sp + (uint64_t)dt;
    char what[160];
    nm_fill(&seed, x, n * c, sp, 0.5f, 2.0f);
    nm_fill(&seed, dy, n * c, sp, 0.0f, 1.0f);
    nm_fill(&seed, w, 1, c, 1.0f, 0.5f);
    nm_fill(&seed, b, 1, c, 0.0f, 0.5f);
    if (dt == TRAINOPT_F32) {
        memcpy(xh, x, total * 4);
        memcpy(dyh, dy, total * 4);
        memcpy(xw, x, total * 4);
        memcpy(dyw, dy, total * 4);
    } else {
        nmp_round(t, dt, x, xh, xw, total);
        nmp_round(t, dt, dy, dyh, dyw, total);
    }
    snprintf(what, sizeof what, "gn dtype %d n %zu c %zu spatial %zu groups %zu opt %d", (int)dt, n, c, sp, groups, opt);
    to_expect_status(t, trainopt_groupnorm_forward(&cfg, sh, groups, xw, wp, bp, y, m, rs), TRAINOPT_OK, "gn fp32");
    to_expect_status(t, trainopt_groupnorm_backward(&cfg, sh, groups, xw, dyw, wp, m, rs, dx, dw, db), TRAINOPT_OK, "gn fp32 bw");
    to_expect_status(t, trainopt_groupnorm_forward_mp(&cfg, sh, groups, xh, dt, wp, bp, yh, m2, rs2), TRAINOPT_OK, what);
    to_expect_status(t, trainopt_groupnorm_backward_mp(&cfg, sh, groups, xh, dyh, dt, wp, m2, rs2, dxh, dw2, db2),
                     TRAINOPT_OK, what);
    nmp_expect(t, what, dt, yh, y, total);
    to_bits_equal(t, what, m2, m, ng);
    to_bits_equal(t, what, rs2, rs, ng);
    nmp_expect(t, what, dt, dxh, dx, total);
    to_bits_equal(t, what, dw2, dw, c);
    to_bits_equal(t, what, db2, db, c);
    /* no dx: the same weight gradients */
    to_expect_status(t, trainopt_groupnorm_backward_mp(&cfg, sh, groups, xh, dyh, dt, wp, m2, rs2, NULL, dw2, NULL),
                     TRAINOPT_OK, what);
    to_bits_equal(t, what, dw2, dw, c);
    free(x); free(dy); free(xw); free(dyw); free(w); free(b); free(y); free(dx); free(m); free(rs);
    free(dw); free(db); free(m2); free(rs2); free(dw2); free(db2); free(xh); free(dyh); free(yh); free(dxh);
}

static void test_mp_groups(to_ctx *t) {
    static const size_t shapes[][4] = {{2, 6, 10, 3}, {3, 4, 300, 2}, {2, 8, 700, 2}, {2, 2, 1500, 1},
                                       {1, 520, 1, 1}, {4, 32, 1, 32}, {3, 6, 7, 2}, {2, 4, 33, 4}, {5, 6, 401, 3}, {4, 4, 512, 2}};
    static const trainopt_dtype dts[] = {TRAINOPT_F32, TRAINOPT_BF16, TRAINOPT_F16};
    size_t q, d;
    for (d = 0; d < 3; d++)
        for (q = 0; q < sizeof shapes / sizeof *shapes; q++)
            nmp_group_case(t, dts[d], shapes[q][0], shapes[q][1], shapes[q][2], shapes[q][3], (int)(q % 4));
}

/* A NaN in one bf16 row (group) makes that row's y and dx NaN and leaves the other rows
   as they were. */
static void test_mp_nan_row(to_ctx *t) {
    const size_t rows = 6, cols = 70, total = rows * cols;
    const trainopt_norm_config cfg = nm_config(1e-5);
    float x[6 * 70], dy[6 * 70], xw[6 * 70], w[70], b[70], m[6], rs[6], m2[6], rs2[6], dw[70], db[70];
    float y1[6 * 70], y2[6 * 70], dx1[6 * 70], dx2[6 * 70];
    uint16_t xh[6 * 70], dyh[6 * 70], yh[6 * 70], dxh[6 * 70], yh2[6 * 70], dxh2[6 * 70];
    uint64_t seed = 33;
    size_t r, j;
    nm_fill(&seed, x, rows, cols, 1.0f, 2.0f);
    nm_fill(&seed, dy, rows, cols, 0.0f, 1.0f);
    nm_fill(&seed, w, 1, cols, 1.0f, 0.5f);
    nm_fill(&seed, b, 1, cols, 0.0f, 0.5f);
    nmp_round(t, TRAINOPT_BF16, x, xh, xw, total);
    nmp_round(t, TRAINOPT_BF16, dy, dyh, xw, total);
    trainopt_layernorm_forward_mp(&cfg, rows, cols, xh, TRAINOPT_BF16, w, b, yh, m, rs);
    trainopt_layernorm_backward_mp(&cfg, rows, cols, xh, dyh, TRAINOPT_BF16, w, m, rs, dxh, dw, db);
    xh[2 * cols + 5] = 0x7fc0; /* a bf16 NaN */
    trainopt_layernorm_forward_mp(&cfg, rows, cols, xh, TRAINOPT_BF16, w, b, yh2, m2, rs2);
    trainopt_layernorm_backward_mp(&cfg, rows, cols, xh, dyh, TRAINOPT_BF16, w, m2, rs2, dxh2, dw, db);
    trainopt_convert(total, yh, TRAINOPT_BF16, y1, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    trainopt_convert(total, yh2, TRAINOPT_BF16, y2, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    trainopt_convert(total, dxh, TRAINOPT_BF16, dx1, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    trainopt_convert(total, dxh2, TRAINOPT_BF16, dx2, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    for (r = 0; r < rows; r++) {
        if (r == 2) {
            for (j = 0; j < cols; j++)
                TO_CHECK(t, isnan(y2[r * cols + j]) && isnan(dx2[r * cols + j]), "mp NaN row: y/dx[%zu] not NaN", j);
            TO_CHECK(t, isnan(m2[r]) && isnan(rs2[r]), "mp NaN row: mean/rstd not NaN");
        } else {
            to_bits_equal(t, "mp row without NaN: y", y2 + r * cols, y1 + r * cols, cols);
            to_bits_equal(t, "mp row without NaN: dx", dx2 + r * cols, dx1 + r * cols, cols);
            to_bits_equal(t, "mp row without NaN: mean", m2 + r, m + r, 1);
        }
    }
    {
        const trainopt_bn_shape sh = nm_shape(2, 6, 10, TRAINOPT_NCHW);
        xh[2 * cols + 5] = 0x3f80;
        xh[65] = 0x7e00; /* fp16 NaN in sample 1, channel 0: group 0 of sample 1 */
        to_expect_status(t, trainopt_groupnorm_forward_mp(&cfg, sh, 3, xh, TRAINOPT_F16, w, b, yh, m, rs), TRAINOPT_OK, "gn mp nan");
        trainopt_convert(120, yh, TRAINOPT_F16, y1, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
        for (j = 0; j < 120; j++) {
            const int in_group = j >= 60 && j < 80;
            TO_CHECK(t, in_group == !!isnan(y1[j]), "group norm mp NaN: y[%zu] = %g", j, (double)y1[j]);
        }
        TO_CHECK(t, isnan(rs[3]) && !isnan(rs[0]) && !isnan(rs[4]), "group norm mp NaN: rstd");
    }
}

/* Refusals of the _mp forms write nothing: a dtype out of range, dx overlapping dy in
   bytes of the narrow type, the existing checks. */
static void test_mp_errors(to_ctx *t) {
    const trainopt_norm_config ok = nm_config(1e-5);
    const trainopt_bn_shape sh = nm_shape(2, 4, 4, TRAINOPT_NCHW);
    uint16_t x[64], dy[64], y[64], before[64];
    float w[8], m[8], rs[8], dw[8], db[8];
    size_t i;
    for (i = 0; i < 64; i++) x[i] = dy[i] = (uint16_t)(0x3f80 + i);
    for (i = 0; i < 8; i++) w[i] = m[i] = rs[i] = dw[i] = db[i] = 1.0f;
    memset(y, 0x11, sizeof y);
    memcpy(before, y, sizeof y);
    to_expect_status(t, trainopt_layernorm_forward_mp(&ok, 4, 8, x, (trainopt_dtype)3, w, NULL, y, m, rs), TRAINOPT_ERR_HPARAM, "ln dtype 3");
    to_expect_status(t, trainopt_rmsnorm_forward_mp(&ok, 4, 8, x, (trainopt_dtype)-1, w, y, rs), TRAINOPT_ERR_HPARAM, "rms dtype -1");
    to_expect_status(t, trainopt_groupnorm_forward_mp(&ok, sh, 2, x, (trainopt_dtype)9, w, NULL, y, m, rs), TRAINOPT_ERR_HPARAM, "gn dtype 9");
    to_expect_status(t, trainopt_layernorm_backward_mp(&ok, 4, 8, x, dy, (trainopt_dtype)3, w, m, rs, y, dw, db), TRAINOPT_ERR_HPARAM, "ln bw dtype");
    to_expect_status(t, trainopt_groupnorm_backward_mp(&ok, sh, 2, x, dy, (trainopt_dtype)3, w, m, rs, y, dw, db), TRAINOPT_ERR_HPARAM, "gn bw dtype");
    to_expect_status(t, trainopt_layernorm_forward_mp(&ok, 4, 8, NULL, TRAINOPT_BF16, w, NULL, y, m, rs), TRAINOPT_ERR_NULL, "ln x NULL");
    to_expect_status(t, trainopt_rmsnorm_backward_mp(&ok, 4, 8, x, NULL, TRAINOPT_F16, w, rs, y, dw), TRAINOPT_ERR_NULL, "rms dy NULL");
    to_expect_status(t, trainopt_layernorm_backward_mp(&ok, 4, 8, x, dy, TRAINOPT_BF16, w, NULL, rs, y, dw, db), TRAINOPT_ERR_NULL, "ln mean NULL");
    /* dx over the second half of dy: 32 bf16 values in, which a float-sized check would miss */
    to_expect_status(t, trainopt_layernorm_backward_mp(&ok, 4, 8, x, dy, TRAINOPT_BF16, w, m, rs, dy + 16, dw, db),
                     TRAINOPT_ERR_ALIAS, "ln dx overlaps dy");
    to_expect_status(t, trainopt_layernorm_forward_mp(&ok, 4, 8, x, TRAINOPT_BF16, w, NULL, x + 1, m, rs), TRAINOPT_ERR_ALIAS, "ln y = x + 1");
    to_expect_status(t, trainopt_groupnorm_forward_mp(&ok, sh, 3, x, TRAINOPT_BF16, w, NULL, y, m, rs), TRAINOPT_ERR_SHAPE, "gn groups 3");
    to_expect_status(t, trainopt_rmsnorm_forward_mp(NULL, 4, 8, x, TRAINOPT_BF16, w, y, rs), TRAINOPT_ERR_NULL, "rms config NULL");
    TO_CHECK(t, memcmp(y, before, sizeof y) == 0, "a refused _mp call wrote y");
}

void TO_NAME(norms_tests)(to_ctx *t) {
    to_run(t, "golden-pytorch", test_golden);
    to_run(t, "ill-conditioned-row", test_ill_conditioned);
    to_run(t, "chunks-blocks-paths-in-place", test_chunks);
    to_run(t, "groupnorm-identities", test_groupnorm_identities);
    to_run(t, "groupnorm-nhwc-spatial1", test_groupnorm_nhwc_spatial1);
    to_run(t, "nan-stays-in-row", test_nan_row);
    to_run(t, "errors", test_errors);
    to_run(t, "one-column", test_one_column);
    to_run(t, "guard-pages", test_guard);
    to_run(t, "mp-rows-every-dtype", test_mp_rows);
    to_run(t, "mp-groups-every-dtype", test_mp_groups);
    to_run(t, "mp-nan-stays-in-row", test_mp_nan_row);
    to_run(t, "mp-errors", test_mp_errors);
}

/* ---- battery: the same calls on every backend, bits compared with scalar ---- */

/* Data kinds: 0 normal, 1 mean 1e4 times the spread, 2 a NaN, 3 Infs, 4 -0 and denormals. */
static void nm_battery_case(to_sink *s, size_t rows, size_t cols, int opt, int data) {
    const size_t total = rows * cols;
    const trainopt_norm_config cfg = nm_config(opt & 4 ? 1e-3 : 1e-5);
    float *x = nm_alloc(total), *dy = nm_alloc(total), *w = nm_alloc(cols), *b = nm_alloc(cols);
    float *y = nm_alloc(total), *m = nm_alloc(rows), *rs = nm_alloc(rows), *dx = nm_alloc(total);
    float *dw = nm_alloc(cols), *db = nm_alloc(cols);
    const float *wp = opt & 1 ? w : NULL, *bp = opt & 2 ? b : NULL;
    uint64_t seed = rows * 131 + cols * 7 + (uint64_t)opt * 3 + (uint64_t)data;
    char name[120], tag[80];
    size_t i;
    nm_fill(&seed, x, rows, cols, data == 1 ? 1e4f : 0.5f, 1.0f);
    nm_fill(&seed, dy, rows, cols, 0.0f, 1.0f);
    nm_fill(&seed, w, 1, cols, 1.0f, 0.5f);
    nm_fill(&seed, b, 1, cols, 0.0f, 0.5f);
    if (data == 2) x[total / 2] = NAN;
    if (data == 3) {
        x[total / 3] = INFINITY;
        dy[0] = -INFINITY;
    }
    if (data == 4)
        for (i = 0; i < total; i += 3) x[i] = i % 2 ? -0.0f : to_from_bits(0x80000001u + (uint32_t)(i % 5));
    snprintf(tag, sizeof tag, "norms/%zux%zu/o%d/d%d", rows, cols, opt, data);
#define NM_NAME(suffix) (snprintf(name, sizeof name, "%s/" suffix, tag), name)
    to_fill_nan(y, total);
    to_fill_nan(dx, total);
    to_emit_status(s, NM_NAME("ln-forward"), trainopt_layernorm_forward(&cfg, rows, cols, x, wp, bp, y, m, rs));
    to_emit_floats(s, NM_NAME("ln-y"), y, total);
    to_emit_floats(s, NM_NAME("ln-mean"), m, rows);
    to_emit_floats(s, NM_NAME("ln-rstd"), rs, rows);
    to_emit_status(s, NM_NAME("ln-backward"), trainopt_layernorm_backward(&cfg, rows, cols, x, dy, wp, m, rs, dx,
                                                                          opt & 8 ? NULL : dw, opt & 8 ? NULL : db));
    to_emit_floats(s, NM_NAME("ln-dx"), dx, total);
    if (!(opt & 8)) {
        to_emit_floats(s, NM_NAME("ln-dweight"), dw, cols);
        to_emit_floats(s, NM_NAME("ln-dbias"), db, cols);
    }
    to_emit_status(s, NM_NAME("rms-forward"), trainopt_rmsnorm_forward(&cfg, rows, cols, x, wp, y, rs));
    to_emit_floats(s, NM_NAME("rms-y"), y, total);
    to_emit_floats(s, NM_NAME("rms-rstd"), rs, rows);
    to_emit_status(s, NM_NAME("rms-backward"), trainopt_rmsnorm_backward(&cfg, rows, cols, x, dy, wp, rs, dx, dw));
    to_emit_floats(s, NM_NAME("rms-dx"), dx, total);
    to_emit_floats(s, NM_NAME("rms-dweight"), dw, cols);
    /* Group norm on the same data seen as [rows][cols/spatial groups][...]: groups
       of the divisors the shape allows. */
    {
        const size_t spatial = cols % 5 == 0 ? 5 : 1, c = cols / spatial, groups = c % 4 == 0 ? 4 : c % 3 == 0 ? 3 : 1;
        const trainopt_bn_shape sh = nm_shape(rows, c, spatial, TRAINOPT_NCHW);
        float *gm = nm_alloc(rows * groups), *gr = nm_alloc(rows * groups);
        to_emit_status(s, NM_NAME("gn-forward"), trainopt_groupnorm_forward(&cfg, sh, groups, x, wp, bp, y, gm, gr));
        to_emit_floats(s, NM_NAME("gn-y"), y, total);
        to_emit_floats(s, NM_NAME("gn-mean"), gm, rows * groups);
        to_emit_floats(s, NM_NAME("gn-rstd"), gr, rows * groups);
        to_emit_status(s, NM_NAME("gn-backward"), trainopt_groupnorm_backward(&cfg, sh, groups, x, dy, wp, gm, gr, dx, dw, db));
        to_emit_floats(s, NM_NAME("gn-dx"), dx, total);
        to_emit_floats(s, NM_NAME("gn-dweight"), dw, c);
        to_emit_floats(s, NM_NAME("gn-dbias"), db, c);
        free(gm);
        free(gr);
    }
#undef NM_NAME
    free(x); free(dy); free(w); free(b); free(y); free(m); free(rs); free(dx); free(dw); free(db);
}

/* The _mp forms: bf16 and fp16 y, dx (raw 16-bit words), mean, rstd, dweight, dbias on
   shapes of one segment, several, several weight-gradient tiles and 16-row blocks. */
static void nm_battery_mp(to_sink *s, size_t rows, size_t cols, trainopt_dtype dt) {
    const size_t total = rows * cols;
    const trainopt_norm_config cfg = nm_config(1e-5);
    float *x = nm_alloc(total), *dy = nm_alloc(total), *w = nm_alloc(cols), *b = nm_alloc(cols);
    float *m = nm_alloc(rows), *rs = nm_alloc(rows), *dw = nm_alloc(cols), *db = nm_alloc(cols);
    uint16_t *xh = (uint16_t *)malloc(total * 2), *dyh = (uint16_t *)malloc(total * 2);
    uint16_t *yh = (uint16_t *)malloc(total * 2), *dxh = (uint16_t *)malloc(total * 2);
    uint64_t seed = rows * 71 + cols * 3 + (uint64_t)dt;
    char name[120];
    nm_fill(&seed, x, rows, cols, 0.5f, 2.0f);
    nm_fill(&seed, dy, rows, cols, 0.0f, 1.0f);
    nm_fill(&seed, w, 1, cols, 1.0f, 0.5f);
    nm_fill(&seed, b, 1, cols, 0.0f, 0.5f);
    trainopt_convert(total, x, TRAINOPT_F32, xh, dt, TRAINOPT_ROUND_NEAREST, 0, 0);
    trainopt_convert(total, dy, TRAINOPT_F32, dyh, dt, TRAINOPT_ROUND_NEAREST, 0, 0);
#define NM_MP(suffix) (snprintf(name, sizeof name, "norms/mp/%zux%zu/t%d/" suffix, rows, cols, (int)dt), name)
    to_emit_status(s, NM_MP("ln-forward"), trainopt_layernorm_forward_mp(&cfg, rows, cols, xh, dt, w, b, yh, m, rs));
    to_emit(s, NM_MP("ln-y"), yh, total * 2);
    to_emit_floats(s, NM_MP("ln-mean"), m, rows);
    to_emit_floats(s, NM_MP("ln-rstd"), rs, rows);
    to_emit_status(s, NM_MP("ln-backward"), trainopt_layernorm_backward_mp(&cfg, rows, cols, xh, dyh, dt, w, m, rs, dxh, dw, db));
    to_emit(s, NM_MP("ln-dx"), dxh, total * 2);
    to_emit_floats(s, NM_MP("ln-dweight"), dw, cols);
    to_emit_floats(s, NM_MP("ln-dbias"), db, cols);
    to_emit_status(s, NM_MP("rms-forward"), trainopt_rmsnorm_forward_mp(&cfg, rows, cols, xh, dt, w, yh, rs));
    to_emit(s, NM_MP("rms-y"), yh, total * 2);
    to_emit_status(s, NM_MP("rms-backward"), trainopt_rmsnorm_backward_mp(&cfg, rows, cols, xh, dyh, dt, NULL, rs, dxh, dw));
    to_emit(s, NM_MP("rms-dx"), dxh, total * 2);
    to_emit_floats(s, NM_MP("rms-dweight"), dw, cols);
    {
        const size_t spatial = cols % 5 == 0 ? 5 : 1, c = cols / spatial, groups = c % 4 == 0 ? 4 : c % 3 == 0 ? 3 : 1;
        const trainopt_bn_shape sh = nm_shape(rows, c, spatial, TRAINOPT_NCHW);
        float *gm = nm_alloc(rows * groups), *gr = nm_alloc(rows * groups);
        to_emit_status(s, NM_MP("gn-forward"), trainopt_groupnorm_forward_mp(&cfg, sh, groups, xh, dt, w, b, yh, gm, gr));
        to_emit(s, NM_MP("gn-y"), yh, total * 2);
        to_emit_floats(s, NM_MP("gn-rstd"), gr, rows * groups);
        to_emit_status(s, NM_MP("gn-backward"),
                       trainopt_groupnorm_backward_mp(&cfg, sh, groups, xh, dyh, dt, w, gm, gr, dxh, dw, db));
        to_emit(s, NM_MP("gn-dx"), dxh, total * 2);
        to_emit_floats(s, NM_MP("gn-dweight"), dw, c);
        to_emit_floats(s, NM_MP("gn-dbias"), db, c);
        free(gm);
        free(gr);
    }
#undef NM_MP
    free(x); free(dy); free(w); free(b); free(m); free(rs); free(dw); free(db); free(xh); free(dyh); free(yh); free(dxh);
}

void TO_NAME(norms_battery)(to_sink *s) {
    static const size_t shapes[][2] = {{1, 1},   {3, 7},    {5, 16},  {2, 17},   {4, 33},  {1, 1000},
                                       {2, 4096}, {17, 300}, {40, 70}, {33, 1025}, {64, 64}, {19, 2500}};
    const trainopt_norm_config cfg = nm_config(1e-5);
    size_t q;
    int data;
    for (q = 0; q < sizeof shapes / sizeof *shapes; q++) nm_battery_case(s, shapes[q][0], shapes[q][1], (int)(q * 5 % 16), 0);
    nm_battery_case(s, 18, 300, 3, 0);
    nm_battery_case(s, 18, 300, 11, 0);
    for (data = 1; data <= 4; data++) {
        nm_battery_case(s, 5, 40, 3, data);
        nm_battery_case(s, 20, 1100, 1, data);
    }
    to_emit_status(s, "norms/err/null-config", trainopt_layernorm_forward(NULL, 2, 2, NULL, NULL, NULL, NULL, NULL, NULL));
    to_emit_status(s, "norms/err/cols0", trainopt_rmsnorm_forward(&cfg, 2, 0, NULL, NULL, NULL, NULL));
    to_emit_status(s, "norms/err/groups", trainopt_groupnorm_forward(&cfg, nm_shape(2, 6, 2, TRAINOPT_NCHW), 4, NULL, NULL, NULL, NULL, NULL, NULL));
    {
        static const size_t mp_shapes[][2] = {{3, 7}, {17, 300}, {2, 2500}, {33, 1025}, {5, 1}};
        for (q = 0; q < sizeof mp_shapes / sizeof *mp_shapes; q++) {
            nm_battery_mp(s, mp_shapes[q][0], mp_shapes[q][1], TRAINOPT_BF16);
            nm_battery_mp(s, mp_shapes[q][0], mp_shapes[q][1], TRAINOPT_F16);
        }
    }
}
