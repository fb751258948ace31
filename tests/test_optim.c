/* tests/test_optim.c - the optimizers: PyTorch golden trajectories, a plain
   scalar reference, sizes, alignment, canaries, chunking, NaN/Inf and every
   documented error. Compiled once per backend (see tests/harness.h). */
#include "harness.h"
#include "trainopt.h"
#include "trainopt_simd.h" /* the vector layer: test_product_stays_rounded */

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { K_SGD, K_ADAGRAD, K_RMSPROP, K_ADAM, K_ADAMW, K_NADAM, K_RADAM, K_ADAMAX, K_ADADELTA, K_LION, K_COUNT };
static const char *const kind_name[K_COUNT] = {"sgd",   "adagrad", "rmsprop", "adam",     "adamw",
                                               "nadam", "radam",   "adamax",  "adadelta", "lion"};

/* One optimizer with one configuration: the common shape every test below drives. */
typedef struct {
    int kind;
    trainopt_sgd_config sgd;
    trainopt_adagrad_config adagrad;
    trainopt_rmsprop_config rmsprop;
    trainopt_adam_config adam;
    trainopt_nadam_config nadam;
    trainopt_radam_config radam;
    trainopt_adamax_config adamax;
    trainopt_adadelta_config adadelta;
    trainopt_lion_config lion;
    int64_t step_offset; /* every call runs step + step_offset: RAdam's rectified branch starts near step 6 */
} opt_case;

/* How many state arrays the configuration uses, in the golden file's order. */
static int state_count(const opt_case *c) {
    switch (c->kind) {
    case K_SGD: return c->sgd.momentum != 0.0;
    case K_ADAGRAD: return 1;
    case K_RMSPROP: return 1 + (c->rmsprop.momentum > 0.0) + (c->rmsprop.centered != 0);
    case K_ADAM:
    case K_ADAMW: return 2 + (c->adam.amsgrad != 0);
    case K_LION: return 1;
    default: return 2;
    }
}

/* NAdam's mu product after `step`, advanced once per step from 1 as a training loop does. */
static double nadam_product(const trainopt_nadam_config *c, int64_t step) {
    double product = 1.0;
    int64_t t;
    if (step < 1) return 0.5; /* a valid product, so a bad step is what the call is refused for */
    for (t = 1; t <= step; t++) product = trainopt_nadam_mu_product(c, t, product);
    return product;
}

/* Calls the kernel; states[] in the golden order, NULL where unused. */
static trainopt_status step_once(const opt_case *c, int64_t step, size_t n, float *p, const float *g, float **st) {
    step += step > 0 ? c->step_offset : 0;
    switch (c->kind) {
    case K_SGD: return trainopt_sgd_step(&c->sgd, step, n, p, g, st[0]);
    case K_ADAGRAD: return trainopt_adagrad_step(&c->adagrad, step, n, p, g, st[0]);
    case K_RMSPROP: {
        float *mom = c->rmsprop.momentum > 0.0 ? st[1] : NULL;
        float *avg = c->rmsprop.centered ? st[c->rmsprop.momentum > 0.0 ? 2 : 1] : NULL;
        return trainopt_rmsprop_step(&c->rmsprop, step, n, p, g, st[0], mom, avg);
    }
    case K_ADAM: return trainopt_adam_step(&c->adam, step, n, p, g, st[0], st[1], st[2]);
    case K_ADAMW: return trainopt_adamw_step(&c->adam, step, n, p, g, st[0], st[1], st[2]);
    case K_NADAM: return trainopt_nadam_step(&c->nadam, step, nadam_product(&c->nadam, step), n, p, g, st[0], st[1]);
    case K_RADAM: return trainopt_radam_step(&c->radam, step, n, p, g, st[0], st[1]);
    case K_ADAMAX: return trainopt_adamax_step(&c->adamax, step, n, p, g, st[0], st[1]);
    case K_ADADELTA: return trainopt_adadelta_step(&c->adadelta, step, n, p, g, st[0], st[1]);
    default: return trainopt_lion_step(&c->lion, step, n, p, g, st[0]);
    }
}

/* The same call through the fused-step options form. */
static trainopt_status step_once_ex(const opt_case *c, int64_t step, size_t n, float *p, const float *g, float **st,
                                    const trainopt_step_opts *o) {
    step += step > 0 ? c->step_offset : 0;
    switch (c->kind) {
    case K_SGD: return trainopt_sgd_step_ex(&c->sgd, step, n, p, g, st[0], o);
    case K_ADAGRAD: return trainopt_adagrad_step_ex(&c->adagrad, step, n, p, g, st[0], o);
    case K_RMSPROP: {
        float *mom = c->rmsprop.momentum > 0.0 ? st[1] : NULL;
        float *avg = c->rmsprop.centered ? st[c->rmsprop.momentum > 0.0 ? 2 : 1] : NULL;
        return trainopt_rmsprop_step_ex(&c->rmsprop, step, n, p, g, st[0], mom, avg, o);
    }
    case K_ADAM: return trainopt_adam_step_ex(&c->adam, step, n, p, g, st[0], st[1], st[2], o);
    case K_ADAMW: return trainopt_adamw_step_ex(&c->adam, step, n, p, g, st[0], st[1], st[2], o);
    case K_NADAM:
        return trainopt_nadam_step_ex(&c->nadam, step, nadam_product(&c->nadam, step), n, p, g, st[0], st[1], o);
    case K_RADAM: return trainopt_radam_step_ex(&c->radam, step, n, p, g, st[0], st[1], o);
    case K_ADAMAX: return trainopt_adamax_step_ex(&c->adamax, step, n, p, g, st[0], st[1], o);
    case K_ADADELTA: return trainopt_adadelta_step_ex(&c->adadelta, step, n, p, g, st[0], st[1], o);
    default: return trainopt_lion_step_ex(&c->lion, step, n, p, g, st[0], o);
    }
}

/* Initial state as PyTorch creates it: zeros, Adagrad's initial accumulator. */
static void init_states(const opt_case *c, size_t n, float **st) {
    int s, count = state_count(c);
    for (s = 0; s < count; s++) memset(st[s], 0, n * sizeof(float));
    if (c->kind == K_ADAGRAD && n) trainopt_adagrad_init(&c->adagrad, n, st[0]);
}

