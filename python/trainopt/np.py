"""trainopt.np: libtrainopt's kernels as functions on numpy arrays.

Arrays are float32 (labels int32), C-contiguous, and of the length the kernel
needs; anything else raises TypeError or ValueError naming the argument before the
kernel runs. A kernel that refuses its arguments raises trainopt.TrainoptError with
trainopt_last_error()'s text. Either way nothing has been written.

The optimizers are made from the kernel list (_api.py): every optim-family kernel of
the shape (config, [step,] n, arrays..., [step options]) becomes a function of the
same name taking the arrays (None for a state the config does not use), step=, and
the config's fields as keywords with the library's defaults; the _ex variants also
take grad_scale= and found_inf= and return the number of non-finite gradients.
"""
import math

import numpy as np

from . import _api
from ._lib import (SCALAR_TYPES, TrainoptError, check, config_fields, config_type, defaults_for, ffi, initializer, lib,
                   list_optimizer_layout, make_config, optimizer_layout)

__all__ = ["TrainoptError", "COVERAGE"]

# Kernel name -> the function of this module that calls it, or why there is none.
# python/tests check that every kernel of the list is here.
COVERAGE = {
    "status_str": "trainopt.TrainoptError (its .status and text)",
    "last_error": "trainopt.TrainoptError (its text)",
    "clear_error": "not exposed: errors are exceptions",
    "backend": "trainopt.backend",
}


def _export(fn, kernels=None):
    for kernel in kernels or [fn.__name__]:
        COVERAGE[kernel] = fn.__name__
    globals()[fn.__name__] = fn
    __all__.append(fn.__name__)
    return fn


def _ptr(a, name, fn, ctype="float", n=None, writable=False, optional=False):
    """A checked pointer to numpy array A (argument NAME of FN), or NULL for None when OPTIONAL."""
    if a is None:
        if optional:
            return ffi.NULL
        raise TypeError("%s: %s is required" % (fn, name))
    if not isinstance(a, np.ndarray):
        raise TypeError("%s: %s must be a numpy array, not %s" % (fn, name, type(a).__name__))
    want = {"float": np.float32, "int32_t": np.int32, "uint8_t": np.uint8, "uint32_t": np.uint32}[ctype]
    if a.dtype != want:
        raise TypeError("%s: %s has dtype %s; trainopt needs %s" % (fn, name, a.dtype, np.dtype(want).name))
    if not a.flags.c_contiguous:
        raise ValueError("%s: %s is not C-contiguous (np.ascontiguousarray copies it)" % (fn, name))
    if writable and not a.flags.writeable:
        raise ValueError("%s: %s is read-only" % (fn, name))
    if n is not None and a.size != n:
        raise ValueError("%s: %s has %d elements, %d expected" % (fn, name, a.size, n))
    return ffi.cast(ctype + " *", a.ctypes.data)


def _out(a, name, fn, shape, dtype=np.float32):
    """OUT given (checked) or a new array."""
    if a is None:
        return np.empty(shape, dtype)
    _ptr(a, name, fn, {np.float32: "float", np.uint8: "uint8_t"}[dtype], n=int(np.prod(shape)), writable=True)
    return a


# ---- optimizers, made from the kernel list ----------------------------------------------

def _float_arrays(kernel, arrays, given, n, extra):
    """The fp32 optimizers' array arguments: float32 arrays of n elements, None for NULL."""
    return [_ptr(given.get(name), name, kernel, n=n, writable=writable, optional=True) for name, writable in arrays]


def _make_optimizer(kernel, has_step, scalars, arrays, has_opts, arguments=_float_arrays, keywords=None,
                    defaults=None, about="numpy float32 arrays"):
    """The function of an optimizer kernel: its arrays positional or by name, step=, its scalars and config
    fields as keywords. ARGUMENTS(kernel, arrays, given, n, extra) makes the C arguments from the arrays
    (given: name -> array), the scalars and the KEYWORDS the function takes besides (extra: name ->
    value); DEFAULTS gives scalars default values."""
    c_function = getattr(lib, "trainopt_" + kernel)
    ctype = config_type(kernel)
    fields = config_fields(ctype)
    names = [name for name, _ in arrays]
    keywords = keywords or {}
    defaults = defaults or {}

    def step_function(*args, step=None, grad_scale=1.0, found_inf=False, **kwargs):
        if len(args) > len(names):
            raise TypeError("%s takes at most %d arrays (%s)" % (kernel, len(names), ", ".join(names)))
        given = dict(zip(names, args))
        for name in names:
            if name in kwargs:
                if name in given:
                    raise TypeError("%s: %s given twice" % (kernel, name))
                given[name] = kwargs.pop(name)
        if has_step and step is None:
            raise TypeError("%s: step= is required (the 1-based number of this update)" % kernel)
        missing = [name for name in scalars if name not in kwargs and name not in defaults]
        if missing:
            raise TypeError("%s: %s= is required" % (kernel, "=, ".join(missing)))
        scalar_values = [kwargs.pop(name, defaults.get(name)) for name in scalars]
        extra = {name: kwargs.pop(name, value) for name, value in keywords.items()}
        extra.update(zip(scalars, scalar_values))
        if not has_opts and (grad_scale != 1.0 or found_inf):
            raise TypeError("%s: grad_scale and found_inf belong to %s_ex" % (kernel, kernel))
        cfg = make_config(kernel, kwargs, kernel)
        n = next((np.size(given[name]) for name in names if given.get(name) is not None), 0)
        call = [cfg] + ([int(step)] if has_step else []) + scalar_values + [n]
        call += arguments(kernel, arrays, given, n, extra)
        if has_opts:
            (opts, keep), count = _step_options(grad_scale, found_inf)
            call.append(opts)
        check(c_function(*call), kernel)
        return int(count[0]) if has_opts else None

    init = defaults_for(kernel)
    shown = ffi.new(ctype + " *", init) if init is not None else ffi.new(ctype + " *")
    step_function.__name__ = step_function.__qualname__ = kernel
    step_function.__doc__ = "%s(%s%s, **hyperparameters)%s\n\ntrainopt_%s on %s, updated in place " \
        "(None for a state the config does not use).\nHyperparameters (%s), defaults: %s." % (
            kernel, ", ".join(names), ", *" + (", step" if has_step else "") +
            "".join(", %s" % s if s not in defaults else ", %s=%r" % (s, defaults[s]) for s in scalars) +
            "".join(", %s=%r" % kv for kv in keywords.items()),
            " -> number of non-finite gradients" if has_opts else "", kernel, about, ctype,
            ", ".join("%s=%r" % (f, getattr(shown, f)) for f in fields)) + \
        ("\nStep options: grad_scale= (multiplies every gradient), found_inf= (skip the step)." if has_opts else "")
    return step_function


def _step_options(grad_scale, found_inf):
    """(options, keep), count: trainopt_step_opts with GRAD_SCALE and FOUND_INF (keep holds what it
    points to), and where the count of non-finite gradients lands."""
    opts = ffi.new("trainopt_step_opts *", initializer(_api.DEFAULTS["step_opts"]))
    flag, count = ffi.new("int *", 1 if found_inf else 0), ffi.new("size_t *")
    opts.grad_scale, opts.found_inf, opts.nonfinite = grad_scale, flag, count
    return (opts, flag), count


for _family, _kernel in _api.KERNELS:
    _layout = optimizer_layout(_kernel)
    if _family == "optim" and _layout is not None:
        _export(_make_optimizer(_kernel, *_layout))


