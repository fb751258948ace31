/* compare_optimizers.c - every optimizer trainopt has, on the same two problems, into one CSV.
 *
 *   make plot-optimizers             run it and draw build/optimizers.png (gnuplot)
 *   build/examples/compare_optimizers [--small] [--epochs N] [--train N] [--test N]
 *                                     [--only NAME] [--lr X] [--problem P] [--csv PATH] [--data DIR]
 *
 * Two problems, each started from the same initial weights for every optimizer:
 *
 *   linear_regression  y = x.w + b, 8 features on scales from 3 down to 0.3, 1024 samples,
 *                      mean squared error, minibatches of 32 (the data of linear_regression.c);
 *                      the loss is the full-data loss every 10 updates, 320 updates (10 epochs).
 *   fashion_mnist      the flagship's MLP (fashion_mnist_model.h: 784-512-256-10 with batch
 *                      norm, dropout 0.2), cross-entropy without label smoothing, minibatches of
 *                      128, 3 epochs on the 60,000 training images; the loss is the mean training
 *                      loss of every 20 minibatches, and each epoch ends with the test loss and
 *                      test accuracy on the 10,000 test images.
 *
 * Every optimizer keeps its recommended defaults (its TRAINOPT_<NAME>_DEFAULTS: PyTorch's, or
 * optax's / the paper's where the manual in trainopt.h says so, weight decay included, on every
 * tensor) except the learning rate, and runs at a constant rate: no schedule, no clipping, so
 * what differs is the optimizer alone. SGD gets momentum 0.9 (PyTorch's default is none).
 *
 *   optimizer   default lr   linear_regression lr   fashion_mnist lr
 *   sgd         1e-3         9e-3                   3e-2
 *   adagrad     1e-2         0.27                   1e-2     (the default)
 *   rmsprop     1e-2         1e-2    (the default)  1.11e-3
 *   adam        1e-3         2.7e-2                 3e-3
 *   adamw       1e-3         2.7e-2                 3e-3
 *   nadam       2e-3         5.4e-2                 2e-3     (the default)
 *   radam       1e-3         0.729                  2.7e-2
 *   adamax      2e-3         5.4e-2                 6e-3
 *   adadelta    1.0          3                      1.0      (the default)
 *   lion        none         2.7e-2                 9e-4
 *   lamb        none         2.7e-2                 3e-3
 *   lars        none         6.56                   3
 *   adafactor   1e-2         9e-2                   1e-2     (the default)
 *   sfadamw     2.5e-3       6.75e-2                7.5e-3
 *
 * Every rate was tuned, lightly, in the same way: from a starting rate r0, the rates r0*3^k,
 * one run each, keeping the one with the lowest final loss (the odd-looking figures are points
 * of that grid). r0 is the default; where there is none, 1e-3 on linear_regression, and on
 * fashion_mnist 1e-4 for Lion (its authors' usual 3-10x below AdamW's), 3e-3 for LAMB, 1 for
 * LARS (its trust ratio, coefficient 1e-3, shrinks steps about a thousandfold); SGD's default
 * 1e-3 is far too small for both, so r0 = 1e-2 for it on fashion_mnist.
 *   linear_regression: k = -2..6 (LARS k = 4..13), judged by the full-data loss after the
 *     same 320 updates this program runs and prints: tuned on what it reports.
 *   fashion_mnist: k = -2..2, widened by two where the best was at an edge (RMSprop, RAdam,
 *     Lion), judged by the mean training loss of the last 18 minibatches of one epoch on the
 *     first 10,000 training images (never the test set).
 * One seed and no repeats: neighbours on the grid were often within a few percent of each
 * other, so read each rate as "within a factor of 3 of the best".
 *
 * What to look for (measured: make plot-optimizers, build/optimizers.png). On the linear model
 * Adagrad and NAdam come within 20% of the noise floor (about 0.0105) in 80 and 90 updates,
 * SGD with momentum in 130, Adam, AdamW and schedule-free AdamW in 160 to 200, most others by
 * 300; Lion, LAMB and Adadelta end above it. RAdam and LARS, at the large rates their best
 * final loss asks for, first blow up by orders of magnitude and then recover: RAdam's first
 * five steps are unrectified momentum steps at the full rate, and LARS's trust ratio is 1
 * while the weights are still zero. On the MLP all 14 end close together after 3 epochs (test
 * accuracy 0.863 to 0.891): schedule-free AdamW has the lowest losses and the best accuracy,
 * LARS and RAdam the worst. The model and data, not the optimizer, set most of the result.
 *
 * Schedule-free AdamW is evaluated at its averaged point x (trainopt_sfadamw_to_eval), as its
 * authors prescribe; the batch-norm running statistics it is evaluated with were gathered at
 * the training point y (the authors recompute them at x; this example does not).
 *
 * The program checks its result as a real program does: every optimizer's final loss must be
 * finite and below its first (on fashion_mnist: the final test loss below the initial one).
 * It prints no timings, so two builds' outputs can be compared (make examples-check does).
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime, in fashion_mnist_model.h */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one file of this program that compiles trainopt's kernels (README.md, "Use"). */
#define TRAINOPT_IMPLEMENTATION
#include "trainopt.h"