/* ---- the plain scalar reference: PyTorch's op order, float, no fusion ----------------- */
static void reference_step(const opt_case *c, int64_t step, size_t n, float *p, const float *grad, float **st) {
    size_t i;
    step += c->step_offset;
    for (i = 0; i < n; i++) {
        float g = grad[i];
        switch (c->kind) {
        case K_SGD: {
            const trainopt_sgd_config *q = &c->sgd;
            if (q->maximize) g = -g;
            if (q->weight_decay != 0) g = g + (float)q->weight_decay * p[i];
            if (q->momentum != 0) {
                if (step == 1) st[0][i] = g;
                else st[0][i] = st[0][i] * (float)q->momentum + (float)(1 - q->dampening) * g;
                g = q->nesterov ? g + (float)q->momentum * st[0][i] : st[0][i];
            }
            p[i] = p[i] + (float)-q->lr * g;
            break;
        }
        case K_ADAGRAD: {
            const trainopt_adagrad_config *q = &c->adagrad;
            float clr = (float)(q->lr / (1 + (double)(step - 1) * q->lr_decay));
            if (q->maximize) g = -g;
            if (q->weight_decay != 0) g = g + (float)q->weight_decay * p[i];
            st[0][i] = st[0][i] + g * g;
            p[i] = p[i] + -clr * g / (sqrtf(st[0][i]) + (float)q->eps);
            break;
        }
        case K_RMSPROP: {
            const trainopt_rmsprop_config *q = &c->rmsprop;
            float a = (float)q->alpha, oma = (float)(1 - q->alpha), avg;
            int mom = q->momentum > 0, ga = mom ? 2 : 1;
            if (q->maximize) g = -g;
            if (q->weight_decay != 0) g = g + (float)q->weight_decay * p[i];
            st[0][i] = st[0][i] * a + oma * g * g;
            if (q->centered) {
                st[ga][i] = st[ga][i] * a + oma * g;
                avg = sqrtf(st[0][i] - st[ga][i] * st[ga][i]);
            } else {
                avg = sqrtf(st[0][i]);
            }
            avg = avg + (float)q->eps;
            if (mom) {
                st[1][i] = st[1][i] * (float)q->momentum + g / avg;
                p[i] = p[i] + (float)-q->lr * st[1][i];
            } else {
                p[i] = p[i] + (float)-q->lr * g / avg;
            }
            break;
        }
        case K_ADAM:
        case K_ADAMW: {
            const trainopt_adam_config *q = &c->adam;
            double bc1 = 1 - pow(q->beta1, (double)step), bc2 = 1 - pow(q->beta2, (double)step);
            float v;
            if (q->maximize) g = -g;
            if (c->kind == K_ADAMW) p[i] = p[i] * (float)(1 - q->lr * q->weight_decay);
            else if (q->weight_decay != 0) g = g + (float)q->weight_decay * p[i];
            st[0][i] = st[0][i] * (float)q->beta1 + (float)(1 - q->beta1) * g;
            st[1][i] = st[1][i] * (float)q->beta2 + (float)(1 - q->beta2) * g * g;
            v = st[1][i];
            if (q->amsgrad) {
                if (isnan(st[2][i]) || isnan(v)) st[2][i] = NAN;
                else if (v > st[2][i]) st[2][i] = v;
                v = st[2][i];
            }
            p[i] = p[i] + (float)-(q->lr / bc1) * st[0][i] / (sqrtf(v) / (float)sqrt(bc2) + (float)q->eps);
            break;
        }
        case K_NADAM: {
            const trainopt_nadam_config *q = &c->nadam;
            double mu = q->beta1 * (1 - 0.5 * pow(0.96, (double)step * q->momentum_decay));
            double mu_next = q->beta1 * (1 - 0.5 * pow(0.96, (double)(step + 1) * q->momentum_decay));
            double product = nadam_product(q, step), bc2 = 1 - pow(q->beta2, (double)step);
            float d;
            if (q->maximize) g = -g;
            if (q->weight_decay != 0 && q->decoupled_weight_decay) p[i] = p[i] * (float)(1 - q->lr * q->weight_decay);
            else if (q->weight_decay != 0) g = g + (float)q->weight_decay * p[i];
            st[0][i] = st[0][i] * (float)q->beta1 + (float)(1 - q->beta1) * g;
            st[1][i] = st[1][i] * (float)q->beta2 + (float)(1 - q->beta2) * g * g;
            d = sqrtf(st[1][i] / (float)bc2) + (float)q->eps;
            p[i] = p[i] + (float)(-q->lr * (1 - mu) / (1 - product)) * g / d;
            p[i] = p[i] + (float)(-q->lr * mu_next / (1 - product * mu_next)) * st[0][i] / d;
            break;
        }
        case K_RADAM: {
            const trainopt_radam_config *q = &c->radam;
            double bc1 = 1 - pow(q->beta1, (double)step), bc2 = 1 - pow(q->beta2, (double)step);
            double rho_inf = 2 / (1 - q->beta2) - 1, rho_t = rho_inf - 2 * (double)step * pow(q->beta2, (double)step) / bc2;
            float m_hat;
            if (q->maximize) g = -g;
            if (q->weight_decay != 0 && q->decoupled_weight_decay) p[i] = p[i] * (float)(1 - q->lr * q->weight_decay);
            else if (q->weight_decay != 0) g = g + (float)q->weight_decay * p[i];
            st[0][i] = st[0][i] * (float)q->beta1 + (float)(1 - q->beta1) * g;
            st[1][i] = st[1][i] * (float)q->beta2 + (float)(1 - q->beta2) * g * g;
            m_hat = st[0][i] / (float)bc1;
            if (rho_t > 5) {
                double rect = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t));
                p[i] = p[i] - m_hat * (float)q->lr * ((float)sqrt(bc2) / (sqrtf(st[1][i]) + (float)q->eps)) * (float)rect;
            } else {
                p[i] = p[i] - m_hat * (float)q->lr;
            }
            break;
        }
        case K_ADAMAX: {
            const trainopt_adamax_config *q = &c->adamax;
            float a, b;
            if (q->maximize) g = -g;
            if (q->weight_decay != 0) g = g + (float)q->weight_decay * p[i];
            st[0][i] = st[0][i] * (float)q->beta1 + (float)(1 - q->beta1) * g;
            a = st[1][i] * (float)q->beta2;
            b = fabsf(g) + (float)q->eps;
            st[1][i] = isnan(a) || isnan(b) ? NAN : a > b ? a : b;
            p[i] = p[i] + (float)-(q->lr / (1 - pow(q->beta1, (double)step))) * st[0][i] / st[1][i];
            break;
        }
        case K_ADADELTA: {
            const trainopt_adadelta_config *q = &c->adadelta;
            float delta, eps = (float)q->eps, rho = (float)q->rho, omr = (float)(1 - q->rho);
            if (q->maximize) g = -g;
            if (q->weight_decay != 0) g = g + (float)q->weight_decay * p[i];
            st[0][i] = st[0][i] * rho + omr * g * g;
            delta = sqrtf(st[1][i] + eps) / sqrtf(st[0][i] + eps) * g;
            st[1][i] = st[1][i] * rho + omr * delta * delta;
            p[i] = p[i] + (float)-q->lr * delta;
            break;
        }
        default: {
            const trainopt_lion_config *q = &c->lion;
            float cm, sign;
            if (q->maximize) g = -g;
            /* c rounded as the kernel rounds it (one fma), so the sign cannot flip on a rounding */
            cm = fmaf((float)(1 - q->beta1), g, st[0][i] * (float)q->beta1);
            sign = cm > 0 ? 1.0f : cm < 0 ? -1.0f : cm;
            p[i] = p[i] - (float)q->lr * (sign + (float)q->weight_decay * p[i]);
            st[0][i] = st[0][i] * (float)q->beta2 + (float)(1 - q->beta2) * g;
            break;
        }
        }
    }
}

/* ---- configurations exercised by the reference, size and battery tests ----------------- */
static int make_cases(opt_case *out) {
    int k = 0;
    opt_case c;
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    trainopt_adagrad_config adagrad = TRAINOPT_ADAGRAD_DEFAULTS;
    trainopt_rmsprop_config rms = TRAINOPT_RMSPROP_DEFAULTS;
    trainopt_adam_config adam = TRAINOPT_ADAM_DEFAULTS, adamw = TRAINOPT_ADAMW_DEFAULTS;
    memset(&c, 0, sizeof c);

    c.kind = K_SGD;
    c.sgd = sgd; c.sgd.lr = 0.1; out[k++] = c;
    c.sgd.momentum = 0.9; c.sgd.weight_decay = 0.01; c.sgd.dampening = 0.1; out[k++] = c;
    c.sgd.dampening = 0; c.sgd.nesterov = 1; c.sgd.maximize = 1; out[k++] = c;
    c.sgd = sgd; c.sgd.weight_decay = 0.1; out[k++] = c;

    c.kind = K_ADAGRAD;
    c.adagrad = adagrad; out[k++] = c;
    c.adagrad.lr_decay = 0.01; c.adagrad.weight_decay = 0.02; c.adagrad.initial_accumulator_value = 0.5;
    c.adagrad.maximize = 1; out[k++] = c;

    c.kind = K_RMSPROP;
    c.rmsprop = rms; out[k++] = c;
    c.rmsprop.centered = 1; out[k++] = c;
    c.rmsprop.momentum = 0.9; c.rmsprop.weight_decay = 0.01; out[k++] = c;
    c.rmsprop.centered = 0; c.rmsprop.maximize = 1; out[k++] = c;

    c.kind = K_ADAM;
    c.adam = adam; out[k++] = c;
    c.adam.amsgrad = 1; c.adam.weight_decay = 0.01; out[k++] = c;
    c.adam.maximize = 1; c.adam.amsgrad = 0; out[k++] = c;

    c.kind = K_ADAMW;
    c.adam = adamw; out[k++] = c;
    c.adam.amsgrad = 1; c.adam.lr = 0.01; out[k++] = c;
    c.adam.weight_decay = 0; c.adam.maximize = 1; out[k++] = c;

    /* Issue 16: appended, so the earlier cases keep their numbers (battery names and seeds). */
    {
        trainopt_nadam_config nadam = TRAINOPT_NADAM_DEFAULTS;
        trainopt_radam_config radam = TRAINOPT_RADAM_DEFAULTS;
        trainopt_adamax_config adamax = TRAINOPT_ADAMAX_DEFAULTS;
        trainopt_adadelta_config adadelta = TRAINOPT_ADADELTA_DEFAULTS;
        trainopt_lion_config lion = TRAINOPT_LION_DEFAULTS;
        c.kind = K_NADAM;
        c.nadam = nadam; out[k++] = c;
        c.nadam.weight_decay = 0.01; c.nadam.momentum_decay = 0.02; c.nadam.maximize = 1; out[k++] = c;
        c.nadam.decoupled_weight_decay = 1; c.nadam.weight_decay = 0.1; out[k++] = c;

        c.kind = K_RADAM;
        c.radam = radam; out[k++] = c;
        c.radam.beta2 = 0.9; c.radam.weight_decay = 0.01; c.step_offset = 5; out[k++] = c; /* rho_t > 5 from step 6 */
        c.radam.decoupled_weight_decay = 1; c.radam.maximize = 1; c.radam.beta2 = 0.999; c.step_offset = 20;
        out[k++] = c;
        c.step_offset = 0;

        c.kind = K_ADAMAX;
        c.adamax = adamax; out[k++] = c;
        c.adamax.weight_decay = 0.02; c.adamax.maximize = 1; c.adamax.eps = 1e-3; out[k++] = c;

        c.kind = K_ADADELTA;
        c.adadelta = adadelta; out[k++] = c;
        c.adadelta.weight_decay = 0.02; c.adadelta.maximize = 1; c.adadelta.rho = 0.5; out[k++] = c;

        c.kind = K_LION;
        c.lion = lion; c.lion.lr = 1e-4; out[k++] = c;
        c.lion.lr = 3e-3; c.lion.weight_decay = 0; c.lion.beta1 = 0.5; out[k++] = c;
        c.lion.weight_decay = 0.1; c.lion.maximize = 1; out[k++] = c;
    }
    return k;
}

