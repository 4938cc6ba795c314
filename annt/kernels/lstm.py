"""Numba kernels of the LSTM (same arguments and results as
:func:`annt.kernels.reference.lstm_forward` / ``lstm_backward``).
Gate order i, f, g, o. Each thread walks a block of sequences through time: one
matrix product per step for the whole block, the gate math fused (see ``gru``)."""
import numpy as np
from numba import njit

from ._math import carry_back_, copy_, flush_, sigmoid_, tanh_
from ._blas import gemm_
from ._parallel import block_bounds, run_blocks

_serial = dict(cache=True, error_model="numpy", nogil=True)   # nogil: blocks run on threads


@njit(inline="always")
def _gates_(x, z, a):
    """a = [sigma, sigma, tanh, sigma](x + z) for the gates i, f, g, o (rows of 4H).

    Gate by gate: short loops over few arrays, which LLVM vectorises. One loop
    over the four gates and the state together touches so many arrays that
    LLVM gives up proving they do not overlap and runs it scalar: four to five
    times slower (measured)."""
    H = a.shape[0] // 4
    for j in range(2 * H):
        a[j] = sigmoid_(x[j] + z[j])
    for j in range(2 * H, 3 * H):
        a[j] = tanh_(x[j] + z[j])
    for j in range(3 * H, 4 * H):
        a[j] = sigmoid_(x[j] + z[j])


@njit(inline="always")
def _cell_(a, c, h):
    """c = f c + i g, h = o tanh(c), in place (rows of H).
    flush_: a cell state that fades (f < 1, nothing added) would otherwise
    cross the subnormal numbers, a hundred times slower (see _math)."""
    H = c.shape[0]
    for j in range(H):
        cj = flush_(a[H + j] * c[j] + a[j] * a[2 * H + j])
        c[j] = cj
        h[j] = flush_(a[3 * H + j] * tanh_(cj))


@njit(**_serial)
def _lstm_forward_rows(xw, W, h0, c0, mask, Hs, Cs, Gs, b0, b1):
    G = xw.shape[2]
    nb = b1 - b0
    h = h0[b0:b1].copy()                  # (nb, H): the block's states
    c = c0[b0:b1].copy()
    hw = np.empty((nb, G), xw.dtype)      # h_{t-1} W for the whole block
    for t in range(xw.shape[1]):
        gemm_(h, W, hw, 0.0)                  # one matrix product per step
        for k in range(nb):
            b = b0 + k
            if mask[b, t] != 0:
                _gates_(xw[b, t], hw[k], Gs[b, t])
                _cell_(Gs[b, t], c[k], h[k])
            else:
                Gs[b, t] = 0              # (Gs is not zeroed beforehand)
            copy_(Hs[b, t], h[k])
            copy_(Cs[b, t], c[k])


def lstm_forward(xw, W, h0, c0, mask, out=None):
    """xw (N,T,4H), W (H,4H), h0, c0 (N,H), mask (N,T) -> Hs, Cs (N,T,H), Gs (N,T,4H)
    (written into ``out`` = (Hs, Cs, Gs), C arrays of these shapes, when given)"""
    N, T, G = xw.shape
    H = G // 4
    if out is None:
        out = tuple(np.empty(shape, xw.dtype) for shape in ((N, T, H), (N, T, H), (N, T, G)))
    Hs, Cs, Gs = out
    run_blocks(_lstm_forward_rows, N, xw, W, h0, c0, mask, Hs, Cs, Gs)
    return Hs, Cs, Gs


