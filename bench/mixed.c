/* bench/mixed.c - mixed precision (issue 15): trainopt_convert and the _mp AdamW paths,
   each beside a plain C loop that moves the same bytes per element (its "same-traffic
   kernel": the loads and stores of the kernel with the least arithmetic that keeps them,
   vectorized by the compiler), at 64K and 16M elements, in the same run. Every figure is
   the median of REPS timed calls; bytes count as STREAM counts them (no write-allocate).
   Build and run: make -C bench mixed (RESULTS.md, "Mixed precision", has the command and
   the load). One thread: pin it (PIN='taskset -c 1'). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_STATIC
#include "trainopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define REPS 9


static void *alloc_bytes(size_t bytes, unsigned char fill) {
    void *p = malloc(bytes);
    if (!p) exit(2);
    memset(p, fill, bytes);
    return p;
}
static float *alloc_floats(size_t n, float v) {
    float *p = (float *)alloc_bytes(n * 4, 0);
    size_t i;
    for (i = 0; i < n; i++) p[i] = v * (float)(1 + i % 7);
    return p;
}

/* ---- the same-traffic loops (plain C, vectorized by the compiler) ---- */

/* 4 bytes read, 2 written: the top half of each float, no rounding. */
static void __attribute__((noinline)) top_halves(size_t n, const float *restrict src, uint16_t *restrict dst) {
    size_t i;
    for (i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, src + i, 4);
        dst[i] = (uint16_t)(u >> 16);
    }
}
/* 2 bytes read, 4 written. */
static void __attribute__((noinline)) widen_halves(size_t n, const uint16_t *restrict src, float *restrict dst) {
    size_t i;
    for (i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)src[i] << 16;
        memcpy(dst + i, &u, 4);
    }
}
/* AdamW's traffic with bf16 parameters and gradients, fp32 states: 12 bytes read, 10 written. */
static void __attribute__((noinline)) traffic_22(size_t n, uint16_t *restrict p, const uint16_t *restrict g, float *restrict m,
                                                 float *restrict v) {
    size_t i;
    for (i = 0; i < n; i++) {
        const float mi = m[i];
        m[i] = mi + v[i];
        v[i] = v[i] + 1.0f;
        p[i] = (uint16_t)(p[i] + g[i]);
    }
}
/* ... and with bf16 states too: 8 read, 6 written. */
static void __attribute__((noinline)) traffic_14(size_t n, uint16_t *restrict p, const uint16_t *restrict g, uint16_t *restrict m,
                                                 uint16_t *restrict v) {
    size_t i;
    for (i = 0; i < n; i++) {
        const uint16_t mi = m[i];
        m[i] = (uint16_t)(mi + v[i]);
        v[i] = (uint16_t)(v[i] + 1u);
        p[i] = (uint16_t)(p[i] + g[i]);
    }
}
/* fp32 AdamW's traffic: 16 read, 12 written (and with a bf16 copy: 14 written). */
static void __attribute__((noinline)) traffic_28(size_t n, float *restrict p, const float *restrict g, float *restrict m,
                                                 float *restrict v, uint16_t *restrict copy) {
    size_t i;
    if (copy)
        for (i = 0; i < n; i++) {
            uint32_t u;
            m[i] = m[i] + v[i];
            v[i] = v[i] + 1.0f;
            p[i] = p[i] + g[i];
            memcpy(&u, p + i, 4);
            copy[i] = (uint16_t)(u >> 16);
        }
    else
        for (i = 0; i < n; i++) {
            m[i] = m[i] + v[i];
            v[i] = v[i] + 1.0f;
            p[i] = p[i] + g[i];
        }
}

/* ---- the rows ---- */

typedef struct {
    size_t n;
    float *f[4];
    uint16_t *h[5];
} arrays;