static void case_label(const opt_case *c, int index, char *buf, size_t size) {
    snprintf(buf, size, "%s#%d", kind_name[c->kind], index);
}

/* Arrays for one configuration, each in its own canaried, misaligned buffer. */
typedef struct {
    to_buf p, g, st[3];
    float *stp[3];
} opt_bufs;

static void bufs_new(opt_bufs *b, size_t n, size_t misalign) {
    int s;
    b->p = to_buf_new(n, misalign);
    b->g = to_buf_new(n, (misalign + 1) % 4);
    for (s = 0; s < 3; s++) {
        b->st[s] = to_buf_new(n, (misalign + 2 + (size_t)s) % 4);
        b->stp[s] = b->st[s].p;
    }
}

static void bufs_free(opt_bufs *b) {
    int s;
    to_buf_free(&b->p);
    to_buf_free(&b->g);
    for (s = 0; s < 3; s++) to_buf_free(&b->st[s]);
}

/* Optional state arrays the config does not use are passed as NULL. */
static void bufs_used_states(const opt_case *c, opt_bufs *b, float **st) {
    int s, count = state_count(c);
    for (s = 0; s < 3; s++) st[s] = s < count ? b->stp[s] : NULL;
}

static int bufs_canaries_ok(to_ctx *t, const opt_bufs *b, const char *label) {
    int s, ok = to_buf_canaries_ok(t, &b->p, label) & to_buf_canaries_ok(t, &b->g, label);
    for (s = 0; s < 3; s++) ok &= to_buf_canaries_ok(t, &b->st[s], label);
    return ok;
}

/* ---- golden trajectories from PyTorch 1.13 --------------------------------------------- */
typedef struct {
    const unsigned char *at, *end;
} reader;

static int read_bytes(reader *r, void *dst, size_t bytes) {
    if ((size_t)(r->end - r->at) < bytes) return 0;
    memcpy(dst, r->at, bytes);
    r->at += bytes;
    return 1;
}

static void test_golden(to_ctx *t) {
    size_t len, i;
    unsigned char *data = (unsigned char *)to_read_golden(t, "optim.bin", &len);
    reader r;
    uint32_t count, k;
    if (!data) return;
    r.at = data;
    r.end = data + len;
    if (len < 12 || memcmp(data, "TOPTGLD2", 8) != 0) {
        to_fail(t, "optim.bin: bad magic");
        free(data);
        return;
    }
    r.at += 8;
    read_bytes(&r, &count, 4);
    for (k = 0; k < count; k++) {
        char name[49] = {0};
        uint32_t kind, source, n, steps, nstates, hdr[3];
        int32_t flags[3];
        double hp[8], tol;
        opt_case c;
        float *param, *grads, *want, *st[3] = {NULL, NULL, NULL};
        int s, step, ok = 1;
        if (!read_bytes(&r, name, 48) || !read_bytes(&r, &kind, 4) || !read_bytes(&r, &source, 4) ||
            !read_bytes(&r, hp, sizeof hp) ||
            !read_bytes(&r, flags, sizeof flags) || !read_bytes(&r, hdr, sizeof hdr) || kind >= K_COUNT) {
            to_fail(t, "optim.bin: truncated header of case %u", (unsigned)k);
            break;
        }
        n = hdr[0]; steps = hdr[1]; nstates = hdr[2];
        memset(&c, 0, sizeof c);
        c.kind = (int)kind;
        if (kind == K_SGD) {
            trainopt_sgd_config q = {hp[0], hp[1], hp[2], hp[3], flags[0], flags[1]};
            c.sgd = q;
        } else if (kind == K_ADAGRAD) {
            trainopt_adagrad_config q = {hp[0], hp[1], hp[2], hp[3], hp[4], flags[0]};
            c.adagrad = q;
        } else if (kind == K_RMSPROP) {
            trainopt_rmsprop_config q = {hp[0], hp[1], hp[2], hp[3], hp[4], flags[0], flags[1]};
            c.rmsprop = q;
        } else if (kind == K_ADAM || kind == K_ADAMW) {
            trainopt_adam_config q = {hp[0], hp[1], hp[2], hp[3], hp[4], flags[0], flags[1]};
            c.adam = q;
        } else if (kind == K_NADAM) {
            trainopt_nadam_config q = {hp[0], hp[1], hp[2], hp[3], hp[4], hp[5], flags[0], flags[1]};
            c.nadam = q;
        } else if (kind == K_RADAM) {
            trainopt_radam_config q = {hp[0], hp[1], hp[2], hp[3], hp[4], flags[0], flags[1]};
            c.radam = q;
        } else if (kind == K_ADAMAX) {
            trainopt_adamax_config q = {hp[0], hp[1], hp[2], hp[3], hp[4], flags[0]};
            c.adamax = q;
        } else if (kind == K_ADADELTA) {
            trainopt_adadelta_config q = {hp[0], hp[1], hp[2], hp[3], flags[0]};
            c.adadelta = q;
        } else {
            trainopt_lion_config q = {hp[0], hp[1], hp[2], hp[3], flags[0]};
            c.lion = q;
        }
        /* PyTorch 1.13's own trajectories to 2e-6 of each array's largest magnitude; the
           float64 references (gen_optim.py: decoupled NAdam/RAdam, Lion) to 1e-5 of it. */
        tol = source == 0 ? 2e-6 : 1e-5;
        if ((uint32_t)state_count(&c) != nstates) {
            to_fail(t, "%s: golden file has %u states, config implies %d", name, (unsigned)nstates, state_count(&c));
            break;
        }
        param = (float *)malloc(n * sizeof(float));
        grads = (float *)malloc((size_t)steps * n * sizeof(float));
        want = (float *)malloc((1 + nstates) * n * sizeof(float));
        for (s = 0; s < 3; s++) st[s] = (float *)calloc(n, sizeof(float));
        read_bytes(&r, param, n * sizeof(float));
        read_bytes(&r, grads, (size_t)steps * n * sizeof(float));
        init_states(&c, n, st);
        for (step = 1; step <= (int)steps && ok; step++) {
            char what[192];
            if (!to_expect_status(t, step_once(&c, step, n, param, grads + (size_t)(step - 1) * n, st), TRAINOPT_OK, name)) {
                ok = 0;
                break;
            }
            if (!read_bytes(&r, want, (1 + nstates) * n * sizeof(float))) {
                to_fail(t, "%s: truncated", name);
                ok = 0;
                break;
            }
            snprintf(what, sizeof what, "%s step %d param", name, step);
            ok &= to_close(t, what, param, want, n, tol * to_max_abs(want, n));
            for (s = 0; s < (int)nstates; s++) {
                const float *w = want + (size_t)(1 + s) * n;
                snprintf(what, sizeof what, "%s step %d state %d", name, step, s);
                ok &= to_close(t, what, st[s], w, n, tol * to_max_abs(w, n));
            }
        }
        /* Skip the rest of a case that failed early, to keep reading the file in step. */
        for (; step <= (int)steps; step++) r.at += (1 + nstates) * n * sizeof(float);
        free(param);
        free(grads);
        free(want);
        for (s = 0; s < 3; s++) free(st[s]);
    }
    if (count < 39) to_fail(t, "optim.bin holds %u cases, expected at least 39", (unsigned)count);
    (void)i;
    free(data);
}

