/* tests/test_mixed_layerwise.c - the mixed-precision list steps trainopt_lamb_step_mp and
   trainopt_lars_step_mp (trainopt.h, >>mixed-layerwise), compiled once per backend.

   The contract tested bit for bit: a list step equals the fp32 _ex step on the widened
   lists (trainopt_convert's exact widening; Kahan: p + c in float; split: the joined
   halves) followed by the manual's rounding of each output, where tensor t's element j
   rounds stochastically with the word of (seed, offset + its place in the concatenation
   of the list). Three optimizer setups x every parameter mode x gradient dtype x state
   dtype, three steps, with grad_scale and the nonfinite count, over tensors of 1031, 0,
   261 and 37 elements (the last with NaN and Inf gradients) packed end to end in each
   dtype; the same list in two calls; the bad-input refusals, which write nothing. */
#include "harness.h"
#include "trainopt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ML_K = 4, ML_TOTAL = 1031 + 0 + 261 + 37, ML_SPLIT = 2 /* the two calls: tensors [0, 2) and [2, 4) */ };
static const size_t ml_lens[ML_K] = {1031, 0, 261, 37};

/* The optimizer setups: LAMB with weight decay, LARS with Nesterov momentum, LARS plain. */
enum { ML_LAMB, ML_LARS_NESTEROV, ML_LARS_PLAIN, ML_OPTS };
static const char *const ml_opt_names[ML_OPTS] = {"lamb", "lars-nesterov", "lars-plain"};
static int ml_nstates(int opt) { return opt == ML_LAMB ? 2 : opt == ML_LARS_NESTEROV ? 1 : 0; }

static trainopt_lamb_config ml_lamb(void) {
    trainopt_lamb_config c = TRAINOPT_LAMB_DEFAULTS;
    c.lr = 1e-2, c.weight_decay = 0.01, c.eps_root = 1e-9;
    return c;
}
static trainopt_lars_config ml_lars(int opt) {
    trainopt_lars_config c = TRAINOPT_LARS_DEFAULTS;
    c.lr = 0.2, c.weight_decay = 1e-3, c.trust_coefficient = 0.02, c.eps = 1e-6;
    c.momentum = opt == ML_LARS_NESTEROV ? 0.9 : 0.0, c.nesterov = opt == ML_LARS_NESTEROV;
    return c;
}

/* Tensors [first, first + k) of the list, each array's tensors end to end in its dtype. */
static trainopt_status ml_step_mp(int opt, int64_t step, size_t first, size_t k, void *const *p, const void *const *g,
                                  void *const *s0, void *const *s1, const trainopt_precision *pr, const trainopt_step_opts *o) {
    if (opt == ML_LAMB) {
        const trainopt_lamb_config c = ml_lamb();
        return trainopt_lamb_step_mp(&c, step, k, ml_lens + first, p, g, s0, s1, pr, o);
    } else {
        const trainopt_lars_config c = ml_lars(opt);
        return trainopt_lars_step_mp(&c, k, ml_lens + first, p, g, opt == ML_LARS_PLAIN ? NULL : s0, pr, o);
    }
}
static trainopt_status ml_step_ex(int opt, int64_t step, float *const *p, const float *const *g, float *const *s0,
                                  float *const *s1, const trainopt_step_opts *o) {
    if (opt == ML_LAMB) {
        const trainopt_lamb_config c = ml_lamb();
        return trainopt_lamb_step_ex(&c, step, ML_K, ml_lens, p, g, s0, s1, o);
    } else {
        const trainopt_lars_config c = ml_lars(opt);
        return trainopt_lars_step_ex(&c, ML_K, ml_lens, p, g, opt == ML_LARS_PLAIN ? NULL : s0, o);
    }
}