enum {
    ROW_TO_BF16, ROW_TO_BF16_SR, ROW_TO_F16, ROW_TO_F16_SR, ROW_FROM_BF16, ROW_FROM_F16, ROW_COPY_DOWN, ROW_COPY_UP,
    ROW_ADAMW_F32, ROW_ADAMW_F32_COPY, ROW_ADAMW_BF16_SR, ROW_ADAMW_BF16_KAHAN, ROW_ADAMW_SPLIT, ROW_ADAMW_ALL_BF16,
    ROW_ADAMW_BF16_NEAREST, ROW_ADAMW_F16_NEAREST, ROW_ADAMW_ALL_BF16_NEAREST, ROW_T28, ROW_T30, ROW_T22, ROW_T14, ROWS
};
static const struct {
    const char *name;
    double bytes; /* per element */
} rows[ROWS] = {
    {"convert f32->bf16 nearest", 6}, {"convert f32->bf16 stochastic", 6}, {"convert f32->f16 nearest", 6},
    {"convert f32->f16 stochastic", 6}, {"convert bf16->f32", 6}, {"convert f16->f32", 6},
    {"same traffic: top halves (4 read, 2 written)", 6}, {"same traffic: widen (2 read, 4 written)", 6},
    {"adamw_step_ex fp32", 28}, {"adamw_step_mp fp32 master + bf16 copy", 30},
    {"adamw_step_mp bf16 param+grad stochastic, fp32 states", 22}, {"adamw_step_mp bf16 Kahan param (+c), bf16 grad, fp32 states", 26},
    {"adamw_step_mp split bf16 (+low half), bf16 grad, fp32 states", 26}, {"adamw_step_mp bf16 param+grad+states stochastic", 14},
    {"adamw_step_mp bf16 param+grad nearest, fp32 states (fused)", 22}, {"adamw_step_mp fp16 param+grad nearest, fp32 states (fused)", 22},
    {"adamw_step_mp bf16 param+grad+states nearest (fused)", 14},
    {"same traffic: 28 B/element", 28}, {"same traffic: 30 B/element", 30}, {"same traffic: 22 B/element", 22},
    {"same traffic: 14 B/element", 14},
};

static void run_row(int row, arrays *a, int rep) {
    const size_t n = a->n;
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    const int64_t step = 10 + rep;
    pr.seed = 1, pr.offset = (uint64_t)rep * n;
    switch (row) {
    case ROW_TO_BF16: trainopt_convert(n, a->f[0], TRAINOPT_F32, a->h[0], TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0); break;
    case ROW_TO_BF16_SR: trainopt_convert(n, a->f[0], TRAINOPT_F32, a->h[0], TRAINOPT_BF16, TRAINOPT_ROUND_STOCHASTIC, 1, pr.offset); break;
    case ROW_TO_F16: trainopt_convert(n, a->f[0], TRAINOPT_F32, a->h[0], TRAINOPT_F16, TRAINOPT_ROUND_NEAREST, 0, 0); break;
    case ROW_TO_F16_SR: trainopt_convert(n, a->f[0], TRAINOPT_F32, a->h[0], TRAINOPT_F16, TRAINOPT_ROUND_STOCHASTIC, 1, pr.offset); break;
    case ROW_FROM_BF16: trainopt_convert(n, a->h[1], TRAINOPT_BF16, a->f[1], TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0); break;
    case ROW_FROM_F16: trainopt_convert(n, a->h[1], TRAINOPT_F16, a->f[1], TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0); break;
    case ROW_COPY_DOWN: top_halves(n, a->f[0], a->h[0]); break;
    case ROW_COPY_UP: widen_halves(n, a->h[1], a->f[1]); break;
    case ROW_ADAMW_F32: trainopt_adamw_step_ex(&c, step, n, a->f[0], a->f[1], a->f[2], a->f[3], NULL, NULL); break;
    case ROW_ADAMW_F32_COPY:
        pr.copy = a->h[0];
        trainopt_adamw_step_mp(&c, step, n, a->f[0], a->f[1], a->f[2], a->f[3], NULL, &pr, NULL);
        break;
    case ROW_ADAMW_BF16_SR:
        pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_BF16, pr.param_mode = TRAINOPT_PARAM_STOCHASTIC;
        trainopt_adamw_step_mp(&c, step, n, a->h[0], a->h[1], a->f[2], a->f[3], NULL, &pr, NULL);
        break;
    case ROW_ADAMW_BF16_KAHAN:
    case ROW_ADAMW_SPLIT:
        pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_BF16, pr.param_aux = a->h[2];
        pr.param_mode = row == ROW_ADAMW_SPLIT ? TRAINOPT_PARAM_SPLIT : TRAINOPT_PARAM_KAHAN;
        trainopt_adamw_step_mp(&c, step, n, a->h[0], a->h[1], a->f[2], a->f[3], NULL, &pr, NULL);
        break;
    case ROW_ADAMW_ALL_BF16:
        pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_BF16, pr.state_dtype = TRAINOPT_BF16;
        pr.param_mode = TRAINOPT_PARAM_STOCHASTIC;
        trainopt_adamw_step_mp(&c, step, n, a->h[0], a->h[1], a->h[3], a->h[4], NULL, &pr, NULL);
        break;
    case ROW_ADAMW_BF16_NEAREST:
    case ROW_ADAMW_F16_NEAREST: /* nearest rounding: the fused loop (src/mixed.h) */
        pr.param_dtype = pr.grad_dtype = row == ROW_ADAMW_F16_NEAREST ? TRAINOPT_F16 : TRAINOPT_BF16;
        trainopt_adamw_step_mp(&c, step, n, a->h[0], a->h[1], a->f[2], a->f[3], NULL, &pr, NULL);
        break;
    case ROW_ADAMW_ALL_BF16_NEAREST:
        pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_BF16, pr.state_dtype = TRAINOPT_BF16;
        trainopt_adamw_step_mp(&c, step, n, a->h[0], a->h[1], a->h[3], a->h[4], NULL, &pr, NULL);
        break;
    case ROW_T28: traffic_28(n, a->f[0], a->f[1], a->f[2], a->f[3], NULL); break;
    case ROW_T30: traffic_28(n, a->f[0], a->f[1], a->f[2], a->f[3], a->h[0]); break;
    case ROW_T22: traffic_22(n, a->h[0], a->h[1], a->f[2], a->f[3]); break;
    default: traffic_14(n, a->h[0], a->h[1], a->h[3], a->h[4]); break;
    }
}