/* The Fashion-MNIST model, the dataset reader, CHECK() and the shuffle (OpenBLAS and zlib
   come in with it). */
#include "fashion_mnist_model.h"

/* ---- the optimizers ------------------------------------------------------------------- */

enum { SGD, ADAGRAD, RMSPROP, ADAM, ADAMW, NADAM, RADAM, ADAMAX, ADADELTA, LION, LAMB, LARS, ADAFACTOR, SFADAMW, N_OPT };

static const struct {
    const char *name;
    double lr_linear, lr_fashion; /* the table above */
} optimizers[N_OPT] = {
    {"sgd", 9e-3, 3e-2},       {"adagrad", 0.27, 1e-2},   {"rmsprop", 1e-2, 1.11e-3}, {"adam", 2.7e-2, 3e-3},
    {"adamw", 2.7e-2, 3e-3},   {"nadam", 5.4e-2, 2e-3},   {"radam", 0.729, 2.7e-2},   {"adamax", 5.4e-2, 6e-3},
    {"adadelta", 3.0, 1.0},    {"lion", 2.7e-2, 9e-4},    {"lamb", 2.7e-2, 3e-3},     {"lars", 6.56, 3.0},
    {"adafactor", 9e-2, 1e-2}, {"sfadamw", 6.75e-2, 7.5e-3},
};

/* A model's parameters as a list of tensors, stored one after another in param (and their
   gradients in grad): what LAMB and LARS take one trust ratio per, and what Adafactor factors
   (rows > 1: a matrix [rows][cols], as PyTorch factors 2-D tensors; rows 1: a vector). */
#define MAX_TENSORS 8
typedef struct {
    size_t k, n;
    size_t rows[MAX_TENSORS], cols[MAX_TENSORS];
    float *param, *grad;
} tensor_list;

/* One optimizer's run: which one, its learning rate, its state arrays and scalar state. */
typedef struct {
    int id;
    double lr;
    float *s1, *s2;                /* n floats each: the optimizer's state arrays (see start) */
    double mu_product;             /* NAdam's running product of mu, advanced once per step */
    trainopt_sfadamw_state sf;     /* schedule-free AdamW's step, weights and this step's lr */
} optimizer;

/* Zeroed state, except where an optimizer starts from something else. */
static void optimizer_start(optimizer *o, const tensor_list *t) {
    memset(o->s1, 0, t->n * sizeof(float));
    memset(o->s2, 0, t->n * sizeof(float));
    o->mu_product = 1.0; /* P_0 */
    if (o->id == ADAGRAD) {
        trainopt_adagrad_config c = TRAINOPT_ADAGRAD_DEFAULTS;
        c.lr = o->lr;
        CHECK(trainopt_adagrad_init(&c, t->n, o->s1));
    }
    if (o->id == SFADAMW) { /* z starts as a copy of the parameters */
        trainopt_sfadamw_state init = TRAINOPT_SFADAMW_STATE_INIT;
        o->sf = init;
        memcpy(o->s1, t->param, t->n * sizeof(float));
    }
}

