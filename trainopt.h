/* trainopt.h - SIMD training kernels in one C header.        version 0.1.0

   Optimizer update rules, learning-rate schedules, batch normalization,
   dropout, regularization, gradient utilities, losses and weight
   initialization, vectorized for AVX-512, AVX2+FMA and ARM NEON with a scalar
   fallback chosen at compile time. The math follows PyTorch 1.13, and every
   backend gives bit-identical results.

   DO THIS
   -------
       #include "trainopt.h"      // and keep trainopt_simd.h beside it

       trainopt_adam_config cfg = TRAINOPT_ADAMW_DEFAULTS;
       cfg.lr = 3e-4;
       for (int64_t step = 1; step <= steps; step++) {
           backward(model, grad);                 // your code
           trainopt_status s = trainopt_adamw_step(&cfg, step, n, param, grad, m, v, NULL);
           if (s != TRAINOPT_OK) { fprintf(stderr, "%s\n", trainopt_status_str(s)); abort(); }
       }

   Compile with the vector ISA you want the kernels to use (-mavx2 -mfma,
   -mavx512f, -march=native, or nothing for the scalar fallback), or, for one
   binary that runs on many x86-64 CPUs, #define TRAINOPT_DISPATCH before the
   include and let it pick at run time (RUNTIME DISPATCH below).

   CONTENTS (each name is a greppable marker in the body: search ">>name")
     >>status       trainopt_status, trainopt_status_str, trainopt_backend
     >>validate     argument checks shared by every kernel
     >>stepopts     trainopt_step_opts: the fused step (gradient scale, skip, non-finite count)
     >>sgd          trainopt_sgd_step, trainopt_sgd_step_ex
     >>adagrad      trainopt_adagrad_init, trainopt_adagrad_step, trainopt_adagrad_step_ex
     >>rmsprop      trainopt_rmsprop_step, trainopt_rmsprop_step_ex
     >>adam         trainopt_adam_step, trainopt_adamw_step, and their _ex forms (AMSGrad included)
     >>schedules    trainopt_lr_* (step, multistep, exponential, inverse_time, polynomial,
                    linear, constant, cosine, cosine_restarts, warmup_cosine, warmup_factor)
     >>onecycle     trainopt_lr_onecycle, trainopt_momentum_onecycle
     >>cyclic       trainopt_lr_cyclic, trainopt_momentum_cyclic
     >>schedule     trainopt_schedule, trainopt_schedule_lr, trainopt_lr_join
     >>parse        trainopt_schedule_parse, _parse_msg, _parse_join
     >>plateau      trainopt_plateau_init, trainopt_plateau_step (ReduceLROnPlateau)
     >>math         the library's own vector exp, log, log1p
     >>sumblock     the blocked canonical reduction of the losses and gradient utilities
     >>regularization trainopt_l1l2_penalty, trainopt_l1l2_grad
     >>gradutil     trainopt_clip_grad_value, trainopt_grad_unscale, trainopt_sum_squares,
                    trainopt_grad_norm, trainopt_clip_grad_norm
     >>mse          trainopt_mse_loss, trainopt_bce_with_logits
     >>softmax_ce   trainopt_softmax_cross_entropy
     >>vecmath      sin/cos and erfinv for the generator
     >>philox       Philox4x32-10 on vector lanes
     >>rng          the element-to-word mapping shared by every random kernel
     >>rand         trainopt_rand_u32, trainopt_rand_uniform, trainopt_rand_normal
     >>dropout      trainopt_dropout_forward, trainopt_dropout_backward
     >>init         trainopt_calculate_gain, _fans, xavier/kaiming uniform and normal, trunc_normal
     >>batchnorm    trainopt_batchnorm_forward_train, _forward_infer, _backward, _fold
     >>dispatch     runtime dispatch (TRAINOPT_DISPATCH): the variants, the choice, the wrappers

   COMPILE-TIME OPTIONS
     TRAINOPT_API         storage class of every function; default `static inline`
                          (each translation unit gets private copies; no link step).
     TRAINOPT_NO_SIMD     force the scalar backend (same results, several times slower).
     TRAINOPT_NO_AVX512   cap x86 at AVX2+FMA even where -mavx512f is given
                          (useful where 512-bit code lowers the clock).
     TRAINOPT_SIMDE_NEON  testing only: the NEON backend through SIMDe on any CPU.
     TRAINOPT_STREAM_BYTES  batch-norm and dropout outputs of at least this many bytes
                          (default 16 MiB) are written with non-temporal stores on x86
                          (dropout: where y + the first whole group is vector-aligned);
                          SIZE_MAX: never.
     TRAINOPT_ALLOW_FAST_MATH  silence the warning under -ffast-math (which voids
                          the NaN and bit-identity guarantees).
     TRAINOPT_DISPATCH    runtime dispatch on x86-64 with gcc or clang (below); ignored
                          elsewhere. Costs compile time (each kernel the unit calls is
                          compiled three times) and an indirect call per kernel call.

   RUNTIME DISPATCH (TRAINOPT_DISPATCH)
     With #define TRAINOPT_DISPATCH before the include, on x86-64 under gcc or clang,
     the kernels are compiled three times in the including translation unit: the
     scalar variant with the unit's own flags, the avx2 and avx512 variants under
     target pragmas (no -m flags needed: build for baseline x86-64). At the first call
     of a kernel the best variant the CPU and OS support is chosen (cpuid, through
     __builtin_cpu_supports) and kept for the life of the process; each public
     function is a wrapper calling the chosen variant through a function pointer.
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
     Defaults are PyTorch's: TRAINOPT_SGD_DEFAULTS (lr 1e-3: PyTorch 1.13 has no
     default lr for SGD; 2.x uses 1e-3), TRAINOPT_ADAGRAD_DEFAULTS (lr 1e-2, eps 1e-10),
     TRAINOPT_RMSPROP_DEFAULTS (lr 1e-2, alpha 0.99, eps 1e-8), TRAINOPT_ADAM_DEFAULTS
     (lr 1e-3, betas 0.9/0.999, eps 1e-8), TRAINOPT_ADAMW_DEFAULTS (the same, wd 1e-2).
     State arrays other than Adagrad's start at zero.

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
     take, a missing or repeated field, a bad number, or a value out of range.
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

   ERRORS (all families)
     Every kernel returns trainopt_status and checks all of its arguments before
     it writes anything: on an error, not one element of any output or state has
     changed. n == 0 is a successful no-op (pointers may then be NULL).
       TRAINOPT_ERR_NULL    a required pointer is NULL, or state the config needs is missing
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
#ifndef TRAINOPT_H
#define TRAINOPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h> /* strtod, for trainopt_schedule_parse; getenv, for TRAINOPT_MAX_BACKEND */
#include <math.h>

#define TRAINOPT_VERSION_MAJOR 0
#define TRAINOPT_VERSION_MINOR 1
#define TRAINOPT_VERSION_PATCH 0

#ifndef TRAINOPT_API
#define TRAINOPT_API static inline
#endif

/* Outputs (batch norm's y and dx, dropout's y) of at least this many bytes are
   written with streaming stores: they do not fit in cache with their inputs, so
   caching them only evicts data. Define it before including trainopt.h to change
   it (SIZE_MAX: never). */
#ifndef TRAINOPT_STREAM_BYTES
#define TRAINOPT_STREAM_BYTES ((size_t)16 << 20)
#endif

/* >>dispatch-setup: with TRAINOPT_DISPATCH (x86-64, gcc or clang) the code from >>status
   to >>batchnorm is compiled once per variant (>>dispatch at the end of this file). This
   first pass is the scalar variant, built with the unit's own flags; private names keep
   their spelling in it, public functions get the prefix trainopt__scalar_. */
#if defined(TRAINOPT_DISPATCH) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(TRAINOPT_NO_SIMD) && !defined(TRAINOPT_SIMDE_NEON)
#define TRAINOPT__DISPATCHING 1
#define TRAINOPT__VARIANT_SCALAR 1
#define TRAINOPT__CAT_(a, b) a##b
#define TRAINOPT__CAT(a, b) TRAINOPT__CAT_(a, b)
#define TRAINOPT__PRIVATE(name) TRAINOPT__CAT(TRAINOPT__PRIVATE_PREFIX, name)
#define TRAINOPT__PUBLIC(name) TRAINOPT__CAT(TRAINOPT__PUBLIC_PREFIX, name)
#define TRAINOPT__PRIVATE_PREFIX
#define TRAINOPT__PUBLIC_PREFIX trainopt__scalar_
/* The intrinsics once, outside any target pragma and outside extern "C". */
#if defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
#pragma GCC diagnostic push /* as in trainopt_simd.h: GCC bug 105593 */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#endif

/* >>dispatch-names: generated by tools/gen_dispatch.py; do not edit by hand. */
#if defined(TRAINOPT__DISPATCHING)
#define trainopt__acc16 TRAINOPT__PRIVATE(trainopt__acc16)
#define trainopt__acc16_sum TRAINOPT__PRIVATE(trainopt__acc16_sum)
#define trainopt__acc16_zero TRAINOPT__PRIVATE(trainopt__acc16_zero)
#define trainopt__adagrad_check TRAINOPT__PRIVATE(trainopt__adagrad_check)
#define trainopt__adagrad_lanes TRAINOPT__PRIVATE(trainopt__adagrad_lanes)
#define trainopt__adagrad_loop TRAINOPT__PRIVATE(trainopt__adagrad_loop)
#define trainopt__adagrad_run TRAINOPT__PRIVATE(trainopt__adagrad_run)
#define trainopt__adagrad_scalars TRAINOPT__PRIVATE(trainopt__adagrad_scalars)
#define trainopt__adam_lanes TRAINOPT__PRIVATE(trainopt__adam_lanes)
#define trainopt__adam_loop TRAINOPT__PRIVATE(trainopt__adam_loop)
#define trainopt__adam_run TRAINOPT__PRIVATE(trainopt__adam_run)
#define trainopt__adam_scalars TRAINOPT__PRIVATE(trainopt__adam_scalars)
#define trainopt__arrays TRAINOPT__PRIVATE(trainopt__arrays)
#define trainopt__bad TRAINOPT__PRIVATE(trainopt__bad)
#define trainopt__batch TRAINOPT__PRIVATE(trainopt__batch)
#define trainopt__batch_at TRAINOPT__PRIVATE(trainopt__batch_at)
#define trainopt__bitw TRAINOPT__PRIVATE(trainopt__bitw)
#define trainopt__bitw_flush TRAINOPT__PRIVATE(trainopt__bitw_flush)
#define trainopt__bitw_put TRAINOPT__PRIVATE(trainopt__bitw_put)
#define trainopt__bitw_put64 TRAINOPT__PRIVATE(trainopt__bitw_put64)
#define trainopt__bn_accum TRAINOPT__PRIVATE(trainopt__bn_accum)
#define trainopt__bn_backward_coefs TRAINOPT__PRIVATE(trainopt__bn_backward_coefs)
#define trainopt__bn_backward_nchw TRAINOPT__PRIVATE(trainopt__bn_backward_nchw)
#define trainopt__bn_backward_nchw_channel TRAINOPT__PRIVATE(trainopt__bn_backward_nchw_channel)
#define trainopt__bn_backward_nchw_channels TRAINOPT__PRIVATE(trainopt__bn_backward_nchw_channels)
#define trainopt__bn_backward_nhwc TRAINOPT__PRIVATE(trainopt__bn_backward_nhwc)
#define trainopt__bn_block TRAINOPT__PRIVATE(trainopt__bn_block)
#define trainopt__bn_block_at TRAINOPT__PRIVATE(trainopt__bn_block_at)
#define trainopt__bn_block_group TRAINOPT__PRIVATE(trainopt__bn_block_group)
#define trainopt__bn_blocks TRAINOPT__PRIVATE(trainopt__bn_blocks)
#define trainopt__bn_blocks_of TRAINOPT__PRIVATE(trainopt__bn_blocks_of)
#define trainopt__bn_channel_group TRAINOPT__PRIVATE(trainopt__bn_channel_group)
#define trainopt__bn_check_config TRAINOPT__PRIVATE(trainopt__bn_check_config)
#define trainopt__bn_check_overlap TRAINOPT__PRIVATE(trainopt__bn_check_overlap)
#define trainopt__bn_dx TRAINOPT__PRIVATE(trainopt__bn_dx)
#define trainopt__bn_elem_out TRAINOPT__PRIVATE(trainopt__bn_elem_out)
#define trainopt__bn_elem_rows TRAINOPT__PRIVATE(trainopt__bn_elem_rows)
#define trainopt__bn_elem_vec TRAINOPT__PRIVATE(trainopt__bn_elem_vec)
#define trainopt__bn_f TRAINOPT__PRIVATE(trainopt__bn_f)
#define trainopt__bn_finish TRAINOPT__PRIVATE(trainopt__bn_finish)
#define trainopt__bn_getd TRAINOPT__PRIVATE(trainopt__bn_getd)
#define trainopt__bn_grad TRAINOPT__PRIVATE(trainopt__bn_grad)
#define trainopt__bn_group TRAINOPT__PRIVATE(trainopt__bn_group)
#define trainopt__bn_group_dots TRAINOPT__PRIVATE(trainopt__bn_group_dots)
#define trainopt__bn_group_stats TRAINOPT__PRIVATE(trainopt__bn_group_stats)
#define trainopt__bn_group_sweep TRAINOPT__PRIVATE(trainopt__bn_group_sweep)
#define trainopt__bn_head TRAINOPT__PRIVATE(trainopt__bn_head)
#define trainopt__bn_infer_coefs TRAINOPT__PRIVATE(trainopt__bn_infer_coefs)
#define trainopt__bn_merge TRAINOPT__PRIVATE(trainopt__bn_merge)
#define trainopt__bn_min TRAINOPT__PRIVATE(trainopt__bn_min)
#define trainopt__bn_norm TRAINOPT__PRIVATE(trainopt__bn_norm)
#define trainopt__bn_out_state TRAINOPT__PRIVATE(trainopt__bn_out_state)
#define trainopt__bn_out_usable TRAINOPT__PRIVATE(trainopt__bn_out_usable)
#define trainopt__bn_params TRAINOPT__PRIVATE(trainopt__bn_params)
#define trainopt__bn_row_dx TRAINOPT__PRIVATE(trainopt__bn_row_dx)
#define trainopt__bn_row_dx_vec TRAINOPT__PRIVATE(trainopt__bn_row_dx_vec)
#define trainopt__bn_row_norm TRAINOPT__PRIVATE(trainopt__bn_row_norm)
#define trainopt__bn_row_norm_v TRAINOPT__PRIVATE(trainopt__bn_row_norm_v)
#define trainopt__bn_scratch_floats TRAINOPT__PRIVATE(trainopt__bn_scratch_floats)
#define trainopt__bn_setd TRAINOPT__PRIVATE(trainopt__bn_setd)
#define trainopt__bn_span TRAINOPT__PRIVATE(trainopt__bn_span)
#define trainopt__bn_state TRAINOPT__PRIVATE(trainopt__bn_state)
#define trainopt__bn_state_dots TRAINOPT__PRIVATE(trainopt__bn_state_dots)
#define trainopt__bn_state_group TRAINOPT__PRIVATE(trainopt__bn_state_group)
#define trainopt__bn_state_stats TRAINOPT__PRIVATE(trainopt__bn_state_stats)
#define trainopt__bn_state_sweep TRAINOPT__PRIVATE(trainopt__bn_state_sweep)
#define trainopt__bn_state_tree TRAINOPT__PRIVATE(trainopt__bn_state_tree)
#define trainopt__bn_state_zero TRAINOPT__PRIVATE(trainopt__bn_state_zero)
#define trainopt__bn_stride TRAINOPT__PRIVATE(trainopt__bn_stride)
#define trainopt__bn_tile TRAINOPT__PRIVATE(trainopt__bn_tile)
#define trainopt__bn_tile_state TRAINOPT__PRIVATE(trainopt__bn_tile_state)
#define trainopt__bn_train_nchw TRAINOPT__PRIVATE(trainopt__bn_train_nchw)
#define trainopt__bn_train_nchw_channel TRAINOPT__PRIVATE(trainopt__bn_train_nchw_channel)
#define trainopt__bn_train_nchw_channels TRAINOPT__PRIVATE(trainopt__bn_train_nchw_channels)
#define trainopt__bn_train_nhwc TRAINOPT__PRIVATE(trainopt__bn_train_nhwc)
#define trainopt__bn_view TRAINOPT__PRIVATE(trainopt__bn_view)
#define trainopt__bn_width TRAINOPT__PRIVATE(trainopt__bn_width)
#define trainopt__box_muller TRAINOPT__PRIVATE(trainopt__box_muller)
#define trainopt__ce_grad_lanes TRAINOPT__PRIVATE(trainopt__ce_grad_lanes)
#define trainopt__check_arrays TRAINOPT__PRIVATE(trainopt__check_arrays)
#define trainopt__check_out TRAINOPT__PRIVATE(trainopt__check_out)
#define trainopt__check_tensors TRAINOPT__PRIVATE(trainopt__check_tensors)
#define trainopt__count_nonfinite TRAINOPT__PRIVATE(trainopt__count_nonfinite)
#define trainopt__dropout_apply TRAINOPT__PRIVATE(trainopt__dropout_apply)
#define trainopt__dropout_batch TRAINOPT__PRIVATE(trainopt__dropout_batch)
#define trainopt__dropout_check TRAINOPT__PRIVATE(trainopt__dropout_check)
#define trainopt__dropout_groups TRAINOPT__PRIVATE(trainopt__dropout_groups)
#define trainopt__dropout_lanes TRAINOPT__PRIVATE(trainopt__dropout_lanes)
#define trainopt__dropout_mask_lanes TRAINOPT__PRIVATE(trainopt__dropout_mask_lanes)
#define trainopt__dropout_mask_loop TRAINOPT__PRIVATE(trainopt__dropout_mask_loop)
#define trainopt__dropout_partial TRAINOPT__PRIVATE(trainopt__dropout_partial)
#define trainopt__dropout_threshold TRAINOPT__PRIVATE(trainopt__dropout_threshold)
#define trainopt__dropout_ties TRAINOPT__PRIVATE(trainopt__dropout_ties)
#define trainopt__dropout_word TRAINOPT__PRIVATE(trainopt__dropout_word)
#define trainopt__erf TRAINOPT__PRIVATE(trainopt__erf)
#define trainopt__ew_lanes TRAINOPT__PRIVATE(trainopt__ew_lanes)
#define trainopt__ew_loop TRAINOPT__PRIVATE(trainopt__ew_loop)
#define trainopt__exp_reduced TRAINOPT__PRIVATE(trainopt__exp_reduced)
#define trainopt__fill TRAINOPT__PRIVATE(trainopt__fill)
#define trainopt__finite TRAINOPT__PRIVATE(trainopt__finite)
#define trainopt__float_range TRAINOPT__PRIVATE(trainopt__float_range)
#define trainopt__grad_in TRAINOPT__PRIVATE(trainopt__grad_in)
#define trainopt__grad_in_make TRAINOPT__PRIVATE(trainopt__grad_in_make)
#define trainopt__grad_load TRAINOPT__PRIVATE(trainopt__grad_load)
#define trainopt__half16 TRAINOPT__PRIVATE(trainopt__half16)
#define trainopt__has_nan TRAINOPT__PRIVATE(trainopt__has_nan)
#define trainopt__in_01 TRAINOPT__PRIVATE(trainopt__in_01)
#define trainopt__init_fill TRAINOPT__PRIVATE(trainopt__init_fill)
#define trainopt__kaiming TRAINOPT__PRIVATE(trainopt__kaiming)
#define trainopt__kaiming_std TRAINOPT__PRIVATE(trainopt__kaiming_std)
#define trainopt__l1l2_lanes TRAINOPT__PRIVATE(trainopt__l1l2_lanes)
#define trainopt__l1l2_loop TRAINOPT__PRIVATE(trainopt__l1l2_loop)
#define trainopt__l1l2_scalars TRAINOPT__PRIVATE(trainopt__l1l2_scalars)
#define trainopt__lane_index TRAINOPT__PRIVATE(trainopt__lane_index)
#define trainopt__log_scalar TRAINOPT__PRIVATE(trainopt__log_scalar)
#define trainopt__m_and TRAINOPT__PRIVATE(trainopt__m_and)
#define trainopt__m_bits TRAINOPT__PRIVATE(trainopt__m_bits)
#define trainopt__m_first TRAINOPT__PRIVATE(trainopt__m_first)
#define trainopt__m_not TRAINOPT__PRIVATE(trainopt__m_not)
#define trainopt__m_or TRAINOPT__PRIVATE(trainopt__m_or)
#define trainopt__mask_fill TRAINOPT__PRIVATE(trainopt__mask_fill)
#define trainopt__mask_read TRAINOPT__PRIVATE(trainopt__mask_read)
#define trainopt__mul_rounded TRAINOPT__PRIVATE(trainopt__mul_rounded)
#define trainopt__nonneg TRAINOPT__PRIVATE(trainopt__nonneg)
#define trainopt__norm_finish TRAINOPT__PRIVATE(trainopt__norm_finish)
#define trainopt__normal_pair TRAINOPT__PRIVATE(trainopt__normal_pair)
#define trainopt__overlap TRAINOPT__PRIVATE(trainopt__overlap)
#define trainopt__partial_overlap TRAINOPT__PRIVATE(trainopt__partial_overlap)
#define trainopt__philox4x32 TRAINOPT__PRIVATE(trainopt__philox4x32)
#define trainopt__philox_blocks TRAINOPT__PRIVATE(trainopt__philox_blocks)
#define trainopt__philox_blocks2 TRAINOPT__PRIVATE(trainopt__philox_blocks2)
#define trainopt__philox_key TRAINOPT__PRIVATE(trainopt__philox_key)
#define trainopt__philox_key_init TRAINOPT__PRIVATE(trainopt__philox_key_init)
#define trainopt__philox_round TRAINOPT__PRIVATE(trainopt__philox_round)
#define trainopt__pick_word TRAINOPT__PRIVATE(trainopt__pick_word)
#define trainopt__pointwise_loss TRAINOPT__PRIVATE(trainopt__pointwise_loss)
#define trainopt__popcount TRAINOPT__PRIVATE(trainopt__popcount)
#define trainopt__powi TRAINOPT__PRIVATE(trainopt__powi)
#define trainopt__red_args TRAINOPT__PRIVATE(trainopt__red_args)
#define trainopt__red_lanes TRAINOPT__PRIVATE(trainopt__red_lanes)
#define trainopt__red_run TRAINOPT__PRIVATE(trainopt__red_run)
#define trainopt__rmsprop_lanes TRAINOPT__PRIVATE(trainopt__rmsprop_lanes)
#define trainopt__rmsprop_loop TRAINOPT__PRIVATE(trainopt__rmsprop_loop)
#define trainopt__rmsprop_run TRAINOPT__PRIVATE(trainopt__rmsprop_run)
#define trainopt__rmsprop_scalars TRAINOPT__PRIVATE(trainopt__rmsprop_scalars)
#define trainopt__rng_batch TRAINOPT__PRIVATE(trainopt__rng_batch)
#define trainopt__rng_groups TRAINOPT__PRIVATE(trainopt__rng_groups)
#define trainopt__rng_init TRAINOPT__PRIVATE(trainopt__rng_init)
#define trainopt__rng_io TRAINOPT__PRIVATE(trainopt__rng_io)
#define trainopt__rng_one TRAINOPT__PRIVATE(trainopt__rng_one)
#define trainopt__rng_partial TRAINOPT__PRIVATE(trainopt__rng_partial)
#define trainopt__rng_run TRAINOPT__PRIVATE(trainopt__rng_run)
#define trainopt__rng_scalars TRAINOPT__PRIVATE(trainopt__rng_scalars)
#define trainopt__row_max TRAINOPT__PRIVATE(trainopt__row_max)
#define trainopt__scale_lanes TRAINOPT__PRIVATE(trainopt__scale_lanes)
#define trainopt__scale_loop TRAINOPT__PRIVATE(trainopt__scale_loop)
#define trainopt__sgd_lanes TRAINOPT__PRIVATE(trainopt__sgd_lanes)
#define trainopt__sgd_loop TRAINOPT__PRIVATE(trainopt__sgd_loop)
#define trainopt__sgd_run TRAINOPT__PRIVATE(trainopt__sgd_run)
#define trainopt__sgd_scalars TRAINOPT__PRIVATE(trainopt__sgd_scalars)
#define trainopt__step_opts_check TRAINOPT__PRIVATE(trainopt__step_opts_check)
#define trainopt__store_scalar TRAINOPT__PRIVATE(trainopt__store_scalar)
#define trainopt__stream_fence TRAINOPT__PRIVATE(trainopt__stream_fence)
#define trainopt__sumsq_run TRAINOPT__PRIVATE(trainopt__sumsq_run)
#define trainopt__trunc_normal_scalars TRAINOPT__PRIVATE(trainopt__trunc_normal_scalars)
#define trainopt__u24 TRAINOPT__PRIVATE(trainopt__u24)
#define trainopt__v_abs TRAINOPT__PRIVATE(trainopt__v_abs)
#define trainopt__v_add TRAINOPT__PRIVATE(trainopt__v_add)
#define trainopt__v_bits TRAINOPT__PRIVATE(trainopt__v_bits)
#define trainopt__v_canon_nan TRAINOPT__PRIVATE(trainopt__v_canon_nan)
#define trainopt__v_div TRAINOPT__PRIVATE(trainopt__v_div)
#define trainopt__v_eq TRAINOPT__PRIVATE(trainopt__v_eq)
#define trainopt__v_erfinv TRAINOPT__PRIVATE(trainopt__v_erfinv)
#define trainopt__v_exp TRAINOPT__PRIVATE(trainopt__v_exp)
#define trainopt__v_fma TRAINOPT__PRIVATE(trainopt__v_fma)
#define trainopt__v_fnma TRAINOPT__PRIVATE(trainopt__v_fnma)
#define trainopt__v_from_bits TRAINOPT__PRIVATE(trainopt__v_from_bits)
#define trainopt__v_keep_first TRAINOPT__PRIVATE(trainopt__v_keep_first)
#define trainopt__v_le TRAINOPT__PRIVATE(trainopt__v_le)
#define trainopt__v_load TRAINOPT__PRIVATE(trainopt__v_load)
#define trainopt__v_load_n TRAINOPT__PRIVATE(trainopt__v_load_n)
#define trainopt__v_log TRAINOPT__PRIVATE(trainopt__v_log)
#define trainopt__v_log1p TRAINOPT__PRIVATE(trainopt__v_log1p)
#define trainopt__v_lt TRAINOPT__PRIVATE(trainopt__v_lt)
#define trainopt__v_max TRAINOPT__PRIVATE(trainopt__v_max)
#define trainopt__v_max_nan TRAINOPT__PRIVATE(trainopt__v_max_nan)
#define trainopt__v_min TRAINOPT__PRIVATE(trainopt__v_min)
#define trainopt__v_mul TRAINOPT__PRIVATE(trainopt__v_mul)
#define trainopt__v_pow2i TRAINOPT__PRIVATE(trainopt__v_pow2i)
#define trainopt__v_round TRAINOPT__PRIVATE(trainopt__v_round)
#define trainopt__v_select TRAINOPT__PRIVATE(trainopt__v_select)
#define trainopt__v_set1 TRAINOPT__PRIVATE(trainopt__v_set1)
#define trainopt__v_sincos2pi TRAINOPT__PRIVATE(trainopt__v_sincos2pi)
#define trainopt__v_sqrt TRAINOPT__PRIVATE(trainopt__v_sqrt)
#define trainopt__v_store TRAINOPT__PRIVATE(trainopt__v_store)
#define trainopt__v_store_n TRAINOPT__PRIVATE(trainopt__v_store_n)
#define trainopt__v_stream TRAINOPT__PRIVATE(trainopt__v_stream)
#define trainopt__v_sub TRAINOPT__PRIVATE(trainopt__v_sub)
#define trainopt__v_to_i TRAINOPT__PRIVATE(trainopt__v_to_i)
#define trainopt__v_unord TRAINOPT__PRIVATE(trainopt__v_unord)
#define trainopt__v_xor_bits TRAINOPT__PRIVATE(trainopt__v_xor_bits)
#define trainopt__v_zero TRAINOPT__PRIVATE(trainopt__v_zero)
#define trainopt__vf TRAINOPT__PRIVATE(trainopt__vf)
#define trainopt__vi TRAINOPT__PRIVATE(trainopt__vi)
#define trainopt__vi_add TRAINOPT__PRIVATE(trainopt__vi_add)
#define trainopt__vi_and TRAINOPT__PRIVATE(trainopt__vi_and)
#define trainopt__vi_andnot TRAINOPT__PRIVATE(trainopt__vi_andnot)
#define trainopt__vi_any TRAINOPT__PRIVATE(trainopt__vi_any)
#define trainopt__vi_ge TRAINOPT__PRIVATE(trainopt__vi_ge)
#define trainopt__vi_iota TRAINOPT__PRIVATE(trainopt__vi_iota)
#define trainopt__vi_lane_bits TRAINOPT__PRIVATE(trainopt__vi_lane_bits)
#define trainopt__vi_lt TRAINOPT__PRIVATE(trainopt__vi_lt)
#define trainopt__vi_mul_wide TRAINOPT__PRIVATE(trainopt__vi_mul_wide)
#define trainopt__vi_mullo TRAINOPT__PRIVATE(trainopt__vi_mullo)
#define trainopt__vi_or TRAINOPT__PRIVATE(trainopt__vi_or)
#define trainopt__vi_select TRAINOPT__PRIVATE(trainopt__vi_select)
#define trainopt__vi_set1 TRAINOPT__PRIVATE(trainopt__vi_set1)
#define trainopt__vi_shl TRAINOPT__PRIVATE(trainopt__vi_shl)
#define trainopt__vi_shr TRAINOPT__PRIVATE(trainopt__vi_shr)
#define trainopt__vi_store TRAINOPT__PRIVATE(trainopt__vi_store)
#define trainopt__vi_store_n TRAINOPT__PRIVATE(trainopt__vi_store_n)
#define trainopt__vi_sub TRAINOPT__PRIVATE(trainopt__vi_sub)
#define trainopt__vi_to_f TRAINOPT__PRIVATE(trainopt__vi_to_f)
#define trainopt__vi_xor TRAINOPT__PRIVATE(trainopt__vi_xor)
#define trainopt__vm TRAINOPT__PRIVATE(trainopt__vm)
#define trainopt__xavier TRAINOPT__PRIVATE(trainopt__xavier)
#define trainopt__xavier_std TRAINOPT__PRIVATE(trainopt__xavier_std)
#define trainopt_backend TRAINOPT__PUBLIC(trainopt_backend)
#define trainopt_sgd_step TRAINOPT__PUBLIC(trainopt_sgd_step)
#define trainopt_sgd_step_ex TRAINOPT__PUBLIC(trainopt_sgd_step_ex)
#define trainopt_adagrad_init TRAINOPT__PUBLIC(trainopt_adagrad_init)
#define trainopt_adagrad_step TRAINOPT__PUBLIC(trainopt_adagrad_step)
#define trainopt_adagrad_step_ex TRAINOPT__PUBLIC(trainopt_adagrad_step_ex)
#define trainopt_rmsprop_step TRAINOPT__PUBLIC(trainopt_rmsprop_step)
#define trainopt_rmsprop_step_ex TRAINOPT__PUBLIC(trainopt_rmsprop_step_ex)
#define trainopt_adam_step TRAINOPT__PUBLIC(trainopt_adam_step)
#define trainopt_adamw_step TRAINOPT__PUBLIC(trainopt_adamw_step)
#define trainopt_adam_step_ex TRAINOPT__PUBLIC(trainopt_adam_step_ex)
#define trainopt_adamw_step_ex TRAINOPT__PUBLIC(trainopt_adamw_step_ex)
#define trainopt_l1l2_penalty TRAINOPT__PUBLIC(trainopt_l1l2_penalty)
#define trainopt_l1l2_grad TRAINOPT__PUBLIC(trainopt_l1l2_grad)
#define trainopt_clip_grad_value TRAINOPT__PUBLIC(trainopt_clip_grad_value)
#define trainopt_grad_unscale TRAINOPT__PUBLIC(trainopt_grad_unscale)
#define trainopt_sum_squares TRAINOPT__PUBLIC(trainopt_sum_squares)
#define trainopt_grad_norm TRAINOPT__PUBLIC(trainopt_grad_norm)
#define trainopt_clip_grad_norm TRAINOPT__PUBLIC(trainopt_clip_grad_norm)
#define trainopt_mse_loss TRAINOPT__PUBLIC(trainopt_mse_loss)
#define trainopt_bce_with_logits TRAINOPT__PUBLIC(trainopt_bce_with_logits)
#define trainopt_softmax_cross_entropy TRAINOPT__PUBLIC(trainopt_softmax_cross_entropy)
#define trainopt_rand_u32 TRAINOPT__PUBLIC(trainopt_rand_u32)
#define trainopt_rand_uniform TRAINOPT__PUBLIC(trainopt_rand_uniform)
#define trainopt_rand_normal TRAINOPT__PUBLIC(trainopt_rand_normal)
#define trainopt_dropout_forward TRAINOPT__PUBLIC(trainopt_dropout_forward)
#define trainopt_dropout_backward TRAINOPT__PUBLIC(trainopt_dropout_backward)
#define trainopt_calculate_gain TRAINOPT__PUBLIC(trainopt_calculate_gain)
#define trainopt_calculate_fans TRAINOPT__PUBLIC(trainopt_calculate_fans)
#define trainopt_xavier_uniform TRAINOPT__PUBLIC(trainopt_xavier_uniform)
#define trainopt_xavier_normal TRAINOPT__PUBLIC(trainopt_xavier_normal)
#define trainopt_kaiming_uniform TRAINOPT__PUBLIC(trainopt_kaiming_uniform)
#define trainopt_kaiming_normal TRAINOPT__PUBLIC(trainopt_kaiming_normal)
#define trainopt_trunc_normal TRAINOPT__PUBLIC(trainopt_trunc_normal)
#define trainopt_batchnorm_forward_train TRAINOPT__PUBLIC(trainopt_batchnorm_forward_train)
#define trainopt_batchnorm_forward_infer TRAINOPT__PUBLIC(trainopt_batchnorm_forward_infer)
#define trainopt_batchnorm_backward TRAINOPT__PUBLIC(trainopt_batchnorm_backward)
#define trainopt_batchnorm_fold TRAINOPT__PUBLIC(trainopt_batchnorm_fold)
#define TRAINOPT__DISPATCHED(X) \
    X(const char *, trainopt_backend, (void), ()) \
    X(trainopt_status, trainopt_sgd_step, (const trainopt_sgd_config *c, int64_t step, size_t n, float *param, const float *grad, float *momentum_buf), (c, step, n, param, grad, momentum_buf)) \
    X(trainopt_status, trainopt_sgd_step_ex, (const trainopt_sgd_config *c, int64_t step, size_t n, float *param, const float *grad, float *momentum_buf, const trainopt_step_opts *o), (c, step, n, param, grad, momentum_buf, o)) \
    X(trainopt_status, trainopt_adagrad_init, (const trainopt_adagrad_config *c, size_t n, float *state_sum), (c, n, state_sum)) \
    X(trainopt_status, trainopt_adagrad_step, (const trainopt_adagrad_config *c, int64_t step, size_t n, float *param, const float *grad, float *state_sum), (c, step, n, param, grad, state_sum)) \
    X(trainopt_status, trainopt_adagrad_step_ex, (const trainopt_adagrad_config *c, int64_t step, size_t n, float *param, const float *grad, float *state_sum, const trainopt_step_opts *o), (c, step, n, param, grad, state_sum, o)) \
    X(trainopt_status, trainopt_rmsprop_step, (const trainopt_rmsprop_config *c, int64_t step, size_t n, float *param, const float *grad, float *square_avg, float *momentum_buf, float *grad_avg), (c, step, n, param, grad, square_avg, momentum_buf, grad_avg)) \
    X(trainopt_status, trainopt_rmsprop_step_ex, (const trainopt_rmsprop_config *c, int64_t step, size_t n, float *param, const float *grad, float *square_avg, float *momentum_buf, float *grad_avg, const trainopt_step_opts *o), (c, step, n, param, grad, square_avg, momentum_buf, grad_avg, o)) \
    X(trainopt_status, trainopt_adam_step, (const trainopt_adam_config *c, int64_t step, size_t n, float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq), (c, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)) \
    X(trainopt_status, trainopt_adamw_step, (const trainopt_adam_config *c, int64_t step, size_t n, float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq), (c, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)) \
    X(trainopt_status, trainopt_adam_step_ex, (const trainopt_adam_config *c, int64_t step, size_t n, float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq, const trainopt_step_opts *o), (c, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o)) \
    X(trainopt_status, trainopt_adamw_step_ex, (const trainopt_adam_config *c, int64_t step, size_t n, float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq, const trainopt_step_opts *o), (c, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o)) \
    X(trainopt_status, trainopt_l1l2_penalty, (size_t n, const float *param, double l1, double l2, float *penalty), (n, param, l1, l2, penalty)) \
    X(trainopt_status, trainopt_l1l2_grad, (size_t n, const float *param, float *grad, double l1, double l2), (n, param, grad, l1, l2)) \
    X(trainopt_status, trainopt_clip_grad_value, (size_t n, float *grad, double clip_value), (n, grad, clip_value)) \
    X(trainopt_status, trainopt_grad_unscale, (size_t n, float *grad, float inv_scale, int *found_inf), (n, grad, inv_scale, found_inf)) \
    X(trainopt_status, trainopt_sum_squares, (size_t k, const float *const *xs, const size_t *lens, double *sum, size_t *nonfinite), (k, xs, lens, sum, nonfinite)) \
    X(trainopt_status, trainopt_grad_norm, (size_t k, float *const *grads, const size_t *lens, float inv_scale, double max_norm, trainopt_grad_norm_info *info), (k, grads, lens, inv_scale, max_norm, info)) \
    X(trainopt_status, trainopt_clip_grad_norm, (size_t k, float *const *grads, const size_t *lens, double max_norm, float *total_norm), (k, grads, lens, max_norm, total_norm)) \
    X(trainopt_status, trainopt_mse_loss, (size_t n, const float *pred, const float *target, float *loss, float *grad), (n, pred, target, loss, grad)) \
    X(trainopt_status, trainopt_bce_with_logits, (size_t n, const float *logits, const float *target, float *loss, float *grad), (n, logits, target, loss, grad)) \
    X(trainopt_status, trainopt_softmax_cross_entropy, (size_t batch, size_t classes, const float *logits, const int32_t *labels, int32_t ignore_index, double label_smoothing, float *loss, float *grad), (batch, classes, logits, labels, ignore_index, label_smoothing, loss, grad)) \
    X(trainopt_status, trainopt_rand_u32, (uint64_t seed, uint64_t offset, size_t n, uint32_t *out), (seed, offset, n, out)) \
    X(trainopt_status, trainopt_rand_uniform, (uint64_t seed, uint64_t offset, size_t n, double lo, double hi, float *out), (seed, offset, n, lo, hi, out)) \
    X(trainopt_status, trainopt_rand_normal, (uint64_t seed, uint64_t offset, size_t n, double mean, double std, float *out), (seed, offset, n, mean, std, out)) \
    X(trainopt_status, trainopt_dropout_forward, (double p, uint64_t seed, uint64_t offset, size_t n, const float *x, float *y, uint8_t *mask), (p, seed, offset, n, x, y, mask)) \
    X(trainopt_status, trainopt_dropout_backward, (double p, uint64_t seed, uint64_t offset, size_t n, const float *dy, float *dx, const uint8_t *mask), (p, seed, offset, n, dy, dx, mask)) \
    X(double, trainopt_calculate_gain, (trainopt_nonlinearity nl, double param), (nl, param)) \
    X(trainopt_status, trainopt_calculate_fans, (size_t ndim, const size_t *shape, size_t *fan_in, size_t *fan_out), (ndim, shape, fan_in, fan_out)) \
    X(trainopt_status, trainopt_xavier_uniform, (uint64_t seed, uint64_t offset, size_t n, size_t fan_in, size_t fan_out, double gain, float *out), (seed, offset, n, fan_in, fan_out, gain, out)) \
    X(trainopt_status, trainopt_xavier_normal, (uint64_t seed, uint64_t offset, size_t n, size_t fan_in, size_t fan_out, double gain, float *out), (seed, offset, n, fan_in, fan_out, gain, out)) \
    X(trainopt_status, trainopt_kaiming_uniform, (const trainopt_kaiming_config *c, uint64_t seed, uint64_t offset, size_t n, size_t fan_in, size_t fan_out, float *out), (c, seed, offset, n, fan_in, fan_out, out)) \
    X(trainopt_status, trainopt_kaiming_normal, (const trainopt_kaiming_config *c, uint64_t seed, uint64_t offset, size_t n, size_t fan_in, size_t fan_out, float *out), (c, seed, offset, n, fan_in, fan_out, out)) \
    X(trainopt_status, trainopt_trunc_normal, (const trainopt_trunc_normal_config *c, uint64_t seed, uint64_t offset, size_t n, float *out), (c, seed, offset, n, out)) \
    X(trainopt_status, trainopt_batchnorm_forward_train, (const trainopt_bn_config *c, trainopt_bn_shape s, const float *x, const float *gamma, const float *beta, float *running_mean, float *running_var, float *y, float *save_mean, float *save_invstd), (c, s, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd)) \
    X(trainopt_status, trainopt_batchnorm_forward_infer, (const trainopt_bn_config *c, trainopt_bn_shape s, const float *x, const float *gamma, const float *beta, const float *running_mean, const float *running_var, float *y), (c, s, x, gamma, beta, running_mean, running_var, y)) \
    X(trainopt_status, trainopt_batchnorm_backward, (const trainopt_bn_config *c, trainopt_bn_shape s, const float *x, const float *dy, const float *gamma, const float *save_mean, const float *save_invstd, const float *y, float *dx, float *dgamma, float *dbeta), (c, s, x, dy, gamma, save_mean, save_invstd, y, dx, dgamma, dbeta)) \
    X(trainopt_status, trainopt_batchnorm_fold, (const trainopt_bn_config *c, size_t channels, const float *gamma, const float *beta, const float *running_mean, const float *running_var, float *scale, float *shift), (c, channels, gamma, beta, running_mean, running_var, scale, shift))