/* The parameter setups (as tests/test_mixed.c's): dtype, write-back mode, copy (F32: none). */
typedef struct {
    trainopt_dtype dtype;
    trainopt_param_mode mode;
    trainopt_dtype copy;
    const char *name;
} ml_param;
static const ml_param ml_params[] = {
    {TRAINOPT_F32, TRAINOPT_PARAM_NEAREST, TRAINOPT_F32, "f32"},
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
#define ML_PARAMS (sizeof ml_params / sizeof ml_params[0])
static const trainopt_dtype ml_grad_dtypes[] = {TRAINOPT_F32, TRAINOPT_BF16, TRAINOPT_F16};
static const trainopt_dtype ml_state_dtypes[] = {TRAINOPT_F32, TRAINOPT_BF16};

static size_t ml_size(trainopt_dtype d) { return d == TRAINOPT_F32 ? 4 : 2; }

/* One run's arrays, each the concatenation of the list in its own dtype (room for fp32). */
typedef struct {
    unsigned char *p, *aux, *g, *s[2], *copy;
} ml_arrays;
#define ML_EACH(a, X) X((a)->p) X((a)->aux) X((a)->g) X((a)->s[0]) X((a)->s[1]) X((a)->copy)
static void ml_alloc(ml_arrays *a) {
#define ML_ALLOC(x) x = (unsigned char *)calloc(ML_TOTAL, 4);
    ML_EACH(a, ML_ALLOC)
#undef ML_ALLOC
}
static void ml_free(ml_arrays *a) {
#define ML_FREE(x) free(x);
    ML_EACH(a, ML_FREE)
#undef ML_FREE
}
static void ml_copy(ml_arrays *d, const ml_arrays *s) {
    memcpy(d->p, s->p, ML_TOTAL * 4), memcpy(d->aux, s->aux, ML_TOTAL * 4), memcpy(d->g, s->g, ML_TOTAL * 4);
    memcpy(d->s[0], s->s[0], ML_TOTAL * 4), memcpy(d->s[1], s->s[1], ML_TOTAL * 4), memcpy(d->copy, s->copy, ML_TOTAL * 4);
}

/* Tensor pointers into a concatenated array of dtype d, from tensor `first` on. */
static void ml_list(void **out, unsigned char *base, trainopt_dtype d, size_t first) {
    size_t t, at = 0;
    for (t = 0; t < ML_K; t++) {
        if (t >= first) out[t - first] = base + at * ml_size(d);
        at += ml_lens[t];
    }
}
static size_t ml_start(size_t first) {
    size_t t, at = 0;
    for (t = 0; t < first; t++) at += ml_lens[t];
    return at;
}

/* The descriptor of a call on tensors [first, ...): aux and copy as lists of their own. */
typedef struct {
    trainopt_precision pr;
    void *p[ML_K], *g[ML_K], *s0[ML_K], *s1[ML_K], *aux[ML_K], *copy[ML_K];
} ml_call;
static void ml_call_make(ml_call *c, const ml_param *mp, trainopt_dtype gd, trainopt_dtype sd, ml_arrays *a, uint64_t offset,
                         size_t first) {
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    pr.param_dtype = mp->dtype, pr.param_mode = mp->mode, pr.grad_dtype = gd, pr.state_dtype = sd;
    pr.copy_dtype = mp->copy != TRAINOPT_F32 ? mp->copy : TRAINOPT_BF16;
    pr.seed = 0x5eed, pr.offset = offset;
    ml_list(c->p, a->p, mp->dtype, first), ml_list(c->g, a->g, gd, first);
    ml_list(c->s0, a->s[0], sd, first), ml_list(c->s1, a->s[1], sd, first);
    ml_list(c->aux, a->aux, mp->dtype, first), ml_list(c->copy, a->copy, pr.copy_dtype, first);
    pr.param_aux = mp->mode == TRAINOPT_PARAM_KAHAN || mp->mode == TRAINOPT_PARAM_SPLIT ? (void *)c->aux : NULL;
    pr.copy = mp->copy != TRAINOPT_F32 ? (void *)c->copy : NULL;
    c->pr = pr;
}

static float ml_widen1(const void *p, trainopt_dtype d, size_t i) {
    float f;
    trainopt_convert(1, (const unsigned char *)p + i * ml_size(d), d, &f, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    return f;
}
static uint16_t ml_round1(float x, trainopt_dtype d) {
    uint16_t h;
    trainopt_convert(1, &x, TRAINOPT_F32, &h, d, TRAINOPT_ROUND_NEAREST, 0, 0);
    return h;
}

/* The reference step: widen every tensor, the fp32 _ex step on the list, round as the
   manual says; the stochastic words of the concatenation from `offset`. */
static trainopt_status ml_reference(int opt, const ml_param *mp, trainopt_dtype gd, trainopt_dtype sd, int64_t step,
                                    ml_arrays *a, uint64_t offset, const trainopt_step_opts *o) {
    float *q = (float *)malloc(ML_TOTAL * 4), *g = (float *)malloc(ML_TOTAL * 4), *s[2];
    float *ql[ML_K], *gl[ML_K], *s0l[ML_K], *s1l[ML_K];
    trainopt_status st;
    size_t i;
    int j;
    for (i = 0; i < ML_TOTAL; i++) {
        if (mp->dtype == TRAINOPT_F32) q[i] = ((float *)(void *)a->p)[i];
        else if (mp->mode == TRAINOPT_PARAM_SPLIT)
            q[i] = to_from_bits((uint32_t)((uint16_t *)(void *)a->p)[i] << 16 | ((uint16_t *)(void *)a->aux)[i]);
        else if (mp->mode == TRAINOPT_PARAM_KAHAN)
            q[i] = ml_widen1(a->p, mp->dtype, i) + ml_widen1(a->aux, mp->dtype, i);
        else q[i] = ml_widen1(a->p, mp->dtype, i);
    }
    trainopt_convert(ML_TOTAL, a->g, gd, g, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    for (j = 0; j < 2; j++) {
        s[j] = (float *)malloc(ML_TOTAL * 4);
        trainopt_convert(ML_TOTAL, a->s[j], sd, s[j], TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0);
    }
    ml_list((void **)ql, (unsigned char *)q, TRAINOPT_F32, 0), ml_list((void **)gl, (unsigned char *)g, TRAINOPT_F32, 0);
    ml_list((void **)s0l, (unsigned char *)s[0], TRAINOPT_F32, 0), ml_list((void **)s1l, (unsigned char *)s[1], TRAINOPT_F32, 0);
    st = ml_step_ex(opt, step, ql, (const float *const *)gl, s0l, s1l, o);
    if (st == TRAINOPT_OK) {
        for (j = 0; j < ml_nstates(opt); j++)
            trainopt_convert(ML_TOTAL, s[j], TRAINOPT_F32, a->s[j], sd, TRAINOPT_ROUND_NEAREST, 0, 0);
        if (mp->copy != TRAINOPT_F32) trainopt_convert(ML_TOTAL, q, TRAINOPT_F32, a->copy, mp->copy, TRAINOPT_ROUND_NEAREST, 0, 0);
        if (mp->dtype == TRAINOPT_F32) memcpy(a->p, q, ML_TOTAL * 4);
        else if (mp->mode == TRAINOPT_PARAM_STOCHASTIC)
            trainopt_convert(ML_TOTAL, q, TRAINOPT_F32, a->p, mp->dtype, TRAINOPT_ROUND_STOCHASTIC, 0x5eed, offset);
        else
            for (i = 0; i < ML_TOTAL; i++) {
                uint16_t *p16 = (uint16_t *)(void *)a->p, *aux = (uint16_t *)(void *)a->aux;
                if (mp->mode == TRAINOPT_PARAM_SPLIT) {
                    const uint32_t b = q[i] != q[i] ? 0xffffffffu : to_bits(q[i]); /* NaN: the manual's one pattern */
                    p16[i] = (uint16_t)(b >> 16), aux[i] = (uint16_t)b;
                } else {
                    p16[i] = ml_round1(q[i], mp->dtype);
                    if (mp->mode == TRAINOPT_PARAM_KAHAN) aux[i] = ml_round1(q[i] - ml_widen1(p16, mp->dtype, i), mp->dtype);
                }
            }
    }
    free(q), free(g), free(s[0]), free(s[1]);
    return st;
}

/* Parameters in [-1.5, 1.5] with some tiny ones (fp16 subnormals), a small compensation,
   gradients in [-1, 1] with NaN and Inf in the last tensor only (a NaN norm makes its
   whole tensor NaN), states 0. */
static void ml_fill(ml_arrays *a, const ml_param *mp, trainopt_dtype gd, uint64_t seed) {
    float *x = (float *)malloc(ML_TOTAL * 4);
    size_t i;
    to_rand_fill(&seed, x, ML_TOTAL, -1.5f, 1.5f);
    for (i = 0; i < ML_TOTAL; i += 97) x[i] *= 1e-6f;
    if (mp->dtype == TRAINOPT_F32) memcpy(a->p, x, ML_TOTAL * 4);
    else if (mp->mode == TRAINOPT_PARAM_SPLIT)
        for (i = 0; i < ML_TOTAL; i++)
            ((uint16_t *)(void *)a->p)[i] = (uint16_t)(to_bits(x[i]) >> 16), ((uint16_t *)(void *)a->aux)[i] = (uint16_t)to_bits(x[i]);
    else trainopt_convert(ML_TOTAL, x, TRAINOPT_F32, a->p, mp->dtype, TRAINOPT_ROUND_NEAREST, 0, 0);
    if (mp->mode == TRAINOPT_PARAM_KAHAN) {
        for (i = 0; i < ML_TOTAL; i++) x[i] *= 1e-3f;
        trainopt_convert(ML_TOTAL, x, TRAINOPT_F32, a->aux, mp->dtype, TRAINOPT_ROUND_NEAREST, 0, 0);
    }
    to_rand_fill(&seed, x, ML_TOTAL, -1.0f, 1.0f);
    x[ML_TOTAL - 30] = NAN, x[ML_TOTAL - 20] = INFINITY, x[ML_TOTAL - 1] = -INFINITY;
    trainopt_convert(ML_TOTAL, x, TRAINOPT_F32, a->g, gd, TRAINOPT_ROUND_NEAREST, 0, 0);
    memset(a->s[0], 0, ML_TOTAL * 4), memset(a->s[1], 0, ML_TOTAL * 4);
    free(x);
}

/* Element i of an array of dtype d as comparable bits, every NaN one value (NaN payloads
   are not part of the promise: tests/test_mixed.c, mx_canonical). */
static uint32_t ml_canonical(const unsigned char *a, trainopt_dtype d, size_t i) {
    uint16_t h;
    if (d == TRAINOPT_F32) {
        float f;
        memcpy(&f, a + 4 * i, 4);
        return f != f ? 0x7fc00000u : to_bits(f);
    }
    memcpy(&h, a + 2 * i, 2);
    return (h & 0x7fffu) > (d == TRAINOPT_BF16 ? 0x7f80u : 0x7c00u) ? 0x10000u : h;
}
static int ml_same_values(const unsigned char *x, const unsigned char *y, trainopt_dtype d) {
    size_t i;
    for (i = 0; i < ML_TOTAL; i++)
        if (ml_canonical(x, d, i) != ml_canonical(y, d, i)) return 0;
    return 1;
}
static int ml_equivalent(const ml_arrays *x, const ml_arrays *y, const ml_param *mp, trainopt_dtype sd) {
    int same = ml_same_values(x->p, y->p, mp->dtype) && memcmp(x->g, y->g, ML_TOTAL * 4) == 0;
    same = same && (mp->mode == TRAINOPT_PARAM_KAHAN ? ml_same_values(x->aux, y->aux, mp->dtype)
                                                     : memcmp(x->aux, y->aux, ML_TOTAL * 4) == 0);
    same = same && (mp->copy != TRAINOPT_F32 ? ml_same_values(x->copy, y->copy, mp->copy)
                                             : memcmp(x->copy, y->copy, ML_TOTAL * 4) == 0);
    return same && ml_same_values(x->s[0], y->s[0], sd) && ml_same_values(x->s[1], y->s[1], sd);
}

/* Every setup x parameter mode x gradient dtype x state dtype: three steps against the
   reference, as one call and as two (the second's offset advanced by the first's elements). */
static void test_against_reference(to_ctx *t) {
    ml_arrays a, r, c;
    size_t o, pi, gi, si, combos = 0, bad = 0, moved = 0;
    ml_alloc(&a), ml_alloc(&r), ml_alloc(&c);
    for (o = 0; o < ML_OPTS; o++)
        for (pi = 0; pi < ML_PARAMS; pi++)
            for (gi = 0; gi < 3; gi++)
                for (si = 0; si < 2; si++) {
                    const ml_param *mp = &ml_params[pi];
                    const trainopt_dtype gd = ml_grad_dtypes[gi], sd = ml_state_dtypes[si];
                    unsigned char *before = (unsigned char *)malloc(ML_TOTAL * 4);
                    int64_t step;
                    ml_fill(&a, mp, gd, 7 + o * 131 + pi * 17 + gi * 5 + si);
                    ml_copy(&r, &a);
                    memcpy(before, a.p, ML_TOTAL * 4);
                    for (step = 1; step <= 3; step++) {
                        const uint64_t offset = 1000 * (uint64_t)step + 3;
                        size_t nf = 99, nf_ref = 77, nf_c = 55, part = 44;
                        trainopt_step_opts op = TRAINOPT_STEP_OPTS_DEFAULTS;
                        ml_call ca, cc;
                        trainopt_status sa, sr, sc;
                        ml_copy(&c, &a);
                        op.grad_scale = step == 2 ? 0.5 : 1.0;
                        op.nonfinite = &nf;
                        ml_call_make(&ca, mp, gd, sd, &a, offset, 0);
                        sa = ml_step_mp((int)o, step, 0, ML_K, ca.p, (const void *const *)ca.g, ca.s0, ca.s1, &ca.pr, &op);
                        op.nonfinite = &nf_ref;
                        sr = ml_reference((int)o, mp, gd, sd, step, &r, offset, &op);
                        /* the list in two calls */
                        op.nonfinite = &part;
                        ml_call_make(&cc, mp, gd, sd, &c, offset, 0);
                        sc = ml_step_mp((int)o, step, 0, ML_SPLIT, cc.p, (const void *const *)cc.g, cc.s0, cc.s1, &cc.pr, &op);
                        op.nonfinite = &nf_c;
                        ml_call_make(&cc, mp, gd, sd, &c, offset + ml_start(ML_SPLIT), ML_SPLIT);
                        if (sc == TRAINOPT_OK)
                            sc = ml_step_mp((int)o, step, ML_SPLIT, ML_K - ML_SPLIT, cc.p, (const void *const *)cc.g, cc.s0,
                                            cc.s1, &cc.pr, &op);
                        nf_c += part;
                        if ((sa != TRAINOPT_OK || sr != TRAINOPT_OK || sc != TRAINOPT_OK || !ml_equivalent(&a, &r, mp, sd) ||
                             nf != nf_ref || !ml_equivalent(&a, &c, mp, sd) || nf_c != nf || nf != 3) &&
                            bad++ < 6)
                            to_fail(t, "%s, %s, grad %d, states %d, step %lld: status %d/%d/%d, nonfinite %zu/%zu/%zu, %s, %s",
                                    ml_opt_names[o], mp->name, (int)gd, (int)sd, (long long)step, (int)sa, (int)sr, (int)sc,
                                    nf, nf_ref, nf_c, ml_equivalent(&a, &r, mp, sd) ? "same as the reference" : "differs from the reference",
                                    ml_equivalent(&a, &c, mp, sd) ? "same in two calls" : "differs in two calls");
                    }
                    moved += memcmp(before, a.p, ML_TOTAL * ml_size(mp->dtype)) != 0;
                    free(before);
                    combos++;
                }
    TO_CHECK(t, bad == 0, "%zu of %zu combinations differ", bad, combos);
    TO_CHECK(t, combos == ML_OPTS * ML_PARAMS * 6, "ran %zu combinations", combos);
    TO_CHECK(t, moved == combos, "the parameters moved in only %zu of %zu combinations", moved, combos);
    ml_free(&a), ml_free(&r), ml_free(&c);
}

/* The norms see the widened values: a bf16 Kahan parameter whose compensation carries
   most of it steps as the fp32 list of p + c, not as the list of p. */
static void test_norms_see_compensation(to_ctx *t) {
    static const size_t len = 41;
    const trainopt_lars_config c = ml_lars(ML_LARS_PLAIN);
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    uint16_t p[41], aux[41], g[41], want_p[41];
    float q[41], gf[41];
    void *pl[1], *gl[1], *auxl[1];
    float *ql[1];
    const float *gfl[1];
    size_t i;
    for (i = 0; i < len; i++) {
        p[i] = ml_round1(0.25f + 0.01f * (float)i, TRAINOPT_BF16);
        aux[i] = ml_round1(0.75f, TRAINOPT_BF16); /* p + c: three times the norm of p alone */
        g[i] = ml_round1(0.5f - 0.02f * (float)i, TRAINOPT_BF16);
        q[i] = ml_widen1(p, TRAINOPT_BF16, i) + ml_widen1(aux, TRAINOPT_BF16, i);
        gf[i] = ml_widen1(g, TRAINOPT_BF16, i);
    }
    ql[0] = q, gfl[0] = gf, pl[0] = p, gl[0] = g, auxl[0] = aux;
    to_expect_status(t, trainopt_lars_step_ex(&c, 1, &len, ql, gfl, NULL, NULL), TRAINOPT_OK, "fp32 lars on p + c");
    for (i = 0; i < len; i++) want_p[i] = ml_round1(q[i], TRAINOPT_BF16);
    pr.param_dtype = TRAINOPT_BF16, pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.grad_dtype = TRAINOPT_BF16;
    pr.param_aux = auxl;
    to_expect_status(t, trainopt_lars_step_mp(&c, 1, &len, pl, (const void *const *)gl, NULL, &pr, NULL), TRAINOPT_OK,
                     "kahan lars_step_mp");
    TO_CHECK(t, memcmp(p, want_p, sizeof p) == 0, "Kahan LARS: the parameter is not the fp32 step on p + c, rounded");
}

/* Refusals write nothing: a bad tensor in the middle of the list (NULL, overlapping, a
   missing compensation array), a bad descriptor, a bad config; and the count output
   stays as it was. */
static void test_refusals(to_ctx *t) {
    enum { N0 = 33, N1 = 19, N2 = 25 };
    static const size_t lens[3] = {N0, N1, N2};
    uint16_t arena[6][N0 + N1 + N2], saved[6][N0 + N1 + N2];
    void *p[3], *g[3], *m[3], *v[3], *aux[3], *copy[3];
    trainopt_lamb_config lamb = ml_lamb();
    trainopt_lars_config lars = ml_lars(ML_LARS_NESTEROV);
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t nf = 1234, i, j;
    int case_;
    for (i = 0; i < 6; i++)
        for (j = 0; j < N0 + N1 + N2; j++) arena[i][j] = ml_round1(0.5f + 0.001f * (float)(i * 100 + j), TRAINOPT_BF16);
    memcpy(saved, arena, sizeof arena);
    o.nonfinite = &nf;
    for (case_ = 0; case_ < 10; case_++) {
        trainopt_status st, want = TRAINOPT_ERR_NULL;
        const char *what = "";
        for (i = 0; i < 3; i++) {
            const size_t at = i == 0 ? 0 : i == 1 ? N0 : N0 + N1;
            p[i] = arena[0] + at, g[i] = arena[1] + at, m[i] = arena[2] + at, v[i] = arena[3] + at;
            aux[i] = arena[4] + at, copy[i] = arena[5] + at;
        }
        pr.param_dtype = TRAINOPT_BF16, pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.param_aux = aux;
        pr.grad_dtype = TRAINOPT_BF16, pr.state_dtype = TRAINOPT_BF16, pr.copy = copy, pr.copy_dtype = TRAINOPT_F16;
        lamb = ml_lamb(), lars = ml_lars(ML_LARS_NESTEROV);
        switch (case_) {
        case 0: p[1] = NULL, what = "params[1] NULL"; break;
        case 1: aux[1] = NULL, what = "pr->param_aux[1] NULL"; break;
        case 2: copy[1] = NULL, what = "pr->copy[1] NULL"; break;
        case 3: m[1] = (uint16_t *)v[1] + 3, want = TRAINOPT_ERR_ALIAS, what = "exp_avgs[1] inside exp_avg_sqs[1]"; break;
        case 4: copy[1] = (uint16_t *)g[2] - 1, want = TRAINOPT_ERR_ALIAS, what = "pr->copy[1] over grads[2]"; break;
        case 5: aux[1] = (uint16_t *)p[1] + 1, want = TRAINOPT_ERR_ALIAS, what = "pr->param_aux[1] over params[1]"; break;
        case 6: pr.param_aux = NULL, what = "pr->param_aux NULL (Kahan)"; break;
        case 7: pr.param_mode = TRAINOPT_PARAM_SPLIT, pr.param_dtype = TRAINOPT_F16, want = TRAINOPT_ERR_HPARAM,
                what = "fp16 split"; break;
        case 8: lamb.beta1 = NAN, lars.momentum = -1.0, want = TRAINOPT_ERR_HPARAM, what = "a bad config"; break;
        case 9: /* an aligned size_t inside grads[1] */
            o.nonfinite = (size_t *)(void *)((unsigned char *)(arena[1] + N0) + (8 - (uintptr_t)(arena[1] + N0) % 8));
            want = TRAINOPT_ERR_ALIAS, what = "o->nonfinite inside grads[1]";
            break;
        }
        st = trainopt_lamb_step_mp(&lamb, 2, 3, lens, p, (const void *const *)g, m, v, &pr, &o);
        TO_CHECK(t, st == want, "lamb_step_mp, %s: status %d, want %d (%s)", what, (int)st, (int)want, trainopt_last_error());
        TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_lamb_step_mp") != NULL, "lamb_step_mp, %s: the error names %s",
                 what, trainopt_last_error());
        if (case_ != 3) { /* LARS has no second state */
            st = trainopt_lars_step_mp(&lars, 3, lens, p, (const void *const *)g, m, &pr, &o);
            TO_CHECK(t, st == want, "lars_step_mp, %s: status %d, want %d (%s)", what, (int)st, (int)want, trainopt_last_error());
        }
        TO_CHECK(t, memcmp(arena, saved, sizeof arena) == 0 && nf == 1234, "%s: a refused call wrote", what);
        o.nonfinite = &nf;
    }
    /* the same lists, well formed: accepted, and every array packed end to end in bf16 is
       no overlap (the checks use each array's own element size) */
    pr.param_aux = aux, pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.param_dtype = TRAINOPT_BF16;
    lamb = ml_lamb(), lars = ml_lars(ML_LARS_NESTEROV);
    for (i = 0; i < 3; i++) m[i] = (uint16_t *)(void *)arena[2] + (i == 0 ? 0 : i == 1 ? N0 : N0 + N1);
    to_expect_status(t, trainopt_lamb_step_mp(&lamb, 2, 3, lens, p, (const void *const *)g, m, v, &pr, &o), TRAINOPT_OK,
                     "lamb_step_mp on packed bf16 lists");
    TO_CHECK(t, nf == 0, "lamb_step_mp counted %zu nonfinite gradients", nf);
    to_expect_status(t, trainopt_lars_step_mp(&lars, 3, lens, p, (const void *const *)g, m, &pr, &o), TRAINOPT_OK,
                     "lars_step_mp on packed bf16 lists");
    /* LARS with momentum needs its buffers */
    to_expect_status(t, trainopt_lars_step_mp(&lars, 3, lens, p, (const void *const *)g, NULL, &pr, &o), TRAINOPT_ERR_NULL,
                     "lars_step_mp without momentum_bufs");
}

void TO_NAME(mixed_layerwise_tests)(to_ctx *t) {
    to_run(t, "against_reference", test_against_reference);
    to_run(t, "norms_see_compensation", test_norms_see_compensation);
    to_run(t, "refusals", test_refusals);
}

/* ---- the battery: two steps of each setup in three precisions, every output's bytes ---- */

void TO_NAME(mixed_layerwise_battery)(to_sink *s) {
    static const size_t setups[][3] = {{5, 1, 1}, {8, 2, 1}, {9, 0, 0}}; /* param setup, grad dtype, state dtype */
    ml_arrays a;
    size_t o, u, j;
    char name[96];
    ml_alloc(&a);
    for (o = 0; o < ML_OPTS; o++)
        for (u = 0; u < 3; u++) {
            const ml_param *mp = &ml_params[setups[u][0]];
            const trainopt_dtype gd = ml_grad_dtypes[setups[u][1]], sd = ml_state_dtypes[setups[u][2]];
            int64_t step;
            ml_fill(&a, mp, gd, 5 + o);
            for (step = 1; step <= 2; step++) {
                ml_call c;
                ml_call_make(&c, mp, gd, sd, &a, 77 * (uint64_t)step, 0);
                snprintf(name, sizeof name, "%s/%s/step%d/status", ml_opt_names[o], mp->name, (int)step);
                to_emit_status(s, name, ml_step_mp((int)o, step, 0, ML_K, c.p, (const void *const *)c.g, c.s0, c.s1, &c.pr, NULL));
            }
            /* fp16 NaNs keep the sign the hardware gave the float NaN: one NaN, as to_emit_floats */
            if (mp->dtype == TRAINOPT_F16)
                for (j = 0; j < ML_TOTAL; j++) {
                    uint16_t *h = (uint16_t *)(void *)a.p, *c = (uint16_t *)(void *)a.aux;
                    if ((h[j] & 0x7c00) == 0x7c00 && (h[j] & 0x3ff)) h[j] = 0x7e00;
                    if ((c[j] & 0x7c00) == 0x7c00 && (c[j] & 0x3ff)) c[j] = 0x7e00;
                }
            snprintf(name, sizeof name, "%s/%s/g%d/s%d/param", ml_opt_names[o], mp->name, (int)gd, (int)sd);
            to_emit(s, name, a.p, ML_TOTAL * ml_size(mp->dtype));
            snprintf(name, sizeof name, "%s/%s/g%d/s%d/aux", ml_opt_names[o], mp->name, (int)gd, (int)sd);
            to_emit(s, name, a.aux, ML_TOTAL * 2);
            for (j = 0; j < (size_t)ml_nstates((int)o); j++) {
                snprintf(name, sizeof name, "%s/%s/g%d/s%d/state%zu", ml_opt_names[o], mp->name, (int)gd, (int)sd, j);
                if (sd == TRAINOPT_F32) to_emit_floats(s, name, (const float *)(const void *)a.s[j], ML_TOTAL);
                else to_emit(s, name, a.s[j], ML_TOTAL * 2);
            }
        }
    ml_free(&a);
}
