/* examples/many_tensors.c - a whole model's AdamW step in one call, on a small pthread
   pool: trainopt's threading hook (trainopt_threads) and multi-tensor step
   (trainopt_adamw_step_multi), with the gradients clipped by trainopt_clip_grad_norm_mt
   on the same pool. The pool is trainopt_pool, the library's own; any parallel-for plugs in
   the same way (OpenMP users pass trainopt_omp_parallel_for; a framework its own pool). The program
   checks that 1, 2 and 3 threads give the bits of the per-tensor, single-threaded calls,
   and prints a checksum of the parameters (the same on every backend).
   Usage: many_tensors [--small] */
#define _POSIX_C_SOURCE 200112L
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_POOL /* trainopt_pool comes with the implementation */
#include "trainopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the model: the demo MLP's layers (784-256-128-10), weights and biases, repeated ---- */
static const size_t layer[] = {784 * 256, 256, 256 * 128, 128, 128 * 10, 10};
#define LAYERS (sizeof layer / sizeof layer[0])

typedef struct {
    size_t k;
    float *block;
    trainopt_tensor *t;
    float **grads;
    size_t *lens;
} model;

static float uniform(uint64_t *s) { /* xorshift64*, [-1, 1) */
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return (float)((*s * 2685821657736338717ull) >> 40) / 8388608.0f - 1.0f;
}

static void model_init(model *m, size_t repeats) {
    size_t i, j, total = 0, at = 0;
    uint64_t seed = 0x5eed;
    m->k = LAYERS * repeats;
    for (i = 0; i < m->k; i++) total += 4 * layer[i % LAYERS];
    m->block = (float *)calloc(total, sizeof(float));
    m->t = (trainopt_tensor *)calloc(m->k, sizeof *m->t);
    m->grads = (float **)calloc(m->k, sizeof *m->grads);
    m->lens = (size_t *)calloc(m->k, sizeof *m->lens);
    if (!m->block || !m->t || !m->grads || !m->lens) exit(2);
    for (i = 0; i < m->k; i++) {
        const size_t n = layer[i % LAYERS];
        m->t[i].param = m->block + at;
        m->grads[i] = m->block + at + n;
        m->t[i].grad = m->grads[i];
        m->t[i].state[0] = m->block + at + 2 * n; /* exp_avg */
        m->t[i].state[1] = m->block + at + 3 * n; /* exp_avg_sq */
        m->t[i].n = m->lens[i] = n;
        for (j = 0; j < n; j++) m->t[i].param[j] = 0.05f * uniform(&seed), m->grads[i][j] = 0.01f * uniform(&seed);
        at += 4 * n;
    }
}

static void model_free(model *m) { free(m->block), free(m->t), free(m->grads), free(m->lens); }

static uint64_t checksum(const model *m) { /* FNV-1a over every parameter's bits */
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i, j;
    for (i = 0; i < m->k; i++)
        for (j = 0; j < m->t[i].n * sizeof(float); j++) h = (h ^ ((const unsigned char *)m->t[i].param)[j]) * 0x100000001b3ull;
    return h;
}

/* Three training steps: clip the gradients to norm 0.1, then AdamW on every tensor. One
   call each on the pool, or (pool NULL) the per-tensor calls on this thread. */
static int train(model *m, trainopt_pool *p, float *norm) {
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    const trainopt_threads th = {trainopt_pool_parallel_for, p};
    int64_t step;
    size_t i;
    for (step = 1; step <= 3; step++) {
        if (p) {
            if (trainopt_clip_grad_norm_mt(m->k, m->grads, m->lens, 0.1, norm, &th) != TRAINOPT_OK) return -1;
            if (trainopt_adamw_step_multi(&c, step, m->k, m->t, NULL, &th) != TRAINOPT_OK) return -1;
        } else {
            if (trainopt_clip_grad_norm(m->k, m->grads, m->lens, 0.1, norm) != TRAINOPT_OK) return -1;
            for (i = 0; i < m->k; i++)
                if (trainopt_adamw_step(&c, step, m->t[i].n, m->t[i].param, m->t[i].grad, m->t[i].state[0],
                                        m->t[i].state[1], NULL) != TRAINOPT_OK)
                    return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    const size_t repeats = argc > 1 && strcmp(argv[1], "--small") == 0 ? 2 : 20;
    model ref, m;
    float ref_norm, norm;
    uint64_t want;
    int threads, failures = 0;
    model_init(&ref, repeats);
    if (train(&ref, NULL, &ref_norm) != 0) return 1;
    want = checksum(&ref);
    printf("%zu tensors, per-tensor calls on one thread: checksum %016llx, last norm %.9g\n", ref.k,
           (unsigned long long)want, ref_norm);
    for (threads = 1; threads <= 3; threads++) {
        trainopt_pool *p;
        model_init(&m, repeats);
        if (trainopt_pool_create(threads, &p) != TRAINOPT_OK) return 1;
        if (train(&m, p, &norm) != 0) return 1;
        trainopt_pool_destroy(p);
        printf("one call per step on %d thread%s: checksum %016llx, last norm %.9g: %s\n", threads, threads > 1 ? "s" : "",
               (unsigned long long)checksum(&m), norm,
               checksum(&m) == want && memcmp(&norm, &ref_norm, sizeof norm) == 0 ? "the same bits" : "DIFFERENT");
        failures += checksum(&m) != want || memcmp(&norm, &ref_norm, sizeof norm) != 0;
        model_free(&m);
    }
    model_free(&ref);
    return failures != 0;
}
