/* tests/test_parallel.c - the multi-tensor steps and the threaded reductions (issue 19).
   Every _step_multi and every _mt function runs on a list of tensors whose lengths do
   not divide into TRAINOPT_CHUNK (or into any vector width), and must give the bits of
   the per-tensor, single-threaded calls: without a hook; on a real pthread pool of 1,
   2, 3 and 7 threads (more threads than cores); and on serial hooks that run the tasks
   in reverse and in a shuffled order. A bad tensor in the middle of a list must be
   refused with nothing written anywhere. pa_complete holds the table against the kernel
   list. Compiled once per backend (see tests/harness.h); the tsan leg runs this suite
   under ThreadSanitizer. The slow legs (-O0, TSan, valgrind, qemu) run the smaller
   sample (runner --sample small, pa_sampled): every case, fewer hooks per case. */
#define _POSIX_C_SOURCE 200112L /* pthreads under -std=c99 */
#include "harness.h"
#include "trainopt.h"
#include "trainopt_simd.h" /* TRAINOPT__VECTOR_IS_LINE: where dropout streams */

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The list: lengths around the chunk size and odd tails; one empty tensor. */
static const size_t pa_lens[] = {37, 0, 16385, 1, 50001, 16384, 3001, 16383};
#define PA_K (sizeof pa_lens / sizeof pa_lens[0])
#define PA_ARRAYS 5 /* param, grad, up to three states */
#define PA_STEPS 3

/* ---- hooks ------------------------------------------------------------------------------ */

/* A real pool, made per call: `threads` workers (the caller among them) take task indices
   from a shared counter until none is left. */
typedef struct {
    trainopt_task_fn task;
    void *arg;
    size_t count, next;
} pa_work;

static void *pa_worker(void *p) {
    pa_work *w = (pa_work *)p;
    size_t i;
    while ((i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED)) < w->count) w->task(w->arg, i);
    return NULL;
}

static int pa_pool_failed;
static void pa_pthread_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    const int threads = *(const int *)ctx;
    pthread_t tid[8];
    pa_work w;
    int i, started = 0;
    w.task = task, w.arg = arg, w.count = count, w.next = 0;
    for (i = 1; i < threads; i++) {
        if (pthread_create(&tid[started], NULL, pa_worker, &w) != 0) {
            pa_pool_failed = 1;
            break;
        }
        started++;
    }
    pa_worker(&w);
    for (i = 0; i < started; i++) pthread_join(tid[i], NULL);
}

static void pa_reverse_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    (void)ctx;
    while (count-- > 0) task(arg, count);
}

/* A different permutation on every call (ctx: the generator's state). */
static void pa_shuffled_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    size_t order[256], i;
    if (count > 256) exit(3); /* a round is far smaller */
    for (i = 0; i < count; i++) order[i] = i;
    for (i = count; i > 1; i--) {
        size_t j = (size_t)(to_rand_u64((uint64_t *)ctx) % i), tmp = order[i - 1];
        order[i - 1] = order[j], order[j] = tmp;
    }
    for (i = 0; i < count; i++) task(arg, order[i]);
}

typedef struct {
    const char *name;
    trainopt_parallel_for_fn fn;
    int threads;
} pa_hook;

static const pa_hook pa_hooks[] = {
    {"no hook", NULL, 0},          {"pthread x1", pa_pthread_for, 1}, {"pthread x2", pa_pthread_for, 2},
    {"pthread x3", pa_pthread_for, 3}, {"pthread x7", pa_pthread_for, 7}, {"reverse", pa_reverse_for, 0},
    {"shuffled", pa_shuffled_for, 0},
};
#define PA_HOOKS (sizeof pa_hooks / sizeof pa_hooks[0])

/* The threads argument for hook h (its ctx points into *ctx_mem). */
static trainopt_threads pa_threads(const pa_hook *h, int *threads, uint64_t *seed) {
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    th.parallel_for = h->fn;
    *threads = h->threads;
    th.ctx = h->fn == pa_shuffled_for ? (void *)seed : (void *)threads;
    return th;
}

/* The sample (to_ctx.small, tests/harness.h): a full run tries every hook on every case. The
   slow legs' small sample tries three per case: pthread x3 and shuffled always (threads
   racing, and an order not the serial one), and in turn by the case's number c one of no
   hook, pthread x1, x2, x7 and reverse, so that every hook still runs, on every fifth case.
   A test numbers its cases consecutively (its loops' running count; pm_test_optim says
   how it numbers); pa_test_sample holds this helper to that. */
static int pa_sampled(const to_ctx *t, size_t c, size_t h) {
    static const size_t turn[] = {0, 1, 2, 4, 5}; /* pa_hooks' indices: none, x1, x2, x7, reverse */
    return !t->small || h == 3 || h == 6 || h == turn[c % 5];
}

/* ---- the optimizers ----------------------------------------------------------------------- */

/* One optimizer: its multi-tensor step and the per-tensor reference (the _ex with options,
   the plain step without), each with a config that uses every state it has. */
typedef struct {
    const char *name;  /* the multi-tensor step's short name */
    int states;        /* state arrays in use */
    trainopt_status (*multi)(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                             const trainopt_threads *th);
    trainopt_status (*one)(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o);
} pa_optim;

static trainopt_sgd_config pa_sgd_cfg(void) {
    trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
    c.lr = 0.05, c.momentum = 0.9, c.weight_decay = 0.01, c.nesterov = 1;
    return c;
}
static trainopt_status pa_sgd_multi(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                                    const trainopt_threads *th) {
    trainopt_sgd_config c = pa_sgd_cfg();
    return trainopt_sgd_step_multi(&c, step, k, ts, o, th);
}
static trainopt_status pa_sgd_one(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o) {
    trainopt_sgd_config c = pa_sgd_cfg();
    return o ? trainopt_sgd_step_ex(&c, step, t->n, t->param, t->grad, t->state[0], o)
             : trainopt_sgd_step(&c, step, t->n, t->param, t->grad, t->state[0]);
}

static trainopt_adagrad_config pa_adagrad_cfg(void) {
    trainopt_adagrad_config c = TRAINOPT_ADAGRAD_DEFAULTS;
    c.lr_decay = 0.01, c.weight_decay = 0.02;
    return c;
}
static trainopt_status pa_adagrad_multi(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                                        const trainopt_threads *th) {
    trainopt_adagrad_config c = pa_adagrad_cfg();
    return trainopt_adagrad_step_multi(&c, step, k, ts, o, th);
}
static trainopt_status pa_adagrad_one(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o) {
    trainopt_adagrad_config c = pa_adagrad_cfg();
    return o ? trainopt_adagrad_step_ex(&c, step, t->n, t->param, t->grad, t->state[0], o)
             : trainopt_adagrad_step(&c, step, t->n, t->param, t->grad, t->state[0]);
}

static trainopt_rmsprop_config pa_rmsprop_cfg(void) {
    trainopt_rmsprop_config c = TRAINOPT_RMSPROP_DEFAULTS;
    c.momentum = 0.9, c.centered = 1, c.weight_decay = 0.01;
    return c;
}
static trainopt_status pa_rmsprop_multi(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                                        const trainopt_threads *th) {
    trainopt_rmsprop_config c = pa_rmsprop_cfg();
    return trainopt_rmsprop_step_multi(&c, step, k, ts, o, th);
}
static trainopt_status pa_rmsprop_one(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o) {
    trainopt_rmsprop_config c = pa_rmsprop_cfg();
    return o ? trainopt_rmsprop_step_ex(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1], t->state[2], o)
             : trainopt_rmsprop_step(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1], t->state[2]);
}

static trainopt_adam_config pa_adam_cfg(void) {
    trainopt_adam_config c = TRAINOPT_ADAM_DEFAULTS;
    c.amsgrad = 1, c.weight_decay = 0.01;
    return c;
}
static trainopt_status pa_adam_multi(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                                     const trainopt_threads *th) {
    trainopt_adam_config c = pa_adam_cfg();
    return trainopt_adam_step_multi(&c, step, k, ts, o, th);
}
static trainopt_status pa_adam_one(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o) {
    trainopt_adam_config c = pa_adam_cfg();
    return o ? trainopt_adam_step_ex(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1], t->state[2], o)
             : trainopt_adam_step(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1], t->state[2]);
}

static trainopt_adam_config pa_adamw_cfg(void) {
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    c.lr = 0.01;
    return c;
}
static trainopt_status pa_adamw_multi(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                                      const trainopt_threads *th) {
    trainopt_adam_config c = pa_adamw_cfg();
    return trainopt_adamw_step_multi(&c, step, k, ts, o, th);
}
static trainopt_status pa_adamw_one(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o) {
    trainopt_adam_config c = pa_adamw_cfg();
    return o ? trainopt_adamw_step_ex(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1], NULL, o)
             : trainopt_adamw_step(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1], NULL);
}

/* NAdam: mu_product as a training loop carries it, made here from the step. */
static trainopt_nadam_config pa_nadam_cfg(void) {
    trainopt_nadam_config c = TRAINOPT_NADAM_DEFAULTS;
    c.weight_decay = 0.01, c.decoupled_weight_decay = 1;
    return c;
}
static double pa_nadam_mu_product(const trainopt_nadam_config *c, int64_t step) {
    double mu_product = 1.0;
    int64_t s;
    if (step < 1) return 0.5; /* a valid product, so that the bad step is what is refused */
    for (s = 1; s <= step; s++) mu_product = trainopt_nadam_mu_product(c, s, mu_product);
    return mu_product;
}
static trainopt_status pa_nadam_multi(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                                      const trainopt_threads *th) {
    trainopt_nadam_config c = pa_nadam_cfg();
    return trainopt_nadam_step_multi(&c, step, pa_nadam_mu_product(&c, step), k, ts, o, th);
}
static trainopt_status pa_nadam_one(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o) {
    trainopt_nadam_config c = pa_nadam_cfg();
    const double mp = pa_nadam_mu_product(&c, step);
    return o ? trainopt_nadam_step_ex(&c, step, mp, t->n, t->param, t->grad, t->state[0], t->state[1], o)
             : trainopt_nadam_step(&c, step, mp, t->n, t->param, t->grad, t->state[0], t->state[1]);
}

/* RAdam from step 11: rho_t > 5 there, so the rectified branch runs (steps 1 to 3 would
   take the unadapted one). Step 0 stays 0 (pa_test_refusals' bad step). */
#define PA_RADAM_STEP(step) ((step) > 0 ? (step) + 10 : (step))
static trainopt_radam_config pa_radam_cfg(void) {
    trainopt_radam_config c = TRAINOPT_RADAM_DEFAULTS;
    c.weight_decay = 0.01;
    return c;
}
static trainopt_status pa_radam_multi(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                                      const trainopt_threads *th) {
    trainopt_radam_config c = pa_radam_cfg();
    return trainopt_radam_step_multi(&c, PA_RADAM_STEP(step), k, ts, o, th);
}
static trainopt_status pa_radam_one(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o) {
    trainopt_radam_config c = pa_radam_cfg();
    step = PA_RADAM_STEP(step);
    return o ? trainopt_radam_step_ex(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1], o)
             : trainopt_radam_step(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1]);
}

static trainopt_adamax_config pa_adamax_cfg(void) {
    trainopt_adamax_config c = TRAINOPT_ADAMAX_DEFAULTS;
    c.weight_decay = 0.01, c.maximize = 1;
    return c;
}
static trainopt_status pa_adamax_multi(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                                       const trainopt_threads *th) {
    trainopt_adamax_config c = pa_adamax_cfg();
    return trainopt_adamax_step_multi(&c, step, k, ts, o, th);
}
static trainopt_status pa_adamax_one(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o) {
    trainopt_adamax_config c = pa_adamax_cfg();
    return o ? trainopt_adamax_step_ex(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1], o)
             : trainopt_adamax_step(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1]);
}

static trainopt_adadelta_config pa_adadelta_cfg(void) {
    trainopt_adadelta_config c = TRAINOPT_ADADELTA_DEFAULTS;
    c.lr = 0.5, c.weight_decay = 0.01;
    return c;
}
static trainopt_status pa_adadelta_multi(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                                         const trainopt_threads *th) {
    trainopt_adadelta_config c = pa_adadelta_cfg();
    return trainopt_adadelta_step_multi(&c, step, k, ts, o, th);
}
static trainopt_status pa_adadelta_one(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o) {
    trainopt_adadelta_config c = pa_adadelta_cfg();
    return o ? trainopt_adadelta_step_ex(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1], o)
             : trainopt_adadelta_step(&c, step, t->n, t->param, t->grad, t->state[0], t->state[1]);
}

static trainopt_lion_config pa_lion_cfg(void) {
    trainopt_lion_config c = TRAINOPT_LION_DEFAULTS;
    c.lr = 1e-3, c.weight_decay = 0.1;
    return c;
}
static trainopt_status pa_lion_multi(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                                     const trainopt_threads *th) {
    trainopt_lion_config c = pa_lion_cfg();
    return trainopt_lion_step_multi(&c, step, k, ts, o, th);
}
static trainopt_status pa_lion_one(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o) {
    trainopt_lion_config c = pa_lion_cfg();
    return o ? trainopt_lion_step_ex(&c, step, t->n, t->param, t->grad, t->state[0], o)
             : trainopt_lion_step(&c, step, t->n, t->param, t->grad, t->state[0]);
}

/* Schedule-free AdamW: the state advanced `step` times, as a training loop does once per step. */
static trainopt_sfadamw_config pa_sfadamw_cfg(void) {
    trainopt_sfadamw_config c = TRAINOPT_SFADAMW_DEFAULTS;
    c.weight_decay = 0.01, c.warmup_steps = 2;
    return c;
}
static trainopt_sfadamw_state pa_sfadamw_state(const trainopt_sfadamw_config *c, int64_t step) {
    trainopt_sfadamw_state s = TRAINOPT_SFADAMW_STATE_INIT;
    while (step-- > 0)
        if (trainopt_sfadamw_advance(c, &s) != TRAINOPT_OK) exit(4);
    return s;
}
/* step 0 stands for a state never advanced (the step-0 refusal of pa_test_refusals) */
static trainopt_status pa_sfadamw_multi(int64_t step, size_t k, const trainopt_tensor *ts, const trainopt_step_opts *o,
                                        const trainopt_threads *th) {
    trainopt_sfadamw_config c = pa_sfadamw_cfg();
    trainopt_sfadamw_state s = pa_sfadamw_state(&c, step);
    return trainopt_sfadamw_step_multi(&c, &s, k, ts, o, th);
}
static trainopt_status pa_sfadamw_one(int64_t step, const trainopt_tensor *t, const trainopt_step_opts *o) {
    trainopt_sfadamw_config c = pa_sfadamw_cfg();
    trainopt_sfadamw_state s = pa_sfadamw_state(&c, step);
    return o ? trainopt_sfadamw_step_ex(&c, &s, t->n, t->param, t->grad, t->state[0], t->state[1], o)
             : trainopt_sfadamw_step(&c, &s, t->n, t->param, t->grad, t->state[0], t->state[1]);
}

static const pa_optim pa_optims[] = {
    {"sgd_step_multi", 1, pa_sgd_multi, pa_sgd_one},
    {"adagrad_step_multi", 1, pa_adagrad_multi, pa_adagrad_one},
    {"rmsprop_step_multi", 3, pa_rmsprop_multi, pa_rmsprop_one},
    {"adam_step_multi", 3, pa_adam_multi, pa_adam_one},
    {"adamw_step_multi", 2, pa_adamw_multi, pa_adamw_one},
    {"nadam_step_multi", 2, pa_nadam_multi, pa_nadam_one},
    {"radam_step_multi", 2, pa_radam_multi, pa_radam_one},
    {"adamax_step_multi", 2, pa_adamax_multi, pa_adamax_one},
    {"adadelta_step_multi", 2, pa_adadelta_multi, pa_adadelta_one},
    {"lion_step_multi", 1, pa_lion_multi, pa_lion_one},
    {"sfadamw_step_multi", 2, pa_sfadamw_multi, pa_sfadamw_one},
};
#define PA_OPTIMS (sizeof pa_optims / sizeof pa_optims[0])

/* The functions this suite runs that are not optimizers. */
static const char pa_reductions[] = "sum_squares_mt grad_norm_mt clip_grad_norm_mt "
                                    "layernorm_forward_mt layernorm_backward_mt rmsnorm_forward_mt rmsnorm_backward_mt "
                                    "groupnorm_forward_mt groupnorm_backward_mt "
                                    "batchnorm_forward_train_mt batchnorm_backward_mt "
                                    "dropout_forward_mt dropout_backward_mt "
                                    "mse_loss_mt bce_with_logits_mt softmax_cross_entropy_mt "
                                    "rand_u32_mt rand_uniform_mt rand_normal_mt xavier_uniform_mt xavier_normal_mt "
                                    "kaiming_uniform_mt kaiming_normal_mt trunc_normal_mt";
/* and these (batch norm inference, clip_grad_value, grad_unscale: pa_test_bn_infer, pa_test_grad_elementwise) */
static const char pa_infer_clip_mt[] = "batchnorm_forward_infer_mt clip_grad_value_mt grad_unscale_mt";

/* ---- memory ------------------------------------------------------------------------------- */

/* A model: PA_ARRAYS arrays per tensor, in one block (so a checksum covers everything). */
typedef struct {
    float *block;
    float *a[PA_K][PA_ARRAYS];
    trainopt_tensor t[PA_K];
    size_t total;
} pa_model;

/* Values around 1 in both signs for parameters and gradients, non-negative states (as
   moments and accumulators are); NaN, +-Inf, -0 and a denormal among the gradients. */
static void pa_model_init(pa_model *m, int states) {
    size_t i, j, at = 0;
    uint64_t seed = 0x9a11u;
    int a;
    m->total = 0;
    for (i = 0; i < PA_K; i++) m->total += pa_lens[i] * PA_ARRAYS;
    m->block = (float *)malloc((m->total + 1) * sizeof(float));
    if (!m->block) exit(2);
    for (i = 0; i < PA_K; i++) {
        for (a = 0; a < PA_ARRAYS; a++, at += pa_lens[i]) {
            m->a[i][a] = m->block + at;
            to_rand_fill(&seed, m->a[i][a], pa_lens[i], a < 2 ? -1.5f : 0.0f, 1.5f);
        }
        for (j = 29; j < pa_lens[i]; j += 4099)
            m->a[i][1][j] = (j / 4099) % 4 == 0 ? NAN : (j / 4099) % 4 == 1 ? -INFINITY : (j / 4099) % 4 == 2 ? -0.0f : 1e-40f;
        m->t[i].param = m->a[i][0];
        m->t[i].grad = m->a[i][1];
        for (a = 0; a < TRAINOPT_MAX_STATES; a++) m->t[i].state[a] = NULL;
        for (a = 0; a < states && 2 + a < PA_ARRAYS; a++) m->t[i].state[a] = m->a[i][2 + a];
        m->t[i].n = pa_lens[i];
    }
}

static void pa_model_free(pa_model *m) { free(m->block); }

static int pa_model_equal(to_ctx *t, const pa_model *got, const pa_model *want, const char *what) {
    char name[128];
    size_t i;
    int a, ok = 1;
    for (i = 0; i < PA_K; i++)
        for (a = 0; a < PA_ARRAYS; a++) {
            snprintf(name, sizeof name, "%s: tensor %zu array %d", what, i, a);
            ok &= to_bits_equal(t, name, got->a[i][a], want->a[i][a], pa_lens[i]);
        }
    return ok;
}

/* ---- optimizer tests ---------------------------------------------------------------------- */

/* The reference: every tensor on its own, single-threaded, PA_STEPS steps; *bad sums the
   non-finite counts (fused form, o non-NULL). */
static void pa_reference(const pa_optim *op, pa_model *m, const trainopt_step_opts *o, size_t *bad, to_ctx *t) {
    int64_t step;
    size_t i, one_bad;
    trainopt_step_opts local;
    *bad = 0;
    for (step = 1; step <= PA_STEPS; step++)
        for (i = 0; i < PA_K; i++) {
            if (o) local = *o, local.nonfinite = &one_bad, one_bad = 0;
            TO_CHECK(t, op->one(step, &m->t[i], o ? &local : NULL) == TRAINOPT_OK, "%s reference: step %d tensor %zu refused",
                     op->name, (int)step, i);
            if (o) *bad += one_bad;
        }
}

static const pa_optim *pa_current;

/* Multi-tensor equals per-tensor, bit for bit, with and without the fused options, under
   every hook. */
static void pa_test_optim(to_ctx *t) {
    const pa_optim *op = pa_current;
    pa_model want, want_plain, got;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t want_bad, plain_bad, h;
    o.grad_scale = 0.5;
    pa_model_init(&want, op->states), pa_model_init(&want_plain, op->states), pa_model_init(&got, op->states);
    pa_reference(op, &want, &o, &want_bad, t);
    pa_reference(op, &want_plain, NULL, &plain_bad, t);
    TO_CHECK(t, want_bad > 0, "%s: the inputs hold non-finite gradients, the reference counted none", op->name);
    for (h = 0; h < PA_HOOKS; h++) {
        int threads, plain;
        uint64_t seed = 77 + h;
        trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &seed);
        if (!pa_sampled(t, (size_t)(op - pa_optims), h)) continue; /* a case: one optimizer */
        for (plain = 0; plain <= 1; plain++) {
            char what[96];
            size_t bad = (size_t)-1, total = 0;
            int64_t step;
            trainopt_step_opts mo = o;
            mo.nonfinite = &bad;
            pa_model_free(&got), pa_model_init(&got, op->states);
            for (step = 1; step <= PA_STEPS; step++) {
                trainopt_status st = op->multi(step, PA_K, got.t, plain ? NULL : &mo, &th);
                TO_CHECK(t, st == TRAINOPT_OK, "%s %s: step %d returned %d (%s)", op->name, pa_hooks[h].name, (int)step,
                         (int)st, trainopt_last_error());
                if (!plain) total += bad;
            }
            snprintf(what, sizeof what, "%s, %s, %s", op->name, pa_hooks[h].name, plain ? "plain" : "fused (scale 0.5)");
            pa_model_equal(t, &got, plain ? &want_plain : &want, what);
            if (!plain)
                TO_CHECK(t, total == want_bad, "%s: %zu non-finite gradients counted, per-tensor calls %zu", what, total,
                         want_bad);
        }
    }
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
    pa_model_free(&want), pa_model_free(&want_plain), pa_model_free(&got);
}

