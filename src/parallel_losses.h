/* >>parallel-losses: the losses on the caller's threads (trainopt_threads; manual:
   THREADS). The gradients are elementwise (MSE, BCE) or per row (cross-entropy); only
   the loss, a mean, is a reduction, and it is made in the unthreaded call's order:
   - MSE and BCE sum in blocks of SUM_BLOCK elements from the array's start (>>sumblock).
     A piece is TRAINOPT_CHUNK elements (a whole number of blocks) at a multiple of
     TRAINOPT_CHUNK; it keeps each block's sum, and they are added here, in order, as
     the unthreaded call adds them;
   - cross-entropy adds one term per row, in row order. A piece is a run of whole rows
     that keeps each row's terms; they are added here, in row order, after the round.
   Pieces depend on the shape only: every result is the bits of the unthreaded call, for
   any hook and any task order. */

/* Cross-entropy: at most this many rows per round (their terms live on the stack) and
   STEP_ROUND pieces, and at most this many rows per piece, so a round of short rows
   still makes several pieces. Performance choices only: results do not depend on them. */
#define TRAINOPT__PCE_ROUND_ROWS 2048
#define TRAINOPT__PCE_PIECE_ROWS 128

typedef struct {
    int op;
    size_t n, first; /* the call's length; the round's first piece */
    const float *x, *y;
    float *grad;
    double sums[TRAINOPT__SUM_ROUND][TRAINOPT__CHUNK_BLOCKS]; /* each block's sum */
} trainopt__ploss_job;

static void trainopt__ploss_task(void *arg, size_t i) {
    trainopt__ploss_job *j = (trainopt__ploss_job *)arg;
    const size_t s = (j->first + i) * TRAINOPT_CHUNK, len = trainopt__bn_min(TRAINOPT_CHUNK, j->n - s);
    size_t b;
    for (b = 0; b < len; b += TRAINOPT__SUM_BLOCK) {
        const size_t at = s + b, block_len = trainopt__bn_min(TRAINOPT__SUM_BLOCK, len - b);
        double block = 0.0;
        float *g = j->grad ? j->grad + at : NULL;
        trainopt__pointwise_run(j->op, j->n, j->x + at, j->y + at, g, block_len, &block);
        j->sums[i][b / TRAINOPT__SUM_BLOCK] = block;
    }
}

TRAINOPT__DRIVER trainopt_status trainopt__pointwise_loss_mt(int op, size_t n, const float *x, const float *y, float *loss,
                                                             float *grad, const trainopt_threads *threads) {
    const char *const fn = op == TRAINOPT__RED_MSE ? "trainopt_mse_loss_mt" : "trainopt_bce_with_logits_mt";
    trainopt__ploss_job job;
    trainopt_status st;
    double total = 0.0;
    size_t pieces, round, i, b;
    if (n == 0) {
        if (loss) trainopt__store_scalar(loss, NAN); /* PyTorch's mean over nothing */
        return TRAINOPT_OK;
    }
    if ((st = trainopt__pointwise_check(op, n, x, y, loss, grad, fn)) != TRAINOPT_OK) return st;
    if (!trainopt__has_hook(threads)) {
        trainopt__pointwise_run(op, n, x, y, grad, n, &total);
        trainopt__store_scalar(loss, total / (double)n);
        return TRAINOPT_OK;
    }
    job.op = op, job.n = n, job.x = x, job.y = y, job.grad = grad;
    pieces = (n + TRAINOPT_CHUNK - 1) / TRAINOPT_CHUNK;
    for (job.first = 0; job.first < pieces; job.first += round) {
        round = trainopt__bn_min(pieces - job.first, TRAINOPT__SUM_ROUND);
        trainopt__round_run(threads, round, trainopt__ploss_task, &job);
        for (i = 0; i < round; i++) {
            const size_t len = trainopt__bn_min(TRAINOPT_CHUNK, n - (job.first + i) * TRAINOPT_CHUNK);
            for (b = 0; b * TRAINOPT__SUM_BLOCK < len; b++) total += job.sums[i][b];
        }
    }
    trainopt__store_scalar(loss, total / (double)n);
    return TRAINOPT_OK;
}

