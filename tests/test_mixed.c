/* tests/test_mixed.c - the mixed-precision steps trainopt_<opt>_step_mp (trainopt.h,
   >>mixed), compiled once per backend.

   The contract tested bit for bit: a _mp step equals the optimizer's fp32 _ex kernel
   run on the widened inputs (trainopt_convert's exact widening; Kahan: p + c in float;
   split: the joined halves), followed by the manual's rounding of each output (nearest,
   stochastic with the words of (seed, offset + i), Kahan's p = rne(q), c = rne(q - p),
   split halves, nearest states and copy). Every optimizer with a _mp form x every
   parameter mode x gradient dtype x state dtype, three steps, with the fused options
   (grad_scale, the nonfinite count) and NaN/Inf gradients; the same in pieces. Then
   what the modes are for: 1000 small SGD updates below bf16's resolution vanish with
   nearest rounding and survive, on average, with stochastic rounding and Kahan. */
#include "harness.h"
#include "trainopt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MX_N = 1031, MX_OPTS = 11 }; /* two whole blocks of the driver and a tail */

typedef struct {
    const char *name;
    int nstates;
    trainopt_status (*ex)(int64_t step, size_t n, float *p, const float *g, float *const *s, const trainopt_step_opts *o);
    trainopt_status (*mp)(int64_t step, size_t n, void *p, const void *g, void *const *s, const trainopt_precision *pr,
                          const trainopt_step_opts *o);
} mx_opt;

/* Each optimizer with a configuration that uses all its states. */
static trainopt_sgd_config mx_sgd(void) {
    trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
    c.lr = 0.05, c.momentum = 0.9, c.weight_decay = 0.01, c.nesterov = 1;
    return c;
}
static trainopt_adagrad_config mx_adagrad(void) {
    trainopt_adagrad_config c = TRAINOPT_ADAGRAD_DEFAULTS;
    c.lr_decay = 0.01, c.weight_decay = 0.02;
    return c;
}
static trainopt_rmsprop_config mx_rmsprop(void) {
    trainopt_rmsprop_config c = TRAINOPT_RMSPROP_DEFAULTS;
    c.momentum = 0.5, c.centered = 1, c.weight_decay = 0.01;
    return c;
}
static trainopt_adam_config mx_adam(int amsgrad) {
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    c.lr = 1e-2, c.amsgrad = amsgrad;
    return c;
}
static trainopt_radam_config mx_radam(void) {
    trainopt_radam_config c = TRAINOPT_RADAM_DEFAULTS;
    c.lr = 1e-2, c.weight_decay = 0.01, c.decoupled_weight_decay = 1;
    return c;
}
static trainopt_adamax_config mx_adamax(void) {
    trainopt_adamax_config c = TRAINOPT_ADAMAX_DEFAULTS;
    c.weight_decay = 0.01;
    return c;
}
static trainopt_adadelta_config mx_adadelta(void) {
    trainopt_adadelta_config c = TRAINOPT_ADADELTA_DEFAULTS;
    c.weight_decay = 0.01;
    return c;
}
static trainopt_lion_config mx_lion(void) {
    trainopt_lion_config c = TRAINOPT_LION_DEFAULTS;
    c.lr = 1e-2;
    return c;
}

#define MX_WRAP(name, cfg, ...)                                                                                         \
    static trainopt_status mx_ex_##name(int64_t step, size_t n, float *p, const float *g, float *const *s,              \
                                        const trainopt_step_opts *o) {                                                  \
        const cfg;                                                                                                      \
        return trainopt_##name##_step_ex(&c, step, n, p, g, __VA_ARGS__, o);                                            \
    }                                                                                                                   \
    static trainopt_status mx_mp_##name(int64_t step, size_t n, void *p, const void *g, void *const *s,                \
                                        const trainopt_precision *pr, const trainopt_step_opts *o) {                    \
        const cfg;                                                                                                      \
        return trainopt_##name##_step_mp(&c, step, n, p, g, __VA_ARGS__, pr, o);                                        \
    }
MX_WRAP(sgd, trainopt_sgd_config c = mx_sgd(), s[0])
MX_WRAP(adagrad, trainopt_adagrad_config c = mx_adagrad(), s[0])
MX_WRAP(rmsprop, trainopt_rmsprop_config c = mx_rmsprop(), s[0], s[1], s[2])
MX_WRAP(adam, trainopt_adam_config c = mx_adam(1), s[0], s[1], s[2])
MX_WRAP(adamw, trainopt_adam_config c = mx_adam(0), s[0], s[1], NULL)
MX_WRAP(radam, trainopt_radam_config c = mx_radam(), s[0], s[1])
MX_WRAP(adamax, trainopt_adamax_config c = mx_adamax(), s[0], s[1])
MX_WRAP(adadelta, trainopt_adadelta_config c = mx_adadelta(), s[0], s[1])
MX_WRAP(lion, trainopt_lion_config c = mx_lion(), s[0])
#undef MX_WRAP

/* NAdam's step also takes the mu product up to the step, advanced as its manual says. */
static trainopt_nadam_config mx_nadam(void) {
    trainopt_nadam_config c = TRAINOPT_NADAM_DEFAULTS;
    c.lr = 1e-2, c.weight_decay = 0.01, c.decoupled_weight_decay = 1;
    return c;
}
static double mx_nadam_mu_product(const trainopt_nadam_config *c, int64_t step) {
    double p = 1.0;
    int64_t t;
    for (t = 1; t <= step; t++) p = trainopt_nadam_mu_product(c, t, p);
    return p;
}
static trainopt_status mx_ex_nadam(int64_t step, size_t n, float *p, const float *g, float *const *s,
                                   const trainopt_step_opts *o) {
    const trainopt_nadam_config c = mx_nadam();
    return trainopt_nadam_step_ex(&c, step, mx_nadam_mu_product(&c, step), n, p, g, s[0], s[1], o);
}
static trainopt_status mx_mp_nadam(int64_t step, size_t n, void *p, const void *g, void *const *s,
                                   const trainopt_precision *pr, const trainopt_step_opts *o) {
    const trainopt_nadam_config c = mx_nadam();
    return trainopt_nadam_step_mp(&c, step, mx_nadam_mu_product(&c, step), n, p, g, s[0], s[1], pr, o);
}

