/* >>schedules .. >>plateau: double-precision code only, compiled once (for the baseline
   ISA) when dispatch repeats the vector code per variant (>>dispatch). */
#ifndef TRAINOPT__VARIANT_PASS

/* >>schedules */

#define TRAINOPT__PI 3.141592653589793 /* math.pi, the double nearest pi */

/* a*b rounded to double on its own. Python rounds every operation; a compiler
   allowed to contract (gcc's default) would fuse a*b + c into one fma and move
   the last bit. The volatile store stops it everywhere, which
   #pragma STDC FP_CONTRACT OFF does not (gcc ignores it). */
TRAINOPT__FORCE_INLINE double trainopt__sched_mul(double a, double b) {
    volatile double p = a * b;
    return p;
}
TRAINOPT__FORCE_INLINE int trainopt__in_closed01(double x) { return trainopt__finite(x) && x >= 0.0 && x <= 1.0; }

TRAINOPT_API double trainopt_lr_step(double base_lr, int64_t t, int64_t step_size, double gamma) {
    if (t < 0 || step_size < 1 || !trainopt__nonneg(base_lr) || !trainopt__nonneg(gamma)) return NAN;
    return base_lr * pow(gamma, (double)(t / step_size));
}

TRAINOPT_API double trainopt_lr_multistep(double base_lr, int64_t t, const int64_t *milestones, size_t k,
                                          double gamma) {
    size_t i, passed = 0;
    if (t < 0 || (k > 0 && !milestones) || !trainopt__nonneg(base_lr) || !trainopt__nonneg(gamma)) return NAN;
    for (i = 0; i < k; i++) {
        if (milestones[i] < 0) return NAN;
        passed += milestones[i] <= t;
    }
    return base_lr * pow(gamma, (double)passed);
}

TRAINOPT_API double trainopt_lr_exponential(double base_lr, int64_t t, double gamma) {
    if (t < 0 || !trainopt__nonneg(base_lr) || !trainopt__nonneg(gamma)) return NAN;
    return base_lr * pow(gamma, (double)t);
}

TRAINOPT_API double trainopt_lr_inverse_time(double base_lr, int64_t t, double decay_rate, int64_t decay_steps,
                                             int staircase) {
    double p;
    if (t < 0 || decay_steps < 1 || !trainopt__nonneg(base_lr) || !trainopt__nonneg(decay_rate)) return NAN;
    p = staircase ? (double)(t / decay_steps) : (double)t / (double)decay_steps;
    return base_lr / (1.0 + trainopt__sched_mul(decay_rate, p));
}

TRAINOPT_API double trainopt_lr_polynomial(double base_lr, int64_t t, int64_t total_iters, double power,
                                           double end_lr) {
    double f;
    if (t < 0 || total_iters < 1 || !trainopt__nonneg(base_lr) || !trainopt__nonneg(power) ||
        !trainopt__nonneg(end_lr))
        return NAN;
    f = pow(1.0 - (double)(t < total_iters ? t : total_iters) / (double)total_iters, power);
    return trainopt__sched_mul(base_lr - end_lr, f) + end_lr;
}

TRAINOPT_API double trainopt_lr_linear(double base_lr, int64_t t, double start_factor, double end_factor,
                                       int64_t total_iters) {
    double m;
    if (t < 0 || total_iters < 1 || !trainopt__nonneg(base_lr) || !trainopt__in_closed01(start_factor) ||
        !trainopt__in_closed01(end_factor))
        return NAN;
    m = (double)(t < total_iters ? t : total_iters);
    return base_lr * (start_factor + ((end_factor - start_factor) * m) / (double)total_iters);
}

TRAINOPT_API double trainopt_lr_constant(double base_lr, int64_t t, double factor, int64_t total_iters) {
    if (t < 0 || total_iters < 0 || !trainopt__nonneg(base_lr) || !trainopt__in_closed01(factor)) return NAN;
    return t >= total_iters ? base_lr * (factor + (1.0 - factor)) : base_lr * factor;
}

/* eta_min + (base - eta_min) * (1 + cos(pi * num / den)) / 2, in PyTorch's order. */
TRAINOPT__FORCE_INLINE double trainopt__cosine(double base_lr, double eta_min, double num, double den) {
    double c = cos(TRAINOPT__PI * num / den);
    return eta_min + trainopt__sched_mul(base_lr - eta_min, 1.0 + c) / 2.0;
}

TRAINOPT_API double trainopt_lr_cosine(double base_lr, int64_t t, int64_t t_max, double eta_min) {
    if (t < 0 || t_max < 1 || !trainopt__nonneg(base_lr) || !trainopt__nonneg(eta_min)) return NAN;
    return trainopt__cosine(base_lr, eta_min, (double)t, (double)t_max);
}

TRAINOPT_API double trainopt_lr_cosine_restarts(double base_lr, int64_t t, int64_t t_0, int64_t t_mult,
                                                double eta_min) {
    int64_t cur = t, period = t_0;
    double t_i;
    if (t < 0 || t_0 < 1 || t_mult < 1 || !trainopt__nonneg(base_lr) || !trainopt__nonneg(eta_min)) return NAN;
    if (t_mult == 1) {
        cur = t % t_0;
        t_i = (double)t_0;
    } else {
        /* At most 63 periods fit in int64; the loop walks them as PyTorch's step() does. */
        for (;;) {
            if (cur < period) {
                t_i = (double)period;
                break;
            }
            cur -= period;
            if (period > INT64_MAX / t_mult) { /* the next period is longer than any int64 step */
                t_i = (double)period * (double)t_mult;
                break;
            }
            period *= t_mult;
        }
    }
    return trainopt__cosine(base_lr, eta_min, (double)cur, t_i);
}

TRAINOPT_API double trainopt_lr_warmup_cosine(double peak_lr, int64_t t, int64_t warmup_steps, int64_t decay_steps,
                                              double init_lr, double end_lr) {
    int64_t span, since;
    double c, alpha;
    if (t < 0 || warmup_steps < 0 || decay_steps <= warmup_steps || !trainopt__nonneg(peak_lr) ||
        !trainopt__nonneg(init_lr) || !trainopt__nonneg(end_lr))
        return NAN;
    if (t < warmup_steps) /* optax linear_schedule(init_lr, peak_lr, warmup_steps) */
        return trainopt__sched_mul(init_lr - peak_lr, 1.0 - (double)t / (double)warmup_steps) + peak_lr;
    /* optax cosine_decay_schedule(peak_lr, decay_steps - warmup_steps, alpha) at t - warmup_steps */
    span = decay_steps - warmup_steps;
    since = t - warmup_steps;
    c = 0.5 * (1.0 + cos(TRAINOPT__PI * (double)(since < span ? since : span) / (double)span));
    alpha = peak_lr == 0.0 ? 0.0 : end_lr / peak_lr;
    return peak_lr * (trainopt__sched_mul(1.0 - alpha, c) + alpha);
}