@njit(**_serial)
def _lstm_infer_rows(x, UW, b, h0, c0, mask, Hs, c_last, b0, b1):
    # One matrix product per step, [x_t, h_{t-1}] [U; W], for the whole block:
    # the input projection is made here, step by step, instead of once for all
    # steps before the loop. The (N, T, 4H) array of projections is never
    # written nor read back, and the product has K = D + H rows instead of a
    # product with K = D and another with K = H. The gates live in a scratch
    # buffer of the block, the cell states are not stored.
    T, D = x.shape[1], x.shape[2]
    G = UW.shape[1]
    H = G // 4
    nb = b1 - b0
    xh = np.empty((nb, D + H), x.dtype)   # [x_t, h_{t-1}] of the block
    for k in range(nb):
        copy_(xh[k, D:], h0[b0 + k])
    c = c0[b0:b1].copy()
    z = np.empty((nb, G), x.dtype)        # x_t U + h_{t-1} W
    a = np.empty(G, x.dtype)              # one sequence's gates at this step
    for t in range(T):
        for k in range(nb):
            copy_(xh[k, :D], x[b0 + k, t])
        gemm_(xh, UW, z, 0.0)
        for k in range(nb):
            bk = b0 + k
            h = xh[k, D:]                 # h_{t-1}, overwritten with h_t
            if mask[bk, t] != 0:
                _gates_(b, z[k], a)
                _cell_(a, c[k], h)
            copy_(Hs[bk, t], h)
    for k in range(nb):
        copy_(c_last[b0 + k], c[k])


@njit(**_serial)
def _lstm_infer_columns(x, UWT, b, h0, c0, mask, Hs, c_last, b0, b1):
    # The same steps as _lstm_infer_rows, laid out along the batch: one column
    # per sequence. The product is z^T = [U; W]^T [x_t, h_{t-1}]^T, (4H, D + H)
    # by (D + H, nb): OpenBLAS runs this shape faster than its transpose (85-93
    # against 78-79 GFLOP/s for 512 x 192 by 192 x 32 on one core here). Each
    # entry is the same dot product, summed in OpenBLAS's order for the shape:
    # the numbers agree to rounding (here, bit for bit from 16 columns). The gate
    # math then runs along rows of nb sequences of one unit, in one loop: a
    # unit's four gates, its cell and its output, for all the block's
    # sequences. Each step transposes its inputs in and its outputs out.
    T, D = x.shape[1], x.shape[2]
    G = UWT.shape[0]
    H = G // 4
    nb = b1 - b0
    xh = np.empty((D + H, nb), x.dtype)   # [x_t, h_{t-1}]^T of the block
    c = np.empty((H, nb), x.dtype)        # c_{t-1}^T
    for k in range(nb):
        for j in range(H):
            xh[D + j, k] = h0[b0 + k, j]
            c[j, k] = c0[b0 + k, j]
    z = np.empty((G, nb), x.dtype)        # (x_t U + h_{t-1} W)^T
    real = np.empty(nb, np.bool_)         # which sequences have a step t
    for t in range(T):
        for k in range(nb):
            x_k = x[b0 + k, t]
            for d in range(D):
                xh[d, k] = x_k[d]
        gemm_(UWT, xh, z, 0.0)
        every = True
        for k in range(nb):
            real[k] = mask[b0 + k, t] != 0
            every = every and real[k]
        for j in range(H):
            z_i, z_f, z_g, z_o = z[j], z[H + j], z[2 * H + j], z[3 * H + j]
            b_i, b_f, b_g, b_o = b[j], b[H + j], b[2 * H + j], b[3 * H + j]
            c_j, h_j = c[j], xh[D + j]    # unit j's state, overwritten with step t's
            # (the expressions of _gates_ and _cell_, so the numbers are theirs;
            # written out in both loops: called through an inlined helper, the
            # loop was not vectorised and the kernel took twice as long)
            if every:                     # no branch in the loop: it vectorises
                for k in range(nb):
                    c_new = flush_(sigmoid_(b_f + z_f[k]) * c_j[k]
                                   + sigmoid_(b_i + z_i[k]) * tanh_(b_g + z_g[k]))
                    c_j[k] = c_new
                    h_j[k] = flush_(sigmoid_(b_o + z_o[k]) * tanh_(c_new))
            else:                         # a padded step keeps the state as it is
                for k in range(nb):
                    if real[k]:
                        c_new = flush_(sigmoid_(b_f + z_f[k]) * c_j[k]
                                       + sigmoid_(b_i + z_i[k]) * tanh_(b_g + z_g[k]))
                        c_j[k] = c_new
                        h_j[k] = flush_(sigmoid_(b_o + z_o[k]) * tanh_(c_new))
        for k in range(nb):
            h_out = Hs[b0 + k, t]
            for j in range(H):
                h_out[j] = xh[D + j, k]
    for k in range(nb):
        for j in range(H):
            c_last[b0 + k, j] = c[j, k]


