"""Numba kernels of the Elman RNN (same arguments and results as
:func:`annt.kernels.reference.rnn_forward` / ``rnn_backward``).

Sequences are independent, so the batch is split over the cores (``prange``)
and each sequence runs its whole time loop in one thread, with its state in a
small scratch vector: no allocation inside the time loop.
"""
import numpy as np
from numba import njit, prange

from ._math import activate_, add_vec_mat_, add_vec_matT_, times_activation_grad_

_opts = dict(cache=True, error_model="numpy", parallel=True)


@njit(**_opts)
def rnn_forward(xw, W, h0, mask, act):
    """h_t = act(xw_t + h_{t-1} W).  xw (N,T,H), W (H,H), h0 (N,H), mask (N,T) -> Hs (N,T,H)"""
    N, T, H = xw.shape
    Hs = np.empty_like(xw)
    for b in prange(N):
        h = h0[b].copy()
        a = np.empty(H, xw.dtype)
        for t in range(T):
            if mask[b, t] != 0:
                a[:] = xw[b, t]
                add_vec_mat_(a, h, W, 0)
                activate_(a, h, act)
            Hs[b, t] = h
    return Hs


@njit(**_opts)
def rnn_backward(dHs, Hs, WT, mask, act):
    """BPTT.  dHs, Hs (N,T,H), WT = W.T contiguous (H,H) -> dA (N,T,H), dh0 (N,H)"""
    N, T, H = dHs.shape
    dA = np.zeros_like(dHs)
    dh0 = np.empty((N, H), dHs.dtype)
    for b in prange(N):
        dh = np.zeros(H, dHs.dtype)  # gradient carried from the future
        for t in range(T - 1, -1, -1):
            dh += dHs[b, t]
            if mask[b, t] != 0:
                da = dA[b, t]
                da[:] = dh
                times_activation_grad_(da, Hs[b, t], act)
                dh[:] = 0
                add_vec_matT_(dh, da, WT, 0)
        dh0[b] = dh
    return dA, dh0
