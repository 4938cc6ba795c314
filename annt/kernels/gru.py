"""Numba kernels of the GRU, both conventions (same arguments and results as
:func:`annt.kernels.reference.gru_forward` / ``gru_backward``).
Gate order z, r, n; h_t = (1 - z) h_{t-1} + z n.

How they are fast (see ``_parallel`` for the split over threads): each thread
takes a block of sequences and walks through time once. At every step the
recurrent products of the whole block are ONE matrix product (BLAS, through
``gemm_`` into a scratch buffer: no allocation inside the time loop), and the
element-wise gate math of the step is one fused loop. The input projections
of all steps were computed before, in one big product (``xw``).
"""
import numpy as np
from numba import njit

from ._math import copy_, flush_, sigmoid_, tanh_
from ._blas import gemm_
from ._parallel import run_blocks

_serial = dict(cache=True, error_model="numpy", nogil=True)   # nogil: blocks run on threads


def _forward_rows(reset_after, keep):
    """The forward kernel of one convention (``reset_after``), for training
    (``keep``: the gates and q of every step are stored for the backward pass)
    or for inference (they live in scratch rows of the block, nothing else is
    stored; same operations in the same order, so the same Hs bit for bit).

    Numba takes the two flags, variables of this enclosing function, as
    compile-time constants and drops the branches they rule out: each of the
    four kernels compiles only its own code, and a model compiles only the
    variants it uses (a first run's compile time)."""

    @njit(**_serial)
    def _gru_forward_rows(xw, W_zr, W_n, b_hn, h0, mask, Hs, Gs, Q, b0, b1):
        # The loops over j are short and touch few arrays each (row views), so
        # that LLVM vectorises them; see lstm._gates_.
        T, G = xw.shape[1], xw.shape[2]
        H = G // 3
        nb = b1 - b0
        h = h0[b0:b1].copy()                       # (nb, H): the block's states
        zr = np.empty((nb, 2 * H), xw.dtype)       # h_{t-1} W_zr
        q = np.empty((nb, H), xw.dtype)            # r * h_{t-1}, or h_{t-1} W_n + b_hn
        qw = np.empty((nb, H), xw.dtype)           # q W_n (reset before)
        gates = np.empty((0 if keep else nb, G), xw.dtype)   # inference: this step's gates
        for t in range(T):
            gemm_(h, W_zr, zr, 0.0)
            if reset_after:
                gemm_(h, W_n, q, 0.0)
            for i in range(nb):
                b = b0 + i
                if mask[b, t] == 0:
                    if keep:
                        Gs[b, t] = 0                # (Gs and Q are not zeroed beforehand)
                        Q[b, t] = 0
                    continue
                a = Gs[b, t] if keep else gates[i]
                x, zri, qi, hi = xw[b, t], zr[i], q[i], h[i]
                for j in range(2 * H):
                    a[j] = sigmoid_(x[j] + zri[j])
                if reset_after:
                    for j in range(H):
                        qi[j] += b_hn[j]
                else:
                    for j in range(H):
                        qi[j] = a[H + j] * hi[j]
            if not reset_after:
                gemm_(q, W_n, qw, 0.0)
            for i in range(nb):
                b = b0 + i
                if mask[b, t] != 0:
                    a = Gs[b, t] if keep else gates[i]
                    x, qi, hi = xw[b, t], q[i], h[i]
                    if reset_after:
                        for j in range(H):
                            a[2 * H + j] = tanh_(x[2 * H + j] + a[H + j] * qi[j])
                    else:
                        qwi = qw[i]
                        for j in range(H):
                            a[2 * H + j] = tanh_(x[2 * H + j] + qwi[j])
                    if keep:
                        copy_(Q[b, t], qi)
                    for j in range(H):
                        # flush_: a state that fades would cross the subnormal numbers
                        hi[j] = flush_(hi[j] + a[j] * (a[2 * H + j] - hi[j]))
                copy_(Hs[b, t], h[i])

    return _gru_forward_rows


# One compiled kernel per (reset_after, keep); the names are those the
# corrupt-cache guard of annt.kernels looks for (module-level dispatchers).
_gru_forward_rows_before = _forward_rows(reset_after=False, keep=True)
_gru_forward_rows_after = _forward_rows(reset_after=True, keep=True)
_gru_infer_rows_before = _forward_rows(reset_after=False, keep=False)
_gru_infer_rows_after = _forward_rows(reset_after=True, keep=False)