/* Schedule-free AdamW's step takes the scalar state after `step` advances. */
static trainopt_sfadamw_config mx_sfadamw(void) {
    trainopt_sfadamw_config c = TRAINOPT_SFADAMW_DEFAULTS;
    c.lr = 1e-2, c.weight_decay = 0.01, c.warmup_steps = 2;
    return c;
}
static trainopt_sfadamw_state mx_sfadamw_state(const trainopt_sfadamw_config *c, int64_t step) {
    trainopt_sfadamw_state st = TRAINOPT_SFADAMW_STATE_INIT;
    while (st.step < step) trainopt_sfadamw_advance(c, &st);
    return st;
}
static trainopt_status mx_ex_sfadamw(int64_t step, size_t n, float *p, const float *g, float *const *s,
                                     const trainopt_step_opts *o) {
    const trainopt_sfadamw_config c = mx_sfadamw();
    const trainopt_sfadamw_state st = mx_sfadamw_state(&c, step);
    return trainopt_sfadamw_step_ex(&c, &st, n, p, g, s[0], s[1], o);
}
static trainopt_status mx_mp_sfadamw(int64_t step, size_t n, void *p, const void *g, void *const *s,
                                     const trainopt_precision *pr, const trainopt_step_opts *o) {
    const trainopt_sfadamw_config c = mx_sfadamw();
    const trainopt_sfadamw_state st = mx_sfadamw_state(&c, step);
    return trainopt_sfadamw_step_mp(&c, &st, n, p, g, s[0], s[1], pr, o);
}

static const mx_opt mx_opts[MX_OPTS] = {
    {"sgd", 1, mx_ex_sgd, mx_mp_sgd},          {"adagrad", 1, mx_ex_adagrad, mx_mp_adagrad},
    {"rmsprop", 3, mx_ex_rmsprop, mx_mp_rmsprop}, {"adam", 3, mx_ex_adam, mx_mp_adam},
    {"adamw", 2, mx_ex_adamw, mx_mp_adamw},    {"radam", 2, mx_ex_radam, mx_mp_radam},
    {"adamax", 2, mx_ex_adamax, mx_mp_adamax}, {"adadelta", 2, mx_ex_adadelta, mx_mp_adadelta},
    {"lion", 1, mx_ex_lion, mx_mp_lion},
    {"nadam", 2, mx_ex_nadam, mx_mp_nadam},
    {"sfadamw", 2, mx_ex_sfadamw, mx_mp_sfadamw},
};

/* The parameter setups tested: dtype and write-back mode (F32: master with a copy). */
typedef struct {
    trainopt_dtype dtype;
    trainopt_param_mode mode;
    trainopt_dtype copy; /* F32: none */
    const char *name;
} mx_param;
static const mx_param mx_params[] = {
    {TRAINOPT_F32, TRAINOPT_PARAM_NEAREST, TRAINOPT_BF16, "f32+bf16copy"},
    {TRAINOPT_F32, TRAINOPT_PARAM_NEAREST, TRAINOPT_F16, "f32+f16copy"},
    {TRAINOPT_BF16, TRAINOPT_PARAM_NEAREST, TRAINOPT_F32, "bf16-nearest"},
    {TRAINOPT_F16, TRAINOPT_PARAM_NEAREST, TRAINOPT_F32, "f16-nearest"},
    {TRAINOPT_BF16, TRAINOPT_PARAM_STOCHASTIC, TRAINOPT_F32, "bf16-stochastic"},
    {TRAINOPT_F16, TRAINOPT_PARAM_STOCHASTIC, TRAINOPT_F16, "f16-stochastic+f16copy"},
    {TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_F32, "bf16-kahan"},
    {TRAINOPT_F16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16, "f16-kahan+bf16copy"},
    {TRAINOPT_BF16, TRAINOPT_PARAM_SPLIT, TRAINOPT_F16, "bf16-split+f16copy"},
};
#define MX_PARAMS (sizeof mx_params / sizeof mx_params[0])

static size_t mx_size(trainopt_dtype d) { return d == TRAINOPT_F32 ? 4 : 2; }

/* One state of a run: the arrays in their own dtypes. */
typedef struct {
    unsigned char *p, *aux, *g, *s[3], *copy;
} mx_arrays;

static void mx_alloc(mx_arrays *a) {
    int j;
    a->p = (unsigned char *)calloc(MX_N, 4), a->aux = (unsigned char *)calloc(MX_N, 4);
    a->g = (unsigned char *)calloc(MX_N, 4), a->copy = (unsigned char *)calloc(MX_N, 4);
    for (j = 0; j < 3; j++) a->s[j] = (unsigned char *)calloc(MX_N, 4);
}
static void mx_free(mx_arrays *a) {
    int j;
    free(a->p), free(a->aux), free(a->g), free(a->copy);
    for (j = 0; j < 3; j++) free(a->s[j]);
}
static void mx_copy(mx_arrays *d, const mx_arrays *s) {
    int j;
    memcpy(d->p, s->p, MX_N * 4), memcpy(d->aux, s->aux, MX_N * 4), memcpy(d->g, s->g, MX_N * 4);
    memcpy(d->copy, s->copy, MX_N * 4);
    for (j = 0; j < 3; j++) memcpy(d->s[j], s->s[j], MX_N * 4);
}