# ---- bf16 and fp16 arrays (issue 15) and 8-bit states (issue 18) --------------------------------
# An fp16 array is numpy's float16; a bf16 array, which numpy lacks, is a uint16 array of bf16 bit
# patterns (trainopt's own representation; convert() makes and reads them).

_DTYPES = {np.dtype(np.float32): lib.TRAINOPT_F32, np.dtype(np.float16): lib.TRAINOPT_F16,
           np.dtype(np.uint16): lib.TRAINOPT_BF16}
_DTYPE_NAMES = {"float32": np.float32, "float16": np.float16, "bfloat16": np.uint16}


def _lowp_ptr(a, name, fn, n, writable, optional=True):
    """(void * pointer, trainopt_dtype) of a float32, float16 or uint16 (bf16) array A, or (NULL, None)."""
    if a is None and optional:
        return ffi.NULL, None
    if not isinstance(a, np.ndarray) or a.dtype not in _DTYPES:
        raise TypeError("%s: %s must be a numpy float32, float16 or uint16 (bf16 bits) array, not %s"
                        % (fn, name, getattr(a, "dtype", type(a).__name__)))
    if not a.flags.c_contiguous:
        raise ValueError("%s: %s is not C-contiguous (np.ascontiguousarray copies it)" % (fn, name))
    if writable and not a.flags.writeable:
        raise ValueError("%s: %s is read-only" % (fn, name))
    if a.size != n:
        raise ValueError("%s: %s has %d elements, %d expected" % (fn, name, a.size, n))
    return ffi.cast("void *", a.ctypes.data), _DTYPES[a.dtype]


def convert(src, dtype, *, rounding="nearest", seed=0, offset=0, out=None):
    """trainopt_convert: SRC (float32, float16, or uint16 bf16 bits) as DTYPE ("float32", "float16",
    "bfloat16"; bf16 comes back as uint16 bits). rounding "nearest" is PyTorch's .to(); "stochastic"
    draws element i's bits from Philox (seed, offset + i)."""
    if dtype not in _DTYPE_NAMES:
        raise ValueError("convert: dtype %r is not one of %s" % (dtype, ", ".join(_DTYPE_NAMES)))
    if rounding not in ("nearest", "stochastic"):
        raise ValueError("convert: rounding %r is not 'nearest' or 'stochastic'" % (rounding,))
    n = np.size(src)
    src_ptr, src_dtype = _lowp_ptr(src, "src", "convert", n, False, optional=False)
    out = np.empty(np.shape(src), _DTYPE_NAMES[dtype]) if out is None else out
    if out.dtype != np.dtype(_DTYPE_NAMES[dtype]):
        raise TypeError("convert: out has dtype %s; %s needs %s" % (out.dtype, dtype, np.dtype(_DTYPE_NAMES[dtype])))
    dst_ptr, dst_dtype = _lowp_ptr(out, "out", "convert", n, True, optional=False)
    check(lib.trainopt_convert(n, src_ptr, src_dtype, dst_ptr, dst_dtype, lib.TRAINOPT_ROUND_STOCHASTIC
                               if rounding == "stochastic" else lib.TRAINOPT_ROUND_NEAREST, seed, offset), "convert")
    return out


_export(convert)

_PARAM_MODES = {"nearest": lib.TRAINOPT_PARAM_NEAREST, "stochastic": lib.TRAINOPT_PARAM_STOCHASTIC,
                "kahan": lib.TRAINOPT_PARAM_KAHAN, "split": lib.TRAINOPT_PARAM_SPLIT}
_MIXED_KEYWORDS = {"param_mode": "nearest", "param_aux": None, "copy": None, "seed": 0, "offset": 0}


def _mixed_arrays(kernel, arrays, given, n, extra):
    """A mixed-precision step's arrays (their dtypes read from the arrays) and its trainopt_precision."""
    pointers, dtypes = [], {}
    for name, writable in arrays:
        pointers.append(None)
        pointers[-1], dtypes[name] = _lowp_ptr(given.get(name), name, kernel, n, writable)
    if extra["param_mode"] not in _PARAM_MODES:
        raise ValueError("%s: param_mode %r is not one of %s" % (kernel, extra["param_mode"], ", ".join(_PARAM_MODES)))
    state_dtypes = {dtypes[name] for name, _ in arrays[2:] if dtypes[name] is not None}
    if len(state_dtypes) > 1:
        raise TypeError("%s: the state arrays have different dtypes (all float32, or all uint16 bf16 bits)" % kernel)
    pr = ffi.new("trainopt_precision *", initializer(_api.DEFAULTS["precision"]))
    pr.param_dtype, pr.grad_dtype = dtypes[arrays[0][0]], dtypes[arrays[1][0]]
    pr.state_dtype = state_dtypes.pop() if state_dtypes else lib.TRAINOPT_F32
    pr.param_mode = _PARAM_MODES[extra["param_mode"]]
    pr.param_aux, _ = _lowp_ptr(extra["param_aux"], "param_aux", kernel, n, True)
    copy, copy_dtype = _lowp_ptr(extra["copy"], "copy", kernel, n, True)
    if copy_dtype is not None:
        pr.copy, pr.copy_dtype = copy, copy_dtype
    pr.seed, pr.offset = extra["seed"], extra["offset"]
    return pointers + [pr]


for _family, _kernel in _api.KERNELS:
    _layout = optimizer_layout(_kernel, ("void *", "const void *"), ("const trainopt_precision *",))
    if _family == "optim" and _layout is not None:
        _export(_make_optimizer(_kernel, *_layout, arguments=_mixed_arrays, keywords=_MIXED_KEYWORDS,
                                about="float32, float16 or uint16 (bf16 bits) arrays: the dtypes are the arrays'; "
                                "param_mode 'nearest', 'stochastic' (seed, offset), 'kahan' (param_aux: the "
                                "compensation, param's dtype) or 'split' (bf16 param, param_aux: uint16 low halves); "
                                "copy: an optional float16/bf16 copy of the updated fp32 parameters"))

Q8_BLOCK = 256  # TRAINOPT_Q8_BLOCK: bitsandbytes' block


