/* >>parallel-norms: layer, RMS and group norm on the caller's threads (trainopt_threads;
   manual: THREADS). The work is the unthreaded kernels' (>>norms), cut by rows into
   pieces that depend on the shape only, never on the number of threads:
   - forward, and backward without weight gradients: every row is independent, so a
     piece is a run of whole rows, computed exactly as the serial call computes it;
   - backward with weight gradients: dweight/dbias sum over rows in the serial call's
     canonical order (blocks of NORM_ROWS rows, each block's float sums with its rows in
     order, added in double in block order). With dx, a round of blocks goes in two
     joins: the blocks, row by row as the serial call (each block's float column sums
     into rows of dx kept for them), then the columns, split by tiles, each adding the
     round's block sums in block order to the double sums (dx's last 4 rows, as the
     serial call); those rows' dx is written last. Without dx, columns are split: a
     round's rows' coefficients (by blocks), then the weight-gradient sums (by column
     tiles, each sweeping every block in order), the double sums on the stack for up
     to PNORM_STACK_COLS columns; for more, each column tile sweeps the rows' sums
     itself, as the serial call does per tile. Either way the same additions in the
     same order, column by column.
   Every result is the bits of the unthreaded call, for any hook and any task order. */

/* Elements per piece of whole rows (a multiple of NORM_ROWS rows; at least NORM_ROWS). */
#define TRAINOPT__PNORM_PIECE TRAINOPT_CHUNK
/* Rows per round of the weight-gradient path: about 2M elements, 16 to 512 rows (a
   multiple of NORM_ROWS); columns per tile of its sums (a multiple of every sweep's
   width). Performance choices only: results do not depend on them. */
#define TRAINOPT__PNORM_ROUND_ELEMS 2097152
#define TRAINOPT__PNORM_ROUND_ROWS 512
#define TRAINOPT__PNORM_TILE 128
#define TRAINOPT__PNORM_STACK_COLS 512
/* Blocks per round of the row-by-row backward: its float sums take 2 rows of dx each.
   A performance choice only. */
#define TRAINOPT__PNORM_BY_ROW_BLOCKS 16

/* Rows per piece of whole rows for rows of cols values. */
TRAINOPT__FORCE_INLINE size_t trainopt__pnorm_piece_rows(size_t cols) {
    const size_t blocks = TRAINOPT__PNORM_PIECE / TRAINOPT__NORM_ROWS / cols;
    return TRAINOPT__NORM_ROWS * (blocks ? blocks : 1);
}

/* The call's rows [r0, r0 + rows) as a call of their own. */
TRAINOPT__FORCE_INLINE trainopt__norm_args trainopt__pnorm_sub(const trainopt__norm_args *p, size_t r0, size_t rows) {
    trainopt__norm_args s = *p;
    const size_t o = r0 * p->cols;
    s.rows = rows;
    s.x += o;
    if (s.dy) s.dy += o;
    if (s.out) s.out += o;
    if (s.mean) s.mean += r0;
    if (s.rstd) s.rstd += r0;
    if (s.save_mean) s.save_mean += r0;
    if (s.save_rstd) s.save_rstd += r0;
    return s;
}

/* ---- whole rows: the forward pass, and the backward pass without weight gradients ---- */

typedef struct {
    const trainopt__norm_args *p;
    size_t first, piece_rows; /* the round's first piece */
    int backward;
} trainopt__pnorm_rows_job;

static void trainopt__pnorm_rows_task(void *arg, size_t i) {
    const trainopt__pnorm_rows_job *j = (const trainopt__pnorm_rows_job *)arg;
    const size_t r0 = (j->first + i) * j->piece_rows;
    const trainopt__norm_args s = trainopt__pnorm_sub(j->p, r0, trainopt__bn_min(j->piece_rows, j->p->rows - r0));
    if (j->backward) trainopt__norm_backward(&s);
    else trainopt__norm_forward(&s);
    if (s.stream) trainopt__stream_fence(); /* this thread's streaming stores, before the join */
}

TRAINOPT__DRIVER void trainopt__pnorm_rows(const trainopt__norm_args *p, int backward, const trainopt_threads *threads) {
    trainopt__pnorm_rows_job job;
    size_t pieces, count;
    job.p = p, job.backward = backward, job.piece_rows = trainopt__pnorm_piece_rows(p->cols);
    pieces = (p->rows + job.piece_rows - 1) / job.piece_rows;
    for (job.first = 0; job.first < pieces; job.first += count) {
        count = trainopt__bn_min(pieces - job.first, TRAINOPT__STEP_ROUND);
        trainopt__round_run(threads, count, trainopt__pnorm_rows_task, &job);
    }
}

