/* tests/test_schedules.c - learning-rate schedules (trainopt.h, >>schedules).

   Backend-independent (pure double math, no vector code): compiled once, run once.

   Golden data: tests/golden/schedules.txt, written by tests/gen_schedules.py from
   PyTorch 1.13's torch.optim.lr_scheduler stepped as a training loop steps it (the
   lr for step t is get_last_lr() after t calls to scheduler.step()), and from the
   Keras and optax formulas as their documentation gives them. Tolerances, relative
   to the golden value:
     closed     1e-12  PyTorch's closed forms (_get_closed_form_lr(), or get_lr()
                       where it already is one: CosineAnnealingWarmRestarts,
                       CyclicLR, OneCycleLR). trainopt implements these.
     recursive  1e-9   what PyTorch's scheduler.step() computes for StepLR,
                       MultiStepLR, ExponentialLR, ConstantLR, LinearLR,
                       PolynomialLR, CosineAnnealingLR (chainable form), and
                       SequentialLR / ChainedScheduler built from them.
     formula    1e-12  Keras InverseTimeDecay and PolynomialDecay
                       (keras.io/api/optimizers/learning_rate_schedules/inverse_time_decay/,
                       .../polynomial_decay/) and optax warmup_cosine_decay_schedule
                       (optax/schedules/_schedule.py: linear_schedule, cosine_decay_schedule,
                       join_schedules), evaluated in double.
     plateau    bit for bit: ReduceLROnPlateau is the same IEEE operations.
   The same formulas are also written out plainly below (ref_keras_*, ref_optax_*)
   and checked without the golden file. */
#include "harness.h"
#include "trainopt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL_CLOSED 1e-12
#define TOL_RECURSIVE 1e-9
#define TOL_FORMULA 1e-12

static int rel_ok(double got, double want, double tol) {
    if (want != want) return got != got;
    if (isinf(want)) return got == want;
    return fabs(got - want) <= tol * fabs(want);
}
static double rel_err(double got, double want) {
    if (got == want) return 0.0;
    if (want == 0.0 || !isfinite(want) || !isfinite(got)) return INFINITY;
    return fabs(got - want) / fabs(want);
}

#define CHECK_CLOSE(t, got, want, tol, ...)                                                      \
    do {                                                                                         \
        double g_ = (got), w_ = (want);                                                          \
        if (!rel_ok(g_, w_, (tol))) {                                                            \
            char where_[160];                                                                    \
            snprintf(where_, sizeof where_, __VA_ARGS__);                                        \
            to_fail((t), "%s: got %.17g, want %.17g (rel err %.3g > %.3g)", where_, g_, w_,      \
                    rel_err(g_, w_), (double)(tol));                                             \
        }                                                                                        \
    } while (0)
#define CHECK_EQ(t, got, want, ...) CHECK_CLOSE(t, got, want, 0.0, __VA_ARGS__)
#define CHECK_NAN(t, v, what)                                                                    \
    do {                                                                                         \
        double v_ = (v);                                                                         \
        if (v_ == v_) to_fail((t), "%s: got %.17g, want NaN", (what), v_);                       \
    } while (0)

/* ---- golden file reader ---------------------------------------------------------- */

typedef struct {
    char *text; /* NUL-terminated copy; lines are cut in place */
    char *at;
} golden;

static int golden_open(to_ctx *t, golden *g) {
    size_t len;
    void *raw = to_read_golden(t, "schedules.txt", &len);
    if (!raw) return 0;
    g->text = (char *)malloc(len + 1);
    if (!g->text) {
        free(raw);
        to_fail(t, "out of memory");
        return 0;
    }
    memcpy(g->text, raw, len);
    g->text[len] = '\0';
    g->at = g->text;
    free(raw);
    return 1;
}

static char *golden_line(golden *g) {
    char *line = g->at, *nl;
    if (!*line) return NULL;
    nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        g->at = nl + 1;
    } else {
        g->at = line + strlen(line);
    }
    return line;
}

/* Reads n numbers that follow, across lines. */
static int golden_numbers(golden *g, double *out, size_t n) {
    size_t i = 0;
    while (i < n) {
        char *line = golden_line(g), *p, *end;
        if (!line) return 0;
        p = line;
        for (;;) {
            double v = strtod(p, &end);
            if (end == p) break;
            if (i == n) return 0;
            out[i++] = v;
            p = end;
        }
    }
    return 1;
}

/* The public function for s's kind, called directly (so the tagged evaluator is
   checked against the functions a user calls, and those against PyTorch). NaN
   lr in s means lr. */
static double direct_lr(const trainopt_schedule *s, double lr, int64_t t) {
    double v;
    switch (s->kind) {
    case TRAINOPT_SCHEDULE_FIXED: v = lr; break;
    case TRAINOPT_SCHEDULE_STEP: v = trainopt_lr_step(lr, t, s->step_size, s->gamma); break;
    case TRAINOPT_SCHEDULE_MULTISTEP: v = trainopt_lr_multistep(lr, t, s->milestones, s->milestone_count, s->gamma); break;
    case TRAINOPT_SCHEDULE_EXPONENTIAL: v = trainopt_lr_exponential(lr, t, s->gamma); break;
    case TRAINOPT_SCHEDULE_INVERSE_TIME:
        v = trainopt_lr_inverse_time(lr, t, s->decay_rate, s->decay_steps, s->staircase);
        break;
    case TRAINOPT_SCHEDULE_POLYNOMIAL: v = trainopt_lr_polynomial(lr, t, s->total_iters, s->power, s->end_lr); break;
    case TRAINOPT_SCHEDULE_LINEAR: v = trainopt_lr_linear(lr, t, s->start_factor, s->end_factor, s->total_iters); break;
    case TRAINOPT_SCHEDULE_CONSTANT: v = trainopt_lr_constant(lr, t, s->factor, s->total_iters); break;
    case TRAINOPT_SCHEDULE_COSINE: v = trainopt_lr_cosine(lr, t, s->t_max, s->eta_min); break;
    case TRAINOPT_SCHEDULE_COSINE_RESTARTS: v = trainopt_lr_cosine_restarts(lr, t, s->t_0, s->t_mult, s->eta_min); break;
    case TRAINOPT_SCHEDULE_WARMUP_COSINE:
        v = trainopt_lr_warmup_cosine(lr, t, s->warmup_steps, s->decay_steps, s->init_lr, s->end_lr);
        break;
    case TRAINOPT_SCHEDULE_ONECYCLE: {
        trainopt_onecycle_config c = TRAINOPT_ONECYCLE_DEFAULTS;
        c.max_lr = lr, c.total_steps = s->total_steps, c.pct_start = s->pct_start, c.anneal_strategy = s->anneal_strategy;
        c.div_factor = s->div_factor, c.final_div_factor = s->final_div_factor, c.three_phase = s->three_phase;
        v = trainopt_lr_onecycle(&c, t);
        break;
    }
    case TRAINOPT_SCHEDULE_CYCLIC: {
        trainopt_cyclic_config c = TRAINOPT_CYCLIC_DEFAULTS;
        c.base_lr = lr, c.max_lr = s->max_lr, c.step_size_up = s->step_size_up, c.step_size_down = s->step_size_down;
        c.mode = s->mode, c.gamma = s->gamma;
        v = trainopt_lr_cyclic(&c, t);
        break;
    }
    default: return NAN;
    }
    return v * trainopt_lr_warmup_factor(t, s->warmup_iters, s->warmup_start_factor);
}

static double direct_momentum(const trainopt_schedule *s, int64_t t) {
    if (s->kind == TRAINOPT_SCHEDULE_ONECYCLE) {
        trainopt_onecycle_config c = TRAINOPT_ONECYCLE_DEFAULTS;
        c.max_lr = s->lr, c.total_steps = s->total_steps, c.pct_start = s->pct_start, c.anneal_strategy = s->anneal_strategy;
        c.div_factor = s->div_factor, c.final_div_factor = s->final_div_factor, c.three_phase = s->three_phase;
        c.base_momentum = s->base_momentum, c.max_momentum = s->max_momentum;
        return trainopt_momentum_onecycle(&c, t);
    }
    if (s->kind == TRAINOPT_SCHEDULE_CYCLIC) {
        trainopt_cyclic_config c = TRAINOPT_CYCLIC_DEFAULTS;
        c.base_lr = s->lr, c.max_lr = s->max_lr, c.step_size_up = s->step_size_up, c.step_size_down = s->step_size_down;
        c.mode = s->mode, c.gamma = s->gamma, c.base_momentum = s->base_momentum, c.max_momentum = s->max_momentum;
        return trainopt_momentum_cyclic(&c, t);
    }
    return NAN;
}