/* ---- against the scalar reference, every size 0..70 and a few thousand ----------------- */
static void fill_inputs(uint64_t *rng, const opt_case *c, size_t n, float *p, float *g, float **st) {
    int s;
    to_rand_fill(rng, p, n, -2.0f, 2.0f);
    to_rand_fill(rng, g, n, -1.0f, 1.0f);
    int centered_avg = -1;
    init_states(c, n, st);
    /* Centered RMSprop's grad_avg must stay small against square_avg, or the
       variance estimate square_avg - grad_avg^2 goes negative (NaN, in PyTorch too). */
    if (c->kind == K_RMSPROP && c->rmsprop.centered) centered_avg = c->rmsprop.momentum > 0.0 ? 2 : 1;
    for (s = 0; s < state_count(c); s++) {
        size_t i;
        for (i = 0; i < n; i++)
            st[s][i] += s == centered_avg ? to_rand_uniform(rng, -0.3f, 0.3f) : to_rand_uniform(rng, 0.5f, 1.0f);
    }
}

static void test_reference_sizes(to_ctx *t) {
    opt_case cases[48];
    int nc = make_cases(cases), ci, s;
    static const size_t big[] = {1000, 3001, 4099};
    size_t sizes[71 + 3], ns = 0, si;
    for (si = 0; si <= 70; si++) sizes[ns++] = si;
    for (si = 0; si < 3; si++) sizes[ns++] = big[si];
    for (ci = 0; ci < nc; ci++) {
        const opt_case *c = &cases[ci];
        for (si = 0; si < ns; si++) {
            size_t n = sizes[si], misalign = si % 4;
            uint64_t rng = 77 + si * 131 + (uint64_t)ci;
            opt_bufs b;
            float *st[3], *ref_p, *ref_st[3];
            char label[64];
            int step, ok = 1;
            bufs_new(&b, n, misalign);
            bufs_used_states(c, &b, st);
            fill_inputs(&rng, c, n, b.p.p, b.g.p, b.stp);
            ref_p = (float *)malloc((n + 1) * sizeof(float));
            for (s = 0; s < 3; s++) ref_st[s] = (float *)malloc((n + 1) * sizeof(float));
            to_copy(ref_p, b.p.p, n);
            for (s = 0; s < 3; s++) to_copy(ref_st[s], b.stp[s], n);
            case_label(c, ci, label, sizeof label);
            for (step = 1; step <= 3 && ok; step++) {
                char what[192];
                ok &= to_expect_status(t, step_once(c, step, n, b.p.p, b.g.p, st), TRAINOPT_OK, label);
                reference_step(c, step, n, ref_p, b.g.p, ref_st);
                snprintf(what, sizeof what, "%s n=%zu step %d param", label, n, step);
                ok &= to_close(t, what, b.p.p, ref_p, n, 4e-6 * to_max_abs(ref_p, n));
                for (s = 0; s < state_count(c); s++) {
                    snprintf(what, sizeof what, "%s n=%zu step %d state %d", label, n, step, s);
                    ok &= to_close(t, what, b.stp[s], ref_st[s], n, 4e-6 * to_max_abs(ref_st[s], n));
                }
            }
            bufs_canaries_ok(t, &b, label);
            free(ref_p);
            for (s = 0; s < 3; s++) free(ref_st[s]);
            bufs_free(&b);
        }
    }
}

/* ---- SGD's first step writes a buffer it must not read ---------------------------------- */
static void test_sgd_first_step_writes_buffer(to_ctx *t) {
    trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
    to_buf p = to_buf_new(37, 1), g = to_buf_new(37, 2), buf = to_buf_new(37, 3);
    uint64_t rng = 5;
    size_t i;
    c.momentum = 0.9;
    c.dampening = 0.5; /* PyTorch ignores dampening on the first step */
    to_rand_fill(&rng, p.p, 37, -1, 1);
    to_rand_fill(&rng, g.p, 37, -1, 1);
    /* buf holds NaN from to_buf_new: step 1 must overwrite it without reading it. */
    to_expect_status(t, trainopt_sgd_step(&c, 1, 37, p.p, g.p, buf.p), TRAINOPT_OK, "sgd step 1");
    for (i = 0; i < 37; i++) TO_CHECK(t, buf.p[i] == g.p[i], "buf[%zu] = %g, want the gradient %g", i, buf.p[i], g.p[i]);
    to_buf_canaries_ok(t, &buf, "sgd buf");
    to_buf_free(&p);
    to_buf_free(&g);
    to_buf_free(&buf);
}

/* ---- a product the kernel rounds on its own stays rounded ------------------------------- */
/* SGD's buffer update is fma(1 - dampening, g, momentum * buf). Once inlining makes
   the multiplier the constant 1, clang folds the fma to g + momentum * buf and,
   under -ffp-contract=fast, fused that into one fma (one rounding, not two); the
   threads suite's SGD showed it in the clang -O3 -ffp-contract=fast build. The
   expression here, with its constants visible, gives every build that chance. */
static float rounded_product(float a, float b) {
    volatile float p = a * b;
    return p;
}

static void test_product_stays_rounded(to_ctx *t) {
    enum { N = 4096 };
    static float g[N], buf[N], got[N], want[N];
    uint64_t rng = 11;
    size_t i, k, fused_differs = 0;
    to_rand_fill(&rng, g, N, -1, 1);
    to_rand_fill(&rng, buf, N, -1, 1);
    for (i = 0; i < N; i += k) {
        trainopt__vf b, v;
        k = N - i < TRAINOPT_SIMD_LANES ? N - i : TRAINOPT_SIMD_LANES;
        b = trainopt__v_mul(trainopt__v_set1(0.9f), trainopt__v_load_n(buf + i, k));
        v = trainopt__v_fma(trainopt__v_set1(1.0f), trainopt__v_load_n(g + i, k), b);
        trainopt__v_store_n(got + i, v, k);
    }
    for (i = 0; i < N; i++) {
        want[i] = rounded_product(0.9f, buf[i]) + g[i];
        fused_differs += fmaf(0.9f, buf[i], g[i]) != want[i];
    }
    /* The data must tell the two apart, or this test could not fail. */
    TO_CHECK(t, fused_differs > 0, "no element where one rounding differs from two: the data cannot catch it");
    to_bits_equal(t, "fma(1, g, 0.9 * buf)", got, want, N);
}

/* ---- chunked calls give the same bits as one call ---------------------------------------- */
static void test_chunked(to_ctx *t) {
    opt_case cases[48];
    int nc = make_cases(cases), ci, s;
    const size_t n = 1237;
    for (ci = 0; ci < nc; ci++) {
        const opt_case *c = &cases[ci];
        opt_bufs whole, parts;
        float *st_whole[3], *st_parts[3];
        uint64_t rng = 900 + (uint64_t)ci, cut_rng = 31;
        char label[64];
        int step;
        bufs_new(&whole, n, 0);
        bufs_new(&parts, n, 3);
        bufs_used_states(c, &whole, st_whole);
        bufs_used_states(c, &parts, st_parts);
        fill_inputs(&rng, c, n, whole.p.p, whole.g.p, whole.stp);
        to_copy(parts.p.p, whole.p.p, n);
        to_copy(parts.g.p, whole.g.p, n);
        for (s = 0; s < 3; s++) to_copy(parts.stp[s], whole.stp[s], n);
        case_label(c, ci, label, sizeof label);
        for (step = 1; step <= 3; step++) {
            size_t at = 0;
            step_once(c, step, n, whole.p.p, whole.g.p, st_whole);
            while (at < n) {
                size_t len = 1 + (size_t)(to_rand_u64(&cut_rng) % 97), j;
                float *sub[3];
                if (len > n - at) len = n - at;
                for (j = 0; j < 3; j++) sub[j] = st_parts[j] ? st_parts[j] + at : NULL;
                to_expect_status(t, step_once(c, step, len, parts.p.p + at, parts.g.p + at, sub), TRAINOPT_OK, label);
                at += len;
            }
        }
        to_bits_equal(t, label, parts.p.p, whole.p.p, n);
        for (s = 0; s < state_count(c); s++) to_bits_equal(t, label, parts.stp[s], whole.stp[s], n);
        bufs_free(&whole);
        bufs_free(&parts);
    }
}