/* ---- the backward pass with weight gradients ---- */

typedef struct {
    const trainopt__norm_args *p;
    size_t r0, r1;         /* the round's rows (r0 a multiple of NORM_ROWS) */
    trainopt__norm_wsum ws; /* tw, tb: the sums of column 0 (NULL: one block, straight to dw, db) */
    trainopt__norm_row rc[TRAINOPT__PNORM_ROUND_ROWS];
    double stack_sums[2 * TRAINOPT__PNORM_STACK_COLS];
} trainopt__pnorm_bw_job;

/* The coefficients of the round's block i. */
static void trainopt__pnorm_coef_task(void *arg, size_t i) {
    trainopt__pnorm_bw_job *j = (trainopt__pnorm_bw_job *)arg;
    const size_t r0 = j->r0 + i * TRAINOPT__NORM_ROWS, r1 = trainopt__bn_min(j->r1, r0 + TRAINOPT__NORM_ROWS);
    trainopt__norm_bw_rows(j->p, r0, r1, j->rc + (r0 - j->r0));
}

/* The weight-gradient sums of column tile i over the round's blocks, in block order. */
static void trainopt__pnorm_wsum_task(void *arg, size_t i) {
    const trainopt__pnorm_bw_job *j = (const trainopt__pnorm_bw_job *)arg;
    const trainopt__norm_args *p = j->p;
    const size_t c0 = i * TRAINOPT__PNORM_TILE, c1 = trainopt__bn_min(p->cols, c0 + TRAINOPT__PNORM_TILE);
    trainopt__norm_wsum ws = j->ws;
    size_t r0;
    if (ws.tw) ws.tw += c0 * sizeof(double), ws.tb += c0 * sizeof(double); /* the tile's sums start at column c0 */
    for (r0 = j->r0; r0 < j->r1; r0 += TRAINOPT__NORM_ROWS)
        trainopt__norm_wgrad(p->x + r0 * p->cols, p->dy + r0 * p->cols, p->cols, j->rc + (r0 - j->r0),
                             trainopt__bn_min(j->r1 - r0, TRAINOPT__NORM_ROWS), c0, c1, &ws, r0 == 0);
}

/* Without dx and with more columns than the stack holds: column tile i sweeps every
   block's coefficients and sums itself (its double sums on its own stack). */
static void trainopt__pnorm_tile_task(void *arg, size_t i) {
    const trainopt__norm_args *p = ((const trainopt__pnorm_bw_job *)arg)->p;
    const size_t c0 = i * TRAINOPT__PNORM_TILE, c1 = trainopt__bn_min(p->cols, c0 + TRAINOPT__PNORM_TILE);
    double sums[2 * TRAINOPT__PNORM_TILE];
    trainopt__norm_row rc[TRAINOPT__NORM_ROWS];
    trainopt__norm_wsum ws;
    size_t r0, r1;
    ws.dw = p->dw, ws.db = p->db;
    ws.tw = (unsigned char *)sums, ws.tb = ws.tw + TRAINOPT__PNORM_TILE * sizeof(double);
    for (r0 = 0; r0 < p->rows; r0 = r1) {
        r1 = trainopt__bn_min(p->rows, r0 + TRAINOPT__NORM_ROWS);
        trainopt__norm_bw_rows(p, r0, r1, rc);
        trainopt__norm_wgrad(p->x + r0 * p->cols, p->dy + r0 * p->cols, p->cols, rc, r1 - r0, c0, c1, &ws, r0 == 0);
    }
    trainopt__norm_wfinish(&ws, c0, c1);
}

/* The row-by-row backward (with dx, more than one block): a round's blocks and the
   column tiles of its sums, in two joins. */
typedef struct {
    const trainopt__norm_args *p;
    size_t b0, nb;          /* the round's first block and its count */
    size_t dx_end;          /* dx of rows from here on is written after the sums */
    float *sums;            /* block i of the round: 2*cols floats at sums + 2*i*cols */
    trainopt__norm_wsum ws; /* the double sums (dx's last 4 rows) */
} trainopt__pnorm_by_row_job;

static void trainopt__pnorm_by_row_block_task(void *arg, size_t i) {
    const trainopt__pnorm_by_row_job *j = (const trainopt__pnorm_by_row_job *)arg;
    const trainopt__norm_args *p = j->p;
    const size_t r0 = (j->b0 + i) * TRAINOPT__NORM_ROWS, r1 = trainopt__bn_min(p->rows, r0 + TRAINOPT__NORM_ROWS);
    float *const fw = j->sums + 2 * i * p->cols;
    trainopt__norm_block_by_row(p, r0, r1, fw, fw + p->cols, j->dx_end);
    if (p->stream) trainopt__stream_fence(); /* this thread's streaming stores, before the join */
}