static uint64_t pa_checksum(const pa_model *m) {
    const unsigned char *b = (const unsigned char *)m->block;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < m->total * sizeof(float); i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* A bad tensor in the middle of the list: refused with its status, nothing written to any
   tensor (before or after it) nor to the count; found_inf skips the whole list. */
static void pa_test_refusals(to_ctx *t) {
    const pa_optim *op = pa_current;
    pa_model m;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    int threads = 2, found = 1;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    size_t bad = 12345;
    uint64_t before;
    const size_t mid = 4; /* the 50001-element tensor */
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    o.nonfinite = &bad;
    pa_model_init(&m, op->states);
    before = pa_checksum(&m);

    m.t[mid].grad = NULL;
    TO_CHECK(t, op->multi(1, PA_K, m.t, &o, &th) == TRAINOPT_ERR_NULL, "%s: a NULL grad in tensors[4]: %s", op->name,
             trainopt_last_error());
    TO_CHECK(t, strncmp(trainopt_last_error(), "trainopt_", 9) == 0 && strstr(trainopt_last_error(), "tensors[4]") != NULL &&
                    strstr(trainopt_last_error(), op->name) != NULL,
             "%s: the text does not name the function and tensors[4]: \"%s\"", op->name, trainopt_last_error());
    m.t[mid].grad = m.a[mid][1];

    m.t[mid].state[0] = NULL;
    TO_CHECK(t, op->multi(1, PA_K, m.t, &o, &th) == TRAINOPT_ERR_NULL, "%s: a needed state NULL in tensors[4]", op->name);
    m.t[mid].state[0] = m.a[mid][2];

    m.t[mid].state[0] = m.a[mid][0] + 1;
    TO_CHECK(t, op->multi(1, PA_K, m.t, &o, &th) == TRAINOPT_ERR_ALIAS, "%s: param and state[0] overlap in tensors[4]",
             op->name);
    m.t[mid].state[0] = m.a[mid][2];

    m.t[mid].n = SIZE_MAX / 2;
    TO_CHECK(t, op->multi(1, PA_K, m.t, &o, &th) == TRAINOPT_ERR_SHAPE, "%s: tensors[4].n overflows", op->name);
    m.t[mid].n = pa_lens[mid];

    o.nonfinite = (size_t *)(void *)(m.a[6][1] + 8);
    TO_CHECK(t, op->multi(1, PA_K, m.t, &o, &th) == TRAINOPT_ERR_ALIAS, "%s: o->nonfinite inside tensors[6].grad", op->name);
    o.nonfinite = &bad;

    TO_CHECK(t, op->multi(0, PA_K, m.t, &o, &th) == TRAINOPT_ERR_STEP, "%s: step 0", op->name);
    TO_CHECK(t, op->multi(1, PA_K, NULL, &o, &th) == TRAINOPT_ERR_NULL, "%s: tensors NULL", op->name);
    o.grad_scale = NAN;
    TO_CHECK(t, op->multi(1, PA_K, m.t, &o, &th) == TRAINOPT_ERR_HPARAM, "%s: grad_scale NaN", op->name);
    TO_CHECK(t, pa_checksum(&m) == before && bad == 12345, "%s: a refused call wrote", op->name);
    TO_CHECK(t, op->multi(1, 0, NULL, &o, &th) == TRAINOPT_ERR_HPARAM, "%s: k = 0 still checks the options", op->name);
    o.grad_scale = 0.5;
    TO_CHECK(t, op->multi(1, 0, NULL, &o, &th) == TRAINOPT_OK && bad == 0, "%s: k = 0: OK, a count of 0", op->name);
    o.grad_scale = NAN, bad = 12345;

    o.found_inf = &found; /* skipped: nothing read or written but the count, set to 0 (a NaN scale is allowed) */
    TO_CHECK(t, op->multi(1, PA_K, m.t, &o, &th) == TRAINOPT_OK && bad == 0 && pa_checksum(&m) == before,
             "%s: found_inf did not skip the whole list", op->name);
    pa_model_free(&m);
}

/* ---- reductions --------------------------------------------------------------------------- */

/* Gradients whose 256-element blocks differ in magnitude by up to 2^60 (squares: 2^120),
   so that the double sum of the block sums is not exact and another order of them
   changes the bits (it does: the list summed in reverse differs in the last digit);
   NaN/Inf in some runs. */
static void pa_grads(pa_model *m, int nonfinite) {
    size_t i, j;
    pa_model_init(m, 0);
    for (i = 0; i < PA_K; i++)
        for (j = 0; j < pa_lens[i]; j++) {
            float *g = (float *)m->t[i].grad;
            g[j] = ldexpf(g[j], (int)(((j / 256) * 13 + i * 5) % 61) - 30);
            if (!nonfinite && !(fabsf(g[j]) < INFINITY)) g[j] = 0.75f;
        }
}

static void pa_test_reductions(to_ctx *t) {
    pa_model m, clipped_want, clipped;
    size_t h, i;
    int nf;
    for (nf = 0; nf <= 1; nf++) {
        float *grads[PA_K];
        double want_sum, sum;
        size_t want_bad, bad;
        trainopt_grad_norm_info want_info, info;
        float want_norm, norm;
        pa_grads(&m, nf);
        for (i = 0; i < PA_K; i++) grads[i] = (float *)m.t[i].grad;
        TO_CHECK(t, trainopt_sum_squares(PA_K, (const float *const *)grads, pa_lens, &want_sum, &want_bad) == TRAINOPT_OK,
                 "sum_squares refused");
        TO_CHECK(t, trainopt_grad_norm(PA_K, grads, pa_lens, 0.125f, 1.0, &want_info) == TRAINOPT_OK, "grad_norm refused");
        TO_CHECK(t, (want_bad != 0) == nf, "the inputs' non-finite count %zu", want_bad);
        pa_grads(&clipped_want, nf);
        for (i = 0; i < PA_K; i++) grads[i] = (float *)clipped_want.t[i].grad;
        TO_CHECK(t, trainopt_clip_grad_norm(PA_K, grads, pa_lens, 1.0, &want_norm) == TRAINOPT_OK, "clip_grad_norm refused");
        for (h = 0; h < PA_HOOKS; h++) {
            int threads;
            uint64_t seed = 99 + h;
            trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &seed);
            char what[96];
            for (i = 0; i < PA_K; i++) grads[i] = (float *)m.t[i].grad;
            sum = -1.0, bad = 7;
            TO_CHECK(t, trainopt_sum_squares_mt(PA_K, (const float *const *)grads, pa_lens, &sum, &bad, &th) == TRAINOPT_OK,
                     "sum_squares_mt refused");
            TO_CHECK(t, memcmp(&sum, &want_sum, sizeof sum) == 0 && bad == want_bad,
                     "sum_squares_mt, %s, %s: %.17g (%zu non-finite), the serial call %.17g (%zu)", pa_hooks[h].name,
                     nf ? "non-finite" : "finite", sum, bad, want_sum, want_bad);
            memset(&info, 0xff, sizeof info);
            TO_CHECK(t, trainopt_grad_norm_mt(PA_K, grads, pa_lens, 0.125f, 1.0, &info, &th) == TRAINOPT_OK,
                     "grad_norm_mt refused");
            TO_CHECK(t, memcmp(&info.sum_squares, &want_info.sum_squares, sizeof(double)) == 0 &&
                            info.nonfinite == want_info.nonfinite && info.found_inf == want_info.found_inf &&
                            to_bits(info.total_norm) == to_bits(want_info.total_norm) &&
                            to_bits(info.clip_coef) == to_bits(want_info.clip_coef) &&
                            to_bits(info.grad_scale) == to_bits(want_info.grad_scale),
                     "grad_norm_mt, %s: another result than grad_norm's", pa_hooks[h].name);
            pa_grads(&clipped, nf);
            for (i = 0; i < PA_K; i++) grads[i] = (float *)clipped.t[i].grad;
            norm = -1.0f;
            TO_CHECK(t, trainopt_clip_grad_norm_mt(PA_K, grads, pa_lens, 1.0, &norm, &th) == TRAINOPT_OK,
                     "clip_grad_norm_mt refused");
            TO_CHECK(t, to_bits(norm) == to_bits(want_norm), "clip_grad_norm_mt, %s: norm %g, serial %g", pa_hooks[h].name,
                     norm, want_norm);
            snprintf(what, sizeof what, "clip_grad_norm_mt, %s, %s", pa_hooks[h].name, nf ? "non-finite" : "finite");
            pa_model_equal(t, &clipped, &clipped_want, what);
            pa_model_free(&clipped);
        }
        pa_model_free(&m), pa_model_free(&clipped_want);
    }
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* Bad input of the reductions beyond the bad-input matrix's rows: a NULL tensor in the
   middle writes nothing (clip_grad_norm_mt scales in place). */
static void pa_test_reduction_refusals(to_ctx *t) {
    pa_model m;
    float *grads[PA_K];
    float norm = 5.0f;
    int threads = 3;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    uint64_t before;
    size_t i;
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    pa_grads(&m, 0);
    for (i = 0; i < PA_K; i++) grads[i] = (float *)m.t[i].grad;
    before = pa_checksum(&m);
    grads[4] = NULL;
    TO_CHECK(t, trainopt_clip_grad_norm_mt(PA_K, grads, pa_lens, 1e-3, &norm, &th) == TRAINOPT_ERR_NULL,
             "clip_grad_norm_mt: a NULL tensor in the middle");
    grads[4] = (float *)m.t[4].grad;
    grads[5] = grads[4] + 100;
    TO_CHECK(t, trainopt_clip_grad_norm_mt(PA_K, grads, pa_lens, 1e-3, &norm, &th) == TRAINOPT_ERR_ALIAS,
             "clip_grad_norm_mt: overlapping tensors");
    TO_CHECK(t, pa_checksum(&m) == before && norm == 5.0f, "clip_grad_norm_mt: a refused call wrote");
    pa_model_free(&m);
}

/* ---- layer and RMS norm on threads --------------------------------------------------------- */

/* Shapes (rows, cols) for every path of src/parallel_norms.h: one block of rows and
   several; rows and columns that divide into nothing (blocks of 16 rows, column tiles,
   vectors); columns held on the stack and in dx's last rows; several rounds of rows. */
static const size_t pa_norm_shapes[][2] = {{1, 7}, {5, 300}, {17, 33}, {33, 1000}, {100, 600},
                                           {1000, 37}, {67, 777}, {20, 2600}, {1100, 70}};
#define PA_NORM_SHAPES (sizeof pa_norm_shapes / sizeof pa_norm_shapes[0])

/* One shape's arrays: inputs x, dy, weight, bias, then the outputs y, mean, rstd, dx,
   dweight, dbias (one block). dy's rows are scaled 2^-30 to 2^30 apart, so that the
   weight gradients' block sums added in another order give other bits. */
typedef struct {
    size_t rows, cols;
    float *block, *x, *dy, *w, *b, *out; /* out: the outputs, OUT_FLOATS of them */
} pa_norm_data;
#define PA_NORM_OUT(d) (2 * (d)->rows * (d)->cols + 2 * (d)->rows + 2 * (d)->cols)

static void pa_norm_init(pa_norm_data *d, size_t rows, size_t cols) {
    const size_t n = rows * cols;
    uint64_t seed = 0x40e5u + rows * 7919u + cols;
    size_t i;
    d->rows = rows, d->cols = cols;
    d->block = (float *)malloc((2 * n + 2 * cols) * sizeof(float));
    d->out = (float *)malloc(PA_NORM_OUT(d) * sizeof(float));
    if (!d->block || !d->out) exit(2);
    d->x = d->block, d->dy = d->x + n, d->w = d->dy + n, d->b = d->w + cols;
    to_rand_fill(&seed, d->x, n, 2.0f, 4.0f); /* a mean far from 0, as the rounding of the saved mean matters */
    to_rand_fill(&seed, d->dy, n, -1.0f, 1.0f);
    for (i = 0; i < n; i++) d->dy[i] = ldexpf(d->dy[i], (int)(((i / cols) * 13) % 61) - 30);
    to_rand_fill(&seed, d->w, cols, 0.5f, 1.5f);
    to_rand_fill(&seed, d->b, cols, -0.5f, 0.5f);
}

/* Which outputs a backward call asks for. */
enum { PA_NORM_ALL, PA_NORM_NO_DX, PA_NORM_NO_WGRAD, PA_NORM_DW_ONLY, PA_NORM_KINDS };
static const char *const pa_norm_kind_names[] = {"dx, dweight, dbias", "dweight, dbias", "dx", "dweight"};

/* Layer norm (rms 0) or RMS norm (rms 1), forward then backward with the outputs of
   kind, threaded (th non-NULL: the _mt calls) or not; the outputs in d->out, which is
   first filled with a pattern (what a call does not write stays). */
static trainopt_status pa_norm_run(pa_norm_data *d, int rms, int kind, const trainopt_threads *th) {
    const trainopt_norm_config c = TRAINOPT_NORM_DEFAULTS;
    const size_t rows = d->rows, cols = d->cols, n = rows * cols;
    float *y = d->out, *mean = y + n, *rstd = mean + rows, *dx = rstd + rows, *dw = dx + n, *db = dw + cols;
    float *want_dx = kind == PA_NORM_ALL || kind == PA_NORM_NO_WGRAD ? dx : NULL;
    float *want_dw = kind == PA_NORM_NO_WGRAD ? NULL : dw, *want_db = kind == PA_NORM_ALL || kind == PA_NORM_NO_DX ? db : NULL;
    trainopt_status st;
    size_t i;
    for (i = 0; i < PA_NORM_OUT(d); i++) d->out[i] = -7.0f;
    if (rms) {
        st = th ? trainopt_rmsnorm_forward_mt(&c, rows, cols, d->x, d->w, y, rstd, th)
                : trainopt_rmsnorm_forward(&c, rows, cols, d->x, d->w, y, rstd);
        if (st != TRAINOPT_OK) return st;
        return th ? trainopt_rmsnorm_backward_mt(&c, rows, cols, d->x, d->dy, d->w, rstd, want_dx, want_dw, th)
                  : trainopt_rmsnorm_backward(&c, rows, cols, d->x, d->dy, d->w, rstd, want_dx, want_dw);
    }
    st = th ? trainopt_layernorm_forward_mt(&c, rows, cols, d->x, d->w, d->b, y, mean, rstd, th)
            : trainopt_layernorm_forward(&c, rows, cols, d->x, d->w, d->b, y, mean, rstd);
    if (st != TRAINOPT_OK) return st;
    return th ? trainopt_layernorm_backward_mt(&c, rows, cols, d->x, d->dy, d->w, mean, rstd, want_dx, want_dw, want_db, th)
              : trainopt_layernorm_backward(&c, rows, cols, d->x, d->dy, d->w, mean, rstd, want_dx, want_dw, want_db);
}

/* Every shape, both norms, every choice of outputs, every hook: the bits of the
   unthreaded calls. */
static void pa_test_norms(to_ctx *t) {
    size_t s, h, cases = 0;
    int rms, kind;
    for (s = 0; s < PA_NORM_SHAPES; s++) {
        pa_norm_data d;
        float *want;
        pa_norm_init(&d, pa_norm_shapes[s][0], pa_norm_shapes[s][1]);
        want = (float *)malloc(PA_NORM_OUT(&d) * sizeof(float));
        if (!want) exit(2);
        for (rms = 0; rms <= 1; rms++)
            for (kind = 0; kind < PA_NORM_KINDS; kind++) {
                TO_CHECK(t, pa_norm_run(&d, rms, kind, NULL) == TRAINOPT_OK, "the unthreaded %s norm refused",
                         rms ? "RMS" : "layer");
                memcpy(want, d.out, PA_NORM_OUT(&d) * sizeof(float));
                for (h = 0; h < PA_HOOKS; h++) {
                    int threads;
                    uint64_t seed = 7 + h;
                    trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &seed);
                    char what[160];
                    if (!pa_sampled(t, cases, h)) continue;
                    snprintf(what, sizeof what, "%s norm %zux%zu, %s, %s", rms ? "RMS" : "layer", d.rows, d.cols,
                             pa_norm_kind_names[kind], pa_hooks[h].name);
                    TO_CHECK(t, pa_norm_run(&d, rms, kind, &th) == TRAINOPT_OK, "%s: refused: %s", what,
                             trainopt_last_error());
                    to_bits_equal(t, what, d.out, want, PA_NORM_OUT(&d));
                }
                cases++;
            }
        free(want), free(d.block), free(d.out);
    }
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* A refused threaded call writes nothing and names itself. */
static void pa_test_norm_refusals(to_ctx *t) {
    const trainopt_norm_config c = TRAINOPT_NORM_DEFAULTS;
    trainopt_norm_config bad = TRAINOPT_NORM_DEFAULTS;
    pa_norm_data d;
    int threads = 3;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    const size_t rows = 33, cols = 1000, n = rows * cols;
    float *y, *mean, *rstd, *dx, *dw, *db, *before;
    uint64_t fill = 5;
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    pa_norm_init(&d, rows, cols);
    y = d.out, mean = y + n, rstd = mean + rows, dx = rstd + rows, dw = dx + n, db = dw + cols;
    before = (float *)malloc(PA_NORM_OUT(&d) * sizeof(float));
    if (!before) exit(2);
    to_rand_fill(&fill, d.out, PA_NORM_OUT(&d), -1.0f, 1.0f);
    memcpy(before, d.out, PA_NORM_OUT(&d) * sizeof(float));
    bad.eps = -1.0;
    TO_CHECK(t, trainopt_layernorm_forward_mt(&bad, rows, cols, d.x, d.w, d.b, y, mean, rstd, &th) == TRAINOPT_ERR_HPARAM,
             "layernorm_forward_mt: eps -1 accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_layernorm_forward_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_rmsnorm_forward_mt(&c, rows, cols, NULL, d.w, y, rstd, &th) == TRAINOPT_ERR_NULL,
             "rmsnorm_forward_mt: x NULL accepted");
    TO_CHECK(t, trainopt_layernorm_backward_mt(&c, rows, cols, d.x, d.dy, d.w, mean, rstd, d.dy + 1, dw, db, &th) ==
                    TRAINOPT_ERR_ALIAS,
             "layernorm_backward_mt: dx overlapping dy accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_layernorm_backward_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_rmsnorm_backward_mt(&c, rows, cols, d.x, d.dy, d.w, NULL, dx, dw, &th) == TRAINOPT_ERR_NULL,
             "rmsnorm_backward_mt: rstd NULL accepted");
    TO_CHECK(t, trainopt_rmsnorm_backward_mt(&c, rows, 0, d.x, d.dy, d.w, rstd, dx, dw, &th) == TRAINOPT_ERR_SHAPE,
             "rmsnorm_backward_mt: cols 0 accepted");
    TO_CHECK(t, memcmp(before, d.out, PA_NORM_OUT(&d) * sizeof(float)) == 0, "a refused threaded norm call wrote");
    TO_CHECK(t, trainopt_layernorm_forward_mt(&c, 0, cols, NULL, NULL, NULL, NULL, NULL, NULL, &th) == TRAINOPT_OK,
             "layernorm_forward_mt: rows 0 refused");
    free(before), free(d.block), free(d.out);
}

/* ---- group norm on threads ---------------------------------------------------------------- */

/* Shapes (n, c, spatial, groups) for every path: one group and many; pieces of several
   groups and of one; groups of more channels than a tile (256), in 2 and 3 tiles;
   groups longer than the small-row limit (16384 values); samples cut into pieces when
   there are no weight gradients; spatial sizes that divide into no vector. */
static const size_t pa_gn_shapes[][4] = {{1, 3, 7, 1},      {3, 12, 37, 4},   {200, 32, 7, 8}, {5, 6, 5000, 3},
                                         {3, 4, 9000, 2},   {4, 600, 3, 2},   {2, 520, 5, 1},  {33, 64, 49, 32},
                                         {1100, 4, 3, 2}};
#define PA_GN_SHAPES (sizeof pa_gn_shapes / sizeof pa_gn_shapes[0])

/* One shape's arrays as pa_norm_data, with x and dy n*c*spatial and the statistics n*groups;
   dy's samples scaled 2^-30 to 2^30 apart, so that the weight gradients' sums over the
   samples in another order give other bits. */
typedef struct {
    trainopt_bn_shape s;
    size_t groups, total;
    float *block, *x, *dy, *w, *b, *out;
} pa_gn_data;
#define PA_GN_OUT(d) (2 * (d)->total + 2 * (d)->s.n * (d)->groups + 2 * (d)->s.c)

static void pa_gn_init(pa_gn_data *d, const size_t *shape) {
    const size_t per_sample = shape[1] * shape[2];
    uint64_t seed = 0x6e0u + shape[0] * 7919u + shape[1] * 31u + shape[2];
    size_t i;
    d->s.n = shape[0], d->s.c = shape[1], d->s.spatial = shape[2], d->s.layout = TRAINOPT_NCHW;
    d->groups = shape[3];
    d->total = shape[0] * per_sample;
    d->block = (float *)malloc((2 * d->total + 2 * d->s.c) * sizeof(float));
    d->out = (float *)malloc(PA_GN_OUT(d) * sizeof(float));
    if (!d->block || !d->out) exit(2);
    d->x = d->block, d->dy = d->x + d->total, d->w = d->dy + d->total, d->b = d->w + d->s.c;
    to_rand_fill(&seed, d->x, d->total, 2.0f, 4.0f);
    to_rand_fill(&seed, d->dy, d->total, -1.0f, 1.0f);
    for (i = 0; i < d->total; i++) d->dy[i] = ldexpf(d->dy[i], (int)(((i / per_sample) * 13) % 61) - 30);
    to_rand_fill(&seed, d->w, d->s.c, 0.5f, 1.5f);
    to_rand_fill(&seed, d->b, d->s.c, -0.5f, 0.5f);
}

/* Group norm forward then backward with the outputs of kind (as pa_norm_run). */
static trainopt_status pa_gn_run(pa_gn_data *d, int kind, const trainopt_threads *th) {
    const trainopt_norm_config c = TRAINOPT_NORM_DEFAULTS;
    const size_t stats = d->s.n * d->groups;
    float *y = d->out, *mean = y + d->total, *rstd = mean + stats, *dx = rstd + stats, *dw = dx + d->total, *db = dw + d->s.c;
    float *want_dx = kind == PA_NORM_ALL || kind == PA_NORM_NO_WGRAD ? dx : NULL;
    float *want_dw = kind == PA_NORM_NO_WGRAD ? NULL : dw, *want_db = kind == PA_NORM_ALL || kind == PA_NORM_NO_DX ? db : NULL;
    trainopt_status st;
    size_t i;
    for (i = 0; i < PA_GN_OUT(d); i++) d->out[i] = -7.0f;
    st = th ? trainopt_groupnorm_forward_mt(&c, d->s, d->groups, d->x, d->w, d->b, y, mean, rstd, th)
            : trainopt_groupnorm_forward(&c, d->s, d->groups, d->x, d->w, d->b, y, mean, rstd);
    if (st != TRAINOPT_OK) return st;
    return th ? trainopt_groupnorm_backward_mt(&c, d->s, d->groups, d->x, d->dy, d->w, mean, rstd, want_dx, want_dw,
                                               want_db, th)
              : trainopt_groupnorm_backward(&c, d->s, d->groups, d->x, d->dy, d->w, mean, rstd, want_dx, want_dw, want_db);
}

/* Every shape, every choice of outputs, every hook: the bits of the unthreaded calls. */
static void pa_test_groupnorm(to_ctx *t) {
    size_t s, h, cases = 0;
    int kind;
    for (s = 0; s < PA_GN_SHAPES; s++) {
        pa_gn_data d;
        float *want;
        pa_gn_init(&d, pa_gn_shapes[s]);
        want = (float *)malloc(PA_GN_OUT(&d) * sizeof(float));
        if (!want) exit(2);
        for (kind = 0; kind < PA_NORM_KINDS; kind++) {
            TO_CHECK(t, pa_gn_run(&d, kind, NULL) == TRAINOPT_OK, "the unthreaded group norm refused: %s",
                     trainopt_last_error());
            memcpy(want, d.out, PA_GN_OUT(&d) * sizeof(float));
            for (h = 0; h < PA_HOOKS; h++) {
                int threads;
                uint64_t seed = 11 + h;
                trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &seed);
                char what[160];
                if (!pa_sampled(t, cases, h)) continue;
                snprintf(what, sizeof what, "group norm n %zu c %zu spatial %zu groups %zu, %s, %s", d.s.n, d.s.c,
                         d.s.spatial, d.groups, pa_norm_kind_names[kind], pa_hooks[h].name);
                TO_CHECK(t, pa_gn_run(&d, kind, &th) == TRAINOPT_OK, "%s: refused: %s", what, trainopt_last_error());
                to_bits_equal(t, what, d.out, want, PA_GN_OUT(&d));
            }
            cases++;
        }
        free(want), free(d.block), free(d.out);
    }
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* A refused threaded group norm call writes nothing and names itself. */
static void pa_test_groupnorm_refusals(to_ctx *t) {
    const trainopt_norm_config c = TRAINOPT_NORM_DEFAULTS;
    trainopt_norm_config bad = TRAINOPT_NORM_DEFAULTS;
    static const size_t shape[4] = {5, 12, 300, 4};
    pa_gn_data d;
    trainopt_bn_shape s3;
    int threads = 3;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    float *y, *mean, *rstd, *dx, *dw, *db, *before;
    uint64_t fill = 9;
    size_t stats;
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    pa_gn_init(&d, shape);
    stats = d.s.n * d.groups;
    y = d.out, mean = y + d.total, rstd = mean + stats, dx = rstd + stats, dw = dx + d.total, db = dw + d.s.c;
    before = (float *)malloc(PA_GN_OUT(&d) * sizeof(float));
    if (!before) exit(2);
    to_rand_fill(&fill, d.out, PA_GN_OUT(&d), -1.0f, 1.0f);
    memcpy(before, d.out, PA_GN_OUT(&d) * sizeof(float));
    bad.eps = -1.0;
    TO_CHECK(t, trainopt_groupnorm_forward_mt(&bad, d.s, 4, d.x, d.w, d.b, y, mean, rstd, &th) == TRAINOPT_ERR_HPARAM,
             "groupnorm_forward_mt: eps -1 accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_groupnorm_forward_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_groupnorm_forward_mt(&c, d.s, 5, d.x, d.w, d.b, y, mean, rstd, &th) == TRAINOPT_ERR_SHAPE,
             "groupnorm_forward_mt: 5 groups of 12 channels accepted");
    TO_CHECK(t, trainopt_groupnorm_forward_mt(&c, d.s, 4, d.x, d.w, d.b, d.x + 1, mean, rstd, &th) == TRAINOPT_ERR_ALIAS,
             "groupnorm_forward_mt: y overlapping x accepted");
    TO_CHECK(t, trainopt_groupnorm_backward_mt(&c, d.s, 4, d.x, d.dy, d.w, mean, rstd, d.dy + 1, dw, db, &th) ==
                    TRAINOPT_ERR_ALIAS,
             "groupnorm_backward_mt: dx overlapping dy accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_groupnorm_backward_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_groupnorm_backward_mt(&c, d.s, 4, d.x, d.dy, d.w, mean, NULL, dx, dw, db, &th) == TRAINOPT_ERR_NULL,
             "groupnorm_backward_mt: rstd NULL accepted");
    s3 = d.s, s3.spatial = 0;
    TO_CHECK(t, trainopt_groupnorm_backward_mt(&c, s3, 4, d.x, d.dy, d.w, mean, rstd, dx, dw, db, &th) == TRAINOPT_ERR_SHAPE,
             "groupnorm_backward_mt: spatial 0 accepted");
    TO_CHECK(t, memcmp(before, d.out, PA_GN_OUT(&d) * sizeof(float)) == 0, "a refused threaded group norm call wrote");
    s3 = d.s, s3.n = 0;
    TO_CHECK(t, trainopt_groupnorm_forward_mt(&c, s3, 4, NULL, NULL, NULL, NULL, NULL, NULL, &th) == TRAINOPT_OK,
             "groupnorm_forward_mt: n 0 refused");
    free(before), free(d.block), free(d.out);
}

/* ---- batch norm on threads ---------------------------------------------------------------- */

/* Shapes (n, c, spatial, layout) for every path of src/parallel_batchnorm.h: NCHW in one
   piece of channels and several (a last piece not a multiple of 4), pieces of 4 small
   channels, large channels one at a time; NHWC within one tile and over several (where
   the serial call sweeps every channel at once with its state in y or dx); spatial 1
   (viewed as NHWC). */
static const size_t pa_bn_shapes[][4] = {
    {4, 13, 37, TRAINOPT_NCHW}, {8, 67, 50, TRAINOPT_NCHW}, {7, 9, 1000, TRAINOPT_NCHW}, {2, 5, 17000, TRAINOPT_NCHW},
    {3, 50, 7, TRAINOPT_NHWC},  {5, 200, 9, TRAINOPT_NHWC}, {300, 130, 1, TRAINOPT_NCHW}};
#define PA_BN_SHAPES (sizeof pa_bn_shapes / sizeof pa_bn_shapes[0])

/* Inputs x, dy, gamma, beta; outputs y, dx, then per channel save_mean, save_invstd,
   running_mean, running_var, dgamma, dbeta. dy's samples scaled as above. */
typedef struct {
    trainopt_bn_shape s;
    size_t total;
    float *block, *x, *dy, *gamma, *beta, *out;
} pa_bn_data;
#define PA_BN_OUT(d) (2 * (d)->total + 6 * (d)->s.c)

static void pa_bn_init(pa_bn_data *d, const size_t *shape) {
    const size_t per_sample = shape[1] * shape[2];
    uint64_t seed = 0xb4u + shape[0] * 7919u + shape[1] * 31u + shape[2];
    size_t i;
    d->s.n = shape[0], d->s.c = shape[1], d->s.spatial = shape[2], d->s.layout = (trainopt_layout)shape[3];
    d->total = shape[0] * per_sample;
    d->block = (float *)malloc((2 * d->total + 2 * d->s.c) * sizeof(float));
    d->out = (float *)malloc(PA_BN_OUT(d) * sizeof(float));
    if (!d->block || !d->out) exit(2);
    d->x = d->block, d->dy = d->x + d->total, d->gamma = d->dy + d->total, d->beta = d->gamma + d->s.c;
    to_rand_fill(&seed, d->x, d->total, 2.0f, 4.0f);
    to_rand_fill(&seed, d->dy, d->total, -1.0f, 1.0f);
    for (i = 0; i < d->total; i++) d->dy[i] = ldexpf(d->dy[i], (int)(((i / per_sample) * 13) % 61) - 30);
    to_rand_fill(&seed, d->gamma, d->s.c, 0.5f, 1.5f);
    to_rand_fill(&seed, d->beta, d->s.c, -0.5f, 0.5f);
}

/* Forward (with running statistics) then backward (with dgamma and dbeta or not), with
   fuse_relu or not, threaded or not; the outputs in d->out. */
static trainopt_status pa_bn_run(pa_bn_data *d, int relu, int wgrad, const trainopt_threads *th) {
    trainopt_bn_config c = TRAINOPT_BN_DEFAULTS;
    const size_t ch = d->s.c;
    float *y = d->out, *dx = y + d->total, *sm = dx + d->total, *si = sm + ch, *rm = si + ch, *rv = rm + ch, *dg = rv + ch,
          *db = dg + ch;
    trainopt_status st;
    size_t i;
    c.fuse_relu = relu;
    for (i = 0; i < PA_BN_OUT(d); i++) d->out[i] = -7.0f;
    for (i = 0; i < ch; i++) rm[i] = 0.25f, rv[i] = 2.0f;
    st = th ? trainopt_batchnorm_forward_train_mt(&c, d->s, d->x, d->gamma, d->beta, rm, rv, y, sm, si, th)
            : trainopt_batchnorm_forward_train(&c, d->s, d->x, d->gamma, d->beta, rm, rv, y, sm, si);
    if (st != TRAINOPT_OK) return st;
    return th ? trainopt_batchnorm_backward_mt(&c, d->s, d->x, d->dy, d->gamma, sm, si, relu ? y : NULL, dx,
                                               wgrad ? dg : NULL, wgrad ? db : NULL, th)
              : trainopt_batchnorm_backward(&c, d->s, d->x, d->dy, d->gamma, sm, si, relu ? y : NULL, dx, wgrad ? dg : NULL,
                                            wgrad ? db : NULL);
}

/* Every shape, with and without fuse_relu and weight gradients, every hook: the bits of
   the unthreaded calls. */
static void pa_test_batchnorm(to_ctx *t) {
    size_t s, h, cases = 0;
    int kind;
    for (s = 0; s < PA_BN_SHAPES; s++) {
        pa_bn_data d;
        float *want;
        pa_bn_init(&d, pa_bn_shapes[s]);
        want = (float *)malloc(PA_BN_OUT(&d) * sizeof(float));
        if (!want) exit(2);
        for (kind = 0; kind < 4; kind++) {
            TO_CHECK(t, pa_bn_run(&d, kind & 1, kind >> 1, NULL) == TRAINOPT_OK, "the unthreaded batch norm refused: %s",
                     trainopt_last_error());
            memcpy(want, d.out, PA_BN_OUT(&d) * sizeof(float));
            for (h = 0; h < PA_HOOKS; h++) {
                int threads;
                uint64_t seed = 13 + h;
                trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &seed);
                char what[160];
                if (!pa_sampled(t, cases, h)) continue;
                snprintf(what, sizeof what, "batch norm n %zu c %zu spatial %zu %s%s%s, %s", d.s.n, d.s.c, d.s.spatial,
                         d.s.layout == TRAINOPT_NHWC ? "NHWC" : "NCHW", kind & 1 ? ", relu" : "",
                         kind >> 1 ? ", dgamma, dbeta" : "", pa_hooks[h].name);
                TO_CHECK(t, pa_bn_run(&d, kind & 1, kind >> 1, &th) == TRAINOPT_OK, "%s: refused: %s", what,
                         trainopt_last_error());
                to_bits_equal(t, what, d.out, want, PA_BN_OUT(&d));
            }
            cases++;
        }
        free(want), free(d.block), free(d.out);
    }
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* A refused threaded batch norm call writes nothing and names itself. */
static void pa_test_batchnorm_refusals(to_ctx *t) {
    const trainopt_bn_config c = TRAINOPT_BN_DEFAULTS;
    trainopt_bn_config bad = TRAINOPT_BN_DEFAULTS;
    static const size_t shape[4] = {8, 67, 50, TRAINOPT_NCHW};
    pa_bn_data d;
    trainopt_bn_shape one;
    int threads = 3;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    float *y, *dx, *sm, *si, *rm, *rv, *dg, *db, *before;
    uint64_t fill = 17;
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    pa_bn_init(&d, shape);
    y = d.out, dx = y + d.total, sm = dx + d.total, si = sm + d.s.c, rm = si + d.s.c, rv = rm + d.s.c, dg = rv + d.s.c,
    db = dg + d.s.c;
    before = (float *)malloc(PA_BN_OUT(&d) * sizeof(float));
    if (!before) exit(2);
    to_rand_fill(&fill, d.out, PA_BN_OUT(&d), 0.5f, 1.0f);
    memcpy(before, d.out, PA_BN_OUT(&d) * sizeof(float));
    bad.momentum = 1.5;
    TO_CHECK(t, trainopt_batchnorm_forward_train_mt(&bad, d.s, d.x, d.gamma, d.beta, rm, rv, y, sm, si, &th) ==
                    TRAINOPT_ERR_HPARAM,
             "batchnorm_forward_train_mt: momentum 1.5 accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_batchnorm_forward_train_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_batchnorm_forward_train_mt(&c, d.s, d.x, d.gamma, d.beta, rm, NULL, y, sm, si, &th) ==
                    TRAINOPT_ERR_NULL,
             "batchnorm_forward_train_mt: running_var NULL with running_mean accepted");
    one = d.s, one.n = 1, one.spatial = 1;
    TO_CHECK(t, trainopt_batchnorm_forward_train_mt(&c, one, d.x, d.gamma, d.beta, rm, rv, y, sm, si, &th) ==
                    TRAINOPT_ERR_SHAPE,
             "batchnorm_forward_train_mt: one value per channel accepted");
    TO_CHECK(t, trainopt_batchnorm_backward_mt(&c, d.s, d.x, d.dy, d.gamma, sm, si, NULL, d.dy + 1, dg, db, &th) ==
                    TRAINOPT_ERR_ALIAS,
             "batchnorm_backward_mt: dx overlapping dy accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_batchnorm_backward_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_batchnorm_backward_mt(&c, d.s, d.x, d.dy, d.gamma, sm, si, NULL, NULL, dg, db, &th) ==
                    TRAINOPT_ERR_NULL,
             "batchnorm_backward_mt: dx NULL accepted");
    TO_CHECK(t, memcmp(before, d.out, PA_BN_OUT(&d) * sizeof(float)) == 0, "a refused threaded batch norm call wrote");
    one = d.s, one.n = 0;
    TO_CHECK(t, trainopt_batchnorm_backward_mt(&c, one, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &th) ==
                    TRAINOPT_OK,
             "batchnorm_backward_mt: n 0 refused");
    free(before), free(d.block), free(d.out);
}

/* ---- dropout on threads ------------------------------------------------------------------- */

/* Lengths around the chunk and odd tails; p inside (0, 1) and both ends; an offset that
   wraps past 2^64 inside the call. */
static const size_t pa_drop_lens[] = {1, 37, 16383, 16384, 16385, 50001};
#define PA_DROP_LENS (sizeof pa_drop_lens / sizeof pa_drop_lens[0])
static const double pa_drop_ps[] = {0.3, 0.0, 1.0};
#define PA_DROP_MAX 50001

/* Forward into y (in place when inplace: y starts as x) with a mask or not, then backward
   from the mask and by regeneration; out: y, dx from the mask, dx regenerated, the mask. */
static trainopt_status pa_drop_run(size_t n, double p, uint64_t offset, int inplace, int with_mask, const float *x,
                                   const float *dy, float *out, const trainopt_threads *th) {
    float *y = out, *dx = y + n, *dx2 = dx + n;
    uint8_t *mask = with_mask ? (uint8_t *)(dx2 + n) : NULL;
    trainopt_status st;
    size_t i;
    for (i = 0; i < 3 * n + (n + 7) / 8; i++) out[i] = -7.0f;
    if (inplace) memcpy(y, x, n * sizeof(float));
    st = th ? trainopt_dropout_forward_mt(p, 99, offset, n, inplace ? y : x, y, mask, th)
            : trainopt_dropout_forward(p, 99, offset, n, inplace ? y : x, y, mask);
    if (st != TRAINOPT_OK) return st;
    if (mask) {
        st = th ? trainopt_dropout_backward_mt(p, 99, offset, n, dy, dx, mask, th)
                : trainopt_dropout_backward(p, 99, offset, n, dy, dx, mask);
        if (st != TRAINOPT_OK) return st;
    }
    return th ? trainopt_dropout_backward_mt(p, 99, offset, n, dy, dx2, NULL, th)
              : trainopt_dropout_backward(p, 99, offset, n, dy, dx2, NULL);
}

/* Every length, p, offset, in place or not, mask or not, every hook: the unthreaded bits. */
static void pa_test_dropout(to_ctx *t) {
    const size_t floats = 4 * PA_DROP_MAX;
    float *x = (float *)malloc(PA_DROP_MAX * sizeof(float)), *dy = (float *)malloc(PA_DROP_MAX * sizeof(float));
    float *out = (float *)malloc(floats * sizeof(float)), *want = (float *)malloc(floats * sizeof(float));
    uint64_t seed = 0xd50u;
    size_t l, pi, h, cases = 0;
    int o, inplace, with_mask;
    if (!x || !dy || !out || !want) exit(2);
    to_rand_fill(&seed, x, PA_DROP_MAX, -2.0f, 2.0f);
    to_rand_fill(&seed, dy, PA_DROP_MAX, -1.0f, 1.0f);
    x[3] = NAN, x[16390] = INFINITY; /* a dropped NaN or Inf stays NaN */
    for (l = 0; l < PA_DROP_LENS; l++)
        for (pi = 0; pi < sizeof pa_drop_ps / sizeof pa_drop_ps[0]; pi++)
            for (o = 0; o < 2; o++)
                for (inplace = 0; inplace < 2; inplace++)
                    for (with_mask = 0; with_mask < 2; with_mask++) {
                        const size_t n = pa_drop_lens[l], used = 3 * n + (n + 7) / 8;
                        const uint64_t offset = o ? UINT64_MAX - 20000u : 12345u;
                        TO_CHECK(t, pa_drop_run(n, pa_drop_ps[pi], offset, inplace, with_mask, x, dy, want, NULL) ==
                                        TRAINOPT_OK,
                                 "the unthreaded dropout refused: %s", trainopt_last_error());
                        for (h = 0; h < PA_HOOKS; h++) {
                            int threads;
                            uint64_t hseed = 17 + h;
                            trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &hseed);
                            char what[160];
                            if (!pa_sampled(t, cases, h)) continue;
                            snprintf(what, sizeof what, "dropout n %zu p %g offset %s%s%s, %s", n, pa_drop_ps[pi],
                                     o ? "2^64 - 20001" : "12345", inplace ? ", in place" : "",
                                     with_mask ? ", mask" : "", pa_hooks[h].name);
                            TO_CHECK(t, pa_drop_run(n, pa_drop_ps[pi], offset, inplace, with_mask, x, dy, out, &th) ==
                                            TRAINOPT_OK,
                                     "%s: refused: %s", what, trainopt_last_error());
                            to_bits_equal(t, what, out, want, used);
                        }
                        cases++;
                    }
    free(x), free(dy), free(out), free(want);
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* From TRAINOPT_STREAM_BYTES (16 MiB) on, AVX-512 writes y with streaming stores, decided on
   the whole call's length, so the TRAINOPT_CHUNK pieces of a threaded call stream too (each
   piece's partial head and tail with ordinary stores). Offset 37 puts the first whole group
   at element 91 and to_buf's misalignment of 5 floats puts it on a line; n a multiple of 16
   keeps dx and the regenerated dx on lines as well. Only where one vector is one line
   (elsewhere the plain stores are the ones pa_test_dropout checks). */
static void pa_test_dropout_streaming(to_ctx *t) {
    const size_t n = ((size_t)16 << 20) / sizeof(float) + 1008, used = 3 * n + (n + 7) / 8;
    static const size_t hooks[] = {2, 5}; /* pthread x2, reverse */
    to_buf x, dy, want, out;
    uint64_t seed = 0xd51u;
    size_t h;
    if (!TRAINOPT__VECTOR_IS_LINE) return; /* no streaming here: the other tests cover this path */
    x = to_buf_new(n, 0), dy = to_buf_new(n, 0), want = to_buf_new(used, 5), out = to_buf_new(used, 5);
    to_rand_fill(&seed, x.p, n, -2.0f, 2.0f);
    to_rand_fill(&seed, dy.p, n, -1.0f, 1.0f);
    TO_CHECK(t, pa_drop_run(n, 0.3, 37, 0, 1, x.p, dy.p, want.p, NULL) == TRAINOPT_OK,
             "the unthreaded dropout refused: %s", trainopt_last_error());
    for (h = 0; h < sizeof hooks / sizeof hooks[0]; h++) {
        int threads;
        uint64_t hseed = 17;
        trainopt_threads th = pa_threads(&pa_hooks[hooks[h]], &threads, &hseed);
        char what[96];
        snprintf(what, sizeof what, "dropout of 16 MiB with a mask, %s", pa_hooks[hooks[h]].name);
        TO_CHECK(t, pa_drop_run(n, 0.3, 37, 0, 1, x.p, dy.p, out.p, &th) == TRAINOPT_OK, "%s: refused: %s", what,
                 trainopt_last_error());
        to_bits_equal(t, what, out.p, want.p, used);
        to_buf_canaries_ok(t, &out, what);
    }
    to_buf_free(&x), to_buf_free(&dy), to_buf_free(&want), to_buf_free(&out);
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* A refused threaded dropout call writes nothing and names itself. */
static void pa_test_dropout_refusals(to_ctx *t) {
    const size_t n = 40000;
    float *x = (float *)malloc(2 * n * sizeof(float)), *y, *before = (float *)malloc(n * sizeof(float));
    uint8_t mask[5000], mask_before[5000];
    int threads = 3;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    uint64_t fill = 21;
    if (!x || !before) exit(2);
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    y = x + n;
    to_rand_fill(&fill, x, 2 * n, -1.0f, 1.0f);
    memcpy(before, y, n * sizeof(float));
    memset(mask, 0x5a, sizeof mask), memcpy(mask_before, mask, sizeof mask);
    TO_CHECK(t, trainopt_dropout_forward_mt(1.5, 1, 0, n, x, y, mask, &th) == TRAINOPT_ERR_HPARAM,
             "dropout_forward_mt: p 1.5 accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_dropout_forward_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_dropout_forward_mt(0.5, 1, 0, n, x + 1, y, mask, &th) == TRAINOPT_ERR_ALIAS,
             "dropout_forward_mt: y overlapping x accepted");
    TO_CHECK(t, trainopt_dropout_backward_mt(0.5, 1, 0, n, x, NULL, mask, &th) == TRAINOPT_ERR_NULL,
             "dropout_backward_mt: dx NULL accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_dropout_backward_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_dropout_backward_mt(0.5, 1, 0, n, x, y, (const uint8_t *)(const void *)(y + 3), &th) ==
                    TRAINOPT_ERR_ALIAS,
             "dropout_backward_mt: mask inside dx accepted");
    TO_CHECK(t, memcmp(before, y, n * sizeof(float)) == 0 && memcmp(mask, mask_before, sizeof mask) == 0,
             "a refused threaded dropout call wrote");
    TO_CHECK(t, trainopt_dropout_forward_mt(0.5, 1, 0, 0, NULL, NULL, NULL, &th) == TRAINOPT_OK,
             "dropout_forward_mt: n 0 refused");
    free(x), free(before);
}

/* ---- batch norm inference, clip_grad_value and grad_unscale on threads ---------------------- */

/* Shapes (n, c, spatial, layout) for every path of trainopt_batchnorm_forward_infer_mt:
   NCHW tiles of channels (one, several with a short last, width cut by the row length),
   blocks of images, a row longer than TRAINOPT_CHUNK cut in pieces; NHWC one tile and
   several, blocks of rows, 3 channels over many rows; spatial 1 (NHWC's memory) over
   several tiles and over many rows. The last two are 4.2M floats: the streaming stores. */
static const size_t pa_bni_shapes[][4] = {
    {4, 13, 37, TRAINOPT_NCHW},     {8, 67, 50, TRAINOPT_NCHW},     {7, 9, 1000, TRAINOPT_NCHW},
    {2, 5, 17000, TRAINOPT_NCHW},   {3, 2, 40000, TRAINOPT_NCHW},   {3, 50, 7, TRAINOPT_NHWC},
    {5, 200, 9, TRAINOPT_NHWC},     {40, 100, 30, TRAINOPT_NHWC},   {50, 3, 1000, TRAINOPT_NHWC},
    {300, 130, 1, TRAINOPT_NCHW},   {70001, 3, 1, TRAINOPT_NHWC},   {16, 64, 4100, TRAINOPT_NCHW},
    {4100, 1030, 1, TRAINOPT_NCHW}};
#define PA_BNI_SHAPES (sizeof pa_bni_shapes / sizeof pa_bni_shapes[0])
#define PA_BNI_STREAMING 2 /* the last shapes: one variant each */

/* x (NaN, +-Inf, -0 and a denormal among its values), gamma, beta, running mean and
   variance (a NaN variance, a NaN mean, an Inf gamma, a zero variance among the channels). */
typedef struct {
    trainopt_bn_shape s;
    size_t total;
    float *x, *gamma, *beta, *rm, *rv;
} pa_bni_data;

static void pa_bni_init(pa_bni_data *d, const size_t *shape) {
    uint64_t seed = 0xb1fu + shape[0] * 7919u + shape[1] * 31u + shape[2];
    size_t i;
    d->s.n = shape[0], d->s.c = shape[1], d->s.spatial = shape[2], d->s.layout = (trainopt_layout)shape[3];
    d->total = shape[0] * shape[1] * shape[2];
    d->x = (float *)malloc((d->total + 4 * d->s.c) * sizeof(float));
    if (!d->x) exit(2);
    d->gamma = d->x + d->total, d->beta = d->gamma + d->s.c, d->rm = d->beta + d->s.c, d->rv = d->rm + d->s.c;
    to_rand_fill(&seed, d->x, d->total, -3.0f, 3.0f);
    for (i = 11; i < d->total; i += 5003)
        d->x[i] = (i / 5003) % 4 == 0 ? NAN : (i / 5003) % 4 == 1 ? -INFINITY : (i / 5003) % 4 == 2 ? -0.0f : 1e-40f;
    to_rand_fill(&seed, d->gamma, d->s.c, 0.5f, 1.5f);
    to_rand_fill(&seed, d->beta, d->s.c, -0.5f, 0.5f);
    to_rand_fill(&seed, d->rm, d->s.c, -0.25f, 0.25f);
    to_rand_fill(&seed, d->rv, d->s.c, 0.5f, 2.0f);
    d->rv[d->s.c - 1] = NAN;
    if (d->s.c > 2) d->rm[1] = NAN, d->gamma[2] = INFINITY;
    if (d->s.c > 3) d->rv[3] = 0.0f;
}

/* One call into out (total floats and 8 canaries, filled with -7 first; in place: out
   starts as x): affine with gamma and beta, or both NULL. */
static trainopt_status pa_bni_run(const pa_bni_data *d, int relu, int affine, int inplace, float *out,
                                  const trainopt_threads *th) {
    trainopt_bn_config c = TRAINOPT_BN_DEFAULTS;
    const float *g = affine ? d->gamma : NULL, *b = affine ? d->beta : NULL;
    size_t i;
    c.fuse_relu = relu;
    for (i = 0; i < d->total + 8; i++) out[i] = -7.0f;
    if (inplace) memcpy(out, d->x, d->total * sizeof(float));
    return th ? trainopt_batchnorm_forward_infer_mt(&c, d->s, inplace ? out : d->x, g, b, d->rm, d->rv, out, th)
              : trainopt_batchnorm_forward_infer(&c, d->s, inplace ? out : d->x, g, b, d->rm, d->rv, out);
}

/* Every shape, with and without fuse_relu, gamma/beta and in place, every hook: the bits
   of the unthreaded call, and the canaries after y untouched. */
static void pa_test_bn_infer(to_ctx *t) {
    size_t s, h, cases = 0;
    int kind;
    for (s = 0; s < PA_BNI_SHAPES; s++) {
        pa_bni_data d;
        float *want, *got;
        const int kinds = s + PA_BNI_STREAMING >= PA_BNI_SHAPES ? 1 : 8;
        pa_bni_init(&d, pa_bni_shapes[s]);
        want = (float *)malloc((d.total + 8) * sizeof(float)), got = (float *)malloc((d.total + 8) * sizeof(float));
        if (!want || !got) exit(2);
        for (kind = 0; kind < kinds; kind++) {
            const int relu = kind & 1, affine = !(kind & 2), inplace = (kind & 4) != 0;
            TO_CHECK(t, pa_bni_run(&d, relu, affine, inplace, want, NULL) == TRAINOPT_OK,
                     "the unthreaded forward_infer refused: %s", trainopt_last_error());
            for (h = 0; h < PA_HOOKS; h++) {
                int threads;
                uint64_t seed = 31 + h;
                trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &seed);
                char what[160];
                if (!pa_sampled(t, cases, h)) continue;
                snprintf(what, sizeof what, "forward_infer_mt n %zu c %zu spatial %zu %s%s%s%s, %s", d.s.n, d.s.c,
                         d.s.spatial, d.s.layout == TRAINOPT_NHWC ? "NHWC" : "NCHW", relu ? ", relu" : "",
                         affine ? "" : ", no gamma/beta", inplace ? ", in place" : "", pa_hooks[h].name);
                TO_CHECK(t, pa_bni_run(&d, relu, affine, inplace, got, &th) == TRAINOPT_OK, "%s: refused: %s", what,
                         trainopt_last_error());
                to_bits_equal(t, what, got, want, d.total + 8);
            }
            cases++;
        }
        free(want), free(got), free(d.x);
    }
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* A refused threaded forward_infer writes nothing and names itself. */
static void pa_test_bn_infer_refusals(to_ctx *t) {
    static const size_t shape[4] = {8, 67, 50, TRAINOPT_NCHW};
    const trainopt_bn_config c = TRAINOPT_BN_DEFAULTS;
    trainopt_bn_config bad = TRAINOPT_BN_DEFAULTS;
    pa_bni_data d;
    trainopt_bn_shape s0;
    float *y, *before;
    int threads = 3;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    uint64_t fill = 23;
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    pa_bni_init(&d, shape);
    y = (float *)malloc(d.total * sizeof(float)), before = (float *)malloc(d.total * sizeof(float));
    if (!y || !before) exit(2);
    to_rand_fill(&fill, y, d.total, 0.5f, 1.0f);
    memcpy(before, y, d.total * sizeof(float));
    bad.eps = 0.0;
    TO_CHECK(t, trainopt_batchnorm_forward_infer_mt(&bad, d.s, d.x, d.gamma, d.beta, d.rm, d.rv, y, &th) ==
                    TRAINOPT_ERR_HPARAM,
             "batchnorm_forward_infer_mt: eps 0 accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_batchnorm_forward_infer_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_batchnorm_forward_infer_mt(&c, d.s, d.x, d.gamma, d.beta, d.rm, NULL, y, &th) == TRAINOPT_ERR_NULL,
             "batchnorm_forward_infer_mt: running_var NULL accepted");
    TO_CHECK(t, trainopt_batchnorm_forward_infer_mt(&c, d.s, d.x, d.gamma, d.beta, d.rm, d.rv, d.x + 1, &th) ==
                    TRAINOPT_ERR_ALIAS,
             "batchnorm_forward_infer_mt: y overlapping x accepted");
    s0 = d.s, s0.layout = (trainopt_layout)7;
    TO_CHECK(t, trainopt_batchnorm_forward_infer_mt(&c, s0, d.x, d.gamma, d.beta, d.rm, d.rv, y, &th) == TRAINOPT_ERR_SHAPE,
             "batchnorm_forward_infer_mt: layout 7 accepted");
    TO_CHECK(t, memcmp(before, y, d.total * sizeof(float)) == 0, "a refused threaded forward_infer wrote");
    s0 = d.s, s0.n = 0;
    TO_CHECK(t, trainopt_batchnorm_forward_infer_mt(&c, s0, NULL, NULL, NULL, NULL, NULL, NULL, &th) == TRAINOPT_OK,
             "batchnorm_forward_infer_mt: n 0 refused");
    free(y), free(before), free(d.x);
}

/* Lengths around the chunk, odd tails, and more than one round of 256 pieces. Three
   inputs: finite only; NaN, +-Inf, -0 and denormals spread; finite but for an Inf in the
   last element (in the last round's last piece). */
static const size_t pa_gew_lens[] = {1, 37, 16383, 16384, 16385, 50001, 257 * 16384 + 5};
#define PA_GEW_LENS (sizeof pa_gew_lens / sizeof pa_gew_lens[0])
#define PA_GEW_MAX (257 * 16384 + 5)
static const char *const pa_gew_inputs[] = {"finite", "non-finite", "Inf last"};

static void pa_gew_fill(float *g, size_t n, int input) {
    uint64_t seed = 0x6e7u + n;
    size_t i;
    to_rand_fill(&seed, g, n, -4.0f, 4.0f);
    for (i = 0; i < n; i += 97) g[i] = ldexpf(g[i], (int)((i / 97) % 200) - 100); /* denormals to 2^100 */
    if (input == 1)
        for (i = 5; i < n; i += 6007)
            g[i] = (i / 6007) % 4 == 0 ? NAN : (i / 6007) % 4 == 1 ? -INFINITY : (i / 6007) % 4 == 2 ? -0.0f : INFINITY;
    if (input == 2) g[n - 1] = INFINITY;
}

/* clip_grad_value_mt (clip 0.5 and 0) and grad_unscale_mt (found_inf starting 0 and 1, so
   that a flag is seen set and never cleared) at every length, input and hook: the bits
   and the flag of the unthreaded calls. The length of two rounds (4.2M floats) runs one
   variant, the Inf in its last element, so that the sanitizer legs stay short. */
static void pa_test_grad_elementwise(to_ctx *t) {
    static const double clips[] = {0.5, 0.0};
    static const float invs[] = {0.5f, 1.0f / 65536.0f};
    float *src = (float *)malloc(PA_GEW_MAX * sizeof(float)), *want = (float *)malloc(PA_GEW_MAX * sizeof(float));
    float *got = (float *)malloc(PA_GEW_MAX * sizeof(float));
    size_t l, h, cases = 0;
    int input, v, start;
    if (!src || !want || !got) exit(2);
    for (l = 0; l < PA_GEW_LENS; l++)
        for (input = l + 1 == PA_GEW_LENS ? 2 : 0; input < 3; input++) {
            const size_t n = pa_gew_lens[l];
            const int big = l + 1 == PA_GEW_LENS;
            size_t i;
            int has_bad = 0;
            pa_gew_fill(src, n, input);
            for (i = 0; i < n; i++) has_bad |= !(fabsf(src[i]) < INFINITY);
            for (v = 0; v < (big ? 1 : 2); v++) {
                memcpy(want, src, n * sizeof(float));
                TO_CHECK(t, trainopt_clip_grad_value(n, want, clips[v]) == TRAINOPT_OK, "clip_grad_value refused");
                for (h = 0; h < PA_HOOKS; h++) {
                    int threads;
                    uint64_t seed = 41 + h;
                    trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &seed);
                    char what[128];
                    if (!pa_sampled(t, cases, h)) continue;
                    snprintf(what, sizeof what, "clip_grad_value_mt n %zu clip %g %s, %s", n, clips[v],
                             pa_gew_inputs[input], pa_hooks[h].name);
                    memcpy(got, src, n * sizeof(float));
                    TO_CHECK(t, trainopt_clip_grad_value_mt(n, got, clips[v], &th) == TRAINOPT_OK, "%s: refused", what);
                    to_bits_equal(t, what, got, want, n);
                }
                cases++;
                for (start = 0; start <= (big ? 0 : 1); start++) {
                    int want_found = start;
                    memcpy(want, src, n * sizeof(float));
                    TO_CHECK(t, trainopt_grad_unscale(n, want, invs[v], &want_found) == TRAINOPT_OK, "grad_unscale refused");
                    TO_CHECK(t, want_found == (start || has_bad), "grad_unscale: found_inf %d from %d, %s, n %zu",
                             want_found, start, pa_gew_inputs[input], n);
                    for (h = 0; h < PA_HOOKS; h++) {
                        int threads, found = start;
                        uint64_t seed = 53 + h;
                        trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &seed);
                        char what[128];
                        if (!pa_sampled(t, cases, h)) continue;
                        snprintf(what, sizeof what, "grad_unscale_mt n %zu inv_scale %g %s, found_inf from %d, %s", n,
                                 (double)invs[v], pa_gew_inputs[input], start, pa_hooks[h].name);
                        memcpy(got, src, n * sizeof(float));
                        TO_CHECK(t, trainopt_grad_unscale_mt(n, got, invs[v], &found, &th) == TRAINOPT_OK, "%s: refused",
                                 what);
                        to_bits_equal(t, what, got, want, n);
                        TO_CHECK(t, found == want_found, "%s: found_inf %d, the serial call %d", what, found, want_found);
                    }
                    cases++;
                }
            }
        }
    free(src), free(want), free(got);
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* Refused threaded clip_grad_value / grad_unscale calls write nothing and name themselves. */
static void pa_test_grad_elementwise_refusals(to_ctx *t) {
    const size_t n = 40000;
    float *g = (float *)malloc(n * sizeof(float)), *before = (float *)malloc(n * sizeof(float));
    int *inside; /* a found_inf inside grad (refused before anything is written through it) */
    int threads = 3, found = 0;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    uint64_t fill = 29;
    if (!g || !before) exit(2);
    inside = (int *)(void *)(g + 30000);
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    to_rand_fill(&fill, g, n, -1.0f, 1.0f);
    g[7] = NAN;
    memcpy(before, g, n * sizeof(float));
    TO_CHECK(t, trainopt_clip_grad_value_mt(n, g, -1.0, &th) == TRAINOPT_ERR_HPARAM, "clip_grad_value_mt: clip -1 accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_clip_grad_value_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_clip_grad_value_mt(n, g, NAN, &th) == TRAINOPT_ERR_HPARAM, "clip_grad_value_mt: clip NaN accepted");
    TO_CHECK(t, trainopt_clip_grad_value_mt(n, NULL, 1.0, &th) == TRAINOPT_ERR_NULL, "clip_grad_value_mt: grad NULL accepted");
    TO_CHECK(t, trainopt_clip_grad_value_mt(SIZE_MAX / 2, g, 1.0, &th) == TRAINOPT_ERR_SHAPE,
             "clip_grad_value_mt: n overflowing accepted");
    TO_CHECK(t, trainopt_grad_unscale_mt(n, g, 0.0f, &found, &th) == TRAINOPT_ERR_HPARAM,
             "grad_unscale_mt: inv_scale 0 accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_grad_unscale_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_grad_unscale_mt(n, g, INFINITY, &found, &th) == TRAINOPT_ERR_HPARAM,
             "grad_unscale_mt: inv_scale Inf accepted");
    TO_CHECK(t, trainopt_grad_unscale_mt(n, g, 0.5f, NULL, &th) == TRAINOPT_ERR_NULL,
             "grad_unscale_mt: found_inf NULL accepted");
    TO_CHECK(t, trainopt_grad_unscale_mt(n, g, 0.5f, inside, &th) == TRAINOPT_ERR_ALIAS,
             "grad_unscale_mt: found_inf inside grad accepted");
    TO_CHECK(t, memcmp(before, g, n * sizeof(float)) == 0 && found == 0, "a refused threaded call wrote");
    TO_CHECK(t, trainopt_clip_grad_value_mt(0, NULL, 1.0, &th) == TRAINOPT_OK, "clip_grad_value_mt: n 0 refused");
    TO_CHECK(t, trainopt_grad_unscale_mt(0, NULL, 1.0f, NULL, &th) == TRAINOPT_OK, "grad_unscale_mt: n 0 refused");
    free(g), free(before);
}

/* ---- losses on threads -------------------------------------------------------------------- */

/* MSE and BCE: lengths around the block and the chunk, odd tails, and more than one round
   of pieces (32 chunks); cross-entropy: one row, rows of one class, short rows in several
   rounds, rows longer than a chunk (one row per piece) in several rounds. */
static const size_t pa_loss_lens[] = {1, 37, 255, 256, 16383, 16385, 50001, 33 * 16384 + 5};
#define PA_LOSS_LENS (sizeof pa_loss_lens / sizeof pa_loss_lens[0])
#define PA_LOSS_MAX (33 * 16384 + 5)
static const size_t pa_ce_shapes[][2] = {{1, 1}, {9, 1}, {7, 10}, {4100, 10}, {37, 1000}, {300, 700}, {260, 16400}};
#define PA_CE_SHAPES (sizeof pa_ce_shapes / sizeof pa_ce_shapes[0])
#define PA_CE_MAX (260 * 16400)

/* MSE (op 0) or BCE (op 1) into out: the loss, then the gradient (grad_mode 0: none, 1: its
   own array, 2: in place of x, which is copied there first). */
static trainopt_status pa_pointwise_run(int op, size_t n, int grad_mode, const float *x, const float *y, float *out,
                                        const trainopt_threads *th) {
    float *g = grad_mode ? out + 1 : NULL;
    const float *p = x;
    size_t i;
    for (i = 0; i < 1 + n; i++) out[i] = -7.0f;
    if (grad_mode == 2) memcpy(g, x, n * sizeof(float)), p = g;
    if (op == 0) return th ? trainopt_mse_loss_mt(n, p, y, out, g, th) : trainopt_mse_loss(n, p, y, out, g);
    return th ? trainopt_bce_with_logits_mt(n, p, y, out, g, th) : trainopt_bce_with_logits(n, p, y, out, g);
}

/* Every length, loss and gradient mode, every hook: the unthreaded bits; once with finite
   inputs (the sum's order shows in the loss) and once with an Inf and a NaN. */
static void pa_test_pointwise_losses(to_ctx *t) {
    float *x = (float *)malloc(PA_LOSS_MAX * sizeof(float)), *y = (float *)malloc(PA_LOSS_MAX * sizeof(float));
    float *out = (float *)malloc((PA_LOSS_MAX + 1) * sizeof(float)), *want = (float *)malloc((PA_LOSS_MAX + 1) * sizeof(float));
    uint64_t seed = 0x1055u;
    size_t l, h, cases = 0;
    int op, grad_mode, dirty;
    if (!x || !y || !out || !want) exit(2);
    to_rand_fill(&seed, x, PA_LOSS_MAX, -3.0f, 3.0f);
    to_rand_fill(&seed, y, PA_LOSS_MAX, 0.0f, 1.0f);
    for (dirty = 0; dirty < 2; dirty++) {
        if (dirty) x[0] = INFINITY, x[16390] = NAN;
        for (op = 0; op < 2; op++)
            for (l = 0; l < PA_LOSS_LENS; l++)
                for (grad_mode = 0; grad_mode < 3; grad_mode++) {
                    const size_t n = pa_loss_lens[l];
                    TO_CHECK(t, pa_pointwise_run(op, n, grad_mode, x, y, want, NULL) == TRAINOPT_OK,
                             "the unthreaded loss refused: %s", trainopt_last_error());
                    for (h = 0; h < PA_HOOKS; h++) {
                        int threads;
                        uint64_t hseed = 31 + h;
                        trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &hseed);
                        char what[160];
                        if (!pa_sampled(t, cases, h)) continue;
                        snprintf(what, sizeof what, "%s n %zu, %s%s, %s", op ? "bce_with_logits_mt" : "mse_loss_mt", n,
                                 grad_mode == 0 ? "no grad" : grad_mode == 1 ? "grad" : "grad in place",
                                 dirty ? ", Inf and NaN" : "", pa_hooks[h].name);
                        TO_CHECK(t, pa_pointwise_run(op, n, grad_mode, x, y, out, &th) == TRAINOPT_OK, "%s: refused: %s",
                                 what, trainopt_last_error());
                        to_bits_equal(t, what, out, want, 1 + (grad_mode ? n : 0));
                    }
                    cases++;
                }
    }
    free(x), free(y), free(out), free(want);
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* Cross-entropy into out: the loss, then the gradient (grad_mode as above, in place of the logits). */
static trainopt_status pa_ce_run(size_t batch, size_t classes, const float *logits, const int32_t *labels,
                                 double smoothing, int grad_mode, float *out, const trainopt_threads *th) {
    const size_t n = batch * classes;
    float *g = grad_mode ? out + 1 : NULL;
    const float *x = logits;
    size_t i;
    for (i = 0; i < 1 + n; i++) out[i] = -7.0f;
    if (grad_mode == 2) memcpy(g, logits, n * sizeof(float)), x = g;
    return th ? trainopt_softmax_cross_entropy_mt(batch, classes, x, labels, -100, smoothing, out, g, th)
              : trainopt_softmax_cross_entropy(batch, classes, x, labels, -100, smoothing, out, g);
}

/* Every shape, smoothing or not, every gradient mode, every hook: the unthreaded bits;
   labels with ignored rows, and once with a NaN row (the loss NaN, its gradient NaN). */
static void pa_test_cross_entropy(to_ctx *t) {
    float *x = (float *)malloc(PA_CE_MAX * sizeof(float)), *out = (float *)malloc((PA_CE_MAX + 1) * sizeof(float));
    float *want = (float *)malloc((PA_CE_MAX + 1) * sizeof(float));
    int32_t *labels = (int32_t *)malloc(4100 * sizeof(int32_t));
    uint64_t seed = 0xce5u;
    size_t s, h, b, cases = 0;
    int grad_mode, smooth, dirty;
    if (!x || !out || !want || !labels) exit(2);
    to_rand_fill(&seed, x, PA_CE_MAX, -4.0f, 4.0f);
    for (s = 0; s < PA_CE_SHAPES; s++) {
        const size_t batch = pa_ce_shapes[s][0], classes = pa_ce_shapes[s][1], n = batch * classes;
        for (b = 0; b < batch; b++) labels[b] = b % 11 == 5 ? -100 : (int32_t)(to_rand_u64(&seed) % classes);
        for (dirty = 0; dirty < 2; dirty++) {
            const float keep = x[n / 2];
            if (dirty) x[n / 2] = NAN;
            for (smooth = 0; smooth < 2; smooth++)
                for (grad_mode = 0; grad_mode < 3; grad_mode++) {
                    const double eps = smooth ? 0.1 : 0.0;
                    TO_CHECK(t, pa_ce_run(batch, classes, x, labels, eps, grad_mode, want, NULL) == TRAINOPT_OK,
                             "the unthreaded cross-entropy refused: %s", trainopt_last_error());
                    for (h = 0; h < PA_HOOKS; h++) {
                        int threads;
                        uint64_t hseed = 47 + h;
                        trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &hseed);
                        char what[160];
                        if (!pa_sampled(t, cases, h)) continue;
                        snprintf(what, sizeof what, "softmax_cross_entropy_mt %zu x %zu, smoothing %g, %s%s, %s", batch,
                                 classes, eps, grad_mode == 0 ? "no grad" : grad_mode == 1 ? "grad" : "grad in place",
                                 dirty ? ", a NaN row" : "", pa_hooks[h].name);
                        TO_CHECK(t, pa_ce_run(batch, classes, x, labels, eps, grad_mode, out, &th) == TRAINOPT_OK,
                                 "%s: refused: %s", what, trainopt_last_error());
                        to_bits_equal(t, what, out, want, 1 + (grad_mode ? n : 0));
                    }
                    cases++;
                }
            x[n / 2] = keep;
        }
    }
    free(x), free(out), free(want), free(labels);
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* A refused threaded loss writes nothing (neither the loss nor the gradient) and names itself. */
static void pa_test_loss_refusals(to_ctx *t) {
    const size_t n = 40000, batch = 50, classes = 800;
    float *x = (float *)malloc(3 * n * sizeof(float)), *y, *g, *before = (float *)malloc(n * sizeof(float));
    int32_t labels[50];
    float loss = -7.0f;
    int threads = 3;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    uint64_t fill = 23;
    size_t b;
    if (!x || !before) exit(2);
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    y = x + n, g = y + n;
    to_rand_fill(&fill, x, 3 * n, -1.0f, 1.0f);
    memcpy(before, g, n * sizeof(float));
    for (b = 0; b < batch; b++) labels[b] = (int32_t)(b % classes);
    TO_CHECK(t, trainopt_mse_loss_mt(n, x, y, &loss, x + 1, &th) == TRAINOPT_ERR_ALIAS,
             "mse_loss_mt: grad partly over pred accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_mse_loss_mt") != NULL, "the error names %s", trainopt_last_error());
    TO_CHECK(t, trainopt_bce_with_logits_mt(n, x, NULL, &loss, g, &th) == TRAINOPT_ERR_NULL,
             "bce_with_logits_mt: target NULL accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_bce_with_logits_mt") != NULL, "the error names %s",
             trainopt_last_error());
    TO_CHECK(t, trainopt_mse_loss_mt(n, x, y, NULL, g, &th) == TRAINOPT_ERR_NULL, "mse_loss_mt: loss NULL accepted");
    labels[batch - 1] = (int32_t)classes; /* the last row's label out of range: refused before any row is touched */
    TO_CHECK(t, trainopt_softmax_cross_entropy_mt(batch, classes, x, labels, -100, 0.0, &loss, g, &th) == TRAINOPT_ERR_INDEX,
             "softmax_cross_entropy_mt: label = classes accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_softmax_cross_entropy_mt") != NULL, "the error names %s",
             trainopt_last_error());
    labels[batch - 1] = 0;
    TO_CHECK(t, trainopt_softmax_cross_entropy_mt(batch, classes, x, labels, -100, 1.5, &loss, g, &th) == TRAINOPT_ERR_HPARAM,
             "softmax_cross_entropy_mt: label_smoothing 1.5 accepted");
    TO_CHECK(t, memcmp(before, g, n * sizeof(float)) == 0 && loss == -7.0f, "a refused threaded loss wrote");
    TO_CHECK(t, trainopt_mse_loss_mt(0, NULL, NULL, &loss, NULL, &th) == TRAINOPT_OK && loss != loss,
             "mse_loss_mt: n 0 is not PyTorch's NaN mean");
    free(x), free(before);
}