/* ---- NaN and Inf in gradients propagate only where they are ------------------------------ */
static void test_nonfinite_gradients(to_ctx *t) {
    opt_case cases[48];
    int nc = make_cases(cases), ci;
    const size_t n = 40;
    for (ci = 0; ci < nc; ci++) {
        const opt_case *c = &cases[ci];
        opt_bufs b;
        float *st[3], *ref_p, *ref_st[3];
        uint64_t rng = 4242 + (uint64_t)ci;
        char label[64];
        int s;
        size_t i;
        bufs_new(&b, n, 1);
        bufs_used_states(c, &b, st);
        fill_inputs(&rng, c, n, b.p.p, b.g.p, b.stp);
        b.g.p[3] = NAN;
        b.g.p[17] = INFINITY;
        b.g.p[18] = -INFINITY;
        b.g.p[30] = 0.0f;
        b.g.p[31] = -0.0f;
        b.g.p[32] = 1e-40f; /* subnormal */
        ref_p = (float *)malloc(n * sizeof(float));
        for (s = 0; s < 3; s++) ref_st[s] = (float *)malloc(n * sizeof(float));
        to_copy(ref_p, b.p.p, n);
        for (s = 0; s < 3; s++) to_copy(ref_st[s], b.stp[s], n);
        case_label(c, ci, label, sizeof label);
        to_expect_status(t, step_once(c, 2, n, b.p.p, b.g.p, st), TRAINOPT_OK, label);
        reference_step(c, 2, n, ref_p, b.g.p, ref_st);
        to_close(t, label, b.p.p, ref_p, n, 4e-6 * to_max_abs(ref_p, n));
        TO_CHECK(t, isnan(b.p.p[3]), "%s: a NaN gradient must give a NaN parameter, got %g", label, b.p.p[3]);
        for (i = 0; i < n; i++)
            if (i != 3 && i != 17 && i != 18)
                TO_CHECK(t, isfinite(b.p.p[i]), "%s: param[%zu] = %g not finite; only 3, 17, 18 were fed non-finite gradients", label, i, b.p.p[i]);
        free(ref_p);
        for (s = 0; s < 3; s++) free(ref_st[s]);
        bufs_free(&b);
    }
}

/* ---- every documented error, with nothing written --------------------------------------- */
typedef struct {
    const char *what;
    opt_case c;
    int64_t step;
    int expect;
} bad_call;

static size_t checksum(const float *x, size_t n) {
    size_t h = 0, i;
    for (i = 0; i < n; i++) h = h * 1000003u + to_bits(x[i]);
    return h;
}

/* Runs `c` on fresh arrays and checks the status and that no array changed. */
static void expect_rejected(to_ctx *t, const char *what, const opt_case *c, int64_t step, int want) {
    const size_t n = 19;
    opt_bufs b;
    float *st[3];
    size_t before[5];
    uint64_t rng = 3;
    int s;
    bufs_new(&b, n, 0);
    bufs_used_states(c, &b, st);
    to_rand_fill(&rng, b.p.p, n, -1, 1);
    to_rand_fill(&rng, b.g.p, n, -1, 1);
    for (s = 0; s < 3; s++) to_rand_fill(&rng, b.stp[s], n, 0, 1);
    before[0] = checksum(b.p.p, n);
    before[1] = checksum(b.g.p, n);
    for (s = 0; s < 3; s++) before[2 + s] = checksum(b.stp[s], n);
    to_expect_status(t, step_once(c, step, n, b.p.p, b.g.p, st), want, what);
    TO_CHECK(t, checksum(b.p.p, n) == before[0], "%s: param changed", what);
    TO_CHECK(t, checksum(b.g.p, n) == before[1], "%s: grad changed", what);
    for (s = 0; s < 3; s++) TO_CHECK(t, checksum(b.stp[s], n) == before[2 + s], "%s: state %d changed", what, s);
    bufs_free(&b);
}

/* The lr and weight_decay fields of any kind's config. */
static double *lr_of(opt_case *c) {
    switch (c->kind) {
    case K_SGD: return &c->sgd.lr;
    case K_ADAGRAD: return &c->adagrad.lr;
    case K_RMSPROP: return &c->rmsprop.lr;
    case K_NADAM: return &c->nadam.lr;
    case K_RADAM: return &c->radam.lr;
    case K_ADAMAX: return &c->adamax.lr;
    case K_ADADELTA: return &c->adadelta.lr;
    case K_LION: return &c->lion.lr;
    default: return &c->adam.lr;
    }
}
static double *wd_of(opt_case *c) {
    switch (c->kind) {
    case K_SGD: return &c->sgd.weight_decay;
    case K_ADAGRAD: return &c->adagrad.weight_decay;
    case K_RMSPROP: return &c->rmsprop.weight_decay;
    case K_NADAM: return &c->nadam.weight_decay;
    case K_RADAM: return &c->radam.weight_decay;
    case K_ADAMAX: return &c->adamax.weight_decay;
    case K_ADADELTA: return &c->adadelta.weight_decay;
    case K_LION: return &c->lion.weight_decay;
    default: return &c->adam.weight_decay;
    }
}

static void test_errors(to_ctx *t) {
    opt_case base[K_COUNT], c;
    int k;
    const double bad[] = {NAN, INFINITY, -INFINITY};
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    trainopt_adagrad_config adagrad = TRAINOPT_ADAGRAD_DEFAULTS;
    trainopt_rmsprop_config rms = TRAINOPT_RMSPROP_DEFAULTS;
    trainopt_adam_config adam = TRAINOPT_ADAM_DEFAULTS;
    memset(base, 0, sizeof base);
    base[K_SGD].kind = K_SGD; base[K_SGD].sgd = sgd; base[K_SGD].sgd.momentum = 0.9;
    base[K_ADAGRAD].kind = K_ADAGRAD; base[K_ADAGRAD].adagrad = adagrad;
    base[K_RMSPROP].kind = K_RMSPROP; base[K_RMSPROP].rmsprop = rms;
    base[K_ADAM].kind = K_ADAM; base[K_ADAM].adam = adam; base[K_ADAM].adam.amsgrad = 1;
    base[K_ADAMW].kind = K_ADAMW; base[K_ADAMW].adam = adam;
    {
        trainopt_nadam_config nadam = TRAINOPT_NADAM_DEFAULTS;
        trainopt_radam_config radam = TRAINOPT_RADAM_DEFAULTS;
        trainopt_adamax_config adamax = TRAINOPT_ADAMAX_DEFAULTS;
        trainopt_adadelta_config adadelta = TRAINOPT_ADADELTA_DEFAULTS;
        trainopt_lion_config lion = TRAINOPT_LION_DEFAULTS;
        base[K_NADAM].kind = K_NADAM; base[K_NADAM].nadam = nadam;
        base[K_RADAM].kind = K_RADAM; base[K_RADAM].radam = radam;
        base[K_ADAMAX].kind = K_ADAMAX; base[K_ADAMAX].adamax = adamax;
        base[K_ADADELTA].kind = K_ADADELTA; base[K_ADADELTA].adadelta = adadelta;
        base[K_LION].kind = K_LION; base[K_LION].lion = lion; base[K_LION].lion.lr = 1e-4;
    }

    for (k = 0; k < K_COUNT; k++) {
        int j;
        expect_rejected(t, "step 0", &base[k], 0, TRAINOPT_ERR_STEP);
        expect_rejected(t, "step -5", &base[k], -5, TRAINOPT_ERR_STEP);
        for (j = 0; j < 3; j++) {
            double x = bad[j];
            c = base[k];
            *lr_of(&c) = x;
            expect_rejected(t, "non-finite lr", &c, 1, TRAINOPT_ERR_HPARAM);
            c = base[k];
            *wd_of(&c) = x;
            expect_rejected(t, "non-finite weight_decay", &c, 1, TRAINOPT_ERR_HPARAM);
        }
        c = base[k];
        *lr_of(&c) = -0.1;
        expect_rejected(t, "negative lr", &c, 1, TRAINOPT_ERR_HPARAM);
    }
    c = base[K_SGD]; c.sgd.momentum = -0.5; expect_rejected(t, "sgd negative momentum", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_SGD]; c.sgd.dampening = NAN; expect_rejected(t, "sgd NaN dampening", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_SGD]; c.sgd.nesterov = 1; c.sgd.dampening = 0.1;
    expect_rejected(t, "sgd nesterov with dampening", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_SGD]; c.sgd.nesterov = 1; c.sgd.momentum = 0;
    expect_rejected(t, "sgd nesterov without momentum", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_ADAGRAD]; c.adagrad.lr_decay = -1; expect_rejected(t, "adagrad negative lr_decay", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_ADAGRAD]; c.adagrad.eps = -1e-10; expect_rejected(t, "adagrad negative eps", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_ADAGRAD]; c.adagrad.initial_accumulator_value = -1;
    expect_rejected(t, "adagrad negative initial accumulator", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_RMSPROP]; c.rmsprop.alpha = 1.5; expect_rejected(t, "rmsprop alpha > 1", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_RMSPROP]; c.rmsprop.alpha = -0.1; expect_rejected(t, "rmsprop alpha < 0", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_RMSPROP]; c.rmsprop.momentum = -0.1; expect_rejected(t, "rmsprop negative momentum", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_RMSPROP]; c.rmsprop.eps = NAN; expect_rejected(t, "rmsprop NaN eps", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_ADAM]; c.adam.beta1 = 1.0; expect_rejected(t, "adam beta1 = 1", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_ADAM]; c.adam.beta2 = -0.1; expect_rejected(t, "adam beta2 < 0", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_ADAM]; c.adam.beta2 = NAN; expect_rejected(t, "adam NaN beta2", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_ADAMW]; c.adam.eps = -1e-8; expect_rejected(t, "adamw negative eps", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_NADAM]; c.nadam.beta1 = 1.0; expect_rejected(t, "nadam beta1 = 1", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_NADAM]; c.nadam.momentum_decay = -1e-3;
    expect_rejected(t, "nadam negative momentum_decay", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_NADAM]; c.nadam.momentum_decay = INFINITY;
    expect_rejected(t, "nadam infinite momentum_decay", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_RADAM]; c.radam.beta2 = 1.0; expect_rejected(t, "radam beta2 = 1", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_RADAM]; c.radam.eps = NAN; expect_rejected(t, "radam NaN eps", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_ADAMAX]; c.adamax.beta2 = -0.1; expect_rejected(t, "adamax beta2 < 0", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_ADAMAX]; c.adamax.eps = -1e-8; expect_rejected(t, "adamax negative eps", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_ADADELTA]; c.adadelta.rho = 1.5; expect_rejected(t, "adadelta rho > 1", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_ADADELTA]; c.adadelta.eps = NAN; expect_rejected(t, "adadelta NaN eps", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_LION]; c.lion.lr = NAN; expect_rejected(t, "lion default lr (unset)", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_LION]; c.lion.beta1 = 1.5; expect_rejected(t, "lion beta1 > 1", &c, 1, TRAINOPT_ERR_HPARAM);
    c = base[K_LION]; c.lion.beta2 = NAN; expect_rejected(t, "lion NaN beta2", &c, 1, TRAINOPT_ERR_HPARAM);
}

