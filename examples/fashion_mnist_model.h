/* fashion_mnist_model.h - the Fashion-MNIST MLP that examples/fashion_mnist.c (one process)
 * and examples/ddp_fashion_mnist.c (MPI, data parallel) both train: the dataset reader,
 * the data order, the parameters, one forward-backward pass and the test evaluation.
 * Each program includes it once, after trainopt.h, and does its own optimizer step.
 *
 *   784 -> [Linear -> BatchNorm -> ReLU -> Dropout] x 2 (512, 256 units) -> Linear -> 10 logits
 *
 * Needs <cblas.h> (the dense layers' products) and <zlib.h> (the dataset's .gz files).
 */
#ifndef FASHION_MNIST_MODEL_H
#define FASHION_MNIST_MODEL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <zlib.h>

/* Any trainopt call that fails stops the program with the call and the reason. */
#define CHECK(call)                                                                                  \
    do {                                                                                             \
        trainopt_status st_ = (call);                                                                \
        if (st_ != TRAINOPT_OK) {                                                                    \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, trainopt_status_str(st_)); \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)

enum { IN = 784, H1 = 512, H2 = 256, OUT = 10 };

/* ---- data: the idx files, gzip-compressed --------------------------------------------- */

typedef struct {
    size_t n;
    float *x;      /* [n][784], normalized */
    int32_t *y;    /* [n], 0..9 */
} dataset;

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads the first `limit` items (0: all) of an idx file (magic 0x801 labels or 0x803
   images); returns their bytes, the file's count in *n. */
static unsigned char *read_idx(const char *dir, const char *name, uint32_t magic, size_t item_bytes, size_t limit,
                               size_t *n) {
    char path[1024];
    unsigned char head[16], *data;
    size_t head_bytes = magic == 0x803 ? 16 : 8, take;
    gzFile f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if ((f = gzopen(path, "rb")) == NULL) {
        fprintf(stderr, "cannot open %s (Debian: apt-get install dataset-fashion-mnist)\n", path);
        exit(1);
    }
    if (gzread(f, head, (unsigned)head_bytes) != (int)head_bytes || be32(head) != magic ||
        (magic == 0x803 && be32(head + 8) * be32(head + 12) != item_bytes)) {
        fprintf(stderr, "%s: not an idx file of the expected kind\n", path);
        exit(1);
    }
    *n = be32(head + 4);
    take = limit && limit < *n ? limit : *n;
    if ((data = (unsigned char *)malloc(take * item_bytes)) == NULL ||
        gzread(f, data, (unsigned)(take * item_bytes)) != (int)(take * item_bytes)) {
        fprintf(stderr, "%s: short read\n", path);
        exit(1);
    }
    gzclose(f);
    return data;
}

/* Loads the first `limit` examples (0: all) and normalizes pixels with the training
   set's mean and standard deviation, written as divisions so no build can fuse them. */
static dataset load(const char *dir, const char *images, const char *labels, size_t limit) {
    dataset d;
    size_t n_img, n_lab, i;
    unsigned char *px = read_idx(dir, images, 0x803, IN, limit, &n_img);
    unsigned char *lb = read_idx(dir, labels, 0x801, 1, limit, &n_lab);
    if (n_img != n_lab) {
        fprintf(stderr, "%s and %s disagree on the count\n", images, labels);
        exit(1);
    }
    d.n = limit && limit < n_img ? limit : n_img;
    d.x = (float *)malloc(d.n * IN * sizeof(float));
    d.y = (int32_t *)malloc(d.n * sizeof(int32_t));
    if (!d.x || !d.y) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (i = 0; i < d.n * IN; i++) d.x[i] = ((float)px[i] / 255.0f - 0.2860f) / 0.3530f;
    for (i = 0; i < d.n; i++) d.y[i] = lb[i];
    free(px);
    free(lb);
    return d;
}