/* ---- generators on threads ---------------------------------------------------------------- */

/* Lengths around the chunk and odd tails; for the raw words also more than one round of
   pieces (STEP_ROUND chunks). Offsets: odd, and one that wraps past 2^64 inside the call. */
static const size_t pa_gen_lens[] = {1, 37, 16383, 16385, 50001};
#define PA_GEN_LENS (sizeof pa_gen_lens / sizeof pa_gen_lens[0])
#define PA_GEN_BIG (257 * 16384 + 3)
#define PA_GENS 8

static const char *const pa_gen_names[PA_GENS] = {"rand_u32_mt",      "rand_uniform_mt",    "rand_normal_mt",
                                                  "xavier_uniform_mt", "xavier_normal_mt",   "kaiming_uniform_mt",
                                                  "kaiming_normal_mt", "trunc_normal_mt"};

/* Generator g into out (n 32-bit values), threaded on th or the unthreaded call without. */
static trainopt_status pa_gen_run(int g, size_t n, uint64_t offset, void *out, const trainopt_threads *th) {
    const uint64_t seed = 0x5eedu;
    trainopt_kaiming_config kc = TRAINOPT_KAIMING_DEFAULTS;
    trainopt_trunc_normal_config tc = TRAINOPT_TRUNC_NORMAL_DEFAULTS;
    float *y = (float *)out;
    kc.a = 0.1, kc.nonlinearity = TRAINOPT_NL_LEAKY_RELU;
    tc.mean = 0.5, tc.std = 2.0, tc.a = -1.0, tc.b = 3.0;
    memset(out, 0xa5, n * sizeof(float));
    switch (g) {
    case 0: return th ? trainopt_rand_u32_mt(seed, offset, n, (uint32_t *)out, th) : trainopt_rand_u32(seed, offset, n, (uint32_t *)out);
    case 1: return th ? trainopt_rand_uniform_mt(seed, offset, n, -2.0, 3.0, y, th) : trainopt_rand_uniform(seed, offset, n, -2.0, 3.0, y);
    case 2: return th ? trainopt_rand_normal_mt(seed, offset, n, 1.0, 0.5, y, th) : trainopt_rand_normal(seed, offset, n, 1.0, 0.5, y);
    case 3:
        return th ? trainopt_xavier_uniform_mt(seed, offset, n, 30, 20, 1.5, y, th)
                  : trainopt_xavier_uniform(seed, offset, n, 30, 20, 1.5, y);
    case 4:
        return th ? trainopt_xavier_normal_mt(seed, offset, n, 30, 20, 1.5, y, th)
                  : trainopt_xavier_normal(seed, offset, n, 30, 20, 1.5, y);
    case 5:
        return th ? trainopt_kaiming_uniform_mt(&kc, seed, offset, n, 30, 20, y, th)
                  : trainopt_kaiming_uniform(&kc, seed, offset, n, 30, 20, y);
    case 6:
        return th ? trainopt_kaiming_normal_mt(&kc, seed, offset, n, 30, 20, y, th)
                  : trainopt_kaiming_normal(&kc, seed, offset, n, 30, 20, y);
    default: return th ? trainopt_trunc_normal_mt(&tc, seed, offset, n, y, th) : trainopt_trunc_normal(&tc, seed, offset, n, y);
    }
}

