/* tests/test_layerwise.c - LAMB, LARS (lists of tensors, a trust ratio per tensor),
   Adafactor (factored second moment, per-tensor RMS) and schedule-free AdamW: float64
   golden trajectories (tests/gen_layerwise.py, from optax, PyTorch 2.5's _adafactor.py
   and schedule_free's reference), a double reference at every size 0..70 and a few
   thousand, canaries and guard pages, a list against one call per tensor, chunked
   against whole, zero norms, NaN, the fused options and the errors lists add.
   Compiled once per backend (see tests/harness.h); the battery's hashes prove the
   per-tensor norms (a reduction) come out the same on every backend. */
#include "harness.h"
#include "trainopt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { K_LAMB, K_LARS, K_SF, K_AF, K_COUNT };
static const char *const kind_name[K_COUNT] = {"lamb", "lars", "sfadamw", "adafactor"};
enum { MAX_T = 3 }; /* tensors per list in these tests */

typedef struct {
    int kind;
    trainopt_lamb_config lamb;
    trainopt_lars_config lars;
    trainopt_sfadamw_config sf;
    trainopt_adafactor_config af;
    size_t af_rows; /* Adafactor: the first tensor of a list is [af_rows][n / af_rows] (when that divides), factored */
} lw_case;

/* Adafactor's rows for a first tensor of n elements. */
static size_t af_rows(const lw_case *c, size_t n) { return n && c->af_rows && n % c->af_rows == 0 ? c->af_rows : 1; }

/* State arrays per tensor, in the golden file's order (sfadamw: z, exp_avg_sq; adafactor:
   the first tensor's row_var and col_var, the others' variance in state 0). */
static int state_count(const lw_case *c) {
    if (c->kind == K_LAMB || c->kind == K_AF) return 2;
    if (c->kind == K_LARS) return c->lars.momentum != 0.0;
    return 2;
}

static int make_cases(lw_case *out) {
    int n = 0;
    lw_case c;
    trainopt_lamb_config lamb = TRAINOPT_LAMB_DEFAULTS;
    trainopt_lars_config lars = TRAINOPT_LARS_DEFAULTS;
    trainopt_sfadamw_config sf = TRAINOPT_SFADAMW_DEFAULTS;
    trainopt_adafactor_config af = TRAINOPT_ADAFACTOR_DEFAULTS;
    memset(&c, 0, sizeof c);
    c.kind = K_LAMB, c.lamb = lamb, c.lamb.lr = 1e-2;
    out[n++] = c;
    c.lamb.eps = 0.0, c.lamb.weight_decay = 0.0, c.lamb.eps_root = 1e-8, c.lamb.beta1 = 0.5;
    out[n++] = c;
    c.kind = K_LARS, c.lars = lars, c.lars.lr = 0.3;
    out[n++] = c;
    c.lars.weight_decay = 1e-3, c.lars.eps = 1e-6, c.lars.nesterov = 1, c.lars.trust_coefficient = 0.02;
    out[n++] = c;
    c.lars.momentum = 0.0, c.lars.nesterov = 0;
    out[n++] = c;
    c.kind = K_SF, c.sf = sf;
    out[n++] = c;
    c.sf.weight_decay = 0.05, c.sf.warmup_steps = 3, c.sf.r = 1.0, c.sf.beta1 = 0.8;
    out[n++] = c;
    c.kind = K_AF, c.af = af, c.af_rows = 7;
    out[n++] = c;
    c.af.weight_decay = 0.1, c.af.maximize = 1, c.af.d = 2.0, c.af.lr = 0.3, c.af_rows = 3;
    out[n++] = c;
    return n;
}

/* One step of a case over k tensors: st0/st1 are the state lists (sfadamw: z and
   exp_avg_sq, advancing *sf first when advance is set). */
static trainopt_status lw_step(const lw_case *c, int64_t step, trainopt_sfadamw_state *sf, int advance, size_t k,
                               const size_t *lens, float **p, float **g, float **st0, float **st1,
                               const trainopt_step_opts *o) {
    const float *const *gc = (const float *const *)g;
    size_t t;
    trainopt_status s = TRAINOPT_OK;
    switch (c->kind) {
    case K_LAMB:
        return o ? trainopt_lamb_step_ex(&c->lamb, step, k, lens, p, gc, st0, st1, o)
                 : trainopt_lamb_step(&c->lamb, step, k, lens, p, gc, st0, st1);
    case K_LARS: {
        float *const *bufs = state_count(c) ? st0 : NULL;
        return o ? trainopt_lars_step_ex(&c->lars, k, lens, p, gc, bufs, o) : trainopt_lars_step(&c->lars, k, lens, p, gc, bufs);
    }
    case K_AF:
        for (t = 0; t < k && s == TRAINOPT_OK; t++) {
            const size_t rows = t == 0 ? af_rows(c, lens[0]) : 1, cols = t == 0 ? lens[0] / rows : lens[t];
            float *row_var = t == 0 ? st0[0] : NULL, *col_var = t == 0 ? st1[0] : NULL, *variance = t == 0 ? NULL : st0[t];
            s = o ? trainopt_adafactor_step_ex(&c->af, step, rows, cols, p[t], g[t], row_var, col_var, variance, o)
                  : trainopt_adafactor_step(&c->af, step, rows, cols, p[t], g[t], row_var, col_var, variance);
        }
        return s;
    default:
        if (advance && (s = trainopt_sfadamw_advance(&c->sf, sf)) != TRAINOPT_OK) return s;
        for (t = 0; t < k && s == TRAINOPT_OK; t++)
            s = o ? trainopt_sfadamw_step_ex(&c->sf, sf, lens[t], p[t], g[t], st0[t], st1[t], o)
                  : trainopt_sfadamw_step(&c->sf, sf, lens[t], p[t], g[t], st0[t], st1[t]);
        return s;
    }
}

/* Initial states: zeros; schedule-free's z starts as a copy of the parameters. */
static void init_states(const lw_case *c, size_t n, const float *p, float *st0, float *st1) {
    memset(st0, 0, n * sizeof(float));
    memset(st1, 0, n * sizeof(float));
    if (c->kind == K_SF && n) memcpy(st0, p, n * sizeof(float));
}

