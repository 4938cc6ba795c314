"""Numba kernels of the GRU, both conventions (same arguments and results as
:func:`annt.kernels.reference.gru_forward` / ``gru_backward``).
Gate order z, r, n; h_t = (1 - z) h_{t-1} + z n.

How they are fast (see ``_parallel`` for the split over threads): each thread
takes a block of sequences and walks through time once. At every step the
recurrent products of the whole block are ONE matrix product (BLAS, through
``np.dot`` into a scratch buffer: no allocation inside the time loop), and the
element-wise gate math of the step is one fused loop. The input projections
of all steps were computed before, in one big product (``xw``).
"""
import numpy as np
from numba import njit, prange

from ._math import flush_, sigmoid_, tanh_
from ._parallel import run_blocks

_serial = dict(cache=True, error_model="numpy")
_parallel = dict(cache=True, parallel=True)


@njit(**_serial)
def _gru_forward_rows(xw, W_zr, W_n, b_hn, h0, mask, reset_after, Hs, Gs, Q, b0, b1):
    T, G = xw.shape[1], xw.shape[2]
    H = G // 3
    nb = b1 - b0
    h = h0[b0:b1].copy()                       # (nb, H): the block's states
    zr = np.empty((nb, 2 * H), xw.dtype)       # h_{t-1} W_zr
    q = np.empty((nb, H), xw.dtype)            # r * h_{t-1}, or h_{t-1} W_n + b_hn
    qw = np.empty((nb, H), xw.dtype)           # q W_n (reset before)
    for t in range(T):
        np.dot(h, W_zr, zr)
        if reset_after:
            np.dot(h, W_n, q)
        for i in range(nb):
            b = b0 + i
            if mask[b, t] == 0:
                continue
            a = Gs[b, t]
            x = xw[b, t]
            for j in range(2 * H):
                a[j] = sigmoid_(x[j] + zr[i, j])
            if reset_after:
                for j in range(H):
                    q[i, j] += b_hn[j]
            else:
                for j in range(H):
                    q[i, j] = a[H + j] * h[i, j]
        if not reset_after:
            np.dot(q, W_n, qw)
        for i in range(nb):
            b = b0 + i
            if mask[b, t] != 0:
                a = Gs[b, t]
                x = xw[b, t]
                for j in range(H):
                    if reset_after:
                        n = tanh_(x[2 * H + j] + a[H + j] * q[i, j])
                    else:
                        n = tanh_(x[2 * H + j] + qw[i, j])
                    a[2 * H + j] = n
                    Q[b, t, j] = q[i, j]
                    h[i, j] += a[j] * (n - h[i, j])
            Hs[b, t] = h[i]