/* Every generator, length and offset, every hook: exactly the unthreaded bits. */
static void pa_test_generators(to_ctx *t) {
    float *out = (float *)malloc(PA_GEN_BIG * sizeof(float)), *want = (float *)malloc(PA_GEN_BIG * sizeof(float));
    size_t l, h, cases = 0;
    int g, o;
    if (!out || !want) exit(2);
    for (g = 0; g < PA_GENS; g++)
        for (l = 0; l <= PA_GEN_LENS; l++)
            for (o = 0; o < 2; o++) {
                const size_t n = l < PA_GEN_LENS ? pa_gen_lens[l] : PA_GEN_BIG;
                const uint64_t offset = o ? UINT64_MAX - 20000u : 12345u;
                if (l == PA_GEN_LENS && g != 0) continue; /* the long one: the raw words only */
                TO_CHECK(t, pa_gen_run(g, n, offset, want, NULL) == TRAINOPT_OK, "the unthreaded %s refused: %s",
                         pa_gen_names[g], trainopt_last_error());
                for (h = 0; h < PA_HOOKS; h++) {
                    int threads;
                    uint64_t hseed = 61 + h;
                    trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &hseed);
                    if (!pa_sampled(t, cases, h)) continue;
                    TO_CHECK(t, pa_gen_run(g, n, offset, out, &th) == TRAINOPT_OK, "%s n %zu: refused: %s",
                             pa_gen_names[g], n, trainopt_last_error());
                    TO_CHECK(t, memcmp(out, want, n * sizeof(float)) == 0,
                             "%s n %zu offset %s, %s: not the unthreaded call's bits", pa_gen_names[g], n,
                             o ? "2^64 - 20001" : "12345", pa_hooks[h].name);
                }
                cases++;
            }
    free(out), free(want);
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* A refused threaded generator writes nothing and names itself. */
static void pa_test_generator_refusals(to_ctx *t) {
    const size_t n = 40000;
    float *y = (float *)malloc(n * sizeof(float)), *before = (float *)malloc(n * sizeof(float));
    trainopt_kaiming_config kc = TRAINOPT_KAIMING_DEFAULTS;
    trainopt_trunc_normal_config tc = TRAINOPT_TRUNC_NORMAL_DEFAULTS;
    int threads = 3;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    uint64_t fill = 29;
    if (!y || !before) exit(2);
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    to_rand_fill(&fill, y, n, -1.0f, 1.0f);
    memcpy(before, y, n * sizeof(float));
    TO_CHECK(t, trainopt_rand_uniform_mt(1, 0, n, 2.0, 1.0, y, &th) == TRAINOPT_ERR_HPARAM, "rand_uniform_mt: hi < lo accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_rand_uniform_mt") != NULL, "the error names %s", trainopt_last_error());
    TO_CHECK(t, trainopt_rand_normal_mt(1, 0, n, 0.0, -1.0, y, &th) == TRAINOPT_ERR_HPARAM, "rand_normal_mt: std < 0 accepted");
    TO_CHECK(t, trainopt_rand_u32_mt(1, 0, n, NULL, &th) == TRAINOPT_ERR_NULL, "rand_u32_mt: out NULL accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_rand_u32_mt") != NULL, "the error names %s", trainopt_last_error());
    TO_CHECK(t, trainopt_xavier_normal_mt(1, 0, n, 0, 20, 1.0, y, &th) == TRAINOPT_ERR_SHAPE, "xavier_normal_mt: fan_in 0 accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_xavier_normal_mt") != NULL, "the error names %s", trainopt_last_error());
    kc.mode = (trainopt_fan_mode)7;
    TO_CHECK(t, trainopt_kaiming_uniform_mt(&kc, 1, 0, n, 30, 20, y, &th) == TRAINOPT_ERR_HPARAM,
             "kaiming_uniform_mt: a bad mode accepted");
    TO_CHECK(t, strstr(trainopt_last_error(), "trainopt_kaiming_uniform_mt") != NULL, "the error names %s",
             trainopt_last_error());
    tc.a = 3.0, tc.b = 2.0;
    TO_CHECK(t, trainopt_trunc_normal_mt(&tc, 1, 0, n, y, &th) == TRAINOPT_ERR_HPARAM, "trunc_normal_mt: a > b accepted");
    TO_CHECK(t, memcmp(before, y, n * sizeof(float)) == 0, "a refused threaded generator wrote");
    TO_CHECK(t, trainopt_rand_normal_mt(1, 0, 0, 0.0, 1.0, NULL, &th) == TRAINOPT_OK, "rand_normal_mt: n 0 refused");
    free(y), free(before);
}

