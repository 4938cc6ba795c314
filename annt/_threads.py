"""Keep BLAS on one thread while annt runs.

annt's products are small (tens of rows and columns), where a second BLAS
thread gains nothing, and OpenBLAS's idle threads keep spinning for a while
after each call, fighting the Numba kernels' threads for the two cores: on
the MNIST model an epoch took several times longer with BLAS threads left on.
The public training and inference entry points run under this limit; it is
lifted again when they return.
"""
from threadpoolctl import ThreadpoolController

_controller = None


def blas_single_thread():
    """Context manager limiting BLAS (OpenBLAS/MKL) to one thread."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def single_blas(method):
    """Decorator: run ``method`` under :func:`blas_single_thread`."""
    import functools

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with blas_single_thread():
            return method(*args, **kwargs)
    return wrapper
