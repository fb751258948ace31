/* tests/fuzz/fuzz_schedules.c - learning-rate schedules: every closed form with
   arguments from the input (NaN, Inf, negative, zero periods, t near INT64_MAX),
   OneCycle and Cyclic configs, ReduceLROnPlateau over a metric sequence, and the
   text parsers on the input's tail as a string. Pure double code, but compiled per
   backend like the rest: -mavx2 -mfma must not change a bit (contraction, libm
   calls). Outputs: every double, status and parser message. See fuzz.h. */
#include "fuzz.h"
#include "trainopt.h"

FZ_CHECK_REACHED /* every public function has a fuzz path (fuzz.h) */

#include <stdlib.h>

void FZ_NAME(fz_schedules)(const uint8_t *data, size_t size, fz_out *out);

void FZ_NAME(fz_schedules)(const uint8_t *data, size_t size, fz_out *out) {
    fz_in in;
    double d[6];
    int64_t i[4], t, ms[4];
    size_t j, len;
    trainopt_onecycle_config oc;
    trainopt_cyclic_config cc;
    trainopt_plateau_config pc;
    trainopt_plateau pl;
    trainopt_schedule s, join, parts[4];
    char text[256], msg[96];

    in.p = data, in.n = size;
    for (j = 0; j < 6; j++) d[j] = j % 2 ? fz_unit(&in) : fz_double(&in);
    for (j = 0; j < 4; j++) i[j] = fz_i64(&in), ms[j] = fz_i64(&in);
    t = fz_i64(&in);

    fz_tag(out, "closed forms");
    fz_put_double(out, trainopt_lr_step(d[0], t, i[0], d[1]));
    fz_put_double(out, trainopt_lr_multistep(d[0], t, ms, (size_t)(i[1] & 3), d[1]));
    fz_put_double(out, trainopt_lr_exponential(d[0], t, d[1]));
    fz_put_double(out, trainopt_lr_inverse_time(d[0], t, d[2], i[0], (int)(i[1] & 1)));
    fz_put_double(out, trainopt_lr_polynomial(d[0], t, i[0], d[2], d[4]));
    fz_put_double(out, trainopt_lr_linear(d[0], t, d[1], d[3], i[0]));
    fz_put_double(out, trainopt_lr_constant(d[0], t, d[1], i[0]));
    fz_put_double(out, trainopt_lr_cosine(d[0], t, i[0], d[4]));
    fz_put_double(out, trainopt_lr_cosine_restarts(d[0], t, i[0], i[1], d[4]));
    fz_put_double(out, trainopt_lr_warmup_cosine(d[0], t, i[0], i[2], d[2], d[4]));
    fz_put_double(out, trainopt_lr_warmup_factor(t, i[0], d[1]));
    fz_put_double(out, trainopt_calculate_gain((trainopt_nonlinearity)(i[3] & 7), d[2]));

    fz_tag(out, "onecycle");
    oc.max_lr = d[0], oc.total_steps = i[0], oc.pct_start = d[1], oc.anneal_strategy = (trainopt_anneal)(i[1] & 1);
    oc.div_factor = d[2], oc.final_div_factor = d[4], oc.three_phase = (int)(i[2] & 1);
    oc.base_momentum = d[3], oc.max_momentum = d[5];
    fz_put_double(out, trainopt_lr_onecycle(&oc, t)), fz_put_double(out, trainopt_momentum_onecycle(&oc, t));
    fz_tag(out, "cyclic");
    cc.base_lr = d[0], cc.max_lr = d[2], cc.step_size_up = i[0], cc.step_size_down = i[1];
    cc.mode = (trainopt_cyclic_mode)(i[2] & 3), cc.gamma = d[3], cc.base_momentum = d[1], cc.max_momentum = d[5];
    fz_put_double(out, trainopt_lr_cyclic(&cc, t)), fz_put_double(out, trainopt_momentum_cyclic(&cc, t));

    fz_tag(out, "plateau");
    pc.mode = (trainopt_plateau_mode)(i[3] & 1), pc.factor = d[1], pc.patience = i[1] & 7, pc.threshold = d[3] * 1e-3;
    pc.threshold_mode = (trainopt_threshold_mode)(i[3] >> 1 & 1), pc.cooldown = i[2] & 3, pc.min_lr = d[5] * 1e-3;
    pc.eps = 1e-8;
    memset(&pl, 0, sizeof pl); /* a refused init leaves it as it was: the same on every backend */
    fz_put_status(out, trainopt_plateau_init(&pl, &pc, d[0]));
    for (j = 0; j < 12; j++) fz_put_double(out, trainopt_plateau_step(&pl, (double)fz_float(&in)));

    /* The rest of the input is text for the parsers. */
    len = in.n < sizeof text - 1 ? in.n : sizeof text - 1;
    memcpy(text, in.p, len);
    text[len] = '\0';
    fz_tag(out, "parse");
    memset(&s, 0, sizeof s);
    fz_put_status(out, trainopt_schedule_parse_msg(text, &s, msg, sizeof msg));
    fz_put(out, msg, strlen(msg));
    for (j = 0; j < 4; j++) {
        const int64_t tj = j == 3 ? t : (int64_t)j * 7;
        fz_put_double(out, trainopt_schedule_lr(&s, tj)), fz_put_double(out, trainopt_schedule_momentum(&s, tj));
    }
    fz_tag(out, "parse_join");
    memset(&join, 0, sizeof join);
    memset(parts, 0, sizeof parts);
    fz_put_status(out, trainopt_schedule_parse_join(text, &join, parts, 4, msg, sizeof msg));
    fz_put(out, msg, strlen(msg));
    if (join.kind == TRAINOPT_SCHEDULE_JOIN && !(join.lr == join.lr)) join.lr = 0.1;
    for (j = 0; j < 4; j++) {
        const int64_t tj = j == 3 ? t : (int64_t)j * 11;
        fz_put_double(out, trainopt_schedule_lr(&join, tj));
    }
    if (join.kind == TRAINOPT_SCHEDULE_JOIN) fz_put_double(out, trainopt_lr_join(join.parts, join.milestone_count + 1,
                                                                                  join.milestones, t));

    /* The small functions, from values already read (the corpus keeps its meaning), and the
       error text, which must be the same on every backend. */
    fz_tag(out, "texts");
    trainopt_clear_error();
    fz_put(out, trainopt_last_error(), strlen(trainopt_last_error()) + 1);
    fz_put_status(out, trainopt_schedule_parse(text, &s));
    fz_put(out, trainopt_last_error(), strlen(trainopt_last_error()) + 1);
    fz_put(out, trainopt_status_str((trainopt_status)(i[3] % 12)), strlen(trainopt_status_str((trainopt_status)(i[3] % 12))));
    fz_put(out, trainopt_schedule_kind_name((trainopt_schedule_kind)(i[2] % 20)),
           strlen(trainopt_schedule_kind_name((trainopt_schedule_kind)(i[2] % 20))));
    s = trainopt_schedule_defaults((trainopt_schedule_kind)(i[2] % 20));
    s.lr = d[0];
    fz_put_double(out, trainopt_schedule_lr(&s, t));
    {
        size_t shape[4], fan_in = 0, fan_out = 0;
        for (j = 0; j < 4; j++) shape[j] = (size_t)ms[j];
        fz_put_status(out, trainopt_calculate_fans((size_t)((uint64_t)i[1] % 5), shape, &fan_in, &fan_out)); /* ndim 0..4 */
        fz_put(out, &fan_in, sizeof fan_in), fz_put(out, &fan_out, sizeof fan_out);
        fz_put(out, trainopt_last_error(), strlen(trainopt_last_error()) + 1);
    }
    if (trainopt_backend() == NULL) abort(); /* reached; which backend it names differs, so not compared */
}
