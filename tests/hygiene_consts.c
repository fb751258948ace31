/* tests/hygiene_consts.c - a caller of every public function whose sizes, shapes and
   hyperparameters are all compile-time constants. TRAINOPT_STATIC compiles the kernels
   in this unit, so an optimizing compiler sees the constants, inlines the kernels and
   folds them. gcc 12 then warned (-Waggressive-loop-optimizations, on by default, so
   in every user's build) about tail loops that the constants made dead: batch norm's
   leftover channels, the softmax row maximum's leftover vectors, and the losses'
   blocked sum (trainopt_mse_loss with n = 256, gcc -O2, no -m flags).
   tests/hygiene.sh compiles it with gcc and clang at -O2 and -O3 with -Werror on
   every backend, and once with TRAINOPT_API=static, where any public function this
   file does not call is an unused-function error: a new kernel must be added here.
   It is never run. */
#define TRAINOPT_STATIC
#include "trainopt.h"

#define K 65536 /* every array's length */

/* The callers are external functions, not inlined into main: gcc then clones
   each kernel for its constant arguments, which is where it warned. */

static float a[K], b[K], c[K], d[K], e[K], f[K];
static uint8_t mask[K / 8];
static uint32_t words[K];
static int32_t labels[64];

static int failures; /* every status is kept, though the values do not matter here */
static double sink;  /* and every value */
static void note(trainopt_status st) { failures += st != TRAINOPT_OK; }

void text(void);
void text(void) {
    sink += (double)trainopt_status_str(TRAINOPT_ERR_SHAPE)[0];
    sink += (double)trainopt_backend()[0];
    sink += (double)trainopt_last_error()[0];
    trainopt_clear_error();
}

void optimizers(void);
void optimizers(void) {
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    trainopt_adagrad_config adagrad = TRAINOPT_ADAGRAD_DEFAULTS;
    trainopt_rmsprop_config rmsprop = TRAINOPT_RMSPROP_DEFAULTS;
    trainopt_adam_config adam = TRAINOPT_ADAM_DEFAULTS, adamw = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t nonfinite = 0;
    o.grad_scale = 0.5, o.nonfinite = &nonfinite;
    sgd.momentum = 0.9, sgd.nesterov = 1;
    rmsprop.momentum = 0.9, rmsprop.centered = 1;
    adamw.amsgrad = 1;
    note(trainopt_sgd_step(&sgd, 2, K, a, b, c));
    note(trainopt_sgd_step_ex(&sgd, 2, 256, a, b, c, &o));
    note(trainopt_adagrad_init(&adagrad, 7, c));
    note(trainopt_adagrad_step(&adagrad, 2, 7, a, b, c));
    note(trainopt_adagrad_step_ex(&adagrad, 2, 16, a, b, c, &o));
    note(trainopt_rmsprop_step(&rmsprop, 2, 63, a, b, c, d, e));
    note(trainopt_rmsprop_step_ex(&rmsprop, 2, 1, a, b, c, d, e, &o));
    note(trainopt_adam_step(&adam, 2, 256, a, b, c, d, NULL));
    note(trainopt_adamw_step(&adamw, 2, 17, a, b, c, d, e));
    note(trainopt_adam_step_ex(&adam, 2, 31, a, b, c, d, NULL, &o));
    note(trainopt_adamw_step_ex(&adamw, 2, K, a, b, c, d, e, &o));
}

void more_optimizers(void); /* issue 16 */
void more_optimizers(void) {
    trainopt_nadam_config nadam = TRAINOPT_NADAM_DEFAULTS;
    trainopt_radam_config radam = TRAINOPT_RADAM_DEFAULTS;
    trainopt_adamax_config adamax = TRAINOPT_ADAMAX_DEFAULTS;
    trainopt_adadelta_config adadelta = TRAINOPT_ADADELTA_DEFAULTS;
    trainopt_lion_config lion = TRAINOPT_LION_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t nonfinite = 0;
    double mu_product = trainopt_nadam_mu_product(&nadam, 1, 1.0);
    o.grad_scale = 0.5, o.nonfinite = &nonfinite;
    nadam.decoupled_weight_decay = 1, nadam.weight_decay = 0.01;
    lion.lr = 1e-4;
    sink += mu_product;
    note(trainopt_nadam_step(&nadam, 1, mu_product, K, a, b, c, d));
    note(trainopt_nadam_step_ex(&nadam, 1, mu_product, 17, a, b, c, d, &o));
    note(trainopt_radam_step(&radam, 7, 256, a, b, c, d));
    note(trainopt_radam_step_ex(&radam, 2, 31, a, b, c, d, &o));
    note(trainopt_adamax_step(&adamax, 2, 63, a, b, c, d));
    note(trainopt_adamax_step_ex(&adamax, 2, K, a, b, c, d, &o));
    note(trainopt_adadelta_step(&adadelta, 2, 7, a, b, c, d));
    note(trainopt_adadelta_step_ex(&adadelta, 2, 1, a, b, c, d, &o));
    note(trainopt_lion_step(&lion, 2, K, a, b, c));
    note(trainopt_lion_step_ex(&lion, 2, 16, a, b, c, &o));
}