/* One update of every tensor from t->grad; step is 1-based. */
static void optimizer_step(optimizer *o, const tensor_list *t, int64_t step) {
    float *p = t->param, *s1 = o->s1, *s2 = o->s2;
    const float *g = t->grad;
    size_t n = t->n, i, off;
    switch (o->id) {
    case SGD: {
        trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
        c.lr = o->lr, c.momentum = 0.9;
        CHECK(trainopt_sgd_step(&c, step, n, p, g, s1));
        break;
    }
    case ADAGRAD: {
        trainopt_adagrad_config c = TRAINOPT_ADAGRAD_DEFAULTS;
        c.lr = o->lr;
        CHECK(trainopt_adagrad_step(&c, step, n, p, g, s1));
        break;
    }
    case RMSPROP: {
        trainopt_rmsprop_config c = TRAINOPT_RMSPROP_DEFAULTS;
        c.lr = o->lr;
        CHECK(trainopt_rmsprop_step(&c, step, n, p, g, s1, NULL, NULL)); /* no momentum, not centered */
        break;
    }
    case ADAM: case ADAMW: {
        trainopt_adam_config adam = TRAINOPT_ADAM_DEFAULTS, adamw = TRAINOPT_ADAMW_DEFAULTS;
        if (o->id == ADAM) {
            adam.lr = o->lr;
            CHECK(trainopt_adam_step(&adam, step, n, p, g, s1, s2, NULL));
        } else {
            adamw.lr = o->lr;
            CHECK(trainopt_adamw_step(&adamw, step, n, p, g, s1, s2, NULL));
        }
        break;
    }
    case NADAM: {
        trainopt_nadam_config c = TRAINOPT_NADAM_DEFAULTS;
        c.lr = o->lr;
        o->mu_product = trainopt_nadam_mu_product(&c, step, o->mu_product); /* once per step */
        CHECK(trainopt_nadam_step(&c, step, o->mu_product, n, p, g, s1, s2));
        break;
    }
    case RADAM: {
        trainopt_radam_config c = TRAINOPT_RADAM_DEFAULTS;
        c.lr = o->lr;
        CHECK(trainopt_radam_step(&c, step, n, p, g, s1, s2));
        break;
    }
    case ADAMAX: {
        trainopt_adamax_config c = TRAINOPT_ADAMAX_DEFAULTS;
        c.lr = o->lr;
        CHECK(trainopt_adamax_step(&c, step, n, p, g, s1, s2));
        break;
    }
    case ADADELTA: {
        trainopt_adadelta_config c = TRAINOPT_ADADELTA_DEFAULTS;
        c.lr = o->lr;
        CHECK(trainopt_adadelta_step(&c, step, n, p, g, s1, s2));
        break;
    }
    case LION: {
        trainopt_lion_config c = TRAINOPT_LION_DEFAULTS;
        c.lr = o->lr;
        CHECK(trainopt_lion_step(&c, step, n, p, g, s1));
        break;
    }
    case LAMB: case LARS: { /* one call over the list: a trust ratio per tensor */
        float *ps[MAX_TENSORS], *m[MAX_TENSORS], *v[MAX_TENSORS];
        const float *gs[MAX_TENSORS];
        size_t lens[MAX_TENSORS];
        for (i = 0, off = 0; i < t->k; off += lens[i], i++) {
            lens[i] = t->rows[i] * t->cols[i];
            ps[i] = p + off, gs[i] = g + off, m[i] = s1 + off, v[i] = s2 + off;
        }
        if (o->id == LAMB) {
            trainopt_lamb_config c = TRAINOPT_LAMB_DEFAULTS;
            c.lr = o->lr;
            CHECK(trainopt_lamb_step(&c, step, t->k, lens, ps, gs, m, v));
        } else {
            trainopt_lars_config c = TRAINOPT_LARS_DEFAULTS;
            c.lr = o->lr;
            CHECK(trainopt_lars_step(&c, t->k, lens, ps, gs, m));
        }
        break;
    }
    case ADAFACTOR: { /* a matrix keeps rows + cols floats of state (at the front of its s1 slice) */
        trainopt_adafactor_config c = TRAINOPT_ADAFACTOR_DEFAULTS;
        c.lr = o->lr;
        for (i = 0, off = 0; i < t->k; off += t->rows[i] * t->cols[i], i++) {
            size_t r = t->rows[i], cols = t->cols[i];
            if (r > 1)
                CHECK(trainopt_adafactor_step(&c, step, r, cols, p + off, g + off, s1 + off, s1 + off + r, NULL));
            else
                CHECK(trainopt_adafactor_step(&c, step, 1, cols, p + off, g + off, NULL, NULL, s1 + off));
        }
        break;
    }
    default: { /* schedule-free AdamW: y is the parameters, z is s1, exp_avg_sq is s2 */
        trainopt_sfadamw_config c = TRAINOPT_SFADAMW_DEFAULTS;
        c.lr = o->lr;
        CHECK(trainopt_sfadamw_advance(&c, &o->sf)); /* once per step, before the tensors */
        CHECK(trainopt_sfadamw_step(&c, &o->sf, n, p, g, o->s1, s2));
        break;
    }
    }
}

