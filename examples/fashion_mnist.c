/* fashion_mnist.c - train an MLP classifier on Fashion-MNIST in C with trainopt.
 *
 *   make demo                        build and run it (installs what it needs as root)
 *   build/examples/fashion_mnist --help
 *
 * The model is the classic batch-normalized MLP:
 *
 *   784 -> [Linear -> BatchNorm -> ReLU -> Dropout] x 2 (512, 256 units) -> Linear -> 10 logits
 *
 * trained with AdamW on a warmup-cosine learning rate, label-smoothed
 * cross-entropy and gradient-norm clipping, from Kaiming-initialized weights.
 * The hidden Linear layers have no bias: the batch norm right after them
 * subtracts the mean, so a bias there would be learned and then cancelled.
 *
 * Who does what. OpenBLAS's cblas_sgemm does the matrix products of the
 * dense layers (the forward pass, the weight gradients and the input
 * gradients). trainopt does everything else: batch norm forward and backward
 * (with the ReLU fused in), dropout, the loss and its gradient, clipping, the
 * optimizer step and the schedule. Every trainopt call returns a status that a
 * real program checks: CHECK() below prints it and stops.
 *
 * Reproducibility. The data order comes from a fixed-seed generator, dropout
 * masks and initial weights from trainopt's counter-based generator, and every
 * trainopt kernel gives the same bits on every backend (scalar, AVX2, AVX-512,
 * NEON); so with the same OpenBLAS (same CPU kernel, same thread count) the
 * same command prints the same accuracy every time. examples/fashion_mnist_torch.py
 * is the same model in PyTorch, for comparison (make demo-compare).
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <zlib.h>

/* The one file of this program that compiles trainopt's kernels (README.md, "Use"). */
#define TRAINOPT_IMPLEMENTATION
#include "trainopt.h"

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

/* ---- options ---------------------------------------------------------------------- */

typedef struct {
    int epochs;
    size_t batch, n_train, n_test;   /* n_train/n_test 0: the whole set */
    double peak_lr, end_lr, weight_decay;
    double warmup_epochs;            /* linear warmup, then cosine decay to end_lr */
    double dropout, label_smoothing, clip_norm;
    uint64_t seed;
    const char *data_dir, *csv;
    double min_acc;                  /* exit status 1 when the final accuracy is lower */
} options;

static void usage(const options *o) {
    printf("usage: fashion_mnist [options]\n"
           "  --epochs N       training epochs (%d)\n"
           "  --batch N        minibatch size (%zu)\n"
           "  --train N        use the first N training images (all)\n"
           "  --test N         use the first N test images (all)\n"
           "  --small          quick check: --train 4096 --test 1000 --epochs 2\n"
           "  --lr X           peak learning rate (%g)\n"
           "  --seed N         seed for data order, initialization and dropout (%llu)\n"
           "  --data DIR       the four idx .gz files (%s)\n"
           "  --csv PATH       write the learning curve here (%s)\n"
           "  --min-acc X      exit with status 1 if the final test accuracy is below X\n",
           o->epochs, o->batch, o->peak_lr, (unsigned long long)o->seed, o->data_dir, o->csv);
}

static void parse_args(options *o, int argc, char **argv) {
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--small")) {
            o->n_train = 4096, o->n_test = 1000, o->epochs = 2;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(o);
            exit(0);
        }
        if (v == NULL) {
            fprintf(stderr, "unknown option or missing value: %s (try --help)\n", a);
            exit(2);
        }
        i++;
        if (!strcmp(a, "--epochs")) o->epochs = atoi(v);
        else if (!strcmp(a, "--batch")) o->batch = (size_t)atol(v);
        else if (!strcmp(a, "--train")) o->n_train = (size_t)atol(v);
        else if (!strcmp(a, "--test")) o->n_test = (size_t)atol(v);
        else if (!strcmp(a, "--lr")) o->peak_lr = atof(v);
        else if (!strcmp(a, "--seed")) o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--data")) o->data_dir = v;
        else if (!strcmp(a, "--csv")) o->csv = v;
        else if (!strcmp(a, "--min-acc")) o->min_acc = atof(v);
        else {
            fprintf(stderr, "unknown option: %s (try --help)\n", a);
            exit(2);
        }
    }
    if (o->epochs < 1 || o->batch < 2) {
        fprintf(stderr, "need --epochs >= 1 and --batch >= 2 (batch norm needs two rows)\n");
        exit(2);
    }
}

