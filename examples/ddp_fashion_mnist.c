/* ddp_fashion_mnist.c - the Fashion-MNIST MLP of fashion_mnist.c, trained data-parallel on
 * MPI, with the same bits whatever the number of processes.
 *
 *   make demo-ddp                    runs it at -np 1, 2 and 4 and checks the three agree
 *   mpirun -np 4 build/examples/ddp_fashion_mnist --help
 *
 * Data parallel. Every rank holds the whole model. A global minibatch of B examples is cut
 * into fixed micro-batches of M examples (B/M of them); rank r computes the gradients of
 * micro-batches r*L .. r*L+L-1 (L = B/M/K for K ranks), one forward-backward pass each.
 *
 * ZeRO stage 1. The optimizer state (AdamW's two moments) is split: rank r keeps the state
 * of its shard of the parameters only, 1/K of it. The gradients are reduce-scattered (each
 * rank receives the summed gradient of its shard), each rank clips with the global norm and
 * steps its shard with trainopt's fused step (trainopt_adamw_step_ex, the clip coefficient
 * folded into its grad_scale), and the updated shards are all-gathered.
 *
 * The same bits at any world size. Floating-point sums depend on their order, so the
 * gradient is summed in one canonical order that does not depend on K: the B/M micro-batch
 * gradients are combined by a fixed pairwise tree over micro-batch indices (stride 1, then
 * 2, 4, ...). A rank's L micro-batches are an aligned subtree of it (L a power of two), so it
 * sums them locally; the K subtree sums of each shard meet on the shard's rank (an
 * all-to-all, the reduce-scatter's traffic) and finish the same tree there. Everything
 * else that is summed goes the same way: the global gradient norm from per-chunk sums of
 * squares in chunk order, the loss from per-micro-batch losses in micro-batch order.
 * Dropout masks are keyed by (seed, global example index), so an example gets the same mask
 * on whichever rank it lands. Batch norm normalizes each micro-batch by its own statistics
 * (ghost batch norm: per micro-batch, not per rank, which would change with K; SyncBatchNorm
 * over the global batch would also keep the bits but costs two collectives per layer), and
 * the running statistics take every micro-batch's in micro-batch order. So -np 1, 2 and 4
 * print the same loss at every step and end with the same weights: --trace writes a run's
 * step losses and final hashes, --expect compares another run with them and says so.
 *
 * Checkpoints. --checkpoint P writes P at the end of every epoch (parameters, the whole
 * optimizer state, running statistics, step, data order and its generator's state, and the
 * configuration), so that a crash never leaves a torn file: a temporary file, fsync, rename.
 * --resume P continues from it at any -np, to the bits of the uninterrupted run (killed with
 * SIGKILL mid-epoch, a run loses the epoch's steps since the checkpoint, not its bits); a
 * truncated, corrupt or mismatched checkpoint is refused with the reason, before anything
 * is loaded. --crash-at-step N kills a rank with SIGKILL, to try it.
 *
 * --reduce halving finishes the same tree by recursive halving instead of the all-to-all:
 * log2(K) rounds of pairwise exchanges, each halving the data (K a power of two), the
 * reduce-scatter algorithm that scales to many ranks, here with its pairing fixed. --reduce
 * allreduce (or reduce-scatter) sums the gradients with MPI_Allreduce (or MPI_Reduce_scatter),
 * in whatever order Open MPI picks, to measure what the canonical order costs.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, fsync, fileno */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

/* The one file of this program that compiles trainopt's kernels (README.md, "Use"). */
#define TRAINOPT_IMPLEMENTATION
#include "trainopt.h"

/* The model, the dataset and one forward-backward pass, shared with fashion_mnist.c. */
#include "fashion_mnist_model.h"

/* The parameters are cut into chunks of this many; a shard is whole chunks, and the
   global gradient norm is summed chunk by chunk in chunk order. */
#define CHUNK 4096
#define N_CHUNKS ((N_PARAMS + CHUNK - 1) / CHUNK)
/* A micro-batch's batch-norm statistics: mean and unbiased variance of both layers. */
#define N_STATS (2 * H1 + 2 * H2)

enum reduce_kind { REDUCE_TREE, REDUCE_HALVING, REDUCE_ALLREDUCE, REDUCE_SCATTER };
static const char *const reduce_names[] = {"tree (all-to-all)", "tree (recursive halving)", "allreduce",
                                           "reduce-scatter"};

typedef struct {
    int epochs;
    size_t batch, micro, n_train, n_test;
    long max_steps;                   /* stop after this many steps (0: run every epoch) */
    double peak_lr, end_lr, weight_decay, warmup_epochs;
    double dropout, label_smoothing, clip_norm;
    uint64_t seed;
    enum reduce_kind reduce;
    int print_steps;
    const char *data_dir, *trace, *expect;
    const char *checkpoint, *resume;  /* written every epoch; read once at the start */
    long crash_at_step;               /* the last rank kills itself with SIGKILL after this step */
    int bench_reduce;                 /* > 0: time this many gradient reductions per method, then stop */
    double min_acc;
} options;

static int rank, world;

/* Only rank 0 talks; every rank stops on an error. */
static void die(const char *what) {
    fprintf(stderr, "rank %d: %s\n", rank, what);
    MPI_Abort(MPI_COMM_WORLD, 2);
}

/* Where a step's time goes, on this rank: each phase ends with lap(phase). */
enum { PH_COMPUTE, PH_REDUCE, PH_NORM, PH_STEP, PH_GATHER, PH_MPI, N_PHASES };
static const char *const phase_names[] = {"forward-backward", "gradient reduce", "stats + norm", "optimizer step",
                                          "parameter gather"};