/* Every lr/momentum record: parse its spec, evaluate every t, compare. */
static void test_golden_pytorch(to_ctx *t) {
    golden g;
    char *line;
    int records = 0, forms[3] = {0, 0, 0};
    double worst[3] = {0, 0, 0};
    static const char *const form_names[3] = {"closed", "recursive", "formula"};
    if (!golden_open(t, &g)) return;
    while ((line = golden_line(&g)) != NULL) {
        char kind[16], form[16], name[64];
        int n, used, f;
        double *want;
        trainopt_schedule s, parts[8];
        char msg[256];
        trainopt_status st;
        int64_t i;
        if (line[0] == '#' || strncmp(line, "plateau ", 8) == 0) continue;
        if (sscanf(line, "%15s %15s %63s %d %n", kind, form, name, &n, &used) != 4 || n <= 0) {
            if (line[0] && !(line[0] == '-' || (line[0] >= '0' && line[0] <= '9') || line[0] == 'n' || line[0] == 'i'))
                to_fail(t, "malformed golden line: %.80s", line);
            continue;
        }
        for (f = 0; f < 3 && strcmp(form, form_names[f]) != 0; f++) {}
        if (f == 3) {
            to_fail(t, "%s: unknown form %s", name, form);
            continue;
        }
        want = (double *)malloc((size_t)n * sizeof *want);
        if (!want) return;
        st = trainopt_schedule_parse_join(line + used, &s, parts, 8, msg, sizeof msg);
        if (st != TRAINOPT_OK) {
            to_fail(t, "%s: cannot parse \"%s\": %s", name, line + used, msg);
            golden_numbers(&g, want, (size_t)n);
            free(want);
            continue;
        }
        if (!golden_numbers(&g, want, (size_t)n)) {
            to_fail(t, "%s: golden record cut short", name);
            free(want);
            break;
        }
        records++;
        forms[f]++;
        for (i = 0; i < n; i++) {
            int mom = strcmp(kind, "momentum") == 0;
            double got = mom ? trainopt_schedule_momentum(&s, i) : trainopt_schedule_lr(&s, i);
            double tol = f == 0 ? TOL_CLOSED : f == 1 ? TOL_RECURSIVE : TOL_FORMULA;
            double e = rel_err(got, want[i]);
            if (e > worst[f]) worst[f] = e;
            CHECK_CLOSE(t, got, want[i], tol, "%s %s %s, t = %lld / %d", kind, form, name, (long long)i, n);
            if (s.kind != TRAINOPT_SCHEDULE_JOIN) {
                double d = mom ? direct_momentum(&s, i) : direct_lr(&s, s.lr, i);
                CHECK_EQ(t, d, got, "%s %s: direct call vs trainopt_schedule_%s, t = %lld", kind, name,
                         mom ? "momentum" : "lr", (long long)i);
            }
        }
        free(want);
    }
    free(g.text);
    TO_CHECK(t, records >= 80 && forms[0] >= 40 && forms[1] >= 20 && forms[2] >= 9,
             "too few golden records: %d (closed %d, recursive %d, formula %d)", records, forms[0], forms[1], forms[2]);
    printf("  schedules: %d golden records; worst relative error: closed %.2g, recursive %.2g, formula %.2g\n", records,
           worst[0], worst[1], worst[2]);
}

static void test_golden_plateau(to_ctx *t) {
    golden g;
    char *line;
    int runs = 0;
    if (!golden_open(t, &g)) return;
    while ((line = golden_line(&g)) != NULL) {
        char name[64], mode[8], tmode[8];
        int n, e;
        long long patience, cooldown;
        trainopt_plateau_config c = TRAINOPT_PLATEAU_DEFAULTS;
        trainopt_plateau p;
        double lr0, *rows;
        if (strncmp(line, "plateau ", 8) != 0) continue;
        if (sscanf(line + 8, "%63s %d %7s %7s %lf %lld %lf %lld %lf %lf %lf", name, &n, mode, tmode, &c.factor, &patience,
                   &c.threshold, &cooldown, &c.min_lr, &c.eps, &lr0) != 11 || n <= 0) {
            to_fail(t, "malformed plateau line: %.80s", line);
            continue;
        }
        c.mode = strcmp(mode, "max") == 0 ? TRAINOPT_PLATEAU_MAX : TRAINOPT_PLATEAU_MIN;
        c.threshold_mode = strcmp(tmode, "abs") == 0 ? TRAINOPT_THRESHOLD_ABS : TRAINOPT_THRESHOLD_REL;
        c.patience = patience;
        c.cooldown = cooldown;
        memset(&p, 0, sizeof p);
        rows = (double *)malloc(2 * (size_t)n * sizeof *rows);
        if (!rows) return;
        if (!golden_numbers(&g, rows, 2 * (size_t)n)) {
            to_fail(t, "%s: golden record cut short", name);
            free(rows);
            break;
        }
        runs++;
        if (to_expect_status(t, trainopt_plateau_init(&p, &c, lr0), TRAINOPT_OK, name)) {
            int reductions = 0;
            for (e = 0; e < n; e++) {
                double before = p.lr, got = trainopt_plateau_step(&p, rows[2 * e]);
                reductions += got != before;
                CHECK_EQ(t, got, rows[2 * e + 1], "%s: epoch %d / %d (metric %.17g)", name, e + 1, n, rows[2 * e]);
            }
            TO_CHECK(t, reductions > 0, "%s: the lr never changed, so the run tests little", name);
            TO_CHECK(t, p.last_epoch == n, "%s: last_epoch %lld after %d steps", name, (long long)p.last_epoch, n);
        }
        free(rows);
    }
    free(g.text);
    TO_CHECK(t, runs >= 6, "only %d plateau runs in the golden file", runs);
}

/* ---- Keras and optax, from their documented formulas, written plainly ---------------- */

/* keras.io/api/optimizers/learning_rate_schedules/inverse_time_decay/:
   initial_learning_rate / (1 + decay_rate * step / decay_step), floor(step / decay_step) when staircase */
static double ref_keras_inverse_time(double lr, double rate, double steps, int staircase, double step) {
    double p = staircase ? floor(step / steps) : step / steps;
    return lr / (1 + rate * p);
}
/* keras.io/api/optimizers/learning_rate_schedules/polynomial_decay/:
   step = min(step, decay_steps); (lr - end) * (1 - step / decay_steps) ^ power + end */
static double ref_keras_polynomial(double lr, double steps, double end, double power, double step) {
    if (step > steps) step = steps;
    return (lr - end) * pow(1 - step / steps, power) + end;
}
/* optax warmup_cosine_decay_schedule (optax/schedules/_schedule.py): linear_schedule(init, peak,
   warmup) joined at warmup with cosine_decay_schedule(peak, decay - warmup, alpha = end / peak). */
static double ref_optax_warmup_cosine(double init, double peak, double warmup, double decay, double end, double step) {
    double d = decay - warmup, count, c, alpha;
    if (step < warmup) return (init - peak) * (1 - step / warmup) + peak;
    count = step - warmup < d ? step - warmup : d;
    c = 0.5 * (1 + cos(3.141592653589793 * count / d));
    alpha = peak == 0 ? 0 : end / peak;
    return peak * ((1 - alpha) * c + alpha);
}

static void test_keras_optax_formulas(to_ctx *t) {
    static const double rates[] = {0.0, 0.05, 0.5, 3.0};
    static const int64_t steps[] = {1, 3, 100};
    static const double powers[] = {0.0, 0.5, 1.0, 2.0, 3.5};
    static const int64_t warmups[][2] = {{0, 1}, {0, 100}, {1, 2}, {10, 300}, {99, 100}, {250, 1000}};
    size_t a, b;
    int64_t s;
    for (a = 0; a < sizeof rates / sizeof rates[0]; a++)
        for (b = 0; b < sizeof steps / sizeof steps[0]; b++)
            for (s = 0; s < 1200; s += 7) {
                int st;
                for (st = 0; st < 2; st++)
                    CHECK_CLOSE(t, trainopt_lr_inverse_time(0.1, s, rates[a], steps[b], st),
                                ref_keras_inverse_time(0.1, rates[a], (double)steps[b], st, (double)s), TOL_FORMULA,
                                "inverse_time rate %g steps %lld staircase %d t %lld", rates[a], (long long)steps[b], st,
                                (long long)s);
            }
    for (a = 0; a < sizeof powers / sizeof powers[0]; a++)
        for (b = 0; b < sizeof steps / sizeof steps[0]; b++)
            for (s = 0; s < 300; s++) {
                CHECK_CLOSE(t, trainopt_lr_polynomial(0.1, s, steps[b], powers[a], 1e-4),
                            ref_keras_polynomial(0.1, (double)steps[b], 1e-4, powers[a], (double)s), TOL_FORMULA,
                            "polynomial power %g steps %lld t %lld", powers[a], (long long)steps[b], (long long)s);
                /* end_lr 0 is PyTorch's PolynomialLR closed form: base * (1 - min(t, T) / T)^power */
                CHECK_CLOSE(t, trainopt_lr_polynomial(0.1, s, steps[b], powers[a], 0.0),
                            0.1 * pow(1.0 - (double)(s < steps[b] ? s : steps[b]) / (double)steps[b], powers[a]),
                            TOL_CLOSED, "PolynomialLR power %g total %lld t %lld", powers[a], (long long)steps[b],
                            (long long)s);
            }
    for (a = 0; a < sizeof warmups / sizeof warmups[0]; a++)
        for (s = 0; s < 1300; s += 3) {
            CHECK_CLOSE(t, trainopt_lr_warmup_cosine(0.3, s, warmups[a][0], warmups[a][1], 0.01, 1e-3),
                        ref_optax_warmup_cosine(0.01, 0.3, (double)warmups[a][0], (double)warmups[a][1], 1e-3, (double)s),
                        TOL_FORMULA, "warmup_cosine warmup %lld decay %lld t %lld", (long long)warmups[a][0],
                        (long long)warmups[a][1], (long long)s);
        }
}

/* ---- edge cases ------------------------------------------------------------------ */

