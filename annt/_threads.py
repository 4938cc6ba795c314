"""Keep BLAS on one thread while annt runs.

annt's products are small (tens of rows and columns), where a second BLAS
thread gains nothing, and OpenBLAS's idle threads keep spinning for a while
after each call, fighting the Numba kernels' threads for the two cores: on
the MNIST model an epoch took several times longer with BLAS threads left on.
The public training and inference entry points run under this limit; it is
lifted again when they return.

threadpoolctl finds the BLAS libraries (NumPy's, which the Numba kernels call,
and SciPy's where they fall back on it) once; entering and leaving the limit then costs
a few ctypes calls, which matters for step-by-step inference (one call per
time step).
"""
import functools
import os

from .kernels._parallel import MIN_ROWS_PER_THREAD

SMALL_BATCH = 2 * MIN_ROWS_PER_THREAD   # batches below this run the kernels on one thread

_blas_libs = None
_depth = 0


def _libs():
    global _blas_libs
    if _blas_libs is None:
        # Where NumPy brings no CBLAS, the kernels call SciPy's BLAS (which may
        # be another OpenBLAS than NumPy's): load it before looking for the libraries.
        from .kernels import _blas
        if _blas.BACKEND == "scipy-f77":
            import scipy.linalg.cython_blas  # noqa: F401
        _blas_libs = [lc for lc in _threadpool_controller().lib_controllers
                      if lc.user_api == "blas"]
    return _blas_libs


def _threadpool_controller():
    """threadpoolctl's controller, imported without its side effect: on import,
    threadpoolctl sets ``KMP_DUPLICATE_LIB_OK=True`` in the process environment
    (allowing two Intel OpenMP runtimes in one process). annt changes nothing
    outside itself, so the variable is put back as it was."""
    before = os.environ.get("KMP_DUPLICATE_LIB_OK")
    try:
        from threadpoolctl import ThreadpoolController
    finally:
        if before is None:
            os.environ.pop("KMP_DUPLICATE_LIB_OK", None)
        else:
            os.environ["KMP_DUPLICATE_LIB_OK"] = before
    return ThreadpoolController()


class blas_single_thread:
    """Context manager limiting BLAS (OpenBLAS/MKL/BLIS) to one thread; re-entrant."""

    def __enter__(self):
        global _depth
        _depth += 1
        self._changed = []
        if _depth == 1:
            for lc in _libs():
                n = lc.get_num_threads()
                if n != 1:
                    lc.set_num_threads(1)
                    self._changed.append((lc, n))
        return self

    def __exit__(self, *exc):
        global _depth
        _depth -= 1
        for lc, n in self._changed:
            lc.set_num_threads(n)
        return False


# OpenBLAS runs a product of an (m, k) by a (k, n) matrix on one thread when
# m * k * n <= 65536 * 4 (its interface/gemm.c); above that it wakes its own
# threads, which on a busy machine can cost milliseconds per product.
BLAS_THREADS_ABOVE = 65536 * 4


def blas_width(obj):
    """The largest k * n of the matrix products a layer or network makes per
    row of its input: the size of its largest weight matrix."""
    cached = getattr(obj, "_annt_blas_width", None)
    if cached is None:
        layers = getattr(obj, "layers", None) or [obj]
        cached = max((p.size for layer in layers for _, p, _ in layer.parameters()
                      if p.ndim == 2), default=0)
        try:
            obj._annt_blas_width = cached
        except AttributeError:
            pass
    return cached


def needs_limit(obj, N):
    """True when a pass of ``obj`` (a layer or network) over N sequences may run
    BLAS on several threads next to annt's own: when the kernels split the
    batch over threads, or when a per-step product is large enough for
    OpenBLAS to thread it."""
    return N >= SMALL_BATCH or N * blas_width(obj) > BLAS_THREADS_ABOVE


def _rows(args):
    """The number of sequences: the first dimension of the first array argument."""
    for a in args:
        shape = getattr(a, "shape", None)
        if shape is not None:
            return shape[0] if len(shape) > 0 else 1
    return 0


def single_blas(method):
    """Decorator of a layer's or network's passes: run ``method`` under
    :func:`blas_single_thread` when :func:`needs_limit` says so; small passes (one
    step of one sequence, above all) skip its cost of a few microseconds."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if _depth or not needs_limit(self, _rows(args)):
            return method(self, *args, **kwargs)
        with blas_single_thread():
            return method(self, *args, **kwargs)
    return wrapper


def always_single_blas(method):
    """Decorator of the entry points that loop (fit, evaluate, predict, generate,
    sample): one limit around the whole loop."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        if _depth:
            return method(*args, **kwargs)
        with blas_single_thread():
            return method(*args, **kwargs)
    return wrapper