/* Column tile i: the round's block sums added to the double sums, blocks in order. */
static void trainopt__pnorm_by_row_fold_task(void *arg, size_t i) {
    const trainopt__pnorm_by_row_job *j = (const trainopt__pnorm_by_row_job *)arg;
    const size_t cols = j->p->cols, c0 = i * TRAINOPT__PNORM_TILE, c1 = trainopt__bn_min(cols, c0 + TRAINOPT__PNORM_TILE);
    size_t k;
    for (k = 0; k < j->nb; k++) {
        const float *fw = j->sums + 2 * k * cols;
        trainopt__norm_wfold(&j->ws, c0, c0, fw + c0, fw + cols + c0, c1 - c0, j->b0 + k == 0);
    }
}

TRAINOPT__DRIVER void trainopt__pnorm_backward_by_row(const trainopt__norm_args *p, const trainopt_threads *threads) {
    const size_t rows = p->rows, cols = p->cols, tiles = (cols + TRAINOPT__PNORM_TILE - 1) / TRAINOPT__PNORM_TILE;
    const size_t blocks = (rows + TRAINOPT__NORM_ROWS - 1) / TRAINOPT__NORM_ROWS;
    const size_t round = trainopt__bn_min(blocks, TRAINOPT__PNORM_BY_ROW_BLOCKS);
    trainopt__pnorm_by_row_job job;
    job.p = p;
    job.dx_end = rows - 4 - 2 * round; /* > 0: 2*ceil(rows/16) + 4 < rows for rows > 16 */
    job.sums = p->out + job.dx_end * cols;
    job.ws.dw = p->dw, job.ws.db = p->db;
    job.ws.tw = (unsigned char *)(p->out + (rows - 4) * cols);
    job.ws.tb = job.ws.tw + cols * sizeof(double);
    for (job.b0 = 0; job.b0 < blocks; job.b0 += job.nb) {
        job.nb = trainopt__bn_min(round, blocks - job.b0);
        trainopt__round_run(threads, job.nb, trainopt__pnorm_by_row_block_task, &job);
        trainopt__round_run(threads, tiles, trainopt__pnorm_by_row_fold_task, &job);
    }
    trainopt__norm_wfinish(&job.ws, 0, cols);
    trainopt__norm_bw_tail(p, job.dx_end, rows);
    if (p->stream) trainopt__stream_fence();
}

TRAINOPT__DRIVER void trainopt__pnorm_backward(const trainopt__norm_args *p, const trainopt_threads *threads) {
    const size_t rows = p->rows, cols = p->cols, tiles = (cols + TRAINOPT__PNORM_TILE - 1) / TRAINOPT__PNORM_TILE;
    const size_t blocks = (rows + TRAINOPT__NORM_ROWS - 1) / TRAINOPT__NORM_ROWS;
    size_t round_rows = TRAINOPT__PNORM_ROUND_ELEMS / cols / TRAINOPT__NORM_ROWS * TRAINOPT__NORM_ROWS;
    trainopt__pnorm_bw_job job;
    if (!p->dw && !p->db) {
        trainopt__pnorm_rows(p, 1, threads);
        return;
    }
    if (blocks > 1 && p->out) {
        trainopt__pnorm_backward_by_row(p, threads);
        return;
    }
    job.p = p;
    if (blocks > 1 && cols > TRAINOPT__PNORM_STACK_COLS) { /* no dx here */
        trainopt__round_run(threads, tiles, trainopt__pnorm_tile_task, &job);
        return;
    }
    if (round_rows < TRAINOPT__NORM_ROWS) round_rows = TRAINOPT__NORM_ROWS;
    if (round_rows > TRAINOPT__PNORM_ROUND_ROWS) round_rows = TRAINOPT__PNORM_ROUND_ROWS;
    job.ws.dw = p->dw, job.ws.db = p->db;
    job.ws.tw = job.ws.tb = NULL;
    if (blocks > 1) {
        job.ws.tw = (unsigned char *)job.stack_sums;
        job.ws.tb = job.ws.tw + cols * sizeof(double);
    }
    for (job.r0 = 0; job.r0 < rows; job.r0 = job.r1) {
        const size_t round_blocks = (trainopt__bn_min(rows - job.r0, round_rows) + TRAINOPT__NORM_ROWS - 1) / TRAINOPT__NORM_ROWS;
        job.r1 = trainopt__bn_min(rows, job.r0 + round_rows);
        trainopt__round_run(threads, round_blocks, trainopt__pnorm_coef_task, &job);
        trainopt__round_run(threads, tiles, trainopt__pnorm_wsum_task, &job);
        if (p->out) { /* one block: its dx */
            trainopt__norm_bw_dx(p, job.r0, job.r1, job.rc);
            if (p->stream) trainopt__stream_fence();
        }
    }
    if (job.ws.tw) trainopt__norm_wfinish(&job.ws, 0, cols);
}

