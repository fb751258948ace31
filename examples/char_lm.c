/* char_lm.c - a character-level language model in C with trainopt, in the style of
 * Bengio et al. 2003 ("A Neural Probabilistic Language Model", JMLR 3): the previous
 * few characters of a word, each looked up in an embedding table, predict the next.
 *
 *   make demo-lm                     build and run it (installs what it needs as root)
 *   build/examples/char_lm --help
 *
 * The model, for a context of K characters (K = 5, '.' marks a word's start and end):
 *
 *   K characters -> Embedding(27, E) each, concatenated -> Linear(K*E, H) -> LayerNorm(H)
 *   (or RMSNorm(H), --rmsnorm) -> tanh -> Dropout -> Linear(H, 27) -> 27 logits
 *
 * The data is the English word list Debian ships (wamerican, /usr/share/dict/words): the
 * words of lowercase letters only, each split into K+1-character windows ("...em" -> 'm'),
 * one word in ten held out for validation (chosen by a hash of the word, so the split is
 * the same on every machine and in the PyTorch twin). It prints the validation loss (mean
 * cross-entropy in nats per character) before training and after every epoch, then samples
 * new words from a fixed seed, and fails (exit status 1) unless the validation loss fell.
 *
 * Who does what. OpenBLAS's cblas_sgemm does the products of the two dense layers (forward,
 * weight gradients, input gradients). trainopt does the rest: the initialization (nn.Embedding's
 * N(0, 1), nn.Linear's kaiming_uniform with a = sqrt(5)), layer norm or RMS norm forward and
 * backward, dropout (its counter-based generator), the softmax cross-entropy and its gradient,
 * gradient-norm clipping, the AdamW step and the warmup-cosine schedule. The embedding lookup,
 * its scatter-add backward, tanh and the biases are plain loops.
 *
 * Reproducibility: the data order comes from splitmix64 + Fisher-Yates, the random numbers
 * from trainopt's generator, and trainopt gives the same bits on every backend; with the same
 * OpenBLAS (CPU kernel and thread count) the same command prints the same numbers.
 * examples/char_lm_torch.py is the same model in PyTorch (make demo-lm-compare).
 */
#define _POSIX_C_SOURCE 200112L /* clock_gettime */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

/* The one file of this program, so it compiles trainopt's kernels itself (README.md, "Use"):
   as private static copies, so the compiler generates only the kernels it calls (measured on
   the loaded 2-core machine: 17 s to build instead of 77 s with TRAINOPT_IMPLEMENTATION). */
#ifndef TRAINOPT_STATIC
#define TRAINOPT_STATIC
#endif
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

enum { V = 27, MAX_CONTEXT = 16, MAX_WORD = 64 }; /* '.' is 0, 'a'..'z' are 1..26 */

/* ---- options ---------------------------------------------------------------------- */

typedef struct {
    int epochs, context, embed, hidden, rmsnorm, samples;
    size_t batch;
    double peak_lr, end_lr, weight_decay, warmup_frac, dropout, clip_norm;
    uint64_t seed;
    const char *words;
} options;

static void usage(const options *o) {
    printf("usage: char_lm [options]\n"
           "  --epochs N     training epochs (%d)\n"
           "  --context N    characters of context, 1 to %d (%d)\n"
           "  --embed N      embedding size per character (%d)\n"
           "  --hidden N     hidden units (%d)\n"
           "  --batch N      minibatch size (%zu)\n"
           "  --lr X         peak learning rate (%g)\n"
           "  --dropout P    dropout probability after tanh (%g)\n"
           "  --rmsnorm      RMSNorm instead of LayerNorm\n"
           "  --samples N    words sampled at the end (%d)\n"
           "  --seed N       seed for data order, initialization, dropout and sampling (%llu)\n"
           "  --words PATH   the word list (%s)\n"
           "  --small        quick check: --epochs 1 --hidden 64\n",
           o->epochs, MAX_CONTEXT, o->context, o->embed, o->hidden, o->batch, o->peak_lr, o->dropout, o->samples,
           (unsigned long long)o->seed, o->words);
}