TRAINOPT_API double trainopt_lr_warmup_factor(int64_t t, int64_t warmup_iters, double start_factor) {
    if (t < 0 || warmup_iters < 0 || !trainopt__in_closed01(start_factor)) return NAN;
    if (t >= warmup_iters) return 1.0;
    return start_factor + ((1.0 - start_factor) * (double)t) / (double)warmup_iters;
}

/* >>onecycle */

/* PyTorch's _annealing_cos / _annealing_linear, in its operation order. */
TRAINOPT__FORCE_INLINE double trainopt__anneal(int linear, double start, double end, double pct) {
    if (linear) return trainopt__sched_mul(end - start, pct) + start;
    return end + trainopt__sched_mul((start - end) / 2.0, cos(TRAINOPT__PI * pct) + 1.0);
}

static inline double trainopt__onecycle(const trainopt_onecycle_config *c, int64_t t, int momentum) {
    double total, initial, lo, ends[3], lr_from[3], lr_to[3], m_from[3], m_to[3], start = 0.0;
    int phases, i, linear;
    if (!c || t < 0 || c->total_steps < 1 || t > c->total_steps || !trainopt__nonneg(c->max_lr) ||
        !trainopt__in_closed01(c->pct_start) || !trainopt__finite(c->div_factor) || !(c->div_factor > 0.0) ||
        !trainopt__finite(c->final_div_factor) || !(c->final_div_factor > 0.0) ||
        (c->anneal_strategy != TRAINOPT_ANNEAL_COS && c->anneal_strategy != TRAINOPT_ANNEAL_LINEAR))
        return NAN;
    if (momentum && (!trainopt__finite(c->base_momentum) || !trainopt__finite(c->max_momentum))) return NAN;
    linear = c->anneal_strategy == TRAINOPT_ANNEAL_LINEAR;
    total = (double)c->total_steps;
    initial = c->max_lr / c->div_factor;
    lo = initial / c->final_div_factor;
    ends[0] = trainopt__sched_mul(c->pct_start, total) - 1.0;
    lr_from[0] = initial, lr_to[0] = c->max_lr, m_from[0] = c->max_momentum, m_to[0] = c->base_momentum;
    if (c->three_phase) {
        phases = 3;
        ends[1] = trainopt__sched_mul(2.0 * c->pct_start, total) - 2.0;
        lr_from[1] = c->max_lr, lr_to[1] = initial, m_from[1] = c->base_momentum, m_to[1] = c->max_momentum;
        ends[2] = (double)(c->total_steps - 1);
        lr_from[2] = initial, lr_to[2] = lo, m_from[2] = c->max_momentum, m_to[2] = c->max_momentum;
    } else {
        phases = 2;
        ends[1] = (double)(c->total_steps - 1);
        lr_from[1] = c->max_lr, lr_to[1] = lo, m_from[1] = c->base_momentum, m_to[1] = c->max_momentum;
    }
    for (i = 0; i < phases; i++) {
        if ((double)t <= ends[i] || i == phases - 1) {
            double len = ends[i] - start, pct;
            if (len == 0.0) return NAN; /* PyTorch: ZeroDivisionError */
            pct = ((double)t - start) / len;
            return momentum ? trainopt__anneal(linear, m_from[i], m_to[i], pct)
                            : trainopt__anneal(linear, lr_from[i], lr_to[i], pct);
        }
        start = ends[i];
    }
    return NAN; /* not reached */
}

TRAINOPT_API double trainopt_lr_onecycle(const trainopt_onecycle_config *c, int64_t t) {
    return trainopt__onecycle(c, t, 0);
}
TRAINOPT_API double trainopt_momentum_onecycle(const trainopt_onecycle_config *c, int64_t t) {
    return trainopt__onecycle(c, t, 1);
}

/* >>cyclic */

static inline double trainopt__cyclic(const trainopt_cyclic_config *c, int64_t t, int momentum) {
    double up, total, ratio, q, cycle, x, h, s;
    if (!c || t < 0 || !trainopt__nonneg(c->base_lr) || !trainopt__nonneg(c->max_lr) || c->step_size_up < 1 ||
        c->step_size_down < -1 || !trainopt__nonneg(c->gamma) ||
        (c->mode != TRAINOPT_CYCLIC_TRIANGULAR && c->mode != TRAINOPT_CYCLIC_TRIANGULAR2 &&
         c->mode != TRAINOPT_CYCLIC_EXP_RANGE))
        return NAN;
    if (momentum && (!trainopt__finite(c->base_momentum) || !trainopt__finite(c->max_momentum))) return NAN;
    up = (double)c->step_size_up;
    total = up + (c->step_size_down < 0 ? up : (double)c->step_size_down);
    ratio = up / total;
    q = (double)t / total;
    cycle = floor(1.0 + q);
    x = 1.0 + q - cycle;
    h = x <= ratio ? x / ratio : (x - 1.0) / (ratio - 1.0);
    s = c->mode == TRAINOPT_CYCLIC_TRIANGULAR    ? 1.0
        : c->mode == TRAINOPT_CYCLIC_TRIANGULAR2 ? 1.0 / pow(2.0, cycle - 1.0)
                                                 : pow(c->gamma, (double)t);
    if (momentum) return c->max_momentum - trainopt__sched_mul((c->max_momentum - c->base_momentum) * h, s);
    return c->base_lr + trainopt__sched_mul((c->max_lr - c->base_lr) * h, s);
}

TRAINOPT_API double trainopt_lr_cyclic(const trainopt_cyclic_config *c, int64_t t) { return trainopt__cyclic(c, t, 0); }
TRAINOPT_API double trainopt_momentum_cyclic(const trainopt_cyclic_config *c, int64_t t) {
    return trainopt__cyclic(c, t, 1);
}

