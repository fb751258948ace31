"""Loads libtrainopt through cffi's ABI mode (no compiler at import time) with the
declarations of _api.py, and turns a failed status into a Python exception that
carries trainopt_last_error().

Where the library is looked for, first found wins:
  1. $TRAINOPT_LIBRARY, a path to the shared library: when set, the only place tried;
  2. next to the package: trainopt/libtrainopt.so.<major> or trainopt/libtrainopt.so;
  3. the source tree's build: <repo>/build/lib/libtrainopt.so.<major> (make lib), when
     the package is imported from <repo>/python;
  4. the dynamic loader's search for libtrainopt.so.<major> (LD_LIBRARY_PATH, the
     ldconfig cache: make install, then ldconfig), then $PREFIX/lib for the prefixes
     /usr/local and /usr (make install's default, before ldconfig has run).
"""
import os

import cffi

from . import _api

ffi = cffi.FFI()
ffi.cdef(_api.CDEF)

MAJOR = _api.VERSION.split(".")[0]
SONAME = "libtrainopt.so." + MAJOR
_HERE = os.path.dirname(os.path.abspath(__file__))


def candidates():
    """The places the library is looked for, in order (see the module's comment)."""
    if os.environ.get("TRAINOPT_LIBRARY"):
        return [os.environ["TRAINOPT_LIBRARY"]]
    return [os.path.join(_HERE, SONAME), os.path.join(_HERE, "libtrainopt.so"),
              os.path.join(_HERE, "..", "..", "build", "lib", SONAME), SONAME,
              os.path.join("/usr/local/lib", SONAME), os.path.join("/usr/lib", SONAME)]