void eight_bit_states(void); /* issue 18 */
void eight_bit_states(void) {
    static uint8_t q0[K], q1[K];
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    trainopt_adam_config adam = TRAINOPT_ADAM_DEFAULTS, adamw = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_lion_config lion = TRAINOPT_LION_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t nonfinite = 0;
    o.grad_scale = 0.5, o.nonfinite = &nonfinite;
    sgd.momentum = 0.9, lion.lr = 1e-4;
    note(trainopt_quantize_blockwise(TRAINOPT_Q8_SIGNED, TRAINOPT_Q8_BLOCK, K, a, q0, c));
    note(trainopt_dequantize_blockwise(TRAINOPT_Q8_UNSIGNED, 64, 100, q0, c, d));
    note(trainopt_sgd8bit_step(&sgd, 2, 256, K, a, b, q0, c));
    note(trainopt_sgd8bit_step_ex(&sgd, 1, 64, 17, a, b, q0, c, &o));
    note(trainopt_adam8bit_step(&adam, 2, 256, 256, a, b, q0, c, q1, d));
    note(trainopt_adam8bit_step_ex(&adam, 2, 4096, K, a, b, q0, c, q1, d, &o));
    note(trainopt_adamw8bit_step(&adamw, 2, 128, 31, a, b, q0, c, q1, d));
    note(trainopt_adamw8bit_step_ex(&adamw, 2, 256, 1, a, b, q0, c, q1, d, &o));
    note(trainopt_lion8bit_step(&lion, 2, 256, K, a, b, q0, c));
    note(trainopt_lion8bit_step_ex(&lion, 2, 64, 63, a, b, q0, c, &o));
}

void eight_bit_mixed(void); /* issue 18: bf16/fp16 parameters in the first halves of a and b */
void eight_bit_mixed(void) {
    static uint8_t q0[K], q1[K];
    static uint16_t low[K], copy[K];
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    trainopt_adam_config adam = TRAINOPT_ADAM_DEFAULTS, adamw = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_lion_config lion = TRAINOPT_LION_DEFAULTS;
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t nonfinite = 0;
    o.grad_scale = 0.5, o.nonfinite = &nonfinite;
    sgd.momentum = 0.9, lion.lr = 1e-4;
    pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_BF16, pr.param_mode = TRAINOPT_PARAM_STOCHASTIC, pr.seed = 1;
    note(trainopt_sgd8bit_step_mp(&sgd, 2, 256, K, a, b, q0, c, &pr, NULL));
    pr.param_mode = TRAINOPT_PARAM_SPLIT, pr.param_aux = low;
    note(trainopt_adam8bit_step_mp(&adam, 2, 4096, K, a, b, q0, c, q1, d, &pr, &o));
    pr.param_dtype = TRAINOPT_F16, pr.grad_dtype = TRAINOPT_F16, pr.param_mode = TRAINOPT_PARAM_KAHAN;
    note(trainopt_adamw8bit_step_mp(&adamw, 2, 128, 31, a, b, q0, c, q1, d, &pr, NULL));
    pr.param_mode = TRAINOPT_PARAM_NEAREST, pr.param_aux = NULL, pr.copy = copy, pr.copy_dtype = TRAINOPT_BF16;
    note(trainopt_lion8bit_step_mp(&lion, 2, 64, 63, a, b, q0, c, &pr, &o));
}

/* The multi-tensor steps and threaded reductions, on a serial hook (constant lengths). */
static void in_order(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    size_t i;
    (void)ctx;
    for (i = 0; i < count; i++) task(arg, i);
}
void many_tensors(void);
void many_tensors(void) {
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    trainopt_adagrad_config adagrad = TRAINOPT_ADAGRAD_DEFAULTS;
    trainopt_rmsprop_config rmsprop = TRAINOPT_RMSPROP_DEFAULTS;
    trainopt_adam_config adam = TRAINOPT_ADAM_DEFAULTS, adamw = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    const trainopt_threads th = {in_order, NULL};
    trainopt_tensor list[2] = {{a, b, {c, d, e, NULL}, 300}, {a + 300, b + 300, {c + 300, d + 300, e + 300, NULL}, 40000}};
    float *grads[2] = {a, b};
    const float *const *xs = (const float *const *)grads;
    static const size_t lens[2] = {20000, 257};
    size_t nonfinite = 0;
    trainopt_grad_norm_info info;
    double sum;
    float norm;
    o.grad_scale = 0.5, o.nonfinite = &nonfinite;
    note(trainopt_sgd_step_multi(&sgd, 2, 2, list, &o, &th));
    note(trainopt_adagrad_step_multi(&adagrad, 2, 2, list, NULL, &th));
    note(trainopt_rmsprop_step_multi(&rmsprop, 2, 2, list, &o, NULL));
    note(trainopt_adam_step_multi(&adam, 2, 2, list, &o, &th));
    note(trainopt_adamw_step_multi(&adamw, 2, 1, list, NULL, &th));
    note(trainopt_sum_squares_mt(2, xs, lens, &sum, &nonfinite, &th));
    note(trainopt_grad_norm_mt(2, grads, lens, 0.5f, 1.0, &info, &th));
    note(trainopt_clip_grad_norm_mt(2, grads, lens, 1.0, &norm, &th));
    sink += sum + info.sum_squares + norm;
}