/* >>schedule: the tagged description, its evaluator and its parser. */

TRAINOPT_API const char *trainopt_schedule_kind_name(trainopt_schedule_kind kind) {
    static const char *const names[] = {
#define TRAINOPT__SCHEDULE_KIND_NAME(id, name) name,
        TRAINOPT__SCHEDULE_KINDS(TRAINOPT__SCHEDULE_KIND_NAME)
#undef TRAINOPT__SCHEDULE_KIND_NAME
    };
    return ((unsigned)kind < (unsigned)TRAINOPT__SCHEDULE_KIND_COUNT) ? names[kind] : "unknown";
}

/* PyTorch's defaults for `kind`; lr is NaN and required parameters without a
   default are NaN or 0, which the schedule refuses until they are set. */
TRAINOPT_API trainopt_schedule trainopt_schedule_defaults(trainopt_schedule_kind kind) {
    trainopt_schedule s;
    size_t i;
    s.kind = kind;
    s.lr = NAN;
    s.gamma = kind == TRAINOPT_SCHEDULE_EXPONENTIAL ? NAN : kind == TRAINOPT_SCHEDULE_CYCLIC ? 1.0 : 0.1;
    s.step_size = 0;
    for (i = 0; i < TRAINOPT_SCHEDULE_MAX_MILESTONES; i++) s.milestones[i] = 0;
    s.milestone_count = 0;
    s.decay_rate = NAN;
    s.decay_steps = 0;
    s.staircase = 0;
    s.total_iters = 5;
    s.power = 1.0;
    s.end_lr = 0.0;
    s.start_factor = 1.0 / 3;
    s.end_factor = 1.0;
    s.factor = 1.0 / 3;
    s.t_max = 0;
    s.t_0 = 0;
    s.t_mult = 1;
    s.eta_min = 0.0;
    s.warmup_steps = -1;
    s.init_lr = 0.0;
    s.total_steps = 0;
    s.pct_start = 0.3;
    s.div_factor = 25.0;
    s.final_div_factor = 1e4;
    s.anneal_strategy = TRAINOPT_ANNEAL_COS;
    s.three_phase = 0;
    s.base_momentum = kind == TRAINOPT_SCHEDULE_CYCLIC ? 0.8 : 0.85;
    s.max_momentum = kind == TRAINOPT_SCHEDULE_CYCLIC ? 0.9 : 0.95;
    s.max_lr = NAN;
    s.step_size_up = 2000;
    s.step_size_down = -1;
    s.mode = TRAINOPT_CYCLIC_TRIANGULAR;
    s.warmup_iters = 0;
    s.warmup_start_factor = 1.0 / 3;
    s.parts = NULL;
    return s;
}

/* One non-join schedule at t with lr = s->lr (or fallback_lr when s->lr is NaN). */
static inline double trainopt__schedule_part(const trainopt_schedule *s, int64_t t, double fallback_lr,
                                                      int momentum) {
    double lr = s->lr != s->lr ? fallback_lr : s->lr, v;
    if (momentum) {
        if (s->kind == TRAINOPT_SCHEDULE_ONECYCLE || s->kind == TRAINOPT_SCHEDULE_CYCLIC) {
            /* the lr must be valid too: a schedule is valid or not as a whole */
            if (!trainopt__nonneg(lr)) return NAN;
        } else {
            return NAN;
        }
    }
    switch (s->kind) {
    case TRAINOPT_SCHEDULE_FIXED: v = t >= 0 && trainopt__nonneg(lr) ? lr : NAN; break;
    case TRAINOPT_SCHEDULE_STEP: v = trainopt_lr_step(lr, t, s->step_size, s->gamma); break;
    case TRAINOPT_SCHEDULE_MULTISTEP:
        v = s->milestone_count > TRAINOPT_SCHEDULE_MAX_MILESTONES
                ? NAN
                : trainopt_lr_multistep(lr, t, s->milestones, s->milestone_count, s->gamma);
        break;
    case TRAINOPT_SCHEDULE_EXPONENTIAL: v = trainopt_lr_exponential(lr, t, s->gamma); break;
    case TRAINOPT_SCHEDULE_INVERSE_TIME:
        v = trainopt_lr_inverse_time(lr, t, s->decay_rate, s->decay_steps, s->staircase);
        break;
    case TRAINOPT_SCHEDULE_POLYNOMIAL: v = trainopt_lr_polynomial(lr, t, s->total_iters, s->power, s->end_lr); break;
    case TRAINOPT_SCHEDULE_LINEAR:
        v = trainopt_lr_linear(lr, t, s->start_factor, s->end_factor, s->total_iters);
        break;
    case TRAINOPT_SCHEDULE_CONSTANT: v = trainopt_lr_constant(lr, t, s->factor, s->total_iters); break;
    case TRAINOPT_SCHEDULE_COSINE: v = trainopt_lr_cosine(lr, t, s->t_max, s->eta_min); break;
    case TRAINOPT_SCHEDULE_COSINE_RESTARTS:
        v = trainopt_lr_cosine_restarts(lr, t, s->t_0, s->t_mult, s->eta_min);
        break;
    case TRAINOPT_SCHEDULE_WARMUP_COSINE:
        v = trainopt_lr_warmup_cosine(lr, t, s->warmup_steps, s->decay_steps, s->init_lr, s->end_lr);
        break;
    case TRAINOPT_SCHEDULE_ONECYCLE: {
        trainopt_onecycle_config c;
        c.max_lr = lr, c.total_steps = s->total_steps, c.pct_start = s->pct_start;
        c.anneal_strategy = s->anneal_strategy, c.div_factor = s->div_factor;
        c.final_div_factor = s->final_div_factor, c.three_phase = s->three_phase;
        c.base_momentum = s->base_momentum, c.max_momentum = s->max_momentum;
        v = trainopt__onecycle(&c, t, momentum);
        break;
    }
    case TRAINOPT_SCHEDULE_CYCLIC: {
        trainopt_cyclic_config c;
        c.base_lr = lr, c.max_lr = s->max_lr, c.step_size_up = s->step_size_up;
        c.step_size_down = s->step_size_down, c.mode = s->mode, c.gamma = s->gamma;
        c.base_momentum = s->base_momentum, c.max_momentum = s->max_momentum;
        v = trainopt__cyclic(&c, t, momentum);
        break;
    }
    default: return NAN; /* joins are not parts; unknown kinds */
    }
    {
        double w = trainopt_lr_warmup_factor(t, s->warmup_iters, s->warmup_start_factor);
        if (w != w) return NAN;
        return momentum ? v : v * w;
    }
}