/* ---- the double reference: one step of one tensor, from the cited sources ---------------- */
static void reference_step(const lw_case *c, int64_t step, trainopt_sfadamw_state *sf, size_t n, size_t rows, double *p,
                           const float *g, double *st0, double *st1, double *x) {
    double *u = (double *)malloc((n + 1) * sizeof(double)), pn = 0, un = 0, trust;
    size_t i;
    if (c->kind == K_AF) { /* rows > 0: [rows][n/rows] factored into st0 (rows) and st1 (cols) */
        const trainopt_adafactor_config *q = &c->af;
        const double w = pow((double)step, q->beta2_decay), rho = fmin(q->lr, 1 / sqrt((double)step));
        const size_t cols = rows ? n / rows : 0;
        double alpha, row_mean = 0, denom, sign = q->maximize ? -1 : 1;
        size_t r, j;
        for (i = 0; i < n; i++) pn += p[i] * p[i];
        alpha = fmax(q->eps2, sqrt(pn) / sqrt((double)n)) * rho;
        for (i = 0; i < n; i++) p[i] *= 1 - q->lr * q->weight_decay;
        if (rows) {
            for (r = 0; r < rows; r++) {
                double m = 0;
                for (j = 0; j < cols; j++) m += (double)g[r * cols + j] * g[r * cols + j];
                st0[r] += w * (m / cols - st0[r]);
            }
            for (j = 0; j < cols; j++) {
                double m = 0;
                for (r = 0; r < rows; r++) m += (double)g[r * cols + j] * g[r * cols + j];
                st1[j] += w * (m / rows - st1[j]);
            }
            for (r = 0; r < rows; r++) row_mean += st0[r] / rows;
            row_mean = fmax(row_mean, q->eps1);
        } else {
            for (i = 0; i < n; i++) st0[i] += w * ((double)g[i] * g[i] - st0[i]);
        }
        for (i = 0; i < n; i++) {
            const double v = rows ? st0[i / cols] * st1[i % cols] / row_mean : st0[i];
            u[i] = sign * g[i] / sqrt(fmax(v, q->eps1 * q->eps1));
            un += u[i] * u[i];
        }
        denom = fmax(1.0, sqrt(un) / (sqrt((double)n) * q->d));
        for (i = 0; i < n; i++) p[i] -= alpha / denom * u[i];
        free(u);
        return;
    }
    if (c->kind == K_SF) {
        const trainopt_sfadamw_config *q = &c->sf;
        for (i = 0; i < n; i++) {
            st0[i] -= sf->lr * q->weight_decay * p[i];
            st1[i] = q->beta2 * st1[i] + (1 - q->beta2) * (double)g[i] * g[i];
            st0[i] -= sf->lr * g[i] / (sqrt(st1[i]) + q->eps);
            x[i] = (1 - sf->ckp1) * x[i] + sf->ckp1 * st0[i];
            p[i] = q->beta1 * x[i] + (1 - q->beta1) * st0[i];
        }
        free(u);
        return;
    }
    for (i = 0; i < n; i++) {
        if (c->kind == K_LAMB) {
            const trainopt_lamb_config *q = &c->lamb;
            st0[i] = q->beta1 * st0[i] + (1 - q->beta1) * g[i];
            st1[i] = q->beta2 * st1[i] + (1 - q->beta2) * (double)g[i] * g[i];
            u[i] = st0[i] / (1 - pow(q->beta1, (double)step)) /
                       (sqrt(st1[i] / (1 - pow(q->beta2, (double)step)) + q->eps_root) + q->eps) +
                   q->weight_decay * p[i];
        } else {
            u[i] = g[i] + c->lars.weight_decay * p[i];
        }
        pn += p[i] * p[i], un += u[i] * u[i];
    }
    pn = sqrt(pn), un = sqrt(un);
    if (c->kind == K_LAMB) trust = pn == 0 || un == 0 ? 1.0 : pn / un;
    else trust = pn == 0 || un == 0 ? 1.0 : c->lars.trust_coefficient * pn / (un + c->lars.eps);
    for (i = 0; i < n; i++) {
        if (c->kind == K_LAMB) {
            p[i] -= c->lamb.lr * trust * u[i];
        } else {
            const double d = -c->lars.lr * trust * u[i];
            double out = d;
            if (state_count(c)) {
                st0[i] = d + c->lars.momentum * st0[i];
                out = c->lars.nesterov ? d + c->lars.momentum * st0[i] : st0[i];
            }
            p[i] += out;
        }
    }
    free(u);
}

/* |got - want| <= tol * max|want| per element (want in double). */
static int close_to_double(to_ctx *t, const char *what, const float *got, const double *want, size_t n, double tol) {
    float *w = (float *)malloc((n + 1) * sizeof(float));
    size_t i;
    int ok;
    for (i = 0; i < n; i++) w[i] = (float)want[i];
    ok = to_close(t, what, got, w, n, tol * to_max_abs(w, n));
    free(w);
    return ok;
}

/* ---- golden trajectories ------------------------------------------------------------------ */
typedef struct {
    const unsigned char *at, *end;
} reader;

static int read_bytes(reader *r, void *dst, size_t bytes) {
    if ((size_t)(r->end - r->at) < bytes) return 0;
    memcpy(dst, r->at, bytes);
    r->at += bytes;
    return 1;
}

static lw_case case_from_file(uint32_t kind, const double *hp, const int32_t *flags) {
    lw_case c;
    memset(&c, 0, sizeof c);
    c.kind = (int)kind;
    if (kind == K_LAMB) {
        trainopt_lamb_config q = {hp[0], hp[1], hp[2], hp[3], hp[4], hp[5]};
        c.lamb = q;
    } else if (kind == K_LARS) {
        trainopt_lars_config q = {hp[0], hp[1], hp[2], hp[3], hp[4], flags[0]};
        c.lars = q;
    } else if (kind == K_SF) {
        trainopt_sfadamw_config q = {hp[0], hp[1], hp[2], hp[3], hp[4], flags[0], hp[5], hp[6]};
        c.sf = q;
    } else {
        trainopt_adafactor_config q = {hp[0], hp[1], hp[2], hp[3], hp[4], hp[5], flags[0]};
        c.af = q;
        c.af_rows = (size_t)flags[1];
    }
    return c;
}