#endif
/* <<dispatch-names */

#include "trainopt_simd.h"

#ifdef __cplusplus
extern "C" {
#endif
#define TRAINOPT__FIRST_ENTRY 1
#endif /* TRAINOPT_H: the setup above is read once */

/* The kernels: read once, or (TRAINOPT_DISPATCH) once more per vector variant. */
#if defined(TRAINOPT__FIRST_ENTRY) || defined(TRAINOPT__VARIANT_PASS)

/* >>status: one X-macro list makes both the enum and the strings, so they cannot drift. */
#define TRAINOPT__STATUS_LIST(X)                                                     \
    X(TRAINOPT_OK, "ok")                                                             \
    X(TRAINOPT_ERR_NULL, "null pointer (or state required by the config is missing)") \
    X(TRAINOPT_ERR_HPARAM, "hyperparameter out of range or not finite")              \
    X(TRAINOPT_ERR_STEP, "step must be >= 1")                                        \
    X(TRAINOPT_ERR_SHAPE, "invalid shape (zero dimension or size overflow)")         \
    X(TRAINOPT_ERR_ALIAS, "buffers overlap")                                           \
    X(TRAINOPT_ERR_INDEX, "index out of range (a class label)")

#ifndef TRAINOPT__TYPES_DEFINED /* public types: once, though dispatch repeats this code per variant (>>dispatch) */
typedef enum trainopt_status {
#define TRAINOPT__STATUS_ENUM(name, text) name,
    TRAINOPT__STATUS_LIST(TRAINOPT__STATUS_ENUM)
#undef TRAINOPT__STATUS_ENUM
    TRAINOPT__STATUS_COUNT
} trainopt_status;
#endif

#ifndef TRAINOPT__VARIANT_PASS /* no vector code: compiled once, for the baseline ISA (>>dispatch) */
TRAINOPT_API const char *trainopt_status_str(trainopt_status s) {
    static const char *const text[] = {
#define TRAINOPT__STATUS_TEXT(name, text) text,
        TRAINOPT__STATUS_LIST(TRAINOPT__STATUS_TEXT)
#undef TRAINOPT__STATUS_TEXT
    };
    return ((unsigned)s < (unsigned)TRAINOPT__STATUS_COUNT) ? text[s] : "unknown status";
}
#endif

/* The backend this translation unit was compiled for: "avx512", "avx2", "neon", "scalar"
   (with TRAINOPT_DISPATCH: the variant chosen at run time). */
TRAINOPT_API const char *trainopt_backend(void) { return TRAINOPT_SIMD_NAME; }

/* >>validate: shared argument checks. */
TRAINOPT__FORCE_INLINE int trainopt__finite(double x) { return x - x == 0.0; } /* false for NaN and +-Inf */
TRAINOPT__FORCE_INLINE int trainopt__nonneg(double x) { return trainopt__finite(x) && x >= 0.0; }
TRAINOPT__FORCE_INLINE int trainopt__in_01(double x) { return trainopt__finite(x) && x >= 0.0 && x < 1.0; } /* [0, 1) */

/* Whether two byte ranges share a byte (empty ranges share none). */
TRAINOPT__FORCE_INLINE int trainopt__overlap(const void *a, size_t abytes, const void *b, size_t bbytes) {
    const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return abytes && bbytes && x < y + bbytes && y < x + abytes;
}

/* A set of arrays of n floats each; NULL entries are absent (state not in use). */
typedef struct {
    const void *ptr[6];
    int count;
} trainopt__arrays;

/* NULL check, size check and pairwise-disjointness check of the arrays a kernel writes or reads. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__check_arrays(const trainopt__arrays *a, size_t n) {
    int i, j;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    for (i = 0; i < a->count; i++)
        if (a->ptr[i] == NULL) return TRAINOPT_ERR_NULL;
    for (i = 0; i < a->count; i++)
        for (j = i + 1; j < a->count; j++)
            if (trainopt__overlap(a->ptr[i], n * sizeof(float), a->ptr[j], n * sizeof(float))) return TRAINOPT_ERR_ALIAS;
    return TRAINOPT_OK;
}

/* beta^step by repeated squaring: libm pow may differ in the last bit between
   platforms, and bias corrections must be the same everywhere. */
TRAINOPT__FORCE_INLINE double trainopt__powi(double base, int64_t e) {
    double r = 1.0;
    while (e > 0) {
        if (e & 1) r *= base;
        base *= base;
        e >>= 1;
    }
    return r;
}

/* >>stepopts: the fused step. Every optimizer has an _ex form taking these options. */
#ifndef TRAINOPT__TYPES_DEFINED
typedef struct {
    double grad_scale;      /* every gradient is multiplied by (float)grad_scale before use: fold AMP's
                               1/loss_scale and clip_grad_norm's coefficient into this one number; 1 = none */
    const int *found_inf;   /* when non-NULL and *found_inf != 0 the step is skipped: nothing is read or
                               written and the call returns TRAINOPT_OK (AMP's GradScaler skip) */
    size_t *nonfinite;      /* when non-NULL, receives the number of scaled gradients that are NaN or +-Inf */
} trainopt_step_opts;
#define TRAINOPT_STEP_OPTS_DEFAULTS {1.0, NULL, NULL}
#endif

/* How a kernel reads its gradient: times `scale` when scaled, negated by xor with `sign` (maximize). */
typedef struct {
    float scale;
    uint32_t sign;
} trainopt__grad_in;

TRAINOPT__FORCE_INLINE trainopt__grad_in trainopt__grad_in_make(int maximize, const trainopt_step_opts *o) {
    trainopt__grad_in gi;
    gi.scale = o ? (float)o->grad_scale : 1.0f;
    gi.sign = maximize ? 0x80000000u : 0u; /* xor with the sign bit negates exactly, NaN included */
    return gi;
}

/* k gradients from grad + i, scaled, counted when not finite, then negated for maximize.
   `scaled` is a compile-time constant at each call site and `nonfinite` a literal NULL
   in the plain steps, so the plain loops carry none of this. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__grad_load(const trainopt__grad_in *gi, const float *grad, size_t i, size_t k,
                                                        int scaled, size_t *nonfinite) {
    trainopt__vf g = trainopt__v_load_n(grad + i, k);
    if (scaled) g = trainopt__v_mul(g, trainopt__v_set1(gi->scale));
    if (nonfinite) {
        trainopt__vm bad = trainopt__m_not(trainopt__v_lt(trainopt__v_abs(g), trainopt__v_set1(INFINITY)));
        if (k != TRAINOPT_SIMD_LANES) bad = trainopt__m_and(bad, trainopt__m_first(k));
        *nonfinite += trainopt__popcount(trainopt__m_bits(bad));
    }
    return trainopt__v_xor_bits(g, gi->sign);
}

/* Checks the options; tells the caller to skip the step (returning OK) when found_inf is set.
   The count output may not lie in any of the step's count arrays of n floats (ptrs, NULL
   entries ignored): even a skipped step writes it. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__step_opts_check(const trainopt_step_opts *o, size_t n, const void *const *ptrs,
                                                                int count, int *skip) {
    int i;
    *skip = 0;
    if (o == NULL) return TRAINOPT_OK;
    if (o->nonfinite != NULL && n <= SIZE_MAX / sizeof(float))
        for (i = 0; i < count; i++)
            if (ptrs[i] != NULL && trainopt__overlap(o->nonfinite, sizeof *o->nonfinite, ptrs[i], n * sizeof(float)))
                return TRAINOPT_ERR_ALIAS;
    /* A skipped step ignores the scale: with AMP it is often NaN exactly when found_inf is set. */
    *skip = o->found_inf != NULL && *o->found_inf != 0;
    if (!*skip && !trainopt__nonneg(o->grad_scale)) return TRAINOPT_ERR_HPARAM;
    return TRAINOPT_OK;
}

/* Runs LOOP(scaled, nonfinite) as the plain step (o == NULL) or as the fused step, and reports the count. */
#define TRAINOPT__RUN_STEP(o, LOOP)                                      \
    do {                                                                 \
        if ((o) == NULL) {                                               \
            LOOP(0, (size_t *)NULL);                                     \
        } else {                                                         \
            size_t trainopt__bad = 0;                                    \
            LOOP((o)->grad_scale != 1.0, &trainopt__bad);                \
            if ((o)->nonfinite) *(o)->nonfinite = trainopt__bad;         \
        }                                                                \
    } while (0)

/* >>sgd */
#ifndef TRAINOPT__TYPES_DEFINED
typedef struct {
    double lr, momentum, dampening, weight_decay;
    int nesterov, maximize;
} trainopt_sgd_config;
#define TRAINOPT_SGD_DEFAULTS {1e-3, 0.0, 0.0, 0.0, 0, 0}
#endif

typedef struct {
    trainopt__grad_in gi;
    float neg_lr, weight_decay, momentum, one_minus_dampening;
} trainopt__sgd_scalars;

/* One vector of k <= LANES elements at offset i. The flags are compile-time
   constants at each call site, so every option combination gets its own loop. */
TRAINOPT__FORCE_INLINE void trainopt__sgd_lanes(const trainopt__sgd_scalars *s, size_t i, size_t k, int scaled,
                                                size_t *nonfinite, int has_wd, int has_momentum, int first_step,
                                                int nesterov, float *param, const float *grad, float *buf) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    if (has_wd) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    if (has_momentum) {
        trainopt__vf b;
        if (first_step) {
            b = g; /* PyTorch clones d_p into a new buffer on the first step */
        } else {
            b = trainopt__v_mul(trainopt__v_load_n(buf + i, k), trainopt__v_set1(s->momentum));
            b = trainopt__v_fma(trainopt__v_set1(s->one_minus_dampening), g, b);
        }
        trainopt__v_store_n(buf + i, b, k);
        g = nesterov ? trainopt__v_fma(trainopt__v_set1(s->momentum), b, g) : b;
    }
    trainopt__v_store_n(param + i, trainopt__v_fma(trainopt__v_set1(s->neg_lr), g, p), k);
}

TRAINOPT__FORCE_INLINE void trainopt__sgd_loop(const trainopt__sgd_scalars *s, size_t n, int scaled, size_t *nonfinite,
                                               int has_wd, int has_momentum, int first_step, int nesterov,
                                               float *param, const float *grad, float *buf) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__sgd_lanes(s, i, TRAINOPT_SIMD_LANES, scaled, nonfinite, has_wd, has_momentum, first_step, nesterov,
                            param, grad, buf);
    if (i < n)
        trainopt__sgd_lanes(s, i, n - i, scaled, nonfinite, has_wd, has_momentum, first_step, nesterov, param, grad, buf);
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__sgd_run(const trainopt_sgd_config *c, int64_t step, size_t n, float *param,
                                                         const float *grad, float *buf, const trainopt_step_opts *o) {
    const void *const ptrs[] = {param, grad, buf}; /* for the count output's overlap check */
    trainopt__sgd_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int has_wd, has_momentum, skip;
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__nonneg(c->lr) || !trainopt__nonneg(c->momentum) || !trainopt__finite(c->dampening) ||
        !trainopt__nonneg(c->weight_decay) || (c->nesterov && (c->momentum <= 0.0 || c->dampening != 0.0)))
        return TRAINOPT_ERR_HPARAM;
    if ((st = trainopt__step_opts_check(o, n, ptrs, 3, &skip)) != TRAINOPT_OK) return st;
    if (step < 1) return TRAINOPT_ERR_STEP;
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    has_wd = c->weight_decay != 0.0;
    has_momentum = c->momentum != 0.0;
    arrays.ptr[0] = param; arrays.ptr[1] = grad; arrays.ptr[2] = buf;
    arrays.count = has_momentum ? 3 : 2;
    if ((st = trainopt__check_arrays(&arrays, n)) != TRAINOPT_OK) return st;

    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.neg_lr = (float)-c->lr;
    s.weight_decay = (float)c->weight_decay;
    s.momentum = (float)c->momentum;
    s.one_minus_dampening = (float)(1.0 - c->dampening);
    /* The common configurations get their own loop; the rest share a generic one. */
#define TRAINOPT__SGD_LOOP(scaled, bad)                                                                         \
    if (!has_momentum) {                                                                                        \
        if (has_wd) trainopt__sgd_loop(&s, n, scaled, bad, 1, 0, 0, 0, param, grad, NULL);                      \
        else trainopt__sgd_loop(&s, n, scaled, bad, 0, 0, 0, 0, param, grad, NULL);                             \
    } else if (step == 1) {                                                                                     \
        trainopt__sgd_loop(&s, n, scaled, bad, has_wd, 1, 1, c->nesterov, param, grad, buf);                    \
    } else if (c->nesterov) {                                                                                   \
        trainopt__sgd_loop(&s, n, scaled, bad, has_wd, 1, 0, 1, param, grad, buf);                              \
    } else if (has_wd) {                                                                                        \
        trainopt__sgd_loop(&s, n, scaled, bad, 1, 1, 0, 0, param, grad, buf);                                   \
    } else {                                                                                                    \
        trainopt__sgd_loop(&s, n, scaled, bad, 0, 1, 0, 0, param, grad, buf);                                   \
    }
    TRAINOPT__RUN_STEP(o, TRAINOPT__SGD_LOOP);
#undef TRAINOPT__SGD_LOOP
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_sgd_step(const trainopt_sgd_config *c, int64_t step, size_t n, float *param,
                                              const float *grad, float *momentum_buf) {
    return trainopt__sgd_run(c, step, n, param, grad, momentum_buf, NULL);
}

TRAINOPT_API trainopt_status trainopt_sgd_step_ex(const trainopt_sgd_config *c, int64_t step, size_t n, float *param,
                                                 const float *grad, float *momentum_buf, const trainopt_step_opts *o) {
    return trainopt__sgd_run(c, step, n, param, grad, momentum_buf, o);
}

/* >>adagrad */
#ifndef TRAINOPT__TYPES_DEFINED
typedef struct {
    double lr, lr_decay, weight_decay, initial_accumulator_value, eps;
    int maximize;
} trainopt_adagrad_config;
#define TRAINOPT_ADAGRAD_DEFAULTS {1e-2, 0.0, 0.0, 0.0, 1e-10, 0}
#endif

TRAINOPT__FORCE_INLINE trainopt_status trainopt__adagrad_check(const trainopt_adagrad_config *c) {
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__nonneg(c->lr) || !trainopt__nonneg(c->lr_decay) || !trainopt__nonneg(c->weight_decay) ||
        !trainopt__nonneg(c->initial_accumulator_value) || !trainopt__nonneg(c->eps))
        return TRAINOPT_ERR_HPARAM;
    return TRAINOPT_OK;
}

/* Fills state_sum with initial_accumulator_value, as torch.optim.Adagrad's constructor does. */
TRAINOPT_API trainopt_status trainopt_adagrad_init(const trainopt_adagrad_config *c, size_t n, float *state_sum) {
    trainopt_status st = trainopt__adagrad_check(c);
    size_t i;
    if (st != TRAINOPT_OK) return st;
    if (n == 0) return TRAINOPT_OK;
    if (state_sum == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    for (i = 0; i < n; i++) state_sum[i] = (float)c->initial_accumulator_value;
    return TRAINOPT_OK;
}

typedef struct {
    trainopt__grad_in gi;
    float neg_clr, weight_decay, eps;
} trainopt__adagrad_scalars;

TRAINOPT__FORCE_INLINE void trainopt__adagrad_lanes(const trainopt__adagrad_scalars *s, size_t i, size_t k, int scaled,
                                                    size_t *nonfinite, int has_wd, float *param, const float *grad,
                                                    float *state_sum) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf sum, std;
    if (has_wd) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    sum = trainopt__v_fma(g, g, trainopt__v_load_n(state_sum + i, k));
    std = trainopt__v_add(trainopt__v_sqrt(sum), trainopt__v_set1(s->eps));
    /* addcdiv: p + (value * g) / std */
    p = trainopt__v_add(p, trainopt__v_div(trainopt__v_mul(trainopt__v_set1(s->neg_clr), g), std));
    trainopt__v_store_n(state_sum + i, sum, k);
    trainopt__v_store_n(param + i, p, k);
}

TRAINOPT__FORCE_INLINE void trainopt__adagrad_loop(const trainopt__adagrad_scalars *s, size_t n, int scaled,
                                                   size_t *nonfinite, int has_wd, float *param, const float *grad,
                                                   float *state_sum) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__adagrad_lanes(s, i, TRAINOPT_SIMD_LANES, scaled, nonfinite, has_wd, param, grad, state_sum);
    if (i < n) trainopt__adagrad_lanes(s, i, n - i, scaled, nonfinite, has_wd, param, grad, state_sum);
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__adagrad_run(const trainopt_adagrad_config *c, int64_t step, size_t n,
                                                             float *param, const float *grad, float *state_sum,
                                                             const trainopt_step_opts *o) {
    const void *const ptrs[] = {param, grad, state_sum}; /* for the count output's overlap check */
    trainopt__adagrad_scalars s;
    trainopt__arrays arrays;
    trainopt_status st = trainopt__adagrad_check(c);
    int skip;
    if (st != TRAINOPT_OK) return st;
    if ((st = trainopt__step_opts_check(o, n, ptrs, 3, &skip)) != TRAINOPT_OK) return st;
    if (step < 1) return TRAINOPT_ERR_STEP;
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    arrays.ptr[0] = param; arrays.ptr[1] = grad; arrays.ptr[2] = state_sum;
    arrays.count = 3;
    if ((st = trainopt__check_arrays(&arrays, n)) != TRAINOPT_OK) return st;

    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.neg_clr = (float)-(c->lr / fma((double)(step - 1), c->lr_decay, 1.0));
    s.weight_decay = (float)c->weight_decay;
    s.eps = (float)c->eps;
#define TRAINOPT__ADAGRAD_LOOP(scaled, bad)                                                  \
    if (c->weight_decay != 0.0) trainopt__adagrad_loop(&s, n, scaled, bad, 1, param, grad, state_sum); \
    else trainopt__adagrad_loop(&s, n, scaled, bad, 0, param, grad, state_sum);
    TRAINOPT__RUN_STEP(o, TRAINOPT__ADAGRAD_LOOP);
#undef TRAINOPT__ADAGRAD_LOOP
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_adagrad_step(const trainopt_adagrad_config *c, int64_t step, size_t n,
                                                  float *param, const float *grad, float *state_sum) {
    return trainopt__adagrad_run(c, step, n, param, grad, state_sum, NULL);
}

TRAINOPT_API trainopt_status trainopt_adagrad_step_ex(const trainopt_adagrad_config *c, int64_t step, size_t n,
                                                     float *param, const float *grad, float *state_sum,
                                                     const trainopt_step_opts *o) {
    return trainopt__adagrad_run(c, step, n, param, grad, state_sum, o);
}

/* >>rmsprop */
#ifndef TRAINOPT__TYPES_DEFINED
typedef struct {
    double lr, alpha, eps, weight_decay, momentum;
    int centered, maximize;
} trainopt_rmsprop_config;
#define TRAINOPT_RMSPROP_DEFAULTS {1e-2, 0.99, 1e-8, 0.0, 0.0, 0, 0}
#endif

typedef struct {
    trainopt__grad_in gi;
    float neg_lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
} trainopt__rmsprop_scalars;

TRAINOPT__FORCE_INLINE void trainopt__rmsprop_lanes(const trainopt__rmsprop_scalars *s, size_t i, size_t k, int scaled,
                                                    size_t *nonfinite, int has_wd, int centered, int has_momentum,
                                                    float *param, const float *grad, float *square_avg,
                                                    float *momentum_buf, float *grad_avg) {
    const trainopt__vf alpha = trainopt__v_set1(s->alpha), one_minus_alpha = trainopt__v_set1(s->one_minus_alpha);
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf sq, avg;
    if (has_wd) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    sq = trainopt__v_mul(trainopt__v_load_n(square_avg + i, k), alpha);
    sq = trainopt__v_fma(trainopt__v_mul(one_minus_alpha, g), g, sq);
    trainopt__v_store_n(square_avg + i, sq, k);
    if (centered) {
        trainopt__vf a = trainopt__v_mul(trainopt__v_load_n(grad_avg + i, k), alpha);
        a = trainopt__v_fma(one_minus_alpha, g, a);
        trainopt__v_store_n(grad_avg + i, a, k);
        avg = trainopt__v_sqrt(trainopt__v_fnma(a, a, sq));
    } else {
        avg = trainopt__v_sqrt(sq);
    }
    avg = trainopt__v_add(avg, trainopt__v_set1(s->eps));
    if (has_momentum) {
        /* buf.mul_(momentum).addcdiv_(g, avg), as one FMA so no compiler can fuse it differently */
        trainopt__vf b = trainopt__v_fma(trainopt__v_load_n(momentum_buf + i, k), trainopt__v_set1(s->momentum),
                                         trainopt__v_div(g, avg));
        trainopt__v_store_n(momentum_buf + i, b, k);
        p = trainopt__v_fma(trainopt__v_set1(s->neg_lr), b, p);
    } else {
        p = trainopt__v_add(p, trainopt__v_div(trainopt__v_mul(trainopt__v_set1(s->neg_lr), g), avg));
    }
    trainopt__v_store_n(param + i, p, k);
}

TRAINOPT__FORCE_INLINE void trainopt__rmsprop_loop(const trainopt__rmsprop_scalars *s, size_t n, int scaled,
                                                   size_t *nonfinite, int has_wd, int centered, int has_momentum,
                                                   float *param, const float *grad, float *square_avg,
                                                   float *momentum_buf, float *grad_avg) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__rmsprop_lanes(s, i, TRAINOPT_SIMD_LANES, scaled, nonfinite, has_wd, centered, has_momentum, param,
                                grad, square_avg, momentum_buf, grad_avg);
    if (i < n)
        trainopt__rmsprop_lanes(s, i, n - i, scaled, nonfinite, has_wd, centered, has_momentum, param, grad,
                                square_avg, momentum_buf, grad_avg);
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__rmsprop_run(const trainopt_rmsprop_config *c, int64_t step, size_t n,
                                                             float *param, const float *grad, float *square_avg,
                                                             float *momentum_buf, float *grad_avg,
                                                             const trainopt_step_opts *o) {
    const void *const ptrs[] = {param, grad, square_avg, momentum_buf, grad_avg}; /* for the count output's overlap check */
    trainopt__rmsprop_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    int has_wd, has_momentum, skip;
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__nonneg(c->lr) || !trainopt__nonneg(c->alpha) || c->alpha > 1.0 || !trainopt__nonneg(c->eps) ||
        !trainopt__nonneg(c->weight_decay) || !trainopt__nonneg(c->momentum))
        return TRAINOPT_ERR_HPARAM;
    if ((st = trainopt__step_opts_check(o, n, ptrs, 5, &skip)) != TRAINOPT_OK) return st;
    if (step < 1) return TRAINOPT_ERR_STEP;
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    has_wd = c->weight_decay != 0.0;
    has_momentum = c->momentum > 0.0;
    arrays.ptr[0] = param; arrays.ptr[1] = grad; arrays.ptr[2] = square_avg;
    arrays.count = 3;
    if (has_momentum) arrays.ptr[arrays.count++] = momentum_buf;
    if (c->centered) arrays.ptr[arrays.count++] = grad_avg;
    if ((st = trainopt__check_arrays(&arrays, n)) != TRAINOPT_OK) return st;

    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.neg_lr = (float)-c->lr;
    s.alpha = (float)c->alpha;
    s.one_minus_alpha = (float)(1.0 - c->alpha);
    s.eps = (float)c->eps;
    s.weight_decay = (float)c->weight_decay;
    s.momentum = (float)c->momentum;
#define TRAINOPT__RMSPROP_LOOP(scaled, bad)                                                                        \
    if (!has_wd && !c->centered && !has_momentum)                                                                  \
        trainopt__rmsprop_loop(&s, n, scaled, bad, 0, 0, 0, param, grad, square_avg, NULL, NULL);                  \
    else                                                                                                           \
        trainopt__rmsprop_loop(&s, n, scaled, bad, has_wd, c->centered, has_momentum, param, grad, square_avg,     \
                               momentum_buf, grad_avg);
    TRAINOPT__RUN_STEP(o, TRAINOPT__RMSPROP_LOOP);
#undef TRAINOPT__RMSPROP_LOOP
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_rmsprop_step(const trainopt_rmsprop_config *c, int64_t step, size_t n,
                                                  float *param, const float *grad, float *square_avg,
                                                  float *momentum_buf, float *grad_avg) {
    return trainopt__rmsprop_run(c, step, n, param, grad, square_avg, momentum_buf, grad_avg, NULL);
}

TRAINOPT_API trainopt_status trainopt_rmsprop_step_ex(const trainopt_rmsprop_config *c, int64_t step, size_t n,
                                                     float *param, const float *grad, float *square_avg,
                                                     float *momentum_buf, float *grad_avg, const trainopt_step_opts *o) {
    return trainopt__rmsprop_run(c, step, n, param, grad, square_avg, momentum_buf, grad_avg, o);
}

/* >>adam */
#ifndef TRAINOPT__TYPES_DEFINED
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int amsgrad, maximize;
} trainopt_adam_config;
#define TRAINOPT_ADAM_DEFAULTS {1e-3, 0.9, 0.999, 1e-8, 0.0, 0, 0}
#define TRAINOPT_ADAMW_DEFAULTS {1e-3, 0.9, 0.999, 1e-8, 1e-2, 0, 0}
#endif

