/* tests/test_guard.c - guard pages for the kernels the family suites' guard tests
   leave out: every batch-norm function (both layouts, fuse_relu, in place, and the
   paths that keep per-channel state in the output array), adagrad_init, and the
   initializers not called there. Each array sits flush against a PROT_NONE page,
   after its last element and (in a second pass) before its first; one byte touched
   outside [0, n) crashes the runner, which counts as a failure. Sizes cover 0 to
   3 AVX-512 widths along the vectorized dimension, and large shapes. Compiled once
   per backend (see tests/harness.h). */
#include "harness.h"
#include "trainopt.h"

#include <math.h>
#include <string.h>

enum { G_X, G_Y, G_DY, G_DX, G_GAMMA, G_BETA, G_RM, G_RV, G_SM, G_SI, G_DG, G_DB, G_COUNT };

/* One batch-norm shape: forward_train (tracked and not), backward, forward_infer and
   fold, out of place and in place, every array guarded. Returns the first bad status. */
static int guard_bn_shape(size_t n, size_t c, size_t s, trainopt_layout layout, int relu, int at_end) {
    const size_t total = n * c * s;
    trainopt_bn_config cfg = TRAINOPT_BN_DEFAULTS;
    trainopt_bn_shape sh;
    to_guard g[G_COUNT];
    int i, bad = 0;
    size_t j;
    uint64_t seed = 7;
    sh.n = n, sh.c = c, sh.spatial = s, sh.layout = layout;
    cfg.fuse_relu = relu;
    for (i = 0; i < G_COUNT; i++) {
        g[i] = to_guard_new(i < G_GAMMA ? total : c, at_end);
        to_rand_fill(&seed, g[i].p, g[i].n, -1.0f, 2.0f);
    }
    for (j = 0; j < c; j++) g[G_RV].p[j] = fabsf(g[G_RV].p[j]);
#define G(i) g[i].p
#define BAD(call) do { int st_ = (int)(call); if (st_ != TRAINOPT_OK && !bad) bad = st_; } while (0)
    BAD(trainopt_batchnorm_forward_train(&cfg, sh, G(G_X), G(G_GAMMA), G(G_BETA), G(G_RM), G(G_RV), G(G_Y), G(G_SM), G(G_SI)));
    BAD(trainopt_batchnorm_forward_train(&cfg, sh, G(G_X), NULL, NULL, NULL, NULL, G(G_Y), G(G_SM), G(G_SI)));
    BAD(trainopt_batchnorm_backward(&cfg, sh, G(G_X), G(G_DY), G(G_GAMMA), G(G_SM), G(G_SI), G(G_Y), G(G_DX), G(G_DG), G(G_DB)));
    BAD(trainopt_batchnorm_backward(&cfg, sh, G(G_X), G(G_DY), NULL, G(G_SM), G(G_SI), G(G_Y), G(G_DX), NULL, NULL));
    BAD(trainopt_batchnorm_forward_infer(&cfg, sh, G(G_X), G(G_GAMMA), G(G_BETA), G(G_RM), G(G_RV), G(G_Y)));
    BAD(trainopt_batchnorm_fold(&cfg, c, G(G_GAMMA), G(G_BETA), G(G_RM), G(G_RV), G(G_SM), G(G_SI)));
    /* In place: y = x, then dx = dy (the NHWC paths that cannot borrow the output). */
    BAD(trainopt_batchnorm_backward(&cfg, sh, G(G_X), G(G_DY), G(G_GAMMA), G(G_SM), G(G_SI), G(G_Y), G(G_DY), G(G_DG), G(G_DB)));
    BAD(trainopt_batchnorm_forward_infer(&cfg, sh, G(G_X), G(G_GAMMA), G(G_BETA), G(G_RM), G(G_RV), G(G_X)));
    BAD(trainopt_batchnorm_forward_train(&cfg, sh, G(G_X), G(G_GAMMA), G(G_BETA), G(G_RM), G(G_RV), G(G_X), G(G_SM), G(G_SI)));
#undef BAD
#undef G
    for (i = 0; i < G_COUNT; i++) to_guard_free(&g[i]);
    return bad;
}

static void test_guard_batchnorm(to_ctx *t) {
    /* (n, c, s): the vector runs along s in NCHW and along c in NHWC (along n when s = 1) */
    static const size_t large[][3] = {{2, 70, 33}, {3, 130, 5}, {2, 2, 1030}, {1, 3, 2049}, {50, 7, 1}, {4099, 1, 1}};
    size_t k, q;
    int at_end, layout, relu;
    for (at_end = 0; at_end <= 1; at_end++)
        for (layout = 0; layout <= 1; layout++)
            for (relu = 0; relu <= 1; relu++) {
                for (k = 0; k <= 3 * 16 + 1; k++) {
                    const size_t shapes[3][3] = {{2, 3, k}, {2, k, 3}, {k, 2, 1}};
                    for (q = 0; q < 3; q++) {
                        const size_t *d = shapes[q];
                        int st;
                        if (d[0] * d[2] == 1) continue; /* one value per channel: refused, tested elsewhere */
                        st = guard_bn_shape(d[0], d[1], d[2], (trainopt_layout)layout, relu, at_end);
                        TO_CHECK(t, st == TRAINOPT_OK, "n %zu c %zu s %zu layout %d relu %d at_end %d: status %d", d[0], d[1],
                                 d[2], layout, relu, at_end, st);
                    }
                }
                for (q = 0; q < sizeof large / sizeof large[0]; q++) {
                    int st = guard_bn_shape(large[q][0], large[q][1], large[q][2], (trainopt_layout)layout, relu, at_end);
                    TO_CHECK(t, st == TRAINOPT_OK, "n %zu c %zu s %zu layout %d relu %d at_end %d: status %d", large[q][0],
                             large[q][1], large[q][2], layout, relu, at_end, st);
                }
            }
}

/* The kernels no family guard test calls directly (their siblings share the code, but
   each entry point is checked). */
static void test_guard_other(to_ctx *t) {
    trainopt_adagrad_config ac = TRAINOPT_ADAGRAD_DEFAULTS;
    trainopt_kaiming_config kc = TRAINOPT_KAIMING_DEFAULTS;
    size_t n;
    int at_end, st;
    for (at_end = 0; at_end <= 1; at_end++)
        for (n = 0; n <= 3 * 16 + 1; n = n < 3 * 16 ? n + 1 : 4099) {
            to_guard y = to_guard_new(n, at_end);
            st = trainopt_adagrad_init(&ac, n, y.p);
            st |= trainopt_xavier_normal(3, 77, n, 20, 30, 1.0, y.p);
            st |= trainopt_kaiming_uniform(&kc, 3, 77, n, 20, 30, y.p);
            TO_CHECK(t, st == TRAINOPT_OK, "n %zu at_end %d: a call failed", n, at_end);
            to_guard_free(&y);
        }
}

void TO_NAME(guard_tests)(to_ctx *t) {
    to_run(t, "batchnorm", test_guard_batchnorm);
    to_run(t, "adagrad_init-xavier_normal-kaiming_uniform", test_guard_other);
}

/* Nothing here has output bits of its own to compare: the batteries of the family
   suites cover these kernels. */
void TO_NAME(guard_battery)(to_sink *s) { (void)s; }