static void test_golden(to_ctx *t) {
    size_t len;
    unsigned char *data = (unsigned char *)to_read_golden(t, "layerwise.bin", &len);
    reader r;
    uint32_t count, ci, seen[K_COUNT] = {0, 0, 0, 0};
    if (!data) return;
    r.at = data, r.end = data + len;
    if (len < 12 || memcmp(data, "TOLWGLD1", 8) != 0) {
        to_fail(t, "layerwise.bin: bad magic");
        free(data);
        return;
    }
    r.at += 8;
    read_bytes(&r, &count, 4);
    for (ci = 0; ci < count; ci++) {
        char name[49] = {0};
        uint32_t kind, k, lens32[MAX_T], hdr[2], steps, nstates, s;
        int32_t flags[2];
        double hp[8];
        size_t lens[MAX_T], total = 0, i, off[MAX_T + 1], per_step, rows = 0, cols = 0;
        float *param, *grads, *want, *st[2], *x, *pl[MAX_T], *gl[MAX_T], *s0[MAX_T], *s1[MAX_T];
        trainopt_sfadamw_state sf = TRAINOPT_SFADAMW_STATE_INIT;
        lw_case c;
        int step, ok = 1;
        if (!read_bytes(&r, name, 48) || !read_bytes(&r, &kind, 4) || !read_bytes(&r, hp, sizeof hp) ||
            !read_bytes(&r, flags, sizeof flags) || !read_bytes(&r, &k, 4) || kind >= K_COUNT || k < 2 || k > MAX_T ||
            !read_bytes(&r, lens32, 4 * k) || !read_bytes(&r, hdr, sizeof hdr)) {
            to_fail(t, "layerwise.bin: truncated or bad header of case %u", (unsigned)ci);
            break;
        }
        steps = hdr[0], nstates = hdr[1];
        c = case_from_file(kind, hp, flags);
        if (nstates != (uint32_t)state_count(&c) + (kind == K_SF || kind == K_AF)) {
            to_fail(t, "%s: %u states in the file", name, (unsigned)nstates);
            break;
        }
        seen[kind]++;
        for (i = 0, off[0] = 0; i < k; i++) lens[i] = lens32[i], total += lens[i], off[i + 1] = total;
        per_step = (1 + nstates) * total;
        if (kind == K_AF) { /* param, then row_var[rows] col_var[cols] variance[lens[1]] */
            rows = af_rows(&c, lens[0]), cols = lens[0] / rows;
            per_step = total + rows + cols + lens[1];
            if (k != 2 || rows != c.af_rows) {
                to_fail(t, "%s: adafactor cases hold a [%zu][...] and a vector", name, c.af_rows);
                break;
            }
        }
        param = (float *)malloc(total * sizeof(float));
        grads = (float *)malloc((size_t)steps * total * sizeof(float));
        want = (float *)malloc(per_step * sizeof(float));
        st[0] = (float *)malloc(total * sizeof(float)), st[1] = (float *)malloc(total * sizeof(float));
        x = (float *)malloc(total * sizeof(float));
        read_bytes(&r, param, total * sizeof(float));
        read_bytes(&r, grads, (size_t)steps * total * sizeof(float));
        init_states(&c, total, param, st[0], st[1]);
        for (step = 1; step <= (int)steps && ok; step++) {
            char what[160];
            for (i = 0; i < k; i++)
                pl[i] = param + off[i], gl[i] = grads + (size_t)(step - 1) * total + off[i], s0[i] = st[0] + off[i],
                s1[i] = st[1] + off[i];
            ok &= to_expect_status(t, lw_step(&c, step, &sf, 1, k, lens, pl, gl, s0, s1, NULL), TRAINOPT_OK, name);
            if (!read_bytes(&r, want, per_step * sizeof(float))) {
                to_fail(t, "%s: truncated", name);
                ok = 0;
                break;
            }
            snprintf(what, sizeof what, "%s step %d param", name, step);
            ok &= to_close(t, what, param, want, total, 1e-5 * to_max_abs(want, total));
            if (kind == K_AF) {
                const float *w = want + total;
                snprintf(what, sizeof what, "%s step %d row_var", name, step);
                ok &= to_close(t, what, st[0], w, rows, 1e-5 * to_max_abs(w, rows));
                snprintf(what, sizeof what, "%s step %d col_var", name, step);
                ok &= to_close(t, what, st[1], w + rows, cols, 1e-5 * to_max_abs(w + rows, cols));
                snprintf(what, sizeof what, "%s step %d variance", name, step);
                ok &= to_close(t, what, st[0] + off[1], w + rows + cols, lens[1], 1e-5 * to_max_abs(w + rows + cols, lens[1]));
            }
            for (s = 0; kind != K_AF && s < (uint32_t)state_count(&c); s++) {
                const float *w = want + (size_t)(1 + s) * total;
                snprintf(what, sizeof what, "%s step %d state %u", name, step, (unsigned)s);
                ok &= to_close(t, what, st[s], w, total, 1e-5 * to_max_abs(w, total));
            }
            if (kind == K_SF) { /* the evaluation parameters */
                const float *w = want + (size_t)3 * total;
                for (i = 0; i < k; i++)
                    ok &= to_expect_status(t, trainopt_sfadamw_to_eval(&c.sf, lens[i], pl[i], s0[i], x + off[i]),
                                           TRAINOPT_OK, "to_eval");
                snprintf(what, sizeof what, "%s step %d x (to_eval)", name, step);
                ok &= to_close(t, what, x, w, total, 1e-5 * to_max_abs(w, total));
            }
        }
        for (; step <= (int)steps; step++) r.at += per_step * sizeof(float);
        free(param), free(grads), free(want), free(st[0]), free(st[1]), free(x);
    }
    TO_CHECK(t, seen[K_LAMB] >= 3 && seen[K_LARS] >= 3 && seen[K_SF] >= 3 && seen[K_AF] >= 3,
             "layerwise.bin: %u/%u/%u/%u cases per kind", (unsigned)seen[0], (unsigned)seen[1], (unsigned)seen[2],
             (unsigned)seen[3]);
    free(data);
}

/* ---- every size against the double reference, canaries, misalignment ------------------- */
typedef struct {
    to_buf p[MAX_T], g[MAX_T], s0[MAX_T], s1[MAX_T];
    float *pl[MAX_T], *gl[MAX_T], *s0l[MAX_T], *s1l[MAX_T];
    size_t lens[MAX_T];
} lw_bufs;

