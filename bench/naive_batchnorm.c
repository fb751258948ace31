/* bench/naive_batchnorm.c - batch normalization as a user writes it in C:
   per channel, a float sum for the mean, a float sum of squared deviations
   for the variance, then y = x*a + b (PyTorch's own formula); backward the
   two sums then dx. Compiled once per flag set like naive_optim.c. Without
   -ffast-math the compiler may not reorder a float sum, so the NCHW sums stay
   scalar; in NHWC the inner loop runs across channels, one sum per channel,
   and vectorizes. */
#include <math.h>
#include <stddef.h>

#include "bench.h"

#define TOB_V(x) TOB_CAT(x, TOB_VARIANT)
#define MAXC 1024

static void fwd_nchw(size_t N, size_t C, size_t S, const float *x, const float *gamma, const float *beta, float *rm,
                     float *rv, float *y, float *save_mean, float *save_invstd, float eps, float momentum) {
    const float M = (float)(N * S);
    size_t n, c, s;
    for (c = 0; c < C; c++) {
        float sum = 0.0f, sq = 0.0f, mean, var, invstd, a, b;
        for (n = 0; n < N; n++)
            for (s = 0; s < S; s++) sum += x[(n * C + c) * S + s];
        mean = sum / M;
        for (n = 0; n < N; n++)
            for (s = 0; s < S; s++) {
                float d = x[(n * C + c) * S + s] - mean;
                sq += d * d;
            }
        var = sq / M;
        invstd = 1.0f / sqrtf(var + eps);
        a = gamma[c] * invstd;
        b = beta[c] - mean * a;
        for (n = 0; n < N; n++)
            for (s = 0; s < S; s++) y[(n * C + c) * S + s] = x[(n * C + c) * S + s] * a + b;
        rm[c] = (1.0f - momentum) * rm[c] + momentum * mean;
        rv[c] = (1.0f - momentum) * rv[c] + momentum * var * M / (M - 1.0f);
        save_mean[c] = mean;
        save_invstd[c] = invstd;
    }
}

static void fwd_nhwc(size_t N, size_t C, size_t S, const float *x, const float *gamma, const float *beta, float *rm,
                     float *rv, float *y, float *save_mean, float *save_invstd, float eps, float momentum) {
    const size_t rows = N * S;
    const float M = (float)rows;
    float sum[MAXC], sq[MAXC], a[MAXC], b[MAXC];
    size_t r, c;
    for (c = 0; c < C; c++) sum[c] = sq[c] = 0.0f;
    for (r = 0; r < rows; r++)
        for (c = 0; c < C; c++) sum[c] += x[r * C + c];
    for (c = 0; c < C; c++) sum[c] /= M; /* the mean */
    for (r = 0; r < rows; r++)
        for (c = 0; c < C; c++) {
            float d = x[r * C + c] - sum[c];
            sq[c] += d * d;
        }
    for (c = 0; c < C; c++) {
        float var = sq[c] / M, invstd = 1.0f / sqrtf(var + eps);
        a[c] = gamma[c] * invstd;
        b[c] = beta[c] - sum[c] * a[c];
        rm[c] = (1.0f - momentum) * rm[c] + momentum * sum[c];
        rv[c] = (1.0f - momentum) * rv[c] + momentum * var * M / (M - 1.0f);
        save_mean[c] = sum[c];
        save_invstd[c] = invstd;
    }
    for (r = 0; r < rows; r++)
        for (c = 0; c < C; c++) y[r * C + c] = x[r * C + c] * a[c] + b[c];
}

static void infer_nchw(size_t N, size_t C, size_t S, const float *x, const float *gamma, const float *beta,
                       const float *rm, const float *rv, float *y, float eps) {
    size_t n, c, s;
    for (c = 0; c < C; c++) {
        float a = gamma[c] / sqrtf(rv[c] + eps), b = beta[c] - rm[c] * a;
        for (n = 0; n < N; n++)
            for (s = 0; s < S; s++) y[(n * C + c) * S + s] = x[(n * C + c) * S + s] * a + b;
    }
}

static void infer_nhwc(size_t N, size_t C, size_t S, const float *x, const float *gamma, const float *beta,
                       const float *rm, const float *rv, float *y, float eps) {
    float a[MAXC], b[MAXC];
    size_t r, c;
    for (c = 0; c < C; c++) {
        a[c] = gamma[c] / sqrtf(rv[c] + eps);
        b[c] = beta[c] - rm[c] * a[c];
    }
    for (r = 0; r < N * S; r++)
        for (c = 0; c < C; c++) y[r * C + c] = x[r * C + c] * a[c] + b[c];
}

static void bwd_nchw(size_t N, size_t C, size_t S, const float *x, const float *dy, const float *gamma,
                     const float *mean, const float *invstd, float *dx, float *dgamma, float *dbeta) {
    const float M = (float)(N * S);
    size_t n, c, s;
    for (c = 0; c < C; c++) {
        const float mu = mean[c], is = invstd[c];
        float sdy = 0.0f, sdyx = 0.0f, k, mdy, gi;
        for (n = 0; n < N; n++)
            for (s = 0; s < S; s++) {
                size_t i = (n * C + c) * S + s;
                sdy += dy[i];
                sdyx += dy[i] * (x[i] - mu);
            }
        dgamma[c] = sdyx * is;
        dbeta[c] = sdy;
        k = sdyx * is * is / M;
        mdy = sdy / M;
        gi = gamma[c] * is;
        for (n = 0; n < N; n++)
            for (s = 0; s < S; s++) {
                size_t i = (n * C + c) * S + s;
                dx[i] = (dy[i] - mdy - (x[i] - mu) * k) * gi;
            }
    }
}

static void bwd_nhwc(size_t N, size_t C, size_t S, const float *x, const float *dy, const float *gamma,
                     const float *mean, const float *invstd, float *dx, float *dgamma, float *dbeta) {
    const size_t rows = N * S;
    const float M = (float)rows;
    float sdy[MAXC], sdyx[MAXC], k[MAXC], mdy[MAXC], gi[MAXC];
    size_t r, c;
    for (c = 0; c < C; c++) sdy[c] = sdyx[c] = 0.0f;
    for (r = 0; r < rows; r++)
        for (c = 0; c < C; c++) {
            sdy[c] += dy[r * C + c];
            sdyx[c] += dy[r * C + c] * (x[r * C + c] - mean[c]);
        }
    for (c = 0; c < C; c++) {
        dgamma[c] = sdyx[c] * invstd[c];
        dbeta[c] = sdy[c];
        k[c] = sdyx[c] * invstd[c] * invstd[c] / M;
        mdy[c] = sdy[c] / M;
        gi[c] = gamma[c] * invstd[c];
    }
    for (r = 0; r < rows; r++)
        for (c = 0; c < C; c++)
            dx[r * C + c] = (dy[r * C + c] - mdy[c] - (x[r * C + c] - mean[c]) * k[c]) * gi[c];
}

const tob_naive_bn TOB_V(tob_naive_bn) = {fwd_nchw, fwd_nhwc, infer_nchw, infer_nhwc, bwd_nchw, bwd_nhwc};
