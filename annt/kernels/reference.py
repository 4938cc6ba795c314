"""Plain-NumPy reference of every recurrent kernel.

These functions are the recurrences written as directly as the math allows:
one loop over time, whole-batch NumPy operations inside it. They are what the
book's chapters explain, and what the tests hold the fast Numba kernels in
:mod:`annt.kernels.rnn`, :mod:`~annt.kernels.lstm`, :mod:`~annt.kernels.gru` and
:mod:`~annt.kernels.jordan` to (same arguments, same results).

Conventions shared by all kernels
---------------------------------
* Arrays are batch-first: ``(N, T, ...)`` with N sequences of T steps.
* ``xw`` is the input projection of every step, computed before the kernel
  with one matrix product: ``xw[:, t] = x_t @ U + b`` (gates side by side).
* ``W`` maps the previous hidden state to the gates: ``h_{t-1} @ W``.
* ``mask`` is ``(N, T)`` with 1 at real steps and 0 at padding. At a padded
  step the state is carried over unchanged (``h_t = h_{t-1}``) and, going
  backward, its gradient passes straight through.
* Backward kernels return gradients of the loss with respect to the
  pre-activations (``dA``); the layer turns them into weight gradients with
  one matrix product over all steps (``dU = X^T dA``, ``dW = H_prev^T dA``).
* Activation codes: 0 identity, 1 tanh, 2 sigmoid, 3 relu (and 4 softmax,
  for ``activation_step`` only).
* The ``*_step`` functions advance every sequence by ONE time step, for
  step-by-step inference: x (N, D) is the step's input (no ``xw``: the input
  projection is part of the step), and the state arrays are updated in place.
"""
import numpy as np

IDENTITY, TANH, SIGMOID, RELU, SOFTMAX = 0, 1, 2, 3, 4


def sigmoid(a):
    """Logistic function, written through tanh so that it never overflows."""
    return 0.5 + 0.5 * np.tanh(0.5 * a)


def activate(a, code):
    if code == IDENTITY:
        return a
    if code == TANH:
        return np.tanh(a)
    if code == SIGMOID:
        return sigmoid(a)
    if code == RELU:
        return np.maximum(a, 0)
    raise ValueError(f"unknown activation code {code}")


def activation_grad(y, code):
    """Derivative of the activation, written in terms of its output y."""
    if code == IDENTITY:
        return np.ones_like(y)
    if code == TANH:
        return 1 - y * y
    if code == SIGMOID:
        return y * (1 - y)
    if code == RELU:
        return (y > 0).astype(y.dtype)
    raise ValueError(f"unknown activation code {code}")


def _keep(mask_t, new, old):
    """State update that leaves padded sequences (mask 0) where they were."""
    return np.where(mask_t[:, None] > 0, new, old)


# --------------------------------------------------------------------- RNN
def rnn_forward(xw, W, h0, mask, act):
    """Elman RNN over a sequence: ``h_t = act(xw_t + h_{t-1} W)``.

    xw (N, T, H), W (H, H), h0 (N, H), mask (N, T) -> Hs (N, T, H)
    """
    N, T, H = xw.shape
    Hs = np.empty_like(xw)
    h = h0
    for t in range(T):
        a = xw[:, t] + h @ W
        h = _keep(mask[:, t], activate(a, act), h)
        Hs[:, t] = h
    return Hs


def rnn_backward(dHs, Hs, W, mask, act):
    """BPTT through the Elman recurrence.

    dHs (N, T, H) is dL/dh_t from the layers above (the gradient of the final
    state, if any, already added at the last step). Going back in time, each
    step adds the gradient carried from the future:
    ``dh_t = dHs_t + da_{t+1} W^T``, ``da_t = dh_t * act'(a_t)``.
    Returns dA (N, T, H) = dL/da_t and dh0 (N, H) = dL/dh_{-1}.
    """
    N, T, H = dHs.shape
    dA = np.zeros_like(dHs)
    dh_next = np.zeros((N, H), dHs.dtype)
    for t in range(T - 1, -1, -1):
        dh = dHs[:, t] + dh_next
        da = dh * activation_grad(Hs[:, t], act)
        da = _keep(mask[:, t], da, np.zeros_like(da))
        dA[:, t] = da
        dh_next = _keep(mask[:, t], da @ W.T, dh)
    return dA, dh_next


def _into(out, results):
    """``results``, copied into the arrays ``out`` when given (the ``out=`` of the
    Numba kernels, which write into them: the layers reuse their arrays)."""
    if out is None:
        return results
    for o, r in zip(out, results):
        o[...] = r
    return tuple(out) + tuple(results[len(out):])


