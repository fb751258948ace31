/* tests/fuzz/fuzz_quant8.c - 8-bit states: quantize then dequantize any floats with
   either map and any block size (valid or not), then three 8-bit steps of SGD, Adam,
   AdamW or Lion, plain or fused, on the codes and absmax the input gives (any bytes,
   any absmax, NaN and Inf included), with a state's codes sometimes overlapping the
   parameters. Outputs: the statuses, the count, the parameters, every code and absmax.
   See fuzz.h. */
#include "fuzz.h"
#include "trainopt.h"

FZ_CHECK_REACHED /* every public function has a fuzz path (fuzz.h) */

#include <stdlib.h>
#include <string.h>

void FZ_NAME(fz_quant8)(const uint8_t *data, size_t size, fz_out *out);

/* bf16/fp16 bits; fp16 NaNs keep the float's sign, which the hardware chose: one NaN
   (fuzz_optim.c's rule). */
static void fz_q8_put_halves(fz_out *out, const uint16_t *h, int f16, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        uint16_t v = h[i];
        if (f16 && (v & 0x7c00u) == 0x7c00u && (v & 0x3ffu)) v = 0x7e00u;
        fz_put(out, &v, sizeof v);
    }
}

/* Three _mp steps of the same kind (the input's trailing bytes; none: no call): param as
   bf16, fp16 or fp32 (3: refused), every parameter mode, grad in a dtype of its own, an
   fp16 copy, bf16 states (refused) now and then. Outputs: the statuses, the count, the
   parameters and the compensation or low halves, the copy, the states. */
static void fz_q8_mp(fz_in *in, unsigned kind, unsigned flags, const double *h, int64_t step, size_t block, size_t n,
                     const float *param, const float *grad, uint8_t **codes, float **absmax, size_t nb,
                     const trainopt_step_opts *op, fz_out *out) {
    const uint32_t m = fz_u8(in), m2 = fz_u8(in);
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    unsigned char *p = (unsigned char *)malloc(n ? 4 * n : 1), *g = (unsigned char *)malloc(n ? 4 * n : 1);
    uint16_t *aux = (uint16_t *)calloc(n ? n : 1, 2), *copy = (uint16_t *)calloc(n ? n : 1, 2);
    size_t nonfinite = 7;
    int k, s;
    if (!(m & 1)) {
        free(p), free(g), free(aux), free(copy);
        return;
    }
    pr.param_dtype = (trainopt_dtype)((m >> 1) & 3), pr.param_mode = (trainopt_param_mode)((m >> 3) & 3);
    pr.grad_dtype = (trainopt_dtype)((m >> 5) & 3);
    pr.state_dtype = (m2 & 7) == 0 ? TRAINOPT_BF16 : TRAINOPT_F32;
    pr.param_aux = pr.param_mode == TRAINOPT_PARAM_KAHAN || pr.param_mode == TRAINOPT_PARAM_SPLIT ? aux : NULL;
    pr.copy = m & 128 ? copy : NULL, pr.copy_dtype = TRAINOPT_F16;
    pr.seed = m2, pr.offset = m2 >> 3;
    memcpy(p, param, 4 * n), memcpy(g, grad, 4 * n); /* dtype 3 (refused) or fp32: as given */
    if (pr.param_dtype == TRAINOPT_BF16 || pr.param_dtype == TRAINOPT_F16)
        trainopt_convert(n, param, TRAINOPT_F32, p, pr.param_dtype, TRAINOPT_ROUND_NEAREST, 0, 0);
    if (pr.grad_dtype == TRAINOPT_BF16 || pr.grad_dtype == TRAINOPT_F16)
        trainopt_convert(n, grad, TRAINOPT_F32, g, pr.grad_dtype, TRAINOPT_ROUND_NEAREST, 0, 0);
    for (k = 0; k < 3; k++) {
        const int64_t t = step > INT64_MAX - k ? step : step + k;
        trainopt_status r;
        switch (kind) {
        case 0: {
            trainopt_sgd_config c;
            c.lr = h[0], c.momentum = h[1], c.dampening = h[2], c.weight_decay = h[3];
            c.nesterov = (flags >> 5) & 1, c.maximize = (flags >> 6) & 1;
            r = trainopt_sgd8bit_step_mp(&c, t, block, n, p, g, codes[0], absmax[0], &pr, op);
            break;
        }
        case 1:
        case 2: {
            trainopt_adam_config c;
            c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[4], c.weight_decay = h[3];
            c.amsgrad = (flags >> 7) & 1, c.maximize = (flags >> 6) & 1;
            r = (kind == 1 ? trainopt_adam8bit_step_mp : trainopt_adamw8bit_step_mp)(&c, t, block, n, p, g, codes[0], absmax[0],
                                                                                    codes[1], absmax[1], &pr, op);
            break;
        }
        default: {
            trainopt_lion_config c;
            c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.weight_decay = h[3], c.maximize = (flags >> 6) & 1;
            r = trainopt_lion8bit_step_mp(&c, t, block, n, p, g, codes[0], absmax[0], &pr, op);
            break;
        }
        }
        fz_put_status(out, r);
        pr.offset += n;
    }
    if (op && op->nonfinite) nonfinite = *op->nonfinite;
    fz_tag(out, "mp nonfinite");
    fz_put(out, &nonfinite, sizeof nonfinite);
    fz_tag(out, "mp param");
    if (pr.param_dtype == TRAINOPT_F32) fz_put_floats(out, (const float *)(void *)p, n);
    else fz_q8_put_halves(out, (const uint16_t *)(void *)p, pr.param_dtype == TRAINOPT_F16, n);
    fz_tag(out, "mp aux and copy");
    fz_q8_put_halves(out, aux, pr.param_dtype == TRAINOPT_F16, n);
    fz_q8_put_halves(out, copy, 1, n);
    for (s = 0; s < 2; s++) {
        fz_tag(out, s ? "mp state 1 codes" : "mp state 0 codes");
        fz_put(out, codes[s], n);
        fz_tag(out, "mp absmax");
        fz_put_floats(out, absmax[s], nb);
    }
    free(p), free(g), free(aux), free(copy);
}

