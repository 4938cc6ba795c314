"""Fused optimizer updates: one pass over a parameter instead of a dozen NumPy
operations (each a pass over memory and a few microseconds of overhead; for
the small parameters of the book's models the overhead dominated).
Same arithmetic as the NumPy update in :mod:`annt.optimizers`."""
import math

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy", nogil=True)
def adam_update(w, g, m, v, b1, b2, step_size, denom_scale, eps):
    """Adam on flat, contiguous arrays of one dtype, in place::

        m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
        w -= step_size * m / (sqrt(v) * denom_scale + eps)

    with ``step_size = lr / (1 - b1^t)`` and ``denom_scale = 1 / sqrt(1 - b2^t)``."""
    f = w.dtype.type
    c1, c2 = f(1.0 - b1), f(1.0 - b2)       # in float64 first, as NumPy's update does
    b1, b2, step_size, denom_scale, eps = f(b1), f(b2), f(step_size), f(denom_scale), f(eps)
    for i in range(w.shape[0]):
        gi = g[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        w[i] -= step_size * (mi / (np.sqrt(vi) * denom_scale + eps))