# -------------------------------------------------------------------- LSTM
def lstm_forward(xw, W, h0, c0, mask, out=None):
    """LSTM over a sequence, gates in the order i, f, g, o.

    a_t = xw_t + h_{t-1} W;  i = s(a_i), f = s(a_f), g = tanh(a_g), o = s(a_o)
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

    xw (N, T, 4H), W (H, 4H), h0, c0 (N, H), mask (N, T)
    -> Hs, Cs (N, T, H), Gs (N, T, 4H) = the activated gates [i, f, g, o]
    """
    N, T, G = xw.shape
    H = G // 4
    Hs = np.empty((N, T, H), xw.dtype)
    Cs = np.empty((N, T, H), xw.dtype)
    Gs = np.zeros((N, T, G), xw.dtype)
    h, c = h0, c0
    for t in range(T):
        a = xw[:, t] + h @ W
        i = sigmoid(a[:, :H])
        f = sigmoid(a[:, H:2 * H])
        g = np.tanh(a[:, 2 * H:3 * H])
        o = sigmoid(a[:, 3 * H:])
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        m = mask[:, t]
        c = _keep(m, c_new, c)
        h = _keep(m, h_new, h)
        Gs[:, t] = _keep(m, np.concatenate([i, f, g, o], axis=1), Gs[:, t])
        Hs[:, t], Cs[:, t] = h, c
    return _into(out, (Hs, Cs, Gs))


def lstm_backward(dHs, dcT, Cs, Gs, c0, W, mask, out=None):
    """BPTT through the LSTM.

    Two gradients travel back in time: dh (through W) and dc (through the
    forget gate: the constant-error carousel). With tc = tanh(c_t):
    dc_t = dc_next + dh_t * o * (1 - tc^2);  do = dh_t * tc;  di = dc_t * g;
    dg = dc_t * i;  df = dc_t * c_{t-1};  dc_next <- dc_t * f.
    Returns dA (N, T, 4H) (pre-activation gradients), dh0, dc0 (N, H).
    """
    N, T, G = Gs.shape
    H = G // 4
    dA = np.zeros_like(Gs)
    dh_next = np.zeros((N, H), Gs.dtype)
    dc_next = dcT.copy()
    for t in range(T - 1, -1, -1):
        i, f, g, o = (Gs[:, t, k * H:(k + 1) * H] for k in range(4))
        c = Cs[:, t]
        c_prev = Cs[:, t - 1] if t > 0 else c0
        dh = dHs[:, t] + dh_next
        tc = np.tanh(c)
        dc = dc_next + dh * o * (1 - tc * tc)
        da = np.concatenate([
            dc * g * i * (1 - i),          # input gate
            dc * c_prev * f * (1 - f),     # forget gate
            dc * i * (1 - g * g),          # candidate
            dh * tc * o * (1 - o),         # output gate
        ], axis=1)
        m = mask[:, t]
        da = _keep(m, da, np.zeros_like(da))
        dA[:, t] = da
        dh_next = _keep(m, da @ W.T, dh)
        dc_next = _keep(m, dc * f, dc_next)
    return _into(None if out is None else (out,), (dA, dh_next, dc_next))


def lstm_forward_infer(x, U, W, b, h0, c0, mask):
    """Inference only: the outputs Hs (N, T, H) of :func:`lstm_forward` for the
    input projections xw = x U + b, and the last cell state c_T (N, H), without
    the caches of the backward pass. x (N, T, D), U (D, 4H), W (H, 4H), b (4H,)."""
    Hs, Cs, _ = lstm_forward(x @ U + b, W, h0, c0, mask)
    return Hs, Cs[:, -1].copy()

