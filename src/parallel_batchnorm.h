/* >>parallel-batchnorm: batch norm's training forward pass and backward pass on the
   caller's threads (trainopt_threads; manual: THREADS). Batch norm reduces over
   samples and positions, never across channels, so the threads split the channels and
   each channel's statistics and sums are the unthreaded call's own (>>batchnorm):
   - NCHW: pieces of whole channels, 4 channels (a multiple of every backend's group
     of small channels) or a multiple of 4 making about TRAINOPT_CHUNK values; a
     channel of more than BN_SMALL_CHANNEL values goes alone, as in the serial call;
   - NHWC (and spatial 1): the serial call's tiles of BN_TILE channels, one per task.
     The serial call sweeps all channels at once with its state in y (dx) when there
     are more than BN_TILE of them; per channel its sums are the tiles' (canonical
     blocks, lanes and tree), so the bits are the same.
   Pieces depend on the shape only: every result is the bits of the unthreaded call,
   for any hook and any task order. */

typedef struct {
    const trainopt__bn_args *a;
    trainopt__bn_blocks bl;
    size_t first, piece; /* the round's first task; channels per task (NCHW) */
    int backward, nhwc;
} trainopt__pbn_job;

static void trainopt__pbn_task(void *arg, size_t i) {
    const trainopt__pbn_job *j = (const trainopt__pbn_job *)arg;
    const trainopt__bn_args *a = j->a;
    const size_t c0 = (j->first + i) * j->piece, c1 = trainopt__bn_min(a->cs, c0 + j->piece);
    size_t c = c0;
    if (j->nhwc) {
        if (j->backward) trainopt__bn_backward_nhwc_tile(a, &j->bl, c0);
        else trainopt__bn_train_nhwc_tile(a, &j->bl, c0);
    } else if (a->n * a->s > TRAINOPT__BN_SMALL_CHANNEL) {
        for (; c < c1; c++) {
            if (j->backward) trainopt__bn_backward_nchw_channel(a, &j->bl, c);
            else trainopt__bn_train_nchw_channel(a, &j->bl, c);
        }
    } else {
        const size_t whole = c0 + (c1 - c0) / TRAINOPT__BN_GROUP * TRAINOPT__BN_GROUP;
        for (; c < whole; c += TRAINOPT__BN_GROUP) {
            if (j->backward) trainopt__bn_backward_nchw_channels(a, &j->bl, c, TRAINOPT__BN_GROUP);
            else trainopt__bn_train_nchw_channels(a, &j->bl, c, TRAINOPT__BN_GROUP);
        }
        for (; c < c1; c++) {
            if (j->backward) trainopt__bn_backward_nchw_channels(a, &j->bl, c, 1);
            else trainopt__bn_train_nchw_channels(a, &j->bl, c, 1);
        }
    }
    if (a->stream) trainopt__stream_fence(); /* this thread's streaming stores, before the join */
}

TRAINOPT__DRIVER void trainopt__pbn_run(const trainopt__bn_args *a, int nhwc, int backward, const trainopt_threads *threads) {
    trainopt__pbn_job job;
    size_t tasks, round;
    job.a = a, job.bl = trainopt__bn_blocks_of(a->n, a->s), job.backward = backward, job.nhwc = nhwc;
    if (nhwc) job.piece = TRAINOPT__BN_TILE;
    else if (a->n * a->s > TRAINOPT__BN_SMALL_CHANNEL) job.piece = 1;
    else {
        const size_t quads = TRAINOPT_CHUNK / 4 / (a->n * a->s);
        job.piece = 4 * (quads ? quads : 1);
    }
    tasks = (a->cs + job.piece - 1) / job.piece;
    for (job.first = 0; job.first < tasks; job.first += round) {
        round = trainopt__bn_min(tasks - job.first, TRAINOPT__STEP_ROUND);
        trainopt__round_run(threads, round, trainopt__pbn_task, &job);
    }
}