/* ---- public functions ---- */

/* The forward passes: the unthreaded call's checks and, without a hook, its body. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__pnorm_forward_call(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                    int rms, const float *x, const float *weight,
                                                                    const float *bias, float *y, float *mean, float *rstd,
                                                                    const trainopt_threads *threads, const char *fn) {
    trainopt__norm_args a;
    const trainopt_status st = trainopt__norm_forward_setup(c, rows, cols, rms, x, weight, bias, y, mean, rstd, &a, fn);
    if (st != TRAINOPT_OK || a.rows == 0) return st;
    if (trainopt__has_hook(threads)) {
        trainopt__pnorm_rows(&a, 0, threads);
        return TRAINOPT_OK;
    }
    trainopt__norm_forward(&a);
    if (a.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_layernorm_forward_mt(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                   const float *x, const float *weight, const float *bias,
                                                                   float *y, float *mean, float *rstd,
                                                                   const trainopt_threads *threads) {
    return trainopt__pnorm_forward_call(c, rows, cols, 0, x, weight, bias, y, mean, rstd, threads,
                                        "trainopt_layernorm_forward_mt");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_rmsnorm_forward_mt(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                 const float *x, const float *weight, float *y, float *rstd,
                                                                 const trainopt_threads *threads) {
    return trainopt__pnorm_forward_call(c, rows, cols, 1, x, weight, NULL, y, NULL, rstd, threads,
                                        "trainopt_rmsnorm_forward_mt");
}

/* The backward passes: the unthreaded call's checks and, without a hook, its body. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__pnorm_backward_call(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                     int rms, const float *x, const float *dy,
                                                                     const float *weight, const float *mean,
                                                                     const float *rstd, float *dx, float *dweight,
                                                                     float *dbias, const trainopt_threads *threads,
                                                                     const char *fn) {
    trainopt__norm_args a;
    const trainopt_status st =
        trainopt__norm_backward_setup(c, rows, cols, rms, x, dy, weight, mean, rstd, dx, dweight, dbias, &a, fn);
    if (st != TRAINOPT_OK || a.rows == 0) return st;
    if (trainopt__has_hook(threads)) {
        trainopt__pnorm_backward(&a, threads);
        return TRAINOPT_OK;
    }
    trainopt__norm_backward(&a);
    if (a.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_layernorm_backward_mt(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                    const float *x, const float *dy, const float *weight,
                                                                    const float *mean, const float *rstd, float *dx,
                                                                    float *dweight, float *dbias,
                                                                    const trainopt_threads *threads) {
    return trainopt__pnorm_backward_call(c, rows, cols, 0, x, dy, weight, mean, rstd, dx, dweight, dbias, threads,
                                         "trainopt_layernorm_backward_mt");
}

TRAINOPT__KERNEL_API trainopt_status trainopt_rmsnorm_backward_mt(const trainopt_norm_config *c, size_t rows, size_t cols,
                                                                  const float *x, const float *dy, const float *weight,
                                                                  const float *rstd, float *dx, float *dweight,
                                                                  const trainopt_threads *threads) {
    return trainopt__pnorm_backward_call(c, rows, cols, 1, x, dy, weight, NULL, rstd, dx, dweight, NULL, threads,
                                         "trainopt_rmsnorm_backward_mt");
}

/* ---- group norm (NCHW: group q = (sample, group), one row of channels_per_group*spatial
   values) ---- */

/* Group norm has no sum across groups but its weight gradients' (over samples, per
   channel). The forward pass cuts the groups q into pieces of whole groups as the
   layer-norm rows above. The backward pass runs the serial call's tiles
   (trainopt__gn_backward_tile) one group at a time (a group of more than NORM_TILE
   channels: one tile of its channels at a time, as the serial call): each channel's
   weight gradients are then summed over the samples in order by one task, the serial
   call's additions. Without weight gradients, the samples are cut as well. */

typedef struct {
    const trainopt__gn_args *p;
    size_t first;        /* the round's first task */
    size_t piece;        /* forward: groups per piece; backward: samples per piece */
    size_t tiles;        /* backward: channel tiles per group */
    size_t group_tasks;  /* backward: tasks per piece of samples (groups * tiles) */
} trainopt__pgn_job;

