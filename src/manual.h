/* trainopt.h - SIMD training kernels in one C header.        version 0.2.0

   Optimizer update rules, learning-rate schedules, batch normalization,
   dropout, regularization, gradient utilities, losses and weight
   initialization, vectorized for AVX-512, AVX2+FMA and ARM NEON with a scalar
   fallback chosen at compile time. The math follows PyTorch 1.13, and every
   backend gives bit-identical results.

   DO THIS
   -------
       #define TRAINOPT_IMPLEMENTATION   // in ONE file of the program, before the include
       #include "trainopt.h"             // and keep trainopt_simd.h beside it

       trainopt_adam_config cfg = TRAINOPT_ADAMW_DEFAULTS;
       cfg.lr = 3e-4;
       for (int64_t step = 1; step <= steps; step++) {
           backward(model, grad);                 // your code
           trainopt_status s = trainopt_adamw_step(&cfg, step, n, param, grad, m, v, NULL);
           if (s != TRAINOPT_OK) { fprintf(stderr, "%s\n", trainopt_status_str(s)); abort(); }
       }

   Every other file includes trainopt.h plain: it gives the declarations. The
   file with TRAINOPT_IMPLEMENTATION compiles the kernels (external linkage); compile
   it with the vector ISA you want them to use (-mavx2 -mfma, -mavx512f,
   -march=native, or nothing: sse2 on x86-64, the scalar fallback elsewhere), or,
   for one binary that runs on many x86-64 CPUs, #define TRAINOPT_DISPATCH there too and let it pick
   at run time (RUNTIME DISPATCH below). Or define nothing and link libtrainopt
   (make install; cc app.c $(pkg-config --cflags --libs trainopt)), which is
   built that way. #define TRAINOPT_STATIC instead gives one file private copies.

   CONTENTS (each name is a greppable marker in the body: search ">>name"; the
   development sources are src/<file>, one per family, packed into this file by
   tools/pack.sh)
     >>api          the public types and configs (src/api.h)
     >>kernels      TRAINOPT_KERNELS: every public function with its parameters,
                    and the prototypes made from it (src/api.h)
     >>implementation  what compiles only with TRAINOPT_IMPLEMENTATION (src/setup.h)
     >>status       trainopt_status_str, trainopt_backend (src/status.h)
     >>last-error   trainopt_last_error, trainopt_clear_error: which argument, and why
     >>validate     argument checks shared by every kernel (src/validate.h)
     >>stepopts     the fused step's gradient reader (src/validate.h)
     >>sgd          trainopt_sgd_step, trainopt_sgd_step_ex (src/optim.h)
     >>adagrad      trainopt_adagrad_init, trainopt_adagrad_step, trainopt_adagrad_step_ex
     >>rmsprop      trainopt_rmsprop_step, trainopt_rmsprop_step_ex
     >>adam         trainopt_adam_step, trainopt_adamw_step, and their _ex forms (AMSGrad included)
     >>nadam        trainopt_nadam_mu_product, trainopt_nadam_step, trainopt_nadam_step_ex
     >>radam        trainopt_radam_step, trainopt_radam_step_ex
     >>adamax       trainopt_adamax_step, trainopt_adamax_step_ex
     >>adadelta     trainopt_adadelta_step, trainopt_adadelta_step_ex
     >>lion         trainopt_lion_step, trainopt_lion_step_ex (optax.lion)
     >>schedules    trainopt_lr_* (step, multistep, exponential, inverse_time, polynomial,
                    linear, constant, cosine, cosine_restarts, warmup_cosine, warmup_factor)
                    (src/schedules.h, with the next five)
     >>onecycle     trainopt_lr_onecycle, trainopt_momentum_onecycle
     >>cyclic       trainopt_lr_cyclic, trainopt_momentum_cyclic
     >>schedule     trainopt_schedule, trainopt_schedule_lr, trainopt_lr_join
     >>parse        trainopt_schedule_parse, _parse_msg, _parse_join
     >>plateau      trainopt_plateau_init, trainopt_plateau_step (ReduceLROnPlateau)
     >>math         the library's own vector exp, log, log1p (src/math.h)
     >>sumblock     the blocked canonical reduction of the losses and gradient utilities
                    (src/losses.h, with the next four)
     >>regularization trainopt_l1l2_penalty, trainopt_l1l2_grad
     >>gradutil     trainopt_clip_grad_value, trainopt_grad_unscale, trainopt_sum_squares,
                    trainopt_grad_norm, trainopt_clip_grad_norm
     >>mse          trainopt_mse_loss, trainopt_bce_with_logits
     >>softmax_ce   trainopt_softmax_cross_entropy
     >>vecmath      sin/cos and erfinv for the generator (src/random.h, with the next five)
     >>philox       Philox4x32-10 on vector lanes
     >>rng          the element-to-word mapping shared by every random kernel
     >>rand         trainopt_rand_u32, trainopt_rand_uniform, trainopt_rand_normal
     >>dropout      trainopt_dropout_forward, trainopt_dropout_backward
     >>init         trainopt_calculate_gain, _fans, xavier/kaiming uniform and normal, trunc_normal
     >>batchnorm    trainopt_batchnorm_forward_train, _forward_infer, _backward, _fold
                    (src/batchnorm.h)
     >>norms        trainopt_layernorm_forward/_backward, trainopt_rmsnorm_forward/_backward,
                    trainopt_groupnorm_forward/_backward (src/norms.h)
     >>layerwise    LAMB, LARS (>>lamb, >>lars), Adafactor (>>adafactor), schedule-free
                    AdamW (>>sfadamw) (src/optim_layerwise.h)
     >>quant8       8-bit states: trainopt_quantize_blockwise, _dequantize_blockwise, the 8-bit
                    steps (>>sgd8bit, >>adam8bit, >>lion8bit) (src/quant8.h, maps: >>quant8-maps)
     >>quant8-mp    the 8-bit steps with bf16/fp16 parameters and gradients,
                    trainopt_<opt>8bit_step_mp (src/quant8_mp.h)
     >>parallel     multi-tensor steps (trainopt_<opt>_step_multi) and threaded reductions
                    (trainopt_sum_squares_mt, _grad_norm_mt, _clip_grad_norm_mt) and
                    gradient utilities (_clip_grad_value_mt, _grad_unscale_mt) on the
                    caller's parallel-for (src/parallel.h)
     >>parallel-mixed  trainopt_<opt>_step_mp_multi: the multi-tensor steps with bf16/fp16
                    arrays, on the caller's parallel-for (src/parallel_mixed.h)
     >>convert      trainopt_convert: fp32, bf16, fp16 into one another, nearest or stochastic
                    (src/convert.h; the per-vector rules: >>halfconv in trainopt_simd.h)
     >>mixed        trainopt_<opt>_step_mp: bf16/fp16 gradients, parameters, states and copies
                    for every elementwise optimizer (src/mixed.h)
     >>norms-mixed  trainopt_layernorm/rmsnorm/groupnorm_forward_mp, _backward_mp: bf16/fp16
                    activations, fp32 statistics and weights (src/norms_mixed.h)
     >>dispatch     runtime dispatch (TRAINOPT_DISPATCH): the variants, the choice, the
                    wrappers (src/dispatch.h; >>dispatch-names is generated)
   The vector layer is trainopt_simd.h (src/simd.h).

   COMPILE-TIME OPTIONS
     TRAINOPT_IMPLEMENTATION  in one file of the program, before the include: compile
                          the kernels there, with external linkage. Without it (and
                          without TRAINOPT_STATIC) trainopt.h gives the declarations alone.
     TRAINOPT_STATIC      private copies: every function `static inline` in this
                          translation unit (implies TRAINOPT_IMPLEMENTATION); 0.1.0's
                          default. For a one-file program, or a library that keeps its
                          copy to itself; it may sit beside another unit's implementation.
     TRAINOPT_API         linkage of every public function; default `extern`
                          (`static inline` with TRAINOPT_STATIC). Predefine it to change
                          it: libtrainopt (src/lib.c) adds the default visibility, its
                          other symbols being hidden.
     TRAINOPT_SYMBOL_PREFIX  gcc and clang: every public function links as this prefix
                          and its short name (-DTRAINOPT_SYMBOL_PREFIX=p_: trainopt_adam_step
                          links as p_adam_step); the C names do not change. Define it in
                          every file that includes trainopt.h, so that two builds of
                          trainopt can live in one program.
     TRAINOPT_NO_SIMD     force the scalar backend (same results, several times slower).
     TRAINOPT_NO_SSE2     x86 without other vector flags: scalar instead of the sse2 backend.
     TRAINOPT_NO_AVX512   cap x86 at AVX2+FMA even where -mavx512f is given
                          (useful where 512-bit code lowers the clock).
     TRAINOPT_NO_VBMI     the AVX-512 8-bit decode and trainopt_quantize_blockwise's
                          encode without VBMI byte permutes, even on a CPU that has
                          them (chosen by cpuid otherwise; the same bits).
     TRAINOPT_SIMDE_NEON  testing only: the NEON backend through SIMDe on any CPU.
     TRAINOPT_STREAM_BYTES  batch-norm and layer/RMS/group-norm outputs of at least this
                          many bytes (default 16 MiB) are written with non-temporal
                          stores on x86, dropout's on AVX-512 only (a vector is a
                          whole line there; AVX2's half-line stores ran slower so);
                          SIZE_MAX: never.
     TRAINOPT_THREAD_LOCAL  storage class of trainopt_last_error's buffer: by default
                          _Thread_local (C11), thread_local (C++11), __thread (gcc,
                          clang), __declspec(thread) (MSVC); define it empty for one
                          buffer shared by all threads (what a compiler with none gets).
     TRAINOPT_ALLOW_FAST_MATH  silence the warning under -ffast-math (which voids
                          the NaN and bit-identity guarantees).
     TRAINOPT_DISPATCH    in the implementation unit: runtime dispatch on x86-64 with gcc
                          or clang (below); ignored elsewhere. Costs compile time (every
                          kernel is compiled three times) and an indirect call per kernel
                          call. libtrainopt is built with it on x86-64.

   RUNTIME DISPATCH (TRAINOPT_DISPATCH)
     With #define TRAINOPT_DISPATCH before the include in the implementation unit (the
     file with TRAINOPT_IMPLEMENTATION or TRAINOPT_STATIC; other files are unaffected,
     and libtrainopt's shared and static libraries are built this way on x86-64), on
     x86-64 under gcc or clang, the kernels are compiled three times in that
     translation unit: the scalar variant with the unit's own flags, the avx2 and
     avx512 variants under target pragmas (no -m flags needed: build for baseline
     x86-64). At the first call of a kernel the best variant the CPU and OS support
     is chosen (cpuid, through __builtin_cpu_supports) and kept for the life of the
     process; each public function is a wrapper calling the chosen variant through a
     function pointer.
     trainopt_backend() reports the choice ("avx512", "avx2" or "scalar").
     The environment variable TRAINOPT_MAX_BACKEND=scalar|avx2|avx512, read once at
     that first call, caps the choice (for testing; any other value is no cap).
     TRAINOPT_NO_AVX512 leaves the avx512 variant out; TRAINOPT_NO_SIMD turns dispatch
     off (scalar only). Every variant gives the same bits, as every backend does, so
     the choice never changes a result (make test runs the whole suite under each cap).
     In a dispatch build the compile-time layer (TRAINOPT_SIMD_NAME, the trainopt__v_*
     ops) is the scalar one. The learning-rate schedules, their parser and
     trainopt_status_str have no vector code and are compiled once, without a wrapper.
     Per-call overhead, measured: see bench/FINDINGS.md ("Runtime dispatch").

   OPTIMIZERS (torch.optim, PyTorch 1.13 single-tensor path)
     All update `param` and their state in place, in one pass over memory. `step`
     is the 1-based number of the update being applied. g is the gradient, negated
     first when `maximize` is set. Per-step scalars (1 - beta, bias corrections,
     lr/(1+(step-1)*lr_decay), 1 - lr*wd) are computed in double and rounded to
     float once per call; the elementwise math is float.

     SGD (torch.optim.SGD). momentum_buf is NULL iff momentum == 0.
         if wd:        g = g + wd*p
         if momentum:  b = (step == 1) ? g : momentum*b + (1-dampening)*g
                       g = nesterov ? g + momentum*b : b
         p = p - lr*g
     Adagrad (torch.optim.Adagrad). state_sum starts at initial_accumulator_value
     (trainopt_adagrad_init).
         if wd: g = g + wd*p
         s = s + g*g;   p = p - clr * g / (sqrt(s) + eps),   clr = lr / (1 + (step-1)*lr_decay)
     RMSprop (torch.optim.RMSprop). momentum_buf NULL iff momentum == 0; grad_avg
     NULL iff !centered.
         if wd: g = g + wd*p
         v = alpha*v + (1-alpha)*g*g
         if centered: a = alpha*a + (1-alpha)*g;  d = sqrt(v - a*a) + eps
         else:        d = sqrt(v) + eps
         if momentum: b = momentum*b + g/d;  p = p - lr*b
         else:        p = p - lr*g/d
     Adam (torch.optim.Adam), AMSGrad with cfg.amsgrad (max_exp_avg_sq NULL iff !amsgrad).
         if wd: g = g + wd*p                  (Adam: L2 penalty in the gradient)
         m = beta1*m + (1-beta1)*g
         v = beta2*v + (1-beta2)*g*g
         if amsgrad: vmax = max(vmax, v) and vmax replaces v below (NaN propagates)
         d = sqrt(v) / sqrt(1-beta2^step) + eps
         p = p - (lr / (1-beta1^step)) * m / d
     AdamW (torch.optim.AdamW) is Adam with decoupled weight decay: first
         p = p * (1 - lr*wd), then the Adam update without the L2 term.
     (p * (1 - lr*wd) is rounded before the update is added, as PyTorch's param.mul_
     then addcdiv_: fused into one fma it drifted 4e-6 from torch.optim.AdamW in 100
     steps of a model, 2e-7 rounded; 0.2.0 fused it.)
     Defaults are PyTorch's: TRAINOPT_SGD_DEFAULTS (lr 1e-3: PyTorch 1.13 has no
     default lr for SGD; 2.x uses 1e-3), TRAINOPT_ADAGRAD_DEFAULTS (lr 1e-2, eps 1e-10),
     TRAINOPT_RMSPROP_DEFAULTS (lr 1e-2, alpha 0.99, eps 1e-8), TRAINOPT_ADAM_DEFAULTS
     (lr 1e-3, betas 0.9/0.999, eps 1e-8), TRAINOPT_ADAMW_DEFAULTS (the same, wd 1e-2).
     State arrays other than Adagrad's start at zero.

     NAdam (torch.optim.NAdam with PyTorch 2.x's arithmetic; decoupled_weight_decay as
     2.x's NAdamW; maximize as 2.x). PyTorch 1.13's single-tensor path multiplies
     by mu once too often (pytorch#92699, fixed in 2.0); its foreach path and 2.x
     agree with the formula below.
         mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))    (double, libm pow)
         if wd and !decoupled: g = g + wd*p;   if wd and decoupled: p = p * (1 - lr*wd)
         m = beta1*m + (1-beta1)*g;   v = beta2*v + (1-beta2)*g*g
         d = sqrt(v) / sqrt(1-beta2^t) + eps
         p = p + (a*g + b*m) / d,   a = -lr (1-mu_t) / (1 - P_t),
                                    b = -lr mu_{t+1} / (1 - P_t mu_{t+1})
     P_t = mu_1 * ... * mu_t is PyTorch's state['mu_product'], a float32 scalar. The
     caller keeps it, and trainopt_nadam_mu_product(c, t, P_{t-1}) returns P_t rounded
     to float as PyTorch's tensor is (P_0 = 1; NaN for a bad config, t < 1 or P outside
     [0, 1]). The step takes P_t by value and writes no scalar state, so a step split
     into chunks (or tensors, or threads) gives the bits of one call: advance P once
     per step, then call the step on every chunk with the same P_t:
         P = trainopt_nadam_mu_product(&c, t, P);      once per step, P = 1 before t = 1
         trainopt_nadam_step(&c, t, P, n, param, grad, exp_avg, exp_avg_sq);
     (Recomputing P_t from t inside each call would cost t pow calls per call; a
     pointer the step updated would be advanced once per chunk.) P_t restored from a
     PyTorch state_dict continues a PyTorch run. P_t outside [0, 1) is ERR_HPARAM.
     RAdam (torch.optim.RAdam, 1.13 single-tensor path; decoupled_weight_decay and
     maximize as 2.x). The rectification is decided once per step, for every element:
         if wd and !decoupled: g = g + wd*p;   if wd and decoupled: p = p * (1 - lr*wd)
         m = beta1*m + (1-beta1)*g;   v = beta2*v + (1-beta2)*g*g
         rho_inf = 2/(1-beta2) - 1;   rho_t = rho_inf - 2 t beta2^t / (1-beta2^t)
         if rho_t > 5: r = sqrt((rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t))
                       p = p - (lr r sqrt(1-beta2^t) / (1-beta1^t)) * m / (sqrt(v) + eps)
         else:         p = p - (lr / (1-beta1^t)) * m
     (1.13's foreach path drops eps from the rectified update; trainopt keeps it, as
     the single-tensor path and 2.x do.)
     Adamax (torch.optim.Adamax). exp_inf starts at zero.
         if wd: g = g + wd*p
         m = beta1*m + (1-beta1)*g;   u = max(beta2*u, |g| + eps)   (NaN from either side)
         p = p - (lr / (1-beta1^t)) * m / u
     Adadelta (torch.optim.Adadelta). `step` is checked (>= 1) and otherwise unused.
         if wd: g = g + wd*p
         v = rho*v + (1-rho)*g*g
         delta = sqrt(a + eps) / sqrt(v + eps) * g
         a = rho*a + (1-rho)*delta*delta;   p = p - lr*delta
     Lion (optax.lion; Chen et al. 2023, "Symbolic Discovery of Optimization
     Algorithms", Algorithm 2). One state array; `step` is checked and unused.
         c = (1-beta1)*g + beta1*m
         p = p - lr * (sign(c) + wd*p)        (optax: add_decayed_weights, then -lr)
         m = (1-beta2)*g + beta2*m
     sign(+-0) = +-0 (no move but the decay), sign(NaN) = NaN, sign(c) = +-1 for every
     other c, subnormals and +-Inf included (jnp.sign). torch.sign, which torch-style
     Lions (lion-pytorch) use, also gives 0 for 0 but 0 for NaN as well (1.13), where
     Lion here propagates the NaN; those apply the decay first, p = p * (1 - lr*wd),
     then p - lr*sign(c), which differs from optax's order only by rounding. DeepSpeed's
     CPU Lion (csrc/includes/cpu_lion.h) takes the sign with a bit trick that is right
     only for |c| in [2, 4) and moves by +-lr at c = 0; tests/test_optim.c checks every
     magnitude and zero.
     Defaults: TRAINOPT_NADAM_DEFAULTS (lr 2e-3, betas 0.9/0.999, eps 1e-8,
     momentum_decay 4e-3), TRAINOPT_RADAM_DEFAULTS (lr 1e-3, betas 0.9/0.999, eps 1e-8),
     TRAINOPT_ADAMAX_DEFAULTS (lr 2e-3, betas 0.9/0.999, eps 1e-8),
     TRAINOPT_ADADELTA_DEFAULTS (lr 1.0, rho 0.9, eps 1e-6), all wd 0;
     TRAINOPT_LION_DEFAULTS (beta1 0.9, beta2 0.99, wd 1e-3 as optax.lion; lr NaN:
     optax.lion has no default, and the step refuses it until set). All state arrays
     start at zero. Mixed-precision parameters and multi-tensor calls are not in this
     release (their own issues).

   THE FUSED STEP (every optimizer's _ex form)
     trainopt_<opt>_step_ex(..., const trainopt_step_opts *o) is the plain step with
     three options applied in the same single pass over memory:
       o->grad_scale  every gradient is first multiplied by (float)grad_scale. Fold
                      mixed precision's 1/loss_scale and clip_grad_norm's coefficient
                      into this one number. The result is bit for bit the plain step
                      applied to gradients already multiplied by (float)grad_scale.
       o->found_inf   if non-NULL and nonzero, the step is skipped: nothing is read or
                      written and the call returns TRAINOPT_OK (GradScaler's skip).
       o->nonfinite   if non-NULL, receives the number of scaled gradients that are
                      NaN or +-Inf (0 when the step is skipped).
     o == NULL is the plain step. A NaN, Inf or negative grad_scale is TRAINOPT_ERR_HPARAM.
     Recommended loop with loss scaling and norm clipping: compute the global norm of the
     raw gradients, set grad_scale = (1/loss_scale) * min(1, max_norm/(norm/loss_scale + 1e-6)),
     skip (found_inf) when the norm is not finite, then one _ex call per tensor: the gradients
     are read once instead of three times (unscale, clip, step).

   LAYER-WISE AND SCHEDULE-FREE OPTIMIZERS (>>layerwise, src/optim_layerwise.h)
     None of these is in PyTorch 1.13; each follows the source named, and is tested
     against a float64 reference written from it (tests/gen_layerwise.py, 40 steps,
     1e-5 of each array's largest magnitude). g is the gradient (times o->grad_scale in
     the _ex forms, whose three options work as in THE FUSED STEP). Per-tensor norms and
     means are reductions in fixed orders (>>layerwise), so the results are the same bits
     on every backend. Out of scope here: bf16/fp16 (the "Mixed precision" issue) and
     one call over many tensors for the elementwise ones ("Many tensors, many threads").

     LAMB (optax.lamb, optax/_src/alias.py: scale_by_adam, add_decayed_weights,
     scale_by_trust_ratio, scale_by_learning_rate). One call takes k tensors:
     params[t], grads[t], exp_avgs[t], exp_avg_sqs[t] of lens[t] floats (zeros at first).
         m = b1*m + (1-b1)*g;   v = b2*v + (1-b2)*g*g
         u = (m / (1-b1^step)) / (sqrt(v / (1-b2^step) + eps_root) + eps) + wd*p
         r = ||p|| / ||u||, 1 where ||p|| or ||u|| is 0 (optax/_src/transform.py
             scale_by_trust_ratio; NaN norms give NaN)
         p = p - lr*r*u                                 per tensor t, norms over tensor t
     LARS (optax.lars: add_decayed_weights, scale_by_trust_ratio(trust_coefficient,
     eps), scale_by_learning_rate, trace(momentum, nesterov)). momentum_bufs NULL iff
     momentum == 0; zeros at first; no step (optax's trace has no bias correction).
         u = g + wd*p;   r = coef*||p|| / (||u|| + eps), 1 where a norm is 0
         d = -lr*r*u;    t = d + momentum*t;    p = p + (nesterov ? d + momentum*t : t)
     optax has no default lr for either: TRAINOPT_LAMB_DEFAULTS and _LARS_DEFAULTS have
     lr NaN, refused until set (b1 0.9, b2 0.999, eps 1e-6, eps_root 0, wd 1e-4; LARS wd
     0, trust_coefficient 0.001, eps 0, momentum 0.9). optax's masks (no decay or no
     trust ratio for some tensors) are one call per group of tensors with its config.
     Traffic: two passes per tensor, the second while the tensor is in cache where it
     fits: LAMB reads p g m v, writes m v, then reads p m v, writes p (40 bytes per
     element); LARS reads p g, then p g t, writes p t (28). The lists are checked before
     anything is written: every tensor with elements non-NULL, no written tensor
     overlapping any other tensor (grads may overlap grads), O((4k)^2) comparisons.

     Adafactor (torch.optim.Adafactor, PyTorch 2.5, torch/optim/_adafactor.py
     _single_tensor_adafactor). trainopt_adafactor_step(c, step, rows, cols, param, grad,
     row_var, col_var, variance): a [rows][cols] parameter, factored (row_var[rows],
     col_var[cols], variance NULL: PyTorch's state for a tensor of 2 dimensions) or not
     (variance[rows*cols], row_var and col_var NULL: a vector is rows = 1). Zeros at first.
         w = step^beta2_decay;   rho = min(lr, 1/sqrt(step))
         alpha = max(eps2, RMS(p)) * rho               RMS(p) before the decay
         p = p * (1 - lr*wd)
         factored:   R = lerp(R, mean of g*g over each row, w)
                     C = lerp(C, mean of g*g over each column, w)
                     coef[r] = R[r] / max(mean(R), eps1);   V = coef[r] * C[c]
                     u = g * rs(C[c]) * rs(coef[r])   where V >= eps1^2 (or NaN)
                     u = g * rs(eps1^2)               where V < eps1^2
         else:       V = lerp(V, g*g, w);   u = g / sqrt(max(V, eps1^2))
         p = p - alpha / max(1, RMS(u) / d) * u
     (lerp(a, b, w) is torch.lerp's form: a + w*(b-a) for |w| < 0.5, else b - (b-a)*(1-w);
     rs(C[c]) = 1/sqrt(C[c]) in float, a float square root then a float division (each
     IEEE, rounded once), a vector of columns at a time; rs(coef[r]) and rs(eps1^2) =
     1/sqrt(x) in double, rounded to float, once per row; so the factored step
     multiplies where PyTorch takes a root and a division per element.)
     The factored u is PyTorch's real number rounded differently: PyTorch rounds R C^T,
     its division by the mean, rsqrt and the product by g (four roundings); trainopt the
     column root (two), the row root and the two products, (g * rs(C[c])) * rs(coef[r]),
     in that order (five), so the two differ by a few float roundings per element (at
     most about 5 * 2^-24 relative each way from the exact value), and the clamp, decided on trainopt's float
     V, can differ from PyTorch's where V is within a rounding of eps1^2. Where V would
     overflow float (C[c] near FLT_MAX) PyTorch's u is 0, trainopt's the finite quotient.
     NaN and Inf: a NaN factor, g or V gives a NaN u, 0 * Inf a NaN V as in PyTorch; a
     zero V with eps1^2 = 0 (eps1 below about 1e-23: eps1*eps1 underflows float) gives
     g/0 = +-Inf (NaN for g = 0) as in PyTorch. The unfactored u is PyTorch's, rounded
     as PyTorch rounds it. TRAINOPT_ADAFACTOR_DEFAULTS: lr 1e-2, beta2_decay -0.8, eps1
     2^-23 (PyTorch's None: float32's eps), eps2 1e-3, d 1, wd 0. State memory
     O(rows + cols) factored. Two sweeps for rows of up to 4096 floats, no scratch memory
     (96 KB of stack): p and g (RMS(p), the row and column sums of g^2, and RMS(u) from
     the factors, below), then the update. RMS(u) from the factors: the sum of u^2 is
     mean(R) * (sum over c of S[c] / C[c]), S[c] the sum over r of g*g / R[r] (each row
     a second time, from cache, once R[r] is known; a float sum per block of 256 rows,
     added in double, as the column sums; the sum over c in double, column c into
     partial sum c % 8, the 8 added pairwise): the same real number as the sum of the u^2 the
     update applies, a few float roundings apart (the block sums' roundings against the
     per-element ones of u). Where the factors cannot give it, the sum of the applied u^2
     in a sweep of its own over g: when some row has coef * min(C) < eps1^2 (an element
     under the floor, where u is not g/sqrt(V)) or NaN, when the sum is not finite, for
     rows of more than 4096 floats (which also sum the columns in strided passes over
     tiles of 256 columns), and unfactored (one sweep over p, g, V with the lerp).
     Every other reduction has a fixed order, the same on every backend: RMS(p), RMS(u)
     and the row sums by blocks of 256 along each row, rows in order (unfactored: along
     the whole array), the column sums a float sum per block of 256 rows, the block sums
     added in double. Tensors of more than 2 dimensions (PyTorch factors the last two
     per leading index) are not supported.

     Schedule-free AdamW (Defazio et al. 2024; facebookresearch/schedule_free,
     schedulefree/adamw_schedulefree.py AdamWScheduleFree, and its reference
     adamw_schedulefree_reference.py). The parameters the step updates are y (train
     mode); z (a copy of the parameters before the first step) and exp_avg_sq (zeros)
     are the state. Once per optimizer step, before the step of any tensor:
         trainopt_sfadamw_advance(&cfg, &state)     state starts TRAINOPT_SFADAMW_STATE_INIT
           step += 1;  lr_t = lr * min(1, step / warmup_steps) * sqrt(1 - beta2^step)
           lr_max = max(lr_max, lr_t);   weight = step^r * lr_max^weight_lr_power
           weight_sum += weight;   ckp1 = weight / weight_sum (0 when weight_sum is 0)
     then trainopt_sfadamw_step(&cfg, &state, n, y, g, z, exp_avg_sq) per tensor (or
     chunk: the steps only read the state, so any split gives the same bits):
         v = beta2*v + (1-beta2)*g*g;   gn = g / (sqrt(v) + eps) + wd*y
         y = lerp(y, z, ckp1) + lr_t*(beta1*(1-ckp1) - 1)*gn;   z = z - lr_t*gn
     (the reference's x_{k+1} = (1-ckp1) x_k + ckp1 z_{k+1}, y = beta1 x + (1-beta1) z,
     without storing x). Evaluate, and save checkpoints, at x:
         trainopt_sfadamw_to_eval(&cfg, n, y, z, x)    x = lerp(y, z, 1 - 1/beta1)  (.eval())
         trainopt_sfadamw_to_train(&cfg, n, x, z, y)   y = lerp(x, z, 1 - beta1)    (.train())
     in place (x == y) or into another buffer; to_eval needs beta1 > 0. With found_inf
     (the _ex skip) do not advance either: the reference takes no step at all, and a
     skipped call does not read the state.
     TRAINOPT_SFADAMW_DEFAULTS: lr 0.0025, betas 0.9/0.999, eps 1e-8, wd 0, warmup 0,
     r 0, weight_lr_power 2. The reference divides the gradient in place; trainopt
     leaves it alone. The advance is double precision, compiled once (not
     per variant): libm pow for step^r and lr_max^weight_lr_power (exact for the
     defaults r 0 and power 2), so its scalars are the same on every backend.

   8-BIT OPTIMIZER STATES (QUANT8; >>quant8, src/quant8.h; bitsandbytes' blockwise quantization)
     A state of n floats kept in n + 4*ceil(n/block) bytes: one code (uint8_t) per element
     and one float absmax per block of `block` elements (a power of two in [64, 4096];
     TRAINOPT_Q8_BLOCK = 256, bitsandbytes' default). Element i stands for
     map[code[i]] * absmax[i / block]. Two maps, bitsandbytes' create_dynamic_map
     (bitsandbytes/functional.py; max_exponent_bits 7, total_bits 8): TRAINOPT_Q8_SIGNED
     (signed=True: [-0.99297, 1], code 127 is 0) for first moments, TRAINOPT_Q8_UNSIGNED
     (signed=False: [0, 1], code 0 is 0) for second moments. Their 256 values are
     generated by tests/gen_quant8.py with the same float32 torch ops (>>quant8-maps).
       trainopt_quantize_blockwise(map, block, n, x, codes, absmax)    x[n] -> codes, absmax
       trainopt_dequantize_blockwise(map, block, n, codes, absmax, x)  codes, absmax -> x[n]
     The encoding is bitsandbytes' CPU quantizer (csrc/cpu_ops.cpp: quantize_cpu with
     lookup_code_index, as of commit 177494cb, 2025-12-02; lookup_code_index is still in the
     file at 95f9af30, 2026-08), matched bit for bit:
       absmax   max |x| over the block in float (std::max: a NaN is skipped);
       zeros    a block whose absmax is 0 gets code 0 everywhere (signed: -0.99297 * 0 = -0);
       scale    v = x * (1.0f / absmax), two float roundings, not x / absmax;
       code     v clamped to [-1, 1]; right = the first code >= v (std::lower_bound); the code
                is right when |map[right] - v| < |v - map[right-1]| in float, else right - 1:
                the nearest code, a tie to the LOWER code; v below the first code gives 0,
                a NaN v 0 (every comparison is false), v >= 1 gives 255;
       decode   map[code] * absmax in float (dequantizeBlockwise8bitCpu).
     One departure, on purpose: a block holding a NaN stores absmax NaN (bitsandbytes stores
     the largest other |x| and the NaN is lost), so the NaN comes back in every element of
     its block and in no other block; the codes are bitsandbytes'. A block with +-Inf keeps
     bitsandbytes' answer: absmax Inf, each finite element gets the code of v = 0 and the Inf
     the code of NaN (Inf * 0), so the block decodes to NaN (0 * Inf), -Inf where map[0] < 0.
     Not copied: bitsandbytes before 2026-03 wrote -1.0 into map[0] before quantizing (which
     turned the unsigned map's 0 into -1); its CPU quantizer since 2026-03 (commit 45bd3146,
     to 95f9af30) rounds v to one of 65536 points first and reads a table, an approximation
     that picks another code for 0.16% (signed) and 0.27% (unsigned) of normal data
     (tests/gen_quant8.py prints the rates); trainopt keeps the exact nearest code.
     How: v is clamped to [-1, 1] ([0, 1] unsigned; NaN to the low end, whose code is 0,
     as NaN's), and the float bits of |v| (exponent and top 6 or 7 mantissa bits, |v|
     floored at 2^-22 or 2^-23) pick a bucket of a generated table (>>quant8-maps, about
     2900 entries per map). The buckets are fine enough that each holds at most one
     threshold T[j] (the smallest float whose code is >= j; the rule is monotone in v),
     so the entry gives the code of the bucket's lowest v and the position in the bucket
     from which the code is one more: one table read per lane (AVX-512's gather; scalar
     loads on AVX2 and SSE2, faster there) and a few integer ops per vector, exact,
     the same bits on every backend. tests/gen_quant8.py checks each bucket's whole float
     interval against the rule; tests/test_quant8.c checks the kernel against the rule on
     every NaN, +-Inf, every 61st float of [-1, 1] and every float around every change of
     code (make quant8-exhaustive: every float of [-1, 1], 2.13e9 per map).

     8-bit steps: SGD with momentum, Adam, AdamW and Lion (bitsandbytes' SGD8bit, Adam8bit,
     AdamW8bit, Lion8bit), fp32 parameters and gradients, the configs of the fp32 steps:
       trainopt_sgd8bit_step(c, step, block, n, param, grad, momentum_buf, momentum_absmax)
       trainopt_adam8bit_step / trainopt_adamw8bit_step(c, step, block, n, param, grad,
           exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax)
       trainopt_lion8bit_step(c, step, block, n, param, grad, exp_avg, exp_avg_absmax)
     and their _ex forms (THE FUSED STEP's options). exp_avg and momentum_buf use the signed
     map, exp_avg_sq the unsigned; codes are uint8_t[n], absmax float[TRAINOPT_Q8_BLOCKS(n,
     block)]. Start from zeroed codes and absmax (all zero bytes decode to +-0, the fp32
     steps' zero states). Each step is, bit for bit, trainopt_dequantize_blockwise of each
     state, the fp32 step (>>sgd, >>adam, >>lion) on the decoded states, then
     trainopt_quantize_blockwise of each state: per block of the tensor, its states are
     decoded into a buffer on the stack (2 x 16 KB at most, in L1), the fp32 kernel's own
     vector loop updates parameters and buffer a vector at a time (the new absmax folded in
     as it goes), and the buffer is encoded with its new absmax: one pass over memory, 16 bytes per element for AdamW (fp32: 28). Blocks are
     independent: a tensor cut at multiples of `block` (codes + k*block, absmax + k) gives
     the whole's bits. A NaN (or Inf that makes one) in a block's update reaches that
     block's absmax, so the next step makes every parameter of that block NaN, and no
     other block's. Refused (TRAINOPT_ERR_HPARAM): amsgrad (bitsandbytes has no 8-bit
     AMSGrad), SGD without momentum (there is no state: use trainopt_sgd_step). A block
     that is not a power of two in [64, 4096] is TRAINOPT_ERR_SHAPE; codes and absmax
     arrays overlapping each other, param or grad are TRAINOPT_ERR_ALIAS.
     Small tensors: the kernels take any n >= 1 (the last block may be short). bitsandbytes'
     optimizers keep the states of tensors under 4096 elements (min_8bit_size) in fp32;
     that is the caller's choice here, by calling the fp32 step for them
     (TRAINOPT_Q8_MIN_SIZE = 4096 is that threshold).
     bf16/fp16 parameters and gradients (>>quant8-mp, src/quant8_mp.h): the _ex arguments
     with param and grad as void * in the formats of a trainopt_precision (MIXED PRECISION),
       trainopt_sgd8bit_step_mp(c, step, block, n, param, grad, momentum_buf,
           momentum_absmax, pr, o)
       trainopt_adam8bit_step_mp / trainopt_adamw8bit_step_mp(c, step, block, n, param,
           grad, exp_avg, exp_avg_absmax, exp_avg_sq, exp_avg_sq_absmax, pr, o)
       trainopt_lion8bit_step_mp(c, step, block, n, param, grad, exp_avg, exp_avg_absmax,
           pr, o)
     Every parameter mode (nearest, stochastic, Kahan, split), gradients in any dtype, the
     optional bf16/fp16 copy, exactly as the other _mp steps. pr->state_dtype must be
     TRAINOPT_F32, meaning the 8-bit states as they are (codes and an fp32 absmax; the
     steps refuse anything else with TRAINOPT_ERR_HPARAM). Each step is, bit for bit, the
     8-bit step above (its _ex form with o) on the widened inputs (Kahan: p + c in float;
     split: the joined halves), followed by the documented rounding of the parameters
     and of the copy; with fp32 param and grad and no copy it is that step itself. One
     pass over memory: a block of param and grad is widened into a stack scratch in L1
     by the mixed-precision driver's own helpers, the 8-bit block loops run on it, and
     the parameters are rounded back before the next block; tensors cut at block
     boundaries give the whole's bits (the stochastic offset advanced by the cut, as
     for every _mp step). Checks as
     the _mp steps' (the descriptor, then param, grad, param_aux and copy in their own
     sizes), then as the 8-bit step's, every state's codes and absmax also against
     param_aux and the copy. With bf16 parameters and gradients AdamW moves 10 bytes per
     element (fp32 8-bit: 16; fp32 AdamW: 28) and keeps 2 + 8/block bytes of state per
     parameter (2.03125 at block 256; fp32: 8).

   MANY TENSORS, MANY THREADS (THREADS)
     The kernels start no threads and keep no global state (trainopt_pool, below, is the
     caller's own object, made on request). A call that may use threads takes a
     const trainopt_threads *: the caller's parallel-for and its context,
         typedef void (*trainopt_parallel_for_fn)(void *ctx, size_t count,
                                                  trainopt_task_fn task, void *arg);
     which must call task(arg, i) once for every i in [0, count), on any of its threads
     and in any order, and return when every call has returned (OpenMP's parallel for,
     a pthread pool, ggml's threadpool, at::parallel_for). NULL, or parallel_for NULL,
     runs everything on the calling thread, exactly as the per-tensor calls. Compiled
     with -fopenmp, trainopt.h provides trainopt_omp_parallel_for (ctx NULL, or a
     pointer to an int: the number of threads); examples/many_tensors.c has a pthread
     pool. Work is cut into pieces of TRAINOPT_CHUNK (16384) elements of one tensor,
     counted from its start, whatever the number of threads: a multiple of every vector
     width and of the reductions' 256-element block, so no vector and no block is cut.
     The steps are elementwise, so any order of the pieces gives the same bits; the
     reductions keep each block's double sum and add them after the pieces in the
     order of the serial call. Every result is therefore the bits of the unthreaded
     call, at 1, 2, 3 or 64 threads and whatever order the pool runs the tasks in.
     Why a separate argument and not new fields of trainopt_step_opts: that struct is
     passed by pointer to libtrainopt.so.0, so a larger one would make an older
     program's options be read past their end; it is mirrored field for field by
     language bindings; and the threads are a property of the caller's pool, the same
     for every call, while the step options change per step.

     A pool for callers that have none (libtrainopt; in a header-only build, the unit
     that defines TRAINOPT_POOL beside TRAINOPT_IMPLEMENTATION, which then includes
     <pthread.h>):
         trainopt_status trainopt_pool_create(int threads, trainopt_pool **pool);
         void trainopt_pool_parallel_for(void *pool, size_t count, trainopt_task_fn, void *arg);
         void trainopt_pool_destroy(trainopt_pool *pool);          NULL does nothing
     threads in [1, TRAINOPT_POOL_MAX = 256] counts the calling thread: threads - 1
     workers that sleep on a condition variable between calls (they spin never, so
     they take no core from the caller's other threads). Use it as
         trainopt_threads th = {trainopt_pool_parallel_for, pool};
     The caller owns the pool; trainopt keeps no state of its own. One parallel-for at
     a time runs on a pool: callers on other threads wait their turn (a pool per
     thread runs them at once). Refused: threads out of range (TRAINOPT_ERR_HPARAM),
     pool NULL (TRAINOPT_ERR_NULL), *pool set to NULL; a pool that cannot be allocated
     is TRAINOPT_ERR_NULL; a worker the system will not start leaves a smaller pool
     (the same bits at any size). The Python package (trainopt.torch, threads=) runs
     on it.

     trainopt_<opt>_step_multi(c, step, k, tensors, o, threads)   for sgd, adagrad,
     rmsprop, adam, adamw: one call for a list of k trainopt_tensor {param, grad,
     state[TRAINOPT_MAX_STATES], n}, the states in the order of the optimizer's _step
     arguments (SGD: momentum_buf; Adagrad: state_sum; RMSprop: square_avg,
     momentum_buf, grad_avg; Adam/AdamW: exp_avg, exp_avg_sq, max_exp_avg_sq), unused
     ones NULL. The same bits as trainopt_<opt>_step_ex on each tensor (o == NULL: the
     plain step). o applies to the whole list: grad_scale to every gradient, found_inf
     skips every tensor, *nonfinite receives the count over the list. Every tensor is
     validated before anything is written, also when found_inf skips: an error in
     tensors[i] (its text names it) leaves every tensor and the count untouched. The
     arrays of one tensor must be disjoint and the count must lie outside all of them;
     tensors of the list must not share memory with each other (not checked: it would
     cost k^2 comparisons per step; with threads, two tensors that overlap race).

     The same for radam (exp_avg, exp_avg_sq), adamax (exp_avg, exp_inf), adadelta
     (square_avg, acc_delta) and lion (exp_avg), and for the two whose step takes more
     than (c, step):
       trainopt_nadam_step_multi(c, step, mu_product, k, tensors, o, threads)
           states exp_avg, exp_avg_sq; mu_product as for trainopt_nadam_step (one
           value for the list: the product is per optimizer step, not per tensor).
       trainopt_sfadamw_step_multi(c, s, k, tensors, o, threads)
           states z, exp_avg_sq; s advanced once per step by trainopt_sfadamw_advance
           (one state for the list). A state never advanced is refused whatever
           found_inf says, as any bad argument of a list.
     trainopt_<opt>_step_mp_multi(c, step, k, tensors, pr, o, threads)   the same list
     in bf16/fp16 (>>parallel-mixed), for the eleven optimizers above (NAdam:
     (c, step, mu_product, k, ...); schedule-free AdamW: (c, s, k, ...)): k
     trainopt_tensor_mp {void *param; const void *grad; void *state[TRAINOPT_MAX_STATES];
     size_t n}, every array in the formats of the one descriptor pr (MIXED PRECISION:
     param_dtype, grad_dtype, state_dtype, the parameter mode, the copy's dtype). As in
     trainopt_lamb_step_mp, pr->param_aux and pr->copy, when given, are arrays of k
     pointers: tensor t's compensation or split low halves, and its copy (an entry may
     be NULL only where n is 0). Tensor t's element j rounds stochastically with the
     word of (seed, offset + n_0 + ... + n_(t-1) + j), its place in the concatenated
     list, so a list cut into two calls (the second's offset advanced by the first's
     elements, its aux/copy arrays the rest) rounds alike. The bits are those of
     trainopt_<opt>_step_mp on each tensor with that offset and its own param_aux and
     copy, at any thread count and task order: each piece of TRAINOPT_CHUNK elements is
     one such call on its range (param_aux, copy and offset advanced with it), and the
     _mp steps are elementwise. o, validation and overlap as _step_multi: every tensor
     (its arrays at their own element sizes, its param_aux and copy) before anything is
     written, found_inf or not; an error names tensors[i]; tensors must not share memory
     with each other (not checked).
     LAMB and LARS take lists already (trainopt_lamb_step, trainopt_lars_step); their
     threaded forms take the _ex arguments and the threads:
       trainopt_lamb_step_mt(c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, o, threads)
       trainopt_lars_step_mt(c, k, lens, params, grads, momentum_bufs, o, threads)
           the same checks as _ex (every tensor of every list before anything is
           written; errors name the _mt function), the same o, the same bits. A
           tensor's trust ratio needs both its norms before its update, so a round has
           two joins: the norms' pieces (TRAINOPT_CHUNK elements of one tensor, each
           keeping its 256-element blocks' sums of p^2 and u^2; LAMB stores its moments
           there), whose block sums the calling thread adds in the serial call's order,
           tensor by tensor; then the update of every tensor the round completed, in
           pieces. A round is 32 norm pieces; a longer tensor carries its sums into the
           next. The norms, trust ratios and bits are the serial call's at any thread
           count and task order; without a hook, the serial call's own loop.
       trainopt_lamb_step_mp_mt(c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, pr, o, threads)
       trainopt_lars_step_mp_mt(c, k, lens, params, grads, momentum_bufs, pr, o, threads)
           trainopt_lamb_step_mp and trainopt_lars_step_mp (MIXED PRECISION) on the
           threads, the same way: each piece runs their two passes on its blocks with
           the tensor's own param_aux, copy and stochastic offset. The same checks and
           the same bits; an all-fp32 descriptor is the fp32 _mt call.
       trainopt_adafactor_step_multi(c, step, k, tensors, o, threads)
           k trainopt_adafactor_tensor {param, grad, row_var, col_var, variance,
           rows, cols}: the arguments of trainopt_adafactor_step per tensor (factored:
           row_var and col_var; unfactored: variance). Its factored second moment
           and its RMS clipping reduce over the whole tensor before it writes, so a
           tensor is not cut: each is one task, stepped whole by
           trainopt_adafactor_step_ex; the threads share the list's tensors (a
           model's weight matrices), none gains within one. The same checks, the
           same bits and the same o as the other lists.

     trainopt_sum_squares_mt, trainopt_grad_norm_mt, trainopt_clip_grad_norm_mt: the
     functions without _mt, with the same checks and the same bits, on the threads.

     trainopt_clip_grad_value_mt(n, grad, clip_value, threads),
     trainopt_grad_unscale_mt(n, grad, inv_scale, found_inf, threads): the functions
     without _mt, with the same checks (their errors name the _mt function) and the same
     bits, in pieces of TRAINOPT_CHUNK elements (both are elementwise). grad_unscale_mt
     notes per piece whether it met an Inf or a NaN and sets *found_inf to 1 on the
     calling thread after the pieces, exactly when the plain call would; like it, it
     never clears the flag (one flag can gather several calls, as PyTorch's found_inf).

     trainopt_layernorm_forward_mt, trainopt_layernorm_backward_mt,
     trainopt_rmsnorm_forward_mt, trainopt_rmsnorm_backward_mt: the functions without
     _mt (NORMS), threads last, with the same checks (their errors name the _mt
     function) and the same bits. The forward pass and dx cut the rows into pieces of
     whole rows (16 rows, or a multiple of 16 making about TRAINOPT_CHUNK values),
     computed as the serial call computes them. dweight and dbias sum over rows in the
     serial call's order (blocks of 16 rows, each block's float sums added in double in
     block order), so no partial sum is combined differently. With dx and more than 16
     rows, the rows go in rounds of 16 blocks, two joins each: the blocks, one task each,
     row by row as the serial call (each block's float column sums kept in two rows of
     dx), then tiles of 128 columns adding the round's block sums in block order; dx's
     last 4 + 2*min(16, blocks) rows, which held the sums, are written last. Without dx,
     the threads split the columns, each column's sums made in that order, in rounds of
     up to 512 rows (the rows' coefficients, then the weight-gradient sums); with more
     than 512 columns, each tile of 128 columns sweeps the rows' sums itself, as the
     serial call does per tile.

     trainopt_groupnorm_forward_mt, trainopt_groupnorm_backward_mt: the functions without
     _mt (NORMS), threads last, with the same checks and the same bits. The forward
     pass cuts the (sample, group) rows into pieces of whole groups, as layer norm's
     rows. The backward pass runs the serial call's per-group work one group per task
     (a group of more than 256 channels: one task per 256 of its channels, each summing
     the group's values itself, as the serial call does): dweight and dbias of a
     channel are summed over the samples in order inside one task, so the parallelism
     is the number of groups (times the channel tiles). Without dweight and dbias the
     samples are cut as well (pieces of about TRAINOPT_CHUNK values), as dx of a
     (sample, group) depends on it only.

     trainopt_batchnorm_forward_train_mt, trainopt_batchnorm_backward_mt: the functions
     without _mt (BATCH NORM), threads last, with the same checks and the same bits.
     Batch norm reduces over samples and positions and never across channels, so the
     threads split the channels and every channel's statistics, running statistics and
     sums are the serial call's own. NCHW: pieces of 4 whole channels or a multiple of 4
     making about TRAINOPT_CHUNK values; a channel of more than 32768 values is a task of
     its own. NHWC (and spatial 1, which is NHWC's memory): one task per tile of 64
     channels; the serial call sweeps more than 64 channels at once with its state in y
     (dx), and per channel its sums are the tiles' (the same canonical blocks), so the
     bits agree. The parallelism is the number of channels: a layer of 64 channels or
     fewer in NHWC runs on one thread. fold (C values) has no threaded form.

     trainopt_batchnorm_forward_infer_mt(c, s, x, gamma, beta, running_mean, running_var,
     y, threads): trainopt_batchnorm_forward_infer (BATCH NORM) on the threads, with the
     same checks and the same bits, NCHW and NHWC. The pass is elementwise, so the
     pieces (fixed by the shape, about TRAINOPT_CHUNK values each) also split the
     samples: NCHW, blocks of images by tiles of up to 64 channels (fewer when a
     channel's row is long; a row of more than TRAINOPT_CHUNK values is cut in pieces of
     TRAINOPT_CHUNK); NHWC (and spatial 1), blocks of rows by tiles of 64 channels. Each
     piece makes its channels' coefficients as the plain call does (in double, rounded
     once), so a layer of few channels runs on every thread too.

     trainopt_dropout_forward_mt, trainopt_dropout_backward_mt: the functions without
     _mt (RANDOM NUMBERS), threads last, with the same checks and the same bits. Every
     draw is a function of (seed, offset + i), so a piece of TRAINOPT_CHUNK elements
     starting at element s is the plain call with offset + s and the mask advanced by
     s/8 (whole bytes: the chunk is a multiple of 8).

     trainopt_rand_u32_mt, trainopt_rand_uniform_mt, trainopt_rand_normal_mt,
     trainopt_xavier_uniform_mt, trainopt_xavier_normal_mt, trainopt_kaiming_uniform_mt,
     trainopt_kaiming_normal_mt, trainopt_trunc_normal_mt: the functions without _mt
     (RANDOM NUMBERS, DROPOUT, INITIALIZATION), threads last, with the same checks and
     the same bits, cut as dropout is: the piece at element s is the plain call at
     offset + s.

     trainopt_mse_loss_mt, trainopt_bce_with_logits_mt,
     trainopt_softmax_cross_entropy_mt: the functions without _mt (REGULARIZATION,
     GRADIENT UTILITIES AND LOSSES), threads last, with the same checks and the same
     bits. The gradients are elementwise (MSE,
     BCE) or per row (cross-entropy); the loss is a mean, summed in the serial call's
     order. MSE and BCE: pieces of TRAINOPT_CHUNK elements, a whole number of the
     serial sum's 256-element blocks; each piece keeps its blocks' sums and the calling
     thread adds them in block order after each round of 32 pieces, as the serial call
     does. Cross-entropy: the labels are checked and counted first (the gradient's
     1/count needs every row), then pieces of whole rows (up to 128, about
     TRAINOPT_CHUNK values) keep each row's terms, and the calling thread adds them in
     row order after each round of up to 2048 rows. A row longer than TRAINOPT_CHUNK
     is one task: a batch of B rows runs on at most B threads.

   LEARNING-RATE SCHEDULES (torch.optim.lr_scheduler, PyTorch 1.13; Keras; optax)
     Pure functions of the step t (0-based, PyTorch's last_epoch): the lr for step t
     is the value a PyTorch training loop sees after t calls to scheduler.step()
     (the constructor's own step gives t = 0). All math is in double; t is int64_t,
     exact to 2^53 and never saturating. Invalid arguments (t < 0, a NaN, Inf or
     negative lr, a period < 1, ...) return NaN; no schedule crashes or reads past
     what it is given. Where PyTorch has both a recursive (chainable) form and a
     closed form, trainopt implements the closed form, as written below. Where
     PyTorch's recursive form breaks (ConstantLR with total_iters 0 stays at factor
     forever; LinearLR with start_factor 0 and ConstantLR with factor 0 divide by
     zero) the closed form still gives its value.
     Below, base is base_lr and min(a, b) the smaller of a and b.

     trainopt_lr_step(base, t, step_size, gamma)                     StepLR
         base * gamma^floor(t / step_size)                   step_size >= 1, gamma >= 0
     trainopt_lr_multistep(base, t, milestones, k, gamma)            MultiStepLR
         base * gamma^(number of milestones <= t)            milestones >= 0, any order;
                                                             a repeated milestone counts twice
     trainopt_lr_exponential(base, t, gamma)                         ExponentialLR
         base * gamma^t               (e^(-k t) is gamma = exp(-k); 0.95^epoch is gamma = 0.95)
     trainopt_lr_inverse_time(base, t, rate, steps, staircase)       Keras InverseTimeDecay
         base / (1 + rate * p),  p = t / steps  (floor(t / steps) when staircase)   steps >= 1
     trainopt_lr_polynomial(base, t, total_iters, power, end_lr)     PolynomialLR, Keras PolynomialDecay
         (base - end_lr) * (1 - min(t, T) / T)^power + end_lr     T = total_iters >= 1, power >= 0;
                                                             end_lr = 0 is PyTorch's PolynomialLR
     trainopt_lr_linear(base, t, start_factor, end_factor, T)        LinearLR
         base * (s + (e - s) * min(t, T) / T)                 s, e in [0, 1], T >= 1
     trainopt_lr_constant(base, t, factor, T)                         ConstantLR
         base * factor for t < T, then base * (factor + (1 - factor))     factor in [0, 1], T >= 0
     trainopt_lr_cosine(base, t, t_max, eta_min)                      CosineAnnealingLR
         eta_min + (base - eta_min) * (1 + cos(pi * t / t_max)) / 2       t_max >= 1
         As in PyTorch, past t_max the cosine goes on: it climbs back to base at
         2 t_max (use trainopt_lr_warmup_cosine to stay at the end value).
     trainopt_lr_cosine_restarts(base, t, t_0, t_mult, eta_min)       CosineAnnealingWarmRestarts
         the same cosine with t_max = T_i and t = T_cur, where period i lasts
         T_i = t_0 * t_mult^i steps (t_0 >= 1, t_mult >= 1, integers: no log()).
     trainopt_lr_warmup_cosine(peak, t, warmup, decay, init_lr, end_lr)  optax warmup_cosine_decay_schedule
         t < warmup: (init_lr - peak) * (1 - t / warmup) + peak
         else:       peak * ((1 - a) * c + a),  a = end_lr / peak (0 when peak is 0),
                     c = (1 + cos(pi * min(t - warmup, D) / D)) / 2,  D = decay - warmup >= 1
         (decay counts the warmup, as in optax; warmup = 0 is allowed.)
     trainopt_lr_onecycle(&cfg, t), trainopt_momentum_onecycle(&cfg, t)  OneCycleLR
         Phases end at step pct_start*total - 1 (then 2*pct_start*total - 2 with
         three_phase) and total - 1; within a phase pct = (t - start) / (end - start) and
             cos:    end_v + (start_v - end_v) / 2 * (cos(pi * pct) + 1)
             linear: (end_v - start_v) * pct + start_v
         lr goes initial -> max_lr (-> initial) -> min, initial = max_lr / div_factor,
         min = initial / final_div_factor; momentum (SGD momentum or Adam beta1) goes
         max_momentum -> base_momentum -> max_momentum. 0 <= t <= total_steps (PyTorch
         raises past it); a phase of zero length (pct_start*total == 1) is NaN where
         PyTorch raises ZeroDivisionError.
     trainopt_lr_cyclic(&cfg, t), trainopt_momentum_cyclic(&cfg, t)     CyclicLR
         cycle = floor(1 + t / (up + down)),  x = 1 + t / (up + down) - cycle,
         h = x / r when x <= r, else (x - 1) / (r - 1),   r = up / (up + down)
         lr = base_lr + (max_lr - base_lr) * h * s,  momentum = max_m - (max_m - base_m) * h * s
         s = 1 (triangular), 1 / 2^(cycle - 1) (triangular2), gamma^t (exp_range).
         step_size_down = -1 means equal to step_size_up (PyTorch's None).
     trainopt_lr_warmup_factor(t, warmup_iters, start_factor)
         start_factor + (1 - start_factor) * t / warmup_iters for t < warmup_iters, else 1:
         LinearLR's factor with end_factor 1. Multiply any schedule by it (what
         ChainedScheduler([LinearLR, X]) gives when X is multiplicative); warmup_iters = 0 is 1.
     trainopt_lr_join(parts, k, milestones, t)                       SequentialLR, optax join_schedules
         parts[i] for milestones[i-1] <= t < milestones[i], evaluated at t - milestones[i-1]
         (each part starts again from its own step 0). k - 1 milestones, nondecreasing, >= 0.

     Tagged description. trainopt_schedule holds a kind and the parameters (named as
     PyTorch names them); trainopt_schedule_lr(&s, t) evaluates it, so a program can
     take its schedule from a config file:
         trainopt_schedule s;
         if (trainopt_schedule_parse("cosine:t_max=100,eta_min=1e-5", &s) != TRAINOPT_OK) ...
         s.lr = cfg.lr;                       // or write lr=... in the text
         lr_t = trainopt_schedule_lr(&s, t);
     Text is "kind" or "kind:field=value,field=value". Kinds and fields (defaults in
     parentheses; "!" has none and must be given; lr may be left out and set in s.lr):
         fixed            lr
         step             lr, step_size!, gamma (0.1)
         multistep        lr, milestones! ([30,80]: at most TRAINOPT_SCHEDULE_MAX_MILESTONES), gamma (0.1)
         exponential      lr, gamma!
         inverse_time     lr, decay_rate!, decay_steps!, staircase (0)
         polynomial       lr, total_iters (5), power (1), end_lr (0)
         linear           lr, start_factor (1/3), end_factor (1), total_iters (5)
         constant         lr, factor (1/3), total_iters (5)
         cosine           lr, t_max!, eta_min (0)
         cosine_restarts  lr, t_0!, t_mult (1), eta_min (0)
         warmup_cosine    lr (the peak), warmup_steps!, decay_steps!, init_lr (0), end_lr (0)
         onecycle         lr (max_lr), total_steps!, pct_start (0.3), anneal_strategy (cos|linear),
                          div_factor (25), final_div_factor (1e4), three_phase (0),
                          base_momentum (0.85), max_momentum (0.95)
         cyclic           lr (base_lr), max_lr!, step_size_up (2000), step_size_down (-1: = up),
                          mode (triangular|triangular2|exp_range), gamma (1),
                          base_momentum (0.8), max_momentum (0.9)
     and every kind takes warmup_iters (0) and warmup_start_factor (1/3): the result is
     multiplied by trainopt_lr_warmup_factor(t, warmup_iters, warmup_start_factor).
     Booleans are 0/1/true/false; integers may be written 1e4. Numbers are read with
     strtod, so in the C locale's notation. trainopt_schedule_parse_msg also writes a
     message naming the problem: an unknown kind or field, a field the kind does not
     take, a missing or repeated field, a bad number, or a value out of range (the
     same message follows the function's name in trainopt_last_error). A text that
     does not read as a schedule (syntax, an unknown kind or field, a field given
     twice or missing, a value that is not a number or not an integer, a milestone
     that is not one) is TRAINOPT_ERR_PARSE; values that read but are out of range,
     decreasing milestones, and more parts than max_parts are TRAINOPT_ERR_HPARAM.
     trainopt_schedule_parse_join reads "linear:start_factor=0.1,total_iters=5 @5
     cosine:t_max=95" (a part, then "@milestone part" for each further part) into a
     TRAINOPT_SCHEDULE_JOIN schedule whose parts live in the caller's array (one part
     gives that part itself); a part without lr takes the join's lr, so s.lr = cfg.lr
     works for both. trainopt_schedule_momentum gives the momentum a onecycle or
     cyclic schedule (or a join's current part) sets, NaN for the others. The parsers
     write their outputs only on success. In code, start from
     trainopt_schedule_defaults(TRAINOPT_SCHEDULE_COSINE) (PyTorch's defaults; lr and
     parameters without a default are NaN or 0 until set) and set the fields;
     trainopt_schedule_kind_name(kind) gives the name the parser reads.

     ReduceLROnPlateau is the one stateful schedule: trainopt_plateau_init(&p, &cfg, lr),
     then once per epoch lr = trainopt_plateau_step(&p, metric), PyTorch's rules exactly:
         better = min/rel: m < best * (1 - threshold)    min/abs: m < best - threshold
                  max/rel: m > best * (1 + threshold)    max/abs: m > best + threshold
         if better: best = m, bad = 0; else bad += 1       (a NaN metric is never better)
         if cooldown_counter > 0: cooldown_counter -= 1, bad = 0
         if bad > patience: new = max(lr * factor, min_lr); if lr - new > eps: lr = new;
                            cooldown_counter = cooldown, bad = 0
     TRAINOPT_PLATEAU_DEFAULTS is PyTorch's (min, factor 0.1, patience 10, threshold 1e-4
     rel, cooldown 0, min_lr 0, eps 1e-8). init returns TRAINOPT_ERR_NULL for a NULL
     pointer and TRAINOPT_ERR_HPARAM for factor outside [0, 1), negative patience or
     cooldown, threshold, min_lr, eps or lr negative or not finite, an unknown mode;
     it writes nothing then. step returns NaN (and changes nothing) for NULL or an
     uninitialised or invalid state.

     Precision: the closed forms are evaluated in PyTorch's operation order, each
     product rounded on its own (never fused into an fma, whatever -ffp-contract says),
     with libm pow and cos as Python's math uses them, so with the same libm they give
     PyTorch's closed-form doubles; tested to 1e-12 relative against them and to 1e-9
     against PyTorch's recursive form (what its scheduler.step() computes). Measured
     with glibc on x86-64 and on AArch64: 0 against the closed forms (the same bits),
     7.5e-14 at worst against the recursive forms. ReduceLROnPlateau gives PyTorch's
     lrs bit for bit (only IEEE multiply and compare). A different libm may move the
     last bit of a double; the float an optimizer rounds it to then changes only when
     the double sits within that bit of a float rounding boundary.

   REGULARIZATION, GRADIENT UTILITIES AND LOSSES (DESIGN 4.5)
     Everything between the backward pass and the optimizer step. Sums go through
     the canonical blocked reduction (below), so every backend gives the same bits.

     Regularization (Keras' L1/L2/L1L2 convention, tf.keras.regularizers):
       trainopt_l1l2_penalty   *penalty = l1 * sum|w| + l2 * sum w^2   (a term with a zero
                               coefficient is skipped, as Keras does: l1 = 0 never gives 0*Inf)
       trainopt_l1l2_grad      grad += l1 * sign(w) + 2 * l2 * w        (sign(0) = 0)
     PyTorch has no L1 term; its optimizers' weight_decay wd adds wd * w to the gradient,
     which is trainopt_l1l2_grad with l1 = 0 and l2 = wd / 2 (and the penalty l2 * sum w^2
     with l2 = wd / 2 is the loss term it differentiates). AdamW's decoupled decay is not
     a gradient term at all: use trainopt_adamw_step's weight_decay for that.

     Gradient utilities:
       trainopt_clip_grad_value  g = clamp(g, -c, c)            torch.nn.utils.clip_grad_value_
                                 (NaN stays NaN, bits untouched)
       trainopt_clip_grad_norm   total = ||all gradients||_2; coef = max_norm / (total + 1e-6),
                                 clamped to 1; every g *= coef.  torch.nn.utils.clip_grad_norm_
                                 (L2). *total_norm is the report: when it is Inf or NaN the
                                 gradients hold Inf/NaN (or the squares overflowed float) and,
                                 as in PyTorch, they are multiplied by 0 or NaN. When coef is 1
                                 the gradients are not rewritten.
       trainopt_grad_unscale     g *= inv_scale; *found_inf = 1 if any input g is Inf/NaN, else
                                 *found_inf is left as it was (zero it before the first tensor),
                                 as torch.cuda.amp.GradScaler.unscale_ does
                                 (_amp_foreach_non_finite_check_and_unscale_).
       trainopt_sum_squares      sum of x^2 over many tensors (and the count of Inf/NaN
                                 elements): the global sum of squares, same bits everywhere.
       trainopt_grad_norm        the read-only half of clipping and unscaling: one pass over
                                 the (still scaled) gradients gives the unscaled L2 norm, the
                                 clip coefficient, found_inf, and grad_scale = inv_scale * coef,
                                 the single multiplier a fused optimizer step applies (with
                                 found_inf set it is inv_scale: still a valid grad_scale).
     Recommended training-loop sequence (AMP loss scale S, clipping at max_norm):
         backward(S * loss);                                      // gradients scaled by S
         trainopt_grad_norm_info info;
         trainopt_grad_norm(k, grads, lens, 1.0f / S, max_norm, &info);  // reads them once
         trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
         o.grad_scale = info.grad_scale;  o.found_inf = &info.found_inf;
         for (t = 0; t < k; t++)                                  // reads them again, or skips
             trainopt_adamw_step_ex(&cfg, step, lens[t], params[t], grads[t], m[t], v[t], NULL, &o);
         S = info.found_inf ? S * 0.5 : S;                        // GradScaler-style update
     instead of unscale (read + write), clip (read, then read + write) and step: two passes
     over the gradients, both read-only, instead of four, two of which also write them; and
     one rounding (g * grad_scale) instead of two.
     Without a fused step: trainopt_grad_unscale, then trainopt_clip_grad_norm, then the step.

     Losses (mean reduction, PyTorch 1.13; `grad` may be NULL, otherwise it receives
     d loss / d input):
       trainopt_mse_loss       loss = mean (p - t)^2;  grad = (p - t) * (float)(2/n)
                               (torch.nn.MSELoss, bit-identical gradient)
       trainopt_bce_with_logits  loss = mean [(1 - t) x + max(-x, 0) + log1p(exp(-|x|))];
                               grad = (sigmoid(x) - t) / n     (torch.nn.BCEWithLogitsLoss, no
                               weights; stable for any |x|; log1p where PyTorch uses log(1+e),
                               so large |x| is more accurate than PyTorch)
       trainopt_softmax_cross_entropy  logits [batch][classes], labels [batch]:
                               p = softmax(row), nll = -log p[label],
                               smooth = -sum_c log p[c],
                               loss = (1 - eps) * mean nll + (eps / classes) * mean smooth,
                               the means over rows whose label != ignore_index
                               (torch.nn.CrossEntropyLoss(ignore_index, label_smoothing=eps)).
                               grad = (p - (1 - eps) * onehot - eps / classes) / count on
                               counted rows, +0 on ignored rows. Stable for logits of any size
                               (the row max is subtracted); classes == 1 gives loss 0, grad 0.
     NaN and Inf are data, as in PyTorch: a row holding NaN or +Inf, or only -Inf, has NaN
     loss and NaN gradient (also when ignored: PyTorch's grad is then NaN too); a -Inf logit
     is a zero probability (an Inf loss if it is the label or eps > 0). Every row ignored, or
     n == 0, gives loss NaN (PyTorch's mean over nothing) and gradient +0.
     Exact in-place aliasing is allowed where a kernel is elementwise: grad may be the same
     pointer as pred/target (mse, bce) or logits (cross-entropy), and l1l2_grad's grad as
     param. Any other overlap, including of the scalar outputs, is TRAINOPT_ERR_ALIAS.

   ERRORS (in addition to the common ones)
     TRAINOPT_ERR_HPARAM  l1, l2, clip_value negative or not finite; max_norm negative or NaN
                          (+Inf is allowed: no clipping); inv_scale not finite or <= 0;
                          label_smoothing outside [0, 1] or NaN
     TRAINOPT_ERR_SHAPE   classes == 0 with batch > 0; batch * classes overflows
     TRAINOPT_ERR_INDEX   a label outside [0, classes) that is not ignore_index (PyTorch
                          raises "Target out of bounds")
     TRAINOPT_ERR_NULL    a required pointer is NULL (loss, penalty, found_inf, sum, info
                          included); grads[i] NULL with lens[i] > 0
   With nothing to sum (n == 0, batch == 0, k == 0) the scalar outputs get the empty
   result when their pointer is not NULL: loss NaN, penalty 0, total_norm 0, sum 0.

   PRECISION
     Reductions: elements go in blocks of 256; within a block element i goes to partial
     sum i % 16 through trainopt__acc16 (float, fixed tree), and the block sums are added
     in double, in order (across tensors too, in order). The result is the same on every
     backend and its error does not grow with n: about 1e-7 relative for same-sign terms
     at any n (2^21 squares: < 2e-7, tested), where 16 float partial sums alone lose 8e-5
     at n = 2^24.
     Scalars (means, norms, coefficients) are computed in double and rounded to float once.
     exp and log are the library's own (trainopt__v_exp, trainopt__v_log, trainopt__v_log1p,
     >>math): the same operations on every backend, so the same bits (checked over all
     2^32 inputs), and measured against double libm over every float of their ranges:
       exp    x in [-104, 89] (subnormal results included)   max 0.91 ulp
       log    x in (0, FLT_MAX] (subnormal x included)        max 0.76 ulp
       log1p  x in [0, 1] / (-1, 0]                           max 1.21 / 1.44 ulp
     Against PyTorch: loss within 1e-6 relative, gradients within 1e-6 of their largest
     magnitude (PyTorch sums in its own order; the tests hold both to that).
     NaN outputs that PyTorch would make from Inf - Inf or 0 * Inf are the canonical quiet
     NaN 0x7fc00000 here (x86 and ARM make different NaN bits from such operations).

   RANDOM NUMBERS, DROPOUT, INITIALIZATION (torch.nn.functional.dropout, torch.nn.init)
     Every random value is a pure function of (seed, offset + i): element i of a
     call with a given offset gets the same bits on every backend and compiler,
     at any thread count, and for any split of a range into calls (call a chunk
     starting at element s with offset + s and the arrays advanced by s). There is
     no generator state: the caller keeps a 64-bit seed and advances offset by n
     after each use, the way PyTorch's CUDA Philox does.

     Generator: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random
     numbers: as easy as 1, 2, 3", SC'11; Random123's known-answer vectors are in
     the tests). Element index e = offset + i (mod 2^64) takes one 32-bit word:
         block   b = (e >> 6) * 16 + (e & 15)                 (a 62-bit block number)
         key     (k0, k1)         = (seed & 0xffffffff, seed >> 32)
         counter (c0, c1, c2, c3) = (b & 0xffffffff, b >> 32, 0, 0)
         word    (e >> 4) & 3 of philox4x32_10(counter, key)
     So 64 consecutive elements take all four words of 16 consecutive blocks, and
     a vector of 1, 4, 8 or 16 lanes computes each block once with no shuffles.
     Every word is used exactly once: distinct e give distinct (block, word).
       trainopt_rand_u32(seed, offset, n, out)          the raw words
       trainopt_rand_uniform(seed, offset, n, lo, hi, out)
           u = (word >> 8) * 2^-24 in [0, 1) (24 bits, as PyTorch's float
           uniform_); out = fma(u, hi - lo, lo) in float with hi - lo and lo
           rounded to float once (may round up to hi, as PyTorch's may).
           Needs lo <= hi, both finite, hi - lo <= FLT_MAX (PyTorch's checks).
       trainopt_rand_normal(seed, offset, n, mean, std, out)
           Box-Muller as PyTorch's CPU normal_: elements e and e + 16 of each
           64-element group share the words of one block (words 0 and 1, or
           2 and 3): u1 = 1 - (w_even >> 8) * 2^-24 in (0, 1], t = (w_odd >> 8)
           * 2^-24, r = sqrt(-2 log u1); the even word's element gets r cos(2 pi t),
           the odd word's r sin(2 pi t); out = fma(z, std, mean). |z| <= 5.77
           (24-bit u1, as PyTorch). Needs std >= 0 (std = 0 gives mean).
     log, sin and cos are the library's own (trainopt__v_log, trainopt__v_sincos2pi:
     fixed sequences of IEEE operations and fused multiply-adds, so every backend
     gives the same bits). Measured against double-precision libm on every input
     Box-Muller can give them: log within 0.82 ulp, sin and cos within 6.1e-8
     (absolute, about half an ulp of 1).

     Dropout (torch.nn.functional.dropout, training mode):
       trainopt_dropout_forward(p, seed, offset, n, x, y, mask)
           Element i is dropped when its 32-bit draw d < round(p * 2^32), so p acts
           with 2^-32 resolution; y[i] = x[i] * (float)(1 / (1 - p)) where kept (the
           scale computed in double, as torch's native_dropout) and x[i] * 0 where
           dropped, as PyTorch multiplies by its 0/1 noise: a dropped NaN or Inf stays
           NaN, a dropped negative value gives -0. p == 0 copies x bit for bit, p == 1
           gives x * 0 everywhere. x == y (in place) is allowed.
           The draw takes 16 bits per element, so dropout costs half a word:
               block b = (e >> 7) * 16 + (e & 15), word (e >> 4) & 3, half (e >> 6) & 1
               (the low 16 bits for half 0, the high 16 for half 1),
               d = (that half of philox(b, 0, 0, 0) << 16) | (that half of philox(b, 0, 1, 0))
           where philox(c0 c1 c2 c3) splits b as above. The second block (c2 = 1) is
           computed only when the first half equals the threshold's high half
           (probability 2^-16), so d acts as a full 32-bit draw at half the cost.
           mask (may be NULL): ceil(n/8) bytes, bit i%8 of byte i/8 is 1 where
           element i was kept; the unused high bits of the last byte are written 0.
           Calls that share one mask array must start at elements that are
           multiples of 8 (mask + s/8); any split gives the same bits.
       trainopt_dropout_backward(p, seed, offset, n, dy, dx, mask)
           dx = dy where kept times the same scale, dy * 0 where dropped. With a mask
           the keep bits are read from it; with mask NULL they are regenerated from
           (seed, offset), which costs the generator but no memory traffic.
       Differences from PyTorch: the mask is a different (but equally distributed)
       draw; PyTorch 1.13's CPU F.dropout divides
       1.0f / (float)(1 - p) in float, which differs in the last bit for some p
       (0.999: 999.99994 against 1000).

     Initializers (torch.nn.init; fans as torch.nn.init._calculate_fan_in_and_fan_out,
     see trainopt_calculate_fans; all bounds and deviations derived in double exactly
     as PyTorch's Python does, then rounded to float once):
       trainopt_calculate_gain(nl, param)   linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2),
                                           leaky_relu sqrt(2 / (1 + param^2)), selu 3/4
       trainopt_xavier_uniform   U(-a, a),  a = sqrt(3) * (gain * sqrt(2 / (fan_in + fan_out)))
       trainopt_xavier_normal    N(0, std), std = gain * sqrt(2 / (fan_in + fan_out))
       trainopt_kaiming_uniform  U(-b, b),  b = sqrt(3) * (gain / sqrt(fan)),  gain = calculate_gain(nl, a)
       trainopt_kaiming_normal   N(0, std), std = gain / sqrt(fan)
           (trainopt_kaiming_config {a, mode, nonlinearity}; TRAINOPT_KAIMING_DEFAULTS
           is PyTorch's a = 0, fan_in, leaky_relu.)
       trainopt_trunc_normal     N(mean, std) truncated to [a, b] by PyTorch's inverse-CDF
           method: v = U(2 Phi(alpha) - 1, 2 Phi(beta) - 1), out = clamp(mean + std *
           sqrt(2) * erfinv(v), a, b), alpha = (a - mean) / std, beta = (b - mean) / std.
           erf (per call, double, a fixed Taylor series) and erfinv (per element,
           float: Giles 2010, relative error 2.4e-7 measured) are the library's own
           (trainopt__erf, trainopt__v_erfinv). As in PyTorch, bounds more than about 4 std from the mean
           lose resolution (v is a float near +-1).
       The uniform initializers use trainopt_rand_uniform's words and formula, the
       normal ones trainopt_rand_normal's, so xavier_normal(seed, offset, ...) is
       rand_normal(seed, offset, ..., 0, std) bit for bit.

     Errors: TRAINOPT_ERR_HPARAM for p outside [0, 1] or NaN, lo > hi, std < 0 (or
     <= 0 for trunc_normal), a > b, gain < 0, any NaN/Inf or a value beyond FLT_MAX,
     an unknown mode or nonlinearity; TRAINOPT_ERR_SHAPE for a zero fan (the one
     used) when n > 0, or n * 4 overflowing; TRAINOPT_ERR_NULL for a NULL array
     when n > 0; TRAINOPT_ERR_ALIAS when x and y overlap without being equal, or
     the mask overlaps either. Nothing is written on an error.

   MIXED PRECISION: BF16 AND FP16 (>>convert)
     trainopt_dtype: TRAINOPT_F32, TRAINOPT_BF16, TRAINOPT_F16. bf16 and fp16 arrays are
     uint16_t bit patterns (bf16: the top 16 bits of a float; fp16: IEEE binary16).
     trainopt_convert(n, src, src_dtype, dst, dst_dtype, rounding, seed, offset)
     writes dst[i] = src[i] in dst_dtype for i < n. src and dst may not overlap (not
     even in place). The same dtype is a bit copy (NaN payloads kept). Widening
     (bf16 or fp16 to fp32) is exact; fp16 NaNs become quiet (0x7c01 -> 0x7fc02000),
     as PyTorch's .float(). bf16 <-> fp16 go through the exact fp32 value and round once.
     TRAINOPT_ROUND_NEAREST: ties to even, bit for bit PyTorch 1.13's .to(torch.bfloat16)
     and .half() (held against it on every float class and every bf16/fp16 pattern):
       bf16: (u + 0x7fff + ((u >> 16) & 1)) >> 16 on the float's bits u; subnormals and
             overflow to Inf fall out of the same sum; NaN -> 0xffff (PyTorch's vectorized
             conversion; from fp16, NaN -> 0x7fc0, as PyTorch's scalar path there).
       fp16: |x| >= 65520 (halfway from 65504 to 2^16) -> Inf; |x| >= 2^-14: the same
             sum on 13 dropped bits, exponent rebiased; |x| < 2^-14 (subnormals, step
             2^-24): the float sum |x| + 0.5, which rounds once at 2^-24, minus 0.5's bits;
             NaN -> 0x7e00; the sign is kept everywhere (-0 stays -0), so a NaN
             made by an invalid operation (Inf - Inf) in a step before the rounding
             has the CPU's sign: set on x86, clear on ARM, as in fp32.
     TRAINOPT_ROUND_STOCHASTIC: element i draws the 32-bit word r that
     trainopt_rand_u32(seed, offset + i) gives (>>rng), so the result depends on
     (seed, offset + i) and the value only: every backend, every chunking (call with
     offset + start for a piece) gives the same bits. Then:
       bf16: (u + (r >> 16)) >> 16, NaN -> 0xffff. All 16 dropped bits meet 16 random
             bits, so the rounding is exactly unbiased: up with probability (dropped
             bits) / 2^16. Above the largest bf16 it rounds to Inf with that probability.
       fp16: |x| >= 2^-14: t = (bits of |x|) + (r >> 19); t >= bits of 2^16 -> Inf,
             else (t >> 13) rebiased; exactly unbiased (13 dropped bits, 13 random
             bits); values in (65504, 65536) round to Inf with probability
             (|x| - 65504) / 32. |x| < 2^-14: s = |x| + 2^-14 in float (rounded to
             nearest even at 2^-37), ((bits of s) + (r >> 19)) >> 13, minus 2^-14's:
             unbiased except for that pre-rounding (at most 2^-38, 2^-14 of a
             step). NaN -> 0x7e00; the sign is kept.
     The result is always x itself or one of its two neighbours in the format.
     The rules are integer arithmetic and give the same bits everywhere. One
     hardware conversion gives those bits too and is used: the avx512 backend
     widens fp16 with VCVTPH2PS and narrows to nearest with VCVTPS2PH, a NaN first
     made +-0x7fc00000 (VCVTPS2PH alone keeps NaN payloads, PyTorch does not);
     tests/test_convert.c checks every fp16 pattern and every float class on every
     backend. Not used: AVX512-BF16's VCVTNEPS2BF16 (flushes subnormals to zero),
     and F16C in the avx2 backend (not in its avx2,fma target).
     Errors: a dtype or rounding outside the enums -> TRAINOPT_ERR_HPARAM; src or dst
     NULL with n > 0 -> TRAINOPT_ERR_NULL; overlap -> TRAINOPT_ERR_ALIAS.

   MIXED-PRECISION STEPS (>>mixed)
     trainopt_<opt>_step_mp(c, step, n, param, grad, <states...>, pr, o) for sgd, adagrad,
     rmsprop, adam, adamw, radam, adamax, adadelta and lion, and
     trainopt_nadam_step_mp(c, step, mu_product, n, param, grad, exp_avg, exp_avg_sq, pr, o)
     and trainopt_sfadamw_step_mp(c, s, n, param, grad, z, exp_avg_sq, pr, o) (the 8-bit
     steps' trainopt_<opt>8bit_step_mp: QUANT8, with their 8-bit states as they are): the
     arguments of <opt>_step_ex with void pointers, and pr, a trainopt_precision that says
     what they point to:
       param_dtype, param_mode, param_aux  the parameters (below)
       grad_dtype                          F32, BF16 or F16
       state_dtype                         F32 or BF16: every state array
       copy, copy_dtype                    NULL, or n BF16/F16 elements that receive the
                                           updated parameters, rounded to nearest
       seed, offset                        stochastic rounding of element i uses the word of
                                           (seed, offset + i), as trainopt_convert
     TRAINOPT_PRECISION_DEFAULTS is fp32 everywhere: then _mp is _ex exactly. The fp32
     signatures do not change; the fused options o work as in _ex (grad_scale multiplies
     the widened gradient; found_inf skips; nonfinite counts the scaled ones).
     The math: every input is widened exactly to float (gradients, states, parameters as
     below), the optimizer's own fp32 _ex kernel runs on the widened values, and each
     output is rounded back. So a _mp step equals, bit for bit, the fp32 kernel on the
     widened inputs followed by these roundings (tests/test_mixed.c holds every
     combination to that on every backend):
       states (BF16)       s = rne(s')
       copy                copy = rne(q') in copy_dtype
       param F32           the fp32 master, updated in place (q' itself)
       NEAREST  (bf16/f16) q = widen(p);            p = rne(q')
       STOCHASTIC          q = widen(p);            p = sr(q'), words of (seed, offset + i)
       KAHAN    (bf16/f16) q = widen(p) + widen(c); p = rne(q'); c = rne(q' - widen(p))
                           (c in param_aux, same dtype: each step's rounding error is kept
                           and added back at the next, "Revisiting BFloat16 Training",
                           Zamirai et al. 2020; only c's own rounding is lost)
       SPLIT    (bf16)     q = bits(p) << 16 | lo;  p = bits(q') >> 16; lo = bits(q') & 0xffff
                           (lo in param_aux, uint16_t: the bf16 array the model reads is the
                           top half of the fp32 master, truncated, and the update is the fp32
                           update exactly; Intel Extension for PyTorch's split SGD); a NaN
                           q' is written as 0xffffffff (p = 0xffff, trainopt_convert's NaN):
                           its payload would otherwise depend on the backend
     rne and sr are trainopt_convert's rules (MIXED PRECISION above). Stochastic rounding
     is what lets bf16 parameters without a master keep updates below half their spacing:
     1000 SGD steps of 1e-4 on bf16 ones leave them at 1.0 with nearest rounding and at
     0.9 on average with stochastic rounding or Kahan (tests/test_mixed.c). For the same
     bits across threads or pieces, call a piece starting at element s with offset + s.
     The step works on blocks of 512 elements: widened into stack buffers (7 KiB to 14 KiB),
     the fp32 kernel, rounded back; the kernels are elementwise, so blocks change no bit.
     Adam and AdamW without amsgrad, on bf16 or fp16 parameters rounded to nearest with
     gradients of the same dtype, fp32 or bf16 states and no copy, skip the buffers: their
     fp32 loop reads and writes the 16-bit arrays itself, widening and rounding in
     registers; the same operations on the same values, so the same bits.
     A list of tensors in one call, on the caller's threads: trainopt_<opt>_step_mp_multi
     (THREADS), the same bits as one _step_mp per tensor.
     NAdam's mu_product and schedule-free AdamW's state s are the one value of the step
     for every block and piece, as for their _ex kernels (schedule-free AdamW's param is
     its y; z is a state; trainopt_sfadamw_to_eval/_to_train stay fp32). Adafactor's
     _mp form is below; LAMB's and LARS's are in MIXED-PRECISION LIST STEPS.
     Errors, before anything is written: pr NULL -> TRAINOPT_ERR_NULL; a dtype or mode
     outside its enum, fp16 or unknown state dtypes, an fp32 copy, a compensation or split
     array with fp32 parameters, split fp16, param_aux with NEAREST or STOCHASTIC ->
     TRAINOPT_ERR_HPARAM; param_aux NULL for KAHAN or SPLIT -> TRAINOPT_ERR_NULL; any two
     of param, grad, the states, param_aux and copy sharing a byte (each at its own
     element size) -> TRAINOPT_ERR_ALIAS; then the optimizer's own checks, as _ex.
     trainopt_adafactor_step_mp(c, step, rows, cols, param, grad, row_var, col_var,
     variance, pr, o) (>>mixed-adafactor): Adafactor's arguments, param, grad and
     variance as void pointers. The same contract and roundings: bit for bit
     trainopt_adafactor_step_ex on the widened param and grad (and variance), then the
     table above. "bf16 states" here is the unfactored variance (rows*cols elements, as
     large as the parameter): BF16 with state_dtype BF16. The factors row_var and
     col_var stay float in every mode (float * in the signature): rows + cols floats,
     a vanishing part of the state, read by every sweep, and rounding them would round
     the row mean and every coefficient again at each step. A bf16 variance is not read
     back rounded within the step: the second pass makes the same float lerp again from
     the stored V and g, steps with that float V (as the fp32 kernel does) and stores it
     rounded. Adafactor's passes are reductions over the whole parameter, not
     elementwise blocks: they read g, p and variance in pieces of 4096 elements (a row's
     tile, a piece of a longer row or vector) widened into stack buffers (48 KiB), and
     round each updated piece back; every pass still visits the elements in its
     canonical order, so the pieces change no bit. Stochastic rounding of element i
     (row-major) uses (seed, offset + i). A call is one whole parameter (no pieces: the
     means and RMS are over all of it). Errors: as above, the factors also against every
     array at its element size (TRAINOPT_ERR_ALIAS), then Adafactor's own checks.

   MIXED-PRECISION LIST STEPS (>>mixed-layerwise)
     trainopt_lamb_step_mp(c, step, k, lens, params, grads, exp_avgs, exp_avg_sqs, pr, o)
     trainopt_lars_step_mp(c, k, lens, params, grads, momentum_bufs, pr, o)
     The arguments of lamb/lars_step_ex with lists of void pointers, and one
     trainopt_precision for the whole list: every tensor has the same dtypes and mode.
     Per-tensor arrays are lists too: param_aux (KAHAN, SPLIT) and copy, when given, point
     to arrays of k pointers (void *[k]; entry t is tensor t's lens[t] compensation or low
     halves, and its copy), cast to void * in the descriptor. Stochastic rounding: element
     j of tensor t uses the word of (seed, offset + lens[0] + ... + lens[t-1] + j), its
     place in the concatenation of the list; a list split into two calls gives the same
     bits when the second call's offset is advanced by the first call's elements.
     The math, bit for bit (tests/test_mixed_layerwise.c, every mode x gradient dtype x
     state dtype, on every backend): the fp32 _ex step on the widened lists (Kahan: each
     parameter p + c; split: the joined master), followed by the roundings of
     MIXED-PRECISION STEPS. So the norms ||p|| and ||u|| and the trust ratio are those of
     the widened values. Each tensor's two passes run on blocks of 512 widened elements
     (stack buffers of 8 KiB), whole blocks of the norms' canonical order. Traffic: pass 1
     reads p, g (and LAMB's moments); pass 2 reads them again and writes every output. bf16
     LAMB moments are not rounded between the passes: pass 1 computes the new moments in
     the block only, pass 2 computes them again from the stored ones (the same bits) and
     rounds once; fp32 moments are stored by pass 1, as in _ex.
     Errors, before anything is written: the descriptor's as MIXED-PRECISION STEPS (pr
     NULL, enums, modes, copy dtype); param_aux NULL for KAHAN or SPLIT, a NULL entry of
     any list (param_aux and copy included) for a tensor with elements ->
     TRAINOPT_ERR_NULL; any two tensors of the lists (params, grads, states, param_aux,
     copy) sharing a byte, at each array's own element size, where one of them is written,
     or o->nonfinite inside one -> TRAINOPT_ERR_ALIAS; then the optimizer's own checks.

   BATCH NORMALIZATION (torch.nn.functional.batch_norm, PyTorch 1.13; oneDNN's fuse_norm_relu)
     Shapes: trainopt_bn_shape {n, c, spatial, layout}. TRAINOPT_NCHW is [N][C][S],
     TRAINOPT_NHWC is [N][S][C] (PyTorch channels_last), S = spatial = H*W (D*H*W for
     3-d); spatial = 1 is BatchNorm1d on [N][C], the same memory in both layouts. Per
     channel c the M = N*S values x are normalized:
       forward_train  mean = sum(x)/M,  var = sum((x-mean)^2)/M  (biased),
                      invstd = 1/sqrt(var + eps)
                      y = (x - mean)*a + b,   a = gamma*invstd, b = beta
                      running_mean = (1-momentum)*running_mean + momentum*mean
                      running_var  = (1-momentum)*running_var  + momentum*var*M/(M-1)
                      save_mean = mean, save_invstd = invstd (what the backward pass needs)
       forward_infer  y = (x - running_mean)*a + beta,  a = gamma/sqrt(running_var + eps)
       backward       (training mode: the statistics depend on x)
                      g = dy, or with fuse_relu g = (y <= 0 ? 0 : dy)
                      dbeta = sum(g),  dgamma = sum((x-mean)*g) * invstd
                      dx = gamma*invstd * (g - dbeta/M - (x-mean)*invstd^2*sum((x-mean)*g)/M)
       fold           scale = gamma/sqrt(running_var + eps),  shift = beta - running_mean*scale
                      (y = x*scale + shift: the form an inference engine applies, or merges
                      into the preceding convolution's weights and bias)
     gamma and beta may be NULL (1 and 0). running_mean and running_var are both given
     (tracked) or both NULL (training only). dgamma and dbeta may be NULL. fuse_relu
     (in trainopt_bn_config) makes the forward functions return y = max(0, y) (NaN
     stays NaN) and the backward pass mask dy where y <= 0; the backward pass then
     needs the forward output y (NULL is allowed without fuse_relu).
     Exact aliasing: y may be x (in place); dx may be x, dy or y. Any other overlap
     of an output with another array is TRAINOPT_ERR_ALIAS. fold's outputs may be
     exactly its inputs.
     TRAINOPT_BN_DEFAULTS is PyTorch's {eps 1e-5, momentum 0.1, fuse_relu 0}.
     Differences from PyTorch, all refused rather than guessed: eps <= 0 (PyTorch
     accepts eps = 0 and divides by zero for a constant channel), momentum outside
     [0, 1], and momentum = None (PyTorch's cumulative average: pass
     momentum = 1/(number of batches so far) to get the same result).
     Errors (nothing is written on any of them):
       TRAINOPT_ERR_NULL    config, x, y, dy, dx, save_mean, save_invstd, running stats for
                            forward_infer/fold, y with fuse_relu in backward; exactly one of
                            running_mean/running_var given
       TRAINOPT_ERR_HPARAM  eps not > 0 or not finite; momentum NaN or outside [0, 1]
       TRAINOPT_ERR_SHAPE   layout not NCHW/NHWC; n*c*spatial*sizeof(float) overflows size_t;
                            N*S == 1 in forward_train (the unbiased variance is undefined;
                            PyTorch raises "Expected more than 1 value per channel")
       TRAINOPT_ERR_ALIAS   overlapping buffers other than the exact aliases above
     A zero dimension is a successful no-op (nothing is written; PyTorch also leaves
     the running statistics alone for an empty batch).

     Precision. Statistics are exact to a few float ulps whatever the ratio of mean to
     standard deviation: each channel's values are cut into blocks of at most 1024
     (rows of S, or segments of a row when S > 1024); a block is read twice while it
     is in cache, first for its float mean m_b, then for sum(x - m_b) and
     sum((x - m_b)^2) in float, and the blocks are merged in double (Chan et al.'s
     pairwise update). A channel whose mean is 1e4 times its standard deviation gets
     its variance to about 1e-6 relative (PyTorch 1.13's channels-last kernel, a
     one-pass float sum, gets it wrong by orders of magnitude). Per-channel scalars
     (invstd, a, b, the backward coefficients, running statistics) are computed in
     double and rounded to float once; the per-element math is float:
       y  = fma(x - mu, a, b),  mu = mean rounded to float,  a = gamma/sqrt(var + eps),
                                b = beta - (mean - mu)*a
       dx = fma(x - mean, k, fma(g, a, c)),  k = -a*invstd^2*sum((x-mean)*g)/M,
                                            c = -a*sum(g)/M
     Subtracting the mean first, and carrying the mean's rounding error in b, keeps y
     exact when |mean| >> std, where PyTorch's x*alpha + (beta - mean*alpha) loses
     digits. (The backward pass gets the mean as a float, save_mean, as PyTorch's
     does, and inherits its rounding.) forward_infer computes y = fma(x - mean, a,
     beta) from the running statistics, so it does not give the bits of
     x*scale + shift with fold's outputs (they agree to a few ulps).
     Reproducibility. Each float sum has one fixed order, which depends only on the
     shape: within a block, value (n, s) goes to partial sum s % 16 (n % 16 when
     S = 1), each partial sum takes its values in (n, s) order, and the 16 are
     combined by the fixed tree of the vector layer's canonical reduction; blocks
     merge in double in block order (when S > 1024: rows in groups of 4, each group
     segment by segment). So every backend gives the same bits, and NCHW and NHWC
     give the same bits for the same logical tensor. NaN outputs are the quiet NaN
     0x7fc00000 where they come from NaN inputs (from Inf - Inf: the CPU's default
     NaN, whose sign differs between x86 and ARM).
     Memory. Forward training reads x twice (statistics, then normalization) and
     writes y once; backward reads x and dy twice and writes dx once. NCHW works a
     channel (or four small channels) at a time so the second read comes from cache.
     NHWC passes always cover whole rows of C channels; for C > 64 their per-channel
     state lives in the output array (y, dx) before it is written, so an in-place
     call (y = x, dx = dy), or N*S below about 42, runs on 64-channel tiles (same bits,
     slower for large tensors). Outputs of TRAINOPT_STREAM_BYTES or more (default
     16 MB) are written with non-temporal stores on x86. Nothing allocates; the
     stack use is about 12 KB.

   LAYER, RMS AND GROUP NORMALIZATION (F.layer_norm, F.group_norm of PyTorch 1.13;
   torch.nn.RMSNorm of PyTorch 2.4)
     trainopt_norm_config {eps}; TRAINOPT_NORM_DEFAULTS is {1e-5}. Layer and RMS norm
     normalize each row of x[rows][cols] (the last dimension: F.layer_norm with
     normalized_shape = (cols,)); group norm normalizes, per sample n and group q of
     `groups` dividing C, the C/groups*spatial values of x[N][C][spatial] (NCHW; NHWC
     only with spatial = 1, where it is the same memory).
       layernorm  mean = sum(x)/cols, var = sum((x-mean)^2)/cols (biased),
                  rstd = 1/sqrt(var + eps),  xhat = (x - mean)*rstd,
                  y = xhat*weight + bias  (per column; weight, bias NULL: 1 and 0)
                  backward, g = dy*weight:  dbias = sum over rows of dy,
                  dweight = sum over rows of dy*xhat,
                  dx = rstd*(g - mean(g) - xhat*mean(g*xhat))
       rmsnorm    rstd = 1/sqrt(mean(x^2) + eps),  y = x*rstd*weight (no bias, no centering);
                  backward: dweight = sum over rows of dy*x*rstd,
                  dx = rstd*g - x*rstd^3*mean(g*x)
       groupnorm  as layernorm over each (n, group), weight and bias per channel;
                  mean and rstd are [N][groups]
     The forward passes save mean (not RMS norm) and rstd, each [rows] (group norm
     [N][groups]), when the pointers are not NULL; the backward passes take them back
     (required) and write dx, dweight, dbias, each optional (NULL: not computed).
     RMS norm's eps: torch.nn.RMSNorm's default eps=None means torch.finfo(x.dtype).eps
     (1.19e-7 for float32); here eps is always the config's (default 1e-5): pass
     c.eps = 1.1920928955078125e-07 for PyTorch's default.
     Aliasing: y may be exactly x (in place). The backward passes are never in place:
     dx must not overlap x or dy (its last rows may hold scratch sums while it is being
     written). Any other overlap of an output with another array is TRAINOPT_ERR_ALIAS.
     Errors (nothing is written on any of them):
       TRAINOPT_ERR_NULL    config, x, y, dy, mean (layer and group norm backward), rstd
                            (backward)
       TRAINOPT_ERR_HPARAM  eps not > 0 or not finite
       TRAINOPT_ERR_SHAPE   cols == 0 with rows > 0; c or spatial == 0 with n > 0; groups
                            0 or not dividing c; NHWC with spatial > 1; a size in bytes
                            that overflows size_t; layout not NCHW/NHWC
       TRAINOPT_ERR_ALIAS   overlapping buffers other than y == x
     rows == 0 (group norm: n == 0) is a successful no-op.
     Precision. The statistics are batch norm's (>>batchnorm): a row (a group) in
     blocks of at most 1024 values, each block's float mean, then centered float sums,
     merged in double; RMS norm's mean(x^2) is var + mean^2 from the same sums. A row
     whose mean is 1e4 times its standard deviation keeps its variance to about 1e-6
     relative. The forward pass subtracts the float mean and carries its rounding
     error in a per-row constant: xhat = fma(x - mu, rstd, -(mean - mu)*rstd). The
     backward pass does not trust the saved float mean: with its sums of g and
     (x - mu)*g it sums x - mu, which gives the saved mean's rounding error, and
     corrects both dx and dweight for it (trusting it would lose about 1e-4 relative
     on such a row; PyTorch's float32 kernels lose about 4e-4 there).
     Reproducibility. Row sums have batch norm's canonical order. dweight and dbias
     (sums over rows; group norm: over samples) are reduced in one fixed order: rows
     in blocks of 16, each block's float sums taken with its rows in order, the blocks'
     sums added in double in block order and rounded once (group norm: each sample's
     per-channel sum, in double, samples in order). So every backend gives the same
     bits, and a caller (or a future thread split) that runs blocks of 16 rows as
     separate calls and adds their dweight in double in order gets the whole call's
     bits. dx, y, mean and rstd of a row depend on that row alone: any chunking of the
     rows gives the same bits. NaN in a row makes that row's outputs NaN (the quiet
     NaN 0x7fc00000 for the per-row scalars) and stays in it, except through the
     column sums dweight/dbias.
     Memory. Forward reads each row twice (statistics, normalization; the second from
     cache, 4 small rows at a time) and writes y once. Layer/RMS backward with dx and
     more than 16 rows goes row by row: it reads a row's x and dy from memory once (the
     previous row's sweep prefetches them) and once more from cache, and writes its dx
     once; the current 16-row block's float column sums live in rows rows-6 and rows-5
     of dx and their double sums in its last 4 rows, those 6 rows' dx written last.
     With at most 16 rows, a block of them is read from memory once and swept again from
     cache; without dx (dx NULL) the rows' sums are swept once per 256 columns.
     Group norm backward keeps those sums on the stack (256 channels at a time; a group
     of more channels has its sums swept once per 256 of them). Stack about 10 KB.
     bf16 and fp16 activations (>>norms-mixed, src/norms_mixed.h):
       trainopt_layernorm_forward_mp(c, rows, cols, x, dtype, weight, bias, y, mean, rstd)
       trainopt_layernorm_backward_mp(c, rows, cols, x, dy, dtype, weight, mean, rstd,
                                      dx, dweight, dbias)
       trainopt_rmsnorm_forward_mp(c, rows, cols, x, dtype, weight, y, rstd)
       trainopt_rmsnorm_backward_mp(c, rows, cols, x, dy, dtype, weight, rstd, dx, dweight)
       trainopt_groupnorm_forward_mp(c, s, groups, x, dtype, weight, bias, y, mean, rstd)
       trainopt_groupnorm_backward_mp(c, s, groups, x, dy, dtype, weight, mean, rstd,
                                      dx, dweight, dbias)
     One trainopt_dtype (>>mixed: TRAINOPT_F32, _BF16, _F16; bf16 and fp16 as uint16_t
     bit patterns) for the activations x, y, dy, dx; weight, bias, mean, rstd, dweight
     and dbias stay fp32. Every result is, bit for bit, the fp32 kernel's on the
     widened x and dy (trainopt_convert to fp32: exact), with y and dx then rounded to
     nearest even exactly as trainopt_convert(..., TRAINOPT_ROUND_NEAREST); mean, rstd,
     dweight, dbias are the fp32 kernel's floats. So everything above holds: the same
     bits on every backend, any chunking of the rows gives the same y, mean, rstd and
     dx, NaN stays in its row. TRAINOPT_F32 is the fp32 kernel itself. The same checks
     and errors as the fp32 forms (sizes of x, y, dy, dx in bytes of the dtype, so an
     overlap is judged on the memory really touched), plus TRAINOPT_ERR_HPARAM for a
     dtype that is none of the three (checked before anything else is read).
     How. The activations are widened in registers inside the fp32 kernel's own loops
     (the dtype a constant in each instantiated loop; the forward statistics run batch
     norm's block sweeps over the 2-byte values) and y and dx are rounded as they are
     stored, so each canonical sum sees the same floats in the same order; nothing
     goes through a block on the stack. Memory, as the fp32 kernel: forward reads x
     from memory once (its statistics sweep each 1024-value block twice from cache,
     then y is computed from cache) and writes y once; layer/RMS backward reads x and
     dy twice with weight gradients (row sums, then the 16-row block's columns), and
     without dx the row sums once more per 512 columns beyond the first 512; once
     without weight gradients (the sums, then dx from cache); group norm backward reads
     a group's x and dy twice (channel sums, then dx; from cache for a group that fits),
     the sums once more per 256 channels beyond the first 256. Nothing allocates; stack
     about 8 KB (the weight gradients' double sums).

   ERRORS (all families)
     Every kernel returns trainopt_status and checks all of its arguments before
     it writes anything: on an error, not one element of any output or state has
     changed. n == 0 (a zero length or dimension) is a successful no-op: the
     arrays, and the outputs that would receive results, may then be NULL. The
     other arguments are still checked: a config pointer (c, the schedules' and
     the plateau's configs) is required at every n, NULL is TRAINOPT_ERR_NULL even
     when n == 0 (it is a programming error, not an empty tensor), and the values
     in it, step and the other scalars are checked as for n > 0.
       TRAINOPT_ERR_NULL    a required pointer is NULL (an array with n > 0, or a config at
                            any n), or state the config needs is missing
                            (state the config does not need may be NULL or not; it is not touched)
       TRAINOPT_ERR_HPARAM  a hyperparameter is NaN/Inf or outside the range PyTorch accepts:
                            lr, eps, weight_decay, momentum, lr_decay, initial_accumulator_value < 0;
                            betas outside [0, 1); alpha outside [0, 1]; nesterov without
                            momentum or with dampening
       TRAINOPT_ERR_STEP    step < 1
       TRAINOPT_ERR_SHAPE   n * sizeof(float) overflows size_t
       TRAINOPT_ERR_ALIAS   two of the arrays overlap (optimizer arrays must be disjoint)
       TRAINOPT_ERR_INDEX   an index out of range: a class label outside [0, classes) that is
                            not ignore_index
       TRAINOPT_ERR_PARSE   a schedule text that does not parse (trainopt_schedule_parse*)
     New statuses are added at the end of the list; existing values never change.

     >>last-error Which argument, and why. The status is the contract; beside it,
         const char *trainopt_last_error(void);
         void trainopt_clear_error(void);
     give a short text naming the function, the argument and the reason, in the
     style of stb_image's stbi_failure_reason, for example
         trainopt_adam_step: beta2 = 1 is outside [0, 1)
         trainopt_sgd_step: grad is NULL
         trainopt_batchnorm_forward_train: n*spatial == 1: one value per channel has no
             variance (PyTorch: Expected more than 1 value per channel when training)
     Every call that returns a status other than TRAINOPT_OK sets it; the text
     always starts with the function's name and ": ". A successful call does not
     clear it (as stb), so it is meaningful right after a call that returned an
     error; trainopt_clear_error() empties it, and before any error it is "".
     Never NULL. Functions that return a double (the schedules, plateau_step,
     calculate_gain) answer bad input with NaN and leave the text alone. The text
     is per thread (TRAINOPT_THREAD_LOCAL; a thread's calls never see another's),
     at most 511 bytes (longer texts are cut), and valid until the thread's next
     failing call. There is one per program: the unit that compiles the
     implementation holds it, and under TRAINOPT_DISPATCH every variant writes the
     same one; with TRAINOPT_STATIC each unit has its own copy, as of everything
     else. Only failing calls format the text (snprintf, out of line): validation
     of a valid call costs what it did before.
     NaN and Inf in gradients or parameters are data, not errors: they propagate
     exactly as in PyTorch.

   PRECISION AND REPRODUCIBILITY
     For the same inputs every backend (scalar, avx2, avx512, neon) gives the same
     output bits, at any optimization level, with gcc or clang and any
     -ffp-contract setting: every product that feeds a sum is an explicit fused
     multiply-add, a product meant to be rounded on its own is hidden from the
     compiler's contraction, only IEEE sqrt and division are used, tails run the same
     kernel body on a partial vector, reductions use one fixed order, and
     beta^step is computed by repeated squaring in double rather than libm pow.
     Splitting a range into chunks, one call per chunk, gives the same bits as
     one call. -ffast-math voids all of this.
     Against PyTorch the results agree to a few float ulps per step, not bit for
     bit: PyTorch's own CPU kernels differ by build (its vectorized addcmul may
     or may not be contracted to an FMA), and trainopt multiplies by the
     precomputed 1/sqrt(1-beta2^step) where PyTorch divides by it.

   LICENSE
     MIT. Copyright (c) 2026 the trainopt authors. See LICENSE.
*/