/* ---- data: the idx files, gzip-compressed --------------------------------------------- */

typedef struct {
    size_t n;
    float *x;      /* [n][784], normalized */
    int32_t *y;    /* [n], 0..9 */
} dataset;

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads an idx file (magic 0x801 labels or 0x803 images); returns its bytes, count in *n. */
static unsigned char *read_idx(const char *dir, const char *name, uint32_t magic, size_t item_bytes, size_t *n) {
    char path[1024];
    unsigned char head[16], *data;
    size_t head_bytes = magic == 0x803 ? 16 : 8;
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
    if ((data = (unsigned char *)malloc(*n * item_bytes)) == NULL ||
        gzread(f, data, (unsigned)(*n * item_bytes)) != (int)(*n * item_bytes)) {
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
    unsigned char *px = read_idx(dir, images, 0x803, IN, &n_img);
    unsigned char *lb = read_idx(dir, labels, 0x801, 1, &n_lab);
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
    float *param, *grad, *m, *v;   /* N_PARAMS each */
    tensors p, g;                  /* views into param and grad */
    float *run_mean1, *run_var1, *run_mean2, *run_var2;
    /* activations of one minibatch, [batch][units] */
    float *z1, *a1, *d1, *mean1, *invstd1, *z2, *a2, *d2, *mean2, *invstd2, *logits;
    uint8_t *mask1, *mask2;
    /* gradients of the activations */
    float *dlogits, *dd2, *da2, *dz2, *dd1, *da1, *dz1;
    uint64_t dropout_offset;       /* random words used so far: each dropout call gets fresh ones */
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

static void model_init(model *m, size_t batch, uint64_t seed) {
    size_t i;
    m->param = alloc_floats(N_PARAMS, 0.0f);
    m->grad = alloc_floats(N_PARAMS, 0.0f);
    m->m = alloc_floats(N_PARAMS, 0.0f); /* AdamW's moments start at zero */
    m->v = alloc_floats(N_PARAMS, 0.0f);
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
    m->dropout_offset = 0;
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

/* One training step's forward and backward pass over a minibatch of n rows;
   leaves the gradients of every parameter in m->grad and returns the mean loss. */
static float forward_backward(model *m, const options *o, size_t n, const float *x, const int32_t *y) {
    trainopt_bn_config bn = TRAINOPT_BN_DEFAULTS; /* eps 1e-5, momentum 0.1, as torch.nn.BatchNorm1d */
    trainopt_bn_shape s1, s2;
    uint64_t drop_seed = o->seed + 1, off1, off2;
    float loss;
    size_t i, j;
    bn.fuse_relu = 1; /* y = relu(batchnorm(x)): one pass instead of two */
    s1.n = n, s1.c = H1, s1.spatial = 1, s1.layout = TRAINOPT_NCHW;
    s2 = s1, s2.c = H2;
    off1 = m->dropout_offset;
    off2 = off1 + n * H1;
    m->dropout_offset = off2 + n * H2;

    /* forward: Linear -> BatchNorm+ReLU -> Dropout, twice, then the output Linear */
    linear_forward(n, IN, H1, x, m->p.w1, NULL, m->z1);
    CHECK(trainopt_batchnorm_forward_train(&bn, s1, m->z1, m->p.g1, m->p.be1, m->run_mean1, m->run_var1, m->a1,
                                           m->mean1, m->invstd1));
    CHECK(trainopt_dropout_forward(o->dropout, drop_seed, off1, n * H1, m->a1, m->d1, m->mask1));
    linear_forward(n, H1, H2, m->d1, m->p.w2, NULL, m->z2);
    CHECK(trainopt_batchnorm_forward_train(&bn, s2, m->z2, m->p.g2, m->p.be2, m->run_mean2, m->run_var2, m->a2,
                                           m->mean2, m->invstd2));
    CHECK(trainopt_dropout_forward(o->dropout, drop_seed, off2, n * H2, m->a2, m->d2, m->mask2));
    linear_forward(n, H2, OUT, m->d2, m->p.w3, m->p.b3, m->logits);

    /* loss, and its gradient with respect to the logits (already divided by n) */
    CHECK(trainopt_softmax_cross_entropy(n, OUT, m->logits, y, -100, o->label_smoothing, &loss, m->dlogits));

    /* backward, in reverse order */
    linear_backward(n, H2, OUT, m->d2, m->p.w3, m->dlogits, m->g.w3, m->dd2);
    for (j = 0; j < OUT; j++) m->g.b3[j] = 0.0f;
    for (i = 0; i < n; i++)
        for (j = 0; j < OUT; j++) m->g.b3[j] += m->dlogits[i * OUT + j];
    CHECK(trainopt_dropout_backward(o->dropout, drop_seed, off2, n * H2, m->dd2, m->da2, m->mask2));
    CHECK(trainopt_batchnorm_backward(&bn, s2, m->z2, m->da2, m->p.g2, m->mean2, m->invstd2, m->a2, m->dz2, m->g.g2,
                                      m->g.be2));
    linear_backward(n, H1, H2, m->d1, m->p.w2, m->dz2, m->g.w2, m->dd1);
    CHECK(trainopt_dropout_backward(o->dropout, drop_seed, off1, n * H1, m->dd1, m->da1, m->mask1));
    CHECK(trainopt_batchnorm_backward(&bn, s1, m->z1, m->da1, m->p.g1, m->mean1, m->invstd1, m->a1, m->dz1, m->g.g1,
                                      m->g.be1));
    linear_backward(n, IN, H1, x, m->p.w1, m->dz1, m->g.w1, NULL);
    return loss;
}

/* Clip the global gradient norm, then one AdamW step per weight-decay group. */
static void optimizer_step(model *m, const options *o, int64_t step, double lr) {
    float *grads[N_TENSORS];
    size_t lens[N_TENSORS];
    float norm;
    trainopt_adam_config adamw = TRAINOPT_ADAMW_DEFAULTS; /* betas 0.9, 0.999, eps 1e-8 */
    tensors *g = &m->g;
    grads[0] = g->w1, lens[0] = (size_t)H1 * IN;
    grads[1] = g->w2, lens[1] = (size_t)H2 * H1;
    grads[2] = g->w3, lens[2] = (size_t)OUT * H2;
    grads[3] = g->g1, lens[3] = H1;
    grads[4] = g->be1, lens[4] = H1;
    grads[5] = g->g2, lens[5] = H2;
    grads[6] = g->be2, lens[6] = H2;
    grads[7] = g->b3, lens[7] = OUT;
    CHECK(trainopt_clip_grad_norm(N_TENSORS, grads, lens, o->clip_norm, &norm));

    adamw.lr = lr;
    adamw.weight_decay = o->weight_decay;
    CHECK(trainopt_adamw_step(&adamw, step, N_DECAY, m->param, m->grad, m->m, m->v, NULL));
    adamw.weight_decay = 0.0;
    CHECK(trainopt_adamw_step(&adamw, step, N_PARAMS - N_DECAY, m->param + N_DECAY, m->grad + N_DECAY,
                              m->m + N_DECAY, m->v + N_DECAY, NULL));
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

int main(int argc, char **argv) {
    options o;
    dataset train, test;
    model m;
    uint32_t *order;
    float *xb;
    int32_t *yb;
    uint64_t order_state;
    int64_t step = 0, steps_per_epoch, total_steps, warmup_steps;
    double train_seconds = 0.0, acc = 0.0, test_loss = 0.0, lr = 0.0;
    size_t i, total_seen = 0;
    int epoch;
    FILE *csv;

    /* Defaults: the configuration `make demo` runs. */
    o.epochs = 15;
    o.batch = 128;
    o.n_train = 0, o.n_test = 0;
    o.peak_lr = 2e-3, o.end_lr = 1e-5, o.weight_decay = 0.05, o.warmup_epochs = 1.0;
    o.dropout = 0.2, o.label_smoothing = 0.1, o.clip_norm = 1.0;
    o.seed = 42;
    o.data_dir = "/usr/share/datasets/fashion-mnist";
    o.csv = "fashion_mnist_curve.csv";
    o.min_acc = 0.0;
    parse_args(&o, argc, argv);

    train = load(o.data_dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", o.n_train);
    test = load(o.data_dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", o.n_test);
    /* A final minibatch of one row would give batch norm a zero variance: drop it (PyTorch raises). */
    steps_per_epoch = (int64_t)((train.n + o.batch - 1) / o.batch);
    if (train.n % o.batch == 1) steps_per_epoch--;
    total_steps = steps_per_epoch * o.epochs;
    /* Warm up for warmup_epochs, but never for more than a tenth of the run (the
       schedule needs some steps left to decay over). */
    warmup_steps = (int64_t)(o.warmup_epochs * (double)steps_per_epoch);
    if (warmup_steps > total_steps / 10) warmup_steps = total_steps / 10;

    model_init(&m, o.batch, o.seed);
    order = (uint32_t *)malloc(train.n * sizeof *order);
    xb = alloc_floats(o.batch * IN, 0.0f);
    yb = (int32_t *)malloc(o.batch * sizeof *yb);
    if (!order || !yb) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (i = 0; i < train.n; i++) order[i] = (uint32_t)i;
    order_state = o.seed;
    if ((csv = fopen(o.csv, "w")) == NULL) {
        fprintf(stderr, "cannot write %s\n", o.csv);
        return 1;
    }
    fprintf(csv, "epoch,lr,train_loss,test_loss,test_acc,seconds,train_seconds,images_per_s,train_cpu_seconds\n");

    printf("trainopt %d.%d.%d, backend %s", TRAINOPT_VERSION_MAJOR, TRAINOPT_VERSION_MINOR, TRAINOPT_VERSION_PATCH,
           trainopt_backend());
#ifdef OPENBLAS_VERSION
    printf(";%s(%s, %d threads)", OPENBLAS_VERSION, openblas_get_corename(), openblas_get_num_threads());
#endif
    printf("\nMLP %d-%d-%d-%d, %zu parameters; %zu train / %zu test images; batch %zu, %d epochs\n", IN, H1, H2, OUT,
           (size_t)N_PARAMS, train.n, test.n, o.batch, o.epochs);
    printf("AdamW peak lr %g (warmup %lld steps, cosine to %g), weight decay %g; dropout %g, label smoothing %g, "
           "clip norm %g\n", o.peak_lr, (long long)warmup_steps, o.end_lr, o.weight_decay, o.dropout, o.label_smoothing,
           o.clip_norm);

    for (epoch = 1; epoch <= o.epochs; epoch++) {
        double t0 = now(), loss_sum = 0.0, t_train, seconds, cpu_train;
        clock_t c0 = clock(); /* CPU time as well: wall time depends on what else the machine runs */
        int64_t k;
        size_t seen = 0;
        shuffle(order, train.n, &order_state);
        for (k = 0; k < steps_per_epoch; k++) {
            size_t start = (size_t)k * o.batch, n = train.n - start < o.batch ? train.n - start : o.batch;
            float loss;
            for (i = 0; i < n; i++) { /* gather the minibatch in shuffled order */
                memcpy(xb + i * IN, train.x + (size_t)order[start + i] * IN, IN * sizeof(float));
                yb[i] = train.y[order[start + i]];
            }
            /* the learning rate for this step: optax.warmup_cosine_decay_schedule */
            lr = trainopt_lr_warmup_cosine(o.peak_lr, step, warmup_steps, total_steps, 0.0, o.end_lr);
            if (lr != lr) { /* schedules return NaN for arguments out of range */
                fprintf(stderr, "warmup-cosine schedule: invalid arguments (steps %lld, warmup %lld)\n",
                        (long long)total_steps, (long long)warmup_steps);
                return 1;
            }
            loss = forward_backward(&m, &o, n, xb, yb);
            step++; /* optimizer steps are 1-based */
            optimizer_step(&m, &o, step, lr);
            loss_sum += (double)loss * (double)n;
            seen += n;
        }
        t_train = now() - t0;
        cpu_train = (double)(clock() - c0) / CLOCKS_PER_SEC;
        train_seconds += t_train;
        acc = evaluate(&m, &test, o.batch, &test_loss); /* the activation buffers hold one batch */
        seconds = now() - t0;
        printf("epoch %2d/%d  lr %.2e  train loss %.4f  test loss %.4f  test acc %.4f  %5.2f s\n", epoch, o.epochs, lr,
               loss_sum / (double)seen, test_loss, acc, seconds);
        fflush(stdout);
        fprintf(csv, "%d,%.6e,%.6f,%.6f,%.4f,%.3f,%.3f,%.0f,%.3f\n", epoch, lr, loss_sum / (double)seen, test_loss,
                acc, seconds, t_train, (double)seen / t_train, cpu_train);
        total_seen += seen;
    }
    fclose(csv);
    printf("final test accuracy %.4f  |  %.1f s training, %.0f images/s  |  curve: %s\n", acc, train_seconds,
           (double)total_seen / train_seconds, o.csv);
    if (acc < o.min_acc) {
        fprintf(stderr, "test accuracy %.4f is below --min-acc %.4f\n", acc, o.min_acc);
        return 1;
    }
    return 0;
}