def gru_forward(xw, W, b_hn, h0, mask, reset_after, out=None):
    """xw (N,T,3H), W (H,3H), b_hn (H,), h0 (N,H), mask (N,T)
    -> Hs (N,T,H), Gs (N,T,3H) = [z, r, n], Q (N,T,H)
    (written into ``out`` = (Hs, Gs, Q), C arrays of these shapes, when given)"""
    N, T, G = xw.shape
    H = G // 3
    W_zr = np.ascontiguousarray(W[:, :2 * H])
    W_n = np.ascontiguousarray(W[:, 2 * H:])
    if out is None:
        out = tuple(np.empty(shape, xw.dtype) for shape in ((N, T, H), (N, T, G), (N, T, H)))
    Hs, Gs, Q = out
    rows = _gru_forward_rows_after if reset_after else _gru_forward_rows_before
    run_blocks(rows, N, xw, W_zr, W_n, b_hn, h0, mask, Hs, Gs, Q)
    return Hs, Gs, Q


def gru_forward_infer(xw, W, b_hn, h0, mask, reset_after):
    """Inference only: the Hs (N,T,H) of :func:`gru_forward`, without the gates
    and q it keeps for the backward pass."""
    N, T, G = xw.shape
    H = G // 3
    W_zr = np.ascontiguousarray(W[:, :2 * H])
    W_n = np.ascontiguousarray(W[:, 2 * H:])
    Hs = np.empty((N, T, H), xw.dtype)
    unused = np.empty((0, 0, 0), xw.dtype)      # Gs and Q: not stored in inference
    rows = _gru_infer_rows_after if reset_after else _gru_infer_rows_before
    run_blocks(rows, N, xw, W_zr, W_n, b_hn, h0, mask, Hs, unused, unused)
    return Hs


def _backward_rows(reset_after):
    """The backward kernel of one convention (a compile-time constant, as in
    :func:`_forward_rows`)."""

    @njit(**_serial)
    def _gru_backward_rows(dHs, Hs, h0, Gs, Q, WT, mask, dAx, dAh, dh0, b0, b1):
        # Short loops over few arrays (row views), vectorised; see lstm._gates_.
        # flush_: no subnormal numbers in a fading gradient (see _math).
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
                dhi, dzr, dni, dhp = dh[i], da_zr[i], da_n[i], dh_prev[i]
                dy = dHs[b, t]
                for j in range(H):
                    dhi[j] += dy[j]
                if mask[b, t] == 0:                 # padding: nothing flows into this step
                    for j in range(2 * H):
                        dzr[j] = 0
                    for j in range(H):
                        dni[j] = 0
                    dAx[b, t] = 0                   # (the outputs are not zeroed beforehand)
                    dAh[b, t] = 0
                    continue
                g, dax = Gs[b, t], dAx[b, t]
                h_prev = Hs[b, t - 1] if t > 0 else h0[b]
                for j in range(H):                  # z
                    z = g[j]
                    dzr[j] = flush_(dhi[j] * (g[2 * H + j] - h_prev[j]) * z * (one - z))
                for j in range(H):                  # n's pre-activation
                    n = g[2 * H + j]
                    dax[2 * H + j] = flush_(dhi[j] * g[j] * (one - n * n))
                for j in range(H):                  # through (1 - z) h_{t-1}
                    dhp[j] = dhi[j] * (one - g[j])
                for j in range(H):
                    dax[j] = dzr[j]
                if reset_after:                     # n = tanh(.. + r q): dr = dn q, dq = dn r
                    q = Q[b, t]
                    for j in range(H):
                        r = g[H + j]
                        dzr[H + j] = flush_(dax[2 * H + j] * q[j] * r * (one - r))
                    for j in range(H):
                        dni[j] = flush_(dax[2 * H + j] * g[H + j])
                    for j in range(H):
                        dax[H + j] = dzr[H + j]
                else:
                    for j in range(H):
                        dni[j] = dax[2 * H + j]
            if reset_after:
                gemm_(da_n, WT_n, back, 0.0)            # q = h W_n + b_hn  ->  dh += dq W_n^T
            else:
                gemm_(da_n, WT_n, dq, 0.0)              # n's product is q W_n  ->  dq = dn W_n^T
                for i in range(nb):
                    b = b0 + i
                    if mask[b, t] == 0:
                        continue
                    g, dax, dqi, dzr, dhp = Gs[b, t], dAx[b, t], dq[i], da_zr[i], dh_prev[i]
                    h_prev = Hs[b, t - 1] if t > 0 else h0[b]
                    for j in range(H):              # q = r * h_prev
                        r = g[H + j]
                        dzr[H + j] = flush_(dqi[j] * h_prev[j] * r * (one - r))
                    for j in range(H):
                        dax[H + j] = dzr[H + j]
                    for j in range(H):
                        dhp[j] += dqi[j] * g[H + j]
            for i in range(nb):
                b = b0 + i
                if mask[b, t] == 0:
                    continue
                dah, dzr, dni = dAh[b, t], da_zr[i], da_n[i]
                for j in range(2 * H):
                    dah[j] = dzr[j]
                for j in range(H):
                    dah[2 * H + j] = dni[j]
                if reset_after:
                    dhp, bi = dh_prev[i], back[i]
                    for j in range(H):
                        dhp[j] += bi[j]
            gemm_(da_zr, WT_zr, back, 0.0)              # through the gates' products h W_zr
            for i in range(nb):
                if mask[b0 + i, t] != 0:
                    dhi, dhp, bi = dh[i], dh_prev[i], back[i]
                    for j in range(H):
                        dhi[j] = flush_(dhp[j] + bi[j])
        for i in range(nb):
            copy_(dh0[b0 + i], dh[i])

    return _gru_backward_rows


