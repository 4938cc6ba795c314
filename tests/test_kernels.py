"""The Numba kernels against their NumPy reference (annt.kernels.reference).

Same inputs to both; the Numba backward kernels take the recurrent weight
matrices transposed and contiguous (``np.ascontiguousarray(W.T)``) where the
reference takes W, exactly as the layers call them. Agreement: 1e-5 absolute
in float32 (the Numba float32 tanh is a rational approximation), 1e-12 in
float64. Masks include steps that are padding for every sequence (in the
middle and at the end) and a sequence that is padding throughout. Batches of
1 and of 9 sequences (the latter is split over the threads).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from numba import njit

import annt
from annt import kernels as K
from annt.kernels import reference as R
from annt.kernels._math import sigmoid_, tanh_

IDENTITY, TANH, SIGMOID, RELU = K.IDENTITY, K.TANH, K.SIGMOID, K.RELU
DTYPES = [np.float32, np.float64]
ATOL = {np.float32: 1e-5, np.float64: 1e-12}
T, H = 7, 5


def c(a, dtype):
    return np.ascontiguousarray(a, dtype=dtype)


def make_mask(N, T=T):
    """Random padding, plus: step 3 and the last step padded in every sequence,
    sequence 1 (if any) padded throughout, sequence 0 with end padding only."""
    rng = np.random.default_rng(123)
    m = (rng.random((N, T)) < 0.75).astype(np.float64)
    m[:, 3] = 0
    m[:, -1] = 0
    if N > 1:
        m[1] = 0
        m[0] = [1, 1, 1, 0, 0, 0, 0][:T]
    return m


MASKS = ["ones", "padded"]


def get_mask(kind, N, dtype):
    return c(np.ones((N, T)) if kind == "ones" else make_mask(N), dtype)


def assert_close(numba_out, ref_out, dtype, what):
    numba_out = numba_out if isinstance(numba_out, tuple) else (numba_out,)
    ref_out = ref_out if isinstance(ref_out, tuple) else (ref_out,)
    assert len(numba_out) == len(ref_out)
    for i, (a, b) in enumerate(zip(numba_out, ref_out)):
        assert a.dtype == np.dtype(dtype), f"{what}[{i}]: {a.dtype}, expected {np.dtype(dtype)}"
        assert a.shape == b.shape, f"{what}[{i}]: shape {a.shape} vs {b.shape}"
        err = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
        assert err <= ATOL[dtype], f"{what}[{i}]: max abs difference {err}"


def weights(rng, rows, cols):
    return rng.uniform(-1, 1, (rows, cols)) / np.sqrt(rows)


# --------------------------------------------------------------------------- #
# RNN
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("act", [TANH, RELU, SIGMOID, IDENTITY],
                         ids=["tanh", "relu", "sigmoid", "identity"])
@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("N", [1, 9])
def test_rnn_kernels(dtype, act, mask_kind, N):
    rng = np.random.default_rng(0)
    xw = c(rng.normal(0, 0.8, (N, T, H)), dtype)
    W = c(weights(rng, H, H), dtype)
    h0 = c(rng.uniform(-0.5, 0.5, (N, H)), dtype)
    mask = get_mask(mask_kind, N, dtype)
    Hs = K.rnn_forward(xw, W, h0, mask, act)
    Hs_ref = R.rnn_forward(xw, W, h0, mask, act)
    assert_close(Hs, Hs_ref, dtype, "rnn_forward")
    if mask_kind == "padded" and N > 1:   # a fully padded sequence keeps h0
        np.testing.assert_array_equal(Hs[1], np.broadcast_to(h0[1], (T, H)))
    dHs = c(rng.standard_normal((N, T, H)), dtype)
    out = K.rnn_backward(dHs, Hs_ref, c(W.T, dtype), mask, act)
    ref = R.rnn_backward(dHs, Hs_ref, W, mask, act)
    assert_close(out, ref, dtype, "rnn_backward")


# --------------------------------------------------------------------------- #
# LSTM
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("N", [1, 9])
def test_lstm_kernels(dtype, mask_kind, N):
    rng = np.random.default_rng(1)
    xw = c(rng.normal(0, 0.8, (N, T, 4 * H)), dtype)
    W = c(weights(rng, H, 4 * H), dtype)
    h0 = c(rng.uniform(-0.5, 0.5, (N, H)), dtype)
    c0 = c(rng.uniform(-1, 1, (N, H)), dtype)
    mask = get_mask(mask_kind, N, dtype)
    out = K.lstm_forward(xw, W, h0, c0, mask)
    ref = R.lstm_forward(xw, W, h0, c0, mask)
    assert_close(out, ref, dtype, "lstm_forward")
    _, Cs, Gs = ref
    dHs = c(rng.standard_normal((N, T, H)), dtype)
    dcT = c(rng.standard_normal((N, H)), dtype)
    out = K.lstm_backward(dHs, dcT, Cs, Gs, c0, c(W.T, dtype), mask)
    ref = R.lstm_backward(dHs, dcT, Cs, Gs, c0, W, mask)
    assert_close(out, ref, dtype, "lstm_backward")


# --------------------------------------------------------------------------- #
# GRU
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reset_after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("N", [1, 9])
def test_gru_kernels(dtype, reset_after, mask_kind, N):
    rng = np.random.default_rng(2)
    xw = c(rng.normal(0, 0.8, (N, T, 3 * H)), dtype)
    W = c(weights(rng, H, 3 * H), dtype)
    b_hn = c(rng.normal(0, 0.5, H) if reset_after else np.zeros(H), dtype)
    h0 = c(rng.uniform(-0.5, 0.5, (N, H)), dtype)
    mask = get_mask(mask_kind, N, dtype)
    out = K.gru_forward(xw, W, b_hn, h0, mask, reset_after)
    ref = R.gru_forward(xw, W, b_hn, h0, mask, reset_after)
    assert_close(out, ref, dtype, "gru_forward")
    Hs, Gs, Q = ref
    dHs = c(rng.standard_normal((N, T, H)), dtype)
    out = K.gru_backward(dHs, Hs, h0, Gs, Q, c(W.T, dtype), mask, reset_after)
    ref = R.gru_backward(dHs, Hs, h0, Gs, Q, W, mask, reset_after)
    assert_close(out, ref, dtype, "gru_backward")


def test_gru_conventions_differ():
    """The two GRU conventions are different models (same weights, other outputs)."""
    rng = np.random.default_rng(3)
    xw = rng.normal(0, 1, (2, T, 3 * H))
    W = weights(rng, H, 3 * H)
    h0 = rng.uniform(-0.5, 0.5, (2, H))
    m = np.ones((2, T))
    a = K.gru_forward(xw, W, np.zeros(H), h0, m, False)[0]
    b = K.gru_forward(xw, W, np.zeros(H), h0, m, True)[0]
    assert np.abs(a - b).max() > 1e-3


# --------------------------------------------------------------------------- #
# Jordan
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("act", [TANH, RELU], ids=["tanh", "relu"])
@pytest.mark.parametrize("out_act", [IDENTITY, TANH, SIGMOID], ids=["id", "tanh", "sigmoid"])
@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("N", [1, 9])
def test_jordan_kernels(dtype, act, out_act, mask_kind, N):
    rng = np.random.default_rng(4)
    O = 3
    xw = c(rng.normal(0, 0.8, (N, T, H)), dtype)
    W = c(weights(rng, O, H), dtype)
    V = c(weights(rng, H, O), dtype)
    cb = c(rng.normal(0, 0.3, O), dtype)
    y0 = c(rng.uniform(-0.5, 0.5, (N, O)), dtype)
    mask = get_mask(mask_kind, N, dtype)
    out = K.jordan_forward(xw, W, V, cb, y0, mask, act, out_act)
    ref = R.jordan_forward(xw, W, V, cb, y0, mask, act, out_act)
    assert_close(out, ref, dtype, "jordan_forward")
    Hs, Ys = ref
    dYs = c(rng.standard_normal((N, T, O)), dtype)
    out = K.jordan_backward(dYs, Hs, Ys, c(W.T, dtype), c(V.T, dtype), mask, act, out_act)
    ref = R.jordan_backward(dYs, Hs, Ys, W, V, mask, act, out_act)
    assert_close(out, ref, dtype, "jordan_backward")


# --------------------------------------------------------------------------- #
# the float32 fast tanh / sigmoid
# --------------------------------------------------------------------------- #
@njit
def _apply_tanh(x, out):
    for i in range(x.shape[0]):
        out[i] = tanh_(x[i])


@njit
def _apply_sigmoid(x, out):
    for i in range(x.shape[0]):
        out[i] = sigmoid_(x[i])


GRID = np.linspace(-20, 20, 400_001)


def test_fast_tanh_float32():
    x = GRID.astype(np.float32)
    out = np.empty_like(x)
    _apply_tanh(x, out)
    assert out.dtype == np.float32
    err = np.abs(out.astype(np.float64) - np.tanh(x.astype(np.float64))).max()
    assert err < 1e-6, err
    # odd, bounded, saturates to exactly +-1 (within float32) at the ends
    np.testing.assert_array_equal(out, -out[::-1])
    assert np.all(np.abs(out) <= 1)
    assert out[0] == -1 and out[-1] == 1


def test_fast_sigmoid_float32():
    x = GRID.astype(np.float32)
    out = np.empty_like(x)
    _apply_sigmoid(x, out)
    assert out.dtype == np.float32
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    err = np.abs(out.astype(np.float64) - exact).max()
    assert err < 1e-6, err
    assert np.all((out >= 0) & (out <= 1))


def test_tanh_float64_is_exact():
    x = GRID
    out = np.empty_like(x)
    _apply_tanh(x, out)
    np.testing.assert_allclose(out, np.tanh(x), rtol=1e-15, atol=1e-300)
    out2 = np.empty_like(x)
    _apply_sigmoid(x, out2)
    np.testing.assert_allclose(out2, 1 / (1 + np.exp(-x)), rtol=0, atol=1e-15)


# --------------------------------------------------------------------------- #
# backend="numpy" vs "numba" through the layers
# --------------------------------------------------------------------------- #
def _layer(kind, backend, return_sequences):
    rng = np.random.default_rng(7)    # same seed: same weights for both backends
    kw = dict(return_sequences=return_sequences, backend=backend, rng=rng)
    D = 4
    return {
        "rnn_tanh": lambda: annt.RNN(D, H, **kw),
        "rnn_relu": lambda: annt.RNN(D, H, activation="relu", **kw),
        "lstm": lambda: annt.LSTM(D, H, **kw),
        "gru": lambda: annt.GRU(D, H, **kw),
        "gru_after": lambda: annt.GRU(D, H, reset_after=True, **kw),
        "jordan": lambda: annt.Jordan(D, H, 3, output_activation="sigmoid", **kw),
        "jordan_relu_id": lambda: annt.Jordan(D, H, 3, activation="relu",
                                              output_activation="identity", **kw),
        "bidir_lstm": lambda: annt.Bidirectional(annt.LSTM(D, H, **kw), rng=rng),
        "bidir_gru_after": lambda: annt.Bidirectional(annt.GRU(D, H, reset_after=True, **kw),
                                                      merge="mean", rng=rng),
    }[kind]()


def _flat(s):
    if isinstance(s, (tuple, list)):
        return [a for t in s for a in _flat(t)]
    return [s]


def _state(layer, N, rng):
    if isinstance(layer, annt.Bidirectional):
        return (_state(layer.forward_layer, N, rng), _state(layer.backward_layer, N, rng))
    if isinstance(layer, annt.LSTM):
        return tuple(rng.uniform(-0.5, 0.5, (N, layer.hidden_size)).astype(np.float32)
                     for _ in range(2))
    return rng.uniform(-0.5, 0.5, (N, layer.state_size)).astype(np.float32)


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru", "gru_after", "jordan",
                                  "jordan_relu_id", "bidir_lstm", "bidir_gru_after"])
@pytest.mark.parametrize("return_sequences", [True, False], ids=["seq", "last"])
def test_numpy_and_numba_backends_agree(kind, return_sequences):
    a = _layer(kind, "numba", return_sequences)
    b = _layer(kind, "numpy", return_sequences)
    rng = np.random.default_rng(8)
    for (_, pa, _), (_, pb, _) in zip(a.parameters(), b.parameters()):
        pa[...] += rng.normal(0, 0.2, pa.shape).astype(np.float32)
        pb[...] = pa
    N = 9
    x = rng.standard_normal((N, T, 4)).astype(np.float32)
    mask = make_mask(N).astype(np.float32)
    state = _state(a, N, rng)
    ya = a.forward(x, state, mask, training=True)
    yb = b.forward(x, state, mask, training=True)
    assert ya.dtype == yb.dtype == np.float32
    np.testing.assert_allclose(ya, yb, atol=1e-5, rtol=0)
    for sa, sb in zip(_flat(a.final_state), _flat(b.final_state)):
        np.testing.assert_allclose(sa, sb, atol=1e-5, rtol=0)
    dy = rng.standard_normal(ya.shape).astype(np.float32)
    dstate = _state(a, N, rng)
    dxa = a.backward(dy, dstate)
    dxb = b.backward(dy, dstate)
    assert dxa.dtype == np.float32
    np.testing.assert_allclose(dxa, dxb, atol=1e-5, rtol=0)
    for (name, _, ga), (_, _, gb) in zip(a.parameters(), b.parameters()):
        assert ga.dtype == np.float32
        scale = max(1.0, float(np.abs(gb).max()))     # weight gradients sum over N*T terms
        np.testing.assert_allclose(ga, gb, atol=1e-5 * scale, rtol=0, err_msg=name)
    for da, db in zip(_flat(a.dstate0), _flat(b.dstate0)):
        np.testing.assert_allclose(da, db, atol=1e-5, rtol=0)


def test_layers_keep_float32():
    """No silent upcast: float32 layers give float32 outputs, states and gradients,
    even when fed float64 inputs, masks and states."""
    rng = np.random.default_rng(9)
    for kind in ("rnn_tanh", "lstm", "gru_after", "jordan", "bidir_lstm"):
        layer = _layer(kind, "numba", True)
        x = rng.standard_normal((3, T, 4))             # float64 input
        y = layer.forward(x, mask=np.ones((3, T)), training=True)
        assert y.dtype == np.float32, kind
        assert all(s.dtype == np.float32 for s in _flat(layer.final_state)), kind
        dx = layer.backward(np.ones(y.shape))
        assert dx.dtype == np.float32, kind
        assert all(g.dtype == np.float32 for _, _, g in layer.parameters()), kind
        assert all(s.dtype == np.float32 for s in _flat(layer.dstate0)), kind


# --------------------------------------------------------------------------- #
# one-step kernels (step-by-step inference) against their reference
# --------------------------------------------------------------------------- #
D_STEP = 4


def _step_inputs(rng, N, dtype, G):
    """x (N, D), U (D, G), b (G,) for a step kernel."""
    return (c(rng.normal(0, 0.8, (N, D_STEP)), dtype),
            c(weights(rng, D_STEP, G), dtype), c(rng.normal(0, 0.3, G), dtype))


def _run_step_pair(kernel, reference, args, state_idx, dtype, what):
    """Call the Numba kernel and its reference on copies of the same arguments;
    both update the arrays at ``state_idx`` in place and must agree there."""
    a = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
    b = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
    assert kernel(*a) is None
    reference(*b)
    assert_close(tuple(a[i] for i in state_idx), tuple(b[i] for i in state_idx), dtype, what)
    for i, x in enumerate(args):              # the other arguments are left alone
        if i not in state_idx and isinstance(x, np.ndarray):
            np.testing.assert_array_equal(a[i], x)
    return a


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("act", [TANH, RELU, SIGMOID, IDENTITY],
                         ids=["tanh", "relu", "sigmoid", "identity"])
@pytest.mark.parametrize("N", [1, 9])
def test_rnn_step_kernel(dtype, act, N):
    rng = np.random.default_rng(20)
    x, U, b = _step_inputs(rng, N, dtype, H)
    W = c(weights(rng, H, H), dtype)
    h = c(rng.uniform(-0.5, 0.5, (N, H)), dtype)
    out = _run_step_pair(K.rnn_step, R.rnn_step, [x, U, W, b, h, act], [4], dtype, "rnn_step")
    # one step of the whole-sequence kernel, from the same state
    Hs = R.rnn_forward((x @ U + b)[:, None], W, h, np.ones((N, 1)), act)
    assert_close(out[4], Hs[:, 0].astype(dtype), dtype, "rnn_step vs rnn_forward")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("N", [1, 9])
def test_lstm_step_kernel(dtype, N):
    rng = np.random.default_rng(21)
    x, U, b = _step_inputs(rng, N, dtype, 4 * H)
    W = c(weights(rng, H, 4 * H), dtype)
    h = c(rng.uniform(-0.5, 0.5, (N, H)), dtype)
    cc = c(rng.uniform(-1, 1, (N, H)), dtype)
    out = _run_step_pair(K.lstm_step, R.lstm_step, [x, U, W, b, h, cc], [4, 5], dtype,
                         "lstm_step")
    Hs, Cs, _ = R.lstm_forward((x @ U + b)[:, None], W, h, cc, np.ones((N, 1)))
    assert_close((out[4], out[5]), (Hs[:, 0].astype(dtype), Cs[:, 0].astype(dtype)), dtype,
                 "lstm_step vs lstm_forward")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reset_after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("N", [1, 9])
def test_gru_step_kernel(dtype, reset_after, N):
    rng = np.random.default_rng(22)
    x, U, b = _step_inputs(rng, N, dtype, 3 * H)
    W = c(weights(rng, H, 3 * H), dtype)
    b_hn = c(rng.normal(0, 0.5, H), dtype)
    h = c(rng.uniform(-0.5, 0.5, (N, H)), dtype)
    out = _run_step_pair(K.gru_step, R.gru_step, [x, U, W, b, b_hn, h, reset_after], [5],
                         dtype, "gru_step")
    b_hn_fwd = b_hn if reset_after else np.zeros(H, dtype)   # reset_before ignores b_hn
    Hs = R.gru_forward((x @ U + b)[:, None], W, b_hn_fwd, h, np.ones((N, 1)), reset_after)[0]
    assert_close(out[5], Hs[:, 0].astype(dtype), dtype, "gru_step vs gru_forward")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("act", [TANH, RELU], ids=["tanh", "relu"])
@pytest.mark.parametrize("out_act", [IDENTITY, TANH, SIGMOID], ids=["id", "tanh", "sigmoid"])
@pytest.mark.parametrize("N", [1, 9])
def test_jordan_step_kernel(dtype, act, out_act, N):
    rng = np.random.default_rng(23)
    O = 3
    x, U, b = _step_inputs(rng, N, dtype, H)
    W = c(weights(rng, O, H), dtype)
    V = c(weights(rng, H, O), dtype)
    cb = c(rng.normal(0, 0.3, O), dtype)
    y = c(rng.uniform(-0.5, 0.5, (N, O)), dtype)
    out = _run_step_pair(K.jordan_step, R.jordan_step, [x, U, W, b, V, cb, y, act, out_act],
                         [6], dtype, "jordan_step")
    Ys = R.jordan_forward((x @ U + b)[:, None], W, V, cb, y, np.ones((N, 1)), act, out_act)[1]
    assert_close(out[6], Ys[:, 0].astype(dtype), dtype, "jordan_step vs jordan_forward")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("N", [1, 9])
def test_dense_and_activation_step_kernels(dtype, N):
    rng = np.random.default_rng(24)
    x = c(rng.normal(0, 2, (N, 6)), dtype)
    W, b = c(weights(rng, 6, H), dtype), c(rng.normal(0, 0.3, H), dtype)
    out = _run_step_pair(K.dense_step, R.dense_step, [x, W, b, np.empty((N, H), dtype)], [3],
                         dtype, "dense_step")
    assert_close(out[3], (x @ W + b).astype(dtype), dtype, "dense_step vs x W + b")
    for code in (IDENTITY, TANH, SIGMOID, RELU, K.SOFTMAX):
        out = _run_step_pair(K.activation_step, R.activation_step,
                             [x, code, np.empty_like(x)], [2], dtype, f"activation_step {code}")
    np.testing.assert_allclose(out[2].sum(axis=1), 1, rtol=1e-6)    # softmax rows
    big = c(np.full((N, 6), 300.0), dtype)                          # no overflow
    K.activation_step(big, K.SOFTMAX, out[2])
    np.testing.assert_allclose(out[2], 1 / 6, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_all_finite_kernel(dtype):
    x = np.zeros((3, 5), dtype)
    assert K.all_finite(x) and R.all_finite(x)
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[2, 4] = bad
        assert not K.all_finite(y) and not R.all_finite(y)
    big = np.full((1, 4), np.finfo(dtype).max, dtype)    # large, but finite
    assert K.all_finite(big) and R.all_finite(big)


# --------------------------------------------------------------------------- #
# a gradient that fades over a long sequence: flushed, never subnormal
# --------------------------------------------------------------------------- #
def _no_subnormals(arrays, dtype, what):
    tiny = np.finfo(dtype).tiny                    # the smallest normal number
    for i, a in enumerate(arrays):
        sub = (a != 0) & (np.abs(a) < tiny)
        assert not sub.any(), f"{what}[{i}]: {int(sub.sum())} subnormal numbers"


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru-before", "gru-after", "jordan"])
def test_fading_gradient_has_no_subnormal_numbers(dtype, cell):
    # Many-to-one over a long sequence with small recurrent weights: the gradient
    # of the last step shrinks by a large factor per step back in time and, without
    # flushing, crosses the subnormal range (100x slower arithmetic) on its way to 0.
    # The kernels flush it instead, and still agree with the reference.
    rng = np.random.default_rng(7)
    N = 3
    long_T = 400 if dtype == np.float32 else 1600   # float64 needs more steps to get there
    mask = np.ones((N, long_T), dtype)
    dHs = np.zeros((N, long_T, H), dtype)
    dHs[:, -1] = 1.0
    if cell == "rnn":
        xw = c(rng.normal(0, 0.5, (N, long_T, H)), dtype)
        W = c(0.05 * weights(rng, H, H), dtype)
        Hs = R.rnn_forward(xw, W, np.zeros((N, H), dtype), mask, TANH)
        out = K.rnn_backward(dHs, Hs, c(W.T, dtype), mask, TANH)
        ref = R.rnn_backward(dHs, Hs, W, mask, TANH)
    elif cell == "lstm":
        xw = c(rng.normal(0, 0.5, (N, long_T, 4 * H)), dtype)
        xw[:, :, H:2 * H] = -6                          # forget gates nearly closed
        W = c(0.05 * weights(rng, H, 4 * H), dtype)
        z = np.zeros((N, H), dtype)
        _, Cs, Gs = R.lstm_forward(xw, W, z, z, mask)
        out = K.lstm_backward(dHs, z, Cs, Gs, z, c(W.T, dtype), mask)
        ref = R.lstm_backward(dHs, z, Cs, Gs, z, W, mask)
    elif cell.startswith("gru"):
        reset_after = cell.endswith("after")
        xw = c(rng.normal(0, 0.5, (N, long_T, 3 * H)), dtype)
        xw[:, :, :H] = 6                                # update gates open: h forgets fast
        W = c(0.05 * weights(rng, H, 3 * H), dtype)
        b_hn = np.zeros(H, dtype)
        z = np.zeros((N, H), dtype)
        Hs, Gs, Q = R.gru_forward(xw, W, b_hn, z, mask, reset_after)
        out = K.gru_backward(dHs, Hs, z, Gs, Q, c(W.T, dtype), mask, reset_after)
        ref = R.gru_backward(dHs, Hs, z, Gs, Q, W, mask, reset_after)
    else:
        O = 3
        xw = c(rng.normal(0, 0.5, (N, long_T, H)), dtype)
        W = c(0.05 * weights(rng, O, H), dtype)
        V = c(0.05 * weights(rng, H, O), dtype)
        cb = np.zeros(O, dtype)
        y0 = np.zeros((N, O), dtype)
        Hs, Ys = R.jordan_forward(xw, W, V, cb, y0, mask, TANH, TANH)
        dYs = np.zeros((N, long_T, O), dtype)
        dYs[:, -1] = 1.0
        out = K.jordan_backward(dYs, Hs, Ys, c(W.T, dtype), c(V.T, dtype), mask, TANH, TANH)
        ref = R.jordan_backward(dYs, Hs, Ys, W, V, mask, TANH, TANH)
    assert_close(out, ref, dtype, f"{cell} backward")
    _no_subnormals(out, dtype, f"{cell} backward")
    # the reference, which does not flush, does reach the subnormal range here
    tiny = np.finfo(dtype).tiny
    assert any(((r != 0) & (np.abs(r) < tiny)).any() for r in ref), "test too easy"


# --------------------------------------------------------------------------- #
# a corrupt Numba cache file
# --------------------------------------------------------------------------- #
_CACHE_SCRIPT = """
import json, warnings
import numpy as np
import annt
from annt.kernels import CorruptCacheWarning, all_finite
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    assert all_finite(np.zeros((2, 3), np.float32))
print(json.dumps([str(w.message) for w in caught if w.category is CorruptCacheWarning]))
"""


def _run_with_cache(cache):
    """Call one kernel in a new process caching into ``cache``; returns the
    CorruptCacheWarning messages."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    proc = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_a_corrupt_numba_cache_file_is_compiled_again(tmp_path):
    """A cache file cut short used to make every later run fail with UnpicklingError:
    pickle data was truncated. Now the kernel is compiled again, its cache entry
    rewritten, and a warning names the folder. (A private NUMBA_CACHE_DIR: the
    cache other processes use is not touched.)"""
    cache = tmp_path / "numba-cache"
    assert _run_with_cache(cache) == []
    for suffix in ("nbc", "nbi"):                # the compiled code, then the index
        files = list(cache.rglob(f"feedforward.all_finite-*.{suffix}"))
        assert files, sorted(p.name for p in cache.rglob("*"))
        for f in files:
            f.write_bytes(f.read_bytes()[:10])      # cut short
        (message,) = _run_with_cache(cache)
        for fragment in ("annt.kernels.feedforward.all_finite", str(files[0].parent),
                         "UnpicklingError", "compiles the kernel again",
                         "If this warning comes back, delete"):
            assert fragment in message, message
        assert _run_with_cache(cache) == []         # the entry was written anew


