"""Keep BLAS on one thread while annt runs.

annt's products are small (tens of rows and columns), where a second BLAS
thread gains nothing, and OpenBLAS's idle threads keep spinning for a while
after each call, fighting the Numba kernels' threads for the two cores: on
the MNIST model an epoch took several times longer with BLAS threads left on.
The public training and inference entry points run under this limit; it is
lifted again when they return.

threadpoolctl finds the BLAS libraries (NumPy's, and SciPy's that the Numba
kernels call through ``np.dot``) once; entering and leaving the limit then costs
a few ctypes calls, which matters for step-by-step inference (one call per
time step).
"""
import functools

from threadpoolctl import ThreadpoolController

from .kernels._parallel import MIN_ROWS_PER_THREAD

SMALL_BATCH = 2 * MIN_ROWS_PER_THREAD   # batches below this run the kernels on one thread

_blas_libs = None
_depth = 0


def _libs():
    global _blas_libs
    if _blas_libs is None:
        # The kernels' np.dot calls SciPy's BLAS (which may be another OpenBLAS
        # than NumPy's): load it before looking for the libraries.
        import scipy.linalg.cython_blas  # noqa: F401
        _blas_libs = [lc for lc in ThreadpoolController().lib_controllers
                      if lc.user_api == "blas"]
    return _blas_libs


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


def _small_batch(args):
    """True when the first array argument holds fewer sequences than the Numba
    kernels split over threads (see ``kernels._parallel``)."""
    for a in args:
        shape = getattr(a, "shape", None)
        if shape is not None:
            return len(shape) > 0 and shape[0] < SMALL_BATCH
    return False


def single_blas(method):
    """Decorator: run ``method`` under :func:`blas_single_thread`.

    The limit only matters when the Numba kernels run on several threads,
    which they do for batches of at least ``2 * MIN_ROWS_PER_THREAD``
    sequences; smaller batches (one sequence stepped at a time, above all)
    skip it and its cost of a few microseconds per call.
    """
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        if _depth or _small_batch(args[1:]):
            return method(*args, **kwargs)
        with blas_single_thread():
            return method(*args, **kwargs)
    return wrapper