typedef struct {
    trainopt__grad_in gi;
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float inv_bias_correction2_sqrt, eps, neg_step_size;
    float weight_decay; /* Adam: L2 term added to the gradient */
    float decay_factor; /* AdamW: 1 - lr * weight_decay applied to the parameter */
} trainopt__adam_scalars;

TRAINOPT__FORCE_INLINE void trainopt__adam_lanes(const trainopt__adam_scalars *s, size_t i, size_t k, int scaled,
                                                 size_t *nonfinite, int l2, int decoupled, int amsgrad, float *param,
                                                 const float *grad, float *exp_avg, float *exp_avg_sq,
                                                 float *max_exp_avg_sq) {
    trainopt__vf p = trainopt__v_load_n(param + i, k);
    trainopt__vf g = trainopt__grad_load(&s->gi, grad, i, k, scaled, nonfinite);
    trainopt__vf m, v, denom, update;
    if (l2) g = trainopt__v_fma(trainopt__v_set1(s->weight_decay), p, g);
    m = trainopt__v_mul(trainopt__v_load_n(exp_avg + i, k), trainopt__v_set1(s->beta1));
    m = trainopt__v_fma(trainopt__v_set1(s->one_minus_beta1), g, m);
    v = trainopt__v_mul(trainopt__v_load_n(exp_avg_sq + i, k), trainopt__v_set1(s->beta2));
    v = trainopt__v_fma(trainopt__v_mul(trainopt__v_set1(s->one_minus_beta2), g), g, v);
    trainopt__v_store_n(exp_avg + i, m, k);
    trainopt__v_store_n(exp_avg_sq + i, v, k);
    if (amsgrad) {
        v = trainopt__v_max_nan(trainopt__v_load_n(max_exp_avg_sq + i, k), v);
        trainopt__v_store_n(max_exp_avg_sq + i, v, k);
    }
    denom = trainopt__v_fma(trainopt__v_sqrt(v), trainopt__v_set1(s->inv_bias_correction2_sqrt), trainopt__v_set1(s->eps));
    /* addcdiv: p + (-step_size * m) / denom; AdamW's decay p * (1 - lr*wd) is fused into that sum */
    update = trainopt__v_div(trainopt__v_mul(trainopt__v_set1(s->neg_step_size), m), denom);
    if (decoupled) p = trainopt__v_fma(p, trainopt__v_set1(s->decay_factor), update);
    else p = trainopt__v_add(p, update);
    trainopt__v_store_n(param + i, p, k);
}

TRAINOPT__FORCE_INLINE void trainopt__adam_loop(const trainopt__adam_scalars *s, size_t n, int scaled, size_t *nonfinite,
                                                int l2, int decoupled, int amsgrad, float *param, const float *grad,
                                                float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__adam_lanes(s, i, TRAINOPT_SIMD_LANES, scaled, nonfinite, l2, decoupled, amsgrad, param, grad, exp_avg,
                             exp_avg_sq, max_exp_avg_sq);
    if (i < n)
        trainopt__adam_lanes(s, i, n - i, scaled, nonfinite, l2, decoupled, amsgrad, param, grad, exp_avg, exp_avg_sq,
                             max_exp_avg_sq);
}

/* Shared by Adam and AdamW: validation, per-step scalars, and the choice of loop. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__adam_run(const trainopt_adam_config *c, int decoupled, int64_t step,
                                                          size_t n, float *param, const float *grad, float *exp_avg,
                                                          float *exp_avg_sq, float *max_exp_avg_sq,
                                                          const trainopt_step_opts *o) {
    const void *const ptrs[] = {param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq}; /* for the count output's overlap check */
    trainopt__adam_scalars s;
    trainopt__arrays arrays;
    trainopt_status st;
    double bias_correction1, bias_correction2;
    int l2, decay, skip;
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__nonneg(c->lr) || !trainopt__in_01(c->beta1) || !trainopt__in_01(c->beta2) ||
        !trainopt__nonneg(c->eps) || !trainopt__nonneg(c->weight_decay))
        return TRAINOPT_ERR_HPARAM;
    if ((st = trainopt__step_opts_check(o, n, ptrs, 5, &skip)) != TRAINOPT_OK) return st;
    if (step < 1) return TRAINOPT_ERR_STEP;
    if (n == 0 || skip) {
        if (o && o->nonfinite) *o->nonfinite = 0;
        return TRAINOPT_OK;
    }
    arrays.ptr[0] = param; arrays.ptr[1] = grad; arrays.ptr[2] = exp_avg; arrays.ptr[3] = exp_avg_sq;
    arrays.ptr[4] = max_exp_avg_sq;
    arrays.count = c->amsgrad ? 5 : 4;
    if ((st = trainopt__check_arrays(&arrays, n)) != TRAINOPT_OK) return st;

    bias_correction1 = 1.0 - trainopt__powi(c->beta1, step);
    bias_correction2 = 1.0 - trainopt__powi(c->beta2, step);
    s.gi = trainopt__grad_in_make(c->maximize, o);
    s.beta1 = (float)c->beta1;
    s.one_minus_beta1 = (float)(1.0 - c->beta1);
    s.beta2 = (float)c->beta2;
    s.one_minus_beta2 = (float)(1.0 - c->beta2);
    s.inv_bias_correction2_sqrt = (float)(1.0 / sqrt(bias_correction2));
    s.eps = (float)c->eps;
    s.neg_step_size = (float)-(c->lr / bias_correction1);
    s.weight_decay = (float)c->weight_decay;
    s.decay_factor = (float)fma(-c->lr, c->weight_decay, 1.0);
    l2 = !decoupled && c->weight_decay != 0.0;
    decay = decoupled && c->weight_decay != 0.0;
    /* Each (weight decay, amsgrad) combination gets its own loop. */
#define TRAINOPT__ADAM_LOOP(scaled, bad)                                                                             \
    if (c->amsgrad) {                                                                                                \
        if (l2) trainopt__adam_loop(&s, n, scaled, bad, 1, 0, 1, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq);  \
        else if (decay) trainopt__adam_loop(&s, n, scaled, bad, 0, 1, 1, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq); \
        else trainopt__adam_loop(&s, n, scaled, bad, 0, 0, 1, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq);     \
    } else {                                                                                                         \
        if (l2) trainopt__adam_loop(&s, n, scaled, bad, 1, 0, 0, param, grad, exp_avg, exp_avg_sq, NULL);            \
        else if (decay) trainopt__adam_loop(&s, n, scaled, bad, 0, 1, 0, param, grad, exp_avg, exp_avg_sq, NULL);    \
        else trainopt__adam_loop(&s, n, scaled, bad, 0, 0, 0, param, grad, exp_avg, exp_avg_sq, NULL);               \
    }
    TRAINOPT__RUN_STEP(o, TRAINOPT__ADAM_LOOP);
#undef TRAINOPT__ADAM_LOOP
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_adam_step(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                               const float *grad, float *exp_avg, float *exp_avg_sq,
                                               float *max_exp_avg_sq) {
    return trainopt__adam_run(c, 0, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, NULL);
}

TRAINOPT_API trainopt_status trainopt_adamw_step(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                                const float *grad, float *exp_avg, float *exp_avg_sq,
                                                float *max_exp_avg_sq) {
    return trainopt__adam_run(c, 1, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, NULL);
}

TRAINOPT_API trainopt_status trainopt_adam_step_ex(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                                  const float *grad, float *exp_avg, float *exp_avg_sq,
                                                  float *max_exp_avg_sq, const trainopt_step_opts *o) {
    return trainopt__adam_run(c, 0, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o);
}

TRAINOPT_API trainopt_status trainopt_adamw_step_ex(const trainopt_adam_config *c, int64_t step, size_t n, float *param,
                                                   const float *grad, float *exp_avg, float *exp_avg_sq,
                                                   float *max_exp_avg_sq, const trainopt_step_opts *o) {
    return trainopt__adam_run(c, 1, step, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o);
}

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

/* Parses one schedule from [a, b). Writes *out only on success. */
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
        return TRAINOPT_ERR_HPARAM;
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
        return TRAINOPT_ERR_HPARAM;
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
            return TRAINOPT_ERR_HPARAM;
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
            return TRAINOPT_ERR_HPARAM;
        }
        if (seen >> f & 1u) {
            trainopt__msg(msg, cap, &len, "field \"");
            trainopt__msg_n(msg, cap, &len, key, kn);
            trainopt__msg(msg, cap, &len, "\" given twice");
            return TRAINOPT_ERR_HPARAM;
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
            return TRAINOPT_ERR_HPARAM;
        }
        while (p < b && trainopt__is_space(*p)) p++;
        if (p < b && *p != ',') {
            trainopt__msg(msg, cap, &len, "expected ',' before \"");
            trainopt__msg_n(msg, cap, &len, p, (size_t)(b - p));
            trainopt__msg(msg, cap, &len, "\"");
            if (*p == '@') trainopt__msg(msg, cap, &len, " ('@' joins schedules: use trainopt_schedule_parse_join)");
            return TRAINOPT_ERR_HPARAM;
        }
        if (p < b) {
            p++;
            while (p < b && trainopt__is_space(*p)) p++;
            if (p == b) {
                trainopt__msg(msg, cap, &len, "a field must follow the last ','");
                return TRAINOPT_ERR_HPARAM;
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
                return TRAINOPT_ERR_HPARAM;
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

TRAINOPT_API trainopt_status trainopt_schedule_parse_msg(const char *text, trainopt_schedule *s, char *msg,
                                                         size_t msg_size) {
    const char *end;
    size_t len = 0;
    if (msg && msg_size) msg[0] = '\0';
    if (!text || !s) {
        trainopt__msg(msg, msg_size, &len, "null pointer");
        return TRAINOPT_ERR_NULL;
    }
    for (end = text; *end; end++) {}
    return trainopt__parse_one(text, end, s, msg, msg_size);
}

TRAINOPT_API trainopt_status trainopt_schedule_parse(const char *text, trainopt_schedule *s) {
    return trainopt_schedule_parse_msg(text, s, NULL, 0);
}

/* Walks "part @m part @m part": checks every part and milestone; with `out` and
   `ms` also stores them (part i in out[i], or in *out alone when there is one).
   Returns the number of parts, or 0 after writing a message. */
static inline size_t trainopt__parse_parts(const char *text, trainopt_schedule *out, int64_t *ms, char *msg,
                                           size_t msg_size) {
    trainopt_schedule one;
    int64_t m, last = 0;
    size_t k = 0, len = 0;
    const char *p = text;
    for (;;) {
        const char *e = p;
        while (*e && *e != '@') e++;
        if (k == TRAINOPT_SCHEDULE_MAX_MILESTONES + 1) {
            trainopt__msg(msg, msg_size, &len, "too many parts (more than TRAINOPT_SCHEDULE_MAX_MILESTONES + 1)");
            return 0;
        }
        if (trainopt__parse_one(p, e, out ? &out[k] : &one, msg, msg_size) != TRAINOPT_OK) return 0;
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
            return 0;
        }
        if (ms) ms[k - 1] = m;
        last = m;
        p = e;
    }
}

TRAINOPT_API trainopt_status trainopt_schedule_parse_join(const char *text, trainopt_schedule *join,
                                                          trainopt_schedule *parts, size_t max_parts, char *msg,
                                                          size_t msg_size) {
    size_t k, len = 0;
    if (msg && msg_size) msg[0] = '\0';
    if (!text || !join || (!parts && max_parts > 0)) {
        trainopt__msg(msg, msg_size, &len, "null pointer");
        return TRAINOPT_ERR_NULL;
    }
    /* First pass checks everything, so a failure writes nothing; the second stores. */
    k = trainopt__parse_parts(text, NULL, NULL, msg, msg_size);
    if (k == 0) return TRAINOPT_ERR_HPARAM;
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
    trainopt__parse_parts(text, parts, join->milestones, msg, msg_size);
    join->milestone_count = k - 1;
    join->parts = parts;
    return TRAINOPT_OK;
}

/* >>plateau: ReduceLROnPlateau */
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

#define TRAINOPT__PLATEAU_READY 0x706c6174u

TRAINOPT__FORCE_INLINE int trainopt__plateau_ok(const trainopt_plateau_config *c, double lr) {
    return (c->mode == TRAINOPT_PLATEAU_MIN || c->mode == TRAINOPT_PLATEAU_MAX) &&
           (c->threshold_mode == TRAINOPT_THRESHOLD_REL || c->threshold_mode == TRAINOPT_THRESHOLD_ABS) &&
           trainopt__in_01(c->factor) && c->patience >= 0 && c->cooldown >= 0 && trainopt__nonneg(c->threshold) &&
           trainopt__nonneg(c->min_lr) && trainopt__nonneg(c->eps) && trainopt__nonneg(lr);
}

TRAINOPT_API trainopt_status trainopt_plateau_init(trainopt_plateau *p, const trainopt_plateau_config *c, double lr) {
    if (!p || !c) return TRAINOPT_ERR_NULL;
    if (!trainopt__plateau_ok(c, lr)) return TRAINOPT_ERR_HPARAM;
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

/* >>math: exp, log and log1p from vector-layer ops only (v_round, v_fma, integer ops
   for the exponent), so every backend computes the same bits. Maximum errors against
   double libm, measured over every float of the range (exhaustively, AVX-512 build; the
   suite's math_ulp test re-measures every 4099th float on every backend, and every float
   with TRAINOPT_ULP_STRIDE=1 in the environment):
     trainopt__v_exp    x in [-104, 89], results down to the subnormals   0.91 ulp
     trainopt__v_log    x in (0, FLT_MAX], subnormal x included            0.76 ulp (0.7517)
     trainopt__v_log1p  x in [0, 1]                                        1.21 ulp
                        x in (-1, 0]                                       1.44 ulp (1.4375)
   The outputs of all three over all 2^32 inputs hash identically on scalar, avx2, avx512
   and neon (SIMDe), and over every 31st input on native AArch64 (neon and scalar, qemu).
   Specials: exp(-Inf) = exp(x < -103.98) = 0, exp(+Inf) = exp(x > 88.7228) = +Inf,
   log(+-0) = -Inf, log(+Inf) = +Inf, log1p(+-0) = +-0; NaN in, or log of a negative
   number, gives the canonical NaN 0x7fc00000. Cost per vector: exp ~16 ops (~26 when a
   lane is outside |x| < 86), log ~25 ops including one division, log1p log + 5. */
#define TRAINOPT__CANON_NAN_BITS 0x7fc00000u

/* NaN lanes become the canonical quiet NaN: x86 and ARM create different NaN bits for
   Inf - Inf or 0 * Inf, and propagate different payloads when two operands are NaN. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_canon_nan(trainopt__vf v) {
    return trainopt__v_select(trainopt__v_unord(v, v), trainopt__v_from_bits(trainopt__vi_set1(TRAINOPT__CANON_NAN_BITS)), v);
}

/* 2^k for integer-valued k in [-126, 127] (as a float vector). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_pow2i(trainopt__vf k) {
    return trainopt__v_from_bits(trainopt__vi_shl(trainopt__v_to_i(trainopt__v_add(k, trainopt__v_set1(127.0f))), 23));
}

/* exp(x) = 2^k * exp(r), k = round(x / ln2) (one fma with 1.5*2^23 rounds x*log2(e) to an
   integer without rounding the product first), r = x - k*ln2 in about [-ln2/2, ln2/2]
   (Cody-Waite with ln2_hi exact in 15 bits, so k * ln2_hi and x - k * ln2_hi are exact),
   exp(r) by a degree-6 minimax polynomial (relative error 3e-9) in Horner form.
   *t receives k + 1.5*2^23 (its bits minus those of 1.5*2^23 are k as an integer). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__exp_reduced(trainopt__vf x, trainopt__vf *t) {
    const trainopt__vf magic = trainopt__v_set1(12582912.0f), one = trainopt__v_set1(1.0f); /* 1.5 * 2^23 */
    trainopt__vf k, r, p;
    *t = trainopt__v_fma(x, trainopt__v_set1(1.44269502162933349609375f), magic);
    k = trainopt__v_sub(*t, magic);
    r = trainopt__v_fnma(k, trainopt__v_set1(0.693145751953125f), x);
    r = trainopt__v_fnma(k, trainopt__v_set1(1.428606765330187045e-06f), r);
    p = trainopt__v_fma(trainopt__v_set1(1.3814467238262296e-03f), r, trainopt__v_set1(8.3687808364629745e-03f));
    p = trainopt__v_fma(p, r, trainopt__v_set1(4.1668392717838287e-02f));
    p = trainopt__v_fma(p, r, trainopt__v_set1(1.6666519641876221e-01f));
    p = trainopt__v_fma(p, r, trainopt__v_set1(4.9999994039535522e-01f));
    p = trainopt__v_fma(p, r, one);
    return trainopt__v_fma(p, r, one); /* in [0.70, 1.42] */
}

/* When every lane has |x| < 86 (k in [-125, 125]: result and 2^k normal), 2^k goes straight
   into the exponent field. Otherwise x is clamped to [-150, 100] and 2^k applied as two
   factors, so that results near overflow and in the subnormal range are rounded once, and
   NaN lanes become the canonical NaN. A lane gets the same bits either way (scaling a normal
   result by 2^k is exact), so the choice, made per vector, does not depend on the width. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_exp(trainopt__vf x) {
    trainopt__vf t, p;
    if (trainopt__m_bits(trainopt__m_not(trainopt__v_lt(trainopt__v_abs(x), trainopt__v_set1(86.0f)))) == 0) {
        p = trainopt__exp_reduced(x, &t);
        return trainopt__v_from_bits(trainopt__vi_add(trainopt__v_bits(p),
                                                      trainopt__vi_shl(trainopt__vi_sub(trainopt__v_bits(t), trainopt__vi_set1(0x4b400000u)), 23)));
    } else {
        /* x86-semantics min/max turn NaN into the bound (fixed below) */
        const trainopt__vf xc = trainopt__v_max(trainopt__v_min(x, trainopt__v_set1(100.0f)), trainopt__v_set1(-150.0f));
        trainopt__vf k, k1;
        p = trainopt__exp_reduced(xc, &t);
        k = trainopt__v_sub(t, trainopt__v_set1(12582912.0f));
        k1 = trainopt__v_round(trainopt__v_mul(k, trainopt__v_set1(0.5f)));
        p = trainopt__v_mul(trainopt__v_mul(p, trainopt__v_pow2i(k1)), trainopt__v_pow2i(trainopt__v_sub(k, k1)));
        return trainopt__v_select(trainopt__v_unord(x, x), trainopt__v_from_bits(trainopt__vi_set1(TRAINOPT__CANON_NAN_BITS)), p);
    }
}

/* log(x) = n*ln2 + log(m), x = 2^n * m with m in [2/3, 4/3), f = m - 1 (exact),
   log(m) = f - (f^2/2 - s*(f^2/2 + R(s^2))), s = f / (2 + f), R a degree-4 minimax fit of
   2*atanh(s)/s - 2 (the fdlibm scheme: the rounding of s only touches a small correction).
   Subnormal x is scaled by 2^23 first. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_log(trainopt__vf x) {
    const trainopt__vm tiny = trainopt__v_lt(x, trainopt__v_set1(1.17549435082228750797e-38f)); /* FLT_MIN */
    const trainopt__vf xs = trainopt__v_select(tiny, trainopt__v_mul(x, trainopt__v_set1(8388608.0f)), x);
    const trainopt__vi bits = trainopt__v_bits(xs);
    /* bits + (0x3f800000 - bits(2/3)): its exponent field is n + 127 (x > 0 finite: no wrap). */
    const trainopt__vi t = trainopt__vi_add(bits, trainopt__vi_set1(0x00555555u));
    const trainopt__vf m = trainopt__v_from_bits(
        trainopt__vi_add(trainopt__vi_sub(bits, trainopt__vi_and(t, trainopt__vi_set1(0xff800000u))), trainopt__vi_set1(0x3f800000u)));
    const trainopt__vf n = trainopt__v_sub(trainopt__v_sub(trainopt__vi_to_f(trainopt__vi_shr(t, 23)), trainopt__v_set1(127.0f)),
                                           trainopt__v_select(tiny, trainopt__v_set1(23.0f), trainopt__v_zero()));
    const trainopt__vf f = trainopt__v_sub(m, trainopt__v_set1(1.0f));
    const trainopt__vf s = trainopt__v_div(f, trainopt__v_add(f, trainopt__v_set1(2.0f)));
    const trainopt__vf z = trainopt__v_mul(s, s);
    const trainopt__vf hf = trainopt__v_mul(f, trainopt__v_set1(0.5f));
    trainopt__vf r, u, w, y;
    r = trainopt__v_fma(trainopt__v_set1(2.4100503325462341e-01f), z, trainopt__v_set1(2.8506994247436523e-01f));
    r = trainopt__v_fma(r, z, trainopt__v_set1(4.0000864863395691e-01f));
    r = trainopt__v_fma(r, z, trainopt__v_set1(6.6666662693023682e-01f));
    /* Every product that meets a sum is inside an fma: f^2/2 is never rounded on its own. */
    r = trainopt__v_fma(hf, f, trainopt__v_mul(r, z));                                  /* f^2/2 + R */
    u = trainopt__v_fma(s, r, trainopt__v_mul(n, trainopt__v_set1(1.428606765330187045e-06f))); /* s*(..) + n*ln2_lo */
    w = trainopt__v_fma(hf, f, trainopt__v_xor_bits(u, 0x80000000u));                   /* f^2/2 - u */
    y = trainopt__v_fma(n, trainopt__v_set1(0.693145751953125f), trainopt__v_sub(f, w));
    y = trainopt__v_select(trainopt__v_eq(x, trainopt__v_set1(INFINITY)), x, y);
    y = trainopt__v_select(trainopt__v_eq(x, trainopt__v_zero()), trainopt__v_set1(-INFINITY), y);
    return trainopt__v_select(trainopt__m_or(trainopt__v_lt(x, trainopt__v_zero()), trainopt__v_unord(x, x)),
                              trainopt__v_from_bits(trainopt__vi_set1(TRAINOPT__CANON_NAN_BITS)), y);
}

/* log1p(x) for x in (-1, 1]: u = 1 + x, c = x - (u - 1) is u's rounding error exactly
   (Fast2Sum, |x| <= 1), and log1p(x) = log(u) + c/u. log1p(+-0) = +-0. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_log1p(trainopt__vf x) {
    const trainopt__vf one = trainopt__v_set1(1.0f);
    const trainopt__vf u = trainopt__v_add(x, one);
    const trainopt__vf c = trainopt__v_sub(x, trainopt__v_sub(u, one));
    const trainopt__vf y = trainopt__v_add(trainopt__v_log(u), trainopt__v_div(c, u));
    return trainopt__v_canon_nan(trainopt__v_select(trainopt__v_eq(x, trainopt__v_zero()), x, y));
}

/* >>sumblock: the canonical blocked reduction of this family. Elements are taken in
   blocks of TRAINOPT__SUM_BLOCK (a multiple of 16); within a block element i goes to
   partial sum i % 16 of a trainopt__acc16 (float, combined by its fixed tree), and the
   block sums are added in double, in order. Same order on every backend, and the float
   part never sums more than 16 terms per partial. */
#define TRAINOPT__SUM_BLOCK 256

/* What one pass computes per element (compile-time constants at each call site). */
#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum {
    TRAINOPT__RED_SUMSQ,   /* s0 += x^2 */
    TRAINOPT__RED_L1L2,    /* s0 += |x|, s1 += x^2 */
    TRAINOPT__RED_MSE,     /* d = x - y; s0 += d^2; out = d * scale */
    TRAINOPT__RED_BCE,     /* s0 += bce(x, y); out = (sigmoid(x) - y) / scale */
    TRAINOPT__RED_SOFTMAX  /* z = x - scale; e = exp(z); s0 += e; s1 += z; out = e */
};
#endif

typedef struct {
    const float *x, *y; /* inputs */
    float *out;         /* elementwise output, when the pass writes one */
    float scale;        /* MSE: 2/n; BCE: n; softmax: the row max */
} trainopt__red_args;

/* One vector of k <= LANES elements at offset i, accumulated into *s0 (and *s1). */
TRAINOPT__FORCE_INLINE void trainopt__red_lanes(int op, int write, int two, const trainopt__red_args *a, size_t i,
                                                size_t k, trainopt__vf *s0, trainopt__vf *s1) {
    const trainopt__vf x = trainopt__v_load_n(a->x + i, k);
    if (op == TRAINOPT__RED_SUMSQ) {
        *s0 = trainopt__v_fma(x, x, *s0);
    } else if (op == TRAINOPT__RED_L1L2) {
        *s0 = trainopt__v_add(*s0, trainopt__v_abs(x));
        *s1 = trainopt__v_fma(x, x, *s1);
    } else if (op == TRAINOPT__RED_MSE) {
        const trainopt__vf d = trainopt__v_sub(x, trainopt__v_load_n(a->y + i, k));
        *s0 = trainopt__v_fma(d, d, *s0);
        if (write) trainopt__v_store_n(a->out + i, trainopt__v_canon_nan(trainopt__v_mul(d, trainopt__v_set1(a->scale))), k);
    } else if (op == TRAINOPT__RED_BCE) {
        /* PyTorch's form (1 - t) x + max(-x, 0) + log(1 + e^-|x|), with log1p. */
        const trainopt__vf t = trainopt__v_load_n(a->y + i, k), one = trainopt__v_set1(1.0f);
        const trainopt__vf nx = trainopt__v_xor_bits(x, 0x80000000u);
        const trainopt__vf e = trainopt__v_exp(trainopt__v_xor_bits(trainopt__v_abs(x), 0x80000000u));
        trainopt__vf l = trainopt__v_fma(trainopt__v_sub(one, t), x, trainopt__v_max(nx, trainopt__v_zero()));
        l = trainopt__v_add(l, trainopt__v_log1p(e));
        *s0 = trainopt__v_add(*s0, trainopt__v_keep_first(l, k));
        if (write) {
            /* sigmoid(x) = 1/(1+e) for x >= 0, e/(1+e) below */
            const trainopt__vf num = trainopt__v_select(trainopt__v_lt(x, trainopt__v_zero()), e, one);
            const trainopt__vf sig = trainopt__v_div(num, trainopt__v_add(one, e));
            const trainopt__vf g = trainopt__v_div(trainopt__v_sub(sig, t), trainopt__v_set1(a->scale));
            trainopt__v_store_n(a->out + i, trainopt__v_canon_nan(g), k);
        }
    } else { /* TRAINOPT__RED_SOFTMAX */
        const trainopt__vf z = trainopt__v_sub(x, trainopt__v_set1(a->scale));
        const trainopt__vf e = trainopt__v_exp(z);
        *s0 = trainopt__v_add(*s0, trainopt__v_keep_first(e, k));
        if (two) *s1 = trainopt__v_add(*s1, trainopt__v_keep_first(z, k));
        if (write) trainopt__v_store_n(a->out + i, e, k);
    }
}

/* Blocked sums over [0, n), added to *t0 (and *t1) in order. The inner loop visits 16
   elements as ACC_VECS whole vectors, so the partial sums stay in registers. */
TRAINOPT__FORCE_INLINE void trainopt__red_run(int op, int write, int two, const trainopt__red_args *a, size_t n,
                                              double *t0, double *t1) {
    size_t b, i, j;
    for (b = 0; b < n; b += TRAINOPT__SUM_BLOCK) {
        const size_t end = n - b < TRAINOPT__SUM_BLOCK ? n : b + TRAINOPT__SUM_BLOCK;
        trainopt__acc16 a0, a1;
        trainopt__acc16_zero(&a0);
        trainopt__acc16_zero(&a1);
        for (i = b; i + 16 <= end; i += 16)
            for (j = 0; j < TRAINOPT__ACC_VECS; j++)
                trainopt__red_lanes(op, write, two, a, i + j * TRAINOPT_SIMD_LANES, TRAINOPT_SIMD_LANES, &a0.v[j], &a1.v[j]);
        for (j = 0; i < end; j++, i += TRAINOPT_SIMD_LANES)
            trainopt__red_lanes(op, write, two, a, i, end - i < TRAINOPT_SIMD_LANES ? end - i : TRAINOPT_SIMD_LANES, &a0.v[j],
                                &a1.v[j]);
        *t0 += (double)trainopt__acc16_sum(&a0);
        if (two) *t1 += (double)trainopt__acc16_sum(&a1);
    }
}

