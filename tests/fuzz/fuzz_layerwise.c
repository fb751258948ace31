/* tests/fuzz/fuzz_layerwise.c - LAMB and LARS over a list of up to three tensors,
   Adafactor on one [rows][cols] parameter (factored, or unfactored), schedule-free AdamW
   (advance, step, to_eval, to_train): one configuration, three consecutive steps, plain
   or fused (_ex with a gradient scale, found_inf, a non-finite count), LAMB and LARS once
   more as _mt (and _mp_mt) on a reversing hook; a state list or
   factor left out, a tensor overlapping another, the gradient aliasing the parameters.
   Outputs: the statuses, the count, the scalar state, every array. See fuzz.h. */
#include "fuzz.h"
#include "trainopt.h"

FZ_CHECK_REACHED /* every public function has a fuzz path (fuzz.h) */

#include <stdlib.h>

void FZ_NAME(fz_layerwise)(const uint8_t *data, size_t size, fz_out *out);

enum { FZ_LW_T = 3 };

/* Schedule-free AdamW's multi-tensor step: after the second step, one on the whole list,
   on a hook that runs the pieces in reverse. */
static void fz_reverse_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    (void)ctx;
    while (count-- > 0) task(arg, count);
}
static const trainopt_threads fz_threads = {fz_reverse_for, NULL};

