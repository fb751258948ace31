/* bench/quant8.c - 8-bit optimizer states (issue 18), one thread: at n elements (16M by
   default) the 8-bit AdamW step against the loop that moves the same bytes (its floor),
   and against the fp32 AdamW step and its own same-traffic loop; the 8-bit step with bf16
   parameters and gradients (adamw8bit_step_mp: nearest and stochastic rounding) against
   its own same-traffic loop and the fp32 step; quantize and dequantize alone. Rounds of every kernel in turn, medians over the rounds, the load average
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
void q8_traffic_8bit_bf16(size_t n, size_t block, uint16_t *param, const uint16_t *grad, uint8_t *c0, uint8_t *c1,
                          float *a0, float *a1);

enum { K_Q8, K_Q8_TRAFFIC, K_FP32, K_FP32_TRAFFIC, K_QUANT, K_DEQUANT, K_MP, K_MP_SR, K_MP_TRAFFIC, K_COUNT };
static const char *const names[] = {"adamw8bit_step", "same-traffic loop (8-bit)", "adamw_step (fp32)",
                                    "same-traffic loop (fp32)", "quantize_blockwise", "dequantize_blockwise",
                                    "adamw8bit_step_mp bf16 p+g", "  same, stochastic rounding",
                                    "same-traffic loop (8-bit bf16)"};
static const double bytes_per[] = {16, 16, 28, 28, 5, 5, 10, 10, 10}; /* per element, absmax aside */

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
    uint8_t *c0 = malloc(n), *c1 = malloc(n), *d0 = malloc(n), *d1 = malloc(n);
    uint16_t *ph = malloc(n * 2), *gh = malloc(n * 2);
    float *b0 = malloc(nb * 4), *b1 = malloc(nb * 4);
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    double t[K_COUNT][64];
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    size_t i;
    int r, k;
    if (!p || !g || !m || !v || !a0 || !a1 || !c0 || !c1 || !d0 || !d1 || !ph || !gh || !b0 || !b1 || rounds < 1 ||
        rounds > 64)
        return 1;
    for (i = 0; i < n; i++) p[i] = (float)(i % 1000) * 1e-3f - 0.5f, g[i] = (float)(i % 777) * 1e-3f - 0.3f;
    memset(m, 0, n * 4), memset(v, 0, n * 4), memset(c0, 0, n), memset(c1, 0, n);
    memset(a0, 0, nb * 4), memset(a1, 0, nb * 4);
    /* the bf16 run: its own parameters and states (the same values, rounded) */
    trainopt_convert(n, p, TRAINOPT_F32, ph, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0);
    trainopt_convert(n, g, TRAINOPT_F32, gh, TRAINOPT_BF16, TRAINOPT_ROUND_NEAREST, 0, 0);
    memset(d0, 0, n), memset(d1, 0, n), memset(b0, 0, nb * 4), memset(b1, 0, nb * 4);
    pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_BF16;
    /* warm: pages touched, states no longer zero */
    trainopt_adamw8bit_step(&c, 1, block, n, p, g, c0, a0, c1, a1);
    trainopt_adamw_step(&c, 1, n, p, g, m, v, NULL);
    trainopt_adamw8bit_step_mp(&c, 1, block, n, ph, gh, d0, b0, d1, b1, &pr, NULL);
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
            case K_MP:
            case K_MP_SR:
                pr.param_mode = k == K_MP ? TRAINOPT_PARAM_NEAREST : TRAINOPT_PARAM_STOCHASTIC, pr.offset = (uint64_t)r * n;
                trainopt_adamw8bit_step_mp(&c, 10, block, n, ph, gh, d0, b0, d1, b1, &pr, NULL);
                break;
            case K_MP_TRAFFIC: q8_traffic_8bit_bf16(n, block, ph, gh, d0, d1, b0, b1); break;
            case K_DEQUANT: trainopt_dequantize_blockwise(TRAINOPT_Q8_SIGNED, block, n, c0, a0, m); break;
            default: break;
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
    printf("8-bit step, bf16 param+grad / its same-traffic loop: %.0f%% of the loop's speed (stochastic: %.0f%%)\n",
           100.0 * t[K_MP_TRAFFIC][rounds / 2] / t[K_MP][rounds / 2], 100.0 * t[K_MP_TRAFFIC][rounds / 2] / t[K_MP_SR][rounds / 2]);
    printf("8-bit step, bf16 param+grad vs fp32 adamw_step: %.2fx the fp32 step's speed (stochastic: %.2fx; goal 2x)\n",
           t[K_FP32][rounds / 2] / t[K_MP][rounds / 2], t[K_FP32][rounds / 2] / t[K_MP_SR][rounds / 2]);
    printf("8-bit step, bf16 param+grad vs fp32-param 8-bit step: %.2fx\n", t[K_Q8][rounds / 2] / t[K_MP][rounds / 2]);
    printf("state bytes per parameter: 8-bit %.5f (2 + 8/%zu), fp32 8\n", 2.0 + 8.0 / (double)block, block);
    return 0;
}