/* A join: every part must be valid (checked at its own t = 0), so that validity
   does not depend on t. */
static inline double trainopt__join(const trainopt_schedule *parts, size_t k, const int64_t *milestones,
                                             int64_t t, double fallback_lr, int momentum) {
    size_t i, at = 0;
    int64_t begin = 0;
    if (!parts || k == 0 || (k > 1 && !milestones) || t < 0) return NAN;
    for (i = 0; i < k; i++) {
        double v0 = trainopt__schedule_part(&parts[i], 0, fallback_lr, 0);
        if (v0 != v0) return NAN;
        if (momentum && (parts[i].kind == TRAINOPT_SCHEDULE_ONECYCLE || parts[i].kind == TRAINOPT_SCHEDULE_CYCLIC)) {
            v0 = trainopt__schedule_part(&parts[i], 0, fallback_lr, 1);
            if (v0 != v0) return NAN;
        }
    }
    for (i = 0; i + 1 < k; i++) {
        if (milestones[i] < 0 || (i > 0 && milestones[i] < milestones[i - 1])) return NAN;
        if (milestones[i] <= t) at = i + 1, begin = milestones[i];
    }
    return trainopt__schedule_part(&parts[at], t - begin, fallback_lr, momentum);
}

static inline double trainopt__schedule_eval(const trainopt_schedule *s, int64_t t, int momentum) {
    double v, w;
    if (!s) return NAN;
    if (s->kind != TRAINOPT_SCHEDULE_JOIN) return trainopt__schedule_part(s, t, NAN, momentum);
    if (s->milestone_count > TRAINOPT_SCHEDULE_MAX_MILESTONES) return NAN;
    v = trainopt__join(s->parts, s->milestone_count + 1, s->milestones, t, s->lr, momentum);
    w = trainopt_lr_warmup_factor(t, s->warmup_iters, s->warmup_start_factor);
    if (w != w) return NAN;
    return momentum ? v : v * w;
}

TRAINOPT_API double trainopt_schedule_lr(const trainopt_schedule *s, int64_t t) {
    return trainopt__schedule_eval(s, t, 0);
}
TRAINOPT_API double trainopt_schedule_momentum(const trainopt_schedule *s, int64_t t) {
    return trainopt__schedule_eval(s, t, 1);
}
TRAINOPT_API double trainopt_lr_join(const trainopt_schedule *parts, size_t k, const int64_t *milestones, int64_t t) {
    return trainopt__join(parts, k, milestones, t, NAN, 0);
}

/* >>parse */
enum { TRAINOPT__F_DOUBLE, TRAINOPT__F_INT, TRAINOPT__F_BOOL, TRAINOPT__F_ANNEAL, TRAINOPT__F_MODE, TRAINOPT__F_LIST };

typedef struct {
    const char *key;
    int type;
    size_t offset;
} trainopt__sched_field;

#define TRAINOPT__SF(key, type) {#key, TRAINOPT__F_##type, offsetof(trainopt_schedule, key)}
static const trainopt__sched_field trainopt__sched_fields[] = {
    TRAINOPT__SF(lr, DOUBLE),           TRAINOPT__SF(gamma, DOUBLE),        TRAINOPT__SF(step_size, INT),
    TRAINOPT__SF(milestones, LIST),     TRAINOPT__SF(decay_rate, DOUBLE),   TRAINOPT__SF(decay_steps, INT),
    TRAINOPT__SF(staircase, BOOL),      TRAINOPT__SF(total_iters, INT),     TRAINOPT__SF(power, DOUBLE),
    TRAINOPT__SF(end_lr, DOUBLE),       TRAINOPT__SF(start_factor, DOUBLE), TRAINOPT__SF(end_factor, DOUBLE),
    TRAINOPT__SF(factor, DOUBLE),       TRAINOPT__SF(t_max, INT),           TRAINOPT__SF(t_0, INT),
    TRAINOPT__SF(t_mult, INT),          TRAINOPT__SF(eta_min, DOUBLE),      TRAINOPT__SF(warmup_steps, INT),
    TRAINOPT__SF(init_lr, DOUBLE),      TRAINOPT__SF(total_steps, INT),     TRAINOPT__SF(pct_start, DOUBLE),
    TRAINOPT__SF(div_factor, DOUBLE),   TRAINOPT__SF(final_div_factor, DOUBLE),
    TRAINOPT__SF(anneal_strategy, ANNEAL), TRAINOPT__SF(three_phase, BOOL), TRAINOPT__SF(base_momentum, DOUBLE),
    TRAINOPT__SF(max_momentum, DOUBLE), TRAINOPT__SF(max_lr, DOUBLE),       TRAINOPT__SF(step_size_up, INT),
    TRAINOPT__SF(step_size_down, INT),  TRAINOPT__SF(mode, MODE),           TRAINOPT__SF(warmup_iters, INT),
    TRAINOPT__SF(warmup_start_factor, DOUBLE),
};
#undef TRAINOPT__SF
#define TRAINOPT__SCHED_FIELD_COUNT (sizeof trainopt__sched_fields / sizeof trainopt__sched_fields[0])

/* Per kind: its fields ("!" = required) and, for messages, the ranges it accepts. */
static const char *const trainopt__sched_kind_fields[][2] = {
    {"lr", "lr >= 0"},
    {"lr step_size! gamma", "lr >= 0, step_size >= 1, gamma >= 0"},
    {"lr milestones! gamma", "lr >= 0, milestones >= 0, gamma >= 0"},
    {"lr gamma!", "lr >= 0, gamma >= 0"},
    {"lr decay_rate! decay_steps! staircase", "lr >= 0, decay_rate >= 0, decay_steps >= 1"},
    {"lr total_iters power end_lr", "lr >= 0, total_iters >= 1, power >= 0, end_lr >= 0"},
    {"lr start_factor end_factor total_iters", "lr >= 0, start_factor and end_factor in [0, 1], total_iters >= 1"},
    {"lr factor total_iters", "lr >= 0, factor in [0, 1], total_iters >= 0"},
    {"lr t_max! eta_min", "lr >= 0, t_max >= 1, eta_min >= 0"},
    {"lr t_0! t_mult eta_min", "lr >= 0, t_0 >= 1, t_mult >= 1, eta_min >= 0"},
    {"lr warmup_steps! decay_steps! init_lr end_lr",
     "lr, init_lr, end_lr >= 0, warmup_steps >= 0, decay_steps > warmup_steps"},
    {"lr total_steps! pct_start anneal_strategy div_factor final_div_factor three_phase base_momentum max_momentum",
     "lr >= 0, total_steps >= 1, pct_start in [0, 1], div_factor > 0, final_div_factor > 0, "
     "pct_start * total_steps != 1, finite momenta"},
    {"lr max_lr! step_size_up step_size_down mode gamma base_momentum max_momentum",
     "lr, max_lr, gamma >= 0, step_size_up >= 1, step_size_down >= 0 (or -1), finite momenta"},
    {"", ""},
};