static void test_t_zero(to_ctx *t) {
    trainopt_onecycle_config oc = TRAINOPT_ONECYCLE_DEFAULTS;
    trainopt_cyclic_config cy = TRAINOPT_CYCLIC_DEFAULTS;
    const int64_t ms0[] = {0, 10};
    oc.max_lr = 0.5, oc.total_steps = 100;
    cy.base_lr = 0.01, cy.max_lr = 0.1;
    CHECK_EQ(t, trainopt_lr_step(0.1, 0, 10, 0.5), 0.1, "step");
    CHECK_EQ(t, trainopt_lr_multistep(0.1, 0, ms0 + 1, 1, 0.5), 0.1, "multistep");
    CHECK_EQ(t, trainopt_lr_multistep(0.1, 0, ms0, 2, 0.5), 0.05, "multistep with a milestone at 0");
    CHECK_EQ(t, trainopt_lr_exponential(0.1, 0, 0.9), 0.1, "exponential");
    CHECK_EQ(t, trainopt_lr_exponential(0.1, 0, 0.0), 0.1, "exponential gamma 0 (0^0 = 1)");
    CHECK_EQ(t, trainopt_lr_inverse_time(0.1, 0, 5.0, 3, 0), 0.1, "inverse_time");
    CHECK_EQ(t, trainopt_lr_polynomial(0.1, 0, 10, 2.0, 0.01), 0.1, "polynomial");
    CHECK_EQ(t, trainopt_lr_linear(0.1, 0, 0.25, 1.0, 10), 0.1 * 0.25, "linear");
    CHECK_EQ(t, trainopt_lr_constant(0.1, 0, 0.25, 10), 0.1 * 0.25, "constant");
    CHECK_EQ(t, trainopt_lr_cosine(0.1, 0, 10, 0.001), 0.1, "cosine");
    CHECK_EQ(t, trainopt_lr_cosine_restarts(0.1, 0, 10, 2, 0.001), 0.1, "cosine_restarts");
    /* optax's (init - peak) * 1 + peak: init_lr up to rounding (0.0020000000000000018) */
    CHECK_CLOSE(t, trainopt_lr_warmup_cosine(0.1, 0, 5, 50, 0.002, 0.0), 0.002, 1e-15, "warmup_cosine: init_lr");
    CHECK_EQ(t, trainopt_lr_warmup_cosine(0.1, 0, 0, 50, 0.002, 0.0), 0.1, "warmup_cosine, no warmup: peak");
    /* PyTorch's end + (start - end) / 2 * 2, as it computes it: 0.020000000000000018 */
    CHECK_CLOSE(t, trainopt_lr_onecycle(&oc, 0), 0.5 / 25.0, 1e-15, "onecycle: max_lr / div_factor");
    CHECK_EQ(t, trainopt_momentum_onecycle(&oc, 0), 0.95, "onecycle momentum: max_momentum");
    CHECK_EQ(t, trainopt_lr_cyclic(&cy, 0), 0.01, "cyclic: base_lr");
    CHECK_EQ(t, trainopt_momentum_cyclic(&cy, 0), 0.9, "cyclic momentum: max_momentum");
    CHECK_EQ(t, trainopt_lr_warmup_factor(0, 10, 0.1), 0.1, "warmup_factor: start_factor");
}

static void test_past_the_end(to_ctx *t) {
    trainopt_onecycle_config oc = TRAINOPT_ONECYCLE_DEFAULTS;
    int64_t s;
    oc.max_lr = 0.5, oc.total_steps = 100;
    for (s = 100; s < 100000; s = s * 3 + 1) {
        CHECK_CLOSE(t, trainopt_lr_linear(0.2, s, 0.5, 0.1, 100), 0.2 * 0.1, 1e-15, "linear past total_iters, t %lld",
                    (long long)s);
        CHECK_EQ(t, trainopt_lr_polynomial(0.2, s, 100, 2.0, 0.003), 0.003, "polynomial past total_iters, t %lld",
                 (long long)s);
        CHECK_EQ(t, trainopt_lr_polynomial(0.2, s, 100, 2.0, 0.0), 0.0, "PolynomialLR past total_iters, t %lld",
                 (long long)s);
        CHECK_EQ(t, trainopt_lr_constant(0.2, s, 0.5, 100), 0.2, "constant past total_iters, t %lld", (long long)s);
        CHECK_CLOSE(t, trainopt_lr_warmup_cosine(0.2, s, 10, 100, 0.0, 0.004), 0.004, 1e-15,
                    "warmup_cosine past decay_steps, t %lld", (long long)s);
    }
    /* CosineAnnealingLR is periodic past t_max, as PyTorch's closed form (and its recursive form) is */
    CHECK_EQ(t, trainopt_lr_cosine(0.1, 200, 100, 0.0), 0.1, "cosine at 2 t_max");
    CHECK_EQ(t, trainopt_lr_cosine(0.1, 300, 100, 0.0), 0.0, "cosine at 3 t_max");
    for (s = 1; s < 100; s++)
        CHECK_CLOSE(t, trainopt_lr_cosine(0.1, 100 + s, 100, 0.001), trainopt_lr_cosine(0.1, 100 - s, 100, 0.001), 1e-12,
                    "cosine symmetric about t_max, t %lld", (long long)(100 + s));
    /* OneCycleLR: t = total_steps is allowed (PyTorch allows one more step()), beyond it raises */
    TO_CHECK(t, isfinite(trainopt_lr_onecycle(&oc, 100)), "onecycle at total_steps must be finite");
    CHECK_NAN(t, trainopt_lr_onecycle(&oc, 101), "onecycle past total_steps");
    CHECK_NAN(t, trainopt_momentum_onecycle(&oc, 101), "onecycle momentum past total_steps");
    CHECK_NAN(t, trainopt_lr_onecycle(&oc, INT64_MAX), "onecycle at INT64_MAX");
}

static void test_t_max_one(to_ctx *t) {
    int64_t s;
    for (s = 0; s < 50; s++) {
        CHECK_EQ(t, trainopt_lr_cosine(0.1, s, 1, 0.01), s % 2 ? 0.01 : 0.1, "cosine t_max 1, t %lld", (long long)s);
        CHECK_EQ(t, trainopt_lr_linear(0.1, s, 0.25, 0.75, 1), s ? 0.1 * (0.25 + 0.5) : 0.1 * 0.25,
                 "linear total_iters 1, t %lld", (long long)s);
        CHECK_EQ(t, trainopt_lr_polynomial(0.1, s, 1, 3.0, 0.01), s ? 0.01 : 0.1, "polynomial total_iters 1, t %lld",
                 (long long)s);
        CHECK_EQ(t, trainopt_lr_cosine_restarts(0.1, s, 1, 1, 0.0), 0.1, "cosine_restarts t_0 1, t %lld", (long long)s);
        CHECK_EQ(t, trainopt_lr_warmup_cosine(0.1, s, 0, 1, 0.0, 0.01), s ? 0.1 * (0.01 / 0.1) : 0.1,
                 "warmup_cosine one decay step, t %lld", (long long)s);
        CHECK_EQ(t, trainopt_lr_step(0.1, s, 1, 0.5), 0.1 * pow(0.5, (double)s), "step_size 1, t %lld", (long long)s);
    }
}

/* PyTorch's CosineAnnealingWarmRestarts.step(), written as it is: T_cur counts up and
   wraps into a T_i that grows by T_mult. */
static void test_restarts_t_mult(to_ctx *t) {
    static const int64_t t0s[] = {1, 2, 3, 10};
    static const int64_t mults[] = {1, 2, 3, 7};
    size_t a, b;
    for (a = 0; a < 4; a++)
        for (b = 0; b < 4; b++) {
            int64_t s, cur = 0, ti = t0s[a], restarts = 0;
            for (s = 0; s < 5000; s++) {
                double want = 0.001 + (0.1 - 0.001) * (1 + cos(3.141592653589793 * (double)cur / (double)ti)) / 2;
                double got = trainopt_lr_cosine_restarts(0.1, s, t0s[a], mults[b], 0.001);
                CHECK_CLOSE(t, got, want, 1e-15, "restarts t_0 %lld t_mult %lld, t %lld", (long long)t0s[a],
                            (long long)mults[b], (long long)s);
                if (cur == 0) {
                    CHECK_EQ(t, got, 0.1, "restart at t %lld (t_0 %lld, t_mult %lld)", (long long)s, (long long)t0s[a],
                             (long long)mults[b]);
                    restarts++;
                }
                if (++cur >= ti) cur -= ti, ti *= mults[b];
            }
            TO_CHECK(t, restarts >= 4, "t_0 %lld t_mult %lld: only %lld restarts seen", (long long)t0s[a],
                     (long long)mults[b], (long long)restarts);
        }
    /* huge t: T_i would overflow int64 after a few dozen periods; no crash, a value in range */
    for (b = 1; b < 4; b++) {
        int64_t huge[] = {INT64_MAX, INT64_MAX - 1, ((int64_t)1 << 62) + 12345, (int64_t)1 << 53};
        size_t h;
        for (h = 0; h < 4; h++) {
            double v = trainopt_lr_cosine_restarts(0.1, huge[h], 1, mults[b], 0.001);
            TO_CHECK(t, v >= 0.001 && v <= 0.1, "restarts t_mult %lld at t %lld: %.17g out of [eta_min, base]",
                     (long long)mults[b], (long long)huge[h], v);
        }
    }
}

