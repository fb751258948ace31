/* >>parallel-dropout: dropout on the caller's threads (trainopt_threads; manual:
   THREADS). Every draw is a pure function of (seed, offset + i) (>>rng), so the piece
   of TRAINOPT_CHUNK elements starting at element s is the unthreaded call with
   offset + s, the arrays advanced by s and the mask by s/8 (TRAINOPT_CHUNK is a
   multiple of 8, so every piece owns whole mask bytes): any split and any order of the
   pieces give the bits of the unthreaded call. */

typedef struct {
    double p;
    uint64_t seed, offset;
    size_t n, first; /* first: the round's first piece */
    const float *x;
    float *y;
    uint8_t *mask_out;      /* forward */
    const uint8_t *mask_in; /* backward */
    int backward;
} trainopt__pdrop_job;

static void trainopt__pdrop_task(void *arg, size_t i) {
    const trainopt__pdrop_job *j = (const trainopt__pdrop_job *)arg;
    const size_t s = (j->first + i) * TRAINOPT_CHUNK, len = trainopt__bn_min(TRAINOPT_CHUNK, j->n - s);
    if (j->backward)
        trainopt__dropout_backward_body(j->p, j->seed, j->offset + s, len, j->x + s, j->y + s,
                                        j->mask_in ? j->mask_in + s / 8 : NULL, j->n);
    else
        trainopt__dropout_apply(j->p, j->seed, j->offset + s, len, j->x + s, j->y + s, j->mask_out ? j->mask_out + s / 8 : NULL,
                                j->n);
}

TRAINOPT__DRIVER void trainopt__pdrop_run(trainopt__pdrop_job *job, const trainopt_threads *threads) {
    const size_t pieces = (job->n + TRAINOPT_CHUNK - 1) / TRAINOPT_CHUNK;
    size_t round;
    for (job->first = 0; job->first < pieces; job->first += round) {
        round = trainopt__bn_min(pieces - job->first, TRAINOPT__STEP_ROUND);
        trainopt__round_run(threads, round, trainopt__pdrop_task, job);
    }
}

TRAINOPT__KERNEL_API trainopt_status trainopt_dropout_forward_mt(double p, uint64_t seed, uint64_t offset, size_t n,
                                                                 const float *x, float *y, uint8_t *mask,
                                                                 const trainopt_threads *threads) {
    trainopt__pdrop_job job;
    const trainopt_status st = trainopt__dropout_check_fn(p, n, x, y, mask, 0, "trainopt_dropout_forward_mt");
    if (st != TRAINOPT_OK || n == 0) return st;
    if (!trainopt__has_hook(threads)) {
        trainopt__dropout_apply(p, seed, offset, n, x, y, mask, n);
        return TRAINOPT_OK;
    }
    job.p = p, job.seed = seed, job.offset = offset, job.n = n, job.x = x, job.y = y;
    job.mask_out = mask, job.mask_in = NULL, job.backward = 0;
    trainopt__pdrop_run(&job, threads);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_dropout_backward_mt(double p, uint64_t seed, uint64_t offset, size_t n,
                                                                  const float *dy, float *dx, const uint8_t *mask,
                                                                  const trainopt_threads *threads) {
    trainopt__pdrop_job job;
    const trainopt_status st = trainopt__dropout_check_fn(p, n, dy, dx, mask, 1, "trainopt_dropout_backward_mt");
    if (st != TRAINOPT_OK || n == 0) return st;
    if (!trainopt__has_hook(threads)) {
        trainopt__dropout_backward_body(p, seed, offset, n, dy, dx, mask, n);
        return TRAINOPT_OK;
    }
    job.p = p, job.seed = seed, job.offset = offset, job.n = n, job.x = dy, job.y = dx;
    job.mask_out = NULL, job.mask_in = mask, job.backward = 1;
    trainopt__pdrop_run(&job, threads);
    return TRAINOPT_OK;
}