/* ---- Adafactor's list (trainopt_adafactor_step_multi, src/parallel_adafactor.h) ------------ */

/* Factored and unfactored tensors, one empty, one past TRAINOPT_CHUNK; each is one task. */
static const size_t pa_af_rows[] = {3, 1, 70, 0, 1, 257, 2};
static const size_t pa_af_cols[] = {5, 37, 300, 4, 16385, 65, 1};
#define PA_AF_K (sizeof pa_af_rows / sizeof pa_af_rows[0])

typedef struct {
    float *block;
    size_t total;
    trainopt_adafactor_tensor t[PA_AF_K];
} pa_af_model;

/* Tensors of one row (PyTorch's vectors) are unfactored; the others factored. One NaN and
   one -Inf in the 37-element gradient, so the count is not 0. */
static void pa_af_init(pa_af_model *m) {
    uint64_t seed = 0xadaf;
    size_t i, at = 0;
    m->total = 0;
    for (i = 0; i < PA_AF_K; i++) m->total += 3 * pa_af_rows[i] * pa_af_cols[i] + pa_af_rows[i] + pa_af_cols[i];
    m->block = (float *)calloc(m->total + 1, sizeof(float));
    if (!m->block) exit(2);
    for (i = 0; i < PA_AF_K; i++) {
        trainopt_adafactor_tensor *x = &m->t[i];
        const size_t n = pa_af_rows[i] * pa_af_cols[i];
        x->rows = pa_af_rows[i], x->cols = pa_af_cols[i];
        x->param = m->block + at, at += n;
        to_rand_fill(&seed, x->param, n, -1.5f, 1.5f);
        x->grad = m->block + at;
        to_rand_fill(&seed, m->block + at, n, -1.5f, 1.5f), at += n;
        x->row_var = x->col_var = x->variance = NULL;
        if (x->rows == 1) {
            x->variance = m->block + at, at += n;
        } else {
            x->row_var = m->block + at, at += x->rows;
            x->col_var = m->block + at, at += x->cols;
        }
    }
    ((float *)m->t[1].grad)[4] = NAN, ((float *)m->t[1].grad)[20] = -INFINITY;
}

static trainopt_adafactor_config pa_af_cfg(void) {
    trainopt_adafactor_config c = TRAINOPT_ADAFACTOR_DEFAULTS;
    c.weight_decay = 0.01, c.lr = 0.05;
    return c;
}

/* The reference: each tensor its own trainopt_adafactor_step(_ex), single-threaded. */
static void pa_af_reference(pa_af_model *m, const trainopt_step_opts *o, size_t *bad, to_ctx *t) {
    const trainopt_adafactor_config c = pa_af_cfg();
    trainopt_step_opts local;
    size_t i, one_bad;
    int64_t step;
    *bad = 0;
    for (step = 1; step <= PA_STEPS; step++)
        for (i = 0; i < PA_AF_K; i++) {
            const trainopt_adafactor_tensor *x = &m->t[i];
            trainopt_status st;
            if (o) {
                local = *o, local.nonfinite = &one_bad, one_bad = 0;
                st = trainopt_adafactor_step_ex(&c, step, x->rows, x->cols, x->param, x->grad, x->row_var, x->col_var,
                                                x->variance, &local);
                *bad += one_bad;
            } else {
                st = trainopt_adafactor_step(&c, step, x->rows, x->cols, x->param, x->grad, x->row_var, x->col_var,
                                             x->variance);
            }
            TO_CHECK(t, st == TRAINOPT_OK, "adafactor reference: step %d tensor %zu refused: %s", (int)step, i,
                     trainopt_last_error());
        }
}

/* The list equals the per-tensor calls, bit for bit, with and without the fused options,
   under every hook (no hook; 1, 2, 3, 7 pthreads; reversed and shuffled orders) and on
   trainopt_pools of 1, 2, 3 and 7 threads. */
static void pa_test_adafactor(to_ctx *t) {
    static const int pool_sizes[] = {1, 2, 3, 7};
    const trainopt_adafactor_config c = pa_af_cfg();
    pa_af_model want, want_plain, got;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t want_bad, plain_bad, h;
    o.grad_scale = 0.5;
    pa_af_init(&want), pa_af_init(&want_plain);
    pa_af_reference(&want, &o, &want_bad, t);
    pa_af_reference(&want_plain, NULL, &plain_bad, t);
    TO_CHECK(t, want_bad == 2 * PA_STEPS, "adafactor reference counted %zu non-finite gradients, want %d", want_bad,
             2 * PA_STEPS);
    for (h = 0; h < PA_HOOKS + 4; h++) {
        int threads, plain;
        uint64_t seed = 177 + h;
        trainopt_pool *pool = NULL;
        trainopt_threads th;
        char hook[48];
        if (h < PA_HOOKS) {
            th = pa_threads(&pa_hooks[h], &threads, &seed);
            snprintf(hook, sizeof hook, "%s", pa_hooks[h].name);
        } else {
            TO_CHECK(t, trainopt_pool_create(pool_sizes[h - PA_HOOKS], &pool) == TRAINOPT_OK, "trainopt_pool_create(%d): %s",
                     pool_sizes[h - PA_HOOKS], trainopt_last_error());
            if (pool == NULL) continue;
            th.parallel_for = trainopt_pool_parallel_for, th.ctx = pool;
            snprintf(hook, sizeof hook, "trainopt_pool of %d", pool_sizes[h - PA_HOOKS]);
        }
        for (plain = 0; plain <= 1; plain++) {
            char what[96];
            size_t bad = (size_t)-1, total = 0;
            int64_t step;
            pa_af_init(&got);
            for (step = 1; step <= PA_STEPS; step++) {
                trainopt_status st;
                if (!plain) o.nonfinite = &bad;
                st = trainopt_adafactor_step_multi(&c, step, PA_AF_K, got.t, plain ? NULL : &o, &th);
                TO_CHECK(t, st == TRAINOPT_OK, "adafactor_step_multi, %s: step %d refused: %s", hook, (int)step,
                         trainopt_last_error());
                if (!plain) total += bad;
            }
            o.nonfinite = NULL;
            snprintf(what, sizeof what, "adafactor_step_multi%s, %s", plain ? " (plain)" : "", hook);
            to_bits_equal(t, what, got.block, (plain ? &want_plain : &want)->block, got.total);
            if (!plain) TO_CHECK(t, total == want_bad, "%s: non-finite count %zu, want %zu", what, total, want_bad);
            free(got.block);
        }
        trainopt_pool_destroy(pool);
    }
    free(want.block), free(want_plain.block);
}

/* A bad tensor in the middle of the list, a bad config or step: refused with the reason,
   nothing written (no tensor, no count); found_inf skips the whole list, count 0. */
static void pa_test_adafactor_refusals(to_ctx *t) {
    trainopt_adafactor_config c = pa_af_cfg();
    pa_af_model m;
    float *before;
    size_t bad = 12345;
    int found_inf = 1, threads = 2;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    o.nonfinite = &bad;
    pa_af_init(&m);
    before = (float *)malloc((m.total + 1) * sizeof(float));
    if (!before) exit(2);
    memcpy(before, m.block, m.total * sizeof(float));
#define PA_AF_REFUSED(want, text, what)                                                                                 \
    do {                                                                                                                \
        const trainopt_status st_ = trainopt_adafactor_step_multi(&c, 1, PA_AF_K, m.t, &o, &th);                        \
        TO_CHECK(t, st_ == (want) && strstr(trainopt_last_error(), text) != NULL,                                       \
                 "%s: status %d, \"%s\" (want %d, \"%s\")", what, (int)st_, trainopt_last_error(), (int)(want), text); \
        TO_CHECK(t, memcmp(before, m.block, m.total * sizeof(float)) == 0 && bad == 12345, "%s: something was written", \
                 what);                                                                                                 \
    } while (0)
    m.t[2].grad = NULL;
    PA_AF_REFUSED(TRAINOPT_ERR_NULL, "trainopt_adafactor_step_multi: tensors[2].grad is NULL", "grad NULL");
    m.t[2].grad = m.t[2].param + 1;
    PA_AF_REFUSED(TRAINOPT_ERR_ALIAS, "tensors[2].param and tensors[2].grad overlap", "param and grad overlap");
    m.t[2].grad = m.t[2].param + pa_af_rows[2] * pa_af_cols[2];
    m.t[5].col_var = NULL;
    PA_AF_REFUSED(TRAINOPT_ERR_NULL, "tensors[5].col_var is NULL", "col_var NULL");
    m.t[5].col_var = m.t[5].row_var + pa_af_rows[5];
    m.t[1].row_var = m.t[5].row_var;
    PA_AF_REFUSED(TRAINOPT_ERR_ALIAS, "tensors[1]: variance and row_var/col_var both given", "both forms");
    m.t[1].row_var = NULL;
    m.t[6].rows = SIZE_MAX / 2;
    PA_AF_REFUSED(TRAINOPT_ERR_SHAPE, "tensors[6]: rows * cols", "size overflow");
    m.t[6].rows = pa_af_rows[6];
    o.nonfinite = (size_t *)(void *)m.t[5].row_var;
    PA_AF_REFUSED(TRAINOPT_ERR_ALIAS, "o->nonfinite and tensors[5].row_var overlap", "count inside a state");
    o.nonfinite = &bad;
    c.d = 0.5;
    PA_AF_REFUSED(TRAINOPT_ERR_HPARAM, "trainopt_adafactor_step_multi: d = 0.5", "d < 1");
    c = pa_af_cfg();
    o.grad_scale = -1.0;
    PA_AF_REFUSED(TRAINOPT_ERR_HPARAM, "o->grad_scale", "negative grad_scale");
    o.grad_scale = 1.0;
    TO_CHECK(t, trainopt_adafactor_step_multi(&c, 0, PA_AF_K, m.t, &o, &th) == TRAINOPT_ERR_STEP && bad == 12345,
             "step 0 accepted or wrote the count");
    TO_CHECK(t, trainopt_adafactor_step_multi(NULL, 1, PA_AF_K, m.t, &o, &th) == TRAINOPT_ERR_NULL, "config NULL accepted");
    TO_CHECK(t, trainopt_adafactor_step_multi(&c, 1, 2, NULL, &o, &th) == TRAINOPT_ERR_NULL &&
                    strstr(trainopt_last_error(), "tensors is NULL") != NULL,
             "tensors NULL: \"%s\"", trainopt_last_error());
    TO_CHECK(t, trainopt_adafactor_step_multi(&c, 1, 0, NULL, NULL, NULL) == TRAINOPT_OK, "an empty list refused");
#undef PA_AF_REFUSED
    o.found_inf = &found_inf, o.grad_scale = NAN;
    TO_CHECK(t, trainopt_adafactor_step_multi(&c, 1, PA_AF_K, m.t, &o, &th) == TRAINOPT_OK && bad == 0 &&
                    memcmp(before, m.block, m.total * sizeof(float)) == 0,
             "found_inf: the list was not skipped whole (count %zu)", bad);
    free(before), free(m.block);
}

/* ---- completeness ------------------------------------------------------------------------- */

/* ---- LAMB and LARS on threads (trainopt_lamb_step_mt, trainopt_lars_step_mt) ---------------- */

/* Their list: empty, one-element and odd tensors, lengths around TRAINOPT_CHUNK, in the
   long list one longer than a round of norm pieces (32 * TRAINOPT_CHUNK = 524288: its sums
   carry into the next round; 6000 elements in the short list, which keeps the valgrind and
   TSan legs' time down), then 36 short tensors (some empty), so that one round of norm
   pieces completes many tensors and the rounds' boundaries fall between tensors and inside
   them. */
#define PL_K 48
static const size_t pl_fixed_lens[] = {0, 1, 17, 70001, 16384, 37, 600000, 16385, 5, 0, 3, 255};
static const char pl_kernels[] = "lamb_step_mt lars_step_mt lamb_step_mp_mt lars_step_mp_mt";

typedef struct {
    float *block;
    float *a[PL_K][4]; /* param, grad, state0 (exp_avg / momentum_buf), state1 (exp_avg_sq) */
    size_t lens[PL_K], total;
} pl_model;

/* Parameters and gradients in both signs, scaled per block (below), states in [0, 1.5)
   (exp_avg_sq must be >= 0); a NaN gradient in tensor 3, -Inf in tensor 6 (long list: in its second round), -0 and
   a denormal. */
static void pl_model_init(pl_model *m, int long_list, int scaled) {
    uint64_t seed = 0x1a3bu;
    size_t i, at = 0;
    int a;
    m->total = 0;
    for (i = 0; i < PL_K; i++) {
        m->lens[i] = i < sizeof pl_fixed_lens / sizeof pl_fixed_lens[0] ? pl_fixed_lens[i] : (i * 37) % 90;
        if (i == 6 && !long_list) m->lens[i] = 6000;
        m->total += 4 * m->lens[i];
    }
    m->block = (float *)malloc((m->total + 1) * sizeof(float));
    if (!m->block) exit(2);
    for (i = 0; i < PL_K; i++)
        for (a = 0; a < 4; a++, at += m->lens[i]) {
            size_t j;
            m->a[i][a] = m->block + at;
            to_rand_fill(&seed, m->a[i][a], m->lens[i], a < 2 ? -1.5f : 0.0f, 1.5f);
            /* (scaled) parameters and gradients 2^-20 to 2^20 apart from one 256-element block
               to the next, so that the double sum of the block sums of p^2 and u^2 is not exact
               and another order of them (or another grouping) gives other bits; not for fp16
               arrays, whose range ends at 65504 */
            for (j = 0; scaled && a < 2 && j < m->lens[i]; j++)
                m->a[i][a][j] = ldexpf(m->a[i][a][j], (int)(((j / 256) * 13 + i * 5 + (size_t)a * 7) % 41) - 20);
        }
    m->a[3][1][100] = NAN, m->a[6][1][long_list ? 550000 : 5000] = -INFINITY;
    m->a[7][1][3] = -0.0f, m->a[7][1][16384] = 1e-40f;
}

/* One configuration of the two kernels. */
typedef struct {
    const char *name;
    int lars, wd, momentum, nesterov; /* momentum 0: LARS without buffers (NULL list) */
    int long_list;
} pl_case;

static const pl_case pl_cases[] = {
    {"lamb_step_mt, weight decay, long list", 0, 1, 0, 0, 1},
    {"lamb_step_mt, no weight decay", 0, 0, 0, 0, 0},
    {"lars_step_mt, momentum, weight decay, long list", 1, 1, 1, 0, 1},
    {"lars_step_mt, nesterov, no weight decay", 1, 0, 1, 1, 0},
    {"lars_step_mt, no momentum (no buffers)", 1, 1, 0, 0, 0},
};
#define PL_CASES (sizeof pl_cases / sizeof pl_cases[0])

/* One step of case pc on m: the plain call (_ex with o, the plain step without) when th
   is NULL, else the _mt form on th. */