# Blocks of a multiple of this many sequences run along the batch
# (_lstm_infer_columns), others along the units (_lstm_infer_rows). A row of 16
# float32 fills a 512-bit register; with a remainder the gate loop pays for it.
# One thread, T = 100, D = 64, H = 128, columns against rows: 16 sequences 4.6
# against 5.6 ms, 32: 8.3 against 9.4, 48: 12.0 against 12.5, 64: 15.7 against
# 16.9; but 8: 2.7 against 1.8, 24: 7.7 against 6.9 and 40: 11.6 against 10.9.
COLUMN_MULTIPLE = 16


def infers_in_columns(N):
    """Whether ``lstm_forward_infer`` runs a batch of N with one column per
    sequence: every block ``run_blocks`` cuts it into is a multiple of
    ``COLUMN_MULTIPLE``."""
    return all((b1 - b0) % COLUMN_MULTIPLE == 0 for b0, b1 in block_bounds(N))


def lstm_forward_infer(x, U, W, b, h0, c0, mask):
    """Inference only: x (N,T,D), U (D,4H), W (H,4H), b (4H,), h0, c0 (N,H), mask (N,T)
    -> Hs (N,T,H), c_T (N,H): the Hs of :func:`lstm_forward` for xw = x U + b,
    without the gates and cell states it keeps for the backward pass, and with
    the input projection made inside the time loop (one product per step for
    x_t U + h_{t-1} W). The numbers agree with the training path's to rounding
    (the sums of the products are made in another order), not bit for bit.
    Blocks whose size is a multiple of ``COLUMN_MULTIPLE`` run with one column
    per sequence, the others with one row per sequence (the same numbers to
    rounding)."""
    N, T, _ = x.shape
    H = W.shape[0]
    Hs = np.empty((N, T, H), x.dtype)
    c_last = np.empty((N, H), x.dtype)
    if infers_in_columns(N):
        D = U.shape[0]
        UWT = np.empty((W.shape[1], D + H), x.dtype)    # [U; W]^T in C order: a
        UWT[:, :D] = U.T                                # concatenation of U.T and
        UWT[:, D:] = W.T                                # W.T would be in F order
        run_blocks(_lstm_infer_columns, N, x, UWT, b, h0, c0, mask, Hs, c_last)
    else:
        UW = np.concatenate((U, W), axis=0)
        run_blocks(_lstm_infer_rows, N, x, UW, b, h0, c0, mask, Hs, c_last)
    return Hs, c_last


@njit(inline="always")
def _gates_backward_(a, c, c_prev, dh, dc, da, tc, dcs):
    """One step of one sequence backward: from dh = dL/dh_t and dc = dL/dc_t
    (carried from step t+1) the gradients of the pre-activations da (4H), and
    dc becomes dL/dc_{t-1} through the forget gate. tc, dcs: scratch (H).
    Short loops over few arrays, as in ``_gates_``; flush_: no subnormal
    numbers in a fading gradient (see _math)."""
    H = c.shape[0]
    one = a.dtype.type(1)
    for j in range(H):
        t = tanh_(c[j])
        tc[j] = t
        dcs[j] = dc[j] + dh[j] * a[3 * H + j] * (one - t * t)     # dL/dc_t, all of it
    for j in range(H):                                            # i
        i = a[j]
        da[j] = flush_(dcs[j] * a[2 * H + j] * i * (one - i))
    for j in range(H):                                            # f
        f = a[H + j]
        da[H + j] = flush_(dcs[j] * c_prev[j] * f * (one - f))
    for j in range(H):                                            # g
        g = a[2 * H + j]
        da[2 * H + j] = flush_(dcs[j] * a[j] * (one - g * g))
    for j in range(H):                                            # o
        o = a[3 * H + j]
        da[3 * H + j] = flush_(dh[j] * tc[j] * o * (one - o))
    for j in range(H):
        dc[j] = flush_(dcs[j] * a[H + j])