# --------------------------------------------------------------------- GRU
def gru_forward(xw, W, b_hn, h0, mask, reset_after, out=None):
    """GRU over a sequence, gates in the order z (update), r (reset), n.

    z = s(xw_z + h_{t-1} W_z),  r = s(xw_r + h_{t-1} W_r)
    reset_after=False (ANNT, Cho et al. 2014):
        q = r * h_{t-1};              n = tanh(xw_n + q W_n)
    reset_after=True (PyTorch, Keras cuDNN):
        q = h_{t-1} W_n + b_hn;       n = tanh(xw_n + r * q)
    h_t = (1 - z) * h_{t-1} + z * n

    xw (N, T, 3H), W (H, 3H), b_hn (H,), h0 (N, H), mask (N, T)
    -> Hs (N, T, H), Gs (N, T, 3H) = [z, r, n], Q (N, T, H) = q above
    """
    N, T, G = xw.shape
    H = G // 3
    Hs = np.empty((N, T, H), xw.dtype)
    Gs = np.zeros((N, T, G), xw.dtype)
    Q = np.zeros((N, T, H), xw.dtype)
    h = h0
    for t in range(T):
        a = xw[:, t]
        zr = sigmoid(a[:, :2 * H] + h @ W[:, :2 * H])
        z, r = zr[:, :H], zr[:, H:]
        if reset_after:
            q = h @ W[:, 2 * H:] + b_hn
            n = np.tanh(a[:, 2 * H:] + r * q)
        else:
            q = r * h
            n = np.tanh(a[:, 2 * H:] + q @ W[:, 2 * H:])
        h_new = (1 - z) * h + z * n
        m = mask[:, t]
        h = _keep(m, h_new, h)
        Gs[:, t] = _keep(m, np.concatenate([z, r, n], axis=1), Gs[:, t])
        Q[:, t] = _keep(m, q, Q[:, t])
        Hs[:, t] = h
    return _into(out, (Hs, Gs, Q))


def gru_forward_infer(xw, W, b_hn, h0, mask, reset_after):
    """Inference only: the outputs Hs (N, T, H) of :func:`gru_forward`."""
    return gru_forward(xw, W, b_hn, h0, mask, reset_after)[0]

def gru_backward(dHs, Hs, h0, Gs, Q, W, mask, reset_after, out=None):
    """BPTT through the GRU.

    dz = dh (n - h_prev), dn = dh z, dh_prev = dh (1 - z) + ...
    reset_after=False: dq = da_n W_n^T, dr = dq * h_prev, dh_prev += dq * r
    reset_after=True:  dr = da_n * q, dq = da_n * r (q = h_prev W_n + b_hn)

    Returns dAx (N, T, 3H): gradients of the input pre-activations xw;
    dAh (N, T, 3H): gradients of the recurrent products (for z, r: h_prev W;
    for n: q W_n before, or q itself after); dh0 (N, H).
    Weight gradients: dW_zr = H_prev^T dAh_zr; dW_n = Q^T dAh_n (before) or
    H_prev^T dAh_n (after, and db_hn = sum dAh_n).
    """
    N, T, G = Gs.shape
    H = G // 3
    dAx = np.zeros_like(Gs)
    dAh = np.zeros_like(Gs)
    dh_next = np.zeros((N, H), Gs.dtype)
    for t in range(T - 1, -1, -1):
        z, r, n = Gs[:, t, :H], Gs[:, t, H:2 * H], Gs[:, t, 2 * H:]
        h_prev = Hs[:, t - 1] if t > 0 else h0
        q = Q[:, t]
        dh = dHs[:, t] + dh_next
        da_z = dh * (n - h_prev) * z * (1 - z)
        da_n = dh * z * (1 - n * n)
        dh_prev = dh * (1 - z)
        if reset_after:
            dr = da_n * q
            dq = da_n * r
            da_r = dr * r * (1 - r)
            dah = np.concatenate([da_z, da_r, dq], axis=1)
            dh_prev = dh_prev + dah @ W.T
        else:
            dq = da_n @ W[:, 2 * H:].T
            dr = dq * h_prev
            dh_prev = dh_prev + dq * r
            da_r = dr * r * (1 - r)
            dah = np.concatenate([da_z, da_r, da_n], axis=1)
            dh_prev = dh_prev + dah[:, :2 * H] @ W[:, :2 * H].T
        dax = np.concatenate([da_z, da_r, da_n], axis=1)
        m = mask[:, t]
        dAx[:, t] = _keep(m, dax, np.zeros_like(dax))
        dAh[:, t] = _keep(m, dah, np.zeros_like(dah))
        dh_next = _keep(m, dh_prev, dh)
    return _into(out, (dAx, dAh, dh_next))


# ------------------------------------------------------------------ Jordan
def jordan_forward(xw, W, V, c, y0, mask, act, out_act):
    """Jordan network: the hidden layer sees the previous *output*.

    h_t = act(xw_t + y_{t-1} W);  y_t = out_act(h_t V + c)

    xw (N, T, H), W (O, H), V (H, O), c (O,), y0 (N, O), mask (N, T)
    -> Hs (N, T, H), Ys (N, T, O)
    """
    N, T, H = xw.shape
    O = V.shape[1]
    Hs = np.zeros((N, T, H), xw.dtype)
    Ys = np.empty((N, T, O), xw.dtype)
    y = y0
    for t in range(T):
        h = activate(xw[:, t] + y @ W, act)
        y_new = activate(h @ V + c, out_act)
        m = mask[:, t]
        Hs[:, t] = _keep(m, h, Hs[:, t])
        y = _keep(m, y_new, y)
        Ys[:, t] = y
    return Hs, Ys


