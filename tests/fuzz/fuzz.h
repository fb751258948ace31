/* tests/fuzz/fuzz.h - shared by the differential fuzz targets (make fuzz).

   Each kernel family has one file, tests/fuzz/fuzz_<family>.c, compiled once per
   backend with -DFZ_BACKEND=<backend> and that backend's flags (as the tests are,
   see tests/harness.h): FZ_NAME(fz_<family>) becomes fz_<family>_<backend>, and
   -DTRAINOPT_SYMBOL_PREFIX=to_<backend>_ links it to that backend's copy of the
   library (tests/lib.c, compiled once per backend). It decodes lengths,
   offsets, hyperparameters, options and data from the fuzz input and appends what
   the kernels return and write to an fz_out. tests/fuzz/fuzz_main.c runs every
   backend this CPU can run on the same input and aborts when a backend's bytes
   differ from scalar's. Floats are stored with every NaN as 0x7fc00000 (NaN sign
   and payload differ between x86 and ARM; the library promises NaN-ness, not
   payloads, as the tests' to_bits_equal), everything else exactly.

   Decoding uses integer operations only, so each backend's copy (compiled with
   different flags) decodes the same values. */
#ifndef FZ_H
#define FZ_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FZ_CAT2(a, b) a##_##b
#define FZ_CAT(a, b) FZ_CAT2(a, b)
#ifdef FZ_BACKEND
#define FZ_NAME(x) FZ_CAT(x, FZ_BACKEND)
#endif

/* What one backend produced, with labels to say where a difference is. */
typedef struct {
    unsigned char *p;
    size_t len, cap;
    const char *tag[256];
    size_t tag_at[256];
    int ntags;
} fz_out;
void fz_tag(fz_out *o, const char *label); /* names the bytes that follow */
void fz_put(fz_out *o, const void *data, size_t bytes);
void fz_put_status(fz_out *o, int status);
void fz_put_floats(fz_out *o, const float *x, size_t n);
void fz_put_double(fz_out *o, double x);
/* Exactly n floats on the heap, so AddressSanitizer catches a read one past the end
   (a 1-byte block when n is 0). */
float *fz_alloc(size_t n);

/* The fuzz input, read front to back; reads past its end give zeros. */
typedef struct {
    const uint8_t *p;
    size_t n;
} fz_in;

static inline uint32_t fz_u8(fz_in *in) {
    if (in->n == 0) return 0;
    in->n--;
    return *in->p++;
}
static inline uint32_t fz_u32(fz_in *in) {
    uint32_t v = fz_u8(in);
    v |= fz_u8(in) << 8;
    v |= fz_u8(in) << 16;
    return v | fz_u8(in) << 24;
}
static inline uint64_t fz_u64(fz_in *in) {
    uint64_t lo = fz_u32(in);
    return lo | (uint64_t)fz_u32(in) << 32;
}
/* A number in [0, k), k > 0. */
static inline size_t fz_below(fz_in *in, size_t k) { return (size_t)(fz_u32(in) % (uint32_t)k); }

static inline float fz_f32_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline double fz_f64_bits(uint64_t u) {
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* Data: special values (zeros, ones, NaN, Inf, denormals, extremes) a tenth of the
   time, raw bit patterns a tenth, otherwise values of moderate size of either sign. */
static inline float fz_float(fz_in *in) {
    static const uint32_t special[] = {
        0x00000000u, 0x80000000u, 0x3f800000u, 0xbf800000u, 0x7fc00000u, 0xffc00000u, 0x7f800000u, 0xff800000u,
        0x00000001u, 0x807fffffu, 0x00800000u, 0x7f7fffffu, 0xff7fffffu, 0x7fa00001u, 0x42c80000u, 0xc2c80000u,
        0x4b800000u, 0x3f000000u, 0x34000000u, 0x501502f9u, 0x1e3ce508u, 0x42b20000u, 0xc2cc0000u, 0x40490fdbu};
    const uint32_t sel = fz_u8(in);
    if (sel < 24) return fz_f32_bits(special[sel]);
    if (sel < 48) return fz_f32_bits(fz_u32(in));
    {
        const uint32_t r = fz_u32(in); /* exponent 118..133: |x| in [2^-9, 2^7) */
        return fz_f32_bits((r & 0x80000000u) | ((118u + (r >> 23 & 15u)) << 23) | (r & 0x7fffffu));
    }
}
static inline void fz_fill(fz_in *in, float *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) x[i] = fz_float(in);
}

