/* bench/quant8_traffic.c - the same-traffic loops of bench/quant8.c: the bytes each step
   moves, with one cheap operation per element, compiled -O3 -march=native (what a user's
   best plain loop gets). Not trainopt code. */
#include <stddef.h>
#include <stdint.h>

void q8_traffic_8bit(size_t n, size_t block, float *param, const float *grad, uint8_t *c0, uint8_t *c1, float *a0,
                     float *a1);
void q8_traffic_fp32(size_t n, float *param, const float *grad, float *m, float *v);
void q8_traffic_8bit_bf16(size_t n, size_t block, uint16_t *param, const uint16_t *grad, uint8_t *c0, uint8_t *c1,
                          float *a0, float *a1);

/* The 8-bit AdamW step's traffic: param read and written, grad read, two code arrays read
   and written (16 bytes per element), and two absmax values per block. */
void q8_traffic_8bit(size_t n, size_t block, float *param, const float *grad, uint8_t *c0, uint8_t *c1, float *a0,
                     float *a1) {
    size_t b, i;
    for (b = 0; b < n; b += block) {
        const size_t e = n - b < block ? n : b + block;
        for (i = b; i < e; i++) {
            param[i] = param[i] + 1e-3f * grad[i];
            c0[i] = (uint8_t)(c0[i] + 1u);
            c1[i] = (uint8_t)(c1[i] ^ 1u);
        }
        a0[b / block] *= 0.5f;
        a1[b / block] *= 0.5f;
    }
}

/* The fp32 AdamW step's traffic: param, m and v read and written, grad read (28 bytes). */
void q8_traffic_fp32(size_t n, float *param, const float *grad, float *m, float *v) {
    size_t i;
    for (i = 0; i < n; i++) {
        param[i] = param[i] + 1e-3f * grad[i];
        m[i] = m[i] * 0.5f;
        v[i] = v[i] * 0.25f;
    }
}

/* The 8-bit AdamW step's traffic with bf16 param and grad: param read and written, grad
   read, two code arrays read and written (10 bytes per element), two absmax per block. */
void q8_traffic_8bit_bf16(size_t n, size_t block, uint16_t *param, const uint16_t *grad, uint8_t *c0, uint8_t *c1,
                          float *a0, float *a1) {
    size_t b, i;
    for (b = 0; b < n; b += block) {
        const size_t e = n - b < block ? n : b + block;
        for (i = b; i < e; i++) {
            param[i] = (uint16_t)(param[i] + (grad[i] >> 8));
            c0[i] = (uint8_t)(c0[i] + 1u);
            c1[i] = (uint8_t)(c1[i] ^ 1u);
        }
        a0[b / block] *= 0.5f;
        a1[b / block] *= 0.5f;
    }
}