void FZ_NAME(fz_layerwise)(const uint8_t *data, size_t size, fz_out *out) {
    fz_in in;
    unsigned kind, flags, fused;
    size_t k, lens[FZ_LW_T], i, t, nonfinite = 7, rows, cols;
    double h[8];
    int64_t step, ival;
    float *p[FZ_LW_T], *g[FZ_LW_T], *s0[FZ_LW_T], *s1[FZ_LW_T], *gl[FZ_LW_T], *s0l[FZ_LW_T];
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    trainopt_sfadamw_state sf = TRAINOPT_SFADAMW_STATE_INIT;
    int found_inf, r;

    in.p = data, in.n = size;
    kind = fz_u8(&in) % 4;
    flags = fz_u8(&in);
    fused = flags & 1;
    k = 1 + fz_below(&in, FZ_LW_T);
    for (t = 0; t < FZ_LW_T; t++) lens[t] = t < k ? fz_len(&in, 300) : 0;
    rows = 1 + fz_below(&in, 8); /* Adafactor: lens[0] floats as [rows][lens[0] / rows] */
    cols = lens[0] / rows;
    for (i = 0; i < 8; i++) h[i] = i == 1 || i == 2 ? fz_unit(&in) : fz_double(&in);
    step = fz_i64(&in);
    ival = fz_i64(&in);
    o.grad_scale = fz_double(&in);
    found_inf = (fz_u8(&in) & 7) == 0;
    o.found_inf = &found_inf;
    o.nonfinite = flags & 2 ? &nonfinite : NULL;
    for (t = 0; t < FZ_LW_T; t++) {
        p[t] = fz_alloc(lens[t]), g[t] = fz_alloc(lens[t]), s0[t] = fz_alloc(lens[t]), s1[t] = fz_alloc(lens[t]);
        fz_fill(&in, p[t], lens[t]);
        fz_fill(&in, g[t], lens[t]);
        fz_fill(&in, s0[t], lens[t]);
        fz_fill(&in, s1[t], lens[t]);
        gl[t] = flags & 64 ? p[t] : g[t]; /* exact aliasing: refused with ERR_ALIAS */
        s0l[t] = s0[t];
    }
    if (flags & 128 && lens[0] >= 2) s0l[k - 1] = p[0] + lens[0] / 2; /* partial overlap: refused before any access */

    fz_tag(out, "statuses");
    for (r = 0; r < 3; r++) {
        trainopt_status st = TRAINOPT_OK;
        const trainopt_step_opts *op = fused ? &o : NULL;
        const int64_t tstep = step > INT64_MAX - r ? step : step + r;
        switch (kind) {
        case 0: {
            trainopt_lamb_config c;
            c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[3], c.eps_root = h[4], c.weight_decay = h[5];
            st = fused ? trainopt_lamb_step_ex(&c, tstep, k, lens, p, (const float *const *)gl, flags & 8 ? NULL : s0l, s1, op)
                       : trainopt_lamb_step(&c, tstep, k, lens, p, (const float *const *)gl, flags & 8 ? NULL : s0l, s1);
            if (r == 1) /* the threaded form, the same step again (every check and the same bits as _ex) */
                fz_put_status(out, trainopt_lamb_step_mt(&c, tstep, k, lens, p, (const float *const *)gl,
                                                         flags & 8 ? NULL : s0l, s1, op, &fz_threads));
            /* the mixed-precision step on the same buffers: bf16 Kahan parameters (the compensation in
               the second half of each fp32 param), fp16 grads, bf16 states; not with flag 128, whose
               state moved into a param may fit beside 16-bit tensors and run past its buffer */
            if (flags & 32 && !(flags & 128)) {
                trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
                void *aux[FZ_LW_T];
                for (t = 0; t < FZ_LW_T; t++) aux[t] = (uint16_t *)(void *)p[t] + lens[t];
                pr.param_dtype = TRAINOPT_BF16, pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.param_aux = aux;
                pr.grad_dtype = TRAINOPT_F16, pr.state_dtype = TRAINOPT_BF16;
                fz_put_status(out, trainopt_lamb_step_mp(&c, tstep, k, lens, (void *const *)p, (const void *const *)gl,
                                                         flags & 8 ? NULL : (void *const *)s0l, (void *const *)s1, &pr, op));
                if (r == 2)
                    fz_put_status(out, trainopt_lamb_step_mp_mt(&c, tstep, k, lens, (void *const *)p, (const void *const *)gl,
                                                                flags & 8 ? NULL : (void *const *)s0l, (void *const *)s1, &pr,
                                                                op, &fz_threads));
            }
            break;
        }
        case 1: {
            trainopt_lars_config c;
            c.lr = h[0], c.weight_decay = h[3], c.trust_coefficient = h[4], c.eps = h[5], c.momentum = h[1];
            c.nesterov = (flags >> 4) & 1;
            st = fused ? trainopt_lars_step_ex(&c, k, lens, p, (const float *const *)gl, flags & 8 ? NULL : s0l, op)
                       : trainopt_lars_step(&c, k, lens, p, (const float *const *)gl, flags & 8 ? NULL : s0l);
            if (r == 1) /* the threaded form, the same step again */
                fz_put_status(out, trainopt_lars_step_mt(&c, k, lens, p, (const float *const *)gl, flags & 8 ? NULL : s0l,
                                                         op, &fz_threads));
            /* mixed precision on the same buffers (not with flag 128, as LAMB's): bf16 stochastic
               parameters, bf16 grads and states, an fp16 copy in the second half of each grad buffer */
            if (flags & 32 && !(flags & 128)) {
                trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
                void *copy[FZ_LW_T];
                for (t = 0; t < FZ_LW_T; t++) copy[t] = (uint16_t *)(void *)g[t] + lens[t];
                pr.param_dtype = TRAINOPT_BF16, pr.param_mode = TRAINOPT_PARAM_STOCHASTIC, pr.grad_dtype = TRAINOPT_BF16;
                pr.state_dtype = TRAINOPT_BF16, pr.copy = copy, pr.copy_dtype = TRAINOPT_F16;
                pr.seed = (uint64_t)ival, pr.offset = (uint64_t)step;
                fz_put_status(out, trainopt_lars_step_mp(&c, k, lens, (void *const *)p, (const void *const *)gl,
                                                         flags & 8 ? NULL : (void *const *)s0l, &pr, op));
                if (r == 2)
                    fz_put_status(out, trainopt_lars_step_mp_mt(&c, k, lens, (void *const *)p, (const void *const *)gl,
                                                                flags & 8 ? NULL : (void *const *)s0l, &pr, op, &fz_threads));
            }
            break;
        }
        case 2: {
            trainopt_adafactor_config c;
            const int factored = !((flags >> 4) & 1);
            c.lr = h[0], c.beta2_decay = -h[1], c.eps1 = h[3], c.eps2 = h[4], c.d = 1.0 + h[5], c.weight_decay = h[6];
            c.maximize = (flags >> 5) & 1;
            /* factored: row_var in s0l[0] (rows <= lens[0] floats when cols > 0), col_var in s1[0] */
            {
                float *row_var = factored && !(flags & 8) ? s0l[0] : NULL, *col_var = factored ? s1[0] : NULL;
                float *variance = factored ? NULL : s0l[0];
                const size_t rws = cols ? rows : 0;
                st = fused ? trainopt_adafactor_step_ex(&c, tstep, rws, cols, p[0], gl[0], row_var, col_var, variance, op)
                           : trainopt_adafactor_step(&c, tstep, rws, cols, p[0], gl[0], row_var, col_var, variance);
                if (r == 1 && !(flags & 128)) { /* the list: the first tensor as above, the others [1][lens[t]] */
                    trainopt_adafactor_tensor list[FZ_LW_T];
                    for (t = 0; t < k; t++) {
                        list[t].param = p[t], list[t].grad = gl[t];
                        list[t].rows = t ? 1 : rws, list[t].cols = t ? lens[t] : cols;
                        list[t].row_var = t ? (factored ? s0l[t] : NULL) : row_var;
                        list[t].col_var = t ? (factored ? s1[t] : NULL) : col_var;
                        list[t].variance = t ? (factored ? NULL : s0l[t]) : variance;
                    }
                    fz_put_status(out, trainopt_adafactor_step_multi(&c, tstep, k, list, op, &fz_threads));
                }
                if (flags & 4) { /* the mixed-precision step on the same buffers read as bf16 (grad as fp16) */
                    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
                    pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_F16, pr.state_dtype = TRAINOPT_BF16;
                    pr.param_mode = TRAINOPT_PARAM_STOCHASTIC, pr.seed = (uint64_t)ival, pr.offset = (uint64_t)step;
                    fz_put_status(out, trainopt_adafactor_step_mp(&c, tstep, rws, cols, p[0], gl[0], row_var, col_var, variance,
                                                                  &pr, op));
                }
            }
            break;
        }
        default: {
            trainopt_sfadamw_config c;
            c.lr = h[0], c.beta1 = h[1], c.beta2 = h[2], c.eps = h[3], c.weight_decay = h[4], c.r = h[5];
            c.weight_lr_power = h[6], c.warmup_steps = ival;
            fz_put_status(out, trainopt_sfadamw_advance(&c, &sf));
            st = fused ? trainopt_sfadamw_step_ex(&c, &sf, lens[0], p[0], gl[0], s0l[0], s1[0], op)
                       : trainopt_sfadamw_step(&c, &sf, lens[0], p[0], gl[0], s0l[0], s1[0]);
            if (r == 2) {
                /* the real z: a z moved into param would run past its buffer where nothing overlaps */
                fz_put_status(out, trainopt_sfadamw_to_eval(&c, lens[0], p[0], s0[0], g[0]));
                fz_put_status(out, trainopt_sfadamw_to_train(&c, lens[0], g[0], s0[0], g[0]));
            }
            if (r == 1 && !(flags & 128)) { /* the list: every tensor (an overlap across tensors is the caller's to avoid) */
                trainopt_tensor list[FZ_LW_T];
                for (t = 0; t < k; t++) {
                    list[t].param = p[t], list[t].grad = gl[t], list[t].n = lens[t];
                    list[t].state[0] = s0l[t], list[t].state[1] = s1[t], list[t].state[2] = list[t].state[3] = NULL;
                }
                fz_put_status(out, trainopt_sfadamw_step_multi(&c, &sf, k, list, op, &fz_threads));
            }
            if (flags & 16) { /* the mixed-precision step on the same buffers read as bf16 (grad as fp16) */
                trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
                pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_F16, pr.state_dtype = TRAINOPT_BF16;
                pr.param_mode = TRAINOPT_PARAM_STOCHASTIC, pr.seed = (uint64_t)ival, pr.offset = (uint64_t)step;
                fz_put_status(out, trainopt_sfadamw_step_mp(&c, &sf, lens[0], p[0], gl[0], s0l[0], s1[0], &pr, op));
                if (r == 1 && !(flags & 128)) { /* and on the list, its offset advanced tensor by tensor */
                    trainopt_tensor_mp list[FZ_LW_T];
                    for (t = 0; t < k; t++) {
                        list[t].param = p[t], list[t].grad = gl[t], list[t].n = lens[t];
                        list[t].state[0] = s0l[t], list[t].state[1] = s1[t], list[t].state[2] = list[t].state[3] = NULL;
                    }
                    fz_put_status(out, trainopt_sfadamw_step_mp_multi(&c, &sf, k, list, &pr, op, &fz_threads));
                }
            }
            break;
        }
        }
        fz_put_status(out, st);
    }
    fz_tag(out, "nonfinite");
    fz_put(out, &nonfinite, sizeof nonfinite);
    fz_tag(out, "sfadamw state");
    fz_put(out, &sf.step, sizeof sf.step);
    fz_put_double(out, sf.lr_max);
    fz_put_double(out, sf.weight_sum);
    fz_put_double(out, sf.lr);
    fz_put_double(out, sf.ckp1);
    for (t = 0; t < FZ_LW_T; t++) {
        fz_tag(out, "param");
        fz_put_floats(out, p[t], lens[t]);
        fz_tag(out, "grad");
        fz_put_floats(out, g[t], lens[t]);
        fz_tag(out, "state 0");
        fz_put_floats(out, s0[t], lens[t]);
        fz_tag(out, "state 1");
        fz_put_floats(out, s1[t], lens[t]);
        free(p[t]), free(g[t]), free(s0[t]), free(s1[t]);
    }
}