/* Hyperparameters: mostly valid-looking positive values, sometimes every kind of wrong. */
static inline double fz_double(fz_in *in) {
    static const double special[] = {0.0, -0.0, 1.0, 0.5, 0.9, 0.99, 0.999, 1e-8, 1e-3, 0.1, 2.0, 10.0, NAN, INFINITY,
                                     -INFINITY, -1.0, -1e-300, 1e300, 2.2250738585072014e-308, 0.99999999999999989,
                                     1.0000000000000002, 3.4028234663852886e38, 3.5e38, 1e-45, 0.3, 1e4, 25.0, 1e-5};
    const uint32_t sel = fz_u8(in);
    if (sel < sizeof special / sizeof special[0]) return special[sel];
    if (sel < 40) return fz_f64_bits(fz_u64(in));
    {
        const uint64_t r = fz_u64(in); /* positive, exponent 1011..1026: [2^-12, 2^4) */
        return fz_f64_bits((uint64_t)(1011u + (r >> 52 & 15u)) << 52 | (r & 0xfffffffffffffull));
    }
}
/* A probability-like value: mostly in [0, 1), sometimes a special (0, 1, NaN, -1, ...). */
static inline double fz_unit(fz_in *in) {
    const uint32_t sel = fz_u8(in);
    if (sel < 64) return fz_double(in);
    return (double)(fz_u64(in) >> 11) * (1.0 / 9007199254740992.0); /* exact: 53 bits times 2^-53 */
}
/* Steps, periods and counts: small values mostly, and the extremes. */
static inline int64_t fz_i64(fz_in *in) {
    static const int64_t special[] = {0, 1, 2, 3, -1, 10, 100, 1000, INT64_MAX, INT64_MIN, INT64_MAX - 1, 2147483648,
                                      -2, 5, 7, 64};
    const uint32_t sel = fz_u8(in);
    if (sel < 16) return special[sel];
    if (sel < 24) return (int64_t)fz_u64(in);
    return (int64_t)(fz_u32(in) % 200u);
}
/* A length in [0, max], biased to small and vector-width edges. */
static inline size_t fz_len(fz_in *in, size_t max) {
    static const size_t edge[] = {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65};
    const uint32_t sel = fz_u8(in);
    size_t n;
    if (sel < 128) n = edge[sel % 20];
    else n = fz_below(in, max + 1);
    return n > max ? max : n;
}

/* Every public function and the fuzz target that reaches it (directly, or through the
   function named). FZ_CHECK_REACHED, written in each target after trainopt.h, turns a
   function of TRAINOPT_KERNELS missing here into a compile error that names it
   (fz_reached_<name> undeclared): a kernel added to the list must get a fuzz path. */