/* Schedule-free AdamW is evaluated at x, not at the training point y: before an evaluation
   the parameters become x (y saved in the gradient buffer, free between steps), and after it
   y comes back bit for bit. The others evaluate their parameters as they are. */
static void eval_begin(const optimizer *o, const tensor_list *t) {
    trainopt_sfadamw_config c = TRAINOPT_SFADAMW_DEFAULTS;
    if (o->id != SFADAMW) return;
    c.lr = o->lr;
    memcpy(t->grad, t->param, t->n * sizeof(float));
    CHECK(trainopt_sfadamw_to_eval(&c, t->n, t->grad, o->s1, t->param));
}

static void eval_end(const optimizer *o, const tensor_list *t) {
    if (o->id == SFADAMW) memcpy(t->param, t->grad, t->n * sizeof(float));
}

/* ---- problem 1: linear regression ----------------------------------------------------- */

enum { LR_N = 1024, LR_D = 8, LR_P = LR_D + 1, LR_BATCH = 32 };
static float LX[LR_N][LR_D], LY[LR_N];

/* The data of linear_regression.c: x_j ~ N(0, s_j^2), true weights uniform in [-2, 2],
   y = x.w + b + N(0, 0.1^2), all from trainopt's counter-based generator. */
static void linear_data(void) {
    static const float scale[LR_D] = {3.0f, 2.25f, 1.65f, 1.25f, 0.9f, 0.7f, 0.5f, 0.3f};
    float w_true[LR_P], noise[LR_N];
    int i, j;
    CHECK(trainopt_rand_normal(1, 0, (size_t)LR_N * LR_D, 0.0, 1.0, &LX[0][0]));
    for (i = 0; i < LR_N; i++)
        for (j = 0; j < LR_D; j++) LX[i][j] *= scale[j];
    CHECK(trainopt_rand_uniform(2, 0, LR_P, -2.0, 2.0, w_true));
    CHECK(trainopt_rand_normal(3, 0, LR_N, 0.0, 0.1, noise));
    for (i = 0; i < LR_N; i++) {
        float z = w_true[LR_D];
        for (j = 0; j < LR_D; j++) z += w_true[j] * LX[i][j];
        LY[i] = z + noise[i];
    }
}

/* The mean squared error over the rows idx[0..n), and its gradient in grad[LR_P] if non-NULL
   (dL/dw_j = sum_i dL/dpred_i x_ij, dL/db = sum_i dL/dpred_i). */
