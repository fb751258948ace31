/* tests/whitebox.h - the few library internals the suites test directly, as plain
   functions of tests/whitebox.c. That unit is compiled once per backend with the
   backend's flags and TRAINOPT_STATIC (private copies of the implementation; what
   it does not call is only parsed), TO_NAME naming each copy per backend. The
   vector layer itself (trainopt__v_*, trainopt__vi_*, trainopt__popcount) needs no
   wrapper: it is trainopt_simd.h, which a suite includes with its backend flags. */
#ifndef TO_WHITEBOX_H
#define TO_WHITEBOX_H

#include "harness.h"
#include "trainopt.h"
#include "trainopt_simd.h"

/* y[i] = f(x[i]) for i < n through whole and partial vectors, f one of these
   (trainopt__v_exp, trainopt__v_log, trainopt__v_log1p, trainopt__v_erfinv). */
enum { TO_WB_EXP, TO_WB_LOG, TO_WB_LOG1P, TO_WB_ERFINV };
void TO_NAME(to_wb_apply)(int fn, const float *x, float *y, size_t n);
/* trainopt__v_sincos2pi: s[j], c[j] = sin, cos of 2 pi u 2^-24 for u = u0 + j * stride (mod 2^24), j < n. */
void TO_NAME(to_wb_sincos2pi)(uint32_t u0, uint32_t stride, float *s, float *c, size_t n);
/* trainopt__philox_key_init(key[0], key[1]) then trainopt__philox4x32(c, key, rounds). */
void TO_NAME(to_wb_philox4x32)(trainopt__vi c[4], const trainopt__vi key[2], int rounds);
double TO_NAME(to_wb_xavier_std)(size_t fan_in, size_t fan_out, double gain);
double TO_NAME(to_wb_kaiming_std)(const trainopt_kaiming_config *c, size_t fan_in, size_t fan_out);
/* trainopt__trunc_normal_scalars: the uniform interval [add, add + mul) erfinv maps to the cutoffs. */
typedef struct {
    float mul, add;
} to_wb_trunc_scalars;
void TO_NAME(to_wb_trunc_normal_scalars)(const trainopt_trunc_normal_config *c, to_wb_trunc_scalars *s);

/* The 8-bit encoder's fast path (trainopt__q8_encode_fast, AVX-512 only) on the floats whose
   bits are first + j * stride, j < n: code[j], and unsure[j] = 1 where it leaves the lane to the
   exact encoder. Returns 0 (and writes nothing) where the backend has no fast path. */
int TO_NAME(to_wb_q8_fast)(int is_signed, uint32_t first, uint32_t stride, size_t n, uint8_t *code, uint8_t *unsure);
/* The 8-bit decode of len codes both ways where the backend has the VBMI one and this CPU
   runs it: vbmi[] by trainopt__q8_dequantize_vbmi, lookup[] by trainopt__q8_dequantize_block
   (the vector layer's lookup). Returns 0 (and writes nothing) elsewhere. */
/* The 8-bit encode of one block of len floats both ways where the backend has the VBMI one
   and this CPU runs it: vbmi[] and *vbmi_absmax by the VBMI encoder (TRAINOPT__Q8_ENCODE_VBMI),
   plain[] and *plain_absmax by trainopt__q8_encode_block. Returns 0 (and writes nothing) elsewhere. */
int TO_NAME(to_wb_q8_encode_vbmi)(int is_signed, size_t len, const float *x, uint8_t *vbmi, float *vbmi_absmax, uint8_t *plain,
                                  float *plain_absmax);
int TO_NAME(to_wb_q8_decode_vbmi)(int is_signed, size_t len, const uint8_t *codes, float absmax, float *vbmi, float *lookup);

#endif