static trainopt_status pl_call(const pl_case *pc, pl_model *m, int64_t step, const trainopt_step_opts *o,
                               const trainopt_threads *th) {
    float *params[PL_K], *grads[PL_K], *s0[PL_K], *s1[PL_K];
    size_t i;
    for (i = 0; i < PL_K; i++) params[i] = m->a[i][0], grads[i] = m->a[i][1], s0[i] = m->a[i][2], s1[i] = m->a[i][3];
    if (!pc->lars) {
        trainopt_lamb_config c = TRAINOPT_LAMB_DEFAULTS;
        c.lr = 0.01, c.weight_decay = pc->wd ? 0.01 : 0.0;
        if (th) return trainopt_lamb_step_mt(&c, step, PL_K, m->lens, params, (const float *const *)grads, s0, s1, o, th);
        return o ? trainopt_lamb_step_ex(&c, step, PL_K, m->lens, params, (const float *const *)grads, s0, s1, o)
                 : trainopt_lamb_step(&c, step, PL_K, m->lens, params, (const float *const *)grads, s0, s1);
    } else {
        trainopt_lars_config c = TRAINOPT_LARS_DEFAULTS;
        float *const *bufs = pc->momentum ? s0 : NULL;
        c.lr = 0.1, c.weight_decay = pc->wd ? 1e-4 : 0.0, c.momentum = pc->momentum ? 0.9 : 0.0;
        c.nesterov = pc->nesterov;
        if (th) return trainopt_lars_step_mt(&c, PL_K, m->lens, params, (const float *const *)grads, bufs, o, th);
        return o ? trainopt_lars_step_ex(&c, PL_K, m->lens, params, (const float *const *)grads, bufs, o)
                 : trainopt_lars_step(&c, PL_K, m->lens, params, (const float *const *)grads, bufs);
    }
}

/* The _mt form on an empty list (lens and lists NULL). */
static trainopt_status pl_call_k0(const pl_case *pc, const trainopt_step_opts *o, const trainopt_threads *th) {
    if (!pc->lars) {
        trainopt_lamb_config c = TRAINOPT_LAMB_DEFAULTS;
        c.lr = 0.01;
        return trainopt_lamb_step_mt(&c, 1, 0, NULL, NULL, NULL, NULL, NULL, o, th);
    } else {
        trainopt_lars_config c = TRAINOPT_LARS_DEFAULTS;
        c.lr = 0.1;
        return trainopt_lars_step_mt(&c, 0, NULL, NULL, NULL, NULL, o, th);
    }
}

/* PA_STEPS steps of the plain call (th NULL) or the _mt form; *bad sums the counts (o non-NULL). */
static void pl_steps(to_ctx *t, const pl_case *pc, pl_model *m, const trainopt_step_opts *o, const trainopt_threads *th,
                     const char *hook, size_t *bad) {
    trainopt_step_opts local;
    size_t one_bad;
    int64_t step;
    *bad = 0;
    for (step = 1; step <= PA_STEPS; step++) {
        trainopt_status st;
        if (o) local = *o, local.nonfinite = &one_bad, one_bad = (size_t)-1;
        st = pl_call(pc, m, step, o ? &local : NULL, th);
        TO_CHECK(t, st == TRAINOPT_OK, "%s, %s: step %d returned %d (%s)", pc->name, hook, (int)step, (int)st,
                 trainopt_last_error());
        if (o) *bad += one_bad;
    }
}

/* The _mt forms equal the plain calls, bit for bit (every parameter and state), with and
   without the fused options (scale 0.5, the non-finite count), under every hook (no hook;
   1, 2, 3, 7 pthreads; reversed and shuffled orders) and on trainopt_pools of 2 and 3. */
static void pl_test_layerwise(to_ctx *t) {
    static const int pool_sizes[] = {2, 3};
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t ci, h;
    o.grad_scale = 0.5;
    for (ci = 0; ci < PL_CASES; ci++) {
        const pl_case *pc = &pl_cases[ci];
        pl_model want, want_plain, got;
        size_t want_bad, plain_bad;
        pl_model_init(&want, pc->long_list, 1), pl_model_init(&want_plain, pc->long_list, 1);
        pl_steps(t, pc, &want, &o, NULL, "reference", &want_bad);
        pl_steps(t, pc, &want_plain, NULL, NULL, "reference", &plain_bad);
        TO_CHECK(t, want_bad == 2 * PA_STEPS, "%s: the reference counted %zu non-finite gradients, want %d", pc->name, want_bad,
                 2 * PA_STEPS);
        for (h = 0; h < PA_HOOKS + 2; h++) {
            int threads, plain;
            uint64_t seed = 277 + h;
            trainopt_pool *pool = NULL;
            trainopt_threads th;
            char hook[48];
            if (h < PA_HOOKS) {
                if (!pa_sampled(t, ci, h)) continue;
                th = pa_threads(&pa_hooks[h], &threads, &seed);
                snprintf(hook, sizeof hook, "%s", pa_hooks[h].name);
            } else {
                TO_CHECK(t, trainopt_pool_create(pool_sizes[h - PA_HOOKS], &pool) == TRAINOPT_OK,
                         "trainopt_pool_create(%d): %s", pool_sizes[h - PA_HOOKS], trainopt_last_error());
                if (pool == NULL) continue;
                th.parallel_for = trainopt_pool_parallel_for, th.ctx = pool;
                snprintf(hook, sizeof hook, "trainopt_pool of %d", pool_sizes[h - PA_HOOKS]);
            }
            for (plain = 0; plain <= 1; plain++) {
                char what[128];
                size_t bad;
                pl_model_init(&got, pc->long_list, 1);
                pl_steps(t, pc, &got, plain ? NULL : &o, &th, hook, &bad);
                snprintf(what, sizeof what, "%s, %s, %s", pc->name, hook, plain ? "plain" : "fused (scale 0.5)");
                to_bits_equal(t, what, got.block, (plain ? &want_plain : &want)->block, got.total);
                if (!plain) TO_CHECK(t, bad == want_bad, "%s: non-finite count %zu, the plain call's %zu", what, bad, want_bad);
                free(got.block);
            }
            trainopt_pool_destroy(pool);
        }
        free(want.block), free(want_plain.block);
    }
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

static uint64_t pl_hash(const pl_model *m) {
    const unsigned char *b = (const unsigned char *)m->block;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < m->total * sizeof(float); i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Bad input beyond the bad-input matrix's rows, on two threads: a NULL tensor in the middle,
   tensors that overlap, an overflowing length, the count inside a tensor, a bad
   hyperparameter or step: refused, the text names the _mt function, nothing written (no
   tensor, no count); found_inf skips the whole list with a count of 0; k = 0 is OK. */
static void pl_test_layerwise_refusals(to_ctx *t) {
    size_t ci;
    for (ci = 0; ci < PL_CASES; ci += 2) { /* LAMB with decay, LARS with momentum, LARS without buffers */
        const pl_case *pc = &pl_cases[ci];
        const char *fn = pc->lars ? "trainopt_lars_step_mt" : "trainopt_lamb_step_mt";
        pl_model m;
        trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
        trainopt_threads th = TRAINOPT_THREADS_NONE;
        int threads = 2, found = 1;
        size_t bad = 12345, saved_len;
        float *saved;
        uint64_t before;
        th.parallel_for = pa_pthread_for, th.ctx = &threads;
        o.nonfinite = &bad;
        pl_model_init(&m, 0, 1);
        before = pl_hash(&m);

        saved = m.a[6][1], m.a[6][1] = NULL;
        TO_CHECK(t, pl_call(pc, &m, 1, &o, &th) == TRAINOPT_ERR_NULL, "%s: a NULL grad in the middle accepted", pc->name);
        TO_CHECK(t, strncmp(trainopt_last_error(), fn, strlen(fn)) == 0 && strstr(trainopt_last_error(), "grads[6]") != NULL,
                 "%s: the text does not name %s and grads[6]: \"%s\"", pc->name, fn, trainopt_last_error());
        m.a[6][1] = saved;

        saved = m.a[12][0], m.a[12][0] = m.a[6][0] + 1000;
        TO_CHECK(t, pl_call(pc, &m, 1, &o, &th) == TRAINOPT_ERR_ALIAS, "%s: params[12] inside params[6] accepted", pc->name);
        m.a[12][0] = saved;

        saved_len = m.lens[5], m.lens[5] = SIZE_MAX / 2;
        TO_CHECK(t, pl_call(pc, &m, 1, &o, &th) == TRAINOPT_ERR_SHAPE, "%s: lens[5] overflowing accepted", pc->name);
        m.lens[5] = saved_len;

        o.nonfinite = (size_t *)(void *)(m.a[40][1] + 2);
        TO_CHECK(t, m.lens[40] >= 4 && pl_call(pc, &m, 1, &o, &th) == TRAINOPT_ERR_ALIAS,
                 "%s: o->nonfinite inside grads[40] accepted", pc->name);
        o.nonfinite = &bad;

        o.grad_scale = NAN;
        TO_CHECK(t, pl_call(pc, &m, 1, &o, &th) == TRAINOPT_ERR_HPARAM, "%s: grad_scale NaN accepted", pc->name);
        o.grad_scale = 1.0;
        if (!pc->lars)
            TO_CHECK(t, pl_call(pc, &m, 0, &o, &th) == TRAINOPT_ERR_STEP, "%s: step 0 accepted", pc->name);
        TO_CHECK(t, pl_hash(&m) == before && bad == 12345, "%s: a refused call wrote",
                 pc->name);

        o.found_inf = &found, o.grad_scale = NAN; /* skipped: a NaN scale is allowed, the count set to 0 */
        TO_CHECK(t, pl_call(pc, &m, 1, &o, &th) == TRAINOPT_OK && bad == 0 && pl_hash(&m) == before,
                 "%s: found_inf did not skip the whole list", pc->name);
        o.found_inf = NULL, o.grad_scale = 1.0, bad = 12345;
        TO_CHECK(t, pl_call_k0(pc, &o, &th) == TRAINOPT_OK && bad == 0, "%s: k = 0: not OK with a count of 0", pc->name);
        free(m.block);
    }
}

/* The mixed-precision forms (trainopt_lamb_step_mp_mt, trainopt_lars_step_mp_mt) on the same
   list: every array in the format of its case, held in a float's room each (16-bit formats
   use the first half of it); aux and copy arrays per tensor. */
typedef struct {
    float *block;
    float *a[PL_K][6]; /* param, grad, state0, state1, param_aux, copy */
    size_t lens[PL_K], total;
} plm_model;

typedef struct {
    const char *name;
    int lars, wd, momentum, nesterov;
    trainopt_dtype param, grad, state;
    trainopt_param_mode mode;
    int copy; /* 0: none; else a copy in this dtype + 1 */
    int long_list;
} plm_case;

static const plm_case plm_cases[] = {
    {"lamb_step_mp_mt, bf16 Kahan, fp16 grads, bf16 states", 0, 1, 0, 0, TRAINOPT_BF16, TRAINOPT_F16, TRAINOPT_BF16,
     TRAINOPT_PARAM_KAHAN, 0, 1},
    {"lamb_step_mp_mt, fp16 stochastic, bf16 grads, fp32 states, bf16 copy", 0, 0, 0, 0, TRAINOPT_F16, TRAINOPT_BF16,
     TRAINOPT_F32, TRAINOPT_PARAM_STOCHASTIC, 1 + TRAINOPT_BF16, 0},
    {"lamb_step_mp_mt, all fp32 (the fp32 _mt call)", 0, 1, 0, 0, TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_F32,
     TRAINOPT_PARAM_NEAREST, 0, 0},
    {"lars_step_mp_mt, bf16 split, bf16 grads and states, nesterov", 1, 1, 1, 1, TRAINOPT_BF16, TRAINOPT_BF16,
     TRAINOPT_BF16, TRAINOPT_PARAM_SPLIT, 0, 0},
    {"lars_step_mp_mt, bf16 nearest, fp32 grads, no buffers, fp16 copy", 1, 0, 0, 0, TRAINOPT_BF16, TRAINOPT_F32,
     TRAINOPT_F32, TRAINOPT_PARAM_NEAREST, 1 + TRAINOPT_F16, 0},
};
#define PLM_CASES (sizeof plm_cases / sizeof plm_cases[0])

/* The values of pl_model_init (NaN and -Inf gradients included), converted to each array's
   format; aux and copy zero. */
static void plm_model_init(plm_model *m, const plm_case *pc) {
    pl_model src;
    size_t i, at = 0;
    int a;
    pl_model_init(&src, pc->long_list, pc->param != TRAINOPT_F16 && pc->grad != TRAINOPT_F16);
    m->total = 0;
    for (i = 0; i < PL_K; i++) m->lens[i] = src.lens[i], m->total += 6 * src.lens[i];
    m->block = (float *)calloc(m->total + 1, sizeof(float));
    if (!m->block) exit(2);
    for (i = 0; i < PL_K; i++)
        for (a = 0; a < 6; a++, at += m->lens[i]) {
            const trainopt_dtype d = a == 0 ? pc->param : a == 1 ? pc->grad : pc->state;
            m->a[i][a] = m->block + at;
            if (a < 4 && trainopt_convert(m->lens[i], src.a[i][a], TRAINOPT_F32, m->a[i][a], d, TRAINOPT_ROUND_NEAREST, 0, 0) !=
                             TRAINOPT_OK)
                exit(5);
        }
    free(src.block);
}

static trainopt_status plm_call(const plm_case *pc, plm_model *m, int64_t step, const trainopt_step_opts *o,
                                const trainopt_threads *th) {
    void *params[PL_K], *s0[PL_K], *s1[PL_K], *aux[PL_K], *copy[PL_K];
    const void *grads[PL_K];
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    size_t i;
    for (i = 0; i < PL_K; i++) {
        params[i] = m->a[i][0], grads[i] = m->a[i][1], s0[i] = m->a[i][2], s1[i] = m->a[i][3];
        aux[i] = m->a[i][4], copy[i] = m->a[i][5];
    }
    pr.param_dtype = pc->param, pr.param_mode = pc->mode, pr.grad_dtype = pc->grad, pr.state_dtype = pc->state;
    pr.param_aux = pc->mode == TRAINOPT_PARAM_KAHAN || pc->mode == TRAINOPT_PARAM_SPLIT ? (void *)aux : NULL;
    pr.copy = pc->copy ? (void *)copy : NULL;
    pr.copy_dtype = pc->copy ? (trainopt_dtype)(pc->copy - 1) : TRAINOPT_BF16;
    pr.seed = 7, pr.offset = 11;
    if (!pc->lars) {
        trainopt_lamb_config c = TRAINOPT_LAMB_DEFAULTS;
        c.lr = 0.01, c.weight_decay = pc->wd ? 0.01 : 0.0;
        if (th) return trainopt_lamb_step_mp_mt(&c, step, PL_K, m->lens, params, grads, s0, s1, &pr, o, th);
        return trainopt_lamb_step_mp(&c, step, PL_K, m->lens, params, grads, s0, s1, &pr, o);
    } else {
        trainopt_lars_config c = TRAINOPT_LARS_DEFAULTS;
        c.lr = 0.1, c.weight_decay = pc->wd ? 1e-4 : 0.0, c.momentum = pc->momentum ? 0.9 : 0.0;
        c.nesterov = pc->nesterov;
        if (th) return trainopt_lars_step_mp_mt(&c, PL_K, m->lens, params, grads, pc->momentum ? s0 : NULL, &pr, o, th);
        return trainopt_lars_step_mp(&c, PL_K, m->lens, params, grads, pc->momentum ? s0 : NULL, &pr, o);
    }
}

static void plm_steps(to_ctx *t, const plm_case *pc, plm_model *m, const trainopt_step_opts *o, const trainopt_threads *th,
                      const char *hook, size_t *bad) {
    trainopt_step_opts local;
    size_t one_bad;
    int64_t step;
    *bad = 0;
    for (step = 1; step <= PA_STEPS; step++) {
        trainopt_status st;
        if (o) local = *o, local.nonfinite = &one_bad, one_bad = (size_t)-1;
        st = plm_call(pc, m, step, o ? &local : NULL, th);
        TO_CHECK(t, st == TRAINOPT_OK, "%s, %s: step %d returned %d (%s)", pc->name, hook, (int)step, (int)st,
                 trainopt_last_error());
        if (o) *bad += one_bad;
    }
}

/* Element j of an array in format d, as bits (a 16-bit format's first half of the room). */
static uint32_t plm_bits(const float *a, trainopt_dtype d, size_t j) {
    if (d == TRAINOPT_F32) {
        uint32_t u;
        memcpy(&u, a + j, sizeof u);
        return u;
    }
    return ((const uint16_t *)(const void *)a)[j];
}
static int plm_is_nan(uint32_t u, trainopt_dtype d) {
    return d == TRAINOPT_F32 ? (u & 0x7fffffffu) > 0x7f800000u : (u & 0x7fffu) > (d == TRAINOPT_BF16 ? 0x7f80u : 0x7c00u);
}

/* Whether two models hold the same values, bit for bit but for NaNs: a NaN equals any
   NaN (its sign and payload are not promised: README, "NaN payloads"; gcc -O3 may swap
   the operands of an add of two NaNs in one inlined copy and not another), and the aux
   (a split parameter's low half, a Kahan compensation) of a NaN parameter is not
   compared. The first difference is described in `where`. */
static int plm_same(const plm_case *pc, const plm_model *a, const plm_model *b, char *where, size_t size) {
    size_t i, j;
    int k;
    for (i = 0; i < PL_K; i++)
        for (k = 0; k < 6; k++) {
            const trainopt_dtype d = k == 0 || k == 4 ? pc->param : k == 1 ? pc->grad : k < 4 ? pc->state
                                     : pc->copy ? (trainopt_dtype)(pc->copy - 1) : TRAINOPT_F32;
            for (j = 0; j < a->lens[i]; j++) {
                const uint32_t x = plm_bits(a->a[i][k], d, j), y = plm_bits(b->a[i][k], d, j);
                if (x == y || (plm_is_nan(x, d) && plm_is_nan(y, d))) continue;
                if (k == 4 && plm_is_nan(plm_bits(b->a[i][0], pc->param, j), pc->param)) continue;
                snprintf(where, size, "tensor %zu, array %d (param, grad, state0, state1, aux, copy), element %zu: %#x, want %#x",
                         i, k, j, (unsigned)x, (unsigned)y);
                return 0;
            }
        }
    return 1;
}

/* The _mp_mt forms equal the _mp calls, bit for bit but for NaNs (parameters, compensation or low
   halves, states, copies), with and without the fused options, under every hook. */
static void plm_test_layerwise_mp(to_ctx *t) {
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t ci, h;
    o.grad_scale = 0.5;
    for (ci = 0; ci < PLM_CASES; ci++) {
        const plm_case *pc = &plm_cases[ci];
        plm_model want, want_plain, got;
        size_t want_bad, plain_bad;
        plm_model_init(&want, pc), plm_model_init(&want_plain, pc);
        plm_steps(t, pc, &want, &o, NULL, "reference", &want_bad);
        plm_steps(t, pc, &want_plain, NULL, NULL, "reference", &plain_bad);
        TO_CHECK(t, want_bad == 2 * PA_STEPS, "%s: the reference counted %zu non-finite gradients, want %d", pc->name, want_bad,
                 2 * PA_STEPS);
        for (h = 0; h < PA_HOOKS; h++) {
            int threads, plain;
            uint64_t seed = 377 + h;
            trainopt_threads th = pa_threads(&pa_hooks[h], &threads, &seed);
            if (!pa_sampled(t, ci, h)) continue;
            for (plain = 0; plain <= 1; plain++) {
                size_t bad;
                char where[160];
                plm_model_init(&got, pc);
                plm_steps(t, pc, &got, plain ? NULL : &o, &th, pa_hooks[h].name, &bad);
                TO_CHECK(t, plm_same(pc, &got, plain ? &want_plain : &want, where, sizeof where),
                         "%s, %s, %s: differs from the _mp call at %s", pc->name, pa_hooks[h].name,
                         plain ? "plain" : "fused (scale 0.5)", where);
                if (!plain)
                    TO_CHECK(t, bad == want_bad, "%s, %s: non-finite count %zu, the _mp call's %zu", pc->name,
                             pa_hooks[h].name, bad, want_bad);
                free(got.block);
            }
        }
        free(want.block), free(want_plain.block);
    }
    TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
}

/* A refused _mp_mt call (a NULL tensor mid-list, a NULL aux list for Kahan, a bad config)
   names itself and writes nothing. */
static void plm_test_layerwise_mp_refusals(to_ctx *t) {
    const plm_case *pc = &plm_cases[0]; /* LAMB, Kahan */
    plm_model m;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    trainopt_lamb_config c = TRAINOPT_LAMB_DEFAULTS;
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    void *params[PL_K], *s0[PL_K], *s1[PL_K], *aux[PL_K];
    const void *grads[PL_K];
    int threads = 2;
    size_t bad = 12345, i;
    float *before;
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    o.nonfinite = &bad;
    plm_model_init(&m, pc);
    before = (float *)malloc((m.total + 1) * sizeof(float));
    if (!before) exit(2);
    memcpy(before, m.block, m.total * sizeof(float));
    for (i = 0; i < PL_K; i++) params[i] = m.a[i][0], grads[i] = m.a[i][1], s0[i] = m.a[i][2], s1[i] = m.a[i][3], aux[i] = m.a[i][4];
    pr.param_dtype = TRAINOPT_BF16, pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.grad_dtype = TRAINOPT_F16;
    pr.state_dtype = TRAINOPT_BF16, pr.param_aux = aux;
    c.lr = 0.01;
    grads[6] = NULL;
    TO_CHECK(t, trainopt_lamb_step_mp_mt(&c, 1, PL_K, m.lens, params, grads, s0, s1, &pr, &o, &th) == TRAINOPT_ERR_NULL,
             "lamb_step_mp_mt: a NULL grad in the middle accepted");
    TO_CHECK(t, strncmp(trainopt_last_error(), "trainopt_lamb_step_mp_mt: ", 26) == 0,
             "lamb_step_mp_mt: the text does not name it: \"%s\"", trainopt_last_error());
    grads[6] = m.a[6][1];
    pr.param_aux = NULL;
    TO_CHECK(t, trainopt_lamb_step_mp_mt(&c, 1, PL_K, m.lens, params, grads, s0, s1, &pr, &o, &th) == TRAINOPT_ERR_NULL,
             "lamb_step_mp_mt: Kahan without param_aux accepted");
    pr.param_aux = aux;
    c.beta1 = 1.0;
    TO_CHECK(t, trainopt_lamb_step_mp_mt(&c, 1, PL_K, m.lens, params, grads, s0, s1, &pr, &o, &th) == TRAINOPT_ERR_HPARAM,
             "lamb_step_mp_mt: beta1 = 1 accepted");
    TO_CHECK(t, strncmp(trainopt_last_error(), "trainopt_lamb_step_mp_mt: ", 26) == 0,
             "lamb_step_mp_mt: the config's refusal does not name it: \"%s\"", trainopt_last_error());
    TO_CHECK(t, memcmp(before, m.block, m.total * sizeof(float)) == 0 && bad == 12345, "lamb_step_mp_mt: a refused call wrote");
    free(before), free(m.block);
}

/* The small sample keeps pthread x3 and shuffled in every case, three hooks in all, and
   runs every hook in any five consecutive cases; the full one runs every hook always. */
static void pa_test_sample(to_ctx *t) {
    to_ctx small = *t, full = *t;
    size_t c, h, seen[PA_HOOKS] = {0};
    small.small = 1, full.small = 0;
    for (c = 40; c < 45; c++) {
        size_t kept = 0;
        for (h = 0; h < PA_HOOKS; h++) {
            kept += (size_t)pa_sampled(&small, c, h), seen[h] += (size_t)pa_sampled(&small, c, h);
            TO_CHECK(t, pa_sampled(&full, c, h), "the full sample skips %s in case %zu", pa_hooks[h].name, c);
        }
        TO_CHECK(t, kept == 3 && pa_sampled(&small, c, 3) && pa_sampled(&small, c, 6),
                 "case %zu: %zu hooks kept, or not pthread x3 and shuffled", c, kept);
    }
    for (h = 0; h < PA_HOOKS; h++)
        TO_CHECK(t, seen[h] > 0, "the small sample never runs %s in five consecutive cases", pa_hooks[h].name);
}

/* Every _step_multi of the kernel list has a row in pa_optims, every _mt is in pa_reductions (batch norm
   inference and the gradient utilities: pa_infer_clip_mt; LAMB's and LARS's: pl_kernels). */
static int pa_ends_with(const char *s, const char *tail) {
    const size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}
static void pa_test_complete(to_ctx *t) {
#define PA_LISTED(family, ret, name, params, args) #name,
    static const char *const listed[] = {TRAINOPT_KERNELS(PA_LISTED)};
#undef PA_LISTED
    size_t i, j;
    for (i = 0; i < sizeof listed / sizeof listed[0]; i++) {
        int found = 0;
        if (pa_ends_with(listed[i], "_step_multi")) {
            for (j = 0; j < PA_OPTIMS; j++) found |= strcmp(pa_optims[j].name, listed[i]) == 0;
            found |= strcmp(listed[i], "adafactor_step_multi") == 0; /* its own tensor type: pa_test_adafactor */
            TO_CHECK(t, found, "trainopt_%s is in TRAINOPT_KERNELS but has no row in tests/test_parallel.c's pa_optims",
                     listed[i]);
        } else if (pa_ends_with(listed[i], "_mt")) {
            TO_CHECK(t, strstr(pa_reductions, listed[i]) != NULL || strstr(pa_infer_clip_mt, listed[i]) != NULL ||
                            strstr(pl_kernels, listed[i]) != NULL,
                     "trainopt_%s is in TRAINOPT_KERNELS but not run by tests/test_parallel.c", listed[i]);
        }
    }
}

/* ---- trainopt_pool (src/pool.h): the library's own parallel-for ----------------------------- */

/* Every multi-tensor step on pools of 1, 2, 3 and 7 threads, each pool kept for all the steps
   (its workers sleep and wake between calls, as in a training loop): the bits of the
   per-tensor calls. */
static void pa_test_pool(to_ctx *t) {
    static const int sizes[] = {1, 2, 3, 7};
    trainopt_pool *pools[4];
    size_t p, i;
    for (p = 0; p < 4; p++)
        TO_CHECK(t, trainopt_pool_create(sizes[p], &pools[p]) == TRAINOPT_OK && pools[p] != NULL,
                 "trainopt_pool_create(%d) failed: %s", sizes[p], trainopt_last_error());
    for (i = 0; i < PA_OPTIMS; i++) {
        const pa_optim *op = &pa_optims[i];
        pa_model want, got;
        trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
        size_t want_bad;
        o.grad_scale = 0.5;
        pa_model_init(&want, op->states);
        pa_reference(op, &want, &o, &want_bad, t);
        for (p = 0; p < 4 && pools[p] != NULL; p++) {
            trainopt_threads th = TRAINOPT_THREADS_NONE;
            char what[96];
            int64_t step;
            th.parallel_for = trainopt_pool_parallel_for, th.ctx = pools[p];
            pa_model_init(&got, op->states);
            for (step = 1; step <= PA_STEPS; step++)
                TO_CHECK(t, op->multi(step, PA_K, got.t, &o, &th) == TRAINOPT_OK, "%s on a pool of %d: step %d: %s",
                         op->name, sizes[p], (int)step, trainopt_last_error());
            snprintf(what, sizeof what, "%s, trainopt_pool of %d threads", op->name, sizes[p]);
            pa_model_equal(t, &got, &want, what);
            pa_model_free(&got);
        }
        pa_model_free(&want);
    }
    for (p = 0; p < 4; p++) trainopt_pool_destroy(pools[p]);
}

/* Two threads stepping their own models on one pool at once: the pool runs one parallel-for
   at a time, and both get the bits of the per-tensor calls. */
typedef struct {
    trainopt_threads th;
    pa_model m;
    int ok;
} pa_pool_user;
static void *pa_pool_user_run(void *arg) {
    pa_pool_user *u = (pa_pool_user *)arg;
    int64_t step;
    for (step = 1; step <= PA_STEPS; step++)
        u->ok &= pa_optims[0].multi(step, PA_K, u->m.t, NULL, &u->th) == TRAINOPT_OK;
    return NULL;
}
static void pa_test_pool_shared(to_ctx *t) {
    trainopt_pool *pool = NULL;
    pa_pool_user users[2];
    pa_model want;
    pthread_t other;
    size_t bad, i;
    TO_CHECK(t, trainopt_pool_create(3, &pool) == TRAINOPT_OK, "trainopt_pool_create(3): %s", trainopt_last_error());
    if (pool == NULL) return;
    pa_model_init(&want, pa_optims[0].states);
    pa_reference(&pa_optims[0], &want, NULL, &bad, t);
    for (i = 0; i < 2; i++) {
        users[i].th.parallel_for = trainopt_pool_parallel_for, users[i].th.ctx = pool, users[i].ok = 1;
        pa_model_init(&users[i].m, pa_optims[0].states);
    }
    TO_CHECK(t, pthread_create(&other, NULL, pa_pool_user_run, &users[1]) == 0, "pthread_create failed");
    pa_pool_user_run(&users[0]);
    pthread_join(other, NULL);
    for (i = 0; i < 2; i++) {
        TO_CHECK(t, users[i].ok, "%s: user %zu: a step was refused", pa_optims[0].name, i);
        pa_model_equal(t, &users[i].m, &want, "two callers sharing one trainopt_pool");
        pa_model_free(&users[i].m);
    }
    pa_model_free(&want);
    trainopt_pool_destroy(pool);
}

/* Refusals name the argument and leave *pool NULL; destroying NULL does nothing. */
static void pa_test_pool_refusals(to_ctx *t) {
    trainopt_pool *pool = (trainopt_pool *)&pool;
    TO_CHECK(t, trainopt_pool_create(0, &pool) == TRAINOPT_ERR_HPARAM && pool == NULL &&
                    strstr(trainopt_last_error(), "trainopt_pool_create: threads = 0") != NULL,
             "threads = 0: \"%s\"", trainopt_last_error());
    pool = (trainopt_pool *)&pool;
    TO_CHECK(t, trainopt_pool_create(TRAINOPT_POOL_MAX + 1, &pool) == TRAINOPT_ERR_HPARAM && pool == NULL,
             "threads = TRAINOPT_POOL_MAX + 1 accepted");
    TO_CHECK(t, trainopt_pool_create(-5, &pool) == TRAINOPT_ERR_HPARAM, "threads = -5 accepted");
    TO_CHECK(t, trainopt_pool_create(2, NULL) == TRAINOPT_ERR_NULL &&
                    strstr(trainopt_last_error(), "pool is NULL") != NULL,
             "pool NULL: \"%s\"", trainopt_last_error());
    trainopt_pool_destroy(NULL);
}

/* ---- mixed-precision multi-tensor steps (trainopt_<opt>_step_mp_multi) -------------------- */

/* Every _step_mp_multi, in every parameter mode, bf16 and fp16, against one _step_mp per
   tensor (tensor t's stochastic offset advanced by the elements before it), bit for bit:
   lengths 0, 1, 37, 1031 and 70000 (five pieces), under every hook, with and without
   the fused options; and the list cut into two calls, the second's offset advanced. The
   small sample (pa_sampled; pm_sample sets it): 37235 (three pieces, the last odd) for
   70000, and three hooks of seven per case beside the two-call split. */
static size_t pm_lens[] = {37, 0, 70000, 1, 1031};
#define PM_K (sizeof pm_lens / sizeof pm_lens[0])
#define PM_ARRAYS 7 /* param, grad, three states, param_aux, copy: 4 bytes an element whatever the format */
#define PM_STEPS 2
#define PM_MID 2 /* the 70000-element tensor: the bad one of the refusals */
#define PM_MAX_LEN 70000

/* The sample's length of the long tensor: 70000, or 2 * TRAINOPT_CHUNK + 4467 in the small one. */
static void pm_sample(const to_ctx *t) { pm_lens[PM_MID] = t->small ? 2 * TRAINOPT_CHUNK + 4467 : PM_MAX_LEN; }

typedef struct {
    const char *name; /* the step's short name */
    int states;       /* state arrays in use */
    trainopt_status (*multi)(int64_t step, size_t k, const trainopt_tensor_mp *ts, const trainopt_precision *pr,
                             const trainopt_step_opts *o, const trainopt_threads *th);
    trainopt_status (*one)(int64_t step, const trainopt_tensor_mp *t, const trainopt_precision *pr,
                           const trainopt_step_opts *o);
} pm_optim;

#define PM_ARGS_1(t) (t)->state[0]
#define PM_ARGS_2(t) (t)->state[0], (t)->state[1]
#define PM_ARGS_3(t) (t)->state[0], (t)->state[1], (t)->state[2]
/* the optimizers of TRAINOPT__MULTI_STEPS, with pa_optims' configs (ARITY: the _mp's state arguments) */
#define PM_OPTIM(name, config, arity, STEP)                                                                             \
    static trainopt_status pm_##name##_multi(int64_t step, size_t k, const trainopt_tensor_mp *ts,                    \
                                             const trainopt_precision *pr, const trainopt_step_opts *o,               \
                                             const trainopt_threads *th) {                                            \
        config c = pa_##name##_cfg();                                                                                 \
        return trainopt_##name##_step_mp_multi(&c, STEP(step), k, ts, pr, o, th);                                     \
    }                                                                                                                 \
    static trainopt_status pm_##name##_one(int64_t step, const trainopt_tensor_mp *t, const trainopt_precision *pr,   \
                                           const trainopt_step_opts *o) {                                             \
        config c = pa_##name##_cfg();                                                                                 \
        return trainopt_##name##_step_mp(&c, STEP(step), t->n, t->param, t->grad, PM_ARGS_##arity(t), pr, o);         \
    }