static float linear_loss(const float *param, const uint32_t *idx, size_t n, float *grad) {
    static float pred[LR_N], target[LR_N], dpred[LR_N];
    float loss;
    size_t i, j;
    for (i = 0; i < n; i++) {
        float z = param[LR_D];
        for (j = 0; j < LR_D; j++) z += param[j] * LX[idx[i]][j];
        pred[i] = z, target[i] = LY[idx[i]];
    }
    CHECK(trainopt_mse_loss(n, pred, target, &loss, grad ? dpred : NULL));
    if (grad) {
        memset(grad, 0, LR_P * sizeof(float));
        for (i = 0; i < n; i++) {
            for (j = 0; j < LR_D; j++) grad[j] += dpred[i] * LX[idx[i]][j];
            grad[LR_D] += dpred[i];
        }
    }
    return loss;
}

/* Trains from zero weights; writes a CSV row every `every` updates; returns 0 if the final
   loss is finite and below the first. */
static int run_linear(optimizer *o, int updates, int every, FILE *csv) {
    float param[LR_P] = {0}, grad[LR_P], first = 0.0f, loss = 0.0f;
    uint32_t all[LR_N], order[LR_N];
    uint64_t rng = 7; /* the same minibatch order for every optimizer */
    tensor_list t;
    int64_t step;
    size_t i;
    t.k = 2, t.n = LR_P, t.param = param, t.grad = grad;
    t.rows[0] = 1, t.cols[0] = LR_D; /* w, a vector of LR_D */
    t.rows[1] = 1, t.cols[1] = 1;    /* b */
    for (i = 0; i < LR_N; i++) all[i] = order[i] = (uint32_t)i;
    optimizer_start(o, &t);
    for (step = 0; step <= updates; step++) {
        size_t slot = (size_t)(step % (LR_N / LR_BATCH));
        if (step % every == 0) { /* the full-data loss, before this update */
            eval_begin(o, &t);
            loss = linear_loss(param, all, LR_N, NULL);
            eval_end(o, &t);
            if (step == 0) first = loss;
            fprintf(csv, "%s,linear_regression,%lld,%.4f,%.6e,\n", optimizers[o->id].name, (long long)step,
                    (double)step * LR_BATCH / LR_N, loss);
        }
        if (step == updates) break;
        if (slot == 0) shuffle(order, LR_N, &rng); /* a new epoch: a new order */
        linear_loss(param, order + slot * LR_BATCH, LR_BATCH, grad);
        optimizer_step(o, &t, step + 1);
    }
    printf("  %-10s lr %-7g linear_regression  loss %.5f -> %.6f\n", optimizers[o->id].name, o->lr, first, loss);
    return isfinite(loss) && loss < first ? 0 : 1;
}

/* ---- problem 2: the Fashion-MNIST MLP ------------------------------------------------- */

typedef struct {
    int epochs, log_every;
    size_t batch;
    dataset train, test;
    model m;
    float *initial;           /* the initial parameters, the same for every optimizer */
    tensor_list t;
    uint32_t *order;
    float *xb;
    int32_t *yb;
} fashion;

