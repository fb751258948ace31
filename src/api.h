#ifndef TRAINOPT_H
#define TRAINOPT_H

#include <stddef.h>
#include <stdint.h>
#include <math.h> /* NAN, in the schedules' _DEFAULTS */

#define TRAINOPT_VERSION_MAJOR 0
#define TRAINOPT_VERSION_MINOR 2
#define TRAINOPT_VERSION_PATCH 0

/* Linkage of every public function: extern, or private copies in this translation
   unit with TRAINOPT_STATIC (which also compiles the implementation here). */
#if defined(TRAINOPT_STATIC) && !defined(TRAINOPT_IMPLEMENTATION)
#define TRAINOPT_IMPLEMENTATION
#endif
#ifndef TRAINOPT_API
#if defined(TRAINOPT_STATIC)
#define TRAINOPT_API static inline
#else
#define TRAINOPT_API extern
#endif
#endif

#define TRAINOPT__STR_(x) #x
#define TRAINOPT__STR(x) TRAINOPT__STR_(x)
/* TRAINOPT_SYMBOL_PREFIX (gcc and clang): every public function's link name is this
   prefix and its short name (trainopt_adam_step links as <prefix>adam_step), so two
   builds of trainopt can live in one program. The C names do not change. */
#if defined(TRAINOPT_SYMBOL_PREFIX)
#define TRAINOPT__SYMBOL(name) __asm__(TRAINOPT__STR(__USER_LABEL_PREFIX__) TRAINOPT__STR(TRAINOPT_SYMBOL_PREFIX) #name)
#else
#define TRAINOPT__SYMBOL(name)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* >>api: the public types, then every public function (the kernel list). */
/* One X-macro list makes the enum and trainopt_status_str's texts, so they cannot drift. */
#define TRAINOPT__STATUS_LIST(X)                                                     \
    X(TRAINOPT_OK, "ok")                                                             \
    X(TRAINOPT_ERR_NULL, "null pointer (or state required by the config is missing)") \
    X(TRAINOPT_ERR_HPARAM, "hyperparameter out of range or not finite")              \
    X(TRAINOPT_ERR_STEP, "step must be >= 1")                                        \
    X(TRAINOPT_ERR_SHAPE, "invalid shape (zero dimension or size overflow)")         \
    X(TRAINOPT_ERR_ALIAS, "buffers overlap")                                           \
    X(TRAINOPT_ERR_INDEX, "index out of range (a class label)")                     \
    X(TRAINOPT_ERR_PARSE, "schedule text does not parse (syntax, unknown name or field)")

typedef enum trainopt_status {
#define TRAINOPT__STATUS_ENUM(name, text) name,
    TRAINOPT__STATUS_LIST(TRAINOPT__STATUS_ENUM)
#undef TRAINOPT__STATUS_ENUM
    TRAINOPT__STATUS_COUNT
} trainopt_status;

/* >>api-optim: configs of the optimizers (>>sgd .. >>adam) and the fused step's options (>>stepopts). */
typedef struct {
    double grad_scale;      /* every gradient is multiplied by (float)grad_scale before use: fold AMP's
                               1/loss_scale and clip_grad_norm's coefficient into this one number; 1 = none */
    const int *found_inf;   /* when non-NULL and *found_inf != 0 the step is skipped: nothing is read or
                               written and the call returns TRAINOPT_OK (AMP's GradScaler skip) */
    size_t *nonfinite;      /* when non-NULL, receives the number of scaled gradients that are NaN or +-Inf */
} trainopt_step_opts;
#define TRAINOPT_STEP_OPTS_DEFAULTS {1.0, NULL, NULL}

typedef struct {
    double lr, momentum, dampening, weight_decay;
    int nesterov, maximize;
} trainopt_sgd_config;
#define TRAINOPT_SGD_DEFAULTS {1e-3, 0.0, 0.0, 0.0, 0, 0}

typedef struct {
    double lr, lr_decay, weight_decay, initial_accumulator_value, eps;
    int maximize;
} trainopt_adagrad_config;
#define TRAINOPT_ADAGRAD_DEFAULTS {1e-2, 0.0, 0.0, 0.0, 1e-10, 0}

typedef struct {
    double lr, alpha, eps, weight_decay, momentum;
    int centered, maximize;
} trainopt_rmsprop_config;
#define TRAINOPT_RMSPROP_DEFAULTS {1e-2, 0.99, 1e-8, 0.0, 0.0, 0, 0}

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int amsgrad, maximize;
} trainopt_adam_config;
#define TRAINOPT_ADAM_DEFAULTS {1e-3, 0.9, 0.999, 1e-8, 0.0, 0, 0}
#define TRAINOPT_ADAMW_DEFAULTS {1e-3, 0.9, 0.999, 1e-8, 1e-2, 0, 0}

/* >>api-optim-more: NAdam, RAdam, Adamax, Adadelta, Lion (>>nadam .. >>lion). */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay, momentum_decay;
    int decoupled_weight_decay, maximize; /* decoupled: PyTorch 2.x's NAdamW form */
} trainopt_nadam_config;
#define TRAINOPT_NADAM_DEFAULTS {2e-3, 0.9, 0.999, 1e-8, 0.0, 4e-3, 0, 0}

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int decoupled_weight_decay, maximize; /* decoupled: PyTorch 2.x's RAdamW form */
} trainopt_radam_config;
#define TRAINOPT_RADAM_DEFAULTS {1e-3, 0.9, 0.999, 1e-8, 0.0, 0, 0}

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int maximize;
} trainopt_adamax_config;
#define TRAINOPT_ADAMAX_DEFAULTS {2e-3, 0.9, 0.999, 1e-8, 0.0, 0}

typedef struct {
    double lr, rho, eps, weight_decay;
    int maximize;
} trainopt_adadelta_config;
#define TRAINOPT_ADADELTA_DEFAULTS {1.0, 0.9, 1e-6, 0.0, 0}

typedef struct {
    double lr;           /* no default in optax.lion: must be set (NaN until then is refused) */
    double beta1, beta2; /* 0.9, 0.99 */
    double weight_decay; /* 1e-3, decoupled, as optax.lion */
    int maximize;
} trainopt_lion_config;
#define TRAINOPT_LION_DEFAULTS {NAN, 0.9, 0.99, 1e-3, 0}

/* >>api-quant8: 8-bit optimizer states (>>quant8): bitsandbytes' blockwise dynamic quantization. */
typedef enum trainopt_q8_map {
    TRAINOPT_Q8_SIGNED = 0,  /* create_dynamic_map(signed=True): first moments (exp_avg, momentum) */
    TRAINOPT_Q8_UNSIGNED = 1 /* create_dynamic_map(signed=False): second moments (exp_avg_sq) */
} trainopt_q8_map;
#define TRAINOPT_Q8_BLOCK 256            /* elements per absmax: bitsandbytes' default */
#define TRAINOPT_Q8_MIN_BLOCK 64         /* block: a power of two in [64, 4096], as bitsandbytes' */
#define TRAINOPT_Q8_MAX_BLOCK 4096
#define TRAINOPT_Q8_MIN_SIZE 4096        /* bitsandbytes keeps smaller tensors' states in fp32 */
/* The number of absmax values of n elements in blocks of `block`. */
#define TRAINOPT_Q8_BLOCKS(n, block) (((n) + (block) - 1) / (block))

/* >>api-schedules: the schedules' configs (>>onecycle, >>cyclic, >>schedule, >>plateau). */
typedef enum trainopt_anneal { TRAINOPT_ANNEAL_COS = 0, TRAINOPT_ANNEAL_LINEAR = 1 } trainopt_anneal;

typedef struct trainopt_onecycle_config {
    double max_lr;                   /* no default in PyTorch: must be set */
    int64_t total_steps;             /* no default in PyTorch: must be set (>= 1) */
    double pct_start;                /* 0.3 */
    trainopt_anneal anneal_strategy; /* cos */
    double div_factor;               /* 25: initial lr = max_lr / div_factor */
    double final_div_factor;         /* 1e4: min lr = initial lr / final_div_factor */
    int three_phase;                 /* 0 */
    double base_momentum;            /* 0.85 (momentum at the lr peak) */
    double max_momentum;             /* 0.95 */
} trainopt_onecycle_config;
/* max_lr NaN and total_steps 0 until set: the schedule is NaN until then. */
#define TRAINOPT_ONECYCLE_DEFAULTS {NAN, 0, 0.3, TRAINOPT_ANNEAL_COS, 25.0, 1e4, 0, 0.85, 0.95}

typedef enum trainopt_cyclic_mode {
    TRAINOPT_CYCLIC_TRIANGULAR = 0,
    TRAINOPT_CYCLIC_TRIANGULAR2 = 1,
    TRAINOPT_CYCLIC_EXP_RANGE = 2
} trainopt_cyclic_mode;

typedef struct trainopt_cyclic_config {
    double base_lr, max_lr;       /* no defaults in PyTorch: must be set */
    int64_t step_size_up;         /* 2000 */
    int64_t step_size_down;       /* -1: the same as step_size_up (PyTorch's None); 0 is a real 0 */
    trainopt_cyclic_mode mode;    /* triangular */
    double gamma;                 /* 1.0 (exp_range) */
    double base_momentum;         /* 0.8 */
    double max_momentum;          /* 0.9 */
} trainopt_cyclic_config;
#define TRAINOPT_CYCLIC_DEFAULTS {NAN, NAN, 2000, -1, TRAINOPT_CYCLIC_TRIANGULAR, 1.0, 0.8, 0.9}

#define TRAINOPT_SCHEDULE_MAX_MILESTONES 16

