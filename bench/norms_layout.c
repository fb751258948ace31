/* bench/norms_layout.c - layer norm backward (dx, dweight, dbias) with the arrays laid
   out two ways: each array at the start of its own pages, as large blocks come from
   allocators that align them alike (glibc's mmap threshold, PyTorch's 64-byte aligned
   CPU allocator), so that rows of x and dy a power of two apart share L1 sets; and
   staggered, as bench/pool.c lays out the arrays of the main bench. Prints ns/element
   (median of REPS calls) and an FNV-1a hash of dx, dweight and dbias, so that a build
   against another checkout's headers (make -C bench norms_layout NORMS_LAYOUT_INCLUDE=
   path) is compared bit for bit and for time. Arguments: rows cols pairs (default:
   the goals' shapes and two more). Bench/RESULTS.md, "Layer norm backward row by row". */
#define _POSIX_C_SOURCE 200112L /* clock_gettime, posix_memalign */
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_STATIC
#include "trainopt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"

#define REPS 9

static uint64_t fnv1a(const void *p, size_t n, uint64_t h) {
    const unsigned char *c = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

/* Times one shape with x, dy and dx at these float offsets from page starts. */
static int run(size_t rows, size_t cols, const size_t offset[3], const char *layout) {
    const size_t n = rows * cols;
    const trainopt_norm_config cfg = TRAINOPT_NORM_DEFAULTS;
    void *base[4] = {NULL, NULL, NULL, NULL};
    float *x, *dy, *dx, *y, *w, *b, *mean, *rstd, *dw, *db;
    double t[REPS];
    uint64_t h;
    size_t i;
    int k;
    for (k = 0; k < 4; k++)
        if (posix_memalign(&base[k], 4096, (n + 1024) * sizeof(float)) != 0) return 1;
    x = (float *)base[0] + offset[0];
    dy = (float *)base[1] + offset[1];
    dx = (float *)base[2] + offset[2];
    y = (float *)base[3];
    w = (float *)malloc(4 * cols * sizeof(float) + 2 * rows * sizeof(float));
    if (!w) return 1;
    b = w + cols, dw = b + cols, db = dw + cols, mean = db + cols, rstd = mean + rows;
    srand(7);
    for (i = 0; i < n; i++) {
        x[i] = (float)rand() / (float)RAND_MAX * 4.0f - 1.5f;
        dy[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    }
    for (i = 0; i < cols; i++) w[i] = 0.5f + (float)i / (float)cols, b[i] = 0.1f;
    if (trainopt_layernorm_forward(&cfg, rows, cols, x, w, b, y, mean, rstd) != TRAINOPT_OK) return 1;
    for (k = 0; k < REPS; k++) {
        const double t0 = bench_seconds();
        if (trainopt_layernorm_backward(&cfg, rows, cols, x, dy, w, mean, rstd, dx, dw, db) != TRAINOPT_OK) return 1;
        t[k] = bench_seconds() - t0;
    }
    h = fnv1a(dx, n * sizeof(float), 1469598103934665603ull);
    h = fnv1a(dw, cols * sizeof(float), h);
    h = fnv1a(db, cols * sizeof(float), h);
    printf("[%zu][%zu] %-10s %.3f ns/element  %016llx\n", rows, cols, layout, 1e9 * bench_median(t, REPS) / (double)n,
           (unsigned long long)h);
    for (k = 0; k < 4; k++) free(base[k]);
    free(w);
    return 0;
}

int main(int argc, char **argv) {
    static const size_t shapes[][2] = {{4096, 1024}, {16384, 4096}, {1024, 1024}, {65536, 256}};
    static const size_t alike[3] = {0, 0, 0}, staggered[3] = {0, 16 * 17, 16 * 35};
    size_t q, count = sizeof shapes / sizeof shapes[0];
    int a;
    printf("trainopt %s, layer norm backward (dx, dweight, dbias), median of %d\n", TRAINOPT_SIMD_NAME, REPS);
    if (argc > 2) count = (size_t)(argc - 1) / 2;
    for (q = 0; q < count; q++) {
        const size_t rows = argc > 2 ? strtoul(argv[1 + 2 * q], NULL, 10) : shapes[q][0];
        const size_t cols = argc > 2 ? strtoul(argv[2 + 2 * q], NULL, 10) : shapes[q][1];
        for (a = 0; a < 2; a++)
            if (run(rows, cols, a ? staggered : alike, a ? "staggered" : "alike") != 0) {
                fprintf(stderr, "norms_layout: out of memory or a refused call at [%zu][%zu]\n", rows, cols);
                return 1;
            }
    }
    return 0;
}