static void trainopt__pgn_forward_task(void *arg, size_t i) {
    const trainopt__pgn_job *j = (const trainopt__pgn_job *)arg;
    const size_t rows = j->p->n * j->p->groups, q0 = (j->first + i) * j->piece;
    trainopt__gn_forward(j->p, q0, trainopt__bn_min(rows, q0 + j->piece));
    if (j->p->stream) trainopt__stream_fence();
}

static void trainopt__pgn_backward_task(void *arg, size_t i) {
    const trainopt__pgn_job *j = (const trainopt__pgn_job *)arg;
    const trainopt__gn_args *p = j->p;
    const size_t task = j->first + i, n0 = task / j->group_tasks * j->piece, t = task % j->group_tasks;
    const size_t g = t / j->tiles, cc0 = t % j->tiles * TRAINOPT__NORM_TILE;
    trainopt__gn_backward_tile(p, n0, trainopt__bn_min(p->n, n0 + j->piece), g, g + 1, cc0,
                               trainopt__bn_min(p->cpg, cc0 + TRAINOPT__NORM_TILE));
    if (p->stream) trainopt__stream_fence();
}

/* count tasks in rounds of STEP_ROUND. */
TRAINOPT__DRIVER void trainopt__pgn_run(trainopt__pgn_job *job, size_t count, trainopt_task_fn task,
                                        const trainopt_threads *threads) {
    size_t round;
    for (job->first = 0; job->first < count; job->first += round) {
        round = trainopt__bn_min(count - job->first, TRAINOPT__STEP_ROUND);
        trainopt__round_run(threads, round, task, job);
    }
}

TRAINOPT__KERNEL_API trainopt_status trainopt_groupnorm_forward_mt(const trainopt_norm_config *c, trainopt_bn_shape s,
                                                                   size_t groups, const float *x, const float *weight,
                                                                   const float *bias, float *y, float *mean, float *rstd,
                                                                   const trainopt_threads *threads) {
    trainopt__gn_args a;
    trainopt__pgn_job job;
    size_t rows;
    const trainopt_status st =
        trainopt__gn_forward_setup(c, &s, groups, x, weight, bias, y, mean, rstd, &a, "trainopt_groupnorm_forward_mt");
    if (st != TRAINOPT_OK || a.n == 0) return st;
    rows = a.n * a.groups;
    if (!trainopt__has_hook(threads)) {
        trainopt__gn_forward(&a, 0, rows);
        if (a.stream) trainopt__stream_fence();
        return TRAINOPT_OK;
    }
    memset(&job, 0, sizeof job);
    job.p = &a;
    job.piece = trainopt__pnorm_piece_rows(a.cpg * a.hw);
    trainopt__pgn_run(&job, (rows + job.piece - 1) / job.piece, trainopt__pgn_forward_task, threads);
    return TRAINOPT_OK;
}

TRAINOPT__KERNEL_API trainopt_status trainopt_groupnorm_backward_mt(const trainopt_norm_config *c, trainopt_bn_shape s,
                                                                    size_t groups, const float *x, const float *dy,
                                                                    const float *weight, const float *mean,
                                                                    const float *rstd, float *dx, float *dweight,
                                                                    float *dbias, const trainopt_threads *threads) {
    trainopt__gn_args a;
    trainopt__pgn_job job;
    const trainopt_status st = trainopt__gn_backward_setup(c, &s, groups, x, dy, weight, mean, rstd, dx, dweight, dbias,
                                                           &a, "trainopt_groupnorm_backward_mt");
    if (st != TRAINOPT_OK || a.n == 0) return st;
    if (!trainopt__has_hook(threads)) {
        trainopt__gn_backward(&a);
        if (a.stream) trainopt__stream_fence();
        return TRAINOPT_OK;
    }
    memset(&job, 0, sizeof job);
    job.p = &a;
    job.tiles = (a.cpg + TRAINOPT__NORM_TILE - 1) / TRAINOPT__NORM_TILE;
    job.group_tasks = a.groups * job.tiles;
    /* every sample in one task when a channel's weight gradients are summed there */
    if (a.dw || a.db) job.piece = a.n;
    else {
        const size_t per = TRAINOPT__PNORM_PIECE / (a.cpg * a.hw);
        job.piece = per ? per : 1;
    }
    trainopt__pgn_run(&job, (a.n + job.piece - 1) / job.piece * job.group_tasks, trainopt__pgn_backward_task, threads);
    return TRAINOPT_OK;
}
