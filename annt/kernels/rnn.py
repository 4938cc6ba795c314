"""Numba kernels of the Elman RNN (same arguments and results as
:func:`annt.kernels.reference.rnn_forward` / ``rnn_backward``).

Each sequence runs its whole time loop in one thread, its state in a small
scratch vector: no allocation inside the time loop (see ``_parallel``)."""
import numpy as np
from numba import njit, prange

from ._math import activate_, add_vec_mat_, add_vec_matT_, times_activation_grad_
from ._parallel import n_blocks

_serial = dict(cache=True, error_model="numpy")
_parallel = dict(cache=True, parallel=True)


@njit(**_serial)
def _rnn_forward_rows(xw, W, h0, mask, act, Hs, b0, b1):
    H = xw.shape[2]
    a = np.empty(H, xw.dtype)
    for b in range(b0, b1):
        h = h0[b].copy()
        for t in range(xw.shape[1]):
            if mask[b, t] != 0:
                a[:] = xw[b, t]
                add_vec_mat_(a, h, W, 0)
                activate_(a, h, act)
            Hs[b, t] = h


@njit(**_parallel)
def _rnn_forward_blocks(xw, W, h0, mask, act, n):
    """rnn_forward on n blocks of sequences, one per thread."""
    N = xw.shape[0]
    Hs = np.empty_like(xw)
    for k in prange(n):
        _rnn_forward_rows(xw, W, h0, mask, act, Hs, k * N // n, (k + 1) * N // n)
    return Hs


def rnn_forward(xw, W, h0, mask, act):
    """h_t = act(xw_t + h_{t-1} W).  xw (N,T,H), W (H,H), h0 (N,H), mask (N,T) -> Hs (N,T,H)"""
    return _rnn_forward_blocks(xw, W, h0, mask, act, n_blocks(xw.shape[0]))


@njit(**_serial)
def _rnn_backward_rows(dHs, Hs, WT, mask, act, dA, dh0, b0, b1):
    H = dHs.shape[2]
    dh = np.empty(H, dHs.dtype)       # gradient carried from the future
    for b in range(b0, b1):
        dh[:] = 0
        for t in range(dHs.shape[1] - 1, -1, -1):
            dh += dHs[b, t]
            if mask[b, t] != 0:
                da = dA[b, t]
                da[:] = dh
                times_activation_grad_(da, Hs[b, t], act)
                dh[:] = 0
                add_vec_matT_(dh, da, WT, 0)
        dh0[b] = dh


@njit(**_parallel)
def _rnn_backward_blocks(dHs, Hs, WT, mask, act, n):
    """rnn_backward on n blocks of sequences, one per thread."""
    N, T, H = dHs.shape
    dA = np.zeros_like(dHs)
    dh0 = np.empty((N, H), dHs.dtype)
    for k in prange(n):
        _rnn_backward_rows(dHs, Hs, WT, mask, act, dA, dh0, k * N // n, (k + 1) * N // n)
    return dA, dh0



def rnn_backward(dHs, Hs, WT, mask, act):
    """BPTT.  dHs, Hs (N,T,H), WT = W.T contiguous (H,H) -> dA (N,T,H), dh0 (N,H)"""
    return _rnn_backward_blocks(dHs, Hs, WT, mask, act, n_blocks(dHs.shape[0]))