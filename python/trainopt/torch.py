"""trainopt.torch: torch.optim drop-ins whose step is libtrainopt's kernel.

Each class subclasses the torch.optim class of the same name, so its constructor,
arguments, defaults, argument checks, param groups, state_dict()/load_state_dict(),
zero_grad() and the lr_scheduler hooks are torch's own; only step() is trainopt's.
The state it keeps is torch's (the same names, dtypes and step counters), so a
checkpoint moves between trainopt.torch.AdamW and torch.optim.AdamW both ways.

A bfloat16 parameter (with a bfloat16 gradient; its states bfloat16, as torch.optim keeps them)
is stepped by trainopt_<opt>_step_mp (one _step_mp_multi call per group on the threads): the fp32
step on the widened values, rounded once.

step() checks every parameter of every group before it runs any kernel: CPU,
float32 (or bfloat16), contiguous, a dense gradient of the parameter's shape, states of the
parameter's size, no overlap; the hyperparameters go through the kernel's own
checks (a call with n = 0). A refused step raises, naming the parameter
(param_groups[i]['params'][j]) or with trainopt_last_error()'s text, and has
changed nothing: no parameter, no state, no step counter.

Adding an optimizer is one OPTIMIZERS entry (README.md, "Python").
"""
from operator import is_, sub

import torch

from . import _api
from ._lib import (MULTI_STATES, POOL_MAX, Pool, check, config_fields, config_type, defaults_for, ffi, ffi_by_address,
                   initializer, lib, lib_by_address, list_optimizer_layout, optimizer_layout)

__all__ = []


class Spec:
    """How a torch.optim class maps onto a trainopt kernel.

    kernel   the kernel of the list, of the optimizer shape (_lib.optimizer_layout) or the tensor-list
             shape of LAMB and LARS (one call per group and step value); its _ex variant, when there
             is one, serves step(grad_scale=...);
    name     the class name: torch.optim's class to subclass when torch has it, otherwise a
             class of its own whose keyword arguments are the config's fields with the C defaults;
    states   torch's state names, in the order of the kernel's state arrays;
    needed   group -> the state names this group's config uses (the others are passed as NULL);
    step     how torch keeps state['step']: "tensor" (a float tensor), "int", or None (no
             counter: the kernel's step is 1 while the first state is being created, else 2);
    hparams  config field -> group -> value, for fields not named as in the group (betas); a field
             neither there nor in the group (maximize in 1.13's NAdam) keeps the library's default;
    fill     state name -> group -> its initial value, for states that do not start at 0;
    unused_as_none  torch stores the states the group does not use as None (SGD's momentum_buffer);
    scalars  the kernel's scalar parameters between step and n: name -> (value(cfg, step, state), the
             state entry torch keeps it in as a float32 scalar tensor, or None), e.g. NAdam's mu_product.
    """

    def __init__(self, kernel, name, states, needed=None, step="tensor", hparams=None, fill=None,
                 unused_as_none=False, scalars=None):
        self.kernel, self.name, self.states, self.step = kernel, name, tuple(states), step
        self.needed = needed or (lambda group: self.states)
        self.hparams, self.fill, self.unused_as_none = hparams or {}, fill or {}, unused_as_none
        self.scalars = scalars or {}


_BETAS = {"beta1": lambda g: g["betas"][0], "beta2": lambda g: g["betas"][1]}


def _adam_states(group):
    return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if group["amsgrad"] else ("exp_avg", "exp_avg_sq")


def _nadam_mu_product(cfg, step, state):
    """P_t from P_{t-1} (state['mu_product'], 1 before the first step), rounded as PyTorch's float32 tensor."""
    return lib.trainopt_nadam_mu_product(cfg, step, float(state.get("mu_product", 1.0)))


# The table: one entry per optimizer. An entry whose kernel this library lacks is skipped, so
# entries may come before their kernels.
OPTIMIZERS = [
    Spec("sgd_step", "SGD", ("momentum_buffer",), step=None, unused_as_none=True,
         needed=lambda g: ("momentum_buffer",) if g["momentum"] != 0 else ()),
    Spec("adam_step", "Adam", ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), _adam_states, hparams=_BETAS),
    Spec("adamw_step", "AdamW", ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), _adam_states, hparams=_BETAS),
    Spec("adagrad_step", "Adagrad", ("sum",), fill={"sum": lambda g: g["initial_accumulator_value"]}),
    Spec("rmsprop_step", "RMSprop", ("square_avg", "momentum_buffer", "grad_avg"), step="int",
         needed=lambda g: ("square_avg",) + (("momentum_buffer",) if g["momentum"] != 0 else ()) +
         (("grad_avg",) if g["centered"] else ())),
    Spec("nadam_step", "NAdam", ("exp_avg", "exp_avg_sq"), hparams=_BETAS,
         scalars={"mu_product": (_nadam_mu_product, "mu_product")}),
    Spec("radam_step", "RAdam", ("exp_avg", "exp_avg_sq"), hparams=_BETAS),
    Spec("adamax_step", "Adamax", ("exp_avg", "exp_inf"), hparams=_BETAS),
    Spec("adadelta_step", "Adadelta", ("square_avg", "acc_delta"), step="int"),
    Spec("lion_step", "Lion", ("exp_avg",)),  # torch.optim has none: a class of the config's fields
    Spec("lamb_step", "LAMB", ("exp_avg", "exp_avg_sq")),  # optax's; tensor lists
    Spec("lars_step", "LARS", ("momentum_buffer",), step=None),
]

