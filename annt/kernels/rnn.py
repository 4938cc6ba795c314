"""Numba kernels of the Elman RNN (same arguments and results as
:func:`annt.kernels.reference.rnn_forward` / ``rnn_backward``).

Each thread walks a block of sequences through time: one matrix product per
step for the whole block, element-wise work fused, scratch buffers allocated
before the time loop (see ``gru`` and ``_parallel``)."""
import numpy as np
from numba import njit

from ._math import activate_, activation_loops, carry_back_, copy_, flush_vec_
from ._blas import gemm_
from ._cache import KernelVariants
from ._parallel import run_blocks

_serial = dict(cache=True, error_model="numpy", nogil=True)   # nogil: blocks run on threads


def _forward_rows(act):
    """The forward kernel for one activation code ``act``, a compile-time
    constant (see ``_cache.KernelVariants``)."""

    activate, _ = activation_loops(act)

    @njit(**_serial)
    def _rnn_forward_rows(xw, W, h0, mask, Hs, b0, b1):
        H = xw.shape[2]
        nb = b1 - b0
        h = h0[b0:b1].copy()                  # (nb, H): the block's states
        hw = np.empty((nb, H), xw.dtype)
        a = np.empty(H, xw.dtype)
        for t in range(xw.shape[1]):
            gemm_(h, W, hw, 0.0)                  # one matrix product per step for the block
            for k in range(nb):
                b = b0 + k
                if mask[b, t] != 0:
                    for j in range(H):
                        a[j] = xw[b, t, j] + hw[k, j]
                    activate(a, h[k])
                    flush_vec_(h[k])          # no subnormal states (see _math)
                copy_(Hs[b, t], h[k])

    return _rnn_forward_rows


_rnn_forward_rows = KernelVariants(_forward_rows)


def rnn_forward(xw, W, h0, mask, act):
    """h_t = act(xw_t + h_{t-1} W).  xw (N,T,H), W (H,H), h0 (N,H), mask (N,T) -> Hs (N,T,H)"""
    Hs = np.empty_like(xw)
    run_blocks(_rnn_forward_rows[act], xw.shape[0], xw, W, h0, mask, Hs)
    return Hs


def _backward_rows(act):
    """The backward kernel for one activation code (see ``_forward_rows``)."""

    _, times_grad = activation_loops(act)

    @njit(**_serial)
    def _rnn_backward_rows(dHs, Hs, WT, mask, dA, dh0, b0, b1):
        H = dHs.shape[2]
        nb = b1 - b0
        dh = np.zeros((nb, H), dHs.dtype)     # gradient carried from the future
        da = np.zeros((nb, H), dHs.dtype)
        back = np.empty((nb, H), dHs.dtype)
        for t in range(dHs.shape[1] - 1, -1, -1):
            for k in range(nb):
                b = b0 + k
                for j in range(H):
                    dh[k, j] += dHs[b, t, j]
                if mask[b, t] != 0:
                    for j in range(H):
                        da[k, j] = dh[k, j]
                    times_grad(da[k], Hs[b, t])
                    flush_vec_(da[k])         # no subnormal numbers (see _math.flush_)
                    copy_(dA[b, t], da[k])
                else:                         # padding: nothing flows into this step
                    for j in range(H):
                        da[k, j] = 0
            gemm_(da, WT, back, 0.0)
            carry_back_(dh, back, mask, b0, t)
        for k in range(nb):
            copy_(dh0[b0 + k], dh[k])

    return _rnn_backward_rows


_rnn_backward_rows = KernelVariants(_backward_rows)


def rnn_backward(dHs, Hs, WT, mask, act):
    """BPTT.  dHs, Hs (N,T,H), WT = W.T contiguous (H,H) -> dA (N,T,H), dh0 (N,H)"""
    N, T, H = dHs.shape
    dA = np.zeros_like(dHs)
    dh0 = np.empty((N, H), dHs.dtype)
    run_blocks(_rnn_backward_rows[act], N, dHs, Hs, WT, mask, dA, dh0)
    return dA, dh0


@njit(**_serial)
def rnn_step(x, U, W, b, h, act):
    """One time step for every sequence, the state updated in place (step-by-step
    inference): h <- act(x U + b + h W).

    x (N, D), U (D, H), W (H, H), b (H,), h (N, H): h_{t-1} in, h_t out.
    Both products go to BLAS; the rest is one fused loop."""
    a = np.empty((x.shape[0], U.shape[1]), x.dtype)
    gemm_(x, U, a, 0.0)                          # (N, H) input projections
    hw = np.empty((h.shape[0], W.shape[1]), h.dtype)
    gemm_(h, W, hw, 0.0)                         # (N, H), taken before h is overwritten
    for k in range(x.shape[0]):
        for j in range(a.shape[1]):
            a[k, j] = (a[k, j] + b[j]) + hw[k, j]   # the order of rnn_forward: (x U + b) + h W
        activate_(a[k], h[k], act)
        flush_vec_(h[k])