/* Tensors of lens[0..k) with random data, misaligned, canaried. */
static void bufs_new(lw_bufs *b, const lw_case *c, size_t k, const size_t *lens, uint64_t *rng) {
    size_t i;
    for (i = 0; i < k; i++) {
        b->lens[i] = lens[i];
        b->p[i] = to_buf_new(lens[i], (i + 1) % 4), b->pl[i] = b->p[i].p;
        b->g[i] = to_buf_new(lens[i], (i + 2) % 4), b->gl[i] = b->g[i].p;
        b->s0[i] = to_buf_new(lens[i], (i + 3) % 4), b->s0l[i] = b->s0[i].p;
        b->s1[i] = to_buf_new(lens[i], i % 4), b->s1l[i] = b->s1[i].p;
        to_rand_fill(rng, b->pl[i], lens[i], -1.0f, 1.0f);
        to_rand_fill(rng, b->gl[i], lens[i], -1.0f, 1.0f);
        init_states(c, lens[i], b->pl[i], b->s0l[i], b->s1l[i]);
    }
}

static void bufs_free(lw_bufs *b, size_t k) {
    size_t i;
    for (i = 0; i < k; i++) to_buf_free(&b->p[i]), to_buf_free(&b->g[i]), to_buf_free(&b->s0[i]), to_buf_free(&b->s1[i]);
}

static void bufs_canaries(to_ctx *t, const lw_bufs *b, size_t k, const char *what) {
    size_t i;
    for (i = 0; i < k; i++)
        to_buf_canaries_ok(t, &b->p[i], what), to_buf_canaries_ok(t, &b->g[i], what), to_buf_canaries_ok(t, &b->s0[i], what),
            to_buf_canaries_ok(t, &b->s1[i], what);
}

static void test_reference_sizes(to_ctx *t) {
    lw_case cases[16];
    int nc = make_cases(cases), ci;
    size_t sizes[71 + 3], ns = 0, si;
    for (si = 0; si <= 70; si++) sizes[ns++] = si;
    sizes[ns++] = 1000, sizes[ns++] = 3001, sizes[ns++] = 4099;
    for (ci = 0; ci < nc; ci++)
        for (si = 0; si < ns; si++) {
            const lw_case *c = &cases[ci];
            const size_t n = sizes[si];
            const size_t lens[2] = {n, n / 3 + 1};
            uint64_t rng = 5 + n * 31 + (uint64_t)ci;
            trainopt_sfadamw_state sf = TRAINOPT_SFADAMW_STATE_INIT;
            lw_bufs b;
            double *rp[2], *r0[2], *r1[2], *rx[2];
            char what[96];
            size_t i, j;
            int step;
            bufs_new(&b, c, 2, lens, &rng);
            for (j = 0; j < 2; j++) {
                rp[j] = (double *)malloc((lens[j] + 1) * sizeof(double));
                r0[j] = (double *)malloc((lens[j] + 1) * sizeof(double));
                r1[j] = (double *)malloc((lens[j] + 1) * sizeof(double));
                rx[j] = (double *)malloc((lens[j] + 1) * sizeof(double));
                for (i = 0; i < lens[j]; i++) rp[j][i] = rx[j][i] = b.pl[j][i], r0[j][i] = b.s0l[j][i], r1[j][i] = b.s1l[j][i];
            }
            for (step = 1; step <= 3; step++) {
                snprintf(what, sizeof what, "%s#%d n=%zu step %d", kind_name[c->kind], ci, n, step);
                if (!to_expect_status(t, lw_step(c, step, &sf, 1, 2, lens, b.pl, b.gl, b.s0l, b.s1l, NULL), TRAINOPT_OK, what))
                    break;
                for (j = 0; j < 2; j++) {
                    reference_step(c, step, &sf, lens[j], j == 0 ? af_rows(c, lens[0]) : 0, rp[j], b.gl[j], r0[j], r1[j], rx[j]);
                    close_to_double(t, what, b.pl[j], rp[j], lens[j], 1e-5);
                    if (state_count(c)) close_to_double(t, what, b.s0l[j], r0[j], lens[j], 1e-5);
                    if (c->kind != K_LARS) close_to_double(t, what, b.s1l[j], r1[j], lens[j], 1e-5);
                }
            }
            bufs_canaries(t, &b, 2, what);
            for (j = 0; j < 2; j++) free(rp[j]), free(r0[j]), free(r1[j]), free(rx[j]);
            bufs_free(&b, 2);
        }
}

/* ---- a list is its tensors one by one (schedule-free: one advance, then a call per tensor);
   schedule-free chunks are the whole ---------------------------------------------------- */
static void test_list_equals_single_calls(to_ctx *t) {
    lw_case cases[16];
    int nc = make_cases(cases), ci, step;
    const size_t lens[3] = {1029, 7, 300};
    for (ci = 0; ci < nc; ci++) {
        const lw_case *c = &cases[ci];
        uint64_t rng = 99 + (uint64_t)ci, rng2 = rng;
        if (c->kind == K_AF) continue; /* one tensor per call: its first tensor is the factored one */
        trainopt_sfadamw_state sf1 = TRAINOPT_SFADAMW_STATE_INIT, sf2 = TRAINOPT_SFADAMW_STATE_INIT;
        lw_bufs a, b;
        size_t i;
        bufs_new(&a, c, 3, lens, &rng);
        bufs_new(&b, c, 3, lens, &rng2);
        for (step = 1; step <= 3; step++) {
            to_expect_status(t, lw_step(c, step, &sf1, 1, 3, lens, a.pl, a.gl, a.s0l, a.s1l, NULL), TRAINOPT_OK, "list");
            if (c->kind == K_SF) trainopt_sfadamw_advance(&c->sf, &sf2);
            for (i = 0; i < 3; i++)
                to_expect_status(t, lw_step(c, step, &sf2, 0, 1, lens + i, b.pl + i, b.gl + i, b.s0l + i, b.s1l + i, NULL),
                                 TRAINOPT_OK, "one tensor");
        }
        for (i = 0; i < 3; i++) {
            to_bits_equal(t, kind_name[c->kind], a.pl[i], b.pl[i], lens[i]);
            to_bits_equal(t, kind_name[c->kind], a.s0l[i], b.s0l[i], lens[i]);
            to_bits_equal(t, kind_name[c->kind], a.s1l[i], b.s1l[i], lens[i]);
        }
        bufs_free(&a, 3);
        bufs_free(&b, 3);
    }
}