# torch.optim flags with no trainopt meaning: refused when set (foreach is accepted and
# ignored: trainopt has one path).
_REFUSED_FLAGS = {"differentiable": "autograd through the step", "capturable": "CUDA graph capture",
                  "fused": "torch's CUDA fused kernel"}


# What a step takes, for the error that refuses another dtype.
_DTYPE_RULE = {torch.float32: "torch.float32 (or torch.bfloat16 parameters with bf16 gradients and states)",
               torch.bfloat16: "torch.bfloat16 gradients and states with a torch.bfloat16 parameter"}

# bf16 parameters (nearest rounding), gradients and states: the descriptor of every _mp call.
_BF16_PRECISION = ffi.new("trainopt_precision *", initializer(_api.DEFAULTS["precision"]))
_BF16_PRECISION.param_dtype = _BF16_PRECISION.grad_dtype = _BF16_PRECISION.state_dtype = lib.TRAINOPT_BF16


def _where(gi, j):
    return "param_groups[%d]['params'][%d]" % (gi, j)


class _TrainoptStep:
    """step() over a trainopt kernel; mixed in before the torch.optim class (see Spec)."""

    _spec = None

    def __init__(self, *args, threads=None, **kwargs):
        super().__init__(*args, **kwargs)
        for gi, group in enumerate(self.param_groups):
            self._refuse_flags(gi, group)
        self.threads = threads

    # ---- threads: the multi-tensor call of each group runs on a trainopt_pool this optimizer owns ----
    # threads=None (the default) follows torch.get_num_threads() at every step, as torch.optim's own
    # steps run on PyTorch's intra-op threads (torch.set_num_threads changes both); an int fixes the
    # number. The result is the same bits at any number of threads (the library cuts the work into
    # fixed chunks), so the choice is speed alone. The pool is made at the first step that needs it
    # and again when the number changes; it is not part of state_dict() (nor of a pickled optimizer).

    @property
    def threads(self):
        return self.__dict__.get("_threads")

    @threads.setter
    def threads(self, threads):
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or not 1 <= threads <= POOL_MAX):
            raise ValueError("trainopt.torch.%s: threads=%r: None (follow torch.get_num_threads()) or an int "
                             "from 1 to %d" % (self._spec.name, threads, POOL_MAX))
        self.__dict__["_threads"] = threads

    def _threads_hook(self):
        """The const trainopt_threads * of this step's multi-tensor calls: NULL for one thread."""
        threads = min(self.threads or torch.get_num_threads(), POOL_MAX)
        if threads <= 1:
            return ffi.NULL
        pool = self.__dict__.get("_pool")
        if pool is None or pool.threads != threads:
            pool = self.__dict__["_pool"] = Pool(threads)
        return pool.hook

    def _refuse_flags(self, gi, group):
        for flag, what in _REFUSED_FLAGS.items():
            if group.get(flag):
                raise ValueError("trainopt.torch.%s: %s=True (%s) is not supported (param_groups[%d])"
                                 % (self._spec.name, flag, what, gi))

    def _config(self, group, kernel):
        spec = self._spec
        init = defaults_for(kernel)
        cfg = ffi.new(config_type(kernel) + " *", init) if init is not None else ffi.new(config_type(kernel) + " *")
        for field in config_fields(config_type(kernel)):
            if field in spec.hparams:
                value = spec.hparams[field](group)
            elif field in group:
                value = group[field]
            else:
                continue  # the library's default
            setattr(cfg, field, float(value) if isinstance(value, torch.Tensor) else value)
        return cfg

    def _check_tensor(self, t, gi, j, what, numel, dtype=torch.float32):
        """Raise the error for a tensor that is not a dense contiguous CPU DTYPE tensor of NUMEL elements."""
        who = "trainopt.torch.%s: %s" % (self._spec.name, _where(gi, j))
        if t.is_sparse or t.layout is not torch.strided:
            raise RuntimeError("%s: %s is sparse; trainopt steps dense tensors only" % (who, what))
        if t.device.type != "cpu":
            raise RuntimeError("%s: %s is on %s; trainopt steps CPU tensors" % (who, what, t.device))
        if t.dtype != dtype:
            raise TypeError("%s: %s is %s; trainopt steps %s" % (who, what, t.dtype, _DTYPE_RULE.get(dtype, dtype)))
        if not t.is_contiguous():
            raise ValueError("%s: %s is not contiguous (strides %s)" % (who, what, tuple(t.stride())))
        if t.numel() != numel:
            raise ValueError("%s: %s has %d elements, the parameter %d" % (who, what, t.numel(), numel))

    def _plan_group(self, gi, group, kernel, grad_scaled):
        """Everything one group's step needs, checked: (kernel function, config, rows), a row being
        (parameter, step, n, pointers, new states); new states are made here but stored only once
        every group has passed."""
        spec = self._spec
        self._refuse_flags(gi, group)
        c_function = getattr(lib_by_address, "trainopt_" + kernel)  # arrays by address: _lib.py says why
        cfg = self._config(group, kernel)
        opts = [self._opts] if grad_scaled else []
        layout = optimizer_layout(kernel)
        is_list = layout is None
        has_step, scalar_names = (layout[0], layout[1]) if layout else (list_optimizer_layout(kernel)[0], [])
        scalar_rules = [spec.scalars[name] for name in scalar_names]
        probe = [1] if has_step else []
        for compute, _ in scalar_rules:  # the scalars' values at step 1 from a fresh state
            probe.append(compute(cfg, 1, {}))
        arrays = [ffi.NULL] * (len(spec.states) + 3) if is_list else [0] * (len(spec.states) + 2)
        check(c_function(cfg, *probe, 0, *arrays, *opts), kernel)  # the hyperparameters alone (n or k = 0)
        needed = spec.needed(group)
        names = [(name, name in needed, spec.fill.get(name)) for name in spec.states]
        unused = sum(1 for _, used, _ in names if not used)
        step_kind = spec.step
        all_state = self.state
        strided, f32, bf16 = torch.strided, torch.float32, torch.bfloat16
        rows, mixed_rows = [], []
        for j, p in enumerate(group["params"]):
            grad = p.grad
            if grad is None:
                continue
            n = p.numel()
            dtype = p.dtype
            # The common case in one expression; the slow path says what is wrong.
            if not (grad.layout is strided and (dtype is f32 or dtype is bf16) and grad.dtype is dtype and p.is_cpu
                    and grad.is_cpu and p.is_contiguous() and grad.is_contiguous() and grad.shape == p.shape):
                self._explain(gi, j, p, grad)
            state = all_state.get(p)  # get: the defaultdict must not gain an entry before the commit
            if state is None:
                state = {}
            new_state = None
            pointers = [p.data_ptr(), grad.data_ptr()]
            for name, used, fill in names:
                if not used:
                    pointers.append(0)
                    continue
                t = state.get(name)
                if t is None:
                    t = torch.full_like(p, fill(group)) if fill else torch.zeros_like(p)
                    if new_state is None:
                        new_state = {}
                    new_state[name] = t
                elif not (t.layout is strided and t.dtype is dtype and t.is_cpu and t.is_contiguous()
                          and t.numel() == n):
                    self._check_tensor(t, gi, j, "state['%s']" % name, n, dtype)
                pointers.append(t.data_ptr())
            if step_kind is None:
                step = 1 if new_state else 2
            else:
                step = int(state["step"]) + 1 if "step" in state else 1
            lead = [step] if has_step else []
            kept = None
            if scalar_rules:
                values = [compute(cfg, step, state) for compute, _ in scalar_rules]
                lead += values
                kept = [(keep, value) for (_, keep), value in zip(scalar_rules, values) if keep]
            if n:
                # Every array is n elements of the parameter's size, so two overlap iff their starts are
                # closer than that; the unused states' zeros sort first and are left out.
                starts = sorted(pointers)[unused:]
                if min(map(sub, starts[1:], starts[:-1])) < p.element_size() * n:
                    raise ValueError("trainopt.torch.%s: %s: the parameter, its grad and its states overlap in memory"
                                     % (spec.name, _where(gi, j)))
            fast = step_kind == "tensor" and new_state is None and kept is None and "step" in state
            (rows if dtype is f32 else mixed_rows).append(
                (p, step, lead, n, pointers, new_state, kept, state["step"] if fast else None))
        if mixed_rows:
            self._mixed_function(kernel, gi)  # refuses the group now when the library has no _mp kernel
        return c_function, cfg, rows, is_list, mixed_rows

    def _explain(self, gi, j, p, grad, dtypes=(torch.float32, torch.bfloat16)):
        """Raise the error for a parameter or gradient the fast check refused (DTYPES: the parameter
        dtypes this step takes)."""
        if grad.is_sparse or grad.layout is not torch.strided:
            raise RuntimeError("trainopt.torch.%s: %s has a sparse gradient; trainopt steps dense gradients only"
                               % (self._spec.name, _where(gi, j)))
        self._check_tensor(p, gi, j, "the parameter", p.numel(), p.dtype if p.dtype in dtypes else dtypes[0])
        self._check_tensor(grad, gi, j, "its grad", p.numel(), p.dtype)
        raise ValueError("trainopt.torch.%s: %s: grad shape %s differs from the parameter's %s"
                         % (self._spec.name, _where(gi, j), tuple(grad.shape), tuple(p.shape)))

    @torch.no_grad()
    def step(self, closure=None, *, grad_scale=None, found_inf=None):
        """One update of every parameter with a gradient (torch.optim's step), by trainopt's kernel.
        closure: re-evaluates the model and returns the loss (run with grad enabled), as torch.optim.
        grad_scale (trainopt's fused step): multiply every gradient by this first, e.g. 1/loss_scale
        times clip_grad_norm_'s coefficient; found_inf: a true value skips the step (nothing changes).
        Returns the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if found_inf:
            return loss
        kernel = self._spec.kernel
        grad_scaled = grad_scale is not None
        if grad_scaled:
            kernel += "_ex"
            if kernel not in _api.PARAMS:
                raise TypeError("trainopt.torch.%s: grad_scale needs trainopt_%s, which the library lacks"
                                % (self._spec.name, kernel))
            self._opts = ffi.new("trainopt_step_opts *", [float(grad_scale), ffi.NULL, ffi.NULL])
        opts = [self._opts] if grad_scaled else []
        multi = self._multi_function(kernel)
        hook = self._threads_hook() if multi else ffi.NULL
        plans = []
        for gi, group in enumerate(self.param_groups):
            plan = self._cached_plan(gi, group, kernel, multi, opts) if multi else None
            plans.append(plan or self._plan_group(gi, group, kernel, grad_scaled))
        for gi, plan in enumerate(plans):
            if isinstance(plan, _MultiPlan):
                plan.run(multi, opts[0] if opts else ffi.NULL, kernel, hook)
                continue
            c_function, cfg, rows, is_list, mixed_rows = plan
            if mixed_rows:  # bf16 parameters: their _mp kernel, the precision descriptor after the arrays
                mixed_multi = self._mixed_multi_function(kernel) if multi else None
                if mixed_multi:
                    self._run_multi(mixed_multi, cfg, mixed_rows, opts, kernel, hook, _BF16_PRECISION)
                else:
                    self._run_rows(self._mixed_function(kernel, gi), cfg, mixed_rows,
                                   [_BF16_PRECISION, opts[0] if opts else ffi.NULL], kernel)
            if is_list:
                mt = self._list_mt_function(kernel)
                self._run_lists(c_function, cfg, rows, opts, kernel, mt, self._threads_hook() if mt else ffi.NULL)
                continue
            if multi:
                self._run_multi(multi, cfg, rows, opts, kernel, hook)
                if not mixed_rows and not self._spec.scalars:
                    self._cache_group(gi, self.param_groups[gi], multi)
                continue
            self._run_rows(c_function, cfg, rows, opts, kernel)
        return loss

    def _run_rows(self, c_function, cfg, rows, tail, kernel):
        """The planned rows, one kernel call each (TAIL: its arguments after the arrays), then the commits."""
        commit = self._commit
        for p, step, lead, n, pointers, new_state, kept, step_tensor in rows:
            if n:
                status = c_function(cfg, *lead, n, *pointers, *tail)
                if status:
                    check(status, kernel)
            if step_tensor is not None and isinstance(step_tensor, torch.Tensor):
                step_tensor.fill_(step)  # the common case: an existing state, its step counter advanced
            else:
                commit(p, step, new_state, kept)

    # ---- one multi-tensor call per group (trainopt_<opt>_step_multi, src/parallel.h) ----
    # The first step of a group, and any step after its tensors changed, is planned and checked as
    # above and runs as one multi-tensor call per step value; then the group's list of tensors
    # (trainopt_tensor, by address) is kept with what it was made from. A later step reuses it when
    # the group, the optimizer's state dict, the needed states, the parameters and their gradients
    # are the same objects and the parameters' and gradients' addresses have not moved (p.data = ...
    # or grad.data = ... moves them): a few list comparisons per step instead of the checks per tensor.
    # The hyperparameters are still checked every step (the call with k = 0) before any group runs.
    # torch's per-parameter state['step'] tensors become 0-dim views of one tensor per group, so the
    # counters advance in one fill_ (a view is a tensor as any other: torch.save and torch.optim's
    # in-place step_t += 1 treat it as one). Assigning a state tensor by hand (opt.state[p]['exp_avg']
    # = t) is not seen by a kept list; load_state_dict replaces the state dict, which is.
    # A kernel with scalars (NAdam's mu_product, kept per parameter) takes the multi-tensor call too,
    # one per distinct (step, scalars) value (one in the common case: every parameter stepped alike),
    # but is planned every step: the kept list would not recompute its scalars.

    multi_tensor = True  # False: one kernel call per tensor (the tests compare both paths)

    def _multi_function(self, kernel):
        """trainopt_<opt>_step_multi for KERNEL (adamw_step or adamw_step_ex), or None."""
        name = (kernel[:-len("_ex")] if kernel.endswith("_ex") else kernel) + "_multi"
        if not self.multi_tensor or not MULTI_STATES or name not in _api.PARAMS or len(self._spec.states) > MULTI_STATES:
            return None
        return getattr(lib_by_address, "trainopt_" + name)

    def _run_multi(self, multi, cfg, rows, opts, kernel, hook, precision=None):
        """The planned rows in one multi-tensor call per step value on HOOK's threads, then the commits;
        with PRECISION, MULTI is a _step_mp_multi and takes it before the options."""
        mixed = [precision] if precision is not None else []
        batches = {}
        for row in rows:
            if row[3]:
                batches.setdefault(tuple(row[2]), []).append(row)
        pad = [0] * (MULTI_STATES - len(self._spec.states))
        for lead, batch in batches.items():
            tensors = ffi_by_address.new("trainopt_tensor_by_address[]",
                                         [(row[4][0], row[4][1], row[4][2:] + pad, row[3]) for row in batch])
            status = multi(cfg, *lead, len(batch), tensors, *mixed, opts[0] if opts else ffi.NULL, hook)
            if status:
                check(status, kernel)
        for p, step, lead, n, pointers, new_state, kept, step_tensor in rows:
            if step_tensor is not None and isinstance(step_tensor, torch.Tensor):
                step_tensor.fill_(step)
            else:
                self._commit(p, step, new_state, kept)

    def _cache_group(self, gi, group, multi):
        """Keep group GI's tensor lists (one per step value) for the next steps, when every parameter
        has a gradient and a state (else the next step plans again)."""
        caches = self.__dict__.setdefault("_multi_cache", {})
        caches.pop(gi, None)
        spec, params = self._spec, group["params"]
        grads = [p.grad for p in params]
        states = [self.state.get(p) for p in params]
        if not params or any(g is None for g in grads) or any(s is None for s in states):
            return
        needed = tuple(spec.needed(group))
        pad = [0] * (MULTI_STATES - len(spec.states))
        keep, batches = [], {}
        for p, g, s in zip(params, grads, states):
            arrays = [s[name] if name in needed else None for name in spec.states]
            keep += [a for a in arrays if a is not None]
            row = (p.data_ptr(), g.data_ptr(), [a.data_ptr() if a is not None else 0 for a in arrays] + pad, p.numel())
            batches.setdefault(None if spec.step is None else int(float(s["step"])), []).append((row, s))
        plan = _MultiPlan(group, self.state, needed, params, grads, keep)
        for step, rows in batches.items():
            tensors = ffi_by_address.new("trainopt_tensor_by_address[]", [row for row, _ in rows])
            steps = None
            if spec.step == "tensor":
                steps = torch.full((len(rows),), float(step), dtype=rows[0][1]["step"].dtype)
                for i, (_, s) in enumerate(rows):
                    s["step"] = steps[i]
            plan.batches.append([step, tensors, len(rows), steps, [s for _, s in rows] if spec.step == "int" else None])
        caches[gi] = plan

    def _cached_plan(self, gi, group, kernel, multi, opts):
        """Group GI's kept list, when still valid (see above), with this step's config checked; else None."""
        plan = self.__dict__.get("_multi_cache", {}).get(gi)
        if plan is None or plan.group is not group or plan.state is not self.state:
            return None
        params = group["params"]
        if len(params) != len(plan.params) or not all(map(is_, params, plan.params)):
            return None
        grads = [p.grad for p in params]
        if not all(map(is_, grads, plan.grads)) or tuple(self._spec.needed(group)) != plan.needed:
            return None
        if list(map(_data_ptr, params)) != plan.param_addresses or list(map(_data_ptr, grads)) != plan.grad_addresses:
            return None
        self._refuse_flags(gi, group)
        plan.cfg = self._config(group, kernel)
        for batch in plan.batches:
            check(multi(plan.cfg, batch[0] + 1 if batch[0] is not None else 2, 0, ffi.NULL,
                        opts[0] if opts else ffi.NULL, ffi.NULL), kernel)
        return plan

    # ---- bf16 parameters: trainopt_<opt>_step_mp (src/mixed.h): one _step_mp_multi call per group and
    # step value on the optimizer's threads where the library has it (the bits of one _mp call per
    # tensor), else one call per tensor ----
    # A bf16 parameter with its bf16 gradient keeps its states in bf16, as torch.optim keeps them in
    # the parameter's dtype (so a checkpoint moves both ways); the step is the fp32 kernel on the
    # widened values, rounded to nearest once at the end (torch.optim rounds after every operation).

    def _mixed_function(self, kernel, gi):
        """trainopt_<opt>_step_mp for KERNEL (adamw_step or adamw_step_ex); TypeError when there is none."""
        name = (kernel[:-len("_ex")] if kernel.endswith("_ex") else kernel) + "_mp"
        if name not in _api.PARAMS:
            raise TypeError("trainopt.torch.%s: param_groups[%d] has torch.bfloat16 parameters, which need "
                            "trainopt_%s; the library has none" % (self._spec.name, gi, name))
        return getattr(lib_by_address, "trainopt_" + name)

    def _mixed_multi_function(self, kernel):
        """trainopt_<opt>_step_mp_multi for KERNEL (adamw_step or adamw_step_ex), or None: the bf16
        tensors of a group in one call on the optimizer's threads, the bits of one _mp call each."""
        name = (kernel[:-len("_ex")] if kernel.endswith("_ex") else kernel) + "_mp_multi"
        if name not in _api.PARAMS:
            return None
        return getattr(lib_by_address, "trainopt_" + name)

    def _list_mt_function(self, kernel):
        """trainopt_<opt>_step_mt for a tensor-list KERNEL (lamb_step or lamb_step_ex), or None: its
        threaded form, which takes the _ex arguments and then the threads (src/parallel_layerwise.h)."""
        name = (kernel[:-len("_ex")] if kernel.endswith("_ex") else kernel) + "_mt"
        if not self.multi_tensor or name not in _api.PARAMS:
            return None
        return getattr(lib_by_address, "trainopt_" + name)

    def _run_lists(self, c_function, cfg, rows, opts, kernel, mt=None, hook=None):
        """A tensor-list kernel (LAMB, LARS): one call for the tensors of each step value (one, unless
        parameters joined the group later), then the commits. With MT (its _mt form) the call runs on
        HOOK's threads: the bits of the plain call at any number of threads."""
        batches = {}
        for row in rows:
            if row[3]:
                batches.setdefault(tuple(row[2]), []).append(row)
        for lead, batch in batches.items():
            lens = ffi_by_address.new("size_t[]", [row[3] for row in batch])
            columns = list(zip(*[row[4] for row in batch]))  # one list per array of the kernel
            lists = [ffi_by_address.new("uintptr_t[]", column) if any(column) else ffi.NULL for column in columns]
            if mt is not None:
                status = mt(cfg, *lead, len(batch), lens, *lists, opts[0] if opts else ffi.NULL, hook)
            else:
                status = c_function(cfg, *lead, len(batch), lens, *lists, *opts)
            if status:
                check(status, kernel)
        for p, step, lead, n, pointers, new_state, kept, step_tensor in rows:
            self._commit(p, step, new_state, kept)

    def _commit(self, p, step, new_state, kept):
        spec = self._spec
        state = self.state[p]
        if new_state:
            state.update(new_state)
        if kept:
            for name, value in kept:
                state[name] = torch.tensor(value, dtype=torch.float32)
        if spec.unused_as_none:
            for name in spec.states:
                state.setdefault(name, None)
        if spec.step == "tensor":
            if "step" in state and isinstance(state["step"], torch.Tensor):
                state["step"].fill_(step)
            else:
                state["step"] = torch.tensor(float(step))
        elif spec.step == "int":
            state["step"] = step