# --------------------------------------------------------------------------- #
# what a first run compiles
# --------------------------------------------------------------------------- #
_COMPILED_SCRIPT = """
import json
import numpy as np
from numba.core import event
import annt

compiled = []


class Recorder(event.Listener):
    def on_start(self, ev):
        pass

    def on_end(self, ev):
        fn = getattr(ev.data.get("dispatcher"), "py_func", None)
        compiled.append(f"{fn.__module__}.{fn.__qualname__}" if fn else "?")


event.register("numba:compile", Recorder())
rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, (20, 5, 3)).astype(np.float32)
Y = rng.uniform(-1, 1, (20, 5, 2)).astype(np.float32)
for layer in (annt.LSTM(3, 4), annt.GRU(3, 4), annt.GRU(3, 4, reset_after=True), annt.RNN(3, 4),
              annt.Jordan(3, 4, 2)):
    net = annt.Network([layer, annt.Dense(layer.output_size, 2)])
    annt.NetworkTraining(net, "mse", annt.Adam(0.01)).train_batch(X, Y)
    inference = annt.NetworkInference(net)
    inference.predict(X)
    inference.step(X[:, 0])
print(json.dumps(compiled))
"""


def test_kernels_compile_no_error_message_formatting_and_are_cached(tmp_path):
    """Assigning an array to a slice inside a kernel (``Hs[b, t] = h``) makes Numba
    compile the formatting of its shape-mismatch message, seconds of a first
    run's compile time; the kernels copy with loops (``_math.copy_``). Checked
    on what a first training, prediction and step of every recurrent layer
    compile with an empty cache; a second process then compiles nothing."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", _COMPILED_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    compiled = json.loads(proc.stdout.splitlines()[-1])
    assert any("_lstm_infer_rows" in name for name in compiled), compiled     # it did compile
    slow = [name for name in compiled if "shape_context" in name or "unicode" in name]
    assert not slow, f"string formatting compiled into the kernels: {slow}"
    # A second process finds every kernel in the cache, the per-variant kernels
    # (built in a closure, see _cache.KernelVariants) included.
    proc = subprocess.run([sys.executable, "-c", _COMPILED_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == [], "compiled again despite the cache"


def test_kernel_variants_are_built_once_each_with_the_recovering_cache():
    """The RNN, Jordan and GRU sequence kernels are built per activation or
    convention (a compile-time constant): one dispatcher per variant, kept, and
    each able to recover from a corrupt cache file."""
    from annt.kernels import _cache, gru, jordan, rnn
    tanh_kernel = rnn._rnn_forward_rows[TANH]
    assert rnn._rnn_forward_rows[TANH] is tanh_kernel
    assert rnn._rnn_forward_rows[RELU] is not tanh_kernel
    assert jordan._jordan_backward_rows[TANH, SIGMOID] is jordan._jordan_backward_rows[(TANH, SIGMOID)]
    assert jordan._jordan_backward_rows[TANH, SIGMOID] is not jordan._jordan_backward_rows[SIGMOID, TANH]
    for kernel in (tanh_kernel, jordan._jordan_backward_rows[TANH, SIGMOID],
                   gru._gru_forward_rows_before, gru._gru_infer_rows_after,
                   gru._gru_backward_rows_after):
        assert type(kernel._cache) is _cache.RecoveringCache


@pytest.mark.parametrize("code", [7, -1, "tanh"])
def test_unknown_activation_code_is_refused(code):
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match="unknown activation code"):
        K.rnn_forward(x, np.zeros((4, 4), np.float32), np.zeros((2, 4), np.float32),
                      np.ones((2, 3), np.float32), code)
    with pytest.raises(ValueError, match="unknown activation code"):
        K.jordan_forward(x, np.zeros((2, 4), np.float32), np.zeros((4, 2), np.float32),
                         np.zeros(2, np.float32), np.zeros((2, 2), np.float32),
                         np.ones((2, 3), np.float32), TANH, code)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3,), (2, 5), (64, 100, 10), (5000, 7), (7, 1), (4, 0), (0, 3)])
def test_softmax_kernel_agrees_with_numpy(dtype, shape):
    """annt.kernels.feedforward.softmax (the Softmax layer's forward): the NumPy
    formula to rounding, the same rows whether or not it is split over threads."""
    from annt.kernels import feedforward
    x = (5 * np.random.default_rng(2).standard_normal(shape)).astype(dtype)
    y = feedforward.softmax(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    if x.size == 0:
        return
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=-1, keepdims=True), rtol=0,
                               atol=1e-6 if dtype == np.float32 else 1e-15)
    before = annt.get_num_threads()
    annt.set_num_threads(1)
    try:
        assert np.array_equal(feedforward.softmax(x), y)
    finally:
        annt.set_num_threads(before)


def test_softmax_kernel_keeps_numpy_s_answers_on_infinities_and_nan():
    from annt.kernels import feedforward
    x = np.array([[1, np.nan, 2], [np.inf, 0, 1], [-np.inf, 0, 1]])
    y = feedforward.softmax(x)
    assert np.isnan(y[:2]).all()
    np.testing.assert_allclose(y[2], [0, 1 / (1 + np.e), np.e / (1 + np.e)], rtol=1e-15)