#define FZ_REACHED(X)                                                                    \
    X(status_str, schedules) X(last_error, schedules) X(clear_error, schedules)         \
    X(backend, schedules) /* called; its answer differs by backend, so not compared */  \
    X(sgd_step, optim) X(sgd_step_ex, optim) X(adagrad_init, optim)                     \
    X(adagrad_step, optim) X(adagrad_step_ex, optim) X(rmsprop_step, optim)             \
    X(rmsprop_step_ex, optim) X(adam_step, optim) X(adamw_step, optim)                  \
    X(adam_step_ex, optim) X(adamw_step_ex, optim)                                      \
    X(nadam_mu_product, optim) X(nadam_step, optim) X(nadam_step_ex, optim)             \
    X(radam_step, optim) X(radam_step_ex, optim) X(adamax_step, optim)                  \
    X(adamax_step_ex, optim) X(adadelta_step, optim) X(adadelta_step_ex, optim)         \
    X(lion_step, optim) X(lion_step_ex, optim)                                          \
    X(sgd_step_mp, optim) X(adagrad_step_mp, optim) X(rmsprop_step_mp, optim)          \
    X(adam_step_mp, optim) X(adamw_step_mp, optim) X(radam_step_mp, optim)             \
    X(adamax_step_mp, optim) X(adadelta_step_mp, optim) X(lion_step_mp, optim)         \
    X(nadam_step_mp, optim)                                                             \
    X(quantize_blockwise, quant8) X(dequantize_blockwise, quant8) X(sgd8bit_step, quant8) \
    X(sgd8bit_step_ex, quant8) X(adam8bit_step, quant8) X(adam8bit_step_ex, quant8)     \
    X(adamw8bit_step, quant8) X(adamw8bit_step_ex, quant8) X(lion8bit_step, quant8)     \
    X(lion8bit_step_ex, quant8)                                                         \
    X(sgd8bit_step_mp, quant8) X(adam8bit_step_mp, quant8) X(adamw8bit_step_mp, quant8) \
    X(lion8bit_step_mp, quant8)                                                         \
    X(lr_step, schedules) X(lr_multistep, schedules) X(lr_exponential, schedules)       \
    X(lr_inverse_time, schedules) X(lr_polynomial, schedules) X(lr_linear, schedules)   \
    X(lr_constant, schedules) X(lr_cosine, schedules) X(lr_cosine_restarts, schedules)  \
    X(lr_warmup_cosine, schedules) X(lr_warmup_factor, schedules)                       \
    X(lr_onecycle, schedules) X(momentum_onecycle, schedules) X(lr_cyclic, schedules)   \
    X(momentum_cyclic, schedules) X(schedule_kind_name, schedules)                      \
    X(schedule_defaults, schedules) X(schedule_lr, schedules)                           \
    X(schedule_momentum, schedules) X(lr_join, schedules) X(schedule_parse_msg, schedules) \
    X(schedule_parse, schedules) X(schedule_parse_join, schedules)                      \
    X(plateau_init, schedules) X(plateau_step, schedules)                               \
    X(l1l2_penalty, losses) X(l1l2_grad, losses) X(clip_grad_value, losses)             \
    X(grad_unscale, losses) X(sum_squares, losses) X(grad_norm, losses)                 \
    X(clip_grad_norm, losses) X(mse_loss, losses) X(bce_with_logits, losses)            \
    X(softmax_cross_entropy, losses)                                                    \
    X(rand_u32, random) X(rand_uniform, random) X(rand_normal, random)                  \
    X(dropout_forward, random) X(dropout_backward, random)                              \
    X(convert, random)                                                                  \
    X(calculate_gain, schedules) X(calculate_fans, schedules)                           \
    X(xavier_uniform, random) X(xavier_normal, random) X(kaiming_uniform, random)       \
    X(kaiming_normal, random) X(trunc_normal, random)                                   \
    X(batchnorm_forward_train, batchnorm) X(batchnorm_forward_infer, batchnorm)         \
    X(batchnorm_backward, batchnorm) X(batchnorm_fold, batchnorm)                       \
    X(layernorm_forward, norms) X(layernorm_backward, norms)                            \
    X(rmsnorm_forward, norms) X(rmsnorm_backward, norms)                                \
    X(groupnorm_forward, norms) X(groupnorm_backward, norms) \
    X(lamb_step, layerwise) X(lamb_step_ex, layerwise) X(lars_step, layerwise)           \
    X(lars_step_ex, layerwise) X(adafactor_step, layerwise) X(adafactor_step_ex, layerwise) \
    X(sfadamw_advance, layerwise) X(sfadamw_step, layerwise) X(sfadamw_step_ex, layerwise) \
    X(sfadamw_to_eval, layerwise) X(sfadamw_to_train, layerwise) \
    X(sgd_step_multi, optim) X(adagrad_step_multi, optim) X(rmsprop_step_multi, optim)  \
    X(adam_step_multi, optim) X(adamw_step_multi, optim) X(sum_squares_mt, losses)      \
    X(grad_norm_mt, losses) X(clip_grad_norm_mt, losses)                                \
    X(nadam_step_multi, optim) X(radam_step_multi, optim) X(adamax_step_multi, optim)   \
    X(adadelta_step_multi, optim) X(lion_step_multi, optim)                             \
    X(sfadamw_step_multi, layerwise) X(sfadamw_step_mp, layerwise)                     \
    X(lamb_step_mp, layerwise) X(lars_step_mp, layerwise)                               \
    X(lamb_step_mt, layerwise) X(lars_step_mt, layerwise)                               \
    X(lamb_step_mp_mt, layerwise) X(lars_step_mp_mt, layerwise)                         \
    X(adafactor_step_mp, layerwise)                                                     \
    X(adafactor_step_multi, layerwise)                                                  \
    X(layernorm_forward_mt, norms) X(layernorm_backward_mt, norms)                      \
    X(rmsnorm_forward_mt, norms) X(rmsnorm_backward_mt, norms)                          \
    X(layernorm_forward_mp, norms) X(layernorm_backward_mp, norms)                      \
    X(rmsnorm_forward_mp, norms) X(rmsnorm_backward_mp, norms)                          \
    X(groupnorm_forward_mp, norms) X(groupnorm_backward_mp, norms)                      \
    X(groupnorm_forward_mt, norms) X(groupnorm_backward_mt, norms)                      \
    X(batchnorm_forward_train_mt, batchnorm) X(batchnorm_backward_mt, batchnorm)        \
    X(dropout_forward_mt, random) X(dropout_backward_mt, random)                        \
    X(mse_loss_mt, losses) X(bce_with_logits_mt, losses)                                \
    X(softmax_cross_entropy_mt, losses)                                                 \
    X(rand_u32_mt, random) X(rand_uniform_mt, random) X(rand_normal_mt, random)         \
    X(xavier_uniform_mt, random) X(xavier_normal_mt, random)                            \
    X(kaiming_uniform_mt, random) X(kaiming_normal_mt, random) X(trunc_normal_mt, random) \
    X(sgd_step_mp_multi, optim) X(adagrad_step_mp_multi, optim)                         \
    X(rmsprop_step_mp_multi, optim) X(adam_step_mp_multi, optim)                        \
    X(adamw_step_mp_multi, optim) X(nadam_step_mp_multi, optim)                         \
    X(radam_step_mp_multi, optim) X(adamax_step_mp_multi, optim)                        \
    X(adadelta_step_mp_multi, optim) X(lion_step_mp_multi, optim)                       \
    X(sfadamw_step_mp_multi, layerwise)                                                 \
    X(batchnorm_forward_infer_mt, batchnorm) X(clip_grad_value_mt, losses)              \
    X(grad_unscale_mt, losses)
#define FZ_REACHED_ENUM(name, target) fz_reached_##name,
#define FZ_KERNEL_CHECK(family, ret, name, params, args) fz_checked_##name = fz_reached_##name,
#define FZ_CHECK_REACHED                                   \
    enum { FZ_REACHED(FZ_REACHED_ENUM) fz_reached_count }; \
    enum { TRAINOPT_KERNELS(FZ_KERNEL_CHECK) fz_checked_count };

#endif