static void test_sfadamw_chunked(to_ctx *t) {
    static const size_t splits[] = {0, 1, 15, 16, 17, 500, 1000};
    const size_t n = 1001;
    lw_case cases[16];
    int nc = make_cases(cases), ci;
    size_t si;
    for (ci = 0; ci < nc; ci++) {
        const lw_case *c = &cases[ci];
        if (c->kind != K_SF) continue;
        for (si = 0; si < sizeof splits / sizeof splits[0]; si++) {
            uint64_t rng = 3, rng2 = 3;
            trainopt_sfadamw_state sf = TRAINOPT_SFADAMW_STATE_INIT;
            lw_bufs a, b;
            const size_t cut = splits[si], rest = n - cut;
            int step;
            bufs_new(&a, c, 1, &n, &rng);
            bufs_new(&b, c, 1, &n, &rng2);
            for (step = 1; step <= 3; step++) {
                trainopt_sfadamw_advance(&c->sf, &sf);
                trainopt_sfadamw_step(&c->sf, &sf, n, a.pl[0], a.gl[0], a.s0l[0], a.s1l[0]);
                trainopt_sfadamw_step(&c->sf, &sf, cut, b.pl[0], b.gl[0], b.s0l[0], b.s1l[0]);
                trainopt_sfadamw_step(&c->sf, &sf, rest, b.pl[0] + cut, b.gl[0] + cut, b.s0l[0] + cut, b.s1l[0] + cut);
            }
            to_bits_equal(t, "chunked param", b.pl[0], a.pl[0], n);
            to_bits_equal(t, "chunked z", b.s0l[0], a.s0l[0], n);
            to_bits_equal(t, "chunked exp_avg_sq", b.s1l[0], a.s1l[0], n);
            bufs_free(&a, 1);
            bufs_free(&b, 1);
        }
    }
}

/* ---- trust ratio edges: zero norms give 1; NaN stays in its tensor ----------------------- */
static void test_trust_ratio_edges(to_ctx *t) {
    const size_t lens[2] = {37, 20};
    float p0[37], g0[37], m0[37], v0[37], p1[20], g1[20], m1[20], v1[20];
    float *ps[2] = {p0, p1}, *ms[2] = {m0, m1}, *vs[2] = {v0, v1};
    const float *gs[2] = {g0, g1};
    trainopt_lamb_config lamb = TRAINOPT_LAMB_DEFAULTS;
    trainopt_lars_config lars = TRAINOPT_LARS_DEFAULTS;
    size_t i;
    lamb.lr = 0.1, lamb.weight_decay = 0.0;
    /* LAMB, step 1: u = g / (|g| + eps); a zero tensor moves by lr * u (trust 1) */
    for (i = 0; i < 37; i++) p0[i] = 0.0f, g0[i] = (float)i - 18.5f, m0[i] = v0[i] = 0.0f;
    for (i = 0; i < 20; i++) p1[i] = 1.0f, g1[i] = i == 7 ? NAN : 0.5f, m1[i] = v1[i] = 0.0f;
    to_expect_status(t, trainopt_lamb_step(&lamb, 1, 2, lens, ps, gs, ms, vs), TRAINOPT_OK, "lamb zero tensor");
    for (i = 0; i < 37; i++) {
        const double want = -0.1 * (double)g0[i] / (fabs((double)g0[i]) + 1e-6);
        TO_CHECK(t, fabs(p0[i] - want) <= 1e-6, "lamb zero param: p[%zu] = %g, want %g (trust ratio 1)", i, p0[i], want);
    }
    for (i = 0; i < 20; i++) TO_CHECK(t, isnan(p1[i]), "lamb: a NaN gradient makes its tensor's p[%zu] NaN (%g)", i, p1[i]);
    /* LARS: a zero gradient without decay has ||u|| = 0: trust 1 and no move; the other tensor moves */
    lars.lr = 0.5, lars.momentum = 0.0;
    for (i = 0; i < 37; i++) p0[i] = 1.0f, g0[i] = 0.0f;
    for (i = 0; i < 20; i++) p1[i] = 2.0f, g1[i] = 1.0f;
    to_expect_status(t, trainopt_lars_step(&lars, 2, lens, ps, gs, NULL), TRAINOPT_OK, "lars zero grad");
    for (i = 0; i < 37; i++) TO_CHECK(t, p0[i] == 1.0f, "lars zero gradient moved p[%zu] to %g", i, p0[i]);
    /* trust = 0.001 * ||p|| / ||g|| = 0.001 * 2 -> p = 2 - 0.5 * 0.002 * 1 */
    for (i = 0; i < 20; i++) TO_CHECK(t, fabsf(p1[i] - 1.999f) <= 1e-6f, "lars p[%zu] = %.9g, want 1.999", i, p1[i]);
}