/* NULL arrays, missing state, overlap, n == 0 and the NULL config. */
static void test_pointer_errors(to_ctx *t) {
    float p[20], g[20], m[20], v[20], big[64];
    trainopt_adam_config adam = TRAINOPT_ADAM_DEFAULTS;
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    trainopt_rmsprop_config rms = TRAINOPT_RMSPROP_DEFAULTS;
    trainopt_adagrad_config adagrad = TRAINOPT_ADAGRAD_DEFAULTS;
    size_t before, i;
    for (i = 0; i < 20; i++) p[i] = g[i] = m[i] = v[i] = (float)i;
    for (i = 0; i < 64; i++) big[i] = (float)i;
    before = checksum(big, 64);

    to_expect_status(t, trainopt_adam_step(NULL, 1, 20, p, g, m, v, NULL), TRAINOPT_ERR_NULL, "adam NULL config");
    to_expect_status(t, trainopt_adam_step(&adam, 1, 20, NULL, g, m, v, NULL), TRAINOPT_ERR_NULL, "adam NULL param");
    to_expect_status(t, trainopt_adam_step(&adam, 1, 20, p, NULL, m, v, NULL), TRAINOPT_ERR_NULL, "adam NULL grad");
    to_expect_status(t, trainopt_adam_step(&adam, 1, 20, p, g, m, NULL, NULL), TRAINOPT_ERR_NULL, "adam NULL exp_avg_sq");
    adam.amsgrad = 1;
    to_expect_status(t, trainopt_adam_step(&adam, 1, 20, p, g, m, v, NULL), TRAINOPT_ERR_NULL, "amsgrad without max state");
    adam.amsgrad = 0;
    sgd.momentum = 0.9;
    to_expect_status(t, trainopt_sgd_step(&sgd, 2, 20, p, g, NULL), TRAINOPT_ERR_NULL, "sgd momentum without buffer");
    rms.centered = 1;
    to_expect_status(t, trainopt_rmsprop_step(&rms, 1, 20, p, g, m, NULL, NULL), TRAINOPT_ERR_NULL, "centered rmsprop without grad_avg");
    rms.centered = 0;
    rms.momentum = 0.5;
    to_expect_status(t, trainopt_rmsprop_step(&rms, 1, 20, p, g, m, NULL, NULL), TRAINOPT_ERR_NULL, "rmsprop momentum without buffer");
    to_expect_status(t, trainopt_adagrad_init(&adagrad, 20, NULL), TRAINOPT_ERR_NULL, "adagrad_init NULL");

    /* Overlap: exact aliasing and partial overlap of any two arrays. */
    to_expect_status(t, trainopt_adam_step(&adam, 1, 20, big, big, big + 20, big + 40, NULL), TRAINOPT_ERR_ALIAS, "adam param == grad");
    to_expect_status(t, trainopt_adam_step(&adam, 1, 20, big, big + 19, big + 40, big + 60, NULL), TRAINOPT_ERR_ALIAS, "adam grad overlaps param");
    to_expect_status(t, trainopt_adam_step(&adam, 1, 20, big, big + 20, big + 30, big + 44, NULL), TRAINOPT_ERR_ALIAS, "adam states overlap");
    to_expect_status(t, trainopt_sgd_step(&sgd, 2, 20, big, big + 20, big + 39), TRAINOPT_ERR_ALIAS, "sgd buffer overlaps grad");
    TO_CHECK(t, checksum(big, 64) == before, "a rejected call changed memory");
    /* Adjacent, not overlapping: accepted. */
    to_expect_status(t, trainopt_sgd_step(&sgd, 1, 20, big, big + 20, big + 40), TRAINOPT_OK, "sgd adjacent arrays");

    /* Sizes whose byte count overflows size_t. */
    to_expect_status(t, trainopt_adam_step(&adam, 1, SIZE_MAX / 2, p, g, m, v, NULL), TRAINOPT_ERR_SHAPE, "adam n overflow");

    /* n == 0 is a no-op, even with NULL arrays; hyperparameters are still checked. */
    to_expect_status(t, trainopt_adam_step(&adam, 1, 0, NULL, NULL, NULL, NULL, NULL), TRAINOPT_OK, "adam n = 0");
    to_expect_status(t, trainopt_sgd_step(&sgd, 1, 0, NULL, NULL, NULL), TRAINOPT_OK, "sgd n = 0");
    to_expect_status(t, trainopt_rmsprop_step(&rms, 1, 0, NULL, NULL, NULL, NULL, NULL), TRAINOPT_OK, "rmsprop n = 0");
    to_expect_status(t, trainopt_adagrad_step(&adagrad, 1, 0, NULL, NULL, NULL), TRAINOPT_OK, "adagrad n = 0");
    to_expect_status(t, trainopt_adagrad_init(&adagrad, 0, NULL), TRAINOPT_OK, "adagrad_init n = 0");
    adam.lr = NAN;
    to_expect_status(t, trainopt_adam_step(&adam, 1, 0, NULL, NULL, NULL, NULL, NULL), TRAINOPT_ERR_HPARAM, "adam n = 0, NaN lr");
}

/* ---- guard pages: no access outside [0, n), at either end ----------------------------------- */
static void test_guard_pages(to_ctx *t) {
    opt_case cases[48];
    int nc = make_cases(cases), ci, s, at_end;
    size_t n;
    for (at_end = 0; at_end <= 1; at_end++)
        for (ci = 0; ci < nc; ci++)
            for (n = 0; n <= 3 * 16 + 1; n = n < 3 * 16 ? n + 1 : 4099) {
                const opt_case *c = &cases[ci];
                to_guard p = to_guard_new(n, at_end), g = to_guard_new(n, at_end), st[3];
                float *stp[3];
                trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
                size_t bad;
                o.grad_scale = 0.5;
                o.nonfinite = &bad;
                for (s = 0; s < 3; s++) {
                    st[s] = to_guard_new(n, at_end);
                    stp[s] = s < state_count(c) ? st[s].p : NULL;
                }
                to_expect_status(t, step_once(c, 1, n, p.p, g.p, stp), TRAINOPT_OK, "guarded step 1");
                to_expect_status(t, step_once(c, 2, n, p.p, g.p, stp), TRAINOPT_OK, "guarded step 2");
                to_expect_status(t, step_once_ex(c, 3, n, p.p, g.p, stp, &o), TRAINOPT_OK, "guarded fused step");
                to_guard_free(&p);
                to_guard_free(&g);
                for (s = 0; s < 3; s++) to_guard_free(&st[s]);
            }
}