def _load():
    tried = []
    for path in candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (absent)")
            continue
        try:
            lib = ffi.dlopen(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
            continue
        missing = [name for _, name in _api.KERNELS if not hasattr(lib, "trainopt_" + name)]
        if missing:
            raise ImportError("trainopt: %s lacks %s: it is older than this package's API %s "
                              "(rebuild it with make lib, or point TRAINOPT_LIBRARY at a current one)"
                              % (path, ", ".join("trainopt_" + m for m in missing), _api.VERSION))
        return lib, os.path.realpath(path) if os.sep in path else path
    raise ImportError("trainopt: libtrainopt not found; tried:\n  " + "\n  ".join(tried) +
                      "\n(make lib builds build/lib/%s; make install puts it in $PREFIX/lib)" % SONAME)


lib, path = _load()
STATUS_NAMES = {v: k for k, v in ffi.typeof("trainopt_status").relements.items()}


class TrainoptError(ValueError):
    """A trainopt function refused its arguments. .status is the status's name
    ("TRAINOPT_ERR_HPARAM"), str() is trainopt_last_error(): the function, the
    argument and why. Nothing was written."""

    def __init__(self, status, text):
        self.status = STATUS_NAMES.get(status, str(status))
        super().__init__(text)


def check(status, function):
    """Raise TrainoptError for a status other than TRAINOPT_OK."""
    if status != 0:
        text = ffi.string(lib.trainopt_last_error()).decode()
        if not text:
            text = "trainopt_%s: %s" % (function, ffi.string(lib.trainopt_status_str(status)).decode())
        raise TrainoptError(status, text)


def config_type(kernel):
    """The config struct a kernel takes as its first parameter, or None."""
    params = _api.PARAMS[kernel]
    if params and params[0][0].startswith("const trainopt_") and params[0][0].endswith("_config *"):
        return params[0][0][len("const "):-len(" *")]
    return None


def config_fields(ctype):
    return [name for name, _ in ffi.typeof(ctype).fields]


def initializer(value):
    """A DEFAULTS entry as cffi takes it: None (C's NULL) becomes ffi.NULL."""
    if value is None:
        return ffi.NULL
    if isinstance(value, list):
        return [initializer(v) for v in value]
    if isinstance(value, dict):
        return {k: initializer(v) for k, v in value.items()}
    return value


def defaults_for(kernel):
    """TRAINOPT_<STEM>_DEFAULTS of a kernel (adamw_step, adamw_step_mp, adamw8bit_step: ADAMW), else those of its config
    struct (trainopt_adam_config: ADAM), else None."""
    stem = kernel
    for suffix in ("_step_ex", "_step_mp", "_step", "_init"):
        if stem.endswith(suffix):
            stem = stem[:-len(suffix)]
            break
    if stem.endswith("8bit"):  # adamw8bit_step: AdamW's defaults
        stem = stem[:-len("8bit")]
    ctype = config_type(kernel)
    if stem in _api.DEFAULTS:
        return initializer(_api.DEFAULTS[stem])
    if ctype and ctype[len("trainopt_"):-len("_config")] in _api.DEFAULTS:
        return initializer(_api.DEFAULTS[ctype[len("trainopt_"):-len("_config")]])
    return None


SCALAR_TYPES = ("double", "float", "int64_t", "int", "size_t", "uint64_t", "int32_t")


def optimizer_layout(kernel, array_types=("float *", "const float *"), tail=()):
    """The optimizer shape (config, [int64_t step,] [scalars...,] size_t n, arrays..., TAIL..., [step options])
    with every array of one of ARRAY_TYPES: (has_step, scalar parameter names, [(array name, written)],
    has_opts), or None for another shape (NAdam's mu_product and the 8-bit steps' block are such scalars;
    LAMB's tensor lists are another shape; the mixed-precision steps' arrays are void * and their TAIL
    the precision descriptor)."""
    params = _api.PARAMS[kernel]
    if not params or config_type(kernel) is None:
        return None
    rest = params[1:]
    has_step = bool(rest) and rest[0] == ("int64_t", "step")
    if has_step:
        rest = rest[1:]
    scalars = []
    while rest and rest[0] != ("size_t", "n") and rest[0][0] in SCALAR_TYPES:
        scalars.append(rest[0][1])
        rest = rest[1:]
    if not rest or rest[0] != ("size_t", "n"):
        return None
    rest = rest[1:]
    has_opts = bool(rest) and rest[-1][0] == "const trainopt_step_opts *"
    if has_opts:
        rest = rest[:-1]
    if tail:
        if tuple(t for t, _ in rest[-len(tail):]) != tuple(tail):
            return None
        rest = rest[:-len(tail)]
    if not rest or any(t not in array_types for t, _ in rest):
        return None
    return has_step, scalars, [(name, not t.startswith("const ")) for t, name in rest], has_opts


def list_optimizer_layout(kernel):
    """The tensor-list optimizer shape (config, [int64_t step,] size_t k, const size_t *lens, lists of
    float arrays..., [step options]) of LAMB and LARS: (has_step, [(list name, written)], has_opts),
    or None."""
    params = _api.PARAMS[kernel]
    if not params or config_type(kernel) is None:
        return None
    rest = params[1:]
    has_step = bool(rest) and rest[0] == ("int64_t", "step")
    if has_step:
        rest = rest[1:]
    if rest[:2] != [("size_t", "k"), ("const size_t *", "lens")]:
        return None
    rest = rest[2:]
    has_opts = bool(rest) and rest[-1][0] == "const trainopt_step_opts *"
    if has_opts:
        rest = rest[:-1]
    if not rest or any(t not in ("float *const *", "const float *const *") for t, _ in rest):
        return None
    return has_step, [(name, t == "float *const *") for t, name in rest], has_opts


def make_config(kernel, hparams, who):
    """A new config for KERNEL: its defaults, then HPARAMS (field name -> value).
    An unknown field is a TypeError naming it and the fields there are."""
    ctype = config_type(kernel)
    init = defaults_for(kernel)
    cfg = ffi.new(ctype + " *", init) if init is not None else ffi.new(ctype + " *")
    fields = config_fields(ctype)
    for name, value in hparams.items():
        if name not in fields:
            raise TypeError("%s: unknown hyperparameter %r (%s has %s)" % (who, name, ctype, ", ".join(fields)))
        setattr(cfg, name, value)
    return cfg


# The optimizer kernels again, with their array parameters declared as uintptr_t: a
# caller holding addresses (torch's data_ptr()) then passes integers, where ffi.cast
# to float * costs about 0.17 us per array (a quarter of trainopt.torch's per-tensor
# cost on small tensors). The call is the same machine call on every LP64 ABI Linux
# runs on (x86-64 SysV, AArch64 AAPCS64): pointers and 64-bit integers travel in the
# same registers. 0 is NULL.
ffi_by_address = cffi.FFI()
ffi_by_address.include(ffi)


def _by_address_prototype(name):
    def declare(t, p):
        if t in ("float *", "const float *", "void *", "const void *"):
            return "uintptr_t " + p
        if t in ("float *const *", "const float *const *"):  # LAMB's and LARS's tensor lists
            return "const uintptr_t *" + p
        if t in ("const trainopt_tensor *", "const trainopt_tensor_mp *"):  # the multi-tensor steps' lists
            return "const trainopt_tensor_by_address *" + p  # trainopt_tensor_mp: the same layout, void *
        if t == "const trainopt_adafactor_tensor *":  # Adafactor's list
            return "const trainopt_adafactor_tensor_by_address *" + p
        return "%s %s" % (t, p)
    return "trainopt_status trainopt_%s(%s);" % (name, ", ".join(declare(t, p) for t, p in _api.PARAMS[name]))


# trainopt_tensor with its pointers as addresses (the same layout on LP64: each pointer field
# becomes a uintptr_t of its size), so a list is made from data_ptr() integers in one ffi.new.
MULTI_STATES = ffi.typeof("trainopt_tensor").fields[2][1].type.length if "trainopt_tensor" in _api.CDEF else 0
if MULTI_STATES:
    ffi_by_address.cdef("typedef struct { uintptr_t param; uintptr_t grad; uintptr_t state[%d]; size_t n; } "
                        "trainopt_tensor_by_address;" % MULTI_STATES)
    assert ffi_by_address.sizeof("trainopt_tensor_by_address") == ffi.sizeof("trainopt_tensor")
    assert "trainopt_tensor_mp" not in _api.CDEF or ffi.sizeof("trainopt_tensor_mp") == ffi.sizeof("trainopt_tensor")
HAS_ADAFACTOR_MULTI = "adafactor_step_multi" in _api.PARAMS
if HAS_ADAFACTOR_MULTI:
    ffi_by_address.cdef("typedef struct { uintptr_t param; uintptr_t grad; uintptr_t row_var; uintptr_t col_var; "
                        "uintptr_t variance; size_t rows; size_t cols; } trainopt_adafactor_tensor_by_address;")
    assert ffi_by_address.sizeof("trainopt_adafactor_tensor_by_address") == ffi.sizeof("trainopt_adafactor_tensor")
ffi_by_address.cdef("\n".join(_by_address_prototype(name) for family, name in _api.KERNELS
                               if optimizer_layout(name) or list_optimizer_layout(name)
                               or (name.endswith("_step_mt") and list_optimizer_layout(name[:-len("_mt")]))
                               or name.startswith(("adafactor_step", "sfadamw_")) or name.endswith("_step_mp")
                               or (MULTI_STATES and name.endswith(("_step_multi", "_step_mp_multi")))))
lib_by_address = ffi_by_address.dlopen(path)


# ---- threads: trainopt_pool (src/pool.h), the library's parallel-for, owned by Python ----
HAS_POOL = hasattr(lib, "trainopt_pool_create")  # a library from before the pool has none
POOL_MAX = getattr(lib, "TRAINOPT_POOL_MAX", 256)


class Pool:
    """A trainopt_pool of THREADS threads in all (the calling thread and THREADS - 1 workers that
    sleep between calls), and .hook, the const trainopt_threads * that runs a call on it. The
    library keeps no state of its own: the pool is this object's, destroyed with it."""

    def __init__(self, threads):
        if not HAS_POOL:
            raise RuntimeError("trainopt: %s has no trainopt_pool (it is older than this package; rebuild it "
                               "with make lib)" % path)
        out = ffi.new("trainopt_pool **")
        check(lib.trainopt_pool_create(int(threads), out), "pool_create")
        self.threads = int(threads)
        self.handle = ffi.gc(out[0], lib.trainopt_pool_destroy)
        self.hook = ffi.new("trainopt_threads *", [lib.trainopt_pool_parallel_for, self.handle])