void many_tensors_more(void);
void many_tensors_more(void) {
    trainopt_nadam_config nadam = TRAINOPT_NADAM_DEFAULTS;
    trainopt_radam_config radam = TRAINOPT_RADAM_DEFAULTS;
    trainopt_adamax_config adamax = TRAINOPT_ADAMAX_DEFAULTS;
    trainopt_adadelta_config adadelta = TRAINOPT_ADADELTA_DEFAULTS;
    trainopt_lion_config lion = TRAINOPT_LION_DEFAULTS;
    trainopt_sfadamw_config sf = TRAINOPT_SFADAMW_DEFAULTS;
    trainopt_sfadamw_state sfs = {2, 0.0025, 1.0, 0.0025, 0.5};
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    const trainopt_threads th = {in_order, NULL};
    trainopt_tensor list[2] = {{a, b, {c, d, NULL, NULL}, 300}, {a + 300, b + 300, {c + 300, d + 300, NULL, NULL}, 40000}};
    size_t nonfinite = 0;
    lion.lr = 1e-4;
    o.grad_scale = 0.5, o.nonfinite = &nonfinite;
    note(trainopt_nadam_step_multi(&nadam, 2, 0.81, 2, list, &o, &th));
    note(trainopt_radam_step_multi(&radam, 7, 2, list, NULL, &th));
    note(trainopt_adamax_step_multi(&adamax, 2, 2, list, &o, NULL));
    note(trainopt_adadelta_step_multi(&adadelta, 2, 2, list, &o, &th));
    note(trainopt_lion_step_multi(&lion, 2, 1, list, NULL, &th));
    note(trainopt_sfadamw_step_multi(&sf, &sfs, 2, list, &o, &th));
}

void adafactor_list(void);
void adafactor_list(void) {
    trainopt_adafactor_config af = TRAINOPT_ADAFACTOR_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    const trainopt_threads th = {in_order, NULL};
    trainopt_adafactor_tensor list[2] = {{a, b, c, d, NULL, 256, 256}, {e, f, NULL, NULL, c + 256, 1, 300}};
    size_t nonfinite = 0;
    o.grad_scale = 0.5, o.nonfinite = &nonfinite;
    note(trainopt_adafactor_step_multi(&af, 2, 2, list, &o, &th));
    note(trainopt_adafactor_step_multi(&af, 3, 2, list, NULL, NULL));
}

void schedules(void);
void schedules(void) {
    static const int64_t milestones[3] = {10, 20, 30};
    trainopt_onecycle_config oc = TRAINOPT_ONECYCLE_DEFAULTS;
    trainopt_cyclic_config cy = TRAINOPT_CYCLIC_DEFAULTS;
    trainopt_plateau_config pc = TRAINOPT_PLATEAU_DEFAULTS;
    trainopt_plateau plateau;
    trainopt_schedule s, join, parts[4];
    char msg[64];
    oc.max_lr = 0.1, oc.total_steps = 100;
    cy.base_lr = 0.01, cy.max_lr = 0.1;
    sink += trainopt_lr_step(0.1, 25, 10, 0.5);
    sink += trainopt_lr_multistep(0.1, 25, milestones, 3, 0.5);
    sink += trainopt_lr_exponential(0.1, 25, 0.9);
    sink += trainopt_lr_inverse_time(0.1, 25, 0.5, 10, 1);
    sink += trainopt_lr_polynomial(0.1, 25, 100, 2.0, 0.001);
    sink += trainopt_lr_linear(0.1, 25, 0.1, 1.0, 50);
    sink += trainopt_lr_constant(0.1, 25, 0.5, 50);
    sink += trainopt_lr_cosine(0.1, 25, 100, 0.0);
    sink += trainopt_lr_cosine_restarts(0.1, 25, 10, 2, 0.0);
    sink += trainopt_lr_warmup_cosine(0.1, 25, 5, 100, 0.0, 0.001);
    sink += trainopt_lr_warmup_factor(3, 5, 0.1);
    sink += trainopt_lr_onecycle(&oc, 25);
    sink += trainopt_momentum_onecycle(&oc, 25);
    sink += trainopt_lr_cyclic(&cy, 25);
    sink += trainopt_momentum_cyclic(&cy, 25);
    sink += (double)trainopt_schedule_kind_name(TRAINOPT_SCHEDULE_COSINE)[0];
    s = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_STEP);
    sink += trainopt_schedule_lr(&s, 25);
    sink += trainopt_schedule_momentum(&s, 25);
    parts[0] = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_LINEAR);
    parts[1] = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_COSINE);
    sink += trainopt_lr_join(parts, 2, milestones, 25);
    note(trainopt_schedule_parse_msg("cosine:t_max=100,eta_min=1e-5", &s, msg, sizeof msg));
    note(trainopt_schedule_parse("step:step_size=10,gamma=0.5", &s));
    note(trainopt_schedule_parse_join("linear:start_factor=0.1,total_iters=5 @5 cosine:t_max=95", &join, parts, 4, msg,
                                      sizeof msg));
    note(trainopt_plateau_init(&plateau, &pc, 0.1));
    sink += trainopt_plateau_step(&plateau, 0.5);
}

