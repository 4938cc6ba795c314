"""Numba kernels of the Jordan network (same arguments and results as
:func:`annt.kernels.reference.jordan_forward` / ``jordan_backward``)."""
import numpy as np
from numba import njit

from ._math import (activate_, activation_loops, add_to_, add_vec_mat_, add_vec_matT_, copy_,
                    flush_vec_)
from ._blas import gemm_
from ._cache import KernelVariants
from ._parallel import run_blocks

_serial = dict(cache=True, error_model="numpy", nogil=True)   # nogil: blocks run on threads


def _forward_rows(act, out_act):
    """The forward kernel for one pair of activation codes, compile-time
    constants (see ``_cache.KernelVariants``)."""
    activate, _ = activation_loops(act)
    activate_out, _ = activation_loops(out_act)

    @njit(**_serial)
    def _jordan_forward_rows(xw, W, V, c, y0, mask, Hs, Ys, b0, b1):
        T, H = xw.shape[1], xw.shape[2]
        O = V.shape[1]
        a = np.empty(H, xw.dtype)
        ay = np.empty(O, xw.dtype)
        for b in range(b0, b1):
            y = y0[b].copy()
            for t in range(T):
                if mask[b, t] != 0:
                    copy_(a, xw[b, t])
                    add_vec_mat_(a, y, W, 0)
                    h = Hs[b, t]
                    activate(a, h)
                    copy_(ay, c)
                    add_vec_mat_(ay, h, V, 0)
                    activate_out(ay, y)
                    flush_vec_(y)             # the fed-back output: no subnormals (see _math)
                copy_(Ys[b, t], y)

    return _jordan_forward_rows


_jordan_forward_rows = KernelVariants(_forward_rows)


def jordan_forward(xw, W, V, c, y0, mask, act, out_act):
    """h_t = act(xw_t + y_{t-1} W); y_t = out_act(h_t V + c).
    xw (N,T,H), W (O,H), V (H,O), c (O,), y0 (N,O) -> Hs (N,T,H), Ys (N,T,O)"""
    N, T, H = xw.shape
    O = V.shape[1]
    Hs = np.zeros((N, T, H), xw.dtype)
    Ys = np.empty((N, T, O), xw.dtype)
    run_blocks(_jordan_forward_rows[act, out_act], N, xw, W, V, c, y0, mask, Hs, Ys)
    return Hs, Ys


def _backward_rows(act, out_act):
    """The backward kernel for one pair of activation codes (see ``_forward_rows``)."""
    _, times_grad = activation_loops(act)
    _, times_out_grad = activation_loops(out_act)

    @njit(**_serial)
    def _jordan_backward_rows(dYs, Hs, Ys, WT, VT, mask, dAh, dAy, dy0, b0, b1):
        T, O = Ys.shape[1], Ys.shape[2]
        dy = np.empty(O, Ys.dtype)
        for b in range(b0, b1):
            dy[:] = 0
            for t in range(T - 1, -1, -1):
                add_to_(dy, dYs[b, t])
                if mask[b, t] != 0:
                    day = dAy[b, t]
                    copy_(day, dy)
                    times_out_grad(day, Ys[b, t])
                    flush_vec_(day)           # no subnormal numbers (see _math.flush_)
                    dah = dAh[b, t]
                    add_vec_matT_(dah, day, VT, 0)
                    times_grad(dah, Hs[b, t])
                    flush_vec_(dah)
                    dy[:] = 0
                    add_vec_matT_(dy, dah, WT, 0)
            copy_(dy0[b], dy)

    return _jordan_backward_rows


_jordan_backward_rows = KernelVariants(_backward_rows)


def jordan_backward(dYs, Hs, Ys, WT, VT, mask, act, out_act):
    """dYs (N,T,O), Hs (N,T,H), Ys (N,T,O), WT = W.T (H,O), VT = V.T (O,H)
    -> dAh (N,T,H), dAy (N,T,O), dy0 (N,O)"""
    N, T, H = Hs.shape
    O = Ys.shape[2]
    dAh = np.zeros_like(Hs)
    dAy = np.zeros_like(Ys)
    dy0 = np.empty((N, O), Ys.dtype)
    run_blocks(_jordan_backward_rows[act, out_act], N,
               dYs, Hs, Ys, WT, VT, mask, dAh, dAy, dy0)
    return dAh, dAy, dy0


@njit(**_serial)
def jordan_step(x, U, W, b, V, c, y, act, out_act):
    """One time step for every sequence, the state (the previous output) updated
    in place (step-by-step inference): h = act(x U + b + y W); y <- out_act(h V + c).

    x (N, D), U (D, H), W (O, H), b (H,), V (H, O), c (O,), y (N, O): y_{t-1} in, y_t out."""
    a = np.empty((x.shape[0], U.shape[1]), x.dtype)
    gemm_(x, U, a, 0.0)                          # (N, H) input projections
    yw = np.empty((y.shape[0], W.shape[1]), y.dtype)
    gemm_(y, W, yw, 0.0)                         # (N, H), taken before y is overwritten
    for k in range(x.shape[0]):
        for j in range(a.shape[1]):
            a[k, j] = (a[k, j] + b[j]) + yw[k, j]
        activate_(a[k], a[k], act)            # a becomes h_t
    hv = np.empty((a.shape[0], V.shape[1]), a.dtype)
    gemm_(a, V, hv, 0.0)                         # (N, O)
    for k in range(x.shape[0]):
        for j in range(hv.shape[1]):
            hv[k, j] = c[j] + hv[k, j]
        activate_(hv[k], y[k], out_act)
        flush_vec_(y[k])
