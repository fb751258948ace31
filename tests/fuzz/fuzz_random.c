/* tests/fuzz/fuzz_random.c - the generator, dropout and the initializers: a seed, an
   offset anywhere in 2^64 (wrap-around included), a length, p, ranges, configs and
   fans from the input; dropout forward with or without a mask and in place, backward
   from the mask and by regeneration. Outputs: statuses, words, values, masks. */
#include "fuzz.h"
#include "trainopt.h"

FZ_CHECK_REACHED /* every public function has a fuzz path (fuzz.h) */

#include <stdlib.h>

/* The threaded forms on a serial hook that runs the pieces in reverse. */
static void fz_reverse_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    (void)ctx;
    while (count-- > 0) task(arg, count);
}
static const trainopt_threads fz_threads = {fz_reverse_for, NULL};

void FZ_NAME(fz_random)(const uint8_t *data, size_t size, fz_out *out);

void FZ_NAME(fz_random)(const uint8_t *data, size_t size, fz_out *out) {
    fz_in in;
    uint64_t seed, offset;
    size_t n, nb;
    unsigned flags;
    double p, lo, hi, mean, std, gain;
    size_t fan_in, fan_out;
    trainopt_kaiming_config kc;
    trainopt_trunc_normal_config tc;
    float *x, *y, *dx;
    uint32_t *w;
    uint8_t *mask;

    in.p = data, in.n = size;
    flags = fz_u8(&in);
    seed = fz_u64(&in);
    offset = flags & 1 ? (uint64_t)0 - 1 - fz_below(&in, 300) : fz_u64(&in) >> (fz_u8(&in) & 63);
    n = fz_len(&in, 700);
    p = fz_unit(&in);
    lo = fz_double(&in), hi = fz_double(&in);
    if (flags & 2) lo = -lo;
    mean = fz_double(&in), std = fz_double(&in), gain = fz_double(&in);
    fan_in = fz_below(&in, 200), fan_out = fz_below(&in, 200);
    kc.a = fz_double(&in), kc.mode = (trainopt_fan_mode)(fz_u8(&in) % 3), kc.nonlinearity = (trainopt_nonlinearity)(fz_u8(&in) % 7);
    tc.mean = fz_double(&in), tc.std = fz_double(&in), tc.a = -fz_double(&in), tc.b = fz_double(&in);
    nb = (n + 7) / 8;
    x = fz_alloc(n), y = fz_alloc(n), dx = fz_alloc(n), w = (uint32_t *)(void *)fz_alloc(n);
    mask = (uint8_t *)malloc(nb ? nb : 1);
    if (!mask) abort();
    memset(mask, 0x5a, nb);
    fz_fill(&in, x, n);

    fz_tag(out, "rand_u32");
    fz_put_status(out, trainopt_rand_u32(seed, offset, n, w));
    fz_put(out, w, n * sizeof *w);
    fz_tag(out, "rand_uniform");
    fz_put_status(out, trainopt_rand_uniform(seed, offset, n, lo, hi, y));
    fz_put_floats(out, y, n);
    fz_tag(out, "rand_normal");
    fz_put_status(out, trainopt_rand_normal(seed, offset, n, mean, std, y));
    fz_put_floats(out, y, n);
    fz_tag(out, "xavier");
    fz_put_status(out, flags & 4 ? trainopt_xavier_uniform(seed, offset, n, fan_in, fan_out, gain, y)
                                 : trainopt_xavier_normal(seed, offset, n, fan_in, fan_out, gain, y));
    fz_put_floats(out, y, n);
    fz_tag(out, "kaiming");
    fz_put_status(out, flags & 8 ? trainopt_kaiming_uniform(&kc, seed, offset, n, fan_in, fan_out, y)
                                 : trainopt_kaiming_normal(&kc, seed, offset, n, fan_in, fan_out, y));
    fz_put_floats(out, y, n);
    fz_tag(out, "trunc_normal");
    fz_put_status(out, trainopt_trunc_normal(&tc, seed, offset, n, y));
    fz_put_floats(out, y, n);
    fz_tag(out, "rand_u32_mt");
    fz_put_status(out, trainopt_rand_u32_mt(seed, offset, n, w, &fz_threads));
    fz_put(out, w, n * sizeof *w);
    fz_tag(out, "rand_uniform_mt");
    fz_put_status(out, trainopt_rand_uniform_mt(seed, offset, n, lo, hi, y, &fz_threads));
    fz_put_floats(out, y, n);
    fz_tag(out, "rand_normal_mt");
    fz_put_status(out, trainopt_rand_normal_mt(seed, offset, n, mean, std, y, &fz_threads));
    fz_put_floats(out, y, n);
    fz_tag(out, "xavier_mt");
    fz_put_status(out, flags & 4 ? trainopt_xavier_uniform_mt(seed, offset, n, fan_in, fan_out, gain, y, &fz_threads)
                                 : trainopt_xavier_normal_mt(seed, offset, n, fan_in, fan_out, gain, y, &fz_threads));
    fz_put_floats(out, y, n);
    fz_tag(out, "kaiming_mt");
    fz_put_status(out, flags & 8 ? trainopt_kaiming_uniform_mt(&kc, seed, offset, n, fan_in, fan_out, y, &fz_threads)
                                 : trainopt_kaiming_normal_mt(&kc, seed, offset, n, fan_in, fan_out, y, &fz_threads));
    fz_put_floats(out, y, n);
    fz_tag(out, "trunc_normal_mt");
    fz_put_status(out, trainopt_trunc_normal_mt(&tc, seed, offset, n, y, &fz_threads));
    fz_put_floats(out, y, n);

    fz_tag(out, "dropout_forward");
    memcpy(y, x, n * sizeof *x);
    fz_put_status(out, trainopt_dropout_forward(p, seed, offset, n, flags & 16 ? y : x, y, flags & 32 ? NULL : mask));
    fz_put_floats(out, y, n);
    fz_put(out, mask, nb);
    fz_tag(out, "dropout_backward mask");
    fz_put_status(out, trainopt_dropout_backward(p, seed, offset, n, x, dx, mask));
    fz_put_floats(out, dx, n);
    fz_tag(out, "dropout_backward regenerated");
    fz_put_status(out, trainopt_dropout_backward(p, seed, offset, n, x, dx, NULL));
    fz_put_floats(out, dx, n);
    fz_tag(out, "dropout_forward_mt");
    memcpy(y, x, n * sizeof *x);
    fz_put_status(out, trainopt_dropout_forward_mt(p, seed, offset, n, flags & 16 ? y : x, y, flags & 32 ? NULL : mask,
                                                   &fz_threads));
    fz_put_floats(out, y, n);
    fz_put(out, mask, nb);
    fz_tag(out, "dropout_backward_mt");
    fz_put_status(out, trainopt_dropout_backward_mt(p, seed, offset, n, x, dx, flags & 32 ? NULL : mask, &fz_threads));
    fz_put_floats(out, dx, n);
    fz_tag(out, "convert");
    { /* x to bf16/fp16 (nearest or stochastic, seed and offset from the input), back, and across */
        const trainopt_dtype lowp = flags & 64 ? TRAINOPT_F16 : TRAINOPT_BF16;
        const trainopt_rounding r = flags & 128 ? TRAINOPT_ROUND_STOCHASTIC : TRAINOPT_ROUND_NEAREST;
        uint16_t *h = (uint16_t *)(void *)w, *h2 = (uint16_t *)(void *)dx;
        fz_put_status(out, trainopt_convert(n, x, TRAINOPT_F32, h, lowp, r, seed, offset));
        fz_put(out, h, n * sizeof *h);
        fz_put_status(out, trainopt_convert(n, h, lowp, h2, lowp == TRAINOPT_F16 ? TRAINOPT_BF16 : TRAINOPT_F16, r, seed, offset));
        fz_put(out, h2, n * sizeof *h2);
        fz_put_status(out, trainopt_convert(n, h, lowp, y, TRAINOPT_F32, r, seed, offset));
        fz_put(out, y, n * sizeof *y); /* exact widening: NaN bits too */
        fz_put_status(out, trainopt_convert(n, x, TRAINOPT_F32, x, lowp, r, seed, offset)); /* in place: refused */
    }
    fz_tag(out, "dropout mask overlapping x");
    fz_put_status(out, trainopt_dropout_forward(p, seed, offset, n, x, y, n >= 8 ? (uint8_t *)(void *)x + 4 : mask));
    free(x), free(y), free(dx), free(w), free(mask);
}