_data_ptr = torch.Tensor.data_ptr


class _MultiPlan:
    """A group's kept multi-tensor lists (_TrainoptStep._cache_group) and what they were made from:
    one batch per step value [step (None: SGD's, no counter), tensors, count, the step tensors'
    base (torch keeps tensors), the state dicts (torch keeps ints)]."""

    def __init__(self, group, state, needed, params, grads, keep):
        self.group, self.state, self.needed = group, state, needed
        self.params, self.grads, self.keep = list(params), list(grads), keep  # keep: the states, alive
        self.param_addresses = list(map(_data_ptr, params))
        self.grad_addresses = list(map(_data_ptr, grads))
        self.batches = []
        self.cfg = None

    def run(self, multi, opts, kernel, hook):
        for batch in self.batches:
            step, tensors, count, steps, int_states = batch
            status = multi(self.cfg, step + 1 if step is not None else 2, count, tensors, opts, hook)
            if status:
                check(status, kernel)
            if step is None:
                continue
            batch[0] = step = step + 1
            if steps is not None:
                steps.fill_(step)
            else:
                for s in int_states:
                    s["step"] = step


class _Generic(torch.optim.Optimizer):
    """Base of an optimizer torch.optim lacks: its keyword arguments are the config's fields."""

    def __init__(self, params, **hparams):
        kernel = self._spec.kernel
        ctype = config_type(kernel)
        init = defaults_for(kernel)
        cfg = ffi.new(ctype + " *", init) if init is not None else ffi.new(ctype + " *")
        defaults = {f: getattr(cfg, f) for f in config_fields(ctype)}
        unknown = sorted(set(hparams) - set(defaults))
        if unknown:
            raise TypeError("trainopt.torch.%s: unknown argument %s (it takes %s)"
                            % (self._spec.name, ", ".join(unknown), ", ".join(defaults)))
        defaults.update(hparams)
        unset = [f for f, v in defaults.items() if isinstance(v, float) and v != v]
        if unset:  # NaN in _DEFAULTS: no default (optax.lion's lr)
            raise TypeError("trainopt.torch.%s: %s has no default: pass it" % (self._spec.name, ", ".join(unset)))
        super().__init__(params, defaults)


