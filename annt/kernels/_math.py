"""Scalar functions and small loops that the Numba kernels inline.

``tanh_`` is exact (``math.tanh``) in float64, so gradient checks see the true
function, and a rational approximation in float32 (the coefficients Eigen
uses; largest error about 3e-7 on the whole line). Numba has no vectorised
``tanh`` on this machine, while the rational form is plain arithmetic that LLVM
vectorises: about four times faster. ``sigmoid_`` is written through ``tanh_``
so it never overflows.

``flush_`` sets gradients too small to matter to zero. A gradient that fades
away over many steps (a target only at the end of a long sequence) otherwise
passes through the *subnormal* numbers (below about 1e-38 in float32), on
which the CPU is a hundred times slower: the backward pass of a GRU over 500
steps took eight times as long.

How they are inlined: ``tanh_`` and ``sigmoid_`` are ordinary overloads, each
compiled once per type, which LLVM then inlines into every loop (the loops
vectorise as before). Inlining them into Numba's own IR at every call site
(``inline="always"``) gave the same vectorised loops but made Numba type each
copy again: about a second more of a first run's compile time for the MNIST
model. ``flush_`` stays inlined in the IR: called as a function, it left the
GRU's backward pass about 8% slower.
"""
import math

import numpy as np
from numba import njit, types
from numba.extending import overload

IDENTITY, TANH, SIGMOID, RELU = 0, 1, 2, 3

_ALPHA = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
          5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
          -2.76076847742355e-16)
_BETA = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
         1.19825839466702e-06)


def tanh_(x):
    """tanh for the kernels (pure-Python fallback; Numba uses the overload)."""
    return math.tanh(x)