@njit(**_parallel)
def _gru_forward_blocks(xw, W_zr, W_n, b_hn, h0, mask, reset_after, Hs, Gs, Q, n):
    """_gru_forward_rows on n blocks of sequences, one per thread."""
    N = xw.shape[0]
    for k in prange(n):
        _gru_forward_rows(xw, W_zr, W_n, b_hn, h0, mask, reset_after, Hs, Gs, Q,
                          k * N // n, (k + 1) * N // n)


def gru_forward(xw, W, b_hn, h0, mask, reset_after):
    """xw (N,T,3H), W (H,3H), b_hn (H,), h0 (N,H), mask (N,T)
    -> Hs (N,T,H), Gs (N,T,3H) = [z, r, n], Q (N,T,H)"""
    N, T, G = xw.shape
    H = G // 3
    W_zr = np.ascontiguousarray(W[:, :2 * H])
    W_n = np.ascontiguousarray(W[:, 2 * H:])
    Hs = np.empty((N, T, H), xw.dtype)
    Gs = np.zeros((N, T, G), xw.dtype)
    Q = np.zeros((N, T, H), xw.dtype)
    run_blocks(_gru_forward_rows, _gru_forward_blocks, N,
               xw, W_zr, W_n, b_hn, h0, mask, bool(reset_after), Hs, Gs, Q)
    return Hs, Gs, Q


@njit(**_serial)
def _gru_backward_rows(dHs, Hs, h0, Gs, Q, WT, mask, reset_after, dAx, dAh, dh0, b0, b1):
    T, G = Gs.shape[1], Gs.shape[2]
    H = G // 3
    nb = b1 - b0
    one = Gs.dtype.type(1)
    dh = np.zeros((nb, H), Gs.dtype)           # dL/dh_t, carried back in time
    dh_prev = np.empty((nb, H), Gs.dtype)
    da_zr = np.zeros((nb, 2 * H), Gs.dtype)    # gradients of the z, r pre-activations
    da_n = np.zeros((nb, H), Gs.dtype)         # of n's pre-activation (reset before) or of q (after)
    dq = np.empty((nb, H), Gs.dtype)
    back = np.empty((nb, H), Gs.dtype)
    WT_zr = WT[:2 * H]                          # (2H, H), contiguous rows of W.T
    WT_n = WT[2 * H:]
    for t in range(T - 1, -1, -1):
        for i in range(nb):
            b = b0 + i
            for j in range(H):
                dh[i, j] += dHs[b, t, j]
            if mask[b, t] == 0:                 # padding: nothing flows into this step
                for j in range(2 * H):
                    da_zr[i, j] = 0
                for j in range(H):
                    da_n[i, j] = 0
                continue
            g = Gs[b, t]
            q = Q[b, t]
            h_prev = Hs[b, t - 1] if t > 0 else h0[b]
            dax = dAx[b, t]
            for j in range(H):
                z, r, n = g[j], g[H + j], g[2 * H + j]
                # flush_: no subnormal numbers in a fading gradient (see _math)
                dz = flush_(dh[i, j] * (n - h_prev[j]) * z * (one - z))
                dn = flush_(dh[i, j] * z * (one - n * n))
                dax[j] = dz
                dax[2 * H + j] = dn
                da_zr[i, j] = dz
                dh_prev[i, j] = dh[i, j] * (one - z)
                if reset_after:                 # dr = dn * q, dq = dn * r
                    dr = flush_(dn * q[j] * r * (one - r))
                    dax[H + j] = dr
                    da_zr[i, H + j] = dr
                    da_n[i, j] = flush_(dn * r)
                else:
                    da_n[i, j] = dn
        if reset_after:
            np.dot(da_n, WT_n, back)            # q = h W_n + b_hn  ->  dh += dq W_n^T
        else:
            np.dot(da_n, WT_n, dq)              # n's product is q W_n  ->  dq = dn W_n^T
            for i in range(nb):
                b = b0 + i
                if mask[b, t] == 0:
                    continue
                g = Gs[b, t]
                h_prev = Hs[b, t - 1] if t > 0 else h0[b]
                dax = dAx[b, t]
                for j in range(H):
                    r = g[H + j]                # q = r * h_prev
                    dr = flush_(dq[i, j] * h_prev[j] * r * (one - r))
                    dax[H + j] = dr
                    da_zr[i, H + j] = dr
                    dh_prev[i, j] += dq[i, j] * r
        for i in range(nb):
            b = b0 + i
            if mask[b, t] == 0:
                continue
            dah = dAh[b, t]
            for j in range(2 * H):
                dah[j] = da_zr[i, j]
            for j in range(H):
                dah[2 * H + j] = da_n[i, j]
                if reset_after:
                    dh_prev[i, j] += back[i, j]
        np.dot(da_zr, WT_zr, back)              # through the gates' products h W_zr
        for i in range(nb):
            if mask[b0 + i, t] != 0:
                for j in range(H):
                    dh[i, j] = flush_(dh_prev[i, j] + back[i, j])
    for i in range(nb):
        dh0[b0 + i] = dh[i]


@njit(**_parallel)
def _gru_backward_blocks(dHs, Hs, h0, Gs, Q, WT, mask, reset_after, dAx, dAh, dh0, n):
    """_gru_backward_rows on n blocks of sequences, one per thread."""
    N = dHs.shape[0]
    for k in prange(n):
        _gru_backward_rows(dHs, Hs, h0, Gs, Q, WT, mask, reset_after, dAx, dAh, dh0,
                           k * N // n, (k + 1) * N // n)


def gru_backward(dHs, Hs, h0, Gs, Q, WT, mask, reset_after):
    """dHs, Hs (N,T,H), h0 (N,H), Gs (N,T,3H), Q (N,T,H), WT = W.T (3H,H)
    -> dAx (N,T,3H), dAh (N,T,3H), dh0 (N,H)"""
    N, T, H = dHs.shape
    dAx = np.zeros_like(Gs)
    dAh = np.zeros_like(Gs)
    dh0 = np.empty((N, H), Gs.dtype)
    run_blocks(_gru_backward_rows, _gru_backward_blocks, N,
               dHs, Hs, h0, Gs, Q, WT, mask, bool(reset_after), dAx, dAh, dh0)
    return dAx, dAh, dh0


@njit(**_serial)
def gru_step(x, U, W, b, b_hn, h, reset_after):
    """One time step for every sequence, the state updated in place (step-by-step
    inference), in either convention (see ``gru_forward``).

    x (N, D), U (D, 3H), W (H, 3H), b (3H,), b_hn (H,) (used only with
    reset_after), h (N, H): h_{t-1} in, h_t out.

    The products are whole-matrix BLAS calls: W's z, r columns are not
    contiguous, and multiplying by all of W (ignoring the columns not needed)
    is cheaper than copying them out at every step."""
    H = h.shape[1]
    a = np.dot(x, U)                          # (N, 3H) input projections
    hw = np.dot(h, W)                         # (N, 3H); reset_before uses its z, r part only
    zr = np.empty((x.shape[0], 2 * H), x.dtype)
    for k in range(x.shape[0]):
        for j in range(2 * H):
            zr[k, j] = sigmoid_((a[k, j] + b[j]) + hw[k, j])
    if reset_after:                           # n = tanh(x U_n + b_n + r * (h W_n + b_hn))
        for k in range(x.shape[0]):
            for j in range(H):
                q = hw[k, 2 * H + j] + b_hn[j]
                n = tanh_((a[k, 2 * H + j] + b[2 * H + j]) + zr[k, H + j] * q)
                h[k, j] += zr[k, j] * (n - h[k, j])
    else:                                     # n = tanh(x U_n + b_n + (r * h) W_n)
        q = np.empty_like(h)
        for k in range(x.shape[0]):
            for j in range(H):
                q[k, j] = zr[k, H + j] * h[k, j]
        qw = np.dot(q, W)                     # (N, 3H); only its n part, q W_n, is used
        for k in range(x.shape[0]):
            for j in range(H):
                n = tanh_((a[k, 2 * H + j] + b[2 * H + j]) + qw[k, 2 * H + j])
                h[k, j] += zr[k, j] * (n - h[k, j])