/* X(ID, "name"): one list makes the enum and the names, so they cannot drift. */
#define TRAINOPT__SCHEDULE_KINDS(X)         \
    X(FIXED, "fixed")                       \
    X(STEP, "step")                         \
    X(MULTISTEP, "multistep")               \
    X(EXPONENTIAL, "exponential")           \
    X(INVERSE_TIME, "inverse_time")         \
    X(POLYNOMIAL, "polynomial")             \
    X(LINEAR, "linear")                     \
    X(CONSTANT, "constant")                 \
    X(COSINE, "cosine")                     \
    X(COSINE_RESTARTS, "cosine_restarts")   \
    X(WARMUP_COSINE, "warmup_cosine")       \
    X(ONECYCLE, "onecycle")                 \
    X(CYCLIC, "cyclic")                     \
    X(JOIN, "join")

typedef enum trainopt_schedule_kind {
#define TRAINOPT__SCHEDULE_KIND_ENUM(id, name) TRAINOPT_SCHEDULE_##id,
    TRAINOPT__SCHEDULE_KINDS(TRAINOPT__SCHEDULE_KIND_ENUM)
#undef TRAINOPT__SCHEDULE_KIND_ENUM
    TRAINOPT__SCHEDULE_KIND_COUNT
} trainopt_schedule_kind;

/* One kind and its parameters. Each field is used by the kinds named beside it. */
typedef struct trainopt_schedule {
    trainopt_schedule_kind kind;
    double lr;                  /* every kind: base lr (warmup_cosine: peak; onecycle: max_lr;
                                   cyclic: base_lr); NaN in a join part: the join's lr */
    double gamma;               /* step, multistep, exponential, cyclic (exp_range) */
    int64_t step_size;          /* step */
    int64_t milestones[TRAINOPT_SCHEDULE_MAX_MILESTONES]; /* multistep; join: where part i+1 starts */
    size_t milestone_count;
    double decay_rate;          /* inverse_time */
    int64_t decay_steps;        /* inverse_time, warmup_cosine */
    int staircase;              /* inverse_time */
    int64_t total_iters;        /* polynomial, linear, constant */
    double power, end_lr;       /* polynomial; end_lr also warmup_cosine */
    double start_factor, end_factor; /* linear */
    double factor;              /* constant */
    int64_t t_max;              /* cosine */
    int64_t t_0, t_mult;        /* cosine_restarts */
    double eta_min;             /* cosine, cosine_restarts */
    int64_t warmup_steps;       /* warmup_cosine */
    double init_lr;             /* warmup_cosine */
    int64_t total_steps;        /* onecycle */
    double pct_start, div_factor, final_div_factor; /* onecycle */
    trainopt_anneal anneal_strategy; /* onecycle */
    int three_phase;            /* onecycle */
    double base_momentum, max_momentum; /* onecycle, cyclic */
    double max_lr;              /* cyclic */
    int64_t step_size_up, step_size_down; /* cyclic */
    trainopt_cyclic_mode mode;  /* cyclic */
    int64_t warmup_iters;       /* every kind: multiplied by trainopt_lr_warmup_factor */
    double warmup_start_factor;
    const struct trainopt_schedule *parts; /* join: milestone_count + 1 parts (not joins) */
} trainopt_schedule;

typedef enum trainopt_plateau_mode { TRAINOPT_PLATEAU_MIN = 0, TRAINOPT_PLATEAU_MAX = 1 } trainopt_plateau_mode;
typedef enum trainopt_threshold_mode { TRAINOPT_THRESHOLD_REL = 0, TRAINOPT_THRESHOLD_ABS = 1 } trainopt_threshold_mode;

typedef struct trainopt_plateau_config {
    trainopt_plateau_mode mode;             /* min: lower metric is better */
    double factor;                          /* 0.1: new lr = lr * factor, in [0, 1) */
    int64_t patience;                       /* 10 epochs without improvement are tolerated */
    double threshold;                       /* 1e-4 */
    trainopt_threshold_mode threshold_mode; /* rel */
    int64_t cooldown;                       /* 0 epochs ignored after a reduction */
    double min_lr;                          /* 0 */
    double eps;                             /* 1e-8: smaller reductions are skipped */
} trainopt_plateau_config;
#define TRAINOPT_PLATEAU_DEFAULTS {TRAINOPT_PLATEAU_MIN, 0.1, 10, 1e-4, TRAINOPT_THRESHOLD_REL, 0, 0.0, 1e-8}

typedef struct trainopt_plateau {
    trainopt_plateau_config config;
    double lr;                /* the learning rate now */
    double best;              /* best metric so far (+Inf for min, -Inf for max, before the first) */
    int64_t num_bad_epochs;   /* epochs since the last improvement */
    int64_t cooldown_counter; /* epochs of cooldown left */
    int64_t last_epoch;       /* calls to trainopt_plateau_step so far */
    uint32_t ready;           /* set by trainopt_plateau_init */
} trainopt_plateau;

/* >>api-layerwise: LAMB and LARS (optax, lists of tensors), Adafactor, schedule-free AdamW (>>layerwise). */
typedef struct {
    double lr;           /* optax.lamb has no default: NaN until set (refused) */
    double beta1, beta2; /* 0.9, 0.999 */
    double eps;          /* 1e-6, outside the root */
    double eps_root;     /* 0, inside the root */
    double weight_decay; /* 1e-4, added to the direction before the trust ratio */
} trainopt_lamb_config;
#define TRAINOPT_LAMB_DEFAULTS {NAN, 0.9, 0.999, 1e-6, 0.0, 1e-4}

typedef struct {
    double lr;                /* optax.lars has no default: NaN until set (refused) */
    double weight_decay;      /* 0 */
    double trust_coefficient; /* 0.001 */
    double eps;               /* 0: trust = coef * ||p|| / (||g + wd*p|| + eps) */
    double momentum;          /* 0.9 (optax.trace's decay) */
    int nesterov;             /* 0 */
} trainopt_lars_config;
#define TRAINOPT_LARS_DEFAULTS {NAN, 0.0, 0.001, 0.0, 0.9, 0}

typedef struct {
    double lr;           /* 1e-2: the relative step size's ceiling, and the weight decay's factor */
    double beta2_decay;  /* -0.8: 1 - beta2_t = step^beta2_decay */
    double eps1;         /* 2^-23 (PyTorch's None: float32's machine epsilon) */
    double eps2;         /* 1e-3: the floor of the parameter's RMS */
    double d;            /* 1: the update's RMS clipping threshold */
    double weight_decay; /* 0: decoupled, p = p * (1 - lr*wd) */
    int maximize;
} trainopt_adafactor_config;
#define TRAINOPT_ADAFACTOR_DEFAULTS {1e-2, -0.8, 1.1920928955078125e-07, 1e-3, 1.0, 0.0, 0}

typedef struct {
    double lr;              /* 0.0025 */
    double beta1, beta2;    /* 0.9 (the y/x interpolation), 0.999 */
    double eps;             /* 1e-8 */
    double weight_decay;    /* 0: decoupled, evaluated at y */
    int64_t warmup_steps;   /* 0: linear warmup of the lr over this many steps */
    double r;               /* 0: polynomial weighting step^r of the average */
    double weight_lr_power; /* 2: the average's weights are lr_max^weight_lr_power */
} trainopt_sfadamw_config;
#define TRAINOPT_SFADAMW_DEFAULTS {0.0025, 0.9, 0.999, 1e-8, 0.0, 0, 0.0, 2.0}

/* The scalar state of schedule-free AdamW (one per config, shared by every tensor):
   trainopt_sfadamw_advance updates it once per optimizer step, the steps read it. */
typedef struct {
    int64_t step;      /* steps begun: 0 before the first advance */
    double lr_max;     /* the largest lr so far; -1 before the first step (the reference's start) */
    double weight_sum; /* sum of the averaging weights so far */
    double lr;         /* this step's lr: lr * min(1, step / warmup_steps) * sqrt(1 - beta2^step) */
    double ckp1;       /* this step's averaging weight step^r * lr_max^power / weight_sum */
} trainopt_sfadamw_state;
#define TRAINOPT_SFADAMW_STATE_INIT {0, -1.0, 0.0, 0.0, 0.0}

/* >>api-mixed: element formats and roundings (>>convert), and the mixed-precision steps
   descriptor (>>mixed). bf16 and fp16 arrays are uint16_t bit patterns. */
typedef enum { TRAINOPT_F32 = 0, TRAINOPT_BF16 = 1, TRAINOPT_F16 = 2 } trainopt_dtype;
typedef enum { TRAINOPT_ROUND_NEAREST = 0, TRAINOPT_ROUND_STOCHASTIC = 1 } trainopt_rounding;

/* How a bf16/fp16 parameter is written back after its fp32 update q (manual: MIXED PRECISION). */
typedef enum {
    TRAINOPT_PARAM_NEAREST = 0,    /* p = q rounded to nearest even */
    TRAINOPT_PARAM_STOCHASTIC = 1, /* p = q rounded stochastically, words of (seed, offset + i) */
    TRAINOPT_PARAM_KAHAN = 2,      /* the step sees p + c; p = rne(q), c = rne(q - p) (param_aux: c) */
    TRAINOPT_PARAM_SPLIT = 3       /* bf16 p = top half of the fp32 master q, param_aux = its low half */
} trainopt_param_mode;

