/* bench/quant8.c - 8-bit optimizer states (issue 18), one thread: at n elements (16M by
   default) the 8-bit AdamW step against the loop that moves the same bytes (its floor),
   and against the fp32 AdamW step and its own same-traffic loop; quantize and dequantize
   alone. Rounds of every kernel in turn, medians over the rounds, the load average
   before and after. Built per backend by `make -C bench quant8`; run it pinned and under
   the bench lock: flock /work/bench.lock taskset -c 1 ../build/bench/quant8_avx512 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#include "trainopt.h"

void q8_traffic_8bit(size_t n, size_t block, float *param, const float *grad, uint8_t *c0, uint8_t *c1, float *a0,
                     float *a1);
void q8_traffic_fp32(size_t n, float *param, const float *grad, float *m, float *v);

enum { K_Q8, K_Q8_TRAFFIC, K_FP32, K_FP32_TRAFFIC, K_QUANT, K_DEQUANT, K_COUNT };
static const char *const names[] = {"adamw8bit_step", "same-traffic loop (8-bit)", "adamw_step (fp32)",
                                    "same-traffic loop (fp32)", "quantize_blockwise", "dequantize_blockwise"};
static const double bytes_per[] = {16, 16, 28, 28, 5, 5}; /* per element, absmax aside */

static void loadavg(const char *when) {
    char line[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = '\0';
        fclose(f);
    }
    printf("load %s: %s", when, line);
}

int main(int argc, char **argv) {
    const size_t n = argc > 1 ? (size_t)atol(argv[1]) : (size_t)1 << 24, block = TRAINOPT_Q8_BLOCK;
    const int rounds = argc > 2 ? atoi(argv[2]) : 11;
    const size_t nb = TRAINOPT_Q8_BLOCKS(n, block);
    float *p = malloc(n * 4), *g = malloc(n * 4), *m = malloc(n * 4), *v = malloc(n * 4), *a0 = malloc(nb * 4),
          *a1 = malloc(nb * 4);
    uint8_t *c0 = malloc(n), *c1 = malloc(n);
    double t[K_COUNT][64];
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    size_t i;
    int r, k;
    if (!p || !g || !m || !v || !a0 || !a1 || !c0 || !c1 || rounds < 1 || rounds > 64) return 1;
    for (i = 0; i < n; i++) p[i] = (float)(i % 1000) * 1e-3f - 0.5f, g[i] = (float)(i % 777) * 1e-3f - 0.3f;
    memset(m, 0, n * 4), memset(v, 0, n * 4), memset(c0, 0, n), memset(c1, 0, n);
    memset(a0, 0, nb * 4), memset(a1, 0, nb * 4);
    /* warm: pages touched, states no longer zero */
    trainopt_adamw8bit_step(&c, 1, block, n, p, g, c0, a0, c1, a1);
    trainopt_adamw_step(&c, 1, n, p, g, m, v, NULL);
    printf("trainopt backend %s, n = %zu, block %zu, %d rounds, one thread\n", trainopt_backend(), n, block, rounds);
    loadavg("before");
    for (r = 0; r < rounds; r++)
        for (k = 0; k < K_COUNT; k++) {
            const double t0 = bench_seconds();
            switch (k) {
            case K_Q8: trainopt_adamw8bit_step(&c, 10, block, n, p, g, c0, a0, c1, a1); break;
            case K_Q8_TRAFFIC: q8_traffic_8bit(n, block, p, g, c0, c1, a0, a1); break;
            case K_FP32: trainopt_adamw_step(&c, 10, n, p, g, m, v, NULL); break;
            case K_FP32_TRAFFIC: q8_traffic_fp32(n, p, g, m, v); break;
            case K_QUANT: trainopt_quantize_blockwise(TRAINOPT_Q8_SIGNED, block, n, m, c0, a0); break;
            default: trainopt_dequantize_blockwise(TRAINOPT_Q8_SIGNED, block, n, c0, a0, m); break;
            }
            t[k][r] = bench_seconds() - t0;
        }
    loadavg("after");
    for (k = 0; k < K_COUNT; k++) qsort(t[k], (size_t)rounds, sizeof(double), bench_cmp_double);
    printf("%-28s %10s %8s %8s\n", "kernel", "ms", "ns/elem", "GB/s");
    for (k = 0; k < K_COUNT; k++) {
        const double med = t[k][rounds / 2];
        printf("%-28s %10.2f %8.3f %8.2f\n", names[k], 1e3 * med, 1e9 * med / (double)n, bytes_per[k] * (double)n / med / 1e9);
    }
    printf("8-bit step / its same-traffic loop: %.0f%% of the loop's speed\n",
           100.0 * t[K_Q8_TRAFFIC][rounds / 2] / t[K_Q8][rounds / 2]);
    printf("8-bit step vs fp32 step: %.2fx the fp32 step's speed\n", t[K_FP32][rounds / 2] / t[K_Q8][rounds / 2]);
    printf("state bytes per parameter: 8-bit %.5f (2 + 8/%zu), fp32 8\n", 2.0 + 8.0 / (double)block, block);
    return 0;
}