def jordan_backward(dYs, Hs, Ys, W, V, mask, act, out_act):
    """BPTT through the Jordan recurrence (the carried gradient is dL/dy).

    dy_t = dYs_t + da_{t+1} W^T;  day = dy_t * out_act'(y_t);
    dh = day V^T;  dah = dh * act'(h_t)
    Returns dAh (N, T, H), dAy (N, T, O) and dy0 (N, O).
    """
    N, T, H = Hs.shape
    O = Ys.shape[2]
    dAh = np.zeros_like(Hs)
    dAy = np.zeros_like(Ys)
    dy_next = np.zeros((N, O), Ys.dtype)
    for t in range(T - 1, -1, -1):
        dy = dYs[:, t] + dy_next
        day = dy * activation_grad(Ys[:, t], out_act)
        dah = (day @ V.T) * activation_grad(Hs[:, t], act)
        m = mask[:, t]
        dAy[:, t] = _keep(m, day, np.zeros_like(day))
        dAh[:, t] = _keep(m, dah, np.zeros_like(dah))
        dy_next = _keep(m, dah @ W.T, dy)
    return dAh, dAy, dy_next


# ------------------------------------------------------- one step at a time
def rnn_step(x, U, W, b, h, act):
    """One Elman step, in place: h <- act(x U + b + h W).
    x (N, D), U (D, H), W (H, H), b (H,), h (N, H)."""
    h[...] = activate(x @ U + b + h @ W, act)


def lstm_step(x, U, W, b, h, c):
    """One LSTM step, in place: (h, c) <- the state after x.
    x (N, D), U (D, 4H), W (H, 4H), b (4H,), h, c (N, H)."""
    H = h.shape[1]
    a = x @ U + b + h @ W
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c[...] = f * c + i * g
    h[...] = o * np.tanh(c)


def gru_step(x, U, W, b, b_hn, h, reset_after):
    """One GRU step, in place (b_hn is used only with reset_after).
    x (N, D), U (D, 3H), W (H, 3H), b (3H,), b_hn (H,), h (N, H)."""
    H = h.shape[1]
    a = x @ U + b
    zr = sigmoid(a[:, :2 * H] + h @ W[:, :2 * H])
    z, r = zr[:, :H], zr[:, H:]
    if reset_after:
        n = np.tanh(a[:, 2 * H:] + r * (h @ W[:, 2 * H:] + b_hn))
    else:
        n = np.tanh(a[:, 2 * H:] + (r * h) @ W[:, 2 * H:])
    h[...] = (1 - z) * h + z * n


def jordan_step(x, U, W, b, V, c, y, act, out_act):
    """One Jordan step, in place: h = act(x U + b + y W); y <- out_act(h V + c).
    x (N, D), U (D, H), W (O, H), b (H,), V (H, O), c (O,), y (N, O)."""
    h = activate(x @ U + b + y @ W, act)
    y[...] = activate(h @ V + c, out_act)


def dense_step(x, W, b, out):
    """out = x W + b.   x (N, D), W (D, K), b (K,), out (N, K)."""
    out[...] = x @ W + b


def activation_step(x, code, out):
    """out = act(x); code SOFTMAX is the softmax over each row."""
    if code == SOFTMAX:
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        out[...] = e / e.sum(axis=-1, keepdims=True)
    else:
        out[...] = activate(x, code)


def all_finite(x):
    """True when x holds no NaN and no infinity."""
    return bool(np.isfinite(x).all())


def matmul(A, B, out=None, add=None):
    """A (R, K) @ B (K, M) (+ add, a bias row): the products over all steps at once
    (``X U + b``, ``dA U^T``)."""
    out = np.matmul(A, B, out=out)
    if add is not None:
        out += add
    return out


def matmul_tn(A, B, out=None):
    """A (R, K)^T @ B (R, M): the weight gradients, sums over all steps (``X^T dA``)."""
    return np.matmul(A.T, B, out=out)


def column_sums(A, out):
    """out = A.sum(axis=0): the bias gradients, a sum over all steps (``sum dA``)."""
    out[...] = A.sum(axis=0)


def matmul_tn_many(products):
    """``out[...] = A^T B`` for each ``(A, B, out)``: a layer's weight gradients."""
    for A, B, out in products:
        out[...] = A.T @ B