/* The formats of one mixed-precision step (trainopt_<opt>_step_mp). */
typedef struct {
    trainopt_dtype param_dtype;     /* F32, BF16 or F16 */
    trainopt_param_mode param_mode; /* bf16/fp16 parameters only (fp32: NEAREST) */
    void *param_aux;                /* KAHAN: compensation, param_dtype; SPLIT: low halves (uint16_t); else NULL */
    trainopt_dtype grad_dtype;      /* F32, BF16 or F16 */
    trainopt_dtype state_dtype;     /* F32 or BF16: every state array of the optimizer */
    void *copy;                     /* NULL, or n elements that receive the updated parameters */
    trainopt_dtype copy_dtype;      /* BF16 or F16 (nearest rounding of the fp32 result) */
    uint64_t seed, offset;          /* stochastic rounding: element i draws the word of (seed, offset + i) */
} trainopt_precision;
#define TRAINOPT_PRECISION_DEFAULTS {TRAINOPT_F32, TRAINOPT_PARAM_NEAREST, NULL, TRAINOPT_F32, TRAINOPT_F32, NULL, TRAINOPT_BF16, 0, 0}

/* >>api-gradutil */
typedef struct {
    double sum_squares; /* sum of g^2 over every element as given (still scaled), canonical order */
    size_t nonfinite;   /* number of Inf/NaN elements */
    int found_inf;      /* nonfinite != 0: skip the step (GradScaler) */
    float total_norm;   /* L2 norm of the unscaled gradients: sqrt(sum_squares) * inv_scale */
    float clip_coef;    /* min(1, max_norm / (total_norm + 1e-6)), as clip_grad_norm_ */
    float grad_scale;   /* inv_scale * clip_coef rounded once: the fused step's multiplier
                           (inv_scale alone when found_inf: always finite and > 0) */
} trainopt_grad_norm_info;

/* >>api-threads: the caller's threads, and lists of tensors for the multi-tensor steps
   (manual: THREADS). The kernels start no threads and keep no global state. */
/* One task of a parallel-for: the task'th piece of the call's work. */
typedef void (*trainopt_task_fn)(void *arg, size_t task);
/* The caller's parallel-for: calls task(arg, i) once for every i in [0, count), on any
   of its threads, in any order, and returns when every call has returned. */
typedef void (*trainopt_parallel_for_fn)(void *ctx, size_t count, trainopt_task_fn task, void *arg);
typedef struct {
    trainopt_parallel_for_fn parallel_for; /* NULL: everything runs on the calling thread */
    void *ctx;                             /* the caller's pool, handed back to parallel_for */
} trainopt_threads;
#define TRAINOPT_THREADS_NONE {NULL, NULL}

/* Work is cut into pieces of TRAINOPT_CHUNK elements of one tensor, counted from the
   tensor's start: fixed, whatever the number of threads, and a multiple of every vector
   width and of the reductions' block (256), so no vector and no block straddles two. */
#define TRAINOPT_CHUNK 16384

/* One tensor of a multi-tensor step: its n parameters, gradients and the optimizer's
   state arrays, in the order of the optimizer's _step arguments (unused entries NULL). */
#define TRAINOPT_MAX_STATES 4
typedef struct {
    float *param;
    const float *grad;
    float *state[TRAINOPT_MAX_STATES];
    size_t n;
} trainopt_tensor;

/* One tensor of trainopt_adafactor_step_multi: the arguments of its trainopt_adafactor_step
   (factored: row_var and col_var, variance NULL; unfactored: variance, the factors NULL). */
typedef struct {
    float *param;
    const float *grad;
    float *row_var, *col_var, *variance;
    size_t rows, cols;
} trainopt_adafactor_tensor;

/* Every elementwise optimizer with a multi-tensor step: M(X, name, config type, number of
   states). One line here gives trainopt_<name>_step_multi its row in the kernel list
   (prototype, dispatch, export) and its definition (src/parallel.h), over
   trainopt_<name>_step_ex. NAdam's and schedule-free AdamW's steps take more than
   (config, step): their rows follow this list's in TRAINOPT_KERNELS, their definitions
   are written out in src/parallel.h. */
#define TRAINOPT__MULTI_STEPS(M, X)                  \
    M(X, sgd, trainopt_sgd_config, 1)                \
    M(X, adagrad, trainopt_adagrad_config, 1)        \
    M(X, rmsprop, trainopt_rmsprop_config, 3)        \
    M(X, adam, trainopt_adam_config, 3)              \
    M(X, adamw, trainopt_adam_config, 3)             \
    M(X, radam, trainopt_radam_config, 2)            \
    M(X, adamax, trainopt_adamax_config, 2)          \
    M(X, adadelta, trainopt_adadelta_config, 2)      \
    M(X, lion, trainopt_lion_config, 1)
#define TRAINOPT__MULTI_ROW(X, name, config, states)                                                      \
    X(optim, trainopt_status, name##_step_multi, (const config *c, int64_t step, size_t k,                \
      const trainopt_tensor *tensors, const trainopt_step_opts *o, const trainopt_threads *threads),      \
      (c, step, k, tensors, o, threads))

/* One tensor of a multi-tensor mixed-precision step (trainopt_<name>_step_mp_multi, the
   same optimizers as TRAINOPT__MULTI_STEPS): trainopt_tensor's arrays in the formats of
   the call's one trainopt_precision (param: param_dtype, grad: grad_dtype, states:
   state_dtype). Each tensor's Kahan compensation or split low halves, and its copy, are
   the descriptor's param_aux and copy, read as arrays of k pointers (as
   trainopt_lamb_step_mp's); tensor t's element j rounds stochastically with the word of
   (seed, offset + n[0] + ... + n[t-1] + j), its place in the concatenated list. */
typedef struct {
    void *param;
    const void *grad;
    void *state[TRAINOPT_MAX_STATES];
    size_t n;
} trainopt_tensor_mp;
#define TRAINOPT__MP_MULTI_ROW(X, name, config, states)                                                   \
    X(optim, trainopt_status, name##_step_mp_multi, (const config *c, int64_t step, size_t k,             \
      const trainopt_tensor_mp *tensors, const trainopt_precision *pr, const trainopt_step_opts *o,       \
      const trainopt_threads *threads),                                                                    \
      (c, step, k, tensors, pr, o, threads))

/* A ready parallel-for over OpenMP, when the including unit is compiled with -fopenmp:
   ctx NULL (OpenMP's default team) or a pointer to an int, the number of threads. */
#if defined(_OPENMP)
static inline void trainopt_omp_parallel_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    long i;
    const int threads = ctx ? *(const int *)ctx : 0;
    if (threads > 0) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (i = 0; i < (long)count; i++) task(arg, (size_t)i);
    } else {
#pragma omp parallel for schedule(dynamic, 1)
        for (i = 0; i < (long)count; i++) task(arg, (size_t)i);
    }
}
#endif

/* >>api-pool: a small pthread pool that is a trainopt_parallel_for_fn, for callers with no
   pool of their own (the Python package; manual: THREADS). libtrainopt has it (make lib);
   a header-only build compiles it where TRAINOPT_POOL is defined beside
   TRAINOPT_IMPLEMENTATION. The caller owns the pool: trainopt keeps no global state. */
#if !defined(TRAINOPT_STATIC) || defined(TRAINOPT_POOL)
typedef struct trainopt_pool trainopt_pool;
#define TRAINOPT_POOL_MAX 256 /* threads of one pool, the caller's among them */
/* A pool of `threads` threads in all: the calling thread of each parallel-for and
   threads - 1 workers, which wait on a condition variable between calls. */
TRAINOPT_API trainopt_status trainopt_pool_create(int threads, trainopt_pool **pool) TRAINOPT__SYMBOL(pool_create);
/* Stops and joins the workers and frees the pool; NULL does nothing. */
TRAINOPT_API void trainopt_pool_destroy(trainopt_pool *pool) TRAINOPT__SYMBOL(pool_destroy);
/* trainopt_parallel_for_fn over pool ctx: trainopt_threads th = {trainopt_pool_parallel_for, pool}. */
TRAINOPT_API void trainopt_pool_parallel_for(void *pool, size_t count, trainopt_task_fn task, void *arg)
    TRAINOPT__SYMBOL(pool_parallel_for);
#endif

/* >>api-init */
typedef enum {
    TRAINOPT_NL_LINEAR = 0, /* also PyTorch's conv1d/2d/3d, conv_transpose1d/2d/3d: gain 1 */
    TRAINOPT_NL_SIGMOID,    /* 1 */
    TRAINOPT_NL_TANH,       /* 5/3 */
    TRAINOPT_NL_RELU,       /* sqrt(2) */
    TRAINOPT_NL_LEAKY_RELU, /* sqrt(2 / (1 + negative_slope^2)) */
    TRAINOPT_NL_SELU        /* 3/4 */
} trainopt_nonlinearity;

typedef enum { TRAINOPT_FAN_IN = 0, TRAINOPT_FAN_OUT = 1 } trainopt_fan_mode;

typedef struct {
    double a; /* negative slope of the leaky_relu that follows (ignored by the other nonlinearities) */
    trainopt_fan_mode mode;
    trainopt_nonlinearity nonlinearity;
} trainopt_kaiming_config;
#define TRAINOPT_KAIMING_DEFAULTS {0.0, TRAINOPT_FAN_IN, TRAINOPT_NL_LEAKY_RELU}

typedef struct {
    double mean, std, a, b; /* a, b: absolute cutoffs, not in units of std (as PyTorch) */
} trainopt_trunc_normal_config;
#define TRAINOPT_TRUNC_NORMAL_DEFAULTS {0.0, 1.0, -2.0, 2.0}

/* >>api-batchnorm */
typedef enum { TRAINOPT_NCHW = 0, TRAINOPT_NHWC = 1 } trainopt_layout;
typedef struct {
    size_t n, c, spatial; /* spatial = H*W; 1 for [N][C] */
    trainopt_layout layout;
} trainopt_bn_shape;
typedef struct {
    double eps, momentum;
    int fuse_relu;
} trainopt_bn_config;
#define TRAINOPT_BN_DEFAULTS {1e-5, 0.1, 0}

