/* bench/layerwise.h - what the layer-wise optimizers' benchmarks share: their
   configurations, the parameter shape, the bytes each moves per element, and the
   table of naive loops (naive_layerwise.c, one per compiler-flag variant). */
#ifndef TOB_LAYERWISE_H
#define TOB_LAYERWISE_H

#include <stddef.h>

/* LAMB and LARS run on one tensor of n elements (the trust ratio is per tensor);
   Adafactor on a [n / TOB_AF_COLS][TOB_AF_COLS] matrix; schedule-free AdamW elementwise. */
#define TOB_LAMB_LR 1e-3
#define TOB_LAMB_WD 1e-4
#define TOB_LARS_LR 0.1
#define TOB_LARS_WD 1e-4
#define TOB_LARS_COEF 0.001
#define TOB_LARS_MOMENTUM 0.9
#define TOB_AF_COLS 4096
#define TOB_SF_LR 0.0025

/* Bytes read + written per element, every pass counted (the same-traffic kernels move these):
   LAMB  pass 1 p g m v / m v (24), pass 2 p m v / p (16)
   LARS  pass 1 p g (8), pass 2 p g t / p t (20)
   Adafactor  RMS(p), the row and column sums and RMS(u) from the factors p g (8, one sweep
              since issue 16's second speed work; before it three: p, g, g, 12), update p g / p (12):
              20 (24 before, 28 before the first, with a sweep of its own for the column sums)
   schedule-free AdamW  p g z v / p z v (28) */
#define TOB_BYTES_LAMB 40.0
#define TOB_BYTES_LARS 28.0
#define TOB_BYTES_ADAFACTOR 20.0
#define TOB_BYTES_SFADAMW 28.0

typedef struct {
    void (*lamb)(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                 float wd, int step);
    void (*lars)(size_t n, float *p, const float *g, float *t, float lr, float wd, float coef, float momentum);
    void (*adafactor)(size_t rows, size_t cols, float *p, const float *g, float *row_var, float *col_var,
                      float *col_scratch, float lr, int step);
    void (*sfadamw)(size_t n, float *p, const float *g, float *z, float *v, float lr, float b1, float b2, float eps,
                    float ckp1);
} tob_naive_layerwise;

#endif
