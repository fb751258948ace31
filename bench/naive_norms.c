/* bench/naive_norms.c - layer, RMS and group normalization as a user writes them in
   C: llm.c's CPU layer norm (per row a float sum for the mean, a float sum of squared
   deviations, then (x - mean)*rstd*w + b; backward its two float row sums, then dx
   and += into dweight/dbias), and the same loops for RMS norm and group norm.
   Compiled once per flag set like naive_optim.c: without -ffast-math the float sums
   stay scalar. */
#include <math.h>
#include <stddef.h>

#include "bench.h"

#define TOB_V(x) TOB_CAT(x, TOB_VARIANT)

static void ln_fwd(size_t rows, size_t cols, const float *x, const float *w, const float *b, float *y, float *mean,
                   float *rstd, float eps) {
    size_t r, i;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols, m = 0.0f, v = 0.0f, s;
        for (i = 0; i < cols; i++) m += xr[i];
        m /= (float)cols;
        for (i = 0; i < cols; i++) v += (xr[i] - m) * (xr[i] - m);
        v /= (float)cols;
        s = 1.0f / sqrtf(v + eps);
        for (i = 0; i < cols; i++) yr[i] = (xr[i] - m) * s * w[i] + b[i];
        mean[r] = m;
        rstd[r] = s;
    }
}

static void ln_bwd(size_t rows, size_t cols, const float *x, const float *dy, const float *w, const float *mean,
                   const float *rstd, float *dx, float *dw, float *db) {
    size_t r, i;
    for (i = 0; i < cols; i++) dw[i] = db[i] = 0.0f;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *g = dy + r * cols, m = mean[r], s = rstd[r];
        float *d = dx + r * cols, dmean = 0.0f, dnorm = 0.0f;
        for (i = 0; i < cols; i++) {
            const float n = (xr[i] - m) * s, wg = w[i] * g[i];
            dmean += wg;
            dnorm += wg * n;
        }
        dmean /= (float)cols;
        dnorm /= (float)cols;
        for (i = 0; i < cols; i++) {
            const float n = (xr[i] - m) * s;
            db[i] += g[i];
            dw[i] += n * g[i];
            d[i] = s * (w[i] * g[i] - dmean - n * dnorm);
        }
    }
}

static void rms_fwd(size_t rows, size_t cols, const float *x, const float *w, float *y, float *rstd, float eps) {
    size_t r, i;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols, ss = 0.0f, s;
        for (i = 0; i < cols; i++) ss += xr[i] * xr[i];
        s = 1.0f / sqrtf(ss / (float)cols + eps);
        for (i = 0; i < cols; i++) yr[i] = xr[i] * s * w[i];
        rstd[r] = s;
    }
}

static void rms_bwd(size_t rows, size_t cols, const float *x, const float *dy, const float *w, const float *rstd,
                    float *dx, float *dw) {
    size_t r, i;
    for (i = 0; i < cols; i++) dw[i] = 0.0f;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *g = dy + r * cols, s = rstd[r];
        float *d = dx + r * cols, dot = 0.0f, k;
        for (i = 0; i < cols; i++) dot += w[i] * g[i] * xr[i];
        k = s * s * s * dot / (float)cols;
        for (i = 0; i < cols; i++) {
            dw[i] += g[i] * xr[i] * s;
            d[i] = s * w[i] * g[i] - xr[i] * k;
        }
    }
}

static void gn_fwd(size_t N, size_t C, size_t S, size_t G, const float *x, const float *w, const float *b, float *y,
                   float *mean, float *rstd, float eps) {
    const size_t cpg = C / G, len = cpg * S;
    size_t n, g, c, i;
    for (n = 0; n < N; n++)
        for (g = 0; g < G; g++) {
            const float *xg = x + (n * C + g * cpg) * S;
            float *yg = y + (n * C + g * cpg) * S, m = 0.0f, v = 0.0f, s;
            for (i = 0; i < len; i++) m += xg[i];
            m /= (float)len;
            for (i = 0; i < len; i++) v += (xg[i] - m) * (xg[i] - m);
            v /= (float)len;
            s = 1.0f / sqrtf(v + eps);
            for (c = 0; c < cpg; c++)
                for (i = 0; i < S; i++) yg[c * S + i] = (xg[c * S + i] - m) * s * w[g * cpg + c] + b[g * cpg + c];
            mean[n * G + g] = m;
            rstd[n * G + g] = s;
        }
}

static void gn_bwd(size_t N, size_t C, size_t S, size_t G, const float *x, const float *dy, const float *w,
                   const float *mean, const float *rstd, float *dx, float *dw, float *db) {
    const size_t cpg = C / G, len = cpg * S;
    size_t n, g, c, i;
    for (c = 0; c < C; c++) dw[c] = db[c] = 0.0f;
    for (n = 0; n < N; n++)
        for (g = 0; g < G; g++) {
            const size_t o = (n * C + g * cpg) * S;
            const float m = mean[n * G + g], s = rstd[n * G + g];
            float dmean = 0.0f, dnorm = 0.0f;
            for (c = 0; c < cpg; c++)
                for (i = 0; i < S; i++) {
                    const float xn = (x[o + c * S + i] - m) * s, wg = w[g * cpg + c] * dy[o + c * S + i];
                    dmean += wg;
                    dnorm += wg * xn;
                }
            dmean /= (float)len;
            dnorm /= (float)len;
            for (c = 0; c < cpg; c++)
                for (i = 0; i < S; i++) {
                    const float xn = (x[o + c * S + i] - m) * s, gv = dy[o + c * S + i];
                    db[g * cpg + c] += gv;
                    dw[g * cpg + c] += xn * gv;
                    dx[o + c * S + i] = s * (w[g * cpg + c] * gv - dmean - xn * dnorm);
                }
        }
}

const tob_naive_norms TOB_V(tob_naive_norms) = {ln_fwd, ln_bwd, rms_fwd, rms_bwd, gn_fwd, gn_bwd};