void losses_and_gradients(void);
void losses_and_gradients(void) {
    float loss, norm;
    float *grads[2] = {a, b};
    const float *tensors[2] = {a, b};
    const size_t lens[2] = {K, 5};
    trainopt_grad_norm_info info;
    double sum = 0.0;
    size_t nonfinite, i;
    int found_inf = 0;
    for (i = 0; i < 64; i++) labels[i] = (int32_t)i;
    note(trainopt_softmax_cross_entropy(64, 1024, a, labels, -100, 0.1, &loss, b));
    note(trainopt_softmax_cross_entropy(3, 10, a, labels, -100, 0.0, &loss, NULL));
    note(trainopt_mse_loss(256, a, b, &loss, c));
    note(trainopt_mse_loss(K, a, b, &loss, NULL));
    note(trainopt_bce_with_logits(9, a, b, &loss, c));
    note(trainopt_bce_with_logits(256, a, b, &loss, c));
    note(trainopt_l1l2_penalty(K, a, 0.01, 0.02, &loss));
    note(trainopt_l1l2_grad(K, a, b, 0.01, 0.02));
    note(trainopt_clip_grad_value(K, a, 1.0));
    note(trainopt_grad_unscale(K, a, 0.5f, &found_inf));
    note(trainopt_sum_squares(2, tensors, lens, &sum, &nonfinite));
    note(trainopt_grad_norm(2, grads, lens, 0.5f, 1.0, &info));
    note(trainopt_clip_grad_norm(2, grads, lens, 1.0, &norm));
    sink += sum;
}

void mixed_steps(void);
void mixed_steps(void) { /* bf16 parameters and states in the first halves of a..f, fp16 gradients */
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    trainopt_adagrad_config ada = TRAINOPT_ADAGRAD_DEFAULTS;
    trainopt_rmsprop_config rms = TRAINOPT_RMSPROP_DEFAULTS;
    trainopt_adam_config adam = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_radam_config radam = TRAINOPT_RADAM_DEFAULTS;
    trainopt_adamax_config adamax = TRAINOPT_ADAMAX_DEFAULTS;
    trainopt_adadelta_config adadelta = TRAINOPT_ADADELTA_DEFAULTS;
    trainopt_lion_config lion = TRAINOPT_LION_DEFAULTS;
    lion.lr = 1e-4;
    pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_F16, pr.state_dtype = TRAINOPT_BF16;
    pr.param_mode = TRAINOPT_PARAM_STOCHASTIC, pr.seed = 1, pr.offset = 3;
    note(trainopt_sgd_step_mp(&sgd, 1, K, a, b, c, &pr, NULL));
    note(trainopt_adagrad_step_mp(&ada, 1, 33, a, b, c, &pr, NULL));
    note(trainopt_rmsprop_step_mp(&rms, 1, K, a, b, c, d, e, &pr, NULL));
    note(trainopt_adam_step_mp(&adam, 1, K, a, b, c, d, NULL, &pr, NULL));
    note(trainopt_adamw_step_mp(&adam, 2, 100, a, b, c, d, NULL, &pr, NULL));
    pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.param_aux = f;
    note(trainopt_radam_step_mp(&radam, 1, K, a, b, c, d, &pr, NULL));
    note(trainopt_adamax_step_mp(&adamax, 1, K, a, b, c, d, &pr, NULL));
    pr.param_mode = TRAINOPT_PARAM_SPLIT;
    note(trainopt_adadelta_step_mp(&adadelta, 1, K, a, b, c, d, &pr, NULL));
    note(trainopt_lion_step_mp(&lion, 1, 17, a, b, c, &pr, NULL));
    {
        trainopt_nadam_config nadam = TRAINOPT_NADAM_DEFAULTS;
        note(trainopt_nadam_step_mp(&nadam, 1, trainopt_nadam_mu_product(&nadam, 1, 1.0), K, a, b, c, d, &pr, NULL));
    }
    {
        trainopt_sfadamw_config sf = TRAINOPT_SFADAMW_DEFAULTS;
        trainopt_sfadamw_state st = TRAINOPT_SFADAMW_STATE_INIT;
        note(trainopt_sfadamw_advance(&sf, &st));
        note(trainopt_sfadamw_step_mp(&sf, &st, K, a, b, c, d, &pr, NULL));
    }
}

void mixed_adafactor(void);
void mixed_adafactor(void) { /* bf16 parameters, fp16 gradients: [256][128] factored, then 1-D bf16 variance */
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    trainopt_adafactor_config af = TRAINOPT_ADAFACTOR_DEFAULTS;
    pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_F16, pr.state_dtype = TRAINOPT_BF16;
    pr.param_mode = TRAINOPT_PARAM_STOCHASTIC, pr.seed = 1, pr.offset = 3;
    note(trainopt_adafactor_step_mp(&af, 1, 256, 128, a, b, c, d, NULL, &pr, NULL));
    pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.param_aux = f;
    note(trainopt_adafactor_step_mp(&af, 2, 1, K, a, b, NULL, NULL, e, &pr, NULL));
}