/* Appends [a, a+n) to msg (size cap, length *len), truncating. */
TRAINOPT__FORCE_INLINE void trainopt__msg_n(char *msg, size_t cap, size_t *len, const char *a, size_t n) {
    size_t i;
    if (!msg || cap == 0) return;
    for (i = 0; i < n && a[i] && *len + 1 < cap; i++) msg[(*len)++] = a[i];
    msg[*len] = '\0';
}
TRAINOPT__FORCE_INLINE void trainopt__msg(char *msg, size_t cap, size_t *len, const char *a) {
    trainopt__msg_n(msg, cap, len, a, (size_t)-1);
}
TRAINOPT__FORCE_INLINE int trainopt__is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
TRAINOPT__FORCE_INLINE int trainopt__is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
/* [a, a+n) equals the NUL-terminated b. */
TRAINOPT__FORCE_INLINE int trainopt__word_is(const char *a, size_t n, const char *b) {
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] != a[i]) return 0;
    return b[n] == '\0';
}
/* The word [key, key+n) is in the space-separated list, maybe marked required by a "!" after it. */
static inline int trainopt__list_has(const char *list, const char *key, size_t n, int *required) {
    while (*list) {
        size_t m = 0, i = 0;
        while (list[m] && list[m] != ' ' && list[m] != '!') m++;
        while (i < n && i < m && list[i] == key[i]) i++;
        if (m == n && i == n) {
            if (required) *required = list[m] == '!';
            return 1;
        }
        list += m;
        while (*list == ' ' || *list == '!') list++;
    }
    return 0;
}

/* A number from [a, a+n) (no spaces): strtod on a NUL-terminated copy. */
static inline int trainopt__parse_double(const char *a, size_t n, double *out) {
    char buf[64], *end;
    size_t i;
    if (n == 0 || n >= sizeof buf) return 0;
    for (i = 0; i < n; i++) buf[i] = a[i];
    buf[n] = '\0';
    *out = strtod(buf, &end);
    return end == buf + n;
}
/* An integer: digits with an optional sign, or an integral number such as 1e4 (up to 2^53). */
static inline int trainopt__parse_int(const char *a, size_t n, int64_t *out) {
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0;
    double d;
    if (n > 0 && (a[0] == '-' || a[0] == '+')) neg = a[0] == '-', i = 1;
    if (i < n) {
        size_t j = i;
        while (j < n && a[j] >= '0' && a[j] <= '9') {
            if (v > (UINT64_MAX - 9) / 10) break;
            v = v * 10 + (uint64_t)(a[j] - '0');
            j++;
        }
        if (j == n && v <= (uint64_t)INT64_MAX) {
            *out = neg ? -(int64_t)v : (int64_t)v;
            return 1;
        }
    }
    if (!trainopt__parse_double(a, n, &d) || !(d >= -9007199254740992.0 && d <= 9007199254740992.0) ||
        d != floor(d))
        return 0;
    *out = (int64_t)d;
    return 1;
}

/* Sets one field of s from the value text [v, v+n). Returns 0 when the value is malformed. */
static inline int trainopt__set_field(trainopt_schedule *s, const trainopt__sched_field *f, const char *v,
                                               size_t n) {
    char *base = (char *)s + f->offset;
    switch (f->type) {
    case TRAINOPT__F_DOUBLE: {
        double d;
        if (!trainopt__parse_double(v, n, &d)) return 0;
        *(double *)(void *)base = d;
        return 1;
    }
    case TRAINOPT__F_INT: return trainopt__parse_int(v, n, (int64_t *)(void *)base);
    case TRAINOPT__F_BOOL:
        if (trainopt__word_is(v, n, "1") || trainopt__word_is(v, n, "true")) *(int *)(void *)base = 1;
        else if (trainopt__word_is(v, n, "0") || trainopt__word_is(v, n, "false")) *(int *)(void *)base = 0;
        else return 0;
        return 1;
    case TRAINOPT__F_ANNEAL:
        if (trainopt__word_is(v, n, "cos")) s->anneal_strategy = TRAINOPT_ANNEAL_COS;
        else if (trainopt__word_is(v, n, "linear")) s->anneal_strategy = TRAINOPT_ANNEAL_LINEAR;
        else return 0;
        return 1;
    case TRAINOPT__F_MODE:
        if (trainopt__word_is(v, n, "triangular")) s->mode = TRAINOPT_CYCLIC_TRIANGULAR;
        else if (trainopt__word_is(v, n, "triangular2")) s->mode = TRAINOPT_CYCLIC_TRIANGULAR2;
        else if (trainopt__word_is(v, n, "exp_range")) s->mode = TRAINOPT_CYCLIC_EXP_RANGE;
        else return 0;
        return 1;
    default: { /* "[a,b,...]" */
        size_t i = 1, count = 0;
        if (n < 2 || v[0] != '[' || v[n - 1] != ']') return 0;
        while (i < n - 1) {
            size_t j;
            while (i < n - 1 && trainopt__is_space(v[i])) i++;
            if (i == n - 1) break;
            j = i;
            while (j < n - 1 && v[j] != ',' && !trainopt__is_space(v[j])) j++;
            if (count == TRAINOPT_SCHEDULE_MAX_MILESTONES || !trainopt__parse_int(v + i, j - i, &s->milestones[count]))
                return 0;
            count++;
            while (j < n - 1 && trainopt__is_space(v[j])) j++;
            if (j < n - 1 && v[j] != ',') return 0;
            i = j + 1;
            if (j < n - 1 && i == n - 1) return 0; /* a trailing comma */
        }
        s->milestone_count = count;
        return 1;
    }
    }
}