def make_class(spec):
    """The drop-in class of SPEC: (_TrainoptStep, torch.optim.<name>) when torch has the class,
    else (_TrainoptStep, _Generic)."""
    base = getattr(torch.optim, spec.name, None)
    doc = ("torch.optim.%s whose step() is trainopt_%s (trainopt.torch's module docstring says what differs)."
           % (spec.name, spec.kernel) if base else
           "%s over trainopt_%s; keyword arguments: the fields of %s, with the library's defaults."
           % (spec.name, spec.kernel, config_type(spec.kernel)))
    return type(spec.name, (_TrainoptStep, base or _Generic), {"_spec": spec, "__doc__": doc, "__module__": __name__})


for _spec in OPTIMIZERS:
    if _spec.kernel in _api.PARAMS:
        globals()[_spec.name] = make_class(_spec)
        __all__.append(_spec.name)


# ---- Adafactor and schedule-free AdamW: torch.optim 1.13 has neither, and neither kernel has the
# optimizer shape above (Adafactor takes rows and cols, schedule-free AdamW a scalar state shared by
# the group), so each has its own step() over _TrainoptStep's checks. Their constructors, group
# entries and state names are those of the classes the kernels follow, so a checkpoint of those
# classes loads here and back: torch.optim.Adafactor (PyTorch 2.5) and schedulefree.AdamWScheduleFree.