void FZ_NAME(fz_quant8)(const uint8_t *data, size_t size, fz_out *out) {
    static const size_t blocks[] = {64, 128, 256, 4096, 96, 0};
    fz_in in;
    unsigned kind, flags, fused;
    size_t n, nb, block, i, nonfinite = 7;
    double h[5];
    int64_t step;
    float *param, *grad, *x, *absmax[2];
    uint8_t *codes[2];
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    int found_inf, k, s;

    in.p = data, in.n = size;
    kind = fz_u8(&in) % 5;
    flags = fz_u8(&in);
    fused = flags & 1;
    block = blocks[fz_u8(&in) % 6];
    n = fz_len(&in, 600);
    nb = (n + 63) / 64 + 1; /* enough absmax for the smallest block */
    for (i = 0; i < 5; i++) h[i] = i == 1 || i == 2 ? fz_unit(&in) : fz_double(&in);
    step = fz_i64(&in);
    o.grad_scale = fz_double(&in);
    found_inf = (fz_u8(&in) & 7) == 0;
    o.found_inf = &found_inf;
    o.nonfinite = flags & 2 ? &nonfinite : NULL;
    param = fz_alloc(n), grad = fz_alloc(n), x = fz_alloc(n);
    fz_fill(&in, param, n);
    fz_fill(&in, grad, n);
    fz_fill(&in, x, n);
    for (s = 0; s < 2; s++) {
        codes[s] = (uint8_t *)malloc(n ? n : 1);
        for (i = 0; i < n; i++) codes[s][i] = (uint8_t)fz_u8(&in);
        absmax[s] = fz_alloc(nb);
        fz_fill(&in, absmax[s], nb);
    }

    /* quantize x into state 1, decode it into x */
    fz_put_status(out, trainopt_quantize_blockwise((trainopt_q8_map)((flags >> 2) & 1), block, n, x, codes[1], absmax[1]));
    fz_put_status(out, trainopt_dequantize_blockwise((trainopt_q8_map)((flags >> 3) & 1), block, n, codes[1], absmax[1], x));

    for (k = 0; k < 3; k++) {
        const trainopt_step_opts *op = fused ? &o : NULL;
        const int64_t t = step > INT64_MAX - k ? step : step + k; /* no signed overflow at INT64_MAX */
        uint8_t *c0 = (flags & 16) && n > 8 ? (uint8_t *)param : codes[0]; /* overlap: refused */
        trainopt_status r;
        switch (kind) {
        case 0: {
            trainopt_sgd_config c;
            c.lr = h[0], c.momentum = h[1], c.dampening = h[2], c.weight_decay = h[3];
            c.nesterov = (flags >> 5) & 1, c.maximize = (flags >> 6) & 1;
            r = fused ? trainopt_sgd8bit_step_ex(&c, t, block, n, param, grad, c0, absmax[0], op)
                      : trainopt_sgd8bit_step(&c, t, block, n, param, grad, c0, absmax[0]);
            break;
        }
        case 1:
        case 2: {
            trainopt_adam_config c;
            c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[4], c.weight_decay = h[3];
            c.amsgrad = (flags >> 7) & 1, c.maximize = (flags >> 6) & 1;
            if (kind == 1)
                r = fused ? trainopt_adam8bit_step_ex(&c, t, block, n, param, grad, c0, absmax[0], codes[1], absmax[1], op)
                          : trainopt_adam8bit_step(&c, t, block, n, param, grad, c0, absmax[0], codes[1], absmax[1]);
            else
                r = fused ? trainopt_adamw8bit_step_ex(&c, t, block, n, param, grad, c0, absmax[0], codes[1], absmax[1], op)
                          : trainopt_adamw8bit_step(&c, t, block, n, param, grad, c0, absmax[0], codes[1], absmax[1]);
            break;
        }
        default: {
            trainopt_lion_config c;
            c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.weight_decay = h[3], c.maximize = (flags >> 6) & 1;
            r = fused ? trainopt_lion8bit_step_ex(&c, t, block, n, param, grad, c0, absmax[0], op)
                      : trainopt_lion8bit_step(&c, t, block, n, param, grad, c0, absmax[0]);
            break;
        }
        }
        fz_put_status(out, r);
    }
    fz_tag(out, "nonfinite");
    fz_put(out, &nonfinite, sizeof nonfinite);
    fz_tag(out, "param");
    fz_put_floats(out, param, n);
    fz_tag(out, "x");
    fz_put_floats(out, x, n);
    for (s = 0; s < 2; s++) {
        fz_tag(out, s ? "state 1 codes" : "state 0 codes");
        fz_put(out, codes[s], n);
        fz_tag(out, "absmax");
        fz_put_floats(out, absmax[s], nb);
    }
    fz_q8_mp(&in, kind, flags, h, step, block, n, param, grad, codes, absmax, nb, fused ? &o : NULL, out);
    free(param), free(grad), free(x);
    for (s = 0; s < 2; s++) free(codes[s]), free(absmax[s]);
}