#define PM_SAME(step) (step)
PM_OPTIM(sgd, trainopt_sgd_config, 1, PM_SAME)
PM_OPTIM(adagrad, trainopt_adagrad_config, 1, PM_SAME)
PM_OPTIM(rmsprop, trainopt_rmsprop_config, 3, PM_SAME)
PM_OPTIM(adam, trainopt_adam_config, 3, PM_SAME)
PM_OPTIM(adamw, trainopt_adam_config, 3, PM_SAME)
PM_OPTIM(radam, trainopt_radam_config, 2, PA_RADAM_STEP)
PM_OPTIM(adamax, trainopt_adamax_config, 2, PM_SAME)
PM_OPTIM(adadelta, trainopt_adadelta_config, 2, PM_SAME)
PM_OPTIM(lion, trainopt_lion_config, 1, PM_SAME)
#undef PM_OPTIM

static trainopt_status pm_nadam_multi(int64_t step, size_t k, const trainopt_tensor_mp *ts, const trainopt_precision *pr,
                                      const trainopt_step_opts *o, const trainopt_threads *th) {
    trainopt_nadam_config c = pa_nadam_cfg();
    return trainopt_nadam_step_mp_multi(&c, step, pa_nadam_mu_product(&c, step), k, ts, pr, o, th);
}
static trainopt_status pm_nadam_one(int64_t step, const trainopt_tensor_mp *t, const trainopt_precision *pr,
                                    const trainopt_step_opts *o) {
    trainopt_nadam_config c = pa_nadam_cfg();
    return trainopt_nadam_step_mp(&c, step, pa_nadam_mu_product(&c, step), t->n, t->param, t->grad, t->state[0],
                                  t->state[1], pr, o);
}
static trainopt_status pm_sfadamw_multi(int64_t step, size_t k, const trainopt_tensor_mp *ts, const trainopt_precision *pr,
                                        const trainopt_step_opts *o, const trainopt_threads *th) {
    trainopt_sfadamw_config c = pa_sfadamw_cfg();
    trainopt_sfadamw_state s = pa_sfadamw_state(&c, step);
    return trainopt_sfadamw_step_mp_multi(&c, &s, k, ts, pr, o, th);
}
static trainopt_status pm_sfadamw_one(int64_t step, const trainopt_tensor_mp *t, const trainopt_precision *pr,
                                      const trainopt_step_opts *o) {
    trainopt_sfadamw_config c = pa_sfadamw_cfg();
    trainopt_sfadamw_state s = pa_sfadamw_state(&c, step);
    return trainopt_sfadamw_step_mp(&c, &s, t->n, t->param, t->grad, t->state[0], t->state[1], pr, o);
}

static const pm_optim pm_optims[] = {
    {"sgd_step_mp_multi", 1, pm_sgd_multi, pm_sgd_one},
    {"adagrad_step_mp_multi", 1, pm_adagrad_multi, pm_adagrad_one},
    {"rmsprop_step_mp_multi", 3, pm_rmsprop_multi, pm_rmsprop_one},
    {"adam_step_mp_multi", 3, pm_adam_multi, pm_adam_one},
    {"adamw_step_mp_multi", 2, pm_adamw_multi, pm_adamw_one},
    {"nadam_step_mp_multi", 2, pm_nadam_multi, pm_nadam_one},
    {"radam_step_mp_multi", 2, pm_radam_multi, pm_radam_one},
    {"adamax_step_mp_multi", 2, pm_adamax_multi, pm_adamax_one},
    {"adadelta_step_mp_multi", 2, pm_adadelta_multi, pm_adadelta_one},
    {"lion_step_mp_multi", 1, pm_lion_multi, pm_lion_one},
    {"sfadamw_step_mp_multi", 2, pm_sfadamw_multi, pm_sfadamw_one},
};
#define PM_OPTIMS (sizeof pm_optims / sizeof pm_optims[0])

/* The formats: every parameter mode in bf16 and fp16 (split: bf16 only), fp32
   parameters with a copy, and the gradient and state formats varied across them. */
typedef struct {
    trainopt_dtype param, grad, state;
    trainopt_param_mode mode;
    int copy; /* 0: none; else the copy's trainopt_dtype */
} pm_case;
static const pm_case pm_cases[] = {
    {TRAINOPT_F32, TRAINOPT_BF16, TRAINOPT_F32, TRAINOPT_PARAM_NEAREST, TRAINOPT_BF16},
    {TRAINOPT_F32, TRAINOPT_F16, TRAINOPT_BF16, TRAINOPT_PARAM_NEAREST, TRAINOPT_F16},
    {TRAINOPT_BF16, TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_PARAM_NEAREST, 0},
    {TRAINOPT_F16, TRAINOPT_F16, TRAINOPT_BF16, TRAINOPT_PARAM_NEAREST, TRAINOPT_BF16},
    {TRAINOPT_BF16, TRAINOPT_BF16, TRAINOPT_BF16, TRAINOPT_PARAM_STOCHASTIC, 0},
    {TRAINOPT_F16, TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_PARAM_STOCHASTIC, TRAINOPT_F16},
    {TRAINOPT_BF16, TRAINOPT_BF16, TRAINOPT_F32, TRAINOPT_PARAM_KAHAN, 0},
    {TRAINOPT_F16, TRAINOPT_F16, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16},
    {TRAINOPT_BF16, TRAINOPT_F32, TRAINOPT_F32, TRAINOPT_PARAM_SPLIT, TRAINOPT_BF16},
    {TRAINOPT_BF16, TRAINOPT_BF16, TRAINOPT_BF16, TRAINOPT_PARAM_SPLIT, 0},
};
#define PM_CASES (sizeof pm_cases / sizeof pm_cases[0])
static const char *const pm_mode_names[] = {"nearest", "stochastic", "kahan", "split"};
static const char *const pm_dtype_names[] = {"f32", "bf16", "f16"};

/* A model: PM_ARRAYS arrays per tensor in one block (so one comparison covers every byte),
   its tensor list and the per-tensor param_aux and copy pointers. */
typedef struct {
    float *block;
    size_t total;
    void *a[PM_K][PM_ARRAYS];
    trainopt_tensor_mp t[PM_K];
    void *aux[PM_K], *copy[PM_K];
    trainopt_precision pr; /* param_aux and copy: the arrays above, or NULL */
} pm_model;

/* Arrays filled in float (gradients with NaN, -Inf, -0 and a denormal), then narrowed to
   their format; Kahan compensations small, split low halves any bits; seed, offset. */
static void pm_model_init(pm_model *m, const pm_case *c, int states) {
    static const trainopt_precision defaults = TRAINOPT_PRECISION_DEFAULTS;
    uint64_t seed = 0x3a7bu;
    size_t i, j, at = 0;
    int a;
    float *tmp = (float *)malloc(PM_MAX_LEN * sizeof(float));
    m->total = 0;
    for (i = 0; i < PM_K; i++) m->total += pm_lens[i] * PM_ARRAYS;
    m->block = (float *)malloc((m->total + 1) * sizeof(float));
    if (!m->block || !tmp) exit(2);
    memset(m->block, 0, (m->total + 1) * sizeof(float));
    m->pr = defaults;
    m->pr.param_dtype = c->param, m->pr.grad_dtype = c->grad, m->pr.state_dtype = c->state, m->pr.param_mode = c->mode;
    m->pr.copy_dtype = c->copy ? (trainopt_dtype)c->copy : TRAINOPT_BF16;
    m->pr.seed = 0x5eedu, m->pr.offset = 1000003;
    for (i = 0; i < PM_K; i++) {
        const size_t n = pm_lens[i];
        for (a = 0; a < PM_ARRAYS; a++, at += n) {
            const trainopt_dtype dtype = a == 0 ? c->param : a == 1 ? c->grad : a < 5 ? c->state : a == 5 ? c->param : TRAINOPT_F32;
            m->a[i][a] = m->block + at;
            if (a == 6) continue; /* the copy: zeros */
            to_rand_fill(&seed, tmp, n, a == 5 ? -1e-3f : a < 2 ? -1.5f : 0.0f, a == 5 ? 1e-3f : 1.5f);
            if (a == 1)
                for (j = 29; j < n; j += 4099)
                    tmp[j] = (j / 4099) % 4 == 0 ? NAN : (j / 4099) % 4 == 1 ? -INFINITY : (j / 4099) % 4 == 2 ? -0.0f : 1e-40f;
            if (a == 5 && c->mode == TRAINOPT_PARAM_SPLIT) /* any low half */
                for (j = 0; j < n; j++) ((uint16_t *)m->a[i][a])[j] = (uint16_t)to_rand_u64(&seed);
            else if (dtype == TRAINOPT_F32) memcpy(m->a[i][a], tmp, n * sizeof(float));
            else if (trainopt_convert(n, tmp, TRAINOPT_F32, m->a[i][a], dtype, TRAINOPT_ROUND_NEAREST, 0, 0) != TRAINOPT_OK)
                exit(5);
        }
        m->t[i].param = m->a[i][0], m->t[i].grad = m->a[i][1], m->t[i].n = n;
        for (a = 0; a < TRAINOPT_MAX_STATES; a++) m->t[i].state[a] = a < states ? m->a[i][2 + a] : NULL;
        m->aux[i] = m->a[i][5], m->copy[i] = m->a[i][6];
    }
    m->pr.param_aux = c->mode == TRAINOPT_PARAM_KAHAN || c->mode == TRAINOPT_PARAM_SPLIT ? (void *)m->aux : NULL;
    m->pr.copy = c->copy ? (void *)m->copy : NULL;
    free(tmp);
}

/* Tensor t's own descriptor: its param_aux and copy, its offset in the concatenated list. */
static trainopt_precision pm_tensor_pr(const pm_model *m, size_t t) {
    trainopt_precision r = m->pr;
    size_t i;
    r.param_aux = m->pr.param_aux ? m->aux[t] : NULL;
    r.copy = m->pr.copy ? m->copy[t] : NULL;
    for (i = 0; i < t; i++) r.offset += pm_lens[i];
    return r;
}

/* Every NaN of the model as one pattern of its format: a NaN's sign and payload depend on
   the compiler's operand order (tests/harness.h, to_bits_equal), and may differ between
   the _mp kernel's first block and the rest. Split low halves are raw bits, left alone. */
static void pm_model_nans(pm_model *m, const pm_case *c) {
    size_t i, j;
    int a;
    for (i = 0; i < PM_K; i++)
        for (a = 0; a < PM_ARRAYS; a++) {
            const int dtype = a == 0 ? (int)c->param : a == 1 ? (int)c->grad : a < 5 ? (int)c->state
                              : a == 6 ? (c->copy ? c->copy : -1)
                              : c->mode == TRAINOPT_PARAM_KAHAN ? (int)c->param : -1;
            float *f = (float *)m->a[i][a];
            uint16_t *h = (uint16_t *)m->a[i][a];
            for (j = 0; j < pm_lens[i]; j++) {
                if (dtype == TRAINOPT_F32 && f[j] != f[j]) f[j] = NAN;
                if (dtype == TRAINOPT_BF16 && (h[j] & 0x7f80u) == 0x7f80u && (h[j] & 0x7fu) != 0) h[j] = 0x7fc0u;
                if (dtype == TRAINOPT_F16 && (h[j] & 0x7c00u) == 0x7c00u && (h[j] & 0x3ffu) != 0) h[j] = 0x7e00u;
            }
        }
}

static int pm_model_equal(to_ctx *t, const pm_model *got, const pm_model *want, const char *what) {
    size_t i, a;
    if (memcmp(got->block, want->block, got->total * sizeof(float)) == 0) return 1;
    for (i = 0; i < PM_K; i++)
        for (a = 0; a < PM_ARRAYS; a++)
            if (memcmp(got->a[i][a], want->a[i][a], pm_lens[i] * sizeof(float)) != 0) {
                to_fail(t, "%s: tensor %zu array %zu differs from the per-tensor _step_mp calls", what, i, a);
                return 0;
            }
    return 0;
}

static const pm_optim *pm_current;

/* The reference: one _step_mp per tensor, PM_STEPS steps; *bad sums the counts (o non-NULL). */
static void pm_reference(const pm_optim *op, pm_model *m, const trainopt_step_opts *o, size_t *bad, to_ctx *t) {
    int64_t step;
    size_t i, one_bad;
    *bad = 0;
    for (step = 1; step <= PM_STEPS; step++)
        for (i = 0; i < PM_K; i++) {
            trainopt_precision r = pm_tensor_pr(m, i);
            trainopt_step_opts local;
            if (o) local = *o, local.nonfinite = &one_bad, one_bad = 0;
            TO_CHECK(t, op->one(step, &m->t[i], &r, o ? &local : NULL) == TRAINOPT_OK, "%s reference: step %d tensor %zu: %s",
                     op->name, (int)step, i, trainopt_last_error());
            if (o) *bad += one_bad;
        }
}

