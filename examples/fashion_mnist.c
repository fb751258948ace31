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
 * Threads. The clipping and the AdamW step are one call each for the whole model
 * (trainopt_clip_grad_norm_mt, trainopt_adamw_step_multi; with --bf16,
 * trainopt_adamw_step_mp_multi) on a pthread pool of
 * --threads N threads (trainopt_pool, the library's own) plugged in through trainopt's threading
 * hook. trainopt cuts the work the same way whatever N is, so every N gives the same
 * bits: the last line prints a hash of the final parameters to show it.
 *
 * Reproducibility. The data order comes from a fixed-seed generator, dropout
 * masks and initial weights from trainopt's counter-based generator, and every
 * trainopt kernel gives the same bits on every backend (scalar, AVX2, AVX-512,
 * NEON); so with the same OpenBLAS (same CPU kernel, same thread count) the
 * same command prints the same accuracy every time. examples/fashion_mnist_torch.py
 * is the same model in PyTorch, for comparison (make demo-compare).
 */
#define _POSIX_C_SOURCE 200112L /* clock_gettime, pthreads */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The one file of this program that compiles trainopt's kernels (README.md, "Use"), with
   trainopt_pool, the library's pthread pool that runs the parallel-for (--threads). */
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_POOL
#include "trainopt.h"

/* The model, the dataset and one forward-backward pass, shared with ddp_fashion_mnist.c
   (OpenBLAS and zlib come in with it). */
#include "fashion_mnist_model.h"

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
    int adamw8bit;                   /* AdamW's states of w1 and w2 in 8 bits (src/quant8.h) */
    int threads;                     /* trainopt's threads for clipping and the optimizer step */
    int bf16;                        /* 0: fp32 parameters; else bf16 (src/mixed.h), rounded by bf16_mode */
    trainopt_param_mode bf16_mode;   /* TRAINOPT_PARAM_NEAREST or TRAINOPT_PARAM_STOCHASTIC */
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
           "  --min-acc X      exit with status 1 if the final test accuracy is below X\n"
           "  --adamw8bit      keep AdamW's states of the two large weights in 8 bits (bitsandbytes'\n"
           "                   blockwise quantization; the tensors under 4096 elements stay fp32)\n"
           "  --threads N      clip and step on a pool of N threads, 1 to %d (%d); the same bits at any N\n"
           "  --bf16 MODE      keep the parameters in bf16, rounded after each step by MODE: nearest or\n"
           "                   stochastic (the passes read their fp32 values)\n",
           o->epochs, o->batch, o->peak_lr, (unsigned long long)o->seed, o->data_dir, o->csv, TRAINOPT_POOL_MAX, o->threads);
}

static void parse_args(options *o, int argc, char **argv) {
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--small")) {
            o->n_train = 4096, o->n_test = 1000, o->epochs = 2;
            continue;
        }
        if (!strcmp(a, "--adamw8bit")) {
            o->adamw8bit = 1;
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
        else if (!strcmp(a, "--threads")) o->threads = atoi(v);
        else if (!strcmp(a, "--bf16") && (!strcmp(v, "nearest") || !strcmp(v, "stochastic"))) {
            o->bf16 = 1;
            o->bf16_mode = !strcmp(v, "nearest") ? TRAINOPT_PARAM_NEAREST : TRAINOPT_PARAM_STOCHASTIC;
        } else {
            fprintf(stderr, "unknown option: %s (try --help)\n", a);
            exit(2);
        }
    }
    if (o->epochs < 1 || o->batch < 2) {
        fprintf(stderr, "need --epochs >= 1 and --batch >= 2 (batch norm needs two rows)\n");
        exit(2);
    }
    if (o->threads < 1 || o->threads > TRAINOPT_POOL_MAX) {
        fprintf(stderr, "need --threads from 1 to %d\n", TRAINOPT_POOL_MAX);
        exit(2);
    }
    if (o->bf16 && o->adamw8bit) {
        fprintf(stderr, "--bf16 and --adamw8bit do not combine (the 8-bit steps take fp32 parameters)\n");
        exit(2);
    }
}


/* Tensor i of the model (w1, w2, w3, g1, be1, g2, be2, b3: the weight-decay group first)
   with its AdamW moments, for the multi-tensor step. */