static double phase_seconds[N_PHASES + 1], lap_start; /* [N_PHASES]: the training time */
static void lap(int phase) {
    double t = now();
    phase_seconds[phase] += t - lap_start;
    lap_start = t;
}
/* Every collective of the step goes through this: it fails loudly, and its time is
   also counted as communication (PH_MPI, which overlaps the phases). */
#define TIMED(call)                                                                                   \
    do {                                                                                              \
        double t_ = now();                                                                            \
        if ((call) != MPI_SUCCESS) die(#call " failed");                                              \
        phase_seconds[PH_MPI] += now() - t_;                                                          \
    } while (0)

static void usage(const options *o) {
    if (rank == 0)
        printf("usage: mpirun -np K ddp_fashion_mnist [options]\n"
               "  --epochs N       training epochs (%d)\n"
               "  --batch N        global minibatch size (%zu)\n"
               "  --micro N        micro-batch size (%zu); K must divide batch/micro with a power of two left\n"
               "  --train N        use the first N training images (all)\n"
               "  --test N         use the first N test images (all)\n"
               "  --steps N        stop after N steps\n"
               "  --small          quick check: --train 4096 --test 1000 --epochs 2\n"
               "  --lr X           peak learning rate (%g)\n"
               "  --seed N         seed for data order, initialization and dropout (%llu)\n"
               "  --reduce KIND    tree or halving (the canonical order, the same bits at any K; halving needs K\n"
               "                   a power of two), or Open MPI's order: allreduce, reduce-scatter\n"
               "  --print-steps    print every step's loss\n"
               "  --trace PATH     write every step's loss and the final hashes here\n"
               "  --expect PATH    compare this run with a --trace file, bit for bit (exit 1 if they differ)\n"
               "  --checkpoint P   write a checkpoint to P at the end of every epoch (atomically)\n"
               "  --resume P       continue from checkpoint P (written at any -np)\n"
               "  --crash-at-step N  the last rank kills itself (SIGKILL) after step N: to test --resume\n"
               "  --bench-reduce N time N gradient reductions by each --reduce method (no training)\n"
               "  --data DIR       the four idx .gz files (%s)\n"
               "  --min-acc X      exit with status 1 if the final test accuracy is below X\n",
               o->epochs, o->batch, o->micro, o->peak_lr, (unsigned long long)o->seed, o->data_dir);
}

static void parse_args(options *o, int argc, char **argv) {
    int i;
    size_t mbs;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--small")) {
            o->n_train = 4096, o->n_test = 1000, o->epochs = 2;
            continue;
        }
        if (!strcmp(a, "--print-steps")) {
            o->print_steps = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(o);
            MPI_Finalize();
            exit(0);
        }
        if (v == NULL) die("unknown option or missing value (try --help)");
        i++;
        if (!strcmp(a, "--epochs")) o->epochs = atoi(v);
        else if (!strcmp(a, "--batch")) o->batch = (size_t)atol(v);
        else if (!strcmp(a, "--micro")) o->micro = (size_t)atol(v);
        else if (!strcmp(a, "--train")) o->n_train = (size_t)atol(v);
        else if (!strcmp(a, "--test")) o->n_test = (size_t)atol(v);
        else if (!strcmp(a, "--steps")) o->max_steps = atol(v);
        else if (!strcmp(a, "--lr")) o->peak_lr = atof(v);
        else if (!strcmp(a, "--seed")) o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--data")) o->data_dir = v;
        else if (!strcmp(a, "--trace")) o->trace = v;
        else if (!strcmp(a, "--expect")) o->expect = v;
        else if (!strcmp(a, "--min-acc")) o->min_acc = atof(v);
        else if (!strcmp(a, "--checkpoint")) o->checkpoint = v;
        else if (!strcmp(a, "--resume")) o->resume = v;
        else if (!strcmp(a, "--crash-at-step")) o->crash_at_step = atol(v);
        else if (!strcmp(a, "--bench-reduce")) o->bench_reduce = atoi(v);
        else if (!strcmp(a, "--reduce")) {
            if (!strcmp(v, "tree")) o->reduce = REDUCE_TREE;
            else if (!strcmp(v, "halving")) o->reduce = REDUCE_HALVING;
            else if (!strcmp(v, "allreduce")) o->reduce = REDUCE_ALLREDUCE;
            else if (!strcmp(v, "reduce-scatter")) o->reduce = REDUCE_SCATTER;
            else die("--reduce takes tree, halving, allreduce or reduce-scatter");
        } else
            die("unknown option (try --help)");
    }
    if (o->epochs < 1 || o->micro < 2 || o->batch % o->micro != 0)
        die("need --epochs >= 1, --micro >= 2 (batch norm needs two rows) and --batch a multiple of --micro");
    /* Each rank's micro-batches must be an aligned subtree of the canonical tree. */
    mbs = o->batch / o->micro;
    if (mbs % (size_t)world != 0 || ((mbs / (size_t)world) & (mbs / (size_t)world - 1)) != 0) {
        if (rank == 0)
            fprintf(stderr, "%zu micro-batches per step over %d ranks: need a power of two per rank "
                            "(try -np 1, 2, 4, ... up to %zu, or another --batch/--micro)\n", mbs, world, mbs);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (o->reduce == REDUCE_HALVING && (world & (world - 1)) != 0) die("--reduce halving needs -np a power of two");
}

/* ---- the canonical order ------------------------------------------------------------ */

/* Sums bufs[0..k-1] (n floats each) into bufs[0] by the fixed pairwise tree: at stride
   s = 1, 2, 4, ... buffer i (a multiple of 2s) adds buffer i + s. Any aligned run of a
   power of two of buffers is a subtree, summed the same way on its own. */
static void tree_sum(float **bufs, size_t k, size_t n) {
    size_t s, i, j;
    for (s = 1; s < k; s *= 2)
        for (i = 0; i + s < k; i += 2 * s) {
            float *a = bufs[i];
            const float *b = bufs[i + s];
            for (j = 0; j < n; j++) a[j] += b[j];
        }
}

