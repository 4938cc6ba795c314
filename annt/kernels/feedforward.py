"""Numba kernels for one time step of the layers without a time loop (same
arguments and results as :func:`annt.kernels.reference.dense_step`,
``activation_step`` and ``all_finite``).

Step-by-step inference (``NetworkInference.step``) calls one small kernel per
layer on a batch of N rows. At these sizes (often one row of a few dozen
numbers) the cost is the call itself, not the arithmetic, so each kernel does
a layer's whole work in one call and writes into a buffer allocated once.
"""
import math

import numpy as np
from numba import njit

from ._blas import gemm_
from ._math import activate_
from ._parallel import get_num_threads, run_parts

_serial = dict(cache=True, error_model="numpy", nogil=True)   # nogil: softmax blocks run on threads

SOFTMAX = 4     # an activation code for activation_step only (it is not element-wise)


@njit(**_serial)
def dense_step(x, W, b, out):
    """out = x W + b.   x (N, D), W (D, K), b (K,), out (N, K) (overwritten)."""
    gemm_(x, W, out, 0.0)
    for k in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[k, j] += b[j]


@njit(**_serial)
def activation_step(x, code, out):
    """out = act(x) row by row.   x, out (N, K); code: IDENTITY, TANH, SIGMOID,
    RELU (element-wise) or SOFTMAX (over each row, shifted by the row's maximum
    so that exp never overflows)."""
    for k in range(x.shape[0]):
        if code == SOFTMAX:
            m = x[k, 0]
            for j in range(1, x.shape[1]):
                m = max(m, x[k, j])
            s = x.dtype.type(0)
            for j in range(x.shape[1]):
                out[k, j] = math.exp(x[k, j] - m)
                s += out[k, j]
            for j in range(x.shape[1]):
                out[k, j] /= s
        else:
            activate_(x[k], out[k], code)


# Below this many numbers a softmax runs on the calling thread: handing a block
# to another thread costs tens of microseconds, more than it saves.
SOFTMAX_SPLIT_ABOVE = 1 << 15


def _softmax_part(x, out, k, r0, r1):
    activation_step(x[r0:r1], SOFTMAX, out[r0:r1])


def softmax(x):
    """Softmax over the last axis of x (any shape), each row shifted by its
    maximum: the kernel of ``activation_step``, with large arrays split by rows
    over annt's threads. NumPy's version of the same formula costs several times
    more on short rows (ten classes, say): its reductions along a short axis are
    slow, and each step writes a temporary array."""
    if x.size == 0:
        return np.empty_like(x)
    x2 = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
    out = np.empty_like(x2)
    n = min(get_num_threads(), x2.shape[0]) if x2.size > SOFTMAX_SPLIT_ABOVE else 1
    if n == 1:
        activation_step(x2, SOFTMAX, out)
    else:
        run_parts(_softmax_part, n, x2.shape[0], x2, out)
    return out.reshape(x.shape)


@njit(**_serial)
def all_finite(x):
    """True when the 2-d array x holds no NaN and no infinity (the input check of
    a step, done here: NumPy's ``np.isfinite(x).all()`` costs several times more
    on a few dozen numbers)."""
    for k in range(x.shape[0]):
        for j in range(x.shape[1]):
            if not np.isfinite(x[k, j]):
                return False
    return True