/* Parses one schedule from [a, b). Writes *out only on success. A text that does not
   read as a schedule (syntax, an unknown name or field, a value that is not a number,
   a field missing) is TRAINOPT_ERR_PARSE; values that read but are out of range,
   TRAINOPT_ERR_HPARAM. */
static inline trainopt_status trainopt__parse_one(const char *a, const char *b, trainopt_schedule *out,
                                                           char *msg, size_t cap) {
    size_t len = 0, n, k;
    const char *p = a, *fields;
    uint64_t seen = 0;
    int kind = -1;
    trainopt_schedule s;
    while (p < b && trainopt__is_space(*p)) p++;
    for (n = 0; p + n < b && trainopt__is_word(p[n]); n++) {}
    for (k = 0; k < (size_t)TRAINOPT_SCHEDULE_JOIN; k++)
        if (trainopt__word_is(p, n, trainopt_schedule_kind_name((trainopt_schedule_kind)k))) kind = (int)k;
    if (kind < 0) {
        trainopt__msg(msg, cap, &len, "unknown schedule \"");
        trainopt__msg_n(msg, cap, &len, p, n);
        trainopt__msg(msg, cap, &len, "\" (known: ");
        for (k = 0; k < (size_t)TRAINOPT_SCHEDULE_JOIN; k++) {
            trainopt__msg(msg, cap, &len, k ? ", " : "");
            trainopt__msg(msg, cap, &len, trainopt_schedule_kind_name((trainopt_schedule_kind)k));
        }
        trainopt__msg(msg, cap, &len, ")");
        return TRAINOPT_ERR_PARSE;
    }
    s = trainopt_schedule_defaults((trainopt_schedule_kind)kind);
    fields = trainopt__sched_kind_fields[kind][0];
    p += n;
    while (p < b && trainopt__is_space(*p)) p++;
    if (p < b && *p != ':') {
        trainopt__msg(msg, cap, &len, "expected ':' after \"");
        trainopt__msg(msg, cap, &len, trainopt_schedule_kind_name((trainopt_schedule_kind)kind));
        trainopt__msg(msg, cap, &len, "\"");
        if (*p == '@') trainopt__msg(msg, cap, &len, " ('@' joins schedules: use trainopt_schedule_parse_join)");
        return TRAINOPT_ERR_PARSE;
    }
    if (p < b) p++;
    while (p < b) {
        const char *key, *val;
        size_t kn, vn, f;
        int known = 0, required;
        while (p < b && trainopt__is_space(*p)) p++;
        key = p;
        for (kn = 0; key + kn < b && trainopt__is_word(key[kn]); kn++) {}
        p += kn;
        while (p < b && trainopt__is_space(*p)) p++;
        if (kn == 0 || p == b || *p != '=') {
            trainopt__msg(msg, cap, &len, "expected field=value at \"");
            trainopt__msg_n(msg, cap, &len, key, (size_t)(b - key));
            trainopt__msg(msg, cap, &len, "\"");
            return TRAINOPT_ERR_PARSE;
        }
        p++;
        while (p < b && trainopt__is_space(*p)) p++;
        val = p;
        if (p < b && *p == '[') {
            while (p < b && *p != ']') p++;
            if (p < b) p++;
        } else {
            while (p < b && *p != ',' && !trainopt__is_space(*p)) p++;
        }
        vn = (size_t)(p - val);
        for (f = 0; f < TRAINOPT__SCHED_FIELD_COUNT; f++)
            if (trainopt__word_is(key, kn, trainopt__sched_fields[f].key)) break;
        if (f < TRAINOPT__SCHED_FIELD_COUNT)
            known = trainopt__list_has(fields, key, kn, &required) || trainopt__word_is(key, kn, "warmup_iters") ||
                    trainopt__word_is(key, kn, "warmup_start_factor");
        if (!known) {
            trainopt__msg(msg, cap, &len, f < TRAINOPT__SCHED_FIELD_COUNT ? "field \"" : "unknown field \"");
            trainopt__msg_n(msg, cap, &len, key, kn);
            trainopt__msg(msg, cap, &len, f < TRAINOPT__SCHED_FIELD_COUNT ? "\" does not apply to " : "\" for ");
            trainopt__msg(msg, cap, &len, trainopt_schedule_kind_name((trainopt_schedule_kind)kind));
            trainopt__msg(msg, cap, &len, " (its fields: ");
            trainopt__msg(msg, cap, &len, fields);
            trainopt__msg(msg, cap, &len, " warmup_iters warmup_start_factor)");
            return TRAINOPT_ERR_PARSE;
        }
        if (seen >> f & 1u) {
            trainopt__msg(msg, cap, &len, "field \"");
            trainopt__msg_n(msg, cap, &len, key, kn);
            trainopt__msg(msg, cap, &len, "\" given twice");
            return TRAINOPT_ERR_PARSE;
        }
        seen |= (uint64_t)1 << f;
        if (!trainopt__set_field(&s, &trainopt__sched_fields[f], val, vn)) {
            static const char *const what[] = {"a number", "an integer", "0, 1, true or false", "cos or linear",
                                               "triangular, triangular2 or exp_range", "a list such as [30,80]"};
            trainopt__msg(msg, cap, &len, "bad value \"");
            trainopt__msg_n(msg, cap, &len, val, vn);
            trainopt__msg(msg, cap, &len, "\" for ");
            trainopt__msg_n(msg, cap, &len, key, kn);
            trainopt__msg(msg, cap, &len, " (expected ");
            trainopt__msg(msg, cap, &len, what[trainopt__sched_fields[f].type]);
            trainopt__msg(msg, cap, &len, ")");
            return TRAINOPT_ERR_PARSE;
        }
        while (p < b && trainopt__is_space(*p)) p++;
        if (p < b && *p != ',') {
            trainopt__msg(msg, cap, &len, "expected ',' before \"");
            trainopt__msg_n(msg, cap, &len, p, (size_t)(b - p));
            trainopt__msg(msg, cap, &len, "\"");
            if (*p == '@') trainopt__msg(msg, cap, &len, " ('@' joins schedules: use trainopt_schedule_parse_join)");
            return TRAINOPT_ERR_PARSE;
        }
        if (p < b) {
            p++;
            while (p < b && trainopt__is_space(*p)) p++;
            if (p == b) {
                trainopt__msg(msg, cap, &len, "a field must follow the last ','");
                return TRAINOPT_ERR_PARSE;
            }
        }
    }
    { /* required fields */
        size_t f;
        for (f = 0; f < TRAINOPT__SCHED_FIELD_COUNT; f++) {
            const char *key = trainopt__sched_fields[f].key;
            size_t kn = 0;
            int required = 0;
            while (key[kn]) kn++;
            if (trainopt__list_has(fields, key, kn, &required) && required && !(seen >> f & 1u)) {
                trainopt__msg(msg, cap, &len, trainopt_schedule_kind_name((trainopt_schedule_kind)kind));
                trainopt__msg(msg, cap, &len, " needs ");
                trainopt__msg(msg, cap, &len, key);
                return TRAINOPT_ERR_PARSE;
            }
        }
    }
    { /* ranges: the schedule must evaluate (lr stands in as 1 when left for the caller) */
        trainopt_schedule probe = s;
        if (!(seen & 1u)) probe.lr = 1.0; /* field 0 is lr */
        if (trainopt_schedule_lr(&probe, 0) != trainopt_schedule_lr(&probe, 0) ||
            ((kind == TRAINOPT_SCHEDULE_ONECYCLE || kind == TRAINOPT_SCHEDULE_CYCLIC) &&
             trainopt_schedule_momentum(&probe, 0) != trainopt_schedule_momentum(&probe, 0))) {
            trainopt__msg(msg, cap, &len, "a value is out of range for ");
            trainopt__msg(msg, cap, &len, trainopt_schedule_kind_name((trainopt_schedule_kind)kind));
            trainopt__msg(msg, cap, &len, " (needs ");
            trainopt__msg(msg, cap, &len, trainopt__sched_kind_fields[kind][1]);
            trainopt__msg(msg, cap, &len, "; warmup_iters >= 0, warmup_start_factor in [0, 1])");
            return TRAINOPT_ERR_HPARAM;
        }
    }
    *out = s;
    trainopt__msg(msg, cap, &len, "");
    return TRAINOPT_OK;
}

