/* bench/pool.c - the arrays every benchmark shares (see tob.h).

   Fresh pages cost about 10 us each to fault in on this kind of VM, which at
   16M elements would dwarf the kernel; so the arrays are allocated once, at
   the largest size asked for, touched once, and reused by every benchmark. */
#define _POSIX_C_SOURCE 200112L
#include "tob.h"

#include <stdlib.h>
#include <string.h>

#define TOB_POOL_ARRAYS 8
#define TOB_POOL_BYTES 4
#define TOB_STAGGER 576 /* 9 cache lines: array j starts j*576 bytes past a 4 KiB boundary */

static struct {
    void *base;   /* what posix_memalign returned */
    float *a;     /* the staggered start */
    size_t cap;   /* floats available */
    size_t filled;
    const char *kind; /* who filled it last */
} pool[TOB_POOL_ARRAYS];

static struct {
    void *p;
    size_t cap;
} bytes_pool[TOB_POOL_BYTES];

void tob_fill(float *a, int j, size_t n) {
    uint32_t x = 0x9e3779b9u * (uint32_t)(j + 1);
    size_t i;
    for (i = 0; i < n; i++) {
        float u;
        x = x * 1664525u + 1013904223u;
        u = (float)(x >> 8) * (1.0f / 16777216.0f); /* [0, 1) */
        if (j == 1) a[i] = (x & 1u) ? -(0.01f + 0.99f * u) : 0.01f + 0.99f * u;
        else a[i] = 1e-3f + (1.0f - 1e-3f) * u;
    }
}

float **tob_arrays(tob_state *s, const char *kind, int k, size_t n) {
    static float *out[TOB_POOL_ARRAYS];
    int j;
    if (k > TOB_POOL_ARRAYS) {
        tob_error(s, "tob_arrays: too many arrays");
        return NULL;
    }
    for (j = 0; j < k; j++) {
        if (pool[j].cap < n) {
            size_t bytes = n * sizeof(float) + TOB_STAGGER * (size_t)j + 64;
            void *p = NULL;
            free(pool[j].base);
            pool[j].base = NULL;
            pool[j].cap = pool[j].filled = 0;
            if (posix_memalign(&p, 4096, bytes) != 0) {
                tob_error(s, "tob_arrays: out of memory");
                return NULL;
            }
            memset(p, 0, bytes); /* fault every page in now, not in a timed loop */
            pool[j].base = p;
            pool[j].a = (float *)((char *)p + TOB_STAGGER * (size_t)j);
            pool[j].cap = n;
        }
        if (pool[j].kind == NULL || strcmp(pool[j].kind, kind) != 0 || pool[j].filled < n) {
            tob_fill(pool[j].a, j, n);
            pool[j].kind = kind;
            pool[j].filled = n;
        }
        out[j] = pool[j].a;
    }
    return out;
}

void *tob_bytes(tob_state *s, int slot, size_t bytes) {
    if (slot < 0 || slot >= TOB_POOL_BYTES) {
        tob_error(s, "tob_bytes: bad slot");
        return NULL;
    }
    if (bytes_pool[slot].cap < bytes) {
        void *p = NULL;
        free(bytes_pool[slot].p);
        bytes_pool[slot].p = NULL;
        bytes_pool[slot].cap = 0;
        if (posix_memalign(&p, 4096, bytes + 64) != 0) {
            tob_error(s, "tob_bytes: out of memory");
            return NULL;
        }
        memset(p, 0, bytes + 64);
        bytes_pool[slot].p = p;
        bytes_pool[slot].cap = bytes;
    }
    return bytes_pool[slot].p;
}

/* 4K .. 16M elements: 16 KiB per array (L1/L2) to 64 MiB per array (DRAM). */
const int64_t tob_sizes_elementwise[] = {1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24, 0};