def _q8_arrays(kernel, arrays, given, n, extra):
    """An 8-bit step's arrays: float32 param and grad of n elements, uint8 codes of n, float32 absmax of
    one value per block."""
    blocks = -(-n // extra["block"]) if extra["block"] else 0
    return [_ptr(given.get(name), name, kernel, ctype=_api_type(kernel, name), writable=writable, optional=True,
                 n=blocks if name.endswith("_absmax") else n) for name, writable in arrays]


def _api_type(kernel, name):
    """The element type (float, uint8_t) of array parameter NAME of KERNEL."""
    t = dict((p, t) for t, p in _api.PARAMS[kernel])[name]
    return t.replace("const ", "").rstrip(" *")


for _family, _kernel in _api.KERNELS:
    _layout = optimizer_layout(_kernel, ("float *", "const float *", "uint8_t *"))
    if _family == "optim" and _layout is not None and "block" in _layout[1]:
        _export(_make_optimizer(_kernel, *_layout, arguments=_q8_arrays, defaults={"block": Q8_BLOCK},
                                about="float32 param and grad, uint8 state codes and float32 absmax, one per "
                                "block (states8bit(n, block) makes a zero state)"))


def _q8_mixed_arrays(kernel, arrays, given, n, extra):
    """An 8-bit _mp step's arguments: param and grad as a mixed-precision step's (their dtypes the
    arrays'), the states as an 8-bit step's, then the trainopt_precision (state_dtype F32: the 8-bit
    states as they are)."""
    lowp = [(name, writable) for name, writable in arrays if name in ("param", "grad")]
    states = [(name, writable) for name, writable in arrays if name not in ("param", "grad")]
    pointers = _mixed_arrays(kernel, lowp, given, n, extra)
    return pointers[:2] + _q8_arrays(kernel, states, given, n, extra) + pointers[2:]


for _family, _kernel in _api.KERNELS:
    _layout = optimizer_layout(_kernel, ("void *", "const void *", "uint8_t *", "float *"),
                               ("const trainopt_precision *",))
    if _family == "optim" and _layout is not None and "block" in _layout[1]:
        _export(_make_optimizer(_kernel, *_layout, arguments=_q8_mixed_arrays, keywords=_MIXED_KEYWORDS,
                                defaults={"block": Q8_BLOCK},
                                about="float32, float16 or uint16 (bf16 bits) param and grad (the dtypes are the "
                                "arrays'; param_mode, param_aux, copy, seed, offset as for every <opt>_step_mp), "
                                "uint8 state codes and float32 absmax, one per block"))


def states8bit(n, block=Q8_BLOCK):
    """A zero 8-bit state of n elements: (uint8 codes, float32 absmax per block)."""
    return np.zeros(n, np.uint8), np.zeros(-(-n // block), np.float32)


def _q8_map(signed, fn):
    if not isinstance(signed, bool):
        raise TypeError("%s: signed must be True (first moments) or False (second moments)" % fn)
    return lib.TRAINOPT_Q8_SIGNED if signed else lib.TRAINOPT_Q8_UNSIGNED


def quantize_blockwise(x, *, signed=True, block=Q8_BLOCK, codes=None, absmax=None):
    """trainopt_quantize_blockwise: float32 X as (uint8 codes, float32 absmax per block), bitsandbytes'
    dynamic map (signed=True: first moments; False: second moments)."""
    n = np.size(x)
    codes = _out(codes, "codes", "quantize_blockwise", np.shape(x), np.uint8)
    absmax = _out(absmax, "absmax", "quantize_blockwise", (-(-n // block) if block else 0,))
    check(lib.trainopt_quantize_blockwise(_q8_map(signed, "quantize_blockwise"), block, n,
                                          _ptr(x, "x", "quantize_blockwise", n=n),
                                          _ptr(codes, "codes", "quantize_blockwise", "uint8_t", writable=True),
                                          _ptr(absmax, "absmax", "quantize_blockwise", writable=True)),
          "quantize_blockwise")
    return codes, absmax


def dequantize_blockwise(codes, absmax, *, signed=True, block=Q8_BLOCK, out=None):
    """trainopt_dequantize_blockwise: the float32 values of CODES and ABSMAX."""
    n = np.size(codes)
    out = _out(out, "out", "dequantize_blockwise", np.shape(codes))
    check(lib.trainopt_dequantize_blockwise(_q8_map(signed, "dequantize_blockwise"), block, n,
                                            _ptr(codes, "codes", "dequantize_blockwise", "uint8_t", n=n),
                                            _ptr(absmax, "absmax", "dequantize_blockwise",
                                                 n=-(-n // block) if block else None),
                                            _ptr(out, "out", "dequantize_blockwise", writable=True)),
          "dequantize_blockwise")
    return out


__all__.append("states8bit")
_export(quantize_blockwise)
_export(dequantize_blockwise)


def _make_list_optimizer(kernel, has_step, lists, has_opts):
    """LAMB, LARS: each argument a list of arrays, one per tensor (the trust ratio is per tensor)."""
    c_function = getattr(lib, "trainopt_" + kernel)
    names = [name for name, _ in lists]

    def step_function(*args, step=None, grad_scale=1.0, found_inf=False, **kwargs):
        given = dict(zip(names, args))
        for name in names:
            if name in kwargs:
                given[name] = kwargs.pop(name)
        if has_step and step is None:
            raise TypeError("%s: step= is required (the 1-based number of this update)" % kernel)
        if not has_opts and (grad_scale != 1.0 or found_inf):
            raise TypeError("%s: grad_scale and found_inf belong to %s_ex" % (kernel, kernel))
        cfg = make_config(kernel, kwargs, kernel)
        first = next((given[name] for name in names if given.get(name) is not None), [])
        lens = [np.size(a) for a in first]
        pointer_lists = []
        for name, writable in lists:
            arrays = given.get(name)
            if arrays is None:
                pointer_lists.append(ffi.NULL)
                continue
            if len(arrays) != len(lens):
                raise ValueError("%s: %s has %d arrays, %d expected" % (kernel, name, len(arrays), len(lens)))
            ptrs = [_ptr(a, "%s[%d]" % (name, i), kernel, n=lens[i], writable=writable) for i, a in enumerate(arrays)]
            pointer_lists.append(ffi.new(("float *[]" if writable else "const float *[]"), ptrs))
        call = [cfg] + ([int(step)] if has_step else []) + [len(lens), ffi.new("size_t[]", lens)] + pointer_lists
        if has_opts:
            (opts, keep), count = _step_options(grad_scale, found_inf)
            call.append(opts)
        check(c_function(*call), kernel)
        return int(count[0]) if has_opts else None

    step_function.__name__ = step_function.__qualname__ = kernel
    step_function.__doc__ = "%s(%s%s, **hyperparameters): trainopt_%s; each argument a list of float32 arrays, " \
        "one per tensor, updated in place; hyperparameters: the fields of %s." % (
            kernel, ", ".join(names), ", *, step" if has_step else "", kernel, config_type(kernel))
    return step_function


for _family, _kernel in _api.KERNELS:
    _layout = list_optimizer_layout(_kernel)
    if _family == "optim" and _layout is not None:
        _export(_make_list_optimizer(_kernel, *_layout))


def _make_list_optimizer_mp(kernel, fp32_kernel):
    """LAMB's and LARS's _mp: the lists of FP32_KERNEL (its _ex), each a list of float32, float16 or
    uint16 (bf16 bits) arrays of one dtype per list; param_aux and copy lists of one array per tensor."""
    c_function = getattr(lib, "trainopt_" + kernel)
    has_step, lists, _ = list_optimizer_layout(fp32_kernel)
    names = [name for name, _ in lists]

    def step_function(*args, step=None, grad_scale=1.0, found_inf=False, param_mode="nearest", param_aux=None,
                      copy=None, seed=0, offset=0, **kwargs):
        given = dict(zip(names, args))
        for name in names:
            if name in kwargs:
                given[name] = kwargs.pop(name)
        if has_step and step is None:
            raise TypeError("%s: step= is required (the 1-based number of this update)" % kernel)
        if param_mode not in _PARAM_MODES:
            raise ValueError("%s: param_mode %r is not one of %s" % (kernel, param_mode, ", ".join(_PARAM_MODES)))
        cfg = make_config(kernel, kwargs, kernel)
        first = next((given[name] for name in names if given.get(name) is not None), [])
        lens = [np.size(a) for a in first]

        def pointer_list(arrays, name, writable):
            """(void *[k], trainopt_dtype or None) of a list of arrays of one dtype, or (NULL, None)."""
            if arrays is None:
                return ffi.NULL, None
            if len(arrays) != len(lens):
                raise ValueError("%s: %s has %d arrays, %d expected" % (kernel, name, len(arrays), len(lens)))
            pairs = [_lowp_ptr(a, "%s[%d]" % (name, i), kernel, lens[i], writable, optional=False)
                     for i, a in enumerate(arrays)]
            dtypes = {d for _, d in pairs}
            if len(dtypes) > 1:
                raise TypeError("%s: the arrays of %s have different dtypes" % (kernel, name))
            return ffi.new("void *[]", [p for p, _ in pairs]), (dtypes.pop() if dtypes else None)

        pointers, dtypes = zip(*[pointer_list(given.get(name), name, writable) for name, writable in lists])
        state_dtypes = {d for d in dtypes[2:] if d is not None}
        if len(state_dtypes) > 1:
            raise TypeError("%s: the state lists have different dtypes (all float32, or all uint16 bf16 bits)" % kernel)
        pr = ffi.new("trainopt_precision *", initializer(_api.DEFAULTS["precision"]))
        pr.param_dtype = lib.TRAINOPT_F32 if dtypes[0] is None else dtypes[0]
        pr.grad_dtype = lib.TRAINOPT_F32 if dtypes[1] is None else dtypes[1]
        pr.state_dtype = state_dtypes.pop() if state_dtypes else lib.TRAINOPT_F32
        pr.param_mode = _PARAM_MODES[param_mode]
        aux, _ = pointer_list(param_aux, "param_aux", True)
        copies, copy_dtype = pointer_list(copy, "copy", True)
        pr.param_aux = aux
        if copy is not None:
            pr.copy, pr.copy_dtype = copies, (lib.TRAINOPT_BF16 if copy_dtype is None else copy_dtype)
        pr.seed, pr.offset = seed, offset
        (opts, keep), count = _step_options(grad_scale, found_inf)
        call = [cfg] + ([int(step)] if has_step else []) + [len(lens), ffi.new("size_t[]", lens)] + list(pointers)
        check(c_function(*(call + [pr, opts])), kernel)
        return int(count[0])

    step_function.__name__ = step_function.__qualname__ = kernel
    step_function.__doc__ = "%s(%s%s, grad_scale=1.0, found_inf=False, param_mode='nearest', param_aux=None, " \
        "copy=None, seed=0, offset=0, **hyperparameters): trainopt_%s; each argument a list of float32, float16 " \
        "or uint16 (bf16 bits) arrays, one per tensor, one dtype per list; param_aux and copy are lists too; " \
        "stochastic rounding of tensor t's element j uses (seed, offset + the element's place in the " \
        "concatenation of the list). Returns the count of non-finite gradients." % (
            kernel, ", ".join(names), ", *, step" if has_step else ", *", kernel)
    return step_function


for _kernel in ("lamb_step_mp", "lars_step_mp"):
    if _kernel in _api.PARAMS:
        _export(_make_list_optimizer_mp(_kernel, _kernel.replace("_mp", "_ex")))


# ---- schedules, and any other kernel of scalars alone ---------------------------------------

_SCALARS = SCALAR_TYPES + ("trainopt_anneal", "trainopt_cyclic_mode")


def _make_schedule(kernel):
    """A function of scalars, or of a config and scalars (the config's fields as keywords):
    the schedules, and helpers such as an optimizer's per-step scalar."""
    c_function = getattr(lib, "trainopt_" + kernel)
    params = _api.PARAMS[kernel]
    ctype = config_type(kernel)
    scalars = [name for _, name in (params[1:] if ctype else params)]

    def schedule_function(*args, **kwargs):
        if len(args) > len(scalars):
            raise TypeError("%s takes %d arguments (%s)" % (kernel, len(scalars), ", ".join(scalars)))
        values = dict(zip(scalars, args))
        for name in scalars[len(args):]:
            if name not in kwargs:
                raise TypeError("%s: %s is required" % (kernel, name))
            values[name] = kwargs.pop(name)
        call = [values[name] for name in scalars]
        if ctype:
            call.insert(0, make_config(kernel, kwargs, kernel))
        elif kwargs:
            raise TypeError("%s: unexpected %s" % (kernel, ", ".join(kwargs)))
        return c_function(*call)

    schedule_function.__name__ = schedule_function.__qualname__ = kernel
    schedule_function.__doc__ = "%s(%s%s): trainopt_%s (NaN for invalid arguments)." % (
        kernel, ", ".join(scalars), ", **config fields" if ctype else "", kernel)
    return schedule_function


for _family, _kernel in _api.KERNELS:
    _types = [t for t, _ in _api.PARAMS[_kernel]]
    if _kernel not in COVERAGE and _api.PARAMS[_kernel] and (
            all(t in _SCALARS for t in _types) or
            (config_type(_kernel) and all(t in _SCALARS for t in _types[1:]))):
        _export(_make_schedule(_kernel))


def lr_multistep(base_lr, t, milestones, gamma=0.1):
    """trainopt_lr_multistep: MultiStepLR's lr after t scheduler steps."""
    ms = ffi.new("int64_t[]", [int(m) for m in milestones])
    return lib.trainopt_lr_multistep(base_lr, t, ms, len(milestones), gamma)


class Schedule:
    """A schedule from its text (trainopt_schedule_parse, or a join: "a @5 b"), or from a
    kind and fields: Schedule("cosine:t_max=100", lr=0.1).lr(t), .momentum(t)."""

    MAX_PARTS = 16

    def __init__(self, text, **fields):
        msg = ffi.new("char[256]")
        self._struct = ffi.new("trainopt_schedule *")
        self._parts = ffi.new("trainopt_schedule[%d]" % self.MAX_PARTS)
        if "@" in text:
            status = lib.trainopt_schedule_parse_join(text.encode(), self._struct, self._parts, self.MAX_PARTS, msg, 256)
        else:
            status = lib.trainopt_schedule_parse_msg(text.encode(), self._struct, msg, 256)
        if status != 0:
            raise TrainoptError(status, "Schedule(%r): %s" % (text, ffi.string(msg).decode()))
        for name, value in fields.items():
            if name not in config_fields("trainopt_schedule"):
                raise TypeError("Schedule: unknown field %r" % name)
            setattr(self._struct, name, value)

    def lr(self, t):
        return lib.trainopt_schedule_lr(self._struct, t)

    def momentum(self, t):
        return lib.trainopt_schedule_momentum(self._struct, t)

    @property
    def kind(self):
        return ffi.string(lib.trainopt_schedule_kind_name(self._struct.kind)).decode()


class Plateau:
    """ReduceLROnPlateau: Plateau(lr, mode="min", factor=0.1, ...).step(metric) -> lr."""

    def __init__(self, lr, mode="min", threshold_mode="rel", **fields):
        cfg = ffi.new("trainopt_plateau_config *", initializer(_api.DEFAULTS["plateau"]))
        cfg.mode = {"min": 0, "max": 1}[mode]
        cfg.threshold_mode = {"rel": 0, "abs": 1}[threshold_mode]
        for name, value in fields.items():
            if name not in config_fields("trainopt_plateau_config"):
                raise TypeError("Plateau: unknown field %r" % name)
            setattr(cfg, name, value)
        self._state = ffi.new("trainopt_plateau *")
        check(lib.trainopt_plateau_init(self._state, cfg, lr), "plateau_init")

    def step(self, metric):
        return lib.trainopt_plateau_step(self._state, metric)

    @property
    def lr(self):
        return self._state.lr


_export(lr_multistep)
globals()["Schedule"], globals()["Plateau"] = Schedule, Plateau
__all__ += ["Schedule", "Plateau"]
for _kernel in ("schedule_kind_name", "schedule_defaults", "schedule_lr", "schedule_momentum", "lr_join",
                "schedule_parse_msg", "schedule_parse", "schedule_parse_join"):
    COVERAGE[_kernel] = "Schedule"
COVERAGE["plateau_init"] = COVERAGE["plateau_step"] = "Plateau"


# ---- dropout ----------------------------------------------------------------------------

def dropout_forward(x, p, seed, offset=0, *, out=None, mask=False):
    """trainopt_dropout_forward: y = x scaled by 1/(1-p) where kept. Returns y, or
    (y, mask) with mask=True (n bits: bit i % 8 of byte i // 8)."""
    fn = "dropout_forward"
    xp = _ptr(x, "x", fn)
    y = _out(out, "out", fn, x.shape)
    bits = np.empty((x.size + 7) // 8, np.uint8) if mask else None
    check(lib.trainopt_dropout_forward(p, seed, offset, x.size, xp, _ptr(y, "out", fn, writable=True),
                                       _ptr(bits, "mask", fn, "uint8_t", optional=True)), fn)
    return (y, bits) if mask else y


def dropout_backward(dy, p, seed, offset=0, mask=None, *, out=None):
    """trainopt_dropout_backward: dx from dy, with the forward's mask or (None) regenerated from seed and offset."""
    fn = "dropout_backward"
    dyp = _ptr(dy, "dy", fn)
    dx = _out(out, "out", fn, dy.shape)
    check(lib.trainopt_dropout_backward(p, seed, offset, dy.size, dyp, _ptr(dx, "out", fn, writable=True),
                                        _ptr(mask, "mask", fn, "uint8_t", n=(dy.size + 7) // 8, optional=True)), fn)
    return dx


_export(dropout_forward)
_export(dropout_backward)


# ---- batch normalization ----------------------------------------------------------------

def _bn_shape(x, layout, fn):
    if not isinstance(x, np.ndarray) or x.ndim < 2:
        raise ValueError("%s: x must be a numpy array of 2 or more dimensions ([N][C] or [N][C][...])" % fn)
    if layout == "NCHW":
        n, c, spatial, code = x.shape[0], x.shape[1], int(np.prod(x.shape[2:])), 0
    elif layout == "NHWC":
        n, c, spatial, code = x.shape[0], x.shape[-1], int(np.prod(x.shape[1:-1])), 1
    else:
        raise ValueError("%s: layout must be 'NCHW' or 'NHWC', not %r" % (fn, layout))
    shape = ffi.new("trainopt_bn_shape *")
    shape.n, shape.c, shape.spatial, shape.layout = n, c, spatial, code
    return shape[0], c


def _bn_config(eps, momentum, fuse_relu):
    cfg = ffi.new("trainopt_bn_config *", initializer(_api.DEFAULTS["bn"]))
    cfg.eps, cfg.momentum, cfg.fuse_relu = eps, momentum, int(bool(fuse_relu))
    return cfg


def batchnorm_forward_train(x, gamma=None, beta=None, running_mean=None, running_var=None, *, eps=1e-5,
                            momentum=0.1, fuse_relu=False, layout="NCHW", out=None):
    """trainopt_batchnorm_forward_train (F.batch_norm, training=True): returns (y, save_mean, save_invstd);
    running_mean and running_var, when given, are updated in place."""
    fn = "batchnorm_forward_train"
    shape, c = _bn_shape(x, layout, fn)
    y = _out(out, "out", fn, x.shape)
    mean, invstd = np.empty(c, np.float32), np.empty(c, np.float32)
    check(lib.trainopt_batchnorm_forward_train(
        _bn_config(eps, momentum, fuse_relu), shape, _ptr(x, "x", fn), _ptr(gamma, "gamma", fn, n=c, optional=True),
        _ptr(beta, "beta", fn, n=c, optional=True),
        _ptr(running_mean, "running_mean", fn, n=c, writable=True, optional=True),
        _ptr(running_var, "running_var", fn, n=c, writable=True, optional=True),
        _ptr(y, "out", fn, writable=True), _ptr(mean, "save_mean", fn), _ptr(invstd, "save_invstd", fn)), fn)
    return y, mean, invstd


def batchnorm_forward_infer(x, gamma, beta, running_mean, running_var, *, eps=1e-5, fuse_relu=False,
                            layout="NCHW", out=None):
    """trainopt_batchnorm_forward_infer (F.batch_norm, training=False): returns y."""
    fn = "batchnorm_forward_infer"
    shape, c = _bn_shape(x, layout, fn)
    y = _out(out, "out", fn, x.shape)
    check(lib.trainopt_batchnorm_forward_infer(
        _bn_config(eps, 0.1, fuse_relu), shape, _ptr(x, "x", fn), _ptr(gamma, "gamma", fn, n=c, optional=True),
        _ptr(beta, "beta", fn, n=c, optional=True), _ptr(running_mean, "running_mean", fn, n=c),
        _ptr(running_var, "running_var", fn, n=c), _ptr(y, "out", fn, writable=True)), fn)
    return y


def batchnorm_backward(x, dy, save_mean, save_invstd, gamma=None, y=None, *, eps=1e-5, fuse_relu=False,
                       layout="NCHW", out=None, grads=True):
    """trainopt_batchnorm_backward: returns (dx, dgamma, dbeta) (the last two None with grads=False);
    fuse_relu needs the forward's y."""
    fn = "batchnorm_backward"
    shape, c = _bn_shape(x, layout, fn)
    dx = _out(out, "out", fn, x.shape)
    dgamma = np.empty(c, np.float32) if grads else None
    dbeta = np.empty(c, np.float32) if grads else None
    check(lib.trainopt_batchnorm_backward(
        _bn_config(eps, 0.1, fuse_relu), shape, _ptr(x, "x", fn), _ptr(dy, "dy", fn, n=x.size),
        _ptr(gamma, "gamma", fn, n=c, optional=True), _ptr(save_mean, "save_mean", fn, n=c),
        _ptr(save_invstd, "save_invstd", fn, n=c), _ptr(y, "y", fn, n=x.size, optional=True),
        _ptr(dx, "out", fn, writable=True), _ptr(dgamma, "dgamma", fn, optional=True),
        _ptr(dbeta, "dbeta", fn, optional=True)), fn)
    return dx, dgamma, dbeta


def batchnorm_fold(gamma, beta, running_mean, running_var, *, eps=1e-5):
    """trainopt_batchnorm_fold: (scale, shift) with y = x * scale + shift per channel."""
    fn = "batchnorm_fold"
    c = np.size(running_mean)
    scale, shift = np.empty(c, np.float32), np.empty(c, np.float32)
    check(lib.trainopt_batchnorm_fold(
        _bn_config(eps, 0.1, False), c, _ptr(gamma, "gamma", fn, n=c, optional=True),
        _ptr(beta, "beta", fn, n=c, optional=True), _ptr(running_mean, "running_mean", fn, n=c),
        _ptr(running_var, "running_var", fn, n=c), _ptr(scale, "scale", fn), _ptr(shift, "shift", fn)), fn)
    return scale, shift


for _f in (batchnorm_forward_train, batchnorm_forward_infer, batchnorm_backward, batchnorm_fold):
    _export(_f)


# ---- losses -----------------------------------------------------------------------------

def _pointwise_loss(kernel, first_name):
    c_function = getattr(lib, "trainopt_" + kernel)

    def loss_function(x, target, *, grad=True):
        n = np.size(x)
        loss = ffi.new("float *")
        g = np.empty(np.shape(x), np.float32) if grad else None
        check(c_function(n, _ptr(x, first_name, kernel), _ptr(target, "target", kernel, n=n), loss,
                         _ptr(g, "grad", kernel, optional=True)), kernel)
        return float(loss[0]), g

    loss_function.__name__ = loss_function.__qualname__ = kernel
    loss_function.__doc__ = "trainopt_%s (mean reduction): returns (loss, gradient or None with grad=False)." % kernel
    return loss_function


_export(_pointwise_loss("mse_loss", "pred"))
_export(_pointwise_loss("bce_with_logits", "logits"))


def softmax_cross_entropy(logits, labels, *, ignore_index=-100, label_smoothing=0.0, grad=True):
    """trainopt_softmax_cross_entropy (nn.CrossEntropyLoss, mean): logits [batch][classes] float32,
    labels [batch] int32. Returns (loss, gradient or None)."""
    fn = "softmax_cross_entropy"
    if not isinstance(logits, np.ndarray) or logits.ndim != 2:
        raise ValueError("%s: logits must be a [batch][classes] numpy array" % fn)
    batch, classes = logits.shape
    loss = ffi.new("float *")
    g = np.empty(logits.shape, np.float32) if grad else None
    check(lib.trainopt_softmax_cross_entropy(batch, classes, _ptr(logits, "logits", fn),
                                             _ptr(labels, "labels", fn, "int32_t", n=batch), ignore_index,
                                             label_smoothing, loss, _ptr(g, "grad", fn, optional=True)), fn)
    return float(loss[0]), g


_export(softmax_cross_entropy)


# ---- regularization, gradient utilities, random numbers, initializers -------------------

def l1l2_penalty(param, l1=0.0, l2=0.0):
    """trainopt_l1l2_penalty: l1 * sum|w| + l2 * sum w^2 (Keras' L1L2)."""
    penalty = ffi.new("float *")
    check(lib.trainopt_l1l2_penalty(np.size(param), _ptr(param, "param", "l1l2_penalty"), l1, l2, penalty),
          "l1l2_penalty")
    return float(penalty[0])


def l1l2_grad(param, grad, l1=0.0, l2=0.0):
    """trainopt_l1l2_grad: adds the penalty's gradient to grad, in place."""
    n = np.size(param)
    check(lib.trainopt_l1l2_grad(n, _ptr(param, "param", "l1l2_grad"),
                                 _ptr(grad, "grad", "l1l2_grad", n=n, writable=True), l1, l2), "l1l2_grad")


def clip_grad_value(grad, clip_value):
    """trainopt_clip_grad_value: clamps grad to [-clip_value, clip_value] in place."""
    check(lib.trainopt_clip_grad_value(np.size(grad), _ptr(grad, "grad", "clip_grad_value", writable=True),
                                       clip_value), "clip_grad_value")


def grad_unscale(grad, inv_scale):
    """trainopt_grad_unscale: grad *= inv_scale in place; returns found_inf (any NaN/Inf)."""
    found = ffi.new("int *")
    check(lib.trainopt_grad_unscale(np.size(grad), _ptr(grad, "grad", "grad_unscale", writable=True), inv_scale,
                                    found), "grad_unscale")
    return bool(found[0])


def _tensor_list(arrays, fn, writable):
    ptrs = [_ptr(a, "%s[%d]" % ("grads", i), fn, writable=writable) for i, a in enumerate(arrays)]
    kind = "float *[]" if writable else "const float *[]"
    return len(ptrs), ffi.new(kind, ptrs), ffi.new("size_t[]", [np.size(a) for a in arrays])


def sum_squares(arrays):
    """trainopt_sum_squares over a list of arrays: (sum of squares in double, non-finite count)."""
    k, ptrs, lens = _tensor_list(arrays, "sum_squares", False)
    total, bad = ffi.new("double *"), ffi.new("size_t *")
    check(lib.trainopt_sum_squares(k, ptrs, lens, total, bad), "sum_squares")
    return total[0], int(bad[0])


def clip_grad_norm(grads, max_norm):
    """trainopt_clip_grad_norm (clip_grad_norm_): scales the arrays in place; returns the total norm."""
    k, ptrs, lens = _tensor_list(grads, "clip_grad_norm", True)
    total = ffi.new("float *")
    check(lib.trainopt_clip_grad_norm(k, ptrs, lens, max_norm, total), "clip_grad_norm")
    return float(total[0])


def grad_norm(grads, inv_scale=1.0, max_norm=math.inf):
    """trainopt_grad_norm (reads only): a dict of sum_squares, nonfinite, found_inf, total_norm,
    clip_coef and grad_scale (the fused step's multiplier)."""
    k, ptrs, lens = _tensor_list(grads, "grad_norm", True)
    info = ffi.new("trainopt_grad_norm_info *")
    check(lib.trainopt_grad_norm(k, ptrs, lens, inv_scale, max_norm, info), "grad_norm")
    return {name: getattr(info, name) for name in config_fields("trainopt_grad_norm_info")}


for _f in (l1l2_penalty, l1l2_grad, clip_grad_value, grad_unscale, sum_squares, clip_grad_norm, grad_norm):
    _export(_f)


def _make_generator(kernel, dtype, ctype):
    """rand_* and initializers: (scalars..., n, out) -> a new array of n values."""
    c_function = getattr(lib, "trainopt_" + kernel)
    params = _api.PARAMS[kernel]
    has_config = config_type(kernel) is not None
    scalars = [name for t, name in params[1 if has_config else 0:] if name not in ("n", "out")]

    def generator(n, *args, **kwargs):
        values = dict(zip(scalars, args))
        for name in scalars[len(args):]:
            if name not in kwargs:
                raise TypeError("%s: %s is required" % (kernel, name))
            values[name] = kwargs.pop(name)
        out = np.empty(n, dtype)
        call = []
        if has_config:
            call.append(make_config(kernel, kwargs, kernel))
        elif kwargs:
            raise TypeError("%s: unexpected %s" % (kernel, ", ".join(kwargs)))
        for t, name in params[1 if has_config else 0:]:
            call.append(n if name == "n" else _ptr(out, "out", kernel, ctype) if name == "out" else values[name])
        check(c_function(*call), kernel)
        return out

    generator.__name__ = generator.__qualname__ = kernel
    generator.__doc__ = "%s(n, %s%s) -> a new array: trainopt_%s." % (
        kernel, ", ".join(scalars), ", **config fields" if has_config else "", kernel)
    return generator


_export(_make_generator("rand_u32", np.uint32, "uint32_t"))
for _kernel in ("rand_uniform", "rand_normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
                "kaiming_normal", "trunc_normal"):
    _export(_make_generator(_kernel, np.float32, "float"))


def calculate_gain(nonlinearity, param=0.0):
    """trainopt_calculate_gain (torch.nn.init.calculate_gain): nonlinearity "linear", "sigmoid",
    "tanh", "relu", "leaky_relu" or "selu"."""
    return lib.trainopt_calculate_gain(ffi.typeof("trainopt_nonlinearity").relements[
        "TRAINOPT_NL_" + nonlinearity.upper()], param)


def calculate_fans(shape):
    """trainopt_calculate_fans: (fan_in, fan_out) of a weight shape."""
    dims = ffi.new("size_t[]", [int(d) for d in shape])
    fan_in, fan_out = ffi.new("size_t *"), ffi.new("size_t *")
    check(lib.trainopt_calculate_fans(len(shape), dims, fan_in, fan_out), "calculate_fans")
    return int(fan_in[0]), int(fan_out[0])


_export(calculate_gain)
_export(calculate_fans)


# ---- layer, RMS and group normalization (DESIGN.md 7.4; present once the norms are in the library) ----

def _norm_config(eps):
    cfg = ffi.new("trainopt_norm_config *", initializer(_api.DEFAULTS["norm"]))
    cfg.eps = eps
    return cfg


def _rows_cols(x, fn):
    if not isinstance(x, np.ndarray) or x.ndim < 1:
        raise ValueError("%s: x must be a numpy array; its last dimension is normalized" % fn)
    return x.size // x.shape[-1] if x.shape[-1] else 0, x.shape[-1]


def layernorm_forward(x, weight=None, bias=None, *, eps=1e-5, out=None):
    """trainopt_layernorm_forward (F.layer_norm over the last dimension; reshape x to [rows][cols] for
    several): returns (y, mean, rstd), mean and rstd one per row."""
    fn = "layernorm_forward"
    rows, cols = _rows_cols(x, fn)
    y = _out(out, "out", fn, x.shape)
    mean, rstd = np.empty(x.shape[:-1], np.float32), np.empty(x.shape[:-1], np.float32)
    check(lib.trainopt_layernorm_forward(
        _norm_config(eps), rows, cols, _ptr(x, "x", fn), _ptr(weight, "weight", fn, n=cols, optional=True),
        _ptr(bias, "bias", fn, n=cols, optional=True), _ptr(y, "out", fn, writable=True), _ptr(mean, "mean", fn),
        _ptr(rstd, "rstd", fn)), fn)
    return y, mean, rstd


def layernorm_backward(x, dy, mean, rstd, weight=None, *, eps=1e-5, out=None, grads=True):
    """trainopt_layernorm_backward: returns (dx, dweight, dbias) (the last two None with grads=False)."""
    fn = "layernorm_backward"
    rows, cols = _rows_cols(x, fn)
    dx = _out(out, "out", fn, x.shape)
    dweight = np.empty(cols, np.float32) if grads else None
    dbias = np.empty(cols, np.float32) if grads else None
    check(lib.trainopt_layernorm_backward(
        _norm_config(eps), rows, cols, _ptr(x, "x", fn), _ptr(dy, "dy", fn, n=x.size),
        _ptr(weight, "weight", fn, n=cols, optional=True), _ptr(mean, "mean", fn, n=rows),
        _ptr(rstd, "rstd", fn, n=rows), _ptr(dx, "out", fn, writable=True),
        _ptr(dweight, "dweight", fn, optional=True), _ptr(dbias, "dbias", fn, optional=True)), fn)
    return dx, dweight, dbias


def rmsnorm_forward(x, weight=None, *, eps=1e-5, out=None):
    """trainopt_rmsnorm_forward (RMSNorm over the last dimension): returns (y, rstd)."""
    fn = "rmsnorm_forward"
    rows, cols = _rows_cols(x, fn)
    y = _out(out, "out", fn, x.shape)
    rstd = np.empty(x.shape[:-1], np.float32)
    check(lib.trainopt_rmsnorm_forward(
        _norm_config(eps), rows, cols, _ptr(x, "x", fn), _ptr(weight, "weight", fn, n=cols, optional=True),
        _ptr(y, "out", fn, writable=True), _ptr(rstd, "rstd", fn)), fn)
    return y, rstd


def rmsnorm_backward(x, dy, rstd, weight=None, *, eps=1e-5, out=None, grads=True):
    """trainopt_rmsnorm_backward: returns (dx, dweight) (dweight None with grads=False)."""
    fn = "rmsnorm_backward"
    rows, cols = _rows_cols(x, fn)
    dx = _out(out, "out", fn, x.shape)
    dweight = np.empty(cols, np.float32) if grads else None
    check(lib.trainopt_rmsnorm_backward(
        _norm_config(eps), rows, cols, _ptr(x, "x", fn), _ptr(dy, "dy", fn, n=x.size),
        _ptr(weight, "weight", fn, n=cols, optional=True), _ptr(rstd, "rstd", fn, n=rows),
        _ptr(dx, "out", fn, writable=True), _ptr(dweight, "dweight", fn, optional=True)), fn)
    return dx, dweight


def groupnorm_forward(x, groups, weight=None, bias=None, *, eps=1e-5, layout="NCHW", out=None):
    """trainopt_groupnorm_forward (F.group_norm): returns (y, mean, rstd), mean and rstd [n][groups]."""
    fn = "groupnorm_forward"
    shape, c = _bn_shape(x, layout, fn)
    y = _out(out, "out", fn, x.shape)
    mean, rstd = np.empty((x.shape[0], groups), np.float32), np.empty((x.shape[0], groups), np.float32)
    check(lib.trainopt_groupnorm_forward(
        _norm_config(eps), shape, groups, _ptr(x, "x", fn), _ptr(weight, "weight", fn, n=c, optional=True),
        _ptr(bias, "bias", fn, n=c, optional=True), _ptr(y, "out", fn, writable=True), _ptr(mean, "mean", fn),
        _ptr(rstd, "rstd", fn)), fn)
    return y, mean, rstd


def groupnorm_backward(x, dy, groups, mean, rstd, weight=None, *, eps=1e-5, layout="NCHW", out=None, grads=True):
    """trainopt_groupnorm_backward: returns (dx, dweight, dbias) (the last two None with grads=False)."""
    fn = "groupnorm_backward"
    shape, c = _bn_shape(x, layout, fn)
    dx = _out(out, "out", fn, x.shape)
    dweight = np.empty(c, np.float32) if grads else None
    dbias = np.empty(c, np.float32) if grads else None
    check(lib.trainopt_groupnorm_backward(
        _norm_config(eps), shape, groups, _ptr(x, "x", fn), _ptr(dy, "dy", fn, n=x.size),
        _ptr(weight, "weight", fn, n=c, optional=True), _ptr(mean, "mean", fn, n=x.shape[0] * groups),
        _ptr(rstd, "rstd", fn, n=x.shape[0] * groups), _ptr(dx, "out", fn, writable=True),
        _ptr(dweight, "dweight", fn, optional=True), _ptr(dbias, "dbias", fn, optional=True)), fn)
    return dx, dweight, dbias


for _f in (layernorm_forward, layernorm_backward, rmsnorm_forward, rmsnorm_backward, groupnorm_forward,
           groupnorm_backward):
    if _f.__name__ in _api.PARAMS:
        _export(_f)
    else:
        del globals()[_f.__name__]


# ---- Adafactor and schedule-free AdamW (present once their kernels are in the library) ----------------

def _make_adafactor(kernel):
    c_function = getattr(lib, "trainopt_" + kernel)
    has_opts = kernel.endswith("_ex")

    def adafactor(param, grad, row_var=None, col_var=None, variance=None, *, step, shape=None,
                  grad_scale=1.0, found_inf=False, **hparams):
        if shape is None:
            if not isinstance(param, np.ndarray) or param.ndim != 2:
                raise ValueError("%s: param is not 2-D: pass shape=(rows, cols)" % kernel)
            shape = param.shape
        rows, cols = int(shape[0]), int(shape[1])
        n = rows * cols
        cfg = make_config(kernel, hparams, kernel)
        call = [cfg, int(step), rows, cols, _ptr(param, "param", kernel, n=n, writable=True),
                _ptr(grad, "grad", kernel, n=n), _ptr(row_var, "row_var", kernel, n=rows, writable=True, optional=True),
                _ptr(col_var, "col_var", kernel, n=cols, writable=True, optional=True),
                _ptr(variance, "variance", kernel, n=n, writable=True, optional=True)]
        if has_opts:
            (opts, keep), count = _step_options(grad_scale, found_inf)
            call.append(opts)
        elif grad_scale != 1.0 or found_inf:
            raise TypeError("%s: grad_scale and found_inf belong to %s_ex" % (kernel, kernel))
        check(c_function(*call), kernel)
        return int(count[0]) if has_opts else None

    adafactor.__name__ = adafactor.__qualname__ = kernel
    adafactor.__doc__ = ("%s(param, grad, row_var, col_var, variance, *, step, shape=param.shape, **hyperparameters)"
                         ": trainopt_%s on a [rows][cols] parameter (row_var [rows], col_var [cols] when factored, "
                         "variance [rows*cols] when not); hyperparameters: the fields of %s."
                         % (kernel, kernel, config_type(kernel)))
    return adafactor


class ScheduleFreeAdamW:
    """Schedule-free AdamW: ScheduleFreeAdamW(lr=..., ...) keeps the config and the scalar state
    (trainopt_sfadamw_state) shared by every tensor; per optimizer step call advance() once, then
    step(param, grad, z, exp_avg_sq) per tensor; to_eval(y, z, x) and to_train(x, z, y) switch the
    parameters between the training point y and the averaged x."""

    def __init__(self, **hparams):
        self.config = make_config("sfadamw_step", hparams, "ScheduleFreeAdamW")
        self.state = ffi.new("trainopt_sfadamw_state *", initializer(_api.DEFAULTS["sfadamw_state_init"]))

    def advance(self):
        check(lib.trainopt_sfadamw_advance(self.config, self.state), "sfadamw_advance")

    def step(self, param, grad, z, exp_avg_sq, *, grad_scale=1.0, found_inf=False):
        n = np.size(param)
        args = [self.config, self.state, n, _ptr(param, "param", "sfadamw_step", writable=True),
                _ptr(grad, "grad", "sfadamw_step", n=n), _ptr(z, "z", "sfadamw_step", n=n, writable=True),
                _ptr(exp_avg_sq, "exp_avg_sq", "sfadamw_step", n=n, writable=True)]
        if grad_scale == 1.0 and not found_inf:
            check(lib.trainopt_sfadamw_step(*args), "sfadamw_step")
            return None
        (opts, keep), count = _step_options(grad_scale, found_inf)
        check(lib.trainopt_sfadamw_step_ex(*args, opts), "sfadamw_step_ex")
        return int(count[0])

    def step_mp(self, param, grad, z, exp_avg_sq, *, grad_scale=1.0, found_inf=False, **mixed):
        """trainopt_sfadamw_step_mp: step() on float32, float16 or uint16 (bf16 bits) arrays, the
        dtypes the arrays'; param_mode, param_aux, copy, seed, offset as for every <opt>_step_mp."""
        unknown = set(mixed) - set(_MIXED_KEYWORDS)
        if unknown:
            raise TypeError("sfadamw_step_mp: unknown keyword %r" % sorted(unknown)[0])
        n = np.size(param)
        arrays = [("param", True), ("grad", False), ("z", True), ("exp_avg_sq", True)]
        given = {"param": param, "grad": grad, "z": z, "exp_avg_sq": exp_avg_sq}
        args = _mixed_arrays("sfadamw_step_mp", arrays, given, n, dict(_MIXED_KEYWORDS, **mixed))
        if grad_scale == 1.0 and not found_inf:
            check(lib.trainopt_sfadamw_step_mp(self.config, self.state, n, *args, ffi.NULL), "sfadamw_step_mp")
            return None
        (opts, keep), count = _step_options(grad_scale, found_inf)
        check(lib.trainopt_sfadamw_step_mp(self.config, self.state, n, *args, opts), "sfadamw_step_mp")
        return int(count[0])

    def to_eval(self, y, z, x=None):
        return _sfadamw_switch("sfadamw_to_eval", self.config, y, z, x)

    def to_train(self, x, z, y=None):
        return _sfadamw_switch("sfadamw_to_train", self.config, x, z, y)


def _sfadamw_switch(kernel, cfg, a, z, out):
    n = np.size(a)
    out = _out(out, "out", kernel, np.shape(a))
    check(getattr(lib, "trainopt_" + kernel)(cfg, n, _ptr(a, "a", kernel), _ptr(z, "z", kernel, n=n),
                                             _ptr(out, "out", kernel, writable=True)), kernel)
    return out


for _kernel in ("adafactor_step", "adafactor_step_ex"):
    if _kernel in _api.PARAMS:
        _export(_make_adafactor(_kernel))
if "adafactor_step_mp" in _api.PARAMS:
    COVERAGE["adafactor_step_mp"] = ("not exposed yet: the C kernel (bf16/fp16 Adafactor) is new; "
                                     "adafactor_step_ex covers fp32")
if "sfadamw_step" in _api.PARAMS:
    globals()["ScheduleFreeAdamW"] = ScheduleFreeAdamW
    __all__.append("ScheduleFreeAdamW")
    for _kernel in ("sfadamw_advance", "sfadamw_step", "sfadamw_step_ex", "sfadamw_to_eval", "sfadamw_to_train"):
        COVERAGE[_kernel] = "ScheduleFreeAdamW"
    if "sfadamw_step_mp" in _api.PARAMS:
        COVERAGE["sfadamw_step_mp"] = "ScheduleFreeAdamW"
else:
    del ScheduleFreeAdamW


# ---- many tensors, many threads (issue 19): in numpy, a list is stepped tensor by tensor with the
# per-tensor function, which gives the same bits as the C multi-tensor step and _mt reductions ----
for _family, _kernel in _api.KERNELS:
    if _kernel.endswith("_step_multi") and _kernel[:-len("_multi")] + "_ex" in COVERAGE:
        COVERAGE[_kernel] = COVERAGE[_kernel[:-len("_multi")] + "_ex"]
    elif _kernel.endswith("_step_mp_multi") and _kernel[:-len("_multi")] in COVERAGE:
        COVERAGE[_kernel] = COVERAGE[_kernel[:-len("_multi")]]
    elif _kernel.endswith("_mt") and _kernel[:-len("_mt")] in COVERAGE:
        COVERAGE[_kernel] = COVERAGE[_kernel[:-len("_mt")]]


# ---- bf16/fp16 layer, RMS and group norm (issue 17): no numpy functions yet. Their results are
# the fp32 functions' on the widened arrays, rounded to nearest even: layernorm_forward(
# x.astype(numpy.float32)) and rounding y gives the same bits ----
for _kernel in ("layernorm_forward_mp", "layernorm_backward_mp", "rmsnorm_forward_mp", "rmsnorm_backward_mp",
                "groupnorm_forward_mp", "groupnorm_backward_mp"):
    if _kernel in _api.PARAMS:
        COVERAGE[_kernel] = ("not exposed yet: the fp32 function on x.astype(numpy.float32), y and dx rounded to "
                             "nearest even, gives the same bits")