static void pm_test_optim(to_ctx *t) {
    const pm_optim *op = pm_current;
    size_t c, h;
    pm_sample(t);
    for (c = 0; c < PM_CASES; c++) {
        pm_model want[2], got;
        trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
        size_t want_bad[2];
        int fused;
        o.grad_scale = 0.5;
        for (fused = 0; fused <= 1; fused++) {
            pm_model_init(&want[fused], &pm_cases[c], op->states);
            pm_reference(op, &want[fused], fused ? &o : NULL, &want_bad[fused], t);
            pm_model_nans(&want[fused], &pm_cases[c]);
        }
        pm_model_init(&got, &pm_cases[c], op->states);
        /* every hook, the fused options on every other one; then the list cut in two calls */
        for (h = 0; h <= PA_HOOKS; h++) {
            const int split_call = h == PA_HOOKS;
            int threads;
            uint64_t seed = 91 + h;
            trainopt_threads th = pa_threads(&pa_hooks[split_call ? 3 : h], &threads, &seed);
            char what[160];
            size_t bad = (size_t)-1, total = 0;
            int64_t step;
            /* the case number: each format meets each hook in turn across the optimizers */
            if (!split_call && !pa_sampled(t, (size_t)(op - pm_optims) * (PM_CASES + 1) + c, h)) continue;
            fused = (int)(h % 2 == 0);
            snprintf(what, sizeof what, "%s, %s %s params, %s grads, %s states%s, %s", op->name, pm_dtype_names[pm_cases[c].param],
                     pm_mode_names[pm_cases[c].mode], pm_dtype_names[pm_cases[c].grad], pm_dtype_names[pm_cases[c].state],
                     pm_cases[c].copy ? ", a copy" : "", split_call ? "two calls on 3 threads" : pa_hooks[h].name);
            free(got.block);
            pm_model_init(&got, &pm_cases[c], op->states);
            o.nonfinite = &bad;
            for (step = 1; step <= PM_STEPS; step++) {
                trainopt_status st;
                if (!split_call) {
                    st = op->multi(step, PM_K, got.t, &got.pr, fused ? &o : NULL, &th);
                    total += bad;
                } else { /* tensors [0, 3) then [3, 5): the second call's aux/copy lists and offset advanced */
                    trainopt_precision second = got.pr;
                    st = op->multi(step, 3, got.t, &got.pr, fused ? &o : NULL, &th);
                    total += bad;
                    if (second.param_aux) second.param_aux = (void *)(got.aux + 3);
                    if (second.copy) second.copy = (void *)(got.copy + 3);
                    second.offset += pm_lens[0] + pm_lens[1] + pm_lens[2];
                    if (st == TRAINOPT_OK) st = op->multi(step, PM_K - 3, got.t + 3, &second, fused ? &o : NULL, &th);
                    total += bad;
                }
                TO_CHECK(t, st == TRAINOPT_OK, "%s: step %d refused: %s", what, (int)step, trainopt_last_error());
            }
            pm_model_nans(&got, &pm_cases[c]);
            pm_model_equal(t, &got, &want[fused], what);
            if (fused) TO_CHECK(t, total == want_bad[1], "%s: counted %zu non-finite, the per-tensor calls %zu", what, total, want_bad[1]);
        }
        TO_CHECK(t, want_bad[1] > 0, "%s: the inputs hold non-finite gradients, the reference counted none", op->name);
        TO_CHECK(t, !pa_pool_failed, "pthread_create failed");
        free(want[0].block), free(want[1].block), free(got.block);
    }
}

static uint64_t pm_checksum(const pm_model *m) {
    const unsigned char *b = (const unsigned char *)m->block;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < m->total * sizeof(float); i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* A bad tensor in the middle of the list (Kahan bf16 parameters with a copy, so every
   per-tensor array is there to get wrong): refused with its status and a text naming
   tensors[2], nothing written anywhere nor to the count; found_inf skips the list. */
static void pm_test_refusals(to_ctx *t) {
    static const pm_case kahan = {TRAINOPT_BF16, TRAINOPT_BF16, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_F16};
    const pm_optim *op = pm_current;
    pm_model m;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    trainopt_precision pr;
    int threads = 2, found = 1;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    size_t bad = 12345;
    uint64_t before;
    void *keep;
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    o.nonfinite = &bad;
    pm_sample(t);
    pm_model_init(&m, &kahan, op->states);
    before = pm_checksum(&m);
#define PM_REFUSED(want, why)                                                                                          \
    do {                                                                                                               \
        const trainopt_status st_ = op->multi(1, PM_K, m.t, &pr, &o, &th);                                             \
        TO_CHECK(t, st_ == (want), "%s: %s: status %d (%s)", op->name, why, (int)st_, trainopt_last_error());         \
        TO_CHECK(t, strstr(trainopt_last_error(), op->name) != NULL, "%s: %s: the text does not name the step: \"%s\"", \
                 op->name, why, trainopt_last_error());                                                                \
        pr = m.pr;                                                                                                     \
    } while (0)
    pr = m.pr;
    keep = (void *)m.t[PM_MID].grad, m.t[PM_MID].grad = NULL;
    PM_REFUSED(TRAINOPT_ERR_NULL, "a NULL grad in tensors[2]");
    TO_CHECK(t, strstr(trainopt_last_error(), "tensors[2]") != NULL, "%s: the text does not name tensors[2]: \"%s\"", op->name,
             trainopt_last_error());
    m.t[PM_MID].grad = keep;
    m.t[PM_MID].state[0] = NULL;
    PM_REFUSED(TRAINOPT_ERR_NULL, "a needed state NULL in tensors[2]");
    TO_CHECK(t, strstr(trainopt_last_error(), "tensors[2]") != NULL, "%s: the text does not name tensors[2]: \"%s\"", op->name,
             trainopt_last_error());
    m.t[PM_MID].state[0] = m.a[PM_MID][2];
    m.aux[PM_MID] = NULL;
    PM_REFUSED(TRAINOPT_ERR_NULL, "pr->param_aux[2] NULL");
    m.aux[PM_MID] = m.a[PM_MID][5];
    m.copy[PM_MID] = NULL;
    PM_REFUSED(TRAINOPT_ERR_NULL, "pr->copy[2] NULL");
    m.copy[PM_MID] = m.a[PM_MID][6];
    m.aux[PM_MID] = (uint16_t *)m.a[PM_MID][0] + 7;
    PM_REFUSED(TRAINOPT_ERR_ALIAS, "tensors[2]'s param_aux overlaps its param");
    m.aux[PM_MID] = m.a[PM_MID][5];
    m.copy[PM_MID] = (uint16_t *)m.a[PM_MID][1] + 1;
    PM_REFUSED(TRAINOPT_ERR_ALIAS, "tensors[2]'s copy overlaps its grad");
    m.copy[PM_MID] = m.a[PM_MID][6];
    m.t[PM_MID].state[0] = (uint16_t *)m.a[PM_MID][0] + 3;
    PM_REFUSED(TRAINOPT_ERR_ALIAS, "tensors[2]'s state[0] overlaps its param");
    m.t[PM_MID].state[0] = m.a[PM_MID][2];
    m.t[PM_MID].n = SIZE_MAX / 2;
    PM_REFUSED(TRAINOPT_ERR_SHAPE, "tensors[2].n overflows");
    m.t[PM_MID].n = pm_lens[PM_MID];
    o.nonfinite = (size_t *)(void *)((uint16_t *)m.a[4][1] + 8);
    PM_REFUSED(TRAINOPT_ERR_ALIAS, "o->nonfinite inside tensors[4].grad");
    o.nonfinite = &bad;
    pr.param_aux = NULL;
    PM_REFUSED(TRAINOPT_ERR_NULL, "Kahan parameters without pr->param_aux");
    pr.param_dtype = (trainopt_dtype)7;
    PM_REFUSED(TRAINOPT_ERR_HPARAM, "an unknown param_dtype");
    pr.copy_dtype = TRAINOPT_F32;
    PM_REFUSED(TRAINOPT_ERR_HPARAM, "an fp32 copy");
    TO_CHECK(t, op->multi(0, PM_K, m.t, &pr, &o, &th) == TRAINOPT_ERR_STEP, "%s: step 0", op->name);
    TO_CHECK(t, op->multi(1, PM_K, NULL, &pr, &o, &th) == TRAINOPT_ERR_NULL, "%s: tensors NULL", op->name);
    TO_CHECK(t, op->multi(1, PM_K, m.t, NULL, &o, &th) == TRAINOPT_ERR_NULL, "%s: pr NULL", op->name);
    o.grad_scale = NAN;
    PM_REFUSED(TRAINOPT_ERR_HPARAM, "grad_scale NaN");
    TO_CHECK(t, pm_checksum(&m) == before && bad == 12345, "%s: a refused call wrote", op->name);
    o.grad_scale = 0.5;
    TO_CHECK(t, op->multi(1, 0, NULL, &pr, &o, &th) == TRAINOPT_OK && bad == 0, "%s: k = 0: OK, a count of 0", op->name);
    bad = 12345;
    o.found_inf = &found; /* skipped: nothing written but the count, set to 0 */
    TO_CHECK(t, op->multi(1, PM_K, m.t, &pr, &o, &th) == TRAINOPT_OK && bad == 0 && pm_checksum(&m) == before,
             "%s: found_inf did not skip the whole list", op->name);
    m.t[PM_MID].grad = NULL; /* and a bad list is refused whatever found_inf says */
    TO_CHECK(t, op->multi(1, PM_K, m.t, &pr, &o, &th) == TRAINOPT_ERR_NULL, "%s: found_inf accepted a bad list", op->name);
#undef PM_REFUSED
    free(m.block);
}

/* Every _step_mp_multi of the kernel list has a row in pm_optims. */
static void pm_test_complete(to_ctx *t) {
#define PM_LISTED(family, ret, name, params, args) #name,
    static const char *const listed[] = {TRAINOPT_KERNELS(PM_LISTED)};
#undef PM_LISTED
    size_t i, j, rows = 0;
    for (i = 0; i < sizeof listed / sizeof listed[0]; i++) {
        int found = 0;
        if (!pa_ends_with(listed[i], "_step_mp_multi")) continue;
        rows++;
        for (j = 0; j < PM_OPTIMS; j++) found |= strcmp(pm_optims[j].name, listed[i]) == 0;
        TO_CHECK(t, found, "trainopt_%s is in TRAINOPT_KERNELS but has no row in tests/test_parallel.c's pm_optims", listed[i]);
    }
    TO_CHECK(t, rows == PM_OPTIMS, "%zu _step_mp_multi in the kernel list, %zu rows in pm_optims", rows, (size_t)PM_OPTIMS);
}

void TO_NAME(parallel_tests)(to_ctx *t) {
    size_t i;
    char name[64];
    to_run(t, "complete", pa_test_complete);
    to_run(t, "the small sample's hooks", pa_test_sample);
    for (i = 0; i < PA_OPTIMS; i++) {
        pa_current = &pa_optims[i];
        to_run(t, pa_optims[i].name, pa_test_optim);
        snprintf(name, sizeof name, "%s refusals", pa_optims[i].name);
        to_run(t, name, pa_test_refusals);
    }
    to_run(t, "reductions", pa_test_reductions);
    to_run(t, "reduction refusals", pa_test_reduction_refusals);
    to_run(t, "norms", pa_test_norms);
    to_run(t, "norm refusals", pa_test_norm_refusals);
    to_run(t, "trainopt_pool", pa_test_pool);
    to_run(t, "trainopt_pool shared by two callers", pa_test_pool_shared);
    to_run(t, "trainopt_pool refusals", pa_test_pool_refusals);
    to_run(t, "group norm", pa_test_groupnorm);
    to_run(t, "group norm refusals", pa_test_groupnorm_refusals);
    to_run(t, "batch norm", pa_test_batchnorm);
    to_run(t, "batch norm refusals", pa_test_batchnorm_refusals);
    to_run(t, "dropout", pa_test_dropout);
    to_run(t, "dropout with streaming stores", pa_test_dropout_streaming);
    to_run(t, "dropout refusals", pa_test_dropout_refusals);
    to_run(t, "batch norm inference", pa_test_bn_infer);
    to_run(t, "batch norm inference refusals", pa_test_bn_infer_refusals);
    to_run(t, "clip_grad_value and grad_unscale", pa_test_grad_elementwise);
    to_run(t, "clip_grad_value and grad_unscale refusals", pa_test_grad_elementwise_refusals);
    to_run(t, "MSE and BCE", pa_test_pointwise_losses);
    to_run(t, "cross-entropy", pa_test_cross_entropy);
    to_run(t, "loss refusals", pa_test_loss_refusals);
    to_run(t, "generators", pa_test_generators);
    to_run(t, "generator refusals", pa_test_generator_refusals);
    /* the mixed-precision multi-tensor steps */
    to_run(t, "complete: _step_mp_multi", pm_test_complete);
    for (i = 0; i < PM_OPTIMS; i++) {
        pm_current = &pm_optims[i];
        to_run(t, pm_optims[i].name, pm_test_optim);
        snprintf(name, sizeof name, "%s refusals", pm_optims[i].name);
        to_run(t, name, pm_test_refusals);
    }
    to_run(t, "adafactor_step_multi", pa_test_adafactor);
    to_run(t, "adafactor_step_multi refusals", pa_test_adafactor_refusals);
    to_run(t, "lamb_step_mt and lars_step_mt", pl_test_layerwise);
    to_run(t, "lamb_step_mt and lars_step_mt refusals", pl_test_layerwise_refusals);
    to_run(t, "lamb_step_mp_mt and lars_step_mp_mt", plm_test_layerwise_mp);
    to_run(t, "lamb_step_mp_mt refusals", plm_test_layerwise_mp_refusals);
}

/* The multi-tensor steps' results on two threads (which the tests hold equal to the
   per-tensor calls), and the reductions': the same bits on every backend and build. */
void TO_NAME(parallel_battery)(to_sink *sink) {
    size_t i, bad;
    int threads = 2, a;
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    th.parallel_for = pa_pthread_for, th.ctx = &threads;
    for (i = 0; i < PA_OPTIMS; i++) {
        pa_model m;
        trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
        char name[96];
        int64_t step;
        size_t tn;
        o.grad_scale = 0.5, o.nonfinite = &bad;
        pa_model_init(&m, pa_optims[i].states);
        for (step = 1; step <= PA_STEPS; step++) {
            snprintf(name, sizeof name, "%s/status%d", pa_optims[i].name, (int)step);
            to_emit_status(sink, name, (int)pa_optims[i].multi(step, PA_K, m.t, &o, &th));
        }
        for (tn = 0; tn < PA_K; tn++)
            for (a = 0; a < 2 + pa_optims[i].states; a++) {
                snprintf(name, sizeof name, "%s/tensor%zu/array%d", pa_optims[i].name, tn, a);
                to_emit_floats(sink, name, m.a[tn][a], pa_lens[tn]);
            }
        pa_model_free(&m);
    }
    {
        pa_model m;
        float *grads[PA_K];
        double sum = 0.0;
        trainopt_grad_norm_info info;
        float norm = 0.0f;
        pa_grads(&m, 0);
        for (i = 0; i < PA_K; i++) grads[i] = (float *)m.t[i].grad;
        to_emit_status(sink, "sum_squares_mt/status",
                       (int)trainopt_sum_squares_mt(PA_K, (const float *const *)grads, pa_lens, &sum, &bad, &th));
        to_emit(sink, "sum_squares_mt/sum", &sum, sizeof sum);
        memset(&info, 0, sizeof info);
        to_emit_status(sink, "grad_norm_mt/status", (int)trainopt_grad_norm_mt(PA_K, grads, pa_lens, 0.125f, 1.0, &info, &th));
        to_emit(sink, "grad_norm_mt/sum_squares", &info.sum_squares, sizeof info.sum_squares);
        to_emit_floats(sink, "grad_norm_mt/total_norm", &info.total_norm, 1);
        to_emit_floats(sink, "grad_norm_mt/grad_scale", &info.grad_scale, 1);
        to_emit_status(sink, "clip_grad_norm_mt/status", (int)trainopt_clip_grad_norm_mt(PA_K, grads, pa_lens, 1.0, &norm, &th));
        to_emit_floats(sink, "clip_grad_norm_mt/total_norm", &norm, 1);
        for (i = 0; i < PA_K; i++) {
            char name[64];
            snprintf(name, sizeof name, "clip_grad_norm_mt/tensor%zu", i);
            to_emit_floats(sink, name, grads[i], pa_lens[i]);
        }
        pa_model_free(&m);
    }
    { /* the norms on two threads: forward and backward outputs, one shape with several blocks and dx's scratch rows */
        pa_norm_data d;
        int rms;
        pa_norm_init(&d, 67, 777);
        for (rms = 0; rms <= 1; rms++) {
            char name[64];
            snprintf(name, sizeof name, "%s_mt/status", rms ? "rmsnorm" : "layernorm");
            to_emit_status(sink, name, (int)pa_norm_run(&d, rms, PA_NORM_ALL, &th));
            snprintf(name, sizeof name, "%s_mt/outputs", rms ? "rmsnorm" : "layernorm");
            to_emit_floats(sink, name, d.out, PA_NORM_OUT(&d));
        }
        free(d.block), free(d.out);
    }
    { /* group norm on two threads: groups of more channels than a tile, several forward pieces */
        static const size_t shape[4] = {33, 600, 5, 2};
        pa_gn_data d;
        pa_gn_init(&d, shape);
        to_emit_status(sink, "groupnorm_mt/status", (int)pa_gn_run(&d, PA_NORM_ALL, &th));
        to_emit_floats(sink, "groupnorm_mt/outputs", d.out, PA_GN_OUT(&d));
        free(d.block), free(d.out);
    }
    { /* batch norm on two threads: NCHW pieces of channels, NHWC tiles, with fuse_relu and weight gradients */
        static const size_t shapes[2][4] = {{8, 67, 50, TRAINOPT_NCHW}, {5, 200, 9, TRAINOPT_NHWC}};
        for (i = 0; i < 2; i++) {
            pa_bn_data d;
            char name[64];
            pa_bn_init(&d, shapes[i]);
            snprintf(name, sizeof name, "batchnorm_mt/%s/status", i ? "nhwc" : "nchw");
            to_emit_status(sink, name, (int)pa_bn_run(&d, 1, 1, &th));
            snprintf(name, sizeof name, "batchnorm_mt/%s/outputs", i ? "nhwc" : "nchw");
            to_emit_floats(sink, name, d.out, PA_BN_OUT(&d));
            free(d.block), free(d.out);
        }
    }
    { /* dropout on two threads: three pieces and a short one, the mask and both backward passes */
        float *x = (float *)malloc(PA_DROP_MAX * sizeof(float)), *dy = (float *)malloc(PA_DROP_MAX * sizeof(float));
        float *out = (float *)malloc(4 * PA_DROP_MAX * sizeof(float));
        uint64_t seed = 0xd51u;
        if (!x || !dy || !out) exit(2);
        to_rand_fill(&seed, x, PA_DROP_MAX, -2.0f, 2.0f);
        to_rand_fill(&seed, dy, PA_DROP_MAX, -1.0f, 1.0f);
        to_emit_status(sink, "dropout_mt/status", (int)pa_drop_run(PA_DROP_MAX, 0.3, 5, 0, 1, x, dy, out, &th));
        to_emit_floats(sink, "dropout_mt/outputs", out, 3 * PA_DROP_MAX);
        to_emit(sink, "dropout_mt/mask", out + 3 * PA_DROP_MAX, (PA_DROP_MAX + 7) / 8);
        free(x), free(dy), free(out);
    }
    { /* the losses on two threads: MSE and BCE over three pieces and a short one, with their
         gradients; cross-entropy with smoothing over two rounds of rows, with its gradient */
        const size_t n = 50001, batch = 4100, classes = 10; /* (n > batch * classes) */
        float *x = (float *)malloc(n * sizeof(float)), *y = (float *)malloc(n * sizeof(float));
        float *out = (float *)malloc((n + 1) * sizeof(float));
        int32_t *labels = (int32_t *)malloc(batch * sizeof(int32_t));
        uint64_t seed = 0x1056u;
        size_t b;
        int op;
        if (!x || !y || !out || !labels) exit(2);
        to_rand_fill(&seed, x, n, -3.0f, 3.0f);
        to_rand_fill(&seed, y, n, 0.0f, 1.0f);
        for (b = 0; b < batch; b++) labels[b] = b % 11 == 5 ? -100 : (int32_t)(to_rand_u64(&seed) % classes);
        for (op = 0; op < 2; op++) {
            char name[64];
            snprintf(name, sizeof name, "losses_mt/%s/status", op ? "bce" : "mse");
            to_emit_status(sink, name, (int)pa_pointwise_run(op, n, 1, x, y, out, &th));
            snprintf(name, sizeof name, "losses_mt/%s/outputs", op ? "bce" : "mse");
            to_emit_floats(sink, name, out, 1 + n);
        }
        to_emit_status(sink, "losses_mt/cross_entropy/status", (int)pa_ce_run(batch, classes, x, labels, 0.1, 1, out, &th));
        to_emit_floats(sink, "losses_mt/cross_entropy/outputs", out, 1 + batch * classes);
        free(x), free(y), free(out), free(labels);
    }
    { /* LAMB and LARS on two threads (the tests hold them equal to the plain calls): every
         parameter and state after PA_STEPS fused steps, for each configuration. (Their _mp
         forms are held to the _mp calls, whose battery rows are test_mixed_layerwise's: raw
         16-bit NaNs would carry the hardware's NaN sign here.) */
        size_t ci;
        for (ci = 0; ci < PL_CASES; ci++) {
            pl_model m;
            trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
            char name[96];
            int64_t step;
            uint64_t count;
            o.grad_scale = 0.5, o.nonfinite = &bad;
            pl_model_init(&m, 0, 1);
            for (step = 1; step <= PA_STEPS; step++) {
                snprintf(name, sizeof name, "layerwise_mt/%zu/status%d", ci, (int)step);
                to_emit_status(sink, name, (int)pl_call(&pl_cases[ci], &m, step, &o, &th));
                snprintf(name, sizeof name, "layerwise_mt/%zu/nonfinite%d", ci, (int)step);
                count = (uint64_t)bad;
                to_emit(sink, name, &count, sizeof count);
            }
            snprintf(name, sizeof name, "layerwise_mt/%zu/arrays", ci);
            to_emit_floats(sink, name, m.block, m.total);
            free(m.block);
        }
    }
    { /* the generators on two threads: three pieces and a short one, at an odd offset */
        const size_t n = 50001;
        float *out = (float *)malloc(n * sizeof(float));
        int g;
        if (!out) exit(2);
        for (g = 0; g < PA_GENS; g++) {
            char name[64];
            snprintf(name, sizeof name, "random_mt/%s/status", pa_gen_names[g]);
            to_emit_status(sink, name, (int)pa_gen_run(g, n, 12345, out, &th));
            snprintf(name, sizeof name, "random_mt/%s/values", pa_gen_names[g]);
            to_emit(sink, name, out, n * sizeof(float));
        }
        free(out);
    }
    { /* batch norm inference on two threads (NCHW tiles and image blocks, NHWC tiles and row
         blocks, with fuse_relu); clip_grad_value and grad_unscale over four pieces with
         non-finite values */
        static const size_t shapes[2][4] = {{8, 67, 50, TRAINOPT_NCHW}, {40, 100, 30, TRAINOPT_NHWC}};
        const size_t n = 50001;
        float *g = (float *)malloc(n * sizeof(float));
        int found = 0;
        if (!g) exit(2);
        for (i = 0; i < 2; i++) {
            pa_bni_data d;
            float *out;
            char name[64];
            pa_bni_init(&d, shapes[i]);
            out = (float *)malloc((d.total + 8) * sizeof(float));
            if (!out) exit(2);
            snprintf(name, sizeof name, "batchnorm_infer_mt/%s/status", i ? "nhwc" : "nchw");
            to_emit_status(sink, name, (int)pa_bni_run(&d, 1, 1, 0, out, &th));
            snprintf(name, sizeof name, "batchnorm_infer_mt/%s/outputs", i ? "nhwc" : "nchw");
            to_emit_floats(sink, name, out, d.total);
            free(out), free(d.x);
        }
        pa_gew_fill(g, n, 1);
        to_emit_status(sink, "clip_grad_value_mt/status", (int)trainopt_clip_grad_value_mt(n, g, 0.5, &th));
        to_emit_floats(sink, "clip_grad_value_mt/grad", g, n);
        pa_gew_fill(g, n, 1);
        to_emit_status(sink, "grad_unscale_mt/status", (int)trainopt_grad_unscale_mt(n, g, 0.5f, &found, &th));
        to_emit_floats(sink, "grad_unscale_mt/grad", g, n);
        to_emit(sink, "grad_unscale_mt/found_inf", &found, sizeof found);
        free(g);
    }
}