/* Number of Inf/NaN elements in x[0, n). */
TRAINOPT__FORCE_INLINE size_t trainopt__count_nonfinite(const float *x, size_t n) {
    const trainopt__vf inf = trainopt__v_set1(INFINITY);
    size_t i, count = 0;
    for (i = 0; i < n; i += TRAINOPT_SIMD_LANES) {
        const size_t k = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        /* |x| < Inf is false for Inf and NaN; lanes past k load as 0 and count as finite. */
        const trainopt__vm finite = trainopt__v_lt(trainopt__v_abs(trainopt__v_load_n(x + i, k)), inf);
        count += trainopt__popcount(trainopt__m_bits(trainopt__m_not(finite)) & ((2u << (k - 1)) - 1u));
    }
    return count;
}

/* Sum of squares over [0, n) into *total, counting Inf/NaN elements into *nonfinite: a block
   is only scanned for them when its sum is not finite (which they force). */
TRAINOPT__FORCE_INLINE void trainopt__sumsq_run(const float *x, size_t n, double *total, size_t *nonfinite) {
    trainopt__red_args a;
    size_t b;
    a.x = x; a.y = NULL; a.out = NULL; a.scale = 0.0f;
    for (b = 0; b < n; b += TRAINOPT__SUM_BLOCK) {
        const size_t len = n - b < TRAINOPT__SUM_BLOCK ? n - b : TRAINOPT__SUM_BLOCK;
        double block = 0.0, unused = 0.0;
        a.x = x + b;
        trainopt__red_run(TRAINOPT__RED_SUMSQ, 0, 0, &a, len, &block, &unused);
        *total += block;
        if (!trainopt__finite(block)) *nonfinite += trainopt__count_nonfinite(x + b, len);
    }
}

/* ---- argument checks shared by this family ---- */
/* Two arrays of `bytes` each that overlap other than by being the same pointer. */
TRAINOPT__FORCE_INLINE int trainopt__partial_overlap(const void *a, const void *b, size_t bytes) {
    return a != b && trainopt__overlap(a, bytes, b, bytes);
}
TRAINOPT__FORCE_INLINE void trainopt__store_scalar(float *out, double v) {
    float f = (float)v;
    if (v != v) {
        uint32_t u = TRAINOPT__CANON_NAN_BITS;
        memcpy(&f, &u, 4);
    }
    *out = f;
}

/* >>regularization: trainopt_l1l2_penalty, trainopt_l1l2_grad */
TRAINOPT_API trainopt_status trainopt_l1l2_penalty(size_t n, const float *param, double l1, double l2, float *penalty) {
    trainopt__red_args a;
    double s_abs = 0.0, s_sq = 0.0, p = 0.0;
    if (!trainopt__nonneg(l1) || !trainopt__nonneg(l2)) return TRAINOPT_ERR_HPARAM;
    if (n == 0) {
        if (penalty) *penalty = 0.0f;
        return TRAINOPT_OK;
    }
    if (param == NULL || penalty == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    if (trainopt__overlap(penalty, sizeof(float), param, n * sizeof(float))) return TRAINOPT_ERR_ALIAS;
    if (l1 != 0.0 || l2 != 0.0) {
        a.x = param; a.y = NULL; a.out = NULL; a.scale = 0.0f;
        trainopt__red_run(TRAINOPT__RED_L1L2, 0, 1, &a, n, &s_abs, &s_sq);
    }
    /* Keras adds a term only when its coefficient is nonzero. */
    if (l1 != 0.0) p = l1 * s_abs;
    if (l2 != 0.0) p = fma(l2, s_sq, p);
    trainopt__store_scalar(penalty, p);
    return TRAINOPT_OK;
}

typedef struct {
    float l1, two_l2;
} trainopt__l1l2_scalars;

TRAINOPT__FORCE_INLINE void trainopt__l1l2_lanes(const trainopt__l1l2_scalars *s, size_t i, size_t k, int has_l1, int has_l2,
                                                 const float *param, float *grad) {
    const trainopt__vf w = trainopt__v_load_n(param + i, k), zero = trainopt__v_zero();
    trainopt__vf reg = zero;
    if (has_l1) {
        /* l1 * sign(w), exactly: +-l1, 0 at +-0, NaN at NaN (tf.sign) */
        const trainopt__vf l1 = trainopt__v_set1(s->l1);
        reg = trainopt__v_select(trainopt__v_lt(zero, w), l1, zero);
        reg = trainopt__v_select(trainopt__v_lt(w, zero), trainopt__v_xor_bits(l1, 0x80000000u), reg);
        reg = trainopt__v_select(trainopt__v_unord(w, w), w, reg);
    }
    if (has_l2) reg = trainopt__v_fma(trainopt__v_set1(s->two_l2), w, reg);
    trainopt__v_store_n(grad + i, trainopt__v_canon_nan(trainopt__v_add(trainopt__v_load_n(grad + i, k), reg)), k);
}

TRAINOPT__FORCE_INLINE void trainopt__l1l2_loop(const trainopt__l1l2_scalars *s, size_t n, int has_l1, int has_l2,
                                                const float *param, float *grad) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__l1l2_lanes(s, i, TRAINOPT_SIMD_LANES, has_l1, has_l2, param, grad);
    if (i < n) trainopt__l1l2_lanes(s, i, n - i, has_l1, has_l2, param, grad);
}

TRAINOPT_API trainopt_status trainopt_l1l2_grad(size_t n, const float *param, float *grad, double l1, double l2) {
    trainopt__l1l2_scalars s;
    if (!trainopt__nonneg(l1) || !trainopt__nonneg(l2)) return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if (param == NULL || grad == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    if (trainopt__partial_overlap(param, grad, n * sizeof(float))) return TRAINOPT_ERR_ALIAS;
    s.l1 = (float)l1;
    s.two_l2 = (float)(2.0 * l2);
    if (l1 != 0.0 && l2 != 0.0) trainopt__l1l2_loop(&s, n, 1, 1, param, grad);
    else if (l1 != 0.0) trainopt__l1l2_loop(&s, n, 1, 0, param, grad);
    else if (l2 != 0.0) trainopt__l1l2_loop(&s, n, 0, 1, param, grad);
    /* both zero: Keras adds nothing, so the gradient is not touched (not even -0 -> +0) */
    return TRAINOPT_OK;
}

/* >>gradutil: trainopt_clip_grad_value, trainopt_sum_squares, trainopt_grad_norm,
   trainopt_clip_grad_norm, trainopt_grad_unscale */

/* One elementwise pass: CLAMP (clip_grad_value), SCALE (clip_grad_norm's multiply) or
   UNSCALE (AMP: multiply and flag non-finite inputs in *bad). */
#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum { TRAINOPT__EW_CLAMP, TRAINOPT__EW_SCALE, TRAINOPT__EW_UNSCALE };
#endif

TRAINOPT__FORCE_INLINE void trainopt__ew_lanes(int op, float c, size_t i, size_t k, float *grad, trainopt__vf *bad) {
    const trainopt__vf g = trainopt__v_load_n(grad + i, k);
    trainopt__vf y;
    if (op == TRAINOPT__EW_CLAMP) {
        /* PyTorch's vec::clamp: min(hi, max(lo, g)) with x86 operand order, so NaN passes
           through and +-0 come out as PyTorch's do. */
        y = trainopt__v_min(trainopt__v_set1(c), trainopt__v_max(trainopt__v_set1(-c), g));
    } else if (op == TRAINOPT__EW_SCALE) {
        y = trainopt__v_canon_nan(trainopt__v_mul(g, trainopt__v_set1(c))); /* 0 * Inf when the norm is Inf */
    } else {
        y = trainopt__v_mul(g, trainopt__v_set1(c)); /* c is finite: a NaN keeps its payload */
        *bad = trainopt__v_add(*bad, trainopt__v_sub(g, g)); /* g - g is NaN exactly for Inf and NaN */
    }
    trainopt__v_store_n(grad + i, y, k);
}

TRAINOPT__FORCE_INLINE void trainopt__ew_loop(int op, float c, size_t n, float *grad, trainopt__vf *bad) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES) trainopt__ew_lanes(op, c, i, TRAINOPT_SIMD_LANES, grad, bad);
    if (i < n) trainopt__ew_lanes(op, c, i, n - i, grad, bad);
}

TRAINOPT_API trainopt_status trainopt_clip_grad_value(size_t n, float *grad, double clip_value) {
    if (!trainopt__nonneg(clip_value)) return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if (grad == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    trainopt__ew_loop(TRAINOPT__EW_CLAMP, (float)clip_value, n, grad, NULL);
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_grad_unscale(size_t n, float *grad, float inv_scale, int *found_inf) {
    trainopt__vf bad = trainopt__v_zero();
    if (!trainopt__finite(inv_scale) || !(inv_scale > 0.0f)) return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if (grad == NULL || found_inf == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    if (trainopt__overlap(found_inf, sizeof *found_inf, grad, n * sizeof(float))) return TRAINOPT_ERR_ALIAS;
    trainopt__ew_loop(TRAINOPT__EW_UNSCALE, inv_scale, n, grad, &bad);
    if (trainopt__m_bits(trainopt__v_unord(bad, bad)) != 0) *found_inf = 1;
    return TRAINOPT_OK;
}

/* Checks a list of k tensors: pointers, sizes, and (for kernels that write them)
   pairwise disjointness. `out`/`out_bytes` is a scalar output that must not overlap any. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__check_tensors(size_t k, const void *const *ptrs, const size_t *lens,
                                                               int disjoint, const void *out, size_t out_bytes) {
    size_t i, j;
    if (k == 0) return TRAINOPT_OK;
    if (ptrs == NULL || lens == NULL) return TRAINOPT_ERR_NULL;
    for (i = 0; i < k; i++)
        if (lens[i] > 0 && ptrs[i] == NULL) return TRAINOPT_ERR_NULL;
    for (i = 0; i < k; i++)
        if (lens[i] > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    for (i = 0; i < k; i++) {
        if (trainopt__overlap(out, out_bytes, ptrs[i], lens[i] * sizeof(float))) return TRAINOPT_ERR_ALIAS;
        if (disjoint)
            for (j = i + 1; j < k; j++)
                if (trainopt__overlap(ptrs[i], lens[i] * sizeof(float), ptrs[j], lens[j] * sizeof(float)))
                    return TRAINOPT_ERR_ALIAS;
    }
    return TRAINOPT_OK;
}

/* The global sum of squares of k tensors (x[t] has lens[t] elements), in the canonical
   blocked order: one double running sum over every block of every tensor, in order.
   *nonfinite (may be NULL) receives the number of Inf/NaN elements. */
TRAINOPT_API trainopt_status trainopt_sum_squares(size_t k, const float *const *xs, const size_t *lens, double *sum,
                                                 size_t *nonfinite) {
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0, t;
    if (k > 0 && sum == NULL) return TRAINOPT_ERR_NULL;
    if ((st = trainopt__check_tensors(k, (const void *const *)xs, lens, 0, sum, sizeof *sum)) != TRAINOPT_OK) return st;
    if (nonfinite != NULL &&
        ((st = trainopt__check_tensors(k, (const void *const *)xs, lens, 0, nonfinite, sizeof *nonfinite)) != TRAINOPT_OK ||
         trainopt__overlap(nonfinite, sizeof *nonfinite, sum, sizeof *sum)))
        return st != TRAINOPT_OK ? st : TRAINOPT_ERR_ALIAS;
    for (t = 0; t < k; t++) trainopt__sumsq_run(xs[t], lens[t], &total, &bad);
    if (sum) *sum = total;
    if (nonfinite) *nonfinite = bad;
    return TRAINOPT_OK;
}

/* What one read-only pass over the (possibly loss-scaled) gradients tells a training loop. */
#ifndef TRAINOPT__TYPES_DEFINED
typedef struct {
    double sum_squares; /* sum of g^2 over every element as given (still scaled), canonical order */
    size_t nonfinite;   /* number of Inf/NaN elements */
    int found_inf;      /* nonfinite != 0: skip the step (GradScaler) */
    float total_norm;   /* L2 norm of the unscaled gradients: sqrt(sum_squares) * inv_scale */
    float clip_coef;    /* min(1, max_norm / (total_norm + 1e-6)), as clip_grad_norm_ */
    float grad_scale;   /* inv_scale * clip_coef rounded once: the fused step's multiplier
                           (inv_scale alone when found_inf: always finite and > 0) */
} trainopt_grad_norm_info;
#endif

TRAINOPT__FORCE_INLINE void trainopt__norm_finish(double sum_squares, size_t nonfinite, double inv_scale, double max_norm,
                                                  trainopt_grad_norm_info *info) {
    double norm = sqrt(sum_squares) * inv_scale, coef;
    float total_norm;
    trainopt__store_scalar(&total_norm, norm);
    coef = max_norm / ((double)total_norm + 1e-6); /* PyTorch adds 1e-6 to the float norm */
    if (coef > 1.0) coef = 1.0;                    /* clamp(max=1): NaN stays NaN */
    info->sum_squares = sum_squares;
    info->nonfinite = nonfinite;
    info->found_inf = nonfinite != 0;
    info->total_norm = total_norm;
    trainopt__store_scalar(&info->clip_coef, coef);
    /* With a non-finite gradient the coefficient is 0 or NaN; the step is to be skipped, and
       grad_scale stays a multiplier every _step_ex accepts (it checks it before found_inf). */
    trainopt__store_scalar(&info->grad_scale, nonfinite ? inv_scale : inv_scale * coef);
}

/* The read-only half of unscale + clip: global L2 norm of k gradient tensors (as scaled by
   the caller's loss scale; inv_scale = 1/scale, 1 without AMP), the clip coefficient for
   max_norm (+Inf: no clipping), found_inf, and the single multiplier grad_scale that a fused
   optimizer step applies instead of unscaling and clipping in separate passes.
   The gradients are only read (same list type as trainopt_clip_grad_norm's). */
TRAINOPT_API trainopt_status trainopt_grad_norm(size_t k, float *const *grads, const size_t *lens, float inv_scale,
                                               double max_norm, trainopt_grad_norm_info *info) {
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0, t;
    if (!trainopt__finite(inv_scale) || !(inv_scale > 0.0f) || !(max_norm >= 0.0)) return TRAINOPT_ERR_HPARAM;
    if (info == NULL) return k == 0 ? TRAINOPT_OK : TRAINOPT_ERR_NULL;
    if ((st = trainopt__check_tensors(k, (const void *const *)grads, lens, 0, info, sizeof *info)) != TRAINOPT_OK) return st;
    for (t = 0; t < k; t++) trainopt__sumsq_run(grads[t], lens[t], &total, &bad);
    trainopt__norm_finish(total, bad, inv_scale, max_norm, info);
    return TRAINOPT_OK;
}

/* torch.nn.utils.clip_grad_norm_(parameters, max_norm) with norm_type 2: the same numbers
   as trainopt_grad_norm with inv_scale 1, then every gradient is multiplied by clip_coef
   (skipped when it is 1). *total_norm (may be NULL) is the norm; Inf/NaN there is the report
   that the gradients were not finite. The k tensors must not overlap. */
TRAINOPT_API trainopt_status trainopt_clip_grad_norm(size_t k, float *const *grads, const size_t *lens, double max_norm,
                                                    float *total_norm) {
    trainopt_grad_norm_info info;
    trainopt_status st;
    double total = 0.0;
    size_t bad = 0, t;
    if (!(max_norm >= 0.0)) return TRAINOPT_ERR_HPARAM;
    if ((st = trainopt__check_tensors(k, (const void *const *)grads, lens, 1, total_norm, total_norm ? sizeof(float) : 0)) !=
        TRAINOPT_OK)
        return st;
    for (t = 0; t < k; t++) trainopt__sumsq_run(grads[t], lens[t], &total, &bad);
    trainopt__norm_finish(total, bad, 1.0, max_norm, &info);
    if (total_norm) *total_norm = info.total_norm;
    if (!(info.clip_coef == 1.0f))
        for (t = 0; t < k; t++) trainopt__ew_loop(TRAINOPT__EW_SCALE, info.clip_coef, lens[t], grads[t], NULL);
    return TRAINOPT_OK;
}

/* >>mse, >>bce: elementwise losses with a mean; one pass computes loss and gradient. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__pointwise_loss(int op, size_t n, const float *x, const float *y, float *loss,
                                                                float *grad) {
    trainopt__red_args a;
    double total = 0.0, unused = 0.0;
    size_t bytes;
    if (n == 0) {
        if (loss) trainopt__store_scalar(loss, NAN); /* PyTorch's mean over nothing */
        return TRAINOPT_OK;
    }
    if (x == NULL || y == NULL || loss == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    bytes = n * sizeof(float);
    if (grad && (trainopt__partial_overlap(grad, x, bytes) || trainopt__partial_overlap(grad, y, bytes)))
        return TRAINOPT_ERR_ALIAS;
    if (trainopt__overlap(loss, sizeof(float), x, bytes) || trainopt__overlap(loss, sizeof(float), y, bytes) ||
        (grad && trainopt__overlap(loss, sizeof(float), grad, bytes)))
        return TRAINOPT_ERR_ALIAS;
    a.x = x; a.y = y; a.out = grad;
    if (op == TRAINOPT__RED_MSE) {
        a.scale = (float)(2.0 / (double)n); /* PyTorch: (float)(2/n) * (p - t) */
        if (grad) trainopt__red_run(TRAINOPT__RED_MSE, 1, 0, &a, n, &total, &unused);
        else trainopt__red_run(TRAINOPT__RED_MSE, 0, 0, &a, n, &total, &unused);
    } else {
        a.scale = (float)n; /* PyTorch: (sigmoid(x) - t) / numel, in float */
        if (grad) trainopt__red_run(TRAINOPT__RED_BCE, 1, 0, &a, n, &total, &unused);
        else trainopt__red_run(TRAINOPT__RED_BCE, 0, 0, &a, n, &total, &unused);
    }
    trainopt__store_scalar(loss, total / (double)n);
    return TRAINOPT_OK;
}

/* torch.nn.MSELoss() (mean): *loss = mean (pred - target)^2; grad (may be NULL, or the
   same pointer as pred or target) = (pred - target) * (float)(2/n). */
TRAINOPT_API trainopt_status trainopt_mse_loss(size_t n, const float *pred, const float *target, float *loss, float *grad) {
    return trainopt__pointwise_loss(TRAINOPT__RED_MSE, n, pred, target, loss, grad);
}

/* torch.nn.BCEWithLogitsLoss() (mean, no weights): *loss = mean of
   (1 - t) x + max(-x, 0) + log1p(exp(-|x|)); grad (may be NULL, or the same pointer as
   logits or target) = (sigmoid(x) - t) / n. Targets are not range-checked (PyTorch does not). */
TRAINOPT_API trainopt_status trainopt_bce_with_logits(size_t n, const float *logits, const float *target, float *loss,
                                                     float *grad) {
    return trainopt__pointwise_loss(TRAINOPT__RED_BCE, n, logits, target, loss, grad);
}

/* >>softmax_ce */

/* Largest element of x[0, n) (+0 for a zero max), n >= 1. Max is exact in any order, so
   four independent chains (no latency bound) and a plain loop over the lanes give the same
   value on every backend, for rows without NaN. (x86-semantics max may or may not drop a
   NaN; callers detect NaN rows from the exp sum, which any NaN makes NaN.) */
TRAINOPT__FORCE_INLINE float trainopt__row_max(const float *x, size_t n) {
    const trainopt__vf ninf = trainopt__v_set1(-INFINITY);
    trainopt__vf mx[4];
    float lanes[TRAINOPT_SIMD_LANES], m;
    const size_t whole = n - n % (4 * TRAINOPT_SIMD_LANES); /* elements in whole blocks of four vectors */
    size_t i = 0;
    int j;
    for (j = 0; j < 4; j++) mx[j] = ninf;
    for (; i < whole; i += 4 * TRAINOPT_SIMD_LANES)
        for (j = 0; j < 4; j++) mx[j] = trainopt__v_max(mx[j], trainopt__v_load(x + i + (size_t)j * TRAINOPT_SIMD_LANES));
    for (; i < n; i += TRAINOPT_SIMD_LANES) {
        const size_t k = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        trainopt__vf v = trainopt__v_load_n(x + i, k);
        if (k < TRAINOPT_SIMD_LANES) v = trainopt__v_select(trainopt__m_first(k), v, ninf);
        mx[0] = trainopt__v_max(mx[0], v);
    }
    trainopt__v_store(lanes, trainopt__v_max(trainopt__v_max(mx[0], mx[1]), trainopt__v_max(mx[2], mx[3])));
    m = lanes[0];
    for (j = 1; j < TRAINOPT_SIMD_LANES; j++)
        if (lanes[j] > m || lanes[j] != lanes[j]) m = lanes[j];
    return m + 0.0f; /* -0 and +0 tie in max: make the choice independent of lane order */
}

/* Whether x[0, n) holds a NaN. */
TRAINOPT__FORCE_INLINE int trainopt__has_nan(const float *x, size_t n) {
    trainopt__vm nan = trainopt__m_first(0);
    size_t i;
    for (i = 0; i < n; i += TRAINOPT_SIMD_LANES) {
        const trainopt__vf v = trainopt__v_load_n(x + i, n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES);
        nan = trainopt__m_or(nan, trainopt__v_unord(v, v));
    }
    return trainopt__m_bits(nan) != 0;
}

TRAINOPT__FORCE_INLINE float trainopt__log_scalar(float x) {
    float lanes[TRAINOPT_SIMD_LANES];
    trainopt__v_store(lanes, trainopt__v_log(trainopt__v_set1(x)));
    return lanes[0];
}

/* grad[c] = e[c] * r + off for a row (e was stored in grad by the exp pass). */
TRAINOPT__FORCE_INLINE void trainopt__ce_grad_lanes(float r, float off, size_t i, size_t k, float *g) {
    trainopt__v_store_n(g + i, trainopt__v_fma(trainopt__v_load_n(g + i, k), trainopt__v_set1(r), trainopt__v_set1(off)), k);
}

TRAINOPT__FORCE_INLINE void trainopt__fill(float *x, size_t n, uint32_t bits) {
    const trainopt__vf v = trainopt__v_from_bits(trainopt__vi_set1(bits));
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES) trainopt__v_store(x + i, v);
    if (i < n) trainopt__v_store_n(x + i, v, n - i);
}

/* torch.nn.CrossEntropyLoss(ignore_index=ignore_index, label_smoothing=label_smoothing)
   on logits [batch][classes] and class indices labels [batch] (mean over counted rows).
   grad [batch][classes] may be NULL or the same pointer as logits. */
TRAINOPT_API trainopt_status trainopt_softmax_cross_entropy(size_t batch, size_t classes, const float *logits,
                                                           const int32_t *labels, int32_t ignore_index,
                                                           double label_smoothing, float *loss, float *grad) {
    const double eps = label_smoothing;
    const int smoothing = eps > 0.0;
    trainopt__red_args a;
    double nll = 0.0, smooth = 0.0, w, result;
    size_t b, count = 0, bytes;
    float neg_off, neg_on;
    if (!(eps >= 0.0 && eps <= 1.0)) return TRAINOPT_ERR_HPARAM;
    if (batch == 0) {
        if (loss) trainopt__store_scalar(loss, NAN);
        return TRAINOPT_OK;
    }
    if (classes == 0 || classes > SIZE_MAX / sizeof(float) / batch) return TRAINOPT_ERR_SHAPE;
    if (logits == NULL || labels == NULL || loss == NULL) return TRAINOPT_ERR_NULL;
    bytes = batch * classes * sizeof(float);
    if (grad && (trainopt__partial_overlap(grad, logits, bytes) || trainopt__overlap(grad, bytes, labels, batch * sizeof(int32_t))))
        return TRAINOPT_ERR_ALIAS;
    if (trainopt__overlap(loss, sizeof(float), logits, bytes) ||
        trainopt__overlap(loss, sizeof(float), labels, batch * sizeof(int32_t)) ||
        (grad && trainopt__overlap(loss, sizeof(float), grad, bytes)))
        return TRAINOPT_ERR_ALIAS;
    for (b = 0; b < batch; b++) {
        if (labels[b] == ignore_index) continue;
        if (labels[b] < 0 || (size_t)labels[b] >= classes) return TRAINOPT_ERR_INDEX;
        count++;
    }

    /* grad = p/count - target/count, target = eps/C off the label, 1 - eps + eps/C on it
       (written 1 - eps*(C-1)/C so that one class gives exactly 1). */
    w = count ? 1.0 / (double)count : 0.0;
    neg_off = (float)-(eps / (double)classes * w);
    neg_on = (float)-(fma(-eps, ((double)classes - 1.0) / (double)classes, 1.0) * w);
    a.y = NULL;
    for (b = 0; b < batch; b++) {
        const float *x = logits + b * classes;
        float *g = grad ? grad + b * classes : NULL;
        const int ignored = labels[b] == ignore_index;
        double s_sum = 0.0, z_sum = 0.0;
        float m, s, log_s, zy, ey, r;
        size_t y, i;
        if (ignored && !g) continue;
        m = trainopt__row_max(x, classes);
        if (ignored) {
            /* PyTorch's gradient there is 0 - p * 0: NaN where log_softmax is NaN */
            const int bad = !trainopt__finite(m) || trainopt__has_nan(x, classes);
            trainopt__fill(g, classes, bad ? TRAINOPT__CANON_NAN_BITS : 0u);
            continue;
        }
        y = (size_t)labels[b];
        zy = x[y] - m; /* read before an in-place grad overwrites it */
        if (trainopt__finite(m)) {
            a.x = x; a.out = g; a.scale = m;
            if (g && smoothing) trainopt__red_run(TRAINOPT__RED_SOFTMAX, 1, 1, &a, classes, &s_sum, &z_sum);
            else if (g) trainopt__red_run(TRAINOPT__RED_SOFTMAX, 1, 0, &a, classes, &s_sum, &z_sum);
            else if (smoothing) trainopt__red_run(TRAINOPT__RED_SOFTMAX, 0, 1, &a, classes, &s_sum, &z_sum);
            else trainopt__red_run(TRAINOPT__RED_SOFTMAX, 0, 0, &a, classes, &s_sum, &z_sum);
        }
        if (!trainopt__finite(m) || s_sum != s_sum) {
            /* NaN, +Inf, or nothing but -Inf: log_softmax is NaN on the whole row (a NaN
               anywhere makes the exp sum NaN) */
            nll = NAN;
            if (g) trainopt__fill(g, classes, TRAINOPT__CANON_NAN_BITS);
            continue;
        }
        s = (float)s_sum; /* in [1, classes]: the max term is exp(0) = 1 */
        log_s = trainopt__log_scalar(s);
        nll += (double)log_s - (double)zy;                             /* -log p[y] */
        if (smoothing) smooth += fma((double)classes, (double)log_s, -z_sum); /* -sum_c log p[c] */
        if (g) {
            r = (float)(1.0 / ((double)s * (double)count)); /* p[c] / count = e[c] * r */
            ey = g[y];
            for (i = 0; i + TRAINOPT_SIMD_LANES <= classes; i += TRAINOPT_SIMD_LANES)
                trainopt__ce_grad_lanes(r, neg_off, i, TRAINOPT_SIMD_LANES, g);
            if (i < classes) trainopt__ce_grad_lanes(r, neg_off, i, classes - i, g);
            /* the label's element, with the same fma on a one-lane vector */
            trainopt__v_store_n(g + y, trainopt__v_fma(trainopt__v_set1(ey), trainopt__v_set1(r), trainopt__v_set1(neg_on)), 1);
        }
    }
    /* (1 - eps) * mean nll + (eps / C) * mean smooth; count == 0 gives 0/0 = NaN, as PyTorch */
    result = smoothing ? fma(1.0 - eps, nll, eps / (double)classes * smooth) : nll;
    trainopt__store_scalar(loss, result / (double)count);
    return TRAINOPT_OK;
}

/* >>vecmath: new derived vector ops, built only from trainopt_simd.h's op set
   (so each is one fixed sequence of IEEE operations and fused multiply-adds,
   bit-identical on every backend). Box-Muller's log is the library's
   trainopt__v_log (>>math). */

/* Stores the first k lanes of an integer vector, never touching memory past them. */
TRAINOPT__FORCE_INLINE void trainopt__vi_store_n(uint32_t *p, trainopt__vi a, size_t k) {
    uint32_t tmp[TRAINOPT_SIMD_LANES];
    if (k == TRAINOPT_SIMD_LANES) {
        trainopt__vi_store(p, a);
        return;
    }
    trainopt__vi_store(tmp, a);
    memcpy(p, tmp, k * sizeof(uint32_t));
}

/* Lane j holds 1 << j (through the float exponent: 2^j converted to integer). */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__vi_lane_bits(void) {
    trainopt__vi e = trainopt__vi_shl(trainopt__vi_add(trainopt__vi_iota(), trainopt__vi_set1(127u)), 23);
    return trainopt__v_to_i(trainopt__v_from_bits(e));
}

/* sin and cos of 2 pi u 2^-24 for integers u in [0, 2^24). The reduction is
   exact: q = the nearest quarter turn, f = u 2^-24 - q/4 in [-1/8, 1/8) turns;
   then Taylor polynomials in f to degree 9 (sin) and 10 (cos), whose truncation
   error is below 3e-9, and the quadrant's swap and signs as bit operations. */
TRAINOPT__FORCE_INLINE void trainopt__v_sincos2pi(trainopt__vi u, trainopt__vf *s, trainopt__vf *c) {
    trainopt__vi q = trainopt__vi_shr(trainopt__vi_add(u, trainopt__vi_set1(1u << 21)), 22);
    trainopt__vf f = trainopt__v_mul(trainopt__vi_to_f(trainopt__vi_sub(u, trainopt__vi_shl(q, 22))),
                                     trainopt__v_set1(5.9604644775390625e-8f));
    trainopt__vf z = trainopt__v_mul(f, f);
    trainopt__vf ps = trainopt__v_set1(42.0586929f), pc = trainopt__v_set1(-26.4262562f), sn, cs;
    trainopt__vm swap;
    trainopt__vi sin_sign, cos_sign;
    ps = trainopt__v_fma(ps, z, trainopt__v_set1(-76.7058563f));
    ps = trainopt__v_fma(ps, z, trainopt__v_set1(81.6052475f));
    ps = trainopt__v_fma(ps, z, trainopt__v_set1(-41.3417015f));
    sn = trainopt__v_mul(trainopt__v_mul(f, z), ps);
    sn = trainopt__v_fma(f, trainopt__v_set1(-1.74845553e-7f), sn); /* 2 pi = 6.28318548 - 1.74845553e-7 */
    sn = trainopt__v_fma(f, trainopt__v_set1(6.28318548f), sn);
    pc = trainopt__v_fma(pc, z, trainopt__v_set1(60.2446404f));
    pc = trainopt__v_fma(pc, z, trainopt__v_set1(-85.4568176f));
    pc = trainopt__v_fma(pc, z, trainopt__v_set1(64.9393921f));
    pc = trainopt__v_fma(pc, z, trainopt__v_set1(-19.7392082f));
    cs = trainopt__v_fma(pc, z, trainopt__v_set1(1.0f));
    /* sin(q pi/2 + a): q odd swaps sin and cos; sin is negated for q = 2, 3 and cos for q = 1, 2. */
    swap = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(q, trainopt__vi_set1(1u)));
    sin_sign = trainopt__vi_shl(trainopt__vi_and(q, trainopt__vi_set1(2u)), 30);
    cos_sign = trainopt__vi_shl(trainopt__vi_and(trainopt__vi_add(q, trainopt__vi_set1(1u)), trainopt__vi_set1(2u)), 30);
    *s = trainopt__v_from_bits(trainopt__vi_xor(trainopt__v_bits(trainopt__v_select(swap, cs, sn)), sin_sign));
    *c = trainopt__v_from_bits(trainopt__vi_xor(trainopt__v_bits(trainopt__v_select(swap, sn, cs)), cos_sign));
}