void random_draws(void);
void random_draws(void) {
    static const size_t shape[4] = {16, 8, 3, 3};
    trainopt_kaiming_config kc = TRAINOPT_KAIMING_DEFAULTS;
    trainopt_trunc_normal_config tc = TRAINOPT_TRUNC_NORMAL_DEFAULTS;
    size_t fan_in, fan_out;
    note(trainopt_rand_u32(1, 3, K, words));
    note(trainopt_convert(K, a, TRAINOPT_F32, words, TRAINOPT_BF16, TRAINOPT_ROUND_STOCHASTIC, 1, 3));
    note(trainopt_convert(33, a, TRAINOPT_F32, words, TRAINOPT_F16, TRAINOPT_ROUND_NEAREST, 0, 0));
    note(trainopt_convert(K, words, TRAINOPT_F16, b, TRAINOPT_F32, TRAINOPT_ROUND_NEAREST, 0, 0));
    note(trainopt_rand_uniform(1, 5, 33, -1.0, 1.0, a));
    note(trainopt_rand_normal(1, 7, K, 0.0, 1.0, a));
    note(trainopt_dropout_forward(0.1, 1, 3, K, a, b, mask));
    note(trainopt_dropout_forward(0.5, 1, 3, 256, a, b, NULL));
    note(trainopt_dropout_backward(0.1, 1, 3, K, b, c, NULL));
    note(trainopt_dropout_backward(0.1, 1, 3, 100, b, c, mask));
    sink += trainopt_calculate_gain(TRAINOPT_NL_LEAKY_RELU, 0.2);
    note(trainopt_calculate_fans(4, shape, &fan_in, &fan_out));
    note(trainopt_xavier_uniform(1, 0, K, 32, 32, 1.0, a));
    note(trainopt_xavier_normal(1, 0, 256, 16, 16, 1.0, a));
    note(trainopt_kaiming_uniform(&kc, 1, 0, 1152, 72, 144, a));
    note(trainopt_kaiming_normal(&kc, 1, 0, 7, 7, 7, a));
    note(trainopt_trunc_normal(&tc, 1, 0, K, a));
}

void batch_norm(void);
void batch_norm(void) {
    const trainopt_bn_config cfg = TRAINOPT_BN_DEFAULTS;
    const trainopt_bn_config relu = {1e-5, 0.1, 1};
    const trainopt_bn_shape sh = {64, 64, 16, TRAINOPT_NCHW};
    const trainopt_bn_shape nhwc = {32, 24, 49, TRAINOPT_NHWC};
    float *mean = e, *invstd = e + 64, *dgamma = e + 128, *dbeta = e + 192;
    note(trainopt_batchnorm_forward_train(&cfg, sh, a, c, d, NULL, NULL, b, mean, invstd));
    note(trainopt_batchnorm_forward_train(&relu, nhwc, a, c, d, e + 256, e + 512, b, mean, invstd));
    note(trainopt_batchnorm_forward_infer(&cfg, sh, a, c, d, mean, invstd, b));
    note(trainopt_batchnorm_forward_infer(&relu, nhwc, a, c, d, mean, invstd, b));
    note(trainopt_batchnorm_backward(&cfg, sh, a, c, d, mean, invstd, NULL, b, dgamma, dbeta));
    note(trainopt_batchnorm_backward(&relu, nhwc, a, c, d, mean, invstd, b, f, dgamma, dbeta));
    note(trainopt_batchnorm_fold(&cfg, 64, c, d, mean, invstd, e + 1024, e + 2048));
}

void norms(void);
void norms(void) {
    const trainopt_norm_config cfg = TRAINOPT_NORM_DEFAULTS;
    const trainopt_bn_shape sh = {8, 64, 49, TRAINOPT_NCHW};
    float *mean = e, *rstd = e + 1024, *dw = e + 2048, *db = e + 8192;
    note(trainopt_layernorm_forward(&cfg, 64, 768, a, c, d, b, mean, rstd));
    note(trainopt_layernorm_backward(&cfg, 64, 768, a, c, d, mean, rstd, f, dw, db));
    note(trainopt_layernorm_backward(&cfg, 7, 33, a, c, NULL, mean, rstd, NULL, dw, NULL));
    note(trainopt_rmsnorm_forward(&cfg, 16, 4096, a, c, b, rstd));
    note(trainopt_rmsnorm_backward(&cfg, 16, 4096, a, c, d, rstd, f, dw));
    note(trainopt_groupnorm_forward(&cfg, sh, 32, a, c, d, b, mean, rstd));
    note(trainopt_groupnorm_backward(&cfg, sh, 32, a, c, d, mean, rstd, f, dw, db));
}

/* The threaded layer and RMS norm, on the serial hook (every path: several blocks, dx's
   scratch rows, no dx). */
void threaded_norms(void);
void threaded_norms(void) {
    const trainopt_norm_config cfg = TRAINOPT_NORM_DEFAULTS;
    const trainopt_threads th = {in_order, NULL};
    float *mean = e, *rstd = e + 1024, *dw = e + 2048, *db = e + 8192;
    note(trainopt_layernorm_forward_mt(&cfg, 64, 768, a, c, d, b, mean, rstd, &th));
    note(trainopt_layernorm_backward_mt(&cfg, 64, 768, a, c, d, mean, rstd, f, dw, db, &th));
    note(trainopt_layernorm_backward_mt(&cfg, 40, 600, a, c, NULL, mean, rstd, NULL, dw, NULL, &th));
    note(trainopt_layernorm_backward_mt(&cfg, 7, 33, a, c, NULL, mean, rstd, f, NULL, NULL, &th));
    note(trainopt_rmsnorm_forward_mt(&cfg, 16, 4096, a, c, b, rstd, &th));
    note(trainopt_rmsnorm_backward_mt(&cfg, 33, 300, a, c, d, rstd, f, dw, &th));
}