/* Shard s of K starts here: shards are whole chunks, as even as they come. */
static size_t shard_start(size_t s, size_t k) {
    size_t at = N_CHUNKS * s / k * CHUNK;
    return at < N_PARAMS ? at : N_PARAMS;
}

/* The shard rank r owns. The all-to-all gives rank r shard r. Recursive halving gives it
   shard bitrev(r): its first round pairs ranks r and r^1 (the tree's lowest level above
   the ranks' subtrees) and splits the vector by the shard index's top bit, and so on. */
static int owned_shard(int r, int k, enum reduce_kind how) {
    int b = 0, d;
    if (how != REDUCE_HALVING) return r;
    for (d = 1; d < k; d *= 2, r >>= 1) b = 2 * b + (r & 1);
    return b;
}

/* Recursive halving with distance doubling, a reduce-scatter in log2(K) rounds that is the
   canonical tree: at distance d, ranks r and r^d hold their groups' subtree sums on the same
   range of shards, each keeps the half given by bit d of its rank, sends the other half and
   adds what its partner sends (a + b == b + a in IEEE arithmetic, so which side adds does
   not matter; only the pairing does). Leaves the sum of shard owned_shard(rank) in sum. */
static void halving_reduce(float *sum, float *tmp) {
    size_t lo = 0, hi = (size_t)world; /* the shards this rank still sums, by shard index */
    int d;
    for (d = 1; d < world; d *= 2) {
        size_t mid = (lo + hi) / 2, keep_lo = rank & d ? mid : lo, keep_hi = rank & d ? hi : mid;
        size_t give_lo = rank & d ? lo : mid, give_hi = rank & d ? mid : hi, j;
        size_t k0 = shard_start(keep_lo, (size_t)world), k1 = shard_start(keep_hi, (size_t)world);
        size_t g0 = shard_start(give_lo, (size_t)world), g1 = shard_start(give_hi, (size_t)world);
        TIMED(MPI_Sendrecv(sum + g0, (int)(g1 - g0), MPI_FLOAT, rank ^ d, d, tmp, (int)(k1 - k0), MPI_FLOAT, rank ^ d,
                           d, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        for (j = 0; j < k1 - k0; j++) sum[k0 + j] += tmp[j];
        lo = keep_lo, hi = keep_hi;
    }
}

/* Where the gradient reduction sends and finds things (main fills it in once). */
typedef struct {
    int *counts, *displs;             /* rank r's shard: its length and offset, in elements */
    int *piece_counts, *piece_displs; /* the all-to-all's receiving side: rank r's sum of my shard */
    float **piece, *recv;             /* piece[r] = recv + r * shard_len; recv also serves halving */
    float *gshard;                    /* the result: my shard's gradient, summed over every micro-batch */
    size_t shard_off, shard_len;
} reducer;

/* sum: this rank's subtree sum of the whole gradient (overwritten). */
static void reduce_gradient(const reducer *rd, enum reduce_kind how, float *sum) {
    if (how == REDUCE_TREE) {
        /* Rank r's slice of its subtree sum goes to the shard's owner; piece[r] is then
           rank r's subtree sum of my shard, and the top of the tree is summed here. */
        TIMED(MPI_Alltoallv(sum, rd->counts, rd->displs, MPI_FLOAT, rd->recv, rd->piece_counts, rd->piece_displs,
                            MPI_FLOAT, MPI_COMM_WORLD));
        tree_sum(rd->piece, (size_t)world, rd->shard_len);
        memcpy(rd->gshard, rd->piece[0], rd->shard_len * sizeof(float));
    } else if (how == REDUCE_HALVING) {
        halving_reduce(sum, rd->recv);
        memcpy(rd->gshard, sum + rd->shard_off, rd->shard_len * sizeof(float));
    } else if (how == REDUCE_ALLREDUCE) {
        TIMED(MPI_Allreduce(MPI_IN_PLACE, sum, N_PARAMS, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
        memcpy(rd->gshard, sum + rd->shard_off, rd->shard_len * sizeof(float));
    } else {
        TIMED(MPI_Reduce_scatter(sum, rd->gshard, rd->counts, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --bench-reduce N: N gradient reductions by each method in turn (interleaved, so load
   changes hit all alike), each timed on the slowest rank; prints the medians and quartiles.
   The reducer's shards must be the all-to-all's (halving owns other shards: skipped here
   unless it was chosen, when the others are skipped but allreduce). */
static void bench_reduce(const reducer *rd, enum reduce_kind chosen, int reps, float *sum, const float *grad) {
    enum reduce_kind how;
    double *t = (double *)malloc((size_t)reps * 4 * sizeof *t);
    int i;
    if (t == NULL) die("out of memory");
    for (i = 0; i < reps; i++)
        for (how = REDUCE_TREE; how <= REDUCE_SCATTER; how++) {
            double t0, dt;
            if ((how == REDUCE_HALVING) != (chosen == REDUCE_HALVING) && how != REDUCE_ALLREDUCE) continue;
            memcpy(sum, grad, N_PARAMS * sizeof(float)); /* the same input every time */
            MPI_Barrier(MPI_COMM_WORLD);
            t0 = now();
            reduce_gradient(rd, how, sum);
            dt = now() - t0;
            MPI_Allreduce(&dt, &t[(size_t)how * reps + i], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        }
    if (rank == 0) {
        printf("gradient reduction of %zu floats over %d ranks, %d times each, ms (median, quartiles):\n",
               (size_t)N_PARAMS, world, reps);
        for (how = REDUCE_TREE; how <= REDUCE_SCATTER; how++) {
            double *x = t + (size_t)how * reps;
            if ((how == REDUCE_HALVING) != (chosen == REDUCE_HALVING) && how != REDUCE_ALLREDUCE) continue;
            qsort(x, (size_t)reps, sizeof *x, cmp_double);
            printf("  %-26s %8.3f  (%.3f - %.3f)\n", reduce_names[how], 1e3 * x[reps / 2], 1e3 * x[reps / 4],
                   1e3 * x[3 * reps / 4]);
        }
    }
    free(t);
}

/* The clip coefficient and the fused step's multiplier from the global sum of squares,
   as trainopt_grad_norm computes them from its own (trainopt__norm_finish): the norm
   rounded to float, PyTorch's 1e-6, clamped at 1, inv_scale * coef rounded once. */
static void norm_finish(double sum_squares, double inv_scale, double max_norm, float *total_norm, float *grad_scale) {
    double coef;
    *total_norm = (float)(sqrt(sum_squares) * inv_scale);
    coef = max_norm / ((double)*total_norm + 1e-6);
    if (coef > 1.0) coef = 1.0;
    *grad_scale = (float)(inv_scale * coef);
}

/* FNV-1a over bytes: the fingerprint of the final weights that runs compare. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t bytes) {
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < bytes; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}
#define FNV_START 1469598103934665603ull

/* Points the model's running statistics at stats = [mean1 | var1 | mean2 | var2]. */
static void point_running(model *m, float *stats) {
    m->run_mean1 = stats;
    m->run_var1 = stats + H1;
    m->run_mean2 = stats + 2 * H1;
    m->run_var2 = stats + 2 * H1 + H2;
}

/* ---- checkpoints ------------------------------------------------------------------- */

/* A checkpoint is one file: a header of 64-bit words (the magic, what it belongs to, where
   the run is), the data order, the parameters and running statistics, the whole optimizer
   state (gathered from the shards, so a run can resume at another -np), and an FNV-1a hash
   of everything before it. Native byte order: it is for resuming on the same machines. */
enum {
    CK_MAGIC, CK_N_PARAMS, CK_N_TRAIN, CK_BATCH, CK_MICRO, CK_SEED, CK_EPOCHS, CK_HPARAMS, /* 7 doubles */
    CK_STEP = CK_HPARAMS + 7, CK_EPOCH, CK_ORDER_STATE, CK_HEADER
};
static const char ck_magic[8] = {'D', 'D', 'P', 'C', 'K', 'P', 'T', '1'};

typedef struct {
    size_t bytes;
    unsigned char *blob;
    uint64_t *head;
    uint32_t *order;
    float *param, *running, *m, *v;
} checkpoint;

/* Lays out a checkpoint for this configuration over blob (NULL: allocate it). */
static checkpoint ck_layout(size_t n_train, unsigned char *blob) {
    checkpoint c;
    size_t order_bytes = (n_train * sizeof(uint32_t) + 7) / 8 * 8;
    c.bytes = CK_HEADER * 8 + order_bytes + (3 * (size_t)N_PARAMS + N_STATS) * sizeof(float) + 8;
    c.blob = blob ? blob : (unsigned char *)calloc(c.bytes, 1);
    if (c.blob == NULL) die("out of memory");
    c.head = (uint64_t *)c.blob;
    c.order = (uint32_t *)(c.blob + CK_HEADER * 8);
    c.param = (float *)(c.blob + CK_HEADER * 8 + order_bytes);
    c.running = c.param + N_PARAMS;
    c.m = c.running + N_STATS;
    c.v = c.m + N_PARAMS;
    return c;
}

/* The header words that must match for a run to resume from a checkpoint. */
static void ck_config(const options *o, size_t n_train, uint64_t *w) {
    double h[7];
    int i;
    memcpy(&w[CK_MAGIC], ck_magic, 8);
    w[CK_N_PARAMS] = N_PARAMS, w[CK_N_TRAIN] = n_train, w[CK_BATCH] = o->batch, w[CK_MICRO] = o->micro;
    w[CK_SEED] = o->seed, w[CK_EPOCHS] = (uint64_t)o->epochs;
    h[0] = o->peak_lr, h[1] = o->end_lr, h[2] = o->weight_decay, h[3] = o->warmup_epochs;
    h[4] = o->dropout, h[5] = o->label_smoothing, h[6] = o->clip_norm;
    for (i = 0; i < 7; i++) memcpy(&w[CK_HPARAMS + i], &h[i], 8);
}

/* Writes the checkpoint so that a crash leaves the old file or the new one, never a torn
   one: a temporary file beside it, flushed to the disk, renamed over it, the directory synced. */
static int ck_write(const checkpoint *c, const char *path) {
    char tmp[1024], dir[1024], *slash;
    FILE *f;
    int fd, ok;
    uint64_t h = fnv1a(FNV_START, c->blob, c->bytes - 8);
    memcpy(c->blob + c->bytes - 8, &h, 8);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if ((f = fopen(tmp, "wb")) == NULL) return 0;
    ok = fwrite(c->blob, 1, c->bytes, f) == c->bytes && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) return 0;
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    if ((fd = open(dir, O_RDONLY)) >= 0) { /* the rename itself reaches the disk */
        fsync(fd);
        close(fd);
    }
    return 1;
}

/* Reads and checks a checkpoint into c (laid out for this configuration); on any doubt
   returns a message and leaves nothing half-loaded (the caller copies out only on NULL). */
static const char *ck_read(checkpoint *c, const char *path, const options *o, size_t n_train) {
    static char why[256];
    uint64_t want[CK_HEADER], h;
    static const char *const names[] = {"magic", "parameter count", "--train (images)", "--batch", "--micro", "--seed",
                                        "--epochs", "a hyperparameter"};
    FILE *f = fopen(path, "rb");
    long size;
    int i;
    if (f == NULL) return "cannot open it";
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return "cannot read it";
    }
    if ((size_t)size != c->bytes || fread(c->blob, 1, c->bytes, f) != c->bytes) {
        fclose(f);
        snprintf(why, sizeof why, "%ld bytes where this configuration's checkpoints have %zu: truncated, or not "
                 "from this configuration", size, c->bytes);
        return why;
    }
    fclose(f);
    if (memcmp(c->blob, ck_magic, 8) != 0) return "not a checkpoint of this program";
    memcpy(&h, c->blob + c->bytes - 8, 8);
    if (h != fnv1a(FNV_START, c->blob, c->bytes - 8)) return "its checksum does not match: the file is corrupt";
    ck_config(o, n_train, want);
    for (i = 0; i < CK_STEP; i++)
        if (c->head[i] != want[i]) {
            snprintf(why, sizeof why, "it was written by a run with another %s", names[i < CK_HPARAMS ? i : CK_HPARAMS]);
            return why;
        }
    if (c->head[CK_EPOCH] < 1 || c->head[CK_EPOCH] > (uint64_t)o->epochs) return "its epoch count is out of range";
    return NULL;
}

int main(int argc, char **argv) {
    options o;
    dataset train, test;
    model m;
    pass_config pc;
    trainopt_adam_config adamw = TRAINOPT_ADAMW_DEFAULTS; /* betas 0.9, 0.999, eps 1e-8 */
    trainopt_step_opts so = TRAINOPT_STEP_OPTS_DEFAULTS;
    uint32_t *order;
    float *xb, **slot, **piece, *recv, *gshard, *running, *mb_stats, *all_stats;
    int32_t *yb;
    int *counts, *displs, *chunk_counts, *chunk_displs, *piece_counts, *piece_displs, found_inf = 0;
    double *chunk_sq, *all_chunk_sq;
    uint64_t order_state;
    int64_t step = 0, steps_run = 0, steps_per_epoch, total_steps, warmup_steps;
    size_t i, q, mbs, local, first_mb, shard_off, shard_len, chunk_lo, chunk_hi;
    double lr = 0.0, acc = 0.0, test_loss = 0.0;
    FILE *trace = NULL, *expect = NULL;
    long mismatch_step = -1, compared = 0;
    int epoch, first_epoch = 1, stop = 0, r, status = 0; /* status: rank 0's exit status */
    checkpoint ck = {0, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    reducer rd;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
#ifdef OPENBLAS_VERSION
    /* One OpenBLAS thread per rank: its bits depend on the thread count, and the ranks
       already share the cores. */
    openblas_set_num_threads(1);
#endif

    o.epochs = 15; /* the demo's configuration, but for the micro-batches */
    o.batch = 128, o.micro = 32;
    o.n_train = 0, o.n_test = 0, o.max_steps = 0;
    o.peak_lr = 2e-3, o.end_lr = 1e-5, o.weight_decay = 0.05, o.warmup_epochs = 1.0;
    o.dropout = 0.2, o.label_smoothing = 0.1, o.clip_norm = 1.0;
    o.seed = 42;
    o.reduce = REDUCE_TREE;
    o.print_steps = 0;
    o.data_dir = "/usr/share/datasets/fashion-mnist";
    o.trace = o.expect = NULL;
    o.checkpoint = o.resume = NULL;
    o.crash_at_step = 0;
    o.bench_reduce = 0;
    o.min_acc = 0.0;
    parse_args(&o, argc, argv);
    mbs = o.batch / o.micro;
    local = mbs / (size_t)world;
    first_mb = (size_t)rank * local;

    /* Every rank reads the whole set (60,000 images are 188 MB as floats; a larger set
       would be read in each rank's slice) and draws the same data order. */
    train = load(o.data_dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", o.n_train);
    test = load(o.data_dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", o.n_test);
    /* Whole minibatches only: every step has the same micro-batches, whatever K. */
    steps_per_epoch = (int64_t)(train.n / o.batch);
    if (steps_per_epoch < 1) die("fewer training images than one minibatch");
    total_steps = steps_per_epoch * o.epochs;
    warmup_steps = (int64_t)(o.warmup_epochs * (double)steps_per_epoch);
    if (warmup_steps > total_steps / 10) warmup_steps = total_steps / 10;

    /* The shards: whole chunks, as even as they come; rank r steps [shard_off, +shard_len). */
    counts = (int *)malloc((size_t)world * sizeof *counts);
    displs = (int *)malloc((size_t)world * sizeof *displs);
    chunk_counts = (int *)malloc((size_t)world * sizeof *chunk_counts);
    chunk_displs = (int *)malloc((size_t)world * sizeof *chunk_displs);
    piece_counts = (int *)malloc((size_t)world * sizeof *piece_counts);
    piece_displs = (int *)malloc((size_t)world * sizeof *piece_displs);
    if (!counts || !displs || !chunk_counts || !chunk_displs || !piece_counts || !piece_displs) die("out of memory");
    for (r = 0; r < world; r++) { /* rank r's shard, in elements and in chunks */
        size_t s = (size_t)owned_shard(r, world, o.reduce);
        size_t lo = N_CHUNKS * s / (size_t)world, hi = N_CHUNKS * (s + 1) / (size_t)world;
        chunk_displs[r] = (int)lo, chunk_counts[r] = (int)(hi - lo);
        displs[r] = (int)shard_start(s, (size_t)world);
        counts[r] = (int)(shard_start(s + 1, (size_t)world) - shard_start(s, (size_t)world));
    }
    chunk_lo = (size_t)chunk_displs[rank], chunk_hi = chunk_lo + (size_t)chunk_counts[rank];
    shard_off = (size_t)displs[rank], shard_len = (size_t)counts[rank];
    for (r = 0; r < world; r++) /* what the all-to-all brings: rank r's sum of my shard, in rank order */
        piece_counts[r] = (int)shard_len, piece_displs[r] = r * (int)shard_len;

    /* Buffers for micro-batches of M rows; the optimizer state of this rank's shard only. */
    model_init(&m, o.micro, o.seed, shard_len);
    slot = (float **)malloc(local * sizeof *slot);       /* each local micro-batch's gradient */
    piece = (float **)malloc((size_t)world * sizeof *piece); /* the K subtree sums of my shard */
    for (i = 0; slot && i < local; i++) slot[i] = alloc_floats(N_PARAMS, 0.0f);
    recv = alloc_floats(shard_len * (size_t)world > N_PARAMS ? shard_len * (size_t)world : N_PARAMS, 0.0f);
    for (r = 0; piece && r < world; r++) piece[r] = recv + (size_t)r * shard_len;
    gshard = alloc_floats(shard_len, 0.0f);
    rd.counts = counts, rd.displs = displs, rd.piece_counts = piece_counts, rd.piece_displs = piece_displs;
    rd.piece = piece, rd.recv = recv, rd.gshard = gshard, rd.shard_off = shard_off, rd.shard_len = shard_len;
    running = alloc_floats(N_STATS, 0.0f);
    for (i = 0; i < H1; i++) running[H1 + i] = 1.0f; /* running variances start at 1 */
    for (i = 0; i < H2; i++) running[2 * H1 + H2 + i] = 1.0f;
    /* Each micro-batch's statistics, then its loss: what every rank needs from every other. */
    mb_stats = alloc_floats(local * (N_STATS + 1), 0.0f);
    all_stats = alloc_floats(mbs * (N_STATS + 1), 0.0f);
    chunk_sq = (double *)malloc((chunk_hi - chunk_lo + 1) * sizeof *chunk_sq);
    all_chunk_sq = (double *)malloc(N_CHUNKS * sizeof *all_chunk_sq);
    order = (uint32_t *)malloc(train.n * sizeof *order);
    xb = alloc_floats(o.micro * IN, 0.0f);
    yb = (int32_t *)malloc(o.micro * sizeof *yb);
    if (!slot || !piece || !chunk_sq || !all_chunk_sq || !order || !yb) die("out of memory");
    for (i = 0; i < train.n; i++) order[i] = (uint32_t)i;
    order_state = o.seed;

    /* Dropout: each layer its own key; an example's words sit at its global index (its
       position in the stream of training examples) times the layer's width. */
    pc.dropout = o.dropout, pc.label_smoothing = o.label_smoothing;
    pc.bn_momentum = 1.0; /* the pass leaves the micro-batch's own statistics in the "running" buffers */
    pc.drop_seed[0] = o.seed + 1, pc.drop_seed[1] = o.seed + 2;

    if (o.bench_reduce > 0) { /* the initial weights stand in for a gradient */
        bench_reduce(&rd, o.reduce, o.bench_reduce, slot[0], m.param);
        MPI_Finalize();
        return 0;
    }

    /* Resuming: rank 0 reads and checks the whole file first; every rank then takes the
       data order, the parameters, the statistics and its shard of the optimizer state. */
    if (o.resume || o.checkpoint) ck = ck_layout(train.n, NULL);
    if (o.resume) {
        const char *why = rank == 0 ? ck_read(&ck, o.resume, &o, train.n) : NULL;
        int ok = why == NULL;
        MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (!ok) {
            if (rank == 0) fprintf(stderr, "cannot resume from %s: %s; nothing was loaded\n", o.resume, why);
            MPI_Finalize();
            return 1;
        }
        MPI_Bcast(ck.blob, (int)ck.bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
        memcpy(order, ck.order, train.n * sizeof *order);
        memcpy(m.param, ck.param, N_PARAMS * sizeof(float));
        memcpy(running, ck.running, N_STATS * sizeof(float));
        memcpy(m.m, ck.m + shard_off, shard_len * sizeof(float));
        memcpy(m.v, ck.v + shard_off, shard_len * sizeof(float));
        step = (int64_t)ck.head[CK_STEP];
        first_epoch = (int)ck.head[CK_EPOCH] + 1;
        order_state = ck.head[CK_ORDER_STATE];
        if (rank == 0) printf("resumed from %s: epoch %d done, step %lld\n", o.resume, first_epoch - 1, (long long)step);
    }

    if (rank == 0) {
        if (o.trace && (trace = fopen(o.trace, "w")) == NULL) die("cannot write the --trace file");
        if (o.expect && (expect = fopen(o.expect, "r")) == NULL) die("cannot read the --expect file");
        printf("trainopt %d.%d.%d, backend %s; %d MPI ranks; gradients summed by %s\n", TRAINOPT_VERSION_MAJOR,
               TRAINOPT_VERSION_MINOR, TRAINOPT_VERSION_PATCH, trainopt_backend(), world, reduce_names[o.reduce]);
        printf("MLP %d-%d-%d-%d, %zu parameters; %zu train / %zu test images; batch %zu = %zu micro-batches of %zu, "
               "%zu per rank; %d epochs\n", IN, H1, H2, OUT, (size_t)N_PARAMS, train.n, test.n, o.batch, mbs, o.micro,
               local, o.epochs);
        printf("ZeRO-1: AdamW state of %zu parameters on rank 0 (%.1f MB; %.1f MB unsharded)\n", shard_len,
               2.0 * (double)shard_len * sizeof(float) / 1e6, 2.0 * (double)N_PARAMS * sizeof(float) / 1e6);
        fflush(stdout);
    }

    for (epoch = first_epoch; epoch <= o.epochs && !stop; epoch++) {
        double t0, loss_sum = 0.0;
        int64_t k, steps = 0;
        shuffle(order, train.n, &order_state);
        MPI_Barrier(MPI_COMM_WORLD); /* the epoch's clock starts together on every rank */
        t0 = lap_start = now();
        for (k = 0; k < steps_per_epoch; k++) {
            float total_norm, grad_scale, step_loss;
            double sum_sq = 0.0, nonfinite = 0.0, loss = 0.0;
            size_t base = (size_t)k * o.batch, a, b;
            lr = trainopt_lr_warmup_cosine(o.peak_lr, step, warmup_steps, total_steps, 0.0, o.end_lr);
            if (lr != lr) die("warmup-cosine schedule: invalid arguments");

            /* 1. This rank's micro-batches: their gradients, statistics and losses. */
            for (i = 0; i < local; i++) {
                size_t start = base + (first_mb + i) * o.micro, j;
                uint64_t example = (uint64_t)step * o.batch + (first_mb + i) * o.micro; /* global index */
                float *st = mb_stats + i * (N_STATS + 1);
                for (j = 0; j < o.micro; j++) {
                    memcpy(xb + j * IN, train.x + (size_t)order[start + j] * IN, IN * sizeof(float));
                    yb[j] = train.y[order[start + j]];
                }
                m.grad = slot[i];
                m.g = carve(slot[i]);
                memset(st, 0, N_STATS * sizeof(float)); /* momentum 1 still reads them: 0 * NaN */
                point_running(&m, st);
                pc.drop_offset[0] = example * H1;
                pc.drop_offset[1] = example * H2;
                st[N_STATS] = forward_backward(&m, &pc, o.micro, xb, yb);
            }
            tree_sum(slot, local, N_PARAMS); /* this rank's subtree; slot[0] holds it */
            lap(PH_COMPUTE);

            /* 2. The gradient of this rank's shard, summed over every micro-batch. */
            reduce_gradient(&rd, o.reduce, slot[0]);
            lap(PH_REDUCE);

            /* 3. Every micro-batch's statistics and loss, on every rank, in micro-batch order. */
            TIMED(MPI_Allgather(mb_stats, (int)(local * (N_STATS + 1)), MPI_FLOAT, all_stats,
                                (int)(local * (N_STATS + 1)), MPI_FLOAT, MPI_COMM_WORLD));

            /* 4. The global norm: my chunks' sums of squares, then all of them in chunk order. */
            for (q = chunk_lo; q < chunk_hi; q++) {
                const float *x = gshard + (q - chunk_lo) * CHUNK;
                size_t n = (q + 1) * CHUNK < N_PARAMS ? CHUNK : N_PARAMS - q * CHUNK, bad;
                CHECK(trainopt_sum_squares(1, &x, &n, &chunk_sq[q - chunk_lo], &bad));
                nonfinite += (double)bad;
            }
            TIMED(MPI_Allgatherv(chunk_sq, (int)(chunk_hi - chunk_lo), MPI_DOUBLE, all_chunk_sq, chunk_counts,
                                 chunk_displs, MPI_DOUBLE, MPI_COMM_WORLD));
            TIMED(MPI_Allreduce(MPI_IN_PLACE, &nonfinite, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
            for (q = 0; q < N_CHUNKS; q++) sum_sq += all_chunk_sq[q];
            /* The gradient summed B/M micro-batch means; 1/(B/M) makes it the batch mean. */
            norm_finish(sum_sq, 1.0 / (double)mbs, o.clip_norm, &total_norm, &grad_scale);
            found_inf = nonfinite != 0.0;
            lap(PH_NORM);

            /* 5. AdamW on my shard: weights with weight decay, the rest without. */
            step++;
            so.grad_scale = found_inf ? 1.0 / (double)mbs : grad_scale;
            so.found_inf = &found_inf; /* a NaN or Inf gradient anywhere: every rank skips the step */
            adamw.lr = lr;
            a = shard_off, b = shard_off + shard_len;
            if (a < N_DECAY) {
                size_t e = b < N_DECAY ? b : N_DECAY;
                adamw.weight_decay = o.weight_decay;
                CHECK(trainopt_adamw_step_ex(&adamw, step, e - a, m.param + a, gshard, m.m, m.v, NULL, &so));
            }
            if (b > N_DECAY) {
                size_t s = a > N_DECAY ? a : N_DECAY;
                adamw.weight_decay = 0.0;
                CHECK(trainopt_adamw_step_ex(&adamw, step, b - s, m.param + s, gshard + (s - a), m.m + (s - a),
                                             m.v + (s - a), NULL, &so));
            }

            lap(PH_STEP);

            /* 6. Every rank gets every updated shard. */
            TIMED(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, m.param, counts, displs, MPI_FLOAT, MPI_COMM_WORLD));
            lap(PH_GATHER);

            /* 7. Running statistics, as batch norm's momentum 0.1 update (the same expression
               trainopt uses), one micro-batch after another; the loss, in the same order. */
            for (q = 0; q < mbs; q++) {
                const float *st = all_stats + q * (N_STATS + 1);
                for (i = 0; i < N_STATS; i++) running[i] = (float)fma(0.1, st[i], 0.9 * (double)running[i]);
                loss += st[N_STATS];
            }
            step_loss = (float)(loss / (double)mbs);
            lap(PH_NORM);
            loss_sum += step_loss;
            steps++;
            steps_run++;

            if (rank == 0) {
                uint32_t bits;
                memcpy(&bits, &step_loss, sizeof bits);
                if (o.print_steps)
                    printf("step %4lld  loss %.6f (%08lx)  grad norm %.5f  lr %.3e\n", (long long)step, step_loss,
                           (unsigned long)bits, total_norm, lr);
                if (trace) fprintf(trace, "step %lld %08lx\n", (long long)step, (unsigned long)bits);
                if (expect && mismatch_step < 0) {
                    long long s_exp;
                    unsigned long b_exp;
                    int got;
                    do /* a resumed run starts further on */
                        got = fscanf(expect, " step %lld %lx", &s_exp, &b_exp);
                    while (got == 2 && s_exp < step);
                    if (got != 2 || s_exp != step || b_exp != bits)
                        mismatch_step = (long)step;
                    else
                        compared++;
                }
            }
            if (step == o.crash_at_step && rank == world - 1) raise(SIGKILL); /* a crash, to test --resume */
            if (o.max_steps > 0 && step >= o.max_steps) {
                stop = 1;
                break;
            }
        }
        phase_seconds[N_PHASES] += now() - t0;
        if (o.checkpoint && !stop) { /* the epoch is done: save where the run is */
            MPI_Gatherv(m.m, (int)shard_len, MPI_FLOAT, ck.m, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
            MPI_Gatherv(m.v, (int)shard_len, MPI_FLOAT, ck.v, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
            if (rank == 0) {
                ck_config(&o, train.n, ck.head);
                ck.head[CK_STEP] = (uint64_t)step, ck.head[CK_EPOCH] = (uint64_t)epoch;
                ck.head[CK_ORDER_STATE] = order_state;
                memcpy(ck.order, order, train.n * sizeof *order);
                memcpy(ck.param, m.param, N_PARAMS * sizeof(float));
                memcpy(ck.running, running, N_STATS * sizeof(float));
                if (!ck_write(&ck, o.checkpoint)) die("cannot write the checkpoint");
            }
        }
        if (rank == 0) {
            model eval = m;
            point_running(&eval, running);
            acc = evaluate(&eval, &test, o.micro, &test_loss);
            printf("epoch %2d/%d  lr %.2e  train loss %.4f  test loss %.4f  test acc %.4f  %5.2f s training\n", epoch,
                   o.epochs, lr, loss_sum / (double)steps, test_loss, acc, now() - t0);
            fflush(stdout);
        }
    }

    if (rank == 0 && steps_run == 0) { /* resumed from the last epoch's checkpoint: nothing left to train */
        model eval = m;
        point_running(&eval, running);
        acc = evaluate(&eval, &test, o.micro, &test_loss);
    }

    /* The final weights: parameters and running statistics (the same on every rank), and
       the optimizer state (gathered from the shards), hashed. */
    {
        uint64_t h_param = fnv1a(fnv1a(FNV_START, m.param, N_PARAMS * sizeof(float)), running, N_STATS * sizeof(float));
        uint64_t h_state = 0, *all_h = (uint64_t *)malloc((size_t)world * sizeof *all_h);
        float *state = rank == 0 ? alloc_floats(2 * (size_t)N_PARAMS, 0.0f) : NULL;
        double tmax[N_PHASES + 1];
        if (!all_h) die("out of memory");
        MPI_Gather(&h_param, 1, MPI_UINT64_T, all_h, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        MPI_Gatherv(m.m, (int)shard_len, MPI_FLOAT, state, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
        MPI_Gatherv(m.v, (int)shard_len, MPI_FLOAT, state ? state + N_PARAMS : NULL, counts, displs, MPI_FLOAT, 0,
                    MPI_COMM_WORLD);
        MPI_Reduce(phase_seconds, tmax, N_PHASES + 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        if (rank == 0) {
            int same = 1;
            double per = steps_run ? 1e3 / (double)steps_run : 0.0; /* ms per step of this process's steps */
            for (r = 1; r < world; r++) same &= all_h[r] == all_h[0];
            h_state = fnv1a(FNV_START, state, 2 * (size_t)N_PARAMS * sizeof(float));
            printf("final test accuracy %.4f  |  %lld steps, %.2f ms per step, of which %.2f ms in MPI calls; "
                   "%.0f images/s\n", acc, (long long)steps_run, per * tmax[N_PHASES], per * tmax[PH_MPI],
                   tmax[N_PHASES] > 0.0 ? (double)steps_run * (double)o.batch / tmax[N_PHASES] : 0.0);
            printf("ms per step (slowest rank):");
            for (r = 0; r < PH_MPI; r++) printf("%s %s %.2f", r ? "," : "", phase_names[r], per * tmax[r]);
            printf("\n");
            printf("final weights: parameters %016llx, optimizer state %016llx; %s\n", (unsigned long long)h_param,
                   (unsigned long long)h_state,
                   same ? "every rank holds the same parameters" : "RANKS HOLD DIFFERENT PARAMETERS");
            if (!same) status = 1;
            if (trace) {
                fprintf(trace, "params %016llx\nstate %016llx\n", (unsigned long long)h_param,
                        (unsigned long long)h_state);
                fclose(trace);
            }
            if (expect) {
                unsigned long long hp = 0, hs = 0;
                int ok = mismatch_step < 0 && fscanf(expect, " params %llx state %llx", &hp, &hs) == 2;
                if (ok && (hp != h_param || hs != h_state)) ok = 0;
                if (ok)
                    printf("world-size invariance: the same bits as %s at all %ld steps (loss) and in the final "
                           "parameters and optimizer state\n", o.expect, compared);
                else if (mismatch_step >= 0)
                    printf("world-size invariance: DIFFERS from %s: the loss of step %ld (%ld steps agreed)\n",
                           o.expect, mismatch_step, compared);
                else
                    printf("world-size invariance: DIFFERS from %s: same loss at all %ld steps, different final "
                           "weights\n", o.expect, compared);
                fclose(expect);
                if (!ok) status = 1;
            }
            if (acc < o.min_acc) {
                fprintf(stderr, "test accuracy %.4f is below --min-acc %.4f\n", acc, o.min_acc);
                status = 1;
            }
        }
        free(state);
        free(all_h);
    }
    MPI_Finalize();
    return status;
}