/* Inverse error function on [-1, 1] (M. Giles, "Approximating the erfinv
   function", GPU Computing Gems, 2010, single-precision version); +-1 give +-Inf. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__v_erfinv(trainopt__vf x) {
    const trainopt__vf one = trainopt__v_set1(1.0f);
    trainopt__vf t = trainopt__v_mul(trainopt__v_sub(one, x), trainopt__v_add(one, x));
    trainopt__vm edge = trainopt__v_le(t, trainopt__v_zero());
    trainopt__vf w = trainopt__v_xor_bits(trainopt__v_log(trainopt__v_select(edge, one, t)), 0x80000000u);
    trainopt__vf wc = trainopt__v_sub(w, trainopt__v_set1(2.5f));
    trainopt__vf wt = trainopt__v_sub(trainopt__v_sqrt(w), trainopt__v_set1(3.0f));
    trainopt__vf pc = trainopt__v_set1(2.81022636e-08f), pt = trainopt__v_set1(-0.000200214257f), r, inf;
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(3.43273939e-07f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(-3.5233877e-06f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(-4.39150654e-06f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(0.00021858087f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(-0.00125372503f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(-0.00417768164f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(0.246640727f));
    pc = trainopt__v_fma(pc, wc, trainopt__v_set1(1.50140941f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(0.000100950558f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(0.00134934322f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(-0.00367342844f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(0.00573950773f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(-0.0076224613f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(0.00943887047f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(1.00167406f));
    pt = trainopt__v_fma(pt, wt, trainopt__v_set1(2.83297682f));
    r = trainopt__v_mul(trainopt__v_select(trainopt__v_lt(w, trainopt__v_set1(5.0f)), pc, pt), x);
    inf = trainopt__v_from_bits(trainopt__vi_or(trainopt__vi_and(trainopt__v_bits(x), trainopt__vi_set1(0x80000000u)),
                                                trainopt__vi_set1(0x7f800000u)));
    return trainopt__v_select(edge, inf, r);
}

/* >>philox: Philox4x32 on LANES independent counters at once. Random123's
   philox4x32_R: R rounds, the key bumped by the Weyl constants before rounds 2..R.
   The rounds are written out (compilers do not unroll the loop at -O2, and the
   unrolled form folds the key schedule into precomputed vectors). */
#define TRAINOPT__PHILOX_M0 0xD2511F53u
#define TRAINOPT__PHILOX_M1 0xCD9E8D57u
#define TRAINOPT__PHILOX_W0 0x9E3779B9u
#define TRAINOPT__PHILOX_W1 0xBB67AE85u

/* The key schedule: round r uses (k0 + r W0, k1 + r W1). */
typedef struct {
    trainopt__vi k0[10], k1[10];
} trainopt__philox_key;

TRAINOPT__FORCE_INLINE void trainopt__philox_key_init(trainopt__philox_key *k, trainopt__vi k0, trainopt__vi k1) {
    int r;
    for (r = 0; r < 10; r++) {
        k->k0[r] = k0;
        k->k1[r] = k1;
        k0 = trainopt__vi_add(k0, trainopt__vi_set1(TRAINOPT__PHILOX_W0));
        k1 = trainopt__vi_add(k1, trainopt__vi_set1(TRAINOPT__PHILOX_W1));
    }
}

TRAINOPT__FORCE_INLINE void trainopt__philox_round(trainopt__vi c[4], trainopt__vi k0, trainopt__vi k1) {
    const trainopt__vi m0 = trainopt__vi_set1(TRAINOPT__PHILOX_M0), m1 = trainopt__vi_set1(TRAINOPT__PHILOX_M1);
    trainopt__vi hi0, lo0, hi1, lo1;
    trainopt__vi_mul_wide(c[0], m0, &hi0, &lo0);
    trainopt__vi_mul_wide(c[2], m1, &hi1, &lo1);
    c[0] = trainopt__vi_xor(trainopt__vi_xor(hi1, c[1]), k0);
    c[1] = lo1;
    c[2] = trainopt__vi_xor(trainopt__vi_xor(hi0, c[3]), k1);
    c[3] = lo0;
}

/* rounds is 10 in every kernel (7 only in the known-answer test); a constant at each call site. */
TRAINOPT__FORCE_INLINE void trainopt__philox4x32(trainopt__vi c[4], const trainopt__philox_key *k, int rounds) {
    trainopt__philox_round(c, k->k0[0], k->k1[0]);
    trainopt__philox_round(c, k->k0[1], k->k1[1]);
    trainopt__philox_round(c, k->k0[2], k->k1[2]);
    trainopt__philox_round(c, k->k0[3], k->k1[3]);
    trainopt__philox_round(c, k->k0[4], k->k1[4]);
    trainopt__philox_round(c, k->k0[5], k->k1[5]);
    trainopt__philox_round(c, k->k0[6], k->k1[6]);
    if (rounds == 7) return;
    trainopt__philox_round(c, k->k0[7], k->k1[7]);
    trainopt__philox_round(c, k->k0[8], k->k1[8]);
    trainopt__philox_round(c, k->k0[9], k->k1[9]);
}

/* >>rng: the driver shared by every kernel of this family. An element index is
   e = offset + i; the words of a 64-aligned group of e come from 16 consecutive
   blocks (dropout: a 128-aligned group, two 16-bit halves per word), so the main
   loop runs over whole groups with contiguous counters and uses every word of
   every block. The elements before the first whole group and after the last run
   the per-lane path: a vector of k <= LANES elements that computes each lane's
   own block and picks its word (the same words, hence the same bits, at a cost
   of four blocks per LANES elements). */
#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum {
    TRAINOPT__RNG_U32,     /* raw words */
    TRAINOPT__RNG_DROPOUT, /* y = keep ? x * scale : 0, keep bits to the mask writer */
    TRAINOPT__RNG_UNIFORM, /* fma(u, mul, add) */
    TRAINOPT__RNG_NORMAL,  /* fma(z, mul, add), z by Box-Muller */
    TRAINOPT__RNG_TRUNC    /* clamp(fma(erfinv(fma(u, mul, add)), tmul, tadd), lo, hi) */
};
#endif

typedef struct {
    uint64_t seed, offset;
    uint32_t threshold;             /* dropout: dropped where the 32-bit draw < threshold */
    float scale;                    /* dropout: kept elements times scale */
    float mul, add;                 /* see the kinds above */
    float tmul, tadd, lo, hi;       /* trunc_normal */
} trainopt__rng_scalars;

/* Appends bits, least significant first, to a byte array; writes only whole bytes
   until the flush, which writes the last partial byte with its high bits 0. */
typedef struct {
    uint8_t *p;
    uint64_t acc;
    unsigned n; /* pending bits in acc, always < 8 between calls */
} trainopt__bitw;

TRAINOPT__FORCE_INLINE void trainopt__bitw_put(trainopt__bitw *w, uint32_t bits, unsigned k) { /* k <= 32 */
    w->acc |= (uint64_t)bits << w->n;
    w->n += k;
    while (w->n >= 8) {
        *w->p++ = (uint8_t)w->acc;
        w->acc >>= 8;
        w->n -= 8;
    }
}
TRAINOPT__FORCE_INLINE void trainopt__bitw_put64(trainopt__bitw *w, uint64_t bits) {
    uint64_t out = w->acc | (bits << w->n);
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(w->p, &out, 8); /* one store (gcc does not merge the byte stores below) */
#else
    w->p[0] = (uint8_t)out;
    w->p[1] = (uint8_t)(out >> 8);
    w->p[2] = (uint8_t)(out >> 16);
    w->p[3] = (uint8_t)(out >> 24);
    w->p[4] = (uint8_t)(out >> 32);
    w->p[5] = (uint8_t)(out >> 40);
    w->p[6] = (uint8_t)(out >> 48);
    w->p[7] = (uint8_t)(out >> 56);
#endif
    w->p += 8;
    w->acc = w->n ? bits >> (64 - w->n) : 0;
}
TRAINOPT__FORCE_INLINE void trainopt__bitw_flush(trainopt__bitw *w) {
    if (w->n) *w->p = (uint8_t)w->acc;
}

typedef struct {
    const float *x;
    float *y;
    uint32_t *u;
    trainopt__bitw bw;
    int stream; /* dropout: whole group vectors of y go out with streaming stores */
} trainopt__rng_io;

/* The blocks b0 + lane of stream c2 (b0 % LANES == 0, so the low word never carries). */
TRAINOPT__FORCE_INLINE void trainopt__philox_blocks(trainopt__vi c[4], uint64_t b0, uint32_t stream, const trainopt__philox_key *key) {
    c[0] = trainopt__vi_add(trainopt__vi_set1((uint32_t)b0), trainopt__vi_iota());
    c[1] = trainopt__vi_set1((uint32_t)(b0 >> 32));
    c[2] = trainopt__vi_set1(stream);
    c[3] = trainopt__vi_set1(0u);
    trainopt__philox4x32(c, key, 10);
}

/* Two sets of blocks, bc + lane and bd + lane, round by round. One set is a chain
   of ten dependent multiply-and-mix rounds (about 60 cycles), longer than the
   out-of-order window overlaps with the next one; two independent chains
   interleaved nearly double the generator's throughput. */
TRAINOPT__FORCE_INLINE void trainopt__philox_blocks2(trainopt__vi c[4], uint64_t bc, trainopt__vi d[4], uint64_t bd, uint32_t stream,
                                                     const trainopt__philox_key *key) {
    int r;
    c[0] = trainopt__vi_add(trainopt__vi_set1((uint32_t)bc), trainopt__vi_iota());
    c[1] = trainopt__vi_set1((uint32_t)(bc >> 32));
    d[0] = trainopt__vi_add(trainopt__vi_set1((uint32_t)bd), trainopt__vi_iota());
    d[1] = trainopt__vi_set1((uint32_t)(bd >> 32));
    c[2] = d[2] = trainopt__vi_set1(stream);
    c[3] = d[3] = trainopt__vi_set1(0u);
    for (r = 0; r < 10; r++) {
        trainopt__philox_round(c, key->k0[r], key->k1[r]);
        trainopt__philox_round(d, key->k0[r], key->k1[r]);
    }
}

/* e = e0 + lane as 32-bit halves (lo, hi), carrying across 2^32 and wrapping at 2^64. */
TRAINOPT__FORCE_INLINE void trainopt__lane_index(uint64_t e0, trainopt__vi *lo, trainopt__vi *hi) {
    const trainopt__vi base = trainopt__vi_set1((uint32_t)e0);
    *lo = trainopt__vi_add(base, trainopt__vi_iota());
    *hi = trainopt__vi_select(trainopt__vi_lt(*lo, base), trainopt__vi_set1((uint32_t)(e0 >> 32) + 1u),
                              trainopt__vi_set1((uint32_t)(e0 >> 32)));
}

/* Per lane: word (e >> 4) & 3 of the block outputs c. */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__pick_word(const trainopt__vi c[4], trainopt__vi elo) {
    trainopt__vi ws = trainopt__vi_shr(elo, 4);
    trainopt__vm odd = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(ws, trainopt__vi_set1(1u)));
    trainopt__vm upper = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(ws, trainopt__vi_set1(2u)));
    return trainopt__vi_select(upper, trainopt__vi_select(odd, c[3], c[2]), trainopt__vi_select(odd, c[1], c[0]));
}

/* u = (w >> 8) * 2^-24: the top 24 bits of a word as a float in [0, 1). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__u24(trainopt__vi w) {
    return trainopt__v_mul(trainopt__vi_to_f(trainopt__vi_shr(w, 8)), trainopt__v_set1(5.9604644775390625e-8f));
}

/* Box-Muller on two words: zc = r cos(2 pi t), zs = r sin(2 pi t). */
TRAINOPT__FORCE_INLINE void trainopt__box_muller(trainopt__vi w_radius, trainopt__vi w_angle, trainopt__vf *zc,
                                                 trainopt__vf *zs) {
    /* u1 = 1 - (w >> 8) 2^-24 = (2^24 - (w >> 8)) 2^-24 in (0, 1], exactly. */
    trainopt__vf u1 = trainopt__v_mul(trainopt__vi_to_f(trainopt__vi_sub(trainopt__vi_set1(1u << 24), trainopt__vi_shr(w_radius, 8))),
                                      trainopt__v_set1(5.9604644775390625e-8f));
    trainopt__vf r = trainopt__v_sqrt(trainopt__v_mul(trainopt__v_log(u1), trainopt__v_set1(-2.0f)));
    trainopt__vf s, c;
    trainopt__v_sincos2pi(trainopt__vi_shr(w_angle, 8), &s, &c);
    *zc = trainopt__v_mul(r, c);
    *zs = trainopt__v_mul(r, s);
}

/* The output of a one-word kind (u32, uniform, trunc) for k lanes at call index i. */
TRAINOPT__FORCE_INLINE void trainopt__rng_one(int kind, const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i,
                                              size_t k, trainopt__vi w) {
    if (kind == TRAINOPT__RNG_U32) {
        trainopt__vi_store_n(io->u + i, w, k);
    } else if (kind == TRAINOPT__RNG_UNIFORM) {
        trainopt__v_store_n(io->y + i, trainopt__v_fma(trainopt__u24(w), trainopt__v_set1(s->mul), trainopt__v_set1(s->add)), k);
    } else { /* TRAINOPT__RNG_TRUNC */
        trainopt__vf v = trainopt__v_fma(trainopt__u24(w), trainopt__v_set1(s->mul), trainopt__v_set1(s->add));
        trainopt__vf z = trainopt__v_fma(trainopt__v_erfinv(v), trainopt__v_set1(s->tmul), trainopt__v_set1(s->tadd));
        z = trainopt__v_min(trainopt__v_max(z, trainopt__v_set1(s->lo)), trainopt__v_set1(s->hi));
        trainopt__v_store_n(io->y + i, z, k);
    }
}

/* Box-Muller on words (w, w + 1) of c: elements ib + 16w + j0 and ib + 16w + 16 + j0. */
TRAINOPT__FORCE_INLINE void trainopt__normal_pair(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i,
                                                  trainopt__vi w_radius, trainopt__vi w_angle) {
    trainopt__vf zc, zs;
    trainopt__box_muller(w_radius, w_angle, &zc, &zs);
    trainopt__v_store(io->y + i, trainopt__v_fma(zc, trainopt__v_set1(s->mul), trainopt__v_set1(s->add)));
    trainopt__v_store(io->y + i + 16, trainopt__v_fma(zs, trainopt__v_set1(s->mul), trainopt__v_set1(s->add)));
}

/* The four words of a batch of LANES consecutive blocks (b0 + j0 + lane of a
   64-element group whose element 0 is at call index ib): elements ib + j0 + 16w. */
TRAINOPT__FORCE_INLINE void trainopt__rng_batch(int kind, const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i,
                                                const trainopt__vi c[4]) {
    if (kind == TRAINOPT__RNG_NORMAL) {
        trainopt__normal_pair(s, io, i, c[0], c[1]);
        trainopt__normal_pair(s, io, i + 32, c[2], c[3]);
    } else {
        trainopt__rng_one(kind, s, io, i, TRAINOPT_SIMD_LANES, c[0]);
        trainopt__rng_one(kind, s, io, i + 16, TRAINOPT_SIMD_LANES, c[1]);
        trainopt__rng_one(kind, s, io, i + 32, TRAINOPT_SIMD_LANES, c[2]);
        trainopt__rng_one(kind, s, io, i + 48, TRAINOPT_SIMD_LANES, c[3]);
    }
}

/* Runs of whole groups (64 elements, or dropout's 128) are cut into batches of
   LANES blocks, 16 / LANES per group, that go through Philox two at a time.
   Batch q is group g = q / (16/LANES), blocks j0 .. j0+LANES-1 of it: first block
   b = ((e + g * 2^log2_size) >> (log2_size - 4)) + j0, that is (group's first
   element >> log2_size) * 16 + j0, with e wrapping at 2^64 as element indices do. */
typedef struct {
    size_t g, j0;
    uint64_t b;
} trainopt__batch;

TRAINOPT__FORCE_INLINE trainopt__batch trainopt__batch_at(uint64_t e, size_t q, int log2_size) {
    const size_t per_group = 16 / TRAINOPT_SIMD_LANES;
    trainopt__batch t;
    t.g = q / per_group;
    t.j0 = q % per_group * TRAINOPT_SIMD_LANES;
    t.b = ((e + ((uint64_t)t.g << log2_size)) >> (log2_size - 4)) + t.j0;
    return t;
}

/* ngroups (1 or 2) whole 64-element groups: e = E .. E+64*ngroups-1 (E a multiple
   of 64) at call indices ib ... */
TRAINOPT__FORCE_INLINE void trainopt__rng_groups(int kind, const trainopt__rng_scalars *s, trainopt__rng_io *io,
                                                 const trainopt__philox_key *key, uint64_t e, size_t ib, size_t ngroups) {
    const size_t batches = ngroups * (16 / TRAINOPT_SIMD_LANES);
    size_t q;
    for (q = 0; q < batches; q += 2) {
        const trainopt__batch t0 = trainopt__batch_at(e, q, 6);
        trainopt__vi c[4], d[4];
        if (q + 1 < batches) {
            const trainopt__batch t1 = trainopt__batch_at(e, q + 1, 6);
            trainopt__philox_blocks2(c, t0.b, d, t1.b, 0u, key);
            trainopt__rng_batch(kind, s, io, ib + 64 * t0.g + t0.j0, c);
            trainopt__rng_batch(kind, s, io, ib + 64 * t1.g + t1.j0, d);
        } else {
            trainopt__philox_blocks(c, t0.b, 0u, key);
            trainopt__rng_batch(kind, s, io, ib + 64 * t0.g + t0.j0, c);
        }
    }
}

/* k <= LANES elements at call index i, any alignment of e: each lane computes its own block. */
TRAINOPT__FORCE_INLINE void trainopt__rng_partial(int kind, const trainopt__rng_scalars *s, trainopt__rng_io *io,
                                                  const trainopt__philox_key *key, size_t i, size_t k) {
    trainopt__vi elo, ehi, c[4];
    trainopt__lane_index(s->offset + i, &elo, &ehi);
    /* b = (e >> 6) * 16 + (e & 15) = ((e >> 2) & ~15) | (e & 15), in 32-bit halves. */
    c[0] = trainopt__vi_or(trainopt__vi_and(trainopt__vi_or(trainopt__vi_shr(elo, 2), trainopt__vi_shl(ehi, 30)), trainopt__vi_set1(~15u)),
                           trainopt__vi_and(elo, trainopt__vi_set1(15u)));
    c[1] = trainopt__vi_shr(ehi, 2);
    c[2] = c[3] = trainopt__vi_set1(0u);
    trainopt__philox4x32(c, key, 10);
    if (kind == TRAINOPT__RNG_NORMAL) {
        /* The pair is words 0, 1 or 2, 3 of the lane's block; an odd word takes the sine. */
        trainopt__vi ws = trainopt__vi_shr(elo, 4);
        trainopt__vm odd = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(ws, trainopt__vi_set1(1u)));
        trainopt__vm upper = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(ws, trainopt__vi_set1(2u)));
        trainopt__vf zc, zs;
        trainopt__box_muller(trainopt__vi_select(upper, c[2], c[0]), trainopt__vi_select(upper, c[3], c[1]), &zc, &zs);
        trainopt__v_store_n(io->y + i, trainopt__v_fma(trainopt__v_select(odd, zs, zc), trainopt__v_set1(s->mul), trainopt__v_set1(s->add)), k);
    } else {
        trainopt__rng_one(kind, s, io, i, k, trainopt__pick_word(c, elo));
    }
}

/* Dropout draws 16 bits per element: element e takes half (e >> 6) & 1 of word
   (e >> 4) & 3 of block (e >> 7) * 16 + (e & 15), which alone decides unless it
   equals the threshold's high half (probability 2^-16); then the same half of the
   same word of the same block in stream c2 = 1 supplies the low 16 bits. So the
   decision is exactly "the 32-bit draw (h << 16 | h1) < threshold" at half the
   generator cost of one word per element. */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__half16(trainopt__vi w, int high) {
    return high ? trainopt__vi_shr(w, 16) : trainopt__vi_and(w, trainopt__vi_set1(0xffffu));
}

/* y = x * scale where kept, x * 0 where dropped (PyTorch's x * noise: NaN stays NaN),
   for k lanes at call index i; returns the keep bits. k is LANES in a whole group,
   whose vectors are the aligned ones io->stream speaks of; below LANES in partials. */
TRAINOPT__FORCE_INLINE uint32_t trainopt__dropout_lanes(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i,
                                                        size_t k, int in_group, trainopt__vm keep) {
    const trainopt__vf y =
        trainopt__v_mul(trainopt__v_load_n(io->x + i, k), trainopt__v_select(keep, trainopt__v_set1(s->scale), trainopt__v_zero()));
    if (in_group && io->stream) trainopt__v_stream(io->y + i, y);
    else trainopt__v_store_n(io->y + i, y, k);
    return trainopt__m_bits(keep);
}

/* Nonzero high bits (0x80008000) in a lane where a 16-bit half of w equals the
   threshold's high half h (thi2 = h * 0x10001): the exact "has a zero field"
   test (x - 0x00010001) & ~x & 0x80008000 on x = w ^ thi2. A borrow can only
   start at a zero half, so a lane without one gives 0. */
TRAINOPT__FORCE_INLINE trainopt__vi trainopt__dropout_ties(trainopt__vi w, trainopt__vi thi2) {
    const trainopt__vi x = trainopt__vi_xor(w, thi2);
    return trainopt__vi_and(trainopt__vi_sub(x, trainopt__vi_set1(0x00010001u)),
                            trainopt__vi_andnot(x, trainopt__vi_set1(0x80008000u)));
}

/* Both halves of word vector w of a group: call indices i (low halves) and i + 64
   (high halves), mask bits at `shift` of bits[0] and bits[1]. Without a tie the
   high 16 bits decide; with one (tie != 0) the stream-1 word t breaks it. */
TRAINOPT__FORCE_INLINE void trainopt__dropout_word(const trainopt__rng_scalars *s, const trainopt__rng_io *io, size_t i, int shift,
                                                   int tie, trainopt__vi w, trainopt__vi t, uint64_t bits[2]) {
    trainopt__vm keep0, keep1;
    if (!tie) {
        const trainopt__vi thi = trainopt__vi_set1(s->threshold >> 16);
        keep0 = trainopt__vi_ge(trainopt__half16(w, 0), thi);
        keep1 = trainopt__vi_ge(trainopt__half16(w, 1), thi);
    } else {
        const trainopt__vi th = trainopt__vi_set1(s->threshold);
        keep0 = trainopt__vi_ge(trainopt__vi_or(trainopt__vi_shl(w, 16), trainopt__half16(t, 0)), th);
        keep1 = trainopt__vi_ge(trainopt__vi_or(trainopt__vi_and(w, trainopt__vi_set1(0xffff0000u)), trainopt__half16(t, 1)), th);
    }
    bits[0] |= (uint64_t)trainopt__dropout_lanes(s, io, i, TRAINOPT_SIMD_LANES, 1, keep0) << shift;
    bits[1] |= (uint64_t)trainopt__dropout_lanes(s, io, i + 64, TRAINOPT_SIMD_LANES, 1, keep1) << shift;
}

/* One batch of LANES blocks (b + lane, stream 0, already computed in c) of a
   128-element group: call indices i + 16w and i + 64 + 16w, mask bits at
   shift + 16w of bits[0] and bits[1]. */
TRAINOPT__FORCE_INLINE void trainopt__dropout_batch(const trainopt__rng_scalars *s, const trainopt__rng_io *io,
                                                    const trainopt__philox_key *key, uint64_t b, size_t i, int shift,
                                                    const trainopt__vi c[4], uint64_t bits[2]) {
    const trainopt__vi thi2 = trainopt__vi_set1((s->threshold >> 16) * 0x10001u);
    if (!trainopt__vi_any(trainopt__vi_or(trainopt__vi_or(trainopt__dropout_ties(c[0], thi2), trainopt__dropout_ties(c[1], thi2)),
                                          trainopt__vi_or(trainopt__dropout_ties(c[2], thi2), trainopt__dropout_ties(c[3], thi2))))) {
        trainopt__dropout_word(s, io, i, shift, 0, c[0], c[0], bits);
        trainopt__dropout_word(s, io, i + 16, 16 + shift, 0, c[1], c[1], bits);
        trainopt__dropout_word(s, io, i + 32, 32 + shift, 0, c[2], c[2], bits);
        trainopt__dropout_word(s, io, i + 48, 48 + shift, 0, c[3], c[3], bits);
    } else { /* rare: 2^-16 per element */
        trainopt__vi d[4];
        trainopt__philox_blocks(d, b, 1u, key);
        trainopt__dropout_word(s, io, i, shift, 1, c[0], d[0], bits);
        trainopt__dropout_word(s, io, i + 16, 16 + shift, 1, c[1], d[1], bits);
        trainopt__dropout_word(s, io, i + 32, 32 + shift, 1, c[2], d[2], bits);
        trainopt__dropout_word(s, io, i + 48, 48 + shift, 1, c[3], d[3], bits);
    }
}

/* ngroups (1 or 2) whole 128-element groups: e = E .. (E a multiple of 128) at call
   indices ib ..; batches through Philox two at a time, as trainopt__rng_groups. */
TRAINOPT__FORCE_INLINE void trainopt__dropout_groups(int has_mask, const trainopt__rng_scalars *s, trainopt__rng_io *io,
                                                     const trainopt__philox_key *key, uint64_t e, size_t ib, size_t ngroups) {
    const size_t batches = ngroups * (16 / TRAINOPT_SIMD_LANES);
    uint64_t bits[2][2] = {{0, 0}, {0, 0}};
    size_t q, g;
    for (q = 0; q < batches; q += 2) {
        const trainopt__batch t0 = trainopt__batch_at(e, q, 7);
        trainopt__vi c[4], d[4];
        if (q + 1 < batches) {
            const trainopt__batch t1 = trainopt__batch_at(e, q + 1, 7);
            trainopt__philox_blocks2(c, t0.b, d, t1.b, 0u, key);
            trainopt__dropout_batch(s, io, key, t0.b, ib + 128 * t0.g + t0.j0, (int)t0.j0, c, bits[t0.g]);
            trainopt__dropout_batch(s, io, key, t1.b, ib + 128 * t1.g + t1.j0, (int)t1.j0, d, bits[t1.g]);
        } else {
            trainopt__philox_blocks(c, t0.b, 0u, key);
            trainopt__dropout_batch(s, io, key, t0.b, ib + 128 * t0.g + t0.j0, (int)t0.j0, c, bits[t0.g]);
        }
    }
    if (has_mask)
        for (g = 0; g < ngroups; g++) {
            trainopt__bitw_put64(&io->bw, bits[g][0]);
            trainopt__bitw_put64(&io->bw, bits[g][1]);
        }
}

/* k <= LANES dropout elements at call index i, any alignment: both streams, every lane its own block. */
TRAINOPT__FORCE_INLINE void trainopt__dropout_partial(int has_mask, const trainopt__rng_scalars *s, trainopt__rng_io *io,
                                                      const trainopt__philox_key *key, size_t i, size_t k) {
    trainopt__vi elo, ehi, c[4], d[4], wc, wd, draw;
    trainopt__vm high;
    uint32_t bits;
    trainopt__lane_index(s->offset + i, &elo, &ehi);
    /* b = (e >> 7) * 16 + (e & 15) = ((e >> 3) & ~15) | (e & 15), in 32-bit halves. */
    c[0] = trainopt__vi_or(trainopt__vi_and(trainopt__vi_or(trainopt__vi_shr(elo, 3), trainopt__vi_shl(ehi, 29)), trainopt__vi_set1(~15u)),
                           trainopt__vi_and(elo, trainopt__vi_set1(15u)));
    c[1] = trainopt__vi_shr(ehi, 3);
    c[2] = c[3] = trainopt__vi_set1(0u);
    d[0] = c[0];
    d[1] = c[1];
    d[2] = trainopt__vi_set1(1u);
    d[3] = c[3];
    trainopt__philox4x32(c, key, 10);
    trainopt__philox4x32(d, key, 10);
    wc = trainopt__pick_word(c, elo);
    wd = trainopt__pick_word(d, elo);
    high = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(elo, trainopt__vi_set1(64u)));
    draw = trainopt__vi_or(trainopt__vi_shl(trainopt__vi_select(high, trainopt__half16(wc, 1), trainopt__half16(wc, 0)), 16),
                           trainopt__vi_select(high, trainopt__half16(wd, 1), trainopt__half16(wd, 0)));
    bits = trainopt__dropout_lanes(s, io, i, k, 0, trainopt__vi_ge(draw, trainopt__vi_set1(s->threshold)));
    if (has_mask) trainopt__bitw_put(&io->bw, bits & (uint32_t)((1ull << k) - 1u), (unsigned)k);
}

TRAINOPT__FORCE_INLINE void trainopt__rng_run(int kind, int has_mask, const trainopt__rng_scalars *s, trainopt__rng_io *io, size_t n) {
    const size_t group = kind == TRAINOPT__RNG_DROPOUT ? 128 : 64;
    trainopt__philox_key key;
    size_t head = (size_t)((group - (s->offset & (group - 1))) & (group - 1)), i = 0, end, k, ngroups;
    trainopt__philox_key_init(&key, trainopt__vi_set1((uint32_t)s->seed), trainopt__vi_set1((uint32_t)(s->seed >> 32)));
    if (head > n) head = n;
    end = head + (n - head) / group * group;
    for (; i < head; i += k) {
        k = head - i < TRAINOPT_SIMD_LANES ? head - i : TRAINOPT_SIMD_LANES;
        if (kind == TRAINOPT__RNG_DROPOUT) trainopt__dropout_partial(has_mask, s, io, &key, i, k);
        else trainopt__rng_partial(kind, s, io, &key, i, k);
    }
    for (; i < end; i += ngroups * group) {
        ngroups = end - i >= 2 * group ? 2 : 1;
        if (kind == TRAINOPT__RNG_DROPOUT) trainopt__dropout_groups(has_mask, s, io, &key, s->offset + i, i, ngroups);
        else trainopt__rng_groups(kind, s, io, &key, s->offset + i, i, ngroups);
    }
    for (; i < n; i += k) {
        k = n - i < TRAINOPT_SIMD_LANES ? n - i : TRAINOPT_SIMD_LANES;
        if (kind == TRAINOPT__RNG_DROPOUT) trainopt__dropout_partial(has_mask, s, io, &key, i, k);
        else trainopt__rng_partial(kind, s, io, &key, i, k);
    }
    if (kind == TRAINOPT__RNG_DROPOUT && has_mask) trainopt__bitw_flush(&io->bw);
}

/* >>rand */
TRAINOPT__FORCE_INLINE int trainopt__float_range(double x) { return trainopt__finite(x) && fabs(x) <= 3.4028234663852886e38; }

/* Overlap of two byte ranges. */

TRAINOPT__FORCE_INLINE void trainopt__rng_init(trainopt__rng_scalars *s, trainopt__rng_io *io, uint64_t seed, uint64_t offset) {
    memset(s, 0, sizeof *s);
    memset(io, 0, sizeof *io);
    s->seed = seed;
    s->offset = offset;
}