class _OwnStep(_TrainoptStep):
    """The checks and commits of _TrainoptStep for a class that runs its kernel itself."""

    def _grad_scale_opts(self, grad_scale):
        """(kernel suffix, trailing arguments) for step(grad_scale=...)."""
        if grad_scale is None:
            return "", []
        self._opts = ffi.new("trainopt_step_opts *", [float(grad_scale), ffi.NULL, ffi.NULL])
        return "_ex", [self._opts]

    def _checked_rows(self, gi, group, shapes_ok=None):
        """(index, parameter, grad) of every parameter of GROUP with a gradient, each checked as
        _plan_group checks them (CPU, float32, contiguous, dense, the parameter's shape)."""
        rows = []
        for j, p in enumerate(group["params"]):
            grad = p.grad
            if grad is None:
                continue
            if not (grad.layout is torch.strided and p.dtype is torch.float32 and grad.dtype is torch.float32
                    and p.is_cpu and grad.is_cpu and p.is_contiguous() and grad.is_contiguous()
                    and grad.shape == p.shape):
                self._explain(gi, j, p, grad, (torch.float32,))
            if shapes_ok is not None:
                shapes_ok(gi, j, p)
            rows.append((j, p, grad))
        return rows

    def _state_tensor(self, state, name, gi, j, numel, make):
        """STATE[NAME] checked (numel floats, contiguous, CPU), or a new one from MAKE() (stored by
        the caller only once every parameter has passed)."""
        t = state.get(name)
        if t is None:
            return make(), True
        self._check_tensor(t, gi, j, "state['%s']" % name, numel)
        return t, False

    def _refuse_overlap(self, gi, j, spans):
        """SPANS: (address, bytes) of the arrays one call writes or reads; none may share memory."""
        spans = sorted(s for s in spans if s[1])
        for (a, na), (b, _) in zip(spans, spans[1:]):
            if a + na > b:
                raise ValueError("trainopt.torch.%s: %s: the parameter, its grad and its states overlap in memory"
                                 % (self._spec.name, _where(gi, j)))


