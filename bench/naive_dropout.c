/* bench/naive_dropout.c - dropout as a user writes it in C with a
   counter-based generator: Philox4x32-10 (Salmon et al. 2011, as in
   PyTorch's CUDA dropout and numpy's Philox), one 128-bit block per four
   elements, counter (offset + i) / 4, key = seed; element kept when its
   32-bit word >= p * 2^32. Compiled once per flag set like naive_optim.c. */
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

#define TOB_V(x) TOB_CAT(x, TOB_VARIANT)

static void philox(uint32_t c[4], uint32_t k0, uint32_t k1) {
    int r;
    for (r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1;
        c[1] = (uint32_t)p1;
        c[3] = (uint32_t)p0;
        c[0] = n0;
        c[2] = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
}

static void fwd(size_t n, const float *x, float *y, uint8_t *mask, float p, uint64_t seed, uint64_t offset) {
    const uint32_t threshold = (uint32_t)((double)p * 4294967296.0);
    const float scale = 1.0f / (1.0f - p);
    size_t i, j;
    for (i = 0; i < n / 8 + (n % 8 != 0); i++) mask[i] = 0;
    for (i = 0; i < n; i += 4) {
        uint64_t ctr = (offset + i) / 4;
        uint32_t c[4];
        c[0] = (uint32_t)ctr;
        c[1] = (uint32_t)(ctr >> 32);
        c[2] = c[3] = 0;
        philox(c, (uint32_t)seed, (uint32_t)(seed >> 32));
        for (j = 0; j < 4 && i + j < n; j++) {
            int keep = c[j] >= threshold;
            y[i + j] = keep ? x[i + j] * scale : 0.0f;
            mask[(i + j) / 8] |= (uint8_t)(keep << ((i + j) % 8));
        }
    }
}

static void bwd(size_t n, const float *dy, float *dx, const uint8_t *mask, float p) {
    const float scale = 1.0f / (1.0f - p);
    size_t i;
    for (i = 0; i < n; i++) dx[i] = (mask[i / 8] >> (i % 8)) & 1u ? dy[i] * scale : 0.0f;
}

const tob_naive_dropout TOB_V(tob_naive_dropout) = {fwd, bwd};