/* Copies the parser's message to the caller's buffer (truncating) and, on an error, to
   trainopt_last_error's text after the function's name. */
static inline trainopt_status trainopt__parse_report(trainopt_status st, const char *fn, const char *text, char *msg,
                                                     size_t msg_size) {
    size_t len = 0;
    trainopt__msg(msg, msg_size, &len, text);
    return st == TRAINOPT_OK ? st : trainopt__once_fail(st, fn, "%s", text);
}

TRAINOPT_API trainopt_status trainopt_schedule_parse_msg(const char *text, trainopt_schedule *s, char *msg,
                                                         size_t msg_size) {
    static const char fn[] = "trainopt_schedule_parse_msg";
    char local[512];
    const char *end;
    if (msg && msg_size) msg[0] = '\0';
    if (!text) return trainopt__parse_report(TRAINOPT_ERR_NULL, fn, "null pointer: text is NULL", msg, msg_size);
    if (!s) return trainopt__parse_report(TRAINOPT_ERR_NULL, fn, "null pointer: s is NULL", msg, msg_size);
    for (end = text; *end; end++) {}
    local[0] = '\0';
    return trainopt__parse_report(trainopt__parse_one(text, end, s, local, sizeof local), fn, local, msg, msg_size);
}

TRAINOPT_API trainopt_status trainopt_schedule_parse(const char *text, trainopt_schedule *s) {
    static const char fn[] = "trainopt_schedule_parse";
    char local[512];
    const char *end;
    if (!text) return trainopt__once_null(fn, "text");
    if (!s) return trainopt__once_null(fn, "s");
    for (end = text; *end; end++) {}
    local[0] = '\0';
    return trainopt__parse_report(trainopt__parse_one(text, end, s, local, sizeof local), fn, local, NULL, 0);
}

/* Walks "part @m part @m part": checks every part and milestone; with `out` and
   `ms` also stores them (part i in out[i], or in *out alone when there is one).
   Returns the number of parts, or 0 after writing a message and the status to *st. */
static inline size_t trainopt__parse_parts(const char *text, trainopt_schedule *out, int64_t *ms, char *msg,
                                           size_t msg_size, trainopt_status *st) {
    trainopt_schedule one;
    int64_t m, last = 0;
    size_t k = 0, len = 0;
    const char *p = text;
    for (;;) {
        const char *e = p;
        while (*e && *e != '@') e++;
        if (k == TRAINOPT_SCHEDULE_MAX_MILESTONES + 1) {
            trainopt__msg(msg, msg_size, &len, "too many parts (more than TRAINOPT_SCHEDULE_MAX_MILESTONES + 1)");
            *st = TRAINOPT_ERR_PARSE;
            return 0;
        }
        if ((*st = trainopt__parse_one(p, e, out ? &out[k] : &one, msg, msg_size)) != TRAINOPT_OK) return 0;
        k++;
        if (!*e) return k;
        p = e + 1; /* "@milestone part" */
        while (trainopt__is_space(*p)) p++;
        e = p;
        while (*e >= '0' && *e <= '9') e++;
        if (e == p || !trainopt__parse_int(p, (size_t)(e - p), &m) || (k >= 2 && m < last)) {
            trainopt__msg(msg, msg_size, &len, "expected a milestone >= the one before after '@' at \"");
            trainopt__msg(msg, msg_size, &len, p);
            trainopt__msg(msg, msg_size, &len, "\"");
            /* digits that read but go backwards are a value error; anything else, syntax */
            *st = e == p || !trainopt__parse_int(p, (size_t)(e - p), &m) ? TRAINOPT_ERR_PARSE : TRAINOPT_ERR_HPARAM;
            return 0;
        }
        if (ms) ms[k - 1] = m;
        last = m;
        p = e;
    }
}