/* ---- the fused step: scale, skip, count ---------------------------------------------------- */
static void test_fused_equals_prescaled(to_ctx *t) {
    opt_case cases[48];
    int nc = make_cases(cases), ci, s;
    static const size_t sizes[] = {1, 5, 16, 33, 70, 1031};
    static const double scales[] = {1.0, 1.0 / 65536.0, 0.37, 3.0};
    size_t si, sc;
    for (ci = 0; ci < nc; ci++)
        for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
            for (sc = 0; sc < sizeof scales / sizeof scales[0]; sc++) {
                const opt_case *c = &cases[ci];
                size_t n = sizes[si], i, bad = 99, want_bad = 0;
                opt_bufs fused, plain;
                float *st_f[3], *st_p[3];
                uint64_t rng = 11 + (uint64_t)ci * 100 + si * 10 + sc;
                trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
                char label[64];
                int step;
                bufs_new(&fused, n, 1);
                bufs_new(&plain, n, 2);
                bufs_used_states(c, &fused, st_f);
                bufs_used_states(c, &plain, st_p);
                fill_inputs(&rng, c, n, fused.p.p, fused.g.p, fused.stp);
                fused.g.p[n - 1] = n > 1 ? NAN : fused.g.p[n - 1]; /* a non-finite gradient in the tail */
                to_copy(plain.p.p, fused.p.p, n);
                for (s = 0; s < 3; s++) to_copy(plain.stp[s], fused.stp[s], n);
                o.grad_scale = scales[sc];
                o.nonfinite = &bad;
                /* The plain step sees gradients already multiplied by the same float scale. */
                for (i = 0; i < n; i++) {
                    plain.g.p[i] = fused.g.p[i] * (float)scales[sc];
                    want_bad += !isfinite(plain.g.p[i]);
                }
                case_label(c, ci, label, sizeof label);
                for (step = 1; step <= 2; step++) {
                    to_expect_status(t, step_once_ex(c, step, n, fused.p.p, fused.g.p, st_f, &o), TRAINOPT_OK, label);
                    to_expect_status(t, step_once(c, step, n, plain.p.p, plain.g.p, st_p), TRAINOPT_OK, label);
                }
                to_bits_equal(t, label, fused.p.p, plain.p.p, n);
                for (s = 0; s < state_count(c); s++) to_bits_equal(t, label, fused.stp[s], plain.stp[s], n);
                TO_CHECK(t, bad == want_bad, "%s n=%zu: nonfinite = %zu, want %zu", label, n, bad, want_bad);
                bufs_canaries_ok(t, &fused, label);
                bufs_free(&fused);
                bufs_free(&plain);
            }
}

static void test_fused_skip_and_errors(to_ctx *t) {
    opt_case cases[48];
    int nc = make_cases(cases), ci, s;
    const size_t n = 23;
    for (ci = 0; ci < nc; ci++) {
        const opt_case *c = &cases[ci];
        opt_bufs b;
        float *st[3];
        size_t sums[5], bad = 77;
        uint64_t rng = 8 + (uint64_t)ci;
        int found_inf = 1;
        trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
        char label[64];
        bufs_new(&b, n, 0);
        bufs_used_states(c, &b, st);
        fill_inputs(&rng, c, n, b.p.p, b.g.p, b.stp);
        sums[0] = checksum(b.p.p, n);
        sums[1] = checksum(b.g.p, n);
        for (s = 0; s < 3; s++) sums[2 + s] = checksum(b.stp[s], n);
        case_label(c, ci, label, sizeof label);
        o.found_inf = &found_inf;
        o.nonfinite = &bad;
        to_expect_status(t, step_once_ex(c, 3, n, b.p.p, b.g.p, st, &o), TRAINOPT_OK, "found_inf skip");
        TO_CHECK(t, bad == 0, "%s: a skipped step reports %zu non-finite gradients", label, bad);
        o.found_inf = NULL;
        o.grad_scale = NAN;
        to_expect_status(t, step_once_ex(c, 3, n, b.p.p, b.g.p, st, &o), TRAINOPT_ERR_HPARAM, "NaN grad_scale");
        o.grad_scale = -1.0;
        to_expect_status(t, step_once_ex(c, 3, n, b.p.p, b.g.p, st, &o), TRAINOPT_ERR_HPARAM, "negative grad_scale");
        o.grad_scale = INFINITY;
        to_expect_status(t, step_once_ex(c, 3, n, b.p.p, b.g.p, st, &o), TRAINOPT_ERR_HPARAM, "infinite grad_scale");
        TO_CHECK(t, checksum(b.p.p, n) == sums[0], "%s: skipped or rejected step changed param", label);
        for (s = 0; s < 3; s++) TO_CHECK(t, checksum(b.stp[s], n) == sums[2 + s], "%s: state %d changed", label, s);
        /* NULL options: the plain step. */
        to_expect_status(t, step_once_ex(c, 3, n, b.p.p, b.g.p, st, NULL), TRAINOPT_OK, "NULL options");
        bufs_free(&b);
    }
}

/* ---- Lion's sign at every magnitude (DeepSpeed's CPU Lion is right only for |c| in [2, 4)) -- */
static void test_lion_sign(to_ctx *t) {
    /* m = 0, so c = (1 - beta1) g = g / 2 with beta1 = 0.5: exact for these g */
    static const float c_values[] = {0.0f,  -0.0f, 1e-45f, 1e-40f, 1e-30f, 0.25f, 1.0f,   1.999f,   2.0f,     3.5f,
                                     4.0f,  7.0f,  1e20f,  3e38f,  INFINITY, -1e-45f, -0.25f, -1.0f, -3.0f, -4.0f,
                                     -1e30f, -INFINITY, NAN};
    enum { N = sizeof c_values / sizeof c_values[0] };
    trainopt_lion_config c = TRAINOPT_LION_DEFAULTS;
    float p[N], g[N], m[N], p_wd[N], m_wd[N];
    size_t i;
    c.lr = 0.5, c.beta1 = 0.5, c.weight_decay = 0.0;
    for (i = 0; i < N; i++) {
        g[i] = c_values[i] * 2.0f;
        p[i] = 1.0f, p_wd[i] = 1.0f, m[i] = 0.0f, m_wd[i] = 0.0f;
    }
    to_expect_status(t, trainopt_lion_step(&c, 1, N, p, g, m), TRAINOPT_OK, "lion signs");
    c.weight_decay = 0.25;
    to_expect_status(t, trainopt_lion_step(&c, 1, N, p_wd, g, m_wd), TRAINOPT_OK, "lion signs, wd");
    for (i = 0; i < N; i++) {
        const float cv = c_values[i];
        const float sign = cv > 0 ? 1.0f : cv < 0 ? -1.0f : 0.0f;
        if (isnan(cv)) {
            TO_CHECK(t, isnan(p[i]) && isnan(p_wd[i]), "lion: c = NaN gave p = %g, %g (sign(NaN) = NaN)", p[i], p_wd[i]);
            continue;
        }
        /* p - lr * (sign + wd p) with p = 1, lr = 0.5: exact in float */
        TO_CHECK(t, p[i] == 1.0f - 0.5f * sign, "lion: c = %g (bits %08x) moved p to %.9g, want %.9g", cv,
                 (unsigned)to_bits(cv), p[i], 1.0f - 0.5f * sign);
        TO_CHECK(t, p_wd[i] == 1.0f - 0.5f * (sign + 0.25f), "lion wd: c = %g moved p to %.9g, want %.9g", cv, p_wd[i],
                 1.0f - 0.5f * (sign + 0.25f));
    }
}