@overload(tanh_)
def _tanh_overload(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        f = np.float32
        a1, a3, a5, a7, a9, a11, a13 = (f(v) for v in _ALPHA)
        b0, b2, b4, b6 = (f(v) for v in _BETA)
        lim = f(7.90531110763549805)  # beyond it tanh rounds to +-1 in float32

        def rational_tanh(x):
            x = min(max(x, -lim), lim)
            x2 = x * x
            p = x2 * a13 + a11
            p = x2 * p + a9
            p = x2 * p + a7
            p = x2 * p + a5
            p = x2 * p + a3
            p = x2 * p + a1
            p = x * p
            q = x2 * b6 + b4
            q = x2 * q + b2
            q = x2 * q + b0
            return p / q
        return rational_tanh
    return lambda x: math.tanh(x)


def sigmoid_(x):
    """Logistic function for the kernels (pure-Python fallback)."""
    return 0.5 + 0.5 * math.tanh(0.5 * x)


@overload(sigmoid_)
def _sigmoid_overload(x):
    half = np.float32(0.5) if (isinstance(x, types.Float) and x.bitwidth == 32) else 0.5

    def sigmoid_impl(x):
        return half + half * tanh_(half * x)  # never overflows, stays in x's precision
    return sigmoid_impl


def flush_(x):
    """x, or 0 when |x| is below FLUSH_BELOW of its precision (pure-Python fallback)."""
    return x if abs(x) >= FLUSH_BELOW[64] else 0.0


# Far above the subnormal range (float32 from 1.2e-38, float64 from 2.2e-308), so
# that products of flushed numbers with gate derivatives and weights stay normal;
# far below any gradient that can change a weight (float32 keeps 7 digits).
FLUSH_BELOW = {32: 1e-30, 64: 1e-280}


@overload(flush_, inline="always")
def _flush_overload(x):
    # Branch-free (x times 1 or 0): the loops stay vectorisable, and an inlined
    # conditional expression would trip a Numba IR warning.
    if isinstance(x, types.Float) and x.bitwidth == 32:
        tiny32 = np.float32(FLUSH_BELOW[32])

        def flush32(x):
            return x * np.float32(abs(x) >= tiny32)
        return flush32
    tiny64 = FLUSH_BELOW[64]

    def flush64(x):
        return x * np.float64(abs(x) >= tiny64)
    return flush64


@njit(inline="always")
def copy_(dst, src):
    """dst[:] = src for vectors, as a loop. Assigning an array to a slice
    (``Hs[b, t] = h``) makes Numba compile its shape-mismatch error message, and
    formatting that message takes seconds of compile time in each fresh process
    that has no cache yet (about 4 s of the MNIST model's first training call)."""
    for j in range(src.shape[0]):
        dst[j] = src[j]


@njit(inline="always")
def add_to_(dst, src):
    """dst += src for vectors, as a loop (see ``copy_``)."""
    for j in range(src.shape[0]):
        dst[j] += src[j]


@njit(inline="always")
def flush_vec_(v):
    """flush_ on every element of the vector v, in place."""
    for j in range(v.shape[0]):
        v[j] = flush_(v[j])


@njit(inline="always")
def tanh_vec_(a, out):
    """out[:] = tanh(a[:])."""
    for j in range(a.shape[0]):
        out[j] = tanh_(a[j])


@njit(inline="always")
def sigmoid_vec_(a, out):
    """out[:] = sigmoid(a[:])."""
    for j in range(a.shape[0]):
        out[j] = sigmoid_(a[j])


@njit(inline="always")
def relu_vec_(a, out):
    """out[:] = max(a[:], 0)."""
    zero = a.dtype.type(0)
    for j in range(a.shape[0]):
        out[j] = max(a[j], zero)


@njit(inline="always")
def identity_vec_(a, out):
    """out[:] = a[:]."""
    for j in range(a.shape[0]):
        out[j] = a[j]


@njit(inline="always")
def activate_(a, out, code):
    """out[:] = act(a[:]) for an activation code (the branch sits outside the loop)."""
    if code == TANH:
        tanh_vec_(a, out)
    elif code == SIGMOID:
        sigmoid_vec_(a, out)
    elif code == RELU:
        relu_vec_(a, out)
    else:
        identity_vec_(a, out)


@njit(inline="always")
def times_tanh_grad_(d, y):
    """d[:] *= tanh'(.) = 1 - y^2, from the activation's output y."""
    one = d.dtype.type(1)
    for j in range(d.shape[0]):
        d[j] *= one - y[j] * y[j]


@njit(inline="always")
def times_sigmoid_grad_(d, y):
    """d[:] *= sigmoid'(.) = y (1 - y)."""
    one = d.dtype.type(1)
    for j in range(d.shape[0]):
        d[j] *= y[j] * (one - y[j])


@njit(inline="always")
def times_relu_grad_(d, y):
    """d[:] *= relu'(.): 0 where y <= 0."""
    for j in range(d.shape[0]):
        if y[j] <= 0:
            d[j] = 0


@njit(inline="always")
def times_identity_grad_(d, y):
    """d[:] *= 1."""


@njit(inline="always")
def times_activation_grad_(d, y, code):
    """d[:] *= act'(.) written in terms of the activation's output y."""
    if code == TANH:
        times_tanh_grad_(d, y)
    elif code == SIGMOID:
        times_sigmoid_grad_(d, y)
    elif code == RELU:
        times_relu_grad_(d, y)


# The same, chosen in Python for one code: a kernel built for one activation
# (see _cache.KernelVariants) calls only its own loop, and compiles only it.
_ACTIVATE = {TANH: tanh_vec_, SIGMOID: sigmoid_vec_, RELU: relu_vec_, IDENTITY: identity_vec_}
_TIMES_GRAD = {TANH: times_tanh_grad_, SIGMOID: times_sigmoid_grad_, RELU: times_relu_grad_,
               IDENTITY: times_identity_grad_}


def activation_loops(code):
    """(activate(a, out), times_grad(d, y)) for one activation code."""
    if isinstance(code, bool) or code not in _ACTIVATE:
        raise ValueError(f"unknown activation code {code!r}; expected one of "
                         f"{sorted(_ACTIVATE)} (IDENTITY, TANH, SIGMOID, RELU)")
    return _ACTIVATE[code], _TIMES_GRAD[code]


@njit(inline="always")
def add_vec_mat_(out, v, M, col0):
    """out[:] += v @ M[:, col0:col0 + len(out)] (axpy over contiguous rows of M)."""
    n = out.shape[0]
    for k in range(v.shape[0]):
        vk = v[k]
        for j in range(n):
            out[j] += vk * M[k, col0 + j]


@njit(inline="always")
def add_vec_matT_(out, v, MT, row0):
    """out[:] += v @ MT[row0:row0 + len(v), :]; MT is a weight matrix transposed
    (contiguous), so ``v @ W.T`` becomes a sum of rows of MT."""
    n = out.shape[0]
    for j in range(v.shape[0]):
        vj = v[j]
        for k in range(n):
            out[k] += vj * MT[row0 + j, k]


@njit(inline="always")
def carry_back_(dh, back, mask, b0, t):
    """dh[k] = back[k] (the gradient carried to step t-1, flushed) for each
    sequence k of the block whose step t is real; over padding dh passes through
    unchanged."""
    for k in range(dh.shape[0]):
        if mask[b0 + k, t] != 0:
            for j in range(dh.shape[1]):
                dh[k, j] = flush_(back[k, j])