/* The data order: splitmix64 and Fisher-Yates, reproduced exactly by the PyTorch twin. */
static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void shuffle(uint32_t *idx, size_t n, uint64_t *state) {
    size_t i;
    for (i = n; i > 1; i--) {
        size_t j = (size_t)(splitmix64(state) % i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

/* ---- the model ------------------------------------------------------------------------ */

/* All parameters live in one array, weights (which get weight decay) first, then the
   batch-norm scales and shifts and the output bias (which do not, as usual). The
   gradients and AdamW's two moment arrays have the same layout, so the optimizer
   step is two calls: one per weight-decay group. */
#define N_DECAY ((size_t)H1 * IN + (size_t)H2 * H1 + (size_t)OUT * H2)
#define N_PARAMS (N_DECAY + 2 * H1 + 2 * H2 + OUT)
#define N_TENSORS 8

typedef struct {
    float *w1, *w2, *w3;   /* [out][in], as torch.nn.Linear.weight */
    float *g1, *be1, *g2, *be2, *b3;
} tensors;

static tensors carve(float *base) {
    tensors t;
    t.w1 = base;
    t.w2 = t.w1 + (size_t)H1 * IN;
    t.w3 = t.w2 + (size_t)H2 * H1;
    t.g1 = t.w3 + (size_t)OUT * H2;
    t.be1 = t.g1 + H1;
    t.g2 = t.be1 + H1;
    t.be2 = t.g2 + H2;
    t.b3 = t.be2 + H2;
    return t;
}

typedef struct {
    float *param, *grad;           /* N_PARAMS each */
    float *m, *v;                  /* AdamW's moments: the optimizer state, of the length model_init is given */
    tensors p, g;                  /* views into param and grad */
    float *run_mean1, *run_var1, *run_mean2, *run_var2;
    /* activations of one minibatch, [batch][units] */
    float *z1, *a1, *d1, *mean1, *invstd1, *z2, *a2, *d2, *mean2, *invstd2, *logits;
    uint8_t *mask1, *mask2;
    /* gradients of the activations */
    float *dlogits, *dd2, *da2, *dz2, *dd1, *da1, *dz1;
} model;

static float *alloc_floats(size_t n, float fill) {
    float *p = (float *)malloc(n * sizeof(float));
    size_t i;
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (i = 0; i < n; i++) p[i] = fill;
    return p;
}

/* Buffers for minibatches of up to `batch` rows, the initial parameters, and an optimizer
   state of state_len elements (N_PARAMS, or a shard's length when ranks split the state). */
static void model_init(model *m, size_t batch, uint64_t seed, size_t state_len) {
    size_t i;
    m->param = alloc_floats(N_PARAMS, 0.0f);
    m->grad = alloc_floats(N_PARAMS, 0.0f);
    m->m = alloc_floats(state_len, 0.0f); /* AdamW's moments start at zero */
    m->v = alloc_floats(state_len, 0.0f);
    m->p = carve(m->param);
    m->g = carve(m->grad);
    /* Kaiming (He) normal, fan_in, with the ReLU gain sqrt(2) for the hidden layers and
       gain 1 for the output layer: torch.nn.init.kaiming_normal_(w, mode="fan_in",
       nonlinearity=...). Each tensor takes its own stretch of the generator's counter
       (the offset), so no two share random numbers. */
    {
        trainopt_kaiming_config relu = TRAINOPT_KAIMING_DEFAULTS, linear = TRAINOPT_KAIMING_DEFAULTS;
        relu.nonlinearity = TRAINOPT_NL_RELU;
        linear.nonlinearity = TRAINOPT_NL_LINEAR;
        CHECK(trainopt_kaiming_normal(&relu, seed, 0, (size_t)H1 * IN, IN, H1, m->p.w1));
        CHECK(trainopt_kaiming_normal(&relu, seed, N_DECAY, (size_t)H2 * H1, H1, H2, m->p.w2));
        CHECK(trainopt_kaiming_normal(&linear, seed, 2 * N_DECAY, (size_t)OUT * H2, H2, OUT, m->p.w3));
    }
    for (i = 0; i < H1; i++) m->p.g1[i] = 1.0f; /* batch norm starts as the identity */
    for (i = 0; i < H2; i++) m->p.g2[i] = 1.0f;
    m->run_mean1 = alloc_floats(H1, 0.0f);
    m->run_var1 = alloc_floats(H1, 1.0f);
    m->run_mean2 = alloc_floats(H2, 0.0f);
    m->run_var2 = alloc_floats(H2, 1.0f);
    m->z1 = alloc_floats(batch * H1, 0.0f);
    m->a1 = alloc_floats(batch * H1, 0.0f);
    m->d1 = alloc_floats(batch * H1, 0.0f);
    m->mean1 = alloc_floats(H1, 0.0f);
    m->invstd1 = alloc_floats(H1, 0.0f);
    m->z2 = alloc_floats(batch * H2, 0.0f);
    m->a2 = alloc_floats(batch * H2, 0.0f);
    m->d2 = alloc_floats(batch * H2, 0.0f);
    m->mean2 = alloc_floats(H2, 0.0f);
    m->invstd2 = alloc_floats(H2, 0.0f);
    m->logits = alloc_floats(batch * OUT, 0.0f);
    m->mask1 = (uint8_t *)malloc(batch * H1 / 8 + 1);
    m->mask2 = (uint8_t *)malloc(batch * H2 / 8 + 1);
    m->dlogits = alloc_floats(batch * OUT, 0.0f);
    m->dd2 = alloc_floats(batch * H2, 0.0f);
    m->da2 = alloc_floats(batch * H2, 0.0f);
    m->dz2 = alloc_floats(batch * H2, 0.0f);
    m->dd1 = alloc_floats(batch * H1, 0.0f);
    m->da1 = alloc_floats(batch * H1, 0.0f);
    m->dz1 = alloc_floats(batch * H1, 0.0f);
    if (!m->mask1 || !m->mask2) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
}

/* y[n][out] = x[n][in] * w[out][in]^T (+ bias), as torch.nn.functional.linear. */
static void linear_forward(size_t n, int in, int out, const float *x, const float *w, const float *bias, float *y) {
    size_t i;
    if (bias)
        for (i = 0; i < n; i++) memcpy(y + i * out, bias, (size_t)out * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, out, in, 1.0f, x, in, w, in, bias ? 1.0f : 0.0f, y,
                out);
}

/* dw[out][in] = dy^T x;  dx[n][in] = dy w (skipped when dx is NULL: nothing needs the
   gradient of the input images). */
static void linear_backward(size_t n, int in, int out, const float *x, const float *w, const float *dy, float *dw,
                            float *dx) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, (int)n, 1.0f, dy, out, x, in, 0.0f, dw, in);
    if (dx) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
}

/* What a forward-backward pass takes besides the model and the rows. */
typedef struct {
    double dropout, label_smoothing;
    double bn_momentum;       /* of the running statistics (0.1, as torch.nn.BatchNorm1d) */
    uint64_t drop_seed[2];    /* each dropout layer's generator key ... */
    uint64_t drop_offset[2];  /* ... and where in its counter stream this minibatch's mask starts */
} pass_config;

/* One training step's forward and backward pass over a minibatch of n rows;
   leaves the gradients of every parameter in m->grad and returns the mean loss. */
static float forward_backward(model *m, const pass_config *pc, size_t n, const float *x, const int32_t *y) {
    trainopt_bn_config bn = TRAINOPT_BN_DEFAULTS; /* eps 1e-5, momentum 0.1, as torch.nn.BatchNorm1d */
    trainopt_bn_shape s1, s2;
    const uint64_t *seed = pc->drop_seed, *off = pc->drop_offset;
    float loss;
    size_t i, j;
    bn.fuse_relu = 1; /* y = relu(batchnorm(x)): one pass instead of two */
    bn.momentum = pc->bn_momentum;
    s1.n = n, s1.c = H1, s1.spatial = 1, s1.layout = TRAINOPT_NCHW;
    s2 = s1, s2.c = H2;

    /* forward: Linear -> BatchNorm+ReLU -> Dropout, twice, then the output Linear */
    linear_forward(n, IN, H1, x, m->p.w1, NULL, m->z1);
    CHECK(trainopt_batchnorm_forward_train(&bn, s1, m->z1, m->p.g1, m->p.be1, m->run_mean1, m->run_var1, m->a1,
                                           m->mean1, m->invstd1));
    CHECK(trainopt_dropout_forward(pc->dropout, seed[0], off[0], n * H1, m->a1, m->d1, m->mask1));
    linear_forward(n, H1, H2, m->d1, m->p.w2, NULL, m->z2);
    CHECK(trainopt_batchnorm_forward_train(&bn, s2, m->z2, m->p.g2, m->p.be2, m->run_mean2, m->run_var2, m->a2,
                                           m->mean2, m->invstd2));
    CHECK(trainopt_dropout_forward(pc->dropout, seed[1], off[1], n * H2, m->a2, m->d2, m->mask2));
    linear_forward(n, H2, OUT, m->d2, m->p.w3, m->p.b3, m->logits);

    /* loss, and its gradient with respect to the logits (already divided by n) */
    CHECK(trainopt_softmax_cross_entropy(n, OUT, m->logits, y, -100, pc->label_smoothing, &loss, m->dlogits));

    /* backward, in reverse order */
    linear_backward(n, H2, OUT, m->d2, m->p.w3, m->dlogits, m->g.w3, m->dd2);
    for (j = 0; j < OUT; j++) m->g.b3[j] = 0.0f;
    for (i = 0; i < n; i++)
        for (j = 0; j < OUT; j++) m->g.b3[j] += m->dlogits[i * OUT + j];
    CHECK(trainopt_dropout_backward(pc->dropout, seed[1], off[1], n * H2, m->dd2, m->da2, m->mask2));
    CHECK(trainopt_batchnorm_backward(&bn, s2, m->z2, m->da2, m->p.g2, m->mean2, m->invstd2, m->a2, m->dz2, m->g.g2,
                                      m->g.be2));
    linear_backward(n, H1, H2, m->d1, m->p.w2, m->dz2, m->g.w2, m->dd1);
    CHECK(trainopt_dropout_backward(pc->dropout, seed[0], off[0], n * H1, m->dd1, m->da1, m->mask1));
    CHECK(trainopt_batchnorm_backward(&bn, s1, m->z1, m->da1, m->p.g1, m->mean1, m->invstd1, m->a1, m->dz1, m->g.g1,
                                      m->g.be1));
    linear_backward(n, IN, H1, x, m->p.w1, m->dz1, m->g.w1, NULL);
    return loss;
}

/* Test accuracy and mean cross-entropy (no smoothing), in chunks of the batch size,
   with batch norm on its running statistics and no dropout. */
static double evaluate(model *m, const dataset *d, size_t batch, double *loss_out) {
    trainopt_bn_config bn = TRAINOPT_BN_DEFAULTS;
    trainopt_bn_shape s;
    size_t start, i, j, correct = 0;
    double loss_sum = 0.0;
    bn.fuse_relu = 1;
    for (start = 0; start < d->n; start += batch) {
        size_t n = d->n - start < batch ? d->n - start : batch;
        const float *x = d->x + start * IN;
        float loss;
        s.n = n, s.c = H1, s.spatial = 1, s.layout = TRAINOPT_NCHW;
        linear_forward(n, IN, H1, x, m->p.w1, NULL, m->z1);
        CHECK(trainopt_batchnorm_forward_infer(&bn, s, m->z1, m->p.g1, m->p.be1, m->run_mean1, m->run_var1, m->a1));
        s.c = H2;
        linear_forward(n, H1, H2, m->a1, m->p.w2, NULL, m->z2);
        CHECK(trainopt_batchnorm_forward_infer(&bn, s, m->z2, m->p.g2, m->p.be2, m->run_mean2, m->run_var2, m->a2));
        linear_forward(n, H2, OUT, m->a2, m->p.w3, m->p.b3, m->logits);
        CHECK(trainopt_softmax_cross_entropy(n, OUT, m->logits, d->y + start, -100, 0.0, &loss, NULL));
        loss_sum += (double)loss * (double)n;
        for (i = 0; i < n; i++) {
            const float *z = m->logits + i * OUT;
            size_t best = 0;
            for (j = 1; j < OUT; j++)
                if (z[j] > z[best]) best = j;
            correct += (int32_t)best == d->y[start + i];
        }
    }
    *loss_out = loss_sum / (double)d->n;
    return (double)correct / (double)d->n;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#endif