static void test_warmup(to_ctx *t) {
    int64_t s;
    trainopt_schedule a, b;
    for (s = 0; s < 100; s++) {
        CHECK_EQ(t, trainopt_lr_warmup_factor(s, 0, 0.1), 1.0, "warmup of 0 steps, t %lld", (long long)s);
        CHECK_EQ(t, trainopt_lr_warmup_factor(s, 0, 0.0), 1.0, "warmup of 0 steps from 0, t %lld", (long long)s);
        CHECK_CLOSE(t, trainopt_lr_warmup_factor(s, 40, 0.2), s >= 40 ? 1.0 : 0.2 + 0.8 * (double)s / 40.0, 1e-15,
                    "warmup 40 from 0.2, t %lld", (long long)s);
        CHECK_EQ(t, trainopt_lr_warmup_factor(s, 40, 0.2), trainopt_lr_linear(1.0, s, 0.2, 1.0, 40),
                 "warmup factor is LinearLR(end_factor 1), t %lld", (long long)s);
        CHECK_CLOSE(t, trainopt_lr_warmup_cosine(0.1, s, 0, 80, 0.05, 0.0),
                    0.1 * 0.5 * (1 + cos(3.141592653589793 * (double)(s < 80 ? s : 80) / 80.0)), 1e-14,
                    "warmup_cosine without warmup is the cosine, t %lld", (long long)s);
    }
    /* the warmup fields of a tagged schedule: 0 steps changes nothing, bit for bit */
    if (!to_expect_status(t, trainopt_schedule_parse("cosine:lr=0.1,t_max=50,eta_min=1e-4", &a), TRAINOPT_OK, "parse"))
        return;
    if (!to_expect_status(t, trainopt_schedule_parse("cosine:lr=0.1,t_max=50,eta_min=1e-4,warmup_iters=0", &b),
                          TRAINOPT_OK, "parse"))
        return;
    for (s = 0; s < 120; s++)
        CHECK_EQ(t, trainopt_schedule_lr(&b, s), trainopt_schedule_lr(&a, s), "warmup_iters=0, t %lld", (long long)s);
    b.warmup_iters = 10, b.warmup_start_factor = 0.0;
    CHECK_EQ(t, trainopt_schedule_lr(&b, 0), 0.0, "warmup from 0 at t 0");
    for (s = 10; s < 120; s++)
        CHECK_EQ(t, trainopt_schedule_lr(&b, s), trainopt_schedule_lr(&a, s), "after the warmup, t %lld", (long long)s);
    for (s = 1; s < 10; s++)
        CHECK_EQ(t, trainopt_schedule_lr(&b, s), trainopt_schedule_lr(&a, s) * ((double)s / 10.0),
                 "during the warmup, t %lld", (long long)s);
}

/* int64 steps: a float step saturates at 2^24 (16777217.0f == 16777216.0f); these must not. */
static void test_int64_steps(to_ctx *t) {
    const int64_t big = (int64_t)1 << 24;
    TO_CHECK(t, trainopt_lr_cosine(0.1, big + 1, (int64_t)1 << 26, 0.0) < trainopt_lr_cosine(0.1, big, (int64_t)1 << 26, 0.0),
             "cosine must keep decreasing past 2^24 steps");
    TO_CHECK(t, trainopt_lr_linear(1.0, big + 1, 1.0, 0.0, (int64_t)1 << 25) <
                    trainopt_lr_linear(1.0, big, 1.0, 0.0, (int64_t)1 << 25),
             "linear must keep decreasing past 2^24 steps");
    CHECK_EQ(t, trainopt_lr_step(1.0, ((int64_t)1 << 40) + 5, (int64_t)1 << 40, 0.5), 0.5, "step at 2^40 + 5");
    CHECK_EQ(t, trainopt_lr_step(1.0, ((int64_t)1 << 40) - 1, (int64_t)1 << 40, 0.5), 1.0, "step at 2^40 - 1");
    CHECK_EQ(t, trainopt_lr_exponential(1.0, INT64_MAX, 0.5), 0.0, "exponential at INT64_MAX underflows to 0");
    CHECK_EQ(t, trainopt_lr_warmup_factor(INT64_MAX, INT64_MAX, 0.5), 1.0, "warmup factor at INT64_MAX");
    TO_CHECK(t, trainopt_lr_warmup_factor(INT64_MAX - 1, INT64_MAX, 0.5) <= 1.0, "warmup factor near INT64_MAX");
    CHECK_EQ(t, trainopt_lr_warmup_cosine(0.1, INT64_MAX, INT64_MAX - 1, INT64_MAX, 0.0, 0.0), 0.0,
             "warmup_cosine at INT64_MAX");
    CHECK_EQ(t, trainopt_lr_inverse_time(1.0, INT64_MAX, 1.0, 1, 1), 1.0 / (1.0 + (double)INT64_MAX),
             "inverse_time staircase at INT64_MAX");
    {
        trainopt_cyclic_config c = TRAINOPT_CYCLIC_DEFAULTS;
        double v;
        c.base_lr = 0.01, c.max_lr = 0.1, c.step_size_up = 3, c.step_size_down = 4;
        v = trainopt_lr_cyclic(&c, INT64_MAX);
        TO_CHECK(t, v >= 0.01 && v <= 0.1, "cyclic at INT64_MAX: %.17g", v);
    }
}

