"""trainopt for Python: libtrainopt's kernels on numpy arrays (trainopt.np) and
torch.optim drop-ins over them (trainopt.torch, needs PyTorch). See README.md,
section "Python"; _lib.py says where the library is looked for."""
from ._lib import TrainoptError, ffi as _ffi, lib as _clib, path as library_path
from ._api import VERSION as __version__


def backend():
    """The vector backend libtrainopt chose on this CPU: "avx512", "avx2", "neon" or "scalar"."""
    return _ffi.string(_clib.trainopt_backend()).decode()


__all__ = ["TrainoptError", "backend", "library_path", "__version__"]