_gru_backward_rows_before = _backward_rows(reset_after=False)
_gru_backward_rows_after = _backward_rows(reset_after=True)


def gru_backward(dHs, Hs, h0, Gs, Q, WT, mask, reset_after, out=None):
    """dHs, Hs (N,T,H), h0 (N,H), Gs (N,T,3H), Q (N,T,H), WT = W.T (3H,H)
    -> dAx (N,T,3H), dAh (N,T,3H), dh0 (N,H)
    (dAx and dAh written into ``out`` = (dAx, dAh), C arrays, when given)"""
    N, T, H = dHs.shape
    if out is None:                         # every entry is written by the kernel
        out = (np.empty_like(Gs), np.empty_like(Gs))
    dAx, dAh = out
    dh0 = np.empty((N, H), Gs.dtype)
    rows = _gru_backward_rows_after if reset_after else _gru_backward_rows_before
    run_blocks(rows, N, dHs, Hs, h0, Gs, Q, WT, mask, dAx, dAh, dh0)
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
    a = np.empty((x.shape[0], U.shape[1]), x.dtype)
    gemm_(x, U, a, 0.0)                          # (N, 3H) input projections
    hw = np.empty((h.shape[0], W.shape[1]), h.dtype)
    gemm_(h, W, hw, 0.0)                         # (N, 3H); reset_before uses its z, r part only
    zr = np.empty((x.shape[0], 2 * H), x.dtype)
    for k in range(x.shape[0]):
        for j in range(2 * H):
            zr[k, j] = sigmoid_((a[k, j] + b[j]) + hw[k, j])
    if reset_after:                           # n = tanh(x U_n + b_n + r * (h W_n + b_hn))
        for k in range(x.shape[0]):
            for j in range(H):
                q = hw[k, 2 * H + j] + b_hn[j]
                n = tanh_((a[k, 2 * H + j] + b[2 * H + j]) + zr[k, H + j] * q)
                h[k, j] = flush_(h[k, j] + zr[k, j] * (n - h[k, j]))
    else:                                     # n = tanh(x U_n + b_n + (r * h) W_n)
        q = np.empty_like(h)
        for k in range(x.shape[0]):
            for j in range(H):
                q[k, j] = zr[k, H + j] * h[k, j]
        qw = np.empty((q.shape[0], W.shape[1]), q.dtype)
        gemm_(q, W, qw, 0.0)                  # (N, 3H); only its n part, q W_n, is used
        for k in range(x.shape[0]):
            for j in range(H):
                n = tanh_((a[k, 2 * H + j] + b[2 * H + j]) + qw[k, 2 * H + j])
                h[k, j] = flush_(h[k, j] + zr[k, j] * (n - h[k, j]))