static void test_invalid_arguments(to_ctx *t) {
    const int64_t ms[] = {10, 20}, bad_ms[] = {-1, 10};
    trainopt_onecycle_config oc = TRAINOPT_ONECYCLE_DEFAULTS;
    trainopt_cyclic_config cy = TRAINOPT_CYCLIC_DEFAULTS;
    trainopt_schedule parts[2], nested;
    const double bad[] = {NAN, INFINITY, -INFINITY, -1e-300};
    size_t i;
    /* negative t, for every schedule */
    CHECK_NAN(t, trainopt_lr_step(0.1, -1, 10, 0.1), "step t -1");
    CHECK_NAN(t, trainopt_lr_multistep(0.1, -1, ms, 2, 0.1), "multistep t -1");
    CHECK_NAN(t, trainopt_lr_exponential(0.1, INT64_MIN, 0.9), "exponential t INT64_MIN");
    CHECK_NAN(t, trainopt_lr_inverse_time(0.1, -1, 0.5, 1, 0), "inverse_time t -1");
    CHECK_NAN(t, trainopt_lr_polynomial(0.1, -1, 10, 1.0, 0.0), "polynomial t -1");
    CHECK_NAN(t, trainopt_lr_linear(0.1, -1, 0.5, 1.0, 10), "linear t -1");
    CHECK_NAN(t, trainopt_lr_constant(0.1, -1, 0.5, 10), "constant t -1");
    CHECK_NAN(t, trainopt_lr_cosine(0.1, -1, 10, 0.0), "cosine t -1");
    CHECK_NAN(t, trainopt_lr_cosine_restarts(0.1, -1, 10, 2, 0.0), "cosine_restarts t -1");
    CHECK_NAN(t, trainopt_lr_warmup_cosine(0.1, -1, 5, 10, 0.0, 0.0), "warmup_cosine t -1");
    CHECK_NAN(t, trainopt_lr_warmup_factor(-1, 5, 0.1), "warmup_factor t -1");
    /* periods and counts */
    CHECK_NAN(t, trainopt_lr_step(0.1, 5, 0, 0.1), "step_size 0");
    CHECK_NAN(t, trainopt_lr_step(0.1, 5, -3, 0.1), "step_size -3");
    CHECK_NAN(t, trainopt_lr_multistep(0.1, 5, NULL, 2, 0.1), "multistep NULL milestones");
    CHECK_EQ(t, trainopt_lr_multistep(0.1, 5, NULL, 0, 0.1), 0.1, "multistep NULL with k 0 is valid");
    CHECK_NAN(t, trainopt_lr_multistep(0.1, 5, bad_ms, 2, 0.1), "multistep negative milestone");
    CHECK_NAN(t, trainopt_lr_multistep(0.1, 50, bad_ms + 0, 1, 0.1), "multistep negative milestone alone");
    CHECK_NAN(t, trainopt_lr_inverse_time(0.1, 5, 0.5, 0, 0), "inverse_time decay_steps 0");
    CHECK_NAN(t, trainopt_lr_polynomial(0.1, 5, 0, 1.0, 0.0), "polynomial total_iters 0");
    CHECK_NAN(t, trainopt_lr_linear(0.1, 5, 0.5, 1.0, 0), "linear total_iters 0 (PyTorch divides by zero)");
    CHECK_NAN(t, trainopt_lr_constant(0.1, 5, 0.5, -1), "constant total_iters -1");
    CHECK_NAN(t, trainopt_lr_cosine(0.1, 5, 0, 0.0), "cosine t_max 0");
    CHECK_NAN(t, trainopt_lr_cosine_restarts(0.1, 5, 0, 1, 0.0), "cosine_restarts t_0 0");
    CHECK_NAN(t, trainopt_lr_cosine_restarts(0.1, 5, 10, 0, 0.0), "cosine_restarts t_mult 0");
    CHECK_NAN(t, trainopt_lr_warmup_cosine(0.1, 5, 10, 10, 0.0, 0.0), "warmup_cosine decay_steps == warmup_steps");
    CHECK_NAN(t, trainopt_lr_warmup_cosine(0.1, 5, -1, 10, 0.0, 0.0), "warmup_cosine warmup_steps -1");
    CHECK_NAN(t, trainopt_lr_warmup_factor(5, -1, 0.1), "warmup_factor warmup_iters -1");
    /* factors outside PyTorch's ranges */
    CHECK_NAN(t, trainopt_lr_linear(0.1, 5, 1.5, 1.0, 10), "linear start_factor 1.5");
    CHECK_NAN(t, trainopt_lr_linear(0.1, 5, 0.5, -0.1, 10), "linear end_factor -0.1");
    CHECK_NAN(t, trainopt_lr_constant(0.1, 5, 1.01, 10), "constant factor 1.01");
    CHECK_NAN(t, trainopt_lr_warmup_factor(5, 10, 1.5), "warmup_factor start 1.5");
    /* NaN, Inf and negative real-valued arguments */
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double x = bad[i];
        CHECK_NAN(t, trainopt_lr_step(x, 5, 10, 0.1), "step base_lr bad");
        CHECK_NAN(t, trainopt_lr_step(0.1, 5, 10, x), "step gamma bad");
        CHECK_NAN(t, trainopt_lr_multistep(x, 5, ms, 2, 0.1), "multistep base_lr bad");
        CHECK_NAN(t, trainopt_lr_multistep(0.1, 5, ms, 2, x), "multistep gamma bad");
        CHECK_NAN(t, trainopt_lr_exponential(x, 5, 0.9), "exponential base_lr bad");
        CHECK_NAN(t, trainopt_lr_exponential(0.1, 5, x), "exponential gamma bad");
        CHECK_NAN(t, trainopt_lr_inverse_time(x, 5, 0.5, 1, 0), "inverse_time base_lr bad");
        CHECK_NAN(t, trainopt_lr_inverse_time(0.1, 5, x, 1, 0), "inverse_time decay_rate bad");
        CHECK_NAN(t, trainopt_lr_polynomial(x, 5, 10, 1.0, 0.0), "polynomial base_lr bad");
        CHECK_NAN(t, trainopt_lr_polynomial(0.1, 5, 10, x, 0.0), "polynomial power bad");
        CHECK_NAN(t, trainopt_lr_polynomial(0.1, 5, 10, 1.0, x), "polynomial end_lr bad");
        CHECK_NAN(t, trainopt_lr_linear(x, 5, 0.5, 1.0, 10), "linear base_lr bad");
        CHECK_NAN(t, trainopt_lr_linear(0.1, 5, x, 1.0, 10), "linear start_factor bad");
        CHECK_NAN(t, trainopt_lr_constant(x, 5, 0.5, 10), "constant base_lr bad");
        CHECK_NAN(t, trainopt_lr_constant(0.1, 5, x, 10), "constant factor bad");
        CHECK_NAN(t, trainopt_lr_cosine(x, 5, 10, 0.0), "cosine base_lr bad");
        CHECK_NAN(t, trainopt_lr_cosine(0.1, 5, 10, x), "cosine eta_min bad");
        CHECK_NAN(t, trainopt_lr_cosine_restarts(x, 5, 10, 2, 0.0), "cosine_restarts base_lr bad");
        CHECK_NAN(t, trainopt_lr_cosine_restarts(0.1, 5, 10, 2, x), "cosine_restarts eta_min bad");
        CHECK_NAN(t, trainopt_lr_warmup_cosine(x, 5, 2, 10, 0.0, 0.0), "warmup_cosine peak bad");
        CHECK_NAN(t, trainopt_lr_warmup_cosine(0.1, 5, 2, 10, x, 0.0), "warmup_cosine init_lr bad");
        CHECK_NAN(t, trainopt_lr_warmup_cosine(0.1, 5, 2, 10, 0.0, x), "warmup_cosine end_lr bad");
        CHECK_NAN(t, trainopt_lr_warmup_factor(5, 10, x), "warmup_factor start bad");
        oc = (trainopt_onecycle_config)TRAINOPT_ONECYCLE_DEFAULTS;
        oc.total_steps = 100, oc.max_lr = x;
        CHECK_NAN(t, trainopt_lr_onecycle(&oc, 5), "onecycle max_lr bad");
        oc.max_lr = 0.1, oc.div_factor = x;
        CHECK_NAN(t, trainopt_lr_onecycle(&oc, 5), "onecycle div_factor bad");
        oc.div_factor = 25.0, oc.final_div_factor = x;
        CHECK_NAN(t, trainopt_lr_onecycle(&oc, 5), "onecycle final_div_factor bad");
        oc.final_div_factor = 1e4, oc.pct_start = x;
        CHECK_NAN(t, trainopt_lr_onecycle(&oc, 5), "onecycle pct_start bad");
        oc.pct_start = 0.3, oc.base_momentum = x == -1e-300 ? NAN : x;
        TO_CHECK(t, trainopt_lr_onecycle(&oc, 5) == trainopt_lr_onecycle(&oc, 5), "onecycle lr needs no momentum");
        CHECK_NAN(t, trainopt_momentum_onecycle(&oc, 5), "onecycle base_momentum bad");
        cy = (trainopt_cyclic_config)TRAINOPT_CYCLIC_DEFAULTS;
        cy.base_lr = x, cy.max_lr = 0.1;
        CHECK_NAN(t, trainopt_lr_cyclic(&cy, 5), "cyclic base_lr bad");
        cy.base_lr = 0.01, cy.max_lr = x;
        CHECK_NAN(t, trainopt_lr_cyclic(&cy, 5), "cyclic max_lr bad");
        cy.max_lr = 0.1, cy.gamma = x;
        CHECK_NAN(t, trainopt_lr_cyclic(&cy, 5), "cyclic gamma bad");
        cy.gamma = 1.0, cy.max_momentum = x == -1e-300 ? NAN : x;
        CHECK_NAN(t, trainopt_momentum_cyclic(&cy, 5), "cyclic max_momentum bad");
    }
    /* config structs */
    CHECK_NAN(t, trainopt_lr_onecycle(NULL, 0), "onecycle NULL");
    CHECK_NAN(t, trainopt_momentum_onecycle(NULL, 0), "onecycle momentum NULL");
    CHECK_NAN(t, trainopt_lr_cyclic(NULL, 0), "cyclic NULL");
    CHECK_NAN(t, trainopt_momentum_cyclic(NULL, 0), "cyclic momentum NULL");
    oc = (trainopt_onecycle_config)TRAINOPT_ONECYCLE_DEFAULTS;
    CHECK_NAN(t, trainopt_lr_onecycle(&oc, 0), "onecycle defaults before max_lr and total_steps are set");
    oc.max_lr = 0.1;
    CHECK_NAN(t, trainopt_lr_onecycle(&oc, 0), "onecycle total_steps 0");
    oc.total_steps = 10, oc.anneal_strategy = (trainopt_anneal)2;
    CHECK_NAN(t, trainopt_lr_onecycle(&oc, 0), "onecycle unknown anneal_strategy");
    oc.anneal_strategy = TRAINOPT_ANNEAL_COS, oc.pct_start = 0.1; /* phase 1 ends at 0.1*10 - 1 = 0: zero length */
    CHECK_NAN(t, trainopt_lr_onecycle(&oc, 0), "onecycle zero-length phase (PyTorch: ZeroDivisionError)");
    cy = (trainopt_cyclic_config)TRAINOPT_CYCLIC_DEFAULTS;
    CHECK_NAN(t, trainopt_lr_cyclic(&cy, 0), "cyclic defaults before base_lr and max_lr are set");
    cy.base_lr = 0.01, cy.max_lr = 0.1, cy.step_size_up = 0;
    CHECK_NAN(t, trainopt_lr_cyclic(&cy, 3), "cyclic step_size_up 0");
    cy.step_size_up = 5, cy.step_size_down = -2;
    CHECK_NAN(t, trainopt_lr_cyclic(&cy, 3), "cyclic step_size_down -2");
    cy.step_size_down = -1, cy.mode = (trainopt_cyclic_mode)3;
    CHECK_NAN(t, trainopt_lr_cyclic(&cy, 3), "cyclic unknown mode");
    /* tagged schedules and joins */
    CHECK_NAN(t, trainopt_schedule_lr(NULL, 0), "schedule_lr NULL");
    CHECK_NAN(t, trainopt_schedule_momentum(NULL, 0), "schedule_momentum NULL");
    parts[0] = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_FIXED);
    parts[0].lr = 0.1;
    CHECK_EQ(t, trainopt_schedule_lr(&parts[0], 7), 0.1, "fixed");
    CHECK_NAN(t, trainopt_schedule_momentum(&parts[0], 7), "fixed has no momentum");
    parts[0].kind = (trainopt_schedule_kind)99;
    CHECK_NAN(t, trainopt_schedule_lr(&parts[0], 7), "unknown kind");
    parts[0] = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_COSINE);
    CHECK_NAN(t, trainopt_schedule_lr(&parts[0], 0), "cosine defaults: t_max and lr unset");
    parts[0].lr = 0.1, parts[0].t_max = 10;
    parts[1] = parts[0];
    CHECK_EQ(t, trainopt_lr_join(parts, 2, ms, 15), trainopt_lr_cosine(0.1, 5, 10, 0.0), "join");
    CHECK_NAN(t, trainopt_lr_join(NULL, 2, ms, 5), "join NULL parts");
    CHECK_NAN(t, trainopt_lr_join(parts, 0, ms, 5), "join 0 parts");
    CHECK_NAN(t, trainopt_lr_join(parts, 2, NULL, 5), "join NULL milestones");
    CHECK_EQ(t, trainopt_lr_join(parts, 1, NULL, 5), trainopt_lr_cosine(0.1, 5, 10, 0.0), "join of 1 part");
    CHECK_NAN(t, trainopt_lr_join(parts, 2, bad_ms, 5), "join negative milestone");
    CHECK_NAN(t, trainopt_lr_join(parts, 2, ms, -1), "join t -1");
    parts[1].t_max = 0; /* invalid, though not yet reached at t = 5 */
    CHECK_NAN(t, trainopt_lr_join(parts, 2, ms, 5), "join with an invalid later part");
    parts[1] = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_JOIN);
    parts[1].parts = parts, parts[1].milestone_count = 1, parts[1].milestones[0] = 3;
    CHECK_NAN(t, trainopt_lr_join(parts, 2, ms, 15), "a join inside a join");
    nested = parts[1]; /* a join whose parts contain itself: refused, not followed */
    CHECK_NAN(t, trainopt_schedule_lr(&nested, 15), "self-referencing join");
    nested.milestone_count = TRAINOPT_SCHEDULE_MAX_MILESTONES + 1;
    CHECK_NAN(t, trainopt_schedule_lr(&nested, 15), "join with too many milestones");
    {
        const int64_t down[] = {20, 10};
        trainopt_schedule three[3];
        three[0] = three[1] = three[2] = parts[0];
        CHECK_EQ(t, trainopt_lr_join(three, 3, ms, 25), trainopt_lr_cosine(0.1, 5, 10, 0.0), "join of 3");
        CHECK_NAN(t, trainopt_lr_join(three, 3, down, 25), "join with decreasing milestones");
    }
}