/* The kernel's row and the row of its same-traffic loop. */
static int baseline_of(int row) {
    switch (row) {
    case ROW_TO_BF16: case ROW_TO_BF16_SR: case ROW_TO_F16: case ROW_TO_F16_SR: return ROW_COPY_DOWN;
    case ROW_FROM_BF16: case ROW_FROM_F16: return ROW_COPY_UP;
    case ROW_ADAMW_F32: return ROW_T28;
    case ROW_ADAMW_F32_COPY: return ROW_T30;
    case ROW_ADAMW_BF16_SR: case ROW_ADAMW_BF16_NEAREST: case ROW_ADAMW_F16_NEAREST: return ROW_T22;
    case ROW_ADAMW_BF16_KAHAN: case ROW_ADAMW_SPLIT: return ROW_T22; /* (4 bytes more: the aux read and write) */
    case ROW_ADAMW_ALL_BF16: case ROW_ADAMW_ALL_BF16_NEAREST: return ROW_T14;
    default: return -1;
    }
}

int main(void) {
    static const size_t sizes[] = {65536, 16777216};
    size_t si, j;
    int row, rep;
    printf("trainopt %s backend, one thread; median of %d calls; bytes per element as STREAM counts them\n",
           trainopt_backend(), REPS);
    for (si = 0; si < 2; si++) {
        arrays a;
        double ns[ROWS];
        a.n = sizes[si];
        for (j = 0; j < 4; j++) a.f[j] = alloc_floats(a.n, j == 3 ? 1e-3f : 0.01f * (float)(j + 1));
        for (j = 0; j < 5; j++) a.h[j] = (uint16_t *)alloc_bytes(a.n * 2, (unsigned char)(0x3c + j));
        for (row = 0; row < ROWS; row++) {
            double t[REPS];
            const int reps = a.n < 1000000 ? 200 : 1; /* calls per timed sample */
            run_row(row, &a, 0); /* warm */
            for (rep = 0; rep < REPS; rep++) {
                int k;
                const double t0 = bench_seconds();
                for (k = 0; k < reps; k++) run_row(row, &a, rep * reps + k);
                t[rep] = (bench_seconds() - t0) / reps;
            }
            qsort(t, REPS, sizeof t[0], bench_cmp_double);
            ns[row] = t[REPS / 2] * 1e9 / (double)a.n;
        }
        printf("\nn = %zu\n%-62s %9s %8s %10s\n", a.n, "row", "ns/elem", "GB/s", "vs traffic");
        for (row = 0; row < ROWS; row++) {
            const int b = baseline_of(row);
            printf("%-62s %9.3f %8.2f", rows[row].name, ns[row], rows[row].bytes / ns[row]);
            if (b >= 0) printf(" %9.2fx", ns[b] / ns[row]);
            printf("\n");
        }
        for (j = 0; j < 4; j++) free(a.f[j]);
        for (j = 0; j < 5; j++) free(a.h[j]);
    }
    return 0;
}
