"""Numba kernels of the LSTM (same arguments and results as
:func:`annt.kernels.reference.lstm_forward` / ``lstm_backward``).
Gate order i, f, g, o; one thread runs the whole time loop of a sequence."""
import numpy as np
from numba import njit, prange

from ._math import add_vec_mat_, add_vec_matT_, sigmoid_, tanh_
from ._parallel import n_blocks

_serial = dict(cache=True, error_model="numpy")
_parallel = dict(cache=True, parallel=True)


@njit(**_serial)
def _lstm_forward_rows(xw, W, h0, c0, mask, Hs, Cs, Gs, b0, b1):
    T, G = xw.shape[1], xw.shape[2]
    H = G // 4
    for b in range(b0, b1):
        h = h0[b].copy()
        c = c0[b].copy()
        for t in range(T):
            if mask[b, t] != 0:
                a = Gs[b, t]          # pre-activations, activated in place
                a[:] = xw[b, t]
                add_vec_mat_(a, h, W, 0)
                for j in range(H):
                    i = sigmoid_(a[j])
                    f = sigmoid_(a[H + j])
                    g = tanh_(a[2 * H + j])
                    o = sigmoid_(a[3 * H + j])
                    a[j], a[H + j], a[2 * H + j], a[3 * H + j] = i, f, g, o
                    c[j] = f * c[j] + i * g
                    h[j] = o * tanh_(c[j])
            Hs[b, t] = h
            Cs[b, t] = c


@njit(**_parallel)
def _lstm_forward_blocks(xw, W, h0, c0, mask, n):
    """lstm_forward on n blocks of sequences, one per thread."""
    N, T, G = xw.shape
    H = G // 4
    Hs = np.empty((N, T, H), xw.dtype)
    Cs = np.empty((N, T, H), xw.dtype)
    Gs = np.zeros((N, T, G), xw.dtype)
    for k in prange(n):
        _lstm_forward_rows(xw, W, h0, c0, mask, Hs, Cs, Gs, k * N // n, (k + 1) * N // n)
    return Hs, Cs, Gs


def lstm_forward(xw, W, h0, c0, mask):
    """xw (N,T,4H), W (H,4H), h0, c0 (N,H), mask (N,T) -> Hs, Cs (N,T,H), Gs (N,T,4H)"""
    return _lstm_forward_blocks(xw, W, h0, c0, mask, n_blocks(xw.shape[0]))


@njit(**_serial)
def _lstm_backward_rows(dHs, dcT, Cs, Gs, c0, WT, mask, dA, dh0, dc0, b0, b1):
    T, G = Gs.shape[1], Gs.shape[2]
    H = G // 4
    one = Gs.dtype.type(1)
    dh = np.empty(H, Gs.dtype)
    for b in range(b0, b1):
        dh[:] = 0
        dc = dcT[b].copy()
        for t in range(T - 1, -1, -1):
            dh += dHs[b, t]
            if mask[b, t] != 0:
                g_ = Gs[b, t]
                da = dA[b, t]
                c = Cs[b, t]
                c_prev = Cs[b, t - 1] if t > 0 else c0[b]
                for j in range(H):
                    i, f, g, o = g_[j], g_[H + j], g_[2 * H + j], g_[3 * H + j]
                    tc = tanh_(c[j])
                    dcj = dc[j] + dh[j] * o * (one - tc * tc)
                    da[j] = dcj * g * i * (one - i)
                    da[H + j] = dcj * c_prev[j] * f * (one - f)
                    da[2 * H + j] = dcj * i * (one - g * g)
                    da[3 * H + j] = dh[j] * tc * o * (one - o)
                    dc[j] = dcj * f
                dh[:] = 0
                add_vec_matT_(dh, da, WT, 0)
        dh0[b] = dh
        dc0[b] = dc


@njit(**_parallel)
def _lstm_backward_blocks(dHs, dcT, Cs, Gs, c0, WT, mask, n):
    """lstm_backward on n blocks of sequences, one per thread."""
    N, T, G = Gs.shape
    H = G // 4
    dA = np.zeros_like(Gs)
    dh0 = np.empty((N, H), Gs.dtype)
    dc0 = np.empty((N, H), Gs.dtype)
    for k in prange(n):
        _lstm_backward_rows(dHs, dcT, Cs, Gs, c0, WT, mask, dA, dh0, dc0,
                            k * N // n, (k + 1) * N // n)
    return dA, dh0, dc0



def lstm_backward(dHs, dcT, Cs, Gs, c0, WT, mask):
    """dHs (N,T,H), dcT (N,H), Cs (N,T,H), Gs (N,T,4H), c0 (N,H), WT = W.T (4H,H)
    -> dA (N,T,4H), dh0, dc0 (N,H)"""
    return _lstm_backward_blocks(dHs, dcT, Cs, Gs, c0, WT, mask, n_blocks(dHs.shape[0]))