/* ---- ReduceLROnPlateau: hand-checked sequences and errors --------------------------- */

static void test_plateau_rules(to_ctx *t) {
    trainopt_plateau_config c = TRAINOPT_PLATEAU_DEFAULTS;
    trainopt_plateau p;
    const double metrics[] = {1.0, NAN, 0.5, NAN, NAN, 0.4, INFINITY, -INFINITY, NAN, 0.0};
    const double want[] = {1.0, 0.5, 0.5, 0.25, 0.125, 0.125, 0.0625, 0.0625, 0.03125, 0.015625};
    size_t i;
    memset(&p, 0, sizeof p);
    c.patience = 0, c.factor = 0.5;
    if (!to_expect_status(t, trainopt_plateau_init(&p, &c, 1.0), TRAINOPT_OK, "init")) return;
    /* patience 0: every epoch that is not better reduces; NaN is never better */
    for (i = 0; i < sizeof metrics / sizeof metrics[0]; i++)
        CHECK_EQ(t, trainopt_plateau_step(&p, metrics[i]), want[i], "patience 0, epoch %zu (metric %g)", i + 1,
                 metrics[i]);
    /* a NaN first metric: best stays +Inf and the epoch is bad */
    c.patience = 1;
    trainopt_plateau_init(&p, &c, 1.0);
    CHECK_EQ(t, trainopt_plateau_step(&p, NAN), 1.0, "NaN first, patience 1");
    TO_CHECK(t, p.best == INFINITY && p.num_bad_epochs == 1, "NaN first: best %g, bad %lld", p.best,
             (long long)p.num_bad_epochs);
    CHECK_EQ(t, trainopt_plateau_step(&p, NAN), 0.5, "two NaNs, patience 1");
    /* cooldown: bad epochs during it do not count */
    c = (trainopt_plateau_config)TRAINOPT_PLATEAU_DEFAULTS;
    c.patience = 1, c.cooldown = 2, c.factor = 0.5;
    trainopt_plateau_init(&p, &c, 1.0);
    {
        const double w[] = {1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125};
        for (i = 0; i < sizeof w / sizeof w[0]; i++)
            CHECK_EQ(t, trainopt_plateau_step(&p, 3.0), w[i], "cooldown 2, patience 1, epoch %zu", i + 1);
    }
    /* min_lr floor and eps */
    c = (trainopt_plateau_config)TRAINOPT_PLATEAU_DEFAULTS;
    c.patience = 0, c.factor = 0.1, c.min_lr = 0.003;
    trainopt_plateau_init(&p, &c, 1.0);
    trainopt_plateau_step(&p, 1.0);
    CHECK_EQ(t, trainopt_plateau_step(&p, 1.0), 0.1, "factor 0.1");
    CHECK_EQ(t, trainopt_plateau_step(&p, 1.0), 0.010000000000000002, "factor 0.1 twice (0.1 * 0.1 in double)");
    CHECK_EQ(t, trainopt_plateau_step(&p, 1.0), 0.003, "floored at min_lr");
    CHECK_EQ(t, trainopt_plateau_step(&p, 1.0), 0.003, "stays at min_lr");
    /* thresholds: rel in min mode needs m < best * (1 - threshold) */
    c = (trainopt_plateau_config)TRAINOPT_PLATEAU_DEFAULTS;
    c.patience = 0, c.factor = 0.5, c.threshold = 0.1;
    trainopt_plateau_init(&p, &c, 1.0);
    trainopt_plateau_step(&p, 10.0);
    CHECK_EQ(t, trainopt_plateau_step(&p, 9.5), 0.5, "9.5 is not 10%% better than 10");
    CHECK_EQ(t, trainopt_plateau_step(&p, 8.9), 0.5, "8.9 is");
    c.threshold_mode = TRAINOPT_THRESHOLD_ABS, c.mode = TRAINOPT_PLATEAU_MAX;
    trainopt_plateau_init(&p, &c, 1.0);
    trainopt_plateau_step(&p, 10.0);
    CHECK_EQ(t, trainopt_plateau_step(&p, 10.05), 0.5, "max/abs: 10.05 is not 0.1 better than 10");
    CHECK_EQ(t, trainopt_plateau_step(&p, 10.2), 0.5, "max/abs: 10.2 is");
}

static void test_plateau_errors(to_ctx *t) {
    /* Static, so its padding is zero: the state init copies it into is compared
       byte for byte below, and valgrind counts uninitialised padding as a use. */
    static const trainopt_plateau_config defaults = TRAINOPT_PLATEAU_DEFAULTS;
    trainopt_plateau_config good, c;
    trainopt_plateau p, before, zero;
    int k;
    memcpy(&good, &defaults, sizeof good);
    memset(&p, 0x5a, sizeof p);
    memcpy(&before, &p, sizeof p); /* every byte: a struct assignment need not copy padding */
    to_expect_status(t, trainopt_plateau_init(NULL, &good, 0.1), TRAINOPT_ERR_NULL, "init(NULL, ...)");
    to_expect_status(t, trainopt_plateau_init(&p, NULL, 0.1), TRAINOPT_ERR_NULL, "init(p, NULL, ...)");
    for (k = 0; k < 17; k++) {
        double lr = 0.1;
        c = good;
        switch (k) {
        case 0: c.factor = 1.0; break; /* PyTorch: "Factor should be < 1.0." */
        case 1: c.factor = -0.1; break;
        case 2: c.factor = NAN; break;
        case 3: c.patience = -1; break;
        case 4: c.cooldown = -1; break;
        case 5: c.threshold = -1e-4; break;
        case 6: c.threshold = NAN; break;
        case 7: c.threshold = INFINITY; break;
        case 8: c.min_lr = -1.0; break;
        case 9: c.min_lr = INFINITY; break;
        case 10: c.eps = NAN; break;
        case 11: c.eps = -1e-8; break;
        case 12: lr = -0.1; break;
        case 13: lr = NAN; break;
        case 14: lr = INFINITY; break;
        case 15: c.mode = (trainopt_plateau_mode)2; break;
        default: c.threshold_mode = (trainopt_threshold_mode)7; break;
        }
        to_expect_status(t, trainopt_plateau_init(&p, &c, lr), TRAINOPT_ERR_HPARAM, "init with a bad value");
        TO_CHECK(t, memcmp(&p, &before, sizeof p) == 0, "init error case %d wrote to the plateau", k);
    }
    CHECK_NAN(t, trainopt_plateau_step(NULL, 1.0), "step(NULL)");
    memset(&zero, 0, sizeof zero);
    CHECK_NAN(t, trainopt_plateau_step(&zero, 1.0), "step on a zeroed, uninitialised plateau");
    CHECK_NAN(t, trainopt_plateau_step(&p, 1.0), "step on a garbage plateau");
    TO_CHECK(t, memcmp(&p, &before, sizeof p) == 0, "step on garbage changed it");
    if (!to_expect_status(t, trainopt_plateau_init(&p, &good, 0.1), TRAINOPT_OK, "init")) return;
    p.config.factor = 2.0; /* a caller edited the config into nonsense */
    memcpy(&before, &p, sizeof p);
    CHECK_NAN(t, trainopt_plateau_step(&p, 1.0), "step with an invalid config");
    TO_CHECK(t, memcmp(&p, &before, sizeof p) == 0, "step with an invalid config changed the state");
}

/* ---- the parser ------------------------------------------------------------------ */