/* ---- the fused options ---------------------------------------------------------------------- */
static void test_fused(to_ctx *t) {
    lw_case cases[16];
    int nc = make_cases(cases), ci;
    const size_t lens[2] = {300, 17};
    for (ci = 0; ci < nc; ci++) {
        const lw_case *c = &cases[ci];
        uint64_t rng = 21 + (uint64_t)ci, rng2 = rng;
        trainopt_sfadamw_state sf1 = TRAINOPT_SFADAMW_STATE_INIT, sf2 = TRAINOPT_SFADAMW_STATE_INIT;
        trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
        lw_bufs a, b;
        size_t i, j, bad = 99, want_bad = 0, sum_before = 0, sum_after = 0;
        int found_inf = 1;
        bufs_new(&a, c, 2, lens, &rng);
        bufs_new(&b, c, 2, lens, &rng2);
        a.gl[1][16] = INFINITY;
        o.grad_scale = 0.37, o.nonfinite = &bad;
        for (j = 0; j < 2; j++)
            for (i = 0; i < lens[j]; i++) {
                b.gl[j][i] = a.gl[j][i] * 0.37f;
                want_bad += !isfinite(b.gl[j][i]);
            }
        to_expect_status(t, lw_step(c, 1, &sf1, 1, 2, lens, a.pl, a.gl, a.s0l, a.s1l, &o), TRAINOPT_OK, "fused");
        to_expect_status(t, lw_step(c, 1, &sf2, 1, 2, lens, b.pl, b.gl, b.s0l, b.s1l, NULL), TRAINOPT_OK, "prescaled");
        for (j = 0; j < 2; j++) {
            to_bits_equal(t, "fused param", a.pl[j], b.pl[j], lens[j]);
            to_bits_equal(t, "fused state 0", a.s0l[j], b.s0l[j], lens[j]);
            to_bits_equal(t, "fused state 1", a.s1l[j], b.s1l[j], lens[j]);
        }
        /* sfadamw counts per call: the last call saw the tensor with the Inf */
        TO_CHECK(t, bad == want_bad, "%s: nonfinite = %zu, want %zu", kind_name[c->kind], bad, want_bad);
        for (j = 0; j < 2; j++)
            for (i = 0; i < lens[j]; i++) sum_before += to_bits(a.pl[j][i]) + 3 * to_bits(a.s0l[j][i]) + to_bits(a.s1l[j][i]);
        o.found_inf = &found_inf;
        to_expect_status(t, lw_step(c, 2, &sf1, 1, 2, lens, a.pl, a.gl, a.s0l, a.s1l, &o), TRAINOPT_OK, "skipped");
        TO_CHECK(t, bad == 0, "%s: a skipped step counts %zu", kind_name[c->kind], bad);
        o.found_inf = NULL, o.grad_scale = NAN;
        to_expect_status(t, lw_step(c, 2, &sf1, 0, 2, lens, a.pl, a.gl, a.s0l, a.s1l, &o), TRAINOPT_ERR_HPARAM, "NaN scale");
        for (j = 0; j < 2; j++)
            for (i = 0; i < lens[j]; i++) sum_after += to_bits(a.pl[j][i]) + 3 * to_bits(a.s0l[j][i]) + to_bits(a.s1l[j][i]);
        TO_CHECK(t, sum_before == sum_after, "%s: a skipped or refused step wrote", kind_name[c->kind]);
        bufs_free(&a, 2);
        bufs_free(&b, 2);
    }
}

/* ---- the refusals lists and the schedule-free state add (nothing written) ---------------- */
static size_t sum_bits(const float *x, size_t n) {
    size_t i, s = 0;
    for (i = 0; i < n; i++) s = s * 31 + to_bits(x[i]);
    return s;
}