TRAINOPT__KERNEL_API trainopt_status trainopt_batchnorm_forward_train_mt(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                                         const float *x, const float *gamma,
                                                                         const float *beta, float *running_mean,
                                                                         float *running_var, float *y, float *save_mean,
                                                                         float *save_invstd, const trainopt_threads *threads) {
    trainopt__bn_args a;
    int nhwc;
    const trainopt_status st = trainopt__bn_train_setup(c, &s, x, gamma, beta, running_mean, running_var, y, save_mean,
                                                        save_invstd, &a, &nhwc, "trainopt_batchnorm_forward_train_mt");
    if (st != TRAINOPT_OK || a.cs == 0) return st;
    if (trainopt__has_hook(threads)) {
        trainopt__pbn_run(&a, nhwc, 0, threads);
        return TRAINOPT_OK;
    }
    if (nhwc) trainopt__bn_train_nhwc(&a);
    else trainopt__bn_train_nchw(&a);
    if (a.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_batchnorm_backward_mt(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                                    const float *x, const float *dy, const float *gamma,
                                                                    const float *save_mean, const float *save_invstd,
                                                                    const float *y, float *dx, float *dgamma, float *dbeta,
                                                                    const trainopt_threads *threads) {
    trainopt__bn_args a;
    int nhwc;
    const trainopt_status st = trainopt__bn_backward_setup(c, &s, x, dy, gamma, save_mean, save_invstd, y, dx, dgamma,
                                                           dbeta, &a, &nhwc, "trainopt_batchnorm_backward_mt");
    if (st != TRAINOPT_OK || a.cs == 0) return st;
    if (trainopt__has_hook(threads)) {
        trainopt__pbn_run(&a, nhwc, 1, threads);
        return TRAINOPT_OK;
    }
    if (nhwc) trainopt__bn_backward_nhwc(&a);
    else trainopt__bn_backward_nchw(&a);
    if (a.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

/* >>parallel-batchnorm-infer: batch norm's inference pass on the caller's threads. It is
   elementwise (y = fma(x - mean, gamma/sqrt(var + eps), beta) per channel, the
   coefficients made as the serial call makes them), so any cut gives the serial bits; the
   pieces depend on the shape only, each about TRAINOPT_CHUNK values, a block of rows by a
   tile of channels whose coefficients it makes itself (at most BN_TILE per piece, so a
   piece spends one square root per at least TRAINOPT_CHUNK / BN_TILE values):
   - NCHW: images [r0, r1) of channels [c0, c0 + tc) (tc channels of S values making at
     most a chunk, images making about a chunk); a channel's row of more than
     TRAINOPT_CHUNK values is cut into pieces of TRAINOPT_CHUNK, one channel each;
   - NHWC (and spatial 1): rows [r0, r1) of channels [c0, c0 + tc), tc = min(C, BN_TILE).
     The serial call keeps the coefficients in y's first rows when C > BN_TILE; here each
     piece keeps its tile's on its stack, as the serial call does for C <= BN_TILE. */

typedef struct {
    const float *x, *gamma, *beta, *running_mean, *running_var;
    float *y;
    double eps;
    size_t rows, cs, s;   /* the view: rows (NCHW: images; NHWC: positions), channels, values per row of a channel */
    size_t width, block;  /* channels per piece; rows per piece */
    size_t tiles, segs;   /* pieces across the channels; pieces along one channel's row (NCHW) */
    size_t first;         /* the round's first piece */
    int nhwc, relu, stream;
} trainopt__pbn_infer_job;

static void trainopt__pbn_infer_task(void *arg, size_t i) {
    const trainopt__pbn_infer_job *j = (const trainopt__pbn_infer_job *)arg;
    const size_t p = j->first + i, seg = p % j->segs, tile = p / j->segs % j->tiles, rb = p / j->segs / j->tiles;
    const size_t c0 = tile * j->width, tc = trainopt__bn_min(j->width, j->cs - c0);
    const size_t r0 = rb * j->block, r1 = trainopt__bn_min(j->rows, r0 + j->block);
    float coef[3][TRAINOPT__BN_TILE];
    size_t ch, r;
    for (ch = 0; ch < tc; ch++) {
        const size_t at = c0 + ch;
        trainopt__bn_infer_coefs(j->eps, j->gamma ? j->gamma[at] : 1.0f, j->beta ? j->beta[at] : 0.0f,
                                 j->running_mean[at], j->running_var[at], coef[0] + ch, coef[1] + ch, coef[2] + ch);
    }
    if (j->nhwc) {
        float *cp[4];
        trainopt__bn_ew e;
        cp[0] = coef[0], cp[1] = coef[1], cp[2] = coef[2], cp[3] = NULL;
        trainopt__bn_infer_ew(cp, r0, r1, j->cs, tc, j->x + c0, j->y + c0, j->stream, &e);
        trainopt__bn_elem(&e, 0, j->relu);
    } else {
        const size_t s0 = seg * TRAINOPT_CHUNK, len = trainopt__bn_min(TRAINOPT_CHUNK, j->s - s0);
        for (r = r0; r < r1; r++)
            for (ch = 0; ch < tc; ch++) {
                const size_t o = (r * j->cs + c0 + ch) * j->s + s0;
                if (j->relu) trainopt__bn_row_norm(j->x + o, j->y + o, len, coef[0][ch], coef[1][ch], coef[2][ch], 1, j->stream);
                else trainopt__bn_row_norm(j->x + o, j->y + o, len, coef[0][ch], coef[1][ch], coef[2][ch], 0, j->stream);
            }
    }
    if (j->stream) trainopt__stream_fence(); /* this thread's streaming stores, before the join */
}

TRAINOPT__DRIVER void trainopt__pbn_infer_run(trainopt__pbn_infer_job *job, const trainopt_threads *threads) {
    size_t tasks, round;
    if (job->nhwc) {
        job->segs = 1;
        job->width = trainopt__bn_min(job->cs, TRAINOPT__BN_TILE);
        job->block = TRAINOPT_CHUNK / job->width;
    } else if (job->s > TRAINOPT_CHUNK) {
        job->segs = (job->s + TRAINOPT_CHUNK - 1) / TRAINOPT_CHUNK;
        job->width = job->block = 1;
    } else {
        const size_t fit = TRAINOPT_CHUNK / job->s; /* channels' rows in a chunk (>= 1) */
        job->segs = 1;
        job->width = trainopt__bn_min(trainopt__bn_min(job->cs, TRAINOPT__BN_TILE), fit);
        job->block = TRAINOPT_CHUNK / (job->width * job->s);
    }
    if (job->block == 0) job->block = 1;
    job->tiles = (job->cs + job->width - 1) / job->width;
    tasks = (job->rows + job->block - 1) / job->block * job->tiles * job->segs;
    for (job->first = 0; job->first < tasks; job->first += round) {
        round = trainopt__bn_min(tasks - job->first, TRAINOPT__STEP_ROUND);
        trainopt__round_run(threads, round, trainopt__pbn_infer_task, job);
    }
}

TRAINOPT__KERNEL_API trainopt_status trainopt_batchnorm_forward_infer_mt(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                                         const float *x, const float *gamma,
                                                                         const float *beta, const float *running_mean,
                                                                         const float *running_var, float *y,
                                                                         const trainopt_threads *threads) {
    trainopt__pbn_infer_job job;
    size_t total, n, sp;
    const trainopt_status st = trainopt__bn_infer_setup(c, &s, x, gamma, beta, running_mean, running_var, y, &total,
                                                        "trainopt_batchnorm_forward_infer_mt");
    if (st != TRAINOPT_OK || total == 0) return st;
    if (!trainopt__has_hook(threads)) {
        trainopt__bn_infer_serial(c, s, x, gamma, beta, running_mean, running_var, y, total);
        return TRAINOPT_OK;
    }
    job.x = x, job.gamma = gamma, job.beta = beta, job.running_mean = running_mean, job.running_var = running_var;
    job.y = y, job.eps = c->eps, job.cs = s.c, job.relu = c->fuse_relu != 0;
    job.stream = total >= TRAINOPT_STREAM_BYTES / sizeof(float);
    job.nhwc = trainopt__bn_view(&s, &n, &sp) == TRAINOPT_NHWC;
    job.rows = job.nhwc ? n * sp : n, job.s = job.nhwc ? 1 : sp;
    trainopt__pbn_infer_run(&job, threads);
    return TRAINOPT_OK;
}