def _adafactor_eps(index, default):
    return lambda g: default if g["eps"][index] is None else g["eps"][index]


class Adafactor(_OwnStep, torch.optim.Optimizer):
    """torch.optim.Adafactor (PyTorch 2.5) over trainopt_adafactor_step: the same arguments, defaults,
    group entries and state (step a float tensor; row_var [..., rows, 1] and col_var [..., 1, cols]
    for a parameter of 2 dimensions, variance for one of fewer). PyTorch factors the last two
    dimensions of a tensor of more than 2 per leading index; the kernel does not: such a parameter is
    refused, naming it."""

    _spec = Spec("adafactor_step", "Adafactor", ("row_var", "col_var", "variance"),
                 hparams={"eps1": _adafactor_eps(0, 2.0 ** -23), "eps2": _adafactor_eps(1, 1e-3)})

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False, threads=None):
        # PyTorch 2.5's own argument checks; the kernel checks the rest at the first step
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults, threads=threads)

    def _refuse_dims(self, gi, j, p):
        if p.dim() > 2:
            raise ValueError("trainopt.torch.Adafactor: %s has %d dimensions: trainopt_adafactor_step factors a "
                             "[rows][cols] parameter (PyTorch factors the last two per leading index)"
                             % (_where(gi, j), p.dim()))

    @torch.no_grad()
    def step(self, closure=None, *, grad_scale=None, found_inf=None):
        """As _TrainoptStep.step: one trainopt_adafactor_step_multi per group and step value, each
        tensor whole on a thread of the optimizer's pool (threads=); one trainopt_adafactor_step per
        parameter where the library lacks the list (or multi_tensor is False)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if found_inf:
            return loss
        suffix, opts = self._grad_scale_opts(grad_scale)
        kernel = "adafactor_step" + suffix
        c_function = getattr(lib_by_address, "trainopt_" + kernel)
        multi = self._multi_function(kernel)
        hook = self._threads_hook() if multi else ffi.NULL
        calls, commits = [], []
        for gi, group in enumerate(self.param_groups):
            cfg = self._config(group, kernel)
            check(c_function(cfg, 1, 0, 0, 0, 0, 0, 0, 0, *opts), kernel)  # the hyperparameters alone
            for j, p, grad in self._checked_rows(gi, group, self._refuse_dims):
                state = self.state.get(p) or {}
                n = p.numel()
                rows, cols = (p.shape[0], p.shape[1]) if p.dim() == 2 else (1, n)
                new = {}
                if p.dim() == 2:
                    row_var, fresh = self._state_tensor(state, "row_var", gi, j, rows,
                                                        lambda: p.new_zeros((rows, 1)))
                    if fresh:
                        new["row_var"] = row_var
                    col_var, fresh = self._state_tensor(state, "col_var", gi, j, cols,
                                                        lambda: p.new_zeros((1, cols)))
                    if fresh:
                        new["col_var"] = col_var
                    arrays = [row_var.data_ptr(), col_var.data_ptr(), 0]
                    spans = [(row_var.data_ptr(), 4 * rows), (col_var.data_ptr(), 4 * cols)]
                else:
                    variance, fresh = self._state_tensor(state, "variance", gi, j, n, lambda: torch.zeros_like(p))
                    if fresh:
                        new["variance"] = variance
                    arrays = [0, 0, variance.data_ptr()]
                    spans = [(variance.data_ptr(), 4 * n)]
                self._refuse_overlap(gi, j, spans + [(p.data_ptr(), 4 * n), (grad.data_ptr(), 4 * n)])
                step = int(state["step"]) + 1 if "step" in state else 1
                calls.append((cfg, step, rows, cols, p.data_ptr(), grad.data_ptr(), *arrays))
                commits.append((p, step, new))
        if multi:
            self._run_adafactor_lists(multi, calls, opts, kernel, hook)
        else:
            for call in calls:
                status = c_function(*call, *opts)
                if status:
                    check(status, kernel)
        for p, step, new in commits:
            self._commit(p, step, new, None)
        return loss


    def _run_adafactor_lists(self, multi, calls, opts, kernel, hook):
        """CALLS (per-tensor arguments, in order) as one list per group config and step value."""
        batches = {}
        for cfg, step, rows, cols, param, grad, row_var, col_var, variance in calls:
            if rows * cols:
                batches.setdefault((id(cfg), step), (cfg, step, []))[2].append(
                    (param, grad, row_var, col_var, variance, rows, cols))
        for cfg, step, tensors in batches.values():
            tensors = ffi_by_address.new("trainopt_adafactor_tensor_by_address[]", tensors)
            status = multi(cfg, step, len(tensors), tensors, opts[0] if opts else ffi.NULL, hook)
            if status:
                check(status, kernel)


class AdamWScheduleFree(_OwnStep, torch.optim.Optimizer):
    """schedulefree.AdamWScheduleFree (facebookresearch/schedule_free) over trainopt_sfadamw_advance
    (once per group and step) and trainopt_sfadamw_step (per parameter): the same arguments, defaults,
    group entries (k, lr_max, weight_sum, scheduled_lr, train_mode) and state (z, exp_avg_sq), and
    its train()/eval() protocol: the parameters hold y while training and x, the average to evaluate
    and save, after eval(); step() in eval mode raises, as the reference does. Differences: the
    gradient is left as it was (the reference divides it in place), and foreach is accepted and
    ignored."""

    _spec = Spec("sfadamw_step", "AdamWScheduleFree", ("z", "exp_avg_sq"), hparams=_BETAS)

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, warmup_steps=0,
                 r=0.0, weight_lr_power=2.0, foreach=None, *, threads=None):
        defaults = dict(lr=lr, betas=betas, eps=eps, r=r, k=0, warmup_steps=warmup_steps, train_mode=False,
                        weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0, weight_lr_power=weight_lr_power,
                        weight_decay=weight_decay, foreach=foreach)
        super().__init__(params, defaults, threads=threads)

    def _switch(self, to_train):
        """Every group not yet in the mode: its parameters with a z move between y and x in place."""
        kernel = "sfadamw_to_train" if to_train else "sfadamw_to_eval"
        c_function = getattr(lib_by_address, "trainopt_" + kernel)
        for gi, group in enumerate(self.param_groups):
            if bool(group["train_mode"]) == to_train:
                continue
            cfg = self._config(group, kernel)
            calls = []
            for j, p in enumerate(group["params"]):
                z = self.state.get(p, {}).get("z")
                if z is None:
                    continue
                self._check_tensor(p, gi, j, "the parameter", p.numel())
                self._check_tensor(z, gi, j, "state['z']", p.numel())
                calls.append((p.numel(), p.data_ptr(), z.data_ptr(), p.data_ptr()))
            check(c_function(cfg, 0, 0, 0, 0), kernel)  # beta1 (to_eval needs beta1 > 0)
            for call in calls:
                check(c_function(cfg, *call), kernel)
            group["train_mode"] = to_train

    @torch.no_grad()
    def eval(self):
        """The parameters become x (evaluate and save checkpoints there): x = lerp(y, z, 1 - 1/beta1)."""
        self._switch(False)

    @torch.no_grad()
    def train(self):
        """The parameters become y again (step from there): y = lerp(x, z, 1 - beta1)."""
        self._switch(True)

    @torch.no_grad()
    def step(self, closure=None, *, grad_scale=None, found_inf=None):
        """One step of every group (the reference's): the group's scalars advance once, then every
        parameter with a gradient steps. found_inf skips everything, the scalars included."""
        if not self.param_groups[0]["train_mode"]:
            raise RuntimeError("trainopt.torch.AdamWScheduleFree: the optimizer is in eval mode: call .train() "
                               "before step() (and .eval() before evaluating or saving), as schedulefree requires")
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if found_inf:
            return loss
        suffix, opts = self._grad_scale_opts(grad_scale)
        kernel = "sfadamw_step" + suffix
        c_function = getattr(lib_by_address, "trainopt_" + kernel)
        multi = self._multi_function(kernel)  # one trainopt_sfadamw_step_multi per group, on the pool
        hook = self._threads_hook() if multi else ffi.NULL
        plans = []
        for gi, group in enumerate(self.param_groups):
            cfg = self._config(group, kernel)
            scalars = ffi.new("trainopt_sfadamw_state *", [int(group["k"]), float(group["lr_max"]),
                                                            float(group["weight_sum"]), 0.0, 0.0])
            check(lib.trainopt_sfadamw_advance(cfg, scalars), "sfadamw_advance")  # a copy: committed below
            check(c_function(cfg, scalars, 0, 0, 0, 0, 0, *opts), kernel)
            calls = []
            for j, p, grad in self._checked_rows(gi, group):
                state = self.state.get(p) or {}
                n = p.numel()
                new = {}
                z, fresh = self._state_tensor(state, "z", gi, j, n, lambda: p.clone())
                if fresh:
                    new["z"] = z
                v, fresh = self._state_tensor(state, "exp_avg_sq", gi, j, n, lambda: torch.zeros_like(p))
                if fresh:
                    new["exp_avg_sq"] = v
                self._refuse_overlap(gi, j, [(t.data_ptr(), 4 * n) for t in (p, grad, z, v)])
                calls.append((p, (n, p.data_ptr(), grad.data_ptr(), z.data_ptr(), v.data_ptr()), new))
            plans.append((group, cfg, scalars, calls))
        for group, cfg, scalars, calls in plans:
            for p, call, new in calls:
                if new:
                    self.state[p].update(new)  # z is the parameter before its first step
            if multi:
                pad = [0] * (MULTI_STATES - 2)
                tensors = ffi_by_address.new("trainopt_tensor_by_address[]",
                                             [(a[1], a[2], [a[3], a[4]] + pad, a[0]) for _, a, _ in calls if a[0]])
                status = multi(cfg, scalars, len(tensors), tensors, opts[0] if opts else ffi.NULL, hook)
                if status:
                    check(status, kernel)
            else:
                for p, call, new in calls:
                    status = c_function(cfg, scalars, *call, *opts)
                    if status:
                        check(status, kernel)
            group.update(k=scalars.step, lr_max=scalars.lr_max, weight_sum=scalars.weight_sum,
                         scheduled_lr=scalars.lr)
        return loss


for _cls in (Adafactor, AdamWScheduleFree):
    if _cls._spec.kernel in _api.PARAMS:
        __all__.append(_cls.__name__)
    else:
        del globals()[_cls.__name__]