@njit(**_serial)
def _lstm_backward_rows(dHs, dcT, Cs, Gs, c0, WT, mask, dA, dh0, dc0, b0, b1):
    T, G = Gs.shape[1], Gs.shape[2]
    H = G // 4
    nb = b1 - b0
    dh = np.zeros((nb, H), Gs.dtype)      # dL/dh_t carried back through W
    dc = dcT[b0:b1].copy()                # dL/dc_t carried back through f
    da = np.zeros((nb, G), Gs.dtype)      # the step's pre-activation gradients
    back = np.empty((nb, H), Gs.dtype)
    tc = np.empty(H, Gs.dtype)
    dcs = np.empty(H, Gs.dtype)
    for t in range(T - 1, -1, -1):
        for k in range(nb):
            b = b0 + k
            dhk = dh[k]
            dy = dHs[b, t]
            for j in range(H):
                dhk[j] += dy[j]
            dak = da[k]
            if mask[b, t] == 0:           # padding: nothing flows into this step
                for j in range(G):
                    dak[j] = 0
                dA[b, t] = 0              # (dA is not zeroed beforehand)
                continue
            c_prev = Cs[b, t - 1] if t > 0 else c0[b]
            _gates_backward_(Gs[b, t], Cs[b, t], c_prev, dhk, dc[k], dak, tc, dcs)
            out = dA[b, t]
            for j in range(G):
                out[j] = dak[j]
        gemm_(da, WT, back, 0.0)              # dh_{t-1} = da W^T, the whole block at once
        carry_back_(dh, back, mask, b0, t)
    for k in range(nb):
        copy_(dh0[b0 + k], dh[k])
        copy_(dc0[b0 + k], dc[k])


def lstm_backward(dHs, dcT, Cs, Gs, c0, WT, mask, out=None):
    """dHs (N,T,H), dcT (N,H), Cs (N,T,H), Gs (N,T,4H), c0 (N,H), WT = W.T (4H,H)
    -> dA (N,T,4H), dh0, dc0 (N,H) (dA written into ``out``, a C array, when given)"""
    N, T, H = dHs.shape
    dA = np.empty_like(Gs) if out is None else out   # every entry is written by the kernel
    dh0 = np.empty((N, H), Gs.dtype)
    dc0 = np.empty((N, H), Gs.dtype)
    run_blocks(_lstm_backward_rows, N,
               dHs, dcT, Cs, Gs, c0, WT, mask, dA, dh0, dc0)
    return dA, dh0, dc0


@njit(**_serial)
def lstm_step(x, U, W, b, h, c):
    """One time step for every sequence, the state (h, c) updated in place
    (step-by-step inference). Gates i, f, g, o as in ``lstm_forward``.

    x (N, D), U (D, 4H), W (H, 4H), b (4H,), h, c (N, H): h_{t-1}, c_{t-1} in, h_t, c_t out."""
    a = np.empty((x.shape[0], U.shape[1]), x.dtype)
    gemm_(x, U, a, 0.0)                          # (N, 4H) input projections
    hw = np.empty((h.shape[0], W.shape[1]), h.dtype)
    gemm_(h, W, hw, 0.0)                         # (N, 4H), taken before h is overwritten
    gates = np.empty(a.shape[1], a.dtype)
    for k in range(x.shape[0]):
        ak = a[k]
        for j in range(ak.shape[0]):
            ak[j] += b[j]
        _gates_(ak, hw[k], gates)
        _cell_(gates, c[k], h[k])
