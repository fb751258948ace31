/* >>parallel-random: the generators and initializers on the caller's threads
   (trainopt_threads; manual: THREADS). Every value is a pure function of
   (seed, offset + i) (>>rng), so the piece of TRAINOPT_CHUNK elements starting at
   element s is the unthreaded call with offset + s and the output advanced by s
   (trainopt__rng_fill_range): any split and any order of the pieces give the bits of
   the unthreaded call. The checks are the unthreaded call's, under the _mt name. */

typedef struct {
    const trainopt__rng_fill *f;
    size_t first; /* the round's first piece */
} trainopt__prng_job;

static void trainopt__prng_task(void *arg, size_t i) {
    const trainopt__prng_job *j = (const trainopt__prng_job *)arg;
    const size_t s = (j->first + i) * TRAINOPT_CHUNK;
    trainopt__rng_fill_range(j->f, s, trainopt__bn_min(TRAINOPT_CHUNK, j->f->n - s));
}

/* Draws a validated fill (nothing when st is not OK or the fill is empty); returns st. */
TRAINOPT__DRIVER trainopt_status trainopt__prng_run(trainopt_status st, const trainopt__rng_fill *f,
                                                    const trainopt_threads *threads) {
    trainopt__prng_job job;
    size_t pieces, round;
    if (st != TRAINOPT_OK || f->n == 0) return st;
    if (!trainopt__has_hook(threads)) {
        trainopt__rng_fill_range(f, 0, f->n);
        return TRAINOPT_OK;
    }
    job.f = f;
    pieces = (f->n + TRAINOPT_CHUNK - 1) / TRAINOPT_CHUNK;
    for (job.first = 0; job.first < pieces; job.first += round) {
        round = trainopt__bn_min(pieces - job.first, TRAINOPT__STEP_ROUND);
        trainopt__round_run(threads, round, trainopt__prng_task, &job);
    }
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_rand_u32_mt(uint64_t seed, uint64_t offset, size_t n, uint32_t *out,
                                                          const trainopt_threads *threads) {
    trainopt__rng_fill f;
    return trainopt__prng_run(trainopt__rand_u32_plan(seed, offset, n, out, &f, "trainopt_rand_u32_mt"), &f, threads);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_rand_uniform_mt(uint64_t seed, uint64_t offset, size_t n, double lo,
                                                              double hi, float *out, const trainopt_threads *threads) {
    trainopt__rng_fill f;
    return trainopt__prng_run(trainopt__rand_uniform_plan(seed, offset, n, lo, hi, out, &f, "trainopt_rand_uniform_mt"), &f,
                              threads);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_rand_normal_mt(uint64_t seed, uint64_t offset, size_t n, double mean,
                                                             double std, float *out, const trainopt_threads *threads) {
    trainopt__rng_fill f;
    return trainopt__prng_run(trainopt__rand_normal_plan(seed, offset, n, mean, std, out, &f, "trainopt_rand_normal_mt"), &f,
                              threads);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_xavier_uniform_mt(uint64_t seed, uint64_t offset, size_t n, size_t fan_in,
                                                                size_t fan_out, double gain, float *out,
                                                                const trainopt_threads *threads) {
    trainopt__rng_fill f;
    return trainopt__prng_run(
        trainopt__xavier(0, seed, offset, n, fan_in, fan_out, gain, out, &f, "trainopt_xavier_uniform_mt"), &f, threads);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_xavier_normal_mt(uint64_t seed, uint64_t offset, size_t n, size_t fan_in,
                                                               size_t fan_out, double gain, float *out,
                                                               const trainopt_threads *threads) {
    trainopt__rng_fill f;
    return trainopt__prng_run(
        trainopt__xavier(1, seed, offset, n, fan_in, fan_out, gain, out, &f, "trainopt_xavier_normal_mt"), &f, threads);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_kaiming_uniform_mt(const trainopt_kaiming_config *c, uint64_t seed,
                                                                 uint64_t offset, size_t n, size_t fan_in, size_t fan_out,
                                                                 float *out, const trainopt_threads *threads) {
    trainopt__rng_fill f;
    return trainopt__prng_run(
        trainopt__kaiming(0, c, seed, offset, n, fan_in, fan_out, out, &f, "trainopt_kaiming_uniform_mt"), &f, threads);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_kaiming_normal_mt(const trainopt_kaiming_config *c, uint64_t seed,
                                                                uint64_t offset, size_t n, size_t fan_in, size_t fan_out,
                                                                float *out, const trainopt_threads *threads) {
    trainopt__rng_fill f;
    return trainopt__prng_run(
        trainopt__kaiming(1, c, seed, offset, n, fan_in, fan_out, out, &f, "trainopt_kaiming_normal_mt"), &f, threads);
}

TRAINOPT__KERNEL_API trainopt_status trainopt_trunc_normal_mt(const trainopt_trunc_normal_config *c, uint64_t seed,
                                                              uint64_t offset, size_t n, float *out,
                                                              const trainopt_threads *threads) {
    trainopt__rng_fill f;
    return trainopt__prng_run(trainopt__trunc_normal_plan(c, seed, offset, n, out, &f, "trainopt_trunc_normal_mt"), &f,
                              threads);
}