/* ---- NAdam's mu product: PyTorch's float32 state, advanced by the caller --------------------- */
static void test_nadam_mu_product(to_ctx *t) {
    trainopt_nadam_config c = TRAINOPT_NADAM_DEFAULTS;
    float p[8] = {1, 2, 3, 4, 5, 6, 7, 8}, g[8] = {1, -1, 1, -1, 1, -1, 1, -1}, m[8] = {0}, v[8] = {0};
    float product = 1.0f;
    double got = 1.0;
    int64_t step;
    size_t before;
    c.momentum_decay = 0.05;
    for (step = 1; step <= 60; step++) {
        const double mu = c.beta1 * (1.0 - 0.5 * pow(0.96, (double)step * c.momentum_decay));
        product = product * (float)mu; /* torch: float32 tensor *= python float */
        got = trainopt_nadam_mu_product(&c, step, got);
        TO_CHECK(t, got == (double)product, "nadam_mu_product step %lld: %.17g, want %.17g", (long long)step, got,
                 (double)product);
    }
    TO_CHECK(t, isnan(trainopt_nadam_mu_product(NULL, 1, 1.0)), "NULL config must give NaN");
    TO_CHECK(t, isnan(trainopt_nadam_mu_product(&c, 0, 1.0)), "step 0 must give NaN");
    TO_CHECK(t, isnan(trainopt_nadam_mu_product(&c, 1, 1.5)), "product 1.5 must give NaN");
    TO_CHECK(t, isnan(trainopt_nadam_mu_product(&c, 1, NAN)), "product NaN must give NaN");
    TO_CHECK(t, trainopt_nadam_mu_product(&c, 1, 0.0) == 0.0, "product 0 stays 0");
    c.momentum_decay = -1;
    TO_CHECK(t, isnan(trainopt_nadam_mu_product(&c, 1, 1.0)), "negative momentum_decay must give NaN");
    c.momentum_decay = 4e-3;
    /* The step takes the product by value and refuses one outside [0, 1): 1 is the value
       before step 1, the usual mistake of not advancing it. */
    before = checksum(p, 8) ^ checksum(m, 8) ^ checksum(v, 8);
    to_expect_status(t, trainopt_nadam_step(&c, 1, 1.0, 8, p, g, m, v), TRAINOPT_ERR_HPARAM, "nadam mu_product 1");
    to_expect_status(t, trainopt_nadam_step(&c, 1, -0.1, 8, p, g, m, v), TRAINOPT_ERR_HPARAM, "nadam mu_product < 0");
    to_expect_status(t, trainopt_nadam_step(&c, 1, NAN, 8, p, g, m, v), TRAINOPT_ERR_HPARAM, "nadam mu_product NaN");
    TO_CHECK(t, (checksum(p, 8) ^ checksum(m, 8) ^ checksum(v, 8)) == before, "a refused NAdam step wrote");
    to_expect_status(t, trainopt_nadam_step(&c, 1, trainopt_nadam_mu_product(&c, 1, 1.0), 8, p, g, m, v), TRAINOPT_OK,
                     "nadam advanced product");
}

/* ---- RAdam's rectification is decided per step, for every element --------------------------- */
static void test_radam_branch_per_step(to_ctx *t) {
    /* beta2 = 0.9: rho_5 = 4.6, rho_6 = 5.4. A NaN second moment reaches the parameter only
       through the rectified update, and then only at its own element. */
    trainopt_radam_config c = TRAINOPT_RADAM_DEFAULTS;
    enum { N = 21 };
    int64_t step;
    c.beta2 = 0.9;
    for (step = 5; step <= 6; step++) {
        float p[N], g[N], m[N], v[N];
        size_t i;
        for (i = 0; i < N; i++) p[i] = 1.0f, g[i] = 0.5f, m[i] = 0.1f, v[i] = 0.2f;
        v[7] = NAN;
        to_expect_status(t, trainopt_radam_step(&c, step, N, p, g, m, v), TRAINOPT_OK, "radam step");
        for (i = 0; i < N; i++) {
            const int want_nan = step == 6 && i == 7;
            TO_CHECK(t, isnan(p[i]) == want_nan, "radam step %lld: p[%zu] = %g (%s)", (long long)step, i, p[i],
                     want_nan ? "rectified: the NaN v must reach p" : "must be finite");
            if (i != 7) TO_CHECK(t, p[i] == p[0], "radam step %lld: p[%zu] = %.9g differs from p[0] = %.9g", (long long)step,
                                 i, p[i], p[0]);
        }
    }
}

static void test_status_strings(to_ctx *t) {
    int s;
    for (s = TRAINOPT_OK; s <= TRAINOPT_ERR_INDEX; s++) {
        const char *str = trainopt_status_str((trainopt_status)s);
        TO_CHECK(t, str != NULL && str[0] != '\0', "status %d has no string", s);
    }
    TO_CHECK(t, strcmp(trainopt_status_str(TRAINOPT_OK), "ok") == 0, "TRAINOPT_OK reads \"%s\"", trainopt_status_str(TRAINOPT_OK));
    TO_CHECK(t, trainopt_status_str((trainopt_status)99) != NULL, "unknown status gives NULL");
#if defined(TRAINOPT_DISPATCH)
    /* The dispatch legs run with TRAINOPT_MAX_BACKEND set, on a CPU that has what it names. */
    {
        const char *cap = getenv("TRAINOPT_MAX_BACKEND");
        TO_CHECK(t, cap == NULL || strcmp(trainopt_backend(), cap) == 0, "trainopt_backend() = %s under TRAINOPT_MAX_BACKEND=%s",
                 trainopt_backend(), cap);
    }
#else
    TO_CHECK(t, strcmp(trainopt_backend(), TRAINOPT_SIMD_NAME) == 0, "trainopt_backend() = %s", trainopt_backend());
#endif
}

void TO_NAME(optim_tests)(to_ctx *t) {
    to_run(t, "golden-pytorch", test_golden);
    to_run(t, "reference-sizes-0-70-and-large", test_reference_sizes);
    to_run(t, "sgd-first-step-writes-buffer", test_sgd_first_step_writes_buffer);
    to_run(t, "product-stays-rounded", test_product_stays_rounded);
    to_run(t, "chunked-equals-whole", test_chunked);
    to_run(t, "nonfinite-gradients", test_nonfinite_gradients);
    to_run(t, "hyperparameter-and-step-errors", test_errors);
    to_run(t, "pointer-alias-size-errors", test_pointer_errors);
    to_run(t, "guard-pages", test_guard_pages);
    to_run(t, "fused-step-equals-prescaled-plain-step", test_fused_equals_prescaled);
    to_run(t, "fused-step-skip-and-errors", test_fused_skip_and_errors);
    to_run(t, "status-strings", test_status_strings);
    to_run(t, "lion-sign-every-magnitude", test_lion_sign);
    to_run(t, "nadam-mu-product", test_nadam_mu_product);
    to_run(t, "radam-branch-per-step", test_radam_branch_per_step);
}

/* ---- the battery: output bits that must match on every backend ------------------------- */
void TO_NAME(optim_battery)(to_sink *sink) {
    opt_case cases[48];
    int nc = make_cases(cases), ci, s;
    static const size_t sizes[] = {1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 67, 1029};
    size_t si;
    for (ci = 0; ci < nc; ci++) {
        const opt_case *c = &cases[ci];
        for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            size_t n = sizes[si], i;
            opt_bufs b;
            float *st[3];
            uint64_t rng = 1 + si * 7 + (uint64_t)ci * 1000;
            char name[192];
            int step;
            bufs_new(&b, n, si % 4);
            bufs_used_states(c, &b, st);
            fill_inputs(&rng, c, n, b.p.p, b.g.p, b.stp);
            /* Special values in the gradient, where the array is long enough. */
            for (i = 0; i < n; i += 13) {
                static const float special[] = {0.0f, -0.0f, 1e-40f, -1e-38f, 3e38f, 1e-20f};
                b.g.p[i] = special[(i / 13) % 6];
            }
            if (n > 20) {
                b.g.p[5] = NAN;
                b.g.p[20] = INFINITY;
            }
            for (step = 1; step <= 3; step++) {
                snprintf(name, sizeof name, "%s#%d/n=%zu/step=%d/status", kind_name[c->kind], ci, n, step);
                to_emit_status(sink, name, step_once(c, step, n, b.p.p, b.g.p, st));
            }
            {
                trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
                size_t bad = 0;
                o.grad_scale = 0.125 * (double)(1 + ci % 5);
                o.nonfinite = &bad;
                snprintf(name, sizeof name, "%s#%d/n=%zu/step_ex", kind_name[c->kind], ci, n);
                to_emit_status(sink, name, step_once_ex(c, 4, n, b.p.p, b.g.p, st, &o));
                snprintf(name, sizeof name, "%s#%d/n=%zu/nonfinite", kind_name[c->kind], ci, n);
                to_emit(sink, name, &bad, sizeof bad);
            }
            snprintf(name, sizeof name, "%s#%d/n=%zu/param", kind_name[c->kind], ci, n);
            to_emit_floats(sink, name, b.p.p, n);
            for (s = 0; s < state_count(c); s++) {
                snprintf(name, sizeof name, "%s#%d/n=%zu/state%d", kind_name[c->kind], ci, n, s);
                to_emit_floats(sink, name, b.stp[s], n);
            }
            bufs_free(&b);
        }
    }
}