static void test_errors(to_ctx *t) {
    float a[64], b[64], c[64], d[64], e[64];
    float *ps[2] = {a, b}, *ms[2] = {c, d}, *vs[2] = {e, e + 32};
    const float *gs[2] = {d + 40, d + 5};
    size_t lens[2] = {20, 10}, before;
    trainopt_lamb_config lamb = TRAINOPT_LAMB_DEFAULTS;
    trainopt_lars_config lars = TRAINOPT_LARS_DEFAULTS;
    trainopt_sfadamw_config sfc = TRAINOPT_SFADAMW_DEFAULTS;
    trainopt_sfadamw_state sf = TRAINOPT_SFADAMW_STATE_INIT;
    uint64_t rng = 1;
    to_rand_fill(&rng, a, 64, -1, 1), to_rand_fill(&rng, b, 64, -1, 1), to_rand_fill(&rng, c, 64, -1, 1);
    to_rand_fill(&rng, d, 64, -1, 1), to_rand_fill(&rng, e, 64, 0, 1);
    before = sum_bits(a, 64) + sum_bits(b, 64) + sum_bits(c, 64) + sum_bits(d, 64) + sum_bits(e, 64);
    lamb.lr = 0.1, lars.lr = 0.1;
    /* exp_avgs[1] = d[0, 10) over grads[1] = d[5, 15): a written tensor over a read one */
    to_expect_status(t, trainopt_lamb_step(&lamb, 1, 2, lens, ps, gs, ms, vs), TRAINOPT_ERR_ALIAS, "exp_avgs[1] over grads");
    gs[1] = d + 50;
    ms[1] = a + 20; /* right after params[0]: no overlap */
    ps[1] = a + 19;
    to_expect_status(t, trainopt_lamb_step(&lamb, 1, 2, lens, ps, gs, ms, vs), TRAINOPT_ERR_ALIAS, "params overlap");
    ps[1] = b;
    to_expect_status(t, trainopt_lamb_step(&lamb, 1, 2, NULL, ps, gs, ms, vs), TRAINOPT_ERR_NULL, "lens NULL");
    to_expect_status(t, trainopt_lamb_step(&lamb, 1, 2, lens, ps, gs, NULL, vs), TRAINOPT_ERR_NULL, "exp_avgs NULL");
    ms[0] = NULL;
    to_expect_status(t, trainopt_lamb_step(&lamb, 1, 2, lens, ps, gs, ms, vs), TRAINOPT_ERR_NULL, "a NULL tensor");
    ms[0] = c;
    lens[1] = SIZE_MAX / 2;
    to_expect_status(t, trainopt_lamb_step(&lamb, 1, 2, lens, ps, gs, ms, vs), TRAINOPT_ERR_SHAPE, "overflowing length");
    lens[1] = 10;
    to_expect_status(t, trainopt_lamb_step(&lamb, 0, 2, lens, ps, gs, ms, vs), TRAINOPT_ERR_STEP, "step 0");
    lars.momentum = 0.9;
    to_expect_status(t, trainopt_lars_step(&lars, 2, lens, ps, gs, NULL), TRAINOPT_ERR_NULL, "lars without momentum_bufs");
    lars.trust_coefficient = -1.0;
    to_expect_status(t, trainopt_lars_step(&lars, 2, lens, ps, gs, ms), TRAINOPT_ERR_HPARAM, "negative trust_coefficient");
    {
        trainopt_lamb_config unset = TRAINOPT_LAMB_DEFAULTS;
        trainopt_lars_config unset_lars = TRAINOPT_LARS_DEFAULTS;
        to_expect_status(t, trainopt_lamb_step(&unset, 1, 2, lens, ps, gs, ms, vs), TRAINOPT_ERR_HPARAM, "lamb lr unset");
        to_expect_status(t, trainopt_lars_step(&unset_lars, 2, lens, ps, gs, ms), TRAINOPT_ERR_HPARAM, "lars lr unset");
    }
    /* schedule-free: a step before the first advance, a broken state, bad swaps */
    to_expect_status(t, trainopt_sfadamw_step(&sfc, &sf, 20, a, d, c, e), TRAINOPT_ERR_STEP, "step before advance");
    {
        int found_inf = 1;
        trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
        o.found_inf = &found_inf;
        to_expect_status(t, trainopt_sfadamw_step_ex(&sfc, &sf, 20, a, d, c, e, &o), TRAINOPT_OK,
                         "a skipped first step needs no advance");
    }
    sf.ckp1 = 2.0, sf.step = 1;
    to_expect_status(t, trainopt_sfadamw_step(&sfc, &sf, 20, a, d, c, e), TRAINOPT_ERR_HPARAM, "ckp1 > 1");
    sfc.beta1 = 0.0;
    to_expect_status(t, trainopt_sfadamw_to_eval(&sfc, 20, a, c, a), TRAINOPT_ERR_HPARAM, "to_eval with beta1 0");
    sfc.beta1 = 0.9;
    to_expect_status(t, trainopt_sfadamw_to_eval(&sfc, 20, a, c, a + 1), TRAINOPT_ERR_ALIAS, "to_eval partial overlap");
    to_expect_status(t, trainopt_sfadamw_to_train(&sfc, 20, a, a + 5, b), TRAINOPT_ERR_ALIAS, "to_train z over x");
    {
        trainopt_adafactor_config af = TRAINOPT_ADAFACTOR_DEFAULTS;
        to_expect_status(t, trainopt_adafactor_step(&af, 1, 4, 5, a, d, c, NULL, NULL), TRAINOPT_ERR_NULL, "no col_var");
        to_expect_status(t, trainopt_adafactor_step(&af, 1, 4, 5, a, d, c, e, b), TRAINOPT_ERR_ALIAS, "factors and variance");
        to_expect_status(t, trainopt_adafactor_step(&af, 1, 4, 5, a, d, a + 19, e, NULL), TRAINOPT_ERR_ALIAS,
                         "row_var over param");
        to_expect_status(t, trainopt_adafactor_step(&af, 1, 4, 5, a, d, c, c + 3, NULL), TRAINOPT_ERR_ALIAS,
                         "row_var over col_var");
        to_expect_status(t, trainopt_adafactor_step(&af, 1, SIZE_MAX / 2, 5, a, d, c, e, NULL), TRAINOPT_ERR_SHAPE,
                         "rows * cols overflows");
        af.d = 0.5;
        to_expect_status(t, trainopt_adafactor_step(&af, 1, 4, 5, a, d, c, e, NULL), TRAINOPT_ERR_HPARAM, "d < 1");
        af.d = 1.0, af.beta2_decay = 0.1;
        to_expect_status(t, trainopt_adafactor_step(&af, 1, 4, 5, a, d, c, e, NULL), TRAINOPT_ERR_HPARAM, "beta2_decay > 0");
    }
    TO_CHECK(t, before == sum_bits(a, 64) + sum_bits(b, 64) + sum_bits(c, 64) + sum_bits(d, 64) + sum_bits(e, 64),
             "a refused call wrote");
    sf.step = -1;
    to_expect_status(t, trainopt_sfadamw_advance(&sfc, &sf), TRAINOPT_ERR_STEP, "advance from a negative count");
    sf.step = 0, sf.lr_max = NAN;
    to_expect_status(t, trainopt_sfadamw_advance(&sfc, &sf), TRAINOPT_ERR_HPARAM, "advance from a NaN lr_max");
    TO_CHECK(t, sf.step == 0, "a refused advance changed the state");
}

/* ---- schedule-free's scalars and its train/eval swap ---------------------------------------- */
static void test_sfadamw_scalars_and_swap(to_ctx *t) {
    trainopt_sfadamw_config c = TRAINOPT_SFADAMW_DEFAULTS;
    trainopt_sfadamw_state s = TRAINOPT_SFADAMW_STATE_INIT;
    float y[45], z[45], x[45], y2[45];
    uint64_t rng = 8;
    size_t i;
    double sum = 0.0, lr;
    int k;
    c.warmup_steps = 4;
    for (k = 1; k <= 6; k++) {
        to_expect_status(t, trainopt_sfadamw_advance(&c, &s), TRAINOPT_OK, "advance");
        lr = c.lr * (k < 4 ? k / 4.0 : 1.0) * sqrt(1.0 - pow(c.beta2, k));
        sum += lr * lr; /* r = 0, power 2, lr increasing: each weight is lr^2 */
        TO_CHECK(t, s.step == k && fabs(s.lr - lr) <= 1e-12 * lr && fabs(s.ckp1 - lr * lr / sum) <= 1e-12,
                 "advance %d: step %lld lr %.17g (want %.17g) ckp1 %.17g (want %.17g)", k, (long long)s.step, s.lr, lr,
                 s.ckp1, lr * lr / sum);
    }
    c.lr = 0.0, s = (trainopt_sfadamw_state)TRAINOPT_SFADAMW_STATE_INIT;
    trainopt_sfadamw_advance(&c, &s);
    TO_CHECK(t, s.ckp1 == 0.0 && s.weight_sum == 0.0, "lr 0: ckp1 %g (the reference's ZeroDivisionError branch: 0)", s.ckp1);
    /* x = (y - (1-beta1) z) / beta1, and back to y */
    c.lr = 0.0025;
    to_rand_fill(&rng, y, 45, -1, 1), to_rand_fill(&rng, z, 45, -1, 1);
    to_expect_status(t, trainopt_sfadamw_to_eval(&c, 45, y, z, x), TRAINOPT_OK, "to_eval");
    for (i = 0; i < 45; i++) {
        const double want = ((double)y[i] - 0.1 * z[i]) / 0.9;
        TO_CHECK(t, fabs(x[i] - want) <= 1e-6, "x[%zu] = %g, want %g", i, x[i], want);
    }
    to_expect_status(t, trainopt_sfadamw_to_train(&c, 45, x, z, y2), TRAINOPT_OK, "to_train");
    for (i = 0; i < 45; i++) TO_CHECK(t, fabsf(y2[i] - y[i]) <= 1e-6f, "round trip y[%zu]: %g, was %g", i, y2[i], y[i]);
    to_copy(y2, y, 45);
    to_expect_status(t, trainopt_sfadamw_to_eval(&c, 45, y2, z, y2), TRAINOPT_OK, "to_eval in place");
    to_bits_equal(t, "to_eval in place", y2, x, 45);
}