/* out[i] = the 32-bit word of element offset + i (see the manual for the mapping). */
TRAINOPT_API trainopt_status trainopt_rand_u32(uint64_t seed, uint64_t offset, size_t n, uint32_t *out) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    if (n == 0) return TRAINOPT_OK;
    if (out == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(uint32_t)) return TRAINOPT_ERR_SHAPE;
    trainopt__rng_init(&s, &io, seed, offset);
    io.u = out;
    trainopt__rng_run(TRAINOPT__RNG_U32, 0, &s, &io, n);
    return TRAINOPT_OK;
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__check_out(size_t n, const float *out) {
    if (out == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    return TRAINOPT_OK;
}

/* Uniform on [lo, hi) (hi itself only by rounding), as torch.Tensor.uniform_(lo, hi). */
TRAINOPT_API trainopt_status trainopt_rand_uniform(uint64_t seed, uint64_t offset, size_t n, double lo, double hi, float *out) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    trainopt_status st;
    if (!trainopt__float_range(lo) || !trainopt__float_range(hi) || !(lo <= hi) || !trainopt__float_range(hi - lo))
        return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if ((st = trainopt__check_out(n, out)) != TRAINOPT_OK) return st;
    trainopt__rng_init(&s, &io, seed, offset);
    s.mul = (float)(hi - lo);
    s.add = (float)lo;
    io.y = out;
    trainopt__rng_run(TRAINOPT__RNG_UNIFORM, 0, &s, &io, n);
    return TRAINOPT_OK;
}

/* Normal(mean, std^2), as torch.Tensor.normal_(mean, std); std == 0 gives mean. */
TRAINOPT_API trainopt_status trainopt_rand_normal(uint64_t seed, uint64_t offset, size_t n, double mean, double std, float *out) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    trainopt_status st;
    if (!trainopt__float_range(mean) || !trainopt__float_range(std) || std < 0.0) return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if ((st = trainopt__check_out(n, out)) != TRAINOPT_OK) return st;
    trainopt__rng_init(&s, &io, seed, offset);
    s.mul = (float)std;
    s.add = (float)mean;
    io.y = out;
    trainopt__rng_run(TRAINOPT__RNG_NORMAL, 0, &s, &io, n);
    return TRAINOPT_OK;
}

/* >>dropout */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__dropout_check(double p, size_t n, const float *x, const float *y,
                                                               const uint8_t *mask) {
    size_t bytes;
    if (!(p >= 0.0 && p <= 1.0)) return TRAINOPT_ERR_HPARAM; /* NaN fails too */
    if (n == 0) return TRAINOPT_OK;
    if (x == NULL || y == NULL) return TRAINOPT_ERR_NULL;
    if (n > SIZE_MAX / sizeof(float)) return TRAINOPT_ERR_SHAPE;
    bytes = n * sizeof(float);
    if (x != y && trainopt__overlap(x, bytes, y, bytes)) return TRAINOPT_ERR_ALIAS;
    if (mask && (trainopt__overlap(mask, (n + 7) / 8, x, bytes) || trainopt__overlap(mask, (n + 7) / 8, y, bytes)))
        return TRAINOPT_ERR_ALIAS;
    return TRAINOPT_OK;
}

/* Writes n mask bits, all ones or all zeros (the last byte's unused bits 0). */
TRAINOPT__FORCE_INLINE void trainopt__mask_fill(uint8_t *mask, size_t n, int ones) {
    memset(mask, ones ? 0xff : 0, n / 8);
    if (n % 8) mask[n / 8] = (uint8_t)(ones ? (1u << (n % 8)) - 1u : 0u);
}

/* round(p * 2^32), clamped to 2^32 - 1: an element is dropped where its word is below it. */
TRAINOPT__FORCE_INLINE uint32_t trainopt__dropout_threshold(double p) {
    double d = p * 4294967296.0; /* exact */
    uint64_t t = (uint64_t)d;
    if (d - (double)t >= 0.5) t++;
    return t > 0xffffffffu ? 0xffffffffu : (uint32_t)t;
}

/* y = x * c over n elements (p == 1: PyTorch multiplies by zero noise). */
TRAINOPT__FORCE_INLINE void trainopt__scale_lanes(size_t i, size_t k, float c, const float *x, float *y) {
    trainopt__v_store_n(y + i, trainopt__v_mul(trainopt__v_load_n(x + i, k), trainopt__v_set1(c)), k);
}
TRAINOPT__FORCE_INLINE void trainopt__scale_loop(size_t n, float c, const float *x, float *y) {
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES) trainopt__scale_lanes(i, TRAINOPT_SIMD_LANES, c, x, y);
    if (i < n) trainopt__scale_lanes(i, n - i, c, x, y);
}

/* The shared body of forward and regenerating backward: y from x with the keep bits of (seed, offset). */
TRAINOPT__FORCE_INLINE void trainopt__dropout_apply(double p, uint64_t seed, uint64_t offset, size_t n, const float *x, float *y,
                                                    uint8_t *mask) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    if (p == 0.0 || p == 1.0) {
        if (p == 0.0 && x != y) memcpy(y, x, n * sizeof(float));
        if (p == 1.0) trainopt__scale_loop(n, 0.0f, x, y); /* x * 0, as PyTorch: NaN stays NaN */
        if (mask) trainopt__mask_fill(mask, n, p == 0.0);
        return;
    }
    trainopt__rng_init(&s, &io, seed, offset);
    s.threshold = trainopt__dropout_threshold(p);
    s.scale = (float)(1.0 / (1.0 - p));
    io.x = x;
    io.y = y;
    io.bw.p = mask;
    /* Streaming stores need every whole-group vector aligned: the groups start
       at call index head = (-offset) % 128, and their vectors are LANES apart. */
    io.stream = n >= TRAINOPT_STREAM_BYTES / sizeof(float) &&
                (uintptr_t)(y + ((128 - offset % 128) % 128)) % TRAINOPT__STREAM_ALIGN == 0;
    if (mask) trainopt__rng_run(TRAINOPT__RNG_DROPOUT, 1, &s, &io, n);
    else trainopt__rng_run(TRAINOPT__RNG_DROPOUT, 0, &s, &io, n);
    if (io.stream) trainopt__stream_fence();
}

TRAINOPT_API trainopt_status trainopt_dropout_forward(double p, uint64_t seed, uint64_t offset, size_t n, const float *x, float *y,
                                                     uint8_t *mask) {
    trainopt_status st = trainopt__dropout_check(p, n, x, y, mask);
    if (st != TRAINOPT_OK || n == 0) return st;
    trainopt__dropout_apply(p, seed, offset, n, x, y, mask);
    return TRAINOPT_OK;
}

/* Bits i .. i+k-1 (k <= 16) of a mask, reading only the bytes that hold them. */
TRAINOPT__FORCE_INLINE uint32_t trainopt__mask_read(const uint8_t *mask, size_t i, size_t k) {
    size_t first = i / 8, last = (i + k - 1) / 8;
    uint32_t v = mask[first];
    if (last > first) v |= (uint32_t)mask[first + 1] << 8;
    if (last > first + 1) v |= (uint32_t)mask[first + 2] << 16;
    return (v >> (i % 8)) & (uint32_t)((1ull << k) - 1u);
}

TRAINOPT__FORCE_INLINE void trainopt__dropout_mask_lanes(size_t i, size_t k, int copy, float scale, trainopt__vi lane_bits,
                                                         const float *dy, float *dx, const uint8_t *mask) {
    trainopt__vi bits = trainopt__vi_set1(trainopt__mask_read(mask, i, k));
    trainopt__vm keep = trainopt__vi_lt(trainopt__vi_set1(0u), trainopt__vi_and(bits, lane_bits));
    trainopt__vf g = trainopt__v_load_n(dy + i, k);
    trainopt__vf kept = copy ? g : trainopt__v_mul(g, trainopt__v_set1(scale));
    trainopt__v_store_n(dx + i, trainopt__v_select(keep, kept, trainopt__v_mul(g, trainopt__v_zero())), k);
}

TRAINOPT__FORCE_INLINE void trainopt__dropout_mask_loop(size_t n, int copy, float scale, const float *dy, float *dx,
                                                        const uint8_t *mask) {
    const trainopt__vi lane_bits = trainopt__vi_lane_bits();
    size_t i = 0;
    for (; i + TRAINOPT_SIMD_LANES <= n; i += TRAINOPT_SIMD_LANES)
        trainopt__dropout_mask_lanes(i, TRAINOPT_SIMD_LANES, copy, scale, lane_bits, dy, dx, mask);
    if (i < n) trainopt__dropout_mask_lanes(i, n - i, copy, scale, lane_bits, dy, dx, mask);
}

TRAINOPT_API trainopt_status trainopt_dropout_backward(double p, uint64_t seed, uint64_t offset, size_t n, const float *dy,
                                                      float *dx, const uint8_t *mask) {
    trainopt_status st = trainopt__dropout_check(p, n, dy, dx, mask);
    if (st != TRAINOPT_OK || n == 0) return st;
    if (mask == NULL) {
        trainopt__dropout_apply(p, seed, offset, n, dy, dx, NULL);
    } else if (p == 1.0) {
        trainopt__scale_loop(n, 0.0f, dy, dx);
    } else if (p == 0.0) {
        trainopt__dropout_mask_loop(n, 1, 1.0f, dy, dx, mask);
    } else {
        trainopt__dropout_mask_loop(n, 0, (float)(1.0 / (1.0 - p)), dy, dx, mask);
    }
    return TRAINOPT_OK;
}

/* >>init */
#ifndef TRAINOPT__TYPES_DEFINED
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
#endif

/* The product rounded on its own, as Python rounds it before the sum that follows
   (volatile keeps -ffp-contract from fusing it into that sum). */
TRAINOPT__FORCE_INLINE double trainopt__mul_rounded(double a, double b) {
    volatile double p = a * b;
    return p;
}

/* torch.nn.init.calculate_gain; `param` is leaky_relu's negative slope (PyTorch's
   default is 0.01) and is ignored by the others. NaN for an unknown nonlinearity
   or a non-finite slope. */
TRAINOPT_API double trainopt_calculate_gain(trainopt_nonlinearity nl, double param) {
    switch (nl) {
    case TRAINOPT_NL_LINEAR:
    case TRAINOPT_NL_SIGMOID: return 1.0;
    case TRAINOPT_NL_TANH: return 5.0 / 3.0;
    case TRAINOPT_NL_RELU: return sqrt(2.0);
    case TRAINOPT_NL_LEAKY_RELU:
        if (!trainopt__finite(param)) return NAN;
        return sqrt(2.0 / (1.0 + trainopt__mul_rounded(param, param)));
    case TRAINOPT_NL_SELU: return 3.0 / 4.0;
    }
    return NAN;
}

/* torch.nn.init._calculate_fan_in_and_fan_out for a weight of shape[0..ndim):
   fan_in = shape[1] * receptive, fan_out = shape[0] * receptive, receptive =
   the product of shape[2..]. ERR_SHAPE when ndim < 2 or a product overflows. */
TRAINOPT_API trainopt_status trainopt_calculate_fans(size_t ndim, const size_t *shape, size_t *fan_in, size_t *fan_out) {
    size_t receptive = 1, d;
    if (shape == NULL || fan_in == NULL || fan_out == NULL) return TRAINOPT_ERR_NULL;
    if (ndim < 2) return TRAINOPT_ERR_SHAPE;
    for (d = 2; d < ndim; d++) {
        if (shape[d] != 0 && receptive > SIZE_MAX / shape[d]) return TRAINOPT_ERR_SHAPE;
        receptive *= shape[d];
    }
    if ((receptive != 0 && shape[1] > SIZE_MAX / receptive) || (receptive != 0 && shape[0] > SIZE_MAX / receptive))
        return TRAINOPT_ERR_SHAPE;
    *fan_in = shape[1] * receptive;
    *fan_out = shape[0] * receptive;
    return TRAINOPT_OK;
}

/* Xavier's deviation gain * sqrt(2 / (fan_in + fan_out)); negative when the fans are unusable. */
TRAINOPT__FORCE_INLINE double trainopt__xavier_std(size_t fan_in, size_t fan_out, double gain) {
    if (fan_in == 0 || fan_out == 0 || fan_in > SIZE_MAX - fan_out) return -1.0;
    return gain * sqrt(2.0 / (double)(fan_in + fan_out));
}

/* Kaiming's deviation gain / sqrt(fan); -1 for a zero fan, NaN for a bad config. */
TRAINOPT__FORCE_INLINE double trainopt__kaiming_std(const trainopt_kaiming_config *c, size_t fan_in, size_t fan_out) {
    size_t fan;
    if ((c->mode != TRAINOPT_FAN_IN && c->mode != TRAINOPT_FAN_OUT) || !trainopt__finite(c->a)) return NAN;
    fan = c->mode == TRAINOPT_FAN_IN ? fan_in : fan_out;
    if (fan == 0) return -1.0;
    return trainopt_calculate_gain(c->nonlinearity, c->a) / sqrt((double)fan);
}

/* Shared tail of the initializers: U(-bound, bound) or N(0, std). */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__init_fill(int normal, uint64_t seed, uint64_t offset, size_t n, double scale,
                                                           float *out) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    trainopt__rng_init(&s, &io, seed, offset);
    io.y = out;
    if (normal) {
        s.mul = (float)scale;
        s.add = 0.0f;
        trainopt__rng_run(TRAINOPT__RNG_NORMAL, 0, &s, &io, n);
    } else {
        /* PyTorch: uniform_(-bound, bound), i.e. u * (bound - -bound) + -bound */
        s.mul = (float)(2.0 * scale);
        s.add = (float)-scale;
        trainopt__rng_run(TRAINOPT__RNG_UNIFORM, 0, &s, &io, n);
    }
    return TRAINOPT_OK;
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__xavier(int normal, uint64_t seed, uint64_t offset, size_t n, size_t fan_in,
                                                        size_t fan_out, double gain, float *out) {
    double std;
    trainopt_status st;
    if (!trainopt__finite(gain) || gain < 0.0) return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    std = trainopt__xavier_std(fan_in, fan_out, gain);
    if (std < 0.0) return TRAINOPT_ERR_SHAPE;
    if (!normal) std = sqrt(3.0) * std; /* the bound */
    if (!trainopt__float_range(2.0 * std)) return TRAINOPT_ERR_HPARAM; /* a gain too large for float */
    if ((st = trainopt__check_out(n, out)) != TRAINOPT_OK) return st;
    return trainopt__init_fill(normal, seed, offset, n, std, out);
}

/* torch.nn.init.xavier_uniform_: U(-a, a), a = gain * sqrt(2 / (fan_in + fan_out)) * sqrt(3). */
TRAINOPT_API trainopt_status trainopt_xavier_uniform(uint64_t seed, uint64_t offset, size_t n, size_t fan_in, size_t fan_out,
                                                    double gain, float *out) {
    return trainopt__xavier(0, seed, offset, n, fan_in, fan_out, gain, out);
}

/* torch.nn.init.xavier_normal_: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)). */
TRAINOPT_API trainopt_status trainopt_xavier_normal(uint64_t seed, uint64_t offset, size_t n, size_t fan_in, size_t fan_out,
                                                   double gain, float *out) {
    return trainopt__xavier(1, seed, offset, n, fan_in, fan_out, gain, out);
}

TRAINOPT__FORCE_INLINE trainopt_status trainopt__kaiming(int normal, const trainopt_kaiming_config *c, uint64_t seed,
                                                         uint64_t offset, size_t n, size_t fan_in, size_t fan_out, float *out) {
    double std, gain;
    trainopt_status st;
    if (c == NULL) return TRAINOPT_ERR_NULL;
    gain = trainopt_calculate_gain(c->nonlinearity, c->a); /* NaN for an unknown nonlinearity */
    if ((c->mode != TRAINOPT_FAN_IN && c->mode != TRAINOPT_FAN_OUT) || !trainopt__finite(c->a) || gain != gain)
        return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    std = trainopt__kaiming_std(c, fan_in, fan_out);
    if (std < 0.0) return TRAINOPT_ERR_SHAPE;
    if ((st = trainopt__check_out(n, out)) != TRAINOPT_OK) return st;
    return trainopt__init_fill(normal, seed, offset, n, normal ? std : sqrt(3.0) * std, out);
}

/* torch.nn.init.kaiming_uniform_: U(-b, b), b = sqrt(3) * calculate_gain(nl, a) / sqrt(fan). */
TRAINOPT_API trainopt_status trainopt_kaiming_uniform(const trainopt_kaiming_config *c, uint64_t seed, uint64_t offset, size_t n,
                                                     size_t fan_in, size_t fan_out, float *out) {
    return trainopt__kaiming(0, c, seed, offset, n, fan_in, fan_out, out);
}

/* torch.nn.init.kaiming_normal_: N(0, std^2), std = calculate_gain(nl, a) / sqrt(fan). */
TRAINOPT_API trainopt_status trainopt_kaiming_normal(const trainopt_kaiming_config *c, uint64_t seed, uint64_t offset, size_t n,
                                                    size_t fan_in, size_t fan_out, float *out) {
    return trainopt__kaiming(1, c, seed, offset, n, fan_in, fan_out, out);
}

/* erf in double by its Taylor series, a fixed sequence of IEEE operations (libm's
   erf may differ in the last bit between platforms). Accurate to about 1e-13
   absolute for |x| <= 4.5, where the alternating series still converges well;
   beyond, erf is within 2e-10 of +-1 and returned as +-1 (the same float). */
TRAINOPT__FORCE_INLINE double trainopt__erf(double x) {
    double x2 = x * x, term = x, sum = x;
    int k;
    if (!(fabs(x) <= 4.5)) return x > 0.0 ? 1.0 : -1.0;
    for (k = 1; k <= 100; k++) {
        term = term * -x2 / (double)k;
        sum += term / (double)(2 * k + 1);
    }
    return 1.1283791670955126 * sum; /* 2 / sqrt(pi) */
}

/* trunc_normal's per-call scalars, as PyTorch's _no_grad_trunc_normal_ derives them. */
TRAINOPT__FORCE_INLINE void trainopt__trunc_normal_scalars(const trainopt_trunc_normal_config *c, trainopt__rng_scalars *s) {
    double l = (1.0 + trainopt__erf((c->a - c->mean) / c->std / sqrt(2.0))) / 2.0;
    double u = (1.0 + trainopt__erf((c->b - c->mean) / c->std / sqrt(2.0))) / 2.0;
    double lo = fma(2.0, l, -1.0), hi = fma(2.0, u, -1.0); /* 2l - 1, 2u - 1 (2l is exact) */
    s->mul = (float)(hi - lo);
    s->add = (float)lo;
    s->tmul = (float)(c->std * sqrt(2.0));
    s->tadd = (float)c->mean;
    s->lo = (float)c->a;
    s->hi = (float)c->b;
}

/* torch.nn.init.trunc_normal_: N(mean, std^2) truncated to [a, b] by the inverse CDF. */
TRAINOPT_API trainopt_status trainopt_trunc_normal(const trainopt_trunc_normal_config *c, uint64_t seed, uint64_t offset, size_t n,
                                                  float *out) {
    trainopt__rng_scalars s;
    trainopt__rng_io io;
    trainopt_status st;
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__float_range(c->mean) || !trainopt__float_range(c->std) || !(c->std > 0.0) || !trainopt__float_range(c->a) ||
        !trainopt__float_range(c->b) || !(c->a <= c->b) || !trainopt__float_range(c->std * sqrt(2.0)))
        return TRAINOPT_ERR_HPARAM;
    if (n == 0) return TRAINOPT_OK;
    if ((st = trainopt__check_out(n, out)) != TRAINOPT_OK) return st;
    trainopt__rng_init(&s, &io, seed, offset);
    trainopt__trunc_normal_scalars(c, &s);
    io.y = out;
    trainopt__rng_run(TRAINOPT__RNG_TRUNC, 0, &s, &io, n);
    return TRAINOPT_OK;
}

/* >>batchnorm */
#ifndef TRAINOPT__TYPES_DEFINED
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
#endif

/* Complete unrolling of the small fixed-count loops over a group's vectors, so
   that the group's accumulators live in registers (without it gcc keeps the
   arrays on the stack). Results do not depend on it. */
#if defined(__clang__)
#define TRAINOPT__UNROLL _Pragma("unroll")
#elif defined(__GNUC__) && __GNUC__ >= 8
#define TRAINOPT__UNROLL _Pragma("GCC unroll 16")
#else
#define TRAINOPT__UNROLL
#endif


/* Floats from p to the next TRAINOPT__STREAM_ALIGN boundary, at most len. */
TRAINOPT__FORCE_INLINE size_t trainopt__bn_head(const float *p, size_t len) {
    const size_t h = (size_t)((TRAINOPT__STREAM_ALIGN - (uintptr_t)p % TRAINOPT__STREAM_ALIGN) % TRAINOPT__STREAM_ALIGN) / sizeof(float);
    return h < len ? h : len;
}


/* Values per channel per block (a multiple of 16): bounds each float partial sum
   to 64 terms. Part of the canonical order: changing it changes results. */
#define TRAINOPT__BN_BLOCK 1024
/* Channels per NHWC tile: a performance choice only (results do not depend on it). */
#define TRAINOPT__BN_TILE 64

/* ---- shape, blocks and validation ---- */

/* The canonical blocks of one channel's N*S values. When S <= BLOCK a block is
   `rows` whole rows (rows*round_up(S, 16) <= BLOCK), in n order. Otherwise each
   row is cut into segments of BLOCK values, and the rows go in groups of 4, each
   group segment by segment: (segment 0 of rows 0..3), (segment 1 of rows 0..3),
   ..., then rows 4..7. So four consecutive blocks have one shape and can be swept
   together while each row is still read front to back. Block k covers rows
   n0..n1-1, positions s0..s1-1 of each. */
typedef struct {
    size_t n, s;  /* N and S */
    size_t rows;  /* rows per block when S <= BLOCK, else 0 */
    size_t count; /* number of blocks */
} trainopt__bn_blocks;
typedef struct {
    size_t n0, n1, s0, s1;
} trainopt__bn_block;

TRAINOPT__FORCE_INLINE size_t trainopt__bn_min(size_t a, size_t b) { return a < b ? a : b; }

TRAINOPT__FORCE_INLINE trainopt__bn_blocks trainopt__bn_blocks_of(size_t n, size_t s) {
    trainopt__bn_blocks b;
    b.n = n;
    b.s = s;
    if (s <= TRAINOPT__BN_BLOCK) {
        b.rows = TRAINOPT__BN_BLOCK / ((s + 15) / 16 * 16); /* each partial sum gets at most BLOCK/16 values */
        b.count = (n + b.rows - 1) / b.rows;
    } else {
        b.rows = 0;
        b.count = n * ((s + TRAINOPT__BN_BLOCK - 1) / TRAINOPT__BN_BLOCK);
    }
    return b;
}

TRAINOPT__FORCE_INLINE trainopt__bn_block trainopt__bn_block_at(const trainopt__bn_blocks *b, size_t k) {
    trainopt__bn_block r;
    if (b->rows) {
        r.n0 = k * b->rows;
        r.n1 = r.n0 + b->rows < b->n ? r.n0 + b->rows : b->n;
        r.s0 = 0;
        r.s1 = b->s;
    } else {
        const size_t segs = (b->s + TRAINOPT__BN_BLOCK - 1) / TRAINOPT__BN_BLOCK;
        const size_t g0 = k / (4 * segs) * 4, q = trainopt__bn_min(4, b->n - g0), in = k - g0 * segs;
        r.n0 = g0 + in % q;
        r.n1 = r.n0 + 1;
        r.s0 = in / q * TRAINOPT__BN_BLOCK;
        r.s1 = r.s0 + TRAINOPT__BN_BLOCK < b->s ? r.s0 + TRAINOPT__BN_BLOCK : b->s;
    }
    return r;
}

/* An array taking part in the overlap check. */
#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum { TRAINOPT__BN_IN = 0, TRAINOPT__BN_OUT = 1, TRAINOPT__BN_EW_IN = 2, TRAINOPT__BN_EW_OUT = 3 };
#endif
typedef struct {
    const void *p;
    size_t bytes;
    int role; /* IN/EW_IN: read only; OUT: written; EW_OUT: written elementwise (may be exactly an EW_IN) */
} trainopt__bn_span;

/* Overlaps between a written array and any other are errors, except an
   elementwise output that is exactly an elementwise input. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__bn_check_overlap(const trainopt__bn_span *a, int count) {
    int i, j;
    for (i = 0; i < count; i++)
        for (j = i + 1; j < count; j++) {
            uintptr_t x = (uintptr_t)a[i].p, y = (uintptr_t)a[j].p;
            int wi = a[i].role == TRAINOPT__BN_OUT || a[i].role == TRAINOPT__BN_EW_OUT;
            int wj = a[j].role == TRAINOPT__BN_OUT || a[j].role == TRAINOPT__BN_EW_OUT;
            if (!a[i].p || !a[j].p || !a[i].bytes || !a[j].bytes || (!wi && !wj)) continue;
            if (!(x < y + a[j].bytes && y < x + a[i].bytes)) continue;
            if (x == y && a[i].bytes == a[j].bytes &&
                ((a[i].role == TRAINOPT__BN_EW_OUT && a[j].role == TRAINOPT__BN_EW_IN) ||
                 (a[i].role == TRAINOPT__BN_EW_IN && a[j].role == TRAINOPT__BN_EW_OUT)))
                continue;
            return TRAINOPT_ERR_ALIAS;
        }
    return TRAINOPT_OK;
}

/* Config and shape checks shared by every batchnorm function. *total gets n*c*s
   and *m gets n*s. */
TRAINOPT__FORCE_INLINE trainopt_status trainopt__bn_check_config(const trainopt_bn_config *c, const trainopt_bn_shape *s,
                                                               size_t *total, size_t *m) {
    if (c == NULL) return TRAINOPT_ERR_NULL;
    if (!trainopt__finite(c->eps) || !(c->eps > 0.0) || !trainopt__finite(c->momentum) || c->momentum < 0.0 ||
        c->momentum > 1.0)
        return TRAINOPT_ERR_HPARAM;
    if (s->layout != TRAINOPT_NCHW && s->layout != TRAINOPT_NHWC) return TRAINOPT_ERR_SHAPE;
    if (s->n != 0 && s->spatial > SIZE_MAX / s->n) return TRAINOPT_ERR_SHAPE;
    *m = s->n * s->spatial;
    if (*m != 0 && s->c > SIZE_MAX / sizeof(float) / *m) return TRAINOPT_ERR_SHAPE;
    *total = *m * s->c;
    return TRAINOPT_OK;
}

/* Per-call scalars of the normalization. */
typedef struct {
    double eps, momentum;
    int relu, stream; /* stream: write y with streaming stores */
} trainopt__bn_params;

/* ---- per-channel double arithmetic (the same code serves both layouts) ---- */

/* Merges one block (nb values, float shift mb, float sums s1 = sum(x-mb) and
   s2 = sum((x-mb)^2)) into a channel's running (count, mean, m2). */
TRAINOPT__FORCE_INLINE void trainopt__bn_merge(double count, double nb, float mb, float s1, float s2, double *mean,
                                               double *m2) {
    /* Reciprocals of per-block constants, so that the per-channel loops divide nothing. */
    const double inv_nb = 1.0 / nb;
    double mean_b = fma((double)s1, inv_nb, (double)mb);
    double m2_b = fma(-(double)s1, (double)s1 * inv_nb, (double)s2);
    if (count == 0.0) {
        *mean = mean_b;
        *m2 = m2_b;
    } else {
        double total = count + nb, delta = mean_b - *mean;
        *mean = fma(delta, nb / total, *mean);
        *m2 = fma(delta, delta * (count * nb / total), *m2 + m2_b);
    }
}

/* A per-channel scalar rounded to float, with every NaN made the one quiet NaN
   0x7fc00000: a NaN's sign and payload depend on which operand the compiler put
   first (after a negation two NaNs differ), and outputs must not. */
TRAINOPT__FORCE_INLINE float trainopt__bn_f(double v) {
    float f = (float)v;
    if (f != f) {
        const uint32_t bits = 0x7fc00000u;
        memcpy(&f, &bits, sizeof f);
    }
    return f;
}

/* Writes a channel's saved and running statistics; returns the normalization's
   float coefficients y = fma(x - *mu, *a, *b). *mu is the mean rounded to float,
   and *b carries the rounding error of the mean (beta - (mean - *mu)*a), so y is
   exact to float rounding even where |mean| >> std. */
TRAINOPT__FORCE_INLINE void trainopt__bn_finish(const trainopt__bn_params *p, double m, double mean, double m2,
                                                float gamma, float beta, float *save_mean, float *save_invstd,
                                                float *running_mean, float *running_var, float *mu, float *a,
                                                float *b) {
    double invstd, ad;
    if (m2 < 0.0) m2 = 0.0;
    invstd = 1.0 / sqrt(fma(m2, 1.0 / m, p->eps)); /* 1/m: hoisted out of the channel loop */
    ad = (double)gamma * invstd;
    *save_mean = *mu = trainopt__bn_f(mean);
    *save_invstd = trainopt__bn_f(invstd);
    if (running_mean) {
        *running_mean = trainopt__bn_f(fma(p->momentum, mean, (1.0 - p->momentum) * (double)*running_mean));
        *running_var = trainopt__bn_f(fma(p->momentum, m2 * (1.0 / (m - 1.0)), (1.0 - p->momentum) * (double)*running_var));
    }
    *a = trainopt__bn_f(ad);
    *b = trainopt__bn_f(fma(-(mean - (double)*mu), ad, (double)beta));
}

/* The backward pass's per-channel scalars from the double sums of g and (x-mean)*g. */
TRAINOPT__FORCE_INLINE void trainopt__bn_backward_coefs(double m, double sum_g, double dot, float invstd, float gamma,
                                                        float *dgamma, float *dbeta, float *a, float *k, float *c) {
    double r = (double)invstd, ad = (double)gamma * r;
    if (dgamma) *dgamma = trainopt__bn_f(dot * r);
    if (dbeta) *dbeta = trainopt__bn_f(sum_g);
    *a = trainopt__bn_f(ad);
    *k = trainopt__bn_f(-ad * (r * r) * (dot * (1.0 / m)));
    *c = trainopt__bn_f(-ad * (sum_g * (1.0 / m)));
}

/* ---- vector bodies ---- */

/* y = fma(x - mu, a, b), then max(0, y) with relu (NaN stays NaN). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_norm(trainopt__vf x, trainopt__vf mu, trainopt__vf a, trainopt__vf b,
                                                      int relu) {
    trainopt__vf y = trainopt__v_fma(trainopt__v_sub(x, mu), a, b);
    return relu ? trainopt__v_max(trainopt__v_zero(), y) : y;
}

/* dy with the relu mask: 0 where y <= 0. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_grad(trainopt__vf dy, const float *y, size_t k, int relu) {
    if (!relu) return dy;
    return trainopt__v_select(trainopt__v_le(trainopt__v_load_n(y, k), trainopt__v_zero()), trainopt__v_zero(), dy);
}

/* ---- NCHW kernels: a large channel, or four small ones, at a time, so that the
   second pass reads from cache ---- */

/* Channels swept together: enough independent sums to hide the add and fma
   latency where one acc16 is only one or two vectors. A performance choice only:
   each channel's sums are the same whatever the grouping. */
#define TRAINOPT__BN_GROUP (TRAINOPT__ACC_VECS >= 4 ? 1 : 4 / TRAINOPT__ACC_VECS)

/* G streams swept together: stream j's row r starts at off[j] + r*stride; the
   streams are the same block of G neighbouring channels (whose rows are
   neighbours in memory). */
typedef struct {
    size_t off[TRAINOPT__BN_GROUP];
    size_t rows, len, stride;
} trainopt__bn_group;

