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
