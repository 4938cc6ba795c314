"""Numba kernels of the LSTM (same arguments and results as
:func:`annt.kernels.reference.lstm_forward` / ``lstm_backward``).
Gate order i, f, g, o. Each thread walks a block of sequences through time: one
matrix product per step for the whole block, the gate math fused (see ``gru``)."""
import numpy as np
from numba import njit, prange

from ._math import carry_back_, flush_, sigmoid_, tanh_
from ._parallel import run_blocks

_serial = dict(cache=True, error_model="numpy")
_parallel = dict(cache=True, parallel=True)


@njit(**_serial)
def _lstm_forward_rows(xw, W, h0, c0, mask, Hs, Cs, Gs, b0, b1):
    T, G = xw.shape[1], xw.shape[2]
    H = G // 4
    nb = b1 - b0
    h = h0[b0:b1].copy()                  # (nb, H): the block's states
    c = c0[b0:b1].copy()
    hw = np.empty((nb, G), xw.dtype)      # h_{t-1} W for the whole block
    for t in range(T):
        np.dot(h, W, hw)                  # one matrix product per step
        for k in range(nb):
            b = b0 + k
            if mask[b, t] != 0:
                a = Gs[b, t]
                x = xw[b, t]
                for j in range(H):
                    i = sigmoid_(x[j] + hw[k, j])
                    f = sigmoid_(x[H + j] + hw[k, H + j])
                    g = tanh_(x[2 * H + j] + hw[k, 2 * H + j])
                    o = sigmoid_(x[3 * H + j] + hw[k, 3 * H + j])
                    a[j], a[H + j], a[2 * H + j], a[3 * H + j] = i, f, g, o
                    c[k, j] = f * c[k, j] + i * g
                    h[k, j] = o * tanh_(c[k, j])
            Hs[b, t] = h[k]
            Cs[b, t] = c[k]


@njit(**_parallel)
def _lstm_forward_blocks(xw, W, h0, c0, mask, Hs, Cs, Gs, n):
    """_lstm_forward_rows on n blocks of sequences, one per thread."""
    N = xw.shape[0]
    for k in prange(n):
        _lstm_forward_rows(xw, W, h0, c0, mask, Hs, Cs, Gs, k * N // n, (k + 1) * N // n)


def lstm_forward(xw, W, h0, c0, mask):
    """xw (N,T,4H), W (H,4H), h0, c0 (N,H), mask (N,T) -> Hs, Cs (N,T,H), Gs (N,T,4H)"""
    N, T, G = xw.shape
    H = G // 4
    Hs = np.empty((N, T, H), xw.dtype)
    Cs = np.empty((N, T, H), xw.dtype)
    Gs = np.zeros((N, T, G), xw.dtype)
    run_blocks(_lstm_forward_rows, _lstm_forward_blocks, N, xw, W, h0, c0, mask, Hs, Cs, Gs)
    return Hs, Cs, Gs


@njit(**_serial)
def _lstm_backward_rows(dHs, dcT, Cs, Gs, c0, WT, mask, dA, dh0, dc0, b0, b1):
    T, G = Gs.shape[1], Gs.shape[2]
    H = G // 4
    nb = b1 - b0
    one = Gs.dtype.type(1)
    dh = np.zeros((nb, H), Gs.dtype)      # dL/dh_t carried back through W
    dc = dcT[b0:b1].copy()                # dL/dc_t carried back through f
    da = np.zeros((nb, G), Gs.dtype)      # the step's pre-activation gradients
    back = np.empty((nb, H), Gs.dtype)
    for t in range(T - 1, -1, -1):
        for k in range(nb):
            b = b0 + k
            for j in range(H):
                dh[k, j] += dHs[b, t, j]
            if mask[b, t] == 0:           # padding: nothing flows into this step
                for j in range(G):
                    da[k, j] = 0
                continue
            g_ = Gs[b, t]
            c = Cs[b, t]
            c_prev = Cs[b, t - 1] if t > 0 else c0[b]
            dak = dA[b, t]
            for j in range(H):
                i, f, g, o = g_[j], g_[H + j], g_[2 * H + j], g_[3 * H + j]
                tc = tanh_(c[j])
                dcj = dc[k, j] + dh[k, j] * o * (one - tc * tc)
                # flush_: no subnormal numbers in a fading gradient (see _math)
                da[k, j] = flush_(dcj * g * i * (one - i))
                da[k, H + j] = flush_(dcj * c_prev[j] * f * (one - f))
                da[k, 2 * H + j] = flush_(dcj * i * (one - g * g))
                da[k, 3 * H + j] = flush_(dh[k, j] * tc * o * (one - o))
                dc[k, j] = flush_(dcj * f)
            for j in range(G):
                dak[j] = da[k, j]
        np.dot(da, WT, back)              # dh_{t-1} = da W^T, the whole block at once
        carry_back_(dh, back, mask, b0, t)
    for k in range(nb):
        dh0[b0 + k] = dh[k]
        dc0[b0 + k] = dc[k]


@njit(**_parallel)
def _lstm_backward_blocks(dHs, dcT, Cs, Gs, c0, WT, mask, dA, dh0, dc0, n):
    """_lstm_backward_rows on n blocks of sequences, one per thread."""
    N = dHs.shape[0]
    for k in prange(n):
        _lstm_backward_rows(dHs, dcT, Cs, Gs, c0, WT, mask, dA, dh0, dc0,
                            k * N // n, (k + 1) * N // n)


def lstm_backward(dHs, dcT, Cs, Gs, c0, WT, mask):
    """dHs (N,T,H), dcT (N,H), Cs (N,T,H), Gs (N,T,4H), c0 (N,H), WT = W.T (4H,H)
    -> dA (N,T,4H), dh0, dc0 (N,H)"""
    N, T, H = dHs.shape
    dA = np.zeros_like(Gs)
    dh0 = np.empty((N, H), Gs.dtype)
    dc0 = np.empty((N, H), Gs.dtype)
    run_blocks(_lstm_backward_rows, _lstm_backward_blocks, N,
               dHs, dcT, Cs, Gs, c0, WT, mask, dA, dh0, dc0)
    return dA, dh0, dc0


@njit(**_serial)
def lstm_step(x, U, W, b, h, c):
    """One time step for every sequence, the state (h, c) updated in place
    (step-by-step inference). Gates i, f, g, o as in ``lstm_forward``.

    x (N, D), U (D, 4H), W (H, 4H), b (4H,), h, c (N, H): h_{t-1}, c_{t-1} in, h_t, c_t out."""
    H = h.shape[1]
    a = np.dot(x, U)                          # (N, 4H) input projections
    hw = np.dot(h, W)                         # (N, 4H), taken before h is overwritten
    for k in range(x.shape[0]):
        for j in range(H):
            i = sigmoid_((a[k, j] + b[j]) + hw[k, j])
            f = sigmoid_((a[k, H + j] + b[H + j]) + hw[k, H + j])
            g = tanh_((a[k, 2 * H + j] + b[2 * H + j]) + hw[k, 2 * H + j])
            o = sigmoid_((a[k, 3 * H + j] + b[3 * H + j]) + hw[k, 3 * H + j])
            c[k, j] = f * c[k, j] + i * g
            h[k, j] = o * tanh_(c[k, j])