/* Sweep kinds: sum(x); sum(x - m) and sum((x - m)^2); sum(g) and sum((x - m)*g). */
#ifndef TRAINOPT__TYPES_DEFINED /* constants: once (>>dispatch) */
enum { TRAINOPT__BN_SUM = 0, TRAINOPT__BN_DEV = 1, TRAINOPT__BN_DOT = 2 };
#endif

/* One vector of k values at offset o into s1 (and s2). Lanes past k add +0. */
TRAINOPT__FORCE_INLINE void trainopt__bn_accum(int kind, int relu, size_t o, size_t k, trainopt__vf m,
                                               const float *x, const float *dy, const float *y, trainopt__vf *s1,
                                               trainopt__vf *s2) {
    trainopt__vf xv = trainopt__v_load_n(x + o, k);
    if (kind == TRAINOPT__BN_SUM) {
        *s1 = trainopt__v_add(*s1, xv);
    } else {
        trainopt__vf d = trainopt__v_keep_first(trainopt__v_sub(xv, m), k);
        if (kind == TRAINOPT__BN_DEV) {
            *s1 = trainopt__v_add(*s1, d);
            *s2 = trainopt__v_fma(d, d, *s2);
        } else {
            trainopt__vf g = trainopt__v_load_n(dy + o, k);
            if (relu) g = trainopt__v_select(trainopt__v_le(trainopt__v_load_n(y + o, k), trainopt__v_zero()),
                                             trainopt__v_zero(), g);
            *s1 = trainopt__v_add(*s1, g);
            *s2 = trainopt__v_fma(d, g, *s2);
        }
    }
}

/* Sweeps G streams; value i of a row goes to partial i % 16 of its stream's acc16. */
TRAINOPT__FORCE_INLINE void trainopt__bn_group_sweep(const trainopt__bn_group *gr, int G, int kind, int relu,
                                                     const trainopt__vf *m, const float *x, const float *dy,
                                                     const float *y, trainopt__acc16 *s1, trainopt__acc16 *s2) {
    const size_t full = gr->len / 16 * 16;
    size_t r, i;
    int j, v;
    for (r = 0; r < gr->rows; r++) {
        const size_t ro = r * gr->stride;
        for (i = 0; i < full; i += 16)
            TRAINOPT__UNROLL
            for (j = 0; j < G; j++)
                TRAINOPT__UNROLL
                for (v = 0; v < TRAINOPT__ACC_VECS; v++)
                    trainopt__bn_accum(kind, relu, gr->off[j] + ro + i + (size_t)v * TRAINOPT_SIMD_LANES,
                                       TRAINOPT_SIMD_LANES, m[j], x, dy, y, &s1[j].v[v], &s2[j].v[v]);
        if (full < gr->len)
            TRAINOPT__UNROLL
            for (j = 0; j < G; j++)
                TRAINOPT__UNROLL
                for (v = 0; v < TRAINOPT__ACC_VECS; v++) {
                    i = full + (size_t)v * TRAINOPT_SIMD_LANES;
                    if (i < gr->len)
                        trainopt__bn_accum(kind, relu, gr->off[j] + ro + i,
                                           trainopt__bn_min(gr->len - i, TRAINOPT_SIMD_LANES), m[j], x, dy, y,
                                           &s1[j].v[v], &s2[j].v[v]);
                }
    }
}

/* Statistics of G streams: each block's float mean mb (first sweep), then its
   centered sums s1, s2 (second sweep, from cache). */
TRAINOPT__FORCE_INLINE void trainopt__bn_group_stats(const trainopt__bn_group *gr, int G, const float *x, float *mb,
                                                     float *s1, float *s2) {
    trainopt__acc16 a1[TRAINOPT__BN_GROUP], a2[TRAINOPT__BN_GROUP];
    trainopt__vf m[TRAINOPT__BN_GROUP];
    const float nb = (float)gr->rows * (float)gr->len; /* at most BLOCK: exact */
    int j;
    TRAINOPT__UNROLL
    for (j = 0; j < TRAINOPT__BN_GROUP; j++) {
        trainopt__acc16_zero(&a1[j]);
        trainopt__acc16_zero(&a2[j]);
        m[j] = trainopt__v_zero();
    }
    trainopt__bn_group_sweep(gr, G, TRAINOPT__BN_SUM, 0, m, x, NULL, NULL, a1, a2);
    TRAINOPT__UNROLL
    for (j = 0; j < G; j++) {
        mb[j] = trainopt__acc16_sum(&a1[j]) / nb;
        m[j] = trainopt__v_set1(mb[j]);
        trainopt__acc16_zero(&a1[j]);
    }
    trainopt__bn_group_sweep(gr, G, TRAINOPT__BN_DEV, 0, m, x, NULL, NULL, a1, a2);
    TRAINOPT__UNROLL
    for (j = 0; j < G; j++) {
        s1[j] = trainopt__acc16_sum(&a1[j]);
        s2[j] = trainopt__acc16_sum(&a2[j]);
    }
}

/* The backward sums of G streams: s1 = sum(g), s2 = sum((x - mu_j)*g). */
TRAINOPT__FORCE_INLINE void trainopt__bn_group_dots(const trainopt__bn_group *gr, int G, int relu, const float *mu,
                                                    const float *x, const float *dy, const float *y, float *s1,
                                                    float *s2) {
    trainopt__acc16 a1[TRAINOPT__BN_GROUP], a2[TRAINOPT__BN_GROUP];
    trainopt__vf m[TRAINOPT__BN_GROUP];
    int j;
    TRAINOPT__UNROLL
    for (j = 0; j < TRAINOPT__BN_GROUP; j++) {
        trainopt__acc16_zero(&a1[j]);
        trainopt__acc16_zero(&a2[j]);
        m[j] = trainopt__v_set1(mu[j < G ? j : 0]);
    }
    trainopt__bn_group_sweep(gr, G, TRAINOPT__BN_DOT, relu, m, x, dy, y, a1, a2);
    TRAINOPT__UNROLL
    for (j = 0; j < G; j++) {
        s1[j] = trainopt__acc16_sum(&a1[j]);
        s2[j] = trainopt__acc16_sum(&a2[j]);
    }
}

/* From block k of channel c: GROUP consecutive blocks of one shape when there
   are, else one. Returns the number of blocks. */
TRAINOPT__FORCE_INLINE int trainopt__bn_block_group(const trainopt__bn_blocks *bl, size_t k, size_t cs, size_t c,
                                                    trainopt__bn_group *gr) {
    const trainopt__bn_block b0 = trainopt__bn_block_at(bl, k);
    int g = 1;
    gr->rows = b0.n1 - b0.n0;
    gr->len = b0.s1 - b0.s0;
    gr->stride = cs * bl->s;
    gr->off[0] = (b0.n0 * cs + c) * bl->s + b0.s0;
    while (g < TRAINOPT__BN_GROUP && k + (size_t)g < bl->count) {
        const trainopt__bn_block b = trainopt__bn_block_at(bl, k + (size_t)g);
        if (b.n1 - b.n0 != gr->rows || b.s1 - b.s0 != gr->len) break;
        gr->off[g++] = (b.n0 * cs + c) * bl->s + b.s0;
    }
    return g == TRAINOPT__BN_GROUP ? g : 1;
}

/* Block k of channels c..c+g-1. */
TRAINOPT__FORCE_INLINE void trainopt__bn_channel_group(const trainopt__bn_blocks *bl, size_t k, size_t cs, size_t c,
                                                       int g, trainopt__bn_group *gr) {
    trainopt__bn_block b = trainopt__bn_block_at(bl, k);
    int j;
    gr->rows = b.n1 - b.n0;
    gr->len = b.s1 - b.s0;
    gr->stride = cs * bl->s;
    for (j = 0; j < g; j++) gr->off[j] = (b.n0 * cs + c + (size_t)j) * bl->s + b.s0;
}

/* NCHW: normalize a run of one channel; with stream, aligned vectors go through
   streaming stores and the unaligned head and tail through v_store_n. */
TRAINOPT__FORCE_INLINE void trainopt__bn_row_norm_v(const float *x, float *y, size_t len, trainopt__vf vmu, trainopt__vf va,
                                                    trainopt__vf vb, int relu, int stream) {
    size_t i = 0;
    if (stream) {
        const size_t h = trainopt__bn_head(y, len);
        if (h) trainopt__v_store_n(y, trainopt__bn_norm(trainopt__v_load_n(x, h), vmu, va, vb, relu), h);
        for (i = h; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES)
            trainopt__v_stream(y + i, trainopt__bn_norm(trainopt__v_load(x + i), vmu, va, vb, relu));
    } else {
        for (; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES)
            trainopt__v_store(y + i, trainopt__bn_norm(trainopt__v_load(x + i), vmu, va, vb, relu));
    }
    if (i < len) {
        size_t k = len - i;
        trainopt__v_store_n(y + i, trainopt__bn_norm(trainopt__v_load_n(x + i, k), vmu, va, vb, relu), k);
    }
}
TRAINOPT__FORCE_INLINE void trainopt__bn_row_norm(const float *x, float *y, size_t len, float mu, float a, float b,
                                                  int relu, int stream) {
    trainopt__bn_row_norm_v(x, y, len, trainopt__v_set1(mu), trainopt__v_set1(a), trainopt__v_set1(b), relu, stream);
}

/* dx = fma(x - mu, k, fma(g, a, c)) for one vector. */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_dx(trainopt__vf x, trainopt__vf g, trainopt__vf mu, trainopt__vf a,
                                                    trainopt__vf k, trainopt__vf c) {
    return trainopt__v_fma(trainopt__v_sub(x, mu), k, trainopt__v_fma(g, a, c));
}

/* NCHW backward: dx for a run of one channel (stream as in trainopt__bn_row_norm). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_row_dx_vec(const float *x, const float *dy, const float *y, size_t i,
                                                            size_t k, trainopt__vf mu, trainopt__vf a, trainopt__vf kk,
                                                            trainopt__vf c, int relu) {
    trainopt__vf g = trainopt__bn_grad(trainopt__v_load_n(dy + i, k), relu ? y + i : y, k, relu); /* y is NULL without relu */
    return trainopt__bn_dx(trainopt__v_load_n(x + i, k), g, mu, a, kk, c);
}

TRAINOPT__FORCE_INLINE void trainopt__bn_row_dx(const float *x, const float *dy, const float *y, float *dx, size_t len,
                                                trainopt__vf vmu, trainopt__vf va, trainopt__vf vk, trainopt__vf vc, int relu,
                                                int stream) {
    size_t i = 0;
    if (stream) {
        const size_t h = trainopt__bn_head(dx, len);
        if (h) trainopt__v_store_n(dx, trainopt__bn_row_dx_vec(x, dy, y, 0, h, vmu, va, vk, vc, relu), h);
        for (i = h; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES)
            trainopt__v_stream(dx + i, trainopt__bn_row_dx_vec(x, dy, y, i, TRAINOPT_SIMD_LANES, vmu, va, vk, vc, relu));
    } else {
        for (; i + TRAINOPT_SIMD_LANES <= len; i += TRAINOPT_SIMD_LANES)
            trainopt__v_store(dx + i, trainopt__bn_row_dx_vec(x, dy, y, i, TRAINOPT_SIMD_LANES, vmu, va, vk, vc, relu));
    }
    if (i < len) trainopt__v_store_n(dx + i, trainopt__bn_row_dx_vec(x, dy, y, i, len - i, vmu, va, vk, vc, relu), len - i);
}

/* Statistics, saved and running statistics and the normalization of channels
   c..c+g-1, swept together; the normalization then reads them from cache. */
TRAINOPT__FORCE_INLINE void trainopt__bn_train_nchw_channels(const trainopt__bn_params *p, const trainopt__bn_blocks *bl,
                                                             size_t cs, size_t c, int g, int relu, const float *x,
                                                             const float *gamma, const float *beta, float *running_mean,
                                                             float *running_var, float *y, float *save_mean,
                                                             float *save_invstd) {
    const double m = (double)bl->n * (double)bl->s;
    double count = 0.0, mean[TRAINOPT__BN_GROUP], m2[TRAINOPT__BN_GROUP];
    float mb[TRAINOPT__BN_GROUP], s1[TRAINOPT__BN_GROUP], s2[TRAINOPT__BN_GROUP];
    trainopt__vf vmu[TRAINOPT__BN_GROUP], va[TRAINOPT__BN_GROUP], vb[TRAINOPT__BN_GROUP];
    trainopt__bn_group gr;
    size_t k, r;
    int j;
    for (j = 0; j < TRAINOPT__BN_GROUP; j++) mean[j] = m2[j] = 0.0;
    for (k = 0; k < bl->count; k++) {
        trainopt__bn_channel_group(bl, k, cs, c, g, &gr);
        trainopt__bn_group_stats(&gr, g, x, mb, s1, s2);
        for (j = 0; j < g; j++) trainopt__bn_merge(count, (double)gr.rows * (double)gr.len, mb[j], s1[j], s2[j], mean + j, m2 + j);
        count += (double)gr.rows * (double)gr.len;
    }
    for (j = 0; j < g; j++) {
        const size_t ch = c + (size_t)j;
        float mu, a, b;
        trainopt__bn_finish(p, m, mean[j], m2[j], gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, save_mean + ch,
                            save_invstd + ch, running_mean ? running_mean + ch : NULL,
                            running_var ? running_var + ch : NULL, &mu, &a, &b);
        vmu[j] = trainopt__v_set1(mu);
        va[j] = trainopt__v_set1(a);
        vb[j] = trainopt__v_set1(b);
    }
    /* Coefficients in registers, and where S is a whole number of vectors row by
       row (the g channels' runs of a row are neighbours): with small S the
       per-run setup, not the arithmetic, was the cost. Runs with a partial vector
       go channel by channel, which measured faster for them (S = 7, 20, 33). The
       values are the same in any order. */
    if (bl->s % TRAINOPT_SIMD_LANES == 0)
        for (r = bl->n; r-- > 0;)
            for (j = 0; j < g; j++) {
                const size_t o = (r * cs + c + (size_t)j) * bl->s;
                trainopt__bn_row_norm_v(x + o, y + o, bl->s, vmu[j], va[j], vb[j], relu, p->stream);
            }
    else
        for (j = 0; j < g; j++)
            for (r = bl->n; r-- > 0;) {
                const size_t o = (r * cs + c + (size_t)j) * bl->s;
                trainopt__bn_row_norm_v(x + o, y + o, bl->s, vmu[j], va[j], vb[j], relu, p->stream);
            }
}

/* Large channels go one at a time (the second pass then reads the channel from
   L2), their blocks swept GROUP at a time; small ones GROUP channels at a time. */
#define TRAINOPT__BN_SMALL_CHANNEL 32768

/* One large channel: statistics over groups of blocks, then the normalization. */
TRAINOPT__FORCE_INLINE void trainopt__bn_train_nchw_channel(const trainopt__bn_params *p, const trainopt__bn_blocks *bl,
                                                            size_t cs, size_t c, int relu, const float *x,
                                                            const float *gamma, const float *beta, float *running_mean,
                                                            float *running_var, float *y, float *save_mean,
                                                            float *save_invstd) {
    double count = 0.0, mean = 0.0, m2 = 0.0;
    float mb[TRAINOPT__BN_GROUP], s1[TRAINOPT__BN_GROUP], s2[TRAINOPT__BN_GROUP], mu, a, b;
    trainopt__bn_group gr;
    size_t k, r;
    int g, j;
    for (k = 0; k < bl->count; k += (size_t)g) {
        g = trainopt__bn_block_group(bl, k, cs, c, &gr);
        if (g > 1) trainopt__bn_group_stats(&gr, TRAINOPT__BN_GROUP, x, mb, s1, s2);
        else trainopt__bn_group_stats(&gr, 1, x, mb, s1, s2);
        for (j = 0; j < g; j++) {
            trainopt__bn_merge(count, (double)gr.rows * (double)gr.len, mb[j], s1[j], s2[j], &mean, &m2);
            count += (double)gr.rows * (double)gr.len;
        }
    }
    trainopt__bn_finish(p, (double)bl->n * (double)bl->s, mean, m2, gamma ? gamma[c] : 1.0f, beta ? beta[c] : 0.0f,
                        save_mean + c, save_invstd + c, running_mean ? running_mean + c : NULL,
                        running_var ? running_var + c : NULL, &mu, &a, &b);
    /* Backwards: the statistics left the end of the channel in cache. */
    for (r = bl->n; r-- > 0;)
        trainopt__bn_row_norm(x + (r * cs + c) * bl->s, y + (r * cs + c) * bl->s, bl->s, mu, a, b, relu, p->stream);
}

TRAINOPT__FORCE_INLINE void trainopt__bn_train_nchw(const trainopt__bn_params *p, size_t n, size_t cs, size_t s,
                                                    int relu, const float *x, const float *gamma, const float *beta,
                                                    float *running_mean, float *running_var, float *y, float *save_mean,
                                                    float *save_invstd) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(n, s);
    const size_t whole = cs - cs % TRAINOPT__BN_GROUP; /* channels in whole groups */
    size_t c = 0;
    if (n * s > TRAINOPT__BN_SMALL_CHANNEL) {
        for (; c < cs; c++)
            trainopt__bn_train_nchw_channel(p, &bl, cs, c, relu, x, gamma, beta, running_mean, running_var, y,
                                            save_mean, save_invstd);
        return;
    }
    for (; c < whole; c += TRAINOPT__BN_GROUP)
        trainopt__bn_train_nchw_channels(p, &bl, cs, c, TRAINOPT__BN_GROUP, relu, x, gamma, beta, running_mean,
                                         running_var, y, save_mean, save_invstd);
    for (; c < cs; c++)
        trainopt__bn_train_nchw_channels(p, &bl, cs, c, 1, relu, x, gamma, beta, running_mean, running_var, y,
                                         save_mean, save_invstd);
}

/* Backward sums and dx of channels c..c+g-1. */
TRAINOPT__FORCE_INLINE void trainopt__bn_backward_nchw_channels(const trainopt__bn_blocks *bl, size_t cs, size_t c, int g,
                                                                int relu, int stream, const float *x, const float *dy,
                                                                const float *gamma, const float *save_mean,
                                                                const float *save_invstd, const float *y, float *dx,
                                                                float *dgamma, float *dbeta) {
    const double m = (double)bl->n * (double)bl->s;
    double sum_g[TRAINOPT__BN_GROUP], dot[TRAINOPT__BN_GROUP];
    float s1[TRAINOPT__BN_GROUP], s2[TRAINOPT__BN_GROUP];
    trainopt__vf vmu[TRAINOPT__BN_GROUP], va[TRAINOPT__BN_GROUP], vk[TRAINOPT__BN_GROUP], vc[TRAINOPT__BN_GROUP];
    trainopt__bn_group gr;
    size_t k, r;
    int j;
    for (j = 0; j < TRAINOPT__BN_GROUP; j++) sum_g[j] = dot[j] = 0.0;
    for (k = 0; k < bl->count; k++) {
        trainopt__bn_channel_group(bl, k, cs, c, g, &gr);
        trainopt__bn_group_dots(&gr, g, relu, save_mean + c, x, dy, y, s1, s2);
        for (j = 0; j < g; j++) {
            sum_g[j] += (double)s1[j];
            dot[j] += (double)s2[j];
        }
    }
    for (j = 0; j < g; j++) {
        const size_t ch = c + (size_t)j;
        float a, kk, cc;
        trainopt__bn_backward_coefs(m, sum_g[j], dot[j], save_invstd[ch], gamma ? gamma[ch] : 1.0f,
                                    dgamma ? dgamma + ch : NULL, dbeta ? dbeta + ch : NULL, &a, &kk, &cc);
        vmu[j] = trainopt__v_set1(save_mean[ch]);
        va[j] = trainopt__v_set1(a);
        vk[j] = trainopt__v_set1(kk);
        vc[j] = trainopt__v_set1(cc);
    }
    if (bl->s % TRAINOPT_SIMD_LANES == 0) /* the order as in the forward pass */
        for (r = bl->n; r-- > 0;)
            for (j = 0; j < g; j++) {
                const size_t o = (r * cs + c + (size_t)j) * bl->s;
                trainopt__bn_row_dx(x + o, dy + o, relu ? y + o : NULL, dx + o, bl->s, vmu[j], va[j], vk[j], vc[j], relu,
                                    stream);
            }
    else
        for (j = 0; j < g; j++)
            for (r = bl->n; r-- > 0;) {
                const size_t o = (r * cs + c + (size_t)j) * bl->s;
                trainopt__bn_row_dx(x + o, dy + o, relu ? y + o : NULL, dx + o, bl->s, vmu[j], va[j], vk[j], vc[j], relu,
                                    stream);
            }
}

/* One large channel's backward sums over groups of blocks, then dx. */
TRAINOPT__FORCE_INLINE void trainopt__bn_backward_nchw_channel(const trainopt__bn_blocks *bl, size_t cs, size_t c,
                                                               int relu, int stream, const float *x, const float *dy,
                                                               const float *gamma, const float *save_mean,
                                                               const float *save_invstd, const float *y, float *dx,
                                                               float *dgamma, float *dbeta) {
    double sum_g = 0.0, dot = 0.0;
    float mu[TRAINOPT__BN_GROUP], s1[TRAINOPT__BN_GROUP], s2[TRAINOPT__BN_GROUP], a, kk, cc;
    trainopt__bn_group gr;
    size_t k, r;
    int g, j;
    for (j = 0; j < TRAINOPT__BN_GROUP; j++) mu[j] = save_mean[c];
    for (k = 0; k < bl->count; k += (size_t)g) {
        g = trainopt__bn_block_group(bl, k, cs, c, &gr);
        if (g > 1) trainopt__bn_group_dots(&gr, TRAINOPT__BN_GROUP, relu, mu, x, dy, y, s1, s2);
        else trainopt__bn_group_dots(&gr, 1, relu, mu, x, dy, y, s1, s2);
        for (j = 0; j < g; j++) {
            sum_g += (double)s1[j];
            dot += (double)s2[j];
        }
    }
    trainopt__bn_backward_coefs((double)bl->n * (double)bl->s, sum_g, dot, save_invstd[c], gamma ? gamma[c] : 1.0f,
                                dgamma ? dgamma + c : NULL, dbeta ? dbeta + c : NULL, &a, &kk, &cc);
    for (r = bl->n; r-- > 0;) {
        const size_t o = (r * cs + c) * bl->s;
        trainopt__bn_row_dx(x + o, dy + o, relu ? y + o : NULL, dx + o, bl->s, trainopt__v_set1(save_mean[c]),
                            trainopt__v_set1(a), trainopt__v_set1(kk), trainopt__v_set1(cc), relu, stream);
    }
}

TRAINOPT__FORCE_INLINE void trainopt__bn_backward_nchw(size_t n, size_t cs, size_t s, int relu, int stream, const float *x,
                                                       const float *dy, const float *gamma, const float *save_mean,
                                                       const float *save_invstd, const float *y, float *dx,
                                                       float *dgamma, float *dbeta) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(n, s);
    const size_t whole = cs - cs % TRAINOPT__BN_GROUP; /* channels in whole groups */
    size_t c = 0;
    if (n * s > TRAINOPT__BN_SMALL_CHANNEL) {
        for (; c < cs; c++)
            trainopt__bn_backward_nchw_channel(&bl, cs, c, relu, stream, x, dy, gamma, save_mean, save_invstd, y, dx, dgamma,
                                               dbeta);
        return;
    }
    for (; c < whole; c += TRAINOPT__BN_GROUP)
        trainopt__bn_backward_nchw_channels(&bl, cs, c, TRAINOPT__BN_GROUP, relu, stream, x, dy, gamma, save_mean, save_invstd,
                                            y, dx, dgamma, dbeta);
    for (; c < cs; c++)
        trainopt__bn_backward_nchw_channels(&bl, cs, c, 1, relu, stream, x, dy, gamma, save_mean, save_invstd, y, dx, dgamma,
                                            dbeta);
}

/* ---- NHWC kernels: lanes across channels, passes over whole rows ---- */

/* Every pass reads whole rows of C channels: a pass over part of each row costs
   about twice as much (the prefetchers fetch the whole row anyway). So the
   per-channel state of a pass must cover all C channels. It lives in the output
   array (y or dx), which the last pass overwrites, when that array is not also an
   input and holds enough floats; otherwise passes work on tiles of TILE channels
   with their state on the stack (slower for large tensors, the same bits). */

/* Vectors of channels held in registers by the NHWC sweeps. */
#define TRAINOPT__BN_VB 4

/* tc rounded up to whole vectors. */
TRAINOPT__FORCE_INLINE size_t trainopt__bn_width(size_t tc) {
    return (tc + TRAINOPT_SIMD_LANES - 1) / TRAINOPT_SIMD_LANES * TRAINOPT_SIMD_LANES;
}

/* The per-channel state of a pass over channels [0, width). */
typedef struct {
    float *a1, *a2;   /* partial sums [16][stride] */
    float *mu;        /* block shift (forward) or channel mean (backward), [stride] */
    unsigned char *d; /* two doubles per channel (memcpy: the output array is only float-aligned) */
    size_t stride;    /* a multiple of 16, >= width */
    float *coef[4];   /* per-channel coefficients of the elementwise pass, [width] each */
} trainopt__bn_state;

/* Stack state of one tile. */
typedef struct {
    float a1[16 * TRAINOPT__BN_TILE], a2[16 * TRAINOPT__BN_TILE], mu[TRAINOPT__BN_TILE];
    double d[2 * TRAINOPT__BN_TILE];
    float coef[4][TRAINOPT__BN_TILE];
} trainopt__bn_tile;

TRAINOPT__FORCE_INLINE void trainopt__bn_tile_state(trainopt__bn_tile *t, trainopt__bn_state *st) {
    int i;
    st->a1 = t->a1;
    st->a2 = t->a2;
    st->mu = t->mu;
    st->d = (unsigned char *)t->d;
    st->stride = TRAINOPT__BN_TILE;
    for (i = 0; i < 4; i++) st->coef[i] = t->coef[i];
}

/* Floats of scratch the full-width state needs in the output array, for c channels:
   4 coefficient rows, then (8-byte aligned) 2 doubles per channel, then 33 arrays of
   stride floats. Row 0..3 of the output are the coefficient rows. */
TRAINOPT__FORCE_INLINE size_t trainopt__bn_stride(size_t c) { return (c + 15) / 16 * 16; }
TRAINOPT__FORCE_INLINE size_t trainopt__bn_scratch_floats(size_t c) {
    return 4 * c + 1 + 4 * c + 33 * trainopt__bn_stride(c);
}

TRAINOPT__FORCE_INLINE void trainopt__bn_out_state(float *out, size_t c, trainopt__bn_state *st) {
    float *p = out + 4 * c;
    int i;
    if ((uintptr_t)p % 8 != 0) p++;
    st->d = (unsigned char *)p;
    p += 4 * c;
    st->stride = trainopt__bn_stride(c);
    st->mu = p;
    st->a1 = p + st->stride;
    st->a2 = st->a1 + 16 * st->stride;
    for (i = 0; i < 4; i++) st->coef[i] = out + (size_t)i * c;
}

TRAINOPT__FORCE_INLINE double trainopt__bn_getd(const trainopt__bn_state *st, size_t i) {
    double v;
    memcpy(&v, st->d + i * sizeof(double), sizeof v);
    return v;
}
TRAINOPT__FORCE_INLINE void trainopt__bn_setd(const trainopt__bn_state *st, size_t i, double v) {
    memcpy(st->d + i * sizeof(double), &v, sizeof v);
}

/* The first chunk of a block initializes partial sums 0..min(16, len)-1 (the
   sweep's init); this zeroes the others (a2 too unless only_a1), which no value
   of the block reaches when its rows are shorter than 16. */
TRAINOPT__FORCE_INLINE void trainopt__bn_state_zero(const trainopt__bn_state *st, const trainopt__bn_block *B,
                                                    size_t width, int only_a1) {
    size_t j, v;
    for (j = trainopt__bn_min(16, B->s1 - B->s0); j < 16; j++)
        for (v = 0; v < width; v += TRAINOPT_SIMD_LANES) {
            trainopt__v_store(st->a1 + j * st->stride + v, trainopt__v_zero());
            if (!only_a1) trainopt__v_store(st->a2 + j * st->stride + v, trainopt__v_zero());
        }
}

/* The canonical tree over the 16 partial sums of each channel (as trainopt__acc16_sum:
   s[j] + s[j + w] for w = 8, 4, 2, 1), a vector of channels at a time in registers;
   the result lands in row 0. */
TRAINOPT__FORCE_INLINE void trainopt__bn_state_tree(float *a, size_t stride, size_t width) {
    trainopt__vf t[16];
    size_t v;
    int j, w;
    for (v = 0; v < width; v += TRAINOPT_SIMD_LANES) {
        TRAINOPT__UNROLL
        for (j = 0; j < 16; j++) t[j] = trainopt__v_load(a + (size_t)j * stride + v);
        TRAINOPT__UNROLL
        for (w = 8; w >= 1; w /= 2)
            TRAINOPT__UNROLL
            for (j = 0; j < w; j++) t[j] = trainopt__v_add(t[j], t[j + w]);
        trainopt__v_store(a + v, t[0]);
    }
}

/* Adds the up to 4 values of partial p in one 64-position chunk (rows r0, r0+16, ...
   < r1; r0 = chunk start + p) to nv channel vectors from v0, in registers. The
   partial sum sees its values in position order, as in the NCHW sweep. */
TRAINOPT__FORCE_INLINE void trainopt__bn_state_group(const trainopt__bn_state *st, size_t p, size_t r0, size_t r1,
                                                     size_t cs, size_t v0, int nv, size_t klast, int kind, int relu,
                                                     int init, const float *x, const float *dy, const float *y) {
    trainopt__vf m[TRAINOPT__BN_VB], s1[TRAINOPT__BN_VB], s2[TRAINOPT__BN_VB];
    float *a1 = st->a1 + p * st->stride + v0, *a2 = st->a2 + p * st->stride + v0;
    size_t r;
    int j;
    TRAINOPT__UNROLL
    for (j = 0; j < TRAINOPT__BN_VB; j++) {
        const size_t o = (size_t)(j < nv ? j : 0) * TRAINOPT_SIMD_LANES;
        m[j] = kind == TRAINOPT__BN_SUM ? trainopt__v_zero() : trainopt__v_load(st->mu + v0 + o);
        s1[j] = init ? trainopt__v_zero() : trainopt__v_load(a1 + o);
        s2[j] = kind == TRAINOPT__BN_SUM || init ? trainopt__v_zero() : trainopt__v_load(a2 + o);
    }
    for (r = r0; r < r1; r += 16)
        TRAINOPT__UNROLL
        for (j = 0; j < TRAINOPT__BN_VB; j++)
            if (j < nv)
                trainopt__bn_accum(kind, relu, r * cs + v0 + (size_t)j * TRAINOPT_SIMD_LANES,
                                   j == nv - 1 ? klast : TRAINOPT_SIMD_LANES, m[j], x, dy, y, &s1[j], &s2[j]);
    TRAINOPT__UNROLL
    for (j = 0; j < TRAINOPT__BN_VB; j++)
        if (j < nv) {
            trainopt__v_store(a1 + (size_t)j * TRAINOPT_SIMD_LANES, s1[j]);
            if (kind != TRAINOPT__BN_SUM) trainopt__v_store(a2 + (size_t)j * TRAINOPT_SIMD_LANES, s2[j]);
        }
}

/* One sweep of block B over channels [0, tc) (x, dy, y already offset to the first
   channel; rows are cs floats apart). Position s goes to partial s % 16 (blocks
   start at multiples of 16). */