static trainopt_tensor model_tensor(const model *m, size_t i) {
    static const size_t len[N_TENSORS] = {(size_t)H1 * IN, (size_t)H2 * H1, (size_t)OUT * H2, H1, H1, H2, H2, OUT};
    trainopt_tensor t;
    size_t at = 0, j;
    for (j = 0; j < i; j++) at += len[j];
    memset(&t, 0, sizeof t);
    t.param = m->param + at, t.grad = m->grad + at;
    t.state[0] = m->m + at, t.state[1] = m->v + at; /* exp_avg, exp_avg_sq */
    t.n = len[i];
    return t;
}

/* bf16 parameters (--bf16): the parameters live in bf16[]; each step updates them there with
   AdamW's multi-tensor _mp step (fp32 gradients and states, the update in fp32, then the
   rounding the option names) on the caller's threads, and widens them into m->param, the fp32
   values the next forward pass reads. Stochastic rounding draws fresh words every step:
   element i of step t takes the word (seed, t * N_PARAMS + i), the list's offset counting
   the tensors before each one, so the bits are the same at any --threads. */
static uint16_t bf16[N_PARAMS];
static void adamw_bf16(const trainopt_adam_config *c, const options *o, int64_t step, size_t first, size_t count, model *m,
                       const trainopt_threads *threads) {
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    trainopt_tensor_mp t[N_TENSORS];
    size_t i, from = 0, n = 0;
    for (i = 0; i < first; i++) from += model_tensor(m, i).n;
    for (i = 0; i < count; i++) {
        const trainopt_tensor f = model_tensor(m, first + i);
        memset(&t[i], 0, sizeof t[i]);
        t[i].param = bf16 + (f.param - m->param), t[i].grad = f.grad;
        t[i].state[0] = f.state[0], t[i].state[1] = f.state[1];
        t[i].n = f.n;
        n += f.n;
    }
    pr.param_dtype = TRAINOPT_BF16;
    pr.param_mode = o->bf16_mode;
    pr.seed = o->seed + 2, pr.offset = (uint64_t)step * N_PARAMS + from;
    CHECK(trainopt_adamw_step_mp_multi(c, step, count, t, &pr, NULL, threads));
    CHECK(trainopt_convert(n, bf16 + from, TRAINOPT_BF16, m->param + from, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0));
}

/* Clip the global gradient norm, then one AdamW step per weight-decay group: one call
   each for the whole list of tensors, on the caller's threads. */
#define N_8BIT ((size_t)H1 * IN + (size_t)H2 * H1) /* w1 and w2: their states in 8 bits with --adamw8bit */
static void optimizer_step(model *m, const options *o, int64_t step, double lr, const trainopt_threads *threads) {
    float *grads[N_TENSORS];
    size_t lens[N_TENSORS], i;
    trainopt_tensor t[N_TENSORS];
    float norm;
    trainopt_adam_config adamw = TRAINOPT_ADAMW_DEFAULTS; /* betas 0.9, 0.999, eps 1e-8 */
    const size_t first = o->adamw8bit ? 2 : 0; /* the fp32 tensors of the decay group: w3 only with --adamw8bit */
    for (i = 0; i < N_TENSORS; i++) {
        t[i] = model_tensor(m, i);
        grads[i] = (float *)t[i].grad, lens[i] = t[i].n;
    }
    CHECK(trainopt_clip_grad_norm_mt(N_TENSORS, grads, lens, o->clip_norm, &norm, threads));

    adamw.lr = lr;
    adamw.weight_decay = o->weight_decay;
    if (o->bf16) {
        adamw_bf16(&adamw, o, step, 0, 3, m, threads); /* w1, w2, w3 */
        adamw.weight_decay = 0.0;
        adamw_bf16(&adamw, o, step, 3, N_TENSORS - 3, m, threads);
        return;
    }
    if (o->adamw8bit) {
        /* w1 and w2 (multiples of the block, so no block straddles them) in 8 bits; w3 (2560
           elements) in fp32, as bitsandbytes keeps tensors under 4096 elements */
        static uint8_t q_m[N_8BIT], q_v[N_8BIT];
        static float q_ma[TRAINOPT_Q8_BLOCKS(N_8BIT, TRAINOPT_Q8_BLOCK)], q_va[TRAINOPT_Q8_BLOCKS(N_8BIT, TRAINOPT_Q8_BLOCK)];
        CHECK(trainopt_adamw8bit_step(&adamw, step, TRAINOPT_Q8_BLOCK, N_8BIT, m->param, m->grad, q_m, q_ma, q_v, q_va));
    }
    CHECK(trainopt_adamw_step_multi(&adamw, step, 3 - first, t + first, NULL, threads));
    adamw.weight_decay = 0.0;
    CHECK(trainopt_adamw_step_multi(&adamw, step, N_TENSORS - 3, t + 3, NULL, threads));
}