static inline trainopt_status trainopt__parse_join(const char *text, trainopt_schedule *join, trainopt_schedule *parts,
                                                   size_t max_parts, char *msg, size_t msg_size) {
    trainopt_status st = TRAINOPT_OK;
    size_t k, len = 0;
    /* First pass checks everything, so a failure writes nothing; the second stores. */
    k = trainopt__parse_parts(text, NULL, NULL, msg, msg_size, &st);
    if (k == 0) return st;
    if (k == 1) { /* one part needs no parts array */
        const char *end = text;
        while (*end) end++;
        return trainopt__parse_one(text, end, join, msg, msg_size);
    }
    if (k > max_parts) {
        trainopt__msg(msg, msg_size, &len, "more parts than max_parts");
        return TRAINOPT_ERR_HPARAM;
    }
    *join = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_JOIN);
    trainopt__parse_parts(text, parts, join->milestones, msg, msg_size, &st);
    join->milestone_count = k - 1;
    join->parts = parts;
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_schedule_parse_join(const char *text, trainopt_schedule *join,
                                                          trainopt_schedule *parts, size_t max_parts, char *msg,
                                                          size_t msg_size) {
    static const char fn[] = "trainopt_schedule_parse_join";
    char local[512];
    if (msg && msg_size) msg[0] = '\0';
    if (!text) return trainopt__parse_report(TRAINOPT_ERR_NULL, fn, "null pointer: text is NULL", msg, msg_size);
    if (!join) return trainopt__parse_report(TRAINOPT_ERR_NULL, fn, "null pointer: join is NULL", msg, msg_size);
    if (!parts && max_parts > 0)
        return trainopt__parse_report(TRAINOPT_ERR_NULL, fn, "null pointer: parts is NULL with max_parts > 0", msg, msg_size);
    local[0] = '\0';
    return trainopt__parse_report(trainopt__parse_join(text, join, parts, max_parts, local, sizeof local), fn, local, msg,
                                  msg_size);
}

/* >>plateau: ReduceLROnPlateau */

#define TRAINOPT__PLATEAU_READY 0x706c6174u

TRAINOPT__FORCE_INLINE int trainopt__plateau_ok(const trainopt_plateau_config *c, double lr) {
    return (c->mode == TRAINOPT_PLATEAU_MIN || c->mode == TRAINOPT_PLATEAU_MAX) &&
           (c->threshold_mode == TRAINOPT_THRESHOLD_REL || c->threshold_mode == TRAINOPT_THRESHOLD_ABS) &&
           trainopt__in_01(c->factor) && c->patience >= 0 && c->cooldown >= 0 && trainopt__nonneg(c->threshold) &&
           trainopt__nonneg(c->min_lr) && trainopt__nonneg(c->eps) && trainopt__nonneg(lr);
}

/* What trainopt__plateau_ok refuses, named for trainopt_last_error. */
static inline trainopt_status trainopt__plateau_why(const trainopt_plateau_config *c, double lr) {
    static const char fn[] = "trainopt_plateau_init";
    if (c->mode != TRAINOPT_PLATEAU_MIN && c->mode != TRAINOPT_PLATEAU_MAX)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "mode = %d is not TRAINOPT_PLATEAU_MIN or _MAX", (int)c->mode);
    if (c->threshold_mode != TRAINOPT_THRESHOLD_REL && c->threshold_mode != TRAINOPT_THRESHOLD_ABS)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "threshold_mode = %d is not TRAINOPT_THRESHOLD_REL or _ABS",
                                   (int)c->threshold_mode);
    if (!trainopt__in_01(c->factor))
        return trainopt__once_hparam(fn, "factor", c->factor, "is outside [0, 1) (PyTorch: Factor should be < 1.0)");
    if (c->patience < 0)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "patience = %lld is negative", (long long)c->patience);
    if (c->cooldown < 0)
        return trainopt__once_fail(TRAINOPT_ERR_HPARAM, fn, "cooldown = %lld is negative", (long long)c->cooldown);
    if (!trainopt__nonneg(c->threshold)) return trainopt__once_hparam(fn, "threshold", c->threshold, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->min_lr)) return trainopt__once_hparam(fn, "min_lr", c->min_lr, TRAINOPT__WHY_NONNEG);
    if (!trainopt__nonneg(c->eps)) return trainopt__once_hparam(fn, "eps", c->eps, TRAINOPT__WHY_NONNEG);
    return trainopt__once_hparam(fn, "lr", lr, TRAINOPT__WHY_NONNEG);
}

TRAINOPT_API trainopt_status trainopt_plateau_init(trainopt_plateau *p, const trainopt_plateau_config *c, double lr) {
    if (!p) return trainopt__once_null("trainopt_plateau_init", "p");
    if (!c) return trainopt__once_null("trainopt_plateau_init", "c (the config)");
    if (!trainopt__plateau_ok(c, lr)) return trainopt__plateau_why(c, lr);
    p->config = *c;
    p->lr = lr;
    p->best = c->mode == TRAINOPT_PLATEAU_MIN ? INFINITY : -INFINITY;
    p->num_bad_epochs = 0;
    p->cooldown_counter = 0;
    p->last_epoch = 0;
    p->ready = TRAINOPT__PLATEAU_READY;
    return TRAINOPT_OK;
}

TRAINOPT_API double trainopt_plateau_step(trainopt_plateau *p, double metric) {
    const trainopt_plateau_config *c;
    int better;
    if (!p || p->ready != TRAINOPT__PLATEAU_READY || !trainopt__plateau_ok(&p->config, p->lr)) return NAN;
    c = &p->config;
    p->last_epoch++;
    if (c->mode == TRAINOPT_PLATEAU_MIN)
        better = c->threshold_mode == TRAINOPT_THRESHOLD_REL ? metric < p->best * (1.0 - c->threshold)
                                                             : metric < p->best - c->threshold;
    else
        better = c->threshold_mode == TRAINOPT_THRESHOLD_REL ? metric > p->best * (c->threshold + 1.0)
                                                             : metric > p->best + c->threshold;
    if (better) {
        p->best = metric;
        p->num_bad_epochs = 0;
    } else {
        p->num_bad_epochs++;
    }
    if (p->cooldown_counter > 0) {
        p->cooldown_counter--;
        p->num_bad_epochs = 0; /* bad epochs in cooldown do not count */
    }
    if (p->num_bad_epochs > c->patience) {
        double reduced = trainopt__sched_mul(p->lr, c->factor);
        double next = c->min_lr > reduced ? c->min_lr : reduced; /* Python's max(reduced, min_lr) */
        if (p->lr - next > c->eps) p->lr = next;
        p->cooldown_counter = c->cooldown;
        p->num_bad_epochs = 0;
    }
    return p->lr;
}

#endif /* TRAINOPT__VARIANT_PASS */