TRAINOPT__FORCE_INLINE void trainopt__bn_state_sweep(const trainopt__bn_state *st, const trainopt__bn_block *B, size_t s,
                                                     size_t cs, size_t tc, int kind, int relu, const float *x,
                                                     const float *dy, const float *y) {
    const size_t span = (size_t)TRAINOPT__BN_VB * TRAINOPT_SIMD_LANES;
    const size_t full = tc / span * span;
    const size_t rest = tc - full, rest_nv = (rest + TRAINOPT_SIMD_LANES - 1) / TRAINOPT_SIMD_LANES;
    const size_t rest_k = rest - (rest_nv ? rest_nv - 1 : 0) * TRAINOPT_SIMD_LANES;
    size_t n, q, p, v0;
    for (n = B->n0; n < B->n1; n++)
        for (q = B->s0; q < B->s1; q += 64) {
            const size_t end = trainopt__bn_min(q + 64, B->s1);
            const int init = n == B->n0 && q == B->s0; /* the block's first chunk starts its sums */
            for (p = 0; p < 16 && q + p < end; p++) {
                const size_t r0 = n * s + q + p, r1 = n * s + end;
                for (v0 = 0; v0 < full; v0 += span)
                    trainopt__bn_state_group(st, p, r0, r1, cs, v0, TRAINOPT__BN_VB, TRAINOPT_SIMD_LANES, kind, relu,
                                             init, x, dy, y);
                if (rest)
                    trainopt__bn_state_group(st, p, r0, r1, cs, full, (int)rest_nv, rest_k, kind, relu, init, x, dy, y);
            }
        }
}

/* Forward statistics of channels [0, tc): per block a sum sweep for the shift,
   then a centered sweep (the block is in cache), merged in double per channel.
   Leaves each channel's mean and m2 in the state's doubles. */
TRAINOPT__FORCE_INLINE void trainopt__bn_state_stats(const trainopt__bn_state *st, const trainopt__bn_blocks *bl,
                                                     size_t cs, size_t tc, const float *x) {
    const size_t width = trainopt__bn_width(tc);
    double count = 0.0;
    size_t k, j, v;
    for (k = 0; k < bl->count; k++) {
        const trainopt__bn_block B = trainopt__bn_block_at(bl, k);
        const double nb = (double)(B.n1 - B.n0) * (double)(B.s1 - B.s0);
        trainopt__bn_state_zero(st, &B, width, 1);
        trainopt__bn_state_sweep(st, &B, bl->s, cs, tc, TRAINOPT__BN_SUM, 0, x, NULL, NULL);
        trainopt__bn_state_tree(st->a1, st->stride, width);
        for (v = 0; v < width; v += TRAINOPT_SIMD_LANES)
            trainopt__v_store(st->mu + v, trainopt__v_div(trainopt__v_load(st->a1 + v), trainopt__v_set1((float)nb)));
        trainopt__bn_state_zero(st, &B, width, 0);
        trainopt__bn_state_sweep(st, &B, bl->s, cs, tc, TRAINOPT__BN_DEV, 0, x, NULL, NULL);
        trainopt__bn_state_tree(st->a1, st->stride, width);
        trainopt__bn_state_tree(st->a2, st->stride, width);
        for (j = 0; j < tc; j++) {
            double mean = trainopt__bn_getd(st, 2 * j), m2 = trainopt__bn_getd(st, 2 * j + 1);
            trainopt__bn_merge(count, nb, st->mu[j], st->a1[j], st->a2[j], &mean, &m2);
            trainopt__bn_setd(st, 2 * j, mean);
            trainopt__bn_setd(st, 2 * j + 1, m2);
        }
        count += nb;
    }
}

/* Backward sums of channels [0, tc) with the channel means in st->mu: leaves
   sum(g) and sum((x - mean)*g) in the state's doubles. */
TRAINOPT__FORCE_INLINE void trainopt__bn_state_dots(const trainopt__bn_state *st, const trainopt__bn_blocks *bl,
                                                    size_t cs, size_t tc, int relu, const float *x, const float *dy,
                                                    const float *y) {
    const size_t width = trainopt__bn_width(tc);
    size_t k, j;
    for (j = 0; j < 2 * tc; j++) trainopt__bn_setd(st, j, 0.0);
    for (k = 0; k < bl->count; k++) {
        const trainopt__bn_block B = trainopt__bn_block_at(bl, k);
        trainopt__bn_state_zero(st, &B, width, 0);
        trainopt__bn_state_sweep(st, &B, bl->s, cs, tc, TRAINOPT__BN_DOT, relu, x, dy, y);
        trainopt__bn_state_tree(st->a1, st->stride, width);
        trainopt__bn_state_tree(st->a2, st->stride, width);
        for (j = 0; j < tc; j++) {
            trainopt__bn_setd(st, 2 * j, trainopt__bn_getd(st, 2 * j) + (double)st->a1[j]);
            trainopt__bn_setd(st, 2 * j + 1, trainopt__bn_getd(st, 2 * j + 1) + (double)st->a2[j]);
        }
    }
}

/* The elementwise pass over rows [r0, r1), channels [0, tc), with per-channel
   coefficients coef[0..3] (front to back: measured faster here than back to front,
   whose reuse of the cache the write stream spoils):
   forward y = fma(x - coef0, coef1, coef2); backward dx = fma(x - coef0, coef2,
   fma(g, coef1, coef3)). */
TRAINOPT__FORCE_INLINE trainopt__vf trainopt__bn_elem_vec(int backward, int relu, const float *const *coef, size_t v,
                                                          size_t o, size_t k, const float *x, const float *dy,
                                                          const float *y) {
    const trainopt__vf xv = trainopt__v_load_n(x + o, k), mu = trainopt__v_load_n(coef[0] + v, k);
    if (!backward) return trainopt__bn_norm(xv, mu, trainopt__v_load_n(coef[1] + v, k), trainopt__v_load_n(coef[2] + v, k), relu);
    return trainopt__bn_dx(xv, trainopt__bn_grad(trainopt__v_load_n(dy + o, k), relu ? y + o : y, k, relu), mu, /* NULL y */
                           trainopt__v_load_n(coef[1] + v, k), trainopt__v_load_n(coef[2] + v, k),
                           trainopt__v_load_n(coef[3] + v, k));
}

TRAINOPT__FORCE_INLINE void trainopt__bn_elem_rows(int backward, int relu, int stream, const float *const *coef,
                                                   size_t r0, size_t r1, size_t cs, size_t tc, const float *x,
                                                   const float *dy, const float *y, float *out) {
    size_t r, v;
    for (r = r0; r < r1; r++) {
        const size_t o = r * cs;
        v = 0;
        if (stream) {
            const size_t h = trainopt__bn_head(out + o, tc);
            if (h) trainopt__v_store_n(out + o, trainopt__bn_elem_vec(backward, relu, coef, 0, o, h, x, dy, y), h);
            for (v = h; v + TRAINOPT_SIMD_LANES <= tc; v += TRAINOPT_SIMD_LANES)
                trainopt__v_stream(out + o + v,
                                   trainopt__bn_elem_vec(backward, relu, coef, v, o + v, TRAINOPT_SIMD_LANES, x, dy, y));
        } else {
            for (; v + TRAINOPT_SIMD_LANES <= tc; v += TRAINOPT_SIMD_LANES)
                trainopt__v_store(out + o + v,
                                  trainopt__bn_elem_vec(backward, relu, coef, v, o + v, TRAINOPT_SIMD_LANES, x, dy, y));
        }
        if (v < tc) trainopt__v_store_n(out + o + v, trainopt__bn_elem_vec(backward, relu, coef, v, o + v, tc - v, x, dy, y), tc - v);
    }
}

/* The elementwise pass when the coefficients sit in rows 0..3 of the output itself:
   rows 4.. first, then rows 0..3 a tile at a time from a copy of its coefficients. */
TRAINOPT__FORCE_INLINE void trainopt__bn_elem_out(int backward, int relu, int stream, const trainopt__bn_state *st, size_t m,
                                                  size_t cs, const float *x, const float *dy, const float *y,
                                                  float *out) {
    float copy[4][TRAINOPT__BN_TILE];
    const float *cp[4];
    size_t c0, i;
    int j;
    trainopt__bn_elem_rows(backward, relu, stream, (const float *const *)st->coef, 4, m, cs, cs, x, dy, y, out);
    for (j = 0; j < 4; j++) cp[j] = copy[j];
    for (c0 = 0; c0 < cs; c0 += TRAINOPT__BN_TILE) {
        const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, cs - c0);
        for (j = 0; j < (backward ? 4 : 3); j++)
            for (i = 0; i < tc; i++) copy[j][i] = st->coef[j][c0 + i];
        trainopt__bn_elem_rows(backward, relu, 0, cp, 0, 4, cs, tc, x + c0, dy ? dy + c0 : NULL, y ? y + c0 : NULL,
                               out + c0);
    }
}

TRAINOPT__FORCE_INLINE void trainopt__bn_train_nhwc(const trainopt__bn_params *p, size_t n, size_t cs, size_t s,
                                                    int relu, int in_out, const float *x, const float *gamma,
                                                    const float *beta, float *running_mean, float *running_var,
                                                    float *y, float *save_mean, float *save_invstd) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(n, s);
    const double m = (double)n * (double)s;
    trainopt__bn_state st;
    trainopt__bn_tile t;
    size_t c0, j;
    if (cs > TRAINOPT__BN_TILE && in_out) {
        trainopt__bn_out_state(y, cs, &st);
        for (j = 0; j < 2 * cs; j++) trainopt__bn_setd(&st, j, 0.0);
        trainopt__bn_state_stats(&st, &bl, cs, cs, x);
        for (j = 0; j < cs; j++)
            trainopt__bn_finish(p, m, trainopt__bn_getd(&st, 2 * j), trainopt__bn_getd(&st, 2 * j + 1),
                                gamma ? gamma[j] : 1.0f, beta ? beta[j] : 0.0f, save_mean + j, save_invstd + j,
                                running_mean ? running_mean + j : NULL, running_var ? running_var + j : NULL,
                                st.coef[0] + j, st.coef[1] + j, st.coef[2] + j);
        trainopt__bn_elem_out(0, relu, p->stream, &st, n * s, cs, x, NULL, NULL, y);
        return;
    }
    trainopt__bn_tile_state(&t, &st);
    for (c0 = 0; c0 < cs; c0 += TRAINOPT__BN_TILE) {
        const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, cs - c0);
        for (j = 0; j < 2 * TRAINOPT__BN_TILE; j++) t.d[j] = 0.0;
        trainopt__bn_state_stats(&st, &bl, cs, tc, x + c0);
        for (j = 0; j < tc; j++) {
            const size_t c = c0 + j;
            trainopt__bn_finish(p, m, t.d[2 * j], t.d[2 * j + 1], gamma ? gamma[c] : 1.0f, beta ? beta[c] : 0.0f,
                                save_mean + c, save_invstd + c, running_mean ? running_mean + c : NULL,
                                running_var ? running_var + c : NULL, t.coef[0] + j, t.coef[1] + j, t.coef[2] + j);
        }
        trainopt__bn_elem_rows(0, relu, p->stream, (const float *const *)st.coef, 0, n * s, cs, tc, x + c0, NULL, NULL,
                               y + c0);
    }
}

TRAINOPT__FORCE_INLINE void trainopt__bn_backward_nhwc(size_t n, size_t cs, size_t s, int relu, int stream, int in_out,
                                                       const float *x, const float *dy, const float *gamma,
                                                       const float *save_mean, const float *save_invstd,
                                                       const float *y, float *dx, float *dgamma, float *dbeta) {
    const trainopt__bn_blocks bl = trainopt__bn_blocks_of(n, s);
    const double m = (double)n * (double)s;
    trainopt__bn_state st;
    trainopt__bn_tile t;
    size_t c0, j;
    if (cs > TRAINOPT__BN_TILE && in_out) {
        trainopt__bn_out_state(dx, cs, &st);
        for (j = 0; j < st.stride; j++) st.mu[j] = j < cs ? save_mean[j] : 0.0f;
        trainopt__bn_state_dots(&st, &bl, cs, cs, relu, x, dy, y);
        for (j = 0; j < cs; j++) {
            st.coef[0][j] = save_mean[j];
            trainopt__bn_backward_coefs(m, trainopt__bn_getd(&st, 2 * j), trainopt__bn_getd(&st, 2 * j + 1),
                                        save_invstd[j], gamma ? gamma[j] : 1.0f, dgamma ? dgamma + j : NULL,
                                        dbeta ? dbeta + j : NULL, st.coef[1] + j, st.coef[2] + j, st.coef[3] + j);
        }
        trainopt__bn_elem_out(1, relu, stream, &st, n * s, cs, x, dy, y, dx);
        return;
    }
    trainopt__bn_tile_state(&t, &st);
    for (c0 = 0; c0 < cs; c0 += TRAINOPT__BN_TILE) {
        const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, cs - c0);
        for (j = 0; j < TRAINOPT__BN_TILE; j++) t.mu[j] = j < tc ? save_mean[c0 + j] : 0.0f;
        trainopt__bn_state_dots(&st, &bl, cs, tc, relu, x + c0, dy + c0, y ? y + c0 : NULL);
        for (j = 0; j < tc; j++) {
            const size_t c = c0 + j;
            t.coef[0][j] = save_mean[c];
            trainopt__bn_backward_coefs(m, t.d[2 * j], t.d[2 * j + 1], save_invstd[c], gamma ? gamma[c] : 1.0f,
                                        dgamma ? dgamma + c : NULL, dbeta ? dbeta + c : NULL, t.coef[1] + j,
                                        t.coef[2] + j, t.coef[3] + j);
        }
        trainopt__bn_elem_rows(1, relu, stream, (const float *const *)st.coef, 0, n * s, cs, tc, x + c0, dy + c0,
                               y ? y + c0 : NULL, dx + c0);
    }
}

/* Inference coefficients: y = fma(x - mean, a, b), a = gamma/sqrt(var + eps) in double. */
TRAINOPT__FORCE_INLINE void trainopt__bn_infer_coefs(double eps, float gamma, float beta, float mean, float var,
                                                     float *mu, float *a, float *b) {
    *mu = mean;
    *a = trainopt__bn_f((double)gamma / sqrt((double)var + eps));
    *b = beta;
}

/* S = 1 is the same memory in both layouts; NHWC (lanes across channels) serves
   it, viewed as one image of N positions so that consecutive samples fill the 16
   partial sums. */
TRAINOPT__FORCE_INLINE trainopt_layout trainopt__bn_view(const trainopt_bn_shape *s, size_t *n, size_t *sp) {
    if (s->spatial == 1) {
        *n = 1;
        *sp = s->n;
        return TRAINOPT_NHWC;
    }
    *n = s->n;
    *sp = s->spatial;
    return s->layout;
}

/* Whether the NHWC passes may keep their state in the output array `out` of
   total floats: it is not also an input, and it is large enough. */
TRAINOPT__FORCE_INLINE int trainopt__bn_out_usable(const float *out, const float *a, const float *b, const float *c,
                                                   size_t total, size_t channels) {
    return out != a && out != b && out != c && channels < SIZE_MAX / 64 && total >= trainopt__bn_scratch_floats(channels);
}

/* ---- public functions ---- */

TRAINOPT_API trainopt_status trainopt_batchnorm_forward_train(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                             const float *x, const float *gamma, const float *beta,
                                                             float *running_mean, float *running_var, float *y,
                                                             float *save_mean, float *save_invstd) {
    trainopt__bn_params p;
    trainopt__bn_span spans[8];
    size_t total, m, n, sp;
    int i, in_out;
    trainopt_status st = trainopt__bn_check_config(c, &s, &total, &m);
    if (st != TRAINOPT_OK) return st;
    if (total == 0) return TRAINOPT_OK;
    if (m == 1) return TRAINOPT_ERR_SHAPE;
    if (!x || !y || !save_mean || !save_invstd || (!running_mean != !running_var)) return TRAINOPT_ERR_NULL;
    spans[0].p = x; spans[1].p = y; spans[2].p = gamma; spans[3].p = beta;
    spans[4].p = running_mean; spans[5].p = running_var; spans[6].p = save_mean; spans[7].p = save_invstd;
    for (i = 0; i < 8; i++) {
        spans[i].bytes = (i < 2 ? total : s.c) * sizeof(float);
        spans[i].role = i == 0 ? TRAINOPT__BN_EW_IN : i == 1 ? TRAINOPT__BN_EW_OUT : i < 4 ? TRAINOPT__BN_IN : TRAINOPT__BN_OUT;
    }
    if ((st = trainopt__bn_check_overlap(spans, 8)) != TRAINOPT_OK) return st;

    p.eps = c->eps;
    p.momentum = c->momentum;
    p.relu = c->fuse_relu != 0;
    p.stream = total >= TRAINOPT_STREAM_BYTES / sizeof(float);
    if (trainopt__bn_view(&s, &n, &sp) == TRAINOPT_NCHW) {
        if (p.relu) trainopt__bn_train_nchw(&p, n, s.c, sp, 1, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd);
        else trainopt__bn_train_nchw(&p, n, s.c, sp, 0, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd);
    } else {
        in_out = trainopt__bn_out_usable(y, x, x, x, total, s.c);
        if (p.relu) trainopt__bn_train_nhwc(&p, n, s.c, sp, 1, in_out, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd);
        else trainopt__bn_train_nhwc(&p, n, s.c, sp, 0, in_out, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd);
    }
    if (p.stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_batchnorm_forward_infer(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                             const float *x, const float *gamma, const float *beta,
                                                             const float *running_mean, const float *running_var,
                                                             float *y) {
    trainopt__bn_span spans[6];
    size_t total, m, n, sp, ch, r, j, c0;
    int i, relu, stream;
    trainopt_status st = trainopt__bn_check_config(c, &s, &total, &m);
    if (st != TRAINOPT_OK) return st;
    if (total == 0) return TRAINOPT_OK;
    if (!x || !y || !running_mean || !running_var) return TRAINOPT_ERR_NULL;
    spans[0].p = x; spans[1].p = y; spans[2].p = gamma; spans[3].p = beta;
    spans[4].p = running_mean; spans[5].p = running_var;
    for (i = 0; i < 6; i++) {
        spans[i].bytes = (i < 2 ? total : s.c) * sizeof(float);
        spans[i].role = i == 0 ? TRAINOPT__BN_EW_IN : i == 1 ? TRAINOPT__BN_EW_OUT : TRAINOPT__BN_IN;
    }
    if ((st = trainopt__bn_check_overlap(spans, 6)) != TRAINOPT_OK) return st;

    relu = c->fuse_relu != 0;
    stream = total >= TRAINOPT_STREAM_BYTES / sizeof(float);
    if (trainopt__bn_view(&s, &n, &sp) == TRAINOPT_NCHW) {
        /* Elementwise, so nearly in memory order (channel by channel costs TLB and
           prefetch misses): a tile of channels at a time, image by image. */
        float mu[TRAINOPT__BN_TILE], a[TRAINOPT__BN_TILE], b[TRAINOPT__BN_TILE];
        for (c0 = 0; c0 < s.c; c0 += TRAINOPT__BN_TILE) {
            const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, s.c - c0);
            for (j = 0; j < tc; j++) {
                ch = c0 + j;
                trainopt__bn_infer_coefs(c->eps, gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, running_mean[ch],
                                         running_var[ch], mu + j, a + j, b + j);
            }
            for (r = 0; r < n; r++)
                for (j = 0; j < tc; j++) {
                    const size_t o = (r * s.c + c0 + j) * sp;
                    if (relu) trainopt__bn_row_norm(x + o, y + o, sp, mu[j], a[j], b[j], 1, stream);
                    else trainopt__bn_row_norm(x + o, y + o, sp, mu[j], a[j], b[j], 0, stream);
                }
        }
    } else if (s.c > TRAINOPT__BN_TILE && y != x && m >= 4) {
        /* Whole rows, the coefficients in rows 0..2 of y (see >>batchnorm NHWC). */
        trainopt__bn_state stt;
        stt.coef[0] = y; stt.coef[1] = y + s.c; stt.coef[2] = y + 2 * s.c; stt.coef[3] = y + 3 * s.c;
        for (ch = 0; ch < s.c; ch++)
            trainopt__bn_infer_coefs(c->eps, gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, running_mean[ch],
                                     running_var[ch], stt.coef[0] + ch, stt.coef[1] + ch, stt.coef[2] + ch);
        if (relu) trainopt__bn_elem_out(0, 1, stream, &stt, m, s.c, x, NULL, NULL, y);
        else trainopt__bn_elem_out(0, 0, stream, &stt, m, s.c, x, NULL, NULL, y);
    } else {
        float coef[3][TRAINOPT__BN_TILE];
        const float *cp[3];
        cp[0] = coef[0]; cp[1] = coef[1]; cp[2] = coef[2];
        for (c0 = 0; c0 < s.c; c0 += TRAINOPT__BN_TILE) {
            const size_t tc = trainopt__bn_min(TRAINOPT__BN_TILE, s.c - c0);
            for (j = 0; j < tc; j++) {
                ch = c0 + j;
                trainopt__bn_infer_coefs(c->eps, gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, running_mean[ch],
                                         running_var[ch], coef[0] + j, coef[1] + j, coef[2] + j);
            }
            if (relu) trainopt__bn_elem_rows(0, 1, stream, cp, 0, m, s.c, tc, x + c0, NULL, NULL, y + c0);
            else trainopt__bn_elem_rows(0, 0, stream, cp, 0, m, s.c, tc, x + c0, NULL, NULL, y + c0);
        }
    }
    if (stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

TRAINOPT_API trainopt_status trainopt_batchnorm_backward(const trainopt_bn_config *c, trainopt_bn_shape s,
                                                        const float *x, const float *dy, const float *gamma,
                                                        const float *save_mean, const float *save_invstd,
                                                        const float *y, float *dx, float *dgamma, float *dbeta) {
    trainopt__bn_span spans[9];
    size_t total, m, n, sp;
    int relu, i, in_out, stream;
    trainopt_status st = trainopt__bn_check_config(c, &s, &total, &m);
    if (st != TRAINOPT_OK) return st;
    if (total == 0) return TRAINOPT_OK;
    relu = c->fuse_relu != 0;
    if (!x || !dy || !save_mean || !save_invstd || !dx || (relu && !y)) return TRAINOPT_ERR_NULL;
    if (!relu) y = NULL; /* not read */
    spans[0].p = x; spans[1].p = dy; spans[2].p = y; spans[3].p = dx;
    spans[4].p = gamma; spans[5].p = save_mean; spans[6].p = save_invstd; spans[7].p = dgamma; spans[8].p = dbeta;
    for (i = 0; i < 9; i++) {
        spans[i].bytes = (i < 4 ? total : s.c) * sizeof(float);
        spans[i].role = i < 3 ? TRAINOPT__BN_EW_IN : i == 3 ? TRAINOPT__BN_EW_OUT : i < 7 ? TRAINOPT__BN_IN : TRAINOPT__BN_OUT;
    }
    if ((st = trainopt__bn_check_overlap(spans, 9)) != TRAINOPT_OK) return st;

    stream = total >= TRAINOPT_STREAM_BYTES / sizeof(float);
    if (trainopt__bn_view(&s, &n, &sp) == TRAINOPT_NCHW) {
        if (relu) trainopt__bn_backward_nchw(n, s.c, sp, 1, stream, x, dy, gamma, save_mean, save_invstd, y, dx, dgamma, dbeta);
        else trainopt__bn_backward_nchw(n, s.c, sp, 0, stream, x, dy, gamma, save_mean, save_invstd, NULL, dx, dgamma, dbeta);
    } else {
        in_out = trainopt__bn_out_usable(dx, x, dy, y, total, s.c);
        if (relu) trainopt__bn_backward_nhwc(n, s.c, sp, 1, stream, in_out, x, dy, gamma, save_mean, save_invstd, y, dx, dgamma, dbeta);
        else trainopt__bn_backward_nhwc(n, s.c, sp, 0, stream, in_out, x, dy, gamma, save_mean, save_invstd, NULL, dx, dgamma, dbeta);
    }
    if (stream) trainopt__stream_fence();
    return TRAINOPT_OK;
}

/* Per-channel scale and shift for inference: y = x*scale + shift equals
   forward_infer to a few ulps. Computed in double, rounded once; shift uses the
   rounded scale so that the pair is consistent. */
TRAINOPT_API trainopt_status trainopt_batchnorm_fold(const trainopt_bn_config *c, size_t channels, const float *gamma,
                                                    const float *beta, const float *running_mean,
                                                    const float *running_var, float *scale, float *shift) {
    trainopt__bn_span spans[6];
    trainopt_bn_shape shape;
    size_t total, m, ch;
    int i;
    trainopt_status st;
    shape.n = 1;
    shape.c = channels;
    shape.spatial = 1;
    shape.layout = TRAINOPT_NCHW;
    if ((st = trainopt__bn_check_config(c, &shape, &total, &m)) != TRAINOPT_OK) return st;
    if (channels == 0) return TRAINOPT_OK;
    if (!running_mean || !running_var || !scale || !shift) return TRAINOPT_ERR_NULL;
    spans[0].p = gamma; spans[1].p = beta; spans[2].p = running_mean; spans[3].p = running_var;
    spans[4].p = scale; spans[5].p = shift;
    for (i = 0; i < 6; i++) {
        spans[i].bytes = channels * sizeof(float);
        spans[i].role = i < 4 ? TRAINOPT__BN_EW_IN : TRAINOPT__BN_EW_OUT;
    }
    if ((st = trainopt__bn_check_overlap(spans, 6)) != TRAINOPT_OK) return st;
    for (ch = 0; ch < channels; ch++) {
        float mu, a, b;
        trainopt__bn_infer_coefs(c->eps, gamma ? gamma[ch] : 1.0f, beta ? beta[ch] : 0.0f, running_mean[ch],
                                 running_var[ch], &mu, &a, &b);
        scale[ch] = a;
        shift[ch] = trainopt__bn_f(fma(-(double)mu, (double)a, (double)b));
    }
    return TRAINOPT_OK;
}


#endif /* TRAINOPT__FIRST_ENTRY || TRAINOPT__VARIANT_PASS */

/* >>dispatch: runtime dispatch, opt-in with #define TRAINOPT_DISPATCH (see the manual).
   The kernels above were compiled as the scalar variant; here they are compiled again
   under a target pragma (not global -m flags) as the avx2 and avx512 variants, each pass
   renaming every name it defines with the variant's prefix (>>dispatch-names:
   trainopt__x becomes trainopt__avx2_trainopt__x, trainopt_x trainopt__avx2_trainopt_x).
   Each public function then becomes a wrapper calling, through a pointer, the variant
   chosen at the first call. Public types and the double-precision code are compiled once. */
#if defined(TRAINOPT__FIRST_ENTRY)
#undef TRAINOPT__FIRST_ENTRY
#if defined(TRAINOPT__DISPATCHING)
#define TRAINOPT__TYPES_DEFINED 1
#define TRAINOPT__VARIANT_PASS 1

/* The avx2 variant. */
#undef TRAINOPT_SIMD_H
#undef TRAINOPT_SIMD_NAME
#undef TRAINOPT_SIMD_LANES
#undef TRAINOPT__BACKEND_SCALAR
#undef TRAINOPT__VARIANT_SCALAR
#undef TRAINOPT__PRIVATE_PREFIX
#undef TRAINOPT__PUBLIC_PREFIX
#define TRAINOPT__VARIANT_AVX2 1
#define TRAINOPT__PRIVATE_PREFIX trainopt__avx2_
#define TRAINOPT__PUBLIC_PREFIX trainopt__avx2_
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include "trainopt_simd.h"
#include "trainopt.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef TRAINOPT_SIMD_H
#undef TRAINOPT_SIMD_NAME
#undef TRAINOPT_SIMD_LANES
#undef TRAINOPT__BACKEND_AVX2
#undef TRAINOPT__VARIANT_AVX2
#undef TRAINOPT__PRIVATE_PREFIX
#undef TRAINOPT__PUBLIC_PREFIX

/* The avx512 variant (TRAINOPT_NO_AVX512 leaves it out). */
#if !defined(TRAINOPT_NO_AVX512)
#define TRAINOPT__VARIANT_AVX512 1
#define TRAINOPT__PRIVATE_PREFIX trainopt__avx512_
#define TRAINOPT__PUBLIC_PREFIX trainopt__avx512_
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#endif
#include "trainopt_simd.h"
#include "trainopt.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef TRAINOPT_SIMD_H
#undef TRAINOPT_SIMD_NAME
#undef TRAINOPT_SIMD_LANES
#undef TRAINOPT__BACKEND_AVX512
#undef TRAINOPT__VARIANT_AVX512
#undef TRAINOPT__PRIVATE_PREFIX
#undef TRAINOPT__PUBLIC_PREFIX
#endif

/* From here on, and in the user's code, the names mean what they say: trainopt__x and
   TRAINOPT_SIMD_NAME/LANES are the scalar layer, trainopt_x the dispatching wrapper. */
#undef TRAINOPT__VARIANT_PASS
#define TRAINOPT_SIMD_H
#define TRAINOPT_SIMD_NAME "scalar"
#define TRAINOPT_SIMD_LANES 1
#define TRAINOPT__BACKEND_SCALAR 1
#define TRAINOPT__PRIVATE_PREFIX
#define TRAINOPT__PUBLIC_PREFIX

/* The best variant this CPU runs (cpuid, including the OS's support for the registers),
   capped by the environment variable TRAINOPT_MAX_BACKEND=scalar|avx2|avx512:
   0 scalar, 1 avx2, 2 avx512. */
static int trainopt__dispatch_detect(void) {
    const char *cap = getenv("TRAINOPT_MAX_BACKEND");
    int level = 2;
    if (cap != NULL && strcmp(cap, "scalar") == 0) level = 0;
    if (cap != NULL && strcmp(cap, "avx2") == 0) level = 1;
#if defined(TRAINOPT_NO_AVX512)
    if (level > 1) level = 1;
#endif
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
    if (level == 2 && !__builtin_cpu_supports("avx512f")) return 1;
    return level;
}

/* Decided at the first call of any kernel, then kept (per translation unit; threads racing
   on the first call store the same value). */
static inline int trainopt__dispatch_level(void) {
    static int level_plus_one;
    int v = __atomic_load_n(&level_plus_one, __ATOMIC_RELAXED);
    if (v == 0) {
        v = trainopt__dispatch_detect() + 1;
        __atomic_store_n(&level_plus_one, v, __ATOMIC_RELAXED);
    }
    return v - 1;
}

#if defined(TRAINOPT_NO_AVX512)
#define TRAINOPT__AVX512_VARIANT(name) trainopt__avx2_##name
#else
#define TRAINOPT__AVX512_VARIANT(name) trainopt__avx512_##name
#endif
/* Each wrapper keeps its own pointer to the chosen variant, so a program compiles the
   variants of the functions it calls and no others. */
#define TRAINOPT__WRAPPER(ret, name, params, args)                                               \
    TRAINOPT_API ret name params {                                                               \
        typedef ret(*variant_fn) params;                                                          \
        static variant_fn chosen;                                                                 \
        variant_fn fn = __atomic_load_n(&chosen, __ATOMIC_RELAXED);                               \
        if (fn == NULL) {                                                                         \
            const int level = trainopt__dispatch_level();                                         \
            fn = level == 2 ? TRAINOPT__AVX512_VARIANT(name)                                      \
                 : level == 1 ? trainopt__avx2_##name : trainopt__scalar_##name;                 \
            __atomic_store_n(&chosen, fn, __ATOMIC_RELAXED);                                      \
        }                                                                                         \
        return fn args;                                                                           \
    }
TRAINOPT__DISPATCHED(TRAINOPT__WRAPPER)
#undef TRAINOPT__WRAPPER
#undef TRAINOPT__AVX512_VARIANT

#endif /* TRAINOPT__DISPATCHING */

#ifdef __cplusplus
}
#endif
#endif /* TRAINOPT__FIRST_ENTRY */