static void parse_args(options *o, int argc, char **argv) {
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--small")) {
            o->epochs = 1, o->hidden = 64;
            continue;
        }
        if (!strcmp(a, "--rmsnorm")) {
            o->rmsnorm = 1;
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
        else if (!strcmp(a, "--context")) o->context = atoi(v);
        else if (!strcmp(a, "--embed")) o->embed = atoi(v);
        else if (!strcmp(a, "--hidden")) o->hidden = atoi(v);
        else if (!strcmp(a, "--batch")) o->batch = (size_t)atol(v);
        else if (!strcmp(a, "--lr")) o->peak_lr = atof(v);
        else if (!strcmp(a, "--dropout")) o->dropout = atof(v);
        else if (!strcmp(a, "--samples")) o->samples = atoi(v);
        else if (!strcmp(a, "--seed")) o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--words")) o->words = v;
        else {
            fprintf(stderr, "unknown option: %s (try --help)\n", a);
            exit(2);
        }
    }
    if (o->epochs < 1 || o->context < 1 || o->context > MAX_CONTEXT || o->embed < 1 || o->hidden < 1 ||
        o->batch < 1 || o->samples < 0) {
        fprintf(stderr, "need --epochs, --embed, --hidden, --batch >= 1, --context 1 to %d, --samples >= 0\n",
                MAX_CONTEXT);
        exit(2);
    }
}

/* ---- data: the word list, its split, the context windows ------------------------------ */

/* FNV-1a, 32 bits: a word goes to validation when its hash is 0 mod 10. */
static uint32_t fnv1a(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

typedef struct {
    size_t n;           /* windows */
    uint8_t *ctx;       /* [n][context] character codes */
    int32_t *next;      /* [n] the character that follows */
} windows;

typedef struct {
    size_t n;
    char **w;           /* the words, in file order (the list is sorted, for the lookup) */
} word_list;

/* The words of 1 to MAX_WORD lowercase ASCII letters, one per line (the rest: proper
   nouns, possessives, accented words, are skipped). */
static word_list read_words(const char *path) {
    word_list l = {0, NULL};
    size_t cap = 0;
    char line[256];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s (Debian: apt-get install wamerican)\n", path);
        exit(1);
    }
    while (fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\n"), i;
        line[len] = 0;
        for (i = 0; i < len && line[i] >= 'a' && line[i] <= 'z'; i++) {}
        if (len == 0 || i < len || len > MAX_WORD) continue;
        if (l.n == cap) {
            cap = cap ? 2 * cap : 1024;
            if ((l.w = (char **)realloc(l.w, cap * sizeof *l.w)) == NULL) exit(1);
        }
        if ((l.w[l.n] = (char *)malloc(len + 1)) == NULL) exit(1);
        memcpy(l.w[l.n++], line, len + 1);
    }
    fclose(f);
    return l;
}

/* The windows of the words in one half of the split: for "emma" and K = 3,
   "..." -> e, "..e" -> m, ".em" -> m, "emm" -> a, "mma" -> '.'. */
