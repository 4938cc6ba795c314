"""Numba kernels of the GRU, both conventions (same arguments and results as
:func:`annt.kernels.reference.gru_forward` / ``gru_backward``).
Gate order z, r, n; h_t = (1 - z) h_{t-1} + z n."""
import numpy as np
from numba import njit, prange

from ._math import add_vec_mat_, add_vec_matT_, sigmoid_, tanh_
from ._parallel import n_blocks

_serial = dict(cache=True, error_model="numpy")
_parallel = dict(cache=True, parallel=True)


@njit(**_serial)
def _gru_forward_rows(xw, W, b_hn, h0, mask, reset_after, Hs, Gs, Q, b0, b1):
    T, G = xw.shape[1], xw.shape[2]
    H = G // 3
    for b in range(b0, b1):
        h = h0[b].copy()
        for t in range(T):
            if mask[b, t] != 0:
                a = Gs[b, t]          # pre-activations, activated in place
                q = Q[b, t]
                x = xw[b, t]
                zr = a[:2 * H]
                zr[:] = x[:2 * H]
                add_vec_mat_(zr, h, W, 0)
                for j in range(2 * H):
                    zr[j] = sigmoid_(zr[j])
                n = a[2 * H:]
                if reset_after:       # q = h W_n + b_hn;  n = tanh(x_n + r * q)
                    q[:] = b_hn
                    add_vec_mat_(q, h, W, 2 * H)
                    for j in range(H):
                        n[j] = tanh_(x[2 * H + j] + a[H + j] * q[j])
                else:                 # q = r * h;  n = tanh(x_n + q W_n)
                    for j in range(H):
                        q[j] = a[H + j] * h[j]
                    n[:] = x[2 * H:]
                    add_vec_mat_(n, q, W, 2 * H)
                    for j in range(H):
                        n[j] = tanh_(n[j])
                for j in range(H):
                    h[j] += a[j] * (n[j] - h[j])
            Hs[b, t] = h


@njit(**_parallel)
def _gru_forward_blocks(xw, W, b_hn, h0, mask, reset_after, n):
    """gru_forward on n blocks of sequences, one per thread."""
    N, T, G = xw.shape
    H = G // 3
    Hs = np.empty((N, T, H), xw.dtype)
    Gs = np.zeros((N, T, G), xw.dtype)
    Q = np.zeros((N, T, H), xw.dtype)
    for k in prange(n):
        _gru_forward_rows(xw, W, b_hn, h0, mask, reset_after, Hs, Gs, Q,
                          k * N // n, (k + 1) * N // n)
    return Hs, Gs, Q


def gru_forward(xw, W, b_hn, h0, mask, reset_after):
    """xw (N,T,3H), W (H,3H), b_hn (H,), h0 (N,H), mask (N,T)
    -> Hs (N,T,H), Gs (N,T,3H) = [z, r, n], Q (N,T,H)"""
    return _gru_forward_blocks(xw, W, b_hn, h0, mask, reset_after, n_blocks(xw.shape[0]))


@njit(**_serial)
def _gru_backward_rows(dHs, Hs, h0, Gs, Q, WT, mask, reset_after, dAx, dAh, dh0, b0, b1):
    T, G = Gs.shape[1], Gs.shape[2]
    H = G // 3
    one = Gs.dtype.type(1)
    dh = np.empty(H, Gs.dtype)
    dh_prev = np.empty(H, Gs.dtype)
    dq = np.empty(H, Gs.dtype)
    for b in range(b0, b1):
        dh[:] = 0
        for t in range(T - 1, -1, -1):
            dh += dHs[b, t]
            if mask[b, t] != 0:
                g = Gs[b, t]
                q = Q[b, t]
                h_prev = Hs[b, t - 1] if t > 0 else h0[b]
                dax = dAx[b, t]
                dah = dAh[b, t]
                for j in range(H):
                    z, n = g[j], g[2 * H + j]
                    dax[j] = dh[j] * (n - h_prev[j]) * z * (one - z)
                    dax[2 * H + j] = dh[j] * z * (one - n * n)
                    dh_prev[j] = dh[j] * (one - z)
                if reset_after:
                    for j in range(H):
                        r = g[H + j]
                        dax[H + j] = dax[2 * H + j] * q[j] * r * (one - r)
                        dah[j] = dax[j]
                        dah[H + j] = dax[H + j]
                        dah[2 * H + j] = dax[2 * H + j] * r
                    add_vec_matT_(dh_prev, dah, WT, 0)
                else:
                    dq[:] = 0
                    add_vec_matT_(dq, dax[2 * H:], WT, 2 * H)
                    for j in range(H):
                        r = g[H + j]
                        dax[H + j] = dq[j] * h_prev[j] * r * (one - r)
                        dh_prev[j] += dq[j] * r
                    dah[:] = dax
                    add_vec_matT_(dh_prev, dax[:2 * H], WT, 0)
                dh[:] = dh_prev
        dh0[b] = dh


@njit(**_parallel)
def _gru_backward_blocks(dHs, Hs, h0, Gs, Q, WT, mask, reset_after, n):
    """gru_backward on n blocks of sequences, one per thread."""
    N, T, G = Gs.shape
    H = G // 3
    dAx = np.zeros_like(Gs)
    dAh = np.zeros_like(Gs)
    dh0 = np.empty((N, H), Gs.dtype)
    for k in prange(n):
        _gru_backward_rows(dHs, Hs, h0, Gs, Q, WT, mask, reset_after, dAx, dAh, dh0,
                           k * N // n, (k + 1) * N // n)
    return dAx, dAh, dh0



def gru_backward(dHs, Hs, h0, Gs, Q, WT, mask, reset_after):
    """dHs, Hs (N,T,H), h0 (N,H), Gs (N,T,3H), Q (N,T,H), WT = W.T (3H,H)
    -> dAx (N,T,3H), dAh (N,T,3H), dh0 (N,H)"""
    return _gru_backward_blocks(dHs, Hs, h0, Gs, Q, WT, mask, reset_after, n_blocks(dHs.shape[0]))