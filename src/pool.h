/* >>pool: trainopt_pool, a small pthread pool that is a trainopt_parallel_for_fn (api-pool;
   manual: THREADS). Compiled once, outside the kernel passes, where TRAINOPT_POOL is defined
   beside TRAINOPT_IMPLEMENTATION (src/lib.c defines it: libtrainopt has the pool). The pool is
   the caller's object; nothing here is global. Workers sleep on a condition variable between
   calls (a spinning worker would take a core from the caller's own threads: PyTorch's, in the
   Python package), and every task is taken under one mutex: a step of 100M parameters is
   about 6,000 tasks, so the lock costs far less than the memory traffic it schedules. */
#if defined(TRAINOPT_POOL) && defined(TRAINOPT_IMPLEMENTATION) && !defined(TRAINOPT__VARIANT_PASS) && \
    !defined(TRAINOPT__POOL_DONE)
#define TRAINOPT__POOL_DONE 1
#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

struct trainopt_pool {
    pthread_mutex_t call;           /* one parallel-for at a time on a pool */
    pthread_mutex_t mu;             /* guards everything below */
    pthread_cond_t wake, done;
    int workers, stop;
    unsigned generation;            /* bumped for every job: a worker runs each job once */
    trainopt_task_fn task;
    void *arg;
    size_t count, next, finished;
    pthread_t tid[TRAINOPT_POOL_MAX - 1];
};

/* Runs tasks of the current job until none is left; called and returns with mu held. */
static void trainopt__pool_work(struct trainopt_pool *p) {
    while (p->next < p->count) {
        const size_t i = p->next++;
        const trainopt_task_fn task = p->task;
        void *arg = p->arg;
        pthread_mutex_unlock(&p->mu);
        task(arg, i);
        pthread_mutex_lock(&p->mu);
        if (++p->finished == p->count) pthread_cond_broadcast(&p->done);
    }
}

static void *trainopt__pool_worker(void *arg) {
    struct trainopt_pool *p = (struct trainopt_pool *)arg;
    unsigned seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        trainopt__pool_work(p);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

TRAINOPT_API void trainopt_pool_parallel_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    struct trainopt_pool *p = (struct trainopt_pool *)ctx;
    size_t i;
    if (p->workers == 0 || count < 2) { /* nothing to share: no lock, no wake-up */
        for (i = 0; i < count; i++) task(arg, i);
        return;
    }
    pthread_mutex_lock(&p->call);
    pthread_mutex_lock(&p->mu);
    p->task = task, p->arg = arg, p->count = count, p->next = 0, p->finished = 0;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    trainopt__pool_work(p); /* the calling thread works too, then waits for the rest */
    while (p->finished < p->count) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->call);
}

TRAINOPT_API void trainopt_pool_destroy(trainopt_pool *p) {
    int i;
    if (p == NULL) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->workers; i++) pthread_join(p->tid[i], NULL);
    pthread_mutex_destroy(&p->call);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

/* A worker the system refuses to start leaves a smaller pool (the results are the same bits
   at any number of threads); a pool that cannot be allocated is TRAINOPT_ERR_NULL. */
TRAINOPT_API trainopt_status trainopt_pool_create(int threads, trainopt_pool **pool) {
    static const char fn[] = "trainopt_pool_create";
    struct trainopt_pool *p;
    if (pool == NULL) return trainopt__once_null(fn, "pool");
    *pool = NULL;
    if (threads < 1 || threads > TRAINOPT_POOL_MAX)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "threads = %d: a pool has 1 to %d threads", threads,
                                   TRAINOPT_POOL_MAX);
    p = (struct trainopt_pool *)calloc(1, sizeof *p);
    if (p == NULL) return trainopt__once_fail(TRAINOPT_ERR_NULL, fn, "out of memory");
    pthread_mutex_init(&p->call, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (p->workers = 0; p->workers < threads - 1; p->workers++)
        if (pthread_create(&p->tid[p->workers], NULL, trainopt__pool_worker, p) != 0) break;
    *pool = p;
    return TRAINOPT_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* TRAINOPT_POOL */