/* The bf16/fp16 layer, RMS and group norm: every path (rows of one segment and of
   several, one tile of weight-gradient columns and several, no weight gradients). */
void mixed_norms(void);
void mixed_norms(void) {
    const trainopt_norm_config cfg = TRAINOPT_NORM_DEFAULTS;
    const trainopt_bn_shape sh = {8, 64, 49, TRAINOPT_NCHW}, big = {2, 4, 1500, TRAINOPT_NCHW};
    float *mean = e, *rstd = e + 1024, *dw = e + 2048, *db = e + 8192;
    note(trainopt_layernorm_forward_mp(&cfg, 64, 768, a, TRAINOPT_BF16, c, d, b, mean, rstd));
    note(trainopt_layernorm_backward_mp(&cfg, 64, 768, a, c, TRAINOPT_BF16, d, mean, rstd, f, dw, db));
    note(trainopt_layernorm_backward_mp(&cfg, 7, 33, a, c, TRAINOPT_F16, NULL, mean, rstd, NULL, dw, NULL));
    note(trainopt_layernorm_forward_mp(&cfg, 7, 33, a, TRAINOPT_F32, NULL, NULL, b, mean, rstd));
    note(trainopt_rmsnorm_forward_mp(&cfg, 16, 4096, a, TRAINOPT_F16, c, b, rstd));
    note(trainopt_rmsnorm_backward_mp(&cfg, 16, 4096, a, c, TRAINOPT_BF16, d, rstd, f, NULL));
    note(trainopt_groupnorm_forward_mp(&cfg, sh, 32, a, TRAINOPT_BF16, c, d, b, mean, rstd));
    note(trainopt_groupnorm_backward_mp(&cfg, sh, 32, a, c, TRAINOPT_BF16, d, mean, rstd, f, dw, db));
    note(trainopt_groupnorm_forward_mp(&cfg, big, 2, a, TRAINOPT_F16, NULL, NULL, b, mean, rstd));
    note(trainopt_groupnorm_backward_mp(&cfg, big, 2, a, c, TRAINOPT_F16, NULL, mean, rstd, f, dw, NULL));
}

/* The threaded group norm, on the serial hook (with and without weight gradients). */
void threaded_groupnorm(void);
void threaded_groupnorm(void) {
    const trainopt_norm_config cfg = TRAINOPT_NORM_DEFAULTS;
    const trainopt_threads th = {in_order, NULL};
    const trainopt_bn_shape sh = {8, 64, 49, TRAINOPT_NCHW};
    float *mean = e, *rstd = e + 1024, *dw = e + 2048, *db = e + 8192;
    note(trainopt_groupnorm_forward_mt(&cfg, sh, 32, a, c, d, b, mean, rstd, &th));
    note(trainopt_groupnorm_backward_mt(&cfg, sh, 32, a, c, d, mean, rstd, f, dw, db, &th));
    note(trainopt_groupnorm_backward_mt(&cfg, sh, 32, a, c, d, mean, rstd, f, NULL, NULL, &th));
}

/* The threaded batch norm, on the serial hook (NCHW pieces of channels, NHWC tiles). */
void threaded_batch_norm(void);
void threaded_batch_norm(void) {
    const trainopt_bn_config cfg = TRAINOPT_BN_DEFAULTS;
    const trainopt_threads th = {in_order, NULL};
    const trainopt_bn_shape sh = {64, 64, 16, TRAINOPT_NCHW};
    const trainopt_bn_shape nhwc = {32, 200, 9, TRAINOPT_NHWC};
    float *mean = e, *invstd = e + 256, *dgamma = e + 512, *dbeta = e + 768;
    note(trainopt_batchnorm_forward_train_mt(&cfg, sh, a, c, d, NULL, NULL, b, mean, invstd, &th));
    note(trainopt_batchnorm_forward_train_mt(&cfg, nhwc, a, c, d, e + 1024, e + 1280, b, mean, invstd, &th));
    note(trainopt_batchnorm_backward_mt(&cfg, sh, a, c, d, mean, invstd, NULL, b, dgamma, dbeta, &th));
    note(trainopt_batchnorm_backward_mt(&cfg, nhwc, a, c, d, mean, invstd, NULL, f, dgamma, dbeta, &th));
}

/* The threaded batch norm inference and elementwise gradient utilities, on the serial hook. */
void threaded_infer_and_clip(void);
void threaded_infer_and_clip(void) {
    const trainopt_bn_config cfg = TRAINOPT_BN_DEFAULTS;
    const trainopt_threads th = {in_order, NULL};
    const trainopt_bn_shape sh = {64, 64, 16, TRAINOPT_NCHW};
    const trainopt_bn_shape nhwc = {32, 200, 9, TRAINOPT_NHWC};
    int found_inf = 0;
    note(trainopt_batchnorm_forward_infer_mt(&cfg, sh, a, c, d, e, e + 256, b, &th));
    note(trainopt_batchnorm_forward_infer_mt(&cfg, nhwc, a, c, d, e, e + 256, f, &th));
    note(trainopt_clip_grad_value_mt(40000, a, 1.0, &th));
    note(trainopt_grad_unscale_mt(40000, a, 0.5f, &found_inf, &th));
    sink += (double)found_inf;
}