static void fashion_setup(fashion *f, const char *dir, size_t n_train, size_t n_test, uint64_t seed) {
    f->train = load(dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", n_train);
    f->test = load(dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", n_test);
    model_init(&f->m, f->batch, seed, N_PARAMS); /* its m and v serve as every optimizer's state */
    f->initial = alloc_floats(N_PARAMS, 0.0f);
    memcpy(f->initial, f->m.param, N_PARAMS * sizeof(float));
    f->order = (uint32_t *)malloc(f->train.n * sizeof *f->order);
    f->xb = alloc_floats(f->batch * IN, 0.0f);
    f->yb = (int32_t *)malloc(f->batch * sizeof *f->yb);
    if (!f->order || !f->yb) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    /* The tensors in the model's order (fashion_mnist_model.h, carve): three weight matrices,
       then the batch-norm scales and shifts and the output bias. */
    f->t.k = N_TENSORS, f->t.n = N_PARAMS, f->t.param = f->m.param, f->t.grad = f->m.grad;
    f->t.rows[0] = H1, f->t.cols[0] = IN;
    f->t.rows[1] = H2, f->t.cols[1] = H1;
    f->t.rows[2] = OUT, f->t.cols[2] = H2;
    f->t.rows[3] = f->t.rows[4] = 1, f->t.cols[3] = f->t.cols[4] = H1;
    f->t.rows[5] = f->t.rows[6] = 1, f->t.cols[5] = f->t.cols[6] = H2;
    f->t.rows[7] = 1, f->t.cols[7] = OUT;
}

/* Trains from the initial weights; writes a CSV row of the mean training loss every
   log_every minibatches, with the test accuracy on each epoch's last row; returns 0
   if every loss is finite and the final test loss is below the initial one. */
static int run_fashion(fashion *f, optimizer *o, FILE *csv) {
    model *m = &f->m;
    pass_config pc;
    uint64_t order_state = 42, dropout_offset = 0; /* the same data order and masks for all */
    int64_t step = 0, k, steps_per_epoch = (int64_t)(f->train.n / f->batch); /* whole batches only */
    double test_loss0, test_loss = 0.0, acc = 0.0, sum = 0.0, train_loss = 0.0;
    int epoch, count = 0, finite = 1;
    size_t i;
    memcpy(m->param, f->initial, N_PARAMS * sizeof(float));
    for (i = 0; i < H1; i++) m->run_mean1[i] = 0.0f, m->run_var1[i] = 1.0f;
    for (i = 0; i < H2; i++) m->run_mean2[i] = 0.0f, m->run_var2[i] = 1.0f;
    for (i = 0; i < f->train.n; i++) f->order[i] = (uint32_t)i;
    o->s1 = m->m, o->s2 = m->v;
    optimizer_start(o, &f->t);
    pc.dropout = 0.2, pc.label_smoothing = 0.0, pc.bn_momentum = 0.1;
    pc.drop_seed[0] = pc.drop_seed[1] = 43;
    eval_begin(o, &f->t);
    evaluate(m, &f->test, f->batch, &test_loss0);
    eval_end(o, &f->t);
    for (epoch = 1; epoch <= f->epochs; epoch++) {
        shuffle(f->order, f->train.n, &order_state);
        for (k = 0; k < steps_per_epoch; k++) {
            size_t start = (size_t)k * f->batch, n = f->batch;
            for (i = 0; i < n; i++) { /* gather the minibatch in shuffled order */
                memcpy(f->xb + i * IN, f->train.x + (size_t)f->order[start + i] * IN, IN * sizeof(float));
                f->yb[i] = f->train.y[f->order[start + i]];
            }
            pc.drop_offset[0] = dropout_offset, pc.drop_offset[1] = dropout_offset + n * H1;
            dropout_offset += n * (H1 + H2);
            sum += forward_backward(m, &pc, n, f->xb, f->yb);
            step++;
            optimizer_step(o, &f->t, step);
            if (++count == f->log_every || k == steps_per_epoch - 1) {
                train_loss = sum / count;
                finite &= isfinite(train_loss) != 0;
                fprintf(csv, "%s,fashion_mnist,%lld,%.4f,%.6e,", optimizers[o->id].name, (long long)step,
                        (double)step / (double)steps_per_epoch, train_loss);
                if (k == steps_per_epoch - 1) { /* the epoch's end: the test set */
                    eval_begin(o, &f->t);
                    acc = evaluate(m, &f->test, f->batch, &test_loss);
                    eval_end(o, &f->t);
                    fprintf(csv, "%.4f", acc);
                }
                fprintf(csv, "\n");
                sum = 0.0, count = 0;
            }
        }
    }
    printf("  %-10s lr %-7g fashion_mnist      train loss %.4f, test loss %.4f -> %.4f, test acc %.4f\n",
           optimizers[o->id].name, o->lr, train_loss, test_loss0, test_loss, acc);
    return finite && isfinite(test_loss) && test_loss < test_loss0 ? 0 : 1;
}

/* ---- main ----------------------------------------------------------------------------- */

static void usage(void) {
    printf("usage: compare_optimizers [options]\n"
           "  --small         quick check: Fashion-MNIST on 1536/500 images, 1 epoch (linear regression as is)\n"
           "  --epochs N      Fashion-MNIST epochs (3)\n"
           "  --train N       use the first N training images (all)\n"
           "  --test N        use the first N test images (all)\n"
           "  --only NAME     run one optimizer (sgd, adagrad, ..., sfadamw)\n"
           "  --lr X          with --only: this learning rate on both problems\n"
           "  --problem P     linear_regression or fashion_mnist only\n"
           "  --csv PATH      the CSV (compare_optimizers.csv)\n"
           "  --data DIR      the Fashion-MNIST files (/usr/share/datasets/fashion-mnist)\n");
}

int main(int argc, char **argv) {
    const char *csv_path = "compare_optimizers.csv", *dir = "/usr/share/datasets/fashion-mnist";
    const char *only = NULL, *problem = NULL;
    int updates = 320, every = 10, failed = 0, id, i;
    size_t n_train = 0, n_test = 0;
    double lr = 0.0;
    float s1[LR_P], s2[LR_P];
    fashion f;
    FILE *csv;
    (void)now; /* the shared model's clock: this program prints no timings, so builds compare */
    f.epochs = 3, f.log_every = 20, f.batch = 128;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--small")) {
            n_train = 1536, n_test = 500, f.epochs = 1, f.log_every = 3;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return 0;
        }
        if (v == NULL) {
            fprintf(stderr, "unknown option or missing value: %s (try --help)\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--epochs")) f.epochs = atoi(v);
        else if (!strcmp(a, "--train")) n_train = (size_t)atol(v);
        else if (!strcmp(a, "--test")) n_test = (size_t)atol(v);
        else if (!strcmp(a, "--only")) only = v;
        else if (!strcmp(a, "--lr")) lr = atof(v);
        else if (!strcmp(a, "--problem")) problem = v;
        else if (!strcmp(a, "--csv")) csv_path = v;
        else if (!strcmp(a, "--data")) dir = v;
        else {
            fprintf(stderr, "unknown option: %s (try --help)\n", a);
            return 2;
        }
    }
    if (f.epochs < 1 || (lr != 0.0 && only == NULL)) {
        fprintf(stderr, "need --epochs >= 1, and --only with --lr\n");
        return 2;
    }
    if ((csv = fopen(csv_path, "w")) == NULL) {
        fprintf(stderr, "cannot write %s\n", csv_path);
        return 1;
    }
    /* step: updates so far; epoch: step in epochs; loss: linear_regression's full-data loss, or
       fashion_mnist's mean training loss over the rows since the last; test_acc: epoch ends */
    fprintf(csv, "optimizer,problem,step,epoch,loss,test_acc\n");

    printf("trainopt %d.%d.%d: %d optimizers, constant learning rates, defaults otherwise\n",
           TRAINOPT_VERSION_MAJOR, TRAINOPT_VERSION_MINOR, TRAINOPT_VERSION_PATCH, N_OPT);
    linear_data();
    if (problem == NULL || !strcmp(problem, "fashion_mnist")) fashion_setup(&f, dir, n_train, n_test, 42);
    for (id = 0; id < N_OPT; id++) {
        optimizer o;
        if (only && strcmp(only, optimizers[id].name)) continue;
        o.id = id;
        if (problem == NULL || !strcmp(problem, "linear_regression")) {
            o.lr = lr != 0.0 ? lr : optimizers[id].lr_linear, o.s1 = s1, o.s2 = s2;
            failed |= run_linear(&o, updates, every, csv);
        }
        if (problem == NULL || !strcmp(problem, "fashion_mnist")) {
            o.lr = lr != 0.0 ? lr : optimizers[id].lr_fashion;
            failed |= run_fashion(&f, &o, csv);
        }
    }
    fclose(csv);
    if (failed) fprintf(stderr, "an optimizer's final loss is not finite or not below its first\n");
    return failed;
}