static void test_parse_ok(to_ctx *t) {
    trainopt_schedule s;
    char msg[256];
    int64_t i;
    if (!to_expect_status(t, trainopt_schedule_parse_msg("cosine:t_max=100,eta_min=1e-5", &s, msg, sizeof msg),
                          TRAINOPT_OK, msg))
        return;
    TO_CHECK(t, s.kind == TRAINOPT_SCHEDULE_COSINE && s.t_max == 100 && s.eta_min == 1e-5 && s.lr != s.lr,
             "cosine fields: kind %d t_max %lld eta_min %g lr %g", (int)s.kind, (long long)s.t_max, s.eta_min, s.lr);
    TO_CHECK(t, msg[0] == '\0', "message on success: \"%s\"", msg);
    CHECK_NAN(t, trainopt_schedule_lr(&s, 3), "lr left out: NaN until set");
    s.lr = 0.1;
    for (i = 0; i < 250; i++)
        CHECK_EQ(t, trainopt_schedule_lr(&s, i), trainopt_lr_cosine(0.1, i, 100, 1e-5), "parsed cosine, t %lld",
                 (long long)i);
    /* whitespace, integers written as 1e4, booleans and names */
    if (to_expect_status(t,
                         trainopt_schedule_parse_msg(
                             "  onecycle : lr = 0.3 , total_steps = 1e4, anneal_strategy=linear,three_phase=true ", &s,
                             msg, sizeof msg),
                         TRAINOPT_OK, msg))
        TO_CHECK(t, s.kind == TRAINOPT_SCHEDULE_ONECYCLE && s.lr == 0.3 && s.total_steps == 10000 &&
                        s.anneal_strategy == TRAINOPT_ANNEAL_LINEAR && s.three_phase == 1 && s.pct_start == 0.3 &&
                        s.base_momentum == 0.85,
                 "onecycle fields");
    if (to_expect_status(t, trainopt_schedule_parse_msg("multistep:lr=1,milestones=[ 30, 80 ,250],gamma=0.5", &s, msg,
                                                        sizeof msg),
                         TRAINOPT_OK, msg))
        TO_CHECK(t, s.milestone_count == 3 && s.milestones[0] == 30 && s.milestones[1] == 80 && s.milestones[2] == 250 &&
                        s.gamma == 0.5,
                 "multistep fields");
    if (to_expect_status(t, trainopt_schedule_parse_msg("multistep:milestones=[]", &s, msg, sizeof msg), TRAINOPT_OK,
                         msg))
        TO_CHECK(t, s.milestone_count == 0 && s.gamma == 0.1, "empty milestones");
    if (to_expect_status(t, trainopt_schedule_parse_msg("cyclic:lr=0.01,max_lr=0.1,mode=exp_range,gamma=0.99", &s, msg,
                                                        sizeof msg),
                         TRAINOPT_OK, msg))
        TO_CHECK(t, s.mode == TRAINOPT_CYCLIC_EXP_RANGE && s.gamma == 0.99 && s.step_size_up == 2000 &&
                        s.step_size_down == -1 && s.base_momentum == 0.8 && s.max_momentum == 0.9,
                 "cyclic fields");
    /* every kind by name, with the defaults PyTorch gives */
    {
        static const char *const ok[] = {"fixed",
                                         "step:step_size=3",
                                         "multistep:milestones=[1]",
                                         "exponential:gamma=0.9",
                                         "inverse_time:decay_rate=0.5,decay_steps=10,staircase=1",
                                         "polynomial",
                                         "linear",
                                         "constant",
                                         "cosine:t_max=3",
                                         "cosine_restarts:t_0=3",
                                         "warmup_cosine:warmup_steps=0,decay_steps=10",
                                         "onecycle:total_steps=100",
                                         "cyclic:max_lr=1"};
        size_t k;
        for (k = 0; k < sizeof ok / sizeof ok[0]; k++) {
            if (!to_expect_status(t, trainopt_schedule_parse_msg(ok[k], &s, msg, sizeof msg), TRAINOPT_OK, ok[k])) {
                to_fail(t, "%s: %s", ok[k], msg);
                continue;
            }
            TO_CHECK(t, s.kind == (trainopt_schedule_kind)k, "%s parsed as kind %d", ok[k], (int)s.kind);
            TO_CHECK(t, strncmp(ok[k], trainopt_schedule_kind_name(s.kind), strlen(trainopt_schedule_kind_name(s.kind))) == 0,
                     "kind name %s", trainopt_schedule_kind_name(s.kind));
            s.lr = 0.5;
            TO_CHECK(t, isfinite(trainopt_schedule_lr(&s, 0)), "%s with lr set: not finite", ok[k]);
        }
        TO_CHECK(t, strcmp(trainopt_schedule_kind_name((trainopt_schedule_kind)-1), "unknown") == 0 &&
                        strcmp(trainopt_schedule_kind_name(TRAINOPT__SCHEDULE_KIND_COUNT), "unknown") == 0,
                 "kind names out of range");
        s = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_LINEAR);
        TO_CHECK(t, s.start_factor == 1.0 / 3 && s.end_factor == 1.0 && s.total_iters == 5, "LinearLR defaults");
        s = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_CONSTANT);
        TO_CHECK(t, s.factor == 1.0 / 3 && s.total_iters == 5, "ConstantLR defaults");
    }
}

/* The status a parse error's message implies: range errors say "out of range" or name a bound. */
static trainopt_status sched_parse_want(const char *says) {
    return strstr(says, "out of range") || strstr(says, "pct_start * total_steps") || strstr(says, "warmup_iters >= 0")
               ? TRAINOPT_ERR_HPARAM
               : TRAINOPT_ERR_PARSE;
}

static void test_parse_errors(to_ctx *t) {
    /* A text that does not read as a schedule is TRAINOPT_ERR_PARSE; values that read but are
       out of range (the messages that say "out of range" or name a bound) TRAINOPT_ERR_HPARAM. */
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"cosin:t_max=5", "unknown schedule \"cosin\" (known: fixed, step,"},
        {"", "unknown schedule \"\""},
        {"join", "unknown schedule \"join\""},
        {"cosine:tmax=5", "unknown field \"tmax\" for cosine (its fields: lr t_max! eta_min"},
        {"cosine:t_max=5,gamma=0.1", "field \"gamma\" does not apply to cosine"},
        {"cosine", "cosine needs t_max"},
        {"cosine:eta_min=0.1", "cosine needs t_max"},
        {"onecycle:lr=0.1", "onecycle needs total_steps"},
        {"cyclic:lr=0.1", "cyclic needs max_lr"},
        {"exponential:lr=0.1", "exponential needs gamma"},
        {"cosine:t_max=5,t_max=6", "field \"t_max\" given twice"},
        {"cosine:t_max=abc", "bad value \"abc\" for t_max (expected an integer)"},
        {"cosine:t_max=1.5", "bad value \"1.5\" for t_max"},
        {"cosine:t_max=5,eta_min=1e-5x", "bad value \"1e-5x\" for eta_min (expected a number)"},
        {"cosine:t_max=", "bad value \"\" for t_max"},
        {"inverse_time:decay_rate=1,decay_steps=2,staircase=yes", "bad value \"yes\" for staircase"},
        {"onecycle:total_steps=9,anneal_strategy=cosine", "expected cos or linear"},
        {"cyclic:max_lr=1,mode=triangle", "expected triangular, triangular2 or exp_range"},
        {"multistep:milestones=30", "expected a list such as [30,80]"},
        {"multistep:milestones=[30,]", "bad value"},
        {"multistep:milestones=[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]", "bad value"},
        {"cosine:t_max=0", "a value is out of range for cosine (needs lr >= 0, t_max >= 1"},
        {"cosine:t_max=5,eta_min=-1", "out of range for cosine"},
        {"cosine:t_max=5,lr=nan", "out of range for cosine"},
        {"cosine:t_max=5,lr=-0.1", "out of range for cosine"},
        {"linear:start_factor=2", "out of range for linear"},
        {"onecycle:total_steps=10,pct_start=0.1", "pct_start * total_steps != 1"},
        {"cosine:t_max=5,warmup_iters=-1", "warmup_iters >= 0"},
        {"cosine t_max=5", "expected ':' after \"cosine\""},
        {"cosine:t_max", "expected field=value at \"t_max\""},
        {"cosine:t_max=5,", "a field must follow the last ','"},
        {"cosine:,t_max=5", "expected field=value"},
        {"cosine:t_max=5 eta_min=0", "expected ',' before \"eta_min=0\""},
        {"cosine:t_max=5 @10 linear", "use trainopt_schedule_parse_join"},
    };
    trainopt_schedule s, before;
    char msg[512];
    size_t k;
    memset(&s, 0x33, sizeof s);
    memcpy(&before, &s, sizeof s);
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const trainopt_status want = sched_parse_want(bad[k].says);
        trainopt_status st;
        trainopt_clear_error();
        st = trainopt_schedule_parse_msg(bad[k].text, &s, msg, sizeof msg);
        TO_CHECK(t, st == want, "\"%s\": status %d, want %d", bad[k].text, (int)st, (int)want);
        TO_CHECK(t, strstr(msg, bad[k].says) != NULL, "\"%s\": message \"%s\" should say \"%s\"", bad[k].text, msg,
                 bad[k].says);
        TO_CHECK(t, strncmp(trainopt_last_error(), "trainopt_schedule_parse_msg: ", 29) == 0 &&
                        strcmp(trainopt_last_error() + 29, msg) == 0,
                 "\"%s\": trainopt_last_error() \"%s\" should be the function's name and \"%s\"", bad[k].text,
                 trainopt_last_error(), msg);
        TO_CHECK(t, memcmp(&s, &before, sizeof s) == 0, "\"%s\": a failed parse wrote to the schedule", bad[k].text);
        TO_CHECK(t, trainopt_schedule_parse(bad[k].text, &s) == want, "\"%s\": plain parse", bad[k].text);
        TO_CHECK(t, strncmp(trainopt_last_error(), "trainopt_schedule_parse: ", 25) == 0 &&
                        strcmp(trainopt_last_error() + 25, msg) == 0,
                 "\"%s\": plain parse: trainopt_last_error() \"%s\"", bad[k].text, trainopt_last_error());
    }
    to_expect_status(t, trainopt_schedule_parse(NULL, &s), TRAINOPT_ERR_NULL, "parse(NULL, s)");
    to_expect_status(t, trainopt_schedule_parse("cosine:t_max=5", NULL), TRAINOPT_ERR_NULL, "parse(text, NULL)");
    /* a small message buffer is truncated, NUL-terminated, never overrun */
    {
        char small[8 + 4];
        memset(small, 'Z', sizeof small);
        trainopt_schedule_parse_msg("cosin", &s, small, 8);
        TO_CHECK(t, strlen(small) == 7 && small[8] == 'Z' && small[11] == 'Z', "message truncation: \"%s\"", small);
        TO_CHECK(t, trainopt_schedule_parse_msg("cosin", &s, small, 0) == TRAINOPT_ERR_PARSE && small[8] == 'Z',
                 "msg_size 0");
        TO_CHECK(t, strncmp(trainopt_last_error(), "trainopt_schedule_parse_msg: unknown schedule \"cosin\"", 53) == 0,
                 "msg_size 0: trainopt_last_error() still has the whole message: \"%s\"", trainopt_last_error());
    }
}