/* The threaded dropout, on the serial hook (several pieces and a short last one). */
void threaded_dropout(void);
void threaded_dropout(void) {
    const trainopt_threads th = {in_order, NULL};
    note(trainopt_dropout_forward_mt(0.1, 7, 3, 40000, a, b, mask, &th));
    note(trainopt_dropout_backward_mt(0.1, 7, 3, 40000, c, d, mask, &th));
    note(trainopt_dropout_backward_mt(0.1, 7, 3, 40000, c, d, NULL, &th));
}

/* The threaded losses, on the serial hook (several pieces and a short last one; rows
   in several rounds). */
void threaded_losses(void);
void threaded_losses(void) {
    const trainopt_threads th = {in_order, NULL};
    float loss;
    size_t i;
    for (i = 0; i < 64; i++) labels[i] = (int32_t)(i % 10);
    note(trainopt_mse_loss_mt(40000, a, b, &loss, c, &th));
    note(trainopt_mse_loss_mt(256, a, b, &loss, NULL, &th));
    note(trainopt_bce_with_logits_mt(40000, a, b, &loss, c, &th));
    note(trainopt_softmax_cross_entropy_mt(64, 1024, a, labels, -100, 0.1, &loss, b, &th));
    note(trainopt_softmax_cross_entropy_mt(64, 10, a, labels, 3, 0.0, &loss, NULL, &th));
    sink += loss;
}

/* The threaded generators, on the serial hook (several pieces and a short last one). */
void threaded_random(void);
void threaded_random(void) {
    const trainopt_threads th = {in_order, NULL};
    trainopt_kaiming_config kc = TRAINOPT_KAIMING_DEFAULTS;
    trainopt_trunc_normal_config tc = TRAINOPT_TRUNC_NORMAL_DEFAULTS;
    note(trainopt_rand_u32_mt(1, 3, K, words, &th));
    note(trainopt_rand_uniform_mt(1, 5, 40000, -1.0, 1.0, a, &th));
    note(trainopt_rand_normal_mt(1, 7, K, 0.0, 1.0, a, &th));
    note(trainopt_xavier_uniform_mt(1, 0, K, 32, 32, 1.0, a, &th));
    note(trainopt_xavier_normal_mt(1, 0, 256, 16, 16, 1.0, a, &th));
    note(trainopt_kaiming_uniform_mt(&kc, 1, 0, 40000, 72, 144, a, &th));
    note(trainopt_kaiming_normal_mt(&kc, 1, 0, 7, 7, 7, a, &th));
    note(trainopt_trunc_normal_mt(&tc, 1, 0, K, a, &th));
}

void mixed_many_tensors(void);
void mixed_many_tensors(void) { /* two tensors of bf16 parameters (Kahan, then split) and states, fp16 gradients, fp16 copies */
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    trainopt_sgd_config sgd = TRAINOPT_SGD_DEFAULTS;
    trainopt_adagrad_config ada = TRAINOPT_ADAGRAD_DEFAULTS;
    trainopt_rmsprop_config rms = TRAINOPT_RMSPROP_DEFAULTS;
    trainopt_adam_config adam = TRAINOPT_ADAM_DEFAULTS, adamw = TRAINOPT_ADAMW_DEFAULTS;
    trainopt_nadam_config nadam = TRAINOPT_NADAM_DEFAULTS;
    trainopt_radam_config radam = TRAINOPT_RADAM_DEFAULTS;
    trainopt_adamax_config adamax = TRAINOPT_ADAMAX_DEFAULTS;
    trainopt_adadelta_config adadelta = TRAINOPT_ADADELTA_DEFAULTS;
    trainopt_lion_config lion = TRAINOPT_LION_DEFAULTS;
    trainopt_sfadamw_config sf = TRAINOPT_SFADAMW_DEFAULTS;
    trainopt_sfadamw_state sfs = {2, 0.0025, 1.0, 0.0025, 0.5};
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    const trainopt_threads th = {in_order, NULL};
    trainopt_tensor_mp list[2] = {{a, b, {c, d, e, NULL}, 300}, {(uint16_t *)a + 300, (uint16_t *)b + 300,
                                                               {(uint16_t *)c + 300, (uint16_t *)d + 300, (uint16_t *)e + 300, NULL}, 40000}};
    void *aux[2] = {f, (uint16_t *)f + 300}, *copy[2] = {(uint16_t *)f + K, (uint16_t *)f + K + 300};
    size_t nonfinite = 0;
    lion.lr = 1e-4;
    o.grad_scale = 0.5, o.nonfinite = &nonfinite;
    pr.param_dtype = TRAINOPT_BF16, pr.grad_dtype = TRAINOPT_F16, pr.state_dtype = TRAINOPT_BF16;
    pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.param_aux = aux, pr.copy = copy, pr.copy_dtype = TRAINOPT_F16;
    note(trainopt_sgd_step_mp_multi(&sgd, 2, 2, list, &pr, &o, &th));
    note(trainopt_adagrad_step_mp_multi(&ada, 2, 2, list, &pr, NULL, &th));
    note(trainopt_rmsprop_step_mp_multi(&rms, 2, 2, list, &pr, &o, NULL));
    note(trainopt_adam_step_mp_multi(&adam, 2, 2, list, &pr, &o, &th));
    note(trainopt_adamw_step_mp_multi(&adamw, 2, 1, list, &pr, NULL, &th));
    pr.param_mode = TRAINOPT_PARAM_SPLIT, pr.copy = NULL;
    note(trainopt_nadam_step_mp_multi(&nadam, 2, 0.81, 2, list, &pr, &o, &th));
    note(trainopt_radam_step_mp_multi(&radam, 7, 2, list, &pr, NULL, &th));
    note(trainopt_adamax_step_mp_multi(&adamax, 2, 2, list, &pr, &o, NULL));
    pr.param_mode = TRAINOPT_PARAM_STOCHASTIC, pr.param_aux = NULL, pr.seed = 1, pr.offset = 3;
    note(trainopt_adadelta_step_mp_multi(&adadelta, 2, 2, list, &pr, &o, &th));
    note(trainopt_lion_step_mp_multi(&lion, 2, 1, list, &pr, NULL, &th));
    note(trainopt_sfadamw_step_mp_multi(&sf, &sfs, 2, list, &pr, &o, &th));
}

