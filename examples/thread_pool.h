/* examples/thread_pool.h - a small pthread pool that runs trainopt's parallel-for
   (trainopt_parallel_for_fn): what a caller plugs into trainopt_threads. Shared by
   many_tensors.c and fashion_mnist.c; include it after trainopt.h, with
   _POSIX_C_SOURCE >= 200112L. */
#ifndef EXAMPLES_THREAD_POOL_H
#define EXAMPLES_THREAD_POOL_H

#include <pthread.h>
#include <string.h>

/* ---- a pool: workers wait for a job, take task indices until none is left ---- */
#define POOL_MAX 8
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_t tid[POOL_MAX];
    int workers, stop;
    unsigned generation; /* bumped for every job */
    trainopt_task_fn task;
    void *arg;
    size_t count, next, finished;
} pool;

/* Runs tasks of the current job until none is left; called and returns with mu held. */
static void pool_work(pool *p) {
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

static void *pool_worker(void *arg) {
    pool *p = (pool *)arg;
    unsigned seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pool_work(p);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* trainopt_parallel_for_fn: the calling thread works too, then waits for the rest. */
static void pool_parallel_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    pool *p = (pool *)ctx;
    pthread_mutex_lock(&p->mu);
    p->task = task, p->arg = arg, p->count = count, p->next = 0, p->finished = 0;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pool_work(p);
    while (p->finished < p->count) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* A pool of `threads` threads in all: the caller and threads - 1 workers. */
static int pool_start(pool *p, int threads) {
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (p->workers = 0; p->workers < threads - 1 && p->workers < POOL_MAX; p->workers++)
        if (pthread_create(&p->tid[p->workers], NULL, pool_worker, p) != 0) return -1;
    return 0;
}

static void pool_stop(pool *p) {
    int i;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->workers; i++) pthread_join(p->tid[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
}

/* trainopt's hook on pool p. */
static trainopt_threads pool_threads(pool *p) {
    trainopt_threads th = TRAINOPT_THREADS_NONE;
    th.parallel_for = pool_parallel_for, th.ctx = p;
    return th;
}

#endif