static void test_parse_join(to_ctx *t) {
    trainopt_schedule join, parts[4], before[4];
    char msg[256];
    int64_t i;
    memset(parts, 0x44, sizeof parts);
    memcpy(before, parts, sizeof parts);
    if (!to_expect_status(t,
                          trainopt_schedule_parse_join("linear:start_factor=0.1,end_factor=1,total_iters=5 @5 "
                                                       "cosine:t_max=95",
                                                       &join, parts, 4, msg, sizeof msg),
                          TRAINOPT_OK, msg))
        return;
    TO_CHECK(t, join.kind == TRAINOPT_SCHEDULE_JOIN && join.milestone_count == 1 && join.milestones[0] == 5 &&
                    join.parts == parts && parts[0].kind == TRAINOPT_SCHEDULE_LINEAR &&
                    parts[1].kind == TRAINOPT_SCHEDULE_COSINE,
             "join fields");
    CHECK_NAN(t, trainopt_schedule_lr(&join, 0), "join lr not set yet");
    join.lr = 0.1; /* parts without lr take the join's lr */
    for (i = 0; i < 300; i++)
        CHECK_EQ(t, trainopt_schedule_lr(&join, i),
                 i < 5 ? trainopt_lr_linear(0.1, i, 0.1, 1.0, 5) : trainopt_lr_cosine(0.1, i - 5, 95, 0.0),
                 "join, t %lld", (long long)i);
    CHECK_NAN(t, trainopt_lr_join(parts, 2, join.milestones, 3), "trainopt_lr_join has no join lr to fall back on");
    /* a single part is not a join */
    if (to_expect_status(t, trainopt_schedule_parse_join("step:step_size=2", &join, NULL, 0, msg, sizeof msg),
                         TRAINOPT_OK, msg))
        TO_CHECK(t, join.kind == TRAINOPT_SCHEDULE_STEP && join.step_size == 2, "one part");
    /* momentum follows the current part */
    if (to_expect_status(t,
                         trainopt_schedule_parse_join("fixed:lr=0.1 @10 onecycle:lr=1,total_steps=50", &join, parts, 4,
                                                      msg, sizeof msg),
                         TRAINOPT_OK, msg)) {
        trainopt_onecycle_config c = TRAINOPT_ONECYCLE_DEFAULTS;
        c.max_lr = 1.0, c.total_steps = 50;
        CHECK_NAN(t, trainopt_schedule_momentum(&join, 3), "momentum of a fixed part");
        CHECK_EQ(t, trainopt_schedule_momentum(&join, 13), trainopt_momentum_onecycle(&c, 3), "momentum of onecycle part");
        CHECK_EQ(t, trainopt_schedule_lr(&join, 13), trainopt_lr_onecycle(&c, 3), "lr of onecycle part");
    }
    /* errors leave everything untouched */
    memset(parts, 0x44, sizeof parts);
    {
        static const struct {
            const char *text, *says;
            trainopt_status want;
        } bad[] = {
            {"cosine:t_max=5 @ cosine:t_max=5", "expected a milestone", TRAINOPT_ERR_PARSE},
            {"cosine:t_max=5 @10 cosine:t_max=5 @5 cosine:t_max=5", "expected a milestone >= the one before",
             TRAINOPT_ERR_HPARAM},
            {"cosine:t_max=5 @10 cosin:t_max=5", "unknown schedule \"cosin\"", TRAINOPT_ERR_PARSE},
            {"cosine:t_max=5 @10 cosine:t_max=0", "out of range", TRAINOPT_ERR_HPARAM},
            {"fixed @1 fixed @2 fixed @3 fixed @4 fixed", "more parts than max_parts", TRAINOPT_ERR_HPARAM},
        };
        size_t k;
        trainopt_schedule j0;
        memset(&j0, 0x55, sizeof j0);
        join = j0;
        for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            trainopt_status st = trainopt_schedule_parse_join(bad[k].text, &join, parts, 4, msg, sizeof msg);
            TO_CHECK(t, st == bad[k].want, "\"%s\": status %d, want %d", bad[k].text, (int)st, (int)bad[k].want);
            TO_CHECK(t, strncmp(trainopt_last_error(), "trainopt_schedule_parse_join: ", 30) == 0 &&
                            strcmp(trainopt_last_error() + 30, msg) == 0,
                     "\"%s\": trainopt_last_error() \"%s\"", bad[k].text, trainopt_last_error());
            TO_CHECK(t, strstr(msg, bad[k].says) != NULL, "\"%s\": message \"%s\" should say \"%s\"", bad[k].text, msg,
                     bad[k].says);
            TO_CHECK(t, memcmp(parts, before, sizeof parts) == 0 && memcmp(&join, &j0, sizeof join) == 0,
                     "\"%s\": a failed parse wrote its outputs", bad[k].text);
        }
        to_expect_status(t, trainopt_schedule_parse_join(NULL, &join, parts, 4, msg, sizeof msg), TRAINOPT_ERR_NULL,
                         "parse_join(NULL)");
        to_expect_status(t, trainopt_schedule_parse_join("fixed", NULL, parts, 4, msg, sizeof msg), TRAINOPT_ERR_NULL,
                         "parse_join(join NULL)");
    }
}

/* The DEFAULTS initializers match PyTorch's constructor defaults, checked against the golden data's
   onecycle_a (OneCycleLR(max_lr=0.1, total_steps=300)) and plateau_defaults. */
static void test_defaults(to_ctx *t) {
    trainopt_onecycle_config oc = TRAINOPT_ONECYCLE_DEFAULTS;
    trainopt_cyclic_config cy = TRAINOPT_CYCLIC_DEFAULTS;
    trainopt_plateau_config pc = TRAINOPT_PLATEAU_DEFAULTS;
    TO_CHECK(t, oc.pct_start == 0.3 && oc.anneal_strategy == TRAINOPT_ANNEAL_COS && oc.div_factor == 25.0 &&
                    oc.final_div_factor == 1e4 && !oc.three_phase && oc.base_momentum == 0.85 && oc.max_momentum == 0.95,
             "TRAINOPT_ONECYCLE_DEFAULTS");
    TO_CHECK(t, cy.step_size_up == 2000 && cy.step_size_down == -1 && cy.mode == TRAINOPT_CYCLIC_TRIANGULAR &&
                    cy.gamma == 1.0 && cy.base_momentum == 0.8 && cy.max_momentum == 0.9,
             "TRAINOPT_CYCLIC_DEFAULTS");
    TO_CHECK(t, pc.mode == TRAINOPT_PLATEAU_MIN && pc.factor == 0.1 && pc.patience == 10 && pc.threshold == 1e-4 &&
                    pc.threshold_mode == TRAINOPT_THRESHOLD_REL && pc.cooldown == 0 && pc.min_lr == 0.0 &&
                    pc.eps == 1e-8,
             "TRAINOPT_PLATEAU_DEFAULTS");
    /* cyclic with step_size_down -1 is the same as step_size_down = step_size_up */
    {
        trainopt_cyclic_config a = TRAINOPT_CYCLIC_DEFAULTS, b;
        int64_t i;
        a.base_lr = 0.001, a.max_lr = 0.1, a.step_size_up = 13;
        b = a;
        b.step_size_down = 13;
        for (i = 0; i < 200; i++) {
            CHECK_EQ(t, trainopt_lr_cyclic(&a, i), trainopt_lr_cyclic(&b, i), "step_size_down -1, t %lld", (long long)i);
            CHECK_EQ(t, trainopt_momentum_cyclic(&a, i), trainopt_momentum_cyclic(&b, i), "momentum, t %lld",
                     (long long)i);
        }
    }
}

void schedules_tests_once(to_ctx *t) {
    to_run(t, "golden_pytorch_keras_optax", test_golden_pytorch);
    to_run(t, "golden_plateau", test_golden_plateau);
    to_run(t, "keras_optax_formulas", test_keras_optax_formulas);
    to_run(t, "t_zero", test_t_zero);
    to_run(t, "past_the_end", test_past_the_end);
    to_run(t, "t_max_one", test_t_max_one);
    to_run(t, "restarts_t_mult", test_restarts_t_mult);
    to_run(t, "warmup", test_warmup);
    to_run(t, "int64_steps", test_int64_steps);
    to_run(t, "invalid_arguments", test_invalid_arguments);
    to_run(t, "plateau_rules", test_plateau_rules);
    to_run(t, "plateau_errors", test_plateau_errors);
    to_run(t, "parse_ok", test_parse_ok);
    to_run(t, "parse_errors", test_parse_errors);
    to_run(t, "parse_join", test_parse_join);
    to_run(t, "defaults", test_defaults);
}