static windows make_windows(const word_list *l, int k, int validation) {
    windows d = {0, NULL, NULL};
    size_t i, cap = 0;
    for (i = 0; i < l->n; i++)
        if ((fnv1a(l->w[i]) % 10 == 0) == validation) cap += strlen(l->w[i]) + 1;
    d.ctx = (uint8_t *)malloc(cap * (size_t)k);
    d.next = (int32_t *)malloc(cap * sizeof *d.next);
    if (!d.ctx || !d.next) exit(1);
    for (i = 0; i < l->n; i++) {
        const char *w = l->w[i];
        uint8_t c[MAX_CONTEXT] = {0};
        size_t len = strlen(w), j;
        if ((fnv1a(w) % 10 == 0) != validation) continue;
        for (j = 0; j <= len; j++) {
            int next = j < len ? w[j] - 'a' + 1 : 0;
            memcpy(d.ctx + d.n * (size_t)k, c, (size_t)k);
            d.next[d.n++] = next;
            memmove(c, c + 1, (size_t)k - 1);
            c[k - 1] = (uint8_t)next;
        }
    }
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

/* ---- the model -------------------------------------------------------------------------- */

/* All parameters in one array: the two dense weights first (they get weight decay), then the
   embedding table, the biases and the norm's weight and bias (which do not: nn.Embedding's
   table is usually left undecayed too). Gradients and AdamW's moments share the layout, so the
   step is two calls, one per weight-decay group. */
typedef struct {
    int k, e, h, in;            /* context, embedding size, hidden units, K*E */
    size_t n_decay, n_params;
    float *param, *grad, *m, *v;
    float *w1, *w2, *emb, *b1, *nw, *nb, *b2;            /* views into param */
    float *gw1, *gw2, *gemb, *gb1, *gnw, *gnb, *gb2;     /* views into grad */
    /* activations of one minibatch */
    float *x, *z, *y, *t, *d, *logits, *mean, *rstd;
    uint8_t *mask;
    float *dlogits, *dd, *dz, *dx;
} model;

static float *alloc_floats(size_t n) {
    float *p = (float *)calloc(n ? n : 1, sizeof(float));
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static void model_init(model *m, const options *o, size_t batch) {
    const size_t k = (size_t)o->context, e = (size_t)o->embed, h = (size_t)o->hidden, in = k * e;
    trainopt_kaiming_config linear = TRAINOPT_KAIMING_DEFAULTS;
    size_t at = 0, i;
    m->k = o->context, m->e = o->embed, m->h = o->hidden, m->in = (int)in;
    m->n_decay = h * in + V * h;
    m->n_params = m->n_decay + V * e + h + 2 * h + V;
    m->param = alloc_floats(m->n_params), m->grad = alloc_floats(m->n_params);
    m->m = alloc_floats(m->n_params), m->v = alloc_floats(m->n_params); /* AdamW's moments start at zero */
#define CARVE(p, g, len) (m->p = m->param + at, m->g = m->grad + at, at += (len))
    CARVE(w1, gw1, h * in), CARVE(w2, gw2, V * h), CARVE(emb, gemb, V * e);
    CARVE(b1, gb1, h), CARVE(nw, gnw, h), CARVE(nb, gnb, h), CARVE(b2, gb2, V);
#undef CARVE
    /* PyTorch's defaults: nn.Embedding N(0, 1); nn.Linear's weight kaiming_uniform(a = sqrt(5)),
       that is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and its bias the same bound. Each tensor takes
       its own stretch of the generator's counter (the offset). */
    linear.a = sqrt(5.0);
    CHECK(trainopt_rand_normal(o->seed, 0, V * e, 0.0, 1.0, m->emb));
    CHECK(trainopt_kaiming_uniform(&linear, o->seed, m->n_params, h * in, in, h, m->w1));
    CHECK(trainopt_rand_uniform(o->seed, 2 * m->n_params, h, -1.0 / sqrt((double)in), 1.0 / sqrt((double)in), m->b1));
    CHECK(trainopt_kaiming_uniform(&linear, o->seed, 3 * m->n_params, V * h, h, V, m->w2));
    CHECK(trainopt_rand_uniform(o->seed, 4 * m->n_params, V, -1.0 / sqrt((double)h), 1.0 / sqrt((double)h), m->b2));
    for (i = 0; i < h; i++) m->nw[i] = 1.0f, m->nb[i] = 0.0f; /* the norm starts as the identity */
    m->x = alloc_floats(batch * in), m->dx = alloc_floats(batch * in);
    m->z = alloc_floats(batch * h), m->y = alloc_floats(batch * h), m->t = alloc_floats(batch * h);
    m->d = alloc_floats(batch * h), m->dd = alloc_floats(batch * h), m->dz = alloc_floats(batch * h);
    m->logits = alloc_floats(batch * V), m->dlogits = alloc_floats(batch * V);
    m->mean = alloc_floats(batch), m->rstd = alloc_floats(batch);
    if ((m->mask = (uint8_t *)malloc(batch * h / 8 + 1)) == NULL) exit(1);
}

/* y[n][out] = x[n][in] w[out][in]^T + bias, as torch.nn.functional.linear. */
static void linear_forward(size_t n, int in, int out, const float *x, const float *w, const float *bias, float *y) {
    size_t i;
    for (i = 0; i < n; i++) memcpy(y + i * out, bias, (size_t)out * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
}

/* dw[out][in] = dy^T x, db[out] = the column sums of dy, dx[n][in] = dy w. */
static void linear_backward(size_t n, int in, int out, const float *x, const float *w, const float *dy, float *dw,
                            float *db, float *dx) {
    size_t i, j;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, (int)n, 1.0f, dy, out, x, in, 0.0f, dw, in);
    for (j = 0; j < (size_t)out; j++) db[j] = 0.0f;
    for (i = 0; i < n; i++)
        for (j = 0; j < (size_t)out; j++) db[j] += dy[i * out + j];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
}

/* The forward pass up to the logits for n windows; train: dropout with this minibatch's
   stretch of the generator (seed, offset), else none. */
static void forward(model *m, const options *o, size_t n, const uint8_t *ctx, int train, uint64_t drop_offset) {
    trainopt_norm_config nc = TRAINOPT_NORM_DEFAULTS; /* eps 1e-5, as nn.LayerNorm */
    const size_t h = (size_t)m->h, e = (size_t)m->e;
    size_t i, j;
    for (i = 0; i < n * (size_t)m->k; i++) memcpy(m->x + i * e, m->emb + ctx[i] * e, e * sizeof(float));
    linear_forward(n, m->in, m->h, m->x, m->w1, m->b1, m->z);
    if (o->rmsnorm)
        CHECK(trainopt_rmsnorm_forward(&nc, n, h, m->z, m->nw, m->y, m->rstd));
    else
        CHECK(trainopt_layernorm_forward(&nc, n, h, m->z, m->nw, m->nb, m->y, m->mean, m->rstd));
    for (j = 0; j < n * h; j++) m->t[j] = tanhf(m->y[j]);
    if (train)
        CHECK(trainopt_dropout_forward(o->dropout, o->seed + 1, drop_offset, n * h, m->t, m->d, m->mask));
    else
        memcpy(m->d, m->t, n * h * sizeof(float));
    linear_forward(n, m->h, V, m->d, m->w2, m->b2, m->logits);
}

/* One training pass over a minibatch: leaves every gradient in m->grad, returns the mean loss. */
static float forward_backward(model *m, const options *o, size_t n, const uint8_t *ctx, const int32_t *next,
                              uint64_t drop_offset) {
    trainopt_norm_config nc = TRAINOPT_NORM_DEFAULTS;
    const size_t h = (size_t)m->h, e = (size_t)m->e;
    float loss;
    size_t i, j;
    forward(m, o, n, ctx, 1, drop_offset);
    CHECK(trainopt_softmax_cross_entropy(n, V, m->logits, next, -100, 0.0, &loss, m->dlogits)); /* grad / n */

    linear_backward(n, m->h, V, m->d, m->w2, m->dlogits, m->gw2, m->gb2, m->dd);
    CHECK(trainopt_dropout_backward(o->dropout, o->seed + 1, drop_offset, n * h, m->dd, m->dz, m->mask));
    for (j = 0; j < n * h; j++) m->dz[j] *= 1.0f - m->t[j] * m->t[j]; /* tanh' = 1 - tanh^2 */
    if (o->rmsnorm)
        CHECK(trainopt_rmsnorm_backward(&nc, n, h, m->z, m->dz, m->nw, m->rstd, m->dd, m->gnw));
    else
        CHECK(trainopt_layernorm_backward(&nc, n, h, m->z, m->dz, m->nw, m->mean, m->rstd, m->dd, m->gnw, m->gnb));
    linear_backward(n, m->in, m->h, m->x, m->w1, m->dd, m->gw1, m->gb1, m->dx);
    /* the embedding's gradient: each window's slice of dx added into its character's row */
    memset(m->gemb, 0, (size_t)V * e * sizeof(float));
    for (i = 0; i < n * (size_t)m->k; i++)
        for (j = 0; j < e; j++) m->gemb[ctx[i] * e + j] += m->dx[i * e + j];
    return loss;
}

/* Mean cross-entropy (nats per character) over a set of windows, in minibatches, no dropout. */
static double evaluate(model *m, const options *o, const windows *d, size_t batch) {
    double sum = 0.0;
    size_t start;
    for (start = 0; start < d->n; start += batch) {
        size_t n = d->n - start < batch ? d->n - start : batch;
        float loss;
        forward(m, o, n, d->ctx + start * (size_t)m->k, 0, 0);
        CHECK(trainopt_softmax_cross_entropy(n, V, m->logits, d->next + start, -100, 0.0, &loss, NULL));
        sum += (double)loss * (double)n;
    }
    return sum / (double)d->n;
}

/* Clip the global gradient norm, then one AdamW step per weight-decay group. */
static void optimizer_step(model *m, const options *o, int64_t step, double lr) {
    trainopt_adam_config adamw = TRAINOPT_ADAMW_DEFAULTS; /* betas 0.9, 0.999, eps 1e-8 */
    float *grads[1];
    size_t lens[1];
    float norm;
    grads[0] = m->grad, lens[0] = m->n_params;
    CHECK(trainopt_clip_grad_norm(1, grads, lens, o->clip_norm, &norm));
    adamw.lr = lr;
    adamw.weight_decay = o->weight_decay;
    CHECK(trainopt_adamw_step(&adamw, step, m->n_decay, m->param, m->grad, m->m, m->v, NULL));
    adamw.weight_decay = 0.0;
    CHECK(trainopt_adamw_step(&adamw, step, m->n_params - m->n_decay, m->param + m->n_decay, m->grad + m->n_decay,
                              m->m + m->n_decay, m->v + m->n_decay, NULL));
}

/* ---- sampling ---------------------------------------------------------------------------- */

static int compare_words(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Draws one word: start from an all-'.' context, draw each next character from the softmax
   of the logits with one uniform number of trainopt's generator (seed, *offset), stop at '.'. */
static void sample_word(model *m, const options *o, uint64_t seed, uint64_t *offset, char *out) {
    uint8_t c[MAX_CONTEXT] = {0};
    size_t len = 0;
    while (len < MAX_WORD) {
        double p[V], total = 0.0, acc = 0.0, zmax;
        float u;
        int j, next = V - 1;
        forward(m, o, 1, c, 0, 0);
        zmax = m->logits[0];
        for (j = 1; j < V; j++) zmax = m->logits[j] > zmax ? m->logits[j] : zmax;
        for (j = 0; j < V; j++) total += p[j] = exp((double)m->logits[j] - zmax);
        CHECK(trainopt_rand_uniform(seed, (*offset)++, 1, 0.0, 1.0, &u));
        for (j = 0; j < V; j++)
            if ((acc += p[j] / total) > (double)u) {
                next = j;
                break;
            }
        if (next == 0) break;
        out[len++] = (char)('a' + next - 1);
        memmove(c, c + 1, (size_t)m->k - 1);
        c[m->k - 1] = (uint8_t)next;
    }
    out[len] = 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    options o;
    word_list words, sorted;
    windows train, val;
    model m;
    uint32_t *order;
    uint8_t *cb;
    int32_t *nb;
    uint64_t order_state, drop_offset = 0, sample_offset = 0;
    int64_t step = 0, steps_per_epoch, total_steps, warmup_steps;
    double first_val, val_loss = 0.0, lr = 0.0, t_start = now();
    size_t i;
    int epoch;

    /* Defaults: the configuration `make demo-lm` runs. */
    o.epochs = 5, o.context = 5, o.embed = 16, o.hidden = 128, o.rmsnorm = 0, o.samples = 12;
    o.batch = 256;
    o.peak_lr = 3e-3, o.end_lr = 3e-5, o.weight_decay = 0.01, o.warmup_frac = 0.05;
    o.dropout = 0.1, o.clip_norm = 1.0;
    o.seed = 42;
    o.words = "/usr/share/dict/words";
    parse_args(&o, argc, argv);

    words = read_words(o.words);
    train = make_windows(&words, o.context, 0);
    val = make_windows(&words, o.context, 1);
    steps_per_epoch = (int64_t)((train.n + o.batch - 1) / o.batch);
    total_steps = steps_per_epoch * o.epochs;
    warmup_steps = (int64_t)(o.warmup_frac * (double)total_steps);
    model_init(&m, &o, o.batch);
    order = (uint32_t *)malloc(train.n * sizeof *order);
    cb = (uint8_t *)malloc(o.batch * (size_t)o.context);
    nb = (int32_t *)malloc(o.batch * sizeof *nb);
    if (!order || !cb || !nb) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (i = 0; i < train.n; i++) order[i] = (uint32_t)i;
    order_state = o.seed;

    printf("trainopt %d.%d.%d, backend %s", TRAINOPT_VERSION_MAJOR, TRAINOPT_VERSION_MINOR, TRAINOPT_VERSION_PATCH,
           trainopt_backend());
#ifdef OPENBLAS_VERSION
    printf(";%s(%s, %d threads)", OPENBLAS_VERSION, openblas_get_corename(), openblas_get_num_threads());
#endif
    printf("\n%zu words from %s: %zu train / %zu validation windows of %d characters\n", words.n, o.words, train.n,
           val.n, o.context);
    printf("Embedding(%d, %d) x %d -> Linear(%d, %d) -> %s -> tanh -> Dropout(%g) -> Linear(%d, %d): %zu parameters\n",
           V, o.embed, o.context, m.in, o.hidden, o.rmsnorm ? "RMSNorm" : "LayerNorm", o.dropout, o.hidden, V,
           m.n_params - (o.rmsnorm ? (size_t)o.hidden : 0)); /* RMSNorm has no bias: its slot stays 0 */
    printf("AdamW peak lr %g (warmup %lld of %lld steps, cosine to %g), weight decay %g, clip norm %g, batch %zu\n",
           o.peak_lr, (long long)warmup_steps, (long long)total_steps, o.end_lr, o.weight_decay, o.clip_norm, o.batch);
    first_val = evaluate(&m, &o, &val, o.batch);
    printf("epoch  0/%d  validation loss %.4f\n", o.epochs, first_val);
    fflush(stdout);

    for (epoch = 1; epoch <= o.epochs; epoch++) {
        double t0 = now(), loss_sum = 0.0;
        int64_t s;
        shuffle(order, train.n, &order_state);
        for (s = 0; s < steps_per_epoch; s++) {
            size_t start = (size_t)s * o.batch, n = train.n - start < o.batch ? train.n - start : o.batch;
            float loss;
            for (i = 0; i < n; i++) { /* gather the minibatch in shuffled order */
                memcpy(cb + i * (size_t)o.context, train.ctx + (size_t)order[start + i] * (size_t)o.context,
                       (size_t)o.context);
                nb[i] = train.next[order[start + i]];
            }
            lr = trainopt_lr_warmup_cosine(o.peak_lr, step, warmup_steps, total_steps, 0.0, o.end_lr);
            if (lr != lr) { /* schedules return NaN for arguments out of range */
                fprintf(stderr, "warmup-cosine schedule: invalid arguments\n");
                return 1;
            }
            loss = forward_backward(&m, &o, n, cb, nb, drop_offset);
            drop_offset += n * (size_t)o.hidden; /* every minibatch gets fresh dropout words */
            step++; /* optimizer steps are 1-based */
            optimizer_step(&m, &o, step, lr);
            loss_sum += (double)loss * (double)n;
        }
        val_loss = evaluate(&m, &o, &val, o.batch);
        printf("epoch %2d/%d  lr %.2e  train loss %.4f  validation loss %.4f  %5.2f s\n", epoch, o.epochs, lr,
               loss_sum / (double)train.n, val_loss, now() - t0);
        fflush(stdout);
    }

    /* New words: which of them the word list has (either half of the split) is marked. */
    sorted = words;
    if ((sorted.w = (char **)malloc(words.n * sizeof *sorted.w)) == NULL) return 1;
    memcpy(sorted.w, words.w, words.n * sizeof *sorted.w);
    qsort(sorted.w, sorted.n, sizeof *sorted.w, compare_words);
    printf("samples (seed %llu):", (unsigned long long)o.seed);
    for (i = 0; i < (size_t)o.samples; i++) {
        char w[MAX_WORD + 1], *key = w;
        sample_word(&m, &o, o.seed + 2, &sample_offset, w);
        printf(" %s%s", w, bsearch(&key, sorted.w, sorted.n, sizeof *sorted.w, compare_words) ? "*" : "");
    }
    printf("\n(* in the word list)\nfinal validation loss %.4f  (%.4f before training)  |  %.1f s\n", val_loss,
           first_val, now() - t_start);
    if (!(val_loss < first_val - 0.5)) {
        fprintf(stderr, "char_lm: the validation loss went from %.4f to %.4f: it did not fall by 0.5\n", first_val,
                val_loss);
        return 1;
    }
    return 0;
}
