"""trainopt.torch: torch.optim drop-ins whose step is libtrainopt's kernel.

Each class subclasses the torch.optim class of the same name, so its constructor,
arguments, defaults, argument checks, param groups, state_dict()/load_state_dict(),
zero_grad() and the lr_scheduler hooks are torch's own; only step() is trainopt's.
The state it keeps is torch's (the same names, dtypes and step counters), so a
checkpoint moves between trainopt.torch.AdamW and torch.optim.AdamW both ways.

step() checks every parameter of every group before it runs any kernel: CPU,
float32, contiguous, a dense gradient of the parameter's shape, states of the
parameter's size, no overlap; the hyperparameters go through the kernel's own
checks (a call with n = 0). A refused step raises, naming the parameter
(param_groups[i]['params'][j]) or with trainopt_last_error()'s text, and has
changed nothing: no parameter, no state, no step counter.

Adding an optimizer is one OPTIMIZERS entry (README.md, "Python").
"""
from operator import sub

import torch

from . import _api
from ._lib import (check, config_fields, config_type, defaults_for, ffi, ffi_by_address, lib, lib_by_address,
                   list_optimizer_layout, optimizer_layout)

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


def _where(gi, j):
    return "param_groups[%d]['params'][%d]" % (gi, j)


class _TrainoptStep:
    """step() over a trainopt kernel; mixed in before the torch.optim class (see Spec)."""

    _spec = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for gi, group in enumerate(self.param_groups):
            self._refuse_flags(gi, group)

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

    def _check_tensor(self, t, gi, j, what, numel):
        who = "trainopt.torch.%s: %s" % (self._spec.name, _where(gi, j))
        if t.is_sparse or t.layout is not torch.strided:
            raise RuntimeError("%s: %s is sparse; trainopt steps dense tensors only" % (who, what))
        if t.device.type != "cpu":
            raise RuntimeError("%s: %s is on %s; trainopt steps CPU tensors" % (who, what, t.device))
        if t.dtype != torch.float32:
            raise TypeError("%s: %s is %s; trainopt steps torch.float32" % (who, what, t.dtype))
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
        strided, f32 = torch.strided, torch.float32
        rows = []
        for j, p in enumerate(group["params"]):
            grad = p.grad
            if grad is None:
                continue
            n = p.numel()
            # The common case in one expression; the slow path says what is wrong.
            if not (grad.layout is strided and p.dtype is f32 and grad.dtype is f32 and p.is_cpu and grad.is_cpu
                    and p.is_contiguous() and grad.is_contiguous() and grad.shape == p.shape):
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
                elif not (t.layout is strided and t.dtype is f32 and t.is_cpu and t.is_contiguous()
                          and t.numel() == n):
                    self._check_tensor(t, gi, j, "state['%s']" % name, n)
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
                # Every array is 4n bytes, so two overlap iff their starts are closer than that; the
                # unused states' zeros sort first and are left out.
                starts = sorted(pointers)[unused:]
                if min(map(sub, starts[1:], starts[:-1])) < 4 * n:
                    raise ValueError("trainopt.torch.%s: %s: the parameter, its grad and its states overlap in memory"
                                     % (spec.name, _where(gi, j)))
            fast = step_kind == "tensor" and new_state is None and kept is None and "step" in state
            rows.append((p, step, lead, n, pointers, new_state, kept, state["step"] if fast else None))
        return c_function, cfg, rows, is_list

    def _explain(self, gi, j, p, grad):
        """Raise the error for a parameter or gradient the fast check refused."""
        if grad.is_sparse or grad.layout is not torch.strided:
            raise RuntimeError("trainopt.torch.%s: %s has a sparse gradient; trainopt steps dense gradients only"
                               % (self._spec.name, _where(gi, j)))
        self._check_tensor(p, gi, j, "the parameter", p.numel())
        self._check_tensor(grad, gi, j, "its grad", p.numel())
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
        plans = [self._plan_group(gi, group, kernel, grad_scaled) for gi, group in enumerate(self.param_groups)]
        opts = [self._opts] if grad_scaled else []
        commit = self._commit
        for c_function, cfg, rows, is_list in plans:
            if is_list:
                self._run_lists(c_function, cfg, rows, opts, kernel)
                continue
            for p, step, lead, n, pointers, new_state, kept, step_tensor in rows:
                if n:
                    status = c_function(cfg, *lead, n, *pointers, *opts)
                    if status:
                        check(status, kernel)
                if step_tensor is not None and isinstance(step_tensor, torch.Tensor):
                    step_tensor.fill_(step)  # the common case: an existing state, its step counter advanced
                else:
                    commit(p, step, new_state, kept)
        return loss

    def _run_lists(self, c_function, cfg, rows, opts, kernel):
        """A tensor-list kernel (LAMB, LARS): one call for the tensors of each step value (one, unless
        parameters joined the group later), then the commits."""
        batches = {}
        for row in rows:
            if row[3]:
                batches.setdefault(tuple(row[2]), []).append(row)
        for lead, batch in batches.items():
            lens = ffi_by_address.new("size_t[]", [row[3] for row in batch])
            columns = list(zip(*[row[4] for row in batch]))  # one list per array of the kernel
            lists = [ffi_by_address.new("uintptr_t[]", column) if any(column) else ffi.NULL for column in columns]
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