void layerwise(void);
void layerwise(void) {
    trainopt_lamb_config lamb = TRAINOPT_LAMB_DEFAULTS;
    trainopt_lars_config lars = TRAINOPT_LARS_DEFAULTS;
    trainopt_adafactor_config af = TRAINOPT_ADAFACTOR_DEFAULTS;
    trainopt_sfadamw_config sf = TRAINOPT_SFADAMW_DEFAULTS;
    trainopt_sfadamw_state st = TRAINOPT_SFADAMW_STATE_INIT;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    size_t nonfinite = 0;
    const size_t lens[2] = {256, 1000};
    float *params[2] = {a, a + 4096}, *states0[2] = {c, c + 4096}, *states1[2] = {d, d + 4096};
    const float *grads[2] = {b, b + 4096};
    o.grad_scale = 0.5, o.nonfinite = &nonfinite;
    lamb.lr = 1e-3, lars.lr = 0.1;
    note(trainopt_lamb_step(&lamb, 2, 2, lens, params, grads, states0, states1));
    note(trainopt_lamb_step_ex(&lamb, 2, 2, lens, params, grads, states0, states1, &o));
    note(trainopt_lars_step(&lars, 2, lens, params, grads, states0));
    note(trainopt_lars_step_ex(&lars, 2, lens, params, grads, states0, &o));
    {
        const trainopt_threads th = {in_order, NULL};
        note(trainopt_lamb_step_mt(&lamb, 3, 2, lens, params, grads, states0, states1, &o, &th));
        note(trainopt_lamb_step_mt(&lamb, 4, 2, lens, params, grads, states0, states1, NULL, NULL));
        note(trainopt_lars_step_mt(&lars, 2, lens, params, grads, states0, &o, &th));
        note(trainopt_lars_step_mt(&lars, 2, lens, params, grads, NULL, NULL, NULL));
    }
    {
        trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
        void *p16[2] = {a, a + 4096}, *s016[2] = {c, c + 4096}, *s116[2] = {d, d + 4096}, *aux[2] = {e, e + 4096};
        const void *g16[2] = {b, b + 4096};
        pr.param_dtype = TRAINOPT_BF16, pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.param_aux = aux;
        pr.grad_dtype = TRAINOPT_F16, pr.state_dtype = TRAINOPT_BF16;
        note(trainopt_lamb_step_mp(&lamb, 2, 2, lens, p16, g16, s016, s116, &pr, &o));
        pr.param_mode = TRAINOPT_PARAM_STOCHASTIC, pr.param_aux = NULL, pr.seed = 1, pr.offset = 3;
        note(trainopt_lars_step_mp(&lars, 2, lens, p16, g16, s016, &pr, &o));
        {
            const trainopt_threads th = {in_order, NULL};
            note(trainopt_lars_step_mp_mt(&lars, 2, lens, p16, g16, s016, &pr, &o, &th));
            pr.param_mode = TRAINOPT_PARAM_KAHAN, pr.param_aux = aux;
            note(trainopt_lamb_step_mp_mt(&lamb, 3, 2, lens, p16, g16, s016, s116, &pr, &o, &th));
            note(trainopt_lamb_step_mp_mt(&lamb, 4, 2, lens, p16, g16, s016, s116, &pr, NULL, NULL));
        }
    }
    note(trainopt_adafactor_step(&af, 2, 256, 256, a, b, c, d, NULL));
    note(trainopt_adafactor_step_ex(&af, 2, 1, 17, a, b, NULL, NULL, c, &o));
    note(trainopt_sfadamw_advance(&sf, &st));
    note(trainopt_sfadamw_step(&sf, &st, K, a, b, c, d));
    note(trainopt_sfadamw_step_ex(&sf, &st, 31, a, b, c, d, &o));
    note(trainopt_sfadamw_to_eval(&sf, 256, a, c, e));
    note(trainopt_sfadamw_to_train(&sf, 7, e, c, e));
}

int main(void) {
    text();
    optimizers();
    more_optimizers();
    many_tensors();
    eight_bit_states();
    eight_bit_mixed();
    schedules();
    losses_and_gradients();
    random_draws();
    batch_norm();
    norms();
    threaded_norms();
    mixed_norms();
    threaded_groupnorm();
    threaded_batch_norm();
    threaded_dropout();
    threaded_losses();
    threaded_random();
    layerwise();
    return failures != 0 || sink != sink;
}