/* trainopt_mse_loss on the caller's threads: the same checks, the same bits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_mse_loss_mt(size_t n, const float *pred, const float *target, float *loss,
                                                          float *grad, const trainopt_threads *threads) {
    return trainopt__pointwise_loss_mt(TRAINOPT__RED_MSE, n, pred, target, loss, grad, threads);
}

/* trainopt_bce_with_logits on the caller's threads: the same checks, the same bits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_bce_with_logits_mt(size_t n, const float *logits, const float *target,
                                                                 float *loss, float *grad, const trainopt_threads *threads) {
    return trainopt__pointwise_loss_mt(TRAINOPT__RED_BCE, n, logits, target, loss, grad, threads);
}

typedef struct {
    trainopt__ce_scalars c;
    size_t batch, first, piece, round; /* the round's first row; rows per piece; rows per round */
    const float *logits;
    const int32_t *labels;
    float *grad;
    double nll[TRAINOPT__PCE_ROUND_ROWS], smooth[TRAINOPT__PCE_ROUND_ROWS]; /* each row's terms */
    unsigned char kind[TRAINOPT__PCE_ROUND_ROWS];
} trainopt__pce_job;

static void trainopt__pce_task(void *arg, size_t i) {
    trainopt__pce_job *j = (trainopt__pce_job *)arg;
    const size_t r0 = i * j->piece, end = trainopt__bn_min(j->round, trainopt__bn_min(j->batch - j->first, r0 + j->piece));
    size_t r;
    for (r = r0; r < end; r++) {
        const size_t b = j->first + r;
        j->nll[r] = 0.0, j->smooth[r] = 0.0;
        j->kind[r] = (unsigned char)trainopt__ce_row(&j->c, j->logits + b * j->c.classes, j->labels[b],
                                                     j->grad ? j->grad + b * j->c.classes : NULL, &j->nll[r], &j->smooth[r]);
    }
}

/* trainopt_softmax_cross_entropy on the caller's threads: the same checks, the same bits. */
TRAINOPT__KERNEL_API trainopt_status trainopt_softmax_cross_entropy_mt(size_t batch, size_t classes, const float *logits,
                                                                       const int32_t *labels, int32_t ignore_index,
                                                                       double label_smoothing, float *loss, float *grad,
                                                                       const trainopt_threads *threads) {
    static const char fn[] = "trainopt_softmax_cross_entropy_mt";
    const double eps = label_smoothing;
    trainopt__pce_job job;
    trainopt_status st;
    double nll = 0.0, smooth = 0.0;
    size_t count, rows, r;
    if (!(eps >= 0.0 && eps <= 1.0)) return trainopt__once_hparam(fn, "label_smoothing", eps, TRAINOPT__WHY_0_1);
    if (batch == 0) {
        if (loss) trainopt__store_scalar(loss, NAN);
        return TRAINOPT_OK;
    }
    if ((st = trainopt__ce_check(batch, classes, logits, labels, ignore_index, loss, grad, &count, fn)) != TRAINOPT_OK)
        return st;
    trainopt__ce_scalars_of(&job.c, classes, count, ignore_index, eps);
    job.batch = batch, job.logits = logits, job.labels = labels, job.grad = grad;
    job.piece = trainopt__bn_min(TRAINOPT__PCE_PIECE_ROWS, TRAINOPT_CHUNK / classes);
    if (job.piece == 0) job.piece = 1;
    job.round = trainopt__bn_min(TRAINOPT__PCE_ROUND_ROWS, TRAINOPT__STEP_ROUND * job.piece);
    for (job.first = 0; job.first < batch; job.first += rows) {
        rows = trainopt__bn_min(batch - job.first, job.round);
        trainopt__round_run(threads, (rows + job.piece - 1) / job.piece, trainopt__pce_task, &job);
        for (r = 0; r < rows; r++) trainopt__ce_add(job.kind[r], job.c.smoothing, job.nll[r], job.smooth[r], &nll, &smooth);
    }
    trainopt__ce_finish(&job.c, eps, nll, smooth, loss);
    return TRAINOPT_OK;
}