/* >>api-norms: layer, RMS and group normalization (their shapes: rows and cols, or a trainopt_bn_shape). */
typedef struct {
    double eps; /* added to the variance (RMSNorm: to mean(x^2)) under the square root; > 0 */
} trainopt_norm_config;
#define TRAINOPT_NORM_DEFAULTS {1e-5}

/* >>kernels: every public function, once. X(family, return type, name without
   the trainopt_ prefix, (parameters), (arguments)). This list makes the
   prototypes below, the runtime-dispatch wrappers (>>dispatch), the exported
   symbols of libtrainopt, and the completeness checks of tests/ and bench/;
   CONTRIBUTING in README.md says what a new kernel needs beside its entry here.
   Families: text and schedule have no vector code (compiled once under dispatch);
   the others do. */
#define TRAINOPT_KERNELS(X)                                                                                    \
    X(text, const char *, status_str, (trainopt_status s),                                                     \
      (s))                                                                                                     \
    X(text, const char *, last_error, (void),                                                                  \
      ())                                                                                                      \
    X(text, void, clear_error, (void),                                                                         \
      ())                                                                                                      \
    X(backend, const char *, backend, (void),                                                                  \
      ())                                                                                                      \
    X(optim, trainopt_status, sgd_step, (const trainopt_sgd_config *c, int64_t step, size_t n, float *param,   \
      const float *grad, float *momentum_buf),                                                                 \
      (c, step, n, param, grad, momentum_buf))                                                                 \
    X(optim, trainopt_status, sgd_step_ex, (const trainopt_sgd_config *c, int64_t step, size_t n,              \
      float *param, const float *grad, float *momentum_buf, const trainopt_step_opts *o),                      \
      (c, step, n, param, grad, momentum_buf, o))                                                              \
    X(optim, trainopt_status, adagrad_init, (const trainopt_adagrad_config *c, size_t n, float *state_sum),    \
      (c, n, state_sum))                                                                                       \
    X(optim, trainopt_status, adagrad_step, (const trainopt_adagrad_config *c, int64_t step, size_t n,         \
      float *param, const float *grad, float *state_sum),                                                      \
      (c, step, n, param, grad, state_sum))                                                                    \
    X(optim, trainopt_status, adagrad_step_ex, (const trainopt_adagrad_config *c, int64_t step, size_t n,      \
      float *param, const float *grad, float *state_sum, const trainopt_step_opts *o),                         \
      (c, step, n, param, grad, state_sum, o))                                                                 \
    X(optim, trainopt_status, rmsprop_step, (const trainopt_rmsprop_config *c, int64_t step, size_t n,         \
      float *param, const float *grad, float *square_avg, float *momentum_buf, float *grad_avg),               \
      (c, step, n, param, grad, square_avg, momentum_buf, grad_avg))                                           \
    X(optim, trainopt_status, rmsprop_step_ex, (const trainopt_rmsprop_config *c, int64_t step, size_t n,      \
      float *param, const float *grad, float *square_avg, float *momentum_buf, float *grad_avg,                \
      const trainopt_step_opts *o),                                                                            \
      (c, step, n, param, grad, square_avg, momentum_buf, grad_avg, o))                                        \
    X(optim, trainopt_status, adam_step, (const trainopt_adam_config *c, int64_t step, size_t n,               \
      float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq),              \
      (c, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq))                                          \
    X(optim, trainopt_status, adamw_step, (const trainopt_adam_config *c, int64_t step, size_t n,              \
      float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq),              \
      (c, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq))                                          \
    X(optim, trainopt_status, adam_step_ex, (const trainopt_adam_config *c, int64_t step, size_t n,            \
      float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq,               \
      const trainopt_step_opts *o),                                                                            \
      (c, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o))                                       \
    X(optim, trainopt_status, adamw_step_ex, (const trainopt_adam_config *c, int64_t step, size_t n,           \
      float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq,               \
      const trainopt_step_opts *o),                                                                            \
      (c, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o))                                       \
    X(optim, double, nadam_mu_product, (const trainopt_nadam_config *c, int64_t step, double mu_product),    \
      (c, step, mu_product))                                                                                   \
    X(optim, trainopt_status, nadam_step, (const trainopt_nadam_config *c, int64_t step, double mu_product,  \
      size_t n, float *param, const float *grad, float *exp_avg, float *exp_avg_sq),                           \
      (c, step, mu_product, n, param, grad, exp_avg, exp_avg_sq))                                              \
    X(optim, trainopt_status, nadam_step_ex, (const trainopt_nadam_config *c, int64_t step,                   \
      double mu_product, size_t n, float *param, const float *grad, float *exp_avg, float *exp_avg_sq,         \
      const trainopt_step_opts *o),                                                                            \
      (c, step, mu_product, n, param, grad, exp_avg, exp_avg_sq, o))                                           \
    X(optim, trainopt_status, radam_step, (const trainopt_radam_config *c, int64_t step, size_t n,             \
      float *param, const float *grad, float *exp_avg, float *exp_avg_sq),                                     \
      (c, step, n, param, grad, exp_avg, exp_avg_sq))                                                          \
    X(optim, trainopt_status, radam_step_ex, (const trainopt_radam_config *c, int64_t step, size_t n,          \
      float *param, const float *grad, float *exp_avg, float *exp_avg_sq, const trainopt_step_opts *o),        \
      (c, step, n, param, grad, exp_avg, exp_avg_sq, o))                                                       \
    X(optim, trainopt_status, adamax_step, (const trainopt_adamax_config *c, int64_t step, size_t n,           \
      float *param, const float *grad, float *exp_avg, float *exp_inf),                                        \
      (c, step, n, param, grad, exp_avg, exp_inf))                                                             \
    X(optim, trainopt_status, adamax_step_ex, (const trainopt_adamax_config *c, int64_t step, size_t n,        \
      float *param, const float *grad, float *exp_avg, float *exp_inf, const trainopt_step_opts *o),           \
      (c, step, n, param, grad, exp_avg, exp_inf, o))                                                          \
    X(optim, trainopt_status, adadelta_step, (const trainopt_adadelta_config *c, int64_t step, size_t n,       \
      float *param, const float *grad, float *square_avg, float *acc_delta),                                   \
      (c, step, n, param, grad, square_avg, acc_delta))                                                        \
    X(optim, trainopt_status, adadelta_step_ex, (const trainopt_adadelta_config *c, int64_t step, size_t n,    \
      float *param, const float *grad, float *square_avg, float *acc_delta, const trainopt_step_opts *o),      \
      (c, step, n, param, grad, square_avg, acc_delta, o))                                                     \
    X(optim, trainopt_status, lion_step, (const trainopt_lion_config *c, int64_t step, size_t n,               \
      float *param, const float *grad, float *exp_avg),                                                        \
      (c, step, n, param, grad, exp_avg))                                                                      \
    X(optim, trainopt_status, lion_step_ex, (const trainopt_lion_config *c, int64_t step, size_t n,            \
      float *param, const float *grad, float *exp_avg, const trainopt_step_opts *o),                           \
      (c, step, n, param, grad, exp_avg, o))                                                                   \
    X(optim, trainopt_status, sgd_step_mp, (const trainopt_sgd_config *c, int64_t step, size_t n,              \
      void *param, const void *grad, void *momentum_buf, const trainopt_precision *pr,                         \
      const trainopt_step_opts *o),                                                                            \
      (c, step, n, param, grad, momentum_buf, pr, o))                                                          \
    X(optim, trainopt_status, adagrad_step_mp, (const trainopt_adagrad_config *c, int64_t step, size_t n,      \
      void *param, const void *grad, void *state_sum, const trainopt_precision *pr,                            \
      const trainopt_step_opts *o),                                                                            \
      (c, step, n, param, grad, state_sum, pr, o))                                                             \
    X(optim, trainopt_status, rmsprop_step_mp, (const trainopt_rmsprop_config *c, int64_t step, size_t n,      \
      void *param, const void *grad, void *square_avg, void *momentum_buf, void *grad_avg,                     \
      const trainopt_precision *pr, const trainopt_step_opts *o),                                              \
      (c, step, n, param, grad, square_avg, momentum_buf, grad_avg, pr, o))                                    \
    X(optim, trainopt_status, adam_step_mp, (const trainopt_adam_config *c, int64_t step, size_t n,            \
      void *param, const void *grad, void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq,                    \
      const trainopt_precision *pr, const trainopt_step_opts *o),                                              \
      (c, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, pr, o))                                   \
    X(optim, trainopt_status, adamw_step_mp, (const trainopt_adam_config *c, int64_t step, size_t n,           \
      void *param, const void *grad, void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq,                    \
      const trainopt_precision *pr, const trainopt_step_opts *o),                                              \
      (c, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, pr, o))                                   \
    X(optim, trainopt_status, radam_step_mp, (const trainopt_radam_config *c, int64_t step, size_t n,          \
      void *param, const void *grad, void *exp_avg, void *exp_avg_sq, const trainopt_precision *pr,            \
      const trainopt_step_opts *o),                                                                            \
      (c, step, n, param, grad, exp_avg, exp_avg_sq, pr, o))                                                   \
    X(optim, trainopt_status, adamax_step_mp, (const trainopt_adamax_config *c, int64_t step, size_t n,        \
      void *param, const void *grad, void *exp_avg, void *exp_inf, const trainopt_precision *pr,               \
      const trainopt_step_opts *o),                                                                            \
      (c, step, n, param, grad, exp_avg, exp_inf, pr, o))                                                      \
    X(optim, trainopt_status, adadelta_step_mp, (const trainopt_adadelta_config *c, int64_t step, size_t n,    \
      void *param, const void *grad, void *square_avg, void *acc_delta, const trainopt_precision *pr,          \
      const trainopt_step_opts *o),                                                                            \
      (c, step, n, param, grad, square_avg, acc_delta, pr, o))                                                 \
    X(optim, trainopt_status, lion_step_mp, (const trainopt_lion_config *c, int64_t step, size_t n,            \
      void *param, const void *grad, void *exp_avg, const trainopt_precision *pr,                              \
      const trainopt_step_opts *o),                                                                            \
      (c, step, n, param, grad, exp_avg, pr, o))                                                               \
    X(optim, trainopt_status, nadam_step_mp, (const trainopt_nadam_config *c, int64_t step, double mu_product, \
      size_t n, void *param, const void *grad, void *exp_avg, void *exp_avg_sq, const trainopt_precision *pr, \
      const trainopt_step_opts *o),                                                                            \
      (c, step, mu_product, n, param, grad, exp_avg, exp_avg_sq, pr, o))                                       \
    X(optim, trainopt_status, sfadamw_step_mp, (const trainopt_sfadamw_config *c,                             \
      const trainopt_sfadamw_state *s, size_t n, void *param, const void *grad, void *z, void *exp_avg_sq,     \
      const trainopt_precision *pr, const trainopt_step_opts *o),                                              \
      (c, s, n, param, grad, z, exp_avg_sq, pr, o))                                                            \
    X(optim, trainopt_status, quantize_blockwise, (trainopt_q8_map map, size_t block, size_t n, const float *x,  \
      uint8_t *codes, float *absmax),                                                                          \
      (map, block, n, x, codes, absmax))                                                                       \
    X(optim, trainopt_status, dequantize_blockwise, (trainopt_q8_map map, size_t block, size_t n,               \
      const uint8_t *codes, const float *absmax, float *x),                                                    \
      (map, block, n, codes, absmax, x))                                                                       \
    X(optim, trainopt_status, sgd8bit_step, (const trainopt_sgd_config *c, int64_t step, size_t block, size_t n, \
      float *param, const float *grad, uint8_t *momentum_buf, float *momentum_absmax),                         \
      (c, step, block, n, param, grad, momentum_buf, momentum_absmax))                                         \
    X(optim, trainopt_status, sgd8bit_step_ex, (const trainopt_sgd_config *c, int64_t step, size_t block,       \
      size_t n, float *param, const float *grad, uint8_t *momentum_buf, float *momentum_absmax,                \
      const trainopt_step_opts *o),                                                                            \
      (c, step, block, n, param, grad, momentum_buf, momentum_absmax, o))                                      \
    X(optim, trainopt_status, adam8bit_step, (const trainopt_adam_config *c, int64_t step, size_t block,        \
      size_t n, float *param, const float *grad, uint8_t *exp_avg, float *exp_avg_absmax, uint8_t *exp_avg_sq, \
      float *exp_avg_sq_absmax),                                                                               \
      (c, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax))                \
    X(optim, trainopt_status, adam8bit_step_ex, (const trainopt_adam_config *c, int64_t step, size_t block,     \
      size_t n, float *param, const float *grad, uint8_t *exp_avg, float *exp_avg_absmax, uint8_t *exp_avg_sq, \
      float *exp_avg_sq_absmax, const trainopt_step_opts *o),                                                  \
      (c, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax, o))             \
    X(optim, trainopt_status, adamw8bit_step, (const trainopt_adam_config *c, int64_t step, size_t block,       \
      size_t n, float *param, const float *grad, uint8_t *exp_avg, float *exp_avg_absmax, uint8_t *exp_avg_sq, \
      float *exp_avg_sq_absmax),                                                                               \
      (c, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax))                \
    X(optim, trainopt_status, adamw8bit_step_ex, (const trainopt_adam_config *c, int64_t step, size_t block,    \
      size_t n, float *param, const float *grad, uint8_t *exp_avg, float *exp_avg_absmax, uint8_t *exp_avg_sq, \
      float *exp_avg_sq_absmax, const trainopt_step_opts *o),                                                  \
      (c, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax, o))             \
    X(optim, trainopt_status, lion8bit_step, (const trainopt_lion_config *c, int64_t step, size_t block,        \
      size_t n, float *param, const float *grad, uint8_t *exp_avg, float *exp_avg_absmax),                     \
      (c, step, block, n, param, grad, exp_avg, exp_avg_absmax))                                               \
    X(optim, trainopt_status, lion8bit_step_ex, (const trainopt_lion_config *c, int64_t step, size_t block,     \
      size_t n, float *param, const float *grad, uint8_t *exp_avg, float *exp_avg_absmax,                      \
      const trainopt_step_opts *o),                                                                            \
      (c, step, block, n, param, grad, exp_avg, exp_avg_absmax, o))                                            \
    X(optim, trainopt_status, sgd8bit_step_mp, (const trainopt_sgd_config *c, int64_t step, size_t block,       \
      size_t n, void *param, const void *grad, uint8_t *momentum_buf, float *momentum_absmax,                  \
      const trainopt_precision *pr, const trainopt_step_opts *o),                                              \
      (c, step, block, n, param, grad, momentum_buf, momentum_absmax, pr, o))                                  \
    X(optim, trainopt_status, adam8bit_step_mp, (const trainopt_adam_config *c, int64_t step, size_t block,     \
      size_t n, void *param, const void *grad, uint8_t *exp_avg, float *exp_avg_absmax, uint8_t *exp_avg_sq,   \
      float *exp_avg_sq_absmax, const trainopt_precision *pr, const trainopt_step_opts *o),                    \
      (c, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax, pr, o))         \
    X(optim, trainopt_status, adamw8bit_step_mp, (const trainopt_adam_config *c, int64_t step, size_t block,    \
      size_t n, void *param, const void *grad, uint8_t *exp_avg, float *exp_avg_absmax, uint8_t *exp_avg_sq,   \
      float *exp_avg_sq_absmax, const trainopt_precision *pr, const trainopt_step_opts *o),                    \
      (c, step, block, n, param, grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax, pr, o))         \
    X(optim, trainopt_status, lion8bit_step_mp, (const trainopt_lion_config *c, int64_t step, size_t block,     \
      size_t n, void *param, const void *grad, uint8_t *exp_avg, float *exp_avg_absmax,                        \
      const trainopt_precision *pr, const trainopt_step_opts *o),                                              \
      (c, step, block, n, param, grad, exp_avg, exp_avg_absmax, pr, o))                                        \
    X(schedule, double, lr_step, (double base_lr, int64_t t, int64_t step_size, double gamma),                 \
      (base_lr, t, step_size, gamma))                                                                          \
    X(schedule, double, lr_multistep, (double base_lr, int64_t t, const int64_t *milestones, size_t k,         \
      double gamma),                                                                                           \
      (base_lr, t, milestones, k, gamma))                                                                      \
    X(schedule, double, lr_exponential, (double base_lr, int64_t t, double gamma),                             \
      (base_lr, t, gamma))                                                                                     \
    X(schedule, double, lr_inverse_time, (double base_lr, int64_t t, double decay_rate, int64_t decay_steps,   \
      int staircase),                                                                                          \
      (base_lr, t, decay_rate, decay_steps, staircase))                                                        \
    X(schedule, double, lr_polynomial, (double base_lr, int64_t t, int64_t total_iters, double power,          \
      double end_lr),                                                                                          \
      (base_lr, t, total_iters, power, end_lr))                                                                \
    X(schedule, double, lr_linear, (double base_lr, int64_t t, double start_factor, double end_factor,         \
      int64_t total_iters),                                                                                    \
      (base_lr, t, start_factor, end_factor, total_iters))                                                     \
    X(schedule, double, lr_constant, (double base_lr, int64_t t, double factor, int64_t total_iters),          \
      (base_lr, t, factor, total_iters))                                                                       \
    X(schedule, double, lr_cosine, (double base_lr, int64_t t, int64_t t_max, double eta_min),                 \
      (base_lr, t, t_max, eta_min))                                                                            \
    X(schedule, double, lr_cosine_restarts, (double base_lr, int64_t t, int64_t t_0, int64_t t_mult,           \
      double eta_min),                                                                                         \
      (base_lr, t, t_0, t_mult, eta_min))                                                                      \
    X(schedule, double, lr_warmup_cosine, (double peak_lr, int64_t t, int64_t warmup_steps,                    \
      int64_t decay_steps, double init_lr, double end_lr),                                                     \
      (peak_lr, t, warmup_steps, decay_steps, init_lr, end_lr))                                                \
    X(schedule, double, lr_warmup_factor, (int64_t t, int64_t warmup_iters, double start_factor),              \
      (t, warmup_iters, start_factor))                                                                         \
    X(schedule, double, lr_onecycle, (const trainopt_onecycle_config *c, int64_t t),                           \
      (c, t))                                                                                                  \
    X(schedule, double, momentum_onecycle, (const trainopt_onecycle_config *c, int64_t t),                     \
      (c, t))                                                                                                  \
    X(schedule, double, lr_cyclic, (const trainopt_cyclic_config *c, int64_t t),                               \
      (c, t))                                                                                                  \
    X(schedule, double, momentum_cyclic, (const trainopt_cyclic_config *c, int64_t t),                         \
      (c, t))                                                                                                  \
    X(schedule, const char *, schedule_kind_name, (trainopt_schedule_kind kind),                               \
      (kind))                                                                                                  \
    X(schedule, trainopt_schedule, schedule_defaults, (trainopt_schedule_kind kind),                           \
      (kind))                                                                                                  \
    X(schedule, double, schedule_lr, (const trainopt_schedule *s, int64_t t),                                  \
      (s, t))                                                                                                  \
    X(schedule, double, schedule_momentum, (const trainopt_schedule *s, int64_t t),                            \
      (s, t))                                                                                                  \
    X(schedule, double, lr_join, (const trainopt_schedule *parts, size_t k, const int64_t *milestones,         \
      int64_t t),                                                                                              \
      (parts, k, milestones, t))                                                                               \
    X(schedule, trainopt_status, schedule_parse_msg, (const char *text, trainopt_schedule *s, char *msg,       \
      size_t msg_size),                                                                                        \
      (text, s, msg, msg_size))                                                                                \
    X(schedule, trainopt_status, schedule_parse, (const char *text, trainopt_schedule *s),                     \
      (text, s))                                                                                               \
    X(schedule, trainopt_status, schedule_parse_join, (const char *text, trainopt_schedule *join,              \
      trainopt_schedule *parts, size_t max_parts, char *msg, size_t msg_size),                                 \
      (text, join, parts, max_parts, msg, msg_size))                                                           \
    X(schedule, trainopt_status, plateau_init, (trainopt_plateau *p, const trainopt_plateau_config *c,         \
      double lr),                                                                                              \
      (p, c, lr))                                                                                              \
    X(schedule, double, plateau_step, (trainopt_plateau *p, double metric),                                    \
      (p, metric))                                                                                             \
    X(regularize, trainopt_status, l1l2_penalty, (size_t n, const float *param, double l1, double l2,          \
      float *penalty),                                                                                         \
      (n, param, l1, l2, penalty))                                                                             \
    X(regularize, trainopt_status, l1l2_grad, (size_t n, const float *param, float *grad, double l1,           \
      double l2),                                                                                              \
      (n, param, grad, l1, l2))                                                                                \
    X(gradutil, trainopt_status, clip_grad_value, (size_t n, float *grad, double clip_value),                  \
      (n, grad, clip_value))                                                                                   \
    X(gradutil, trainopt_status, grad_unscale, (size_t n, float *grad, float inv_scale, int *found_inf),       \
      (n, grad, inv_scale, found_inf))                                                                         \
    X(gradutil, trainopt_status, sum_squares, (size_t k, const float *const *xs, const size_t *lens,           \
      double *sum, size_t *nonfinite),                                                                         \
      (k, xs, lens, sum, nonfinite))                                                                           \
    X(gradutil, trainopt_status, grad_norm, (size_t k, float *const *grads, const size_t *lens,                \
      float inv_scale, double max_norm, trainopt_grad_norm_info *info),                                        \
      (k, grads, lens, inv_scale, max_norm, info))                                                             \
    X(gradutil, trainopt_status, clip_grad_norm, (size_t k, float *const *grads, const size_t *lens,           \
      double max_norm, float *total_norm),                                                                     \
      (k, grads, lens, max_norm, total_norm))                                                                  \
    X(optim, trainopt_status, lamb_step, (const trainopt_lamb_config *c, int64_t step, size_t k,               \
      const size_t *lens, float *const *params, const float *const *grads, float *const *exp_avgs,             \
      float *const *exp_avg_sqs),                                                                              \
      (c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs))                                                \
    X(optim, trainopt_status, lamb_step_ex, (const trainopt_lamb_config *c, int64_t step, size_t k,            \
      const size_t *lens, float *const *params, const float *const *grads, float *const *exp_avgs,             \
      float *const *exp_avg_sqs, const trainopt_step_opts *o),                                                 \
      (c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, o))                                             \
    X(optim, trainopt_status, lars_step, (const trainopt_lars_config *c, size_t k, const size_t *lens,         \
      float *const *params, const float *const *grads, float *const *momentum_bufs),                           \
      (c, k, lens, params, grads, momentum_bufs))                                                              \
    X(optim, trainopt_status, lars_step_ex, (const trainopt_lars_config *c, size_t k, const size_t *lens,      \
      float *const *params, const float *const *grads, float *const *momentum_bufs,                            \
      const trainopt_step_opts *o),                                                                            \
      (c, k, lens, params, grads, momentum_bufs, o))                                                           \
    X(optim, trainopt_status, lamb_step_mp, (const trainopt_lamb_config *c, int64_t step, size_t k,            \
      const size_t *lens, void *const *params, const void *const *grads, void *const *exp_avgs,                \
      void *const *exp_avg_sqs, const trainopt_precision *pr, const trainopt_step_opts *o),                    \
      (c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, pr, o))                                         \
    X(optim, trainopt_status, lars_step_mp, (const trainopt_lars_config *c, size_t k, const size_t *lens,      \
      void *const *params, const void *const *grads, void *const *momentum_bufs, const trainopt_precision *pr, \
      const trainopt_step_opts *o),                                                                            \
      (c, k, lens, params, grads, momentum_bufs, pr, o))                                                       \
    X(optim, trainopt_status, lamb_step_mt, (const trainopt_lamb_config *c, int64_t step, size_t k,            \
      const size_t *lens, float *const *params, const float *const *grads, float *const *exp_avgs,             \
      float *const *exp_avg_sqs, const trainopt_step_opts *o, const trainopt_threads *threads),                \
      (c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, o, threads))                                    \
    X(optim, trainopt_status, lars_step_mt, (const trainopt_lars_config *c, size_t k, const size_t *lens,      \
      float *const *params, const float *const *grads, float *const *momentum_bufs,                            \
      const trainopt_step_opts *o, const trainopt_threads *threads),                                           \
      (c, k, lens, params, grads, momentum_bufs, o, threads))                                                  \
    X(optim, trainopt_status, lamb_step_mp_mt, (const trainopt_lamb_config *c, int64_t step, size_t k,         \
      const size_t *lens, void *const *params, const void *const *grads, void *const *exp_avgs,                \
      void *const *exp_avg_sqs, const trainopt_precision *pr, const trainopt_step_opts *o,                     \
      const trainopt_threads *threads),                                                                        \
      (c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, pr, o, threads))                                \
    X(optim, trainopt_status, lars_step_mp_mt, (const trainopt_lars_config *c, size_t k, const size_t *lens,   \
      void *const *params, const void *const *grads, void *const *momentum_bufs, const trainopt_precision *pr, \
      const trainopt_step_opts *o, const trainopt_threads *threads),                                           \
      (c, k, lens, params, grads, momentum_bufs, pr, o, threads))                                              \
    X(optim, trainopt_status, adafactor_step, (const trainopt_adafactor_config *c, int64_t step, size_t rows,   \
      size_t cols, float *param, const float *grad, float *row_var, float *col_var, float *variance),            \
      (c, step, rows, cols, param, grad, row_var, col_var, variance))                                          \
    X(optim, trainopt_status, adafactor_step_ex, (const trainopt_adafactor_config *c, int64_t step,            \
      size_t rows, size_t cols, float *param, const float *grad, float *row_var, float *col_var,               \
      float *variance, const trainopt_step_opts *o),                                                           \
      (c, step, rows, cols, param, grad, row_var, col_var, variance, o))                                       \
    X(optim, trainopt_status, adafactor_step_mp, (const trainopt_adafactor_config *c, int64_t step,            \
      size_t rows, size_t cols, void *param, const void *grad, float *row_var, float *col_var,                 \
      void *variance, const trainopt_precision *pr, const trainopt_step_opts *o),                              \
      (c, step, rows, cols, param, grad, row_var, col_var, variance, pr, o))                                   \
    X(schedule, trainopt_status, sfadamw_advance, (const trainopt_sfadamw_config *c,                           \
      trainopt_sfadamw_state *s),                                                                              \
      (c, s))                                                                                                  \
    X(optim, trainopt_status, sfadamw_step, (const trainopt_sfadamw_config *c,                                 \
      const trainopt_sfadamw_state *s, size_t n, float *param, const float *grad, float *z,                    \
      float *exp_avg_sq),                                                                                      \
      (c, s, n, param, grad, z, exp_avg_sq))                                                                   \
    X(optim, trainopt_status, sfadamw_step_ex, (const trainopt_sfadamw_config *c,                              \
      const trainopt_sfadamw_state *s, size_t n, float *param, const float *grad, float *z,                    \
      float *exp_avg_sq, const trainopt_step_opts *o),                                                         \
      (c, s, n, param, grad, z, exp_avg_sq, o))                                                                \
    X(optim, trainopt_status, sfadamw_to_eval, (const trainopt_sfadamw_config *c, size_t n, const float *y,    \
      const float *z, float *x),                                                                               \
      (c, n, y, z, x))                                                                                         \
    X(optim, trainopt_status, sfadamw_to_train, (const trainopt_sfadamw_config *c, size_t n, const float *x,   \
      const float *z, float *y),                                                                               \
      (c, n, x, z, y))                                                                                         \
    TRAINOPT__MULTI_STEPS(TRAINOPT__MULTI_ROW, X)                                                              \
    X(optim, trainopt_status, nadam_step_multi, (const trainopt_nadam_config *c, int64_t step,                 \
      double mu_product, size_t k, const trainopt_tensor *tensors, const trainopt_step_opts *o,               \
      const trainopt_threads *threads),                                                                        \
      (c, step, mu_product, k, tensors, o, threads))                                                           \
    X(optim, trainopt_status, sfadamw_step_multi, (const trainopt_sfadamw_config *c,                           \
      const trainopt_sfadamw_state *s, size_t k, const trainopt_tensor *tensors, const trainopt_step_opts *o,  \
      const trainopt_threads *threads),                                                                        \
      (c, s, k, tensors, o, threads))                                                                          \
    X(optim, trainopt_status, adafactor_step_multi, (const trainopt_adafactor_config *c, int64_t step,         \
      size_t k, const trainopt_adafactor_tensor *tensors, const trainopt_step_opts *o,                         \
      const trainopt_threads *threads),                                                                        \
      (c, step, k, tensors, o, threads))                                                                       \
    X(gradutil, trainopt_status, sum_squares_mt, (size_t k, const float *const *xs, const size_t *lens,        \
      double *sum, size_t *nonfinite, const trainopt_threads *threads),                                        \
      (k, xs, lens, sum, nonfinite, threads))                                                                  \
    X(gradutil, trainopt_status, grad_norm_mt, (size_t k, float *const *grads, const size_t *lens,             \
      float inv_scale, double max_norm, trainopt_grad_norm_info *info, const trainopt_threads *threads),       \
      (k, grads, lens, inv_scale, max_norm, info, threads))                                                    \
    X(gradutil, trainopt_status, clip_grad_norm_mt, (size_t k, float *const *grads, const size_t *lens,        \
      double max_norm, float *total_norm, const trainopt_threads *threads),                                    \
      (k, grads, lens, max_norm, total_norm, threads))                                                         \
    X(gradutil, trainopt_status, clip_grad_value_mt, (size_t n, float *grad, double clip_value,                \
      const trainopt_threads *threads),                                                                        \
      (n, grad, clip_value, threads))                                                                          \
    X(gradutil, trainopt_status, grad_unscale_mt, (size_t n, float *grad, float inv_scale, int *found_inf,     \
      const trainopt_threads *threads),                                                                        \
      (n, grad, inv_scale, found_inf, threads))                                                                \
    X(loss, trainopt_status, mse_loss, (size_t n, const float *pred, const float *target, float *loss,         \
      float *grad),                                                                                            \
      (n, pred, target, loss, grad))                                                                           \
    X(loss, trainopt_status, bce_with_logits, (size_t n, const float *logits, const float *target,             \
      float *loss, float *grad),                                                                               \
      (n, logits, target, loss, grad))                                                                         \
    X(loss, trainopt_status, softmax_cross_entropy, (size_t batch, size_t classes, const float *logits,        \
      const int32_t *labels, int32_t ignore_index, double label_smoothing, float *loss, float *grad),          \
      (batch, classes, logits, labels, ignore_index, label_smoothing, loss, grad))                             \
    X(random, trainopt_status, rand_u32, (uint64_t seed, uint64_t offset, size_t n, uint32_t *out),            \
      (seed, offset, n, out))                                                                                  \
    X(random, trainopt_status, rand_uniform, (uint64_t seed, uint64_t offset, size_t n, double lo,             \
      double hi, float *out),                                                                                  \
      (seed, offset, n, lo, hi, out))                                                                          \
    X(random, trainopt_status, rand_normal, (uint64_t seed, uint64_t offset, size_t n, double mean,            \
      double std, float *out),                                                                                 \
      (seed, offset, n, mean, std, out))                                                                       \
    X(random, trainopt_status, dropout_forward, (double p, uint64_t seed, uint64_t offset, size_t n,           \
      const float *x, float *y, uint8_t *mask),                                                                \
      (p, seed, offset, n, x, y, mask))                                                                        \
    X(random, trainopt_status, dropout_backward, (double p, uint64_t seed, uint64_t offset, size_t n,          \
      const float *dy, float *dx, const uint8_t *mask),                                                        \
      (p, seed, offset, n, dy, dx, mask))                                                                      \
    X(convert, trainopt_status, convert, (size_t n, const void *src, trainopt_dtype src_dtype, void *dst,       \
      trainopt_dtype dst_dtype, trainopt_rounding rounding, uint64_t seed, uint64_t offset),                   \
      (n, src, src_dtype, dst, dst_dtype, rounding, seed, offset))                                             \
    X(init, double, calculate_gain, (trainopt_nonlinearity nl, double param),                                  \
      (nl, param))                                                                                             \
    X(init, trainopt_status, calculate_fans, (size_t ndim, const size_t *shape, size_t *fan_in,                \
      size_t *fan_out),                                                                                        \
      (ndim, shape, fan_in, fan_out))                                                                          \
    X(init, trainopt_status, xavier_uniform, (uint64_t seed, uint64_t offset, size_t n, size_t fan_in,         \
      size_t fan_out, double gain, float *out),                                                                \
      (seed, offset, n, fan_in, fan_out, gain, out))                                                           \
    X(init, trainopt_status, xavier_normal, (uint64_t seed, uint64_t offset, size_t n, size_t fan_in,          \
      size_t fan_out, double gain, float *out),                                                                \
      (seed, offset, n, fan_in, fan_out, gain, out))                                                           \
    X(init, trainopt_status, kaiming_uniform, (const trainopt_kaiming_config *c, uint64_t seed,                \
      uint64_t offset, size_t n, size_t fan_in, size_t fan_out, float *out),                                   \
      (c, seed, offset, n, fan_in, fan_out, out))                                                              \
    X(init, trainopt_status, kaiming_normal, (const trainopt_kaiming_config *c, uint64_t seed,                 \
      uint64_t offset, size_t n, size_t fan_in, size_t fan_out, float *out),                                   \
      (c, seed, offset, n, fan_in, fan_out, out))                                                              \
    X(init, trainopt_status, trunc_normal, (const trainopt_trunc_normal_config *c, uint64_t seed,              \
      uint64_t offset, size_t n, float *out),                                                                  \
      (c, seed, offset, n, out))                                                                               \
    X(batchnorm, trainopt_status, batchnorm_forward_train, (const trainopt_bn_config *c,                       \
      trainopt_bn_shape s, const float *x, const float *gamma, const float *beta, float *running_mean,         \
      float *running_var, float *y, float *save_mean, float *save_invstd),                                     \
      (c, s, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd))                            \
    X(batchnorm, trainopt_status, batchnorm_forward_infer, (const trainopt_bn_config *c,                       \
      trainopt_bn_shape s, const float *x, const float *gamma, const float *beta, const float *running_mean,   \
      const float *running_var, float *y),                                                                     \
      (c, s, x, gamma, beta, running_mean, running_var, y))                                                    \
    X(batchnorm, trainopt_status, batchnorm_backward, (const trainopt_bn_config *c, trainopt_bn_shape s,       \
      const float *x, const float *dy, const float *gamma, const float *save_mean, const float *save_invstd,   \
      const float *y, float *dx, float *dgamma, float *dbeta),                                                 \
      (c, s, x, dy, gamma, save_mean, save_invstd, y, dx, dgamma, dbeta))                                      \
    X(batchnorm, trainopt_status, batchnorm_fold, (const trainopt_bn_config *c, size_t channels,               \
      const float *gamma, const float *beta, const float *running_mean, const float *running_var,              \
      float *scale, float *shift),                                                                             \
      (c, channels, gamma, beta, running_mean, running_var, scale, shift))                                     \
    X(norms, trainopt_status, layernorm_forward, (const trainopt_norm_config *c, size_t rows, size_t cols,     \
      const float *x, const float *weight, const float *bias, float *y, float *mean, float *rstd),             \
      (c, rows, cols, x, weight, bias, y, mean, rstd))                                                         \
    X(norms, trainopt_status, layernorm_backward, (const trainopt_norm_config *c, size_t rows, size_t cols,    \
      const float *x, const float *dy, const float *weight, const float *mean, const float *rstd, float *dx,   \
      float *dweight, float *dbias),                                                                           \
      (c, rows, cols, x, dy, weight, mean, rstd, dx, dweight, dbias))                                          \
    X(norms, trainopt_status, rmsnorm_forward, (const trainopt_norm_config *c, size_t rows, size_t cols,       \
      const float *x, const float *weight, float *y, float *rstd),                                             \
      (c, rows, cols, x, weight, y, rstd))                                                                     \
    X(norms, trainopt_status, rmsnorm_backward, (const trainopt_norm_config *c, size_t rows, size_t cols,      \
      const float *x, const float *dy, const float *weight, const float *rstd, float *dx, float *dweight),     \
      (c, rows, cols, x, dy, weight, rstd, dx, dweight))                                                       \
    X(norms, trainopt_status, groupnorm_forward, (const trainopt_norm_config *c, trainopt_bn_shape s,          \
      size_t groups, const float *x, const float *weight, const float *bias, float *y, float *mean,            \
      float *rstd),                                                                                            \
      (c, s, groups, x, weight, bias, y, mean, rstd))                                                          \
    X(norms, trainopt_status, groupnorm_backward, (const trainopt_norm_config *c, trainopt_bn_shape s,         \
      size_t groups, const float *x, const float *dy, const float *weight, const float *mean,                  \
      const float *rstd, float *dx, float *dweight, float *dbias),                                             \
      (c, s, groups, x, dy, weight, mean, rstd, dx, dweight, dbias))                                          \
    X(norms, trainopt_status, layernorm_forward_mt, (const trainopt_norm_config *c, size_t rows, size_t cols,  \
      const float *x, const float *weight, const float *bias, float *y, float *mean, float *rstd,              \
      const trainopt_threads *threads),                                                                        \
      (c, rows, cols, x, weight, bias, y, mean, rstd, threads))                                                \
    X(norms, trainopt_status, layernorm_backward_mt, (const trainopt_norm_config *c, size_t rows, size_t cols, \
      const float *x, const float *dy, const float *weight, const float *mean, const float *rstd, float *dx,   \
      float *dweight, float *dbias, const trainopt_threads *threads),                                          \
      (c, rows, cols, x, dy, weight, mean, rstd, dx, dweight, dbias, threads))                                 \
    X(norms, trainopt_status, rmsnorm_forward_mt, (const trainopt_norm_config *c, size_t rows, size_t cols,    \
      const float *x, const float *weight, float *y, float *rstd, const trainopt_threads *threads),             \
      (c, rows, cols, x, weight, y, rstd, threads))                                                            \
    X(norms, trainopt_status, rmsnorm_backward_mt, (const trainopt_norm_config *c, size_t rows, size_t cols,   \
      const float *x, const float *dy, const float *weight, const float *rstd, float *dx, float *dweight,      \
      const trainopt_threads *threads),                                                                        \
      (c, rows, cols, x, dy, weight, rstd, dx, dweight, threads))                                               \
    X(norms, trainopt_status, layernorm_forward_mp, (const trainopt_norm_config *c, size_t rows, size_t cols,  \
      const void *x, trainopt_dtype dtype, const float *weight, const float *bias, void *y, float *mean,       \
      float *rstd),                                                                                            \
      (c, rows, cols, x, dtype, weight, bias, y, mean, rstd))                                                  \
    X(norms, trainopt_status, layernorm_backward_mp, (const trainopt_norm_config *c, size_t rows, size_t cols, \
      const void *x, const void *dy, trainopt_dtype dtype, const float *weight, const float *mean,             \
      const float *rstd, void *dx, float *dweight, float *dbias),                                              \
      (c, rows, cols, x, dy, dtype, weight, mean, rstd, dx, dweight, dbias))                                   \
    X(norms, trainopt_status, rmsnorm_forward_mp, (const trainopt_norm_config *c, size_t rows, size_t cols,    \
      const void *x, trainopt_dtype dtype, const float *weight, void *y, float *rstd),                         \
      (c, rows, cols, x, dtype, weight, y, rstd))                                                              \
    X(norms, trainopt_status, rmsnorm_backward_mp, (const trainopt_norm_config *c, size_t rows, size_t cols,   \
      const void *x, const void *dy, trainopt_dtype dtype, const float *weight, const float *rstd, void *dx,   \
      float *dweight),                                                                                         \
      (c, rows, cols, x, dy, dtype, weight, rstd, dx, dweight))                                                \
    X(norms, trainopt_status, groupnorm_forward_mp, (const trainopt_norm_config *c, trainopt_bn_shape s,       \
      size_t groups, const void *x, trainopt_dtype dtype, const float *weight, const float *bias, void *y,     \
      float *mean, float *rstd),                                                                               \
      (c, s, groups, x, dtype, weight, bias, y, mean, rstd))                                                   \
    X(norms, trainopt_status, groupnorm_backward_mp, (const trainopt_norm_config *c, trainopt_bn_shape s,      \
      size_t groups, const void *x, const void *dy, trainopt_dtype dtype, const float *weight,                 \
      const float *mean, const float *rstd, void *dx, float *dweight, float *dbias),                           \
      (c, s, groups, x, dy, dtype, weight, mean, rstd, dx, dweight, dbias))                                   \
    X(norms, trainopt_status, groupnorm_forward_mt, (const trainopt_norm_config *c, trainopt_bn_shape s,       \
      size_t groups, const float *x, const float *weight, const float *bias, float *y, float *mean,            \
      float *rstd, const trainopt_threads *threads),                                                           \
      (c, s, groups, x, weight, bias, y, mean, rstd, threads))                                                 \
    X(norms, trainopt_status, groupnorm_backward_mt, (const trainopt_norm_config *c, trainopt_bn_shape s,      \
      size_t groups, const float *x, const float *dy, const float *weight, const float *mean,                  \
      const float *rstd, float *dx, float *dweight, float *dbias, const trainopt_threads *threads),             \
      (c, s, groups, x, dy, weight, mean, rstd, dx, dweight, dbias, threads))                                 \
    X(batchnorm, trainopt_status, batchnorm_forward_train_mt, (const trainopt_bn_config *c, trainopt_bn_shape s, \
      const float *x, const float *gamma, const float *beta, float *running_mean, float *running_var,          \
      float *y, float *save_mean, float *save_invstd, const trainopt_threads *threads),                        \
      (c, s, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd, threads))                   \
    X(batchnorm, trainopt_status, batchnorm_backward_mt, (const trainopt_bn_config *c, trainopt_bn_shape s,    \
      const float *x, const float *dy, const float *gamma, const float *save_mean, const float *save_invstd,   \
      const float *y, float *dx, float *dgamma, float *dbeta, const trainopt_threads *threads),                \
      (c, s, x, dy, gamma, save_mean, save_invstd, y, dx, dgamma, dbeta, threads))                             \
    X(batchnorm, trainopt_status, batchnorm_forward_infer_mt, (const trainopt_bn_config *c,                    \
      trainopt_bn_shape s, const float *x, const float *gamma, const float *beta, const float *running_mean,   \
      const float *running_var, float *y, const trainopt_threads *threads),                                    \
      (c, s, x, gamma, beta, running_mean, running_var, y, threads))                                           \
    X(random, trainopt_status, dropout_forward_mt, (double p, uint64_t seed, uint64_t offset, size_t n,        \
      const float *x, float *y, uint8_t *mask, const trainopt_threads *threads),                               \
      (p, seed, offset, n, x, y, mask, threads))                                                               \
    X(random, trainopt_status, dropout_backward_mt, (double p, uint64_t seed, uint64_t offset, size_t n,       \
      const float *dy, float *dx, const uint8_t *mask, const trainopt_threads *threads),                       \
      (p, seed, offset, n, dy, dx, mask, threads))                                                             \
    X(loss, trainopt_status, mse_loss_mt, (size_t n, const float *pred, const float *target, float *loss,      \
      float *grad, const trainopt_threads *threads),                                                           \
      (n, pred, target, loss, grad, threads))                                                                  \
    X(loss, trainopt_status, bce_with_logits_mt, (size_t n, const float *logits, const float *target,          \
      float *loss, float *grad, const trainopt_threads *threads),                                              \
      (n, logits, target, loss, grad, threads))                                                                \
    X(loss, trainopt_status, softmax_cross_entropy_mt, (size_t batch, size_t classes, const float *logits,     \
      const int32_t *labels, int32_t ignore_index, double label_smoothing, float *loss, float *grad,           \
      const trainopt_threads *threads),                                                                        \
      (batch, classes, logits, labels, ignore_index, label_smoothing, loss, grad, threads))                    \
    X(random, trainopt_status, rand_u32_mt, (uint64_t seed, uint64_t offset, size_t n, uint32_t *out,          \
      const trainopt_threads *threads),                                                                        \
      (seed, offset, n, out, threads))                                                                         \
    X(random, trainopt_status, rand_uniform_mt, (uint64_t seed, uint64_t offset, size_t n, double lo,          \
      double hi, float *out, const trainopt_threads *threads),                                                 \
      (seed, offset, n, lo, hi, out, threads))                                                                 \
    X(random, trainopt_status, rand_normal_mt, (uint64_t seed, uint64_t offset, size_t n, double mean,         \
      double std, float *out, const trainopt_threads *threads),                                                \
      (seed, offset, n, mean, std, out, threads))                                                              \
    X(init, trainopt_status, xavier_uniform_mt, (uint64_t seed, uint64_t offset, size_t n, size_t fan_in,      \
      size_t fan_out, double gain, float *out, const trainopt_threads *threads),                               \
      (seed, offset, n, fan_in, fan_out, gain, out, threads))                                                  \
    X(init, trainopt_status, xavier_normal_mt, (uint64_t seed, uint64_t offset, size_t n, size_t fan_in,       \
      size_t fan_out, double gain, float *out, const trainopt_threads *threads),                               \
      (seed, offset, n, fan_in, fan_out, gain, out, threads))                                                  \
    X(init, trainopt_status, kaiming_uniform_mt, (const trainopt_kaiming_config *c, uint64_t seed,             \
      uint64_t offset, size_t n, size_t fan_in, size_t fan_out, float *out, const trainopt_threads *threads),  \
      (c, seed, offset, n, fan_in, fan_out, out, threads))                                                     \
    X(init, trainopt_status, kaiming_normal_mt, (const trainopt_kaiming_config *c, uint64_t seed,              \
      uint64_t offset, size_t n, size_t fan_in, size_t fan_out, float *out, const trainopt_threads *threads),  \
      (c, seed, offset, n, fan_in, fan_out, out, threads))                                                     \
    X(init, trainopt_status, trunc_normal_mt, (const trainopt_trunc_normal_config *c, uint64_t seed,           \
      uint64_t offset, size_t n, float *out, const trainopt_threads *threads),                                 \
      (c, seed, offset, n, out, threads))                                                                      \
    TRAINOPT__MULTI_STEPS(TRAINOPT__MP_MULTI_ROW, X)                                                           \
    X(optim, trainopt_status, nadam_step_mp_multi, (const trainopt_nadam_config *c, int64_t step,              \
      double mu_product, size_t k, const trainopt_tensor_mp *tensors, const trainopt_precision *pr,            \
      const trainopt_step_opts *o, const trainopt_threads *threads),                                           \
      (c, step, mu_product, k, tensors, pr, o, threads))                                                       \
    X(optim, trainopt_status, sfadamw_step_mp_multi, (const trainopt_sfadamw_config *c,                        \
      const trainopt_sfadamw_state *s, size_t k, const trainopt_tensor_mp *tensors,                            \
      const trainopt_precision *pr, const trainopt_step_opts *o, const trainopt_threads *threads),             \
      (c, s, k, tensors, pr, o, threads))

#define TRAINOPT__DECLARE(family, ret, name, params, args) TRAINOPT_API ret trainopt_##name params TRAINOPT__SYMBOL(name);
TRAINOPT_KERNELS(TRAINOPT__DECLARE)
#undef TRAINOPT__DECLARE

#ifdef __cplusplus
}
#endif
#endif /* TRAINOPT_H */