/* FNV-1a over the bits of every parameter: equal hashes, equal models. */
static uint64_t param_hash(const model *m) {
    const unsigned char *b = (const unsigned char *)m->param;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < N_PARAMS * sizeof(float); i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

int main(int argc, char **argv) {
    options o;
    dataset train, test;
    model m;
    pass_config pc;
    uint32_t *order;
    float *xb;
    int32_t *yb;
    uint64_t order_state, dropout_offset = 0;
    int64_t step = 0, steps_per_epoch, total_steps, warmup_steps;
    double train_seconds = 0.0, acc = 0.0, test_loss = 0.0, lr = 0.0;
    size_t i, total_seen = 0;
    int epoch;
    FILE *csv;
    trainopt_pool *workers = NULL;
    trainopt_threads threads = TRAINOPT_THREADS_NONE;

    /* Defaults: the configuration `make demo` runs. */
    o.epochs = 15;
    o.adamw8bit = 0;
    o.threads = 1;
    o.bf16 = 0, o.bf16_mode = TRAINOPT_PARAM_NEAREST;
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

    model_init(&m, o.batch, o.seed, N_PARAMS);
    if (o.bf16) { /* the initial parameters rounded to bf16, and the fp32 values the passes read */
        CHECK(trainopt_convert(N_PARAMS, m.param, TRAINOPT_F32, bf16, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0));
        CHECK(trainopt_convert(N_PARAMS, bf16, TRAINOPT_BF16, m.param, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0));
    }
    CHECK(trainopt_pool_create(o.threads, &workers));
    threads.parallel_for = trainopt_pool_parallel_for, threads.ctx = workers;
    order = (uint32_t *)malloc(train.n * sizeof *order);
    xb = alloc_floats(o.batch * IN, 0.0f);
    yb = (int32_t *)malloc(o.batch * sizeof *yb);
    if (!order || !yb) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* Dropout: one generator key for both layers, and a counter that runs on, so every
       dropout call gets fresh random words. */
    pc.dropout = o.dropout, pc.label_smoothing = o.label_smoothing, pc.bn_momentum = 0.1;
    pc.drop_seed[0] = pc.drop_seed[1] = o.seed + 1;
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
    if (o.bf16)
        printf("parameters in bf16, rounded %s after each step; gradients and AdamW's states fp32\n",
               o.bf16_mode == TRAINOPT_PARAM_NEAREST ? "to nearest" : "stochastically");

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
            pc.drop_offset[0] = dropout_offset; /* layer 1 takes n*H1 words, then layer 2 n*H2 */
            pc.drop_offset[1] = dropout_offset + n * H1;
            dropout_offset += n * (H1 + H2);
            loss = forward_backward(&m, &pc, n, xb, yb);
            step++; /* optimizer steps are 1-based */
            optimizer_step(&m, &o, step, lr, &threads);
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
    trainopt_pool_destroy(workers);
    printf("final test accuracy %.4f  |  %.1f s training, %.0f images/s  |  curve: %s\n", acc, train_seconds,
           (double)total_seen / train_seconds, o.csv);
    printf("final parameters: FNV-1a %016llx (trainopt on %d thread%s)\n", (unsigned long long)param_hash(&m),
           o.threads, o.threads > 1 ? "s" : "");
    if (acc < o.min_acc) {
        fprintf(stderr, "test accuracy %.4f is below --min-acc %.4f\n", acc, o.min_acc);
        return 1;
    }
    return 0;
}
