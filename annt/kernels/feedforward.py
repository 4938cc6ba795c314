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

_serial = dict(cache=True, error_model="numpy")

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