static float mx_widen1(const void *p, trainopt_dtype d, size_t i) {
    float f;
    trainopt_convert(1, (const unsigned char *)p + i * mx_size(d), d, &f, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    return f;
}
static uint16_t mx_round1(float x, trainopt_dtype d) {
    uint16_t h;
    trainopt_convert(1, &x, TRAINOPT_F32, &h, d, TRAINOPT_ROUND_NEAREST, 0, 0);
    return h;
}

/* The reference step: widen, the fp32 kernel, round as the manual says. */
static trainopt_status mx_reference(const mx_opt *opt, const mx_param *mp, trainopt_dtype gd, trainopt_dtype sd, int64_t step,
                                    mx_arrays *a, const trainopt_precision *pr, const trainopt_step_opts *o) {
    float *q = (float *)malloc(MX_N * 4), *g = (float *)malloc(MX_N * 4), *s[3];
    trainopt_status st;
    size_t i;
    int j;
    for (i = 0; i < MX_N; i++) {
        if (mp->dtype == TRAINOPT_F32) q[i] = ((float *)(void *)a->p)[i];
        else if (mp->mode == TRAINOPT_PARAM_SPLIT)
            q[i] = to_from_bits((uint32_t)((uint16_t *)(void *)a->p)[i] << 16 | ((uint16_t *)(void *)a->aux)[i]);
        else if (mp->mode == TRAINOPT_PARAM_KAHAN)
            q[i] = mx_widen1(a->p, mp->dtype, i) + mx_widen1(a->aux, mp->dtype, i);
        else q[i] = mx_widen1(a->p, mp->dtype, i);
    }
    trainopt_convert(MX_N, a->g, gd, g, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    for (j = 0; j < 3; j++) {
        s[j] = (float *)malloc(MX_N * 4);
        trainopt_convert(MX_N, a->s[j], sd, s[j], TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    }
    st = opt->ex(step, MX_N, q, g, s, o);
    if (st == TRAINOPT_OK) {
        for (j = 0; j < opt->nstates; j++) trainopt_convert(MX_N, s[j], TRAINOPT_F32, a->s[j], sd, TRAINOPT_ROUND_NEAREST, 0, 0);
        if (mp->copy != TRAINOPT_F32) trainopt_convert(MX_N, q, TRAINOPT_F32, a->copy, mp->copy, TRAINOPT_ROUND_NEAREST, 0, 0);
        if (mp->dtype == TRAINOPT_F32) memcpy(a->p, q, MX_N * 4);
        else if (mp->mode == TRAINOPT_PARAM_STOCHASTIC)
            trainopt_convert(MX_N, q, TRAINOPT_F32, a->p, mp->dtype, TRAINOPT_ROUND_STOCHASTIC, pr->seed, pr->offset);
        else
            for (i = 0; i < MX_N; i++) {
                uint16_t *p16 = (uint16_t *)(void *)a->p, *aux = (uint16_t *)(void *)a->aux;
                if (mp->mode == TRAINOPT_PARAM_SPLIT) {
                    const uint32_t b = q[i] != q[i] ? 0xffffffffu : to_bits(q[i]); /* NaN: the manual's one pattern */
                    p16[i] = (uint16_t)(b >> 16), aux[i] = (uint16_t)b;
                } else {
                    p16[i] = mx_round1(q[i], mp->dtype);
                    if (mp->mode == TRAINOPT_PARAM_KAHAN) aux[i] = mx_round1(q[i] - mx_widen1(p16, mp->dtype, i), mp->dtype);
                }
            }
    }
    free(q), free(g);
    for (j = 0; j < 3; j++) free(s[j]);
    return st;
}

/* Inputs: parameters near 1 and small (fp16 subnormals), gradients with NaN and Inf,
   the compensation small, the states 0. */
static void mx_fill(mx_arrays *a, const mx_param *mp, trainopt_dtype gd, uint64_t seed) {
    float *x = (float *)malloc(MX_N * 4);
    size_t i;
    int j;
    to_rand_fill(&seed, x, MX_N, -1.5f, 1.5f);
    for (i = 0; i < MX_N; i += 97) x[i] *= 1e-6f;
    if (mp->dtype == TRAINOPT_F32) memcpy(a->p, x, MX_N * 4);
    else if (mp->mode == TRAINOPT_PARAM_SPLIT)
        for (i = 0; i < MX_N; i++) ((uint16_t *)(void *)a->p)[i] = (uint16_t)(to_bits(x[i]) >> 16), ((uint16_t *)(void *)a->aux)[i] = (uint16_t)to_bits(x[i]);
    else trainopt_convert(MX_N, x, TRAINOPT_F32, a->p, mp->dtype, TRAINOPT_ROUND_NEAREST, 0, 0);
    if (mp->mode == TRAINOPT_PARAM_KAHAN) {
        for (i = 0; i < MX_N; i++) x[i] *= 1e-3f;
        trainopt_convert(MX_N, x, TRAINOPT_F32, a->aux, mp->dtype, TRAINOPT_ROUND_NEAREST, 0, 0);
    }
    to_rand_fill(&seed, x, MX_N, -1.0f, 1.0f);
    x[5] = NAN, x[600] = INFINITY, x[1030] = -INFINITY;
    trainopt_convert(MX_N, x, TRAINOPT_F32, a->g, gd, TRAINOPT_ROUND_NEAREST, 0, 0);
    for (j = 0; j < 3; j++) memset(a->s[j], 0, MX_N * 4);
    free(x);
}

static trainopt_precision mx_pr(const mx_param *mp, trainopt_dtype gd, trainopt_dtype sd, const mx_arrays *a, uint64_t offset) {
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    pr.param_dtype = mp->dtype, pr.param_mode = mp->mode, pr.grad_dtype = gd, pr.state_dtype = sd;
    pr.param_aux = mp->mode == TRAINOPT_PARAM_KAHAN || mp->mode == TRAINOPT_PARAM_SPLIT ? a->aux : NULL;
    pr.copy = mp->copy != TRAINOPT_F32 ? a->copy : NULL;
    pr.copy_dtype = mp->copy != TRAINOPT_F32 ? mp->copy : TRAINOPT_BF16;
    pr.seed = 0x5eed, pr.offset = offset;
    return pr;
}

static int mx_same(const mx_arrays *x, const mx_arrays *y) {
    int j, same = memcmp(x->p, y->p, MX_N * 4) == 0 && memcmp(x->aux, y->aux, MX_N * 4) == 0 &&
                  memcmp(x->copy, y->copy, MX_N * 4) == 0 && memcmp(x->g, y->g, MX_N * 4) == 0;
    for (j = 0; j < 3; j++) same = same && memcmp(x->s[j], y->s[j], MX_N * 4) == 0;
    return same;
}

/* Element i of array A of dtype D as comparable bits, every NaN as one value: NaN payloads
   are not part of the bit-identity promise (harness.h, to_emit_floats), and which NaN operand
   an FMA propagates depends on the operand order the compiler picked for that inlined copy. */
static uint32_t mx_canonical(const unsigned char *a, trainopt_dtype d, size_t i) {
    uint16_t h;
    if (d == TRAINOPT_F32) {
        float f;
        memcpy(&f, a + 4 * i, 4);
        return f != f ? 0x7fc00000u : to_bits(f);
    }
    memcpy(&h, a + 2 * i, 2);
    return (h & 0x7fffu) > (d == TRAINOPT_BF16 ? 0x7f80u : 0x7c00u) ? 0x10000u : h; /* above Inf: NaN */
}
static int mx_same_values(const unsigned char *x, const unsigned char *y, trainopt_dtype d) {
    size_t i;
    for (i = 0; i < MX_N; i++)
        if (mx_canonical(x, d, i) != mx_canonical(y, d, i)) return 0;
    return 1;
}
/* mx_same, but any NaN equals any NaN in the arrays a step writes (the split low halves are
   raw bits: a NaN is written there as one pattern already). */
static int mx_equivalent(const mx_arrays *x, const mx_arrays *y, const mx_param *mp, trainopt_dtype sd) {
    int j, same = mx_same_values(x->p, y->p, mp->dtype) && memcmp(x->g, y->g, MX_N * 4) == 0;
    same = same && (mp->mode == TRAINOPT_PARAM_KAHAN ? mx_same_values(x->aux, y->aux, mp->dtype)
                                                     : memcmp(x->aux, y->aux, MX_N * 4) == 0);
    same = same && (mp->copy != TRAINOPT_F32 ? mx_same_values(x->copy, y->copy, mp->copy)
                                             : memcmp(x->copy, y->copy, MX_N * 4) == 0);
    for (j = 0; j < 3; j++) same = same && mx_same_values(x->s[j], y->s[j], sd);
    return same;
}

static const trainopt_dtype mx_grad_dtypes[] = {TRAINOPT_F32, TRAINOPT_BF16, TRAINOPT_F16};
static const trainopt_dtype mx_state_dtypes[] = {TRAINOPT_F32, TRAINOPT_BF16};

/* Every optimizer x parameter setup x gradient dtype x state dtype: three steps against
   the reference, in one call and in pieces (the offset advanced with the piece). */
static void test_against_reference(to_ctx *t) {
    mx_arrays a, r, c;
    size_t o, pi, gi, si, combos = 0, bad = 0;
    mx_alloc(&a), mx_alloc(&r), mx_alloc(&c);
    for (o = 0; o < MX_OPTS; o++)
        for (pi = 0; pi < MX_PARAMS; pi++)
            for (gi = 0; gi < 3; gi++)
                for (si = 0; si < 2; si++) {
                    const mx_opt *opt = &mx_opts[o];
                    const mx_param *mp = &mx_params[pi];
                    const trainopt_dtype gd = mx_grad_dtypes[gi], sd = mx_state_dtypes[si];
                    int64_t step;
                    mx_fill(&a, mp, gd, 11 + o * 131 + pi * 17 + gi * 5 + si);
                    mx_copy(&r, &a);
                    for (step = 1; step <= 3; step++) {
                        size_t nf = 99, nf_ref = 77, nf_c = 55, i, k;
                        trainopt_step_opts op = TRAINOPT_STEP_OPTS_DEFAULTS;
                        trainopt_precision pr = mx_pr(mp, gd, sd, &a, 1000 * (uint64_t)step + 3), prr = mx_pr(mp, gd, sd, &r, pr.offset);
                        trainopt_status sa, sr;
                        void *s[3];
                        void *sr3[3];
                        op.grad_scale = step == 2 ? 0.5 : 1.0;
                        op.nonfinite = &nf;
                        mx_copy(&c, &a);
                        s[0] = a.s[0], s[1] = a.s[1], s[2] = a.s[2];
                        sa = opt->mp(step, MX_N, a.p, a.g, s, &pr, &op);
                        op.nonfinite = &nf_ref;
                        sr = mx_reference(opt, mp, gd, sd, step, &r, &prr, &op);
                        /* the same step in pieces of 300 (not whole blocks): element i keeps offset + i */
                        for (i = 0; i < MX_N; i += k) {
                            size_t part = 0;
                            trainopt_precision pc = mx_pr(mp, gd, sd, &c, pr.offset + i);
                            k = MX_N - i < 300 ? MX_N - i : 300;
                            if (pc.param_aux) pc.param_aux = c.aux + i * 2;
                            if (pc.copy) pc.copy = c.copy + i * mx_size(mp->copy);
                            sr3[0] = c.s[0] + i * mx_size(sd), sr3[1] = c.s[1] + i * mx_size(sd), sr3[2] = c.s[2] + i * mx_size(sd);
                            op.nonfinite = &part;
                            opt->mp(step, k, c.p + i * mx_size(mp->dtype), c.g + i * mx_size(gd), sr3, &pc, &op);
                            nf_c = i == 0 ? part : nf_c + part;
                        }
                        if ((sa != TRAINOPT_OK || sr != TRAINOPT_OK || !mx_equivalent(&a, &r, mp, sd) || nf != nf_ref ||
                             !mx_equivalent(&a, &c, mp, sd) || nf_c != nf) &&
                            bad++ < 6)
                            to_fail(t, "%s, %s, grad %d, states %d, step %lld: status %d/%d, nonfinite %zu/%zu/%zu, %s, %s",
                                    opt->name, mp->name, (int)gd, (int)sd, (long long)step, (int)sa, (int)sr, nf, nf_ref, nf_c,
                                    mx_equivalent(&a, &r, mp, sd) ? "same as the reference" : "differs from the reference",
                                    mx_equivalent(&a, &c, mp, sd) ? "same in pieces" : "differs in pieces");
                    }
                    combos++;
                }
    TO_CHECK(t, bad == 0, "%zu of %zu combinations differ", bad, combos);
    TO_CHECK(t, combos == MX_OPTS * MX_PARAMS * 6, "ran %zu combinations", combos);
    mx_free(&a), mx_free(&r), mx_free(&c);
}

/* Adam and AdamW without amsgrad, which the fused loop runs for bf16/fp16 parameters
   (nearest) with gradients of their dtype and fp32/bf16 states (src/mixed.h): every weight
   decay form, maximize, no options, the count alone, and grad_scale with the count; against
   the reference, and in pieces of 300 or 13 elements. The other setups (stochastic, a copy,
   mixed gradient dtypes) take the blocks: they run beside as a check that the routing
   leaves them alone. */
static trainopt_adam_config mx_fa_config;
static int mx_fa_decoupled;
static trainopt_status mx_ex_fa(int64_t step, size_t n, float *p, const float *g, float *const *s, const trainopt_step_opts *o) {
    return mx_fa_decoupled ? trainopt_adamw_step_ex(&mx_fa_config, step, n, p, g, s[0], s[1], NULL, o)
                           : trainopt_adam_step_ex(&mx_fa_config, step, n, p, g, s[0], s[1], NULL, o);
}
static trainopt_status mx_mp_fa(int64_t step, size_t n, void *p, const void *g, void *const *s, const trainopt_precision *pr,
                                const trainopt_step_opts *o) {
    return mx_fa_decoupled ? trainopt_adamw_step_mp(&mx_fa_config, step, n, p, g, s[0], s[1], NULL, pr, o)
                           : trainopt_adam_step_mp(&mx_fa_config, step, n, p, g, s[0], s[1], NULL, pr, o);
}
static void test_fused_adam(to_ctx *t) {
    static const size_t setups[] = {2, 3, 0, 4}; /* mx_params: bf16-nearest, f16-nearest (fused); f32+bf16copy, bf16-stochastic */
    const mx_opt opt = {"adam(w)", 2, mx_ex_fa, mx_mp_fa};
    mx_arrays a, r, c;
    size_t u, gi, si, combos = 0, bad = 0;
    int variant, mode;
    mx_alloc(&a), mx_alloc(&r), mx_alloc(&c);
    for (variant = 0; variant < 8; variant++) /* decoupled, weight decay, maximize */
        for (mode = 0; mode < 3; mode++)      /* options: none, the count, grad_scale 0.25 and the count */
            for (u = 0; u < sizeof setups / sizeof setups[0]; u++)
                for (gi = 0; gi < 3; gi++)
                    for (si = 0; si < 2; si++) {
                        const mx_param *mp = &mx_params[setups[u]];
                        const trainopt_dtype gd = mx_grad_dtypes[gi], sd = mx_state_dtypes[si];
                        const size_t piece = combos % 2 ? 300 : 13;
                        int64_t step;
                        if (u >= 2 && gi != 1) continue; /* the unfused setups: one gradient dtype is enough */
                        mx_fa_config = mx_adam(0);
                        mx_fa_decoupled = variant & 1;
                        mx_fa_config.weight_decay = variant & 2 ? 0.05 : 0.0;
                        mx_fa_config.maximize = variant >> 2 & 1;
                        mx_fill(&a, mp, gd, 7 + combos);
                        mx_copy(&r, &a);
                        mx_copy(&c, &a);
                        for (step = 1; step <= 3; step++) {
                            size_t nf = 99, nf_ref = 77, nf_c = 0, i, k;
                            trainopt_step_opts op = TRAINOPT_STEP_OPTS_DEFAULTS;
                            const trainopt_step_opts *o = mode == 0 ? NULL : &op;
                            trainopt_precision pr = mx_pr(mp, gd, sd, &a, 50 * (uint64_t)step), prr = mx_pr(mp, gd, sd, &r, pr.offset);
                            trainopt_status sa, sr;
                            void *s3[3];
                            op.grad_scale = mode == 2 ? 0.25 : 1.0;
                            op.nonfinite = &nf;
                            s3[0] = a.s[0], s3[1] = a.s[1], s3[2] = NULL;
                            sa = mx_mp_fa(step, MX_N, a.p, a.g, s3, &pr, o);
                            op.nonfinite = &nf_ref;
                            sr = mx_reference(&opt, mp, gd, sd, step, &r, &prr, o);
                            for (i = 0; i < MX_N; i += k) {
                                size_t part = 0;
                                trainopt_precision pc = mx_pr(mp, gd, sd, &c, pr.offset + i);
                                k = MX_N - i < piece ? MX_N - i : piece;
                                if (pc.copy) pc.copy = c.copy + i * mx_size(mp->copy);
                                s3[0] = c.s[0] + i * mx_size(sd), s3[1] = c.s[1] + i * mx_size(sd);
                                op.nonfinite = &part;
                                mx_mp_fa(step, k, c.p + i * mx_size(mp->dtype), c.g + i * mx_size(gd), s3, &pc, o);
                                nf_c += part;
                            }
                            if (mode == 0) nf = nf_ref = nf_c = 0;
                            if ((sa != TRAINOPT_OK || sr != TRAINOPT_OK || !mx_equivalent(&a, &r, mp, sd) || nf != nf_ref ||
                                 !mx_equivalent(&a, &c, mp, sd) || nf_c != nf || (mode != 0 && nf != 3)) &&
                                bad++ < 6)
                                to_fail(t, "%s, wd %g, maximize %d, options %d, %s, grad %d, states %d, step %lld: status %d/%d, "
                                           "nonfinite %zu/%zu/%zu, %s, %s",
                                        mx_fa_decoupled ? "adamw" : "adam", mx_fa_config.weight_decay, mx_fa_config.maximize, mode,
                                        mp->name, (int)gd, (int)sd, (long long)step, (int)sa, (int)sr, nf, nf_ref, nf_c,
                                        mx_equivalent(&a, &r, mp, sd) ? "same as the reference" : "differs from the reference",
                                        mx_equivalent(&a, &c, mp, sd) ? "same in pieces" : "differs in pieces");
                        }
                        combos++;
                    }
    TO_CHECK(t, bad == 0, "%zu of %zu combinations differ", bad, combos);
    TO_CHECK(t, combos == 8 * 3 * (2 * 6 + 2 * 2), "ran %zu combinations", combos);
    mx_free(&a), mx_free(&r), mx_free(&c);
}

/* fp32 everything is the _ex kernel itself; a skipped step writes nothing but the count. */
static void test_plain_and_skip(to_ctx *t) {
    mx_arrays a, r;
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t nf = 5;
    int found = 1;
    float *s[3];
    void *vs[3];
    mx_alloc(&a), mx_alloc(&r);
    mx_fill(&a, &mx_params[0], TRAINOPT_F32, 3);
    mx_copy(&r, &a);
    s[0] = (float *)(void *)r.s[0], s[1] = (float *)(void *)r.s[1], s[2] = (float *)(void *)r.s[2];
    vs[0] = a.s[0], vs[1] = a.s[1], vs[2] = a.s[2];
    to_expect_status(t, mx_mp_adam(2, MX_N, a.p, a.g, vs, &pr, NULL), TRAINOPT_OK, "fp32 adam_step_mp");
    mx_ex_adam(2, MX_N, (float *)(void *)r.p, (const float *)(const void *)r.g, s, NULL);
    TO_CHECK(t, mx_same(&a, &r), "fp32 adam_step_mp differs from adam_step_ex");
    pr.param_dtype = TRAINOPT_BF16, pr.param_mode = TRAINOPT_PARAM_STOCHASTIC;
    o.found_inf = &found, o.nonfinite = &nf, o.grad_scale = NAN;
    mx_copy(&r, &a);
    to_expect_status(t, mx_mp_adam(2, MX_N, a.p, a.g, vs, &pr, &o), TRAINOPT_OK, "skipped step");
    TO_CHECK(t, nf == 0 && mx_same(&a, &r), "a skipped step wrote (nonfinite %zu)", nf);
    mx_free(&a), mx_free(&r);
}

/* What the modes are for: 1000 SGD steps of -1e-4 on bf16 ones (bf16's spacing is 2^-8
   just below 1: every update is far below half of it). */
static void test_small_updates(to_ctx *t) {
    enum { N = 4096, STEPS = 1000 };
    uint16_t *p = (uint16_t *)malloc(N * 2), *aux = (uint16_t *)malloc(N * 2);
    float *g = (float *)malloc(N * 4);
    trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    const double want = 1.0 - STEPS * 1e-4;
    size_t i, mode;
    int64_t step;
    c.lr = 1e-4;
    for (i = 0; i < N; i++) g[i] = 1.0f;
    for (mode = 0; mode < 3; mode++) {
        double mean = 0.0;
        for (i = 0; i < N; i++) p[i] = 0x3f80, aux[i] = 0; /* 1.0, compensation 0 */
        pr.param_dtype = TRAINOPT_BF16;
        pr.param_mode = mode == 0 ? TRAINOPT_PARAM_NEAREST : mode == 1 ? TRAINOPT_PARAM_STOCHASTIC : TRAINOPT_PARAM_KAHAN;
        pr.param_aux = mode == 2 ? aux : NULL;
        for (step = 1; step <= STEPS; step++) {
            pr.seed = 42, pr.offset = (uint64_t)step * N; /* fresh words every step */
            trainopt_sgd_step_mp(&c, step, N, p, g, NULL, &pr, NULL);
        }
        for (i = 0; i < N; i++) mean += to_from_bits((uint32_t)p[i] << 16) + (mode == 2 ? to_from_bits((uint32_t)aux[i] << 16) : 0.0f);
        mean /= N;
        if (mode == 0) TO_CHECK(t, mean == 1.0, "nearest: small updates should vanish, mean %.9g", mean);
        /* stochastic: each element's walk has variance <= steps * (2^-8)^2 / 4; 4 sigma of the mean */
        if (mode == 1) TO_CHECK(t, fabs(mean - want) < 4 * sqrt(STEPS / 4.0) * 0x1p-8 / sqrt((double)N), "stochastic: mean %.9g, want %.9g", mean, want);
        /* Kahan: only the compensation's own bf16 rounding is lost, <= 2^-9 |c| <= 2^-18 a step */
        if (mode == 2) TO_CHECK(t, fabs(mean - want) <= STEPS * 0x1p-18, "kahan: p + c mean %.9g, want %.9g", mean, want);
    }
    free(p), free(aux), free(g);
}

/* PyTorch 1.13's SGD on bf16 and fp16 tensors (tests/gen_mixed_torch.py says why plain SGD
   with a power-of-two learning rate is where the two must agree): 40 steps, bit for bit
   but for NaN payloads. The patterns are the generator's LCG. */
static uint16_t mx_torch_pattern(uint64_t *x, trainopt_dtype d, unsigned lo) {
    uint64_t r;
    *x = *x * 6364136223846793005u + 1442695040888963407u;
    r = *x >> 33;
    if (d == TRAINOPT_BF16) return (uint16_t)((r & 1) << 15 | (lo + ((r >> 1) & 7)) << 7 | ((r >> 4) & 0x7f));
    return (uint16_t)((r & 1) << 15 | (lo + ((r >> 1) & 7)) << 10 | ((r >> 4) & 0x3ff));
}
static void test_torch_sgd(to_ctx *t) {
    size_t len, off = 16, c, i;
    unsigned char *data = (unsigned char *)to_read_golden(t, "mixed_torch.bin", &len);
    uint32_t head[3];
    if (!data) return;
    memcpy(head, data + 4, sizeof head);
    if (len < 16 || memcmp(data, "TOMT", 4) != 0 || head[1] != MX_N || len != 16 + head[0] * (16 + 4 * (size_t)MX_N)) {
        to_fail(t, "mixed_torch.bin: bad header or size");
        free(data);
        return;
    }
    for (c = 0; c < head[0]; c++, off += 16 + 4 * MX_N) {
        uint32_t k[4];
        uint16_t p[MX_N], g[MX_N];
        unsigned char want[2][MX_N * 2];
        trainopt_sgd_config cfg = TRAINOPT_SGD_DEFAULTS;
        trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
        trainopt_dtype d;
        uint64_t x;
        int64_t step;
        memcpy(k, data + off, sizeof k);
        memcpy(want, data + off + 16, sizeof want);
        d = k[0] == 1 ? TRAINOPT_BF16 : TRAINOPT_F16;
        cfg.maximize = (int)k[1], cfg.lr = ldexp(1.0, -(int)k[2]), x = k[3];
        pr.param_dtype = pr.grad_dtype = d;
        for (i = 0; i < MX_N; i++) p[i] = mx_torch_pattern(&x, d, d == TRAINOPT_BF16 ? 124 : 12);
        for (step = 1; step <= (int64_t)head[2]; step++) {
            for (i = 0; i < MX_N; i++) g[i] = mx_torch_pattern(&x, d, d == TRAINOPT_BF16 ? 118 : 8);
            if (step == 7) g[5] = d == TRAINOPT_BF16 ? 0x7fc0 : 0x7e00, g[6] = d == TRAINOPT_BF16 ? 0x7f80 : 0x7c00;
            to_expect_status(t, trainopt_sgd_step_mp(&cfg, step, MX_N, p, g, NULL, &pr, NULL), TRAINOPT_OK, "sgd_step_mp");
            if (step == 1 || step == (int64_t)head[2])
                TO_CHECK(t, mx_same_values((const unsigned char *)p, want[step != 1], d),
                         "case %zu (%s, maximize %u, lr 2^-%u): step %lld differs from PyTorch", c,
                         d == TRAINOPT_BF16 ? "bf16" : "fp16", k[1], k[2], (long long)step);
        }
    }
    free(data);
}

/* ---- Adafactor (trainopt_adafactor_step_mp): its own shapes, so its own arrays ---- */

/* The shapes: factored with rows of at most TRAINOPT__AF_FUSED_COLS (the fused first
   sweep) and longer ones (rows and update sweeps in pieces of 4096), unfactored longer
   than a piece. */
typedef struct {
    size_t rows, cols; /* rows 0: the unfactored 1-D step on cols elements */
    const char *name;
} mx_af_shape;
static const mx_af_shape mx_af_shapes[] = {{5, 37, "5x37"}, {3, 4100, "3x4100"}, {0, 5000, "1d-5000"}};
#define MX_AF_SHAPES (sizeof mx_af_shapes / sizeof mx_af_shapes[0])
enum { MX_AF_MAX = 12300 };

typedef struct {
    unsigned char *p, *aux, *g, *v, *copy;
    float *row, *col;
} mx_af_arrays;

static void mx_af_alloc(mx_af_arrays *a) {
    a->p = (unsigned char *)calloc(MX_AF_MAX, 4), a->aux = (unsigned char *)calloc(MX_AF_MAX, 4);
    a->g = (unsigned char *)calloc(MX_AF_MAX, 4), a->v = (unsigned char *)calloc(MX_AF_MAX, 4);
    a->copy = (unsigned char *)calloc(MX_AF_MAX, 4);
    a->row = (float *)calloc(MX_AF_MAX, 4), a->col = (float *)calloc(MX_AF_MAX, 4);
}
static void mx_af_free(mx_af_arrays *a) { free(a->p), free(a->aux), free(a->g), free(a->v), free(a->copy), free(a->row), free(a->col); }
static void mx_af_copy(mx_af_arrays *d, const mx_af_arrays *s) {
    memcpy(d->p, s->p, MX_AF_MAX * 4), memcpy(d->aux, s->aux, MX_AF_MAX * 4), memcpy(d->g, s->g, MX_AF_MAX * 4);
    memcpy(d->v, s->v, MX_AF_MAX * 4), memcpy(d->copy, s->copy, MX_AF_MAX * 4);
    memcpy(d->row, s->row, MX_AF_MAX * 4), memcpy(d->col, s->col, MX_AF_MAX * 4);
}
static size_t mx_af_n(const mx_af_shape *sh) { return sh->rows ? sh->rows * sh->cols : sh->cols; }

static trainopt_status mx_af_mp(const mx_af_shape *sh, int64_t step, mx_af_arrays *a, const trainopt_precision *pr,
                                const trainopt_step_opts *o) {
    const trainopt_adafactor_config c = TRAINOPT_ADAFACTOR_DEFAULTS;
    return sh->rows ? trainopt_adafactor_step_mp(&c, step, sh->rows, sh->cols, a->p, a->g, a->row, a->col, NULL, pr, o)
                    : trainopt_adafactor_step_mp(&c, step, 1, sh->cols, a->p, a->g, NULL, NULL, a->v, pr, o);
}

/* The reference step: widen, trainopt_adafactor_step_ex, round as the manual says (the
   factors are fp32 in every mode; the state dtype is the unfactored variance's). */
static trainopt_status mx_af_reference(const mx_af_shape *sh, const mx_param *mp, trainopt_dtype gd, trainopt_dtype sd,
                                       int64_t step, mx_af_arrays *a, const trainopt_precision *pr, const trainopt_step_opts *o) {
    const trainopt_adafactor_config c = TRAINOPT_ADAFACTOR_DEFAULTS;
    const size_t n = mx_af_n(sh);
    float *q = (float *)malloc(n * 4), *g = (float *)malloc(n * 4), *v = (float *)malloc(n * 4);
    uint16_t *p16 = (uint16_t *)(void *)a->p, *aux = (uint16_t *)(void *)a->aux;
    trainopt_status st;
    size_t i;
    for (i = 0; i < n; i++) {
        if (mp->dtype == TRAINOPT_F32) q[i] = ((float *)(void *)a->p)[i];
        else if (mp->mode == TRAINOPT_PARAM_SPLIT) q[i] = to_from_bits((uint32_t)p16[i] << 16 | aux[i]);
        else if (mp->mode == TRAINOPT_PARAM_KAHAN) q[i] = mx_widen1(a->p, mp->dtype, i) + mx_widen1(a->aux, mp->dtype, i);
        else q[i] = mx_widen1(a->p, mp->dtype, i);
    }
    trainopt_convert(n, a->g, gd, g, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    trainopt_convert(n, a->v, sd, v, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    st = sh->rows ? trainopt_adafactor_step_ex(&c, step, sh->rows, sh->cols, q, g, a->row, a->col, NULL, o)
                  : trainopt_adafactor_step_ex(&c, step, 1, sh->cols, q, g, NULL, NULL, v, o);
    if (st == TRAINOPT_OK) {
        if (!sh->rows) trainopt_convert(n, v, TRAINOPT_F32, a->v, sd, TRAINOPT_ROUND_NEAREST, 0, 0);
        if (mp->copy != TRAINOPT_F32) trainopt_convert(n, q, TRAINOPT_F32, a->copy, mp->copy, TRAINOPT_ROUND_NEAREST, 0, 0);
        if (mp->dtype == TRAINOPT_F32) memcpy(a->p, q, n * 4);
        else if (mp->mode == TRAINOPT_PARAM_STOCHASTIC)
            trainopt_convert(n, q, TRAINOPT_F32, a->p, mp->dtype, TRAINOPT_ROUND_STOCHASTIC, pr->seed, pr->offset);
        else
            for (i = 0; i < n; i++) {
                if (mp->mode == TRAINOPT_PARAM_SPLIT) {
                    const uint32_t b = q[i] != q[i] ? 0xffffffffu : to_bits(q[i]);
                    p16[i] = (uint16_t)(b >> 16), aux[i] = (uint16_t)b;
                } else {
                    p16[i] = mx_round1(q[i], mp->dtype);
                    if (mp->mode == TRAINOPT_PARAM_KAHAN) aux[i] = mx_round1(q[i] - mx_widen1(p16, mp->dtype, i), mp->dtype);
                }
            }
    }
    free(q), free(g), free(v);
    return st;
}

/* Parameters as mx_fill's, gradients in [-1, 1] (one NaN with `nan`: it spreads through
   every mean to the whole parameter, as in PyTorch), the factors and variance 0. */
static void mx_af_fill(mx_af_arrays *a, const mx_af_shape *sh, const mx_param *mp, trainopt_dtype gd, uint64_t seed, int nan) {
    const size_t n = mx_af_n(sh);
    float *x = (float *)malloc(n * 4);
    size_t i;
    memset(a->p, 0, MX_AF_MAX * 4), memset(a->aux, 0, MX_AF_MAX * 4), memset(a->copy, 0, MX_AF_MAX * 4);
    to_rand_fill(&seed, x, n, -1.5f, 1.5f);
    for (i = 0; i < n; i += 97) x[i] *= 1e-6f;
    if (mp->dtype == TRAINOPT_F32) memcpy(a->p, x, n * 4);
    else if (mp->mode == TRAINOPT_PARAM_SPLIT)
        for (i = 0; i < n; i++)
            ((uint16_t *)(void *)a->p)[i] = (uint16_t)(to_bits(x[i]) >> 16), ((uint16_t *)(void *)a->aux)[i] = (uint16_t)to_bits(x[i]);
    else trainopt_convert(n, x, TRAINOPT_F32, a->p, mp->dtype, TRAINOPT_ROUND_NEAREST, 0, 0);
    if (mp->mode == TRAINOPT_PARAM_KAHAN) {
        for (i = 0; i < n; i++) x[i] *= 1e-3f;
        trainopt_convert(n, x, TRAINOPT_F32, a->aux, mp->dtype, TRAINOPT_ROUND_NEAREST, 0, 0);
    }
    to_rand_fill(&seed, x, n, -1.0f, 1.0f);
    if (nan) x[n / 2] = NAN;
    memset(a->g, 0, MX_AF_MAX * 4);
    trainopt_convert(n, x, TRAINOPT_F32, a->g, gd, TRAINOPT_ROUND_NEAREST, 0, 0);
    memset(a->v, 0, MX_AF_MAX * 4), memset(a->row, 0, MX_AF_MAX * 4), memset(a->col, 0, MX_AF_MAX * 4);
    free(x);
}

static trainopt_precision mx_af_pr(const mx_param *mp, trainopt_dtype gd, trainopt_dtype sd, const mx_af_arrays *a,
                                   uint64_t offset) {
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    pr.param_dtype = mp->dtype, pr.param_mode = mp->mode, pr.grad_dtype = gd, pr.state_dtype = sd;
    pr.param_aux = mp->mode == TRAINOPT_PARAM_KAHAN || mp->mode == TRAINOPT_PARAM_SPLIT ? a->aux : NULL;
    pr.copy = mp->copy != TRAINOPT_F32 ? a->copy : NULL;
    pr.copy_dtype = mp->copy != TRAINOPT_F32 ? mp->copy : TRAINOPT_BF16;
    pr.seed = 0x5eed, pr.offset = offset;
    return pr;
}

static int mx_af_same_values(const unsigned char *x, const unsigned char *y, trainopt_dtype d, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (mx_canonical(x, d, i) != mx_canonical(y, d, i)) return 0;
    return 1;
}
static int mx_af_equivalent(const mx_af_arrays *x, const mx_af_arrays *y, const mx_af_shape *sh, const mx_param *mp,
                            trainopt_dtype sd) {
    const size_t n = mx_af_n(sh);
    int same = mx_af_same_values(x->p, y->p, mp->dtype, n) && memcmp(x->g, y->g, MX_AF_MAX * 4) == 0;
    same = same && (mp->mode == TRAINOPT_PARAM_KAHAN ? mx_af_same_values(x->aux, y->aux, mp->dtype, n)
                                                     : memcmp(x->aux, y->aux, MX_AF_MAX * 4) == 0);
    same = same && (mp->copy != TRAINOPT_F32 ? mx_af_same_values(x->copy, y->copy, mp->copy, n)
                                             : memcmp(x->copy, y->copy, MX_AF_MAX * 4) == 0);
    same = same && mx_af_same_values(x->v, y->v, sd, n);
    same = same && mx_af_same_values((const unsigned char *)x->row, (const unsigned char *)y->row, TRAINOPT_F32, MX_AF_MAX);
    return same && mx_af_same_values((const unsigned char *)x->col, (const unsigned char *)y->col, TRAINOPT_F32, MX_AF_MAX);
}

/* Every shape x parameter setup x gradient dtype x state dtype: three steps against the
   reference (grad_scale 0.5 at step 2, the nonfinite count), then a NaN gradient's step. */
static void test_adafactor_against_reference(to_ctx *t) {
    mx_af_arrays a, r;
    size_t h, pi, gi, si, combos = 0, bad = 0, moved = 0;
    mx_af_alloc(&a), mx_af_alloc(&r);
    for (h = 0; h < MX_AF_SHAPES; h++)
        for (pi = 0; pi < MX_PARAMS; pi++)
            for (gi = 0; gi < 3; gi++)
                for (si = 0; si < 2; si++) {
                    const mx_af_shape *sh = &mx_af_shapes[h];
                    const mx_param *mp = &mx_params[pi];
                    const trainopt_dtype gd = mx_grad_dtypes[gi], sd = mx_state_dtypes[si];
                    int64_t step;
                    mx_af_fill(&a, sh, mp, gd, 7 + h * 131 + pi * 17 + gi * 5 + si, 0);
                    mx_af_copy(&r, &a);
                    for (step = 1; step <= 4; step++) {
                        size_t nf = 99, nf_ref = 77;
                        trainopt_step_opts op = TRAINOPT_STEP_OPTS_DEFAULTS;
                        trainopt_precision pr = mx_af_pr(mp, gd, sd, &a, 1000 * (uint64_t)step + 3);
                        const trainopt_precision prr = mx_af_pr(mp, gd, sd, &r, pr.offset);
                        trainopt_status sa, sr;
                        if (step == 4) { /* a NaN gradient: counted, and NaN everywhere in both */
                            const size_t n = mx_af_n(sh);
                            const uint16_t nan16 = gd == TRAINOPT_BF16 ? 0x7fc0 : 0x7e00;
                            if (gd == TRAINOPT_F32) ((float *)(void *)a.g)[n / 3] = NAN, ((float *)(void *)r.g)[n / 3] = NAN;
                            else ((uint16_t *)(void *)a.g)[n / 3] = nan16, ((uint16_t *)(void *)r.g)[n / 3] = nan16;
                        }
                        op.grad_scale = step == 2 ? 0.5 : 1.0;
                        op.nonfinite = &nf;
                        sa = mx_af_mp(sh, step, &a, &pr, &op);
                        op.nonfinite = &nf_ref;
                        sr = mx_af_reference(sh, mp, gd, sd, step, &r, &prr, &op);
                        if ((sa != TRAINOPT_OK || sr != TRAINOPT_OK || !mx_af_equivalent(&a, &r, sh, mp, sd) || nf != nf_ref ||
                             nf != (step == 4)) &&
                            bad++ < 6)
                            to_fail(t, "adafactor %s, %s, grad %d, states %d, step %lld: status %d/%d, nonfinite %zu/%zu, %s",
                                    sh->name, mp->name, (int)gd, (int)sd, (long long)step, (int)sa, (int)sr, nf, nf_ref,
                                    mx_af_equivalent(&a, &r, sh, mp, sd) ? "same as the reference" : "differs from the reference");
                    }
                    combos++;
                    mx_af_fill(&r, sh, mp, gd, 7 + h * 131 + pi * 17 + gi * 5 + si, 0); /* the start again */
                    moved += memcmp(a.p, r.p, mx_af_n(sh) * mx_size(mp->dtype)) != 0;
                }
    TO_CHECK(t, bad == 0, "%zu of %zu adafactor combinations differ", bad, combos);
    TO_CHECK(t, moved == combos, "the parameter moved in %zu of %zu combinations", moved, combos);
    TO_CHECK(t, combos == MX_AF_SHAPES * MX_PARAMS * 6, "ran %zu combinations", combos);
    mx_af_free(&a), mx_af_free(&r);
}

void TO_NAME(mixed_tests)(to_ctx *t) {
    to_run(t, "against_reference", test_against_reference);
    to_run(t, "fused_adam", test_fused_adam);
    to_run(t, "plain_and_skip", test_plain_and_skip);
    to_run(t, "small_updates", test_small_updates);
    to_run(t, "torch_sgd", test_torch_sgd);
    to_run(t, "adafactor_against_reference", test_adafactor_against_reference);
}

/* ---- the battery: two steps of each optimizer in three setups, every output's bytes ---- */

void TO_NAME(mixed_battery)(to_sink *s) {
    static const size_t setups[][3] = {{4, 1, 1}, {7, 2, 1}, {8, 0, 0}}; /* param setup, grad dtype, state dtype */
    mx_arrays a;
    size_t o, u, j;
    char name[96];
    mx_alloc(&a);
    for (o = 0; o < MX_OPTS; o++)
        for (u = 0; u < 3; u++) {
            const mx_param *mp = &mx_params[setups[u][0]];
            const trainopt_dtype gd = mx_grad_dtypes[setups[u][1]], sd = mx_state_dtypes[setups[u][2]];
            int64_t step;
            void *st[3];
            mx_fill(&a, mp, gd, 5 + o);
            st[0] = a.s[0], st[1] = a.s[1], st[2] = a.s[2];
            for (step = 1; step <= 2; step++) {
                const trainopt_precision pr = mx_pr(mp, gd, sd, &a, 77 * (uint64_t)step);
                snprintf(name, sizeof name, "%s/%s/step%d/status", mx_opts[o].name, mp->name, (int)step);
                to_emit_status(s, name, mx_opts[o].mp(step, MX_N, a.p, a.g, st, &pr, NULL));
            }
            /* fp16 NaNs keep the sign the hardware gave the float NaN: one NaN, as to_emit_floats */
            if (mp->dtype == TRAINOPT_F16)
                for (j = 0; j < MX_N; j++) {
                    uint16_t *h = (uint16_t *)(void *)a.p, *c = (uint16_t *)(void *)a.aux;
                    if ((h[j] & 0x7c00) == 0x7c00 && (h[j] & 0x3ff)) h[j] = 0x7e00;
                    if ((c[j] & 0x7c00) == 0x7c00 && (c[j] & 0x3ff)) c[j] = 0x7e00;
                }
            snprintf(name, sizeof name, "%s/%s/g%d/s%d/param", mx_opts[o].name, mp->name, (int)gd, (int)sd);
            to_emit(s, name, a.p, MX_N * mx_size(mp->dtype));
            snprintf(name, sizeof name, "%s/%s/g%d/s%d/aux", mx_opts[o].name, mp->name, (int)gd, (int)sd);
            to_emit(s, name, a.aux, MX_N * 2);
            for (j = 0; j < (size_t)mx_opts[o].nstates; j++) {
                snprintf(name, sizeof name, "%s/%s/g%d/s%d/state%zu", mx_opts[o].name, mp->name, (int)gd, (int)sd, j);
                if (sd == TRAINOPT_F32) to_emit_floats(s, name, (const float *)(const void *)a.s[j], MX_N);
                else to_emit(s, name, a.s[j], MX_N * 2);
            }
        }
    mx_free(&a);
}