/* ---- guard pages: no byte outside [0, n) of any tensor is touched ------------------------ */
static void test_guard_pages(to_ctx *t) {
    lw_case cases[16];
    int nc = make_cases(cases), ci, at_end;
    size_t n;
    for (at_end = 0; at_end <= 1; at_end++)
        for (ci = 0; ci < nc; ci++)
            for (n = 0; n <= 3 * 16 + 1; n = n < 3 * 16 ? n + 1 : 4099) {
                const lw_case *c = &cases[ci];
                to_guard p = to_guard_new(n, at_end), g = to_guard_new(n, at_end), s0 = to_guard_new(n, at_end),
                         s1 = to_guard_new(n, at_end), x = to_guard_new(n, at_end);
                trainopt_sfadamw_state sf = TRAINOPT_SFADAMW_STATE_INIT;
                trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
                size_t bad;
                o.grad_scale = 0.5, o.nonfinite = &bad;
                if (n) memset(p.p, 0, n * 4), memset(g.p, 0, n * 4), memset(s0.p, 0, n * 4), memset(s1.p, 0, n * 4);
                to_expect_status(t, lw_step(c, 1, &sf, 1, 1, &n, &p.p, &g.p, &s0.p, &s1.p, NULL), TRAINOPT_OK, "guarded");
                to_expect_status(t, lw_step(c, 2, &sf, 1, 1, &n, &p.p, &g.p, &s0.p, &s1.p, &o), TRAINOPT_OK, "guarded _ex");
                if (c->kind == K_SF)
                    to_expect_status(t, trainopt_sfadamw_to_eval(&c->sf, n, p.p, s0.p, x.p), TRAINOPT_OK, "guarded swap");
                to_guard_free(&p), to_guard_free(&g), to_guard_free(&s0), to_guard_free(&s1), to_guard_free(&x);
            }
}

void TO_NAME(layerwise_tests)(to_ctx *t) {
    to_run(t, "golden-float64-references", test_golden);
    to_run(t, "double-reference-sizes-0-70-and-large", test_reference_sizes);
    to_run(t, "list-equals-one-call-per-tensor", test_list_equals_single_calls);
    to_run(t, "sfadamw-chunked-equals-whole", test_sfadamw_chunked);
    to_run(t, "trust-ratio-zero-norms-and-nan", test_trust_ratio_edges);
    to_run(t, "fused-step-scale-count-skip", test_fused);
    to_run(t, "errors-write-nothing", test_errors);
    to_run(t, "sfadamw-scalars-and-swap", test_sfadamw_scalars_and_swap);
    to_run(t, "guard-pages", test_guard_pages);
}

/* ---- the battery: every bit the same on every backend, norms included -------------------- */
void TO_NAME(layerwise_battery)(to_sink *sink) {
    static const size_t sizes[] = {1, 3, 15, 16, 17, 255, 256, 257, 1029, 4099};
    lw_case cases[16];
    int nc = make_cases(cases), ci, step;
    size_t si, j;
    for (ci = 0; ci < nc; ci++)
        for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            const lw_case *c = &cases[ci];
            const size_t lens[2] = {sizes[si], sizes[si] / 2 + 3};
            uint64_t rng = 1 + si * 7 + (uint64_t)ci * 1000;
            trainopt_sfadamw_state sf = TRAINOPT_SFADAMW_STATE_INIT;
            trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
            lw_bufs b;
            char name[128];
            size_t bad = 0, i;
            bufs_new(&b, c, 2, lens, &rng);
            for (i = 0; i < lens[0]; i += 13) { /* special values, in the first tensor only */
                static const float special[] = {0.0f, -0.0f, 1e-40f, -1e-38f, 3e18f, 1e-20f};
                b.gl[0][i] = special[(i / 13) % 6];
            }
            for (step = 1; step <= 3; step++) {
                snprintf(name, sizeof name, "%s#%d/n=%zu/step=%d/status", kind_name[c->kind], ci, lens[0], step);
                to_emit_status(sink, name, lw_step(c, step, &sf, 1, 2, lens, b.pl, b.gl, b.s0l, b.s1l, NULL));
            }
            o.grad_scale = 0.25, o.nonfinite = &bad;
            if (lens[0] > 20) b.gl[1][2] = NAN;
            snprintf(name, sizeof name, "%s#%d/n=%zu/step_ex", kind_name[c->kind], ci, lens[0]);
            to_emit_status(sink, name, lw_step(c, 4, &sf, 1, 2, lens, b.pl, b.gl, b.s0l, b.s1l, &o));
            snprintf(name, sizeof name, "%s#%d/n=%zu/nonfinite", kind_name[c->kind], ci, lens[0]);
            to_emit(sink, name, &bad, sizeof bad);
            for (j = 0; j < 2; j++) {
                snprintf(name, sizeof name, "%s#%d/n=%zu/tensor%zu/param", kind_name[c->kind], ci, lens[0], j);
                to_emit_floats(sink, name, b.pl[j], lens[j]);
                snprintf(name, sizeof name, "%s#%d/n=%zu/tensor%zu/state0", kind_name[c->kind], ci, lens[0], j);
                to_emit_floats(sink, name, b.s0l[j], lens[j]);
                snprintf(name, sizeof name, "%s#%d/n=%zu/tensor%zu/state1", kind_name[c->kind], ci, lens[0], j);
                to_emit_floats(sink, name, b.s1l[j], lens[j]);
                if (c->kind == K_SF) {
                    trainopt_sfadamw_to_eval(&c->sf, lens[j], b.pl[j], b.s0l[j], b.s1l[j]);
                    snprintf(name, sizeof name, "%s#%d/n=%zu/tensor%zu/x", kind_name[c->kind], ci, lens[0], j);
                    to_emit_floats(sink, name, b.s1l[j], lens[j]);
                }
            }
            bufs_free(&b, 2);
        }
}
